"""Where the outbox's time goes, and a measured what-if for its asyncio driver.

``python -m benchmarks.profile_outbox [--quick] [--cprofile FILE]``

Over a real loopback WebSocket (the CSMS of ``bench_outbox`` in its own process), sequential
2.0.1 TransactionEvent round trips, interleaved in rotating order per round:

- ``direct``: ``await session.call(event)`` (no outbox);
- ``memory``: ``await station.call(event)`` through the stock :class:`StationOutbox` (memory
  store: no I/O, so what remains is the driver's own cost);
- ``memory-lean-idle``: the same with a what-if ``_idle`` (below), to measure what the stock
  one costs. Not a change to ocppkit: a subclass living only in this file.

First, in the sans-IO core: sqlite ``full`` with the stock store against a what-if store that
commits pure deletes without an fsync (``LazyDeleteStore`` below), and the memory store with
0, 1,000 and 10,000 messages queued against ``FlatMemoryStore`` (a commit that does not copy
every id). Then: p50 per contender
(median of rounds), the paired per-round differences to ``direct``, and the event-loop
iterations per call (``loop._run_once`` counted). ``--cprofile FILE`` adds a cProfile of
``--messages`` drained through a sqlite ``normal`` outbox (``--store`` to pick
another), sorted by internal time.

The stock ``StationOutbox._idle`` (ocppkit/adapters/outbox.py) creates two tasks
(``changed.wait()``, ``session.closed.wait()``) and an ``asyncio.wait`` every time the queue
runs empty, i.e. once per message when messages come one at a time, and cancels the loser. The
what-if waits on the event alone and pokes it once per session when the session closes (one
task per connection instead of two per message): the same wake-ups, fewer loop turns.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ocppkit.adapters.outbox import StationOutbox
from ocppkit.outbox import MemoryStore, Outbox, OutboxError, OutboxSettings, SqliteStore

from . import bench_outbox as bo


class LeanIdleOutbox(StationOutbox):
    """What-if: ``_idle`` without two tasks and an ``asyncio.wait`` per empty queue."""

    _watched: Any = None
    _watch_task: asyncio.Task[Any] | None = None

    async def _idle(self, session: Any, timeout: float | None) -> None:
        changed = self._event()
        changed.clear()
        if session is not self._watched:  # once per connection: its end pokes the event
            self._watched = session
            self._watch_task = asyncio.ensure_future(session.closed.wait())
            self._watch_task.add_done_callback(lambda _t: self._poke())
        if session.closed.is_set():
            return
        if timeout is None:
            await changed.wait()
            return
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class LazyDeleteStore(SqliteStore):
    """What-if: a write that only deletes entries (a delivery without 1.6 placeholder changes)
    is committed with ``synchronous=NORMAL`` on a ``full`` store. In WAL mode the next FULL commit
    fsyncs it too; a power loss before that may undo the delete, i.e. resend a delivered message
    (at least once, the same payload and seqNo), never lose one."""

    def commit(self, *, add: Any = (), update: Any = (), remove: Any = (), meta: Any = None) -> None:
        add, update = tuple(add), tuple(update)
        lazy = self.durability == "full" and not add and not update and not meta
        conn = self._connection()
        if lazy:
            conn.execute("PRAGMA synchronous=NORMAL")
        try:
            super().commit(add=add, update=update, remove=remove, meta=meta)
        finally:
            if lazy:
                conn.execute("PRAGMA synchronous=FULL")


class FlatMemoryStore(MemoryStore):
    """What-if: the stock ``MemoryStore.commit`` copies every id it holds into a set to check
    the write (``ids = set(self._entries)``, ocppkit/outbox/_store.py), so each commit costs
    O(pending). This one checks against the dict itself (same checks, same all-or-nothing)."""

    def commit(self, *, add: Any = (), update: Any = (), remove: Any = (), meta: Any = None) -> None:
        add, update, remove = tuple(add), tuple(update), tuple(remove)
        entries = self._entries
        new = {e.id for e in add}
        if len(new) != len(add) or any(e.id in entries for e in add):
            raise OutboxError("commit: add: entry already exists")
        if any(e.id not in entries for e in update) or any(i not in entries and i not in new for i in remove):
            raise OutboxError("commit: update/remove: no such entry")
        if any(not isinstance(k, str) or not (v is None or isinstance(v, str)) for k, v in (meta or {}).items()):
            raise OutboxError("commit: meta: expected str keys and str or None values")
        for e in add + update:
            entries[e.id] = e
        for i in remove:
            entries.pop(i, None)
        for k, v in (meta or {}).items():
            if v is None:
                self._meta.pop(k, None)
            else:
                self._meta[k] = v


def _memory_depth(rounds: int, n: int, depths: tuple[int, ...]) -> dict[str, Any]:
    """submit + next + delivered per message with ``depth`` messages already queued."""
    from ocppkit import v201

    event = bo.payloads()["v201 TransactionEvent"]
    resp = v201.TransactionEventResponse()
    settings = OutboxSettings(max_messages=1_000_000)
    boxes: dict[str, Outbox] = {}
    for depth in depths:
        for label, cls in (("stock", MemoryStore), ("flat", FlatMemoryStore)):
            ob = Outbox("2.0.1", cls(), settings)
            for _ in range(depth):
                ob.submit(event, bo.NOW)
            boxes[f"{label} memory, {depth:,} queued"] = ob
    times: dict[str, list[float]] = {k: [] for k in boxes}
    names = list(boxes)
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            ob = boxes[name]
            t0 = time.perf_counter()
            for _ in range(n):
                ob.submit(event, bo.NOW)
            for _ in range(n):  # the oldest go: the depth stays the same
                act = ob.next(bo.NOW)
                ob.delivered(act.entry.id, resp, bo.NOW)  # type: ignore[union-attr]
            times[name].append((time.perf_counter() - t0) / n)
    print(f"MemoryStore, {rounds} interleaved rounds x {n} messages: submit+next+delivered per message")
    out = {name: statistics.median(ts) for name, ts in times.items()}
    for name, t in out.items():
        print(f"  {name:<30} {t * 1e6:>7.1f}us")
    print()
    return out


def _core_what_if(folder: Path, rounds: int, n: int) -> dict[str, Any]:
    """submit + next + delivered over sqlite ``full``: the stock store against LazyDeleteStore."""
    from ocppkit import v201

    event = bo.payloads()["v201 TransactionEvent"]
    resp = v201.TransactionEventResponse()
    settings = OutboxSettings(max_messages=100_000)
    boxes = {
        "stock full": Outbox("2.0.1", SqliteStore(folder / "stock.sqlite", durability="full"), settings),
        "lazy-delete full": Outbox("2.0.1", LazyDeleteStore(folder / "lazy.sqlite", durability="full"), settings),
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in boxes}
    names = list(boxes)
    for r in range(rounds + 1):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            ob = boxes[name]
            t0 = time.perf_counter()
            for _ in range(n):
                ob.submit(event, bo.NOW)
            t1 = time.perf_counter()
            for _ in range(n):
                act = ob.next(bo.NOW)
                ob.delivered(act.entry.id, resp, bo.NOW)  # type: ignore[union-attr]
            t2 = time.perf_counter()
            if r:  # round 0 is the warm-up
                times[name].append(((t1 - t0) / n, (t2 - t1) / n))
    for ob in boxes.values():
        ob.close()
    print(f"sqlite full, {rounds} interleaved rounds x {n} messages: submit, next+delivered per message")
    out: dict[str, Any] = {}
    for name in names:
        sub = statistics.median(t[0] for t in times[name])
        dlv = statistics.median(t[1] for t in times[name])
        out[name] = {"submit_s": sub, "next_delivered_s": dlv}
        print(f"  {name:<18} submit {sub * 1e6:>7.1f}us  next+delivered {dlv * 1e6:>7.1f}us")
    ratio = statistics.median(
        (a[0] + a[1]) / (b[0] + b[1]) for a, b in zip(times["lazy-delete full"], times["stock full"], strict=True)
    )
    out["lazy_over_stock_per_message"] = ratio
    print(f"  lazy-delete / stock, whole message (paired per round): {ratio:.2f}x\n")
    return out


async def _compare(port: int, folder: Path, rounds: int, calls: int) -> dict[str, Any]:
    event = bo.payloads()["v201 TransactionEvent"]
    stock = bo.make_station(port, "PROF-stock", bo.make_store("memory", folder, "p"))
    lean = bo.make_station(port, "PROF-lean", bo.make_store("memory", folder, "q"))
    lean.outbox = LeanIdleOutbox(lean.outbox.core)
    for st in (stock, lean):
        await st.start()
        await st.wait_connected(30)
    session = stock.session
    loop = asyncio.get_running_loop()
    turns = [0]
    run_once = loop._run_once  # type: ignore[attr-defined]

    def counting() -> None:
        turns[0] += 1
        run_once()

    loop._run_once = counting  # type: ignore[attr-defined]

    async def direct() -> Any:
        return await session.call(event)

    async def stocked() -> Any:
        return await stock.call(event)

    async def leaned() -> Any:
        return await lean.call(event)

    contenders = {"direct": direct, "memory": stocked, "memory-lean-idle": leaned}
    for fn in contenders.values():
        for _ in range(10):
            await fn()
    names = list(contenders)
    lat: dict[str, list[list[float]]] = {n: [] for n in names}
    per_call_turns: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            fn = contenders[name]
            xs = []
            t_before = turns[0]
            for _ in range(calls):
                t0 = time.perf_counter()
                await fn()
                xs.append(time.perf_counter() - t0)
            per_call_turns[name].append((turns[0] - t_before) / calls)
            lat[name].append(xs)
    loop._run_once = run_once  # type: ignore[attr-defined]
    for st in (stock, lean):
        await st.close()
    rows = [{n: lat[n][r] for n in names} for r in range(rounds)]
    out: dict[str, Any] = {}
    print(f"{rounds} rounds x {calls} sequential calls per contender (rotating order)")
    print(f"  {'contender':<18} {'p50':>9} {'p50 - direct':>13} {'loop turns/call':>16}")
    for name in names:
        p50 = statistics.median(statistics.median(x) for x in lat[name])
        extra = bo.added(rows, name)["p50_s"] if name != "direct" else 0.0
        out[name] = {"p50_s": p50, "added_p50_s": extra, "loop_turns_per_call": statistics.median(per_call_turns[name])}
        print(f"  {name:<18} {p50 * 1e3:>7.3f}ms {extra * 1e3:>11.3f}ms {out[name]['loop_turns_per_call']:>16.1f}")
    saved = [statistics.median(r["memory"]) - statistics.median(r["memory-lean-idle"]) for r in rows]
    out["stock_minus_lean_p50_s"] = statistics.median(saved)
    print(
        f"  stock idle - lean idle, p50 paired per round: {out['stock_minus_lean_p50_s'] * 1e3:.3f} ms (per round: "
        + ", ".join(f"{x * 1e3:.3f}" for x in saved)
        + ")"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_outbox", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--calls", type=int)
    parser.add_argument("--cprofile", metavar="FILE", help="also cProfile one drain into FILE and print the top")
    parser.add_argument("--messages", type=int, default=3000, help="--cprofile: messages drained (default 3000)")
    parser.add_argument("--store", default="sqlite-normal", choices=(*bo.DRAIN_STORES, "direct"))
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    args = parser.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 11)
    calls = args.calls or (50 if args.quick else 200)
    server_cpu, client_cpu = bo.cpu_plan(args.pin)
    with tempfile.TemporaryDirectory() as tmp, bo.csms_process(server_cpu, 900) as port, bo.pinned(client_cpu):
        folder = Path(tmp)
        _core_what_if(folder, 5 if args.quick else 11, 30 if args.quick else 60)
        _memory_depth(5 if args.quick else 11, 100 if args.quick else 300, (0, 1_000, 10_000))
        result = asyncio.run(_compare(port, folder, rounds, calls))
        if args.cprofile:
            prof = cProfile.Profile()
            prof.enable()
            drained = asyncio.run(bo.drain_one(port, args.store, folder, args.messages, "profile"))
            prof.disable()
            prof.dump_stats(args.cprofile)
            print(f"\ncProfile of draining {args.messages:,} ({args.store}): {json.dumps(drained)}")
            pstats.Stats(args.cprofile).sort_stats("tottime").print_stats(20)
    del result
    return 0


if __name__ == "__main__":
    sys.exit(main())
