"""What both codec twins share: action tables, limits, the exact (slow) frame analysis, replies.

The twins (``_codec_py`` and the Cython ``_codec_c``) only differ in their fast path, which
accepts a frame when it is well formed and its payload valid. Anything else comes here:
:func:`decode_slow` is the reference decoder, so every error, error code and reply is
produced by this one function, whatever twin is running. The rules are in docs/errors.md.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import msgspec

from ._base import CustomData, OcppStruct, Request, Response, SendPayload
from ._payload import (
    _ENCODER,
    _translate,
    encode_payload,
    typed_decode,
)
from ._salvage import Unreadable, salvage
from .errors import (
    ErrorCode,
    LocalProtocolError,
    OcppError,
    PayloadError,
    RemoteProtocolError,
    parse_error_code,
    spell_error_code,
)
from .frames import Call, CallError, CallResult, CallResultError, Relaxation, Send
from .policy import Policy

__all__ = ["VERSIONS", "CodecConfig", "decode_result_payload", "decode_slow", "encode_error_frame", "encode_frame"]

#: version -> package with the generated classes
VERSIONS = {"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}
_TYPES = {"1.6": frozenset({2, 3, 4}), "2.0.1": frozenset({2, 3, 4}), "2.1": frozenset({2, 3, 4, 5, 6})}

#: Default frame size limit. OCPP sets none; the largest schema-valid 2.x messages in practice
#: (NotifyReport pages, 1024-period profiles, 10 000-character certificate chains) stay far
#: below 1 MiB, while a bound keeps a hostile peer from making us parse arbitrary amounts.
DEFAULT_MAX_FRAME_SIZE = 1 << 20
#: Default nesting limit for the open values of a payload (``customData`` members, 2.x
#: ``DataTransfer.data``), the only places where a schema-valid payload can nest freely.
DEFAULT_MAX_DEPTH = 32


class CodecConfig:
    """Per-codec settings and the action tables of its version (built once)."""

    def __init__(
        self,
        version: str,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
        policy: Policy | None = None,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version: expected one of {', '.join(VERSIONS)}, got {version!r}")
        if not isinstance(max_frame_size, int) or max_frame_size < 64:
            raise ValueError(f"max_frame_size: expected an int >= 64, got {max_frame_size!r}")
        if not isinstance(max_depth, int) or max_depth < 1:
            raise ValueError(f"max_depth: expected an int >= 1, got {max_depth!r}")
        if policy is not None and not isinstance(policy, Policy):
            raise TypeError(f"policy: expected an ocppkit.Policy, got {type(policy).__name__}")
        self.version = version
        self.max_frame_size = max_frame_size
        self.max_depth = max_depth
        self.policy = policy if policy is not None and not policy.is_strict() else None
        self.types = _TYPES[version]
        actions = importlib.import_module(VERSIONS[version]).ACTIONS
        self.requests: dict[str, type[OcppStruct]] = {}
        self.responses: dict[str, type[OcppStruct]] = {}
        self.sends: dict[str, type[OcppStruct]] = {}
        for name, row in actions.items():
            if row.response is None:
                self.sends[name] = row.request
            else:
                self.requests[name] = row.request
                self.responses[name] = row.response
        self.v16 = version == "1.6"


# ------------------------------------------------------------------- replies

_ENC = msgspec.json.Encoder()


def encode_error_frame(
    version: str, type_id: int, unique_id: str, code: ErrorCode | str, description: str, details: dict[str, Any]
) -> bytes:
    """``[4|5, id, code, description, details]`` with the version's spelling of ``code``."""
    text = spell_error_code(code, version) if isinstance(code, ErrorCode) else code
    return b"".join(
        (
            b"[",
            str(type_id).encode(),
            b",",
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
            cfg.version, answer, uid if uid is not None else "-1", code, exc.description, details
        )
    return exc


def _frame_code(cfg: CodecConfig) -> ErrorCode:
    # A broken envelope: 2.x has RpcFrameworkError; 1.6 calls it FormationViolation.
    return ErrorCode.FORMAT_VIOLATION if cfg.v16 else ErrorCode.RPC_FRAMEWORK_ERROR


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


# ------------------------------------------------------------------- decoding


def decode_slow(cfg: CodecConfig, data: bytes, action: str | None) -> Any:
    """Decode one frame with every rule checked; raise the exact OcppError otherwise."""
    if len(data) > cfg.max_frame_size:
        m = _PEEK.match(data, 0, 256)
        type_id = int(m.group(1)) if m else None
        uid = m.group(2).decode() if m else None
        if type_id == 2 or type_id is None:  # a CALL, or unreadable: answer as 2.x asks
            answer = 4 if uid is not None or not cfg.v16 else None
        else:
            answer = None  # responses and SENDs are never answered with a CALLERROR
        raise _fail(
            cfg,
            answer,
            uid,
            _frame_code(cfg),
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
                cfg, None if cfg.v16 else 4, None, _frame_code(cfg), "Frame is not valid JSON", {"rule": "json"}
            ) from None
    if parts is None or len(parts) < 2:
        raise _fail(
            cfg,
            None if cfg.v16 else 4,
            None,
            _frame_code(cfg),
            "Frame is not an array of a message type id and a message id",
            {"rule": "frame"},
        )
    ok_t, type_id = _value(parts[0])
    uid = _echo_id(*_value(parts[1]))
    if not ok_t or not isinstance(type_id, int) or isinstance(type_id, bool):
        raise _fail(
            cfg,
            None if cfg.v16 else 4,
            uid,
            _frame_code(cfg),
            "Message type id is not an integer",
            {"rule": "messageTypeId"},
        )
    if type_id not in cfg.types:
        # 2.0.1 answers MessageTypeNotSupported; 1.6 and 2.1 ignore the message.
        answer = 4 if cfg.version == "2.0.1" else None
        raise _fail(
            cfg,
            answer,
            uid,
            ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED,
            f"Message type {type_id} is not supported",
            {"rule": "messageTypeId"},
        )
    try:
        if not uid:  # unreadable (None), or read but empty
            answer = 4 if type_id == 2 and (uid is not None or not cfg.v16) else None
            raise _fail(
                cfg,
                answer,
                uid,
                _frame_code(cfg),
                "Message id is not a string of 1 to 36 characters",
                {"rule": "messageId"},
            )
        if type_id == 2:
            return _call(cfg, parts, uid)
        if type_id == 3:
            return _call_result(cfg, parts, uid, action)
        if type_id in (4, 5):
            return _call_error(cfg, parts, uid, type_id)
        return _send(cfg, parts, uid)
    except OcppError as exc:
        exc.message_type = type_id
        raise


def _decode_payload(
    cfg: CodecConfig, cls: type[OcppStruct], raw: msgspec.Raw | bytes, action: str
) -> tuple[Any, tuple[Relaxation, ...]]:
    """Typed payload decode with the codec's limits and policy; raises msgspec errors."""
    data = bytes(raw)
    obj, relaxed = typed_decode(data, cls, cfg.policy, action)
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

    def walk(o: Any, path: str) -> None:
        if isinstance(o, CustomData):
            if depth(o.extra) > limit:
                raise msgspec.ValidationError(f"Nesting deeper than {limit} levels - at `{path}`")
        elif isinstance(o, msgspec.Struct):
            for name, wire in zip(o.__struct_fields__, o.__struct_encode_fields__, strict=True):
                value = getattr(o, name)
                if wire == "data" and not isinstance(value, (msgspec.Struct, CustomData)):
                    if depth(value) > limit:
                        raise msgspec.ValidationError(f"Nesting deeper than {limit} levels - at `{path}.data`")
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
        translated = _translate(exc, cfg.version, PayloadError)
        assert isinstance(translated, OcppError)
        err = translated
    if err.details.get("rule") == "json":
        # Malformed JSON inside the payload: the frame as a whole is not JSON.
        err = PayloadError(_frame_code(cfg), "Frame is not valid JSON", err.details, version=cfg.version)
    err.unique_id = uid
    if answer is not None:
        err.reply = encode_error_frame(cfg.version, answer, uid, err.error_code, err.description, err.details)
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
        err.reply = encode_error_frame(cfg.version, answer, uid, err.error_code, err.description, err.details)
    return err


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
        raise _fail(cfg, 4, uid, _frame_code(cfg), "A CALL is [2, id, action, payload]", {"rule": "frame"})
    cls = cfg.requests.get(action)
    if cls is None:
        if action in cfg.sends:
            raise _fail(cfg, 4, uid, ErrorCode.NOT_SUPPORTED, f"{action} is sent as SEND, not CALL", {"rule": "action"})
        raise _fail(cfg, 4, uid, ErrorCode.NOT_IMPLEMENTED, "Unknown action", {"rule": "action"})
    _require_object(cfg, parts[3], 4, uid)
    payload, relaxed = _typed(cfg, cls, parts[3], action, 4, uid)
    return Call(uid, action, payload, relaxed)


def _call_result(cfg: CodecConfig, parts: list[Any], uid: str, action: str | None) -> CallResult[Any]:
    answer = 5 if cfg.version == "2.1" else None  # 2.1 answers an invalid CALLRESULT
    if len(parts) != 3:
        raise _fail(cfg, answer, uid, _frame_code(cfg), "A CALLRESULT is [3, id, payload]", {"rule": "frame"})
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
    name = "CALLERROR" if type_id == 4 else "CALLRESULTERROR"
    for p in parts[2:5]:
        if isinstance(p, Unreadable):  # never answered either; the id lets the caller end its call
            raise _fail(cfg, None, uid, _frame_code(cfg), f"{p.what} in the {name}", {"rule": p.rule})
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
            cfg, None, uid, _frame_code(cfg), "A CALLERROR is [4, id, code, description, details]", {"rule": "frame"}
        )
    cls = CallError if type_id == 4 else CallResultError
    return cls(uid, values[0][1], values[1][1], values[2][1])


