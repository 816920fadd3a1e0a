"""The outbox's settings and the records it hands to its driver (all frozen)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from .. import Request, Response

__all__ = ["Attempt", "Delivered", "Drop", "DropReason", "Entry", "OutboxSettings", "Retry", "Wait"]

#: Why an entry was dropped: ``"attempts"`` (every transmission failed), ``"storage"`` (an
#: intermediate message dropped to make room, ``max_messages``) or ``"start_dropped"`` (a 1.6
#: StopTransaction whose StartTransaction was dropped, so its transactionId is unknown).
DropReason = Literal["attempts", "storage", "start_dropped"]


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    """How the outbox retries and bounds its queue (OCPP_BEHAVIOUR §1.2, §1.3).

    Parameters:
        attempts: transmissions per message before it is dropped (1.6
            ``TransactionMessageAttempts``; 2.x ``OCPPCommCtrlr.MessageAttempts`` instance
            ``TransactionEvent``); at least 1.
        retry_interval: seconds; the wait before transmission n+1 is ``retry_interval * n``
            (linear, 2.0.1 E13.FR.03; 1.6 ``TransactionMessageRetryInterval``); at least 0.
        max_messages: the most entries the outbox holds; beyond it intermediate messages are
            dropped (docs/outbox.md, "Storage bound"); at least 1.
        queue_all_messages: 2.x ``OCPPCommCtrlr.QueueAllMessages``: every station message except
            BootNotification is queued.
        number_events: 2.x: the outbox numbers ``TransactionEvent.seqNo`` per transactionId
            (0, 1, 2, ...; persisted), replacing the value given.
    """

    attempts: int = 3
    retry_interval: float = 60.0
    max_messages: int = 1000
    queue_all_messages: bool = False
    number_events: bool = True

    def __post_init__(self) -> None:
        for name in ("attempts", "max_messages"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
        ri = self.retry_interval
        if isinstance(ri, bool) or not isinstance(ri, (int, float)) or not math.isfinite(ri) or ri < 0:
            raise ValueError(f"retry_interval: expected a finite number of seconds >= 0, got {ri!r}")
        for name in ("queue_all_messages", "number_events"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected a bool, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One queued message, as the outbox shows it.

    Attributes:
        id: its place in the queue (increasing, never reused): the order of delivery.
        action: the OCPP action.
        transaction_id: 1.6: a StartTransaction's placeholder (a negative int, never -1), or the
            transactionId of a MeterValues/StopTransaction; 2.x: the TransactionEvent's
            transactionId; None otherwise.
        seq_no: 2.x TransactionEvent: its seqNo; None otherwise.
        transmissions: the failed transmissions counted so far (on a ``Delivered`` entry: with
            the one that succeeded).
        created: epoch seconds when it was submitted.
        dropped: only on the Entry ``submit`` returns: what that submit dropped (storage; or the
            entry itself, a 1.6 StopTransaction whose StartTransaction was already dropped).
    """

    id: int
    action: str
    transaction_id: int | str | None
    seq_no: int | None
    transmissions: int
    created: float
    dropped: tuple[Drop, ...] = ()


@dataclass(frozen=True, slots=True)
class Drop:
    """An entry the outbox gave up on, never sent again.

    Attributes:
        entry: the entry dropped.
        reason: ``"attempts"``, ``"storage"`` or ``"start_dropped"`` (:data:`DropReason`).
        detail: the last failure (``"attempts"``) or what made room or made it unsendable.
        dropped: the drops this one caused: a 1.6 StartTransaction's queued StopTransaction
            (``"start_dropped"``); empty otherwise.
    """

    entry: Entry
    reason: DropReason
    detail: str
    dropped: tuple[Drop, ...] = ()


@dataclass(frozen=True, slots=True)
class Attempt:
    """``next()``: send this now. The entry is in flight until ``delivered``, ``failed`` or
    ``interrupted`` is called with its id.

    Attributes:
        entry: the head entry.
        request: the typed request to send, 1.6 placeholders replaced by the real transactionId.
        transmission: 1 for the first send, 2 for the first retry, ...
    """

    entry: Entry
    request: Request[Any]
    transmission: int


@dataclass(frozen=True, slots=True)
class Wait:
    """``next()``: the head entry is a retry scheduled for later.

    Attributes:
        until: epoch seconds when it is due; call ``next`` again then.
    """

    until: float


@dataclass(frozen=True, slots=True)
class Delivered:
    """``delivered()``: the entry is answered and gone from the store.

    Attributes:
        entry: the entry delivered.
        response: the CSMS's response.
        dropped: drops caused by this delivery (none in this version: kept so that every
            operation that may one day drop reports it the same way).
    """

    entry: Entry
    response: Response
    dropped: tuple[Drop, ...] = ()


@dataclass(frozen=True, slots=True)
class Retry:
    """``failed()``: the entry stays at the head and is sent again at ``at``.

    Attributes:
        entry: the entry, with its transmissions counted.
        at: epoch seconds of the next transmission (``now + retry_interval * transmissions``).
    """

    entry: Entry
    at: float
