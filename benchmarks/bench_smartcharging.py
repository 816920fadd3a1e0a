"""Smart-charging benchmark: the composite schedule and the station's answers (docs/performance.md).

``python -m benchmarks smartcharging [--quick]`` (or ``python -m benchmarks.bench_smartcharging``)

composite
    :func:`ocppkit.smartcharging.composite_schedule` of EVSE 1 over 24 h, in A, with 16 installed
    profiles (a station max, external constraints, TxDefault at EVSE 0 and on four EVSEs, daily
    recurring ones with 24 hourly periods, absolute ones with validity windows, one TxProfile of
    the running transaction), for 2.0.1 and 1.6 (1.6: no external constraints; its results are
    rounded to 0.1), and for EVSE 0 (the station total: the EVSEs summed). Time per call: the
    median of interleaved samples.

station
    :class:`ocppkit.smartcharging.StationProfiles` holding the same 16 profiles, answering a
    typed GetCompositeSchedule (24 h, A) sans-IO, with the memory store and the sqlite store
    (the answer reads the profiles held in memory: the store is read once, when it opens); and
    SetChargingProfile (validation against the 16, then one committed write), memory and sqlite
    ``full`` / ``normal``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from ocppkit import smartcharging as sc
from ocppkit.v16 import datatypes as d16
from ocppkit.v16 import messages as m16
from ocppkit.v201 import datatypes as d201
from ocppkit.v201 import messages as m201

from ._timing import calibrate, fmt_time, interleaved, median

__all__ = ["TARGET_COMPOSITE_MS", "profiles", "run", "target_lines"]

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 6, 1, 0, 0, tzinfo=UTC)
#: The target: one 24-hour composite schedule of 16 profiles in at most this many milliseconds.
TARGET_COMPOSITE_MS = 10.0


def _p201(pid: int, purpose: str, level: int, kind: str, periods: list[tuple[int, float]], **kw: Any) -> Any:
    schedule = d201.ChargingScheduleType(
        id=pid,
        start_schedule=kw.pop("start", T0),
        charging_rate_unit=kw.pop("unit", "A"),
        charging_schedule_period=[d201.ChargingSchedulePeriodType(start_period=s, limit=v) for s, v in periods],
        **({"duration": kw.pop("duration")} if "duration" in kw else {}),
    )
    return d201.ChargingProfileType(
        id=pid,
        stack_level=level,
        charging_profile_purpose=purpose,
        charging_profile_kind=kind,
        charging_schedule=[schedule],
        **kw,
    )


def profiles(version: str = "2.0.1") -> list[tuple[int, Any]]:
    """The 16 installed profiles: ``(evse id, typed profile)``."""
    hourly = [(h * 3600, 10.0 + (h * 7) % 23) for h in range(24)]
    rows: list[tuple[int, Any]] = [
        (0, _p201(1, "ChargingStationMaxProfile", 0, "Absolute", [(0, 22000.0), (3600 * 18, 15000.0)], unit="W")),
        (0, _p201(2, "TxDefaultProfile", 0, "Absolute", [(0, 32.0)])),
        (0, _p201(3, "TxDefaultProfile", 1, "Recurring", hourly, recurrency_kind="Daily", duration=86400)),
        (1, _p201(4, "TxDefaultProfile", 2, "Absolute", [(0, 20.0), (7200, 16.0)], duration=6 * 3600)),
        (1, _p201(5, "TxDefaultProfile", 3, "Recurring", hourly[::2], recurrency_kind="Daily", duration=43200)),
        (
            1,
            _p201(
                6,
                "TxDefaultProfile",
                4,
                "Absolute",
                [(0, 12.0), (1800, 14.0)],
                start=T0 + dt.timedelta(hours=9),
                valid_from=T0 + dt.timedelta(hours=9),
                valid_to=T0 + dt.timedelta(hours=11),
            ),
        ),
        (1, _p201(7, "TxProfile", 0, "Relative", [(0, 25.0), (5400, 18.0), (9000, 11.0)], transaction_id="tx-1")),
        (1, _p201(8, "TxProfile", 1, "Relative", [(0, 24.0)], transaction_id="tx-1", duration=3600)),
        (2, _p201(9, "TxDefaultProfile", 2, "Absolute", [(0, 16.0), (3600, 8.0), (7200, 16.0)])),
        (3, _p201(10, "TxDefaultProfile", 2, "Recurring", hourly, recurrency_kind="Daily")),
        (4, _p201(11, "TxDefaultProfile", 2, "Absolute", [(0, 10.0)])),
        (0, _p201(12, "ChargingStationMaxProfile", 1, "Recurring", hourly, recurrency_kind="Daily", unit="A")),
        (
            0,
            _p201(
                13,
                "ChargingStationExternalConstraints",
                0,
                "Absolute",
                [(0, 40.0), (3600 * 6, 28.0), (3600 * 20, 40.0)],
            ),
        ),
        (1, _p201(14, "ChargingStationExternalConstraints", 0, "Absolute", [(0, 30.0), (3600 * 12, 26.0)])),
        (2, _p201(15, "TxDefaultProfile", 5, "Absolute", [(0, 13.0)], start=T0 + dt.timedelta(hours=3), duration=7200)),
        (1, _p201(16, "TxDefaultProfile", 5, "Recurring", [(0, 9.0), (600, 30.0)], recurrency_kind="Daily")),
    ]
    if version == "2.0.1":
        return rows
    return [(e, _to16(p)) for e, p in rows if p.charging_profile_purpose != "ChargingStationExternalConstraints"]


def _to16(p: Any) -> Any:
    s = p.charging_schedule[0]
    purpose = "ChargePointMaxProfile" if p.charging_profile_purpose == "ChargingStationMaxProfile" else None
    kw: dict[str, Any] = {
        name: getattr(p, name)
        for name in ("recurrency_kind", "valid_from", "valid_to")
        if getattr(p, name) is not msgspec.UNSET
    }
    if isinstance(p.transaction_id, str):
        kw["transaction_id"] = 1
    schedule: dict[str, Any] = {"duration": s.duration} if isinstance(s.duration, int) else {}
    if p.charging_profile_kind != "Relative":
        schedule["start_schedule"] = s.start_schedule
    return d16.ChargingProfile(
        charging_profile_id=p.id,
        stack_level=p.stack_level,
        charging_profile_purpose=purpose or p.charging_profile_purpose,
        charging_profile_kind=p.charging_profile_kind,
        charging_schedule=d16.ChargingSchedule(
            charging_rate_unit=s.charging_rate_unit,
            charging_schedule_period=[
                d16.ChargingSchedulePeriod(start_period=x.start_period, limit=x.limit)
                for x in s.charging_schedule_period
            ],
            **schedule,
        ),
        **kw,
    )


def _tx(version: str) -> sc.ActiveTransaction:
    return sc.ActiveTransaction(1, "tx-1" if version == "2.0.1" else 1, T0 + dt.timedelta(hours=8))


def _composite_loop(version: str, evse_id: int) -> Any:
    rows = profiles(version)
    tx = _tx(version)
    start = T0 + dt.timedelta(hours=8, minutes=30)

    def loop(n: int) -> None:
        for _ in range(n):
            sc.composite_schedule(
                version,
                rows,
                evse_id=evse_id,
                start=start,
                duration=86400,
                unit="A",
                transaction=tx,
                default_limit=32.0,
                evse_ids=(1, 2, 3, 4),
            )

    return loop


def _station(version: str, store: sc.ProfileStore) -> sc.StationProfiles:
    """A station holding the 16 profiles in ``store`` (written there, then loaded from it)."""
    store.change(
        version,
        add=[
            sc.StoredProfile(version, e, p, "EMS" if "External" in str(p.charging_profile_purpose) else "CSO")
            for e, p in profiles(version)
        ],
    )
    return sc.StationProfiles(version, store, evses=(1, 2, 3, 4), max_current=32.0)


def _answer_loop(st: sc.StationProfiles, version: str) -> Any:
    st.transaction_started(1, "tx-1" if version == "2.0.1" else 1, T0 + dt.timedelta(hours=8))
    if version == "2.0.1":
        req: Any = m201.GetCompositeScheduleRequest(evse_id=1, duration=86400, charging_rate_unit="A")
    else:
        req = m16.GetCompositeScheduleRequest(connector_id=1, duration=86400, charging_rate_unit="A")
    now = T0 + dt.timedelta(hours=8, minutes=30)

    def loop(n: int) -> None:
        for _ in range(n):
            st.get_composite_schedule(req, now)

    return loop


def _set_loop(st: sc.StationProfiles) -> Any:
    base = _p201(100, "TxDefaultProfile", 9, "Absolute", [(0, 16.0), (3600, 10.0)])
    req = m201.SetChargingProfileRequest(evse_id=2, charging_profile=base)

    def loop(n: int) -> None:
        for _ in range(n):
            st.set_charging_profile(req)  # replaces itself (the same id): one write per call

    return loop


def run(*, quick: bool, repeats: int | None = None, out: Any = print) -> dict[str, Any]:
    """Run both parts; print a table and return the results."""
    repeats = repeats or (5 if quick else 15)
    target = 0.02 if quick else 0.1
    out(f"smart charging: 16 profiles, 24 h window, {repeats} interleaved samples (median per call)")
    contenders: dict[str, Any] = {
        "composite 2.0.1 EVSE 1": _composite_loop("2.0.1", 1),
        "composite 2.0.1 EVSE 0 (sum)": _composite_loop("2.0.1", 0),
        "composite 1.6 connector 1": _composite_loop("1.6", 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        stores: dict[str, sc.ProfileStore] = {
            "memory": sc.MemoryProfileStore(),
            "sqlite": sc.SqliteProfileStore(Path(tmp) / "answer.sqlite"),
        }
        for name, store in stores.items():
            contenders[f"GetCompositeSchedule 2.0.1, {name}"] = _answer_loop(_station("2.0.1", store), "2.0.1")
        sets: dict[str, sc.ProfileStore] = {
            "memory": sc.MemoryProfileStore(),
            "sqlite full": sc.SqliteProfileStore(Path(tmp) / "full.sqlite", durability="full"),
            "sqlite normal": sc.SqliteProfileStore(Path(tmp) / "normal.sqlite", durability="normal"),
        }
        for name, store in sets.items():
            contenders[f"SetChargingProfile 2.0.1, {name}"] = _set_loop(_station("2.0.1", store))
        loops = {name: (loop, calibrate(loop, target)) for name, loop in contenders.items()}
        samples = interleaved(loops, repeats)
        for store in (*stores.values(), *sets.values()):
            store.close()
    results = {name: {"median_s": median(xs), "samples_s": xs} for name, xs in samples.items()}
    width = max(len(n) for n in results)
    for name, r in results.items():
        out(f"  {name:<{width}}  {fmt_time(r['median_s']):>10} per call")
    return {"repeats": repeats, "results": results}


def target_lines(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The target rows for ``python -m benchmarks``."""
    ms = results["results"]["composite 2.0.1 EVSE 1"]["median_s"] * 1e3
    return [
        (f"composite 16 profiles over 24 h <= {TARGET_COMPOSITE_MS:g} ms", f"{ms:.2f} ms", ms <= TARGET_COMPOSITE_MS)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_smartcharging", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--repeats", type=int, help="interleaved samples per contender (default 15, quick 5)")
    args = parser.parse_args(argv)
    run(quick=args.quick, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
