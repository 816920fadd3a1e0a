"""A brute-force composite schedule, written apart from the engine: one evaluation per second.

For every second t of the window: which profiles are valid at t, and which of their periods
covers t (computed by arithmetic on t, not by intervals: with randomized delays, the last
period whose delayed start has passed); then per purpose the highest stack level, TxProfile (and
2.1 PriorityCharging) before TxDefault, the minimum over the purposes, converted with the lowest
numberPhases present. EVSE 0: the EVSEs' values summed, then capped by the station's own.
ISO 15118 tuples: each profile is read with the schedule the EV selected (by id, else the same
position, else the first).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace

from .build import P

CYCLE = {"Daily": 86400, "Weekly": 604800}
STATION = ("ChargingStationMaxProfile", "ChargingStationExternalConstraints", "LocalGeneration")


@dataclass(frozen=True)
class Value:
    limit: float | None
    phases: int | None = None
    discharge: float | None = None
    setpoint: float | None = None
    limit_l2: float | None = None
    limit_l3: float | None = None
    discharge_l2: float | None = None
    discharge_l3: float | None = None
    setpoint_l2: float | None = None
    setpoint_l3: float | None = None
    reactive: float | None = None
    reactive_l2: float | None = None
    reactive_l3: float | None = None


#: Value field -> the 2.1 period field it comes from.
FIELD = {
    "discharge": "discharge_limit",
    "setpoint": "setpoint",
    "limit_l2": "limit_l2",
    "limit_l3": "limit_l3",
    "discharge_l2": "discharge_limit_l2",
    "discharge_l3": "discharge_limit_l3",
    "setpoint_l2": "setpoint_l2",
    "setpoint_l3": "setpoint_l3",
    "reactive": "setpoint_reactive",
    "reactive_l2": "setpoint_reactive_l2",
    "reactive_l3": "setpoint_reactive_l3",
}


def _s(t: dt.datetime | None) -> int | None:
    return None if t is None else int(t.timestamp())


def _as(p: P, q: P) -> P:
    return replace(
        p,
        periods=q.periods,
        unit=q.unit,
        start=q.start,
        duration=q.duration,
        phases=q.phases,
        extra=q.extra,
        randomized_delay=q.randomized_delay,
    )


def period_at(p: P, t: int, anchor: int, delays: list[int] | None = None) -> int | None:
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
    shift = [0, *delays] if delays else [0] * len(p.periods)
    found = None
    for i, (start, _) in enumerate(p.periods):  # the tests' periods are in startPeriod order
        if start + shift[i] <= off:
            found = i  # the last one whose (delayed) start has passed
    return found


def _value(p: P, i: int) -> Value:
    x = p.extra_of(i)
    return Value(p.periods[i][1], p.phases_of(i), **{k: x.get(f) for k, f in FIELD.items()})


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


def _sp(values: list[float], hi: float | None, lo: float | None) -> float | None:
    if not values:
        return None
    pos = [s for s in values if s >= 0]
    neg = [s for s in values if s < 0]
    sp = min(pos) if pos and not neg else max(neg) if neg and not pos else 0.0
    if hi is not None:
        sp = min(sp, hi)
    if lo is not None:
        sp = max(sp, lo)
    return sp


def combine(values: list[tuple[Value, str]], unit: str, volts: float, phases: int) -> Value:
    ns = [v.phases for v, _ in values if v.phases is not None]
    n = min(ns) if ns else phases
    share = n if unit == "W" else 1

    def whole(name: str) -> list[float]:
        return [_convert(getattr(v, name), u, unit, volts, n) for v, u in values if getattr(v, name) is not None]

    def phase(name: str, base: str) -> list[float] | None:
        if all(getattr(v, name) is None for v, _ in values):
            return None
        out = []
        for v, u in values:
            if getattr(v, name) is not None:
                out.append(_convert(getattr(v, name), u, unit, volts, 1))
            elif getattr(v, base) is not None:
                out.append(_convert(getattr(v, base), u, unit, volts, n) / share)
        return out

    lim, dis = whole("limit"), whole("discharge")
    limit = min(lim) if lim else None
    discharge = max(dis) if dis else None
    got: dict[str, float | None] = {"setpoint": _sp(whole("setpoint"), limit, discharge)}
    for ph in ("_l2", "_l3"):
        pl, pd, ps = (
            phase("limit" + ph, "limit"),
            phase("discharge" + ph, "discharge"),
            phase("setpoint" + ph, "setpoint"),
        )
        got["limit" + ph] = min(pl) if pl else None
        got["discharge" + ph] = max(pd) if pd else None
        hi = got["limit" + ph] if pl else (None if limit is None else limit / share)
        lo = got["discharge" + ph] if pd else (None if discharge is None else discharge / share)
        got["setpoint" + ph] = None if ps is None else _sp(ps, hi, lo)
    first = next(((v, u) for v, u in values if v.reactive is not None), None)
    if first is not None:
        v, u = first
        got["reactive"] = _convert(v.reactive, u, unit, volts, n)  # type: ignore[arg-type]
        for ph in ("_l2", "_l3"):
            r = getattr(v, "reactive" + ph)
            got["reactive" + ph] = None if r is None else _convert(r, u, unit, volts, 1)
    return Value(limit, min(ns) if ns else None, discharge, **got)


@dataclass
class Setup:
    profiles: list[tuple[int, P]]
    unit: str
    volts: float = 230.0
    phases: int = 3
    transactions: dict[int, tuple[str, int]] | None = None  # evse -> (id, start second)
    priority: bool = False
    selected: int | None = None  # the schedule id the EV selected
    delays: dict[int, list[int]] | None = None  # profile id -> delays of periods 1..

    def chosen(self) -> list[tuple[int, P]]:
        """The profiles as the selected ISO 15118 schedule reads them."""
        if self.selected is None:
            return self.profiles
        position = next(
            (p.schedule_ids().index(self.selected) for _, p in self.profiles if self.selected in p.schedule_ids()), 0
        )
        out = []
        for e, p in self.profiles:
            ids = p.schedule_ids()
            k = ids.index(self.selected) if self.selected in ids else position if position < len(ids) else 0
            out.append((e, p if k == 0 else _as(p, p.more[k - 1])))
        return out


def evse_values(s: Setup, evse: int, t: int, window_start: int, station_level: bool) -> list[tuple[Value, str]]:
    """The chosen period of each slot at ``t`` for EVSE ``evse`` (not yet combined)."""
    txs = s.transactions or {}
    tx = txs.get(evse)
    anchor = tx[1] if tx else window_start
    by: dict[str, list[tuple[P, int, int]]] = {}
    for e, p in s.chosen():
        if e not in (0, evse):
            continue
        if not station_level and e == 0 and p.purpose in STATION:
            continue
        if p.purpose == "TxProfile" and (e == 0 or tx is None or (p.tx is not None and p.tx != tx[0])):
            continue
        if p.purpose == "PriorityCharging" and (e == 0 or not s.priority):
            continue
        i = period_at(p, t, anchor, (s.delays or {}).get(p.id))
        if i is not None:
            by.setdefault(p.purpose, []).append((p, e, i))
    chosen: list[tuple[Value, str]] = []
    for purpose in STATION:
        b = _best(by.get(purpose, []))
        if b:
            chosen.append((_value(*b), b[0].unit))
    for purpose in ("PriorityCharging", "TxProfile", "TxDefaultProfile"):
        b = _best(by.get(purpose, []))
        if b:
            chosen.append((_value(*b), b[0].unit))
            break
    return chosen


def evse_value(s: Setup, evse: int, t: int, window_start: int, station_level: bool) -> Value:
    return combine(evse_values(s, evse, t, window_start, station_level), s.unit, s.volts, s.phases)


def reference(s: Setup, evse: int, start: int, duration: int, evses: list[int]) -> list[Value]:
    """The composite value at every second of [start, start + duration)."""
    out = []
    for t in range(start, start + max(duration, 1)):
        if evse != 0:
            out.append(evse_value(s, evse, t, start, True))
            continue
        own = replace(s, profiles=[(e, p) for e, p in s.profiles if e == 0 and p.purpose in STATION])
        station = evse_values(own, 0, t, start, True)
        each = [evse_value(s, e, t, start, False) for e in evses]
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


def from_engine(p: object) -> Value:
    """A CompositePeriod as a :class:`Value`."""
    names = {f.name for f in fields(Value)} - {"limit", "phases"}
    return Value(p.limit, p.number_phases, **{k: getattr(p, FIELD[k]) for k in names})
