"""Payload decoding and encoding: JSON bytes <-> generated message classes, validated.

The fast path is one ``msgspec`` decode into the generated class, which enforces required
properties, JSON types, lengths, enums, ranges, item counts, ``date-time`` and closed objects
in a single pass. Two schema rules msgspec is more lenient or stricter about get a slow path
that only runs when the fast path cannot be trusted:

- draft-06 schemas (1.6 security, 2.0.1, 2.1) accept ``3.0`` as an ``integer``; msgspec does
  not. On that exact failure the payload is decoded untyped, integral floats are made ints
  (outside open ``customData``/``data`` values) and the tree is validated again.
- msgspec also accepts ``2024-01-01 10:00:00Z`` (space) and ``+0100`` (no colon) date-times,
  which RFC 3339 does not. :func:`datetime_suspect` spots either form cheaply; only then are
  the decoded date-times checked against their original text.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from ._base import CustomData, OcppStruct
from .errors import ErrorCode, LocalProtocolError, PayloadError

__all__ = ["decode_payload", "encode_payload"]

T = TypeVar("T", bound=OcppStruct)


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is CustomData:
        return CustomData.from_wire(obj)
    raise NotImplementedError


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, CustomData):
        return obj.to_wire()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook)
_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {}


def _decoder(cls: type[T]) -> msgspec.json.Decoder[T]:
    dec = _DECODERS.get(cls)
    if dec is None:
        dec = _DECODERS[cls] = msgspec.json.Decoder(cls, dec_hook=_dec_hook)
    return dec


# ---------------------------------------------------------------- error mapping

_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
_C = ErrorCode
# msgspec message -> (rule, OCPP code, our description). Descriptions name the rule and the
# schema's bound, never the peer's value; the path is appended.
_RULES: list[tuple[re.Pattern[str], str, ErrorCode, str]] = [
    (
        re.compile(r"Object missing required field `(?P<f>[^`]*)`"),
        "required",
        _C.OCCURRENCE_CONSTRAINT_VIOLATION,
        "Required property missing",
    ),
    (
        re.compile(r"Object contains unknown field `(?P<f>[^`]*)`"),
        "additionalProperties",
        _C.FORMAT_VIOLATION,
        "Property not defined by the schema",
    ),
    (
        re.compile(r"Expected `array` of length >= (?P<n>\d+)"),
        "minItems",
        _C.OCCURRENCE_CONSTRAINT_VIOLATION,
        "Fewer than {n} items",
    ),
    (
        re.compile(r"Expected `array` of length <= (?P<n>\d+)"),
        "maxItems",
        _C.OCCURRENCE_CONSTRAINT_VIOLATION,
        "More than {n} items",
    ),
    (
        re.compile(r"Expected `str` of length <= (?P<n>\d+)"),
        "maxLength",
        _C.PROPERTY_CONSTRAINT_VIOLATION,
        "Longer than {n} characters",
    ),
    (
        re.compile(r"Expected `(?:int|float)` >= (?P<n>\S+)"),
        "minimum",
        _C.PROPERTY_CONSTRAINT_VIOLATION,
        "Less than the minimum {n}",
    ),
    (
        re.compile(r"Expected `(?:int|float)` <= (?P<n>\S+)"),
        "maximum",
        _C.PROPERTY_CONSTRAINT_VIOLATION,
        "More than the maximum {n}",
    ),
    (re.compile(r"Invalid enum value "), "enum", _C.PROPERTY_CONSTRAINT_VIOLATION, "Not one of the enumerated values"),
    (
        re.compile(r"Invalid RFC3339|Expected `datetime` with a timezone"),
        "format",
        _C.PROPERTY_CONSTRAINT_VIOLATION,
        "Not an RFC 3339 date-time with offset",
    ),
    (
        re.compile(r"Invalid value for `(?P<f>[^`]*)`: expected a multiple of (?P<n>\S+)"),
        "multipleOf",
        _C.PROPERTY_CONSTRAINT_VIOLATION,
        "Not a multiple of {n}",
    ),
    (
        re.compile(r"Invalid value for `(?P<f>[^`]*)`: expected a URI"),
        "format",
        _C.PROPERTY_CONSTRAINT_VIOLATION,
        "Not a URI (RFC 3986)",
    ),
    (
        re.compile(r"Expected `(?P<want>[^`]*)`, got `(?P<got>[^`]*)`"),
        "type",
        _C.TYPE_CONSTRAINT_VIOLATION,
        "Expected {want}, got {got}",
    ),
    # JSON numbers beyond the range of a double (1e999): not representable, so not accepted.
    (re.compile(r"Number out of range"), "range", _C.PROPERTY_CONSTRAINT_VIOLATION, "Number out of range"),
    (re.compile(r"Nesting deeper than (?P<n>\d+)"), "maxDepth", _C.FORMAT_VIOLATION, "Nested deeper than {n} levels"),
]
_IN_FIELD = re.compile(r" in field `(?P<f>[^`]*)`$")
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
#: Paths come from the peer's keys: keep them short in replies.
_MAX_PATH = 200


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f'{path}["{name}"]'


def _translate(
    exc: msgspec.MsgspecError, version: str, error: type[PayloadError] | type[LocalProtocolError]
) -> Exception:
    """msgspec's error -> our error, at this one boundary. Keeps the JSON path, drops values."""
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return error(
            ErrorCode.FORMAT_VIOLATION, "Payload is not valid JSON", {"path": "$", "rule": "json"}, version=version
        )
    m = _PATH.match(str(exc))
    assert m is not None
    # msgspec writes `[...]` for a member of a free-form object: some member, unnamed.
    text, path = m.group("msg"), (m.group("path") or "$").replace("[...]", "[*]")
    f = _IN_FIELD.search(text)
    if f:
        text = text[: f.start()]
        path = _join(path, f.group("f"))
    for pattern, rule, code, template in _RULES:
        hit = pattern.match(text)
        if hit is None:
            continue
        groups = hit.groupdict()
        if groups.get("f") is not None:
            path = _join(path, groups["f"])
        if rule == "type":
            groups = {
                "want": _JSON_TYPES.get(
                    groups["want"], "an enumerated string" if "Enum" in groups["want"] else groups["want"]
                ),
                "got": _JSON_TYPES.get(groups["got"], groups["got"]),
            }
            if path == "$":
                # The payload itself is not a JSON object: a structural fault, not a field's type.
                code = ErrorCode.FORMAT_VIOLATION
        if len(path) > _MAX_PATH:
            path = path[: _MAX_PATH - 1] + "…"
        return error(code, f"{template.format(**groups)} at {path}", {"path": path, "rule": rule}, version=version)
    return error(
        ErrorCode.GENERIC_ERROR,
        f"Invalid payload at {path[:_MAX_PATH]}",
        {"path": path[:_MAX_PATH], "rule": "unknown"},
        version=version,
    )


