"""ocppkit.adapters.asgi over real uvicorn servers on 127.0.0.1 (random ports): the bare
ASGIApp, and mounted in Starlette and FastAPI. Our websockets ChargingStation and raw
websockets clients as the stations: calls both ways, negotiation, identity, refusals with their
HTTP status (and the server's 403 without the Denial Response extension), profiles 1 to 3
(profile 3 through a trusted proxy's header), duplicates, rate limits, binary and oversized
frames, lifespan."""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
import urllib.parse
from collections.abc import MutableMapping
from typing import Any

import pytest
import trustme
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import Mount
from websockets.asyncio.client import connect

from ocppkit import ErrorCode, Router, v201
from ocppkit.adapters.asgi import ASGIApp, route_path, uvicorn_options
from ocppkit.adapters.asyncio import CallErrorResponse
from ocppkit.adapters.csms import CSMS
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, CSMSServer, basic_auth_header
from tests.adapters.aio import free_port, run, send_at_once, until
from tests.conformance.servers_asgi import FRAMEWORKS, start_uvicorn

PASSWORD = "correct-horse-battery-1"
HTTPS = {"X-Forwarded-Proto": "https"}  # what a TLS-terminating proxy adds


def station_router() -> Router:
    r = Router("2.0.1")
    r.add(v201.ClearCacheRequest, lambda req: v201.ClearCacheResponse(status=v201.ClearCacheStatusEnumType.ACCEPTED))
    return r


def csms(**kw: Any) -> CSMS:
    kw.setdefault("ping_interval", None)
    return CSMS(csms_router("2.0.1"), **kw)


def boot() -> v201.BootNotificationRequest:
    return v201.BootNotificationRequest(
        charging_station=v201.ChargingStationType(model="M", vendor_name="V"), reason=v201.BootReasonEnumType.POWER_UP
    )


async def refused_status(url: str, **kw: Any) -> tuple[int, Any]:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with connect(url, open_timeout=5, **kw):
            pass
    return refused.value.response.status_code, refused.value.response


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_calls_both_ways_through_each_framework(framework: str) -> None:
    async def main() -> None:
        server = csms()
        async with start_uvicorn(server, framework=framework) as url:
            assert url.endswith("/ocpp/") if framework != "asgi" else url.endswith("/")
            async with ChargingStation(url + "CS001", station_router(), versions=("2.0.1",)) as station:
                answer = await station.call(boot())
                assert answer.status is v201.RegistrationStatusEnumType.ACCEPTED
                info = await server.wait_for("CS001", booted=True, timeout=5)
                assert info.identity == "CS001" and info.version == "2.0.1"
                cleared = await server.call("CS001", v201.ClearCacheRequest())
                assert cleared.status is v201.ClearCacheStatusEnumType.ACCEPTED
                with pytest.raises(CallErrorResponse) as caught:
                    await server.call("CS001", v201.ResetRequest(type=v201.ResetEnumType.IMMEDIATE))
                assert caught.value.error_code is ErrorCode.NOT_SUPPORTED
            await until(lambda: "CS001" not in server.sessions)
        assert server.refusals == {}

    run(main())


def test_negotiation_prefers_the_stations_order_and_none_closes_with_1002() -> None:
    async def main() -> None:
        server = CSMS({"1.6": csms_router("1.6"), "2.0.1": csms_router("2.0.1")}, ping_interval=None)
        async with start_uvicorn(server) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.1", "ocpp1.6", "ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                assert ws.subprotocol == "ocpp1.6"
                await ws.send('[2,"1","Heartbeat",{}]')
                assert '"currentTime"' in str(await ws.recv())
            async with connect(url + "CS2", subprotocols=["ocpp2.1"]) as ws:  # type: ignore[list-item]
                assert ws.subprotocol is None
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
                assert ws.close_code == 1002

    run(main())


