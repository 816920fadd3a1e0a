"""ProfileBook: the CSMS's record of a station's profiles, for 1.6, 2.0.1 and 2.1."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from ocppkit import smartcharging as sc
from ocppkit.smartcharging._csms import ProfileBook
from ocppkit.v16 import messages as m16
from ocppkit.v21 import datatypes as d21
from ocppkit.v21 import messages as m21
from ocppkit.v201 import datatypes as d201
from ocppkit.v201 import messages as m201

from .build import MAX, P, at, limits, typed

T0 = at("2024-06-01T00:00")
START = at("2024-06-01T10:00")
MSG: dict[str, Any] = {"1.6": m16, "2.0.1": m201, "2.1": m21}
DT: dict[str, Any] = {"2.0.1": d201, "2.1": d21}


def tid(version: str, value: str) -> str | int:
    return int(value) if version == "1.6" else value


def send(book: ProfileBook, evse: int, p: P, status: str = "Accepted", when: dt.datetime | None = None) -> bool:
    m = MSG[book.version]
    profile = typed(book.version, p)
    if book.version == "1.6":
        request = m.SetChargingProfileRequest(connector_id=evse, cs_charging_profiles=profile)
    else:
        request = m.SetChargingProfileRequest(evse_id=evse, charging_profile=profile)
    return book.set_profile(request, m.SetChargingProfileResponse(status=status), at=when)


def clear(book: ProfileBook, status: str = "Accepted", **kw: Any) -> list[int]:
    m = MSG[book.version]
    if book.version == "1.6":
        request = m.ClearChargingProfileRequest(**kw)
    else:
        pid = kw.pop("id", None)
        crit = DT[book.version].ClearChargingProfileType(**kw) if kw else None
        request = m.ClearChargingProfileRequest(
            **({} if pid is None else {"charging_profile_id": pid}),
            **({} if crit is None else {"charging_profile_criteria": crit}),
        )
    return book.clear(request, m.ClearChargingProfileResponse(status=status))


def ids(book: ProfileBook) -> list[int]:
    return sorted(book._id(p) for _, p in book.profiles)


MAX32 = P(1, MAX["2.0.1"], 0, "Absolute", [(0, 32)], start=T0)
TXD16 = P(2, "TxDefaultProfile", 0, "Absolute", [(0, 16)], start=T0)
TXP = P(3, "TxProfile", 1, "Relative", [(0, 10), (1800, 6)], tx="1")


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_the_prediction_is_the_composite_of_what_the_station_accepted(version: str) -> None:
    book = ProfileBook(version)
    tx = sc.ActiveTransaction(evse_id=1, transaction_id=tid(version, "1"), started_at=START)
    assert send(book, 0, MAX32) and send(book, 1, TXD16)
    assert not send(book, 1, replace(TXD16, id=9, level=3, periods=[(0, 4)]), status="Rejected")
    book.transaction_started(tx)
    assert send(book, 1, TXP)
    kw: dict[str, Any] = {"start": START + dt.timedelta(minutes=10), "duration": 3600, "unit": "A"}
    predicted = book.composite_schedule(1, **kw)
    # the TxProfile replaces the TxDefault: 10 A until 1800 s after the start (10:30), then 6 A
    assert limits(predicted) == [(0, 10), (1200, 6)]
    same = sc.composite_schedule(version, book.profiles, evse_id=1, transaction=tx, **kw)
    assert predicted == same
    assert book.composite(1, **kw).periods[0].limit == 10
    # the transaction ends: its TxProfile goes, the TxDefault applies again
    assert book.transaction_ended(tid(version, "1")) == [3]
    assert limits(book.composite_schedule(1, **kw)) == [(0, 16)]
    assert book.transactions == []


def test_16_the_same_stack_level_and_purpose_replaces_on_that_connector() -> None:
    book = ProfileBook("1.6")
    send(book, 1, TXD16)
    send(book, 2, replace(TXD16, id=4))  # another connector: both stay
    send(book, 1, replace(TXD16, id=5, periods=[(0, 8)]))  # same (level, purpose) on connector 1
    assert ids(book) == [4, 5]
    assert limits(book.composite_schedule(1, start=START, duration=60, unit="A")) == [(0, 8)]


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_2x_the_same_id_replaces_and_other_ids_stack(version: str) -> None:
    book = ProfileBook(version)
    send(book, 1, TXD16)
    later = replace(TXD16, id=6, level=1, periods=[(0, 8)], start=START + dt.timedelta(minutes=5))
    send(book, 1, later)
    assert ids(book) == [2, 6]
    assert limits(book.composite_schedule(1, start=START, duration=600, unit="A")) == [(0, 16), (300, 8)]
    send(book, 1, replace(TXD16, periods=[(0, 12)]))  # id 2 again: replaced
    assert ids(book) == [2, 6]
    assert limits(book.composite_schedule(1, start=START, duration=60, unit="A")) == [(0, 12)]


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_validate_before_sending_sees_what_the_station_holds(version: str) -> None:
    book = ProfileBook(version)
    send(book, 1, TXD16)
    v = book.validate(1, typed(version, replace(TXD16, id=7)))
    assert v.reason_code == "DuplicateProfileValidityPeriod"  # 2.x rejects an overlapping duplicate
    assert book.validate(1, typed(version, TXD16)).accepted  # the same id would replace it
    no_tx = book.validate(1, typed(version, TXP))
    assert no_tx.reason_code == "TxProfileEvseHasNoActiveTransaction"
    book.transaction_started(sc.ActiveTransaction(evse_id=1, transaction_id="1", started_at=START))
    assert book.validate(1, typed(version, TXP)).accepted


def test_16_validate_accepts_a_same_level_profile_that_replaces() -> None:
    book = ProfileBook("1.6")
    send(book, 1, TXD16)
    assert book.validate(1, typed("1.6", replace(TXD16, id=7))).accepted


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_clears_by_id_and_by_criteria(version: str) -> None:
    book = ProfileBook(version)
    send(book, 0, MAX32)
    send(book, 1, TXD16)
    send(book, 2, replace(TXD16, id=4, level=2))
    assert clear(book, status="Rejected", id=2) == []
    assert clear(book, id=2) == [2]
    purpose_key = "charging_profile_purpose"
    evse_key = "connector_id" if version == "1.6" else "evse_id"
    assert clear(book, **{purpose_key: "TxDefaultProfile", evse_key: 1}) == []  # none left there
    # Unknown: the station holds none matching, so the book drops its matching ones too
    assert clear(book, status="Unknown", **{purpose_key: "TxDefaultProfile", "stack_level": 2}) == [4]
    assert ids(book) == [1]
    assert clear(book) == [1]  # no criterion: everything


@pytest.mark.parametrize("version", ["2.0.1", "2.1"])
def test_2x_reports_add_what_the_station_holds_and_external_constraints_are_not_cleared(version: str) -> None:
    book = ProfileBook(version)
    m = MSG[version]
    external = typed(version, P(-5, "ChargingStationExternalConstraints", 0, "Absolute", [(0, 20)], start=T0))
    source = "EMS" if version == "2.1" else "EMS"
    report = m.ReportChargingProfilesRequest(
        request_id=1, charging_limit_source=source, evse_id=1, charging_profile=[external, typed(version, TXD16)]
    )
    book.report(report)
    assert ids(book) == [-5, 2]
    assert limits(book.composite_schedule(1, start=START, duration=60, unit="A")) == [(0, 16)]
    assert clear(book) == [2]
    assert ids(book) == [-5]
    assert limits(book.composite_schedule(1, start=START, duration=60, unit="A")) == [(0, 20)]


def test_the_rate_limit_is_predicted_from_the_times_given() -> None:
    book = ProfileBook("2.1", capabilities=sc.Capabilities(update_rate_limit=300))
    send(book, 1, TXD16, when=START)
    v = book.validate(1, typed("2.1", replace(TXD16, id=8, level=4)), now=START + dt.timedelta(seconds=100))
    assert (v.wire_reason, v.retry_after) == ("RateLimitExceeded", 200)
    assert book.validate(1, typed("2.1", replace(TXD16, level=4)), now=START + dt.timedelta(seconds=300)).accepted
    assert book.last_set["TxDefaultProfile"] == START and book.last_set[2] == START


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="version"):
        ProfileBook("3.0")
    book = ProfileBook("2.0.1")
    wrong = m21.SetChargingProfileRequest(evse_id=1, charging_profile=typed("2.1", TXD16))
    with pytest.raises(ValueError, match="request: a 2.0.1 SetChargingProfile request is required"):
        book.set_profile(wrong, m201.SetChargingProfileResponse(status="Accepted"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1.6 has no ReportChargingProfiles"):
        ProfileBook("1.6").report(
            m201.ReportChargingProfilesRequest(
                request_id=1, charging_limit_source="EMS", evse_id=1, charging_profile=[]
            )
        )
    assert book.profile(2) is None
    send(book, 1, TXD16)
    found = book.profile(2)
    assert found is not None and found[0] == 1
