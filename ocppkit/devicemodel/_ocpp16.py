"""OCPP 1.6 configuration keys as variables of the device model: GetConfiguration and
ChangeConfiguration on the same store (pure logic; the model calls it).

A key resolves, in this order, to
1. the variable its :class:`ConfigKey` ``maps_to`` names, when the model has it
   (``HeartbeatInterval`` -> ``OCPPCommCtrlr.HeartbeatInterval``), else
2. the variable named as the key of the component :data:`KEYS_COMPONENT` (``OCPP16``, where
   the configuration file puts them), the home of every 1.6 key without a 2.x counterpart and of
   vendor keys.

A key that resolves to nothing is unknown (``unknownKey``; ChangeConfiguration ``NotSupported``).
The :class:`ConfigKey`'s own spec, when given, decides its 1.6 readonly flag and validates a
ChangeConfiguration value (1.6 types differ from 2.x ones: a 1.6 CSL is a 2.x MemberList);
without one the model variable's spec does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ._store import VariableKey
from .spec import Component, VariableSpec
from .standard import KEYS_COMPONENT as _standard_keys_component

__all__ = ["KEYS_COMPONENT", "ConfigKey", "MapsTo", "key_table", "resolve"]

#: The component holding the 1.6 keys that map to no 2.x variable.
KEYS_COMPONENT = Component(_standard_keys_component)

#: A 2.x variable a 1.6 key stands for: (component name, variable name, variable instance).
MapsTo = tuple[str, str, "str | None"]


@dataclass(frozen=True)
class ConfigKey:
    """One 1.6 configuration key: its name, its 1.6 characteristics, and the 2.x variable it
    stands for.

    Attributes:
        key: the key (``"HeartbeatInterval"``), at most 50 characters.
        spec: its 1.6 type, limits and mutability (``ReadOnly`` = readonly; ``WriteOnly`` = never
            reported, like ``AuthorizationKey``), or None to use the model variable's spec.
        maps_to: the 2.x variable it is (``("OCPPCommCtrlr", "HeartbeatInterval", None)``), or
            None: the key is the variable of that name of :data:`KEYS_COMPONENT`.
    """

    key: str
    spec: VariableSpec | None = None
    maps_to: MapsTo | None = None


def key_table(
    keys: Iterable[ConfigKey] | Mapping[str, tuple[VariableSpec | None, MapsTo | None]] | None,
) -> dict[str, ConfigKey]:
    """The key table from ConfigKey records or a ``{key: (spec, maps_to)}`` mapping."""
    if keys is None:
        return {}
    if isinstance(keys, Mapping):
        return {k: ConfigKey(k, spec, maps) for k, (spec, maps) in keys.items()}
    table = {}
    for entry in keys:
        if not isinstance(entry, ConfigKey):
            raise TypeError(f"keys: expected ConfigKey records, got {type(entry).__name__}")
        table[entry.key] = entry
    return table


def resolve(
    key: str, table: Mapping[str, ConfigKey], find: Callable[[str, str, str | None], VariableKey | None]
) -> VariableKey | None:
    """The model variable of 1.6 ``key``, or None (``find(component, variable, instance)`` looks
    one up by component name)."""
    entry = table.get(key)
    if entry is not None and entry.maps_to is not None:
        found = find(*entry.maps_to)
        if found is not None:
            return found
    return find(KEYS_COMPONENT.name, key, None)


def all_keys(table: Mapping[str, ConfigKey], keys_of_component: Iterable[str]) -> list[str]:
    """Every key the model answers for: those of the table, then the other variables of
    :data:`KEYS_COMPONENT`, in order, each once."""
    seen = dict.fromkeys(table)
    seen.update(dict.fromkeys(keys_of_component))
    return list(seen)
