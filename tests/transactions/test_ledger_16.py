"""OCPP 1.6: StartTransaction / MeterValues / StopTransaction through Ledger.record."""

from __future__ import annotations

import pytest

from ocppkit import v16, v201
from ocppkit.transactions import Ledger

from .build import at, meter16, start16, stop16


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


def test_a_normal_transaction(ledger: Ledger) -> None:
    started = ledger.record("CS1", start16(meter=1000))
    assert started.status == "new" and isinstance(started.transaction_id, int) and started.transaction_id > 0
    tx = started.transaction_id
    assert started.transaction is not None and started.transaction.open and not started.transaction.complete
    assert ledger.record("CS1", meter16(tx, 10, 1400)).status == "new"
    assert ledger.record("CS1", meter16(tx, 5, 1200)).status == "new"  # older reading, arrives second
    stopped = ledger.record("CS1", stop16(tx, 2500, 30, reason=v16.Reason.EV_DISCONNECTED, id_tag="TAG1"))
    assert (stopped.status, stopped.orphan, stopped.late) == ("new", False, False)
    view = ledger.transaction("CS1", tx)
    assert view == stopped.transaction
    assert view is not None
    assert (view.version, view.station, view.transaction_id) == ("1.6", "CS1", tx)
    assert (view.started_at, view.stopped_at) == (at(0), at(30))
    assert view.id_token == "TAG1" and view.energy_wh == 1500.0
    assert view.stop_reason is v16.Reason.EV_DISCONNECTED
    assert [mv.timestamp for mv in view.meter_values] == [at(5), at(10)]  # time order
    assert view.complete and not view.open and not view.orphan
    assert (view.seq_nos, view.gaps, view.offline) == ((), (), ())
    assert [type(m).__name__ for m in ledger.messages("CS1", tx)] == [
        "StartTransactionRequest",
        "MeterValuesRequest",
        "MeterValuesRequest",
        "StopTransactionRequest",
    ]
    assert ledger.messages("CS1", tx)[1] == meter16(tx, 5, 1200)
    assert ledger.anomalies() == []


def test_ids_are_positive_unique_and_per_ledger(ledger: Ledger) -> None:
    a = ledger.record("CS1", start16(connector=1)).transaction_id
    b = ledger.record("CS1", start16(connector=2)).transaction_id  # same time, other connector
    c = ledger.record("CS2", start16(connector=1)).transaction_id  # same message, other station
    assert len({a, b, c}) == 3 and all(isinstance(i, int) and i > 0 for i in (a, b, c))
    assert ledger.transaction("CS1", c) is None  # CS2's transaction, not CS1's
    assert ledger.transaction("CS2", c) is not None


def test_every_message_re_delivered_changes_nothing_and_the_start_gets_the_same_id(ledger: Ledger) -> None:
    start = start16()
    first = ledger.record("CS1", start)
    tx = first.transaction_id
    assert isinstance(tx, int)
    feed = [meter16(tx, 5, 1200), stop16(tx, 1600, 20)]
    for message in feed:
        ledger.record("CS1", message)
    before = ledger.transaction("CS1", tx)
    again = ledger.record("CS1", start16())  # an equal message, built again (a station after a reboot)
    assert (again.status, again.transaction_id) == ("duplicate", tx)
    for message in feed:
        assert ledger.record("CS1", message).status == "duplicate"
    assert ledger.transaction("CS1", tx) == before
    assert len(ledger.transactions()) == 1 and len(ledger.messages("CS1", tx)) == 3
    kinds = [(a.kind, a.transaction_id, a.detail) for a in ledger.anomalies("CS1")]
    assert kinds == [
        ("duplicate", tx, "StartTransaction re-delivered 1 time"),
        ("duplicate", tx, "MeterValues re-delivered 1 time"),
        ("duplicate", tx, "StopTransaction re-delivered 1 time"),
    ]
    # The next transaction gets a new id: the duplicate did not consume one.
    assert ledger.record("CS1", start16(minute=60)).transaction_id == tx + 1


