"""Correlating recorded OCPP traffic: the findings and the statistics of ``ocppkit check``.

:class:`Analyzer` consumes the records of :mod:`ocppkit.check.inputs` one at a time and keeps,
per connection, only what the rules need: the calls each side has outstanding (one, normally),
calls that passed their deadline and may still get a late answer (bounded), the ids answered
recently (bounded, to recognise duplicate answers), 2.1 SEND ids (bounded) and answers that
came before their call (bounded, a short window). Nothing grows with the number of frames:
counters and response-time histograms are kept per station and action.

Time is the log's time (the records' timestamps), never the wall clock.
"""

from __future__ import annotations

import math
from collections import Counter as _Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import repeat as _repeat
from operator import mul as _mul
from typing import Any

import msgspec

from .. import Codec, OcppError, PayloadError, Policy
from ..frames import Call, CallError, CallResult, CallResultError, Send
from .inputs import CLOSE, NOTE, OPEN, RECEIVED, ConnInfo, Record, Source
from .rules import CSMS, STATION, allowed_while_pending, error_code_fault, initiator, known_actions, peek

__all__ = ["KINDS", "SEVERITIES", "Analyzer", "Finding", "Kind", "Options", "Summary"]

VERSIONS = ("1.6", "2.0.1", "2.1")
SEVERITIES = ("info", "warning", "error")
SIDE_NAMES = ("station", "csms")


class Kind(msgspec.Struct, frozen=True):
    name: str
    severity: str
    title: str


#: Every finding, its default severity and a one-line title (docs/check.md explains each).
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("schema", "error", "payload breaks its schema"),
        Kind("malformed", "error", "not a valid OCPP-J frame"),
        Kind("unknown-action", "error", "CALL for an action the version does not define"),
        Kind("wrong-direction", "error", "CALL sent by the side that should receive it"),
        Kind("unanswered", "error", "CALL never answered"),
        Kind("late-result", "warning", "answer after the call's timeout"),
        Kind("unknown-id", "warning", "answer whose id matches no call"),
        Kind("duplicate-result", "error", "second answer to the same call"),
        Kind("out-of-order", "error", "answer recorded before its call"),
        Kind("duplicate-id", "error", "CALL reusing the id of a call still outstanding"),
        Kind("reused-id", "warning", "CALL reusing the id of a call already answered"),
        Kind("concurrent-call", "error", "CALL sent while the same side has one outstanding"),
        Kind("call-error", "warning", "CALLERROR sent"),
        Kind("error-code", "error", "error code the version does not define (or spells otherwise)"),
        Kind("result-error", "warning", "CALLRESULTERROR sent (2.1)"),
        Kind("accepted-invalid", "warning", "invalid CALL answered with a CALLRESULT"),
        Kind("before-boot", "error", "message before the boot was accepted"),
        Kind("send-answered", "error", "2.1 SEND answered"),
        Kind("relaxed", "info", "accepted only thanks to the validation policy"),
        Kind("time-backwards", "info", "timestamp earlier than the previous frame's"),
        Kind("unreadable-line", "warning", "log line that could not be read"),
        Kind("handshake", "warning", "WebSocket upgrade refused or without an OCPP subprotocol"),
        Kind("websocket-error", "error", "WebSocket protocol error"),
        Kind("websocket-close", "info", "WebSocket closed with an error code"),
        Kind("binary-message", "error", "binary WebSocket message"),
        Kind("capture-gap", "warning", "bytes missing from the capture"),
    )
}

_RANK = {s: i for i, s in enumerate(SEVERITIES)}

# Boot states of a connection (see docs/check.md, "before-boot").
# (the two settled states come first: the fast path tests `boot > B_ACCEPTED`)
B_UNKNOWN, B_ACCEPTED, B_WAIT, B_PENDING, B_REJECTED = range(5)
_BOOT_NAMES = ("unknown", "Accepted", "sent", "Pending", "Rejected")
_BOOT_STATUS = {"Accepted": B_ACCEPTED, "Pending": B_PENDING, "Rejected": B_REJECTED}

# Response-time histogram: bucket 0 holds <= 10 µs; bucket b covers a 5 % wide range above it.
_H_BASE = 0.01  # ms
_H_K = 1.0 / math.log(1.05)
_H_INV = 1.0 / _H_BASE
_log = math.log

# record code -> side: 0 station, 1 CSMS, -1 unknown; 8: RX/TX whose recorder is not known yet;
# 9: a control record (OPEN, CLOSE, NOTE)
_SIDES_UNKNOWN = [0, 1, 8, 8, -1, 9, 9, 9]
_SIDES_CSMS = [0, 1, 0, 1, -1, 9, 9, 9]
_SIDES_STATION = [0, 1, 1, 0, -1, 9, 9, 9]

# the `bad` flag of an outstanding call: 0 plain; _INVALID the call broke its schema or the frame
# rules (a CALLRESULT for it is `accepted-invalid`); _SPECIAL its answer takes the full path
_INVALID = 1
_SPECIAL = 2
_RTS_FOLD = 127  # response times collected per (station, side, action) before folding

_MAX_PENDING = 64  # outstanding calls per side before the oldest is given up
_MAX_EXPIRED = 1024  # timed-out calls per side waiting for a late answer
_MAX_RECENT = 128  # answered ids / SEND ids remembered per side (the last 0 to 128)
_MAX_ORPHANS = 64  # answers held back in case their call comes later
_GUESS_CALLS = 8  # calls looked at to guess a connection's version
_GUESS_RECORDS = 64
_HOLD_RECORDS = 100_000  # records held while the recorder's side is unknown


class Finding(msgspec.Struct, frozen=True, gc=False):
    """One finding: what, where (file and line or packet number), when, which station."""

    kind: str
    severity: str
    file: str
    position: int
    unit: str  # "line" or "packet"
    time: float | None
    station: str
    message: str
    details: dict[str, Any] = {}


@dataclass
class Options:
    """What ``ocppkit check`` was asked for (the command line maps onto these)."""

    version: str = "auto"  # "1.6", "2.0.1", "2.1" or "auto"
    policy: Policy | None = None  # None: strict
    timeout: float = 30.0  # seconds after which an answer is late
    late_window: float = 300.0  # seconds a timed-out call waits for a late answer
    recorded_by: str = "auto"  # "csms", "station" or "auto": whose RX/TX markers
    max_findings: int = 10_000  # findings kept in detail (all are counted)
    default_station: str | None = None
    input_format: str = "auto"
    severities: dict[str, str] = field(default_factory=dict)  # kind -> severity overrides


