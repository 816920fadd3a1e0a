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
    """The peer called us: answer with ``Connection.send_result`` or ``send_error``."""

    unique_id: str
    action: str
    request: Request[Any]
    relaxations: tuple[Relaxation, ...] = ()


class ResultReceived(msgspec.Struct, frozen=True, gc=False):
    """The CALLRESULT of our call ``call`` (typed with that call's action)."""

    unique_id: str
    action: str
    response: Response
    call: Request[Any]
    relaxations: tuple[Relaxation, ...] = ()


class ErrorReceived(msgspec.Struct, frozen=True, gc=False):
    """The peer answered our call ``call`` with a CALLERROR."""

    unique_id: str
    action: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]
    call: Request[Any]


class ResultInvalid(msgspec.Struct, frozen=True, gc=False):
    """The peer answered our call with a CALLRESULT that breaks the schema; the call is over.

    In 2.1 the CALLRESULTERROR the specification asks for is already queued.
    """

    unique_id: str
    action: str
    error: OcppError
    call: Request[Any]


class CallTimedOut(msgspec.Struct, frozen=True, gc=False):
    """No answer to our call before its deadline; the slot is free again."""

    unique_id: str
    action: str
    call: Request[Any]


class ResultErrorReceived(msgspec.Struct, frozen=True, gc=False):
    """2.1: the peer could not process the CALLRESULT we sent for its call ``unique_id``."""

    unique_id: str
    error_code: str
    error_description: str
    error_details: dict[str, Any]


class SendReceived(msgspec.Struct, frozen=True, gc=False):
    """2.1: an unconfirmed message (SEND); never answered."""

    unique_id: str
    action: str
    payload: SendPayload
    relaxations: tuple[Relaxation, ...] = ()


class LateResponse(msgspec.Struct, frozen=True, gc=False):
    """A CALLRESULT or CALLERROR for a call of ours that had already timed out; dropped."""

    unique_id: str
    action: str
    kind: str  # "result" | "error"


class UnmatchedResponse(msgspec.Struct, frozen=True, gc=False):
    """A CALLRESULT or CALLERROR whose id matches no call of ours; dropped, never answered."""

    unique_id: str
    kind: str  # "result" | "error"


class ProtocolViolation(msgspec.Struct, frozen=True, gc=False):
    """The peer broke the protocol. ``error.reply`` (if any) is already queued to be sent."""

    error: OcppError


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
