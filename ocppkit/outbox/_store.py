"""The storage interface of the outbox, its records, and the in-memory store.

A store keeps two things: the queued entries (``StoredEntry``, in id order) and a small
``meta`` map of strings (the outbox's counters: next id, 1.6 placeholders, 2.x seqNo counters).
The outbox changes both only through :meth:`Store.commit`, one atomic write per operation, so
whatever a crash interrupts, the store holds the state before or after that operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ._errors import OutboxError

__all__ = ["MemoryStore", "Store", "StoreSnapshot", "StoredEntry"]


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One queued message as a store keeps it.

    Attributes:
        id: its position in the queue (increasing; the order of delivery).
        action: the OCPP action (``"TransactionEvent"``).
        payload: the JSON payload, as ``ocppkit.encode_payload`` gives it (2.x: with the seqNo and
            offline flag the outbox set).
        transmissions: the transmissions counted so far (CALLERRORs and timeouts).
        not_before: epoch seconds before which it is not sent (a retry's schedule; 0 at first).
        created: epoch seconds when it was submitted.
    """

    id: int
    action: str
    payload: bytes
    transmissions: int
    not_before: float
    created: float


@dataclass(frozen=True, slots=True)
class StoreSnapshot:
    """What :meth:`Store.load` returns.

    Attributes:
        entries: the stored entries, in id order.
        meta: the outbox's counters and maps, as strings.
    """

    entries: tuple[StoredEntry, ...]
    meta: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Store(Protocol):
    """What the outbox needs of a store; plug in your own by providing these three methods."""

    def load(self) -> StoreSnapshot:
        """Everything the store holds: the entries in id order and the meta map."""
        ...

    def commit(
        self,
        *,
        add: Iterable[StoredEntry] = (),
        update: Iterable[StoredEntry] = (),
        remove: Iterable[int] = (),
        meta: Mapping[str, str | None] | None = None,
    ) -> None:
        """ONE atomic write: insert ``add`` (new ids), replace ``update`` (existing ids), delete the
        ids in ``remove``, set the ``meta`` keys (a None value deletes the key). All or nothing:
        when it raises, nothing changed. When it returns, the write is as durable as the store
        promises."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


class MemoryStore:
    """A store in this process's memory: it survives disconnects (hand the same object to the
    next :class:`Outbox`), not the end of the process.

    ``close()`` keeps the data, so an outbox closed on a disconnect can be reopened on it.
    """

    def __init__(self) -> None:
        self._entries: dict[int, StoredEntry] = {}
        self._meta: dict[str, str] = {}

    def load(self) -> StoreSnapshot:
        """A copy of the entries (in id order) and of the meta map."""
        return StoreSnapshot(tuple(self._entries[k] for k in sorted(self._entries)), dict(self._meta))

    def commit(
        self,
        *,
        add: Iterable[StoredEntry] = (),
        update: Iterable[StoredEntry] = (),
        remove: Iterable[int] = (),
        meta: Mapping[str, str | None] | None = None,
    ) -> None:
        """Checks everything first, then applies it: all or nothing."""
        add, update, remove = tuple(add), tuple(update), tuple(remove)
        added = {e.id for e in add}  # only the new ids: the check costs nothing per entry held
        if len(added) != len(add):
            raise OutboxError("commit: add: the same entry id twice")
        for e in add:
            if e.id in self._entries:
                raise OutboxError(f"commit: add: entry {e.id} already exists")
        for e in update:
            if e.id not in self._entries:
                raise OutboxError(f"commit: update: no entry {e.id}")
        for i in remove:
            if i not in self._entries and i not in added:
                raise OutboxError(f"commit: remove: no entry {i}")
        for k, v in (meta or {}).items():
            if not isinstance(k, str) or not (v is None or isinstance(v, str)):
                raise OutboxError(f"commit: meta: expected str keys and str or None values, got {k!r}")
        for e in add + update:
            self._entries[e.id] = e
        for i in remove:
            self._entries.pop(i, None)
        for k, v in (meta or {}).items():
            if v is None:
                self._meta.pop(k, None)
            else:
                self._meta[k] = v

    def close(self) -> None:
        """Nothing to release; the data stays for the next outbox."""

    def __repr__(self) -> str:
        return f"<MemoryStore {len(self._entries)} entries>"
