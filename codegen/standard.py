"""codegen/devicemodel/*.toml -> ``ocppkit/devicemodel/_standard.py``.

One data file per OCPP version: the standardized components and variables of 2.0.1 and 2.1
(2.1 inherits 2.0.1 and states what changes) and the standard configuration keys of 1.6. The
output is plain data (dicts, tuples, strings, numbers) plus the typed name constants (one class
per component, one for the 1.6 keys); ``ocppkit.devicemodel.standard`` builds the records.
Every list keeps the order of the data file, so the text depends only on the inputs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomllib

from .loader import HERE, LoadError

__all__ = ["DATA_DIR", "emit_standard", "load_standard"]

DATA_DIR = HERE / "devicemodel"
_FILES = {"1.6": "v16.toml", "2.0.1": "v201.toml", "2.1": "v21.toml"}
_DATA_TYPES = ("string", "decimal", "integer", "dateTime", "boolean", "OptionList", "SequenceList", "MemberList")
_MUTABILITIES = ("ReadOnly", "ReadWrite", "WriteOnly")
_ATTRIBUTES = ("Actual", "Target", "MinSet", "MaxSet")
_SCOPES = ("station", "evse", "connector")
_VAR_KEYS = {
    "name",
    "instance",
    "type",
    "unit",
    "min",
    "max",
    "values",
    "mutability",
    "attributes",
    "required",
    "limit_required",
    "reboot",
    "monitoring",
    "constant",
}
_COMPONENT_KEYS = {"block", "scope", "mandatory", "instanced", "variables", "remove"}
_KEY_KEYS = {
    "name",
    "type",
    "mutability",
    "unit",
    "min",
    "max",
    "values",
    "max_length_key",
    "required",
    "profile",
    "reboot",
    "maps_to",
}
_KEY_TYPES = {"boolean": "boolean", "integer": "integer", "string": "string", "CSL": "MemberList"}
_PROFILES = (
    "Core",
    "LocalAuthListManagement",
    "Reservation",
    "SmartCharging",
    "FirmwareManagement",
    "RemoteTrigger",
    "Security",
    "ISO15118PnC",
)
_MAPS_TO = re.compile(r"^(\w+)\.(\w+)(?:\[([^\]]+)\])?$")


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LoadError(f"devicemodel/{path.name}: {exc}") from None


def _label(name: str, instance: str | None) -> str:
    return f"{name}[{instance}]" if instance else name


def _number(where: str, key: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LoadError(f"{where}: {key} must be a number")
    return float(value)


def _values(where: str, value: Any, lists: dict[str, list[str]]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value not in lists:
            raise LoadError(f"{where}: values names no [lists] entry {value!r}")
        value = lists[value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v and "," not in v for v in value):
        raise LoadError(f"{where}: values must be a non-empty list of strings without commas")
    if len(set(value)) != len(value):
        raise LoadError(f"{where}: values lists a member twice")
    return tuple(value)


def _variable(where: str, raw: Any, defaults: dict[str, Any], lists: dict[str, list[str]]) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise LoadError(f"{where}: a variable is a table with a `name`")
    where = f"{where}.{_label(raw['name'], raw.get('instance'))}"
    unknown = set(raw) - _VAR_KEYS
    if unknown:
        raise LoadError(f"{where}: unknown key(s) {sorted(unknown)}")
    data_type = raw.get("type")
    if data_type not in _DATA_TYPES:
        raise LoadError(f"{where}: type must be one of {', '.join(_DATA_TYPES)}, not {data_type!r}")
    mutability = raw.get("mutability", defaults.get("mutability", "ReadWrite"))
    if mutability not in _MUTABILITIES:
        raise LoadError(f"{where}: mutability must be one of {', '.join(_MUTABILITIES)}")
    attributes = raw.get("attributes", ["Actual"])
    if not isinstance(attributes, list) or not attributes or any(a not in _ATTRIBUTES for a in attributes):
        raise LoadError(f"{where}: attributes must list some of {', '.join(_ATTRIBUTES)}")
    values = _values(where, raw.get("values"), lists)
    if data_type in ("OptionList", "MemberList", "SequenceList") or values is None:
        pass
    elif data_type != "string":
        raise LoadError(f"{where}: a {data_type} takes no values list")
    spec: dict[str, Any] = {
        "name": raw["name"],
        "instance": raw.get("instance"),
        "data_type": data_type,
        "unit": raw.get("unit"),
        "min_limit": _number(where, "min", raw.get("min")),
        "max_limit": _number(where, "max", raw.get("max")),
        "values_list": values,
        "mutability": mutability,
        "attributes": tuple(attributes),
        "constant": bool(raw.get("constant", False)),
        "reboot_required": bool(raw.get("reboot", False)),
        "supports_monitoring": bool(raw.get("monitoring", defaults.get("monitoring", False))),
    }
    if spec["min_limit"] is not None and spec["max_limit"] is not None and spec["min_limit"] > spec["max_limit"]:
        raise LoadError(f"{where}: min is above max")
    return {
        "spec": spec,
        "required": bool(raw.get("required", False)),
        "limit_required": bool(raw.get("limit_required", False)),
    }


def _components(
    version: str, seen: tuple[str, ...] = ()
) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, Any]]:
    """The raw component tables of a 2.x file with inheritance applied, its lists and defaults."""
    name = _FILES[version]
    raw = _read(DATA_DIR / name)
    if raw.get("version") != version:
        raise LoadError(f"devicemodel/{name}: version must be {version!r}")
    unknown = set(raw) - {"version", "inherits", "lists", "defaults", "components"}
    if unknown:
        raise LoadError(f"devicemodel/{name}: unknown key(s) {sorted(unknown)}")
    components: dict[str, Any] = {}
    lists: dict[str, list[str]] = {}
    defaults: dict[str, Any] = {}
    parent = raw.get("inherits")
    if parent is not None:
        if parent not in _FILES or parent == "1.6" or parent in (*seen, version):
            raise LoadError(f"devicemodel/{name}: cannot inherit {parent!r}")
        base, lists, defaults = _components(parent, (*seen, version))
        components = {k: {**v, "variables": list(v["variables"])} for k, v in base.items()}
    lists = {**lists, **raw.get("lists", {})}
    defaults = {**defaults, **raw.get("defaults", {})}
    for comp, table in raw.get("components", {}).items():
        where = f"devicemodel/{name}: {comp}"
        unknown = set(table) - _COMPONENT_KEYS
        if unknown:
            raise LoadError(f"{where}: unknown key(s) {sorted(unknown)}")
        entry = components.get(comp)
        if entry is None:
            if "block" not in table or "scope" not in table:
                raise LoadError(f"{where}: a new component needs `block` and `scope`")
            entry = components[comp] = {"variables": []}
        for key in ("block", "scope", "mandatory", "instanced"):
            if key in table:
                entry[key] = table[key]
        if entry["scope"] not in _SCOPES:
            raise LoadError(f"{where}: scope must be one of {', '.join(_SCOPES)}")
        variables: list[dict[str, Any]] = entry["variables"]
        for label in table.get("remove", []):
            kept = [v for v in variables if _label(v["name"], v.get("instance")) != label]
            if len(kept) == len(variables):
                raise LoadError(f"{where}: remove names {label!r}, which it does not have")
            variables[:] = kept
        for var in table.get("variables", []):
            if not isinstance(var, dict):
                raise LoadError(f"{where}: a variable is a table")
            key = (var.get("name"), var.get("instance"))
            for i, old in enumerate(variables):
                if (old["name"], old.get("instance")) == key:
                    variables[i] = var
                    break
            else:
                variables.append(var)
    return components, lists, defaults


def _catalog_2x(version: str) -> dict[str, Any]:
    components, lists, defaults = _components(version)
    out: dict[str, Any] = {}
    for comp, entry in components.items():
        where = f"devicemodel/{_FILES[version]}: {comp}"
        variables = [_variable(where, v, defaults, lists) for v in entry["variables"]]
        labels = [_label(v["spec"]["name"], v["spec"]["instance"]) for v in variables]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise LoadError(f"{where}: {', '.join(twice)} twice")
        out[comp] = {
            "block": str(entry["block"]),
            "scope": entry["scope"],
            "mandatory": bool(entry.get("mandatory", False)),
            "instanced": bool(entry.get("instanced", False)),
            "variables": variables,
        }
    return out


def _keys_16(v201: dict[str, Any]) -> list[dict[str, Any]]:
    name = _FILES["1.6"]
    raw = _read(DATA_DIR / name)
    if raw.get("version") != "1.6":
        raise LoadError(f"devicemodel/{name}: version must be '1.6'")
    unknown = set(raw) - {"version", "lists", "keys"}
    if unknown or not isinstance(raw.get("lists", {}), dict):
        raise LoadError(f"devicemodel/{name}: unknown key(s) {sorted(unknown)} (or lists is not a table)")
    lists = raw.get("lists", {})
    if not all(isinstance(v, list) for v in lists.values()):
        raise LoadError(f"devicemodel/{name}: every [lists] entry is a list")
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for entry in raw.get("keys", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise LoadError(f"devicemodel/{name}: a key is a table with a `name`")
        where = f"devicemodel/{name}: {entry['name']}"
        unknown = set(entry) - _KEY_KEYS
        if unknown:
            raise LoadError(f"{where}: unknown key(s) {sorted(unknown)}")
        if entry["name"] in names:
            raise LoadError(f"{where}: listed twice")
        names.add(entry["name"])
        if entry.get("type") not in _KEY_TYPES:
            raise LoadError(f"{where}: type must be one of {', '.join(_KEY_TYPES)}")
        if entry.get("profile") not in _PROFILES:
            raise LoadError(f"{where}: profile must be one of {', '.join(_PROFILES)}")
        mutability = entry.get("mutability", "ReadWrite")
        if mutability not in _MUTABILITIES:
            raise LoadError(f"{where}: mutability must be one of {', '.join(_MUTABILITIES)}")
        maps_to = None
        if "maps_to" in entry:
            m = _MAPS_TO.match(entry["maps_to"])
            if not m:
                raise LoadError(f"{where}: maps_to must read Component.Variable or Component.Variable[Instance]")
            comp, var, inst = m.groups()
            if not any(
                (v["spec"]["name"], v["spec"]["instance"]) == (var, inst)
                for v in v201.get(comp, {}).get("variables", [])
            ):
                raise LoadError(f"{where}: maps_to names {entry['maps_to']}, which v201.toml does not define")
            maps_to = (comp, var, inst)
        spec = {
            "name": entry["name"],
            "instance": None,
            "data_type": _KEY_TYPES[entry["type"]],
            "unit": entry.get("unit"),
            "min_limit": _number(where, "min", entry.get("min")),
            "max_limit": _number(where, "max", entry.get("max")),
            "values_list": _values(where, entry.get("values"), lists),
            "mutability": mutability,
            "attributes": ("Actual",),
            "constant": False,
            "reboot_required": bool(entry.get("reboot", False)),
            "supports_monitoring": False,
        }
        out.append(
            {
                "spec": spec,
                "required": bool(entry.get("required", False)),
                "profile": entry["profile"],
                "maps_to": maps_to,
                "max_length_key": entry.get("max_length_key"),
            }
        )
    for key in out:
        if key["max_length_key"] is not None and key["max_length_key"] not in names:
            raise LoadError(f"devicemodel/{name}: {key['spec']['name']}: max_length_key names no key")
    return out


def load_standard() -> dict[str, Any]:
    """Every version's catalogue as plain data; LoadError naming the file and entry on bad data."""
    v201 = _catalog_2x("2.0.1")
    return {"2.0.1": v201, "2.1": _catalog_2x("2.1"), "1.6": _keys_16(v201)}


