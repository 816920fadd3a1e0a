"""Random sequences of SetChargingProfile / ClearChargingProfile / transactions on two stations,
one on the memory store and one on the sqlite store: the same answers at every step, the
replacement invariants of each version, and a reopened sqlite station holding what the memory
one holds."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocppkit import smartcharging as sc

from .build import MAX, P
from .test_station import T0, composite_req, mod, set_req, wire

PURPOSES = ["TxDefaultProfile", MAX["2.0.1"], "TxProfile"]

op = st.one_of(
    st.tuples(
        st.just("set"),
        st.sampled_from([0, 1, 2]),
        st.integers(1, 6),
        st.integers(0, 2),
        st.sampled_from(PURPOSES),
        st.sampled_from([8.0, 16.0, 32.0]),
    ),
    st.tuples(st.just("clear_id"), st.integers(1, 6)),
    st.tuples(st.just("clear_evse"), st.sampled_from([0, 1, 2])),
    st.tuples(st.just("start"), st.sampled_from([1, 2])),
    st.tuples(st.just("end"), st.sampled_from([1, 2])),
)


def clear_req(version: str, pid: int | None = None, evse: int | None = None) -> Any:
    m = mod(version)
    if version == "1.6":
        kw = {"id": pid} if pid is not None else {"connector_id": evse}
        return wire(m.ClearChargingProfileRequest(**kw))
    if pid is not None:
        return wire(m.ClearChargingProfileRequest(charging_profile_id=pid))
    return wire(m.ClearChargingProfileRequest(charging_profile_criteria=m.ClearChargingProfileType(evse_id=evse)))


def check_invariants(version: str, station: sc.StationProfiles) -> None:
    rows = station.profiles
    assert len({r.id for r in rows}) == len(rows)  # ids are unique in every version
    if version == "1.6":  # 1.6 replaces on (connector, stackLevel, purpose)
        keys = [(r.evse_id, r.stack_level, r.purpose) for r in rows]
        assert len(set(keys)) == len(keys)
    running = {t.evse_id: str(t.transaction_id) for t in station.transactions}
    for r in rows:
        if r.purpose == "TxProfile":  # a TxProfile lives only with its transaction
            assert running.get(r.evse_id) == r.transaction_id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=st.sampled_from(["1.6", "2.0.1", "2.1"]), ops=st.lists(op, max_size=25))
def test_memory_and_sqlite_stations_agree_and_reopen_alike(version: str, ops: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.sqlite"
        memory = sc.StationProfiles(version, evses=(1, 2), max_current=32.0)
        disk = sc.StationProfiles(
            version, sc.SqliteProfileStore(path, durability="off"), evses=(1, 2), max_current=32.0
        )
        tx_ids = {1: "11", 2: "22"}
        for o in ops:
            if o[0] == "set":
                _, evse, pid, level, purpose, limit = o
                p = P(pid, purpose, level, "Absolute", [(0, limit)], start=T0)
                if purpose == "TxProfile":
                    p.tx = tx_ids.get(evse, "11")
                answers = [s.set_charging_profile(set_req(version, evse, p)) for s in (memory, disk)]
            elif o[0] == "clear_id":
                answers = [s.clear_charging_profile(clear_req(version, pid=o[1])) for s in (memory, disk)]
            elif o[0] == "clear_evse":
                answers = [s.clear_charging_profile(clear_req(version, evse=o[1])) for s in (memory, disk)]
            elif o[0] == "start":
                tx: str | int = int(tx_ids[o[1]]) if version == "1.6" else tx_ids[o[1]]
                for s in (memory, disk):
                    s.transaction_started(o[1], tx, T0)
                answers = []
            else:
                answers = [s.transaction_ended(o[1]) for s in (memory, disk)]
            if answers:
                assert msgspec.json.encode(answers[0]) == msgspec.json.encode(answers[1])
            assert [r.id for r in memory.profiles] == [r.id for r in disk.profiles]
            check_invariants(version, memory)
        schedule = [s.get_composite_schedule(composite_req(version, 1, 3600, "A"), T0) for s in (memory, disk)]
        assert msgspec.json.encode(schedule[0]) == msgspec.json.encode(schedule[1])
        disk.store.close()
        again = sc.StationProfiles(version, sc.SqliteProfileStore(path), evses=(1, 2))
        assert again.profiles == memory.profiles
        again.store.close()
