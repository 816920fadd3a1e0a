"""``ocppkit serve --cluster`` and ``--workers`` as real processes: two workers share one port
and both hold stations, each a node of the cluster on a real redis-server, and a Client in this
process reaches every station through the cluster."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from ocppkit import Router, v201
from ocppkit.adapters.websockets import ChargingStation
from ocppkit.cluster import Client

from ..adapters.aio import free_port, run, spawn_cli, wait_for_line


def test_serve_workers_share_the_port_and_join_the_cluster(redis_server: Any) -> None:
    port = free_port()
    serve = spawn_cli(
        "serve", "--port", str(port), "--workers", "2", "--cluster", redis_server.url, "--node", "cli", "--version",
        "2.0.1", "--max-call-rate", "0",
    )  # fmt: skip

    async def scenario() -> None:
        router = Router("2.0.1")
        router.add(v201.ClearCacheRequest, lambda r: v201.ClearCacheResponse(status="Accepted"))
        stations = [ChargingStation(f"ws://127.0.0.1:{port}/W{i}", router, versions=("2.0.1",)) for i in range(16)]
        client = Client(redis_server.url)
        try:
            for station in stations:
                await station.start()
            for station in stations:
                await station.wait_connected(10)
            for _ in range(100):
                held = await client.stations()
                if len(held) == len(stations):
                    break
                await asyncio.sleep(0.1)
            assert sorted(s.identity for s in held) == sorted(f"W{i}" for i in range(16))
            assert {s.node for s in held} == {"cli-1", "cli-2"}  # the kernel spread them over both
            for i in range(16):  # every station answers a call from outside, whichever worker holds it
                answer = await client.call(f"W{i}", v201.ClearCacheRequest(), timeout=10)
                assert answer == v201.ClearCacheResponse(status="Accepted")
        finally:
            for station in stations:
                await station.close()
            await client.close()

    try:
        wait_for_line(serve, "2 workers on port")
        for _ in range(2):
            line = wait_for_line(serve, "CSMS listening")
            assert "of the cluster at redis://127.0.0.1" in line and "worker pid" in line
        run(scenario(), timeout=90)
    finally:
        serve.send_signal(signal.SIGTERM)
        out, _ = serve.communicate(timeout=30)
    assert serve.returncode == 0, out
    assert out.count("CSMS closed properly") == 2
