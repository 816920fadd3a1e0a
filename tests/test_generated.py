"""Behaviour of the generated types that users rely on (the differential suite covers the schemas)."""

from __future__ import annotations

import datetime as dt
import pickle

import msgspec
import pytest

import ocppkit
from ocppkit import CustomData, PayloadError, decode_payload, encode_payload, v16, v21, v201


def test_readme_example() -> None:
    req = v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M1", vendor_name="ACME"),
        reason=v201.BootReasonEnumType.POWER_UP,
    )
    assert encode_payload(req) == b'{"chargingStation":{"model":"M1","vendorName":"ACME"},"reason":"PowerUp"}'


@pytest.mark.parametrize("mod,count", [(v16, 39), (v201, 64), (v21, 91)])
def test_every_action_has_its_classes(mod: object, count: int) -> None:
    actions = mod.ACTIONS  # type: ignore[attr-defined]
    assert len(actions) == count
    for name, row in actions.items():
        assert row.action == name
        assert row.request.__name__ == f"{name}Request" and row.request.__ocpp__.action == name
        if row.response is None:
            assert name == "NotifyPeriodicEventStream" and mod is v21
            assert issubclass(row.request, ocppkit.SendPayload)
        else:
            assert row.response.__name__ == f"{name}Response"
            assert issubclass(row.request, ocppkit.Request) and issubclass(row.response, ocppkit.Response)


def test_custom_data_vendor_keys_survive_everywhere() -> None:
    data = (
        b'{"customData":{"vendorId":"com.example","a":[1,{"b":null}],"n":1.5},'
        b'"chargingStation":{"customData":{"vendorId":"x","deep":{"k":"v"}},"model":"M","vendorName":"V"},'
        b'"reason":"PowerUp"}'
    )
    msg = decode_payload(data, v201.BootNotificationRequest)
    assert msg.custom_data == CustomData("com.example", a=[1, {"b": None}], n=1.5)
    assert msgspec.json.decode(encode_payload(msg)) == msgspec.json.decode(data)
    assert isinstance(msg.charging_station.custom_data, CustomData)
    assert msg.charging_station.custom_data.extra == {"deep": {"k": "v"}}


def test_absent_optionals_stay_absent_and_defaults_are_not_injected() -> None:
    # VariableAttributeType.type has schema default "Actual": it must not appear on the wire.
    attr = v201.VariableAttributeType(value="1")
    assert encode_payload(
        v201.NotifyReportRequest(
            request_id=1,
            generated_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
            seq_no=0,
            report_data=[
                v201.ReportDataType(
                    component=v201.ComponentType(name="C"),
                    variable=v201.VariableType(name="V"),
                    variable_attribute=[attr],
                )
            ],
        )
    ) == (
        b'{"requestId":1,"generatedAt":"2030-01-01T00:00:00Z","reportData":[{"component":{"name":"C"},'
        b'"variable":{"name":"V"},"variableAttribute":[{"value":"1"}]}],"seqNo":0}'
    )
    assert attr.type is msgspec.UNSET


def test_explicit_null_for_optional_is_rejected() -> None:
    with pytest.raises(PayloadError) as err:
        decode_payload(
            b'{"chargingStation":{"model":"M","vendorName":"V","serialNumber":null},"reason":"PowerUp"}',
            v201.BootNotificationRequest,
        )
    assert err.value.rule == "type" and err.value.path == "$.chargingStation.serialNumber"
    assert err.value.code == "TypeConstraintViolation"


def test_wire_names_come_from_the_schema() -> None:
    assert "limit_L2" in v21.ChargingSchedulePeriodType.__struct_encode_fields__
    period = v21.ChargingSchedulePeriodType(start_period=0, limit=1.0, limit_l2=2.5)
    assert b'"limit_L2":2.5' in msgspec.json.encode(period)


def test_data_transfer_data_is_any_json_in_2x_and_a_string_in_16() -> None:
    for value in (b'"s"', b"1.5", b"[1,2]", b'{"a":{"b":[]}}', b"null", b"true"):
        msg = decode_payload(b'{"vendorId":"v","data":' + value + b"}", v201.DataTransferRequest)
        assert msgspec.json.encode(msg.data) == value
    with pytest.raises(PayloadError):
        decode_payload(b'{"vendorId":"v","data":1}', v16.DataTransferRequest)


