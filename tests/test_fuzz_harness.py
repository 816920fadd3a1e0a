"""The fuzz harness's own parts that run without atheris: its seeds and its dictionary."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType

import ocppkit
from ocppkit.edition import VERSIONS

HARNESS = Path(__file__).resolve().parent.parent / "fuzz" / "fuzz_decode.py"


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_decode", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_seeds_are_real_frames_of_every_version_and_type(tmp_path: Path) -> None:
    fuzz = harness()
    count = fuzz.write_seeds(tmp_path / "seeds", tmp_path / "ocpp.dict")
    seeds = [p.read_bytes() for p in sorted((tmp_path / "seeds").iterdir())]
    assert count == len(seeds) > 1000
    kinds: Counter[tuple[str, int, bool]] = Counter()
    for data in seeds:
        version = fuzz.VERSIONS[(data[0] & 3) % 3]
        frame = data[2:]
        if frame[:1] != b"[" or frame[1:2] not in b"23456":
            continue  # a hand-written edge case of fuzz/seeds/
        kinds[version, frame[1] - 48, bool(data[0] & fuzz.LENIENT)] += 1
    for version in VERSIONS:
        types = ocppkit.edition(version).message_types
        for kind in types:
            for lenient in (False, True):
                assert kinds[version, kind, lenient] > 0, (version, kind, lenient)
        # A CALL (or 2.1 SEND) for every action, required members only and all of them.
        actions = len(ocppkit.edition(version).actions)
        assert kinds[version, 2, False] + kinds[version, 6, False] >= 1.5 * actions
    hand_written = {p.read_bytes().strip() for p in (HARNESS.parent / "seeds").iterdir()}
    assert {d[2:] for d in seeds} >= hand_written


def test_the_dictionary_is_libfuzzers_format(tmp_path: Path) -> None:
    fuzz = harness()
    fuzz.write_seeds(tmp_path / "seeds", tmp_path / "ocpp.dict")
    lines = (tmp_path / "ocpp.dict").read_bytes().splitlines()
    assert len(lines) > 500
    for line in lines:
        assert line.startswith(b'"') and line.endswith(b'"') and all(32 <= c < 127 for c in line), line
    assert b'"\\x22BootNotification\\x22"' in lines and b'"\\x5c\\x5cud800"' not in lines
    assert b'"\\x22\\x5cud800\\x22"' in lines  # a lone surrogate escape, as the mutator inserts it
