"""Write docs/reference.md, the API reference, from the signatures and docstrings of the public names.

    python docs/make_api_reference.py           # rewrites docs/reference.md
    python docs/make_api_reference.py --check   # exit 1 (and say so) if docs/reference.md is stale

The public names are ``ocppkit.__all__``, ``ocppkit.adapters.asyncio.__all__``,
``ocppkit.adapters.websockets.__all__``, ``ocppkit.adapters.outbox.__all__``,
``ocppkit.outbox.__all__`` and ``ocppkit.transactions.__all__``. Classes and functions
are read with :mod:`inspect`;
the compiled twins (``ocppkit._codec_c``, ``_rpc_c``, ``_router_c``) are replaced by their pure
twins, which carry the signatures and docstrings, so the output is the same whatever the build.
Constants and type aliases have no docstring of their own: their documentation is the ``#:``
comment above their assignment in the module that defines them (found by following the imports).

Docstring conventions (checked by tests/test_api_reference.py):

- every public name, and every public method and property of a public class, has a docstring;
- a class whose constructor takes parameters lists each one under ``Parameters:`` (or, for
  records such as events, frames and dataclasses, under ``Attributes:``), one ``name: text``
  entry per line, indented by four spaces; continuation lines are indented further.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import re
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "reference.md"
MODULES = (
    "ocppkit",
    "ocppkit.adapters.asyncio",
    "ocppkit.adapters.csms",
    "ocppkit.adapters.picows",
    "ocppkit.adapters.websockets",
    "ocppkit.adapters.asgi",
    "ocppkit.adapters.aiohttp",
    "ocppkit.adapters.registry",
    "ocppkit.adapters.outbox",
    "ocppkit.outbox",
    "ocppkit.transactions",
    "ocppkit.cluster",
    "ocppkit.smartcharging",
    "ocppkit.devicemodel",
    "ocppkit.devicemodel.standard",
    "ocppkit.devicemodel.config",
    "ocppkit.devicemodel.mirror",
    "ocppkit.adapters.devicemodel",
    "ocppkit.adapters.devicemodel_csms",
    "ocppkit.adapters.smartcharging",
)
REGENERATE = "python docs/make_api_reference.py"
SECTIONS = ("Parameters", "Attributes", "Raises", "Returns")
_COMPILED = {
    "ocppkit._codec_c": "ocppkit._codec_py",
    "ocppkit._rpc_c": "ocppkit._rpc_py",
    "ocppkit._router_c": "ocppkit._router_py",
}


# ------------------------------------------------------------------ finding the public names


@dataclasses.dataclass
class Entry:
    """One public name: where it is exported, what it is, and where its text comes from."""

    module: str  # the public module exporting it
    name: str
    obj: Any
    kind: str  # "class", "function" or "data"
    source_module: str  # the module that defines it
    line: int  # its line there (the reference keeps source order within a module)
    doc: str  # the docstring, or the ``#:`` comment of a data name
    expression: str = ""  # data names: the assigned expression, as written


def _doc(obj: Any) -> str:
    """Its own docstring, cleaned (none inherited from a base class or method)."""
    doc = getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def _pure(obj: Any) -> Any:
    """The pure-Python twin of a compiled class (same name, same public API)."""
    module = getattr(obj, "__module__", "")
    if module in _COMPILED:
        return getattr(importlib.import_module(_COMPILED[module]), obj.__name__)
    return obj


def _is_own(obj: Any, name: str) -> bool:
    return (
        (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", "").startswith("ocppkit")
        and obj.__name__ == name
    )


def _module_ast(module: str) -> tuple[ast.Module, list[str]]:
    path = Path(importlib.import_module(module).__file__ or "")
    text = path.read_text(encoding="utf-8")
    return ast.parse(text), text.splitlines()


def _resolve_module(module: str, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    mod = importlib.import_module(module)
    package = module if hasattr(mod, "__path__") else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{target}" if target else package


def _definition(module: str, name: str) -> tuple[str, ast.stmt, list[str], bool]:
    """Follow ``from x import name`` until the statement that assigns ``name``."""
    tree, lines = _module_ast(module)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    target = _resolve_module(module, node.level, node.module)
                    if not target.startswith("ocppkit"):  # re-exported from a dependency: documented here
                        return module, node, lines, False
                    return _definition(target, alias.name)
    for node in tree.body:  # the first top-level assignment, or one inside a top-level if/try
        for stmt in [node, *_nested(node)]:
            nested = stmt is not node
            targets: list[ast.expr] = []
            if isinstance(stmt, ast.Assign):
                targets = stmt.targets
            elif isinstance(stmt, ast.AnnAssign):
                targets = [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return module, stmt, lines, nested
    raise LookupError(f"{module}: no assignment of {name}")


def _nested(node: ast.stmt) -> Iterator[ast.stmt]:
    for field in ("body", "orelse", "handlers", "finalbody"):
        for child in getattr(node, field, ()):
            if isinstance(child, ast.ExceptHandler):
                yield from child.body
            elif isinstance(child, ast.stmt):
                yield child


def _comment_above(lines: list[str], lineno: int) -> str:
    """The ``#:`` comment block right above line ``lineno`` (1-based)."""
    out: list[str] = []
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith("#:"):
        out.insert(0, lines[i].strip()[2:].strip())
        i -= 1
    return "\n".join(out)


