"""Device-model benchmark: the station's DeviceModel, sans-IO (docs/device-model-station.md).

``python -m benchmarks devicemodel [--quick]`` (or ``python -m benchmarks.bench_devicemodel``)

A model of 1,000 variables (100 controller-like components of 10 variables: integers with
limits, booleans, MemberLists, strings) on a :class:`~ocppkit.devicemodel.MemoryStore`:

get_variables_100
    ``model.get_variables`` of a GetVariablesRequest of 100 entries (spread over the components),
    then the response encoded with ``ocppkit.encode_payload`` (validated): seconds per request,
    and the response's bytes.
set_variables_100
    ``model.set_variables`` of 100 valid values (each checked and written through), memory and
    sqlite (``synchronous=NORMAL``; 100 single-row transactions) stores.
full_inventory_1000
    ``model.base_report`` FullInventory of the 1,000 variables, paged by ItemsPerMessage[GetReport]
    100 and BytesPerMessage[GetReport] 65,536, then every part encoded (validated): seconds per
    report, NotifyReport messages, total bytes.
open_sqlite_1000
    opening a :class:`~ocppkit.devicemodel.SqliteStore` of those 1,000 variables with the same
    definitions (load and start-up sync, nothing to change): seconds.

Medians of interleaved rounds (benchmarks/_timing.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import ocppkit
from ocppkit import v201
from ocppkit.devicemodel import Component, Definition, DeviceModel, MemoryStore, SqliteStore, VariableSpec

from ._timing import fmt_time, interleaved, median

__all__ = ["definitions", "run"]

AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def definitions(n_components: int = 100) -> list[Definition]:
    """100 components x 10 variables, plus the DeviceDataCtrlr limits of the report."""
    defs = []
    for c in range(n_components):
        comp = Component(f"BenchCtrlr{c:03d}")
        for v in range(10):
            kind = v % 4
            if kind == 0:
                spec = VariableSpec(f"Interval{v}", data_type="integer", unit="s", min_limit=0, max_limit=86400)
                value = "300"
            elif kind == 1:
                spec = VariableSpec(f"Enabled{v}", data_type="boolean")
                value = "true"
            elif kind == 2:
                spec = VariableSpec(f"Modes{v}", data_type="MemberList", values_list=("A", "B", "C", "D"))
                value = "A,C"
            else:
                spec = VariableSpec(f"Label{v}", data_type="string", max_limit=50)
                value = f"label of {c}.{v}"
            defs.append(Definition(comp, spec, {"Actual": value}))
    data = Component("DeviceDataCtrlr")
    for name, instance, value in (
        ("ItemsPerMessage", "GetReport", "100"),
        ("BytesPerMessage", "GetReport", "65536"),
        ("ItemsPerMessage", "GetVariables", "1000"),
        ("ItemsPerMessage", "SetVariables", "1000"),
    ):
        spec = VariableSpec(name, instance, "integer", mutability="ReadOnly")
        defs.append(Definition(data, spec, {"Actual": value}))
    return defs


def _get_request() -> v201.GetVariablesRequest:
    return v201.GetVariablesRequest(
        get_variable_data=[
            v201.GetVariableDataType(
                component=v201.ComponentType(name=f"BenchCtrlr{i:03d}"),
                variable=v201.VariableType(name=f"Interval{i % 3 * 4}"),
            )
            for i in range(100)
        ]
    )


def _set_request() -> v201.SetVariablesRequest:
    return v201.SetVariablesRequest(
        set_variable_data=[
            v201.SetVariableDataType(
                component=v201.ComponentType(name=f"BenchCtrlr{i:03d}"),
                variable=v201.VariableType(name="Interval4"),
                attribute_value=str(60 + i),
            )
            for i in range(100)
        ]
    )


def run(*, quick: bool, out: Any = print) -> dict[str, Any]:
    """Run the benchmark; returns the results (JSON-able)."""
    repeats = 5 if quick else 15
    defs = definitions()
    model = DeviceModel("2.0.1", MemoryStore(), defs)
    results: dict[str, Any] = {"variables": len(defs)}
    get_req, set_req = _get_request(), _set_request()
    sizes: dict[str, Any] = {}

    def get_loop(n: int) -> None:
        for _ in range(n):
            sizes["get"] = len(ocppkit.encode_payload(model.get_variables(get_req)))

    def report_loop(n: int) -> None:
        for _ in range(n):
            _, parts = model.base_report(
                v201.GetBaseReportRequest(request_id=1, report_base=v201.ReportBaseEnumType.FULL_INVENTORY),
                generated_at=AT,
            )
            sizes["report"] = (len(parts), sum(len(ocppkit.encode_payload(p)) for p in parts))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite"
        on_file = DeviceModel("2.0.1", SqliteStore(path), defs)

        def set_memory(n: int) -> None:
            for _ in range(n):
                model.set_variables(set_req)

        def set_sqlite(n: int) -> None:
            for _ in range(n):
                on_file.set_variables(set_req)

        def open_sqlite(n: int) -> None:
            for _ in range(n):
                DeviceModel("2.0.1", SqliteStore(path), defs).store.close()

        loops = {
            "get_variables_100": (get_loop, 20 if quick else 50),
            "set_variables_100 memory": (set_memory, 20 if quick else 50),
            "set_variables_100 sqlite": (set_sqlite, 2 if quick else 5),
            "full_inventory_1000": (report_loop, 2 if quick else 5),
            "open_sqlite_1000": (open_sqlite, 2 if quick else 5),
        }
        t0 = time.perf_counter()
        samples = interleaved(loops, repeats)
        on_file.store.close()
    for name, xs in samples.items():
        results[name] = {"median_s": median(xs), "samples": len(xs)}
    results["get_variables_100"]["response_bytes"] = sizes["get"]
    results["full_inventory_1000"]["messages"], results["full_inventory_1000"]["bytes"] = sizes["report"]
    results["elapsed_s"] = time.perf_counter() - t0
    out(f"device model: {len(defs)} variables, memory store unless named; medians of {repeats} rounds")
    for name in loops:
        extra = ""
        if name == "get_variables_100":
            extra = f"  response {sizes['get']} bytes"
        elif name == "full_inventory_1000":
            extra = f"  {sizes['report'][0]} NotifyReport messages, {sizes['report'][1]} bytes"
        out(f"  {name:<26} {fmt_time(results[name]['median_s']):>10}{extra}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    run(quick=args.quick)


if __name__ == "__main__":
    main()