def test_refusals_keep_their_http_status() -> None:
    async def main() -> None:
        server = csms(path_prefix="/cs/", duplicates="reject")
        async with start_uvicorn(server, framework="starlette") as url:
            base = url + "cs/"
            assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"]))[0] == 404  # outside the prefix
            assert (await refused_status(base + "a%20b", subprotocols=["ocpp2.0.1"]))[0] == 404  # 2.x identity rule
            assert (await refused_status(base + "x/y", subprotocols=["ocpp2.0.1"]))[0] == 404  # two segments
            async with ChargingStation(base + "CS1", station_router(), versions=("2.0.1",)) as station:
                await station.call(v201.HeartbeatRequest())
                status, response = await refused_status(base + "CS1", subprotocols=["ocpp2.0.1"])
                assert status == 409 and b"already connected" in response.body
        assert server.refusals == {"path": 2, "identity": 1, "duplicate": 1}

    run(main())


def test_without_the_denial_response_extension_a_refusal_is_the_servers_403() -> None:
    async def main() -> None:
        server = csms()
        app = ASGIApp(server)

        async def no_extensions(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
            scope = dict(scope, extensions={})
            await app(scope, receive, send)

        port = free_port()
        config = uvicorn.Config(no_extensions, host="127.0.0.1", port=port, log_config=None, lifespan="off")
        uv = uvicorn.Server(config)
        task = asyncio.ensure_future(uv.serve())
        try:
            await until(lambda: uv.started)
            status, _ = await refused_status(f"ws://127.0.0.1:{port}/a%20b", subprotocols=["ocpp2.0.1"])
            assert status == 403
            assert server.refusals == {"identity": 1}
        finally:
            uv.should_exit = True
            await task

    run(main())


def test_a_plain_http_request_is_answered_426() -> None:
    async def main() -> None:
        async with start_uvicorn(csms()) as url:
            port = int(url.rsplit(":", 1)[1].strip("/"))
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /CS1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
            assert answer.startswith(b"HTTP/1.1 426 ")
            assert b"upgrade: websocket" in answer.lower()

    run(main())


@pytest.mark.parametrize("protocol", ["websockets-sansio", "wsproto"])
def test_profile_1_basic_auth_with_throttle_and_its_429(protocol: str) -> None:
    def check(handshake: Any) -> bool:
        return hmac.compare_digest(handshake.password_bytes or b"", PASSWORD.encode())

    async def main() -> None:
        server = csms(security_profile=1, authenticate=check)
        async with start_uvicorn(server, uvicorn_settings={"ws": protocol}) as url:
            status, response = await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"])
            assert status == 401 and "Basic" in response.headers["WWW-Authenticate"]
            for _ in range(3):
                bad = {"Authorization": basic_auth_header("CS1", "wrong-password-123456")}
                assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=bad))[0] == 401
            good = {"Authorization": basic_auth_header("CS1", PASSWORD)}
            status, response = await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=good)
            assert status == 429 and int(response.headers["Retry-After"]) >= 1  # locked for a while
            async with ChargingStation(
                url + "CS2", station_router(), versions=("2.0.1",), security_profile=1, password=PASSWORD
            ) as station:
                await station.call(v201.HeartbeatRequest())
        assert server.refusals == {"no-credentials": 1, "authentication": 3, "throttled": 1}

    run(main())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ca = trustme.CA(organization_name="ocppkit test CA")
    server = ca.issue_cert("127.0.0.1", common_name="csms.example")
    folder = tmp_path_factory.mktemp("asgi-pki")
    server.private_key_and_cert_chain_pem.write_to_path(str(folder / "server.pem"))
    return {
        "ca": ca,
        "server": str(folder / "server.pem"),
        "cs1": ca.issue_cert("cs1.example", common_name="CS1", organization_name="ACME CPO"),
        "cs2": ca.issue_cert("cs2.example", common_name="CS2", organization_name="ACME CPO"),
    }


def client_ctx(pki: dict[str, Any]) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pki["ca"].configure_trust(ctx)
    return ctx


