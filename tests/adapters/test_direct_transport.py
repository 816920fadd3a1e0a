"""The Session over a DirectTransport (picows' kind: writes without waiting, messages in a
callback): what it processes in the transport's callback and what it leaves to its reader task.

The transport here is an in-memory implementation of the protocol, so that the test can tell
which of the two paths a message took; the picows transport itself runs the whole conformance
suite over real sockets (tests/conformance, entries ``picows`` and ``picows-uvloop``)."""

from __future__ import annotations

import asyncio
import collections
import json
from typing import Any

from ocppkit.adapters.asyncio import DirectTransport, Session, SessionOptions, open_session
from ocppkit.adapters.demo import csms_router
from tests.adapters.aio import run, until

HEARTBEAT = '[2,"{}","Heartbeat",{{}}]'
NO_LIMITS = {"max_call_rate": 0.0, "send_timeout": None}


class MemoryDirect:
    """A DirectTransport in memory: ``deliver`` is the library's callback for a received message;
    ``written`` what went out; ``fill_after`` writes after which the buffer is full."""

    def __init__(self, fill_after: int | None = None) -> None:
        self.queue: collections.deque[bytes | str] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None
        self.receiver: Any = None
        self.written: list[bytes] = []
        self.fill_after = fill_after
        self.drain: asyncio.Future[None] | None = None
        self.recv_calls = 0
        self.closed_with: int | None = None
        self.aborted = False
        self.reason: str | None = None

    # the library's side
    def deliver(self, message: str) -> None:
        if self.receiver is not None and self.waiter is not None and not self.queue and self.receiver(message):
            return
        self.queue.append(message)
        self._wake()

    def empty_buffer(self) -> None:
        drain, self.drain = self.drain, None
        self.fill_after = None
        if drain is not None:
            drain.set_result(None)

    def _wake(self, exc: BaseException | None = None) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None) if exc is None else waiter.set_exception(exc)

    # the DirectTransport
    async def recv(self) -> bytes | str:
        self.recv_calls += 1
        while True:
            if self.queue:
                return self.queue.popleft()
            if self.reason is not None:
                raise ConnectionError(self.reason)
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter

    def write_now(self, data: bytes) -> bool:
        if self.reason is not None:
            raise ConnectionError(self.reason)
        self.written.append(data)
        if self.fill_after is not None and len(self.written) >= self.fill_after and self.drain is None:
            self.drain = asyncio.get_running_loop().create_future()
        return self.drain is not None

    @property
    def writable(self) -> bool:
        return self.drain is None

    async def drained(self) -> None:
        if self.drain is not None:
            await asyncio.shield(self.drain)
        if self.reason is not None:
            raise ConnectionError(self.reason)

    def set_receiver(self, receiver: Any) -> None:
        self.receiver = receiver

    async def send(self, data: bytes) -> None:
        if self.write_now(data):
            await self.drained()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code
        self.reason = f"sent {code}"
        self._wake(ConnectionError(self.reason))

    def abort(self) -> None:
        self.aborted = True
        self.reason = "aborted"
        self._wake(ConnectionError(self.reason))
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)


def kinds(t: MemoryDirect) -> list[Any]:
    return [(json.loads(d)[0], json.loads(d)[1]) for d in t.written]


async def started(t: MemoryDirect, **options: Any) -> tuple[Session, asyncio.Task[None]]:
    direct: DirectTransport = t
    options_ = SessionOptions(**options)
    session = open_session(direct, "csms", "2.0.1", csms_router("2.0.1"), identity="CS1", options=options_)
    task = session.start()
    await until(lambda: t.waiter is not None)  # run() waits in recv()
    return session, task


def test_messages_that_arrive_while_run_waits_are_answered_in_the_callback() -> None:
    async def scenario() -> None:
        t = MemoryDirect()
        session, task = await started(t, **NO_LIMITS)
        for i in range(5):
            t.deliver(HEARTBEAT.format(i))
            assert kinds(t)[-1] == (3, str(i))  # answered before deliver returned
            await asyncio.sleep(0)
        assert t.recv_calls == 1 and session.received == 5  # the reader task never woke
        await t.close()
        await task

    run(scenario())


