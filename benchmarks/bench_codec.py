"""Codec benchmark: whole OCPP-J CALL frames, bytes -> validated typed message and back.

Decode contenders, all fed the very same ``bytes`` object (the whole frame):

``ocppkit-c``
    ``ocppkit.Codec(version).decode(frame)``, the Cython twin (``ocppkit._codec_c``): bytes ->
    ``ocppkit.Call(unique_id, action, payload)`` with the payload a validated instance of the
    action's generated request class (nested Structs, enum members, ``datetime``).

``ocppkit-py``
    ``ocppkit.codec.PyCodec(version).decode(frame)``: the pure-Python twin, same result.

``ocpp``
    The ``ocpp`` package's (mobilityhouse/ocpp 2.1.0) receive path for a CALL frame, without
    websocket and asyncio (see :func:`ocpp_receive`): ``ocpp.messages.unpack`` (``json.loads`` of
    the frame and the ``Call``) -> ``_validate_payload`` (jsonschema) -> ``camel_to_snake_case``
    -> the action's ``call`` dataclass built from the snake_case keyword arguments.

``msgspec-untyped``
    ``msgspec.json.decode(frame)``: bytes -> lists/dicts/str/float, no validation. The floor.

Encode contenders, fed the frame that ``ocppkit-c`` decoded:

``encode-c``
    ``codec.encode(frame_obj)``: checks the frame, encodes the payload, validates it against the
    schema (a typed decode of the encoded bytes) and assembles ``[2,"<id>","<Action>",{...}]``.
    (Both twins share this code: ``ocppkit._encode.encode_frame``.)

``msgspec-encode``
    ``msgspec.json.encode(frame_obj.payload)``: the very same Struct, no validation, no frame.

Rows marked (info) have no target; they show where the time goes: msgspec's typed decoder on the
payload slice alone (the core of ``ocppkit-c``), ``json.loads`` of the frame (the first step of
``ocpp``), and ``ocppkit.encode_payload(payload, validate=False)`` (``encode-c`` without the
validation and the frame).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from itertools import repeat
from typing import Any

import msgspec

import ocppkit
from ocppkit.codec import PyCodec

from ._timing import calibrate, fmt_time, interleaved, median, paired_ratio
from .data import FrameInput, frames, frames_fingerprint

__all__ = [
    "DECODE",
    "ENCODE",
    "SMALL_FRAME_BYTES",
    "TARGET_ENCODE_RATIO",
    "TARGET_OCPP_RATIO",
    "TARGET_UNTYPED_RATIO_LARGE",
    "TARGET_UNTYPED_RATIO_SMALL",
    "ocpp_receive",
    "prepare",
    "target_lines",
    "verify",
    "run",
]

TARGET_OCPP_RATIO = 150.0  # ocpp time / ocppkit-c time, every frame
SMALL_FRAME_BYTES = 1500  # frames of 1.5 KB (1500 bytes) and more are "large"
TARGET_UNTYPED_RATIO_LARGE = 1.3  # ocppkit-c / msgspec-untyped, frames >= 1.5 KB
TARGET_UNTYPED_RATIO_SMALL = 1.6  # ocppkit-c / msgspec-untyped, smaller frames
TARGET_ENCODE_RATIO = 3.0  # encode-c / msgspec-encode
TARGET_SMALL_DECODE = 1.1  # issue 14: Codec.decode / msgspec.json.decode on Heartbeat, BootNotification

DECODE = ("ocppkit-c", "ocppkit-py", "ocpp", "msgspec-untyped")
ENCODE = ("encode-c", "msgspec-encode")
LABELS = {
    "ocppkit-c": "ocppkit.Codec(v).decode(frame)  [C]",
    "ocppkit-py": "PyCodec(v).decode(frame)  [pure twin]",
    "ocpp": "ocpp 2.1.0 receive path (whole frame)",
    "msgspec-untyped": "msgspec.json.decode(frame)  [untyped floor]",
    "msgspec-typed-payload": "(info) msgspec Decoder(cls).decode(payload)",
    "json.loads": "(info) json.loads(frame)",
    "encode-c": "encode: codec.encode(frame_obj)  [validates]",
    "msgspec-encode": "encode: msgspec.json.encode(payload)",
    "encode-payload-novalidate": "(info) encode: encode_payload(p, validate=False)",
}


def untyped_target(size: int) -> float:
    return TARGET_UNTYPED_RATIO_LARGE if size >= SMALL_FRAME_BYTES else TARGET_UNTYPED_RATIO_SMALL


def ocpp_receive(version: str, call_cls: type) -> Callable[[bytes], Any]:
    """The ``ocpp`` package's receive path for one CALL frame, without IO.

    Mirrors ``ChargePoint.route_message`` -> ``unpack`` -> ``_handle_call`` in
    ``ocpp/charge_point.py`` and ``ocpp/messages.py`` (2.1.0):

    1. ``unpack(frame)``: ``json.loads`` of the whole frame, checks, ``Call(*msg[1:])``;
    2. ``_validate_payload(msg, version)``: the cached jsonschema ``Draft4Validator`` of the
       action's schema, exactly what the public ``validate_payload`` coroutine runs (by default
       in a thread-pool executor, which is left out);
    3. ``camel_to_snake_case(msg.payload)``: recursive, regex-based key conversion;
    4. ``call_cls(**snake_case_payload)``: the action's ``ocpp.v*.call`` dataclass, standing in
       for ``handler(**snake_case_payload)`` (nested objects stay dicts, enums and timestamps
       stay strings, as in ``ocpp``).

    Left out (they would only make ``ocpp`` slower): the ``route_map`` lookup,
    ``inspect.signature(handler)`` (computed per call), logging, the executor hop, asyncio.
    """
    from ocpp.charge_point import camel_to_snake_case  # type: ignore[import-untyped]
    from ocpp.messages import _validate_payload, unpack  # type: ignore[import-untyped]

    def receive(data: bytes) -> Any:
        msg = unpack(data)
        _validate_payload(msg, version)
        return call_cls(**camel_to_snake_case(msg.payload))

    return receive


# ---------------------------------------------------------------------------------- checks

_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def _norm_times(node: Any) -> Any:
    """Date-time strings -> datetime, so "...:21.576Z" and "...:21.576000Z" compare equal."""
    if isinstance(node, dict):
        return {k: _norm_times(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_norm_times(v) for v in node]
    if isinstance(node, str) and _DATETIME.fullmatch(node):
        return datetime.fromisoformat(node.replace("Z", "+00:00"))
    return node


def _fast_path_check(item: FrameInput) -> dict[str, bool | None]:
    """Did each twin decode the frame on its fast path? (None: could not tell.)

    Both twins hand a frame they cannot accept on the fast path to the module-level
    ``decode_exact``; replacing it for one call with a function that raises tells us.
    """
    out: dict[str, bool | None] = {}
    for label, modname, codec_cls in (("c", "ocppkit._codec_c", ocppkit.Codec), ("py", "ocppkit._codec_py", PyCodec)):
        try:
            mod = importlib.import_module(modname)
            original = getattr(mod, "decode_exact")  # noqa: B009 - not in every build's type stubs
        except (ImportError, AttributeError):
            out[label] = None
            continue

        class _Slow(Exception):
            pass

        def slow(*args: Any, **kwargs: Any) -> Any:
            raise _Slow

        codec = codec_cls(item.version)
        setattr(mod, "decode_exact", slow)  # noqa: B010
        try:
            codec.decode(item.data)
            out[label] = True
        except _Slow:
            out[label] = False
        finally:
            setattr(mod, "decode_exact", original)  # noqa: B010
    return out


def verify(item: FrameInput, cls: type, call_cls: type) -> dict[str, Any]:
    """Fail loudly unless every contender accepts the frame and they agree on its content."""
    from ocpp.messages import unpack, validate_payload

    assert item.data == b"".join(
        (b'[2,"', item.unique_id.encode(), b'","', item.action.encode(), b'",', item.payload, b"]")
    ), item.name
    c_frame = ocppkit.Codec(item.version).decode(item.data)
    py_frame = PyCodec(item.version).decode(item.data)
    assert isinstance(c_frame, ocppkit.Call) and isinstance(py_frame, ocppkit.Call), item.name
    for frame in (c_frame, py_frame):
        assert type(frame) is ocppkit.Call, (item.name, type(frame))
        assert (frame.unique_id, frame.action) == (item.unique_id, item.action), item.name
        assert type(frame.payload) is cls, (item.name, type(frame.payload))
        assert frame.relaxations == (), item.name
    assert c_frame == py_frame, f"{item.name}: the twins disagree"
    # The `ocpp` package's public, async validator, run the way its ChargePoint runs it.
    asyncio.run(validate_payload(unpack(item.data), item.version))
    via_ocpp = ocpp_receive(item.version, call_cls)(item.data)
    assert type(via_ocpp) is call_cls, (item.name, type(via_ocpp))
    # Same data all ways: ocppkit's validated encode gives back the sent JSON tree (key order
    # and the text form of timestamps aside), and its payload bytes are msgspec's for the Struct.
    encoded = ocppkit.Codec(item.version).encode(c_frame)
    assert _norm_times(msgspec.json.decode(encoded)) == _norm_times(msgspec.json.decode(item.data)), item.name
    payload = msgspec.json.encode(c_frame.payload)
    assert encoded == b"".join(
        (b'[2,"', item.unique_id.encode(), b'","', item.action.encode(), b'",', payload, b"]")
    ), item.name
    assert b'"customData"' not in item.data, item.name  # msgspec would need enc_hook for CustomData
    fast = _fast_path_check(item)
    assert all(v is not False for v in fast.values()), f"{item.name}: slow path taken ({fast})"
    return {"fast_path": fast}


# --------------------------------------------------------------------------------- loops


Operation = tuple[Callable[..., Any], Any, dict[str, Any]]  # fn, its one argument, keyword arguments


def prepare(item: FrameInput) -> dict[str, Operation]:
    """Per contender, the call to time: ``fn(arg, **kwargs)``. Shared with the pytest-benchmark tests.

    Everything is built here, once: codecs, decoders, the `ocpp` receive function, and the frame
    object the encoders encode (decoded by ``ocppkit-c``).
    """
    cls = getattr(importlib.import_module(item.ocppkit_module), item.ocppkit_class)
    call_cls = getattr(importlib.import_module(item.ocpp_call_module), item.action)
    codec_c = ocppkit.Codec(item.version)
    codec_py = PyCodec(item.version)
    frame_obj = codec_c.decode(item.data)
    assert isinstance(frame_obj, ocppkit.Call), item.name
    return {
        "ocppkit-c": (codec_c.decode, item.data, {}),
        "ocppkit-py": (codec_py.decode, item.data, {}),
        "ocpp": (ocpp_receive(item.version, call_cls), item.data, {}),
        "msgspec-untyped": (msgspec.json.decode, item.data, {}),
        "msgspec-typed-payload": (msgspec.json.Decoder(cls).decode, item.payload, {}),
        "json.loads": (json.loads, item.data, {}),
        "encode-c": (codec_c.encode, frame_obj, {}),
        "msgspec-encode": (msgspec.json.encode, frame_obj.payload, {}),
        "encode-payload-novalidate": (ocppkit.encode_payload, frame_obj.payload, {"validate": False}),
    }


def _loop(fn: Callable[..., Any], arg: Any, kwargs: dict[str, Any]) -> Callable[[int], None]:
    """A timing loop: the call itself inside a plain ``for`` loop, nothing in between."""
    if kwargs:

        def loop_kw(n: int, fn: Any = fn, arg: Any = arg, kwargs: Any = kwargs) -> None:
            for _ in repeat(None, n):
                fn(arg, **kwargs)

        return loop_kw

    def loop(n: int, fn: Any = fn, arg: Any = arg) -> None:
        for _ in repeat(None, n):
            fn(arg)

    return loop


# ----------------------------------------------------------------------------------- run


def run(
    *, quick: bool, sample_time: float | None = None, repeats: int | None = None, out: Callable[[str], None] = print
) -> dict[str, Any]:
    sample_time = sample_time or (0.005 if quick else 0.05)
    repeats = repeats or (15 if quick else 31)
    items = frames()
    results: dict[str, Any] = {
        "sample_time_s": sample_time,
        "repeats": repeats,
        "implementation": ocppkit.IMPLEMENTATION,
        "frames_fingerprint": frames_fingerprint(items),
        "frames": [],
    }
    out(
        f"Codec (frames): {repeats} interleaved rounds x ~{sample_time * 1e3:.0f} ms samples per contender; "
        f"frames fingerprint {results['frames_fingerprint']}; ocppkit.Codec is "
        f"{ocppkit.Codec.__module__}.{ocppkit.Codec.__qualname__} (IMPLEMENTATION={ocppkit.IMPLEMENTATION!r})"
    )
    if ocppkit.IMPLEMENTATION != "c":
        out("  WARNING: the C extension is not in use; 'ocppkit-c' measures the pure twin")
    for item in items:
        cls = getattr(importlib.import_module(item.ocppkit_module), item.ocppkit_class)
        call_cls = getattr(importlib.import_module(item.ocpp_call_module), item.action)
        checks = verify(item, cls, call_cls)
        loops = {name: _loop(*op) for name, op in prepare(item).items()}
        for loop in loops.values():  # warm-up: decoder construction, schema loading, caches
            loop(3)
        # As in bench_payload: freeze what is alive now so the per-sample gc.collect() is cheap
        # and collections while timing only see what the timed code allocates.
        gc.collect()
        gc.freeze()
        plan = {name: (loop, calibrate(loop, sample_time)) for name, loop in loops.items()}
        per_op = interleaved(plan, repeats)

        kit = per_op["ocppkit-c"]
        size = len(item.data)
        ocpp_ratio = paired_ratio(per_op["ocpp"], kit)
        untyped_ratio = paired_ratio(kit, per_op["msgspec-untyped"])
        encode_ratio = paired_ratio(per_op["encode-c"], per_op["msgspec-encode"])
        limit = untyped_target(size)
        row: dict[str, Any] = {
            "name": item.name,
            "version": item.version,
            "action": item.action,
            "ocppkit_class": f"{item.ocppkit_module}.{item.ocppkit_class}",
            "frame_bytes": size,
            "payload_bytes": len(item.payload),
            "size_class": "large" if size >= SMALL_FRAME_BYTES else "small",
            "description": item.description,
            "fast_path": checks["fast_path"],
            "contenders": {
                name: {
                    "label": LABELS[name],
                    "iterations_per_sample": plan[name][1],
                    "median_s": median(samples),
                    "min_s": min(samples),
                    "samples_s": samples,
                }
                for name, samples in per_op.items()
            },
            "ratios": {
                "ocpp_over_ocppkit_c": ocpp_ratio,
                "ocpp_over_ocppkit_c_min": min(per_op["ocpp"]) / min(kit),
                "ocppkit_c_over_msgspec_untyped": untyped_ratio,
                "ocppkit_c_over_msgspec_untyped_min": min(kit) / min(per_op["msgspec-untyped"]),
                "encode_c_over_msgspec_encode": encode_ratio,
                "encode_c_over_msgspec_encode_min": min(per_op["encode-c"]) / min(per_op["msgspec-encode"]),
                "ocppkit_py_over_ocppkit_c": paired_ratio(per_op["ocppkit-py"], kit),
                "ocpp_over_ocppkit_py": paired_ratio(per_op["ocpp"], per_op["ocppkit-py"]),
                "ocppkit_py_over_msgspec_untyped": paired_ratio(per_op["ocppkit-py"], per_op["msgspec-untyped"]),
                "ocppkit_c_over_msgspec_typed_payload": paired_ratio(kit, per_op["msgspec-typed-payload"]),
            },
            "untyped_target": limit,
            "targets": {
                "ocpp_over_ocppkit_c_ge_150": ocpp_ratio >= TARGET_OCPP_RATIO,
                "ocppkit_c_over_untyped_le_limit": untyped_ratio <= limit,
                "encode_over_msgspec_encode_le_3": encode_ratio <= TARGET_ENCODE_RATIO,
            },
        }
        results["frames"].append(row)
        _print_frame(row, out)
    gc.unfreeze()
    results["small"] = small_frames(sample_time=sample_time, repeats=repeats, out=out)
    return results


def small_frame_inputs() -> list[tuple[str, str, bytes]]:
    """(name, version, frame): Heartbeat (an empty payload) in 1.6 and 2.0.1, with a 36-character
    UUID id as chargers send it, and the two BootNotification frames of :func:`frames`."""
    uid = "5b1f0e26-8c4f-4a7e-9d2b-3f6a1c0e7d94"
    out = [
        ("v16 Heartbeat", "1.6", f'[2,"{uid}","Heartbeat",{{}}]'.encode()),
        ("v201 Heartbeat", "2.0.1", f'[2,"{uid}","Heartbeat",{{}}]'.encode()),
    ]
    out += [(f.name, f.version, f.data) for f in frames() if f.action == "BootNotification"]
    return out


def small_frames(
    *, sample_time: float, repeats: int, out: Callable[[str], None] = print, base: Any = None
) -> list[dict[str, Any]]:
    """Issue 14: small frames decode within 1.1x untyped msgspec (C twin), side by side;
    ``base`` (``benchmarks.base_twins.load``) adds an earlier commit's C codec."""
    rows = []
    out("")
    out(f"Small frames, decode: ocppkit C twin / msgspec.json.decode (target <= {TARGET_SMALL_DECODE:g}x)")
    for name, version, data in small_frame_inputs():
        codec = ocppkit.Codec(version)
        frame = codec.decode(data)
        assert type(frame) is ocppkit.Call and frame.relaxations == (), name
        assert PyCodec(version).decode(data) == frame, name
        ops: dict[str, Operation] = {
            "ocppkit-c": (codec.decode, data, {}),
            "msgspec-untyped": (msgspec.json.decode, data, {}),
        }
        if base is not None:
            base_codec = base["codec_c"].Codec(version)
            assert base_codec.decode(data) == frame, name
            ops["base-c"] = (base_codec.decode, data, {})
        loops = {k: _loop(*op) for k, op in ops.items()}
        for loop in loops.values():
            loop(3)
        gc.collect()
        gc.freeze()
        plan = {k: (loop, calibrate(loop, sample_time)) for k, loop in loops.items()}
        per_op = interleaved(plan, repeats)
        gc.unfreeze()
        ratio = paired_ratio(per_op["ocppkit-c"], per_op["msgspec-untyped"])
        row: dict[str, Any] = {
            "name": name,
            "frame_bytes": len(data),
            "median_s": {k: median(v) for k, v in per_op.items()},
            "min_s": {k: min(v) for k, v in per_op.items()},
            "c_over_untyped": ratio,
            "c_over_untyped_min": min(per_op["ocppkit-c"]) / min(per_op["msgspec-untyped"]),
            **({"base_c_over_c": paired_ratio(per_op["base-c"], per_op["ocppkit-c"])} if base is not None else {}),
            "target_le_1.1": ratio <= TARGET_SMALL_DECODE,
        }
        rows.append(row)
        extra = f"; base C / C {row['base_c_over_c']:.2f}x" if base is not None else ""
        med = row["median_s"]
        out(
            f"  {name:<24} {len(data):>4} B  C {fmt_time(med['ocppkit-c']):>9}  untyped "
            f"{fmt_time(med['msgspec-untyped']):>9}  C / untyped {ratio:.2f}x (minimums "
            f"{row['c_over_untyped_min']:.2f}x) {_verdict(row['target_le_1.1'])}{extra}"
        )
    return rows


