"""Helpers shared by the adapter tests: run a coroutine with a time limit, wait for a condition,
and run ``python -m ocppkit`` as a real process on a free port."""

from __future__ import annotations

import asyncio
import os
import select
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Awaitable, Iterator
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


class CLIProcess(subprocess.Popen[str]):
    """A process whose output :func:`wait_for_line` reads; ``communicate`` returns the output
    that :func:`wait_for_line` read past the line it returned, then the rest."""

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        out, err = super().communicate(input, timeout)
        pending = _pending.pop(self, None)
        if pending and out is not None:
            out = pending.decode(errors="replace") + out
        return out, err


def spawn_cli(*args: str) -> CLIProcess:
    """``python -m ocppkit ARGS`` with its output (stdout and stderr) readable line by line."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return CLIProcess(
        [sys.executable, "-m", "ocppkit", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


# What wait_for_line read from a process's pipe past the lines it returned. It reads the pipe's
# descriptor, not the text wrapper: after a readline the wrapper may hold the next lines, which
# a select on the descriptor would never announce (two workers' lines in one read).
_pending: weakref.WeakKeyDictionary[subprocess.Popen[str], bytearray] = weakref.WeakKeyDictionary()


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 20) -> str:
    """The first output line of ``proc`` containing ``needle`` (AssertionError after ``timeout``)."""
    for line in output_lines(proc, timeout):
        if needle in line:
            return line
    raise AssertionError(f"{needle!r} not seen")


def output_lines(proc: subprocess.Popen[str], timeout: float) -> Iterator[str]:
    """``proc``'s next output lines, each with its end, until its output ends or ``timeout``."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = _pending.setdefault(proc, bytearray())
    end = time.monotonic() + timeout
    while True:
        cut = pending.find(b"\n") + 1
        if cut:
            line = bytes(pending[:cut])
            del pending[:cut]
            yield line.decode(errors="replace")
            continue
        left = end - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:  # the output ended: what is left is the last line, without its end
                if pending:
                    yield pending.decode(errors="replace")
                    pending.clear()
                return
            pending += chunk


def send_at_once(ws: Any, messages: list[str]) -> None:
    """Write several text messages in ONE write to a websockets connection, so that they reach
    the server together (a peer pipelining calls), not one by one as separate sends may."""
    for text in messages:
        ws.protocol.send_text(text.encode())
    ws.transport.write(b"".join(ws.protocol.data_to_send()))
