"""The tutorials in examples/ run, over real loopback sockets, as the reader would run them:
examples/csms.py and examples/station.py as two processes talking to each other; the station
alone against a CSMS that never calls it; and both are ``mypy --strict`` clean. Likewise the
two versions of the same CSMS in docs/migrating.md (the ``ocpp`` package's and ocppkit's)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer

from .adapters.aio import CLIProcess, output_lines

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def spawn(script: str, *args: str) -> CLIProcess:
    return CLIProcess(
        [sys.executable, str(EXAMPLES / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
        cwd=ROOT,
    )


def read_until(proc: subprocess.Popen[str], needle: str, timeout: float = 20.0) -> list[str]:
    """Lines of ``proc``'s output up to and including the first one containing ``needle``."""
    lines: list[str] = []
    for line in output_lines(proc, timeout):
        lines.append(line.rstrip("\n"))
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not seen in: {lines}")


def finish(proc: subprocess.Popen[str], timeout: float = 60.0) -> tuple[int, list[str]]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"{proc.args!r} did not finish: {out}") from None
    return proc.returncode, out.splitlines()


def index(lines: list[str], needle: str) -> int:
    for i, line in enumerate(lines):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {lines}")


def frames(lines: list[str], direction: str) -> list[list[Any]]:
    """The frames the CSMS printed with --verbose (``CS001: >> [...]``), in order."""
    marker = f"CS001: {direction} "
    return [json.loads(line[len(marker) :]) for line in lines if line.startswith(marker)]


def test_csms_and_station_tutorials_work_together() -> None:
    csms = spawn("csms.py", "--port", "0", "--exit-after", "1", "--verbose")
    try:
        head = read_until(csms, "listening on ws://127.0.0.1:")
        port = head[-1].split("127.0.0.1:")[1].split("/")[0]
        station = spawn("station.py", "--url", f"ws://127.0.0.1:{port}/CS001", "--wait", "20")
        rc, out = finish(station)
        assert rc == 0, out
        crc, cout = finish(csms)  # on_disconnect saw the station go: --exit-after 1 ends it
        assert crc == 0, cout
    finally:
        for proc in (csms,):
            if proc.poll() is None:
                proc.kill()
    cout = head + cout

    # The station: booted, answered the CSMS's three calls, ran the remotely started transaction.
    for needle in (
        "BootNotification: Accepted, heartbeat every 300 s",
        "Heartbeat: the CSMS's clock says",
        "CSMS reads 'OCPPCommCtrlr'.'HeartbeatInterval'",
        "CSMS reads 'ChargingStation'.'SerialNumber'",
        "CSMS sets availability Operative",
        "CSMS asks for a transaction (remote start 1): accepted",
        "transaction tx-0001 started, id token Accepted",
        "meter 1500.0 Wh",
        "transaction tx-0001 ended at 3000.0 Wh",
        "disconnected",
    ):
        index(out, needle)
    assert index(out, "ended at 3000.0 Wh") < index(out, "disconnected")

    # The CSMS: its handlers ran, its task called the station after the boot, it saw the disconnect.
    booted = index(cout, "CS001: booted, 'ocppkit' 'Tutorial-1' (PowerUp)")
    assert index(cout, "CS001: connected, OCPP 2.0.1") < booted
    index(cout, "CS001: heartbeat")
    index(cout, "CS001: EVSE 1 connector 1 Available")
    get = index(cout, "CS001: GetVariables 'OCPPCommCtrlr'.'HeartbeatInterval': Accepted '300'")
    index(cout, "CS001: GetVariables 'ChargingStation'.'SerialNumber': Accepted 'SN-0001'")
    availability = index(cout, "CS001: ChangeAvailability Operative: Accepted")
    start = index(cout, "CS001: RequestStartTransaction: Accepted")
    assert booted < get < availability < start
    started = index(cout, "CS001: transaction 'tx-0001' Started (RemoteStart), meter [0.0] Wh")
    updated = index(cout, "CS001: transaction 'tx-0001' Updated (MeterValuePeriodic), meter [1500.0] Wh")
    ended = index(cout, "CS001: transaction 'tx-0001' Ended (EVDeparted), meter [3000.0] Wh")
    assert started < updated < ended < index(cout, "CS001: disconnected")

    # On the wire (on_frame): the boot is answered before the CSMS's first call goes out.
    received, sent = frames(cout, "<<"), frames(cout, ">>")
    boot_id = next(f[1] for f in received if f[0] == 2 and f[2] == "BootNotification")
    sent_kinds = [(f[0], f[1] if f[0] == 3 else f[2]) for f in sent]
    assert sent_kinds.index((3, boot_id)) < sent_kinds.index((2, "GetVariables"))
    assert [f[2] for f in sent if f[0] == 2] == ["GetVariables", "ChangeAvailability", "RequestStartTransaction"]
    assert not [f for f in received + sent if f[0] == 4]  # no CALLERROR either way


def test_station_tutorial_starts_a_transaction_itself_when_the_csms_never_asks() -> None:
    async def scenario() -> tuple[int, list[str]]:
        async with CSMSServer(csms_router("2.0.1"), versions=("2.0.1",)) as csms:
            await csms.start("127.0.0.1", 0)
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(EXAMPLES / "station.py"),
                "--url",
                f"ws://127.0.0.1:{csms.port}/CS-LOCAL",
                "--wait",
                "0.5",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=ENV,
            )
            out, _ = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode is not None
            return proc.returncode, out.decode().splitlines()

    rc, out = asyncio.run(scenario())
    assert rc == 0, out
    assert index(out, "Authorize: Accepted") < index(out, "transaction tx-0001 started, id token Accepted")
    assert index(out, "transaction tx-0001 ended at 3000.0 Wh") < index(out, "disconnected")
    assert not any("CSMS asks" in line for line in out)


def test_examples_are_mypy_strict_clean() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "examples"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr


def migration_blocks() -> tuple[str, str, list[str]]:
    """The two CSMS programs of docs/migrating.md and the output the page says they print."""
    text = (ROOT / "docs" / "migrating.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    ocpp_version = next(b for b in blocks if "from ocpp." in b)
    ocppkit_version = next(b for b in blocks if "import ocppkit" in b)
    promised = re.findall(r"```text\n(CS001: .*?)```", text, re.S)[0].splitlines()
    return ocpp_version, ocppkit_version, promised


def test_the_migration_guide_programs_print_the_same(tmp_path: Path) -> None:
    ocpp_version, ocppkit_version, promised = migration_blocks()
    outputs = []
    for name, source in (("with_ocpp.py", ocpp_version), ("with_ocppkit.py", ocppkit_version)):
        script = tmp_path / name
        script.write_text(source, encoding="utf-8")
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=ENV)
        assert out.returncode == 0, out.stdout + out.stderr
        outputs.append(out.stdout.splitlines())
    assert outputs[0] == outputs[1] == promised


def test_the_migration_guide_programs_are_mypy_strict_clean(tmp_path: Path) -> None:
    ocpp_version, ocppkit_version, _ = migration_blocks()
    (tmp_path / "with_ocpp.py").write_text(ocpp_version, encoding="utf-8")
    (tmp_path / "with_ocppkit.py").write_text(ocppkit_version, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(tmp_path / "with_ocpp.py"), str(tmp_path / "with_ocppkit.py")],
        cwd=ROOT,  # where mypy finds ocppkit (an editable install's import hook is invisible to it)
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
