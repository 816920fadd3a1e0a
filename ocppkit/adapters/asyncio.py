"""asyncio glue around :class:`ocppkit.Connection`: awaitable calls, handler tasks, timers.

A :class:`Session` runs one OCPP-J connection over any message transport with
``async send(bytes)`` and ``async recv() -> bytes | str`` (the websockets adapter provides one).
``await session.call(request)`` returns the typed response; received calls go to the
:class:`ocppkit.Router`'s handlers: plain functions run inline, coroutines in their own
task, and both are answered by :func:`ocppkit.router.answer`, the policy ``Router.dispatch``
uses too. Timeouts, queued calls and late results behave exactly as the connection defines; the
loop's clock drives it.

:func:`open_session` is the one way a transport adapter opens a session: given an open
:class:`Transport`, the role, the version, the router, the peer's identity and the
:class:`SessionOptions` (what both roles share), it builds the connection and the session.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .. import Request, Response, SendPayload
from ..errors import CallErrorResponse as CallErrorResponse
from ..errors import CallTimeout as CallTimeout
from ..errors import ErrorCode, LocalProtocolError, OcppError
from ..events import (
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    LateResponse,
    ProtocolViolation,
    ResultInvalid,
    ResultReceived,
    UnmatchedResponse,
)
from ..router import NO_HANDLER, Router, answer
from ..rpc import Connection, Role
from ._options import FrameHook as FrameHook
from ._options import SessionOptions as SessionOptions
from ._ratelimit import TokenBucket
from ._text import printable
from ._transport import DirectTransport as DirectTransport
from ._transport import Transport as Transport

# CallErrorResponse and CallTimeout live in ocppkit.errors (exported by ocppkit); they stay
# importable from here.
__all__ = ["DirectTransport", "FrameHook", "Session", "SessionOptions", "Transport", "current_session", "open_session"]

log = logging.getLogger("ocppkit")
_TURN = 32  # messages a session reads in a row before it lets other tasks run
_GRACE_MESSAGES = 200  # messages read (and discarded) after a 1008 close, waiting for the peer's
_GRACE_SECONDS = 1.0  # ... and for how long at most; then the connection is aborted
R = TypeVar("R", bound=Response)


_current: contextvars.ContextVar[Session] = contextvars.ContextVar("ocppkit_session")


def current_session() -> Session:
    """The session whose received call the running handler is answering.

    It is set while a handler runs: a plain function runs inline, in the session's reader
    task, and sees it until it returns; a coroutine handler runs in its own task, which sees it
    throughout, as do the tasks it creates (they copy its context). Anywhere else (a task
    started from ``on_connect``, code outside the handlers) there is no current session: keep
    the session you were given, or look it up in ``CSMSServer.sessions``.

    Raises:
        LookupError: no handler is running in this context.
    """
    try:
        return _current.get()
    except LookupError:
        raise LookupError("current_session(): no handler is running here (it is set only inside handlers)") from None


class Session:
    """One OCPP-J connection driven by asyncio. Create it (:func:`open_session` does, from
    :class:`SessionOptions`), then ``await run()`` (or use ``start()``); ``call()`` may be awaited
    from any task.

    The websockets adapters create the sessions; build one yourself to run OCPP over another
    transport.

    Parameters:
        transport: the message transport (see :class:`Transport`).
        connection: the sans-IO :class:`ocppkit.Connection`; its ``clock`` should be the
            running loop's ``time``, which drives the timers.
        router: the :class:`ocppkit.Router` whose handlers answer the peer's calls; without one,
            every call is answered ``NotSupported``.
        identity: the station identity, used in log lines and error messages.
        max_bad_messages: after this many protocol violations by the peer the session closes
            the transport (WebSocket close code 1008).
        on_event: ``on_event(session, event)``, called with every event of the connection as it
            is processed, before the session acts on it (see the hooks in docs/adapters.md).
        on_frame: ``on_frame(identity, direction, data)``, called with every message received
            (``"in"``, before decoding) and sent (``"out"``, just before it is written).
        max_call_rate: calls a second the peer may make on average (0, the default here: no
            limit); a call beyond it is answered ``GenericError`` and not dispatched.
        max_call_burst: calls the peer may make at once before the rate applies (0: no limit).
        max_excess_calls: calls refused by the rate limit after which the session closes the
            transport (close code 1008; 0: never).
        send_timeout: seconds a write may wait for a peer that reads nothing before the session
            aborts the transport (None, the default here: no limit).
        logger: where to log; default the ``"ocppkit"`` logger.

    Attributes:
        closed: an :class:`asyncio.Event`, set when the session has ended.
        excess_calls: the peer's calls refused by the rate limit so far.
        received: how many messages the peer has sent so far.
        close_reason: why it ended (empty while it runs). The parameters are kept as
            attributes of the same names, and ``version`` is the connection's version.
    """

    def __init__(
        self,
        transport: Transport,
        connection: Connection,
        router: Router | None = None,
        *,
        identity: str = "",
        max_bad_messages: int = 20,
        on_event: Callable[[Session, Any], None] | None = None,
        on_frame: FrameHook | None = None,
        max_call_rate: float = 0.0,
        max_call_burst: int = 0,
        max_excess_calls: int = 0,
        send_timeout: float | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.transport = transport
        self.connection = connection
        self.router = router if router is not None else Router()
        self.identity = identity
        self.version = connection.version
        self.max_bad_messages = max_bad_messages
        self.on_event = on_event
        self.on_frame = on_frame
        self.max_call_rate = max_call_rate
        self.max_call_burst = max_call_burst
        self.max_excess_calls = max_excess_calls
        self.send_timeout = send_timeout
        #: calls of the peer refused by the rate limit so far
        self.excess_calls = 0
        #: messages received from the peer so far
        self.received = 0
        #: ``on_sent(session)`` after each batch of messages written to the transport (the CSMS
        #: watches for the answer that accepts a BootNotification with it)
        self.on_sent: Callable[[Session], None] | None = None
        self._bucket = (
            TokenBucket(max_call_rate, max_call_burst, time.monotonic) if max_call_rate and max_call_burst else None
        )
        self.log = logger or log
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._who = printable(identity)  # the identity comes from the wire: escaped in log lines
        self._futures: dict[str, asyncio.Future[Any]] = {}
        self._handlers: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._send_lock = asyncio.Lock()
        self._sending_since: float | None = None  # loop time the flush under way began (send watchdog)
        self._watchdog: asyncio.TimerHandle | None = None
        self._runner: asyncio.Task[None] | None = None
        self._waited = True  # whether the message being processed arrived while we waited for it
        # A DirectTransport's (picows): the session writes with it and takes messages in its callback.
        self._direct: DirectTransport | None = transport if hasattr(transport, "write_now") else None  # type: ignore[assignment]
        self._inline_left = _TURN  # messages _receive_now may still take before run() reads one

    # ------------------------------------------------------------- public

    async def call(self, request: Request[R]) -> R:
        """Send a CALL (queued behind the outstanding one if any) and await its typed response.

        Raises:
            CallErrorResponse: the peer answered with a CALLERROR.
            CallTimeout: no answer came before the deadline (a ``TimeoutError``).
            ocppkit.PayloadError: the CALLRESULT breaks the response's schema (the field and the
                rule are in ``path`` and ``rule``); for a malformed CALLRESULT frame its base,
                :class:`ocppkit.RemoteProtocolError`.
            ocppkit.LocalProtocolError: nothing was sent: the request breaks its schema, too many
                calls are queued (``max_queued_calls``), or, with boot gating, the CSMS may not
                call a station whose boot it rejected.
            TypeError: ``request`` is not an instance of a generated ``<Action>Request`` class.
            ConnectionError: the session had closed, or the connection closed before the
                answer came.
        """
        if self.closed.is_set():
            raise ConnectionError(f"the session with {self._who or 'the peer'} is closed")
        uid = self.connection.call(request)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._futures[uid] = future
        try:
            await self._flush()
        except Exception as exc:
            self._futures.pop(uid, None)
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # the shutdown already failed it: this exception replaces that one
            if isinstance(exc, (ConnectionError, EOFError)):
                raise ConnectionError(f"the connection with {self._who or 'the peer'} closed") from exc
            raise
        result: R = await future
        return result

    async def send(self, payload: SendPayload) -> str:
        """2.1: send an unconfirmed message (SEND) now; returns its unique id.

        Raises ``ConnectionError`` when the connection has closed.
        """
        if self.closed.is_set():
            raise ConnectionError(f"the session with {self._who or 'the peer'} is closed")
        uid = self.connection.send(payload)
        try:
            await self._flush()
        except (ConnectionError, EOFError) as exc:
            raise ConnectionError(f"the connection with {self._who or 'the peer'} closed") from exc
        return uid

    def start(self) -> asyncio.Task[None]:
        """Run the session in a task (see :meth:`run`)."""
        self._runner = asyncio.get_running_loop().create_task(self.run())
        return self._runner

    async def run(self) -> None:
        """Read messages until the transport closes; then fail what is still waiting."""
        loop = asyncio.get_running_loop()
        direct = self._direct
        try:
            if direct is not None:
                direct.set_receiver(self._receive_now)
            turn = 0
            while True:
                # Did the message wait for us (the peer sent it before it had our answer to the
                # previous one) or we for it? A callback that runs only if recv() suspends tells.
                if self._bucket is None:  # no limit: nothing to tell (the hot path pays nothing)
                    data = await self.transport.recv()
                else:
                    self._waited = False
                    probe = loop.call_soon(self._mark_waited)
                    data = await self.transport.recv()
                    probe.cancel()
                self.received += 1
                self._inline_left = _TURN
                if self.on_frame is not None:
                    self._frame_hook("in", data if isinstance(data, bytes) else data.encode())
                self.connection.receive_data(data)
                self._process()
                await self._flush()
                bad = self.connection.bad_messages >= self.max_bad_messages
                if bad:
                    self.close_reason = f"too many invalid messages ({self.connection.bad_messages})"
                elif self.max_excess_calls and self.excess_calls >= self.max_excess_calls:
                    self.close_reason = f"too many calls over the rate limit ({self.excess_calls})"
                    bad = True
                if bad:
                    if direct is not None:
                        direct.set_receiver(None)  # what the peer sends now is read and dropped
                    await self._close_violating()
                    break
                turn += 1
                if turn >= _TURN:
                    # recv() does not yield while messages are buffered: let other connections run
                    turn = 0
                    await asyncio.sleep(0)
        except (ConnectionError, EOFError) as exc:  # the transport has closed
            self.close_reason = self.close_reason or str(exc) or type(exc).__name__
        finally:
            if direct is not None:
                direct.set_receiver(None)
            self._shutdown()

    async def close(self, timeout: float = 5.0) -> None:
        """Close gracefully: wait up to ``timeout`` for our pending calls, then close."""
        if self._futures:
            await asyncio.wait(list(self._futures.values()), timeout=timeout)
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=timeout)
        await self.transport.close(1000, "bye")
        if self._runner is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), timeout)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._runner.cancel()
        self._shutdown()

    # ------------------------------------------------------------- internals

    async def _close_violating(self) -> None:
        """Close with 1008, reading on (and discarding) what the peer sent before it sees our
        close: a transport that stops reading while its queue is full (websockets does) would
        otherwise only see the peer's closing frame at its close timeout. The reading on is
        bounded (``_GRACE_MESSAGES``, ``_GRACE_SECONDS``): a peer that floods and never reads our
        close is then aborted, so it cannot keep the server parsing its frames."""
        closing = asyncio.ensure_future(self.transport.close(1008, self.close_reason[:120]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _GRACE_SECONDS
        try:
            for _ in range(_GRACE_MESSAGES):
                if closing.done():
                    break
                left = deadline - loop.time()
                if left <= 0:
                    break
                await asyncio.wait_for(self.transport.recv(), left)
        except (ConnectionError, EOFError, asyncio.TimeoutError):
            pass
        finally:
            if not closing.done():
                self.transport.abort()
            try:
                await closing
            except (ConnectionError, EOFError):
                pass

    def _process(self) -> None:
        for event in self.connection.events():
            if self.on_event is not None:
                try:
                    self.on_event(self, event)
                except Exception:  # a hook's failure never ends the connection
                    self.log.exception("%s: the on_event hook failed on %s", self._who, type(event).__name__)
            if isinstance(event, CallReceived):
                # Only calls the peer pipelines are rate limited: one that waits for each answer
                # (as OCPP 2.x requires) is paced by us, however fast it drains its queue.
                paced = self._waited and self.connection.pending_received <= 1
                if self._bucket is None or paced or self._bucket.take():
                    self._dispatch(event)
                else:
                    self._rate_limited(event)
            elif isinstance(event, ResultReceived):
                self._resolve(event.unique_id, event.response)
            elif isinstance(event, ErrorReceived):
                exc = CallErrorResponse(
                    event.error_code,
                    event.error_description,
                    event.error_details,
                    version=self.version,
                    unique_id=event.unique_id,
                )
                self._resolve(event.unique_id, exc, error=True)
            elif isinstance(event, ResultInvalid):
                self._resolve(event.unique_id, event.error, error=True)
            elif isinstance(event, CallTimedOut):
                timeout = CallTimeout(event.action, event.unique_id, version=self.version)
                self._resolve(event.unique_id, timeout, error=True)
            elif isinstance(event, ProtocolViolation):
                self.log.warning("%s: protocol violation: %s %s", self._who, event.error.code, event.error.description)
            elif isinstance(event, (LateResponse, UnmatchedResponse)):
                shown = printable(event.unique_id)  # a peer's id: escaped
                self.log.info("%s: dropped %s for %s", self._who, type(event).__name__, shown)
            # SendReceived and ResultErrorReceived reach the application through on_event.
        self._arm_timer()

    def _mark_waited(self) -> None:
        self._waited = True

    def _rate_limited(self, event: CallReceived) -> None:
        self.excess_calls += 1
        description = f"Rate limited: more than {self.max_call_rate:g} calls per second"
        self.connection.send_error(event.unique_id, ErrorCode.GENERIC_ERROR, description, {})
        if self.excess_calls == 1:
            self.log.warning("%s: %s (%s refused)", self._who, description, event.action)

    def _frame_hook(self, direction: str, data: bytes) -> None:
        assert self.on_frame is not None
        try:
            self.on_frame(self.identity, direction, data)
        except Exception:  # a hook's failure never ends the connection
            self.log.exception("%s: the on_frame hook failed (%s)", self._who, direction)

    def _resolve(self, uid: str, value: Any, error: bool = False) -> None:
        future = self._futures.pop(uid, None)
        if future is None or future.done():
            return
        if error:
            future.set_exception(value)
        else:
            future.set_result(value)

    def _dispatch(self, event: CallReceived) -> None:
        """Run the call's handler: a plain function inline, a coroutine in its own task; the
        outcome is answered by :func:`ocppkit.router.answer`."""
        handler = self.router.handler_for(event.request)
        if handler is None:
            answer(self.connection, event, NO_HANDLER)
            return
        token = _current.set(self)
        try:
            outcome = handler(event.request)
            if isinstance(outcome, Awaitable):
                # The task copies the context now, while current_session() is set.
                task = asyncio.get_running_loop().create_task(self._finish(event, outcome))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
                return
        except Exception as exc:  # any handler failure becomes InternalError
            outcome = exc
        finally:
            _current.reset(token)
        self._report(event, outcome, answer(self.connection, event, outcome))

    def _report(self, event: CallReceived, outcome: object, problem: BaseException | None) -> None:
        """Log what :func:`answer` returned: a failing handler, or an invalid response."""
        if problem is None:
            return
        if problem is outcome:
            self.log.error("%s: the handler of %s failed", self._who, event.action, exc_info=problem)
        elif isinstance(problem, LocalProtocolError):
            self.log.error("%s: invalid response to %s: %s", self._who, event.action, problem.description)
        else:
            self.log.error("%s: %s", self._who, problem)

    async def _finish(self, event: CallReceived, pending: Awaitable[Any]) -> None:
        try:
            try:
                outcome = await pending
            except Exception as exc:  # any handler failure becomes InternalError
                outcome = exc
            self._report(event, outcome, answer(self.connection, event, outcome))
            await self._flush()
        except (OcppError, ConnectionError, EOFError):
            pass  # the connection closed under us, or the call was already answered

    def _receive_now(self, data: bytes | str) -> bool:
        """A DirectTransport's receiver, called while ``run`` waits for a message: the message is
        processed here, as ``run`` would, unless something in it could need to wait (a flush
        under way, a full buffer, a limit this message could reach, whose close ``run`` does) or
        a rate limit is set (only ``run`` can tell a pipelined call from one that waited for our
        answer); then False and the transport queues it for ``run``."""
        conn, direct = self.connection, self._direct
        if (
            direct is None
            or self._bucket is not None
            or self._inline_left <= 0  # a burst: run() takes the rest, yielding every _TURN messages
            or self._send_lock.locked()
            or not direct.writable
            or conn.bad_messages + 1 >= self.max_bad_messages  # one message adds one at most
            or (self.max_excess_calls and self.excess_calls + 1 >= self.max_excess_calls)
        ):
            return False
        self._inline_left -= 1
        self.received += 1
        try:
            if self.on_frame is not None:
                self._frame_hook("in", data if isinstance(data, bytes) else data.encode())
            conn.receive_data(data)
            self._process()
            if conn.has_data_to_send:
                self._write_direct(direct)  # a full buffer now makes the next message wait (run)
        except ConnectionError:
            pass  # closed meanwhile: run() hears it from recv()
        except Exception:  # a bug, ours or a hook's: the session ends, as it would in run()
            self.log.exception("%s: processing a message failed; the connection is aborted", self._who)
            self.close_reason = self.close_reason or "internal error"
            direct.abort()
        return True

    def _write_direct(self, direct: DirectTransport) -> bool:
        """Write what the connection has to send, at once; True when the buffer is then full."""
        full = False
        for data in self.connection.data_to_send():
            if self.on_frame is not None:
                self._frame_hook("out", data)
            full = direct.write_now(data)
        if self.on_sent is not None:
            self.on_sent(self)
        return full

    async def _flush(self) -> None:
        direct = self._direct
        if direct is not None and not self._send_lock.locked():
            # No lock, no coroutine per message; the lock is taken only to wait for a full
            # buffer, so that other writers wait behind it and frames keep their order.
            if self.connection.has_data_to_send and self._write_direct(direct):
                async with self._send_lock:
                    self._watch_from_now()
                    try:
                        await direct.drained()
                    finally:
                        self._sending_since = None
            self._arm_timer()
            return
        if self.connection.has_data_to_send or self._send_lock.locked():
            async with self._send_lock:  # drained inside the lock: frames keep their order across tasks
                self._watch_from_now()
                try:
                    for data in self.connection.data_to_send():
                        if self.on_frame is not None:
                            self._frame_hook("out", data)
                        await self.transport.send(data)
                finally:
                    self._sending_since = None
                if self.on_sent is not None:
                    self.on_sent(self)
        self._arm_timer()

    def _watch_from_now(self) -> None:
        """A write starts waiting: the send watchdog measures it (one timer per send_timeout at
        most, not one per flush)."""
        if self.send_timeout:
            loop = asyncio.get_running_loop()
            self._sending_since = loop.time()
            if self._watchdog is None:
                self._watchdog = loop.call_later(self.send_timeout, self._watch)

    def _watch(self) -> None:
        """The send watchdog: a flush that has been waiting for ``send_timeout`` seconds is a
        stall; one still young re-arms the watchdog for the rest of its time; none lets it go (the
        next flush arms it again)."""
        self._watchdog = None
        since = self._sending_since
        if since is None or self.closed.is_set() or not self.send_timeout:
            return
        loop = asyncio.get_running_loop()
        left = since + self.send_timeout - loop.time()
        if left <= 0:
            self._stalled()
        else:
            self._watchdog = loop.call_later(left, self._watch)

    def _stalled(self) -> None:
        """The peer has read nothing for ``send_timeout`` seconds while we had data for it."""
        self.close_reason = f"the peer read nothing for {self.send_timeout:g} s (send buffer full)"
        self.log.warning("%s: %s; connection aborted", self._who, self.close_reason)
        self.transport.abort()

    def _arm_timer(self) -> None:
        deadline = self.connection.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_deadline)

    def _on_deadline(self) -> None:
        self._timer = None
        self._timer_at = None
        self.connection.handle_timeout()
        self._process()
        # A queued call may have gone out now that the slot is free.
        task = asyncio.get_running_loop().create_task(self._flush())
        self._handlers.add(task)  # keep a reference until it is done
        task.add_done_callback(self._handlers.discard)

    def _shutdown(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for uid, future in list(self._futures.items()):
            if not future.done():
                why = f" ({self.close_reason})" if self.close_reason else ""
                future.set_exception(ConnectionError(f"connection closed before {uid} was answered{why}"))
        self._futures.clear()
        for task in list(self._handlers):
            task.cancel()
        self.closed.set()


def open_session(
    transport: Transport,
    role: Role,
    version: str,
    router: Router | None = None,
    *,
    identity: str = "",
    options: SessionOptions | None = None,
) -> Session:
    """The session of a transport that has just opened: the one way every transport adapter,
    either role, builds its :class:`ocppkit.Connection` and :class:`Session`.

    Call it in the running loop (whose clock drives the timers), then run the session: ``await
    session.run()`` in the task serving the transport (a server's connection handler), or
    ``session.start()`` to run it in a task of its own (a client). Transport settings of
    ``options`` (``compression``, ``ping_interval``, ``max_frame_size``) are the transport
    adapter's to apply when it opens the transport; the rest are applied here.

    Parameters:
        transport: the open transport (see :class:`Transport`): it raises ``ConnectionError``
            once closed.
        role: ``"csms"`` or ``"station"``: the side this session plays.
        version: the OCPP version agreed on the transport (its subprotocol).
        router: the :class:`ocppkit.Router` answering the peer's calls (None: every call is
            answered ``NotSupported``).
        identity: the station identity, in log lines and the hooks.
        options: the :class:`SessionOptions` (default: ``SessionOptions()``).
    """
    o = options if options is not None else SessionOptions()
    connection = Connection(
        role,
        version,
        clock=asyncio.get_running_loop().time,
        call_timeout=o.call_timeout,
        max_queued_calls=o.max_queued_calls,
        max_pending_received=o.max_pending_received,
        boot_gating=o.boot_gating,
        max_frame_size=o.max_frame_size,
        policy=o.policy,
    )
    return Session(
        transport,
        connection,
        router,
        identity=identity,
        max_bad_messages=o.max_bad_messages,
        on_event=o.on_event,
        on_frame=o.on_frame,
        max_call_rate=o.max_call_rate,
        max_call_burst=o.max_call_burst,
        max_excess_calls=o.max_excess_calls,
        send_timeout=o.send_timeout,
    )
