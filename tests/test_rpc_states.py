"""Hypothesis state machine: random interleavings of calls, answers, deliveries, losses and clock ticks
between a station and a CSMS. Invariants: at most one CALL of each side outstanding on the wire,
every call ends exactly once (result, error, invalid result or timeout), no event is lost.

And the tables are the truth: a model per side (``SlotModel``) replays every input the connection
must meet through ``SLOT_TRANSITIONS``, and after every step the connection's ``slot``, queue,
deadline, slot events and CALL frames must be what the table's next states and actions say. The
boot likewise, through ``BOOT_TRANSITIONS``. Both twins."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ocppkit import (
    CallReceived,
    CallTimedOut,
    ErrorCode,
    ErrorReceived,
    LateResponse,
    LocalProtocolError,
    Policy,
    ProtocolViolation,
    ResultInvalid,
    ResultReceived,
    UnmatchedResponse,
    v21,
    v201,
)
from ocppkit._rpc_py import Connection as PyConnection
from ocppkit.states import (
    BOOT_INITIAL,
    BOOT_INITIAL_BOOTED,
    BOOT_INPUTS,
    BOOT_TRANSITIONS,
    CALL,
    DEADLINE,
    DEQUEUE,
    DROP,
    END,
    ENQUEUE,
    EXPIRE,
    OTHER_STATUS,
    REJECTED,
    RESPONSE,
    SLOT_INITIAL,
    SLOT_TRANSITIONS,
    STRAY,
    TRANSMIT,
    UNKNOWN,
    Action,
    Input,
    State,
)
from tests.helpers import FakeClock

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
TERMINAL = (ResultReceived, ErrorReceived, ResultInvalid, CallTimedOut)
TIMEOUT = 10.0
LATE_IDS = 32  # the connection remembers this many timed-out ids (docs/rpc.md)


class SlotModel:
    """One connection's outgoing-call slot as the table says it must be: each input the connection
    must meet is replayed through SLOT_TRANSITIONS, and the table's action says what must show."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.state = SLOT_INITIAL
        self.outstanding: str | None = None
        self.deadline: float | None = None
        self.queue: list[str] = []
        self.late: list[str] = []
        self.events: list[tuple[str, str]] = []  # expected slot events, ("end" | "expire" | "late" | ...)
        self.calls: list[str] = []  # expected CALL frames (their ids), in order
        self.fired: set[tuple[State, Input]] = set()

    def fire(self, event: Input, uid: str) -> None:
        assert (self.state, event) in SLOT_TRANSITIONS, f"the connection met {event!r} in {self.state!r}"
        self.fired.add((self.state, event))
        action, self.state = SLOT_TRANSITIONS[(self.state, event)]
        self.act(action, uid)

    def act(self, action: Action, uid: str) -> None:
        if action is TRANSMIT:
            self.outstanding, self.deadline = uid, self.clock.now + TIMEOUT
            self.calls.append(uid)
        elif action is ENQUEUE:
            self.queue.append(uid)
        elif action is END or action is EXPIRE:
            self.outstanding = self.deadline = None
            self.events.append((action, uid))
            if action is EXPIRE:
                self.late = [*self.late, uid][-LATE_IDS:]
            if self.queue:  # the slot is free and calls wait: the oldest goes out at once
                self.fire(DEQUEUE, self.queue.pop(0))
        elif action is DROP:
            self.events.append(("late" if uid in self.late else "unmatched", uid))
        else:
            raise AssertionError(f"the model knows no action {action!r}")

    # The inputs, as the model sees them coming.

    def call(self, uid: str) -> None:
        self.fire(CALL, uid)

    def response(self, uid: str) -> None:
        self.fire(RESPONSE if uid == self.outstanding else STRAY, uid)

    def tick(self) -> None:
        if self.deadline is not None and self.clock.now >= self.deadline:
            assert self.outstanding is not None
            self.fire(DEADLINE, self.outstanding)


