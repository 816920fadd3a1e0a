"""Coverage-guided fuzzing of the codec with atheris (libFuzzer for Python).

    python fuzz/fuzz_decode.py -max_total_time=60 fuzz/corpus      # explore; libFuzzer options
    python fuzz/fuzz_decode.py --ci --seconds 30 --min-coverage N  # bounded, with a coverage floor

What is fuzzed. An input is ``[selector, action index, frame...]``: the selector picks the OCPP
version (its low two bits) and a strict or a lenient-policy codec (its high bit); the frame is
decoded by both twins, without and with ``action=`` (the version's action the second byte
names). The harness fails on

- any exception other than :class:`ocppkit.OcppError` (a crash);
- any difference between the twins (results, error codes, details, replies), and between
  either twin's answer and the exact decoder's (``ocppkit._exact.decode_exact``), which their
  fast paths must only ever agree with; likewise for ``decode_result`` of an untyped CALLRESULT;
- a decoded CALL, CALLRESULT or SEND that does not encode again, or whose encoding the twins
  write differently, or that does not decode back to the same frame.

What gets coverage. The pure modules of ocppkit are imported under
``atheris.instrument_imports``, so libFuzzer sees the edges of the exact decoder, the payload
rules, the policy's relaxations, the salvage of broken frames, and the pure twin's fast path.
The C twin (``ocppkit._codec_c``) is compiled by Cython without ``-fsanitize=fuzzer``, so its own
C code gives libFuzzer no coverage signal; it is still run on every input and compared with the
pure twin, and its exact path is the (instrumented) shared exact decoder.

Seeds. Real frames of every version are generated at start: a CALL and a CALLRESULT with only
the required members and with every member, for every action, a CALLERROR, and for 2.1 a SEND
and a CALLRESULTERROR; plus the benchmark frames (``benchmarks/data.py``) up to 4 KiB and the
hand-written edge cases in ``fuzz/seeds/`` (raw frames, tried under every version). They are
written to a temporary directory, given to libFuzzer after the output corpus, with a dictionary
(``-dict=``) of the action and member names, enumeration values, error codes and the JSON the
rules single out (lone surrogates, leap seconds, ``1e999``...).

``--ci`` runs the fuzzer in a child process for ``--seconds``, and fails (exit 1) when it
crashed or when the coverage it reached (the last ``cov:`` of libFuzzer's status lines, in
edges) is not above ``--min-coverage``. CI runs ``--seconds 30 --min-coverage 400``: 30 s
reached 482 to 510 edges on the project's 2-core machine (the seeds alone about 340; the harness
before seeds and instrumentation, 58). Without atheris (``pip install atheris==3.0.0``), the
Hypothesis tests in tests/test_codec_parity.py cover the same properties, less deeply.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VERSIONS = ("1.6", "2.0.1", "2.1")
LENIENT = 0x80
MAX_SEED = 4096


# ------------------------------------------------------------------ the fuzz target


def _load() -> tuple[Any, ...]:
    import atheris

    with atheris.instrument_imports(include=["ocppkit"]):
        import ocppkit
        from ocppkit import _codec_py, _exact, _payload, _relax, _salvage  # noqa: F401 - instrumented
    from ocppkit._codec_c import Codec as CCodec  # compiled: not instrumented (see the docstring)

    policy = ocppkit.Policy(
        unknown_properties="keep", overlong_strings="accept", unknown_enum_values="accept", naive_datetimes="utc"
    )
    codecs = {}
    for v in VERSIONS:
        codecs[v, False] = (_codec_py.Codec(v), CCodec(v))
        codecs[v, True] = (_codec_py.Codec(v, policy=policy), CCodec(v, policy=policy))
    actions = {v: sorted(ocppkit.edition(v).actions) for v in VERSIONS}
    return atheris, ocppkit, codecs, actions


def _outcome(ocppkit: Any, codec: Any, data: bytes, action: str | None) -> tuple[Any, ...]:
    try:
        frame = codec.decode(data, action) if action else codec.decode(data)
    except ocppkit.OcppError as exc:
        return ("error", type(exc).__name__, exc.code, exc.details, exc.reply, exc.unique_id, exc.message_type)
    return ("ok", frame)


def _later(ocppkit: Any, codec: Any, result: Any, action: str) -> tuple[Any, ...]:
    try:
        return ("ok", codec.decode_result(result, action))
    except ocppkit.OcppError as exc:
        return ("error", type(exc).__name__, exc.code, exc.details, exc.reply, exc.unique_id)


def _round_trip(ocppkit: Any, py: Any, c: Any, frame: Any, action: str | None) -> None:
    if not isinstance(frame, (ocppkit.Call, ocppkit.CallResult, ocppkit.Send)) or frame.relaxations:
        return  # errors keep the peer's code as sent; relaxed values are never encoded
    a, b = py.encode(frame), c.encode(frame)
    if a != b:
        raise AssertionError(f"twins encode {frame!r} differently: {a!r} != {b!r}")
    again = py.decode(a, action) if action else py.decode(a)
    if again != frame:
        raise AssertionError(f"{frame!r} encodes to {a!r}, which decodes to {again!r}")


class _Exact:
    """The exact decoder as a codec: what both twins' fast paths must agree with."""

    def __init__(self, codec: Any) -> None:
        from ocppkit._exact import decode_exact

        self._decode, self._cfg = decode_exact, codec._cfg

    def decode(self, data: bytes, action: str | None = None) -> Any:
        return self._decode(self._cfg, data, action)


