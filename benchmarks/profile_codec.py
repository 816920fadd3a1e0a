"""Where the codec's time goes: the pieces of a frame decode and encode, timed side by side.

``python -m benchmarks.profile_codec [--quick] [--cprofile]``

For every frame of the codec benchmark this times, interleaved (same harness as the benchmark),
the pieces that ``ocppkit.Codec.decode`` / ``.encode`` are made of, next to the whole calls, so
the difference between a whole call and its msgspec core is the wrapper's cost. With
``--cprofile`` it also runs cProfile over the pure twin's decode and the (shared) encode of the
small 2.0.1 BootNotification frame, where fixed per-call costs weigh most.

It reaches into ocppkit's private modules (``_wire``, ``_datetimes``, ``_codec_py``) on
purpose; it is a diagnostic, not part of the benchmark, and may need updating when they change.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib
import io
import pstats
from collections.abc import Callable
from typing import Any

import msgspec

import ocppkit
from ocppkit import _codec_py, _datetimes, _wire
from ocppkit.codec import PyCodec

from ._timing import calibrate, fmt_time, interleaved, median, paired_ratio
from .bench_codec import _loop
from .data import FrameInput, frames


def pieces(item: FrameInput) -> dict[str, tuple[Callable[..., Any], Any, dict[str, Any]]]:
    cls = getattr(importlib.import_module(item.ocppkit_module), item.ocppkit_class)
    codec_c, codec_py = ocppkit.Codec(item.version), PyCodec(item.version)
    frame = codec_c.decode(item.data)
    assert isinstance(frame, ocppkit.Call)
    obj = frame.payload
    encoded = _wire.ENCODER.encode(obj)
    dec = _wire.decoder(cls)  # the very decoder the codec uses (with ocppkit's dec_hook)
    enc = _wire.ENCODER  # the encoder the codec uses (with ocppkit's enc_hook)
    uid, action = item.unique_id, item.action

    def assemble(body: bytes) -> bytes:  # what encode_frame does around the payload of a CALL
        return b"".join((b"[2,", enc.encode(uid), b",", enc.encode(action), b",", body, b"]"))

    def call(o: Any) -> Any:
        return ocppkit.Call(uid, action, o)

    out: dict[str, tuple[Callable[..., Any], Any, dict[str, Any]]] = {
        # decode
        "D  msgspec.json.decode(frame)  [untyped floor]": (msgspec.json.decode, item.data, {}),
        "D  codec C .decode(frame)": (codec_c.decode, item.data, {}),
        "D  codec py .decode(frame)": (codec_py.decode, item.data, {}),
        "D  _decoder(cls).decode(payload)  [typed core]": (dec.decode, item.payload, {}),
        "D  py: _HEAD.match(frame)": (_codec_py._HEAD.match, item.data, {}),
        "D  py: datetime_suspect(payload)  [pure]": (_datetimes.datetime_suspect, item.payload, {}),
        "D  Call(uid, action, payload)": (call, obj, {}),
        # encode
        "E  msgspec.json.encode(payload)  [baseline]": (msgspec.json.encode, obj, {}),
        "E  _ENCODER.encode(payload)  [enc_hook]": (enc.encode, obj, {}),
        "E  encode_payload(p, validate=False)": (ocppkit.encode_payload, obj, {"validate": False}),
        "E  _decoder(cls).decode(encoded)  [the validation]": (dec.decode, encoded, {}),
        "E  encode_payload(p)  [validating]": (ocppkit.encode_payload, obj, {}),
        "E  frame assembly (id, action, join)": (assemble, encoded, {}),
        "E  codec.encode(frame)  [whole call]": (codec_c.encode, frame, {}),
    }
    if ocppkit.IMPLEMENTATION == "c":
        from ocppkit import _codec_c  # type: ignore[attr-defined]

        out["D  C: datetime_suspect(payload)"] = (_codec_c.datetime_suspect, item.payload, {})
    return out


def run(quick: bool) -> None:
    sample_time, repeats = (0.005, 7) if quick else (0.02, 15)
    print(
        f"ocppkit codec profile: {repeats} interleaved rounds x ~{sample_time * 1e3:.0f} ms samples; "
        f"IMPLEMENTATION={ocppkit.IMPLEMENTATION!r}"
    )
    for item in frames():
        cls = getattr(importlib.import_module(item.ocppkit_module), item.ocppkit_class)
        loops = {name: _loop(*op) for name, op in pieces(item).items()}
        for loop in loops.values():
            loop(3)
        gc.collect()
        gc.freeze()
        plan = {name: (loop, calibrate(loop, sample_time)) for name, loop in loops.items()}
        per_op = interleaved(plan, repeats)
        base_d = per_op["D  msgspec.json.decode(frame)  [untyped floor]"]
        base_e = per_op["E  msgspec.json.encode(payload)  [baseline]"]
        print(f"\n{item.name} (frame {len(item.data)} B; has date-time fields: {_datetimes.has_datetimes(cls)})")
        print(f"  {'piece':<52} {'median':>10} {'x untyped decode / x msgspec encode':>36}")
        for name in sorted(per_op, key=lambda n: (n[0], n)):
            base = base_d if name.startswith("D") else base_e
            print(f"  {name:<52} {fmt_time(median(per_op[name])):>10} {paired_ratio(per_op[name], base):>35.2f}x")
        gc.unfreeze()


def cprofile_small() -> None:
    item = next(f for f in frames() if f.name == "v201 BootNotification")
    codec_py = PyCodec(item.version)
    frame = codec_py.decode(item.data)
    runs: list[tuple[str, Callable[[Any], Any], Any]] = [
        ("PyCodec.decode", codec_py.decode, item.data),
        ("Codec.encode", codec_py.encode, frame),
    ]
    for title, fn, arg in runs:
        fn(arg)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(20_000):
            fn(arg)
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(14)
        print(f"\ncProfile, 20 000 x {title} of {item.name} ({len(item.data)} B), sorted by own time:")
        print("\n".join(line for line in s.getvalue().splitlines() if line.strip())[:4000])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_codec", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cprofile", action="store_true", help="also cProfile decode/encode of a small frame")
    args = parser.parse_args()
    run(args.quick)
    if args.cprofile:
        cprofile_small()


if __name__ == "__main__":
    main()
