"""Every transport: calls both ways (typed, from handlers and from tasks that are no handlers),
the "booted" event (``csms.wait_for(booted=True)``), ``on_connect`` / ``on_disconnect``, a call
timeout, ``csms.disconnect(code, reason)``, a station closing itself, the CSMS's close closing
every station, and pings answered; over real loopback sockets."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import pytest

import ocppkit
from ocppkit import v201
from ocppkit.adapters.asyncio import CallErrorResponse, CallTimeout, Session, current_session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.registry import ConnectionEvent, StationInfo, StationNotConnected
from ocppkit.adapters.websockets import ChargingStation
from tests.adapters.aio import until

from .conftest import Harness
from .peers import NOW, boot201, call, closed_with, open_raw, station_router

BOOT = json.dumps(
    [2, "b", "BootNotification", {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"}]
)


def pending_then_accepted() -> ocppkit.Router:
    """The first BootNotification of each station is answered Pending, later ones Accepted."""
    r = ocppkit.Router("2.0.1")
    r.add(v201.HeartbeatRequest, lambda req: v201.HeartbeatResponse(current_time=dt.datetime.now(dt.timezone.utc)))
    seen: set[str] = set()

    def boot(req: v201.BootNotificationRequest) -> v201.BootNotificationResponse:
        first = current_session().identity not in seen
        seen.add(current_session().identity)
        status = v201.RegistrationStatusEnumType.PENDING if first else v201.RegistrationStatusEnumType.ACCEPTED
        return v201.BootNotificationResponse(current_time=dt.datetime.now(dt.timezone.utc), interval=1, status=status)

    r.add(v201.BootNotificationRequest, boot)
    return r


def test_calls_both_ways_typed_from_handlers_and_from_any_task(transport: Harness) -> None:
    async def scenario() -> None:
        router = ocppkit.Router()

        @router.on(v201.HeartbeatRequest)
        async def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            await asyncio.sleep(0)
            assert current_session().identity == "CS1"
            return v201.HeartbeatResponse(current_time=NOW)

        async with transport.serve(router, versions=("2.0.1",), node="csms-a") as (csms, url):
            before = time.time()
            async with ChargingStation(f"{url}/CS1", station_router(), versions=["2.0.1"]) as cs:
                assert (await cs.call(v201.HeartbeatRequest())).current_time == NOW  # station -> CSMS
                with pytest.raises(CallErrorResponse) as err:  # no handler for BootNotification here
                    await cs.call(boot201())
                assert err.value.code == "NotSupported"

                async def business_logic() -> v201.ClearCacheResponse:  # another task, not a handler
                    response: v201.ClearCacheResponse = await csms.call("CS1", v201.ClearCacheRequest())
                    return response

                resp = await asyncio.get_running_loop().create_task(business_logic())  # CSMS -> station
                assert (
                    isinstance(resp, v201.ClearCacheResponse) and resp.status is v201.ClearCacheStatusEnumType.ACCEPTED
                )
                echoed = await csms.sessions["CS1"].call(v201.DataTransferRequest(vendor_id="acme", data={"n": 1}))
                assert echoed.data == {"n": 1}
                [info] = csms.stations()
                assert isinstance(info, StationInfo) and info == csms.station("CS1")
                assert (info.identity, info.version, info.node) == ("CS1", "2.0.1", "csms-a")
                assert before <= info.since <= time.time()
                assert info.remote_address is not None and info.remote_address.startswith("127.0.0.1:")
                assert cs.session is not None
                assert int(info.remote_address.rsplit(":", 1)[1]) == cs.session.transport.ws.local_address[1]  # type: ignore[attr-defined]
            await until(lambda: not csms.stations())
            assert csms.station("CS1") is None

    transport.run(scenario())


def test_wait_for_before_the_station_connects_and_booted_only_once_a_late_boot_is_accepted(
    transport: Harness,
) -> None:
    async def scenario() -> None:
        async with transport.serve(pending_then_accepted(), versions=("2.0.1",)) as (csms, url):
            connected = asyncio.ensure_future(csms.wait_for("LATE", timeout=10))
            booted = asyncio.ensure_future(csms.wait_for("LATE", booted=True, timeout=10))
            await asyncio.sleep(0.05)
            assert not connected.done() and csms.station("LATE") is None
            ws = await open_raw(f"{url}/LATE")
            assert (await asyncio.wait_for(connected, 5)).boot_state == "UNKNOWN"
            assert (await call(ws, '[2,"h1","Heartbeat",{}]'))[:2] == [3, "h1"]
            assert (await call(ws, BOOT))[2]["status"] == "Pending"
            await asyncio.sleep(0.05)
            assert not booted.done() and csms.station("LATE").boot_state == "PENDING"
            assert (await call(ws, BOOT))[2]["status"] == "Accepted"
            info = await asyncio.wait_for(booted, 5)
            assert info.boot_state == "ACCEPTED" and info.identity == "LATE"
            assert (await csms.wait_for("LATE", booted=True, timeout=0.01)).boot_state == "ACCEPTED"  # at once
            await ws.close()

    transport.run(scenario())


def test_on_connect_runs_before_the_first_message_is_read(transport: Harness) -> None:
    log: list[str] = []

    async def scenario() -> None:
        router = ocppkit.Router()

        @router.on(v201.HeartbeatRequest)
        def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            log.append("handler")
            return v201.HeartbeatResponse(current_time=NOW)

        sessions: dict[str, Session] = {}

        async def on_connect(session: Session) -> None:
            log.append(f"on_connect {session.identity} in sessions={session.identity in sessions}")
            await asyncio.sleep(0.3)  # the station's Heartbeat is already on its way
            log.append("on_connect done")

        async with transport.serve(router, versions=("2.0.1",), on_connect=on_connect) as (csms, url):
            sessions = csms.sessions
            async with ChargingStation(f"{url}/CS1", versions=["2.0.1"]) as st:
                assert (await st.call(v201.HeartbeatRequest())).current_time == NOW

    transport.run(scenario())
    assert log == ["on_connect CS1 in sessions=True", "on_connect done", "handler"]


def test_on_disconnect_for_a_close_a_replacement_and_too_many_bad_messages(transport: Harness) -> None:
    async def scenario() -> None:
        gone: list[tuple[str, str, bool]] = []
        sessions: dict[str, Session] = {}

        async def on_disconnect(session: Session) -> None:
            await asyncio.sleep(0)  # may be a coroutine
            gone.append((session.identity, session.close_reason, sessions.get(session.identity) is session))

        kwargs: dict[str, Any] = {"versions": ("2.0.1",), "on_disconnect": on_disconnect, "max_bad_messages": 2}
        async with transport.serve(csms_router("2.0.1"), **kwargs) as (csms, url):
            sessions = csms.sessions
            async with ChargingStation(f"{url}/A", versions=["2.0.1"]) as st:
                await st.call(v201.HeartbeatRequest())
            await until(lambda: len(gone) == 1)
            assert gone[0][0] == "A" and "1000" in gone[0][1] and gone[0][2] is False
            first = await open_raw(f"{url}/B")
            await until(lambda: "B" in csms.sessions)
            old = csms.sessions["B"]
            second = await open_raw(f"{url}/B")  # the same identity again: replaces the first
            await until(lambda: len(gone) == 2)
            assert gone[1][0] == "B" and "replaced" in gone[1][1] and gone[1][2] is False
            assert csms.sessions["B"] is not old
            for _ in range(2):
                await second.send("not json")
            await until(lambda: len(gone) == 3)
            assert gone[2][0] == "B" and "too many invalid messages" in gone[2][1]
            assert (await closed_with(second))[0] == 1008
            await first.close()

    transport.run(scenario())


def test_a_peer_that_never_answers_times_out(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), call_timeout=0.2) as (csms, url):
            ws = await open_raw(f"{url}/MUTE")
            await until(lambda: "MUTE" in csms.sessions)
            session = csms.sessions["MUTE"]
            first = asyncio.ensure_future(session.call(v201.ClearCacheRequest()))
            second = asyncio.ensure_future(csms.call("MUTE", v201.ClearCacheRequest()))  # queued behind it
            with pytest.raises(CallTimeout):
                await first
            with pytest.raises(CallTimeout):
                await second
            frames = [json.loads(await ws.recv()) for _ in range(2)]
            assert [f[2] for f in frames] == ["ClearCache", "ClearCache"] and frames[0][1] != frames[1][1]
            await ws.close()

    transport.run(scenario())


def test_disconnect_with_a_code_and_reason_and_its_checks(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1")) as (csms, url):
            assert await csms.disconnect("NOBODY") is False
            with pytest.raises(ValueError, match=r"code: expected a WebSocket close code .* got 1006"):
                await csms.disconnect("NOBODY", code=1006)
            with pytest.raises(ValueError, match="reason: at most 123 bytes"):
                await csms.disconnect("NOBODY", reason="é" * 70)
            ended: list[str] = []
            csms.on_disconnect = lambda s: ended.append(s.close_reason)
            for identity, code, reason, expected in (
                ("CS3", 1000, "", "disconnected by the CSMS"),
                ("CS4", 4001, "maintenance", "maintenance"),
            ):
                ws = await open_raw(f"{url}/{identity}")
                assert (await call(ws, BOOT))[2]["status"] == "Accepted"
                assert await csms.disconnect(identity, code=code, reason=reason) is True
                assert csms.station(identity) is None and ended[-1] == expected  # ended when it returns
                assert await closed_with(ws) == (code, reason)

    transport.run(scenario())


async def _collect(events: Any, into: list[ConnectionEvent]) -> None:
    async for event in events:
        into.append(event)


def test_a_station_that_closes_itself_gives_disconnected_with_its_close_reason(transport: Harness) -> None:
    async def scenario() -> list[ConnectionEvent]:
        seen: list[ConnectionEvent] = []
        async with transport.serve(csms_router("2.0.1")) as (csms, url):
            reader = asyncio.ensure_future(_collect(csms.events(), seen))
            ws = await open_raw(f"{url}/CS2")
            await call(ws, '[2,"h","Heartbeat",{}]')
            await ws.close()
            await until(lambda: len(seen) == 2)
        await asyncio.wait_for(reader, 5)
        assert [e async for e in csms.events()] == []  # subscribing after close: an ended stream
        return seen

    connected, gone = transport.run(scenario())
    assert (connected.kind, gone.kind) == ("connected", "disconnected")
    assert "1000" in gone.reason  # the account of the close: code 1000


def test_closing_the_csms_closes_every_station(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1")) as (csms, url):
            stations = [await open_raw(f"{url}/CS{n}") for n in range(3)]
            await until(lambda: len(csms.sessions) == 3)
            ended: list[str] = []
            csms.on_disconnect = lambda s: ended.append(s.close_reason)
            waiting = asyncio.ensure_future(csms.wait_for("NEVER", timeout=10))
            events = csms.events()
            await csms.close()
            for ws in stations:  # 1001 going away (the reason is the transport's: websockets sends none)
                assert (await closed_with(ws))[0] == 1001
            await until(lambda: len(ended) == 3)
            # The close_reason: "the CSMS closed", or the transport's account when it closed the
            # connections while it stopped listening (websockets: "sent 1001 (going away); ...").
            assert all(r == "the CSMS closed" or "1001" in r for r in ended), ended
            assert not csms.sessions and not csms.stations()
            with pytest.raises(StationNotConnected):
                await waiting
            assert [e.kind async for e in events] == ["disconnected"] * 3  # then the stream ends

    transport.run(scenario())


def test_policy_is_passed_through_to_the_connection(transport: Harness) -> None:
    async def scenario() -> None:
        events: list[Any] = []
        kwargs: dict[str, Any] = {
            "versions": ("1.6",),
            "policy": ocppkit.Policy(naive_datetimes="utc"),
            "on_event": lambda session, ev: events.append(ev),
        }
        async with transport.serve(csms_router("1.6"), **kwargs) as (_, url):
            ws = await open_raw(f"{url}/LAX", ["ocpp1.6"])
            frame = (
                '[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
                '"status":"Available","timestamp":"2030-01-01T10:00:00"}]'
            )
            assert await call(ws, frame) == [3, "s1", {}]
            await ws.close()
        received = next(e for e in events if isinstance(e, ocppkit.CallReceived))
        stamp = received.request.timestamp  # type: ignore[attr-defined]
        assert stamp == dt.datetime(2030, 1, 1, 10, tzinfo=dt.timezone.utc)
        assert [(r.path, r.action) for r in received.relaxations] == [("$.timestamp", "assumed UTC")]

    transport.run(scenario())


def test_a_ping_is_answered_with_a_pong(transport: Harness) -> None:
    """RFC 6455 §5.5.2: a ping gets its pong, the station's keep-alive (and the connection serves on)."""

    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",)) as (_, url):
            ws = await open_raw(f"{url}/P1")
            for payload in (b"", b"keep-alive 1"):
                latency = await asyncio.wait_for(await ws.ping(payload), 5)
                assert latency >= 0
            assert (await call(ws, '[2,"h","Heartbeat",{}]'))[:2] == [3, "h"]
            await ws.close()

    transport.run(scenario())
