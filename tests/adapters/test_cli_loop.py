"""``--loop asyncio|uvloop`` of ``ocppkit demo``, ``serve`` and ``station``: the helper that runs
a command's coroutine on the chosen loop, a real serve and station pair on uvloop, and the usage
error when uvloop is not installed."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys

import pytest

from ocppkit._cli_common import LOOPS, UsageError, loop_name, run_on_loop
from tests.adapters.aio import free_port, spawn_cli, wait_for_line


async def _which() -> tuple[str, str]:
    await asyncio.sleep(0)
    return loop_name(), type(asyncio.get_running_loop()).__module__


def test_run_on_loop_runs_the_coroutine_on_the_chosen_loop() -> None:
    assert LOOPS == ("asyncio", "uvloop")
    assert run_on_loop(_which(), "asyncio") == ("asyncio", "asyncio.unix_events")
    name, module = run_on_loop(_which(), "uvloop")
    assert name == "uvloop" and module.startswith("uvloop")
    assert run_on_loop(_which())[0] == "asyncio"  # the default
    coro = _which()
    with pytest.raises(UsageError, match="--loop: expected one of asyncio, uvloop, got trio"):
        run_on_loop(coro, "trio")
    assert coro.cr_frame is None  # closed, never run (no "never awaited" warning)


def test_loop_uvloop_without_uvloop_is_a_usage_error() -> None:
    code = "import sys; sys.modules['uvloop'] = None; from ocppkit.__main__ import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run(
        [sys.executable, "-c", code, "demo", "--loop", "uvloop"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stderr.strip() == (
        'ocppkit demo: --loop uvloop needs the uvloop extra: pip install "ocppkit[uvloop]" (not available on Windows)'
    )


def test_demo_serve_and_station_on_uvloop() -> None:
    demo = subprocess.run(
        [sys.executable, "-m", "ocppkit", "demo", "--loop", "uvloop"], capture_output=True, text=True, timeout=60
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "loop: uvloop)" in demo.stdout.splitlines()[0] and "session completed as expected" in demo.stdout
    port = free_port()
    serve = spawn_cli("serve", "--port", str(port), "--loop", "uvloop")
    try:
        wait_for_line(serve, "CSMS listening")
        for version in ("1.6", "2.1"):
            station = subprocess.run(
                [sys.executable, "-m", "ocppkit", "station", "--loop", "uvloop", "--version", version]
                + ["--url", f"ws://127.0.0.1:{port}/UV-{version}"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert station.returncode == 0, station.stdout + station.stderr
            assert "session completed as expected" in station.stdout
    finally:
        serve.terminate()
        serve.wait(10)
        assert serve.stdout is not None
        serve.stdout.close()


def test_the_loop_benchmark_times_both_loops_and_passes_the_choice_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import _loops

    monkeypatch.setattr(_loops, "SCENARIOS", {k: (f, 50, 50) for k, (f, _, _) in _loops.SCENARIOS.items()})
    lines: list[str] = []
    results = _loops.compare(quick=True, repeats=1, out=lines.append)
    assert set(results["scenarios"]) == {"memory", "websocket", "websocket x50"}
    for row in results["scenarios"].values():
        assert set(row["us_per_call"]) == {"asyncio", "uvloop"} and all(v > 0 for v in row["us_per_call"].values())
        assert row["asyncio_over_uvloop"] > 0
    assert lines[1].startswith("Session round trips per loop") and len(lines) == 6
    # --loop also goes into the environment, for the processes a benchmark starts
    monkeypatch.delenv(_loops.ENV, raising=False)
    parser = argparse.ArgumentParser()
    _loops.add_loop_option(parser)
    assert parser.parse_args([]).loop == "asyncio" and _loops.ENV not in os.environ
    assert parser.parse_args(["--loop", "uvloop"]).loop == "uvloop" and os.environ[_loops.ENV] == "uvloop"
    assert _loops.run(_which())[0] == "uvloop"  # the environment's choice
    assert _loops.run(_which(), "asyncio")[0] == "asyncio"
    with pytest.raises(ValueError, match="loop: expected one of asyncio, uvloop, got 'trio'"):
        _loops.loop_kind("trio")
