"""Shared fixtures: every codec test runs against both twins (pure Python and the C extension)."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import pytest

# The repository root, for `import codegen` in the generator tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-ext", action="store_true", help="skip the C extension twin (run the pure one only)")


def _c_codec() -> Any:
    if importlib.util.find_spec("ocppkit._codec_c") is None:
        return None
    from ocppkit._codec_c import Codec

    return Codec


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "Codec" in metafunc.fixturenames:
        from ocppkit._codec_py import Codec as PyCodec

        impls: list[Any] = [pytest.param(PyCodec, id="py")]
        c = _c_codec()
        if not metafunc.config.getoption("--no-ext") and os.environ.get("OCPPKIT_NO_EXTENSIONS", "") in ("", "0"):
            if c is not None:  # a missing extension fails tests/test_codec.py::test_extension_is_in_use
                impls.append(pytest.param(c, id="c"))
        metafunc.parametrize("Codec", impls)
    if "Connection" in metafunc.fixturenames:
        from ocppkit._rpc_py import Connection as PyConnection

        conns: list[Any] = [pytest.param(PyConnection, id="py")]
        if not metafunc.config.getoption("--no-ext") and os.environ.get("OCPPKIT_NO_EXTENSIONS", "") in ("", "0"):
            if importlib.util.find_spec("ocppkit._rpc_c") is not None:
                from ocppkit._rpc_c import Connection as CConnection

                conns.append(pytest.param(CConnection, id="c"))
        metafunc.parametrize("Connection", conns)