class _Conn:
    """The state of one connection; bounded whatever the length of the recording."""

    __slots__ = (
        "key",
        "station",
        "version",
        "codec",
        "guessed",
        "pend",
        "expired",
        "answered",
        "fast",
        "who",
        "known",
        "sends",
        "orphans",
        "boot",
        "next_check",
        "hold",
        "held_calls",
        "frames",
        "stats",
        "info",
        "first",
        "last",
    )

    def __init__(self, key: str, station: str) -> None:
        self.key = key
        self.station = station
        self.version: str | None = None
        self.codec: Any = None
        self.guessed = ""
        # per side (0: calls the station made, 1: calls the CSMS made): uid -> entry
        self.pend: tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]] = ({}, {})
        self.expired: tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]] = ({}, {})
        # ids of calls answered lately, per side, in two generations of at most _MAX_RECENT
        self.answered: list[dict[str, int]] = [{}, {}]
        # per side: action -> stats, for the actions the fast path may take (right direction, not boot)
        self.fast: tuple[dict[str, list[Any]], dict[str, list[Any]]] = ({}, {})
        self.who: dict[str, int | None] = {}  # action -> STATION / CSMS / None (both)
        self.known: frozenset[str] = frozenset()
        self.sends: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self.orphans: dict[str, tuple[Any, ...]] = {}
        self.boot = B_UNKNOWN
        self.next_check = math.inf
        self.hold: list[tuple[int, float | None, int, Any]] | None = None
        self.held_calls = 0
        self.frames = 0
        self.stats: tuple[dict[str, list[Any]], dict[str, list[Any]]] = ({}, {})
        self.info = ""
        self.first: float | None = None
        self.last: float | None = None


# stats list layout
# S_RTS: response times (s) not yet folded into S_HIST (ms buckets); S_MAX in ms
S_CALLS, S_OK, S_ERR, S_INVALID, S_UNANSWERED, S_LATE, S_RTS, S_SUM, S_MAX, S_HIST = range(10)


def _new_stats() -> list[Any]:
    return [0, 0, 0, 0, 0, 0, [], 0.0, 0.0, {}]


def _fold(s: list[Any]) -> None:
    """Move the response times collected in ``s[S_RTS]`` into the histogram, in C loops."""
    rts = s[S_RTS]
    if not rts:
        return
    top = max(rts) * 1000.0
    if top > s[S_MAX]:
        s[S_MAX] = top
    # bucket = int(log(ms / 0.01) * K) + 1, with anything up to 10 µs (or negative) in bucket 1
    scaled = map(max, map(_mul, rts, _repeat(1000.0 * _H_INV)), _repeat(1.0))
    counts = _Counter(map(int, map(_mul, map(_log, scaled), _repeat(_H_K))))
    h = s[S_HIST]
    for b, n in counts.items():
        h[b + 1] = h.get(b + 1, 0) + n
    rts.clear()


class Summary(msgspec.Struct):
    """Totals of one run: what the report prints."""

    files: list[dict[str, Any]]
    frames: int
    findings: list[Finding]
    dropped_findings: int
    by_kind: dict[str, int]
    by_severity: dict[str, int]
    stations: dict[str, dict[str, Any]]
    actions: list[dict[str, Any]]
    first_time: float | None
    last_time: float | None
    #: kind -> severity -> count: the severities the findings of each kind really got
    by_kind_severity: dict[str, dict[str, int]] = {}


