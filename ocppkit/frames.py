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
    """The message type ids of OCPP-J, the first element of every frame."""

    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4
    CALLRESULTERROR = 5
    SEND = 6


class Relaxation(msgspec.Struct, frozen=True, gc=False):
    """One departure from the schema that a lenient decoding policy accepted.

    Attributes:
        path: the JSON path of the value (``$.meterValue[0].sampledValue[0].value``).
        rule: the relaxed schema rule: ``additionalProperties``, ``maxLength``, ``enum`` or
            ``format``.
        action: what was done: ``dropped``, ``kept``, ``accepted``, ``truncated`` or
            ``assumed UTC``.
        value: the peer's original value (None for a dropped member).
    """

    path: str
    rule: str
    action: str
    value: Any = None


class Call(msgspec.Struct, frozen=True, gc=False):
    """A CALL (message type 2): the sender asks the peer to do something and answer.

    Attributes:
        unique_id: the message id, 1 to 36 characters, that the answer repeats.
        action: the action name (``"BootNotification"``).
        payload: an instance of the action's generated request class.
        relaxations: what a lenient :class:`ocppkit.Policy` accepted on decoding (empty when
            strict, and on frames we build).
    """

    unique_id: str
    action: str
    payload: Request[Any]
    relaxations: tuple[Relaxation, ...] = ()


class CallResult(msgspec.Struct, Generic[P_co], frozen=True, gc=False):
    """A CALLRESULT (message type 3): the answer to a CALL.

    Attributes:
        unique_id: the id of the CALL it answers.
        payload: the action's generated response, or :data:`RawPayload` when the frame was
            decoded without ``action=`` (decode it later with :meth:`ocppkit.Codec.decode_result`).
        relaxations: what a lenient :class:`ocppkit.Policy` accepted on decoding.
    """

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
    """A CALLERROR (message type 4): the peer could not process our CALL.

    Attributes:
        unique_id: the id of the CALL it answers (``"-1"`` when the sender could not read it).
        error_code: the code as received (either spelling), or an :class:`ocppkit.ErrorCode`
            to send (spelt for the version on encoding).
        error_description: at most 255 characters.
        error_details: a JSON object.
    """


class CallResultError(_ErrorFrame, frozen=True, gc=False):
    """A 2.1 CALLRESULTERROR (message type 5): the peer could not process our CALLRESULT.

    Attributes:
        unique_id: the id of the CALL whose CALLRESULT failed.
        error_code: the code as received, or an :class:`ocppkit.ErrorCode` to send.
        error_description: at most 255 characters.
        error_details: a JSON object.
    """


class Send(msgspec.Struct, frozen=True, gc=False):
    """A 2.1 SEND (message type 6): an unconfirmed message, never answered.

    Attributes:
        unique_id: the message id.
        action: the action name (``"NotifyPeriodicEventStream"``).
        payload: an instance of the action's generated SEND payload class.
        relaxations: what a lenient :class:`ocppkit.Policy` accepted on decoding.
    """

    unique_id: str
    action: str
    payload: SendPayload
    relaxations: tuple[Relaxation, ...] = ()


#: Any frame :meth:`ocppkit.Codec.decode` returns or :meth:`ocppkit.Codec.encode` takes.
Frame = Call | CallResult[Response] | CallResult[RawPayload] | CallError | CallResultError | Send
