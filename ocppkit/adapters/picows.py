"""A CSMS server and a charging-station client on `picows` (a WebSocket library in Cython).

``pip install "ocppkit[picows]"``. The same parameters, handshake policy and behaviour as
:mod:`ocppkit.adapters.websockets` (its :class:`~ocppkit.adapters.csms.CSMS` and its
``ChargingStation`` with the connection opened by picows), with about a third less CPU per
message on the server: the fast path for large fleets (the load section of docs/performance.md).

- The upgrade request is read before picows sees it, so that :meth:`CSMS.admit` (which may
  await an ``authenticate`` coroutine) decides it: a refusal is answered with its HTTP status,
  body and headers; an admitted request is handed to picows, which answers 101 with the
  subprotocol selected (none: the upgrade completes without one and the connection is closed
  with 1002).
- permessage-deflate (RFC 7692) is websockets' implementation (negotiation and
  ``PerMessageDeflate`` on each message) over picows' frames, with the websockets adapter's
  small window; ``websockets`` is installed with the extra for it.
- Keep-alive pings are picows' auto-ping (sent when the peer has been idle ``ping_interval``
  seconds; no answer within ``ping_timeout`` closes the connection with 1001).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import urllib.parse
from typing import Any, ClassVar, cast

from picows import WSAutoPingStrategy, WSError, WSUpgradeResponse, WSUpgradeResponseWithListener, ws_connect
from picows.picows import WSProtocol  # type: ignore[attr-defined]

from ..edition import edition
from ._options import SessionOptions
from ._pwtransport import PicowsTransport, client_deflate, deflate_offer, server_deflate
from ._wsstation import ChargingStation as _WebSocketsStation
from ._wstransport import CLOSE_TIMEOUT
from .asyncio import Transport
from .csms import CSMS, Refusal, Upgrade

__all__ = ["CSMSServer", "ChargingStation"]

log = logging.getLogger("ocppkit")
#: picows' own log lines (a connection accepted, lost: INFO) go to "ocppkit.picows", one logger for
#: every connection (picows would make one per connection); WARNING and above unless configured
_picows_logger = logging.getLogger("ocppkit.picows")
if _picows_logger.level == logging.NOTSET:
    _picows_logger.setLevel(logging.WARNING)


class _PicowsLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """picows' log lines; the close it logs at ERROR after a WSProtocolError from our listener
    is the peer's protocol violation (1002, 1007, 1009: the session records why), so INFO."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level == logging.ERROR and isinstance(msg, str) and msg.startswith("on_ws_frame raised WSProtocolError"):
            level = logging.INFO
        super().log(level, msg, *args, **kwargs)


