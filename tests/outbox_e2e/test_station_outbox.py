"""A ChargingStation's outbox over real loopback WebSockets: transaction messages wait while the
CSMS is away and go out in order when it is back, 1.6 placeholders become the CSMS's ids on the
wire, 2.x events made offline say so, refused messages are retried and then dropped, and an
outbox file carries messages over a restart, held until the boot is accepted."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from ocppkit import CallErrorResponse, ErrorCode, Router, v16, v201
from ocppkit.adapters.asyncio import SessionOptions
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.outbox import MessageDropped
from ocppkit.adapters.websockets import ChargingStation, CSMSServer, RetryBackOff
from ocppkit.outbox import Drop, OutboxSettings

from ..adapters.aio import run, until

FAST = RetryBackOff(wait_minimum=0.05, random_range=0.05, repeat_times=1)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


class Recorder:
    """The CSMS side of a test: every CALL a station sent, as (action, payload) in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def on_frame(self, identity: str, direction: str, data: bytes) -> None:
        frame = json.loads(data)
        if direction == "in" and frame[0] == 2:
            self.calls.append((frame[2], frame[3]))

    def actions(self) -> list[str]:
        return [a for a, _ in self.calls]


async def serve(router: Router, recorder: Recorder, port: int = 0) -> CSMSServer:
    csms = CSMSServer(router, on_frame=recorder.on_frame)
    await csms.start("127.0.0.1", port)
    return csms


def boot16() -> v16.BootNotificationRequest:
    return v16.BootNotificationRequest(charge_point_vendor="ocppkit", charge_point_model="test")


def meter16(tx: int, wh: int) -> v16.MeterValuesRequest:
    sample = v16.SampledValue(value=str(wh))
    return v16.MeterValuesRequest(
        connector_id=1, transaction_id=tx, meter_value=[v16.MeterValue(timestamp=now(), sampled_value=[sample])]
    )


def test_16_offline_transaction_goes_out_in_order_with_the_csms_id() -> None:
    async def scenario() -> None:
        rec = Recorder()
        router = csms_router("1.6")  # one router for both CSMS runs: its transaction ids go on
        csms = await serve(router, rec)
        port = csms.port
        station = ChargingStation(f"ws://127.0.0.1:{port}/CS1", versions=("1.6",), reconnect=FAST)
        await station.start()
        try:
            await station.wait_connected(5)
            await station.call(boot16())
            first = await station.call(
                v16.StartTransactionRequest(connector_id=1, id_tag="A", meter_start=0, timestamp=now())
            )
            await csms.close()  # the CSMS goes away in the middle of the first transaction
            await until(lambda: station.session is None)
            start = station.submit(
                v16.StartTransactionRequest(connector_id=2, id_tag="B", meter_start=0, timestamp=now())
            )
            placeholder = start.transaction_id
            assert isinstance(placeholder, int) and placeholder < 0 and placeholder != -1
            handles = [
                station.submit(meter16(first.transaction_id, 100)),  # a known id: kept
                station.submit(meter16(placeholder, 200)),
                station.submit(v16.StopTransactionRequest(meter_stop=300, timestamp=now(), transaction_id=placeholder)),
                station.submit(
                    v16.StopTransactionRequest(meter_stop=150, timestamp=now(), transaction_id=first.transaction_id)
                ),
            ]
            assert station.outbox.pending() == 5
            rec.calls.clear()
            csms = await serve(router, rec, port)  # back: a reconnect, not a reboot
            await asyncio.wait_for(station.outbox.drained(), 10)
            second = await start
            assert second.transaction_id != first.transaction_id
            for handle in handles:
                await handle
            assert rec.actions() == [
                "StartTransaction",
                "MeterValues",
                "MeterValues",
                "StopTransaction",
                "StopTransaction",
            ]
            ids = [p.get("transactionId") for _, p in rec.calls[1:]]
            assert ids == [first.transaction_id, second.transaction_id, second.transaction_id, first.transaction_id]
            assert placeholder not in ids and -1 not in ids
        finally:
            await station.close()
            await csms.close()

    run(scenario())


