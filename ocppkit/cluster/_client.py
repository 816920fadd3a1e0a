"""``ocppkit.cluster.Client``: call any station of the cluster from a process without WebSockets.

A call is routed by one script (the station's node, its presence, the version, the node's queue
bound, then ``XADD`` to the node's stream: one round trip); the result comes back on this
client's reply list, read by one task with ``BLMPOP`` (up to 256 results per wake-up; ``BLPOP``
on a Redis before 7) for every call in flight.

The hot path (routing, reading results; the node's stream reads and answers) uses a second
connection pool without redis-py's socket timeout, which costs a task and an event-loop turn per
command: each of those commands is bounded by ``op_timeout`` instead; routes issued in the same
event-loop turn go as one pipeline (:class:`~._batch.ScriptBatch`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import msgspec
import redis.asyncio as aioredis
import redis.exceptions as rexc
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from .. import Request, Response, decode_payload, encode_payload
from ..errors import CallTimeout, OcppError
from ._batch import ScriptBatch, bounded
from ._host import ConnectionEvent, StationInfo, StationNotConnected, VersionMismatch
from ._protocol import (
    LIST,
    REPLY_DECODER,
    ROUTE,
    ClusterBusy,
    ClusterSettings,
    ClusterUnavailable,
    Keys,
    PresenceExpired,
    Reply,
    decode_event,
    reply_error,
    request_class,
    response_class,
    stop_task,
    stream_entries,
)

__all__ = ["Client", "EventStream", "MessageStream", "StationMessage"]

log = logging.getLogger("ocppkit.cluster")
R = TypeVar("R", bound=Response)
_REDIS_ERRORS = (rexc.ConnectionError, rexc.TimeoutError, OSError)
_BLOCK = 1.0  # seconds a blocking read waits before it looks around (closing, dead nodes)
_BATCH = 256  # results taken from the reply list per wake-up


def redacted(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def connect_redis(url: str, settings: ClusterSettings, *, socket_timeout: bool = True) -> aioredis.Redis:
    """A client for ``url`` with the settings' timeouts; one quick retry on a dropped connection
    (a pooled connection that Redis closed when it restarted). ``socket_timeout=False``: no
    per-command socket timeout (the caller bounds each command with :func:`bounded`)."""
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=settings.connect_timeout,
        socket_timeout=settings.op_timeout + _BLOCK if socket_timeout else None,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        retry_on_error=[rexc.ConnectionError],
    )


@contextlib.contextmanager
def unavailable(url: str) -> Iterator[None]:
    """Turn Redis's connection errors into :class:`ClusterUnavailable` naming the server."""
    try:
        yield
    except _REDIS_ERRORS as exc:
        raise ClusterUnavailable(f"the cluster's Redis at {redacted(url)} is unavailable: {exc}") from exc


@dataclass
class _Waiter:
    future: asyncio.Future[Reply]
    node: str | None  # None: being routed
    identity: str


@dataclass(frozen=True)
class StationMessage:
    """A CALL a station sent to its node, from ``Client.messages()``.

    Attributes:
        identity: the station.
        node: the node that received it.
        version: the OCPP version of the station's connection.
        action: the action name.
        unique_id: the station's message id.
        request: the typed request (an instance of the action's generated request class).
        at: ``time.time()`` when the node received it.
        id: the message's id in the stream.
    """

    identity: str
    node: str
    version: str
    action: str
    unique_id: str
    request: Request[Any]
    at: float
    id: str


