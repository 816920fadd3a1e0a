"""Every transport under broken or hostile peers, over real loopback sockets: bad messages are
answered then closed with 1008, the call-rate limit answers GenericError then closes with 1008,
a binary frame closes with 1003 (unless accepted), text that is not UTF-8 with 1007, a message
over ``max_frame_size`` with 1009, a fragmented message is one message, and a peer that never
reads is aborted after ``send_timeout``."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import socket
import time
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from ocppkit import Router
from ocppkit.adapters.demo import csms_router
from ocppkit.v201 import (
    DataTransferRequest,
    DataTransferResponse,
    DataTransferStatusEnumType,
    HeartbeatRequest,
    HeartbeatResponse,
)
from tests.adapters.aio import send_at_once, until

from .conftest import Harness
from .peers import V201, call, closed_with, open_raw


def test_bad_messages_are_answered_then_closed_after_too_many(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), max_bad_messages=5) as (_, url):
            ws = await open_raw(f"{url}/BAD1")
            assert (await call(ws, "not json"))[:3] == [4, "-1", "RpcFrameworkError"]
            assert (await call(ws, '[2,"x","Heartbeat",{"junk":1}]'))[:3] == [4, "x", "FormatViolation"]
            await ws.send('[3,"nobody",{}]')  # never answered
            for i in range(3):
                await ws.send(f'[2,"y{i}","NoSuchAction",{{}}]')
            replies = [json.loads(await ws.recv()) for _ in range(2)]
            assert [r[2] for r in replies] == ["NotImplemented", "NotImplemented"]
            assert (await closed_with(ws))[0] == 1008

    transport.run(scenario())


def test_calls_over_the_rate_limit_get_generic_error_then_1008(transport: Harness) -> None:
    async def scenario() -> None:
        limits = {"max_call_rate": 1, "max_call_burst": 3, "max_excess_calls": 10}
        async with transport.serve(csms_router("1.6"), versions=("1.6",), **limits) as (csms, url):
            ws = await open_raw(f"{url}/CP", ["ocpp1.6"])
            send_at_once(ws, [f'[2,"{i}","Heartbeat",{{}}]' for i in range(30)])  # pipelined
            answers: list[Any] = []
            with pytest.raises(ConnectionClosed):
                while True:
                    answers.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            assert ws.close_code == 1008
            kinds = [a[0] for a in answers]
            # the burst (and a call that waited for us, not rate limited), then ten refusals and the close
            assert kinds[:3] == [3, 3, 3] and kinds.count(4) == 10 and kinds[-1] == 4 and len(kinds) < 20
            assert {(a[2], a[3][:12]) for a in answers if a[0] == 4} == {("GenericError", "Rate limited")}
            await until(lambda: "CP" not in csms.sessions)

    transport.run(scenario())


def test_rate_zero_is_no_limit_and_max_excess_zero_never_closes(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("1.6"), versions=("1.6",), max_call_rate=0) as (_, url):
            ws = await open_raw(f"{url}/CP", ["ocpp1.6"])
            send_at_once(ws, [f'[2,"{i}","Heartbeat",{{}}]' for i in range(200)])
            assert [json.loads(await ws.recv())[0] for _ in range(200)] == [3] * 200
            await ws.close()
        limits = {"max_call_rate": 1, "max_call_burst": 3, "max_excess_calls": 0}
        async with transport.serve(csms_router("1.6"), versions=("1.6",), **limits) as (csms, url):
            ws = await open_raw(f"{url}/CP", ["ocpp1.6"])
            send_at_once(ws, [f'[2,"{i}","Heartbeat",{{}}]' for i in range(150)])
            kinds = [json.loads(await ws.recv())[0] for _ in range(150)]
            assert kinds[:3] == [3, 3, 3] and kinds.count(4) >= 140
            assert "CP" in csms.sessions  # refused, never closed
            await ws.close()

    transport.run(scenario())


def test_a_flooder_that_never_reads_is_cut_off_soon_after_its_1008(transport: Harness) -> None:
    """After the 1008 close the session reads on (discarding) only briefly: a flooder that never
    reads our close frame is aborted, not kept parsing until a close timeout."""

    async def scenario() -> None:
        limits = {"max_call_rate": 20, "max_call_burst": 50}
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), **limits) as (csms, url):
            ws = await open_raw(f"{url}/FLOOD", max_queue=1, compression=None)
            stop = asyncio.Event()
            started = time.perf_counter()

            async def flood() -> None:
                i = 0
                try:
                    while not stop.is_set() and time.perf_counter() - started < 15:
                        await ws.send(f'[2,"f{i}","Heartbeat",{{}}]')
                        i += 1
                        if i % 100 == 0:
                            await asyncio.sleep(0)
                except ConnectionClosed:
                    pass

            flooder = asyncio.create_task(flood())
            await until(lambda: "FLOOD" in csms.sessions)
            session = csms.sessions["FLOOD"]
            await asyncio.wait_for(session.closed.wait(), 8)
            took = time.perf_counter() - started
            assert session.close_reason.startswith("too many calls over the rate limit")
            assert took < 4.0, f"{took:.1f} s"  # the grace of 1 s, not a 10 s close timeout
            stop.set()
            await flooder
            ws.transport.abort()

    transport.run(scenario())


def test_a_binary_frame_closes_with_1003_unless_accepted(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",)) as (csms, url):
            ws = await open_raw(f"{url}/CS1")
            await ws.send(b'[2,"1","Heartbeat",{}]')  # bytes: a binary frame
            assert await closed_with(ws) == (1003, "OCPP-J messages are text frames")
            await until(lambda: "CS1" not in csms.sessions)
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), accept_binary=True) as (_, url):
            ws = await open_raw(f"{url}/CS1")
            await ws.send(b'[2,"1","Heartbeat",{}]')
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer[:2] == [3, "1"] and "currentTime" in answer[2]
            await ws.close()

    transport.run(scenario())


def _write_frames(ws: Any, *frames: Frame) -> None:
    for frame in frames:
        ws.protocol.send_frame(frame)
    for data in ws.protocol.data_to_send():
        ws.transport.write(data)


def test_text_that_is_not_utf8_closes_with_1007(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",)) as (csms, url):
            ws = await open_raw(f"{url}/CS1", compression=None)
            assert (await call(ws, '[2,"0","Heartbeat",{}]'))[0] == 3  # text frames are served
            # A text frame whose bytes are not UTF-8: websockets' send() would refuse to make one.
            _write_frames(ws, Frame(Opcode.TEXT, b'[2,"1","DataTransfer",{"vendorId":"\xff"}]'))
            assert (await closed_with(ws))[0] == 1007  # RFC 6455 §8.1: invalid payload data
            await until(lambda: "CS1" not in csms.sessions)

    transport.run(scenario())


def test_a_fragmented_message_is_one_message(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",)) as (_, url):
            ws = await open_raw(f"{url}/CS1", compression=None)
            text = '[2,"f","DataTransfer",{"vendorId":"ü-vendor"}]'.encode()
            cut = text.index("ü".encode()) + 1  # inside the two bytes of ü: UTF-8 across fragments
            _write_frames(ws, Frame(Opcode.TEXT, text[:cut], fin=False), Frame(Opcode.CONT, text[cut:]))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer[:2] == [3, "f"]
            await ws.close()

    transport.run(scenario())


def test_a_message_over_max_frame_size_closes_with_1009(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), max_frame_size=4096) as (csms, url):
            ws = await open_raw(f"{url}/BIG", compression=None)
            data = "x" * 3000
            answer = await call(ws, f'[2,"ok","DataTransfer",{{"vendorId":"v","data":"{data}"}}]')
            assert answer[:2] == [3, "ok"]  # under the limit: served
            await ws.send(f'[2,"big","DataTransfer",{{"vendorId":"v","data":"{data * 2}"}}]')
            assert (await closed_with(ws))[0] == 1009  # RFC 6455 §7.4.1: message too big
            await until(lambda: "BIG" not in csms.sessions)

    transport.run(scenario())


def _big_router(size: int) -> Router:
    router = Router("2.0.1")

    @router.on(DataTransferRequest)
    def data_transfer(request: DataTransferRequest) -> DataTransferResponse:
        return DataTransferResponse(status=DataTransferStatusEnumType.ACCEPTED, data=os.urandom(size // 2).hex())

    @router.on(HeartbeatRequest)
    def heartbeat(request: HeartbeatRequest) -> HeartbeatResponse:
        return HeartbeatResponse(current_time=datetime.datetime.now(datetime.timezone.utc))

    return router


async def _never_reading_client(url: str, calls: int) -> Any:
    """A station that sends ``calls`` DataTransfers and then reads nothing (a small receive
    buffer, and websockets' queue of one message: it stops reading at once)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    ws = await websockets.connect(url, subprotocols=V201, sock=sock, compression=None, max_size=None, max_queue=1)
    for i in range(calls):
        await ws.send(f'[2,"{i}","DataTransfer",{{"vendorId":"x"}}]')
    return ws


def test_a_peer_that_never_reads_is_aborted_after_send_timeout(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(_big_router(200_000), send_timeout=1.0, ping_interval=None) as (csms, url):
            # 60 answers of 200 kB: far more than the kernel's and the transport's buffers hold
            ws = await _never_reading_client(f"{url}/STUCK", 60)
            await until(lambda: "STUCK" in csms.sessions)
            stuck = csms.sessions["STUCK"]
            started = time.monotonic()
            # A good station on the same server is served while the other one's writes are stuck.
            good = await open_raw(f"{url}/GOOD")
            assert (await call(good, '[2,"g","Heartbeat",{}]'))[:2] == [3, "g"]
            await asyncio.wait_for(stuck.closed.wait(), 10)
            waited = time.monotonic() - started
            assert "GOOD" in csms.sessions
            assert 0.5 < waited < 6.0, waited  # about send_timeout after the buffers filled
            assert stuck.close_reason == "the peer read nothing for 1 s (send buffer full)"
            assert "STUCK" not in csms.sessions
            await good.close()
            ws.transport.abort()

    transport.run(scenario())
