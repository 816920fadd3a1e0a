"""Differential test: ocppkit's payload validation against the reference validator.

For every schema file of OCPP 1.6, 2.0.1 and 2.1 (the OCA originals: the `ocpp` wheel copies
with ``codegen/overrides.toml`` applied), ``schema_cases.generate_cases`` builds valid and
single-fault invalid payloads. For each payload:

- the reference verdict is ``jsonschema`` (Draft4Validator or Draft6Validator, as the file's
  ``$schema`` says, with its FORMAT_CHECKER) and ours is ``decode_payload`` succeeding or
  raising ``PayloadError``: they must agree;
- where the generator states what the schema means (``Case.expect``), the reference must say
  the same, which keeps the generator honest;
- for a single-fault invalid payload, ``PayloadError.rule``, ``.path`` and ``.code`` must name
  that fault, and the reference must report its errors at that same place;
- every payload we accept must round-trip: decode -> encode -> decode gives an equal object,
  the encoding is compact JSON with the same object keys at every level, and the reference
  accepts it.

Cases where the reference validator itself is wrong by the specification are listed in
``KNOWN_REFERENCE_BUGS``; those (and only those) must disagree, with ocppkit on the side of
the specification.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft6Validator
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from schema_cases import Case, draft_of, generate_cases, json_path, payload_bytes  # noqa: E402

from codegen.loader import _apply_patches, _read_schemas, load_overrides, wheel_schema_root  # noqa: E402
from ocppkit import PayloadError, decode_payload, encode_payload  # noqa: E402

VERSIONS = {"1.6": ("v16", "ocppkit.v16"), "2.0.1": ("v201", "ocppkit.v201"), "2.1": ("v21", "ocppkit.v21")}

# (version, schema-file glob, case-name glob, reason). Every case matching an entry must
# disagree with ocppkit siding with `Case.expect`; every entry must match at least one case;
# every other case must agree.
_MULTIPLE_OF_REASON = (
    "jsonschema checks multipleOf 0.1 with binary floats (value / 0.1 is not integral, e.g. "
    "8.1 / 0.1 == 80.99999999999999); the value has one decimal digit, which is what "
    "multipleOf 0.1 means (OCPP 1.6: 'at most one digit fraction'); ocppkit judges the decimal"
)
_MULTIPLE_OF_LOCATIONS = [
    ("SetChargingProfile", "$.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit"),
    ("SetChargingProfile", "$.csChargingProfiles.chargingSchedule.minChargingRate"),
    ("RemoteStartTransaction", "$.chargingProfile.chargingSchedule.chargingSchedulePeriod[0].limit"),
    ("RemoteStartTransaction", "$.chargingProfile.chargingSchedule.minChargingRate"),
    ("GetCompositeScheduleResponse", "$.chargingSchedule.chargingSchedulePeriod[0].limit"),
    ("GetCompositeScheduleResponse", "$.chargingSchedule.minChargingRate"),
]
KNOWN_REFERENCE_BUGS: list[tuple[str, str, str, str]] = [
    *(
        ("1.6", file, f"{path} multipleOf-0.1/{value}", _MULTIPLE_OF_REASON)
        for file, path in _MULTIPLE_OF_LOCATIONS
        for value in ("8.1", "21.4", "0.3")  # 32.1 / 0.1 happens to give 321.0: no bug shown
    ),
    (
        "*",
        "*",
        "* date-time/trailing-newline",
        "rfc3339-validator anchors its regex with `$`, which also matches before a final "
        "newline, so '2024-01-01T10:00:00Z\\n' passes; RFC 3339 allows no trailing character",
    ),
    (
        "*",
        "*",
        "* date-time/leap-second*",
        "rfc3339-validator allows seconds 00-59 only ('Leap seconds are not supported'); RFC 3339 "
        "5.6/5.7 allow second 60 in the last minute of a UTC day that ends a month",
    ),
    (
        "1.6",
        "*",
        "* uri/trailing-newline",
        "rfc3986-validator anchors its regex with `$`, which also matches before a final "
        "newline, so 'http://example.com/\\n' passes; RFC 3986 allows no raw line feed",
    ),
]

_SPELLING_16 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}
_CODE = {
    "required": "OccurrenceConstraintViolation",
    "minItems": "OccurrenceConstraintViolation",
    "maxItems": "OccurrenceConstraintViolation",
    "type": "TypeConstraintViolation",
    "maxLength": "PropertyConstraintViolation",
    "enum": "PropertyConstraintViolation",
    "minimum": "PropertyConstraintViolation",
    "maximum": "PropertyConstraintViolation",
    "format": "PropertyConstraintViolation",
    "multipleOf": "PropertyConstraintViolation",
    "additionalProperties": "FormatViolation",
}


def expected_code(version: str, rule: str, path: str) -> str:
    code = "FormatViolation" if (rule == "type" and path == "$") else _CODE[rule]
    return _SPELLING_16.get(code, code) if version == "1.6" else code


# ------------------------------------------------------------------ schemas, classes


@functools.cache
def schemas(version: str) -> dict[str, dict[str, Any]]:
    folder = wheel_schema_root() / VERSIONS[version][0] / "schemas"
    loaded, _ = _read_schemas(folder)
    _apply_patches(version, loaded, load_overrides())
    return loaded


def payload_class(version: str, stem: str) -> type:
    actions = importlib.import_module(VERSIONS[version][1]).ACTIONS
    if stem.endswith("Response"):
        return actions[stem[: -len("Response")]].response
    if version != "1.6" and stem.endswith("Request"):
        return actions[stem[: -len("Request")]].request
    return actions[stem].request  # 1.6 request, or the 2.1 SEND payload


def reference_validator(schema: dict[str, Any]) -> Draft4Validator | Draft6Validator:
    cls = {4: Draft4Validator, 6: Draft6Validator}[draft_of(schema)]
    assert validator_for(schema) is cls
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


PARAMS = [(v, stem) for v in VERSIONS for stem in schemas(v)]


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(map(re.escape, pattern.split("*"))), re.S)


def matches(text: str, pattern: str) -> bool:
    """Glob match where only ``*`` is special (case names contain ``[0]``)."""
    return _glob(pattern).fullmatch(text) is not None


def known_bugs_for(version: str, stem: str) -> list[tuple[str, str, str, str]]:
    return [e for e in KNOWN_REFERENCE_BUGS if matches(version, e[0]) and matches(stem, e[1])]


def known_bug(entries: list[tuple[str, str, str, str]], case: Case) -> tuple[str, str, str, str] | None:
    for entry in entries:
        if matches(case.name, entry[2]):
            return entry
    return None


# ------------------------------------------------------------------- comparisons


def compact(data: bytes) -> bool:
    """No whitespace outside JSON strings."""
    in_str = esc = False
    for ch in data.decode():
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in " \t\r\n":
            return False
    return True


_DT = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", re.ASCII)


def _instant(text: str) -> tuple[datetime, Decimal] | None:
    m = _DT.fullmatch(text.upper())
    if m is None:
        return None
    base, frac, off = m.groups()
    if base.endswith(":60"):  # a leap second: ocppkit reads it as 59.999999 (docs/validation.md)
        base, frac = base[:-2] + "59", "999999"
    tz = (
        timezone.utc
        if off == "Z"
        else timezone((1 if off[0] == "+" else -1) * timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
    )
    return datetime.fromisoformat(base).replace(tzinfo=tz), Decimal("0." + (frac or "0"))


def structure_diff(out: Any, inp: Any, path: str = "$") -> str | None:
    """Where the re-encoded JSON differs from the input in keys, shape or value (None: same).

    Numbers compare by value (5 -> 5.0 is fine), date-times by instant (to the microsecond).
    """
    if isinstance(inp, dict):
        if not isinstance(out, dict):
            return f"{path}: object became {type(out).__name__}"
        if set(out) != set(inp):
            return f"{path}: keys {sorted(inp)} became {sorted(out)}"
        for k in inp:
            d = structure_diff(out[k], inp[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(inp, list):
        if not isinstance(out, list) or len(out) != len(inp):
            return f"{path}: array of {len(inp)} became {out!r:.80}"
        for i, (a, b) in enumerate(zip(out, inp, strict=True)):
            d = structure_diff(a, b, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(inp, bool) or inp is None:
        return None if out is inp else f"{path}: {inp!r} became {out!r}"
    if isinstance(inp, (int, float)):
        ok = not isinstance(out, bool) and isinstance(out, (int, float)) and out == inp
        return None if ok else f"{path}: {inp!r} became {out!r}"
    if isinstance(inp, str):
        if out == inp:
            return None
        a, b = _instant(inp), (_instant(out) if isinstance(out, str) else None)
        if a and b and a[0] == b[0] and abs(a[1] - b[1]) < Decimal("0.000001"):
            return None
        return f"{path}: {inp!r:.60} became {out!r:.60}"
    return f"{path}: unexpected input {inp!r}"


def reference_error_places(errors: list[Any]) -> set[tuple[str, str]]:
    """(keyword, JSON path) of every reference error; required/additionalProperties name the member."""
    places = set()
    for err in errors:
        path = json_path(tuple(err.absolute_path))
        if err.validator == "required":
            for name in err.validator_value:
                if isinstance(err.instance, dict) and name not in err.instance:
                    places.add(("required", json_path((*err.absolute_path, name))))
        elif err.validator == "additionalProperties":
            allowed = set(err.schema.get("properties", {}))
            for name in err.instance:
                if name not in allowed:
                    places.add(("additionalProperties", json_path((*err.absolute_path, name))))
        else:
            places.add((str(err.validator), path))
    return places


def within(path: str, top: str) -> bool:
    """``path`` is ``top`` or below it (a wrong-typed value may break keywords of its own)."""
    return path == top or (path.startswith(top) and path[len(top)] in ".[")


# -------------------------------------------------------------------------- tests


def run_file(version: str, stem: str) -> tuple[list[str], dict[str, int]]:
    schema = schemas(version)[stem]
    validator = reference_validator(schema)
    cls = payload_class(version, stem)
    problems: list[str] = []
    counts = {"valid": 0, "invalid": 0, "probe": 0}
    entries = known_bugs_for(version, stem)
    for case in generate_cases(schema):
        counts["valid" if case.expect else "invalid" if case.expect is False else "probe"] += 1
        data = payload_bytes(case.instance)
        where = f"{version} {stem}.json [{case.name}] payload={data[:300]!r}"
        # The reference verdict: exactly ``validator.is_valid(instance)``, which is "iter_errors
        # yields nothing"; all errors are collected once to also check the fault's place.
        ref_errors = list(validator.iter_errors(case.instance))
        ref = not ref_errors
        obj = err = None
        try:
            obj = decode_payload(data, cls)
        except PayloadError as e:
            err = e
        except Exception as e:  # noqa: BLE001 - anything else is a bug
            problems.append(f"{where}: decode_payload raised {type(e).__name__}: {e}")
            continue
        ours = err is None

        bug = known_bug(entries, case)
        if bug is not None:
            if not (ref != ours and ours == case.expect):
                problems.append(
                    f"{where}: listed in KNOWN_REFERENCE_BUGS but reference={ref} ocppkit={ours} "
                    f"expected={case.expect} (stale entry?)"
                )
        else:
            if ref != ours:
                detail = f" ({err.code} {err.rule} at {err.path}: {err.description})" if err else ""
                problems.append(f"{where}: DISAGREE reference={ref} ocppkit={ours}{detail}")
            elif case.expect is not None and ref != case.expect:
                problems.append(f"{where}: generator expected {case.expect}, both validators say {ref}")

        # Our error names the single fault (also where the reference wrongly accepts the payload).
        if err is not None and case.fault is not None and (not ref or bug is not None):
            want = (case.fault.rule, case.fault.path, expected_code(version, case.fault.rule, case.fault.path))
            got = (err.rule, err.path, err.code)
            if got != want:
                problems.append(f"{where}: error {got} != expected (rule, path, code) {want}")
            if not ref:
                places = reference_error_places(ref_errors)
                if (case.fault.rule, case.fault.path) not in places or not all(
                    within(p, case.fault.path) for _, p in places
                ):
                    problems.append(f"{where}: not a single fault for the reference: {sorted(places)}")
            if err.details.get("path") != err.path or err.details.get("rule") != err.rule:
                problems.append(f"{where}: details {err.details!r} disagree with path/rule")

        if obj is not None:
            problems.extend(f"{where}: round trip: {p}" for p in round_trip(obj, cls, case, validator, bug))
    return problems, counts


def round_trip(obj: Any, cls: type, case: Case, validator: Any, bug: Any) -> list[str]:
    try:
        data2 = encode_payload(obj)
    except Exception as e:  # noqa: BLE001
        return [f"encode_payload raised {type(e).__name__}: {e}"]
    out = []
    try:
        obj2 = decode_payload(data2, cls)
    except Exception as e:  # noqa: BLE001
        return [f"re-decoding {data2[:200]!r} raised {type(e).__name__}: {e}"]
    if obj2 != obj:
        out.append(f"decode(encode(obj)) != obj: {obj2!r:.200} vs {obj!r:.200}")
    if not compact(data2):
        out.append(f"not compact: {data2[:200]!r}")
    tree = json.loads(data2)
    diff = structure_diff(tree, case.instance)
    if diff:
        out.append(f"encoded {data2[:200]!r} differs from the input: {diff}")
    same = json.dumps(tree, sort_keys=True) == json.dumps(case.instance, sort_keys=True)
    if bug is None and not same and not validator.is_valid(tree):
        out.append(f"the reference rejects the encoding {data2[:200]!r}")
    return out


@pytest.mark.parametrize(("version", "stem"), PARAMS, ids=[f"{v}/{s}" for v, s in PARAMS])
def test_differential(version: str, stem: str) -> None:
    problems, counts = run_file(version, stem)
    assert counts["valid"] and counts["invalid"]
    if problems:
        shown = "\n".join(problems[:40])
        more = f"\n... and {len(problems) - 40} more" if len(problems) > 40 else ""
        pytest.fail(f"{len(problems)} problem(s) in {version} {stem}.json:\n{shown}{more}", pytrace=False)


def test_every_payload_class_has_a_schema() -> None:
    for version in VERSIONS:
        actions = importlib.import_module(VERSIONS[version][1]).ACTIONS
        classes = {c for a in actions.values() for c in (a.request, a.response) if c is not None}
        covered = {payload_class(version, stem) for stem in schemas(version)}
        assert covered == classes, version


def test_known_reference_bugs_are_used() -> None:
    """Every KNOWN_REFERENCE_BUGS entry names at least one generated case (no dead entries)."""
    unused = list(KNOWN_REFERENCE_BUGS)
    for version, stem in PARAMS:
        if not unused:
            break
        names = None
        for entry in list(unused):
            v, f, c, _ = entry
            if matches(version, v) and matches(stem, f):
                if names is None:
                    names = [case.name for case in generate_cases(schemas(version)[stem])]
                if any(matches(n, c) for n in names):
                    unused.remove(entry)
    assert not unused, unused
