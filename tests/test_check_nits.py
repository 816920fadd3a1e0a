"""`ocppkit check`: error codes outside the version, clock jumps, the by-kind table, and the text
logs of the `ocpp` package (mobilityhouse) recorded over a real loopback WebSocket."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from ocppkit import ErrorCode
from ocppkit.check import Options, check_files
from ocppkit.check.report import render_json, render_text
from tests.check_helpers import (
    Entry,
    Recorder,
    answer_of,
    edit,
    index_of,
    iso,
    write_jsonl,
    write_text,
)


def check(tmp_path: Path, entries: list[Entry], options: Options | None = None) -> Any:
    path = tmp_path / "log.jsonl"
    write_jsonl(entries, path)
    return check_files([str(path)], options)


def of_kind(summary: Any, kind: str) -> list[Any]:
    return [f for f in summary.findings if f.kind == kind]


BOOT = {
    "1.6": {"chargePointVendor": "V", "chargePointModel": "M"},
    "2.0.1": {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
    "2.1": {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
}


def booted(version: str) -> Recorder:
    r = Recorder(version)
    accepted = {"currentTime": iso(r.now), "interval": 300, "status": "Accepted"}
    r.station_call("BootNotification", BOOT[version], accepted)
    return r


def with_error_code(version: str, code: str) -> list[Entry]:
    """A session whose one CALLERROR carries ``code``."""
    r = booted(version)
    r.advance(1)
    r.station_call("DataTransfer", {"vendorId": "com.example"}, (ErrorCode.GENERIC_ERROR, "no"))
    i = index_of(r.entries, "DataTransfer")
    return edit(r.entries, answer_of(r.entries, i), lambda f: f.__setitem__(2, code))


# ----------------------------------------------------------------------------- error codes


@pytest.mark.parametrize(
    "version,code,expected",
    [
        ("2.0.1", "FormationViolation", "FormatViolation"),
        ("2.0.1", "OccurenceConstraintViolation", "OccurrenceConstraintViolation"),
        ("2.1", "FormationViolation", "FormatViolation"),
        ("1.6", "OccurrenceConstraintViolation", "OccurenceConstraintViolation"),
        ("1.6", "FormatViolation", "FormationViolation"),
        ("1.6", "RpcFrameworkError", "ProtocolError"),
        ("1.6", "MessageTypeNotSupported", "ProtocolError"),
        ("2.0.1", "Teapot", None),
        ("1.6", "formatViolation", None),
    ],
)
def test_error_codes_the_version_does_not_define_are_flagged(
    tmp_path: Path, version: str, code: str, expected: str | None
) -> None:
    entries = with_error_code(version, code)
    s = check(tmp_path, entries, Options(version=version))
    pos = answer_of(entries, index_of(entries, "DataTransfer")) + 1
    (f,) = of_kind(s, "error-code")
    assert (f.position, f.severity) == (pos, "error")
    assert f.details == {
        "code": code,
        "unique_id": json.loads(entries[pos - 1].text)[1],
        "frame": "CALLERROR",
        "sender": "csms",
        **({"expected": expected} if expected else {}),
    }
    assert f"not an OCPP {version} error code" in f.message
    if expected:
        assert expected in f.message
    (err,) = of_kind(s, "call-error")  # the CALLERROR itself is still reported, with the same flag
    assert err.message.endswith(f"(not an OCPP {version} error code)") and err.position == pos
    assert {x.kind for x in s.findings} == {"error-code", "call-error"}


@pytest.mark.parametrize(
    "version,codes",
    [
        ("1.6", ["FormationViolation", "OccurenceConstraintViolation", "ProtocolError", "GenericError"]),
        ("2.0.1", ["FormatViolation", "OccurrenceConstraintViolation", "RpcFrameworkError", "MessageTypeNotSupported"]),
    ],
)
def test_the_version_spelling_is_not_flagged(tmp_path: Path, version: str, codes: list[str]) -> None:
    for code in codes:
        s = check(tmp_path, with_error_code(version, code), Options(version=version))
        assert [f.kind for f in s.findings] == ["call-error"], code
        assert "not an OCPP" not in s.findings[0].message


def test_result_error_codes_are_checked_and_the_severity_can_be_changed(tmp_path: Path) -> None:
    r = booted("2.1")
    r.advance(1)
    r.station_call("Heartbeat", {}, {"currentTime": iso(r.now)})
    hb = index_of(r.entries, "Heartbeat")
    ans = answer_of(r.entries, hb)
    uid = json.loads(r.entries[ans].text)[1]
    bad = Entry(r.entries[ans].time + 0.01, "station", json.dumps([5, uid, "FormationViolation", "", {}]))
    entries = [*r.entries[: ans + 1], bad, *r.entries[ans + 1 :]]
    s = check(tmp_path, entries, Options(version="2.1"))
    (f,) = of_kind(s, "error-code")
    assert (f.position, f.details["frame"], f.details["expected"], f.details["sender"]) == (
        ans + 2,
        "CALLRESULTERROR",
        "FormatViolation",
        "station",
    )
    s = check(tmp_path, entries, Options(version="2.1", severities={"error-code": "warning"}))
    assert of_kind(s, "error-code")[0].severity == "warning"


# ----------------------------------------------------------------------------- the clock


def heartbeats(r: Recorder, n: int, every: float = 10.0) -> None:
    for _ in range(n):
        r.advance(every)
        r.station_call("Heartbeat", {}, {"currentTime": iso(r.now)})


def shifted(entries: list[Entry], start: int, by: float) -> list[Entry]:
    return [*entries[:start], *(Entry(e.time + by, e.sender, e.text) for e in entries[start:])]


def test_one_clock_jump_back_is_one_finding(tmp_path: Path) -> None:
    r = booted("2.0.1")
    heartbeats(r, 400)
    entries = r.entries
    middle = len(entries) // 2 + 1  # a call: the station's clock is set back an hour before it
    assert json.loads(entries[middle].text)[0] == 2
    s = check(tmp_path, shifted(entries, middle, -3600))
    assert [(f.kind, f.position) for f in s.findings] == [("time-backwards", middle + 1)]
    back = entries[middle - 1].time - (entries[middle].time - 3600)
    assert s.findings[0].details == {"back_s": pytest.approx(back, abs=1e-3)}
    hb = next(a for a in s.actions if a["action"] == "Heartbeat")
    assert (hb["results"], hb["unanswered"], hb["late"]) == (400, 0, 0)
    assert hb["rt_ms"]["max"] == pytest.approx(50.0, abs=0.5)
    # the report's time span is still the whole recording
    assert s.last_time == pytest.approx(entries[middle - 1].time)
    # two jumps: two findings, whatever the number of frames after them
    twice = shifted(shifted(entries, middle, -3600), middle + 200, -3600)
    assert [f.kind for f in check(tmp_path, twice).findings] == ["time-backwards"] * 2


def test_a_jump_between_a_call_and_its_answer_keeps_correlation_sane(tmp_path: Path) -> None:
    r = booted("2.0.1")
    heartbeats(r, 3)
    entries = r.entries
    last = index_of(entries, "Heartbeat", 2)
    # the answer to the last heartbeat is stamped an hour earlier than its call
    s = check(tmp_path, shifted(entries, last + 1, -3600))
    assert [(f.kind, f.position) for f in s.findings] == [("time-backwards", last + 2)]
    hb = next(a for a in s.actions if a["action"] == "Heartbeat")
    assert (hb["results"], hb["unanswered"]) == (3, 0)
    assert 0 <= hb["rt_ms"]["max"] <= 50.5  # measured from the jump: never negative, never an hour


GET_VARIABLES = (
    {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]},
    {
        "getVariableResult": [
            {
                "attributeStatus": "Accepted",
                "attributeValue": "300",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
            }
        ]
    },
)


def test_calls_outstanding_at_a_jump_time_out_on_the_new_clock(tmp_path: Path) -> None:
    """A station call never answered, then the clock goes back an hour: the call's deadline runs
    from the jump, so the station's next call 40 s later is not `concurrent-call` with it."""
    r = booted("2.0.1")
    r.advance(10)
    r.csms_call("GetVariables", *GET_VARIABLES)  # the CSMS's call and its answer, after the jump
    r.advance(40)
    r.station_call("Heartbeat", {}, {"currentTime": iso(r.now)})
    boot, after = r.entries[:2], r.entries[2:]
    t = boot[-1].time + 5
    lost = Entry(t, "station", json.dumps([2, "lost-1", "Heartbeat", {}]))  # never answered
    entries = [*boot, lost, *shifted(after, 0, -3600)]
    s = check(tmp_path, entries)
    assert [(f.kind, f.position) for f in s.findings] == [("unanswered", 3), ("time-backwards", 4)]
    assert s.findings[0].severity == "error"
    hb = next(a for a in s.actions if a["action"] == "Heartbeat")
    assert (hb["calls"], hb["results"], hb["unanswered"]) == (2, 1, 1)
    # without the jump the same frames are the same, minus the finding about the clock
    plain = [*boot, lost, *shifted(after, 0, t - after[0].time + 1)]
    assert [f.kind for f in check(tmp_path, plain).findings] == ["unanswered"]