# ------------------------------------------------------------------ slow paths

_INT_FLOAT = "Expected `int`, got `float`"
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


def integral_floats(data: bytes, cls: type[T]) -> T:
    tree = msgspec.json.decode(data)
    info = cls.__ocpp__  # type: ignore[attr-defined]
    # DataTransfer.data is any JSON value: keep it as sent.
    open_keys = _OPEN_KEYS | {"data"} if info.action == "DataTransfer" else _OPEN_KEYS
    return msgspec.convert(_ints(tree, open_keys), cls, dec_hook=_dec_hook)


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)", re.ASCII)


_HAS_DATETIMES: dict[type, bool] = {}


def has_datetimes(cls: type) -> bool:
    """Whether any date-time field is reachable from ``cls`` (cached per class)."""
    found = _HAS_DATETIMES.get(cls)
    if found is None:
        seen: set[int] = set()

        def walk(t: Any) -> bool:
            if isinstance(t, msgspec.inspect.DateTimeType):
                return True
            if id(t) in seen:
                return False
            seen.add(id(t))
            if isinstance(t, msgspec.inspect.StructType):
                return any(walk(f.type) for f in t.fields)
            if isinstance(t, (msgspec.inspect.ListType, msgspec.inspect.UnionType)):
                return any(walk(x) for x in (t.types if isinstance(t, msgspec.inspect.UnionType) else [t.item_type]))
            return False

        found = _HAS_DATETIMES[cls] = walk(msgspec.inspect.type_info(cls))
    return found