def test_2x_events_made_offline_are_marked_and_numbered() -> None:
    async def scenario() -> None:
        rec = Recorder()
        csms = await serve(csms_router("2.0.1"), rec)
        port = csms.port
        station = ChargingStation(f"ws://127.0.0.1:{port}/CS2", versions=("2.0.1",), reconnect=FAST)
        await station.start()

        def event(kind: str, seq: int = 99) -> v201.TransactionEventRequest:
            return v201.TransactionEventRequest(
                event_type=kind,
                timestamp=now(),
                trigger_reason="Authorized" if kind == "Started" else "MeterValuePeriodic",
                seq_no=seq,  # the outbox numbers the events itself
                transaction_info=v201.TransactionType(transaction_id="tx-1"),
            )

        try:
            await station.wait_connected(5)
            started = station.submit(event("Started"))
            await started
            await csms.close()
            await until(lambda: station.session is None)
            offline = [station.submit(event("Updated")), station.submit(event("Ended"))]
            csms = await serve(csms_router("2.0.1"), rec, port)
            for handle in offline:
                await handle
            events = [p for a, p in rec.calls if a == "TransactionEvent"]
            assert [e["seqNo"] for e in events] == [0, 1, 2]
            assert [e.get("offline", False) for e in events] == [False, True, True]
            assert [h.seq_no for h in (started, *offline)] == [0, 1, 2]
        finally:
            await station.close()
            await csms.close()

    run(scenario())


def _flaky_router(refusals: int, when: list[float]) -> Router:
    """A 1.6 CSMS that answers InternalError to the first ``refusals`` StartTransactions."""
    router = Router("1.6")
    count = [0]
    router.add(v16.HeartbeatRequest, lambda r: v16.HeartbeatResponse(current_time=now()))
    router.add(v16.MeterValuesRequest, lambda r: v16.MeterValuesResponse())

    @router.on(v16.StartTransactionRequest)
    def start(request: v16.StartTransactionRequest) -> v16.StartTransactionResponse:
        when.append(asyncio.get_running_loop().time())
        count[0] += 1
        if count[0] <= refusals:
            raise CallErrorResponse(ErrorCode.INTERNAL_ERROR, "database is down")
        return v16.StartTransactionResponse(transaction_id=7, id_tag_info=v16.IdTagInfo(status="Accepted"))

    return router


def test_a_refused_message_is_retried_with_growing_waits_then_accepted() -> None:
    async def scenario() -> None:
        when: list[float] = []
        rec = Recorder()
        csms = await serve(_flaky_router(2, when), rec)
        settings = OutboxSettings(attempts=3, retry_interval=0.2)
        station = ChargingStation(f"ws://127.0.0.1:{csms.port}/CS3", versions=("1.6",), outbox_settings=settings)
        await station.start()
        try:
            await station.wait_connected(5)
            heartbeat = asyncio.ensure_future(asyncio.sleep(0.25))
            call = asyncio.ensure_future(
                station.call(v16.StartTransactionRequest(connector_id=1, id_tag="A", meter_start=0, timestamp=now()))
            )
            await heartbeat
            # while the StartTransaction waits for its retry, other messages overtake it
            assert (await station.call(v16.HeartbeatRequest())).current_time is not None
            response = await asyncio.wait_for(call, 10)
            assert response.transaction_id == 7 and len(when) == 3
            first_wait, second_wait = when[1] - when[0], when[2] - when[1]
            assert first_wait >= 0.2 and second_wait >= 0.4  # interval x transmissions so far
            assert rec.actions().index("Heartbeat") < len(rec.actions()) - 1
        finally:
            await station.close()
            await csms.close()

    run(scenario())


def test_a_message_refused_every_time_is_dropped_and_reported() -> None:
    async def scenario() -> None:
        when: list[float] = []
        csms = await serve(_flaky_router(10, when), Recorder())
        drops: list[Drop] = []
        settings = OutboxSettings(attempts=2, retry_interval=0.05)
        station = ChargingStation(f"ws://127.0.0.1:{csms.port}/CS4", versions=("1.6",), outbox_settings=settings)
        station.outbox.on_drop = drops.append
        await station.start()
        try:
            await station.wait_connected(5)
            with pytest.raises(MessageDropped) as dropped:
                await station.call(
                    v16.StartTransactionRequest(connector_id=1, id_tag="A", meter_start=0, timestamp=now())
                )
            assert dropped.value.drop.reason == "attempts" and len(when) == 2
            assert isinstance(dropped.value.__cause__, CallErrorResponse)
            assert "InternalError" in dropped.value.drop.detail
            assert [d.entry.action for d in drops] == ["StartTransaction"] and station.outbox.pending() == 0
            assert (await station.call(meter16(5, 10))) == v16.MeterValuesResponse()  # the queue goes on
        finally:
            await station.close()
            await csms.close()

    run(scenario())


