"""A silent network partition (no packet gets through, nothing is closed) is noticed by the
station's keep-alive pings in bounded time, and the station reconnects once the network heals.
Through the test's TCP proxy (tests/outbox_e2e/proxy.py) over loopback sockets."""

from __future__ import annotations

import asyncio

from ocppkit.adapters.asyncio import SessionOptions
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, CSMSServer, RetryBackOff

from ..adapters.aio import run
from .proxy import PartitionProxy


def test_partition_is_noticed_within_the_ping_bounds() -> None:
    """The station side of a silent partition: found dead within ``ping_interval`` plus twice
    ``ping_timeout`` (the ping's wait, then a closing handshake bounded by it), not after
    websockets' default 10 s close timeout on top."""

    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), ping_interval=None)
        await csms.start("127.0.0.1", 0)
        proxy = PartitionProxy(csms.port)
        station = ChargingStation(
            f"ws://127.0.0.1:{await proxy.start()}/CS-P",
            versions=("2.0.1",),
            options=SessionOptions(ping_interval=0.5, ping_timeout=1.0),
            reconnect=RetryBackOff(wait_minimum=0.1, random_range=0.1, repeat_times=1),
        )
        await station.start()
        try:
            await station.wait_connected(10)
            loop = asyncio.get_running_loop()
            began = loop.time()
            proxy.partition()
            while station.session is not None:
                assert loop.time() - began < 9.0, "the partition was not noticed in time"
                await asyncio.sleep(0.05)
            proxy.heal()
            await station.wait_connected(10)
            assert station.connections == 2
        finally:
            await station.close()
            await proxy.close()
            await csms.close()

    run(scenario(), 30)
