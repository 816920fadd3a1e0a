"""Reading the fields of a log line: who sent the frame (its direction) and when (its time)."""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from .records import FROM_CSMS, FROM_STATION, RECEIVED, SENT, UNKNOWN

__all__ = ["DirectionCache", "direction_code", "epoch", "parse_time"]

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


class DirectionCache(dict[Any, int]):
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


def epoch(value: float) -> float:
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
        return epoch(float(value))
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_UTC)
        return value.timestamp()
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return epoch(float(text))
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
