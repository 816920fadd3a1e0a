"""The sqlite profile store: a station's charging profiles in one file (stdlib ``sqlite3``).

- Tables ``charging_profiles`` and ``charging_profiles_meta``: the file can be the outbox's
  (``ocppkit.outbox.SqliteStore``, tables ``entries`` and ``meta``). The schema version is the
  ``schema_version`` row of ``charging_profiles_meta``, not ``PRAGMA user_version`` (the
  outbox's); :data:`PROFILE_MIGRATIONS` brings a file from version N to N+1, one transaction per
  step.
- Each profile is the version's JSON (as on the wire) with its evse id, id, purpose, stack level,
  transaction id and charging limit source in their own columns.
- Every change is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``): a crash in the middle
  leaves the state before it. WAL journal, ``PRAGMA synchronous`` as ``durability`` says.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import msgspec

from ._model import VERSIONS
from ._store import StoredProfile

__all__ = ["PROFILE_MIGRATIONS", "ProfileStoreError", "SqliteProfileStore"]

_DURABILITY = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}
_PACKAGE = {"1.6": ("ocppkit.v16", "ChargingProfile"), "2.0.1": ("ocppkit.v201", "ChargingProfileType")}
_PACKAGE["2.1"] = ("ocppkit.v21", "ChargingProfileType")


class ProfileStoreError(Exception):
    """A profile store cannot be opened, read or written; the message names the file and why."""


def _v0_to_v1(conn: sqlite3.Connection) -> None:
    """Version 1: the profiles, and the meta map (which holds the schema version)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS charging_profiles ("
        " version TEXT NOT NULL,"
        " id INTEGER NOT NULL,"
        " evse_id INTEGER NOT NULL,"
        " purpose TEXT NOT NULL,"
        " stack_level INTEGER NOT NULL,"
        " transaction_id TEXT,"
        " source TEXT NOT NULL,"
        " seq INTEGER NOT NULL,"
        " profile BLOB NOT NULL,"
        " PRIMARY KEY (version, id))"
    )


#: ``PROFILE_MIGRATIONS[n]`` turns a version-n file into version n+1 (inside one transaction).
PROFILE_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v0_to_v1,)


def _profile_type(version: str) -> Any:
    package, name = _PACKAGE[version]
    return getattr(importlib.import_module(f"{package}.datatypes"), name)


class SqliteProfileStore:
    """A :class:`~ocppkit.smartcharging.ProfileStore` in a sqlite file: the profiles survive
    restarts, and a crash mid-change leaves the state before the change.

    Parameters:
        path: the file (created if missing; may be the station's outbox file).
        durability: ``"full"`` (default: a change survives a power loss), ``"normal"`` (survives
            a process crash) or ``"off"`` (tests, benchmarks).

    Raises:
        ProfileStoreError: the file is not a database, or its profile schema is newer than this
            code knows (the file is left as it is).
    """

    def __init__(self, path: str | os.PathLike[str], *, durability: str = "full") -> None:
        if durability not in _DURABILITY:
            raise ValueError(f"durability: expected one of {', '.join(_DURABILITY)}, got {durability!r}")
        self.path = Path(path)
        self.durability = durability
        self._conn: sqlite3.Connection | None = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None)
        except sqlite3.Error as exc:
            raise ProfileStoreError(f"profile store {self.path}: cannot open: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={_DURABILITY[self.durability]}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS charging_profiles_meta"
                    " (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)"
                )
                row = conn.execute("SELECT value FROM charging_profiles_meta WHERE key = 'schema_version'").fetchone()
                version = int(row[0]) if row is not None else 0
                if version > len(PROFILE_MIGRATIONS):
                    raise ProfileStoreError(
                        f"profile store {self.path}: schema version {version} is newer than this ocppkit knows "
                        f"({len(PROFILE_MIGRATIONS)})"
                    )
                for step in range(version, len(PROFILE_MIGRATIONS)):
                    PROFILE_MIGRATIONS[step](conn)
                    conn.execute(
                        "INSERT OR REPLACE INTO charging_profiles_meta (key, value) VALUES ('schema_version', ?)",
                        (str(step + 1),),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise ProfileStoreError(f"profile store {self.path}: not a usable SQLite database ({exc})") from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ProfileStoreError(f"profile store {self.path}: closed")
        return self._conn

    @property
    def schema_version(self) -> int:
        """The schema version of the file."""
        row = self._connection().execute("SELECT value FROM charging_profiles_meta WHERE key = 'schema_version'")
        return int(row.fetchone()[0])

    def load(self, version: str) -> list[StoredProfile]:
        """The records of ``version``, in the order they were installed.

        Raises:
            ProfileStoreError: a row does not decode as the version's profile (naming its id).
        """
        if version not in VERSIONS:
            raise ValueError(f"version: must be one of {', '.join(VERSIONS)} (got {version!r})")
        cls = _profile_type(version)
        out: list[StoredProfile] = []
        rows = self._connection().execute(
            "SELECT id, evse_id, source, profile FROM charging_profiles WHERE version = ? ORDER BY seq", (version,)
        )
        for pid, evse_id, source, blob in rows.fetchall():
            try:
                profile = msgspec.json.decode(blob, type=cls)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ProfileStoreError(f"profile store {self.path}: profile {pid} does not decode: {exc}") from None
            out.append(StoredProfile(version, int(evse_id), profile, str(source)))
        return out

    def change(self, version: str, *, add: Sequence[StoredProfile] = (), remove: Collection[int] = ()) -> None:
        """Remove the ids in ``remove`` and add ``add`` (by id) in one transaction.

        Raises:
            ValueError: a record of another version (nothing is written).
            ProfileStoreError: the write failed (nothing is written).
        """
        for r in add:
            if r.version != version:
                raise ValueError(f"add: a record of OCPP {r.version} in a change of OCPP {version}")
        rows = [
            (
                version,
                r.id,
                r.evse_id,
                r.purpose,
                r.stack_level,
                r.transaction_id,
                r.source,
                msgspec.json.encode(r.profile),
            )
            for r in add
        ]
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for i in remove:
                    conn.execute("DELETE FROM charging_profiles WHERE version = ? AND id = ?", (version, int(i)))
                for row in rows:
                    conn.execute("DELETE FROM charging_profiles WHERE version = ? AND id = ?", (version, row[1]))
                    conn.execute(
                        "INSERT INTO charging_profiles"
                        " (version, id, evse_id, purpose, stack_level, transaction_id, source, seq, profile)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?,"
                        " (SELECT COALESCE(MAX(seq), 0) + 1 FROM charging_profiles), ?)",
                        row,
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise ProfileStoreError(f"profile store {self.path}: change failed, nothing written: {exc}") from None

    def close(self) -> None:
        """Close the file (further use raises :class:`ProfileStoreError`)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"<SqliteProfileStore {self.path}>"
