"""The connection's state tables: the transition functions ``ocppkit.Connection`` runs.

Two concerns, one table each. Every change of state goes through a table: the connection
works out which *input* it met (a response matching its outstanding call, a passed deadline,
...), looks up ``(state, input)`` and takes the next state (and, for the slot, the action) the
table gives. A pair missing from a table is a bug in ocppkit, never the peer's fault: the
connection raises :class:`~ocppkit.LocalProtocolError` (``InternalError``, rule
``stateTable``) instead of guessing. docs/rpc.md draws these tables
(docs/make_state_diagram.py), and tests/test_rpc_states.py replays what each twin does
through them.

States, inputs and actions are sentinels: one object per name, compared by identity in the
code, and ``str`` subclasses so that ``conn.slot == "IDLE"`` keeps reading naturally.
"""

from __future__ import annotations

from typing import Any

from .errors import ErrorCode, LocalProtocolError

__all__ = [
    "ACCEPTED",
    "AWAITING",
    "BOOT_INITIAL",
    "BOOT_INITIAL_BOOTED",
    "BOOT_INPUTS",
    "BOOT_TRANSITIONS",
    "CALL",
    "DEADLINE",
    "DEQUEUE",
    "DROP",
    "END",
    "ENQUEUE",
    "EXPIRE",
    "IDLE",
    "MEANING",
    "OTHER_STATUS",
    "PENDING",
    "REJECTED",
    "RESPONSE",
    "SLOT_INITIAL",
    "SLOT_TRANSITIONS",
    "STRAY",
    "TRANSMIT",
    "UNKNOWN",
    "Action",
    "Input",
    "State",
    "missing_transition",
]


class _Sentinel(str):
    __slots__ = ()

    def __repr__(self) -> str:
        return str.__str__(self)


class State(_Sentinel):
    """A state of the slot or of the boot."""

    __slots__ = ()


class Input(_Sentinel):
    """Something the connection met that may change a state."""

    __slots__ = ()


class Action(_Sentinel):
    """What the connection does on a slot input, besides changing state."""

    __slots__ = ()


# ------------------------------------------------------------------ the outgoing-call slot

IDLE = State("IDLE")
AWAITING = State("AWAITING")
SLOT_INITIAL = IDLE

CALL = Input("call")
RESPONSE = Input("response")
STRAY = Input("unmatched response")
DEADLINE = Input("deadline passed")
DEQUEUE = Input("queued call")

TRANSMIT = Action("transmit")
ENQUEUE = Action("enqueue")
END = Action("end")
DROP = Action("drop")
EXPIRE = Action("expire")

SLOT_TRANSITIONS: dict[tuple[State, Input], tuple[Action, State]] = {
    # (state, input): (action, next state)
    (IDLE, CALL): (TRANSMIT, AWAITING),
    (AWAITING, CALL): (ENQUEUE, AWAITING),
    (AWAITING, RESPONSE): (END, IDLE),
    (IDLE, STRAY): (DROP, IDLE),
    (AWAITING, STRAY): (DROP, AWAITING),
    (AWAITING, DEADLINE): (EXPIRE, IDLE),
    (IDLE, DEQUEUE): (TRANSMIT, AWAITING),
}
# Not in the table, so never met: a response or a deadline with no call outstanding, a queued
# call going out while one is outstanding. DEQUEUE is met right after END or EXPIRE when calls
# are queued, so the slot is IDLE between two calls only inside one method call.

# ------------------------------------------------------------------ the station's boot

UNKNOWN = State("UNKNOWN")
PENDING = State("PENDING")
ACCEPTED = State("ACCEPTED")
REJECTED = State("REJECTED")
BOOT_INITIAL = UNKNOWN
BOOT_INITIAL_BOOTED = ACCEPTED  # Connection(booted=True): accepted on an earlier connection

STATUS_ACCEPTED = Input("Accepted")
STATUS_PENDING = Input("Pending")
STATUS_REJECTED = Input("Rejected")
OTHER_STATUS = Input("other status")

