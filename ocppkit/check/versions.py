"""Which OCPP version a connection speaks: named in the recording, or guessed from its calls.

In order (docs/check.md, "Which OCPP version"): ``--version``; the subprotocol the CSMS chose in
a captured handshake; a version field of the JSON Lines; else a guess from the connection's
first calls, each decoded under every release: the release under which most are valid wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..codec import read_head
from ..edition import EDITIONS, VERSIONS
from ..errors import OcppError
from ..frames import Call, MessageType, Send

__all__ = ["GUESS_CALLS", "GUESS_FRAMES", "TIE_ORDER", "guess_version", "is_call", "version_from_text"]

GUESS_CALLS = 8  # calls looked at to guess a connection's version
GUESS_FRAMES = 64  # or frames, whichever comes first

_CALL_TYPES = frozenset({MessageType.CALL, MessageType.SEND})
_NAMED = re.compile(
    r"(?:ocpp)?\s*v?(" + "|".join(re.escape(v) for v in sorted(VERSIONS, key=len, reverse=True)) + r")(?![\d.])",
    re.IGNORECASE,
)


def version_from_text(text: object) -> str | None:
    """``"ocpp2.0.1"``, ``"2.0.1"``, ``"OCPP 1.6J"`` ... -> the version ocppkit names, or None."""
    if not isinstance(text, str):
        return None
    m = _NAMED.search(text)
    return m.group(1) if m else None


def is_call(data: str | bytes) -> bool:
    """Whether a frame's head says CALL or SEND (what the guess looks at)."""
    return read_head(data).message_type in _CALL_TYPES


def _tie_order() -> tuple[str, ...]:
    """The order in which tied releases win: first the releases that extend no other, newest
    first; then those whose actions include all of another's (2.1 those of 2.0.1), oldest first,
    since a call valid under both does not need the extension."""
    eds = list(EDITIONS.values())

    def extends(ed: Any) -> bool:
        return any(other.actions < ed.actions for other in eds)

    return (
        *(ed.version for ed in reversed(eds) if not extends(ed)),
        *(ed.version for ed in eds if extends(ed)),
    )


#: Who wins a tie in :func:`guess_version` (today 2.0.1, then 1.6, then 2.1).
TIE_ORDER: tuple[str, ...] = _tie_order()


def guess_version(frames: Iterable[str | bytes], codec: Callable[[str], Any]) -> tuple[str, str]:
    """(version, evidence) from a connection's first frames: the release under which most of its
    CALLs and SENDs decode; ties go by :data:`TIE_ORDER`. ``codec(version)`` gives the codec."""
    scores = dict.fromkeys(TIE_ORDER, 0)
    calls = 0
    for data in frames:
        if not is_call(data):
            continue
        calls += 1
        for version in scores:
            try:
                frame = codec(version).decode(data)
            except OcppError:
                continue
            if type(frame) is Call or type(frame) is Send:
                scores[version] += 1
    best = max(scores, key=lambda v: scores[v])
    return best, f"guessed: {scores[best]} of {calls} calls valid"
