"""The outbox's rules, for 1.6 and 2.0.1, on the memory and the sqlite store (OCPP_BEHAVIOUR §1)."""

from __future__ import annotations

from typing import Any

import pytest

import ocppkit
from ocppkit import v16, v21, v201
from ocppkit.outbox import (
    Attempt,
    Delivered,
    Drop,
    MemoryStore,
    Outbox,
    OutboxError,
    OutboxSettings,
    Retry,
    Wait,
    is_transaction_message,
)

from .support import (
    TS,
    Stores,
    event201,
    meter16,
    response_for,
    security16,
    security201,
    start16,
    start16_ok,
    stop16,
)

T0 = 1_700_000_000.0


def tx_message(version: str, i: int = 0) -> Any:
    """A transaction message of ``version`` that needs no placeholder."""
    return meter16(None, str(i)) if version == "1.6" else event201(f"tx-{i}", "Updated")


def attempt(outbox: Outbox, now: float = T0) -> Attempt:
    act = outbox.next(now)
    assert isinstance(act, Attempt), act
    return act


def deliver(outbox: Outbox, now: float = T0, tx: int = 1) -> Delivered:
    act = attempt(outbox, now)
    return outbox.delivered(act.entry.id, response_for(outbox.version, act.entry.action, tx), now)


VERSIONS = ("1.6", "2.0.1")


# ------------------------------------------------------------------ commit, order, restart


@pytest.mark.parametrize("version", VERSIONS)
def test_a_submit_is_committed_before_it_returns_and_found_after_a_crash(stores: Stores, version: str) -> None:
    outbox = stores.outbox(version)
    assert outbox.restored == 0
    sent = [outbox.submit(tx_message(version, i), T0 + i) for i in range(3)]
    assert [e.id for e in sent] == sorted(e.id for e in sent)
    first = attempt(outbox).request
    # crash: no delivered(); a new outbox on the same store
    again = stores.outbox(version)
    assert again.restored == 3 and again.pending() == 3
    assert [e.id for e in again.entries()] == [e.id for e in sent]
    assert [e.created for e in again.entries()] == [T0, T0 + 1, T0 + 2]
    act = attempt(again)
    assert act.entry.id == sent[0].id and act.transmission == 1
    assert act.request == first  # at least once: the same payload again


@pytest.mark.parametrize("version", VERSIONS)
def test_strict_fifo_only_the_head_one_at_a_time(stores: Stores, version: str) -> None:
    outbox = stores.outbox(version)
    ids = [outbox.submit(tx_message(version, i), T0).id for i in range(3)]
    delivered = []
    for _ in ids:
        act = attempt(outbox)
        assert outbox.next(T0) is None  # one in flight: nothing else is offered
        d = outbox.delivered(act.entry.id, response_for(version, act.entry.action), T0)
        assert isinstance(d, Delivered) and d.dropped == () and d.entry.transmissions == 1
        delivered.append(d.entry.id)
    assert delivered == ids
    assert outbox.next(T0) is None and outbox.pending() == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_retries_are_linear_and_the_last_failure_drops(stores: Stores, version: str) -> None:
    outbox = stores.outbox(version, attempts=3, retry_interval=60.0)
    first = outbox.submit(tx_message(version, 1), T0)
    second = outbox.submit(tx_message(version, 2), T0)
    act = attempt(outbox)
    retry = outbox.failed(act.entry.id, "CALLERROR InternalError: boom", T0)
    assert retry == Retry(retry.entry, T0 + 60.0) and retry.entry.transmissions == 1
    assert outbox.next(T0 + 59.9) == Wait(T0 + 60.0)
    act = attempt(outbox, T0 + 60.0)
    assert act.transmission == 2 and act.entry.id == first.id
    retry = outbox.failed(act.entry.id, "timeout", T0 + 70.0)
    assert isinstance(retry, Retry) and retry.at == T0 + 70.0 + 120.0  # interval x 2
    act = attempt(outbox, T0 + 190.0)
    assert act.transmission == 3
    drop = outbox.failed(act.entry.id, "timeout", T0 + 200.0)
    assert isinstance(drop, Drop)
    assert (drop.reason, drop.detail, drop.entry.id, drop.entry.transmissions) == ("attempts", "timeout", first.id, 3)
    assert outbox.pending() == 1
    assert attempt(outbox, T0 + 200.0).entry.id == second.id  # the queue moves on


