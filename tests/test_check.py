"""`ocppkit check`: every input format and every finding, on sessions recorded from two real
``ocppkit.Connection`` objects (tests/check_helpers.py), with faults injected at known places."""

from __future__ import annotations

import argparse
import copy
import functools
import gzip
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ocppkit import ErrorCode
from ocppkit.check import Options, check_files
from ocppkit.check.analyze import Analyzer, Finding
from ocppkit.check.cli import add_parser, parse_policy, run
from ocppkit.check.inputs import detect_format, direction_code, open_source, parse_time, version_from_text
from ocppkit.check.report import Progress, render_text
from ocppkit.check.stats import Stats, fold, percentile
from tests.check_helpers import (
    EPOCH,
    Entry,
    PcapPlan,
    PcapWriter,
    Recorder,
    answer_of,
    edit,
    frame,
    index_of,
    iso,
    session_16,
    session_21,
    session_201,
    with_frame,
    write_jsonl,
    write_pcap,
    write_text,
    ws_frame,
)

# ----------------------------------------------------------------------------- helpers


@functools.cache
def _session(version: str) -> tuple[Entry, ...]:
    return tuple({"1.6": session_16, "2.0.1": session_201, "2.1": session_21}[version]())


def s201() -> list[Entry]:
    return list(_session("2.0.1"))


def check(tmp_path: Path, entries: list[Entry], fmt: str = "jsonl", options: Options | None = None, **kw: Any) -> Any:
    path = tmp_path / f"log.{fmt}"
    {"jsonl": write_jsonl, "log": write_text, "pcap": write_pcap}[fmt](entries, path, **kw)
    return check_files([str(path)], options)


def kinds(summary: Any) -> list[tuple[str, int]]:
    return [(f.kind, f.position) for f in summary.findings]


def one(summary: Any, kind: str) -> Finding:
    found = [f for f in summary.findings if f.kind == kind]
    assert len(found) == 1, summary.findings
    return found[0]


def cli(*argv: str, capsys: Any = None) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="ocppkit")
    add_parser(parser.add_subparsers(dest="command", required=True))
    code = run(parser.parse_args(["check", *argv]))
    out = capsys.readouterr().out if capsys is not None else ""
    return code, out


# ----------------------------------------------------------------------------- clean sessions


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_clean_session_has_no_finding_and_version_is_guessed(tmp_path: Path, version: str) -> None:
    entries = list(_session(version))
    s = check(tmp_path, entries)
    assert s.findings == [] and s.frames == len(entries)
    (station,) = s.stations.values()
    assert station["versions"][0].startswith(f"{version} (guessed")
    assert station["frames"] == len(entries)
    calls = sum(a["calls"] for a in s.actions)
    assert calls == sum(1 for e in entries if frame(e)[0] in (2, 6))
    assert all(a["error_rate"] == 0 for a in s.actions)
    assert s.files[0]["recorded_by"].startswith("csms (received BootNotification at line 1)")


def test_statistics_per_station_and_action(tmp_path: Path) -> None:
    s = check(tmp_path, s201())
    rows = {(a["sender"], a["action"]): a for a in s.actions}
    hb = rows[("station", "Heartbeat")]
    assert (hb["calls"], hb["results"], hb["errors"], hb["unanswered"]) == (2, 2, 0, 0)
    assert hb["rt_ms"]["n"] == 2 and hb["rt_ms"]["max"] == pytest.approx(30.0)
    assert 19 <= hb["rt_ms"]["p50"] <= 21 and hb["rt_ms"]["p99"] == pytest.approx(30.0, rel=0.05)
    assert rows[("csms", "GetVariables")]["rt_ms"]["p50"] == pytest.approx(80.0, rel=0.05)
    assert rows[("station", "TransactionEvent")]["calls"] == 2
    assert s.first_time == pytest.approx(EPOCH) and s.stations["CS001"]["calls"] == 8


def test_percentile_histogram_is_within_five_percent() -> None:
    s = Stats()
    for v in range(1, 1001):  # 1..1000 ms, folded into the histogram as the checker does
        s.time(v / 1000)
    fold(s)
    assert sum(s.hist.values()) == 1000 and s.rt_max == pytest.approx(1000.0)
    for q, exact in ((0.5, 500), (0.9, 900), (0.99, 990)):
        assert percentile(s.hist, q) == pytest.approx(exact, rel=0.05)


# ----------------------------------------------------------------------------- injected faults


def test_dropped_response_is_unanswered_at_the_call_line(tmp_path: Path) -> None:
    e = s201()
    call = index_of(e, "Heartbeat", 0)
    del e[answer_of(e, call)]
    s = check(tmp_path, e)
    f = one(s, "unanswered")
    assert (f.position, f.severity, f.station) == (call + 1, "error", "CS001")
    assert f.details["action"] == "Heartbeat" and f.time == pytest.approx(e[call].time)
    assert "no answer within 30 s" in f.message
    assert len(s.findings) == 1
    row = next(a for a in s.actions if a["action"] == "Heartbeat")
    assert row["unanswered"] == 1 and row["error_rate"] == 0.5


def test_call_at_the_very_end_without_answer_is_a_warning(tmp_path: Path) -> None:
    e = s201()[:-1]  # the last call's answer is cut off by the end of the recording
    f = one(check(tmp_path, e), "unanswered")
    assert (f.position, f.severity) == (len(e), "warning")
    assert "end of the input" in f.message


