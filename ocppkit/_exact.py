"""The exact decoder: the specification of decoding, every rule checked.

Both codec twins (``_codec_py`` and the Cython ``_codec_c``) have a fast path that accepts a
frame only when it is a well-formed frame with a valid payload; every other frame, and every
frame of a codec with a lenient policy, comes here. :func:`decode_exact` is therefore the
reference: every error, error code and reply is produced by this one function, whatever twin
runs, and a fast path may only ever agree with it (tests/test_codec_parity.py, fuzz/).

The rules, in the order they are checked (docs/errors.md has the table):

1. the frame's size (``max_frame_size``): larger frames are refused unread;
2. the envelope: a JSON array (a frame msgspec refuses but whose id can still be read is
   salvaged: ``_salvage``), a message type id the edition defines, a message id of 1 to 36
   characters;
3. per message type, the element count and types, the action, and the payload: the exact
   payload decode ``_payload.typed_decode`` (msgspec, draft-06 integral floats, RFC 3339
   date-times and leap seconds, the codec's policy), then the depth of open values.

What differs between OCPP versions is read from the codec's edition (``cfg.edition``); the
running twin's helpers come in through ``cfg`` (``cfg.suspect``). A failure's reply, if the
edition asks for one, is written by ``_encode.encode_error_frame``.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from ._base import CustomData, OcppStruct
from ._codec_common import CodecConfig
from ._encode import encode_error_frame
from ._msgspec_errors import Fault, FaultError, Kind, classify
from ._payload import payload_error, typed_decode
from ._salvage import Unreadable, salvage
from .errors import ErrorCode, LocalProtocolError, OcppError, PayloadError, RemoteProtocolError
from .frames import Call, CallError, CallResult, CallResultError, MessageType, Relaxation, Send

__all__ = ["decode_exact", "decode_result_payload"]

CALL, CALLRESULT, CALLERROR = MessageType.CALL, MessageType.CALLRESULT, MessageType.CALLERROR
CALLRESULTERROR, SEND = MessageType.CALLRESULTERROR, MessageType.SEND


def _fail(
    cfg: CodecConfig,
    answer: int | None,
    uid: str | None,
    code: ErrorCode,
    description: str,
    details: dict[str, Any],
    cls: type[OcppError] = RemoteProtocolError,
) -> OcppError:
    """The error to raise; ``answer`` is the frame type to reply with (4, 5) or None for silence."""
    exc = cls(code, description, details, version=cfg.version, unique_id=uid)
    if answer is not None:
        exc.reply = encode_error_frame(
            cfg.edition, answer, uid if uid is not None else "-1", code, exc.description, details
        )
    return exc


def _unreadable_answer(cfg: CodecConfig) -> int | None:
    """A CALLERROR with id "-1" where the edition answers frames whose id cannot be read."""
    return CALLERROR if cfg.edition.answers_unreadable else None


_LIST_RAW = msgspec.json.Decoder(list[msgspec.Raw])
_ANY = msgspec.json.Decoder()
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def _value(raw: msgspec.Raw | Unreadable) -> tuple[bool, Any]:
    if isinstance(raw, Unreadable):
        return False, None
    try:
        return True, _ANY.decode(raw)
    except _DECODE_ERRORS:
        return False, None


def _echo_id(ok: bool, value: Any) -> str | None:
    """The message id a reply may echo: any string the peer sent of at most 36 characters, even
    the empty one (it was read; ``"-1"`` is for ids that cannot be read or sent back)."""
    return value if ok and isinstance(value, str) and len(value) <= 36 else None


_PEEK = re.compile(rb'[ \t\n\r]*\[[ \t\n\r]*([0-9]+)[ \t\n\r]*,[ \t\n\r]*"([\x20\x21\x23-\x5b\x5d-\x7e]{0,36})"')


# ------------------------------------------------------------------- the envelope


def decode_exact(cfg: CodecConfig, data: bytes, action: str | None) -> Any:
    """Decode one frame with every rule checked; raise the exact OcppError otherwise."""
    if len(data) > cfg.max_frame_size:
        m = _PEEK.match(data, 0, 256)
        type_id = int(m.group(1)) if m else None
        uid = m.group(2).decode() if m else None
        if type_id == CALL or type_id is None:  # a CALL, or unreadable: answer as 2.x asks
            answer = CALLERROR if uid is not None else _unreadable_answer(cfg)
        else:
            answer = None  # responses and SENDs are never answered with a CALLERROR
        raise _fail(
            cfg,
            answer,
            uid,
            cfg.frame_error,
            "Frame exceeds the size limit",
            {"rule": "maxFrameSize", "limit": cfg.max_frame_size},
        )
    parts: list[Any] | None
    try:
        parts = _LIST_RAW.decode(data)
    except msgspec.ValidationError:
        parts = None  # valid JSON, but not an array
    except _DECODE_ERRORS as exc:
        # Well-formed JSON that holds a lone surrogate or nests too deeply still has a readable
        # id; anything else is not JSON, and nothing in it can be read.
        parts = salvage(data, exc)
        if parts is None:
            raise _fail(
                cfg, _unreadable_answer(cfg), None, cfg.frame_error, "Frame is not valid JSON", {"rule": "json"}
            ) from None
    if parts is None or len(parts) < 2:
        raise _fail(
            cfg,
            _unreadable_answer(cfg),
            None,
            cfg.frame_error,
            "Frame is not an array of a message type id and a message id",
            {"rule": "frame"},
        )
    ok_t, type_id = _value(parts[0])
    uid = _echo_id(*_value(parts[1]))
    if not ok_t or not isinstance(type_id, int) or isinstance(type_id, bool):
        raise _fail(
            cfg,
            _unreadable_answer(cfg),
            uid,
            cfg.frame_error,
            "Message type id is not an integer",
            {"rule": "messageTypeId"},
        )
    if type_id not in cfg.types:
        # The edition's answer (2.0.1 MessageTypeNotSupported), or silence (1.6 and 2.1 ignore it).
        code = cfg.edition.unknown_message_type
        raise _fail(
            cfg,
            CALLERROR if code is not None else None,
            uid,
            ErrorCode(code) if code is not None else ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
            f"Message type {type_id} is not supported",
            {"rule": "messageTypeId"},
        )
    try:
        if not uid:  # unreadable (None), or read but empty
            answer = None
            if type_id == CALL:
                answer = CALLERROR if uid is not None else _unreadable_answer(cfg)
            raise _fail(
                cfg,
                answer,
                uid,
                cfg.frame_error,
                "Message id is not a string of 1 to 36 characters",
                {"rule": "messageId"},
            )
        if type_id == CALL:
            return _call(cfg, parts, uid)
        if type_id == CALLRESULT:
            return _call_result(cfg, parts, uid, action)
        if type_id == CALLERROR or type_id == CALLRESULTERROR:
            return _call_error(cfg, parts, uid, type_id)
        return _send(cfg, parts, uid)
    except OcppError as exc:
        exc.message_type = type_id
        raise


# ------------------------------------------------------------------- payloads


def _decode_payload(
    cfg: CodecConfig, cls: type[OcppStruct], raw: msgspec.Raw | bytes, action: str
) -> tuple[Any, tuple[Relaxation, ...]]:
    """Typed payload decode with the codec's limits, policy and helpers; raises msgspec errors."""
    data = bytes(raw)
    obj, relaxed = typed_decode(data, cls, cfg.policy, action, cfg.suspect)
    if b'"customData"' in data or action == "DataTransfer":
        _check_depth(obj, cfg.max_depth)
    return obj, relaxed


