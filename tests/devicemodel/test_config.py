"""The configuration file: the shipped examples load, every problem is named with its place,
and validate_value applies the rule of each data type."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib

from ocppkit.devicemodel import Component, Definition, VariableSpec, standard
from ocppkit.devicemodel.config import ConfigError, load_config, validate_value

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "devicemodel"


def _example(name: str) -> dict[str, Any]:
    return tomllib.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def _find(defs: list[Definition], comp: Component, name: str, instance: str | None = None) -> Definition:
    found = [d for d in defs if d.component == comp and (d.variable.name, d.variable.instance) == (name, instance)]
    assert len(found) == 1, (comp, name, instance)
    return found[0]


def _problems(source: Any, version: str = "2.0.1") -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        load_config(source, version)
    assert isinstance(info.value, ValueError)
    return info.value.problems


# ------------------------------------------------------------------ the examples


@pytest.mark.parametrize(("name", "version"), [("station-201.toml", "2.0.1"), ("station-21.toml", "2.1")])
def test_the_2x_examples_load_with_every_required_variable(name: str, version: str) -> None:
    defs = load_config(EXAMPLES / name, version)
    cat = standard.catalog(version)
    components = {d.component for d in defs}
    assert {c.name for c in components} >= set(cat.mandatory())
    for comp in components:
        for var in cat.required(comp.name):
            assert "Actual" in _find(defs, comp, var.spec.name, var.spec.instance).values
    for d in defs:
        for value in d.values.values():
            assert validate_value(d.variable, value) is None, d
    power = _find(defs, Component("EVSE", evse_id=1), "Power")
    assert power.values == {"Actual": "0", "MaxSet": "22000"} and power.variable.max_limit == 22000
    assert _find(defs, Component("Connector", evse_id=2, connector_id=1), "ConnectorType").values["Actual"] == "sType2"
    beat = _find(defs, Component("OCPPCommCtrlr"), "HeartbeatInterval")
    assert (
        beat.values == {"Actual": "300"} and beat.variable == cat.find(*standard.OCPPCommCtrlr.HeartbeatInterval).spec
    )  # type: ignore[union-attr]
    priority = _find(defs, Component("OCPPCommCtrlr"), "NetworkConfigurationPriority")
    assert priority.variable.reboot_required and priority.variable.values_list == ("1", "2")
    fan = _find(defs, Component("CoolingFan", evse_id=1), "Speed")
    assert fan.variable.unit == "rpm" and fan.variable.mutability == "ReadOnly" and fan.values["Actual"] == "1200"
    if version == "2.1":
        v2x = _find(defs, Component("V2XChargingCtrlr", evse_id=1), "SupportedOperationModes")
        assert v2x.values["Actual"] == "ChargingOnly,CentralSetpoint"
        url = _find(defs, Component("NetworkConfiguration", "1"), "OcppCsmsUrl")
        assert url.values["Actual"].startswith("wss://")


def test_the_1_6_example_rides_on_the_2_0_1_variables() -> None:
    defs = load_config(EXAMPLES / "station-16.toml", "1.6")
    beat = _find(defs, Component("OCPPCommCtrlr"), "HeartbeatInterval")
    assert beat.values == {"Actual": "300"} and beat.variable.data_type == "integer"
    attempts = _find(defs, Component("OCPPCommCtrlr"), "MessageAttempts", "TransactionEvent")
    assert attempts.values == {"Actual": "3"}
    connectors = _find(defs, Component(standard.KEYS_COMPONENT), "NumberOfConnectors")
    assert connectors.variable.mutability == "ReadOnly" and connectors.values == {"Actual": "2"}
    key = _find(defs, Component("SecurityCtrlr"), "BasicAuthPassword")
    assert key.variable.mutability == "WriteOnly"
    for d in defs:  # every definition sits where catalog("1.6") says its key lives
        keys = [k for k in standard.catalog("1.6").keys() if k.location == (d.component.name, d.variable.name, None)]
        keys += [k for k in standard.catalog("1.6").keys() if k.location[:2] == (d.component.name, d.variable.name)]
        assert keys or d.component.name == standard.KEYS_COMPONENT
    vendor = _find(defs, Component(standard.KEYS_COMPONENT), "MaxCurrentPerPhase")
    assert vendor.variable.unit == "A" and vendor.variable.max_limit == 32


def test_json_and_a_mapping_give_the_same_definitions_as_toml(tmp_path: Path) -> None:
    data = _example("station-201.toml")
    path = tmp_path / "station.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    from_toml = load_config(str(EXAMPLES / "station-201.toml"), "2.0.1")
    assert load_config(path, "2.0.1") == from_toml
    assert load_config(data, "2.0.1") == from_toml


# ------------------------------------------------------------------ every problem, with its place


def test_every_problem_is_named_with_file_component_and_variable(tmp_path: Path) -> None:
    data = _example("station-201.toml")
    del data["TxCtrlr"]["TxStopPoint"]  # required, missing
    data["TxCtrlr"]["TxStartPoint"] = "Plugged"  # not in the list
    data["OCPPCommCtrlr"]["HeartbeatIntervall"] = 60  # misspelt: no such standard variable
    data["OCPPCommCtrlr"]["OfflineThreshold"] = -5  # below the minLimit
    data["ClockCtrlr"]["DateTime"] = "2026-13-01T00:00:00Z"  # no 13th month
    data["EVSE"][1]["Connector"][0]["ConnectorType"] = "Schuko"
    del data["EVSE"][0]["Power"]
    data["custom"][0]["variables"]["Level"] = {"type": "float", "value": "1"}  # unknown data type
    del data["SecurityCtrlr"]
    path = tmp_path / "bad.toml"
    path.write_text(_to_toml(data), encoding="utf-8")
    problems = _problems(path)
    where = str(path)
    expected = [
        f"{where}: SecurityCtrlr: missing",
        f"{where}: TxCtrlr: TxStopPoint: required variable missing",
        f"{where}: TxCtrlr: TxStartPoint: value 'Plugged': 'Plugged' is not in the valuesList",
        f"{where}: OCPPCommCtrlr: HeartbeatIntervall: OCPPCommCtrlr has no standardized variable HeartbeatIntervall",
        f"{where}: OCPPCommCtrlr: OfflineThreshold: value '-5': -5 is below the minLimit 0",
        f"{where}: ClockCtrlr: DateTime: value '2026-13-01T00:00:00Z': not a valid dateTime",
        f"{where}: Connector 1 of EVSE 2: ConnectorType: value 'Schuko'",
        f"{where}: EVSE 1: Power: required variable missing",
        f"{where}: CoolingFan on EVSE 1: Level: unknown data type 'float'",
    ]
    for text in expected:
        assert any(p.startswith(text) for p in problems), (text, problems)
    assert len(problems) == len(expected), problems


def _to_toml(data: dict[str, Any]) -> str:
    """Just enough TOML writing for these tests: JSON values are valid TOML inline values for
    strings, numbers, booleans, arrays and inline tables once keys are quoted."""

    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)

    lines = [f"{json.dumps(k)} = {value(v)}" for k, v in data.items() if not isinstance(v, (dict, list))]
    for k, v in data.items():
        if isinstance(v, (dict, list)):
            lines.append(f"{json.dumps(k)} = {value(v)}")
    return "\n".join(lines) + "\n"


def test_characteristics_may_be_narrowed_not_widened() -> None:
    data = _example("station-201.toml")
    data["SampledDataCtrlr"]["TxUpdatedMeasurands"] = {
        "value": "Energy.Active.Import.Register",
        "values_list": ["Energy.Active.Import.Register", "Voltage"],
    }
    defs = load_config(data, "2.0.1")
    narrowed = _find(defs, Component("SampledDataCtrlr"), "TxUpdatedMeasurands")
    assert narrowed.variable.values_list == ("Energy.Active.Import.Register", "Voltage")
    data["AuthCtrlr"]["AuthorizeRemoteStart"] = {"value": True, "mutability": "ReadOnly"}
    defs = load_config(data, "2.0.1")
    assert _find(defs, Component("AuthCtrlr"), "AuthorizeRemoteStart").variable.mutability == "ReadOnly"
    data["SampledDataCtrlr"]["TxUpdatedMeasurands"] = {"value": "Voltage", "values_list": "Voltage,Temperature"}
    data["ChargingStation"]["Model"] = {"value": "X", "mutability": "ReadWrite"}  # ReadOnly in the standard
    data["SecurityCtrlr"]["SecurityProfile"] = {"value": 2, "max_limit": 4}  # the standard's is 3
    data["SmartChargingCtrlr"]["Entries[ChargingProfiles]"] = 0  # its maxLimit must be stated
    data["EVSE"][0]["Power"] = {"value": 0, "Target": 100, "max_limit": 22000}  # EVSE.Power has no Target
    data["DeviceDataCtrlr"]["ReportingValueSize"] = {"value": 100, "colour": "red"}
    problems = _problems(data)
    for text in (
        "SampledDataCtrlr: TxUpdatedMeasurands: values_list may only narrow the standard's: Temperature not in it",
        "SecurityCtrlr: SecurityProfile: max_limit 4 is above the standard's maxLimit",
        "SmartChargingCtrlr: Entries[ChargingProfiles]: needs max_limit",
        "EVSE 1: Power: attribute Target is not supported (it has Actual, MaxSet)",
        "DeviceDataCtrlr: ReportingValueSize: unknown key(s) colour",
        "ChargingStation: Model: mutability may only narrow ReadWrite to ReadOnly (it is ReadOnly)",
    ):
        assert any(text in p for p in problems), (text, problems)
    assert len(problems) == 6, problems


def test_a_2_1_measurand_list_must_be_narrowed_to_fit_a_report() -> None:
    data = _example("station-21.toml")
    data["SampledDataCtrlr"]["TxUpdatedMeasurands"] = "Voltage"
    (problem,) = _problems(data, "2.1")
    assert "SampledDataCtrlr: TxUpdatedMeasurands: its valuesList is 1275 characters" in problem
    assert "narrow it with values_list" in problem


def test_layout_errors() -> None:
    data = _example("station-201.toml")
    data["V2XChargingCtrlr"] = {"Enabled": True}  # a 2.1 component
    data["EVSE"][1]["id"] = 3  # ids 1..n
    data["Connector"] = {"Available": True}  # connectors live in their EVSE
    data["custom"].append({"name": "TxCtrlr", "variables": {}})
    data["custom"].append({"variables": {}})
    problems = _problems(data)
    for text in (
        "V2XChargingCtrlr: not a standardized component of OCPP 2.0.1",
        "EVSE: ids are 1..n without gaps or repeats, got [1, 3]",
        "Connector: sits on a connector: declare it inside its [[EVSE]]",
        "TxCtrlr: is a standardized component: declare it at the top",
        "custom: each [[custom]] table needs a name",
    ):
        assert any(text in p for p in problems), (text, problems)


def test_a_vendor_variable_on_a_standard_component_says_so() -> None:
    data = _example("station-201.toml")
    data["TxCtrlr"]["VendorLock"] = {"custom": True, "type": "boolean", "value": True}
    defs = load_config(data, "2.0.1")
    assert _find(defs, Component("TxCtrlr"), "VendorLock").values == {"Actual": "true"}


def test_1_6_problems() -> None:
    data = _example("station-16.toml")
    del data["keys"]["HeartbeatInterval"]  # Core: required
    del data["keys"]["ChargingScheduleMaxPeriods"]  # SmartCharging is listed: required
    data["keys"]["HeartBeatInterval"] = 60  # not a standard key
    data["keys"]["MeterValuesSampledDataMaxLength"] = 1  # the list holds two
    data["keys"]["LightIntensity"] = 150  # 0..100
    data["custom"]["Odd"] = {"type": "float", "value": 1}
    problems = _problems(data, "1.6")
    for text in (
        "keys: HeartbeatInterval: required key missing (profile Core)",
        "keys: ChargingScheduleMaxPeriods: required key missing (profile SmartCharging)",
        "keys: HeartBeatInterval: not a standard 1.6 key",
        "keys: MeterValuesSampledData: 2 items, more than MeterValuesSampledDataMaxLength = 1",
        "keys: LightIntensity: value '150': 150 is above the maxLimit 100",
        "custom: Odd: unknown data type 'float'",
    ):
        assert any(text in p for p in problems), (text, problems)
    assert len(problems) == 6, problems
    # A key the specification lets the station make read-only.
    data = _example("station-16.toml")
    data["keys"]["AuthorizeRemoteTxRequests"] = {"value": True, "mutability": "ReadOnly"}
    remote = _find(load_config(data, "1.6"), Component("AuthCtrlr"), "AuthorizeRemoteStart")
    assert remote.variable.mutability == "ReadOnly" and remote.values == {"Actual": "true"}
    # Without SmartCharging among the profiles its keys are not required.
    data = _example("station-16.toml")
    data["profiles"] = ["Core"]
    del data["keys"]["ChargingScheduleMaxPeriods"]
    assert load_config(data, "1.6")


def test_the_file_itself(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x: 1")
    assert _problems(tmp_path / "a.yaml")[0].endswith("a configuration file ends in .toml or .json")
    assert "cannot read it" in _problems(tmp_path / "missing.toml")[0]
    (tmp_path / "b.toml").write_text("[OCPPCommCtrlr\n")
    assert "not valid TOML" in _problems(tmp_path / "b.toml")[0]
    (tmp_path / "c.json").write_text("[1, 2]")
    assert "an object (a table) at the top" in _problems(tmp_path / "c.json")[0]
    data = _example("station-201.toml")
    assert "says version '2.0.1', loaded as '2.1'" in _problems(data, "2.1")[0]
    with pytest.raises(ValueError, match="'3.0'") as info:
        load_config(data, "3.0")
    assert not isinstance(info.value, ConfigError)


def test_without_a_toml_parser_the_error_says_what_to_do(tmp_path: Path) -> None:
    """Python 3.10 has no tomllib; without the tomli package TOML is refused with a clear error
    (run in a subprocess that hides both modules)."""
    code = (
        "import sys; sys.modules['tomllib'] = None; sys.modules['tomli'] = None\n"
        "from ocppkit.devicemodel.config import load_config, ConfigError\n"
        f"try:\n    load_config({str(EXAMPLES / 'station-201.toml')!r}, '2.0.1')\n"
        "except ConfigError as e:\n    print(e.problems[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "TOML needs Python 3.11+ or the tomli package" in out and "use JSON" in out


# ------------------------------------------------------------------ validate_value, per data type


def _spec(data_type: str, **kw: Any) -> VariableSpec:
    return VariableSpec("X", data_type=data_type, **kw)


CASES: list[tuple[VariableSpec, str, str | None]] = [
    (_spec("integer"), "42", None),
    (_spec("integer"), "-7", None),
    (_spec("integer"), "4.2", "not an integer (dataType integer)"),
    (_spec("integer"), "", "not an integer"),
    (_spec("integer"), "1e3", "not an integer"),
    (_spec("integer", min_limit=1, max_limit=3), "0", "below the minLimit 1"),
    (_spec("integer", min_limit=1, max_limit=3), "4", "above the maxLimit 3"),
    (_spec("integer", min_limit=1, max_limit=3), "3", None),
    (_spec("decimal"), "0.5", None),
    (_spec("decimal"), "-12", None),
    (_spec("decimal"), ".5", None),
    (_spec("decimal"), "1,5", "not a decimal (dataType decimal)"),
    (_spec("decimal"), "NaN", "not a decimal"),
    (_spec("decimal", max_limit=22000), "22000.1", "above the maxLimit 22000"),
    (_spec("boolean"), "true", None),
    (_spec("boolean"), "false", None),
    (_spec("boolean"), "True", "a boolean is 'true' or 'false'"),
    (_spec("boolean"), "1", "a boolean is 'true' or 'false'"),
    (_spec("dateTime"), "2026-02-28T23:59:59Z", None),
    (_spec("dateTime"), "2026-02-28T23:59:59.123+01:00", None),
    (_spec("dateTime"), "2026-02-29T00:00:00Z", "not a valid dateTime"),
    (_spec("dateTime"), "2026-02-28T23:59:59", "not an RFC 3339 dateTime"),
    (_spec("dateTime"), "2026-02-28", "not an RFC 3339 dateTime"),
    (_spec("dateTime"), "2026-02-28T10:00:00+25:00", "bad UTC offset"),
    (_spec("string", max_limit=3), "abc", None),
    (_spec("string", max_limit=3), "abcd", "4 characters, longer than the maxLimit 3"),
    (_spec("string", min_limit=16, max_limit=40), "short", "5 characters, shorter than the minLimit 16"),
    (_spec("string", values_list=("EUR", "USD")), "GBP", "'GBP' is not in the valuesList (EUR,USD)"),
    (_spec("string"), "", None),
    (_spec("passwordString", min_limit=2), "pw", None),
    (_spec("OptionList", values_list=("A", "B")), "A", None),
    (_spec("OptionList", values_list=("A", "B")), "A,B", "an OptionList value is exactly one member, got 2"),
    (_spec("OptionList", values_list=("A", "B")), "", "an OptionList value is exactly one member, got 0"),
    (_spec("OptionList", values_list=("A", "B")), "C", "'C' is not in the valuesList (A,B)"),
    (_spec("MemberList", values_list=("A", "B", "C")), "C,A", None),
    (_spec("MemberList", values_list=("A", "B", "C")), "", None),
    (_spec("MemberList", values_list=("A", "B", "C")), "A,A", "a MemberList value names a member twice"),
    (_spec("MemberList", values_list=("A", "B", "C")), "A,D", "'D' is not in the valuesList"),
    (_spec("MemberList", values_list=("A", "B")), "A, B", "' B' is not in the valuesList"),
    (_spec("MemberList", values_list=("A", "B")), "A,,B", "has an empty member"),
    (_spec("SequenceList", values_list=("NTP", "GPS", "Heartbeat")), "GPS,NTP", None),
    (_spec("SequenceList", values_list=("NTP", "GPS")), "GPS,GPS", "a SequenceList value names a member twice"),
    (_spec("MemberList", max_limit=3), "A,BC", "4 characters, longer than the maxLimit 3"),
    (_spec("SequenceList"), "1,2", None),
    (_spec("float"), "1", "unknown dataType 'float'"),
]


@pytest.mark.parametrize(("spec", "value", "reason"), CASES, ids=[f"{c[0].data_type}:{c[1]!r}" for c in CASES])
def test_validate_value(spec: VariableSpec, value: str, reason: str | None) -> None:
    got = validate_value(spec, value)
    if reason is None:
        assert got is None
    else:
        assert got is not None and reason in got, got


def test_validate_value_refuses_what_is_not_a_string() -> None:
    assert validate_value(_spec("integer"), 5) == "a value is a string, not int"  # type: ignore[arg-type]


def test_toml_date_times_and_instances_declared_twice(tmp_path: Path) -> None:
    text = (EXAMPLES / "station-201.toml").read_text(encoding="utf-8")
    path = tmp_path / "clock.toml"
    path.write_text(text.replace('DateTime = "2026-01-01T00:00:00Z"', "DateTime = 2026-01-01T00:00:00Z"))
    clock = _find(load_config(path, "2.0.1"), Component("ClockCtrlr"), "DateTime")
    assert clock.values == {"Actual": "2026-01-01T00:00:00+00:00"}
    path.write_text(text.replace('DateTime = "2026-01-01T00:00:00Z"', "DateTime = 2026-01-01T00:00:00"))
    (problem,) = _problems(path)
    assert "ClockCtrlr: DateTime: value '2026-01-01T00:00:00': not an RFC 3339 dateTime" in problem
    data = _example("station-21.toml")
    data["NetworkConfiguration"].append(dict(data["NetworkConfiguration"][0]))
    problems = _problems(data, "2.1")
    assert any("NetworkConfiguration[1]: OcppCsmsUrl: declared twice" in p for p in problems), problems
