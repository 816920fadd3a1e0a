"""Answers to our calls that cannot be decoded, and the codecs connections share. Both twins."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ocppkit import (
    CallTimedOut,
    ErrorCode,
    ErrorReceived,
    LateResponse,
    Policy,
    ProtocolViolation,
    RemoteProtocolError,
    ResultInvalid,
    ResultReceived,
    UnmatchedResponse,
    _codec_cache,
    parse_error_code,
    v16,
    v21,
    v201,
)
from ocppkit.states import AWAITING, IDLE
from tests.helpers import FakeClock

MODS = {"1.6": v16, "2.0.1": v201, "2.1": v21}
VERSIONS = list(MODS)


def station(Connection: Any, version: str, clock: FakeClock, **options: Any) -> Any:
    ids = iter(f"s-{i}" for i in range(1, 10_000))
    return Connection("station", version, clock=clock, ids=lambda: next(ids), call_timeout=10, **options)


def heartbeat(version: str) -> Any:
    return MODS[version].HeartbeatRequest()


def result(uid: str) -> bytes:
    return b'[3,"' + uid.encode() + b'",{"currentTime":"2030-01-01T00:00:00Z"}]'


# CALLERRORs whose id can be read but that are no well-formed frame: (frame after the id, rule).
BROKEN_ERRORS = [
    (b',"GenericError","",5]', "frame"),  # details not an object
    (b',"GenericError","no"]', "frame"),  # an element missing
    (b',7,"",{}]', "frame"),  # the code not a string
    (b',"GenericError","",{},"extra"]', "frame"),  # an element too many
    (b',"GenericError","\\ud800",{}]', "unicode"),  # a lone surrogate in the description
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("tail,rule", BROKEN_ERRORS)
def test_a_broken_callerror_with_our_id_ends_the_call(Connection: Any, version: str, tail: bytes, rule: str) -> None:
    clock = FakeClock()
    conn = station(Connection, version, clock)
    first = conn.call(heartbeat(version))
    second = conn.call(heartbeat(version))  # queued behind the first
    conn.data_to_send()
    conn.receive_data(b'[4,"' + first.encode() + b'"' + tail)
    events = list(conn.events())
    assert len(events) == 1 and isinstance(events[0], ResultInvalid), events
    ended = events[0]
    assert (ended.unique_id, ended.action) == (first, "Heartbeat")
    assert isinstance(ended.error, RemoteProtocolError) and ended.error.message_type == 4
    assert ended.error.details["rule"] == rule and ended.error.unique_id == first
    assert conn.bad_messages == 1
    # Never answered; the slot went on to the queued call, whose deadline now runs.
    sent = conn.data_to_send()
    assert [json.loads(d)[:2] for d in sent] == [[2, second]]
    assert conn.slot is AWAITING and conn.next_deadline() == clock.now + 10
    clock.advance(11)
    conn.handle_timeout()
    timed_out = [e for e in conn.events() if isinstance(e, CallTimedOut)]
    assert [e.unique_id for e in timed_out] == [second]  # the first call ended once, not twice


@pytest.mark.parametrize("version", VERSIONS)
def test_a_broken_callerror_with_another_id_is_dropped_and_the_call_waits(Connection: Any, version: str) -> None:
    clock = FakeClock()
    conn = station(Connection, version, clock)
    uid = conn.call(heartbeat(version))
    conn.data_to_send()
    conn.receive_data(b'[4,"other","GenericError","",5]')
    assert list(conn.events()) == [UnmatchedResponse("other", "error")]
    assert conn.slot is AWAITING and conn.data_to_send() == [] and conn.bad_messages == 1
    conn.receive_data(result(uid))
    assert [type(e) for e in conn.events()] == [ResultReceived] and conn.slot is IDLE


def test_a_broken_callerror_for_a_timed_out_call_is_late(Connection: Any) -> None:
    clock = FakeClock()
    conn = station(Connection, "2.0.1", clock)
    uid = conn.call(v201.HeartbeatRequest())
    conn.data_to_send()
    clock.advance(11)
    conn.handle_timeout()
    assert [type(e) for e in conn.events()] == [CallTimedOut]
    conn.receive_data(b'[4,"' + uid.encode() + b'","GenericError","",[]]')
    assert list(conn.events()) == [LateResponse(uid, "Heartbeat", "error")]
    assert conn.slot is IDLE and conn.bad_messages == 0


def test_a_broken_callresulterror_answers_no_call_of_ours(Connection: Any) -> None:
    """2.1: a CALLRESULTERROR answers a result we sent for the peer's call, whose id may equal
    ours by chance: it never ends our call."""
    clock = FakeClock()
    conn = station(Connection, "2.1", clock)
    uid = conn.call(v21.HeartbeatRequest())
    conn.data_to_send()
    conn.receive_data(b'[5,"' + uid.encode() + b'","GenericError","",5]')
    events = list(conn.events())
    assert len(events) == 1 and isinstance(events[0], ProtocolViolation)
    assert events[0].error.message_type == 5 and conn.slot is AWAITING


def test_a_well_formed_callerror_still_ends_the_call_as_an_error(Connection: Any) -> None:
    conn = station(Connection, "1.6", FakeClock())
    uid = conn.call(v16.HeartbeatRequest())
    conn.data_to_send()
    conn.receive_data(b'[4,"' + uid.encode() + b'","FormationViolation","bad",{"x":1}]')
    (event,) = conn.events()
    assert isinstance(event, ErrorReceived) and event.error_code == "FormationViolation"
    assert parse_error_code(event.error_code) is ErrorCode.FORMAT_VIOLATION and conn.bad_messages == 0


# ------------------------------------------------------------------ shared codecs


def test_policies_compare_and_hash_by_value() -> None:
    a = Policy(unknown_properties="drop", overrides={"Heartbeat": {"overlong_strings": "accept"}})
    b = Policy(overrides={"Heartbeat": {"overlong_strings": "accept"}}, unknown_properties="drop")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != Policy(unknown_properties="keep") and a != Policy() and a != "Policy"
    assert Policy() == Policy(unknown_properties="reject")


def test_a_thousand_policies_keep_a_bounded_number_of_codecs(Connection: Any) -> None:
    clock = FakeClock()
    kept = []
    for i in range(1000):
        policy = Policy(overrides={f"Vendor{i}": {"unknown_properties": "drop"}})
        kept.append(station(Connection, "2.0.1", clock, policy=policy))
        assert len(_codec_cache._CODECS) <= _codec_cache.MAX_SHARED
    assert len({id(c._codec) for c in kept}) == 1000  # each connection has the codec of its policy
    # An evicted codec still serves its connection: the policy is still applied.
    first = kept[0]
    assert not any(first._codec is c for c in _codec_cache._CODECS.values())
    first.receive_data(b'[2,"c-1","Heartbeat",{}]')
    assert [type(e).__name__ for e in first.events()] == ["CallReceived"]


def test_connections_configured_alike_share_one_codec(Connection: Any) -> None:
    clock = FakeClock()

    def lenient() -> Policy:
        return Policy(unknown_properties="drop", overrides={"StatusNotification": {"unknown_enum_values": "accept"}})

    a, b = station(Connection, "1.6", clock, policy=lenient()), station(Connection, "1.6", clock, policy=lenient())
    assert a._codec is b._codec
    plain = station(Connection, "1.6", clock)
    assert station(Connection, "1.6", clock, policy=Policy())._codec is plain._codec  # strict is no policy
    assert plain._codec is not a._codec
    assert station(Connection, "1.6", clock, max_depth=8)._codec is not plain._codec
    assert station(Connection, "2.0.1", clock)._codec is not plain._codec
    a.receive_data(b'[2,"c-1","Heartbeat",{"extra":1}]')
    (event,) = a.events()
    assert [r.action for r in event.relaxations] == ["dropped"]


def test_bad_settings_are_still_refused_by_the_codec(Connection: Any) -> None:
    with pytest.raises(TypeError, match="policy: expected an ocppkit.Policy"):
        station(Connection, "2.0.1", FakeClock(), policy={"unknown_properties": "drop"})
    with pytest.raises(ValueError, match="version: expected one of 1.6, 2.0.1, 2.1"):
        station(Connection, "3.0", FakeClock())
