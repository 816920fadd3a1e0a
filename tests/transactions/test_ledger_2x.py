"""OCPP 2.0.1 and 2.1: TransactionEvent through Ledger.record (every test runs for both)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from ocppkit.transactions import MAX_GAPS, Ledger

from .build import VERSIONS_2X, at, event, pkg, reading, session2x

pytestmark = pytest.mark.parametrize("version", VERSIONS_2X)


def test_a_normal_transaction(version: str) -> None:
    ledger = Ledger()
    events = session2x(version, "tx-A", updates=2)
    results = [ledger.record("CS1", e) for e in events]
    assert [r.status for r in results] == ["new"] * 4
    assert [r.transaction_id for r in results] == ["tx-A"] * 4
    assert not any(r.late or r.orphan or r.gaps for r in results)
    assert results[0].transaction is not None and results[0].transaction.open
    view = ledger.transaction("CS1", "tx-A")
    assert view is not None and view == results[-1].transaction
    assert (view.version, view.station, view.transaction_id) == (version, "CS1", "tx-A")
    assert (view.started_at, view.stopped_at) == (at(0), at(3))
    assert view.id_token == events[0].id_token and type(view.id_token) is pkg(version).IdTokenType
    assert view.energy_wh == 1500.0  # 2500 Wh - 1000 Wh
    assert view.stop_reason == pkg(version).ReasonEnumType.EV_DISCONNECTED
    assert view.seq_nos == (0, 1, 2, 3) and view.gaps == () and view.offline == ()
    assert view.complete and not view.open and not view.orphan
    assert [mv.timestamp for mv in view.meter_values] == [at(0), at(1), at(2), at(3)]
    assert all(type(mv) is pkg(version).MeterValueType for mv in view.meter_values)
    assert ledger.messages("CS1", "tx-A") == events
    assert ledger.anomalies() == []


def test_every_event_re_delivered_changes_nothing(version: str) -> None:
    ledger = Ledger()
    events = session2x(version)
    for e in events:
        ledger.record("CS1", e)
    before = ledger.transaction("CS1", "tx-A")
    assert [ledger.record("CS1", e).status for e in events] == ["duplicate"] * 4
    assert ledger.transaction("CS1", "tx-A") == before
    assert ledger.messages("CS1", "tx-A") == events
    assert [a.kind for a in ledger.anomalies()] == ["duplicate"] * 4


def test_a_re_delivery_flagged_offline_is_a_duplicate(version: str) -> None:
    """A station marks offline=true on an event whose send failed and sends it again: the CSMS
    may have had the first one; it is the same event."""
    ledger = Ledger()
    first = event(version, "tx-A", 0, "Started", wh=10.0)
    ledger.record("CS1", first)
    rec = ledger.record("CS1", event(version, "tx-A", 0, "Started", wh=10.0, offline=True))
    assert rec.status == "duplicate"
    assert ledger.messages("CS1", "tx-A") == [first]  # the first delivery is kept


def test_events_out_of_order_are_late_and_ordered_by_seq_no(version: str) -> None:
    ledger = Ledger()
    e0, e1, e2, e3 = session2x(version)
    assert not ledger.record("CS1", e0).late
    assert not ledger.record("CS1", e2).late
    behind = ledger.record("CS1", e1)  # arrives after seqNo 2
    assert behind.late and behind.status == "new" and behind.gaps == ()
    assert not ledger.record("CS1", e3).late
    assert ledger.messages("CS1", "tx-A") == [e0, e1, e2, e3]
    view = ledger.transaction("CS1", "tx-A")
    assert view is not None and view.complete and view.energy_wh == 1500.0
    (anomaly,) = ledger.anomalies()
    assert (anomaly.kind, anomaly.transaction_id, anomaly.message) == ("late", "tx-A", e1)
    assert anomaly.detail == "TransactionEvent seqNo 1 arrived after a later message of its transaction"


def test_an_event_after_ended_is_late(version: str) -> None:
    ledger = Ledger()
    ledger.record("CS1", event(version, "tx-A", 0, "Started"))
    ledger.record("CS1", event(version, "tx-A", 1, "Ended"))
    # A station that numbers from 1 after a glitch (seqNo above the Ended one): still late.
    assert ledger.record("CS1", event(version, "tx-A", 2, "Updated")).late


def test_a_missing_seq_no_is_a_gap_until_it_arrives(version: str) -> None:
    ledger = Ledger()
    e0, e1, e2, e3 = session2x(version)
    ledger.record("CS1", e0)
    ledger.record("CS1", e1)
    rec = ledger.record("CS1", e3)
    assert rec.gaps == (2,) and rec.transaction is not None and rec.transaction.gaps == (2,)
    assert not rec.transaction.complete  # start and stop seen, but a gap
    assert [(a.kind, a.detail) for a in ledger.anomalies()] == [("gap", "seqNo 2 missing")]
    filled = ledger.record("CS1", e2)
    assert filled.late and filled.gaps == ()
    assert filled.transaction is not None and filled.transaction.complete
    assert [a.kind for a in ledger.anomalies()] == ["late"]  # the gap is gone


def test_an_ended_without_started(version: str) -> None:
    ledger = Ledger()
    rec = ledger.record("CS1", event(version, "tx-B", 3, "Ended", wh=4000.0))
    view = rec.transaction
    assert view is not None and (rec.status, rec.orphan) == ("new", False)
    assert view.started_at is None and view.stopped_at == at(3) and not view.open
    assert view.gaps == (0, 1, 2) and not view.complete and view.energy_wh is None  # one reading
    ledger.record("CS1", event(version, "tx-B", 0, "Started", wh=1000.0))
    ledger.record("CS1", event(version, "tx-B", 1, "Updated"))
    view = ledger.record("CS1", event(version, "tx-B", 2, "Updated")).transaction
    assert view is not None and view.complete and view.started_at == at(0) and view.energy_wh == 3000.0


def test_gaps_count_from_the_started_seq_no_and_are_bounded(version: str) -> None:
    ledger = Ledger()
    ledger.record("CS1", event(version, "tx-C", 5, "Started"))  # a station numbering from 5
    assert ledger.record("CS1", event(version, "tx-C", 7, "Ended")).gaps == (6,)
    far = ledger.record("CS2", event(version, "tx-D", 10**9, "Updated"))  # no Started: counted from 0
    assert len(far.gaps) == MAX_GAPS and far.gaps[:3] == (0, 1, 2)


def test_an_offline_transaction_reported_afterwards(version: str) -> None:
    """E12: a transaction that ran while the station was offline arrives in one burst after the
    reconnect, every event flagged offline, interleaved with a live transaction."""
    ledger = Ledger()
    live = session2x(version, "tx-live")
    offline = [
        event(version, "tx-off", i, k, offline=True, wh=100.0 * (i + 1))
        for i, k in enumerate(["Started", "Updated", "Ended"])
    ]
    ledger.record("CS1", live[0])
    for a, b in zip(offline, live[1:], strict=True):
        ledger.record("CS1", a)
        ledger.record("CS1", b)
    view = ledger.transaction("CS1", "tx-off")
    assert view is not None and view.offline == (0, 1, 2) and view.complete and view.energy_wh == 200.0
    live_view = ledger.transaction("CS1", "tx-live")
    assert live_view is not None and live_view.offline == () and live_view.complete
    assert ledger.anomalies() == []  # offline is not an anomaly


def test_same_key_other_content_is_a_conflict(version: str) -> None:
    ledger = Ledger()
    first = event(version, "tx-A", 0, "Started", wh=1000.0)
    ledger.record("CS1", first)
    other = event(version, "tx-A", 0, "Started", wh=1111.0)
    rec = ledger.record("CS1", other)
    assert (rec.status, rec.transaction_id) == ("conflict", "tx-A")
    assert ledger.messages("CS1", "tx-A") == [first]
    (anomaly,) = ledger.anomalies()
    assert anomaly.kind == "conflict" and anomaly.message == other
    assert (
        anomaly.detail
        == "TransactionEvent seqNo 0 received with other content than the one recorded (1x); the first is kept"
    )


def test_transaction_ids_are_per_station(version: str) -> None:
    ledger = Ledger()
    ledger.record("CS1", event(version, "same", 0, "Started"))
    assert ledger.record("CS2", event(version, "same", 0, "Started")).status == "new"
    assert len(ledger.transactions()) == 2 and ledger.transaction("CS3", "same") is None


@pytest.mark.parametrize(
    ("unit", "multiplier", "first", "last", "expected"),
    [
        (None, None, 1000.0, 1750.5, 750.5),  # Wh by default
        ("Wh", None, 1000.0, 2000.0, 1000.0),
        ("kWh", None, 1.5, 4.0, 2500.0),
        ("kWh", -3, 1500.0, 4000.0, 2500.0),  # kWh x 10^-3 = Wh
        ("Wh", 3, 1.0, 2.25, 1250.0),  # Wh x 10^3
        ("kwh", None, 1.0, 2.0, 1000.0),  # any case
    ],
)
def test_energy_with_units_and_multipliers(
    version: str, unit: str | None, multiplier: int | None, first: float, last: float, expected: float
) -> None:
    ledger = Ledger()
    ledger.record(
        "CS1", event(version, "tx", 0, "Started", meter_values=[reading(version, first, 0, unit, multiplier)])
    )
    rec = ledger.record(
        "CS1", event(version, "tx", 1, "Ended", meter_values=[reading(version, last, 9, unit, multiplier)])
    )
    assert rec.transaction is not None and rec.transaction.energy_wh == expected


def test_energy_counts_only_the_total_import_register(version: str) -> None:
    p = pkg(version)
    ledger = Ledger()
    noise: list[Any] = [
        reading(version, 9e9, 1, measurand=p.MeasurandEnumType("Power.Active.Import")),  # not energy
        reading(version, 9e9, 2, phase=p.PhaseEnumType("L1")),  # a phase register
        reading(version, 9e9, 3, location=p.LocationEnumType("EV")),  # not the outlet
        reading(version, 9e9, 4, unit="varh"),  # not an energy unit we convert
    ]
    ledger.record("CS1", event(version, "tx", 0, "Started", wh=100.0, meter_values=noise))
    mixed_units = [
        reading(version, 0.6, 10, "kWh"),
        reading(version, 9e9, 10, measurand=p.MeasurandEnumType("Energy.Active.Export.Register")),
    ]
    view = ledger.record("CS1", event(version, "tx", 1, "Ended", minute=10, meter_values=mixed_units)).transaction
    assert view is not None and view.energy_wh == 500.0 and len(view.meter_values) == 7


def test_a_register_that_goes_down_gives_no_energy_and_a_meter_anomaly(version: str) -> None:
    ledger = Ledger()
    ledger.record("CS1", event(version, "tx", 0, "Started", wh=5000.0))
    view = ledger.record("CS1", event(version, "tx", 1, "Ended", wh=4000.0)).transaction
    assert view is not None and view.energy_wh is None
    (anomaly,) = ledger.anomalies()
    assert anomaly.kind == "meter" and "go down by 1000.0 Wh" in anomaly.detail


def test_the_id_token_is_the_first_one_by_seq_no(version: str) -> None:
    ledger = Ledger()
    ledger.record("CS1", event(version, "tx", 2, "Ended", token="STOPPER"))
    ledger.record("CS1", event(version, "tx", 0, "Started"))
    view = ledger.record("CS1", event(version, "tx", 1, "Updated", token="STARTER")).transaction
    assert view is not None and view.id_token is not None and not isinstance(view.id_token, str)
    assert view.id_token.id_token == "STARTER"


def test_a_relaxed_request_needs_the_policy_that_accepted_it(version: str) -> None:
    """A request a lenient Policy decoded (an unknown unit enum here would not even decode; an
    over-long string does) does not satisfy the schema: the strict ledger refuses it clearly,
    one given the policy stores it and reads it back."""
    import ocppkit

    p = pkg(version)
    codec = ocppkit.Codec(version, policy=ocppkit.Policy(overlong_strings="accept"))
    long_id = "x" * 40  # transactionId: at most 36 characters
    e = event(version, "tx", 0, "Started")
    payload = msgspec.json.decode(ocppkit.encode_payload(e))
    payload["transactionInfo"]["transactionId"] = long_id
    frame = msgspec.json.encode([2, "m1", "TransactionEvent", payload])
    relaxed = codec.decode(frame).payload
    assert isinstance(relaxed, p.TransactionEventRequest)
    with pytest.raises(ValueError, match=r"transactionId"):
        Ledger().record("CS1", relaxed)
    lenient = Ledger(policy=ocppkit.Policy(overlong_strings="accept"))
    assert lenient.record("CS1", relaxed).transaction_id == long_id
    assert lenient.messages("CS1", long_id) == [relaxed]