@pytest.mark.parametrize("version", VERSIONS)
def test_one_attempt_drops_at_the_first_failure(stores: Stores, version: str) -> None:
    outbox = stores.outbox(version, attempts=1)
    outbox.submit(tx_message(version), T0)
    act = attempt(outbox)
    assert isinstance(outbox.failed(act.entry.id, "timeout", T0), Drop)


@pytest.mark.parametrize("version", VERSIONS)
def test_transmissions_and_the_retry_schedule_survive_a_crash(stores: Stores, version: str) -> None:
    outbox = stores.outbox(version, attempts=2, retry_interval=30.0)
    outbox.submit(tx_message(version), T0)
    outbox.failed(attempt(outbox).entry.id, "timeout", T0)
    again = stores.outbox(version, attempts=2, retry_interval=30.0)
    assert again.entries()[0].transmissions == 1
    assert again.next(T0 + 1) == Wait(T0 + 30.0)
    act = attempt(again, T0 + 30.0)
    assert act.transmission == 2
    drop = again.failed(act.entry.id, "timeout", T0 + 31)
    assert isinstance(drop, Drop) and drop.reason == "attempts" and again.pending() == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_an_interrupted_transmission_is_not_counted_and_resent_as_is(stores: Stores, version: str) -> None:
    outbox = stores.outbox(version, attempts=1)
    outbox.submit(tx_message(version), T0)
    act = attempt(outbox)
    outbox.interrupted(act.entry.id)
    again = attempt(outbox)
    assert (again.entry.id, again.transmission, again.request) == (act.entry.id, 1, act.request)
    outbox.interrupted(again.entry.id)
    assert attempt(outbox).transmission == 1  # attempts=1 and still not dropped


@pytest.mark.parametrize("version", VERSIONS)
def test_ids_keep_increasing_after_the_queue_empties_and_a_restart(stores: Stores, version: str) -> None:
    outbox = stores.outbox(version)
    a = outbox.submit(tx_message(version), T0)
    deliver(outbox)
    b = stores.outbox(version).submit(tx_message(version), T0)
    assert b.id > a.id


# ------------------------------------------------------------------ misuse


@pytest.mark.parametrize("version", VERSIONS)
def test_misuse_is_refused_naming_what_is_wrong(stores: Stores, version: str) -> None:
    outbox = stores.outbox(version)
    with pytest.raises(OutboxError, match="delivered: entry_id 7 is not in flight \\(none is\\)"):
        outbox.delivered(7, response_for(version, "MeterValues" if version == "1.6" else "TransactionEvent"), T0)
    entry = outbox.submit(tx_message(version), T0)
    act = attempt(outbox)
    with pytest.raises(OutboxError, match=f"failed: entry_id 99 is not in flight \\(entry {entry.id} is\\)"):
        outbox.failed(99, "timeout", T0)
    with pytest.raises(TypeError, match="response: expected"):
        outbox.delivered(act.entry.id, response_for(version, "SecurityEventNotification"), T0)
    with pytest.raises(ValueError, match="now: expected finite epoch seconds"):
        outbox.next(float("nan"))
    not_queued = v16.AuthorizeRequest(id_tag="A") if version == "1.6" else v201.HeartbeatRequest()
    with pytest.raises(OutboxError, match="is not a transaction message"):
        outbox.submit(not_queued, T0)
    other = v201.HeartbeatRequest() if version == "1.6" else v16.AuthorizeRequest(id_tag="A")
    with pytest.raises(OutboxError, match="this outbox is OCPP"):
        outbox.submit(other, T0)
    with pytest.raises(TypeError, match="request: expected an OCPP"):
        outbox.submit(v16.IdTagInfo(status=v16.AuthorizationStatus.ACCEPTED), T0)  # type: ignore[arg-type]
    assert outbox.pending() == 1  # nothing of that changed anything
    outbox.close()
    with pytest.raises(OutboxError, match="outbox: closed"):
        outbox.next(T0)


