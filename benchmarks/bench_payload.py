"""Payload decode benchmark: JSON payload bytes -> validated Python object, three ways.

Contenders, all fed the very same ``bytes`` object:

``ocppkit``
    ``ocppkit.decode_payload(data, cls)``: bytes -> validated, typed message (nested Structs,
    enums, ``datetime``), everything the public call does.

``ocpp``
    What the ``ocpp`` package (mobilityhouse/ocpp 2.1.0) does when its ``ChargePoint`` receives a
    CALL, minus the websocket and asyncio plumbing (see :func:`_ocpp_receive`):
    ``json.loads`` -> ``Call(...)`` -> ``ocpp.messages._validate_payload`` (the body that
    ``validate_payload`` runs, by default in a thread-pool executor) -> ``camel_to_snake_case``
    -> the action's ``call`` dataclass built from the snake_case keyword arguments.

``msgspec-untyped``
    ``msgspec.json.decode(data)``: bytes -> plain dicts/lists, no validation. The floor.

Two more rows are reported for information only (no targets): msgspec's typed decoder for the
same class without ocppkit's wrapper (``msgspec.json.Decoder(cls).decode``, ocppkit's fast path
alone) and the stdlib ``json.loads`` (the first step of the ``ocpp`` path).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
from collections.abc import Callable
from itertools import repeat
from typing import Any

import msgspec

import ocppkit

from ._timing import calibrate, fmt_time, interleaved, median, paired_ratio
from .data import PayloadInput, fingerprint, inputs

__all__ = ["TARGET_OCPP_RATIO", "TARGET_UNTYPED_RATIO", "run"]

TARGET_OCPP_RATIO = 100.0  # ocpp time / ocppkit time must be >= this
TARGET_UNTYPED_RATIO = 1.3  # ocppkit time / msgspec-untyped time must be <= this

MAIN = ("ocppkit", "ocpp", "msgspec-untyped")
LABELS = {
    "ocppkit": "ocppkit.decode_payload(data, cls)",
    "ocpp": "ocpp 2.1.0 receive path",
    "msgspec-untyped": "msgspec.json.decode(data)  [untyped floor]",
    "msgspec-typed": "(info) msgspec Decoder(cls).decode, no wrapper",
    "json.loads": "(info) json.loads(data)",
}


def _ocpp_receive(action: str, version: str, call_cls: type) -> Callable[[bytes], Any]:
    """The ``ocpp`` package's receive path for one CALL payload, without IO.

    Mirrors ``ChargePoint.route_message`` -> ``unpack`` -> ``_handle_call`` in
    ``ocpp/charge_point.py`` and ``ocpp/messages.py`` (2.1.0), for the payload only:

    1. ``json.loads`` of the payload (``unpack`` runs it on the whole frame);
    2. ``Call(unique_id, action, payload)`` (``unpack`` builds it);
    3. ``_validate_payload(msg, version)``: the jsonschema ``Draft4Validator`` for the
       action's schema (cached by ``get_validator``), exactly what ``validate_payload`` runs;
    4. ``camel_to_snake_case(msg.payload)``: recursive key conversion for handler kwargs;
    5. ``call_cls(**snake_case_payload)``: the action's ``ocpp.v*.call`` dataclass (stands in
       for ``handler(**snake_case_payload)``; nested objects stay dicts, as in ``ocpp``).

    Left out (they would only make ``ocpp`` slower): parsing the frame around the payload,
    the ``route_map`` lookup, ``inspect.signature(handler)``, logging, and the thread-pool
    executor hop that ``validate_payload`` makes with the default ``ASYNC_VALIDATION = True``.
    """
    from ocpp.charge_point import camel_to_snake_case  # type: ignore[import-untyped]
    from ocpp.messages import Call, _validate_payload  # type: ignore[import-untyped]

    loads = json.loads

    def receive(data: bytes) -> Any:
        msg = Call("19223201", action, loads(data))
        _validate_payload(msg, version)
        return call_cls(**camel_to_snake_case(msg.payload))

    return receive


def _verify(item: PayloadInput, cls: type[Any], call_cls: type) -> None:
    """Fail loudly unless both libraries accept the input (and agree on its shape)."""
    from ocpp.messages import Call, validate_payload

    obj = ocppkit.decode_payload(item.data, cls)
    assert type(obj) is cls, (item.name, type(obj))
    # The public, async validator of the `ocpp` package, run the way ChargePoint runs it.
    asyncio.run(validate_payload(Call("1", item.action, json.loads(item.data)), item.version))
    via_ocpp = _ocpp_receive(item.action, item.version, call_cls)(item.data)
    assert type(via_ocpp) is call_cls, (item.name, type(via_ocpp))
    # Same data both ways: ocppkit re-encodes to the same JSON tree (timestamps aside, whose
    # text form may differ in trailing zeros).
    again = msgspec.json.decode(ocppkit.encode_payload(obj))
    sent = msgspec.json.decode(item.data)
    assert _strip_times(again) == _strip_times(sent), item.name


def _strip_times(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: ("<time>" if k == "timestamp" else _strip_times(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_strip_times(v) for v in node]
    return node


def _loops(item: PayloadInput, cls: type, call_cls: type) -> dict[str, Callable[[int], None]]:
    data = item.data
    receive_ocpp = _ocpp_receive(item.action, item.version, call_cls)
    decode_typed: Callable[[bytes], Any] = msgspec.json.Decoder(cls).decode

    def ocppkit_loop(n: int, data: bytes = data, cls: type = cls, decode: Any = ocppkit.decode_payload) -> None:
        for _ in repeat(None, n):
            decode(data, cls)

    def ocpp_loop(n: int, data: bytes = data, receive: Any = receive_ocpp) -> None:
        for _ in repeat(None, n):
            receive(data)

    def untyped_loop(n: int, data: bytes = data, decode: Any = msgspec.json.decode) -> None:
        for _ in repeat(None, n):
            decode(data)

    def typed_loop(n: int, data: bytes = data, decode: Any = decode_typed) -> None:
        for _ in repeat(None, n):
            decode(data)

    def json_loop(n: int, data: bytes = data, loads: Any = json.loads) -> None:
        for _ in repeat(None, n):
            loads(data)

    return {
        "ocppkit": ocppkit_loop,
        "ocpp": ocpp_loop,
        "msgspec-untyped": untyped_loop,
        "msgspec-typed": typed_loop,
        "json.loads": json_loop,
    }


def run(
    *, quick: bool, sample_time: float | None = None, repeats: int | None = None, out: Callable[[str], None] = print
) -> dict[str, Any]:
    sample_time = sample_time or (0.005 if quick else 0.05)
    repeats = repeats or (15 if quick else 31)
    items = inputs()
    results: dict[str, Any] = {
        "sample_time_s": sample_time,
        "repeats": repeats,
        "inputs_fingerprint": fingerprint(items),
        "inputs": [],
    }
    out(
        f"Payload decode: {repeats} interleaved rounds x ~{sample_time * 1e3:.0f} ms samples per "
        f"contender; inputs fingerprint {results['inputs_fingerprint']}"
    )
    for item in items:
        cls = getattr(importlib.import_module(item.ocppkit_module), item.ocppkit_class)
        call_cls = getattr(importlib.import_module(item.ocpp_call_module), item.action)
        _verify(item, cls, call_cls)
        loops = _loops(item, cls, call_cls)
        for loop in loops.values():  # warm-up: decoder construction, schema loading, caches
            loop(3)
        # Move everything alive now (modules, schemas, decoders) out of the collector's sight:
        # the gc.collect() before each sample then costs microseconds instead of ~30 ms, and
        # collections during timing see only what the timed code allocates.
        gc.collect()
        gc.freeze()
        plan = {name: (loop, calibrate(loop, sample_time)) for name, loop in loops.items()}
        per_op = interleaved(plan, repeats)

        kit = per_op["ocppkit"]
        ocpp_ratio = paired_ratio(per_op["ocpp"], kit)
        untyped_ratio = paired_ratio(kit, per_op["msgspec-untyped"])
        row: dict[str, Any] = {
            "name": item.name,
            "version": item.version,
            "action": item.action,
            "ocppkit_class": f"{item.ocppkit_module}.{item.ocppkit_class}",
            "bytes": len(item.data),
            "description": item.description,
            "contenders": {
                name: {
                    "label": LABELS[name],
                    "iterations_per_sample": plan[name][1],
                    "median_s": median(samples),
                    "min_s": min(samples),
                    "samples_s": samples,
                }
                for name, samples in per_op.items()
            },
            "ratios": {
                "ocpp_over_ocppkit": ocpp_ratio,
                "ocpp_over_ocppkit_min": min(per_op["ocpp"]) / min(kit),
                "ocppkit_over_msgspec_untyped": untyped_ratio,
                "ocppkit_over_msgspec_untyped_min": min(kit) / min(per_op["msgspec-untyped"]),
                "ocppkit_over_msgspec_typed": paired_ratio(kit, per_op["msgspec-typed"]),
            },
            "targets": {
                "ocpp_over_ocppkit_ge_100": ocpp_ratio >= TARGET_OCPP_RATIO,
                "ocppkit_over_untyped_le_1.3": untyped_ratio <= TARGET_UNTYPED_RATIO,
            },
        }
        results["inputs"].append(row)
        _print_input(row, out)
    gc.unfreeze()
    return results


def _print_input(row: dict[str, Any], out: Callable[[str], None]) -> None:
    out("")
    out(f"{row['name']}  ({row['bytes']} bytes; {row['ocppkit_class']})")
    out(f"  {'contender':<50} {'median':>10} {'min':>10} {'x ocppkit':>10}")
    kit = row["contenders"]["ocppkit"]["median_s"]
    for c in row["contenders"].values():
        out(f"  {c['label']:<50} {fmt_time(c['median_s']):>10} {fmt_time(c['min_s']):>10} {c['median_s'] / kit:>9.2f}x")
    r, t = row["ratios"], row["targets"]
    out(
        f"  ocpp / ocppkit            = {r['ocpp_over_ocppkit']:8.1f}x  "
        f"(from minimums {r['ocpp_over_ocppkit_min']:.1f}x)"
        f"  target >= {TARGET_OCPP_RATIO:g}x: {'PASS' if t['ocpp_over_ocppkit_ge_100'] else 'MISS'}"
    )
    out(
        f"  ocppkit / msgspec-untyped = {r['ocppkit_over_msgspec_untyped']:8.2f}x  (from minimums "
        f"{r['ocppkit_over_msgspec_untyped_min']:.2f}x)  target <= {TARGET_UNTYPED_RATIO:g}x: "
        f"{'PASS' if t['ocppkit_over_untyped_le_1.3'] else 'MISS'}"
    )
