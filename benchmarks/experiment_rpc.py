"""Experiment: how much faster would the compiled connection be as a Cython extension type?

``python -m benchmarks.experiment_rpc [--quick] [--test]``

``ocppkit._rpc_c`` is ``ocppkit/_rpc_py.py`` compiled by Cython as is. Cython compiles the
method bodies, but ``Connection`` stays an ordinary Python class (``__slots__``): every
``self._x`` is a generic attribute lookup and every ``self._emit(...)`` a Python method call,
which CPython 3.11's own specialising interpreter does about as fast. This script builds, in a
temporary directory and without touching ocppkit, two variants of the same source:

``cclass``
    ``_rpc_py.py`` unchanged plus an augmenting ``.pxd`` (below) that makes ``Connection`` and
    ``_Outgoing`` extension types (``cdef class``) with C-level attributes (``public``, so tests
    and adapters still see them) and ``_emit``, ``_write``, ``_step`` as ``cdef`` methods.
``cclass+events``
    the same, and ``events()`` returns ``iter(list)`` of the drained events instead of being a
    generator (one fewer generator object per call and per answer). Note: the generator also
    yields events emitted while the caller iterates; this variant leaves those for the next
    ``events()`` call.

and times them against the current C twin with the harness of ``bench_rpc`` (the same round
trip, demo CSMS handlers; for Heartbeat also with the lean handler of ``bench_rpc``). ``--test``
first runs ``tests/test_rpc.py`` and ``tests/test_rpc_states.py`` against both variants.
Needs Cython and a C compiler (the development install has both).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ._timing import calibrate, fmt_time, interleaved, median, paired_ratio
from .bench_rpc import ROOT, Pair, messages

PXD = """\
cdef class _Outgoing:
    cdef public object action, request, unique_id

cdef class Connection:
    cdef public object role, version
    cdef public Py_ssize_t bad_messages
    cdef public object _allowed_pending, _boot, _clock, _codec, _deadline, _ids, _late, _outstanding, _queue
    cdef public object _received
    cdef public list _events, _outbox
    cdef public bint _gating
    cdef public Py_ssize_t _max_pending, _max_queue
    cdef public double _timeout
    cdef _emit(self, event)
    cdef _write(self, data)
    cdef str _step(self, str event)
"""

EVENTS_GENERATOR = '''        while self._events:
            events, self._events = self._events, None
            yield from events
'''
EVENTS_LIST = '''        events, self._events = self._events, None
        return iter(events) if events else iter(())
'''

SETUP = """\
from setuptools import Extension, setup
from Cython.Build import cythonize
setup(ext_modules=cythonize(
    [Extension(name, [name + ".py"], extra_compile_args=["-O2"]) for name in {names!r}],
    compiler_directives={{"language_level": "3", "boundscheck": False, "wraparound": False,
                         "annotation_typing": False, "binding": False}}))
"""

VARIANTS = {"cclass": "_rpc_x_cclass", "cclass+events": "_rpc_x_cclass_events"}

CONFTEST = """\
import sys
sys.path.insert(0, {build!r})
import pytest
def pytest_generate_tests(metafunc):
    if "Connection" in metafunc.fixturenames:
        import importlib
        mods = {mods!r}
        metafunc.parametrize("Connection", [pytest.param(importlib.import_module(m).Connection, id=k)
                                            for k, m in mods.items()])
"""


def build(workdir: Path) -> dict[str, Any]:
    """Compile both variants into ``workdir``; return variant -> Connection class."""
    source = (ROOT / "ocppkit" / "_rpc_py.py").read_text()
    source = source.replace("from .", "from ocppkit.")  # the copy lives outside the package
    assert EVENTS_GENERATOR in source, "ocppkit/_rpc_py.py changed: update EVENTS_GENERATOR"
    for variant, name in VARIANTS.items():
        text = source if variant == "cclass" else source.replace(EVENTS_GENERATOR, EVENTS_LIST)
        (workdir / f"{name}.py").write_text(text)
        (workdir / f"{name}.pxd").write_text(PXD)
    (workdir / "setup.py").write_text(SETUP.format(names=list(VARIANTS.values())))
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=workdir, check=True,
                   capture_output=True)
    sys.path.insert(0, str(workdir))
    return {variant: importlib.import_module(name).Connection for variant, name in VARIANTS.items()}


def test(workdir: Path) -> int:
    tests = workdir / "t" / "tests"
    tests.mkdir(parents=True)
    for name in ("__init__.py", "helpers.py", "test_rpc.py", "test_rpc_states.py"):
        shutil.copy(ROOT / "tests" / name, tests / name)
    (tests / "conftest.py").write_text(CONFTEST.format(build=str(workdir), mods=VARIANTS))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                           "-k", "not state_diagram_in_docs"], cwd=workdir / "t").returncode


def run(quick: bool, with_tests: bool) -> None:
    from ocppkit import _codec_c  # type: ignore[attr-defined]

    from . import bench_rpc

    sample_time, repeats = (0.005, 15) if quick else (0.02, 31)
    with tempfile.TemporaryDirectory(prefix="ocppkit-rpc-experiment-") as tmp:
        workdir = Path(tmp)
        classes = build(workdir)
        static = all(not c.__flags__ & (1 << 9) for c in classes.values())  # not Py_TPFLAGS_HEAPTYPE
        print(f"built {', '.join(VARIANTS)} in {workdir} (extension types: {static})")
        if with_tests:
            rc = test(workdir)
            print(f"tests/test_rpc.py + tests/test_rpc_states.py against both variants: exit code {rc}")
        original = bench_rpc._twins

        def twins(twin: str) -> tuple[type, Any]:
            if twin in classes:
                return classes[twin], _codec_c.Codec(bench_rpc.VERSION)
            return original(twin)

        bench_rpc._twins = twins
        try:
            for name, request in messages().items():
                loops = {k: Pair(k).loop(request) for k in ("c", *VARIANTS)}
                if name == "Heartbeat":
                    loops["c, lean handler"] = Pair("c", lean=True).loop(request)
                    loops["cclass+events, lean handler"] = Pair("cclass+events", lean=True).loop(request)
                for loop in loops.values():
                    loop(50)
                gc.collect()
                gc.freeze()
                plan = {k: (loop, calibrate(loop, sample_time)) for k, loop in loops.items()}
                per_op = interleaved(plan, repeats)
                gc.unfreeze()
                print(f"\n{name}: {repeats} interleaved rounds")
                print(f"  {'variant':<30} {'median':>10} {'min':>10} {'per s (median)':>15} {'per s (best)':>13} "
                      f"{'c / variant':>12}")
                for k, v in per_op.items():
                    print(f"  {k:<30} {fmt_time(median(v)):>10} {fmt_time(min(v)):>10} {1 / median(v):>15,.0f} "
                          f"{1 / min(v):>13,.0f} {paired_ratio(per_op['c'], v):>11.2f}x")
        finally:
            bench_rpc._twins = original


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiment_rpc")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--test", action="store_true", help="run the RPC tests against both variants first")
    args = parser.parse_args()
    run(args.quick, args.test)


if __name__ == "__main__":
    main()
