"""The OCPP-J codec contract, run against both twins (the `Codec` fixture: py and c)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from typing import Any

import msgspec
import pytest

import ocppkit
from ocppkit import Call, CallError, CallResult, CallResultError, ErrorCode, OcppError, Policy, Send, v16, v21, v201

BOOT16 = b'{"chargePointVendor":"VendorX","chargePointModel":"ModelY"}'
BOOT201 = b'{"reason":"PowerUp","chargingStation":{"model":"ModelY","vendorName":"VendorX"}}'
BOOT_RESULT = b'{"status":"Accepted","currentTime":"2025-01-01T00:00:00Z","interval":300}'
STREAM = b'{"id":1,"pending":0,"basetime":"2025-01-01T12:00:00Z","data":[{"t":0,"v":"230.4"},{"t":5,"v":"230.2"}]}'


def frame(*parts: Any) -> bytes:
    return json.dumps(list(parts), separators=(",", ":")).encode()


def error_of(codec: Any, data: bytes | str, action: str | None = None) -> OcppError:
    with pytest.raises(OcppError) as err:
        codec.decode(data, action) if action else codec.decode(data)
    return err.value


def reply(err: OcppError) -> list[Any] | None:
    return None if err.reply is None else json.loads(err.reply)


# ------------------------------------------------------------------ twins


def test_extension_is_in_use() -> None:
    from ocppkit import codec

    if os.environ.get("OCPPKIT_NO_EXTENSIONS", "") not in ("", "0"):
        assert codec.IMPLEMENTATION == "py" and ocppkit.Codec is codec.PyCodec
    else:
        # An installed extension that is not used (or one that failed to build) fails here.
        assert codec.IMPLEMENTATION == "c", "the C extension is not built or not in use"
        from ocppkit._codec_c import Codec as CCodec

        assert ocppkit.Codec is CCodec and ocppkit.Codec("1.6").implementation == "c"


def test_env_var_selects_the_pure_twin() -> None:
    code = "import ocppkit, ocppkit.codec as c; print(c.IMPLEMENTATION, ocppkit.Codec('2.1').implementation)"
    env = {**os.environ, "OCPPKIT_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["py", "py"]


def test_bad_arguments_name_the_option(Codec: Any) -> None:
    with pytest.raises(ValueError, match="version"):
        Codec("2.0")
    with pytest.raises(ValueError, match="max_frame_size"):
        Codec("2.1", max_frame_size=0)
    with pytest.raises(ValueError, match="max_depth"):
        Codec("2.1", max_depth=0)
    with pytest.raises(ValueError, match="unknown_properties"):
        Policy(unknown_properties="ignore")


# -------------------------------------------------------------- happy path


def test_decodes_every_frame_type(Codec: Any) -> None:
    c = Codec("2.1")
    call = c.decode(frame(2, "id-1", "BootNotification", json.loads(BOOT201)))
    assert isinstance(call, Call) and call.unique_id == "id-1" and call.action == "BootNotification"
    assert isinstance(call.payload, v21.BootNotificationRequest) and call.relaxations == ()
    raw = c.decode(b'[3,"id-1",' + BOOT_RESULT + b"]")
    assert isinstance(raw, CallResult) and isinstance(raw.payload, msgspec.Raw)
    assert bytes(raw.payload) == BOOT_RESULT
    typed = c.decode_result(raw, "BootNotification")
    assert typed == c.decode(b'[3,"id-1",' + BOOT_RESULT + b"]", action="BootNotification")
    assert isinstance(typed.payload, v21.BootNotificationResponse) and typed.payload.interval == 300
    err = c.decode(b'[4,"id-1","OccurenceConstraintViolation","x",{"a":1}]')
    assert isinstance(err, CallError) and err.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
    assert (err.error_code, err.error_description, err.error_details) == ("OccurenceConstraintViolation", "x", {"a": 1})
    cre = c.decode(b'[5,"id-1","FormatViolation","tariff",{}]')
    assert isinstance(cre, CallResultError) and cre.code is ErrorCode.FORMAT_VIOLATION
    send = c.decode(b'[6,"s1","NotifyPeriodicEventStream",' + STREAM + b"]")
    assert isinstance(send, Send) and send.payload.data[1].t == 5


def test_whitespace_and_str_input(Codec: Any) -> None:
    c = Codec("1.6")
    a = c.decode(b'[2,"1","BootNotification",' + BOOT16 + b"]")
    assert c.decode(' \n[ 2 ,\t"1" , "BootNotification" ,' + BOOT16.decode() + " ] \r\n") == a
    assert c.decode(bytearray(b'[2,"1","BootNotification",' + BOOT16 + b"]")) == a


def test_round_trip_and_compact_output(Codec: Any) -> None:
    for version, payload, action in (("1.6", BOOT16, "BootNotification"), ("2.0.1", BOOT201, "BootNotification")):
        c = Codec(version)
        data = b'[2,"abc","' + action.encode() + b'",' + payload + b"]"
        msg = c.decode(data)
        out = c.encode(msg)
        assert json.loads(out) == json.loads(data) and b" " not in out  # compact, wire names exact
        assert c.decode(out) == msg
    c = Codec("2.1")
    res = c.decode(b'[3,"r",' + BOOT_RESULT + b"]", action="BootNotification")
    assert c.encode(res) == b'[3,"r",{"currentTime":"2025-01-01T00:00:00Z","interval":300,"status":"Accepted"}]'
    assert c.encode(c.decode(b'[3,"r",{ "a" : 1 }]')) == b'[3,"r",{ "a" : 1 }]'  # raw payloads pass through
    send = c.decode(b'[6,"s1","NotifyPeriodicEventStream",' + STREAM + b"]")
    assert c.decode(c.encode(send)) == send


def test_numbers_are_never_rounded(Codec: Any) -> None:
    c = Codec("2.0.1")
    req = v201.CostUpdatedRequest(total_cost=4.25, transaction_id="t")
    assert b'"totalCost":4.25' in c.encode(Call("x", "CostUpdated", req))
    req = v201.CostUpdatedRequest(total_cost=0.1 + 0.2, transaction_id="t")
    assert b'"totalCost":0.30000000000000004' in c.encode(Call("x", "CostUpdated", req))


# ---------------------------------------------------------- error codes


@pytest.mark.parametrize(
    "version,fault,code",
    [
        ("1.6", b"{}", "OccurenceConstraintViolation"),
        ("2.0.1", b"{}", "OccurrenceConstraintViolation"),
        ("2.1", b"{}", "OccurrenceConstraintViolation"),
        ("1.6", b'{"idTag":"x","zzz":1}', "FormationViolation"),
        ("2.0.1", b'{"idToken":{"idToken":"x","type":"Central"},"zzz":1}', "FormatViolation"),
        ("1.6", b'{"idTag":5}', "TypeConstraintViolation"),
        ("1.6", b'{"idTag":"' + b"x" * 21 + b'"}', "PropertyConstraintViolation"),
        ("2.0.1", b'{"idToken":{"idToken":"x","type":"Nope"}}', "PropertyConstraintViolation"),
        ("1.6", b"[]", "FormationViolation"),
        ("2.1", b"[]", "FormatViolation"),
        ("2.1", b"null", "FormatViolation"),
    ],
)
def test_payload_fault_codes_and_replies(Codec: Any, version: str, fault: bytes, code: str) -> None:
    err = error_of(Codec(version), b'[2,"m1","Authorize",' + fault + b"]")
    assert err.code == code and err.unique_id == "m1"
    assert reply(err) == [4, "m1", code, err.description, err.details]
    assert len(err.description) <= 255 and "path" in err.details and "rule" in err.details


def test_details_name_the_path_and_never_echo_values(Codec: Any) -> None:
    secret = "SECRET-VALUE"
    err = error_of(Codec("2.0.1"), frame(2, "m", "Authorize", {"idToken": {"idToken": "x", "type": secret}}))
    assert err.details == {"path": "$.idToken.type", "rule": "enum"}
    assert secret not in err.description and secret.encode() not in (err.reply or b"")


def test_unknown_action_is_not_implemented_known_send_only_is_not_supported(Codec: Any) -> None:
    for version in ("1.6", "2.0.1", "2.1"):
        err = error_of(Codec(version), b'[2,"u","NoSuchAction",{}]')
        assert err.code == "NotImplemented" and reply(err)[:3] == [4, "u", "NotImplemented"]  # type: ignore[index]
    err = error_of(Codec("2.1"), b'[2,"u","NotifyPeriodicEventStream",' + STREAM + b"]")
    assert err.code == "NotSupported"


@pytest.mark.parametrize(
    "data,code_2x",
    [
        (b"not json", "RpcFrameworkError"),
        (b"{}", "RpcFrameworkError"),
        (b"[]", "RpcFrameworkError"),
        (b"[2]", "RpcFrameworkError"),
        (b'["2","id","Heartbeat",{}]', "RpcFrameworkError"),
        (b'[2,5,"Heartbeat",{}]', "RpcFrameworkError"),
        (b'[2,"' + b"x" * 37 + b'","Heartbeat",{}]', "RpcFrameworkError"),
        (b'\xef\xbb\xbf[2,"id","Heartbeat",{}]', "RpcFrameworkError"),  # BOM
        (b'[2,"id","Heartbeat",{}] x', "RpcFrameworkError"),  # trailing garbage
        (b'[2,"id","Heartbeat",{"a":NaN}]', "RpcFrameworkError"),
        (b'[2,"id","Heartbeat",{"a":Infinity}]', "RpcFrameworkError"),
    ],
)
def test_unreadable_frames_get_minus_one_in_2x_and_silence_in_16(Codec: Any, data: bytes, code_2x: str) -> None:
    for version in ("2.0.1", "2.1"):
        err = error_of(Codec(version), data)
        assert err.code == code_2x
        assert reply(err)[:3] in ([4, "-1", code_2x], [4, "id", code_2x])  # type: ignore[index]
    err16 = error_of(Codec("1.6"), data)
    assert err16.reply is None or reply(err16)[0] == 4  # type: ignore[index]


def test_broken_call_envelope_with_readable_id_is_answered(Codec: Any) -> None:
    for data in (b'[2,"id","Heartbeat"]', b'[2,"id","Heartbeat",{},1]', b'[2,"id",7,{}]'):
        assert reply(error_of(Codec("2.0.1"), data))[:3] == [4, "id", "RpcFrameworkError"]  # type: ignore[index]
        assert reply(error_of(Codec("1.6"), data))[:3] == [4, "id", "FormationViolation"]  # type: ignore[index]


def test_unknown_message_type_per_version(Codec: Any) -> None:
    for data in (b'[7,"id",{}]', b'[5,"id","GenericError","",{}]', b'[6,"id","NotifyPeriodicEventStream",{}]'):
        assert error_of(Codec("1.6"), data).reply is None
        err = error_of(Codec("2.0.1"), data)
        assert reply(err) == [4, "id", "MessageTypeNotSupported", err.description, err.details]
    assert error_of(Codec("2.1"), b'[7,"id",{}]').reply is None
    assert error_of(Codec("2.1"), b"[7]").reply is not None  # no id at all: a broken frame


def test_responses_are_never_answered_with_a_callerror(Codec: Any) -> None:
    bad_results = [b'[3,"r"]', b'[3,"r",{},1]', b'[3,"r",[]]', b'[3,"r",{"currentTime":1}]']
    for version in ("1.6", "2.0.1"):
        for data in bad_results:
            assert error_of(Codec(version), data, "Heartbeat").reply is None
    for data in bad_results:  # 2.1 answers an invalid CALLRESULT with a CALLRESULTERROR
        assert reply(error_of(Codec("2.1"), data, "Heartbeat"))[:2] == [5, "r"]  # type: ignore[index]
    for data in (b'[4,"e","GenericError","x"]', b'[4,"e",1,"x",{}]', b'[4,"e","GenericError","x",[]]'):
        for version in ("1.6", "2.0.1", "2.1"):
            assert error_of(Codec(version), data).reply is None
    assert error_of(Codec("2.1"), b'[5,"e","GenericError"]').reply is None


def test_send_is_never_answered(Codec: Any) -> None:
    c = Codec("2.1")
    for data in (
        b'[6,"s","NotifyPeriodicEventStream",{}]',
        b'[6,"s","Heartbeat",{}]',
        b'[6,"s","Nope",{}]',
        b'[6,"s","NotifyPeriodicEventStream"]',
        b'[6,"s","NotifyPeriodicEventStream",[]]',
    ):
        assert error_of(c, data).reply is None


def test_invalid_callresult_in_21_names_the_field(Codec: Any) -> None:
    err = error_of(
        Codec("2.1"),
        b'[3,"r",{"currentTime":"2025-01-01T00:00:00Z","interval":"x","status":"Accepted"}]',
        "BootNotification",
    )
    assert reply(err) == [5, "r", "TypeConstraintViolation", err.description, {"path": "$.interval", "rule": "type"}]


def test_both_spellings_are_read_and_the_version_spelling_is_sent(Codec: Any) -> None:
    for text in ("FormationViolation", "FormatViolation"):
        for version in ("1.6", "2.0.1"):
            assert Codec(version).decode(frame(4, "e", text, "", {})).code is ErrorCode.FORMAT_VIOLATION
    unknown = Codec("2.0.1").decode(b'[4,"e","Teapot","",{}]')
    assert unknown.error_code == "Teapot" and unknown.code is None
    for version, text in (("1.6", "OccurenceConstraintViolation"), ("2.0.1", "OccurrenceConstraintViolation")):
        for given in (
            ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION,
            "OccurenceConstraintViolation",
            "OccurrenceConstraintViolation",
        ):
            data = Codec(version).encode(CallError("e", given, "d", {}))  # type: ignore[arg-type]
            assert json.loads(data) == [4, "e", text, "d", {}]


# ----------------------------------------------------------------- hostile input


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_hostile_input_gets_a_defined_outcome(Codec: Any, version: str) -> None:
    c = Codec(version)
    cases = [
        b'[2,"id","Heartbeat",{"a":"\xff"}]',  # invalid UTF-8
        b'[2,"id","Heartbeat",{"\xed\xa0\x80":1}]',  # an encoded surrogate
        '[2,"id","DataTransfer",{"vendorId":"\ud800"}]',  # lone surrogate in a str
        b'[2,"id","DataTransfer",{"vendorId":"\\ud800"}]',  # escaped lone surrogate
        b"[" * 100_000 + b"]" * 100_000,
        b'[2,"id","DataTransfer",{"vendorId":"v","data":' + b"[" * 50_000 + b"]" * 50_000 + b"}]",
        b'[2,"id","Heartbeat",{"customData":{"vendorId":"v","x":' + b"[" * 50 + b"]" * 50 + b"}}]",
        b'[2,"id","Heartbeat",{}]' + b" " * 10,
        b"",
        b"   ",
        b'[2,"id","Heartbeat",{}',
    ]
    for data in cases:
        try:
            c.decode(data)
        except OcppError as exc:
            assert isinstance(exc.code, str) and exc.code
            if exc.reply is not None:
                parsed = json.loads(exc.reply)
                assert parsed[0] in (4, 5) and 1 <= len(parsed[1]) <= 36


def test_duplicate_keys_validate_every_occurrence_and_keep_the_last(Codec: Any) -> None:
    c = Codec("2.0.1")
    msg = c.decode(b'[3,"r",{"currentTime":"2020-01-01T00:00:00Z","currentTime":"2021-01-01T00:00:00Z"}]', "Heartbeat")
    assert msg.payload.current_time.year == 2021
    with pytest.raises(OcppError):
        c.decode(b'[3,"r",{"currentTime":"bad","currentTime":"2021-01-01T00:00:00Z"}]', "Heartbeat")


def test_frame_size_limit(Codec: Any) -> None:
    big = b'[2,"big","DataTransfer",{"vendorId":"v","data":"' + b"x" * (2 << 20) + b'"}]'
    err = error_of(Codec("2.0.1"), big)
    assert err.details["rule"] == "maxFrameSize" and reply(err)[:3] == [4, "big", "RpcFrameworkError"]  # type: ignore[index]
    assert error_of(Codec("1.6"), big).details["rule"] == "maxFrameSize"
    msg = Codec("2.0.1", max_frame_size=4 << 20).decode(big)
    assert len(msg.payload.data) == 2 << 20


def test_depth_limit_for_open_values(Codec: Any) -> None:
    nested = b'{"vendorId":"v","data":' + b"[" * 40 + b"]" * 40 + b"}"
    err = error_of(Codec("2.0.1"), b'[2,"d","DataTransfer",' + nested + b"]")
    assert err.details == {"path": "$.data", "rule": "maxDepth"} and err.code == "FormatViolation"
    assert Codec("2.0.1", max_depth=64).decode(b'[2,"d","DataTransfer",' + nested + b"]").action == "DataTransfer"
    custom = b'[2,"d","Heartbeat",{"customData":{"vendorId":"v","x":' + b"[" * 40 + b"]" * 40 + b"}}]"
    assert error_of(Codec("2.0.1"), custom).details["rule"] == "maxDepth"


# ----------------------------------------------------------------- encoding


def test_encoding_refuses_invalid_messages(Codec: Any) -> None:
    c = Codec("2.0.1")
    too_long = v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M" * 21, vendor_name="V"),
        reason=v201.BootReasonEnumType.POWER_UP,
    )
    with pytest.raises(ocppkit.LocalProtocolError) as err:
        c.encode(Call("id", "BootNotification", too_long))
    assert err.value.details == {"path": "$.chargingStation.model", "rule": "maxLength"}
    bad_enum = v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M", vendor_name="V"),
        reason="Sunrise",  # type: ignore[arg-type]
    )
    with pytest.raises(ocppkit.LocalProtocolError, match=r"\$\.reason"):
        c.encode(Call("id", "BootNotification", bad_enum))
    with pytest.raises(ocppkit.LocalProtocolError, match="stateOfCharge"):
        c.encode(
            Call(
                "id",
                "NotifyEVChargingNeeds",
                v201.NotifyEVChargingNeedsRequest(
                    evse_id=1,
                    charging_needs=v201.ChargingNeedsType(
                        requested_energy_transfer=v201.EnergyTransferModeEnumType.DC,
                        dc_charging_parameters=v201.DCChargingParametersType(
                            ev_max_current=1, ev_max_voltage=1, state_of_charge=101
                        ),
                    ),
                ),
            )
        )
    ok = v201.HeartbeatRequest()
    for bad, rule in (
        (Call("x" * 37, "Heartbeat", ok), "messageId"),
        (Call("id", "Authorize", ok), "action"),
        (Call("id", "Heartbeat", v16.HeartbeatRequest()), "payload"),
        (CallResult("id", ok), "payload"),
        (CallResultError("id", "GenericError"), "messageType"),
        (CallError("id", "Teapot"), "errorCode"),
        (CallError("id", "GenericError", "x" * 256), "errorDescription"),
    ):
        with pytest.raises(ocppkit.LocalProtocolError) as e:
            c.encode(bad)
        assert e.value.details["rule"] == rule
    with pytest.raises(ocppkit.LocalProtocolError):
        c.encode(
            Send(
                "id",
                "NotifyPeriodicEventStream",
                v21.NotifyPeriodicEventStreamRequest(
                    data=[v21.StreamDataElementType(t=0, v="1")],
                    id=1,
                    pending=0,
                    basetime=dt.datetime.now(dt.timezone.utc),
                ),
            )
        )


# ------------------------------------------------------------------ policy


def test_policy_relaxations_are_listed(Codec: Any) -> None:
    status = {"connectorId": 1, "errorCode": "Error", "status": "Available", "vendorErrorCode": "E" * 60, "zz": 1}
    data = frame(2, "p", "StatusNotification", status)
    strict = error_of(Codec("1.6"), data)
    assert strict.details["rule"] in ("enum", "maxLength", "additionalProperties")
    policy = Policy(
        unknown_properties="keep",
        overrides={
            "StatusNotification": {"unknown_enum_values": "accept"},
            "StatusNotification:$.vendorErrorCode": {"overlong_strings": "truncate"},
        },
    )
    msg = Codec("1.6", policy=policy).decode(data)
    assert msg.payload.error_code == "Error" and msg.payload.vendor_error_code == "E" * 50
    rel = {(r.path, r.rule, r.action): r.value for r in msg.relaxations}
    assert rel == {
        ("$.zz", "additionalProperties", "kept"): 1,
        ("$.errorCode", "enum", "accepted"): "Error",
        ("$.vendorErrorCode", "maxLength", "truncated"): "E" * 60,
    }
    # Elsewhere the same faults are still rejected.
    with pytest.raises(OcppError):
        Codec("1.6", policy=policy).decode(frame(2, "p", "Authorize", {"idTag": "x" * 21}))


def test_policy_naive_datetimes_and_accept(Codec: Any) -> None:
    data = frame(3, "h", {"currentTime": "2025-01-01T10:00:00"})
    assert error_of(Codec("2.0.1"), data, "Heartbeat").details == {"path": "$.currentTime", "rule": "format"}
    msg = Codec("2.0.1", policy=Policy(naive_datetimes="utc")).decode(data, "Heartbeat")
    assert msg.payload.current_time == dt.datetime(2025, 1, 1, 10, tzinfo=dt.timezone.utc)
    assert [(r.path, r.action) for r in msg.relaxations] == [("$.currentTime", "assumed UTC")]
    long = frame(2, "l", "Authorize", {"idTag": "x" * 30})
    msg = Codec("1.6", policy=Policy(overlong_strings="accept")).decode(long)
    assert msg.payload.id_tag == "x" * 30 and msg.relaxations[0].action == "accepted"
    dropped = Codec("1.6", policy=Policy(unknown_properties="drop")).decode(
        frame(2, "l", "Authorize", {"idTag": "x", "q": [1]})
    )
    assert dropped.relaxations[0].value is None and dropped.relaxations[0].action == "dropped"


# ------------------------------------------------------------ leap seconds

LEAP_VALID = [
    ("2016-12-31T23:59:60Z", dt.datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)),
    ("2016-12-31T23:59:60.5Z", dt.datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)),
    ("2015-06-30t23:59:60z", dt.datetime(2015, 6, 30, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)),
    (
        "2016-12-31T15:59:60.123456789-08:00",
        dt.datetime(2016, 12, 31, 15, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
    ),
    (
        "2017-01-01T00:59:60+01:00",  # 23:59:60 UTC on 31 December
        dt.datetime(2017, 1, 1, 0, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    ),
]
LEAP_INVALID = [
    "2016-12-31T12:00:60Z",  # not the last minute of the day
    "2016-12-30T23:59:60Z",  # not the last day of a month
    "2016-12-31T23:59:60+01:00",  # 22:59:60 UTC
    "2016-12-31T23:59:61Z",
    "2016-12-31 23:59:60Z",  # a space is not RFC 3339, leap second or not
    "2016-12-31T23:59:60",  # no offset
    "2016-02-30T23:59:60Z",
]


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_leap_seconds_are_read_as_the_last_microsecond_of_their_minute(Codec: Any, version: str) -> None:
    c = Codec(version)
    for text, want in LEAP_VALID:
        msg = c.decode(frame(3, "h", {"currentTime": text}), "Heartbeat")
        assert msg.payload.current_time == want and msg.payload.current_time.utcoffset() == want.utcoffset()
        assert msg.relaxations == ()
        # encoding writes the datetime it became; that decodes to the same value
        out = c.encode(msg)
        assert c.decode(out, "Heartbeat") == msg and b":59.999999" in out
    for text in LEAP_INVALID:
        err = error_of(c, frame(3, "h", {"currentTime": text}), "Heartbeat")
        assert err.details == {"path": "$.currentTime", "rule": "format"}, text
        assert err.code == "PropertyConstraintViolation"


def test_leap_seconds_in_requests_lists_and_with_other_rules(Codec: Any) -> None:
    c = Codec("2.0.1")
    mv = {
        "evseId": 1.0,  # an integral float: valid in draft-06 files, on the same slow path
        "meterValue": [
            {"timestamp": "2016-12-31T23:59:59.5Z", "sampledValue": [{"value": 1}]},
            {"timestamp": "2016-12-31T23:59:60Z", "sampledValue": [{"value": 2}]},
            {"timestamp": "2016-12-31T23:59:60.75Z", "sampledValue": [{"value": 3}]},
        ],
    }
    msg = c.decode(frame(2, "m", "MeterValues", mv))
    times = [v.timestamp for v in msg.payload.meter_value]
    assert times == sorted(times) and times[1] == times[2] and times[2].second == 59 and msg.payload.evse_id == 1
    # another fault after a valid leap second is still reported, at its place
    bad = copy_of(mv)
    bad["meterValue"][2]["sampledValue"][0]["zz"] = 1
    assert error_of(c, frame(2, "m", "MeterValues", bad)).details == {
        "path": "$.meterValue[2].sampledValue[0].zz",
        "rule": "additionalProperties",
    }
    # an invalid leap second before a valid one: the invalid one is reported
    bad = copy_of(mv)
    bad["meterValue"][0]["timestamp"] = "2016-12-31T23:58:60Z"
    assert error_of(c, frame(2, "m", "MeterValues", bad)).details["path"] == "$.meterValue[0].timestamp"
    # duplicate keys: every occurrence is still validated
    dup = b'[3,"r",{"currentTime":"bad","currentTime":"2016-12-31T23:59:60Z"}]'
    assert error_of(c, dup, "Heartbeat").details == {"path": "$.currentTime", "rule": "format"}
    # a leap second's text in a string that is not a date-time stays exactly as sent
    text = "2016-12-31T23:59:60Z"
    dtr = c.decode(frame(2, "d", "DataTransfer", {"vendorId": text, "data": {"at": text}}))
    assert dtr.payload.vendor_id == text and dtr.payload.data == {"at": text}
    hb = ocppkit.decode_payload(b'{"currentTime":"%s"}' % text.encode(), v201.HeartbeatResponse)
    assert hb.current_time.second == 59


def test_leap_seconds_under_a_policy(Codec: Any) -> None:
    c = Codec("2.0.1", policy=Policy(unknown_properties="drop"))
    msg = c.decode(frame(3, "h", {"currentTime": "2016-12-31T23:59:60Z", "zz": 1}), "Heartbeat")
    assert msg.payload.current_time.second == 59 and [r.path for r in msg.relaxations] == ["$.zz"]


def copy_of(value: Any) -> Any:
    return json.loads(json.dumps(value))


# ------------------------------------------------- readable ids in undecodable frames

LONE = b"\\ud800"  # the six characters of an escaped lone surrogate
FORMAT = {"1.6": "FormationViolation", "2.0.1": "FormatViolation", "2.1": "FormatViolation"}
FRAMING = {"1.6": "FormationViolation", "2.0.1": "RpcFrameworkError", "2.1": "RpcFrameworkError"}


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_a_lone_surrogate_in_a_payload_is_answered_with_the_id(Codec: Any, version: str) -> None:
    c = Codec(version)
    err = error_of(c, b'[2,"id-1","DataTransfer",{"vendorId":"v' + LONE + b'"}]')
    assert (err.code, err.unique_id, err.message_type) == (FORMAT[version], "id-1", 2)
    assert isinstance(err, ocppkit.PayloadError) and err.details == {"path": "$.vendorId", "rule": "unicode"}
    assert reply(err) == [4, "id-1", FORMAT[version], err.description, err.details]
    # in a member name: the object that has it; nested and in arrays: the exact path
    err = error_of(c, b'[2,"i","Heartbeat",{"customData":{"vendorId":"v","k' + LONE + b'":1}}]')
    assert err.details == {"path": "$.customData", "rule": "unicode"} and reply(err)[1] == "i"  # type: ignore[index]
    err = error_of(c, b'[2,"i","DataTransfer",{"vendorId":"v","data":{"a":[1,{"b":"x' + LONE + b'"}]}}]')
    assert err.details["path"] == "$.data.a[1].b"
    # the envelope is judged first, as for any frame
    assert error_of(c, b'[2,"i","Nope",{"a":"' + LONE + b'"}]').code == "NotImplemented"
    assert error_of(c, b'[2,"i","Heartbeat",["' + LONE + b'"]]').details == {"path": "$", "rule": "type"}
    err = error_of(c, b'[2,"i","Heartbeat",{},"' + LONE + b'"]')
    assert (err.code, err.details, reply(err)[1]) == (FRAMING[version], {"rule": "frame"}, "i")  # type: ignore[index]
    # an action with a lone surrogate names no action
    err = error_of(c, b'[2,"i","Heart' + LONE + b'beat",{}]')
    assert err.code == "NotImplemented" and reply(err)[:2] == [4, "i"]  # type: ignore[index]


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_a_lone_surrogate_in_a_response_raises_with_the_id(Codec: Any, version: str) -> None:
    c = Codec(version)
    for action in (None, "Heartbeat"):
        err = error_of(c, b'[3,"r-1",{"currentTime":"' + LONE + b'"}]', action)  # type: ignore[arg-type]
        assert (err.unique_id, err.message_type, err.code) == ("r-1", 3, FORMAT[version])
        assert err.details == {"path": "$.currentTime", "rule": "unicode"}
        if version == "2.1":  # 2.1 answers an invalid CALLRESULT with a CALLRESULTERROR
            assert reply(err) == [5, "r-1", "FormatViolation", err.description, err.details]
        else:
            assert err.reply is None
    for data, mt in (
        (b'[4,"e-1","GenericError","' + LONE + b'",{}]', 4),
        (b'[4,"e-1","Generic' + LONE + b'",{}]', 4),  # 4 elements and a bad code: the surrogate is found first
        (b'[4,"e-1","GenericError","x",{"a":"' + LONE + b'"}]', 4),
        (b'[5,"e-1","GenericError","x",{"a":"' + LONE + b'"}]', 5),
    ):
        err = error_of(c, data)
        if mt == 5 and version != "2.1":
            assert err.details["rule"] == "messageTypeId" and err.unique_id == "e-1"
            continue
        assert (err.unique_id, err.message_type, err.reply) == ("e-1", mt, None)
        assert err.details == {"rule": "unicode"} and err.code == FRAMING[version]
    if version == "2.1":
        err = error_of(c, b'[6,"s-1","NotifyPeriodicEventStream",{"a":"' + LONE + b'"}]')
        assert (err.unique_id, err.message_type, err.reply, err.details["rule"]) == ("s-1", 6, None, "unicode")


def test_what_is_not_a_lone_surrogate(Codec: Any) -> None:
    c = Codec("2.0.1")
    # an escaped backslash, then the text "ud800": an ordinary unknown property value
    err = error_of(c, b'[2,"i","Heartbeat",{"a":"\\\\ud800"}]')
    assert err.details == {"path": "$.a", "rule": "additionalProperties"}
    # a pair is a character
    msg = c.decode(b'[2,"i","DataTransfer",{"vendorId":"\\ud83d\\ude00\\\\\\ud83d\\ude00"}]')
    assert msg.payload.vendor_id == "\U0001f600\\\U0001f600"
    # an escaped backslash before a real lone surrogate: still found
    err = error_of(c, b'[2,"i","DataTransfer",{"vendorId":"\\\\' + LONE + b'"}]')
    assert err.details == {"path": "$.vendorId", "rule": "unicode"}
    # a lone surrogate in the id: the id cannot be read (nor sent back)
    for version, want in (("1.6", None), ("2.0.1", [4, "-1", "RpcFrameworkError"])):
        err = error_of(Codec(version), b'[2,"id' + LONE + b'","Heartbeat",{}]')
        assert err.unique_id is None and (reply(err) or [None])[:3] == (want or [None])
    # a lone surrogate and a syntax error: not JSON; a surrogate in a JSON object: not an array
    err = error_of(c, b'[2,"i","DataTransfer",{"vendorId":"' + LONE + b'"}')
    assert err.details == {"rule": "json"} and reply(err)[:2] == [4, "-1"]  # type: ignore[index]
    assert error_of(c, b'{"a":"' + LONE + b'"}').details == {"rule": "frame"}
    # bytes that are not UTF-8 (as a lone surrogate in a str argument becomes) in a readable frame
    for data in ('[2,"i","DataTransfer",{"vendorId":"\ud800"}]', b'[2,"i","Heartbeat",{"a\xff":1}]'):
        err = error_of(c, data)
        assert (err.code, err.details) == ("FormatViolation", {"path": "$", "rule": "unicode"})
        assert reply(err)[:2] == [4, "i"]  # type: ignore[index]
    assert error_of(c, b'[2,"i","Heart\xffbeat",{}]').code == "NotImplemented"
    assert error_of(c, b'[2,"i\xff","Heartbeat",{}]').unique_id is None


def _beyond_the_decoder_guard() -> bytes:
    """Nested arrays just deeper than msgspec's recursion guard, which depends on the interpreter
    (about 2,000 levels on Python 3.11, more on 3.13, whose guard measures the C stack)."""
    for depth in (3_000, 10_000, 30_000, 100_000):
        value = b"[" * depth + b"]" * depth
        try:
            msgspec.json.decode(value)
        except RecursionError:
            return value
    raise AssertionError("msgspec decodes 100,000 nested arrays: it has no recursion guard any more")


DEEP = _beyond_the_decoder_guard()


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_nesting_beyond_the_decoder_guard_after_the_id(Codec: Any, version: str) -> None:
    c = Codec(version)
    err = error_of(c, b'[2,"d-1","DataTransfer",{"vendorId":"v","data":' + DEEP + b"}]")
    assert (err.code, err.unique_id, err.details) == (FORMAT[version], "d-1", {"path": "$", "rule": "maxDepth"})
    assert reply(err) == [4, "d-1", FORMAT[version], err.description, err.details]
    # the deep value is the payload, but not an object
    err = error_of(c, b'[2,"d-1","Heartbeat",' + DEEP + b"]")
    assert err.details == {"path": "$", "rule": "type"} and reply(err)[1] == "d-1"  # type: ignore[index]
    # the deep value is where the action goes, or after the payload: a broken CALL
    for data in (b'[2,"d-1",' + DEEP + b",{}]", b'[2,"d-1","Heartbeat",{},' + DEEP + b"]"):
        err = error_of(c, data)
        assert (err.code, err.details, reply(err)[:2]) == (FRAMING[version], {"rule": "frame"}, [4, "d-1"])  # type: ignore[index]
    assert error_of(c, b'[2,"d-1","Nope",{"a":' + DEEP + b"}]").code == "NotImplemented"
    # responses raise with the id, never answered with a CALLERROR
    for action in (None, "Heartbeat"):
        err = error_of(c, b'[3,"r-1",{"a":' + DEEP + b"}]", action)  # type: ignore[arg-type]
        assert (err.unique_id, err.message_type, err.details["rule"]) == ("r-1", 3, "maxDepth")
        assert (reply(err) or [None])[:2] == ([5, "r-1"] if version == "2.1" else [None])
    err = error_of(c, b'[4,"e-1","GenericError","x",{"a":' + DEEP + b"}]")
    assert (err.unique_id, err.message_type, err.reply, err.details) == ("e-1", 4, None, {"rule": "maxDepth"})
    # an unknown message type keeps its rule (2.0.1 answers it, with the id)
    err = error_of(c, b'[7,"x-1",' + DEEP + b"]")
    assert err.unique_id == "x-1" and err.details["rule"] == "messageTypeId"
    assert (reply(err) or [None])[:2] == ([4, "x-1"] if version == "2.0.1" else [None])
    # deep before the id: nothing can be read
    err = error_of(c, b"[" + DEEP + b',"d-1"]')
    assert err.unique_id is None and err.details == {"rule": "json"}


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_an_empty_message_id_was_read_and_is_echoed(Codec: Any, version: str) -> None:
    c = Codec(version)
    err = error_of(c, b'[2,"","Heartbeat",{}]')
    assert (err.unique_id, err.details) == ("", {"rule": "messageId"})
    assert reply(err) == [4, "", FRAMING[version], err.description, err.details]
    for data in (b'[3,"",{}]', b'[4,"","GenericError","",{}]'):
        err = error_of(c, data, "Heartbeat")
        assert (err.unique_id, err.reply, err.details) == ("", None, {"rule": "messageId"})
    big = b'[2,"","DataTransfer",{"vendorId":"v","data":"' + b"x" * (2 << 20) + b'"}]'
    err = error_of(c, big)
    assert err.unique_id == "" and reply(err)[:2] == [4, ""]  # type: ignore[index]
    # an id longer than 36 characters is not sent back: a reply carrying it would break the limit
    err = error_of(c, b'[2,"' + b"x" * 37 + b'","Heartbeat",{}]')
    assert err.unique_id is None and (reply(err) or [None])[:2] == ([None] if version == "1.6" else [4, "-1"])


def test_decode_payload_names_the_same_faults() -> None:
    cls = v201.DataTransferRequest
    cases = [
        (b'{"vendorId":"v","data":{"k":"' + LONE + b'"}}', {"path": "$.data.k", "rule": "unicode"}),
        ('{"vendorId":"\ud800"}', {"path": "$", "rule": "unicode"}),  # a str: not UTF-8 once encoded
        (b'{"vendorId":"\xff"}', {"path": "$", "rule": "unicode"}),
        (b'{"vendorId":"v","data":' + DEEP + b"}", {"path": "$", "rule": "maxDepth"}),
        (b'{"vendorId":"v"', {"path": "$", "rule": "json"}),
    ]
    for data, details in cases:
        with pytest.raises(ocppkit.PayloadError) as err:
            ocppkit.decode_payload(data, cls)
        assert (err.value.details, err.value.code) == (details, "FormatViolation"), data[:40]
