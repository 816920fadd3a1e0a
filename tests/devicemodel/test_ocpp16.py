"""1.6 configuration keys on the device model: GetConfiguration, ChangeConfiguration, the key
table (spec, maps_to), and the store shared with 2.x variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec import UNSET

import ocppkit
from ocppkit import v16
from ocppkit.devicemodel import (
    KEYS_COMPONENT,
    Component,
    ConfigKey,
    Definition,
    DeviceModel,
    MemoryStore,
    SqliteStore,
    VariableSpec,
)

COMM = Component("OCPPCommCtrlr")
K = KEYS_COMPONENT


def definitions() -> list[Definition]:
    return [
        Definition(COMM, VariableSpec("HeartbeatInterval", data_type="integer", min_limit=0), {"Actual": "900"}),
        Definition(
            K, VariableSpec("AuthorizationKey", mutability="WriteOnly", max_limit=40), {"Actual": "0011223344556677"}
        ),
        Definition(K, VariableSpec("NumberOfConnectors", data_type="integer", mutability="ReadOnly"), {"Actual": "2"}),
        Definition(
            K, VariableSpec("GetConfigurationMaxKeys", data_type="integer", mutability="ReadOnly"), {"Actual": "3"}
        ),
        Definition(
            K,
            VariableSpec(
                "MeterValuesSampledData",
                data_type="MemberList",
                values_list=("Energy.Active.Import.Register", "Power.Active.Import", "Voltage"),
            ),
            {"Actual": "Energy.Active.Import.Register"},
        ),
        Definition(
            K, VariableSpec("WebSocketPingInterval", data_type="integer", reboot_required=True), {"Actual": "60"}
        ),
        Definition(K, VariableSpec("VendorSpecial", data_type="boolean"), {"Actual": "false"}),
    ]


TABLE = [
    ConfigKey(
        "HeartbeatInterval",
        VariableSpec("HeartbeatInterval", data_type="integer", min_limit=0),
        ("OCPPCommCtrlr", "HeartbeatInterval", None),
    ),
    ConfigKey("NumberOfConnectors"),
    ConfigKey("AuthorizationKey"),
    ConfigKey("ConnectionTimeOut", None, ("TxCtrlr", "EVConnectionTimeOut", None)),  # in neither place: unknown
]


def model(store: object = None) -> DeviceModel:
    return DeviceModel("1.6", store if store is not None else MemoryStore(), definitions(), keys=TABLE)  # type: ignore[arg-type]


def keys(response: v16.GetConfigurationResponse) -> dict[str, tuple[bool, object]]:
    got = [] if response.configuration_key is UNSET else response.configuration_key
    return {k.key: (k.readonly, k.value) for k in got}


def test_get_configuration_without_keys_reports_all_but_write_only() -> None:
    response = model().get_configuration(v16.GetConfigurationRequest())
    ocppkit.encode_payload(response)
    assert keys(response) == {
        "HeartbeatInterval": (False, "900"),  # through maps_to, from OCPPCommCtrlr
        "NumberOfConnectors": (True, "2"),
        "GetConfigurationMaxKeys": (True, "3"),
        "MeterValuesSampledData": (False, "Energy.Active.Import.Register"),
        "WebSocketPingInterval": (False, "60"),
        "VendorSpecial": (False, "false"),
    }
    assert list(keys(response))[:2] == ["HeartbeatInterval", "NumberOfConnectors"]  # the table's order first
    assert response.unknown_key is UNSET


def test_get_configuration_of_named_keys() -> None:
    response = model().get_configuration(
        v16.GetConfigurationRequest(key=["NumberOfConnectors", "Nope", "AuthorizationKey"])
    )
    assert keys(response) == {"NumberOfConnectors": (True, "2")}
    assert response.unknown_key == ["Nope", "AuthorizationKey"]  # a WriteOnly key is never disclosed
    response = model().get_configuration(v16.GetConfigurationRequest(key=["ConnectionTimeOut"]))
    assert response.configuration_key is UNSET and response.unknown_key == ["ConnectionTimeOut"]
    with pytest.raises(ocppkit.CallErrorReply) as info:
        model().get_configuration(v16.GetConfigurationRequest(key=["A", "B", "C", "D"]))
    assert info.value.error_code is ocppkit.ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    assert info.value.details == {"path": "$.key", "rule": "GetConfigurationMaxKeys", "limit": 3}


@pytest.mark.parametrize(
    ("key", "value", "status"),
    [
        ("HeartbeatInterval", "60", "Accepted"),
        ("HeartbeatInterval", "-1", "Rejected"),  # below minLimit
        ("HeartbeatInterval", "soon", "Rejected"),
        ("NumberOfConnectors", "3", "Rejected"),  # read-only
        ("AuthorizationKey", "8899aabbccddeeff", "Accepted"),  # write-only: settable
        ("MeterValuesSampledData", "Power.Active.Import,Voltage", "Accepted"),
        ("MeterValuesSampledData", "Power.Active.Import,Current.Import", "Rejected"),
        ("WebSocketPingInterval", "30", "RebootRequired"),
        ("UnknownKey", "1", "NotSupported"),
        ("ConnectionTimeOut", "30", "NotSupported"),
    ],
)
def test_change_configuration(key: str, value: str, status: str) -> None:
    dm = model()
    seen: list[tuple[str, str, str, str]] = []
    dm.on_change(lambda c, v, a, old, new: seen.append((c.name, v.name, old, new)))
    response = dm.change_configuration(v16.ChangeConfigurationRequest(key=key, value=value))
    assert response.status.value == status
    found = dm.key_variable(key)
    if status in ("Accepted", "RebootRequired"):
        assert found is not None
        assert dm.get(found[0], found[1].name) == value and len(seen) == 1 and seen[0][3] == value
    else:
        assert seen == []


def test_a_key_and_its_2x_variable_are_one_value_in_one_store(tmp_path: Path) -> None:
    dm = model(SqliteStore(tmp_path / "dm16.sqlite"))
    assert (
        dm.change_configuration(v16.ChangeConfigurationRequest(key="HeartbeatInterval", value="120")).status.value
        == "Accepted"
    )
    assert dm.get(COMM, "HeartbeatInterval") == "120" and dm.source(COMM, "HeartbeatInterval") == "csms"
    dm.store.close()
    again = model(SqliteStore(tmp_path / "dm16.sqlite"))  # the CSMS's value survives the restart
    assert keys(again.get_configuration(v16.GetConfigurationRequest(key=["HeartbeatInterval"]))) == {
        "HeartbeatInterval": (False, "120")
    }


def test_the_key_table_as_a_mapping_and_its_own_spec() -> None:
    # the table's 1.6 spec decides readonly and validation: here the 2.x variable is ReadWrite
    # but the 1.6 key is read-only
    table = {
        "HeartbeatInterval": (
            VariableSpec("HeartbeatInterval", data_type="integer", mutability="ReadOnly"),
            ("OCPPCommCtrlr", "HeartbeatInterval", None),
        )
    }
    dm = DeviceModel("1.6", MemoryStore(), definitions(), keys=table)
    assert keys(dm.get_configuration(v16.GetConfigurationRequest(key=["HeartbeatInterval"])))["HeartbeatInterval"] == (
        True,
        "900",
    )
    assert (
        dm.change_configuration(v16.ChangeConfigurationRequest(key="HeartbeatInterval", value="5")).status.value
        == "Rejected"
    )
    with pytest.raises(TypeError, match="ConfigKey"):
        DeviceModel("1.6", MemoryStore(), definitions(), keys=["HeartbeatInterval"])  # type: ignore[list-item]