class Analyzer:
    """Feed it sources (:meth:`run`), then read :meth:`summary`."""

    def __init__(self, options: Options | None = None) -> None:
        self.o = options or Options()
        if self.o.version not in (*VERSIONS, "auto"):
            raise ValueError(f"version: expected 1.6, 2.0.1, 2.1 or auto, got {self.o.version!r}")
        self._codecs: dict[str, Any] = {}
        self.conns: dict[str, _Conn] = {}
        self.findings: list[Finding] = []
        self.dropped = 0
        self.by_kind: dict[str, int] = {}
        self.by_kind_severity: dict[str, dict[str, int]] = {}
        self.by_severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        self.stats: dict[tuple[str, int, str], list[Any]] = {}
        self.stations: dict[str, dict[str, Any]] = {}
        self.files: list[dict[str, Any]] = []
        self.frames = 0
        self.first_time: float | None = None
        self.last_time: float | None = None
        self._severity = {k: self.o.severities.get(k, v.severity) for k, v in KINDS.items()}
        # per source
        self._file = ""
        self._unit = "line"
        self._now: float | None = None
        self._sidemap: list[int] = _SIDES_UNKNOWN
        self._oriented = ""

    # ------------------------------------------------------------------ public

    def codec(self, version: str) -> Any:
        c = self._codecs.get(version)
        if c is None:
            c = self._codecs[version] = Codec(version, policy=self.o.policy)
        return c

    def run(self, source: Source, progress: Callable[[int], None] | None = None, every: int = 16384) -> None:
        """Check one source from start to end; ``progress(records so far)`` is called every ``every``
        records."""
        self._begin(source)
        records: Iterable[Record] = source.records()
        if progress is not None:
            records = _ticking(records, progress, every)
        self._loop(records)
        self._end(source)

    def summary(self) -> Summary:
        findings = sorted(self.findings, key=lambda f: (self._file_order(f.file), f.position, f.kind))
        actions = []
        for st in self.stations.values():
            st["calls"] = 0
        for (station, side, action), s in sorted(self.stats.items()):
            actions.append(_stats_row(station, SIDE_NAMES[side], action, s))
            if station in self.stations:
                self.stations[station]["calls"] += s[S_CALLS]
        return Summary(
            files=self.files,
            frames=self.frames,
            findings=findings,
            dropped_findings=self.dropped,
            by_kind=dict(sorted(self.by_kind.items())),
            by_kind_severity={k: dict(v) for k, v in sorted(self.by_kind_severity.items())},
            by_severity=self.by_severity,
            stations=dict(sorted(self.stations.items())),
            actions=actions,
            first_time=self.first_time,
            last_time=self.last_time,
        )

    def _file_order(self, name: str) -> int:
        for i, f in enumerate(self.files):
            if f["name"] == name:
                return i
        return len(self.files)

    # ------------------------------------------------------------------ sources

    def _begin(self, source: Source) -> None:
        self._file = source.name
        self._unit = source.unit
        self._now = None
        self._hold_records = None
        rb = self.o.recorded_by
        if rb == "csms":
            self._sidemap = _SIDES_CSMS
        elif rb == "station":
            self._sidemap = _SIDES_STATION
        else:
            self._sidemap = _SIDES_UNKNOWN
        self._oriented = rb if rb != "auto" else ""

    def _end(self, source: Source) -> None:
        if self._hold_records:
            self._orient(None)
        for c in list(self.conns.values()):
            self._close(c, None, None, "end of input")
        self.conns.clear()
        entry: dict[str, Any] = {
            "name": source.name,
            "format": source.kind,
            "unit": source.unit,
            "frames": source.frames,
            "skipped": source.skipped,
        }
        if self._oriented:
            entry["recorded_by"] = self._oriented
        schema = getattr(source, "schema", None)
        if schema is not None:
            entry["keys"] = {
                k: v for k, v in schema._asdict().items() if isinstance(v, str) and not v.startswith("~ocppkit")
            }
        if hasattr(source, "streams"):
            entry["tcp_streams"] = source.streams
        self.files.append(entry)

    # ------------------------------------------------------------------ the loop

    _hold_records: list[Record] | None = None

    def _loop(self, records: Iterable[Record]) -> None:
        # The hot loop. The common cases (a CALL, and the CALLRESULT answering it, on a connection
        # in good standing) are handled inline; everything else goes through _frame, which holds
        # the complete rules. Keep the two in step.
        conns = self.conns
        frame = self._frame
        sidemap = self._sidemap
        now = self._now if self._now is not None else -math.inf
        timeout = self.o.timeout
        holding = self._hold_records is not None
        for rec in records:
            pos, ts, code, key, data = rec
            side = sidemap[code]
            if side > 1 or holding:
                self._now = now if now != -math.inf else None
                if holding:
                    held = self._hold_records
                    assert held is not None
                    held.append(rec)
                    if (side == 8 and self._orient(rec)) or (len(held) > _HOLD_RECORDS and self._orient(None)):
                        sidemap, now, holding = self._sidemap, self._resume(), False
                elif side == 9:
                    self._control(pos, ts, code, key, data)
                else:  # side == 8: RX/TX before we know whose
                    self._hold_records = [rec]
                    holding = True
                    if self._orient(rec):
                        sidemap, now, holding = self._sidemap, self._resume(), False
                continue
            c = conns.get(key)
            if c is None:
                c = self._open(key, ConnInfo(key))
                if self.first_time is None and ts is not None:
                    self.first_time = ts
            if ts is not None:
                if ts < now:
                    if now - ts > 0.001:  # the log's clock jumped back: from here on, its time
                        self._time_backwards(c, pos, ts, now)
                        now = ts
                else:
                    now = ts
                if ts >= c.next_check:
                    self._tick(c, ts)
            codec = c.codec
            if codec is None or side < 0:
                if codec is None:
                    self._hold(c, pos, ts, side, data)
                else:
                    frame(c, pos, ts, side, data)
                continue
            # --- fast path: a CALLRESULT answering the peer's outstanding call
            if type(data) is str:
                result = data.startswith('[3,"')
                if result:
                    j = data.find('"', 4)
                    uid = data[4:j] if j > 4 and data.find("\\", 4, j) < 0 else None
            else:
                result = data.startswith(b'[3,"')
                if result:
                    j = data.find(b'"', 4)
                    uid = data[4:j].decode("utf-8", "replace") if j > 4 and data.find(b"\\", 4, j) < 0 else None
            if result:
                cs = 1 - side
                e = c.pend[cs].pop(uid, None) if uid is not None else None
                if e is None:
                    frame(c, pos, ts, side, data)
                    continue
                c.frames += 1
                action, cts, cpos, bad, st = e
                if bad:
                    self._matched(c, pos, ts, side, uid, data, None, cs, e, False)  # type: ignore[arg-type]
                    continue
                try:
                    r = codec.decode(data, action)
                except OcppError as exc:
                    r = exc
                if type(r) is not CallResult or r.relaxations:
                    self._matched(c, pos, ts, side, uid, data, None, cs, e, False, r)  # type: ignore[arg-type]
                    continue
                st[S_OK] += 1
                if cts is not None and ts is not None:
                    rts = st[S_RTS]
                    rts.append(ts - cts)
                    if len(rts) > _RTS_FOLD:
                        _fold(st)
                answered = c.answered[cs]
                answered[uid] = pos  # type: ignore[index]
                if len(answered) > _MAX_RECENT:
                    answered.clear()
                continue
            # --- fast path: a valid CALL from a side with nothing outstanding, boot settled
            try:
                f = codec.decode(data)
            except OcppError as exc:
                c.frames += 1
                self._invalid(c, pos, ts, side, data, exc)
                continue
            if type(f) is Call:
                action = f.action
                uid = f.unique_id
                pend = c.pend[side]
                st = c.fast[side].get(action)  # None for actions that need the full rules
                if st is None or pend or f.relaxations or c.orphans or c.boot > B_ACCEPTED or uid in c.answered[side]:
                    c.frames += 1
                    self._call(c, pos, ts, side, uid, action, f.relaxations, 0)
                    continue
                st[S_CALLS] += 1
                c.frames += 1
                pend[uid] = (action, ts, pos, 0, st)
                if ts is not None and ts + timeout < c.next_check:
                    c.next_check = ts + timeout
                continue
            c.frames += 1
            self._decoded(c, pos, ts, side, data, f)
        if now != -math.inf:
            self._now = now
            if self.last_time is None or now > self.last_time:
                self.last_time = now

    def _resume(self) -> float:
        return self._now if self._now is not None else -math.inf

    def _replay(self, records: list[Record]) -> None:
        self._hold_records = None
        self._loop(records)

    def _orient(self, rec: Record | None) -> bool:
        """Decide whose RX/TX the markers are; True when decided (held records replayed)."""
        if rec is not None:
            pos, ts, code, key, data = rec
            t, uid, action = peek(data)
            if t != 2 or action is None:
                return False
            who = initiator(None, action)
            if who is None:
                return False
            # a station-initiated call received by the recorder: the recorder is the CSMS
            csms_recorded = (who == STATION) == (code == RECEIVED)
            self._oriented = "csms" if csms_recorded else "station"
            why = f"{'received' if code == RECEIVED else 'sent'} {action} at {self._unit} {pos}"
        else:
            self._oriented = "csms"
            why = "no call told; assumed"
        self._sidemap = _SIDES_CSMS if self._oriented == "csms" else _SIDES_STATION
        self._oriented += f" ({why})"
        held = self._hold_records or []
        self._replay(held)
        return True

    # ------------------------------------------------------------------ connections

    def _control(self, pos: int, ts: float | None, code: int, key: str, data: Any) -> None:
        if ts is not None and self.first_time is None:
            self.first_time = ts
        if code == OPEN:
            old = self.conns.get(key)
            if old is not None and old.frames:
                self._close(old, pos, ts, "reopened")
            if old is None or old.frames:
                self._open(key, data)
            else:
                self._configure(old, data)
        elif code == CLOSE:
            c = self.conns.pop(key, None)
            if c is not None:
                self._close(c, pos, ts, str(data))
        elif code == NOTE:
            kind, message, details = data
            c = self.conns.get(key)
            station = c.station if c is not None else key
            self._find(kind, station, pos, ts, message, details)

    def _open(self, key: str, info: ConnInfo) -> _Conn:
        c = _Conn(key, info.station)
        self.conns[key] = c
        st = self.stations.get(c.station)
        if st is None:
            st = self.stations[c.station] = {
                "versions": [],
                "connections": 0,
                "frames": 0,
                "calls": 0,
                "findings": dict.fromkeys(SEVERITIES, 0),
            }
        st["connections"] += 1
        self._configure(c, info)
        return c

    def _configure(self, c: _Conn, info: ConnInfo) -> None:
        c.info = info.detail
        version = self.o.version if self.o.version != "auto" else info.version
        if version is not None:
            self._set_version(c, version, "given" if self.o.version != "auto" else info.source)
        else:
            c.hold = []

    def _set_version(self, c: _Conn, version: str, how: str) -> None:
        c.version = version
        c.codec = self.codec(version)
        c.known = known_actions(version)
        c.who = {a: initiator(version, a) for a in c.known}
        c.guessed = how
        versions = self.stations[c.station]["versions"] if c.station in self.stations else None
        label = f"{version} ({how})"
        if versions is not None and label not in versions:
            versions.append(label)

    def _hold(self, c: _Conn, pos: int, ts: float | None, side: int, data: Any) -> None:
        assert c.hold is not None
        c.hold.append((pos, ts, side, data))
        if peek(data)[0] in (2, 6):
            c.held_calls += 1
        if len(c.hold) >= _GUESS_RECORDS or c.held_calls >= _GUESS_CALLS:
            self._guess(c)

    def _guess(self, c: _Conn) -> None:
        """Pick the version under which most held calls decode; ties: 2.0.1, then 1.6, then 2.1."""
        held = c.hold or []
        c.hold = None
        scores = dict.fromkeys(("2.0.1", "1.6", "2.1"), 0)
        calls = 0
        for _pos, _ts, _side, data in held:
            if peek(data)[0] not in (2, 6):
                continue
            calls += 1
            for v in scores:
                try:
                    f = self.codec(v).decode(data)
                except OcppError:
                    continue
                if type(f) in (Call, Send):
                    scores[v] += 1
        best = max(scores, key=lambda v: scores[v])
        self._set_version(c, best, f"guessed: {scores[best]} of {calls} calls valid")
        latest = -math.inf
        for pos, ts, side, data in held:
            if ts is not None:
                if ts < latest:
                    if latest - ts > 0.001:  # the clock went back (reported when it was read)
                        c.next_check = -math.inf
                        latest = ts
                else:
                    latest = ts
                if ts >= c.next_check:
                    self._tick(c, ts)
            self._frame(c, pos, ts, side, data)

    def _close(self, c: _Conn, pos: int | None, ts: float | None, reason: str) -> None:
        if c.hold is not None:
            self._guess(c)
        end_of_input = reason == "end of input"
        for side in (0, 1):
            for uid, e in list(c.pend[side].items()):
                if end_of_input:
                    self._unanswered(c, side, uid, e, "no answer before the end of the input", final=True)
                else:
                    self._unanswered(c, side, uid, e, f"no answer before the connection closed ({reason})")
            c.pend[side].clear()
            for uid, e in list(c.expired[side].items()):
                self._unanswered(
                    c,
                    side,
                    uid,
                    e,
                    f"no answer within {self.o.timeout:g} s, nor until the "
                    f"{'end of the input' if end_of_input else 'connection closed'}",
                )
            c.expired[side].clear()
        for uid, o in list(c.orphans.items()):
            self._orphan_out(c, uid, o)
        c.orphans.clear()
        self.frames += c.frames
        st = self.stations.get(c.station)
        if st is not None:
            st["frames"] += c.frames

    # ------------------------------------------------------------------ time

    def _tick(self, c: _Conn, now: float) -> None:
        """Move calls past their deadline aside; give up late answers and orphans past their window."""
        if c.next_check == -math.inf:
            _rewind(c, now)
        timeout = self.o.timeout
        window = self.o.late_window
        nxt = math.inf
        for side in (0, 1):
            p = c.pend[side]
            if p:
                for uid in [u for u, e in p.items() if e[1] is not None and e[1] + timeout <= now]:
                    self._expire(c, side, uid, p.pop(uid))
                for e in p.values():
                    if e[1] is not None and e[1] + timeout < nxt:
                        nxt = e[1] + timeout
            x = c.expired[side]
            if x:
                for uid in [u for u, e in x.items() if e[1] is not None and e[1] + window <= now]:
                    self._unanswered(
                        c, side, uid, x.pop(uid), f"no answer within {timeout:g} s, nor within the next {window:g} s"
                    )
                for e in x.values():
                    if e[1] is not None and e[1] + window < nxt:
                        nxt = e[1] + window
        if c.orphans:
            for uid in [u for u, o in c.orphans.items() if o[1] is not None and o[1] + timeout <= now]:
                self._orphan_out(c, uid, c.orphans.pop(uid))
            for o in c.orphans.values():
                if o[1] is not None and o[1] + timeout < nxt:
                    nxt = o[1] + timeout
        c.next_check = nxt

    def _expire(self, c: _Conn, side: int, uid: str, e: tuple[Any, ...]) -> None:
        x = c.expired[side]
        x[uid] = e
        if len(x) > _MAX_EXPIRED:
            old = next(iter(x))
            self._unanswered(c, side, old, x.pop(old), "no answer (too many unanswered calls to keep waiting)")
        if e[1] is not None and e[1] + self.o.late_window < c.next_check:
            c.next_check = e[1] + self.o.late_window

    def _time_backwards(self, c: _Conn, pos: int, ts: float, now: float) -> None:
        """The log's clock went back: reported once; the frames after it are timed on the new clock.

        Whatever was stamped later than the new time (calls waiting for an answer, answers
        waiting for their call) is moved to it, on every connection of the file at its next
        frame (``_tick``): deadlines run from the jump and response times stay positive,
        instead of every later frame looking earlier than those entries.
        """
        if self.last_time is None or now > self.last_time:
            self.last_time = now
        for conn in self.conns.values():
            conn.next_check = -math.inf  # rewind it at its next frame
        self._find(
            "time-backwards",
            c.station,
            pos,
            ts,
            f"time goes back {now - ts:.3f} s from the latest frame before it (later frames are timed from here)",
            {"back_s": round(now - ts, 6)},
        )

    # ------------------------------------------------------------------ frames

    def _frame(self, c: _Conn, pos: int, ts: float | None, side: int, data: Any) -> None:
        c.frames += 1
        # A CALLRESULT is typed by the action of the call it answers: read its id first.
        uid: str | None = None
        if type(data) is str:
            if data.startswith('[3,"'):
                j = data.find('"', 4)
                if j > 4 and data.find("\\", 4, j) < 0:
                    uid = data[4:j]
        elif data.startswith(b'[3,"'):
            j = data.find(b'"', 4)
            if j > 4 and data.find(b"\\", 4, j) < 0:
                uid = data[4:j].decode("utf-8", "replace")
        if uid is not None:
            e = c.pend[1 - side].pop(uid, None) if side >= 0 else None
            if e is None:
                self._answer(c, pos, ts, side, uid, data, None)
                return
            # the common case, kept short: a known side answers its peer's outstanding call
            action, cts, cpos, bad, s = e
            try:
                r = c.codec.decode(data, action) if action in c.known else c.codec.decode(data)
            except OcppError as exc:
                r = exc
            if type(r) is not CallResult or r.relaxations or bad:
                self._matched(c, pos, ts, side, uid, data, None, 1 - side, e, False, r)
                return
            s[S_OK] += 1
            if cts is not None and ts is not None:
                s[S_RTS].append(ts - cts)
                if len(s[S_RTS]) > _RTS_FOLD:
                    _fold(s)
            self._remember(c, 1 - side, uid, pos)
            return
        try:
            f = c.codec.decode(data)
        except OcppError as exc:
            self._invalid(c, pos, ts, side, data, exc)
            return
        self._decoded(c, pos, ts, side, data, f)

    def _decoded(self, c: _Conn, pos: int, ts: float | None, side: int, data: Any, f: Any) -> None:
        t = type(f)
        if t is Call:
            self._call(c, pos, ts, side, f.unique_id, f.action, f.relaxations, 0)
        elif t is CallResult:
            self._answer(c, pos, ts, side, f.unique_id, data, None)
        elif t is CallError:
            self._error_code(c, pos, ts, side, f, "CALLERROR")
            self._answer(c, pos, ts, side, f.unique_id, data, f)
        elif t is Send:
            self._send(c, pos, ts, side, f.unique_id, f.action, f.relaxations)
        elif t is CallResultError:
            self._error_code(c, pos, ts, side, f, "CALLRESULTERROR")
            self._result_error(c, pos, ts, side, f)

    def _error_code(self, c: _Conn, pos: int, ts: float | None, side: int, f: Any, what: str) -> None:
        """A CALLERROR's (CALLRESULTERROR's) code must be one of the version's, in its spelling."""
        version = c.version or "2.0.1"
        fault = error_code_fault(f.error_code, version)
        if fault is None:
            return
        details: dict[str, Any] = {"code": f.error_code, "unique_id": f.unique_id, "frame": what}
        if fault[1] is not None:
            details["expected"] = fault[1]
        if side >= 0:
            details["sender"] = SIDE_NAMES[side]
        self._find("error-code", c.station, pos, ts, f"{what} code {f.error_code!r} {fault[0]}", details)

    def _call(
        self, c: _Conn, pos: int, ts: float | None, side: int, uid: str, action: str, relaxations: Any, bad: int
    ) -> None:
        who = c.who.get(action)
        if side < 0:
            side = CSMS if who == CSMS else STATION
        elif who is not None and who != side:
            self._find(
                "wrong-direction",
                c.station,
                pos,
                ts,
                f"{action} is sent by the {SIDE_NAMES[who]}, but the {SIDE_NAMES[side]} sent it",
                {"action": action, "unique_id": uid, "sender": SIDE_NAMES[side]},
            )
        pend = c.pend[side]
        if pend:
            if uid in pend:
                e = pend[uid]
                self._find(
                    "duplicate-id",
                    c.station,
                    pos,
                    ts,
                    f"{action} call reuses id {uid!r} of the {e[0]} call at {self._unit} {e[2]}, still outstanding",
                    {"action": action, "unique_id": uid, "first": e[2], "sender": SIDE_NAMES[side]},
                )
                return
            ouid, oe = next(iter(pend.items()))
            self._find(
                "concurrent-call",
                c.station,
                pos,
                ts,
                f"{SIDE_NAMES[side]} sent {action} while its {oe[0]} call (id {ouid!r}, {self._unit} {oe[2]}) "
                "was still outstanding",
                {
                    "action": action,
                    "unique_id": uid,
                    "outstanding": ouid,
                    "outstanding_position": oe[2],
                    "sender": SIDE_NAMES[side],
                },
                severity="warning" if c.version == "1.6" else None,  # 1.6: SHOULD NOT; 2.x: SHALL NOT
            )
        elif uid in c.answered[side]:
            first = c.answered[side][uid]
            self._find(
                "reused-id",
                c.station,
                pos,
                ts,
                f"{action} call reuses id {uid!r}, already answered at {self._unit} {first}",
                {"action": action, "unique_id": uid, "sender": SIDE_NAMES[side], "first_answer": first},
            )
        if c.boot != B_ACCEPTED and (c.boot != B_UNKNOWN or action == "BootNotification"):
            self._boot_call(c, pos, ts, side, uid, action)
        s = c.stats[side].get(action)
        if s is None:
            s = c.stats[side][action] = self._global_stats(c.station, side, action)
            if (who is None or who == side) and action != "BootNotification" and action in c.known:
                c.fast[side][action] = s
        s[S_CALLS] += 1
        if relaxations:
            self._relaxed(c, pos, ts, action, "request", relaxations)
        if not bad and (action == "BootNotification" or action not in c.known):
            bad = _SPECIAL  # its answer needs more than the fast path: the boot state, or no typing
        entry = (action, ts, pos, bad, s)
        if c.orphans and uid in c.orphans:
            o = c.orphans.pop(uid)
            self._find(
                "out-of-order",
                c.station,
                o[0],
                o[1],
                f"the answer to {action} (id {uid!r}) was recorded before its call at {self._unit} {pos}",
                {"action": action, "unique_id": uid, "call_position": pos},
            )
            self._matched(c, o[0], o[1], o[2], uid, o[3], o[4], side, entry, False)
            return
        pend[uid] = entry
        if len(pend) > _MAX_PENDING:
            old = next(iter(pend))
            self._expire(c, side, old, pend.pop(old))
        if ts is not None and ts + self.o.timeout < c.next_check:
            c.next_check = ts + self.o.timeout

    def _boot_call(self, c: _Conn, pos: int, ts: float | None, side: int, uid: str, action: str) -> None:
        boot = c.boot
        if side == STATION:
            if action == "BootNotification":
                if boot == B_UNKNOWN:
                    c.boot = B_WAIT
            elif boot == B_WAIT or boot == B_REJECTED or (boot == B_PENDING and action not in allowed_while_pending):
                state = {
                    B_WAIT: "before the answer to its BootNotification",
                    B_PENDING: "while its boot is Pending",
                    B_REJECTED: "after its boot was Rejected",
                }[boot]
                self._find(
                    "before-boot",
                    c.station,
                    pos,
                    ts,
                    f"station sent {action} {state}",
                    {
                        "action": action,
                        "unique_id": uid,
                        "boot": _BOOT_NAMES[boot],
                    },
                )
        elif boot == B_REJECTED:
            self._find(
                "before-boot",
                c.station,
                pos,
                ts,
                f"CSMS sent {action} to a station whose boot it Rejected",
                {"action": action, "unique_id": uid, "boot": "Rejected"},
            )

    def _global_stats(self, station: str, side: int, action: str) -> list[Any]:
        key = (station, side, action)
        s = self.stats.get(key)
        if s is None:
            s = self.stats[key] = _new_stats()
        return s

    def _send(self, c: _Conn, pos: int, ts: float | None, side: int, uid: str, action: str, relaxations: Any) -> None:
        if side < 0:
            side = CSMS if initiator(c.version, action) == CSMS else STATION
        if uid in c.pend[side]:
            self._find(
                "duplicate-id",
                c.station,
                pos,
                ts,
                f"SEND {action} reuses id {uid!r} of a call still outstanding (CALL and SEND share ids)",
                {"action": action, "unique_id": uid, "sender": SIDE_NAMES[side]},
            )
        sends = c.sends[side]
        sends[uid] = pos
        if len(sends) > _MAX_RECENT:
            del sends[next(iter(sends))]
        s = c.stats[side].get(action)
        if s is None:
            s = c.stats[side][action] = self._global_stats(c.station, side, action)
        s[S_CALLS] += 1
        if relaxations:
            self._relaxed(c, pos, ts, action, "SEND", relaxations)

    def _answer(
        self, c: _Conn, pos: int, ts: float | None, side: int, uid: str, data: Any, err: CallError | None
    ) -> None:
        """A CALLRESULT (``err`` None) or a CALLERROR: match it to the call it answers."""
        late = False
        if side >= 0:
            cs = 1 - side
            e = c.pend[cs].pop(uid, None)
            if e is None and c.expired[cs]:
                e = c.expired[cs].pop(uid, None)
                late = e is not None
        else:
            cs = 0
            e = c.pend[0].pop(uid, None)
            if e is None:
                e = c.pend[1].pop(uid, None)
                cs = 1
            if e is None:
                for cs in (0, 1):
                    e = c.expired[cs].pop(uid, None)
                    if e is not None:
                        late = True
                        break
        if e is None:
            self._unmatched(c, pos, ts, side, uid, data, err)
            return
        self._matched(c, pos, ts, side, uid, data, err, cs, e, late)

    def _matched(
        self,
        c: _Conn,
        pos: int,
        ts: float | None,
        side: int,
        uid: str,
        data: Any,
        err: CallError | None,
        cs: int,
        e: tuple[Any, ...],
        late: bool,
        r: Any = None,
    ) -> None:
        action, cts, cpos, bad, s = e
        ok = False
        if err is None:
            if r is None:
                try:
                    r = c.codec.decode(data, action) if action in c.known else c.codec.decode(data)
                except OcppError as exc:
                    r = exc
            if isinstance(r, OcppError):
                s[S_INVALID] += 1
                self._invalid_answer(c, pos, ts, cs, uid, action, r, data)
            else:
                if type(r) is CallResult:
                    ok = True
                    s[S_OK] += 1
                    if r.relaxations:
                        self._relaxed(c, pos, ts, action, "response", r.relaxations)
                    if action == "BootNotification" and cs == STATION:
                        status = getattr(r.payload, "status", None)
                        if status is not None:
                            c.boot = _BOOT_STATUS.get(str(getattr(status, "value", status)), c.boot)
                    if bad == _INVALID:
                        self._find(
                            "accepted-invalid",
                            c.station,
                            pos,
                            ts,
                            f"{SIDE_NAMES[1 - cs]} answered the invalid {action} call at {self._unit} {cpos} "
                            "with a CALLRESULT; the specification asks for a CALLERROR",
                            {"action": action, "unique_id": uid, "call_position": cpos},
                        )
                else:  # the frame was not a CALLRESULT after all (e.g. an error frame with odd spacing)
                    self._answer_frame(c, pos, ts, cs, uid, action, r, s)
        else:
            s[S_ERR] += 1
            self._call_error(c, pos, ts, cs, action, cpos, err)
        if cts is not None and ts is not None:
            rt = (ts - cts) * 1000.0
            s[S_RTS].append(ts - cts)
            if len(s[S_RTS]) > _RTS_FOLD:
                _fold(s)
            if late:
                s[S_LATE] += 1
                self._find(
                    "late-result",
                    c.station,
                    pos,
                    ts,
                    f"answer to {action} ({self._unit} {cpos}) came {rt / 1000:.3f} s after the call, "
                    f"after the {self.o.timeout:g} s timeout",
                    {
                        "action": action,
                        "unique_id": uid,
                        "call_position": cpos,
                        "delay_s": round(rt / 1000, 6),
                        "ok": ok,
                    },
                )
        self._remember(c, cs, uid, pos)

    @staticmethod
    def _remember(c: _Conn, cs: int, uid: str, pos: int) -> None:
        answered = c.answered[cs]
        answered[uid] = pos
        if len(answered) > _MAX_RECENT:  # the ids answered lately (between 0 and _MAX_RECENT of them)
            answered.clear()

    @staticmethod
    def _answered_at(c: _Conn, cs: int, uid: str) -> int | None:
        return c.answered[cs].get(uid)

    def _answer_frame(
        self, c: _Conn, pos: int, ts: float | None, cs: int, uid: str, action: str, r: Any, s: list[Any]
    ) -> None:
        if type(r) is CallError:
            self._error_code(c, pos, ts, 1 - cs, r, "CALLERROR")
            s[S_ERR] += 1
            self._call_error(c, pos, ts, cs, action, None, r)

    def _call_error(
        self, c: _Conn, pos: int, ts: float | None, cs: int, action: str | None, cpos: int | None, err: CallError
    ) -> None:
        code = err.error_code
        sender = SIDE_NAMES[1 - cs] if cs >= 0 else "?"
        what = f"the {action} call at {self._unit} {cpos}" if action is not None else f"id {err.unique_id!r}"
        msg = f"{sender} answered {what} with CALLERROR {code}"
        if err.error_description:
            msg += f": {err.error_description}"
        if error_code_fault(code, c.version or "2.0.1") is not None:
            msg += f" (not an OCPP {c.version} error code)"
        details: dict[str, Any] = {
            "code": code,
            "description": err.error_description,
            "unique_id": err.unique_id,
            "sender": sender,
        }
        if action is not None:
            details["action"] = action
            details["call_position"] = cpos
        if err.error_details:
            details["error_details"] = err.error_details
        self._find("call-error", c.station, pos, ts, msg, details)

    def _result_error(self, c: _Conn, pos: int, ts: float | None, side: int, f: CallResultError) -> None:
        uid = f.unique_id
        where = ""
        sides = (side,) if side >= 0 else (0, 1)
        for s in sides:
            at = self._answered_at(c, s, uid)
            if at is not None:
                where = f" for the result at {self._unit} {at}"
                break
        sender = SIDE_NAMES[side] if side >= 0 else "?"
        self._find(
            "result-error",
            c.station,
            pos,
            ts,
            f"{sender} could not process a CALLRESULT{where}: CALLRESULTERROR {f.error_code}"
            + (f": {f.error_description}" if f.error_description else ""),
            {"code": f.error_code, "description": f.error_description, "unique_id": uid, "sender": sender},
        )

    def _unmatched(
        self, c: _Conn, pos: int, ts: float | None, side: int, uid: str, data: Any, err: CallError | None
    ) -> None:
        sides = (1 - side,) if side >= 0 else (0, 1)
        what = "CALLERROR" if err is not None else "CALLRESULT"
        for cs in sides:
            if uid in c.sends[cs]:
                self._find(
                    "send-answered",
                    c.station,
                    pos,
                    ts,
                    f"{what} answers the SEND at {self._unit} {c.sends[cs][uid]}: a SEND is never answered",
                    {"unique_id": uid, "send_position": c.sends[cs][uid]},
                )
                return
        for cs in sides:
            at = self._answered_at(c, cs, uid)
            if at is not None:
                self._find(
                    "duplicate-result",
                    c.station,
                    pos,
                    ts,
                    f"{what} for id {uid!r}, whose call was already answered at {self._unit} {at}",
                    {"unique_id": uid, "first_answer": at},
                )
                return
        if err is None:
            try:
                c.codec.decode(data)  # at least a well-formed frame?
            except OcppError as exc:
                self._malformed(c, pos, ts, data, exc)
                return
        if err is not None and uid == "-1":
            self._call_error(c, pos, ts, -1 if side < 0 else 1 - side, None, None, err)
            return
        c.orphans[uid] = (pos, ts, side, data, err)
        if len(c.orphans) > _MAX_ORPHANS:
            old = next(iter(c.orphans))
            self._orphan_out(c, old, c.orphans.pop(old))
        if ts is not None and ts + self.o.timeout < c.next_check:
            c.next_check = ts + self.o.timeout
        elif ts is None and c.next_check == math.inf:
            pass

    def _orphan_out(self, c: _Conn, uid: str, o: tuple[Any, ...]) -> None:
        pos, ts, side, data, err = o
        what = "CALLERROR" if err is not None else "CALLRESULT"
        sender = SIDE_NAMES[side] if side >= 0 else "?"
        details: dict[str, Any] = {"unique_id": uid, "sender": sender, "frame": "CALLERROR" if err else "CALLRESULT"}
        if err is not None:
            details["code"] = err.error_code
        self._find(
            "unknown-id", c.station, pos, ts, f"{what} from the {sender} for id {uid!r}, which no call has", details
        )

    def _unanswered(self, c: _Conn, side: int, uid: str, e: tuple[Any, ...], why: str, final: bool = False) -> None:
        action, cts, cpos, bad, s = e
        s[S_UNANSWERED] += 1
        severity = None
        if final and (cts is None or self._now is None or self._now - cts < self.o.timeout):
            severity = "warning"  # the recording stopped before the call's deadline
            why += f" (which came less than {self.o.timeout:g} s after the call)" if cts is not None else ""
        self._find(
            "unanswered",
            c.station,
            cpos,
            cts,
            f"{SIDE_NAMES[side]}'s {action} call (id {uid!r}): {why}",
            {"action": action, "unique_id": uid, "sender": SIDE_NAMES[side]},
            severity=severity,
        )

    def _relaxed(self, c: _Conn, pos: int, ts: float | None, action: str, what: str, relaxations: Any) -> None:
        items = [{"path": r.path, "rule": r.rule, "action": r.action} for r in relaxations]
        text = ", ".join(f"{r['path']} {r['rule']} ({r['action']})" for r in items)
        self._find(
            "relaxed",
            c.station,
            pos,
            ts,
            f"{action} {what} accepted under the policy: {text}",
            {"action": action, "relaxations": items},
        )

    # ------------------------------------------------------------------ invalid frames

    def _invalid(self, c: _Conn, pos: int, ts: float | None, side: int, data: Any, exc: OcppError) -> None:
        mt = exc.message_type
        uid = exc.unique_id
        rule = exc.details.get("rule")
        if mt in (2, 6) and uid is not None:
            _t, _u, action = peek(data)
            action = action or "?"
            if isinstance(exc, PayloadError):
                what = "request" if mt == 2 else "SEND"
                self._schema(c, pos, ts, action, what, exc)
            elif rule == "action":
                self._find(
                    "unknown-action",
                    c.station,
                    pos,
                    ts,
                    f"{action}: {exc.description} in OCPP {c.version} (expected reply: CALLERROR {exc.code})",
                    {"action": action, "unique_id": uid, "code": exc.code},
                )
            else:
                self._malformed(c, pos, ts, data, exc)
            if mt == 2:
                self._call(c, pos, ts, side, uid, action, (), _INVALID)
            else:
                self._send(c, pos, ts, side, uid, action, ())
            return
        if mt in (3, 4, 5) and uid is not None:
            # a broken answer is still an answer: take the call off the books
            self._malformed(c, pos, ts, data, exc)
            sides = (1 - side,) if side >= 0 else (0, 1)
            for cs in sides:
                e = c.pend[cs].pop(uid, None) or c.expired[cs].pop(uid, None)
                if e is not None:
                    e[4][S_INVALID] += 1
                    self._remember(c, cs, uid, pos)
                    break
            return
        self._malformed(c, pos, ts, data, exc)

    def _malformed(self, c: _Conn, pos: int, ts: float | None, data: Any, exc: OcppError) -> None:
        reply = "nothing (the specification says to stay silent)"
        if exc.reply is not None:
            reply = exc.reply.decode("utf-8", "replace")
        details: dict[str, Any] = {"code": exc.code, "rule": exc.details.get("rule"), "reply": reply}
        if exc.unique_id is not None:
            details["unique_id"] = exc.unique_id
        if exc.message_type is not None:
            details["message_type"] = exc.message_type
        self._find("malformed", c.station, pos, ts, f"{exc.description} ({exc.code})", details)

    def _schema(self, c: _Conn, pos: int, ts: float | None, action: str, what: str, exc: OcppError) -> None:
        path = exc.details.get("path", "$")
        rule = exc.details.get("rule", "")
        self._find(
            "schema",
            c.station,
            pos,
            ts,
            f"{action} {what}: {exc.description} [{exc.code}]",
            {
                "action": action,
                "message": what,
                "code": exc.code,
                "path": path,
                "rule": rule,
                "unique_id": exc.unique_id,
            },
        )

    def _invalid_answer(
        self, c: _Conn, pos: int, ts: float | None, cs: int, uid: str, action: str, exc: OcppError, data: Any
    ) -> None:
        if isinstance(exc, PayloadError):
            self._schema(c, pos, ts, action, "response", exc)
        else:
            self._malformed(c, pos, ts, "", exc)
        if action == "BootNotification" and cs == STATION:
            # the boot state still follows the status the CSMS meant, even in an invalid response
            status = _untyped_status(data)
            if status is not None:
                c.boot = _BOOT_STATUS.get(status, c.boot)

    # ------------------------------------------------------------------ findings

    def _find(
        self,
        kind: str,
        station: str,
        pos: int,
        ts: float | None,
        message: str,
        details: dict[str, Any] | None = None,
        severity: str | None = None,
    ) -> None:
        sev = self._severity.get(kind, "warning") if severity is None or kind in self.o.severities else severity
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        per = self.by_kind_severity.get(kind)
        if per is None:
            per = self.by_kind_severity[kind] = {}
        per[sev] = per.get(sev, 0) + 1
        self.by_severity[sev] += 1
        st = self.stations.get(station)
        if st is not None:
            st["findings"][sev] += 1
        if len(self.findings) < self.o.max_findings:
            self.findings.append(Finding(kind, sev, self._file, pos, self._unit, ts, station, message, details or {}))
        else:
            self.dropped += 1

    def failed(self, threshold: str) -> bool:
        """Whether any finding is at or above ``threshold`` ("info", "warning" or "error")."""
        rank = _RANK[threshold]
        return any(n for s, n in self.by_severity.items() if _RANK[s] >= rank)


