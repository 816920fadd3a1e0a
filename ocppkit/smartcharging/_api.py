"""The public entry points: :func:`composite` and :func:`composite_schedule`."""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from ._engine import Window, compute
from ._model import VALUES, VERSIONS, ActiveTransaction, Composite, CompositePeriod, UnconstrainedError, epoch
from ._normalize import normalize, schedules

if TYPE_CHECKING:
    from ocppkit.v16 import datatypes as _d16
    from ocppkit.v21 import datatypes as _d21
    from ocppkit.v201 import datatypes as _d201

    AnyProfile = _d16.ChargingProfile | _d201.ChargingProfileType | _d21.ChargingProfileType

__all__ = ["composite", "composite_schedule"]

Transactions = ActiveTransaction | Sequence[ActiveTransaction] | None


def _check(version: str, evse_id: int, duration: int, unit: str, supply_voltage: float, phases: int) -> None:
    if version not in VERSIONS:
        raise ValueError(f"version: must be one of {', '.join(VERSIONS)} (got {version!r})")
    if not isinstance(evse_id, int) or evse_id < 0:
        raise ValueError(f"evse_id: must be an integer >= 0 (got {evse_id!r})")
    if not isinstance(duration, int) or duration < 0:
        raise ValueError(f"duration: must be an integer >= 0 seconds (got {duration!r})")
    if unit not in ("A", "W"):
        raise ValueError(f"unit: must be 'A' or 'W' (got {unit!r})")
    if not supply_voltage > 0:
        raise ValueError(f"supply_voltage: must be > 0 (got {supply_voltage!r})")
    if phases not in (1, 2, 3):
        raise ValueError(f"phases: must be 1, 2 or 3 (got {phases!r})")


def composite(
    version: str,
    profiles: Sequence[tuple[int, AnyProfile]],
    *,
    evse_id: int,
    start: _dt.datetime,
    duration: int,
    unit: str,
    transaction: Transactions = None,
    supply_voltage: float = 230.0,
    phases: int = 3,
    default_limit: float | None = None,
    evse_ids: Sequence[int] | None = None,
    priority_charging: bool = False,
    selected_schedule: int | None = None,
    randomized_delays: Mapping[int, int | Sequence[int]] | None = None,
) -> Composite:
    """The composite schedule of one EVSE as a :class:`Composite` (periods with ``limit`` None
    where no profile limits and ``default_limit`` is None).

    Parameters:
        version: "1.6", "2.0.1" or "2.1".
        profiles: ``(evse id, profile)`` pairs (1.6: connector id), the version's typed profiles
            (``ChargingProfile`` in 1.6, ``ChargingProfileType`` in 2.x).
        evse_id: the EVSE (1.6: connector) to compute; 0 is the station total.
        start: the window's start (timezone-aware; truncated to the second).
        duration: the window's length in seconds (0: the instant ``start`` alone).
        unit: "A" (per phase) or "W" (all phases).
        transaction: the running transaction(s) (:class:`ActiveTransaction`), or None.
        supply_voltage: the nominal voltage for A <-> W (P = I x V x numberPhases).
        phases: numberPhases where no applicable period sets it (the spec's default is 3).
        default_limit: the value, in ``unit``, for periods no profile limits (None: left None).
        evse_ids: for ``evse_id`` 0, the EVSEs whose limits are summed (default: those named
            by the profiles and transactions).
        priority_charging: 2.1: PriorityCharging is active (its profiles replace Tx/TxDefault).
        selected_schedule: 2.x, ISO 15118: the ``chargingSchedule`` id the EV selected (its
            SAScheduleTupleID; NotifyEVChargingSchedule's ``selectedChargingScheduleId``). A
            profile with several schedules uses the one with that id, else the one at the same
            position (schedule i with schedule i), else its first. None: every profile's first.
        randomized_delays: 2.1: ``{profile id: delay}``, the delays (seconds) the station drew
            for a profile's ``randomizedDelay``: one number for every period after the first,
            or one per period after the first. Without one a profile is computed undelayed.

    Raises:
        ValueError: a bad argument, naming it and the rule.
    """
    unit = str(getattr(unit, "value", unit))
    _check(version, evse_id, duration, unit, supply_voltage, phases)
    if default_limit is not None and not math.isfinite(default_limit):
        raise ValueError(f"default_limit: must be a finite number or None (got {default_limit!r})")
    txs: Sequence[ActiveTransaction]
    if transaction is None:
        txs = ()
    elif isinstance(transaction, ActiveTransaction):
        txs = (transaction,)
    else:
        txs = tuple(transaction)
    by_evse = {t.evse_id: (str(t.transaction_id), epoch(t.started_at, "transaction.started_at")) for t in txs}
    picks = _picks(version, profiles, selected_schedule)
    delays = _delays(version, profiles, picks, randomized_delays or {})
    internal = [
        normalize(version, e, p, i, delays.get(k, ()))
        for k, ((e, p), i) in enumerate(zip(profiles, picks, strict=True))
    ]
    if evse_ids is None:
        found = {p.evse_id for p in internal if p.evse_id != 0} | set(by_evse)
        evse_ids = sorted(found)
    w = Window(
        version=version,
        evse_id=evse_id,
        start=epoch(start, "start"),
        duration=duration,
        unit=unit,
        supply_voltage=float(supply_voltage),
        phases=phases,
        default_limit=None if default_limit is None else float(default_limit),
        transactions=by_evse,
        evse_ids=tuple(evse_ids),
        priority=priority_charging,
    )
    return compute(internal, w)


