"""What the checker keeps per connection: a passive observer of both directions of a station's
traffic, whose states change only through the connection's own state tables.

``ocppkit.Connection`` runs two tables (``ocppkit/states.py``, drawn in docs/rpc.md): the
outgoing-call slot of one side (``SLOT_TRANSITIONS``: IDLE / AWAITING) and the station's boot
(``BOOT_TRANSITIONS``: UNKNOWN / PENDING / ACCEPTED / REJECTED). The checker watches both sides
of a recording, so it keeps one :class:`SlotObserver` per side and one :class:`BootObserver` per
connection, and fires the table's inputs as it sees them on the wire:

- a CALL seen: ``CALL``. The table transmits it from IDLE; in AWAITING it says ENQUEUE, the call
  should have waited: on the wire that is a ``concurrent-call`` finding, and the call is
  outstanding all the same (a pair the table lacks is a finding too, never an exception);
- an answer with the id of an outstanding call: ``RESPONSE`` (END); one with any other id, late
  or unknown: ``STRAY`` (DROP);
- the log's time reaching a call's deadline (or too many calls outstanding): ``DEADLINE``
  (EXPIRE);
- after END or EXPIRE, while calls sent meanwhile are still outstanding: ``DEQUEUE``, as a
  Connection sends its queued call: the slot is AWAITING exactly while a call is outstanding;
- the CSMS's answer to a BootNotification: its status, through ``BOOT_INPUTS``.

These two modules of ocppkit's own core are what the checker imports beyond its public API:
``ocppkit.states`` (the tables) and ``ocppkit.codec.read_head`` (a frame's head).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

import msgspec

from ..edition import Edition
from ..frames import CallError
from ..states import (
    ACCEPTED,
    BOOT_INITIAL,
    BOOT_INPUTS,
    BOOT_TRANSITIONS,
    DEQUEUE,
    OTHER_STATUS,
    PENDING,
    REJECTED,
    SLOT_INITIAL,
    SLOT_TRANSITIONS,
    UNKNOWN,
    Action,
    Input,
    State,
)
from .rules import STATION, allowed_while_pending
from .stats import Stats

__all__ = [
    "INVALID",
    "PLAIN",
    "SPECIAL",
    "BootObserver",
    "Care",
    "Conn",
    "EarlyAnswer",
    "Held",
    "Outstanding",
    "SlotObserver",
]


class Care(IntEnum):
    """How the answer to an outstanding call must be read."""

    PLAIN = 0  # the fast path may take it
    INVALID = 1  # the call broke its schema or the frame rules: a CALLRESULT is accepted-invalid
    SPECIAL = 2  # its answer takes the full path (the boot state, or an action without types)


PLAIN = Care.PLAIN
INVALID = Care.INVALID
SPECIAL = Care.SPECIAL


class Outstanding(msgspec.Struct, gc=False):
    """A call of one side on the wire, waiting for its answer (or past its deadline)."""

    action: str
    time: float | None
    position: int
    care: Care
    stats: Stats


class EarlyAnswer(msgspec.Struct, gc=False):
    """An answer whose id matches no call yet, held in case its call comes later."""

    position: int
    time: float | None
    side: int  # who sent it (-1: not known)
    data: Any
    error: CallError | None  # None for a CALLRESULT


class Held(msgspec.Struct, frozen=True, gc=False):
    """A frame held until the connection's version is known."""

    position: int
    time: float | None
    side: int
    data: Any


