"""The event loop of the asyncio benchmarks (``--loop asyncio|uvloop``), and where uvloop helps.

``add_loop_option(parser)`` adds ``--loop``; the choice is also put in the environment
(``OCPPKIT_BENCH_LOOP``), so that the processes a benchmark starts (a server, a load generator)
run on the same loop when they start theirs with :func:`run`, which replaces ``asyncio.run``.

``python -m benchmarks._loops [--quick]`` (and ``python -m benchmarks rpc --loop uvloop``) times
``Session`` round trips on asyncio's loop and on uvloop's, interleaved, fresh loop per sample:

- ``memory``: two Sessions joined by an in-memory transport (asyncio.Queue): no sockets, only
  what the loop does per call (futures, tasks, call_soon, timers);
- ``websocket``: ocppkit's websockets CSMSServer and ChargingStation over loopback TCP, one
  station calling in sequence (system calls, the selector, transports);
- ``websocket x50``: fifty stations calling at once over loopback (the loop's scheduling under
  concurrency, the case of a CSMS).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.metadata
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

__all__ = ["ENV", "LOOPS", "add_loop_option", "compare", "loop_kind", "new_event_loop", "run"]

LOOPS = ("asyncio", "uvloop")
ENV = "OCPPKIT_BENCH_LOOP"


def loop_kind(kind: str | None = None) -> str:
    """``kind``, else the environment's choice, else ``"asyncio"`` (checked)."""
    kind = kind or os.environ.get(ENV) or "asyncio"
    if kind not in LOOPS:
        raise ValueError(f"loop: expected one of {', '.join(LOOPS)}, got {kind!r}")
    return kind


class _LoopAction(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        os.environ[ENV] = values  # the processes the benchmark starts run on the same loop


def add_loop_option(parser: argparse.ArgumentParser) -> None:
    """``--loop asyncio|uvloop`` (default: the environment's ``OCPPKIT_BENCH_LOOP``, else asyncio)."""
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default=loop_kind(),
        action=_LoopAction,
        help="the event loop of the asyncio parts, inherited by the processes they start (default: %(default)s)",
    )


def new_event_loop(kind: str | None = None) -> asyncio.AbstractEventLoop:
    if loop_kind(kind) == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, Any], kind: str | None = None) -> Any:
    """``asyncio.run(main)`` on a new loop of ``kind`` (default: the environment's choice)."""
    with asyncio.Runner(loop_factory=lambda: new_event_loop(kind)) as runner:
        return runner.run(main)


# ------------------------------------------------------------------ round trips per loop


class _Pipe:
    """One end of an in-memory message transport (the Session's Transport protocol)."""

    def __init__(self, inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]) -> None:
        self.inbox, self.outbox = inbox, outbox

    async def send(self, data: bytes) -> None:
        self.outbox.put_nowait(data)

    async def recv(self) -> bytes | str:
        data = await self.inbox.get()
        if data is None:
            raise ConnectionError("closed")
        return data  # type: ignore[no-any-return]

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.outbox.put_nowait(None)
        self.inbox.put_nowait(None)

    def abort(self) -> None:
        self.outbox.put_nowait(None)
        self.inbox.put_nowait(None)


def _router() -> Any:
    from ocppkit import Router, v201

    router = Router("2.0.1")
    now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    router.add(v201.HeartbeatRequest, lambda req: v201.HeartbeatResponse(current_time=now))
    return router


async def _memory(n: int) -> float:
    from ocppkit import v201
    from ocppkit.adapters.asyncio import SessionOptions, open_session

    a: asyncio.Queue[Any] = asyncio.Queue()
    b: asyncio.Queue[Any] = asyncio.Queue()
    options = SessionOptions(max_call_rate=0)
    station = open_session(_Pipe(a, b), "station", "2.0.1", None, identity="S", options=options)
    csms = open_session(_Pipe(b, a), "csms", "2.0.1", _router(), identity="S", options=options)
    tasks = [station.start(), csms.start()]
    request = v201.HeartbeatRequest()
    for _ in range(20):
        await station.call(request)
    t0 = time.perf_counter()
    for _ in range(n):
        await station.call(request)
    elapsed = time.perf_counter() - t0
    await station.transport.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return elapsed


async def _websocket(n: int, stations: int = 1) -> float:
    from ocppkit import v201
    from ocppkit.adapters.websockets import ChargingStation, CSMSServer

    csms = CSMSServer(_router(), versions=("2.0.1",), max_call_rate=0, ping_interval=None, compression=None)
    await csms.start("127.0.0.1", 0)
    clients = [
        ChargingStation(f"ws://127.0.0.1:{csms.port}/S{i}", versions=["2.0.1"], ping_interval=None, compression=None)
        for i in range(stations)
    ]
    try:
        for client in clients:
            await client.start()
            await client.wait_connected(10)
        request = v201.HeartbeatRequest()

        async def calls(client: Any, count: int) -> None:
            for _ in range(count):
                await client.call(request)

        await asyncio.gather(*(calls(c, 10) for c in clients))
        t0 = time.perf_counter()
        await asyncio.gather(*(calls(c, max(1, n // stations)) for c in clients))
        return time.perf_counter() - t0
    finally:
        for client in clients:
            await client.close()
        await csms.close()


#: name -> (make the timed coroutine for n calls, calls per sample full / quick)
SCENARIOS: dict[str, tuple[Callable[[int], Awaitable[float]], int, int]] = {
    "memory": (_memory, 4000, 1000),
    "websocket": (_websocket, 2000, 500),
    "websocket x50": (lambda n: _websocket(n, 50), 5000, 1000),
}


def compare(quick: bool = False, repeats: int | None = None, out: Callable[[str], None] = print) -> dict[str, Any]:
    """Each scenario on both loops, interleaved (asyncio, uvloop, asyncio, ...): µs per call
    (median of the samples) and asyncio / uvloop (> 1: uvloop is faster)."""
    repeats = repeats or (3 if quick else 7)
    results: dict[str, Any] = {"repeats": repeats, "python": sys.version.split()[0], "scenarios": {}}
    try:
        import uvloop  # noqa: F401

        results["uvloop"] = importlib.metadata.version("uvloop")
    except ImportError:
        results["uvloop"] = None
        out('uvloop is not installed (pip install "ocppkit[uvloop]"): nothing to compare')
        return results
    out("")
    out(f"Session round trips per loop ({repeats} interleaved samples each; uvloop {results['uvloop']})")
    out(f"  {'scenario':<16} {'asyncio':>12} {'uvloop':>12} {'asyncio/uvloop':>15}")
    for name, (scenario, full, short) in SCENARIOS.items():
        n = short if quick else full
        samples: dict[str, list[float]] = {kind: [] for kind in LOOPS}
        for _ in range(repeats):
            for kind in LOOPS:
                samples[kind].append(run(scenario(n), kind) / n)  # type: ignore[arg-type]
        per_call = {kind: statistics.median(v) for kind, v in samples.items()}
        paired = statistics.median(a / u for a, u in zip(samples["asyncio"], samples["uvloop"], strict=True))
        results["scenarios"][name] = {
            "calls_per_sample": n,
            "us_per_call": {k: v * 1e6 for k, v in per_call.items()},
            "round_trips_per_s": {k: 1 / v for k, v in per_call.items()},
            "asyncio_over_uvloop": paired,
        }
        out(f"  {name:<16} {per_call['asyncio'] * 1e6:>10.1f}µs {per_call['uvloop'] * 1e6:>10.1f}µs {paired:>14.2f}x")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._loops", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args(argv)
    compare(quick=args.quick, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