class Client:
    """Calls the stations of a cluster of :class:`~ocppkit.cluster.Node` s, from any process.

    ``async with Client("redis://127.0.0.1:6379/0") as client:`` then
    ``await client.call("CP1", request)``.

    Parameters:
        url: the Redis URL of the cluster (``redis://[user:password@]host:port/db``,
            ``rediss://`` for TLS).
        settings: the :class:`ClusterSettings` (key prefix, call timeout, bounds); the same
            prefix as the nodes'.

    Attributes:
        id: this client's id (its reply list is ``{prefix}reply:{id}``).
        redis: the client's connection pool to Redis (redis-py, with the settings' timeouts).
        fast: the pool of the hot path (routes, results; the node's stream reads and answers):
            no socket timeout, each command bounded by ``op_timeout``.
    """

    def __init__(self, url: str, *, settings: ClusterSettings | None = None) -> None:
        self.url = url
        self.settings = settings or ClusterSettings()
        self.keys = Keys(self.settings.prefix)
        self.id = uuid.uuid4().hex
        self.redis = connect_redis(url, self.settings)
        #: the hot path's pool (no socket timeout: every command is bounded by ``bounded``)
        self.fast = connect_redis(url, self.settings, socket_timeout=False)
        self._route = ScriptBatch(self.fast, ROUTE, self.settings.op_timeout)
        self._multipop = True  # BLMPOP (Redis >= 7); False: BLPOP then LPOP
        self._list = self.redis.register_script(LIST)
        self._waiting: dict[str, _Waiter] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop reading results (calls in flight fail with ``ClusterUnavailable``) and close the
        connections to Redis."""
        self._closed = True
        if self._reader is not None:
            await stop_task(self._reader)
        self._fail_all(ClusterUnavailable("the cluster client was closed"))
        await self.redis.aclose()
        await self.fast.aclose()

    # ------------------------------------------------------------- calls

    async def call(self, identity: str, request: Request[R], *, timeout: float | None = None) -> R:
        """Call the station ``identity``, wherever it is connected; its typed response.

        ``timeout`` (default ``settings.call_timeout``) counts from now and travels with the
        call: the node answers a call still queued at its deadline with a timeout, unsent.

        Raises:
            StationNotConnected: no node holds the station (:class:`PresenceExpired`, a subclass,
                when the node that held it stopped refreshing its presence).
            VersionMismatch: the request is of another OCPP version than the station's
                connection (nothing was sent).
            ClusterBusy: the node has ``max_stream_length`` calls waiting, or the station
                ``max_queued_calls`` (nothing was sent).
            ClusterUnavailable: Redis cannot be reached.
            CallTimeout: no answer before the deadline.
            CallErrorResponse: the station answered with a CALLERROR.
            ocppkit.LocalProtocolError: the request breaks its schema (nothing was sent).
            ocppkit.PayloadError: the station's response breaks its schema.
            CallInterrupted: the node stopped with the call unanswered.
        """
        if self._closed:
            raise ClusterUnavailable("the cluster client is closed")
        info = getattr(type(request), "__ocpp__", None)
        if info is None or info.role != "request":
            raise TypeError(f"request: expected a generated <Action>Request, got {type(request).__name__}")
        timeout = self.settings.call_timeout if timeout is None else timeout
        if not timeout > 0:
            raise ValueError(f"timeout: expected a number of seconds > 0, got {timeout!r}")
        payload = encode_payload(request)  # LocalProtocolError: nothing is sent
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        deadline_ms = int((time.time() + timeout) * 1000)
        call_id = uuid.uuid4().hex
        fields: list[str | bytes] = [b"c", call_id, b"r", self.keys.reply(self.id), b"i", identity]
        fields += [b"v", info.version, b"a", info.action, b"d", str(deadline_ms), b"p", payload]
        try:
            for attempt in (1, 2):
                future: asyncio.Future[Reply] = loop.create_future()
                # waiting before routing: under load the answer can be read before the route's reply
                waiter = self._waiting[call_id] = _Waiter(future, None, identity)
                self._ensure_reader()
                with unavailable(self.url):
                    status, node, station_version = await self._route(
                        [self.keys.prefix, identity, info.version, self.settings.max_stream_length, *fields]
                    )
                node = node.decode("utf-8", "surrogateescape")
                status = status.decode()
                if status == "absent":
                    raise StationNotConnected(identity)
                if status == "expired":
                    raise PresenceExpired(identity, node)
                if status == "version":
                    raise VersionMismatch(identity, info.action, info.version, station_version.decode())
                if status == "busy":
                    raise ClusterBusy(
                        f"station {ascii(identity)}: node {ascii(node)} has "
                        f"{self.settings.max_stream_length} calls waiting (max_stream_length)"
                    )
                waiter.node = node
                timer = loop.call_at(end, _expire, future)  # a timer on the future: no task, no waiter
                try:
                    reply = await future
                except _Expired:
                    raise CallTimeout(info.action, call_id, version=info.version) from None
                finally:
                    timer.cancel()
                if reply.kind == "ok":
                    cls = response_class(info.version, info.action)
                    result: R = decode_payload(bytes(reply.payload), cls)  # type: ignore[assignment]
                    return result
                if reply.kind == "not_connected" and attempt == 1 and end - loop.time() > 0:
                    continue  # the station left that node just before the call: route it again
                raise reply_error(reply, identity, info.action, info.version)
            raise StationNotConnected(identity)  # pragma: no cover - the loop returns or raises
        finally:
            self._waiting.pop(call_id, None)

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_replies())

    def _fail_all(self, exc: Exception) -> None:
        for waiter in list(self._waiting.values()):
            if not waiter.future.done():
                waiter.future.set_exception(exc)

    async def _read_replies(self) -> None:
        """Deliver results to their callers while any call is in flight; every ``_BLOCK``
        seconds, fail the calls whose node's presence has expired."""
        key = self.keys.reply(self.id)
        checked = time.monotonic()
        limit = _BLOCK + self.settings.op_timeout
        try:
            while self._waiting:
                if self._multipop:
                    try:
                        got: Any = await bounded(
                            self.fast.blmpop(_BLOCK, 1, key, direction="LEFT", count=_BATCH), limit
                        )
                    except rexc.ResponseError as exc:  # a Redis before 7.0
                        if "unknown command" not in str(exc).lower():
                            raise
                        self._multipop = False
                        continue
                    for raw in got[1] if got else ():
                        self._deliver(raw)
                    if got:
                        await asyncio.sleep(0)  # the callers just woken run before the next read is sent
                else:
                    item: Any = await bounded(self.fast.blpop([key], timeout=_BLOCK), limit)
                    if item is not None:
                        self._deliver(item[1])
                        if len(self._waiting) > 1:  # more may be there: take them in one round trip
                            more: Any = await bounded(self.fast.lpop(key, _BATCH), self.settings.op_timeout)
                            for raw in more or []:
                                self._deliver(raw)
                if time.monotonic() - checked >= _BLOCK:
                    checked = time.monotonic()
                    await self._check_nodes()
        except (*_REDIS_ERRORS, rexc.ResponseError) as exc:
            self._fail_all(ClusterUnavailable(f"the cluster's Redis at {redacted(self.url)} is unavailable: {exc}"))

    def _deliver(self, raw: bytes) -> None:
        try:
            reply = REPLY_DECODER.decode(raw)
        except msgspec.DecodeError:
            log.warning("cluster client: an unreadable reply was discarded")
            return
        waiter = self._waiting.get(reply.call)
        if waiter is not None and not waiter.future.done():
            waiter.future.set_result(reply)

    async def _check_nodes(self) -> None:
        nodes = sorted({w.node for w in self._waiting.values() if w.node is not None})
        if not nodes:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for n in nodes:
                pipe.exists(self.keys.node(n))
            flags = await pipe.execute()
        dead = {n for n, flag in zip(nodes, flags, strict=True) if not flag}
        for call_id, waiter in list(self._waiting.items()):
            if waiter.node in dead and not waiter.future.done():
                waiter.future.set_exception(_NodeDied(call_id, waiter.node, waiter.identity))

    # ------------------------------------------------------------- listings and streams

    async def stations(self) -> list[StationInfo]:
        """Every station connected to a live node of the cluster (by identity)."""
        with unavailable(self.url):
            flat = await self._list(args=[self.keys.prefix])
        out = []
        for i in range(0, len(flat), 6):
            ident, node, version, since, boot, addr = (
                None if v is None else v.decode("utf-8", "surrogateescape") for v in flat[i : i + 6]
            )
            assert ident is not None
            out.append(StationInfo(ident, version or "", float(since or 0), boot or "UNKNOWN", node, addr or None))
        return sorted(out, key=lambda s: s.identity)

    def events(self) -> EventStream:
        """The connection events of every node from the moment the stream subscribes (its first
        iteration, or ``await stream.subscribe()``)."""
        return EventStream(self)

    def messages(
        self, group: str, consumer: str, *, actions: Collection[str] | None = None, start: str = "$"
    ) -> MessageStream:
        """What stations send (the actions their nodes publish), for a consumer group: each
        message goes to one consumer of ``group``; see :class:`MessageStream`.

        ``actions`` keeps only those actions (the others are acknowledged and skipped);
        ``start`` is where a new group begins: ``"$"`` (new messages) or ``"0"`` (the oldest kept).
        """
        return MessageStream(self, group, consumer, actions, start)


