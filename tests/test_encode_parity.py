"""Encoding: the C twin's fast validation is sound, and both twins give the same bytes or errors.

Valid payload objects get one field set to an arbitrary value; both twins must then agree, and
whenever the C twin's plan walker says "certainly valid", validating by decoding must agree.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ocppkit
from ocppkit import v16, v21, v201
from ocppkit._codec_py import Codec as PyCodec

c_module = pytest.importorskip("ocppkit._codec_c", reason="C extension not built (see test_extension_is_in_use)")

BASES: list[tuple[str, str, bytes]] = [
    (
        "1.6",
        "MeterValues",
        b'{"connectorId":1,"transactionId":5,"meterValue":[{"timestamp":"2024-06-02T05:08:21Z",'
        b'"sampledValue":[{"value":"1.5","measurand":"Voltage","unit":"V","phase":"L1-N"}]}]}',
    ),
    (
        "1.6",
        "SetChargingProfile",
        b'{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,'
        b'"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Absolute","chargingSchedule":{"chargingRateUnit":"A",'
        b'"chargingSchedulePeriod":[{"startPeriod":0,"limit":8.1}]}}}',
    ),
    (
        "2.0.1",
        "BootNotification",
        b'{"chargingStation":{"model":"M","vendorName":"V","modem":{"iccid":"1"}},'
        b'"reason":"PowerUp","customData":{"vendorId":"x","k":[1]}}',
    ),
    (
        "2.0.1",
        "TransactionEvent",
        b'{"eventType":"Updated","timestamp":"2024-06-01T23:07:38.914Z","triggerReason":'
        b'"MeterValuePeriodic","seqNo":1,"transactionInfo":{"transactionId":"t"},"meterValue":[{"timestamp":'
        b'"2024-06-01T23:07:38Z","sampledValue":[{"value":1.5,"unitOfMeasure":{"unit":"Wh"}}]}]}',
    ),
    (
        "2.0.1",
        "NotifyEVChargingNeeds",
        b'{"evseId":1,"chargingNeeds":{"requestedEnergyTransfer":"DC",'
        b'"dcChargingParameters":{"evMaxCurrent":1,"evMaxVoltage":1,"stateOfCharge":50}}}',
    ),
    ("2.0.1", "DataTransfer", b'{"vendorId":"v","data":{"a":[1,2]}}'),
    (
        "2.1",
        "NotifyPeriodicEventStream",
        b'{"id":1,"pending":0,"basetime":"2025-01-01T12:00:00Z","data":[{"t":0,"v":"1"}]}',
    ),
]
MODS = {"1.6": v16, "2.0.1": v201, "2.1": v21}


class Odd(str, enum.Enum):
    X = "PowerUp"


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.sampled_from([0, -1, 100, 101, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([3.0, 0.3, 4.11, 8.1]),
    st.text(max_size=60),
    st.sampled_from(["PowerUp", "Accepted", "Voltage", "Wh", "", "x" * 256]),
    st.sampled_from([msgspec.UNSET, Odd.X, v201.BootReasonEnumType.POWER_UP, ocppkit.CustomData("v", k=1)]),
    st.sampled_from([dt.datetime(2030, 1, 1), dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), dt.date(2030, 1, 1)]),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.sampled_from(["a", "vendorId"]), st.integers(), max_size=2),
)


def structs(obj: Any) -> list[Any]:
    out = []
    if isinstance(obj, msgspec.Struct):
        out.append(obj)
        for name in obj.__struct_fields__:
            out += structs(getattr(obj, name))
    elif isinstance(obj, list):
        for item in obj:
            out += structs(item)
    return out


def outcome(codec: Any, frame: Any) -> tuple[Any, ...]:
    try:
        return ("ok", codec.encode(frame))
    except ocppkit.OcppError as exc:
        return ("error", type(exc).__name__, exc.code, exc.details)
    except (TypeError, ValueError, msgspec.EncodeError, OverflowError) as exc:
        return ("exception", type(exc).__name__)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(BASES))), st.integers(0, 50), st.integers(0, 50), values)
def test_twins_agree_and_the_fast_check_is_sound(base: int, which: int, field: int, value: Any) -> None:
    version, action, payload = BASES[base]
    row = MODS[version].ACTIONS[action]
    obj = ocppkit.decode_payload(payload, row.request)
    targets = structs(obj)
    target = targets[which % len(targets)]
    name = target.__struct_fields__[field % len(target.__struct_fields__)]
    try:
        setattr(target, name, value)
    except (TypeError, AttributeError):
        return
    frame: Any = ocppkit.Send("u1", action, obj) if row.response is None else ocppkit.Call("u1", action, obj)
    py = outcome(PyCodec(version), frame)
    c = outcome(c_module.Codec(version), frame)
    assert py == c
    if c_module.certainly_valid(obj):
        ocppkit.encode_payload(obj)  # must not raise: the fast check never accepts what decoding rejects
        assert c[0] == "ok"
