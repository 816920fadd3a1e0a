"""Scenarios with two sans-IO connections back to back (station <-> CSMS), both twins, all versions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

import ocppkit
from ocppkit import (
    CallReceived,
    CallTimedOut,
    ErrorCode,
    ErrorReceived,
    LateResponse,
    LocalProtocolError,
    ProtocolViolation,
    ResultErrorReceived,
    ResultInvalid,
    ResultReceived,
    Router,
    SendReceived,
    UnmatchedResponse,
    v16,
    v21,
    v201,
)
from tests.helpers import Pair

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
MODS = {"1.6": v16, "2.0.1": v201, "2.1": v21}


def make_pair(Connection: Any, version: str, **options: Any) -> Pair:
    if Connection.__module__ == "ocppkit._rpc_py" and "codec" not in options:
        from ocppkit.codec import PyCodec

        codec = PyCodec(version, **{k: options.pop(k) for k in ("policy",) if k in options})
        return Pair(version, Connection, codec=codec, **options)
    return Pair(version, Connection, **options)


def boot_request(version: str) -> Any:
    if version == "1.6":
        return v16.BootNotificationRequest(charge_point_vendor="V", charge_point_model="M")
    m = MODS[version]
    return m.BootNotificationRequest(
        charging_station=m.ChargingStationType(model="M", vendor_name="V"), reason=m.BootReasonEnumType.POWER_UP
    )


def boot_response(version: str, status: str = "Accepted") -> Any:
    m = MODS[version]
    enum = v16.RegistrationStatus if version == "1.6" else m.RegistrationStatusEnumType
    return m.BootNotificationResponse(current_time=NOW, interval=300, status=enum(status))


def only(events: list[Any], kind: type) -> Any:
    found = [e for e in events if isinstance(e, kind)]
    assert len(found) == 1, events
    return found[0]


VERSIONS = ["1.6", "2.0.1", "2.1"]


@pytest.mark.parametrize("version", VERSIONS)
def test_boot_and_heartbeat(Connection: Any, version: str) -> None:
    p = make_pair(Connection, version)
    uid = p.station.call(boot_request(version))
    assert p.station.slot == "AWAITING" and p.station.next_deadline() == p.clock.now + 30
    _, csms_events = p.pump()
    call = only(csms_events, CallReceived)
    assert call.unique_id == uid and call.action == "BootNotification" and call.request == boot_request(version)
    p.csms.send_result(uid, boot_response(version))
    station_events, _ = p.pump()
    result = only(station_events, ResultReceived)
    assert result.unique_id == uid and result.action == "BootNotification"
    assert isinstance(result.response, MODS[version].BootNotificationResponse) and result.call == boot_request(version)
    assert p.station.slot == "IDLE" and p.station.next_deadline() is None
    assert p.station.boot_state == "ACCEPTED" and p.csms.boot_state == "ACCEPTED"

    hb = p.station.call(MODS[version].HeartbeatRequest())
    _, csms_events = p.pump()
    p.csms.send_result(only(csms_events, CallReceived).unique_id, MODS[version].HeartbeatResponse(current_time=NOW))
    station_events, _ = p.pump()
    assert only(station_events, ResultReceived).response.current_time == NOW and hb != uid


def _serve(p: Pair, router: Router) -> list[Any]:
    """Pump until quiet, dispatching every call either side receives; returns the station's events."""
    station_all: list[Any] = []
    while True:
        s_events, c_events = p.pump()
        station_all += s_events
        handled = False
        for ev in c_events:
            if isinstance(ev, CallReceived):
                router.dispatch(p.csms, ev)
                handled = True
        if not handled and not s_events:
            return station_all