def entries() -> list[Entry]:
    """Every public name of the documented modules, in reference order."""
    found: list[Entry] = []
    for module in MODULES:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = _pure(getattr(mod, name))
            if _is_own(obj, name):
                kind = "class" if inspect.isclass(obj) else "function"
                source = obj.__module__
                line = inspect.getsourcelines(obj)[1]
                found.append(Entry(module, name, obj, kind, source, line, _doc(obj)))
            else:
                source, stmt, lines, nested = _definition(module, name)
                value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
                # An assignment under if/try depends on the build: show only the type.
                expression = ast.unparse(value) if value is not None and not nested else ""
                doc = _comment_above(lines, stmt.lineno)
                found.append(Entry(module, name, obj, "data", source, stmt.lineno, doc, expression))
    order = {m: i for i, m in enumerate(_SOURCE_ORDER)}
    found.sort(key=lambda e: (MODULES.index(e.module), order.get(e.source_module, len(order)), e.source_module, e.line))
    return found


# Within ``ocppkit``: the codec first, then what it deals in, then the connection.
_SOURCE_ORDER = (
    "ocppkit.codec",
    "ocppkit._codec_py",
    "ocppkit.frames",
    "ocppkit.errors",
    "ocppkit.policy",
    "ocppkit.edition",
    "ocppkit._payload",
    "ocppkit._base",
    "ocppkit._rpc_py",
    "ocppkit._router_py",
    "ocppkit.events",
    "ocppkit._version",
    "ocppkit.outbox._core",
    "ocppkit.outbox._records",
    "ocppkit.outbox._classify",
    "ocppkit.outbox._errors",
    "ocppkit.outbox._store",
    "ocppkit.outbox._sqlite",
)
_GROUPS = {
    "ocppkit.codec": "Codec and frames",
    "ocppkit._codec_py": "Codec and frames",
    "ocppkit.frames": "Codec and frames",
    "ocppkit.errors": "Errors",
    "ocppkit.policy": "Decoding policy",
    "ocppkit.edition": "Editions: what differs between OCPP versions",
    "ocppkit._payload": "Payloads and the bases of the generated classes",
    "ocppkit._base": "Payloads and the bases of the generated classes",
    "ocppkit._rpc_py": "The sans-IO connection",
    "ocppkit._router_py": "The sans-IO connection",
    "ocppkit.events": "Connection events",
    "ocppkit._version": "Version",
    "ocppkit.outbox._core": "The station outbox",
    "ocppkit.outbox._records": "The station outbox",
    "ocppkit.outbox._classify": "The station outbox",
    "ocppkit.outbox._errors": "The station outbox",
    "ocppkit.outbox._store": "Outbox stores",
    "ocppkit.outbox._sqlite": "Outbox stores",
}


# ------------------------------------------------------------------ members of a class


def _record_fields(cls: type) -> tuple[str, ...]:
    """The fields of a msgspec Struct, dataclass or NamedTuple (documented as attributes)."""
    if hasattr(cls, "__struct_fields__"):
        return tuple(cls.__struct_fields__)
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return tuple(cls._fields)
    return ()


