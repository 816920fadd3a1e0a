"""ocppkit.adapters.aiohttp over aiohttp's real web server (AppRunner, TCPSite) on 127.0.0.1:
calls both ways, negotiation, refusals with their HTTP status before the upgrade, profiles 1 to
3 (aiohttp's own TLS, with client certificates for profile 3; a trusted proxy's subject header),
duplicates and takeovers, binary and oversized frames, compression and heartbeat pings."""

from __future__ import annotations

import asyncio
import hmac
import ssl
from typing import Any

import pytest
import trustme
import websockets
from websockets.asyncio.client import connect

from ocppkit import Router, v201
from ocppkit.adapters.aiohttp import WebSocketHandler
from ocppkit.adapters.csms import CSMS
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, basic_auth_header
from tests.adapters.aio import run, send_at_once, until
from tests.conformance.servers_aiohttp import start_aiohttp

PASSWORD = "correct-horse-battery-1"
UPGRADE = (
    "GET /ocpp/CS1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
)


def csms(**kw: Any) -> CSMS:
    kw.setdefault("ping_interval", None)
    kw.setdefault("path_prefix", "/ocpp/")
    return CSMS(csms_router("2.0.1"), **kw)


def station_router() -> Router:
    r = Router("2.0.1")
    r.add(v201.ClearCacheRequest, lambda req: v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED))
    return r


async def refused_status(url: str, **kw: Any) -> tuple[int, Any]:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(url, open_timeout=5, **kw):
            pass
    return refused.value.response.status_code, refused.value.response


async def heartbeat(ws: Any) -> str:
    await ws.send('[2,"1","Heartbeat",{}]')
    return str(await asyncio.wait_for(ws.recv(), 5))


def test_calls_both_ways_and_the_refusals_keep_their_status() -> None:
    async def main() -> None:
        server = csms(duplicates="reject")
        async with start_aiohttp(server) as url:
            async with ChargingStation(url + "CS001", station_router(), versions=("2.0.1",)) as station:
                await station.call(v201.HeartbeatRequest())
                await server.wait_for("CS001", timeout=5)
                cleared = await server.call("CS001", v201.ClearCacheRequest())
                assert cleared.status is v201.ClearCacheStatusEnumType.ACCEPTED
                status, response = await refused_status(url + "CS001", subprotocols=["ocpp2.0.1"])
                assert status == 409 and b"already connected" in response.body
            assert (await refused_status(url + "a%20b", subprotocols=["ocpp2.0.1"]))[0] == 404
            assert (await refused_status(url + "x/y", subprotocols=["ocpp2.0.1"]))[0] == 404
            await until(lambda: not server.sessions)
        assert server.refusals == {"duplicate": 1, "identity": 1, "path": 1}

    run(main())


def test_negotiation_and_none_closes_with_1002() -> None:
    async def main() -> None:
        server = CSMS(
            {"1.6": csms_router("1.6"), "2.0.1": csms_router("2.0.1")}, ping_interval=None, path_prefix="/ocpp/"
        )
        async with start_aiohttp(server) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.1", "ocpp1.6", "ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                assert ws.subprotocol == "ocpp1.6"
                assert '"currentTime"' in await heartbeat(ws)
            async with connect(url + "CS2", subprotocols=["ocpp2.1"]) as ws:  # type: ignore[list-item]
                assert ws.subprotocol is None
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
                assert ws.close_code == 1002

    run(main())


def test_profile_1_basic_auth() -> None:
    def check(handshake: Any) -> bool:
        return hmac.compare_digest(handshake.password_bytes or b"", PASSWORD.encode())

    async def main() -> None:
        server = csms(security_profile=1, authenticate=check)
        async with start_aiohttp(server) as url:
            status, response = await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"])
            assert status == 401 and "Basic" in response.headers["WWW-Authenticate"]
            bad = {"Authorization": basic_auth_header("CS1", "wrong-password-123456")}
            assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=bad))[0] == 401
            good = {"Authorization": basic_auth_header("CS1", PASSWORD)}
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=good) as ws:  # type: ignore[list-item]
                assert '"currentTime"' in await heartbeat(ws)
        assert server.refusals == {"no-credentials": 1, "authentication": 1}

    run(main())


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    ca = trustme.CA(organization_name="ocppkit test CA")
    return {
        "ca": ca,
        "server": ca.issue_cert("127.0.0.1", common_name="csms.example"),
        "cs1": ca.issue_cert("cs1.example", common_name="CS1"),
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


def test_profile_2_over_aiohttps_tls_and_refused_in_plain(pki: dict[str, Any]) -> None:
    def check(handshake: Any) -> bool:
        return hmac.compare_digest(handshake.password_bytes or b"", PASSWORD.encode())

    async def main() -> None:
        server = csms(security_profile=2, authenticate=check)
        async with start_aiohttp(server, ssl_context=server_ctx(pki, False)) as url:
            assert url.startswith("wss://")
            async with ChargingStation(
                url + "CS1",
                station_router(),
                versions=("2.0.1",),
                security_profile=2,
                password=PASSWORD,
                ssl_context=client_ctx(pki),
            ) as station:
                await station.call(v201.HeartbeatRequest())
        server = csms(security_profile=2, authenticate=check)
        async with start_aiohttp(server) as url:
            good = {"Authorization": basic_auth_header("CS1", PASSWORD)}
            assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=good))[0] == 403
        assert server.refusals == {"no-tls": 1}

    run(main())


