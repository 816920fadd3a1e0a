"""The wire side of :mod:`ocppkit.devicemodel.mirror`: records <-> the generated 2.0.1/2.1 types,
and the request builders (GetVariables, SetVariables, GetBaseReport, GetReport).

Everything here takes the version's message module (``ocppkit.v201`` or ``ocppkit.v21``) as an
argument, so that importing the mirror imports neither package.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from msgspec import UNSET

from .spec import ATTRIBUTE_TYPES, Component

__all__ = [
    "MIRROR_VERSIONS",
    "REPORT_BASES",
    "GetEntry",
    "SetEntry",
    "VariableName",
    "VariableRef",
    "as_component",
    "component_type",
    "from_component_type",
    "message_module",
    "variable_key",
]

#: The OCPP versions that have a device model.
MIRROR_VERSIONS: tuple[str, ...] = ("2.0.1", "2.1")
#: OCPP ReportBaseEnumType.
REPORT_BASES: tuple[str, ...] = ("ConfigurationInventory", "FullInventory", "SummaryInventory")

_PACKAGES = {"2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}


@dataclass(frozen=True, order=True)
class VariableRef:
    """A variable of a component, as a mirror names it. ``str()`` of it reads
    ``Component[instance]@evse.connector.Variable[instance]`` (the parts that are set), e.g.
    ``OCPPCommCtrlr.MessageTimeout[Default]`` or ``Connector@1.2.AvailabilityState``.

    Attributes:
        component: the :class:`~ocppkit.devicemodel.Component` it belongs to.
        variable: the variable name (``"HeartbeatInterval"``).
        instance: the variable instance (``"Default"`` for ``MessageTimeout[Default]``), or None.
    """

    component: Component
    variable: str
    instance: str | None = None

    def __str__(self) -> str:
        where = self.component.name
        if self.component.instance is not None:
            where += f"[{self.component.instance}]"
        if self.component.evse_id is not None:
            where += f"@{self.component.evse_id}"
            if self.component.connector_id is not None:
                where += f".{self.component.connector_id}"
        name = self.variable if self.instance is None else f"{self.variable}[{self.instance}]"
        return f"{where}.{name}"


#: A variable: its name, or (name, instance).
VariableName = str | tuple[str, str | None]
#: What ``get_variables_request`` takes per entry: a :class:`VariableRef` (attribute Actual), or
#: ``(component, variable)`` / ``(component, variable, attribute)``; a component is a
#: :class:`Component` or a bare name.
GetEntry = VariableRef | tuple[Component | str, VariableName] | tuple[Component | str, VariableName, str]
#: What ``set_variables_request`` takes per entry: ``(component, variable, value)`` or
#: ``(component, variable, value, attribute)``.
SetEntry = tuple[Component | str, VariableName, str] | tuple[Component | str, VariableName, str, str]


def message_module(version: str) -> Any:
    """The generated package of ``version`` (2.0.1 or 2.1), imported on demand."""
    package = _PACKAGES.get(version)
    if package is None:
        raise ValueError(f"version: the device model exists in OCPP {' and '.join(MIRROR_VERSIONS)}, not {version!r}")
    return importlib.import_module(package)


def as_component(value: object, where: str) -> Component:
    """A :class:`Component` from a Component or a bare name."""
    if isinstance(value, Component):
        if not value.name:
            raise ValueError(f"{where}: a component needs a name")
        if value.connector_id is not None and value.evse_id is None:
            raise ValueError(f"{where}: component {value.name!r} has a connector_id but no evse_id")
        return value
    if isinstance(value, str) and value:
        return Component(value)
    raise ValueError(f"{where}: expected a Component or a component name, got {value!r}")


def variable_key(value: object, where: str) -> tuple[str, str | None]:
    """(name, instance) from a name or a (name, instance) pair."""
    if isinstance(value, str) and value:
        return value, None
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and value[0]
        and (value[1] is None or isinstance(value[1], str))
    ):
        return value[0], value[1]
    raise ValueError(f"{where}: expected a variable name or a (name, instance) pair, got {value!r}")


def check_attribute(value: object, where: str) -> str:
    if value not in ATTRIBUTE_TYPES:
        raise ValueError(f"{where}: expected an attribute type ({', '.join(ATTRIBUTE_TYPES)}), got {value!r}")
    return str(value)


def component_type(m: Any, c: Component) -> Any:
    """The wire ComponentType of ``c``."""
    evse: Any = UNSET
    if c.evse_id is not None:
        evse = m.EVSEType(id=c.evse_id, connector_id=UNSET if c.connector_id is None else c.connector_id)
    return m.ComponentType(name=c.name, instance=UNSET if c.instance is None else c.instance, evse=evse)


def from_component_type(ct: Any) -> Component:
    """The :class:`Component` of a wire ComponentType."""
    evse_id = connector_id = None
    if ct.evse is not UNSET:
        evse_id = ct.evse.id
        connector_id = None if ct.evse.connector_id is UNSET else ct.evse.connector_id
    return Component(ct.name, None if ct.instance is UNSET else ct.instance, evse_id, connector_id)


def ref_of(component: Any, variable: Any) -> VariableRef:
    """The :class:`VariableRef` of a wire (ComponentType, VariableType) pair."""
    return VariableRef(
        from_component_type(component), variable.name, None if variable.instance is UNSET else variable.instance
    )


def attribute_of(value: Any) -> str:
    """An attributeType as its string (absent: Actual)."""
    return "Actual" if value is UNSET else str(getattr(value, "value", value))


def _variable_type(m: Any, name: str, instance: str | None) -> Any:
    return m.VariableType(name=name, instance=UNSET if instance is None else instance)


def get_variables_request(m: Any, entries: Sequence[GetEntry]) -> Any:
    """A GetVariablesRequest asking for ``entries`` (see :data:`GetEntry`)."""
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence) or not entries:
        raise ValueError("entries: expected a non-empty sequence of (component, variable[, attribute]) entries")
    data = []
    seen: set[tuple[VariableRef, str]] = set()
    for i, entry in enumerate(entries):
        where = f"entries[{i}]"
        if isinstance(entry, VariableRef):
            ref, attribute = entry, "Actual"
        elif isinstance(entry, tuple) and len(entry) in (2, 3):
            name, instance = variable_key(entry[1], f"{where}: variable")
            ref = VariableRef(as_component(entry[0], f"{where}: component"), name, instance)
            attribute = check_attribute(entry[2], f"{where}: attribute") if len(entry) == 3 else "Actual"
        else:
            raise ValueError(f"{where}: expected a VariableRef or (component, variable[, attribute]), got {entry!r}")
        if (ref, attribute) in seen:
            raise ValueError(f"{where}: {ref} ({attribute}) is asked for twice")
        seen.add((ref, attribute))
        data.append(
            m.GetVariableDataType(
                component=component_type(m, ref.component),
                variable=_variable_type(m, ref.variable, ref.instance),
                attribute_type=m.AttributeEnumType(attribute),
            )
        )
    return m.GetVariablesRequest(get_variable_data=data)


def set_variables_request(m: Any, entries: Sequence[SetEntry]) -> Any:
    """A SetVariablesRequest setting ``entries`` (see :data:`SetEntry`)."""
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence) or not entries:
        raise ValueError("entries: expected a non-empty sequence of (component, variable, value[, attribute]) entries")
    data = []
    seen: set[tuple[VariableRef, str]] = set()
    for i, entry in enumerate(entries):
        where = f"entries[{i}]"
        if not isinstance(entry, tuple) or len(entry) not in (3, 4):
            raise ValueError(f"{where}: expected (component, variable, value[, attribute]), got {entry!r}")
        name, instance = variable_key(entry[1], f"{where}: variable")
        ref = VariableRef(as_component(entry[0], f"{where}: component"), name, instance)
        value = entry[2]
        if not isinstance(value, str):
            raise ValueError(f'{where}: value: OCPP values are strings ("true", "300"), got {value!r}')
        attribute = check_attribute(entry[3], f"{where}: attribute") if len(entry) == 4 else "Actual"
        if (ref, attribute) in seen:  # B05: the CSMS must not repeat an entry in one request
            raise ValueError(f"{where}: {ref} ({attribute}) is set twice in one request")
        seen.add((ref, attribute))
        data.append(
            m.SetVariableDataType(
                component=component_type(m, ref.component),
                variable=_variable_type(m, ref.variable, ref.instance),
                attribute_type=m.AttributeEnumType(attribute),
                attribute_value=value,
            )
        )
    return m.SetVariablesRequest(set_variable_data=data)


def get_base_report_request(m: Any, request_id: int, report_base: str) -> Any:
    """A GetBaseReportRequest."""
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise ValueError(f"request_id: expected an integer, got {request_id!r}")
    if report_base not in REPORT_BASES:
        raise ValueError(f"report_base: expected one of {', '.join(REPORT_BASES)}, got {report_base!r}")
    return m.GetBaseReportRequest(request_id=request_id, report_base=m.ReportBaseEnumType(report_base))


def get_report_request(m: Any, request_id: int, components: Sequence[Any], criteria: Sequence[str]) -> Any:
    """A GetReportRequest for ``components`` (Component, name, or VariableRef) and ``criteria``."""
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise ValueError(f"request_id: expected an integer, got {request_id!r}")
    wanted = []
    for i, item in enumerate(components):
        if isinstance(item, VariableRef):
            wanted.append(
                m.ComponentVariableType(
                    component=component_type(m, item.component),
                    variable=_variable_type(m, item.variable, item.instance),
                )
            )
        else:
            wanted.append(m.ComponentVariableType(component=component_type(m, as_component(item, f"components[{i}]"))))
    known = [e.value for e in m.ComponentCriterionEnumType]
    chosen = []
    for i, name in enumerate(criteria):
        if name not in known:
            raise ValueError(f"criteria[{i}]: expected one of {', '.join(known)}, got {name!r}")
        chosen.append(m.ComponentCriterionEnumType(name))
    return m.GetReportRequest(
        request_id=request_id,
        component_variable=wanted or UNSET,
        component_criteria=chosen or UNSET,
    )
