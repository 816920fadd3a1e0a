"""The date-time rules msgspec does not check exactly: RFC 3339 text, and leap seconds.

- msgspec accepts ``2024-01-01 10:00:00Z`` (a space) and ``+0100`` (no colon), which RFC 3339
  does not. :func:`datetime_suspect` spots either form cheaply (the C twin has the same rule in
  C, ``ocppkit._codec_c.datetime_suspect``); only then does :func:`check_datetimes` compare
  the decoded date-times with their original text.
- msgspec rejects a leap second (``23:59:60Z``), which RFC 3339 allows. A valid one is read as
  23:59:59.999999 of the same minute (docs/validation.md, *Leap seconds*).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from ._jsonpath import join
from ._msgspec_errors import Fault, FaultError, Kind
from ._wire import ENCODER

__all__ = [
    "Suspect",
    "check_datetimes",
    "clamp_leap_seconds",
    "datetime_suspect",
    "has_datetimes",
    "leap_seconds_clamped",
    "read_leap_seconds_as_59",
]

#: A date-time guard: could these payload bytes hold a date-time msgspec accepts but RFC 3339
#: does not? (:func:`datetime_suspect`, or the C twin's.)
Suspect = Callable[[bytes], bool]

# ------------------------------------------------------------------ RFC 3339 text

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
    """Raise a ``format`` fault for the first date-time of ``obj`` whose text in ``raw`` (the
    same payload decoded untyped) is not RFC 3339."""
    if isinstance(obj, datetime):
        if not (isinstance(raw, str) and _RFC3339.fullmatch(raw)):
            raise FaultError(Fault(Kind.DATETIME, path, message="Invalid RFC3339 encoded datetime"))
    elif isinstance(obj, msgspec.Struct) and isinstance(raw, dict):
        for name, wire in zip(obj.__struct_fields__, obj.__struct_encode_fields__, strict=True):
            if wire in raw:
                check_datetimes(getattr(obj, name), raw[wire], join(path, wire))
    elif isinstance(obj, list) and isinstance(raw, list):
        for i, (o, r) in enumerate(zip(obj, raw, strict=False)):
            check_datetimes(o, r, f"{path}[{i}]")


# ------------------------------------------------------------------ leap seconds
#
# RFC 3339 (5.6, 5.7) allows second 60 in the last minute of a UTC day that ends a month (ITU-R
# TF.460 puts leap seconds at the end of any month, preferably June and December), shifted by
# the offset elsewhere: 2016-12-31T23:59:60Z, 2016-12-31T15:59:60-08:00. No table of the leap
# seconds that really happened is consulted (they are announced six months ahead only). Python
# cannot hold second 60: a valid leap second becomes 23:59:59.999999 of its minute, the last
# instant before the next minute, so it keeps its day and its order with the frames around it.

_LEAP = re.compile(rb'"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):60(?:\.\d+)?([Zz]|[+-]\d\d:\d\d)"', re.ASCII)
_LEAP_TEXT = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):60(?:\.\d+)?([Zz]|[+-]\d\d:\d\d)", re.ASCII)
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


def read_leap_seconds_as_59(data: bytes) -> bytes:
    """``data`` with the second of each valid leap second written 59 (same length, so every other
    verdict of a decode stays the same)."""
    return _LEAP.sub(_read_as_59, data)


def _clamped(value: Any) -> Any:
    """A valid leap second's text -> the same minute's 23:59:59.999999 (other values unchanged)."""
    if isinstance(value, str):
        m = _LEAP_TEXT.fullmatch(value)
        if m is not None and is_leap_second(m.groups()):
            return value[:17] + "59.999999" + m.group(6)
    return value


def clamp_leap_seconds(node: Any, t: Any) -> Any:
    """Clamp the valid leap seconds of the date-time fields of a decoded tree (``t``: its type)."""
    i = msgspec.inspect
    if isinstance(t, i.DateTimeType):
        return _clamped(node)
    if isinstance(t, i.StructType):
        if isinstance(node, dict):
            for f in t.fields:
                if f.encode_name in node:
                    node[f.encode_name] = clamp_leap_seconds(node[f.encode_name], f.type)
    elif isinstance(t, i.ListType):
        if isinstance(node, list):
            return [clamp_leap_seconds(v, t.item_type) for v in node]
    elif isinstance(t, i.UnionType):
        for sub in t.types:
            node = clamp_leap_seconds(node, sub)
    return node


def leap_seconds_clamped(data: bytes, cls: type) -> bytes:
    """``data`` with its valid leap seconds clamped, for the policy's own decoding."""
    try:
        tree = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return data
    return ENCODER.encode(clamp_leap_seconds(tree, msgspec.inspect.type_info(cls)))
