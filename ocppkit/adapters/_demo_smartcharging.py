"""The smart-charging step of ``ocppkit demo`` (and the simulated station of ``ocppkit
station``): the demo CSMS sets a profile after an accepted boot and has the station report it
(2.x: GetChargingProfiles, answered with ReportChargingProfiles; 1.6: GetCompositeSchedule); the
station answers with :class:`ocppkit.smartcharging.StationProfiles` and prints its limit."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import time
from collections.abc import Callable
from typing import Any

from ..errors import OcppError
from ..router import Router
from ..smartcharging import Limit, ProfileStore, StationProfiles
from ._text import printable
from .asyncio import Session, current_session
from .smartcharging import SmartCharging

__all__ = ["SmartChargingDemo", "smart_station_router"]

_PACKAGES = {"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}
#: The demo profile: 16 A for an hour, then 10 A.
DEMO_PERIODS = ((0, 16.0), (3600, 10.0))


def _now() -> dt.datetime:
    return dt.datetime.fromtimestamp(int(time.time()), dt.timezone.utc)


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))


def smart_station_router(
    version: str,
    on_note: Callable[[str], None] = print,
    *,
    store: ProfileStore | None = None,
    router: Router | None = None,
) -> tuple[Router, SmartCharging]:
    """A station router (``router``, or a new one) answering the CSMS's smart-charging calls (one
    EVSE, 32 A at most, 230 V, 3 phases), and its :class:`SmartCharging`; the profiles are kept in
    ``store`` (default: memory); ``on_note`` gets a line at every limit change."""

    def note(evse_id: int, limit: Limit, next_change: dt.datetime | None) -> None:
        value = "no limit" if limit.value is None else f"{limit.value:g} {limit.unit}"
        until = "" if next_change is None else f" until {next_change:%H:%M:%S}Z"
        on_note(printable(f"smart charging: EVSE {evse_id} may draw {value}{until}"))

    router = router if router is not None else Router(version)
    smart = SmartCharging(StationProfiles(version, store, evses=(1,), max_current=32.0), on_limit=note)
    smart.register(router)
    return router, smart


class SmartChargingDemo:
    """The demo CSMS's smart-charging step: after an accepted boot it sets a TxDefaultProfile on
    EVSE 1 and asks the station to report it. :meth:`wait` gives what went wrong.

    Parameters:
        version: the OCPP version of the demo.
    """

    def __init__(self, version: str) -> None:
        self.version = version
        self.m: Any = importlib.import_module(_PACKAGES[version])
        self.problems: list[str] = []
        self.reports: list[Any] = []
        self._done = asyncio.Event()
        self._reported = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.started = False

    def after_boot(self) -> None:
        """Called by the CSMS's BootNotification handler: the step starts after the answer."""
        self.started = True
        task = asyncio.get_running_loop().create_task(self._run(current_session()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def register(self, router: Router, boot: Callable[[Any], Any]) -> None:
        """Add to the CSMS's ``router`` its BootNotification handler ``boot``, followed by this
        step when the boot is accepted, and (2.x) the ReportChargingProfiles handler."""

        def booted(request: Any) -> Any:
            response = boot(request)
            if _text(response.status) == "Accepted":
                self.after_boot()
            return response

        router.add(self.m.BootNotificationRequest, booted)
        if self.version != "1.6":
            router.add(self.m.ReportChargingProfilesRequest, self.on_report)

    def on_report(self, request: Any) -> Any:
        """The CSMS's ReportChargingProfiles handler (2.x)."""
        self.reports.append(request)
        if request.tbc is not True:
            self._reported.set()
        return self.m.ReportChargingProfilesResponse()

    def _profile(self) -> Any:
        m = self.m
        if self.version == "1.6":
            periods16 = [m.ChargingSchedulePeriod(start_period=s, limit=lim) for s, lim in DEMO_PERIODS]
            return m.ChargingProfile(
                charging_profile_id=1,
                stack_level=0,
                charging_profile_purpose=m.ChargingProfilePurposeType.TX_DEFAULT_PROFILE,
                charging_profile_kind=m.ChargingProfileKindType.ABSOLUTE,
                charging_schedule=m.ChargingSchedule(
                    start_schedule=_now(),
                    charging_rate_unit=m.ChargingRateUnitType.A,
                    charging_schedule_period=periods16,
                ),
            )
        periods = [m.ChargingSchedulePeriodType(start_period=s, limit=lim) for s, lim in DEMO_PERIODS]
        return m.ChargingProfileType(
            id=1,
            stack_level=0,
            charging_profile_purpose=m.ChargingProfilePurposeEnumType.TX_DEFAULT_PROFILE,
            charging_profile_kind=m.ChargingProfileKindEnumType.ABSOLUTE,
            charging_schedule=[
                m.ChargingScheduleType(
                    id=1,
                    start_schedule=_now(),
                    charging_rate_unit=m.ChargingRateUnitEnumType.A,
                    charging_schedule_period=periods,
                )
            ],
        )

    async def _run(self, session: Session) -> None:
        m = self.m
        try:
            if self.version == "1.6":
                req: Any = m.SetChargingProfileRequest(connector_id=1, cs_charging_profiles=self._profile())
            else:
                req = m.SetChargingProfileRequest(evse_id=1, charging_profile=self._profile())
            answer = await session.call(req)
            if _text(answer.status) != "Accepted":
                self.problems.append(f"SetChargingProfile: the station answered {_text(answer.status)}")
                return
            if self.version == "1.6":
                got = await session.call(
                    m.GetCompositeScheduleRequest(
                        connector_id=1, duration=3600, charging_rate_unit=m.ChargingRateUnitType.A
                    )
                )
                limits = (
                    [p.limit for p in got.charging_schedule.charging_schedule_period] if got.charging_schedule else []
                )
                if _text(got.status) != "Accepted" or limits[:1] != [DEMO_PERIODS[0][1]]:
                    self.problems.append(f"GetCompositeSchedule: {_text(got.status)}, limits {limits}")
                return
            criterion = m.ChargingProfileCriterionType(
                charging_profile_purpose=m.ChargingProfilePurposeEnumType.TX_DEFAULT_PROFILE
            )
            got = await session.call(m.GetChargingProfilesRequest(request_id=1, charging_profile=criterion))
            if _text(got.status) != "Accepted":
                self.problems.append(f"GetChargingProfiles: the station answered {_text(got.status)}")
                return
            try:
                await asyncio.wait_for(self._reported.wait(), 10)
            except asyncio.TimeoutError:
                self.problems.append("ReportChargingProfiles: none came within 10 s")
        except (OcppError, ConnectionError) as exc:
            self.problems.append(f"smart charging: {printable(str(exc))}")
        finally:
            self._done.set()

    async def wait(self, timeout: float = 10.0) -> list[str]:
        """Wait for the step to start and end (up to ``timeout`` seconds); what went wrong."""
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except asyncio.TimeoutError:
            if not self.started:
                return [f"smart charging: not started (the CSMS accepted no boot within {timeout:g} s)"]
            return [*self.problems, f"smart charging: the step did not end within {timeout:g} s"]
        return list(self.problems)
