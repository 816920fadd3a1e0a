"""The WebSocket layer under hostile or broken peers, over real loopback sockets: binary frames
and text that is not UTF-8 close with the RFC 6455 codes, a peer that never reads is cut off
after ``send_timeout``, and the listen backlog queues a mass reconnect."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import select
import socket
import time
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from ocppkit import Router
from ocppkit.adapters._admission import Takeovers
from ocppkit.adapters.asyncio import SessionOptions
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer
from ocppkit.v201 import DataTransferRequest, DataTransferResponse, HeartbeatRequest, HeartbeatResponse

from .aio import run, until

V201: Any = ["ocpp2.0.1"]


async def closed_with(ws: Any) -> tuple[int | None, str | None]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason


def test_a_binary_frame_closes_with_1003_unless_accepted() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1"), versions=("2.0.1",)) as csms:
            await csms.start("127.0.0.1", 0)
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201) as ws:
                await ws.send(b'[2,"1","Heartbeat",{}]')  # bytes: a binary frame
                code, reason = await closed_with(ws)
            assert code == 1003 and reason == "OCPP-J messages are text frames"
            await until(lambda: "CS1" not in csms.sessions)

        async with CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), accept_binary=True) as csms:
            await csms.start("127.0.0.1", 0)
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201) as ws:
                await ws.send(b'[2,"1","Heartbeat",{}]')
                answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert answer[:2] == [3, "1"] and "currentTime" in answer[2]

    run(scenario())


def test_text_that_is_not_utf8_closes_with_1007() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1"), versions=("2.0.1",)) as csms:
            await csms.start("127.0.0.1", 0)
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201) as ws:
                await ws.send('[2,"0","Heartbeat",{}]')
                assert json.loads(await ws.recv())[0] == 3  # text frames are served
                # A text frame whose bytes are not UTF-8: websockets' send() would refuse to make one.
                ws.protocol.send_frame(Frame(Opcode.TEXT, b'[2,"1","DataTransfer",{"vendorId":"\xff"}]'))
                for data in ws.protocol.data_to_send():
                    ws.transport.write(data)
                code, _ = await closed_with(ws)
            assert code == 1007  # RFC 6455 §8.1: Fail the WebSocket Connection, invalid payload data
            await until(lambda: "CS1" not in csms.sessions)

    run(scenario())


def _big_router(size: int) -> Router:
    router = Router("2.0.1")

    @router.on(DataTransferRequest)
    def data_transfer(request: DataTransferRequest) -> DataTransferResponse:
        return DataTransferResponse(status="Accepted", data=os.urandom(size // 2).hex())

    @router.on(HeartbeatRequest)
    def heartbeat(request: HeartbeatRequest) -> HeartbeatResponse:
        import datetime

        return HeartbeatResponse(current_time=datetime.datetime.now(datetime.timezone.utc))

    return router


async def _never_reading_client(port: int, identity: str, calls: int) -> Any:
    """A station that sends ``calls`` DataTransfers and then reads nothing (a small receive
    buffer, and websockets' queue of one message: it stops reading at once)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    ws = await connect(
        f"ws://127.0.0.1:{port}/{identity}", subprotocols=V201, sock=sock, compression=None, max_size=None, max_queue=1
    )
    for i in range(calls):
        await ws.send(f'[2,"{i}","DataTransfer",{{"vendorId":"x"}}]')
    return ws


def test_a_peer_that_never_reads_is_aborted_after_send_timeout() -> None:
    async def scenario() -> None:
        csms = CSMSServer(_big_router(200_000), send_timeout=1.0, ping_interval=None)
        await csms.start("127.0.0.1", 0)
        try:
            # 60 answers of 200 kB: far more than the kernel's and websockets' buffers hold
            ws = await _never_reading_client(csms.port, "STUCK", 60)
            await until(lambda: "STUCK" in csms.sessions)
            stuck = csms.sessions["STUCK"]
            started = time.monotonic()
            # A good station on the same server is served while the other one's writes are stuck.
            async with connect(f"ws://127.0.0.1:{csms.port}/GOOD", subprotocols=V201) as good:
                await good.send('[2,"g","Heartbeat",{}]')
                assert json.loads(await asyncio.wait_for(good.recv(), 2))[:2] == [3, "g"]
                await asyncio.wait_for(stuck.closed.wait(), 10)
                waited = time.monotonic() - started
                assert "GOOD" in csms.sessions
            assert 0.5 < waited < 6.0, waited  # about send_timeout after the buffers filled
            assert stuck.close_reason == "the peer read nothing for 1 s (send buffer full)"
            assert "STUCK" not in csms.sessions
            ws.transport.abort()
        finally:
            await csms.close()

    run(scenario())


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
