"""OCPP 2.0.1 composite schedules: the digest's worked examples and more, expected values by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import pytest

from ocppkit import smartcharging as sc

from .build import MAX, P, at, limits, typed

V: Final = "2.0.1"
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


def sched(profiles: list[tuple[int, P]], version: str = V, **kw: Any) -> list[tuple[int, float | None]]:
    kw.setdefault("evse_id", 1)
    return limits(sc.composite_schedule(version, [(e, typed(version, p)) for e, p in profiles], **kw))


def tx(evse: int = 1, start: str = "2024-06-01T08:00", tid: str = "tx-1") -> sc.ActiveTransaction:
    return sc.ActiveTransaction(evse_id=evse, transaction_id=tid, started_at=at(start))


def test_e1_recurring_daily_in_watts() -> None:
    assert sched([(1, E1)], start=at("2013-03-05T07:00"), duration=7200, unit="W") == [(0, 11000), (3600, 6000)]


def test_e2_the_same_in_amps_230v_3_phases() -> None:
    # 11000 / (230 * 3) = 15.942; 6000 / 690 = 8.696
    assert sched([(1, E1)], start=at("2013-03-05T07:00"), duration=7200, unit="A") == [(0, 15.942), (3600, 8.696)]


def test_e3_the_evening_period() -> None:
    assert sched([(1, E1)], start=at("2013-03-05T19:30"), duration=3600, unit="W") == [(0, 6000), (1800, 11000)]


def test_e4_a_higher_level_ends_and_the_lower_one_returns() -> None:
    low = P(1, TXD, 0, "Absolute", [(0, 32)], start=at("2024-01-01T00:00"))
    high = P(2, TXD, 1, "Absolute", [(0, 10)], start=at("2024-06-01T10:00"), duration=7200)
    got = sched([(1, low), (1, high)], start=at("2024-06-01T09:00"), duration=14400, unit="A")
    assert got == [(0, 32), (3600, 10), (10800, 32)]


def _e5(max_amps: float) -> list[tuple[int, P]]:
    return [
        (1, P(1, TXD, 5, "Absolute", [(0, 16)], start=at("2024-01-01T00:00"))),
        (1, P(2, TX, 0, "Absolute", [(0, 20)], start=at("2024-01-01T00:00"), tx="tx-1")),
        (0, P(3, MAX[V], 0, "Absolute", [(0, max_amps)], start=at("2024-01-01T00:00"))),
    ]


def test_e5_the_txprofile_replaces_txdefault_even_at_a_lower_level() -> None:
    got = sched(_e5(32), start=at("2024-06-01T10:00"), duration=600, unit="A", transaction=tx())
    assert got == [(0, 20)]


def test_e6_the_station_maximum_caps_it() -> None:
    got = sched(_e5(18), start=at("2024-06-01T10:00"), duration=600, unit="A", transaction=tx())
    assert got == [(0, 18)]


def test_e5_without_the_transaction_the_txprofile_does_not_apply() -> None:
    assert sched(_e5(32), start=at("2024-06-01T10:00"), duration=600, unit="A") == [(0, 16)]
    other = tx(tid="tx-2")
    assert sched(_e5(32), start=at("2024-06-01T10:00"), duration=600, unit="A", transaction=other) == [(0, 16)]


def test_e7_relative_profile_starts_with_the_transaction() -> None:
    rel = P(1, TX, 0, "Relative", [(0, 16), (1800, 8)], tx="tx-1")
    got = sched(
        [(1, rel)], start=at("2024-06-01T10:10"), duration=3600, unit="A", transaction=tx(start="2024-06-01T10:00")
    )
    assert got == [(0, 16), (1200, 8)]


def test_e8_evse_0_is_the_sum_capped_by_the_station_maximum() -> None:
    profiles = [
        (0, P(1, TXD, 0, "Absolute", [(0, 16)], start=at("2024-01-01T00:00"))),
        (0, P(2, MAX[V], 0, "Absolute", [(0, 25)], start=at("2024-01-01T00:00"))),
    ]
    txs = [tx(1), tx(2, tid="tx-2")]
    kw: dict[str, Any] = {"start": at("2024-06-01T10:00"), "duration": 600, "unit": "A", "transaction": txs}
    assert sched(profiles, evse_id=1, evse_ids=[1, 2], **kw) == [(0, 16)]
    assert sched(profiles, evse_id=0, evse_ids=[1, 2], **kw) == [(0, 25)]
    # without the station maximum the total is 16 + 16
    assert sched(profiles[:1], evse_id=0, evse_ids=[1, 2], **kw) == [(0, 32)]


def test_the_txprofile_ends_and_txdefault_takes_over() -> None:
    txd = P(1, TXD, 0, "Absolute", [(0, 16)], start=at("2024-01-01T00:00"))
    txp = P(2, TX, 0, "Absolute", [(0, 6)], start=at("2024-06-01T10:00"), duration=900, tx="tx-1")
    got = sched([(1, txd), (1, txp)], start=at("2024-06-01T10:00"), duration=1800, unit="A", transaction=tx())
    assert got == [(0, 6), (900, 16)]


def test_valid_from_and_valid_to_clip_a_profile() -> None:
    base = P(1, TXD, 0, "Absolute", [(0, 32)], start=at("2024-01-01T00:00"))
    window = P(
        2,
        TXD,
        3,
        "Absolute",
        [(0, 10)],
        start=at("2024-01-01T00:00"),
        valid_from=at("2024-06-01T10:05"),
        valid_to=at("2024-06-01T10:15"),
    )
    got = sched([(1, base), (1, window)], start=at("2024-06-01T10:00"), duration=1200, unit="A")
    assert got == [(0, 32), (300, 10), (900, 32)]


def test_the_last_period_runs_on_and_a_duration_ends_it() -> None:
    p = P(1, TXD, 0, "Absolute", [(0, 10), (60, 20)], start=at("2024-06-01T10:00"), duration=300)
    got = sched([(1, p)], start=at("2024-06-01T09:59"), duration=600, unit="A", default_limit=40.0)
    # before the start: nothing; 10 A one minute, 20 A until 300 s (the last period runs on), then nothing
    assert got == [(0, 40), (60, 10), (120, 20), (360, 40)]


def test_periods_past_the_duration_are_ignored() -> None:
    p = P(1, TXD, 0, "Absolute", [(0, 10), (600, 20)], start=at("2024-06-01T10:00"), duration=300)
    got = sched([(1, p)], start=at("2024-06-01T10:00"), duration=900, unit="A", default_limit=40.0)
    assert got == [(0, 10), (300, 40)]


def test_weekly_recurrence_and_a_short_duration_fall_back_to_lower_levels() -> None:
    base = P(1, TXD, 0, "Absolute", [(0, 32)], start=at("2024-01-01T00:00"))
    # every Monday (2024-01-01 is a Monday) from 08:00 for one hour: 6 A
    weekly = P(2, TXD, 2, "Recurring", [(0, 6)], start=at("2024-01-01T08:00"), duration=3600, recurrency="Weekly")
    got = sched([(1, base), (1, weekly)], start=at("2024-06-03T07:30"), duration=7200, unit="A")  # a Monday
    assert got == [(0, 32), (1800, 6), (5400, 32)]
    tuesday = sched([(1, base), (1, weekly)], start=at("2024-06-04T07:30"), duration=7200, unit="A")
    assert tuesday == [(0, 32)]


def test_recurring_before_its_first_start_does_not_apply() -> None:
    daily = P(1, TXD, 0, "Recurring", [(0, 6)], start=at("2024-06-02T00:00"), recurrency="Daily")
    got = sched([(1, daily)], start=at("2024-06-01T23:50"), duration=1200, unit="A", default_limit=32.0)
    assert got == [(0, 32), (600, 6)]


def test_minimum_over_purposes_with_external_constraints() -> None:
    txd = P(1, TXD, 0, "Absolute", [(0, 16), (600, 32)], start=at("2024-06-01T10:00"))
    ext = P(2, EXT, 0, "Absolute", [(0, 20)], start=at("2024-06-01T10:00"))
    mx = P(3, MAX[V], 0, "Absolute", [(0, 25)], start=at("2024-06-01T10:00"))
    got = sched([(1, txd), (1, ext), (0, mx)], start=at("2024-06-01T10:00"), duration=1200, unit="A")
    assert got == [(0, 16), (600, 20)]


def test_units_mix_converted_with_the_lowest_number_of_phases() -> None:
    # station max 11040 W, the transaction on 1 phase at 40 A: 11040 W / 230 V / 1 = 48 A > 40 A
    mx = P(1, MAX[V], 0, "Absolute", [(0, 11040)], unit="W", start=at("2024-06-01T10:00"))
    txd = P(2, TXD, 0, "Absolute", [(0, 40)], start=at("2024-06-01T10:00"), phases=[1])
    s = sc.composite_schedule(
        V, [(0, typed(V, mx)), (1, typed(V, txd))], evse_id=1, start=at("2024-06-01T10:00"), duration=60, unit="A"
    )
    assert limits(s) == [(0, 40)]
    assert s.charging_schedule_period[0].number_phases == 1
    # in W: 40 A x 230 V x 1 phase = 9200 W
    s_w = sc.composite_schedule(
        V, [(0, typed(V, mx)), (1, typed(V, txd))], evse_id=1, start=at("2024-06-01T10:00"), duration=60, unit="W"
    )
    assert limits(s_w) == [(0, 9200)]
    # three phases, explicit voltage 120 V: 10 A -> 3600 W
    three = P(3, TXD, 0, "Absolute", [(0, 10)], start=at("2024-06-01T10:00"))
    got = sched([(1, three)], start=at("2024-06-01T10:00"), duration=60, unit="W", supply_voltage=120.0)
    assert got == [(0, 3600)]


def test_unconstrained_periods_are_reported_never_invented() -> None:
    p = P(1, TXD, 0, "Absolute", [(0, 10)], start=at("2024-06-01T10:10"), duration=600)
    profiles = [(1, typed(V, p))]
    c = sc.composite(V, profiles, evse_id=1, start=at("2024-06-01T10:00"), duration=1800, unit="A")
    assert [(q.start_period, q.limit) for q in c.periods] == [(0, None), (600, 10), (1200, None)]
    assert c.unconstrained == ((0, 600), (1200, 1800))
    with pytest.raises(sc.UnconstrainedError) as err:
        sc.composite_schedule(V, profiles, evse_id=1, start=at("2024-06-01T10:00"), duration=1800, unit="A")
    assert err.value.windows == ((0, 600), (1200, 1800))
    assert "default_limit" in str(err.value)


def test_equal_neighbours_merge_and_times_are_whole_seconds() -> None:
    a = P(1, TXD, 0, "Absolute", [(0, 10), (300, 10), (600, 12)], start=at("2024-06-01T10:00"))
    start = at("2024-06-01T10:00") + dt.timedelta(milliseconds=700)
    s = sc.composite_schedule(V, [(1, typed(V, a))], evse_id=1, start=start, duration=900, unit="A")
    assert limits(s) == [(0, 10), (600, 12)]
    assert s.schedule_start == at("2024-06-01T10:00")


def test_duration_zero_reports_the_instant() -> None:
    a = P(1, TXD, 0, "Absolute", [(0, 10)], start=at("2024-06-01T10:00"))
    s = sc.composite_schedule(V, [(1, typed(V, a))], evse_id=1, start=at("2024-06-01T10:30"), duration=0, unit="A")
    assert limits(s) == [(0, 10)] and s.duration == 0


def test_an_evse_profile_does_not_apply_to_another_evse() -> None:
    a = P(1, TXD, 0, "Absolute", [(0, 10)], start=at("2024-06-01T10:00"))
    got = sched([(2, a)], start=at("2024-06-01T10:00"), duration=60, unit="A", default_limit=32.0)
    assert got == [(0, 32)]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"version": "1.5"}, "version"),
        ({"evse_id": -1}, "evse_id"),
        ({"duration": -5}, "duration"),
        ({"unit": "kW"}, "unit"),
        ({"phases": 4}, "phases"),
        ({"supply_voltage": 0}, "supply_voltage"),
        ({"start": dt.datetime(2024, 1, 1)}, "start"),
    ],
)
def test_bad_arguments_name_the_field(kw: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"version": V, "evse_id": 1, "start": at("2024-06-01T10:00"), "duration": 60, "unit": "A"}
    args.update(kw)
    version = args.pop("version")
    with pytest.raises(ValueError, match=field):
        sc.composite(version, [], **args)


def test_a_recurring_last_period_ends_at_the_next_occurrence() -> None:
    daily = P(1, TXD, 0, "Recurring", [(0, 10), (60000, 20)], start=at("2024-01-01T00:00"), recurrency="Daily")
    got = sched([(1, daily)], start=at("2024-06-01T23:50"), duration=1200, unit="A")
    assert got == [(0, 20), (600, 10)]


def test_at_an_equal_level_the_evse_profile_beats_the_evse_0_one() -> None:
    at0 = P(1, TXD, 0, "Absolute", [(0, 10)], start=at("2024-01-01T00:00"))
    at1 = P(2, TXD, 0, "Absolute", [(0, 20)], start=at("2024-01-01T00:00"))
    assert sched([(0, at0), (1, at1)], start=at("2024-06-01T10:00"), duration=60, unit="A") == [(0, 20)]
    assert sched([(0, at0), (1, at1)], evse_id=2, start=at("2024-06-01T10:00"), duration=60, unit="A") == [(0, 10)]
