"""The sqlite store: the outbox in one file that survives crashes and reboots (stdlib ``sqlite3``).

- WAL journal; ``durability`` picks ``PRAGMA synchronous``: ``"full"`` (FULL: a committed message
  survives a power loss), ``"normal"`` (NORMAL: survives a process crash; a power loss may undo
  the last commits), ``"off"`` (OFF: for tests and benchmarks).
- The schema version is ``PRAGMA user_version``; :data:`MIGRATIONS` brings a file from version N
  to N+1, one transaction per step, so an upgrade never needs a wipe.
- The order is the explicit ``id`` column (``ORDER BY id``), never the rowid.
- A file that is not a database, fails ``PRAGMA integrity_check``, or has a schema newer than this
  code is moved aside (``<name>.corrupt-<n>``, with its ``-wal``/``-shm`` files), never deleted or
  emptied, and :class:`OutboxCorrupt` says where; the next open starts a fresh file.
- One connection, used from the thread that opened it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from ._errors import OutboxCorrupt, OutboxError
from ._store import StoredEntry, StoreSnapshot

__all__ = ["DURABILITY", "MIGRATIONS", "SCHEMA_VERSION", "SqliteStore"]

#: The ``durability`` settings of :class:`SqliteStore` and the ``PRAGMA synchronous`` each sets.
DURABILITY = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}


def _v0_to_v1(conn: sqlite3.Connection) -> None:
    """Version 1: the entries (ordered by ``id``) and the meta map."""
    conn.execute(
        "CREATE TABLE entries ("
        " id INTEGER NOT NULL PRIMARY KEY,"
        " action TEXT NOT NULL,"
        " payload BLOB NOT NULL,"
        " transmissions INTEGER NOT NULL DEFAULT 0,"
        " not_before REAL NOT NULL DEFAULT 0,"
        " created REAL NOT NULL)"
    )
    conn.execute("CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)")


#: ``MIGRATIONS[n]`` turns a version-n file into version n+1 (inside one transaction).
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v0_to_v1,)
#: The schema version this code writes (``PRAGMA user_version``).
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteStore:
    """The outbox in a sqlite file: it survives disconnects, process crashes and reboots.

    Opening checks the file (a database, ``integrity_check`` ok, a schema version this code
    knows) and migrates it to the current schema. Otherwise the file is moved aside and
    :class:`OutboxCorrupt` names the file, the problem and the new name.

    Parameters:
        path: the file (created if missing).
        durability: ``"full"`` (default: a committed message survives a power loss),
            ``"normal"`` (survives a process crash) or ``"off"`` (tests, benchmarks).
    """

    def __init__(self, path: str | os.PathLike[str], *, durability: str = "full") -> None:
        if durability not in DURABILITY:
            raise ValueError(f"durability: expected one of {', '.join(DURABILITY)}, got {durability!r}")
        self.path = Path(path)
        self.durability = durability
        self._conn: sqlite3.Connection | None = None
        self._conn = self._open()

    # ------------------------------------------------------------------ opening

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None)
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox file {self.path}: cannot open: {exc}") from None
        problem: str | None = None
        version = 0
        try:
            # Read-only checks first: nothing is written to a file that may be moved aside.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            known = len(MIGRATIONS)
            if version > known:
                problem = f"schema version {version} is newer than this ocppkit knows ({known})"
            else:
                rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
                if rows != ["ok"]:
                    problem = "integrity_check failed: " + "; ".join(str(r) for r in rows[:3])
        except sqlite3.DatabaseError as exc:
            problem = f"not a readable SQLite database ({exc})"
        if problem is not None:
            conn.close()
            self._corrupt(problem)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutboxError(f"outbox file {self.path}: journal_mode=WAL refused ({mode})")
            conn.execute(f"PRAGMA synchronous={DURABILITY[self.durability]}")
            self._migrate(conn, version)
        except sqlite3.DatabaseError as exc:
            conn.close()
            self._corrupt(f"cannot be migrated ({exc})")
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection, version: int) -> None:
        for step in range(version, len(MIGRATIONS)):
            conn.execute("BEGIN IMMEDIATE")
            try:
                MIGRATIONS[step](conn)
                conn.execute(f"PRAGMA user_version = {step + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _corrupt(self, problem: str) -> None:
        """Move the file (and its -wal/-shm) aside and raise OutboxCorrupt saying where."""
        self._conn = None
        n = 1
        while any(Path(f"{self.path}.corrupt-{n}{s}").exists() for s in ("", "-wal", "-shm")):
            n += 1
        dest = Path(f"{self.path}.corrupt-{n}")
        try:
            os.rename(self.path, dest)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{self.path}{suffix}")
                if side.exists():
                    os.rename(side, Path(f"{dest}{suffix}"))
        except OSError as exc:
            raise OutboxCorrupt(f"outbox file {self.path}: {problem}; could NOT be moved aside ({exc})") from None
        raise OutboxCorrupt(f"outbox file {self.path}: {problem}; moved aside to {dest}")

    # ------------------------------------------------------------------ the Store interface

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise OutboxError(f"outbox file {self.path}: store closed")
        return self._conn

    def load(self) -> StoreSnapshot:
        """The entries in id order and the meta map."""
        conn = self._connection()
        try:
            rows = conn.execute(
                "SELECT id, action, payload, transmissions, not_before, created FROM entries ORDER BY id"
            ).fetchall()
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            conn.close()
            self._corrupt(f"unreadable ({exc})")
            raise  # pragma: no cover - _corrupt raises
        entries = []
        for row in rows:
            i, action, payload, transmissions, not_before, created = row
            if not (
                isinstance(i, int)
                and isinstance(action, str)
                and isinstance(payload, bytes)
                and isinstance(transmissions, int)
                and isinstance(not_before, (int, float))
                and isinstance(created, (int, float))
            ):
                conn.close()
                self._corrupt(f"entry {i!r} has values of the wrong types")
            entries.append(StoredEntry(i, action, payload, transmissions, float(not_before), float(created)))
        return StoreSnapshot(tuple(entries), meta)

    def commit(
        self,
        *,
        add: Iterable[StoredEntry] = (),
        update: Iterable[StoredEntry] = (),
        remove: Iterable[int] = (),
        meta: Mapping[str, str | None] | None = None,
    ) -> None:
        """One transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``): all of it or, on an error, none.

        A commit that only removes entries (a delivery) is not flushed on its own under
        ``durability="full"``: the next flushed commit makes it durable (the WAL is written in
        order), and a power loss before that at worst sends a delivered message again, which
        at-least-once allows. Every commit that adds, changes or writes meta is flushed."""
        conn = self._connection()
        add, update, remove = tuple(add), tuple(update), tuple(remove)
        relaxed = self.durability == "full" and remove and not add and not update and not meta
        if relaxed:
            conn.execute("PRAGMA synchronous=NORMAL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO entries (id, action, payload, transmissions, not_before, created)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(e.id, e.action, e.payload, e.transmissions, e.not_before, e.created) for e in add],
                )
                for e in update:
                    cur = conn.execute(
                        "UPDATE entries SET action = ?, payload = ?, transmissions = ?, not_before = ?, created = ?"
                        " WHERE id = ?",
                        (e.action, e.payload, e.transmissions, e.not_before, e.created, e.id),
                    )
                    if cur.rowcount != 1:
                        raise OutboxError(f"commit: update: no entry {e.id}")
                for i in remove:
                    if conn.execute("DELETE FROM entries WHERE id = ?", (i,)).rowcount != 1:
                        raise OutboxError(f"commit: remove: no entry {i}")
                for key, value in (meta or {}).items():
                    if value is None:
                        conn.execute("DELETE FROM meta WHERE key = ?", (key,))
                    else:
                        conn.execute(
                            "INSERT INTO meta (key, value) VALUES (?, ?)"
                            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                            (key, value),
                        )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError as exc:
            raise OutboxError(f"commit: {exc}") from None
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox file {self.path}: commit failed, nothing written: {exc}") from None
        finally:
            if relaxed:
                conn.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        """Close the connection (a checkpoint folds the WAL into the file)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"<SqliteStore {str(self.path)!r} durability={self.durability}>"
