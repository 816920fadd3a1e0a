"""The records of the composite-schedule engine: its inputs, its result and its internal profile.

Everything here is plain data. The engine reads profiles of every OCPP version through one
internal shape, :class:`_Profile` (built by ``_normalize``), with times as whole epoch seconds.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

__all__ = [
    "VERSIONS",
    "ActiveTransaction",
    "Composite",
    "CompositePeriod",
    "UnconstrainedError",
]

#: The OCPP versions the engine knows.
VERSIONS = ("1.6", "2.0.1", "2.1")

#: "Forever": later than any time a schedule can name (epoch seconds).
FOREVER = 2**62


def epoch(value: _dt.datetime, name: str) -> int:
    """``value`` as whole epoch seconds, truncated (the spec's times are whole seconds)."""
    if value.tzinfo is None:
        raise ValueError(f"{name}: a datetime with a time zone is required (got a naive one)")
    return math.floor(value.timestamp())


def from_epoch(seconds: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc)


@dataclass(frozen=True)
class ActiveTransaction:
    """A transaction running on an EVSE (a connector in 1.6), for TxProfiles and Relative profiles.

    Parameters:
        evse_id: the EVSE (1.6: connector) the transaction runs on, > 0.
        transaction_id: its id (2.x: a string; 1.6: the integer the CSMS assigned).
        started_at: when it started (timezone-aware): the anchor of Relative profiles.
        ev_per_phase: 2.1: the EV reported per-phase values (``_L2``/``_L3`` in its charging
            needs), so a TxProfile may carry ``_L2``/``_L3`` values (K01.FR.142-146).
    """

    evse_id: int
    transaction_id: str | int
    started_at: _dt.datetime
    ev_per_phase: bool = False

    def __post_init__(self) -> None:
        if self.evse_id <= 0:
            raise ValueError(f"ActiveTransaction.evse_id: must be > 0 (got {self.evse_id})")
        epoch(self.started_at, "ActiveTransaction.started_at")


#: The per-period values of a composite (and of a profile's period) besides its start.
VALUES = (
    "limit",
    "number_phases",
    "phase_to_use",
    "limit_l2",
    "limit_l3",
    "discharge_limit",
    "discharge_limit_l2",
    "discharge_limit_l3",
    "setpoint",
    "setpoint_l2",
    "setpoint_l3",
    "setpoint_reactive",
    "setpoint_reactive_l2",
    "setpoint_reactive_l3",
)


@dataclass(frozen=True)
class CompositePeriod:
    """One period of a composite schedule, in the schedule's unit.

    Attributes:
        start_period: seconds from the schedule's start.
        limit: the limit, or None where no profile limits (the spec's "no constraint") and no
            ``default_limit`` was given.
        number_phases: the lowest numberPhases of the periods that applied, None if none set it.
        phase_to_use: the phase of a single-phase period, if one was given.
        limit_l2: 2.1: the limit of phase L2 (only where an applicable period had one).
        limit_l3: 2.1: the limit of phase L3 (likewise).
        discharge_limit: 2.1: the least discharge of the applicable periods (<= 0).
        discharge_limit_l2: 2.1: the same for phase L2 (only where a period had one).
        discharge_limit_l3: 2.1: the same for phase L3 (likewise).
        setpoint: 2.1: the combined setpoint, within [discharge_limit, limit].
        setpoint_l2: 2.1: the combined setpoint of phase L2 (only where a period had one).
        setpoint_l3: 2.1: the same for phase L3 (likewise).
        setpoint_reactive: 2.1: the reactive setpoint of the first slot that has one
            (external constraints before the Tx slot); not combined.
        setpoint_reactive_l2: 2.1: that period's ``setpointReactive_L2``.
        setpoint_reactive_l3: 2.1: that period's ``setpointReactive_L3``.
    """

    start_period: int
    limit: float | None
    number_phases: int | None = None
    phase_to_use: int | None = None
    limit_l2: float | None = None
    limit_l3: float | None = None
    discharge_limit: float | None = None
    discharge_limit_l2: float | None = None
    discharge_limit_l3: float | None = None
    setpoint: float | None = None
    setpoint_l2: float | None = None
    setpoint_l3: float | None = None
    setpoint_reactive: float | None = None
    setpoint_reactive_l2: float | None = None
    setpoint_reactive_l3: float | None = None

    def values(self) -> tuple[float | int | None, ...]:
        """The period's values (its start aside), in the order of ``VALUES``."""
        return tuple(getattr(self, n) for n in VALUES)

    def same_values(self, other: CompositePeriod) -> bool:
        """Whether ``other`` carries the same values (its start aside): neighbours then merge."""
        return self.values() == other.values()


@dataclass(frozen=True)
class Composite:
    """A composite schedule as the engine computed it, before it is written as a typed message.

    Attributes:
        version: the OCPP version ("1.6", "2.0.1" or "2.1").
        evse_id: the EVSE (1.6: connector); 0 is the station total.
        start: the schedule's start (whole seconds, UTC).
        duration: its length in seconds.
        unit: "A" or "W".
        periods: the periods, the first at 0, neighbours with equal values merged.
    """

    version: str
    evse_id: int
    start: _dt.datetime
    duration: int
    unit: str
    periods: tuple[CompositePeriod, ...] = field(default_factory=tuple)

    @property
    def unconstrained(self) -> tuple[tuple[int, int], ...]:
        """The ``(start, end)`` offsets (seconds) where no profile limits: ``limit`` is None."""
        out: list[tuple[int, int]] = []
        for i, p in enumerate(self.periods):
            if p.limit is None:
                end = self.periods[i + 1].start_period if i + 1 < len(self.periods) else self.duration
                out.append((p.start_period, max(end, p.start_period)))
        return tuple(out)


class UnconstrainedError(ValueError):
    """A typed schedule was asked for where no profile limits and no ``default_limit`` was given.

    OCPP 1.6 and 2.0.1 require a ``limit`` in every period, and the spec's meaning of "no profile
    applies" is "no limit", which has no wire value: the caller chooses it (``default_limit``,
    for example the EVSE's maximum). ocppkit does not invent one.

    Attributes:
        windows: the ``(start, end)`` offsets without a limit.
        composite: the computed :class:`Composite` (its periods there have ``limit`` None).
    """

    def __init__(self, composite: Composite) -> None:
        self.composite = composite
        self.windows = composite.unconstrained
        spans = ", ".join(f"{a}..{b} s" for a, b in self.windows)
        super().__init__(
            f"composite schedule of EVSE {composite.evse_id}: no profile limits {spans}; "
            "pass default_limit= (for example the EVSE's maximum) or use composite() to see them"
        )


@dataclass(frozen=True)
class Period:
    """Internal: one period of a profile's schedule, in that schedule's unit."""

    start: int
    limit: float | None
    number_phases: int | None = None
    phase_to_use: int | None = None
    limit_l2: float | None = None
    limit_l3: float | None = None
    discharge_limit: float | None = None
    discharge_limit_l2: float | None = None
    discharge_limit_l3: float | None = None
    setpoint: float | None = None
    setpoint_l2: float | None = None
    setpoint_l3: float | None = None
    setpoint_reactive: float | None = None
    setpoint_reactive_l2: float | None = None
    setpoint_reactive_l3: float | None = None


@dataclass(frozen=True)
class Profile:
    """Internal: a charging profile of any version, times in epoch seconds, purposes as strings.

    ``purpose`` uses the 2.x names ("ChargingStationMaxProfile" also for 1.6's
    ChargePointMaxProfile).
    """

    id: int
    evse_id: int
    purpose: str
    stack_level: int
    kind: str
    recurrency: str | None
    valid_from: int | None
    valid_to: int | None
    start_schedule: int | None
    duration: int | None
    unit: str
    periods: tuple[Period, ...]
    transaction_id: str | None = None
    dyn_update_time: int | None = None
    schedule_id: int | None = None
    randomized_delay: int | None = None
    #: per period, the randomized delay the station drew (0 for the first; empty: none)
    delays: tuple[int, ...] = ()