def test_16_multiple_of_is_judged_on_the_decimal_value() -> None:
    def profile(limit: str) -> bytes:
        return (
            b'{"connectorId":1,"csChargingProfiles":{"chargingProfileId":1,"stackLevel":0,'
            b'"chargingProfilePurpose":"TxProfile","chargingProfileKind":"Absolute","chargingSchedule":'
            b'{"chargingRateUnit":"A","chargingSchedulePeriod":[{"startPeriod":0,"limit":' + limit.encode() + b"}]}}}"
        )

    for ok in ("8.1", "21.4", "0.3", "32.1", "16", "0"):
        decode_payload(profile(ok), v16.SetChargingProfileRequest)
    for bad in ("4.11", "0.05"):
        with pytest.raises(PayloadError) as err:
            decode_payload(profile(bad), v16.SetChargingProfileRequest)
        assert err.value.rule == "multipleOf" and err.value.code == "PropertyConstraintViolation"
        assert err.value.path.endswith("chargingSchedulePeriod[0].limit")
    with pytest.raises(ValueError, match="multiple of 0.1"):
        v16.ChargingSchedulePeriod(start_period=0, limit=4.11)


def test_integral_float_is_an_integer_in_draft6_only() -> None:
    body = b'{"currentTime":"2030-01-01T00:00:00Z","interval":300.0,"status":"Accepted"}'
    assert decode_payload(body, v201.BootNotificationResponse).interval == 300
    assert decode_payload(body, v21.BootNotificationResponse).interval == 300
    with pytest.raises(PayloadError) as err:
        decode_payload(body, v16.BootNotificationResponse)  # 1.6 core schemas are draft-04
    assert err.value.rule == "type"
    # The 1.6 security extension is draft-06.
    assert decode_payload(b'{"status":"Idle","requestId":7.0}', v16.LogStatusNotificationRequest).request_id == 7


def test_datetimes_need_rfc3339_with_offset() -> None:
    ok = decode_payload(b'{"currentTime":"2030-01-01T10:00:00.5+02:00"}', v201.HeartbeatResponse)
    assert ok.current_time == dt.datetime(2030, 1, 1, 8, 0, 0, 500000, tzinfo=dt.timezone.utc)
    for bad in ("2030-01-01T10:00:00", "2030-01-01 10:00:00Z", "2030-01-01T10:00:00+0200", "2030-02-30T00:00:00Z"):
        with pytest.raises(PayloadError) as err:
            decode_payload(b'{"currentTime":"' + bad.encode() + b'"}', v201.HeartbeatResponse)
        assert (err.value.rule, err.value.path) == ("format", "$.currentTime"), bad


def test_max_length_counts_code_points() -> None:
    v201.ChargingStationType(model="😀" * 20, vendor_name="V")
    decode_payload(
        b'{"chargingStation":{"model":"' + ("😀" * 20).encode() + b'","vendorName":"V"},"reason":"PowerUp"}',
        v201.BootNotificationRequest,
    )
    with pytest.raises(PayloadError):
        decode_payload(
            b'{"chargingStation":{"model":"' + ("😀" * 21).encode() + b'","vendorName":"V"},"reason":"PowerUp"}',
            v201.BootNotificationRequest,
        )


def test_enums_are_str_and_pickle() -> None:
    member = v201.BootReasonEnumType.POWER_UP
    assert member == "PowerUp" and isinstance(member, str)
    assert pickle.loads(pickle.dumps(member)) is member
    assert v16.UnitOfMeasure.CELCIUS.value == "Celcius" and v16.UnitOfMeasure.CELSIUS.value == "Celsius"
    assert "Hertz" not in [m.value for m in v16.UnitOfMeasure]  # wheel-only value, patched out


def test_encode_refuses_invalid_values() -> None:
    bad = v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M" * 21, vendor_name="V"),
        reason=v201.BootReasonEnumType.POWER_UP,
    )
    with pytest.raises(ocppkit.LocalProtocolError) as err:
        encode_payload(bad)
    assert err.value.details == {"path": "$.chargingStation.model", "rule": "maxLength"}
    naive = v201.HeartbeatResponse(current_time=dt.datetime(2030, 1, 1))
    with pytest.raises(ocppkit.LocalProtocolError):
        encode_payload(naive)


def test_encode_refuses_what_is_not_a_message_payload() -> None:
    with pytest.raises(TypeError, match=r"expected a generated .*, got IdTokenInfoType"):
        encode_payload(v201.IdTokenInfoType(status=v201.AuthorizationStatusEnumType.ACCEPTED))
    with pytest.raises(TypeError, match="got int"):
        encode_payload(3)  # type: ignore[arg-type]


def test_error_codes_are_spelt_per_version() -> None:
    with pytest.raises(PayloadError) as e16:
        decode_payload(b'{"idTag":"x","extra":1}', v16.AuthorizeRequest)
    assert e16.value.code == "FormationViolation"
    with pytest.raises(PayloadError) as e16b:
        decode_payload(b"{}", v16.AuthorizeRequest)
    assert e16b.value.code == "OccurenceConstraintViolation"
    with pytest.raises(PayloadError) as e2:
        decode_payload(b"{}", v201.AuthorizeRequest)
    assert e2.value.code == "OccurrenceConstraintViolation"
