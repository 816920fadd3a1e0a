"""codegen/editions.toml + the actions of the schemas -> ``ocppkit/_editions.py``.

The output is plain data (dicts, tuples, strings, ints): ``ocppkit.edition`` turns it into the
frozen :class:`ocppkit.Edition` records. Every list is sorted, so the text depends only on the
inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomllib

from .loader import HERE, LoadError, VersionIR

__all__ = ["emit_editions", "load_editions"]

_KEYS = {
    "subprotocol": str,
    "message_types": list,
    "error_codes": list,
    "spellings": dict,
    "frame_error": str,
    "answers_unreadable": bool,
    "unknown_message_type": str,
    "result_error_type": int,
    "max_description": int,
    "one_call_required": bool,
    "station_actions": list,
    "both_actions": list,
}
_EXTRA = {"inherits", "station_actions_added"}
#: The error codes of OCPP 2.x, the spelling every other spelling is keyed by.
_CODES_2X = frozenset(
    {
        "FormatViolation",
        "GenericError",
        "InternalError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "NotSupported",
        "OccurrenceConstraintViolation",
        "PropertyConstraintViolation",
        "ProtocolError",
        "RpcFrameworkError",
        "SecurityError",
        "TypeConstraintViolation",
    }
)


def load_editions(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every release's facts with inheritance resolved; LoadError on a key or type it does not know."""
    path = path or HERE / "editions.toml"
    with open(path, "rb") as f:
        raw = tomllib.load(f).get("editions", {})
    out: dict[str, dict[str, Any]] = {}

    def resolve(version: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if version in out:
            return out[version]
        if version not in raw:
            raise LoadError(f"{path.name}: no edition {version!r}")
        if version in seen:
            raise LoadError(f"{path.name}: editions inherit in a cycle: {' -> '.join((*seen, version))}")
        entry = raw[version]
        unknown = set(entry) - set(_KEYS) - _EXTRA
        if unknown:
            raise LoadError(f"{path.name}: edition {version!r}: unknown key(s) {sorted(unknown)}")
        base = dict(resolve(entry["inherits"], (*seen, version))) if "inherits" in entry else {}
        base.update({k: v for k, v in entry.items() if k in _KEYS})
        if "station_actions_added" in entry:
            base["station_actions"] = [*base.get("station_actions", []), *entry["station_actions_added"]]
        for key, kind in _KEYS.items():
            if key not in base:
                raise LoadError(f"{path.name}: edition {version!r} has no {key}")
            if not isinstance(base[key], kind):
                raise LoadError(f"{path.name}: edition {version!r}: {key} must be a {kind.__name__}")
        for key in ("frame_error", "unknown_message_type", *base["spellings"]):
            code = base.get(key, key)
            if code and code not in _CODES_2X:
                raise LoadError(f"{path.name}: edition {version!r}: {code!r} is not an OCPP 2.x error code")
        out[version] = base
        return base

    for version in raw:
        resolve(version)
    return out


def _edition(version: str, package: str, facts: dict[str, Any], ir: VersionIR) -> dict[str, Any]:
    actions = ir.actions()
    sends = sorted(a for a, roles in actions.items() if "send" in roles)
    station = sorted(set(facts["station_actions"]))
    both = sorted(set(facts["both_actions"]))
    for name in (*station, *both):
        if name not in actions:
            raise LoadError(f"editions.toml: edition {version!r} names {name!r}, which its schemas do not define")
    overlap = set(station) & set(both)
    if overlap:
        raise LoadError(f"editions.toml: edition {version!r}: {sorted(overlap)} both in station_actions and both")
    csms = sorted(set(actions) - set(station) - set(both) - set(sends))
    sends_unassigned = sorted(set(sends) - set(station))
    if sends_unassigned:
        raise LoadError(f"editions.toml: edition {version!r}: SEND-only {sends_unassigned} need a direction")
    return {
        "version": version,
        "package": f"ocppkit.{package}",
        "subprotocol": facts["subprotocol"],
        "message_types": tuple(sorted(facts["message_types"])),
        "error_codes": tuple(sorted(facts["error_codes"])),
        "spellings": dict(sorted(facts["spellings"].items())),
        "frame_error": facts["frame_error"],
        "answers_unreadable": facts["answers_unreadable"],
        "unknown_message_type": facts["unknown_message_type"] or None,
        "result_error_type": facts["result_error_type"] or None,
        "max_description": facts["max_description"] or None,
        "one_call_required": facts["one_call_required"],
        "station_actions": tuple(station),
        "csms_actions": tuple(csms),
        "both_actions": tuple(both),
        "send_actions": tuple(sends),
    }


def emit_editions(irs: list[VersionIR], facts: dict[str, dict[str, Any]]) -> str:
    """The text of ``ocppkit/_editions.py`` for these releases (in the order given)."""
    missing = [ir.version for ir in irs if ir.version not in facts]
    if missing:
        raise LoadError(f"editions.toml: no edition for {', '.join(missing)} (add one; it may inherit)")
    lines = [
        "# Generated by `python -m codegen` from codegen/editions.toml and the OCPP JSON schemas.",
        "# DO NOT EDIT: fix codegen/editions.toml, then rerun it (codegen/README.md).",
        '"""The facts of each OCPP release, as data; ``ocppkit.edition`` builds the records."""',
        "",
        "from typing import Any",
        "",
        "EDITIONS: dict[str, dict[str, Any]] = {",
    ]
    for ir in irs:
        data = _edition(ir.version, ir.package, facts[ir.version], ir)
        lines.append(f"    {ir.version!r}: {{")
        for key, value in data.items():
            lines.append(f"        {key!r}: {value!r},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"
