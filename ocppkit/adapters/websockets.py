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

The handshake rules (identity, Basic auth, TLS profile checks) live in ``_handshake``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse

from .._base import Request, Response, SendPayload
from ..policy import Policy
from ..router import Router
from ..rpc import Connection
from ._handshake import (
    Authenticate,
    Handshake,
    basic_auth_header,
    identity_from_path,
    parse_basic,
    tls_context_check,
)
from .asyncio import Session

__all__ = [
    "SUBPROTOCOLS",
    "CSMSServer",
    "ChargingStation",
    "Handshake",
    "RetryBackOff",
    "basic_auth_header",
    "identity_from_path",
]

log = logging.getLogger("ocppkit")
R = TypeVar("R", bound=Response)

#: permessage-deflate (RFC 7692), which OCPP 2.x requires a CSMS to offer, with a 2 KiB window
#: and a small zlib state: OCPP frames are small, and each connection keeps its own compressor
#: and decompressor. Measured per connected station (benchmarks/bench_load.py): about 18 KB
#: without compression, 53 KB with websockets' defaults (4 KiB, memLevel 5), 46 KB with these.
_DEFLATE: dict[str, Any] = {
    "server_max_window_bits": 11,
    "client_max_window_bits": 11,
    "compress_settings": {"memLevel": 4},
}

#: OCPP version -> WebSocket subprotocol
SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "2.1": "ocpp2.1"}
_VERSION_OF = {v: k for k, v in SUBPROTOCOLS.items()}
_NEWEST_FIRST = ("2.1", "2.0.1", "1.6")


#: on_frame(identity, direction, data): direction is "in" (received) or "out" (sent)
FrameHook = Callable[[str, str, bytes], None]


class _Transport:
    """websockets connection -> the Session's transport (text frames only)."""

    __slots__ = ("identity", "on_frame", "ws")

    def __init__(self, ws: ServerConnection | ClientConnection, identity: str, on_frame: FrameHook | None) -> None:
        self.ws = ws
        self.identity = identity
        self.on_frame = on_frame

    async def send(self, data: bytes) -> None:
        if self.on_frame is not None:
            self.on_frame(self.identity, "out", data)
        await self.ws.send(data, text=True)

    async def recv(self) -> bytes | str:
        data = await self.ws.recv(decode=False)
        if self.on_frame is not None:
            self.on_frame(self.identity, "in", data if isinstance(data, bytes) else data.encode())
        return data

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)


def _check_versions(versions: Sequence[str]) -> None:
    if not versions:
        raise ValueError("versions: name at least one OCPP version")
    for v in versions:
        if v not in SUBPROTOCOLS:
            raise ValueError(f"versions: {v!r} is not one of {sorted(SUBPROTOCOLS)}")


def _routers_by_version(
    routers: Router | Mapping[str, Router], versions: Sequence[str] | None
) -> tuple[dict[str, Router], list[str]]:
    """The server's version -> router table and the versions it negotiates (see CSMSServer)."""
    if isinstance(versions, str):
        raise TypeError(f"versions: expected a sequence of versions such as ('2.0.1',), got the string {versions!r}")
    if isinstance(routers, Router):
        if routers.version is not None:  # a Router serves one version: negotiate that one
            routers = {routers.version: routers}
        else:
            chosen = list(versions) if versions is not None else list(_NEWEST_FIRST)
            _check_versions(chosen)
            return {v: routers for v in chosen}, chosen
    table = dict(routers)
    if not table:
        raise ValueError("routers: no version has a router")
    _check_versions(list(table))
    for v, r in table.items():
        if not isinstance(r, Router):
            raise TypeError(f"routers[{v!r}]: expected an ocppkit.Router, got {type(r).__name__}")
    if versions is None:
        return table, [v for v in _NEWEST_FIRST if v in table]
    _check_versions(versions)
    missing = [v for v in versions if v not in table]
    if missing:
        raise ValueError(
            f"versions: {', '.join(missing)} has no router (routers are given for {', '.join(table)}); "
            "add a router for it or leave it out of versions"
        )
    return {v: table[v] for v in versions}, list(versions)


