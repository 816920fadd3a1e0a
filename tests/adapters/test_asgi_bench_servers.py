"""benchmarks/servers_frameworks.py as the load run starts it: a real subprocess per server kind
that prints ``READY <port>``, serves stations at ``/ocpp/<identity>`` without the call-rate
limit, and exits when its stdin closes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.adapters.aio import run, wait_for_line

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["uvicorn", "aiohttp"])
def test_a_framework_server_process_serves_until_its_stdin_closes(kind: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.servers_frameworks", "--serve", kind, "--max-seconds", "60"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        port = int(wait_for_line(proc, "READY").split()[1])

        async def main() -> list[str]:
            async with connect(f"ws://127.0.0.1:{port}/ocpp/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                # pipelined well over the default burst: no "Rate limited" with the limit lifted
                for i in range(120):
                    await ws.send(f'[2,"{i}","Heartbeat",{{}}]')
                return [str(await asyncio.wait_for(ws.recv(), 5)) for _ in range(120)]

        answers = run(main())
        assert all(a.startswith("[3,") for a in answers)
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
