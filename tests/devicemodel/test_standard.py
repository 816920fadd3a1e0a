"""The standard catalogue: the required variables of the specification, facts checked against
the OCA schemas, the typed names, and the 1.6 keys with their 2.0.1 counterparts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codegen.loader import wheel_schema_root
from ocppkit import encode_payload
from ocppkit.devicemodel import standard
from ocppkit.devicemodel.spec import DATA_TYPES, MUTABILITIES, VariableSpec

#: OCPP_BEHAVIOUR.md §3.1: the variables each component must have when it is implemented.
REQUIRED_201 = {
    "ChargingStation": {"AvailabilityState", "Available", "SupplyPhases"},
    "EVSE": {"AvailabilityState", "Available", "Power", "SupplyPhases"},
    "Connector": {"Available", "ConnectorType", "SupplyPhases", "AvailabilityState"},
    "OCPPCommCtrlr": {
        "FileTransferProtocols",
        "MessageTimeout[Default]",
        "MessageAttemptInterval[TransactionEvent]",
        "MessageAttempts[TransactionEvent]",
        "NetworkConfigurationPriority",
        "NetworkProfileConnectionAttempts",
        "OfflineThreshold",
        "ResetRetries",
        "UnlockOnEVSideDisconnect",
        "ActiveNetworkProfile",
    },
    "SecurityCtrlr": {"CertificateEntries", "OrganizationName", "SecurityProfile"},
    "DeviceDataCtrlr": {
        f"{n}[{i}]"
        for n in ("BytesPerMessage", "ItemsPerMessage")
        for i in ("GetReport", "GetVariables", "SetVariables")
    },
    "ClockCtrlr": {"DateTime", "TimeSource"},
    "TxCtrlr": {"EVConnectionTimeOut", "StopTxOnEVSideDisconnect", "StopTxOnInvalidId", "TxStartPoint", "TxStopPoint"},
    "SampledDataCtrlr": {
        "TxEndedInterval",
        "TxEndedMeasurands",
        "TxStartedMeasurands",
        "TxUpdatedInterval",
        "TxUpdatedMeasurands",
    },
    "AlignedDataCtrlr": {"Interval", "Measurands", "TxEndedInterval", "TxEndedMeasurands"},
    "AuthCtrlr": {"AuthorizeRemoteStart", "LocalAuthorizeOffline", "LocalPreAuthorize"},
    "LocalAuthListCtrlr": {"BytesPerMessage", "Entries", "ItemsPerMessage"},
    "MonitoringCtrlr": {"BytesPerMessage[SetVariableMonitoring]", "ItemsPerMessage[SetVariableMonitoring]"},
    "SmartChargingCtrlr": {
        "Entries[ChargingProfiles]",
        "LimitChangeSignificance",
        "PeriodsPerSchedule",
        "ProfileStackLevel",
        "RateUnit",
    },
    "DisplayMessageCtrlr": {"DisplayMessages", "SupportedFormats", "SupportedPriorities"},
    "ISO15118Ctrlr": {"ContractValidationOffline"},
    "TariffCostCtrlr": {"Currency", "TariffFallbackMessage", "TotalCostFallbackMessage"},
}
REQUIRED_21_ADDED = {
    "DisplayMessageCtrlr": {"SupportedStates", "Language"},
    "V2XChargingCtrlr": {"Enabled", "SupportedEnergyTransferModes", "SupportedOperationModes"},
    "NetworkConfiguration": {
        "OcppCsmsUrl",
        "OcppInterface",
        "OcppTransport",
        "OcppVersion",
        "MessageTimeout",
        "SecurityProfile",
        "BasicAuthPassword",
        "VpnEnabled",
        "ApnEnabled",
    },
}


def _label(spec: VariableSpec) -> str:
    return f"{spec.name}[{spec.instance}]" if spec.instance else spec.name


def _enum(folder: str, name: str) -> list[str]:
    for path in sorted((wheel_schema_root() / folder / "schemas").glob("*.json")):
        defs = json.loads(path.read_text(encoding="utf-8")).get("definitions", {})
        if name in defs:
            return list(defs[name]["enum"])
    raise AssertionError(f"{name} not in the {folder} schemas")


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_every_required_variable_of_the_specification_is_required(version: str) -> None:
    cat = standard.catalog(version)
    expected = {k: set(v) for k, v in REQUIRED_201.items()}
    if version == "2.1":
        for comp, names in REQUIRED_21_ADDED.items():
            expected.setdefault(comp, set()).update(names)
    for comp, names in expected.items():
        assert {_label(v.spec) for v in cat.required(comp)} == names, comp
    # ... and nothing else is required.
    assert {c for c in cat.components() if cat.required(c)} == set(expected)


def test_2_1_has_its_own_components_and_2_0_1_not() -> None:
    old, new = standard.catalog("2.0.1"), standard.catalog("2.1")
    assert set(old.components()) < set(new.components())
    assert set(new.components()) - set(old.components()) == {"V2XChargingCtrlr", "NetworkConfiguration"}
    assert new.instanced("NetworkConfiguration") and not old.instanced("NetworkConfiguration")
    assert new.scope("V2XChargingCtrlr") == "evse" and old.scope("V2XChargingCtrlr") is None
    assert old.find("SecurityCtrlr", "AllowSecurityProfileDowngrade") is None
    assert new.find("SecurityCtrlr", "AllowSecurityProfileDowngrade") is not None
    # 2.1 inherits everything else: HeartbeatInterval is the same record content.
    a = old.find(*standard.OCPPCommCtrlr.HeartbeatInterval)
    b = new.find(*standard.OCPPCommCtrlr.HeartbeatInterval)
    assert a is not None and a == b and a.spec.unit == "s" and a.spec.data_type == "integer"


@pytest.mark.parametrize(("version", "folder"), [("2.0.1", "v201"), ("2.1", "v21")])
def test_facts_agree_with_the_schemas(version: str, folder: str) -> None:
    cat = standard.catalog(version)
    data_types = set(_enum(folder, "DataEnumType"))
    mutabilities = set(_enum(folder, "MutabilityEnumType"))
    attributes = set(_enum(folder, "AttributeEnumType"))
    for comp in cat.components():
        for var in cat.variables(comp):
            assert var.spec.data_type in data_types, (comp, var.spec.name)
            assert var.spec.mutability in mutabilities and set(var.spec.attributes) <= attributes
            assert var.spec.unit is None or len(var.spec.unit) <= 16
            assert var.scope in ("station", "evse", "connector") and var.block
    measurands = _enum(folder, "MeasurandEnumType")
    for comp, name in [("SampledDataCtrlr", "TxUpdatedMeasurands"), ("AlignedDataCtrlr", "Measurands")]:
        var = cat.find(comp, name)
        assert var is not None and list(var.spec.values_list or ()) == measurands
    formats = cat.find("DisplayMessageCtrlr", "SupportedFormats")
    assert formats is not None and list(formats.spec.values_list or ()) == _enum(folder, "MessageFormatEnumType")
    if version == "2.0.1":
        connector = cat.find("Connector", "ConnectorType")
        assert connector is not None and connector.spec.values_list is not None
        assert set(_enum(folder, "ConnectorEnumType")) | {"cGBT", "cChaoJi", "OppCharge"} == set(
            connector.spec.values_list
        )
    else:
        modes = cat.find("V2XChargingCtrlr", "SupportedEnergyTransferModes")
        assert modes is not None and list(modes.spec.values_list or ()) == _enum(folder, "EnergyTransferModeEnumType")
        ops = cat.find("V2XChargingCtrlr", "SupportedOperationModes")
        assert ops is not None and list(ops.spec.values_list or ()) == _enum(folder, "OperationModeEnumType")


@pytest.mark.parametrize(("version", "package"), [("2.0.1", "v201"), ("2.1", "v21")])
def test_a_report_of_the_whole_catalogue_is_a_valid_notify_report(version: str, package: str) -> None:
    """Every variable's characteristics, as a station reports them, pass the schema (the value
    lists longer than a report carries are the ones a configuration must narrow)."""
    mod: Any = __import__(f"ocppkit.{package}", fromlist=["NotifyReportRequest"])
    cat = standard.catalog(version)
    data = []

    def given(**kw: Any) -> dict[str, Any]:
        return {k: v for k, v in kw.items() if v is not None}

    for comp in cat.components():
        scope = cat.scope(comp)
        evse = mod.EVSEType(**given(id=1, connector_id=1 if scope == "connector" else None))
        where = given(evse=evse if scope != "station" else None, instance="1" if cat.instanced(comp) else None)
        for var in cat.variables(comp):
            spec = var.spec
            values = ",".join(spec.values_list) if spec.values_list else None
            if values is not None and len(values) > 1000:
                continue
            characteristics = given(
                unit=spec.unit, min_limit=spec.min_limit, max_limit=spec.max_limit, values_list=values
            )
            data.append(
                mod.ReportDataType(
                    component=mod.ComponentType(name=comp, **where),
                    variable=mod.VariableType(**given(name=spec.name, instance=spec.instance)),
                    variable_attribute=[
                        mod.VariableAttributeType(type=a, mutability=spec.mutability) for a in spec.attributes
                    ],
                    variable_characteristics=mod.VariableCharacteristicsType(
                        data_type=spec.data_type, supports_monitoring=spec.supports_monitoring, **characteristics
                    ),
                )
            )
    assert len(data) > 150
    msg = mod.NotifyReportRequest(request_id=1, generated_at="2026-01-01T00:00:00Z", seq_no=0, report_data=data)
    assert encode_payload(msg)  # validates against the version's schema rules


def test_every_typed_name_resolves_and_every_variable_has_one() -> None:
    spaces = [getattr(standard, name) for name in standard.__all__ if hasattr(getattr(standard, name), "COMPONENT")]
    assert {c.COMPONENT for c in spaces} == set(standard.catalog("2.1").components())
    named: set[standard.VariableKey] = set()
    for cls in spaces:
        for attr, key in vars(type(cls)).items():
            if isinstance(key, standard.VariableKey):
                assert key.component == cls.COMPONENT, attr
                assert any(standard.catalog(v).find(*key) for v in ("2.0.1", "2.1")), key.label
                named.add(key)
    for version in ("2.0.1", "2.1"):
        cat = standard.catalog(version)
        for comp in cat.components():
            assert {v.key for v in cat.variables(comp)} <= named
    assert standard.OCPPCommCtrlr.MessageTimeout_Default == ("OCPPCommCtrlr", "MessageTimeout", "Default")
    assert standard.OCPPCommCtrlr.MessageTimeout_Default.label == "OCPPCommCtrlr.MessageTimeout[Default]"


def test_lookups_and_unknown_names() -> None:
    cat = standard.catalog("2.0.1")
    assert cat.find("OCPPCommCtrlr", "MessageTimeout") is None  # the instance is part of the key
    var = cat.find("OCPPCommCtrlr", "MessageTimeout", "Default")
    assert var is not None and var.required and var.spec.mutability == "ReadOnly"
    assert cat.variables("VendorThing") == [] and cat.required("VendorThing") == []
    assert cat.scope("VendorThing") is None
    assert cat.find("EVSE", "Power") is not None and cat.find("EVSE", "Power").limit_required  # type: ignore[union-attr]
    power = cat.find("EVSE", "Power")
    assert power is not None and power.scope == "evse" and power.spec.attributes == ("Actual", "MaxSet")
    pw = cat.find(*standard.SecurityCtrlr.BasicAuthPassword)
    assert pw is not None and pw.spec.mutability == "WriteOnly" and (pw.spec.min_limit, pw.spec.max_limit) == (16, 40)
    blocks = cat.blocks()
    assert blocks["MeterValues"] == ["SampledDataCtrlr", "AlignedDataCtrlr"]
    assert sorted(c for cs in blocks.values() for c in cs) == sorted(cat.components())
    assert set(cat.mandatory()) == {
        "ChargingStation",
        "OCPPCommCtrlr",
        "DeviceDataCtrlr",
        "ClockCtrlr",
        "SecurityCtrlr",
    }
    assert cat.keys() == [] and standard.catalog("2.0.1") is cat
    with pytest.raises(ValueError, match=r"'2\.0'"):
        standard.catalog("2.0")


def test_the_1_6_keys() -> None:
    cat = standard.catalog("1.6")
    assert cat.components() == []
    keys = {k.name: k for k in cat.keys()}
    core_required = {k.name for k in cat.keys() if k.required and k.profile == "Core"}
    # OCPP 1.6 §9.1: the required Core keys
    assert core_required == {
        "AuthorizeRemoteTxRequests",
        "ClockAlignedDataInterval",
        "ConnectionTimeOut",
        "ConnectorPhaseRotation",
        "GetConfigurationMaxKeys",
        "HeartbeatInterval",
        "LocalAuthorizeOffline",
        "LocalPreAuthorize",
        "MeterValuesAlignedData",
        "MeterValuesSampledData",
        "MeterValueSampleInterval",
        "NumberOfConnectors",
        "ResetRetries",
        "StopTransactionOnEVSideDisconnect",
        "StopTransactionOnInvalidId",
        "StopTxnAlignedData",
        "StopTxnSampledData",
        "SupportedFeatureProfiles",
        "TransactionMessageAttempts",
        "TransactionMessageRetryInterval",
        "UnlockConnectorOnEVSideDisconnect",
    }
    assert keys["HeartbeatInterval"].maps_to == ("OCPPCommCtrlr", "HeartbeatInterval", None)
    assert keys["ConnectionTimeOut"].maps_to == ("TxCtrlr", "EVConnectionTimeOut", None)
    assert keys["TransactionMessageAttempts"].maps_to == ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent")
    assert keys["AuthorizationKey"].spec.mutability == "WriteOnly" and keys["AuthorizationKey"].profile == "Security"
    assert keys["NumberOfConnectors"].location == (standard.KEYS_COMPONENT, "NumberOfConnectors", None)
    sampled = keys["MeterValuesSampledData"]
    assert sampled.spec.data_type == "MemberList" and sampled.max_length_key == "MeterValuesSampledDataMaxLength"
    assert "RPM" in (sampled.spec.values_list or ())
    assert keys["GetConfigurationMaxKeys"].spec.mutability == "ReadOnly"
    v201 = standard.catalog("2.0.1")
    for key in cat.keys():
        assert key.spec.data_type in ("boolean", "integer", "string", "MemberList") and key.spec.name == key.name
        assert key.spec.mutability in MUTABILITIES and key.spec.data_type in DATA_TYPES
        if key.maps_to is not None:
            target = v201.find(*key.maps_to)
            assert target is not None, key.name
            assert target.spec.data_type == key.spec.data_type, key.name  # the same value fits both
        if key.max_length_key is not None:
            assert cat.key(key.max_length_key) is not None
        assert getattr(standard.OCPP16Keys, key.name) == key.name
    assert len([k for k in vars(type(standard.OCPP16Keys)) if not k.startswith("_")]) == len(cat.keys())
    assert cat.key("heartbeatinterval") is None


def test_the_data_files_are_in_the_repository() -> None:
    repo = Path(__file__).resolve().parents[2]
    for name in ("v16.toml", "v201.toml", "v21.toml"):
        assert (repo / "codegen" / "devicemodel" / name).is_file()


@pytest.mark.parametrize(("version", "folder"), [("2.0.1", "v201"), ("2.1", "v21")])
def test_value_sizes_follow_the_message_limits(version: str, folder: str) -> None:
    """ConfigurationValueSize is at most what SetVariables carries, ReportingValueSize what
    GetVariables and NotifyReport carry (the schemas' maxLength of the value fields)."""
    root = wheel_schema_root() / folder / "schemas"

    def longest(message: str, definition: str, field: str) -> int:
        defs = json.loads((root / f"{message}.json").read_text(encoding="utf-8"))["definitions"]
        return int(defs[definition]["properties"][field]["maxLength"])

    cat = standard.catalog(version)
    config = cat.find("DeviceDataCtrlr", "ConfigurationValueSize")
    reporting = cat.find("DeviceDataCtrlr", "ReportingValueSize")
    assert config is not None and reporting is not None
    assert config.spec.max_limit == longest("SetVariablesRequest", "SetVariableDataType", "attributeValue")
    assert reporting.spec.max_limit == longest("GetVariablesResponse", "GetVariableResultType", "attributeValue")
    assert reporting.spec.max_limit == longest("NotifyReportRequest", "VariableAttributeType", "value")


#: OCPP_BEHAVIOUR.md §3.1 "useful optional" and OCPP_REFERENCE.md §5.3/§5.4: present, not required.
OPTIONAL = {
    "ChargingStation": {"Model", "VendorName", "Problem", "Tripped", "Overload", "Fallback"},
    "EVSE": {"ISO15118EvseId", "DCInputPhaseControl"},
    "Connector": {"ChargeProtocol"},
    "OCPPCommCtrlr": {
        "HeartbeatInterval",
        "QueueAllMessages",
        "RetryBackOffRandomRange",
        "RetryBackOffRepeatTimes",
        "RetryBackOffWaitMinimum",
        "WebSocketPingInterval",
        "FieldLength[Get15118EVCertificateResponse.exiResponse]",
    },
    "SecurityCtrlr": {
        "BasicAuthPassword",
        "CertSigningRepeatTimes",
        "CertSigningWaitMinimum",
        "Identity",
        "MaxCertificateChainSize",
        "AdditionalRootCertificateCheck",
    },
    "DeviceDataCtrlr": {"ConfigurationValueSize", "ReportingValueSize"},
    "ClockCtrlr": {"TimeAdjustmentReportingThreshold", "TimeZone", "NtpServerUri"},
    "TxCtrlr": {"MaxEnergyOnInvalidId"},
    "SampledDataCtrlr": {"SignReadings"},
    "AlignedDataCtrlr": {"SendDuringIdle"},
    "AuthCtrlr": {"OfflineTxForUnknownIdEnabled"},
    "LocalAuthListCtrlr": {"SupportsExpiryDateTime"},
    "MonitoringCtrlr": {"OfflineQueuingSeverity"},
    "ISO15118Ctrlr": {
        "PnCEnabled",
        "CentralContractValidationAllowed",
        "V2GCertificateInstallationEnabled",
        "ContractCertificateInstallationEnabled",
        "SeccId",
        "CountryName",
        "OrganizationName",
        "MaxScheduleEntries",
        "RequestedEnergyTransferMode",
    },
    "TariffCostCtrlr": {"Enabled[Tariff]", "Enabled[Cost]"},
    "SmartChargingCtrlr": {"Phases3to1"},
}


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_the_useful_optional_variables_are_there(version: str) -> None:
    cat = standard.catalog(version)
    for comp, names in OPTIONAL.items():
        present = {_label(v.spec): v for v in cat.variables(comp)}
        assert names <= set(present), (comp, names - set(present))
        assert not any(present[n].required for n in names), comp
    if version == "2.1":
        extra = {"AllowSecurityProfileDowngrade", "AllowCSMSTLSWildcards"}
        assert extra <= {v.spec.name for v in cat.variables("SecurityCtrlr")}
        features = {v.spec.instance for v in cat.variables("SmartChargingCtrlr") if v.spec.name == "SupportsFeature"}
        assert features == {
            "DynamicProfiles",
            "UseLocalTime",
            "RandomizedDelay",
            "LimitAtSoC",
            "EvseSleep",
            "MaxOfflineDuration",
        }
