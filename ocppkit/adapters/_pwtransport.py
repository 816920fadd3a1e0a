"""The picows library as a Session transport: one object per connection that is both picows'
listener (``on_ws_frame`` feeds a receive queue) and the Session's
:class:`~ocppkit.adapters.asyncio.Transport`; and permessage-deflate (RFC 7692) on picows'
frames with websockets' implementation of the extension. Only ``ocppkit.adapters.picows``
imports it.

picows hands over frames, not messages: this module reassembles fragmented messages (up to
``max_frame_size``, then 1009), checks text for UTF-8 (1007), refuses binary frames (1003)
unless ``accept_binary``, answers the peer's close frame, and turns every end of the connection
into ``ConnectionError`` with its reason.
"""

from __future__ import annotations

import asyncio
import collections
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSProtocolError, WSTransport
from websockets.exceptions import NegotiationError, PayloadTooBig, ProtocolError
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.headers import build_extension, parse_extension

from ._wstransport import CLOSE_TIMEOUT, DEFLATE

__all__ = ["PicowsTransport", "client_deflate", "deflate_offer", "server_deflate"]

_TEXT, _BINARY, _CONT = WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION
_CLOSE, _PING, _PONG = WSMsgType.CLOSE, WSMsgType.PING, WSMsgType.PONG
#: messages queued unread after which the socket stops being read (until the session catches up)
_HIGH_WATER = 64


def _close_code(code: int) -> Any:
    """``code`` as picows takes it (its enum lists only the registered codes, 3000-4999 pass as
    ints to the typed C parameter)."""
    try:
        return WSCloseCode(code)
    except ValueError:
        return code


