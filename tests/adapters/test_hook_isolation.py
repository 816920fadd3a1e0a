"""An exception raised in a station's hook (on_connect, on_frame) is logged and never ends its
connection, over real loopback WebSockets (the server's hooks on every transport:
tests/conformance/test_hooks.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ocppkit import v201
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from tests.adapters.aio import run

SUBPROTOCOL: Any = ["ocpp2.0.1"]


def failing(*args: Any) -> None:
    raise RuntimeError("bug in the hook")


def test_a_raising_station_on_connect_leaves_the_station_connected(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        try:
            async with ChargingStation(
                f"ws://127.0.0.1:{csms.port}/ST", versions=["2.0.1"], on_connect=failing, on_frame=failing
            ) as st:
                response = await st.call(v201.HeartbeatRequest())
                assert isinstance(response, v201.HeartbeatResponse)
                assert st.connections == 1 and "ST" in csms.sessions
        finally:
            await csms.close()

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert "ST: the on_connect hook failed" in messages
    assert "ST: the on_frame hook failed (out)" in messages and "ST: the on_frame hook failed (in)" in messages
