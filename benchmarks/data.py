"""Seeded, deterministic benchmark inputs: realistic OCPP payloads and frames as compact JSON bytes.

:func:`inputs` gives payloads: the JSON object carried inside an OCPP CALL frame (for the payload
benchmark). :func:`frames` gives whole OCPP-J CALL frames, ``[2,"<id>","<Action>",{...}]`` (for
the codec benchmark); where a frame carries the same message as a payload input, its payload is
byte-identical to that input. The same seed always yields byte-identical inputs (checked by
:func:`fingerprint` / :func:`frames_fingerprint`), so numbers from different runs and machines
are measured on the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["SEED", "FrameInput", "PayloadInput", "fingerprint", "frames", "frames_fingerprint", "inputs"]

SEED = 20240601

_BASE_TIME = datetime(2024, 6, 1, 8, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class PayloadInput:
    """One benchmark input: the payload bytes plus how each contender names its type."""

    name: str  # short label used in tables and JSON
    version: str  # OCPP version as the `ocpp` package spells it: "1.6" / "2.0.1"
    action: str  # OCPP action, e.g. "TransactionEvent"
    ocppkit_module: str  # e.g. "ocppkit.v201"
    ocppkit_class: str  # e.g. "TransactionEventRequest"
    ocpp_call_module: str  # the `ocpp` package's dataclass module, e.g. "ocpp.v201.call"
    data: bytes
    description: str


def _ts(rng: random.Random) -> str:
    """An RFC 3339 UTC timestamp with milliseconds, like chargers send."""
    t = _BASE_TIME + timedelta(seconds=rng.randrange(0, 86_400), milliseconds=rng.randrange(1000))
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _dumps(obj: object) -> bytes:
    # Compact, ASCII-only, key order as written: what a typical charger firmware puts on the wire.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode()


# (measurand, phase, unit, location, low, high, decimals) for the 10 sampled values of one
# periodic meter reading of a three-phase AC charger (plus the vehicle's state of charge).
_SAMPLES_201 = [
    ("Energy.Active.Import.Register", None, "Wh", "Outlet", 1_000, 90_000, 1),
    ("Power.Active.Import", None, "W", "Outlet", 3_000, 22_000, 1),
    ("Current.Import", "L1", "A", "Outlet", 6, 32, 2),
    ("Current.Import", "L2", "A", "Outlet", 6, 32, 2),
    ("Current.Import", "L3", "A", "Outlet", 6, 32, 2),
    ("Voltage", "L1-N", "V", "Outlet", 220, 240, 1),
    ("Voltage", "L2-N", "V", "Outlet", 220, 240, 1),
    ("Voltage", "L3-N", "V", "Outlet", 220, 240, 1),
    ("SoC", None, "Percent", "EV", 5, 100, 0),
    ("Frequency", None, "Hz", "Outlet", 49, 51, 2),  # 2.0.1 has no Temperature measurand
]


def _transaction_event_201(rng: random.Random) -> dict[str, object]:
    sampled = []
    for measurand, phase, unit, location, lo, hi, dec in _SAMPLES_201:
        value = round(rng.uniform(lo, hi), dec)
        if dec == 0:
            value = int(value)  # an integral reading sent as JSON integer, as chargers do
        sv: dict[str, object] = {
            "value": value,
            "context": "Sample.Periodic",
            "measurand": measurand,
        }
        if phase is not None:
            sv["phase"] = phase
        sv["location"] = location
        sv["unitOfMeasure"] = {"unit": unit, "multiplier": 0}
        sampled.append(sv)
    return {
        "eventType": "Updated",
        "timestamp": _ts(rng),
        "triggerReason": "MeterValuePeriodic",
        "seqNo": rng.randrange(1, 5_000),
        "offline": False,
        "numberOfPhasesUsed": 3,
        "cableMaxCurrent": 32,
        "transactionInfo": {
            "transactionId": f"{rng.getrandbits(128):032x}"[:32],
            "chargingState": "Charging",
            "timeSpentCharging": rng.randrange(60, 20_000),
        },
        "evse": {"id": 1, "connectorId": 1},
        "idToken": {"idToken": f"{rng.getrandbits(56):014X}", "type": "ISO14443"},
        "meterValue": [{"timestamp": _ts(rng), "sampledValue": sampled}],
    }


_SAMPLES_16 = [
    ("Energy.Active.Import.Register", None, "Wh", "Outlet", 1_000, 90_000, 1),
    ("Power.Active.Import", None, "W", "Outlet", 3_000, 22_000, 1),
    ("Current.Import", "L1", "A", "Outlet", 6, 32, 2),
    ("Current.Import", "L2", "A", "Outlet", 6, 32, 2),
    ("Current.Import", "L3", "A", "Outlet", 6, 32, 2),
    ("Voltage", "L1-N", "V", "Outlet", 220, 240, 1),
    ("Voltage", "L2-N", "V", "Outlet", 220, 240, 1),
    ("Voltage", "L3-N", "V", "Outlet", 220, 240, 1),
    ("SoC", None, "Percent", "EV", 5, 100, 0),
    ("Temperature", None, "Celsius", "Body", 15, 60, 1),
]


def _meter_values_16(rng: random.Random) -> dict[str, object]:
    sampled = []
    for measurand, phase, unit, location, lo, hi, dec in _SAMPLES_16:
        value = round(rng.uniform(lo, hi), dec)
        sv: dict[str, object] = {
            "value": f"{value:.{dec}f}",  # 1.6 sends readings as strings
            "context": "Sample.Periodic",
            "format": "Raw",
            "measurand": measurand,
        }
        if phase is not None:
            sv["phase"] = phase
        sv["location"] = location
        sv["unit"] = unit
        sampled.append(sv)
    return {
        "connectorId": 1,
        "transactionId": rng.randrange(1, 2**31 - 1),
        "meterValue": [{"timestamp": _ts(rng), "sampledValue": sampled}],
    }


def _boot_notification_201(rng: random.Random) -> dict[str, object]:
    return {
        "chargingStation": {
            "serialNumber": f"SN-{rng.randrange(10**9):09d}",
            "model": "Wallbox AC22 Pro",
            "vendorName": "ExampleVendor GmbH",
            "firmwareVersion": f"{rng.randrange(1, 5)}.{rng.randrange(20)}.{rng.randrange(100)}",
            "modem": {"iccid": f"89{rng.randrange(10**17):017d}", "imsi": f"26201{rng.randrange(10**10):010d}"},
        },
        "reason": "PowerUp",
    }


def inputs(seed: int = SEED) -> list[PayloadInput]:
    """The benchmark inputs, byte-identical for a given seed."""
    rng = random.Random(seed)
    return [
        PayloadInput(
            name="v201 TransactionEvent",
            version="2.0.1",
            action="TransactionEvent",
            ocppkit_module="ocppkit.v201",
            ocppkit_class="TransactionEventRequest",
            ocpp_call_module="ocpp.v201.call",
            data=_dumps(_transaction_event_201(rng)),
            description="2.0.1 TransactionEventRequest (Updated/MeterValuePeriodic): transactionInfo, "
            "evse, idToken, 1 meterValue with 10 sampledValues (measurand, context, phase, "
            "location, unitOfMeasure)",
        ),
        PayloadInput(
            name="v16 MeterValues",
            version="1.6",
            action="MeterValues",
            ocppkit_module="ocppkit.v16",
            ocppkit_class="MeterValuesRequest",
            ocpp_call_module="ocpp.v16.call",
            data=_dumps(_meter_values_16(rng)),
            description="1.6 MeterValues.req: connectorId, transactionId, 1 meterValue with 10 "
            "sampledValues (value, context, format, measurand, phase, location, unit)",
        ),
        PayloadInput(
            name="v201 BootNotification",
            version="2.0.1",
            action="BootNotification",
            ocppkit_module="ocppkit.v201",
            ocppkit_class="BootNotificationRequest",
            ocpp_call_module="ocpp.v201.call",
            data=_dumps(_boot_notification_201(rng)),
            description="2.0.1 BootNotificationRequest: chargingStation with modem, reason",
        ),
    ]


def fingerprint(items: list[PayloadInput]) -> str:
    """Short hash of all input bytes: equal fingerprints mean identical inputs."""
    h = hashlib.sha256()
    for item in items:
        h.update(item.name.encode() + b"\0" + item.data + b"\0")
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------ frames


@dataclass(frozen=True)
class FrameInput:
    """One codec benchmark input: a whole OCPP-J CALL frame plus how each contender names its type."""

    name: str  # short label used in tables and JSON
    version: str  # "1.6" / "2.0.1": ocppkit.Codec and the `ocpp` package spell it the same way
    action: str  # OCPP action, e.g. "TransactionEvent"
    ocppkit_module: str  # e.g. "ocppkit.v201"
    ocppkit_class: str  # the request class, e.g. "TransactionEventRequest"
    ocpp_call_module: str  # the `ocpp` package's dataclass module, e.g. "ocpp.v201.call"
    unique_id: str
    payload: bytes  # the payload, byte-identical to its slice of `data`
    data: bytes  # the frame: [2,"<unique_id>","<action>",<payload>]
    description: str


def _uid(rng: random.Random) -> str:
    """A message id as most implementations make them: a random (version 4) UUID, 36 characters."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _frame(rng: random.Random, action: str, payload: bytes) -> tuple[str, bytes]:
    uid = _uid(rng)
    return uid, b"".join((b'[2,"', uid.encode(), b'","', action.encode(), b'",', payload, b"]"))


