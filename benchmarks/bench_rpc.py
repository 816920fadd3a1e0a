"""RPC benchmark: full round trips through two sans-IO connections wired back to back, and memory.

One round trip, as an application drives it (no I/O, no asyncio)::

    station.call(request)                        # CALL out: validate, encode, start the deadline
    for data in station.data_to_send():          #   (the "wire" is a Python list)
        csms.receive_data(data)                  # CALL in: decode, validate, CallReceived
    for event in csms.events():
        router.dispatch(csms, event)             # handler builds the response; send_result
    for data in csms.data_to_send():             #   validates and encodes the CALLRESULT
        station.receive_data(data)               # CALLRESULT in: decode as the call's action
    for event in station.events(): ...           # ResultReceived, slot free again

Messages: OCPP 2.0.1 ``Heartbeat`` (empty request; the response carries ``currentTime``) and
``TransactionEvent`` (the 1.9 KB ``Updated``/``MeterValuePeriodic`` payload of the codec
benchmark, ten sampled values; the response carries ``idTokenInfo``). The handlers are those of
:func:`ocppkit.adapters.demo.csms_router` (the demo CSMS also used by the load benchmark).

Contenders, per message, interleaved:

``c``
    ``ocppkit._rpc_c.Connection`` (the Cython-compiled twin, what ``ocppkit.Connection`` is)
    with ``ocppkit._codec_c.Codec`` and the compiled ``Router``, with the connection's
    **default id source** (what the adapters use).
``py``
    ``ocppkit._rpc_py.Connection`` with ``ocppkit._codec_py.Codec`` and the pure ``Router``
    (the pure twins), default ids.
``untyped``
    The floor the round trip is measured against: an untyped msgspec encode/decode loop of the
    same frames, as an untyped application would run it: ``[2, id, action, payload]`` built
    from plain lists and dicts (the JSON tree of the request, a fresh id from a counter),
    ``msgspec.json.encode``, ``msgspec.json.decode``; ``[3, id, response]`` (the JSON tree of
    the demo handler's response) encoded and decoded likewise. No validation, no types, no
    handler. ``c / untyped`` is the issue-14 target (<= 3.3x).
``(info) c, constant handler``
    ``c`` with a Heartbeat/TransactionEvent handler that returns a response built once: the
    core's own cost, without the demo handler's clock read and ``datetime`` construction.
``(info) c, counter ids`` / ``(info) c, uuid4 ids``
    ``c`` with ids injected from a counter (``"1"``, ``"2"``, ...) or ``str(uuid.uuid4())``
    (the default of the connection before issue 14).
``(info) codec only, c`` / ``(info) codec only, py``
    The codec work of one round trip plus the handler, without connections or router:
    ``encode(Call)``, ``decode``, ``handler(request)``, ``encode(CallResult)``,
    ``decode(data, action)``. The difference to ``c`` / ``py`` is what the connection layer
    (and the router) cost.
``(info) handler only``
    The demo handler alone (builds the response; the Heartbeat one reads the wall clock).
``(info) c, lean handler`` (Heartbeat only)
    ``c`` with a router whose Heartbeat handler returns
    ``HeartbeatResponse(current_time=datetime.now(timezone.utc))`` (no truncation).
``base c`` / ``base py`` (with ``--base DIR``)
    The connection, router and codec twins of an earlier commit, built by
    ``python -m benchmarks.base_twins`` and loaded beside the current ones, with *their*
    default id source: before and after in one run.

Both connections of a pair share one codec; the clock is ``time.monotonic``.

Memory (in a fresh child process per twin, ``python -m benchmarks.bench_rpc --memory-child``):
10,000 idle CSMS-side connections created with a shared clock, the default id source and a shared
codec (as the default does), measured with tracemalloc (bytes traced per connection) and
cross-checked with the resident set size (``VmRSS``) of the child; then one Heartbeat round trip
on every one of them (through one shared peer connection), and again (containers created,
used and emptied); likewise as stations; and connections created the way ``CSMSServer``
creates them (``clock=loop.time``, a bound method per connection).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

import ocppkit
from ocppkit import CallReceived, ResultReceived

from . import _loops
from ._timing import calibrate, fmt_time, interleaved, median, paired_ratio

__all__ = [
    "TARGET_C_OVER_PY",
    "TARGET_IDLE_BYTES",
    "TARGET_ROUND_TRIPS_PER_S",
    "memory",
    "run",
    "target_lines",
]

VERSION = "2.0.1"
TARGET_ROUND_TRIPS_PER_S = 100_000.0  # Heartbeat, C twins, one core
TARGET_C_OVER_PY = 1.3  # pure twin time / C twin time, per message
TARGET_IDLE_BYTES = 2048  # per idle connection
IDLE_CONNECTIONS = 10_000

ROOT = Path(__file__).resolve().parent.parent

TARGET_UNTYPED_RATIO = 3.3  # c round trip (default ids) / untyped msgspec loop of the same frames

CONTENDERS = ("c", "py", "untyped", "c-const", "c-counter", "c-uuid4", "c-lean", "codec-c", "codec-py", "handler")
LABELS = {
    "c": "round trip, C twins  (default ids)",
    "py": "round trip, pure twins  (default ids)",
    "untyped": "untyped msgspec loop, same frames",
    "c-const": "(info) round trip, C, constant handler",
    "c-counter": "(info) round trip, C, counter ids",
    "c-uuid4": "(info) round trip, C, uuid4 ids",
    "c-lean": "(info) round trip, C, lean handler",
    "codec-c": "(info) codec + handler only, codec_c",
    "codec-py": "(info) codec + handler only, codec_py",
    "handler": "(info) handler only",
    "base-c": "base: round trip, C twins  (its default ids)",
    "base-py": "base: round trip, pure twins  (its default ids)",
}


# ------------------------------------------------------------------------------- building


class Twins:
    """A Connection class, a codec and a Router class that run together."""

    def __init__(self, connection: type, codec: Any, router: type) -> None:
        self.connection, self.codec, self.router = connection, codec, router


def _twins(twin: str) -> tuple[type, Any]:
    """(Connection class, codec) for ``"c"`` or ``"py"``; fails if the C twins are not built."""
    t = twins(twin)
    return t.connection, t.codec


def twins(twin: str, base: dict[str, Any] | None = None) -> Twins:
    """The current ``"c"`` or ``"py"`` twins, or those of ``base`` (``base_twins.load``)."""
    if base is not None:
        return Twins(
            base[f"rpc_{twin}"].Connection, base[f"codec_{twin}"].Codec(VERSION), base[f"router_{twin}"].Router
        )
    if twin == "c":
        from ocppkit import _codec_c, _router_c, _rpc_c  # type: ignore[attr-defined]

        return Twins(_rpc_c.Connection, _codec_c.Codec(VERSION), _router_c.Router)
    from ocppkit import _codec_py, _router_py, _rpc_py

    return Twins(_rpc_py.Connection, _codec_py.Codec(VERSION), _router_py.Router)


def _counter_ids(prefix: str = "") -> Callable[[], str]:
    return map(f"{prefix}{{}}".format, itertools.count(1)).__next__


def _uuid4_ids() -> str:
    import uuid

    return str(uuid.uuid4())


def messages() -> dict[str, Any]:
    """name -> request object (2.0.1)."""
    from ocppkit import v201

    from .data import frames

    te = next(f for f in frames() if f.name == "v201 TransactionEvent")
    return {
        "Heartbeat": v201.HeartbeatRequest(),
        "TransactionEvent": ocppkit.decode_payload(te.payload, v201.TransactionEventRequest),
    }


def _demo_router(router_cls: type) -> Any:
    """The demo CSMS's handlers on a router of the given twin."""
    from ocppkit.adapters.demo import csms_router

    demo = csms_router(VERSION)
    router = router_cls(VERSION)
    for cls, handler in demo._handlers.items():
        router.add(cls, handler)
    return router


