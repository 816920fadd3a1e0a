"""StationProfiles, sans-IO: the station's answers to SetChargingProfile, ClearChargingProfile,
GetChargingProfiles and GetCompositeSchedule, transactions, limits, for every version."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ocppkit import CallErrorReply, ErrorCode
from ocppkit import smartcharging as sc

from .build import MAX, P, at, limits, typed

VERSIONS = ["1.6", "2.0.1", "2.1"]
PKG = {"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}
T0 = at("2024-06-01T10:00")


def mod(version: str) -> Any:
    return importlib.import_module(PKG[version])


def wire(obj: Any) -> Any:
    """``obj`` after a trip over the wire (the enums as the codec gives them)."""
    return msgspec.json.decode(msgspec.json.encode(obj), type=type(obj))


def profile(version: str, p: P) -> Any:
    return wire(typed(version, p))


def set_req(version: str, evse: int, p: P) -> Any:
    m = mod(version)
    if version == "1.6":
        return wire(m.SetChargingProfileRequest(connector_id=evse, cs_charging_profiles=typed(version, p)))
    return wire(m.SetChargingProfileRequest(evse_id=evse, charging_profile=typed(version, p)))


def default(pid: int, limit: float = 16.0, level: int = 0, **kw: Any) -> P:
    return P(pid, "TxDefaultProfile", level, "Absolute", [(0, limit)], start=T0, **kw)


def status(response: Any) -> str:
    return str(response.status.value)


def composite_req(version: str, evse: int, duration: int, unit: str | None = None) -> Any:
    m = mod(version)
    extra = {} if unit is None else {"charging_rate_unit": unit}
    if version == "1.6":
        return wire(m.GetCompositeScheduleRequest(connector_id=evse, duration=duration, **extra))
    return wire(m.GetCompositeScheduleRequest(evse_id=evse, duration=duration, **extra))


@pytest.mark.parametrize("version", VERSIONS)
def test_set_installs_and_the_composite_follows(version: str) -> None:
    st = sc.StationProfiles(version, evses=(1, 2))
    assert status(st.set_charging_profile(set_req(version, 1, default(1, 16.0)))) == "Accepted"
    assert (
        status(st.set_charging_profile(set_req(version, 0, P(2, MAX["2.0.1"], 0, "Absolute", [(0, 10.0)], start=T0))))
        == "Accepted"
    )
    assert [(r.evse_id, r.id) for r in st.profiles] == [(1, 1), (0, 2)]
    got = st.get_composite_schedule(composite_req(version, 1, 600, "A"), T0)
    assert status(got) == "Accepted"
    schedule = got.charging_schedule if version == "1.6" else got.schedule
    assert limits(schedule) == [(0, 10.0)]  # the station max caps the TxDefault
    if version == "1.6":
        assert got.connector_id == 1 and got.schedule_start == T0
    else:
        assert schedule.evse_id == 1 and schedule.schedule_start == T0


def test_set_replacement_16_by_stack_level_and_purpose_on_the_connector() -> None:
    st = sc.StationProfiles("1.6", evses=(1, 2))
    for evse, p in ((1, default(1, 16.0, level=2)), (2, default(2, 12.0, level=2)), (1, default(3, 20.0, level=1))):
        assert status(st.set_charging_profile(set_req("1.6", evse, p))) == "Accepted"
    # same (stackLevel 2, TxDefaultProfile) on connector 1: replaces profile 1 only
    assert status(st.set_charging_profile(set_req("1.6", 1, default(9, 8.0, level=2)))) == "Accepted"
    assert sorted(r.id for r in st.profiles) == [2, 3, 9]
    # the same id replaces, whatever its level
    assert status(st.set_charging_profile(set_req("1.6", 1, default(3, 6.0, level=4)))) == "Accepted"
    assert sorted((r.id, r.stack_level) for r in st.profiles) == [(2, 2), (3, 4), (9, 2)]


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_set_2x_replaces_by_id_and_rejects_a_duplicate_with_a_reason(version: str) -> None:
    st = sc.StationProfiles(version)
    assert status(st.set_charging_profile(set_req(version, 1, default(1, 16.0, level=2)))) == "Accepted"
    assert status(st.set_charging_profile(set_req(version, 1, default(1, 8.0, level=3)))) == "Accepted"
    assert [(r.id, r.stack_level) for r in st.profiles] == [(1, 3)]
    clash = st.set_charging_profile(set_req(version, 1, default(2, 6.0, level=3)))
    assert status(clash) == "Rejected"
    assert clash.status_info.reason_code == "DuplicateProfile"
    assert clash.status_info.additional_info.startswith("DuplicateProfileValidityPeriod: profile 1")
    assert [r.id for r in st.profiles] == [1]  # nothing installed


@pytest.mark.parametrize("version", VERSIONS)
def test_set_rejections_carry_the_reason(version: str) -> None:
    st = sc.StationProfiles(version, evses=(1,), capabilities=sc.Capabilities(rate_units=("A",)))
    cases = [
        (5, default(1), "UnknownEvse"),
        (1, default(2, unit="W"), "UnsupportedRateUnit"),
        (1, P(3, "TxProfile", 0, "Relative", [(0, 16.0)], tx="7"), "TxNotFound"),
        (1, P(4, "TxDefaultProfile", 0, "Absolute", [(10, 16.0)], start=T0), "InvalidSchedule"),
        (1, P(5, MAX["2.0.1"], 0, "Absolute", [(0, 16.0)], start=T0), "InvalidValue"),
    ]
    for evse, p, code in cases:
        got = st.set_charging_profile(set_req(version, evse, p))
        assert status(got) == "Rejected", p
        if version != "1.6":
            assert got.status_info.reason_code == code
            assert len(got.status_info.reason_code) <= 20
            assert got.status_info.additional_info  # the validation's name and rule
        else:
            assert not hasattr(got, "status_info")  # 1.6 says only Rejected
    assert st.profiles == []


@pytest.mark.parametrize("version", VERSIONS)
def test_tx_profiles_need_the_transaction_and_go_with_it(version: str) -> None:
    st = sc.StationProfiles(version, evses=(1, 2))
    st.transaction_started(1, "42" if version != "1.6" else 42, T0)
    tx = P(10, "TxProfile", 0, "Relative", [(0, 20.0), (1800, 8.0)], tx="42")
    assert status(st.set_charging_profile(set_req(version, 1, tx))) == "Accepted"
    assert status(st.set_charging_profile(set_req(version, 1, default(11, 16.0, level=5)))) == "Accepted"
    got = st.get_composite_schedule(composite_req(version, 1, 3600, "A"), T0 + dt.timedelta(minutes=10))
    schedule = got.charging_schedule if version == "1.6" else got.schedule
    assert limits(schedule) == [(0, 20.0), (1200, 8.0)]  # Relative from the transaction's start
    assert st.transaction_ended(1) == [10]
    assert st.transaction_ended(1) == []  # none runs any more
    assert [r.id for r in st.profiles] == [11]
    with pytest.raises(ValueError, match="not one of this station's EVSEs"):
        st.transaction_started(3, "x", T0)


@pytest.mark.parametrize("version", VERSIONS)
def test_clear_by_id_evse_purpose_and_level(version: str) -> None:
    m = mod(version)
    st = sc.StationProfiles(version, evses=(1, 2))
    for evse, p in (
        (1, default(1, level=1)),
        (2, default(2, level=1)),
        (1, default(3, level=2)),
        (0, P(4, MAX["2.0.1"], 0, "Absolute", [(0, 32.0)], start=T0)),
    ):
        assert status(st.set_charging_profile(set_req(version, evse, p))) == "Accepted"

    def clear(**kw: Any) -> str:
        if version == "1.6":
            return status(st.clear_charging_profile(wire(m.ClearChargingProfileRequest(**kw))))
        pid = kw.pop("id", msgspec.UNSET)
        if "connector_id" in kw:
            kw["evse_id"] = kw.pop("connector_id")
        crit = m.ClearChargingProfileType(**kw) if kw else msgspec.UNSET
        req = m.ClearChargingProfileRequest(charging_profile_id=pid, charging_profile_criteria=crit)
        return status(st.clear_charging_profile(wire(req)))

    assert clear(id=99) == "Unknown"
    assert clear(id=3) == "Accepted"
    assert sorted(r.id for r in st.profiles) == [1, 2, 4]
    assert clear(connector_id=2) == "Accepted"
    assert sorted(r.id for r in st.profiles) == [1, 4]
    assert clear(charging_profile_purpose="TxDefaultProfile", stack_level=7) == "Unknown"
    assert clear(charging_profile_purpose="TxDefaultProfile", stack_level=1) == "Accepted"
    assert [r.id for r in st.profiles] == [4]
    assert clear() == "Accepted"  # no criteria: all
    assert st.profiles == []
    assert clear() == "Unknown"


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_external_constraints_are_reported_but_never_cleared_by_the_csms(version: str) -> None:
    m = mod(version)
    st = sc.StationProfiles(version)
    ext = P(-1, "ChargingStationExternalConstraints", 0, "Absolute", [(0, 6.0)], start=T0)
    st.install_external(0, profile(version, ext), source="EMS")
    assert status(st.clear_charging_profile(wire(m.ClearChargingProfileRequest()))) == "Unknown"
    assert status(st.clear_charging_profile(wire(m.ClearChargingProfileRequest(charging_profile_id=-1)))) == "Unknown"
    crit = m.ChargingProfileCriterionType(charging_limit_source=["EMS"])
    response, reports = st.get_charging_profiles(
        wire(m.GetChargingProfilesRequest(request_id=3, charging_profile=crit))
    )
    assert status(response) == "Accepted"
    assert [(str(getattr(r.charging_limit_source, "value", r.charging_limit_source)), r.evse_id) for r in reports] == [
        ("EMS", 0)
    ]
    # the CSMS may not reuse its id (K01.FR.05)
    taken = st.set_charging_profile(set_req(version, 1, default(-1)))
    assert status(taken) == "Rejected"
    with pytest.raises(ValueError, match="purpose must be ChargingStationExternalConstraints"):
        st.install_external(0, profile(version, default(5)))
    with pytest.raises(ValueError, match="source"):
        st.install_external(0, profile(version, ext), source="Mars" if version == "2.0.1" else "x" * 21)
    with pytest.raises(ValueError, match="1.6 has no"):
        sc.StationProfiles("1.6").install_external(0, None)


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_get_charging_profiles_pages_with_tbc(version: str) -> None:
    m = mod(version)
    st = sc.StationProfiles(version, evses=(1, 2), report_size=2)
    for pid in range(1, 6):  # five on EVSE 1, each its own stack level
        assert status(st.set_charging_profile(set_req(version, 1, default(pid, level=pid)))) == "Accepted"
    assert status(st.set_charging_profile(set_req(version, 2, default(6)))) == "Accepted"

    def get(evse: int | None = None, **crit: Any) -> tuple[Any, list[Any]]:
        extra = {} if evse is None else {"evse_id": evse}
        req = m.GetChargingProfilesRequest(
            request_id=77, charging_profile=m.ChargingProfileCriterionType(**crit), **extra
        )
        return st.get_charging_profiles(wire(req))

    response, reports = get(1)
    assert status(response) == "Accepted"
    assert [[p.id for p in r.charging_profile] for r in reports] == [[1, 2], [3, 4], [5]]
    assert [r.tbc for r in reports] == [True, True, False]
    assert {r.request_id for r in reports} == {77} and {r.evse_id for r in reports} == {1}
    for r in reports:
        wire(r)  # valid messages
        assert len(msgspec.json.encode(r)) > 0
    response, reports = get()  # every EVSE
    assert [(r.evse_id, len(r.charging_profile)) for r in reports] == [(1, 2), (1, 2), (1, 1), (2, 1)]
    assert [r.tbc for r in reports] == [True, True, True, False]
    _, reports = get(charging_profile_id=[2, 6])
    assert [[p.id for p in r.charging_profile] for r in reports] == [[2], [6]]
    _, reports = get(stack_level=3, charging_profile_purpose="TxDefaultProfile")
    assert [[p.id for p in r.charging_profile] for r in reports] == [[3]]
    response, reports = get(0)
    assert status(response) == "NoProfiles" and reports == []
    response, reports = get(charging_profile_purpose="TxProfile")
    assert status(response) == "NoProfiles" and reports == []


@pytest.mark.parametrize("version", VERSIONS)
def test_composite_worked_example_e1(version: str) -> None:
    """E1/E2: TxDefault Recurring Daily (1.6 §3.13.7) at 07:00Z for 2 h."""
    st = sc.StationProfiles(version)
    e1 = P(
        1,
        "TxDefaultProfile",
        0,
        "Recurring",
        [(0, 11000.0), (28800, 6000.0), (72000, 11000.0)],
        unit="W",
        start=at("2013-01-01T00:00"),
        duration=86400,
        recurrency="Daily",
    )
    assert status(st.set_charging_profile(set_req(version, 1, e1))) == "Accepted"
    now = at("2024-03-05T07:00")
    got = st.get_composite_schedule(composite_req(version, 1, 7200, "W"), now)
    schedule = got.charging_schedule if version == "1.6" else got.schedule
    assert limits(schedule) == [(0, 11000.0), (3600, 6000.0)]
    got = st.get_composite_schedule(composite_req(version, 1, 7200, "A"), now)
    schedule = got.charging_schedule if version == "1.6" else got.schedule
    expected = [(0, 15.9), (3600, 8.6)] if version == "1.6" else [(0, 15.942), (3600, 8.696)]
    assert limits(schedule) == expected


@pytest.mark.parametrize("version", VERSIONS)
def test_composite_rejections_and_the_unit_default(version: str) -> None:
    st = sc.StationProfiles(version, evses=(1,), capabilities=sc.Capabilities(rate_units=("W", "A")), max_current=16.0)
    unknown = st.get_composite_schedule(composite_req(version, 2, 60), T0)
    assert status(unknown) == "Rejected"
    if version != "1.6":
        assert unknown.status_info.reason_code == "UnknownEvse"
    got = st.get_composite_schedule(composite_req(version, 1, 60), T0)  # no unit: the first, W
    schedule = got.charging_schedule if version == "1.6" else got.schedule
    assert str(schedule.charging_rate_unit.value) == "W"
    assert limits(schedule) == [(0, 16.0 * 230 * 3)]  # nothing limits: the EVSE's maximum
    st0 = st.get_composite_schedule(composite_req(version, 0, 60, "A"), T0)
    assert status(st0) == "Accepted"  # EVSE 0: the station total
    only_a = sc.StationProfiles(version, capabilities=sc.Capabilities(rate_units=("A",)), max_current=16.0)
    refused = only_a.get_composite_schedule(composite_req(version, 1, 60, "W"), T0)
    assert status(refused) == "Rejected"
    if version != "1.6":
        assert refused.status_info.reason_code == "UnsupportedRateUnit"


@pytest.mark.parametrize("version", VERSIONS)
def test_composite_without_a_maximum_where_nothing_limits(version: str) -> None:
    st = sc.StationProfiles(version)
    got = st.get_composite_schedule(composite_req(version, 1, 60, "A"), T0)
    if version == "2.1":  # limit is optional there: omitted
        assert status(got) == "Accepted" and got.schedule.charging_schedule_period[0].limit is msgspec.UNSET
    else:
        assert status(got) == "Rejected"  # required on the wire, and the station knows no maximum
        if version == "2.0.1":
            assert "no max_current" in got.status_info.additional_info


@pytest.mark.parametrize("version", VERSIONS)
def test_limits_now_and_the_next_change(version: str) -> None:
    st = sc.StationProfiles(version, evses=(1, 2))
    p = P(1, "TxDefaultProfile", 0, "Absolute", [(0, 16.0), (1800, 8.0)], start=T0, duration=3600)
    assert status(st.set_charging_profile(set_req(version, 1, p))) == "Accepted"
    now = T0 + dt.timedelta(seconds=600, microseconds=500)
    got = st.limits(now)
    assert got[1] == sc.EvseLimit(sc.Limit(16.0, "A", None), T0 + dt.timedelta(seconds=1800))
    assert got[2] == sc.EvseLimit(sc.Limit(None, "A", None), None)  # nothing limits EVSE 2
    later = st.limits(T0 + dt.timedelta(seconds=1800), unit="W")
    assert later[1] == sc.EvseLimit(sc.Limit(8.0 * 230 * 3, "W", None), T0 + dt.timedelta(seconds=3600))
    assert st.limits(T0 + dt.timedelta(seconds=3600))[1].limit.value is None  # the duration is over
    with pytest.raises(ValueError, match="horizon"):
        st.limits(T0, horizon=0)


@pytest.mark.parametrize("version", VERSIONS)
def test_no_smart_charging_answers_not_supported(version: str) -> None:
    m = mod(version)
    st = sc.StationProfiles(version, enabled=False)
    with pytest.raises(CallErrorReply) as caught:
        st.set_charging_profile(set_req(version, 1, default(1)))
    assert caught.value.error_code == ErrorCode.NOT_SUPPORTED
    with pytest.raises(CallErrorReply):
        st.get_composite_schedule(composite_req(version, 1, 60, "A"), T0)
    with pytest.raises(CallErrorReply):
        st.clear_charging_profile(wire(m.ClearChargingProfileRequest()))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_sqlite_backed_station_keeps_its_profiles(version: str, tmp_path: Path) -> None:
    path = tmp_path / "station.sqlite"
    st = sc.StationProfiles(version, sc.SqliteProfileStore(path))
    assert status(st.set_charging_profile(set_req(version, 1, default(1, 12.0)))) == "Accepted"
    assert status(st.set_charging_profile(set_req(version, 1, default(1, 10.0)))) == "Accepted"  # replaced
    before = st.get_composite_schedule(composite_req(version, 1, 600, "A"), T0)
    st.store.close()
    again = sc.StationProfiles(version, sc.SqliteProfileStore(path))
    assert [r.id for r in again.profiles] == [1]
    assert again.get_composite_schedule(composite_req(version, 1, 600, "A"), T0) == before
    again.store.close()


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="version"):
        sc.StationProfiles("1.5")
    with pytest.raises(ValueError, match="evses"):
        sc.StationProfiles("2.0.1", evses=(0,))
    with pytest.raises(ValueError, match="report_size"):
        sc.StationProfiles("2.0.1", report_size=0)
    with pytest.raises(ValueError, match="max_current"):
        sc.StationProfiles("2.0.1", max_current=-1.0)
    with pytest.raises(ValueError, match="1.6 has no GetChargingProfiles"):
        sc.StationProfiles("1.6").get_charging_profiles(None)
    assert "StationProfiles 2.0.1" in repr(sc.StationProfiles("2.0.1"))


@pytest.mark.parametrize("version", VERSIONS)
def test_max_profiles_refuses_one_more_but_lets_a_replacement_in(version: str) -> None:
    st = sc.StationProfiles(version, max_profiles=2)
    assert status(st.set_charging_profile(set_req(version, 1, default(1, level=1)))) == "Accepted"
    assert status(st.set_charging_profile(set_req(version, 1, default(2, level=2)))) == "Accepted"
    full = st.set_charging_profile(set_req(version, 1, default(3, level=3)))
    assert status(full) == "Rejected"
    if version != "1.6":
        assert full.status_info.reason_code == "OutOfStorage"
        assert "2 profiles installed already" in full.status_info.additional_info
    assert status(st.set_charging_profile(set_req(version, 1, default(2, 6.0, level=2)))) == "Accepted"  # replaces 2
    assert sorted(r.id for r in st.profiles) == [1, 2]
    with pytest.raises(ValueError, match="max_profiles"):
        sc.StationProfiles(version, max_profiles=0)


@pytest.mark.parametrize("version", VERSIONS)
def test_expired_profiles_are_discarded(version: str) -> None:
    st = sc.StationProfiles(version)
    short = default(1, valid_to=T0 + dt.timedelta(hours=1))
    assert status(st.set_charging_profile(set_req(version, 1, short))) == "Accepted"
    assert status(st.set_charging_profile(set_req(version, 1, default(2, level=1)))) == "Accepted"
    assert st.discard_expired(T0 + dt.timedelta(minutes=59)) == []
    assert st.discard_expired(T0 + dt.timedelta(hours=1)) == [1]
    assert [r.id for r in st.profiles] == [2]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_negative_duration_is_rejected_naming_it(version: str) -> None:
    st = sc.StationProfiles(version, max_current=16.0)
    got = st.get_composite_schedule(composite_req(version, 1, -5, "A"), T0)
    assert status(got) == "Rejected"
    if version != "1.6":
        assert got.status_info.reason_code == "InvalidValue"
        assert "duration -5" in got.status_info.additional_info


def test_the_station_applies_the_21_rate_limit_with_the_time_of_each_request() -> None:
    caps = sc.Capabilities(update_rate_limit=60)
    st = sc.StationProfiles("2.1", evses=(1,), capabilities=caps)
    first = st.set_charging_profile(set_req("2.1", 1, default(1, 16.0)), T0)
    assert status(first) == "Accepted"
    soon = st.set_charging_profile(set_req("2.1", 1, default(1, 10.0)), T0 + dt.timedelta(seconds=20))
    assert status(soon) == "Rejected"
    assert soon.status_info.reason_code == "RateLimitExceeded"
    assert soon.status_info.additional_info == "40"  # the retry delay in seconds (K01.FR.57)
    later = st.set_charging_profile(set_req("2.1", 1, default(1, 10.0)), T0 + dt.timedelta(seconds=61))
    assert status(later) == "Accepted"
    assert status(st.set_charging_profile(set_req("2.1", 1, default(1, 8.0)))) == "Accepted"  # no time: no limit
