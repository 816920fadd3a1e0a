"""The station registry's events and extension points (issue 13): connection events in order
for two subscribers and a slow, bounded one; ``disconnect()``; listeners isolated like hooks;
and a ClusterLink (a real class implementing the protocol, recording what it is asked) that
``csms.call`` delegates to for identities not held here. Over real loopback WebSockets."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ocppkit import Request, Response, v201
from ocppkit.adapters.asyncio import Session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.registry import ClusterLink, ConnectionEvent, StationNotConnected
from ocppkit.adapters.websockets import CSMSServer
from ocppkit.events import CallReceived
from tests.adapters.aio import free_port, run, until

SUBPROTOCOL: Any = ["ocpp2.0.1"]


def boot(uid: str) -> str:
    return json.dumps(
        [2, uid, "BootNotification", {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"}]
    )


async def booted_station(port: int, identity: str) -> ClientConnection:
    """A raw 2.0.1 station that has connected and had its boot accepted."""
    ws = await connect(f"ws://127.0.0.1:{port}/{identity}", subprotocols=SUBPROTOCOL)
    await ws.send(boot("b"))
    answer = json.loads(await ws.recv())
    assert answer[:2] == [3, "b"] and answer[2]["status"] == "Accepted"
    return ws


async def collect(events: Any, into: list[ConnectionEvent]) -> None:
    async for event in events:
        into.append(event)


def test_events_in_order_for_two_subscribers_and_a_slow_bounded_one(caplog: pytest.LogCaptureFixture) -> None:
    fast: list[ConnectionEvent] = []
    other: list[ConnectionEvent] = []
    slow_read: list[ConnectionEvent] = []

    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), node="n1", max_event_backlog=3)
        slow = csms.events()  # subscribed before start: gets everything from now on, keeps 3
        await csms.start("127.0.0.1", 0)
        readers = [
            asyncio.ensure_future(collect(csms.events(), fast)),
            asyncio.ensure_future(collect(csms.events(), other)),
        ]
        await asyncio.sleep(0)
        first = await booted_station(csms.port, "CS1")
        await until(lambda: [e.kind for e in fast] == ["connected", "booted"])
        second = await booted_station(csms.port, "CS1")  # takes over
        await until(lambda: len(fast) == 5)
        with pytest.raises(ConnectionClosed):
            await first.recv()  # the old connection was aborted
        assert await csms.disconnect("CS1", code=4000, reason="moved to another node") is True
        with pytest.raises(ConnectionClosed):
            await second.recv()
        assert second.close_code == 4000 and second.close_reason == "moved to another node"
        await csms.close()
        await asyncio.wait_for(asyncio.gather(*readers), 5)  # the iterations end with the server
        async for event in slow:  # only now does the slow one read
            slow_read.append(event)
        assert slow.dropped == 3

    with caplog.at_level(logging.WARNING, logger="ocppkit"):
        run(scenario())
    kinds = ["connected", "booted", "replaced", "connected", "booted", "disconnected"]
    assert [e.kind for e in fast] == kinds and fast == other
    assert [e.kind for e in slow_read] == kinds[-3:] and slow_read == fast[-3:]  # the OLDEST were dropped
    warned = [r for r in caplog.records if "reads too slowly" in r.getMessage()]
    assert len(warned) == 1  # once, not per event
    connected1, booted1, replaced, connected2, booted2, gone = fast
    assert connected1.station.boot_state == "UNKNOWN" and booted1.station.boot_state == "ACCEPTED"
    assert replaced.station == booted1.station and replaced.reason == "replaced by a new connection"
    assert (
        connected2.station.since >= connected1.station.since
        and connected2.station.remote_address != replaced.station.remote_address
    )
    assert gone.station == booted2.station and gone.reason == "moved to another node"
    assert all(e.station.identity == "CS1" and e.station.node == "n1" for e in fast)
    assert [e.at for e in fast] == sorted(e.at for e in fast)
    assert all(e.reason == "" for e in (connected1, booted1, connected2, booted2))


def test_events_unsubscribe_with_close_and_async_with() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1")) as csms:
            await csms.start("127.0.0.1", 0)
            async with csms.events() as events:
                ws = await booted_station(csms.port, "CS4")
                first = await asyncio.wait_for(events.__anext__(), 5)
                assert first.kind == "connected"
            assert [e async for e in events] == []  # closed: the unread "booted" is dropped
            assert len(csms._registry._subscribers) == 0
            await ws.close()

    run(scenario())


# ------------------------------------------------------------------ listeners


def test_listeners_see_every_event_and_are_isolated(caplog: pytest.LogCaptureFixture) -> None:
    user: list[str] = []
    good: list[tuple[str, str]] = []

    def on_event(session: Session, event: Any) -> None:
        user.append(type(event).__name__)

    def broken(session: Session, event: Any) -> None:
        raise RuntimeError("bug in a listener")

    def listener(session: Session, event: Any) -> None:
        if isinstance(event, CallReceived):
            good.append((session.identity, event.action))

    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1"), on_event=on_event) as csms:
            await csms.start("127.0.0.1", 0)
            csms.add_listener(broken)
            csms.add_listener(listener)
            ws = await booted_station(csms.port, "CS5")  # answered although a listener raises
            await ws.send('[2,"h1","Heartbeat",{}]')
            assert json.loads(await ws.recv())[:2] == [3, "h1"]
            csms.remove_listener(listener)
            await ws.send('[2,"h2","Heartbeat",{}]')
            assert json.loads(await ws.recv())[:2] == [3, "h2"]
            with pytest.raises(ValueError):
                csms.remove_listener(listener)
            await ws.close()

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        run(scenario())
    assert good == [("CS5", "BootNotification"), ("CS5", "Heartbeat")]
    assert user == ["CallReceived"] * 3  # the user's on_event still gets everything
    failed = [r for r in caplog.records if "the listener" in r.getMessage()]
    assert len(failed) == 3 and all(r.getMessage().startswith("CS5: the listener") for r in failed)
    assert all("broken" in r.getMessage() for r in failed)


# ------------------------------------------------------------------ a cluster link


class RecordingLink:
    """A ClusterLink that reaches one 'remote' station, REMOTE, and records everything."""

    def __init__(self, fail_start: bool = False) -> None:
        self.fail_start = fail_start
        self.started: CSMSServer | None = None
        self.calls: list[tuple[str, Request[Any], float | None]] = []
        self.seen: list[ConnectionEvent] = []
        self.sessions_at_close: list[str] | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, csms: CSMSServer) -> None:
        if self.fail_start:
            raise OSError("redis is down")
        assert csms.port > 0  # already listening
        self.started = csms
        self._reader = asyncio.ensure_future(collect(csms.events(), self.seen))

    async def call(self, identity: str, request: Request[Any], timeout: float | None) -> Any:
        self.calls.append((identity, request, timeout))
        if identity != "REMOTE":
            raise StationNotConnected(identity, "on no node")
        return v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.REJECTED)

    async def close(self) -> None:
        assert self.started is not None
        self.sessions_at_close = list(self.started.sessions)  # the stations are still connected
        if self._reader is not None:
            self._reader.cancel()


def test_csms_call_delegates_identities_not_held_here_to_the_cluster_link() -> None:
    link = RecordingLink()
    assert isinstance(link, ClusterLink)

    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), node="csms-a", cluster=link)
        await csms.start("127.0.0.1", 0)
        assert link.started is csms
        ws = await booted_station(csms.port, "LOCAL")
        ws_task = asyncio.ensure_future(ws.recv())  # the CSMS's call to LOCAL
        local_call = asyncio.ensure_future(csms.call("LOCAL", v201.ClearCacheRequest(), timeout=5))
        frame = json.loads(await asyncio.wait_for(ws_task, 5))
        assert frame[2] == "ClearCache"
        await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
        local: Response = await local_call
        remote: Response = await csms.call("REMOTE", v201.ClearCacheRequest(), timeout=2.5)
        assert isinstance(local, v201.ClearCacheResponse) and local.status is v201.ClearCacheStatusEnumType.ACCEPTED
        assert isinstance(remote, v201.ClearCacheResponse) and remote.status is v201.ClearCacheStatusEnumType.REJECTED
        assert [(i, type(r).__name__, t) for i, r, t in link.calls] == [("REMOTE", "ClearCacheRequest", 2.5)]
        with pytest.raises(StationNotConnected, match="on no node"):
            await csms.call("GHOST", v201.ClearCacheRequest())
        with pytest.raises(StationNotConnected, match="not on node csms-a"):
            await csms.call_local("REMOTE", v201.ClearCacheRequest())
        assert len(link.calls) == 2  # call_local never asks the cluster
        await until(lambda: [e.kind for e in link.seen] == ["connected", "booted"])
        await csms.close()
        assert link.sessions_at_close == ["LOCAL"]  # closed first, before the stations

    run(scenario())


def test_a_cluster_link_that_fails_to_start_leaves_the_server_closed() -> None:
    link = RecordingLink(fail_start=True)

    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), cluster=link)
        port = free_port()
        with pytest.raises(OSError, match="redis is down"):
            await csms.start("127.0.0.1", port)
        with pytest.raises(OSError):
            await connect(f"ws://127.0.0.1:{port}/X", subprotocols=SUBPROTOCOL, open_timeout=2)
        assert link.sessions_at_close is None  # never started, so never closed

    run(scenario())


def test_bad_constructor_arguments_are_named() -> None:
    with pytest.raises(TypeError, match=r"cluster: expected a ClusterLink .* got int"):
        CSMSServer(csms_router("2.0.1"), cluster=6379)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cluster: a cluster URL needs node="):
        CSMSServer(csms_router("2.0.1"), cluster="redis://127.0.0.1:6379/0")
    with pytest.raises(ValueError, match="node: expected a non-empty string or None, got ''"):
        CSMSServer(csms_router("2.0.1"), node="")
    with pytest.raises(ValueError, match="max_event_backlog: expected an int >= 1, got 0"):
        CSMSServer(csms_router("2.0.1"), max_event_backlog=0)
