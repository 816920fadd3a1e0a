"""Builders of typed charging profiles for every version, for the smart-charging tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ocppkit.v16 import datatypes as d16
from ocppkit.v16 import enums as e16
from ocppkit.v21 import datatypes as d21
from ocppkit.v201 import datatypes as d201

UTC = dt.timezone.utc

#: 1.6's name for the station-wide purpose.
MAX = {"1.6": "ChargePointMaxProfile", "2.0.1": "ChargingStationMaxProfile", "2.1": "ChargingStationMaxProfile"}


def at(text: str) -> dt.datetime:
    """A UTC datetime from ``YYYY-MM-DDTHH:MM[:SS]``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class P:
    """A version-neutral description of one profile (what the tests and the reference read)."""

    id: int
    purpose: str  # 2.x names; "ChargingStationMaxProfile" is written as 1.6's name there
    level: int
    kind: str
    periods: list[tuple[int, float]]  # (startPeriod, limit)
    unit: str = "A"
    start: dt.datetime | None = None
    duration: int | None = None
    recurrency: str | None = None
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    tx: str | None = None
    phases: list[int | None] = field(default_factory=list)  # numberPhases per period (None: absent)
    extra: list[dict[str, Any]] = field(default_factory=list)  # 2.1: more fields per period
    dyn_update_time: dt.datetime | None = None
    randomized_delay: int | None = None  # 2.1: the schedule's randomizedDelay
    more: list[P] = field(default_factory=list)  # 2.x: further schedules (ISO 15118 tuples), ids = their id

    def schedule_ids(self) -> list[int]:
        return [self.id] + [q.id for q in self.more]

    def phases_of(self, i: int) -> int | None:
        return self.phases[i] if i < len(self.phases) else None

    def extra_of(self, i: int) -> dict[str, Any]:
        return self.extra[i] if i < len(self.extra) else {}


def _some(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


def typed(version: str, p: P) -> Any:
    """``p`` as the version's typed ChargingProfile."""
    if version == "1.6":
        periods16 = [
            d16.ChargingSchedulePeriod(**_some(start_period=s, limit=lim, number_phases=p.phases_of(i)))
            for i, (s, lim) in enumerate(p.periods)
        ]
        schedule16 = d16.ChargingSchedule(
            **_some(duration=p.duration, start_schedule=p.start),
            charging_rate_unit=e16.ChargingRateUnitType(p.unit),
            charging_schedule_period=periods16,
        )
        purpose = MAX["1.6"] if p.purpose == MAX["2.0.1"] else p.purpose
        return d16.ChargingProfile(
            charging_profile_id=p.id,
            **_some(transaction_id=None if p.tx is None else int(p.tx)),
            stack_level=p.level,
            charging_profile_purpose=e16.ChargingProfilePurposeType(purpose),
            charging_profile_kind=e16.ChargingProfileKindType(p.kind),
            **_some(
                recurrency_kind=None if p.recurrency is None else e16.RecurrencyKindType(p.recurrency),
                valid_from=p.valid_from,
                valid_to=p.valid_to,
            ),
            charging_schedule=schedule16,
        )
    d: Any = d201 if version == "2.0.1" else d21

    def one(q: P) -> Any:
        periods = [
            d.ChargingSchedulePeriodType(
                start_period=s, **_some(limit=lim, number_phases=q.phases_of(i)), **q.extra_of(i)
            )
            for i, (s, lim) in enumerate(q.periods)
        ]
        delay = {} if version == "2.0.1" else _some(randomized_delay=q.randomized_delay)
        return d.ChargingScheduleType(
            id=q.id,
            **_some(start_schedule=q.start, duration=q.duration),
            **delay,
            charging_rate_unit=q.unit,
            charging_schedule_period=periods,
        )

    more = {} if version == "2.0.1" else _some(dyn_update_time=p.dyn_update_time)
    return d.ChargingProfileType(
        id=p.id,
        stack_level=p.level,
        charging_profile_purpose=p.purpose,
        charging_profile_kind=p.kind,
        **_some(recurrency_kind=p.recurrency, valid_from=p.valid_from, valid_to=p.valid_to, transaction_id=p.tx),
        **more,
        charging_schedule=[one(p), *(one(q) for q in p.more)],
    )


def limits(schedule: Any) -> list[tuple[int, float | None]]:
    """``(startPeriod, limit)`` of a typed schedule (2.x CompositeScheduleType or 1.6)."""
    from msgspec import UNSET

    return [
        (p.start_period, None if p.limit is UNSET else round(p.limit, 3)) for p in schedule.charging_schedule_period
    ]