_picows_log = _PicowsLog(_picows_logger, {})
_MAX_REQUEST = 16 * 1024  # bytes of an upgrade request's head, at most
_HANDSHAKE_TIMEOUT = 10.0  # seconds from the TCP connection to the end of the upgrade request
_PHRASES = {
    426: "Upgrade Required",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _ping_settings(options: SessionOptions) -> dict[str, Any]:
    """picows' auto-ping from the session options: a ping after ``ping_interval`` seconds without
    a frame from the peer, the connection closed when no pong comes within ``ping_timeout``
    (picows needs that wait to be at most the interval: it is cut to it)."""
    interval = options.ping_interval or 0
    if not interval:
        return {
            "enable_auto_ping": False,
            "auto_ping_idle_timeout": 20.0,
            "auto_ping_reply_timeout": 20.0,
            "auto_ping_strategy": WSAutoPingStrategy.PING_WHEN_IDLE,
        }
    reply = interval if options.ping_timeout is None else min(options.ping_timeout, interval)
    return {
        "enable_auto_ping": True,
        "auto_ping_idle_timeout": interval,
        "auto_ping_reply_timeout": reply,
        "auto_ping_strategy": WSAutoPingStrategy.PING_WHEN_IDLE,
    }


def _close_timeout(options: SessionOptions) -> float:
    return CLOSE_TIMEOUT if options.ping_timeout is None else min(CLOSE_TIMEOUT, options.ping_timeout)


class CSMSServer(CSMS):
    """A :class:`~ocppkit.adapters.csms.CSMS` listening with picows: the same parameters and
    station API as ``ocppkit.adapters.websockets.CSMSServer`` (``call``, ``stations``,
    ``events``, ``blocking``, ...), and :meth:`start` listens on a host and port. See
    :class:`~ocppkit.adapters.csms.CSMS` for the parameters and attributes.
    """

    listens: ClassVar[bool] = True
    _server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on (useful with port 0)."""
        assert self._server is not None, "call start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str = "127.0.0.1", port: int = 9000) -> None:
        """Listen on ``host``:``port`` (port 0 picks a free port: see :attr:`port`); then, with a
        ``cluster``, await ``cluster.start(self)`` (if it raises, the server closes again)."""
        self._begin()
        self._gates: set[_Gate] = set()
        self._served: set[asyncio.Task[None]] = set()
        self._pending: set[PicowsTransport] = set()  # upgraded, their session not yet started
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Gate(self),
            host,
            port,
            ssl=self.ssl_context,
            backlog=self.backlog,
            reuse_port=self.reuse_port or None,
        )
        await self._start_cluster()

    async def _stop_listening(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for gate in list(self._gates):  # upgrades not decided yet
            gate.abort()
        for transport in list(self._pending):  # upgraded a moment ago: no session to close yet
            transport.abort()
        await self._server.wait_closed()

    async def __aenter__(self) -> CSMSServer:
        return self

    def _upgrade(self, gate: _Gate, identity: str, offered: list[str], extensions: list[str]) -> None:
        """Hand an admitted upgrade request to picows: a listener with the subprotocol and the
        extension agreed, and the 101 that announces them."""
        o = self.options
        subprotocol = self.select_subprotocol(offered)
        headers: dict[str, str] = {}
        if subprotocol is not None:
            headers["Sec-WebSocket-Protocol"] = subprotocol
        deflate = None
        if o.compression == "deflate":
            agreed = server_deflate(extensions)
            if agreed is not None:
                headers["Sec-WebSocket-Extensions"], deflate = agreed
        transport = PicowsTransport(o.max_frame_size, o.accept_binary, deflate, _close_timeout(o))
        remote = gate.remote_address

        def connected(t: PicowsTransport) -> None:
            self._pending.add(t)
            task = asyncio.get_running_loop().create_task(self._serve(t, identity, subprotocol, remote))
            self._served.add(task)
            task.add_done_callback(self._served.discard)

        transport.on_connected = connected
        response = WSUpgradeResponseWithListener(WSUpgradeResponse.create_101_response(headers), transport)
        pings = _ping_settings(o)
        protocol = WSProtocol(
            None,  # host and port: a server's
            None,  # path: a server's
            False,  # the server side
            lambda request: response,
            _picows_log,
            True,  # disconnect when a callback raises
            _HANDSHAKE_TIMEOUT,
            pings["enable_auto_ping"],
            pings["auto_ping_idle_timeout"],
            pings["auto_ping_reply_timeout"],
            pings["auto_ping_strategy"],
            True,  # auto-pong
            o.max_frame_size,
            None,  # extra request headers: a client's
            2048,  # the read buffer's initial size (picows' least): it doubles as frames need
        )
        gate.hand_over(protocol)

    async def _serve(self, transport: PicowsTransport, identity: str, subprotocol: str | None, remote: Any) -> None:
        self._pending.discard(transport)  # serve() puts the session in ``sessions`` before it awaits
        await self.serve(transport, identity, subprotocol, remote)


class _Gate(asyncio.Protocol):
    """A new connection until its upgrade request is decided: reads the request's head, asks
    :meth:`CSMS.admit` (which may await), answers a refusal itself and hands an admitted request
    (the bytes read so far) to picows' protocol."""

    def __init__(self, server: CSMSServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.remote_address: Any = None
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # An asyncio.Transport in behaviour, not always by class: uvloop's TCPTransport is not
        # a subclass of it.
        self.transport = cast(asyncio.Transport, transport)
        self.remote_address = transport.get_extra_info("peername")
        if self.server.receive_buffer is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.server.receive_buffer)
                except OSError:
                    pass
        self.server._gates.add(self)
        self.timer = asyncio.get_running_loop().call_later(_HANDSHAKE_TIMEOUT, self.abort)

    def data_received(self, data: bytes) -> None:
        if self.task is not None:  # more bytes while the request is decided: kept for picows
            self.buffer += data
            return
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > _MAX_REQUEST:
                self._refuse(Refusal(431, "request-size", "Request head too large\n"))
            return
        assert self.transport is not None
        self.transport.pause_reading()
        self.task = asyncio.get_running_loop().create_task(self._decide(bytes(self.buffer[:end])))

    def connection_lost(self, exc: Exception | None) -> None:
        self._done()
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def _done(self) -> None:
        self.server._gates.discard(self)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def abort(self) -> None:
        self._done()
        if self.transport is not None:
            self.transport.abort()

    async def _decide(self, head: bytes) -> None:
        try:
            await self._admit(head)
        except Exception:  # a bug of ours or of a hook: this connection fails, nothing else
            log.exception("picows: the upgrade request from %s failed", self.remote_address)
            if self.transport is not None and not self.transport.is_closing():
                self._refuse(Refusal(500, "internal-error", "Internal error\n"))

    async def _admit(self, head: bytes) -> None:
        try:
            path, headers = _parse_head(head)
        except ValueError as exc:
            self._refuse(Refusal(400, "malformed-request", f"{exc}\n"))
            return
        if [v.lower() for v in headers.get("upgrade", ())] != ["websocket"]:
            self._refuse(
                Refusal(426, "not-websocket", "This endpoint speaks OCPP-J over WebSocket\n", {"Upgrade": "websocket"})
            )
            return
        if headers.get("sec-websocket-version") != ["13"]:  # RFC 6455 §4.4
            self._refuse(
                Refusal(426, "websocket-version", "WebSocket version 13 only\n", {"Sec-WebSocket-Version": "13"})
            )
            return
        sslobj = self.transport.get_extra_info("ssl_object") if self.transport is not None else None
        offered = [p.strip() for h in headers.get("sec-websocket-protocol", ()) for p in h.split(",") if p.strip()]
        upgrade = Upgrade(
            path=path,
            subprotocols=offered,
            authorization=(headers.get("authorization") or [""])[0],
            remote_address=self.remote_address,
            client_certificate=sslobj.getpeercert() if sslobj is not None else None,
        )
        verdict = await self.server.admit(upgrade)
        if self.transport is None or self.transport.is_closing():
            return
        if isinstance(verdict, Refusal):
            self._refuse(verdict)
            return
        self.server._upgrade(self, verdict, offered, list(headers.get("sec-websocket-extensions", ())))

    def _refuse(self, refusal: Refusal) -> None:
        self._done()
        assert self.transport is not None
        body = refusal.body.encode()
        lines = [
            f"HTTP/1.1 {refusal.status} {_PHRASES.get(refusal.status, 'Refused')}",
            "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in refusal.headers.items()),
        ]
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.transport.close()

    def hand_over(self, protocol: Any) -> None:
        """picows' protocol takes the connection, with the bytes read so far."""
        self._done()
        transport = self.transport
        assert transport is not None
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        data = memoryview(bytes(self.buffer))
        while data:
            buffer = protocol.get_buffer(len(data))
            n = min(len(buffer), len(data))
            buffer[:n] = data[:n]
            protocol.buffer_updated(n)
            data = data[n:]
        self.buffer = bytearray()
        transport.resume_reading()


def _parse_head(head: bytes) -> tuple[str, dict[str, list[str]]]:
    """The request target and the headers (lower-case names, every value) of an HTTP/1.1 GET's
    head. ValueError names what is wrong; picows checks the upgrade headers later."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[2] != b"HTTP/1.1":
        raise ValueError("expected a WebSocket upgrade: GET <path> HTTP/1.1")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise ValueError("a malformed header line")
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.strip().decode("latin-1"))
    return parts[1].decode("latin-1"), headers


class ChargingStation(_WebSocketsStation):
    """The charging-station client of :mod:`ocppkit.adapters.websockets` with its connections
    opened by picows: the same parameters, attributes and behaviour (reconnection with back-off,
    the outbox, security profiles 1-3, ``call``/``submit``/``send``/``close``)."""

    connect_errors: ClassVar[tuple[type[BaseException], ...]] = (WSError,)

    async def _open(self) -> tuple[Transport, str | None]:
        o = self.options
        subprotocols = [edition(v).subprotocol for v in self.versions]
        headers = {"Sec-WebSocket-Protocol": ", ".join(subprotocols), **self._headers()}
        if o.compression == "deflate":
            headers["Sec-WebSocket-Extensions"] = deflate_offer()

        def factory(request: Any, response: Any) -> PicowsTransport:
            # Called with the 101 before picows reads any frame: the extension is in place for
            # a frame that arrives with the response.
            answers = response.headers.getall("Sec-WebSocket-Extensions", [])
            if o.compression == "deflate":
                deflate = client_deflate(answers)
            elif answers:
                raise ConnectionError("the CSMS accepted an extension we did not offer")
            else:
                deflate = None
            return PicowsTransport(o.max_frame_size, o.accept_binary, deflate, _close_timeout(o))

        pings = _ping_settings(o)
        secure = urllib.parse.urlsplit(self.url).scheme == "wss"
        ws, listener = await ws_connect(
            factory,
            self.url,
            ssl_context=(self.ssl_context or ssl.create_default_context()) if secure else None,
            websocket_handshake_timeout=10,
            logger_name=_picows_log,
            extra_headers=headers,
            max_frame_size=o.max_frame_size,
            max_redirects=0,
            read_buffer_init_size=2048,
            **pings,
        )
        assert isinstance(listener, PicowsTransport)
        listener.watch(ws)
        subprotocol = ws.response.headers.get("Sec-WebSocket-Protocol")
        if subprotocol is not None and subprotocol not in subprotocols:
            await listener.close(1002, "a subprotocol we did not offer")
            raise ConnectionError(f"the CSMS selected a subprotocol we did not offer: {subprotocol[:40]!r}")
        return listener, subprotocol
