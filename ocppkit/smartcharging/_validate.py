"""SetChargingProfile validation (2.x K01; 1.6 §5.16): Accepted, or Rejected with a reason code.

The reason codes are libocpp's ``ProfileValidationResultEnum`` names (a de-facto vocabulary for
``statusInfo.reasonCode``); each rule cites its requirement.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._model import FOREVER, VERSIONS, ActiveTransaction, Profile
from ._normalize import normalize, schedules
from ._rules21 import SUPPORTS, period_rules, phase_to_use_conflict, profile_rules, rate_limit

__all__ = ["Capabilities", "Verdict", "validate_profile"]

_MAX = "ChargingStationMaxProfile"


@dataclass(frozen=True)
class Capabilities:
    """What the station supports, for :func:`validate_profile`.

    Parameters:
        evse_ids: the EVSEs (1.6: connectors) that exist, 0 excluded; None: any.
        rate_units: the units accepted (``SmartChargingCtrlr.RateUnit``; 1.6
            ``ChargingScheduleAllowedChargingRateUnit``).
        max_stack_level: the highest stack level (``ProfileStackLevel``), None: no bound.
        max_periods: ``PeriodsPerSchedule`` (1.6 ``ChargingScheduleMaxPeriods``), None: no bound.
        supply_phases: the phases of the supply (numberPhases above it is refused).
        dc_evse_ids: EVSEs that are DC (numberPhases / phaseToUse refused there).
        phase_switching: ``ACPhaseSwitchingSupported`` (phaseToUse allowed).
        max_external_constraints_id: ``MaxExternalConstraintsId``: CSMS profile ids must be above.
        additional_purposes: 2.1 ``SupportedAdditionalPurposes`` (PriorityCharging,
            LocalGeneration); None: both.
        supports: 2.1, the ``SmartChargingCtrlr.Supports<Name>`` variables that are true, by
            name (``SUPPORTS``: DynamicProfiles, UseLocalTime, RandomizedDelay, LimitAtSoC,
            EvseSleep); None: all of them.
        operation_modes: 2.1 ``V2XChargingCtrlr.SupportedOperationModes``; None: every mode.
            ChargingOnly is always allowed.
        update_rate_limit: 2.1 ``ChargingProfileUpdateRateLimit``: the least seconds between two
            SetChargingProfile of one purpose (or id, see ``rate_limit_by``); None: no limit.
        rate_limit_by: "purpose" (as libocpp) or "id": what ``update_rate_limit`` counts by.
    """

    evse_ids: Collection[int] | None = None
    rate_units: Collection[str] = ("A", "W")
    max_stack_level: int | None = None
    max_periods: int | None = None
    supply_phases: int = 3
    dc_evse_ids: Collection[int] = ()
    phase_switching: bool = False
    max_external_constraints_id: int | None = None
    additional_purposes: Collection[str] | None = None
    supports: Collection[str] | None = None
    operation_modes: Collection[str] | None = None
    update_rate_limit: int | None = None
    rate_limit_by: str = "purpose"

    def __post_init__(self) -> None:
        if self.rate_limit_by not in ("purpose", "id"):
            raise ValueError(f"Capabilities.rate_limit_by: 'purpose' or 'id' (got {self.rate_limit_by!r})")
        unknown = set(self.supports or ()) - set(SUPPORTS)
        if unknown:
            raise ValueError(f"Capabilities.supports: unknown {sorted(unknown)}; known: {', '.join(SUPPORTS)}")
        if self.update_rate_limit is not None and self.update_rate_limit < 0:
            raise ValueError(f"Capabilities.update_rate_limit: must be >= 0 (got {self.update_rate_limit})")


#: The statusInfo.reasonCode (at most 20 characters) sent for each reason code: libocpp's
#: mapping, with the 2.1 codes InvalidOperationMode, PhaseConflict and RateLimitExceeded, except
#: that an unknown EVSE is ``UnknownEvse`` (the appendix's code, which GetCompositeSchedule of an
#: unknown EVSE answers too) rather than libocpp's ``InvalidValue``.
WIRE_REASONS: Mapping[str, str] = {
    "EvseDoesNotExist": "UnknownEvse",
    "ChargingScheduleChargingRateUnitUnsupported": "UnsupportedRateUnit",
    "ChargingProfileStackLevelTooHigh": "InvalidStackLevel",
    "ChargingProfileNoChargingSchedulePeriods": "InvalidSchedule",
    "ChargingScheduleTooManyPeriods": "InvalidSchedule",
    "ChargingProfileFirstStartScheduleIsNotZero": "InvalidSchedule",
    "ChargingSchedulePeriodsOutOfOrder": "InvalidSchedule",
    "ChargingSchedulePeriodExtraneousPhaseValues": "InvalidSchedule",
    "ChargingSchedulePeriodUnsupportedNumberPhases": "InvalidSchedule",
    "ChargingSchedulePeriodInvalidPhaseToUse": "InvalidSchedule",
    "ChargingSchedulePeriodPhaseToUseACPhaseSwitchingUnsupported": "InvalidSchedule",
    "ChargingProfileMissingRequiredStartSchedule": "InvalidSchedule",
    "ChargingProfileExtraneousStartSchedule": "InvalidSchedule",
    "ChargingStationMaxProfileEvseIdGreaterThanZero": "InvalidValue",
    "ChargingStationMaxProfileCannotBeRelative": "InvalidValue",
    "InvalidProfileType": "InvalidValue",
    "TxProfileEvseIdNotGreaterThanZero": "InvalidValue",
    "TxProfileMissingTransactionId": "MissingParam",
    "TxProfileEvseHasNoActiveTransaction": "TxNotFound",
    "TxProfileTransactionNotOnEvse": "TxNotFound",
    "TxProfileConflictingStackLevel": "InvalidStackLevel",
    "ExistingChargingStationExternalConstraints": "DuplicateProfile",
    "ChargingProfileIdSmallerThanMaxExternalConstraintsId": "InvalidProfileId",
    "DuplicateTxDefaultProfileFound": "DuplicateProfile",
    "DuplicateProfileValidityPeriod": "DuplicateProfile",
    "ChargingProfileUnsupportedPurpose": "UnsupportedPurpose",
    "ChargingProfileUnsupportedKind": "UnsupportedKind",
    "ChargingProfileNotDynamic": "InvalidProfile",
    "ChargingScheduleUnsupportedLocalTime": "InvalidSchedule",
    "ChargingScheduleUnsupportedRandomizedDelay": "InvalidSchedule",
    "ChargingScheduleRandomizedDelay": "InvalidSchedule",
    "ChargingScheduleUnsupportedLimitAtSoC": "InvalidSchedule",
    "ChargingScheduleUnsupportedEvseSleep": "InvalidSchedule",
    "ChargingSchedulePeriodPriorityChargingNotChargingOnly": "InvalidOperationMode",
    "ChargingSchedulePeriodUnsupportedOperationMode": "InvalidOperationMode",
    "ChargingSchedulePeriodOperationModeNotInSupportedList": "InvalidOperationMode",
    "ChargingSchedulePeriodNoFreqWattCurve": "NoFreqWattCurve",
    "ChargingSchedulePeriodUnsupportedLimitSetpoint": "InvalidSchedule",
    "ChargingSchedulePeriodNonFiniteValue": "InvalidSchedule",
    "ChargingSchedulePeriodSignDifference": "InvalidSchedule",
    "ChargingSchedulePeriodSetpointOutOfRange": "InvalidSchedule",
    "ChargingSchedulePeriodPhaseConflict": "PhaseConflict",
    "ChargingProfileRateLimitExceeded": "RateLimitExceeded",
}


@dataclass(frozen=True)
class Verdict:
    """The answer to a SetChargingProfile.

    Attributes:
        status: "Accepted" or "Rejected".
        reason_code: why it was rejected (None when accepted): libocpp's detailed name.
        detail: a sentence naming the field and the rule.
        retry_after: RateLimitExceeded: the seconds to wait before setting it again.
    """

    status: str
    reason_code: str | None = None
    detail: str = ""
    retry_after: int | None = None

    @property
    def accepted(self) -> bool:
        """Whether the status is Accepted."""
        return self.status == "Accepted"

    @property
    def wire_reason(self) -> str | None:
        """The 2.x ``statusInfo.reasonCode`` to send (at most 20 characters), None if accepted."""
        if self.reason_code is None:
            return None
        return WIRE_REASONS.get(self.reason_code, self.reason_code[:20])

    @property
    def additional_info(self) -> str | None:
        """The 2.x ``statusInfo.additionalInfo`` (at most 1024 characters), None if accepted.

        RateLimitExceeded: the retry delay in whole seconds, as a decimal number (K01.FR.57).
        Otherwise the detailed reason code and the detail.
        """
        if self.reason_code is None:
            return None
        if self.retry_after is not None:
            return str(self.retry_after)
        return f"{self.reason_code}: {self.detail}"[:1024]


_OK = Verdict("Accepted")


def _no(code: str, detail: str) -> Verdict:
    return Verdict("Rejected", code, detail)


def _overlap(a: Profile, b: Profile) -> bool:
    a0, a1 = a.valid_from or -FOREVER, a.valid_to or FOREVER
    b0, b1 = b.valid_from or -FOREVER, b.valid_to or FOREVER
    return a0 < b1 and b0 < a1


def validate_profile(
    version: str,
    evse_id: int,
    profile: Any,
    *,
    installed: Sequence[tuple[int, Any]] = (),
    transaction: ActiveTransaction | Sequence[ActiveTransaction] | None = None,
    capabilities: Capabilities | None = None,
    now: _dt.datetime | None = None,
    last_set: Mapping[int | str, _dt.datetime] | None = None,
) -> Verdict:
    """Whether a station accepts ``profile`` (the version's typed profile) on ``evse_id``.

    Parameters:
        version: "1.6", "2.0.1" or "2.1".
        evse_id: the SetChargingProfile's evseId (1.6: connectorId).
        profile: the typed ChargingProfile(Type).
        installed: the ``(evse id, profile)`` pairs the station holds.
        transaction: the running transaction(s).
        capabilities: what the station supports (:class:`Capabilities`; None: the defaults).
        now: the time of the request (timezone-aware); needed with ``update_rate_limit``.
        last_set: when the last SetChargingProfile of each purpose (str keys) and/or profile
            id (int keys) was accepted, for ``Capabilities.update_rate_limit``.

    Raises:
        ValueError: an unknown version; ``now`` missing where the rate limit needs it.
    """
    if version not in VERSIONS:
        raise ValueError(f"version: must be one of {', '.join(VERSIONS)} (got {version!r})")
    caps = capabilities or Capabilities()
    p = normalize(version, evse_id, profile)
    txs = (
        {}
        if transaction is None
        else {t.evse_id: t for t in ([transaction] if isinstance(transaction, ActiveTransaction) else transaction)}
    )
    if evse_id < 0 or (evse_id != 0 and caps.evse_ids is not None and evse_id not in caps.evse_ids):
        return _no("EvseDoesNotExist", f"evseId {evse_id}: no such EVSE (K01.FR.28)")
    if caps.max_stack_level is not None and p.stack_level > caps.max_stack_level:
        return _no("ChargingProfileStackLevelTooHigh", f"stackLevel {p.stack_level}: above {caps.max_stack_level}")
    typed = schedules(version, profile)
    for i, schedule in enumerate(typed):
        q = p if i == 0 else normalize(version, evse_id, profile, i)
        verdict = _schedule_rules(version, evse_id, q, schedule, caps)
        if verdict is None and version == "2.1":
            got = period_rules(profile, schedule, caps.operation_modes, txs.get(evse_id))
            verdict = None if got is None else _no(*got)
        if verdict is not None:
            return verdict
    if version == "2.1":
        got = profile_rules(profile, typed, caps.additional_purposes, caps.supports)
        if got is not None:
            return _no(*got)
    if p.purpose == _MAX:
        if evse_id != 0:
            return _no(
                "ChargingStationMaxProfileEvseIdGreaterThanZero", "a station max profile goes on EVSE 0 (K01.FR.38)"
            )
        if p.kind == "Relative":
            return _no(
                "ChargingStationMaxProfileCannotBeRelative", "a station max profile cannot be Relative (K01.FR.38)"
            )
    if p.purpose == "ChargingStationExternalConstraints":
        return _no("InvalidProfileType", "ChargingStationExternalConstraints: not settable by the CSMS (K01.FR.22)")
    if p.purpose == "TxProfile":
        verdict = _tx_profile(version, evse_id, p, txs, installed)
        if verdict is not None:
            return verdict
    others = [normalize(version, e, q) for e, q in installed]
    if version != "1.6":
        for o in others:
            if o.id == p.id and o.purpose == "ChargingStationExternalConstraints":
                return _no(
                    "ExistingChargingStationExternalConstraints",
                    f"id {p.id}: held by an external-constraints profile (K01.FR.05)",
                )
        if caps.max_external_constraints_id is not None and p.id <= caps.max_external_constraints_id:
            return _no(
                "ChargingProfileIdSmallerThanMaxExternalConstraintsId",
                f"id {p.id}: must be above MaxExternalConstraintsId {caps.max_external_constraints_id} (K01.FR.81)",
            )
        for o in others:
            if o.id == p.id:
                continue  # the same id is replaced (K01.FR.05)
            if p.purpose == "TxDefaultProfile" and o.purpose == p.purpose and o.stack_level == p.stack_level:
                if (
                    {o.evse_id, p.evse_id} == {0, evse_id}
                    and evse_id != 0
                    and o.evse_id != p.evse_id
                    or (p.evse_id == 0 and o.evse_id != 0)
                ):
                    return _no(
                        "DuplicateTxDefaultProfileFound",
                        f"stackLevel {p.stack_level}: a TxDefaultProfile on EVSE {o.evse_id} already (K01.FR.53)",
                    )
            if (
                p.purpose != "TxProfile"
                and o.purpose == p.purpose
                and o.stack_level == p.stack_level
                and o.evse_id == p.evse_id
                and _overlap(o, p)
            ):
                return _no(
                    "DuplicateProfileValidityPeriod",
                    f"profile {o.id} has the same stackLevel, purpose and EVSE and overlaps (K01.FR.06)",
                )
    if version == "2.1":
        got = phase_to_use_conflict(p, others)
        if got is not None:
            return _no(*got)
        if caps.update_rate_limit is not None and last_set:
            limited = rate_limit(p, caps.update_rate_limit, caps.rate_limit_by, now, last_set)
            if limited is not None:
                return Verdict("Rejected", limited[0], limited[1], retry_after=limited[2])
    return _OK


def _schedule_rules(version: str, evse_id: int, q: Profile, schedule: Any, caps: Capabilities) -> Verdict | None:
    """The rules of one schedule (every schedule of a 2.x profile is checked)."""
    if q.unit not in caps.rate_units:
        return _no(
            "ChargingScheduleChargingRateUnitUnsupported", f"chargingRateUnit {q.unit}: not supported (K01.FR.26)"
        )
    if not q.periods:
        return _no("ChargingProfileNoChargingSchedulePeriods", "chargingSchedulePeriod: empty")
    if caps.max_periods is not None and len(q.periods) > caps.max_periods:
        return _no("ChargingScheduleTooManyPeriods", f"chargingSchedulePeriod: more than {caps.max_periods}")
    raw = [int(x.start_period) for x in schedule.charging_schedule_period]
    if raw[0] != 0:
        return _no(
            "ChargingProfileFirstStartScheduleIsNotZero", f"startPeriod {raw[0]}: the first must be 0 (K01.FR.31)"
        )
    if any(b <= a for a, b in zip(raw, raw[1:], strict=False)):
        return _no("ChargingSchedulePeriodsOutOfOrder", "startPeriod: must increase strictly (K01.FR.35)")
    for per in q.periods:
        if per.number_phases is not None and evse_id in caps.dc_evse_ids and version != "1.6":
            return _no("ChargingSchedulePeriodExtraneousPhaseValues", "numberPhases: not on a DC EVSE (K01.FR.44)")
        if per.number_phases is not None and per.number_phases > caps.supply_phases:
            return _no(
                "ChargingSchedulePeriodUnsupportedNumberPhases",
                f"numberPhases {per.number_phases}: above the supply's {caps.supply_phases} (K01.FR.45)",
            )
        if per.phase_to_use is not None:
            if per.number_phases != 1:
                return _no(
                    "ChargingSchedulePeriodInvalidPhaseToUse", "phaseToUse: only with numberPhases 1 (K01.FR.19)"
                )
            if not caps.phase_switching:
                return _no(
                    "ChargingSchedulePeriodPhaseToUseACPhaseSwitchingUnsupported",
                    "phaseToUse: ACPhaseSwitchingSupported is false (K01.FR.20)",
                )
    if q.kind in ("Absolute", "Recurring") and q.start_schedule is None:
        return _no("ChargingProfileMissingRequiredStartSchedule", f"startSchedule: required for {q.kind} (K01.FR.40)")
    if q.kind == "Relative" and q.start_schedule is not None and version != "1.6":
        return _no("ChargingProfileExtraneousStartSchedule", "startSchedule: not allowed for Relative (K01.FR.41)")
    return None


def _tx_profile(
    version: str, evse_id: int, p: Profile, txs: dict[int, ActiveTransaction], installed: Sequence[tuple[int, Any]]
) -> Verdict | None:
    if evse_id == 0:
        return _no("TxProfileEvseIdNotGreaterThanZero", "a TxProfile goes on an EVSE > 0 (K01.FR.16)")
    if p.transaction_id is None and version != "1.6":
        return _no("TxProfileMissingTransactionId", "transactionId: required in a TxProfile (K01.FR.03)")
    tx = txs.get(evse_id)
    if tx is None:
        return _no("TxProfileEvseHasNoActiveTransaction", f"EVSE {evse_id}: no transaction runs (K01.FR.09)")
    if p.transaction_id is not None and p.transaction_id != str(tx.transaction_id):
        return _no(
            "TxProfileTransactionNotOnEvse",
            f"transactionId {p.transaction_id}: not the one on EVSE {evse_id} (K01.FR.33)",
        )
    if version != "1.6":
        for e, q in installed:
            o = normalize(version, e, q)
            if (
                o.purpose == "TxProfile"
                and o.id != p.id
                and o.stack_level == p.stack_level
                and o.transaction_id == p.transaction_id
            ):
                return _no(
                    "TxProfileConflictingStackLevel", f"stackLevel {p.stack_level}: taken by profile {o.id} (K01.FR.39)"
                )
    return None