def test_a_burst_is_taken_in_the_callback_up_to_a_turn_then_by_run_in_order() -> None:
    async def scenario() -> None:
        t = MemoryDirect()
        session, task = await started(t, **NO_LIMITS)
        for i in range(40):  # one read's worth of frames: all delivered before the loop runs
            t.deliver(HEARTBEAT.format(i))
        assert len(t.written) == 32 and len(t.queue) == 8
        await until(lambda: len(t.written) == 40)
        assert kinds(t) == [(3, str(i)) for i in range(40)] and t.recv_calls > 1
        await t.close()
        await task

    run(scenario())


def test_with_a_rate_limit_every_message_goes_through_run_which_tells_pipelined_calls() -> None:
    async def scenario() -> None:
        t = MemoryDirect()
        session, task = await started(t, max_call_rate=1.0, max_call_burst=3, max_excess_calls=0, send_timeout=None)
        for i in range(10):  # pipelined: none waited for our answer
            t.deliver(HEARTBEAT.format(i))
        assert t.written == []  # declined: queued for run()
        await until(lambda: len(t.written) == 10)
        # the first waited for us (paced, never limited), the burst of three, then refusals
        assert [k for k, _ in kinds(t)] == [3, 3, 3, 3] + [4] * 6 and session.excess_calls == 6
        await t.close()
        await task

    run(scenario())


def test_the_message_that_reaches_the_bad_message_limit_is_left_to_run_which_closes_1008() -> None:
    async def scenario() -> None:
        t = MemoryDirect()
        session, task = await started(t, max_bad_messages=3, **NO_LIMITS)
        for i in range(2):
            t.deliver(f'[2,"{i}","Heartbeat",{{"nope":1}}]')
            await asyncio.sleep(0)
        assert [k for k, _ in kinds(t)] == [4, 4] and t.recv_calls == 1  # answered in the callback
        t.deliver('[2,"x","Heartbeat",{"nope":1}]')
        assert len(t.written) == 2 and list(t.queue)  # the third would reach the limit: run() takes it
        await asyncio.wait_for(task, 5)
        assert t.closed_with == 1008 and "too many invalid messages (3)" in session.close_reason

    run(scenario())


def test_a_full_buffer_makes_the_flush_wait_and_the_next_message_queue_until_it_drains() -> None:
    async def scenario() -> None:
        t = MemoryDirect(fill_after=1)
        session, task = await started(t, **NO_LIMITS)
        t.deliver(HEARTBEAT.format(1))
        assert kinds(t) == [(3, "1")] and not t.writable  # written; the buffer is now full
        t.deliver(HEARTBEAT.format(2))
        assert list(t.queue) and len(t.written) == 1  # declined while full: run() reads it
        await until(lambda: len(t.written) == 2)  # run() wrote its answer and waits for the drain
        t.deliver(HEARTBEAT.format(3))  # the flush holds the lock: declined again
        await asyncio.sleep(0.05)
        assert len(t.written) == 2
        t.empty_buffer()
        await until(lambda: len(t.written) == 3)
        assert kinds(t) == [(3, "1"), (3, "2"), (3, "3")]
        await t.close()
        await task

    run(scenario())


def test_a_buffer_that_never_drains_is_aborted_after_the_send_timeout() -> None:
    async def scenario() -> None:
        t = MemoryDirect(fill_after=1)
        session, task = await started(t, max_call_rate=0.0, send_timeout=0.2)
        t.deliver(HEARTBEAT.format(1))  # written in the callback; the buffer is full
        t.deliver(HEARTBEAT.format(2))  # run(): its answer waits for a drain that never comes
        await asyncio.wait_for(task, 5)
        assert t.aborted and "read nothing for 0.2 s" in session.close_reason

    run(scenario())


def test_a_failure_while_processing_in_the_callback_aborts_the_connection_and_is_logged(caplog: Any) -> None:
    async def scenario() -> None:
        t = MemoryDirect()
        session, task = await started(t, **NO_LIMITS)

        def broken(_: Session) -> None:
            raise RuntimeError("a bug in a hook")

        session.on_sent = broken
        t.deliver(HEARTBEAT.format(1))  # processed in the callback: the hook fails there
        await asyncio.wait_for(task, 5)
        assert t.aborted and session.close_reason == "internal error" and session.closed.is_set()

    run(scenario())
    assert "processing a message failed" in caplog.text and "a bug in a hook" in caplog.text
