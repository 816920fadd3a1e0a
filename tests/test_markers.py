"""The suite's markers: registered, strict, and applied where tests/conftest.py's MARKS says."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MARKS, marks_for

REPO = Path(__file__).resolve().parent.parent


def _top_level_names(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def test_every_entry_names_a_folder_a_module_or_a_test() -> None:
    for prefix in MARKS:
        if prefix.endswith("/"):
            assert (REPO / prefix).is_dir(), f"MARKS names a missing folder: {prefix}"
            continue
        module, _, test = prefix.partition("::")
        assert (REPO / module).is_file(), f"MARKS names a missing module: {prefix}"
        if test:
            assert test in _top_level_names(REPO / module), f"MARKS names a missing test: {prefix}"


def test_markers_are_registered_and_strict(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":", 1)[0].strip() for line in pytestconfig.getini("markers")}
    assert {"interop", "network", "slow"} <= registered
    assert {name for names in MARKS.values() for name in names} <= registered
    assert "--strict-markers" in pytestconfig.getini("addopts")


def test_marks_by_folder_module_and_test() -> None:
    assert marks_for("tests/interop/test_ocpp_rpc.py::test_subprotocol_negotiation") == ["interop", "network", "slow"]
    assert marks_for("tests/interop/test_ocpp_package.py::test_x[1.6]") == ["interop", "network"]
    assert marks_for("tests/adapters/test_websockets.py::test_cli_serve_and_station") == ["network", "slow"]
    assert marks_for("tests/adapters/test_websockets.py::test_cli_serve_and_station_x") == ["network"]
    assert marks_for("tests/test_differential.py::test_differential[2.1/AuthorizeResponse]") == ["slow"]
    assert marks_for("tests/test_rpc_states.py::TestCConnection::runTest") == ["slow"]
    assert marks_for("tests/test_rpc.py::test_connection_is_sans_io") == []
    assert marks_for("tests/test_codec_parity_extra.py::test_x") == []


def test_minus_m_selects_on_the_applied_markers() -> None:
    """In a real pytest run, `-m "not slow"` drops what MARKS calls slow (the hook runs before `-m`)."""
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", "not slow"]
    out = subprocess.run(
        [*argv, "tests/test_rpc_states.py", "tests/test_markers.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    collected = {line for line in out.stdout.splitlines() if "::" in line}
    assert collected, out.stdout
    assert all(line.startswith("tests/test_markers.py::") for line in collected), collected
    assert "tests/test_markers.py::test_minus_m_selects_on_the_applied_markers" not in collected  # slow itself
    assert "deselected" in out.stdout
