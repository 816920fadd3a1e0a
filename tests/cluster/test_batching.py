"""The cluster's hot path on a real redis-server: routes and answers issued together go as one
pipeline, each with its own result; a cancelled caller cancels only its own call; scripts lost
by Redis are loaded again inside a batch; a Redis that stops answering (SIGSTOP) fails calls
within ``op_timeout`` although the hot path has no socket timeout."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
import redis.asyncio as aioredis

from ocppkit.cluster import Client, ClusterSettings, ClusterUnavailable
from tests.adapters.aio import run

from .helpers import EchoStation, dt, routers
from .nodes import start_csms
from .redisd import RedisServer

N = 20


def _url(csms: object) -> str:
    return f"ws://127.0.0.1:{csms.port}/"  # type: ignore[attr-defined]


async def _listed(client: Client, n: int) -> None:
    for _ in range(200):
        if len(await client.stations()) == n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{n} stations never listed")


def test_calls_issued_together_are_batched_and_each_gets_its_own_answer(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, node = await start_csms(redis_server.url, "csms-a", routers())
        stations = [EchoStation(_url(a), f"CP{i}") for i in range(N)]
        try:
            async with Client(redis_server.url) as client:
                await asyncio.gather(*(s.__aenter__() for s in stations))
                await _listed(client, N)
                for round_ in range(3):
                    got = await asyncio.gather(*(client.call(f"CP{i}", dt([round_, i])) for i in range(N)))
                    assert [g.data for g in got] == [{"from": f"CP{i}", "echo": [round_, i]} for i in range(N)]
                assert client._route.batches >= 3  # the routes of one gather went as pipelines
                assert node._server is not None and node._server._answer_script.batches >= 1
                assert all(s.overlaps == 0 for s in stations)
                assert [s.seen for s in stations] == [[[r, i] for r in range(3)] for i in range(N)]
        finally:
            await asyncio.gather(*(s.__aexit__() for s in stations))
            await a.close()

    run(scenario(), timeout=60)


def test_a_cancelled_caller_in_a_batch_cancels_only_its_own_call(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, _ = await start_csms(redis_server.url, "csms-a", routers())
        stations = [EchoStation(_url(a), f"CP{i}") for i in range(N)]
        try:
            async with Client(redis_server.url) as client:
                await asyncio.gather(*(s.__aenter__() for s in stations))
                await _listed(client, N)
                for victims in ({0}, {1}, {3, 7}, {0, 1, 19}):  # the one sent at once, the leader, followers
                    tasks = [asyncio.ensure_future(client.call(f"CP{i}", dt(i))) for i in range(N)]
                    await asyncio.sleep(0)  # every call has joined the batch
                    for v in victims:
                        tasks[v].cancel()
                    got = await asyncio.gather(*tasks, return_exceptions=True)
                    for i, g in enumerate(got):
                        if i in victims:
                            assert isinstance(g, asyncio.CancelledError)
                        else:
                            assert not isinstance(g, BaseException), (i, g)
                            assert g.data == {"from": f"CP{i}", "echo": i}
                # a cancelled call may still have reached its station (it was routed); the client
                # keeps working and nothing of the cancelled calls is delivered to anyone else
                got = await asyncio.gather(*(client.call(f"CP{i}", dt("after")) for i in range(N)))
                assert [g.data["echo"] for g in got] == ["after"] * N
        finally:
            await asyncio.gather(*(s.__aexit__() for s in stations))
            await a.close()

    run(scenario(), timeout=60)


def test_scripts_lost_by_redis_are_loaded_again_inside_a_batch(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        a, _ = await start_csms(redis_server.url, "csms-a", routers())
        stations = [EchoStation(_url(a), f"CP{i}") for i in range(N)]
        raw = aioredis.Redis.from_url(redis_server.url)
        try:
            async with Client(redis_server.url) as client:
                await asyncio.gather(*(s.__aenter__() for s in stations))
                await _listed(client, N)
                await client.call("CP0", dt("warm"))
                for _ in range(2):
                    await raw.script_flush()  # as after a restart: EVALSHA answers NOSCRIPT
                    got = await asyncio.gather(*(client.call(f"CP{i}", dt(i)) for i in range(N)))
                    assert [g.data["echo"] for g in got] == list(range(N))
                    assert all(s.seen.count(i) == 1 for i, s in enumerate(stations))  # sent once each
                    for s in stations:
                        s.seen.clear()
        finally:
            await raw.aclose()
            await asyncio.gather(*(s.__aexit__() for s in stations))
            await a.close()

    run(scenario(), timeout=60)


def test_a_redis_that_stops_answering_fails_calls_within_op_timeout(redis_server: RedisServer) -> None:
    settings = ClusterSettings(op_timeout=0.5)

    async def scenario() -> None:
        a, _ = await start_csms(redis_server.url, "csms-a", routers(), settings=settings)
        try:
            async with Client(redis_server.url, settings=settings) as client, EchoStation(_url(a), "CP1"):
                await _listed(client, 1)
                assert (await client.call("CP1", dt(1))).data["echo"] == 1
                assert redis_server.proc is not None
                redis_server.proc.send_signal(signal.SIGSTOP)  # a silent partition: no error, no answer
                try:
                    t0 = time.monotonic()
                    with pytest.raises(ClusterUnavailable):
                        await client.call("CP1", dt(2), timeout=10)
                    assert time.monotonic() - t0 < 0.5 + 1.0
                finally:
                    redis_server.proc.send_signal(signal.SIGCONT)

                async def answered() -> bool:
                    try:
                        return (await client.call("CP1", dt(3), timeout=2)).data["echo"] == 3
                    except (ClusterUnavailable, TimeoutError):
                        return False

                deadline = time.monotonic() + 15
                while not await answered():  # the node's reader and the client recover by themselves
                    assert time.monotonic() < deadline, "no call answered after Redis answered again"
                    await asyncio.sleep(0.2)
        finally:
            await a.close()

    run(scenario(), timeout=60)