def _check_depth(obj: Any, limit: int) -> None:
    def depth(v: Any) -> int:
        if isinstance(v, dict):
            return 1 + max(map(depth, v.values()), default=0)
        if isinstance(v, list):
            return 1 + max(map(depth, v), default=0)
        return 0

    def too_deep(path: str) -> FaultError:
        return FaultError(Fault(Kind.DEPTH, path, bound=str(limit), message=f"Nesting deeper than {limit} levels"))

    def walk(o: Any, path: str) -> None:
        if isinstance(o, CustomData):
            if depth(o.extra) > limit:
                raise too_deep(path)
        elif isinstance(o, msgspec.Struct):
            for name, wire in zip(o.__struct_fields__, o.__struct_encode_fields__, strict=True):
                value = getattr(o, name)
                if wire == "data" and not isinstance(value, (msgspec.Struct, CustomData)):
                    if depth(value) > limit:
                        raise too_deep(f"{path}.data")
                else:
                    walk(value, f"{path}.{wire}")
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, f"{path}[{i}]")

    walk(obj, "$")


def _payload_fail(cfg: CodecConfig, exc: Exception, answer: int | None, uid: str) -> OcppError:
    if isinstance(exc, RecursionError):
        err: OcppError = PayloadError(
            ErrorCode.FORMAT_VIOLATION,
            "Nested too deeply at $",
            {"path": "$", "rule": "maxDepth"},
            version=cfg.version,
        )
    elif isinstance(exc, UnicodeDecodeError):
        err = PayloadError(
            ErrorCode.FORMAT_VIOLATION, "Not valid UTF-8 at $", {"path": "$", "rule": "unicode"}, version=cfg.version
        )
    else:
        assert isinstance(exc, msgspec.MsgspecError)
        err = payload_error(classify(exc), cfg.version, PayloadError)
    if err.details.get("rule") == "json":
        # Malformed JSON inside the payload: the frame as a whole is not JSON.
        err = PayloadError(cfg.frame_error, "Frame is not valid JSON", err.details, version=cfg.version)
    err.unique_id = uid
    if answer is not None:
        err.reply = encode_error_frame(cfg.edition, answer, uid, err.error_code, err.description, err.details)
    return err


