"""The station's configuration file: which components it has and the initial value of each
variable, validated against the standard catalogue (``ocppkit.devicemodel.standard``).

    definitions = load_config("station.toml", "2.0.1")    # or .json, or a Mapping

The format is described in docs/device-model.md ("Configuration file"). Every problem found
(unknown data type, a value not valid for its variable, a variable a standardized component
does not have, a required variable missing, ...) is collected and raised as one
:class:`ConfigError` naming each with its file, component and variable.

:func:`validate_value` checks one value against a :class:`~ocppkit.devicemodel.spec.VariableSpec`
(SetVariables and ChangeConfiguration use it too). Sans-IO apart from reading the file named.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from . import standard
from ._validate import limit_text as _limit
from ._validate import validate_value
from .spec import ATTRIBUTE_TYPES, DATA_TYPES, MUTABILITIES, Component, Definition, VariableSpec

__all__ = ["ConfigError", "load_config", "validate_value"]


class ConfigError(ValueError):
    """A configuration file that does not hold a valid station: every problem, one a line.

    Attributes:
        problems: each problem as ``"<file>: <component>: <variable>: <what is wrong>"``.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"invalid device model configuration ({count}):\n  " + "\n  ".join(problems))


# ------------------------------------------------------------------ reading the file


def _read(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if isinstance(source, Mapping):
        return "<mapping>", source
    path = Path(source)
    where = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ConfigError([f"{where}: a configuration file ends in .toml or .json"])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{where}: cannot read it: {exc.strerror or exc}"]) from None
    try:
        if suffix == ".json":
            data = json.loads(raw)
        else:
            data = _toml().loads(raw.decode("utf-8"))
    except ConfigError:
        raise
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, TOMLDecodeError
        raise ConfigError([f"{where}: not valid {suffix[1:].upper()}: {exc}"]) from None
    if not isinstance(data, Mapping):
        raise ConfigError([f"{where}: the configuration is an object (a table) at the top"])
    return where, data


def _toml() -> Any:
    """tomllib (3.11+), else the tomli package (a dependency on 3.10)."""
    for name in ("tomllib", "tomli"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ConfigError(["TOML needs Python 3.11+ or the tomli package (pip install tomli); or use JSON"])


def _text(value: Any) -> str | None:
    """A TOML/JSON scalar as the OCPP string it stands for, or None if it is not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _limit(value)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):  # a TOML date-time: RFC 3339 when it has an offset
        return value.isoformat()
    return None


def _label(component: Component) -> str:
    evse, conn = component.evse_id, component.connector_id
    if component.name == "EVSE" and component.instance is None and conn is None:
        return f"EVSE {evse}"
    if component.name == "Connector" and component.instance is None and conn is not None:
        return f"Connector {conn} of EVSE {evse}"
    name = f"{component.name}[{component.instance}]" if component.instance else component.name
    if conn is not None:
        return f"{name} on connector {conn} of EVSE {evse}"
    return f"{name} on EVSE {evse}" if evse is not None else name


def _split(key: str) -> tuple[str, str | None]:
    """``"MessageTimeout[Default]"`` -> ("MessageTimeout", "Default")."""
    if key.endswith("]") and "[" in key:
        name, _, inst = key[:-1].partition("[")
        return name, inst
    return key, None


#: VariableCharacteristicsType.valuesList is at most 1000 characters (2.0.1 and 2.1 schemas).
_VALUES_LIST_MAX = 1000
_OVERRIDES = {"max_limit", "min_limit", "values_list", "reboot_required", "mutability"}
_CUSTOM_SPEC = {
    "type",
    "unit",
    "min_limit",
    "max_limit",
    "values_list",
    "mutability",
    "attributes",
    "persistent",
    "constant",
    "reboot_required",
    "supports_monitoring",
    "custom",
}


class _Loader:
    def __init__(self, where: str, version: str) -> None:
        self.where = where
        self.version = version
        self.catalog = standard.catalog(version)
        self.problems: list[str] = []
        self.out: list[Definition] = []

    def problem(self, component: Component | str | None, variable: str | None, text: str) -> None:
        parts = [self.where]
        if component is not None:
            parts.append(component if isinstance(component, str) else _label(component))
        if variable is not None:
            parts.append(variable)
        self.problems.append(": ".join([*parts, text]))

    # -- one variable

    def _values_list(self, comp: Component | str, label: str, raw: Any) -> tuple[str, ...] | None:
        if isinstance(raw, str):
            raw = raw.split(",") if raw else []
        if not isinstance(raw, list) or not all(isinstance(v, str) and v and "," not in v for v in raw):
            self.problem(comp, label, "values_list is a list of strings (or one comma-separated string)")
            return None
        return tuple(raw)

    def _number(self, comp: Component | str, label: str, key: str, raw: Any) -> float | None:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            self.problem(comp, label, f"{key} is a number")
            return None
        return float(raw)

    def overrides(
        self, comp: Component | str, label: str, spec: VariableSpec, table: Mapping[str, Any]
    ) -> VariableSpec:
        changes: dict[str, Any] = {}
        if "values_list" in table:
            values = self._values_list(comp, label, table["values_list"])
            if values is not None:
                if spec.values_list is not None and not set(values) <= set(spec.values_list):
                    extra = sorted(set(values) - set(spec.values_list))
                    self.problem(
                        comp, label, f"values_list may only narrow the standard's: {', '.join(extra)} not in it"
                    )
                else:
                    changes["values_list"] = values
        for key in ("min_limit", "max_limit"):
            if key in table:
                number = self._number(comp, label, key, table[key])
                if number is None:
                    continue
                numeric = spec.data_type in ("integer", "decimal")
                if numeric and spec.min_limit is not None and number < spec.min_limit:
                    self.problem(comp, label, f"{key} {_limit(number)} is below the standard's minLimit")
                elif numeric and spec.max_limit is not None and number > spec.max_limit:
                    self.problem(comp, label, f"{key} {_limit(number)} is above the standard's maxLimit")
                else:
                    changes[key] = number
        if "mutability" in table and table["mutability"] != spec.mutability:
            if (spec.mutability, table["mutability"]) == ("ReadWrite", "ReadOnly"):
                changes["mutability"] = "ReadOnly"
            elif table["mutability"] not in MUTABILITIES:
                self.problem(comp, label, f"mutability is one of {', '.join(MUTABILITIES)}")
            else:
                self.problem(comp, label, f"mutability may only narrow ReadWrite to ReadOnly (it is {spec.mutability})")
        if "reboot_required" in table:
            if isinstance(table["reboot_required"], bool):
                changes["reboot_required"] = table["reboot_required"]
            else:
                self.problem(comp, label, "reboot_required is true or false")
        new = replace(spec, **changes) if changes else spec
        if new.min_limit is not None and new.max_limit is not None and new.min_limit > new.max_limit:
            self.problem(comp, label, "min_limit is above max_limit")
        return new

    def _custom_spec(
        self, comp: Component, name: str, inst: str | None, table: Mapping[str, Any]
    ) -> VariableSpec | None:
        label = f"{name}[{inst}]" if inst else name
        data_type = table.get("type")
        if data_type not in DATA_TYPES:
            self.problem(comp, label, f"unknown data type {data_type!r} (one of {', '.join(DATA_TYPES)})")
            return None
        mutability = table.get("mutability", "ReadWrite")
        if mutability not in MUTABILITIES:
            self.problem(comp, label, f"mutability is one of {', '.join(MUTABILITIES)}, not {mutability!r}")
            return None
        attributes = table.get("attributes", ["Actual"])
        if not isinstance(attributes, list) or not attributes or any(a not in ATTRIBUTE_TYPES for a in attributes):
            self.problem(comp, label, f"attributes lists some of {', '.join(ATTRIBUTE_TYPES)}")
            return None
        unit = table.get("unit")
        if unit is not None and not isinstance(unit, str):
            self.problem(comp, label, "unit is a string")
            return None
        flags = {}
        for key in ("persistent", "constant", "supports_monitoring"):
            if key in table:
                if not isinstance(table[key], bool):
                    self.problem(comp, label, f"{key} is true or false")
                    return None
                flags[key] = table[key]
        base = VariableSpec(name, inst, data_type, unit, mutability=mutability, attributes=tuple(attributes), **flags)
        return self.overrides(comp, label, base, table)

    def variable(self, comp: Component, key: str, raw: Any, standard_component: bool) -> None:
        name, inst = _split(key)
        label = key
        table: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {"value": raw}
        known = self.catalog.find(comp.name, name, inst) if standard_component else None
        if known is not None and not table.get("custom"):
            allowed = _OVERRIDES | {"value", *ATTRIBUTE_TYPES}
            unknown = sorted(set(table) - allowed)
            if unknown:
                self.problem(
                    comp,
                    label,
                    f"unknown key(s) {', '.join(unknown)} (a standard variable takes "
                    "value, Actual/Target/MinSet/MaxSet and max_limit, min_limit, values_list, "
                    "reboot_required, mutability)",
                )
                return
            spec: VariableSpec | None = self.overrides(comp, label, known.spec, table)
            if known.limit_required and spec is not None and spec.max_limit is None:
                self.problem(comp, label, "needs max_limit (the standard requires the station to state it)")
        elif standard_component and not table.get("custom"):
            self.problem(
                comp,
                label,
                f"{comp.name} has no standardized variable {label} in OCPP {self.version} "
                "(a vendor variable says custom = true and gives its type)",
            )
            return
        else:
            unknown = sorted(set(table) - _CUSTOM_SPEC - {"value", *ATTRIBUTE_TYPES})
            if unknown:
                self.problem(comp, label, f"unknown key(s) {', '.join(unknown)}")
                return
            spec = self._custom_spec(comp, name, inst, table)
        if spec is None:
            return
        values: dict[str, str] = {}
        for attr in ("value", *ATTRIBUTE_TYPES):
            if attr not in table:
                continue
            kind = "Actual" if attr == "value" else attr
            if kind in values:
                self.problem(comp, label, "value and Actual both given")
                continue
            if kind not in spec.attributes:
                self.problem(comp, label, f"attribute {kind} is not supported (it has {', '.join(spec.attributes)})")
                continue
            text = _text(table[attr])
            if text is None:
                self.problem(comp, label, f"{attr}: a value is a string, number or boolean")
                continue
            reason = validate_value(spec, text)
            if reason is not None:
                self.problem(comp, label, f"{attr} {text!r}: {reason}")
                continue
            values[kind] = text
        if spec.values_list is not None and len(",".join(spec.values_list)) > _VALUES_LIST_MAX:
            self.problem(
                comp,
                label,
                f"its valuesList is {len(','.join(spec.values_list))} characters, more than a report can carry "
                f"({_VALUES_LIST_MAX}): narrow it with values_list to the members the station supports",
            )
            return
        self.out.append(Definition(comp, spec, values))

    # -- one component

    def component(self, comp: Component, table: Mapping[str, Any], skip: set[str]) -> None:
        std = comp.name in self.catalog.components()
        for key, raw in table.items():
            if key in skip:
                continue
            self.variable(comp, key, raw, std)
        if std:
            declared = {_split(k): v for k, v in table.items() if k not in skip}
            for var in self.catalog.required(comp.name):
                ident = (var.spec.name, var.spec.instance)
                label = f"{ident[0]}[{ident[1]}]" if ident[1] else ident[0]
                if ident not in declared:
                    self.problem(comp, label, "required variable missing (give its value)")
                elif isinstance(declared[ident], Mapping) and not {"value", "Actual"} & set(declared[ident]):
                    self.problem(comp, label, "required variable without a value (give value = ...)")


def _ids(loader: _Loader, where: str, tables: list[Any]) -> list[tuple[int, Mapping[str, Any]]]:
    out: list[tuple[int, Mapping[str, Any]]] = []
    for i, table in enumerate(tables):
        ident = table.get("id") if isinstance(table, Mapping) else None
        if isinstance(ident, bool) or not isinstance(ident, int):
            loader.problem(f"{where} #{i + 1}", None, "needs an integer id")
            continue
        out.append((ident, table))
    ids = sorted(i for i, _ in out)
    if ids and ids != list(range(1, len(ids) + 1)):
        loader.problem(where, None, f"ids are 1..n without gaps or repeats, got {ids}")
    return out


def _load_2x(loader: _Loader, data: Mapping[str, Any]) -> None:
    cat = loader.catalog
    for key in cat.mandatory():
        if key not in data:
            loader.problem(key, None, "missing: every station has this component")
    for key, value in data.items():
        if key in ("version", "custom"):
            continue
        scope = cat.scope(key)
        if scope is None:
            loader.problem(
                key,
                None,
                f"not a standardized component of OCPP {loader.version} (declare a vendor component under [[custom]])",
            )
        elif key == "EVSE":
            _load_evses(loader, value)
        elif scope != "station":
            loader.problem(
                key,
                None,
                f"sits on {'an EVSE' if scope == 'evse' else 'a connector'}: declare it "
                "inside its [[EVSE]] (or [[EVSE.Connector]]) table",
            )
        elif cat.instanced(key):
            if not isinstance(value, list):
                loader.problem(key, None, f"is an array of tables, one per instance ([[{key}]] with instance = ...)")
                continue
            for table in value:
                inst = table.get("instance") if isinstance(table, Mapping) else None
                if not isinstance(inst, str) or not inst:
                    loader.problem(key, None, "each table needs an instance (a string)")
                    continue
                loader.component(Component(key, inst), table, {"instance"})
        elif not isinstance(value, Mapping):
            loader.problem(key, None, "is a table of variables")
        else:
            loader.component(Component(key), value, set())
    custom = data.get("custom", [])
    if not isinstance(custom, list):
        loader.problem("custom", None, "is an array of tables ([[custom]])")
        return
    for table in custom:
        _load_custom(loader, table)


def _nested(loader: _Loader, table: Mapping[str, Any], evse: int, connector: int | None) -> set[str]:
    """Load the standardized components declared inside an EVSE/connector table; their keys."""
    taken = set()
    for key, value in table.items():
        scope = loader.catalog.scope(key)
        if scope in ("evse", "connector") and key not in ("EVSE", "Connector") and isinstance(value, Mapping):
            want = "connector" if connector is not None else "evse"
            if scope != want:
                loader.problem(key, None, f"sits on {'a connector' if scope == 'connector' else 'an EVSE'}")
            else:
                loader.component(Component(key, None, evse, connector), value, set())
            taken.add(key)
    return taken


def _load_evses(loader: _Loader, value: Any) -> None:
    if not isinstance(value, list):
        loader.problem("EVSE", None, "is an array of tables, one per EVSE ([[EVSE]] with id = 1, 2, ...)")
        return
    for evse_id, table in _ids(loader, "EVSE", value):
        connectors = table.get("Connector", [])
        taken = _nested(loader, table, evse_id, None)
        loader.component(Component("EVSE", None, evse_id), table, {"id", "Connector", *taken})
        if not isinstance(connectors, list):
            loader.problem(f"EVSE {evse_id}", None, "Connector is an array of tables ([[EVSE.Connector]])")
            continue
        for conn_id, ctable in _ids(loader, f"EVSE {evse_id} Connector", connectors):
            taken = _nested(loader, ctable, evse_id, conn_id)
            loader.component(Component("Connector", None, evse_id, conn_id), ctable, {"id", *taken})


def _load_custom(loader: _Loader, table: Any) -> None:
    if not isinstance(table, Mapping) or not isinstance(table.get("name"), str) or not table["name"]:
        loader.problem("custom", None, "each [[custom]] table needs a name")
        return
    name, inst, evse, conn = table["name"], table.get("instance"), table.get("evse"), table.get("connector")
    if name in loader.catalog.components():
        loader.problem(name, None, "is a standardized component: declare it at the top (not under [[custom]])")
        return
    if (inst is not None and not isinstance(inst, str)) or (evse is not None and not isinstance(evse, int)):
        loader.problem(name, None, "instance is a string, evse an integer")
        return
    if conn is not None and (evse is None or not isinstance(conn, int)):
        loader.problem(name, None, "connector is an integer and needs evse")
        return
    comp = Component(name, inst, evse, conn)
    variables = table.get("variables", {})
    if not isinstance(variables, Mapping):
        loader.problem(comp, None, "variables is a table")
        return
    unknown = sorted(set(table) - {"name", "instance", "evse", "connector", "variables"})
    if unknown:
        loader.problem(comp, None, f"unknown key(s) {', '.join(unknown)}")
    for key, raw in variables.items():
        if not isinstance(raw, Mapping):
            loader.problem(comp, key, "a vendor variable is a table with its type (and value)")
            continue
        loader.variable(comp, key, raw, False)


def _load_16(loader: _Loader, data: Mapping[str, Any]) -> None:
    cat = loader.catalog
    unknown = sorted(set(data) - {"version", "profiles", "keys", "custom"})
    if unknown:
        loader.problem(None, None, f"unknown top-level key(s) {', '.join(unknown)} (1.6 takes profiles, keys, custom)")
    keys = data.get("keys", {})
    custom = data.get("custom", {})
    if not isinstance(keys, Mapping) or not isinstance(custom, Mapping):
        loader.problem(None, None, "keys and custom are tables")
        return
    profiles = data.get("profiles")
    if profiles is None:
        listed = _text(keys.get("SupportedFeatureProfiles", "")) or ""
        profiles = [p for p in listed.split(",") if p]
    if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
        loader.problem("profiles", None, "is a list of feature profile names")
        profiles = []
    known_profiles = {k.profile for k in cat.keys()} | {"RemoteTrigger"}
    for p in profiles:
        if p not in known_profiles:
            loader.problem("profiles", None, f"unknown profile {p!r} (one of {', '.join(sorted(known_profiles))})")
    where = standard.KEYS_COMPONENT
    for name, raw in keys.items():
        key = cat.key(name)
        if key is None:
            loader.problem("keys", name, "not a standard 1.6 key (a vendor key goes under [custom])")
            continue
        comp_name, var_name, var_inst = key.location
        table = raw if isinstance(raw, Mapping) else {"value": raw}
        extra = sorted(set(table) - {"value", *_OVERRIDES})
        if extra:
            loader.problem("keys", name, f"unknown key(s) {', '.join(extra)}")
            continue
        spec = loader.overrides("keys", name, key.spec, table)
        text = _text(table.get("value")) if "value" in table else None
        if "value" in table:
            if text is None:
                loader.problem("keys", name, "a value is a string, number or boolean")
                continue
            reason = validate_value(spec, text)
            if reason is not None:
                loader.problem("keys", name, f"value {text!r}: {reason}")
                continue
        spec = replace(spec, name=var_name, instance=var_inst)
        loader.out.append(Definition(Component(comp_name), spec, {} if text is None else {"Actual": text}))
    for name, raw in custom.items():
        if cat.key(name) is not None:
            loader.problem("custom", name, "is a standard key: give it under [keys]")
            continue
        if not isinstance(raw, Mapping):
            loader.problem("custom", name, "a vendor key is a table with its type (and value)")
            continue
        table = dict(raw)
        if table.get("type") == "CSL":
            table["type"] = "MemberList"
        if table.get("type") not in ("boolean", "integer", "string", "MemberList"):
            loader.problem("custom", name, f"unknown data type {raw.get('type')!r} (boolean, integer, string, CSL)")
            continue
        loader.variable(Component(where), name, table, False)
    given = {k for k, raw in keys.items() if not isinstance(raw, Mapping) or "value" in raw}
    for key in cat.keys():
        if key.required and (key.profile == "Core" or key.profile in profiles) and key.name not in given:
            loader.problem("keys", key.name, f"required key missing (profile {key.profile})")
    _csl_lengths(loader, keys)


def _csl_lengths(loader: _Loader, keys: Mapping[str, Any]) -> None:
    """A CSL holds at most as many items as its ``...MaxLength`` key says (when both are given)."""
    for name, raw in keys.items():
        key = loader.catalog.key(name)
        if key is None or key.max_length_key is None or key.max_length_key not in keys:
            continue
        value = _text(raw.get("value") if isinstance(raw, Mapping) else raw)
        limit = keys[key.max_length_key]
        limit = limit.get("value") if isinstance(limit, Mapping) else limit
        if value is None or isinstance(limit, bool) or not isinstance(limit, int):
            continue
        items = len([v for v in value.split(",") if v])
        if items > limit:
            loader.problem("keys", name, f"{items} items, more than {key.max_length_key} = {limit}")


def load_config(source: str | os.PathLike[str] | Mapping[str, Any], version: str) -> list[Definition]:
    """The variables a station has, from its configuration: a ``.toml`` or ``.json`` file, or
    the same structure as a Mapping. ``version``: "1.6", "2.0.1" or "2.1" (a ``version`` key in
    the file must agree).

    Raises:
        ConfigError: every problem found, each with its file, component and variable.
        ValueError: an unknown version.
    """
    loader = _Loader("<mapping>", version)  # the catalogue first: ValueError on a bad version
    loader.where, data = _read(source)
    declared = data.get("version")
    if declared is not None and declared != version:
        raise ConfigError([f"{loader.where}: says version {declared!r}, loaded as {version!r}"])
    if version == "1.6":
        _load_16(loader, data)
    else:
        _load_2x(loader, data)
    seen: set[tuple[Component, str, str | None]] = set()
    for d in loader.out:
        ident = (d.component, d.variable.name, d.variable.instance)
        if ident in seen:
            label = f"{ident[1]}[{ident[2]}]" if ident[2] else ident[1]
            loader.problem(d.component, label, "declared twice")
        seen.add(ident)
    if loader.problems:
        raise ConfigError(loader.problems)
    return loader.out
