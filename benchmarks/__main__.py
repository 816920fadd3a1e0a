"""``python -m benchmarks [WHICH|all] [--quick]``, WHICH one of payload, codec, import, rpc, load, attack,
outbox, cluster, devicemodel, smartcharging: see README.md."""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from . import (
    _loops,
    bench_attack,
    bench_cluster,
    bench_codec,
    bench_devicemodel,
    bench_import,
    bench_load,
    bench_outbox,
    bench_payload,
    bench_rpc,
    bench_smartcharging,
)


def _versions() -> dict[str, str]:
    import msgspec

    import ocppkit

    try:
        ocpp_version = metadata.version("ocpp")
    except metadata.PackageNotFoundError:  # pragma: no cover
        ocpp_version = "not installed"
    return {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "msgspec": msgspec.__version__,
        "ocpp": ocpp_version,
        "ocppkit": ocppkit.__version__,
    }


def _source_state() -> dict[str, Any]:
    """Which ocppkit code was measured: git HEAD, dirty flag, and a hash of ocppkit's sources."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted((root / "ocppkit").rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    state: dict[str, Any] = {"ocppkit_sources_sha256": h.hexdigest()[:16]}
    try:
        git = ["git", "-C", str(root)]
        state["git_head"] = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "ocppkit"], capture_output=True, text=True, check=True
        ).stdout
        state["ocppkit_uncommitted_changes"] = bool(dirty.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return state


def _machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        pass
    try:
        info["loadavg_at_start"] = list(os.getloadavg())
    except OSError:  # pragma: no cover
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "which",
        nargs="?",
        choices=(
            "payload",
            "codec",
            "import",
            "rpc",
            "load",
            "attack",
            "outbox",
            "cluster",
            "devicemodel",
            "smartcharging",
            "all",
        ),
        default="all",
        help="`all`: payload, codec, import, rpc, attack, outbox, devicemodel, smartcharging;"
        " load and cluster when --quick or --with-load",
    )
    parser.add_argument(
        "--quick", action="store_true", help="short run for CI (`all --quick` about 70-80 s, load and attack included)"
    )
    parser.add_argument("--json", metavar="FILE", help="also write machine-readable results to FILE")
    parser.add_argument("--repeats", type=int, help="payload, codec, rpc: interleaved rounds (default 31, quick 15)")
    parser.add_argument(
        "--sample-time", type=float, help="payload, codec, rpc: seconds per timed sample (default 0.05, quick 0.005)"
    )
    parser.add_argument("--runs", type=int, help="import: processes per case (default 15, quick 5)")
    parser.add_argument(
        "--with-load",
        action="store_true",
        help="all: also run the full load benchmark (about 100 s; `all --quick` runs the quick one)",
    )
    parser.add_argument("--stations", type=int, help="load: simulated stations (default 1000, quick 100)")
    parser.add_argument(
        "--duration", type=float, help="load: seconds of measured load per server (default 15, quick 3)"
    )
    parser.add_argument("--rounds", type=int, help="load: rounds, each runs both servers (default 2, quick 1)")
    parser.add_argument("--load-version", default="2.0.1", choices=("2.0.1", "1.6"), help="load: OCPP version")
    parser.add_argument("--cluster-stations", type=int, help="cluster: stations on two nodes (default 1000, quick 200)")
    parser.add_argument("--flooders", type=int, help="attack: hostile connections (default 30)")
    parser.add_argument(
        "--attack-duration", type=float, help="attack: seconds of Heartbeats per trial (default 10, quick 3)"
    )
    parser.add_argument("--attack-rounds", type=int, help="attack: rounds of the three contenders (default 3, quick 2)")
    parser.add_argument(
        "--outbox-messages", type=int, help="outbox: messages queued for the drain (default 10000, quick 500)"
    )
    parser.add_argument(
        "--outbox-rounds", type=int, help="outbox: latency rounds (default 9, quick 4) of --outbox-calls calls each"
    )
    parser.add_argument(
        "--outbox-calls", type=int, help="outbox: calls per contender and round (default 100, quick 40)"
    )
    _loops.add_loop_option(parser)  # rpc: Session round trips on both loops; inherited by the servers started
    args = parser.parse_args(argv)

    versions, machine, source = _versions(), _machine(), _source_state()
    started = time.perf_counter()
    print("ocppkit benchmarks" + (" (quick)" if args.quick else ""))
    print(
        "  "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "python_implementation")
        + f" ({versions['python_implementation']})"
    )
    print(
        f"  {machine['platform']}; {machine.get('usable_cpus', machine['cpu_count'])} usable CPU(s); "
        f"load average {', '.join(f'{x:.2f}' for x in machine.get('loadavg_at_start', []))}"
    )
    dirty = source.get("ocppkit_uncommitted_changes")
    print(
        f"  ocppkit source: git {source.get('git_head', '?')}"
        + (" + uncommitted changes under ocppkit/" if dirty else "")
        + f"; sources sha256 {source['ocppkit_sources_sha256']}"
    )
    print()

    results: dict[str, Any] = {
        "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "versions": versions,
        "machine": machine,
        "source": source,
    }
    if args.which in ("payload", "all"):
        results["payload"] = bench_payload.run(quick=args.quick, sample_time=args.sample_time, repeats=args.repeats)
        print()
    if args.which in ("codec", "all"):
        results["codec"] = bench_codec.run(quick=args.quick, sample_time=args.sample_time, repeats=args.repeats)
        print()
    if args.which in ("import", "all"):
        results["import"] = bench_import.run(quick=args.quick, runs=args.runs)
        print()
    if args.which in ("rpc", "all"):
        results["rpc"] = bench_rpc.run(
            quick=args.quick, sample_time=args.sample_time, repeats=args.repeats, event_loop=args.loop
        )
        print()
    if args.which == "load" or (args.which == "all" and (args.quick or args.with_load)):
        results["load"] = bench_load.run(
            quick=args.quick,
            stations=args.stations,
            duration=args.duration,
            rounds=args.rounds,
            version=args.load_version,
        )
        print()

    if args.which == "cluster" or (args.which == "all" and (args.quick or args.with_load)):
        results["cluster"] = bench_cluster.run(quick=args.quick, stations=args.cluster_stations)
        print()

    if args.which in ("attack", "all"):
        results["attack"] = bench_attack.run(
            quick=args.quick, flooders=args.flooders, duration=args.attack_duration, rounds=args.attack_rounds
        )
        print()

    if args.which in ("outbox", "all"):
        results["outbox"] = bench_outbox.run(
            quick=args.quick, rounds=args.outbox_rounds, calls=args.outbox_calls, messages=args.outbox_messages
        )
        print()

    if args.which in ("devicemodel", "all"):
        results["devicemodel"] = bench_devicemodel.run(quick=args.quick)
    if args.which in ("smartcharging", "all"):
        results["smartcharging"] = bench_smartcharging.run(quick=args.quick, repeats=args.repeats)
        print()

    targets = []
    for row in results.get("payload", {}).get("inputs", []):
        r = row["ratios"]
        targets.append(
            (
                f"payload {row['name']}: ocpp/ocppkit >= {bench_payload.TARGET_OCPP_RATIO:g}x",
                f"{r['ocpp_over_ocppkit']:.1f}x",
                row["targets"]["ocpp_over_ocppkit_ge_100"],
            )
        )
        targets.append(
            (
                f"payload {row['name']}: ocppkit/msgspec-untyped <= {bench_payload.TARGET_UNTYPED_RATIO:g}x",
                f"{r['ocppkit_over_msgspec_untyped']:.2f}x",
                row["targets"]["ocppkit_over_untyped_le_1.3"],
            )
        )
    if "codec" in results:
        targets.extend(bench_codec.target_lines(results["codec"]))
    if "import" in results:
        imp = results["import"]
        kit_ms = imp["cases"]["ocppkit.v201"]["over_bare_s"] * 1e3
        targets.append(
            (
                f"import ocppkit.v201 over bare <= {bench_import.TARGET_V201_MS:g} ms (this machine)",
                f"{kit_ms:.1f} ms",
                imp["targets"]["ocppkit_v201_over_bare_le_60ms"],
            )
        )
        targets.append(
            (
                f"import ocppkit.v201 normalized to reference (ocpp.v201 = "
                f"{bench_import.REFERENCE_OCPP_V201_MS:g} ms) <= {bench_import.TARGET_V201_MS:g} ms",
                f"{imp['ocppkit_v201_normalized_ms']:.1f} ms",
                imp["targets"]["ocppkit_v201_normalized_le_60ms"],
            )
        )
    if "rpc" in results:
        targets.extend(bench_rpc.target_lines(results["rpc"]))
    if "load" in results:
        targets.extend(bench_load.target_lines(results["load"]))
    if "attack" in results:
        targets.extend(bench_attack.target_lines(results["attack"]))
    if "outbox" in results:
        targets.extend(bench_outbox.target_lines(results["outbox"]))
    if "cluster" in results:
        targets.extend(bench_cluster.target_lines(results["cluster"]))
    if "smartcharging" in results:
        targets.extend(bench_smartcharging.target_lines(results["smartcharging"]))
    results["targets"] = [{"target": t, "measured": m, "pass": ok} for t, m, ok in targets]
    results["elapsed_s"] = time.perf_counter() - started

    print("Targets")
    width = max((len(t) for t, _, _ in targets), default=0)
    for t, m, ok in targets:
        print(f"  {'PASS' if ok else 'MISS'}  {t:<{width}}  {m:>10}")
    print(f"\n(finished in {results['elapsed_s']:.1f} s)")

    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
            f.write("\n")
        print(f"results written to {args.json}")
    return 0  # targets missed are reported, not failed


if __name__ == "__main__":
    sys.exit(main())