def datetime_suspect(data: bytes) -> bool:
    """Could ``data`` hold a date-time that msgspec accepts but RFC 3339 does not?

    Those are ``2024-01-01 10:00:00Z`` (a space for "T") and ``...:00+0100"`` (no colon in the
    offset). Only the bytes around each space, "+" and "-" are looked at, which keeps this to a
    few ``bytes.find`` calls on a typical payload. A hit only means "check the date-times".
    """
    find = data.find
    i = find(b" ")
    while i != -1:
        if i > 0 and 48 <= data[i - 1] <= 57 and data[i + 1 : i + 3].isdigit() and data[i + 3 : i + 4] == b":":
            return True
        i = find(b" ", i + 1)
    for sign in (b"+", b"-"):
        i = find(sign)
        while i != -1:
            if (
                i > 0
                and 48 <= data[i - 1] <= 57
                and len(digits := data[i + 1 : i + 5]) == 4
                and digits.isdigit()
                and data[i + 5 : i + 6] == b'"'
            ):
                return True
            i = find(sign, i + 1)
    return False


def check_datetimes(obj: Any, raw: Any, path: str) -> None:
    if isinstance(obj, datetime):
        if not (isinstance(raw, str) and _RFC3339.fullmatch(raw)):
            raise msgspec.ValidationError(f"Invalid RFC3339 encoded datetime - at `{path}`")
    elif isinstance(obj, msgspec.Struct) and isinstance(raw, dict):
        for name, wire in zip(obj.__struct_fields__, obj.__struct_encode_fields__, strict=True):
            if wire in raw:
                check_datetimes(getattr(obj, name), raw[wire], _join(path, wire))
    elif isinstance(obj, list) and isinstance(raw, list):
        for i, (o, r) in enumerate(zip(obj, raw, strict=False)):
            check_datetimes(o, r, f"{path}[{i}]")


#: The implementation decode_payload uses: ocppkit.codec swaps in the C twin's when it is built.
_suspect = datetime_suspect

# --------------------------------------------------------------------- public


def typed_decode(data: bytes, cls: type[T], policy: Any = None, action: str = "") -> tuple[T, tuple[Any, ...]]:
    """The one typed payload decode, shared by ``decode_payload`` and both codec twins.

    msgspec's verdict, plus the draft-06 integral floats and the exact RFC 3339 check; on a
    failure the ``policy`` (an :class:`ocppkit.Policy`, if any) may relax it. Returns the object
    and the relaxations it needed; raises msgspec's errors.
    """
    try:
        obj = _decoder(cls).decode(data)
    except msgspec.ValidationError as exc:
        failure: msgspec.ValidationError | None = exc
        if cls.__ocpp__.integral_floats and str(exc).startswith(_INT_FLOAT):  # type: ignore[attr-defined]
            try:
                obj = integral_floats(data, cls)
                failure = None
            except msgspec.ValidationError as exc2:
                failure = exc2
        if failure is not None:
            if policy is None:
                raise failure from None
            from .policy import relax

            return relax(policy, cls, data, action, failure)
    if has_datetimes(cls) and _suspect(data):
        check_datetimes(obj, msgspec.json.decode(data), "$")
    return obj, ()


def decode_payload(data: bytes | str, type: type[T]) -> T:
    """Decode and validate one payload (the JSON object of a frame) into ``type``.

    ``type`` is a generated request or response class, e.g. ``ocppkit.v201.BootNotificationRequest``.
    Raises :class:`ocppkit.PayloadError` naming the JSON path and the rule broken.
    """
    info = type.__ocpp__  # type: ignore[attr-defined]
    try:
        return typed_decode(data.encode() if isinstance(data, str) else data, type)[0]
    except msgspec.MsgspecError as exc:
        raise _translate(exc, info.version, PayloadError) from None
    except (UnicodeError, RecursionError):
        raise PayloadError(
            ErrorCode.FORMAT_VIOLATION, "Payload is not valid JSON", {"path": "$", "rule": "json"}, version=info.version
        ) from None


def encode_payload(obj: OcppStruct, *, validate: bool = True) -> bytes:
    """Encode a generated payload object as compact JSON with the schema's wire names.

    With ``validate`` (the default) the result is checked against the schema first, so a value
    the schema forbids raises :class:`ocppkit.LocalProtocolError` instead of reaching the wire.
    """
    data = _ENCODER.encode(obj)
    if validate:
        cls = obj.__class__
        info = cls.__ocpp__  # type: ignore[attr-defined]
        try:
            _decoder(cls).decode(data)
        except msgspec.ValidationError as exc:
            if not (info.integral_floats and str(exc).startswith(_INT_FLOAT)):
                raise _translate(exc, info.version, LocalProtocolError) from None
    return data
