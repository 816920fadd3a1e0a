"""A CSMS as an ASGI 3 application: serve OCPP-J stations from uvicorn, or mount them in a
Starlette or FastAPI application (``pip install "ocppkit[asgi]"``).

:class:`ASGIApp` is a front door to an :class:`~ocppkit.adapters.csms.CSMS` (which holds the
policy, the stations and the calls): for each ``websocket`` scope it asks ``csms.admit`` before
accepting (a refusal keeps its HTTP status where the server has the WebSocket Denial Response
extension, else it is the server's 403), selects the subprotocol, accepts, and hands the
connection to ``csms.serve``. It answers ``lifespan`` by starting and closing the CSMS when it
is the top-level application, and a plain ``http`` request with 426 Upgrade Required.
See "ASGI (Starlette, FastAPI, uvicorn)" in docs/adapters.md.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Iterable, MutableMapping
from typing import Any

from ._asgiproxy import certificate_from_pem, forwarded_upgrade, front_door, subject_from_dn
from ._asgitransport import ASGITransport, Receive, Send
from .csms import CSMS, Refusal

__all__ = ["ASGIApp", "certificate_from_pem", "route_path", "subject_from_dn", "uvicorn_options"]

log = logging.getLogger("ocppkit")

Scope = MutableMapping[str, Any]


def route_path(scope: Scope) -> str:
    """The request target an :class:`ASGIApp` matches against ``csms.path_prefix``: the path
    below the application's mount point (``root_path``, as Starlette's ``Mount`` and uvicorn's
    ``--root-path`` set it), still percent-encoded as the station sent it (``raw_path``, so
    ``%2F`` stays inside its segment and nothing is decoded twice), with the query. When the
    path does not start with ``root_path`` (servers that strip it), the path as it is."""
    raw = scope.get("raw_path")
    if isinstance(raw, (bytes, bytearray)) and raw:
        path = bytes(raw).decode("latin-1").split("?", 1)[0]
    else:
        path = urllib.parse.quote(str(scope.get("path") or "/"), safe="/")
    root = str(scope.get("root_path") or "").rstrip("/")
    if root:
        segments = path.split("/")
        head = "/".join(segments[: root.count("/") + 1])
        if urllib.parse.unquote(head) == root and (len(head) == len(path) or path[len(head)] == "/"):
            path = path[len(head) :] or "/"
    query = scope.get("query_string") or b""
    return path + ("?" + bytes(query).decode("latin-1") if query else "")


def uvicorn_options(csms: CSMS) -> dict[str, Any]:
    """The ``uvicorn.Config`` (or ``uvicorn.run``) WebSocket settings that carry out ``csms``'s
    options, which an ASGI application cannot set itself: ``ws_max_size`` (``max_frame_size``),
    ``ws_ping_interval`` and ``ws_ping_timeout`` (``ping_interval``, ``ping_timeout``) and
    ``ws_per_message_deflate`` (``compression``). ``uvicorn.run(app, **uvicorn_options(csms))``."""
    o = csms.options
    return {
        "ws_max_size": o.max_frame_size,
        "ws_ping_interval": o.ping_interval or None,
        "ws_ping_timeout": o.ping_timeout,
        "ws_per_message_deflate": o.compression == "deflate",
    }


def _headers(scope: Scope) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in scope.get("headers") or ():
        found.setdefault(bytes(name).decode("latin-1").lower(), []).append(bytes(value).decode("latin-1"))
    return found


class ASGIApp:
    """An ASGI 3 application serving charging stations for ``csms`` (a
    :class:`~ocppkit.adapters.csms.CSMS` that does not listen itself).

    Serve it with uvicorn (``uvicorn.run(ASGIApp(csms))``), or mount it
    (``Mount("/ocpp", app=ASGIApp(csms))`` in Starlette, ``app.mount("/ocpp", ...)`` in FastAPI).
    The identity is read from :func:`route_path` (the path below the mount point), so
    ``csms.path_prefix`` is the prefix *inside* the mount: ``Mount("/ocpp", ...)`` with the
    default ``path_prefix="/"`` serves ``/ocpp/CS001``.

    The TLS of profiles 2 and 3 is the server's or, more often, a TLS-terminating proxy's:
    profiles 2 and 3 refuse (HTTP 403, ``"no-tls"`` in ``csms.refusals``) a connection whose
    scope scheme is not ``wss`` unless a trusted proxy says ``https``/``wss`` in
    ``forwarded_proto_header``. Profile 3 takes the client certificate from
    ``certificate_header`` or ``subject_header``, only from ``trusted_proxies`` (ASGI servers do
    not hand the application the certificate they verified).

    Parameters:
        csms: the CSMS whose policy, stations and calls this application serves.
        trusted_proxies: the IP addresses or networks (``"10.0.0.5"``, ``"10.0.0.0/24"``) of the
            proxies whose forwarded headers are believed; from any other peer they are ignored.
            Serve with the server's own proxy-header rewriting off (uvicorn ``proxy_headers=False``),
            so that the scope's client is the proxy.
        certificate_header: the header in which a trusted proxy forwards the station's verified
            client certificate as URL-encoded PEM (nginx: ``$ssl_client_escaped_cert``); needs
            the ``cryptography`` package. Lower or mixed case.
        subject_header: instead, the header holding the verified certificate's subject as an
            RFC 4514 name (nginx: ``$ssl_client_s_dn``, ``CN=CS001,O=ACME``); no dependency.
        verify_header: the header holding the proxy's verification verdict (nginx:
            ``$ssl_client_verify``); when given, a certificate is taken only if it is ``SUCCESS``.
        forwarded_proto_header: the header in which a trusted proxy says the station's scheme
            (default ``x-forwarded-proto``); ``https`` or ``wss`` counts as TLS. None: never.
        forwarded_for_header: the header in which a trusted proxy gives the station's address
            (default ``x-forwarded-for``, its last entry); it becomes the remote address (the
            throttle's key). None: the proxy's address is used.
        lifespan: answer the ``lifespan`` scope by starting the CSMS at startup and closing it at
            shutdown (default True; as a mounted application the framework does not pass
            lifespan on: start the CSMS in the framework's lifespan).

    Attributes:
        csms: the CSMS served; ``lifespan`` is kept as an attribute too.
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
        lifespan: bool = True,
    ) -> None:
        self._trust = front_door(
            csms,
            "ASGIApp",
            trusted_proxies,
            certificate_header,
            subject_header,
            verify_header,
            forwarded_proto_header,
            forwarded_for_header,
        )
        self.csms = csms
        if csms.security_profile == 3 and not self._trust.forwards_certificates:
            raise ValueError(
                "security_profile 3 behind an ASGI server: pass certificate_header= or subject_header= (and "
                "trusted_proxies=): the server does not hand the application the client certificate"
            )
        self.lifespan = bool(lifespan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "http":
            body = b"This endpoint speaks OCPP-J over WebSocket\n"
            await send(
                {
                    "type": "http.response.start",
                    "status": 426,
                    "headers": [
                        (b"upgrade", b"websocket"),
                        (b"connection", b"Upgrade"),
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        else:
            raise ValueError(f"ASGIApp: unknown scope type {ascii(kind)}")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.lifespan and not self._started():
                        await self.csms.start()
                except Exception as exc:
                    log.exception("the CSMS failed to start")
                    await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.lifespan:
                    await self.csms.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _started(self) -> bool:
        return self.csms._loop is not None

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":  # the client left before we could answer
            return
        if not self._started():
            await self.csms.start()  # a mounted app whose framework's lifespan did not start it
        headers = _headers(scope)
        client = scope.get("client")
        peer = (str(client[0]), int(client[1])) if client else None
        offered = [p.strip() for p in scope.get("subprotocols") or () if isinstance(p, str)]
        verdict = await forwarded_upgrade(
            self.csms, self._trust, route_path(scope), offered, headers, peer, scope.get("scheme") == "wss", None
        )
        if isinstance(verdict, Refusal):
            await self._refuse(scope, send, verdict)
            return
        identity, remote = verdict
        subprotocol = self.csms.select_subprotocol(offered)
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if subprotocol is not None:
            accept["subprotocol"] = subprotocol
        await send(accept)
        transport = ASGITransport(receive, send, self.csms.options.max_frame_size, self.csms.options.accept_binary)
        await self.csms.serve(transport, identity, subprotocol, remote)
        await transport.close(1000, "")  # a session that ended by itself has closed it already

    async def _refuse(self, scope: Scope, send: Send, refusal: Refusal) -> None:
        """The refusal as an HTTP response (the Denial Response extension), else the server's 403."""
        if "websocket.http.response" in (scope.get("extensions") or {}):
            body = refusal.body.encode()
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
            headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers.items()]
            await send({"type": "websocket.http.response.start", "status": refusal.status, "headers": headers})
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": refusal.reason})
