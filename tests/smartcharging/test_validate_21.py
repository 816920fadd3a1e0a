"""validate_profile, the 2.1 rules: one case per new rejection reason, and the accepted counterparts."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import msgspec
import pytest

from ocppkit import smartcharging as sc
from ocppkit.v21 import datatypes as d21
from ocppkit.v21 import messages as m21

from .build import MAX, P, at, typed

T0 = at("2024-06-01T00:00")
TXD = P(10, "TxDefaultProfile", 1, "Absolute", [(0, 16)], start=T0)
TXP = P(11, "TxProfile", 1, "Relative", [(0, 16)], tx="tx-1")
TX = sc.ActiveTransaction(evse_id=1, transaction_id="tx-1", started_at=T0)
TX_PHASED = replace(TX, ev_per_phase=True)
NONE = sc.Capabilities(additional_purposes=(), supports=(), operation_modes=())
FREQ = [d21.V2XFreqWattPointType(frequency=49.8, power=-3000.0), d21.V2XFreqWattPointType(frequency=50.2, power=3000.0)]


def schedule(profile: Any, **kw: Any) -> Any:
    """``profile`` (typed 2.1) with its first schedule's fields changed."""
    first = msgspec.structs.replace(profile.charging_schedule[0], **kw)
    return msgspec.structs.replace(profile, charging_schedule=[first, *profile.charging_schedule[1:]])


def check(
    profile: Any,
    code: str,
    *,
    evse: int = 1,
    caps: sc.Capabilities = NONE,
    tx: sc.ActiveTransaction | None = TX,
    installed: list[tuple[int, Any]] | None = None,
) -> sc.Verdict:
    v = sc.validate_profile("2.1", evse, profile, installed=installed or [], transaction=tx, capabilities=caps)
    if code:
        assert (v.status, v.reason_code) == ("Rejected", code), v
        assert v.detail and v.wire_reason and len(v.wire_reason) <= 20
    else:
        assert v.accepted, v
    return v


def mode(p: P, name: str, **more: Any) -> P:
    return replace(p, extra=[{"operation_mode": name, **more}])


# (name, profile, capabilities, reason code, statusInfo.reasonCode)
MODES: list[tuple[str, P, sc.Capabilities, str, str]] = [
    (
        "priority charging is ChargingOnly",
        P(12, "PriorityCharging", 0, "Absolute", [(0, 32)], start=T0, extra=[{"operation_mode": "ExternalLimits"}]),
        sc.Capabilities(),
        "ChargingSchedulePeriodPriorityChargingNotChargingOnly",
        "InvalidOperationMode",
    ),
    (
        "local generation allows no setpoint mode",
        P(13, "LocalGeneration", 0, "Absolute", [(0, 32)], start=T0, extra=[{"operation_mode": "CentralSetpoint"}]),
        sc.Capabilities(),
        "ChargingSchedulePeriodUnsupportedOperationMode",
        "InvalidOperationMode",
    ),
    (
        "a mode not in SupportedOperationModes",
        mode(TXD, "ExternalLimits"),
        sc.Capabilities(operation_modes=("CentralSetpoint",)),
        "ChargingSchedulePeriodOperationModeNotInSupportedList",
        "InvalidOperationMode",
    ),
    (
        "LocalFrequency in A",
        mode(replace(TXD, periods=[(0, None)]), "LocalFrequency", v2x_baseline=0.0),
        sc.Capabilities(),
        "ChargingScheduleChargingRateUnitUnsupported",
        "UnsupportedRateUnit",
    ),
    (
        "LocalFrequency without a curve",
        mode(replace(TXD, unit="W", periods=[(0, None)]), "LocalFrequency", v2x_baseline=0.0),
        sc.Capabilities(),
        "ChargingSchedulePeriodNoFreqWattCurve",
        "NoFreqWattCurve",
    ),
    (
        "a setpoint in ChargingOnly",
        replace(TXD, extra=[{"setpoint": 8.0}]),
        sc.Capabilities(),
        "ChargingSchedulePeriodUnsupportedLimitSetpoint",
        "InvalidSchedule",
    ),
    (
        "CentralSetpoint without a setpoint",
        mode(TXD, "CentralSetpoint"),
        sc.Capabilities(),
        "ChargingSchedulePeriodUnsupportedLimitSetpoint",
        "InvalidSchedule",
    ),
    (
        "a setpoint outside [dischargeLimit, limit]",
        mode(TXD, "CentralSetpoint", setpoint=20.0),
        sc.Capabilities(),
        "ChargingSchedulePeriodSetpointOutOfRange",
        "InvalidSchedule",
    ),
]


@pytest.mark.parametrize(("name", "p", "caps", "code", "wire"), MODES, ids=[c[0] for c in MODES])
def test_operation_mode_rules(name: str, p: P, caps: sc.Capabilities, code: str, wire: str) -> None:
    evse = 0 if p.purpose == "LocalGeneration" else 1
    v = check(typed("2.1", p), code, evse=evse, caps=caps)
    assert v.wire_reason == wire


