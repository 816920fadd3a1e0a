"""Tests of the smart-charging benchmark: its profile set is what it claims, every contender does
the work it names, and a tiny real run gives the table and the target row.

``.venv/bin/python -m pytest -q -p no:cacheprovider benchmarks/test_bench_smartcharging.py`` (a few
seconds; plain ``pytest`` does not collect it: ``testpaths`` is ``["tests"]``).
"""

from __future__ import annotations

from collections import Counter

from benchmarks import bench_smartcharging as bs
from ocppkit import smartcharging as sc


def test_the_profile_set_is_sixteen_profiles_of_every_purpose() -> None:
    rows = bs.profiles("2.0.1")
    assert len(rows) == 16
    purposes = Counter(str(p.charging_profile_purpose) for _, p in rows)
    assert set(purposes) == {
        "ChargingStationMaxProfile",
        "ChargingStationExternalConstraints",
        "TxDefaultProfile",
        "TxProfile",
    }
    assert {e for e, _ in rows} == {0, 1, 2, 3, 4}
    assert len(bs.profiles("1.6")) == 16 - purposes["ChargingStationExternalConstraints"]


def test_the_station_contenders_answer_accepted() -> None:
    station = bs._station("2.0.1", sc.MemoryProfileStore())
    assert len(station.profiles) == 16
    bs._answer_loop(station, "2.0.1")(1)  # GetCompositeSchedule: computes, raises nothing
    bs._set_loop(station)(2)  # the same id twice: a replacement each time
    assert len(station.profiles) == 17


def test_a_tiny_run_prints_every_contender_and_the_target() -> None:
    lines: list[str] = []
    res = bs.run(quick=True, repeats=1, out=lines.append)
    assert len(res["results"]) == 8 and all(r["median_s"] > 0 for r in res["results"].values())
    assert any("composite 2.0.1 EVSE 1" in line for line in lines)
    (row,) = bs.target_lines(res)
    assert row[0] == f"composite 16 profiles over 24 h <= {bs.TARGET_COMPOSITE_MS:g} ms" and row[1].endswith(" ms")
