"""The websockets library's server (``ocppkit.adapters.websockets.CSMSServer``), on asyncio's
loop and on uvloop's (not on Windows, where uvloop does not exist)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from ocppkit.adapters.websockets import CSMSServer

from .table import Server


@asynccontextmanager
async def serve(csms_kwargs: dict[str, Any]) -> AsyncIterator[tuple[CSMSServer, str]]:
    csms = CSMSServer(**csms_kwargs)
    await csms.start("127.0.0.1", 0)
    try:
        yield csms, f"{'wss' if csms.ssl_context else 'ws'}://127.0.0.1:{csms.port}"
    finally:
        await csms.close()


SERVERS = {"websockets": Server(serve, listens=True)}
if sys.platform != "win32":
    SERVERS["websockets-uvloop"] = Server(serve, listens=True, loop="uvloop")
