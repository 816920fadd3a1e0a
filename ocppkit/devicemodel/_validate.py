"""Value validation of the device model: is a string a valid value of a variable with this
:class:`~ocppkit.devicemodel.spec.VariableSpec`? Public as
``ocppkit.devicemodel.config.validate_value``."""

from __future__ import annotations

import re
from datetime import datetime

from .spec import DATA_TYPES, VariableSpec

__all__ = ["limit_text", "validate_value"]

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_STRINGS = ("string", "passwordString")


def limit_text(value: float) -> str:
    """A limit as written in a message: ``3`` rather than ``3.0``."""
    return str(int(value)) if value == int(value) else str(value)


def _members(spec: VariableSpec, value: str) -> str | None:
    """The rule a list value breaks, or None."""
    members = value.split(",") if value else []
    if spec.data_type == "OptionList" and len(members) != 1:
        return f"an OptionList value is exactly one member, got {len(members)}"
    if len(set(members)) != len(members):
        return f"a {spec.data_type} value names a member twice"
    for member in members:
        if not member:
            return f"a {spec.data_type} value has an empty member"
        if spec.values_list is not None and member not in spec.values_list:
            return f"{member!r} is not in the valuesList ({','.join(spec.values_list)})"
    return None


def _datetime(value: str) -> str | None:
    m = _DATETIME.fullmatch(value)
    if not m:
        return "not an RFC 3339 dateTime (YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm))"
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # RFC 3339 allows a leap second :60
    except ValueError as exc:
        return f"not a valid dateTime: {exc}"
    if second > 60:
        return "not a valid dateTime: second must be in 0..60"
    zone = m.group(8)
    if zone not in ("Z", "z") and (int(zone[1:3]) > 23 or int(zone[4:6]) > 59):
        return "not a valid dateTime: bad UTC offset"
    return None


def validate_value(spec: VariableSpec, value: str) -> str | None:
    """Whether ``value`` is a valid value of a variable with this spec: None when it is, else
    the reason, naming the rule it breaks.

    The rules, by dataType: ``integer`` and ``decimal`` are plain decimal numbers (sign allowed,
    no exponent) within minLimit..maxLimit; ``boolean`` is ``true`` or ``false``; ``dateTime``
    is RFC 3339 with a time zone; ``string`` (and 2.1's ``passwordString``) is at most maxLimit
    characters long (at least minLimit when set) and, when the spec has a valuesList, one of
    its members; ``OptionList`` is exactly one member of the valuesList; ``MemberList`` a
    comma-separated subset and ``SequenceList`` an ordered one (no member twice; ``""`` is the
    empty list); for the three list types maxLimit is the longest length of the whole value.
    """
    if not isinstance(value, str):
        return f"a value is a string, not {type(value).__name__}"
    kind = spec.data_type
    if kind not in DATA_TYPES:
        return f"unknown dataType {kind!r} (one of {', '.join(DATA_TYPES)})"
    if kind in ("integer", "decimal"):
        if not (_INTEGER if kind == "integer" else _DECIMAL).fullmatch(value):
            return f"not {'an integer' if kind == 'integer' else 'a decimal'} (dataType {kind}): {value!r}"
        number = float(value)
        if spec.min_limit is not None and number < spec.min_limit:
            return f"{value} is below the minLimit {limit_text(spec.min_limit)}"
        if spec.max_limit is not None and number > spec.max_limit:
            return f"{value} is above the maxLimit {limit_text(spec.max_limit)}"
        return None
    if kind == "boolean":
        return None if value in ("true", "false") else f"a boolean is 'true' or 'false', not {value!r}"
    if kind == "dateTime":
        return _datetime(value)
    if spec.max_limit is not None and len(value) > spec.max_limit:
        return f"{len(value)} characters, longer than the maxLimit {limit_text(spec.max_limit)}"
    if kind in _STRINGS:
        if spec.min_limit is not None and len(value) < spec.min_limit:
            return f"{len(value)} characters, shorter than the minLimit {limit_text(spec.min_limit)}"
        if spec.values_list is not None and value not in spec.values_list:
            return f"{value!r} is not in the valuesList ({','.join(spec.values_list)})"
        return None
    return _members(spec, value)