def test_transaction_16(Connection: Any) -> None:
    p = make_pair(Connection, "1.6")
    router = Router()
    router.add(
        v16.StartTransactionRequest,
        lambda r: v16.StartTransactionResponse(
            transaction_id=42, id_tag_info=v16.IdTagInfo(status=v16.AuthorizationStatus.ACCEPTED)
        ),
    )
    router.add(v16.MeterValuesRequest, lambda r: v16.MeterValuesResponse())
    router.add(v16.StopTransactionRequest, lambda r: v16.StopTransactionResponse())
    p.station.call(v16.StartTransactionRequest(connector_id=1, id_tag="TAG", meter_start=0, timestamp=NOW))
    p.station.call(
        v16.MeterValuesRequest(
            connector_id=1,
            transaction_id=42,
            meter_value=[
                v16.MeterValue(
                    timestamp=NOW, sampled_value=[v16.SampledValue(value="12.5", unit=v16.UnitOfMeasure.K_WH)]
                )
            ],
        )
    )
    p.station.call(v16.StopTransactionRequest(meter_stop=12500, timestamp=NOW, transaction_id=42))
    events = _serve(p, router)
    results = [e for e in events if isinstance(e, ResultReceived)]
    assert [r.action for r in results] == ["StartTransaction", "MeterValues", "StopTransaction"]
    assert results[0].response.transaction_id == 42


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_transaction_2x(Connection: Any, version: str) -> None:
    m = MODS[version]
    p = make_pair(Connection, version)
    router = Router()
    router.add(m.TransactionEventRequest, lambda r: m.TransactionEventResponse())
    for i, kind in enumerate(("STARTED", "UPDATED", "ENDED")):
        p.station.call(
            m.TransactionEventRequest(
                event_type=getattr(m.TransactionEventEnumType, kind),
                timestamp=NOW,
                trigger_reason=m.TriggerReasonEnumType.AUTHORIZED,
                seq_no=i,
                transaction_info=m.TransactionType(transaction_id="tx-1"),
            )
        )
    events = _serve(p, router)
    assert [e.call.event_type.value for e in events if isinstance(e, ResultReceived)] == ["Started", "Updated", "Ended"]


@pytest.mark.parametrize("version", VERSIONS)
def test_crossing_calls(Connection: Any, version: str) -> None:
    m = MODS[version]
    p = make_pair(Connection, version)
    s_uid = p.station.call(m.HeartbeatRequest())
    c_uid = p.csms.call(m.ClearCacheRequest())
    # Both calls are on the wire before either side answers.
    assert len(p.station.data_to_send.__self__._outbox or []) == 1  # type: ignore[attr-defined]
    s_events, c_events = p.pump()
    assert only(s_events, CallReceived).unique_id == c_uid and only(c_events, CallReceived).unique_id == s_uid
    status = v16.ClearCacheStatus.ACCEPTED if version == "1.6" else m.ClearCacheStatusEnumType.ACCEPTED
    p.station.send_result(c_uid, m.ClearCacheResponse(status=status))
    p.csms.send_result(s_uid, m.HeartbeatResponse(current_time=NOW))
    s_events, c_events = p.pump()
    assert only(s_events, ResultReceived).unique_id == s_uid and only(c_events, ResultReceived).unique_id == c_uid


def test_calls_queue_one_at_a_time(Connection: Any) -> None:
    p = make_pair(Connection, "2.0.1")
    ids = [p.station.call(v201.HeartbeatRequest()) for _ in range(3)]
    assert p.station.queued_calls == 2
    sent = p.station.data_to_send()
    assert len(sent) == 1 and json.loads(sent[0])[1] == ids[0]
    p.csms.receive_data(sent[0])
    p.csms.send_result(ids[0], v201.HeartbeatResponse(current_time=NOW))
    p.station.receive_data(p.csms.data_to_send()[0])
    sent = p.station.data_to_send()
    assert len(sent) == 1 and json.loads(sent[0])[1] == ids[1] and p.station.queued_calls == 1


class CountingCodec:
    """A real codec that counts the frames it encoded, by kind; the connections get it as ``codec``."""

    def __init__(self, version: str) -> None:
        self.version = version
        self._codec = ocppkit.Codec(version)
        self.encoded: list[str] = []

    def encode(self, frame: Any) -> bytes:
        data = self._codec.encode(frame)
        self.encoded.append(type(frame).__name__)
        return data

    def decode(self, data: bytes | str, action: str | None = None) -> Any:
        return self._codec.decode(data, action)