def make_target() -> Any:
    import msgspec

    atheris, ocppkit, codecs, actions = _load()
    exact = {key: _Exact(py) for key, (py, _) in codecs.items()}

    def test_one_input(data: bytes) -> None:
        if len(data) < 2:
            return
        key = (VERSIONS[(data[0] & 3) % 3], bool(data[0] & LENIENT))
        py, c = codecs[key]
        names = actions[key[0]]
        frame = data[2:]
        for action in (None, names[data[1] % len(names)]):
            a, b = _outcome(ocppkit, py, frame, action), _outcome(ocppkit, c, frame, action)
            if a != b:
                raise AssertionError(f"twins disagree on {frame!r} ({key}, {action}): {a} != {b}")
            e = _outcome(ocppkit, exact[key], frame, action)
            if a != e:
                raise AssertionError(
                    f"the fast path and the exact decoder disagree on {frame!r} ({key}, {action}): {a} != {e}"
                )
            if a[0] == "ok":
                _round_trip(ocppkit, py, c, a[1], action)
                if action is None and isinstance(getattr(a[1], "payload", None), msgspec.Raw):  # typed later
                    typed = [_later(ocppkit, codec, a[1], names[data[1] % len(names)]) for codec in (py, c)]
                    if typed[0] != typed[1]:
                        raise AssertionError(f"twins type {frame!r} differently: {typed[0]} != {typed[1]}")

    return atheris, test_one_input


# ------------------------------------------------------------------ seeds


def _sample(t: Any, full: bool, depth: int = 0) -> Any:
    """A schema-valid JSON value of msgspec type ``t``: required members only, or all (``full``)."""
    import msgspec

    i = msgspec.inspect
    if isinstance(t, i.StructType):
        return {f.encode_name: _sample(f.type, full, depth + 1) for f in t.fields if f.required or (full and depth < 6)}
    if isinstance(t, i.StrType):
        return "x" * min(t.max_length or 8, 8)
    if isinstance(t, i.IntType):
        return t.ge if t.ge is not None else 1
    if isinstance(t, i.FloatType):
        return t.ge if t.ge is not None else 1.5
    if isinstance(t, i.BoolType):
        return True
    if isinstance(t, i.DateTimeType):
        return "2024-01-01T00:00:00Z"
    if isinstance(t, i.EnumType):
        return next(iter(t.cls)).value
    if isinstance(t, i.ListType):
        return [_sample(t.item_type, full, depth + 1)] * max(t.min_length or 1, 1)
    if isinstance(t, i.UnionType):
        return _sample(t.types[0], full, depth)
    if isinstance(t, i.CustomType):  # customData
        return {"vendorId": "com.example", "x": [1, {"y": None}]} if full else {"vendorId": "v"}
    return {"any": [1, "two", 3.5, None, {"k": False}]}


