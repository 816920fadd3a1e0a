"""Small timing helpers shared by the benchmarks (no third-party dependencies)."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence

__all__ = ["calibrate", "fmt_time", "interleaved", "median", "paired_ratio"]

Loop = Callable[[int], None]  # runs the operation n times


def _time_loop(loop: Loop, n: int) -> float:
    gc.collect()  # start every sample from the same heap state; GC stays enabled while timing
    t0 = time.perf_counter()
    loop(n)
    return time.perf_counter() - t0


def calibrate(loop: Loop, target: float) -> int:
    """Iterations for one sample of ``loop`` to take about ``target`` seconds."""
    n = 1
    while True:
        elapsed = _time_loop(loop, n)
        if elapsed >= target / 5 or n >= 1 << 26:
            break
        n *= 2 if elapsed > target / 50 else 10
    return max(1, round(n * target / max(elapsed, 1e-9)))


def interleaved(loops: dict[str, tuple[Loop, int]], repeats: int) -> dict[str, list[float]]:
    """Seconds per operation, ``repeats`` samples per contender.

    Contenders run round-robin: every round times one sample of each, and the order rotates
    from round to round, so slow drift of the machine (other tenants, frequency changes)
    hits every contender alike instead of whichever happened to run last.
    """
    names = list(loops)
    out: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            loop, n = loops[name]
            out[name].append(_time_loop(loop, n) / n)
    return out


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """Median over rounds of a[i] / b[i]: both samples of a round saw the same machine state."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e9:.0f} ns"
