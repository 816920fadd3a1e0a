"""Runs of one Lua script issued in the same event-loop turn, sent to Redis as one pipeline.

Under load many callers route a call (or many station workers answer one) in the same turn of
the event loop: each on its own pooled connection costs a write, a read and redis-py's Python
per command. :class:`ScriptBatch` gathers them: a run issued while none is in flight goes at
once as a plain ``EVALSHA`` in its caller's task (the sequential case pays nothing); a run
issued while others are in flight leads a batch: it yields once, the runs issued meanwhile join
it, and all of them go as one pipeline of ``EVALSHA`` (one write, one round trip), each run
getting its own result or error.

A batch of several runs is sent by a task of its own, so a caller cancelled while it waits
cancels only its own wait, never the others' runs. A script Redis lost (it restarted) is
loaded again and the runs it refused (``NOSCRIPT``: nothing ran) are sent again.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

import redis.asyncio as aioredis
import redis.exceptions as rexc

__all__ = ["ScriptBatch", "bounded"]
T = TypeVar("T")

_MAX_BATCH = 512  # runs per pipeline


async def bounded(aw: Awaitable[T], seconds: float) -> T:
    """``await aw`` for at most ``seconds``, else ``redis.exceptions.TimeoutError`` (redis-py
    closes a connection whose command was cancelled, so none is reused mid-reply)."""
    try:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(seconds):  # a timer handle, not a task
                return await aw
        return await asyncio.wait_for(aw, seconds)
    except asyncio.TimeoutError:
        raise rexc.TimeoutError(f"no answer from Redis in {seconds:g} s") from None


class ScriptBatch:
    """``await batch(args)``: the script's result for ``args`` (its error raised), batched with
    the runs of the same event-loop turn (see the module docstring)."""

    def __init__(self, redis: aioredis.Redis, script: str, timeout: float) -> None:
        self.redis = redis
        self.timeout = timeout
        self._script = redis.register_script(script)
        self._queue: list[tuple[list[Any], asyncio.Future[Any]]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0  # runs sent and not answered yet
        #: pipelines sent with more than one run (for the tests and the benchmark)
        self.batches = 0

    async def __call__(self, args: list[Any]) -> Any:
        loop = asyncio.get_running_loop()
        queue = self._queue
        if queue is not None and len(queue) < _MAX_BATCH:  # a leader is gathering this turn's runs
            future: asyncio.Future[Any] = loop.create_future()
            queue.append((args, future))
            return await future
        if not self._in_flight:  # nothing to batch with: send it now
            self._in_flight += 1
            try:
                return await bounded(self._script(args=args), self.timeout)
            finally:
                self._in_flight -= 1
        self._queue = queue = []
        try:
            await asyncio.sleep(0)  # the runs issued in this turn join the queue
        except BaseException:
            self._queue = None
            if queue:  # the followers still go
                self._spawn(queue)
            raise
        if self._queue is queue:
            self._queue = None
        if not queue:
            self._in_flight += 1
            try:
                return await bounded(self._script(args=args), self.timeout)
            finally:
                self._in_flight -= 1
        mine: asyncio.Future[Any] = loop.create_future()
        self._spawn([(args, mine), *queue])
        return await mine

    def _spawn(self, batch: list[tuple[list[Any], asyncio.Future[Any]]]) -> None:
        task = asyncio.get_running_loop().create_task(self._send(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[list[Any], asyncio.Future[Any]]]) -> None:
        self.batches += 1
        self._in_flight += len(batch)
        try:
            results = await bounded(self._pipeline([a for a, _ in batch]), self.timeout)
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else rexc.ConnectionError(repr(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        finally:
            self._in_flight -= len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller was cancelled
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def _pipeline(self, runs: list[list[Any]]) -> list[Any]:
        sha = self._script.sha
        results: list[Any] = [None] * len(runs)
        todo = list(range(len(runs)))
        for attempt in (1, 2):
            async with self.redis.pipeline(transaction=False) as pipe:
                for i in todo:
                    pipe.evalsha(sha, 0, *runs[i])
                got = await pipe.execute(raise_on_error=False)
            again = []
            for i, result in zip(todo, got, strict=True):
                if isinstance(result, rexc.NoScriptError) and attempt == 1:
                    again.append(i)  # Redis restarted empty: nothing ran
                else:
                    results[i] = result
            if not again:
                break
            await self.redis.script_load(self._script.script)
            todo = again
        return results