def _require_object(cfg: CodecConfig, raw: msgspec.Raw | Unreadable, answer: int | None, uid: str) -> None:
    if isinstance(raw, Unreadable):
        ok = raw.is_object
    else:
        try:
            ok = isinstance(_ANY.decode(raw), dict)
        except UnicodeDecodeError:  # raw bytes that are not UTF-8, inside a string
            if bytes(raw)[:1] == b"{":
                bad = Unreadable("unicode", True, what="Not valid UTF-8")
                raise _unreadable_payload(cfg, bad, answer, uid) from None
            ok = False
        except _DECODE_ERRORS:
            ok = False
    if not ok:
        raise _fail(
            cfg,
            answer,
            uid,
            ErrorCode.FORMAT_VIOLATION,
            "Payload is not a JSON object",
            {"path": "$", "rule": "type"},
            PayloadError,
        )


def _typed(
    cfg: CodecConfig, cls: type[OcppStruct], raw: msgspec.Raw | Unreadable, action: str, answer: int | None, uid: str
) -> tuple[Any, tuple[Relaxation, ...]]:
    """Decode a payload of a readable frame, or raise the error with the reply ``answer`` asks for."""
    if isinstance(raw, Unreadable):
        raise _unreadable_payload(cfg, raw, answer, uid)
    try:
        return _decode_payload(cfg, cls, raw, action)
    except (*_DECODE_ERRORS, msgspec.MsgspecError) as exc:
        raise _payload_fail(cfg, exc, answer, uid) from None


def _unreadable_payload(cfg: CodecConfig, bad: Unreadable, answer: int | None, uid: str) -> OcppError:
    err = PayloadError(
        ErrorCode.FORMAT_VIOLATION,
        f"{bad.what} at {bad.path}",
        {"path": bad.path, "rule": bad.rule},
        version=cfg.version,
        unique_id=uid,
    )
    if answer is not None:
        err.reply = encode_error_frame(cfg.edition, answer, uid, err.error_code, err.description, err.details)
    return err


# ------------------------------------------------------------------- the message types


def _action(parts: list[Any]) -> tuple[bool, Any]:
    """(readable, value) of a CALL's or SEND's action; a string that is not Unicode names no action."""
    if len(parts) < 3:
        return False, None
    raw = parts[2]
    if isinstance(raw, Unreadable):
        return (True, "") if raw.rule == "unicode" else (False, None)
    try:
        return True, _ANY.decode(raw)
    except UnicodeDecodeError:
        return (True, "") if bytes(raw)[:1] == b'"' else (False, None)
    except _DECODE_ERRORS:
        return False, None