def test_a_schema_invalid_request_is_refused_before_anything_is_stored() -> None:
    outbox = Outbox("1.6", MemoryStore())
    bad = v16.StopTransactionRequest(transaction_id=5, meter_stop=1, timestamp=TS, id_tag="X" * 21)
    with pytest.raises(ocppkit.LocalProtocolError, match="idTag"):
        outbox.submit(bad, T0)
    assert outbox.pending() == 0


def test_a_store_keeps_its_version() -> None:
    store = MemoryStore()
    Outbox("1.6", store)
    with pytest.raises(OutboxError, match="holds an OCPP 1.6 outbox, opened as OCPP 2.0.1"):
        Outbox("2.0.1", store)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("attempts", 0, "attempts: expected an int >= 1, got 0"),
        ("attempts", True, "attempts: expected an int >= 1, got True"),
        ("max_messages", 2.5, "max_messages: expected an int >= 1, got 2.5"),
        ("retry_interval", -1, "retry_interval: expected a finite number of seconds >= 0, got -1"),
        ("retry_interval", float("inf"), "retry_interval: expected a finite number"),
        ("queue_all_messages", 1, "queue_all_messages: expected a bool, got 1"),
        ("number_events", "yes", "number_events: expected a bool"),
    ],
)
def test_settings_name_the_field_and_the_rule(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", "\\(").replace(")", "\\)")):
        OutboxSettings(**{field: value})  # type: ignore[arg-type]


# ------------------------------------------------------------------ which messages


def test_which_messages_are_transaction_messages() -> None:
    for action in ("StartTransaction", "StopTransaction", "MeterValues", "SecurityEventNotification"):
        assert is_transaction_message("1.6", action)
    for version in ("2.0.1", "2.1"):
        assert is_transaction_message(version, "TransactionEvent")
        assert is_transaction_message(version, "SecurityEventNotification")
        assert not is_transaction_message(version, "MeterValues")  # stand-alone 2.x MeterValues
        assert not is_transaction_message(version, "StatusNotification")
        assert is_transaction_message(version, "StatusNotification", queue_all_messages=True)
        assert is_transaction_message(version, "DataTransfer", queue_all_messages=True)
        assert not is_transaction_message(version, "BootNotification", queue_all_messages=True)
        assert not is_transaction_message(version, "SetVariables", queue_all_messages=True)  # CSMS-initiated
    assert not is_transaction_message("1.6", "Authorize")
    with pytest.raises(ValueError, match="version: expected one of"):
        is_transaction_message("1.5", "MeterValues")


def test_queue_all_messages_queues_other_station_messages_but_not_boot(stores: Stores) -> None:
    outbox = stores.outbox("2.0.1", queue_all_messages=True)
    assert outbox.is_transaction_message("Heartbeat") and not outbox.is_transaction_message("BootNotification")
    entry = outbox.submit(v201.HeartbeatRequest(), T0)
    assert entry.transaction_id is None and entry.seq_no is None
    act = attempt(outbox)
    assert isinstance(act.request, v201.HeartbeatRequest)
    outbox.delivered(act.entry.id, v201.HeartbeatResponse(current_time=TS), T0)
    boot = v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M", vendor_name="V"),
        reason=v201.BootReasonEnumType.POWER_UP,
    )
    with pytest.raises(OutboxError, match="BootNotification is not a transaction message"):
        outbox.submit(boot, T0)


# ------------------------------------------------------------------ 1.6 placeholders


def test_placeholders_are_negative_never_minus_one_and_unique(stores: Stores) -> None:
    outbox = stores.outbox("1.6")
    ids = [outbox.submit(start16(), T0).transaction_id for _ in range(5)]
    assert all(isinstance(i, int) and i < 0 and i != -1 for i in ids)
    assert len(set(ids)) == 5
    # persisted: a restart hands out new ones
    more = stores.outbox("1.6").submit(start16(), T0).transaction_id
    assert more not in ids


