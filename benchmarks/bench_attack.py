"""Security benchmark: a good station under attack.

``python -m benchmarks attack [--quick] [--flooders N] [--duration S] [--rounds R]``

One CSMS server process (:class:`ocppkit.adapters.websockets.CSMSServer` with
:func:`ocppkit.adapters.demo.csms_router`, 2.0.1, on 127.0.0.1), one well-behaved station and
``--flooders`` hostile connections, each kind in its own process, all bounded in time:

server (``python -m benchmarks.bench_attack --serve unprotected|defaults``)
    ``defaults``: the CSMSServer defaults (``max_call_rate`` 20/s, ``max_call_burst`` 50,
    ``max_excess_calls`` 100, fair turns); ``unprotected``: the same with ``max_call_rate=0`` (no
    call limit). It warms itself up with one Heartbeat over a loopback connection, prints
    ``READY <port>``, and when its stdin closes prints its counts as JSON (calls refused by the
    rate limit, sessions closed for the rate limit, handshake refusals, peak RSS) and exits.

attacker (``--attack``)
    ``--flooders`` connections, each a minimal RFC 6455 client on ``asyncio.Protocol`` that
    sends Heartbeat CALLs (fresh ids) as fast as its socket takes them, never waiting for an
    answer. Two of every three never read (reading is paused after the handshake: the server's
    answers pile up in its send buffer); one in three reads and discards everything but a close
    frame, answers the close at once and reconnects. Every flooder reconnects (a fresh identity)
    when its connection is dropped, so the flood goes on for the whole window.

good station (``--good``)
    an :class:`ocppkit.adapters.websockets.ChargingStation` (call timeout 10 s) sending a
    Heartbeat, waiting for the answer, pausing 50 ms, for ``--duration`` seconds; the round trip of
    each (``perf_counter`` around ``call()``) is its latency, a Heartbeat unanswered after 10 s is
    a timeout.

The parent runs three contenders per round, interleaved (order rotating round by round, as the
other benchmarks do): ``baseline`` (the defaults server, no attack), ``unprotected`` and
``defaults`` (both under the same attack). Each trial gets a fresh server; its ``VmRSS``
(``/proc/<pid>/status``) is read after the warm-up and at the end of the window; the growth (and
the peak, from the server's ``getrusage``) is the memory the attack cost. With two or more usable
CPUs the server runs on the last one and both clients on the first (``--no-pin`` to turn it off).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import resource
import select
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["TARGET_P99_S", "run", "target_lines"]

TARGET_P99_S = 0.5  # the good station's Heartbeat p99 under 30 flooders, defaults
TIMEOUT_S = 10.0  # a Heartbeat not answered in this time is a timeout
INTERVAL_S = 0.05  # the good station's pause between Heartbeats
CONTENDERS = ("baseline", "unprotected", "defaults")
ROOT = Path(__file__).resolve().parent.parent
RATE_LIMIT_REASON = "too many calls over the rate limit"


def _proc_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _stdin_stop(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """Set ``stop`` when our stdin closes (the parent is done with us) or on SIGTERM."""

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 4096):
            loop.remove_reader(sys.stdin.fileno())
            stop.set()

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    loop.add_signal_handler(signal.SIGTERM, stop.set)


# ------------------------------------------------------------------------------ server


async def _serve(config: str, max_seconds: float, profile: str | None = None) -> None:
    from ocppkit.adapters.asyncio import Session
    from ocppkit.adapters.demo import csms_router
    from ocppkit.adapters.websockets import ChargingStation, CSMSServer
    from ocppkit.v201 import HeartbeatRequest

    counts: collections.Counter[str] = collections.Counter()

    def on_disconnect(session: Session) -> None:
        counts["sessions_ended"] += 1
        counts["calls_refused"] += session.excess_calls
        if session.close_reason.startswith(RATE_LIMIT_REASON):
            counts["closed_1008_rate_limit"] += 1
        elif session.close_reason.startswith("too many invalid messages"):
            counts["closed_1008_invalid"] += 1

    limits: dict[str, Any] = {"max_call_rate": 0} if config == "unprotected" else {}
    csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), on_disconnect=on_disconnect, **limits)
    await csms.start("127.0.0.1", 0)
    async with ChargingStation(f"ws://127.0.0.1:{csms.port}/WARMUP", versions=("2.0.1",)) as warm:
        await warm.call(HeartbeatRequest())
    await asyncio.sleep(0.2)
    counts.clear()
    stop = asyncio.Event()
    _stdin_stop(asyncio.get_running_loop(), stop)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    print(f"READY {csms.port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), max_seconds)
    except asyncio.TimeoutError:
        print("max-seconds reached, stopping", file=sys.stderr, flush=True)
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    live = list(csms.sessions.values())
    counts["calls_refused"] += sum(s.excess_calls for s in live)
    out = {
        **counts,
        "sessions_live": len(live),
        "refusals": dict(csms.refusals),
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    print(json.dumps(out), flush=True)
    os._exit(0)  # no graceful close of the flooders: the trial is over


# ---------------------------------------------------------------------------- attacker


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: FIN, masked with an all-zero key (so the payload goes out as is)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


class _Flooder(asyncio.Protocol):
    """One hostile connection: upgrade, then CALLs as fast as the socket takes them."""

    BATCH = 64  # frames per write

    def __init__(self, attack: _Attack, slot: int, reads: bool) -> None:
        self.attack, self.slot, self.reads = attack, slot, reads
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.open = False
        self.paused = False
        self.closed = False
        self.seq = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.attack.generation[self.slot] += 1
        key = base64.b64encode(os.urandom(16)).decode()
        name = f"F{self.slot}x{self.attack.generation[self.slot]}"
        req = (
            f"GET /{name} HTTP/1.1\r\nHost: 127.0.0.1:{self.attack.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
        )
        transport.write(req.encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:end]).split(b"\r\n", 1)[0]
            del buf[: end + 4]
            if not status.startswith(b"HTTP/1.1 101"):
                self.attack.counts["handshakes_refused"] += 1
                self.transport.close()  # type: ignore[union-attr]
                return
            self.open = True
            self.attack.counts["connections"] += 1
            if not self.reads:
                self.transport.pause_reading()  # type: ignore[union-attr]  # never read again
            self._pump()
        while len(buf) >= 2:  # a reader: skip frames, answer a close
            n, pos = buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, pos = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, pos = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < pos + n:
                return
            opcode, payload = buf[0] & 0x0F, bytes(buf[pos : pos + n])
            del buf[: pos + n]
            if opcode == 8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.attack.counts[f"close_{code}_seen"] += 1
                self.transport.write(_ws_frame(8, payload[:2]))  # type: ignore[union-attr]
                self.transport.close()  # type: ignore[union-attr]
                return

    def _pump(self) -> None:
        """Write until the transport's buffer is full (pause_writing), a few batches per turn."""
        transport = self.transport
        assert transport is not None
        for _ in range(8):
            if self.paused or self.closed or self.attack.stopping or transport.is_closing():
                return
            frames = []
            for _ in range(self.BATCH):
                self.seq += 1
                frames.append(_ws_frame(1, b'[2,"%d","Heartbeat",{}]' % self.seq))
            transport.write(b"".join(frames))
            self.attack.counts["frames_sent"] += self.BATCH
        self.attack.loop.call_soon(self._pump)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._pump()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.attack.counts["connections_ended"] += 1
        self.attack.reconnect(self.slot, self.reads)


