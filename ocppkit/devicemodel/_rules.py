"""The per-entry status of a GetVariables/SetVariables entry, decided in the order of
OCPP_BEHAVIOUR §3.3 (pure functions over the model's index; no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from typing import Any

from msgspec import UNSET

from ._store import VariableKey
from .spec import Component, VariableSpec

__all__ = ["component_of", "get_status", "set_status"]

Validate = Callable[[VariableSpec, str], "str | None"]


def component_of(wire: Any) -> Component:
    """The :class:`Component` a wire ``ComponentType`` names."""
    evse = wire.evse
    evse_id = connector_id = None
    if not _unset(evse):
        evse_id = evse.id
        connector_id = None if _unset(evse.connector_id) else evse.connector_id
    instance = None if _unset(wire.instance) else wire.instance
    return Component(wire.name, instance, evse_id, connector_id)


def variable_of(wire: Any) -> tuple[str, str | None]:
    """The (name, instance) a wire ``VariableType`` names."""
    return wire.name, None if _unset(wire.instance) else wire.instance


def _unset(value: Any) -> bool:
    return value is UNSET or value is None


def _find(
    components: Container[Component], specs: Mapping[VariableKey, VariableSpec], entry: Any
) -> tuple[str, VariableKey | None, str]:
    """(status so far, key, attribute): UnknownComponent, UnknownVariable,
    NotSupportedAttributeType, or "" when the entry names a supported attribute."""
    component = component_of(entry.component)
    attribute = (
        "Actual" if _unset(entry.attribute_type) else str(getattr(entry.attribute_type, "value", entry.attribute_type))
    )
    if component not in components:
        return "UnknownComponent", None, attribute
    name, instance = variable_of(entry.variable)
    key: VariableKey = (component, name, instance)
    spec = specs.get(key)
    if spec is None:
        return "UnknownVariable", None, attribute
    if attribute not in spec.attributes:
        return "NotSupportedAttributeType", key, attribute
    return "", key, attribute


def get_status(
    components: Container[Component], specs: Mapping[VariableKey, VariableSpec], entry: Any
) -> tuple[str, VariableKey | None, str, str | None]:
    """(status, key, attribute, reason) of one GetVariableData entry."""
    status, key, attribute = _find(components, specs, entry)
    if status:
        return status, key, attribute, None
    assert key is not None
    if specs[key].mutability == "WriteOnly":
        return "Rejected", key, attribute, "WriteOnly"
    return "Accepted", key, attribute, None


def set_status(
    components: Container[Component],
    specs: Mapping[VariableKey, VariableSpec],
    entry: Any,
    validate: Validate,
    value_size: int | None,
) -> tuple[str, VariableKey | None, str, str | None]:
    """(status, key, attribute, reason) of one SetVariableData entry; ``reason`` words a
    Rejected value (the rule broken)."""
    status, key, attribute = _find(components, specs, entry)
    if status:
        return status, key, attribute, None
    assert key is not None
    spec = specs[key]
    if spec.mutability == "ReadOnly":
        return "Rejected", key, attribute, "ReadOnly"
    value: str = entry.attribute_value
    if value_size is not None and len(value) > value_size:
        return "Rejected", key, attribute, f"longer than ConfigurationValueSize {value_size}"
    problem = validate(spec, value)
    if problem is not None:
        return "Rejected", key, attribute, problem
    return ("RebootRequired" if spec.reboot_required else "Accepted"), key, attribute, None
