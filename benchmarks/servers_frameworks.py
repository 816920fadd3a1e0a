"""Load-benchmark servers for the framework front doors: the demo router
(:func:`ocppkit.adapters.demo.csms_router`) served by uvicorn through
:class:`ocppkit.adapters.asgi.ASGIApp`, and by aiohttp's web server through
:class:`ocppkit.adapters.aiohttp.WebSocketHandler`.

``python -m benchmarks.servers_frameworks --serve uvicorn|aiohttp [--version 2.0.1] [--max-seconds S]``

Each behaves as ``benchmarks.bench_load``'s ``--serve`` processes do: it listens on 127.0.0.1
(a free port), stations connect as ``/ocpp/<identity>``, the per-connection call-rate limit is
lifted (the security defaults are for hostile peers, not for a measured load), and it prints
``READY <port>``; it stops when its stdin closes, on SIGTERM, or after ``--max-seconds``. The
WebSocket settings are the CSMS's defaults (uvicorn gets them through
:func:`ocppkit.adapters.asgi.uvicorn_options`: 1 MiB messages, pings every 20 s,
permessage-deflate for clients that offer it), on the default asyncio event loop.

``serve(kind, version, max_seconds)`` is the coroutine, for a load run to start in a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from typing import Any

SERVERS = ("uvicorn", "aiohttp")


def _raise_fd_limit(need: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def _csms(version: str) -> Any:
    from ocppkit.adapters.csms import CSMS
    from ocppkit.adapters.demo import csms_router

    return CSMS(csms_router(version), versions=(version,), path_prefix="/ocpp/", max_call_rate=0)


async def _start_uvicorn(version: str) -> tuple[int, Any]:
    import uvicorn

    from ocppkit.adapters.asgi import ASGIApp, uvicorn_options

    csms = _csms(version)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        ASGIApp(csms),
        log_config=None,
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        backlog=2048,
        **uvicorn_options(csms),
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped during start-up")
        await asyncio.sleep(0.01)
    return int(sock.getsockname()[1]), task


async def _start_aiohttp(version: str) -> tuple[int, Any]:
    from aiohttp import web

    from ocppkit.adapters.aiohttp import WebSocketHandler

    app = web.Application()
    WebSocketHandler(_csms(version)).install(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    return int(runner.addresses[0][1]), runner


async def serve(kind: str, version: str, max_seconds: float) -> None:
    """Serve until stdin closes, SIGTERM or ``max_seconds``; print ``READY <port>`` once listening."""
    _raise_fd_limit(65536)
    loop = asyncio.get_running_loop()
    port, _ = await (_start_uvicorn(version) if kind == "uvicorn" else _start_aiohttp(version))
    stop = asyncio.Event()

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 4096):  # the parent went away or closed our stdin
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"READY {port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), max_seconds)
    except asyncio.TimeoutError:
        print("max-seconds reached, stopping", file=sys.stderr, flush=True)
    os._exit(0)  # no graceful close of every connection: the run is over


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.servers_frameworks", description=__doc__)
    parser.add_argument("--serve", choices=SERVERS, required=True)
    parser.add_argument("--version", default="2.0.1", choices=("1.6", "2.0.1", "2.1"))
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.serve, args.version, args.max_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
