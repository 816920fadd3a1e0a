"""Build the C extensions with Cython; metadata is in pyproject.toml.

- ``ocppkit._codec_c`` from ``ext/_codec_c.pyx``: the codec's hand-written C twin.
- ``ocppkit._rpc_c``: ``ocppkit/_rpc_py.py`` compiled as is (Cython's pure-Python mode), so the
  connection's two twins share one source and cannot drift apart; ``ext/_rpc_c.pxd`` only
  declares the attribute types that make ``Connection`` an extension type.
- ``ocppkit._router_c``: ``ocppkit/_router_py.py`` compiled the same way (``ext/_router_c.pxd``
  makes ``answer`` a C-level call inside the module).

OCPPKIT_NO_EXTENSIONS=1, or a non-CPython interpreter, builds a pure-Python install. Otherwise a
failing C build fails the install loudly: it never silently falls back to the pure twins.

Cython runs only when the extensions are built (``build_ext``), never when an sdist or the
metadata is made. The build writes a line per step to stderr (``pip install -v`` shows them);
Cython translates the modules in parallel processes and the C compiler builds them side by side
(one job per core, unless ``build_ext --parallel N`` says otherwise); an unchanged module is not
translated again. Source paths are relative to the project folder (setuptools runs this file
there), so the same steps work in a git checkout and in an unpacked sdist.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
#: Cython's input for the two compiled-as-is modules: a package folder, so that Cython finds
#: ``ocppkit/_rpc_c.pxd`` by module name.
GENERATED = Path("build") / "cython"
PURE = os.environ.get("OCPPKIT_NO_EXTENSIONS", "") not in ("", "0") or platform.python_implementation() != "CPython"
#: Module -> (source in the repository, the file Cython compiles). The .pyx is compiled where it is.
SOURCES = {
    "ocppkit._codec_c": ("ext/_codec_c.pyx", "ext/_codec_c.pyx"),
    "ocppkit._rpc_c": ("ocppkit/_rpc_py.py", f"{GENERATED.as_posix()}/ocppkit/_rpc_c.py"),
    "ocppkit._router_c": ("ocppkit/_router_py.py", f"{GENERATED.as_posix()}/ocppkit/_router_c.py"),
}
#: Copied beside the generated module sources.
DECLARATIONS = {
    "ext/_rpc_c.pxd": f"{GENERATED.as_posix()}/ocppkit/_rpc_c.pxd",
    "ext/_router_c.pxd": f"{GENERATED.as_posix()}/ocppkit/_router_c.pxd",
}
#: -O2, and -g0 (no debug info: a third less compile time, a fifth of the size) unless CFLAGS asks for -g.
DEBUG = any(flag.startswith("-g") and flag != "-g0" for flag in os.environ.get("CFLAGS", "").split())
COMPILE_ARGS = ["-O2"] + ([] if DEBUG else ["-g0"])
DIRECTIVES = {
    "language_level": "3",
    "boundscheck": False,
    "wraparound": False,
    "annotation_typing": False,
    "binding": False,
}


def say(message: str) -> None:
    print(f"ocppkit build: {message}", file=sys.stderr, flush=True)


def copy_if_changed(source: str, target: str) -> None:
    """Copy a file unless the target already has the same bytes: an unchanged source keeps its
    timestamp, so Cython and the compiler skip the module on a rebuild."""
    src, dst = HERE / source, HERE / target
    data = src.read_bytes()
    if dst.exists() and dst.read_bytes() == data:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


class BuildExt(build_ext):
    """Cythonize at build time, say what is being compiled, compile the modules in parallel."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:
            self.parallel = max(1, min(len(self.extensions), os.cpu_count() or 1))

    def run(self) -> None:
        if self.extensions:
            self.cythonize()
        started = time.monotonic()
        super().run()
        if self.extensions:
            say(f"{len(self.extensions)} extension modules ready in {time.monotonic() - started:.1f}s")

    def cythonize(self) -> None:
        from Cython.Build import cythonize

        for source, target in DECLARATIONS.items():
            copy_if_changed(source, target)
        for ext in self.extensions:
            origin, compiled = SOURCES[ext.name]
            if origin != compiled:
                copy_if_changed(origin, compiled)
            ext.sources = [compiled]
        started = time.monotonic()
        jobs = self.parallel if isinstance(self.parallel, int) and self.parallel > 1 else 0
        say(f"Cython: {len(self.extensions)} modules to C, {max(jobs, 1)} at a time (unchanged ones are skipped)")
        generated = cythonize(
            self.extensions,
            compiler_directives=DIRECTIVES,
            include_path=[str(GENERATED)],
            nthreads=jobs,
            force=bool(self.force),
        )
        by_name = {ext.name: ext for ext in generated}
        for ext in self.extensions:  # keep setuptools' own Extension objects, with the C sources
            ext.sources = by_name[ext.name].sources
        say(f"Cython: done in {time.monotonic() - started:.1f}s")

    def build_extension(self, ext: Any) -> None:
        started = time.monotonic()
        say(f"compiling {ext.name} from {', '.join(ext.sources)} ...")
        super().build_extension(ext)
        say(f"compiled {ext.name} in {time.monotonic() - started:.1f}s")


ext_modules = (
    []
    if PURE
    else [Extension(name, [origin], extra_compile_args=COMPILE_ARGS) for name, (origin, _) in SOURCES.items()]
)

setup(ext_modules=ext_modules, cmdclass={"build_ext": BuildExt})