def seeds() -> list[bytes]:
    """Every seed input (selector and action bytes included), each checked to decode."""
    import msgspec

    import ocppkit

    out: list[bytes] = []
    for vi, version in enumerate(VERSIONS):
        codec = ocppkit.Codec(version)
        names = sorted(ocppkit.edition(version).actions)
        table = __import__(ocppkit.edition(version).package, fromlist=["ACTIONS"]).ACTIONS
        frames: list[tuple[int, bytes]] = []
        for ai, name in enumerate(names):
            row = table[name]
            for full in (False, True):
                body = msgspec.json.encode(_sample(msgspec.inspect.type_info(row.request), full))
                kind = 6 if row.response is None else 2
                frames.append((ai, b'[%d,"%s-%d","%s",%s]' % (kind, name[:20].encode(), full, name.encode(), body)))
                if row.response is not None:
                    body = msgspec.json.encode(_sample(msgspec.inspect.type_info(row.response), full))
                    frames.append((ai, b'[3,"r-%d",%s]' % (full, body)))
        frames.append((0, b'[4,"e-1","GenericError","no",{"why":"x"}]'))
        if 5 in ocppkit.edition(version).message_types:
            frames.append((0, b'[5,"e-2","FormatViolation","",{}]'))
        try:
            if str(REPO) not in sys.path:
                sys.path.insert(0, str(REPO))
            from benchmarks.data import frames as bench_frames

            for f in bench_frames():
                if f.version == version and len(f.data) <= MAX_SEED:
                    frames.append((names.index(f.action), f.data))
        except ImportError:
            pass
        for ai, frame in frames:
            action = names[ai]
            try:  # every generated seed is valid: a typo in the generator must not go unnoticed
                codec.decode(frame, action) if frame.startswith(b"[3") else codec.decode(frame)
            except ocppkit.OcppError as exc:
                if not frame.startswith(b"[4") and not frame.startswith(b"[5"):
                    continue  # a schema rule the sampler does not know (1.6 uri fields): skip it
                raise AssertionError(f"seed {frame!r} of {version} is refused: {exc!r}") from None
            out.append(bytes([vi, ai]) + frame)
            out.append(bytes([vi | LENIENT, ai]) + frame)
        for path in sorted((HERE / "seeds").glob("*")):
            out.append(bytes([vi, 0]) + path.read_bytes().strip())
    return out


def write_seeds(directory: Path, dictionary: Path) -> int:
    """Write the seeds into ``directory`` and the tokens the mutator may insert into
    ``dictionary`` (libFuzzer's ``-dict=``); returns the number of seeds."""
    items = seeds()
    directory.mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(items):
        (directory / f"seed-{n:05d}").write_bytes(data)
    dictionary.write_bytes(b"".join(b'"%s"\n' % _escape(t) for t in tokens()))
    return len(items)


