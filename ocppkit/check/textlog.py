"""Plain text logs: one frame per line, with an optional time, direction marker and station."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from typing import IO

from .fields import epoch, parse_time
from .records import NOTE, RECEIVED, SENT, UNKNOWN, Note, Record, Source

__all__ = ["TextSource"]

_UTC = _dt.timezone.utc

# A frame starts with `[` and its message type id followed by a comma: `[2,`, `[ 3 ,`.
_FRAME_START = re.compile(rb"\[\s*\d+\s*,")
_DIR_MARKERS = re.compile(
    rb"(<<|>>|<-|->|(?<![A-Za-z])(?:RX|TX|rx|tx|Rx|Tx|recv|RECV|Recv|send|SEND|Send)(?![A-Za-z])"
    rb"|(?i:received|sent|receiving|sending)\s*:)"
)
_MARKER_CODES: dict[bytes, int] = {
    b"<<": RECEIVED,
    b"<-": RECEIVED,
    b"rx": RECEIVED,
    b"recv": RECEIVED,
    b"received": RECEIVED,
    b"receiving": RECEIVED,
    b">>": SENT,
    b"->": SENT,
    b"tx": SENT,
    b"send": SENT,
    b"sent": SENT,
    b"sending": SENT,
}
_STATION_RE = re.compile(
    rb"(?i:station|station_id|stationid|chargepoint|charge_point|chargepointid|cp|cp_id|cpid|chargebox|"
    rb"chargeboxid|identity)\s*[=:]\s*\"?([^\s\",;\]\[]+)"
)
# What the `ocpp` package (mobilityhouse) logs, whatever the logging format around it:
# `<identity>: receive message <frame>` and `<identity>: send <frame>` (its ChargePoint class, on
# either side; the identity is the station's). An identity has no space or ":" (it is the
# user name of HTTP Basic authentication in the security profiles).
_OCPP_PKG = re.compile(rb"(?:^|[\s:])([^\s:]+): (receive message|send) $")
_OCPP_PKG_ENDS = (b": receive message ", b": send ")
_TIME_BYTES = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s?(?:Z|z|[+-]\d{2}(?::?\d{2})?))?")
_EPOCH_BYTES = re.compile(rb"^\s*\[?(\d{9,10}(?:\.\d+)?|\d{12,19})(?![\d-])")


class TextSource(Source):
    """Plain text: one frame per line, with an optional time, direction marker and station."""

    kind = "text"
    unit = "line"

    def records(self) -> Iterator[Record]:
        f = self._open()
        try:
            yield from self._lines(f)
        finally:
            self._close(f)

    def _lines(self, f: IO[bytes]) -> Iterator[Record]:
        start = _FRAME_START.search
        default = self.default_station
        fromiso = _dt.datetime.fromisoformat
        utc = _UTC
        lineno = 0
        frames = 0
        skipped = 0
        for line in f:
            lineno += 1
            m = start(line)
            if m is None:
                mk = _DIR_MARKERS.search(line)
                rest = line[mk.end() :].strip() if mk is not None else b""
                if rest[:1] in (b"[", b"{", b'"'):
                    yield Record(
                        lineno,
                        _line_time(line),
                        NOTE,
                        _line_station(line, default),
                        Note("unreadable-line", "a direction marker but no OCPP-J frame", {}),
                    )
                skipped += 1
                continue
            i = m.start()
            end = line.rfind(b"]") + 1
            data = line[i:end] if end > i else line[i:].rstrip()
            prefix = line[:i]
            ts: float | None = None
            tm = _TIME_BYTES.search(prefix)
            if tm is not None:
                text = tm.group().decode()
                try:
                    when = fromiso(text)
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=utc)
                    ts = when.timestamp()
                except ValueError:
                    ts = parse_time(text)
            else:
                em = _EPOCH_BYTES.match(prefix)
                if em is not None:
                    ts = epoch(float(em.group(1)))
            om = _OCPP_PKG.search(prefix) if prefix.endswith(_OCPP_PKG_ENDS) else None
            if om is not None:
                code = RECEIVED if om.group(2) == b"receive message" else SENT
                station = om.group(1).decode("utf-8", "replace")
            else:
                dm = _DIR_MARKERS.search(prefix)
                code = UNKNOWN
                if dm is not None:
                    word = dm.group().rstrip(b": \t").lower()
                    code = _MARKER_CODES.get(word, UNKNOWN)
                sm = _STATION_RE.search(prefix)
                station = sm.group(1).decode("utf-8", "replace") if sm is not None else default
            frames += 1
            yield Record(lineno, ts, code, station, data)
        self.frames = frames
        self.skipped = skipped


def _line_time(line: bytes) -> float | None:
    tm = _TIME_BYTES.search(line)
    return parse_time(tm.group().decode()) if tm is not None else None


def _line_station(line: bytes, default: str) -> str:
    sm = _STATION_RE.search(line)
    return sm.group(1).decode("utf-8", "replace") if sm is not None else default
