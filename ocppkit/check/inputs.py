"""Reading recorded OCPP traffic as a stream of records.

Every source yields plain tuples ``(position, time, code, connection, data)``:

- ``position``: the 1-based line number (logs) or packet number (captures);
- ``time``: seconds since the Unix epoch (float) or None when the input has no time;
- ``code``: who sent the frame (:data:`FROM_STATION`, :data:`FROM_CSMS`), or as the recorder
  saw it (:data:`RECEIVED`, :data:`SENT`), or :data:`UNKNOWN`; or one of the control codes
  :data:`OPEN` (``data`` is a :class:`ConnInfo`), :data:`CLOSE` (``data`` is a reason) and
  :data:`NOTE` (``data`` is ``(kind, message, details)``: a finding the reader made itself);
- ``connection``: a key naming the connection (the station identity in logs, one key per TCP
  stream in captures);
- ``data``: the frame text (``str`` or ``bytes``) exactly as recorded.

Tuples, not objects, because a multi-gigabyte log has tens of millions of them.
JSON Lines and text logs need nothing beyond msgspec; captures need the ``pcap`` extra
(:mod:`ocppkit.check.pcap`).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import itertools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any, NamedTuple

import msgspec

__all__ = [
    "CLOSE",
    "FROM_CSMS",
    "FROM_STATION",
    "NOTE",
    "OPEN",
    "RECEIVED",
    "SENT",
    "UNKNOWN",
    "ConnInfo",
    "JsonlSource",
    "Record",
    "Source",
    "TextSource",
    "detect_format",
    "direction_code",
    "open_source",
    "parse_time",
    "version_from_text",
]

FROM_STATION = 0
FROM_CSMS = 1
RECEIVED = 2
SENT = 3
UNKNOWN = 4
OPEN = 5
CLOSE = 6
NOTE = 7

Record = tuple[int, "float | None", int, str, Any]


class ConnInfo(NamedTuple):
    """What is known about a connection when it opens (captures; JSON Lines with a version)."""

    station: str
    version: str | None = None
    detail: str = ""  # e.g. "127.0.0.1:50322 -> 127.0.0.1:9000 GET /ocpp/CS001 (ocpp2.0.1)"
    source: str = "negotiated"  # where the version comes from: "negotiated" (handshake) or "from the log"


# ----------------------------------------------------------------------------- directions

_STATION_WORDS = (
    "station->csms",
    "station_to_csms",
    "station-to-csms",
    "stationtocsms",
    "cs->csms",
    "cs2csms",
    "cp->cs",
    "cp->csms",
    "cp2cs",
    "cp_to_cs",
    "cp-to-cs",
    "chargepoint->centralsystem",
    "to_csms",
    "to-csms",
    "tocsms",
    "to_cs",
    "from_station",
    "from-station",
    "from_cp",
    "from-cp",
    "upstream",
    "up",
    "station",
    "cp",
)
_CSMS_WORDS = (
    "csms->station",
    "csms_to_station",
    "csms-to-station",
    "csmstostation",
    "csms->cs",
    "csms2cs",
    "cs->cp",
    "csms->cp",
    "cs2cp",
    "cs_to_cp",
    "cs-to-cp",
    "centralsystem->chargepoint",
    "to_station",
    "to-station",
    "tostation",
    "to_cp",
    "from_csms",
    "from-csms",
    "from_cs",
    "downstream",
    "down",
    "csms",
    "server",
    "central",
)
_RECEIVED_WORDS = (
    "in",
    "incoming",
    "inbound",
    "rx",
    "recv",
    "received",
    "receive",
    "<<",
    "<-",
    "<",
    "read",
    "request_in",
)
_SENT_WORDS = ("out", "outgoing", "outbound", "tx", "send", "sent", ">>", "->", ">", "write", "request_out")

_DIRECTIONS: dict[str, int] = {}
for _words, _code in (
    (_STATION_WORDS, FROM_STATION),
    (_CSMS_WORDS, FROM_CSMS),
    (_RECEIVED_WORDS, RECEIVED),
    (_SENT_WORDS, SENT),
):
    for _w in _words:
        _DIRECTIONS[_w] = _code


def direction_code(value: object) -> int:
    """Map a direction field's value to a code; :data:`UNKNOWN` when it is not recognised."""
    if not isinstance(value, str):
        return UNKNOWN
    text = value.strip().lower().rstrip(":").replace(" ", "")
    code = _DIRECTIONS.get(text)
    if code is None:
        code = _DIRECTIONS.get(text.replace("→", "->").replace("←", "<-"), UNKNOWN)
    return code