def _ident(name: str, instance: str | None) -> str:
    text = f"{name}_{instance}" if instance else name
    return re.sub(r"\W", "_", text)


def _flags(spec: dict[str, Any], **more: bool) -> str:
    """The booleans of a variable as letters: r required, l limit required, b reboot, m monitoring, c constant."""
    bits = {
        "r": more.get("required", False),
        "l": more.get("limit_required", False),
        "b": spec["reboot_required"],
        "m": spec["supports_monitoring"],
        "c": spec["constant"],
    }
    return "".join(k for k, v in bits.items() if v)


def emit_standard(data: dict[str, Any]) -> str:
    """The text of ``ocppkit/devicemodel/_standard.py``."""
    lists: list[tuple[str, ...]] = []

    def ref(values: tuple[str, ...] | None) -> int | None:
        if values is None:
            return None
        if values not in lists:
            lists.append(values)
        return lists.index(values)

    body = ["COMPONENTS: dict[str, dict[str, tuple[Any, ...]]] = {"]
    for version in ("2.0.1", "2.1"):
        body.append(f"    {version!r}: {{")
        for comp, entry in data[version].items():
            head = (entry["block"], entry["scope"], entry["mandatory"], entry["instanced"])
            body.append(f"        {comp!r}: ({', '.join(repr(h) for h in head)}, (")
            for var in entry["variables"]:
                sp = var["spec"]
                row = (
                    sp["name"],
                    sp["instance"],
                    sp["data_type"],
                    sp["unit"],
                    sp["min_limit"],
                    sp["max_limit"],
                    ref(sp["values_list"]),
                    sp["mutability"],
                    sp["attributes"],
                    _flags(sp, required=var["required"], limit_required=var["limit_required"]),
                )
                body.append(f"            {row!r},")
            body.append("        )),")
        body.append("    },")
    body.append("}")
    body.append("#: (name, data_type, unit, min, max, values, mutability, flags, profile, maps_to, max_length_key)")
    body.append("KEYS_16: tuple[tuple[Any, ...], ...] = (")
    for key in data["1.6"]:
        sp = key["spec"]
        row = (
            sp["name"],
            sp["data_type"],
            sp["unit"],
            sp["min_limit"],
            sp["max_limit"],
            ref(sp["values_list"]),
            sp["mutability"],
            _flags(sp, required=key["required"]),
            key["profile"],
            key["maps_to"],
            key["max_length_key"],
        )
        body.append(f"    {row!r},")
    body.append(")")
    lines = [
        "# Generated by `python -m codegen` from codegen/devicemodel/*.toml.",
        "# DO NOT EDIT: fix the data file, then rerun it (codegen/README.md).",
        '"""The standardized components, variables and 1.6 configuration keys, as data and as typed',
        'names; ``ocppkit.devicemodel.standard`` builds the catalogue records from it."""',
        "",
        "from typing import Any, Final, NamedTuple",
        "",
        "#: the value lists the rows below refer to by index",
        "LISTS: tuple[tuple[str, ...], ...] = (",
        *(f"    {values!r}," for values in lists),
        ")",
        "#: version -> component -> (block, scope, mandatory, instanced, variables); a variable is",
        "#: (name, instance, data_type, unit, min, max, values, mutability, attributes, flags), flags",
        "#: r required, l limit required, b reboot required, m supports monitoring, c constant",
        *body,
    ]
    lines += [
        "",
        "",
        "class VariableKey(NamedTuple):",
        '    """The address of a standardized variable: its component, its name and its instance.',
        "",
        "    The typed names (``OCPPCommCtrlr.HeartbeatInterval``) are VariableKeys, so a misspelt",
        "    name is an error for a type checker; ``catalog(version).find(*key)`` gives its record.",
        "",
        "    Attributes:",
        "        component: the component name.",
        "        variable: the variable name.",
        "        instance: the variable instance, or None.",
        '    """',
        "",
        "    component: str",
        "    variable: str",
        "    instance: str | None = None",
        "",
        "    @property",
        "    def label(self) -> str:",
        '        """``Component.Variable[Instance]``, as the docs and error messages write it."""',
        '        tail = f"[{self.instance}]" if self.instance else ""',
        '        return f"{self.component}.{self.variable}{tail}"',
    ]
    names: dict[str, dict[tuple[str, str | None], list[str]]] = {}
    for version in ("2.0.1", "2.1"):
        for comp, entry in data[version].items():
            per = names.setdefault(comp, {})
            for var in entry["variables"]:
                per.setdefault((var["spec"]["name"], var["spec"]["instance"]), []).append(version)
    component_names = []
    for comp, per in names.items():
        versions = ", ".join(sorted({v for vs in per.values() for v in vs}))
        component_names.append(comp)
        lines += [
            "",
            "",
            f"class _{comp}:",
            f'    """The keys of the standardized variables of ``{comp}``."""',
            "",
            "    __slots__ = ()",
            f"    COMPONENT: Final = {comp!r}",
        ]
        idents: set[str] = set()
        for (var, inst), vs in per.items():
            ident = _ident(var, inst)
            if ident in idents or ident == "COMPONENT":
                raise LoadError(f"devicemodel: {comp}: two variables are both named {ident} in Python")
            idents.add(ident)
            note = "" if len(vs) == 2 else f"  # {vs[0]} only"
            lines.append(f"    {ident}: Final = VariableKey({comp!r}, {var!r}, {inst!r}){note}")
        lines += [
            "",
            "",
            f"#: The standardized variables of {comp} ({versions}) as :class:`VariableKey` attributes",
            f"#: (``{comp}.{_ident(*next(iter(per)))}``); a misspelt name is a type error.",
            f"{comp}: Final = _{comp}()",
        ]
    lines += [
        "",
        "",
        "class _OCPP16Keys:",
        '    """The names of the standard 1.6 configuration keys."""',
        "",
        "    __slots__ = ()",
    ]
    for key in data["1.6"]:
        lines.append(f"    {key['spec']['name']}: Final = {key['spec']['name']!r}")
    lines += [
        "",
        "",
        '#: The standard 1.6 configuration keys by name (``OCPP16Keys.HeartbeatInterval == "HeartbeatInterval"``);',
        "#: a misspelt key is a type error.",
        "OCPP16Keys: Final = _OCPP16Keys()",
        "",
        "",
        f"COMPONENT_NAMES: Final = {tuple(component_names)!r}",
    ]
    return "\n".join(lines) + "\n"
