"""OCPP-J frames: the five message types and the objects :class:`ocppkit.Codec` returns.

=====  ===============  ==========================================================  =========
 id    name             layout                                                      versions
=====  ===============  ==========================================================  =========
 2     CALL             ``[2, "<id>", "<Action>", {payload}]``                        all
 3     CALLRESULT       ``[3, "<id>", {payload}]``                                    all
 4     CALLERROR        ``[4, "<id>", "<code>", "<description>", {details}]``        all
 5     CALLRESULTERROR  same as CALLERROR; answers an invalid CALLRESULT              2.1
 6     SEND             ``[6, "<id>", "<Action>", {payload}]``, never answered        2.1
=====  ===============  ==========================================================  =========
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Generic, TypeVar

import msgspec

from ._base import Request, Response, SendPayload
from .errors import ErrorCode, parse_error_code

__all__ = [
    "Call",
    "CallError",
    "CallResult",
    "CallResultError",
    "Frame",
    "MessageType",
    "RawPayload",
    "Relaxation",
    "Send",
]

#: An undecoded payload: the exact JSON bytes of a CALLRESULT decoded without ``action=``.
RawPayload = msgspec.Raw

#: The payload type of a :class:`CallResult`. Covariant (frames are frozen, so reading is all
#: one can do with it): a ``CallResult[HeartbeatResponse]`` is a ``CallResult[Response]``, which
#: is what :meth:`ocppkit.Codec.encode` and :data:`Frame` take.
P_co = TypeVar("P_co", covariant=True)


class MessageType(IntEnum):
    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4
    CALLRESULTERROR = 5
    SEND = 6


class Relaxation(msgspec.Struct, frozen=True, gc=False):
    """One departure from the schema that a lenient decoding policy accepted.

    ``rule`` is the relaxed rule (``additionalProperties``, ``maxLength``, ``enum``,
    ``format``), ``path`` the JSON path, ``action`` what was done (``dropped``, ``kept``,
    ``accepted``, ``assumed UTC``) and ``value`` the peer's original value.
    """

    path: str
    rule: str
    action: str
    value: Any = None


class Call(msgspec.Struct, frozen=True, gc=False):
    """A CALL: ``payload`` is an instance of the action's generated request class."""

    unique_id: str
    action: str
    payload: Request[Any]
    relaxations: tuple[Relaxation, ...] = ()


class CallResult(msgspec.Struct, Generic[P_co], frozen=True, gc=False):
    """A CALLRESULT: ``payload`` is a generated response, or :data:`RawPayload` when the frame was
    decoded without ``action=`` (decode it later with :meth:`ocppkit.Codec.decode_result`)."""

    unique_id: str
    payload: P_co
    relaxations: tuple[Relaxation, ...] = ()


class _ErrorFrame(msgspec.Struct, frozen=True, gc=False):
    unique_id: str
    #: The code as received (either spelling), or an :class:`~ocppkit.ErrorCode` to send.
    error_code: str
    error_description: str = ""
    error_details: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def code(self) -> ErrorCode | None:
        """``error_code`` read in either spelling; None for a code no version defines."""
        return parse_error_code(self.error_code)


class CallError(_ErrorFrame, frozen=True, gc=False):
    """A CALLERROR: the peer could not process our CALL."""


class CallResultError(_ErrorFrame, frozen=True, gc=False):
    """A 2.1 CALLRESULTERROR: the peer could not process our CALLRESULT."""


class Send(msgspec.Struct, frozen=True, gc=False):
    """A 2.1 SEND: an unconfirmed message; ``payload`` is the action's generated class."""

    unique_id: str
    action: str
    payload: SendPayload
    relaxations: tuple[Relaxation, ...] = ()


Frame = Call | CallResult[Response] | CallResult[RawPayload] | CallError | CallResultError | Send
