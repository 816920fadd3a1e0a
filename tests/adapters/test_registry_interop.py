"""The ``ocpp`` package's ChargePoint (2.1.0) as a station reached through ``csms.call`` from a
task that is no handler, and through ``csms.blocking()`` from a thread (issue 13), over a real
loopback WebSocket: 2.0.1 and 1.6."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.client import connect

from ocppkit import v16, v201
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer
from tests.adapters.aio import run

logging.getLogger("ocpp").setLevel(logging.CRITICAL)


class Station201(ChargePoint201):
    @on(Action201.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **kwargs: Any) -> Any:
        return result201.GetVariables(
            get_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "attribute_value": "300",
                    "component": d["component"],
                    "variable": d["variable"],
                }
                for d in get_variable_data
            ]
        )


class Station16(ChargePoint16):
    @on(Action16.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **kwargs: Any) -> Any:
        return result16.GetConfiguration(
            configuration_key=[{"key": k, "readonly": True, "value": "60"} for k in key or []]
        )


async def serve_charge_point(cp: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        await cp.start()


def test_the_ocpp_packages_charge_point_called_through_csms_call_201() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1"), node="n") as csms:
            await csms.start("127.0.0.1", 0)
            async with connect(f"ws://127.0.0.1:{csms.port}/OCPP1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                cp = Station201("OCPP1", ws)
                runner = asyncio.ensure_future(serve_charge_point(cp))
                boot = await cp.call(
                    call201.BootNotification(charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp")
                )
                assert boot.status == "Accepted"
                info = await csms.wait_for("OCPP1", booted=True, timeout=5)
                assert info.version == "2.0.1" and info.boot_state == "ACCEPTED"
                request = v201.GetVariablesRequest(
                    get_variable_data=[
                        v201.GetVariableDataType(
                            component=v201.ComponentType(name="OCPPCommCtrlr"),
                            variable=v201.VariableType(name="HeartbeatInterval"),
                        )
                    ]
                )
                resp = await csms.call("OCPP1", request, timeout=5)
                assert isinstance(resp, v201.GetVariablesResponse)
                [result] = resp.get_variable_result
                assert result.attribute_status is v201.GetVariableStatusEnumType.ACCEPTED
                assert result.attribute_value == "300" and result.variable.name == "HeartbeatInterval"
                # And from a thread, blocking.
                again = await asyncio.to_thread(csms.blocking().call, "OCPP1", request, timeout=5)
                assert again == resp
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner

    run(scenario())


def test_the_ocpp_packages_charge_point_called_through_csms_call_16() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("1.6")) as csms:
            await csms.start("127.0.0.1", 0)
            async with connect(f"ws://127.0.0.1:{csms.port}/OCPP16", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
                cp = Station16("OCPP16", ws)
                runner = asyncio.ensure_future(serve_charge_point(cp))
                boot = await cp.call(call16.BootNotification(charge_point_model="M", charge_point_vendor="V"))
                assert boot.status == "Accepted"
                await csms.wait_for("OCPP16", booted=True, timeout=5)
                resp = await csms.call("OCPP16", v16.GetConfigurationRequest(key=["HeartbeatInterval"]))
                assert isinstance(resp, v16.GetConfigurationResponse)
                assert resp.configuration_key == [v16.KeyValue(key="HeartbeatInterval", readonly=True, value="60")]
                heartbeat = await cp.call(call16.Heartbeat())
                assert dt.datetime.fromisoformat(heartbeat.current_time.replace("Z", "+00:00")).year >= 2024
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner

    run(scenario())
