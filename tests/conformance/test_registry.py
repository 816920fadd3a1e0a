"""Every transport: the station registry across handshakes (the version bound anew at each)
and ``csms.blocking()`` from another thread, over real loopback sockets."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

import ocppkit
from ocppkit import v16, v201
from ocppkit.adapters.csms import CSMS
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.registry import StationNotConnected, VersionMismatch
from ocppkit.adapters.websockets import ChargingStation
from tests.adapters.aio import until

from .conftest import Harness
from .peers import boot201, station_router

BOOT201 = boot201()


def test_the_version_is_bound_anew_at_every_handshake(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve({"2.0.1": csms_router("2.0.1"), "1.6": csms_router("1.6")}) as (csms, base):
            url = f"{base}/CS4"
            async with ChargingStation(url, station_router(), versions=("2.0.1",)):
                await csms.wait_for("CS4", timeout=5)
                assert csms.station("CS4").version == "2.0.1"
                resp = await csms.call("CS4", v201.ClearCacheRequest())
                assert isinstance(resp, v201.ClearCacheResponse)
            await until(lambda: csms.station("CS4") is None)
            r16 = ocppkit.Router("1.6")
            r16.add(v16.ClearCacheRequest, lambda req: v16.ClearCacheResponse(status=v16.ClearCacheStatus.REJECTED))
            async with ChargingStation(url, r16, versions=("1.6",)):
                info = await csms.wait_for("CS4", timeout=5)
                assert info.version == "1.6"
                with pytest.raises(VersionMismatch, match=r"connected with OCPP 1.6: a 2.0.1 ClearCacheRequest"):
                    await csms.call("CS4", v201.ClearCacheRequest())
                resp16 = await csms.call("CS4", v16.ClearCacheRequest())
                assert isinstance(resp16, v16.ClearCacheResponse) and resp16.status is v16.ClearCacheStatus.REJECTED

    transport.run(scenario())


# ------------------------------------------------------------------ the blocking bridge


def test_blocking_calls_from_a_thread_wait_for_and_list_stations(transport: Harness) -> None:
    results: dict[str, Any] = {}

    def worker(csms: CSMS) -> None:  # plain synchronous code, in its own thread
        bridge = csms.blocking()
        results["info"] = bridge.wait_for("CS5", booted=True, timeout=10)
        results["stations"] = bridge.stations()
        results["station"] = bridge.station("CS5")
        results["resp"] = bridge.call("CS5", v201.DataTransferRequest(vendor_id="acme", data="hello"))
        try:
            bridge.call("OTHER", v201.ClearCacheRequest())
        except StationNotConnected as exc:
            results["error"] = exc

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="start the server first"):
            CSMS(csms_router("2.0.1")).blocking()
        async with transport.serve(csms_router("2.0.1")) as (csms, url):
            thread = threading.Thread(target=worker, args=(csms,))
            thread.start()  # before the station connects: it waits for it
            async with ChargingStation(f"{url}/CS5", station_router()) as cs:
                await cs.call(BOOT201)
                await asyncio.to_thread(thread.join, 10)
            assert not thread.is_alive()
            # From the loop's own thread it would deadlock: refused.
            with pytest.raises(RuntimeError, match="thread running the server's event loop"):
                csms.blocking().stations()

    transport.run(scenario())
    assert results["info"].boot_state == "ACCEPTED"
    assert [s.identity for s in results["stations"]] == ["CS5"] and results["station"].identity == "CS5"
    assert isinstance(results["resp"], v201.DataTransferResponse) and results["resp"].data == "hello"
    assert isinstance(results["error"], StationNotConnected) and results["error"].identity == "OTHER"