def test_an_outbox_file_carries_messages_over_a_restart_held_until_the_boot(tmp_path: Path) -> None:
    async def scenario() -> None:
        file = tmp_path / "station-outbox.sqlite"
        rec = Recorder()
        csms = await serve(csms_router("1.6"), rec)
        port = csms.port
        await csms.close()  # the CSMS is down while the station runs
        before = ChargingStation(f"ws://127.0.0.1:{port}/CS5", versions=("1.6",), outbox=str(file), reconnect=FAST)
        await before.start()
        start = before.submit(v16.StartTransactionRequest(connector_id=1, id_tag="A", meter_start=0, timestamp=now()))
        before.submit(v16.StopTransactionRequest(meter_stop=10, timestamp=now(), transaction_id=start.transaction_id))
        await before.close()  # the station stops (a reboot) before the CSMS came back

        csms = await serve(csms_router("1.6"), rec, port)
        after = ChargingStation(f"ws://127.0.0.1:{port}/CS5", versions=("1.6",), outbox=str(file), reconnect=FAST)
        delivered: list[str] = []
        after.outbox.on_response = lambda entry, response: delivered.append(entry.action)
        assert after.outbox.core.restored == 2 and after.outbox.pending() == 2
        await after.start()
        try:
            await after.wait_connected(5)
            await asyncio.sleep(0.3)
            assert rec.actions() == []  # held: a rebooted station boots first
            await after.call(boot16())
            await asyncio.wait_for(after.outbox.drained(), 10)
            assert rec.actions() == ["BootNotification", "StartTransaction", "StopTransaction"]
            assert delivered == ["StartTransaction", "StopTransaction"]
            assert rec.calls[2][1]["transactionId"] == 1  # the CSMS's id, assigned after the restart
        finally:
            await after.close()
            await csms.close()

    run(scenario())


def test_a_station_without_a_boot_sends_its_outbox_at_once_and_options_still_apply() -> None:
    async def scenario() -> None:
        rec = Recorder()
        csms = await serve(csms_router("2.0.1"), rec)
        station = ChargingStation(
            f"ws://127.0.0.1:{csms.port}/CS6", versions=("2.0.1",), options=SessionOptions(ping_timeout=5)
        )
        await station.start()
        try:
            await station.wait_connected(5)
            assert station.options.ping_timeout == 5
            event = v201.TransactionEventRequest(
                event_type="Started",
                timestamp=now(),
                trigger_reason="Authorized",
                seq_no=0,
                transaction_info=v201.TransactionType(transaction_id="t"),
            )
            assert await station.call(event) == v201.TransactionEventResponse()
        finally:
            await station.close()
            await csms.close()

    run(scenario())


def test_get_transaction_status_can_tell_how_many_messages_wait() -> None:
    """A station's GetTransactionStatus handler answers messagesInQueue from its outbox (E14)."""

    async def scenario() -> None:
        rec = Recorder()
        csms = await serve(csms_router("2.0.1"), rec)
        port = csms.port
        await csms.close()
        router = Router("2.0.1")
        station = ChargingStation(f"ws://127.0.0.1:{port}/CS7", router, versions=("2.0.1",), reconnect=FAST)

        @router.on(v201.GetTransactionStatusRequest)
        def status(request: v201.GetTransactionStatusRequest) -> v201.GetTransactionStatusResponse:
            tx = request.transaction_id if isinstance(request.transaction_id, str) else None
            waiting = station.outbox.pending_for(tx) if tx is not None else station.outbox.pending()
            return v201.GetTransactionStatusResponse(messages_in_queue=waiting > 0)

        await station.start()
        try:
            for kind in ("Started", "Updated"):
                station.submit(
                    v201.TransactionEventRequest(
                        event_type=kind,
                        timestamp=now(),
                        trigger_reason="Authorized",
                        seq_no=0,
                        transaction_info=v201.TransactionType(transaction_id="tx-q"),
                    )
                )
            assert station.outbox.pending_for("tx-q") == 2 and station.outbox.pending_for("other") == 0
            csms = await serve(csms_router("2.0.1"), rec, port)
            await asyncio.wait_for(station.outbox.drained(), 10)
            await until(lambda: "CS7" in csms.sessions)
            answer = await csms.sessions["CS7"].call(v201.GetTransactionStatusRequest(transaction_id="tx-q"))
            assert answer.messages_in_queue is False and station.outbox.pending_for("tx-q") == 0
        finally:
            await station.close()
            await csms.close()

    run(scenario())
