"""Coverage-guided fuzzing of Codec.decode with atheris (libFuzzer for Python).

    python fuzz/fuzz_decode.py -max_total_time=60 fuzz/corpus

Every input is decoded by both twins in every version, with and without ``action=``. The
harness fails on any exception other than ocppkit.OcppError, and on any difference between
the twins. CI runs it for a bounded time (.ci/run); without atheris, the Hypothesis tests in
tests/test_codec_parity.py cover the same properties.
"""

from __future__ import annotations

import sys

import atheris

import ocppkit
from ocppkit._codec_c import Codec as CCodec
from ocppkit._codec_py import Codec as PyCodec

atheris.instrument_all()  # the Python code of ocppkit (and msgspec's Python parts) gets coverage

CODECS = [(PyCodec(v), CCodec(v)) for v in ("1.6", "2.0.1", "2.1")]
ACTIONS = (None, "BootNotification", "Heartbeat", "DataTransfer")


def outcome(codec: object, data: bytes, action: str | None) -> tuple[object, ...]:
    try:
        frame = codec.decode(data, action) if action else codec.decode(data)  # type: ignore[attr-defined]
    except ocppkit.OcppError as exc:
        return ("error", type(exc).__name__, exc.code, exc.details, exc.reply)
    return ("ok", frame)


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    action = ACTIONS[fdp.ConsumeIntInRange(0, len(ACTIONS) - 1)]
    frame = fdp.ConsumeBytes(fdp.remaining_bytes())
    for py, c in CODECS:
        a, b = outcome(py, frame, action), outcome(c, frame, action)
        if a != b:
            raise AssertionError(f"twins disagree on {frame!r} ({action}): {a} != {b}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
