"""The cluster on a real redis-server (loopback): what routing a call through Redis costs.

``python -m benchmarks cluster [--quick]`` or ``python -m benchmarks.bench_cluster``:

1. latency: p50/p99 of a DataTransfer to one station, as a local ``call_local`` on the node
   that holds it and as ``Client.call`` through the cluster (same process, sequential calls,
   interleaved rounds); the added p50 is the cluster's cost (target < 1 ms);
2. throughput: calls/s through the cluster to 1,000 stations held by two nodes (quick: 200),
   ``--callers`` concurrent callers for ``--duration`` seconds;
3. CPU per call for locally held stations with and without the node attached (the station
   calls the CSMS and the CSMS calls the station), process CPU time (target <= +20%).

Everything (stations, nodes, client) runs in this one process on 127.0.0.1, with redis-server
(from PATH, no persistence) as a child process; the numbers are per core of this machine.
The nodes are ``CSMSServer(router, node=..., cluster=Node(...))`` (tests/cluster/nodes.py).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

TARGET_ADDED_P50_MS = 1.0
TARGET_CPU_RATIO = 1.2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.cluster helpers


def _pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


async def _latency(url: str, rounds: int, per_round: int) -> dict[str, Any]:
    from ocppkit.cluster import Client
    from tests.cluster.helpers import EchoStation, dt, routers
    from tests.cluster.nodes import start_csms

    a, _ = await start_csms(url, "bench-a", routers())
    client = Client(url)
    local: list[float] = []
    remote: list[float] = []
    try:
        async with EchoStation(f"ws://127.0.0.1:{a.port}/", "CP1"):
            await asyncio.sleep(0.3)
            req = dt("x")
            for _ in range(50):  # warm up both paths
                await a.call_local("CP1", req)
                await client.call("CP1", req)
            clock = time.perf_counter
            for _ in range(rounds):
                for _ in range(per_round):
                    t = clock()
                    await a.call_local("CP1", req)
                    local.append(clock() - t)
                for _ in range(per_round):
                    t = clock()
                    await client.call("CP1", req)
                    remote.append(clock() - t)
    finally:
        await client.close()
        await a.close()
    out = {
        "calls_each": len(local),
        "local_p50_ms": _pct(local, 0.5) * 1e3,
        "local_p99_ms": _pct(local, 0.99) * 1e3,
        "cluster_p50_ms": _pct(remote, 0.5) * 1e3,
        "cluster_p99_ms": _pct(remote, 0.99) * 1e3,
    }
    out["added_p50_ms"] = out["cluster_p50_ms"] - out["local_p50_ms"]
    return out


async def _throughput(url: str, stations: int, callers: int, duration: float) -> dict[str, Any]:
    from ocppkit.cluster import Client
    from tests.cluster.helpers import EchoStation, dt, routers
    from tests.cluster.nodes import start_csms

    a, _ = await start_csms(url, "bench-a", routers())
    b, _ = await start_csms(url, "bench-b", routers())
    echo = [EchoStation(f"ws://127.0.0.1:{(a if i % 2 else b).port}/", f"CP{i:05d}") for i in range(stations)]
    client = Client(url)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    try:
        for i in range(0, stations, 100):
            await asyncio.gather(*(s.__aenter__() for s in echo[i : i + 100]))
        while len(await client.stations()) < stations:
            await asyncio.sleep(0.1)
        ids = [s.identity for s in echo]
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
        await asyncio.gather(*(caller() for _ in range(callers)))
        elapsed = time.perf_counter() - started
    finally:
        await client.close()
        for i in range(0, stations, 100):
            await asyncio.gather(*(s.__aexit__() for s in echo[i : i + 100]))
        await a.close()
        await b.close()
    return {
        "stations": stations,
        "callers": callers,
        "duration_s": elapsed,
        "calls": len(latencies),
        "errors": errors,
        "calls_per_s": len(latencies) / elapsed,
        "p50_ms": _pct(latencies, 0.5) * 1e3 if latencies else None,
        "p99_ms": _pct(latencies, 0.99) * 1e3 if latencies else None,
    }


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


def run(
    *,
    quick: bool = False,
    stations: int | None = None,
    duration: float | None = None,
    callers: int | None = None,
) -> dict[str, Any]:
    from tests.cluster.redisd import RedisServer

    logging.getLogger("ocppkit").setLevel(logging.ERROR)
    stations = stations or (200 if quick else 1000)
    duration = duration or (2.0 if quick else 8.0)
    callers = callers or (50 if quick else 200)
    rounds, per_round = (5, 100) if quick else (10, 300)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8 * stations + 1024)), hard))
    server = RedisServer()
    server.start()
    try:
        print("cluster (a real redis-server on 127.0.0.1; stations, nodes and client in this process)")
        lat = asyncio.run(_latency(server.url, rounds, per_round))
        print(
            f"  latency ({lat['calls_each']} calls each): local p50 {lat['local_p50_ms']:.3f} ms, "
            f"p99 {lat['local_p99_ms']:.3f} ms; through the cluster p50 {lat['cluster_p50_ms']:.3f} ms, "
            f"p99 {lat['cluster_p99_ms']:.3f} ms; added p50 {lat['added_p50_ms']:.3f} ms"
        )
        thr = asyncio.run(_throughput(server.url, stations, callers, duration))
        print(
            f"  throughput: {thr['stations']} stations on two nodes, {thr['callers']} callers, "
            f"{thr['duration_s']:.1f} s: {thr['calls_per_s']:.0f} calls/s (p50 {thr['p50_ms']:.2f} ms, "
            f"p99 {thr['p99_ms']:.2f} ms, errors {thr['errors'] or 'none'})"
        )
        cpu_calls = 2000 if quick else 6000
        plain = min(asyncio.run(_cpu_per_call(server.url, 20, cpu_calls, False)) for _ in range(2))
        node = min(asyncio.run(_cpu_per_call(server.url, 20, cpu_calls, True)) for _ in range(2))
        cpu = {"without_cluster_us": plain * 1e6, "with_cluster_us": node * 1e6, "ratio": node / plain}
        print(
            f"  CPU per exchange (a CSMS call and a station call), local stations: without the node "
            f"{cpu['without_cluster_us']:.0f} us, with it {cpu['with_cluster_us']:.0f} us ({cpu['ratio']:.2f}x)"
        )
    finally:
        server.close()
    return {
        "latency": lat,
        "throughput": thr,
        "cpu_per_call": cpu,
        "targets": {
            "added_p50_lt_1ms": lat["added_p50_ms"] < TARGET_ADDED_P50_MS,
            "cpu_ratio_le_1.2": cpu["ratio"] <= TARGET_CPU_RATIO,
        },
    }


def target_lines(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    lat, cpu = results["latency"], results["cpu_per_call"]
    return [
        (
            f"cluster: call through Redis adds < {TARGET_ADDED_P50_MS:g} ms at p50 (loopback)",
            f"{lat['added_p50_ms']:.3f} ms",
            results["targets"]["added_p50_lt_1ms"],
        ),
        (
            f"cluster: CPU per call for local stations with the node <= {TARGET_CPU_RATIO:g}x",
            f"{cpu['ratio']:.2f}x",
            results["targets"]["cpu_ratio_le_1.2"],
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_cluster", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stations", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--callers", type=int)
    a = parser.parse_args()
    res = run(quick=a.quick, stations=a.stations, duration=a.duration, callers=a.callers)
    for t, m, ok in target_lines(res):
        print(f"  {'PASS' if ok else 'MISS'}  {t}  {m}")
