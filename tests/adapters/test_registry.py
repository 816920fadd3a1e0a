"""Calling stations from anywhere in one process (issue 13): ``wait_for`` timeouts, each error
of ``csms.call``, and ``csms.blocking()`` from twenty threads at once and after the loop has
stopped. Over real loopback WebSockets (calls, ``wait_for`` and one blocking thread on every
transport: tests/conformance/)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

import ocppkit
from ocppkit import CallErrorResponse, CallTimeout, ErrorCode, v16, v201
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.registry import StationNotConnected, VersionMismatch
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from tests.adapters.aio import run


def station_router(release: asyncio.Event | None = None) -> ocppkit.Router:
    """A 2.0.1 station: ClearCache accepted, DataTransfer echoes its data, GetLocalListVersion
    answers only once ``release`` is set."""
    r = ocppkit.Router("2.0.1")
    r.add(v201.ClearCacheRequest, lambda req: v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED))
    r.add(
        v201.DataTransferRequest,
        lambda req: v201.DataTransferResponse(status=v201.DataTransferStatusEnumType.ACCEPTED, data=req.data),
    )

    async def local_list(req: v201.GetLocalListVersionRequest) -> v201.GetLocalListVersionResponse:
        assert release is not None
        await release.wait()
        return v201.GetLocalListVersionResponse(version_number=7)

    r.add(v201.GetLocalListVersionRequest, local_list)
    return r


def test_wait_for_times_out_with_a_clear_error_and_checks_its_timeout() -> None:
    async def scenario() -> None:
        async with CSMSServer(csms_router("2.0.1")) as csms:
            await csms.start("127.0.0.1", 0)
            t0 = asyncio.get_running_loop().time()
            with pytest.raises(asyncio.TimeoutError, match=r"'NOPE' not connected within 0.2 s"):
                await csms.wait_for("NOPE", timeout=0.2)
            assert 0.15 < asyncio.get_running_loop().time() - t0 < 2
            with pytest.raises(asyncio.TimeoutError, match="not connected and booted"):
                await csms.wait_for("NOPE", booted=True, timeout=0.05)
            with pytest.raises(ValueError, match=r"timeout: expected a number of seconds > 0 or None, got -1"):
                await csms.wait_for("NOPE", timeout=-1)
            assert not csms._registry._waiters  # nothing left behind
            # A waiter still waiting when the server closes is told so.
            pending = asyncio.ensure_future(csms.wait_for("NOPE"))
            await asyncio.sleep(0)
        with pytest.raises(StationNotConnected, match="the server closed"):
            await pending

    run(scenario())


# ------------------------------------------------------------------ errors


def test_each_error_of_csms_call() -> None:
    frames: list[tuple[str, str, bytes]] = []

    async def scenario() -> None:
        release = asyncio.Event()
        csms = CSMSServer(csms_router("2.0.1"), call_timeout=0.5, on_frame=lambda *f: frames.append(f))
        async with csms:
            await csms.start("127.0.0.1", 0)
            # Not connected: nothing is sent; the identity is escaped in the message.
            with pytest.raises(StationNotConnected) as no:
                await csms.call("CS\x1b[31m", v201.ClearCacheRequest())
            assert no.value.identity == "CS\x1b[31m"
            assert "\x1b" not in str(no.value) and "CS\\x1b[31m" in str(no.value)
            assert isinstance(no.value, ConnectionError)

            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/CS3", station_router(release)):
                await csms.wait_for("CS3", timeout=5)
                # A call error: the station has no handler for Reset.
                with pytest.raises(CallErrorResponse) as ce:
                    await csms.call("CS3", v201.ResetRequest(type=v201.ResetEnumType.IMMEDIATE))
                assert ce.value.error_code is ErrorCode.NOT_SUPPORTED
                # The timeout of this call expires before the answer.
                t0 = asyncio.get_running_loop().time()
                with pytest.raises(CallTimeout) as to:
                    await csms.call("CS3", v201.GetLocalListVersionRequest(), timeout=0.1)
                assert asyncio.get_running_loop().time() - t0 < 0.45
                assert isinstance(to.value, TimeoutError)
                assert to.value.action == "GetLocalListVersion" and to.value.details["timeout"] == 0.1
                assert "within 0.1 s" in str(to.value)
                # The session's call_timeout (0.5 s) when no timeout is given.
                with pytest.raises(CallTimeout) as to2:
                    await csms.call("CS3", v201.GetLocalListVersionRequest())
                assert to2.value.unique_id and "before the call timeout" in str(to2.value)
                release.set()
                # A request of another version: refused before anything is sent.
                sent = sum(1 for f in frames if f[1] == "out")
                with pytest.raises(VersionMismatch) as vm:
                    await csms.call("CS3", v16.ClearCacheRequest())
                assert isinstance(vm.value, TypeError)
                assert (vm.value.request_version, vm.value.station_version) == ("1.6", "2.0.1")
                assert "OCPP 2.0.1" in str(vm.value) and "1.6 ClearCacheRequest" in str(vm.value)
                # Not a request at all.
                with pytest.raises(TypeError, match="expected a generated <Action>Request, got ClearCacheResponse"):
                    await csms.call("CS3", v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED))  # type: ignore[arg-type]
                with pytest.raises(ValueError, match="timeout: expected"):
                    await csms.call("CS3", v201.ClearCacheRequest(), timeout=0)
                assert sum(1 for f in frames if f[1] == "out") == sent
                # The connection is fine after all that.
                resp = await csms.call("CS3", v201.ClearCacheRequest(), timeout=5)
                assert resp.status is v201.ClearCacheStatusEnumType.ACCEPTED

    run(scenario())


def test_twenty_threads_call_one_station_at_once_and_each_gets_its_own_answer() -> None:
    answers: dict[int, Any] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def worker(bridge: Any, n: int) -> None:
        try:
            start.wait(10)
            answers[n] = bridge.call("CS6", v201.DataTransferRequest(vendor_id="acme", data=n), timeout=10)
        except BaseException as exc:  # reported below
            errors.append(exc)

    async def scenario() -> None:
        frames: list[bytes] = []
        async with CSMSServer(
            csms_router("2.0.1"), on_frame=lambda i, d, b: frames.append(b) if d == "out" else None
        ) as csms:
            await csms.start("127.0.0.1", 0)
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/CS6", station_router()):
                await csms.wait_for("CS6", timeout=5)
                bridge = csms.blocking()
                threads = [threading.Thread(target=worker, args=(bridge, n)) for n in range(20)]
                for t in threads:
                    t.start()
                for t in threads:
                    await asyncio.to_thread(t.join, 20)
        calls = [json.loads(f) for f in frames]
        assert len(calls) == 20 and all(c[0] == 2 and c[2] == "DataTransfer" for c in calls)

    run(scenario(), timeout=40)
    assert errors == []
    assert sorted(answers) == list(range(20))
    assert all(isinstance(a, v201.DataTransferResponse) and a.data == n for n, a in answers.items())


def test_blocking_refuses_once_the_loop_has_stopped() -> None:
    async def scenario() -> Any:
        async with CSMSServer(csms_router("2.0.1")) as csms:
            await csms.start("127.0.0.1", 0)
            return csms.blocking()

    bridge = run(scenario())
    with pytest.raises(RuntimeError, match="event loop is not running"):
        bridge.stations()
