"""Static typing: the package is mypy --strict clean and pins request -> response inference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is part of the test extra")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _mypy(*args: str) -> tuple[str, int]:
    out, err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--config-file", str(REPO / "pyproject.toml"), *args]
    )
    return out + err, status


def test_package_and_examples_are_strict_clean() -> None:
    out, status = _mypy(str(REPO / "ocppkit"), str(HERE / "typing" / "examples.py"))
    assert status == 0, out


def test_misuse_is_reported() -> None:
    path = HERE / "typing" / "bad_examples.py"
    out, status = _mypy(str(path))
    assert status == 1
    expected = {
        i + 1: m.group(1)
        for i, line in enumerate(path.read_text().splitlines())
        if (m := re.search(r"# E: ([\w-]+)", line))
    }
    found: dict[int, set[str]] = {}
    for m in re.finditer(rf"{re.escape(path.name)}:(\d+): error: .*\[([\w-]+)\]", out):
        found.setdefault(int(m.group(1)), set()).add(m.group(2))
    for line, code in expected.items():
        assert code in found.get(line, set()), f"line {line}: expected [{code}], mypy said:\n{out}"
    assert set(found) == set(expected), out
