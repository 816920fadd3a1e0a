"""Interop: a CSMS built with the ``ocpp`` package (2.1.0) asks our station, served from its
DeviceModel (``bind_station``), for GetBaseReport (NotifyReport parts, validated by the ocpp
package against its own schemas) and GetVariables/SetVariables, and a 1.6 CSMS of the package
GetConfiguration/ChangeConfiguration, over loopback WebSockets."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint as OcppChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import serve

from ocppkit import Router
from ocppkit.adapters.devicemodel import bind_station
from ocppkit.adapters.websockets import ChargingStation
from ocppkit.devicemodel import DeviceModel, MemoryStore
from tests.devicemodel.dm_station import COMM, station

from ._support import STEP_TIMEOUT, RecordingWebSocket, run, run_charge_point, within


class ReportCsms(OcppChargePoint201):
    """A 2.0.1 CSMS of the ocpp package that records the NotifyReport parts it receives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reports: list[dict[str, Any]] = []
        self.last_part = asyncio.Event()

    @on(Action201.notify_report)
    def on_notify_report(self, **kwargs: Any) -> Any:
        self.reports.append(kwargs)
        if not kwargs.get("tbc", False):
            self.last_part.set()
        return result201.NotifyReport()


def test_ocpp_package_csms_reads_and_sets_our_device_model() -> None:
    async def main() -> None:
        points: asyncio.Queue[ReportCsms] = asyncio.Queue()

        async def handler(ws: Any) -> None:
            cp = ReportCsms("KIT-DM", RecordingWebSocket(ws), response_timeout=STEP_TIMEOUT)
            points.put_nowait(cp)
            await run_charge_point(cp)

        async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"], ping_interval=None) as server:
            port = server.sockets[0].getsockname()[1]
            model = DeviceModel("2.0.1", MemoryStore(), station(report_items=5))
            st = ChargingStation(
                f"ws://127.0.0.1:{port}/KIT-DM", Router("2.0.1"), versions=["2.0.1"], ping_interval=None
            )
            binding = bind_station(st, model)
            try:
                async with st:
                    cp = await within(points.get())
                    got = await within(
                        cp.call(call201.GetBaseReport(request_id=11, report_base="FullInventory"), suppress=False)
                    )
                    assert got.status == "Accepted"
                    await within(cp.last_part.wait())
                    total = len(model.variables())
                    assert [r["seq_no"] for r in cp.reports] == list(range(-(-total // 5)))
                    assert all(r["request_id"] == 11 for r in cp.reports)
                    data = [d for r in cp.reports for d in r["report_data"]]
                    assert len(data) == total
                    hb = next(d for d in data if d["variable"]["name"] == "HeartbeatInterval")
                    assert hb["variable_attribute"] == [
                        {
                            "type": "Actual",
                            "value": "300",
                            "mutability": "ReadWrite",
                            "persistent": True,
                            "constant": False,
                        }
                    ]
                    assert hb["variable_characteristics"]["data_type"] == "integer"

                    got = await within(
                        cp.call(
                            call201.GetVariables(
                                get_variable_data=[
                                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                                    {
                                        "component": {"name": "EVSE", "evse": {"id": 1}},
                                        "variable": {"name": "Power"},
                                        "attribute_type": "MaxSet",
                                    },
                                    {"component": {"name": "Nope"}, "variable": {"name": "X"}},
                                ]
                            ),
                            suppress=False,
                        )
                    )
                    results = got.get_variable_result
                    assert [(r["attribute_status"], r.get("attribute_value")) for r in results] == [
                        ("Accepted", "300"),
                        ("Accepted", "22000"),
                        ("UnknownComponent", None),
                    ]
                    assert results[1]["component"] == {"name": "EVSE", "evse": {"id": 1}}
                    got = await within(
                        cp.call(
                            call201.SetVariables(
                                set_variable_data=[
                                    {
                                        "component": {"name": "OCPPCommCtrlr"},
                                        "variable": {"name": "HeartbeatInterval"},
                                        "attribute_value": "120",
                                    },
                                    {
                                        "component": {"name": "OCPPCommCtrlr"},
                                        "variable": {"name": "HeartbeatInterval"},
                                        "attribute_value": "x",
                                    },
                                    {
                                        "component": {"name": "SecurityCtrlr"},
                                        "variable": {"name": "SecurityProfile"},
                                        "attribute_value": "2",
                                    },
                                ]
                            ),
                            suppress=False,
                        )
                    )
                    assert [r["attribute_status"] for r in got.set_variable_result] == [
                        "Accepted",
                        "Rejected",
                        "Rejected",
                    ]
                    assert got.set_variable_result[1]["attribute_status_info"]["reason_code"] == "InvalidValue"
                    assert model.get(COMM, "HeartbeatInterval") == "120" and binding.heartbeat_interval == 120
            finally:
                await binding.close()

    run(main())


def test_ocpp_package_csms_reads_and_changes_our_16_configuration() -> None:
    from ocpp.v16 import ChargePoint as OcppChargePoint16
    from ocpp.v16 import call as call16

    from ocppkit.devicemodel import KEYS_COMPONENT, ConfigKey, Definition, VariableSpec

    async def main() -> None:
        points: asyncio.Queue[Any] = asyncio.Queue()

        async def handler(ws: Any) -> None:
            cp = OcppChargePoint16("KIT-16", RecordingWebSocket(ws), response_timeout=STEP_TIMEOUT)
            points.put_nowait(cp)
            await run_charge_point(cp)

        async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"], ping_interval=None) as server:
            port = server.sockets[0].getsockname()[1]
            defs = [
                Definition(
                    COMM, VariableSpec("HeartbeatInterval", data_type="integer", min_limit=0), {"Actual": "300"}
                ),
                Definition(
                    KEYS_COMPONENT, VariableSpec("AuthorizationKey", mutability="WriteOnly"), {"Actual": "0011"}
                ),
                Definition(
                    KEYS_COMPONENT,
                    VariableSpec("NumberOfConnectors", data_type="integer", mutability="ReadOnly"),
                    {"Actual": "2"},
                ),
            ]
            keys = [ConfigKey("HeartbeatInterval", maps_to=("OCPPCommCtrlr", "HeartbeatInterval", None))]
            model = DeviceModel("1.6", MemoryStore(), defs, keys=keys)
            st = ChargingStation(f"ws://127.0.0.1:{port}/KIT-16", Router("1.6"), versions=["1.6"], ping_interval=None)
            binding = bind_station(st, model)
            try:
                async with st:
                    cp = await within(points.get())
                    got = await within(cp.call(call16.GetConfiguration(), suppress=False))
                    assert got.configuration_key == [
                        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
                    ]
                    got = await within(cp.call(call16.GetConfiguration(key=["AuthorizationKey"]), suppress=False))
                    assert got.unknown_key == ["AuthorizationKey"]
                    for key, value, status in (
                        ("HeartbeatInterval", "90", "Accepted"),
                        ("HeartbeatInterval", "ninety", "Rejected"),
                        ("NumberOfConnectors", "3", "Rejected"),
                        ("Nope", "1", "NotSupported"),
                    ):
                        changed = await within(
                            cp.call(call16.ChangeConfiguration(key=key, value=value), suppress=False)
                        )
                        assert changed.status == status, key
                    assert model.get(COMM, "HeartbeatInterval") == "90" and binding.heartbeat_interval == 90
            finally:
                await binding.close()

    run(main())
