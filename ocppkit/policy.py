"""Inbound validation policy: strict by default, with per-action and per-field tolerance.

Real chargers send non-conforming messages. A :class:`Policy` relaxes a few rules, for the
whole codec, for one action, or for one field, and every frame accepted thanks to a
relaxation lists what was relaxed in its ``relaxations``, so nothing is altered silently.
Outbound encoding is never relaxed.

This module is the configuration only: what may be relaxed, and where. Applying it to a payload
is the exact decoder's work (``ocppkit/_relax.py``).

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

from ._jsonpath import parent

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

    A policy does not change once built. Two policies with the same settings and overrides are
    equal and hash alike, so connections configured alike share one codec.
    """

    __slots__ = ("_key", "_overrides", "_settings")

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
        # What equality and the hash compare: the settings and overrides, by value.
        self._key = (
            tuple(sorted(self._settings.items())),
            tuple(sorted((k, tuple(sorted(v.items()))) for k, v in self._overrides.items())),
        )

    def setting(self, name: str, action: str, path: str) -> str:
        """The choice for ``name`` at ``path`` of ``action``'s payload."""
        norm = _INDEX.sub("[*]", path)
        for key in (f"{action}:{norm}", f"{action}:{parent(norm)}", action):
            value = self._overrides.get(key, {}).get(name)
            if value is not None:
                return value
        return self._settings[name]

    def is_strict(self) -> bool:
        """True when nothing is relaxed anywhere."""
        everything = [self._settings, *self._overrides.values()]
        return all(v == "reject" for s in everything for v in s.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

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
