"""The station's outbox: transaction messages kept until the CSMS has them (docs/outbox.md).

Sans-IO: :class:`Outbox` decides what to send and when; a driver sends. The stores
(:class:`MemoryStore`, :class:`SqliteStore`, or any :class:`Store`) own the I/O::

    from ocppkit.outbox import Outbox, MemoryStore
    outbox = Outbox("2.0.1", MemoryStore())
"""

from __future__ import annotations

from ._classify import is_transaction_message
from ._core import Outbox
from ._errors import OutboxCorrupt, OutboxError, OutboxFull
from ._records import Attempt, Delivered, Drop, DropReason, Entry, OutboxSettings, Retry, Wait
from ._sqlite import DURABILITY, SCHEMA_VERSION, SqliteStore
from ._store import MemoryStore, Store, StoredEntry, StoreSnapshot

__all__ = [
    "DURABILITY",
    "SCHEMA_VERSION",
    "Attempt",
    "Delivered",
    "Drop",
    "DropReason",
    "Entry",
    "MemoryStore",
    "Outbox",
    "OutboxCorrupt",
    "OutboxError",
    "OutboxFull",
    "OutboxSettings",
    "Retry",
    "SqliteStore",
    "Store",
    "StoreSnapshot",
    "StoredEntry",
    "Wait",
    "is_transaction_message",
]
