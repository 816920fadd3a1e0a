"""Benchmark-only: build the core twins of an earlier commit beside the current ones, to time
them side by side in one process.

``python -m benchmarks.base_twins --ref <commit> --out DIR`` takes ``ocppkit/_rpc_py.py``,
``ocppkit/_router_py.py``, ``ocppkit/_codec_py.py``, ``ext/_rpc_c.pxd`` and
``ext/_codec_c.pyx`` as they were at ``<commit>`` (``git show``), renames them
``ocppkit._base_*`` and compiles the C ones with the project's Cython directives into ``DIR``
(about a minute). ``load(DIR)`` imports them under those names, as submodules of the installed
``ocppkit``: the old connection, router and codec code, running on the current shared pieces
(``_encode``, ``_exact``, ``_wire``, the generated classes). ``bench_rpc --base DIR`` adds them
as contenders. Nothing under ``ocppkit/`` is touched.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["build", "load"]

ROOT = Path(__file__).resolve().parent.parent
#: name in DIR/ocppkit/ -> source path in the repository at the ref
FILES = {
    "_base_rpc_py.py": "ocppkit/_rpc_py.py",
    "_base_rpc_c.py": "ocppkit/_rpc_py.py",
    "_base_rpc_c.pxd": "ext/_rpc_c.pxd",
    "_base_router_py.py": "ocppkit/_router_py.py",
    "_base_router_c.py": "ocppkit/_router_py.py",
    "_base_router_c.pxd": "ext/_router_c.pxd",  # since issue 14's lean round trip (optional)
    "_base_codec_py.py": "ocppkit/_codec_py.py",
    "_base_codec_c.pyx": "ext/_codec_c.pyx",
}
COMPILED = ("_base_rpc_c.py", "_base_router_c.py", "_base_codec_c.pyx")


def build(ref: str, out: Path) -> Path:
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension  # type: ignore[import-untyped]

    pkg = out / "ocppkit"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    sha = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    (out / "REF").write_text(sha)
    for name, path in FILES.items():
        shown = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True)
        if shown.returncode != 0 and name.endswith(".pxd"):
            continue  # a declaration file the ref did not have yet: its module compiles without it
        shown.check_returncode()
        (pkg / name).write_bytes(shown.stdout)
    exts = [Extension(f"ocppkit.{Path(n).stem}", [str(pkg / n)], extra_compile_args=["-O2", "-g0"]) for n in COMPILED]
    directives = {
        "language_level": "3",
        "boundscheck": False,
        "wraparound": False,
        "annotation_typing": False,
        "binding": False,
    }
    generated = cythonize(  # type: ignore[no-untyped-call]
        exts, compiler_directives=directives, include_path=[str(out)], nthreads=2, quiet=True
    )
    dist = Distribution({"ext_modules": generated})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(out)
    cmd.build_temp = str(out / "tmp")
    cmd.parallel = 2
    cmd.ensure_finalized()
    cmd.run()
    return out


def _load(name: str, path: Path) -> ModuleType:
    full = f"ocppkit.{name}"
    if full in sys.modules:
        return sys.modules[full]
    if path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(full, path)
    else:
        loader = importlib.machinery.ExtensionFileLoader(full, str(path))
        spec = importlib.util.spec_from_file_location(full, path, loader=loader)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    spec.loader.exec_module(module)
    return module


def load(out: Path) -> dict[str, Any]:
    """The base modules built in ``out``: ``rpc_c``, ``router_c``, ``codec_c``, ``rpc_py``,
    ``router_py``, ``codec_py``, and ``ref`` (the commit)."""
    import ocppkit  # noqa: F401  (the package the modules are loaded into)

    pkg = out / "ocppkit"
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    mods: dict[str, Any] = {"ref": (out / "REF").read_text().strip()}
    for stem in ("_base_rpc_c", "_base_router_c", "_base_codec_c"):
        mods[stem[6:]] = _load(stem, pkg / f"{stem}{suffix}")
    for stem in ("_base_rpc_py", "_base_router_py", "_base_codec_py"):
        mods[stem[6:]] = _load(stem, pkg / f"{stem}.py")
    return mods


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.base_twins")
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    build(args.ref, args.out)
    mods = load(args.out)
    print(f"built the twins of {mods['ref'][:12]} in {args.out}: " + ", ".join(sorted(k for k in mods if k != "ref")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
