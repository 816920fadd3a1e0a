"""The classifier of msgspec's error messages, on the messages the installed msgspec really writes.

pyproject allows ``msgspec>=0.19,<0.23``. Every message ``ocppkit/_msgspec_errors.py`` maps is
raised here by a real decode (generated classes where they have the rule, a small Struct
otherwise); when a msgspec release words one differently, the test fails naming the message,
the msgspec version and what the classifier read instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
import pytest

from ocppkit import v16, v201
from ocppkit._msgspec_errors import _PATTERNS, Fault, FaultError, Kind, classify
from ocppkit._wire import decoder


class Bounded(msgspec.Struct, forbid_unknown_fields=True):
    i: Annotated[int, msgspec.Meta(ge=0, le=10)] = 0
    f: Annotated[float, msgspec.Meta(ge=0.5, le=9.5)] = 1.0
    d: dict[str, int] = msgspec.field(default_factory=dict)
    dt: Annotated[dt.datetime, msgspec.Meta(tz=True)] | None = None


def boot(**station: Any) -> bytes:
    return msgspec.json.encode({"reason": "PowerUp", "chargingStation": station})


# (what the case shows, class, payload, expected kind, path, bound, member, want, got)
# fmt: off
CASES: list[tuple[str, type, bytes, str, str, str | None, str | None, str | None, str | None]] = [
    ("missing member", v201.BootNotificationRequest, boot(model="M"), Kind.REQUIRED,
     "$.chargingStation.vendorName", None, "vendorName", None, None),
    ("unknown member", v16.AuthorizeRequest, b'{"idTag":"x","extra":1}', Kind.UNKNOWN_FIELD,
     "$.extra", None, "extra", None, None),
    ("too few items", v201.GetVariablesRequest, b'{"getVariableData":[]}', Kind.MIN_ITEMS,
     "$.getVariableData", "1", None, None, None),
    ("too many items", v201.GetMonitoringReportRequest,
     b'{"requestId":1,"monitoringCriteria":["DeltaMonitoring","DeltaMonitoring","DeltaMonitoring","DeltaMonitoring"]}',
     Kind.MAX_ITEMS, "$.monitoringCriteria", "3", None, None, None),
    ("overlong string", v16.AuthorizeRequest, b'{"idTag":"123456789012345678901"}', Kind.MAX_LENGTH,
     "$.idTag", "20", None, None, None),
    ("int below minimum", Bounded, b'{"i":-1}', Kind.MINIMUM, "$.i", "0", None, None, None),
    ("int above maximum", Bounded, b'{"i":11}', Kind.MAXIMUM, "$.i", "10", None, None, None),
    ("float below minimum", Bounded, b'{"f":0.25}', Kind.MINIMUM, "$.f", "0.5", None, None, None),
    ("float above maximum", Bounded, b'{"f":9.75}', Kind.MAXIMUM, "$.f", "9.5", None, None, None),
    ("enum", v16.StatusNotificationRequest, b'{"connectorId":1,"errorCode":"NoError","status":"Bogus"}',
     Kind.ENUM, "$.status", None, None, None, None),
    ("bad date-time", v201.HeartbeatResponse, b'{"currentTime":"2024-13-01T00:00:00Z"}', Kind.DATETIME,
     "$.currentTime", None, None, None, None),
    ("leap second", v201.HeartbeatResponse, b'{"currentTime":"2016-12-31T23:59:60Z"}', Kind.DATETIME,
     "$.currentTime", None, None, None, None),
    ("naive date-time", v201.HeartbeatResponse, b'{"currentTime":"2024-01-01T00:00:00"}', Kind.NAIVE_DATETIME,
     "$.currentTime", None, None, None, None),
    ("1.6 multipleOf", v16.SetChargingProfileRequest,
     b'{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,'
     b'"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":'
     b'{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":4.11}]}}}',
     Kind.MULTIPLE_OF, "$.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit", "0.1", "limit",
     None, None),
    ("1.6 uri", v16.GetDiagnosticsRequest, b'{"location":"no uri"}', Kind.URI, "$.location", None, "location",
     None, None),
    ("integral float, draft-04", v16.BootNotificationResponse,
     b'{"status":"Accepted","currentTime":"2024-01-01T00:00:00Z","interval":300.0}', Kind.INT_FLOAT,
     "$.interval", None, None, "int", "float"),
    ("wrong type", v16.AuthorizeRequest, b'{"idTag":5}', Kind.TYPE, "$.idTag", None, None, "str", "int"),
    ("null for an optional member", v201.BootNotificationRequest, boot(model="M", vendorName="V", serialNumber=None),
     Kind.TYPE, "$.chargingStation.serialNumber", None, None, "str", "null"),
    ("payload not an object", v201.HeartbeatRequest, b"[]", Kind.TYPE, "$", None, None, "object", "array"),
    ("number out of range", v201.MeterValuesRequest,
     b'{"evseId":1,"meterValue":[{"timestamp":"2024-01-01T00:00:00Z","sampledValue":[{"value":1e999}]}]}',
     Kind.RANGE, "$.meterValue[0].sampledValue[0].value", None, None, None, None),
    ("member of a free-form object", Bounded, b'{"d":{"a":"x"}}', Kind.TYPE, "$.d[*]", None, None, "int", "str"),
    ("customData without vendorId", v201.HeartbeatRequest, b'{"customData":{"x":1}}', Kind.REQUIRED,
     "$.customData.vendorId", None, "vendorId", None, None),
    ("customData vendorId not a string", v201.HeartbeatRequest, b'{"customData":{"vendorId":1}}', Kind.TYPE,
     "$.customData.vendorId", None, None, "str", "int"),
    ("customData vendorId too long", v201.HeartbeatRequest,
     b'{"customData":{"vendorId":"' + b"v" * 256 + b'"}}', Kind.MAX_LENGTH, "$.customData.vendorId", "255", None,
     None, None),
    ("not JSON", v201.HeartbeatRequest, b'{"customData":', Kind.JSON, "$", None, None, None, None),
]


def _raise(cls: type, data: bytes) -> msgspec.MsgspecError:
    try:
        decoder(cls).decode(data)
    except msgspec.MsgspecError as exc:
        return exc
    raise AssertionError(f"{cls.__name__} accepted {data!r}")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_mapped_message_reads_as_its_rule(case: tuple[Any, ...]) -> None:
    what, cls, data, kind, path, bound, member, want, got = case
    exc = _raise(cls, data)
    fault = classify(exc)
    read = (fault.kind, fault.path, fault.bound, fault.member, fault.want, fault.got)
    expected = (kind, path, bound, member, want, got)
    assert read == expected, (
        f"msgspec {msgspec.__version__} reports {what} as {str(exc)!r}, which ocppkit/_msgspec_errors.py "
        f"reads as {read}, not {expected}: update its patterns"
    )


def test_every_pattern_has_a_case() -> None:
    """A message mapped without a case here would go unchecked on the next msgspec."""
    covered = {c[3] for c in CASES}
    assert {kind for _, kind in _PATTERNS} <= covered
    assert {Kind.JSON} <= covered


def test_a_message_no_pattern_reads_is_unknown_and_keeps_its_path() -> None:
    fault = classify(msgspec.ValidationError("Something new happened - at `$.a[0].b`"))
    assert (fault.kind, fault.rule, fault.path) == (Kind.UNKNOWN, "unknown", "$.a[0].b")


def test_ocppkits_own_faults_are_carried_not_parsed() -> None:
    fault = Fault(Kind.DEPTH, "$.data", bound="32", message="Nesting deeper than 32 levels")
    exc = FaultError(fault)
    assert isinstance(exc, msgspec.ValidationError)
    assert classify(exc) is fault
    assert str(exc) == "Nesting deeper than 32 levels - at `$.data`"
    assert (fault.rule, fault.path) == ("maxDepth", "$.data")


def test_member_names_that_are_no_identifiers_are_quoted_in_the_path() -> None:
    fault = classify(_raise(v16.AuthorizeRequest, b'{"idTag":"x","a b":1}'))
    assert (fault.kind, fault.at, fault.member, fault.path) == (Kind.UNKNOWN_FIELD, "$", "a b", '$["a b"]')
