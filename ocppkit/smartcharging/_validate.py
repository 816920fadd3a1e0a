"""SetChargingProfile validation (2.x K01; 1.6 §5.16): Accepted, or Rejected with a reason code.

The reason codes are libocpp's ``ProfileValidationResultEnum`` names (a de-facto vocabulary for
``statusInfo.reasonCode``); each rule cites its requirement.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ._model import FOREVER, VERSIONS, ActiveTransaction, Profile
from ._normalize import normalize

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
    """

    evse_ids: Collection[int] | None = None
    rate_units: Collection[str] = ("A", "W")
    max_stack_level: int | None = None
    max_periods: int | None = None
    supply_phases: int = 3
    dc_evse_ids: Collection[int] = ()
    phase_switching: bool = False
    max_external_constraints_id: int | None = None


@dataclass(frozen=True)
class Verdict:
    """The answer to a SetChargingProfile.

    Attributes:
        status: "Accepted" or "Rejected".
        reason_code: why it was rejected (None when accepted).
        detail: a sentence naming the field and the rule.
    """

    status: str
    reason_code: str | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        """Whether the status is Accepted."""
        return self.status == "Accepted"


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
) -> Verdict:
    """Whether a station accepts ``profile`` (the version's typed profile) on ``evse_id``.

    Parameters:
        version: "1.6", "2.0.1" or "2.1".
        evse_id: the SetChargingProfile's evseId (1.6: connectorId).
        profile: the typed ChargingProfile(Type).
        installed: the ``(evse id, profile)`` pairs the station holds.
        transaction: the running transaction(s).
        capabilities: what the station supports (:class:`Capabilities`; None: the defaults).
        now: unused by the rules so far; reserved for validity checks against the clock.
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
    if p.unit not in caps.rate_units:
        return _no(
            "ChargingScheduleChargingRateUnitUnsupported", f"chargingRateUnit {p.unit}: not supported (K01.FR.26)"
        )
    if caps.max_stack_level is not None and p.stack_level > caps.max_stack_level:
        return _no("ChargingProfileStackLevelTooHigh", f"stackLevel {p.stack_level}: above {caps.max_stack_level}")
    if not p.periods:
        return _no("ChargingProfileNoChargingSchedulePeriods", "chargingSchedulePeriod: empty")
    if caps.max_periods is not None and len(p.periods) > caps.max_periods:
        return _no("ChargingScheduleTooManyPeriods", f"chargingSchedulePeriod: more than {caps.max_periods}")
    raw = [int(x.start_period) for x in _periods(version, profile)]
    if raw[0] != 0:
        return _no(
            "ChargingProfileFirstStartScheduleIsNotZero", f"startPeriod {raw[0]}: the first must be 0 (K01.FR.31)"
        )
    if any(b <= a for a, b in zip(raw, raw[1:], strict=False)):
        return _no("ChargingSchedulePeriodsOutOfOrder", "startPeriod: must increase strictly (K01.FR.35)")
    for per in p.periods:
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
    if p.kind in ("Absolute", "Recurring") and p.start_schedule is None:
        return _no("ChargingProfileMissingRequiredStartSchedule", f"startSchedule: required for {p.kind} (K01.FR.40)")
    if p.kind == "Relative" and p.start_schedule is not None and version != "1.6":
        return _no("ChargingProfileExtraneousStartSchedule", "startSchedule: not allowed for Relative (K01.FR.41)")
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
    return _OK


def _periods(version: str, profile: Any) -> Sequence[Any]:
    schedule = profile.charging_schedule if version == "1.6" else profile.charging_schedule[0]
    return list(schedule.charging_schedule_period)


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