def test_corrupted_request_payload_is_a_schema_finding_with_code_and_path(tmp_path: Path) -> None:
    e = s201()
    i = index_of(e, "StatusNotification")
    e = edit(e, i, lambda f: f[3].update(connectorStatus="Charging"))
    s = check(tmp_path, e)
    f = one(s, "schema")
    assert f.position == i + 1 and f.severity == "error"
    assert f.details == {
        "action": "StatusNotification",
        "message": "request",
        "code": "PropertyConstraintViolation",
        "path": "$.connectorStatus",
        "rule": "enum",
        "unique_id": frame(e[i])[1],
    }
    acc = one(s, "accepted-invalid")  # the CSMS answered it with a CALLRESULT instead of a CALLERROR
    assert acc.position == answer_of(e, i) + 1 and acc.severity == "warning"
    assert sorted(kinds(s)) == sorted([("schema", i + 1), ("accepted-invalid", i + 2)])


def test_corrupted_response_payload_is_validated_against_the_calls_action(tmp_path: Path) -> None:
    e = s201()
    i = index_of(e, "TransactionEvent")
    j = answer_of(e, i)
    e = edit(e, j, lambda f: f[2]["idTokenInfo"].update(status="Maybe"))
    e = edit(e, answer_of(e, 0), lambda f: f[2].update(interval="300"))  # boot response: wrong type
    s = check(tmp_path, e)
    got = {(f.position, f.details["code"], f.details["path"], f.details["message"]) for f in s.findings}
    assert got == {
        (j + 1, "PropertyConstraintViolation", "$.idTokenInfo.status", "response"),
        (2, "TypeConstraintViolation", "$.interval", "response"),
    }
    # the boot still counts as Accepted (status read from the invalid response): no before-boot cascade
    assert all(f.kind == "schema" for f in s.findings)
    row = next(a for a in s.actions if a["action"] == "TransactionEvent")
    assert row["invalid"] == 1 and row["error_rate"] == 0.5


def test_reused_and_duplicated_ids(tmp_path: Path) -> None:
    e = s201()
    first, second = index_of(e, "Heartbeat", 0), index_of(e, "Heartbeat", 1)
    old = frame(e[first])[1]
    ans = answer_of(e, second)
    e = edit(e, second, lambda f: f.__setitem__(1, old))
    e = edit(e, ans, lambda f: f.__setitem__(1, old))
    f = one(check(tmp_path, e), "reused-id")
    assert (f.position, f.severity, f.details["first_answer"]) == (second + 1, "warning", first + 2)

    e = s201()
    i = index_of(e, "MeterValues")
    e.insert(i + 1, e[i])  # the same CALL twice: the id of a call still outstanding
    s = check(tmp_path, e)
    assert kinds(s) == [("duplicate-id", i + 2)] and s.findings[0].severity == "error"


def test_answer_before_its_call_is_out_of_order(tmp_path: Path) -> None:
    e = s201()
    i = index_of(e, "MeterValues")
    e[i], e[i + 1] = e[i + 1], e[i]
    s = check(tmp_path, e)
    assert sorted(kinds(s)) == [("out-of-order", i + 1), ("time-backwards", i + 2)]
    f = one(s, "out-of-order")
    assert f.details["call_position"] == i + 2 and f.severity == "error"
    assert one(s, "time-backwards").severity == "info"
    row = next(a for a in s.actions if a["action"] == "MeterValues")
    assert (row["results"], row["unanswered"]) == (1, 0)


def test_unknown_id_and_duplicate_result(tmp_path: Path) -> None:
    e = s201()
    hb = index_of(e, "Heartbeat")
    stray = with_frame(e[hb + 1], [3, "no-such-call", {"currentTime": iso(e[hb + 1].time)}])
    e.insert(hb + 2, stray)
    e.insert(hb + 3, e[hb + 1])  # the same answer delivered twice
    s = check(tmp_path, e)
    assert kinds(s) == [("unknown-id", hb + 3), ("duplicate-result", hb + 4)]
    assert s.findings[0].details["sender"] == "csms" and s.findings[0].severity == "warning"
    assert s.findings[1].details["first_answer"] == hb + 2


def test_late_result(tmp_path: Path) -> None:
    e = s201()
    i = index_of(e, "Heartbeat")
    e[i + 1] = Entry(e[i].time + 40, e[i + 1].sender, e[i + 1].text)
    s = check(tmp_path, e)
    f = one(s, "late-result")
    assert (f.position, f.severity, f.details["delay_s"]) == (i + 2, "warning", pytest.approx(40.0))
    assert len(s.findings) == 1
    assert next(a for a in s.actions if a["action"] == "Heartbeat")["late"] == 1
    # with a longer timeout the same answer is in time
    assert check(tmp_path, e, options=Options(timeout=60)).findings == []


def test_two_outstanding_calls_from_one_side(tmp_path: Path) -> None:
    e = s201()
    i = index_of(e, "MeterValues")  # station call at i, answer at i+1; next station call at i+2
    e[i + 1], e[i + 2] = e[i + 2], e[i + 1]  # the next call goes out before MeterValues is answered
    e[i + 1], e[i + 2] = (
        Entry(e[i].time + 0.01, e[i + 1].sender, e[i + 1].text),
        Entry(e[i].time + 0.02, e[i + 2].sender, e[i + 2].text),
    )
    s = check(tmp_path, e)
    f = one(s, "concurrent-call")
    assert (f.position, f.severity) == (i + 2, "error")
    assert f.details["outstanding_position"] == i + 1
    # OCPP 1.6 only says SHOULD NOT: a warning there
    e16 = list(_session("1.6"))
    j = index_of(e16, "StartTransaction")
    e16[j + 1], e16[j + 2] = e16[j + 2], e16[j + 1]
    e16[j + 1], e16[j + 2] = (
        Entry(e16[j].time + 0.01, e16[j + 1].sender, e16[j + 1].text),
        Entry(e16[j].time + 0.02, e16[j + 2].sender, e16[j + 2].text),
    )
    assert one(check(tmp_path, e16), "concurrent-call").severity == "warning"


