"""ocppkit: typed, validated, sans-IO OCPP 1.6, 2.0.1 and 2.1.

The message classes live in one package per version, imported on demand::

    from ocppkit.v201 import BootNotificationRequest

``import ocppkit`` alone imports none of them.
"""

#: ``UNSET`` is the value of an optional field that is absent (msgspec's, re-exported): test with
#: ``field is not ocppkit.UNSET``, which mypy narrows; ``UnsetType`` is its type.
from msgspec import UNSET, UnsetType

from ._base import ActionTypes, CustomData, MessageInfo, OcppStruct, Request, Response, SendPayload
from ._payload import encode_payload
from ._version import __version__
from .codec import IMPLEMENTATION, Codec, decode_payload
from .edition import Edition, edition
from .errors import (
    CallErrorReply,
    CallErrorResponse,
    CallTimeout,
    ErrorCode,
    LocalProtocolError,
    OcppError,
    PayloadError,
    RemoteProtocolError,
    parse_error_code,
    spell_error_code,
)
from .events import (
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    Event,
    LateResponse,
    ProtocolViolation,
    ResultErrorReceived,
    ResultInvalid,
    ResultReceived,
    SendReceived,
    UnmatchedResponse,
)
from .frames import Call, CallError, CallResult, CallResultError, Frame, MessageType, RawPayload, Relaxation, Send
from .policy import Policy
from .router import Router
from .rpc import Connection, Role

__all__ = [
    "IMPLEMENTATION",
    "UNSET",
    "ActionTypes",
    "Call",
    "CallError",
    "CallErrorReply",
    "CallErrorResponse",
    "CallReceived",
    "CallTimedOut",
    "CallTimeout",
    "Connection",
    "ErrorReceived",
    "Event",
    "LateResponse",
    "ProtocolViolation",
    "ResultErrorReceived",
    "ResultInvalid",
    "ResultReceived",
    "Role",
    "Router",
    "SendReceived",
    "UnmatchedResponse",
    "CallResult",
    "CallResultError",
    "Codec",
    "CustomData",
    "Edition",
    "ErrorCode",
    "Frame",
    "LocalProtocolError",
    "MessageInfo",
    "MessageType",
    "OcppError",
    "OcppStruct",
    "PayloadError",
    "Policy",
    "RawPayload",
    "Relaxation",
    "RemoteProtocolError",
    "Request",
    "Response",
    "Send",
    "SendPayload",
    "UnsetType",
    "__version__",
    "decode_payload",
    "edition",
    "encode_payload",
    "parse_error_code",
    "spell_error_code",
]
