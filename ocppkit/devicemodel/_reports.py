"""Reports of the device model: which variables a GetBaseReport/GetReport selects
(OCPP_BEHAVIOUR §3.4), their ReportData, and the NotifyReport parts paged by seqNo/tbc within
ItemsPerMessage/BytesPerMessage (pure; the caller gives generatedAt)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from ._rules import _unset, component_of, variable_of
from ._store import VariableKey
from .spec import Component, VariableSpec

__all__ = ["CRITERIA", "notify_parts", "report_data", "select_base", "select_report"]

#: The componentCriteria a GetReport may carry.
CRITERIA: tuple[str, ...] = ("Active", "Available", "Enabled", "Problem")
_SUMMARY_FLAGS = ("Problem", "Tripped", "Overload", "Fallback")
_TIERS = ("ChargingStation", "EVSE", "Connector")

Values = Mapping[tuple[VariableKey, str], tuple[str, str]]


def select_base(specs: Mapping[VariableKey, VariableSpec], values: Values, base: str) -> list[VariableKey]:
    """The variables of a GetBaseReport: FullInventory (all), ConfigurationInventory (those the
    operator may set: ReadWrite or WriteOnly), SummaryInventory (AvailabilityState of the
    station, EVSEs and connectors, and Problem/Tripped/Overload/Fallback that are ``true``)."""
    if base == "FullInventory":
        return list(specs)
    if base == "ConfigurationInventory":
        return [k for k, s in specs.items() if s.mutability in ("ReadWrite", "WriteOnly")]
    chosen = []
    for key in specs:
        component, name, _ = key
        if name == "AvailabilityState" and component.name in _TIERS:
            chosen.append(key)
        elif name in _SUMMARY_FLAGS and values.get((key, "Actual"), ("", ""))[0] == "true":
            chosen.append(key)
    return chosen


def _criterion(component: Component, criterion: str, specs: Mapping[VariableKey, VariableSpec], values: Values) -> bool:
    key: VariableKey = (component, criterion, None)
    if key not in specs:
        return criterion == "Enabled"  # Enabled is true when the component does not report it
    return values.get((key, "Actual"), ("", ""))[0] == "true"


def _named(key: VariableKey, wanted: Any) -> bool:
    component, name, instance = key
    if component != component_of(wanted.component):
        return False
    if _unset(wanted.variable):
        return True
    return (name, instance) == variable_of(wanted.variable)


def select_report(
    specs: Mapping[VariableKey, VariableSpec],
    values: Values,
    component_variable: Sequence[Any] | None,
    criteria: Sequence[str] | None,
) -> list[VariableKey]:
    """The variables of a GetReport: those named by ``component_variable`` (a component alone:
    all its variables) and of components meeting one of ``criteria`` (OR); with both, those named
    AND of such a component; with neither, all."""
    keys = list(specs)
    if component_variable:
        keys = [k for k in keys if any(_named(k, w) for w in component_variable)]
    if criteria:
        meets: dict[Component, bool] = {}
        chosen = []
        for key in keys:
            component = key[0]
            if component not in meets:
                meets[component] = any(_criterion(component, c, specs, values) for c in criteria)
            if meets[component]:
                chosen.append(key)
        keys = chosen
    return keys


def _component(m: Any, component: Component) -> Any:
    evse = msgspec.UNSET
    if component.evse_id is not None:
        evse = m.EVSEType(
            id=component.evse_id,
            connector_id=component.connector_id if component.connector_id is not None else msgspec.UNSET,
        )
    instance = component.instance if component.instance is not None else msgspec.UNSET
    return m.ComponentType(name=component.name, instance=instance, evse=evse)


def _opt(value: Any) -> Any:
    return msgspec.UNSET if value is None else value


def report_data(
    m: Any,
    specs: Mapping[VariableKey, VariableSpec],
    values: Values,
    keys: Sequence[VariableKey],
    value_size: int = 2500,
) -> list[Any]:
    """The ReportData of ``keys``: every supported attribute (unset ones as ``""``; a WriteOnly
    variable's values never; values cut to ``value_size``, the ReportingValueSize), with its
    mutability/persistent/constant, and the characteristics."""
    data_types = {e.value for e in m.DataEnumType}
    out = []
    for key in keys:
        spec = specs[key]
        attributes = [
            m.VariableAttributeType(
                type=m.AttributeEnumType(attribute),
                value=msgspec.UNSET
                if spec.mutability == "WriteOnly"
                else values.get((key, attribute), ("", ""))[0][:value_size],
                mutability=m.MutabilityEnumType(spec.mutability),
                persistent=spec.persistent,
                constant=spec.constant,
            )
            for attribute in spec.attributes
        ]
        characteristics = m.VariableCharacteristicsType(
            unit=_opt(spec.unit),
            data_type=m.DataEnumType(spec.data_type if spec.data_type in data_types else "string"),
            min_limit=_opt(spec.min_limit),
            max_limit=_opt(spec.max_limit),
            values_list=",".join(spec.values_list) if spec.values_list else msgspec.UNSET,
            supports_monitoring=spec.supports_monitoring,
        )
        variable = m.VariableType(name=key[1], instance=_opt(key[2]))
        out.append(
            m.ReportDataType(
                component=_component(m, key[0]),
                variable=variable,
                variable_attribute=attributes,
                variable_characteristics=characteristics,
            )
        )
    return out


def notify_parts(
    m: Any,
    request_id: int,
    generated_at: dt.datetime,
    data: Sequence[Any],
    max_items: int | None,
    max_bytes: int | None,
    encode: Any,
) -> list[Any]:
    """NotifyReport requests carrying ``data`` in order: seqNo 0, 1, ...; ``tbc`` true on all
    but the last; each part at most ``max_items`` entries and at most ``max_bytes`` bytes of
    encoded payload (``encode(request)`` gives those bytes). An entry too big for a part of its
    own still goes, alone (never dropped)."""
    sizes = [len(msgspec.json.encode(item)) for item in data]
    parts: list[list[Any]] = []
    current: list[Any] = []
    used = 0
    base = 0
    for item, size in zip(data, sizes, strict=True):
        if not current:
            seq = len(parts)
            empty = m.NotifyReportRequest(
                request_id=request_id, generated_at=generated_at, seq_no=seq, tbc=False, report_data=[]
            )
            base = len(encode(empty))
            used = base
        grow = size + (1 if current else 0)
        full = (max_items is not None and len(current) >= max_items) or (
            max_bytes is not None and current and used + grow > max_bytes
        )
        if full:
            parts.append(current)
            seq = len(parts)
            empty = m.NotifyReportRequest(
                request_id=request_id, generated_at=generated_at, seq_no=seq, tbc=False, report_data=[]
            )
            base = len(encode(empty))
            current, used, grow = [], base, size
        current.append(item)
        used += grow
    if current:
        parts.append(current)
    return [
        m.NotifyReportRequest(
            request_id=request_id,
            generated_at=generated_at,
            seq_no=seq,
            tbc=seq < len(parts) - 1,
            report_data=part,
        )
        for seq, part in enumerate(parts)
    ]
