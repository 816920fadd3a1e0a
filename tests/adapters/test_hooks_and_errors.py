"""What docs/adapters.md says about the station's on_connect, wait_connected and the exceptions
of Session.call, checked over real loopback WebSockets (the server hooks, boot gating and
compression on every transport: tests/conformance/test_hooks.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.protocol import State

import ocppkit
from ocppkit import v201
from ocppkit.adapters.asyncio import Session, current_session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, CSMSServer, RetryBackOff
from tests.adapters.aio import run, until

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def boot() -> v201.BootNotificationRequest:
    return v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M", vendor_name="V"), reason=v201.BootReasonEnumType.POWER_UP
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def raw_station(csms: CSMSServer, identity: str, version: str = "2.0.1") -> Any:
    ws = await connect(f"ws://127.0.0.1:{csms.port}/{identity}", subprotocols=[f"ocpp{version}"])  # type: ignore[list-item]
    await until(lambda: identity in csms.sessions)
    return ws


# ----------------------------------------------------------------------- hooks


def test_station_on_connect_may_await_calls_and_runs_on_every_connection() -> None:
    async def scenario() -> None:
        port = free_port()
        answers: list[str] = []

        async def on_connect(session: Session) -> None:
            response = await session.call(boot())  # the session is already reading
            answers.append(response.status.value)

        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",))
        await csms.start("127.0.0.1", port)
        station = ChargingStation(
            f"ws://127.0.0.1:{port}/CS2",
            versions=["2.0.1"],
            on_connect=on_connect,
            reconnect=RetryBackOff(wait_minimum=0.05, random_range=0, repeat_times=1),
        )
        await station.start()
        try:
            await until(lambda: answers == ["Accepted"])
            await csms.sessions["CS2"].transport.close(1000, "go away")  # the station reconnects
            await until(lambda: answers == ["Accepted", "Accepted"])
            assert station.connections == 2
        finally:
            await station.close()
            await csms.close()

    run(scenario())


def test_wait_connected_times_out_then_returns_the_session() -> None:
    async def scenario() -> None:
        port = free_port()
        station = ChargingStation(
            f"ws://127.0.0.1:{port}/W1",
            versions=["2.0.1"],
            reconnect=RetryBackOff(wait_minimum=0.05, random_range=0, repeat_times=1),
        )
        await station.start()
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",))
        try:
            with pytest.raises(asyncio.TimeoutError):
                await station.wait_connected(0.3)  # nobody listens yet
            with pytest.raises(asyncio.TimeoutError):
                await station.call(v201.HeartbeatRequest(), connect_timeout=0.2)
            await csms.start("127.0.0.1", port)
            session = await station.wait_connected(5)
            assert session is station.session and session.identity == "W1"
        finally:
            await station.close()
            await csms.close()

    run(scenario())


# ----------------------------------------------------------------------- what Session.call raises


def test_session_call_raises_for_invalid_results_and_invalid_requests() -> None:
    async def scenario() -> None:
        frames: list[tuple[str, str, bytes]] = []
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), on_frame=lambda *f: frames.append(f))
        await csms.start("127.0.0.1", 0)
        try:
            ws = await raw_station(csms, "R1")
            session = csms.sessions["R1"]

            async def answer(result: str) -> Any:
                call = asyncio.ensure_future(session.call(v201.ClearCacheRequest()))
                uid = json.loads(await ws.recv())[1]
                await ws.send(result.replace("UID", uid))
                with pytest.raises(ocppkit.RemoteProtocolError) as caught:
                    await call
                return caught.value

            missing = await answer('[3,"UID",{}]')  # ClearCacheResponse requires status
            assert isinstance(missing, ocppkit.PayloadError)
            assert (missing.path, missing.rule) == ("$.status", "required")
            malformed = await answer('[3,"UID",{"status":"Accepted"},1]')
            assert type(malformed) is ocppkit.RemoteProtocolError and malformed.details["rule"] == "frame"

            sent = len(frames)
            with pytest.raises(ocppkit.LocalProtocolError) as invalid:  # getVariableData: minItems 1
                await session.call(v201.GetVariablesRequest(get_variable_data=[]))
            assert invalid.value.details == {"path": "$.getVariableData", "rule": "minItems"}
            with pytest.raises(TypeError):
                await session.call(v201.ClearCacheResponse(status="Accepted"))  # type: ignore[arg-type]
            assert len(frames) == sent  # nothing went on the wire
            await ws.close()
        finally:
            await csms.close()

    run(scenario())


def test_session_call_raises_connection_error_when_the_connection_is_gone() -> None:
    async def scenario() -> None:
        problems: list[Any] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: problems.append(context))
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        try:
            station = ChargingStation(f"ws://127.0.0.1:{csms.port}/C1", versions=["2.0.1"])
            await station.start()
            session = await station.wait_connected(5)
            await until(lambda: "C1" in csms.sessions)
            pending = asyncio.ensure_future(session.call(v201.HeartbeatRequest()))
            await asyncio.sleep(0)  # sent; the CSMS's handler answers it ...
            await pending
            # ... now the CSMS closes; call while the station's session has not noticed yet.
            closing = asyncio.ensure_future(csms.sessions["C1"].transport.close(1000, "bye"))
            ws = session.transport.ws  # type: ignore[attr-defined]
            while ws.protocol.state is State.OPEN:
                await asyncio.sleep(0)
            with pytest.raises(ConnectionError):
                await session.call(v201.HeartbeatRequest())
            await session.closed.wait()
            with pytest.raises(ConnectionError):  # and once the session has closed
                await session.call(v201.HeartbeatRequest())
            await closing
            await station.close()
        finally:
            await csms.close()
        assert problems == []  # no future left with an exception nobody retrieved

    run(scenario())


def test_a_call_waiting_for_its_answer_gets_connection_error_when_the_peer_goes() -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        try:
            ws = await raw_station(csms, "C2")
            call = asyncio.ensure_future(csms.sessions["C2"].call(v201.ClearCacheRequest()))
            await ws.recv()  # the CALL arrived; hang up instead of answering
            await ws.close()
            with pytest.raises(ConnectionError, match="closed before"):
                await call
        finally:
            await csms.close()

    run(scenario())


def test_current_session_outside_a_handler() -> None:
    async def scenario() -> None:
        seen: list[str] = []
        router = ocppkit.Router()

        async def later() -> None:
            seen.append(f"task {current_session().identity}")  # a task a handler created

        @router.on(v201.HeartbeatRequest)
        def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            seen.append(f"inline {current_session().identity}")
            asyncio.get_running_loop().create_task(later())
            return v201.HeartbeatResponse(current_time=NOW)

        csms = CSMSServer(router, versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        try:
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/S1", versions=["2.0.1"]) as st:
                await st.call(v201.HeartbeatRequest())
                await until(lambda: len(seen) == 2)
        finally:
            await csms.close()
        assert seen == ["inline S1", "task S1"]
        with pytest.raises(LookupError, match="no handler is running"):
            current_session()

    run(scenario())


def test_a_station_call_cut_off_by_a_disconnect_fails_and_is_not_sent_again() -> None:
    async def scenario() -> None:
        received: list[str] = []
        never = asyncio.Event()
        router = ocppkit.Router()

        @router.on(v201.HeartbeatRequest)
        async def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            received.append(current_session().identity)
            await never.wait()  # never answers
            return v201.HeartbeatResponse(current_time=NOW)

        csms = CSMSServer(router, versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        station = ChargingStation(
            f"ws://127.0.0.1:{csms.port}/D1",
            versions=["2.0.1"],
            reconnect=RetryBackOff(wait_minimum=0.05, random_range=0, repeat_times=1),
        )
        await station.start()
        try:
            await station.wait_connected(5)
            call = asyncio.ensure_future(station.call(v201.HeartbeatRequest()))
            await until(lambda: received == ["D1"])
            await csms.sessions["D1"].transport.close(1000, "maintenance")
            with pytest.raises(ConnectionError):
                await call
            await until(lambda: station.connections == 2 and "D1" in csms.sessions)
            await asyncio.sleep(0.2)
            assert received == ["D1"]  # the cut-off call did not go out again
        finally:
            await station.close()
            await csms.close()

    run(scenario())


def test_a_task_created_in_a_handler_calls_after_the_answer_went_out() -> None:
    # docs/migrating.md: the replacement for the ocpp package's @after.
    async def scenario() -> None:
        frames: list[tuple[str, str, bytes]] = []
        router = ocppkit.Router()

        async def after_boot(session: Session) -> None:
            await session.call(v201.ClearCacheRequest())

        @router.on(v201.BootNotificationRequest)
        def on_boot(req: v201.BootNotificationRequest) -> v201.BootNotificationResponse:
            asyncio.get_running_loop().create_task(after_boot(current_session()))
            return v201.BootNotificationResponse(
                current_time=NOW, interval=300, status=v201.RegistrationStatusEnumType.ACCEPTED
            )

        csms = CSMSServer(router, versions=("2.0.1",), on_frame=lambda *f: frames.append(f))
        await csms.start("127.0.0.1", 0)
        try:
            ws = await raw_station(csms, "T1")
            await ws.send(
                '[2,"b1","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"},"reason":"PowerUp"}]'
            )
            first, second = json.loads(await ws.recv()), json.loads(await ws.recv())
            assert first[:2] == [3, "b1"] and second[0] == 2 and second[2] == "ClearCache"
            await ws.send(json.dumps([3, second[1], {"status": "Accepted"}]))
            await until(lambda: len(frames) == 4)
            await ws.close()
        finally:
            await csms.close()
        assert [json.loads(f[2])[0] for f in frames] == [2, 3, 2, 3]

    run(scenario())