def _call(cfg: CodecConfig, parts: list[Any], uid: str) -> Call:
    ok_a, action = _action(parts)
    if len(parts) != 4 or not ok_a or not isinstance(action, str):
        raise _fail(cfg, CALLERROR, uid, cfg.frame_error, "A CALL is [2, id, action, payload]", {"rule": "frame"})
    cls = cfg.requests.get(action)
    if cls is None:
        if action in cfg.sends:
            raise _fail(
                cfg, CALLERROR, uid, ErrorCode.NOT_SUPPORTED, f"{action} is sent as SEND, not CALL", {"rule": "action"}
            )
        raise _fail(cfg, CALLERROR, uid, ErrorCode.NOT_IMPLEMENTED, "Unknown action", {"rule": "action"})
    _require_object(cfg, parts[3], CALLERROR, uid)
    payload, relaxed = _typed(cfg, cls, parts[3], action, CALLERROR, uid)
    return Call(uid, action, payload, relaxed)


def _call_result(cfg: CodecConfig, parts: list[Any], uid: str, action: str | None) -> CallResult[Any]:
    answer = cfg.edition.result_error_type  # 2.1 answers an invalid CALLRESULT
    if len(parts) != 3:
        raise _fail(cfg, answer, uid, cfg.frame_error, "A CALLRESULT is [3, id, payload]", {"rule": "frame"})
    _require_object(cfg, parts[2], answer, uid)
    if isinstance(parts[2], Unreadable):
        raise _unreadable_payload(cfg, parts[2], answer, uid)
    if action is None:
        return CallResult(uid, msgspec.Raw(bytes(parts[2])))
    cls = _response_class(cfg, action)
    payload, relaxed = _typed(cfg, cls, parts[2], action, answer, uid)
    return CallResult(uid, payload, relaxed)


def _response_class(cfg: CodecConfig, action: str) -> type[OcppStruct]:
    cls = cfg.responses.get(action)
    if cls is None:
        raise LocalProtocolError(
            ErrorCode.GENERIC_ERROR,
            f"action: {action!r} has no response in OCPP {cfg.version}",
            {"rule": "action"},
            version=cfg.version,
        )
    return cls


def _call_error(cfg: CodecConfig, parts: list[Any], uid: str, type_id: int) -> CallError | CallResultError:
    name = "CALLERROR" if type_id == CALLERROR else "CALLRESULTERROR"
    for p in parts[2:5]:
        if isinstance(p, Unreadable):  # never answered either; the id lets the caller end its call
            raise _fail(cfg, None, uid, cfg.frame_error, f"{p.what} in the {name}", {"rule": p.rule})
    values = [_value(p) for p in parts[2:]]
    if (
        len(parts) != 5
        or not all(ok for ok, _ in values)
        or not isinstance(values[0][1], str)
        or not isinstance(values[1][1], str)
        or not isinstance(values[2][1], dict)
    ):
        # Never answered: a CALLERROR (or CALLRESULTERROR) only ever follows our own message.
        raise _fail(
            cfg, None, uid, cfg.frame_error, "A CALLERROR is [4, id, code, description, details]", {"rule": "frame"}
        )
    cls = CallError if type_id == CALLERROR else CallResultError
    return cls(uid, values[0][1], values[1][1], values[2][1])


def _send(cfg: CodecConfig, parts: list[Any], uid: str) -> Send:
    ok_a, action = _action(parts)
    if len(parts) != 4 or not ok_a or not isinstance(action, str):
        raise _fail(cfg, None, uid, cfg.frame_error, "A SEND is [6, id, action, payload]", {"rule": "frame"})
    cls = cfg.sends.get(action)
    if cls is None:
        code = ErrorCode.NOT_SUPPORTED if action in cfg.requests else ErrorCode.NOT_IMPLEMENTED
        raise _fail(cfg, None, uid, code, "Action is not a SEND action", {"rule": "action"})
    _require_object(cfg, parts[3], None, uid)
    payload, relaxed = _typed(cfg, cls, parts[3], action, None, uid)  # a SEND is never answered
    return Send(uid, action, payload, relaxed)


def decode_result_payload(cfg: CodecConfig, result: CallResult[Any], action: str) -> CallResult[Any]:
    """Type a CALLRESULT decoded without ``action=``."""
    if not isinstance(result, CallResult) or not isinstance(result.payload, msgspec.Raw):
        raise TypeError("decode_result: expected a CallResult whose payload is a RawPayload")
    cls = _response_class(cfg, action)
    payload, relaxed = _typed(cfg, cls, result.payload, action, cfg.edition.result_error_type, result.unique_id)
    return CallResult(result.unique_id, payload, relaxed)
