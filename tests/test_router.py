"""The Router, both twins (ocppkit/_router_py.py and its compiled copy ocppkit._router_c):
one OCPP version per router, registration rules, dispatch through a real connection."""

from __future__ import annotations

import datetime as dt
import importlib.util
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
