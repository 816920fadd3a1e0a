"""Import-time benchmark: wall time of fresh interpreter processes, each importing one module.

Every case is ``<venv python> -c "<statement>"`` started from the repository root (ocppkit is
imported from the source tree). The parent times each process with ``time.perf_counter``
around ``subprocess.run``, so a figure includes interpreter start-up; the bare interpreter
(``-c pass``) is measured the same way and subtracted.

Bytecode: the shell may set ``PYTHONDONTWRITEBYTECODE=1``. Without cached bytecode every
run would recompile the sources and compile time would dominate, so before timing the
packages are compiled with ``compileall`` and each case runs once unmeasured with
``PYTHONDONTWRITEBYTECODE`` removed from the child's environment (that also caches anything
``compileall`` did not cover). A check run then counts imported modules without a valid
cached ``.pyc``; it should be 0.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["CASES", "REFERENCE_OCPP_V201_MS", "TARGET_V201_MS", "run"]

ROOT = Path(__file__).resolve().parent.parent

CASES: dict[str, str] = {
    "bare": "pass",
    "msgspec": "import msgspec",
    "ocppkit": "import ocppkit",
    "ocppkit.v201": "import ocppkit.v201",
    "ocppkit.v21": "import ocppkit.v21",
    "ocpp.v201": "import ocpp.v201",
}

TARGET_V201_MS = 60.0  # ocppkit.v201 over a bare interpreter
REFERENCE_OCPP_V201_MS = 190.0  # ocpp.v201 over a bare interpreter on the reference machine

# Packages whose sources are compiled up front (top-level names importable in the venv).
_PACKAGES = (
    "msgspec",
    "ocpp",
    "jsonschema",
    "jsonschema_specifications",
    "referencing",
    "rpds",
    "attrs",
    "attr",
    "typing_extensions",
)

_CHECK = r"""
import json, os, sys
{stmt}
bad = []
for name, mod in list(sys.modules.items()):
    spec = getattr(mod, "__spec__", None)
    src, pyc = getattr(spec, "origin", None), getattr(spec, "cached", None)
    if not (src and pyc and src.endswith(".py")):
        continue
    try:  # a timestamp-based .pyc is valid when its header records the source's mtime and size
        with open(pyc, "rb") as f:
            head = f.read(16)
        st = os.stat(src)
        flags = int.from_bytes(head[4:8], "little")
        ok = flags != 0 or (int.from_bytes(head[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
                            and int.from_bytes(head[12:16], "little") == st.st_size & 0xFFFFFFFF)
    except OSError:
        ok = False
    if not ok:
        bad.append(name)
print(json.dumps({{"modules": len(sys.modules), "uncached": bad}}))
"""


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _compile_all(out: Callable[[str], None]) -> None:
    dirs = [ROOT / "ocppkit"]
    for name in _PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs.extend(Path(p) for p in spec.submodule_search_locations)
        elif spec is not None and spec.origin and spec.origin.endswith(".py"):
            compileall.compile_file(spec.origin, quiet=2)
    for d in dirs:
        compileall.compile_dir(str(d), quiet=2)
    out(f"compileall: {len(dirs)} package directories compiled (up-to-date files skipped)")


def _run_once(stmt: str, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", stmt], cwd=ROOT, env=env, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - t0


def _check_cached(stmt: str, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHECK.format(stmt=stmt)], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run(*, quick: bool, runs: int | None = None, out: Callable[[str], None] = print) -> dict[str, Any]:
    runs = runs or (5 if quick else 15)
    env = _child_env()
    _compile_all(out)
    cache_check: dict[str, Any] = {}
    for name, stmt in CASES.items():  # unmeasured warm-up: writes any missing .pyc, warms the OS cache
        _run_once(stmt, env)
        cache_check[name] = _check_cached(stmt, env)
    uncached = sorted({m for c in cache_check.values() for m in c["uncached"]})
    out(
        f"bytecode check: imported modules without a cached .pyc: {len(uncached)}"
        + (f" ({', '.join(uncached[:8])}{', ...' if len(uncached) > 8 else ''})" if uncached else "")
    )

    names = list(CASES)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(runs):  # interleaved: one process per case per round, rotating order
        k = r % len(names)
        for name in names[k:] + names[:k]:
            times[name].append(_run_once(CASES[name], env))

    med = {name: statistics.median(ts) for name, ts in times.items()}
    bare = med["bare"]
    over = {name: med[name] - bare for name in names}
    kit, ocpp = over["ocppkit.v201"], over["ocpp.v201"]
    ratio = ocpp / kit if kit > 0 else float("inf")
    normalized_ms = kit * 1e3 * REFERENCE_OCPP_V201_MS / (ocpp * 1e3) if ocpp > 0 else float("nan")
    results: dict[str, Any] = {
        "runs": runs,
        "python": sys.executable,
        "cache_check_uncached": uncached,
        "cases": {
            name: {
                "statement": CASES[name],
                "median_s": med[name],
                "min_s": min(times[name]),
                "over_bare_s": over[name],
                "over_bare_min_s": min(times[name]) - min(times["bare"]),
                "samples_s": times[name],
            }
            for name in names
        },
        "ratio_ocpp_v201_over_ocppkit_v201": ratio,
        "ocppkit_v201_normalized_ms": normalized_ms,
        "targets": {
            "ocppkit_v201_over_bare_le_60ms": kit * 1e3 <= TARGET_V201_MS,
            "ocppkit_v201_normalized_le_60ms": normalized_ms <= TARGET_V201_MS,
        },
    }
    _print(results, out)
    return results


def _print(res: dict[str, Any], out: Callable[[str], None]) -> None:
    out("")
    out(f"Import time: fresh process per run, median of {res['runs']} interleaved runs")
    out(f"  {'case':<28} {'median':>10} {'min':>10} {'over bare':>10} {'(by min)':>10}")
    for c in res["cases"].values():
        bare = c["statement"] == "pass"
        over = "" if bare else f"{c['over_bare_s'] * 1e3:7.1f} ms"
        over_min = "" if bare else f"{c['over_bare_min_s'] * 1e3:7.1f} ms"
        out(
            f"  {'-c pass (bare)' if bare else c['statement']:<28} "
            f"{c['median_s'] * 1e3:7.1f} ms {c['min_s'] * 1e3:7.1f} ms {over:>10} {over_min:>10}"
        )
    kit = res["cases"]["ocppkit.v201"]["over_bare_s"] * 1e3
    t = res["targets"]
    c = res["cases"]
    out(
        f"  ocpp.v201 / ocppkit.v201 (over bare) = {res['ratio_ocpp_v201_over_ocppkit_v201']:.1f}x"
        f"  (by min {c['ocpp.v201']['over_bare_min_s'] / c['ocppkit.v201']['over_bare_min_s']:.1f}x)"
    )
    out(
        f"  ocppkit.v201 over bare = {kit:.1f} ms  target <= {TARGET_V201_MS:g} ms: "
        f"{'PASS' if t['ocppkit_v201_over_bare_le_60ms'] else 'MISS'}"
    )
    out(
        f"  normalized to the reference machine (x {REFERENCE_OCPP_V201_MS:g} ms / measured ocpp.v201 over bare) "
        f"= {res['ocppkit_v201_normalized_ms']:.1f} ms  target <= {TARGET_V201_MS:g} ms: "
        f"{'PASS' if t['ocppkit_v201_normalized_le_60ms'] else 'MISS'}"
    )