def _picks(version: str, profiles: Sequence[tuple[int, Any]], selected: int | None) -> list[int]:
    """The index of the schedule each profile computes with (ISO 15118 tuples)."""
    if selected is None or version == "1.6":
        if selected is not None:
            raise ValueError("selected_schedule: 1.6 profiles have one schedule (ISO 15118 tuples are 2.x)")
        return [0] * len(profiles)
    ids = [[int(s.id) for s in schedules(version, p)] for _, p in profiles]
    position = next((i.index(selected) for i in ids if selected in i), None)
    if position is None:
        raise ValueError(f"selected_schedule: no profile has a chargingSchedule with id {selected}")
    return [i.index(selected) if selected in i else position if position < len(i) else 0 for i in ids]


def _delays(
    version: str, profiles: Sequence[tuple[int, Any]], picks: list[int], given: Mapping[int, int | Sequence[int]]
) -> dict[int, tuple[int, ...]]:
    """Per profile (by position), the delay of each period, checked against its randomizedDelay."""
    if given and version != "2.1":
        raise ValueError("randomized_delays: randomizedDelay is a 2.1 field")
    out: dict[int, tuple[int, ...]] = {}
    found: set[int] = set()
    for k, ((_, p), i) in enumerate(zip(profiles, picks, strict=True)):
        pid = int(p.id) if version != "1.6" else int(p.charging_profile_id)
        if pid not in given:
            continue
        found.add(pid)
        schedule = schedules(version, p)[i]
        bound = getattr(schedule, "randomized_delay", None)
        if not isinstance(bound, int):
            raise ValueError(f"randomized_delays[{pid}]: the profile's schedule has no randomizedDelay")
        n = len(schedule.charging_schedule_period)
        d = given[pid]
        each = [int(d)] * (n - 1) if isinstance(d, int) else [int(x) for x in d]
        if len(each) != n - 1:
            raise ValueError(f"randomized_delays[{pid}]: {n - 1} delays needed (one per period after the first)")
        if any(not 0 <= x <= bound for x in each):
            raise ValueError(f"randomized_delays[{pid}]: every delay must be within 0..randomizedDelay ({bound})")
        out[k] = (0, *each)  # in startPeriod order, as normalize sorts the periods
    missing = set(given) - found
    if missing:
        raise ValueError(f"randomized_delays: no profile with id {min(missing)}")
    return out


