"""Reading recorded OCPP traffic as a stream of records: which reader a file needs, and the
readers themselves.

Every reader yields :class:`~ocppkit.check.records.Record` structs (position, time, code,
connection, data; see :mod:`ocppkit.check.records`). JSON Lines (:mod:`ocppkit.check.jsonl`)
and text logs (:mod:`ocppkit.check.textlog`) need nothing beyond msgspec; captures need the
``pcap`` extra (:mod:`ocppkit.check.pcap`). The fields of a line are read by
:mod:`ocppkit.check.fields`, a version named in the recording by :mod:`ocppkit.check.versions`.
"""

from __future__ import annotations

import gzip
import io
import sys
from typing import Any

from .fields import direction_code, parse_time
from .jsonl import JsonlSource
from .records import (
    CLOSE,
    FROM_CSMS,
    FROM_STATION,
    NOTE,
    OPEN,
    RECEIVED,
    SENT,
    UNKNOWN,
    Code,
    ConnInfo,
    Note,
    Record,
    Source,
)
from .textlog import TextSource
from .versions import version_from_text

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
    "JsonlSource",
    "Note",
    "Record",
    "Source",
    "TextSource",
    "detect_format",
    "direction_code",
    "open_source",
    "parse_time",
    "version_from_text",
]

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
