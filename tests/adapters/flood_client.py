"""The flooding side of tests/adapters/test_flood.py, run in a process of its own so that the
flooders' work does not share the server's event loop (a real attacker is another machine):
``python -m tests.adapters.flood_client PORT CONNECTIONS``. Each connection floods, reads what
it gets until the server closes it, and reconnects, until standard input closes (or 50 rounds,
or 30 s); one JSON line per finished connection."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SUBPROTOCOL: Any = ["ocpp2.0.1"]


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


async def main(port: int, connections: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True).start()
    started = time.monotonic()

    async def flooder(n: int) -> None:
        for r in range(50):
            seen = await flood_once(port, f"F{n}x{r}")
            print(json.dumps(vars(seen)), flush=True)
            if stop.is_set() or time.monotonic() - started > 30:
                return

    await asyncio.gather(*(flooder(n) for n in range(connections)))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
