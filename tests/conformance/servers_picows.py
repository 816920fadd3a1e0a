"""The picows server for the adapter conformance suite, on asyncio's loop and on uvloop's (not on
Windows, where uvloop does not exist). ``start_picows(**csms_kwargs)`` starts an
``ocppkit.adapters.picows.CSMSServer`` on 127.0.0.1 (a free port) and returns it with the base URL
stations connect to (``ws://`` or, with ``ssl_context``, ``wss://``; append the identity). Close
it with ``await server.close()``."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.picows import CSMSServer

from .table import Server


async def start_picows(routers: Any = None, **csms_kwargs: Any) -> tuple[CSMSServer, str]:
    """A started picows CSMSServer (``routers`` default: the demo CSMS for 2.0.1) and its URL."""
    if routers is None:
        routers = csms_router("2.0.1")
    server = CSMSServer(routers, **csms_kwargs)
    await server.start("127.0.0.1", 0)
    prefix = csms_kwargs.get("path_prefix", "/")
    scheme = "wss" if csms_kwargs.get("ssl_context") is not None else "ws"
    return server, f"{scheme}://127.0.0.1:{server.port}{prefix}"


@asynccontextmanager
async def serve(csms_kwargs: dict[str, Any]) -> AsyncIterator[tuple[CSMSServer, str]]:
    """The conformance suite's entry (tests/conformance/table.py): the base URL without a path."""
    csms = CSMSServer(**csms_kwargs)
    await csms.start("127.0.0.1", 0)
    try:
        yield csms, f"{'wss' if csms.ssl_context else 'ws'}://127.0.0.1:{csms.port}"
    finally:
        await csms.close()


#: the picows CSMS listens itself (it takes ssl_context: the TLS tests run against it)
SERVERS = {"picows": Server(serve, listens=True)}
if sys.platform != "win32":
    SERVERS["picows-uvloop"] = Server(serve, listens=True, loop="uvloop")
