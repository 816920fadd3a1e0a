"""Typed routing of received calls to handlers, registered per request class.

.. code-block:: python

    router = ocppkit.Router()

    @router.on(v201.HeartbeatRequest)
    def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
        return v201.HeartbeatResponse(current_time=now())

    for event in conn.events():
        if isinstance(event, ocppkit.CallReceived):
            router.dispatch(conn, event)

mypy checks each handler's return type against the response type of the request class it is
registered for. A known action with no handler is answered ``NotSupported`` (an action unknown
to the version never gets here: the codec answers it ``NotImplemented``); an exception in a
handler is answered ``InternalError`` with no traceback on the wire, and returned to the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._base import Request, Response
from .errors import ErrorCode, LocalProtocolError
from .events import CallReceived

__all__ = ["Router"]

R = TypeVar("R", bound=Response)
Q = TypeVar("Q")
Handler = Callable[[Any], Any]


class Router:
    """Maps request classes (hence actions of one version) to handlers."""

    __slots__ = ("_handlers",)

    def __init__(self) -> None:
        self._handlers: dict[type, Handler] = {}

    def on(
        self, request_type: type[Request[R]]
    ) -> Callable[[Callable[[Q], R | Awaitable[R]]], Callable[[Q], R | Awaitable[R]]]:
        """Decorator: register the handler of ``request_type``; it returns the matching response
        (or, for the asyncio adapters, an awaitable of it)."""

        def register(handler: Callable[[Q], R | Awaitable[R]]) -> Callable[[Q], R | Awaitable[R]]:
            self.add(request_type, handler)
            return handler

        return register

    def add(self, request_type: type[Request[R]], handler: Callable[[Q], R | Awaitable[R]]) -> None:
        """Register ``handler`` for ``request_type`` (one handler per class)."""
        info = getattr(request_type, "__ocpp__", None)
        if info is None or info.role != "request":
            raise TypeError(f"request_type: expected a generated <Action>Request class, got {request_type!r}")
        if not callable(handler):
            raise TypeError("handler: expected a callable")
        if request_type in self._handlers:
            raise ValueError(f"request_type: {request_type.__name__} already has a handler")
        self._handlers[request_type] = handler

    def handler_for(self, request: Request[Any]) -> Handler | None:
        """The handler registered for this request's class, or None."""
        return self._handlers.get(type(request))

    def __contains__(self, request_type: object) -> bool:
        return request_type in self._handlers

    def dispatch(self, conn: Any, event: CallReceived) -> BaseException | None:
        """Run the handler of ``event`` and answer on ``conn`` (synchronous handlers).

        Returns the exception the handler raised (already answered ``InternalError``), or the
        ``LocalProtocolError`` for an invalid response (likewise answered), else None.
        """
        handler = self._handlers.get(type(event.request))
        if handler is None:
            conn.send_error(event.unique_id, ErrorCode.NOT_SUPPORTED, f"{event.action} is not supported here", {})
            return None
        try:
            response = handler(event.request)
            if hasattr(response, "__await__"):
                close = getattr(response, "close", None)
                if close is not None:
                    close()  # a coroutine object: do not leave it "never awaited"
                raise TypeError(f"the handler of {event.action} is asynchronous: use an asyncio adapter")
        except Exception as exc:  # noqa: BLE001 - any handler failure becomes InternalError
            conn.send_error(event.unique_id, ErrorCode.INTERNAL_ERROR, "Internal error", {})
            return exc
        try:
            conn.send_result(event.unique_id, response)
        except LocalProtocolError as exc:  # the connection already answered InternalError
            return exc
        return None