def test_call_errors_sent_by_either_side(tmp_path: Path) -> None:
    r = Recorder("2.0.1")
    r.station_call(
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
        {"currentTime": iso(r.now), "interval": 300, "status": "Accepted"},
    )
    r.station_call("DataTransfer", {"vendorId": "com.example"}, (ErrorCode.NOT_SUPPORTED, "no vendor extensions"))
    r.csms_call("Reset", {"type": "Immediate"}, (ErrorCode.INTERNAL_ERROR, "relay stuck"))
    s = check(tmp_path, r.entries)
    errs = [f for f in s.findings if f.kind == "call-error"]
    assert [(f.position, f.details["code"], f.details["sender"], f.details["action"]) for f in errs] == [
        (4, "NotSupported", "csms", "DataTransfer"),
        (6, "InternalError", "station", "Reset"),
    ]
    assert (
        errs[0].message == "csms answered the DataTransfer call at line 3 with CALLERROR NotSupported: "
        "no vendor extensions"
    )
    assert all(f.severity == "warning" for f in errs) and len(s.findings) == 2
    row = next(a for a in s.actions if a["action"] == "Reset")
    assert (row["sender"], row["errors"], row["error_rate"]) == ("csms", 1, 1.0)


def test_messages_before_an_accepted_boot(tmp_path: Path) -> None:
    r = Recorder("2.0.1", boot_gating=True)
    r.station_call(
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
        {"currentTime": iso(r.now), "interval": 10, "status": "Pending"},
    )
    r.advance(1)
    r.station_call("Heartbeat", {}, {"currentTime": iso(r.now)})  # allowed while Pending
    r.advance(1)
    r.station_call(
        "MeterValues", {"evseId": 1, "meterValue": [{"timestamp": iso(r.now), "sampledValue": [{"value": 1.0}]}]}, {}
    )  # not allowed: the gating CSMS answers SecurityError
    s = check(tmp_path, r.entries)
    assert kinds(s) == [("before-boot", 5), ("call-error", 6)]
    assert s.findings[0].message == "station sent MeterValues while its boot is Pending"
    assert s.findings[1].details["code"] == "SecurityError"

    r = Recorder("2.0.1")
    r.station_call(
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
        {"currentTime": iso(r.now), "interval": 10, "status": "Rejected"},
    )
    r.advance(1)
    r.pair.csms._boot = "ACCEPTED"  # let the CSMS break the rule it would otherwise refuse
    r.csms_call(
        "GetVariables",
        {"getVariableData": [{"component": {"name": "C"}, "variable": {"name": "V"}}]},
        {"getVariableResult": [{"attributeStatus": "Accepted", "component": {"name": "C"}, "variable": {"name": "V"}}]},
    )
    f = one(check(tmp_path, r.entries), "before-boot")
    assert f.position == 3 and f.message == "CSMS sent GetVariables to a station whose boot it Rejected"


def test_heartbeat_before_the_boot_answer(tmp_path: Path) -> None:
    e = s201()
    boot_answer = answer_of(e, 0)
    hb = index_of(e, "Heartbeat")
    moved = Entry(e[0].time + 0.01, "station", e[hb].text)
    answer = Entry(e[0].time + 0.02, "csms", e[hb + 1].text)
    e = [e[0], moved, answer] + [x for k, x in enumerate(e[1:], 1) if k not in (hb, hb + 1)]
    s = check(tmp_path, e)
    assert (boot_answer, sorted(kinds(s))) == (1, [("before-boot", 2), ("concurrent-call", 2)])


def test_send_answered_and_callresulterror_in_21(tmp_path: Path) -> None:
    e = list(_session("2.1"))
    i = next(k for k, x in enumerate(e) if frame(x)[0] == 6)
    uid = frame(e[i])[1]
    e.insert(i + 1, Entry(e[i].time + 0.01, "csms", json.dumps([3, uid, {}])))
    hb = index_of(e, "Heartbeat")
    e.insert(
        hb + 2,
        Entry(
            e[hb + 1].time + 0.01,
            "station",
            json.dumps([5, frame(e[hb])[1], "FormatViolation", "currentTime unreadable", {}]),
        ),
    )
    s = check(tmp_path, e)
    assert kinds(s) == [("result-error", hb + 3), ("send-answered", i + 3)]
    assert s.findings[1].details["send_position"] == i + 2
    assert s.findings[0].message == (
        "station could not process a CALLRESULT for the result at line "
        f"{hb + 2}: CALLRESULTERROR FormatViolation: currentTime unreadable"
    )


