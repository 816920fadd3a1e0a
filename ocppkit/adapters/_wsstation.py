"""The charging-station client on the `websockets` library: connects, reconnects with back-off,
and sends transaction-related messages through its outbox (``ocppkit.adapters.websockets``
exports it)."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, TypeVar

import websockets
from msgspec import UNSET, UnsetType
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from .. import Request, Response, SendPayload
from ..edition import edition, edition_for_subprotocol
from ..outbox import MemoryStore, Outbox, OutboxSettings, SqliteStore, Store
from ..policy import Policy
from ..router import Router
from ._backoff import RetryBackOff
from ._hooks import run_hook
from ._negotiation import check_versions
from ._options import FrameHook, OptionAttributes, SessionOptions, merge_options
from ._wstransport import WebSocketTransport, websocket_settings
from .asyncio import Session, Transport, open_session
from .handshake import basic_auth_header, identity_from_path, tls_context_check
from .outbox import OutboxHandle, StationOutbox

__all__ = ["ChargingStation"]

log = logging.getLogger("ocppkit")
R = TypeVar("R", bound=Response)


class ChargingStation(OptionAttributes):
    """A charging-station client: connects, reconnects, and exposes ``call()``.

    ``async with ChargingStation("ws://127.0.0.1:9000/CS001", router, versions=("2.0.1",)) as cs:``
    then ``await cs.call(request)``; or ``await cs.start()`` and later ``await cs.close()``.

    As for :class:`CSMSServer`, what each connection's session shares is one
    :class:`~ocppkit.adapters.asyncio.SessionOptions` record, ``options``, whose fields
    ``call_timeout``, ``ping_interval``, ``max_bad_messages``, ``on_event``, ``on_frame``,
    ``compression`` and ``policy`` may also be given as keyword parameters (over ``options``);
    ``max_frame_size``, ``boot_gating``, ``send_timeout``, ``accept_binary`` and the queue limits
    come with ``options`` only.

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
        call_timeout: seconds a call of the station waits for the CSMS's answer (default 30).
        ping_interval: seconds between WebSocket pings (default 20); None or 0 disables them.
            A CSMS that answers no ping within ``options.ping_timeout`` is taken for dead: the
            connection is closed, waiting at most ``ping_timeout`` (10 s at most) more for the
            closing handshake, so a silent partition is noticed within ``ping_interval + 2 *
            ping_timeout``; then the station reconnects.
        reconnect: the :class:`RetryBackOff` timing of reconnection attempts.
        max_bad_messages: protocol violations by the CSMS after which the station closes the
            connection (close code 1008; default 20) and reconnects.
        on_connect: ``on_connect(session)`` (may be a coroutine), after each successful
            connection; the session is already reading, so it may await calls.
        on_event: ``on_event(session, event)``, with every event of the connection, before the
            session acts on it (plain function).
        on_frame: ``on_frame(identity, direction, data)``, with every WebSocket message as bytes;
            direction ``"in"`` (before decoding) or ``"out"`` (just before sending).
        compression: ``"deflate"`` (the default) offers permessage-deflate; None does not.
        policy: an :class:`ocppkit.Policy` relaxing chosen rules when decoding the CSMS's
            messages.
        options: the :class:`~ocppkit.adapters.asyncio.SessionOptions` of every connection's
            session (default ``SessionOptions()``; the keyword parameters above override its
            fields).
        outbox: where transaction-related messages wait until the CSMS has them: None (the
            default) keeps them in memory, across disconnects; a file name keeps them in that
            sqlite file, across crashes and reboots; or any :class:`ocppkit.outbox.Store`. See
            docs/outbox.md.
        outbox_settings: the :class:`ocppkit.outbox.OutboxSettings` (attempts, retry interval,
            size, ...; default ``OutboxSettings()``).

    Attributes:
        outbox: the :class:`~ocppkit.adapters.outbox.StationOutbox` (``pending()``,
            ``drained()``, ``on_response``, ``on_drop``).
        session: the current :class:`Session`, or None while disconnected.
        connections: how many connections succeeded so far.
        last_error: why the last connection attempt failed, or None. The parameters are kept as
            attributes of the same names (the fields of ``options`` read and write ``options``).
    """

    #: what else than OSError, ConnectionError and asyncio.TimeoutError a failed connection
    #: attempt raises (the WebSocket library's handshake errors): the station retries on them
    connect_errors: ClassVar[tuple[type[BaseException], ...]] = (websockets.exceptions.WebSocketException,)

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
        call_timeout: float | UnsetType = UNSET,
        ping_interval: float | None | UnsetType = UNSET,
        reconnect: RetryBackOff | None = None,
        max_bad_messages: int | UnsetType = UNSET,
        on_connect: Callable[[Session], Awaitable[None] | None] | None = None,
        on_event: Callable[[Session, Any], None] | None | UnsetType = UNSET,
        on_frame: FrameHook | None | UnsetType = UNSET,
        compression: str | None | UnsetType = UNSET,
        policy: Policy | None | UnsetType = UNSET,
        options: SessionOptions | None = None,
        outbox: str | os.PathLike[str] | Store | None = None,
        outbox_settings: OutboxSettings | None = None,
    ) -> None:
        self.options = merge_options(
            options,
            call_timeout=call_timeout,
            ping_interval=ping_interval,
            max_bad_messages=max_bad_messages,
            on_event=on_event,
            on_frame=on_frame,
            compression=compression,
            policy=policy,
        )
        check_versions(versions)
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
        self.reconnect = reconnect if reconnect is not None else RetryBackOff()
        self.on_connect = on_connect
        self.session: Session | None = None
        self.connections = 0  # successful connections so far
        self._connected = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._delivery: asyncio.Task[None] | None = None
        self.last_error: BaseException | None = None
        store = outbox if outbox is not None and not isinstance(outbox, (str, os.PathLike)) else None
        if store is None:
            store = SqliteStore(outbox) if outbox is not None else MemoryStore()  # type: ignore[arg-type]
        self.outbox = StationOutbox(Outbox(self.versions[0], store, outbox_settings or OutboxSettings()))

    def _headers(self) -> dict[str, str]:
        if self.security_profile not in (1, 2) or self.password is None:
            return {}
        secret: str | bytes = self.password
        if self.password_encoding == "hex-bytes":
            secret = bytes.fromhex(self.password if isinstance(self.password, str) else self.password.decode())
        return {"Authorization": basic_auth_header(self.identity, secret)}

    async def connect_once(self) -> Session:
        """One connection attempt; returns the running session (no retry)."""
        transport, subprotocol = await self._open()
        ed = edition_for_subprotocol(subprotocol or "")
        if ed is None:
            await transport.close(1002, "No OCPP subprotocol agreed")
            raise ConnectionError("the server agreed to none of our OCPP versions")
        session = open_session(
            transport, "station", ed.version, self.router, identity=self.identity, options=self.options
        )
        session.start()
        self.session = session
        self.connections += 1
        self._connected.set()
        await run_hook(self.on_connect, session, "on_connect")  # the session is already reading
        return session

    async def _open(self) -> tuple[Transport, str | None]:
        """Open one connection to ``url`` offering our subprotocols (with the Basic-auth header,
        the TLS context, the compression of ``options``): its transport and the subprotocol the
        CSMS selected. The one method a station on another WebSocket library overrides; it
        raises OSError, ConnectionError, asyncio.TimeoutError or one of :attr:`connect_errors`
        when the connection fails."""
        ws = await connect(
            self.url,
            subprotocols=[edition(v).subprotocol for v in self.versions],  # type: ignore[misc]
            additional_headers=self._headers(),
            ssl=self.ssl_context,
            open_timeout=10,
            **websocket_settings(self.options, ClientPerMessageDeflateFactory),
        )
        return WebSocketTransport(ws, self.options.accept_binary), ws.subprotocol

    async def _maintain(self) -> None:
        delays = self.reconnect.delays()
        first = True
        while not self._stopping:
            if not first:
                await asyncio.sleep(next(delays))
            first = False
            try:
                session = await self.connect_once()
            except (OSError, ConnectionError, asyncio.TimeoutError) + self.connect_errors as exc:
                self.last_error = exc
                log.info("%s: connection failed (%s); retrying", self.identity, exc)
                continue
            delays = self.reconnect.delays()  # reset after a successful connection
            await session.closed.wait()
            self._connected.clear()
            self.session = None

    async def start(self) -> None:
        """Start connecting (and reconnecting) in the background, and delivering the outbox."""
        self._stopping = False
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._maintain())
        self.outbox.resume()
        self._delivery = loop.create_task(self.outbox.run(self))

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
        """Send a CALL and await the typed response.

        A transaction-related message (``outbox.is_transaction_message``: 1.6 StartTransaction,
        StopTransaction, MeterValues; 2.x TransactionEvent; SecurityEventNotification) goes
        through the outbox: committed first, delivered across reconnects with the outbox's
        retries, in order; this returns its response, or raises
        :class:`~ocppkit.adapters.outbox.MessageDropped` when the specification's rule gives
        it up (``connect_timeout`` does not apply). The outbox keeps messages of one version,
        the first of ``versions``; a station offering several sends the transaction messages of
        another version as plain calls. Any other call goes over the current
        connection (waiting up to ``connect_timeout`` for one); if that connection drops before
        the answer it raises ConnectionError and is not sent again.
        """
        info = type(request).__ocpp__
        if info.version == self.outbox.core.version and self.outbox.is_transaction_message(info.action):
            return await self.submit(request)
        session = await self.wait_connected(connect_timeout)
        return await session.call(request)

    def submit(self, request: Request[R]) -> OutboxHandle[R]:
        """Commit a transaction-related ``request`` to the outbox and return at once: ``await
        handle`` gives the response (or raises
        :class:`~ocppkit.adapters.outbox.MessageDropped`). A 2.x TransactionEvent submitted while
        disconnected is marked ``offline``. Raises :class:`ocppkit.outbox.OutboxError` for a
        message the outbox does not queue (see ``outbox.is_transaction_message``;
        ``OutboxSettings(queue_all_messages=True)`` queues all but BootNotification) and
        :class:`ocppkit.outbox.OutboxFull` when nothing may make room."""
        offline = self.session is None or self.session.closed.is_set()
        return self.outbox.submit(request, offline=offline)

    async def send(self, payload: SendPayload, *, connect_timeout: float | None = 30.0) -> str:
        """2.1: send an unconfirmed message (SEND) over the current connection (waiting for one)."""
        session = await self.wait_connected(connect_timeout)
        return await session.send(payload)

    async def close(self, timeout: float = 5.0) -> None:
        """Stop reconnecting; close gracefully, waiting up to ``timeout`` for pending calls."""
        self._stopping = True
        self.outbox.pause()  # nothing new goes out; the message in flight may still be answered
        if self.session is not None:
            await self.session.close(timeout)
        for task in (self._delivery, self._task):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._delivery = self._task = None

    async def __aenter__(self) -> ChargingStation:
        await self.start()
        await self.wait_connected(30.0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
