"""A stand-in for the registry API of ``CSMSServer`` (issue 13 part A, another branch).

INTERIM, until ``ocppkit.adapters.registry`` is on main: ``StandInCSMS`` wraps a real
:class:`CSMSServer` (real WebSockets, real sessions) and offers exactly the methods the cluster
node uses (``events``, ``call_local``, ``disconnect``, ``add_listener``, ``remove_listener``,
``stations``) plus ``call``, built on the server's public hooks. When the registry lands,
:func:`start_csms` builds ``CSMSServer(router, node=name, cluster=node)`` instead and every test
runs unchanged against the real thing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from ocppkit import Request, Response, Router
from ocppkit.adapters.asyncio import Session
from ocppkit.adapters.websockets import CSMSServer
from ocppkit.cluster import ConnectionEvent, Node, StationInfo, StationNotConnected, VersionMismatch

R = TypeVar("R", bound=Response)


class _Events:
    def __init__(self, queue: asyncio.Queue[ConnectionEvent]) -> None:
        self.queue = queue

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> ConnectionEvent:
        return await self.queue.get()


class StandInCSMS:
    def __init__(self, router: Router, node: str | None = None, cluster: Node | None = None, **kw: Any) -> None:
        self.node = node
        self.cluster = cluster
        self.server = CSMSServer(
            router, on_connect=self._connected, on_disconnect=self._disconnected, on_event=self._event, **kw
        )
        self._queues: list[asyncio.Queue[ConnectionEvent]] = []
        self._listeners: list[Callable[[Any, Any], None]] = []
        self._since: dict[Session, float] = {}
        self._boot: dict[Session, str] = {}

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await self.server.start(host, port)
        if self.cluster is not None:
            await self.cluster.start(self)

    async def close(self) -> None:
        if self.cluster is not None:
            await self.cluster.close()
        await self.server.close()

    # ------------------------------------------------------------- the registry API the node uses

    def events(self) -> AsyncIterator[ConnectionEvent]:
        queue: asyncio.Queue[ConnectionEvent] = asyncio.Queue()
        self._queues.append(queue)
        return _Events(queue)

    def _info(self, session: Session) -> StationInfo:
        return StationInfo(
            session.identity,
            session.version,
            self._since.get(session, 0.0),
            str(session.connection.boot_state),
            self.node,
            None,
        )

    def stations(self) -> list[StationInfo]:
        return [self._info(s) for s in self.server.sessions.values() if s in self._since]  # announced ones

    async def call_local(self, identity: str, request: Request[R], *, timeout: float | None = None) -> R:
        session = self.server.sessions.get(identity)
        if session is None:
            raise StationNotConnected(identity)
        version = type(request).__ocpp__.version  # type: ignore[attr-defined]
        if version != session.version:
            raise VersionMismatch(f"station {identity!r} speaks {session.version}; the request is {version}")
        return await asyncio.wait_for(session.call(request), timeout)

    async def call(self, identity: str, request: Request[R], *, timeout: float | None = None) -> R:
        if identity in self.server.sessions or self.cluster is None:
            return await self.call_local(identity, request, timeout=timeout)
        return await self.cluster.call(identity, request, timeout)

    async def disconnect(self, identity: str, *, code: int = 1000, reason: str = "") -> bool:
        session = self.server.sessions.get(identity)
        if session is None:
            return False
        session.close_reason = reason
        session.transport.abort()
        return True

    def add_listener(self, fn: Callable[[Any, Any], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[Any, Any], None]) -> None:
        self._listeners.remove(fn)

    # ------------------------------------------------------------- built on the server's hooks

    def _emit(self, kind: str, session: Session, reason: str = "") -> None:
        event = ConnectionEvent(kind, self._info(session), time.time(), reason)
        for queue in self._queues:
            queue.put_nowait(event)

    def _connected(self, session: Session) -> None:
        self._since[session] = time.time()
        self._boot[session] = str(session.connection.boot_state)
        self._emit("connected", session)

    def _disconnected(self, session: Session) -> None:
        replaced = self.server.sessions.get(session.identity) is not None
        self._emit("replaced" if replaced else "disconnected", session, session.close_reason)
        self._since.pop(session, None)
        self._boot.pop(session, None)

    def _event(self, session: Session, event: Any) -> None:
        for fn in self._listeners:
            fn(session, event)
        asyncio.get_running_loop().call_soon(self._check_boot, session)  # after the session answered

    def _check_boot(self, session: Session) -> None:
        state = str(session.connection.boot_state)
        if session in self._boot and state != self._boot[session]:
            self._boot[session] = state
            if state == "ACCEPTED":
                self._emit("booted", session)


async def start_csms(
    url: str, name: str, router: Router, csms_kw: dict[str, Any] | None = None, **node_kw: Any
) -> tuple[StandInCSMS, Node]:
    """A CSMS on a free port of 127.0.0.1 that is node ``name`` of the cluster at ``url``
    (``csms_kw``: CSMSServer's parameters; the others: the Node's)."""
    node = Node(url, node=name, **node_kw)
    csms = StandInCSMS(router, node=name, cluster=node, **(csms_kw or {}))
    await csms.start()
    return csms, node
