"""Durability: a ledger on a file survives a crash (no close(), kill -9) with everything it
committed, and its 1.6 id sequence continues; the schema is versioned and foreign files are
refused untouched."""

from __future__ import annotations

import gc
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ocppkit.transactions import SCHEMA_VERSION, Ledger, _schema

from .build import event, meter16, start16, stop16

REPO = Path(__file__).resolve().parents[2]


def test_a_ledger_dropped_without_close_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger(path)
    tx = ledger.record("CS1", start16()).transaction_id
    assert isinstance(tx, int)
    ledger.record("CS1", meter16(tx, 5, 1200))
    ledger.record("CS2", event("2.0.1", "tx-A", 0, "Started", wh=10.0))
    views = ledger.transactions()
    del ledger  # no close(): as after a crash
    gc.collect()
    with Ledger(path) as again:
        assert again.transactions() == views
        assert again.record("CS1", start16()).status == "duplicate"  # the re-sent Start: same id
        assert again.record("CS1", start16()).transaction_id == tx
        assert again.record("CS1", stop16(tx, 1500, 9)).status == "new"
        assert again.record("CS1", start16(minute=30)).transaction_id == tx + 1  # the sequence goes on
    assert again.closed


# A CSMS process: records the i-th message of a fixed feed for i in range(n), printing
# "ok <i> <transaction_id>" once record() has returned (= the station gets its answer), then
# kills itself with SIGKILL before it can close anything.
_CSMS = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from ocppkit.transactions import Ledger
    from tests.transactions.test_durability import feed

    ledger = Ledger({path!r}, durability={durability!r})
    first, last = int(sys.argv[1]), int(sys.argv[2])
    messages = feed()
    for i in range(first, last):
        station, request = messages[i]
        rec = ledger.record(station, request)
        print("ok", i, rec.status, rec.transaction_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def feed() -> list[tuple[str, object]]:
    """Ten 1.6 transactions (Start, then the Stop of the previous one's id, known in advance:
    ids are 1, 2, 3, ... in a fresh ledger) and ten 2.0.1 ones, interleaved."""
    out: list[tuple[str, object]] = []
    for n in range(10):
        out.append(("CS16", start16(connector=1 + n % 2, minute=10 * n)))
        out.append(("CS16", stop16(n + 1, 1000 + n, 10 * n + 5)))
        out.append(("CS2", event("2.0.1", f"tx-{n}", 0, "Started", minute=10 * n)))
        out.append(("CS2", event("2.0.1", f"tx-{n}", 1, "Ended", minute=10 * n + 5)))
    return out


def _run_csms(path: Path, first: int, last: int, durability: str = "full") -> list[list[str]]:
    code = _CSMS.format(repo=str(REPO), path=str(path), durability=durability)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(first), str(last)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return [line.split() for line in proc.stdout.splitlines()]


@pytest.mark.parametrize("durability", ["full", "normal", "off"])
def test_a_csms_killed_with_sigkill_restarts_with_every_committed_record(tmp_path: Path, durability: str) -> None:
    path = tmp_path / "csms.sqlite"
    acknowledged = _run_csms(path, 0, 25, durability)
    assert len(acknowledged) == 25 and all(line[2] == "new" for line in acknowledged)
    # The restarted CSMS gets the whole feed again (stations re-deliver what they are unsure of).
    again = _run_csms(path, 0, 40, durability)
    assert [line[2] for line in again] == ["duplicate"] * 25 + ["new"] * 15
    assert again[:25] == [[ok, i, "duplicate", tx] for ok, i, _, tx in acknowledged]  # the same ids
    with Ledger(path) as ledger:
        assert [v.transaction_id for v in ledger.transactions("CS16")] == list(range(1, 11))
        assert all(v.complete and not v.orphan for v in ledger.transactions())
        assert len(ledger.transactions("CS2")) == 10
        assert [a.kind for a in ledger.anomalies()] == ["duplicate"] * 25
        assert ledger.record("CS16", start16(minute=999)).transaction_id == 11  # no id reused


def test_a_csms_killed_from_outside_in_the_middle_of_a_burst(tmp_path: Path) -> None:
    """kill -9 from the test at a random point of a stream of records: every acknowledged
    record is in the ledger, none twice, and replaying the feed completes it exactly once."""
    path = tmp_path / "csms.sqlite"
    code = _CSMS.format(repo=str(REPO), path=str(path), durability="full").replace(
        "os.kill(os.getpid(), signal.SIGKILL)", "import time; time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, "0", "40"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().split() for _ in range(17)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    with Ledger(path) as ledger:
        stored = sum(len(ledger.messages(v.station, v.transaction_id)) for v in ledger.transactions())
        assert stored >= 17  # each acknowledged one (and perhaps some after it)
        statuses = [ledger.record(station, request).status for station, request in feed()]  # type: ignore[arg-type]
        assert statuses.count("new") == 40 - stored and statuses[:17] == ["duplicate"] * 17
        assert [v.transaction_id for v in ledger.transactions("CS16")] == list(range(1, 11))
        assert all(v.complete for v in ledger.transactions()) and len(ledger.transactions()) == 20
        assert int(acknowledged[0][3]) == 1


# ------------------------------------------------------------------ the file and its schema


def test_the_file_is_wal_and_carries_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 1
    db.close()


def test_in_memory_ledgers_are_separate() -> None:
    a, b = Ledger(), Ledger(":memory:")
    a.record("CS1", start16())
    assert b.transactions() == [] and a.path is None and b.path is None
    assert repr(a) == "<Ledger memory>"


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(
        ValueError, match=rf"schema version {SCHEMA_VERSION + 1}; this ocppkit reads up to {SCHEMA_VERSION}"
    ):
        Ledger(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    db.close()


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(ValueError, match="is a sqlite database but not a ledger"):
        Ledger(path)
    db = sqlite3.connect(path)
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["users"]
    db.close()


def test_a_corrupt_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(ValueError, match="is not a readable ledger database"):
        Ledger(path)
    assert path.read_bytes() == garbage


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="durability: expected one of 'full', 'normal', 'off', got 'fast'"):
        Ledger(durability="fast")
    with pytest.raises(ValueError, match="cannot open"):
        Ledger(tmp_path / "missing-dir" / "ledger.sqlite")
    with pytest.raises(TypeError, match="path: expected a str"):
        Ledger(b"ledger.sqlite")  # type: ignore[arg-type]


def test_an_older_schema_is_migrated_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database of version 1 meets an ocppkit with a second migration: it is upgraded, its
    data kept; a migration that fails leaves the previous version intact."""
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        tx = ledger.record("CS1", start16()).transaction_id
    added = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('v2')"
    monkeypatch.setattr(
        _schema, "MIGRATIONS", (*_schema.MIGRATIONS, "CREATE TABLE half (x); SELECT nonsense FROM nowhere")
    )
    monkeypatch.setattr(_schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(ValueError, match=rf"migration to ledger schema version {SCHEMA_VERSION + 1} failed"):
        Ledger(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert "half" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}  # rolled back
    db.close()
    monkeypatch.setattr(_schema, "MIGRATIONS", (*_schema.MIGRATIONS[:-1], added))
    with Ledger(path) as ledger:
        assert ledger.transaction("CS1", tx) is not None  # type: ignore[arg-type]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    assert db.execute("SELECT text FROM notes").fetchall() == [("v2",)]
    db.close()
