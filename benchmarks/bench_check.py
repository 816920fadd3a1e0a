"""``python -m benchmarks.bench_check [--quick] [--lines N ...] [--keep DIR]``: `ocppkit check` on big JSON Lines.

Writes a seeded JSON Lines log of realistic OCPP 2.0.1 CSMS traffic (many stations interleaved;
Heartbeat, StatusNotification, MeterValues, TransactionEvent Started/Updated/Ended, Authorize and
a CSMS-initiated GetVariables, each followed by its CALLRESULT; every payload schema-valid), then
checks it in a fresh process per size and reports frames per second and the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) next to the RSS of the same process right
before the check, so memory flatness is visible across sizes. The check must find nothing:
the benchmark measures the clean path, which is what a multi-gigabyte log mostly is.

Default sizes: 1,000,000 and 5,000,000 lines (about 0.3 and 1.5 GB); ``--quick``: 200,000.
Targets: >= 100,000 frames/s on one core; peak RSS of the largest size within 10 % (+16 MB) of
the smallest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 20240601
BASE = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc).timestamp()

_CHILD = r"""
import json, resource, sys, time
from ocppkit.check.analyze import Analyzer, Options
from ocppkit.check.inputs import open_source
import ocppkit.v201  # imported before the baseline: every run needs it
path = sys.argv[1]
a = Analyzer(Options(version=sys.argv[2]))
a.codec("2.0.1")
import gc; gc.collect(); gc.freeze()  # as `ocppkit check` does
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter(); c0 = time.process_time()
a.run(open_source(path))
t1 = time.perf_counter(); c1 = time.process_time()
s = a.summary()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"frames": s.frames, "wall": t1 - t0, "cpu": c1 - c0, "rss_before_kb": base, "rss_peak_kb": peak,
                  "findings": s.by_kind, "stations": len(s.stations)}))
