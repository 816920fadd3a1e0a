"""`ocppkit check` follows the connection's own state tables (ocppkit/states.py).

Sessions are recorded from a real station and CSMS ``Connection`` pair whose every transition is
traced; the recording is then checked, and after each record the checker's view of the station's
slot, the CSMS's slot and the boot is taken. Both must walk the same states. And a change to a
table shows in the Connection and in the checker alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ocppkit import CallReceived, LocalProtocolError
from ocppkit._rpc_py import DEFAULT_ALLOWED_WHILE_PENDING
from ocppkit._rpc_py import Connection as PyConnection
from ocppkit.check import Options, check_files
from ocppkit.check.analyze import Analyzer
from ocppkit.check.inputs import open_source
from ocppkit.check.rules import allowed_while_pending
from ocppkit.states import (
    ACCEPTED,
    AWAITING,
    BOOT_INITIAL,
    BOOT_TRANSITIONS,
    CALL,
    SLOT_INITIAL,
    SLOT_TRANSITIONS,
    STATUS_PENDING,
    TRANSMIT,
    UNKNOWN,
)
from tests.check_helpers import (
    Entry,
    Recorder,
    answer_of,
    index_of,
    iso,
    session_16,
    session_21,
    session_201,
    write_jsonl,
)


class Traced(PyConnection):
    """A connection that keeps every state its tables gave it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = [self.slot]
        self.boots = [self.boot_state]

    def _fire(self, event: Any) -> Any:
        action = super()._fire(event)
        self.slots.append(self.slot)
        return action

    def _fire_boot(self, status: str) -> None:
        super()._fire_boot(status)
        self.boots.append(self.boot_state)


def collapse(states: list[Any]) -> list[str]:
    out: list[str] = []
    for s in states:
        if not out or out[-1] != s:
            out.append(str(s))
    return out


def checker_states(
    tmp_path: Path, entries: list[Entry], version: str, directions: bool = True
) -> tuple[list[Any], ...]:
    """The checker's (station slot, CSMS slot, boot) after each record of the recording (a log
    without directions takes the checker's complete rules for every frame)."""
    path = tmp_path / "states.jsonl"
    if directions:
        write_jsonl(entries, path, style="absolute")
    else:
        path.write_text("".join(f"{iso(e.time)} station=CS001 {e.text}\n" for e in entries))
    a = Analyzer(Options(version=version))
    seen: list[tuple[Any, Any, Any]] = [(SLOT_INITIAL, SLOT_INITIAL, BOOT_INITIAL)]

    def snapshot(_n: int) -> None:
        c = a.conns["CS001"]
        for d in c.sides:  # the slot is AWAITING exactly while a call of the side is outstanding
            assert (d.slot is AWAITING) == bool(d.pending), (d.slot, d.pending)
        seen.append((c.sides[0].slot, c.sides[1].slot, c.boot.state))

    a.run(open_source(str(path)), snapshot, every=1)
    assert len(seen) == len(entries) + 1
    return tuple(list(x) for x in zip(*seen, strict=True))


def recorder(version: str = "2.0.1", **options: Any) -> Recorder:
    return Recorder(version, Connection=Traced, **options)


def boot(r: Recorder, status: str) -> None:
    r.station_call(
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
        {"currentTime": iso(r.now), "interval": 300, "status": status},
    )


def heartbeat(r: Recorder) -> None:
    r.station_call("Heartbeat", {}, {"currentTime": iso(r.now)})


