"""A tiny real run of the device-model benchmark.

``.venv/bin/python -m pytest -q -p no:cacheprovider benchmarks/test_bench_devicemodel.py`` (about
3 s; plain ``pytest`` does not collect it: ``testpaths`` is ``["tests"]``).
"""

from __future__ import annotations

from benchmarks import bench_devicemodel as bd


def test_a_quick_run_measures_every_operation() -> None:
    lines: list[str] = []
    results = bd.run(quick=True, out=lines.append)
    assert results["variables"] == len(bd.definitions()) == 1004
    for name in ("get_variables_100", "set_variables_100 memory", "set_variables_100 sqlite", "full_inventory_1000"):
        assert results[name]["median_s"] > 0 and results[name]["samples"] == 5
    assert results["full_inventory_1000"]["messages"] == 11  # 1,004 entries by ItemsPerMessage 100
    assert results["full_inventory_1000"]["bytes"] > 100_000
    assert results["get_variables_100"]["response_bytes"] > 5_000
    assert any("NotifyReport messages" in line for line in lines)
