"""The stores: the Store contract on both, and the sqlite file's durability, schema, migrations,
corrupt files moved aside, and a real process crash."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ocppkit.outbox import (
    SCHEMA_VERSION,
    Attempt,
    MemoryStore,
    Outbox,
    OutboxCorrupt,
    OutboxError,
    SqliteStore,
    Store,
    StoredEntry,
    _sqlite,
)

from .support import Stores, event201, meter16

T0 = 1_700_000_000.0
REPO = Path(__file__).resolve().parents[2]


def entry(i: int, payload: bytes = b"{}") -> StoredEntry:
    return StoredEntry(i, "MeterValues", payload, 0, 0.0, T0 + i)


# ------------------------------------------------------------------ the Store contract


def test_a_commit_is_all_or_nothing(stores: Stores) -> None:
    store = stores.open()
    store.commit(add=[entry(1), entry(2)], meta={"a": "1"})
    with pytest.raises(OutboxError, match="remove: no entry 9"):
        store.commit(add=[entry(3)], remove=[9], meta={"a": "2", "b": "x"})
    with pytest.raises(OutboxError, match="update: no entry 8"):
        store.commit(update=[entry(8)], remove=[1])
    with pytest.raises(OutboxError):
        store.commit(add=[entry(2)])  # the id exists
    snap = stores.open().load()
    assert [e.id for e in snap.entries] == [1, 2] and dict(snap.meta) == {"a": "1"}
    store = stores.open()
    store.commit(update=[StoredEntry(2, "MeterValues", b"[]", 3, 5.5, T0)], remove=[1], meta={"a": None, "c": "3"})
    snap = stores.open().load()
    assert snap.entries == (StoredEntry(2, "MeterValues", b"[]", 3, 5.5, T0),) and dict(snap.meta) == {"c": "3"}


def test_entries_load_in_id_order(stores: Stores) -> None:
    store = stores.open()
    store.commit(add=[entry(5), entry(2)])
    store.commit(add=[entry(3)])
    assert [e.id for e in stores.open().load().entries] == [2, 3, 5]


def test_any_object_with_load_commit_close_is_a_store() -> None:
    class Mine(MemoryStore):
        pass

    assert isinstance(Mine(), Store) and isinstance(MemoryStore(), Store)
    assert Outbox("1.6", Mine()).pending() == 0
    with pytest.raises(TypeError, match="store: expected a Store"):
        Outbox("1.6", object())  # type: ignore[arg-type]


# ------------------------------------------------------------------ the sqlite file


def test_a_delivery_is_not_flushed_on_its_own_under_full(tmp_path: Path) -> None:
    """A remove-only commit runs with synchronous=NORMAL (made durable by the next flushed
    commit); everything else, and the connection afterwards, stays FULL."""
    store = SqliteStore(tmp_path / "o.sqlite", durability="full")
    assert store._conn is not None
    seen: list[int] = []
    store._conn.set_trace_callback(
        lambda sql: (
            seen.append(store._conn.execute("PRAGMA synchronous").fetchone()[0])  # type: ignore[union-attr]
            if sql.startswith("COMMIT")
            else None
        )
    )
    store.commit(add=[entry(1), entry(2)])
    store.commit(remove=[1])
    store.commit(remove=[2], meta={"k": "v"})  # meta: flushed
    store._conn.set_trace_callback(None)
    assert seen == [2, 1, 2]
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert store.load().entries == () and store.load().meta["k"] == "v"
    store.close()


def test_sqlite_settings_and_schema(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with pytest.raises(ValueError, match="durability: expected one of full, normal, off, got 'fast'"):
        SqliteStore(path, durability="fast")
    for durability, level in (("full", 2), ("normal", 1), ("off", 0)):
        store = SqliteStore(path, durability=durability)
        # PRAGMA synchronous belongs to the connection: read it on the store's own
        assert store._conn is not None and store._conn.execute("PRAGMA synchronous").fetchone()[0] == level
        store.close()
    other = sqlite3.connect(path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
    columns = [r[1] for r in other.execute("PRAGMA table_info(entries)")]
    assert columns == ["id", "action", "payload", "transmissions", "not_before", "created"]
    other.close()


def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    outbox = Outbox("1.6", SqliteStore(tmp_path / "o.sqlite"))
    store = outbox._store
    outbox.close()
    with pytest.raises(OutboxError, match="store closed"):
        store.commit(meta={"x": "1"})


def test_a_version_0_file_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE unrelated (x)")  # a database at user_version 0, without our tables
    conn.commit()
    conn.close()
    outbox = Outbox("1.6", SqliteStore(path))
    outbox.submit(meter16(None), T0)
    outbox.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 1
    conn.close()


def test_migrating_n_to_n_plus_1_keeps_the_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "o.sqlite"
    outbox = Outbox("2.0.1", SqliteStore(path))
    outbox.submit(event201("A", "Started", "Authorized"), T0)
    outbox.submit(event201("A"), T0)
    outbox.close()

    def v1_to_v2(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE entries ADD COLUMN note TEXT NOT NULL DEFAULT ''")

    monkeypatch.setattr(_sqlite, "MIGRATIONS", (*_sqlite.MIGRATIONS, v1_to_v2))
    outbox = Outbox("2.0.1", SqliteStore(path))
    assert outbox.restored == 2 and [e.seq_no for e in outbox.entries()] == [0, 1]
    outbox.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert "note" in [r[1] for r in conn.execute("PRAGMA table_info(entries)")]
    conn.close()
    # back on the code that knows version 1 only: the file is newer, kept aside
    monkeypatch.undo()
    with pytest.raises(OutboxCorrupt, match="schema version 2 is newer than this ocppkit knows \\(1\\)"):
        SqliteStore(path)


def _moved_aside(exc: pytest.ExceptionInfo[OutboxCorrupt], path: Path, n: int = 1) -> Path:
    dest = Path(f"{path}.corrupt-{n}")
    message = str(exc.value)
    assert message.startswith(f"outbox file {path}: ") and message.endswith(f"moved aside to {dest}")
    assert dest.exists() and not path.exists()
    return dest


def _fresh_outbox_works(path: Path) -> None:
    outbox = Outbox("1.6", SqliteStore(path))
    assert outbox.restored == 0
    outbox.submit(meter16(None), T0)
    act = outbox.next(T0)
    assert isinstance(act, Attempt)
    outbox.close()


def test_garbage_is_moved_aside_intact_and_a_fresh_file_started(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    garbage = b"this is not a database, it is a shopping list\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(OutboxCorrupt, match="not a readable SQLite database") as exc:
        SqliteStore(path)
    assert _moved_aside(exc, path).read_bytes() == garbage
    _fresh_outbox_works(path)
    # a second bad file goes next to the first, which stays
    path.unlink()
    path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(OutboxCorrupt) as exc2:
        SqliteStore(path)
    assert _moved_aside(exc2, path, 2).read_bytes() == b"\x00garbage" * 100
    assert Path(f"{path}.corrupt-1").read_bytes() == garbage


def test_a_truncated_database_is_moved_aside_intact(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    outbox = Outbox("1.6", SqliteStore(path, durability="off"))
    for i in range(300):
        outbox.submit(meter16(None, "x" * 400 + str(i)), T0)
    outbox.close()
    data = path.read_bytes()
    assert len(data) > 40_000
    cut = data[: len(data) // 2 + 123]
    path.write_bytes(cut)
    with pytest.raises(OutboxCorrupt) as exc:
        Outbox("1.6", SqliteStore(path))
    assert _moved_aside(exc, path).read_bytes() == cut
    _fresh_outbox_works(path)


def test_a_schema_too_new_is_moved_aside_intact(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 9")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(OutboxCorrupt, match="schema version 9 is newer") as exc:
        SqliteStore(path)
    assert _moved_aside(exc, path).read_bytes() == before
    _fresh_outbox_works(path)


def test_a_row_of_the_wrong_types_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    SqliteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO entries VALUES (1, 'MeterValues', 'text, not bytes', 0, 0, 0)")
    conn.commit()
    conn.close()
    with pytest.raises(OutboxCorrupt, match="entry 1 has values of the wrong types") as exc:
        Outbox("1.6", SqliteStore(path))
    _moved_aside(exc, path)


def test_an_unreadable_payload_in_a_plugged_store_is_corrupt() -> None:
    store = MemoryStore()
    store.commit(add=[StoredEntry(1, "MeterValues", b"not json", 0, 0.0, T0)])
    with pytest.raises(OutboxCorrupt, match="entry 1: its payload is not a JSON object"):
        Outbox("1.6", store)
    other = MemoryStore()
    other.commit(add=[StoredEntry(1, "Frobnicate", b"{}", 0, 0.0, T0)])
    with pytest.raises(OutboxCorrupt, match="'Frobnicate' is no OCPP 1.6 action"):
        Outbox("1.6", other)


# ------------------------------------------------------------------ a real crash


CHILD = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {repo!r})
    from ocppkit.outbox import Outbox, SqliteStore
    from tests.outbox.support import event201, meter16
    version = sys.argv[1]
    outbox = Outbox(version, SqliteStore(sys.argv[2], durability="full"))
    for i in range(3):
        outbox.submit(meter16(None, str(i)) if version == "1.6" else event201("A"), 1000.0)
    act = outbox.next(1000.0)
    print(act.request.seq_no if version != "1.6" else act.request.meter_value[0].sampled_value[0].value)
    sys.stdout.flush()
    os._exit(0)  # dies with the first entry in flight: no delivered(), no close()
    """
)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_killed_process_loses_nothing_and_resends_the_entry_in_flight(tmp_path: Path, version: str) -> None:
    path = tmp_path / "station-outbox.sqlite"
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(repo=str(REPO)), version, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    in_flight = out.stdout.strip()
    outbox = Outbox(version, SqliteStore(path))
    assert outbox.restored == 3
    act = outbox.next(1000.0)
    assert isinstance(act, Attempt) and act.transmission == 1
    if version == "1.6":
        assert act.request.meter_value[0].sampled_value[0].value == in_flight == "0"
    else:
        assert act.request.seq_no == int(in_flight) == 0  # the same seqNo: the CSMS can see a duplicate
        assert [e.seq_no for e in outbox.entries()] == [0, 1, 2]
        assert outbox.submit(event201("A"), 1000.0).seq_no == 3
    outbox.close()
