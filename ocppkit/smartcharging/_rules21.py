"""The OCPP 2.1 SetChargingProfile rules: features, operation modes, per-phase values, rate limit.

Each check returns ``(reason code, detail)`` or None. The reason codes are libocpp's
``ProfileValidationResultEnum`` names (see ``_validate``); the requirement ids are cited in the
details. Where the digest marks a rule "(verify)" or gives no id, docs/smart-charging.md says
what we decided.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Collection, Mapping
from typing import Any

from msgspec import UNSET

from ._model import FOREVER, ActiveTransaction, Profile, epoch

__all__ = ["MODES_BY_PURPOSE", "SUPPORTS", "phase_to_use_conflict", "profile_rules", "period_rules", "rate_limit"]

Problem = tuple[str, str]

#: The ``Supports<Name>`` variables of SmartChargingCtrlr (2.1) that K01.FR.121-126 check.
SUPPORTS = ("DynamicProfiles", "UseLocalTime", "RandomizedDelay", "LimitAtSoC", "EvseSleep")

_ALL_MODES = frozenset(
    {
        "Idle",
        "ChargingOnly",
        "CentralSetpoint",
        "ExternalSetpoint",
        "ExternalLimits",
        "CentralFrequency",
        "LocalFrequency",
        "LocalLoadBalancing",
    }
)

#: The operationModes each purpose allows (K01.FR.111-115; the 2.1 table as libocpp holds it).
MODES_BY_PURPOSE: Mapping[str, frozenset[str]] = {
    "TxProfile": _ALL_MODES,
    "TxDefaultProfile": _ALL_MODES,
    "PriorityCharging": frozenset({"ChargingOnly"}),
    "ChargingStationMaxProfile": frozenset({"ChargingOnly"}),
    "ChargingStationExternalConstraints": frozenset({"ChargingOnly", "ExternalLimits", "ExternalSetpoint"}),
    "LocalGeneration": frozenset({"ChargingOnly", "ExternalLimits"}),
}

#: Limits and setpoints per operation mode: (required, allowed besides them). Modes not listed
#: here name none in the table, and are not checked (our reading; see the docs).
_LIMITS_BY_MODE: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "ChargingOnly": (frozenset({"limit"}), frozenset()),
    "CentralSetpoint": (frozenset({"setpoint"}), frozenset({"limit", "discharge_limit", "setpoint_reactive"})),
    "CentralFrequency": (frozenset({"setpoint"}), frozenset({"limit", "discharge_limit"})),
    "ExternalSetpoint": (frozenset(), frozenset({"limit", "discharge_limit"})),
}
_LIMIT_FIELDS = ("limit", "discharge_limit", "setpoint", "setpoint_reactive")
_PHASED = tuple(f"{base}_{ph}" for base in _LIMIT_FIELDS for ph in ("l2", "l3"))


def _set(value: Any) -> bool:
    return value is not UNSET and value is not None


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def _supported(name: str, supports: Collection[str] | None) -> bool:
    return supports is None or name in supports


def profile_rules(
    profile: Any, schedules: list[Any], purposes: Collection[str] | None, supports: Collection[str] | None
) -> Problem | None:
    """The profile- and schedule-level 2.1 rules (K01.FR.95, FR.120-126)."""
    purpose = _text(profile.charging_profile_purpose)
    kind = _text(profile.charging_profile_kind)
    if purpose in ("PriorityCharging", "LocalGeneration") and purposes is not None and purpose not in purposes:
        return "ChargingProfileUnsupportedPurpose", (
            f"chargingProfilePurpose {purpose}: not in SupportedAdditionalPurposes (K01.FR.120)"
        )
    if kind == "Dynamic" and not _supported("DynamicProfiles", supports):
        return (
            "ChargingProfileUnsupportedKind",
            "chargingProfileKind Dynamic: SupportsDynamicProfiles is false (K01.FR.121)",
        )
    if kind != "Dynamic" and (_set(profile.dyn_update_interval) or _set(profile.dyn_update_time)):
        return "ChargingProfileNotDynamic", "dynUpdateInterval/dynUpdateTime: only in a Dynamic profile (K01.FR.122)"
    for s in schedules:
        if s.use_local_time is True and not _supported("UseLocalTime", supports):
            return "ChargingScheduleUnsupportedLocalTime", "useLocalTime: SupportsUseLocalTime is false (K01.FR.123)"
        if _set(s.randomized_delay):
            if not _supported("RandomizedDelay", supports):
                return "ChargingScheduleUnsupportedRandomizedDelay", (
                    "randomizedDelay: SupportsRandomizedDelay is false (K01.FR.124)"
                )
            if s.randomized_delay > 0 and purpose not in ("TxProfile", "TxDefaultProfile"):
                return "ChargingScheduleRandomizedDelay", (
                    f"randomizedDelay: only in a TxProfile or TxDefaultProfile, not {purpose} (K01.FR.95)"
                )
        if _set(s.limit_at_soc) and not _supported("LimitAtSoC", supports):
            return "ChargingScheduleUnsupportedLimitAtSoC", "limitAtSoC: SupportsLimitAtSoC is false (K01.FR.125)"
        for per in s.charging_schedule_period:
            if per.evse_sleep is True and not _supported("EvseSleep", supports):
                return "ChargingScheduleUnsupportedEvseSleep", "evseSleep: SupportsEvseSleep is false (K01.FR.126)"
    return None


def period_rules(
    profile: Any,
    schedule: Any,
    modes: Collection[str] | None,
    transaction: ActiveTransaction | None,
) -> Problem | None:
    """The per-period 2.1 rules: operation modes, limits per mode, per-phase values."""
    purpose = _text(profile.charging_profile_purpose)
    unit = _text(schedule.charging_rate_unit)
    for per in schedule.charging_schedule_period:
        where = f"chargingSchedulePeriod {per.start_period}"
        mode = _text(per.operation_mode) if _set(per.operation_mode) else "ChargingOnly"
        if purpose == "PriorityCharging" and mode != "ChargingOnly":
            return "ChargingSchedulePeriodPriorityChargingNotChargingOnly", (
                f"{where}: operationMode {mode}: a PriorityCharging profile is ChargingOnly (K01.FR.71)"
            )
        allowed = MODES_BY_PURPOSE.get(purpose, _ALL_MODES)
        if mode not in allowed:
            return "ChargingSchedulePeriodUnsupportedOperationMode", (
                f"{where}: operationMode {mode}: not allowed in a {purpose} (K01.FR.111-115)"
            )
        if mode != "ChargingOnly" and modes is not None and mode not in modes:
            return "ChargingSchedulePeriodOperationModeNotInSupportedList", (
                f"{where}: operationMode {mode}: not in V2XChargingCtrlr.SupportedOperationModes (K01.FR.111-115)"
            )
        if mode == "LocalFrequency":
            if unit != "W":
                return "ChargingScheduleChargingRateUnitUnsupported", (
                    f"{where}: LocalFrequency needs chargingRateUnit W (Q08.FR.05)"
                )
            curve = per.v2x_freq_watt_curve
            if not _set(curve) or len(curve) < 2 or not _set(per.v2x_baseline):
                return "ChargingSchedulePeriodNoFreqWattCurve", (
                    f"{where}: LocalFrequency needs a v2xFreqWattCurve of >= 2 points and a v2xBaseline (Q08.FR.02)"
                )
        problem = _limits(per, mode, where)
        if problem is None:
            problem = _per_phase(per, purpose, transaction, where)
        if problem is not None:
            return problem
    return None


def _limits(per: Any, mode: str, where: str) -> Problem | None:
    present = {n for n in _LIMIT_FIELDS if _set(getattr(per, n))}
    rule = _LIMITS_BY_MODE.get(mode)
    if rule is not None:
        required, optional = rule
        missing, extra = required - present, present - required - optional
        if missing or extra:
            what = ", ".join(sorted(missing)) + " required" if missing else ", ".join(sorted(extra)) + " not allowed"
            return "ChargingSchedulePeriodUnsupportedLimitSetpoint", (
                f"{where}: {what} in operationMode {mode} (the 2.1 table of limits and setpoints per mode)"
            )
    values = [getattr(per, n) for n in (*_LIMIT_FIELDS, *_PHASED) if _set(getattr(per, n))]
    if any(not math.isfinite(v) for v in values):
        return "ChargingSchedulePeriodNonFiniteValue", f"{where}: a limit or setpoint is not a finite number"
    setpoints = [getattr(per, n) for n in ("setpoint", "setpoint_l2", "setpoint_l3") if _set(getattr(per, n))]
    if setpoints and not (all(v >= 0 for v in setpoints) or all(v <= 0 for v in setpoints)):
        return "ChargingSchedulePeriodSignDifference", f"{where}: setpoint and setpoint_L2/L3 differ in sign"
    if _set(per.setpoint):
        hi = per.limit if _set(per.limit) else math.inf
        lo = per.discharge_limit if _set(per.discharge_limit) else -math.inf
        if not lo <= per.setpoint <= hi:
            return "ChargingSchedulePeriodSetpointOutOfRange", (
                f"{where}: setpoint {per.setpoint} outside [dischargeLimit, limit] (schema description)"
            )
    return None


def _wire(name: str) -> str:
    """A period field's wire name: ``discharge_limit_l2`` -> ``dischargeLimit_L2``."""
    phase = name[-3:] if name.endswith(("_l2", "_l3")) else ""
    head, *rest = (name[: -len(phase)] if phase else name).split("_")
    return head + "".join(w.title() for w in rest) + phase.upper()


