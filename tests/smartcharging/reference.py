"""A brute-force composite schedule, written apart from the engine: one evaluation per second.

For every second t of the window: which profiles are valid at t, and which of their periods
covers t (computed by arithmetic on t, not by intervals); then per purpose the highest stack
level, TxProfile (and 2.1 PriorityCharging) before TxDefault, the minimum over the purposes,
converted with the lowest numberPhases present. EVSE 0: the EVSEs' values summed, then capped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .build import P

CYCLE = {"Daily": 86400, "Weekly": 604800}


@dataclass(frozen=True)
class Value:
    limit: float | None
    phases: int | None = None
    discharge: float | None = None
    setpoint: float | None = None


def _s(t: dt.datetime | None) -> int | None:
    return None if t is None else int(t.timestamp())


def period_at(p: P, t: int, anchor: int) -> int | None:
    """The index of the period of ``p`` in force at second ``t``, or None."""
    vf, vt = _s(p.valid_from), _s(p.valid_to)
    if vf is not None and t < vf or vt is not None and t >= vt:
        return None
    if p.kind == "Dynamic":
        dut = _s(p.dyn_update_time)
        if p.duration is not None and dut is not None and t >= dut + p.duration:
            return None
        return 0
    if p.kind == "Relative":
        off = t - anchor
    else:
        s = _s(p.start)
        if s is None:
            return None
        off = t - s
        if p.kind == "Recurring":
            if off < 0:
                return None
            off %= CYCLE[p.recurrency or ""]
    if off < 0 or p.duration is not None and off >= p.duration:
        return None
    found = None
    for i, (start, _) in enumerate(sorted(p.periods)):
        if start <= off:
            found = i
    return found


def _value(p: P, i: int) -> Value:
    x = p.extra_of(i)
    return Value(p.periods[i][1], p.phases_of(i), x.get("discharge_limit"), x.get("setpoint"))


def _best(cands: list[tuple[P, int, int]]) -> tuple[P, int] | None:
    # cands: (profile, evse it is installed on, period index)
    if not cands:
        return None
    top = max(c[0].level for c in cands)
    cands = [c for c in cands if c[0].level == top]
    own = [c for c in cands if c[1] != 0]
    cands = own or cands
    c = min(cands, key=lambda c: c[0].periods[c[2]][1] if c[0].periods[c[2]][1] is not None else 1e18)
    return c[0], c[2]


def _convert(v: float, src: str, dst: str, volts: float, n: int) -> float:
    if src == dst:
        return v
    return v * volts * n if src == "A" else v / (volts * n)


def combine(values: list[tuple[Value, str]], unit: str, volts: float, phases: int) -> Value:
    ns = [v.phases for v, _ in values if v.phases is not None]
    n = min(ns) if ns else phases
    lim = [_convert(v.limit, u, unit, volts, n) for v, u in values if v.limit is not None]
    dis = [_convert(v.discharge, u, unit, volts, n) for v, u in values if v.discharge is not None]
    sps = [_convert(v.setpoint, u, unit, volts, n) for v, u in values if v.setpoint is not None]
    limit = min(lim) if lim else None
    discharge = max(dis) if dis else None
    sp = None
    if sps:
        pos = [s for s in sps if s >= 0]
        neg = [s for s in sps if s < 0]
        sp = min(pos) if pos and not neg else max(neg) if neg and not pos else 0.0
        if limit is not None:
            sp = min(sp, limit)
        if discharge is not None:
            sp = max(sp, discharge)
    return Value(limit, min(ns) if ns else None, discharge, sp)


@dataclass
class Setup:
    profiles: list[tuple[int, P]]
    unit: str
    volts: float = 230.0
    phases: int = 3
    transactions: dict[int, tuple[str, int]] | None = None  # evse -> (id, start second)
    priority: bool = False


def evse_value(s: Setup, evse: int, t: int, window_start: int, station_level: bool) -> Value:
    """The value of EVSE ``evse`` at ``t``; without the station-level profiles if not station_level."""
    txs = s.transactions or {}
    tx = txs.get(evse)
    anchor = tx[1] if tx else window_start
    by: dict[str, list[tuple[P, int, int]]] = {}
    for e, p in s.profiles:
        if e not in (0, evse):
            continue
        if (
            not station_level
            and e == 0
            and p.purpose
            in (
                "ChargingStationMaxProfile",
                "ChargingStationExternalConstraints",
                "LocalGeneration",
            )
        ):
            continue
        if p.purpose == "TxProfile" and (e == 0 or tx is None or (p.tx is not None and p.tx != tx[0])):
            continue
        if p.purpose == "PriorityCharging" and (e == 0 or not s.priority):
            continue
        i = period_at(p, t, anchor)
        if i is not None:
            by.setdefault(p.purpose, []).append((p, e, i))
    chosen: list[tuple[Value, str]] = []
    for purpose in ("ChargingStationMaxProfile", "ChargingStationExternalConstraints", "LocalGeneration"):
        b = _best(by.get(purpose, []))
        if b:
            chosen.append((_value(*b), b[0].unit))
    for purpose in ("PriorityCharging", "TxProfile", "TxDefaultProfile"):
        b = _best(by.get(purpose, []))
        if b:
            chosen.append((_value(*b), b[0].unit))
            break
    return combine(chosen, s.unit, s.volts, s.phases)


def reference(s: Setup, evse: int, start: int, duration: int, evses: list[int]) -> list[Value]:
    """The composite value at every second of [start, start + duration)."""
    out = []
    for t in range(start, start + max(duration, 1)):
        if evse != 0:
            out.append(evse_value(s, evse, t, start, True))
            continue
        station: list[tuple[Value, str]] = []
        station_purposes = ("ChargingStationMaxProfile", "ChargingStationExternalConstraints", "LocalGeneration")
        own_profiles = [(e, p) for e, p in s.profiles if e == 0 and p.purpose in station_purposes]
        own = Setup(own_profiles, s.unit, s.volts, s.phases, s.transactions)
        v0 = evse_value(own, 0, t, start, True)
        each = [evse_value(s, e, t, start, False) for e in evses]
        if v0 != Value(None):
            station.append((Value(v0.limit, v0.phases, v0.discharge, v0.setpoint), s.unit))
        if evses and all(v.limit is not None for v in each):
            ds = [v.discharge for v in each if v.discharge is not None]
            station.append(
                (Value(sum(v.limit for v in each if v.limit is not None), None, sum(ds) if ds else None), s.unit)
            )
        out.append(combine(station, s.unit, s.volts, s.phases))
    return out


def per_second(composite_periods: list[tuple[int, Value]], duration: int) -> list[Value]:
    """A schedule's ``(startPeriod, value)`` list, one value per second."""
    out = []
    for sec in range(max(duration, 1)):
        cur = None
        for start, v in composite_periods:
            if start <= sec:
                cur = v
        assert cur is not None
        out.append(cur)
    return out
