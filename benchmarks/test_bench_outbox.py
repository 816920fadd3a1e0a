"""Tests of the outbox benchmark's own logic (statistics, targets) and a tiny real run.

``.venv/bin/python -m pytest -q -p no:cacheprovider benchmarks/test_bench_outbox.py`` (about 10 s;
plain ``pytest`` does not collect it: ``testpaths`` is ``["tests"]``).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest

from benchmarks import bench_outbox as bo


def test_quantile_is_nearest_rank() -> None:
    xs = [float(i) for i in range(1, 101)]  # 1..100
    assert bo.quantile(xs, 0.99) == 100.0
    assert bo.quantile(xs, 0.5) == 51.0
    assert bo.quantile([3.0, 1.0, 2.0], 0.0) == 1.0
    assert bo.quantile([5.0], 0.99) == 5.0


def test_added_pairs_p50_per_round_and_pools_p99() -> None:
    # Round 2 is slow for everybody (machine drift): pairing cancels it, a ratio of medians would not.
    rounds = [
        {"direct": [1.0, 1.0, 1.0], "memory": [1.2, 1.2, 1.2]},
        {"direct": [9.0, 9.0, 9.0], "memory": [9.2, 9.2, 9.2]},
        {"direct": [1.0, 1.0, 1.0], "memory": [1.3, 1.3, 5.0]},
    ]
    res = bo.added(rounds, "memory")
    assert res["p50_s"] == pytest.approx(0.2)
    assert res["p50_per_round_s"] == pytest.approx([0.2, 0.2, 0.3])
    # pooled p99 (nearest rank of 9 samples: the largest): 9.2 vs 9.0
    assert res["p99_s"] == pytest.approx(9.2 - 9.0)


def _results(normal_p50: float, full_p50: float, full_rate: float, drain_s: float, messages: int) -> dict[str, Any]:
    cases = {
        "v16 MeterValues / sqlite-full": {"commits_per_s": full_rate},
        "v201 TransactionEvent / sqlite-full": {"commits_per_s": full_rate * 2},
        "v201 TransactionEvent / memory": {"commits_per_s": 1e5},
    }
    full_10k = drain_s * 10_000 / messages
    return {
        "core": {"cases": cases},
        "latency": {
            "summary": {
                "sqlite-normal": {"added": {"p50_s": normal_p50}},
                "sqlite-full": {"added": {"p50_s": full_p50}},
            }
        },
        "drain": {"messages": messages},
        "drain_full_s_per_10k": full_10k,
        "targets": {
            "normal_added_p50": normal_p50 < bo.TARGETS["normal_added_p50_s"],
            "full_added_p50": full_p50 < bo.TARGETS["full_added_p50_s"],
            "full_commits_per_s": full_rate >= bo.TARGETS["full_commits_per_s"],
            "drain_full_10k": full_10k < bo.TARGETS["drain_full_s_per_10k"],
        },
    }


def test_target_lines_report_pass_and_miss() -> None:
    good = bo.target_lines(_results(0.4e-3, 2e-3, 1500.0, 1.2, 1000))
    assert [ok for _, _, ok in good] == [True, True, True, True]
    assert "from 1,000" in good[3][0] and good[3][1] == "12.0 s"  # scaled to 10,000
    assert good[2][1] == "1,500/s"  # the slower payload's rate counts
    bad = bo.target_lines(_results(1.5e-3, 6e-3, 50.0, 31.0, 10_000))
    assert [ok for _, _, ok in bad] == [False, False, False, False]
    assert "from" not in bad[3][0]


def test_core_case_drains_what_it_submits() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("memory", "sqlite-off"):
            for payload, request in bo.payloads().items():
                case = bo._CoreCase(kind, payload, request, Path(tmp))
                per = case.sample(7)
                assert all(math.isfinite(x) and x > 0 for x in per)
                assert case.outbox.pending() == 0
                case.outbox.close()


def test_tiny_run_over_loopback() -> None:
    lines: list[str] = []
    res = bo.run(quick=True, rounds=2, calls=3, messages=20, drain_rounds=1, out=lines.append)
    lat = res["latency"]["summary"]
    assert set(lat) == {"direct", *bo.STORES}
    assert all(len(r) == 3 for name in lat for r in lat[name]["samples_s"])
    drain = res["drain"]["summary"]
    assert set(drain) == {"direct", *bo.DRAIN_STORES}
    assert all(d["total_s"] > 0 and d["messages_per_s"] > 0 for d in drain.values())
    assert res["drain"]["messages"] == 20
    assert len(bo.target_lines(res)) == 4
    assert any(line.startswith("Drain: 20 TransactionEvents") for line in lines)


def test_fsync_probe_times_real_writes_and_cleans_up() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = bo.fsync_probe(Path(tmp), count=5)
        assert 0 < t < 10
        assert list(Path(tmp).iterdir()) == []
