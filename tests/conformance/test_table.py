"""The table itself: the modules found by name, what an extra that is not installed and a module
that cannot be imported become (reported, or failures: never a silent skip)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from . import table
from .conftest import ENTRIES, _harness


def test_the_built_in_transports_are_in_the_table_and_none_is_broken() -> None:
    names = {e.name: e for e in ENTRIES}
    built_in = {"websockets", "sansio", "asgi-uvicorn", "aiohttp", "picows"}
    assert built_in | ({"websockets-uvloop", "picows-uvloop"} if sys.platform != "win32" else set()) <= set(names)
    assert [e.name for e in ENTRIES if e.broken] == []
    assert names["websockets"].server is not None and names["websockets"].server.listens
    assert names["sansio"].server is not None and not names["sansio"].server.listens  # a plain CSMS: no TLS
    if sys.platform != "win32":  # the test extra installs uvloop wherever it exists
        for name in ("websockets-uvloop", "picows-uvloop"):
            uv = names[name]
            assert uv.server is not None and uv.server.loop == "uvloop" and uv.unavailable == ""


def _package(tmp_path: Path, files: dict[str, str]) -> tuple[Path, str]:
    folder = tmp_path / "fakeconf"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder, "fakeconf"


def test_a_missing_extra_is_unavailable_and_a_module_that_cannot_import_is_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, package = _package(
        tmp_path,
        {
            "servers_broken.py": "import no_such_module_for_ocppkit_tests\n",
            "servers_notinstalled.py": "raise AssertionError('never imported')\n",
            "servers_empty.py": "SERVERS = {}\n",
            "servers_short.py": "LISTENS = True\n\n\ndef serve(kwargs):\n    raise AssertionError('not called')\n",
            "not_a_server.py": "raise AssertionError('not a servers_ module')\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    real = table._extra_requirements
    monkeypatch.setattr(
        table,
        "_extra_requirements",
        lambda extra: ["no-such-dist-for-ocppkit"] if extra == "notinstalled" else real(extra),
    )
    found = {e.name: e for e in table.discover(folder, package)}
    assert set(found) == {"broken", "notinstalled", "empty", "short"}
    short = found["short"].server
    assert short is not None and short.listens and short.loop == "asyncio" and not found["short"].broken
    assert found["notinstalled"].unavailable == (
        "ocppkit[notinstalled] is not installed (missing: no-such-dist-for-ocppkit)"
    )
    assert "No module named 'no_such_module_for_ocppkit_tests'" in found["broken"].broken
    assert "SERVERS must be a non-empty dict" in found["empty"].broken
    # a broken module fails its tests; so does an unavailable one where every transport is required
    for entry in (found["broken"], found["notinstalled"]):
        with pytest.raises(pytest.fail.Exception, match=f"transport {entry.name}"):
            _harness(entry)


def test_the_extras_requirements_are_read_from_the_installed_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    assert table._extra_requirements("websockets") == ["websockets"]
    assert table._extra_requirements("uvloop") == ["uvloop"]
    assert table.missing_distributions("websockets") == []
    assert table._extra_requirements("no-such-extra") == []  # such a module's own imports decide
    for name, value, expected in (("CI", "true", True), ("CI", "", False), ("OCPPKIT_ALL_TRANSPORTS", "1", True)):
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.delenv("OCPPKIT_ALL_TRANSPORTS", raising=False)
        monkeypatch.setenv(name, value)
        assert table.required() is expected, (name, value)