def _per_phase(per: Any, purpose: str, tx: ActiveTransaction | None, where: str) -> Problem | None:
    given = [n for n in _PHASED if _set(getattr(per, n))]
    if not given:
        return None
    wire = _wire(given[0])
    if purpose != "TxProfile":
        return "ChargingSchedulePeriodPhaseConflict", f"{where}: {wire}: only in a TxProfile (K01.FR.142-146)"
    for n in given:
        base = n[:-3]
        if not _set(getattr(per, base)):
            return "ChargingSchedulePeriodPhaseConflict", (
                f"{where}: {_wire(n)}: only together with {_wire(base)} (K01.FR.142-146)"
            )
    if tx is None or not tx.ev_per_phase:
        return "ChargingSchedulePeriodPhaseConflict", (
            f"{where}: {wire}: the EV has not reported per-phase values (K01.FR.142-146)"
        )
    return None


def phase_to_use_conflict(p: Profile, others: list[Profile]) -> Problem | None:
    """K01.FR.141: a phaseToUse other than the one of an applicable profile overlapping in time."""
    mine = {per.phase_to_use for per in p.periods if per.phase_to_use is not None}
    if not mine:
        return None
    for o in others:
        if o.id == p.id or not (o.evse_id == p.evse_id or 0 in (o.evse_id, p.evse_id)):
            continue
        a0, a1 = p.valid_from or -FOREVER, p.valid_to or FOREVER
        b0, b1 = o.valid_from or -FOREVER, o.valid_to or FOREVER
        if not (a0 < b1 and b0 < a1):
            continue
        theirs = {per.phase_to_use for per in o.periods if per.phase_to_use is not None}
        if theirs and theirs != mine:
            return "ChargingSchedulePeriodPhaseConflict", (
                f"phaseToUse {sorted(mine)}: profile {o.id} uses phaseToUse {sorted(theirs)} (K01.FR.141)"
            )
    return None


def rate_limit(
    p: Profile, interval: int, by: str, now: _dt.datetime | None, last_set: Mapping[int | str, _dt.datetime]
) -> tuple[str, str, int] | None:
    """K01.FR.56/57: a SetChargingProfile sooner than ``interval`` s after the last one of the same
    purpose (``by="purpose"``, as libocpp) or id (``by="id"``). Returns the code, the detail and
    the retry delay in seconds."""
    key: int | str = p.purpose if by == "purpose" else p.id
    last = last_set.get(key)
    if last is None:
        return None
    if now is None:
        raise ValueError("now: required to apply Capabilities.update_rate_limit (no clock is read)")
    wait = epoch(last, f"last_set[{key!r}]") + interval - epoch(now, "now")
    if wait <= 0:
        return None
    return (
        "ChargingProfileRateLimitExceeded",
        f"{by} {key}: set less than {interval} s ago; retry in {wait} s (K01.FR.56/57)",
        wait,
    )
