"""The outbox: a persistent, strictly ordered queue of a station's transaction messages.

Sans-IO: it decides what to send and when; a driver (``ocppkit.adapters``) sends, and reports
back with :meth:`Outbox.delivered`, :meth:`Outbox.failed` or :meth:`Outbox.interrupted`. Time
comes in as ``now`` (epoch seconds, as ``time.time()`` gives, so that persisted retry schedules
survive a restart). Every change is one atomic :meth:`Store.commit` made before the method
returns. The rules are OCPP_BEHAVIOUR §1 (docs/outbox.md cites each).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any

import msgspec

from .. import Request, Response, decode_payload, encode_payload
from ..edition import edition
from ._classify import is_intermediate, is_transaction_message
from ._errors import OutboxCorrupt, OutboxError, OutboxFull
from ._records import Attempt, Delivered, Drop, Entry, OutboxSettings, Retry, Wait
from ._rewrite import (
    FIRST_PLACEHOLDER,
    PLACEHOLDER_KEY,
    SEQ_KEY,
    Placeholder,
    next_placeholder,
    number_event,
    substitute,
)
from ._store import Store, StoredEntry

__all__ = ["Outbox"]

_Meta = dict[str, "str | None"]
# The 1.6 messages whose transactionId may be a StartTransaction's placeholder.
_USES_PLACEHOLDERS = frozenset({"MeterValues", "StopTransaction"})


class _Item:
    """A live entry: what is stored, and what the outbox derived from its payload."""

    __slots__ = ("intermediate", "ph", "seq_no", "stored", "tx")

    def __init__(
        self, stored: StoredEntry, tx: int | str | None, seq_no: int | None, intermediate: bool, ph: int | None
    ) -> None:
        self.stored = stored
        self.tx = tx
        self.seq_no = seq_no
        self.intermediate = intermediate
        self.ph = ph  # 1.6 MeterValues/StopTransaction: the live placeholder in its payload


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class Outbox:
    """A station's outbox for one OCPP version, kept in ``store``.

    Opening it loads what the store holds: the entries in order, the 1.6 placeholders and the
    2.x seqNo counters (``restored`` says how many entries were found). Strict FIFO: only the
    head entry is ever offered, one at a time.

    Parameters:
        version: ``"1.6"``, ``"2.0.1"`` or ``"2.1"``; a store keeps the version it was opened
            with and refuses another.
        store: where the entries live: a :class:`MemoryStore`, a :class:`SqliteStore` or any
            :class:`Store`.
        settings: retries, storage bound and options; ``OutboxSettings()`` by default.
    """

    def __init__(self, version: str, store: Store, settings: OutboxSettings | None = None) -> None:
        ed = edition(version)
        if settings is None:
            settings = OutboxSettings()
        if not isinstance(settings, OutboxSettings):
            raise TypeError(f"settings: expected an OutboxSettings, got {type(settings).__name__}")
        if not isinstance(store, Store):
            raise TypeError(f"store: expected a Store (load, commit, close), got {type(store).__name__}")
        self.version = ed.version
        self.settings = settings
        self._store = store
        actions = importlib.import_module(ed.package).ACTIONS
        self._requests: dict[str, type[Any]] = {}
        self._responses: dict[str, type[Any]] = {}
        for name, row in actions.items():
            if row.response is not None:
                self._requests[name] = row.request
                self._responses[name] = row.response
        self._closed = False
        self._in_flight: int | None = None

        snapshot = store.load()
        self._meta: dict[str, str] = dict(snapshot.meta)
        stored_version = self._meta.get("version")
        if stored_version is not None and stored_version != self.version:
            raise OutboxError(f"store: holds an OCPP {stored_version} outbox, opened as OCPP {self.version}")
        self._ph: dict[int, Placeholder] = {}
        for key, text in self._meta.items():
            if key.startswith(PLACEHOLDER_KEY):
                p = _int(_parse_int(key[len(PLACEHOLDER_KEY) :], key))
                assert p is not None
                self._ph[p] = Placeholder.parse(key, text)
        starts = {st.start: p for p, st in self._ph.items() if st.start is not None}
        self._items: dict[int, _Item] = {}
        for stored in sorted(snapshot.entries, key=lambda e: e.id):
            if stored.id in self._items:
                raise OutboxCorrupt(f"store: entry {stored.id} appears twice")
            self._items[stored.id] = self._derive(stored, starts.get(stored.id))
        last = max(self._items, default=0)
        self._next_id = max(_parse_int(self._meta.get("next_id", "1"), "next_id"), last + 1)
        #: How many entries the store held when the outbox was opened (resent after a restart).
        self.restored: int = len(self._items)
        if stored_version is None:
            self._commit(meta={"version": self.version})

    # ---------------------------------------------------------------- inspection

    def is_transaction_message(self, action: str) -> bool:
        """Whether this outbox queues ``action`` (its version and ``queue_all_messages``)."""
        return is_transaction_message(self.version, action, self.settings.queue_all_messages)

    def pending(self) -> int:
        """Entries not yet delivered or dropped (the one in flight included)."""
        return len(self._items)

    def entries(self) -> list[Entry]:
        """The live entries, in delivery order."""
        return [self._entry(item) for item in self._items.values()]

    def pending_for(self, transaction_id: str) -> int:
        """Entries of one transaction (2.x ``GetTransactionStatus.messagesInQueue``, E14)."""
        return sum(1 for item in self._items.values() if item.tx is not None and str(item.tx) == transaction_id)

    # ---------------------------------------------------------------- submit

    def submit(self, request: Request[Any], now: float, *, offline: bool = False) -> Entry:
        """Queue ``request``, committed to the store before this returns.

        2.x TransactionEvent: ``seqNo`` is numbered per transactionId (``number_events``) and
        ``offline=True`` sets ``offline: true`` (the event happened offline); ``offline`` is
        ignored for other messages. 1.6 StartTransaction: the returned entry's
        ``transaction_id`` is a placeholder to put into that transaction's MeterValues and
        StopTransaction. At ``max_messages``, intermediate messages are dropped first and listed
        in ``entry.dropped``; raises :class:`OutboxFull` (nothing changed) when none may be.
        Raises :class:`OutboxError` for a request the outbox does not queue and
        ``ocppkit.LocalProtocolError`` for one the schema forbids.
        """
        self._check_open()
        now = _check_now(now)
        info = getattr(type(request), "__ocpp__", None)
        if not isinstance(request, Request) or info is None or info.role != "request":
            raise TypeError(f"request: expected an OCPP {self.version} <Action>Request, got {type(request).__name__}")
        if info.version != self.version:
            raise OutboxError(
                f"request: {type(request).__name__} is OCPP {info.version}, this outbox is OCPP {self.version}"
            )
        action: str = info.action
        if action not in self._requests or not self.is_transaction_message(action):
            raise OutboxError(
                f"request: {action} is not a transaction message (queue_all_messages="
                f"{self.settings.queue_all_messages}): send it directly"
            )
        req: Any = request
        entry_id = self._next_id
        meta: _Meta = {"next_id": str(entry_id + 1)}
        states: dict[int, Placeholder] = {}
        tx: int | str | None = None
        ph: int | None = None
        drop_at_once: str | None = None
        if action == "StartTransaction":
            current = _parse_int(self._meta.get("ph_next", str(FIRST_PLACEHOLDER)), "ph_next")
            p, following = next_placeholder(current, set(self._ph))
            meta["ph_next"] = str(following)
            states[p] = Placeholder(start=entry_id)
            tx = p
        elif action in _USES_PLACEHOLDERS and "transaction_id" in type(req).__struct_fields__:  # 1.6
            tx = _int(req.transaction_id)
            state = self._ph.get(tx) if tx is not None else None
            if state is not None and tx is not None:
                if state.closed or state.stop is not None:
                    raise OutboxError(
                        f"request: transactionId {tx}: the StopTransaction of that transaction is already"
                        " queued or done; nothing more may use its placeholder"
                    )
                ph = tx
                if action == "StopTransaction":
                    if state.dropped:
                        drop_at_once = (
                            f"the StartTransaction of placeholder {tx} was dropped: its transactionId is unknown"
                        )
                        states[tx] = dataclasses.replace(state, closed=True)
                    else:
                        states[tx] = dataclasses.replace(state, stop=entry_id)
            elif tx is not None and FIRST_PLACEHOLDER >= tx > _parse_int(self._meta.get("ph_next", "-2"), "ph_next"):
                raise OutboxError(
                    f"request: transactionId {tx} is a placeholder no longer live (its StopTransaction was"
                    " delivered or dropped)"
                )
        elif action == "TransactionEvent":
            tx = req.transaction_info.transaction_id
            seq: int | None = None
            if self.settings.number_events:
                key = SEQ_KEY + str(tx)
                seq = _parse_int(self._meta.get(key, "0"), key)
                meta[key] = None if req.event_type == "Ended" else str(seq + 1)
            req = number_event(req, seq, offline)
        payload = encode_payload(req)  # validates: LocalProtocolError names the field
        seq_no = _int(req.seq_no) if action == "TransactionEvent" else None
        stored = StoredEntry(entry_id, action, payload, 0, 0.0, now)
        item = _Item(stored, tx, seq_no, is_intermediate(self.version, action, msgspec.json.decode(payload)), ph)

        if drop_at_once is not None:
            entry = self._entry(item)
            meta.update(self._placeholders(states, removed=set()))
            self._commit(meta=meta)
            return dataclasses.replace(entry, dropped=(Drop(entry, "start_dropped", drop_at_once),))

        removed: list[int] = []
        drops: list[Drop] = []
        need = len(self._items) + 1 - self.settings.max_messages
        if need > 0:
            victims, cursor = self._victims(need)
            if victims is None:
                raise OutboxFull(
                    f"max_messages: the outbox holds {len(self._items)} messages (max_messages="
                    f"{self.settings.max_messages}) and none it may drop (only intermediate ones, never"
                    " the head)"
                )
            meta["thin"] = str(cursor)
            for v in victims:
                removed.append(v)
                drops.append(
                    Drop(
                        self._entry(self._items[v]),
                        "storage",
                        f"dropped to make room for entry {entry_id} (max_messages={self.settings.max_messages})",
                    )
                )
        meta.update(self._placeholders(states, removed=set(removed)))
        self._commit(add=(stored,), remove=removed, meta=meta)
        for v in removed:
            del self._items[v]
        self._items[entry_id] = item
        return dataclasses.replace(self._entry(item), dropped=tuple(drops))

    # ---------------------------------------------------------------- sending

    def next(self, now: float) -> Attempt | Wait | None:
        """What to send: an :class:`Attempt` (the head is due; it is now in flight), a
        :class:`Wait` (the head is a retry due later), or None (empty, or one in flight).
        Call it only while connected and allowed to send."""
        self._check_open()
        now = _check_now(now)
        if self._in_flight is not None or not self._items:
            return None
        head = next(iter(self._items.values()))
        if head.stored.not_before > now:
            return Wait(head.stored.not_before)
        payload = head.stored.payload
        if head.ph is not None:
            payload = substitute(payload, self._ph, head.stored.action)
        try:
            request = decode_payload(payload, self._requests[head.stored.action])
        except Exception as exc:
            raise OutboxCorrupt(
                f"entry {head.stored.id}: stored {head.stored.action} payload unreadable: {exc}"
            ) from None
        self._in_flight = head.stored.id
        return Attempt(self._entry(head), request, head.stored.transmissions + 1)

    def delivered(self, entry_id: int, response: Response, now: float) -> Delivered:
        """The in-flight entry was answered: it is removed (1.6 StartTransaction: its placeholder
        now stands for ``response.transaction_id``, persisted in the same write)."""
        item = self._flying(entry_id, "delivered")
        _check_now(now)
        action = item.stored.action
        cls = self._responses[action]
        if not isinstance(response, cls):
            raise TypeError(f"response: expected {cls.__name__}, got {type(response).__name__}")
        states: dict[int, Placeholder] = {}
        if action == "StartTransaction" and isinstance(item.tx, int):
            res: Any = response
            states[item.tx] = dataclasses.replace(self._ph[item.tx], start=None, real=res.transaction_id)
        elif action == "StopTransaction" and item.ph is not None:
            states[item.ph] = dataclasses.replace(self._ph[item.ph], stop=None, closed=True)
        meta = self._placeholders(states, removed={entry_id})
        self._commit(remove=(entry_id,), meta=meta)
        del self._items[entry_id]
        self._in_flight = None
        entry = self._entry(item)
        return Delivered(dataclasses.replace(entry, transmissions=entry.transmissions + 1), response)

    def failed(self, entry_id: int, reason: str, now: float) -> Retry | Drop:
        """The in-flight entry got a CALLERROR or timed out (``reason``, e.g. ``"timeout"``): the
        transmission is counted (persisted). A :class:`Retry` at ``now + retry_interval * n``
        while fewer than ``attempts`` transmissions were made, else a :class:`Drop`
        (``"attempts"``; a 1.6 StartTransaction also drops its queued StopTransaction,
        ``"start_dropped"``, listed in ``Drop.dropped``)."""
        item = self._flying(entry_id, "failed")
        now = _check_now(now)
        if not isinstance(reason, str):
            raise TypeError(f"reason: expected a str, got {type(reason).__name__}")
        n = item.stored.transmissions + 1
        if n < self.settings.attempts:
            at = now + self.settings.retry_interval * n
            stored = dataclasses.replace(item.stored, transmissions=n, not_before=at)
            self._commit(update=(stored,))
            item.stored = stored
            self._in_flight = None
            return Retry(self._entry(item), at)
        action = item.stored.action
        removed = {entry_id}
        cascade: list[Drop] = []
        states: dict[int, Placeholder] = {}
        if action == "StartTransaction" and isinstance(item.tx, int):
            state = self._ph[item.tx]
            if state.stop is not None:
                removed.add(state.stop)
                cascade.append(
                    Drop(
                        self._entry(self._items[state.stop]),
                        "start_dropped",
                        f"its StartTransaction (entry {entry_id}) was dropped after {n} transmissions",
                    )
                )
            states[item.tx] = dataclasses.replace(
                state, start=None, dropped=True, stop=None, closed=state.stop is not None
            )
        elif action == "StopTransaction" and item.ph is not None:
            states[item.ph] = dataclasses.replace(self._ph[item.ph], stop=None, closed=True)
        meta = self._placeholders(states, removed=removed)
        self._commit(remove=sorted(removed), meta=meta)
        for i in removed:
            del self._items[i]
        self._in_flight = None
        gone = dataclasses.replace(self._entry(item), transmissions=n)
        return Drop(gone, "attempts", reason, tuple(cascade))

    def interrupted(self, entry_id: int) -> None:
        """The connection dropped while the entry was in flight: it stays at the head and is sent
        again, with the same payload, on the next :meth:`next`. Not counted as a transmission."""
        self._flying(entry_id, "interrupted")
        self._in_flight = None

    def close(self) -> None:
        """Close the store; the outbox refuses every later call."""
        if not self._closed:
            self._closed = True
            self._in_flight = None
            self._store.close()

    def __repr__(self) -> str:
        return f"<Outbox OCPP {self.version}: {len(self._items)} pending>"

    # ---------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._closed:
            raise OutboxError("outbox: closed")

    def _flying(self, entry_id: int, what: str) -> _Item:
        self._check_open()
        if self._in_flight is None or entry_id != self._in_flight:
            now = "none is" if self._in_flight is None else f"entry {self._in_flight} is"
            raise OutboxError(f"{what}: entry_id {entry_id!r} is not in flight ({now})")
        return self._items[entry_id]

    def _entry(self, item: _Item) -> Entry:
        s = item.stored
        return Entry(s.id, s.action, item.tx, item.seq_no, s.transmissions, s.created)

    def _derive(self, stored: StoredEntry, placeholder: int | None) -> _Item:
        """Rebuild a live entry from the store (its transaction, seqNo, placeholder)."""
        if stored.action not in self._requests:
            raise OutboxCorrupt(f"store: entry {stored.id}: {stored.action!r} is no OCPP {self.version} action")
        try:
            tree = msgspec.json.decode(stored.payload)
        except (msgspec.DecodeError, TypeError):
            tree = None
        if not isinstance(tree, dict):
            raise OutboxCorrupt(f"store: entry {stored.id}: its payload is not a JSON object")
        tx: int | str | None = placeholder
        seq_no: int | None = None
        ph: int | None = None
        if stored.action == "TransactionEvent":
            info = tree.get("transactionInfo")
            tx = info.get("transactionId") if isinstance(info, dict) else None
            seq_no = _int(tree.get("seqNo"))
        elif "transactionId" in tree and stored.action in _USES_PLACEHOLDERS:
            tx = _int(tree["transactionId"])
            ph = tx if tx in self._ph else None
        return _Item(stored, tx, seq_no, is_intermediate(self.version, stored.action, tree), ph)

    def _victims(self, need: int) -> tuple[list[int] | None, int]:
        """The intermediate entries to drop for room: every second one from the oldest, on from
        where the last thinning stopped (``thin``), starting a new pass when it reaches the end.
        Never the head. None when fewer than ``need`` may be dropped."""
        ids = list(self._items)
        candidates = [i for i in ids[1:] if self._items[i].intermediate]
        if len(candidates) < need:
            return None, 0
        cursor = _parse_int(self._meta.get("thin", "0"), "thin")
        victims: list[int] = []
        while len(victims) < need:
            remaining = [c for c in candidates if c not in victims]
            after = [c for c in remaining if c > cursor]
            if len(after) >= 2:
                victim = after[1]
            else:
                victim = remaining[1] if len(remaining) >= 2 else remaining[0]
            victims.append(victim)
            cursor = victim
        return victims, cursor

    def _placeholders(self, states: dict[int, Placeholder], removed: set[int]) -> _Meta:
        """The meta writes for changed placeholder states: a closed one no remaining entry uses is
        forgotten (deleted)."""
        merged = {**self._ph, **states}
        meta: _Meta = {}
        for p, st in merged.items():
            if not st.closed:
                if p in states:
                    meta[PLACEHOLDER_KEY + str(p)] = st.dump()
                continue
            used = any(item.ph == p for i, item in self._items.items() if i not in removed)
            if not used:
                meta[PLACEHOLDER_KEY + str(p)] = None
            elif p in states:
                meta[PLACEHOLDER_KEY + str(p)] = st.dump()
        return meta

    def _commit(
        self,
        *,
        add: tuple[StoredEntry, ...] = (),
        update: tuple[StoredEntry, ...] = (),
        remove: tuple[int, ...] | list[int] = (),
        meta: _Meta | None = None,
    ) -> None:
        """One atomic store write, then the same change to the in-memory mirror of ``meta``."""
        self._store.commit(add=add, update=update, remove=tuple(remove), meta=meta)
        for key, value in (meta or {}).items():
            if value is None:
                self._meta.pop(key, None)
            else:
                self._meta[key] = value
            if key.startswith(PLACEHOLDER_KEY):
                p = int(key[len(PLACEHOLDER_KEY) :])
                if value is None:
                    self._ph.pop(p, None)
                else:
                    self._ph[p] = Placeholder.parse(key, value)
        if "next_id" in (meta or {}):
            self._next_id = int(self._meta["next_id"])


def _parse_int(text: str, key: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise OutboxCorrupt(f"store meta {key!r}: expected an integer, got {text[:40]!r}") from None


def _check_now(now: float) -> float:
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
        raise ValueError(f"now: expected finite epoch seconds, got {now!r}")
    return float(now)
