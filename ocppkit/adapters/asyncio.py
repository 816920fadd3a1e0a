"""asyncio glue around :class:`ocppkit.Connection`: awaitable calls, handler tasks, timers.

A :class:`Session` runs one OCPP-J connection over any message transport with
``async send(bytes)`` and ``async recv() -> bytes | str`` (the websockets adapter provides one).
``await session.call(request)`` returns the typed response; received calls go to the
:class:`ocppkit.Router`'s handlers: plain functions run inline, coroutines in their own
task. Timeouts, queued calls and late results behave exactly as the connection defines; the
loop's clock drives it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from .. import errors
from .._base import Request, Response, SendPayload
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
from ..router import Router
from ..rpc import Connection

__all__ = ["CallErrorResponse", "CallTimeout", "Session", "Transport", "current_session"]

log = logging.getLogger("ocppkit")
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


def _transport_closed(exc: BaseException) -> bool:
    """Whether ``exc`` says the transport is closed (websockets' ConnectionClosed family, or a
    ConnectionError), without importing any transport library."""
    return isinstance(exc, (ConnectionError, EOFError)) or type(exc).__name__.startswith("ConnectionClosed")


class Transport(Protocol):
    """What a Session needs from a WebSocket: text messages in and out, and a close."""

    async def send(self, data: bytes) -> None:
        """Send one text message (UTF-8 JSON)."""
        ...

    async def recv(self) -> bytes | str:
        """The next text message; raises ``ConnectionError`` or ``EOFError`` (or websockets'
        ``ConnectionClosed``) when the connection has closed."""
        ...

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with a WebSocket close code and reason."""
        ...


class CallErrorResponse(errors.RemoteProtocolError):
    """The peer answered our call with a CALLERROR; raised by :meth:`Session.call`.

    Parameters:
        code: the error code as the peer spelt it, kept as ``code`` (``error_code`` holds it as
            an :class:`ocppkit.ErrorCode`, ``GenericError`` for a code no version defines).
        description: the peer's description.
        details: the peer's details object.
        version: the OCPP version of the session.
        unique_id: the id of our call.
    """

    def __init__(self, code: str, description: str, details: dict[str, Any], *, version: str, unique_id: str) -> None:
        parsed = errors.parse_error_code(code) or ErrorCode.GENERIC_ERROR
        super().__init__(parsed, description, details, version=version, unique_id=unique_id)
        self.code = code


class CallTimeout(TimeoutError):
    """The peer did not answer our call before its deadline (the connection's ``call_timeout``,
    counted from when the call went on the wire); raised by :meth:`Session.call`."""


