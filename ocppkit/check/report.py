"""Rendering a :class:`~ocppkit.check.analyze.Summary`: a terminal report and JSON."""

from __future__ import annotations

import datetime as _dt
import os
import sys
import time
from typing import IO, Any

import msgspec

from .analyze import Summary
from .findings import KINDS, SEVERITIES

__all__ = ["Progress", "render_json", "render_text", "verdict"]

_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_SGR = {"error": "31;1", "warning": "33", "info": "36", "bold": "1", "dim": "2", "ok": "32;1", "fail": "31;1"}


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    d = _dt.datetime.fromtimestamp(t, _dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def _safe(text: str) -> str:
    """Text from the log as the terminal shows it: control characters (ANSI escapes, line breaks)
    written as escapes, never sent to the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _fmt_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    return f"{seconds / 86400:.1f} days"


def verdict(summary: Summary, fail_on: str) -> tuple[bool, int]:
    """(failed, number of findings at or above ``fail_on``); ``never`` never fails."""
    if fail_on == "never":
        return False, 0
    rank = _RANK[fail_on]
    n = sum(count for sev, count in summary.by_severity.items() if _RANK[sev] >= rank)
    return n > 0, n


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, style: str) -> str:
        if not self.color or style not in _SGR:
            return text
        return f"\x1b[{_SGR[style]}m{text}\x1b[0m"


def _table(
    rows: list[list[str]],
    header: list[str],
    paint: _Paint,
    styles: list[str | None] | None = None,
    right: frozenset[int] = frozenset(),
) -> list[str]:
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    out = [
        "  " + "  ".join(paint(h.ljust(widths[i]) if i < len(header) - 1 else h, "bold") for i, h in enumerate(header))
    ]
    for r, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            text = cell if i == len(row) - 1 else (cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
            style = styles[r] if styles is not None and i == 0 else None
            cells.append(paint(text, style) if style else text)
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def render_text(
    summary: Summary, *, fail_on: str = "error", color: bool = False, show: int = 50, max_rows: int = 200
) -> str:
    """The terminal report (plain text; ANSI colours when ``color``)."""
    paint = _Paint(color)
    lines: list[str] = []
    n_files = len(summary.files)
    span = ""
    if summary.first_time is not None and summary.last_time is not None:
        span = (
            f", {_fmt_time(summary.first_time)} .. {_fmt_time(summary.last_time)} "
            f"({_fmt_duration(summary.last_time - summary.first_time)})"
        )
    lines.append(
        paint("ocppkit check", "bold") + f": {n_files} file{'s' * (n_files != 1)}, {summary.frames} frames, "
        f"{len(summary.stations)} station{'s' * (len(summary.stations) != 1)}{span}"
    )
    for f in summary.files:
        extra = []
        if f.get("recorded_by"):
            extra.append(f"recorded by {f['recorded_by']}")
        if "tcp_streams" in f:
            extra.append(f"{f['tcp_streams']} TCP streams")
        if f.get("skipped"):
            extra.append(f"{f['skipped']} {f['unit']}s without a frame")
        lines.append(f"  {f['name']}  {f['format']}  {f['frames']} frames" + ("  " + "; ".join(extra) if extra else ""))
    lines.append("")

    counts = summary.by_severity
    total = sum(counts.values())
    head = ", ".join(f"{counts[s]} {s}{'s' * (counts[s] != 1) if s != 'info' else ''}" for s in reversed(SEVERITIES))
    lines.append(paint("FINDINGS", "bold") + f"  {head}")
    if summary.findings:
        shown = summary.findings[:show]
        rows = []
        styles: list[str | None] = []
        for fd in shown:
            where = (
                f"{os.path.basename(fd.file)}:{fd.position}"
                if fd.unit == "line"
                else f"{os.path.basename(fd.file)}#{fd.position}"
            )
            rows.append([fd.severity, _safe(where), _fmt_time(fd.time), _safe(fd.station), fd.kind, _safe(fd.message)])
            styles.append(fd.severity)
        lines += _table(rows, ["SEVERITY", "WHERE", "TIME", "STATION", "KIND", "MESSAGE"], paint, styles)
        more = total - len(shown)
        if more > 0:
            lines.append(paint(f"  ... {more} more (--show N shows more; --json lists up to --max-findings)", "dim"))
        lines.append("")
        # one row per kind and the severity its findings got (a kind can have several: an
        # `unanswered` call is a warning when the input ends before its deadline, `--severity`)
        counted = []
        for k, n in summary.by_kind.items():
            per = summary.by_kind_severity.get(k) or {KINDS[k].severity if k in KINDS else "?": n}
            counted += [(sev, k, m) for sev, m in per.items() if m]
        counted.sort(key=lambda r: (-_RANK.get(r[0], -1), r[1]))
        rows = [[sev, k, str(m), KINDS[k].title if k in KINDS else ""] for sev, k, m in counted]
        lines.append(paint("BY KIND", "bold"))
        lines += _table(rows, ["SEVERITY", "KIND", "COUNT", "WHAT"], paint, [r[0] for r in rows], frozenset({2}))
    else:
        lines.append("  none")
    lines.append("")

    if summary.stations:
        lines.append(paint("STATIONS", "bold"))
        rows = []
        items = sorted(summary.stations.items(), key=lambda kv: (-kv[1]["findings"]["error"], kv[0]))
        for name, st in items[:max_rows]:
            fnd = st["findings"]
            rows.append(
                [
                    _safe(name),
                    ", ".join(st["versions"]) or "-",
                    str(st["connections"]),
                    str(st["frames"]),
                    str(st["calls"]),
                    str(fnd["error"]),
                    str(fnd["warning"]),
                    str(fnd["info"]),
                ]
            )
        lines += _table(
            rows,
            ["STATION", "VERSION", "CONNECTIONS", "FRAMES", "CALLS", "ERRORS", "WARNINGS", "INFO"],
            paint,
            right=frozenset({2, 3, 4, 5, 6, 7}),
        )
        if len(items) > max_rows:
            lines.append(paint(f"  ... {len(items) - max_rows} more stations (--json has them all)", "dim"))
        lines.append("")

    if summary.actions:
        lines.append(paint("CALLS", "bold") + "  response times in ms (p50/p90/p99 within 5 %)")
        rows = []
        for a in summary.actions[:max_rows]:
            rt = a.get("rt_ms", {})
            rows.append(
                [
                    _safe(a["station"]),
                    a["sender"],
                    _safe(a["action"]),
                    str(a["calls"]),
                    str(a["results"]),
                    str(a["errors"]),
                    str(a["invalid"]),
                    str(a["unanswered"]),
                    str(a["late"]),
                    f"{100 * a['error_rate']:.1f}%",
                    _ms(rt.get("p50")),
                    _ms(rt.get("p90")),
                    _ms(rt.get("p99")),
                    _ms(rt.get("max")),
                ]
            )
        lines += _table(
            rows,
            [
                "STATION",
                "FROM",
                "ACTION",
                "CALLS",
                "OK",
                "ERROR",
                "INVALID",
                "UNANSWERED",
                "LATE",
                "ERR%",
                "P50",
                "P90",
                "P99",
                "MAX",
            ],
            paint,
            right=frozenset(range(3, 14)),
        )
        if len(summary.actions) > max_rows:
            lines.append(paint(f"  ... {len(summary.actions) - max_rows} more rows (--json has them all)", "dim"))
        lines.append("")

    failed, n = verdict(summary, fail_on)
    if fail_on == "never":
        lines.append(paint("RESULT: done", "bold") + " (--fail-on never)")
    elif failed:
        lines.append(paint("RESULT: FAIL", "fail") + f": {n} finding{'s' * (n != 1)} at or above '{fail_on}'")
    else:
        lines.append(paint("RESULT: OK", "ok") + f": no finding at or above '{fail_on}'")
    return "\n".join(lines) + "\n"


def render_json(summary: Summary, *, fail_on: str = "error") -> bytes:
    """The machine-readable report (schema in docs/check.md)."""
    failed, n = verdict(summary, fail_on)
    doc: dict[str, Any] = {
        "format": "ocppkit-check/1",
        "result": "fail" if failed else "ok",
        "fail_on": fail_on,
        "failing_findings": n,
        "frames": summary.frames,
        "first_time": _fmt_time(summary.first_time) if summary.first_time is not None else None,
        "last_time": _fmt_time(summary.last_time) if summary.last_time is not None else None,
        "files": summary.files,
        "by_severity": summary.by_severity,
        "by_kind": summary.by_kind,
        "by_kind_severity": summary.by_kind_severity,
        "findings_dropped": summary.dropped_findings,
        "findings": [
            {
                "kind": f.kind,
                "severity": f.severity,
                "file": f.file,
                "unit": f.unit,
                "position": f.position,
                "time": _fmt_time(f.time) if f.time is not None else None,
                "station": f.station,
                "message": f.message,
                "details": f.details,
            }
            for f in summary.findings
        ],
        "stations": {
            name: {
                **st,
                "first_time": _fmt_time(st.get("first_time")) if "first_time" in st else None,
                "last_time": _fmt_time(st.get("last_time")) if "last_time" in st else None,
            }
            for name, st in summary.stations.items()
        },
        "calls": summary.actions,
    }
    return msgspec.json.encode(doc) + b"\n"


class Progress:
    """A one-line progress bar on a terminal (bytes read of all inputs, frames per second)."""

    def __init__(self, total_bytes: int, stream: IO[str] | None = None) -> None:
        self.total = max(total_bytes, 1)
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.done_before = 0  # bytes of the files already finished
        self.last = 0.0
        self.shown = False

    def update(self, current_bytes: int, frames: int) -> None:
        now = time.perf_counter()
        if now - self.last < 0.2:
            return
        self.last = now
        done = min(self.done_before + current_bytes, self.total)
        frac = done / self.total
        width = 30
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        elapsed = now - self.start
        rate = frames / elapsed if elapsed > 0 else 0.0
        eta = (elapsed / frac - elapsed) if frac > 0.001 else 0.0
        self.stream.write(
            f"\r[{bar}] {100 * frac:5.1f}%  {done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB  "
            f"{frames:,} frames  {rate:,.0f}/s  ETA {eta:,.0f} s "
        )
        self.stream.flush()
        self.shown = True

    def file_done(self, size: int) -> None:
        self.done_before += size

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
