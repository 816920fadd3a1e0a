"""Import behaviour: lazy versions, no I/O modules in the core, enums built on demand."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_ocppkit_imports_no_version_and_no_io() -> None:
    mods = _modules_after("import ocppkit")
    assert not {m for m in mods if m.startswith(("ocppkit.v16", "ocppkit.v201", "ocppkit.v21"))}
    # Less what msgspec brings by itself: on Python 3.10 its `import uuid` pulls in threading (via platform).
    assert not (mods - _modules_after("import msgspec")) & {"asyncio", "socket", "websockets", "ssl", "threading"}


@pytest.mark.parametrize(
    "package",
    [
        "ocppkit.outbox",
        "ocppkit.smartcharging",
        "ocppkit.devicemodel",
        "ocppkit.devicemodel.mirror",
        "ocppkit.devicemodel.standard",
        "ocppkit.devicemodel.config",
    ],
)
def test_the_sans_io_logic_imports_no_io(package: str) -> None:
    """The outbox logic, the smart-charging engine and the device model: no asyncio, no sockets,
    no threads (the outbox's and the device model's stores use the standard library's sqlite3
    only). The ledger is a store itself: it
    takes a lock so that a CSMS may record from several threads."""
    mods = _modules_after(f"import {package}") - _modules_after("import msgspec")
    assert not mods & {"asyncio", "socket", "websockets", "ssl", "threading", "redis"}


@pytest.mark.parametrize("version", ["v16", "v201", "v21"])
def test_one_version_imports_no_other(version: str) -> None:
    mods = _modules_after(f"import ocppkit.{version}")
    others = {"v16", "v201", "v21"} - {version}
    assert not {m for m in mods if m.split(".")[1:2] and m.split(".")[1] in others and m.startswith("ocppkit.")}
    assert f"ocppkit.{version}.messages" in mods
    assert "asyncio" not in mods


def test_enums_are_built_on_first_use_and_match_their_stubs() -> None:
    code = (
        "import ocppkit.v201 as v, ocppkit.v201.enums as e\n"
        "before = [n for n in e.__all__ if n in vars(e)]\n"
        "v.BootReasonEnumType\n"
        "after = [n for n in e.__all__ if n in vars(e)]\n"
        "print(before, after)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] ['BootReasonEnumType']"


@pytest.mark.parametrize("version", ["v16", "v201", "v21"])
def test_runtime_enums_equal_the_stub_classes(version: str) -> None:
    import importlib

    enums = importlib.import_module(f"ocppkit.{version}.enums")
    stub = ast.parse((REPO / "ocppkit" / version / "enums.pyi").read_text())
    classes = {n.name: n for n in stub.body if isinstance(n, ast.ClassDef)}
    assert sorted(classes) == sorted(enums.__all__)
    for name, node in classes.items():
        members = [(t.targets[0].id, t.value.value) for t in node.body if isinstance(t, ast.Assign)]  # type: ignore[attr-defined]
        runtime = getattr(enums, name)
        assert [(m.name, m.value) for m in runtime] == members
        assert issubclass(runtime, str)