def test_a_stop_for_an_unknown_id_is_an_accepted_orphan(ledger: Ledger) -> None:
    rec = ledger.record("CS1", stop16(-1, 5000, 90, id_tag="TAG9"))  # a station's placeholder id
    assert (rec.status, rec.transaction_id, rec.orphan) == ("new", -1, True)
    view = rec.transaction
    assert view is not None and view.orphan and not view.complete and not view.open
    assert view.started_at is None and view.stopped_at == at(90) and view.id_token == "TAG9"
    assert view.energy_wh is None
    joined = ledger.record("CS1", meter16(-1, 80, 4900))  # its MeterValues join it (after the stop: late)
    assert joined.orphan and joined.late
    assert len(ledger.transaction("CS1", -1).meter_values) == 1  # type: ignore[union-attr]
    late, orphan = ledger.anomalies()
    assert (late.kind, orphan.kind) == ("late", "orphan")
    assert (orphan.station, orphan.transaction_id, orphan.message) == ("CS1", -1, None)
    assert orphan.detail == "transactionId -1 was never assigned by this ledger (recorded as an orphan)"
    # An id the ledger assigned to another station is an orphan here.
    other = ledger.record("CS2", start16()).transaction_id
    assert isinstance(other, int)
    assert ledger.record("CS1", stop16(other, 10, 5)).orphan


def test_assigned_ids_skip_the_ids_a_station_used_as_orphans(ledger: Ledger) -> None:
    ledger.record("CS1", stop16(1, 100, 1))
    ledger.record("CS1", stop16(2, 100, 1))
    first = ledger.record("CS1", start16()).transaction_id
    assert first == 3  # 1 and 2 name CS1's orphans
    assert ledger.record("CS2", start16()).transaction_id == 4  # the sequence is ledger-wide


def test_meter_values_after_the_stop_are_late(ledger: Ledger) -> None:
    tx = ledger.record("CS1", start16()).transaction_id
    assert isinstance(tx, int)
    ledger.record("CS1", stop16(tx, 2000, 30))
    late = ledger.record("CS1", meter16(tx, 10, 1500))  # queued while offline, delivered after the stop
    assert (late.status, late.late) == ("new", True)
    assert late.transaction is not None and [mv.timestamp for mv in late.transaction.meter_values] == [at(10)]
    assert ledger.record("CS1", meter16(tx, 10, 1500)).late  # its duplicate says so too
    assert [a.kind for a in ledger.anomalies()] == ["duplicate", "late"]


def test_a_second_different_stop_is_a_conflict_and_the_first_is_kept(ledger: Ledger) -> None:
    tx = ledger.record("CS1", start16()).transaction_id
    assert isinstance(tx, int)
    ledger.record("CS1", stop16(tx, 2000, 30))
    other = stop16(tx, 2222, 31)
    rec = ledger.record("CS1", other)
    assert (rec.status, rec.transaction_id) == ("conflict", tx)
    view = ledger.transaction("CS1", tx)
    assert view is not None and view.energy_wh == 1000.0 and view.stopped_at == at(30)
    (anomaly,) = ledger.anomalies()
    assert anomaly.kind == "conflict" and anomaly.message == other  # the rejected one, not lost
    ledger.record("CS1", other)
    assert "(2x)" in ledger.anomalies()[0].detail


def test_a_start_with_the_same_key_and_other_content_is_a_conflict_with_the_same_id(ledger: Ledger) -> None:
    tx = ledger.record("CS1", start16()).transaction_id
    reserved = v16.StartTransactionRequest(
        connector_id=1, id_tag="TAG1", meter_start=1000, timestamp=at(0), reservation_id=7
    )
    rec = ledger.record("CS1", reserved)
    assert (rec.status, rec.transaction_id) == ("conflict", tx)
    assert len(ledger.transactions()) == 1