def test_a_queued_call_is_encoded_once_and_sent_as_validated(Connection: Any) -> None:
    codec = CountingCodec("2.0.1")
    p = Pair("2.0.1", Connection, codec=codec)
    station = v201.ChargingStationType(model="M", vendor_name="V")
    queued = v201.BootNotificationRequest(charging_station=station, reason=v201.BootReasonEnumType.POWER_UP)
    first = p.station.call(v201.HeartbeatRequest())
    second = p.station.call(queued)  # queued behind the first: validated and encoded now, once
    assert codec.encoded.count("Call") == 2 and p.station.queued_calls == 1
    with pytest.raises(LocalProtocolError, match="chargingStation.model"):  # raises although it would only queue
        p.station.call(
            v201.BootNotificationRequest(
                charging_station=v201.ChargingStationType(model="M" * 30, vendor_name="V"),
                reason=v201.BootReasonEnumType.POWER_UP,
            )
        )
    assert p.station.queued_calls == 1
    station.model = "M" * 30  # changing the request afterwards does not reach the wire: what was validated is sent
    _, c_events = p.pump()
    p.csms.send_result(only(c_events, CallReceived).unique_id, v201.HeartbeatResponse(current_time=NOW))
    s_events, c_events = p.pump()
    assert only(s_events, ResultReceived).unique_id == first
    call = only(c_events, CallReceived)
    assert call.unique_id == second and call.request.charging_station.model == "M"
    assert codec.encoded.count("Call") == 2  # 2 calls, 2 encodes (the queued one is not encoded again)
    assert [json.loads(d)[0] for _, d in p.wire].count(2) == 2


def test_timeout_then_late_result_is_not_matched_to_the_next_call(Connection: Any) -> None:
    p = make_pair(Connection, "2.0.1", call_timeout=10)
    first = p.station.call(v201.HeartbeatRequest())
    second = p.station.call(v201.HeartbeatRequest())
    _, c_events = p.pump()  # the CSMS receives the first call and does not answer yet
    p.clock.advance(9.9)
    p.station.handle_timeout()
    assert not list(p.station.events())
    p.clock.advance(0.2)
    p.station.handle_timeout()
    timed_out = only(list(p.station.events()), CallTimedOut)
    assert timed_out.unique_id == first and p.station.slot == "AWAITING"  # the second call went out
    # Now the CSMS answers the first call, late.
    p.csms.send_result(first, v201.HeartbeatResponse(current_time=NOW))
    s_events, c_events = p.pump()
    assert only(s_events, LateResponse).unique_id == first
    assert not [e for e in s_events if isinstance(e, ResultReceived)]
    assert p.station.slot == "AWAITING"  # still waiting for the second call's own answer
    p.csms.send_result(only(c_events, CallReceived).unique_id, v201.HeartbeatResponse(current_time=NOW))
    s_events, _ = p.pump()
    assert only(s_events, ResultReceived).unique_id == second and p.station.slot == "IDLE"


def test_unknown_ids_are_reported_and_never_answered(Connection: Any) -> None:
    p = make_pair(Connection, "2.1")
    for frame in (
        b'[3,"nobody",{"currentTime":"2030-01-01T00:00:00Z"}]',
        b'[4,"nobody","GenericError","",{}]',
        b'[3,"nobody",{"bad":1}]',
    ):
        p.station.receive_data(frame)
        ev = list(p.station.events())
        assert isinstance(ev[0], UnmatchedResponse) and ev[0].unique_id == "nobody"
        assert p.station.data_to_send() == []
    # Also while a call is outstanding: a result for another id does not end it.
    uid = p.station.call(v21.HeartbeatRequest())
    p.station.data_to_send()
    p.station.receive_data(b'[3,"other",{"currentTime":"2030-01-01T00:00:00Z"}]')
    assert isinstance(next(p.station.events()), UnmatchedResponse) and p.station.slot == "AWAITING"
    p.station.receive_data(b'[3,"' + uid.encode() + b'",{"currentTime":"2030-01-01T00:00:00Z"}]')
    assert isinstance(next(p.station.events()), ResultReceived)