class _Attack:
    def __init__(self, port: int, flooders: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.port = port
        self.flooders = flooders
        self.stopping = False
        self.counts: collections.Counter[str] = collections.Counter()
        self.generation = [0] * flooders
        self.transports: list[asyncio.Transport] = []

    def start(self) -> None:
        for slot in range(self.flooders):
            self.loop.create_task(self.connect(slot, reads=slot % 3 == 2))

    async def connect(self, slot: int, reads: bool) -> None:
        try:
            transport, _ = await self.loop.create_connection(
                lambda: _Flooder(self, slot, reads), "127.0.0.1", self.port
            )
            self.transports = [t for t in self.transports if not t.is_closing()]
            self.transports.append(transport)
        except OSError:
            self.counts["connect_failed"] += 1
            self.reconnect(slot, reads)

    def reconnect(self, slot: int, reads: bool) -> None:
        if not self.stopping:
            self.loop.call_later(0.05, lambda: self.loop.create_task(self.connect(slot, reads)))


async def _run_attack(port: int, flooders: int, max_seconds: float) -> None:
    attack = _Attack(port, flooders)
    stop = asyncio.Event()
    _stdin_stop(attack.loop, stop)
    attack.start()
    print("FLOODING", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), max_seconds)
    except asyncio.TimeoutError:
        print("max-seconds reached, stopping", file=sys.stderr, flush=True)
    attack.stopping = True
    for transport in attack.transports:
        if not transport.is_closing():
            transport.abort()
    print(json.dumps(dict(attack.counts)), flush=True)