def test_profile_2_needs_tls_from_uvicorn_or_a_trusted_proxy(pki: dict[str, Any]) -> None:
    def check(handshake: Any) -> bool:
        return hmac.compare_digest(handshake.password_bytes or b"", PASSWORD.encode())

    async def main() -> None:
        server = csms(security_profile=2, authenticate=check)
        tls = {"ssl_certfile": pki["server"]}
        async with start_uvicorn(server, uvicorn_settings=tls) as url:
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
        auth = {"Authorization": basic_auth_header("CS1", PASSWORD)}
        server = csms(security_profile=2, authenticate=check)
        async with start_uvicorn(server) as url:  # plain ws://, nobody trusted
            headers = {**auth, "X-Forwarded-Proto": "https"}
            status, _ = await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers)
            assert status == 403
        assert server.refusals == {"no-tls": 1}
        server = csms(security_profile=2, authenticate=check)
        async with start_uvicorn(server, trusted_proxies=["127.0.0.0/8"]) as url:  # the proxy said https
            headers = {**auth, "X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"}
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers) as ws:  # type: ignore[list-item]
                await ws.send('[2,"1","Heartbeat",{}]')
                assert '"currentTime"' in str(await ws.recv())
                assert server.station("CS1").remote_address == "192.0.2.7"  # type: ignore[union-attr]
            headers = {**auth, "X-Forwarded-Proto": "http"}
            assert (await refused_status(url + "CS2", subprotocols=["ocpp2.0.1"], additional_headers=headers))[0] == 403

    run(main())


def escaped_pem(cert: Any) -> str:
    """As nginx's $ssl_client_escaped_cert: the PEM, URL-encoded."""
    return urllib.parse.quote(cert.cert_chain_pems[0].bytes().decode(), safe="")


def test_profile_3_certificate_header_only_from_a_trusted_proxy(pki: dict[str, Any], caplog: Any) -> None:
    async def main() -> None:
        proxy: dict[str, Any] = {"trusted_proxies": ["127.0.0.1"], "certificate_header": "X-SSL-Client-Cert"}
        server = csms(security_profile=3, organization="ACME CPO")
        async with start_uvicorn(server, **proxy, verify_header="X-SSL-Client-Verify") as url:
            headers = {"X-SSL-Client-Cert": escaped_pem(pki["cs1"]), "X-SSL-Client-Verify": "SUCCESS", **HTTPS}
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers) as ws:  # type: ignore[list-item]
                await ws.send('[2,"1","Heartbeat",{}]')
                assert '"currentTime"' in str(await ws.recv())
            # CS2's certificate does not speak for CS1
            headers = {"X-SSL-Client-Cert": escaped_pem(pki["cs2"]), "X-SSL-Client-Verify": "SUCCESS", **HTTPS}
            assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers))[0] == 401
            # the proxy did not verify it
            headers = {"X-SSL-Client-Cert": escaped_pem(pki["cs1"]), "X-SSL-Client-Verify": "FAILED:expired", **HTTPS}
            assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers))[0] == 401
            # garbage in the header
            headers = {
                "X-SSL-Client-Cert": "-----BEGIN CERTIFICATE-----%0Anope",
                "X-SSL-Client-Verify": "SUCCESS",
                **HTTPS,
            }
            assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers))[0] == 401
        assert server.refusals == {"certificate": 1, "no-certificate": 2}
        # the same header from a peer that is not the proxy: ignored, so no certificate
        server = csms(security_profile=3)
        untrusted: dict[str, Any] = {**proxy, "trusted_proxies": ["192.0.2.1"]}
        async with start_uvicorn(server, **untrusted) as url:
            headers = {"X-SSL-Client-Cert": escaped_pem(pki["cs1"]), **HTTPS}
            with caplog.at_level(logging.WARNING, logger="ocppkit"):
                assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers))[
                    0
                ] == 403  # nor is its X-Forwarded-Proto: no TLS
        assert server.refusals == {"no-tls": 1}
        assert any("not a trusted proxy, is ignored" in r.getMessage() for r in caplog.records)

    run(main())