class Pair:
    """A station and a CSMS connection back to back, and the loop that runs ``n`` round trips.

    ``ids``: ``"default"`` (the connection's own), ``"counter"`` or ``"uuid4"``; ``handler``:
    ``"demo"``, ``"lean"`` (Heartbeat: ``datetime.now``) or ``"const"`` (a response built once).
    """

    def __init__(
        self, twin: str, *, ids: str = "default", handler: str = "demo", base: dict[str, Any] | None = None
    ) -> None:
        t = twins(twin, base)
        kw: dict[str, Any] = {}
        if ids == "counter":
            kw["ids"] = _counter_ids()
        elif ids == "uuid4":
            kw["ids"] = _uuid4_ids
        self.station = t.connection("station", VERSION, clock=time.monotonic, codec=t.codec, **kw)
        self.csms = t.connection("csms", VERSION, clock=time.monotonic, codec=t.codec, **kw)
        if handler == "lean":
            self.router = _lean_router(t.router)
        elif handler == "const":
            self.router = _const_router(t.router)
        else:
            self.router = _demo_router(t.router)
        self.wire: list[bytes] = []

    def round_trip(self, request: Any, record: bool = False) -> tuple[list[Any], list[Any]]:
        """One round trip, collecting events (and the frames if ``record``): for the checks."""
        station, csms = self.station, self.csms
        station.call(request)
        csms_events, station_events = [], []
        for data in station.data_to_send():
            if record:
                self.wire.append(data)
            csms.receive_data(data)
        for event in csms.events():
            csms_events.append(event)
            if type(event) is CallReceived:
                self.router.dispatch(csms, event)
        for data in csms.data_to_send():
            if record:
                self.wire.append(data)
            station.receive_data(data)
        station_events.extend(station.events())
        return csms_events, station_events

    def loop(self, request: Any) -> Callable[[int], None]:
        station, csms, router = self.station, self.csms, self.router

        def loop(n: int, request: Any = request) -> None:
            call, s_out, s_in, s_events = station.call, station.data_to_send, station.receive_data, station.events
            c_out, c_in, c_events, dispatch = csms.data_to_send, csms.receive_data, csms.events, router.dispatch
            for _ in repeat(None, n):
                call(request)
                for data in s_out():
                    c_in(data)
                for event in c_events():
                    if type(event) is CallReceived:
                        dispatch(csms, event)
                    else:
                        raise AssertionError(f"csms: unexpected {event!r}")
                for data in c_out():
                    s_in(data)
                for event in s_events():
                    if type(event) is not ResultReceived:
                        raise AssertionError(f"station: unexpected {event!r}")

        return loop


