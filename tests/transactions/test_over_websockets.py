"""The ledger in a CSMS's handlers, over a real loopback WebSocket: the one-line record in the
handler, the answer built from it, a re-sent StartTransaction answered with the same id."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ocppkit
from ocppkit import v16, v201
from ocppkit.adapters.asyncio import current_session
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from ocppkit.outbox import OutboxSettings
from ocppkit.transactions import Ledger

from ..adapters.aio import run
from .build import event, meter16, start16, stop16


def _csms_16(ledger: Ledger) -> ocppkit.Router:
    router = ocppkit.Router("1.6")
    accepted = v16.IdTagInfo(status=v16.AuthorizationStatus.ACCEPTED)

    @router.on(v16.StartTransactionRequest)
    def start(request: v16.StartTransactionRequest) -> v16.StartTransactionResponse:
        rec = ledger.record(current_session().identity, request)
        assert isinstance(rec.transaction_id, int)
        return v16.StartTransactionResponse(transaction_id=rec.transaction_id, id_tag_info=accepted)

    @router.on(v16.MeterValuesRequest)
    def meter(request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        ledger.record(current_session().identity, request)
        return v16.MeterValuesResponse()

    @router.on(v16.StopTransactionRequest)
    def stop(request: v16.StopTransactionRequest) -> v16.StopTransactionResponse:
        ledger.record(current_session().identity, request)
        return v16.StopTransactionResponse()

    return router


def test_a_16_csms_records_and_answers_with_the_ledger_ids(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "csms.sqlite")

    async def main() -> None:
        async with CSMSServer(_csms_16(ledger), versions=("1.6",)) as csms:
            await csms.start("127.0.0.1", 0)
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/CS-16", versions=("1.6",)) as station:
                first = await station.call(start16())
                again = await station.call(start16())  # re-sent: the answer was "lost"
                assert first.transaction_id == again.transaction_id == 1
                await station.call(meter16(first.transaction_id, 5, 1300))
                await station.call(stop16(first.transaction_id, 1800, 10))
                unknown = await station.call(stop16(-1, 99, 11))  # an orphan: answered normally
                assert isinstance(unknown, v16.StopTransactionResponse)

    run(main())
    view = ledger.transaction("CS-16", 1)
    assert view is not None and view.complete and view.energy_wh == 800.0 and len(view.meter_values) == 1
    assert [a.kind for a in ledger.anomalies()] == ["duplicate", "orphan"]
    ledger.close()


def test_a_201_csms_records_events_in_seq_no_order() -> None:
    ledger = Ledger()
    router = ocppkit.Router("2.0.1")

    @router.on(v201.TransactionEventRequest)
    def transaction_event(request: v201.TransactionEventRequest) -> v201.TransactionEventResponse:
        ledger.record(current_session().identity, request)
        return v201.TransactionEventResponse()

    events = [
        event("2.0.1", "tx-ws", seq, kind, wh=1000.0 + 100 * seq)
        for seq, kind in enumerate(["Started", "Updated", "Ended"])
    ]

    async def main() -> None:
        async with CSMSServer(router, versions=("2.0.1",)) as csms:
            await csms.start("127.0.0.1", 0)
            # A station that numbers its own events (the outbox would renumber them in order).
            raw = OutboxSettings(number_events=False)
            async with ChargingStation(
                f"ws://127.0.0.1:{csms.port}/CS-201", versions=("2.0.1",), outbox_settings=raw
            ) as station:
                for e in (events[0], events[2], events[1], events[2]):  # out of order, and re-sent
                    await station.call(e)

    run(main())
    assert ledger.messages("CS-201", "tx-ws") == events
    view = ledger.transaction("CS-201", "tx-ws")
    assert view is not None and view.complete and view.energy_wh == 200.0
    assert view.started_at == events[0].timestamp and view.stopped_at is not None
    assert view.stopped_at - view.started_at == dt.timedelta(minutes=2)
    assert [a.kind for a in ledger.anomalies()] == ["duplicate", "late"]
