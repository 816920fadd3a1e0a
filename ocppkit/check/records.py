"""The records every reader of recorded traffic yields, and the :class:`Source` they come from.

A source streams one :class:`Record` per frame, or per event around the frames:

- ``position``: the 1-based line number (logs) or packet number (captures);
- ``time``: seconds since the Unix epoch (float) or None when the input has no time;
- ``code``: who sent the frame (:attr:`Code.FROM_STATION`, :attr:`Code.FROM_CSMS`), or as the
  recorder saw it (:attr:`Code.RECEIVED`, :attr:`Code.SENT`), or :attr:`Code.UNKNOWN`; or one
  of the control codes :attr:`Code.OPEN` (``data`` is a :class:`ConnInfo`),
  :attr:`Code.CLOSE` (``data`` is a reason) and :attr:`Code.NOTE` (``data`` is a :class:`Note`:
  a finding the reader made itself);
- ``connection``: a key naming the connection (the station identity in logs, one key per TCP
  stream in captures);
- ``data``: the frame text (``str`` or ``bytes``) exactly as recorded.

Records are msgspec Structs without garbage-collector tracking: a multi-gigabyte log has tens of
millions of them, and they cost what a tuple costs.
"""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Iterator
from enum import IntEnum
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
    "Code",
    "ConnInfo",
    "Note",
    "Record",
    "Source",
    "stem",
]


class Code(IntEnum):
    """What a record is: a frame and who sent it, or a control record."""

    FROM_STATION = 0
    FROM_CSMS = 1
    RECEIVED = 2  # received by whoever recorded the log
    SENT = 3  # sent by whoever recorded the log
    UNKNOWN = 4  # a frame whose sender the input does not say
    OPEN = 5
    CLOSE = 6
    NOTE = 7


# The codes as the readers write them: plain ints (a list indexed by an int subclass, or a dict
# keyed by an enum, costs the hot loop time on every record).
FROM_STATION: int = Code.FROM_STATION.value
FROM_CSMS: int = Code.FROM_CSMS.value
RECEIVED: int = Code.RECEIVED.value
SENT: int = Code.SENT.value
UNKNOWN: int = Code.UNKNOWN.value
OPEN: int = Code.OPEN.value
CLOSE: int = Code.CLOSE.value
NOTE: int = Code.NOTE.value


class Record(msgspec.Struct, frozen=True, gc=False):
    """One frame of the recording, or a control record (see the module's docstring)."""

    position: int
    time: float | None
    code: int  # a Code
    connection: str
    data: Any


class ConnInfo(NamedTuple):
    """What is known about a connection when it opens (captures; JSON Lines with a version)."""

    station: str
    version: str | None = None
    detail: str = ""  # e.g. "127.0.0.1:50322 -> 127.0.0.1:9000 GET /ocpp/CS001 (ocpp2.0.1)"
    source: str = "negotiated"  # where the version comes from: "negotiated" (handshake) or "from the log"


class Note(NamedTuple):
    """A finding a reader made itself (a line it could not read, a broken WebSocket frame)."""

    kind: str
    message: str
    details: dict[str, Any]


class Source:
    """One input file. ``records()`` streams it once; ``tell()`` says how far it got (bytes)."""

    kind = "?"
    unit = "line"

    def __init__(self, path: str, default_station: str | None = None) -> None:
        self.path = path
        self.name = path
        self.size = os.path.getsize(path) if path != "-" else 0
        self.default_station = default_station or (stem(path) if path != "-" else "station")
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

    def _close(self, f: IO[bytes]) -> None:
        f.close()
        if self._raw is not None:
            self._raw.close()

    def tell(self) -> int:
        try:
            return self._raw.tell() if self._raw is not None and not self._raw.closed else self.size
        except (OSError, ValueError):
            return self.size

    def records(self) -> Iterator[Record]:  # pragma: no cover - abstract
        raise NotImplementedError


def stem(path: str) -> str:
    """The station a file names when its lines name none: ``logs/CS001.jsonl.gz`` -> ``CS001``."""
    base = os.path.basename(path)
    for ext in (".gz", ".jsonl", ".ndjson", ".json", ".log", ".txt", ".pcapng", ".pcap"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    return base or "station"
