"""The statistics of ``ocppkit check``: counters and a response-time histogram per station, side
and action, and the totals per station. Nothing here grows with the number of frames.

Response times are collected in a short list and folded into the histogram in C loops every
:data:`FOLD_EVERY` answers. Bucket 0 holds up to 10 µs; bucket ``b`` covers a 5 % wide range
above it, so percentiles are within 5 % (the maximum is exact).
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import repeat
from operator import mul
from typing import Any, NamedTuple

import msgspec

from .rules import SIDE_NAMES

__all__ = ["FOLD_EVERY", "ActionKey", "StationTotals", "Stats", "StatsBook", "fold", "percentile"]

_H_BASE = 0.01  # ms
_H_K = 1.0 / math.log(1.05)
_H_INV = 1.0 / _H_BASE
FOLD_EVERY = 127  # response times collected per (station, side, action) before folding


class Stats(msgspec.Struct, gc=False):
    """The calls of one side and action at one station, and how they ended.

    Attributes:
        calls: CALLs (and SENDs) sent.
        ok: answered with a valid CALLRESULT.
        errors: answered with a CALLERROR.
        invalid: answered with a CALLRESULT that breaks its schema (or a broken frame).
        unanswered: never answered.
        late: answered after the timeout.
        rts: response times (s) not yet folded into ``hist``.
        rt_max: the longest response time, in ms.
        hist: the response-time histogram: bucket -> count.
    """

    calls: int = 0
    ok: int = 0
    errors: int = 0
    invalid: int = 0
    unanswered: int = 0
    late: int = 0
    rts: list[float] = msgspec.field(default_factory=list)
    rt_max: float = 0.0
    hist: dict[int, int] = msgspec.field(default_factory=dict)

    def time(self, seconds: float) -> None:
        """Add one response time."""
        rts = self.rts
        rts.append(seconds)
        if len(rts) > FOLD_EVERY:
            fold(self)


class StationTotals(msgspec.Struct):
    """What the report says about one station (``Summary.stations`` has them as dicts)."""

    versions: list[str] = msgspec.field(default_factory=list)  # "2.0.1 (guessed: ...)", ...
    connections: int = 0
    frames: int = 0
    calls: int = 0
    findings: dict[str, int] = msgspec.field(default_factory=dict)


class ActionKey(NamedTuple):
    """Which :class:`Stats`: a station, a side (0 station, 1 CSMS) and an action."""

    station: str
    side: int
    action: str


def fold(s: Stats) -> None:
    """Move the response times collected in ``s.rts`` into the histogram, in C loops."""
    rts = s.rts
    if not rts:
        return
    top = max(rts) * 1000.0
    if top > s.rt_max:
        s.rt_max = top
    # bucket = int(log(ms / 0.01) * K) + 1, with anything up to 10 µs (or negative) in bucket 1
    scaled = map(max, map(mul, rts, repeat(1000.0 * _H_INV)), repeat(1.0))
    counts = Counter(map(int, map(mul, map(math.log, scaled), repeat(_H_K))))
    h = s.hist
    for b, n in counts.items():
        h[b + 1] = h.get(b + 1, 0) + n
    rts.clear()


def percentile(hist: dict[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a response-time histogram, in ms (within 5 %)."""
    total = sum(hist.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= rank:
            return _H_BASE if b <= 1 else _H_BASE * math.exp((b - 0.5) / _H_K)
    return None  # pragma: no cover


class StatsBook:
    """The :class:`Stats` of a run, by :class:`ActionKey`, added up across files."""

    def __init__(self) -> None:
        self.stats: dict[ActionKey, Stats] = {}

    def get(self, station: str, side: int, action: str) -> Stats:
        """The stats of ``action`` sent by ``side`` at ``station``, created on first use."""
        key = ActionKey(station, side, action)
        s = self.stats.get(key)
        if s is None:
            s = self.stats[key] = Stats()
        return s

    def rows(self) -> list[dict[str, Any]]:
        """One row per station, side and action (``Summary.actions``), sorted."""
        return [row(key, s) for key, s in sorted(self.stats.items())]


def row(key: ActionKey, s: Stats) -> dict[str, Any]:
    """The report's row for one :class:`Stats` (folds what it collected)."""
    calls = s.calls
    failed = s.errors + s.invalid + s.unanswered
    out: dict[str, Any] = {
        "station": key.station,
        "sender": SIDE_NAMES[key.side],
        "action": key.action,
        "calls": calls,
        "results": s.ok,
        "errors": s.errors,
        "invalid": s.invalid,
        "unanswered": s.unanswered,
        "late": s.late,
        "error_rate": round(failed / calls, 6) if calls else 0.0,
    }
    fold(s)
    hist = s.hist
    n = sum(hist.values())
    if n:
        out["rt_ms"] = {
            "n": n,
            "p50": round(min(percentile(hist, 0.5) or 0.0, s.rt_max), 3),
            "p90": round(min(percentile(hist, 0.9) or 0.0, s.rt_max), 3),
            "p99": round(min(percentile(hist, 0.99) or 0.0, s.rt_max), 3),
            "max": round(s.rt_max, 3),
        }
    return out