class PicowsTransport(WSListener):
    """One picows connection: its listener and the Session's transport.

    ``recv()`` returns the next message from a queue fed by ``on_ws_frame`` (no coroutine per
    message while messages wait); ``send()`` writes at once and waits only while the socket's
    write buffer is above its high-water mark (picows' ``pause_writing``). It has the two
    optional parts of :class:`~ocppkit.adapters.asyncio.Transport`: ``write_now`` and
    ``set_receiver`` (a message that arrives while ``recv()`` waits, with none queued, goes to
    the session's receiver, which processes it at once or declines it)."""

    __slots__ = (
        "_closed",
        "_drain",
        "_parts",
        "_parts_binary",
        "_parts_compressed",
        "_parts_size",
        "_paused_reading",
        "_queue",
        "_receiver",
        "_waiter",
        "_watcher",
        "accept_binary",
        "close_timeout",
        "deflate",
        "max_size",
        "on_connected",
        "reason",
        "ws",
    )

    def __init__(
        self,
        max_size: int,
        accept_binary: bool = False,
        deflate: PerMessageDeflate | None = None,
        close_timeout: float = CLOSE_TIMEOUT,
    ) -> None:
        self.max_size = max_size
        self.accept_binary = accept_binary
        self.deflate = deflate
        self.close_timeout = close_timeout
        self.ws: WSTransport | None = None
        self.reason: str | None = None  # why it ended (or is ending), once it has
        self._queue: collections.deque[bytes | str] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._paused_reading = False
        self._parts: list[bytes] | None = None  # a fragmented message being assembled
        self._parts_size = 0
        self._parts_binary = False
        self._parts_compressed = False
        self._closed = asyncio.get_running_loop().create_future()
        self.on_connected: Any = None  # the server's callback, given this transport
        self._watcher: asyncio.Future[None] | None = None
        self._receiver: Callable[[bytes | str], bool] | None = None

    # ------------------------------------------------------------- picows' callbacks

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.ws = transport
        if self.on_connected is not None:
            self.on_connected(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            if frame.rsv2 or frame.rsv3 or (frame.rsv1 and self.deflate is None):
                self._fail(WSCloseCode.PROTOCOL_ERROR, "reserved bits set without a negotiated extension")
            if self._parts is not None:
                self._fail(WSCloseCode.PROTOCOL_ERROR, "a new message before the last one's final frame")
            if frame.fin and not frame.rsv1:  # the usual message: one uncompressed frame
                if msg_type is _TEXT:
                    try:
                        self._deliver(frame.get_payload_as_utf8_text())
                    except UnicodeDecodeError:
                        self._fail(WSCloseCode.INVALID_TEXT, "a text frame that is not UTF-8")
                else:
                    self._binary(frame.get_payload_as_bytes())
                return
            self._parts = []
            self._parts_size = 0
            self._parts_binary = msg_type is _BINARY
            self._parts_compressed = bool(frame.rsv1)
            self._fragment(frame, Opcode.BINARY if self._parts_binary else Opcode.TEXT)
        elif msg_type is _CONT:
            if self._parts is None:
                self._fail(WSCloseCode.PROTOCOL_ERROR, "a continuation frame with no message to continue")
            if frame.rsv1 or frame.rsv2 or frame.rsv3:
                self._fail(WSCloseCode.PROTOCOL_ERROR, "reserved bits set on a continuation frame")
            self._fragment(frame, Opcode.CONT)
        elif msg_type is _CLOSE:
            self._close_received(transport, frame)
        # PING is answered by picows (auto-pong); a PONG needs nothing

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.reason is None:
            handshake = transport.close_handshake
            self.reason = _describe(handshake) if handshake is not None else "the connection was lost (no close frame)"
        self._wake(ConnectionError(self.reason))
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        if self._drain is None:
            self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    # ------------------------------------------------------------- messages in

    def _deliver(self, message: bytes | str) -> None:
        receiver = self._receiver
        if receiver is not None and self._waiter is not None and not self._queue and receiver(message):
            return  # the session processed it in this callback: its reader task stays asleep
        self._queue.append(message)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        if len(self._queue) >= _HIGH_WATER and not self._paused_reading and self.ws is not None:
            self._paused_reading = True
            self.ws.underlying_transport.pause_reading()

    def _binary(self, data: bytes) -> None:
        if self.accept_binary:
            self._deliver(data)
            return
        self.reason = "a binary frame: closed with 1003 (OCPP-J messages are text frames)"
        self._start_close(1003, "OCPP-J messages are text frames")
        self._wake(ConnectionError(self.reason))

    def _fragment(self, frame: WSFrame, opcode: Opcode) -> None:
        assert self._parts is not None
        data = frame.get_payload_as_bytes()
        if self._parts_compressed:
            assert self.deflate is not None
            try:
                decoded = self.deflate.decode(
                    Frame(opcode, data, frame.fin, opcode is not Opcode.CONT),
                    max_size=self.max_size - self._parts_size,
                )
            except PayloadTooBig:
                self._fail(WSCloseCode.MESSAGE_TOO_BIG, f"a message over {self.max_size} bytes")
            except ProtocolError as exc:
                self._fail(WSCloseCode.PROTOCOL_ERROR, str(exc)[:100])
            data = bytes(decoded.data)
        self._parts_size += len(data)
        if self._parts_size > self.max_size:
            self._fail(WSCloseCode.MESSAGE_TOO_BIG, f"a message over {self.max_size} bytes")
        self._parts.append(data)
        if not frame.fin:
            return
        message = b"".join(self._parts)
        self._parts = None
        if self._parts_binary:
            self._binary(message)
            return
        try:
            self._deliver(message.decode("utf-8"))
        except UnicodeDecodeError:
            self._fail(WSCloseCode.INVALID_TEXT, "a text message that is not UTF-8")

    def _fail(self, code: WSCloseCode, why: str) -> None:
        """End the connection for a protocol violation of the peer: picows sends the close frame
        with ``code`` and disconnects."""
        self.reason = f"sent {code.value} ({why})"
        self._wake(ConnectionError(self.reason))
        raise WSProtocolError(code, why)

    def _close_received(self, transport: WSTransport, frame: WSFrame) -> None:
        if not transport.is_close_frame_sent:  # the peer closes: answer with its code, then hang up
            code = frame.get_close_code()
            echo = code if isinstance(code, WSCloseCode) and code is not WSCloseCode.NO_INFO else WSCloseCode.OK
            transport.send_close(echo, frame.get_close_message())
        if self.reason is None and transport.close_handshake is not None:
            self.reason = _describe(transport.close_handshake)
        self._wake(ConnectionError(self.reason or "closed"))
        transport.disconnect()

    def _wake(self, exc: BaseException) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(exc)
        self.resume_writing()

    # ------------------------------------------------------------- the Session's transport

    async def recv(self) -> bytes | str:
        while True:
            if self._queue:
                message = self._queue.popleft()
                if self._paused_reading and len(self._queue) < _HIGH_WATER // 2 and self.ws is not None:
                    self._paused_reading = False
                    self.ws.underlying_transport.resume_reading()
                return message
            if self.reason is not None:
                raise ConnectionError(self.reason)
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None

    def set_receiver(self, receiver: Callable[[bytes | str], bool] | None) -> None:
        self._receiver = receiver

    def write_now(self, data: bytes) -> bool:
        """Write one message at once; True when the socket's buffer is then over its high-water
        mark (wait for ``drained()`` before writing more)."""
        ws = self.ws
        if ws is None or self.reason is not None or ws.is_close_frame_sent or ws.is_disconnected:
            raise ConnectionError(self.reason or "the connection is closing")
        if self.deflate is None:
            ws.send(_TEXT, data)
        else:
            frame = self.deflate.encode(Frame(Opcode.TEXT, data))
            ws.send(_TEXT, frame.data, True, True)
        return self._drain is not None

    @property
    def writable(self) -> bool:
        """Whether a message written now would not wait (the buffer is under its mark)."""
        return self._drain is None

    async def drained(self) -> None:
        """Return once the socket's buffer is under its high-water mark again."""
        if self._drain is not None:
            await asyncio.shield(self._drain)
            if self.reason is not None:
                raise ConnectionError(self.reason)

    async def send(self, data: bytes) -> None:
        if self.write_now(data):  # the socket's buffer is full: wait until it drains
            await self.drained()

    def _start_close(self, code: int, reason: str) -> None:
        ws = self.ws
        if ws is None or ws.is_disconnected:
            return
        if not ws.is_close_frame_sent:
            ws.send_close(_close_code(code), reason.encode()[:123])
        asyncio.get_running_loop().call_later(self.close_timeout, self.abort)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        ws = self.ws
        if ws is None or ws.is_disconnected:
            return
        if self.reason is None:
            self.reason = f"sent {code} ({reason})" if reason else f"sent {code}"
        self._start_close(code, reason)
        self._wake(ConnectionError(self.reason))
        await asyncio.shield(self._closed)

    def abort(self) -> None:
        ws = self.ws
        if ws is None or ws.is_disconnected:
            return
        if self.reason is None:
            self.reason = "aborted"
        self._wake(ConnectionError(self.reason))
        ws.disconnect(False)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    def watch(self, ws: WSTransport) -> None:
        """A client's connection: picows keeps the exception that ended it (a protocol error we
        raised) for ``wait_disconnected()``, which nobody else awaits; take it there, so that
        asyncio does not log it as never retrieved (``reason`` says it already)."""
        self._watcher = asyncio.ensure_future(ws.wait_disconnected())
        self._watcher.add_done_callback(_retrieve)


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _describe(handshake: Any) -> str:
    """picows' close handshake as websockets words it ("received 1000 (bye); then sent 1000")."""
    parts = []
    for verb, info in (("received", handshake.recv), ("sent", handshake.sent)):
        if info is not None:
            code = info.code.value if isinstance(info.code, WSCloseCode) else int(info.code)
            parts.append(f"{verb} {code}" + (f" ({info.reason})" if info.reason else ""))
    if handshake.recv is not None and handshake.sent is not None and not handshake.recv_then_sent:
        parts.reverse()
    return "; then ".join(parts) or "closed"


# ------------------------------------------------------------- permessage-deflate


def server_deflate(offers: Sequence[str]) -> tuple[str, PerMessageDeflate] | None:
    """The ``Sec-WebSocket-Extensions`` answer and the extension for a station offering
    ``offers`` (that header's values), with the window of the websockets adapter, or None when it
    offers no permessage-deflate we accept (websockets' negotiation decides)."""
    factory = ServerPerMessageDeflateFactory(**DEFLATE)
    for value in offers:
        try:
            extensions = parse_extension(value)
        except Exception:  # a malformed header: no compression (websockets refuses the handshake)
            return None
        for name, params in extensions:
            if name != factory.name:
                continue
            try:
                response, extension = factory.process_request_params(params, [])
            except NegotiationError:
                continue
            return build_extension([(name, response)]), extension
    return None


def deflate_offer() -> str:
    """The station's ``Sec-WebSocket-Extensions`` offer (the websockets adapter's window)."""
    factory = ClientPerMessageDeflateFactory(**DEFLATE)
    return build_extension([(factory.name, list(factory.get_request_params()))])


def client_deflate(answers: Sequence[str]) -> PerMessageDeflate | None:
    """The extension the CSMS accepted in its ``Sec-WebSocket-Extensions`` ``answers`` (None: no
    compression). Raises ConnectionError for an answer we did not offer."""
    factory = ClientPerMessageDeflateFactory(**DEFLATE)
    accepted: PerMessageDeflate | None = None
    for value in answers:
        try:
            for name, params in parse_extension(value):
                if name != factory.name or accepted is not None:
                    raise ConnectionError(f"the CSMS accepted an extension we did not offer: {value[:80]!r}")
                accepted = factory.process_response_params(params, [])
        except (NegotiationError, ValueError, zlib.error) as exc:
            raise ConnectionError(f"the CSMS's permessage-deflate answer is invalid: {exc}") from None
        except Exception as exc:  # websockets' InvalidHeaderFormat
            if isinstance(exc, ConnectionError):
                raise
            raise ConnectionError(f"the CSMS's Sec-WebSocket-Extensions is malformed: {value[:80]!r}") from None
    return accepted