def _rewind(c: _Conn, now: float) -> None:
    """After the clock went back: nothing a connection holds is later than ``now``."""
    for table in (*c.pend, *c.expired):
        for uid, e in table.items():
            if e[1] is not None and e[1] > now:
                table[uid] = (e[0], now, *e[2:])
    for uid, o in c.orphans.items():
        if o[1] is not None and o[1] > now:
            c.orphans[uid] = (o[0], now, *o[2:])


def _untyped_status(data: Any) -> str | None:
    try:
        frame = msgspec.json.decode(data)
        status = frame[2].get("status")
    except (msgspec.DecodeError, IndexError, AttributeError, TypeError):
        return None
    return status if isinstance(status, str) else None


def _ticking(records: Iterable[Record], progress: Callable[[int], None], every: int) -> Iterable[Record]:
    n = 0
    total = 0
    for rec in records:
        yield rec
        n += 1
        if n >= every:
            total += n
            n = 0
            progress(total)


def percentile(hist: dict[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a response-time histogram, in ms (within 5 %)."""
    total = sum(hist.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= rank:
            return _H_BASE if b <= 1 else _H_BASE * math.exp((b - 0.5) / _H_K)
    return None  # pragma: no cover


def _stats_row(station: str, sender: str, action: str, s: list[Any]) -> dict[str, Any]:
    calls = s[S_CALLS]
    failed = s[S_ERR] + s[S_INVALID] + s[S_UNANSWERED]
    row: dict[str, Any] = {
        "station": station,
        "sender": sender,
        "action": action,
        "calls": calls,
        "results": s[S_OK],
        "errors": s[S_ERR],
        "invalid": s[S_INVALID],
        "unanswered": s[S_UNANSWERED],
        "late": s[S_LATE],
        "error_rate": round(failed / calls, 6) if calls else 0.0,
    }
    _fold(s)
    hist = s[S_HIST]
    n = sum(hist.values())
    if n:
        row["rt_ms"] = {
            "n": n,
            "p50": round(min(percentile(hist, 0.5) or 0.0, s[S_MAX]), 3),
            "p90": round(min(percentile(hist, 0.9) or 0.0, s[S_MAX]), 3),
            "p99": round(min(percentile(hist, 0.99) or 0.0, s[S_MAX]), 3),
            "max": round(s[S_MAX], 3),
        }
    return row
