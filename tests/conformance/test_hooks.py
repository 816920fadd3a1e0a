"""Every transport: the server hooks (``on_event`` before the session acts, the way to SENDs;
``on_frame`` on every WebSocket message both ways; a raising hook logged and never ending a
connection), boot gating, and permessage-deflate negotiation; over real loopback sockets."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

import ocppkit
from ocppkit import v21, v201
from ocppkit.adapters.asyncio import CallErrorResponse, Session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation
from tests.adapters.aio import until

from .conftest import Harness
from .peers import NOW, boot201, call, open_raw


def failing(*args: Any) -> None:
    raise RuntimeError("bug in the hook")


async def heartbeats(url: str, identity: str, count: int = 3) -> None:
    """Heartbeats on one connection, each answered with its CALLRESULT; the connection stays up."""
    ws = await open_raw(f"{url}/{identity}")
    for i in range(count):
        answer = await call(ws, f'[2,"h{i}","Heartbeat",{{}}]')
        assert answer[:2] == [3, f"h{i}"] and "currentTime" in answer[2]
    assert ws.close_code is None
    await ws.close()


def test_on_event_sees_every_event_before_the_session_acts_and_is_the_way_to_sends(transport: Harness) -> None:
    async def scenario() -> None:
        seen: list[str] = []
        router = ocppkit.Router()

        @router.on(v21.HeartbeatRequest)
        def heartbeat(req: v21.HeartbeatRequest) -> v21.HeartbeatResponse:
            seen.append("handler")
            return v21.HeartbeatResponse(current_time=NOW)

        def on_event(session: Session, event: Any) -> None:
            seen.append(f"{session.identity} {type(event).__name__}")

        async with transport.serve(router, versions=("2.1",), on_event=on_event) as (_, url):
            async with ChargingStation(f"{url}/E1", versions=["2.1"]) as st:
                await st.call(v21.HeartbeatRequest())
                await st.send(
                    v21.NotifyPeriodicEventStreamRequest(
                        id=1, pending=0, basetime=NOW, data=[v21.StreamDataElementType(t=0, v="230.1")]
                    )
                )
                await until(lambda: "E1 SendReceived" in seen)  # a SEND reaches the application only here
        assert seen[:2] == ["E1 CallReceived", "handler"]

    transport.run(scenario())


def test_on_frame_sees_every_message_before_decoding_and_before_sending(transport: Harness) -> None:
    async def scenario() -> None:
        frames: list[tuple[str, str, bytes]] = []
        kwargs: dict[str, Any] = {"versions": ("2.0.1",), "on_frame": lambda *frame: frames.append(frame)}
        async with transport.serve(csms_router("2.0.1"), **kwargs) as (_, url):
            ws = await open_raw(f"{url}/F1")
            await ws.send("not json at all")
            reply = await asyncio.wait_for(ws.recv(), 5)
            await ws.close()
        assert frames[0] == ("F1", "in", b"not json at all")
        assert frames[1][:2] == ("F1", "out") and frames[1][2].decode() == reply
        assert json.loads(reply)[:3] == [4, "-1", "RpcFrameworkError"]

    transport.run(scenario())


@pytest.mark.parametrize("hook", ["on_connect", "on_event", "on_frame"])
def test_a_raising_hook_leaves_the_connection_up_and_the_call_answered(
    transport: Harness, hook: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), **{hook: failing}) as (_, url):
            await heartbeats(url, "CS-1")

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        transport.run(scenario())
    failed = [r for r in caplog.records if f"the {hook} hook failed" in r.getMessage()]
    assert failed and all(r.getMessage().startswith("CS-1: ") for r in failed)
    assert all(r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError) for r in failed)
    if hook == "on_frame":  # in and out, every message
        assert {"(in)", "(out)"} <= {r.getMessage().rsplit(" ", 1)[1] for r in failed}


def test_a_raising_async_on_connect_and_on_disconnect_are_logged_and_the_server_serves_on(
    transport: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ended: list[str] = []

    async def on_connect(session: Session) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("bug in on_connect")

    def on_disconnect(session: Session) -> None:
        ended.append(session.identity)
        raise RuntimeError("bug in on_disconnect")

    async def scenario() -> None:
        hooks = {"on_connect": on_connect, "on_disconnect": on_disconnect}
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), **hooks) as (_, url):
            await heartbeats(url, "A")
            await until(lambda: ended == ["A"])
            await heartbeats(url, "B")  # the next station is served as before
            await until(lambda: ended == ["A", "B"])

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        transport.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    for who in ("A", "B"):
        assert f"{who}: the on_connect hook failed" in messages
        assert f"{who}: the on_disconnect hook failed" in messages


def test_a_raising_on_frame_before_decoding_still_gets_a_malformed_frame_answered(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), on_frame=failing) as (_, url):
            ws = await open_raw(f"{url}/CS-2")
            answer = await call(ws, "not json")
            assert answer[0] == 4 and answer[2] == "RpcFrameworkError"
            assert (await call(ws, '[2,"h","Heartbeat",{}]'))[:2] == [3, "h"]
            await ws.close()

    transport.run(scenario())


def test_boot_gating_through_the_server(transport: Harness) -> None:
    async def scenario() -> None:
        statuses = iter(["Pending", "Rejected"])
        router = ocppkit.Router()

        @router.on(v201.BootNotificationRequest)
        def on_boot(req: v201.BootNotificationRequest) -> v201.BootNotificationResponse:
            return v201.BootNotificationResponse(
                current_time=NOW, interval=1, status=v201.RegistrationStatusEnumType(next(statuses))
            )

        @router.on(v201.HeartbeatRequest)
        def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            return v201.HeartbeatResponse(current_time=NOW)

        @router.on(v201.AuthorizeRequest)
        def authorize(req: v201.AuthorizeRequest) -> v201.AuthorizeResponse:
            return v201.AuthorizeResponse(
                id_token_info=v201.IdTokenInfoType(status=v201.AuthorizationStatusEnumType.ACCEPTED)
            )

        token = v201.IdTokenType(id_token="T1", type=v201.IdTokenEnumType.ISO14443)
        async with transport.serve(router, versions=("2.0.1",), boot_gating=True) as (csms, url):
            async with ChargingStation(f"{url}/G1", versions=["2.0.1"]) as st:
                with pytest.raises(CallErrorResponse) as refused:  # before any boot
                    await st.call(v201.AuthorizeRequest(id_token=token))
                assert refused.value.code == "SecurityError"
                assert (await st.call(boot201())).status == "Pending"
                await st.call(v201.HeartbeatRequest())  # allowed while Pending
                with pytest.raises(CallErrorResponse):  # not allowed while Pending
                    await st.call(v201.AuthorizeRequest(id_token=token))
                assert (await st.call(boot201())).status == "Rejected"
                with pytest.raises(ocppkit.LocalProtocolError) as local:  # the CSMS may not call it now
                    await csms.sessions["G1"].call(v201.ClearCacheRequest())
                assert local.value.code == "SecurityError"

    transport.run(scenario())


@pytest.mark.parametrize(
    ("server", "station", "negotiated"),
    [("deflate", "deflate", True), (None, "deflate", False), ("deflate", None, False)],
)
def test_compression(transport: Harness, server: str | None, station: str | None, negotiated: bool) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), compression=server) as (_, url):
            async with ChargingStation(f"{url}/Z1", versions=["2.0.1"], compression=station) as st:
                assert (await st.call(boot201())).status == "Accepted"
                assert st.session is not None
                header = st.session.transport.ws.response.headers.get("Sec-WebSocket-Extensions")  # type: ignore[attr-defined]
                assert (header is not None and "permessage-deflate" in header) is negotiated
                big = v201.DataTransferRequest(vendor_id="v", data="x" * 20_000)  # compressed well, if agreed
                assert (await st.call(big)).status is not None

    transport.run(scenario())
