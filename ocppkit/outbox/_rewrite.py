"""Payload edits: 1.6 transactionId placeholders, 2.x seqNo numbering and the offline flag.

1.6 (OCPP_BEHAVIOUR §1.4): a StartTransaction queued offline has no transactionId yet, but the
same transaction's MeterValues and StopTransaction need one. The outbox hands out a placeholder
(a negative int, never -1) and keeps its state in the store's meta map; the stored payloads keep
the placeholder and :func:`substitute` replaces it each time the entry is handed out, so a
resend after a crash is rewritten the same way.

2.x (§1.5): :func:`number_event` sets ``seqNo`` (the outbox's per-transaction counter) and
``offline``; the stored payload carries them, so a resend is byte-for-byte the same.

Sans-IO: no I/O, no clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import msgspec

from ._errors import OutboxCorrupt, OutboxError

__all__ = [
    "FIRST_PLACEHOLDER",
    "PLACEHOLDER_KEY",
    "SEQ_KEY",
    "Placeholder",
    "next_placeholder",
    "number_event",
    "substitute",
]

#: The first placeholder; later ones count down (-3, -4, ...). -1 is never one: some CSMSs and
#: stations use it for "no transaction".
FIRST_PLACEHOLDER = -2
_LOWEST = -(2**31)  # the schema's integer is an int32 on most CSMSs
PLACEHOLDER_KEY = "ph:"  # meta "ph:<placeholder>" -> Placeholder.dump()
SEQ_KEY = "seq:"  # meta "seq:<transactionId>" -> the next seqNo


@dataclass(frozen=True, slots=True)
class Placeholder:
    """The state of one live 1.6 placeholder.

    Attributes:
        start: the id of its queued StartTransaction; None once delivered or dropped.
        real: the transactionId the CSMS assigned, once the StartTransaction is delivered.
        dropped: the StartTransaction was dropped (attempts): the transactionId is never known.
        stop: the id of the queued StopTransaction that uses it, if one is queued.
        closed: its StopTransaction was delivered or dropped: no MeterValues or StopTransaction
            may use it any more; the record is forgotten once no queued entry uses it.
    """

    start: int | None
    real: int | None = None
    dropped: bool = False
    stop: int | None = None
    closed: bool = False

    def dump(self) -> str:
        return json.dumps([self.start, self.real, self.dropped, self.stop, self.closed])

    @classmethod
    def parse(cls, key: str, text: str) -> Placeholder:
        try:
            start, real, dropped, stop, closed = json.loads(text)
            if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in (start, real, stop)):
                raise ValueError
            if not (isinstance(dropped, bool) and isinstance(closed, bool)):
                raise ValueError
        except (ValueError, TypeError):
            raise OutboxCorrupt(f"store meta {key!r}: not a placeholder record") from None
        return cls(start, real, dropped, stop, closed)


def next_placeholder(current: int, live: set[int]) -> tuple[int, int]:
    """The placeholder to hand out and the counter's next value (skipping live ones on wrap)."""
    p = current
    for _ in range(len(live) + 2):
        if p < _LOWEST:
            p = FIRST_PLACEHOLDER
        if p not in live:
            return p, p - 1
        p -= 1
    raise OutboxError("no free transactionId placeholder")  # pragma: no cover - 2**31 live ones


def substitute(payload: bytes, placeholders: dict[int, Placeholder], action: str) -> bytes:
    """A 1.6 MeterValues/StopTransaction payload with its placeholder replaced by the real id
    (or, for a MeterValues whose StartTransaction was dropped, the optional transactionId
    removed). Unchanged when it holds no live placeholder."""
    tree: Any = msgspec.json.decode(payload)
    tid = tree.get("transactionId") if isinstance(tree, dict) else None
    state = placeholders.get(tid) if isinstance(tid, int) and not isinstance(tid, bool) else None
    if state is None:
        return payload
    if state.real is not None:
        tree["transactionId"] = state.real
    elif state.dropped and action == "MeterValues":
        del tree["transactionId"]
    else:
        # The StartTransaction precedes (strict FIFO) and a dropped one drops its Stop: a store
        # that says otherwise was not written by this outbox.
        raise OutboxCorrupt(f"{action} with transactionId {tid}: its StartTransaction is neither delivered nor dropped")
    return msgspec.json.encode(tree)


def number_event(request: Any, seq_no: int | None, offline: bool) -> Any:
    """A 2.x TransactionEvent with ``seqNo`` replaced (unless None) and ``offline`` set if true."""
    changes: dict[str, Any] = {}
    if seq_no is not None:
        changes["seq_no"] = seq_no
    if offline:
        changes["offline"] = True
    return msgspec.structs.replace(request, **changes) if changes else request
