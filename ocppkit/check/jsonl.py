"""JSON Lines: one JSON object per frame; which keys hold what is detected from the first lines."""

from __future__ import annotations

import datetime as _dt
import itertools
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import msgspec

from .fields import DirectionCache, direction_code, epoch, parse_time
from .records import NOTE, OPEN, UNKNOWN, ConnInfo, Note, Record, Source
from .versions import version_from_text

__all__ = ["JsonlSource", "KeySchema", "detect_keys"]

_UTC = _dt.timezone.utc

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


class KeySchema(NamedTuple):
    """The keys of a JSON Lines log that hold each part (or a placeholder no line has)."""

    frame: str
    time: str
    direction: str
    station: str
    version: str
    time_is_rfc3339: bool


def detect_keys(sample: list[bytes]) -> KeySchema | None:
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
        return KeySchema(frame, time, direction, station, version, rfc)
    return None


class JsonlSource(Source):
    """JSON Lines: one object per frame, keys detected from the first lines (see docs/check.md)."""

    kind = "jsonl"
    unit = "line"

    def __init__(self, path: str, default_station: str | None = None) -> None:
        super().__init__(path, default_station)
        self.schema: KeySchema | None = None

    def records(self) -> Iterator[Record]:
        f = self._open()
        try:
            head: list[bytes] = []
            for line in f:  # the first lines decide the keys; they are then read like the rest
                head.append(line)
                if len(head) >= 200:
                    break
            schema = self.schema = detect_keys([line for line in head if line.strip()])
            if schema is None:
                yield Record(
                    1,
                    None,
                    NOTE,
                    self.default_station,
                    Note("unreadable-line", "no JSON object with an OCPP frame in the first lines", {}),
                )
                return
            yield from self._lines(itertools.chain(head, f), schema)
        finally:
            self._close(f)

    def _lines(self, f: Iterable[bytes], schema: KeySchema) -> Iterator[Record]:
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
        dirs = DirectionCache()
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
                        yield Record(lineno, None, NOTE, default, Note("unreadable-line", "not a JSON object", {}))
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
                    t = epoch(t)
            if s is None:
                s = default
            elif type(s) is not str:
                s = str(s)
            if has_version and s not in versions_seen:
                v = version_from_text(e.v)
                if v is not None:
                    versions_seen.add(s)
                    yield Record(lineno, t, OPEN, s, ConnInfo(s, v, f"version field {e.v!r}", "from the log"))
            yield Record(lineno, t, dirs[d], s, data)
        self.frames = lineno - skipped
        self.skipped = skipped