@pytest.mark.parametrize(
    "version,code", [("1.6", "ProtocolError"), ("2.0.1", "RpcFrameworkError"), ("2.1", "RpcFrameworkError")]
)
def test_duplicate_id_of_a_call_being_handled(Connection: Any, version: str, code: str) -> None:
    p = make_pair(Connection, version)
    frame = b'[2,"dup","Heartbeat",{}]'
    p.csms.receive_data(frame)
    p.csms.receive_data(frame)
    events = list(p.csms.events())
    assert isinstance(events[0], CallReceived) and isinstance(events[1], ProtocolViolation)
    assert json.loads(p.csms.data_to_send()[0])[:3] == [4, "dup", code]
    p.csms.send_result("dup", MODS[version].HeartbeatResponse(current_time=NOW))  # the first is still answerable
    with pytest.raises(LocalProtocolError, match="already answered"):
        p.csms.send_result("dup", MODS[version].HeartbeatResponse(current_time=NOW))
    with pytest.raises(LocalProtocolError, match="never received"):
        p.csms.send_error("never", ErrorCode.GENERIC_ERROR)


@pytest.mark.parametrize("version", VERSIONS)
def test_errors_in_both_directions(Connection: Any, version: str) -> None:
    m = MODS[version]
    p = make_pair(Connection, version)
    router = Router()

    @router.on(m.HeartbeatRequest)
    def boom(req: Any) -> Any:
        raise RuntimeError("secret traceback text")

    uid = p.station.call(m.HeartbeatRequest())
    _, c_events = p.pump()
    exc = router.dispatch(p.csms, only(c_events, CallReceived))
    assert isinstance(exc, RuntimeError)
    s_events, _ = p.pump()
    err = only(s_events, ErrorReceived)
    assert (err.unique_id, err.error_code, err.error_description) == (uid, "InternalError", "Internal error")
    assert b"secret" not in b"".join(d for _, d in p.wire)
    # A known action without handler: NotSupported; an unknown action: NotImplemented.
    p.station.call(
        m.AuthorizeRequest(id_tag="T")
        if version == "1.6"
        else m.AuthorizeRequest(id_token=m.IdTokenType(id_token="T", type="Central"))
    )
    _, c_events = p.pump()
    router.dispatch(p.csms, only(c_events, CallReceived))
    s_events, _ = p.pump()
    assert only(s_events, ErrorReceived).error_code == "NotSupported"
    p.csms.receive_data(b'[2,"x","NoSuchThing",{}]')
    assert isinstance(next(p.csms.events()), ProtocolViolation)
    assert json.loads(p.csms.data_to_send()[0])[:3] == [4, "x", "NotImplemented"]
    # The CSMS's call answered with an error by the station.
    c_uid = p.csms.call(m.ClearCacheRequest())
    s_events, _ = p.pump()
    p.station.send_error(only(s_events, CallReceived).unique_id, ErrorCode.FORMAT_VIOLATION, "no", {"a": 1})
    _, c_events = p.pump()
    err = only(c_events, ErrorReceived)
    assert err.unique_id == c_uid and err.error_details == {"a": 1}
    assert err.error_code == ("FormationViolation" if version == "1.6" else "FormatViolation")


