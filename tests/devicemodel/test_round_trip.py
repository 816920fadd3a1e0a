"""The whole report round trip over loopback WebSockets: our station's DeviceModel (seeded from
the example configuration, served by ``bind_station``) asked for a FullInventory by our CSMS's
MirrorBook; the mirror equals the station's model, in several NotifyReport parts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ocppkit import Router
from ocppkit.adapters.devicemodel import bind_station
from ocppkit.adapters.devicemodel_csms import MirrorBook, fetch_report
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from ocppkit.devicemodel import Component, Definition, DeviceModel, MemoryStore
from ocppkit.devicemodel.config import load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "devicemodel"


def _definitions_of(model: DeviceModel) -> list[Definition]:
    return [
        Definition(c, s, {a: model.get(c, s.name, a, instance=s.instance) for a in s.attributes})
        for c, s in model.variables()
    ]


@pytest.mark.parametrize(("version", "config"), [("2.0.1", "station-201.toml"), ("2.1", "station-21.toml")])
def test_a_full_inventory_makes_the_mirror_equal_to_the_station_model(version: str, config: str) -> None:
    model = DeviceModel(version, MemoryStore(), load_config(EXAMPLES / config, version))
    model.set(Component("DeviceDataCtrlr"), "ItemsPerMessage", "7", instance="GetReport")  # several parts
    parts: list[Any] = []

    async def scenario() -> None:
        router = Router(version)
        book = MirrorBook()
        book.register(router)
        async with CSMSServer(router, versions=[version], ping_interval=None) as csms:
            await csms.start("127.0.0.1", 0)

            def seen(identity: str, direction: str, data: bytes) -> None:
                if direction == "out" and b'"NotifyReport"' in data:
                    parts.append(data)

            station = ChargingStation(
                f"ws://127.0.0.1:{csms.port}/RT-1",
                Router(version),
                versions=[version],
                ping_interval=None,
                on_frame=seen,
            )
            bind_station(station, model)
            async with station:
                await csms.wait_for("RT-1", timeout=10)
                mirror = await fetch_report(csms, "RT-1", timeout=20)
                assert not mirror.diff(_definitions_of(model)), mirror.diff(_definitions_of(model))
                assert len(list(mirror)) == len(model.variables())

    asyncio.run(asyncio.wait_for(scenario(), 60))
    assert len(parts) == -(-len(model.variables()) // 7)  # ItemsPerMessage[GetReport] per part
