"""The profile stores: memory and sqlite (reopen, one transaction per change, a crash mid-change,
a file shared with the outbox, bad files)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ocppkit import smartcharging as sc
from ocppkit.outbox import SqliteStore, StoredEntry

from .build import P, at, typed

VERSIONS = ["1.6", "2.0.1", "2.1"]


def record(version: str, pid: int, evse: int = 1, level: int = 0, limit: float = 16.0, **kw: Any) -> sc.StoredProfile:
    p = P(
        pid, kw.pop("purpose", "TxDefaultProfile"), level, "Absolute", [(0, limit)], start=at("2024-01-01T00:00"), **kw
    )
    return sc.StoredProfile(version, evse, typed(version, p))


def stores(tmp_path: Path) -> list[Any]:
    return [sc.MemoryProfileStore(), sc.SqliteProfileStore(tmp_path / "p.sqlite", durability="off")]


@pytest.mark.parametrize("version", VERSIONS)
def test_change_adds_replaces_by_id_and_removes(version: str, tmp_path: Path) -> None:
    for store in stores(tmp_path):
        a, b, c = record(version, 1), record(version, 2, evse=0), record(version, 3, level=2)
        store.change(version, add=[a, b, c])
        assert [r.id for r in store.load(version)] == [1, 2, 3]
        newer = record(version, 1, limit=8.0)
        store.change(version, add=[newer], remove=[3])
        got = store.load(version)
        assert [r.id for r in got] == [2, 1]  # a replaced profile goes to the end; 3 removed
        assert got[1] == newer and got[1].profile == newer.profile
        assert got[0].evse_id == 0 and got[0].source == "CSO"
        store.change(version, remove=[99])  # an unknown id: nothing happens
        assert len(store.load(version)) == 2
        store.close()


def test_records_say_id_purpose_level_and_transaction() -> None:
    r16 = record("1.6", 7, level=3, purpose="TxProfile", tx="42")
    assert (r16.id, r16.purpose, r16.stack_level, r16.transaction_id) == (7, "TxProfile", 3, "42")
    r201 = record("2.0.1", 8, purpose="TxProfile", tx="tx-1")
    assert (r201.id, r201.transaction_id) == (8, "tx-1")
    assert record("2.1", 9).transaction_id is None


def test_versions_are_kept_apart_and_a_wrong_record_is_refused(tmp_path: Path) -> None:
    for store in stores(tmp_path):
        store.change("1.6", add=[record("1.6", 1)])
        store.change("2.0.1", add=[record("2.0.1", 1)])
        assert [r.version for r in store.load("1.6")] == ["1.6"]
        assert [r.version for r in store.load("2.0.1")] == ["2.0.1"]
        assert store.load("2.1") == []
        with pytest.raises(ValueError, match="OCPP 2.0.1 in a change of OCPP 1.6"):
            store.change("1.6", add=[record("1.6", 5), record("2.0.1", 6)])
        assert [r.id for r in store.load("1.6")] == [1]  # nothing of the refused change


@pytest.mark.parametrize("version", VERSIONS)
def test_sqlite_survives_a_reopen(version: str, tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    store = sc.SqliteProfileStore(path)
    rows = [record(version, 1, purpose="TxProfile", tx="17"), record(version, 2, evse=0, level=1)]
    store.change(version, add=rows)
    store.close()
    with pytest.raises(sc.ProfileStoreError, match="closed"):
        store.load(version)
    again = sc.SqliteProfileStore(path)
    assert again.load(version) == rows
    assert again.schema_version == 1
    columns = sqlite3.connect(path).execute(
        "SELECT id, evse_id, purpose, stack_level, transaction_id, source FROM charging_profiles ORDER BY seq"
    )
    assert columns.fetchall() == [(1, 1, "TxProfile", 0, "17", "CSO"), (2, 0, "TxDefaultProfile", 1, None, "CSO")]
    again.close()


CRASH = """
import os, sys
from ocppkit import smartcharging as sc
from tests.smartcharging.test_store import record

store = sc.SqliteProfileStore(sys.argv[1])

class Dying:
    def __init__(self, conn):
        self.conn = conn
    def execute(self, sql, *args):
        if sql.startswith("INSERT"):
            os._exit(3)  # the process dies after the DELETE, before the INSERT and the COMMIT
        return self.conn.execute(sql, *args)

store._conn = Dying(store._conn)
store.change("2.0.1", add=[record("2.0.1", 1, limit=6.0)], remove=[2])
"""


def test_a_crash_mid_change_leaves_the_state_before_it(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    store = sc.SqliteProfileStore(path)
    before = [record("2.0.1", 1), record("2.0.1", 2)]
    store.change("2.0.1", add=before)
    store.close()
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH), str(path)], cwd=root, capture_output=True, timeout=60
    )
    assert out.returncode == 3, out.stderr.decode()
    assert sc.SqliteProfileStore(path).load("2.0.1") == before


def test_sqlite_shares_a_file_with_the_outbox(tmp_path: Path) -> None:
    path = tmp_path / "station.sqlite"
    profiles = sc.SqliteProfileStore(path)  # the profile store first: the outbox migrates after it
    outbox = SqliteStore(path)
    entry = StoredEntry(1, "TransactionEvent", b'{"seqNo":0}', 0, 0.0, 1.0)
    outbox.commit(add=[entry], meta={"k": "v"})
    profiles.change("2.0.1", add=[record("2.0.1", 5)])
    outbox.close()
    profiles.close()
    outbox, profiles = SqliteStore(path), sc.SqliteProfileStore(path)  # and reopened, the other way round
    snap = outbox.load()
    assert list(snap.entries) == [entry] and snap.meta == {"k": "v"}
    assert [r.id for r in profiles.load("2.0.1")] == [5]
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"entries", "meta", "charging_profiles", "charging_profiles_meta"} <= tables
    outbox.close()
    profiles.close()


def test_bad_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(sc.ProfileStoreError, match="junk.sqlite: not a usable SQLite database"):
        sc.SqliteProfileStore(junk)
    assert junk.read_bytes().startswith(b"this is not")  # left as it was
    newer = tmp_path / "newer.sqlite"
    sc.SqliteProfileStore(newer).close()
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE charging_profiles_meta SET value = '9' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(sc.ProfileStoreError, match="schema version 9 is newer"):
        sc.SqliteProfileStore(newer)
    with pytest.raises(ValueError, match="durability"):
        sc.SqliteProfileStore(tmp_path / "x.sqlite", durability="fast")


def test_a_row_that_does_not_decode_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    store = sc.SqliteProfileStore(path)
    store.change("2.0.1", add=[record("2.0.1", 4)])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE charging_profiles SET profile = ? WHERE id = 4", (b'{"id": 4}',))
    conn.commit()
    conn.close()
    with pytest.raises(sc.ProfileStoreError, match="profile 4 does not decode"):
        store.load("2.0.1")
    with pytest.raises(ValueError, match="version"):
        store.load("1.5")
    store.close()


def test_both_stores_are_profile_stores(tmp_path: Path) -> None:
    for store in stores(tmp_path):
        assert isinstance(store, sc.ProfileStore)
        assert "Store" in repr(store)
