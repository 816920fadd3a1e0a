"""The outbox's exceptions (all re-exported by ``ocppkit.outbox``)."""

from __future__ import annotations

__all__ = ["OutboxCorrupt", "OutboxError", "OutboxFull"]


class OutboxError(Exception):
    """A misuse of the outbox (an unknown entry id, a request it does not queue, a closed outbox)
    or a store that cannot do what was asked; the message names the field or entry and the rule."""


class OutboxFull(OutboxError):
    """``submit`` found the outbox at ``max_messages`` and nothing it may drop: nothing changed."""


class OutboxCorrupt(OutboxError):
    """The store's contents cannot be read (a corrupt file, not a database, a schema newer than
    this ocppkit, an inconsistent record). For a :class:`SqliteStore` the message names the file,
    the problem and where the file was moved aside; the next open starts a fresh file."""
