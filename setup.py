"""Build the C extensions with Cython; metadata is in pyproject.toml.

- ``ocppkit._codec_c`` from ``ext/_codec_c.pyx``: the codec's hand-written C twin.
- ``ocppkit._rpc_c``: ``ocppkit/_rpc_py.py`` compiled as is (Cython's pure-Python mode), so the
  connection's two twins share one source and cannot drift apart; ``ext/_rpc_c.pxd`` only
  declares the attribute types that make ``Connection`` an extension type.
- ``ocppkit._router_c``: ``ocppkit/_router_py.py`` compiled the same way.

OCPPKIT_NO_EXTENSIONS=1, or a non-CPython interpreter, builds a pure-Python install. Otherwise a
failing C build fails the install loudly: it never silently falls back to the pure twins.
"""

import os
import platform
import shutil
from pathlib import Path

from setuptools import Extension, setup

PURE = os.environ.get("OCPPKIT_NO_EXTENSIONS", "") not in ("", "0") or platform.python_implementation() != "CPython"

ext_modules = []
if not PURE:
    from Cython.Build import cythonize

    here = Path(__file__).resolve().parent
    gen = here / "build" / "cython" / "ocppkit"  # a package folder: Cython finds the .pxd by module name
    gen.mkdir(parents=True, exist_ok=True)
    rpc_src = gen / "_rpc_c.py"
    shutil.copyfile(here / "ocppkit" / "_rpc_py.py", rpc_src)
    shutil.copyfile(here / "ext" / "_rpc_c.pxd", gen / "_rpc_c.pxd")  # makes Connection an extension type
    router_src = gen / "_router_c.py"
    shutil.copyfile(here / "ocppkit" / "_router_py.py", router_src)
    directives = {"language_level": "3", "boundscheck": False, "wraparound": False}
    ext_modules = cythonize(
        [
            Extension("ocppkit._codec_c", ["ext/_codec_c.pyx"], extra_compile_args=["-O2"]),
            Extension("ocppkit._rpc_c", [str(rpc_src.relative_to(here))], extra_compile_args=["-O2"]),
            Extension("ocppkit._router_c", [str(router_src.relative_to(here))], extra_compile_args=["-O2"]),
        ],
        compiler_directives={**directives, "annotation_typing": False, "binding": False},
        include_path=[str(gen.parent)],
    )

setup(ext_modules=ext_modules)
