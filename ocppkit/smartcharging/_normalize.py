"""The typed charging profiles of 1.6, 2.0.1 and 2.1 read into the engine's one internal shape."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from ._model import VALUES, Period, Profile, epoch

__all__ = ["normalize", "schedules"]

#: The float values of a 2.1 period (every value but numberPhases and phaseToUse).
FLOATS = tuple(n for n in VALUES if n not in ("number_phases", "phase_to_use"))

#: 1.6's name of the station-wide purpose, read as the 2.x one.
_PURPOSE_16 = {"ChargePointMaxProfile": "ChargingStationMaxProfile"}


def _opt(value: Any) -> Any:
    return None if value is UNSET else value


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _float(value: Any) -> float | None:
    value = _opt(value)
    return None if value is None else float(value)


def _period(p: Any, version: str) -> Period:
    if version != "2.1":
        return Period(
            start=int(p.start_period),
            limit=float(p.limit),
            number_phases=_opt(p.number_phases),
            phase_to_use=_opt(getattr(p, "phase_to_use", UNSET)),
        )
    return Period(
        start=int(p.start_period),
        number_phases=_opt(p.number_phases),
        phase_to_use=_opt(p.phase_to_use),
        **{name: _float(getattr(p, name)) for name in FLOATS},
    )


def schedules(version: str, profile: Any) -> list[Any]:
    """The typed schedules of ``profile``: 1.6 has one, 2.x up to 3 (ISO 15118 tuples)."""
    if version == "1.6":
        return [profile.charging_schedule]
    return list(profile.charging_schedule)


def normalize(
    version: str, evse_id: int, profile: Any, schedule_index: int = 0, delays: tuple[int, ...] = ()
) -> Profile:
    """``profile`` (the version's typed profile) installed on ``evse_id`` as a :class:`Profile`.

    2.x profiles may carry up to 3 schedules (ISO 15118 tuples); ``schedule_index`` picks the one
    to compute with (the first by default: the one a station without ISO 15118 negotiation uses).
    ``delays``: the randomized delay drawn for each period (2.1 ``randomizedDelay``), or empty.
    """
    schedule: Any = schedules(version, profile)[schedule_index]
    if version == "1.6":
        pid = int(profile.charging_profile_id)
        purpose = _text(profile.charging_profile_purpose)
        purpose = _PURPOSE_16.get(purpose, purpose)
        dyn = None
        schedule_id = None
    else:
        pid = int(profile.id)
        purpose = _text(profile.charging_profile_purpose)
        dyn_time = _opt(getattr(profile, "dyn_update_time", UNSET))
        dyn = None if dyn_time is None else epoch(dyn_time, "dynUpdateTime")
        schedule_id = int(schedule.id)
    tx = _opt(profile.transaction_id)
    valid_from = _opt(profile.valid_from)
    valid_to = _opt(profile.valid_to)
    start = _opt(schedule.start_schedule)
    recurrency = _opt(profile.recurrency_kind)
    periods = sorted((_period(p, version) for p in schedule.charging_schedule_period), key=lambda p: p.start)
    return Profile(
        id=pid,
        evse_id=evse_id,
        purpose=purpose,
        stack_level=int(profile.stack_level),
        kind=_text(profile.charging_profile_kind),
        recurrency=None if recurrency is None else _text(recurrency),
        valid_from=None if valid_from is None else epoch(valid_from, "validFrom"),
        valid_to=None if valid_to is None else epoch(valid_to, "validTo"),
        start_schedule=None if start is None else epoch(start, "startSchedule"),
        duration=_opt(schedule.duration),
        unit=_text(schedule.charging_rate_unit),
        periods=tuple(periods),
        transaction_id=None if tx is None else str(tx),
        dyn_update_time=dyn,
        schedule_id=schedule_id,
        randomized_delay=_opt(getattr(schedule, "randomized_delay", UNSET)),
        delays=delays,
    )
