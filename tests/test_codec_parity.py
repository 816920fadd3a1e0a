"""Property tests: the C and pure-Python twins agree on arbitrary input, and decode never crashes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ocppkit
from ocppkit._codec_common import frame_parts
from ocppkit._codec_py import Codec as PyCodec

c_module = pytest.importorskip("ocppkit._codec_c", reason="C extension not built (see test_extension_is_in_use)")
CCodec = c_module.Codec

VERSIONS = ("1.6", "2.0.1", "2.1")
PY = {v: PyCodec(v) for v in VERSIONS}
C = {v: CCodec(v) for v in VERSIONS}

SEEDS = [
    b'[2,"19223201","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]',
    b'[2,"a","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]',
    b'[3,"r",{"currentTime":"2025-01-01T00:00:00Z","interval":300,"status":"Accepted"}]',
    b'[4,"e","FormationViolation","x",{}]',
    b'[5,"e","FormatViolation","x",{}]',
    b'[6,"s","NotifyPeriodicEventStream",{"id":1,"pending":0,"basetime":"2025-01-01T12:00:00Z","data":[{"t":0,"v":"1"}]}]',
    b'[2,"h","Heartbeat",{"customData":{"vendorId":"v","k":[1,2.0,{"z":null}]}}]',
    b'[2,"d","DataTransfer",{"vendorId":"v","data":{"a":[1,"2",3.5]}}]',
    b'[3,"h",{"currentTime":"2025-01-01 00:00:00+0100"}]',
    b'[3,"h",{"currentTime":"2016-12-31T23:59:60Z"}]',
    b'[2,"m","MeterValues",{"evseId":1.0,"meterValue":[{"timestamp":"2016-12-31T15:59:60.5-08:00",'
    b'"sampledValue":[{"value":1}]}]}]',
    b'[2,"d","DataTransfer",{"vendorId":"v\\ud800\\udc00","data":"\\ud800"}]',
    b'[3,"r",{"a":"\\\\ud800\\udc00"}]',
    b'[2,"","Heartbeat",{}]',
]

# Frames each twin must treat alike that random mutation rarely builds: leap seconds, lone
# surrogates, nesting beyond the decoder's guard, empty ids.
DEEP = b"[" * 3000 + b"]" * 3000
CRAFTED = [
    b'[3,"h",{"currentTime":"2016-12-31T23:59:60.999Z"}]',
    b'[3,"h",{"currentTime":"2016-12-31T12:59:60Z"}]',
    b'[2,"b","BootNotification",{"chargePointVendor":"V\\ud800","chargePointModel":"M"}]',
    b'[2,"b","BootNotification",{"chargePointVendor":"V","chargePointModel":"M","\\udfff":1}]',
    b'[2,"b\\ud800","Heartbeat",{}]',
    b'[2,"b","Heart\\udc00beat",{}]',
    b'[3,"r",{"status":"\\ud800"}]',
    b'[4,"e","GenericError","\\ud800",{}]',
    b'[5,"e","GenericError","",{"x":"\\ud800"}]',
    b'[6,"s","NotifyPeriodicEventStream",{"a":"\\ud800"}]',
    b'[2,"d","DataTransfer",{"vendorId":"v","data":' + DEEP + b"}]",
    b'[2,"d",' + DEEP + b",{}]",
    b'[2,"d","Heartbeat",{},' + DEEP + b"]",
    b'[3,"d",' + DEEP + b"]",
    b'[4,"d","GenericError","",' + DEEP + b"]",
    b'[7,"d",' + DEEP + b"]",
    b'[2,"","Heartbeat",{}]',
    b'[3,"",{}]',
    b'[2,"a","Heartbeat",{"a":"\xff"}]',
    # Ids at and around the fast paths' limits: 36 characters, 37, the edges of printable ASCII.
    b'[2,"' + b"i" * 36 + b'","Heartbeat",{}]',
    b'[2,"' + b"i" * 37 + b'","Heartbeat",{}]',
    b'[3,"' + b"~" * 36 + b'",{}]',
    b'[2," ~!#[]","Heartbeat",{}]',
    b'[2,"a\x7f","Heartbeat",{}]',
    b'[2,"a\x1f","Heartbeat",{}]',
    b'[2,"a\tb","Heartbeat",{}]',
    b'[2,"a\\"b","Heartbeat",{}]',
    b'[2,"a\\\\","Heartbeat",{}]',
    b'[2,"\xc3\xa9","Heartbeat",{}]',
    b'[2,"a,"Heartbeat",{}]',
]


def test_twins_agree_on_crafted_frames() -> None:
    for data in CRAFTED:
        for action in (None, "Heartbeat", "BootNotification"):
            same(data, action)
        same(data.decode("utf-8", "surrogateescape"))  # a str argument


def test_twins_agree_on_a_bad_byte_at_every_place_of_an_id() -> None:
    """The C twin's fast path checks an id eight bytes at a time, and the rest one by one, and
    leaves any id outside printable ASCII or with a backslash to the exact path: a control
    character, DEL, a backslash (here an escape), a byte that is no UTF-8, at each place of ids
    of 1 to 37 bytes (whole words, the bytes left over, the word's edges), both twins alike.
    Taken by the fast path, an escape would be copied as is, and the rest accepted unchecked."""
    for length in range(1, 38):
        good = bytes(0x21 + (k * 7) % 94 for k in range(length)).replace(b'"', b"!").replace(b"\\", b"!")
        same(b'[2,"' + good + b'","Heartbeat",{}]')
        if length <= 36:
            assert outcome(C["2.0.1"], b'[2,"' + good + b'","Heartbeat",{}]', None)[0] == "ok"
        for place in range(length):
            for bad in (0x00, 0x1F, 0x5C, 0x7F, 0x80, 0xFF):
                uid = good[:place] + bytes([bad]) + good[place + 1 :]
                data = b'[2,"' + uid + b'","Heartbeat",{}]'
                same(data)


def test_twins_agree_on_every_action_with_an_empty_payload() -> None:
    """``{}`` is valid for some classes (decoded as the class with its defaults, which the C twin
    builds without decoding) and missing required fields for others: each action, each role,
    each version, both twins alike, and alike with whitespace around or inside the braces."""
    import importlib

    for v in VERSIONS:
        actions = importlib.import_module(ocppkit.edition(v).package).ACTIONS
        for name, row in actions.items():
            kind = 2 if row.response is not None else 6
            for body in (b"{}", b"{ }", b" {}", b"{}\n"):
                call = b'[%d,"e","%s",%s]' % (kind, name.encode(), body)
                same(call)
                assert (outcome(C[v], call, None)[0] == "ok") == (outcome(PY[v], call, None)[0] == "ok")
                if row.response is not None:
                    same(b'[3,"e",%s]' % body, name)
            if row.response is not None and outcome(C[v], b'[3,"e",{}]', name)[0] == "ok":
                result = C[v].decode(b'[3,"e",{}]', name)
                assert result.payload == row.response() and type(result.payload) is row.response


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def outcome(codec: Any, data: bytes | str, action: str | None) -> tuple[Any, ...]:
    try:
        result = codec.decode(data, action) if action else codec.decode(data)
    except ocppkit.OcppError as exc:
        return ("error", type(exc).__name__, exc.code, exc.description, exc.details, exc.unique_id, exc.reply)
    return ("ok", result)


def parts(codec: Any, data: bytes | str, action: str | None) -> tuple[Any, ...]:
    """What ``Codec._receive`` (the connection's entry point) gives: the frame as a flat tuple."""
    try:
        return ("ok", codec._receive(data, action))
    except ocppkit.OcppError as exc:
        return ("error", type(exc).__name__, exc.code, exc.description, exc.details, exc.unique_id, exc.reply)


def same(data: bytes | str, action: str | None = None) -> None:
    for v in VERSIONS:
        decoded = outcome(PY[v], data, action)
        assert decoded == outcome(C[v], data, action), (v, data)
        # The connection's entry point decodes alike, its tuple the frame's parts, in both twins.
        expected = ("ok", frame_parts(decoded[1])) if decoded[0] == "ok" else decoded
        assert parts(PY[v], data, action) == expected == parts(C[v], data, action), (v, data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_twins_agree_on_arbitrary_bytes(data: bytes) -> None:
    same(data)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(SEEDS), st.integers(0, 200), st.binary(min_size=0, max_size=4), st.integers(0, 3))
def test_twins_agree_on_mutated_frames(seed: bytes, pos: int, junk: bytes, mode: int) -> None:
    pos = pos % (len(seed) + 1)
    if mode == 0:
        data = seed[:pos] + junk + seed[pos:]
    elif mode == 1:
        data = seed[:pos] + seed[pos + len(junk) :]
    elif mode == 2:
        data = seed[:pos] + junk + seed[pos + len(junk) :]
    else:
        data = seed[:pos]
    same(data)
    same(data, "BootNotification")
    same(data, "Heartbeat")


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 8),
    st.one_of(st.text(max_size=40), json_values),
    st.sampled_from(
        ["BootNotification", "Heartbeat", "Authorize", "DataTransfer", "NotifyPeriodicEventStream", "Nope"]
    ),
    json_values,
    st.booleans(),
)
def test_twins_agree_on_structured_frames(type_id: int, uid: Any, action: str, payload: Any, with_action: bool) -> None:
    parts: list[Any] = [type_id, uid]
    if type_id in (2, 6):
        parts += [action, payload]
    elif type_id == 3:
        parts += [payload]
    elif type_id in (4, 5):
        parts += ["GenericError", "d", payload]
    data = json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass")
    same(data, action if with_action and action != "Nope" and type_id == 3 else None)
    same(data.decode("utf-8", "surrogatepass"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_datetime_suspect_twins_agree(data: bytes) -> None:
    from ocppkit._datetimes import datetime_suspect

    assert datetime_suspect(data) == c_module.datetime_suspect(data)