@overload
def composite_schedule(
    version: Literal["1.6"], profiles: Sequence[tuple[int, Any]], **kw: Any
) -> _d16.ChargingSchedule: ...
@overload
def composite_schedule(
    version: Literal["2.0.1"], profiles: Sequence[tuple[int, Any]], **kw: Any
) -> _d201.CompositeScheduleType: ...
@overload
def composite_schedule(
    version: Literal["2.1"], profiles: Sequence[tuple[int, Any]], **kw: Any
) -> _d21.CompositeScheduleType: ...
@overload
def composite_schedule(
    version: str, profiles: Sequence[tuple[int, Any]], **kw: Any
) -> _d16.ChargingSchedule | _d201.CompositeScheduleType | _d21.CompositeScheduleType: ...


def composite_schedule(
    version: str, profiles: Sequence[tuple[int, Any]], **kw: Any
) -> _d16.ChargingSchedule | _d201.CompositeScheduleType | _d21.CompositeScheduleType:
    """The composite schedule as the version's typed message part.

    Takes the arguments of :func:`composite` and returns a 2.x ``CompositeScheduleType``, or a
    1.6 ``ChargingSchedule`` with ``start_schedule`` set to the window's start and limits rounded
    down to 0.1. Where no profile limits and ``default_limit`` is None: 2.1 omits ``limit`` (it is
    optional there); 1.6 and 2.0.1 require one, so :class:`UnconstrainedError` is raised.

    Raises:
        UnconstrainedError: 1.6 / 2.0.1, a period without a limit and no ``default_limit``.
        ValueError: a bad argument.
    """
    result = composite(version, profiles, **kw)
    if version == "1.6":
        return _schedule_16(result)
    if version == "2.0.1":
        return _schedule_201(result)
    return _schedule_21(result)


def _floor_tenth(value: float) -> float:
    return math.floor(round(value * 10, 6)) / 10


def _schedule_16(c: Composite) -> _d16.ChargingSchedule:
    from ocppkit.v16 import datatypes as d
    from ocppkit.v16 import enums as e

    if c.unconstrained:
        raise UnconstrainedError(c)
    periods: list[d.ChargingSchedulePeriod] = []
    last: tuple[float, int | None] | None = None
    for p in c.periods:
        assert p.limit is not None
        value = (_floor_tenth(p.limit), p.number_phases)
        if value == last:
            continue
        last = value
        if p.number_phases is None:
            periods.append(d.ChargingSchedulePeriod(start_period=p.start_period, limit=value[0]))
        else:
            periods.append(
                d.ChargingSchedulePeriod(start_period=p.start_period, limit=value[0], number_phases=p.number_phases)
            )
    return d.ChargingSchedule(
        duration=c.duration,
        start_schedule=c.start,
        charging_rate_unit=e.ChargingRateUnitType(c.unit),
        charging_schedule_period=periods,
    )


def _opt_fields(p: CompositePeriod, names: Sequence[str]) -> dict[str, Any]:
    return {n: getattr(p, n) for n in names if getattr(p, n) is not None}


def _schedule_201(c: Composite) -> _d201.CompositeScheduleType:
    from ocppkit.v201 import datatypes as d
    from ocppkit.v201 import enums as e

    if c.unconstrained:
        raise UnconstrainedError(c)
    periods = [
        d.ChargingSchedulePeriodType(
            start_period=p.start_period,
            limit=p.limit if p.limit is not None else 0.0,
            **_opt_fields(p, ("number_phases", "phase_to_use")),
        )
        for p in c.periods
    ]
    return d.CompositeScheduleType(
        evse_id=c.evse_id,
        duration=c.duration,
        schedule_start=c.start,
        charging_rate_unit=e.ChargingRateUnitEnumType(c.unit),
        charging_schedule_period=periods,
    )


def _schedule_21(c: Composite) -> _d21.CompositeScheduleType:
    from ocppkit.v21 import datatypes as d
    from ocppkit.v21 import enums as e

    names = VALUES
    periods = [d.ChargingSchedulePeriodType(start_period=p.start_period, **_opt_fields(p, names)) for p in c.periods]
    return d.CompositeScheduleType(
        evse_id=c.evse_id,
        duration=c.duration,
        schedule_start=c.start,
        charging_rate_unit=e.ChargingRateUnitEnumType(c.unit),
        charging_schedule_period=periods,
    )
