"""Inbound validation policy: strict by default, with per-action and per-field tolerance.

Real chargers send non-conforming messages. A :class:`Policy` relaxes a few rules, for the
whole codec, for one action, or for one field, and every frame accepted thanks to a
relaxation lists what was relaxed in its ``relaxations``, so nothing is altered silently.
Outbound encoding is never relaxed.

.. code-block:: python

    policy = ocppkit.Policy(
        unknown_properties="drop",
        overrides={
            "StatusNotification": {"unknown_enum_values": "accept"},
            "MeterValues:$.meterValue[*].sampledValue[*].value": {"overlong_strings": "accept"},
        },
    )
    codec = ocppkit.Codec("1.6", policy=policy)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from .frames import Relaxation

__all__ = ["Policy"]

_SETTINGS: dict[str, tuple[str, ...]] = {
    # an object member the schema does not define
    "unknown_properties": ("reject", "drop", "keep"),
    # a string longer than its maxLength
    "overlong_strings": ("reject", "accept", "truncate"),
    # a string that is not one of its enumeration's values
    "unknown_enum_values": ("reject", "accept"),
    # a date-time without a UTC offset
    "naive_datetimes": ("reject", "utc"),
}


class Policy:
    """Which schema rules to relax on decoding, and where.

    Each setting's first choice (``reject``) is the strict default.

    Parameters:
        unknown_properties: ``reject``; ``drop`` removes the member, ``keep`` removes it from the
            typed payload but returns it (value included) in the frame's ``relaxations``.
        overlong_strings: ``reject``; ``accept`` keeps the whole string, ``truncate`` cuts it
            to maxLength.
        unknown_enum_values: ``reject``; ``accept`` keeps the string as it came (a plain ``str``
            where the enum member would be).
        naive_datetimes: ``reject``; ``utc`` reads a date-time without offset as UTC.
        overrides: maps ``"Action"`` or ``"Action:<JSON path>"`` (``[*]`` matches any index) to
            settings that apply there; a field's override wins over its action's, which wins
            over the codec-wide value. For ``unknown_properties`` the path is that of the
            unknown member or of the object holding it.
    """

    __slots__ = ("_overrides", "_settings")

    def __init__(
        self,
        *,
        unknown_properties: str = "reject",
        overlong_strings: str = "reject",
        unknown_enum_values: str = "reject",
        naive_datetimes: str = "reject",
        overrides: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._settings = _checked(
            {
                "unknown_properties": unknown_properties,
                "overlong_strings": overlong_strings,
                "unknown_enum_values": unknown_enum_values,
                "naive_datetimes": naive_datetimes,
            },
            "Policy",
        )
        self._overrides: dict[str, dict[str, str]] = {}
        for key, settings in (overrides or {}).items():
            if not isinstance(key, str) or not key or key.startswith(":"):
                raise ValueError(f"Policy.overrides: keys are 'Action' or 'Action:$.path', got {key!r}")
            if ":" in key and not key.split(":", 1)[1].startswith("$"):
                raise ValueError(f"Policy.overrides[{key!r}]: the path must start with '$'")
            self._overrides[key] = _checked(dict(settings), f"Policy.overrides[{key!r}]")

    def setting(self, name: str, action: str, path: str) -> str:
        """The choice for ``name`` at ``path`` of ``action``'s payload."""
        norm = _INDEX.sub("[*]", path)
        for key in (f"{action}:{norm}", f"{action}:{_parent(norm)}", action):
            value = self._overrides.get(key, {}).get(name)
            if value is not None:
                return value
        return self._settings[name]

    def is_strict(self) -> bool:
        """True when nothing is relaxed anywhere."""
        everything = [self._settings, *self._overrides.values()]
        return all(v == "reject" for s in everything for v in s.values())

    def __repr__(self) -> str:
        loose = {k: v for k, v in self._settings.items() if v != "reject"}
        return f"Policy({loose}, overrides={self._overrides})"


def _checked(settings: dict[str, str], where: str) -> dict[str, str]:
    for name, value in settings.items():
        if name not in _SETTINGS:
            raise ValueError(f"{where}: unknown setting {name!r}; expected one of {sorted(_SETTINGS)}")
        if value not in _SETTINGS[name]:
            raise ValueError(f"{where}: {name} must be one of {_SETTINGS[name]}, got {value!r}")
    return settings


_INDEX = re.compile(r"\[\d+\]")
_STEP = re.compile(r'\.([^.\[]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')
_AT = re.compile(r"^(?P<msg>.*?) - at `(?P<path>[^`]*)`$", re.S)


