"""The sqlite device-model store (stdlib ``sqlite3``): components, variables with their spec,
attribute values with their source, in one file that survives crashes and upgrades.

- The schema version is ``PRAGMA user_version``; ``MIGRATIONS[n]`` brings a version-n file to
  n+1. Opening an older file runs the missing steps in ONE transaction (all or nothing), so an
  upgrade of ocppkit never needs a wipe; a file newer than this code is refused with
  :class:`StoreError` naming both versions, and left untouched.
- WAL journal, ``synchronous=NORMAL`` (``durable=True``: FULL); every write is one transaction,
  so a crash leaves the last committed value.
- One connection, used from the thread that opened it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable

from ._store import StoreState, VariableKey
from .spec import Component, VariableSpec

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SqliteStore", "StoreError"]


class StoreError(Exception):
    """A device-model store cannot be opened or used (not a database, a schema newer than this
    code, a failed integrity check); the message names the file and the problem."""


def _v0_to_v1(conn: sqlite3.Connection) -> None:
    """Version 1: components, variables with their characteristics, attribute values."""
    conn.execute(
        "CREATE TABLE components (id INTEGER PRIMARY KEY, name TEXT NOT NULL, instance TEXT,"
        " evse_id INTEGER, connector_id INTEGER)"
    )
    conn.execute(
        "CREATE TABLE variables (id INTEGER PRIMARY KEY,"
        " component_id INTEGER NOT NULL REFERENCES components(id), name TEXT NOT NULL, instance TEXT,"
        " data_type TEXT NOT NULL, unit TEXT, min_limit REAL, max_limit REAL, values_list TEXT,"
        " mutability TEXT NOT NULL, attributes TEXT NOT NULL, persistent INTEGER NOT NULL,"
        " constant INTEGER NOT NULL, supports_monitoring INTEGER NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE attribute_values (variable_id INTEGER NOT NULL REFERENCES variables(id),"
        " type TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (variable_id, type))"
    )


def _v1_to_v2(conn: sqlite3.Connection) -> None:
    """Version 2: each value's source; a variable's reboot_required flag. Values written before
    sources were kept cannot be told apart: they are marked ``csms``, so the start-up sync keeps
    them (a value the station had is never lost by an upgrade)."""
    conn.execute("ALTER TABLE attribute_values ADD COLUMN source TEXT NOT NULL DEFAULT 'csms'")
    conn.execute("ALTER TABLE variables ADD COLUMN reboot_required INTEGER NOT NULL DEFAULT 0")


#: ``MIGRATIONS[n]`` turns a version-n file into version n+1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v0_to_v1, _v1_to_v2)
#: The schema version this code writes.
SCHEMA_VERSION = len(MIGRATIONS)


class SqliteStore:
    """A device model in a sqlite file.

    Parameters:
        path: the file (created if missing; migrated if older).
        durable: ``synchronous=FULL`` (a committed value survives a power loss) instead of
            NORMAL (survives a process crash).
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = False) -> None:
        self.path = os.fspath(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.execute("PRAGMA foreign_keys=ON")
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not a device-model database ({exc})") from exc
        if version > SCHEMA_VERSION:
            self._db.close()
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this ocppkit knows ({SCHEMA_VERSION});"
                " upgrade ocppkit (the file is left untouched)"
            )
        if version < SCHEMA_VERSION:
            self._migrate(version)
        self._ids: dict[VariableKey, int] = {}

    def _migrate(self, version: int) -> None:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            for step in MIGRATIONS[version:]:
                step(db)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            db.execute("ROLLBACK")
            raise StoreError(f"{self.path}: migrating from schema version {version} failed ({exc})") from exc

    def schema_version(self) -> int:
        """The file's schema version (``SCHEMA_VERSION`` once opened)."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def load(self) -> StoreState:
        """Read the whole model."""
        state = StoreState()
        components: dict[int, Component] = {
            row[0]: Component(row[1], row[2], row[3], row[4])
            for row in self._db.execute("SELECT id, name, instance, evse_id, connector_id FROM components")
        }
        ids: dict[int, VariableKey] = {}
        for row in self._db.execute(
            "SELECT id, component_id, name, instance, data_type, unit, min_limit, max_limit, values_list,"
            " mutability, attributes, persistent, constant, supports_monitoring, reboot_required"
            " FROM variables ORDER BY id"
        ):
            spec = VariableSpec(
                name=row[2],
                instance=row[3],
                data_type=row[4],
                unit=row[5],
                min_limit=row[6],
                max_limit=row[7],
                values_list=tuple(json.loads(row[8])) if row[8] is not None else None,
                mutability=row[9],
                attributes=tuple(row[10].split(",")),
                persistent=bool(row[11]),
                constant=bool(row[12]),
                supports_monitoring=bool(row[13]),
                reboot_required=bool(row[14]),
            )
            key: VariableKey = (components[row[1]], spec.name, spec.instance)
            state.specs[key] = spec
            ids[row[0]] = key
        for vid, attribute, value, source in self._db.execute(
            "SELECT variable_id, type, value, source FROM attribute_values"
        ):
            state.values[(ids[vid], attribute)] = (value, source)
        self._ids = {key: vid for vid, key in ids.items()}
        return state

    def replace(self, state: StoreState) -> None:
        """Replace the whole model by ``state`` in one transaction."""
        db = self._db
        ids: dict[VariableKey, int] = {}
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM attribute_values")
            db.execute("DELETE FROM variables")
            db.execute("DELETE FROM components")
            cids: dict[Component, int] = {}
            for key, spec in state.specs.items():
                component = key[0]
                if component not in cids:
                    cur = db.execute(
                        "INSERT INTO components (name, instance, evse_id, connector_id) VALUES (?, ?, ?, ?)",
                        (component.name, component.instance, component.evse_id, component.connector_id),
                    )
                    cids[component] = int(cur.lastrowid or 0)
                cur = db.execute(
                    "INSERT INTO variables (component_id, name, instance, data_type, unit, min_limit, max_limit,"
                    " values_list, mutability, attributes, persistent, constant, supports_monitoring,"
                    " reboot_required) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        cids[component],
                        spec.name,
                        spec.instance,
                        spec.data_type,
                        spec.unit,
                        spec.min_limit,
                        spec.max_limit,
                        json.dumps(list(spec.values_list)) if spec.values_list is not None else None,
                        spec.mutability,
                        ",".join(spec.attributes),
                        int(spec.persistent),
                        int(spec.constant),
                        int(spec.supports_monitoring),
                        int(spec.reboot_required),
                    ),
                )
                ids[key] = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO attribute_values (variable_id, type, value, source) VALUES (?, ?, ?, ?)",
                [(ids[key], attribute, value, source) for (key, attribute), (value, source) in state.values.items()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._ids = ids

    def write(self, key: VariableKey, attribute: str, value: str, source: str) -> None:
        """Keep one attribute's value and its source (one transaction)."""
        vid = self._ids.get(key)
        if vid is None:
            raise KeyError(f"no variable {key!r} in this store")
        self._db.execute(
            "INSERT OR REPLACE INTO attribute_values (variable_id, type, value, source) VALUES (?, ?, ?, ?)",
            (vid, attribute, value, source),
        )

    def close(self) -> None:
        """Close the file."""
        self._db.close()