def test_meter_values_and_stop_go_out_with_the_id_the_csms_assigned(stores: Stores) -> None:
    outbox = stores.outbox("1.6")
    start = outbox.submit(start16(), T0)
    ph = start.transaction_id
    assert isinstance(ph, int)
    mv = outbox.submit(meter16(ph), T0)
    assert mv.transaction_id == ph
    outbox.submit(meter16(None), T0)  # connector-level: no transactionId, unchanged
    outbox.submit(stop16(ph), T0)
    act = attempt(outbox)
    assert act.request == start16()  # the Start itself carries no transactionId
    outbox.delivered(act.entry.id, start16_ok(4711), T0)
    outbox = stores.outbox("1.6")  # the mapping is persisted with the delivery
    sent = []
    while (act := outbox.next(T0)) is not None:
        assert isinstance(act, Attempt)
        sent.append(act.request)
        outbox.delivered(act.entry.id, response_for("1.6", act.entry.action), T0)
    assert sent == [meter16(4711), meter16(None), stop16(4711)]
    # the placeholder is forgotten with its StopTransaction: it may no longer be used
    with pytest.raises(OutboxError, match=f"transactionId {ph} is a placeholder no longer live"):
        outbox.submit(meter16(ph), T0)


def test_a_dropped_start_sends_its_meter_values_without_id_and_drops_its_stop(stores: Stores) -> None:
    outbox = stores.outbox("1.6", attempts=1)
    start = outbox.submit(start16(), T0)
    ph = start.transaction_id
    assert isinstance(ph, int)
    outbox.submit(meter16(ph, "5"), T0)
    stop = outbox.submit(stop16(ph), T0)
    drop = outbox.failed(attempt(outbox).entry.id, "CALLERROR InternalError", T0)
    assert isinstance(drop, Drop) and drop.reason == "attempts" and drop.entry.id == start.id
    assert [(d.entry.id, d.reason) for d in drop.dropped] == [(stop.id, "start_dropped")]
    assert "was dropped" in drop.dropped[0].detail
    outbox = stores.outbox("1.6", attempts=1)  # persisted
    act = attempt(outbox)
    assert act.request == meter16(None, "5")  # transactionId (optional) removed: never a placeholder
    outbox.delivered(act.entry.id, v16.MeterValuesResponse(), T0)
    assert outbox.next(T0) is None and outbox.pending() == 0


def test_a_stop_submitted_after_its_start_was_dropped_is_dropped_at_once(stores: Stores) -> None:
    outbox = stores.outbox("1.6", attempts=1)
    ph = outbox.submit(start16(), T0).transaction_id
    assert isinstance(ph, int)
    outbox.failed(attempt(outbox).entry.id, "timeout", T0)
    mv = outbox.submit(meter16(ph), T0)
    stop = outbox.submit(stop16(ph), T0)
    assert [(d.entry.id, d.reason) for d in stop.dropped] == [(stop.id, "start_dropped")]
    assert [e.id for e in outbox.entries()] == [mv.id]
    assert attempt(outbox).request == meter16(None)
    with pytest.raises(OutboxError, match="already queued or done"):
        outbox.submit(meter16(ph), T0)


def test_a_second_stop_or_a_meter_value_after_the_stop_is_refused(stores: Stores) -> None:
    outbox = stores.outbox("1.6")
    ph = outbox.submit(start16(), T0).transaction_id
    assert isinstance(ph, int)
    outbox.submit(stop16(ph), T0)
    for late in (stop16(ph), meter16(ph)):
        with pytest.raises(OutboxError, match=f"transactionId {ph}: the StopTransaction of that transaction"):
            outbox.submit(late, T0)
    assert outbox.pending() == 2


def test_a_stop_dropped_for_attempts_forgets_its_placeholder(stores: Stores) -> None:
    outbox = stores.outbox("1.6", attempts=1)
    ph = outbox.submit(start16(), T0).transaction_id
    assert isinstance(ph, int)
    outbox.submit(stop16(ph), T0)
    deliver(outbox, tx=9)
    drop = outbox.failed(attempt(outbox).entry.id, "timeout", T0)
    assert isinstance(drop, Drop) and drop.reason == "attempts" and drop.dropped == ()
    with pytest.raises(OutboxError, match="no longer live"):
        outbox.submit(stop16(ph), T0)


