"""The picows server's handshake policy over real loopback sockets, TLS with trustme certificates:
security profiles 1, 2 and 3 (the picows and websockets stations), an ``authenticate``
coroutine deciding before the upgrade, duplicate connections (replace, reject), the call-rate
limit."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import pytest
import trustme
import websockets
from websockets.asyncio.client import ClientConnection, connect

from ocppkit.adapters import picows as pw
from ocppkit.adapters import websockets as wsa
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import Handshake, basic_auth_header
from ocppkit.v201 import HeartbeatRequest
from tests.adapters.aio import run, until

PASSWORD = "correct-horse-battery-1"
V201: Any = ["ocpp2.0.1"]


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    ca = trustme.CA(organization_name="ocppkit test CA")
    return {
        "ca": ca,
        "server": ca.issue_cert("127.0.0.1", common_name="csms.example"),
        "cs1": ca.issue_cert("cs1.example", common_name="CS1", organization_name="Our CSO"),
        "cs2": ca.issue_cert("cs2.example", common_name="CS2"),
    }


def server_ctx(pki: dict[str, Any], client_certs: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki["server"].configure_cert(ctx)
    if client_certs:
        ctx.verify_mode = ssl.CERT_REQUIRED
        pki["ca"].configure_trust(ctx)
    return ctx


def client_ctx(pki: dict[str, Any], cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pki["ca"].configure_trust(ctx)
    if cert is not None:
        pki[cert].configure_cert(ctx)
    return ctx


async def heartbeat(ws: ClientConnection) -> Any:
    await ws.send('[2,"1","Heartbeat",{}]')
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def refused(url: str, **kw: Any) -> Any:
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        await connect(url, subprotocols=V201, **kw)
    return info.value.response


def test_profile_1_basic_auth_with_an_authenticate_coroutine() -> None:
    async def scenario() -> None:
        seen: list[str] = []

        async def authenticate(hs: Handshake) -> bool:
            await asyncio.sleep(0.01)  # the gate waits for it before the upgrade
            seen.append(hs.identity)
            return hs.password == PASSWORD

        csms = pw.CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), security_profile=1, authenticate=authenticate)
        await csms.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{csms.port}/CS1"
        try:
            answer = await refused(url)
            assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic")
            answer = await refused(url, additional_headers={"Authorization": basic_auth_header("CS1", "wrong")})
            assert answer.status_code == 401 and answer.body == b"Not authorized\n"
            good = {"Authorization": basic_auth_header("CS1", PASSWORD)}
            async with connect(url, subprotocols=V201, additional_headers=good) as ws:
                assert (await heartbeat(ws))[0] == 3
            for station in (pw.ChargingStation, wsa.ChargingStation):
                cs = station(url, versions=("2.0.1",), security_profile=1, password=PASSWORD)
                session = await cs.connect_once()
                assert (await session.call(HeartbeatRequest())).current_time is not None
                await session.close(2)
            assert seen == ["CS1"] * 4
            assert csms.refusals == {"no-credentials": 1, "authentication": 1}
        finally:
            await csms.close()

    run(scenario())


def test_the_auth_throttle_answers_429_with_retry_after() -> None:
    async def scenario() -> None:
        throttle = wsa.AuthThrottle(identity_failures=2, lockout=5.0)
        csms = pw.CSMSServer(
            csms_router("2.0.1"),
            versions=("2.0.1",),
            security_profile=1,
            authenticate=lambda hs: hs.password == PASSWORD,
            auth_throttle=throttle,
        )
        await csms.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{csms.port}/CS1"
        try:
            bad = {"Authorization": basic_auth_header("CS1", "guess")}
            statuses = [(await refused(url, additional_headers=bad)).status_code for _ in range(3)]
            assert statuses[:2] == [401, 401] and statuses[2] == 429
            assert int((await refused(url, additional_headers=bad)).headers["Retry-After"]) >= 1
        finally:
            await csms.close()

    run(scenario())


@pytest.mark.parametrize("station", [pw.ChargingStation, wsa.ChargingStation])
def test_profile_2_tls_and_basic_auth(pki: dict[str, Any], station: type[wsa.ChargingStation]) -> None:
    async def scenario() -> None:
        csms = pw.CSMSServer(
            csms_router("2.0.1"),
            versions=("2.0.1",),
            security_profile=2,
            authenticate=lambda hs: hs.password == PASSWORD,
            ssl_context=server_ctx(pki, client_certs=False),
        )
        await csms.start("127.0.0.1", 0)
        assert csms.ssl_context is not None and csms.ssl_context.minimum_version >= ssl.TLSVersion.TLSv1_2
        url = f"wss://127.0.0.1:{csms.port}/CS1"
        try:
            cs = station(url, versions=("2.0.1",), security_profile=2, password=PASSWORD, ssl_context=client_ctx(pki))
            session = await cs.connect_once()
            assert (await session.call(HeartbeatRequest())).current_time is not None
            await session.close(2)
            wrong = station(
                url, versions=("2.0.1",), security_profile=2, password="x" * 16, ssl_context=client_ctx(pki)
            )
            with pytest.raises(Exception) as info:  # each library says 401 its own way
                await wrong.connect_once()
            assert "401" in str(info.value)
        finally:
            await csms.close()

    run(scenario())


@pytest.mark.parametrize("station", [pw.ChargingStation, wsa.ChargingStation])
def test_profile_3_the_certificate_speaks_for_the_identity(
    pki: dict[str, Any], station: type[wsa.ChargingStation]
) -> None:
    async def scenario() -> None:
        csms = pw.CSMSServer(
            csms_router("2.0.1"),
            versions=("2.0.1",),
            security_profile=3,
            ssl_context=server_ctx(pki, client_certs=True),
            organization="Our CSO",
        )
        await csms.start("127.0.0.1", 0)
        base = f"wss://127.0.0.1:{csms.port}"
        try:
            cs = station(f"{base}/CS1", versions=("2.0.1",), security_profile=3, ssl_context=client_ctx(pki, "cs1"))
            session = await cs.connect_once()
            assert (await session.call(HeartbeatRequest())).current_time is not None
            await session.close(2)
            # CS1's certificate for another identity: 401 before the upgrade
            answer = await refused(f"{base}/CS9", ssl=client_ctx(pki, "cs1"))
            assert answer.status_code == 401 and answer.body == b"The certificate is not this station's\n"
            # CS2's certificate names no organisation
            answer = await refused(f"{base}/CS2", ssl=client_ctx(pki, "cs2"))
            assert answer.status_code == 401
            assert csms.refusals == {"certificate": 1, "organization": 1}
        finally:
            await csms.close()

    run(scenario())


def test_duplicates_replace_at_once_or_reject_with_409() -> None:
    async def scenario() -> None:
        csms = pw.CSMSServer(csms_router("2.0.1"), versions=("2.0.1",))
        await csms.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{csms.port}/CS1"
        try:
            old = await connect(url, subprotocols=V201)
            assert (await heartbeat(old))[0] == 3
            first = csms.sessions["CS1"]
            new = await connect(url, subprotocols=V201)
            assert (await heartbeat(new))[0] == 3
            await until(lambda: first.closed.is_set())
            assert first.close_reason == "replaced by a new connection" and csms.sessions["CS1"] is not first
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                await heartbeat(old)  # aborted: no close handshake
            await new.close()
        finally:
            await csms.close()
        rejecting = pw.CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), duplicates="reject")
        await rejecting.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{rejecting.port}/CS1"
        try:
            async with connect(url, subprotocols=V201) as first_ws:
                await until(lambda: "CS1" in rejecting.sessions)
                answer = await refused(url)
                assert answer.status_code == 409 and answer.body == b"This station is already connected\n"
                assert (await heartbeat(first_ws))[0] == 3  # the first one is untouched
        finally:
            await rejecting.close()

    run(scenario())


def test_a_pipelining_flooder_is_rate_limited_then_closed_1008() -> None:
    async def scenario() -> None:
        csms = pw.CSMSServer(
            csms_router("2.0.1"), versions=("2.0.1",), max_call_rate=1, max_call_burst=2, max_excess_calls=5
        )
        await csms.start("127.0.0.1", 0)
        try:
            async with connect(f"ws://127.0.0.1:{csms.port}/CS1", subprotocols=V201) as ws:
                for i in range(20):  # all at once, without waiting for answers
                    await ws.send(f'[2,"{i}","Heartbeat",{{}}]')
                answers: list[Any] = []
                try:
                    while True:
                        answers.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
                except websockets.exceptions.ConnectionClosed:
                    pass
                assert ws.close_code == 1008
            limited = [a for a in answers if a[0] == 4]
            assert limited and all(a[2] == "GenericError" and a[3].startswith("Rate limited") for a in limited)
            assert any(a[0] == 3 for a in answers)  # the burst was served
        finally:
            await csms.close()

    run(scenario())
