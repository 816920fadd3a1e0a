"""DeviceModelMirror, the CSMS's copy of a station's device model: report paging (seqNo, tbc,
out of order, repeats, contradictions), typed accessors, WriteOnly variables, GetVariables and
SetVariables answers, diffs, and the request builders through the codec; 2.0.1 and 2.1."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import msgspec
import pytest

import ocppkit
from ocppkit.devicemodel import Component, Definition, VariableSpec
from ocppkit.devicemodel.mirror import (
    DeviceModelMirror,
    MirrorError,
    ReportDiff,
    ReportError,
    ValueChange,
    VariableRef,
)

from .mirror_support import MODULES, expected_definitions, notify_parts, report_data, station_model

VERSIONS = ["2.0.1", "2.1"]
COMM = Component("OCPPCommCtrlr")


# ---------------------------------------------------------------- reports and paging


@pytest.mark.parametrize("version", VERSIONS)
def test_a_report_in_several_parts_is_applied_when_the_last_arrives(version: str) -> None:
    model = station_model(version)
    parts = notify_parts(version, model, per_part=3, request_id=7)
    assert len(parts) == 3 and [p.tbc for p in parts] == [True, True, False]
    mirror = DeviceModelMirror(version)
    first = mirror.apply_report(parts[0])
    assert not first.complete and first.parts == 1 and first.variables == 3 and first.last is None
    assert len(mirror) == 0  # nothing shows before the report is whole
    assert mirror.pending()[7].parts == 1
    mirror.apply_report(parts[1])
    done = mirror.apply_report(parts[2])
    assert done.complete and done.parts == 3 and done.missing == () and done.last == 2
    assert done.variables == len(model)
    assert mirror.pending() == {}
    assert list(mirror) == expected_definitions(model)
    assert mirror.generated_at == parts[-1].generated_at


@pytest.mark.parametrize("version", VERSIONS)
def test_parts_out_of_order_wait_for_the_missing_ones(version: str) -> None:
    model = station_model(version)
    p0, p1, p2, p3 = notify_parts(version, model, per_part=2, request_id=3)
    mirror = DeviceModelMirror(version)
    got = mirror.apply_report(p3)  # the last part first: 0, 1 and 2 are missing
    assert not got.complete and got.last == 3 and got.missing == (0, 1, 2)
    assert mirror.apply_report(p1).missing == (0, 2)
    assert mirror.apply_report(p0).missing == (2,)
    assert len(mirror) == 0
    assert mirror.apply_report(p2).complete
    assert list(mirror) == expected_definitions(model)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_repeated_part_is_ignored_and_a_contradicting_one_refused(version: str) -> None:
    model = station_model(version)
    p0, p1 = notify_parts(version, model, per_part=4, request_id=5)
    mirror = DeviceModelMirror(version)
    assert not mirror.apply_report(p0).repeated
    again = mirror.apply_report(p0)  # sent again (its CALLRESULT was lost): ignored
    assert again.repeated and again.parts == 1
    other = notify_parts(version, model[1:], per_part=4, request_id=5)[0]
    with pytest.raises(ReportError, match="seqNo: report 5 already has a different part 0"):
        mirror.apply_report(other)
    done = mirror.apply_report(p1)
    assert done.complete and not done.repeated
    late = mirror.apply_report(p1)  # the last part again after completion: still ignored
    assert late.complete and late.repeated
    assert mirror.pending() == {} and list(mirror) == expected_definitions(model)


@pytest.mark.parametrize("version", VERSIONS)
def test_seq_no_and_tbc_that_contradict_the_report_are_refused(version: str) -> None:
    m = MODULES[version]
    model = station_model(version)
    p0, p1, p2 = notify_parts(version, model, per_part=3, request_id=9)
    mirror = DeviceModelMirror(version)
    mirror.apply_report(p1)
    ended_early = msgspec.structs.replace(p0, tbc=False)
    with pytest.raises(ReportError, match="tbc: part 0 ends report 9, but part 1 came before it"):
        mirror.apply_report(ended_early)
    mirror.apply_report(p2)
    beyond = m.NotifyReportRequest(request_id=9, generated_at=p0.generated_at, seq_no=5, tbc=False)
    with pytest.raises(ReportError, match="seqNo: report 9 ended at part 2"):
        mirror.apply_report(beyond)
    again = m.NotifyReportRequest(request_id=9, generated_at=p0.generated_at, seq_no=1, tbc=False)
    with pytest.raises(ReportError, match="seqNo: report 9 already has a different part 1"):
        mirror.apply_report(again)
    negative = m.NotifyReportRequest(request_id=9, generated_at=p0.generated_at, seq_no=-1)
    with pytest.raises(ReportError, match="seqNo: expected >= 0"):
        mirror.apply_report(negative)
    assert mirror.pending()[9].missing == (0,)  # none of that changed the report
    assert mirror.apply_report(p0).complete


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_request_id_starts_a_new_report_and_reports_interleave(version: str) -> None:
    model = station_model(version)
    a = notify_parts(version, model[:4], per_part=2, request_id=1)
    b = notify_parts(version, model[4:], per_part=2, request_id=2)
    mirror = DeviceModelMirror(version)
    for part in (a[0], b[0], b[1], a[1]):
        mirror.apply_report(part)
    assert mirror.pending() == {}
    assert list(mirror) == expected_definitions(model)  # merged: neither is a FullInventory asked for
    first, second = mirror.report(1), mirror.report(2)
    assert first is not None and second is not None
    assert list(first) == expected_definitions(model[:4]) and list(second) == expected_definitions(model[4:])
    # The same requestId after its report completed: a new report.
    changed = [dataclasses.replace(model[0], values={"Actual": "60"})]
    (again,) = notify_parts(version, changed, per_part=5, request_id=1)
    assert mirror.apply_report(again).complete
    assert mirror.value(COMM, "HeartbeatInterval") == "60"
    report = mirror.report(1)
    assert report is not None and len(report) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_asking_again_with_the_same_request_id_drops_the_incomplete_report(version: str) -> None:
    model = station_model(version)
    old = notify_parts(version, model, per_part=4, request_id=6)
    mirror = DeviceModelMirror(version)
    mirror.apply_report(old[0])  # part 1 never came
    mirror.get_base_report_request(6, "FullInventory")  # asked again: a new report
    assert mirror.pending() == {} and mirror.abandoned == 1
    new = notify_parts(version, model[:3], per_part=4, request_id=6)
    assert mirror.apply_report(new[0]).complete  # not "a different part 0"
    assert list(mirror) == expected_definitions(model[:3])
    mirror.get_report_request(6, [COMM])
    assert not mirror.apply_report(new[0]).repeated  # after a new request: the new report's part


@pytest.mark.parametrize("version", VERSIONS)
def test_a_seq_no_beyond_max_parts_is_refused_and_missing_is_bounded(version: str) -> None:
    """A station cannot make the CSMS hold or list an unbounded report."""
    m = MODULES[version]
    (p0,) = notify_parts(version, station_model(version)[:1], per_part=1, request_id=8)
    mirror = DeviceModelMirror(version)
    huge = m.NotifyReportRequest(request_id=8, generated_at=p0.generated_at, seq_no=10**9, tbc=False)
    with pytest.raises(ReportError, match="seqNo: a report has at most 10000 parts here"):
        mirror.apply_report(huge)
    last = m.NotifyReportRequest(request_id=8, generated_at=p0.generated_at, seq_no=9999, tbc=False)
    got = mirror.apply_report(last)
    assert not got.complete and got.missing == tuple(range(100)) and got.last == 9999
    assert DeviceModelMirror(version, max_parts=2).max_parts == 2
    with pytest.raises(ValueError, match="max_parts: expected an integer >= 1"):
        DeviceModelMirror(version, max_parts=0)


@pytest.mark.parametrize("version", VERSIONS)
def test_too_many_incomplete_reports_drop_the_oldest(version: str) -> None:
    model = station_model(version)
    mirror = DeviceModelMirror(version, max_pending=2)
    for rid in (1, 2, 3):
        mirror.apply_report(notify_parts(version, model, per_part=4, request_id=rid)[0])
    assert sorted(mirror.pending()) == [2, 3] and mirror.abandoned == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_a_full_inventory_asked_for_replaces_the_mirror(version: str) -> None:
    model = station_model(version)
    mirror = DeviceModelMirror(version)
    for part in notify_parts(version, model, per_part=10, request_id=1):
        mirror.apply_report(part)
    request = mirror.get_base_report_request(2, "FullInventory")
    assert request.report_base.value == "FullInventory"
    smaller = model[1:]
    for part in notify_parts(version, smaller, per_part=10, request_id=2):
        mirror.apply_report(part)
    assert list(mirror) == expected_definitions(smaller)  # HeartbeatInterval is gone
    mirror.get_base_report_request(3, "ConfigurationInventory")
    for part in notify_parts(version, model[:1], per_part=10, request_id=3):
        mirror.apply_report(part)
    assert list(mirror) == expected_definitions(model)  # merged back in


@pytest.mark.parametrize("version", VERSIONS)
def test_an_empty_report_completes(version: str) -> None:
    (part,) = notify_parts(version, [], per_part=1, request_id=4)
    mirror = DeviceModelMirror(version)
    got = mirror.apply_report(part)
    assert got.complete and got.variables == 0 and len(mirror) == 0


def test_messages_of_another_version_or_action_are_refused() -> None:
    mirror = DeviceModelMirror("2.0.1")
    (part,) = notify_parts("2.1", station_model("2.1")[:1], per_part=1)
    with pytest.raises(TypeError, match="NotifyReportRequest is an OCPP 2.1 class; this mirror is OCPP 2.0.1"):
        mirror.apply_report(part)
    with pytest.raises(TypeError, match="expected a NotifyReport message"):
        mirror.apply_report(ocppkit.v201.HeartbeatRequest())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="version: the device model exists in OCPP 2.0.1 and 2.1, not '1.6'"):
        DeviceModelMirror("1.6")


# ---------------------------------------------------------------- accessors, WriteOnly


@pytest.mark.parametrize("version", VERSIONS)
def test_typed_accessors(version: str) -> None:
    mirror = DeviceModelMirror(version)
    for part in notify_parts(version, station_model(version), per_part=3):
        mirror.apply_report(part)
    assert mirror.value(COMM, "HeartbeatInterval") == "300"
    assert mirror.value("OCPPCommCtrlr", "HeartbeatInterval") == "300"  # a bare component name
    assert mirror.value(COMM, "MessageTimeout", instance="Default") == "30"
    assert mirror.value(COMM, "MessageTimeout") is None  # without its instance: another variable
    fan = Component("FanCtrlr", instance="left")
    assert mirror.value(fan, "Speed", "Target") == "1500"
    assert mirror.value(fan, "Speed", "MaxSet") == ""  # supported, unset
    assert mirror.value(fan, "Speed", "MinSet") is None  # not supported
    assert mirror.value(Component("Connector", evse_id=1, connector_id=1), "AvailabilityState") == "Available"
    spec = mirror.spec(COMM, "HeartbeatInterval")
    assert spec == VariableSpec(
        "HeartbeatInterval", data_type="integer", unit="s", min_limit=1, max_limit=86400, persistent=True
    )
    clock = mirror.spec("ClockCtrlr", "TimeSource")
    assert clock is not None and clock.values_list == ("Heartbeat", "NTP", "GPS") and clock.data_type == "SequenceList"
    speed = mirror.spec(fan, "Speed")
    assert speed is not None and speed.attributes == ("Actual", "Target", "MaxSet")
    assert mirror.spec(COMM, "Nope") is None
    assert Component("EVSE", evse_id=1) in mirror.components()
    assert mirror.components() == sorted(mirror.components())
    assert mirror.variables(COMM) == [
        VariableRef(COMM, "HeartbeatInterval"),
        VariableRef(COMM, "MessageTimeout", "Default"),
    ]
    assert str(VariableRef(COMM, "MessageTimeout", "Default")) == "OCPPCommCtrlr.MessageTimeout[Default]"


@pytest.mark.parametrize("version", VERSIONS)
def test_write_only_variables_have_no_value_in_reports_nor_in_the_mirror(version: str) -> None:
    model = station_model(version)
    password = next(d for d in model if d.variable.name == "BasicAuthPassword")
    body = report_data(version, password)
    assert "value" not in body["variableAttribute"][0]  # what a station sends
    mirror = DeviceModelMirror(version)
    for part in notify_parts(version, model, per_part=8):
        mirror.apply_report(part)
    security = Component("SecurityCtrlr")
    assert mirror.value(security, "BasicAuthPassword") is None
    # A station that reports the value anyway: the mirror still keeps none.
    leaky = report_data(version, password)
    leaky["variableAttribute"][0]["value"] = "s3cret-password-16"
    body = {"requestId": 77, "generatedAt": "2026-01-02T03:04:05Z", "seqNo": 0, "reportData": [leaky]}
    assert mirror.apply_report(ocppkit.decode_payload(json.dumps(body), MODULES[version].NotifyReportRequest)).complete
    assert mirror.value(security, "BasicAuthPassword") is None
    assert "s3cret" not in repr(list(mirror)) and "s3cret" not in repr(list(mirror.report(77) or []))
    spec = mirror.spec(security, "BasicAuthPassword")
    assert spec is not None and spec.mutability == "WriteOnly" and spec.data_type == "string"
    # A SetVariables of it, Accepted: the mirror still keeps no value (the station reports none).
    request = mirror.set_variables_request([(security, "BasicAuthPassword", "another-password-1")])
    m = MODULES[version]
    response = m.SetVariablesResponse(
        set_variable_result=[
            m.SetVariableResultType(
                attribute_status=m.SetVariableStatusEnumType.ACCEPTED,
                attribute_type=m.AttributeEnumType.ACTUAL,
                component=m.ComponentType(name="SecurityCtrlr"),
                variable=m.VariableType(name="BasicAuthPassword"),
            )
        ]
    )
    (result,) = mirror.apply_set_variables(request, response)
    assert result.status == "Accepted" and not result.applied
    assert mirror.value(security, "BasicAuthPassword") is None
    assert "another-password" not in repr(list(mirror))


# ---------------------------------------------------------------- GetVariables / SetVariables


def _get_result(m: Any, status: str, component: Any, name: str, value: str | None = None) -> Any:
    return m.GetVariableResultType(
        attribute_status=m.GetVariableStatusEnumType(status),
        attribute_type=m.AttributeEnumType.ACTUAL,
        attribute_value=ocppkit.UNSET if value is None else value,
        component=component,
        variable=m.VariableType(name=name),
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_get_variables_answers_update_the_mirror(version: str) -> None:
    m = MODULES[version]
    mirror = DeviceModelMirror(version)
    request = mirror.get_variables_request(
        [(COMM, "HeartbeatInterval"), ("OCPPCommCtrlr", "OfflineThreshold"), ("TxCtrlr", "Nope")]
    )
    comm = m.ComponentType(name="OCPPCommCtrlr")
    response = m.GetVariablesResponse(
        get_variable_result=[
            _get_result(m, "Accepted", comm, "HeartbeatInterval", "120"),
            _get_result(m, "Accepted", comm, "OfflineThreshold"),  # supported but unset: ""
            _get_result(m, "UnknownComponent", m.ComponentType(name="TxCtrlr"), "Nope"),
        ]
    )
    results = mirror.apply_get_variables(request, response)
    assert [(r.status, r.value, r.applied) for r in results] == [
        ("Accepted", "120", True),
        ("Accepted", "", True),
        ("UnknownComponent", None, False),
    ]
    assert mirror.value(COMM, "HeartbeatInterval") == "120"
    assert mirror.value(COMM, "OfflineThreshold") == ""
    assert mirror.spec(COMM, "HeartbeatInterval") is None  # values only: no characteristics known
    assert mirror.components() == [COMM]


@pytest.mark.parametrize("version", VERSIONS)
def test_an_answer_that_does_not_answer_the_request_changes_nothing(version: str) -> None:
    m = MODULES[version]
    mirror = DeviceModelMirror(version)
    request = mirror.get_variables_request([(COMM, "HeartbeatInterval"), (COMM, "OfflineThreshold")])
    comm = m.ComponentType(name="OCPPCommCtrlr")
    stranger = m.GetVariablesResponse(get_variable_result=[_get_result(m, "Accepted", comm, "Other", "1")])
    with pytest.raises(MirrorError, match=r"getVariableResult\[0\]: OCPPCommCtrlr.Other \(Actual\) was not asked for"):
        mirror.apply_get_variables(request, stranger)
    short = m.GetVariablesResponse(get_variable_result=[_get_result(m, "Accepted", comm, "HeartbeatInterval", "1")])
    with pytest.raises(MirrorError, match="getVariableResult: 1 results for 2 entries asked"):
        mirror.apply_get_variables(request, short)
    assert len(mirror) == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_set_variables_accepted_values_update_the_mirror_reboot_required_ones_wait(version: str) -> None:
    m = MODULES[version]
    mirror = DeviceModelMirror(version)
    for part in notify_parts(version, station_model(version), per_part=10):
        mirror.apply_report(part)
    request = mirror.set_variables_request(
        [
            (COMM, "HeartbeatInterval", "60"),
            (COMM, ("MessageTimeout", "Default"), "45"),
            ("SecurityCtrlr", "SecurityProfile", "2"),
        ]
    )
    statuses = ["Accepted", "RebootRequired", "Rejected"]
    asked: list[Any] = list(request.set_variable_data)
    response = m.SetVariablesResponse(
        set_variable_result=[
            m.SetVariableResultType(
                attribute_status=m.SetVariableStatusEnumType(status),
                component=d.component,
                variable=d.variable,
            )  # attributeType absent: Actual
            for status, d in zip(statuses, asked, strict=True)
        ]
    )
    results = mirror.apply_set_variables(request, response)
    assert [(str(r.ref), r.status, r.value, r.applied) for r in results] == [
        ("OCPPCommCtrlr.HeartbeatInterval", "Accepted", "60", True),
        ("OCPPCommCtrlr.MessageTimeout[Default]", "RebootRequired", "45", False),
        ("SecurityCtrlr.SecurityProfile", "Rejected", "2", False),
    ]
    assert mirror.value(COMM, "HeartbeatInterval") == "60"
    assert mirror.value(COMM, "MessageTimeout", instance="Default") == "30"
    assert mirror.value("SecurityCtrlr", "SecurityProfile") == "1"


# ---------------------------------------------------------------- diffs


@pytest.mark.parametrize("version", VERSIONS)
def test_the_diff_of_two_reports(version: str) -> None:
    model = station_model(version)
    mirror = DeviceModelMirror(version)
    for part in notify_parts(version, model, per_part=3, request_id=1):
        mirror.apply_report(part)
    later = [d for d in model if d.variable.name != "Power"]  # removed
    later[0] = dataclasses.replace(later[0], values={"Actual": "900"})  # a changed value
    later[1] = dataclasses.replace(later[1], variable=dataclasses.replace(later[1].variable, max_limit=60))
    added = Definition(COMM, VariableSpec("OfflineThreshold", data_type="integer", unit="s"), {"Actual": "600"})
    later.append(added)
    password = next(i for i, d in enumerate(later) if d.variable.name == "BasicAuthPassword")
    later[password] = dataclasses.replace(later[password], values={"Actual": "changed-password-1"})
    mirror.get_base_report_request(2, "FullInventory")
    for part in notify_parts(version, later, per_part=4, request_id=2):
        mirror.apply_report(part)
    first, second = mirror.report(1), mirror.report(2)
    assert first is not None and second is not None
    diff = first.diff(second)
    assert diff.added == (VariableRef(COMM, "OfflineThreshold"),)
    assert diff.removed == (VariableRef(Component("EVSE", evse_id=1), "Power"),)
    assert diff.values == (ValueChange(VariableRef(COMM, "HeartbeatInterval"), "Actual", "300", "900"),)
    (spec_change,) = diff.specs
    assert spec_change.ref == VariableRef(COMM, "MessageTimeout", "Default") and spec_change.fields == ("max_limit",)
    assert spec_change.old.max_limit is None and spec_change.new.max_limit == 60
    assert diff and not first.diff(first) and first.diff(first) == ReportDiff()
    assert second.diff(first).added == diff.removed  # the other way round


@pytest.mark.parametrize("version", VERSIONS)
def test_a_mirror_compares_with_the_station_model_it_reported(version: str) -> None:
    model = station_model(version)
    mirror = DeviceModelMirror(version)
    for part in notify_parts(version, model, per_part=2):
        mirror.apply_report(part)
    assert not mirror.diff(model)  # WriteOnly values and reboot_required are not compared
    changed = [dataclasses.replace(model[0], values={"Actual": "10"}), *model[1:]]
    assert mirror.diff(changed).values == (ValueChange(VariableRef(COMM, "HeartbeatInterval"), "Actual", "300", "10"),)
    with pytest.raises(TypeError, match="expected a DeviceModelMirror or Definitions"):
        mirror.diff([1, 2])  # type: ignore[list-item]


# ---------------------------------------------------------------- builders


@pytest.mark.parametrize("version", VERSIONS)
def test_builders_round_trip_through_the_codec(version: str) -> None:
    m = MODULES[version]
    mirror = DeviceModelMirror(version)
    connector = Component("Connector", evse_id=1, connector_id=2)
    get = mirror.get_variables_request(
        [
            (COMM, "HeartbeatInterval"),
            (COMM, ("MessageTimeout", "Default")),
            (Component("FanCtrlr", "left"), "Speed", "Target"),
            VariableRef(connector, "AvailabilityState"),
        ]
    )
    data = ocppkit.encode_payload(get)  # validates against the schema
    assert json.loads(data)["getVariableData"] == [
        {"attributeType": "Actual", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
        {
            "attributeType": "Actual",
            "component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "MessageTimeout", "instance": "Default"},
        },
        {
            "attributeType": "Target",
            "component": {"name": "FanCtrlr", "instance": "left"},
            "variable": {"name": "Speed"},
        },
        {
            "attributeType": "Actual",
            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 2}},
            "variable": {"name": "AvailabilityState"},
        },
    ]
    assert ocppkit.decode_payload(data, m.GetVariablesRequest) == get
    assert type(get) is m.GetVariablesRequest
    put = mirror.set_variables_request(
        [(COMM, "HeartbeatInterval", "60"), (Component("EVSE", evse_id=1), "Power", "11000", "MaxSet")]
    )
    data = ocppkit.encode_payload(put)
    assert ocppkit.decode_payload(data, m.SetVariablesRequest) == put
    assert json.loads(data)["setVariableData"][1] == {
        "attributeType": "MaxSet",
        "attributeValue": "11000",
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "Power"},
    }
    for base in ("FullInventory", "ConfigurationInventory", "SummaryInventory"):
        report = mirror.get_base_report_request(11, base)
        assert json.loads(ocppkit.encode_payload(report)) == {"requestId": 11, "reportBase": base}
    criteria = mirror.get_report_request(12, [COMM, VariableRef(connector, "AvailabilityState")], ["Problem"])
    assert json.loads(ocppkit.encode_payload(criteria)) == {
        "requestId": 12,
        "componentVariable": [
            {"component": {"name": "OCPPCommCtrlr"}},
            {
                "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 2}},
                "variable": {"name": "AvailabilityState"},
            },
        ],
        "componentCriteria": ["Problem"],
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_a_value_too_long_for_the_version_is_caught_by_the_codec(version: str) -> None:
    mirror = DeviceModelMirror(version)
    limit = 1000 if version == "2.0.1" else 2500  # attributeValue of SetVariableData
    ok = mirror.set_variables_request([(COMM, "Note", "x" * limit)])
    ocppkit.encode_payload(ok)
    too_long = mirror.set_variables_request([(COMM, "Note", "x" * (limit + 1))])
    with pytest.raises(ocppkit.OcppError, match=f"Longer than {limit}"):
        ocppkit.encode_payload(too_long)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "entries: expected a non-empty sequence"),
        ([("", "HeartbeatInterval")], r"entries\[0\]: component: expected a Component or a component name"),
        ([(COMM, "")], r"entries\[0\]: variable: expected a variable name or a \(name, instance\) pair"),
        ([(COMM, "HeartbeatInterval", "Latest")], r"entries\[0\]: attribute: expected an attribute type"),
        ([(Component("Connector", connector_id=1), "X")], r"entries\[0\]: component: .* a connector_id but no evse_id"),
        ([(COMM, "A"), (COMM, "A")], r"entries\[1\]: OCPPCommCtrlr.A \(Actual\) is asked for twice"),
        (["OCPPCommCtrlr"], r"entries\[0\]: expected a VariableRef or \(component, variable\[, attribute\]\)"),
    ],
)
def test_bad_get_entries_are_named(entries: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeviceModelMirror().get_variables_request(entries)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([(COMM, "HeartbeatInterval", 60)], r"entries\[0\]: value: OCPP values are strings"),
        ([(COMM, "A", "1"), (COMM, "A", "2")], r"entries\[1\]: OCPPCommCtrlr.A \(Actual\) is set twice"),
        ([(COMM, "A")], r"entries\[0\]: expected \(component, variable, value\[, attribute\]\)"),
    ],
)
def test_bad_set_entries_are_named(entries: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeviceModelMirror().set_variables_request(entries)


def test_bad_report_requests_are_named() -> None:
    mirror = DeviceModelMirror("2.1")
    with pytest.raises(ValueError, match="report_base: expected one of ConfigurationInventory, FullInventory"):
        mirror.get_base_report_request(1, "Everything")
    with pytest.raises(ValueError, match="request_id: expected an integer"):
        mirror.get_base_report_request("1", "FullInventory")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"criteria\[0\]: expected one of Active, Available, Enabled, Problem"):
        mirror.get_report_request(1, [], ["Broken"])
