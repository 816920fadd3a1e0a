"""The exact decoder reads its version rules from the edition, and the policy's relaxations
apply wherever a fault is reported (customData included). Both twins, every version."""

from __future__ import annotations

import json
from typing import Any

import pytest

import ocppkit
from ocppkit import CallError, LocalProtocolError, MessageType, OcppError, Policy, edition
from ocppkit.edition import VERSIONS


def reply(codec: Any, data: bytes, action: str | None = None) -> list[Any] | None:
    with pytest.raises(OcppError) as err:
        codec.decode(data, action) if action else codec.decode(data)
    return json.loads(err.value.reply) if err.value.reply is not None else None


@pytest.mark.parametrize("version", VERSIONS)
def test_the_frame_rules_are_the_editions(Codec: Any, version: str) -> None:
    ed = edition(version)
    codec = Codec(version)
    frame_error = ed.spell(ed.frame_error)
    # Nothing readable: answered with "-1" where the edition answers unreadable frames.
    expected = [4, "-1", frame_error] if ed.answers_unreadable else None
    got = reply(codec, b"[2,")
    assert (got[:3] if got else None) == expected
    # A message type the edition lacks.
    got = reply(codec, b'[7,"x",{}]')
    unknown = ed.unknown_message_type
    assert (got[:3] if got else None) == ([4, "x", ed.spell(unknown)] if unknown else None)
    # An invalid CALLRESULT: answered with the edition's result error type, if any.
    got = reply(codec, b'[3,"r",{}]', "Heartbeat")
    assert (got[0] if got else None) == ed.result_error_type
    # A broken CALL envelope.
    assert reply(codec, b'[2,"c","Heartbeat"]')[:3] == [4, "c", frame_error]
    # CALLRESULTERROR and SEND where the edition lacks them: unknown message types too.
    for kind in (MessageType.CALLRESULTERROR, MessageType.SEND):
        if kind not in ed.message_types:
            got = reply(codec, b'[%d,"s","NotifyPeriodicEventStream",{}]' % kind)
            assert (got[:3] if got else None) == ([4, "s", ed.spell(unknown)] if unknown else None)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_description_limit_is_the_editions(Codec: Any, version: str) -> None:
    limit = edition(version).max_description
    codec = Codec(version)
    long = "x" * 300
    if limit is None:
        assert json.loads(codec.encode(CallError("1", ocppkit.ErrorCode.GENERIC_ERROR, long, {})))[3] == long
    else:
        with pytest.raises(LocalProtocolError, match=f"longer than {limit} characters"):
            codec.encode(CallError("1", ocppkit.ErrorCode.GENERIC_ERROR, long, {}))
        codec.encode(CallError("1", ocppkit.ErrorCode.GENERIC_ERROR, "x" * limit, {}))


@pytest.mark.parametrize("version", VERSIONS)
def test_error_codes_are_spelt_as_the_edition_spells_them(version: str) -> None:
    ed = edition(version)
    for code in ocppkit.ErrorCode:
        spelt = ocppkit.spell_error_code(code, version)
        assert spelt == ed.spell(code.value) and spelt in ed.error_codes
        parsed = ocppkit.parse_error_code(spelt)
        assert parsed is code or parsed is ocppkit.ErrorCode(spelt)  # a stand-in (ProtocolError) reads as itself
    assert ocppkit.spell_error_code(ocppkit.ErrorCode.FORMAT_VIOLATION, "9.9") == "FormatViolation"


def test_the_c_twins_message_type_constants_are_messagetypes() -> None:
    c = pytest.importorskip("ocppkit._codec_c")
    assert c.MESSAGE_TYPES == {name: int(MessageType[name]) for name in ("CALL", "CALLRESULT", "SEND")}


@pytest.mark.parametrize("choice,kept", [("accept", 300), ("truncate", 255)])
def test_an_overlong_customdata_vendor_id_is_relaxed_like_any_string(Codec: Any, choice: str, kept: int) -> None:
    """msgspec reports it from inside CustomData's hook (``... in field `vendorId```)."""
    codec = Codec("2.0.1", policy=Policy(overlong_strings=choice))
    frame = codec.decode(b'[2,"1","Heartbeat",{"customData":{"vendorId":"' + b"v" * 300 + b'","n":1}}]')
    assert isinstance(frame, ocppkit.Call)
    custom = frame.payload.custom_data
    assert len(custom.vendor_id) == kept and custom.extra == {"n": 1}
    (relaxed,) = frame.relaxations
    assert (relaxed.path, relaxed.rule, relaxed.value) == ("$.customData.vendorId", "maxLength", "v" * 300)
    with pytest.raises(ocppkit.PayloadError) as err:  # strict: the same fault, named the same way
        Codec("2.0.1").decode(b'[2,"1","Heartbeat",{"customData":{"vendorId":"' + b"v" * 300 + b'"}}]')
    assert (err.value.path, err.value.rule) == ("$.customData.vendorId", "maxLength")


def test_an_unknown_member_that_is_no_identifier_is_named_as_errors_name_it(Codec: Any) -> None:
    codec = Codec("1.6", policy=Policy(unknown_properties="keep"))
    frame = codec.decode(b'[2,"1","Authorize",{"idTag":"x","a b":1}]')
    assert [(r.path, r.action, r.value) for r in frame.relaxations] == [('$["a b"]', "kept", 1)]
    with pytest.raises(ocppkit.PayloadError) as err:
        Codec("1.6").decode(b'[2,"1","Authorize",{"idTag":"x","a b":1}]')
    assert err.value.path == '$["a b"]'
