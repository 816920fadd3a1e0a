"""Text from the wire made safe for a terminal or a log line (no I/O, no dependencies)."""

from __future__ import annotations

__all__ = ["printable"]


def printable(text: str) -> str:
    """``text`` safe for a terminal or a log line: every character that is not printable
    (controls such as ESC, format characters such as bidi overrides, line separators, lone
    surrogates) is escaped as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``, as :func:`repr` does."""
    if text.isprintable():
        return text
    out = []
    for c in text:
        if c.isprintable():
            out.append(c)
        else:
            n = ord(c)
            out.append(f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}")
    return "".join(out)
