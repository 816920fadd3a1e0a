"""The CSMS whatever the transport: its policy (versions, identities, security profiles,
duplicates, limits), its stations (calls from anywhere, events, the cluster) and the one way a
transport adapter hands it a connection.

:class:`CSMS` holds all of it. A transport adapter asks it two things: :meth:`CSMS.admit` with
the :class:`Upgrade` it read from the HTTP upgrade request (a :class:`Refusal` to send back, or
the station identity), and :meth:`CSMS.serve` with the open transport (see
:class:`~ocppkit.adapters.asyncio.Transport`) once the upgrade is done, which runs the station's
session until it ends. ``ocppkit.adapters.websockets.CSMSServer`` is a CSMS listening with the
websockets library; the other adapters (``picows``, ``asgi``, ``aiohttp``) are front doors to the
same object. No I/O of its own here beyond the session's.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from msgspec import UNSET, UnsetType

from .. import Request, Response
from ..edition import edition_for_subprotocol
from ..errors import CallTimeout
from ..policy import Policy
from ..router import Router
from ._admission import Takeovers, admit
from ._hooks import run_hook
from ._negotiation import routers_by_version, select_subprotocol
from ._options import FrameHook, OptionAttributes, SessionOptions, merge_options
from .asyncio import Session, Transport, open_session
from .handshake import (
    Authenticate,
    AuthThrottle,
    CertificateRule,
    IdentityRule,
    Refusal,
    Upgrade,
    common_name_is_identity,
    default_identity_rule,
    tls_context_check,
)
from .registry import (
    BlockingCSMS,
    ClusterLink,
    ConnectionEvents,
    Listener,
    Registry,
    StationInfo,
    StationNotConnected,
    VersionMismatch,
    call_timed_out,
    check_request,
    check_timeout,
)

__all__ = ["CSMS", "Refusal", "Upgrade"]

log = logging.getLogger("ocppkit")
R = TypeVar("R", bound=Response)
#: seconds :meth:`CSMS.close` waits for a station's closing handshake, then for its session's end
CLOSE_WAIT = 10.0


class CSMS(OptionAttributes):
    """A CSMS accepting charging stations, whatever the transport (see the module's text).

    ``routers`` maps an OCPP version to the :class:`ocppkit.Router` serving stations of that
    version, or is one router (which serves its own ``router.version``, as ``{router.version:
    router}`` would). The server negotiates exactly the versions that have a router
    (``versions`` may narrow them; naming a version without a router raises ValueError). Only a
    router with no version yet (no handler) is offered for every version in ``versions``
    (default 2.1, 2.0.1 and 1.6). A CSMS that listens itself (``websockets.CSMSServer``,
    ``picows.CSMSServer``) starts with ``await csms.start(host, port)``; one served by another
    server (ASGI, aiohttp) with ``await csms.start()`` or ``async with csms:``; both end with
    ``await csms.close()``.
    ``csms.sessions`` maps identities to live :class:`Session` objects, whose ``call()``
    reaches the station; ``await csms.call(identity, request)`` does the same from any
    coroutine (and, with a ``cluster``, for stations held by other processes),
    ``csms.blocking()`` from any other thread, and ``csms.stations()``, ``csms.wait_for()`` and
    ``csms.events()`` say who is connected (see "Calling stations from anywhere" in
    docs/adapters.md).

    What every station's session shares is one
    :class:`~ocppkit.adapters.asyncio.SessionOptions` record, ``options``; the keyword
    parameters ``call_timeout``, ``ping_interval``, ``max_frame_size``, ``max_bad_messages``,
    ``max_call_rate``, ``max_call_burst``, ``max_excess_calls``, ``send_timeout``,
    ``accept_binary``, ``boot_gating``, ``on_event``,
    ``on_frame``, ``compression`` and ``policy`` fill its fields of the same names (over
    ``options``, when both are given). Each connection's session is opened by
    :func:`~ocppkit.adapters.asyncio.open_session` with it.

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
        path_prefix: the URL path before the identity (default ``"/"``); a request is
            ``path_prefix`` plus exactly one segment, so one station has one URL (``/a/X`` is
            refused with HTTP 404 unless the prefix is ``/a/``). Must start and end with ``/``.
        identity_rule: ``identity_rule(identity, offered_subprotocols) -> bool`` on the
            percent-decoded identity; False refuses with HTTP 404 before the upgrade (default
            :func:`default_identity_rule`: the 2.x identifierString when only 2.x is offered,
            else :func:`lenient_identity_rule`).
        duplicates: what a new authenticated connection of a live identity does: ``"replace"``
            (default: it takes over at once, the old connection is aborted without waiting for
            its close handshake, logged at INFO) or ``"reject"`` (HTTP 409 while the old one is
            alive).
        max_replacements: ``"replace"``: at most this many takeovers of one identity per minute
            (default 10); more are refused with HTTP 409, so replacement cannot keep a station
            offline.
        certificate_rule: profile 3: ``certificate_rule(handshake) -> bool``, whether the verified
            client certificate may speak for ``handshake.identity``; checked before
            ``authenticate``, a False refuses with HTTP 401. Default
            :func:`common_name_is_identity` (the certificate's CN equals the identity).
        organization: profile 3: when given, the certificate's subject O must equal it too (the
            OCPP 2.x rule that O is the CSO's name); otherwise HTTP 401.
        auth_throttle: the :class:`AuthThrottle` slowing down password guessing per identity
            and per source address (default ``AuthThrottle()``; None disables it). An exception
            in ``authenticate`` refuses that handshake with HTTP 500 (logged) and nothing else.
        ssl_context: the server's TLS context, for profiles 2 and 3 (profile 3 needs
            ``verify_mode = CERT_REQUIRED``); its minimum version is raised to TLS 1.2. Only a
            CSMS that listens itself (:attr:`listens`: the websockets and picows servers) takes
            one; behind an ASGI or aiohttp server, TLS is that server's (or a proxy's).
        call_timeout: seconds a call of the CSMS waits for the station's answer (default 30).
        ping_interval: seconds between WebSocket pings (default 20); None or 0 disables them.
        max_frame_size: the largest message in bytes (default 1 MiB), enforced by websockets and
            the codec.
        max_bad_messages: protocol violations after which a station is disconnected (close code
            1008; default 20).
        max_call_rate: calls a second each station may make on average (default 20; 0: no
            limit); a call beyond it is answered ``GenericError`` ("Rate limited").
        max_call_burst: calls a station may make at once before the rate applies (default 50;
            0: no limit).
        max_excess_calls: calls refused by the rate limit after which a station is disconnected
            (close code 1008; default 100; 0: never).
        send_timeout: seconds a message to a station may wait while the station reads nothing
            (its window and our buffer full) before its connection is aborted (default 30; None:
            no limit).
        accept_binary: take binary WebSocket frames as messages (default False: one closes the
            connection with 1003; OCPP-J uses text frames).
        backlog: (a CSMS that listens itself) the listen queue of the server socket (default 2048, so that thousands of
            stations reconnecting at once after an outage are queued rather than refused; the
            kernel caps it at ``net.core.somaxconn``).
        receive_buffer: (a CSMS that listens itself) the socket receive buffer of each station connection in bytes
            (``SO_RCVBUF``, default 16384; Linux doubles it for its bookkeeping): how much one
            connection can hand the server in one read, which bounds the work a flooding
            connection causes per loop turn (the good stations' latency under a flood: see
            performance.md). It bounds throughput per connection to about the buffer per round
            trip (320 KB/s at 100 ms), plenty for OCPP; None keeps the system's autotuned size.
        reuse_port: (a CSMS that listens itself) listen with ``SO_REUSEPORT``, so that several
            processes share the port and the kernel spreads the connections over them
            (``ocppkit serve --workers N``; Linux, BSD; default False).
        boot_gating: refuse (``SecurityError``) a station's calls until its BootNotification is
            accepted (default False); see :class:`ocppkit.Connection`.
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
        compression: ``"deflate"`` (the default) accepts permessage-deflate when the station
            offers it (with a small 2 KiB window); None disables compression.
        policy: an :class:`ocppkit.Policy` relaxing chosen rules when decoding the stations'
            messages.
        options: the :class:`~ocppkit.adapters.asyncio.SessionOptions` of every station's
            session (default ``SessionOptions()``; the keyword parameters above override its
            fields).
        node: this server's name among the nodes of a cluster (in every :class:`StationInfo`
            it gives; default None).
        cluster: the :class:`~ocppkit.adapters.registry.ClusterLink` reaching stations held by
            other processes: an ``ocppkit.cluster.Node``, or its Redis URL
            (``"redis://host:6379/0"``, with ``node=``; needs ``ocppkit[cluster]``), for a node
            with the default settings. ``call`` delegates to it every identity not connected
            here; started at the end of :meth:`start`, closed at the beginning of :meth:`close`.
            Default None: one process.
        max_event_backlog: the events each :meth:`events` subscriber may have unread (default
            1000); beyond it the oldest are dropped (and counted).

    Attributes:
        sessions: the live sessions by station identity.
        refusals: a :class:`collections.Counter` of the handshakes refused, by reason
            (``"certificate"``, ``"organization"``, ...). The parameters are kept as attributes
            of the same names (``routers`` as a mapping of version to router; the fields of
            ``options`` read and write ``options``).
    """

    #: Whether this CSMS listens on a socket itself (and so takes ``ssl_context``, ``backlog``,
    #: ``receive_buffer`` and ``reuse_port``); False for one served by another server.
    listens: ClassVar[bool] = False

    def __init__(
        self,
        routers: Router | Mapping[str, Router],
        *,
        versions: Sequence[str] | None = None,
        security_profile: int = 0,
        authenticate: Authenticate | None = None,
        ssl_context: ssl.SSLContext | None = None,
        path_prefix: str = "/",
        identity_rule: IdentityRule | None = None,
        duplicates: str = "replace",
        max_replacements: int = 10,
        certificate_rule: CertificateRule | None = None,
        organization: str | None = None,
        auth_throttle: AuthThrottle | None | UnsetType = UNSET,
        call_timeout: float | UnsetType = UNSET,
        ping_interval: float | None | UnsetType = UNSET,
        max_frame_size: int | UnsetType = UNSET,
        max_bad_messages: int | UnsetType = UNSET,
        max_call_rate: float | UnsetType = UNSET,
        max_call_burst: int | UnsetType = UNSET,
        max_excess_calls: int | UnsetType = UNSET,
        send_timeout: float | None | UnsetType = UNSET,
        accept_binary: bool | UnsetType = UNSET,
        backlog: int = 2048,
        reuse_port: bool = False,
        receive_buffer: int | None = 16384,
        boot_gating: bool | UnsetType = UNSET,
        on_connect: Callable[[Session], Awaitable[None] | None] | None = None,
        on_disconnect: Callable[[Session], Awaitable[None] | None] | None = None,
        on_event: Callable[[Session, Any], None] | None | UnsetType = UNSET,
        on_frame: FrameHook | None | UnsetType = UNSET,
        compression: str | None | UnsetType = UNSET,
        policy: Policy | None | UnsetType = UNSET,
        options: SessionOptions | None = None,
        node: str | None = None,
        cluster: ClusterLink | str | None = None,
        max_event_backlog: int = 1000,
    ) -> None:
        self.options = merge_options(
            options,
            call_timeout=call_timeout,
            ping_interval=ping_interval,
            max_frame_size=max_frame_size,
            max_bad_messages=max_bad_messages,
            max_call_rate=max_call_rate,
            max_call_burst=max_call_burst,
            max_excess_calls=max_excess_calls,
            send_timeout=send_timeout,
            accept_binary=accept_binary,
            boot_gating=boot_gating,
            on_event=on_event,
            on_frame=on_frame,
            compression=compression,
            policy=policy,
        )
        if not (isinstance(backlog, int) and not isinstance(backlog, bool) and backlog >= 1):
            raise ValueError(f"backlog: expected an int >= 1, got {backlog!r}")
        self.backlog = backlog
        self.reuse_port = bool(reuse_port)
        if receive_buffer is not None and not (
            isinstance(receive_buffer, int) and not isinstance(receive_buffer, bool) and receive_buffer >= 1024
        ):
            raise ValueError(f"receive_buffer: expected bytes >= 1024 or None, got {receive_buffer!r}")
        self.receive_buffer = receive_buffer
        self.routers, self.versions = routers_by_version(routers, versions)
        if security_profile not in (0, 1, 2, 3):
            raise ValueError(f"security_profile: expected 0, 1, 2 or 3, got {security_profile!r}")
        if security_profile in (1, 2) and authenticate is None:
            raise ValueError(f"security_profile {security_profile} needs an authenticate hook (checks passwords)")
        self.security_profile = security_profile
        self.authenticate = authenticate
        if self.listens:
            self.ssl_context = tls_context_check(ssl_context, security_profile, server=True)
        elif ssl_context is not None:
            raise ValueError(
                f"ssl_context: {type(self).__name__} does not listen itself; TLS is the serving server's (or a proxy's)"
            )
        else:
            self.ssl_context = None
        if not (path_prefix.startswith("/") and path_prefix.endswith("/")):
            raise ValueError(f"path_prefix: must start and end with '/', got {path_prefix!r}")
        self.path_prefix = path_prefix
        if duplicates not in ("replace", "reject"):
            raise ValueError(f"duplicates: expected 'replace' or 'reject', got {duplicates!r}")
        if not isinstance(max_replacements, int) or max_replacements < 1:
            raise ValueError(f"max_replacements: expected an int >= 1, got {max_replacements!r}")
        self.duplicates = duplicates
        self.max_replacements = max_replacements
        self._takeovers = Takeovers(max_replacements)
        self.identity_rule: IdentityRule = identity_rule or default_identity_rule
        self.certificate_rule: CertificateRule = certificate_rule or common_name_is_identity
        self.organization = organization
        self.auth_throttle = AuthThrottle() if isinstance(auth_throttle, UnsetType) else auth_throttle
        self.refusals: collections.Counter[str] = collections.Counter()
        self.on_connect = on_connect
        self.on_disconnect = on_disconnect
        self.sessions: dict[str, Session] = {}
        if node is not None and not (isinstance(node, str) and node):
            raise ValueError(f"node: expected a non-empty string or None, got {node!r}")
        if isinstance(cluster, str):  # "redis://host:port/0": a node of the cluster (ocppkit[cluster])
            if node is None:
                raise ValueError("cluster: a cluster URL needs node=, this server's name among the nodes")
            from ..cluster import Node

            cluster = Node(cluster, node=node)
        if cluster is not None and not isinstance(cluster, ClusterLink):
            raise TypeError(
                f"cluster: expected a ClusterLink (async start(csms), call(identity, request, timeout), close()), "
                f"got {type(cluster).__name__}"
            )
        if not (
            isinstance(max_event_backlog, int) and not isinstance(max_event_backlog, bool) and max_event_backlog >= 1
        ):
            raise ValueError(f"max_event_backlog: expected an int >= 1, got {max_event_backlog!r}")
        self.node = node
        self.cluster = cluster
        self.max_event_backlog = max_event_backlog
        self._registry = Registry(self.sessions, node, max_event_backlog)
        self._loop: tuple[asyncio.AbstractEventLoop, int] | None = None  # and its thread, once started
        self._cluster_started = False

    async def start(self) -> None:
        """Take the running loop as the CSMS's (for :meth:`blocking`) and, with a ``cluster``,
        await ``cluster.start(self)``. A CSMS that listens calls it once listening; behind another
        server, call it (or enter ``async with csms:``) before the first connection."""
        self._begin()
        await self._start_cluster()

    def _begin(self) -> None:
        self._loop = (asyncio.get_running_loop(), threading.get_ident())
        self._registry.reopen()

    async def _start_cluster(self) -> None:
        if self.cluster is not None and not self._cluster_started:
            try:
                await self.cluster.start(self)
            except BaseException:
                await self.close()
                raise
            self._cluster_started = True

    async def close(self) -> None:
        """Close the ``cluster`` link (if started), stop listening (a CSMS that listens) and close
        every station's connection; then every :meth:`events` iteration ends and every
        :meth:`wait_for` still waiting raises :class:`StationNotConnected`."""
        if self.cluster is not None and self._cluster_started:
            self._cluster_started = False
            try:
                await self.cluster.close()
            except Exception:  # the stations are closed all the same
                log.exception("the cluster link failed to close")
        for session in self.sessions.values():  # what on_disconnect reads, whoever closes it
            session.close_reason = session.close_reason or "the CSMS closed"
        await self._stop_listening()
        remaining = list(self.sessions.values())  # a CSMS served by another server closes its own
        if remaining:
            closing = [asyncio.ensure_future(self._close_session(s)) for s in remaining]
            await asyncio.wait(closing)
        self._registry.close()

    async def _close_session(self, session: Session) -> None:
        """Close one station's connection (1001) and wait until its session has ended; a peer
        that does not complete the closing handshake within 10 s is aborted."""
        try:
            await asyncio.wait_for(session.transport.close(1001, "CSMS shutting down"), CLOSE_WAIT)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            session.transport.abort()
        except Exception:  # a transport's own failure: the connection goes all the same
            log.exception("station %s: closing its connection failed", ascii(session.identity))
            session.transport.abort()
        try:
            await asyncio.wait_for(self._registry.wait_ended(session), CLOSE_WAIT)
        except asyncio.TimeoutError:
            log.warning(
                "station %s: its session did not end within %g s of the close", ascii(session.identity), CLOSE_WAIT
            )

    async def _stop_listening(self) -> None:
        """A CSMS that listens stops listening and closes its connections here."""

    async def __aenter__(self) -> CSMS:
        if self._loop is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------- calling stations

    async def call(self, identity: str, request: Request[R], *, timeout: float | None = None) -> R:
        """Call station ``identity`` and return its typed response, from any coroutine of the
        server's loop: the station's session if it is connected here, else, with a
        ``cluster``, ``cluster.call(identity, request, timeout)``.

        ``timeout`` bounds the wait in seconds (None: the session's ``call_timeout``). When it
        expires first, the CALL stays outstanding on the connection until its answer or its
        ``call_timeout``, and later calls to the station queue behind it (one CALL at a time).

        Raises:
            StationNotConnected: the station is not connected here (nor, with a cluster,
                anywhere); nothing was sent.
            VersionMismatch: the request's class is of another OCPP version than the station's
                connection; nothing was sent.
            ocppkit.CallTimeout: no answer within ``timeout`` (or the session's
                ``call_timeout``).
            TypeError: ``request`` is not a generated ``<Action>Request``.
            ValueError: ``timeout`` is not None or a number > 0.
            CallErrorResponse: and the rest of what ``Session.call`` raises.
        """
        check_request(request)
        if identity in self.sessions or self.cluster is None:
            return await self.call_local(identity, request, timeout=timeout)
        return await self.cluster.call(identity, request, check_timeout(timeout))

    async def call_local(self, identity: str, request: Request[R], *, timeout: float | None = None) -> R:
        """As :meth:`call`, for the stations connected to this server only (what a cluster node
        runs for a remote caller): :class:`StationNotConnected` for any other."""
        check_request(request)
        seconds = check_timeout(timeout)
        session = self.sessions.get(identity)
        if session is None:
            raise StationNotConnected(identity, f"not on node {self.node}" if self.node else "")
        info = type(request).__ocpp__
        if info.version != session.version:
            raise VersionMismatch(identity, info.action, info.version, session.version)
        if seconds is None:
            return await session.call(request)
        try:
            return await asyncio.wait_for(session.call(request), seconds)
        except asyncio.TimeoutError as exc:
            if isinstance(exc, CallTimeout):  # the session's own (3.11+: an asyncio.TimeoutError)
                raise
            raise call_timed_out(request, seconds, session.version) from None

    def stations(self) -> list[StationInfo]:
        """The stations connected to this server now, in the order they connected."""
        return self._registry.stations()

    def station(self, identity: str) -> StationInfo | None:
        """Station ``identity`` if it is connected to this server now, else None."""
        return self._registry.station(identity)

    async def wait_for(self, identity: str, *, booted: bool = False, timeout: float | None = None) -> StationInfo:
        """Wait until station ``identity`` is connected to this server (with ``booted``, until
        its BootNotification has been answered Accepted) and return it; at once if it already
        is. Driven by the connection events: no polling.

        Raises:
            asyncio.TimeoutError: not so within ``timeout`` seconds (None: wait for ever).
            StationNotConnected: the server closed meanwhile.
            ValueError: ``timeout`` is not None or a number > 0.
        """
        return await self._registry.wait_for(identity, booted, check_timeout(timeout))

    def events(self) -> ConnectionEvents:
        """Subscribe to the connection events (:class:`ConnectionEvent`: ``"connected"``,
        ``"booted"``, ``"disconnected"``, ``"replaced"``) from now on: an async iterator that
        ends once the server has closed. Each subscriber keeps at most ``max_event_backlog``
        unread events; a slower one loses its oldest (``.dropped`` counts them)."""
        return self._registry.subscribe()

    async def disconnect(self, identity: str, *, code: int = 1000, reason: str = "") -> bool:
        """Close this server's connection of station ``identity`` with a WebSocket close
        ``code`` and ``reason`` (the session's ``close_reason``, default ``"disconnected by the
        CSMS"``) and wait until it has ended; False if it was not connected here."""
        if not (
            isinstance(code, int) and (code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999)
        ):
            raise ValueError(f"code: expected a WebSocket close code (1000-1003, 1007-1014, 3000-4999), got {code!r}")
        if len(reason.encode()) > 123:
            raise ValueError(f"reason: at most 123 bytes in UTF-8 (a close frame's limit), got {len(reason.encode())}")
        session = self.sessions.get(identity)
        if session is None:
            return False
        session.close_reason = session.close_reason or reason or "disconnected by the CSMS"
        await session.transport.close(code, reason)
        await self._registry.wait_ended(session)
        return True

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(session, event)`` with every OCPP event of every session (the events
        ``on_event`` gets, after it), for code that must see what stations send without taking
        ``on_event`` (a cluster publishing it). An exception in it is logged and goes no
        further."""
        self._registry.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener`` (ValueError if it was not added)."""
        self._registry.listeners.remove(listener)

    def blocking(self) -> BlockingCSMS:
        """The same calls for synchronous code in other threads (see :class:`BlockingCSMS`).

        Raises:
            RuntimeError: the server has not been started.
        """
        if self._loop is None:
            raise RuntimeError("csms.blocking(): start the server first (its event loop runs the calls)")
        return BlockingCSMS(self, *self._loop)

    # ------------------------------------------------------------- what transports call

    def select_subprotocol(self, offered: Sequence[str]) -> str | None:
        """The subprotocol to answer a station offering ``offered`` (its order of preference),
        or None when none selects a version this CSMS serves (finish the upgrade without one:
        :meth:`serve` then closes the connection with 1002)."""
        return select_subprotocol(offered, self.versions)

    async def admit(self, upgrade: Upgrade) -> Refusal | str:
        """Decide an upgrade request before the WebSocket handshake completes: the
        :class:`Refusal` to answer (counted in :attr:`refusals` and logged), or the station
        identity to pass to :meth:`serve`. Applies the path and identity rules, HTTP Basic
        (profiles 1, 2) behind ``auth_throttle``, the profile-3 certificate binding, ``authenticate``
        and the duplicate-connection policy."""
        return await admit(self, upgrade)

    async def serve(self, transport: Transport, identity: str, subprotocol: str | None, remote_address: Any) -> None:
        """Run station ``identity``'s session over ``transport`` (open, with ``subprotocol``
        agreed) until it ends: it joins :attr:`sessions` (taking over a live connection of the
        same identity), ``on_connect`` runs, then the session; on its end ``on_disconnect``. With
        no subprotocol, the connection is closed with 1002 at once."""
        ed = edition_for_subprotocol(subprotocol or "")
        if ed is None:
            await transport.close(1002, "No supported OCPP subprotocol")  # the handshake ended without one
            return
        router = self.routers.get(ed.version)
        session = open_session(transport, "csms", ed.version, router, identity=identity, options=self.options)
        session.on_sent = self._registry.sent  # the "booted" event
        session.on_event = self._registry.on_event_of(self.options.on_event)  # and the listeners
        old = self.sessions.get(identity)
        if old is not None:
            if old.received:  # taking over a connection that never said anything is free
                self._takeovers.record(identity, time.monotonic())
            log.info("station %s: replaced by a new connection; the old one is aborted", ascii(identity))
            old.close_reason = "replaced by a new connection"  # what on_disconnect reads
            self._registry.replaced(old)
        self.sessions[identity] = session
        self._registry.opened(session, remote_address)
        if old is not None:
            old.transport.abort()  # at once: a peer may never complete a close handshake
        try:
            await run_hook(self.on_connect, session, "on_connect")  # before the first message is read
            await session.run()
        finally:
            if self.sessions.get(identity) is session:
                del self.sessions[identity]
            self._registry.ended(session)
            await run_hook(self.on_disconnect, session, "on_disconnect")
