"""The CSMS transaction ledger: :class:`Ledger`.

One ``record(station, request)`` per transaction message, from the handler that answers it.
Each record is one sqlite transaction, committed before ``record`` returns, so a CSMS that answers
after recording never acknowledges a message it could lose; and a re-delivery (the station did
not see the answer) is recognised by its key and changes nothing. See docs/ledger.md.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import OcppError
from ._facts import Facts, PayloadReader, facts
from ._schema import open_database
from ._views import Anomaly, Recorded, Status, Stored, TransactionRequest, TransactionView, build_view, energy_delta

if TYPE_CHECKING:
    from ..policy import Policy

__all__ = ["Ledger"]

_ID_COUNTER = "transaction_id_1.6"
_ORDER = "CASE kind WHEN 'start' THEN 0 WHEN 'stop' THEN 2 ELSE 1 END, seq_no, ts_us, payload, id"


def _check_station(station: object) -> str:
    if not isinstance(station, str):
        raise TypeError(f"station: expected the station identity (str), got {type(station).__name__}")
    if not station:
        raise ValueError("station: expected a non-empty station identity")
    return station


def _id_type(transaction_id: object) -> str:
    if isinstance(transaction_id, bool) or not isinstance(transaction_id, (int, str)):
        raise TypeError(f"transaction_id: expected int (1.6) or str (2.x), got {type(transaction_id).__name__}")
    return "int" if isinstance(transaction_id, int) else "str"


class Ledger:
    """The record of every transaction message a CSMS received, on sqlite.

    ``Ledger("ledger.sqlite")`` keeps it in a file (WAL mode; created if missing, migrated to
    the current schema if older); ``Ledger()`` or ``Ledger(":memory:")`` in memory, by the same
    code. Each :meth:`record` is committed before it returns. Thread-safe; also a context
    manager (closed on exit).

    Parameters:
        path: the sqlite file, or None / ``":memory:"`` for a ledger in memory.
        durability: ``"full"`` (the default: sqlite ``synchronous=FULL``, a commit survives a
            power loss), ``"normal"`` (``synchronous=NORMAL``: survives a crash of the process,
            the last commits may be lost on a power loss) or ``"off"`` (``synchronous=OFF``: no
            fsync; for tests and benchmarks).
        policy: the :class:`ocppkit.Policy` your connections decode with, if lenient: a request
            it relaxed does not satisfy the schema, and is stored and read back under this
            policy. None (strict): such a request raises ValueError.

    Attributes:
        path: the file, or None in memory.
        durability: the durability setting.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, durability: str = "full", policy: Policy | None = None
    ) -> None:
        memory = path is None or (isinstance(path, str) and path == ":memory:")
        self._db: sqlite3.Connection | None = open_database(path, durability)
        self._lock = threading.RLock()
        self._policy = policy
        self._reader = PayloadReader(policy)
        self.path: str | None = None if memory else os.fspath(path)  # type: ignore[arg-type]
        self.durability = durability

    def __repr__(self) -> str:
        where = "memory" if self.path is None else repr(self.path)
        return f"<Ledger {where}{' closed' if self._db is None else ''}>"

    # ------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._db is None

    def close(self) -> None:
        """Close the database (everything recorded is already committed). Idempotent."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError("the ledger is closed")
        return self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # ------------------------------------------------------------------ recording

    def record(self, station: str, request: TransactionRequest) -> Recorded:
        """Record one transaction message from ``station`` (its identity) and say what it was.

        ``request`` is a 1.6 StartTransactionRequest, MeterValuesRequest or
        StopTransactionRequest, or a 2.0.1 / 2.1 TransactionEventRequest. Committed before it
        returns. Never raises for a message a CSMS must accept (unknown transactionId,
        out-of-order or late event, re-delivery, conflict: all recorded and reported); raises
        TypeError for anything that is not a transaction message and ValueError for a request
        that does not satisfy its schema (see ``policy``) or a closed ledger.
        """
        _check_station(station)
        f = facts(request, validate=self._policy is None)
        try:
            self._reader.read(f.version, f.action, f.payload)
        except OcppError as exc:
            raise ValueError(f"request: does not read back as {f.version} {f.action}Request ({exc})") from None
        with self._lock:
            with self._write() as db:
                status, tx_row, late = self._store(db, station, f)
            view = None if tx_row is None else self._view(tx_row)
        if view is None:
            return Recorded(status, None, False, late, (), None)
        return Recorded(status, view.transaction_id, view.orphan, late, view.gaps, view)

    def _store(self, db: sqlite3.Connection, station: str, f: Facts) -> tuple[Status, int | None, bool]:
        row = db.execute(
            "SELECT id, fingerprint, tx_row, late FROM messages WHERE station = ? AND key = ?", (station, f.key)
        ).fetchone()
        if row is not None:
            message, fingerprint, tx_row, late = row
            if fingerprint == f.fingerprint:
                db.execute("UPDATE messages SET duplicates = duplicates + 1 WHERE id = ?", (message,))
                return "duplicate", tx_row, bool(late)
            db.execute(
                "INSERT INTO conflicts (message, version, action, fingerprint, payload) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (message, fingerprint) DO UPDATE SET deliveries = deliveries + 1",
                (message, f.version, f.action, f.fingerprint, f.payload),
            )
            return "conflict", tx_row, bool(late)
        tx_row = self._transaction_row(db, station, f)
        late = tx_row is not None and self._is_late(db, tx_row, f)
        db.execute(
            "INSERT INTO messages (station, key, version, action, kind, event, tx_row, connector, seq_no, ts_us,"
            " meter, fingerprint, payload, late) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                station,
                f.key,
                f.version,
                f.action,
                f.kind,
                f.event,
                tx_row,
                f.connector,
                f.seq_no,
                f.ts_us,
                f.meter,
                f.fingerprint,
                f.payload,
                int(late),
            ),
        )
        return "new", tx_row, late

    def _transaction_row(self, db: sqlite3.Connection, station: str, f: Facts) -> int | None:
        if f.kind == "start":
            return self._assign(db, station)
        if f.tx is None:  # 1.6 MeterValues without a transactionId: no transaction
            return None
        id_type = "str" if f.kind == "event" else "int"
        found = db.execute(
            "SELECT id FROM transactions WHERE station = ? AND id_type = ? AND tx = ?", (station, id_type, str(f.tx))
        ).fetchone()
        if found is not None:
            return int(found[0])
        # A 1.6 id the ledger never assigned: an orphan (accepted, reported); a 2.x transaction's
        # first message (whichever event it is).
        cursor = db.execute(
            "INSERT INTO transactions (station, id_type, tx, version, orphan) VALUES (?, ?, ?, ?, ?)",
            (station, id_type, str(f.tx), f.version, int(id_type == "int")),
        )
        return int(cursor.lastrowid or 0)

    def _assign(self, db: sqlite3.Connection, station: str) -> int:
        """A new 1.6 transaction: the next id of the ledger-wide sequence, skipping any id this
        station already used as an orphan's."""
        (last,) = db.execute("SELECT value FROM counters WHERE name = ?", (_ID_COUNTER,)).fetchone()
        candidate = int(last) + 1
        while db.execute(
            "SELECT 1 FROM transactions WHERE station = ? AND id_type = 'int' AND tx = ?", (station, str(candidate))
        ).fetchone():
            candidate += 1
        db.execute("UPDATE counters SET value = ? WHERE name = ?", (candidate, _ID_COUNTER))
        cursor = db.execute(
            "INSERT INTO transactions (station, id_type, tx, version, orphan) VALUES (?, 'int', ?, '1.6', 0)",
            (station, str(candidate)),
        )
        return int(cursor.lastrowid or 0)

    @staticmethod
    def _is_late(db: sqlite3.Connection, tx_row: int, f: Facts) -> bool:
        if f.kind == "event":
            query = "SELECT 1 FROM messages WHERE tx_row = ? AND kind = 'event' AND (seq_no > ? OR event = 'Ended')"
            return db.execute(query, (tx_row, f.seq_no)).fetchone() is not None
        if f.kind == "meter":
            return (
                db.execute("SELECT 1 FROM messages WHERE tx_row = ? AND kind = 'stop'", (tx_row,)).fetchone()
                is not None
            )
        return False

    # ------------------------------------------------------------------ reading

    def _view(self, tx_row: int) -> TransactionView:
        db = self._conn()
        station, id_type, tx, version, orphan = db.execute(
            "SELECT station, id_type, tx, version, orphan FROM transactions WHERE id = ?", (tx_row,)
        ).fetchone()
        rows = db.execute(
            "SELECT kind, seq_no, payload, version, action FROM messages WHERE tx_row = ? ORDER BY id", (tx_row,)
        ).fetchall()
        stored = [
            Stored(kind, seq, payload, self._reader.read(v, action, payload)) for kind, seq, payload, v, action in rows
        ]
        return build_view(version, station, int(tx) if id_type == "int" else tx, bool(orphan), stored)

    def _row(self, station: str, transaction_id: int | str) -> int | None:
        found = (
            self._conn()
            .execute(
                "SELECT id FROM transactions WHERE station = ? AND id_type = ? AND tx = ?",
                (station, _id_type(transaction_id), str(transaction_id)),
            )
            .fetchone()
        )
        return None if found is None else int(found[0])

    def transaction(self, station: str, transaction_id: int | str) -> TransactionView | None:
        """The view of one transaction (1.6: an int id, 2.x: a str), or None if unknown."""
        _check_station(station)
        with self._lock:
            row = self._row(station, transaction_id)
            return None if row is None else self._view(row)

    def transactions(self, station: str | None = None, *, open: bool | None = None) -> list[TransactionView]:
        """Every transaction (of ``station``, if given), oldest first; ``open=True`` only those
        not stopped yet, ``open=False`` only the stopped ones."""
        if station is not None:
            _check_station(station)
        with self._lock:
            views = [self._view(row) for row in self._rows(station)]
        return views if open is None else [v for v in views if v.open is open]

    def _rows(self, station: str | None) -> list[int]:
        db = self._conn()
        if station is None:
            return [r[0] for r in db.execute("SELECT id FROM transactions ORDER BY id")]
        return [r[0] for r in db.execute("SELECT id FROM transactions WHERE station = ? ORDER BY id", (station,))]

    def messages(self, station: str, transaction_id: int | str | None) -> list[Any]:
        """The requests recorded for a transaction, typed, in order (2.x: by seqNo; 1.6: the
        StartTransaction, the MeterValues by timestamp, the StopTransaction); each once, as first
        recorded. ``transaction_id=None``: the station's 1.6 MeterValues that name no transaction.
        An unknown transaction has none."""
        _check_station(station)
        with self._lock:
            db = self._conn()
            if transaction_id is None:
                query = "SELECT version, action, payload FROM messages WHERE station = ? AND tx_row IS NULL"
                rows = db.execute(f"{query} ORDER BY {_ORDER}", (station,)).fetchall()
            else:
                row = self._row(station, transaction_id)
                if row is None:
                    return []
                query = "SELECT version, action, payload FROM messages WHERE tx_row = ?"
                rows = db.execute(f"{query} ORDER BY {_ORDER}", (row,)).fetchall()
            return [self._reader.read(v, action, payload) for v, action, payload in rows]

    def anomalies(self, station: str | None = None) -> list[Anomaly]:
        """What went wrong, per transaction in the order they were first seen: re-deliveries,
        conflicts and late arrivals (in arrival order), then orphans, a meter that went backwards
        and missing seqNos. Gaps are those of now: a filled gap is no longer listed."""
        if station is not None:
            _check_station(station)
        found: list[tuple[float, int, Anomaly]] = []
        with self._lock:
            db = self._conn()
            where, args = ("WHERE m.station = ?", (station,)) if station is not None else ("", ())
            rows = db.execute(
                "SELECT m.id, m.station, m.tx_row, t.id_type, t.tx, m.version, m.action, m.payload, m.duplicates,"
                " m.late, m.seq_no FROM messages m LEFT JOIN transactions t ON t.id = m.tx_row"
                f" {where} {'AND' if where else 'WHERE'} (m.duplicates > 0 OR m.late = 1) ORDER BY m.id",
                args,
            ).fetchall()
            for mid, st, tx_row, id_type, tx, version, action, payload, duplicates, late, seq_no in rows:
                tx_id = None if tx is None else (int(tx) if id_type == "int" else tx)
                request = self._reader.read(version, action, payload)
                what = action if seq_no is None else f"{action} seqNo {seq_no}"
                order = float("inf") if tx_row is None else tx_row
                if duplicates:
                    detail = f"{what} re-delivered {duplicates} time{'s' if duplicates > 1 else ''}"
                    found.append((order, mid, Anomaly(st, tx_id, "duplicate", detail, request)))
                if late:
                    detail = f"{what} arrived after a later message of its transaction"
                    found.append((order, mid, Anomaly(st, tx_id, "late", detail, request)))
            rows = db.execute(
                "SELECT c.id, m.station, m.tx_row, t.id_type, t.tx, c.version, c.action, c.payload, c.deliveries,"
                " m.seq_no FROM conflicts c JOIN messages m ON m.id = c.message"
                f" LEFT JOIN transactions t ON t.id = m.tx_row {where} ORDER BY c.id",
                args,
            ).fetchall()
            for cid, st, tx_row, id_type, tx, version, action, payload, deliveries, seq_no in rows:
                tx_id = None if tx is None else (int(tx) if id_type == "int" else tx)
                what = action if seq_no is None else f"{action} seqNo {seq_no}"
                detail = f"{what} received with other content than the one recorded ({deliveries}x); the first is kept"
                request = self._reader.read(version, action, payload)
                found.append(
                    (float("inf") if tx_row is None else tx_row, cid, Anomaly(st, tx_id, "conflict", detail, request))
                )
            for row in self._rows(station):
                view = self._view(row)
                found += [(row, 1 << 62, a) for a in self._transaction_anomalies(db, row, view)]
        found.sort(key=lambda item: (item[0], item[1]))
        return [a for _, _, a in found]

    @staticmethod
    def _transaction_anomalies(db: sqlite3.Connection, row: int, view: TransactionView) -> list[Anomaly]:
        out: list[Anomaly] = []
        station, tx = view.station, view.transaction_id
        if view.orphan:
            detail = f"transactionId {tx!r} was never assigned by this ledger (recorded as an orphan)"
            out.append(Anomaly(station, tx, "orphan", detail))
        if view.version == "1.6":
            meters = dict(
                db.execute("SELECT kind, meter FROM messages WHERE tx_row = ? AND kind IN ('start', 'stop')", (row,))
            )
            if "start" in meters and "stop" in meters and meters["stop"] < meters["start"]:
                detail = f"meterStop {meters['stop']} is less than meterStart {meters['start']}: energy not computed"
                out.append(Anomaly(station, tx, "meter", detail))
        else:
            delta = energy_delta(view.meter_values)
            if delta is not None and delta < 0:
                detail = f"the Energy.Active.Import.Register readings go down by {-delta} Wh: energy not computed"
                out.append(Anomaly(station, tx, "meter", detail))
        if view.gaps:
            shown = ", ".join(map(str, view.gaps))
            out.append(Anomaly(station, tx, "gap", f"seqNo {shown} missing"))
        return out