def test_real_ids_and_minus_one_pass_through_unchanged(stores: Stores) -> None:
    outbox = stores.outbox("1.6")
    for tx in (77, -1):
        outbox.submit(stop16(tx), T0)
        assert attempt(outbox).request == stop16(tx)
        deliver_current = outbox.entries()[0]
        outbox.delivered(deliver_current.id, v16.StopTransactionResponse(), T0)


# ------------------------------------------------------------------ 2.x seqNo and offline


def test_seq_no_counts_per_transaction_across_restarts_and_restarts_after_ended(stores: Stores) -> None:
    outbox = stores.outbox("2.0.1")
    assert outbox.submit(event201("A", "Started", "Authorized", seq=50), T0).seq_no == 0
    assert outbox.submit(event201("B", "Started", "Authorized"), T0).seq_no == 0
    assert outbox.submit(event201("A"), T0).seq_no == 1
    outbox = stores.outbox("2.0.1")
    assert outbox.submit(event201("A", "Ended", "StopAuthorized"), T0).seq_no == 2
    assert outbox.submit(event201("B"), T0).seq_no == 1
    assert outbox.submit(event201("A", "Started", "Authorized"), T0).seq_no == 0  # counter forgotten at Ended
    seqs = []
    while (act := outbox.next(T0)) is not None:
        assert isinstance(act, Attempt)
        seqs.append((act.request.transaction_info.transaction_id, act.request.seq_no))
        outbox.delivered(act.entry.id, v201.TransactionEventResponse(), T0)
    assert seqs == [("A", 0), ("B", 0), ("A", 1), ("A", 2), ("B", 1), ("A", 0)]


def test_without_number_events_the_given_seq_no_is_kept(stores: Stores) -> None:
    outbox = stores.outbox("2.0.1", number_events=False)
    assert outbox.submit(event201("A", seq=17), T0).seq_no == 17
    assert attempt(outbox).request.seq_no == 17


def test_offline_sets_the_flag_of_a_transaction_event_only(stores: Stores) -> None:
    outbox = stores.outbox("2.0.1")
    outbox.submit(event201("A"), T0, offline=True)
    outbox.submit(event201("A"), T0)
    outbox.submit(security201(), T0, offline=True)
    sent = []
    while (act := outbox.next(T0)) is not None:
        assert isinstance(act, Attempt)
        sent.append(act.request)
        outbox.delivered(act.entry.id, response_for("2.0.1", act.entry.action), T0)
    assert sent[0].offline is True and sent[1].offline is ocppkit.UNSET
    assert sent[2] == security201()


def test_pending_for_counts_one_transactions_queued_messages(stores: Stores) -> None:
    outbox = stores.outbox("2.0.1")
    for tx in ("A", "B", "A", "A"):
        outbox.submit(event201(tx), T0)
    outbox.submit(security201(), T0)
    attempt(outbox)  # in flight counts too
    assert (outbox.pending_for("A"), outbox.pending_for("B"), outbox.pending_for("C"), outbox.pending()) == (3, 1, 0, 5)


# ------------------------------------------------------------------ storage bound


def test_storage_drops_every_second_meter_value_first_1_6(stores: Stores) -> None:
    outbox = stores.outbox("1.6", max_messages=7)
    ph = outbox.submit(start16(), T0).transaction_id
    assert isinstance(ph, int)
    mvs = [outbox.submit(meter16(ph, str(i)), T0).id for i in range(4)]
    sec = outbox.submit(security16(), T0)
    e1 = outbox.submit(meter16(ph, "x"), T0)
    assert e1.dropped == ()  # 7 fit
    # full: the 2nd meter value goes, then the 4th
    e2 = outbox.submit(stop16(ph), T0)
    assert [(d.entry.id, d.reason) for d in e2.dropped] == [(mvs[1], "storage")]
    assert "max_messages=7" in e2.dropped[0].detail
    e3 = outbox.submit(security16(), T0)
    assert [d.entry.id for d in e3.dropped] == [mvs[3]]
    remaining = [e.id for e in outbox.entries()]
    assert sec.id in remaining and e2.id in remaining and remaining[0] == mvs[0] - 1  # Start and Stop kept
    assert outbox.pending() == 7


