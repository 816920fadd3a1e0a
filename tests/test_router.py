"""The Router, both twins (ocppkit/_router_py.py and its compiled copy ocppkit._router_c):
one OCPP version per router, registration rules, dispatch through a real connection."""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import inspect
import os
from typing import Any

import pytest

import ocppkit
from ocppkit import CallReceived, ErrorCode, ResultReceived, v16, v21, v201
from ocppkit._router_py import Router as PyRouter
from tests.helpers import Pair

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
_EXT = os.environ.get("OCPPKIT_NO_EXTENSIONS", "") in ("", "0") and importlib.util.find_spec("ocppkit._router_c")
TWINS = [pytest.param(PyRouter, id="py")]
if _EXT:
    from ocppkit._router_c import Router as CRouter

    TWINS.append(pytest.param(CRouter, id="c"))


@pytest.fixture(params=TWINS)
def Router(request: pytest.FixtureRequest) -> Any:
    return request.param


def _hb16(req: Any) -> v16.HeartbeatResponse:
    return v16.HeartbeatResponse(current_time=NOW)


def _hb201(req: Any) -> v201.HeartbeatResponse:
    return v201.HeartbeatResponse(current_time=NOW)


def test_the_compiled_twin_is_in_use() -> None:
    if _EXT:
        assert ocppkit.Router is CRouter and ocppkit.Router is not PyRouter
    else:
        assert ocppkit.Router is PyRouter


def test_version_given_up_front(Router: Any) -> None:
    router = Router("2.0.1")
    assert router.version == "2.0.1"
    with pytest.raises(TypeError) as info:
        router.add(v16.HeartbeatRequest, _hb16)
    message = str(info.value)
    assert "HeartbeatRequest" in message and "1.6" in message and "2.0.1" in message
    assert v16.HeartbeatRequest not in router and router.version == "2.0.1"
    router.add(v201.HeartbeatRequest, _hb201)
    assert router.handler_for(v201.HeartbeatRequest()) is _hb201


def test_version_taken_from_the_first_handler(Router: Any) -> None:
    router = Router()
    assert router.version is None
    router.add(v16.HeartbeatRequest, _hb16)
    assert router.version == "1.6"
    with pytest.raises(TypeError, match=r"HeartbeatRequest is an OCPP 2\.0\.1 class; this router serves OCPP 1\.6"):
        router.add(v201.HeartbeatRequest, _hb201)
    with pytest.raises(TypeError, match=r"AuthorizeRequest is an OCPP 2\.1 class; this router serves OCPP 1\.6"):

        @router.on(v21.AuthorizeRequest)
        def authorize(req: v21.AuthorizeRequest) -> v21.AuthorizeResponse:
            raise NotImplementedError

    assert v201.HeartbeatRequest not in router and v21.AuthorizeRequest not in router
    assert router.handler_for(v201.HeartbeatRequest()) is None


def test_a_refused_registration_fixes_no_version(Router: Any) -> None:
    router = Router()
    with pytest.raises(TypeError, match="handler: expected a callable"):
        router.add(v16.HeartbeatRequest, 42)
    with pytest.raises(TypeError, match="expected a generated <Action>Request class"):
        router.add(v16.HeartbeatResponse, _hb16)
    assert router.version is None
    router.add(v201.HeartbeatRequest, _hb201)
    assert router.version == "2.0.1"


@pytest.mark.parametrize("version", ["2.0", "ocpp2.0.1", 201, ""])
def test_unknown_version(Router: Any, version: Any) -> None:
    with pytest.raises(ValueError, match=r"version: expected one of 1\.6, 2\.0\.1, 2\.1 or None"):
        Router(version)


def test_version_is_read_only(Router: Any) -> None:
    router = Router("2.1")
    with pytest.raises(AttributeError):
        router.version = "1.6"
    assert router.version == "2.1"


def test_one_handler_per_class(Router: Any) -> None:
    router = Router("2.0.1")
    router.add(v201.HeartbeatRequest, _hb201)
    with pytest.raises(ValueError, match="HeartbeatRequest already has a handler"):
        router.add(v201.HeartbeatRequest, _hb201)


def test_on_returns_the_handler_itself(Router: Any) -> None:
    router = Router("2.0.1")

    def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
        return _hb201(req)

    async def authorize(req: v201.AuthorizeRequest) -> v201.AuthorizeResponse:
        raise NotImplementedError

    assert router.on(v201.HeartbeatRequest)(heartbeat) is heartbeat
    assert router.on(v201.AuthorizeRequest)(authorize) is authorize
    assert router.handler_for(v201.AuthorizeRequest(id_token=_token())) is authorize
    assert "2.0.1" in repr(router) and "2 handlers" in repr(router)


def _token() -> v201.IdTokenType:
    return v201.IdTokenType(id_token="04A2B3C4", type=v201.IdTokenEnumType.ISO14443)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_dispatch_answers_over_a_connection(Router: Any, version: str) -> None:
    m = {"1.6": v16, "2.0.1": v201}[version]
    router = Router(version)
    router.add(m.HeartbeatRequest, lambda req: m.HeartbeatResponse(current_time=NOW))
    p = Pair(version)
    hb = p.station.call(m.HeartbeatRequest())
    _, csms_events = p.pump()
    (call,) = [e for e in csms_events if isinstance(e, CallReceived)]
    assert router.dispatch(p.csms, call) is None
    station_events, _ = p.pump()
    (result,) = [e for e in station_events if isinstance(e, ResultReceived)]
    assert result.unique_id == hb and result.response == m.HeartbeatResponse(current_time=NOW)

    # A known action without a handler: NotSupported.
    status = p.station.call(m.DataTransferRequest(vendor_id="com.example"))
    _, csms_events = p.pump()
    (call,) = [e for e in csms_events if isinstance(e, CallReceived)]
    assert router.dispatch(p.csms, call) is None
    station_events, _ = p.pump()
    (error,) = [e for e in station_events if isinstance(e, ocppkit.ErrorReceived)]
    assert error.unique_id == status and ocppkit.parse_error_code(error.error_code) is ErrorCode.NOT_SUPPORTED


