"""The package's import graph: every module imports, no cycle, no module patched by another.

The graph is read from the source (``ast``): every ``import`` of an ocppkit module, wherever it
stands (at the top, inside a function), except under ``if TYPE_CHECKING:``, which never runs.
The generated ``v*`` packages are included, and so is the C twin's source (``ext/_codec_c.pyx``,
as ``ocppkit._codec_c``; the compiled ``_rpc_c`` and ``_router_c`` are ``_rpc_py`` and
``_router_py``).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "ocppkit"
# Compiled by Cython from a module of the package (setup.py): the same imports.
COMPILED = {"ocppkit._rpc_c": "ocppkit._rpc_py", "ocppkit._router_c": "ocppkit._router_py"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, tuple[Path, ast.Module]]:
    out: dict[str, tuple[Path, ast.Module]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        out[_module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    # The C twin: its Python-level imports, which are ordinary import statements.
    pyx = REPO / "ext" / "_codec_c.pyx"
    lines = [ln for ln in pyx.read_text().splitlines() if re.match(r"(from \S+ import |import )", ln)]
    out["ocppkit._codec_c"] = (pyx, ast.parse("\n".join(lines)))
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, top_level_only: bool = False) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if top_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph(top_level_only: bool = False) -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    edges: dict[str, set[str]] = {m: set() for m in sources}
    for module, (path, tree) in sources.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in _imports(tree, top_level_only):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # `from . import x` / `from .mod import sub`: the submodule itself, where it is one;
                # the package only for the names it defines (or when it is no ancestor of this
                # module, which Python imports first anyway).
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
                ancestor = module == base or module.startswith(base + ".")
                targets = subs + ([base] if len(subs) < len(node.names) or not ancestor else [])
            for target in targets:
                target = COMPILED.get(target, target)
                while target and target not in known:  # `import ocppkit.v201.enums` names a module
                    target = target.rpartition(".")[0]
                if target and target != module:
                    edges[module].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    edges = graph()
    assert len(edges) > 40 and "ocppkit.v201.messages" in edges and "ocppkit._codec_c" in edges
    assert "ocppkit._exact" in edges["ocppkit._codec_c"] and "ocppkit._exact" in edges["ocppkit._codec_py"]
    assert cycles(edges) == []


def test_the_modules_imported_at_import_time_have_no_cycle_at_all() -> None:
    """The graph of the imports that run when a module is imported (not inside functions)."""
    edges = graph(top_level_only=True)
    assert "ocppkit.check.records" in edges["ocppkit.check.pcap"]
    assert cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_every_module_imports() -> None:
    """Each module in a fresh interpreter of its own would be slow; one interpreter imports them
    all in turn, in the order the graph's sources are listed."""
    names = [m for m in graph() if m != "ocppkit._codec_c"] + ["ocppkit._codec_c", *COMPILED]
    code = (
        "import importlib, json, sys\n"
        f"names = {names!r}\n"
        "for n in names: importlib.import_module(n)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ocppkit'))))"
    )
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert set(names) <= set(json.loads(out.stdout.splitlines()[-1]))


def test_no_module_assigns_into_another() -> None:
    """No monkeypatching: a module never rebinds a name of another ocppkit module (the C twin's
    helpers reach the exact decoder as arguments, not by swapping a module's function)."""
    problems = []
    for path, tree in _sources().values():
        modules: set[str] = set()  # local names bound to ocppkit modules
        for node in _imports(tree):
            for alias in node.names:
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("ocppkit")):
                    modules.add(alias.asname or alias.name)
                elif isinstance(node, ast.Import) and alias.name.startswith("ocppkit"):
                    modules.add(alias.asname or alias.name.split(".")[0])
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
                targets = [ast.Attribute(value=node.args[0], attr="?")] if node.args else []
            for t in targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in modules:
                    problems.append(f"{path.relative_to(REPO)}:{node.lineno}: assigns {t.value.id}.{t.attr}")
    assert problems == []


def _private(module: str) -> bool:
    return any(part.startswith("_") and part != "__init__" for part in module.split("."))


def test_no_private_module_is_imported_across_packages() -> None:
    """A private module (``ocppkit._x``, ``ocppkit.adapters._x``) is imported only from its own
    package: the tools (``ocppkit.check``) and the adapters use the public modules of the core."""
    edges = graph()
    crossing = sorted(
        (module, target)
        for module, targets in edges.items()
        for target in targets
        if _private(target)
        and target.rpartition(".")[0] != module.rpartition(".")[0]
        and not target.startswith(module + ".")  # a package's own private modules
        and not module.startswith("ocppkit.v")  # generated classes build on ocppkit._base
        and module != "ocppkit._codec_c"
    )
    assert crossing == []
