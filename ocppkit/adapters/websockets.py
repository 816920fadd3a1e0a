"""A CSMS server and a charging-station client on the `websockets` library (asyncio).

``pip install "ocppkit[websockets]"``. Both are thin layers over :class:`ocppkit.Connection`
driven by :class:`ocppkit.adapters.asyncio.Session`:

- subprotocol negotiation: the station offers its versions in order of preference
  (``ocpp2.1``, ``ocpp2.0.1``, ``ocpp1.6``); the server takes the first one it has a router
  for, and when none matches it finishes the handshake without a subprotocol and closes at once;
- the station identity is the last segment of the URL path, percent-decoded; an
  ``authenticate`` hook can refuse it (HTTP 404 or 401) before the upgrade;
- security profiles 1 (HTTP Basic over ws://), 2 (TLS 1.2+ and Basic) and 3 (mutual TLS);
- the station reconnects with exponential back-off and jitter (calls then go over the new
  connection), pings to keep the connection alive, and closes gracefully, waiting for pending
  calls up to a limit.

Both roles share one :class:`~ocppkit.adapters.asyncio.SessionOptions` record (``options=``,
or the keyword parameters of the same names) and open each connection's session with
:func:`~ocppkit.adapters.asyncio.open_session`; the websockets connection is wrapped in a
transport that turns websockets' ``ConnectionClosed`` into ``ConnectionError``. The handshake
rules (identity, Basic auth, TLS profile checks) live in ``ocppkit.adapters.handshake``.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse

from ..edition import EDITIONS
from ._backoff import RetryBackOff
from ._wsstation import ChargingStation
from ._wstransport import WebSocketTransport, set_receive_buffer, websocket_settings
from .csms import CSMS, Refusal, Upgrade
from .handshake import (
    AuthThrottle,
    Handshake,
    basic_auth_header,
    common_name_is_identity,
    default_identity_rule,
    identifier_string_rule,
    identity_from_path,
    identity_in_path,
    lenient_identity_rule,
)

__all__ = [
    "SUBPROTOCOLS",
    "AuthThrottle",
    "CSMSServer",
    "ChargingStation",
    "Handshake",
    "RetryBackOff",
    "basic_auth_header",
    "common_name_is_identity",
    "default_identity_rule",
    "identifier_string_rule",
    "identity_from_path",
    "identity_in_path",
    "lenient_identity_rule",
]

log = logging.getLogger("ocppkit")

#: OCPP version -> WebSocket subprotocol (read-only), from the editions: the same as
#: ``ocppkit.edition(version).subprotocol``.
SUBPROTOCOLS: Mapping[str, str] = MappingProxyType({v: e.subprotocol for v, e in EDITIONS.items()})


class CSMSServer(CSMS):
    """A :class:`~ocppkit.adapters.csms.CSMS` listening with the websockets library: the same
    parameters and station API (``call``, ``stations``, ``events``, ``blocking``, ...), and
    :meth:`start` listens on a host and port. Use as ``async with CSMSServer(...) as csms:``
    after ``await csms.start(host, port)``, or ``await csms.start(...)`` / ``await
    csms.close()``. See :class:`~ocppkit.adapters.csms.CSMS` for the parameters and attributes.
    """

    listens: ClassVar[bool] = True
    _server: Server | None = None

    @property
    def port(self) -> int:
        """The TCP port the server listens on (useful with port 0)."""
        assert self._server is not None, "call start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str = "127.0.0.1", port: int = 9000) -> None:
        """Listen on ``host``:``port`` (port 0 picks a free port: see :attr:`port`); then, with a
        ``cluster``, await ``cluster.start(self)`` (if it raises, the server closes again)."""
        self._begin()
        # identities admitted by process_request, until _serve takes them (dropped with the connection)
        self._identities: weakref.WeakKeyDictionary[ServerConnection, str] = weakref.WeakKeyDictionary()
        self._server = await serve(
            self._serve,
            host,
            port,
            select_subprotocol=self._select_subprotocol,
            process_request=self._process_request,
            ssl=self.ssl_context,
            backlog=self.backlog,
            reuse_port=self.reuse_port or None,
            **websocket_settings(self.options, ServerPerMessageDeflateFactory),
        )
        await self._start_cluster()

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> CSMSServer:
        return self

    def _select_subprotocol(self, connection: ServerConnection, offered: Sequence[str]) -> Any:
        return self.select_subprotocol(offered)  # None: no subprotocol; _serve then closes

    async def _process_request(self, connection: ServerConnection, request: HttpRequest) -> HttpResponse | None:
        if self.receive_buffer is not None:
            set_receive_buffer(connection, self.receive_buffer)
        ssl_object = connection.transport.get_extra_info("ssl_object")
        upgrade = Upgrade(
            path=request.path,
            subprotocols=[p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")],
            authorization=request.headers.get("Authorization", ""),
            remote_address=connection.remote_address,
            client_certificate=ssl_object.getpeercert() if ssl_object is not None else None,
        )
        verdict = await self.admit(upgrade)
        if isinstance(verdict, Refusal):
            response = connection.respond(verdict.status, verdict.body)
            for name, value in verdict.headers.items():
                response.headers[name] = value
            return response
        self._identities[connection] = verdict
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        identity = self._identities.pop(ws, None)
        if identity is None:  # cannot happen: process_request admitted every connection served
            await ws.close(1011, "no admitted identity")
            return
        await self.serve(
            WebSocketTransport(ws, self.options.accept_binary), identity, ws.subprotocol, ws.remote_address
        )
