"""The ledger's sqlite layout, its migrations and how a database is opened.

The schema version is ``PRAGMA user_version``: 0 is an empty database, ``n`` means the first
``n`` entries of :data:`MIGRATIONS` have been applied. Opening runs the missing ones, each in
its own transaction together with the version bump, so an interrupted upgrade leaves the
previous version intact and an upgrade never needs a wipe. A database of a newer version, or a
sqlite file holding other tables, is refused with a ValueError (never altered).

Tables:

- ``transactions``: one row per transaction a station has sent messages for. ``id_type`` is
  ``int`` (1.6: ``tx`` is the id the ledger assigned, or the unknown id of an orphan) or ``str``
  (2.x: the station's transactionId); ``orphan`` is set for a 1.6 id the ledger never assigned.
- ``messages``: every distinct message, in arrival order (``id``). ``key`` identifies it per
  station (a re-delivery has the same key), ``fingerprint`` its content, ``payload`` is
  ``ocppkit.encode_payload(request)``. ``duplicates`` counts re-deliveries, ``late`` marks a
  message that arrived after a later one of its transaction.
- ``conflicts``: a message whose key was known with other content (the first stays in
  ``messages``); each distinct content once, with the number of deliveries.
- ``counters``: the 1.6 transaction id sequence (the last id assigned; never reused).
"""

from __future__ import annotations

import os
import sqlite3

__all__ = ["DURABILITY", "MIGRATIONS", "SCHEMA_VERSION", "open_database"]

#: Durability setting -> ``PRAGMA synchronous``. Every record is its own committed transaction.
DURABILITY = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}

_V1 = """
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY,
    station TEXT NOT NULL,
    id_type TEXT NOT NULL CHECK (id_type IN ('int', 'str')),
    tx TEXT NOT NULL,
    version TEXT NOT NULL,
    orphan INTEGER NOT NULL DEFAULT 0,
    UNIQUE (station, id_type, tx)
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    station TEXT NOT NULL,
    key TEXT NOT NULL,
    version TEXT NOT NULL,
    action TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('start', 'meter', 'stop', 'event')),
    event TEXT,
    tx_row INTEGER REFERENCES transactions (id),
    connector INTEGER,
    seq_no INTEGER,
    ts_us INTEGER NOT NULL,
    meter INTEGER,
    fingerprint BLOB NOT NULL,
    payload BLOB NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    UNIQUE (station, key)
);
CREATE INDEX messages_by_transaction ON messages (tx_row, kind);
CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message INTEGER NOT NULL REFERENCES messages (id),
    version TEXT NOT NULL,
    action TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    payload BLOB NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    UNIQUE (message, fingerprint)
);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters (name, value) VALUES ('transaction_id_1.6', 0);
"""

#: The migrations, oldest first: entry ``n - 1`` takes a database from version ``n - 1`` to ``n``.
MIGRATIONS: tuple[str, ...] = (_V1,)
#: The schema version this ocppkit writes.
SCHEMA_VERSION = len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def migrate(db: sqlite3.Connection, where: str) -> None:
    """Bring ``db`` (autocommit mode) to :data:`SCHEMA_VERSION`."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"path: {where} holds ledger schema version {version}; this ocppkit reads up to "
            f"{SCHEMA_VERSION} (upgrade ocppkit to open it)"
        )
    if version == 0:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables:
            raise ValueError(f"path: {where} is a sqlite database but not a ledger (it has other tables)")
    for n in range(version, SCHEMA_VERSION):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[n]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {n + 1}")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise ValueError(
                f"path: {where}: the migration to ledger schema version {n + 1} failed ({exc}); "
                f"the database is left at version {n}"
            ) from None
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def open_database(path: str | os.PathLike[str] | None, durability: str) -> sqlite3.Connection:
    """A connection to the ledger at ``path`` (None or ``":memory:"``: in memory), migrated."""
    if durability not in DURABILITY:
        raise ValueError(f"durability: expected one of {', '.join(map(repr, DURABILITY))}, got {durability!r}")
    target = ":memory:" if path is None else os.fspath(path)
    if not isinstance(target, str):
        raise TypeError(f"path: expected a str or os.PathLike[str], got {type(path).__name__}")
    where = repr(target)
    try:
        # Autocommit (isolation_level=None): the ledger opens each transaction itself.
        db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ValueError(f"path: cannot open {where} as a ledger ({exc})") from None
    try:
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        if target != ":memory:":
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise ValueError(f"path: {where} cannot be put in WAL mode (journal_mode is {mode})")
        db.execute(f"PRAGMA synchronous = {DURABILITY[durability]}")
        migrate(db, where)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ValueError(f"path: {where} is not a readable ledger database ({exc})") from None
    except BaseException:
        db.close()
        raise
    return db
