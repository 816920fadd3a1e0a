"""Where a sans-IO round trip's time goes: its steps timed one by one, both twins, plus cProfile.

``python -m benchmarks.profile_rpc [--quick] [--cprofile] [--base DIR]``

Runs the round trip of ``bench_rpc`` (2.0.1 Heartbeat and TransactionEvent, demo CSMS handlers)
with ``time.perf_counter_ns`` read between its steps:

``call``            ``station.call(request)``: id, checks, ``Call(...)``, validating encode, deadline
``s.out``           ``station.data_to_send()``
``c.in``            ``csms.receive_data(data)``: decode, validate, ``CallReceived``
``c.events``        ``list(csms.events())``
``dispatch``        ``router.dispatch(csms, event)``: handler, ``send_result`` (validating encode)
``c.out``           ``csms.data_to_send()``
``s.in``            ``station.receive_data(data)``: decode as the call's action, ``ResultReceived``
``s.events``        ``list(station.events())``

and, separately (same rounds), the codec calls and the handler those steps contain, so that
``step - its codec call`` is what the connection layer adds. Each round runs both twins and both
messages in rotating order; per-step figures are medians over rounds of the mean per round trip.
The clock reads add about 50 ns per step (the ``timer`` row measures them). ``--cprofile`` adds
cProfile of the pure twin's Heartbeat round trip (the C twin's functions are invisible to it).
Both connections use their default id source. ``--base DIR`` adds the twins of an earlier commit
(``python -m benchmarks.base_twins``) as ``base-c`` and ``base-py``, in the same rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocppkit import Call, CallResult

from .bench_rpc import Pair, messages, twins

STEPS = ("call", "s.out", "c.in", "c.events", "dispatch", "c.out", "s.in", "s.events", "timer")
PIECES = (
    "encode Call",
    "decode Call",
    "handler",
    "encode CallResult",
    "decode CallResult",
    "Call()",
    "uuid4 id",
    "timer",
)


def _steps(pair: Pair, request: Any, n: int) -> list[float]:
    pc = time.perf_counter_ns
    st, cs, dispatch = pair.station, pair.csms, pair.router.dispatch
    acc = [0] * len(STEPS)
    gc.collect()
    for _ in range(n):
        t0 = pc()
        st.call(request)
        t1 = pc()
        out = st.data_to_send()
        t2 = pc()
        cs.receive_data(out[0])
        t3 = pc()
        events = list(cs.events())
        t4 = pc()
        dispatch(cs, events[0])
        t5 = pc()
        back = cs.data_to_send()
        t6 = pc()
        st.receive_data(back[0])
        t7 = pc()
        list(st.events())
        t8 = pc()
        t9 = pc()
        for i, (a, b) in enumerate(
            ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6), (t6, t7), (t7, t8), (t8, t9))
        ):
            acc[i] += b - a
    return [a / n / 1e9 for a in acc]


def _pieces(twin: str, request: Any, n: int, base: dict[str, Any] | None = None) -> list[float]:
    from ocppkit.adapters.demo import csms_router

    codec = twins(twin, base).codec
    handler = csms_router("2.0.1").handler_for(request)
    assert handler is not None
    action = type(request).__ocpp__.action
    call = Call("1", action, request)
    data = codec.encode(call)
    response = handler(request)
    result = CallResult("1", response)
    rdata = codec.encode(result)
    pc = time.perf_counter_ns
    ops: list[Callable[[], Any]] = [
        lambda: codec.encode(call),
        lambda: codec.decode(data),
        lambda: handler(request),
        lambda: codec.encode(result),
        lambda: codec.decode(rdata, action),
        lambda: Call("1", action, request),
        lambda: str(uuid.uuid4()),
        lambda: None,  # "timer": an empty call, for scale
    ]
    out = []
    gc.collect()
    for op in ops:
        t0 = pc()
        for _ in range(n):
            op()
        out.append((pc() - t0) / n / 1e9)
    return out


def run(quick: bool, cprofile: bool, base: Path | None = None) -> None:
    rounds, n = (7, 1000) if quick else (21, 5000)
    reqs = messages()
    mods = None
    names = ["c", "py"]
    if base is not None:
        from .base_twins import load

        mods = load(base)
        names += ["base-c", "base-py"]
    keys = [(twin, name) for name in reqs for twin in names]

    def make_pair(twin: str) -> Pair:
        return Pair(twin[5:], base=mods) if twin.startswith("base-") else Pair(twin)

    def pieces(twin: str, request: Any) -> list[float]:
        return _pieces(twin[5:], request, n, mods) if twin.startswith("base-") else _pieces(twin, request, n)

    pairs = {k: make_pair(k[0]) for k in keys}
    steps: dict[tuple[str, str], list[list[float]]] = {k: [] for k in keys}
    timed: dict[tuple[str, str], list[list[float]]] = {k: [] for k in keys}
    for k in keys:
        _steps(pairs[k], reqs[k[1]], 50)
    for r in range(rounds):
        order = keys[r % len(keys) :] + keys[: r % len(keys)]
        for k in order:
            steps[k].append(_steps(pairs[k], reqs[k[1]], n))
            timed[k].append(pieces(k[0], reqs[k[1]]))

    def us(x: float) -> str:
        return f"{x * 1e6:6.2f}"

    print(f"Steps of one round trip (us; median over {rounds} rounds of {n} round trips)")
    print(f"  {'twin, message':<22}" + "".join(f"{s:>9}" for s in STEPS) + f"{'sum':>9}")
    for k in keys:
        med = [statistics.median(col) for col in zip(*steps[k], strict=True)]
        print(f"  {k[0] + ', ' + k[1]:<22}" + "".join(f"{us(x):>9}" for x in med) + f"{us(sum(med[:-1])):>9}")
    print(f"\nCodec calls and handler inside those steps (us; same rounds, {n} calls each)")
    print(f"  {'twin, message':<22}" + "".join(f"{s:>18}" for s in PIECES))
    for k in keys:
        med = [statistics.median(col) for col in zip(*timed[k], strict=True)]
        print(f"  {k[0] + ', ' + k[1]:<22}" + "".join(f"{us(x):>18}" for x in med))
    print("\nConnection layer per step = step - codec call inside it (us; differences of medians)")
    for k in keys:
        s = [statistics.median(col) for col in zip(*steps[k], strict=True)]
        p = [statistics.median(col) for col in zip(*timed[k], strict=True)]
        layer = {
            "call - encode Call": s[0] - p[0],
            "c.in - decode Call": s[2] - p[1],
            "dispatch - handler - encode CallResult": s[4] - p[2] - p[3],
            "s.in - decode CallResult": s[6] - p[4],
            "data_to_send x2": s[1] + s[5],
            "events x2": s[3] + s[7],
        }
        total = sum(layer.values())
        print(
            f"  {k[0] + ', ' + k[1]:<22} "
            + ", ".join(f"{name} {us(v).strip()}" for name, v in layer.items())
            + f"; total {us(total).strip()}"
        )

    if cprofile:
        pair = Pair("py")
        loop = pair.loop(reqs["Heartbeat"])
        loop(100)
        prof = cProfile.Profile()
        prof.enable()
        loop(20_000)
        prof.disable()
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(25)
        print("\ncProfile: pure twins, 20,000 Heartbeat round trips, top 25 by own time")
        print(buf.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_rpc")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--base", type=Path, help="also the twins built by benchmarks.base_twins in DIR")
    args = parser.parse_args()
    run(args.quick, args.cprofile, args.base)


if __name__ == "__main__":
    main()