def test_meter_stop_below_meter_start(ledger: Ledger) -> None:
    tx = ledger.record("CS1", start16(meter=5000)).transaction_id
    assert isinstance(tx, int)
    view = ledger.record("CS1", stop16(tx, 4000, 30)).transaction
    assert view is not None and view.energy_wh is None and view.complete
    (anomaly,) = ledger.anomalies()
    assert anomaly.kind == "meter" and "meterStop 4000 is less than meterStart 5000" in anomaly.detail


def test_stop_transaction_data_joins_the_meter_values_in_time_order(ledger: Ledger) -> None:
    tx = ledger.record("CS1", start16()).transaction_id
    assert isinstance(tx, int)
    ledger.record("CS1", meter16(tx, 20, 1300))
    data = [
        v16.MeterValue(timestamp=at(t), sampled_value=[v16.SampledValue(value=str(w))])
        for t, w in ((25, 1400), (10, 1100))
    ]
    view = ledger.record("CS1", stop16(tx, 1500, 30, transaction_data=data)).transaction
    assert view is not None and [mv.timestamp for mv in view.meter_values] == [at(10), at(20), at(25)]


def test_meter_values_without_a_transaction_id(ledger: Ledger) -> None:
    rec = ledger.record("CS1", meter16(None, 3, 700, connector=0))
    assert (rec.status, rec.transaction_id, rec.transaction, rec.orphan) == ("new", None, None, False)
    assert ledger.record("CS1", meter16(None, 3, 700, connector=0)).status == "duplicate"
    assert ledger.messages("CS1", None) == [meter16(None, 3, 700, connector=0)]
    assert ledger.transactions() == []
    assert [(a.kind, a.transaction_id) for a in ledger.anomalies()] == [("duplicate", None)]


def test_queries_filter_by_station_and_open(ledger: Ledger) -> None:
    a = ledger.record("CS1", start16(connector=1)).transaction_id
    b = ledger.record("CS1", start16(connector=2)).transaction_id
    ledger.record("CS2", start16())
    assert isinstance(a, int)
    ledger.record("CS1", stop16(a, 2000, 10))
    assert [v.transaction_id for v in ledger.transactions("CS1")] == [a, b]
    assert [v.transaction_id for v in ledger.transactions("CS1", open=True)] == [b]
    assert [v.transaction_id for v in ledger.transactions(open=False)] == [a]
    assert len(ledger.transactions()) == 3
    assert ledger.transaction("CS1", 999) is None and ledger.messages("CS1", 999) == []


def test_misuse_raises_clear_errors(ledger: Ledger) -> None:
    with pytest.raises(TypeError, match="not a transaction message"):
        ledger.record("CS1", v16.HeartbeatRequest())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="2.0.1 MeterValuesRequest is not a transaction message"):
        ledger.record("CS1", v201.MeterValuesRequest(evse_id=1, meter_value=[]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a 1.6 StartTransactionRequest"):
        ledger.record("CS1", {"connectorId": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="station: expected the station identity"):
        ledger.record(b"CS1", start16())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="station: expected a non-empty"):
        ledger.record("", start16())
    with pytest.raises(ValueError, match=r"idTag"):  # built without validation: over 20 characters
        ledger.record("CS1", start16(tag="X" * 21))
    with pytest.raises(TypeError, match="transaction_id: expected int"):
        ledger.transaction("CS1", 1.5)  # type: ignore[arg-type]
    assert ledger.transactions() == []  # nothing was stored by the refused calls
    ledger.close()
    ledger.close()  # idempotent
    assert ledger.closed
    with pytest.raises(ValueError, match="the ledger is closed"):
        ledger.record("CS1", start16())


def test_importing_the_package_imports_no_version_package() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ocppkit.transactions\n"
        "print(sorted(m for m in sys.modules if m.startswith(('ocppkit.v16', 'ocppkit.v201', 'ocppkit.v21'))))"
    )
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