def test_profile_3_subject_header(pki: dict[str, Any]) -> None:
    async def main() -> None:
        server = csms(security_profile=3, organization="ACME, CPO")
        async with start_uvicorn(server, trusted_proxies=["127.0.0.1"], subject_header="X-SSL-Client-S-DN") as url:
            headers = {"X-SSL-Client-S-DN": "CN=CS1,O=ACME\\, CPO,C=NL", **HTTPS}
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers) as ws:  # type: ignore[list-item]
                await ws.send('[2,"1","Heartbeat",{}]')
                assert '"currentTime"' in str(await ws.recv())
            headers = {"X-SSL-Client-S-DN": "CN=CS1,O=Other", **HTTPS}
            assert (await refused_status(url + "CS1", subprotocols=["ocpp2.0.1"], additional_headers=headers))[0] == 401
        assert server.refusals == {"organization": 1}

    run(main())


def test_configuration_errors_name_the_parameter() -> None:

    with pytest.raises(ValueError, match="security_profile 3 behind an ASGI server"):
        ASGIApp(csms(security_profile=3))
    with pytest.raises(ValueError, match="trusted_proxies"):
        ASGIApp(csms(), subject_header="x-dn")
    with pytest.raises(ValueError, match="trusted_proxies: 'nope'"):
        ASGIApp(csms(), trusted_proxies=["nope"])
    with pytest.raises(ValueError, match="certificate_header and subject_header"):
        ASGIApp(csms(), trusted_proxies=["10.0.0.1"], subject_header="a", certificate_header="b")
    with pytest.raises(ValueError, match="listens itself"):
        ASGIApp(CSMSServer(csms_router("2.0.1")))
    with pytest.raises(ValueError, match="subject_header: expected an HTTP header name"):
        ASGIApp(csms(), trusted_proxies=["10.0.0.1"], subject_header="a b")


def test_a_takeover_ends_the_old_session_at_once() -> None:
    async def main() -> None:
        server = csms()
        async with start_uvicorn(server) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as old:  # type: ignore[list-item]
                await old.send('[2,"1","Heartbeat",{}]')
                await old.recv()
                first = server.sessions["CS1"]
                async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as new:  # type: ignore[list-item]
                    await asyncio.wait_for(first.closed.wait(), 5)
                    assert first.close_reason == "replaced by a new connection"
                    with pytest.raises(websockets.ConnectionClosed):
                        await asyncio.wait_for(old.recv(), 5)
                    await new.send('[2,"2","Heartbeat",{}]')
                    assert '"currentTime"' in str(await new.recv())
                    assert server.sessions["CS1"] is not first

    run(main())


def test_pipelined_calls_over_the_rate_are_refused() -> None:
    async def main() -> None:
        server = csms(max_call_rate=1, max_call_burst=2)
        async with start_uvicorn(server) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                send_at_once(ws, [f'[2,"{i}","Heartbeat",{{}}]' for i in range(6)])
                answers = [str(await asyncio.wait_for(ws.recv(), 5)) for _ in range(6)]
        limited = [a for a in answers if "Rate limited" in a]
        assert len(limited) >= 3 and all(a.startswith("[4,") for a in limited)

    run(main())


def test_binary_frames_close_with_1003_unless_accepted_and_big_ones_with_1009() -> None:
    async def main() -> None:
        server = csms(max_frame_size=1000)
        # uvicorn's own limit is set higher here, so that the application's is the one met
        async with start_uvicorn(server, uvicorn_settings={"ws_max_size": 100_000}) as url:
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
        server = csms(accept_binary=True)
        async with start_uvicorn(server) as url:
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send(b'[2,"1","Heartbeat",{}]')
                assert '"currentTime"' in str(await ws.recv())

    run(main())