def test_malformed_frames_unknown_actions_and_wrong_direction(tmp_path: Path) -> None:
    e = s201()
    t = e[-1].time
    e += [
        Entry(t + 1, "station", '[2,"m1","Heartbeat"]'),  # 3 elements
        Entry(t + 1.1, "csms", '[4,"m1","RpcFrameworkError","A CALL is [2, id, action, payload]",{}]'),
        Entry(t + 2, "station", '[2,"m2","Heartbeat",{}'),  # truncated: no id can be read
        Entry(t + 3, "station", '[2,"m3","FooBar",{}]'),  # unknown action
        Entry(t + 4, "csms", '[4,"m3","NotImplemented","Unknown action",{}]'),
        Entry(t + 5, "csms", '[2,"c9","Heartbeat",{}]'),  # the CSMS does not send Heartbeat
        Entry(t + 6, "station", '[3,"c9",{"currentTime":"2030-01-01T00:00:00Z"}]'),
    ]
    n = len(e) - 7
    s = check(tmp_path, e)
    got = [(f.kind, f.position, f.details.get("code")) for f in s.findings]
    assert got == [
        ("malformed", n + 1, "RpcFrameworkError"),
        ("call-error", n + 2, "RpcFrameworkError"),
        ("malformed", n + 3, "RpcFrameworkError"),
        ("unknown-action", n + 4, "NotImplemented"),
        ("call-error", n + 5, "NotImplemented"),
        ("wrong-direction", n + 6, None),
    ]
    assert s.findings[0].details["reply"].startswith('[4,"m1","RpcFrameworkError"')
    assert s.findings[2].details["reply"].startswith('[4,"-1","RpcFrameworkError"')
    assert s.findings[1].details["action"] == "Heartbeat"


def test_policy_relaxes_and_reports_relaxations(tmp_path: Path) -> None:
    e = s201()
    i = index_of(e, "StatusNotification")
    e = edit(e, i, lambda f: f[3].update(vendorNote="x"))
    assert kinds(check(tmp_path, e))[0] == ("schema", i + 1)
    s = check(tmp_path, e, options=Options(policy=parse_policy(["unknown_properties=drop"])))
    f = one(s, "relaxed")
    assert (f.position, f.severity) == (i + 1, "info")
    assert f.details["relaxations"] == [{"path": "$.vendorNote", "rule": "additionalProperties", "action": "dropped"}]
    scoped = parse_policy(["unknown_properties=drop@StatusNotification"])
    assert one(check(tmp_path, e, options=Options(policy=scoped)), "relaxed").position == i + 1
    with pytest.raises(ValueError):
        parse_policy(["unknown_properties"])


def test_version_option_overrides_the_guess(tmp_path: Path) -> None:
    s = check(tmp_path, list(_session("1.6")), options=Options(version="2.0.1"))
    assert s.stations["CS001"]["versions"] == ["2.0.1 (given)"]
    assert {f.kind for f in s.findings} >= {"schema"}  # 1.6 payloads break the 2.0.1 schemas


# ----------------------------------------------------------------------------- JSON Lines variants


def test_jsonl_variants_give_the_same_findings(tmp_path: Path) -> None:
    e = s201()
    call = index_of(e, "Heartbeat", 0)
    del e[answer_of(e, call)]
    expected = [("unanswered", call + 1)]
    for kw in ({}, {"style": "epoch"}, {"style": "absolute"}, {"embed": True}, {"version": "2.0.1"}):
        s = check(tmp_path, e, **kw)
        assert kinds(s) == expected, kw
    s = check(tmp_path, e, version="2.0.1")
    assert s.stations["CS001"]["versions"] == ["2.0.1 (from the log)"]
    assert s.files[0]["keys"] == {
        "frame": "message",
        "time": "timestamp",
        "direction": "direction",
        "station": "chargePointId",
        "version": "protocol",
    }


def test_jsonl_several_stations_are_kept_apart(tmp_path: Path) -> None:
    a = s201()
    b = [Entry(x.time + 0.003, x.sender, x.text) for x in s201()]
    del b[answer_of(b, index_of(b, "MeterValues"))]
    path = tmp_path / "two.jsonl"
    with open(path, "w") as f:
        rows = [(x.time, "A", x) for x in a] + [(x.time, "B", x) for x in b]
        for t, st, x in sorted(rows, key=lambda r: r[0]):
            f.write(
                json.dumps(
                    {"ts": iso(t), "dir": "in" if x.sender == "station" else "out", "station": st, "frame": x.text}
                )
                + "\n"
            )
    s = check_files([str(path)])
    assert [(f.kind, f.station) for f in s.findings] == [("unanswered", "B")]
    line = 2 * index_of(b, "MeterValues") + 2  # A's and B's lines interleave
    assert s.findings[0].position == line
    assert set(s.stations) == {"A", "B"} and s.stations["A"]["calls"] == 8


