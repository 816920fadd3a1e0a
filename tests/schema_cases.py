"""Deterministic test payloads generated from one OCPP JSON schema (no ocppkit import).

``generate_cases(schema)`` walks every location of a schema (the root object, each property,
each array item, recursively through ``$ref``) and returns :class:`Case` objects:

- valid payloads: minimal, maximal, maximal with vendor keys in every ``customData``, every
  enum value, boundary string lengths (ASCII, non-BMP, mixed unicode), arrays at minItems and
  maxItems, numbers at their bounds, ``multipleOf`` values, any-typed ``data`` values, ...;
- single-fault invalid payloads: one fault per keyword at one location, with the keyword and
  the exact JSON path of the fault (:class:`Fault`).

Payloads are "focused": the minimal payload, plus whatever optional ancestors the location
needs, plus the one change. Everything is fixed text, so the cases are the same on every run.
``expect`` says what the schema means (True valid, False invalid, None: let the reference
validator decide, e.g. ``3.0`` for an integer, which draft-04 rejects and draft-06 accepts).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Case",
    "Fault",
    "Location",
    "draft_of",
    "generate_cases",
    "json_path",
    "locations",
    "payload_bytes",
]

DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT6 = "http://json-schema.org/draft-06/schema#"


@dataclass(frozen=True)
class Fault:
    """The one thing wrong with an invalid payload: the schema keyword and its JSON path.

    ``required`` and ``additionalProperties`` faults point at the missing / unknown member
    (``$.chargingStation.model``), all others at the offending value.
    """

    rule: str
    path: str


@dataclass(frozen=True)
class Case:
    name: str  # "<json path> <label>", unique within one schema file
    instance: Any
    expect: bool | None  # True valid, False invalid, None: the reference validator decides
    fault: Fault | None = None  # set for invalid cases with one known fault


@dataclass(frozen=True)
class Location:
    steps: tuple[str | int, ...]  # property names and array indexes from the root
    node: dict[str, Any]  # the schema node, $ref resolved
    required: bool | None  # for a property: required by its parent; None for root / items
    open: bool  # inside (or being) an open object such as customData


Steps = tuple[str | int, ...]

# ----------------------------------------------------------------------- helpers


def draft_of(schema: dict[str, Any]) -> int:
    s = schema.get("$schema")
    if s == DRAFT4:
        return 4
    if s == DRAFT6:
        return 6
    raise ValueError(f"unexpected $schema {s!r}")


def json_path(steps: Steps) -> str:
    out = "$"
    for s in steps:
        if isinstance(s, int):
            out += f"[{s}]"
        elif s.isidentifier():
            out += f".{s}"
        else:
            out += f'["{s}"]'
    return out


def payload_bytes(instance: Any) -> bytes:
    import json

    return json.dumps(instance, ensure_ascii=False).encode()


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"non-local $ref {ref!r}")
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        seen += 1
        if seen > 20:
            raise ValueError(f"$ref loop at {ref!r}")
    return node


def _is_open(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" and node.get("additionalProperties", True) is not False


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _copy(value: Any) -> Any:
    """A deep copy of a JSON value (much faster than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _fill(n: int, units: list[str]) -> str:
    """``n`` code points cycling through ``units`` (each one code point)."""
    block = "".join(units)
    return (block * (n // len(block) + 1))[:n]


# Unicode used for boundary strings: each unit is ONE code point.
EMOJI = ["😀"]
MIXED = [
    "a",
    "é",
    "中",
    "😀",
    "\u0301",
    '"',
    "\\",
    "\n",
    "\t",
    "\u0001",
    "\u2028",
    "ß",
    "\u00a0",
    "𝄞",
    "\ufeff",
    "/",
    "\U0010fffd",
    "Ω",
    "<",
    "&",
]

# Vendor keys added next to customData.vendorId: any JSON values, nested.
CUSTOM_EXTRAS: dict[str, Any] = {
    "mainMeterValue": 12345,
    "ratio": 0.25,
    "integralFloat": 3.0,
    "label": '😀 ünïcødé "quoted"',
    "flag": False,
    "nothing": None,
    "list": [1, "two", 3.5, None, True, {"deep": {"deeper": []}}],
    "nested": {"vendorId": "inner", "customData": {"x": 1}, "emptyObject": {}},
}

# Values for an untyped property (2.x DataTransfer.data): any JSON value.
ANY_VALUES: list[tuple[str, Any]] = [
    ("string", "opaque vendor data 😀"),
    ("empty-string", ""),
    ("integer", 42),
    ("float", -1.5),
    ("integral-float", 2.0),
    ("object", {"a": 1, "b": {"c": [1, 2, {"d": None}]}, "vendorId": "x"}),
    ("empty-object", {}),
    ("array", [1, "x", None, False, {"k": [1.5]}]),
    ("empty-array", []),
    ("null", None),
    ("true", True),
    ("false", False),
]

DT_MIN = "2024-01-01T10:00:00Z"
DT_MAX = "2024-06-30T23:59:59.123+02:00"
# RFC 3339 date-times (the validator upper-cases before checking, as RFC 3339 allows t/z).
DT_VALID = [
    ("utc", "2024-01-01T10:00:00Z"),
    ("millis", "2024-01-01T10:00:00.123Z"),
    ("micros-offset", "2024-12-31T23:59:59.999999+05:30"),
    ("nanos", "2024-01-01T10:00:00.123456789Z"),
    ("negative-zero-offset", "2024-01-01T10:00:00-00:00"),
    ("max-offset", "2024-01-01T10:00:00-23:59"),
    ("leap-day", "2024-02-29T00:00:00Z"),
    ("lowercase", "2024-01-01t10:00:00z"),
    # RFC 3339 allows second 60 in the last minute of a UTC day ending a month (5.6, 5.7)
    ("leap-second", "2016-12-31T23:59:60Z"),
    ("leap-second-fraction", "2015-06-30T23:59:60.5Z"),
    ("leap-second-offset", "2016-12-31T15:59:60-08:00"),
]
# Not RFC 3339 date-times.
DT_INVALID = [
    ("space", "2024-01-01 10:00:00Z"),
    ("no-offset", "2024-01-01T10:00:00"),
    ("offset-no-colon", "2024-01-01T10:00:00+0100"),
    ("month-13", "2024-13-01T00:00:00Z"),
    ("feb-30", "2024-02-30T00:00:00Z"),
    ("feb-29-non-leap", "2023-02-29T00:00:00Z"),
    ("hour-24", "2024-01-01T24:00:00Z"),
    ("no-seconds", "2024-01-01T10:00Z"),
    ("date-only", "2024-01-01"),
    ("empty", ""),
    ("hour-offset", "2024-01-01T10:00:00+01"),
    ("offset-minute-60", "2024-01-01T10:00:00+00:60"),
    ("offset-hour-24", "2024-01-01T10:00:00+24:00"),
    ("empty-fraction", "2024-01-01T10:00:00.Z"),
    ("comma-fraction", "2024-01-01T10:00:00,5Z"),
    ("year-0", "0000-01-01T00:00:00Z"),
    ("space-before-z", "2024-01-01T10:00:00 Z"),
    ("leading-space", " 2024-01-01T10:00:00Z"),
    ("trailing-newline", "2024-01-01T10:00:00Z\n"),
    ("unix-time-text", "1704103200"),
    # second 60 anywhere but at a leap second
    ("second-60-midday", "2016-12-31T12:00:60Z"),
    ("second-60-mid-month", "2016-12-30T23:59:60Z"),
    ("second-60-not-utc-midnight", "2016-12-31T23:59:60+01:00"),
    ("second-61", "2016-12-31T23:59:61Z"),
]

URI_MIN = "https://example.com/fw.bin"
URI_MAX = "ftp://user:secret@files.example.com:2121/diag/logs.zip?sig=abc#part"
URI_VALID = [
    ("https", "https://example.com/path/file.bin?x=1&y=2#frag"),
    ("ftp-userinfo-port", "ftp://user:pw@example.com:21/upload/"),
    ("ipv6", "http://[::1]:8080/"),
    ("urn", "urn:isbn:0451450523"),
    ("file", "file:///tmp/diag.zip"),
    ("percent-encoded", "http://example.com/a%20b"),
]
URI_INVALID = [
    ("no-scheme", "example.com/fw.bin"),
    ("relative-ref", "//example.com/fw.bin"),
    ("space", "http://exa mple.com/"),
    ("bad-percent", "http://example.com/%zz"),
    ("non-ascii", "http://example.com/é"),
    ("empty", ""),
    ("scheme-digit", "1http://example.com/"),
    ("trailing-newline", "http://example.com/\n"),
]

# Wrong JSON types per schema type (null is added separately for every typed location).
WRONG_TYPES: dict[str, list[tuple[str, Any]]] = {
    "string": [("integer", 123), ("object", {"a": "b"})],
    "integer": [("string", "1"), ("bool", True), ("fraction", 3.5)],
    "number": [("string", "1.5"), ("bool", False)],
    "boolean": [("string", "true"), ("integer", 1)],
    "object": [("array", []), ("string", "x")],
    "array": [("object", {}), ("string", "x")],
}

MULTIPLE_OF_VALID = [8.1, 21.4, 0.3, 32.1, 8, 0.0, 100.0]
MULTIPLE_OF_INVALID = [4.11, 0.05]


# --------------------------------------------------------------------- generator


class _Gen:
    def __init__(self, schema: dict[str, Any]) -> None:
        if schema.get("type") != "object":
            raise ValueError("a payload schema must be an object schema")
        self.schema = schema
        self.draft = draft_of(schema)
        self.minimal = self.value(schema, "min")
        self.cases: list[Case] = []
        self._templates: dict[Steps, Any] = {}
        self._names: set[str] = set()

    def r(self, node: dict[str, Any]) -> dict[str, Any]:
        return _resolve(self.schema, node)

    # -- values ---------------------------------------------------------------

    def value(self, node: dict[str, Any], mode: str, extras: bool = False, depth: int = 0) -> Any:
        if depth > 40:
            raise ValueError("schema nesting too deep (recursive $ref?)")
        node = self.r(node)
        t = node.get("type")
        if t == "object":
            props = node.get("properties", {})
            req = set(node.get("required", []))
            keys = list(props) if mode == "max" else [k for k in props if k in req]
            out = {k: self.value(props[k], mode, extras, depth + 1) for k in keys}
            if extras and _is_open(node):
                out.update(_copy(CUSTOM_EXTRAS))
            return out
        if t == "array":
            lo, hi = node.get("minItems", 0), node.get("maxItems")
            n = max(lo, 1) if mode == "min" else max(lo, 2 if hi is None else min(2, hi))
            return [self.value(node["items"], mode, extras, depth + 1) for _ in range(n)]
        if t == "string":
            if "enum" in node:
                return node["enum"][0 if mode == "min" else -1]
            fmt = node.get("format")
            if fmt == "date-time":
                return DT_MIN if mode == "min" else DT_MAX
            if fmt == "uri":
                return URI_MIN if mode == "min" else URI_MAX
            text = "abc" if mode == "min" else "Wert-Ärger-Ωmega 42"
            return text[: node.get("maxLength", len(text))]
        if t in ("integer", "number"):
            return self.number(node, mode)
        if t == "boolean":
            return mode == "min"
        if t is None:
            return "vendor data" if mode == "min" else {"k": [1, "two", None, True, {"n": 1.5}]}
        raise ValueError(f"unsupported type {t!r}")

    def bounds(self, node: dict[str, Any]) -> tuple[Any, Any]:
        lo, hi = node.get("minimum"), node.get("maximum")
        if node.get("type") == "integer":
            lo = None if lo is None else int(lo)
            hi = None if hi is None else int(hi)
        return lo, hi

    def number(self, node: dict[str, Any], mode: str) -> Any:
        if "multipleOf" in node:
            return 10.0 if mode == "min" else 16.0
        lo, hi = self.bounds(node)
        if node["type"] == "integer":
            cands: list[Any] = [1, 0, -1, 5] if mode == "min" else [42, 3, 2, 100, 0, -7]
        else:
            cands = [1.5, 0.5, 0.0, -1.5] if mode == "min" else [230.25, 12.5, 2.5, 0.0, -12.5]
        for c in cands:
            if (lo is None or c >= lo) and (hi is None or c <= hi):
                return c
        return lo if lo is not None else hi

    # -- focused payloads -------------------------------------------------------

    def focus(self, steps: Steps) -> tuple[Any, Any]:
        """The minimal payload with the ancestors of ``steps`` present: (payload, parent)."""
        template = self._templates.get(steps)
        if template is None:
            template = _copy(self.minimal)
            cur: Any = template
            node = self.schema
            for step in steps:
                node = self.r(node)
                if isinstance(step, str):
                    sub = node["properties"][step]
                    if step not in cur:
                        cur[step] = self.value(sub, "min")
                else:
                    sub = node["items"]
                    while len(cur) <= step:
                        cur.append(self.value(sub, "min"))
                cur, node = cur[step], sub
            self._templates[steps] = template
        inst = _copy(template)
        parent = None
        cur = inst
        for step in steps:
            parent, cur = cur, cur[step]
        return inst, parent

    def with_value(self, steps: Steps, value: Any) -> Any:
        if not steps:
            return _copy(value)
        inst, parent = self.focus(steps)
        parent[steps[-1]] = _copy(value)
        return inst

    def without(self, steps: Steps) -> Any:
        inst, parent = self.focus(steps)
        del parent[steps[-1]]
        return inst

    def with_member(self, steps: Steps, key: str, value: Any) -> Any:
        inst, _ = self.focus(steps)
        target: Any = inst
        for s in steps:
            target = target[s]
        target[key] = _copy(value)
        return inst

    # -- case bookkeeping -----------------------------------------------------------

    def add(self, steps: Steps, label: str, instance: Any, expect: bool | None, fault: Fault | None = None) -> None:
        name = f"{json_path(steps)} {label}"
        if name in self._names:
            raise ValueError(f"duplicate case name {name!r}")
        self._names.add(name)
        self.cases.append(Case(name, instance, expect, fault))

    def bad(self, steps: Steps, label: str, value: Any, rule: str, expect: bool | None = False) -> None:
        self.add(steps, label, self.with_value(steps, value), expect, Fault(rule, json_path(steps)))

    def good(self, steps: Steps, label: str, value: Any) -> None:
        self.add(steps, label, self.with_value(steps, value), True)

    # -- walking --------------------------------------------------------------------

    def locations(self) -> Iterator[Location]:
        def walk(
            node: dict[str, Any], steps: Steps, required: bool | None, open_: bool, depth: int
        ) -> Iterator[Location]:
            if depth > 40:
                raise ValueError("schema nesting too deep (recursive $ref?)")
            node = self.r(node)
            open_ = open_ or _is_open(node)
            yield Location(steps, node, required, open_)
            t = node.get("type")
            if t == "object":
                req = set(node.get("required", []))
                for k, sub in node.get("properties", {}).items():
                    yield from walk(sub, (*steps, k), k in req, open_, depth + 1)
            elif t == "array":
                yield from walk(node["items"], (*steps, 0), None, open_, depth + 1)

        yield from walk(self.schema, (), None, False, 0)

    # -- the cases ------------------------------------------------------------------

    def run(self) -> list[Case]:
        self.add((), "minimal", _copy(self.minimal), True)
        self.add((), "maximal", self.value(self.schema, "max"), True)
        maximal_extras = self.value(self.schema, "max", extras=True)
        if maximal_extras != self.value(self.schema, "max"):
            self.add((), "maximal/customData-extras", maximal_extras, True)
        for label, v in [("list", [self.minimal]), ("string", "{}"), ("null", None)]:
            self.add((), f"not-object/{label}", v, False, Fault("type", "$"))
        for loc in self.locations():
            self.location_cases(loc)
        return self.cases

    def location_cases(self, loc: Location) -> None:
        steps, node = loc.steps, loc.node
        t = node.get("type")
        is_property = bool(steps) and isinstance(steps[-1], str)

        if is_property and loc.required:
            self.add(steps, "missing", self.without(steps), False, Fault("required", json_path(steps)))

        if steps:
            if t is None:
                pass  # untyped (any JSON value): null is valid, see ANY_VALUES
            else:
                label = "null" if (not is_property or loc.required) else "null/optional"
                self.bad(steps, label, None, "type")
            for label, v in WRONG_TYPES.get(t or "", []):
                self.bad(steps, f"type/{label}", v, "type")

        if t == "object":
            self.object_cases(loc)
        elif t == "array":
            self.array_cases(loc)
        elif t == "string":
            self.string_cases(loc)
        elif t in ("integer", "number"):
            self.number_cases(loc)
        elif t is None and steps:
            for label, v in ANY_VALUES:
                self.good(steps, f"any/{label}", v)

    def object_cases(self, loc: Location) -> None:
        steps, node = loc.steps, loc.node
        props = node.get("properties", {})
        if steps:
            self.good(steps, "object/maximal", self.value(node, "max"))
        if _is_open(node):
            self.add(steps, "open/extras", self.with_member_many(steps, CUSTOM_EXTRAS), True)
            return
        if loc.open:
            return  # a closed object inside an open one: not generated
        unknown = ["unknownProperty"]
        camel = [k for k in props if _snake(k) != k]
        if camel:
            unknown.append(_snake(camel[0]))  # the Python attribute name is not a wire name
        if props:
            first = next(iter(props))
            cap = first[:1].upper() + first[1:]
            if cap not in props:
                unknown.append(cap)  # names are case-sensitive
        for key in unknown:
            self.add(
                steps,
                f"additionalProperties/{key}",
                self.with_member(steps, key, "x"),
                False,
                Fault("additionalProperties", json_path((*steps, key))),
            )

    def with_member_many(self, steps: Steps, members: dict[str, Any]) -> Any:
        inst, _ = self.focus(steps)
        target: Any = inst
        for s in steps:
            target = target[s]
        target.update(_copy(members))
        return inst

    def array_cases(self, loc: Location) -> None:
        steps, node = loc.steps, loc.node
        lo, hi = node.get("minItems", 0), node.get("maxItems")
        item = self.value(node["items"], "min")
        if not steps:
            return
        self.good(steps, f"minItems/exact-{lo}", [item] * lo)
        if hi is not None:
            self.good(steps, f"maxItems/exact-{hi}", [item] * hi)
            self.add(
                steps,
                f"maxItems/{hi + 1}",
                self.with_value(steps, [item] * (hi + 1)),
                False,
                Fault("maxItems", json_path(steps)),
            )
        else:
            self.good(steps, "items/3", [item] * 3)
        if lo >= 1:
            self.add(steps, "minItems/empty", self.with_value(steps, []), False, Fault("minItems", json_path(steps)))
        if lo >= 2:
            self.add(
                steps,
                f"minItems/{lo - 1}",
                self.with_value(steps, [item] * (lo - 1)),
                False,
                Fault("minItems", json_path(steps)),
            )

    def string_cases(self, loc: Location) -> None:
        steps, node = loc.steps, loc.node
        if not steps:
            return
        if "enum" in node:
            values = node["enum"]
            for v in values:
                self.good(steps, f"enum/{v}", v)
            probes = [("not-listed", "NotAnEnumValue"), ("empty", "")]
            first = values[0]
            for label, v in [("lower", first.lower()), ("upper", first.upper()), ("trailing-space", first + " ")]:
                probes.append((label, v))
            for label, v in probes:
                if v not in values:
                    self.bad(steps, f"enum/{label}", v, "enum")
        fmt = node.get("format")
        if fmt == "date-time":
            for label, v in DT_VALID:
                self.good(steps, f"date-time/{label}", v)
            for label, v in DT_INVALID:
                self.bad(steps, f"date-time/{label}", v, "format")
        elif fmt == "uri":
            for label, v in URI_VALID:
                self.good(steps, f"uri/{label}", v)
            for label, v in URI_INVALID:
                self.bad(steps, f"uri/{label}", v, "format")
        elif fmt is not None:
            raise ValueError(f"unsupported format {fmt!r}")
        if "enum" in node or fmt is not None:
            return
        self.good(steps, "string/empty", "")
        n = node.get("maxLength")
        if n is None:
            self.good(steps, "string/long-unicode-4096", _fill(4096, MIXED))
            return
        self.good(steps, f"maxLength/exact-{n}/ascii", _fill(n, ["x", "Y", "0"]))
        self.good(steps, f"maxLength/exact-{n}/emoji", _fill(n, EMOJI))
        self.good(steps, f"maxLength/exact-{n}/mixed", _fill(n, MIXED))
        self.bad(steps, f"maxLength/{n + 1}/ascii", _fill(n + 1, ["x", "Y", "0"]), "maxLength")
        self.bad(steps, f"maxLength/{n + 1}/emoji", _fill(n + 1, EMOJI), "maxLength")

    def number_cases(self, loc: Location) -> None:
        steps, node = loc.steps, loc.node
        if not steps:
            return
        integer = node["type"] == "integer"
        lo, hi = self.bounds(node)
        if integer:
            # ``3.0``-style integral floats: draft-04 rejects them for an integer, draft-06 accepts.
            v3 = float(self.number(node, "max"))
            if self.draft == 6:
                self.good(steps, f"integer/integral-float-{v3!r}", v3)
            else:
                self.bad(steps, f"integer/integral-float-{v3!r}", v3, "type")
            if hi is None:
                self.good(steps, "integer/2**31", 2**31)
                self.good(steps, "integer/2**63", 2**63)
            if lo is None:
                self.good(steps, "integer/-2**31-1", -(2**31) - 1)
        elif "multipleOf" not in node:
            pick = self.number(node, "min")
            self.good(steps, f"number/integer-literal-{int(pick)}", int(pick))
            frac = self.number(node, "max")
            if isinstance(frac, float):
                delta = 0.000123456 if hi is None or frac + 0.000123456 <= hi else -0.000123456
                self.good(steps, "number/many-decimals", frac + delta)
        if lo is not None:
            self.good(steps, f"minimum/exact-{lo!r}", lo)
            self.bad(steps, f"minimum/{lo - 1!r}", lo - 1, "minimum")
            if not integer:
                self.bad(steps, f"minimum/{lo - 0.5!r}", lo - 0.5, "minimum")
        if hi is not None:
            self.good(steps, f"maximum/exact-{hi!r}", hi)
            self.bad(steps, f"maximum/{hi + 1!r}", hi + 1, "maximum")
            if not integer:
                self.bad(steps, f"maximum/{hi + 0.5!r}", hi + 0.5, "maximum")
        if "multipleOf" in node:
            step = node["multipleOf"]
            for v in MULTIPLE_OF_VALID:
                self.good(steps, f"multipleOf-{step}/{v!r}", v)
            for v in MULTIPLE_OF_INVALID:
                self.bad(steps, f"multipleOf-{step}/{v!r}", v, "multipleOf")


def locations(schema: dict[str, Any]) -> list[Location]:
    return list(_Gen(schema).locations())


def generate_cases(schema: dict[str, Any]) -> list[Case]:
    """Every valid and single-fault invalid case for one payload schema, in a fixed order."""
    return _Gen(schema).run()
