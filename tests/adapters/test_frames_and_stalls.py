"""The websockets server's own layer, over real loopback sockets: the listen backlog queues a
mass reconnect, failed handshakes leave nothing behind, each connection gets the bounded receive
buffer (frames and stalls over every transport: tests/conformance/test_bad_peers.py)."""

from __future__ import annotations

import asyncio
import gc
import select
import socket
import time
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect

from ocppkit.adapters._admission import Takeovers
from ocppkit.adapters.asyncio import SessionOptions
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer

from .aio import run, until

V201: Any = ["ocpp2.0.1"]


def test_send_timeout_is_checked_and_none_disables_it() -> None:
    with pytest.raises(ValueError, match=r"send_timeout: expected seconds > 0 or None, got 0"):
        SessionOptions(send_timeout=0)
    with pytest.raises(TypeError, match="accept_binary: expected True or False"):
        SessionOptions(accept_binary=1)  # type: ignore[arg-type]
    assert SessionOptions().send_timeout == 30.0 and SessionOptions(send_timeout=None).send_timeout is None
    with pytest.raises(ValueError, match="backlog: expected an int >= 1, got 0"):
        CSMSServer(csms_router("2.0.1"), backlog=0)


def _connected(socks: list[socket.socket]) -> int:
    """How many non-blocking connects have completed (the kernel put them in the accept queue)."""
    _, writable, _ = select.select([], socks, [], 0)
    return sum(1 for s in writable if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)


def _somaxconn() -> int:
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return int(f.read())
    except OSError:
        return 4096


def test_the_listen_backlog_queues_a_mass_reconnect() -> None:
    # While the loop is busy (blocked here on purpose), the kernel completes TCP handshakes only
    # up to the listen backlog; the rest wait in SYN_SENT. The default queues hundreds at once.
    stations = 300
    expected = min(stations, _somaxconn())

    async def attempt(backlog: int | None) -> int:
        csms = CSMSServer(csms_router("2.0.1"), **({} if backlog is None else {"backlog": backlog}))
        await csms.start("127.0.0.1", 0)
        socks = []
        try:
            for _ in range(stations):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", csms.port))
                socks.append(s)
            deadline = time.monotonic() + 3.0
            while _connected(socks) < expected and time.monotonic() < deadline:
                time.sleep(0.05)  # the loop does not run: nothing is accepted meanwhile
            return _connected(socks)
        finally:
            for s in socks:
                s.close()
            await csms.close()

    async def scenario() -> None:
        assert CSMSServer(csms_router("2.0.1")).backlog == 2048
        assert await attempt(None) == expected
        small = await attempt(16)
        assert small <= 16 + 2, small  # Linux queues backlog + 1

    run(scenario(), timeout=30)


def test_the_takeover_history_is_bounded_in_time_and_size() -> None:
    t = Takeovers(limit=2, window=60.0, max_identities=3)
    t.record("A", 0.0)
    t.record("A", 1.0)
    assert not t.allowed("A", 2.0) and t.allowed("A", 61.0) and t.allowed("B", 2.0)
    for name, at in (("B", 2.0), ("C", 3.0), ("D", 4.0)):
        t.record(name, at)
    assert len(t) == 3 and t.allowed("A", 5.0)  # the least recently taken over went first
    t.record("E", 100.0)  # everything else is older than the window
    assert len(t) == 1


def test_failed_handshakes_leave_no_identity_behind() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1"), versions=("2.0.1",)) as csms:
            await csms.start("127.0.0.1", 0)
            for i in range(100):
                # an upgrade that passes every check, from a client gone before the answer
                reader, writer = await asyncio.open_connection("127.0.0.1", csms.port)
                writer.write(
                    f"GET /CS{i} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n".encode()
                )
                if i % 2:
                    writer.transport.abort()  # half of them leave at once, half after the answer
                else:
                    await reader.readline()
                    writer.close()
                with pytest.raises(websockets.InvalidStatus):
                    await connect(f"ws://127.0.0.1:{csms.port}/a/b{i}", subprotocols=V201)  # refused: 404
            await until(lambda: not csms.sessions)
            gc.collect()
            assert len(csms._identities) == 0 and csms.refusals["path"] == 100

    run(scenario(), timeout=60)


def test_each_station_connection_gets_the_bounded_receive_buffer() -> None:
    async def scenario() -> None:
        for size, expected in ((16384, 16384), (None, None)):
            kw: dict[str, Any] = {} if size == 16384 else {"receive_buffer": size}
            async with CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), **kw) as csms:
                await csms.start("127.0.0.1", 0)
                async with connect(f"ws://127.0.0.1:{csms.port}/RB", subprotocols=V201):
                    await until(lambda: "RB" in csms.sessions)
                    ws = csms.sessions["RB"].transport.ws  # type: ignore[attr-defined]
                    got = ws.transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                    if expected is None:
                        assert got > 2 * 16384  # the system's (autotuned) size, untouched
                    else:
                        assert got == 2 * expected  # Linux doubles what it is given
        with pytest.raises(ValueError, match="receive_buffer: expected bytes >= 1024 or None, got 10"):
            CSMSServer(csms_router("2.0.1"), receive_buffer=10)

    run(scenario())
