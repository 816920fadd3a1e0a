"""Fair service under floods, over real loopback WebSockets: a connection calling faster than
``max_call_rate`` gets ``GenericError`` answers, then a 1008 close, while a well-behaved station
on the same server keeps getting its Heartbeat answered promptly."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer

SUBPROTOCOL: Any = ["ocpp2.0.1"]
FLOODERS = 30  # issue 11: 30 flooding connections while a good station is served
ROOT = Path(__file__).resolve().parents[2]


def run(coro: Awaitable[Any], timeout: float = 60.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


def test_a_flood_is_refused_then_closed_while_a_good_station_is_served() -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), max_call_rate=20, max_call_burst=50)
        await csms.start("127.0.0.1", 0)
        assert csms.port is not None
        port = csms.port
        latencies: list[float] = []
        flooders = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.adapters.flood_client",
            str(port),
            str(FLOODERS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(ROOT),
        )
        try:
            while len(csms.sessions) < FLOODERS // 2:  # the flooders are at it
                await asyncio.sleep(0.01)
            async with connect(f"ws://127.0.0.1:{port}/GOOD", subprotocols=SUBPROTOCOL) as ws:
                for i in range(30):
                    start = time.perf_counter()
                    await ws.send(f'[2,"g{i}","Heartbeat",{{}}]')
                    answer = json.loads(await ws.recv())
                    latencies.append(time.perf_counter() - start)
                    assert answer[:2] == [3, f"g{i}"] and "currentTime" in answer[2]
                    await asyncio.sleep(0.03)
                assert "GOOD" in csms.sessions
            assert flooders.stdin is not None
            flooders.stdin.close()
            out, _ = await asyncio.wait_for(flooders.communicate(), 40)
        finally:
            if flooders.returncode is None:
                flooders.kill()
                await flooders.wait()
            await csms.close()
        assert flooders.returncode == 0
        floods = [json.loads(line) for line in out.decode().splitlines()]

        assert len(latencies) == 30
        p99 = sorted(latencies)[int(0.99 * len(latencies))]
        print(f"good station: p99 {p99 * 1000:.1f} ms over {len(latencies)}, {len(floods)} flood connections")
        # Served, not starved: a starved station waits seconds (2.2 s p99 before the bounded read-on;
        # the benchmark measures the figure). 1 s leaves room for a machine loaded by other jobs
        # (681 ms seen with eight test suites running beside it).
        assert p99 < 1.0, f"p99 {p99 * 1000:.0f} ms"
        assert len(floods) >= FLOODERS
        # The server closes with 1008 and reads on for a bounded while (1 s, 200 messages), then
        # aborts: a flooder whose own frames keep coming past that bound may lose the close frame
        # to the reset (the kernel drops unread data on RST) and see 1006. Most see the 1008.
        codes = [seen["close_code"] for seen in floods]
        assert set(codes) <= {1008, 1006} and codes.count(1008) >= len(codes) // 2, codes
        for seen in floods:
            assert len(seen["errors"]) == 100  # max_excess_calls refused, then the close
            assert {code for code, _ in seen["errors"]} == {"GenericError"}
            assert all(text.startswith("Rate limited") for _, text in seen["errors"])
            assert seen["results"] >= 50  # the burst was served
            # The close handshake completes at once, not at websockets' 10 s close timeout (the
            # server reads on past its close while the peer's frames are still queued).
            assert seen["seconds"] < 5.0

    run(scenario())
