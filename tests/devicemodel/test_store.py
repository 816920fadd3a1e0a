"""The stores: the start-up sync, reopening, a crash mid-write, migration from an older schema
written here with raw SQL, and a schema newer than the code."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ocppkit import v201
from ocppkit.devicemodel import (
    SCHEMA_VERSION,
    Component,
    Definition,
    DeviceModel,
    MemoryStore,
    SqliteStore,
    StoreError,
    VariableSpec,
)

from .dm_station import COMM, station

REPO = Path(__file__).resolve().parents[2]


def set_heartbeat(model: DeviceModel, value: str) -> str:
    request = v201.SetVariablesRequest(
        set_variable_data=[
            v201.SetVariableDataType(
                component=v201.ComponentType(name="OCPPCommCtrlr"),
                variable=v201.VariableType(name="HeartbeatInterval"),
                attribute_value=value,
            )
        ]
    )
    return str(model.set_variables(request).set_variable_result[0].attribute_status.value)


def store_of(kind: str, tmp_path: Path) -> Any:
    return MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "dm.sqlite")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_reopen_keeps_csms_values_and_follows_the_definitions(kind: str, tmp_path: Path) -> None:
    store = store_of(kind, tmp_path)
    model = DeviceModel("2.0.1", store, station())
    assert set_heartbeat(model, "45") == "Accepted"
    model.set(Component("EVSE", evse_id=1), "Power", "11000")  # the station's own value
    if kind == "sqlite":
        store.close()
        store = SqliteStore(tmp_path / "dm.sqlite")
    # the next start: new initial values, a changed spec, a variable gone, a new one
    defs = []
    for d in station():
        if d.variable.name == "HeartbeatInterval":
            d = Definition(d.component, d.variable, {"Actual": "900"})  # a new initial value
        elif d.variable.name == "OfflineThreshold":
            d = Definition(d.component, d.variable, {"Actual": "1200"})
        elif d.variable.name == "OrganizationName":
            d = Definition(d.component, VariableSpec("OrganizationName", max_limit=50), {"Actual": "ocppkit"})
        elif d.variable.name == "StopTxOnInvalidId":
            continue
        defs.append(d)
    defs.append(Definition(COMM, VariableSpec("QueueAllMessages", data_type="boolean"), {"Actual": "false"}))
    again = DeviceModel("2.0.1", store, defs)
    assert again.get(COMM, "HeartbeatInterval") == "45" and again.source(COMM, "HeartbeatInterval") == "csms"
    assert again.get(Component("EVSE", evse_id=1), "Power") == "11000"  # source station: kept too
    assert again.get(COMM, "OfflineThreshold") == "1200"  # a config value follows the definitions
    assert again.spec("SecurityCtrlr", "OrganizationName").max_limit == 50
    assert not again.has("TxCtrlr", "StopTxOnInvalidId")
    assert again.get(COMM, "QueueAllMessages") == "false"
    assert len(again.variables()) == len(defs)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_csms_value_the_new_spec_refuses_returns_to_the_initial_value(kind: str, tmp_path: Path) -> None:
    store = store_of(kind, tmp_path)
    spec = VariableSpec("HeartbeatInterval", data_type="integer", min_limit=1)
    model = DeviceModel("2.0.1", store, [Definition(COMM, spec, {"Actual": "300"})])
    assert set_heartbeat(model, "10") == "Accepted"
    stricter = VariableSpec("HeartbeatInterval", data_type="integer", min_limit=60)
    again = DeviceModel("2.0.1", store, [Definition(COMM, stricter, {"Actual": "300"})])
    assert again.get(COMM, "HeartbeatInterval") == "300" and again.source(COMM, "HeartbeatInterval") == "config"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_value_that_is_not_persistent_starts_again_from_its_initial_value(kind: str, tmp_path: Path) -> None:
    store = store_of(kind, tmp_path)
    evse = Component("EVSE", evse_id=1)
    defs = [
        Definition(
            evse, VariableSpec("Power", data_type="decimal", mutability="ReadOnly", persistent=False), {"Actual": "0"}
        ),
        Definition(evse, VariableSpec("Label", persistent=True), {"Actual": "left"}),
    ]
    model = DeviceModel("2.0.1", store, defs)
    model.set(evse, "Power", "7400")
    model.set(evse, "Label", "right")
    again = DeviceModel("2.0.1", store, defs)
    assert again.get(evse, "Power") == "0" and again.source(evse, "Power") == "config"
    assert again.get(evse, "Label") == "right"


def test_opening_without_definitions_serves_the_file_as_it_is(tmp_path: Path) -> None:
    model = DeviceModel("2.0.1", SqliteStore(tmp_path / "dm.sqlite"), station())
    set_heartbeat(model, "77")
    model.store.close()
    again = DeviceModel("2.0.1", SqliteStore(tmp_path / "dm.sqlite"))
    assert again.get(COMM, "HeartbeatInterval") == "77" and len(again.variables()) == len(station())
    assert again.spec("OCPPCommCtrlr", "NetworkProfileConnectionAttempts").reboot_required
    assert again.spec(Component("EVSE", evse_id=1), "Power") == VariableSpec(
        "Power", data_type="decimal", unit="W", mutability="ReadOnly", max_limit=22000, attributes=("Actual", "MaxSet")
    )
    tx = again.spec("TxCtrlr", "TxStartPoint")
    assert tx.values_list is not None and tx.values_list[:2] == ("ParkingBayOccupancy", "EVConnected")


CHILD = """
import sys
from ocppkit.devicemodel import DeviceModel, SqliteStore
from tests.devicemodel.dm_station import COMM, station
model = DeviceModel("2.0.1", SqliteStore(sys.argv[1]), station())
print("ready", flush=True)
n = 1
while True:
    model.set(COMM, "HeartbeatInterval", str(n))
    model.set(COMM, "OfflineThreshold", str(n))
    n += 1