class _Expired(Exception):
    """A call's deadline passed (set on its future by its timer; raised as ``CallTimeout``)."""


def _expire(future: asyncio.Future[Reply]) -> None:
    if not future.done():
        future.set_exception(_Expired())


class _NodeDied(PresenceExpired):
    def __init__(self, call_id: str, node: str, identity: str) -> None:
        super().__init__(identity, node)
        self.args = (
            f"node {ascii(node)} stopped refreshing its presence with call {call_id} unanswered "
            "(the node died or lost Redis); the call may or may not have reached the station",
        )


class EventStream:
    """An async iterator of :class:`ConnectionEvent` from every node (Redis pub/sub).

    Events are not stored: a stream sees those published while it is subscribed. A slow reader
    keeps at most ``max_event_backlog`` of them; older ones are dropped and counted in
    ``dropped`` (a warning is logged once). After an error (``ClusterUnavailable``) the stream
    ends: resynchronise with ``client.stations()`` and open a new one. Made by
    :meth:`Client.events`.

    Parameters:
        client: the :class:`Client` whose Redis connection it subscribes with.

    Attributes:
        dropped: events dropped because the reader was too slow.
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        self._pubsub = client.redis.pubsub(ignore_subscribe_messages=True)
        self._queue: collections.deque[ConnectionEvent] = collections.deque()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._error: Exception | None = None
        self.dropped = 0

    async def subscribe(self) -> None:
        """Subscribe now (events published from here on are seen)."""
        if self._task is None:
            with unavailable(self._client.url):
                await self._pubsub.subscribe(self._client.keys.events)
            self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        limit = self._client.settings.max_event_backlog
        try:
            while True:
                msg = await self._pubsub.get_message(timeout=_BLOCK)
                if msg is None or msg.get("type") != "message":
                    continue
                try:
                    event = decode_event(msg["data"])
                except (msgspec.DecodeError, msgspec.ValidationError):
                    log.warning("cluster events: an unreadable event was discarded")
                    continue
                if len(self._queue) >= limit:
                    self._queue.popleft()
                    if self.dropped == 0:
                        log.warning("cluster events: a slow reader; the oldest events are dropped")
                    self.dropped += 1
                self._queue.append(event)
                self._ready.set()
        except _REDIS_ERRORS as exc:
            self._error = ClusterUnavailable(
                f"cluster events: Redis at {redacted(self._client.url)} is unavailable: {exc}"
            )
            self._ready.set()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> ConnectionEvent:
        await self.subscribe()
        while not self._queue:
            if self._error is not None:
                raise self._error
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    async def close(self) -> None:
        """Unsubscribe."""
        if self._task is not None:
            await stop_task(self._task)
        with contextlib.suppress(*_REDIS_ERRORS):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]


class MessageStream:
    """An async iterator of :class:`StationMessage` for one consumer of a consumer group.

    Each message of the stream goes to one consumer of the group (run several consumers, in
    any processes, to share the work). A message is acknowledged when the next one is asked for
    (the loop body has handled it), or by ``await stream.ack()``; one left unacknowledged
    (the consumer crashed) is delivered again to the consumer of the same name when it starts
    again: at-least-once delivery. Messages of actions not in ``actions`` are acknowledged and
    skipped. The stream is bounded (``messages_maxlen``): a group further behind loses the
    oldest messages. Made by :meth:`Client.messages`.

    Parameters:
        client: the :class:`Client` whose Redis connection it reads with.
        group: the consumer group (created on first use).
        consumer: this consumer's name within the group.
        actions: the actions wanted (None: all).
        start: where a new group starts: ``"$"`` (new messages) or ``"0"`` (the whole stream).
    """

    def __init__(self, client: Client, group: str, consumer: str, actions: Collection[str] | None, start: str) -> None:
        self._client = client
        self.group = group
        self.consumer = consumer
        self.actions = None if actions is None else frozenset(actions)
        self._start = start
        self._created = False
        self._pending_first = True  # our own unacknowledged messages first, then new ones
        self._buffer: collections.deque[tuple[bytes, dict[bytes, bytes]]] = collections.deque()
        self._unacked: list[bytes] = []

    def __aiter__(self) -> MessageStream:
        return self

    async def ack(self) -> None:
        """Acknowledge the messages handed out so far."""
        if self._unacked:
            with unavailable(self._client.url):
                await self._client.redis.xack(self._client.keys.messages, self.group, *self._unacked)
            self._unacked.clear()

    async def __anext__(self) -> StationMessage:
        r = self._client.redis
        key = self._client.keys.messages
        with unavailable(self._client.url):
            await self.ack()
            if not self._created:
                try:
                    await r.xgroup_create(key, self.group, id=self._start, mkstream=True)
                except rexc.ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise
                self._created = True
            while True:
                while self._buffer:
                    msg_id, fields = self._buffer.popleft()
                    self._unacked.append(msg_id)
                    message = self._parse(msg_id, fields)
                    if message is not None:
                        return message
                await self.ack()
                start = "0" if self._pending_first else ">"
                got = await r.xreadgroup(
                    self.group, self.consumer, {key: start}, count=100, block=None if self._pending_first else 1000
                )
                entries = stream_entries(got)
                if self._pending_first and not entries:
                    self._pending_first = False
                self._buffer.extend((i, f) for i, f in entries if f)

    def _parse(self, msg_id: bytes, f: dict[bytes, bytes]) -> StationMessage | None:
        text = {k.decode(): v for k, v in f.items()}
        action = text.get("a", b"").decode()
        if self.actions is not None and action not in self.actions:
            return None
        version = text.get("v", b"").decode()
        try:
            request = decode_payload(text.get("p", b"{}"), request_class(version, action))
        except (ValueError, OcppError) as exc:  # an unknown action, or a payload naming the field
            log.warning("cluster messages: %s discarded (%s)", msg_id.decode(), ascii(str(exc)))
            return None
        return StationMessage(
            identity=text.get("i", b"").decode("utf-8", "surrogateescape"),
            node=text.get("n", b"").decode("utf-8", "surrogateescape"),
            version=version,
            action=action,
            unique_id=text.get("u", b"").decode("utf-8", "surrogateescape"),
            request=request,
            at=float(text.get("t", b"0")),
            id=msg_id.decode(),
        )

    async def close(self) -> None:
        """Acknowledge what was handed out (best effort)."""
        with contextlib.suppress(ClusterUnavailable):
            await self.ack()