def _boot_notification_16(rng: random.Random) -> dict[str, object]:
    return {
        "chargePointVendor": "ExampleVendor",
        "chargePointModel": "Wallbox AC22 Pro",
        "chargePointSerialNumber": f"SN-{rng.randrange(10**9):09d}",
        "chargeBoxSerialNumber": f"CB-{rng.randrange(10**9):09d}",
        "firmwareVersion": f"{rng.randrange(1, 5)}.{rng.randrange(20)}.{rng.randrange(100)}",
        "iccid": f"89{rng.randrange(10**17):017d}",
        "imsi": f"26201{rng.randrange(10**10):010d}",
        "meterType": "Eastron SDM630",
        "meterSerialNumber": f"{rng.randrange(10**8):08d}",
    }


# The device model a 2.0.1 charging station reports on GetBaseReport(FullInventory): the
# standardized controller components and variables of OCPP 2.0.1 part 2, appendix 3.
# (component, component instance, variable, variable instance, dataType, unit, mutability,
#  valuesList, (minLimit, maxLimit), value); a value of None is drawn from the data type.
_MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"
_STATION_VARIABLES: list[
    tuple[str, str | None, str, str | None, str, str | None, str, str | None, tuple[float, float] | None, str | None]
] = [
    (
        "ChargingStation",
        None,
        "AvailabilityState",
        None,
        "OptionList",
        None,
        "ReadOnly",
        "Available,Occupied,Reserved,Unavailable,Faulted",
        None,
        "Available",
    ),
    ("ChargingStation", None, "Available", None, "boolean", None, "ReadOnly", None, None, "true"),
    ("ChargingStation", None, "Model", None, "string", None, "ReadOnly", None, None, "Wallbox AC22 Pro"),
    ("ChargingStation", None, "VendorName", None, "string", None, "ReadOnly", None, None, "ExampleVendor GmbH"),
    ("ChargingStation", None, "SupplyPhases", None, "integer", None, "ReadOnly", None, (0, 3), "3"),
    ("ChargingStation", None, "Problem", None, "boolean", None, "ReadOnly", None, None, "false"),
    ("ClockCtrlr", None, "DateTime", None, "dateTime", None, "ReadOnly", None, None, "2024-06-01T08:00:00Z"),
    (
        "ClockCtrlr",
        None,
        "TimeSource",
        None,
        "SequenceList",
        None,
        "ReadWrite",
        "Heartbeat,NTP,GPS,RealTimeClock,MobileNetwork,RadioTimeTransmitter",
        None,
        "NTP,Heartbeat",
    ),
    ("ClockCtrlr", None, "NtpServerUri", "1", "string", None, "ReadWrite", None, None, "pool.ntp.org"),
    ("ClockCtrlr", None, "TimeZone", None, "string", None, "ReadWrite", None, None, "Europe/Berlin"),
    ("OCPPCommCtrlr", None, "HeartbeatInterval", None, "integer", "s", "ReadWrite", None, (0, 86400), None),
    ("OCPPCommCtrlr", None, "MessageTimeout", "Default", "integer", "s", "ReadOnly", None, (1, 600), None),
    (
        "OCPPCommCtrlr",
        None,
        "NetworkConfigurationPriority",
        None,
        "SequenceList",
        None,
        "ReadWrite",
        "0,1,2",
        None,
        "0,1",
    ),
    (
        "OCPPCommCtrlr",
        None,
        "NetworkProfileConnectionAttempts",
        None,
        "integer",
        None,
        "ReadWrite",
        None,
        (1, 10),
        None,
    ),
    ("OCPPCommCtrlr", None, "OfflineThreshold", None, "integer", "s", "ReadWrite", None, (0, 3600), None),
    ("OCPPCommCtrlr", None, "MessageAttempts", "TransactionEvent", "integer", None, "ReadWrite", None, (1, 10), None),
    (
        "OCPPCommCtrlr",
        None,
        "MessageAttemptInterval",
        "TransactionEvent",
        "integer",
        "s",
        "ReadWrite",
        None,
        (1, 600),
        None,
    ),
    ("OCPPCommCtrlr", None, "UnlockOnEVSideDisconnect", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("OCPPCommCtrlr", None, "WebSocketPingInterval", None, "integer", "s", "ReadWrite", None, (0, 3600), None),
    ("OCPPCommCtrlr", None, "ResetRetries", None, "integer", None, "ReadWrite", None, (0, 10), None),
    ("OCPPCommCtrlr", None, "RetryBackOffRepeatTimes", None, "integer", None, "ReadWrite", None, (0, 10), None),
    ("OCPPCommCtrlr", None, "RetryBackOffRandomRange", None, "integer", "s", "ReadWrite", None, (0, 600), None),
    ("OCPPCommCtrlr", None, "RetryBackOffWaitMinimum", None, "integer", "s", "ReadWrite", None, (0, 600), None),
    (
        "OCPPCommCtrlr",
        None,
        "FileTransferProtocols",
        None,
        "MemberList",
        None,
        "ReadOnly",
        "FTP,FTPS,HTTP,HTTPS,SFTP",
        None,
        "HTTPS,FTPS",
    ),
    ("OCPPCommCtrlr", None, "QueueAllMessages", None, "boolean", None, "ReadWrite", None, None, "false"),
    ("DeviceDataCtrlr", None, "ItemsPerMessage", "GetReport", "integer", None, "ReadOnly", None, (1, 1000), "200"),
    ("DeviceDataCtrlr", None, "ItemsPerMessage", "GetVariables", "integer", None, "ReadOnly", None, (1, 1000), "50"),
    ("DeviceDataCtrlr", None, "ItemsPerMessage", "SetVariables", "integer", None, "ReadOnly", None, (1, 1000), "50"),
    ("DeviceDataCtrlr", None, "BytesPerMessage", "GetReport", "integer", None, "ReadOnly", None, (1, 65536), "65536"),
    (
        "DeviceDataCtrlr",
        None,
        "BytesPerMessage",
        "GetVariables",
        "integer",
        None,
        "ReadOnly",
        None,
        (1, 65536),
        "16384",
    ),
    (
        "DeviceDataCtrlr",
        None,
        "BytesPerMessage",
        "SetVariables",
        "integer",
        None,
        "ReadOnly",
        None,
        (1, 65536),
        "16384",
    ),
    ("DeviceDataCtrlr", None, "ValueSize", None, "integer", None, "ReadOnly", None, (1, 2500), "2500"),
    ("DeviceDataCtrlr", None, "ReportingValueSize", None, "integer", None, "ReadOnly", None, (1, 2500), "2500"),
    ("DeviceDataCtrlr", None, "ConfigurationValueSize", None, "integer", None, "ReadOnly", None, (1, 1000), "1000"),
    ("SecurityCtrlr", None, "SecurityProfile", None, "integer", None, "ReadOnly", None, (1, 3), "2"),
    ("SecurityCtrlr", None, "OrganizationName", None, "string", None, "ReadWrite", None, None, "Example CPO"),
    ("SecurityCtrlr", None, "CertificateEntries", None, "integer", None, "ReadOnly", None, (0, 20), "3"),
    ("SecurityCtrlr", None, "Identity", None, "string", None, "ReadWrite", None, None, None),
    ("SecurityCtrlr", None, "BasicAuthPassword", None, "string", None, "WriteOnly", None, None, ""),
    ("SecurityCtrlr", None, "MaxCertificateChainSize", None, "integer", None, "ReadOnly", None, (1, 10000), "10000"),
    ("AuthCtrlr", None, "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("AuthCtrlr", None, "AuthorizeRemoteStart", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("AuthCtrlr", None, "LocalAuthorizeOffline", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("AuthCtrlr", None, "LocalPreAuthorize", None, "boolean", None, "ReadWrite", None, None, "false"),
    ("AuthCtrlr", None, "OfflineTxForUnknownIdEnabled", None, "boolean", None, "ReadWrite", None, None, "false"),
    ("AuthCtrlr", None, "DisableRemoteAuthorization", None, "boolean", None, "ReadWrite", None, None, "false"),
    ("AuthCtrlr", None, "MasterPassGroupId", None, "string", None, "ReadWrite", None, None, "MASTERPASS01"),
    ("AuthCacheCtrlr", None, "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("AuthCacheCtrlr", None, "Available", None, "boolean", None, "ReadOnly", None, None, "true"),
    ("AuthCacheCtrlr", None, "LifeTime", None, "integer", "s", "ReadWrite", None, (0, 31536000), None),
    ("AuthCacheCtrlr", None, "Storage", None, "integer", "B", "ReadOnly", None, (0, 1048576), "262144"),
    ("AuthCacheCtrlr", None, "Policy", None, "OptionList", None, "ReadWrite", "LRU,LFU,FIFO,CUSTOM", None, "LRU"),
    ("LocalAuthListCtrlr", None, "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("LocalAuthListCtrlr", None, "Entries", None, "integer", None, "ReadOnly", None, (0, 10000), None),
    ("LocalAuthListCtrlr", None, "Available", None, "boolean", None, "ReadOnly", None, None, "true"),
    ("LocalAuthListCtrlr", None, "ItemsPerMessage", None, "integer", None, "ReadOnly", None, (1, 1000), "250"),
    ("LocalAuthListCtrlr", None, "BytesPerMessage", None, "integer", None, "ReadOnly", None, (1, 65536), "32768"),
    ("LocalAuthListCtrlr", None, "Storage", None, "integer", "B", "ReadOnly", None, (0, 1048576), "524288"),
    ("TxCtrlr", None, "EVConnectionTimeOut", None, "integer", "s", "ReadWrite", None, (0, 3600), None),
    ("TxCtrlr", None, "StopTxOnEVSideDisconnect", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("TxCtrlr", None, "StopTxOnInvalidId", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("TxCtrlr", None, "MaxEnergyOnInvalidId", None, "integer", "Wh", "ReadWrite", None, (0, 100000), None),
    (
        "TxCtrlr",
        None,
        "TxStartPoint",
        None,
        "MemberList",
        None,
        "ReadWrite",
        "ParkingBayOccupancy,EVConnected,Authorized,DataSigned,PowerPathClosed,EnergyTransfer",
        None,
        "EVConnected,Authorized",
    ),
    (
        "TxCtrlr",
        None,
        "TxStopPoint",
        None,
        "MemberList",
        None,
        "ReadWrite",
        "ParkingBayOccupancy,EVConnected,Authorized,PowerPathClosed,EnergyTransfer",
        None,
        "EVConnected,Authorized",
    ),
    ("SampledDataCtrlr", None, "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("SampledDataCtrlr", None, "SignReadings", None, "boolean", None, "ReadWrite", None, None, "false"),
    (
        "SampledDataCtrlr",
        None,
        "TxEndedMeasurands",
        None,
        "MemberList",
        None,
        "ReadWrite",
        _MEASURANDS,
        None,
        "Energy.Active.Import.Register",
    ),
    ("SampledDataCtrlr", None, "TxEndedInterval", None, "integer", "s", "ReadWrite", None, (0, 3600), None),
    (
        "SampledDataCtrlr",
        None,
        "TxStartedMeasurands",
        None,
        "MemberList",
        None,
        "ReadWrite",
        _MEASURANDS,
        None,
        "Energy.Active.Import.Register",
    ),
    (
        "SampledDataCtrlr",
        None,
        "TxUpdatedMeasurands",
        None,
        "MemberList",
        None,
        "ReadWrite",
        _MEASURANDS,
        None,
        _MEASURANDS,
    ),
    ("SampledDataCtrlr", None, "TxUpdatedInterval", None, "integer", "s", "ReadWrite", None, (0, 3600), None),
    ("AlignedDataCtrlr", None, "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    (
        "AlignedDataCtrlr",
        None,
        "Measurands",
        None,
        "MemberList",
        None,
        "ReadWrite",
        _MEASURANDS,
        None,
        "Energy.Active.Import.Register,Power.Active.Import",
    ),
    ("AlignedDataCtrlr", None, "Interval", None, "integer", "s", "ReadWrite", None, (0, 86400), "900"),
    ("AlignedDataCtrlr", None, "SendDuringIdle", None, "boolean", None, "ReadWrite", None, None, "false"),
    (
        "AlignedDataCtrlr",
        None,
        "TxEndedMeasurands",
        None,
        "MemberList",
        None,
        "ReadWrite",
        _MEASURANDS,
        None,
        "Energy.Active.Import.Register",
    ),
    ("AlignedDataCtrlr", None, "TxEndedInterval", None, "integer", "s", "ReadWrite", None, (0, 86400), "900"),
    ("SmartChargingCtrlr", None, "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("SmartChargingCtrlr", None, "Available", None, "boolean", None, "ReadOnly", None, None, "true"),
    ("SmartChargingCtrlr", None, "Entries", "ChargingProfiles", "integer", None, "ReadOnly", None, (0, 100), None),
    (
        "SmartChargingCtrlr",
        None,
        "LimitChangeSignificance",
        None,
        "decimal",
        "Percent",
        "ReadWrite",
        None,
        (0, 100),
        "5.0",
    ),
    ("SmartChargingCtrlr", None, "PeriodsPerSchedule", None, "integer", None, "ReadOnly", None, (1, 1024), "48"),
    ("SmartChargingCtrlr", None, "ProfileStackLevel", None, "integer", None, "ReadOnly", None, (0, 100), "10"),
    ("SmartChargingCtrlr", None, "RateUnit", None, "MemberList", None, "ReadOnly", "A,W", None, "A,W"),
    (
        "SmartChargingCtrlr",
        None,
        "ExternalControlSignalsEnabled",
        None,
        "boolean",
        None,
        "ReadWrite",
        None,
        None,
        "false",
    ),
    (
        "SmartChargingCtrlr",
        None,
        "NotifyChargingLimitWithSchedules",
        None,
        "boolean",
        None,
        "ReadWrite",
        None,
        None,
        "false",
    ),
    ("SmartChargingCtrlr", None, "Phases3to1", None, "boolean", None, "ReadOnly", None, None, "true"),
    ("ReservationCtrlr", None, "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("ReservationCtrlr", None, "Available", None, "boolean", None, "ReadOnly", None, None, "true"),
    ("ReservationCtrlr", None, "NonEvseSpecific", None, "boolean", None, "ReadOnly", None, None, "true"),
    ("TariffCostCtrlr", "Tariff", "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    (
        "TariffCostCtrlr",
        None,
        "TariffFallbackMessage",
        None,
        "string",
        None,
        "ReadWrite",
        None,
        None,
        "Standard tariff applies, see display for details",
    ),
    ("TariffCostCtrlr", None, "Currency", None, "string", None, "ReadWrite", None, None, "EUR"),
    ("DisplayMessageCtrlr", None, "Enabled", None, "boolean", None, "ReadWrite", None, None, "true"),
    ("DisplayMessageCtrlr", None, "DisplayMessages", None, "integer", None, "ReadOnly", None, (0, 50), "10"),
    (
        "DisplayMessageCtrlr",
        None,
        "SupportedFormats",
        None,
        "MemberList",
        None,
        "ReadOnly",
        "ASCII,HTML,URI,UTF8",
        None,
        "ASCII,UTF8",
    ),
    (
        "DisplayMessageCtrlr",
        None,
        "SupportedPriorities",
        None,
        "MemberList",
        None,
        "ReadOnly",
        "AlwaysFront,InFront,NormalCycle",
        None,
        "AlwaysFront,InFront,NormalCycle",
    ),
]
# Per EVSE, and per connector of it: (component, variable, dataType, unit, mutability, valuesList, limits, value)
_EVSE_VARIABLES: list[tuple[str, str, str, str | None, str, str | None, tuple[float, float] | None, str | None]] = [
    (
        "EVSE",
        "AvailabilityState",
        "OptionList",
        None,
        "ReadOnly",
        "Available,Occupied,Reserved,Unavailable,Faulted",
        None,
        "Available",
    ),
    ("EVSE", "Available", "boolean", None, "ReadOnly", None, None, "true"),
    ("EVSE", "Power", "decimal", "W", "ReadOnly", None, (0, 22000), None),
    ("EVSE", "SupplyPhases", "integer", None, "ReadOnly", None, (0, 3), "3"),
    ("EVSE", "AllowReset", "boolean", None, "ReadOnly", None, None, "true"),
    ("EVSE", "ISO15118EvseId", "string", None, "ReadOnly", None, None, None),
    ("ChargingStatusIndicator", "Active", "boolean", None, "ReadOnly", None, None, "true"),
    ("ChargingStatusIndicator", "Color", "string", None, "ReadOnly", None, None, "Green"),
    ("ControlPilot", "Enabled", "boolean", None, "ReadOnly", None, None, "true"),
    ("ElectricalFeed", "PhaseRotation", "string", None, "ReadWrite", None, None, "RST"),
    ("TokenReader", "Enabled", "boolean", None, "ReadWrite", None, None, "true"),
    (
        "TokenReader",
        "TokenType",
        "MemberList",
        None,
        "ReadOnly",
        "ISO14443,ISO15693,MacAddress,Central",
        None,
        "ISO14443,ISO15693",
    ),
]
_CONNECTOR_VARIABLES: list[
    tuple[str, str, str, str | None, str, str | None, tuple[float, float] | None, str | None]
] = [
    (
        "Connector",
        "AvailabilityState",
        "OptionList",
        None,
        "ReadOnly",
        "Available,Occupied,Reserved,Unavailable,Faulted",
        None,
        "Available",
    ),
    ("Connector", "Available", "boolean", None, "ReadOnly", None, None, "true"),
    ("Connector", "ConnectorType", "OptionList", None, "ReadOnly", "cType2,sType2,cCCS2", None, "sType2"),
    ("Connector", "SupplyPhases", "integer", None, "ReadOnly", None, (0, 3), "3"),
    ("ConnectorPlugRetentionLock", "Enabled", "boolean", None, "ReadOnly", None, None, "true"),
    ("ConnectorPlugRetentionLock", "Active", "boolean", None, "ReadOnly", None, None, "false"),
]


def _report_row(
    rng: random.Random,
    component: dict[str, object],
    variable: str,
    instance: str | None,
    data_type: str,
    unit: str | None,
    mutability: str,
    values_list: str | None,
    limits: tuple[float, float] | None,
    value: str | None,
) -> dict[str, object]:
    if value is None:  # draw one that fits the type
        if data_type == "integer":
            lo, hi = limits or (0, 1000)
            value = str(rng.randrange(int(lo), int(hi) + 1))
        elif data_type == "decimal":
            lo, hi = limits or (0, 1000)
            value = f"{rng.uniform(lo, hi):.1f}"
        else:
            value = f"{rng.getrandbits(48):012X}"
    var: dict[str, object] = {"name": variable}
    if instance is not None:
        var["instance"] = instance
    attrs: list[dict[str, object]] = [
        {
            "type": "Actual",
            "value": value,
            "mutability": mutability,
            "persistent": True,
            "constant": mutability == "ReadOnly",
        }
    ]
    if data_type in ("integer", "decimal") and mutability == "ReadWrite":
        attrs.append(
            {
                "type": "MaxSet",
                "value": str(int(limits[1]) if limits else 1000),
                "mutability": "ReadOnly",
                "persistent": True,
                "constant": True,
            }
        )
    characteristics: dict[str, object] = {}
    if unit is not None:
        characteristics["unit"] = unit
    characteristics["dataType"] = data_type
    if limits is not None:
        characteristics["minLimit"] = limits[0]
        characteristics["maxLimit"] = limits[1]
    if values_list is not None:
        characteristics["valuesList"] = values_list
    characteristics["supportsMonitoring"] = data_type in ("integer", "decimal", "boolean")
    return {
        "component": component,
        "variable": var,
        "variableAttribute": attrs,
        "variableCharacteristics": characteristics,
    }


def _notify_report_201(rng: random.Random, rows: int = 200) -> dict[str, object]:
    """One page of a FullInventory base report: the station's controllers, then EVSEs and connectors."""
    report: list[dict[str, object]] = []
    for comp, comp_instance, var, var_instance, dt, unit, mut, values, limits, value in _STATION_VARIABLES:
        component: dict[str, object] = {"name": comp}
        if comp_instance is not None:
            component["instance"] = comp_instance
        report.append(_report_row(rng, component, var, var_instance, dt, unit, mut, values, limits, value))
    evse = 0
    while len(report) < rows:
        evse += 1
        for comp, var, dt, unit, mut, values, limits, value in _EVSE_VARIABLES:
            if var == "ISO15118EvseId":
                value = f"DE*EXA*E{rng.randrange(10**7):07d}*{evse}"
            report.append(
                _report_row(rng, {"name": comp, "evse": {"id": evse}}, var, None, dt, unit, mut, values, limits, value)
            )
        for comp, var, dt, unit, mut, values, limits, value in _CONNECTOR_VARIABLES:
            report.append(
                _report_row(
                    rng,
                    {"name": comp, "evse": {"id": evse, "connectorId": 1}},
                    var,
                    None,
                    dt,
                    unit,
                    mut,
                    values,
                    limits,
                    value,
                )
            )
    return {
        "requestId": rng.randrange(1, 10_000),
        "generatedAt": _ts(rng),
        "tbc": True,
        "seqNo": 0,
        "reportData": report[:rows],
    }


def _set_charging_profile_201(rng: random.Random, periods: int = 48) -> dict[str, object]:
    """A daily TxDefaultProfile in half-hour steps (e.g. from a tariff or grid signal), 48 periods."""
    schedule = []
    for k in range(periods):
        schedule.append(
            {"startPeriod": k * 1800, "limit": float(rng.choice((6, 8, 10, 13, 16, 20, 25, 32))), "numberPhases": 3}
        )
    start = _BASE_TIME.replace(hour=0)
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": rng.randrange(1, 1_000),
            "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Recurring",
            "recurrencyKind": "Daily",
            "validFrom": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "validTo": (start + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "chargingSchedule": [
                {
                    "id": rng.randrange(1, 1_000),
                    "startSchedule": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "duration": 86_400,
                    "chargingRateUnit": "A",
                    "minChargingRate": 6.0,
                    "chargingSchedulePeriod": schedule,
                }
            ],
        },
    }


def frames(seed: int = SEED) -> list[FrameInput]:
    """The codec benchmark's CALL frames, byte-identical for a given seed.

    The 1.6 MeterValues, 2.0.1 TransactionEvent and 2.0.1 BootNotification frames carry the
    payload inputs of :func:`inputs` unchanged; the other payloads and all message ids come from
    a second generator seeded with ``seed + 1``, so :func:`inputs` stays as it was.
    """
    payloads = {item.name: item for item in inputs(seed)}
    rng = random.Random(seed + 1)
    specs = [
        (
            "v16 BootNotification",
            "1.6",
            "BootNotification",
            "ocppkit.v16",
            "BootNotificationRequest",
            "ocpp.v16.call",
            _dumps(_boot_notification_16(rng)),
            "1.6 BootNotification.req: all 9 fields (vendor, model, serial numbers, firmware, iccid, imsi, meter)",
        ),
        (
            "v16 MeterValues",
            "1.6",
            "MeterValues",
            "ocppkit.v16",
            "MeterValuesRequest",
            "ocpp.v16.call",
            payloads["v16 MeterValues"].data,
            payloads["v16 MeterValues"].description,
        ),
        (
            "v201 BootNotification",
            "2.0.1",
            "BootNotification",
            "ocppkit.v201",
            "BootNotificationRequest",
            "ocpp.v201.call",
            payloads["v201 BootNotification"].data,
            payloads["v201 BootNotification"].description,
        ),
        (
            "v201 TransactionEvent",
            "2.0.1",
            "TransactionEvent",
            "ocppkit.v201",
            "TransactionEventRequest",
            "ocpp.v201.call",
            payloads["v201 TransactionEvent"].data,
            payloads["v201 TransactionEvent"].description,
        ),
        (
            "v201 NotifyReport",
            "2.0.1",
            "NotifyReport",
            "ocppkit.v201",
            "NotifyReportRequest",
            "ocpp.v201.call",
            _dumps(_notify_report_201(rng)),
            "2.0.1 NotifyReportRequest: one page (tbc) of a FullInventory base report, 200 reportData rows "
            "(component with evse, variable, 1-2 variableAttributes, variableCharacteristics)",
        ),
        (
            "v201 SetChargingProfile",
            "2.0.1",
            "SetChargingProfile",
            "ocppkit.v201",
            "SetChargingProfileRequest",
            "ocpp.v201.call",
            _dumps(_set_charging_profile_201(rng)),
            "2.0.1 SetChargingProfileRequest: daily recurring TxDefaultProfile, 1 chargingSchedule of 48 "
            "half-hour chargingSchedulePeriods (startPeriod, limit, numberPhases)",
        ),
    ]
    out = []
    for name, version, action, module, cls, call_module, payload, description in specs:
        uid, data = _frame(rng, action, payload)
        out.append(
            FrameInput(
                name=name,
                version=version,
                action=action,
                ocppkit_module=module,
                ocppkit_class=cls,
                ocpp_call_module=call_module,
                unique_id=uid,
                payload=payload,
                data=data,
                description=description,
            )
        )
    return out


def frames_fingerprint(items: list[FrameInput]) -> str:
    """Short hash of all frame bytes: equal fingerprints mean identical frames."""
    h = hashlib.sha256()
    for item in items:
        h.update(item.name.encode() + b"\0" + item.data + b"\0")
    return h.hexdigest()[:16]


if __name__ == "__main__":  # pragma: no cover - a look at the inputs
    import sys

    if sys.argv[1:] == ["frames"]:
        for frame in frames():
            print(f"# {frame.name} ({len(frame.data)} bytes frame, {len(frame.payload)} bytes payload)")
            print(frame.data.decode())
    else:
        for item in inputs():
            print(f"# {item.name} ({len(item.data)} bytes)")
            print(json.dumps(json.loads(item.data), indent=2))
