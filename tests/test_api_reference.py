"""docs/reference.md is generated from the docstrings and must match the code; the docstrings
must cover every public name and every constructor parameter."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from docs import make_api_reference as ref

ROOT = Path(__file__).resolve().parent.parent
STALE = "docs/reference.md is out of date: run python docs/make_api_reference.py"


def test_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert ref.render() == committed, STALE


def test_reference_is_the_same_with_the_pure_twins_and_another_hash_seed() -> None:
    # This process runs the compiled twins (when built); the subprocess the pure ones only.
    env = {**os.environ, "OCPPKIT_NO_EXTENSIONS": "1", "PYTHONHASHSEED": "4321"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_api_reference.py"), "--check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr or STALE


def test_every_public_name_is_in_the_reference() -> None:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    for module in ref.MODULES:
        assert f"## `{module}`" in text
        for name in importlib.import_module(module).__all__:
            assert f"# `{name}`\n" in text, f"{module}.{name} is missing from docs/reference.md: {STALE}"


def test_docstrings_cover_every_public_name_and_constructor_parameter() -> None:
    problems = ref.check_docstrings()
    assert problems == [], "\n".join(problems)


def test_the_listed_constructors_are_checked() -> None:
    # The parameter check must actually reach the classes the reference is for.
    checked = {e.name: ref.constructor_parameters(e.obj) for e in ref.entries() if e.kind == "class"}
    for name in ("CSMS", "ChargingStation", "Session", "Connection", "Codec", "Policy", "OcppError"):
        assert checked[name], name
    assert checked["CallReceived"] == ["unique_id", "action", "request", "relaxations"]
    assert checked["CallError"] == ["unique_id", "error_code", "error_description", "error_details"]
    assert "clock" in (checked["Connection"] or ()) and "on_disconnect" in (checked["CSMS"] or ())
    assert checked["PayloadError"] is None  # inherits OcppError's constructor, documented there
    assert checked["CSMSServer"] is None  # inherits the CSMS's


def test_the_docstring_parser() -> None:
    doc = (
        "Summary.\n\nMore prose.\n\nParameters:\n    first: one line.\n    second: two\n"
        "        lines.\n    **extra: the rest.\n\nAttributes:\n    count: how many.\n\nTrailing prose."
    )
    prose, found = ref.sections(doc)
    assert found["Parameters"] == [("first", "one line."), ("second", "two lines."), ("extra", "the rest.")]
    assert found["Attributes"] == [("count", "how many.")]
    assert "Trailing prose." in prose and "Summary." in prose
    assert ref.documented_parameters(doc) == {"first", "second", "extra", "count"}


def test_a_missing_parameter_description_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from ocppkit.adapters import websockets

    doc = websockets.RetryBackOff.__doc__ or ""
    monkeypatch.setattr(websockets.RetryBackOff, "__doc__", doc.replace("        repeat_times:", "        repeats:"))
    problems = ref.check_docstrings()
    assert any("RetryBackOff: constructor parameter 'repeat_times'" in p for p in problems), problems


def test_the_compiled_twins_are_documented_through_the_pure_ones() -> None:
    import ocppkit
    from ocppkit import _codec_py, _router_py, _rpc_py

    by_name = {e.name: e.obj for e in ref.entries()}
    assert by_name["Codec"] is _codec_py.Codec and by_name["Connection"] is _rpc_py.Connection
    assert by_name["Router"] is _router_py.Router
    assert ocppkit.Codec.__name__ == "Codec"  # whichever twin this build runs
