"""The adapters' shared parts, checked over real loopback WebSockets (and over an in-memory
transport for the transport-neutral seam): one answering policy for plain and coroutine
handlers, one SessionOptions record for both roles, open_session, the transport boundary that
turns websockets' exceptions into ConnectionError, and the adapter errors in the OcppError
hierarchy."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from typing import Any

import pytest
from websockets.asyncio.client import connect

import ocppkit
from ocppkit import CallErrorResponse, CallTimeout, ErrorCode, v201
from ocppkit.adapters.asyncio import Session, SessionOptions, current_session, open_session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import SUBPROTOCOLS, ChargingStation, CSMSServer
from tests.adapters.aio import run, until

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


class Boom(Exception):
    pass


def policy_router() -> ocppkit.Router:
    """A CSMS router whose handlers fail in every way the answering policy covers."""
    router = ocppkit.Router("2.0.1")

    @router.on(v201.HeartbeatRequest)
    def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
        assert current_session().identity == "P1"
        raise Boom("secret detail of the plain handler")

    @router.on(v201.StatusNotificationRequest)
    async def status(req: v201.StatusNotificationRequest) -> v201.StatusNotificationResponse:
        assert current_session().identity == "P1"
        await asyncio.sleep(0)
        raise Boom("secret detail of the coroutine handler")

    @router.on(v201.AuthorizeRequest)
    def authorize(req: v201.AuthorizeRequest) -> v201.AuthorizeResponse:
        return v201.AuthorizeResponse(id_token_info=v201.IdTokenInfoType(status="Nope"))  # type: ignore[arg-type]

    @router.on(v201.MeterValuesRequest)
    async def meter_values(req: v201.MeterValuesRequest) -> v201.MeterValuesResponse:
        await asyncio.sleep(0)
        return v201.HeartbeatResponse(current_time=NOW)  # type: ignore[return-value]

    async def inner() -> v201.FirmwareStatusNotificationResponse:
        return v201.FirmwareStatusNotificationResponse()

    async def nested(req: v201.FirmwareStatusNotificationRequest) -> Any:
        return inner()  # an awaitable where the response was due

    router.add(v201.FirmwareStatusNotificationRequest, nested)
    return router


def test_plain_and_coroutine_handlers_are_answered_by_the_same_policy(caplog: pytest.LogCaptureFixture) -> None:
    frames: list[tuple[str, str, bytes]] = []

    async def scenario() -> None:
        csms = CSMSServer(policy_router(), on_frame=lambda *f: frames.append(f))
        await csms.start("127.0.0.1", 0)
        try:
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/P1", versions=["2.0.1"]) as st:
                calls = {
                    "Heartbeat": v201.HeartbeatRequest(),
                    "StatusNotification": v201.StatusNotificationRequest(
                        timestamp=NOW,
                        connector_status=v201.ConnectorStatusEnumType.AVAILABLE,
                        evse_id=1,
                        connector_id=1,
                    ),
                    "Authorize": v201.AuthorizeRequest(
                        id_token=v201.IdTokenType(id_token="X", type=v201.IdTokenEnumType.ISO14443)
                    ),
                    "MeterValues": v201.MeterValuesRequest(
                        evse_id=1,
                        meter_value=[
                            v201.MeterValueType(timestamp=NOW, sampled_value=[v201.SampledValueType(value=1.0)])
                        ],
                    ),
                    "FirmwareStatusNotification": v201.FirmwareStatusNotificationRequest(
                        status=v201.FirmwareStatusEnumType.INSTALLED
                    ),
                    "DataTransfer": v201.DataTransferRequest(vendor_id="com.example"),  # no handler
                }
                answers: dict[str, tuple[ErrorCode, str]] = {}
                for action, request in calls.items():
                    with pytest.raises(CallErrorResponse) as caught:
                        await st.call(request)
                    answers[action] = (caught.value.error_code, caught.value.description)
                internal = (ErrorCode.INTERNAL_ERROR, "Internal error")
                assert answers == {
                    "Heartbeat": internal,
                    "StatusNotification": internal,
                    "Authorize": internal,
                    "MeterValues": internal,
                    "FirmwareStatusNotification": internal,
                    "DataTransfer": (ErrorCode.NOT_SUPPORTED, "DataTransfer is not supported here"),
                }
                # The session goes on.
                assert st.session is not None and not st.session.closed.is_set()
        finally:
            await csms.close()

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        run(scenario())
    sent = b"".join(data for _, direction, data in frames if direction == "out")
    assert b"secret detail" not in sent and b"Traceback" not in sent and b"Boom" not in sent
    failed = {r.getMessage(): r for r in caplog.records if "failed" in r.getMessage()}
    plain, coro = failed["P1: the handler of Heartbeat failed"], failed["P1: the handler of StatusNotification failed"]
    assert plain.exc_info is not None and isinstance(plain.exc_info[1], Boom)  # logged with its traceback
    assert coro.exc_info is not None and "coroutine handler" in str(coro.exc_info[1])
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("P1: invalid response to Authorize:") and "idTokenInfo.status" in m for m in messages)
    assert any(m.startswith("P1: invalid response to MeterValues:") and "MeterValuesResponse" in m for m in messages)
    assert any("returned an awaitable" in m and "FirmwareStatusNotification" in m for m in messages)


def test_the_identity_is_escaped_in_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        router = ocppkit.Router("2.0.1")

        @router.on(v201.HeartbeatRequest)
        def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            raise Boom("x")

        # the default identity rules refuse this identity; accept it to check the session's log
        async with CSMSServer(router, identity_rule=lambda identity, offered: True) as csms:
            await csms.start("127.0.0.1", 0)
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/EVIL%1B%5B31m%0A", versions=["2.0.1"]) as st:
                with pytest.raises(CallErrorResponse):
                    await st.call(v201.HeartbeatRequest())

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        run(scenario())
    (line,) = [r.getMessage() for r in caplog.records if "Heartbeat" in r.getMessage()]
    assert line == "EVIL\\x1b[31m\\x0a: the handler of Heartbeat failed"


# ----------------------------------------------------------------------- SessionOptions


def test_session_options_are_checked_when_made() -> None:
    assert SessionOptions() == SessionOptions(call_timeout=30.0, ping_interval=20.0, compression="deflate")
    cases: list[tuple[str, Any, str]] = [
        ("call_timeout", 0, "call_timeout: expected seconds > 0"),
        ("call_timeout", "30", "call_timeout: expected seconds > 0"),
        ("max_frame_size", 0, "max_frame_size: expected an int >= 1"),
        ("max_bad_messages", 1.5, "max_bad_messages: expected an int >= 1"),
        ("max_queued_calls", True, "max_queued_calls: expected an int >= 1"),
        ("compression", "gzip", "compression: expected 'deflate' or None"),
        ("ping_interval", -1, "ping_interval: expected seconds >= 0 or None"),
    ]
    for field, value, rule in cases:
        with pytest.raises(ValueError, match=rule):
            SessionOptions(**{field: value})
    with pytest.raises(TypeError, match="policy: expected an ocppkit.Policy"):
        SessionOptions(policy="lenient")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_frame: expected a callable"):
        SessionOptions(on_frame="print")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="boot_gating: expected True or False"):
        SessionOptions(boot_gating=1)  # type: ignore[arg-type]
    # Through the keyword parameters too, at construction rather than at the first connection.
    with pytest.raises(ValueError, match="compression: expected 'deflate' or None"):
        CSMSServer(csms_router("2.0.1"), compression="gzip")
    with pytest.raises(ValueError, match="call_timeout"):
        ChargingStation("ws://127.0.0.1:1/CS", call_timeout=-1)
    with pytest.raises(TypeError, match="options: expected an ocppkit.adapters.asyncio.SessionOptions"):
        CSMSServer(csms_router("2.0.1"), options={"call_timeout": 1})  # type: ignore[arg-type]
    base = SessionOptions(call_timeout=5)
    assert base.replace(max_bad_messages=3) == SessionOptions(call_timeout=5, max_bad_messages=3)
    with pytest.raises(ValueError, match="max_bad_messages"):
        base.replace(max_bad_messages=0)


def test_keyword_parameters_fill_the_options_and_win_over_them() -> None:
    base = SessionOptions(call_timeout=5.0, max_bad_messages=7, compression=None)
    csms = CSMSServer(csms_router("2.0.1"), options=base, max_bad_messages=3)
    assert csms.options == SessionOptions(call_timeout=5.0, max_bad_messages=3, compression=None)
    assert (csms.call_timeout, csms.max_bad_messages, csms.compression, csms.ping_interval) == (5.0, 3, None, 20.0)
    assert CSMSServer(csms_router("2.0.1"), options=base).options is base
    assert CSMSServer(csms_router("2.0.1")).options == SessionOptions()
    station = ChargingStation("ws://127.0.0.1:1/CS", ping_interval=None, options=SessionOptions(boot_gating=True))
    assert station.options == SessionOptions(ping_interval=None, boot_gating=True)
    # The attributes write the options (checked), for the next connections.
    csms.call_timeout = 0.5
    assert csms.options.call_timeout == 0.5 and csms.options.max_bad_messages == 3
    with pytest.raises(ValueError, match="call_timeout"):
        csms.call_timeout = 0


def test_the_options_reach_every_session_of_both_roles() -> None:
    seen: dict[str, list[str]] = {"csms": [], "station": []}

    def frames_of(side: str) -> Any:
        return lambda identity, direction, data: seen[side].append(f"{identity} {direction} {data[:2].decode()}")

    async def scenario() -> None:
        csms_options = SessionOptions(max_bad_messages=2, call_timeout=0.3, on_frame=frames_of("csms"))
        async with CSMSServer(csms_router("2.0.1"), options=csms_options) as csms:
            await csms.start("127.0.0.1", 0)
            station_options = SessionOptions(on_frame=frames_of("station"), compression=None, ping_interval=0)
            router = ocppkit.Router("2.0.1")

            @router.on(v201.ClearCacheRequest)
            async def never(req: v201.ClearCacheRequest) -> v201.ClearCacheResponse:
                await asyncio.sleep(5)  # longer than the CSMS's call timeout
                return v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED)

            url = f"ws://127.0.0.1:{csms.port}/O1"
            async with ChargingStation(url, router, versions=["2.0.1"], options=station_options) as st:
                await st.call(v201.HeartbeatRequest())
                ws = st.session.transport.ws  # type: ignore[union-attr]
                assert ws.response.headers.get("Sec-WebSocket-Extensions") is None  # compression=None
                assert ws.ping_interval is None  # 0 disables pings
                with pytest.raises(CallTimeout) as late:  # the CSMS's call_timeout from its options
                    await csms.sessions["O1"].call(v201.ClearCacheRequest())
                assert late.value.unique_id is not None and late.value.details["action"] == "ClearCache"
            # max_bad_messages=2 from the options: the second invalid message closes with 1008.
            async with connect(f"ws://127.0.0.1:{csms.port}/O2", subprotocols=[SUBPROTOCOLS["2.0.1"]]) as raw:  # type: ignore[list-item]
                await until(lambda: "O2" in csms.sessions)
                session = csms.sessions["O2"]
                for _ in range(2):
                    await raw.send("not json")
                await session.closed.wait()
                assert session.close_reason == "too many invalid messages (2)"

    run(scenario())
    assert seen["station"][:2] == ["O1 out [2", "O1 in [3"]  # the Heartbeat and its answer
    assert seen["csms"][:2] == ["O1 in [2", "O1 out [3"]
    assert not any(s.startswith("O2") for s in seen["station"]) and seen["csms"].count("O2 in no") == 2


# ----------------------------------------------------------------------- transports


class MemoryTransport:
    """One end of an in-memory message pipe: what a transport adapter provides, no sockets."""

    def __init__(self, inbox: asyncio.Queue[bytes | None], outbox: asyncio.Queue[bytes | None]) -> None:
        self.inbox, self.outbox = inbox, outbox
        self.closed: tuple[int, str] | None = None

    async def send(self, data: bytes) -> None:
        if self.closed is not None:
            raise ConnectionError("closed")
        await self.outbox.put(data)

    async def recv(self) -> bytes | str:
        data = await self.inbox.get()
        if data is None:
            raise ConnectionError("the peer closed")
        return data

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed is None:
            self.closed = (code, reason)
            await self.outbox.put(None)
            await self.inbox.put(None)

    def abort(self) -> None:
        if self.closed is None:
            self.closed = (1006, "aborted")
            self.outbox.put_nowait(None)
            self.inbox.put_nowait(None)


def test_open_session_runs_ocpp_over_any_transport() -> None:
    async def scenario() -> None:
        a: asyncio.Queue[bytes | None] = asyncio.Queue()
        b: asyncio.Queue[bytes | None] = asyncio.Queue()
        events: list[str] = []
        options = SessionOptions(on_event=lambda session, event: events.append(type(event).__name__))
        csms = open_session(
            MemoryTransport(a, b), "csms", "2.0.1", csms_router("2.0.1"), identity="M1", options=options
        )
        station = open_session(MemoryTransport(b, a), "station", "2.0.1", identity="M1")
        assert isinstance(csms, Session) and (csms.connection.role, station.connection.role) == ("csms", "station")
        csms.start()
        station.start()
        response = await station.call(v201.HeartbeatRequest())
        assert isinstance(response, v201.HeartbeatResponse)
        with pytest.raises(CallErrorResponse) as refused:  # the station has no router: NotSupported
            await csms.call(v201.ClearCacheRequest())
        assert refused.value.error_code is ErrorCode.NOT_SUPPORTED
        await station.close(timeout=1)
        await csms.closed.wait()
        assert csms.close_reason == "the peer closed"  # the transport's ConnectionError ends the session
        with pytest.raises(ConnectionError):
            await csms.call(v201.ClearCacheRequest())
        assert events == ["CallReceived", "ErrorReceived"]  # the Heartbeat; the answer to ClearCache

    run(scenario())


def test_the_websockets_transport_raises_connection_error_on_close() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1")) as csms:
            await csms.start("127.0.0.1", 0)
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/T1", versions=["2.0.1"]) as st:
                await until(lambda: "T1" in csms.sessions)
                server_side = csms.sessions["T1"]
                station_side = st.session
                assert station_side is not None
                await server_side.transport.close(1000, "maintenance")
                await station_side.closed.wait()
                assert "maintenance" in station_side.close_reason
                with pytest.raises(ConnectionError) as on_recv:
                    await station_side.transport.recv()
                with pytest.raises(ConnectionError) as on_send:
                    await station_side.transport.send(b'[2,"1","Heartbeat",{}]')
                for caught in (on_recv, on_send):  # websockets' exception stays behind, as the cause
                    assert type(caught.value) is ConnectionError and "maintenance" in str(caught.value)
                    assert type(caught.value.__cause__).__module__.startswith("websockets")

    run(scenario())


# ----------------------------------------------------------------------- errors


def test_the_adapter_errors_are_ocpp_errors() -> None:
    from ocppkit.adapters import asyncio as adapter

    assert adapter.CallTimeout is CallTimeout and adapter.CallErrorResponse is CallErrorResponse
    timeout = CallTimeout("Heartbeat", "abc-1", version="1.6")
    assert isinstance(timeout, ocppkit.OcppError) and isinstance(timeout, TimeoutError)
    assert (timeout.error_code, timeout.code, timeout.unique_id, timeout.action) == (
        ErrorCode.GENERIC_ERROR,
        "GenericError",
        "abc-1",
        "Heartbeat",
    )
    assert timeout.details == {"rule": "callTimeout", "action": "Heartbeat"}
    assert "Heartbeat" in str(timeout) and timeout.errno is None
    if sys.version_info >= (3, 11):  # asyncio.TimeoutError is the builtin from 3.11 on
        with pytest.raises(asyncio.TimeoutError):
            raise timeout
    error = CallErrorResponse("FormationViolation", "bad", {}, version="1.6", unique_id="u")
    assert isinstance(error, ocppkit.RemoteProtocolError)
    assert (error.code, error.error_code) == ("FormationViolation", ErrorCode.FORMAT_VIOLATION)
    unknown = CallErrorResponse("Whatever", "", {}, version="2.0.1", unique_id="u")
    assert (unknown.code, unknown.error_code) == ("Whatever", ErrorCode.GENERIC_ERROR)
