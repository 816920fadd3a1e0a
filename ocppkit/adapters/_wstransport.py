"""The websockets library as a Session transport: the connection wrapper and the settings both
roles pass to websockets (compression, sizes, pings). Only ``ocppkit.adapters.websockets``
imports it."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection

from ._options import SessionOptions

__all__ = ["DEFLATE", "WebSocketTransport", "set_receive_buffer", "websocket_settings"]

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
    """A websockets connection as the Session's :class:`~ocppkit.adapters.asyncio.Transport`.
    websockets' exceptions stop here: a closed connection is a ``ConnectionError`` whose message
    is websockets' account of the close.

    Text frames are UTF-8 checked by websockets (one that is not closes with 1007, RFC 6455
    §8.1). A binary frame closes the connection with 1003 (RFC 6455 §7.4.1: a type of data the
    endpoint cannot accept; OCPP-J messages are text) unless ``accept_binary``."""

    __slots__ = ("accept_binary", "ws")

    def __init__(self, ws: ServerConnection | ClientConnection, accept_binary: bool = False) -> None:
        self.ws = ws
        self.accept_binary = accept_binary

    async def send(self, data: bytes) -> None:
        try:
            await self.ws.send(data, text=True)
        except websockets.exceptions.ConnectionClosed as exc:
            raise ConnectionError(str(exc)) from exc

    async def recv(self) -> bytes | str:
        try:
            data = await self.ws.recv()  # text: str (UTF-8 checked); binary: bytes
        except websockets.exceptions.ConnectionClosed as exc:
            raise ConnectionError(str(exc)) from exc
        if isinstance(data, bytes) and not self.accept_binary:
            # Read on (discarding) until the close completes: websockets stops reading while its
            # queue is full and would otherwise see the peer's closing frame only at its timeout.
            closing = asyncio.ensure_future(self.ws.close(1003, "OCPP-J messages are text frames"))
            try:
                while not closing.done():
                    await self.ws.recv(decode=False)
            except websockets.exceptions.ConnectionClosed:
                pass
            await closing
            raise ConnectionError("a binary frame: closed with 1003 (OCPP-J messages are text frames)")
        return data

    def abort(self) -> None:
        self.ws.transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)


#: seconds a closing handshake may take at most (websockets' default close_timeout)
CLOSE_TIMEOUT = 10.0


def websocket_settings(options: SessionOptions, deflate: type[Any]) -> dict[str, Any]:
    """What both roles pass to websockets' ``serve``/``connect`` from the session options.

    The closing handshake is bounded by ``ping_timeout`` too: websockets closes a connection
    whose ping went unanswered, and a peer that answered no ping will not answer a close either
    (without the bound a silent partition was noticed only ``ping_interval + ping_timeout + 10``
    seconds later)."""
    close_timeout = CLOSE_TIMEOUT if options.ping_timeout is None else min(CLOSE_TIMEOUT, options.ping_timeout)
    return {
        "ping_interval": options.ping_interval or None,  # 0 disables pings, as None does
        "ping_timeout": options.ping_timeout,
        "close_timeout": close_timeout,
        "max_size": options.max_frame_size,
        "compression": options.compression,
        "extensions": [deflate(**DEFLATE)] if options.compression == "deflate" else None,
    }


def set_receive_buffer(connection: ServerConnection, size: int) -> None:
    """Bound the socket receive buffer of ``connection`` (``SO_RCVBUF``): one read hands the
    server at most about this much of what the peer sent (asyncio reads up to 256 KiB at once,
    and websockets parses all of it before anyone else runs)."""
    sock = connection.transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
        except OSError:  # not a TCP socket (a test transport): nothing to bound
            pass