def _lean_router(router_cls: type = ocppkit.Router) -> Any:
    """A Heartbeat handler that reads the clock and nothing else."""
    import datetime as dt

    from ocppkit import v201

    router = router_cls(VERSION)
    utc = dt.timezone.utc
    router.add(v201.HeartbeatRequest, lambda req: v201.HeartbeatResponse(current_time=dt.datetime.now(utc)))
    return router


def _const_router(router_cls: type) -> Any:
    """The demo's responses, each built once and returned for every call: the core alone."""
    demo = _demo_router(router_cls)
    router = router_cls(VERSION)
    for request in messages().values():
        response = demo.handler_for(request)(request)
        router.add(type(request), lambda req, response=response: response)
    return router


def _codec_loop(twin: str, request: Any) -> Callable[[int], None]:
    """The codec work of one round trip plus the handler: no connection, no router."""
    from ocppkit import Call, CallResult
    from ocppkit.adapters.demo import csms_router

    _, codec = _twins(twin)
    handler = csms_router(VERSION).handler_for(request)
    assert handler is not None
    action = type(request).__ocpp__.action
    ids = _counter_ids()

    def loop(n: int) -> None:
        encode, decode = codec.encode, codec.decode
        for _ in repeat(None, n):
            frame = decode(encode(Call(ids(), action, request)))
            result = decode(encode(CallResult(frame.unique_id, handler(frame.payload))), action)
            if type(result) is not CallResult:
                raise AssertionError(result)

    return loop


