"""Payloads: JSON bytes <-> generated message classes, validated; and the OCPP error for a fault.

:func:`typed_decode` is the exact payload decode, the one every payload goes through when a
twin's fast path did not accept its frame (and the one ``ocppkit.decode_payload`` runs). It is
one ``msgspec`` decode into the generated class, which enforces required properties, JSON
types, lengths, enums, ranges, item counts, ``date-time`` and closed objects in a single pass;
three schema rules msgspec is more lenient or stricter about get a second look that only runs
when the first verdict cannot be trusted:

- draft-06 schemas (1.6 security, 2.0.1, 2.1) accept ``3.0`` as an ``integer``; msgspec does
  not. On that exact failure the payload is decoded untyped, integral floats are made ints
  (outside open ``customData``/``data`` values) and the tree is validated again.
- msgspec also accepts ``2024-01-01 10:00:00Z`` (space) and ``+0100`` (no colon) date-times,
  which RFC 3339 does not; and it rejects a valid leap second. See ``ocppkit/_datetimes.py``.
- a failure a lenient :class:`~ocppkit.Policy` covers is relaxed (``ocppkit/_relax.py``).

:func:`payload_error` turns a fault (``ocppkit/_msgspec_errors.py``) into the OCPP error of
docs/errors.md: its code, its description (the rule and the schema's bound, never the peer's
value) and its details (path and rule).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import msgspec

from ._base import OcppStruct
from ._datetimes import (
    Suspect,
    check_datetimes,
    clamp_leap_seconds,
    datetime_suspect,
    has_datetimes,
    leap_seconds_clamped,
    read_leap_seconds_as_59,
)
from ._jsonpath import MAX_PATH, clip
from ._msgspec_errors import Fault, Kind, classify
from ._relax import relax
from ._salvage import lone_surrogate_path
from ._wire import ENCODER, dec_hook, decoder
from .errors import ErrorCode, LocalProtocolError, PayloadError
from .policy import Policy

__all__ = ["PayloadDecoder", "encode_payload", "payload_decoder", "payload_error", "typed_decode"]

T = TypeVar("T", bound=OcppStruct)

# ---------------------------------------------------------------- error mapping

_C = ErrorCode
# Fault kind -> (OCPP code, description); ``{n}`` is the schema's bound, ``{want}``/``{got}`` JSON
# type names. The path is appended.
_ERRORS: dict[str, tuple[ErrorCode, str]] = {
    Kind.REQUIRED: (_C.OCCURRENCE_CONSTRAINT_VIOLATION, "Required property missing"),
    Kind.UNKNOWN_FIELD: (_C.FORMAT_VIOLATION, "Property not defined by the schema"),
    Kind.MIN_ITEMS: (_C.OCCURRENCE_CONSTRAINT_VIOLATION, "Fewer than {n} items"),
    Kind.MAX_ITEMS: (_C.OCCURRENCE_CONSTRAINT_VIOLATION, "More than {n} items"),
    Kind.MAX_LENGTH: (_C.PROPERTY_CONSTRAINT_VIOLATION, "Longer than {n} characters"),
    Kind.MINIMUM: (_C.PROPERTY_CONSTRAINT_VIOLATION, "Less than the minimum {n}"),
    Kind.MAXIMUM: (_C.PROPERTY_CONSTRAINT_VIOLATION, "More than the maximum {n}"),
    Kind.ENUM: (_C.PROPERTY_CONSTRAINT_VIOLATION, "Not one of the enumerated values"),
    Kind.DATETIME: (_C.PROPERTY_CONSTRAINT_VIOLATION, "Not an RFC 3339 date-time with offset"),
    Kind.NAIVE_DATETIME: (_C.PROPERTY_CONSTRAINT_VIOLATION, "Not an RFC 3339 date-time with offset"),
    Kind.MULTIPLE_OF: (_C.PROPERTY_CONSTRAINT_VIOLATION, "Not a multiple of {n}"),
    Kind.URI: (_C.PROPERTY_CONSTRAINT_VIOLATION, "Not a URI (RFC 3986)"),
    Kind.INT_FLOAT: (_C.TYPE_CONSTRAINT_VIOLATION, "Expected {want}, got {got}"),
    Kind.TYPE: (_C.TYPE_CONSTRAINT_VIOLATION, "Expected {want}, got {got}"),
    # JSON numbers beyond the range of a double (1e999): not representable, so not accepted.
    Kind.RANGE: (_C.PROPERTY_CONSTRAINT_VIOLATION, "Number out of range"),
    Kind.DEPTH: (_C.FORMAT_VIOLATION, "Nested deeper than {n} levels"),
}
_JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "object": "object",
    "array": "array",
    "null": "null",
    "datetime": "date-time string",
}


def _json_type(name: str | None) -> str:
    name = name or ""
    return _JSON_TYPES.get(name, "an enumerated string" if "Enum" in name else name)


def payload_error(
    fault: Fault, version: str, error: type[PayloadError] | type[LocalProtocolError]
) -> PayloadError | LocalProtocolError:
    """The OCPP error (of class ``error``) that ``fault`` is, in ``version``'s spelling."""
    if fault.kind == Kind.JSON:
        return error(
            ErrorCode.FORMAT_VIOLATION, "Payload is not valid JSON", {"path": "$", "rule": "json"}, version=version
        )
    found = _ERRORS.get(fault.kind)
    if found is None:
        path = fault.path[:MAX_PATH]
        return error(
            ErrorCode.GENERIC_ERROR, f"Invalid payload at {path}", {"path": path, "rule": "unknown"}, version=version
        )
    code, template = found
    if fault.rule == "type" and fault.path == "$":
        # The payload itself is not a JSON object: a structural fault, not a field's type.
        code = ErrorCode.FORMAT_VIOLATION
    text = template.format(n=fault.bound, want=_json_type(fault.want), got=_json_type(fault.got))
    path = clip(fault.path)
    return error(code, f"{text} at {path}", {"path": path, "rule": fault.rule}, version=version)


