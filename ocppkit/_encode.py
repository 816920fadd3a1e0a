"""The exact encoder: a frame object -> its bytes, every rule checked, for both twins.

:func:`encode_frame` never emits an invalid frame: the payload is validated against its schema
(``encode_payload``), it must belong to the codec's version and to the frame's action, the
message id must have 1 to 36 characters, and a CALLERROR needs a known code and, where the
edition bounds it, a short enough description. The C twin's encode fast path accepts only what
it can prove valid and defers everything else here. :func:`encode_error_frame` writes the
replies the exact decoder attaches to its errors.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import Request, Response, SendPayload
from ._codec_common import CodecConfig
from ._payload import encode_payload
from ._wire import ENCODER
from .edition import EDITIONS, Edition
from .errors import ErrorCode, LocalProtocolError, parse_error_code
from .frames import Call, CallError, CallResult, CallResultError, MessageType, Send

__all__ = ["encode_error_frame", "encode_frame"]

_ENC = msgspec.json.Encoder()
_ROLES = {"request": Request, "response": Response, "send": SendPayload}


def _editions_with(message_type: int) -> str:
    return ", ".join(v for v, ed in EDITIONS.items() if message_type in ed.message_types)


def encode_error_frame(
    ed: Edition, type_id: int, unique_id: str, code: ErrorCode | str, description: str, details: dict[str, Any]
) -> bytes:
    """``[4|5, id, code, description, details]`` with the edition's spelling of ``code``."""
    text = ed.spell(code.value) if isinstance(code, ErrorCode) else code
    return b"".join(
        (
            b"[%d," % type_id,  # not str(): an IntEnum's str() names the member before Python 3.11
            _ENC.encode(unique_id),
            b",",
            _ENC.encode(text),
            b",",
            _ENC.encode(description),
            b",",
            _ENC.encode(details),
            b"]",
        )
    )


def encode_frame(cfg: CodecConfig, frame: Any) -> bytes:
    """Encode a frame, validating it: never emits an invalid frame."""
    version = cfg.version
    if isinstance(frame, Call):
        uid = _check_id(frame.unique_id, version)
        body = _payload(frame.payload, version, "request", frame.action)
        return b"".join((b"[2,", uid, b",", ENCODER.encode(frame.action), b",", body, b"]"))
    if isinstance(frame, CallResult):
        uid = _check_id(frame.unique_id, version)
        if isinstance(frame.payload, msgspec.Raw):
            body = _raw_object(frame.payload, version)
        else:
            body = _payload(frame.payload, version, "response", None)
        return b"".join((b"[3,", uid, b",", body, b"]"))
    if isinstance(frame, (CallError, CallResultError)):
        type_id = MessageType.CALLERROR if isinstance(frame, CallError) else MessageType.CALLRESULTERROR
        if type_id not in cfg.types:
            raise _local(version, f"{type_id.name} exists only in OCPP {_editions_with(type_id)}", "messageType")
        _check_id(frame.unique_id, version)
        code = frame.error_code
        parsed = code if isinstance(code, ErrorCode) else parse_error_code(code)
        if parsed is None:
            raise _local(version, f"error_code: {code!r} is not an OCPP error code", "errorCode")
        if not isinstance(frame.error_description, str):
            raise _local(version, "error_description: expected str", "errorDescription")
        limit = cfg.edition.max_description
        if limit is not None and len(frame.error_description) > limit:
            raise _local(version, f"error_description: longer than {limit} characters", "errorDescription")
        if not isinstance(frame.error_details, dict):
            raise _local(version, "error_details: expected a dict (a JSON object)", "errorDetails")
        try:
            return encode_error_frame(
                cfg.edition, type_id, frame.unique_id, parsed, frame.error_description, frame.error_details
            )
        except (TypeError, msgspec.EncodeError) as exc:
            raise _local(version, f"error_details: not JSON-encodable ({exc})", "errorDetails") from None
    if isinstance(frame, Send):
        if not cfg.has_send:
            raise _local(version, f"SEND exists only in OCPP {_editions_with(MessageType.SEND)}", "messageType")
        uid = _check_id(frame.unique_id, version)
        body = _payload(frame.payload, version, "send", frame.action)
        return b"".join((b"[6,", uid, b",", ENCODER.encode(frame.action), b",", body, b"]"))
    raise TypeError(
        f"encode: expected a Call, CallResult, CallError, CallResultError or Send, got {type(frame).__name__}"
    )


def _local(version: str, description: str, rule: str, **details: Any) -> LocalProtocolError:
    return LocalProtocolError(ErrorCode.GENERIC_ERROR, description, {"rule": rule, **details}, version=version)


def _check_id(uid: object, version: str) -> bytes:
    if not isinstance(uid, str) or not 1 <= len(uid) <= 36:
        raise _local(version, "unique_id: expected a string of 1 to 36 characters", "messageId")
    return ENCODER.encode(uid)


def _payload(obj: object, version: str, role: str, action: str | None) -> bytes:
    info = getattr(type(obj), "__ocpp__", None)
    if info is None or not isinstance(obj, _ROLES[role]) or info.role != role:
        raise _local(
            version, f"payload: expected an OCPP {version} {role} payload, got {type(obj).__name__}", "payload"
        )
    if info.version != version:
        raise _local(
            version, f"payload: {type(obj).__name__} is OCPP {info.version}, the codec speaks {version}", "payload"
        )
    if action is not None and info.action != action:
        raise _local(version, f"action: {action!r} does not match the payload's action {info.action!r}", "action")
    return encode_payload(obj)


def _raw_object(raw: msgspec.Raw, version: str) -> bytes:
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise _local(version, "payload: a RawPayload must hold one JSON object", "payload")
    return bytes(raw)
