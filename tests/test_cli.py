"""The ``ocppkit`` command line, in subprocesses: version, help, decode, one-line errors, SIGTERM,
full frames, escaping, and a station that carries on over a new connection after a drop."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
import trustme
import websockets
from websockets.asyncio.client import connect

import ocppkit
from ocppkit import v16, v21, v201
from ocppkit.adapters.asyncio import current_session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer
from ocppkit.codec import IMPLEMENTATION
from tests.adapters.aio import send_at_once


def cli(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ocppkit", *args], capture_output=True, text=True, input=stdin, timeout=timeout
    )


def one_line_error(out: subprocess.CompletedProcess[str], command: str) -> str:
    """Assert exit status 2 and a single ``ocppkit <command>: ...`` line on stderr; return it."""
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ocppkit {command}: "), out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    return lines[0]


def run(coro: Awaitable[Any], timeout: float = 60.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


# ---------------------------------------------------------------- version and help


def test_version_long_and_short() -> None:
    for flag in ("--version", "-V"):
        out = cli(flag)
        assert out.returncode == 0
        assert out.stdout == f"ocppkit {ocppkit.__version__} (codec: {IMPLEMENTATION})\n"
    # A subcommand's --version is still the OCPP version.
    out = cli("decode", "--version", "1.6", '[2,"1","Heartbeat",{}]')
    assert out.returncode == 0 and out.stdout.startswith("OCPP 1.6\n")


@pytest.mark.parametrize(
    ("command", "described", "defaults"),
    [
        ("serve", "Run a small CSMS", ["(default: 127.0.0.1)", "(default: 9000)", "(default: 0)", "SIGTERM"]),
        ("station", "Connect a simulated charging station", ["(default: 15.0)", "(default: text)", "default: 2.0.1)"]),
        ("demo", "in this process", ["(default: 2.0.1)"]),
        ("decode", "not validated", ["(default: 2.0.1"]),
    ],
)
def test_help_describes_the_command_and_its_defaults(command: str, described: str, defaults: list[str]) -> None:
    out = cli(command, "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())  # argparse wraps lines
    assert described in text
    for default in defaults:
        assert default in text, default
    if command != "decode":
        assert "--full-frames" in text


def test_the_versions_offered_are_the_editions() -> None:
    from ocppkit.edition import VERSIONS

    newest_first = list(reversed(VERSIONS))
    for command in ("demo", "serve", "station", "decode"):
        text = " ".join(cli(command, "--help").stdout.split())
        assert "--version {" + ",".join(VERSIONS) + "}" in text, command
    serve = " ".join(cli("serve", "--help").stdout.split())
    assert f"default: {', '.join(newest_first[:-1])} and {newest_first[-1]})" in serve  # 2.1, 2.0.1 and 1.6
    out = cli("serve", "--version", "3.0")
    assert out.returncode == 2 and "invalid choice: '3.0'" in out.stderr


# ---------------------------------------------------------------- decode


def test_decode_says_the_version_it_assumed() -> None:
    out = cli("decode", '[2,"1","Heartbeat",{}]')
    assert out.returncode == 0
    assert out.stdout.splitlines()[0] == "OCPP 2.0.1 (assumed: the default; choose with --version 1.6, 2.0.1 or 2.1)"
    out = cli("decode", "--version", "2.1", '[2,"1","Heartbeat",{}]')
    assert out.stdout.splitlines()[0] == "OCPP 2.1"


def test_decode_a_callresult_without_action_shows_the_raw_json_unvalidated() -> None:
    frame = '[3,"19223201",{"currentTime":"2030-01-01T10:00:00Z","interval":300,"status":"Accepted"}]'
    out = cli("decode", frame)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert "msgspec.Raw" not in out.stdout
    assert lines[1] == (
        "unchecked: CallResult(unique_id='19223201', "
        'payload={"currentTime":"2030-01-01T10:00:00Z","interval":300,"status":"Accepted"})'
    )
    assert lines[2].startswith("  not validated: a CALLRESULT does not name its action; pass --action")
    # With --action it is validated, and an invalid one is found.
    out = cli("decode", "--action", "BootNotification", frame)
    assert out.returncode == 0 and "ok: CallResult(" in out.stdout and "BootNotificationResponse(" in out.stdout
    out = cli("decode", "--action", "BootNotification", '[3,"1",{"status":"Accepted"}]')
    assert out.returncode == 1 and "invalid: " in out.stdout


def test_decode_escapes_what_came_from_the_wire() -> None:
    # An escaped ESC in a property name (in the error's path), raw C1 and bidi controls in a CALLRESULT.
    frames = '[2,"1","Heartbeat",{"\\u001b[2J":1}]\n[3,"2",{"a":"\u009b31m\u202e"}]\n'
    out = cli("decode", stdin=frames)
    assert out.returncode == 1
    assert not {"\x1b", "\u009b", "\u202e"} & set(out.stdout)
    assert '$["\\x1b[2J"]' in out.stdout and '{"a":"\\x9b31m\\u202e"}' in out.stdout


# ---------------------------------------------------------------- one-line errors


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    folder = tmp_path_factory.mktemp("cli-pki")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(folder / "server.crt"))
    server.private_key_pem.write_to_path(str(folder / "server.key"))
    (folder / "garbage.pem").write_text("not a certificate\n")
    return folder


def test_a_url_without_identity_is_a_one_line_error() -> None:
    for url in ("ws://127.0.0.1:9000/", "ws://127.0.0.1:9000", "ws://127.0.0.1:9000/ocpp/"):
        line = one_line_error(cli("station", "--url", url), "station")
        assert "no station identity" in line and url in line
    assert "ws:// or wss://" in one_line_error(cli("station", "--url", "http://127.0.0.1:9000/CS1"), "station")


def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line_error(cli("serve", "--port", str(port)), "serve")
        assert f"cannot listen on 127.0.0.1:{port}" in line and "in use" in line


def test_missing_or_bad_certificate_files_are_one_line_errors(certs: Path) -> None:
    missing = str(certs / "missing.pem")
    line = one_line_error(
        cli("serve", "--security-profile", "2", "--password", "sixteen-chars-pw", "--certfile", missing), "serve"
    )
    assert line == f"ocppkit serve: --certfile {missing}: no such file"
    line = one_line_error(
        cli(
            "serve",
            "--security-profile",
            "2",
            "--password",
            "sixteen-chars-pw",
            "--certfile",
            str(certs / "server.crt"),
            "--keyfile",
            missing,
        ),
        "serve",
    )
    assert "--keyfile" in line and "no such file" in line
    line = one_line_error(
        cli("serve", "--security-profile", "2", "--password", "pw", "--certfile", str(certs / "garbage.pem")), "serve"
    )
    assert "cannot load --certfile/--keyfile" in line
    line = one_line_error(
        cli(
            "serve",
            "--security-profile",
            "3",
            "--certfile",
            str(certs / "server.crt"),
            "--keyfile",
            str(certs / "server.key"),
            "--cafile",
            missing,
        ),
        "serve",
    )
    assert "--cafile" in line
    line = one_line_error(cli("station", "--url", "wss://127.0.0.1:9/CS1", "--cafile", missing), "station")
    assert line == f"ocppkit station: --cafile {missing}: no such file"
    line = one_line_error(
        cli("station", "--url", "wss://127.0.0.1:9/CS1", "--password", "pw", "--cafile", str(certs / "garbage.pem")),
        "station",
    )
    assert "cannot load the TLS files" in line


@pytest.mark.parametrize("profile", ["1", "2"])
def test_basic_auth_profiles_without_password_are_refused(profile: str, certs: Path) -> None:
    tls = ["--certfile", str(certs / "server.crt"), "--keyfile", str(certs / "server.key")] if profile == "2" else []
    line = one_line_error(cli("serve", "--security-profile", profile, *tls), "serve")
    assert f"security profile {profile} needs --password" in line


def test_inconsistent_station_options_are_one_line_errors() -> None:
    cases = [
        (["--url", "ws://127.0.0.1:9/CS1", "--security-profile", "1"], "security profile 1 needs --password"),
        (["--url", "ws://127.0.0.1:9/CS1", "--security-profile", "2", "--password", "p"], "needs a wss:// URL"),
        (["--url", "wss://127.0.0.1:9/CS1", "--security-profile", "0"], "is plain ws://"),
        (["--url", "wss://127.0.0.1:9/CS1"], "a wss:// URL needs --password (security profile 2) or --certfile"),
        (["--url", "ws://127.0.0.1:9/CS1", "--certfile", "x.pem"], "are for wss:// URLs"),
    ]
    for args, needle in cases:
        assert needle in one_line_error(cli("station", *args), "station")
    assert "is for security profiles 1 and 2" in one_line_error(cli("serve", "--password", "pw"), "serve")


# ---------------------------------------------------------------- serve: SIGTERM, frames


async def _start_serve(*args: str) -> tuple[asyncio.subprocess.Process, int]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ocppkit",
        "serve",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    found = re.search(r"ws://127\.0\.0\.1:(\d+)/", line)
    assert found, line
    return proc, int(found.group(1))


def test_sigterm_closes_serve_gracefully() -> None:
    async def scenario() -> None:
        proc, port = await _start_serve()
        try:
            async with connect(f"ws://127.0.0.1:{port}/SIG1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send('[2,"1","Heartbeat",{}]')
                assert json.loads(await ws.recv())[:2] == [3, "1"]
                proc.send_signal(signal.SIGTERM)
                with pytest.raises(websockets.ConnectionClosedOK) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001  # going away
            out, err = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, err.decode()
        assert "CSMS closed properly (1 connection(s) closed with 1001 going away)" in out.decode()
        assert err.decode() == ""

    run(scenario())


def _frame_lines(text: str, label: str) -> list[str]:
    return [line for line in text.splitlines() if f" {label} " in line]


def test_full_frames_for_serve_station_and_demo() -> None:
    """A TransactionEvent Started is longer than 160 characters: cut by default, whole with --full-frames."""

    async def scenario() -> tuple[str, str]:
        proc, port = await _start_serve("--full-frames")
        try:
            station = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ocppkit",
                "station",
                "--url",
                f"ws://127.0.0.1:{port}/FULL1",
                "--full-frames",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            station_out, _ = await asyncio.wait_for(station.communicate(), 60)
            assert station.returncode == 0, station_out.decode()
            proc.send_signal(signal.SIGTERM)
            serve_out, _ = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return serve_out.decode(), station_out.decode()

    serve_out, station_out = run(scenario())
    demo_full = cli("demo", "--full-frames").stdout
    demo_cut = cli("demo").stdout
    for text in (serve_out, station_out, demo_full):
        (line,) = _frame_lines(text, "CALL TransactionEvent")[:1]
        payload = json.loads(line.split("CALL TransactionEvent", 1)[1])  # whole, valid JSON
        assert payload["eventType"] == "Started" and payload["idToken"]["idToken"] == "04A2B3C4"
        assert "…" not in text
    line = _frame_lines(demo_cut, "CALL TransactionEvent")[0]
    assert line.endswith("…") and len(line.split("CALL TransactionEvent", 1)[1].strip()) == 160


def test_serve_escapes_what_stations_send() -> None:
    """A hostile identity (%1B) is refused before the upgrade (HTTP 404), and control characters
    in a frame never reach the terminal raw."""

    async def scenario() -> str:
        proc, port = await _start_serve()
        try:
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with connect(f"ws://127.0.0.1:{port}/EVIL%1B%5B2J%E2%80%AE", subprotocols=["ocpp2.0.1"]):  # type: ignore[list-item]
                    pass
            assert refused.value.response.status_code == 404
            async with connect(f"ws://127.0.0.1:{port}/EVIL", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send('[2,"1","Heartbeat",{"x":"\x1b]0;owned\x07"}]')
                await ws.recv()
                await ws.send("\x1b[31mnot json\u009b")
                await ws.recv()
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        return out.decode()

    out = run(scenario())
    assert "\x1b" not in out and "\x07" not in out and "\u009b" not in out and "\u202e" not in out
    assert "EVIL → csms" in out and "\\x1b]0;owned\\x07" in out and "\\x1b[31mnot json\\x9b" in out


# ---------------------------------------------------------------- station: reconnection


@pytest.mark.parametrize(
    ("version", "how", "action"),
    [
        ("2.0.1", "abort", "TransactionEvent"),  # the TCP connection is cut mid-call
        ("1.6", "close", "MeterValues"),  # the CSMS closes the WebSocket mid-call
        ("2.1", "restart", "TransactionEvent"),  # the whole CSMS goes away and comes back
    ],
)
def test_the_station_carries_on_over_the_new_connection(version: str, how: str, action: str) -> None:
    async def scenario() -> None:
        connections: list[list[str]] = []  # the actions received on each connection
        servers: list[CSMSServer] = []
        port = _free_port()
        dropped = asyncio.Event()
        restarting: list[asyncio.Task[None]] = []  # keeps a reference to the task

        def on_connect(session: Any) -> None:
            connections.append([])

        def on_event(session: Any, event: Any) -> None:
            if isinstance(event, (ocppkit.CallReceived, ocppkit.SendReceived)):
                connections[-1].append(event.action)

        async def restart() -> None:
            await servers[0].close()
            await asyncio.sleep(0.5)
            servers.append(make())
            await servers[-1].start("127.0.0.1", port)

        router = csms_router(version)
        base = router.handler_for  # the demo CSMS's answers, except the one call we cut
        cut = ocppkit.Router()
        m = {"1.6": v16, "2.0.1": v201, "2.1": v21}[version]
        for name, row in m.ACTIONS.items():
            if row.response is None:
                continue

            def handler(req: Any, name: str = name) -> Any:
                answer = base(req)
                assert answer is not None
                if name == action and len(connections) == 1 and connections[0].count(action) == 2:
                    return cut_it()  # the second such call of the first connection is never answered
                return answer(req)

            cut.add(row.request, handler)

        async def cut_it() -> Any:
            session = current_session()
            dropped.set()
            if how == "abort":
                session.transport.ws.transport.abort()  # type: ignore[attr-defined]
            elif how == "close":
                await session.transport.close(1011, "going down")
            else:
                restarting.append(asyncio.get_running_loop().create_task(restart()))
            await asyncio.Event().wait()

        def make() -> CSMSServer:
            return CSMSServer({version: cut}, on_connect=on_connect, on_event=on_event, ping_interval=None)

        servers.append(make())
        await servers[0].start("127.0.0.1", port)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ocppkit",
                "station",
                "--url",
                f"ws://127.0.0.1:{port}/RECONNECT-1",
                "--version",
                version,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            for server in servers:
                await server.close()
        text = out.decode()
        assert dropped.is_set()
        assert proc.returncode == 0, text + err.decode()
        assert "session completed as expected" in text and "Traceback" not in text + err.decode()
        assert "is closed" not in text + err.decode()
        # The transaction message goes again through the station's outbox, without a note; a
        # plain call the demo sends again itself says so.
        assert "reconnected to ws://" in text and "sending it again" not in text
        assert len(connections) == 2
        first, second = connections
        assert first.count(action) == 2 and second[0] == action  # the unanswered call, sent again
        assert second[-1] == "StatusNotification"  # ... and the session went on to its end

    run(scenario(), timeout=90)


# ---------------------------------------------------------------- serve: call rate limit


def test_serve_max_call_rate_and_burst() -> None:
    async def heartbeats(port: int, count: int) -> list[Any]:
        async with connect(f"ws://127.0.0.1:{port}/RATE", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            send_at_once(ws, [f'[2,"{i}","Heartbeat",{{}}]' for i in range(count)])  # pipelined
            return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(count)]

    async def scenario() -> None:
        for args, count, expected in [
            # the first call found the server waiting for it (not pipelined: free), then the
            # burst of 3, then refusals
            (("--max-call-rate", "0.001", "--max-call-burst", "3"), 6, [3, 3, 3, 3, 4, 4]),
            (("--max-call-rate", "0", "--max-call-burst", "3"), 80, [3] * 80),  # 0: no limit
        ]:
            proc, port = await _start_serve(*args)
            try:
                answers = await heartbeats(port, count)
            finally:
                proc.terminate()
                await asyncio.wait_for(proc.communicate(), 20)
            assert [a[0] for a in answers] == expected, args
            for refused in (a for a in answers if a[0] == 4):
                assert refused[2] == "GenericError" and refused[3].startswith("Rate limited")

    run(scenario())


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--max-call-rate", "-1", "calls per second >= 0"), ("--max-call-burst", "x", "a whole number")],
)
def test_serve_bad_limits_are_refused(option: str, value: str, message: str) -> None:
    out = cli("serve", option, value)
    assert out.returncode == 2 and option in out.stderr and message in out.stderr


# ---------------------------------------------------------------- smart charging in the demo and the station


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_demo_sets_a_profile_and_the_station_reports_it(version: str) -> None:
    out = cli("demo", "--version", version, "--full-frames")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "session completed as expected" in out.stdout
    text = out.stdout
    (set_call,) = _frame_lines(text, "CALL SetChargingProfile")
    (set_result,) = _frame_lines(text, "CALLRESULT SetChargingProfile")
    assert set_result.rstrip().endswith('{"status":"Accepted"}')
    assert re.search(r"^smart charging: EVSE 1 may draw 16 A until \d\d:\d\d:\d\dZ$", text, re.M), text
    lines = text.splitlines()
    if version == "1.6":
        (result,) = _frame_lines(text, "CALLRESULT GetCompositeSchedule")
        body = json.loads(result.split("CALLRESULT GetCompositeSchedule", 1)[1])
        assert body["status"] == "Accepted" and body["connectorId"] == 1
        periods = body["chargingSchedule"]["chargingSchedulePeriod"]
        assert [(p["startPeriod"], p["limit"]) for p in periods][:1] == [(0, 16.0)]
    else:
        (got,) = _frame_lines(text, "CALLRESULT GetChargingProfiles")
        (report,) = _frame_lines(text, "CALL ReportChargingProfiles")
        assert lines.index(got) < lines.index(report)  # the answer first, then the report
        body = json.loads(report.split("CALL ReportChargingProfiles", 1)[1])
        assert body["requestId"] == 1 and body["evseId"] == 1 and body["chargingLimitSource"] == "CSO"
        sent = json.loads(set_call.split("CALL SetChargingProfile", 1)[1])["chargingProfile"]
        assert body["chargingProfile"] == [sent]  # the station reports what the CSMS set


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_simulated_station_answers_smart_charging(version: str) -> None:
    from ocppkit.adapters.demo import SmartChargingDemo

    async def scenario() -> tuple[list[str], str]:
        smart = SmartChargingDemo(version)
        csms = CSMSServer(csms_router(version, smart), versions=[version], ping_interval=None)
        await csms.start("127.0.0.1", 0)
        try:
            station = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ocppkit",
                "station",
                "--url",
                f"ws://127.0.0.1:{csms.port}/SC-CLI",
                "--version",
                version,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            problems = await smart.wait(30)
            out, _ = await asyncio.wait_for(station.communicate(), 60)
            assert station.returncode == 0, out.decode()
        finally:
            await csms.close()
        return problems, out.decode()

    problems, out = run(scenario())
    assert problems == [], out
    assert "smart charging: EVSE 1 may draw 16 A until" in out


def test_the_simulated_station_keeps_its_profiles_in_the_outbox_file(tmp_path: Path) -> None:
    from ocppkit.adapters.demo import SmartChargingDemo

    path = tmp_path / "station.sqlite"

    async def one_run() -> str:
        smart = SmartChargingDemo("2.0.1")
        csms = CSMSServer(csms_router("2.0.1", smart), versions=["2.0.1"], ping_interval=None)
        await csms.start("127.0.0.1", 0)
        try:
            station = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ocppkit",
                "station",
                "--url",
                f"ws://127.0.0.1:{csms.port}/SC-FILE",
                "--outbox",
                str(path),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            assert await smart.wait(30) == []
            out, _ = await asyncio.wait_for(station.communicate(), 60)
            assert station.returncode == 0, out.decode()
        finally:
            await csms.close()
        return out.decode()

    first = run(one_run())
    assert "from an earlier run" not in first
    second = run(one_run())  # the CSMS sets the same profile id again: replaced, still one
    assert "smart charging: 1 charging profile(s) from an earlier run" in second
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"entries", "charging_profiles"} <= tables
    assert conn.execute("SELECT id, evse_id, purpose FROM charging_profiles").fetchall() == [(1, 1, "TxDefaultProfile")]
    conn.close()


# ---------------------------------------------------------------- the demo CSMS's device-model steps


async def _demo_csms_with_bare_station(version: str, device_model: bool) -> tuple[list[str], list[str], list[str]]:
    """The demo CSMS (``csms_router``) and the demo station, whose ChargingStation has no router:
    every CSMS call is answered NotSupported. Returns the notes, the station's problems and the
    actions the CSMS called."""
    from ocppkit.adapters.demo import run_station_session
    from ocppkit.adapters.websockets import ChargingStation

    notes: list[str] = []
    actions: list[str] = []
    noted = asyncio.Event()

    def on_frame(identity: str, direction: str, data: bytes) -> None:
        frame = json.loads(data)
        if direction == "out" and frame[0] == 2:
            actions.append(frame[2])

    def note(text: str) -> None:
        notes.append(text)
        noted.set()

    router = csms_router(version, device_model=device_model, on_note=note)
    async with CSMSServer(router, ping_interval=None, on_frame=on_frame) as csms:
        await csms.start("127.0.0.1", 0)
        async with ChargingStation(
            f"ws://127.0.0.1:{csms.port}/DEMO-DM-1", versions=[version], ping_interval=None
        ) as station:
            problems = await run_station_session(station, version)
            if device_model:
                await asyncio.wait_for(noted.wait(), 10)
    return notes, problems, actions


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_the_demo_csms_notes_a_station_without_device_model_and_goes_on(version: str) -> None:
    """``csms_router(version, device_model=True)``: after the boot the CSMS asks for a base
    report; a station without a device model is noted and its session completes as before.
    (The answering station: tests/interop/test_devicemodel_csms.py, with the ocpp package.)"""
    notes, problems, actions = run(_demo_csms_with_bare_station(version, True))
    assert problems == []
    assert actions == ["GetBaseReport"]  # nothing more after the refusal
    assert notes == [
        "device model: DEMO-DM-1 answered GetBaseReport with CALLERROR NotSupported: no device model there; going on"
    ]


def test_the_demo_csms_without_device_model_calls_nothing() -> None:
    """The default (``ocppkit serve``, the benchmarks): no CSMS-initiated call after a boot."""
    notes, problems, actions = run(_demo_csms_with_bare_station("2.0.1", False))
    assert (notes, problems, actions) == ([], [], [])


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_demo_reads_the_station_device_model_and_sets_a_variable(version: str) -> None:
    out = cli("demo", "--version", version, "--full-frames")
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    (asked,) = _frame_lines(text, "CALL GetBaseReport")
    assert '"reportBase":"FullInventory"' in asked
    (answer,) = _frame_lines(text, "CALLRESULT GetBaseReport")
    parts = [json.loads(line.split("CALL NotifyReport", 1)[1]) for line in _frame_lines(text, "CALL NotifyReport")]
    assert len(parts) >= 2 and [p["seqNo"] for p in parts] == list(range(len(parts)))
    assert [p.get("tbc", False) for p in parts] == [True] * (len(parts) - 1) + [False]
    lines = text.splitlines()
    assert lines.index(answer) < lines.index(_frame_lines(text, "CALL NotifyReport")[0])  # the answer first
    reported = sum(len(p["reportData"]) for p in parts)
    assert re.search(rf"^device model: DEMO-CS-001 reported {reported} variables of \d+ components$", text, re.M), text
    (result,) = _frame_lines(text, "CALLRESULT SetVariables")
    assert '"attributeStatus":"Accepted"' in result and "HeartbeatInterval" in result