def test_jsonl_unreadable_lines_and_records_without_frames(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    e = s201()
    write_jsonl(e, path)
    lines = path.read_text().splitlines()
    lines.insert(3, '{"timestamp": "2030-01-01T08:00:01Z", "event": "connected"}')
    lines.insert(5, "this is not json")
    path.write_text("\n".join(lines) + "\n")
    s = check_files([str(path)])
    assert kinds(s) == [("unreadable-line", 6)]
    assert s.files[0]["skipped"] == 2 and s.frames == len(e)


def test_gzip_and_stdin_style_inputs(tmp_path: Path) -> None:
    e = s201()
    plain = tmp_path / "x.jsonl"
    write_jsonl(e, plain)
    gz = tmp_path / "x.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert detect_format(str(gz)) == "jsonl"
    s = check_files([str(gz)])
    assert s.frames == len(e) and s.findings == [] and "x" in s.stations or "CS001" in s.stations


# ----------------------------------------------------------------------------- text logs


@pytest.mark.parametrize(
    "markers", [("<<", ">>"), ("RX", "TX"), ("recv", "send"), ("<-", "->"), ("received:", "sent:")]
)
@pytest.mark.parametrize("recorder", ["csms", "station"])
def test_text_log_markers(tmp_path: Path, markers: tuple[str, str], recorder: str) -> None:
    e = s201()
    call = index_of(e, "TransactionEvent", 1)
    del e[answer_of(e, call)]
    path = tmp_path / "x.log"
    write_text(e, path, markers=markers, recorder=recorder, preamble=["starting", "listening on :9000"])
    s = check_files([str(path)])
    assert kinds(s) == [("unanswered", call + 3)]
    assert s.files[0]["recorded_by"].startswith(recorder)
    assert s.files[0]["skipped"] == 2
    assert s.findings[0].station == "x" and s.findings[0].time == pytest.approx(e[call].time, abs=1e-3)


def test_text_log_without_markers_infers_sides_from_actions(tmp_path: Path) -> None:
    e = s201()
    path = tmp_path / "plain.log"
    path.write_text("".join(f"{x.text}\n" for x in e))
    s = check_files([str(path)], Options(default_station="CS7"))
    assert s.findings == [] and s.stations["CS7"]["calls"] == 8
    rows = {(a["sender"], a["action"]) for a in s.actions}
    assert ("csms", "GetVariables") in rows and ("station", "Heartbeat") in rows
    e2 = e[:]
    del e2[answer_of(e2, index_of(e2, "GetVariables"))]
    path.write_text("".join(f"station=CS8 {x.text}\n" for x in e2))
    s = check_files([str(path)])
    f = one(s, "unanswered")
    assert f.station == "CS8" and f.details["sender"] == "csms" and f.severity == "warning"  # no time: no deadline


def test_text_log_timestamps_and_epochs() -> None:
    assert parse_time("2030-01-01T08:00:00Z") == EPOCH
    assert parse_time("2030-01-01 09:00:00,500+01:00") == EPOCH + 0.5
    assert parse_time("2030-01-01T08:00:00") == EPOCH  # no offset: UTC
    assert parse_time(EPOCH * 1000) == EPOCH and parse_time(str(EPOCH)) == EPOCH
    assert parse_time("yesterday") is None
    assert direction_code("Station->CSMS") == 0 and direction_code("RX") == 2 and direction_code("??") == 4
    assert version_from_text("ocpp2.0.1") == "2.0.1" and version_from_text("OCPP 1.6J") == "1.6"


# ----------------------------------------------------------------------------- pcap


def _pcap_libs() -> None:
    pytest.importorskip("dpkt", reason="the pcap extra (dpkt, wsproto) is not installed")
    pytest.importorskip("wsproto", reason="the pcap extra (dpkt, wsproto) is not installed")


def test_pcap_clean_session_station_and_version_from_the_handshake(tmp_path: Path) -> None:
    _pcap_libs()
    e = s201()
    path = tmp_path / "s.pcap"
    write_pcap(e, path)
    assert detect_format(str(path)) == "pcap"
    s = check_files([str(path)])
    assert s.findings == [] and s.frames == len(e)
    assert s.stations["CS001"]["versions"] == ["2.0.1 (negotiated)"]
    assert s.files[0]["tcp_streams"] == 1 and s.files[0]["unit"] == "packet"


@pytest.mark.parametrize("ng", [False, True])
@pytest.mark.parametrize("deflate", [False, True])
def test_pcap_fragmented_split_reordered_and_retransmitted(tmp_path: Path, ng: bool, deflate: bool) -> None:
    _pcap_libs()
    e = s201()
    i = index_of(e, "StatusNotification")
    e = edit(e, i, lambda f: f[3].update(evseId=-1, connectorStatus="Nope"))
    plan = PcapPlan(fragment=[0, 1, i, 6], split=[2, i, 7], reorder=[4], retransmit=[3, 8], deflate=deflate)
    path = tmp_path / ("s.pcapng" if ng else "s.pcap")
    positions = write_pcap(e, path, plan, ng=ng)
    s = check_files([str(path)])
    assert s.frames == len(e)
    assert kinds(s) == [("schema", positions[i]), ("accepted-invalid", positions[i + 1])]
    assert s.findings[0].details["path"] == "$.connectorStatus" and s.findings[0].unit == "packet"


def test_pcap_faults_have_packet_positions(tmp_path: Path) -> None:
    _pcap_libs()
    e = s201()
    hb = index_of(e, "Heartbeat")
    del e[answer_of(e, hb)]
    mv = index_of(e, "MeterValues")
    e[mv], e[mv + 1] = e[mv + 1], Entry(e[mv + 1].time + 0.001, e[mv].sender, e[mv].text)
    path = tmp_path / "f.pcap"
    positions = write_pcap(e, path)
    s = check_files([str(path)])
    assert kinds(s) == [("unanswered", positions[hb]), ("out-of-order", positions[mv])]


def test_pcap_several_stations_in_one_capture(tmp_path: Path) -> None:
    _pcap_libs()
    path = tmp_path / "multi.pcap"
    w = PcapWriter(path)
    a = s201()
    b = list(_session("1.6"))
    del b[answer_of(b, index_of(b, "Heartbeat"))]
    write_pcap(a, path, PcapPlan(path="/ocpp/CS%7C001"), writer=w)
    pb = write_pcap(
        b, path, PcapPlan(path="/ocpp/cp-16", chosen="ocpp1.6", offered="ocpp1.6", client=("10.0.0.3", 40000)), writer=w
    )
    w.close()
    s = check_files([str(path)])
    assert set(s.stations) == {"CS|001", "cp-16"}
    assert s.stations["cp-16"]["versions"] == ["1.6 (negotiated)"]
    f = one(s, "unanswered")
    assert (f.station, f.position) == ("cp-16", pb[index_of(b, "Heartbeat")])
    assert s.files[0]["tcp_streams"] == 2


def test_pcap_handshake_problems(tmp_path: Path) -> None:
    _pcap_libs()
    e = s201()
    path = tmp_path / "h.pcap"
    write_pcap(e, path, PcapPlan(chosen=None))
    s = check_files([str(path)])
    f = one(s, "handshake")
    assert f.position == 5 and "without choosing an OCPP subprotocol" in f.message
    assert s.stations["CS001"]["versions"][0].startswith("2.0.1 (guessed")
    write_pcap(e, path, PcapPlan(status=404))
    s = check_files([str(path)])
    assert kinds(s) == [("handshake", 5)] and s.frames == 0
    write_pcap(e, path, PcapPlan(handshake=False))
    s = check_files([str(path)])
    assert s.findings == [] and list(s.stations) == ["10.0.0.2:50322"]


def test_pcap_binary_unmasked_and_truncated(tmp_path: Path) -> None:
    _pcap_libs()
    import dpkt

    from tests.check_helpers import CLIENT, SERVER

    path = tmp_path / "v.pcap"
    w = PcapWriter(path)
    A = dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH
    S = dpkt.tcp.TH_SYN
    w.packet(EPOCH, CLIENT, SERVER, 99, 0, S)
    w.packet(EPOCH, SERVER, CLIENT, 499, 100, S | dpkt.tcp.TH_ACK)
    req = (
        b"GET /ocpp/CSX HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
    )
    w.packet(EPOCH, CLIENT, SERVER, 100, 500, A, req)
    resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
    w.packet(EPOCH, SERVER, CLIENT, 500, 100 + len(req), A, resp)
    cseq, sseq = 100 + len(req), 500 + len(resp)
    hb = ws_frame(b'[2,"1","Heartbeat",{}]', mask=b"\x01\x02\x03\x04")
    n1 = w.packet(EPOCH + 1, CLIENT, SERVER, cseq, sseq, A, hb)
    cseq += len(hb)
    binary = ws_frame(b"\x00\x01", opcode=2)
    n2 = w.packet(EPOCH + 1.1, SERVER, CLIENT, sseq, cseq, A, binary)
    sseq += len(binary)
    unmasked = ws_frame(b'[2,"2","Heartbeat",{}]')
    n3 = w.packet(EPOCH + 2, CLIENT, SERVER, cseq, sseq, A, unmasked)
    w.close()
    s = check_files([str(path)])
    got = [(f.kind, f.position) for f in s.findings]
    assert got == [("unanswered", n1), ("binary-message", n2), ("websocket-error", n3)]
    assert "unmasked" in s.findings[2].message and s.findings[2].details["side"] == "station"
    # a capture cut short by its snap length
    short = tmp_path / "short.pcap"
    w = PcapWriter(short)
    write_pcap(s201()[:2], short, writer=w)
    w.close()
    data = bytearray(short.read_bytes())
    import struct as _s

    # shrink the captured length of packet 6 (the BootNotification) by 10 bytes, keeping its wire length
    off = 24
    for _k in range(5):
        incl = _s.unpack_from("<I", data, off + 8)[0]
        off += 16 + incl
    incl = _s.unpack_from("<I", data, off + 8)[0]
    _s.pack_into("<I", data, off + 8, incl - 10)
    del data[off + 16 + incl - 10 : off + 16 + incl]
    short.write_bytes(bytes(data))
    s = check_files([str(short)])
    assert kinds(s)[0] == ("capture-gap", 6)


# ----------------------------------------------------------------------------- tshark


def test_tshark_reads_the_written_capture_the_same_way(tmp_path: Path) -> None:
    _pcap_libs()
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed (Debian package 'tshark'): cross-check with Wireshark skipped")
    e = s201()
    path = tmp_path / "x.pcapng"
    positions = write_pcap(e, path, PcapPlan(fragment=[1, 5], split=[2, 9], retransmit=[3]), ng=True)
    out = subprocess.run(
        [tshark, "-r", str(path), "-Y", "websocket", "-T", "fields", "-e", "frame.number"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    numbers = [int(x) for x in out.stdout.split()]
    assert numbers == positions, out.stderr


def _ws_session_over_loopback(port: int, station: str) -> list[str]:
    """A real WebSocket session over loopback sockets: wsproto on both ends, two ocppkit
    Connections speaking OCPP 2.0.1; returns the frames the station sent."""
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

    import ocppkit
    from ocppkit import v201

    srv = socket.create_server(("127.0.0.1", port))
    done = threading.Event()

    def serve() -> None:
        conn, _ = srv.accept()
        ws = WSConnection(ConnectionType.SERVER)
        csms = ocppkit.Connection("csms", "2.0.1", clock=time.monotonic)
        with conn:
            while not done.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                ws.receive_data(data)
                for ev in ws.events():
                    if isinstance(ev, Request):
                        conn.sendall(ws.send(AcceptConnection(subprotocol="ocpp2.0.1")))
                    elif isinstance(ev, TextMessage):
                        csms.receive_data(ev.data)
                        for oe in csms.events():
                            if isinstance(oe, ocppkit.CallReceived):
                                resp = {
                                    "BootNotification": v201.BootNotificationResponse(
                                        current_time=__import__("datetime").datetime.now(
                                            __import__("datetime").timezone.utc
                                        ),
                                        interval=300,
                                        status=v201.RegistrationStatusEnumType.ACCEPTED,
                                    ),
                                    "Heartbeat": v201.HeartbeatResponse(
                                        current_time=__import__("datetime").datetime.now(
                                            __import__("datetime").timezone.utc
                                        )
                                    ),
                                }.get(oe.action)
                                if resp is None:
                                    csms.send_error(oe.unique_id, ErrorCode.NOT_SUPPORTED, "not here")
                                else:
                                    csms.send_result(oe.unique_id, resp)
                        for out in csms.data_to_send():
                            conn.sendall(ws.send(TextMessage(out.decode())))
                    elif isinstance(ev, CloseConnection):
                        conn.sendall(ws.send(ev.response()))
                        return

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    sent: list[str] = []
    cli_sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    ws = WSConnection(ConnectionType.CLIENT)
    cli_sock.sendall(ws.send(Request(host="127.0.0.1", target=f"/ocpp/{station}", subprotocols=["ocpp2.0.1"])))

    def events() -> list[Any]:
        got: list[Any] = []
        while not got:
            ws.receive_data(cli_sock.recv(65536))
            got = list(ws.events())
        return got

    assert isinstance(events()[0], AcceptConnection)
    frames = [
        '[2,"b1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]',
        '[2,"h1","Heartbeat",{}]',
        '[2,"x1","StatusNotification",{"timestamp":"2030-01-01T00:00:00Z","connectorStatus":"Nope",'
        '"evseId":1,"connectorId":1}]',
        '[2,"h2","Heartbeat",{}]',
    ]
    for text in frames:
        cli_sock.sendall(ws.send(TextMessage(text)))
        sent.append(text)
        events()
    cli_sock.sendall(ws.send(CloseConnection(code=1000)))
    try:
        events()
    except OSError:
        pass
    done.set()
    cli_sock.close()
    th.join(5)
    srv.close()
    return sent


def test_capture_of_a_real_loopback_session_by_tshark(tmp_path: Path) -> None:
    _pcap_libs()
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed (Debian package 'tshark'): live loopback capture skipped")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "live.pcapng"
    proc = subprocess.Popen(
        [tshark, "-i", "lo", "-f", f"tcp port {port}", "-w", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 20
        line = ""
        while "Capture started" not in line and "File:" not in line:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"tshark cannot capture on the loopback interface here: {line.strip()}")
        _ws_session_over_loopback(port, "CS-LIVE")
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGINT)  # tshark writes out what it captured and stops
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stderr is not None:
            proc.stderr.close()
    s = check_files([str(path)])
    assert s.stations, (s.files, s.findings)
    assert s.stations["CS-LIVE"]["versions"] == ["2.0.1 (negotiated)"]
    assert s.frames == 8
    assert [(f.kind, f.details.get("path")) for f in s.findings] == [
        ("schema", "$.connectorStatus"),
        ("call-error", None),
    ]
    listing = subprocess.run(
        [
            tshark,
            "-r",
            str(path),
            "-Y",
            "websocket",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "websocket.payload.text",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    numbers = [line.split("\t")[0] for line in listing.splitlines() if '[2,"x1"' in line]
    assert [s.findings[0].position] == [int(n) for n in numbers]


# ----------------------------------------------------------------------------- CLI and report


def test_cli_exit_status_json_and_thresholds(tmp_path: Path, capsys: Any) -> None:
    clean = tmp_path / "clean.jsonl"
    write_jsonl(s201(), clean)
    code, out = cli(str(clean), "--color", "never", capsys=capsys)
    assert code == 0 and "RESULT: OK" in out and "\x1b[" not in out
    e = s201()
    hb = index_of(e, "Heartbeat")
    e.insert(hb + 2, with_frame(e[hb + 1], [3, "stray", {}]))
    warn = tmp_path / "warn.jsonl"
    write_jsonl(e, warn)
    assert cli(str(warn), capsys=capsys)[0] == 0  # unknown-id is a warning
    assert cli(str(warn), "--fail-on", "warning", capsys=capsys)[0] == 1
    assert cli(str(warn), "--severity", "unknown-id=error", capsys=capsys)[0] == 1
    assert cli(str(warn), "--severity", "unknown-id=info", "--fail-on", "warning", capsys=capsys)[0] == 0
    code, out = cli(str(warn), "--json", "--fail-on", "warning", capsys=capsys)
    doc = json.loads(out)
    assert code == 1 and doc["result"] == "fail" and doc["failing_findings"] == 1
    (f,) = doc["findings"]
    assert (f["kind"], f["position"], f["unit"], f["station"]) == ("unknown-id", hb + 3, "line", "CS001")
    assert f["time"].endswith("Z") and doc["calls"][0]["station"] == "CS001"
    code, out = cli(str(warn), "--color", "always", "--fail-on", "never", capsys=capsys)
    assert code == 0 and "\x1b[33m" in out and "unknown-id" in out


def test_cli_errors_exit_2(tmp_path: Path, capsys: Any) -> None:
    assert cli(str(tmp_path / "missing.jsonl"), capsys=capsys)[0] == 2
    f = tmp_path / "x.jsonl"
    write_jsonl(s201(), f)
    assert cli(str(f), "--policy", "unknown_properties=maybe", capsys=capsys)[0] == 2
    assert cli(str(f), "--severity", "nonsense=error", capsys=capsys)[0] == 2
    with pytest.raises(SystemExit):
        cli(str(f), "--strict", "--policy", "unknown_properties=drop", capsys=capsys)


def test_report_shows_findings_and_tables() -> None:
    a = Analyzer()
    summary = a.summary()
    text = render_text(summary)
    assert "FINDINGS  0 errors, 0 warnings, 0 info" in text and "RESULT: OK" in text
    s = copy.copy(summary)
    s.findings = [Finding("schema", "error", "/x/y.jsonl", 7, "line", EPOCH, "CS1", "bad", {})]
    s.by_severity = {"info": 0, "warning": 0, "error": 1}
    s.by_kind = {"schema": 1}
    text = render_text(s, show=1)
    assert "y.jsonl:7" in text and "2030-01-01T08:00:00.000Z" in text and "RESULT: FAIL: 1 finding" in text


def test_progress_bar() -> None:
    out = io.StringIO()
    bar = Progress(10_000_000, out)
    bar.last = -1
    bar.update(5_000_000, 1000)
    bar.finish()
    text = out.getvalue()
    assert "50.0%" in text and "1,000 frames" in text and text.endswith("\r")


def test_cli_progress_on_request(tmp_path: Path, capsys: Any) -> None:
    f = tmp_path / "x.jsonl"
    write_jsonl(s201() * 1, f)
    code, _ = cli(str(f), "--progress", "always", capsys=capsys)
    assert code == 0


# ----------------------------------------------------------------------------- bounded state


def test_state_stays_bounded_on_long_bad_inputs(tmp_path: Path) -> None:
    """Calls never answered, answers for nothing: per-connection state is capped, all is counted."""
    path = tmp_path / "flood.log"
    n = 6000
    with open(path, "w") as f:
        for k in range(n):  # no timestamps: nothing expires by time, only by the bounds
            f.write(f'>> [2,"c{k}","Heartbeat",{{}}]\n' if k % 2 == 0 else f'<< [3,"r{k}",{{}}]\n')
    a = Analyzer(Options(recorded_by="station", max_findings=100))
    src = open_source(str(path))
    seen: list[int] = []
    a.run(
        src,
        progress=lambda k: seen.append(
            sum(len(c.sides[0].pending) + len(c.sides[0].expired) + len(c.orphans) for c in a.conns.values())
        ),
        every=500,
    )
    assert max(seen) <= 64 + 1024 + 64
    s = a.summary()
    assert s.by_kind["unanswered"] == n // 2 and s.by_kind["unknown-id"] == n // 2
    assert len(s.findings) == 100 and s.dropped_findings == n + s.by_kind["concurrent-call"] - 100


def test_timestamps_evict_unanswered_calls_as_the_log_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with open(path, "w") as f:
        for k in range(2000):
            t = iso(EPOCH + 10 * k)
            f.write(json.dumps({"ts": t, "dir": "in", "frame": f'[2,"c{k}","Heartbeat",{{}}]'}) + "\n")
    a = Analyzer(Options(recorded_by="csms", late_window=100))
    sizes: list[int] = []
    a.run(
        open_source(str(path)),
        progress=lambda k: sizes.append(
            sum(len(c.sides[0].pending) + len(c.sides[0].expired) for c in a.conns.values())
        ),
        every=100,
    )
    assert max(sizes) <= 15  # 30 s timeout + 100 s late window at one call every 10 s
    assert a.summary().by_kind["unanswered"] == 2000


def test_all_finding_kinds_are_documented() -> None:
    from ocppkit.check import KINDS

    doc = (Path(__file__).resolve().parent.parent / "docs" / "check.md").read_text()
    for kind in KINDS:
        assert f"`{kind}`" in doc, kind
    assert os.path.exists(Path(__file__).resolve().parent.parent / "benchmarks" / "bench_check.py")


def test_a_real_websocket_session_recorded_by_the_csms(tmp_path: Path) -> None:
    """The CSMS of `ocppkit serve` and the simulated station of `ocppkit station`, over a real
    loopback WebSocket: the CSMS records every frame; the recording is clean, and a dropped
    response and a corrupted payload are found at their lines."""
    import asyncio
    import time as _time

    from ocppkit.adapters.demo import csms_router, run_station_session
    from ocppkit.adapters.websockets import ChargingStation, CSMSServer

    recorded: list[Entry] = []

    def on_frame(identity: str, direction: str, data: bytes) -> None:
        recorded.append(Entry(_time.time(), "station" if direction == "in" else "csms", data.decode()))

    async def session() -> list[str]:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), on_frame=on_frame)
        await csms.start("127.0.0.1", 0)
        try:
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/CS001", versions=["2.0.1"]) as st:
                assert st.session is not None
                return await run_station_session(st.session, "2.0.1")
        finally:
            await csms.close()

    assert asyncio.run(asyncio.wait_for(session(), 30)) == []
    assert len(recorded) >= 14
    clean = check(tmp_path, recorded)
    assert clean.findings == []
    call = index_of(recorded, "Authorize")
    dropped = list(recorded)
    del dropped[answer_of(dropped, call)]
    found = kinds(check(tmp_path, dropped))
    # The station's next calls now look sent while the Authorize was still outstanding.
    assert ("unanswered", call + 1) in found
    assert {k for k, _ in found} == {"unanswered", "concurrent-call"}
    assert all(pos > call + 1 for k, pos in found if k == "concurrent-call")
    i = index_of(recorded, "StatusNotification")
    corrupted = edit(recorded, i, lambda f: f[3].update(evseId="one"))
    f = one(check(tmp_path, corrupted), "schema")
    assert f.position == i + 1 and f.details["path"] == "$.evseId"