# ----------------------------------------------------------------------------- the by-kind table


def by_kind_rows(text: str) -> list[list[str]]:
    block = text.split("BY KIND\n", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [line.split()[:3] for line in block]


def test_the_by_kind_table_shows_the_severity_the_findings_got(tmp_path: Path) -> None:
    # 1.6: a concurrent call is only a warning (SHOULD NOT); one call unanswered past its deadline
    # (error) and one the input ends right after (warning)
    r = booted("1.6")
    r.advance(1)
    r.station_call("Heartbeat", {}, {"currentTime": iso(r.now)})
    entries = r.entries
    j = index_of(entries, "Heartbeat")
    early = Entry(entries[j].time - 0.5, "station", json.dumps([2, "x-1", "Heartbeat", {}]))
    stray = Entry(entries[-1].time + 100, "station", json.dumps([2, "x-2", "Heartbeat", {}]))
    last = Entry(entries[-1].time + 200, "station", json.dumps([2, "x-3", "Heartbeat", {}]))
    s = check(tmp_path, [*entries[:j], early, *entries[j:], stray, last])
    sev = {(f.kind, f.severity) for f in s.findings}
    assert ("concurrent-call", "warning") in sev
    assert {("unanswered", "error"), ("unanswered", "warning")} <= sev
    assert s.by_kind_severity["unanswered"] == {"error": 2, "warning": 1}
    rows = by_kind_rows(render_text(s))
    assert ["warning", "concurrent-call", "1"] in rows
    assert ["error", "unanswered", "2"] in rows and ["warning", "unanswered", "1"] in rows
    assert all(r[0] != "error" or r[1] != "concurrent-call" for r in rows)
    # every finding is in the table under its own severity, and --severity moves both
    counted = {(k, sv): n for k, per in s.by_kind_severity.items() for sv, n in per.items()}
    assert sum(counted.values()) == len(s.findings)
    s = check(tmp_path, [*entries[:j], early, *entries[j:]], Options(severities={"concurrent-call": "info"}))
    assert ["info", "concurrent-call", "1"] in by_kind_rows(render_text(s))
    doc = json.loads(render_json(s))
    assert doc["by_kind_severity"]["concurrent-call"] == {"info": 1}


def test_wire_text_never_reaches_the_terminal_raw(tmp_path: Path) -> None:
    r = booted("2.0.1")
    r.advance(1)
    r.station_call("DataTransfer", {"vendorId": "com.example"}, (ErrorCode.GENERIC_ERROR, "bad\x1b[2J\nnews"))
    s = check(tmp_path, r.entries)
    text = render_text(s)
    assert "\x1b" not in text and "bad\\x1b[2J\\nnews" in text


# ----------------------------------------------------------------------------- the ocpp package's logs


async def _ocpp_package_session(log: Path, fmt: str) -> None:
    """The ocpp package on both sides of a real loopback WebSocket; its CSMS side logs to ``log``."""
    from ocpp.routing import on
    from ocpp.v16 import ChargePoint, call, call_result
    from ocpp.v16.enums import Action, RegistrationStatus
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    def now() -> str:
        return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")

    class Csms(ChargePoint):  # type: ignore[misc]
        @on(Action.boot_notification)
        def on_boot(self, **kwargs: Any) -> Any:
            return call_result.BootNotification(current_time=now(), interval=300, status=RegistrationStatus.accepted)

        @on(Action.heartbeat)
        def on_heartbeat(self, **kwargs: Any) -> Any:
            return call_result.Heartbeat(current_time=now())

    class Station(ChargePoint):  # type: ignore[misc]
        @on(Action.get_local_list_version)
        def on_version(self, **kwargs: Any) -> Any:
            return call_result.GetLocalListVersion(list_version=3)

    logger = logging.getLogger("ocpp")
    handler = logging.FileHandler(log)
    handler.setFormatter(logging.Formatter(fmt))
    old = (logger.level, logger.propagate)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(handler)
    quiet = logging.getLogger("tests.quiet-station")
    quiet.setLevel(logging.WARNING)
    csms_ready: asyncio.Queue[Any] = asyncio.Queue()

    async def serve_one(ws: Any) -> None:
        cp = Csms(ws.request.path.rsplit("/", 1)[-1], ws)  # logs to the "ocpp" logger
        csms_ready.put_nowait(cp)
        try:
            await cp.start()
        except Exception:  # noqa: BLE001 - the station closed the connection
            pass

    try:
        async with serve(serve_one, "127.0.0.1", 0, subprotocols=["ocpp1.6"], ping_interval=None) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}/CP_1", subprotocols=["ocpp1.6"]) as ws:
                station = Station("CP_1", ws, logger=quiet)
                task = asyncio.ensure_future(station.start())
                await station.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
                await station.call(call.Heartbeat())
                csms = await asyncio.wait_for(csms_ready.get(), 10)
                await csms.call(call.GetLocalListVersion())
                task.cancel()
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(old[0])
        logger.propagate = old[1]