def test_storage_never_drops_the_head_start_stop_or_security_and_then_refuses(stores: Stores) -> None:
    from ocppkit.outbox import OutboxFull

    outbox = stores.outbox("1.6", max_messages=3)
    outbox.submit(meter16(None, "head"), T0)  # the head: never dropped
    ph = outbox.submit(start16(), T0).transaction_id
    assert isinstance(ph, int)
    outbox.submit(security16(), T0)
    with pytest.raises(OutboxFull, match="max_messages: the outbox holds 3 messages \\(max_messages=3\\)"):
        outbox.submit(stop16(ph), T0)
    assert outbox.pending() == 3
    # nothing changed: the refused Stop may be submitted once there is room
    deliver(outbox)
    assert outbox.submit(stop16(ph), T0).dropped == ()


def test_storage_drops_updated_events_never_started_or_ended_2_0_1(stores: Stores) -> None:
    from ocppkit.outbox import OutboxFull

    outbox = stores.outbox("2.0.1", max_messages=5)
    outbox.submit(event201("A", "Started", "Authorized"), T0)
    ups = [outbox.submit(event201("A", "Updated", "ChargingStateChanged"), T0).id for _ in range(3)]
    outbox.submit(event201("A", "Ended", "StopAuthorized"), T0)
    d = outbox.submit(event201("B", "Started", "Authorized"), T0).dropped
    assert [x.entry.id for x in d] == [ups[1]]  # 2.0.1: any Updated (E11.FR.04)
    d = outbox.submit(event201("B", "Ended", "StopAuthorized"), T0).dropped
    # a new pass from the oldest: of [ups[0], ups[2]] the second
    assert [x.entry.id for x in d] == [ups[2]]
    d = outbox.submit(event201("C", "Started", "Authorized"), T0).dropped
    assert [x.entry.id for x in d] == [ups[0]]  # the only one left
    with pytest.raises(OutboxFull):
        outbox.submit(event201("C", "Ended", "StopAuthorized"), T0)
    assert [e.action for e in outbox.entries()] == ["TransactionEvent"] * 5


def test_2_1_drops_only_periodic_and_clock_meter_readings() -> None:
    from ocppkit.outbox import OutboxFull

    outbox = Outbox("2.1", MemoryStore(), OutboxSettings(max_messages=4))

    def ev(kind: str, trigger: str) -> v21.TransactionEventRequest:
        return v21.TransactionEventRequest(
            event_type=v21.TransactionEventEnumType(kind),
            timestamp=TS,
            trigger_reason=v21.TriggerReasonEnumType(trigger),
            seq_no=0,
            transaction_info=v21.TransactionType(transaction_id="T"),
        )

    outbox.submit(ev("Started", "Authorized"), T0)
    outbox.submit(ev("Updated", "LimitSet"), T0)
    outbox.submit(ev("Updated", "MeterValueClock"), T0)
    periodic = outbox.submit(ev("Updated", "MeterValuePeriodic"), T0)
    d = outbox.submit(ev("Updated", "RunningCost"), T0).dropped
    assert [x.entry.id for x in d] == [periodic.id]  # the second of the two droppable ones
    d = outbox.submit(ev("Updated", "TariffChanged"), T0).dropped
    assert len(d) == 1 and d[0].reason == "storage"
    with pytest.raises(OutboxFull):
        outbox.submit(ev("Ended", "StopAuthorized"), T0)


def test_a_store_holding_more_than_max_messages_is_thinned_on_the_next_submit(stores: Stores) -> None:
    outbox = stores.outbox("2.0.1", max_messages=10)
    for _ in range(6):
        outbox.submit(event201("A"), T0)
    outbox = stores.outbox("2.0.1", max_messages=3)  # lowered across a restart
    e = outbox.submit(event201("A"), T0)
    assert len(e.dropped) == 4 and outbox.pending() == 3
    assert all(d.reason == "storage" for d in e.dropped)
