"""Smart charging over real sockets: our CSMSServer sends SetChargingProfile, GetChargingProfiles,
GetCompositeSchedule and ClearChargingProfile to our ChargingStation, which answers with
StationProfiles through the SmartCharging adapter, reports after the answer, and calls on_limit
when the limit changes (a profile, a transaction's end, a period boundary)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
from typing import Any

import pytest

from ocppkit import CallErrorReply, ErrorCode, Router
from ocppkit import smartcharging as sc
from ocppkit.adapters.asyncio import CallErrorResponse
from ocppkit.adapters.smartcharging import SmartCharging
from ocppkit.adapters.websockets import ChargingStation, CSMSServer

from ..smartcharging.build import MAX, P, typed
from .aio import run, until

PKG = {"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}
UTC = dt.timezone.utc


def whole_now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


class Rig:
    """A CSMS (recording the ReportChargingProfiles it gets) and a station with smart charging."""

    def __init__(self, version: str, **profiles_kw: Any) -> None:
        self.version = version
        self.m: Any = importlib.import_module(PKG[version])
        self.reports: list[Any] = []
        self.limits: list[tuple[int, sc.Limit, dt.datetime | None]] = []
        self.frames: list[tuple[str, list[Any]]] = []
        self.refuse_reports = False
        csms_router = Router(version)
        if version != "1.6":

            def report(req: Any) -> Any:
                self.reports.append(req)
                if self.refuse_reports:
                    raise CallErrorReply(ErrorCode.NOT_SUPPORTED, "no reports here")
                return self.m.ReportChargingProfilesResponse()

            csms_router.add(self.m.ReportChargingProfilesRequest, report)
        self.csms = CSMSServer(csms_router, versions=[version], ping_interval=None)
        self.profiles = sc.StationProfiles(version, evses=(1, 2), **profiles_kw)
        self.smart = SmartCharging(self.profiles, on_limit=lambda e, lim, nxt: self.limits.append((e, lim, nxt)))
        self.router = Router(version)
        self.smart.register(self.router)

    async def __aenter__(self) -> Rig:
        await self.csms.start("127.0.0.1", 0)
        self.station = ChargingStation(
            f"ws://127.0.0.1:{self.csms.port}/SC1",
            self.router,
            versions=[self.version],
            ping_interval=None,
            on_frame=lambda who, direction, data: self.frames.append((direction, json.loads(data))),
        )
        await self.station.start()
        await self.station.wait_connected(10)
        await until(lambda: "SC1" in self.csms.sessions)
        self.session = self.csms.sessions["SC1"]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.smart.close()
        await self.station.close()
        await self.csms.close()

    async def set(self, evse: int, p: P) -> Any:
        m = self.m
        if self.version == "1.6":
            req = m.SetChargingProfileRequest(connector_id=evse, cs_charging_profiles=typed(self.version, p))
        else:
            req = m.SetChargingProfileRequest(evse_id=evse, charging_profile=typed(self.version, p))
        return await self.session.call(req)

    async def composite(self, evse: int, duration: int, unit: str = "A") -> Any:
        m = self.m
        if self.version == "1.6":
            return await self.session.call(
                m.GetCompositeScheduleRequest(connector_id=evse, duration=duration, charging_rate_unit=unit)
            )
        return await self.session.call(
            m.GetCompositeScheduleRequest(evse_id=evse, duration=duration, charging_rate_unit=unit)
        )

    async def clear(self, pid: int) -> Any:
        if self.version == "1.6":
            return await self.session.call(self.m.ClearChargingProfileRequest(id=pid))
        return await self.session.call(self.m.ClearChargingProfileRequest(charging_profile_id=pid))

    def last_limit(self, evse: int) -> sc.Limit | None:
        got = [lim for e, lim, _ in self.limits if e == evse]
        return got[-1] if got else None


def periods(schedule: Any) -> list[tuple[int, float]]:
    return [(p.start_period, round(p.limit, 3)) for p in schedule.charging_schedule_period]


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_the_csms_sets_reads_and_clears_profiles_over_sockets(version: str) -> None:
    async def scenario() -> None:
        async with Rig(version, report_size=1, max_current=32.0) as rig:
            now = whole_now()
            day = P(1, "TxDefaultProfile", 0, "Absolute", [(0, 16.0)], start=now - dt.timedelta(hours=1))
            cap = P(2, MAX["2.0.1"], 0, "Absolute", [(0, 20.0)], start=now - dt.timedelta(hours=1))
            assert (await rig.set(1, day)).status.value == "Accepted"
            await until(lambda: rig.last_limit(1) == sc.Limit(16.0, "A", None))
            assert (await rig.set(0, cap)).status.value == "Accepted"
            assert rig.last_limit(2) == sc.Limit(20.0, "A", None)  # the station max caps EVSE 2

            got = await rig.composite(1, 600)
            schedule = got.charging_schedule if version == "1.6" else got.schedule
            assert got.status.value == "Accepted" and periods(schedule) == [(0, 16.0)]
            got = await rig.composite(2, 600, "W")
            schedule = got.charging_schedule if version == "1.6" else got.schedule
            assert periods(schedule) == [(0, 20.0 * 230 * 3)]
            unknown = await rig.composite(7, 600)
            assert unknown.status.value == "Rejected"

            if version != "1.6":
                m = rig.m
                req = m.GetChargingProfilesRequest(request_id=41, charging_profile=m.ChargingProfileCriterionType())
                answer = await rig.session.call(req)
                assert answer.status.value == "Accepted"
                await until(lambda: len(rig.reports) == 2)
                assert [(r.request_id, r.evse_id, r.tbc) for r in rig.reports] == [(41, 0, True), (41, 1, False)]
                assert [[p.id for p in r.charging_profile] for r in rig.reports] == [[2], [1]]
                out = [f for d, f in rig.frames if d == "out"]
                result_at = next(i for i, f in enumerate(out) if f[0] == 3 and f[2] == {"status": "Accepted"})
                report_at = next(i for i, f in enumerate(out) if f[0] == 2 and f[2] == "ReportChargingProfiles")
                assert result_at < report_at  # the answer first, then the reports
                await until(lambda: rig.smart.reports_sent == 2)
                none = m.GetChargingProfilesRequest(
                    request_id=42, charging_profile=m.ChargingProfileCriterionType(charging_profile_id=[99])
                )
                assert (await rig.session.call(none)).status.value == "NoProfiles"

            assert (await rig.clear(1)).status.value == "Accepted"
            await until(lambda: rig.last_limit(1) == sc.Limit(20.0, "A", None))  # the cap alone now
            assert (await rig.clear(1)).status.value == "Unknown"
            rejected = await rig.set(0, P(3, "TxProfile", 0, "Relative", [(0, 6.0)], tx="1"))
            assert rejected.status.value == "Rejected"
            if version != "1.6":
                assert (
                    rejected.status_info.reason_code == "InvalidValue"
                )  # TxProfileEvseIdNotGreaterThanZero, as libocpp sends it

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_on_limit_follows_period_boundaries_and_the_transaction_end(version: str) -> None:
    async def scenario() -> None:
        async with Rig(version) as rig:
            start = whole_now()
            # a boundary 2 s ahead: the timer on the loop's clock calls on_limit there
            p = P(1, "TxDefaultProfile", 0, "Absolute", [(0, 16.0), (2, 10.0)], start=start)
            assert (await rig.set(1, p)).status.value == "Accepted"
            first = [x for x in rig.limits if x[0] == 1][-1]
            if first[1].value == 16.0:
                assert first[2] == start + dt.timedelta(seconds=2)
            await until(lambda: rig.last_limit(1) == sc.Limit(10.0, "A", None), timeout=6)
            assert [x for x in rig.limits if x[0] == 1][-1][2] is None  # the last period runs on

            tx_id: str | int = 5 if version == "1.6" else "tx-5"
            rig.smart.transaction_started(1, tx_id)
            tx = P(2, "TxProfile", 0, "Relative", [(0, 6.0)], tx=str(tx_id))
            assert (await rig.set(1, tx)).status.value == "Accepted"
            assert rig.last_limit(1) == sc.Limit(6.0, "A", None)
            assert rig.smart.transaction_ended(1) == [2]
            assert rig.last_limit(1) == sc.Limit(10.0, "A", None)  # back to the TxDefault
            assert [r.id for r in rig.profiles.profiles] == [1]

    run(scenario())


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_a_station_without_smart_charging_answers_not_supported(version: str) -> None:
    async def scenario() -> None:
        async with Rig(version, enabled=False) as rig:
            with pytest.raises(CallErrorResponse) as caught:
                await rig.set(1, P(1, "TxDefaultProfile", 0, "Absolute", [(0, 16.0)], start=whole_now()))
            assert caught.value.code == "NotSupported"
            with pytest.raises(CallErrorResponse) as caught:
                await rig.composite(1, 60)
            assert caught.value.code == "NotSupported"

    run(scenario())


def test_register_checks_the_version_and_bad_arguments_are_named() -> None:
    smart = SmartCharging(sc.StationProfiles("2.0.1"))
    with pytest.raises(ValueError, match="serves OCPP 1.6"):
        smart.register(Router("1.6"))
    with pytest.raises(ValueError, match="unit"):
        SmartCharging(sc.StationProfiles("2.0.1"), unit="kW")
    with pytest.raises(ValueError, match="horizon"):
        SmartCharging(sc.StationProfiles("2.0.1"), horizon=0)
    smart.refresh()  # outside a loop: computes, arms no timer
    assert set(smart.current) == {1} and smart.current[1].limit.value is None
    assert "SmartCharging 2.0.1" in repr(smart)


def test_coroutine_and_failing_hooks_and_a_refused_report(caplog: pytest.LogCaptureFixture) -> None:
    """A coroutine on_limit is awaited; a failing one is logged and changes nothing else; a
    ReportChargingProfiles the CSMS refuses (a CALLERROR) is logged and ends the report."""

    async def scenario() -> None:
        seen: list[tuple[int, float | None]] = []

        async def hook(evse_id: int, limit: sc.Limit, next_change: dt.datetime | None) -> None:
            seen.append((evse_id, limit.value))
            if limit.value == 6.0:
                raise RuntimeError("the power electronics are unplugged")

        async with Rig("2.0.1", report_size=1) as rig:
            rig.smart.on_limit = hook
            rig.refuse_reports = True
            start = whole_now() - dt.timedelta(minutes=1)
            assert (
                await rig.set(1, P(1, "TxDefaultProfile", 0, "Absolute", [(0, 6.0)], start=start))
            ).status.value == ("Accepted")
            await until(lambda: (1, 6.0) in seen)
            assert (
                await rig.set(1, P(2, "TxDefaultProfile", 1, "Absolute", [(0, 7.0)], start=start))
            ).status.value == ("Accepted")
            await until(lambda: (1, 7.0) in seen)  # the hook failed once: it is still called
            assert "the on_limit hook failed" in caplog.text
            m = rig.m
            req = m.GetChargingProfilesRequest(request_id=9, charging_profile=m.ChargingProfileCriterionType())
            assert (await rig.session.call(req)).status.value == "Accepted"
            await until(lambda: "ReportChargingProfiles (requestId 9) not delivered" in caplog.text)
            await asyncio.sleep(0.2)
            assert len(rig.reports) == 1 and rig.smart.reports_sent == 0  # the second was not sent

    run(scenario())


def test_after_close_the_timer_calls_nothing() -> None:
    async def scenario() -> None:
        async with Rig("2.0.1") as rig:
            p = P(1, "TxDefaultProfile", 0, "Absolute", [(0, 16.0), (1, 10.0)], start=whole_now())
            assert (await rig.set(1, p)).status.value == "Accepted"
            await rig.smart.close()
            seen = len(rig.limits)
            await asyncio.sleep(1.5)  # past the boundary
            assert len(rig.limits) == seen
            rig.smart.refresh()  # by hand it still computes (and arms nothing)
            assert rig.smart.current[1].limit.value == 10.0

    run(scenario())