def get_variables(r: Recorder) -> None:
    r.csms_call(
        "GetVariables",
        {"getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]},
        {"getVariableResult": [{"attributeStatus": "Rejected", "component": {"name": "C"}, "variable": {"name": "V"}}]},
    )


def calls_received(r: Recorder) -> list[CallReceived]:
    return [e for e in r._flush() if isinstance(e, CallReceived)]


def pending_then_accepted(r: Recorder) -> None:
    boot(r, "Pending")
    r.advance(1)
    heartbeat(r)  # allowed while Pending
    r.advance(1)
    r.station_call("Authorize", {"idToken": {"idToken": "T", "type": "ISO14443"}}, {})  # refused: SecurityError
    r.advance(1)
    boot(r, "Accepted")
    r.advance(1)
    get_variables(r)


def rejected_then_accepted(r: Recorder) -> None:
    boot(r, "Rejected")
    r.advance(5)
    heartbeat(r)  # the CSMS refuses it
    r.advance(5)
    boot(r, "Accepted")
    heartbeat(r)


def timeout_and_late_answer(r: Recorder) -> None:
    boot(r, "Accepted")
    st, cs = r.pair.station, r.pair.csms
    st.call(r.payload("HeartbeatRequest", {}))
    (call,) = calls_received(r)
    r.advance(31)
    st.handle_timeout()  # EXPIRE: the station may call again
    cs.send_result(call.unique_id, r.payload("HeartbeatResponse", {"currentTime": iso(r.now)}))  # late
    r._flush()
    r.advance(1)
    st.call(r.payload("HeartbeatRequest", {}))
    (call,) = calls_received(r)
    cs.send_error(call.unique_id, "InternalError", "busy")
    r._flush()
    r.advance(40)
    get_variables(r)


def queued_and_crossing(r: Recorder) -> None:
    boot(r, "Accepted")
    st, cs = r.pair.station, r.pair.csms
    st.call(r.payload("HeartbeatRequest", {}))
    st.call(r.payload("HeartbeatRequest", {}))  # queued behind the first
    cs.call(
        r.payload("GetVariablesRequest", {"getVariableData": [{"component": {"name": "C"}, "variable": {"name": "V"}}]})
    )
    for _ in range(3):  # answer whatever arrives, in order; the queued call goes out after the first answer
        for e in calls_received(r):
            r.advance(0.01)
            if e.action == "Heartbeat":
                cs.send_result(e.unique_id, r.payload("HeartbeatResponse", {"currentTime": iso(r.now)}))
            else:
                result = {
                    "getVariableResult": [
                        {"attributeStatus": "Rejected", "component": {"name": "C"}, "variable": {"name": "V"}}
                    ]
                }
                st.send_result(e.unique_id, r.payload("GetVariablesResponse", result))
    r._flush()


SCENARIOS: dict[str, tuple[Callable[[Recorder], None], dict[str, Any]]] = {
    "pending-then-accepted": (pending_then_accepted, {"boot_gating": True}),
    "rejected-then-accepted": (rejected_then_accepted, {"boot_gating": True}),
    "timeout-and-late-answer": (timeout_and_late_answer, {}),
    "queued-and-crossing": (queued_and_crossing, {}),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_checker_walks_the_states_the_connections_walk(tmp_path: Path, name: str) -> None:
    play, options = SCENARIOS[name]
    r = recorder(**options)
    station, csms = r.pair.station, r.pair.csms
    assert isinstance(station, Traced) and isinstance(csms, Traced)
    delivered: list[tuple[Any, Any, Any]] = []
    r.after_frame = lambda: delivered.append((station.slot, csms.slot, csms.boot_state))
    play(r)
    slots0, slots1, boots = checker_states(tmp_path, r.entries, "2.0.1")
    # every state each connection's tables gave it, in order
    assert collapse(slots0) == collapse(station.slots)
    assert collapse(slots1) == collapse(csms.slots)
    assert collapse(boots) == collapse(csms.boots) == collapse(station.boots)
    assert len(collapse(station.slots)) > 3  # the scenario did make calls
    if name != "queued-and-crossing":
        # one frame in flight at a time: the states after each frame are the same, frame by frame
        # (a queued call, or a call crossing one on the wire, is in its connection's outbox a
        # while before the checker can see it)
        assert list(zip(slots0[1:], slots1[1:], boots[1:], strict=True)) == delivered


def test_scenarios_cover_every_state_of_both_tables(tmp_path: Path) -> None:
    slots: set[str] = set()
    boots: set[str] = set()
    for play, options in SCENARIOS.values():
        r = recorder(**options)
        play(r)
        s0, s1, b = checker_states(tmp_path, r.entries, "2.0.1")
        slots |= {str(s) for s in s0 + s1}
        boots |= {str(s) for s in b}
    assert slots == {str(s) for s, _ in SLOT_TRANSITIONS}
    assert boots == {str(s) for s, _ in BOOT_TRANSITIONS}


@pytest.mark.parametrize(("version", "session"), [("1.6", session_16), ("2.0.1", session_201), ("2.1", session_21)])
def test_recorded_sessions_keep_the_slot_invariant(tmp_path: Path, version: str, session: Any) -> None:
    entries = session()
    slots0, slots1, boots = checker_states(tmp_path, entries, version)
    assert collapse(boots) == [str(UNKNOWN), str(ACCEPTED)]
    # one call at a time, each answered: the slots alternate
    assert collapse(slots0)[:3] == ["IDLE", "AWAITING", "IDLE"] and slots0[-1] is SLOT_INITIAL
    assert slots1[-1] is SLOT_INITIAL


def test_faults_keep_the_slot_invariant(tmp_path: Path) -> None:
    """Answers dropped, calls repeated, answers before their calls, late answers: the slot of each
    side is AWAITING exactly while one of its calls is outstanding (checked after every record)."""
    base = session_201()
    call = index_of(base, "Heartbeat", 0)
    dropped = list(base)
    del dropped[answer_of(dropped, index_of(dropped, "StatusNotification"))]  # the next call is concurrent
    repeated = [*base[: call + 1], *base[call:]]  # the same call twice: duplicate-id
    swapped = list(base)
    ans = answer_of(swapped, call)
    swapped[call], swapped[ans] = swapped[ans], swapped[call]  # the answer first: out-of-order
    late = [replace(e, time=e.time + 100) if i >= ans else e for i, e in enumerate(base)]  # a late answer
    found: set[str] = set()
    for entries in (dropped, repeated, swapped, late):
        for directions in (True, False):
            slots0, _slots1, _boots = checker_states(tmp_path, entries, "2.0.1", directions)
            assert AWAITING in slots0
            s = check_files([str(tmp_path / "states.jsonl")], Options(version="2.0.1"))
            found |= {f.kind for f in s.findings}
    assert {"concurrent-call", "duplicate-id", "out-of-order", "late-result"} <= found


def test_the_checker_uses_the_connections_pending_allowance() -> None:
    assert allowed_while_pending == DEFAULT_ALLOWED_WHILE_PENDING


# ----------------------------------------------------------------------------- table changes


def two_calls_on_the_wire(path: Path) -> None:
    lines = [
        (
            "station->csms",
            '[2,"b","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]',
        ),
        ("csms->station", '[3,"b",{"currentTime":"2030-01-01T00:00:00Z","interval":300,"status":"Accepted"}]'),
        ("station->csms", '[2,"h1","Heartbeat",{}]'),
        ("station->csms", '[2,"h2","Heartbeat",{}]'),
        ("csms->station", '[3,"h1",{"currentTime":"2030-01-01T00:00:00Z"}]'),
        ("csms->station", '[3,"h2",{"currentTime":"2030-01-01T00:00:00Z"}]'),
    ]
    with open(path, "w") as f:
        for i, (d, frame) in enumerate(lines):
            f.write(json.dumps({"ts": f"2030-01-01T00:00:0{i}Z", "dir": d, "frame": frame}) + "\n")


def kinds(path: Path) -> list[tuple[str, int]]:
    s = check_files([str(path)], Options(version="2.0.1"))
    return [(f.kind, f.position) for f in s.findings]


def test_a_second_call_is_a_finding_because_the_table_queues_it(tmp_path: Path) -> None:
    assert SLOT_TRANSITIONS[AWAITING, CALL][1] is AWAITING and SLOT_TRANSITIONS[AWAITING, CALL][0] is not TRANSMIT
    path = tmp_path / "two.jsonl"
    two_calls_on_the_wire(path)
    assert kinds(path) == [("concurrent-call", 4)]


def test_a_table_that_transmits_a_second_call_changes_the_connection_and_the_checker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SLOT_TRANSITIONS, (AWAITING, CALL), (TRANSMIT, AWAITING))
    r = recorder()
    boot(r, "Accepted")
    r.pair.station.call(r.payload("HeartbeatRequest", {}))
    r.pair.station.call(r.payload("HeartbeatRequest", {}))
    assert len(calls_received(r)) == 2  # the connection sent both at once
    path = tmp_path / "two.jsonl"
    two_calls_on_the_wire(path)
    assert kinds(path) == []  # and the checker finds nothing wrong with that


@pytest.fixture
def slot_table() -> Iterator[dict[Any, Any]]:
    """SLOT_TRANSITIONS to edit; restored afterwards in its order (docs/rpc.md draws it in order)."""
    saved = dict(SLOT_TRANSITIONS)
    try:
        yield SLOT_TRANSITIONS
    finally:
        SLOT_TRANSITIONS.clear()
        SLOT_TRANSITIONS.update(saved)


def test_a_pair_the_table_lacks_is_an_error_in_the_connection_and_a_finding_in_the_checker(
    tmp_path: Path, slot_table: dict[Any, Any]
) -> None:
    del slot_table[AWAITING, CALL]
    r = recorder()
    boot(r, "Accepted")
    r.pair.station.call(r.payload("HeartbeatRequest", {}))
    with pytest.raises(LocalProtocolError) as info:
        r.pair.station.call(r.payload("HeartbeatRequest", {}))
    assert info.value.details["rule"] == "stateTable"
    path = tmp_path / "two.jsonl"
    two_calls_on_the_wire(path)
    assert kinds(path) == [("concurrent-call", 4)]


def test_a_boot_table_change_shows_in_the_checker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    r = recorder()
    boot(r, "Pending")
    r.advance(1)
    r.station_call(
        "Authorize", {"idToken": {"idToken": "T", "type": "ISO14443"}}, {"idTokenInfo": {"status": "Accepted"}}
    )
    path = tmp_path / "pending.jsonl"
    write_jsonl(r.entries, path, style="absolute")
    assert kinds(path) == [("before-boot", 3)]
    assert "Authorize" not in DEFAULT_ALLOWED_WHILE_PENDING
    monkeypatch.setitem(BOOT_TRANSITIONS, (UNKNOWN, STATUS_PENDING), ACCEPTED)  # Pending would count as Accepted
    assert kinds(path) == []
