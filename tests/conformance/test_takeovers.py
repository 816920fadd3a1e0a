"""Every transport: repeated takeovers of a station's identity by an attacker that never
closes (each interrupts the station under a second, then 409 after ``max_replacements``), a
call in flight on a replaced session failing at once, and the last replacement never locking
the station out; over real loopback sockets, the attacker a raw TCP client."""

from __future__ import annotations

import asyncio
import time

import pytest

from ocppkit import Router
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, RetryBackOff
from ocppkit.v201 import ClearCacheRequest, ClearCacheResponse, HeartbeatRequest
from tests.adapters.aio import until

from .conftest import Harness

UPGRADE = (
    "GET /{identity} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
)


async def raw_takeover(url: str, identity: str) -> tuple[str, asyncio.StreamWriter]:
    """A raw TCP client: a valid upgrade of ``identity``, then nothing (no frame, no close, no
    read). Returns the HTTP status line and the writer that keeps the socket open."""
    port = int(url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(UPGRADE.format(identity=identity, port=port).encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return head.split(b"\r\n", 1)[0].decode(), writer


def test_an_attacker_that_never_closes_cannot_keep_a_station_offline(transport: Harness) -> None:
    """A good station (ocppkit ChargingStation, reconnecting, Heartbeat in a loop) and an attacker
    taking its identity again and again on profile 0, never completing a close handshake: each
    takeover interrupts the station < 1 s, and after ``max_replacements`` the attacker is refused
    (409) while the station stays connected."""

    async def scenario() -> None:
        limit = 2  # takeovers per minute of a connection that has spoken (the station's, here)
        served = transport.serve(csms_router("2.0.1"), versions=("2.0.1",), max_replacements=limit)
        csms, url = await served.__aenter__()
        station = ChargingStation(
            f"{url}/CS1",
            versions=("2.0.1",),
            reconnect=RetryBackOff(wait_minimum=0.05, random_range=0.05),
            call_timeout=5,
        )
        successes: list[float] = []
        failures: list[BaseException] = []
        stop = asyncio.Event()

        async def victim() -> None:
            while not stop.is_set():
                try:
                    await station.call(HeartbeatRequest(), connect_timeout=5)
                    successes.append(time.monotonic())
                except ConnectionError as exc:  # a call in flight when the connection was taken over
                    failures.append(exc)
                await asyncio.sleep(0.02)

        attacker_sockets: list[asyncio.StreamWriter] = []
        statuses: list[str] = []
        takeovers: list[float] = []
        await station.start()
        await station.wait_connected(5)
        loop = asyncio.create_task(victim())
        try:
            for attempt in range(limit + 1):
                connections = station.connections
                await until(lambda: len(successes) >= 3 and station.session is not None)
                taken_at = time.monotonic()
                status, writer = await raw_takeover(url, "CS1")
                attacker_sockets.append(writer)
                statuses.append(status)
                if attempt < limit:
                    assert status.startswith("HTTP/1.1 101"), status
                    takeovers.append(taken_at)
                    await until(lambda c=connections: station.connections > c, timeout=3)  # the station took it back
                    await until(lambda at=taken_at: any(t > at for t in successes), timeout=3)
                else:
                    assert status.startswith("HTTP/1.1 409"), status  # one too many: refused
            session = station.session
            count = len(successes)
            await asyncio.sleep(0.5)  # the station stays connected and served after the refusal
            assert station.session is session and len(successes) > count + 5
            assert csms.refusals == {"replacement-limit": 1}
            assert station.connections == 1 + limit  # the station's takebacks of a silent attacker are free
        finally:
            stop.set()
            await loop
            await station.close()
            for writer in attacker_sockets:
                writer.close()
            await served.__aexit__(None, None, None)

        for taken_at in takeovers:  # the gap in the station's service around each takeover
            before = max(t for t in successes if t < taken_at)
            after = min(t for t in successes if t > taken_at)
            print(f"takeover: the station was not served for {after - before:.3f} s")
            assert after - before < 1.0, f"interrupted {after - before:.2f} s"
        for exc in failures:  # the station's calls in flight fail with ConnectionError, never hang
            assert isinstance(exc, ConnectionError) and "closed" in str(exc)

    transport.run(scenario())


def test_a_call_in_flight_on_a_replaced_session_fails_with_connection_error(transport: Harness) -> None:
    """The CSMS's call to a station still awaiting its answer when the station's identity is
    taken over fails at once with ConnectionError (not at call_timeout); the old session's
    close_reason names the replacement."""
    slow = Router("2.0.1")

    async def clear_cache(req: ClearCacheRequest) -> ClearCacheResponse:
        await asyncio.sleep(30)  # never answers in time: the call is in flight at the takeover
        raise AssertionError("not reached")

    slow.add(ClearCacheRequest, clear_cache)

    async def scenario() -> None:
        served = transport.serve(csms_router("2.0.1"), versions=("2.0.1",))
        csms, url = await served.__aenter__()
        station = ChargingStation(f"{url}/CS1", slow, versions=("2.0.1",))
        writer = None
        try:
            await station.start()
            await station.wait_connected(5)
            await until(lambda: "CS1" in csms.sessions)
            old = csms.sessions["CS1"]
            pending = asyncio.create_task(old.call(ClearCacheRequest()))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            status, writer = await raw_takeover(url, "CS1")
            assert status.startswith("HTTP/1.1 101")
            with pytest.raises(ConnectionError) as failed:
                await pending
            assert time.monotonic() - started < 1.0  # at once, not at the 30 s call timeout
            assert old.close_reason == "replaced by a new connection"
            assert "closed before" in str(failed.value) and "replaced by a new connection" in str(failed.value)
        finally:
            await station.close()
            if writer is not None:
                writer.close()
            await served.__aexit__(None, None, None)

    transport.run(scenario())


def test_an_attacker_cannot_spend_the_last_replacement_to_lock_the_station_out(transport: Harness) -> None:
    async def scenario() -> None:
        limit = 4
        served = transport.serve(csms_router("2.0.1"), versions=("2.0.1",), max_replacements=limit)
        csms, url = await served.__aenter__()
        station = ChargingStation(
            f"{url}/CS1",
            versions=("2.0.1",),
            reconnect=RetryBackOff(wait_minimum=0.2, random_range=0.05),
        )
        writers: list[asyncio.StreamWriter] = []
        try:
            await station.start()
            await station.wait_connected(5)
            await station.call(HeartbeatRequest())  # the station has spoken: taking it over counts
            for _ in range(limit - 1):  # takeover, the station takes it back, then two in a row
                status, writer = await raw_takeover(url, "CS1")
                writers.append(writer)
                assert status.startswith("HTTP/1.1 101"), status
                if len(writers) == 1:
                    await until(lambda: station.connections == 2, timeout=3)
            await asyncio.sleep(1.0)  # the station's reconnection attempts
            assert station.session is not None, f"station offline: {station.last_error!r}, {csms.refusals}"
        finally:
            await station.close()
            for writer in writers:
                writer.close()
            await served.__aexit__(None, None, None)

    transport.run(scenario())
