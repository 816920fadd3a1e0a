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
from dataclasses import dataclass

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
    for a in anchors:
        stop = a + length
        for i, per in enumerate(p.periods):
            begin = a + per.start
            end = a + p.periods[i + 1].start if i + 1 < len(p.periods) else stop
            begin, end = max(begin, first), min(end, stop, last)
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


def combine(values: Sequence[tuple[Period, str]], w: Window) -> CompositePeriod:
    """The minimum of the slots' periods at one instant (each in its own unit), in ``w.unit``."""
    explicit = [p.number_phases for p, _ in values if p.number_phases is not None]
    n = min(explicit) if explicit else w.phases
    limits: list[float] = []
    l2: list[float] = []
    l3: list[float] = []
    per_phase = any(p.limit_l2 is not None or p.limit_l3 is not None for p, _ in values)
    discharges: list[float] = []
    setpoints: list[float] = []
    phase_to_use = None
    for p, unit in values:
        f = _factor(unit, w.unit, w.supply_voltage, n)
        f1 = _factor(unit, w.unit, w.supply_voltage, 1)  # per-phase values
        if p.limit is not None:
            limits.append(p.limit * f)
        if per_phase:
            for got, mine in ((l2, p.limit_l2), (l3, p.limit_l3)):
                if mine is not None:
                    got.append(mine * f1)
                elif p.limit is not None:
                    got.append(p.limit * f)
        if p.discharge_limit is not None:
            discharges.append(p.discharge_limit * f)
        if p.setpoint is not None:
            setpoints.append(p.setpoint * f)
        if p.phase_to_use is not None and p.number_phases == 1 and phase_to_use is None:
            phase_to_use = p.phase_to_use
    limit = min(limits) if limits else None
    discharge = max(discharges) if discharges else None
    setpoint = _setpoint(setpoints, limit, discharge)
    return CompositePeriod(
        start_period=0,
        limit=limit,
        number_phases=min(explicit) if explicit else None,
        phase_to_use=phase_to_use if explicit and min(explicit) == 1 else None,
        limit_l2=min(l2) if l2 else None,
        limit_l3=min(l3) if l3 else None,
        discharge_limit=discharge,
        setpoint=setpoint,
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
            got = CompositePeriod(**{**got.__dict__, "limit": w.default_limit})
        got = CompositePeriod(**{**got.__dict__, "start_period": t - lo})
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