def members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties of ``cls`` defined in ocppkit (inherited ones included)."""
    if issubclass(cls, enum.Enum):
        return []
    fields = set(_record_fields(cls))
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("ocppkit"):
            continue
        for name, value in vars(_pure(klass)).items():
            if name.startswith("_") or name in seen or name in fields:
                continue
            seen.add(name)
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property) or inspect.isfunction(value):
                out.append((name, value))
    return out


def constructor_parameters(cls: type) -> list[str] | None:
    """The constructor's parameter names, or None when ``cls`` does not define its own.

    A constructor inherited from another public class is documented there; one inherited from
    a builtin (an exception's ``*args``) has nothing to document.
    """
    if issubclass(cls, enum.Enum) or getattr(cls, "_is_protocol", False):
        return None
    fields = _record_fields(cls)
    if fields:
        for base in cls.__mro__[1:]:
            if (
                base.__module__.startswith("ocppkit")
                and not base.__name__.startswith("_")
                and (_record_fields(base) == fields)
            ):
                return None
        return list(fields)
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            if klass is not cls and (not klass.__module__.startswith("ocppkit") or not klass.__name__.startswith("_")):
                return None
            params = inspect.signature(klass.__init__).parameters  # type: ignore[misc]
            return [p for p in params if p != "self"]
    return None


# ------------------------------------------------------------------ docstrings


def sections(doc: str) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """Split a docstring into its prose lines and its ``Parameters:``/``Attributes:``/... entries."""
    prose: list[str] = []
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in doc.splitlines():
        header = line.strip().rstrip(":")
        if line.strip().endswith(":") and header in SECTIONS and not line.startswith(" "):
            current = found.setdefault(header, [])
            continue
        if current is not None:
            if not line.strip():
                continue
            if line.startswith("        ") and current:
                name, text = current[-1]
                current[-1] = (name, f"{text} {line.strip()}")
                continue
            m = re.match(r"^    (\*{0,2}[\w.]+): ?(.*)$", line)
            if m:
                current.append((m.group(1).lstrip("*"), m.group(2)))
                continue
            current = None  # the section ended: back to prose
        prose.append(line)
    return prose, found


def documented_parameters(doc: str) -> set[str]:
    """Names listed under ``Parameters:`` or ``Attributes:``."""
    found = sections(doc)[1]
    return {name for section in ("Parameters", "Attributes") for name, _ in found.get(section, [])}


_ROLE = re.compile(r":(?:class|meth|func|data|exc|attr|mod):`~?([^`]+)`")


def markdown(text: str) -> str:
    """reST-flavoured docstring prose -> Markdown."""
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    text = text.replace(".. code-block:: python\n", "")
    text = re.sub(r"::\n", ":\n", text)
    text = re.sub(r"(?m)^(\S.*)\n(    )", r"\1\n\n\2", text)  # an indented block needs a blank line above
    return text.strip()


def render_doc(doc: str) -> list[str]:
    prose, found = sections(doc)
    out = [markdown("\n".join(prose)), ""] if "".join(prose).strip() else []
    for section in SECTIONS:
        items = found.get(section)
        if items:
            out += [f"**{section}**", ""]
            out += [f"- `{name}`: {markdown(text)}" for name, text in items]
            out.append("")
    return out


# ------------------------------------------------------------------ signatures


def _annotation(value: Any) -> str:
    if value is inspect.Parameter.empty:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, typing.ForwardRef):
        return value.__forward_arg__
    if isinstance(value, typing.TypeVar):
        return value.__name__
    text = inspect.formatannotation(value)
    return re.sub(r"\b(?:ocppkit|typing|msgspec)\.(?:[_a-z0-9]+\.)*", "", text)


def _default(value: Any, owner: Any) -> str:
    if value is inspect.Parameter.empty:
        return ""
    if isinstance(value, (type(None), bool, int, float, str, bytes)):
        return repr(value)
    if isinstance(value, tuple) and all(isinstance(v, (type(None), bool, int, float, str)) for v in value):
        return repr(value)
    if callable(value) and hasattr(value, "__name__"):
        return str(value.__name__)
    module = sys.modules.get(getattr(owner, "__module__", ""), None)
    for name, candidate in vars(module or object).items():
        if candidate is value and not name.startswith("__"):
            return name  # e.g. DEFAULT_ALLOWED_WHILE_PENDING, whose repr is not deterministic
    if repr(value) == "<factory>":
        return "<factory>"
    raise ValueError(f"{owner!r}: no deterministic text for the default {value!r}")


def _raw_annotations(cls: type) -> dict[str, Any]:
    """A record's field annotations as written (the signature shows ``Request[Any]`` as ``Request``)."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        out.update(vars(klass).get("__annotations__", {}))
    return out


def signature(obj: Any, name: str, *, drop_first: bool = False, returns: bool = True) -> str:
    sig = inspect.signature(obj)
    written = _raw_annotations(obj) if inspect.isclass(obj) and _record_fields(obj) else {}
    params = list(sig.parameters.values())
    if drop_first and params:
        params = params[1:]
    parts: list[str] = []
    star = False
    for p in params:
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        prefix = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        star = star or p.kind is p.VAR_POSITIONAL
        text = prefix + p.name
        ann = _annotation(written.get(p.name, p.annotation))
        if ann:
            text += f": {ann}"
        default = _default(p.default, obj)
        if default:
            text += f" = {default}" if ann else f"={default}"
        parts.append(text)
    ret = _annotation(sig.return_annotation) if returns else ""
    tail = f" -> {ret}" if ret and ret != "None" else ""
    head = f"async {name}" if inspect.iscoroutinefunction(obj) else name
    one_line = f"{head}({', '.join(parts)}){tail}"
    if len(one_line) <= 100:
        return one_line
    return f"{head}(\n" + "".join(f"    {p},\n" for p in parts) + f"){tail}"


def _class_signature(cls: type, name: str) -> str:
    if issubclass(cls, enum.Enum):
        bases = [b.__name__ for b in cls.__bases__]
        return f"class {name}({', '.join(bases)})"
    if constructor_parameters(cls) is None and not _record_fields(cls):
        bases = [b.__name__ for b in cls.__bases__ if b is not object]
        return f"class {name}({', '.join(bases)})" if bases else f"class {name}"
    return "class " + signature(cls, name, returns=False)


def _code(text: str) -> list[str]:
    return ["```text", text, "```", ""]


# ------------------------------------------------------------------ the page


def _anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", name.lower().replace(" ", "-"))


def render() -> str:
    all_entries = entries()
    out = [
        "# API reference",
        "",
        f"<!-- Generated by `{REGENERATE}` from the docstrings; do not edit. -->",
        "",
        "Every public name of `ocppkit`, `ocppkit.adapters.asyncio`, `ocppkit.adapters.websockets`",
        "and `ocppkit.transactions` (their `__all__`), with its signature and docstring,",
        f"generated from the code by `{REGENERATE}`; `tests/test_api_reference.py`",
        "fails when this page is out of date. The message classes of `ocppkit.v16`, `ocppkit.v201`",
        "and `ocppkit.v21` are described in [messages.md](messages.md); [api.md](api.md) is the",
        "one-page overview, and [versioning.md](versioning.md) says what the compatibility promise",
        "covers.",
        "",
        "`Codec`, `Connection` and `Router` are shown as their pure-Python twins; the compiled",
        "twins have the same signatures and behaviour.",
        "",
    ]
    for module in MODULES:
        names = [e for e in all_entries if e.module == module]
        out.append(f"- `{module}`: " + ", ".join(f"[`{e.name}`](#{_anchor(e.name)})" for e in names))
    out.append("")
    for module in MODULES:
        out += [f"## `{module}`", ""]
        doc = inspect.getdoc(importlib.import_module(module)) or ""
        first = markdown(doc.split("\n\n")[0])
        if first:
            out += [first, ""]
        group = None
        for e in all_entries:
            if e.module != module:
                continue
            if module == "ocppkit" and _GROUPS.get(e.source_module) != group:
                group = _GROUPS.get(e.source_module)
                out += [f"### {group}", ""]
            out += _entry(e, "####" if module == "ocppkit" else "###")
    return "\n".join(out).rstrip() + "\n"


def _entry(e: Entry, level: str) -> list[str]:
    out = [f"{level} `{e.name}`", ""]
    if e.kind == "data":
        out += _code(f"{e.name} = {e.expression}" if e.expression else f"{e.name}: {type(e.obj).__name__}")
        out += render_doc(e.doc)
        return out
    if e.kind == "function":
        out += _code(signature(e.obj, e.name))
        out += render_doc(e.doc)
        return out
    cls = e.obj
    out += _code(_class_signature(cls, e.name))
    out += render_doc(e.doc)
    if issubclass(cls, enum.Enum):
        out += ["| member | value |", "|---|---|"]
        out += [f"| `{m.name}` | `{m.value!r}` |" for m in cls]
        out.append("")
    for name, member in members(cls):
        if isinstance(member, property):
            out += [f"{level}# `{e.name}.{name}` (property)", ""]
            out += render_doc(_doc(member))
        else:
            is_static = isinstance(inspect.getattr_static(cls, name), staticmethod)
            out += [f"{level}# `{e.name}.{name}()`", ""]
            out += _code(signature(member, name, drop_first=not is_static))
            out += render_doc(_doc(member))
    return out


def check_docstrings() -> list[str]:
    """What the docstring conventions find missing: an empty list when all is well."""
    problems: list[str] = []
    for e in entries():
        where = f"{e.module}.{e.name}"
        if not e.doc.strip():
            hint = "a `#:` comment above its assignment" if e.kind == "data" else "a docstring"
            problems.append(f"{where}: no documentation (add {hint} in {e.source_module})")
        if e.kind != "class":
            continue
        params = constructor_parameters(e.obj)
        documented = documented_parameters(e.doc)
        for p in params or ():
            if p not in documented:
                problems.append(f"{where}: constructor parameter {p!r} is not described under Parameters:/Attributes:")
        listed = {n for n, _ in sections(e.doc)[1].get("Parameters", [])}
        for p in sorted(listed - set(params or ())):
            problems.append(f"{where}: Parameters: lists {p!r}, which the constructor does not take")
        for name, member in members(e.obj):
            if not (_doc(member)).strip():
                problems.append(f"{where}.{name}: no docstring")
    return problems


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"docs/reference.md is out of date: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