def test_invalid_response_becomes_internal_error(Connection: Any) -> None:
    p = make_pair(Connection, "2.0.1")
    router = Router()
    router.add(v201.HeartbeatRequest, lambda r: v201.HeartbeatResponse(current_time=dt.datetime(2030, 1, 1)))  # naive
    p.station.call(v201.HeartbeatRequest())
    _, c_events = p.pump()
    exc = router.dispatch(p.csms, only(c_events, CallReceived))
    assert isinstance(exc, LocalProtocolError) and exc.details["path"] == "$.currentTime"
    s_events, _ = p.pump()
    assert only(s_events, ErrorReceived).error_code == "InternalError"
    with pytest.raises(LocalProtocolError):  # and the wrong response class is refused the same way
        p.csms.receive_data(b'[2,"h2","Heartbeat",{}]')
        p.csms.send_result("h2", v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED))
    assert json.loads(p.csms.data_to_send()[-1])[:3] == [4, "h2", "InternalError"]


def test_21_send_and_callresulterror(Connection: Any) -> None:
    p = make_pair(Connection, "2.1")
    uid = p.station.call(v21.HeartbeatRequest())
    sid = p.station.send(
        v21.NotifyPeriodicEventStreamRequest(
            id=1, pending=0, basetime=NOW, data=[v21.StreamDataElementType(t=0, v="230")]
        )
    )
    assert len(p.station.data_to_send.__self__._outbox) == 2  # type: ignore[attr-defined]  # SEND skips the queue
    _, c_events = p.pump()
    assert only(c_events, SendReceived).unique_id == sid
    call = only(c_events, CallReceived)
    assert call.unique_id == uid
    # The CSMS answers with an invalid result (forged on the wire): the station answers 5 and ends the call.
    p.station.receive_data(b'[3,"' + uid.encode() + b'",{"currentTime":"yesterday"}]')
    invalid = only(list(p.station.events()), ResultInvalid)
    assert invalid.unique_id == uid and invalid.error.details["rule"] == "format" and p.station.slot == "IDLE"
    reply = json.loads(p.station.data_to_send()[0])
    assert reply[:3] == [5, uid, "PropertyConstraintViolation"]
    p.csms.receive_data(json.dumps(reply).encode())
    assert only(list(p.csms.events()), ResultErrorReceived).error_code == "PropertyConstraintViolation"
    assert p.csms.data_to_send() == []  # never answered


def test_invalid_result_before_21_ends_the_call_silently(Connection: Any) -> None:
    p = make_pair(Connection, "2.0.1")
    uid = p.station.call(v201.HeartbeatRequest())
    p.station.data_to_send()
    p.station.receive_data(b'[3,"' + uid.encode() + b'",{}]')
    assert only(list(p.station.events()), ResultInvalid).error.details["rule"] == "required"
    assert p.station.data_to_send() == [] and p.station.slot == "IDLE"


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_boot_gating(Connection: Any, version: str) -> None:
    m = MODS[version]
    p = make_pair(Connection, version, boot_gating=True)
    p.station.call(m.HeartbeatRequest())
    s_events, c_events = p.pump()
    assert isinstance(c_events[0], ProtocolViolation) and c_events[0].error.code == "SecurityError"
    assert only(s_events, ErrorReceived).error_code == "SecurityError"
    # Pending: reports allowed, other calls still refused.
    p.station.call(boot_request(version))
    _, c_events = p.pump()
    p.csms.send_result(only(c_events, CallReceived).unique_id, boot_response(version, "Pending"))
    p.pump()
    assert p.csms.boot_state == "PENDING" == p.station.boot_state
    p.station.call(m.HeartbeatRequest())
    _, c_events = p.pump()
    assert isinstance(only(c_events, CallReceived).request, m.HeartbeatRequest)
    p.csms.send_result(c_events[0].unique_id, m.HeartbeatResponse(current_time=NOW))
    p.pump()
    p.station.call(
        m.AuthorizeRequest(id_tag="T")
        if version == "1.6"
        else m.AuthorizeRequest(id_token=m.IdTokenType(id_token="T", type="Central"))
    )
    _, c_events = p.pump()
    assert isinstance(c_events[0], ProtocolViolation) and c_events[0].error.code == "SecurityError"
    # Rejected: the CSMS may not initiate calls; the station refuses the CSMS's calls.
    p.station.call(boot_request(version))
    _, c_events = p.pump()
    p.csms.send_result(only(c_events, CallReceived).unique_id, boot_response(version, "Rejected"))
    p.pump()
    with pytest.raises(LocalProtocolError, match="rejected"):
        p.csms.call(m.ClearCacheRequest())
    p.station.receive_data(b'[2,"q","ClearCache",{}]')
    assert json.loads(p.station.data_to_send()[0])[:3] == [4, "q", "SecurityError"]


