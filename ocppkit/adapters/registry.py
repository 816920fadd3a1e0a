"""Calling charging stations from anywhere in one process: the records of who is connected, the
connection events, the errors of ``CSMSServer.call``, the extension point a cluster implements,
and the thread-safe bridge for synchronous code.

:class:`~ocppkit.adapters.websockets.CSMSServer` keeps a :class:`Registry` of its stations
(internal: the server's methods ``call``, ``call_local``, ``stations``, ``station``,
``wait_for``, ``events``, ``disconnect``, ``add_listener`` and ``blocking`` are the API). What it
hands out is defined here: :class:`StationInfo` and :class:`ConnectionEvent` records, the
:class:`ConnectionEvents` iterator, :class:`StationNotConnected` and :class:`VersionMismatch`,
the :class:`ClusterLink` protocol (``ocppkit.cluster`` implements it to reach stations held by
other processes), and :class:`BlockingCSMS`, ``csms.blocking()``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from .. import Request, Response
from ..errors import CallTimeout
from ._text import printable

if TYPE_CHECKING:
    from .asyncio import Session
    from .csms import CSMS as CSMSServer

__all__ = [
    "BlockingCSMS",
    "ClusterLink",
    "ConnectionEvent",
    "ConnectionEvents",
    "StationInfo",
    "StationNotConnected",
    "VersionMismatch",
]

log = logging.getLogger("ocppkit")
R = TypeVar("R", bound=Response)
T = TypeVar("T")

#: ``listener(session, event)``: every OCPP event of every session (see ``CSMSServer.add_listener``).
Listener = Callable[["Session", Any], None]

_ACCEPTED = "ACCEPTED"


@dataclass(frozen=True)
class StationInfo:
    """A station connected to a CSMS node, as it was when the record was made.

    Attributes:
        identity: the station identity (from the URL path, percent-decoded).
        version: the OCPP version of its connection (``"1.6"``, ``"2.0.1"``, ``"2.1"``).
        since: when the connection was accepted (``time.time()``).
        boot_state: ``"UNKNOWN"``, ``"PENDING"``, ``"ACCEPTED"`` or ``"REJECTED"``: the
            connection's ``boot_state`` when the record was made.
        node: the name of the CSMS node holding the connection (``CSMSServer(node=...)``; None
            for a server without a name).
        remote_address: the station's address as ``"host:port"`` (``"[host]:port"`` for IPv6),
            or None where the socket does not say.
    """

    identity: str
    version: str
    since: float
    boot_state: str
    node: str | None
    remote_address: str | None


@dataclass(frozen=True)
class ConnectionEvent:
    """Something that happened to a station's connection (``CSMSServer.events()``).

    Every connection starts with one ``"connected"`` and ends with exactly one of
    ``"disconnected"`` and ``"replaced"``; ``"booted"`` comes between them each time its
    BootNotification is answered Accepted.

    Attributes:
        kind: ``"connected"`` (accepted, in ``csms.sessions``), ``"booted"`` (its
            BootNotification answered Accepted), ``"disconnected"`` (it ended; ``reason`` is the
            session's ``close_reason``) or ``"replaced"`` (a new connection of the same identity
            took over; published just before that one's ``"connected"``).
        station: the station as it was at that moment.
        at: when it happened (``time.time()``).
        reason: why a connection ended (empty for the other kinds).
    """

    kind: str
    station: StationInfo
    at: float
    reason: str = ""


class StationNotConnected(ConnectionError):
    """The station is not connected here (nor, with a cluster, anywhere the cluster knows of).

    Parameters:
        identity: the station identity (kept as ``identity``; escaped in the message).
        detail: what to add to the message (e.g. ``"the server closed"``).
    """

    def __init__(self, identity: str, detail: str = "") -> None:
        self.identity = identity
        super().__init__(f"station '{printable(identity)}' is not connected" + (f" ({detail})" if detail else ""))


class VersionMismatch(TypeError):
    """A call built for another OCPP version than the station's connection; nothing was sent.

    Parameters:
        identity: the station identity (escaped in the message).
        action: the request's action.
        request_version: the version of the request's class.
        station_version: the version of the station's connection.
    """

    def __init__(self, identity: str, action: str, request_version: str, station_version: str) -> None:
        self.identity = identity
        self.action = action
        self.request_version = request_version
        self.station_version = station_version
        super().__init__(
            f"station '{printable(identity)}' is connected with OCPP {station_version}: "
            f"a {request_version} {action}Request cannot be sent to it "
            f"(use the ocppkit.v{station_version.replace('.', '')} class)"
        )


@runtime_checkable
class ClusterLink(Protocol):
    """What a cluster gives a :class:`~ocppkit.adapters.websockets.CSMSServer` (its
    ``cluster=`` parameter): the reach to stations connected to other processes.
    ``ocppkit.cluster`` implements it; any object with these three coroutine methods will do.

    The server awaits ``start(csms)`` at the end of its ``start()`` (the link then follows
    ``csms.events()``, may ``add_listener``, and runs ``csms.call_local`` for remote callers and
    ``csms.disconnect`` for stations that connected elsewhere since) and ``close()`` at the
    beginning of its ``close()``. ``csms.call`` delegates to ``call`` every identity not held
    locally. The server is already listening when ``start`` runs: subscribe to
    ``csms.events()`` first, then read ``csms.stations()`` for the stations already connected.
    """

    async def start(self, csms: CSMSServer) -> None:
        """Attach to ``csms``, which has just started listening."""
        ...

    async def call(self, identity: str, request: Request[R], timeout: float | None) -> R:
        """Call a station this process does not hold and return its typed response; raise
        :class:`StationNotConnected` when no node holds it, and otherwise what
        ``CSMSServer.call`` raises."""
        ...

    async def close(self) -> None:
        """Detach (the server is closing)."""
        ...


def check_timeout(timeout: float | None, name: str = "timeout") -> float | None:
    """``timeout`` if it is None or a number of seconds > 0; ValueError naming it otherwise."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"{name}: expected a number of seconds > 0 or None, got {timeout!r}")
    return float(timeout)


def check_request(request: object) -> None:
    """TypeError unless ``request`` is an instance of a generated ``<Action>Request``."""
    info = getattr(type(request), "__ocpp__", None)
    if info is None or info.role != "request":
        raise TypeError(f"call: expected a generated <Action>Request, got {type(request).__name__}")


def call_timed_out(request: Request[Any], seconds: float, version: str) -> CallTimeout:
    """The :class:`ocppkit.CallTimeout` of a ``csms.call(..., timeout=seconds)`` that expired."""
    action = type(request).__ocpp__.action
    exc = CallTimeout(action, "", version=version)
    exc.description = f"No answer to {action} within {seconds:g} s (the timeout of this call)"
    exc.args = (exc.description,)
    exc.details["timeout"] = seconds
    exc.unique_id = None
    return exc


def format_address(address: Any) -> str | None:
    """A socket address as ``"host:port"`` (``"[host]:port"`` for IPv6), or None."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return None if address is None else str(address)


class ConnectionEvents:
    """The connection events from when ``csms.events()`` was called: an async iterator of
    :class:`ConnectionEvent`, ending after the server has closed (and the events before are
    read). Use ``async for event in csms.events():`` or ``async with csms.events() as events:``.

    Each subscriber has its own queue of at most ``max_event_backlog`` events: one that reads
    too slowly loses the OLDEST events (counted in ``dropped``; a warning is logged the first
    time), never the newest, and never slows the server or the other subscribers.

    Parameters:
        maxlen: the largest number of events kept for this subscriber.

    Attributes:
        dropped: events this subscriber lost because its queue was full.
    """

    __slots__ = ("__weakref__", "_ended", "_maxlen", "_owner", "_queue", "_waiter", "dropped")

    def __init__(self, maxlen: int) -> None:
        self._maxlen = maxlen
        self._queue: collections.deque[ConnectionEvent] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False
        self._owner: weakref.WeakSet[ConnectionEvents] | None = None  # the registry's subscribers
        self.dropped = 0

    def __aiter__(self) -> ConnectionEvents:
        return self

    async def __anext__(self) -> ConnectionEvent:
        while not self._queue:
            if self._ended:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    async def __aenter__(self) -> ConnectionEvents:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Unsubscribe: the events not read yet are dropped, and the iteration ends."""
        self._queue.clear()
        self._end()
        if self._owner is not None:
            self._owner.discard(self)
            self._owner = None

    async def aclose(self) -> None:
        """As :meth:`close` (for ``contextlib.aclosing``)."""
        self.close()

    def _put(self, event: ConnectionEvent) -> None:
        if self._ended:
            return
        if len(self._queue) >= self._maxlen:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped == 1:
                log.warning(
                    "events(): a subscriber reads too slowly; its oldest events are dropped (max_event_backlog=%d)",
                    self._maxlen,
                )
        self._queue.append(event)
        self._wake()

    def _end(self) -> None:
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


@dataclass
class _Held:
    """What the registry knows of one live connection besides its session."""

    since: float
    remote_address: str | None
    booted: bool = False
    replaced: bool = False
    ended: asyncio.Event | None = None


class Registry:
    """The bookkeeping behind a CSMSServer's station API (internal): the connections' records,
    the event subscribers, the ``wait_for`` waiters and the listeners. Runs in the server's loop.

    Parameters:
        sessions: the server's live sessions by identity (read, never written here).
        node: the server's node name.
        max_event_backlog: each subscriber's queue bound.
    """

    def __init__(self, sessions: dict[str, Session], node: str | None, max_event_backlog: int) -> None:
        self.sessions = sessions
        self.node = node
        self.max_event_backlog = max_event_backlog
        self.listeners: list[Listener] = []
        self._held: dict[Session, _Held] = {}
        self._subscribers: weakref.WeakSet[ConnectionEvents] = weakref.WeakSet()
        self._waiters: dict[str, list[tuple[bool, asyncio.Future[StationInfo]]]] = {}
        self._closed = False

    # ------------------------------------------------------------- records

    def info(self, session: Session) -> StationInfo:
        held = self._held.get(session)
        return StationInfo(
            identity=session.identity,
            version=session.version,
            since=held.since if held is not None else 0.0,
            boot_state=session.connection.boot_state,
            node=self.node,
            remote_address=held.remote_address if held is not None else None,
        )

    def station(self, identity: str) -> StationInfo | None:
        session = self.sessions.get(identity)
        return None if session is None else self.info(session)

    def stations(self) -> list[StationInfo]:
        return [self.info(s) for s in list(self.sessions.values())]

    # ------------------------------------------------------------- the connections' life

    def reopen(self) -> None:
        """The server (re)starts: new subscribers get events again."""
        self._closed = False

    def opened(self, session: Session, remote_address: Any) -> None:
        """``session`` has just been put in ``sessions``."""
        self._held[session] = _Held(time.time(), format_address(remote_address), ended=asyncio.Event())
        self._publish("connected", session)
        self._resolve(session, booted=False)

    def replaced(self, old: Session) -> None:
        """``old`` has just been taken over by a new connection (not yet in ``sessions``)."""
        held = self._held.get(old)
        if held is not None and not held.replaced:
            held.replaced = True
            self._publish("replaced", old, old.close_reason)

    def sent(self, session: Session) -> None:
        """A message has gone to the station: did that answer its BootNotification Accepted?"""
        held = self._held.get(session)
        if held is None:
            return
        accepted = session.connection.boot_state == _ACCEPTED
        if accepted and not held.booted:
            held.booted = True
            self._publish("booted", session)
            self._resolve(session, booted=True)
        elif not accepted:
            held.booted = False

    def ended(self, session: Session) -> None:
        """``session`` has ended and is no longer in ``sessions``."""
        held = self._held.get(session)
        if held is None:
            return
        if not held.replaced:
            self._publish("disconnected", session, session.close_reason)
        del self._held[session]
        if held.ended is not None:
            held.ended.set()

    async def wait_ended(self, session: Session) -> None:
        held = self._held.get(session)
        if held is not None and held.ended is not None:
            await held.ended.wait()

    def close(self) -> None:
        """The server has closed: end every subscription and fail every waiter."""
        self._closed = True
        for sub in list(self._subscribers):
            sub._end()
        self._subscribers = weakref.WeakSet()
        waiters, self._waiters = self._waiters, {}
        for identity, entries in waiters.items():
            for _, future in entries:
                if not future.done():
                    future.set_exception(StationNotConnected(identity, "the server closed"))

    # ------------------------------------------------------------- events

    def subscribe(self) -> ConnectionEvents:
        sub = ConnectionEvents(self.max_event_backlog)
        if self._closed:
            sub._end()
        else:
            self._subscribers.add(sub)
            sub._owner = self._subscribers
        return sub

    def _publish(self, kind: str, session: Session, reason: str = "") -> None:
        if not self._subscribers:
            return
        event = ConnectionEvent(kind, self.info(session), time.time(), reason)
        for sub in list(self._subscribers):
            sub._put(event)

    # ------------------------------------------------------------- wait_for

    def ready(self, identity: str, booted: bool) -> StationInfo | None:
        session = self.sessions.get(identity)
        if session is None or session.closed.is_set():
            return None
        if booted and session.connection.boot_state != _ACCEPTED:
            return None
        return self.info(session)

    async def wait_for(self, identity: str, booted: bool, timeout: float | None) -> StationInfo:
        found = self.ready(identity, booted)
        if found is not None:
            return found
        if self._closed:
            raise StationNotConnected(identity, "the server is closed")
        future: asyncio.Future[StationInfo] = asyncio.get_running_loop().create_future()
        entry = (booted, future)
        self._waiters.setdefault(identity, []).append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            what = "connected and booted" if booted else "connected"
            raise asyncio.TimeoutError(f"station '{printable(identity)}' not {what} within {timeout:g} s") from None
        finally:
            entries = self._waiters.get(identity)
            if entries is not None and entry in entries:
                entries.remove(entry)
                if not entries:
                    del self._waiters[identity]

    def _resolve(self, session: Session, booted: bool) -> None:
        entries = self._waiters.get(session.identity)
        if not entries:
            return
        info = self.info(session)
        for wants_boot, future in entries:
            if (booted or not wants_boot) and not future.done():
                future.set_result(info)

    # ------------------------------------------------------------- listeners

    def on_event_of(self, hook: Callable[[Session, Any], None] | None) -> Callable[[Session, Any], None]:
        """The ``on_event`` of a new session: the user's ``hook``, then every listener, each
        isolated (an exception is logged and goes no further)."""
        listeners = self.listeners

        def on_event(session: Session, event: Any) -> None:
            if hook is not None:
                try:
                    hook(session, event)
                except Exception:  # a hook's failure never ends the connection
                    session.log.exception(
                        "%s: the on_event hook failed on %s", printable(session.identity), type(event).__name__
                    )
            if listeners:
                for listener in tuple(listeners):
                    try:
                        listener(session, event)
                    except Exception:  # nor does a listener's
                        session.log.exception(
                            "%s: the listener %s failed on %s",
                            printable(session.identity),
                            getattr(listener, "__qualname__", type(listener).__name__),
                            type(event).__name__,
                        )

        return on_event


class BlockingCSMS:
    """A :class:`~ocppkit.adapters.websockets.CSMSServer` for synchronous code (a Flask or
    Django view, a worker thread): the same calls, blocking, safe from any thread but the one
    running the server's event loop (there a blocking call would deadlock the loop, so it
    raises RuntimeError). Get it with ``csms.blocking()`` once the server has started; each
    call runs on the server's loop (``asyncio.run_coroutine_threadsafe``) and waits for it.

    Parameters:
        csms: the started server.
        loop: the event loop running it.
        loop_thread: the ``threading.get_ident()`` of the thread running that loop.
    """

    def __init__(self, csms: CSMSServer, loop: asyncio.AbstractEventLoop, loop_thread: int) -> None:
        self.csms = csms
        self.loop = loop
        self.loop_thread = loop_thread

    def call(self, identity: str, request: Request[R], *, timeout: float | None = None) -> R:
        """``await csms.call(identity, request, timeout=timeout)``, from this thread; raises
        what that raises."""
        return self._run(lambda: self.csms.call(identity, request, timeout=timeout), "call")

    def stations(self) -> list[StationInfo]:
        """``csms.stations()``, read on the server's loop."""
        return self._run(lambda: _value(self.csms.stations), "stations")

    def station(self, identity: str) -> StationInfo | None:
        """``csms.station(identity)``, read on the server's loop."""
        return self._run(lambda: _value(lambda: self.csms.station(identity)), "station")

    def wait_for(self, identity: str, *, booted: bool = False, timeout: float | None = None) -> StationInfo:
        """``await csms.wait_for(identity, booted=booted, timeout=timeout)``, from this thread."""
        return self._run(lambda: self.csms.wait_for(identity, booted=booted, timeout=timeout), "wait_for")

    def _run(self, make: Callable[[], Coroutine[Any, Any, T]], name: str) -> T:
        if self.loop.is_closed() or not self.loop.is_running():
            raise RuntimeError(f"BlockingCSMS.{name}(): the server's event loop is not running")
        if threading.get_ident() == self.loop_thread:
            raise RuntimeError(
                f"BlockingCSMS.{name}() called from the thread running the server's event loop: it would "
                f"block that loop for ever; use csms.{name}() there (awaited where it is a coroutine)"
            )
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result()


async def _value(read: Callable[[], T]) -> T:
    return read()
