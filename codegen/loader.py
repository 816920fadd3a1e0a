"""OCA JSON schemas -> a small intermediate representation (IR).

The loader is strict: a keyword it does not understand, a dangling reference, an open object
other than the 2.x ``CustomDataType``, or two different definitions under one name stop the
generation with an error that names the file and the JSON pointer.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from .naming import NamingError, enum_member, field_name, pascal

__all__ = [
    "Array",
    "EnumDef",
    "Field",
    "LoadError",
    "Message",
    "ObjectDef",
    "Ref",
    "Scalar",
    "VersionIR",
    "load_config",
    "load_version",
    "wheel_schema_root",
]

HERE = Path(__file__).resolve().parent

# Keywords the loader knows. Annotations are ignored; everything else is enforced.
_ANNOTATIONS = {"description", "javaType", "default", "title", "comment", "$schema", "$id", "id"}
_KNOWN = _ANNOTATIONS | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "additionalItems",
    "items",
    "maxLength",
    "enum",
    "$ref",
    "definitions",
    "minItems",
    "maxItems",
    "format",
    "minimum",
    "maximum",
    "multipleOf",
}
DRAFT4 = "http://json-schema.org/draft-04/schema#"
DRAFT6 = "http://json-schema.org/draft-06/schema#"


class LoadError(ValueError):
    """The schemas cannot be turned into code as they are."""


# --------------------------------------------------------------------------- IR


@dataclass(frozen=True)
class Scalar:
    kind: str  # "str" | "int" | "float" | "bool" | "any" | "datetime"
    max_length: int | None = None
    ge: int | float | None = None
    le: int | float | None = None
    multiple_of: str | None = None  # decimal text, e.g. "0.1"
    uri: bool = False


@dataclass(frozen=True)
class Ref:
    name: str  # a class name in the same version (EnumDef, ObjectDef or "CustomDataType")


@dataclass(frozen=True)
class Array:
    item: Scalar | Ref | Array
    min_items: int | None = None
    max_items: int | None = None


TypeExpr = Scalar | Ref | Array


@dataclass(frozen=True)
class Field:
    wire: str
    py: str
    type: TypeExpr
    required: bool


@dataclass
class ObjectDef:
    name: str
    fields: list[Field]
    source: str  # "<file>#<pointer>" of the first occurrence, for messages


@dataclass
class EnumDef:
    name: str
    values: list[str]
    members: list[str]


@dataclass
class Message:
    action: str
    role: str  # "request" | "response" | "send"
    obj: ObjectDef
    draft: str


@dataclass
class VersionIR:
    version: str
    package: str
    enums: dict[str, EnumDef] = field(default_factory=dict)
    objects: dict[str, ObjectDef] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    uses_custom_data: bool = False

    def actions(self) -> dict[str, dict[str, Message]]:
        out: dict[str, dict[str, Message]] = {}
        for m in self.messages:
            out.setdefault(m.action, {})[m.role] = m
        return dict(sorted(out.items()))


# --------------------------------------------------------------------- config


def load_config(path: Path | None = None) -> dict[str, dict[str, str]]:
    with open(path or HERE / "versions.toml", "rb") as f:
        data = tomllib.load(f)
    versions = data.get("versions", {})
    for name, entry in versions.items():
        if set(entry) - {"package", "source"} or "package" not in entry:
            raise LoadError(f"versions.toml: entry {name!r} needs `package` (and optionally `source`)")
    return versions


def load_overrides(path: Path | None = None) -> dict[str, Any]:
    with open(path or HERE / "overrides.toml", "rb") as f:
        return tomllib.load(f)


def wheel_schema_root() -> Path:
    """The folder of the installed `ocpp` package (the pinned wheel of the `codegen` extra)."""
    import importlib.util

    spec = importlib.util.find_spec("ocpp")
    if spec is None or not spec.submodule_search_locations:
        raise LoadError("the `ocpp` wheel is not installed: `pip install -e '.[codegen]'`, or pass --schemas")
    return Path(next(iter(spec.submodule_search_locations)))


def resolve_source(source: str, repo_root: Path) -> Path:
    kind, _, where = source.partition(":")
    if kind == "wheel":
        return wheel_schema_root() / where
    if kind == "dir":
        p = Path(where)
        return p if p.is_absolute() else repo_root / p
    raise LoadError(f"unknown schema source {source!r} (use wheel:<folder> or dir:<path>)")


# -------------------------------------------------------------------- loading


def _read_schemas(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    if not folder.is_dir():
        raise LoadError(f"schema folder {folder} does not exist")
    schemas: dict[str, dict[str, Any]] = {}
    hashes: dict[str, str] = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        raw = (folder / name).read_bytes()
        hashes[name] = hashlib.sha256(raw).hexdigest()
        schemas[name[: -len(".json")]] = json.loads(raw.decode("utf-8-sig"))
    if not schemas:
        raise LoadError(f"no *.json schema files in {folder}")
    return schemas, hashes


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _apply_patches(version: str, schemas: dict[str, dict[str, Any]], overrides: dict[str, Any]) -> None:
    for patch in overrides.get("patch", []):
        if patch["version"] != version or patch["file"] not in schemas:
            continue
        parts = _pointer_parts(patch["pointer"])
        node: Any = schemas[patch["file"]]
        for p in parts[:-1]:
            if not isinstance(node, dict) or p not in node:
                node = None
                break
            node = node[p]
        if node is None:
            continue
        last = parts[-1]
        op = patch["op"]
        if op == "set":
            node[last] = patch["value"]
        elif op == "remove":
            node.pop(last, None)
        elif op == "remove_enum":
            values = node.get(last)
            if isinstance(values, list) and patch["value"] in values:
                values.remove(patch["value"])
        else:
            raise LoadError(f"overrides.toml: unknown op {op!r}")


def _strip(node: Any) -> Any:
    """A schema node without annotations, for comparing definitions."""
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in sorted(node.items()) if k not in _ANNOTATIONS}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _is_custom_data(node: dict[str, Any]) -> bool:
    props = node.get("properties", {})
    return (
        node.get("additionalProperties", True) is not False
        and set(props) == {"vendorId"}
        and node.get("required") == ["vendorId"]
        and _strip(props["vendorId"]) == {"maxLength": 255, "type": "string"}
    )


class _Builder:
    def __init__(self, version: str, package: str, overrides: dict[str, Any]) -> None:
        self.ir = VersionIR(version, package)
        self.names: dict[str, str] = overrides.get("names", {}).get(version, {})
        self.specials: dict[str, str] = overrides.get("identifiers", {})
        self._shapes: dict[str, Any] = {}  # class name -> stripped schema, for dedupe checks
        self._used_names: set[str] = set()

    # -- naming and dedupe -------------------------------------------------

    def _claim(self, name: str, shape: Any, where: str) -> bool:
        """Register a class name; True when it is new, False when it is an identical repeat."""
        if name in self._shapes:
            if self._shapes[name] != shape:
                raise LoadError(f"{where}: `{name}` is defined twice with different content")
            return False
        self._shapes[name] = shape
        return True

    def _inline_name(self, file: str, pointer: str, suffix: str) -> str:
        key = f"{file}#{pointer}"
        if key in self.names:
            return self.names[key]
        props = [p for p in _pointer_parts(pointer) if p not in ("properties", "items")]
        return pascal(file) + "".join(pascal(p) for p in props) + suffix

    # -- types --------------------------------------------------------------

    def type_of(self, node: dict[str, Any], file: str, pointer: str, root: dict[str, Any], draft: str) -> TypeExpr:
        where = f"{file}.json#{pointer}"
        unknown = set(node) - _KNOWN
        if unknown:
            raise LoadError(f"{where}: unsupported keyword(s) {sorted(unknown)}")
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/definitions/"):
                raise LoadError(f"{where}: only local #/definitions/ references are supported")
            name = ref[len("#/definitions/") :]
            target = root.get("definitions", {}).get(name)
            if target is None:
                raise LoadError(f"{where}: dangling reference {ref}")
            return self.named(name, target, file, f"/definitions/{name}", root, draft)
        kind = node.get("type")
        if kind is None:
            return Scalar("any")
        if not isinstance(kind, str):
            raise LoadError(f"{where}: a list of types is not supported")
        if kind == "string":
            if "enum" in node:
                return self.enum(self._inline_name(file, pointer, "Enum"), node, where)
            fmt = node.get("format")
            if fmt == "date-time":
                return Scalar("datetime")
            if fmt not in (None, "uri"):
                raise LoadError(f"{where}: unsupported format {fmt!r}")
            return Scalar("str", max_length=node.get("maxLength"), uri=fmt == "uri")
        if kind in ("integer", "number"):
            py = "int" if kind == "integer" else "float"
            conv = int if py == "int" else float
            ge = node.get("minimum")
            le = node.get("maximum")
            mult = node.get("multipleOf")
            return Scalar(
                py,
                ge=None if ge is None else conv(ge),
                le=None if le is None else conv(le),
                multiple_of=None if mult is None else repr(mult),
            )
        if kind == "boolean":
            return Scalar("bool")
        if kind == "array":
            items = node.get("items")
            if not isinstance(items, dict):
                raise LoadError(f"{where}: arrays need one `items` schema")
            item = self.type_of(items, file, pointer + "/items", root, draft)
            return Array(item, node.get("minItems"), node.get("maxItems"))
        if kind == "object":
            if _is_custom_data(node):
                self.ir.uses_custom_data = True
                return Ref("CustomDataType")
            name = self._inline_name(file, pointer, "")
            return self.obj(name, node, file, pointer, root, draft)
        raise LoadError(f"{where}: unsupported type {kind!r}")

    def named(
        self, name: str, node: dict[str, Any], file: str, pointer: str, root: dict[str, Any], draft: str
    ) -> TypeExpr:
        if node.get("type") == "string" and "enum" in node:
            return self.enum(name, node, f"{file}.json#{pointer}")
        if node.get("type") == "object":
            if _is_custom_data(node):
                self.ir.uses_custom_data = True
                return Ref("CustomDataType")
            return self.obj(name, node, file, pointer, root, draft)
        return self.type_of(node, file, pointer, root, draft)

    def enum(self, name: str, node: dict[str, Any], where: str) -> Ref:
        values = list(node["enum"])
        if not all(isinstance(v, str) for v in values) or len(set(values)) != len(values):
            raise LoadError(f"{where}: enum values must be distinct strings")
        if self._claim(name, ("enum", values), where):
            try:
                members = [enum_member(v, self.specials) for v in values]
            except NamingError as exc:
                raise LoadError(f"{where}: {exc}") from None
            if len(set(members)) != len(members):
                raise LoadError(f"{where}: enum values of `{name}` collide as member names {members}")
            self.ir.enums[name] = EnumDef(name, values, members)
        return Ref(name)

    def obj(self, name: str, node: dict[str, Any], file: str, pointer: str, root: dict[str, Any], draft: str) -> Ref:
        where = f"{file}.json#{pointer}"
        if self._claim(name, ("object", _strip(node), draft), where):
            self.ir.objects[name] = self.fields_of(name, node, file, pointer, root, draft)
        return Ref(name)

    def fields_of(
        self, name: str, node: dict[str, Any], file: str, pointer: str, root: dict[str, Any], draft: str
    ) -> ObjectDef:
        where = f"{file}.json#{pointer}"
        unknown = set(node) - _KNOWN
        if unknown:
            raise LoadError(f"{where}: unsupported keyword(s) {sorted(unknown)}")
        if node.get("type", "object") != "object":
            raise LoadError(f"{where}: expected an object schema")
        if node.get("additionalProperties", True) is not False:
            raise LoadError(f"{where}: open objects other than CustomDataType are not supported")
        props: dict[str, Any] = node.get("properties", {})
        required = node.get("required", [])
        missing = set(required) - set(props)
        if missing:
            raise LoadError(f"{where}: required names {sorted(missing)} are not properties")
        fields: list[Field] = []
        seen: dict[str, str] = {}
        for wire, sub in props.items():
            try:
                py = field_name(wire, self.specials)
            except NamingError as exc:
                raise LoadError(f"{where}: {exc}") from None
            if py in seen:
                raise LoadError(f"{where}: properties {seen[py]!r} and {wire!r} both map to `{py}`")
            seen[py] = wire
            t = self.type_of(sub, file, f"{pointer}/properties/{wire}", root, draft)
            fields.append(Field(wire, py, t, wire in required))
        return ObjectDef(name, fields, f"{file}.json#{pointer or '/'}")


def _classify(stems: set[str]) -> dict[str, tuple[str, str]]:
    """File stem -> (action, role). 2.x: XRequest/XResponse/X (SEND); 1.6: X/XResponse."""
    out: dict[str, tuple[str, str]] = {}
    for stem in stems:
        if stem.endswith("Response"):
            out[stem] = (stem[: -len("Response")], "response")
        elif stem.endswith("Request"):
            out[stem] = (stem[: -len("Request")], "request")
        elif stem + "Response" in stems:
            out[stem] = (stem, "request")
        else:
            out[stem] = (stem, "send")
    return out


def load_version(version: str, package: str, folder: Path, overrides: dict[str, Any]) -> VersionIR:
    schemas, hashes = _read_schemas(folder)
    schemas = copy.deepcopy(schemas)
    _apply_patches(version, schemas, overrides)
    b = _Builder(version, package, overrides)
    b.ir.inputs = hashes
    roles = _classify(set(schemas))
    for stem in sorted(schemas):
        root = schemas[stem]
        draft = root.get("$schema", DRAFT6)
        if draft not in (DRAFT4, DRAFT6):
            raise LoadError(f"{stem}.json: unsupported $schema {draft!r}")
        action, role = roles[stem]
        if role == "response" and not any(r == (action, "request") for r in roles.values()):
            raise LoadError(f"{stem}.json: a response without a request")
        cls = f"{action}{'Response' if role == 'response' else 'Request'}"
        if cls in b._shapes:
            raise LoadError(f"{stem}.json: class name {cls} is taken by a datatype")
        b._shapes[cls] = ("message",)
        obj = b.fields_of(cls, root, stem, "", root, draft)
        b.ir.messages.append(Message(action, role, obj, draft))
    clash = set(b.ir.objects) & {m.obj.name for m in b.ir.messages}
    if clash:
        raise LoadError(f"datatype names clash with message names: {sorted(clash)}")
    return b.ir
