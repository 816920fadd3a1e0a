"""A node's side of cluster calls: read its stream, run the calls in order, answer, acknowledge.

The node reads its stream ``{p}calls:{node}`` as consumer ``node`` of group ``nodes``. Each call
goes to its station's queue (at most ``max_queued_calls`` per station; one more is answered
"busy"), and one task per station runs that queue in order through ``csms.call_local``: the
station's session sends one CALL at a time, so one CALL per direction stays true however many
processes call. At most ``max_pending`` calls are read and unanswered at once; beyond that the
node stops reading and the calls wait in the stream (nothing is lost while the node is busy). A
call is acknowledged (``XACK``, then ``XDEL``) only in the same round trip as its answer; one the
node had read but not answered when it died is answered "interrupted" when it starts again.

The stream reads and the answers go through the client's ``fast`` pool (no redis-py socket
timeout, each command bounded by ``op_timeout``); answers finished in the same event-loop turn go
as one pipeline (:class:`~._batch.ScriptBatch`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass
from typing import Any

import msgspec
import redis.asyncio as aioredis
import redis.exceptions as rexc

from .. import decode_payload, encode_payload
from ._batch import ScriptBatch, bounded
from ._host import ClusterHost
from ._protocol import (
    ANSWER,
    GROUP,
    CallInterrupted,
    ClusterBusy,
    Keys,
    Reply,
    error_reply,
    request_class,
    stop_task,
    stream_entries,
)

__all__ = ["CallServer"]

log = logging.getLogger("ocppkit.cluster")
_REDIS_ERRORS = (rexc.ConnectionError, rexc.TimeoutError, OSError)


@dataclass
class _Call:
    id: bytes  # the stream entry id
    call: str
    reply: str
    identity: str
    version: str
    action: str
    deadline: float  # time.time()
    payload: bytes


def _parse(entry_id: bytes, fields: dict[bytes, bytes]) -> _Call | None:
    try:
        return _Call(
            entry_id,
            fields[b"c"].decode(),
            fields[b"r"].decode(),
            fields[b"i"].decode("utf-8", "surrogateescape"),
            fields[b"v"].decode(),
            fields[b"a"].decode(),
            int(fields[b"d"]) / 1000.0,
            fields[b"p"],
        )
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


class CallServer:
    """Serves the calls of a node's stream (see the module docstring)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        fast: aioredis.Redis,
        keys: Keys,
        node: str,
        csms: ClusterHost,
        *,
        max_queued_calls: int,
        max_pending: int,
        reply_ttl: float,
        retry_interval: float,
        op_timeout: float,
    ) -> None:
        self.redis = redis
        self.fast = fast
        self.op_timeout = op_timeout
        self.keys = keys
        self.node = node
        self.stream = keys.calls(node)
        self.csms = csms
        self.max_queued_calls = max_queued_calls
        self.max_pending = max_pending
        self.reply_ttl_ms = int(reply_ttl * 1000)
        self._answer_script = ScriptBatch(fast, ANSWER, op_timeout)
        self.retry_interval = retry_interval
        self._queues: dict[str, collections.deque[_Call]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._running: dict[str, _Call] = {}
        self._pending = 0
        self._space = asyncio.Event()
        self._answers: set[asyncio.Task[None]] = set()
        #: calls served (answered) so far
        self.served = 0

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except rexc.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Read and serve until cancelled; Redis errors are waited out (``retry_interval``)."""
        recovered = False
        while True:
            try:
                await self._ensure_group()
                if not recovered:
                    await self._answer_leftovers()
                    recovered = True
                await self._read()
            except rexc.ResponseError as exc:
                if "NOGROUP" not in str(exc):  # Redis restarted empty: the group is made again
                    log.warning("node %s: reading its calls failed: %s", ascii(self.node), exc)
                    await asyncio.sleep(self.retry_interval)
            except _REDIS_ERRORS:
                await asyncio.sleep(self.retry_interval)

    async def _answer_leftovers(self) -> None:
        """Calls read by an earlier run of this node and never answered: it stopped (killed or
        crashed) with them in hand, so they may or may not have reached the station."""
        got = await self.redis.xreadgroup(GROUP, self.node, {self.stream: "0"}, count=10_000)
        for entry_id, fields in stream_entries(got):
            call = _parse(entry_id, fields) if fields else None
            if call is None:
                await self._drop(entry_id)
                continue
            why = CallInterrupted(
                f"node {ascii(self.node)} restarted with this call unanswered: "
                "it may or may not have reached the station"
            )
            await self._answer(call, error_reply(call.call, why, call.version))

    async def _read(self) -> None:
        while True:
            room = self.max_pending - self._pending
            if room <= 0:
                self._space.clear()
                await self._space.wait()
                continue
            got = await bounded(
                self.fast.xreadgroup(GROUP, self.node, {self.stream: ">"}, count=min(room, 512), block=1000),
                1 + self.op_timeout,
            )
            entries = stream_entries(got)
            for entry_id, fields in entries:
                call = _parse(entry_id, fields) if fields else None
                if call is None:
                    log.warning("node %s: an unreadable call entry was dropped", ascii(self.node))
                    await self._drop(entry_id)
                else:
                    self._enqueue(call)
            if entries:
                await asyncio.sleep(0)  # the stations' workers send their calls before the next read

    def _enqueue(self, call: _Call) -> None:
        queue = self._queues.setdefault(call.identity, collections.deque())
        if len(queue) >= self.max_queued_calls:
            busy = ClusterBusy(
                f"station {ascii(call.identity)} has {self.max_queued_calls} calls queued at node "
                f"{ascii(self.node)} (max_queued_calls)"
            )
            self._spawn_answer(call, error_reply(call.call, busy, call.version))
            return
        queue.append(call)
        self._pending += 1
        if call.identity not in self._workers:
            self._workers[call.identity] = asyncio.get_running_loop().create_task(self._work(call.identity))

    def _spawn_answer(self, call: _Call, reply: Reply) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(call, reply))
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)

    async def _work(self, identity: str) -> None:
        queue = self._queues[identity]
        try:
            while queue:
                call = queue.popleft()
                self._running[identity] = call
                try:
                    reply = await self._execute(call)
                    await self._answer(call, reply)
                finally:
                    del self._running[identity]
                    self._pending -= 1
                    self._space.set()
        finally:
            if self._queues.get(identity) is queue and not queue:
                del self._queues[identity]
            self._workers.pop(identity, None)

    async def _execute(self, call: _Call) -> Reply:
        left = call.deadline - time.time()
        if left <= 0:  # its deadline passed while it waited: not sent
            return Reply(call.call, "timeout")
        try:
            request = decode_payload(call.payload, request_class(call.version, call.action))
            response: Any = await self.csms.call_local(call.identity, request, timeout=left)
            return Reply(call.call, "ok", payload=msgspec.Raw(encode_payload(response, validate=False)))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # answered to the caller with the same type; never ends the node
            return error_reply(call.call, exc, call.version)

    async def _answer(self, call: _Call, reply: Reply) -> None:
        try:
            await self._answer_script(
                [call.reply, self.reply_ttl_ms, self.stream, GROUP, call.id, msgspec.json.encode(reply)]
            )
            self.served += 1
        except _REDIS_ERRORS as exc:  # the caller times out; the entry stays pending
            log.warning("node %s: the answer to a call could not be sent: %s", ascii(self.node), exc)

    async def _drop(self, entry_id: bytes) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(self.stream, GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    async def drain(self, timeout: float) -> None:
        """Stop taking calls (the caller cancels ``run``); let the stations' queues finish for up
        to ``timeout`` seconds, then answer what is left "interrupted" (saying whether it was
        sent)."""
        workers = list(self._workers.values())
        if workers:
            await asyncio.wait(workers, timeout=timeout)
        for identity, task in list(self._workers.items()):
            running = self._running.get(identity)
            await stop_task(task)
            if running is not None:
                why = CallInterrupted(
                    f"node {ascii(self.node)} closed during the call: it may or may not have reached the station"
                )
                await self._answer(running, error_reply(running.call, why, running.version))
        for queue in list(self._queues.values()):
            while queue:
                call = queue.popleft()
                why = CallInterrupted(f"node {ascii(self.node)} closed before sending this call: it was not sent")
                await self._answer(call, error_reply(call.call, why, call.version))
        if self._answers:
            await asyncio.wait(list(self._answers), timeout=timeout)
