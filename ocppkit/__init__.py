"""ocppkit: typed, validated, sans-IO OCPP 1.6, 2.0.1 and 2.1.

The message classes live in one package per version, imported on demand::

    from ocppkit.v201 import BootNotificationRequest

``import ocppkit`` alone imports none of them.
"""

from ._base import ActionTypes, CustomData, MessageInfo, OcppStruct, Request, Response, SendPayload
from ._payload import decode_payload, encode_payload
from ._version import __version__
from .errors import (
    ErrorCode,
    LocalProtocolError,
    OcppError,
    PayloadError,
    RemoteProtocolError,
    parse_error_code,
    spell_error_code,
)

__all__ = [
    "ActionTypes",
    "CustomData",
    "ErrorCode",
    "LocalProtocolError",
    "MessageInfo",
    "OcppError",
    "OcppStruct",
    "PayloadError",
    "RemoteProtocolError",
    "Request",
    "Response",
    "SendPayload",
    "__version__",
    "decode_payload",
    "encode_payload",
    "parse_error_code",
    "spell_error_code",
]
