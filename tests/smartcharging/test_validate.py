"""validate_profile: one case per rejection reason, and the accepted counterparts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ocppkit import smartcharging as sc

from .build import MAX, P, at, typed

T0 = at("2024-06-01T00:00")
TXD = P(10, "TxDefaultProfile", 1, "Absolute", [(0, 16)], start=T0)
TXP = P(11, "TxProfile", 1, "Relative", [(0, 16)], tx="tx-1")
TX = sc.ActiveTransaction(evse_id=1, transaction_id="tx-1", started_at=T0)
CAPS = sc.Capabilities(
    evse_ids={1, 2}, rate_units=("A",), max_stack_level=5, max_periods=3, dc_evse_ids={2}, max_external_constraints_id=5
)

# (name, evse, profile, installed, reason code)
CASES: list[tuple[str, int, P, list[tuple[int, P]], str]] = [
    ("unknown EVSE", 7, TXD, [], "EvseDoesNotExist"),
    ("unit", 1, replace(TXD, unit="W"), [], "ChargingScheduleChargingRateUnitUnsupported"),
    ("stack level", 1, replace(TXD, level=6), [], "ChargingProfileStackLevelTooHigh"),
    (
        "too many periods",
        1,
        replace(TXD, periods=[(0, 1), (1, 2), (2, 3), (3, 4)]),
        [],
        "ChargingScheduleTooManyPeriods",
    ),
    ("first startPeriod", 1, replace(TXD, periods=[(10, 16)]), [], "ChargingProfileFirstStartScheduleIsNotZero"),
    ("order", 1, replace(TXD, periods=[(0, 16), (60, 8), (60, 9)]), [], "ChargingSchedulePeriodsOutOfOrder"),
    ("phases on DC", 2, replace(TXD, phases=[3]), [], "ChargingSchedulePeriodExtraneousPhaseValues"),
    ("numberPhases", 1, replace(TXD, phases=[3]), [], ""),  # accepted: 3 <= the supply's 3
    ("missing startSchedule", 1, replace(TXD, start=None), [], "ChargingProfileMissingRequiredStartSchedule"),
    ("Relative with startSchedule", 1, replace(TXP, start=T0), [], "ChargingProfileExtraneousStartSchedule"),
    (
        "Max on an EVSE",
        1,
        P(12, MAX["2.0.1"], 0, "Absolute", [(0, 32)], start=T0),
        [],
        "ChargingStationMaxProfileEvseIdGreaterThanZero",
    ),
    ("Max Relative", 0, P(12, MAX["2.0.1"], 0, "Relative", [(0, 32)]), [], "ChargingStationMaxProfileCannotBeRelative"),
    ("External by the CSMS", 1, replace(TXD, purpose="ChargingStationExternalConstraints"), [], "InvalidProfileType"),
    ("TxProfile on EVSE 0", 0, TXP, [], "TxProfileEvseIdNotGreaterThanZero"),
    ("TxProfile without transactionId", 1, replace(TXP, tx=None), [], "TxProfileMissingTransactionId"),
    ("TxProfile of another transaction", 1, replace(TXP, tx="tx-9"), [], "TxProfileTransactionNotOnEvse"),
    ("TxProfile stack clash", 1, TXP, [(1, replace(TXP, id=20))], "TxProfileConflictingStackLevel"),
    ("TxDefault at 0 and N", 1, TXD, [(0, replace(TXD, id=21))], "DuplicateTxDefaultProfileFound"),
    ("overlapping duplicate", 1, TXD, [(1, replace(TXD, id=22))], "DuplicateProfileValidityPeriod"),
    (
        "id of an external constraint",
        1,
        TXD,
        [(1, replace(TXD, purpose="ChargingStationExternalConstraints"))],
        "ExistingChargingStationExternalConstraints",
    ),
    (
        "id <= MaxExternalConstraintsId",
        1,
        replace(TXD, id=5),
        [],
        "ChargingProfileIdSmallerThanMaxExternalConstraintsId",
    ),
    ("same id replaces", 1, TXD, [(1, replace(TXD, periods=[(0, 8)]))], ""),
    (
        "disjoint validity",
        1,
        replace(TXD, valid_to=at("2024-07-01T00:00")),
        [(1, replace(TXD, id=23, valid_from=at("2024-07-01T00:00")))],
        "",
    ),
    ("accepted TxProfile", 1, TXP, [], ""),
]


@pytest.mark.parametrize(("name", "evse", "profile", "installed", "code"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_2x_rules(version: str, name: str, evse: int, profile: P, installed: list[tuple[int, P]], code: str) -> None:
    v = sc.validate_profile(
        version,
        evse,
        typed(version, profile),
        installed=[(e, typed(version, q)) for e, q in installed],
        transaction=TX,
        capabilities=CAPS,
    )
    if code:
        assert (v.status, v.reason_code) == ("Rejected", code), v
        assert v.detail and not v.accepted
    else:
        assert v.accepted, v


def test_a_txprofile_without_a_transaction() -> None:
    v = sc.validate_profile("2.0.1", 1, typed("2.0.1", TXP))
    assert v.reason_code == "TxProfileEvseHasNoActiveTransaction"


def test_phase_to_use_rules() -> None:
    one = replace(TXD, phases=[1], extra=[{"phase_to_use": 2}])
    three = replace(TXD, phases=[3], extra=[{"phase_to_use": 2}])
    kw: dict[str, Any] = {"capabilities": sc.Capabilities()}
    assert sc.validate_profile("2.0.1", 1, typed("2.0.1", three), **kw).reason_code == (
        "ChargingSchedulePeriodInvalidPhaseToUse"
    )
    assert sc.validate_profile("2.0.1", 1, typed("2.0.1", one), **kw).reason_code == (
        "ChargingSchedulePeriodPhaseToUseACPhaseSwitchingUnsupported"
    )
    ok = sc.validate_profile("2.0.1", 1, typed("2.0.1", one), capabilities=sc.Capabilities(phase_switching=True))
    assert ok.accepted
    two_supply = sc.validate_profile(
        "2.0.1", 1, typed("2.0.1", replace(TXD, phases=[3])), capabilities=sc.Capabilities(supply_phases=1)
    )
    assert two_supply.reason_code == "ChargingSchedulePeriodUnsupportedNumberPhases"


CASES_16: list[tuple[str, int, P, str]] = [
    ("unknown connector", 7, TXD, "EvseDoesNotExist"),
    ("unit", 1, replace(TXD, unit="W"), "ChargingScheduleChargingRateUnitUnsupported"),
    ("first startPeriod", 1, replace(TXD, periods=[(10, 16)]), "ChargingProfileFirstStartScheduleIsNotZero"),
    (
        "Max on a connector",
        1,
        P(12, MAX["2.0.1"], 0, "Absolute", [(0, 32)], start=T0),
        "ChargingStationMaxProfileEvseIdGreaterThanZero",
    ),
    ("TxProfile on connector 0", 0, replace(TXP, tx="1"), "TxProfileEvseIdNotGreaterThanZero"),
    ("TxProfile of another transaction", 1, replace(TXP, tx="9"), "TxProfileTransactionNotOnEvse"),
    ("TxProfile without transactionId is for the running one", 1, replace(TXP, tx=None), ""),
    ("a same-stack duplicate replaces in 1.6", 1, TXD, ""),
]


@pytest.mark.parametrize(("name", "evse", "profile", "code"), CASES_16, ids=[c[0] for c in CASES_16])
def test_16_rules(name: str, evse: int, profile: P, code: str) -> None:
    tx = sc.ActiveTransaction(evse_id=1, transaction_id=1, started_at=T0)
    installed = [(1, typed("1.6", replace(TXD, id=30)))]
    v = sc.validate_profile("1.6", evse, typed("1.6", profile), installed=installed, transaction=tx, capabilities=CAPS)
    assert (v.reason_code or "") == code, v