#: A BootNotification response's status -> the input; any other status (a lenient Policy's
#: ``unknown_enum_values="accept"`` lets one in) is OTHER_STATUS.
BOOT_INPUTS: dict[str, Input] = {"Accepted": STATUS_ACCEPTED, "Pending": STATUS_PENDING, "Rejected": STATUS_REJECTED}

BOOT_TRANSITIONS: dict[tuple[State, Input], State] = {
    # The CSMS's answer to a BootNotification (as it sends it, and as the station receives
    # it) decides, from any state: the latest answer is the state. A status no version
    # defines changes nothing.
    (UNKNOWN, STATUS_ACCEPTED): ACCEPTED,
    (UNKNOWN, STATUS_PENDING): PENDING,
    (UNKNOWN, STATUS_REJECTED): REJECTED,
    (UNKNOWN, OTHER_STATUS): UNKNOWN,
    (PENDING, STATUS_ACCEPTED): ACCEPTED,
    (PENDING, STATUS_PENDING): PENDING,
    (PENDING, STATUS_REJECTED): REJECTED,
    (PENDING, OTHER_STATUS): PENDING,
    (ACCEPTED, STATUS_ACCEPTED): ACCEPTED,
    (ACCEPTED, STATUS_PENDING): PENDING,
    (ACCEPTED, STATUS_REJECTED): REJECTED,
    (ACCEPTED, OTHER_STATUS): ACCEPTED,
    (REJECTED, STATUS_ACCEPTED): ACCEPTED,
    (REJECTED, STATUS_PENDING): PENDING,
    (REJECTED, STATUS_REJECTED): REJECTED,
    (REJECTED, OTHER_STATUS): REJECTED,
}

#: One line per state, input and action, for docs/rpc.md.
MEANING: dict[str, str] = {
    IDLE: "no CALL of ours outstanding",
    AWAITING: "one CALL of ours on the wire, its deadline running",
    CALL: "`call(request)`",
    RESPONSE: (
        "a CALLRESULT or CALLERROR with the outstanding call's id, valid or not (a CALLRESULT that breaks the"
        " schema, a CALLERROR that is no well-formed frame)"
    ),
    STRAY: "a CALLRESULT or CALLERROR (valid or not) with any other id: a late answer, or one for no call of ours",
    DEADLINE: "`handle_timeout()` when the clock has reached the outstanding call's deadline",
    DEQUEUE: "the slot became IDLE while calls are queued: the oldest one",
    TRANSMIT: "put the CALL on the wire and start its deadline",
    ENQUEUE: "keep the CALL (already validated and encoded) until the slot is free",
    END: "report the call's end (`ResultReceived`, `ErrorReceived` or `ResultInvalid`); stop the deadline",
    DROP: "report a `LateResponse` or `UnmatchedResponse`; never answer it, never match it to another call",
    EXPIRE: "report `CallTimedOut`; remember the id to recognise a late answer",
    UNKNOWN: "no BootNotification answered on this connection (yet)",
    PENDING: "the last BootNotification was answered Pending",
    ACCEPTED: "the last BootNotification was answered Accepted, or `booted=True`",
    REJECTED: "the last BootNotification was answered Rejected",
    STATUS_ACCEPTED: "a BootNotification answered Accepted (the CSMS sends the answer, the station receives it)",
    STATUS_PENDING: "a BootNotification answered Pending",
    STATUS_REJECTED: "a BootNotification answered Rejected",
    OTHER_STATUS: "a BootNotification answered with a status no version defines (only a lenient policy lets one in)",
}


def missing_transition(table: str, state: Any, event: Any, version: str) -> LocalProtocolError:
    """The error for a ``(state, input)`` pair the table lacks: a bug in ocppkit."""
    return LocalProtocolError(
        ErrorCode.INTERNAL_ERROR,
        f"ocppkit bug: {table} has no transition for input '{event}' in state {state}",
        {"rule": "stateTable", "table": table, "state": str(state), "input": str(event)},
        version=version,
    )
