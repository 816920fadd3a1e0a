"""The driver of ``ocppkit check``: records in, a :class:`Summary` out.

:class:`Analyzer` consumes the records of a :class:`~ocppkit.check.records.Source` one at a
time: it tells whose point of view RX/TX markers take, opens and closes connections, learns
each one's version (:mod:`ocppkit.check.versions`), keeps the log's clock, and hands each frame
to the :class:`~ocppkit.check.correlate.Correlator`, whose observers follow the connection's
state tables (:mod:`ocppkit.check.observe`). The two commonest frames (a valid CALL from a side
with nothing outstanding, and the CALLRESULT answering it) are handled inline in
:meth:`Analyzer._loop`, the hot loop; everything else takes the complete rules.

Per connection only what the rules need is kept, bounded whatever the length of the
recording; counters and response-time histograms (:mod:`ocppkit.check.stats`) are kept per
station and action. Time is the log's time (the records' timestamps), never the wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .. import Codec, OcppError, Policy
from ..codec import read_head
from ..edition import VERSIONS, edition
from ..frames import Call, CallResult, MessageType
from ..states import AWAITING, CALL, DEQUEUE, IDLE, RESPONSE, SLOT_TRANSITIONS
from .correlate import MAX_RECENT, Correlator
from .findings import KINDS, SEVERITIES, Finding, FindingLog
from .observe import PLAIN, Conn, Held, Outstanding
from .records import CLOSE, NOTE, OPEN, RECEIVED, SENT, UNKNOWN, Code, ConnInfo, Record, Source
from .rules import CSMS, STATION, directions, initiator
from .stats import FOLD_EVERY, StationTotals, StatsBook, fold, row
from .versions import GUESS_CALLS, GUESS_FRAMES, guess_version, is_call

__all__ = ["KINDS", "SEVERITIES", "Analyzer", "Finding", "Options", "Summary"]

_HOLD_RECORDS = 100_000  # records held while the recorder's side is unknown

# What the loop makes of a record's code: the sender's side (STATION, CSMS), or
_UNSURE = -1  # a frame whose sender the input does not say (told from the frame)
_UNORIENTED = 8  # RX/TX before we know whose log it is
_CONTROL = 9  # OPEN, CLOSE, NOTE


def _sidemap(recorder: int | None) -> list[int]:
    """Record code -> side, when ``recorder`` (STATION, CSMS, None: not known yet) wrote the log."""
    sides = [_CONTROL] * len(Code)
    sides[Code.FROM_STATION] = STATION
    sides[Code.FROM_CSMS] = CSMS
    sides[UNKNOWN] = _UNSURE
    sides[RECEIVED] = _UNORIENTED if recorder is None else 1 - recorder
    sides[SENT] = _UNORIENTED if recorder is None else recorder
    return sides


_SIDES = {"auto": _sidemap(None), "csms": _sidemap(CSMS), "station": _sidemap(STATION)}

# The slot's moves the hot loop makes, read from the table once: a CALL from IDLE (TRANSMIT),
# and the answer to the outstanding call (END; a side with a call outstanding is AWAITING).
_SENT = SLOT_TRANSITIONS[IDLE, CALL][1]
_ANSWERED = SLOT_TRANSITIONS[AWAITING, RESPONSE][1]


@dataclass
class Options:
    """What ``ocppkit check`` was asked for (the command line maps onto these)."""

    version: str = "auto"  # one of ocppkit.edition.VERSIONS, or "auto"
    policy: Policy | None = None  # None: strict
    timeout: float = 30.0  # seconds after which an answer is late
    late_window: float = 300.0  # seconds a timed-out call waits for a late answer
    recorded_by: str = "auto"  # "csms", "station" or "auto": whose RX/TX markers
    max_findings: int = 10_000  # findings kept in detail (all are counted)
    default_station: str | None = None
    input_format: str = "auto"
    severities: dict[str, str] = field(default_factory=dict)  # kind -> severity overrides


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
            raise ValueError(f"version: expected {', '.join(VERSIONS)} or auto, got {self.o.version!r}")
        self._codecs: dict[str, Any] = {}
        self.conns: dict[str, Conn] = {}
        self.stations: dict[str, StationTotals] = {}
        self.log = FindingLog(self.o.severities, self.o.max_findings, self.stations)
        self.book = StatsBook()
        self.pair = Correlator(self.log, self.book, self.o.timeout, self.o.late_window)
        self.files: list[dict[str, Any]] = []
        self.frames = 0
        self.first_time: float | None = None
        self.last_time: float | None = None
        # per source
        self._now: float | None = None
        self._sidemap: list[int] = _SIDES["auto"]
        self._oriented = ""
        self._hold_records: list[Record] | None = None

    # ------------------------------------------------------------------ public

    def codec(self, version: str) -> Any:
        """The codec of ``version`` under the run's policy (one per version)."""
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
        """What the run found, per station and action."""
        log = self.log
        findings = sorted(log.findings, key=lambda f: (self._file_order(f.file), f.position, f.kind))
        for st in self.stations.values():
            st.calls = 0
        actions = []
        for key, s in sorted(self.book.stats.items()):
            actions.append(row(key, s))
            if key.station in self.stations:
                self.stations[key.station].calls += s.calls
        return Summary(
            files=self.files,
            frames=self.frames,
            findings=findings,
            dropped_findings=log.dropped,
            by_kind=dict(sorted(log.by_kind.items())),
            by_kind_severity={k: dict(v) for k, v in sorted(log.by_kind_severity.items())},
            by_severity=log.by_severity,
            stations={name: msgspec.structs.asdict(st) for name, st in sorted(self.stations.items())},
            actions=actions,
            first_time=self.first_time,
            last_time=self.last_time,
        )

    def failed(self, threshold: str) -> bool:
        """Whether any finding is at or above ``threshold`` ("info", "warning" or "error")."""
        return self.log.failed(threshold)

    @property
    def findings(self) -> list[Finding]:
        """The findings kept in detail so far (the first ``max_findings``)."""
        return self.log.findings

    @property
    def by_severity(self) -> dict[str, int]:
        """Severity -> how many findings so far."""
        return self.log.by_severity

    def _file_order(self, name: str) -> int:
        for i, f in enumerate(self.files):
            if f["name"] == name:
                return i
        return len(self.files)

    # ------------------------------------------------------------------ sources

    def _begin(self, source: Source) -> None:
        self.log.file = source.name
        self.log.unit = source.unit
        self._now = None
        self._hold_records = None
        rb = self.o.recorded_by
        self._sidemap = _SIDES[rb] if rb in _SIDES else _SIDES["auto"]
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

    def _loop(self, records: Iterable[Record]) -> None:
        # The hot loop. The common cases (a CALL, and the CALLRESULT answering it, on a connection
        # in good standing) are handled inline, their slot moved through the table as
        # Correlator.call and Correlator.frame move it; everything else goes through the
        # Correlator, which holds the complete rules. Keep the two in step.
        conns = self.conns
        pair = self.pair
        frame = pair.frame
        table = SLOT_TRANSITIONS
        answered_slot, sent_slot, idle, plain = _ANSWERED, _SENT, IDLE, PLAIN
        sidemap = self._sidemap
        now = self._now if self._now is not None else -math.inf
        timeout = self.o.timeout
        holding = self._hold_records is not None
        for rec in records:
            side = sidemap[rec.code]
            if side > 1 or holding:
                self._now = now if now != -math.inf else None
                if holding:
                    held = self._hold_records
                    assert held is not None
                    held.append(rec)
                    if (side == _UNORIENTED and self._orient(rec)) or (
                        len(held) > _HOLD_RECORDS and self._orient(None)
                    ):
                        sidemap, now, holding = self._sidemap, self._resume(), False
                elif side == _CONTROL:
                    self._control(rec)
                else:  # RX/TX before we know whose
                    self._hold_records = [rec]
                    holding = True
                    if self._orient(rec):
                        sidemap, now, holding = self._sidemap, self._resume(), False
                continue
            pos = rec.position
            ts = rec.time
            data = rec.data
            c = conns.get(rec.connection)
            if c is None:
                c = self._open(rec.connection, ConnInfo(rec.connection))
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
                    pair.tick(c, ts)
            codec = c.codec
            if codec is None or side < 0:
                if codec is None:
                    self._hold(c, pos, ts, side, data)
                else:
                    frame(c, pos, ts, side, data)
                continue
            # --- fast path: a CALLRESULT answering the peer's outstanding call (Correlator.frame)
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
                d = c.sides[1 - side]
                e = d.pending.pop(uid, None) if uid is not None else None
                if e is None:
                    frame(c, pos, ts, side, data)
                    continue
                d.slot = answered_slot  # END
                if d.pending:  # a call sent meanwhile takes the slot
                    d.slot = table[d.slot, DEQUEUE][1]
                c.frames += 1
                if e.care:
                    pair.matched(c, pos, ts, side, uid, data, None, d, e, False)  # type: ignore[arg-type]
                    continue
                try:
                    r = codec.decode(data, e.action)
                except OcppError as exc:
                    r = exc
                if type(r) is not CallResult or r.relaxations:
                    pair.matched(c, pos, ts, side, uid, data, None, d, e, False, r)  # type: ignore[arg-type]
                    continue
                st = e.stats
                st.ok += 1
                cts = e.time
                if cts is not None and ts is not None:
                    rts = st.rts
                    rts.append(ts - cts)
                    if len(rts) > FOLD_EVERY:
                        fold(st)
                answered = d.answered
                answered[uid] = pos  # type: ignore[index]
                if len(answered) > MAX_RECENT:
                    answered.clear()
                continue
            # --- fast path: a valid CALL from a side with nothing outstanding, boot settled
            # (Correlator.call)
            try:
                f = codec.decode(data)
            except OcppError as exc:
                c.frames += 1
                pair.invalid(c, pos, ts, side, data, exc)
                continue
            if type(f) is Call:
                action = f.action
                uid = f.unique_id
                d = c.sides[side]
                fast = d.fast.get(action)  # None for actions that need the full rules
                if (
                    fast is None
                    or d.slot is not idle
                    or f.relaxations
                    or c.orphans
                    or not c.boot.free
                    or uid in d.answered
                ):
                    c.frames += 1
                    pair.call(c, pos, ts, side, uid, action, f.relaxations, plain)
                    continue
                d.slot = sent_slot  # TRANSMIT
                fast.calls += 1
                c.frames += 1
                d.pending[uid] = Outstanding(action, ts, pos, plain, fast)
                if ts is not None and ts + timeout < c.next_check:
                    c.next_check = ts + timeout
                continue
            c.frames += 1
            pair.decoded(c, pos, ts, side, data, f)
        if now != -math.inf:
            self._now = now
            if self.last_time is None or now > self.last_time:
                self.last_time = now

    def _resume(self) -> float:
        return self._now if self._now is not None else -math.inf

    def _orient(self, rec: Record | None) -> bool:
        """Decide whose RX/TX the markers are; True when decided (held records replayed)."""
        if rec is not None:
            head = read_head(rec.data)
            if head.message_type != MessageType.CALL or head.name is None:
                return False
            who = initiator(head.name)
            if who is None:
                return False
            # a station-initiated call received by the recorder: the recorder is the CSMS
            received = rec.code == RECEIVED
            self._oriented = "csms" if (who == STATION) == received else "station"
            why = f"{'received' if received else 'sent'} {head.name} at {self.log.unit} {rec.position}"
        else:
            self._oriented = "csms"
            why = "no call told; assumed"
        self._sidemap = _SIDES[self._oriented]
        self._oriented += f" ({why})"
        held = self._hold_records or []
        self._hold_records = None
        self._loop(held)
        return True

    # ------------------------------------------------------------------ connections

    def _control(self, rec: Record) -> None:
        pos, ts, key, data = rec.position, rec.time, rec.connection, rec.data
        if ts is not None and self.first_time is None:
            self.first_time = ts
        if rec.code == OPEN:
            old = self.conns.get(key)
            if old is not None and old.frames:
                self._close(old, pos, ts, "reopened")
            if old is None or old.frames:
                self._open(key, data)
            else:
                self._configure(old, data)
        elif rec.code == CLOSE:
            c = self.conns.pop(key, None)
            if c is not None:
                self._close(c, pos, ts, str(data))
        elif rec.code == NOTE:
            c = self.conns.get(key)
            self.log.add(data.kind, c.station if c is not None else key, pos, ts, data.message, data.details)

    def _open(self, key: str, info: ConnInfo) -> Conn:
        c = Conn(key, info.station)
        self.conns[key] = c
        st = self.stations.get(c.station)
        if st is None:
            st = self.stations[c.station] = StationTotals(findings=dict.fromkeys(SEVERITIES, 0))
        st.connections += 1
        self._configure(c, info)
        return c

    def _configure(self, c: Conn, info: ConnInfo) -> None:
        version = self.o.version if self.o.version != "auto" else info.version
        if version is not None:
            self._set_version(c, version, "given" if self.o.version != "auto" else info.source)
        else:
            c.hold = []

    def _set_version(self, c: Conn, version: str, how: str) -> None:
        c.version = version
        c.edition = edition(version)
        c.codec = self.codec(version)
        c.known = c.edition.actions
        c.who = directions(version)
        st = self.stations.get(c.station)
        label = f"{version} ({how})"
        if st is not None and label not in st.versions:
            st.versions.append(label)

    def _hold(self, c: Conn, pos: int, ts: float | None, side: int, data: Any) -> None:
        assert c.hold is not None
        c.hold.append(Held(pos, ts, side, data))
        if is_call(data):
            c.held_calls += 1
        if len(c.hold) >= GUESS_FRAMES or c.held_calls >= GUESS_CALLS:
            self._guess(c)

    def _guess(self, c: Conn) -> None:
        """Pick the version from the held frames, then check them."""
        held = c.hold or []
        c.hold = None
        version, how = guess_version((h.data for h in held), self.codec)
        self._set_version(c, version, how)
        latest = -math.inf
        for h in held:
            ts = h.time
            if ts is not None:
                if ts < latest:
                    if latest - ts > 0.001:  # the clock went back (reported when it was read)
                        c.next_check = -math.inf
                        latest = ts
                else:
                    latest = ts
                if ts >= c.next_check:
                    self.pair.tick(c, ts)
            self.pair.frame(c, h.position, ts, h.side, h.data)

    def _close(self, c: Conn, pos: int | None, ts: float | None, reason: str) -> None:
        if c.hold is not None:
            self._guess(c)
        self.pair.close(c, reason, self._now)
        self.frames += c.frames
        st = self.stations.get(c.station)
        if st is not None:
            st.frames += c.frames

    # ------------------------------------------------------------------ time

    def _time_backwards(self, c: Conn, pos: int, ts: float, now: float) -> None:
        """The log's clock went back: reported once; the frames after it are timed on the new clock.

        Whatever was stamped later than the new time (calls waiting for an answer, answers
        waiting for their call) is moved to it, on every connection of the file at its next
        frame (``Correlator.tick``): deadlines run from the jump and response times stay
        positive, instead of every later frame looking earlier than those entries.
        """
        if self.last_time is None or now > self.last_time:
            self.last_time = now
        for conn in self.conns.values():
            conn.next_check = -math.inf  # rewind it at its next frame
        self.log.add(
            "time-backwards",
            c.station,
            pos,
            ts,
            f"time goes back {now - ts:.3f} s from the latest frame before it (later frames are timed from here)",
            {"back_s": round(now - ts, 6)},
        )


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