def test_profile_3_with_aiohttps_client_certificates(pki: dict[str, Any]) -> None:
    async def main() -> None:
        server = csms(security_profile=3)
        async with start_aiohttp(server, ssl_context=server_ctx(pki, True)) as url:
            async with ChargingStation(
                url + "CS1",
                station_router(),
                versions=("2.0.1",),
                security_profile=3,
                ssl_context=client_ctx(pki, "cs1"),
            ) as station:
                await station.call(v201.HeartbeatRequest())
                assert server.sessions["CS1"].identity == "CS1"
            status, _ = await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], ssl=client_ctx(pki, "cs2"))
            assert status == 401
        assert server.refusals == {"certificate": 1}

    run(main())


def test_profile_3_through_a_trusted_proxys_subject_header() -> None:
    async def main() -> None:
        headers = {"X-SSL-Client-S-DN": "CN=CS1,O=ACME", "X-Forwarded-Proto": "https"}
        server = csms(security_profile=3)
        async with start_aiohttp(server, trusted_proxies=["127.0.0.1"], subject_header="X-SSL-Client-S-DN") as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers) as ws:  # type: ignore[list-item]
                assert '"currentTime"' in await heartbeat(ws)
        server = csms(security_profile=3)
        async with start_aiohttp(server, trusted_proxies=["192.0.2.1"], subject_header="X-SSL-Client-S-DN") as url:
            assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers))[0] == 403
        assert server.refusals == {"no-tls": 1}

    run(main())


def test_a_takeover_aborts_the_old_connection() -> None:
    async def main() -> None:
        server = csms()
        async with start_aiohttp(server) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as old:  # type: ignore[list-item]
                await heartbeat(old)
                first = server.sessions["CS1"]
                async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as new:  # type: ignore[list-item]
                    await asyncio.wait_for(first.closed.wait(), 5)
                    assert first.close_reason == "replaced by a new connection"
                    with pytest.raises(websockets.ConnectionClosed):
                        await asyncio.wait_for(old.recv(), 5)
                    assert '"currentTime"' in await heartbeat(new)

    run(main())


def test_binary_1003_unless_accepted_and_oversized_1009() -> None:
    async def main() -> None:
        server = csms(max_frame_size=1000)
        async with start_aiohttp(server) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send(b'[2,"1","Heartbeat",{}]')
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
                assert ws.close_code == 1003
            async with connect(url + "CS2", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send('[2,"1","DataTransfer",{"vendorId":"' + "x" * 2000 + '"}]')
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
                assert ws.close_code == 1009
        async with start_aiohttp(csms(accept_binary=True)) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send(b'[2,"1","Heartbeat",{}]')
                assert '"currentTime"' in str(await asyncio.wait_for(ws.recv(), 5))

    run(main())


def test_compression_is_negotiated_as_the_csms_says() -> None:
    async def main() -> None:
        async with start_aiohttp(csms()) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                assert ws.response is not None
                assert ws.response.headers.get("Sec-WebSocket-Extensions", "").startswith("permessage-deflate")
                assert '"currentTime"' in await heartbeat(ws)
        async with start_aiohttp(csms(compression=None)) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                assert ws.response is not None
                assert "Sec-WebSocket-Extensions" not in ws.response.headers

    run(main())


def test_heartbeat_pings_drop_a_peer_that_never_answers() -> None:
    async def main() -> None:
        server = csms(ping_interval=0.3)
        async with start_aiohttp(server) as url:
            port = int(url.split(":")[2].split("/")[0])
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(UPGRADE.encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 101")
            await until(lambda: "CS1" in server.sessions)
            session = server.sessions["CS1"]
            received = b""
            # a peer that reads (so it sees the pings) but never answers one: dropped within a few
            # intervals (aiohttp waits ping_interval / 2 for the pong)
            while not session.closed.is_set():
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), 3)
                except asyncio.TimeoutError:
                    break
                if not chunk:
                    break
                received += chunk
            await asyncio.wait_for(session.closed.wait(), 3)
            writer.close()
            assert received[:1] == b"\x89"  # the first frame the server sent: a ping (FIN + opcode 9)

    run(main())


def test_configuration_errors() -> None:
    from ocppkit.adapters.websockets import CSMSServer

    with pytest.raises(ValueError, match="listens itself"):
        WebSocketHandler(CSMSServer(csms_router("2.0.1")))
    with pytest.raises(TypeError, match="csms: expected"):
        WebSocketHandler(object())  # type: ignore[arg-type]


def test_pipelined_calls_over_the_rate_are_refused() -> None:
    async def main() -> None:
        async with start_aiohttp(csms(max_call_rate=1, max_call_burst=2)) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                send_at_once(ws, [f'[2,"{i}","Heartbeat",{{}}]' for i in range(6)])
                answers = [str(await asyncio.wait_for(ws.recv(), 5)) for _ in range(6)]
        limited = [a for a in answers if "Rate limited" in a]
        assert len(limited) >= 3 and all(a.startswith("[4,") for a in limited)

    run(main())
