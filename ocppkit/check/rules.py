"""What the checker knows about OCPP beyond the schemas, all read from the edition records
(:mod:`ocppkit.edition`): who sends which action, the error codes of a release, the calls a CSMS
accepts while a boot is Pending, and how strongly a release limits a side to one outstanding
CALL. Nothing here compares version strings."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from ..edition import EDITIONS, Edition, edition
from ..errors import parse_error_code
from ..rpc import DEFAULT_ALLOWED_WHILE_PENDING

__all__ = [
    "CSMS",
    "SIDE_NAMES",
    "STATION",
    "allowed_while_pending",
    "concurrent_call_severity",
    "directions",
    "error_code_fault",
    "initiator",
]

#: The sides of a connection, as indices: the station's calls and the CSMS's calls.
STATION = 0
CSMS = 1
SIDE_NAMES = ("station", "csms")
_SIDES = {"station": STATION, "csms": CSMS}

#: Station calls a CSMS accepts while the boot is Pending: the default of
#: ``ocppkit.Connection(allowed_while_pending=...)``, read from the public constructor.
allowed_while_pending: frozenset[str] = DEFAULT_ALLOWED_WHILE_PENDING


@cache
def directions(version: str) -> Mapping[str, int | None]:
    """Every action of ``version`` -> STATION or CSMS (who sends it), None when both do."""
    ed = edition(version)
    who = {a: ed.initiator(a) for a in ed.actions}
    return MappingProxyType({a: _SIDES[w] if w is not None else None for a, w in who.items()})


@cache
def initiator(action: str) -> int | None:
    """STATION or CSMS for an action only one side sends in every release that has it; else None."""
    who = {ed.initiator(action) for ed in EDITIONS.values() if action in ed.actions}
    side = who.pop() if len(who) == 1 else None
    return _SIDES[side] if side is not None else None


def concurrent_call_severity(ed: Edition) -> str | None:
    """The severity of a second outstanding CALL: the kind's (error) where the release says SHALL
    NOT (2.x), a warning where it says SHOULD NOT (1.6)."""
    return None if ed.one_call_required else "warning"


def error_code_fault(code: str, ed: Edition) -> tuple[str, str | None] | None:
    """None when ``code`` is one of the release's error codes in its spelling; else what is wrong
    with it and the code the release would use (None if the code means nothing)."""
    if code in ed.error_codes:
        return None
    what = f"is not an OCPP {ed.version} error code"
    parsed = parse_error_code(code)
    if parsed is None:
        return what, None
    spelled = ed.spell(parsed.value)
    if parse_error_code(spelled) is not parsed:  # the release lacks the code: this is its stand-in
        return f"{what} ({ed.version} has no such code; the nearest is {spelled})", spelled
    return f"{what} (OCPP {ed.version} spells it {spelled})", spelled
