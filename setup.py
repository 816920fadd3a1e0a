"""Build the C extension (ext/*.pyx -> ocppkit._*_c) with Cython; metadata is in pyproject.toml.

OCPPKIT_NO_EXTENSIONS=1, or a non-CPython interpreter, builds a pure-Python install. Otherwise a
failing C build fails the install loudly: it never silently falls back to the pure twin.
"""

import os
import platform

from setuptools import Extension, setup

PURE = os.environ.get("OCPPKIT_NO_EXTENSIONS", "") not in ("", "0") or platform.python_implementation() != "CPython"

ext_modules = []
if not PURE:
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("ocppkit._codec_c", ["ext/_codec_c.pyx"], extra_compile_args=["-O2"])],
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False},
    )

setup(ext_modules=ext_modules)
