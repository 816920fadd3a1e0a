"""``ocppkit.cluster.Node``: one CSMS process as a node of a cluster on Redis.

Attached to a CSMS (``CSMSServer(..., cluster=Node(...))``, which awaits ``node.start(csms)``),
the node follows the CSMS's connection events and

- registers each station it holds: ``INCR`` of the station's epoch (the fencing token), its
  presence hash with a TTL, refreshed every ``refresh_interval``; a registration that fails
  (Redis down) is made again when Redis is back;
- drops its connection of a station when a newer epoch of it appears on another node (pub/sub
  on ``{p}takeover``, and the refresh, which reports what the node lost, for a missed message);
- serves the calls other processes queue for its stations (:class:`~._serve.CallServer`);
- publishes connection events (``{p}events``) and, for the ``publish`` actions, what stations
  send (``{p}messages``).

Local stations never depend on Redis: the node only observes the CSMS and calls into it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import msgspec
import redis.exceptions as rexc

from .. import Request, Response, encode_payload
from ..events import CallReceived
from ._client import Client, redacted
from ._host import ClusterHost, ConnectionEvent, StationInfo
from ._protocol import CLAIM, REFRESH, RELEASE, ClusterSettings, encode_event, info_fields, stop_task
from ._serve import CallServer

__all__ = ["Node"]

log = logging.getLogger("ocppkit.cluster")
R = TypeVar("R", bound=Response)
_REDIS_ERRORS = (rexc.ConnectionError, rexc.TimeoutError, OSError)
_CHUNK = 500  # stations per refresh script run


class _Takeover(msgspec.Struct):
    identity: str
    node: str
    epoch: int


_TAKEOVER = msgspec.json.Decoder(_Takeover)


@dataclass
class _Held:
    info: StationInfo
    epoch: int | None  # None: not registered yet (Redis was unreachable)
    registering: bool = False  # a claim is under way: one connection claims one epoch


def _positive(name: str, value: object, kind: type = float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name}: expected a number > 0, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise ValueError(f"{name}: expected an int > 0, got {value!r}")


class Node:
    """A CSMS process as a node of the cluster; implements the CSMS's ``ClusterLink``.

    ``CSMSServer(routers, node="csms-a", cluster=Node("redis://127.0.0.1:6379/0", node="csms-a"))``.

    Parameters:
        url: the Redis URL of the cluster.
        node: this node's name, unique in the cluster and stable across restarts (a restarted
            node answers the calls it had read and not answered before it stopped).
        presence_ttl: seconds the node's and its stations' registrations live without a refresh
            (default 10): a node that dies is seen dead this long after its last refresh.
        refresh_interval: seconds between refreshes (default ``presence_ttl / 3``); also how
            soon a registration that failed (Redis down) is made again.
        publish: the actions whose CALLs from stations the node adds to ``{prefix}messages``
            (for ``Client.messages``), or ``"all"``; default none.
        max_queued_calls: cluster calls queued at this node for one station (default 1,000);
            one more is refused with ``ClusterBusy``.
        max_pending: cluster calls read and not yet answered at once, all stations together
            (default 10,000); beyond it the node stops reading, the calls wait in its stream.
        publish_backlog: station messages kept while Redis is unreachable (default 10,000); older
            ones are dropped and counted in ``dropped_messages``.
        drain_timeout: seconds ``close()`` lets the calls in hand finish (default 10).
        retry_interval: seconds between attempts to reach Redis again (default 1).
        settings: the :class:`ClusterSettings` shared with the clients (prefix, call timeout,
            bounds).

    Attributes:
        client: the node's :class:`Client` (``node.call`` and ``client.stations()`` use it).
        redis_available: whether the last operation on Redis succeeded.
        dropped_messages: station messages dropped (``publish_backlog`` full).
        served: cluster calls answered so far.
    """

    def __init__(
        self,
        url: str,
        *,
        node: str,
        presence_ttl: float = 10.0,
        refresh_interval: float | None = None,
        publish: Collection[str] | Literal["all"] = (),
        max_queued_calls: int = 1_000,
        max_pending: int = 10_000,
        publish_backlog: int = 10_000,
        drain_timeout: float = 10.0,
        retry_interval: float = 1.0,
        settings: ClusterSettings | None = None,
    ) -> None:
        if not isinstance(node, str) or not node or not node.isprintable():
            raise ValueError(f"node: expected a non-empty printable name, got {node!r}")
        _positive("presence_ttl", presence_ttl)
        refresh_interval = presence_ttl / 3 if refresh_interval is None else refresh_interval
        _positive("refresh_interval", refresh_interval)
        if refresh_interval >= presence_ttl:
            raise ValueError(f"refresh_interval: must be below presence_ttl ({presence_ttl}), got {refresh_interval!r}")
        for name, value in (("max_queued_calls", max_queued_calls), ("max_pending", max_pending)):
            _positive(name, value, int)
        _positive("publish_backlog", publish_backlog, int)
        _positive("drain_timeout", drain_timeout)
        _positive("retry_interval", retry_interval)
        if isinstance(publish, str) and publish != "all":
            raise ValueError(f"publish: expected a collection of action names or 'all', got {publish!r}")
        self.url = url
        self.node = node
        self.presence_ttl = presence_ttl
        self.refresh_interval = refresh_interval
        self.publish: frozenset[str] | None = None if publish == "all" else frozenset(publish)
        self.max_queued_calls = max_queued_calls
        self.max_pending = max_pending
        self.publish_backlog = publish_backlog
        self.drain_timeout = drain_timeout
        self.retry_interval = retry_interval
        self.settings = settings or ClusterSettings()
        self.client = Client(url, settings=self.settings)
        self.keys = self.client.keys
        redis = self.client.redis
        self._claim = redis.register_script(CLAIM)
        self._refresh_script = redis.register_script(REFRESH)
        self._release = redis.register_script(RELEASE)
        self._csms: ClusterHost | None = None
        self._held: dict[str, _Held] = {}
        self._releases: list[tuple[str, int]] = []  # registrations to remove once Redis is back
        self._messages: collections.deque[dict[Any, Any]] = collections.deque()
        self._message_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._server: CallServer | None = None
        self._serving: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.redis_available = False
        self.dropped_messages = 0
        self._warned_down = False

    @property
    def served(self) -> int:
        """Cluster calls answered so far."""
        return 0 if self._server is None else self._server.served

    def epoch(self, identity: str) -> int | None:
        """The epoch of this node's connection of ``identity`` (None: not held, or not registered
        yet)."""
        held = self._held.get(identity)
        return None if held is None else held.epoch

    # ------------------------------------------------------------- ClusterLink

    async def start(self, csms: ClusterHost) -> None:
        """Attach to ``csms`` (awaited by ``csms.start()``): follow its connections, serve the
        calls for its stations. Never fails because Redis is down: the node keeps trying."""
        if self._csms is not None:
            raise RuntimeError(f"node {ascii(self.node)} is already started")
        self._csms = csms
        events = csms.events()  # subscribed now: no connection is missed
        csms.add_listener(self._listen)
        loop = asyncio.get_running_loop()
        self._server = CallServer(
            self.client.redis,
            self.client.fast,
            self.keys,
            self.node,
            csms,
            max_queued_calls=self.max_queued_calls,
            max_pending=self.max_pending,
            reply_ttl=self.settings.reply_ttl,
            retry_interval=self.retry_interval,
            op_timeout=self.settings.op_timeout,
        )
        await self._refresh()  # registers the node (and any station already connected)
        self._serving = loop.create_task(self._server.run())
        self._tasks = [
            loop.create_task(self._follow(events)),
            loop.create_task(self._refresh_loop()),
            loop.create_task(self._watch_takeovers()),
            loop.create_task(self._publish_messages()),
        ]

    async def call(self, identity: str, request: Request[R], timeout: float | None) -> R:
        """Call a station held by another node (``csms.call`` delegates here); see
        :meth:`Client.call`."""
        return await self.client.call(identity, request, timeout=timeout)

    async def close(self) -> None:
        """Drain and leave (awaited by ``csms.close()`` before it closes its connections): stop
        reading calls, let those in hand finish (``drain_timeout``), deregister the node and its
        stations (callers then get ``StationNotConnected`` until the stations reconnect
        elsewhere), and close the connections to Redis."""
        if self._csms is None:
            await self.client.close()
            return
        csms, self._csms = self._csms, None
        csms.remove_listener(self._listen)
        if self._serving is not None:
            await stop_task(self._serving)
        if self._server is not None:
            await self._server.drain(self.drain_timeout)
        await self._flush_messages()
        for task in self._tasks:
            await stop_task(task)
        held = [(i, h.epoch) for i, h in self._held.items() if h.epoch is not None]
        now = time.time()
        try:
            await self._run_release(held + self._releases)
            async with self.client.redis.pipeline(transaction=False) as pipe:
                for h in self._held.values():
                    event = ConnectionEvent("disconnected", h.info, now, f"node {self.node} closed")
                    pipe.publish(self.keys.events, encode_event(event))
                pipe.delete(self.keys.node(self.node), self.keys.stations_of(self.node))
                pipe.srem(self.keys.nodes, self.node)
                await pipe.execute()
        except _REDIS_ERRORS as exc:
            log.warning("node %s: could not deregister (Redis: %s); it expires by itself", ascii(self.node), exc)
        self._held.clear()
        await self.client.close()

    # ------------------------------------------------------------- connections

    async def _follow(self, events: Any) -> None:
        async for event in events:
            try:
                await self._on_event(event)
            except _REDIS_ERRORS as exc:
                self._down(exc)
            except Exception:  # never stop following: the refresh reconciles with the CSMS
                log.exception("node %s: handling a %s event failed", ascii(self.node), ascii(event.kind))

    async def _on_event(self, event: ConnectionEvent) -> None:
        info = dataclasses.replace(event.station, node=self.node)
        identity = info.identity
        held = self._held.get(identity)
        if event.kind == "connected":
            if held is None or held.info.since != info.since:  # else the refresh found it first
                held = self._held[identity] = _Held(info, None)
            await self._register(identity, held)
        elif event.kind == "booted":
            if held is None or held.info.since != info.since:
                return
            held.info = dataclasses.replace(held.info, boot_state=info.boot_state)
            if held.epoch is not None:
                await self._refresh_stations([(identity, held)])
        elif event.kind in ("disconnected", "replaced"):
            if held is None or held.info.since != info.since:
                return  # an older connection of a station held anew
            del self._held[identity]
            if held.epoch is not None:
                self._releases.append((identity, held.epoch))
                await self._run_release(self._releases)
        await self._publish_event(dataclasses.replace(event, station=info))

    async def _register(self, identity: str, held: _Held) -> None:
        info = held.info
        epoch = int(
            await self._claim(
                args=[
                    self.keys.prefix,
                    identity,
                    self.node,
                    int(self.presence_ttl * 1000),
                    *info_fields(info, self.node),
                ]
            )
        )
        self._up()
        if self._held.get(identity) is held:
            held.epoch = epoch
        else:  # it disconnected while registering
            self._releases.append((identity, epoch))
            await self._run_release(self._releases)

    async def _run_release(self, items: list[tuple[str, int]]) -> None:
        if not items:
            return
        args: list[Any] = [self.keys.prefix, self.node, "1", len(items)]
        for identity, epoch in items:
            args += [identity, epoch]
        await self._release(args=args)
        if items is self._releases:
            self._releases = []

    async def _publish_event(self, event: ConnectionEvent) -> None:
        await self.client.redis.publish(self.keys.events, encode_event(event))

    # ------------------------------------------------------------- presence

    async def _refresh_loop(self) -> None:
        while True:
            interval = (
                self.refresh_interval if self.redis_available else min(self.retry_interval, self.refresh_interval)
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            await self._refresh()

    async def _refresh(self) -> None:
        """Reconcile with the CSMS's stations, register what is not registered, refresh the rest,
        and drop the connections whose station has a newer epoch elsewhere."""
        csms = self._csms
        if csms is None:
            return
        live = {s.identity: s for s in csms.stations()}
        for identity, held in list(self._held.items()):
            if identity not in live or live[identity].since != held.info.since:
                del self._held[identity]  # an event not seen yet (or lost): the truth is the CSMS
                if held.epoch is not None:
                    self._releases.append((identity, held.epoch))
        for identity, info in live.items():
            if identity not in self._held:
                self._held[identity] = _Held(dataclasses.replace(info, node=self.node), None)
        try:
            await self._run_release(self._releases)
            for identity, held in list(self._held.items()):
                if held.epoch is None:
                    await self._register(identity, held)
            await self._refresh_stations(list(self._held.items()))
        except _REDIS_ERRORS as exc:
            self._down(exc)

    async def _refresh_stations(self, items: list[tuple[str, _Held]]) -> None:
        items = [(i, h) for i, h in items if h.epoch is not None]
        ttl = int(self.presence_ttl * 1000)
        lost: list[bytes] = []
        for start in range(0, max(len(items), 1), _CHUNK):
            chunk = items[start : start + _CHUNK]
            args: list[Any] = [self.keys.prefix, self.node, ttl, len(chunk)]
            for identity, held in chunk:
                args += [identity, held.epoch, *info_fields(held.info, self.node)]
            gone, adopt = await self._refresh_script(args=args)
            lost += gone
            for i in range(0, len(adopt), 2):
                mine = self._held.get(adopt[i].decode("utf-8", "surrogateescape"))
                if mine is not None:
                    mine.epoch = int(adopt[i + 1])
        self._up()
        for raw in lost:
            identity = raw.decode("utf-8", "surrogateescape")
            mine = self._held.get(identity)
            if mine is not None:
                await self._drop(identity, mine, "a newer connection of it is registered (refresh)")

    async def _drop(self, identity: str, held: _Held, why: str) -> None:
        csms = self._csms
        if csms is None or self._held.get(identity) is not held:
            return
        log.info(
            "node %s: station %s: %s; this node closes its older connection", ascii(self.node), ascii(identity), why
        )
        del self._held[identity]
        await csms.disconnect(identity, code=1000, reason="connected to another CSMS node")

    async def _watch_takeovers(self) -> None:
        while True:
            pubsub = self.client.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.keys.takeover)
                self._wake.set()  # a takeover missed while unsubscribed is found by a refresh now
                while True:
                    msg = await pubsub.get_message(timeout=1.0)
                    if msg is None or msg.get("type") != "message":
                        continue
                    try:
                        t = _TAKEOVER.decode(msg["data"])
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        continue
                    held = self._held.get(t.identity)
                    # a newer connection on this node itself is the CSMS's own duplicate policy
                    mine = t.node == self.node
                    if held is not None and held.epoch is not None and t.epoch > held.epoch and not mine:
                        await self._drop(t.identity, held, f"connected to node {ascii(t.node)} (epoch {t.epoch})")
            except _REDIS_ERRORS as exc:
                self._down(exc)
                await asyncio.sleep(self.retry_interval)
            finally:
                with contextlib.suppress(*_REDIS_ERRORS):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _down(self, exc: BaseException) -> None:
        if not self._warned_down:
            log.warning(
                "node %s: Redis at %s is unavailable (%s): local stations are served, cluster calls fail; "
                "retrying every %gs",
                ascii(self.node),
                redacted(self.url),
                exc,
                self.retry_interval,
            )
            self._warned_down = True
        self.redis_available = False

    def _up(self) -> None:
        if not self.redis_available and self._warned_down:
            log.warning("node %s: Redis is back; the node's stations are registered again", ascii(self.node))
        self._warned_down = False
        self.redis_available = True

    # ------------------------------------------------------------- what stations send

    def _listen(self, session: Any, event: Any) -> None:
        if not isinstance(event, CallReceived) or (self.publish is not None and event.action not in self.publish):
            return
        if len(self._messages) >= self.publish_backlog:
            self._messages.popleft()
            if self.dropped_messages == 0:
                log.warning("node %s: the station messages' backlog is full; the oldest are dropped", ascii(self.node))
            self.dropped_messages += 1
        payload = encode_payload(event.request, validate=False)
        self._messages.append(
            {b"i": session.identity, b"n": self.node, b"v": session.version, b"a": event.action}
            | {b"u": event.unique_id, b"t": repr(time.time()), b"p": payload}
        )
        self._message_ready.set()

    async def _publish_messages(self) -> None:
        while True:
            await self._message_ready.wait()
            self._message_ready.clear()
            try:
                await self._flush_messages(raise_errors=True)
            except _REDIS_ERRORS as exc:
                self._down(exc)
                await asyncio.sleep(self.retry_interval)
                self._message_ready.set()

    async def _flush_messages(self, raise_errors: bool = False) -> None:
        maxlen = self.settings.messages_maxlen
        while self._messages:
            batch = [self._messages[i] for i in range(min(len(self._messages), 256))]
            try:
                async with self.client.redis.pipeline(transaction=False) as pipe:
                    for fields in batch:
                        pipe.xadd(self.keys.messages, fields, maxlen=maxlen, approximate=True)
                    await pipe.execute()
            except _REDIS_ERRORS:
                if raise_errors:
                    raise
                return
            for _ in batch:
                self._messages.popleft()
