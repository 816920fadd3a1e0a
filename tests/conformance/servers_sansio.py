"""A front door written here, to prove the CSMS core is transport-neutral: the websockets
library's *sans-IO* ``ServerProtocol`` (no websockets server, no websockets connection) over a
plain ``asyncio.start_server``, handing each connection to a plain
:class:`ocppkit.adapters.csms.CSMS` through ``admit`` / ``select_subprotocol`` / ``serve``: what
any transport adapter does. A test door, not a server: no keep-alive pings, no TLS, an unbounded
queue of received messages."""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import State
from websockets.server import ServerProtocol

from ocppkit.adapters.csms import CSMS, Refusal, Upgrade

from .table import Server

CLOSE_TIMEOUT = 5.0  # seconds our close handshake may take before the TCP connection is aborted


class DoorTransport:
    """One upgraded connection as the Session's Transport (see ocppkit.adapters.asyncio)."""

    def __init__(self, proto: ServerProtocol, writer: asyncio.StreamWriter, accept_binary: bool) -> None:
        self.proto, self.writer, self.accept_binary = proto, writer, accept_binary
        self.messages: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self.ended = asyncio.Event()  # the TCP connection is gone
        self._parts: list[Any] = []
        self._decoder: Any = None  # UTF-8, across the fragments of a text message

    def flush(self) -> None:
        for chunk in self.proto.data_to_send():
            if chunk:
                self.writer.write(chunk)
            else:  # the protocol's end of stream: a server closes the TCP connection at once
                self.writer.close()

    async def pump(self, reader: asyncio.StreamReader) -> None:
        """Read the socket into the protocol, and its messages into the queue, until EOF."""
        try:
            while self.proto.state is not State.CLOSED:
                data = await reader.read(65536)
                if data:
                    self.proto.receive_data(data)
                else:
                    self.proto.receive_eof()
                for event in self.proto.events_received():
                    if isinstance(event, Frame):
                        self._frame(event)
                self.flush()  # pongs, the answer to a close, the end of stream
                if not data:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self.ended.set()
            self.messages.put_nowait(None)
            self.writer.transport.abort()

    def _frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._parts = []
            self._decoder = codecs.getincrementaldecoder("utf-8")() if frame.opcode is Opcode.TEXT else None
        elif frame.opcode is not Opcode.CONT:
            return  # ping, pong, close: the protocol answers them
        if self._decoder is None:
            self._parts.append(bytes(frame.data))
        else:
            try:
                self._parts.append(self._decoder.decode(frame.data, final=frame.fin))
            except UnicodeDecodeError:  # RFC 6455 §8.1: fail the connection, invalid payload data
                self.proto.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text frame")
                return
        if frame.fin:
            self.messages.put_nowait(b"".join(self._parts) if self._decoder is None else "".join(self._parts))

    async def send(self, data: bytes) -> None:
        if self.ended.is_set() or self.proto.state is not State.OPEN:
            raise ConnectionError(str(self.proto.close_exc))
        self.proto.send_text(data)
        self.flush()
        await self.writer.drain()  # waits while a peer reads nothing (the session's send_timeout)

    async def recv(self) -> bytes | str:
        item = await self.messages.get()
        if item is None:
            self.messages.put_nowait(None)  # every later recv ends too
            raise ConnectionError(str(self.proto.close_exc))
        if isinstance(item, bytes) and not self.accept_binary:
            await self.close(1003, "OCPP-J messages are text frames")
            raise ConnectionError("a binary frame: closed with 1003 (OCPP-J messages are text frames)")
        return item

    def abort(self) -> None:
        self.writer.transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.proto.state is State.OPEN:
            self.proto.send_close(code, reason)
            self.flush()
        try:
            await asyncio.wait_for(self.ended.wait(), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            self.abort()


async def _handle(csms: CSMS, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    options = csms.options
    proto = ServerProtocol(
        select_subprotocol=lambda _, offered: csms.select_subprotocol(offered),  # type: ignore[arg-type,return-value]
        max_size=options.max_frame_size,
        extensions=[ServerPerMessageDeflateFactory()] if options.compression == "deflate" else None,
    )
    door = DoorTransport(proto, writer, options.accept_binary)
    peer = writer.get_extra_info("peername")
    events: list[Any] = []
    while not events and proto.state is State.CONNECTING and not proto.eof_sent:
        data = await reader.read(65536)
        if data:
            proto.receive_data(data)
        else:
            proto.receive_eof()
        events = proto.events_received()
        if not data:
            break
    request = events[0] if events else None
    if not isinstance(request, Request):  # not HTTP, or gone before asking
        door.flush()
        writer.close()
        return
    upgrade = Upgrade(
        path=request.path,
        subprotocols=[p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")],
        authorization=request.headers.get("Authorization", ""),
        remote_address=peer,
    )
    verdict = await csms.admit(upgrade)
    response = proto.reject(verdict.status, verdict.body) if isinstance(verdict, Refusal) else proto.accept(request)
    if isinstance(verdict, Refusal):
        for name, value in verdict.headers.items():
            response.headers[name] = value
    proto.send_response(response)
    door.flush()
    if response.status_code != 101 or isinstance(verdict, Refusal):
        writer.close()
        return
    pump = asyncio.ensure_future(door.pump(reader))
    try:
        await csms.serve(door, verdict, proto.subprotocol, peer)
    finally:
        if not door.ended.is_set():
            await door.close(1000, "")
        await pump


@asynccontextmanager
async def serve(csms_kwargs: dict[str, Any]) -> AsyncIterator[tuple[CSMS, str]]:
    csms = CSMS(**csms_kwargs)
    handlers: set[asyncio.Task[Any]] = set()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(_handle(csms, reader, writer))
        handlers.add(task)
        task.add_done_callback(handlers.discard)

    server = await asyncio.start_server(accepted, "127.0.0.1", 0)
    try:
        async with csms:
            yield csms, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


SERVERS = {"sansio": Server(serve)}