class Link(RuleBasedStateMachine):
    Connection: Any = PyConnection

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        n = itertools.count()
        self.conn = {
            side: self.Connection(
                side,
                "2.1",
                clock=self.clock,
                ids=lambda s=side: f"{s}-{next(n)}",
                call_timeout=TIMEOUT,
                max_queued_calls=1000,
            )
            for side in ("station", "csms")
        }
        self.wire: dict[str, list[bytes]] = {"station": [], "csms": []}  # messages in flight *to* that side
        self.issued: dict[str, set[str]] = {"station": set(), "csms": set()}
        self.ended: dict[str, list[str]] = {"station": [], "csms": []}
        self.on_wire_outstanding: dict[str, str | None] = {"station": None, "csms": None}
        self.to_answer: dict[str, list[str]] = {"station": [], "csms": []}
        self.calls_delivered: dict[str, int] = {"station": 0, "csms": 0}
        self.calls_seen: dict[str, int] = {"station": 0, "csms": 0}
        self.model = {side: SlotModel(self.clock) for side in ("station", "csms")}
        self.strays = itertools.count()

    @staticmethod
    def other(side: str) -> str:
        return "csms" if side == "station" else "station"

    def flush(self) -> None:
        for side, conn in self.conn.items():
            seen: list[tuple[str, str]] = []
            calls: list[str] = []
            for ev in conn.events():
                if isinstance(ev, CallTimedOut):
                    seen.append((EXPIRE, ev.unique_id))
                elif isinstance(ev, TERMINAL):
                    seen.append((END, ev.unique_id))
                elif isinstance(ev, LateResponse):
                    seen.append(("late", ev.unique_id))
                elif isinstance(ev, UnmatchedResponse):
                    seen.append(("unmatched", ev.unique_id))
                if isinstance(ev, TERMINAL):
                    assert ev.unique_id in self.issued[side]
                    assert ev.unique_id not in self.ended[side], f"{ev.unique_id} ended twice"
                    self.ended[side].append(ev.unique_id)
                    if self.on_wire_outstanding[side] == ev.unique_id:
                        self.on_wire_outstanding[side] = None
                elif isinstance(ev, CallReceived):
                    self.calls_seen[side] += 1
                    self.to_answer[side].append(ev.unique_id)

            for data in conn.data_to_send():
                frame = json.loads(data)
                if frame[0] == 2:
                    assert self.on_wire_outstanding[side] is None, f"{side} sent a second CALL"
                    self.on_wire_outstanding[side] = frame[1]
                    calls.append(frame[1])
                self.wire[self.other(side)].append(data)
            self.check_model(side, seen, calls)

    def check_model(self, side: str, seen: list[tuple[str, str]], calls: list[str]) -> None:
        """What the connection did since the last flush is what its table said."""
        model, conn = self.model[side], self.conn[side]
        assert seen == model.events, f"{side}: slot events {seen}, the table says {model.events}"
        assert calls == model.calls, f"{side}: CALLs sent {calls}, the table says {model.calls}"
        assert conn.slot is model.state, f"{side}: slot {conn.slot!r}, the table says {model.state!r}"
        assert conn.queued_calls == len(model.queue) and conn.next_deadline() == model.deadline, side
        model.events, model.calls = [], []

    def receive(self, side: str, data: bytes) -> None:
        """Deliver one message to ``side``; a response is an input of its slot."""
        frame = json.loads(data)
        if frame[0] in (3, 4):
            self.model[side].response(frame[1])
        self.conn[side].receive_data(data)

    @rule(side=st.sampled_from(["station", "csms"]))
    def call(self, side: str) -> None:
        req = v21.HeartbeatRequest() if side == "station" else v21.ClearCacheRequest()
        uid = self.conn[side].call(req)
        self.issued[side].add(uid)
        self.model[side].call(uid)
        self.flush()

    @rule(side=st.sampled_from(["station", "csms"]), kind=st.sampled_from(["result", "error", "broken error"]))
    def stray(self, side: str, kind: str) -> None:
        """A response for no call of this side ever made, on the wire to it."""
        uid = f"stray-{next(self.strays)}"
        frame = {
            "result": [3, uid, {}],
            "error": [4, uid, "GenericError", "", {}],
            "broken error": [4, uid, "GenericError", "", 5],  # details not an object: still a response
        }[kind]
        self.wire[side].append(json.dumps(frame).encode())

    @rule()
    def send(self) -> None:
        self.conn["station"].send(
            v21.NotifyPeriodicEventStreamRequest(
                id=1, pending=0, basetime=NOW, data=[v21.StreamDataElementType(t=0, v="1")]
            )
        )
        self.flush()

    @precondition(lambda self: self.wire["station"] or self.wire["csms"])
    @rule(side=st.sampled_from(["station", "csms"]), lose=st.booleans())
    def deliver(self, side: str, lose: bool) -> None:
        if not self.wire[side]:
            return
        data = self.wire[side].pop(0)
        if lose and json.loads(data)[0] != 2:
            return  # a lost response: the caller's timeout must end the call
        if json.loads(data)[0] == 2:
            self.calls_delivered[side] += 1
        self.receive(side, data)
        self.flush()

    @precondition(lambda self: self.to_answer["station"] or self.to_answer["csms"])
    @rule(
        side=st.sampled_from(["station", "csms"]),
        how=st.sampled_from(["result", "error", "garbage", "broken error"]),
    )
    def answer(self, side: str, how: str) -> None:
        if not self.to_answer[side]:
            return
        uid = self.to_answer[side].pop(0)
        conn = self.conn[side]
        if how == "result":
            resp: Any = (
                v21.ClearCacheResponse(status=v21.ClearCacheStatusEnumType.ACCEPTED)
                if side == "station"
                else v21.HeartbeatResponse(current_time=NOW)
            )
            conn.send_result(uid, resp)
        elif how == "error":
            conn.send_error(uid, ErrorCode.GENERIC_ERROR, "no")
        else:  # forged on the wire: an invalid CALLRESULT (2.1 answers it), or a CALLERROR that
            # cannot be decoded (never answered): either ends the call, as ResultInvalid
            conn.send_error(uid, ErrorCode.GENERIC_ERROR, "placeholder")
            conn.data_to_send()
            forged = b'[3,"%s",{"x":1}]' if how == "garbage" else b'[4,"%s","GenericError","",[]]'
            self.wire[self.other(side)].append(forged % uid.encode())
        self.flush()

    @rule(seconds=st.floats(0, 2 * TIMEOUT))
    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)
        for side, conn in self.conn.items():
            deadline = conn.next_deadline()
            self.model[side].tick()
            conn.handle_timeout()
            if deadline is not None and self.clock.now >= deadline:
                assert conn.next_deadline() is None or conn.next_deadline() > deadline
            self.flush()

    @invariant()
    def one_outstanding_per_side(self) -> None:
        for side, conn in self.conn.items():
            assert (conn.slot == "AWAITING") == (self.on_wire_outstanding[side] is not None)

    @invariant()
    def no_call_lost(self) -> None:
        for side in self.conn:
            assert self.calls_seen[side] <= self.calls_delivered[side]

    def teardown(self) -> None:
        # Drain: deliver everything, answer nothing more; time runs out for whatever is left.
        for _ in range(10_000):
            moved = False
            for side in ("station", "csms"):
                while self.wire[side]:
                    data = self.wire[side].pop(0)
                    if json.loads(data)[0] == 2:
                        self.calls_delivered[side] += 1
                    self.receive(side, data)
                    self.flush()
                    moved = True
            self.clock.advance(TIMEOUT + 1)
            for side, conn in self.conn.items():
                self.model[side].tick()
                conn.handle_timeout()
                self.flush()
            done = all(len(self.ended[s]) == len(self.issued[s]) for s in self.conn)
            if done and not moved and not any(self.wire.values()):
                break
        for side in self.conn:
            assert sorted(self.ended[side]) == sorted(self.issued[side]), side  # each call ended exactly once
            # Every delivered CALL was reported (the peer never sends two with one id, so none is refused).
            assert self.calls_seen[side] == self.calls_delivered[side], side