def _untyped_loop(wire: list[bytes]) -> Callable[[int], None]:
    """msgspec, untyped: the round trip's two frames built from plain lists and dicts (fresh
    counter id), each encoded and decoded; the JSON trees are those the twins put on the wire."""
    import msgspec

    call_tree = msgspec.json.decode(wire[0])
    result_tree = msgspec.json.decode(wire[1])
    assert call_tree[0] == 2 and result_tree[0] == 3, (call_tree, result_tree)
    action, payload, response = call_tree[2], call_tree[3], result_tree[2]
    ids = _counter_ids()

    def loop(n: int) -> None:
        encode, decode = msgspec.json.encode, msgspec.json.decode
        for _ in repeat(None, n):
            frame = decode(encode([2, ids(), action, payload]))
            result = decode(encode([3, frame[1], response]))
            if result[0] != 3:
                raise AssertionError(result)

    return loop


def _handler_loop(request: Any) -> Callable[[int], None]:
    from ocppkit.adapters.demo import csms_router

    handler = csms_router(VERSION).handler_for(request)

    def loop(n: int) -> None:
        for _ in repeat(None, n):
            handler(request)  # type: ignore[misc]

    return loop


def verify(name: str, request: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fail loudly unless every twin completes the round trip correctly (with counter ids and
    with its default ids, which must not repeat) and both current twins put the same frames on
    the wire (timestamps in the response aside)."""
    import msgspec

    wires: dict[str, list[Any]] = {}
    raw: list[bytes] = []
    setups = [("c", None), ("py", None)] + ([("c", base), ("py", base)] if base is not None else [])
    for twin, mods in setups:
        for ids in ("counter", "default"):
            pair = Pair(twin, ids=ids, base=mods)
            for _ in range(3):
                csms_events, station_events = pair.round_trip(request, record=True)
                assert [type(e) for e in csms_events] == [CallReceived], (twin, name, csms_events)
                assert csms_events[0].request == request, (twin, name)
                assert [type(e) for e in station_events] == [ResultReceived], (twin, name, station_events)
                res = station_events[0]
                assert res.action == name and res.call is request, (twin, name)
                assert type(res.response).__ocpp__.action == name, (twin, name, type(res.response))
            for conn in (pair.station, pair.csms):
                assert conn.slot == "IDLE" and conn.bad_messages == 0 and conn.pending_received == 0, (twin, conn)
                assert conn.data_to_send() == [] and list(conn.events()) == [], (twin, conn)
            frames = [msgspec.json.decode(d) for d in pair.wire]
            call_ids = [f[1] for f in frames if f[0] == 2]
            assert len(set(call_ids)) == 3, (twin, ids, call_ids)
            if ids == "counter" and mods is None:
                wires[twin] = frames
                raw = raw or pair.wire[:2]
    for frame in (*wires["c"], *wires["py"]):
        if frame[0] == 3 and "currentTime" in frame[2]:
            frame[2]["currentTime"] = "<now>"
    assert wires["c"] == wires["py"], f"{name}: the twins put different frames on the wire"
    return {
        "request_frame_bytes": len(_twins("c")[1].encode(ocppkit.Call("1", name, request))),
        "response_frame_example": msgspec.json.encode(wires["c"][1]).decode(),
        "wire": raw,
    }


# --------------------------------------------------------------------------------- memory


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _memory_child(twin: str, n: int) -> dict[str, Any]:
    """Runs in a fresh process (``--memory-child``): bytes per connection, several states."""
    from ocppkit import v201
    from ocppkit.adapters.demo import csms_router

    Connection, codec = _twins(twin)
    router = csms_router(VERSION)
    request = v201.HeartbeatRequest()
    clock = time.monotonic
    loop = asyncio.new_event_loop()

    def round_trip(station: Any, csms: Any) -> None:
        station.call(request)
        for data in station.data_to_send():
            csms.receive_data(data)
        for event in csms.events():
            router.dispatch(csms, event)
        for data in csms.data_to_send():
            station.receive_data(data)
        events = list(station.events())
        assert len(events) == 1 and type(events[0]) is ResultReceived, events

    # Warm up: everything a round trip touches once (lazy imports, caches, decoders).
    for _ in range(3):
        round_trip(
            Connection("station", VERSION, clock=clock, codec=codec),
            Connection("csms", VERSION, clock=clock, codec=codec),
        )
    out: dict[str, Any] = {
        "twin": twin,
        "connections": n,
        "connection_class": f"{Connection.__module__}.{Connection.__qualname__}",
    }
    sample = Connection("csms", VERSION, clock=clock, codec=codec)
    out["sys_getsizeof"] = sys.getsizeof(sample)
    out["has_dict"] = hasattr(sample, "__dict__")
    del sample

    # 1. RSS, no tracemalloc (it would add its own bookkeeping to the RSS).
    conns: list[Any] = [None] * n  # the list itself is allocated before the "before" reading
    gc.collect()
    rss0 = _rss()
    for i in range(n):
        conns[i] = Connection("csms", VERSION, clock=clock, codec=codec)
    gc.collect()
    out["rss_idle_per_conn"] = (_rss() - rss0) / n
    conns = [None] * n
    gc.collect()

    # 2. tracemalloc: idle, then after one round trip each (as CSMS, then as station).
    def traced(make: Callable[[], Any], after: Callable[[Any], None] | None) -> tuple[float, float | None]:
        conns: list[Any] = [None] * n
        gc.collect()
        tracemalloc.start()
        t0 = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            conns[i] = make()
        gc.collect()
        t1 = tracemalloc.get_traced_memory()[0]
        t2 = None
        if after is not None:
            for c in conns:
                after(c)
            gc.collect()
            t2 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (t1 - t0) / n, None if t2 is None else (t2 - t0) / n

    peer_station = Connection("station", VERSION, clock=clock, codec=codec, ids=_counter_ids("p"))
    peer_csms = Connection("csms", VERSION, clock=clock, codec=codec)
    idle, after_csms = traced(
        lambda: Connection("csms", VERSION, clock=clock, codec=codec), lambda c: round_trip(peer_station, c)
    )
    _, after_station = traced(
        lambda: Connection("station", VERSION, clock=clock, codec=codec), lambda c: round_trip(c, peer_csms)
    )
    adapter_like, _ = traced(lambda: Connection("csms", VERSION, clock=loop.time, codec=codec), None)
    out.update(
        traced_idle_per_conn=idle,
        traced_after_round_trip_csms=after_csms,
        traced_after_round_trip_station=after_station,
        traced_idle_clock_loop_time=adapter_like,
    )
    loop.close()
    return out


def memory(n: int = IDLE_CONNECTIONS) -> dict[str, Any]:
    """Bytes per connection for both twins, each measured in a fresh child process."""
    results = {}
    for twin in ("c", "py"):
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_rpc", "--memory-child", twin, "-n", str(n)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        results[twin] = json.loads(proc.stdout.strip().splitlines()[-1])
    return results


# ------------------------------------------------------------------------------------ run


def run(
    *,
    quick: bool,
    sample_time: float | None = None,
    repeats: int | None = None,
    out: Callable[[str], None] = print,
    base: Path | None = None,
    with_memory: bool = True,
    event_loop: str = "asyncio",
) -> dict[str, Any]:
    """The sans-IO round trips (no loop), then memory; ``event_loop="uvloop"`` adds the Session round
    trips on asyncio's loop and uvloop's side by side (benchmarks/_loops.py)."""
    from ocppkit import rpc

    sample_time = sample_time or (0.005 if quick else 0.05)
    repeats = repeats or (15 if quick else 31)
    mods = None
    if base is not None:
        from .base_twins import load

        mods = load(base)
    results: dict[str, Any] = {
        "base_ref": None if mods is None else mods["ref"],
        "sample_time_s": sample_time,
        "repeats": repeats,
        "version": VERSION,
        "implementation": {"rpc": rpc.IMPLEMENTATION, "codec": ocppkit.IMPLEMENTATION},
        "messages": [],
    }
    built = ROOT / "build" / "cython" / "_rpc_c.py"
    stale = built.exists() and built.read_bytes() != (ROOT / "ocppkit" / "_rpc_py.py").read_bytes()
    results["rpc_c_built_from_current_source"] = None if not built.exists() else not stale
    out(
        f"RPC round trips ({VERSION}, two connections back to back, demo CSMS handlers): {repeats} interleaved "
        f"rounds x ~{sample_time * 1e3:.0f} ms samples per contender; ocppkit.Connection is "
        f"{ocppkit.Connection.__module__}.{ocppkit.Connection.__qualname__}"
    )
    if stale:
        out(
            "  WARNING: build/cython/_rpc_c.py differs from ocppkit/_rpc_py.py: the C twin may be stale "
            "(rebuild: pip install -e .)"
        )
    for name, request in messages().items():
        checks = verify(name, request, mods)
        wire = checks.pop("wire")
        loops = {
            "c": Pair("c").loop(request),
            "py": Pair("py").loop(request),
            "untyped": _untyped_loop(wire),
            "c-const": Pair("c", handler="const").loop(request),
            "c-counter": Pair("c", ids="counter").loop(request),
            "c-uuid4": Pair("c", ids="uuid4").loop(request),
            **({"c-lean": Pair("c", handler="lean").loop(request)} if name == "Heartbeat" else {}),
            "codec-c": _codec_loop("c", request),
            "codec-py": _codec_loop("py", request),
            "handler": _handler_loop(request),
            **(
                {"base-c": Pair("c", base=mods).loop(request), "base-py": Pair("py", base=mods).loop(request)}
                if mods is not None
                else {}
            ),
        }
        for loop in loops.values():
            loop(20)
        gc.collect()
        gc.freeze()
        plan = {k: (loop, calibrate(loop, sample_time)) for k, loop in loops.items()}
        per_op = interleaved(plan, repeats)
        gc.unfreeze()
        c, py, untyped = per_op["c"], per_op["py"], per_op["untyped"]
        row = {
            "message": name,
            **checks,
            "contenders": {
                k: {
                    "label": LABELS[k],
                    "iterations_per_sample": plan[k][1],
                    "median_s": median(v),
                    "min_s": min(v),
                    "per_s_median": 1 / median(v),
                    "per_s_best": 1 / min(v),
                    "samples_s": v,
                }
                for k, v in per_op.items()
            },
            "ratios": {
                "c_over_untyped": paired_ratio(c, untyped),
                "py_over_untyped": paired_ratio(py, untyped),
                "c_const_over_untyped": paired_ratio(per_op["c-const"], untyped),
                "c_counter_over_untyped": paired_ratio(per_op["c-counter"], untyped),
                "py_over_c": paired_ratio(py, c),
                "py_over_c_min": min(py) / min(c),
                "c_over_codec_c": paired_ratio(c, per_op["codec-c"]),
                "py_over_codec_py": paired_ratio(py, per_op["codec-py"]),
                "c_uuid4_over_c_counter": paired_ratio(per_op["c-uuid4"], per_op["c-counter"]),
                "c_over_c_counter": paired_ratio(c, per_op["c-counter"]),
                **({"c_over_c_lean": paired_ratio(c, per_op["c-lean"])} if "c-lean" in per_op else {}),
                **(
                    {
                        "base_c_over_c": paired_ratio(per_op["base-c"], c),
                        "base_py_over_py": paired_ratio(per_op["base-py"], py),
                        "base_c_over_untyped": paired_ratio(per_op["base-c"], untyped),
                        "base_py_over_untyped": paired_ratio(per_op["base-py"], untyped),
                    }
                    if "base-c" in per_op
                    else {}
                ),
            },
            "connection_layer_s": {  # differences of medians: noisy
                "c": median(c) - median(per_op["codec-c"]),
                "py": median(py) - median(per_op["codec-py"]),
            },
        }
        row["targets"] = {
            "py_over_c_ge_1.3": row["ratios"]["py_over_c"] >= TARGET_C_OVER_PY,
            "c_over_untyped_le_3.3": row["ratios"]["c_over_untyped"] <= TARGET_UNTYPED_RATIO,
        }
        if name == "Heartbeat":
            row["targets"]["c_per_s_ge_100k"] = row["contenders"]["c"]["per_s_median"] >= TARGET_ROUND_TRIPS_PER_S
        results["messages"].append(row)
        _print_message(row, out)

    if _loops.loop_kind(event_loop) == "uvloop":
        results["loops"] = _loops.compare(quick=quick, out=out)
    if not with_memory:
        return results
    n = 1000 if quick else IDLE_CONNECTIONS
    mem = memory(n)
    results["memory"] = mem
    results["memory_targets"] = {twin: m["traced_idle_per_conn"] < TARGET_IDLE_BYTES for twin, m in mem.items()}
    _print_memory(mem, out)
    return results


def _print_message(row: dict[str, Any], out: Callable[[str], None]) -> None:
    out("")
    out(
        f"{row['message']}  (request frame {row['request_frame_bytes']} bytes; response e.g. "
        f"{row['response_frame_example'][:70]}{'...' if len(row['response_frame_example']) > 70 else ''})"
    )
    out(f"  {'contender':<44} {'median':>10} {'min':>10} {'per s (median)':>15} {'per s (best)':>13}")
    for cd in row["contenders"].values():
        out(
            f"  {cd['label']:<44} {fmt_time(cd['median_s']):>10} {fmt_time(cd['min_s']):>10} "
            f"{cd['per_s_median']:>15,.0f} {cd['per_s_best']:>13,.0f}"
        )
    r, t = row["ratios"], row["targets"]
    out(
        f"  c / untyped = {r['c_over_untyped']:.2f}x  target <= {TARGET_UNTYPED_RATIO:g}x: "
        f"{'PASS' if t['c_over_untyped_le_3.3'] else 'MISS'};  py / untyped = {r['py_over_untyped']:.2f}x;  "
        f"(info) constant handler {r['c_const_over_untyped']:.2f}x, counter ids {r['c_counter_over_untyped']:.2f}x"
    )
    out(
        f"  py / c = {r['py_over_c']:.2f}x (from minimums {r['py_over_c_min']:.2f}x)  target >= "
        f"{TARGET_C_OVER_PY:g}x: {'PASS' if t['py_over_c_ge_1.3'] else 'MISS'}"
    )
    if "c_per_s_ge_100k" in t:
        out(
            f"  c round trips/s = {row['contenders']['c']['per_s_median']:,.0f} (median), target >= "
            f"{TARGET_ROUND_TRIPS_PER_S:,.0f}: {'PASS' if t['c_per_s_ge_100k'] else 'MISS'}"
        )
    if "c-lean" in row["contenders"]:
        out(
            f"  (info) with a lean handler: {row['contenders']['c-lean']['per_s_median']:,.0f} round trips/s "
            f"(median); c / c-lean = {r['c_over_c_lean']:.2f}x"
        )
    layer = row["connection_layer_s"]
    out(
        f"  connections + router over codec + handler: c {fmt_time(layer['c'])} ({r['c_over_codec_c']:.2f}x), "
        f"py {fmt_time(layer['py'])} ({r['py_over_codec_py']:.2f}x); default ids / counter ids "
        f"{r['c_over_c_counter']:.2f}x, uuid4 / counter {r['c_uuid4_over_c_counter']:.2f}x"
    )
    if "base_c_over_c" in r:
        out(
            f"  base / current: c {r['base_c_over_c']:.2f}x, py {r['base_py_over_py']:.2f}x; base over untyped: "
            f"c {r['base_c_over_untyped']:.2f}x, py {r['base_py_over_untyped']:.2f}x"
        )


def _print_memory(mem: dict[str, Any], out: Callable[[str], None]) -> None:
    n = next(iter(mem.values()))["connections"]
    out("")
    out(f"Memory per connection ({n:,} connections, fresh child process per twin; tracemalloc, RSS cross-check)")
    out(
        f"  {'':<6} {'idle':>8} {'RSS idle':>9} {'after RT csms':>14} {'after RT station':>17} "
        f"{'idle, loop.time':>16} {'getsizeof':>10}"
    )
    for twin, m in mem.items():
        out(
            f"  {twin:<6} {m['traced_idle_per_conn']:>7.0f}B {m['rss_idle_per_conn']:>8.0f}B "
            f"{m['traced_after_round_trip_csms']:>13.0f}B {m['traced_after_round_trip_station']:>16.0f}B "
            f"{m['traced_idle_clock_loop_time']:>15.0f}B {m['sys_getsizeof']:>9}B"
        )
        ok = m["traced_idle_per_conn"] < TARGET_IDLE_BYTES
        out(f"         idle < {TARGET_IDLE_BYTES} B: {'PASS' if ok else 'MISS'}")


def target_lines(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    lines = []
    for row in results["messages"]:
        t = row["targets"]
        if "c_per_s_ge_100k" in t:
            lines.append(
                (
                    f"rpc {row['message']}: C round trips/s >= {TARGET_ROUND_TRIPS_PER_S:,.0f} (median)",
                    f"{row['contenders']['c']['per_s_median']:,.0f}",
                    t["c_per_s_ge_100k"],
                )
            )
        lines.append(
            (
                f"rpc {row['message']}: C round trip (default ids) / untyped msgspec <= {TARGET_UNTYPED_RATIO:g}x",
                f"{row['ratios']['c_over_untyped']:.2f}x",
                t["c_over_untyped_le_3.3"],
            )
        )
        lines.append(
            (
                f"rpc {row['message']}: pure/C twin >= {TARGET_C_OVER_PY:g}x",
                f"{row['ratios']['py_over_c']:.2f}x",
                t["py_over_c_ge_1.3"],
            )
        )
    for twin, m in results.get("memory", {}).items():
        lines.append(
            (
                f"rpc idle connection ({twin} twin) < {TARGET_IDLE_BYTES} B (tracemalloc, {m['connections']:,} conns)",
                f"{m['traced_idle_per_conn']:.0f} B",
                results["memory_targets"][twin],
            )
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_rpc")
    parser.add_argument("--memory-child", choices=("c", "py"), help="internal: measure memory, print JSON")
    parser.add_argument("-n", type=int, default=IDLE_CONNECTIONS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--base", type=Path, help="also time the twins built by benchmarks.base_twins in DIR")
    parser.add_argument("--no-memory", action="store_true", help="round trips only")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--sample-time", type=float)
    _loops.add_loop_option(parser)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(_memory_child(args.memory_child, args.n)))
        return 0
    run(
        quick=args.quick,
        base=args.base,
        with_memory=not args.no_memory,
        repeats=args.repeats,
        sample_time=args.sample_time,
        event_loop=args.loop,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