class Session:
    """One OCPP-J connection driven by asyncio. Create it, then ``await run()`` (or use
    ``start()``); ``call()`` may be awaited from any task.

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
        logger: where to log; default the ``"ocppkit"`` logger.

    Attributes:
        closed: an :class:`asyncio.Event`, set when the session has ended.
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
        logger: logging.Logger | None = None,
    ) -> None:
        self.transport = transport
        self.connection = connection
        self.router = router if router is not None else Router()
        self.identity = identity
        self.version = connection.version
        self.max_bad_messages = max_bad_messages
        self.on_event = on_event
        self.log = logger or log
        self.closed = asyncio.Event()
        self.close_reason = ""
        self._futures: dict[str, asyncio.Future[Any]] = {}
        self._handlers: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._send_lock = asyncio.Lock()
        self._runner: asyncio.Task[None] | None = None

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
            raise ConnectionError(f"the session with {self.identity or 'the peer'} is closed")
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
            if _transport_closed(exc):
                raise ConnectionError(f"the connection with {self.identity or 'the peer'} closed") from exc
            raise
        result: R = await future
        return result

    async def send(self, payload: SendPayload) -> str:
        """2.1: send an unconfirmed message (SEND) now; returns its unique id.

        Raises ``ConnectionError`` when the connection has closed.
        """
        if self.closed.is_set():
            raise ConnectionError(f"the session with {self.identity or 'the peer'} is closed")
        uid = self.connection.send(payload)
        try:
            await self._flush()
        except Exception as exc:
            if _transport_closed(exc):
                raise ConnectionError(f"the connection with {self.identity or 'the peer'} closed") from exc
            raise
        return uid

    def start(self) -> asyncio.Task[None]:
        """Run the session in a task (see :meth:`run`)."""
        self._runner = asyncio.get_running_loop().create_task(self.run())
        return self._runner

    async def run(self) -> None:
        """Read messages until the transport closes; then fail what is still waiting."""
        try:
            while True:
                data = await self.transport.recv()
                self.connection.receive_data(data)
                self._process()
                await self._flush()
                if self.connection.bad_messages >= self.max_bad_messages:
                    self.close_reason = f"too many invalid messages ({self.connection.bad_messages})"
                    await self.transport.close(1008, self.close_reason[:120])
                    break
        except (ConnectionError, EOFError) as exc:
            self.close_reason = self.close_reason or str(exc) or type(exc).__name__
        except Exception as exc:  # websockets' ConnectionClosed and friends end the session
            if _transport_closed(exc):
                self.close_reason = self.close_reason or str(exc)
            else:
                raise
        finally:
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

    def _process(self) -> None:
        for event in self.connection.events():
            if self.on_event is not None:
                self.on_event(self, event)
            if isinstance(event, CallReceived):
                self._dispatch(event)
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
                self._resolve(
                    event.unique_id, CallTimeout(f"no answer to {event.action} {event.unique_id}"), error=True
                )
            elif isinstance(event, ProtocolViolation):
                self.log.warning(
                    "%s: protocol violation: %s %s", self.identity, event.error.code, event.error.description
                )
            elif isinstance(event, (LateResponse, UnmatchedResponse)):
                self.log.info("%s: dropped %s for %s", self.identity, type(event).__name__, event.unique_id)
            # SendReceived and ResultErrorReceived reach the application through on_event.
        self._arm_timer()

    def _resolve(self, uid: str, value: Any, error: bool = False) -> None:
        future = self._futures.pop(uid, None)
        if future is None or future.done():
            return
        if error:
            future.set_exception(value)
        else:
            future.set_result(value)

    def _dispatch(self, event: CallReceived) -> None:
        """Run the call's handler: a plain function inline, a coroutine in its own task."""
        handler = self.router.handler_for(event.request)
        if handler is None:
            self.connection.send_error(
                event.unique_id, ErrorCode.NOT_SUPPORTED, f"{event.action} is not supported here", {}
            )
            return
        token = _current.set(self)
        try:
            response = handler(event.request)
            if isinstance(response, Awaitable):
                # The task copies the context now, while current_session() is set.
                task = asyncio.get_running_loop().create_task(self._finish(event, response))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
                return
        except Exception:
            self.log.exception("%s: the handler of %s failed", self.identity, event.action)
            self.connection.send_error(event.unique_id, ErrorCode.INTERNAL_ERROR, "Internal error", {})
            return
        finally:
            _current.reset(token)
        self._answer(event, response)

    def _answer(self, event: CallReceived, response: Any) -> None:
        try:
            self.connection.send_result(event.unique_id, response)
        except LocalProtocolError as exc:  # the connection already answered InternalError
            self.log.error("%s: invalid response to %s: %s", self.identity, event.action, exc.description)

    async def _finish(self, event: CallReceived, pending: Awaitable[Any]) -> None:
        try:
            try:
                response = await pending
            except Exception:
                self.log.exception("%s: the handler of %s failed", self.identity, event.action)
                self.connection.send_error(event.unique_id, ErrorCode.INTERNAL_ERROR, "Internal error", {})
            else:
                self._answer(event, response)
            await self._flush()
        except (OcppError, ConnectionError):
            pass
        except Exception as exc:  # the transport closed under us
            if not _transport_closed(exc):
                raise

    async def _flush(self) -> None:
        if self.connection.has_data_to_send or self._send_lock.locked():
            async with self._send_lock:  # drained inside the lock: frames keep their order across tasks
                for data in self.connection.data_to_send():
                    await self.transport.send(data)
        self._arm_timer()

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
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for uid, future in list(self._futures.items()):
            if not future.done():
                future.set_exception(ConnectionError(f"connection closed before {uid} was answered"))
        self._futures.clear()
        for task in list(self._handlers):
            task.cancel()
        self.closed.set()
