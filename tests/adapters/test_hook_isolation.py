"""An exception raised in a hook (on_connect, on_disconnect, on_event, on_frame) is logged and
never ends a connection: the message is still processed and answered. Over real loopback
WebSockets."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import connect

from ocppkit import v201
from ocppkit.adapters.asyncio import Session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from tests.adapters.aio import run, until

SUBPROTOCOL: Any = ["ocpp2.0.1"]


def failing(*args: Any) -> None:
    raise RuntimeError("bug in the hook")


async def heartbeats(csms: CSMSServer, identity: str, count: int = 3) -> None:
    """Heartbeats on one connection, each answered with its CALLRESULT; the connection stays up."""
    async with connect(f"ws://127.0.0.1:{csms.port}/{identity}", subprotocols=SUBPROTOCOL) as ws:
        for i in range(count):
            await ws.send(f'[2,"h{i}","Heartbeat",{{}}]')
            answer = json.loads(await ws.recv())
            assert answer[:2] == [3, f"h{i}"] and "currentTime" in answer[2]
        assert identity in csms.sessions and ws.close_code is None


@pytest.mark.parametrize("hook", ["on_connect", "on_event", "on_frame"])
def test_a_raising_hook_leaves_the_connection_up_and_the_call_answered(
    hook: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), **{hook: failing})
        await csms.start("127.0.0.1", 0)
        try:
            await heartbeats(csms, "CS-1")
        finally:
            await csms.close()

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        run(scenario())
    failed = [r for r in caplog.records if f"the {hook} hook failed" in r.getMessage()]
    assert failed and all(r.getMessage().startswith("CS-1: ") for r in failed)
    assert all(r.exc_info is not None and isinstance(r.exc_info[1], RuntimeError) for r in failed)
    if hook == "on_frame":  # in and out, every message
        assert {"(in)", "(out)"} <= {r.getMessage().rsplit(" ", 1)[1] for r in failed}


def test_a_raising_async_on_connect_and_on_disconnect_are_logged_and_the_server_serves_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ended: list[str] = []

    async def on_connect(session: Session) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("bug in on_connect")

    def on_disconnect(session: Session) -> None:
        ended.append(session.identity)
        raise RuntimeError("bug in on_disconnect")

    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), on_connect=on_connect, on_disconnect=on_disconnect)
        await csms.start("127.0.0.1", 0)
        try:
            await heartbeats(csms, "A")
            await until(lambda: ended == ["A"])
            await heartbeats(csms, "B")  # the next station is served as before
            await until(lambda: ended == ["A", "B"])
        finally:
            await csms.close()

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    for who in ("A", "B"):
        assert f"{who}: the on_connect hook failed" in messages
        assert f"{who}: the on_disconnect hook failed" in messages


def test_a_raising_on_frame_before_decoding_still_gets_a_malformed_frame_answered() -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), on_frame=failing)
        await csms.start("127.0.0.1", 0)
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/CS-2", subprotocols=SUBPROTOCOL) as ws:
                await ws.send("not json")
                answer = json.loads(await ws.recv())
                assert answer[0] == 4 and answer[2] == "RpcFrameworkError"
                await ws.send('[2,"h","Heartbeat",{}]')
                assert json.loads(await ws.recv())[:2] == [3, "h"]
        finally:
            await csms.close()

    run(scenario())


def test_a_raising_station_on_connect_leaves_the_station_connected(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        try:
            async with ChargingStation(
                f"ws://127.0.0.1:{csms.port}/ST", versions=["2.0.1"], on_connect=failing, on_frame=failing
            ) as st:
                response = await st.call(v201.HeartbeatRequest())
                assert isinstance(response, v201.HeartbeatResponse)
                assert st.connections == 1 and "ST" in csms.sessions
        finally:
            await csms.close()

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert "ST: the on_connect hook failed" in messages
    assert "ST: the on_frame hook failed (out)" in messages and "ST: the on_frame hook failed (in)" in messages