"""


def _iso(t: float) -> str:
    d = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


def generate(path: Path, lines: int, stations: int = 500) -> dict[str, int]:
    """Write ``lines`` JSON Lines (calls and their results) to ``path``; returns counts per action."""
    rng = random.Random(SEED)
    counts: dict[str, int] = {}
    names = [f"CS{n:05d}" for n in range(stations)]
    seq = dict.fromkeys(names, 0)
    tx = dict.fromkeys(names, 0)
    energy = dict.fromkeys(names, 0.0)
    # action weights per station turn (what a busy CSMS log looks like)
    plan = (
        ["Heartbeat"] * 30
        + ["StatusNotification"] * 20
        + ["MeterValues"] * 20
        + ["TransactionEvent"] * 25
        + ["Authorize"] * 3
        + ["GetVariables"] * 2
    )
    t = BASE
    written = 0
    uid_n = 0
    busy: set[str] = set()  # stations with a call outstanding (one at a time, as OCPP wants)
    results: list[tuple[float, str, str]] = []  # heap of (time, line, station) still to write
    with open(path, "w", buffering=1 << 20) as f:
        w = f.write
        while written < lines:
            t += rng.uniform(0.0005, 0.004)
            while results and results[0][0] <= t:
                _, line, done = heapq.heappop(results)
                w(line)
                busy.discard(done)
                written += 1
            st = names[rng.randrange(stations)]
            if st in busy:
                continue
            action = plan[rng.randrange(len(plan))]
            ts = _iso(t)
            uid_n += 1
            uid = f"{uid_n:08x}-5f0c-4b1e-9a57-0e3c2d1b9a10"
            rt = rng.uniform(0.005, 0.150)
            tr = _iso(t + rt)
            if action == "Heartbeat":
                call, result, sender = "{}", _dumps({"currentTime": ts}), "in"
            elif action == "StatusNotification":
                call = _dumps(
                    {
                        "timestamp": ts,
                        "connectorStatus": rng.choice(["Available", "Occupied", "Reserved"]),
                        "evseId": rng.randrange(1, 3),
                        "connectorId": 1,
                    }
                )
                result, sender = "{}", "in"
            elif action == "MeterValues":
                energy[st] += rng.uniform(10, 500)
                call = _dumps(
                    {
                        "evseId": 1,
                        "meterValue": [
                            {
                                "timestamp": ts,
                                "sampledValue": [
                                    {
                                        "value": round(energy[st], 1),
                                        "measurand": "Energy.Active.Import.Register",
                                        "unitOfMeasure": {"unit": "Wh"},
                                    },
                                    {"value": round(rng.uniform(3000, 22000), 1), "measurand": "Power.Active.Import"},
                                    {
                                        "value": round(rng.uniform(6, 32), 2),
                                        "measurand": "Current.Import",
                                        "phase": "L1",
                                    },
                                ],
                            }
                        ],
                    }
                )
                result, sender = "{}", "in"
            elif action == "TransactionEvent":
                seq[st] += 1
                kind = "Updated" if seq[st] % 10 else ("Started" if (seq[st] // 10) % 2 else "Ended")
                if kind == "Started":
                    tx[st] += 1
                body: dict[str, object] = {
                    "eventType": kind,
                    "timestamp": ts,
                    "triggerReason": {
                        "Started": "Authorized",
                        "Updated": "MeterValuePeriodic",
                        "Ended": "StopAuthorized",
                    }[kind],
                    "seqNo": seq[st],
                    "transactionInfo": {"transactionId": f"{st}-{tx[st]}", "chargingState": "Charging"},
                    "evse": {"id": 1, "connectorId": 1},
                    "meterValue": [
                        {
                            "timestamp": ts,
                            "sampledValue": [
                                {
                                    "value": round(energy[st], 1),
                                    "context": "Sample.Periodic",
                                    "measurand": "Energy.Active.Import.Register",
                                },
                                {
                                    "value": round(rng.uniform(3000, 22000), 1),
                                    "context": "Sample.Periodic",
                                    "measurand": "Power.Active.Import",
                                },
                            ],
                        }
                    ],
                }
                if kind == "Started":
                    body["idToken"] = {"idToken": f"TAG{rng.randrange(10**6):06d}", "type": "ISO14443"}
                call = _dumps(body)
                result = _dumps({"idTokenInfo": {"status": "Accepted"}}) if kind == "Started" else "{}"
                sender = "in"
            elif action == "Authorize":
                call = _dumps({"idToken": {"idToken": f"TAG{rng.randrange(10**6):06d}", "type": "ISO14443"}})
                result, sender = _dumps({"idTokenInfo": {"status": "Accepted"}}), "in"
            else:  # GetVariables, CSMS -> station
                call = _dumps(
                    {
                        "getVariableData": [
                            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
                        ]
                    }
                )
                result = _dumps(
                    {
                        "getVariableResult": [
                            {
                                "attributeStatus": "Accepted",
                                "attributeValue": "300",
                                "component": {"name": "OCPPCommCtrlr"},
                                "variable": {"name": "HeartbeatInterval"},
                            }
                        ]
                    }
                )
                sender = "out"
            back = "out" if sender == "in" else "in"
            w(_dumps({"ts": ts, "dir": sender, "station": st, "frame": f'[2,"{uid}","{action}",{call}]'}) + "\n")
            heapq.heappush(
                results,
                (t + rt, _dumps({"ts": tr, "dir": back, "station": st, "frame": f'[3,"{uid}",{result}]'}) + "\n", st),
            )
            busy.add(st)
            written += 1
            counts[action] = counts.get(action, 0) + 1
        while results:
            w(heapq.heappop(results)[1])
    return counts


def measure(path: Path, version: str) -> dict[str, object]:
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), version],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.bench_check", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one small size (200,000 lines), for CI")
    ap.add_argument("--lines", type=int, nargs="*", help="sizes in lines (default 1000000 5000000)")
    ap.add_argument(
        "--version",
        default="2.0.1",
        choices=["2.0.1", "auto"],
        help="--version given to the checker (auto adds the guess on each station's first calls)",
    )
    ap.add_argument("--keep", metavar="DIR", help="write (and keep) the logs in DIR instead of a temporary one")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    sizes = args.lines or ([200_000] if args.quick else [1_000_000, 5_000_000])
    import msgspec

    import ocppkit

    print(
        f"ocppkit {ocppkit.__version__} (codec: {ocppkit.IMPLEMENTATION}), msgspec {msgspec.__version__}, "
        f"Python {platform.python_version()}, {platform.platform()}, load {os.getloadavg()[0]:.2f}"
    )
    results = []
    tmp = tempfile.TemporaryDirectory() if not args.keep else None
    folder = Path(args.keep or tmp.name)  # type: ignore[union-attr]
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for n in sizes:
            path = folder / f"check-{n}.jsonl"
            if not path.exists():
                t0 = time.perf_counter()
                counts = generate(path, n)
                print(
                    f"wrote {path} ({path.stat().st_size / 1e6:,.0f} MB, {n:,} lines, calls: {counts}) in "
                    f"{time.perf_counter() - t0:.1f} s"
                )
            r = measure(path, args.version)
            r["lines"] = n
            r["bytes"] = path.stat().st_size
            r["frames_per_s"] = r["frames"] / r["wall"]  # type: ignore[operator]
            r["frames_per_cpu_s"] = r["frames"] / r["cpu"]  # type: ignore[operator]
            results.append(r)
            print(
                f"{n:>10,} lines  {r['frames']:>10,} frames  {r['wall']:7.2f} s wall  {r['cpu']:7.2f} s cpu  "
                f"{r['frames_per_s']:>10,.0f} frames/s ({r['frames_per_cpu_s']:,.0f} per CPU second)  "
                f"RSS before {r['rss_before_kb'] / 1024:6.1f} MB  "
                f"peak {r['rss_peak_kb'] / 1024:6.1f} MB  findings {r['findings'] or 'none'}"
            )
            if path.exists() and not args.keep:
                path.unlink()
    finally:
        if tmp is not None:
            tmp.cleanup()
    # one core: the rate per CPU second of the checking process (wall time also counts the other
    # tenants of a shared machine); both are printed above
    rate_ok = all(r["frames_per_cpu_s"] >= 100_000 for r in results)  # type: ignore[operator]
    print(
        f"target frames per CPU second >= 100,000: {'PASS' if rate_ok else 'MISS'} "
        f"(min {min(r['frames_per_cpu_s'] for r in results):,.0f})"  # type: ignore[type-var]
    )
    if len(results) > 1:
        small, big = results[0]["rss_peak_kb"], results[-1]["rss_peak_kb"]
        flat = big <= small * 1.10 + 16 * 1024  # type: ignore[operator]
        print(
            f"target flat memory (peak RSS at {results[-1]['lines']:,} lines within 10 % + 16 MB of "
            f"{results[0]['lines']:,}): {'PASS' if flat else 'MISS'} ({small / 1024:.1f} -> {big / 1024:.1f} MB)"
        )
    clean = all(not r["findings"] for r in results)
    print(f"clean log gave no finding: {'PASS' if clean else 'MISS'}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