# ------------------------------------------------------------------------ good station


async def _run_good(port: int, duration: float) -> dict[str, Any]:
    from ocppkit.adapters.websockets import ChargingStation
    from ocppkit.errors import CallTimeout
    from ocppkit.v201 import HeartbeatRequest

    latencies: list[float] = []
    timeouts = errors = 0
    station = ChargingStation(f"ws://127.0.0.1:{port}/GOOD", versions=("2.0.1",), call_timeout=TIMEOUT_S)
    t0 = time.perf_counter()
    async with station:
        connect_s = time.perf_counter() - t0
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            try:
                await station.call(HeartbeatRequest(), connect_timeout=TIMEOUT_S)
                latencies.append(time.perf_counter() - t0)
            except CallTimeout:
                timeouts += 1
            except (ConnectionError, asyncio.TimeoutError):
                errors += 1
            await asyncio.sleep(INTERVAL_S)
    return {
        "latencies": latencies,
        "timeouts": timeouts,
        "errors": errors,
        "connections": station.connections,
        "connect_s": connect_s,
    }


# ------------------------------------------------------------------------------ parent


def cpu_plan(pin: bool) -> tuple[int | None, int | None]:
    """(server CPU, clients' CPU): two different CPUs when pinning and at least two are usable."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return None, None
    if not pin or len(cpus) < 2:
        return None, None
    return cpus[-1], cpus[0]


#: the attacker process's niceness (see _run_trial)
ATTACKER_NICE = 10


def _child(args: list[str], cpu: int | None, nice: int = 0) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_attack", *args, *([] if cpu is None else ["--cpu", str(cpu)])],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=(lambda: os.nice(nice)) if nice else None,  # noqa: PLW1509 (no threads here yet)
    )


def _first_line(proc: subprocess.Popen[bytes], what: str, timeout: float = 60.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode() if ready else ""
    if not line.strip():
        proc.kill()
        _, err = proc.communicate()
        raise RuntimeError(f"{what} did not start; stderr:\n{err.decode(errors='replace')[-3000:]}")
    return line


def _finish(proc: subprocess.Popen[bytes], what: str) -> dict[str, Any]:
    """Close the child's stdin (its signal to stop) and read the JSON it prints last."""
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    lines = out.decode().strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{what}: exit {proc.returncode}; stderr:\n{err.decode(errors='replace')[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def trial(contender: str, *, flooders: int, duration: float, pin: bool) -> dict[str, Any]:
    """One contender: a fresh server, the attack (unless ``baseline``), the good station."""
    server_cpu, client_cpu = cpu_plan(pin)
    budget = duration + 2 * TIMEOUT_S + 60
    config = "defaults" if contender == "baseline" else contender
    server = _child(["--serve", config, "--max-seconds", str(budget)], server_cpu)
    attack: subprocess.Popen[bytes] | None = None
    try:
        port = int(_first_line(server, "server").split()[1])
        rss_start = _proc_rss(server.pid)
        if contender != "baseline":
            # The attacker shares the good station's core on a 2-core machine; a real one is
            # another machine. Niced, it cannot delay the good station's own process (what is
            # measured is the server), yet it has the core whenever the station waits.
            attack = _child(
                ["--attack", "--port", str(port), "--flooders", str(flooders), "--max-seconds", str(budget)],
                client_cpu,
                nice=ATTACKER_NICE,
            )
            _first_line(attack, "attacker")
            time.sleep(0.5)  # the flood is on before the good station connects
        good = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_attack", "--good", "--port", str(port)]
            + ["--duration", str(duration), *([] if client_cpu is None else ["--cpu", str(client_cpu)])],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=duration + 2 * TIMEOUT_S + 30,
        )
        rss_end = _proc_rss(server.pid)
        attacked = _finish(attack, "attacker") if attack is not None else {}
        attack = None
        served = _finish(server, "server")
    finally:
        for proc in (attack, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate()
    if good.returncode != 0:
        raise RuntimeError(f"good station: exit {good.returncode}; stderr:\n{good.stderr[-3000:]}")
    station: dict[str, Any] = json.loads(good.stdout.strip().splitlines()[-1])
    lat = station.pop("latencies")
    return {
        "contender": contender,
        "flooders": 0 if contender == "baseline" else flooders,
        "heartbeats": len(lat),
        "latency_s": {
            "p50": statistics.median(lat) if lat else float("nan"),
            "p99": _quantile(lat, 0.99) if lat else float("nan"),
            "max": max(lat) if lat else float("nan"),
        },
        "latencies_s": lat,
        **station,
        "server_rss_start": rss_start,
        "server_rss_growth": rss_end - rss_start,
        "server_peak_rss_growth": served["peak_rss"] - rss_start,
        "server": served,
        "attacker": attacked,
    }


def run(
    *,
    quick: bool,
    flooders: int | None = None,
    duration: float | None = None,
    rounds: int | None = None,
    pin: bool = True,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    flooders = flooders if flooders is not None else 30
    duration = duration or (3.0 if quick else 10.0)
    rounds = rounds or (2 if quick else 3)
    plan = cpu_plan(pin)
    out(
        f"Attack (2.0.1): one good station (Heartbeat, {INTERVAL_S * 1e3:g} ms pause, {TIMEOUT_S:g} s timeout) "
        f"while {flooders} connections flood CALLs; {duration:g} s per trial, {rounds} round(s) of "
        f"{', '.join(CONTENDERS)} (rotating order), a fresh server per trial; "
        + ("server pinned to CPU {}, clients to CPU {}".format(*plan) if plan[0] is not None else "not pinned")
    )
    trials: list[dict[str, Any]] = []
    for r in range(rounds):
        k = r % len(CONTENDERS)
        for contender in CONTENDERS[k:] + CONTENDERS[:k]:
            res = trial(contender, flooders=flooders, duration=duration, pin=pin)
            res["round"] = r
            trials.append(res)
            _print_trial(res, out)
    by_round: dict[int, dict[str, dict[str, Any]]] = {}
    for res in trials:
        by_round.setdefault(res["round"], {})[res["contender"]] = res

    def ratios(a: str, b: str) -> list[float]:
        return [rr[a]["latency_s"]["p99"] / rr[b]["latency_s"]["p99"] for rr in by_round.values()]

    def med(name: str, f: Callable[[dict[str, Any]], float]) -> float:
        return statistics.median(f(x) for x in trials if x["contender"] == name)

    summary = {
        name: {
            "p50_s": med(name, lambda x: x["latency_s"]["p50"]),
            "p99_s": med(name, lambda x: x["latency_s"]["p99"]),
            "max_s": med(name, lambda x: x["latency_s"]["max"]),
            "worst_max_s": max(x["latency_s"]["max"] for x in trials if x["contender"] == name),
            "heartbeats": med(name, lambda x: x["heartbeats"]),
            "timeouts": sum(x["timeouts"] for x in trials if x["contender"] == name),
            "errors": sum(x["errors"] for x in trials if x["contender"] == name),
            "server_rss_growth": med(name, lambda x: x["server_rss_growth"]),
            "server_peak_rss_growth": med(name, lambda x: x["server_peak_rss_growth"]),
            "calls_refused": med(name, lambda x: x["server"].get("calls_refused", 0)),
            "closed_1008": med(name, lambda x: x["server"].get("closed_1008_rate_limit", 0)),
            "flood_connections": med(name, lambda x: x["attacker"].get("connections", 0)),
        }
        for name in CONTENDERS
    }
    unprotected_over_defaults = ratios("unprotected", "defaults")
    defaults_over_baseline = ratios("defaults", "baseline")
    d = summary["defaults"]
    results = {
        "flooders": flooders,
        "duration_s": duration,
        "rounds": rounds,
        "pinning": dict(zip(("server_cpu", "client_cpu"), plan, strict=True)),
        "trials": trials,
        "summary": summary,
        "p99_ratio_unprotected_over_defaults_per_round": unprotected_over_defaults,
        "p99_ratio_unprotected_over_defaults": statistics.median(unprotected_over_defaults),
        "p99_ratio_defaults_over_baseline_per_round": defaults_over_baseline,
        "p99_ratio_defaults_over_baseline": statistics.median(defaults_over_baseline),
        "targets": {
            "defaults_p99_lt_500ms": d["p99_s"] < TARGET_P99_S,
            "defaults_no_timeouts": d["timeouts"] == 0 and d["errors"] == 0,
        },
    }
    out("")
    out(
        f"  {'':<12} {'p50':>9} {'p99':>9} {'max':>9} {'beats':>6} {'timeouts':>8} {'RSS +':>8} {'peak +':>8} "
        f"{'refused':>8} {'1008':>5} {'floods':>6}   (medians of {rounds} rounds; timeouts summed)"
    )
    for name, s in summary.items():
        out(
            f"  {name:<12} {s['p50_s'] * 1e3:>7.1f}ms {s['p99_s'] * 1e3:>7.1f}ms {s['max_s'] * 1e3:>7.1f}ms "
            f"{s['heartbeats']:>6.0f} {s['timeouts']:>8} {s['server_rss_growth'] / 2**20:>6.1f}MB "
            f"{s['server_peak_rss_growth'] / 2**20:>6.1f}MB {s['calls_refused']:>8.0f} {s['closed_1008']:>5.0f} "
            f"{s['flood_connections']:>6.0f}"
        )
    out(
        f"  p99 unprotected / defaults = {results['p99_ratio_unprotected_over_defaults']:.1f}x (per round: "
        + ", ".join(f"{x:.1f}x" for x in unprotected_over_defaults)
        + f"); defaults / no attack = {results['p99_ratio_defaults_over_baseline']:.1f}x (per round: "
        + ", ".join(f"{x:.1f}x" for x in defaults_over_baseline)
        + ")"
    )
    return results


def _print_trial(res: dict[str, Any], out: Callable[[str], None]) -> None:
    lat, srv, att = res["latency_s"], res["server"], res["attacker"]
    out(
        f"  round {res['round']} {res['contender']:<12} p50 {lat['p50'] * 1e3:7.1f} ms  p99 {lat['p99'] * 1e3:7.1f} ms"
        f"  max {lat['max'] * 1e3:7.1f} ms  {res['heartbeats']:4d} beats  {res['timeouts']} timeouts"
        + (f"  {res['errors']} ERRORS" if res["errors"] else "")
        + f"  connect {res['connect_s'] * 1e3:.0f} ms"
        + f"  RSS +{res['server_rss_growth'] / 2**20:.1f} MB (peak +{res['server_peak_rss_growth'] / 2**20:.1f} MB)"
        + (
            f"  {att.get('connections', 0)} flood connections, {att.get('frames_sent', 0):,} frames sent,"
            f" {srv.get('calls_refused', 0):,} refused, {srv.get('closed_1008_rate_limit', 0)} closed 1008"
            if att
            else ""
        )
    )


def target_lines(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    d = results["summary"]["defaults"]
    n = results["flooders"]
    return [
        (
            f"attack: good station's Heartbeat p99 < {TARGET_P99_S * 1e3:g} ms with {n} flooders (defaults)",
            f"{d['p99_s'] * 1e3:.0f} ms",
            results["targets"]["defaults_p99_lt_500ms"],
        ),
        (
            f"attack: no Heartbeat timeout ({TIMEOUT_S:g} s) or error with {n} flooders (defaults)",
            f"{d['timeouts'] + d['errors']}",
            results["targets"]["defaults_no_timeouts"],
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_attack", description=__doc__.split("\n")[0])
    parser.add_argument("--serve", choices=("unprotected", "defaults"), help="run a server process (internal)")
    parser.add_argument("--attack", action="store_true", help="run the flooders (internal)")
    parser.add_argument("--good", action="store_true", help="run the good station (internal)")
    parser.add_argument("--port", type=int)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--cpu", type=int, help="run on this CPU only (internal)")
    parser.add_argument("--profile", metavar="FILE", help="server: write cProfile stats to FILE when stopping")
    parser.add_argument("--flooders", type=int)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin the processes to CPUs")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    if args.serve:
        asyncio.run(_serve(args.serve, args.max_seconds, args.profile))
    elif args.attack:
        asyncio.run(_run_attack(args.port, args.flooders, args.max_seconds))
    elif args.good:
        print(json.dumps(asyncio.run(_run_good(args.port, args.duration))))
    else:
        run(quick=args.quick, flooders=args.flooders, duration=args.duration, rounds=args.rounds, pin=args.pin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
