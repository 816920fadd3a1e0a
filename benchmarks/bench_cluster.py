"""The cluster on a real redis-server (loopback): what routing a call through Redis costs.

``python -m benchmarks cluster [--quick]`` or ``python -m benchmarks.bench_cluster``:

1. latency: p50/p99 of a DataTransfer to one station, as a local ``call_local`` on the node
   that holds it and as ``Client.call`` through the cluster (sequential calls); rounds of the
   two alternate (ABBA), each round gives a paired difference; the added p50 (target < 1 ms) is
   the median of the rounds' differences;
2. throughput: calls/s through the cluster to 1,000 stations held by two nodes (quick: 200),
   ``--callers`` concurrent callers for ``--duration`` seconds;
3. CPU per call for locally held stations with and without the node attached (the station
   calls the CSMS and the CSMS calls the station), process CPU time (target <= +20%);
4. workers (not in ``--quick``; ``--workers-only`` runs it alone): the load benchmark's
   generator (``benchmarks.bench_load --generate``, its own process) against N server processes
   sharing one port with ``SO_REUSEPORT`` and the cluster, N = 1 and 2, alternating.

Processes (all on 127.0.0.1): redis-server (from PATH, no persistence); each node (a
``CSMSServer(router, node=..., cluster=Node(...))``, ``--node-proc``: what ``ocppkit serve
--cluster`` runs, without its frame printer); the stations (``--stations-proc``); the client
in this process. The local calls of (1) run inside the node process (asked on its stdin), so
both contenders are timed from the same distance: a caller process to the station's process.
Step 3 runs in one process (it measures that process's CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import resource
import select
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TARGET_ADDED_P50_MS = 1.0
TARGET_CPU_RATIO = 1.2
TARGET_WORKERS_RATIO = 1.0  # two workers serve more calls/s than one (reported, not a gate)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.cluster helpers


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _raise_nofile(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, need)), hard))


# ------------------------------------------------------------------ child processes


async def _node_main(url: str, name: str, port: int, reuse_port: bool) -> None:
    """A node: prints ``READY port``; stdin ``local ID N`` -> one JSON line of N latencies (s)."""
    from ocppkit.adapters.websockets import CSMSServer
    from ocppkit.cluster import Node
    from tests.cluster.helpers import dt, routers

    _raise_nofile(8192)
    node = Node(url, node=name)
    # /ocpp/<identity>, as the load generator connects; no call rate limit (a measured load)
    csms = CSMSServer(routers(), node=name, cluster=node, reuse_port=reuse_port, max_call_rate=0, path_prefix="/ocpp/")
    await csms.start("127.0.0.1", port)
    print(f"READY {csms.port}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    req = dt("x")
    clock = time.perf_counter
    while line := (await reader.readline()).decode().split():
        if line[0] == "local":
            out = []
            for _ in range(int(line[2])):
                t = clock()
                await csms.call_local(line[1], req)
                out.append(clock() - t)
            print(json.dumps(out), flush=True)
    await csms.close()


async def _stations_main(ports: list[int], count: int, prefix: str) -> None:
    """``count`` echo stations, station i on ``ports[i % len(ports)]``; ``READY`` once all are
    connected; they leave when stdin closes."""
    from tests.cluster.helpers import EchoStation

    _raise_nofile(4 * count + 1024)
    echo = [EchoStation(f"ws://127.0.0.1:{ports[i % len(ports)]}/ocpp/", f"{prefix}{i:05d}") for i in range(count)]
    for i in range(0, count, 100):
        await asyncio.gather(*(s.__aenter__() for s in echo[i : i + 100]))
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()
    for i in range(0, count, 100):
        await asyncio.gather(*(s.__aexit__() for s in echo[i : i + 100]))


def _spawn(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_cluster", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.startswith("READY"):
        _stop(proc)
        raise RuntimeError(f"bench_cluster {' '.join(args)}: did not start (got {line!r})")
    return proc, line


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.stdin is not None and not proc.stdin.closed:
        try:
            proc.stdin.close()
        except OSError:
            pass
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _start_node(url: str, name: str, port: int = 0, reuse_port: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    extra = ["--reuse-port"] if reuse_port else []
    proc, line = _spawn("--node-proc", name, "--url", url, "--port", str(port), *extra)
    return proc, int(line.split()[1])


def _start_stations(ports: list[int], count: int, prefix: str) -> subprocess.Popen[bytes]:
    return _spawn("--stations-proc", str(count), "--ports", ",".join(map(str, ports)), "--prefix", prefix)[0]


# ------------------------------------------------------------------ 1. latency


async def _latency(url: str, rounds: int, per_round: int) -> dict[str, Any]:
    from ocppkit.cluster import Client
    from tests.cluster.helpers import dt

    node, port = _start_node(url, "bench-a")
    stations = _start_stations([port], 1, "LAT")
    ident = "LAT00000"
    client = Client(url)
    local: list[list[float]] = []
    remote: list[list[float]] = []
    assert node.stdin is not None and node.stdout is not None
    loop = asyncio.get_running_loop()

    def ask_local(n: int) -> list[float]:
        node.stdin.write(f"local {ident} {n}\n".encode())  # type: ignore[union-attr]
        node.stdin.flush()  # type: ignore[union-attr]
        got: list[float] = json.loads(node.stdout.readline())  # type: ignore[union-attr]
        return got

    async def cluster_round(n: int) -> list[float]:
        out = []
        clock = time.perf_counter
        for _ in range(n):
            t = clock()
            await client.call(ident, req)
            out.append(clock() - t)
        return out

    load = _loadavg()
    try:
        req = dt("x")
        while not [s for s in await client.stations() if s.identity == ident]:
            await asyncio.sleep(0.05)
        await loop.run_in_executor(None, ask_local, 100)  # warm up both paths
        await cluster_round(100)
        for r in range(rounds):
            if r % 4 in (0, 3):  # ABBA
                local.append(await loop.run_in_executor(None, ask_local, per_round))
                remote.append(await cluster_round(per_round))
            else:
                remote.append(await cluster_round(per_round))
                local.append(await loop.run_in_executor(None, ask_local, per_round))
    finally:
        await client.close()
        _stop(stations)
        _stop(node)
    every_local = [x for r in local for x in r]
    every_remote = [x for r in remote for x in r]
    added = [_pct(c, 0.5) - _pct(lo, 0.5) for c, lo in zip(remote, local, strict=True)]
    ratios = [_pct(c, 0.5) / _pct(lo, 0.5) for c, lo in zip(remote, local, strict=True)]
    return {
        "calls_each": len(every_local),
        "rounds": rounds,
        "local_p50_ms": _pct(every_local, 0.5) * 1e3,
        "local_p99_ms": _pct(every_local, 0.99) * 1e3,
        "cluster_p50_ms": _pct(every_remote, 0.5) * 1e3,
        "cluster_p99_ms": _pct(every_remote, 0.99) * 1e3,
        "added_p50_ms": statistics.median(added) * 1e3,
        "added_p50_rounds_ms": [round(a * 1e3, 3) for a in added],
        "paired_ratio_p50": statistics.median(ratios),
        "loadavg_before": load,
        "loadavg_after": _loadavg(),
    }


# ------------------------------------------------------------------ 2. throughput


async def _throughput(url: str, stations: int, callers: int, duration: float) -> dict[str, Any]:
    from ocppkit.cluster import Client
    from tests.cluster.helpers import dt

    a, port_a = _start_node(url, "bench-a")
    b, port_b = _start_node(url, "bench-b")
    fleet = _start_stations([port_a, port_b], stations, "CP")
    ids = [f"CP{i:05d}" for i in range(stations)]
    client = Client(url)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    load = _loadavg()
    try:
        while len(await client.stations()) < stations:
            await asyncio.sleep(0.1)
        rng = random.Random(13)
        end = time.perf_counter() + duration

        async def caller() -> None:
            req = dt("x")
            while time.perf_counter() < end:
                t = time.perf_counter()
                try:
                    await client.call(rng.choice(ids), req, timeout=10)
                    latencies.append(time.perf_counter() - t)
                except Exception as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    await asyncio.sleep(0.01)

        started = time.perf_counter()
        cpu0 = _cpu()
        await asyncio.gather(*(caller() for _ in range(callers)))
        elapsed = time.perf_counter() - started
        client_cpu = (_cpu() - cpu0) / elapsed
    finally:
        await client.close()
        _stop(fleet)
        _stop(a)
        _stop(b)
    return {
        "stations": stations,
        "callers": callers,
        "duration_s": elapsed,
        "calls": len(latencies),
        "errors": errors,
        "calls_per_s": len(latencies) / elapsed,
        "p50_ms": _pct(latencies, 0.5) * 1e3 if latencies else None,
        "p99_ms": _pct(latencies, 0.99) * 1e3 if latencies else None,
        "client_cpu_fraction": client_cpu,
        "loadavg_before": load,
        "loadavg_after": _loadavg(),
    }


# ------------------------------------------------------------------ 3. CPU per call


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _cpu_per_call(url: str, stations: int, calls: int, with_cluster: bool) -> float:
    from ocppkit import v201
    from ocppkit.adapters.websockets import CSMSServer
    from tests.cluster.helpers import EchoStation, dt, routers
    from tests.cluster.nodes import start_csms

    unlimited = {"max_call_rate": 0}  # the stations call as fast as they can
    if with_cluster:
        csms, _ = await start_csms(url, "bench-cpu", routers(), csms_kw=unlimited)
    else:
        csms = CSMSServer(routers(), **unlimited)
        await csms.start("127.0.0.1", 0)
    echo = [EchoStation(f"ws://127.0.0.1:{csms.port}/", f"CPU{i}") for i in range(stations)]
    try:
        await asyncio.gather(*(s.__aenter__() for s in echo))
        await asyncio.sleep(0.3)
        req = dt("x")
        per_station = calls // stations

        async def both_ways(s: EchoStation) -> None:
            for _ in range(per_station // 2):
                await csms.call_local(s.identity, req)  # the CSMS calls the station
                await s.station.call(v201.HeartbeatRequest())  # the station calls the CSMS

        before = _cpu()
        await asyncio.gather(*(both_ways(s) for s in echo))
        used = _cpu() - before
    finally:
        await asyncio.gather(*(s.__aexit__() for s in echo))
        await csms.close()
    return used / (per_station * stations)


# ------------------------------------------------------------------ 4. workers


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_cli(url: str, workers: int, port: int, log: Any) -> tuple[subprocess.Popen[bytes], list[int]]:
    """``ocppkit serve --workers N --cluster URL`` (its frame printer writing to ``log``); the
    serving pids once every worker listens."""
    cmd = [sys.executable, "-m", "ocppkit", "serve", "--port", str(port), "--cluster", url, "--node", f"cli{workers}"]
    cmd += ["--max-call-rate", "0", "--path-prefix", "/ocpp/"] + (["--workers", str(workers)] if workers > 1 else [])
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        with open(log.name, encoding="utf-8", errors="replace") as f:
            text = f.read()
        if text.count("CSMS listening") >= workers:
            pids = [proc.pid]
            if workers > 1:
                pids = [int(p) for p in text.split("(pids ", 1)[1].split(")", 1)[0].split(", ")]
            return proc, pids
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"ocppkit serve --workers {workers} did not start: {text[-2000:]}")


def _workers_once(url: str, workers: int, stations: int, duration: float, cli: bool) -> dict[str, Any]:
    import tempfile

    from tests.adapters.aio import free_port

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="ocppkit-bench-serve-", suffix=".log")
    cli_proc = None
    if cli:
        cli_proc, pids = _start_cli(url, workers, port, log)
        procs = []
    else:
        procs = [_start_node(url, f"w{workers}-{i}", port, reuse_port=True)[0] for i in range(workers)]
        pids = [p.pid for p in procs]
    load = _loadavg()
    try:
        cpu0 = [_proc_cpu(p) for p in pids]
        t0 = time.perf_counter()
        gen = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_load", "--generate", "--port", str(port)]
            + ["--server-pid", str(pids[0]), "--stations", str(stations), "--duration", str(duration)]
            + ["--warmup", "1.0", "--deadline", "240"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        elapsed = time.perf_counter() - t0
        cpu = sum(_proc_cpu(p) - c for p, c in zip(pids, cpu0, strict=True))
    finally:
        for p in procs:
            _stop(p)
        if cli_proc is not None:
            cli_proc.send_signal(signal.SIGTERM)
            try:
                cli_proc.wait(20)
            except subprocess.TimeoutExpired:
                cli_proc.kill()
                cli_proc.wait(5)
        log.close()
    if gen.returncode != 0:
        raise RuntimeError(f"load generator failed: {gen.stderr[-2000:]}")
    res: dict[str, Any] = json.loads(gen.stdout.strip().splitlines()[-1])
    return {
        "workers": workers,
        "server": "ocppkit serve" if cli else "CSMSServer+Node",
        "calls_per_s": res["calls_per_s"],
        "p50_ms": res["latency_s"]["p50"] * 1e3,
        "p99_ms": res["latency_s"]["p99"] * 1e3,
        "errors": res["errors"],
        "generator_cpu_fraction": res["generator_cpu_fraction"],
        "servers_cpu_fraction_whole_run": cpu / elapsed,
        "loadavg": load,
    }


def _workers(url: str, stations: int, duration: float, rounds: int, cli: bool) -> dict[str, Any]:
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for r in range(rounds):
        for w in (1, 2) if r % 2 == 0 else (2, 1):
            runs[w].append(_workers_once(url, w, stations, duration, cli))
    ratios = [b["calls_per_s"] / a["calls_per_s"] for a, b in zip(runs[1], runs[2], strict=True)]
    keys = ("calls_per_s", "p99_ms", "generator_cpu_fraction", "servers_cpu_fraction_whole_run")
    med = {w: {k: statistics.median(x[k] for x in rs) for k in keys} for w, rs in runs.items()}
    return {
        "server": "ocppkit serve" if cli else "CSMSServer+Node",
        "stations": stations,
        "duration_s": duration,
        "runs": runs,
        "median": med,
        "paired_ratio_calls_per_s": statistics.median(ratios),
        "ratios": ratios,
    }


# ------------------------------------------------------------------ the parent


def run(
    *,
    quick: bool = False,
    stations: int | None = None,
    duration: float | None = None,
    callers: int | None = None,
    workers: bool | None = None,
    only: str | None = None,
) -> dict[str, Any]:
    from tests.cluster.redisd import RedisServer

    logging.getLogger("ocppkit").setLevel(logging.ERROR)
    stations = stations or (200 if quick else 1000)
    duration = duration or (2.0 if quick else 8.0)
    callers = callers or (50 if quick else 200)
    rounds, per_round = (4, 100) if quick else (8, 300)
    workers = (not quick) if workers is None else workers
    _raise_nofile(8 * stations + 1024)
    server = RedisServer()
    server.start()
    out: dict[str, Any] = {"loadavg_start": _loadavg()}
    try:
        print(f"cluster (redis-server, nodes, stations and client in separate processes; load {_loadavg()})")
        if only in (None, "latency"):
            lat = out["latency"] = asyncio.run(_latency(server.url, rounds, per_round))
            print(
                f"  latency ({lat['calls_each']} calls each, {lat['rounds']} ABBA rounds): local p50 "
                f"{lat['local_p50_ms']:.3f} ms, p99 {lat['local_p99_ms']:.3f} ms; through the cluster p50 "
                f"{lat['cluster_p50_ms']:.3f} ms, p99 {lat['cluster_p99_ms']:.3f} ms; added p50 (median of "
                f"rounds) {lat['added_p50_ms']:.3f} ms {lat['added_p50_rounds_ms']}, paired ratio "
                f"{lat['paired_ratio_p50']:.2f}x; load {lat['loadavg_before']}"
            )
        if only in (None, "throughput"):
            thr = out["throughput"] = asyncio.run(_throughput(server.url, stations, callers, duration))
            print(
                f"  throughput: {thr['stations']} stations on two nodes, {thr['callers']} callers, "
                f"{thr['duration_s']:.1f} s: {thr['calls_per_s']:.0f} calls/s (p50 {thr['p50_ms']:.2f} ms, "
                f"p99 {thr['p99_ms']:.2f} ms, errors {thr['errors'] or 'none'}; client CPU "
                f"{thr['client_cpu_fraction']:.0%}); load {thr['loadavg_before']}"
            )
        if only in (None, "cpu"):
            cpu_calls = 2000 if quick else 6000
            plain, node = [], []
            for _ in range(2):  # interleaved
                plain.append(asyncio.run(_cpu_per_call(server.url, 20, cpu_calls, False)))
                node.append(asyncio.run(_cpu_per_call(server.url, 20, cpu_calls, True)))
            cpu = out["cpu_per_call"] = {
                "without_cluster_us": min(plain) * 1e6,
                "with_cluster_us": min(node) * 1e6,
                "ratio": min(node) / min(plain),
            }
            print(
                f"  CPU per exchange (a CSMS call and a station call), local stations: without the node "
                f"{cpu['without_cluster_us']:.0f} us, with it {cpu['with_cluster_us']:.0f} us ({cpu['ratio']:.2f}x)"
            )
        for cli in (False, True) if workers and only in (None, "workers") else ():
            wk = _workers(server.url, stations, 5.0 if quick else 10.0, 2 if quick else 3, cli)
            out["workers_cli" if cli else "workers"] = wk
            m = wk["median"]
            print(
                f"  workers, {wk['server']} ({wk['stations']} stations of the load generator, "
                f"{wk['duration_s']:g} s windows): "
                f"1 worker {m[1]['calls_per_s']:.0f} calls/s (p99 {m[1]['p99_ms']:.1f} ms), 2 workers "
                f"{m[2]['calls_per_s']:.0f} calls/s (p99 {m[2]['p99_ms']:.1f} ms): paired ratio "
                f"{wk['paired_ratio_calls_per_s']:.2f}x {[round(r, 2) for r in wk['ratios']]}; the generator "
                f"takes {m[1]['generator_cpu_fraction']:.0%} / {m[2]['generator_cpu_fraction']:.0%} of a core, "
                f"the servers {m[1]['servers_cpu_fraction_whole_run']:.0%} / "
                f"{m[2]['servers_cpu_fraction_whole_run']:.0%} (whole run); load {wk['runs'][1][0]['loadavg']}"
            )
    finally:
        server.close()
    targets: dict[str, bool] = {}
    if "latency" in out:
        targets["added_p50_lt_1ms"] = out["latency"]["added_p50_ms"] < TARGET_ADDED_P50_MS
    if "cpu_per_call" in out:
        targets["cpu_ratio_le_1.2"] = out["cpu_per_call"]["ratio"] <= TARGET_CPU_RATIO
    if "workers" in out:
        targets["workers_2_over_1_gt_1"] = out["workers"]["paired_ratio_calls_per_s"] > TARGET_WORKERS_RATIO
    out["targets"] = targets
    return out


def target_lines(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    t = results["targets"]
    lines = []
    if "added_p50_lt_1ms" in t:
        lines.append(
            (
                f"cluster: call through Redis adds < {TARGET_ADDED_P50_MS:g} ms at p50 (loopback)",
                f"{results['latency']['added_p50_ms']:.3f} ms",
                t["added_p50_lt_1ms"],
            )
        )
    if "cpu_ratio_le_1.2" in t:
        lines.append(
            (
                f"cluster: CPU per call for local stations with the node <= {TARGET_CPU_RATIO:g}x",
                f"{results['cpu_per_call']['ratio']:.2f}x",
                t["cpu_ratio_le_1.2"],
            )
        )
    if "workers_2_over_1_gt_1" in t:
        lines.append(
            (
                "cluster: 2 workers serve more calls/s than 1 (2 cores, generator included)",
                f"{results['workers']['paired_ratio_calls_per_s']:.2f}x",
                t["workers_2_over_1_gt_1"],
            )
        )
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_cluster", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stations", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--callers", type=int)
    parser.add_argument("--workers", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--only", choices=("latency", "throughput", "cpu", "workers"))
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--node-proc", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stations-proc", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="CP", help=argparse.SUPPRESS)
    a = parser.parse_args()
    logging.getLogger("ocppkit").setLevel(logging.ERROR)
    if a.node_proc:
        profile = os.environ.get("OCPPKIT_BENCH_PROFILE_NODE")  # FILE: the node's cProfile stats
        if profile:
            import cProfile

            with cProfile.Profile() as prof:
                asyncio.run(_node_main(a.url, a.node_proc, a.port, a.reuse_port))
            prof.dump_stats(profile)
        else:
            asyncio.run(_node_main(a.url, a.node_proc, a.port, a.reuse_port))
        sys.exit(0)
    if a.stations_proc:
        asyncio.run(_stations_main([int(p) for p in a.ports.split(",")], a.stations_proc, a.prefix))
        sys.exit(0)
    res = run(
        quick=a.quick, stations=a.stations, duration=a.duration, callers=a.callers, workers=a.workers, only=a.only
    )
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    for t, m, ok in target_lines(res):
        print(f"  {'PASS' if ok else 'MISS'}  {t}  {m}")
