"""Smart charging against the ``ocpp`` package (mobilityhouse): a CSMS built with its ChargePoint
sets, reads and clears charging profiles on our ChargingStation (StationProfiles through the
SmartCharging adapter), over real WebSockets on 127.0.0.1, for OCPP 1.6 and 2.0.1. The ocpp
package validates every message we send against its own copy of the schemas."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as OcppChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as OcppChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import serve

from ocppkit import Router
from ocppkit import smartcharging as sc
from ocppkit.adapters.smartcharging import SmartCharging
from ocppkit.adapters.websockets import SUBPROTOCOLS, ChargingStation

from ._support import STEP_TIMEOUT, RecordingWebSocket, run, run_charge_point, within

logging.getLogger("ocpp").setLevel(logging.CRITICAL)


class Csms16(OcppChargePoint16):
    pass


class Csms201(OcppChargePoint201):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reports: list[dict[str, Any]] = []

    @on(Action201.report_charging_profiles)
    def on_report(self, **kwargs: Any) -> Any:
        self.reports.append(kwargs)
        return result201.ReportChargingProfiles()


@asynccontextmanager
async def csms(version: str) -> AsyncIterator[tuple[int, asyncio.Queue[Any]]]:
    cls = Csms16 if version == "1.6" else Csms201
    charge_points: asyncio.Queue[Any] = asyncio.Queue()

    async def handler(ws: Any) -> None:
        cp = cls("SC-KIT", RecordingWebSocket(ws), response_timeout=STEP_TIMEOUT)
        charge_points.put_nowait(cp)
        await run_charge_point(cp)

    async with serve(handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOLS[version]], ping_interval=None) as server:
        yield server.sockets[0].getsockname()[1], charge_points


def z(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_an_ocpp_package_csms_drives_our_stations_profiles(version: str) -> None:
    async def main() -> None:
        limits: list[tuple[int, sc.Limit]] = []
        profiles = sc.StationProfiles(version, evses=(1,), report_size=1)
        smart = SmartCharging(profiles, on_limit=lambda e, lim, nxt: limits.append((e, lim)))
        router = Router(version)
        smart.register(router)
        start = z(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
        schedule = {
            "start_schedule": start,
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": 13.0}],
        }
        async with csms(version) as (port, charge_points):
            async with ChargingStation(
                f"ws://127.0.0.1:{port}/SC-KIT", router, versions=[version], ping_interval=None
            ) as station:
                await within(station.wait_connected(STEP_TIMEOUT))
                cp = await within(charge_points.get())
                if version == "1.6":
                    profile = {
                        "charging_profile_id": 8,
                        "stack_level": 0,
                        "charging_profile_purpose": "TxDefaultProfile",
                        "charging_profile_kind": "Absolute",
                        "charging_schedule": schedule,
                    }
                    got = await cp.call(call16.SetChargingProfile(connector_id=1, cs_charging_profiles=profile))
                    assert got.status == "Accepted"
                    comp = await cp.call(
                        call16.GetCompositeSchedule(connector_id=1, duration=900, charging_rate_unit="A")
                    )
                    assert comp.status == "Accepted" and comp.connector_id == 1
                    assert comp.charging_schedule["charging_schedule_period"] == [{"start_period": 0, "limit": 13.0}]
                    assert comp.charging_schedule["duration"] == 900
                    assert (await cp.call(call16.ClearChargingProfile(id=8))).status == "Accepted"
                    assert (await cp.call(call16.ClearChargingProfile(id=8))).status == "Unknown"
                else:
                    profile = {
                        "id": 8,
                        "stack_level": 0,
                        "charging_profile_purpose": "TxDefaultProfile",
                        "charging_profile_kind": "Absolute",
                        "charging_schedule": [{"id": 1, **schedule}],
                    }
                    got = await cp.call(call201.SetChargingProfile(evse_id=1, charging_profile=profile))
                    assert got.status == "Accepted"
                    second = {**profile, "id": 9, "stack_level": 1}
                    assert (await cp.call(call201.SetChargingProfile(evse_id=1, charging_profile=second))).status == (
                        "Accepted"
                    )
                    answer = await cp.call(call201.GetChargingProfiles(request_id=12, charging_profile={}))
                    assert answer.status == "Accepted"
                    for _ in range(200):
                        if len(cp.reports) == 2:
                            break
                        await asyncio.sleep(0.02)
                    assert [(r["request_id"], r["evse_id"], r.get("tbc")) for r in cp.reports] == [
                        (12, 1, True),
                        (12, 1, False),
                    ]
                    assert [r["charging_profile"][0]["id"] for r in cp.reports] == [8, 9]
                    assert cp.reports[0]["charging_limit_source"] == "CSO"
                    comp = await cp.call(call201.GetCompositeSchedule(duration=900, evse_id=1, charging_rate_unit="A"))
                    assert comp.status == "Accepted"
                    assert comp.schedule["charging_schedule_period"] == [{"start_period": 0, "limit": 13.0}]
                    assert comp.schedule["evse_id"] == 1
                    bad = await cp.call(call201.GetCompositeSchedule(duration=900, evse_id=4))
                    assert bad.status == "Rejected" and bad.status_info["reason_code"] == "UnknownEvse"
                    cleared = await cp.call(call201.ClearChargingProfile(charging_profile_id=8))
                    assert cleared.status == "Accepted"
                assert limits[-1][1].value == (None if version == "1.6" else 13.0)  # 2.0.1: profile 9 remains
                assert (1, sc.Limit(13.0, "A", None)) in limits
        await smart.close()

    run(main())