TestPyConnection = Link.TestCase
TestPyConnection.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

try:
    from ocppkit._rpc_c import Connection as CConnection
except ImportError:  # not built: tests/test_rpc.py::test_extensions_in_use reports it
    CConnection = None

if CConnection is not None:

    class CLink(Link):
        Connection = CConnection

    TestCConnection = CLink.TestCase
    TestCConnection.settings = TestPyConnection.settings


def test_every_slot_transition_is_met(Connection: Any) -> None:
    """One scripted run through every pair of SLOT_TRANSITIONS, checked by the same model."""
    link = type("ScriptedLink", (Link,), {"Connection": Connection})()
    link.stray("station", "result")
    link.deliver("station", False)  # IDLE + unmatched response
    link.call("station")  # IDLE + call
    link.call("station")  # AWAITING + call
    link.call("station")
    link.stray("station", "broken error")
    link.deliver("station", False)  # AWAITING + unmatched response (one that cannot be decoded)
    link.deliver("csms", False)
    link.answer("csms", "result")
    link.deliver("station", False)  # AWAITING + response, then IDLE + queued call
    link.deliver("csms", False)
    link.answer("csms", "broken error")
    link.deliver("station", False)  # AWAITING + response (a CALLERROR that cannot be decoded), dequeue
    assert link.ended["station"] == ["station-0", "station-1"]
    link.tick(TIMEOUT)  # AWAITING + deadline passed
    link.teardown()
    assert link.model["station"].fired == set(SLOT_TRANSITIONS)


