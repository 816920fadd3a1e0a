"""Duplicate connections of one identity, over real loopback sockets: ``replace`` aborts the old
connection at once (no close handshake to wait for), limited per minute; ``reject`` answers 409
while the old one is alive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def open_raw(port: int, identity: str) -> ClientConnection:
    return await connect(f"ws://127.0.0.1:{port}/{identity}", subprotocols=["ocpp2.0.1"])  # type: ignore[list-item]


async def heartbeat(ws: ClientConnection) -> str:
    await ws.send('[2,"1","Heartbeat",{}]')
    return str(await asyncio.wait_for(ws.recv(), 5))


async def wait_for(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_replace_takes_over_at_once_and_is_limited() -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), max_replacements=2)
        await csms.start("127.0.0.1", 0)
        try:
            old = await open_raw(csms.port, "CS1")
            await wait_for(lambda: "CS1" in csms.sessions)
            first = csms.sessions["CS1"]
            started = time.monotonic()
            new = await open_raw(csms.port, "CS1")
            assert '"currentTime"' in await heartbeat(new)  # the new connection is served ...
            assert time.monotonic() - started < 1.0
            await wait_for(lambda: first.closed.is_set())
            assert csms.sessions["CS1"] is not first
            with pytest.raises(websockets.ConnectionClosed) as closed:  # ... the old one was aborted
                await heartbeat(old)
            assert closed.value.rcvd is None  # no close frame: aborted, not closed gracefully
            third = await open_raw(csms.port, "CS1")  # the second takeover within a minute
            assert '"currentTime"' in await heartbeat(third)
            with pytest.raises(websockets.InvalidStatus) as refused:  # the third is one too many
                await open_raw(csms.port, "CS1")
            assert refused.value.response.status_code == 409
            assert csms.refusals == {"replacement-limit": 1}
            assert '"currentTime"' in await heartbeat(third)  # the current station keeps working
            await third.close()
            await wait_for(lambda: "CS1" not in csms.sessions)
            assert len(csms._takeovers) == 1  # the takeover history outlives the sessions (bounded)
            for ws in (old, new):
                await ws.close()
        finally:
            await csms.close()

    run(scenario())


def test_reject_refuses_a_second_connection_while_the_first_is_alive() -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), duplicates="reject")
        await csms.start("127.0.0.1", 0)
        try:
            first = await open_raw(csms.port, "CS1")
            await wait_for(lambda: "CS1" in csms.sessions)
            with pytest.raises(websockets.InvalidStatus) as refused:
                await open_raw(csms.port, "CS1")
            assert refused.value.response.status_code == 409 and csms.refusals == {"duplicate": 1}
            assert '"currentTime"' in await heartbeat(first)
            await first.close()
            await wait_for(lambda: "CS1" not in csms.sessions)
            second = await open_raw(csms.port, "CS1")  # once the first is gone, it may connect
            assert '"currentTime"' in await heartbeat(second)
            await second.close()
        finally:
            await csms.close()

    run(scenario())
    with pytest.raises(ValueError, match="duplicates"):
        CSMSServer(csms_router("2.0.1"), duplicates="kick")
    with pytest.raises(ValueError, match="max_replacements"):
        CSMSServer(csms_router("2.0.1"), max_replacements=0)
