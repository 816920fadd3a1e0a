"""Outbox benchmark: transaction messages through the station's outbox (docs/outbox.md).

``python -m benchmarks outbox [--quick]`` (or ``python -m benchmarks.bench_outbox``)

Three parts, each with the stores side by side in one run, interleaved rounds with a rotating
order, medians and paired ratios (same round, same machine state):

core
    the sans-IO :class:`ocppkit.outbox.Outbox` alone, no asyncio: ``submit`` (one committed
    write; commits per second), then ``next`` (the head re-read and validated) and
    ``delivered`` (the delete) for every entry the sample submitted, timed separately; for
    :class:`~ocppkit.outbox.MemoryStore` and :class:`~ocppkit.outbox.SqliteStore` durability
    ``full``, ``normal`` and ``off`` (files in a temporary directory), with the 1.6 MeterValues
    and 2.0.1 TransactionEvent payloads of ``benchmarks/data.py`` (1401 and 1900 bytes).

latency
    one CSMS process (``--serve``: :class:`~ocppkit.adapters.websockets.CSMSServer` with the demo
    router, 2.0.1, ``max_call_rate=0``, on 127.0.0.1) and, in this process, one
    :class:`~ocppkit.adapters.websockets.ChargingStation` per store, all connected. Per round and
    contender ``calls`` sequential round trips of the 2.0.1 TransactionEvent: ``direct`` is
    ``await session.call(event)`` on a live session (no outbox), the others ``await
    station.call(event)`` (commit, the delivery loop sends it, delete, answer). The added latency
    is outbox minus direct: p50 paired per round (median of the rounds' differences), p99 over
    all calls of the run. The stations share this process because only one call is in flight at
    a time: they never compete, and the direct contender runs on the very same loop.

drain
    ``messages`` TransactionEvents submitted to a station that is not connected (``offline``),
    then the station starts against the listening CSMS: the time from ``start()`` until
    ``outbox.drained()`` (the connection's opening included, printed apart), for the memory store
    and sqlite ``full`` and ``normal``; ``direct`` is the same number of ``session.call`` back to
    back over one connection.

With two or more usable CPUs the CSMS runs on the last one and this process on the first
(``--no-pin`` to turn it off). ``python -m benchmarks.profile_outbox`` shows where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import data

__all__ = [
    "TARGETS",
    "added",
    "cpu_plan",
    "csms_process",
    "drain_one",
    "fsync_probe",
    "make_station",
    "make_store",
    "payloads",
    "pinned",
    "quantile",
    "run",
    "target_lines",
]

ROOT = Path(__file__).resolve().parent.parent
STORES = ("memory", "sqlite-full", "sqlite-normal", "sqlite-off")
DRAIN_STORES = ("memory", "sqlite-full", "sqlite-normal")
NOW = 1_735_689_600.0  # the core part's clock (the outbox only compares it)

#: Targets, with the reason in docs/performance.md ("Outbox").
TARGETS = {
    "normal_added_p50_s": 1e-3,  # sqlite "normal" adds < 1 ms at p50 to a call on loopback
    "full_added_p50_s": 5e-3,  # sqlite "full" (two fsyncs a message) adds < 5 ms at p50
    "full_commits_per_s": 100.0,  # sqlite "full": >= 100 committed submits a second
    "drain_full_s_per_10k": 30.0,  # 10,000 queued messages drain in < 30 s with sqlite "full"
}


def quantile(xs: list[float], q: float) -> float:
    """The ``q`` quantile of ``xs`` (nearest rank, as the other server benchmarks)."""
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def added(rounds: list[dict[str, list[float]]], name: str, base: str = "direct") -> dict[str, Any]:
    """Latency ``name`` adds to ``base``: p50 paired per round (median of per-round differences)
    and p99 of all samples pooled (a round holds too few calls for its own p99)."""
    diffs = [statistics.median(r[name]) - statistics.median(r[base]) for r in rounds]
    pooled = [x for r in rounds for x in r[name]]
    pooled_base = [x for r in rounds for x in r[base]]
    return {
        "p50_s": statistics.median(diffs),
        "p50_per_round_s": diffs,
        "p99_s": quantile(pooled, 0.99) - quantile(pooled_base, 0.99),
    }


def payloads() -> dict[str, Any]:
    from ocppkit import decode_payload, v16, v201

    by_name = {i.name: i for i in data.inputs()}
    return {
        "v16 MeterValues": decode_payload(by_name["v16 MeterValues"].data, v16.MeterValuesRequest),
        "v201 TransactionEvent": decode_payload(by_name["v201 TransactionEvent"].data, v201.TransactionEventRequest),
    }


def make_store(kind: str, folder: Path, tag: str) -> Any:
    from ocppkit.outbox import MemoryStore, SqliteStore

    if kind == "memory":
        return MemoryStore()
    return SqliteStore(folder / f"{tag}-{kind}.sqlite", durability=kind.split("-", 1)[1])


# ------------------------------------------------------------------------------ core


class _CoreCase:
    def __init__(self, kind: str, payload: str, request: Any, folder: Path) -> None:
        from ocppkit import v16, v201
        from ocppkit.outbox import Outbox, OutboxSettings

        version = "1.6" if payload.startswith("v16") else "2.0.1"
        tag = f"core-{payload.split()[0]}"
        self.outbox = Outbox(version, make_store(kind, folder, tag), OutboxSettings(max_messages=1_000_000))
        self.request = request
        self.response = v16.MeterValuesResponse() if version == "1.6" else v201.TransactionEventResponse()

    def sample(self, n: int) -> tuple[float, float, float]:
        """Seconds per submit, per next and per delivered, over ``n`` messages (ends empty)."""
        ob, req, resp = self.outbox, self.request, self.response
        clock = time.perf_counter
        gc.collect()
        t0 = clock()
        for _ in range(n):
            ob.submit(req, NOW)
        t_submit = clock() - t0
        t_next = t_done = 0.0
        for _ in range(n):
            t0 = clock()
            act = ob.next(NOW)
            t1 = clock()
            ob.delivered(act.entry.id, resp, NOW)  # type: ignore[union-attr]
            t_done += clock() - t1
            t_next += t1 - t0
        assert ob.pending() == 0
        return t_submit / n, t_next / n, t_done / n


def run_core(quick: bool, folder: Path, out: Callable[[str], None]) -> dict[str, Any]:
    repeats = 7 if quick else 15
    target = 0.01 if quick else 0.05  # seconds of submits per sample
    requests = payloads()
    cases = {f"{p} / {k}": _CoreCase(k, p, r, folder) for p, r in requests.items() for k in STORES}
    sizes: dict[str, int] = {}
    for name, case in cases.items():
        case.sample(3)  # warm-up
        per_op = case.sample(5)[0]
        sizes[name] = max(3, min(2000, round(target / per_op)))
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(cases[name].sample(sizes[name]))
    for case in cases.values():
        case.outbox.close()
    rows: dict[str, Any] = {}
    out(f"Core (sans-IO Outbox, no asyncio): {repeats} interleaved rounds; per sample n submits, then n next+delivered")
    out(f"  {'case':<36} {'n':>5} {'submit':>10} {'commits/s':>10} {'next':>9} {'delivered':>10} {'submit/mem':>11}")
    for name in names:
        payload, kind = name.split(" / ")
        sub = [s[0] for s in samples[name]]
        mem = [s[0] for s in samples[f"{payload} / memory"]]
        row: dict[str, Any] = {
            "n": sizes[name],
            "submit_s": statistics.median(sub),
            "submit_min_s": min(sub),
            "next_s": statistics.median(s[1] for s in samples[name]),
            "delivered_s": statistics.median(s[2] for s in samples[name]),
            "submit_over_memory": statistics.median(a / b for a, b in zip(sub, mem, strict=True)),
            "samples": samples[name],
        }
        row["commits_per_s"] = 1.0 / row["submit_s"]
        rows[name] = row
        out(
            f"  {name:<36} {row['n']:>5} {row['submit_s'] * 1e6:>8.1f}us {row['commits_per_s']:>10,.0f} "
            f"{row['next_s'] * 1e6:>7.1f}us {row['delivered_s'] * 1e6:>8.1f}us {row['submit_over_memory']:>10.1f}x"
        )
    return {"repeats": repeats, "cases": rows}


# ------------------------------------------------------------------------------ CSMS process


async def _serve(max_seconds: float, limited: bool) -> None:
    from ocppkit.adapters.demo import csms_router
    from ocppkit.adapters.websockets import CSMSServer

    limits: dict[str, Any] = {} if limited else {"max_call_rate": 0}
    csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), **limits)
    await csms.start("127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 4096):
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"READY {csms.port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), max_seconds)
    except asyncio.TimeoutError:
        pass
    await csms.close()


def cpu_plan(pin: bool) -> tuple[int | None, int | None]:
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return None, None
    return (cpus[-1], cpus[0]) if pin and len(cpus) >= 2 else (None, None)


@contextmanager
def csms_process(cpu: int | None, max_seconds: float, limited: bool = False) -> Iterator[int]:
    """A CSMS in its own process for the ``with`` block; yields its port."""
    cmd = [sys.executable, "-m", "benchmarks.bench_outbox", "--serve", "--max-seconds", str(max_seconds)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    if limited:
        cmd.append("--limited")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith("READY"):
            proc.kill()
            raise RuntimeError(f"CSMS did not start: {proc.communicate()[1].decode(errors='replace')[-2000:]}")
        yield int(line.split()[1])
    finally:
        if proc.poll() is None:
            try:
                proc.communicate(timeout=15)  # closing its stdin stops it
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


@contextmanager
def pinned(cpu: int | None) -> Iterator[None]:
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def make_station(port: int, name: str, store: Any, max_messages: int = 1000) -> Any:
    from ocppkit.adapters.websockets import ChargingStation
    from ocppkit.outbox import OutboxSettings

    return ChargingStation(
        f"ws://127.0.0.1:{port}/{name}",
        versions=("2.0.1",),
        call_timeout=30.0,
        ping_interval=None,
        outbox=store,
        outbox_settings=OutboxSettings(max_messages=max_messages),
    )


# ------------------------------------------------------------------------------ latency


async def _latency(port: int, folder: Path, rounds: int, calls: int) -> list[dict[str, list[float]]]:
    event = payloads()["v201 TransactionEvent"]
    stations = {kind: make_station(port, f"LAT-{kind}", make_store(kind, folder, "latency")) for kind in STORES}
    for st in stations.values():
        await st.start()
        await st.wait_connected(30)
    session = stations["memory"].session
    clock = time.perf_counter

    async def direct() -> None:
        await session.call(event)

    def through(st: Any) -> Callable[[], Any]:
        return lambda: st.call(event)

    contenders: dict[str, Callable[[], Any]] = {"direct": direct, **{k: through(s) for k, s in stations.items()}}
    for fn in contenders.values():  # warm-up
        for _ in range(10):
            await fn()
    names = list(contenders)
    out: list[dict[str, list[float]]] = []
    try:
        for r in range(rounds):
            k = r % len(names)
            res: dict[str, list[float]] = {}
            for name in names[k:] + names[:k]:
                fn = contenders[name]
                lat = []
                gc.collect()
                for _ in range(calls):
                    t0 = clock()
                    await fn()
                    lat.append(clock() - t0)
                res[name] = lat
            out.append(res)
    finally:
        for st in stations.values():
            await st.close()
            st.outbox.core.close()
    return out


def summarize_latency(rounds: list[dict[str, list[float]]], out: Callable[[str], None]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    out(
        f"  {'contender':<14} {'p50':>9} {'p99':>9} {'added p50':>10} {'added p99':>10}   "
        "(p50 median of rounds; p99 pooled; added p50 paired per round)"
    )
    for name in ("direct", *STORES):
        pooled = [x for r in rounds for x in r[name]]
        row: dict[str, Any] = {
            "p50_s": statistics.median(statistics.median(r[name]) for r in rounds),
            "p99_s": quantile(pooled, 0.99),
            "samples_s": [r[name] for r in rounds],
        }
        if name != "direct":
            row["added"] = added(rounds, name)
        summary[name] = row
        extra = (
            f" {row['added']['p50_s'] * 1e3:>8.3f}ms {row['added']['p99_s'] * 1e3:>8.3f}ms" if "added" in row else ""
        )
        out(f"  {name:<14} {row['p50_s'] * 1e3:>7.3f}ms {row['p99_s'] * 1e3:>7.3f}ms{extra}")
    return summary


# ------------------------------------------------------------------------------ drain


async def drain_one(port: int, kind: str, folder: Path, messages: int, tag: str) -> dict[str, Any]:
    event = payloads()["v201 TransactionEvent"]
    clock = time.perf_counter
    if kind == "direct":
        st = make_station(port, f"DRAIN-direct-{tag}", make_store("memory", folder, tag))
        t0 = clock()
        await st.start()
        session = await st.wait_connected(30)
        t_conn = clock() - t0
        t1 = clock()
        for _ in range(messages):
            await session.call(event)
        t_end = clock()
        await st.close()
        return {"connect_s": t_conn, "drain_s": t_end - t1, "total_s": t_end - t0, "submit_s": 0.0}
    st = make_station(port, f"DRAIN-{kind}-{tag}", make_store(kind, folder, f"drain-{tag}"), max_messages=messages + 10)
    t0 = clock()
    for _ in range(messages):
        st.submit(event)  # not connected: committed with offline=true
    t_submit = clock() - t0
    assert st.outbox.pending() == messages
    gc.collect()
    t0 = clock()
    await st.start()
    await st.wait_connected(30)
    t_conn = clock() - t0
    await asyncio.wait_for(st.outbox.drained(), 600)
    t_end = clock()
    await st.close()
    st.outbox.core.close()
    return {"connect_s": t_conn, "drain_s": t_end - t0 - t_conn, "total_s": t_end - t0, "submit_s": t_submit}


async def _drains(port: int, folder: Path, rounds: int, messages: int) -> list[dict[str, dict[str, Any]]]:
    names = ["direct", *DRAIN_STORES]
    out = []
    for r in range(rounds):
        k = r % len(names)
        res = {}
        for name in names[k:] + names[:k]:
            res[name] = await drain_one(port, name, folder, messages, f"r{r}")
        out.append(res)
    return out


def summarize_drain(
    rounds: list[dict[str, dict[str, Any]]], messages: int, out: Callable[[str], None]
) -> dict[str, Any]:
    out(
        f"  {'contender':<14} {'total':>9} {'msgs/s':>8} {'connect':>9} {'queueing':>9} {'/direct':>8}"
        f"   (medians of {len(rounds)} round(s); total = start() to drained(); queueing = the {messages:,} submits)"
    )
    summary: dict[str, Any] = {}
    for name in ("direct", *DRAIN_STORES):
        tot = [r[name]["total_s"] for r in rounds]
        row = {
            "total_s": statistics.median(tot),
            "connect_s": statistics.median(r[name]["connect_s"] for r in rounds),
            "submit_s": statistics.median(r[name]["submit_s"] for r in rounds),
            "over_direct": statistics.median(r[name]["total_s"] / r["direct"]["total_s"] for r in rounds),
            "per_round": [r[name] for r in rounds],
        }
        row["messages_per_s"] = messages / row["total_s"]
        summary[name] = row
        out(
            f"  {name:<14} {row['total_s']:>7.2f} s {row['messages_per_s']:>8,.0f} {row['connect_s'] * 1e3:>7.1f}ms "
            f"{row['submit_s']:>7.2f} s {row['over_direct']:>7.2f}x"
        )
    return summary


# ------------------------------------------------------------------------------ run


def run(
    *,
    quick: bool,
    rounds: int | None = None,
    calls: int | None = None,
    messages: int | None = None,
    drain_rounds: int | None = None,
    pin: bool = True,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    rounds = rounds or (4 if quick else 9)
    calls = calls or (40 if quick else 100)
    messages = messages or (500 if quick else 10_000)
    drain_rounds = drain_rounds or (1 if quick else 3)
    server_cpu, client_cpu = cpu_plan(pin)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ocppkit-bench-outbox-") as tmp:
        folder = Path(tmp)
        fsync_s = fsync_probe(folder)
        out(f"Outbox: sqlite files in {folder} ({_filesystem(folder)}; 4 KiB write+fsync: {fsync_s * 1e3:.2f} ms)")
        results["core"] = run_core(quick, folder, out)
        results["fsync_before_s"] = fsync_s
        out("")
        plan = f"CSMS on CPU {server_cpu}, stations on CPU {client_cpu}" if server_cpu is not None else "not pinned"
        with csms_process(server_cpu, 1200) as port, pinned(client_cpu):
            out(
                f"Latency (2.0.1 TransactionEvent over loopback WebSocket, demo CSMS in its own process; {plan}): "
                f"{rounds} rounds x {calls} sequential calls per contender, rotating order"
            )
            lat = asyncio.run(_latency(port, folder, rounds, calls))
            results["latency"] = {"rounds": rounds, "calls": calls, "summary": summarize_latency(lat, out)}
            out("")
            out(
                f"Drain: {messages:,} TransactionEvents queued while disconnected, then start() against the "
                f"listening CSMS; {drain_rounds} round(s), rotating order"
            )
            dr = asyncio.run(_drains(port, folder, drain_rounds, messages))
            results["drain"] = {
                "messages": messages,
                "rounds": drain_rounds,
                "summary": summarize_drain(dr, messages, out),
            }
        results["fsync_after_s"] = fsync_probe(folder)
        out(f"  (4 KiB write+fsync at the end: {results['fsync_after_s'] * 1e3:.2f} ms)")
    lat_s, drain_s = results["latency"]["summary"], results["drain"]["summary"]
    full_10k = drain_s["sqlite-full"]["total_s"] * 10_000 / messages
    results["targets"] = {
        "normal_added_p50": lat_s["sqlite-normal"]["added"]["p50_s"] < TARGETS["normal_added_p50_s"],
        "full_added_p50": lat_s["sqlite-full"]["added"]["p50_s"] < TARGETS["full_added_p50_s"],
        "full_commits_per_s": min(results["core"]["cases"][f"{p} / sqlite-full"]["commits_per_s"] for p in payloads())
        >= TARGETS["full_commits_per_s"],
        "drain_full_10k": full_10k < TARGETS["drain_full_s_per_10k"],
    }
    results["drain_full_s_per_10k"] = full_10k
    return results


def fsync_probe(folder: Path, count: int = 30) -> float:
    """Median seconds of one 4 KiB append + ``os.fsync`` in ``folder``: the disk's price of a
    durable commit at the time of the run (sqlite ``full`` pays about one per commit)."""
    path = folder / "fsync-probe"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        block = b"\0" * 4096
        for _ in range(count):
            t0 = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times)


def _filesystem(folder: Path) -> str:
    try:
        best = ("", "?")
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                dev, mnt, fstype = line.split()[:3]
                if str(folder).startswith(mnt) and len(mnt) >= len(best[0]):
                    best = (mnt, f"{fstype} on {dev}")
        return best[1]
    except OSError:  # pragma: no cover - not Linux
        return "?"


def target_lines(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    lat = results["latency"]["summary"]
    t = results["targets"]
    full_rate = min(c["commits_per_s"] for name, c in results["core"]["cases"].items() if name.endswith("sqlite-full"))
    n = results["drain"]["messages"]
    return [
        (
            f"outbox: sqlite normal adds < {TARGETS['normal_added_p50_s'] * 1e3:g} ms at p50 (loopback)",
            f"{lat['sqlite-normal']['added']['p50_s'] * 1e3:.2f} ms",
            t["normal_added_p50"],
        ),
        (
            f"outbox: sqlite full adds < {TARGETS['full_added_p50_s'] * 1e3:g} ms at p50 (loopback)",
            f"{lat['sqlite-full']['added']['p50_s'] * 1e3:.2f} ms",
            t["full_added_p50"],
        ),
        (
            f"outbox: sqlite full >= {TARGETS['full_commits_per_s']:g} commits/s (submit, core)",
            f"{full_rate:,.0f}/s",
            t["full_commits_per_s"],
        ),
        (
            f"outbox: 10,000 queued drain in < {TARGETS['drain_full_s_per_10k']:g} s, sqlite full"
            + ("" if n == 10_000 else f" (from {n:,})"),
            f"{results['drain_full_s_per_10k']:.1f} s",
            t["drain_full_10k"],
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_outbox", description=__doc__.split("\n")[0])
    parser.add_argument("--serve", action="store_true", help="run the CSMS process (internal)")
    parser.add_argument("--limited", action="store_true", help="--serve: keep the CSMSServer call-rate defaults")
    parser.add_argument("--max-seconds", type=float, default=600.0)
    parser.add_argument("--cpu", type=int, help="run on this CPU only (internal)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, help="latency: rounds (default 9, quick 4)")
    parser.add_argument("--calls", type=int, help="latency: calls per contender and round (default 100, quick 40)")
    parser.add_argument("--messages", type=int, help="drain: messages queued (default 10000, quick 500)")
    parser.add_argument("--drain-rounds", type=int, help="drain: rounds (default 3, quick 1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin the processes to CPUs")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    if args.serve:
        asyncio.run(_serve(args.max_seconds, args.limited))
    else:
        res = run(
            quick=args.quick,
            rounds=args.rounds,
            calls=args.calls,
            messages=args.messages,
            drain_rounds=args.drain_rounds,
            pin=args.pin,
        )
        print()
        for t, m, ok in target_lines(res):
            print(f"  {'PASS' if ok else 'MISS'}  {t}  {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
