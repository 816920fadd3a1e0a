"""pytest-benchmark view of the codec benchmark: every frame x every contender, side by side.

Run from the repository root (see benchmarks/README.md)::

    .venv/bin/python -m pytest benchmarks/test_bench_codec.py --benchmark-enable --benchmark-only -p no:cacheprovider

``--benchmark-enable`` is needed because pyproject.toml puts ``--benchmark-disable`` in
``addopts`` (so that the test suite never times anything), and pytest-benchmark refuses
``--benchmark-only`` together with ``--benchmark-disable``. Without ``--benchmark-enable`` and
``--benchmark-only``, ``pytest benchmarks/test_bench_codec.py`` runs every contender once, as a
smoke test. Plain ``pytest`` never collects this file: ``testpaths`` is ``["tests"]``.

Groups are ``<frame>: decode`` and ``<frame>: encode``, so pytest-benchmark's table puts the
contenders of one frame next to each other. pytest-benchmark runs the tests one after another,
not interleaved: on a noisy machine its ratios drift more than those of
``python -m benchmarks codec``, which checks the targets.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from benchmarks.bench_codec import DECODE, ENCODE, prepare, verify
from benchmarks.data import FrameInput, frames

FRAMES = {f.name: f for f in frames()}
_CHECKED: set[str] = set()


def _frame(name: str) -> FrameInput:
    item = FRAMES[name]
    if name not in _CHECKED:  # every contender must accept the frame before anything is timed
        cls = getattr(importlib.import_module(item.ocppkit_module), item.ocppkit_class)
        call_cls = getattr(importlib.import_module(item.ocpp_call_module), item.action)
        verify(item, cls, call_cls)
        _CHECKED.add(name)
    return item


def _run(benchmark: Any, name: str, contender: str, kind: str) -> None:
    item = _frame(name)
    fn, arg, kwargs = prepare(item)[contender]
    fn(arg, **kwargs)  # warm-up: decoder construction, schema loading
    benchmark.group = f"{name}: {kind}"
    benchmark.extra_info.update(
        frame_bytes=len(item.data), payload_bytes=len(item.payload), version=item.version, action=item.action
    )
    result = benchmark(fn, arg, **kwargs)
    assert result is not None


@pytest.mark.parametrize("contender", DECODE)
@pytest.mark.parametrize("frame", list(FRAMES))
def test_decode(benchmark: Any, frame: str, contender: str) -> None:
    _run(benchmark, frame, contender, "decode")


@pytest.mark.parametrize("contender", ENCODE)
@pytest.mark.parametrize("frame", list(FRAMES))
def test_encode(benchmark: Any, frame: str, contender: str) -> None:
    _run(benchmark, frame, contender, "encode")
