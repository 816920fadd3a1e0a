"""Seeded, deterministic benchmark inputs: realistic OCPP payloads as compact JSON bytes.

Every input is the JSON object carried inside an OCPP CALL frame (the payload, not the frame).
The same seed always yields byte-identical inputs (checked by :func:`fingerprint`), so numbers
from different runs and machines are measured on the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["SEED", "PayloadInput", "fingerprint", "inputs"]

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


if __name__ == "__main__":  # pragma: no cover - a look at the inputs
    for item in inputs():
        print(f"# {item.name} ({len(item.data)} bytes)")
        print(json.dumps(json.loads(item.data), indent=2))
