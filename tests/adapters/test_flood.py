"""Fair service under floods, over real loopback WebSockets: a connection calling faster than
``max_call_rate`` gets ``GenericError`` answers, then a 1008 close, while a well-behaved station
on the same server keeps getting its Heartbeat answered promptly."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer

SUBPROTOCOL: Any = ["ocpp2.0.1"]
FLOODERS = 30  # issue 11: 30 flooding connections while a good station is served


def run(coro: Awaitable[Any], timeout: float = 60.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


class Flood:
    """What one flooding connection saw."""

    def __init__(self) -> None:
        self.results = 0
        self.errors: list[tuple[str, str]] = []
        self.close_code: int | None = None
        self.seconds = 0.0


async def flood_once(port: int, identity: str, frames: int = 400) -> Flood:
    seen = Flood()
    start = time.perf_counter()
    async with connect(f"ws://127.0.0.1:{port}/{identity}", subprotocols=SUBPROTOCOL) as ws:

        async def send() -> None:
            try:
                for i in range(frames):
                    await ws.send(f'[2,"{identity}-{i}","Heartbeat",{{}}]')
            except ConnectionClosed:
                pass

        sender = asyncio.create_task(send())
        try:
            async for message in ws:
                frame = json.loads(message)
                if frame[0] == 3:
                    seen.results += 1
                else:
                    seen.errors.append((frame[2], frame[3]))
        except ConnectionClosed:
            pass
        await sender
        seen.close_code = ws.close_code
    seen.seconds = time.perf_counter() - start
    return seen


def test_a_flood_is_refused_then_closed_while_a_good_station_is_served() -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), max_call_rate=20, max_call_burst=50)
        await csms.start("127.0.0.1", 0)
        assert csms.port is not None
        port = csms.port
        done = asyncio.Event()
        floods: list[Flood] = []
        latencies: list[float] = []

        async def flooder(n: int) -> None:
            for r in range(4):  # keep flooding (bounded) while the good station runs
                floods.append(await flood_once(port, f"F{n}x{r}"))
                if done.is_set():
                    return

        async def good() -> None:
            async with connect(f"ws://127.0.0.1:{port}/GOOD", subprotocols=SUBPROTOCOL) as ws:
                await asyncio.sleep(0.05)  # the flooders are at it
                for i in range(30):
                    start = time.perf_counter()
                    await ws.send(f'[2,"g{i}","Heartbeat",{{}}]')
                    answer = json.loads(await ws.recv())
                    latencies.append(time.perf_counter() - start)
                    assert answer[:2] == [3, f"g{i}"] and "currentTime" in answer[2]
                    await asyncio.sleep(0.03)
                assert "GOOD" in csms.sessions
            done.set()

        try:
            await asyncio.gather(good(), *(flooder(n) for n in range(FLOODERS)))
        finally:
            await csms.close()

        assert len(latencies) == 30
        p99 = sorted(latencies)[int(0.99 * len(latencies))]
        print(f"good station: p99 {p99 * 1000:.1f} ms over {len(latencies)}, {len(floods)} flood connections")
        assert p99 < 0.5, f"p99 {p99 * 1000:.0f} ms"
        assert len(floods) >= FLOODERS
        for seen in floods:
            assert seen.close_code == 1008
            assert len(seen.errors) == 100  # max_excess_calls refused, then the close
            assert {code for code, _ in seen.errors} == {"GenericError"}
            assert all(text.startswith("Rate limited") for _, text in seen.errors)
            assert seen.results >= 50  # the burst was served
            # The close handshake completes at once, not at websockets' 10 s close timeout (the
            # server reads on past its close while the peer's frames are still queued).
            assert seen.seconds < 5.0

    run(scenario())


def test_rate_zero_is_no_limit() -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("1.6"), versions=("1.6",), max_call_rate=0)
        await csms.start("127.0.0.1", 0)
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/CP", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
                for i in range(200):
                    await ws.send(f'[2,"{i}","Heartbeat",{{}}]')
                answers = [json.loads(await ws.recv()) for _ in range(200)]
                assert [a[0] for a in answers] == [3] * 200
        finally:
            await csms.close()

    run(scenario())


def test_excess_calls_are_refused_in_16_too_and_never_closed_with_zero() -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("1.6"), versions=("1.6",), max_call_rate=1, max_call_burst=3, max_excess_calls=0)
        await csms.start("127.0.0.1", 0)
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/CP", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
                for i in range(150):
                    await ws.send(f'[2,"{i}","Heartbeat",{{}}]')
                answers = [json.loads(await ws.recv()) for _ in range(150)]
                kinds = [a[0] for a in answers]
                assert kinds[:3] == [3, 3, 3] and kinds.count(4) >= 140
                refused = next(a for a in answers if a[0] == 4)
                assert refused[2] == "GenericError" and refused[3].startswith("Rate limited")
                assert "CP" in csms.sessions  # max_excess_calls=0: refused, never closed
        finally:
            await csms.close()

    run(scenario())
