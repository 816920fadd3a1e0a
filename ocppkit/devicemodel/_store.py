"""Where a station's device model lives: the :class:`Store` protocol, the memory store, and the
start-up sync that seeds a store from the station's definitions (pure logic, no I/O).

A store holds the variables (their :class:`~ocppkit.devicemodel.VariableSpec`, under their
component) and the value of each attribute with its *source*: ``"config"`` (the initial value
of the definitions), ``"csms"`` (set by a SetVariables/ChangeConfiguration) or ``"station"``
(set by the application through ``DeviceModel.set``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ._validate import validate_value
from .spec import ATTRIBUTE_TYPES, DATA_TYPES, MUTABILITIES, Component, Definition, VariableSpec

__all__ = ["SOURCES", "MemoryStore", "Store", "StoreState", "VariableKey", "sync_state"]

#: Where a value came from: the definitions' initial value, the CSMS, or the application.
SOURCES: tuple[str, ...] = ("config", "csms", "station")

#: A variable's identity: its component, its name and its instance (or None).
VariableKey = tuple[Component, str, "str | None"]


@dataclass
class StoreState:
    """Everything a store holds.

    Attributes:
        specs: each variable's spec, by :data:`VariableKey`.
        values: ``(value, source)`` of each attribute, by ``(VariableKey, attribute type)``.
    """

    specs: dict[VariableKey, VariableSpec] = field(default_factory=dict)
    values: dict[tuple[VariableKey, str], tuple[str, str]] = field(default_factory=dict)


class Store(Protocol):
    """What a device-model store does: :class:`MemoryStore` and :class:`SqliteStore` are two.

    ``load`` gives the whole state; ``replace`` puts a whole state at once (the start-up sync,
    atomically); ``write`` keeps one attribute's value and its source (durably, for a store that
    persists); ``close`` releases it.
    """

    def load(self) -> StoreState:
        """The state held now."""
        ...

    def replace(self, state: StoreState) -> None:
        """Replace everything by ``state``, all or nothing."""
        ...

    def write(self, key: VariableKey, attribute: str, value: str, source: str) -> None:
        """Keep ``value`` (from ``source``) as the ``attribute`` of variable ``key``."""
        ...

    def close(self) -> None:
        """Release the store (a no-op for memory)."""
        ...


class MemoryStore:
    """A device model kept in memory: gone when the process ends (tests, simulators)."""

    def __init__(self) -> None:
        self._state = StoreState()

    def load(self) -> StoreState:
        """A copy of the state held now."""
        return StoreState(dict(self._state.specs), dict(self._state.values))

    def replace(self, state: StoreState) -> None:
        """Replace everything by ``state``."""
        self._state = StoreState(dict(state.specs), dict(state.values))

    def write(self, key: VariableKey, attribute: str, value: str, source: str) -> None:
        """Keep one attribute's value and its source."""
        if key not in self._state.specs:
            raise KeyError(f"no variable {key!r} in this store")
        self._state.values[(key, attribute)] = (value, source)

    def close(self) -> None:
        """Nothing to release."""


def key_of(definition: Definition) -> VariableKey:
    """The :data:`VariableKey` of a definition."""
    return (definition.component, definition.variable.name, definition.variable.instance)


def sync_state(state: StoreState, definitions: Iterable[Definition]) -> StoreState:
    """The start-up sync (libocpp's, OCPP_BEHAVIOUR §3.6): the state a store holds after opening
    with these definitions.

    - a variable defined and not stored is added, with the definitions' initial values;
    - a stored variable takes its definition's spec (a changed spec is updated);
    - a value set by the CSMS or the application (source ``csms``/``station``) is kept over the
      definitions' initial value, as long as the spec is ``persistent`` (opening is a reboot:
      a non-persistent value starts again from the initial value), the value is still valid
      under the (new) spec and the spec still supports its attribute type; otherwise the
      initial value replaces it;
    - a value from ``config`` takes the definitions' current initial value;
    - a stored variable no longer defined is removed, with its values.

    Raises ValueError when a definition's initial value is invalid for its own spec or two
    definitions name the same variable.
    """
    specs: dict[VariableKey, VariableSpec] = {}
    values: dict[tuple[VariableKey, str], tuple[str, str]] = {}
    for d in definitions:
        key = key_of(d)
        if key in specs:
            raise ValueError(f"definitions: {_name(key)} is defined twice")
        spec = d.variable
        _check_wire_limits(key, spec)
        specs[key] = spec
        for attribute, initial in d.values.items():
            if attribute not in spec.attributes:
                raise ValueError(f"definitions: {_name(key)} has a value for {attribute}, not among its attributes")
            problem = validate_value(spec, initial) if initial != "" else None
            if problem is not None:
                raise ValueError(f"definitions: {_name(key)} {attribute} value {initial[:50]!r}: {problem}")
        for attribute in spec.attributes:
            stored = state.values.get((key, attribute))
            if stored is not None and stored[1] != "config" and key in state.specs and spec.persistent:
                if stored[0] == "" or validate_value(spec, stored[0]) is None:
                    values[(key, attribute)] = stored
                    continue
            values[(key, attribute)] = (d.values.get(attribute, ""), "config")
    return StoreState(specs, values)


def _check_wire_limits(key: VariableKey, spec: VariableSpec) -> None:
    """What the schemas bound, checked at start rather than when a report cannot be encoded."""
    component = key[0]
    for what, text, most in (
        ("component name", component.name, 50),
        ("component instance", component.instance, 50),
        ("variable name", spec.name, 50),
        ("variable instance", spec.instance, 50),
        ("unit", spec.unit, 16),
        ("valuesList", ",".join(spec.values_list) if spec.values_list else None, 1000),
    ):
        if text is not None and len(text) > most:
            raise ValueError(f"definitions: {_name(key)}: the {what} is longer than {most} characters (maxLength)")
    for what, value in (("data_type", spec.data_type), ("mutability", spec.mutability)):
        allowed = DATA_TYPES if what == "data_type" else MUTABILITIES
        if value not in allowed:
            raise ValueError(f"definitions: {_name(key)}: {what} {value!r} is not one of {', '.join(allowed)}")
    for attribute in spec.attributes:
        if attribute not in ATTRIBUTE_TYPES:
            raise ValueError(
                f"definitions: {_name(key)}: attribute type {attribute!r} is not one of {', '.join(ATTRIBUTE_TYPES)}"
            )
    if not spec.attributes or len(set(spec.attributes)) != len(spec.attributes):
        raise ValueError(f"definitions: {_name(key)}: attributes must be 1 to 4 distinct attribute types")


def _name(key: VariableKey) -> str:
    component, name, instance = key
    where = component.name
    if component.instance is not None:
        where += f"[{component.instance}]"
    if component.evse_id is not None:
        where += f" evse {component.evse_id}"
        if component.connector_id is not None:
            where += f" connector {component.connector_id}"
    return f"{where}.{name}" + (f"[{instance}]" if instance is not None else "")


describe = _name
