"""Hypothesis state machine: random interleavings of calls, answers, deliveries, losses and clock ticks
between a station and a CSMS. Invariants: at most one CALL of each side outstanding on the wire,
every call ends exactly once (result, error, invalid result or timeout), no event is lost."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import ocppkit
from ocppkit import CallReceived, CallTimedOut, ErrorCode, ErrorReceived, ResultInvalid, ResultReceived, v21
from ocppkit._rpc_py import Connection as PyConnection
from tests.helpers import FakeClock

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
TERMINAL = (ResultReceived, ErrorReceived, ResultInvalid, CallTimedOut)
TIMEOUT = 10.0


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

    @staticmethod
    def other(side: str) -> str:
        return "csms" if side == "station" else "station"

    def flush(self) -> None:
        for side, conn in self.conn.items():
            for ev in conn.events():
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
                self.wire[self.other(side)].append(data)

    @rule(side=st.sampled_from(["station", "csms"]))
    def call(self, side: str) -> None:
        req = v21.HeartbeatRequest() if side == "station" else v21.ClearCacheRequest()
        self.issued[side].add(self.conn[side].call(req))
        self.flush()

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
        self.conn[side].receive_data(data)
        self.flush()

    @precondition(lambda self: self.to_answer["station"] or self.to_answer["csms"])
    @rule(side=st.sampled_from(["station", "csms"]), how=st.sampled_from(["result", "error", "garbage"]))
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
        else:  # an invalid CALLRESULT, forged on the wire (2.1 answers it with a CALLRESULTERROR)
            conn.send_error(uid, ErrorCode.GENERIC_ERROR, "placeholder")
            conn.data_to_send()
            self.wire[self.other(side)].append(b'[3,"' + uid.encode() + b'",{"x":1}]')
        self.flush()

    @rule(seconds=st.floats(0, 2 * TIMEOUT))
    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)
        for conn in self.conn.values():
            deadline = conn.next_deadline()
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
                    self.conn[side].receive_data(data)
                    self.flush()
                    moved = True
            self.clock.advance(TIMEOUT + 1)
            for conn in self.conn.values():
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
