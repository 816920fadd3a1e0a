"""A CSMS on an ``aiohttp.web`` route (``pip install "ocppkit[aiohttp]"``).

:class:`WebSocketHandler` is a front door to an :class:`~ocppkit.adapters.csms.CSMS` (the
policy, the stations, the calls): ``handler.install(app)`` adds the route
``csms.path_prefix + "{identity}"`` (or ``app.router.add_get("/ocpp/{identity}",
handler.handle)`` with ``CSMS(..., path_prefix="/ocpp/")``). For each request it asks
``csms.admit`` before the upgrade (a refusal is an ordinary HTTP response with its status),
selects the subprotocol, prepares the ``aiohttp.web.WebSocketResponse`` with the CSMS's options
(``ping_interval`` as aiohttp's ``heartbeat``, ``max_frame_size`` as ``max_msg_size``,
``compression`` as ``compress``) and hands the connection to ``csms.serve``. TLS is aiohttp's
(``web.TCPSite(..., ssl_context=...)``, whose verified client certificate profile 3 reads) or a
proxy's (see :class:`WebSocketHandler`).
See "aiohttp" in docs/adapters.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from aiohttp import WSMsgType, web

from ._asgiproxy import forwarded_upgrade, front_door
from ._wstransport import CLOSE_TIMEOUT
from .csms import CSMS, Refusal

__all__ = ["AiohttpTransport", "WebSocketHandler"]

_CLOSED = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)


class AiohttpTransport:
    """An ``aiohttp.web.WebSocketResponse`` as the Session's
    :class:`~ocppkit.adapters.asyncio.Transport`: text frames in and out (aiohttp checks the
    UTF-8 of text frames and closes with 1007; a message over ``max_msg_size`` closes with 1009),
    a binary frame closes with 1003 unless ``accept_binary``, and a closed connection is a
    ``ConnectionError``; ``abort`` drops the TCP connection.

    Parameters:
        ws: the prepared WebSocket response.
        request: the request it answered (whose TCP transport ``abort`` drops).
        accept_binary: take binary frames as messages (default False).
    """

    __slots__ = ("accept_binary", "request", "ws")

    def __init__(self, ws: web.WebSocketResponse, request: web.BaseRequest, accept_binary: bool = False) -> None:
        self.ws = ws
        self.request = request
        self.accept_binary = accept_binary

    async def send(self, data: bytes) -> None:
        """Send ``data`` (UTF-8 JSON) as one text frame; ``ConnectionError`` once closed."""
        try:
            await self.ws.send_frame(data, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError) as exc:
            raise ConnectionError(f"the connection is closed ({exc})") from exc

    async def recv(self) -> bytes | str:
        """The next text message (``str``); ``ConnectionError`` once the connection has closed."""
        try:
            msg = await self.ws.receive()
        except RuntimeError as exc:  # receiving on a connection closed long ago
            raise ConnectionError(str(exc)) from exc
        kind = msg.type
        if kind is WSMsgType.TEXT:
            return str(msg.data)
        if kind is WSMsgType.BINARY:
            if self.accept_binary:
                return bytes(msg.data)
            await self.ws.close(code=1003, message=b"OCPP-J messages are text frames")
            raise ConnectionError("a binary frame: closed with 1003 (OCPP-J messages are text frames)")
        if kind is WSMsgType.ERROR:
            raise ConnectionError(f"closed with code {self.ws.close_code} ({type(msg.data).__name__}: {msg.data})")
        if kind in _CLOSED:
            raise ConnectionError(f"closed with code {self.ws.close_code}")
        raise ConnectionError(f"unexpected WebSocket message {kind!r}")

    def abort(self) -> None:
        """Drop the TCP connection at once (no close handshake)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close with a WebSocket close ``code`` and ``reason``, waiting for the peer's close
        frame at most the handler's close timeout."""
        try:
            await self.ws.close(code=code, message=reason.encode())
        except (ConnectionError, RuntimeError):  # already gone
            pass


