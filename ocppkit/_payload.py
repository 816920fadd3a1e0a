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
- msgspec rejects a leap second (``23:59:60Z``), which RFC 3339 allows. On that failure a
  valid leap second is read as 23:59:59.999999 of the same minute (docs/validation.md).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec

from ._base import CustomData, OcppStruct
from ._jsonpath import MAX_PATH as _MAX_PATH
from ._jsonpath import join as _join
from ._salvage import lone_surrogate_path
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


# ------------------------------------------------------------ leap seconds
#
# RFC 3339 (5.6, 5.7) allows second 60 in the last minute of a UTC day that ends a month (ITU-R
# TF.460 puts leap seconds at the end of any month, preferably June and December), shifted by
# the offset elsewhere: 2016-12-31T23:59:60Z, 2016-12-31T15:59:60-08:00. No table of the leap
# seconds that really happened is consulted (they are announced six months ahead only). Python
# cannot hold second 60: a valid leap second becomes 23:59:59.999999 of its minute, the last
# instant before the next minute, so it keeps its day and its order with the frames around it.

_LEAP = re.compile(rb'"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):60(?:\.\d+)?([Zz]|[+-]\d\d:\d\d)"', re.ASCII)
_LEAP_TEXT = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):60(?:\.\d+)?([Zz]|[+-]\d\d:\d\d)", re.ASCII)
_BAD_DATETIME = "Invalid RFC3339 encoded datetime"
_DAY = timedelta(days=1)


def is_leap_second(groups: tuple[Any, ...]) -> bool:
    """Whether (year, month, day, hour, minute, offset) of a ``...:60`` date-time is a leap second
    RFC 3339 allows: 23:59 UTC on the last day of a month."""
    try:
        y, mo, d, hh, mm = (int(g) for g in groups[:5])
        off = groups[5]
        offset = 0
        if off not in ("Z", "z", b"Z", b"z"):
            oh, om = int(off[1:3]), int(off[4:6])
            if oh > 23 or om > 59:
                return False
            offset = (oh * 60 + om) * (-1 if off[:1] in ("-", b"-") else 1)
        utc = datetime(y, mo, d, hh, mm) - timedelta(minutes=offset)
        return utc.hour == 23 and utc.minute == 59 and (utc + _DAY).day == 1
    except (ValueError, OverflowError):
        return False


def _read_as_59(m: re.Match[bytes]) -> bytes:
    text = m.group(0)
    return text[:18] + b"59" + text[20:] if is_leap_second(m.groups()) else text


def _clamped(value: Any) -> Any:
    """A valid leap second's text -> the same minute's 23:59:59.999999 (other values unchanged)."""
    if isinstance(value, str):
        m = _LEAP_TEXT.fullmatch(value)
        if m is not None and is_leap_second(m.groups()):
            return value[:17] + "59.999999" + m.group(6)
    return value


def _clamp_leap_seconds(node: Any, t: Any) -> Any:
    """Clamp the valid leap seconds of the date-time fields of a decoded tree (``t``: its type)."""
    i = msgspec.inspect
    if isinstance(t, i.DateTimeType):
        return _clamped(node)
    if isinstance(t, i.StructType):
        if isinstance(node, dict):
            for f in t.fields:
                if f.encode_name in node:
                    node[f.encode_name] = _clamp_leap_seconds(node[f.encode_name], f.type)
    elif isinstance(t, i.ListType):
        if isinstance(node, list):
            return [_clamp_leap_seconds(v, t.item_type) for v in node]
    elif isinstance(t, i.UnionType):
        for sub in t.types:
            node = _clamp_leap_seconds(node, sub)
    return node


def _second_pass(data: bytes, cls: type[T], floats: bool, leap: bool) -> T:
    """Decode what msgspec alone refuses but the schema allows: draft-06 integral floats
    (``floats``) and RFC 3339 leap seconds (``leap``). Raises msgspec's errors."""
    if leap:
        # Every other rule, on every occurrence of a duplicated key, checked by msgspec with the
        # valid leap seconds read as second 59 (same length, so no other verdict changes).
        checked = _LEAP.sub(_read_as_59, data)
        if checked == data:
            leap = False  # no valid leap second: the original error stands
        try:
            _decoder(cls).decode(checked)
        except msgspec.ValidationError as exc:
            if not (floats and str(exc).startswith(_INT_FLOAT)):
                raise
    tree = msgspec.json.decode(data)
    if floats:
        # DataTransfer.data is any JSON value: keep it as sent.
        open_keys = _OPEN_KEYS | {"data"} if cls.__ocpp__.action == "DataTransfer" else _OPEN_KEYS  # type: ignore[attr-defined]
        tree = _ints(tree, open_keys)
    if leap:
        tree = _clamp_leap_seconds(tree, msgspec.inspect.type_info(cls))
    return msgspec.convert(tree, cls, dec_hook=_dec_hook)


def _leap_seconds_clamped(data: bytes, cls: type) -> bytes:
    """``data`` with its valid leap seconds clamped, for the policy's own decoding."""
    try:
        tree = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return data
    return _ENCODER.encode(_clamp_leap_seconds(tree, msgspec.inspect.type_info(cls)))


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
        text = str(exc)
        floats: bool = cls.__ocpp__.integral_floats  # type: ignore[attr-defined]
        leap = b":60" in data
        if (floats and text.startswith(_INT_FLOAT)) or (leap and text.startswith(_BAD_DATETIME)):
            try:
                obj = _second_pass(data, cls, floats, leap)
                failure = None
            except msgspec.ValidationError as exc2:
                failure = exc2
        if failure is not None:
            if policy is None:
                raise failure from None
            from .policy import relax

            return relax(policy, cls, _leap_seconds_clamped(data, cls) if leap else data, action, failure)
    if has_datetimes(cls) and _suspect(data):
        check_datetimes(obj, msgspec.json.decode(data), "$")
    return obj, ()


def decode_payload(data: bytes | str, type: type[T]) -> T:
    """Decode and validate one payload (the JSON object of a frame) into ``type``.

    ``type`` is a generated request or response class, e.g. ``ocppkit.v201.BootNotificationRequest``.
    Raises :class:`ocppkit.PayloadError` naming the JSON path and the rule broken.
    """
    info = type.__ocpp__  # type: ignore[attr-defined]
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        return typed_decode(raw, type)[0]
    except msgspec.MsgspecError as exc:
        path = lone_surrogate_path(raw) if not isinstance(exc, msgspec.ValidationError) else None
        if path is None:
            raise _translate(exc, info.version, PayloadError) from None
        what, rule = f"Lone surrogate (not a Unicode character) at {path}", "unicode"
    except UnicodeError:
        what, rule, path = "Not valid UTF-8 at $", "unicode", "$"
    except RecursionError:
        what, rule, path = "Nested too deeply at $", "maxDepth", "$"
    raise PayloadError(ErrorCode.FORMAT_VIOLATION, what, {"path": path, "rule": rule}, version=info.version)


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
