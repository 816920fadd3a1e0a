"""The composite schedule: which period of which profile limits an EVSE at every second.

Sans-IO and clock-free: every time comes from the caller. The procedure (1.6 §3.13.3;
2.x K08, SC.01) for EVSE N over the window [X, X + duration):

1. keep the profiles of N and of EVSE 0; drop TxProfiles of other (or no) transactions;
2. expand each into intervals (startSchedule / recurrence / transaction start, duration and
   "the last period runs on", validFrom / validTo), clipped to the window;
3. per *slot* keep the highest stack level covering each instant; the Tx slot is PriorityCharging
   (2.1, when active) else TxProfile else TxDefault: a higher one replaces, never min-combines;
4. the minimum over the slots (station max, external constraints, local generation, Tx),
   converted to the requested unit with the lowest numberPhases present;
5. equal neighbours merged. EVSE 0: the per-EVSE values summed, then capped by the station's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ._model import FOREVER, Composite, CompositePeriod, Period, Profile, from_epoch

__all__ = ["Window", "compute"]

_MAX = "ChargingStationMaxProfile"
_EXTERNAL = "ChargingStationExternalConstraints"
_LOCAL = "LocalGeneration"
_TX = "TxProfile"
_TX_DEFAULT = "TxDefaultProfile"
_PRIORITY = "PriorityCharging"
#: The slots combined by minimum; in the Tx slot the first purpose present wins.
_SLOTS: tuple[tuple[str, ...], ...] = ((_MAX,), (_EXTERNAL,), (_LOCAL,), (_PRIORITY, _TX, _TX_DEFAULT))
_RECURRENCE = {"Daily": 86400, "Weekly": 604800}


@dataclass(frozen=True)
class Window:
    """Internal: what one computation needs besides the profiles."""

    version: str
    evse_id: int
    start: int
    duration: int
    unit: str
    supply_voltage: float
    phases: int
    default_limit: float | None
    transactions: dict[int, tuple[str, int]]  # evse -> (transaction id, start)
    evse_ids: tuple[int, ...]
    priority: bool


@dataclass(frozen=True)
class _Interval:
    start: int
    end: int
    profile: Profile
    period: Period


def _expand(p: Profile, lo: int, hi: int, anchor: int) -> list[_Interval]:
    """The intervals of ``p`` inside [lo, hi); ``anchor`` is where a Relative profile starts."""
    first = lo if p.valid_from is None else max(lo, p.valid_from)
    last = hi if p.valid_to is None else min(hi, p.valid_to)
    if first >= last or not p.periods:
        return []
    if p.kind == "Dynamic":
        end = last
        if p.duration is not None and p.dyn_update_time is not None:
            end = min(end, p.dyn_update_time + p.duration)
        return [_Interval(first, end, p, p.periods[0])] if first < end else []
    length = FOREVER if p.duration is None else p.duration
    if p.kind == "Relative":
        anchors = [anchor]
    elif p.start_schedule is None:
        return []  # Absolute / Recurring without startSchedule: invalid (K01.FR.40), never applies
    elif p.kind == "Recurring":
        cycle = _RECURRENCE.get(p.recurrency or "", 0)
        if cycle == 0:
            return []
        length = min(length, cycle)
        k0 = max(0, (first - p.start_schedule) // cycle)
        k1 = (last - 1 - p.start_schedule) // cycle
        anchors = [p.start_schedule + k * cycle for k in range(k0, k1 + 1)]
    else:
        anchors = [p.start_schedule]
    out: list[_Interval] = []
    n = len(p.periods)
    shift = p.delays if len(p.delays) == n else (0,) * n
    for a in anchors:
        stop = a + length
        starts = [a + per.start + d for per, d in zip(p.periods, shift, strict=True)]
        for i, per in enumerate(p.periods):
            # a period ends where the earliest later one starts: with randomized delays a
            # period overtaken by the next randomized start is skipped (2.1 K01.FR.97)
            end = min(starts[i + 1 :], default=stop)
            begin, end = max(starts[i], first), min(end, stop, last)
            if begin < end:
                out.append(_Interval(begin, end, p, per))
    return out


def _leading(covering: Iterable[_Interval], purposes: tuple[str, ...]) -> tuple[Period, str] | None:
    """The period of the slot at one instant: first purpose present, highest stack level.

    At an equal stack level the EVSE's own profile beats EVSE 0's (1.6: a connector profile
    replaces the connector-0 one there), then the lower limit wins (two clashing profiles
    the validation should have refused: the safe one).
    """
    items = list(covering)
    for purpose in purposes:
        found = [iv for iv in items if iv.profile.purpose == purpose]
        if found:
            best = min(
                found,
                key=lambda iv: (
                    -iv.profile.stack_level,
                    iv.profile.evse_id == 0,
                    float("inf") if iv.period.limit is None else iv.period.limit,
                ),
            )
            return best.period, best.profile.unit
    return None


def _factor(src: str, dst: str, volts: float, phases: int) -> float:
    if src == dst:
        return 1.0
    return volts * phases if src == "A" else 1.0 / (volts * phases)


_REACTIVE = ("setpoint_reactive", "setpoint_reactive_l2", "setpoint_reactive_l3")


def combine(values: Sequence[tuple[Period, str]], w: Window) -> CompositePeriod:
    """The slots' periods at one instant (each in its own unit) combined, in ``w.unit``.

    ``limit`` takes the minimum, ``dischargeLimit`` the maximum (the least discharge), the
    setpoint :func:`_setpoint`. An ``_L2``/``_L3`` value appears only where some period has one;
    a period without it counts with its per-phase equivalent (in W: the total / numberPhases).
    The reactive setpoint is the first slot's that has one (not a limit: never combined).
    """
    explicit = [p.number_phases for p, _ in values if p.number_phases is not None]
    n = min(explicit) if explicit else w.phases
    split = n if w.unit == "W" else 1  # a total in w.unit -> one phase's share
    volts = w.supply_voltage

    def total(name: str) -> list[float]:
        return [v * _factor(u, w.unit, volts, n) for p, u in values if (v := getattr(p, name)) is not None]

    def phase(name: str, base: str) -> list[float] | None:
        if all(getattr(p, name) is None for p, _ in values):
            return None
        got: list[float] = []
        for p, u in values:
            mine, whole = getattr(p, name), getattr(p, base)
            if mine is not None:
                got.append(mine * _factor(u, w.unit, volts, 1))
            elif whole is not None:
                got.append(whole * _factor(u, w.unit, volts, n) / split)
        return got

    limits, discharges = total("limit"), total("discharge_limit")
    limit = min(limits) if limits else None
    discharge = max(discharges) if discharges else None
    out: dict[str, float | None] = {
        "limit": limit,
        "discharge_limit": discharge,
        "setpoint": _setpoint(total("setpoint"), limit, discharge),
    }
    for ph in ("_l2", "_l3"):
        lim = phase("limit" + ph, "limit")
        dis = phase("discharge_limit" + ph, "discharge_limit")
        sps = phase("setpoint" + ph, "setpoint")
        out["limit" + ph] = min(lim) if lim else None
        out["discharge_limit" + ph] = max(dis) if dis else None
        if sps is not None:
            # held within that phase's range, or the per-phase share of the whole one
            hi = out["limit" + ph] if lim else (None if limit is None else limit / split)
            lo = out["discharge_limit" + ph] if dis else (None if discharge is None else discharge / split)
            out["setpoint" + ph] = _setpoint(sps, hi, lo)
        else:
            out["setpoint" + ph] = None
    for name in _REACTIVE:
        out[name] = None
    for p, u in values:
        if p.setpoint_reactive is not None:
            out["setpoint_reactive"] = p.setpoint_reactive * _factor(u, w.unit, volts, n)
            for name in _REACTIVE[1:]:
                v = getattr(p, name)
                out[name] = None if v is None else v * _factor(u, w.unit, volts, 1)
            break
    phase_to_use = next(
        (p.phase_to_use for p, _ in values if p.phase_to_use is not None and p.number_phases == 1), None
    )
    return CompositePeriod(
        start_period=0,
        number_phases=min(explicit) if explicit else None,
        phase_to_use=phase_to_use if explicit and min(explicit) == 1 else None,
        **out,
    )


def _setpoint(values: list[float], limit: float | None, discharge: float | None) -> float | None:
    """Positive setpoints: the least; negative: the least discharge; mixed signs: 0 (idle)."""
    if not values:
        return None
    if all(v >= 0 for v in values):
        s = min(values)
    elif all(v < 0 for v in values):
        s = max(values)
    else:
        s = 0.0
    if limit is not None and s > limit:
        s = limit
    if discharge is not None and s < discharge:
        s = discharge
    return s


def _applies(p: Profile, evse: int, w: Window) -> bool:
    if p.evse_id not in (0, evse):
        return False
    if p.purpose == _TX:
        tx = w.transactions.get(evse)
        return p.evse_id != 0 and tx is not None and (p.transaction_id is None or p.transaction_id == tx[0])
    if p.purpose == _PRIORITY:
        return w.priority and p.evse_id != 0
    return True


def _intervals(profiles: Sequence[Profile], evse: int, w: Window, lo: int, hi: int, keep: set[str]) -> list[_Interval]:
    tx = w.transactions.get(evse)
    anchor = tx[1] if tx is not None else w.start
    out: list[_Interval] = []
    for p in profiles:
        if p.purpose in keep and _applies(p, evse, w):
            out.extend(_expand(p, lo, hi, anchor))
    return out


def _at(intervals: Sequence[_Interval], t: int, slots: Sequence[tuple[str, ...]]) -> list[tuple[Period, str]]:
    covering = [iv for iv in intervals if iv.start <= t < iv.end]
    out: list[tuple[Period, str]] = []
    for purposes in slots:
        got = _leading(covering, purposes)
        if got is not None:
            out.append(got)
    return out


def compute(profiles: Sequence[Profile], w: Window) -> Composite:
    """The composite schedule of ``w.evse_id`` over the window, as :class:`Composite`."""
    lo = w.start
    hi = lo + max(w.duration, 1)  # duration 0: the instant X itself, one period
    everything = {s for slot in _SLOTS for s in slot}
    if w.evse_id != 0:
        views = [(_intervals(profiles, w.evse_id, w, lo, hi, everything), _SLOTS)]
    else:
        station = {_MAX, _EXTERNAL, _LOCAL}
        own = [p for p in profiles if p.evse_id == 0]
        views = [(_intervals(own, 0, w, lo, hi, station), _SLOTS[:3])]
        per_evse = ((_EXTERNAL,), (_LOCAL,), _SLOTS[3])
        evse_views = [
            _intervals(
                [p for p in profiles if p.evse_id in (0, e) and not (p.evse_id == 0 and p.purpose in station)],
                e,
                w,
                lo,
                hi,
                everything,
            )
            for e in w.evse_ids
        ]
    cuts = {lo, hi}
    for ivs, _ in views:
        cuts.update(x for iv in ivs for x in (iv.start, iv.end))
    if w.evse_id == 0:
        for ivs in evse_views:
            cuts.update(x for iv in ivs for x in (iv.start, iv.end))
    points = sorted(c for c in cuts if lo <= c < hi)
    periods: list[CompositePeriod] = []
    for t in points:
        values = _at(views[0][0], t, views[0][1])
        if w.evse_id == 0 and w.evse_ids:
            total = _sum([combine(_at(ivs, t, per_evse), w) for ivs in evse_views], w)
            if total is not None:
                values.append((total, w.unit))
        got = combine(values, w)
        if got.limit is None and w.default_limit is not None:
            got = replace(got, limit=w.default_limit)
        got = replace(got, start_period=t - lo)
        if periods and periods[-1].same_values(got):
            continue
        periods.append(got)
    return Composite(
        version=w.version,
        evse_id=w.evse_id,
        start=from_epoch(lo),
        duration=w.duration,
        unit=w.unit,
        periods=tuple(periods),
    )


def _sum(each: Sequence[CompositePeriod], w: Window) -> Period | None:
    """EVSE 0: the EVSEs' limits summed (an EVSE without one counts as ``default_limit``)."""
    limits = [p.limit if p.limit is not None else w.default_limit for p in each]
    if any(v is None for v in limits):
        return None  # one EVSE unconstrained: the total is too (only the station's own limits)
    discharges = [p.discharge_limit for p in each if p.discharge_limit is not None]
    return Period(
        start=0, limit=sum(v for v in limits if v is not None), discharge_limit=sum(discharges) if discharges else None
    )