"""


def test_reopen_after_a_crash_mid_write_loop(tmp_path: Path) -> None:
    path = tmp_path / "dm.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # let it write a while
            time.sleep(0.2)
            probe = sqlite3.connect(path)
            done = probe.execute(
                "SELECT value FROM attribute_values JOIN variables ON variables.id = variable_id"
                " WHERE variables.name = 'HeartbeatInterval'"
            ).fetchone()[0]
            probe.close()
            if int(done) > 50:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    store = SqliteStore(path)
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    model = DeviceModel("2.0.1", store, station())
    beat, offline = int(model.get(COMM, "HeartbeatInterval")), int(model.get(COMM, "OfflineThreshold"))
    assert beat > 50 and offline in (beat, beat - 1)  # the last committed writes, in order
    assert len(model.variables()) == len(station())
    assert set_heartbeat(model, "33") == "Accepted"  # and it goes on working


V1 = [
    "CREATE TABLE components (id INTEGER PRIMARY KEY, name TEXT NOT NULL, instance TEXT, evse_id INTEGER,"
    " connector_id INTEGER)",
    "CREATE TABLE variables (id INTEGER PRIMARY KEY, component_id INTEGER NOT NULL REFERENCES components(id),"
    " name TEXT NOT NULL, instance TEXT, data_type TEXT NOT NULL, unit TEXT, min_limit REAL, max_limit REAL,"
    " values_list TEXT, mutability TEXT NOT NULL, attributes TEXT NOT NULL, persistent INTEGER NOT NULL,"
    " constant INTEGER NOT NULL, supports_monitoring INTEGER NOT NULL)",
    "CREATE TABLE attribute_values (variable_id INTEGER NOT NULL REFERENCES variables(id), type TEXT NOT NULL,"
    " value TEXT NOT NULL, PRIMARY KEY (variable_id, type))",
    "INSERT INTO components VALUES (1, 'OCPPCommCtrlr', NULL, NULL, NULL)",
    "INSERT INTO variables VALUES (1, 1, 'HeartbeatInterval', NULL, 'integer', 's', 1, NULL, NULL, 'ReadWrite',"
    " 'Actual', 1, 0, 0)",
    "INSERT INTO variables VALUES (2, 1, 'RetiredSetting', NULL, 'string', NULL, NULL, NULL, NULL, 'ReadWrite',"
    " 'Actual', 1, 0, 0)",
    "INSERT INTO attribute_values VALUES (1, 'Actual', '120')",
    "INSERT INTO attribute_values VALUES (2, 'Actual', 'old')",
    "PRAGMA user_version=1",
]


def test_a_version_1_file_is_migrated_and_keeps_its_values(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    raw = sqlite3.connect(path)
    for sql in V1:
        raw.execute(sql)
    raw.commit()
    raw.close()
    store = SqliteStore(path)
    assert store.schema_version() == SCHEMA_VERSION == 2
    as_is = DeviceModel("2.0.1", store)
    assert as_is.get(COMM, "HeartbeatInterval") == "120" and as_is.get(COMM, "RetiredSetting") == "old"
    assert as_is.source(COMM, "HeartbeatInterval") == "csms"  # a value from before sources is kept
    model = DeviceModel("2.0.1", store, station())
    assert model.get(COMM, "HeartbeatInterval") == "120"
    assert not model.has(COMM, "RetiredSetting") and model.get(COMM, "OfflineThreshold") == "600"
    cols = {row[1] for row in store._db.execute("PRAGMA table_info(attribute_values)")}
    assert "source" in cols


def test_a_failed_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "half.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE attribute_values (x)")  # version 1 by its number; no variables table
    raw.execute("PRAGMA user_version=1")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="migrating from schema version 1 failed"):
        SqliteStore(path)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    assert {r[1] for r in raw.execute("PRAGMA table_info(attribute_values)")} == {"x"}
    raw.close()


def test_a_newer_schema_or_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version=99")
    raw.close()
    with pytest.raises(StoreError, match=r"schema version 99 is newer than this ocppkit knows \(2\)"):
        SqliteStore(path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a device-model database"):
        SqliteStore(junk)
    assert junk.read_bytes().startswith(b"not a database")  # left untouched
