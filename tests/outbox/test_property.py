"""Property: whatever interleaving of submits, sends, CALLERRORs, timeouts, disconnects, crashes
(reopening the store) and time, every committed message is delivered, in submit order, or
reported dropped by the spec's rule; no placeholder reaches the wire; seqNo is contiguous."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ocppkit
from ocppkit import v16, v201
from ocppkit.outbox import Attempt, Delivered, Drop, Entry, OutboxError, OutboxFull, Retry, Wait

from .support import Stores, event201, meter16, response_for, security16, security201, start16, start16_ok, stop16

T0 = 1_700_000_000.0

SUBMITS = st.sampled_from(["start", "meter", "meter", "meter_none", "stop", "security", "other"])
SUBMIT = st.tuples(st.just("submit"), SUBMITS, st.integers(0, 3))
SEND = st.tuples(st.just("send"), st.sampled_from(["ok", "ok", "callerror", "timeout", "disconnect"]), st.just(0))
OPS = st.lists(
    st.one_of(
        SUBMIT,
        SUBMIT,
        SEND,
        st.tuples(st.just("advance"), st.just(""), st.integers(0, 30)),
        st.tuples(st.just("crash"), st.just(""), st.just(0)),
    ),
    min_size=15,
    max_size=80,
)


@dataclass
class Model:
    """What the test knows independently of the outbox."""

    version: str
    attempts: int
    committed: dict[int, Any] = field(default_factory=dict)  # id -> what was submitted (kind, tx)
    delivered: list[int] = field(default_factory=list)
    dropped: dict[int, Drop] = field(default_factory=dict)
    failures: dict[int, int] = field(default_factory=dict)  # id -> failed() calls
    due: dict[int, float] = field(default_factory=dict)  # id -> when its retry is due
    open_tx: list[Any] = field(default_factory=list)  # 1.6 placeholders / 2.x transactionIds
    placeholders: set[int] = field(default_factory=set)
    real: dict[int, int] = field(default_factory=dict)  # placeholder -> real id (Start delivered)
    start_of: dict[int, int] = field(default_factory=dict)  # placeholder -> Start entry id
    next_real: int = 1000
    next_tx: int = 0
    seqs: dict[str, list[int]] = field(default_factory=dict)  # 2.x txid -> seqNos submitted
    delivered_seqs: dict[str, list[int]] = field(default_factory=dict)

    def record_drops(self, drops: tuple[Drop, ...]) -> None:
        for d in drops:
            assert d.entry.id in self.committed and d.entry.id not in self.dropped, d
            assert d.entry.id not in self.delivered
            self.dropped[d.entry.id] = d
            event(f"drop: {d.reason}")
            kind, tx = self.committed[d.entry.id]
            if d.reason == "storage":  # only intermediate messages
                assert kind in ("meter", "meter_none", "updated"), d
            elif d.reason == "start_dropped":
                assert self.version == "1.6" and kind == "stop"
                start = self.start_of[tx]
                assert start in self.dropped and self.dropped[start].reason == "attempts"
            else:
                assert d.reason == "attempts" and self.failures.get(d.entry.id, 0) == self.attempts
            self.record_drops(d.dropped)


def submit(outbox: Any, m: Model, kind: str, pick: int, now: float) -> None:
    v = m.version
    request: Any
    tx: Any = None
    if kind == "other":
        with pytest.raises(OutboxError, match="not a transaction message"):
            outbox.submit(v16.AuthorizeRequest(id_tag="A") if v == "1.6" else v201.HeartbeatRequest(), now)
        return
    if kind == "security":
        request = security16() if v == "1.6" else security201()
    elif v == "1.6":
        if kind == "start":
            request = start16()
        elif kind == "meter_none":
            request = meter16(None)
        else:
            if not m.open_tx:
                return
            tx = m.open_tx[pick % len(m.open_tx)]
            request = meter16(tx, "7") if kind == "meter" else stop16(tx)
    else:
        if kind == "start":
            tx, m.next_tx = f"tx-{m.next_tx}", m.next_tx + 1
            request, kind = event201(tx, "Started", "Authorized"), "started"
        else:
            if not m.open_tx:
                return
            tx = m.open_tx[pick % len(m.open_tx)]
            ended = kind == "stop"
            request = event201(tx, "Ended" if ended else "Updated", "StopAuthorized" if ended else "MeterValueClock")
            kind = "ended" if ended else "updated"
    before = outbox.pending()
    try:
        entry: Entry = outbox.submit(request, now, offline=pick == 0)
    except OutboxFull:
        assert outbox.pending() == before
        return
    m.committed[entry.id] = (kind, tx if tx is not None else entry.transaction_id)
    m.record_drops(tuple(d for d in entry.dropped if d.entry.id != entry.id))
    if entry.dropped and entry.dropped[-1].entry.id == entry.id:  # a Stop whose Start was dropped
        m.record_drops((entry.dropped[-1],))
    if v == "1.6" and kind == "start":
        ph = entry.transaction_id
        assert isinstance(ph, int) and ph < 0 and ph != -1 and ph not in m.placeholders
        m.placeholders.add(ph)
        m.start_of[ph] = entry.id
        m.committed[entry.id] = ("start", ph)
        m.open_tx.append(ph)
    elif v == "1.6" and kind == "stop":
        m.open_tx.remove(tx)
    elif v != "1.6" and kind in ("started", "updated", "ended"):
        if kind == "started":
            m.open_tx.append(tx)
        if kind == "ended":
            m.open_tx.remove(tx)
        assert entry.seq_no == len(m.seqs.setdefault(tx, []))  # contiguous from 0
        m.seqs[tx].append(entry.seq_no)


def check_attempt(act: Attempt, m: Model, now: float) -> None:
    kind, tx = m.committed[act.entry.id]
    assert now >= m.due.get(act.entry.id, 0.0)  # a retry goes out when due, not before
    assert act.transmission == m.failures.get(act.entry.id, 0) + 1
    assert all(i < act.entry.id for i in m.delivered)  # strict FIFO
    req = act.request
    if m.version == "1.6" and isinstance(req, (v16.MeterValuesRequest, v16.StopTransactionRequest)):
        wire = req.transaction_id
        assert wire not in m.placeholders  # never a placeholder on the wire
        if kind in ("meter", "stop"):
            if tx in m.real:
                assert wire == m.real[tx]
            else:
                assert kind == "meter" and wire is ocppkit.UNSET  # its Start was dropped
    if m.version != "1.6" and isinstance(req, v201.TransactionEventRequest):
        assert req.seq_no == act.entry.seq_no


def send(outbox: Any, m: Model, outcome: str, now: float) -> Attempt | Wait | None:
    """One ``next()`` and, for an Attempt, the outcome; returns what ``next()`` gave."""
    act = outbox.next(now)
    if act is None or isinstance(act, Wait):
        assert act is None or act.until == m.due[outbox.entries()[0].id] > now
        return act
    assert isinstance(act, Attempt)
    check_attempt(act, m, now)
    i = act.entry.id
    if outcome == "disconnect":
        outbox.interrupted(i)
    elif outcome == "ok":
        kind, tx = m.committed[i]
        real = m.next_real
        response = start16_ok(real) if kind == "start" else response_for(m.version, act.entry.action)
        result = outbox.delivered(i, response, now)
        assert isinstance(result, Delivered) and result.dropped == ()
        m.delivered.append(i)
        if kind == "start":
            m.real[tx], m.next_real = real, real + 1
        if isinstance(act.request, v201.TransactionEventRequest):
            m.delivered_seqs.setdefault(tx, []).append(act.request.seq_no)
    else:
        m.failures[i] = m.failures.get(i, 0) + 1
        result2 = outbox.failed(i, "timeout" if outcome == "timeout" else "CALLERROR InternalError: x", now)
        if isinstance(result2, Retry):
            assert result2.at == now + outbox.settings.retry_interval * m.failures[i]
            m.due[i] = result2.at
        else:
            m.record_drops((result2,))
    return act


def run(version: str, kind: str, ops: list[tuple[str, str, int]], attempts: int, interval: float, cap: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stores = Stores(kind, Path(tmp), durability="off")
        options = {"attempts": attempts, "retry_interval": interval, "max_messages": cap}
        outbox = stores.outbox(version, **options)
        m = Model(version, attempts)
        now = T0
        for op, what, n in ops:
            if op == "submit":
                submit(outbox, m, what, n, now)
            elif op == "send":
                send(outbox, m, what, now)
            elif op == "advance":
                now += n
            else:
                outbox = stores.outbox(version, **options)  # crash: nothing but the store survives
            assert outbox.pending() == len(m.committed) - len(m.delivered) - len(m.dropped)
        # drain: connected for good, time runs on
        for _ in range(10 * (len(m.committed) + 1) * attempts):
            act = send(outbox, m, "ok", now)
            if act is None:
                break
            if isinstance(act, Wait):
                now = act.until
        stores.close()
    assert outbox.pending() == 0
    # every committed message delivered exactly once or dropped by a rule, in submit order
    assert sorted(m.delivered + list(m.dropped)) == sorted(m.committed)
    assert m.delivered == sorted(m.delivered) and len(set(m.delivered)) == len(m.delivered)
    for tx, seqs in m.delivered_seqs.items():
        assert seqs == sorted(seqs) and set(seqs) <= set(m.seqs[tx])


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=OPS, attempts=st.sampled_from([1, 1, 2, 3]), interval=st.sampled_from([0.0, 5.0, 60.0]), cap=st.integers(2, 6)
)
def test_nothing_is_lost_and_nothing_reordered(
    version: str, kind: str, ops: list[tuple[str, str, int]], attempts: int, interval: float, cap: int
) -> None:
    run(version, kind, ops, attempts, interval, cap)
