"""GetBaseReport and GetReport: what each selects, ReportData, and the NotifyReport parts paged
by seqNo/tbc within ItemsPerMessage/BytesPerMessage [GetReport]."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
from msgspec import UNSET

import ocppkit
from ocppkit import v21, v201
from ocppkit.devicemodel import Component, Definition, DeviceModel, MemoryStore, VariableSpec

from .dm_station import station

AT = dt.datetime(2026, 12, 2, 3, 30, tzinfo=dt.timezone.utc)


def rows(parts: list[Any]) -> list[tuple[str, int | None, int | None, str, str | None]]:
    out = []
    for part in parts:
        for r in part.report_data:
            evse = r.component.evse
            out.append(
                (
                    r.component.name,
                    None if evse is UNSET else evse.id,
                    None if evse is UNSET or evse.connector_id is UNSET else evse.connector_id,
                    r.variable.name,
                    None if r.variable.instance is UNSET else r.variable.instance,
                )
            )
    return out


def base(model: DeviceModel, kind: str, request_id: int = 7) -> tuple[str, list[Any]]:
    response, parts = model.base_report(
        v201.GetBaseReportRequest(request_id=request_id, report_base=v201.ReportBaseEnumType(kind)), generated_at=AT
    )
    return response.status.value, parts


def test_full_inventory_reports_everything_with_characteristics() -> None:
    model = DeviceModel("2.0.1", MemoryStore(), station())
    status, parts = base(model, "FullInventory")
    assert status == "Accepted" and len(parts) == 1
    [part] = parts
    assert (part.request_id, part.seq_no, part.tbc, part.generated_at) == (7, 0, False, AT)
    assert len(part.report_data) == len(station())
    by_name = {(r.component.name, r.variable.name): r for r in part.report_data}
    power = by_name[("EVSE", "Power")]
    assert [(a.type.value, a.value, a.mutability.value) for a in power.variable_attribute] == [
        ("Actual", "0", "ReadOnly"),
        ("MaxSet", "22000", "ReadOnly"),
    ]
    assert power.variable_characteristics.unit == "W" and power.variable_characteristics.max_limit == 22000
    assert power.variable_characteristics.data_type.value == "decimal"
    password = by_name[("SecurityCtrlr", "BasicAuthPassword")]
    assert password.variable_attribute[0].value is UNSET  # a WriteOnly value never leaves
    assert password.variable_attribute[0].mutability.value == "WriteOnly"
    tx = by_name[("TxCtrlr", "TxStartPoint")].variable_characteristics
    assert tx.values_list == "ParkingBayOccupancy,EVConnected,Authorized,PowerPathClosed,EnergyTransfer"
    ocppkit.encode_payload(part)


def test_configuration_and_summary_inventories() -> None:
    model = DeviceModel("2.0.1", MemoryStore(), station())
    _, parts = base(model, "ConfigurationInventory")
    names = {(c, v) for c, _, _, v, _ in rows(parts)}
    assert ("SecurityCtrlr", "BasicAuthPassword") in names and ("OCPPCommCtrlr", "HeartbeatInterval") in names
    assert ("SecurityCtrlr", "SecurityProfile") not in names and ("EVSE", "Power") not in names
    _, parts = base(model, "SummaryInventory")
    assert rows(parts) == [
        ("ChargingStation", None, None, "AvailabilityState", None),
        ("EVSE", 1, None, "AvailabilityState", None),
        ("Connector", 1, 1, "AvailabilityState", None),
        ("Connector", 1, 1, "Problem", None),  # true; the EVSE's Problem is false
    ]


def test_an_empty_model_answers_empty_result_set() -> None:
    model = DeviceModel("2.0.1", MemoryStore(), [])
    assert base(model, "FullInventory") == ("EmptyResultSet", [])
    only_ro = DeviceModel(
        "2.0.1", MemoryStore(), [Definition(Component("X"), VariableSpec("Y", mutability="ReadOnly"))]
    )
    assert base(only_ro, "ConfigurationInventory") == ("EmptyResultSet", [])


@pytest.mark.parametrize("items", [1, 4, 5])
def test_paging_by_items_per_message(items: int) -> None:
    model = DeviceModel("2.0.1", MemoryStore(), station(report_items=items))
    status, parts = base(model, "FullInventory", request_id=3)
    total = len(model.variables())
    assert status == "Accepted" and len(parts) == -(-total // items)
    assert [p.seq_no for p in parts] == list(range(len(parts)))
    assert [p.tbc for p in parts] == [True] * (len(parts) - 1) + [False]
    assert all(p.request_id == 3 and len(p.report_data) <= items for p in parts)
    reported = rows(parts)
    expected = [(c.name, c.evse_id, c.connector_id, s.name, s.instance) for c, s in model.variables()]
    assert reported == expected  # every variable once, in order


@pytest.mark.parametrize("limit", [700, 1200, 5000])
def test_paging_by_bytes_per_message(limit: int) -> None:
    model = DeviceModel("2.0.1", MemoryStore(), station(report_bytes=limit))
    _, parts = base(model, "FullInventory")
    sizes = [len(ocppkit.encode_payload(p)) for p in parts]
    assert all(size <= limit for size in sizes)
    assert len(rows(parts)) == len(model.variables())
    if limit == 700:
        assert len(parts) > 3
    # greedy: one more entry would not have fitted in any but the last part
    for part, size, after in zip(parts[:-1], sizes[:-1], parts[1:], strict=True):
        assert part.tbc is True and size + 1 + len(msgspec.json.encode(after.report_data[0])) > limit


def test_an_entry_bigger_than_bytes_per_message_goes_alone() -> None:
    defs = station(report_bytes=300) + [
        Definition(Component("Big"), VariableSpec("Text", max_limit=2500), {"Actual": "t" * 400})
    ]
    model = DeviceModel("2.0.1", MemoryStore(), defs)
    _, parts = base(model, "FullInventory")
    [alone] = [p for p in parts if p.report_data[0].component.name == "Big"]
    assert len(alone.report_data) == 1 and len(rows(parts)) == len(defs)


def report(model: DeviceModel, m: Any = v201, **kw: Any) -> tuple[str, list[Any]]:
    response, parts = model.report(m.GetReportRequest(request_id=9, **kw), generated_at=AT)
    return response.status.value, parts


def test_get_report_component_variable_filters() -> None:
    m = v201
    model = DeviceModel("2.0.1", MemoryStore(), station())
    status, parts = report(
        model,
        component_variable=[
            m.ComponentVariableType(component=m.ComponentType(name="EVSE", evse=m.EVSEType(id=1))),
            m.ComponentVariableType(
                component=m.ComponentType(name="OCPPCommCtrlr"),
                variable=m.VariableType(name="MessageTimeout", instance="Default"),
            ),
        ],
    )
    assert status == "Accepted"
    assert rows(parts) == [
        ("OCPPCommCtrlr", None, None, "MessageTimeout", "Default"),
        ("EVSE", 1, None, "AvailabilityState", None),
        ("EVSE", 1, None, "Available", None),
        ("EVSE", 1, None, "Power", None),
        ("EVSE", 1, None, "Problem", None),
    ]
    assert parts[0].report_data[0].variable_characteristics is not UNSET  # reports carry characteristics
    status, parts = report(
        model, component_variable=[m.ComponentVariableType(component=m.ComponentType(name="NoSuchCtrlr"))]
    )
    assert (status, parts) == ("EmptyResultSet", [])


def test_get_report_criteria_are_or_combined() -> None:
    m = v201
    model = DeviceModel("2.0.1", MemoryStore(), station())
    comps = lambda parts: sorted({(c, e, k) for c, e, k, _, _ in rows(parts)}, key=str)  # noqa: E731
    _, parts = report(model, component_criteria=[m.ComponentCriterionEnumType("Problem")])
    assert comps(parts) == [("Connector", 1, 1)]
    _, parts = report(model, component_criteria=[m.ComponentCriterionEnumType("Available")])
    assert comps(parts) == [("ChargingStation", None, None), ("EVSE", 1, None)]  # the connector's is false
    _, parts = report(
        model, component_criteria=[m.ComponentCriterionEnumType("Available"), m.ComponentCriterionEnumType("Problem")]
    )
    assert comps(parts) == [("ChargingStation", None, None), ("Connector", 1, 1), ("EVSE", 1, None)]
    _, parts = report(model, component_criteria=[m.ComponentCriterionEnumType("Enabled")])  # absent: enabled
    assert len(rows(parts)) == len(station())
    status, parts = report(model, component_criteria=[m.ComponentCriterionEnumType("Active")])
    assert (status, parts) == ("EmptyResultSet", [])
    # both filters: the named variables of components meeting a criterion
    _, parts = report(
        model,
        component_criteria=[m.ComponentCriterionEnumType("Problem")],
        component_variable=[
            m.ComponentVariableType(component=m.ComponentType(name="EVSE", evse=m.EVSEType(id=1))),
            m.ComponentVariableType(
                component=m.ComponentType(name="Connector", evse=m.EVSEType(id=1, connector_id=1)),
                variable=m.VariableType(name="ConnectorType"),
            ),
        ],
    )
    assert rows(parts) == [("Connector", 1, 1, "ConnectorType", None)]


def test_an_unsupported_criterion_is_not_supported_and_the_item_limit_a_callerror() -> None:
    m = v201
    model = DeviceModel("2.0.1", MemoryStore(), station(report_items=2), supported_criteria=("Available", "Problem"))
    status, parts = report(model, component_criteria=[m.ComponentCriterionEnumType("Active")])
    assert (status, parts) == ("NotSupported", [])
    cv = m.ComponentVariableType(component=m.ComponentType(name="EVSE", evse=m.EVSEType(id=1)))
    assert report(model, component_variable=[cv, cv])[0] == "Accepted"
    with pytest.raises(ocppkit.CallErrorReply) as info:
        report(model, component_variable=[cv, cv, cv])
    assert info.value.error_code is ocppkit.ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    assert info.value.details["rule"] == "ItemsPerMessage[GetReport]"
    with pytest.raises(ValueError, match="supported_criteria"):
        DeviceModel("2.0.1", supported_criteria=("Hot",))


def test_2_1_uses_its_own_types() -> None:
    model = DeviceModel("2.1", MemoryStore(), station(report_items=10))
    response, parts = model.base_report(
        v21.GetBaseReportRequest(request_id=1, report_base=v21.ReportBaseEnumType.FULL_INVENTORY), generated_at=AT
    )
    assert isinstance(response, v21.GetBaseReportResponse) and all(
        isinstance(p, v21.NotifyReportRequest) for p in parts
    )
    assert [len(p.report_data) for p in parts] == [10, 10, 5]
    for p in parts:
        ocppkit.encode_payload(p)
    status, _ = report(model, v21, component_criteria=[v21.ComponentCriterionEnumType("Problem")])
    assert status == "Accepted"


def test_generated_at_must_be_aware() -> None:
    model = DeviceModel("2.0.1", MemoryStore(), station())
    with pytest.raises(ValueError, match="generated_at: expected a timezone-aware datetime"):
        model.base_report(
            v201.GetBaseReportRequest(request_id=1, report_base=v201.ReportBaseEnumType.FULL_INVENTORY),
            generated_at=dt.datetime(2026, 1, 1),
        )


def test_reporting_value_size_cuts_reported_values() -> None:
    big = Component("Big")
    defs = station() + [
        Definition(big, VariableSpec("Text", max_limit=3000), {"Actual": "x" * 2600}),
        Definition(
            Component("DeviceDataCtrlr"), VariableSpec("ReportingValueSize", data_type="integer"), {"Actual": "10"}
        ),
    ]
    model = DeviceModel("2.0.1", MemoryStore(), defs)
    [result] = model.get_variables(
        v201.GetVariablesRequest(
            get_variable_data=[
                v201.GetVariableDataType(
                    component=v201.ComponentType(name="Big"), variable=v201.VariableType(name="Text")
                )
            ]
        )
    ).get_variable_result
    assert result.attribute_value == "x" * 10
    _, parts = base(model, "FullInventory")
    [text] = [r for p in parts for r in p.report_data if r.component.name == "Big"]
    assert text.variable_attribute[0].value == "x" * 10
    assert model.get(big, "Text") == "x" * 2600  # the stored value is whole
    # without a ReportingValueSize: the schema's 2500
    model = DeviceModel("2.0.1", MemoryStore(), defs[:-1])
    _, parts = base(model, "FullInventory")
    [text] = [r for p in parts for r in p.report_data if r.component.name == "Big"]
    assert text.variable_attribute[0].value == "x" * 2500
    for p in parts:
        ocppkit.encode_payload(p)