def test_allowed_modes_are_accepted() -> None:
    ok = mode(TXD, "CentralSetpoint", setpoint=-4.0, discharge_limit=-10.0)
    check(typed("2.1", ok), "", caps=sc.Capabilities(operation_modes=("CentralSetpoint",)))
    check(typed("2.1", ok), "", caps=sc.Capabilities())  # None: every mode supported
    freq = mode(
        replace(TXD, unit="W", periods=[(0, None)]), "LocalFrequency", v2x_baseline=0.0, v2x_freq_watt_curve=FREQ
    )
    check(typed("2.1", freq), "", caps=sc.Capabilities(operation_modes=("LocalFrequency",)))
    external = replace(
        TXD, purpose="ChargingStationExternalConstraints", extra=[{"operation_mode": "ExternalSetpoint"}]
    )
    # modes aside, the CSMS may not set external constraints (K01.FR.22)
    check(typed("2.1", external), "InvalidProfileType", caps=sc.Capabilities())


PHASES: list[tuple[str, P, sc.ActiveTransaction | None, str]] = [
    (
        "per-phase values in a TxDefaultProfile",
        replace(TXD, extra=[{"limit_l2": 10.0}]),
        TX_PHASED,
        "only in a TxProfile",
    ),
    (
        "limit_L2 without limit",
        replace(TXP, periods=[(0, None)], extra=[{"limit_l2": 10.0, "operation_mode": "ExternalLimits"}]),
        TX_PHASED,
        "only together with limit",
    ),
    ("before the EV reported per-phase values", replace(TXP, extra=[{"limit_l2": 10.0}]), TX, "has not reported"),
]


@pytest.mark.parametrize(("name", "p", "tx", "why"), PHASES, ids=[c[0] for c in PHASES])
def test_per_phase_values_phase_conflict(name: str, p: P, tx: sc.ActiveTransaction | None, why: str) -> None:
    v = check(typed("2.1", p), "ChargingSchedulePeriodPhaseConflict", tx=tx, caps=sc.Capabilities())
    assert v.wire_reason == "PhaseConflict" and why in v.detail


def test_per_phase_values_accepted_once_the_ev_reported_them() -> None:
    check(
        typed("2.1", replace(TXP, extra=[{"limit_l2": 10.0, "limit_l3": 12.0}])),
        "",
        tx=TX_PHASED,
        caps=sc.Capabilities(),
    )


def test_a_phase_to_use_other_than_an_applicable_profile_is_a_phase_conflict() -> None:
    caps = sc.Capabilities(phase_switching=True)
    on_l2 = replace(TXD, id=20, level=0, phases=[1], extra=[{"phase_to_use": 2}])
    on_l3 = replace(TXD, phases=[1], extra=[{"phase_to_use": 3}])
    installed = [(0, typed("2.1", on_l2))]
    v = check(typed("2.1", on_l3), "ChargingSchedulePeriodPhaseConflict", caps=caps, installed=installed)
    assert "K01.FR.141" in v.detail
    check(typed("2.1", replace(on_l3, extra=[{"phase_to_use": 2}])), "", caps=caps, installed=installed)


FEATURES: list[tuple[str, Any, str, str]] = [
    (
        "PriorityCharging not supported",
        typed("2.1", P(12, "PriorityCharging", 0, "Absolute", [(0, 32)], start=T0)),
        "ChargingProfileUnsupportedPurpose",
        "UnsupportedPurpose",
    ),
    (
        "Dynamic not supported",
        typed("2.1", P(12, "TxDefaultProfile", 0, "Dynamic", [(0, 32)])),
        "ChargingProfileUnsupportedKind",
        "UnsupportedKind",
    ),
    (
        "dynUpdateTime on an Absolute profile",
        msgspec.structs.replace(typed("2.1", TXD), dyn_update_time=T0),
        "ChargingProfileNotDynamic",
        "InvalidProfile",
    ),
    ("useLocalTime", schedule(typed("2.1", TXD), use_local_time=True), "ChargingScheduleUnsupportedLocalTime", ""),
    (
        "randomizedDelay",
        schedule(typed("2.1", TXD), randomized_delay=60),
        "ChargingScheduleUnsupportedRandomizedDelay",
        "",
    ),
    (
        "limitAtSoC",
        schedule(typed("2.1", TXD), limit_at_soc=d21.LimitAtSoCType(soc=80, limit=8.0)),
        "ChargingScheduleUnsupportedLimitAtSoC",
        "",
    ),
    (
        "evseSleep",
        typed("2.1", replace(TXD, extra=[{"evse_sleep": True}])),
        "ChargingScheduleUnsupportedEvseSleep",
        "",
    ),
]


