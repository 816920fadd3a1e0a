"""The shapes of the device model (OCPP 2.0.1/2.1 B-block, 1.6 configuration keys): which
component, which variable, its characteristics and its attributes. Plain frozen records, no
behaviour and no I/O; the standard catalogue (``ocppkit.devicemodel.standard``), the
configuration file, the stores and the :class:`~ocppkit.devicemodel.DeviceModel` all speak them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "ATTRIBUTE_TYPES",
    "DATA_TYPES",
    "MUTABILITIES",
    "AttributeType",
    "Component",
    "DataType",
    "Definition",
    "Mutability",
    "VariableSpec",
]

#: OCPP DataEnumType (2.1 adds passwordString).
DataType = Literal[
    "string", "decimal", "integer", "dateTime", "boolean", "OptionList", "SequenceList", "MemberList", "passwordString"
]
#: The :data:`DataType` values, in order.
DATA_TYPES: tuple[str, ...] = (
    "string",
    "decimal",
    "integer",
    "dateTime",
    "boolean",
    "OptionList",
    "SequenceList",
    "MemberList",
    "passwordString",
)
#: OCPP MutabilityEnumType.
Mutability = Literal["ReadOnly", "WriteOnly", "ReadWrite"]
#: The :data:`Mutability` values.
MUTABILITIES: tuple[str, ...] = ("ReadOnly", "WriteOnly", "ReadWrite")
#: OCPP AttributeEnumType (``Actual`` when absent on the wire).
AttributeType = Literal["Actual", "Target", "MinSet", "MaxSet"]
#: The :data:`AttributeType` values.
ATTRIBUTE_TYPES: tuple[str, ...] = ("Actual", "Target", "MinSet", "MaxSet")


@dataclass(frozen=True, order=True)
class Component:
    """A component of the station: its name, optional instance, and where it sits (an EVSE, a
    connector of an EVSE; both None for the station as a whole).

    Attributes:
        name: the component name (``"OCPPCommCtrlr"``, ``"EVSE"``, a vendor's own).
        instance: the component instance, or None.
        evse_id: the EVSE the component belongs to (``"EVSE"`` and ``"Connector"`` have one).
        connector_id: the connector of that EVSE (``"Connector"`` has one).
    """

    name: str
    instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None


@dataclass(frozen=True)
class VariableSpec:
    """One variable of a component: its key and its characteristics (what values it takes).

    Attributes:
        name: the variable name (``"HeartbeatInterval"``).
        instance: the variable instance (``"Default"`` for ``MessageTimeout[Default]``) or None.
        data_type: the OCPP dataType of its values.
        unit: the unit (``"s"``, ``"W"``, ``"A"``, ...), or None.
        min_limit: the smallest value (numbers), or None.
        max_limit: the largest value (numbers), the longest length (strings and lists), or None.
        values_list: the allowed members (OptionList, MemberList, SequenceList; also the
            allowed values of a string), or None.
        mutability: the mutability of its attributes (ReadOnly, WriteOnly, ReadWrite).
        attributes: the attribute types it supports (``("Actual",)`` for controllers).
        persistent: the value survives a reboot.
        constant: the station never changes the value itself.
        reboot_required: a SetVariables of it answers RebootRequired (the value applies after
            a reboot).
        supports_monitoring: monitors may be set on it.
    """

    name: str
    instance: str | None = None
    data_type: str = "string"
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: tuple[str, ...] | None = None
    mutability: str = "ReadWrite"
    attributes: tuple[str, ...] = ("Actual",)
    persistent: bool = True
    constant: bool = False
    reboot_required: bool = False
    supports_monitoring: bool = False


@dataclass(frozen=True)
class Definition:
    """A variable as a station has it: where it is, what it is, and its initial values.

    Attributes:
        component: the :class:`Component` it belongs to.
        variable: its :class:`VariableSpec`.
        values: the initial value of each attribute type (``{"Actual": "300"}``); an attribute
            the spec supports but that has no value here reads as ``""``.
    """

    component: Component
    variable: VariableSpec
    values: Mapping[str, str] = field(default_factory=dict)
