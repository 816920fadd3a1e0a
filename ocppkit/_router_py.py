"""Typed routing of received calls to handlers, registered per request class.

.. code-block:: python

    router = ocppkit.Router("2.0.1")

    @router.on(v201.HeartbeatRequest)
    def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
        return v201.HeartbeatResponse(current_time=now())

    for event in conn.events():
        if isinstance(event, ocppkit.CallReceived):
            router.dispatch(conn, event)

mypy checks each handler against the request class it is registered for: its argument must
accept that class and its return type must be the matching response (or an awaitable of it).
A router serves one OCPP version, given or taken from its first handler; a handler of another
version is refused.

How a handler's outcome becomes the answer is one function, :func:`answer`, which
``Router.dispatch`` and the asyncio adapters' sessions share: a known action with no handler is
answered ``NotSupported`` (an action unknown to the version never gets here: the codec answers it
``NotImplemented``); an exception in a handler is answered ``InternalError`` with no traceback on
the wire, and returned to the caller; so is an invalid response (``LocalProtocolError``, naming
the field), and an awaitable where a response was due (``TypeError``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._base import Request, Response
from .edition import VERSIONS
from .errors import CallErrorReply, ErrorCode, LocalProtocolError
from .events import CallReceived

__all__ = ["NO_HANDLER", "Router", "answer"]

R = TypeVar("R", bound=Response)
Q = TypeVar("Q", bound=Request[Any])
Handler = Callable[[Any], Any]

if TYPE_CHECKING:
    from typing import Protocol, overload

    Q_co = TypeVar("Q_co", covariant=True)
    R_co = TypeVar("R_co", bound=Response, covariant=True)

    class _RequestClass(Protocol[Q_co, R_co]):
        """A generated request class, seen by a type checker: it builds ``Q_co`` instances, whose
        response class is ``R_co`` (read from ``Request[R_co]``)."""

        def __call__(self, *args: Any, **kwargs: Any) -> Q_co: ...
        def __ocpp_response__(self, request: Any, /) -> R_co: ...

    class _Register(Protocol[Q, R]):
        """What ``Router.on(cls)`` returns: a decorator that registers a handler of ``cls`` and
        gives it back with its own type (sync or async)."""

        @overload
        def __call__(self, handler: Callable[[Q], R], /) -> Callable[[Q], R]: ...
        @overload
        def __call__(self, handler: Callable[[Q], Awaitable[R]], /) -> Callable[[Q], Awaitable[R]]: ...
        @overload
        def __call__(self, handler: Callable[[Q], R | Awaitable[R]], /) -> Callable[[Q], R | Awaitable[R]]: ...


class _NoHandler:
    """The type of :data:`NO_HANDLER`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_HANDLER"


#: The outcome to give :func:`answer` for a call whose action has no handler (``NotSupported``).
NO_HANDLER: Any = _NoHandler()


def answer(conn: Any, event: CallReceived, outcome: object) -> BaseException | None:
    """Answer the received call ``event`` on ``conn`` with a handler's outcome; return the
    exception to report (log), or None when the peer got the response.

    The one answering policy of ocppkit, shared by :meth:`Router.dispatch` and the asyncio
    adapters (plain handlers and coroutine handlers alike). ``outcome`` is:

    - :data:`NO_HANDLER`: the action has no handler: ``NotSupported``; returns None.
    - a :class:`ocppkit.CallErrorReply` (the handler raised it): that CALLERROR; returns None.
    - any other exception (the handler raised it): ``InternalError`` ("Internal error", never a
      traceback on the wire); returns that exception.
    - an awaitable (an async handler, where nothing can await it): closed unawaited,
      ``InternalError``; returns a ``TypeError`` saying so.
    - anything else, the response: sent as the CALLRESULT. An invalid one (another class, a
      field breaking its schema) is never sent: the connection answers ``InternalError`` and this
      returns its :class:`ocppkit.LocalProtocolError`, naming the field.

    A caller tells a failing handler from an invalid response by ``returned is outcome``.
    """
    if getattr(type(outcome), "__ocpp__", None) is not None:
        # A generated payload class (never awaitable, never an exception): the usual case,
        # first. send_result checks that it is the response this call needs.
        try:
            conn.send_result(event.unique_id, outcome)
        except LocalProtocolError as exc:  # the connection already answered InternalError
            return exc
        return None
    if isinstance(outcome, CallErrorReply):  # the handler's chosen CALLERROR
        conn.send_error(event.unique_id, outcome.error_code, outcome.description, outcome.details)
        return None
    if isinstance(outcome, Exception):
        conn.send_error(event.unique_id, ErrorCode.INTERNAL_ERROR, "Internal error", {})
        return outcome
    if outcome is NO_HANDLER:
        conn.send_error(event.unique_id, ErrorCode.NOT_SUPPORTED, f"{event.action} is not supported here", {})
        return None
    if hasattr(outcome, "__await__"):
        close = getattr(outcome, "close", None)
        if close is not None:
            close()  # a coroutine object: do not leave it "never awaited"
        conn.send_error(event.unique_id, ErrorCode.INTERNAL_ERROR, "Internal error", {})
        return TypeError(
            f"the handler of {event.action} returned an awaitable, which cannot be awaited here: "
            "Router.dispatch runs plain functions; run coroutine handlers with an asyncio adapter"
        )
    try:
        conn.send_result(event.unique_id, outcome)
    except LocalProtocolError as exc:  # the connection already answered InternalError
        return exc
    return None