def test_booted_on_an_earlier_connection(Connection: Any) -> None:
    p = make_pair(Connection, "2.0.1", boot_gating=True, booted=True)
    p.station.call(v201.HeartbeatRequest())
    _, c_events = p.pump()
    assert isinstance(only(c_events, CallReceived).request, v201.HeartbeatRequest)


def test_bounds(Connection: Any) -> None:
    p = make_pair(Connection, "2.0.1", max_queued_calls=2, max_pending_received=2)
    for _ in range(3):
        p.station.call(v201.HeartbeatRequest())
    with pytest.raises(LocalProtocolError) as err:
        p.station.call(v201.HeartbeatRequest())
    assert err.value.details == {"rule": "maxQueuedCalls", "limit": 2}
    for i in range(3):
        p.csms.receive_data(b'[2,"f%d","Heartbeat",{}]' % i)
    assert json.loads(p.csms.data_to_send()[0])[:3] == [4, "f2", "GenericError"]
    assert p.csms.pending_received == 2


def test_bad_arguments_and_id_sources(Connection: Any) -> None:
    with pytest.raises(ValueError, match="role"):
        Connection("server", "2.0.1", clock=lambda: 0.0)
    with pytest.raises(ValueError, match="version"):
        Connection("csms", "3.0", clock=lambda: 0.0)
    with pytest.raises(TypeError, match="clock"):
        Connection("csms", "2.0.1", clock=None)
    with pytest.raises(ValueError, match="call_timeout"):
        Connection("csms", "2.0.1", clock=lambda: 0.0, call_timeout=0)
    c = Connection("csms", "2.0.1", clock=lambda: 0.0, ids=lambda: "x" * 37)
    with pytest.raises(LocalProtocolError, match="1 to 36"):
        c.call(v201.HeartbeatRequest())
    same = Connection("csms", "2.0.1", clock=lambda: 0.0, ids=lambda: "same")
    same.call(v201.HeartbeatRequest())
    with pytest.raises(LocalProtocolError, match="repeated"):
        same.call(v201.HeartbeatRequest())
    with pytest.raises(TypeError):
        same.call(v201.HeartbeatResponse(current_time=NOW))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="chargingStation.model"):
        Connection("csms", "2.0.1", clock=lambda: 0.0).call(
            v201.BootNotificationRequest(
                charging_station=v201.ChargingStationType(model="M" * 30, vendor_name="V"),
                reason=v201.BootReasonEnumType.POWER_UP,
            )
        )


