"""Faults of the cluster on a real redis-server: a node killed with -9, Redis stopped and started,
a station moving between nodes, a duplicate connection across nodes, a graceful drain."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ocppkit.cluster import Client, ClusterUnavailable, PresenceExpired, StationNotConnected
from tests.adapters.aio import run, until, wait_for_line

from .helpers import EchoStation, dt, routers
from .nodes import start_csms
from .redisd import RedisServer

ROOT = Path(__file__).resolve().parents[2]


def url_of(csms: object) -> str:
    return f"ws://127.0.0.1:{csms.port}/"  # type: ignore[attr-defined]


async def until_async(check: object, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while True:
        if await check():  # type: ignore[operator]
            return
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def held_by(client: Client, identity: str) -> str | None:
    return next((s.node for s in await client.stations() if s.identity == identity), None)


def test_a_station_moving_between_nodes_is_routed_to_its_new_node(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, node_a = await start_csms(redis_server.url, "csms-a", routers())
        b, node_b = await start_csms(redis_server.url, "csms-b", routers())
        try:
            async with Client(redis_server.url) as client:
                async with EchoStation(url_of(a), "CP1"):
                    await until_async(lambda: _is(client, "CP1", "csms-a"))
                    assert (await client.call("CP1", dt("on a"))).data == {"from": "CP1", "echo": "on a"}
                    first = node_a.epoch("CP1")
                # the station left a gracefully: not connected (not "expired")
                await until_async(lambda: _is(client, "CP1", None))
                with pytest.raises(StationNotConnected) as info:
                    await client.call("CP1", dt(0))
                assert not isinstance(info.value, PresenceExpired)
                async with EchoStation(url_of(b), "CP1"):
                    await until_async(lambda: _is(client, "CP1", "csms-b"))
                    assert (await client.call("CP1", dt("on b"))).data == {"from": "CP1", "echo": "on b"}
                    assert (await a.call("CP1", dt("a to b"))).data == {"from": "CP1", "echo": "a to b"}
                    second = node_b.epoch("CP1")
                    assert first is not None and second is not None and second > first
        finally:
            await a.close()
            await b.close()

    run(scenario(), 40)


async def _is(client: Client, identity: str, node: str | None) -> bool:
    return await held_by(client, identity) == node


def test_a_duplicate_connection_on_another_node_makes_the_older_node_drop_its_own(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, node_a = await start_csms(redis_server.url, "csms-a", routers())
        b, node_b = await start_csms(redis_server.url, "csms-b", routers())
        try:
            async with Client(redis_server.url) as client:
                async with EchoStation(url_of(a), "CP1") as old:
                    await until_async(lambda: _is(client, "CP1", "csms-a"))
                    async with EchoStation(url_of(b), "CP1"):
                        # the newer epoch wins: a drops its connection (pub/sub takeover)
                        await until(lambda: [s.identity for s in a.stations()] == [], timeout=5)
                        assert [s.identity for s in b.stations()] == ["CP1"]
                        assert node_b.epoch("CP1") is not None and node_a.epoch("CP1") is None
                        await until_async(lambda: _is(client, "CP1", "csms-b"))
                        got = await client.call("CP1", dt("after takeover"))
                        assert got.data == {"from": "CP1", "echo": "after takeover"}
                        assert old.station.connections >= 1
        finally:
            await a.close()
            await b.close()

    run(scenario(), 40)


def test_a_node_killed_with_sigkill_expires_and_its_station_is_reached_elsewhere(
    redis_server: RedisServer,
) -> None:
    ttl = 1.5
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cluster.node_proc", redis_server.url, "csms-dead", str(ttl)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        port = int(wait_for_line(proc, "ready", 30).split()[1])

        async def scenario() -> None:
            b, _ = await start_csms(redis_server.url, "csms-b", routers())
            try:
                async with Client(redis_server.url) as client:
                    async with EchoStation(f"ws://127.0.0.1:{port}/", "CP1", delay=30) as on_dead:
                        await until_async(lambda: _is(client, "CP1", "csms-dead"))
                        assert (await client.call("CP1", dt(1))).data == {"from": "CP1", "echo": 1}
                        in_flight = asyncio.ensure_future(client.call("CP1", dt("slow", vendor="slow"), timeout=30))
                        await until(lambda: on_dead.in_flight == 1)
                        os.kill(proc.pid, signal.SIGKILL)
                        killed = time.monotonic()
                        # the call in flight fails once the node's presence expires, not at its timeout
                        with pytest.raises(PresenceExpired, match="csms-dead"):
                            await in_flight
                        assert time.monotonic() - killed < ttl + 2.5
                        # new calls fail fast with the same clear error
                        started = time.monotonic()
                        with pytest.raises(PresenceExpired, match="csms-dead") as info:
                            await client.call("CP1", dt(2))
                        assert time.monotonic() - started < 0.5
                        assert info.value.identity == "CP1" and info.value.node == "csms-dead"
                        assert await held_by(client, "CP1") is None
                    # the station reconnects to a live node: calls route there
                    async with EchoStation(url_of(b), "CP1"):
                        await until_async(lambda: _is(client, "CP1", "csms-b"))
                        assert (await client.call("CP1", dt(3))).data == {"from": "CP1", "echo": 3}
            finally:
                await b.close()

        run(scenario(), 60)
    finally:
        proc.kill()
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_redis_stopped_and_started_local_stations_are_served_and_reregistered(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, node_a = await start_csms(redis_server.url, "csms-a", routers(), presence_ttl=3.0, retry_interval=0.2)
        b, _ = await start_csms(redis_server.url, "csms-b", routers(), presence_ttl=3.0, retry_interval=0.2)
        try:
            async with Client(redis_server.url) as client:
                async with EchoStation(url_of(a), "CP1"), EchoStation(url_of(b), "CP2"):
                    await until_async(lambda: _count(client, 2))
                    assert (await client.call("CP1", dt("before"))).data == {"from": "CP1", "echo": "before"}

                    redis_server.stop()
                    # local stations keep being served
                    assert (await a.call("CP1", dt("local"))).data == {"from": "CP1", "echo": "local"}
                    # cluster calls fail with a clear error naming Redis
                    with pytest.raises(ClusterUnavailable, match="Redis at redis://127.0.0.1"):
                        await client.call("CP1", dt("down"))
                    with pytest.raises(ClusterUnavailable):
                        await a.call("CP2", dt("down"))
                    with pytest.raises(ClusterUnavailable):
                        await client.stations()
                    await until(lambda: not node_a.redis_available, timeout=5)
                    await asyncio.sleep(0.5)

                    redis_server.start()  # empty: nothing was persisted
                    # the nodes register their stations again, and serve their streams again
                    await until_async(lambda: _count(client, 2), timeout=10)
                    assert node_a.redis_available
                    assert (await client.call("CP1", dt("after"))).data == {"from": "CP1", "echo": "after"}
                    assert (await a.call("CP2", dt("a to b"))).data == {"from": "CP2", "echo": "a to b"}
        finally:
            await a.close()
            await b.close()

    run(scenario(), 60)


async def _count(client: Client, n: int) -> bool:
    try:
        return len(await client.stations()) == n
    except ClusterUnavailable:
        return False


def test_a_node_that_closes_drains_then_deregisters(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, _ = await start_csms(redis_server.url, "csms-a", routers(), drain_timeout=5)
        async with Client(redis_server.url) as client:
            async with EchoStation(url_of(a), "CP1", delay=0.5):
                await until_async(lambda: _is(client, "CP1", "csms-a"))
                in_flight = asyncio.ensure_future(client.call("CP1", dt("slow", vendor="slow")))
                await asyncio.sleep(0.2)
                await a.close()  # the call in hand finishes first
                assert (await in_flight).data == {"from": "CP1", "echo": "slow"}
                assert await client.stations() == []
                with pytest.raises(StationNotConnected) as info:
                    await client.call("CP1", dt(0))
                assert not isinstance(info.value, PresenceExpired)

    run(scenario(), 40)
