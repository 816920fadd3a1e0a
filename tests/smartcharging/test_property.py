"""The engine against the brute-force reference (tests/smartcharging/reference.py), every second.

Random profile sets over small windows (Hypothesis, bounded), for A and W; recurrences are
placed so that a boundary of the daily cycle falls inside the window.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocppkit import smartcharging as sc

from .build import MAX, UTC, P, typed
from .reference import Setup, Value, per_second, reference

X = dt.datetime(2024, 6, 1, 23, 55, tzinfo=UTC)  # the window's start: 5 minutes before midnight
X_S = int(X.timestamp())
WINDOW = 600
PURPOSES = {
    "1.6": [MAX["2.0.1"], "TxDefaultProfile", "TxProfile"],
    "2.0.1": [MAX["2.0.1"], "TxDefaultProfile", "TxProfile", "ChargingStationExternalConstraints"],
    "2.1": [
        MAX["2.0.1"],
        "TxDefaultProfile",
        "TxProfile",
        "ChargingStationExternalConstraints",
        "PriorityCharging",
        "LocalGeneration",
    ],
}


def _limit(version: str, unit: str) -> st.SearchStrategy[float]:
    if unit == "A":
        return st.sampled_from([6.0, 10.0, 16.0, 20.0, 32.0])
    return st.sampled_from([4000.0, 7400.0, 11000.0, 22000.0])


@st.composite
def profile(draw: Any, version: str, pid: int) -> tuple[int, P]:
    purpose = draw(st.sampled_from(PURPOSES[version]))
    if purpose == MAX["2.0.1"]:
        evse = 0
    elif purpose in ("TxProfile", "PriorityCharging"):
        evse = draw(st.sampled_from([1, 2]))
    else:
        evse = draw(st.sampled_from([0, 1, 2]))
    kinds = ["Absolute", "Recurring", "Recurring"]
    if purpose != MAX["2.0.1"]:
        kinds.append("Relative")
    if version == "2.1":
        kinds.append("Dynamic")
    kind = draw(st.sampled_from(kinds))
    unit = draw(st.sampled_from(["A", "W"]))
    n = 1 if kind == "Dynamic" else draw(st.integers(1, 3))
    starts = [0] + sorted(draw(st.sets(st.integers(1, 500), min_size=n - 1, max_size=n - 1)))
    lims = [draw(_limit(version, unit)) for _ in starts]
    phases = [draw(st.sampled_from([None, None, 1, 3])) for _ in starts]
    start: dt.datetime | None = None
    recurrency = None
    if kind == "Absolute":
        start = X + dt.timedelta(seconds=draw(st.integers(-400, 400)))
    elif kind == "Recurring":
        recurrency = "Daily"
        start = X + dt.timedelta(seconds=draw(st.integers(-400, 400)) - 86400 * draw(st.integers(0, 2)))
    duration = draw(st.one_of(st.none(), st.integers(1, 700)))
    vf = draw(st.one_of(st.none(), st.integers(-100, 500)))
    vt = draw(st.one_of(st.none(), st.integers(100, 800)))
    extra: list[dict[str, float]] = []
    dyn = None
    if version == "2.1":
        for lim in lims:
            x: dict[str, float] = {}
            if draw(st.booleans()):
                x["discharge_limit"] = -draw(st.sampled_from([0.5, 0.25])) * lim
            if draw(st.booleans()):
                x["setpoint"] = draw(st.sampled_from([0.5, 0.25, -0.2])) * lim
            extra.append(x)
        if kind == "Dynamic":
            dyn = X + dt.timedelta(seconds=draw(st.integers(-300, 300)))
    tx = None
    if purpose == "TxProfile":
        tx = draw(st.sampled_from([None, "1", "1", "2", "9"]))
    p = P(
        pid,
        purpose,
        draw(st.integers(0, 1)),
        kind,
        list(zip(starts, lims, strict=True)),
        unit=unit,
        start=start,
        duration=duration,
        recurrency=recurrency,
        valid_from=None if vf is None else X + dt.timedelta(seconds=vf),
        valid_to=None if vt is None else X + dt.timedelta(seconds=vt),
        tx=tx,
        phases=phases,
        extra=extra,
        dyn_update_time=dyn,
    )
    return evse, p


@st.composite
def case(draw: Any, version: str) -> dict[str, Any]:
    k = draw(st.integers(0, 4))
    profiles = [draw(profile(version, i + 1)) for i in range(k)]
    txs: dict[int, tuple[str, int]] = {}
    for evse, tid in ((1, "1"), (2, "2")):
        if draw(st.booleans()):
            txs[evse] = (tid, X_S + draw(st.integers(-600, 100)))
    return {
        "profiles": profiles,
        "transactions": txs,
        "unit": draw(st.sampled_from(["A", "W"])),
        "evse": draw(st.sampled_from([1, 1, 2, 0])),
        "duration": draw(st.integers(1, WINDOW)),
        "phases": draw(st.sampled_from([1, 3])),
        "priority": draw(st.booleans()),
    }


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-6 * max(1, abs(b)))


def check(version: str, c: dict[str, Any]) -> None:
    txs = [
        sc.ActiveTransaction(
            evse_id=e,
            transaction_id=tid if version != "1.6" else int(tid),
            started_at=dt.datetime.fromtimestamp(s, tz=UTC),
        )
        for e, (tid, s) in c["transactions"].items()
    ]
    got = sc.composite(
        version,
        [(e, typed(version, p)) for e, p in c["profiles"]],
        evse_id=c["evse"],
        start=X,
        duration=c["duration"],
        unit=c["unit"],
        transaction=txs,
        phases=c["phases"],
        evse_ids=[1, 2],
        priority_charging=c["priority"],
    )
    assert got.periods[0].start_period == 0
    assert all(a.start_period < b.start_period for a, b in zip(got.periods, got.periods[1:], strict=False))
    assert all(not a.same_values(b) for a, b in zip(got.periods, got.periods[1:], strict=False)), (
        "neighbours not merged"
    )
    engine = per_second(
        [(p.start_period, Value(p.limit, p.number_phases, p.discharge_limit, p.setpoint)) for p in got.periods],
        c["duration"],
    )
    setup = Setup(c["profiles"], c["unit"], 230.0, c["phases"], c["transactions"], c["priority"])
    ref = reference(setup, c["evse"], X_S, c["duration"], [1, 2])
    for sec, (e, r) in enumerate(zip(engine, ref, strict=True)):
        ok = _close(e.limit, r.limit) and e.phases == r.phases
        ok = ok and _close(e.discharge, r.discharge) and _close(e.setpoint, r.setpoint)
        assert ok, f"second {sec}: engine {e} != reference {r}"


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_engine_equals_the_brute_force_reference(version: str) -> None:
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case(version))
    def run(c: dict[str, Any]) -> None:
        check(version, c)

    run()