@pytest.mark.parametrize(("name", "profile", "code", "wire"), FEATURES, ids=[c[0] for c in FEATURES])
def test_unsupported_21_features_and_purposes(name: str, profile: Any, code: str, wire: str) -> None:
    v = check(profile, code, caps=NONE)
    assert v.wire_reason == (wire or "InvalidSchedule")
    check(profile, "ChargingProfileNotDynamic" if code == "ChargingProfileNotDynamic" else "", caps=sc.Capabilities())


def test_randomized_delay_only_in_tx_and_txdefault_profiles() -> None:
    mx = schedule(typed("2.1", P(12, MAX["2.1"], 0, "Absolute", [(0, 32)], start=T0)), randomized_delay=60)
    check(mx, "ChargingScheduleRandomizedDelay", evse=0, caps=sc.Capabilities())
    check(schedule(typed("2.1", TXD), randomized_delay=60), "", caps=sc.Capabilities())


def test_every_schedule_of_an_iso15118_profile_is_checked() -> None:
    p = typed("2.1", TXD)
    bad = msgspec.structs.replace(
        p.charging_schedule[0],
        id=2,
        charging_schedule_period=[d21.ChargingSchedulePeriodType(start_period=5, limit=8.0)],
    )
    both = msgspec.structs.replace(p, charging_schedule=[p.charging_schedule[0], bad])
    check(both, "ChargingProfileFirstStartScheduleIsNotZero", caps=sc.Capabilities())


def test_rate_limit_exceeded_gives_the_retry_delay() -> None:
    caps = sc.Capabilities(update_rate_limit=300)
    now = at("2024-06-01T10:00")
    recent = {"TxDefaultProfile": now - dt.timedelta(seconds=120)}
    v = sc.validate_profile("2.1", 1, typed("2.1", TXD), capabilities=caps, now=now, last_set=recent)
    assert (v.reason_code, v.wire_reason, v.retry_after, v.additional_info) == (
        "ChargingProfileRateLimitExceeded",
        "RateLimitExceeded",
        180,
        "180",
    )
    info = m21.SetChargingProfileResponse(
        status="Rejected", status_info=d21.StatusInfoType(reason_code=v.wire_reason, additional_info=v.additional_info)
    )
    assert b'"reasonCode":"RateLimitExceeded"' in msgspec.json.encode(info)
    later = sc.validate_profile(
        "2.1", 1, typed("2.1", TXD), capabilities=caps, now=now + dt.timedelta(seconds=180), last_set=recent
    )
    assert later.accepted
    by_id = sc.Capabilities(update_rate_limit=300, rate_limit_by="id")
    assert sc.validate_profile("2.1", 1, typed("2.1", TXD), capabilities=by_id, now=now, last_set=recent).accepted
    assert not sc.validate_profile(
        "2.1", 1, typed("2.1", TXD), capabilities=by_id, now=now, last_set={10: now}
    ).accepted
    with pytest.raises(ValueError, match="now"):
        sc.validate_profile("2.1", 1, typed("2.1", TXD), capabilities=caps, last_set=recent)


def test_capabilities_reject_unknown_names() -> None:
    with pytest.raises(ValueError, match="supports"):
        sc.Capabilities(supports=("Teleportation",))
    with pytest.raises(ValueError, match="rate_limit_by"):
        sc.Capabilities(rate_limit_by="evse")


def test_every_reason_code_has_a_wire_reason_of_at_most_20_characters() -> None:
    from ocppkit.smartcharging._validate import WIRE_REASONS

    assert all(len(w) <= 20 for w in WIRE_REASONS.values())
    v = sc.validate_profile("2.0.1", 7, typed("2.0.1", TXD), capabilities=sc.Capabilities(evse_ids={1}))
    assert (v.wire_reason, v.additional_info) == ("UnknownEvse", f"EvseDoesNotExist: {v.detail}")


def test_a_phase_conflict_names_the_field_as_on_the_wire() -> None:
    p = replace(TXP, extra=[{"discharge_limit_l2": -4.0}])
    v = check(typed("2.1", p), "ChargingSchedulePeriodPhaseConflict", tx=TX_PHASED, caps=sc.Capabilities())
    assert "dischargeLimit_L2: only together with dischargeLimit" in v.detail


def test_non_finite_values_and_setpoints_of_both_signs_are_refused() -> None:
    nan = mode(TXD, "CentralSetpoint", setpoint=float("nan"))
    check(typed("2.1", nan), "ChargingSchedulePeriodNonFiniteValue", caps=sc.Capabilities())
    signs = mode(TXP, "CentralSetpoint", setpoint=4.0, setpoint_l2=-2.0)
    check(typed("2.1", signs), "ChargingSchedulePeriodSignDifference", tx=TX_PHASED, caps=sc.Capabilities())