def test_payload_classes_are_learnt_by_role_and_the_dict_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """``call`` and ``send_result`` read a payload class's action from a dict they fill: only
    classes of the right role get in, at most ``_MAX_CLASSES`` of them (the pure twin's dict is
    the one inspected; both twins run the same source)."""
    from ocppkit import _rpc_py

    monkeypatch.setattr(_rpc_py, "_REQUEST_ACTIONS", {})
    monkeypatch.setattr(_rpc_py, "_RESPONSE_ACTIONS", {})
    monkeypatch.setattr(_rpc_py, "_MAX_CLASSES", 2)
    p = make_pair(_rpc_py.Connection, "2.0.1")
    requests = [v201.HeartbeatRequest(), boot_request("2.0.1"), v201.ClearCacheRequest()]
    responses = [
        v201.HeartbeatResponse(current_time=NOW),
        boot_response("2.0.1"),
        v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED),
    ]
    for request, response in zip(requests * 2, responses * 2, strict=True):  # the third class is never kept
        uid = p.station.call(request)
        _, c_events = p.pump()
        p.csms.send_result(only(c_events, CallReceived).unique_id, response)
        s_events, _ = p.pump()
        assert only(s_events, ResultReceived).unique_id == uid and only(s_events, ResultReceived).response == response
    assert set(_rpc_py._REQUEST_ACTIONS) == {v201.HeartbeatRequest, v201.BootNotificationRequest}
    assert set(_rpc_py._RESPONSE_ACTIONS) == {v201.HeartbeatResponse, v201.BootNotificationResponse}
    with pytest.raises(TypeError, match="HeartbeatResponse"):  # a response is not learnt as a request
        p.station.call(v201.HeartbeatResponse(current_time=NOW))
    p.station.call(v201.ClearCacheRequest())
    _, c_events = p.pump()
    with pytest.raises(LocalProtocolError, match="ClearCacheResponse"):  # nor a request as a response
        p.csms.send_result(only(c_events, CallReceived).unique_id, v201.ClearCacheRequest())
    assert v201.ClearCacheRequest not in _rpc_py._RESPONSE_ACTIONS and len(_rpc_py._REQUEST_ACTIONS) == 2


def test_default_ids_are_a_random_prefix_and_a_counter(Connection: Any) -> None:
    """docs/rpc.md, "Message ids": 16 random hex digits per connection, a dash, a count."""
    import re

    first = Connection("station", "2.0.1", clock=lambda: 0.0)
    uids = [first.call(v201.HeartbeatRequest()) for _ in range(4)]  # the first goes out, three queue
    prefix = uids[0].rsplit("-", 1)[0]
    assert re.fullmatch(r"[0-9a-f]{16}", prefix), uids
    assert uids == [f"{prefix}-{n}" for n in range(1, 5)]
    assert [json.loads(d)[1] for d in first.data_to_send()] == uids[:1]
    others = {Connection("station", "2.0.1", clock=lambda: 0.0).call(v201.HeartbeatRequest()) for _ in range(50)}
    assert len({u.rsplit("-", 1)[0] for u in others} | {prefix}) == 51  # a prefix per connection
    # 2.1 SENDs draw from the same counter; the longest id still fits OCPP's 36 characters.
    sender = Connection("station", "2.1", clock=lambda: 0.0)
    sender.call(v21.HeartbeatRequest())
    sent = sender.send(
        v21.NotifyPeriodicEventStreamRequest(
            id=1, pending=0, basetime=NOW, data=[v21.StreamDataElementType(t=0, v="1")]
        )
    )
    assert sent.endswith("-2") and len(sent) == 18
    assert len(f"{prefix}-{2**63 - 1}") <= 36


def test_connection_is_sans_io() -> None:
    import subprocess
    import sys

    # Less what msgspec brings by itself: on Python 3.10 its `import uuid` pulls in platform -> subprocess -> selectors.
    code = (
        "import sys, msgspec; base = set(sys.modules); import ocppkit; ocppkit.Connection; "
        "print(sorted({'asyncio','socket','ssl','selectors','websockets'} & (set(sys.modules) - base)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    from ocppkit import _rpc_py, states

    for module in (_rpc_py, states):
        with open(module.__file__ or "") as f:
            assert "import time" not in f.read()


def test_rpc_extension_is_in_use() -> None:
    import os

    from ocppkit import rpc

    if os.environ.get("OCPPKIT_NO_EXTENSIONS", "") not in ("", "0"):
        assert rpc.IMPLEMENTATION == "py" and ocppkit.Connection is rpc.PyConnection
    else:
        assert rpc.IMPLEMENTATION == "c", "ocppkit._rpc_c is not built or not in use"
        assert ocppkit.Connection.__module__ == "ocppkit._rpc_c"


def test_state_diagram_in_docs_is_generated_from_the_tables() -> None:
    from pathlib import Path

    from docs.make_state_diagram import render

    text = (Path(__file__).resolve().parent.parent / "docs" / "rpc.md").read_text()
    assert render() in text, "run: python docs/make_state_diagram.py"
