"""Is this string a valid value of that variable? (data type, limits, value list, length).

A small stand-in with the signature of the catalogue's public ``validate_value``: it answers
None for a valid value, else the reason in words (which rule, which limit).
"""

from __future__ import annotations

import math
import re

from .spec import VariableSpec

__all__ = ["validate_value"]

_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)


def _number(spec: VariableSpec, value: str, integer: bool) -> str | None:
    if not (_INTEGER if integer else _DECIMAL).match(value):
        return "not an integer" if integer else "not a decimal number"
    number = float(value)
    if not math.isfinite(number):
        return "not a finite number"
    if spec.min_limit is not None and number < spec.min_limit:
        return f"below minLimit {spec.min_limit:g}"
    if spec.max_limit is not None and number > spec.max_limit:
        return f"above maxLimit {spec.max_limit:g}"
    return None


def _members(spec: VariableSpec, value: str) -> str | None:
    members = value.split(",") if value else []
    allowed = spec.values_list or ()
    if spec.data_type == "OptionList":
        if len(members) != 1:
            return "an OptionList takes exactly one member"
    elif len(set(members)) != len(members):
        return "a member appears twice"
    for member in members:
        if allowed and member not in allowed:
            return f"{member[:50]!r} is not in the valuesList"
    return None


def validate_value(spec: VariableSpec, value: str) -> str | None:
    """None when ``value`` is a valid value of ``spec``; else why not: the data type
    (integer, decimal, boolean ``true``/``false``, RFC 3339 dateTime), minLimit/maxLimit for
    numbers, the valuesList (OptionList: exactly one member; MemberList and SequenceList: distinct
    members, comma-separated; a string with a valuesList: one of them) and maxLimit as the longest
    length of strings and lists."""
    if not isinstance(value, str):
        return "not a string"
    dt = spec.data_type
    if dt == "integer":
        return _number(spec, value, True)
    if dt == "decimal":
        return _number(spec, value, False)
    if dt == "boolean":
        return None if value in ("true", "false") else "not a boolean (true or false)"
    if dt == "dateTime":
        return None if _DATETIME.match(value) else "not an RFC 3339 date-time"
    if spec.max_limit is not None and len(value) > spec.max_limit:
        return f"longer than maxLimit {spec.max_limit:g}"
    if dt in ("OptionList", "MemberList", "SequenceList"):
        return _members(spec, value)
    if spec.values_list and value not in spec.values_list:
        return f"{value[:50]!r} is not in the valuesList"
    return None
