"""DeviceModel: GetVariables/SetVariables statuses in the order of OCPP_BEHAVIOUR §3.3, values,
limits, change callbacks; 2.0.1 and 2.1 (the same shapes in each version's generated types)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from msgspec import UNSET

import ocppkit
from ocppkit.devicemodel import Component, Definition, DeviceModel, MemoryStore, VariableSpec

from .dm_station import COMM, SEC, station

VERSIONS = ("2.0.1", "2.1")


def types(version: str) -> Any:
    return importlib.import_module("ocppkit.v201" if version == "2.0.1" else "ocppkit.v21")


def comp(m: Any, name: str, evse: int | None = None, connector: int | None = None, instance: str | None = None) -> Any:
    e = UNSET if evse is None else m.EVSEType(id=evse, connector_id=UNSET if connector is None else connector)
    return m.ComponentType(name=name, evse=e, instance=UNSET if instance is None else instance)


def var(m: Any, name: str, instance: str | None = None) -> Any:
    return m.VariableType(name=name, instance=UNSET if instance is None else instance)


def get(model: DeviceModel, m: Any, *entries: tuple[Any, ...]) -> list[Any]:
    data = [
        m.GetVariableDataType(component=c, variable=v, attribute_type=UNSET if a is None else m.AttributeEnumType(a))
        for c, v, a in entries
    ]
    response = model.get_variables(m.GetVariablesRequest(get_variable_data=data))
    ocppkit.encode_payload(response)  # a valid response
    return list(response.get_variable_result)


def set_(model: DeviceModel, m: Any, *entries: tuple[Any, ...]) -> list[Any]:
    data = [
        m.SetVariableDataType(
            component=c,
            variable=v,
            attribute_value=value,
            attribute_type=UNSET if a is None else m.AttributeEnumType(a),
        )
        for c, v, value, a in entries
    ]
    response = model.set_variables(m.SetVariablesRequest(set_variable_data=data))
    ocppkit.encode_payload(response)
    return list(response.set_variable_result)


@pytest.mark.parametrize("version", VERSIONS)
def test_get_variables_statuses_in_order_and_echo(version: str) -> None:
    m = types(version)
    model = DeviceModel(version, MemoryStore(), station())
    results = get(
        model,
        m,
        (comp(m, "NoSuchCtrlr"), var(m, "HeartbeatInterval"), None),
        (comp(m, "OCPPCommCtrlr"), var(m, "NoSuchVariable"), None),
        (comp(m, "OCPPCommCtrlr"), var(m, "HeartbeatInterval"), "Target"),
        (comp(m, "SecurityCtrlr"), var(m, "BasicAuthPassword"), None),
        (comp(m, "OCPPCommCtrlr"), var(m, "HeartbeatInterval"), None),
        (comp(m, "OCPPCommCtrlr"), var(m, "MessageTimeout", "Default"), "Actual"),
        (comp(m, "EVSE", 1), var(m, "Power"), "MaxSet"),
        (comp(m, "Connector", 1, 1), var(m, "ConnectorType"), None),
        (comp(m, "Connector", 1, 2), var(m, "ConnectorType"), None),  # no connector 2
        (comp(m, "OCPPCommCtrlr"), var(m, "MessageTimeout"), None),  # the instance is part of the name
    )
    statuses = [r.attribute_status.value for r in results]
    assert statuses == [
        "UnknownComponent",
        "UnknownVariable",
        "NotSupportedAttributeType",
        "Rejected",
        "Accepted",
        "Accepted",
        "Accepted",
        "Accepted",
        "UnknownComponent",
        "UnknownVariable",
    ]
    values = [r.attribute_value for r in results]
    assert values[:4] == [UNSET] * 4  # no value unless Accepted: a WriteOnly value never leaves
    assert values[4:8] == ["300", "30", "22000", "cType2"]
    assert results[3].attribute_status_info.reason_code == "WriteOnly"
    # each result echoes its entry
    assert results[2].attribute_type.value == "Target" and results[4].attribute_type is UNSET
    assert results[6].component.evse.id == 1 and results[6].variable.name == "Power"
    assert results[5].variable.instance == "Default"


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_component_wins_over_everything_after_it(version: str) -> None:
    m = types(version)
    model = DeviceModel(version, MemoryStore(), station())
    # an unknown component with an unknown variable and an unsupported attribute: UnknownComponent
    [r] = get(model, m, (comp(m, "Nope"), var(m, "Nope"), "MinSet"))
    assert r.attribute_status.value == "UnknownComponent"
    # a known component, an unknown variable, an attribute no variable has: UnknownVariable
    [r] = set_(model, m, (comp(m, "SecurityCtrlr"), var(m, "Nope"), "x", "MinSet"))
    assert r.attribute_status.value == "UnknownVariable"
    # a ReadOnly variable with an unsupported attribute: NotSupportedAttributeType before Rejected
    [r] = set_(model, m, (comp(m, "SecurityCtrlr"), var(m, "SecurityProfile"), "abc", "Target"))
    assert r.attribute_status.value == "NotSupportedAttributeType"
    # ReadOnly before the bad value: Rejected for ReadOnly
    [r] = set_(model, m, (comp(m, "SecurityCtrlr"), var(m, "SecurityProfile"), "abc", None))
    assert (r.attribute_status.value, r.attribute_status_info.reason_code) == ("Rejected", "ReadOnly")


@pytest.mark.parametrize("version", VERSIONS)
def test_set_variables_statuses_values_and_callbacks(version: str) -> None:
    m = types(version)
    model = DeviceModel(version, MemoryStore(), station())
    seen: list[tuple[str, str, str | None, str, str, str]] = []
    model.on_change(lambda c, v, a, old, new: seen.append((c.name, v.name, v.instance, a, old, new)))
    results = set_(
        model,
        m,
        (comp(m, "OCPPCommCtrlr"), var(m, "HeartbeatInterval"), "60", None),
        (comp(m, "OCPPCommCtrlr"), var(m, "HeartbeatInterval"), "sixty", None),
        (comp(m, "OCPPCommCtrlr"), var(m, "HeartbeatInterval"), "0", None),  # below minLimit 1
        (comp(m, "OCPPCommCtrlr"), var(m, "NetworkProfileConnectionAttempts"), "5", None),
        (comp(m, "SecurityCtrlr"), var(m, "BasicAuthPassword"), "another-password-16", None),  # WO: settable
        (comp(m, "SecurityCtrlr"), var(m, "OrganizationName"), "x" * 21, None),  # longer than maxLimit 20
        (comp(m, "TxCtrlr"), var(m, "TxStartPoint"), "EVConnected,Authorized", None),
        (comp(m, "TxCtrlr"), var(m, "TxStartPoint"), "EVConnected,Teleported", None),
        (comp(m, "TxCtrlr"), var(m, "StopTxOnInvalidId"), "yes", None),
        (comp(m, "EVSE", 1), var(m, "Power"), "1000", "MaxSet"),  # ReadOnly
    )
    statuses = [r.attribute_status.value for r in results]
    assert statuses == [
        "Accepted",
        "Rejected",
        "Rejected",
        "RebootRequired",
        "Accepted",
        "Rejected",
        "Accepted",
        "Rejected",
        "Rejected",
        "Rejected",
    ]
    assert results[1].attribute_status_info.reason_code == "InvalidValue"
    assert "integer" in results[1].attribute_status_info.additional_info
    assert "minLimit" in results[2].attribute_status_info.additional_info
    assert "maxLimit" in results[5].attribute_status_info.additional_info
    assert "valuesList" in results[7].attribute_status_info.additional_info
    assert "boolean" in results[8].attribute_status_info.additional_info
    assert model.get(COMM, "HeartbeatInterval") == "60" and model.source(COMM, "HeartbeatInterval") == "csms"
    assert model.get(COMM, "NetworkProfileConnectionAttempts") == "5"  # stored, applies after a reboot
    assert model.get(SEC, "BasicAuthPassword") == "another-password-16"
    assert model.get("TxCtrlr", "StopTxOnInvalidId") == "true"  # rejected values change nothing
    assert seen == [
        ("OCPPCommCtrlr", "HeartbeatInterval", None, "Actual", "300", "60"),
        ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", None, "Actual", "3", "5"),
        ("SecurityCtrlr", "BasicAuthPassword", None, "Actual", "s3cret-password-16ch", "another-password-16"),
        ("TxCtrlr", "TxStartPoint", None, "Actual", "PowerPathClosed", "EVConnected,Authorized"),
    ]


def test_a_failing_callback_is_logged_and_the_answer_stays(caplog: pytest.LogCaptureFixture) -> None:
    m = types("2.0.1")
    model = DeviceModel("2.0.1", MemoryStore(), station())

    @model.on_change
    def boom(*args: object) -> None:
        raise RuntimeError("application bug")

    [r] = set_(model, m, (comp(m, "OCPPCommCtrlr"), var(m, "HeartbeatInterval"), "61", None))
    assert r.attribute_status.value == "Accepted" and model.get(COMM, "HeartbeatInterval") == "61"
    assert "change callback of OCPPCommCtrlr.HeartbeatInterval failed" in caplog.text


def test_configuration_value_size_bounds_a_set() -> None:
    m = types("2.0.1")
    defs = station() + [Definition(Component("CustomCtrlr"), VariableSpec("Note"), {"Actual": ""})]
    model = DeviceModel("2.0.1", MemoryStore(), defs)
    [ok, long] = set_(
        model,
        m,
        (comp(m, "CustomCtrlr"), var(m, "Note"), "n" * 100, None),
        (comp(m, "CustomCtrlr"), var(m, "Note"), "n" * 101, None),
    )
    assert ok.attribute_status.value == "Accepted"
    assert long.attribute_status.value == "Rejected"
    assert "ConfigurationValueSize 100" in long.attribute_status_info.additional_info


@pytest.mark.parametrize("version", VERSIONS)
def test_items_and_bytes_per_message_answer_a_callerror(version: str) -> None:
    m = types(version)
    model = DeviceModel(
        version,
        MemoryStore(),
        station(items=2)
        + [
            Definition(
                Component("DeviceDataCtrlr"),
                VariableSpec("BytesPerMessage", "SetVariables", "integer", mutability="ReadOnly"),
                {"Actual": "200"},
            )
        ],
    )
    entry = (comp(m, "OCPPCommCtrlr"), var(m, "HeartbeatInterval"), None)
    assert len(get(model, m, entry, entry)) == 2
    with pytest.raises(ocppkit.CallErrorReply) as info:
        get(model, m, entry, entry, entry)
    assert info.value.error_code is ocppkit.ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    assert info.value.details == {"path": "$.getVariableData", "rule": "ItemsPerMessage[GetVariables]", "limit": 2}
    small = (comp(m, "OCPPCommCtrlr"), var(m, "HeartbeatInterval"), "90", None)
    assert set_(model, m, small)[0].attribute_status.value == "Accepted"
    big = (comp(m, "SecurityCtrlr"), var(m, "OrganizationName"), "o" * 100, None)
    with pytest.raises(ocppkit.CallErrorReply) as info:
        set_(model, m, small, big)
    assert info.value.error_code is ocppkit.ErrorCode.FORMAT_VIOLATION
    assert info.value.details["rule"] == "BytesPerMessage[SetVariables]"
    assert model.get(COMM, "HeartbeatInterval") == "90"  # nothing of the refused request applied


def test_the_stations_own_access() -> None:
    model = DeviceModel("2.0.1", MemoryStore(), station())
    evse = Component("EVSE", evse_id=1)
    model.set(evse, "Power", "7200.5")  # ReadOnly for the CSMS, not for the station
    assert model.get(evse, "Power") == "7200.5" and model.source(evse, "Power") == "station"
    assert model.get(evse, "Power", "MaxSet") == "22000"
    with pytest.raises(ValueError, match=r"EVSE evse 1\.Power Actual: 'lots': not a decimal"):
        model.set(evse, "Power", "lots")
    with pytest.raises(ValueError, match="above the maxLimit 22000"):
        model.set(evse, "Power", "22001")
    with pytest.raises(KeyError, match="no variable OCPPCommCtrlr.Nope"):
        model.get(COMM, "Nope")
    with pytest.raises(KeyError, match="no Target attribute"):
        model.get(COMM, "HeartbeatInterval", "Target")
    assert model.has(COMM, "MessageTimeout", instance="Default") and not model.has(COMM, "MessageTimeout")
    assert model.spec(COMM, "HeartbeatInterval").unit == "s"
    assert model.limit("ConfigurationValueSize") == 100 and model.limit("ItemsPerMessage", "GetVariables") is None


def test_requests_of_another_version_are_refused() -> None:
    from ocppkit import v16

    model = DeviceModel("2.0.1", MemoryStore(), station())
    with pytest.raises(TypeError, match="OCPP 1.6 request; this model serves 2.0.1"):
        model.get_configuration(v16.GetConfigurationRequest())
    with pytest.raises(ValueError, match="version"):
        DeviceModel("3.0")


def test_bad_definitions_are_named() -> None:
    with pytest.raises(ValueError, match=r"OCPPCommCtrlr\.HeartbeatInterval Actual value 'soon': not an integer"):
        DeviceModel(
            "2.0.1",
            MemoryStore(),
            [Definition(COMM, VariableSpec("HeartbeatInterval", data_type="integer"), {"Actual": "soon"})],
        )
    twice = [Definition(COMM, VariableSpec("A")), Definition(COMM, VariableSpec("A"))]
    with pytest.raises(ValueError, match="OCPPCommCtrlr.A is defined twice"):
        DeviceModel("2.0.1", MemoryStore(), twice)
    with pytest.raises(ValueError, match="has a value for Target"):
        DeviceModel("2.0.1", MemoryStore(), [Definition(COMM, VariableSpec("A"), {"Target": "1"})])


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        (Definition(Component("C" * 51), VariableSpec("A")), "component name is longer than 50"),
        (Definition(COMM, VariableSpec("A", instance="i" * 51)), "variable instance is longer than 50"),
        (Definition(COMM, VariableSpec("A", unit="u" * 17)), "unit is longer than 16"),
        (Definition(COMM, VariableSpec("A", data_type="float")), "data_type 'float' is not one of"),
        (Definition(COMM, VariableSpec("A", mutability="Sometimes")), "mutability 'Sometimes'"),
        (Definition(COMM, VariableSpec("A", attributes=("Actual", "Actual"))), "distinct attribute types"),
        (Definition(COMM, VariableSpec("A", attributes=("Peak",))), "attribute type 'Peak'"),
    ],
)
def test_definitions_outside_the_schema_are_refused_at_start(definition: Definition, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        DeviceModel("2.0.1", MemoryStore(), [definition])