class SlotObserver:
    """The calls one side of a connection made, and that side's outgoing-call slot, driven by
    ``SLOT_TRANSITIONS`` (IDLE exactly while none of its calls is outstanding).

    Attributes:
        side: STATION or CSMS: whose calls.
        slot: the slot's state, as the table gives it.
        pending: unique id -> the calls outstanding (one, unless the side broke the rule).
        expired: unique id -> calls past their deadline, waiting for a late answer.
        answered: unique id -> position of the answer, for the calls answered lately.
        sends: unique id -> position, for the 2.1 SENDs seen lately.
        stats: action -> the :class:`Stats` of this side's calls of that action.
        fast: the entries of ``stats`` whose calls the hot path may take.
    """

    __slots__ = ("answered", "expired", "fast", "pending", "sends", "side", "slot", "stats")

    def __init__(self, side: int) -> None:
        self.side = side
        self.slot: State = SLOT_INITIAL
        self.pending: dict[str, Outstanding] = {}
        self.expired: dict[str, Outstanding] = {}
        self.answered: dict[str, int] = {}
        self.sends: dict[str, int] = {}
        self.stats: dict[str, Stats] = {}
        self.fast: dict[str, Stats] = {}

    def fire(self, event: Input) -> Action | None:
        """Take the table's transition for ``event`` and return its action; None, the state
        kept, for a pair the table lacks (the caller reports the frame)."""
        step = SLOT_TRANSITIONS.get((self.slot, event))
        if step is None:
            return None
        action, self.slot = step
        return action

    def ended(self) -> None:
        """After END or EXPIRE: a call sent while the slot was busy takes it (DEQUEUE)."""
        if self.pending:
            self.fire(DEQUEUE)


class BootObserver:
    """The station's boot, as the CSMS's answers to its BootNotifications decide it through
    ``BOOT_TRANSITIONS``; and whether a boot is under way on this connection.

    A recording that starts after the boot is assumed booted: in the table's initial state the
    boot rules apply only once a BootNotification was seen.

    Attributes:
        state: the table's state.
        booting: a BootNotification was sent while the state was the initial one.
        free: no boot rule applies (Accepted, or no boot seen): the hot path's test.
    """

    __slots__ = ("booting", "free", "state")

    def __init__(self) -> None:
        self.state: State = BOOT_INITIAL
        self.booting = False
        self.free = True

    def sent(self) -> None:
        """The station sent a BootNotification."""
        if self.state is UNKNOWN:
            self.booting = True
            self._settle()

    def answered(self, status: str) -> None:
        """The CSMS answered a BootNotification with ``status`` (a pair the table lacks: kept)."""
        self.state = BOOT_TRANSITIONS.get((self.state, BOOT_INPUTS.get(status, OTHER_STATUS)), self.state)
        self._settle()

    def _settle(self) -> None:
        self.free = self.state is ACCEPTED or (self.state is UNKNOWN and not self.booting)

    def forbids(self, side: int, action: str) -> tuple[str, str] | None:
        """Why the boot forbids ``side`` to send ``action`` now, as (what the finding says, the
        boot's name in its details); None when it does not. The rules of a gating
        ``ocppkit.Connection``: until Accepted, the station sends BootNotification only (while
        Pending also the calls a CSMS accepts then); after Rejected, neither side calls."""
        state = self.state
        if side == STATION:
            if action == "BootNotification":
                return None
            if state is UNKNOWN:
                return ("before the answer to its BootNotification", "sent") if self.booting else None
            if state is REJECTED:
                return "after its boot was Rejected", "Rejected"
            if state is PENDING and action not in allowed_while_pending:
                return "while its boot is Pending", "Pending"
            return None
        if state is REJECTED:
            return "to a station whose boot it Rejected", "Rejected"
        return None


class Conn:
    """The state of one connection; bounded whatever the length of the recording."""

    __slots__ = (
        "boot",
        "codec",
        "edition",
        "frames",
        "held_calls",
        "hold",
        "key",
        "known",
        "next_check",
        "orphans",
        "sides",
        "station",
        "version",
        "who",
    )

    def __init__(self, key: str, station: str) -> None:
        self.key = key
        self.station = station
        self.version: str | None = None
        self.edition: Edition | None = None
        self.codec: Any = None
        self.sides = (SlotObserver(0), SlotObserver(1))  # the station's calls, the CSMS's calls
        self.boot = BootObserver()
        self.who: Mapping[str, int | None] = {}  # action -> STATION / CSMS / None (both)
        self.known: frozenset[str] = frozenset()
        self.orphans: dict[str, EarlyAnswer] = {}
        self.next_check = float("inf")
        self.hold: list[Held] | None = None
        self.held_calls = 0
        self.frames = 0
