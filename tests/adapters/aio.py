"""Helpers shared by the adapter tests: run a coroutine with a time limit, wait for a condition,
and run ``python -m ocppkit`` as a real process on a free port."""

from __future__ import annotations

import asyncio
import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable
from typing import Any


def run(coro: Awaitable[Any], timeout: float = 20.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def until(predicate: Any, timeout: float = 5.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn_cli(*args: str) -> subprocess.Popen[str]:
    """``python -m ocppkit ARGS`` with its output (stdout and stderr) readable line by line."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ocppkit", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 20) -> str:
    """The first output line of ``proc`` containing ``needle`` (AssertionError after ``timeout``)."""
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if sel.select(timeout=0.2):
                line = proc.stdout.readline()
                if needle in line:
                    return line
                if not line and proc.poll() is not None:
                    break
    finally:
        sel.close()
    raise AssertionError(f"{needle!r} not seen")


def send_at_once(ws: Any, messages: list[str]) -> None:
    """Write several text messages in ONE write to a websockets connection, so that they reach
    the server together (a peer pipelining calls), not one by one as separate sends may."""
    for text in messages:
        ws.protocol.send_text(text.encode())
    ws.transport.write(b"".join(ws.protocol.data_to_send()))
