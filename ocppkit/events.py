"""Events a :class:`ocppkit.Connection` reports: what the peer did, and what became of our calls.

Every CALL we make ends with exactly one of :class:`ResultReceived`, :class:`ErrorReceived`,
:class:`ResultInvalid` or :class:`CallTimedOut`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import Request, Response, SendPayload
from .errors import OcppError
from .frames import Relaxation

__all__ = [
    "CallReceived",
    "CallTimedOut",
    "ErrorReceived",
    "Event",
    "LateResponse",
    "ProtocolViolation",
    "ResultErrorReceived",
    "ResultInvalid",
    "ResultReceived",
    "SendReceived",
    "UnmatchedResponse",
]


class CallReceived(msgspec.Struct, frozen=True, gc=False):
    """The peer called us: answer with ``Connection.send_result`` or ``send_error``.

    Attributes:
        unique_id: the id of the peer's CALL, to answer with.
        action: the action name.
        request: the typed request (an instance of the action's generated request class).
        relaxations: what a lenient :class:`ocppkit.Policy` accepted on decoding it.
    """

    unique_id: str
    action: str
    request: Request[Any]
    relaxations: tuple[Relaxation, ...] = ()


class ResultReceived(msgspec.Struct, frozen=True, gc=False):
    """Our call was answered with a valid CALLRESULT.

    Attributes:
        unique_id: the id of our CALL.
        action: its action.
        response: the typed response (an instance of the action's generated response class).
        call: the request we sent.
        relaxations: what a lenient :class:`ocppkit.Policy` accepted on decoding the answer.
    """

    unique_id: str
    action: str
    response: Response
    call: Request[Any]
    relaxations: tuple[Relaxation, ...] = ()


class ErrorReceived(msgspec.Struct, frozen=True, gc=False):
    """The peer answered our call with a CALLERROR.

    Attributes:
        unique_id: the id of our CALL.
        action: its action.
        error_code: the code as the peer spelt it (read it with :func:`ocppkit.parse_error_code`).
        error_description: the peer's description.
        error_details: the peer's details object.
        call: the request we sent.
    """

    unique_id: str
    action: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]
    call: Request[Any]


class ResultInvalid(msgspec.Struct, frozen=True, gc=False):
    """The peer answered our call with a CALLRESULT that breaks the schema, or with a CALLERROR
    that is not a well-formed frame (its id read, the rest not); the call is over.

    In 2.1 the CALLRESULTERROR the specification asks for an invalid CALLRESULT is already queued
    (a CALLERROR is never answered).

    Attributes:
        unique_id: the id of our CALL.
        action: its action.
        error: what is wrong: a :class:`ocppkit.PayloadError` naming the field and the rule, or
            a :class:`ocppkit.RemoteProtocolError` for a malformed frame.
        call: the request we sent.
    """

    unique_id: str
    action: str
    error: OcppError
    call: Request[Any]


class CallTimedOut(msgspec.Struct, frozen=True, gc=False):
    """No answer to our call before its deadline; the slot is free again.

    Attributes:
        unique_id: the id of our CALL (an answer arriving later is a :class:`LateResponse`).
        action: its action.
        call: the request we sent.
    """

    unique_id: str
    action: str
    call: Request[Any]


class ResultErrorReceived(msgspec.Struct, frozen=True, gc=False):
    """2.1: the peer could not process the CALLRESULT we sent for its call ``unique_id``.

    Attributes:
        unique_id: the id of the peer's CALL that our CALLRESULT answered.
        error_code: the code as the peer spelt it.
        error_description: the peer's description.
        error_details: the peer's details object.
    """

    unique_id: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]


class SendReceived(msgspec.Struct, frozen=True, gc=False):
    """2.1: an unconfirmed message (SEND); never answered.

    Attributes:
        unique_id: the message id.
        action: the action name.
        payload: the typed payload (an instance of the action's generated SEND class).
        relaxations: what a lenient :class:`ocppkit.Policy` accepted on decoding it.
    """

    unique_id: str
    action: str
    payload: SendPayload
    relaxations: tuple[Relaxation, ...] = ()


class LateResponse(msgspec.Struct, frozen=True, gc=False):
    """A CALLRESULT or CALLERROR for a call of ours that had already timed out; dropped.

    Attributes:
        unique_id: the id of the timed-out call.
        action: its action.
        kind: ``"result"`` or ``"error"``.
    """

    unique_id: str
    action: str
    kind: str  # "result" | "error"


class UnmatchedResponse(msgspec.Struct, frozen=True, gc=False):
    """A CALLRESULT or CALLERROR whose id matches no call of ours; dropped, never answered.

    Attributes:
        unique_id: the id the peer sent (``"-1"`` when it could not be read).
        kind: ``"result"`` or ``"error"``.
    """

    unique_id: str
    kind: str  # "result" | "error"


class ProtocolViolation(msgspec.Struct, frozen=True, gc=False):
    """The peer broke the protocol. ``error.reply`` (if any) is already queued to be sent.

    Attributes:
        error: the :class:`ocppkit.OcppError` describing the fault (code, description, details
            naming the field and the rule).
    """

    error: OcppError


#: Any event :meth:`ocppkit.Connection.events` yields.
Event = (
    CallReceived
    | ResultReceived
    | ErrorReceived
    | ResultInvalid
    | CallTimedOut
    | ResultErrorReceived
    | SendReceived
    | LateResponse
    | UnmatchedResponse
    | ProtocolViolation
)
