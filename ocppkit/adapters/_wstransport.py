"""The websockets library as a Session transport: the connection wrapper and the settings both
roles pass to websockets (compression, sizes, pings). Only ``ocppkit.adapters.websockets``
imports it."""

from __future__ import annotations

from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection

from ._options import SessionOptions

__all__ = ["DEFLATE", "WebSocketTransport", "websocket_settings"]

#: permessage-deflate (RFC 7692), which OCPP 2.x requires a CSMS to offer, with a 2 KiB window
#: and a small zlib state: OCPP frames are small, and each connection keeps its own compressor
#: and decompressor. Measured per connected station (benchmarks/bench_load.py): about 18 KB
#: without compression, 53 KB with websockets' defaults (4 KiB, memLevel 5), 46 KB with these.
DEFLATE: dict[str, Any] = {
    "server_max_window_bits": 11,
    "client_max_window_bits": 11,
    "compress_settings": {"memLevel": 4},
}


class WebSocketTransport:
    """A websockets connection as the Session's :class:`~ocppkit.adapters.asyncio.Transport`
    (text frames only). websockets' exceptions stop here: a closed connection is a
    ``ConnectionError`` whose message is websockets' account of the close."""

    __slots__ = ("ws",)

    def __init__(self, ws: ServerConnection | ClientConnection) -> None:
        self.ws = ws

    async def send(self, data: bytes) -> None:
        try:
            await self.ws.send(data, text=True)
        except websockets.exceptions.ConnectionClosed as exc:
            raise ConnectionError(str(exc)) from exc

    async def recv(self) -> bytes | str:
        try:
            return await self.ws.recv(decode=False)
        except websockets.exceptions.ConnectionClosed as exc:
            raise ConnectionError(str(exc)) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)


def _websocket_settings(options: SessionOptions, deflate: type[Any]) -> dict[str, Any]:
    """What both roles pass to websockets' ``serve``/``connect`` from the session options."""
    return {
        "ping_interval": options.ping_interval or None,  # 0 disables pings, as None does
        "max_size": options.max_frame_size,
        "compression": options.compression,
        "extensions": [deflate(**DEFLATE)] if options.compression == "deflate" else None,
    }


def websocket_settings(options: SessionOptions, deflate: type[Any]) -> dict[str, Any]:
    """What both roles pass to websockets' ``serve``/``connect`` from the session options."""
    return {
        "ping_interval": options.ping_interval or None,  # 0 disables pings, as None does
        "max_size": options.max_frame_size,
        "compression": options.compression,
        "extensions": [deflate(**DEFLATE)] if options.compression == "deflate" else None,
    }
