"""The websockets adapters over real loopback sockets: negotiation, identity, security profiles 1-3,
reconnects, graceful close, bad peers, and the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import trustme
import websockets
from websockets.asyncio.client import connect

import ocppkit
from ocppkit import v201
from ocppkit.adapters.asyncio import CallErrorResponse, CallTimeout, current_session
from ocppkit.adapters.demo import csms_router, run_station_session
from ocppkit.adapters.websockets import (
    ChargingStation,
    CSMSServer,
    Handshake,
    RetryBackOff,
    basic_auth_header,
    identity_from_path,
)
from tests.adapters.aio import free_port, run, spawn_cli, wait_for_line

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def boot201() -> v201.BootNotificationRequest:
    return v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M", vendor_name="V"), reason=v201.BootReasonEnumType.POWER_UP
    )


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


def test_subprotocol_negotiation_follows_the_station_preference() -> None:
    async def scenario() -> None:
        csms = await started(
            CSMSServer({"2.0.1": csms_router("2.0.1"), "1.6": csms_router("1.6")}, versions=("2.0.1", "1.6"))
        )
        try:
            for offered, agreed in (
                (("1.6", "2.0.1"), "1.6"),
                (("2.1", "2.0.1"), "2.0.1"),
                (("2.0.1", "1.6"), "2.0.1"),
            ):
                async with ChargingStation(f"ws://127.0.0.1:{csms.port}/CS1", versions=offered) as st:
                    assert st.session is not None and st.session.version == agreed
                    problems = await run_station_session(st.session, agreed)
                    assert problems == []
            # No common version: the handshake completes without a subprotocol, then the server closes.
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=["ocpp2.1"]) as ws:  # type: ignore[list-item]
                assert ws.subprotocol is None
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002
            with pytest.raises(ConnectionError, match="none of our OCPP versions"):
                await ChargingStation(f"ws://127.0.0.1:{csms.port}/CS1", versions=["2.1"]).connect_once()
        finally:
            await csms.close()

    run(scenario())


def test_identity_and_authenticate_hook() -> None:
    seen: list[Handshake] = []

    def authenticate(hs: Handshake) -> bool | int:
        seen.append(hs)
        return 404 if hs.identity.startswith("UNKNOWN") else True

    async def scenario() -> None:
        csms = await started(
            CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), authenticate=authenticate, path_prefix="/ocpp/")
        )
        try:
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/ocpp/RDAM%7C123", versions=["2.0.1"]) as st:
                assert st.identity == "RDAM|123" and set(csms.sessions) == {"RDAM|123"}
                assert current_session_identity(csms, "RDAM|123") == "RDAM|123"
            for path, status in (("/ocpp/UNKNOWN-1", 404), ("/ocpp/a%3Ab", 404), ("/", 404)):
                with pytest.raises(websockets.InvalidStatus) as err:
                    async with connect(f"ws://127.0.0.1:{csms.port}{path}", subprotocols=["ocpp2.0.1"]):  # type: ignore[list-item]
                        pass
                assert err.value.response.status_code == status
            assert seen[0].subprotocols == ["ocpp2.0.1"]
        finally:
            await csms.close()

    run(scenario())


def current_session_identity(csms: CSMSServer, identity: str) -> str:
    return csms.sessions[identity].identity


def test_handlers_see_their_session_and_may_be_async() -> None:
    async def scenario() -> None:
        router = ocppkit.Router()

        @router.on(v201.HeartbeatRequest)
        async def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
            await asyncio.sleep(0)
            assert current_session().identity == "CS-A"
            return v201.HeartbeatResponse(current_time=NOW)

        csms = await started(CSMSServer(router, versions=("2.0.1",)))
        try:
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/CS-A", versions=["2.0.1"]) as st:
                assert (await st.call(v201.HeartbeatRequest())).current_time == NOW
                with pytest.raises(CallErrorResponse) as err:  # no handler for BootNotification here
                    await st.call(boot201())
                assert err.value.code == "NotSupported"
        finally:
            await csms.close()

    run(scenario())


# ----------------------------------------------------------------------- security


def test_profile_1_basic_auth() -> None:
    def authenticate(hs: Handshake) -> bool:
        return hs.password == "aB3dE5fG7hJ9kL1mN2pQ"

    async def scenario() -> None:
        csms = await started(
            CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), security_profile=1, authenticate=authenticate)
        )
        url = f"ws://127.0.0.1:{csms.port}/CS001"
        try:
            async with ChargingStation(
                url, versions=["2.0.1"], security_profile=1, password="aB3dE5fG7hJ9kL1mN2pQ"
            ) as st:
                assert (await st.call(boot201())).status == v201.RegistrationStatusEnumType.ACCEPTED
            for headers in (
                {},
                {"Authorization": basic_auth_header("CS001", "wrong-password-123")},
                {"Authorization": basic_auth_header("OTHER", "aB3dE5fG7hJ9kL1mN2pQ")},
                {"Authorization": "Basic !!!"},
            ):
                with pytest.raises(websockets.InvalidStatus) as err:
                    async with connect(url, subprotocols=["ocpp2.0.1"], additional_headers=headers):  # type: ignore[list-item]
                        pass
                assert err.value.response.status_code == 401
        finally:
            await csms.close()

    run(scenario())
    # The header of the specification's example.
    assert basic_auth_header("CS001", "aB3dE5fG7hJ9kL1mN2pQ") == "Basic Q1MwMDE6YUIzZEU1Zkc3aEo5a0wxbU4ycFE="


def test_profile_1_with_a_16_authorization_key_raw_or_text() -> None:
    key = "00112233445566778899AABBCCDDEEFF00112233"
    assert basic_auth_header("CP001", bytes.fromhex(key)) == "Basic Q1AwMDE6ABEiM0RVZneImaq7zN3u/wARIjM="
    assert basic_auth_header("CP001", key) == "Basic Q1AwMDE6MDAxMTIyMzM0NDU1NjY3Nzg4OTlBQUJCQ0NEREVFRkYwMDExMjIzMw=="

    async def scenario() -> None:
        csms = await started(
            CSMSServer(
                csms_router("1.6"),
                versions=("1.6",),
                security_profile=1,
                authenticate=lambda hs: hs.password_bytes in (bytes.fromhex(key), key.encode()),
            )
        )
        try:
            for encoding in ("hex-bytes", "text"):
                async with ChargingStation(
                    f"ws://127.0.0.1:{csms.port}/CP001",
                    versions=["1.6"],
                    security_profile=1,
                    password=key,
                    password_encoding=encoding,
                ) as st:
                    assert await run_station_session(st.session, "1.6") == []  # type: ignore[arg-type]
        finally:
            await csms.close()

    run(scenario())


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


def _server_ctx(pki: dict[str, Any], mutual: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki["server"].configure_cert(ctx)
    if mutual:
        ctx.verify_mode = ssl.CERT_REQUIRED
        pki["ca"].configure_trust(ctx)
    return ctx


def _client_ctx(pki: dict[str, Any], cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pki["ca"].configure_trust(ctx)
    if cert is not None:
        pki[cert].configure_cert(ctx)
    return ctx


def test_profile_2_tls_and_basic_auth(pki: dict[str, Any]) -> None:
    ctx = _server_ctx(pki, mutual=False)
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    csms_obj = CSMSServer(
        csms_router("2.0.1"),
        versions=("2.0.1",),
        security_profile=2,
        ssl_context=ctx,
        authenticate=lambda hs: hs.password == "sixteen-chars-pw",
    )
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2  # OCPP: TLS 1.2 or newer

    async def scenario() -> None:
        csms = await started(csms_obj)
        url = f"wss://127.0.0.1:{csms.port}/CS002"
        try:
            async with ChargingStation(
                url, versions=["2.0.1"], security_profile=2, password="sixteen-chars-pw", ssl_context=_client_ctx(pki)
            ) as st:
                assert await run_station_session(st.session, "2.0.1") == []  # type: ignore[arg-type]
                ssl_obj = st.session.transport.ws.transport.get_extra_info("ssl_object")  # type: ignore[union-attr,attr-defined]
                assert ssl_obj.version() in ("TLSv1.2", "TLSv1.3")
            with pytest.raises(websockets.InvalidStatus):
                await ChargingStation(
                    url,
                    versions=["2.0.1"],
                    security_profile=2,
                    password="wrong-password!!",
                    ssl_context=_client_ctx(pki),
                ).connect_once()
            with pytest.raises(ssl.SSLError):  # a station that does not trust the CSMS certificate
                await ChargingStation(
                    url,
                    versions=["2.0.1"],
                    security_profile=2,
                    password="sixteen-chars-pw",
                    ssl_context=ssl.create_default_context(),
                ).connect_once()
        finally:
            await csms.close()

    run(scenario())
    with pytest.raises(ValueError, match="ssl"):
        CSMSServer(csms_router("2.0.1"), security_profile=2, authenticate=lambda hs: True)


def test_profile_3_mutual_tls_with_a_serial_number_check(pki: dict[str, Any]) -> None:
    serials = {"CS003": "SERIAL-4711", "CS004": "SERIAL-0000"}

    def authenticate(hs: Handshake) -> bool:
        return hs.certificate_common_name() == serials.get(hs.identity)

    async def scenario() -> None:
        csms = await started(
            CSMSServer(
                csms_router("2.0.1"),
                versions=("2.0.1",),
                security_profile=3,
                ssl_context=_server_ctx(pki, mutual=True),
                certificate_rule=authenticate,
            )
        )
        try:
            async with ChargingStation(
                f"wss://127.0.0.1:{csms.port}/CS003",
                versions=["2.0.1"],
                security_profile=3,
                ssl_context=_client_ctx(pki, "station"),
            ) as st:
                assert await run_station_session(st.session, "2.0.1") == []  # type: ignore[arg-type]
            with pytest.raises(websockets.InvalidStatus) as err:  # the CN is not CS004's serial number
                await ChargingStation(
                    f"wss://127.0.0.1:{csms.port}/CS004",
                    versions=["2.0.1"],
                    security_profile=3,
                    ssl_context=_client_ctx(pki, "station"),
                ).connect_once()
            assert err.value.response.status_code == 401
            for cert in (None, "other"):  # no client certificate, or one from an unknown CA
                with pytest.raises((ssl.SSLError, OSError, websockets.InvalidHandshake, EOFError)):
                    await ChargingStation(
                        f"wss://127.0.0.1:{csms.port}/CS003",
                        versions=["2.0.1"],
                        security_profile=3,
                        ssl_context=_client_ctx(pki, cert),
                    ).connect_once()
        finally:
            await csms.close()

    run(scenario())


# --------------------------------------------------------------- lifecycle and peers


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


def test_bad_peers_get_replies_and_are_closed_after_too_many() -> None:
    async def scenario() -> None:
        csms = await started(CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), max_bad_messages=5))
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/BAD1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send("not json")
                assert json.loads(await ws.recv())[:3] == [4, "-1", "RpcFrameworkError"]
                await ws.send('[2,"x","Heartbeat",{"junk":1}]')
                assert json.loads(await ws.recv())[:3] == [4, "x", "FormatViolation"]
                await ws.send('[3,"nobody",{}]')  # never answered
                for i in range(3):
                    await ws.send(f'[2,"y{i}","NoSuchAction",{{}}]')
                replies = [json.loads(await ws.recv()) for _ in range(2)]
                assert [r[2] for r in replies] == ["NotImplemented", "NotImplemented"]
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    for _ in range(5):
                        await ws.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        finally:
            await csms.close()

    run(scenario())


def test_a_peer_that_never_answers_times_out() -> None:
    async def scenario() -> None:
        csms = await started(CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), call_timeout=0.2))
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/MUTE", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                for _ in range(100):
                    if "MUTE" in csms.sessions:
                        break
                    await asyncio.sleep(0.01)
                session = csms.sessions["MUTE"]
                first = asyncio.ensure_future(session.call(v201.ClearCacheRequest()))
                second = asyncio.ensure_future(session.call(v201.ClearCacheRequest()))  # queued
                with pytest.raises(CallTimeout):
                    await first
                with pytest.raises(CallTimeout):
                    await second
                frames = [json.loads(await ws.recv()) for _ in range(2)]
                assert [f[2] for f in frames] == ["ClearCache", "ClearCache"] and frames[0][1] != frames[1][1]
        finally:
            await csms.close()

    run(scenario())


# ----------------------------------------------------------------------- CLI


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


def test_policy_is_passed_through_to_the_connection() -> None:
    async def scenario() -> None:
        events: list[Any] = []
        csms = await started(
            CSMSServer(
                csms_router("1.6"),
                versions=("1.6",),
                policy=ocppkit.Policy(naive_datetimes="utc"),
                on_event=lambda session, ev: events.append(ev),
            )
        )
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/LAX", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
                await ws.send(
                    '[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
                    '"status":"Available","timestamp":"2030-01-01T10:00:00"}]'
                )
                assert json.loads(await ws.recv()) == [3, "s1", {}]
            call = next(e for e in events if isinstance(e, ocppkit.CallReceived))
            assert call.request.timestamp == dt.datetime(2030, 1, 1, 10, tzinfo=dt.timezone.utc)
            assert [(r.path, r.action) for r in call.relaxations] == [("$.timestamp", "assumed UTC")]
        finally:
            await csms.close()

    run(scenario())


# ------------------------------------------------------------ versions and routers


def test_a_router_per_version_negotiates_only_those_versions() -> None:
    """CSMSServer({"2.0.1": router}) with the default versions: a station offering ocpp2.1 then
    ocpp2.0.1 gets 2.0.1 (the version with a router), and its calls are answered."""

    async def scenario() -> None:
        seen: list[list[str]] = []

        def authenticate(hs: Handshake) -> bool:
            seen.append(hs.subprotocols)
            return True

        csms = await started(CSMSServer({"2.0.1": csms_router("2.0.1")}, authenticate=authenticate))
        try:
            assert csms.versions == ["2.0.1"]
            async with ChargingStation(f"ws://127.0.0.1:{csms.port}/NEG1", versions=["2.1", "2.0.1"]) as st:
                assert seen == [["ocpp2.1", "ocpp2.0.1"]]
                assert st.session is not None and st.session.version == "2.0.1"
                assert st.session.transport.ws.subprotocol == "ocpp2.0.1"  # type: ignore[attr-defined]
                assert (await st.call(boot201())).status == v201.RegistrationStatusEnumType.ACCEPTED
                assert await run_station_session(st, "2.0.1") == []
            # A station offering only 2.1 finds no common version.
            with pytest.raises(ConnectionError, match="none of our OCPP versions"):
                await ChargingStation(f"ws://127.0.0.1:{csms.port}/NEG2", versions=["2.1"]).connect_once()
        finally:
            await csms.close()
        # Two routers: both versions, newest first; a 1.6 station still gets 1.6.
        csms = await started(CSMSServer({"1.6": csms_router("1.6"), "2.1": csms_router("2.1")}))
        try:
            assert csms.versions == ["2.1", "1.6"]
            for offered, agreed in ((["2.1", "2.0.1", "1.6"], "2.1"), (["2.0.1", "1.6"], "1.6")):
                async with ChargingStation(f"ws://127.0.0.1:{csms.port}/NEG3", versions=offered) as st:
                    assert st.session is not None and st.session.version == agreed
                    assert await run_station_session(st, agreed) == []
        finally:
            await csms.close()

    run(scenario())


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