class CSMSServer:
    """A CSMS accepting charging stations over WebSocket.

    ``routers`` maps an OCPP version to the :class:`ocppkit.Router` serving stations of that
    version, or is one router (which serves its own ``router.version``, as ``{router.version:
    router}`` would). The server negotiates exactly the versions that have a router
    (``versions`` may narrow them; naming a version without a router raises ValueError). Only a
    router with no version yet (no handler) is offered for every version in ``versions``
    (default 2.1, 2.0.1 and 1.6). Use as ``async with CSMSServer(...) as csms:`` after
    ``await csms.start(host, port)``, or ``await csms.start(...)`` / ``await csms.close()``.
    ``csms.sessions`` maps identities to live :class:`Session` objects, whose ``call()``
    reaches the station.

    Parameters:
        routers: a mapping of OCPP version to the :class:`ocppkit.Router` answering the
            stations of that version, or one router (it serves ``router.version``).
        versions: narrows the versions negotiated (default: every version with a router); the
            station's order of preference picks one.
        security_profile: 0 (plain ``ws://``, no authentication), 1 (HTTP Basic over ``ws://``),
            2 (TLS and HTTP Basic) or 3 (TLS with client certificates).
        authenticate: ``authenticate(handshake)`` decides before the upgrade: True accepts, False
            refuses with HTTP 401, an int refuses with that HTTP status; it may be a coroutine.
            Required for profiles 1 and 2 (it checks the password).
        ssl_context: the server's TLS context, for profiles 2 and 3 (profile 3 needs
            ``verify_mode = CERT_REQUIRED``); its minimum version is raised to TLS 1.2.
        call_timeout: seconds a call of the CSMS waits for the station's answer.
        ping_interval: seconds between WebSocket pings; None disables them.
        max_frame_size: the largest message in bytes (default 1 MiB), enforced by websockets and
            the codec.
        max_bad_messages: protocol violations after which a station is disconnected (close code
            1008).
        boot_gating: refuse (``SecurityError``) a station's calls until its BootNotification is
            accepted; see :class:`ocppkit.Connection`.
        on_connect: ``on_connect(session)`` (may be a coroutine), after the upgrade and before the
            session reads the station's first message; the session is already in ``sessions``.
            Do not await a call to the station here: its answer is only read once this returns.
        on_disconnect: ``on_disconnect(session)`` (may be a coroutine), when a station's session
            has ended, for whatever reason (``session.close_reason``); it is no longer in
            ``sessions``.
        on_event: ``on_event(session, event)``, with every event of every connection, before the
            session acts on it (plain function).
        on_frame: ``on_frame(identity, direction, data)``, with every WebSocket message as bytes;
            direction ``"in"`` (before decoding) or ``"out"`` (just before sending).
        compression: ``"deflate"`` accepts permessage-deflate when the station offers it (with a
            small 2 KiB window); None disables compression.
        policy: an :class:`ocppkit.Policy` relaxing chosen rules when decoding the stations'
            messages.

    Attributes:
        sessions: the live sessions by station identity. The parameters are kept as attributes
            of the same names (``routers`` as a mapping of version to router).
    """

    def __init__(
        self,
        routers: Router | Mapping[str, Router],
        *,
        versions: Sequence[str] | None = None,
        security_profile: int = 0,
        authenticate: Authenticate | None = None,
        ssl_context: ssl.SSLContext | None = None,
        call_timeout: float = 30.0,
        ping_interval: float | None = 20.0,
        max_frame_size: int = 1 << 20,
        max_bad_messages: int = 20,
        boot_gating: bool = False,
        on_connect: Callable[[Session], Awaitable[None] | None] | None = None,
        on_disconnect: Callable[[Session], Awaitable[None] | None] | None = None,
        on_event: Callable[[Session, Any], None] | None = None,
        on_frame: FrameHook | None = None,
        compression: str | None = "deflate",
        policy: Policy | None = None,
    ) -> None:
        self.routers, self.versions = _routers_by_version(routers, versions)
        self.on_frame = on_frame
        self.policy = policy
        if security_profile not in (0, 1, 2, 3):
            raise ValueError(f"security_profile: expected 0, 1, 2 or 3, got {security_profile!r}")
        if security_profile in (1, 2) and authenticate is None:
            raise ValueError(f"security_profile {security_profile} needs an authenticate hook (checks passwords)")
        self.security_profile = security_profile
        self.authenticate = authenticate
        self.ssl_context = tls_context_check(ssl_context, security_profile, server=True)
        self.call_timeout = call_timeout
        self.ping_interval = ping_interval
        self.max_frame_size = max_frame_size
        self.max_bad_messages = max_bad_messages
        self.boot_gating = boot_gating
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.on_event = on_event
        self.compression = compression
        self.sessions: dict[str, Session] = {}
        self._server: Server | None = None
        self._identities: dict[int, str] = {}

    @property
    def port(self) -> int:
        """The TCP port the server listens on (useful with port 0)."""
        assert self._server is not None, "call start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str = "127.0.0.1", port: int = 9000) -> None:
        """Listen on ``host``:``port`` (port 0 picks a free port: see :attr:`port`)."""
        self._server = await serve(
            self._serve,
            host,
            port,
            select_subprotocol=self._select_subprotocol,
            process_request=self._process_request,
            ssl=self.ssl_context,
            ping_interval=self.ping_interval,
            max_size=self.max_frame_size,
            compression=self.compression,
            extensions=[ServerPerMessageDeflateFactory(**_DEFLATE)] if self.compression == "deflate" else None,
        )

    async def close(self) -> None:
        """Stop listening and close every station's connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> CSMSServer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------- handshake

    def _select_subprotocol(self, connection: ServerConnection, offered: Sequence[str]) -> Any:
        for proto in offered:  # the station's order of preference
            version = _VERSION_OF.get(proto)
            if version is not None and version in self.versions:
                return proto
        return None  # finish without a subprotocol; _serve then closes

    async def _process_request(self, connection: ServerConnection, request: HttpRequest) -> HttpResponse | None:
        identity = identity_from_path(request.path)
        if identity is None:
            return connection.respond(404, "Unknown charging station\n")
        hs = Handshake(
            identity=identity,
            path=request.path,
            remote_address=connection.remote_address,
            subprotocols=[p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")],
        )
        if self.security_profile in (1, 2):
            user, secret = parse_basic(request.headers.get("Authorization", ""))
            if user is None or secret is None:
                response = connection.respond(401, "Authentication required\n")
                response.headers["WWW-Authenticate"] = 'Basic realm="ocpp", charset="UTF-8"'
                return response
            if user != identity:
                return connection.respond(401, "The user name must be the station identity\n")
            hs.password_bytes = secret
            try:
                hs.password = secret.decode("utf-8")
            except UnicodeDecodeError:
                hs.password = None
        if self.security_profile == 3:
            ssl_object = connection.transport.get_extra_info("ssl_object")
            hs.client_certificate = ssl_object.getpeercert() if ssl_object is not None else None
            if not hs.client_certificate:
                return connection.respond(401, "A client certificate is required\n")
        if self.authenticate is not None:
            verdict = self.authenticate(hs)
            if isinstance(verdict, Awaitable):
                verdict = await verdict
            if verdict is False:
                return connection.respond(401, "Not authorized\n")
            if verdict is not True:
                return connection.respond(int(verdict), "Refused\n")
        self._identities[id(connection)] = identity
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        identity = self._identities.pop(id(ws), None) or identity_from_path(ws.request.path if ws.request else "")
        version = _VERSION_OF.get(ws.subprotocol or "")
        if version is None or identity is None:
            await ws.close(1002, "No supported OCPP subprotocol")  # the handshake ended without one
            return
        loop = asyncio.get_running_loop()
        conn = Connection(
            "csms",
            version,
            clock=loop.time,
            call_timeout=self.call_timeout,
            boot_gating=self.boot_gating,
            max_frame_size=self.max_frame_size,
            policy=self.policy,
        )
        session = Session(
            _Transport(ws, identity, self.on_frame),
            conn,
            self.routers.get(version),
            identity=identity,
            max_bad_messages=self.max_bad_messages,
            on_event=self.on_event,
        )
        old = self.sessions.get(identity)
        self.sessions[identity] = session
        if old is not None:
            await old.transport.close(1000, "replaced by a new connection")
        try:
            if self.on_connect is not None:
                done = self.on_connect(session)
                if isinstance(done, Awaitable):
                    await done
            await session.run()
        finally:
            if self.sessions.get(identity) is session:
                del self.sessions[identity]
            if self.on_disconnect is not None:
                done = self.on_disconnect(session)
                if isinstance(done, Awaitable):
                    await done


@dataclass
class RetryBackOff:
    """Reconnect timing, as OCPP 2.x's ``OCPPCommCtrlr.RetryBackOff*`` variables define it:
    the first attempt waits ``wait_minimum`` plus up to ``random_range`` seconds; each failure
    doubles the wait, ``repeat_times`` times at most; a successful connection resets it.

    Attributes:
        wait_minimum: seconds before the first reconnection attempt (``RetryBackOffWaitMinimum``).
        random_range: at most this many seconds of random jitter added to each wait
            (``RetryBackOffRandomRange``).
        repeat_times: how many times the wait doubles (``RetryBackOffRepeatTimes``).
    """

    wait_minimum: float = 1.0
    random_range: float = 2.0
    repeat_times: int = 6

    def delays(self, rng: random.Random | None = None) -> Any:
        """An endless iterator of the waits, in seconds, before each reconnection attempt."""
        rng = rng or random.Random()
        wait = self.wait_minimum
        n = 0
        while True:
            yield wait + rng.uniform(0, self.random_range)
            if n < self.repeat_times:
                wait *= 2
                n += 1


class ChargingStation:
    """A charging-station client: connects, reconnects, and exposes ``call()``.

    ``async with ChargingStation("ws://127.0.0.1:9000/CS001", router, versions=("2.0.1",)) as cs:``
    then ``await cs.call(request)``; or ``await cs.start()`` and later ``await cs.close()``.

    Parameters:
        url: the CSMS's ``ws://`` or ``wss://`` URL, ending with the station identity.
        router: the :class:`ocppkit.Router` answering the CSMS's calls (none: every call is
            answered ``NotSupported``).
        versions: the OCPP versions offered, the preferred one first.
        identity: the station identity, when it is not the last segment of the URL path
            (percent-decoded); the Basic-auth user name.
        security_profile: 0 (no authentication), 1 (HTTP Basic over ``ws://``), 2 (TLS and HTTP
            Basic) or 3 (TLS with a client certificate).
        password: the Basic-auth password, for profiles 1 and 2.
        password_encoding: ``"text"`` sends the password as given; ``"hex-bytes"`` sends the
            bytes its hex digits spell (an OCPP 1.6 AuthorizationKey).
        ssl_context: the TLS context for ``wss://`` (profiles 2 and 3; for 3 it holds the
            station's certificate); its minimum version is raised to TLS 1.2.
        call_timeout: seconds a call of the station waits for the CSMS's answer.
        ping_interval: seconds between WebSocket pings; None disables them.
        reconnect: the :class:`RetryBackOff` timing of reconnection attempts.
        max_bad_messages: protocol violations by the CSMS after which the station closes the
            connection (close code 1008) and reconnects.
        on_connect: ``on_connect(session)`` (may be a coroutine), after each successful
            connection; the session is already reading, so it may await calls.
        on_event: ``on_event(session, event)``, with every event of the connection, before the
            session acts on it (plain function).
        on_frame: ``on_frame(identity, direction, data)``, with every WebSocket message as bytes;
            direction ``"in"`` (before decoding) or ``"out"`` (just before sending).
        compression: ``"deflate"`` offers permessage-deflate; None does not.
        policy: an :class:`ocppkit.Policy` relaxing chosen rules when decoding the CSMS's
            messages.

    Attributes:
        session: the current :class:`Session`, or None while disconnected.
        connections: how many connections succeeded so far.
        last_error: why the last connection attempt failed, or None. The parameters are kept as
            attributes of the same names.
    """

    def __init__(
        self,
        url: str,
        router: Router | None = None,
        *,
        versions: Sequence[str] = ("2.0.1",),
        identity: str | None = None,
        security_profile: int = 0,
        password: str | bytes | None = None,
        password_encoding: str = "text",
        ssl_context: ssl.SSLContext | None = None,
        call_timeout: float = 30.0,
        ping_interval: float | None = 20.0,
        reconnect: RetryBackOff | None = None,
        max_bad_messages: int = 20,
        on_connect: Callable[[Session], Awaitable[None] | None] | None = None,
        on_event: Callable[[Session, Any], None] | None = None,
        on_frame: FrameHook | None = None,
        compression: str | None = "deflate",
        policy: Policy | None = None,
    ) -> None:
        _check_versions(versions)
        self.on_frame = on_frame
        self.policy = policy
        if password_encoding not in ("text", "hex-bytes"):
            raise ValueError("password_encoding: 'text', or 'hex-bytes' for a 1.6 AuthorizationKey used as raw bytes")
        self.url = url
        self.identity = identity or identity_from_path(urllib.parse.urlsplit(url).path) or ""
        if not self.identity:
            raise ValueError(f"url: no station identity in the path of {url!r}")
        self.router = router if router is not None else Router()
        self.versions = list(versions)
        self.security_profile = security_profile
        if security_profile in (1, 2) and password is None:
            raise ValueError(f"security_profile {security_profile} needs a password")
        self.password = password
        self.password_encoding = password_encoding
        self.ssl_context = tls_context_check(ssl_context, security_profile, server=False)
        self.call_timeout = call_timeout
        self.ping_interval = ping_interval
        self.reconnect = reconnect if reconnect is not None else RetryBackOff()
        self.max_bad_messages = max_bad_messages
        self.on_connect = on_connect
        self.on_event = on_event
        self.compression = compression
        self.session: Session | None = None
        self.connections = 0  # successful connections so far
        self._connected = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.last_error: BaseException | None = None

    def _headers(self) -> dict[str, str]:
        if self.security_profile not in (1, 2) or self.password is None:
            return {}
        secret: str | bytes = self.password
        if self.password_encoding == "hex-bytes":
            secret = bytes.fromhex(self.password if isinstance(self.password, str) else self.password.decode())
        return {"Authorization": basic_auth_header(self.identity, secret)}

    async def connect_once(self) -> Session:
        """One connection attempt; returns the running session (no retry)."""
        loop = asyncio.get_running_loop()
        ws = await connect(
            self.url,
            subprotocols=[SUBPROTOCOLS[v] for v in self.versions],  # type: ignore[misc]
            additional_headers=self._headers(),
            ssl=self.ssl_context,
            ping_interval=self.ping_interval,
            compression=self.compression,
            extensions=[ClientPerMessageDeflateFactory(**_DEFLATE)] if self.compression == "deflate" else None,
            open_timeout=10,
        )
        version = _VERSION_OF.get(ws.subprotocol or "")
        if version is None:
            await ws.close(1002, "No OCPP subprotocol agreed")
            raise ConnectionError("the server agreed to none of our OCPP versions")
        conn = Connection("station", version, clock=loop.time, call_timeout=self.call_timeout, policy=self.policy)
        session = Session(
            _Transport(ws, self.identity, self.on_frame),
            conn,
            self.router,
            identity=self.identity,
            max_bad_messages=self.max_bad_messages,
            on_event=self.on_event,
        )
        session.start()
        self.session = session
        self.connections += 1
        self._connected.set()
        if self.on_connect is not None:
            done = self.on_connect(session)
            if isinstance(done, Awaitable):
                await done
        return session

    async def _maintain(self) -> None:
        delays = self.reconnect.delays()
        first = True
        while not self._stopping:
            if not first:
                await asyncio.sleep(next(delays))
            first = False
            try:
                session = await self.connect_once()
            except (OSError, websockets.exceptions.WebSocketException, ConnectionError, asyncio.TimeoutError) as exc:
                self.last_error = exc
                log.info("%s: connection failed (%s); retrying", self.identity, exc)
                continue
            delays = self.reconnect.delays()  # reset after a successful connection
            await session.closed.wait()
            self._connected.clear()
            self.session = None

    async def start(self) -> None:
        """Start connecting (and reconnecting) in the background."""
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._maintain())

    async def wait_connected(self, timeout: float | None = None) -> Session:
        """The live session, waiting up to ``timeout`` seconds for a (re)connection.

        Never a closed one: after a connection drops this waits for the next. Raises
        ``asyncio.TimeoutError`` when none came in time.
        """
        return await asyncio.wait_for(self._live_session(), timeout)

    async def _live_session(self) -> Session:
        while True:
            await self._connected.wait()
            session = self.session
            if session is not None and not session.closed.is_set():
                return session
            # The connection has just dropped and _maintain has not noticed yet: let it run.
            await asyncio.sleep(0.01)

    async def call(self, request: Request[R], *, connect_timeout: float | None = 30.0) -> R:
        """Send a CALL over the current connection (waiting up to ``connect_timeout`` for one
        after a disconnection) and await the typed response. A call whose connection drops
        before the answer raises ConnectionError; it is not sent again."""
        session = await self.wait_connected(connect_timeout)
        return await session.call(request)

    async def send(self, payload: SendPayload, *, connect_timeout: float | None = 30.0) -> str:
        """2.1: send an unconfirmed message (SEND) over the current connection (waiting for one)."""
        session = await self.wait_connected(connect_timeout)
        return await session.send(payload)

    async def close(self, timeout: float = 5.0) -> None:
        """Stop reconnecting; close gracefully, waiting up to ``timeout`` for pending calls."""
        self._stopping = True
        if self.session is not None:
            await self.session.close(timeout)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def __aenter__(self) -> ChargingStation:
        await self.start()
        await self.wait_connected(30.0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