class WebSocketHandler:
    """An ``aiohttp.web`` request handler serving charging stations for ``csms`` (a
    :class:`~ocppkit.adapters.csms.CSMS` that does not listen itself).

    The identity is read from the request's raw path (the whole path, sub-applications'
    prefixes included), so ``csms.path_prefix`` is the route's prefix:
    ``app.router.add_get("/ocpp/{identity}", handler.handle)`` for
    ``handler = WebSocketHandler(CSMS(..., path_prefix="/ocpp/"))``, or ``handler.install(app)``
    (the same route, and the CSMS started and closed with the application). Start the CSMS with
    the application (``app.cleanup_ctx.append(handler.cleanup_ctx)``, or ``async with csms:``
    around the runner); a request before that starts it.

    Profiles 2 and 3 refuse (HTTP 403, ``"no-tls"``) a request that came neither over aiohttp's
    TLS nor, per ``forwarded_proto_header``, over a trusted proxy's. Profile 3 takes the client
    certificate aiohttp's TLS verified, or the one a trusted proxy forwards (the parameters are
    those of :class:`ocppkit.adapters.asgi.ASGIApp`, with the same risks).

    Parameters:
        csms: the CSMS whose policy, stations and calls this handler serves.
        trusted_proxies: the IP addresses or networks of the proxies whose forwarded headers are
            believed.
        certificate_header: the header with the client certificate as URL-encoded PEM, from a
            trusted proxy (needs ``cryptography``).
        subject_header: instead, the header with its verified subject (RFC 4514).
        verify_header: the header with the proxy's verdict; a certificate counts only if it is
            ``SUCCESS``.
        forwarded_proto_header: the header with the station's scheme, from a trusted proxy
            (default ``x-forwarded-proto``).
        forwarded_for_header: the header with the station's address, from a trusted proxy
            (default ``x-forwarded-for``).

    Attributes:
        csms: the CSMS served.
    """

    def __init__(
        self,
        csms: CSMS,
        *,
        trusted_proxies: Iterable[str] = (),
        certificate_header: str | None = None,
        subject_header: str | None = None,
        verify_header: str | None = None,
        forwarded_proto_header: str | None = "x-forwarded-proto",
        forwarded_for_header: str | None = "x-forwarded-for",
    ) -> None:
        self._trust = front_door(
            csms,
            "WebSocketHandler",
            trusted_proxies,
            certificate_header,
            subject_header,
            verify_header,
            forwarded_proto_header,
            forwarded_for_header,
        )
        self.csms = csms

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """For ``app.cleanup_ctx``: start the CSMS with the application, close it at its cleanup."""
        if self.csms._loop is None:
            await self.csms.start()
        yield
        await self.csms.close()

    def _response(self, subprotocol: str | None) -> web.WebSocketResponse:
        o = self.csms.options
        close_timeout = CLOSE_TIMEOUT if o.ping_timeout is None else min(CLOSE_TIMEOUT, o.ping_timeout)
        return web.WebSocketResponse(
            timeout=close_timeout,
            heartbeat=o.ping_interval or None,
            max_msg_size=o.max_frame_size,
            compress=o.compression == "deflate",
            autoping=True,
            protocols=(subprotocol,) if subprotocol is not None else (),
        )

    def install(self, app: web.Application, path: str | None = None) -> None:
        """Add the route (``path``, default ``csms.path_prefix + "{identity}"``) serving
        :meth:`handle` to ``app``, and :meth:`cleanup_ctx` to its ``cleanup_ctx``."""
        app.router.add_get(path if path is not None else self.csms.path_prefix + "{identity}", self.handle)
        app.cleanup_ctx.append(self.cleanup_ctx)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The request handler (a coroutine function, as aiohttp wants it): the upgrade, or the
        HTTP refusal; then the station's session until it ends."""
        if request.headers.get("Upgrade", "").strip().lower() != "websocket":  # prepare() judges the rest (400)
            return web.Response(
                status=426, text="This endpoint speaks OCPP-J over WebSocket\n", headers={"Upgrade": "websocket"}
            )
        if [v.strip() for v in request.headers.getall("Sec-WebSocket-Version", [])] != ["13"]:  # RFC 6455 §4.4
            return web.Response(status=426, text="WebSocket version 13 only\n", headers={"Sec-WebSocket-Version": "13"})
        if self.csms._loop is None:
            await self.csms.start()
        transport = request.transport
        ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
        peer = transport.get_extra_info("peername") if transport is not None else None
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        offered = [p.strip() for h in headers.get("sec-websocket-protocol", ()) for p in h.split(",") if p.strip()]
        verdict = await forwarded_upgrade(
            self.csms,
            self._trust,
            request.raw_path,
            offered,
            headers,
            (str(peer[0]), int(peer[1])) if peer else None,
            ssl_object is not None,
            (ssl_object.getpeercert() or None) if ssl_object is not None else None,
        )
        if isinstance(verdict, Refusal):
            return web.Response(status=verdict.status, text=verdict.body, headers=dict(verdict.headers))
        identity, remote = verdict
        subprotocol = self.csms.select_subprotocol(offered)
        ws = self._response(subprotocol)
        await ws.prepare(request)
        transport_ = AiohttpTransport(ws, request, self.csms.options.accept_binary)
        await self.csms.serve(transport_, identity, ws.ws_protocol, remote)
        if not ws.closed:
            await ws.close()
        return ws