def _parent(path: str) -> str:
    steps = list(_STEP.finditer(path))
    return path[: steps[-1].start()] if steps else path


def _steps(path: str) -> list[str | int]:
    out: list[str | int] = []
    for m in _STEP.finditer(path[1:]):
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)) if m.group(2) is not None else m.group(3))
    return out


def _node(tree: Any, steps: list[str | int]) -> Any:
    for s in steps:
        tree = tree[s]
    return tree


def _type_at(cls: type, steps: list[str | int]) -> Any:
    # msgspec.inspect leaves UNSET out of optional fields, so no unions appear here.
    t: Any = msgspec.inspect.type_info(cls)
    for s in steps:
        t = t.item_type if isinstance(s, int) else next(f.type for f in t.fields if f.encode_name == s)
    return t


def _set_back(obj: Any, steps: list[str | int], value: Any) -> None:
    for s in steps[:-1]:
        obj = obj[s] if isinstance(s, int) else getattr(obj, _attr(obj, s))
    last = steps[-1]
    if isinstance(last, int):
        obj[last] = value
    else:
        setattr(obj, _attr(obj, last), value)


def _attr(obj: Any, wire: str) -> str:
    return str(obj.__struct_fields__[obj.__struct_encode_fields__.index(wire)])


def relax(
    policy: Policy,
    cls: type,
    data: bytes,
    action: str,
    first: msgspec.ValidationError,
) -> tuple[Any, tuple[Relaxation, ...]]:
    """Decode ``data`` into ``cls`` applying the policy; re-raise the first error it does not cover."""
    from ._payload import _dec_hook, check_datetimes, datetime_suspect

    try:
        tree = msgspec.json.decode(data)
    except msgspec.DecodeError:
        raise first from None
    relaxed: list[Relaxation] = []
    restore: list[tuple[list[str | int], Any]] = []
    draft6 = cls.__ocpp__.integral_floats  # type: ignore[attr-defined]
    obj: Any = None
    for _ in range(256):
        try:
            obj = msgspec.convert(tree, cls, dec_hook=_dec_hook)
            break
        except msgspec.ValidationError as exc:
            m = _AT.match(str(exc))
            msg, path = (m.group("msg"), m.group("path")) if m else (str(exc), "$")
            steps = _steps(path)
            if msg.startswith("Object contains unknown field `"):
                name = msg[len("Object contains unknown field `") : -1]
                full = f"{path}.{name}"
                choice = policy.setting("unknown_properties", action, full)
                if choice == "reject":
                    raise exc from None
                value = _node(tree, steps).pop(name)
                relaxed.append(
                    Relaxation(
                        full,
                        "additionalProperties",
                        "dropped" if choice == "drop" else "kept",
                        value if choice == "keep" else None,
                    )
                )
            elif msg.startswith("Expected `str` of length <= "):
                choice = policy.setting("overlong_strings", action, path)
                if choice == "reject":
                    raise exc from None
                limit = int(msg[len("Expected `str` of length <= ") :])
                parent, original = _node(tree, steps[:-1]), _node(tree, steps)
                parent[steps[-1]] = original[:limit]
                if choice == "accept":
                    restore.append((steps, original))
                relaxed.append(
                    Relaxation(path, "maxLength", "accepted" if choice == "accept" else "truncated", original)
                )
            elif msg.startswith("Invalid enum value "):
                if policy.setting("unknown_enum_values", action, path) == "reject":
                    raise exc from None
                enum_cls = _type_at(cls, steps).cls
                parent, original = _node(tree, steps[:-1]), _node(tree, steps)
                parent[steps[-1]] = next(iter(enum_cls)).value
                restore.append((steps, original))
                relaxed.append(Relaxation(path, "enum", "accepted", original))
            elif msg.startswith("Expected `datetime` with a timezone component"):
                if policy.setting("naive_datetimes", action, path) == "reject":
                    raise exc from None
                parent, original = _node(tree, steps[:-1]), _node(tree, steps)
                parent[steps[-1]] = original + "Z"
                relaxed.append(Relaxation(path, "format", "assumed UTC", original))
            elif draft6 and msg.startswith("Expected `int`, got `float`"):
                parent, value = _node(tree, steps[:-1]), _node(tree, steps)
                if not (isinstance(value, float) and value.is_integer()):
                    raise exc from None
                parent[steps[-1]] = int(value)  # valid in draft-06: not a relaxation
            else:
                raise exc from None
    else:
        raise first
    for steps, value in restore:
        _set_back(obj, steps, value)
    if datetime_suspect(data):
        check_datetimes(obj, tree, "$")
    return obj, tuple(relaxed)