class _DirCache(dict[Any, int]):
    """Direction values seen so far -> code (a log has a handful of distinct values)."""

    def __missing__(self, key: Any) -> int:
        code = direction_code(key)
        if len(self) < 4096:
            self[key] = code
        return code


# ----------------------------------------------------------------------------- times

_UTC = _dt.timezone.utc
_TIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


def _epoch(value: float) -> float:
    """Seconds from a number that may be seconds, milliseconds, microseconds or nanoseconds."""
    if value > 1e11:
        if value > 1e17:
            return value / 1e9
        if value > 1e14:
            return value / 1e6
        return value / 1e3
    return value


def parse_time(value: object) -> float | None:
    """Seconds since the epoch from an RFC 3339 / ISO 8601 text or an epoch number.

    A date-time without an offset is read as UTC. ``None`` when the value is not a time.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _epoch(float(value))
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        return value.timestamp()
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    m = _TIME_RE.search(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        when = _dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, _UTC)
    except ValueError:
        return None
    seconds = when.timestamp()
    if tz and tz not in "Zz":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + (int(digits[2:4]) * 60 if len(digits) >= 4 else 0)
        seconds -= sign * offset
    return seconds


# ----------------------------------------------------------------------------- versions

_VERSION_RE = re.compile(r"(?:ocpp)?\s*v?(1\.6|2\.0\.1|2\.1)(?![\d.])", re.IGNORECASE)


def version_from_text(text: object) -> str | None:
    """``"ocpp2.0.1"``, ``"2.0.1"``, ``"OCPP 1.6J"`` ... -> the version ocppkit names, or None."""
    if not isinstance(text, str):
        return None
    m = _VERSION_RE.search(text)
    return m.group(1) if m else None


# ----------------------------------------------------------------------------- sources


class Source:
    """One input file. ``records()`` streams it once; ``tell()`` says how far it got (bytes)."""

    kind = "?"
    unit = "line"

    def __init__(self, path: str, default_station: str | None = None) -> None:
        self.path = path
        self.name = path
        self.size = os.path.getsize(path) if path != "-" else 0
        self.default_station = default_station or (_stem(path) if path != "-" else "station")
        self.frames = 0  # records with a frame, counted by the reader
        self.skipped = 0  # lines / packets that carried no frame
        self._raw: IO[bytes] | None = None

    def _open(self) -> IO[bytes]:
        if self.path == "-":
            return sys.stdin.buffer
        raw: IO[bytes] = open(self.path, "rb", buffering=1 << 20)  # noqa: SIM115
        self._raw = raw
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        raw.seek(0)
        return raw

    def tell(self) -> int:
        try:
            return self._raw.tell() if self._raw is not None and not self._raw.closed else self.size
        except (OSError, ValueError):
            return self.size

    def records(self) -> Iterator[Record]:  # pragma: no cover - abstract
        raise NotImplementedError


def _stem(path: str) -> str:
    base = os.path.basename(path)
    for ext in (".gz", ".jsonl", ".ndjson", ".json", ".log", ".txt", ".pcapng", ".pcap"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base or "station"


# --------------------------------------------------------------------- JSON Lines

_FRAME_KEYS = ("frame", "message", "msg", "raw", "data", "payload", "ocpp", "text", "body", "content", "wire")
_TIME_KEYS = ("timestamp", "ts", "time", "@timestamp", "t", "date", "datetime", "received_at", "logged_at", "at")
_DIR_KEYS = ("direction", "dir", "way", "flow", "event", "kind", "origin", "source", "from", "src")
_STATION_KEYS = (
    "station",
    "station_id",
    "stationId",
    "stationID",
    "chargePointId",
    "charge_point_id",
    "chargepoint",
    "chargeBoxId",
    "charge_box_id",
    "chargeboxid",
    "cp",
    "cp_id",
    "cpId",
    "identity",
    "client_id",
    "clientId",
    "cs",
    "cs_id",
    "csId",
    "device",
)
_VERSION_KEYS = ("version", "ocpp_version", "ocppVersion", "protocol", "subprotocol", "ocpp")

_ABSENT = "~ocppkit-check-absent~"
_NO_RAW = msgspec.Raw(b"")


def _looks_like_frame(value: object) -> bool:
    if isinstance(value, list):
        return bool(value) and isinstance(value[0], int)
    return isinstance(value, str) and value.lstrip()[:1] == "[" and value.lstrip()[1:].lstrip()[:1].isdigit()


class _Schema(NamedTuple):
    frame: str
    time: str
    direction: str
    station: str
    version: str
    time_is_rfc3339: bool


def _detect_jsonl_schema(sample: list[bytes]) -> _Schema | None:
    """Which keys hold the frame, the time, the direction, the station and the version."""
    for line in sample:
        try:
            obj = msgspec.json.decode(line)
        except msgspec.DecodeError:
            continue
        if not isinstance(obj, dict):
            continue
        frame = next((k for k in _FRAME_KEYS if _looks_like_frame(obj.get(k))), None)
        if frame is None:
            frame = next((k for k, v in obj.items() if _looks_like_frame(v)), None)
        if frame is None:
            continue
        time = next((k for k in _TIME_KEYS if k in obj and parse_time(obj[k]) is not None), _ABSENT)
        direction = next(
            (k for k in _DIR_KEYS if k in obj and k != frame and direction_code(obj[k]) != UNKNOWN), _ABSENT
        )
        station = next(
            (k for k in _STATION_KEYS if isinstance(obj.get(k), (str, int)) and k not in (frame, direction)),
            _ABSENT,
        )
        version = next((k for k in _VERSION_KEYS if k != frame and version_from_text(obj.get(k))), _ABSENT)
        rfc = False
        if time != _ABSENT and isinstance(obj[time], str):
            try:
                msgspec.json.decode(msgspec.json.encode(obj[time]), type=_dt.datetime)
                rfc = True
            except msgspec.ValidationError:
                rfc = False
        return _Schema(frame, time, direction, station, version, rfc)
    return None


class JsonlSource(Source):
    """JSON Lines: one object per frame, keys detected from the first lines (see docs/check.md)."""

    kind = "jsonl"
    unit = "line"

    def __init__(self, path: str, default_station: str | None = None) -> None:
        super().__init__(path, default_station)
        self.schema: _Schema | None = None

    def records(self) -> Iterator[Record]:
        f = self._open()
        try:
            head: list[bytes] = []
            for line in f:  # the first lines decide the keys; they are then read like the rest
                head.append(line)
                if len(head) >= 200:
                    break
            schema = self.schema = _detect_jsonl_schema([line for line in head if line.strip()])
            if schema is None:
                yield (
                    1,
                    None,
                    NOTE,
                    self.default_station,
                    ("unreadable-line", "no JSON object with an OCPP frame in the first lines", {}),
                )
                return
            yield from self._lines(itertools.chain(head, f), schema)
        finally:
            f.close()
            if self._raw is not None:
                self._raw.close()

    def _lines(self, f: Iterable[bytes], schema: _Schema) -> Iterator[Record]:
        keys = {"t": schema.time, "d": schema.direction, "s": schema.station, "f": schema.frame, "v": schema.version}
        rename = {k: (v if v != _ABSENT else f"{_ABSENT}{k}") for k, v in keys.items()}
        ttype: Any = (_dt.datetime | float | None) if schema.time_is_rfc3339 else (str | float | None)
        fast_t = msgspec.defstruct(
            "Envelope",
            [
                ("t", ttype, None),
                ("d", str | int | None, None),
                ("s", str | int | None, None),
                ("f", str | None, None),
                ("v", str | None, None),
            ],
            rename=rename,
        )
        slow_t = msgspec.defstruct(
            "AnyEnvelope",
            [("t", Any, None), ("d", Any, None), ("s", Any, None), ("f", msgspec.Raw, _NO_RAW), ("v", Any, None)],
            rename=rename,
        )
        fast: Any = msgspec.json.Decoder(fast_t).decode
        slow: Any = msgspec.json.Decoder(slow_t).decode
        raw_str = msgspec.json.Decoder(str).decode
        errors = (msgspec.ValidationError, msgspec.DecodeError)
        dirs = _DirCache()
        default = self.default_station
        utc = _UTC
        datetime = _dt.datetime
        has_version = schema.version != _ABSENT
        versions_seen: set[str] = set()
        lineno = 0
        skipped = 0  # lines without a frame, blank or not
        for line in f:
            lineno += 1
            try:
                e = fast(line)
                data: Any = e.f
                t: Any = e.t
                d: Any = e.d
                s: Any = e.s
            except errors:
                try:
                    e = slow(line)
                except errors:
                    skipped += 1
                    if line.strip():
                        yield (lineno, None, NOTE, default, ("unreadable-line", "not a JSON object", {}))
                    continue
                t = parse_time(e.t)
                d = e.d if isinstance(e.d, (str, int)) else None
                s = e.s if isinstance(e.s, (str, int)) else None
                raw = bytes(e.f)
                if not raw or raw == b"null":
                    data = None
                elif raw[:1] == b'"':
                    try:
                        data = raw_str(raw)
                    except errors:
                        data = None
                else:
                    data = raw
            if data is None:
                skipped += 1  # a log record that carries no frame (connects, errors, ...)
                continue
            if t is not None:
                if type(t) is datetime:
                    if t.tzinfo is None:
                        t = t.replace(tzinfo=utc)
                    t = t.timestamp()
                elif type(t) is str:
                    t = parse_time(t)
                elif t > 1e11:
                    t = _epoch(t)
            if s is None:
                s = default
            elif type(s) is not str:
                s = str(s)
            if has_version and s not in versions_seen:
                v = version_from_text(e.v)
                if v is not None:
                    versions_seen.add(s)
                    yield (lineno, t, OPEN, s, ConnInfo(s, v, f"version field {e.v!r}", "from the log"))
            yield (lineno, t, dirs[d], s, data)
        self.frames = lineno - skipped
        self.skipped = skipped


# --------------------------------------------------------------------- text logs

# A frame starts with `[` and its message type id followed by a comma: `[2,`, `[ 3 ,`.
_FRAME_START = re.compile(rb"\[\s*\d+\s*,")
_DIR_MARKERS = re.compile(
    rb"(<<|>>|<-|->|(?<![A-Za-z])(?:RX|TX|rx|tx|Rx|Tx|recv|RECV|Recv|send|SEND|Send)(?![A-Za-z])"
    rb"|(?i:received|sent|receiving|sending)\s*:)"
)
_MARKER_CODES = {
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
            f.close()
            if self._raw is not None:
                self._raw.close()

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
                    yield (
                        lineno,
                        _line_time(line),
                        NOTE,
                        _line_station(line, default),
                        ("unreadable-line", "a direction marker but no OCPP-J frame", {}),
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
                    ts = _epoch(float(em.group(1)))
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
            yield (lineno, ts, code, station, data)
        self.frames = frames
        self.skipped = skipped


def _line_time(line: bytes) -> float | None:
    tm = _TIME_BYTES.search(line)
    return parse_time(tm.group().decode()) if tm is not None else None


def _line_station(line: bytes, default: str) -> str:
    sm = _STATION_RE.search(line)
    return sm.group(1).decode("utf-8", "replace") if sm is not None else default


# --------------------------------------------------------------------- detection

_PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a")


def detect_format(path: str) -> str:
    """``"pcap"``, ``"jsonl"`` or ``"text"`` from the first bytes (gzip is looked through)."""
    if path == "-":
        stdin: Any = sys.stdin.buffer
        return _format_of(stdin.peek(1 << 16))
    with open(path, "rb") as raw:
        head = raw.read(4)
        if head[:2] == b"\x1f\x8b":
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                return _format_of(gz.read(1 << 16))
        raw.seek(0)
        return _format_of(raw.read(1 << 16))


def _format_of(head: bytes) -> str:
    if head[:4] in _PCAP_MAGICS:
        return "pcap"
    for line in io.BytesIO(head):
        text = line.strip()
        if not text:
            continue
        return "jsonl" if text[:1] == b"{" else "text"
    return "text"


def open_source(path: str, fmt: str = "auto", default_station: str | None = None) -> Source:
    """A :class:`Source` for ``path``; ``fmt`` is ``auto``, ``jsonl``, ``text`` or ``pcap``."""
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "jsonl":
        return JsonlSource(path, default_station)
    if fmt == "text":
        return TextSource(path, default_station)
    if fmt == "pcap":
        from .pcap import PcapSource  # needs the `pcap` extra (dpkt, wsproto)

        return PcapSource(path, default_station)
    raise ValueError(f"unknown input format {fmt!r} (auto, jsonl, text, pcap)")
