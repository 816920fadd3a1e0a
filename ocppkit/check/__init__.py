"""``ocppkit check``: validate and correlate recorded OCPP traffic.

Reads JSON Lines, plain text logs and (with the ``pcap`` extra) pcap/pcapng captures of
``ws://`` traffic, checks every frame against the schemas of its OCPP version, pairs calls with
their answers per connection, and reports what each side did wrong with its position, time and
station, plus per-station and per-action counts, error rates and response-time percentiles.
See docs/check.md.

    from ocppkit.check import Options, check_files
    summary = check_files(["session.jsonl"], Options(version="2.0.1"))
"""

from __future__ import annotations

from collections.abc import Iterable

from .analyze import KINDS, SEVERITIES, Analyzer, Finding, Options, Summary
from .inputs import open_source

__all__ = ["KINDS", "SEVERITIES", "Analyzer", "Finding", "Options", "Summary", "check_files"]


def check_files(paths: Iterable[str], options: Options | None = None) -> Summary:
    """Check files (each on its own: calls and answers are paired within one file) and summarise."""
    options = options or Options()
    analyzer = Analyzer(options)
    for path in paths:
        analyzer.run(open_source(path, options.input_format, options.default_station))
    return analyzer.summary()
