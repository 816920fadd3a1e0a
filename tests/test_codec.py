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
from ocppkit import Call, CallError, CallResult, CallResultError, ErrorCode, OcppError, Policy, Send
from ocppkit import v16, v201, v21

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
        (b'[2,"","Heartbeat",{}]', "RpcFrameworkError"),
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
