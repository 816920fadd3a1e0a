"""Start an ocppkit CSMS behind real ASGI servers on 127.0.0.1, for the adapter tests (and the
shared conformance suite): uvicorn serving :class:`ocppkit.adapters.asgi.ASGIApp` directly, or
mounted in Starlette or FastAPI.

``async with start_uvicorn(csms) as url:`` yields the URL a station appends its identity to
(``"ws://127.0.0.1:PORT/"``; with ``mount="/ocpp"``, ``".../ocpp/"``; ``wss://`` with TLS). The
server listens on a free port, the uvicorn settings follow the CSMS's options
(``ocppkit.adapters.asgi.uvicorn_options``), and everything is stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn

from ocppkit.adapters.asgi import ASGIApp, uvicorn_options
from ocppkit.adapters.csms import CSMS

from .table import Server

__all__ = ["FRAMEWORKS", "SERVERS", "STARTERS", "asgi_application", "start_fastapi", "start_starlette", "start_uvicorn"]

#: how the ASGI application is put in front of uvicorn
FRAMEWORKS = ("asgi", "starlette", "fastapi")


def asgi_application(csms: CSMS, framework: str = "asgi", mount: str | None = None, **app_options: Any) -> Any:
    """The ASGI application uvicorn serves: the bare :class:`ASGIApp` (``"asgi"``), one mounted at
    ``mount`` in a Starlette or FastAPI application whose lifespan starts and closes the CSMS, or
    (``"starlette-route"``) one on a Starlette ``WebSocketRoute`` of ``csms.path_prefix``."""
    app = ASGIApp(csms, **app_options)
    if framework == "asgi":
        if mount is not None:
            raise ValueError("mount: only with framework='starlette' or 'fastapi'")
        return app

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        async with csms:
            yield

    prefix = mount or "/ocpp"
    if framework == "starlette":
        from starlette.applications import Starlette
        from starlette.routing import Mount

        return Starlette(routes=[Mount(prefix, app=app)], lifespan=lifespan)
    if framework == "fastapi":
        from fastapi import FastAPI

        api = FastAPI(lifespan=lifespan)
        api.mount(prefix, app)
        return api
    if framework == "starlette-route":  # a WebSocketRoute: the whole path is matched (path_prefix "/ocpp/")
        from starlette.applications import Starlette
        from starlette.routing import WebSocketRoute

        return Starlette(routes=[WebSocketRoute(csms.path_prefix + "{identity}", app)], lifespan=lifespan)
    raise ValueError(f"framework: expected one of {FRAMEWORKS} or 'starlette-route', got {framework!r}")


@contextlib.asynccontextmanager
async def start_uvicorn(
    csms: CSMS,
    *,
    framework: str = "asgi",
    mount: str | None = None,
    uvicorn_settings: dict[str, Any] | None = None,
    **app_options: Any,
) -> AsyncIterator[str]:
    """Serve ``csms`` with uvicorn on 127.0.0.1 (a free port) until the block ends; yields the
    stations' base URL. ``uvicorn_settings`` adds ``uvicorn.Config`` parameters (``ssl_certfile``,
    ``ws``, ...); ``app_options`` go to :class:`ASGIApp` (``trusted_proxies``, ...)."""
    app = asgi_application(csms, framework, mount, **app_options)
    settings: dict[str, Any] = {
        "log_config": None,
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,  # the scope's client is the TCP peer (ASGIApp judges the proxy)
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
        **uvicorn_options(csms),
        **(uvicorn_settings or {}),
    }
    config = uvicorn.Config(app, **settings)
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # the start-up failure
            raise RuntimeError("uvicorn stopped during start-up")
        if not server.started:
            raise RuntimeError("uvicorn did not start within 5 s")
        scheme = "wss" if settings.get("ssl_certfile") else "ws"
        if framework == "starlette-route":
            yield f"{scheme}://127.0.0.1:{port}{csms.path_prefix}"
        else:
            prefix = "" if framework == "asgi" else (mount or "/ocpp")
            yield f"{scheme}://127.0.0.1:{port}{prefix}/"
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(task, 15)
        finally:
            sock.close()


def start_starlette(csms: CSMS, **options: Any) -> contextlib.AbstractAsyncContextManager[str]:
    """:func:`start_uvicorn` with the app mounted at ``/ocpp`` in Starlette (URL ``.../ocpp/``)."""
    return start_uvicorn(csms, framework="starlette", **options)


def start_fastapi(csms: CSMS, **options: Any) -> contextlib.AbstractAsyncContextManager[str]:
    """:func:`start_uvicorn` with the app mounted at ``/ocpp`` in FastAPI (URL ``.../ocpp/``)."""
    return start_uvicorn(csms, framework="fastapi", **options)


#: name -> ``start(csms, **options)``, an async context manager yielding the stations' base URL
STARTERS: dict[str, Callable[..., contextlib.AbstractAsyncContextManager[str]]] = {
    "uvicorn": start_uvicorn,
    "starlette": start_starlette,
    "fastapi": start_fastapi,
}


def _conformance(framework: str) -> Any:
    """The conformance suite's ``serve(csms_kwargs)``: uvicorn serving the app (the suite's URLs
    are the server's root plus a path; the mounted forms are tested in tests/adapters/test_asgi.py)."""

    @contextlib.asynccontextmanager
    async def serve(csms_kwargs: dict[str, Any]) -> AsyncIterator[tuple[CSMS, str]]:
        csms = CSMS(**csms_kwargs)
        async with start_uvicorn(csms, framework=framework) as url:
            yield csms, url.rstrip("/")

    return serve


#: the conformance suite's entries (tests/conformance/table.py)
SERVERS = {"asgi-uvicorn": Server(_conformance("asgi"))}
