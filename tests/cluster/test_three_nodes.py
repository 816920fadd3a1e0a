"""Three nodes with stations of ours and of the ``ocpp`` package, a client in another process
calling each, connection events across nodes, and what stations send for a consumer group."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint as OcppChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.client import connect

from ocppkit import v201
from ocppkit.adapters.websockets import SUBPROTOCOLS
from ocppkit.cluster import Client, ConnectionEvent
from tests.adapters.aio import run, until

from .helpers import EchoStation, dt, routers
from .nodes import start_csms
from .redisd import RedisServer

ROOT = Path(__file__).resolve().parents[2]


class OcppStation(OcppChargePoint201):
    """The ocpp package's 2.0.1 ChargePoint as a station: DataTransfer echoes its data."""

    @on(Action201.data_transfer)
    def on_data_transfer(self, vendor_id: str, data: Any = None, **kwargs: Any) -> Any:
        return result201.DataTransfer(status="Accepted", data={"from": self.id, "echo": data})


def url_of(csms: object) -> str:
    return f"ws://127.0.0.1:{csms.port}/"  # type: ignore[attr-defined]


def test_three_nodes_ours_and_the_ocpp_package_stations_called_from_another_process(
    redis_server: RedisServer,
) -> None:
    async def scenario() -> None:
        nodes = [
            await start_csms(redis_server.url, f"csms-{n}", routers(), publish=("BootNotification",)) for n in "abc"
        ]
        (a, _), (b, _), (c, _) = nodes
        client = Client(redis_server.url)
        events = client.events()
        await events.subscribe()
        try:
            async with EchoStation(url_of(a), "OURS-A"), EchoStation(url_of(b), "OURS-B", version="1.6"):
                async with connect(url_of(c) + "OCPP-C", subprotocols=[SUBPROTOCOLS["2.0.1"]]) as ws:  # type: ignore[list-item]
                    cp = OcppStation("OCPP-C", ws)
                    runner = asyncio.ensure_future(cp.start())
                    try:
                        boot = await cp.call(
                            call201.BootNotification(
                                charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                            )
                        )
                        assert boot.status == "Accepted"
                        await until(lambda: all(len(n.stations()) == 1 for n, _ in nodes))
                        for _ in range(100):
                            if len(await client.stations()) == 3:
                                break
                            await asyncio.sleep(0.02)
                        listed = {(s.identity, s.node) for s in await client.stations()}
                        assert listed == {("OURS-A", "csms-a"), ("OURS-B", "csms-b"), ("OCPP-C", "csms-c")}

                        # a client process with no WebSocket calls each station through the cluster
                        proc = await asyncio.create_subprocess_exec(
                            sys.executable,
                            "-m",
                            "tests.cluster.client_proc",
                            redis_server.url,
                            "OURS-A",
                            "OURS-B",
                            "OCPP-C",
                            "NOBODY",
                            cwd=ROOT,
                            stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"},
                        )
                        out, _ = await asyncio.wait_for(proc.communicate(), 30)
                        lines = out.decode().splitlines()
                        assert lines[-1] == "done"
                        got = {d["identity"]: d for d in map(json.loads, lines[:-1])}
                        assert got["OURS-A"] == {
                            "identity": "OURS-A",
                            "ok": True,
                            "type": "DataTransferResponse",
                            "data": {"from": "OURS-A", "echo": "x"},
                        }
                        assert got["OURS-B"]["ok"] and got["OURS-B"]["data"] == "OURS-B:x"  # 1.6, typed
                        assert got["OCPP-C"]["data"] == {"from": "OCPP-C", "echo": "x"}
                        assert got["NOBODY"] == {"identity": "NOBODY", "ok": False, "error": "StationNotConnected"}

                        # the ocpp package's station, from node a
                        reply = await a.call("OCPP-C", dt({"k": [1, 2]}))
                        assert isinstance(reply, v201.DataTransferResponse)
                        assert reply.data == {"from": "OCPP-C", "echo": {"k": [1, 2]}}
                    finally:
                        runner.cancel()
            # connection events of every node, in order per station
            seen: list[tuple[str, str, str | None]] = []

            async def collect() -> None:
                async for event in events:
                    assert isinstance(event, ConnectionEvent)
                    seen.append((event.kind, event.station.identity, event.station.node))
                    if sum(1 for k, _, _ in seen if k in ("disconnected", "replaced")) == 3:
                        return

            await asyncio.wait_for(collect(), 10)
            for ident, node in (("OURS-A", "csms-a"), ("OURS-B", "csms-b"), ("OCPP-C", "csms-c")):
                kinds = [k for k, i, n in seen if i == ident and n == node]
                assert kinds[0] == "connected" and kinds[-1] == "disconnected"
            assert [k for k, i, _ in seen if i == "OCPP-C"] == ["connected", "booted", "disconnected"]
            assert events.dropped == 0
        finally:
            await events.close()
            await client.close()
            for n, _ in nodes:
                await n.close()

    run(scenario(), 90)


def test_what_stations_send_goes_to_one_consumer_of_a_group(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, _ = await start_csms(redis_server.url, "csms-a", routers(), publish=("BootNotification", "Heartbeat"))
        b, _ = await start_csms(redis_server.url, "csms-b", routers(), publish="all")
        try:
            async with Client(redis_server.url) as client, Client(redis_server.url) as other:
                first = client.messages("billing", "worker-1", actions=("BootNotification",), start="0")
                second = other.messages("billing", "worker-2", actions=("BootNotification",), start="0")
                audit = client.messages("audit", "one", start="0")  # another group sees everything
                stations = [EchoStation(url_of(a if i % 2 else b), f"CP{i}") for i in range(6)]
                for st in stations:
                    await st.__aenter__()
                    await st.station.call(
                        v201.BootNotificationRequest(
                            charging_station=v201.ChargingStationType(model="M", vendor_name="V"),
                            reason=v201.BootReasonEnumType.POWER_UP,
                        )
                    )
                    await st.station.call(v201.HeartbeatRequest())
                got: list[tuple[str, str]] = []

                async def consume(stream: Any) -> None:
                    async for m in stream:
                        assert isinstance(m.request, v201.BootNotificationRequest)
                        assert m.node == ("csms-a" if int(m.identity[2:]) % 2 else "csms-b")
                        got.append((stream.consumer, m.identity))

                tasks = [asyncio.ensure_future(consume(s)) for s in (first, second)]
                await until(lambda: len(got) >= 6, timeout=10)
                await asyncio.sleep(0.3)
                for t in tasks:
                    t.cancel()
                assert sorted(i for _, i in got) == [f"CP{i}" for i in range(6)]  # each once, no loss
                every = []
                async for m in audit:
                    every.append((m.action, m.identity))
                    if len(every) == 12:
                        break
                assert sorted(every) == sorted(
                    [("BootNotification", f"CP{i}") for i in range(6)] + [("Heartbeat", f"CP{i}") for i in range(6)]
                )
                for st in stations:
                    await st.__aexit__()
        finally:
            await a.close()
            await b.close()

    run(scenario(), 60)