def tokens() -> list[bytes]:
    """Action names, member names, enumeration values, error codes, and JSON the rules single out."""
    import msgspec

    import ocppkit

    found: set[str] = set()

    def walk(t: Any, seen: set[int]) -> None:
        if id(t) in seen:
            return
        seen.add(id(t))
        i = msgspec.inspect
        if isinstance(t, i.StructType):
            for f in t.fields:
                found.add(f'"{f.encode_name}":')
                walk(f.type, seen)
        elif isinstance(t, i.EnumType):
            found.update(f'"{m.value}"' for m in t.cls)
        elif isinstance(t, i.ListType):
            walk(t.item_type, seen)
        elif isinstance(t, i.UnionType):
            for sub in t.types:
                walk(sub, seen)

    for version in VERSIONS:
        ed = ocppkit.edition(version)
        found.update(f'"{a}"' for a in ed.actions)
        found.update(f'"{c}"' for c in ed.error_codes)
        table = __import__(ed.package, fromlist=["ACTIONS"]).ACTIONS
        for row in table.values():
            for cls in (row.request, row.response):
                if cls is not None:
                    walk(msgspec.inspect.type_info(cls), set())
    # A lone surrogate, leap seconds, RFC 3339 near-misses, a number beyond a double, draft-06's
    # integral float, an open value, deep nesting, a byte that is not UTF-8.
    special = [
        rb'"\ud800"',
        rb'"\udc00"',
        b":60Z",
        b":60.5+01:00",
        b"+0100",
        b" 10:00:00",
        b"1e999",
        b"3.0",
        b'"customData":{"vendorId":"v",',
        b"[[[[[[[[",
        b"]]]]]]]]",
        b"null",
        b"true",
        b"\xff",
    ]
    return sorted({t.encode() for t in found} | set(special))


def _escape(token: bytes) -> bytes:
    return b"".join(b"\\x%02x" % c if c in b'"\\' or not 32 <= c < 127 else bytes([c]) for c in token)


# ------------------------------------------------------------------ running


_COV = re.compile(rb"\bcov: (\d+)")


def ci(seconds: int, min_coverage: int) -> int:
    """Fuzz for ``seconds`` in a child process; 0 when it ran clean and beyond the floor."""
    with tempfile.TemporaryDirectory(prefix="ocppkit-fuzz-") as work:
        corpus, seed_dir, dictionary = Path(work, "corpus"), Path(work, "seeds"), Path(work, "ocpp.dict")
        corpus.mkdir()
        count = write_seeds(seed_dir, dictionary)
        cmd = [
            *(sys.executable, __file__, f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-timeout=20"),
            *(f"-dict={dictionary}", f"-artifact_prefix={work}/", str(corpus), str(seed_dir)),
        ]
        print(f"fuzz: {count} seed inputs, {seconds} s; the C twin is compared on every input but not instrumented")
        proc = subprocess.run(cmd, capture_output=True, timeout=seconds + 600)
        crashes = [(p.name, p.read_bytes()) for p in Path(work).glob("crash-*")]
    log = proc.stdout + proc.stderr
    found = _COV.findall(log)
    coverage = int(found[-1]) if found else 0
    tail = b"\n".join(log.splitlines()[-25:]).decode(errors="replace")
    if proc.returncode != 0:
        print(tail)
        for name, data in crashes:  # [selector, action index, frame...]: see the docstring
            print(f"fuzz: {name}: {data!r}")
        print(f"fuzz: FAILED, the fuzzer stopped with exit code {proc.returncode} (a crash or a disagreement above)")
        return 1
    if coverage <= min_coverage:
        print(tail)
        print(f"fuzz: FAILED, coverage {coverage} edges, not above the floor of {min_coverage}")
        return 1
    print(f"fuzz: ok, coverage {coverage} edges (floor {min_coverage}), no crash, the twins agree")
    return 0


def main(argv: list[str]) -> int:
    if "--ci" in argv:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--ci", action="store_true")
        parser.add_argument("--seconds", type=int, default=30)
        parser.add_argument("--min-coverage", type=int, required=True)
        args = parser.parse_args(argv[1:])
        return ci(args.seconds, args.min_coverage)
    atheris, target = make_target()
    extra: list[str] = []
    if len([a for a in argv[1:] if not a.startswith("-")]) == 1:  # only the output corpus: add the seeds
        work = Path(tempfile.mkdtemp(prefix="ocppkit-fuzz-"))
        write_seeds(work / "seeds", work / "ocpp.dict")
        extra = [str(work / "seeds")] + (
            [] if any(a.startswith("-dict=") for a in argv) else [f"-dict={work}/ocpp.dict"]
        )
    atheris.Setup(argv + extra, target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
