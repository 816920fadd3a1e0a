"""The ``ocppkit check`` subcommand: ``add_parser(subparsers)`` and ``run(args) -> exit status``.

Exit status: 0 when no finding is at or above ``--fail-on`` (default ``error``), 1 when one is,
2 when an input cannot be read or an option is wrong.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Any

from ..edition import VERSIONS
from ..policy import Policy
from .analyze import Analyzer, Options
from .findings import KINDS, SEVERITIES
from .inputs import open_source
from .report import Progress, render_json, render_text, verdict

__all__ = ["add_parser", "parse_policy", "run"]

_PROGRESS_MIN_BYTES = 16 << 20


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``check`` to an argparse subparsers object; returns its parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="validate and correlate recorded OCPP traffic (logs, JSON Lines, pcap)",
        description="Validate every frame of recorded OCPP traffic, pair calls with their answers, and report "
        "who broke the protocol where. Inputs: JSON Lines, text logs, pcap/pcapng of ws:// traffic "
        "(detected automatically; gzip is read too). See docs/check.md.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="recordings to check ('-' reads standard input)")
    p.add_argument(
        "--version",
        dest="ocpp_version",
        default="auto",
        choices=[*VERSIONS, "auto"],
        help="OCPP version; auto: the negotiated subprotocol, a version field, else a guess (default)",
    )
    p.add_argument(
        "--format",
        dest="input_format",
        default="auto",
        choices=["auto", "jsonl", "text", "pcap"],
        help="input format (default: detected from the content)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    strictness = p.add_mutually_exclusive_group()
    strictness.add_argument("--strict", action="store_true", help="enforce every schema rule (the default)")
    strictness.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="SETTING=VALUE[@SCOPE]",
        help="relax a rule as ocppkit.Policy does, e.g. unknown_properties=drop or "
        "unknown_enum_values=accept@StatusNotification (repeatable)",
    )
    p.add_argument(
        "--fail-on",
        default="error",
        choices=[*SEVERITIES, "never"],
        help="exit 1 when a finding is at or above this severity (default: error)",
    )
    p.add_argument(
        "--severity",
        action="append",
        default=[],
        metavar="KIND=LEVEL",
        help="change a finding's severity, e.g. unknown-id=error or call-error=info (repeatable)",
    )
    p.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="an answer later than this is late (default 30)"
    )
    p.add_argument(
        "--late-window",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long after its timeout a call may still get a late answer before it is reported "
        "unanswered (default 300)",
    )
    p.add_argument(
        "--recorded-by",
        default="auto",
        choices=["auto", "csms", "station"],
        help="whose point of view RX/TX, in/out, <</>> markers take (default: told from the calls)",
    )
    p.add_argument("--station", metavar="NAME", help="station name for logs that carry none (default: file name)")
    p.add_argument("--show", type=int, default=50, metavar="N", help="findings listed in the terminal (default 50)")
    p.add_argument(
        "--max-findings",
        type=int,
        default=10_000,
        metavar="N",
        help="findings kept in detail; all are counted (default 10000)",
    )
    p.add_argument("--color", default="auto", choices=["auto", "always", "never"], help="ANSI colours")
    p.add_argument(
        "--progress",
        default="auto",
        choices=["auto", "always", "never"],
        help="progress bar on standard error (auto: on a terminal, for inputs over 16 MB)",
    )
    p.set_defaults(func=run)
    return p


def parse_policy(items: list[str]) -> Policy | None:
    """``["unknown_properties=drop", "unknown_enum_values=accept@StatusNotification"]`` -> Policy."""
    if not items:
        return None
    settings: dict[str, str] = {}
    overrides: dict[str, dict[str, str]] = {}
    for item in items:
        spec, _, scope = item.partition("@")
        name, sep, value = spec.partition("=")
        if not sep:
            raise ValueError(f"--policy {item!r}: expected SETTING=VALUE[@SCOPE]")
        if scope:
            overrides.setdefault(scope.strip(), {})[name.strip()] = value.strip()
        else:
            settings[name.strip()] = value.strip()
    return Policy(**settings, overrides=overrides)


def _severities(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        kind, sep, level = item.partition("=")
        if not sep or kind not in KINDS or level not in SEVERITIES:
            raise ValueError(
                f"--severity {item!r}: expected KIND=LEVEL with a kind from docs/check.md and a level "
                f"from {', '.join(SEVERITIES)}"
            )
        out[kind] = level
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``ocppkit check`` with parsed arguments; returns the exit status."""
    err = sys.stderr
    try:
        options = Options(
            version=args.ocpp_version,
            policy=parse_policy(args.policy),
            timeout=args.timeout,
            late_window=args.late_window,
            recorded_by=args.recorded_by,
            max_findings=args.max_findings,
            default_station=args.station,
            input_format=args.input_format,
            severities=_severities(args.severity),
        )
    except (ValueError, TypeError) as exc:
        print(f"ocppkit check: {exc}", file=err)
        return 2
    analyzer = Analyzer(options)
    sources = []
    for path in args.files:
        if path != "-" and not os.path.isfile(path):
            print(f"ocppkit check: {path}: no such file", file=err)
            return 2
        try:
            sources.append(open_source(path, options.input_format, options.default_station))
        except (ImportError, ValueError, OSError) as exc:
            print(f"ocppkit check: {path}: {exc}", file=err)
            return 2
    total = sum(s.size for s in sources)
    # Everything alive now (modules, schemas, decoders) stays alive: keep the collector off it.
    gc.collect()
    gc.freeze()
    show_progress = args.progress == "always" or (
        args.progress == "auto" and err.isatty() and total >= _PROGRESS_MIN_BYTES
    )
    bar = Progress(total, err) if show_progress else None
    frames_before = 0
    try:
        for src in sources:
            if bar is not None:
                base = frames_before

                def tick(n: int, src: Any = src, base: int = base) -> None:
                    assert bar is not None
                    bar.update(src.tell(), base + n)

                analyzer.run(src, tick)
                bar.file_done(src.size)
            else:
                analyzer.run(src)
            frames_before = analyzer.frames
    except (OSError, ValueError) as exc:
        if bar is not None:
            bar.finish()
        print(f"ocppkit check: {exc}", file=err)
        return 2
    if bar is not None:
        bar.finish()
    summary = analyzer.summary()
    out = sys.stdout
    if args.json:
        out.buffer.write(render_json(summary, fail_on=args.fail_on)) if hasattr(out, "buffer") else out.write(
            render_json(summary, fail_on=args.fail_on).decode()
        )
        out.flush()
    else:
        color = args.color == "always" or (args.color == "auto" and out.isatty() and not os.environ.get("NO_COLOR"))
        out.write(render_text(summary, fail_on=args.fail_on, color=color, show=args.show))
    failed, _ = verdict(summary, args.fail_on)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m ocppkit.check.cli FILE...`` (until the subcommand is wired into ``ocppkit``)."""
    parser = argparse.ArgumentParser(prog="ocppkit")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
