"""Test helpers for the CSMS mirror: NotifyReport parts written the way a station writes them
(independently of the mirror's own code), and a small station model as Definitions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from ocppkit import v21, v201
from ocppkit.devicemodel import Component, Definition, VariableSpec

MODULES: dict[str, Any] = {"2.0.1": v201, "2.1": v21}
GENERATED_AT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def station_model(version: str = "2.1") -> list[Definition]:
    """A few variables of several kinds: controller (Actual only), EVSE/Connector components,
    an instance, a WriteOnly password (a "string": neither schema's DataEnumType has
    passwordString), a list type, a physical device with Target/MaxSet."""
    comm = Component("OCPPCommCtrlr")
    return [
        Definition(
            comm,
            VariableSpec("HeartbeatInterval", data_type="integer", unit="s", min_limit=1, max_limit=86400),
            {"Actual": "300"},
        ),
        Definition(comm, VariableSpec("MessageTimeout", "Default", data_type="integer", unit="s"), {"Actual": "30"}),
        Definition(
            Component("SecurityCtrlr"),
            VariableSpec(
                "BasicAuthPassword",
                data_type="string",
                mutability="WriteOnly",
                max_limit=40,
            ),
            {"Actual": "s3cret-password-16"},
        ),
        Definition(
            Component("SecurityCtrlr"),
            VariableSpec("SecurityProfile", data_type="integer", mutability="ReadOnly", min_limit=0, max_limit=3),
            {"Actual": "1"},
        ),
        Definition(
            Component("ClockCtrlr"),
            VariableSpec(
                "TimeSource", data_type="SequenceList", values_list=("Heartbeat", "NTP", "GPS"), max_limit=100
            ),
            {"Actual": "Heartbeat,NTP"},
        ),
        Definition(
            Component("EVSE", evse_id=1),
            VariableSpec("Power", data_type="decimal", unit="W", mutability="ReadOnly", max_limit=22000),
            {"Actual": "0"},
        ),
        Definition(
            Component("Connector", evse_id=1, connector_id=1),
            VariableSpec(
                "AvailabilityState",
                data_type="OptionList",
                mutability="ReadOnly",
                values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted"),
            ),
            {"Actual": "Available"},
        ),
        Definition(
            Component("FanCtrlr", instance="left"),
            VariableSpec("Speed", data_type="integer", attributes=("Actual", "Target", "MaxSet")),
            {"Actual": "1200", "Target": "1500"},  # MaxSet supported but unset: reported as ""
        ),
    ]


def report_data(version: str, d: Definition) -> dict[str, Any]:
    """The ReportDataType JSON a station sends for ``d`` (FullInventory: characteristics, every
    supported attribute, no value for WriteOnly)."""
    spec = d.variable
    component: dict[str, Any] = {"name": d.component.name}
    if d.component.instance is not None:
        component["instance"] = d.component.instance
    if d.component.evse_id is not None:
        component["evse"] = {"id": d.component.evse_id}
        if d.component.connector_id is not None:
            component["evse"]["connectorId"] = d.component.connector_id
    variable: dict[str, Any] = {"name": spec.name}
    if spec.instance is not None:
        variable["instance"] = spec.instance
    attributes = []
    for a in spec.attributes:
        attr: dict[str, Any] = {"type": a, "mutability": spec.mutability, "persistent": spec.persistent}
        if spec.constant:
            attr["constant"] = True
        if spec.mutability != "WriteOnly":
            attr["value"] = d.values.get(a, "")
        attributes.append(attr)
    chars: dict[str, Any] = {"dataType": spec.data_type, "supportsMonitoring": spec.supports_monitoring}
    for key, value in (("unit", spec.unit), ("minLimit", spec.min_limit), ("maxLimit", spec.max_limit)):
        if value is not None:
            chars[key] = value
    if spec.values_list is not None:
        chars["valuesList"] = ",".join(spec.values_list)
    return {
        "component": component,
        "variable": variable,
        "variableAttribute": attributes,
        "variableCharacteristics": chars,
    }


def notify_parts(version: str, definitions: Sequence[Definition], per_part: int, request_id: int = 1) -> list[Any]:
    """The NotifyReport parts of a report of ``definitions``, ``per_part`` variables each,
    decoded from their JSON through the codec (as a CSMS receives them)."""
    import ocppkit

    chunks = [definitions[i : i + per_part] for i in range(0, len(definitions), per_part)] or [[]]
    out = []
    for seq, chunk in enumerate(chunks):
        body: dict[str, Any] = {
            "requestId": request_id,
            "generatedAt": GENERATED_AT.isoformat().replace("+00:00", "Z"),
            "seqNo": seq,
            "tbc": seq < len(chunks) - 1,
        }
        if chunk:
            body["reportData"] = [report_data(version, d) for d in chunk]
        cls = MODULES[version].NotifyReportRequest
        out.append(ocppkit.decode_payload(json.dumps(body).encode(), cls))
    return out


def expected_definitions(definitions: list[Definition]) -> list[Definition]:
    """What a mirror holds of a station's model after a FullInventory: the same variables and
    characteristics, every supported attribute ("" when unset), no WriteOnly values; the spec
    fields never on the wire (reboot_required) at their defaults."""
    out = []
    for d in definitions:
        spec = dataclasses.replace(d.variable, reboot_required=False)
        if spec.mutability == "WriteOnly":
            values: dict[str, str] = {}
        else:
            values = {a: d.values.get(a, "") for a in spec.attributes}
        out.append(Definition(d.component, spec, values))
    return sorted(out, key=lambda d: (d.component, d.variable.name, d.variable.instance or ""))
