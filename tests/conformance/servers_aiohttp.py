"""Start an ocppkit CSMS behind aiohttp's web server on 127.0.0.1, for the adapter tests (and the
shared conformance suite): :class:`ocppkit.adapters.aiohttp.WebSocketHandler` on a route of an
``aiohttp.web.Application`` run by ``AppRunner`` and ``TCPSite``.

``async with start_aiohttp(csms) as url:`` yields the URL a station appends its identity to
(``"ws://127.0.0.1:PORT" + csms.path_prefix``; ``wss://`` with ``ssl_context``). The route is
``csms.path_prefix + "{identity}"``; the CSMS is started with the application and closed with it.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from ocppkit.adapters.aiohttp import WebSocketHandler
from ocppkit.adapters.csms import CSMS

from .table import Server

__all__ = ["SERVERS", "STARTERS", "start_aiohttp"]


@contextlib.asynccontextmanager
async def start_aiohttp(
    csms: CSMS, *, ssl_context: ssl.SSLContext | None = None, route: str | None = None, **handler_options: Any
) -> AsyncIterator[str]:
    """Serve ``csms`` with aiohttp on 127.0.0.1 (a free port) until the block ends; yields the
    stations' base URL. ``handler_options`` go to :class:`WebSocketHandler`."""
    handler = WebSocketHandler(csms, **handler_options)
    app = web.Application()
    # "{identity:.*}": every path under the prefix reaches the handler, which judges it (404)
    handler.install(app, route or csms.path_prefix + "{identity:.*}")
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        scheme = "wss" if ssl_context is not None else "ws"
        yield f"{scheme}://127.0.0.1:{port}{csms.path_prefix}"
    finally:
        await runner.cleanup()


#: name -> ``start(csms, **options)``, an async context manager yielding the stations' base URL
STARTERS: dict[str, Callable[..., contextlib.AbstractAsyncContextManager[str]]] = {"aiohttp": start_aiohttp}


@contextlib.asynccontextmanager
async def _serve(csms_kwargs: dict[str, Any]) -> AsyncIterator[tuple[CSMS, str]]:
    """The conformance suite's entry: every path reaches the handler, so the CSMS judges it."""
    csms = CSMS(**csms_kwargs)
    async with start_aiohttp(csms, route=r"/{path:[\s\S]*}") as url:  # "." would leave out CR and LF
        yield csms, url[: -len(csms.path_prefix)]


#: the conformance suite's entries (tests/conformance/table.py)
SERVERS = {"aiohttp": Server(_serve)}
