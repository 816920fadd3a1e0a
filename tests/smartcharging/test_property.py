"""The engine against the brute-force reference (tests/smartcharging/reference.py), every second.

Random profile sets over small windows (Hypothesis, bounded), for A and W; recurrences are
placed so that a boundary of the daily cycle falls inside the window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocppkit import smartcharging as sc

from .build import MAX, UTC, P, typed
from .reference import Setup, Value, from_engine, per_second, reference

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


#: 2.1 extra values: name -> factors of the period's limit to draw from.
EXTRA_21 = {
    "discharge_limit": [-0.5, -0.25],
    "setpoint": [0.5, 0.25, -0.2],
    "limit_l2": [0.5, 0.3],
    "limit_l3": [0.8, 0.2],
    "discharge_limit_l2": [-0.1, -0.3],
    "setpoint_l2": [0.1, -0.05],
    "setpoint_l3": [0.2],
    "setpoint_reactive": [0.1, -0.1],
    "setpoint_reactive_l2": [0.05],
}


@st.composite
def schedule(draw: Any, version: str, sid: int, kind: str) -> P:
    """One schedule (a P whose profile-level fields the caller sets)."""
    unit = draw(st.sampled_from(["A", "W"]))
    n = 1 if kind == "Dynamic" else draw(st.integers(1, 3))
    delayed = version == "2.1" and n > 1 and draw(st.booleans())
    # delayed periods close together, so that one is overtaken by the next (K01.FR.97)
    gaps = st.integers(1, 100 if delayed else 500)
    starts = [0] + sorted(draw(st.sets(gaps, min_size=n - 1, max_size=n - 1)))
    lims = [draw(_limit(version, unit)) for _ in starts]
    phases = [draw(st.sampled_from([None, None, 1, 3])) for _ in starts]
    start: dt.datetime | None = None
    if kind == "Absolute":
        start = X + dt.timedelta(seconds=draw(st.integers(-400, 400)))
    elif kind == "Recurring":
        start = X + dt.timedelta(seconds=draw(st.integers(-400, 400)) - 86400 * draw(st.integers(0, 2)))
    duration = draw(st.one_of(st.none(), st.integers(1, 700)))
    extra: list[dict[str, Any]] = []
    delay = None
    if version == "2.1":
        for lim in lims:
            x: dict[str, float] = {}
            for name, factors in EXTRA_21.items():
                if draw(st.integers(0, 2)) == 0:
                    x[name] = draw(st.sampled_from(factors)) * lim
            extra.append(x)
        if delayed:
            delay = 120
    return P(
        sid,
        "",
        0,
        kind,
        list(zip(starts, lims, strict=True)),
        unit=unit,
        start=start,
        duration=duration,
        phases=phases,
        extra=extra,
        randomized_delay=delay,
    )


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
    first = draw(schedule(version, pid, kind))
    more = []
    if version != "1.6" and kind != "Dynamic" and draw(st.integers(0, 3)) == 0:
        more = [draw(schedule(version, pid + 100 * k, kind)) for k in range(1, draw(st.integers(2, 3)))]
    vf = draw(st.one_of(st.none(), st.integers(-100, 500)))
    vt = draw(st.one_of(st.none(), st.integers(100, 800)))
    dyn = None
    if kind == "Dynamic":
        dyn = X + dt.timedelta(seconds=draw(st.integers(-300, 300)))
    tx = None
    if purpose == "TxProfile":
        tx = draw(st.sampled_from([None, "1", "1", "2", "9"]))
    p = replace(
        first,
        purpose=purpose,
        level=draw(st.integers(0, 1)),
        recurrency="Daily" if kind == "Recurring" else None,
        valid_from=None if vf is None else X + dt.timedelta(seconds=vf),
        valid_to=None if vt is None else X + dt.timedelta(seconds=vt),
        tx=tx,
        dyn_update_time=dyn,
        more=more,
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
    ids = sorted({i for _, p in profiles if p.more for i in p.schedule_ids()})
    selected = draw(st.one_of(st.none(), st.sampled_from(ids))) if ids else None
    delays: dict[int, list[int]] = {}
    chosen = Setup(profiles, "A", selected=selected).chosen()
    for (_, p), (_, q) in zip(profiles, chosen, strict=True):
        if q.randomized_delay is not None and draw(st.integers(0, 3)) > 0:
            delays[p.id] = [draw(st.integers(0, q.randomized_delay)) for _ in q.periods[1:]]
    return {
        "profiles": profiles,
        "transactions": txs,
        "unit": draw(st.sampled_from(["A", "W"])),
        "evse": draw(st.sampled_from([1, 1, 2, 0])),
        "duration": draw(st.integers(1, WINDOW)),
        "phases": draw(st.sampled_from([1, 3])),
        "priority": draw(st.booleans()),
        "selected": selected,
        "delays": delays,
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
        selected_schedule=c["selected"],
        randomized_delays=c["delays"] or None,
    )
    assert got.periods[0].start_period == 0
    assert all(a.start_period < b.start_period for a, b in zip(got.periods, got.periods[1:], strict=False))
    assert all(not a.same_values(b) for a, b in zip(got.periods, got.periods[1:], strict=False)), (
        "neighbours not merged"
    )
    engine = per_second([(p.start_period, from_engine(p)) for p in got.periods], c["duration"])
    setup = Setup(
        c["profiles"], c["unit"], 230.0, c["phases"], c["transactions"], c["priority"], c["selected"], c["delays"]
    )
    ref = reference(setup, c["evse"], X_S, c["duration"], [1, 2])
    for sec, (e, r) in enumerate(zip(engine, ref, strict=True)):
        ok = e.phases == r.phases and all(
            _close(getattr(e, f.name), getattr(r, f.name)) for f in fields(Value) if f.name != "phases"
        )
        assert ok, f"second {sec}: engine {e} != reference {r}"


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_engine_equals_the_brute_force_reference(version: str) -> None:
    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case(version))
    def run(c: dict[str, Any]) -> None:
        check(version, c)

    run()
