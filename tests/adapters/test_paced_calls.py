"""The rate limit is for peers that pipeline calls: a station that waits for each answer before
its next call (as OCPP 2.x requires) is never refused, however fast it goes, so a station
draining a long offline queue over a fast link loses nothing; the same calls pipelined are
refused past the burst."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from websockets.asyncio.client import connect

from ocppkit import v201
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from ocppkit.outbox import OutboxSettings

from .aio import run, send_at_once

V201: Any = ["ocpp2.0.1"]


def test_sequential_calls_are_paced_not_refused_and_pipelined_ones_are_limited() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1"), max_call_rate=5, max_call_burst=5) as csms:
            await csms.start("127.0.0.1", 0)
            async with connect(f"ws://127.0.0.1:{csms.port}/SEQ", subprotocols=V201) as ws:
                for i in range(300):  # one at a time, as fast as loopback goes: far above 5/s
                    await ws.send(f'[2,"{i}","Heartbeat",{{}}]')
                    assert json.loads(await ws.recv())[0] == 3
            async with connect(f"ws://127.0.0.1:{csms.port}/PIPE", subprotocols=V201) as ws:
                send_at_once(ws, [f'[2,"{i}","Heartbeat",{{}}]' for i in range(30)])  # pipelined
                kinds = [json.loads(await ws.recv())[0] for _ in range(30)]
            assert kinds == [3] * 6 + [4] * 24  # the first found the server waiting; the burst; refusals

    run(scenario())


def test_an_outbox_drains_past_the_default_rate_limit_without_a_refusal() -> None:
    async def scenario() -> None:
        refused: list[str] = []
        csms = CSMSServer(csms_router("2.0.1"))  # the defaults: 20 calls/s, burst 50
        await csms.start("127.0.0.1", 0)
        port = csms.port
        await csms.close()
        settings = OutboxSettings(max_messages=400, attempts=1)  # a refusal would drop a message
        station = ChargingStation(f"ws://127.0.0.1:{port}/DRAIN", versions=("2.0.1",), outbox_settings=settings)
        station.outbox.on_drop = lambda drop: refused.append(drop.detail)
        await station.start()
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        for n in range(300):
            station.submit(
                v201.TransactionEventRequest(
                    event_type="Started" if n == 0 else "Updated",
                    timestamp=now,
                    trigger_reason="Authorized" if n == 0 else "MeterValuePeriodic",
                    seq_no=n,
                    transaction_info=v201.TransactionType(transaction_id="long-offline"),
                )
            )
        csms = CSMSServer(csms_router("2.0.1"))
        await csms.start("127.0.0.1", port)
        try:
            await asyncio.wait_for(station.outbox.drained(), 30)
            assert refused == [] and station.outbox.dropped == 0
            assert csms.sessions["DRAIN"].excess_calls == 0
        finally:
            await station.close()
            await csms.close()

    run(scenario(), timeout=60)
