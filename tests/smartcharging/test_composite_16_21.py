"""OCPP 1.6 and 2.1 composite schedules on the same engine, expected values by hand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from msgspec import UNSET

from ocppkit import smartcharging as sc

from .build import MAX, P, at, limits, typed

TXD, TX, EXT = "TxDefaultProfile", "TxProfile", "ChargingStationExternalConstraints"
E1 = P(
    1,
    TXD,
    0,
    "Recurring",
    [(0, 11000), (28800, 6000), (72000, 11000)],
    unit="W",
    start=at("2013-01-01T00:00"),
    duration=86400,
    recurrency="Daily",
)


def build(version: str, profiles: list[tuple[int, P]]) -> list[tuple[int, Any]]:
    return [(e, typed(version, p)) for e, p in profiles]


# ------------------------------------------------------------------ 1.6


def test_16_e1_e2_a_chargingschedule_rounded_down_to_a_tenth() -> None:
    s = sc.composite_schedule(
        "1.6", build("1.6", [(1, E1)]), evse_id=1, start=at("2013-03-05T07:00"), duration=7200, unit="A"
    )
    # 15.942 -> 15.9 and 8.696 -> 8.6 (down, never above the limit)
    assert limits(s) == [(0, 15.9), (3600, 8.6)]
    assert s.start_schedule == at("2013-03-05T07:00") and s.duration == 7200
    assert s.charging_rate_unit == "A"
    w = sc.composite_schedule(
        "1.6", build("1.6", [(1, E1)]), evse_id=1, start=at("2013-03-05T19:30"), duration=3600, unit="W"
    )
    assert limits(w) == [(0, 6000), (1800, 11000)]


def test_16_chargepointmax_on_connector_0_and_a_txprofile_of_the_transaction() -> None:
    mx = P(1, MAX["2.0.1"], 0, "Absolute", [(0, 24)], start=at("2024-01-01T00:00"))
    txd = P(2, TXD, 0, "Absolute", [(0, 16)], start=at("2024-01-01T00:00"))
    txp = P(3, TX, 1, "Relative", [(0, 32), (600, 8)], tx="42")
    profiles = build("1.6", [(0, mx), (0, txd), (1, txp)])
    assert profiles[0][1].charging_profile_purpose == "ChargePointMaxProfile"
    tx = sc.ActiveTransaction(evse_id=1, transaction_id=42, started_at=at("2024-06-01T10:00"))
    s = sc.composite_schedule(
        "1.6", profiles, evse_id=1, start=at("2024-06-01T10:05"), duration=900, unit="A", transaction=tx
    )
    assert limits(s) == [(0, 24), (300, 8)]
    other = sc.ActiveTransaction(evse_id=1, transaction_id=7, started_at=at("2024-06-01T10:00"))
    s2 = sc.composite_schedule(
        "1.6", profiles, evse_id=1, start=at("2024-06-01T10:05"), duration=900, unit="A", transaction=other
    )
    assert limits(s2) == [(0, 16)]


def test_16_a_connector_profile_replaces_the_connector_0_one_at_its_level() -> None:
    at0 = P(1, TXD, 1, "Absolute", [(0, 10)], start=at("2024-01-01T00:00"))
    at1 = P(2, TXD, 1, "Absolute", [(0, 20)], start=at("2024-01-01T00:00"))
    s = sc.composite_schedule(
        "1.6", build("1.6", [(0, at0), (1, at1)]), evse_id=1, start=at("2024-06-01T10:00"), duration=60, unit="A"
    )
    assert limits(s) == [(0, 20)]


def test_16_rounding_merges_neighbours_that_become_equal() -> None:
    p = P(1, TXD, 0, "Absolute", [(0, 6900), (60, 6920)], unit="W", start=at("2024-06-01T10:00"))
    s = sc.composite_schedule(
        "1.6", build("1.6", [(1, p)]), evse_id=1, start=at("2024-06-01T10:00"), duration=120, unit="A"
    )
    assert limits(s) == [(0, 10.0)]  # 10.0 and 10.028 -> 10.0


def test_16_unconstrained_raises_and_a_default_limit_fills() -> None:
    with pytest.raises(sc.UnconstrainedError):
        sc.composite_schedule("1.6", [], evse_id=1, start=at("2024-06-01T10:00"), duration=60, unit="A")
    s = sc.composite_schedule(
        "1.6", [], evse_id=1, start=at("2024-06-01T10:00"), duration=60, unit="A", default_limit=32.0
    )
    assert limits(s) == [(0, 32.0)]


# ------------------------------------------------------------------ 2.1


def test_21_e9_discharge_and_setpoint_combination() -> None:
    start = at("2024-01-01T00:00")
    txp = P(
        1,
        TX,
        0,
        "Absolute",
        [(0, 11000)],
        unit="W",
        start=start,
        tx="tx-1",
        extra=[{"discharge_limit": -7000, "setpoint": -5000}],
    )
    ext = P(2, EXT, 0, "Absolute", [(0, 11000)], unit="W", start=start, extra=[{"discharge_limit": -3000}])
    mx = P(3, MAX["2.1"], 0, "Absolute", [(0, 22000)], unit="W", start=start)
    tx = sc.ActiveTransaction(evse_id=1, transaction_id="tx-1", started_at=at("2024-06-01T09:00"))
    s = sc.composite_schedule(
        "2.1",
        build("2.1", [(1, txp), (1, ext), (0, mx)]),
        evse_id=1,
        start=at("2024-06-01T10:00"),
        duration=600,
        unit="W",
        transaction=tx,
    )
    (p,) = s.charging_schedule_period
    assert (p.limit, p.discharge_limit, p.setpoint) == (11000, -3000, -3000)


def test_21_positive_setpoints_take_the_least_capped_by_the_limit() -> None:
    start = at("2024-01-01T00:00")
    a = P(1, TXD, 0, "Absolute", [(0, 20)], start=start, extra=[{"setpoint": 18}])
    b = P(2, EXT, 0, "Absolute", [(0, 12)], start=start, extra=[{"setpoint": 16}])
    s = sc.composite_schedule(
        "2.1", build("2.1", [(1, a), (1, b)]), evse_id=1, start=at("2024-06-01T10:00"), duration=60, unit="A"
    )
    (p,) = s.charging_schedule_period
    assert (p.limit, p.setpoint) == (12, 12)  # min(18, 16) = 16, capped by the limit 12


def test_21_per_phase_limits_combine_per_phase_and_appear_only_when_given() -> None:
    start = at("2024-01-01T00:00")
    txp = P(1, TX, 0, "Absolute", [(0, 16)], start=start, tx="tx-1", extra=[{"limit_l2": 10, "limit_l3": 14}])
    mx = P(2, MAX["2.1"], 0, "Absolute", [(0, 13)], start=start)
    tx = sc.ActiveTransaction(evse_id=1, transaction_id="tx-1", started_at=at("2024-06-01T09:00"))
    kw: dict[str, Any] = {"evse_id": 1, "start": at("2024-06-01T10:00"), "duration": 60, "unit": "A"}
    s = sc.composite_schedule("2.1", build("2.1", [(1, txp), (0, mx)]), transaction=tx, **kw)
    (p,) = s.charging_schedule_period
    assert (p.limit, p.limit_l2, p.limit_l3) == (13, 10, 13)
    plain = sc.composite_schedule("2.1", build("2.1", [(0, mx)]), **kw)
    assert plain.charging_schedule_period[0].limit_l2 is UNSET


def test_21_a_dynamic_profile_expires_after_its_duration_since_the_update() -> None:
    base = P(1, TXD, 0, "Absolute", [(0, 32)], start=at("2024-01-01T00:00"))
    dyn = P(2, TXD, 1, "Dynamic", [(0, 8)], duration=600, dyn_update_time=at("2024-06-01T09:55"))
    s = sc.composite_schedule(
        "2.1", build("2.1", [(1, base), (1, dyn)]), evse_id=1, start=at("2024-06-01T10:00"), duration=900, unit="A"
    )
    assert limits(s) == [(0, 8), (300, 32)]
    forever = P(3, TXD, 1, "Dynamic", [(0, 8)], dyn_update_time=at("2024-06-01T09:55"))
    s2 = sc.composite_schedule(
        "2.1", build("2.1", [(1, base), (1, forever)]), evse_id=1, start=at("2024-06-01T10:00"), duration=900, unit="A"
    )
    assert limits(s2) == [(0, 8)]


def test_21_priority_charging_replaces_tx_profiles_while_active() -> None:
    start = at("2024-01-01T00:00")
    txp = P(1, TX, 3, "Absolute", [(0, 10)], start=start, tx="tx-1")
    prio = P(2, "PriorityCharging", 0, "Absolute", [(0, 32)], start=start)
    mx = P(3, MAX["2.1"], 0, "Absolute", [(0, 25)], start=start)
    tx = sc.ActiveTransaction(evse_id=1, transaction_id="tx-1", started_at=at("2024-06-01T09:00"))
    profiles = build("2.1", [(1, txp), (1, prio), (0, mx)])
    kw: dict[str, Any] = {"evse_id": 1, "start": at("2024-06-01T10:00"), "duration": 60, "unit": "A", "transaction": tx}
    assert limits(sc.composite_schedule("2.1", profiles, **kw)) == [(0, 10)]
    assert limits(sc.composite_schedule("2.1", profiles, priority_charging=True, **kw)) == [(0, 25)]


def test_21_local_generation_is_one_more_limit_in_the_minimum() -> None:
    start = at("2024-01-01T00:00")
    txd = P(1, TXD, 0, "Absolute", [(0, 16)], start=start)
    gen = P(2, "LocalGeneration", 0, "Absolute", [(0, 10), (300, 20)], start=at("2024-06-01T10:00"))
    s = sc.composite_schedule(
        "2.1", build("2.1", [(1, txd), (0, gen)]), evse_id=1, start=at("2024-06-01T10:00"), duration=600, unit="A"
    )
    assert limits(s) == [(0, 10), (300, 16)]


def test_21_unconstrained_periods_omit_the_limit() -> None:
    p = P(1, TXD, 0, "Absolute", [(0, 10)], start=at("2024-06-01T10:05"))
    s = sc.composite_schedule(
        "2.1", build("2.1", [(1, p)]), evse_id=1, start=at("2024-06-01T10:00"), duration=600, unit="A"
    )
    assert limits(s) == [(0, None), (300, 10)]


def test_21_randomized_delays_shift_the_periods_and_an_overtaken_period_is_skipped() -> None:
    t0 = at("2024-06-01T10:00")
    p = P(1, TXD, 0, "Absolute", [(0, 6.0), (50, 10.0), (80, 16.0)], start=t0, randomized_delay=120)
    kw: dict[str, Any] = {"evse_id": 1, "start": t0, "duration": 300, "unit": "A"}
    profiles = build("2.1", [(1, p)])
    plain = sc.composite("2.1", profiles, **kw)
    assert [(x.start_period, x.limit) for x in plain.periods] == [(0, 6.0), (50, 10.0), (80, 16.0)]
    same = sc.composite("2.1", profiles, randomized_delays={1: 30}, **kw)
    assert [(x.start_period, x.limit) for x in same.periods] == [(0, 6.0), (80, 10.0), (110, 16.0)]
    # 50 + 100 = 150 comes after 80 + 0: the 10 A period is overtaken and skipped (K01.FR.97)
    overtaken = sc.composite("2.1", profiles, randomized_delays={1: [100, 0]}, **kw)
    assert [(x.start_period, x.limit) for x in overtaken.periods] == [(0, 6.0), (80, 16.0)]
    with pytest.raises(ValueError, match="within 0..randomizedDelay"):
        sc.composite("2.1", profiles, randomized_delays={1: [121, 0]}, **kw)
    with pytest.raises(ValueError, match="2 delays needed"):
        sc.composite("2.1", profiles, randomized_delays={1: [5]}, **kw)
    with pytest.raises(ValueError, match="no profile with id 9"):
        sc.composite("2.1", profiles, randomized_delays={9: 5}, **kw)
    no_delay = build("2.1", [(1, replace(p, randomized_delay=None))])
    with pytest.raises(ValueError, match="no randomizedDelay"):
        sc.composite("2.1", no_delay, randomized_delays={1: 5}, **kw)


def test_21_iso15118_tuples_the_selected_schedule_and_schedule_i_with_schedule_i() -> None:
    t0 = at("2024-06-01T10:00")
    tx = sc.ActiveTransaction(evse_id=1, transaction_id="tx-1", started_at=t0)
    second = P(12, TX, 0, "Absolute", [(0, 10.0)], start=t0)
    third = P(13, TX, 0, "Absolute", [(0, 8.0)], start=t0)
    txp = P(11, TX, 0, "Absolute", [(0, 16.0)], start=t0, tx="tx-1", more=[second, third])
    alt = P(22, TXD, 0, "Absolute", [(0, 6.0)], start=t0)
    ext = P(21, EXT, 0, "Absolute", [(0, 32.0)], start=t0, more=[alt, replace(alt, id=23, periods=[(0, 9.0)])])
    mx = P(31, MAX["2.1"], 0, "Absolute", [(0, 12.0)], start=t0)
    profiles = build("2.1", [(1, txp), (1, ext), (0, mx)])
    kw: dict[str, Any] = {"evse_id": 1, "start": t0, "duration": 60, "unit": "A", "transaction": tx}
    assert limits(sc.composite_schedule("2.1", profiles, **kw)) == [(0, 12.0)]  # the first schedules: min(16, 32, 12)
    # the EV selected tuple id 12 (position 1): the external profile's schedule 1 (6 A) goes with it
    assert limits(sc.composite_schedule("2.1", profiles, selected_schedule=12, **kw)) == [(0, 6.0)]
    # id 23 is the external profile's third schedule: the TxProfile's third (8 A) goes with it
    assert limits(sc.composite_schedule("2.1", profiles, selected_schedule=23, **kw)) == [(0, 8.0)]
    with pytest.raises(ValueError, match="selected_schedule: no profile"):
        sc.composite("2.1", profiles, selected_schedule=99, **kw)
    with pytest.raises(ValueError, match="1.6"):
        sc.composite("1.6", [], selected_schedule=1, evse_id=1, start=t0, duration=60, unit="A")


def test_21_per_phase_discharge_setpoints_and_the_reactive_setpoint() -> None:
    t0 = at("2024-01-01T00:00")
    txp = P(
        1,
        TX,
        0,
        "Absolute",
        [(0, 16.0)],
        start=t0,
        tx="tx-1",
        extra=[
            {
                "limit_l2": 10.0,
                "discharge_limit": -12.0,
                "discharge_limit_l2": -4.0,
                "setpoint": 8.0,
                "setpoint_l2": 12.0,
                "setpoint_reactive": 2.0,
            }
        ],
    )
    ext = P(2, EXT, 0, "Absolute", [(0, 11040.0)], unit="W", start=t0, extra=[{"setpoint_reactive": 690.0}])
    tx = sc.ActiveTransaction(evse_id=1, transaction_id="tx-1", started_at=t0)
    c = sc.composite(
        "2.1", build("2.1", [(1, txp), (1, ext)]), evse_id=1, start=t0, duration=60, unit="A", transaction=tx
    )
    (p,) = c.periods
    # the external 11040 W is 16 A over 3 phases: limit 16; L2: min(10, 16) = 10
    assert (p.limit, p.limit_l2, p.limit_l3) == (16.0, 10.0, None)
    # dischargeLimit_L2: max(-4, and the external has none) = -4; the setpoint_L2 12 is held at limit_L2 10
    assert (p.discharge_limit, p.discharge_limit_l2, p.setpoint, p.setpoint_l2) == (-12.0, -4.0, 8.0, 10.0)
    # the reactive setpoint: the external constraints' (690 W / 690 = 1 A), not combined with the Tx one
    assert p.setpoint_reactive == pytest.approx(1.0)
    s = sc.composite_schedule(
        "2.1", build("2.1", [(1, txp), (1, ext)]), evse_id=1, start=t0, duration=60, unit="W", transaction=tx
    )
    (w,) = s.charging_schedule_period
    # in W per phase: L2 10 A x 230 V; the total 11040 W; L2's share of a total is / numberPhases
    assert (w.limit, w.limit_l2, w.discharge_limit_l2) == (11040.0, 2300.0, -920.0)
    assert w.setpoint_reactive == 690.0