def _send(cfg: CodecConfig, parts: list[Any], uid: str) -> Send:
    ok_a, action = _action(parts)
    if len(parts) != 4 or not ok_a or not isinstance(action, str):
        raise _fail(cfg, None, uid, _frame_code(cfg), "A SEND is [6, id, action, payload]", {"rule": "frame"})
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
    payload, relaxed = _typed(cfg, cls, result.payload, action, 5 if cfg.version == "2.1" else None, result.unique_id)
    return CallResult(result.unique_id, payload, relaxed)


# ------------------------------------------------------------------- encoding


def encode_frame(cfg: CodecConfig, frame: Any) -> bytes:
    """Encode a frame, validating it: never emits an invalid frame."""
    if isinstance(frame, Call):
        uid = _check_id(frame.unique_id, cfg.version)
        body = _payload(frame.payload, cfg.version, "request", frame.action)
        return b"".join((b"[2,", uid, b",", _ENCODER.encode(frame.action), b",", body, b"]"))
    if isinstance(frame, CallResult):
        uid = _check_id(frame.unique_id, cfg.version)
        if isinstance(frame.payload, msgspec.Raw):
            body = _raw_object(frame.payload, cfg.version)
        else:
            body = _payload(frame.payload, cfg.version, "response", None)
        return b"".join((b"[3,", uid, b",", body, b"]"))
    if isinstance(frame, (CallError, CallResultError)):
        type_id = 4 if isinstance(frame, CallError) else 5
        if type_id == 5 and cfg.version != "2.1":
            raise _local(cfg.version, "CALLRESULTERROR exists only in OCPP 2.1", "messageType")
        _check_id(frame.unique_id, cfg.version)
        code = frame.error_code
        parsed = code if isinstance(code, ErrorCode) else parse_error_code(code)
        if parsed is None:
            raise _local(cfg.version, f"error_code: {code!r} is not an OCPP error code", "errorCode")
        if not isinstance(frame.error_description, str):
            raise _local(cfg.version, "error_description: expected str", "errorDescription")
        if cfg.version != "1.6" and len(frame.error_description) > 255:
            raise _local(cfg.version, "error_description: longer than 255 characters", "errorDescription")
        if not isinstance(frame.error_details, dict):
            raise _local(cfg.version, "error_details: expected a dict (a JSON object)", "errorDetails")
        try:
            return encode_error_frame(
                cfg.version, type_id, frame.unique_id, parsed, frame.error_description, frame.error_details
            )
        except (TypeError, msgspec.EncodeError) as exc:
            raise _local(cfg.version, f"error_details: not JSON-encodable ({exc})", "errorDetails") from None
    if isinstance(frame, Send):
        if 6 not in cfg.types:
            raise _local(cfg.version, "SEND exists only in OCPP 2.1", "messageType")
        uid = _check_id(frame.unique_id, cfg.version)
        body = _payload(frame.payload, cfg.version, "send", frame.action)
        return b"".join((b"[6,", uid, b",", _ENCODER.encode(frame.action), b",", body, b"]"))
    raise TypeError(
        f"encode: expected a Call, CallResult, CallError, CallResultError or Send, got {type(frame).__name__}"
    )


def _local(version: str, description: str, rule: str, **details: Any) -> LocalProtocolError:
    return LocalProtocolError(ErrorCode.GENERIC_ERROR, description, {"rule": rule, **details}, version=version)


def _check_id(uid: object, version: str) -> bytes:
    if not isinstance(uid, str) or not 1 <= len(uid) <= 36:
        raise _local(version, "unique_id: expected a string of 1 to 36 characters", "messageId")
    return _ENCODER.encode(uid)


def _payload(obj: object, version: str, role: str, action: str | None) -> bytes:
    info = getattr(type(obj), "__ocpp__", None)
    expected = {"request": Request, "response": Response, "send": SendPayload}[role]
    if info is None or not isinstance(obj, expected) or info.role != role:
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