# ------------------------------------------------------------------ the exact decode

_OPEN_KEYS = frozenset({"customData"})


def _ints(node: Any, open_keys: frozenset[str]) -> Any:
    """Integral floats -> ints, leaving open (any-valued) members untouched."""
    if isinstance(node, float) and node.is_integer():
        return int(node)
    if isinstance(node, list):
        return [_ints(v, open_keys) for v in node]
    if isinstance(node, dict):
        return {k: (v if k in open_keys else _ints(v, open_keys)) for k, v in node.items()}
    return node


def _second_pass(data: bytes, cls: type[T], floats: bool, leap: bool) -> T:
    """Decode what msgspec alone refuses but the schema allows: draft-06 integral floats
    (``floats``) and RFC 3339 leap seconds (``leap``). Raises msgspec's errors."""
    if leap:
        # Every other rule, on every occurrence of a duplicated key, checked by msgspec with the
        # valid leap seconds read as second 59 (same length, so no other verdict changes).
        checked = read_leap_seconds_as_59(data)
        if checked == data:
            leap = False  # no valid leap second: the original error stands
        try:
            decoder(cls).decode(checked)
        except msgspec.ValidationError as exc:
            if not (floats and classify(exc).kind == Kind.INT_FLOAT):
                raise
    tree = msgspec.json.decode(data)
    if floats:
        # DataTransfer.data is any JSON value: keep it as sent.
        open_keys = _OPEN_KEYS | {"data"} if cls.__ocpp__.action == "DataTransfer" else _OPEN_KEYS  # type: ignore[attr-defined]
        tree = _ints(tree, open_keys)
    if leap:
        tree = clamp_leap_seconds(tree, msgspec.inspect.type_info(cls))
    return msgspec.convert(tree, cls, dec_hook=dec_hook)