# ----------------------------------------------------------------------- the answering policy


@pytest.fixture(params=TWINS)
def twin(request: pytest.FixtureRequest) -> Any:
    """The module of a twin: its Router, answer and NO_HANDLER."""
    return importlib.import_module(request.param.__module__)


def _received(p: Pair, request: Any) -> CallReceived:
    p.station.call(request)
    _, csms_events = p.pump()
    (call,) = [e for e in csms_events if isinstance(e, CallReceived)]
    return call


def _error(p: Pair) -> ocppkit.ErrorReceived:
    station_events, _ = p.pump()
    (error,) = [e for e in station_events if isinstance(e, ocppkit.ErrorReceived)]
    return error


def test_dispatch_answers_internal_error_for_a_failing_handler(twin: Any) -> None:
    boom = RuntimeError("a secret the peer must not see")

    def fails(req: Any) -> Any:
        raise boom

    router = twin.Router("2.0.1")
    router.add(v201.HeartbeatRequest, fails)
    p = Pair("2.0.1")
    assert router.dispatch(p.csms, _received(p, v201.HeartbeatRequest())) is boom
    error = _error(p)
    assert (error.error_code, error.error_description, error.error_details) == ("InternalError", "Internal error", {})
    assert not any(b"secret" in data for _, data in p.wire)


def test_dispatch_answers_internal_error_for_an_invalid_response(twin: Any) -> None:
    router = twin.Router("2.0.1")
    router.add(
        v201.HeartbeatRequest, lambda req: v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED)
    )
    broken = v201.IdTokenInfoType(status="No")  # type: ignore[arg-type]  # not in the enumeration
    router.add(v201.AuthorizeRequest, lambda req: v201.AuthorizeResponse(id_token_info=broken))
    p = Pair("2.0.1")
    wrong = router.dispatch(p.csms, _received(p, v201.HeartbeatRequest()))
    assert isinstance(wrong, ocppkit.LocalProtocolError) and "HeartbeatResponse" in wrong.description
    assert _error(p).error_code == "InternalError"
    invalid = router.dispatch(p.csms, _received(p, v201.AuthorizeRequest(id_token=_token())))
    assert isinstance(invalid, ocppkit.LocalProtocolError)
    assert invalid.details == {"path": "$.idTokenInfo.status", "rule": "enum"}
    assert _error(p).error_code == "InternalError"


def test_dispatch_refuses_an_async_handler_and_closes_its_coroutine(twin: Any) -> None:
    made: list[Any] = []

    async def handler(req: Any) -> v201.HeartbeatResponse:
        return v201.HeartbeatResponse(current_time=NOW)

    def run(req: Any) -> Any:
        made.append(handler(req))
        return made[-1]

    router = twin.Router("2.0.1")
    router.add(v201.HeartbeatRequest, run)
    p = Pair("2.0.1")
    refused = router.dispatch(p.csms, _received(p, v201.HeartbeatRequest()))
    assert isinstance(refused, TypeError) and "asyncio adapter" in str(refused)
    assert inspect.getcoroutinestate(made[0]) == inspect.CORO_CLOSED  # never "never awaited"
    assert _error(p).error_code == "InternalError"


def test_answer_is_the_one_policy(twin: Any) -> None:
    p = Pair("2.0.1")
    response = v201.HeartbeatResponse(current_time=NOW)
    assert twin.answer(p.csms, _received(p, v201.HeartbeatRequest()), response) is None
    station_events, _ = p.pump()
    assert [e.response for e in station_events if isinstance(e, ResultReceived)] == [response]
    assert twin.answer(p.csms, _received(p, v201.HeartbeatRequest()), twin.NO_HANDLER) is None
    assert ocppkit.parse_error_code(_error(p).error_code) is ErrorCode.NOT_SUPPORTED
    boom = KeyError("x")
    assert twin.answer(p.csms, _received(p, v201.HeartbeatRequest()), boom) is boom
    assert _error(p).error_description == "Internal error"
    assert repr(twin.NO_HANDLER) == "NO_HANDLER"


def test_the_facade_takes_answer_and_no_handler_from_the_router_twin() -> None:
    from ocppkit import router as facade

    twin = importlib.import_module(facade.Router.__module__)
    assert facade.answer is twin.answer and facade.NO_HANDLER is twin.NO_HANDLER


@pytest.mark.parametrize(
    ("version", "request_", "spelt"),
    [
        ("1.6", v16.HeartbeatRequest(), "OccurenceConstraintViolation"),  # 1.6 keeps its misspelling
        ("2.0.1", v201.HeartbeatRequest(), "OccurrenceConstraintViolation"),
    ],
)
def test_a_handler_chooses_its_callerror_with_call_error_reply(
    twin: Any, version: str, request_: Any, spelt: str
) -> None:
    def refuses(req: Any) -> Any:
        raise ocppkit.CallErrorReply(ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION, "Too many items", {"limit": 3})

    router = twin.Router(version)
    router.add(type(request_), refuses)
    p = Pair(version)
    assert router.dispatch(p.csms, _received(p, request_)) is None  # answered as asked: nothing to report
    error = _error(p)
    assert (error.error_code, error.error_description, error.error_details) == (spelt, "Too many items", {"limit": 3})