class Router:
    """Maps the request classes of one OCPP version to handlers.

    ``Router("2.0.1")`` serves that version; ``Router()`` takes the version of its first
    handler. ``version`` is that version (None while a ``Router()`` is empty). A handler for a
    class of another version is refused with ``TypeError``.

    Parameters:
        version: the OCPP version served ("1.6", "2.0.1" or "2.1"), or None to take the version
            of the first handler registered.
    """

    __slots__ = ("_handlers", "_version")

    def __init__(self, version: str | None = None) -> None:
        if version is not None and version not in VERSIONS:
            raise ValueError(f"version: expected one of {', '.join(VERSIONS)} or None, got {version!r}")
        self._version = version
        self._handlers: dict[object, Handler] = {}

    @property
    def version(self) -> str | None:
        """The OCPP version this router serves: given, or that of its first handler."""
        return self._version

    def __repr__(self) -> str:
        return f"<Router {self._version or 'no version yet'}: {len(self._handlers)} handlers>"

    def on(self, request_type: _RequestClass[Q, R]) -> _Register[Q, R]:
        """Decorator: register the handler of ``request_type``; it takes that request and returns
        the matching response (or, for the asyncio adapters, an awaitable of it)."""

        def register(handler: Callable[[Q], R | Awaitable[R]]) -> Callable[[Q], R | Awaitable[R]]:
            self.add(request_type, handler)
            return handler

        return register  # type: ignore[return-value]  # one function: _Register's overloads are typing only

    def add(self, request_type: _RequestClass[Q, R], handler: Callable[[Q], R | Awaitable[R]]) -> None:
        """Register ``handler`` for ``request_type`` (one handler per class, one version per router)."""
        info = getattr(request_type, "__ocpp__", None)
        if info is None or info.role != "request":
            raise TypeError(f"request_type: expected a generated <Action>Request class, got {request_type!r}")
        if not callable(handler):
            raise TypeError("handler: expected a callable")
        name = getattr(request_type, "__name__", repr(request_type))
        if self._version is not None and info.version != self._version:
            raise TypeError(
                f"request_type: {name} is an OCPP {info.version} class; this router serves OCPP "
                f"{self._version} (use one Router per version)"
            )
        if request_type in self._handlers:
            raise ValueError(f"request_type: {name} already has a handler")
        self._version = info.version
        self._handlers[request_type] = handler

    def handler_for(self, request: Request[Any]) -> Handler | None:
        """The handler registered for this request's class, or None."""
        return self._handlers.get(type(request))

    def __contains__(self, request_type: object) -> bool:
        return request_type in self._handlers

    def dispatch(self, conn: Any, event: CallReceived) -> BaseException | None:
        """Run the handler of ``event`` and answer on ``conn`` (synchronous handlers), as
        :func:`answer` defines.

        Returns the exception the handler raised (already answered ``InternalError``), the
        ``LocalProtocolError`` of an invalid response (likewise answered) or the ``TypeError`` of
        an async handler (likewise), else None.
        """
        request = event.request
        handler = self._handlers.get(type(request))
        if handler is None:
            return answer(conn, event, NO_HANDLER)
        try:
            outcome = handler(request)
        except Exception as exc:  # any handler failure becomes InternalError
            outcome = exc
        return answer(conn, event, outcome)