def test_lifespan_starts_and_closes_the_csms() -> None:
    async def main() -> None:
        server = csms()
        ended: list[str] = []
        async with start_uvicorn(server) as url:
            events = server.events()

            async def watch() -> None:
                async for event in events:
                    ended.append(event.kind)

            watcher = asyncio.ensure_future(watch())
            server.blocking()  # started: it has its loop
            async with connect(url + "CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send('[2,"1","Heartbeat",{}]')
                await ws.recv()
        await asyncio.wait_for(watcher, 5)  # the iteration ended: the CSMS was closed at shutdown
        assert ended == ["connected", "disconnected"]

    run(main())


def test_route_path_is_below_the_mount_and_still_encoded() -> None:

    scope: dict[str, Any] = {"path": "/ocpp/RDAM|1", "raw_path": b"/ocpp/RDAM%7C1", "root_path": "/ocpp"}
    assert route_path(scope) == "/RDAM%7C1"
    scope = {"path": "/ocpp/a/b", "raw_path": b"/ocpp/a%2Fb", "root_path": "/ocpp", "query_string": b"x=1"}
    assert route_path(scope) == "/a%2Fb?x=1"  # %2F stays inside its segment
    assert route_path({"path": "/CS1", "root_path": "/ocpp"}) == "/CS1"  # a server that strips root_path
    assert route_path({"path": "/ocppx/CS1", "raw_path": b"/ocppx/CS1", "root_path": "/ocpp"}) == "/ocppx/CS1"
    assert route_path({"path": "/a b"}) == "/a%20b"


def test_uvicorn_options_follow_the_csms() -> None:

    server = csms(max_frame_size=4096, ping_interval=5, compression=None)
    assert uvicorn_options(server) == {
        "ws_max_size": 4096,
        "ws_ping_interval": 5,
        "ws_ping_timeout": 20.0,
        "ws_per_message_deflate": False,
    }


def test_a_mounted_app_whose_csms_was_not_started_starts_it() -> None:
    async def main() -> None:

        server = csms()
        app = Starlette(routes=[Mount("/ocpp", app=ASGIApp(server))])  # no lifespan of ours
        port = free_port()
        uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, proxy_headers=False))
        task = asyncio.ensure_future(uv.serve())
        try:
            await until(lambda: uv.started)
            async with connect(f"ws://127.0.0.1:{port}/ocpp/CS1", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send('[2,"1","Heartbeat",{}]')
                await ws.recv()
                server.blocking()  # it was started on the first connection
        finally:
            uv.should_exit = True
            await task
            await server.close()

    run(main())


@pytest.mark.parametrize("protocol", ["websockets-sansio", "wsproto"])
def test_each_of_uvicorns_websocket_protocols(protocol: str) -> None:
    async def main() -> None:
        server = csms()
        async with start_uvicorn(server, uvicorn_settings={"ws": protocol}) as url:
            async with ChargingStation(url + "CS1", station_router(), versions=("2.0.1",)) as station:
                await station.call(v201.HeartbeatRequest())
                cleared = await server.call("CS1", v201.ClearCacheRequest())
                assert cleared.status is v201.ClearCacheStatusEnumType.ACCEPTED
            assert (await refused_status(url + "a%20b", subprotocols=["ocpp2.0.1"]))[0] == 404
            async with connect(url + "CS2", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
                await ws.send(b"[]")
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 5)
                assert ws.close_code == 1003

    run(main())


def test_as_a_starlette_websocket_route_the_whole_path_is_matched() -> None:
    async def main() -> None:
        server = csms(path_prefix="/ocpp/")
        async with start_uvicorn(server, framework="starlette-route") as url:
            assert url.endswith("/ocpp/")
            async with ChargingStation(url + "CS1", station_router(), versions=("2.0.1",)) as station:
                await station.call(v201.HeartbeatRequest())
                assert "CS1" in server.sessions

    run(main())
