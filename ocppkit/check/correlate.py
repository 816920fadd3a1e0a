"""Pairing calls with their answers, frame by frame: the complete rules of ``ocppkit check``.

:class:`Correlator` takes one decoded (or undecodable) frame of a connection at a time, moves
the connection's observers (:mod:`ocppkit.check.observe`) through the state tables, and reports
what each side did wrong to the :class:`~ocppkit.check.findings.FindingLog`. The driver
(:mod:`ocppkit.check.analyze`) inlines its two commonest cases (a valid CALL, and the
CALLRESULT answering it) and hands it everything else: keep the two in step.

Time is the log's time (the records' timestamps), never the wall clock.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from ..codec import read_head
from ..errors import OcppError, PayloadError
from ..frames import Call, CallError, CallResult, CallResultError, MessageType, Send
from ..states import CALL, DEADLINE, RESPONSE, STRAY, TRANSMIT
from .findings import FindingLog
from .observe import INVALID, PLAIN, SPECIAL, Care, Conn, EarlyAnswer, Outstanding, SlotObserver
from .rules import CSMS, SIDE_NAMES, STATION, concurrent_call_severity
from .stats import Stats, StatsBook

__all__ = ["MAX_EXPIRED", "MAX_ORPHANS", "MAX_PENDING", "MAX_RECENT", "Correlator", "result_id"]

MAX_PENDING = 64  # outstanding calls per side before the oldest is given up
MAX_EXPIRED = 1024  # timed-out calls per side waiting for a late answer
MAX_RECENT = 128  # answered ids / SEND ids remembered per side (the last 0 to 128)
MAX_ORPHANS = 64  # answers held back in case their call comes later

_CALL_OR_SEND = (MessageType.CALL, MessageType.SEND)
_ANSWERS = (MessageType.CALLRESULT, MessageType.CALLERROR, MessageType.CALLRESULTERROR)


def result_id(data: str | bytes) -> str | None:
    """The id of a CALLRESULT written compactly (``[3,"<id>",``, no escape in the id): the cheap
    look the hot path can afford before it decodes; None for anything else."""
    if isinstance(data, str):
        if data.startswith('[3,"'):
            j = data.find('"', 4)
            if j > 4 and data.find("\\", 4, j) < 0:
                return data[4:j]
    elif data.startswith(b'[3,"'):
        j = data.find(b'"', 4)
        if j > 4 and data.find(b"\\", 4, j) < 0:
            return data[4:j].decode("utf-8", "replace")
    return None


def remember(d: SlotObserver, uid: str, pos: int) -> None:
    """Keep the id of a call ``d``'s side made as answered (the last 0 to MAX_RECENT ids)."""
    answered = d.answered
    answered[uid] = pos
    if len(answered) > MAX_RECENT:
        answered.clear()


class Correlator:
    """The rules for each frame of a connection.

    Parameters:
        log: where the findings go.
        book: the statistics of the run.
        timeout: seconds after which an answer is late.
        late_window: seconds a timed-out call waits for a late answer.
    """

    def __init__(self, log: FindingLog, book: StatsBook, timeout: float, late_window: float) -> None:
        self.log = log
        self.find = log.add
        self.book = book
        self.timeout = timeout
        self.late_window = late_window

    # ------------------------------------------------------------------ frames

    def frame(self, c: Conn, pos: int, ts: float | None, side: int, data: Any) -> None:
        """One frame of ``side`` (-1: not known) on a connection whose version is known."""
        c.frames += 1
        # A CALLRESULT is typed by the action of the call it answers: read its id first.
        uid = result_id(data)
        if uid is not None:
            d = c.sides[1 - side] if side >= 0 else None
            e = d.pending.pop(uid, None) if d is not None else None
            if d is None or e is None:
                self.answer(c, pos, ts, side, uid, data, None)
                return
            d.fire(RESPONSE)  # END
            d.ended()
            # the common case, kept short: a known side answers its peer's outstanding call
            try:
                r = c.codec.decode(data, e.action) if e.action in c.known else c.codec.decode(data)
            except OcppError as exc:
                r = exc
            if type(r) is not CallResult or r.relaxations or e.care:
                self.matched(c, pos, ts, side, uid, data, None, d, e, False, r)
                return
            s = e.stats
            s.ok += 1
            if e.time is not None and ts is not None:
                s.time(ts - e.time)
            remember(d, uid, pos)
            return
        try:
            f = c.codec.decode(data)
        except OcppError as exc:
            self.invalid(c, pos, ts, side, data, exc)
            return
        self.decoded(c, pos, ts, side, data, f)

    def decoded(self, c: Conn, pos: int, ts: float | None, side: int, data: Any, f: Any) -> None:
        """A frame the codec decoded."""
        t = type(f)
        if t is Call:
            self.call(c, pos, ts, side, f.unique_id, f.action, f.relaxations, PLAIN)
        elif t is CallResult:
            self.answer(c, pos, ts, side, f.unique_id, data, None)
        elif t is CallError:
            self.log.error_code(c, pos, ts, side, f)
            self.answer(c, pos, ts, side, f.unique_id, data, f)
        elif t is Send:
            self.send(c, pos, ts, side, f.unique_id, f.action, f.relaxations)
        elif t is CallResultError:
            self.log.error_code(c, pos, ts, side, f)
            at = next((d.answered[f.unique_id] for d in self._sides(c, side) if f.unique_id in d.answered), None)
            self.log.result_error(c, pos, ts, side, f, at)

    # ------------------------------------------------------------------ calls

    def stats(self, c: Conn, d: SlotObserver, action: str) -> Stats:
        """The stats of ``action`` called by ``d``'s side on ``c``, made fast-path eligible when
        the action goes the right way, is typed, and is not the boot."""
        s = d.stats.get(action)
        if s is None:
            s = d.stats[action] = self.book.get(c.station, d.side, action)
            who = c.who.get(action)
            if (who is None or who == d.side) and action != "BootNotification" and action in c.known:
                d.fast[action] = s
        return s

    def call(
        self, c: Conn, pos: int, ts: float | None, side: int, uid: str, action: str, relaxations: Any, care: Care
    ) -> None:
        """A CALL (valid, or ``care`` INVALID): the table's CALL input on its sender's slot."""
        who = c.who.get(action)
        if side < 0:
            side = CSMS if who == CSMS else STATION
        elif who is not None and who != side:
            self.find(
                "wrong-direction",
                c.station,
                pos,
                ts,
                f"{action} is sent by the {SIDE_NAMES[who]}, but the {SIDE_NAMES[side]} sent it",
                {"action": action, "unique_id": uid, "sender": SIDE_NAMES[side]},
            )
        d = c.sides[side]
        pend = d.pending
        if uid in pend:
            e = pend[uid]
            self.find(
                "duplicate-id",
                c.station,
                pos,
                ts,
                f"{action} call reuses id {uid!r} of the {e.action} call at {self.log.unit} {e.position}, "
                "still outstanding",
                {"action": action, "unique_id": uid, "first": e.position, "sender": SIDE_NAMES[side]},
            )
            return
        if d.fire(CALL) is not TRANSMIT and pend:  # the table would have it wait (ENQUEUE), or lacks the pair
            ouid, oe = next(iter(pend.items()))
            assert c.edition is not None
            self.find(
                "concurrent-call",
                c.station,
                pos,
                ts,
                f"{SIDE_NAMES[side]} sent {action} while its {oe.action} call (id {ouid!r}, "
                f"{self.log.unit} {oe.position}) was still outstanding",
                {
                    "action": action,
                    "unique_id": uid,
                    "outstanding": ouid,
                    "outstanding_position": oe.position,
                    "sender": SIDE_NAMES[side],
                },
                severity=concurrent_call_severity(c.edition),
            )
        elif uid in d.answered:
            first = d.answered[uid]
            self.find(
                "reused-id",
                c.station,
                pos,
                ts,
                f"{action} call reuses id {uid!r}, already answered at {self.log.unit} {first}",
                {"action": action, "unique_id": uid, "sender": SIDE_NAMES[side], "first_answer": first},
            )
        boot = c.boot
        if not boot.free or action == "BootNotification":
            if side == STATION and action == "BootNotification":
                boot.sent()
            why = boot.forbids(side, action)
            if why is not None:
                self.find(
                    "before-boot",
                    c.station,
                    pos,
                    ts,
                    f"{'station' if side == STATION else 'CSMS'} sent {action} {why[0]}",
                    {"action": action, "unique_id": uid, "boot": why[1]},
                )
        s = self.stats(c, d, action)
        s.calls += 1
        if relaxations:
            self.log.relaxed(c, pos, ts, action, "request", relaxations)
        if not care and (action == "BootNotification" or action not in c.known):
            care = SPECIAL  # its answer needs more than the fast path: the boot state, or no typing
        entry = Outstanding(action, ts, pos, care, s)
        if c.orphans and uid in c.orphans:
            o = c.orphans.pop(uid)
            self.find(
                "out-of-order",
                c.station,
                o.position,
                o.time,
                f"the answer to {action} (id {uid!r}) was recorded before its call at {self.log.unit} {pos}",
                {"action": action, "unique_id": uid, "call_position": pos},
            )
            d.fire(RESPONSE)  # END
            d.ended()
            self.matched(c, o.position, o.time, o.side, uid, o.data, o.error, d, entry, False)
            return
        pend[uid] = entry
        if len(pend) > MAX_PENDING:
            old = next(iter(pend))
            self.expire(c, d, old, pend.pop(old))
        if ts is not None and ts + self.timeout < c.next_check:
            c.next_check = ts + self.timeout

    def send(self, c: Conn, pos: int, ts: float | None, side: int, uid: str, action: str, relaxations: Any) -> None:
        """A 2.1 SEND: never answered, outside the slot."""
        if side < 0:
            side = CSMS if c.who.get(action) == CSMS else STATION
        d = c.sides[side]
        if uid in d.pending:
            self.find(
                "duplicate-id",
                c.station,
                pos,
                ts,
                f"SEND {action} reuses id {uid!r} of a call still outstanding (CALL and SEND share ids)",
                {"action": action, "unique_id": uid, "sender": SIDE_NAMES[side]},
            )
        sends = d.sends
        sends[uid] = pos
        if len(sends) > MAX_RECENT:
            del sends[next(iter(sends))]
        s = d.stats.get(action)
        if s is None:
            s = d.stats[action] = self.book.get(c.station, side, action)
        s.calls += 1
        if relaxations:
            self.log.relaxed(c, pos, ts, action, "SEND", relaxations)

    # ------------------------------------------------------------------ answers

    def answer(
        self, c: Conn, pos: int, ts: float | None, side: int, uid: str, data: Any, err: CallError | None
    ) -> None:
        """A CALLRESULT (``err`` None) or a CALLERROR: match it to the call it answers."""
        late = False
        d: SlotObserver | None = None
        e: Outstanding | None = None
        if side >= 0:
            d = c.sides[1 - side]
            e = d.pending.pop(uid, None)
            if e is None and d.expired:
                e = d.expired.pop(uid, None)
                late = e is not None
        else:
            for d in c.sides:
                e = d.pending.pop(uid, None)
                if e is not None:
                    break
            else:
                for d in c.sides:
                    e = d.expired.pop(uid, None)
                    if e is not None:
                        late = True
                        break
        if e is None or d is None:
            if side >= 0:
                c.sides[1 - side].fire(STRAY)  # DROP
            self.unmatched(c, pos, ts, side, uid, data, err)
            return
        if late:
            d.fire(STRAY)  # DROP: its call had timed out
        else:
            d.fire(RESPONSE)  # END
            d.ended()
        self.matched(c, pos, ts, side, uid, data, err, d, e, late)

    def matched(
        self,
        c: Conn,
        pos: int,
        ts: float | None,
        side: int,
        uid: str,
        data: Any,
        err: CallError | None,
        d: SlotObserver,
        e: Outstanding,
        late: bool,
        r: Any = None,
    ) -> None:
        """An answer to the call ``e`` of ``d``'s side (taken off the books by the caller)."""
        action, s = e.action, e.stats
        cs = d.side
        ok = False
        if err is None:
            if r is None:
                try:
                    r = c.codec.decode(data, action) if action in c.known else c.codec.decode(data)
                except OcppError as exc:
                    r = exc
            if isinstance(r, OcppError):
                s.invalid += 1
                self.invalid_answer(c, pos, ts, cs, uid, action, r, data)
            elif type(r) is CallResult:
                ok = True
                s.ok += 1
                if r.relaxations:
                    self.log.relaxed(c, pos, ts, action, "response", r.relaxations)
                if action == "BootNotification" and cs == STATION:
                    status = getattr(r.payload, "status", None)
                    if status is not None:
                        c.boot.answered(str(getattr(status, "value", status)))
                if e.care is INVALID:
                    self.find(
                        "accepted-invalid",
                        c.station,
                        pos,
                        ts,
                        f"{SIDE_NAMES[1 - cs]} answered the invalid {action} call at {self.log.unit} "
                        f"{e.position} with a CALLRESULT; the specification asks for a CALLERROR",
                        {"action": action, "unique_id": uid, "call_position": e.position},
                    )
            elif type(r) is CallError:  # not a CALLRESULT after all (an error frame with odd spacing)
                self.log.error_code(c, pos, ts, 1 - cs, r)
                s.errors += 1
                self.log.call_error(c, pos, ts, cs, action, None, r)
        else:
            s.errors += 1
            self.log.call_error(c, pos, ts, cs, action, e.position, err)
        if e.time is not None and ts is not None:
            s.time(ts - e.time)
            if late:
                rt = (ts - e.time) * 1000.0
                s.late += 1
                self.find(
                    "late-result",
                    c.station,
                    pos,
                    ts,
                    f"answer to {action} ({self.log.unit} {e.position}) came {rt / 1000:.3f} s after the call, "
                    f"after the {self.timeout:g} s timeout",
                    {
                        "action": action,
                        "unique_id": uid,
                        "call_position": e.position,
                        "delay_s": round(rt / 1000, 6),
                        "ok": ok,
                    },
                )
        remember(d, uid, pos)

    def unmatched(
        self, c: Conn, pos: int, ts: float | None, side: int, uid: str, data: Any, err: CallError | None
    ) -> None:
        """An answer for no outstanding call: a SEND answered, a second answer, or held a while
        in case its call comes later."""
        sides = (c.sides[1 - side],) if side >= 0 else c.sides
        what = "CALLERROR" if err is not None else "CALLRESULT"
        for d in sides:
            if uid in d.sends:
                self.find(
                    "send-answered",
                    c.station,
                    pos,
                    ts,
                    f"{what} answers the SEND at {self.log.unit} {d.sends[uid]}: a SEND is never answered",
                    {"unique_id": uid, "send_position": d.sends[uid]},
                )
                return
        for d in sides:
            at = d.answered.get(uid)
            if at is not None:
                self.find(
                    "duplicate-result",
                    c.station,
                    pos,
                    ts,
                    f"{what} for id {uid!r}, whose call was already answered at {self.log.unit} {at}",
                    {"unique_id": uid, "first_answer": at},
                )
                return
        if err is None:
            try:
                c.codec.decode(data)  # at least a well-formed frame?
            except OcppError as exc:
                self.log.malformed(c, pos, ts, exc)
                return
        if err is not None and uid == "-1":
            self.log.call_error(c, pos, ts, -1 if side < 0 else 1 - side, None, None, err)
            return
        c.orphans[uid] = EarlyAnswer(pos, ts, side, data, err)
        if len(c.orphans) > MAX_ORPHANS:
            old = next(iter(c.orphans))
            self.log.unknown_id(c, old, c.orphans.pop(old))
        if ts is not None and ts + self.timeout < c.next_check:
            c.next_check = ts + self.timeout

    def invalid_answer(
        self, c: Conn, pos: int, ts: float | None, cs: int, uid: str, action: str, exc: OcppError, data: Any
    ) -> None:
        """A CALLRESULT for ``cs``'s call that breaks its schema (or the frame rules)."""
        if isinstance(exc, PayloadError):
            self.log.schema(c, pos, ts, action, "response", exc)
        else:
            self.log.malformed(c, pos, ts, exc)
        if action == "BootNotification" and cs == STATION:
            # the boot state still follows the status the CSMS meant, even in an invalid response
            status = _untyped_status(data)
            if status is not None:
                c.boot.answered(status)

    # ------------------------------------------------------------------ invalid frames

    def invalid(self, c: Conn, pos: int, ts: float | None, side: int, data: Any, exc: OcppError) -> None:
        """A frame the codec refused."""
        mt = exc.message_type
        uid = exc.unique_id
        if mt in _CALL_OR_SEND and uid is not None:
            action = read_head(data).name or "?"
            is_call = mt == MessageType.CALL
            if isinstance(exc, PayloadError):
                self.log.schema(c, pos, ts, action, "request" if is_call else "SEND", exc)
            elif exc.details.get("rule") == "action":
                self.find(
                    "unknown-action",
                    c.station,
                    pos,
                    ts,
                    f"{action}: {exc.description} in OCPP {c.version} (expected reply: CALLERROR {exc.code})",
                    {"action": action, "unique_id": uid, "code": exc.code},
                )
            else:
                self.log.malformed(c, pos, ts, exc)
            if is_call:
                self.call(c, pos, ts, side, uid, action, (), INVALID)
            else:
                self.send(c, pos, ts, side, uid, action, ())
            return
        if mt in _ANSWERS and uid is not None:
            # a broken answer is still an answer: take the call off the books
            self.log.malformed(c, pos, ts, exc)
            for d in (c.sides[1 - side],) if side >= 0 else c.sides:
                e = d.pending.pop(uid, None)
                if e is not None:
                    d.fire(RESPONSE)  # END
                    d.ended()
                else:
                    e = d.expired.pop(uid, None)
                    if e is None:
                        continue
                    d.fire(STRAY)  # DROP: its call had timed out
                e.stats.invalid += 1
                remember(d, uid, pos)
                break
            return
        self.log.malformed(c, pos, ts, exc)

    # ------------------------------------------------------------------ time

    def expire(self, c: Conn, d: SlotObserver, uid: str, e: Outstanding) -> None:
        """``d``'s call ``e`` passed its deadline (or too many are outstanding): DEADLINE."""
        d.fire(DEADLINE)  # EXPIRE
        d.ended()
        x = d.expired
        x[uid] = e
        if len(x) > MAX_EXPIRED:
            old = next(iter(x))
            self.unanswered(c, d.side, old, x.pop(old), "no answer (too many unanswered calls to keep waiting)")
        if e.time is not None and e.time + self.late_window < c.next_check:
            c.next_check = e.time + self.late_window

    def tick(self, c: Conn, now: float) -> None:
        """Move calls past their deadline aside; give up late answers and orphans past their window."""
        if c.next_check == -math.inf:
            _rewind(c, now)
        timeout = self.timeout
        window = self.late_window
        nxt = math.inf
        for d in c.sides:
            p = d.pending
            if p:
                for uid in [u for u, e in p.items() if e.time is not None and e.time + timeout <= now]:
                    self.expire(c, d, uid, p.pop(uid))
                for e in p.values():
                    if e.time is not None and e.time + timeout < nxt:
                        nxt = e.time + timeout
            x = d.expired
            if x:
                for uid in [u for u, e in x.items() if e.time is not None and e.time + window <= now]:
                    self.unanswered(
                        c, d.side, uid, x.pop(uid), f"no answer within {timeout:g} s, nor within the next {window:g} s"
                    )
                for e in x.values():
                    if e.time is not None and e.time + window < nxt:
                        nxt = e.time + window
        if c.orphans:
            for uid in [u for u, o in c.orphans.items() if o.time is not None and o.time + timeout <= now]:
                self.log.unknown_id(c, uid, c.orphans.pop(uid))
            for o in c.orphans.values():
                if o.time is not None and o.time + timeout < nxt:
                    nxt = o.time + timeout
        c.next_check = nxt

    def close(self, c: Conn, reason: str, now: float | None) -> None:
        """The connection closed (or the input ended): what is still outstanding is unanswered."""
        end_of_input = reason == "end of input"
        for d in c.sides:
            for uid, e in list(d.pending.items()):
                if end_of_input:
                    self.unanswered(c, d.side, uid, e, "no answer before the end of the input", final=True, now=now)
                else:
                    self.unanswered(c, d.side, uid, e, f"no answer before the connection closed ({reason})")
            d.pending.clear()
            for uid, e in list(d.expired.items()):
                self.unanswered(
                    c,
                    d.side,
                    uid,
                    e,
                    f"no answer within {self.timeout:g} s, nor until the "
                    f"{'end of the input' if end_of_input else 'connection closed'}",
                )
            d.expired.clear()
        for uid, o in list(c.orphans.items()):
            self.log.unknown_id(c, uid, o)
        c.orphans.clear()

    def unanswered(
        self, c: Conn, side: int, uid: str, e: Outstanding, why: str, final: bool = False, now: float | None = None
    ) -> None:
        """A call that got no answer; ``final``: because the input ended, at the log's time ``now``."""
        e.stats.unanswered += 1
        severity = None
        if final and (e.time is None or now is None or now - e.time < self.timeout):
            severity = "warning"  # the recording stopped before the call's deadline
            why += f" (which came less than {self.timeout:g} s after the call)" if e.time is not None else ""
        self.log.unanswered(c, side, uid, e, why, severity)

    @staticmethod
    def _sides(c: Conn, side: int) -> tuple[SlotObserver, ...]:
        """The observers of ``side``'s calls; both when the side is not known."""
        return (c.sides[side],) if side >= 0 else c.sides


def _rewind(c: Conn, now: float) -> None:
    """After the clock went back: nothing a connection holds is later than ``now``."""
    for d in c.sides:
        for e in (*d.pending.values(), *d.expired.values()):
            if e.time is not None and e.time > now:
                e.time = now
    for o in c.orphans.values():
        if o.time is not None and o.time > now:
            o.time = now


def _untyped_status(data: Any) -> str | None:
    try:
        frame = msgspec.json.decode(data)
        status = frame[2].get("status")
    except (msgspec.DecodeError, IndexError, AttributeError, TypeError):
        return None
    return status if isinstance(status, str) else None