def target_lines(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, pass) for the summary printed by ``python -m benchmarks``."""
    lines = []
    for row in results["frames"]:
        r, t = row["ratios"], row["targets"]
        lines.append(
            (
                f"codec {row['name']}: ocpp/ocppkit-c >= {TARGET_OCPP_RATIO:g}x",
                f"{r['ocpp_over_ocppkit_c']:.1f}x",
                t["ocpp_over_ocppkit_c_ge_150"],
            )
        )
        lines.append(
            (
                f"codec {row['name']} ({row['frame_bytes']} B): ocppkit-c/msgspec-untyped "
                f"<= {row['untyped_target']:g}x",
                f"{r['ocppkit_c_over_msgspec_untyped']:.2f}x",
                t["ocppkit_c_over_untyped_le_limit"],
            )
        )
        lines.append(
            (
                f"codec {row['name']}: encode/msgspec.json.encode <= {TARGET_ENCODE_RATIO:g}x",
                f"{r['encode_c_over_msgspec_encode']:.2f}x",
                t["encode_over_msgspec_encode_le_3"],
            )
        )
    for row in results.get("small", []):
        lines.append(
            (
                f"codec {row['name']} ({row['frame_bytes']} B): decode C/msgspec-untyped <= {TARGET_SMALL_DECODE:g}x",
                f"{row['c_over_untyped']:.2f}x",
                row["target_le_1.1"],
            )
        )
    return lines


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _print_frame(row: dict[str, Any], out: Callable[[str], None]) -> None:
    out("")
    fast = ", ".join(f"{k}: {'yes' if v else '?' if v is None else 'NO'}" for k, v in row["fast_path"].items())
    out(
        f"{row['name']}  (frame {row['frame_bytes']} bytes, payload {row['payload_bytes']} bytes, "
        f"{row['size_class']}; {row['ocppkit_class']}; fast path {fast})"
    )
    out(f"  {'contender':<50} {'median':>10} {'min':>10} {'x ocppkit-c':>12}")
    kit = row["contenders"]["ocppkit-c"]["median_s"]
    for c in row["contenders"].values():
        out(
            f"  {c['label']:<50} {fmt_time(c['median_s']):>10} {fmt_time(c['min_s']):>10} {c['median_s'] / kit:>11.2f}x"
        )
    r, t = row["ratios"], row["targets"]
    out(
        f"  ocpp / ocppkit-c                  = {r['ocpp_over_ocppkit_c']:8.1f}x  (from minimums "
        f"{r['ocpp_over_ocppkit_c_min']:.1f}x)  target >= {TARGET_OCPP_RATIO:g}x: "
        f"{_verdict(t['ocpp_over_ocppkit_c_ge_150'])}"
    )
    out(
        f"  ocppkit-c / msgspec-untyped       = {r['ocppkit_c_over_msgspec_untyped']:8.2f}x  (from minimums "
        f"{r['ocppkit_c_over_msgspec_untyped_min']:.2f}x)  target <= {row['untyped_target']:g}x: "
        f"{_verdict(t['ocppkit_c_over_untyped_le_limit'])}"
    )
    out(
        f"  encode-c / msgspec.json.encode    = {r['encode_c_over_msgspec_encode']:8.2f}x  (from minimums "
        f"{r['encode_c_over_msgspec_encode_min']:.2f}x)  target <= {TARGET_ENCODE_RATIO:g}x: "
        f"{_verdict(t['encode_over_msgspec_encode_le_3'])}"
    )
    out(
        f"  ocppkit-py / ocppkit-c            = {r['ocppkit_py_over_ocppkit_c']:8.2f}x  (C twin speed-up; "
        f"ocpp / ocppkit-py = {r['ocpp_over_ocppkit_py']:.1f}x)"
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.bench_codec --small [--base DIR]``: the small-frame decode alone."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_codec")
    parser.add_argument("--small", action="store_true", help="only the small-frame decode (issue 14)")
    parser.add_argument("--base", type=Path, help="also time the C codec built by benchmarks.base_twins in DIR")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    sample_time, repeats = (0.005, 15) if args.quick else (0.05, 31)
    if args.small:
        base = None
        if args.base is not None:
            from .base_twins import load

            base = load(args.base)
        small_frames(sample_time=sample_time, repeats=repeats, base=base)
    else:
        run(quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