def test_a_pair_the_slot_table_lacks_raises() -> None:
    """Never met through the API (the model above checks every input is in the table), so the
    pure twin's transition function is asked directly: a deadline with no call outstanding."""
    conn = PyConnection("station", "2.0.1", clock=FakeClock())
    with pytest.raises(LocalProtocolError, match="no transition for input .deadline passed. in state IDLE") as err:
        conn._fire(DEADLINE)
    assert err.value.code == "InternalError" and err.value.details["rule"] == "stateTable"
    assert conn.slot is SLOT_INITIAL


BOOT_REQUEST = v201.BootNotificationRequest(
    charging_station=v201.ChargingStationType(model="M", vendor_name="V"), reason=v201.BootReasonEnumType.POWER_UP
)


@given(
    statuses=st.lists(st.sampled_from(["Accepted", "Pending", "Rejected", "Bogus"]), max_size=8), booted=st.booleans()
)
@settings(max_examples=80, deadline=None)
def test_boot_state_is_what_the_table_says(Connection: Any, statuses: list[str], booted: bool) -> None:
    """Random BootNotification answers: each side's boot_state after each is BOOT_TRANSITIONS's next
    state (the CSMS's when it answers, the station's when the answer arrives), and gating reads it."""
    clock = FakeClock()
    n = itertools.count()
    lenient = Policy(unknown_enum_values="accept")  # lets the station read a status no version defines
    station = Connection(
        "station", "2.0.1", clock=clock, ids=lambda: f"s{next(n)}", booted=booted, boot_gating=True, policy=lenient
    )
    csms = Connection("csms", "2.0.1", clock=clock, ids=lambda: f"c{next(n)}", booted=booted, boot_gating=True)
    expected = {"station": BOOT_INITIAL_BOOTED if booted else BOOT_INITIAL}
    expected["csms"] = expected["station"]

    def to_csms(request: Any) -> list[Any]:
        station.call(request)
        for data in station.data_to_send():
            csms.receive_data(data)
        return list(csms.events())

    def to_station(data: list[bytes]) -> Any:
        for d in data:
            station.receive_data(d)
        [event] = station.events()
        return event

    for status in statuses:
        [call] = to_csms(BOOT_REQUEST)  # gating never refuses a BootNotification
        assert isinstance(call, CallReceived)
        if status in BOOT_INPUTS:
            response = v201.BootNotificationResponse(
                current_time=NOW, interval=300, status=v201.RegistrationStatusEnumType(status)
            )
            csms.send_result(call.unique_id, response)
            expected["csms"] = BOOT_TRANSITIONS[(expected["csms"], BOOT_INPUTS[status])]
            data = csms.data_to_send()
        else:  # the CSMS cannot send a status no version defines: it is forged on the wire
            csms.send_error(call.unique_id, ErrorCode.GENERIC_ERROR)
            csms.data_to_send()
            data = [
                json.dumps(
                    [3, call.unique_id, {"currentTime": "2030-01-01T00:00:00Z", "interval": 300, "status": status}]
                ).encode()
            ]
        assert csms.boot_state is expected["csms"]
        assert isinstance(to_station(data), ResultReceived)
        expected["station"] = BOOT_TRANSITIONS[(expected["station"], BOOT_INPUTS.get(status, OTHER_STATUS))]
        assert station.boot_state is expected["station"]

        # Gating reads the CSMS's state: a Heartbeat is refused before an accepted or pending boot.
        [event] = to_csms(v201.HeartbeatRequest())
        if expected["csms"] is UNKNOWN or expected["csms"] is REJECTED:
            assert isinstance(event, ProtocolViolation) and event.error.details["rule"] == "bootGating"
            assert isinstance(to_station(csms.data_to_send()), ErrorReceived)
        else:
            assert isinstance(event, CallReceived)
            csms.send_result(event.unique_id, v201.HeartbeatResponse(current_time=NOW))
            assert isinstance(to_station(csms.data_to_send()), ResultReceived)
        if expected["csms"] is REJECTED:
            with pytest.raises(LocalProtocolError, match="rejected"):
                csms.call(v201.ClearCacheRequest())