def typed_decode(
    data: bytes, cls: type[T], policy: Policy | None = None, action: str = "", suspect: Suspect = datetime_suspect
) -> tuple[T, tuple[Any, ...]]:
    """The exact payload decode, shared by ``decode_payload`` and both codec twins.

    msgspec's verdict, plus the draft-06 integral floats and the exact RFC 3339 check (``suspect``
    is the date-time guard of the running twin); on a failure the ``policy`` (if any) may relax
    it. Returns the object and the relaxations it needed; raises msgspec's errors.
    """
    try:
        obj = decoder(cls).decode(data)
    except msgspec.ValidationError as exc:
        failure: msgspec.ValidationError | None = exc
        kind = classify(exc).kind
        floats: bool = cls.__ocpp__.integral_floats  # type: ignore[attr-defined]
        leap = b":60" in data
        if (floats and kind == Kind.INT_FLOAT) or (leap and kind == Kind.DATETIME):
            try:
                obj = _second_pass(data, cls, floats, leap)
                failure = None
            except msgspec.ValidationError as exc2:
                failure = exc2
        if failure is not None:
            if policy is None:
                raise failure from None
            return relax(policy, cls, leap_seconds_clamped(data, cls) if leap else data, action, failure, suspect)
    if has_datetimes(cls) and suspect(data):
        check_datetimes(obj, msgspec.json.decode(data), "$")
    return obj, ()


class PayloadDecoder(Protocol):
    """The type of ``ocppkit.decode_payload``: ``(data, type) -> an instance of type``."""

    def __call__(self, data: bytes | str, type: type[T]) -> T: ...


def payload_decoder(suspect: Suspect) -> PayloadDecoder:
    """``ocppkit.decode_payload`` around the date-time guard ``suspect`` (``ocppkit.codec`` builds
    the public one with the running twin's)."""

    def decode_payload(data: bytes | str, type: type[T]) -> T:
        """Decode and validate one payload (the JSON object of a frame) into ``type``.

        ``type`` is a generated request or response class, e.g. ``ocppkit.v201.BootNotificationRequest``.
        Raises :class:`ocppkit.PayloadError` naming the JSON path and the rule broken.
        """
        info = type.__ocpp__  # type: ignore[attr-defined]
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        try:
            return typed_decode(raw, type, None, "", suspect)[0]
        except msgspec.MsgspecError as exc:
            path = lone_surrogate_path(raw) if not isinstance(exc, msgspec.ValidationError) else None
            if path is None:
                raise payload_error(classify(exc), info.version, PayloadError) from None
            what, rule = f"Lone surrogate (not a Unicode character) at {path}", "unicode"
        except UnicodeError:
            what, rule, path = "Not valid UTF-8 at $", "unicode", "$"
        except RecursionError:
            what, rule, path = "Nested too deeply at $", "maxDepth", "$"
        raise PayloadError(ErrorCode.FORMAT_VIOLATION, what, {"path": path, "rule": rule}, version=info.version)

    decode_payload.__qualname__ = "decode_payload"
    return decode_payload


# ------------------------------------------------------------------ encoding


def encode_payload(obj: OcppStruct, *, validate: bool = True) -> bytes:
    """Encode a generated payload object as compact JSON with the schema's wire names.

    With ``validate`` (the default) the result is checked against the schema first, so a value
    the schema forbids raises :class:`ocppkit.LocalProtocolError` instead of reaching the wire.
    """
    cls = obj.__class__
    info = getattr(cls, "__ocpp__", None)
    if info is None:
        raise TypeError(
            f"obj: expected a generated <Action>Request/<Action>Response (or SEND) payload, got {cls.__name__}"
        )
    data = ENCODER.encode(obj)
    if validate:
        try:
            decoder(cls).decode(data)
        except msgspec.ValidationError as exc:
            fault = classify(exc)
            if not (info.integral_floats and fault.kind == Kind.INT_FLOAT):
                raise payload_error(fault, info.version, LocalProtocolError) from None
    return data