@pytest.mark.parametrize(
    "fmt",
    [logging.BASIC_FORMAT, "%(asctime)s %(levelname)s %(name)s %(message)s", "%(asctime)s - %(name)s - %(message)s"],
)
def test_text_logs_of_the_ocpp_package_give_the_station(tmp_path: Path, fmt: str) -> None:
    log = tmp_path / "csms.log"
    asyncio.run(asyncio.wait_for(_ocpp_package_session(log, fmt), 30))
    lines = log.read_text().splitlines()
    assert any(": receive message [2," in line for line in lines) and any(": send [3," in line for line in lines)
    if fmt == logging.BASIC_FORMAT:
        assert lines[0].startswith("INFO:ocpp:CP_1: receive message [2,")
    s = check_files([str(log)], Options(version="1.6"))
    assert s.findings == [] and s.frames == 6 and list(s.stations) == ["CP_1"]
    assert s.files[0]["recorded_by"] == "csms (received BootNotification at line 1)"
    rows = {(a["sender"], a["action"]): a["results"] for a in s.actions}
    assert rows == {("station", "BootNotification"): 1, ("station", "Heartbeat"): 1, ("csms", "GetLocalListVersion"): 1}
    if "asctime" in fmt:
        assert s.first_time is not None and s.last_time is not None and s.last_time >= s.first_time


def test_ocpp_package_lines_written_by_hand(tmp_path: Path) -> None:
    """The same format with several stations in one log, and a station id with dots and dashes."""
    r = booted("2.0.1")
    r.advance(1)
    r.station_call("Heartbeat", {}, {"currentTime": iso(r.now)})
    path = tmp_path / "multi.log"
    with open(path, "w") as f:
        for station in ("CS-1.a", "CS_2"):
            for e in r.entries:
                verb = "receive message" if e.sender == "station" else "send"
                f.write(f"INFO:ocpp:{station}: {verb} {e.text}\n")
    s = check_files([str(path)], Options(version="2.0.1"))
    assert s.findings == [] and sorted(s.stations) == ["CS-1.a", "CS_2"]
    # other text logs are read as before
    plain = tmp_path / "plain.log"
    write_text(r.entries, plain, station="CS9")
    assert list(check_files([str(plain)]).stations) == ["CS9"]
