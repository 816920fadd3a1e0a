"""The websockets adapters' own behaviour over real loopback sockets: the station's reconnects and
graceful close, the routers' checks, and the CLI (what every server transport must do is in
tests/conformance/)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trustme

import ocppkit
from ocppkit import v201
from ocppkit.adapters.asyncio import current_session
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import (
    ChargingStation,
    CSMSServer,
    RetryBackOff,
    identity_from_path,
)
from tests.adapters.aio import free_port, run, spawn_cli, wait_for_line

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


async def started(server: CSMSServer) -> CSMSServer:
    await server.start("127.0.0.1", 0)
    return server


def test_identity_from_path() -> None:
    assert identity_from_path("/ocpp/RDAM%7C123") == "RDAM|123"
    assert identity_from_path("/ocppj/RDAM%20123") == "RDAM 123"
    assert identity_from_path("/a/CS001?x=1") == "CS001"
    for bad in ("/", "/ocpp/", "/ocpp/CS1/", "/ocpp/a%3Ab", "/" + "x" * 49):
        assert identity_from_path(bad) is None


def test_retry_backoff_doubles_up_to_repeat_times() -> None:
    delays = RetryBackOff(wait_minimum=2, random_range=0, repeat_times=3).delays(random.Random(1))
    assert [next(delays) for _ in range(6)] == [2, 4, 8, 16, 16, 16]
    jittered = RetryBackOff(wait_minimum=1, random_range=0.5, repeat_times=1).delays(random.Random(7))
    first, second = next(jittered), next(jittered)
    assert 1 <= first <= 1.5 and 2 <= second <= 2.5


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ca = trustme.CA(organization_name="ocppkit test CA")
    server = ca.issue_cert("127.0.0.1", "localhost", common_name="csms.example")
    station = ca.issue_cert("serial-4711.example", common_name="SERIAL-4711", organization_name="ACME CPO")
    other = trustme.CA().issue_cert("x.example", common_name="SERIAL-4711")  # a certificate from an unknown CA
    folder = tmp_path_factory.mktemp("pki")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    server.cert_chain_pems[0].write_to_path(str(folder / "server.crt"))
    server.private_key_pem.write_to_path(str(folder / "server.key"))
    return {"ca": ca, "server": server, "station": station, "other": other, "folder": folder}


def test_station_reconnects_with_backoff_and_waits_for_pending_calls_on_close() -> None:
    async def scenario() -> None:
        port = free_port()
        router = ocppkit.Router()
        release = asyncio.Event()

        @router.on(v201.HeartbeatRequest)
        async def slow(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            await release.wait()
            return v201.HeartbeatResponse(current_time=NOW)

        station = ChargingStation(
            f"ws://127.0.0.1:{port}/CS9",
            versions=["2.0.1"],
            reconnect=RetryBackOff(wait_minimum=0.05, random_range=0.05, repeat_times=2),
        )
        await station.start()  # nobody listens yet: it keeps retrying
        await asyncio.sleep(0.3)
        assert station.connections == 0 and station.last_error is not None
        csms = CSMSServer(router, versions=("2.0.1",))
        await csms.start("127.0.0.1", port)
        await station.wait_connected(5)
        assert station.connections == 1
        await csms.close()  # the CSMS goes away ...
        csms = CSMSServer(router, versions=("2.0.1",))
        await csms.start("127.0.0.1", port)  # ... and comes back: the station reconnects
        for _ in range(200):
            if station.connections == 2 and station.session is not None:
                break
            await asyncio.sleep(0.02)
        assert station.connections == 2
        pending = asyncio.ensure_future(station.call(v201.HeartbeatRequest()))
        await asyncio.sleep(0.05)
        closing = asyncio.ensure_future(station.close(timeout=5))
        await asyncio.sleep(0.05)
        assert not pending.done()  # close waits for the pending call ...
        release.set()
        assert (await pending).current_time == NOW  # ... which completes
        await closing
        await csms.close()

    run(scenario(), timeout=30)


@pytest.mark.parametrize("version", ["1.6", "2.0.1", "2.1"])
def test_cli_demo(version: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ocppkit", "demo", "--version", version], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "session completed as expected" in out.stdout
    assert "CALL BootNotification" in out.stdout and "CALLRESULT BootNotification" in out.stdout


def test_cli_serve_and_station(pki: dict[str, Any]) -> None:
    port = free_port()
    folder: Path = pki["folder"]
    serve = spawn_cli(
        "serve",
        "--port",
        str(port),
        "--security-profile",
        "2",
        "--password",
        "sixteen-chars-pw",
        "--certfile",
        str(folder / "server.crt"),
        "--keyfile",
        str(folder / "server.key"),
    )
    try:
        wait_for_line(serve, "CSMS listening")
        for version in ("1.6", "2.0.1", "2.1"):
            station = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ocppkit",
                    "station",
                    "--url",
                    f"wss://127.0.0.1:{port}/CLI-{version}",
                    "--version",
                    version,
                    "--password",
                    "sixteen-chars-pw",
                    "--cafile",
                    str(folder / "ca.pem"),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert station.returncode == 0, station.stdout + station.stderr
            assert "session completed as expected" in station.stdout
        bad = subprocess.run(
            [
                sys.executable,
                "-m",
                "ocppkit",
                "station",
                "--url",
                f"wss://127.0.0.1:{port}/CLI-X",
                "--password",
                "wrong-password-xx",
                "--cafile",
                str(folder / "ca.pem"),
                "--connect-timeout",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert bad.returncode == 1 and "could not connect" in bad.stderr
    finally:
        serve.terminate()
        serve.wait(10)
        assert serve.stdout is not None
        serve.stdout.close()


def test_versions_without_a_router_are_refused_at_construction() -> None:
    router = csms_router("2.0.1")
    with pytest.raises(ValueError, match=r"versions: 2\.1 has no router \(routers are given for 2\.0\.1\)"):
        CSMSServer({"2.0.1": router}, versions=("2.1", "2.0.1"))
    with pytest.raises(ValueError, match="versions: '3.0' is not one of"):
        CSMSServer({"3.0": router})
    with pytest.raises(ValueError, match="routers: no version has a router"):
        CSMSServer({})
    with pytest.raises(ValueError, match="at least one"):
        CSMSServer(router, versions=())
    with pytest.raises(TypeError, match="versions: expected a sequence"):
        CSMSServer(router, versions="2.0.1")
    with pytest.raises(TypeError, match=r"routers\['2.0.1'\]: expected an ocppkit.Router"):
        CSMSServer({"2.0.1": object()})  # type: ignore[dict-item]
    # versions may narrow the routers given; one router serves its own version only.
    assert CSMSServer({"2.0.1": router, "1.6": csms_router("1.6")}, versions=["1.6"]).versions == ["1.6"]
    assert CSMSServer(router).versions == ["2.0.1"]
    with pytest.raises(ValueError, match=r"versions: 1\.6 has no router"):
        CSMSServer(router, versions=["1.6"])
    # a router without a version yet (no handler) is offered for every version
    assert CSMSServer(ocppkit.Router()).versions == ["2.1", "2.0.1", "1.6"]


def test_after_a_drop_calls_go_over_the_new_connection_never_the_dead_one() -> None:
    """The CSMS cuts the TCP connection in the middle of a call; the station reconnects, and
    call(), send() and wait_connected() use the new session at once."""

    async def scenario() -> None:
        router = ocppkit.Router()
        drops = 0

        @router.on(v201.HeartbeatRequest)
        async def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            nonlocal drops
            if drops == 0:
                drops += 1
                current_session().transport.ws.transport.abort()  # type: ignore[attr-defined]
                await asyncio.Event().wait()  # never answers
            return v201.HeartbeatResponse(current_time=NOW)

        csms = await started(CSMSServer({"2.0.1": router}))
        station = ChargingStation(
            f"ws://127.0.0.1:{csms.port}/DROP",
            versions=["2.0.1"],
            reconnect=RetryBackOff(wait_minimum=0.05, random_range=0.05, repeat_times=1),
        )
        try:
            await station.start()
            first = await station.wait_connected(5)
            with pytest.raises(ConnectionError, match="closed before"):
                await station.call(v201.HeartbeatRequest())
            assert first.closed.is_set()
            # Straight after the drop: never the dead session.
            assert (await station.call(v201.HeartbeatRequest(), connect_timeout=5)).current_time == NOW
            second = await station.wait_connected(5)
            assert second is not first and not second.closed.is_set() and station.connections == 2
        finally:
            await station.close()
            await csms.close()

    run(scenario())
