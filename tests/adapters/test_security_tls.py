"""Security profiles 2 and 3 over real loopback TLS with trustme certificates: what the TLS layer
refuses before any HTTP is exchanged (a client certificate from another CA, an expired client
certificate, a client that speaks TLS 1.1 at most, a CSMS whose certificate has expired), each
refusal asserted by the TLS alert the peer sees, next to the positive controls."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import ssl
import threading
import warnings
from typing import Any

import pytest
import trustme
import websockets

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import ChargingStation, CSMSServer, Handshake
from ocppkit.v201 import HeartbeatRequest
from tests.adapters.aio import run

PASSWORD = "correct-horse-battery-1"  # profile 2: 16 to 40 characters
UPGRADE = (
    "GET /CS1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: ocpp2.0.1\r\n\r\n"
)


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    now = dt.datetime.now(dt.timezone.utc)
    expired = {"not_before": now - dt.timedelta(days=30), "not_after": now - dt.timedelta(days=1)}
    ca = trustme.CA(organization_name="ocppkit test CA")
    return {
        "ca": ca,
        "server": ca.issue_cert("127.0.0.1", common_name="csms.example"),
        "server-expired": ca.issue_cert("127.0.0.1", common_name="csms.example", **expired),
        "cs1": ca.issue_cert("cs1.example", common_name="CS1"),
        "cs1-expired": ca.issue_cert("cs1.example", common_name="CS1", **expired),
        "cs1-other-ca": trustme.CA().issue_cert("cs1.example", common_name="CS1"),
    }


def server_ctx(pki: dict[str, Any], cert: str = "server", client_certs: bool = True) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki[cert].configure_cert(ctx)
    if client_certs:
        ctx.verify_mode = ssl.CERT_REQUIRED
        pki["ca"].configure_trust(ctx)
    return ctx


def client_ctx(pki: dict[str, Any], cert: str | None = "cs1") -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pki["ca"].configure_trust(ctx)
    if cert is not None:
        pki[cert].configure_cert(ctx)
    return ctx


def probe(port: int, ctx: ssl.SSLContext) -> str:
    """A raw TLS client (blocking; run it in a thread): the upgrade request, then the first line
    of the answer as ``"HTTP ..."``, or the OpenSSL reason of the failure (``"TLSV1_ALERT_UNKNOWN_CA"``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(UPGRADE.encode())
                answer = tls.recv(4096)  # TLS 1.3: a refused client certificate shows up here
                return answer.split(b"\r\n", 1)[0].decode() if answer else "EOF"
        except ssl.SSLError as exc:
            return str(exc.reason)


async def start(pki: dict[str, Any], profile: int, cert: str = "server", **kw: Any) -> CSMSServer:
    if profile == 2:
        kw["authenticate"] = lambda hs: hs.password == PASSWORD
    csms = CSMSServer(
        csms_router("2.0.1"),
        versions=("2.0.1",),
        security_profile=profile,
        ssl_context=server_ctx(pki, cert, client_certs=profile == 3),
        **kw,
    )
    await csms.start("127.0.0.1", 0)
    return csms


def station(csms: CSMSServer, profile: int, ctx: ssl.SSLContext) -> ChargingStation:
    extra: dict[str, Any] = {"password": PASSWORD} if profile == 2 else {}
    return ChargingStation(
        f"wss://127.0.0.1:{csms.port}/CS1", versions=("2.0.1",), security_profile=profile, ssl_context=ctx, **extra
    )


@pytest.mark.parametrize("profile", [2, 3])
def test_positive_control_good_certificates_connect(pki: dict[str, Any], profile: int) -> None:
    async def scenario() -> None:
        csms = await start(pki, profile)
        try:
            assert (await asyncio.to_thread(probe, csms.port, client_ctx(pki, "cs1"))).startswith(
                "HTTP/1.1 401" if profile == 2 else "HTTP/1.1 101"  # the raw probe sends no password
            )
            session = await station(csms, profile, client_ctx(pki, "cs1" if profile == 3 else None)).connect_once()
            try:
                assert (await session.call(HeartbeatRequest())).current_time is not None
                assert session.connection.version == "2.0.1"
            finally:
                await session.close(2)
            assert csms.refusals == ({"no-credentials": 1} if profile == 2 else {})
        finally:
            await csms.close()

    run(scenario())


def server_verify_errors(caplog: Any) -> list[str]:
    """What the server's TLS layer logged as certificate verification failures (asyncio logs a
    failed TLS handshake at DEBUG, in debug mode): OpenSSL's verify messages."""
    return [
        r.exc_info[1].verify_message
        for r in caplog.records
        if r.exc_info
        and isinstance(r.exc_info[1], ssl.SSLCertVerificationError)
        and "SSL handshake failed on verifying the certificate" in r.getMessage()
    ]


@pytest.mark.parametrize(
    "cert, verify_message",
    [("cs1-other-ca", "unable to get local issuer certificate"), ("cs1-expired", "certificate has expired")],
)
def test_profile_3_refuses_client_certificates_from_another_ca_or_expired(
    pki: dict[str, Any], cert: str, verify_message: str, caplog: Any
) -> None:
    async def scenario() -> None:
        asyncio.get_running_loop().set_debug(True)  # asyncio then logs why a TLS handshake failed
        seen: list[Handshake] = []
        csms = await start(pki, 3, authenticate=lambda hs: seen.append(hs) or True)
        try:
            tls12 = client_ctx(pki, cert)
            tls12.maximum_version = ssl.TLSVersion.TLSv1_2
            # TLS 1.2: the server verifies the certificate inside the handshake and hangs up.
            assert await asyncio.to_thread(probe, csms.port, tls12) == "UNEXPECTED_EOF_WHILE_READING"
            # TLS 1.3: the client's side of the handshake ends first; the request is never answered.
            assert await asyncio.to_thread(probe, csms.port, client_ctx(pki, cert)) == "EOF"
            with pytest.raises((ssl.SSLError, OSError, websockets.InvalidHandshake, EOFError)):
                await station(csms, 3, client_ctx(pki, cert)).connect_once()
            # Refused before HTTP: no handshake reached the identity rules, authenticate or a session.
            assert seen == [] and csms.sessions == {} and csms.refusals == {}
            ok = await asyncio.to_thread(probe, csms.port, client_ctx(pki, "cs1"))
            assert ok == "HTTP/1.1 101 Switching Protocols" and len(seen) == 1
        finally:
            await csms.close()

    with caplog.at_level(logging.DEBUG, logger="asyncio"):
        run(scenario())
    assert server_verify_errors(caplog) == [verify_message] * 3


def _tls11_client(pki: dict[str, Any]) -> ssl.SSLContext:
    ctx = client_ctx(pki, "cs1")
    with warnings.catch_warnings():  # ssl.TLSVersion.TLSv1 and TLSv1_1 are deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 offers TLS 1.1 only at security level 0
    return ctx


def _tls11_server_ctx(pki: dict[str, Any]) -> ssl.SSLContext:
    """A server context that would accept TLS 1.0 and 1.1 (as a careless deployment might)."""
    ctx = server_ctx(pki)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def _tls11_possible_here(pki: dict[str, Any]) -> str | None:
    """Whether this OpenSSL can do a TLS 1.1 handshake at all: a plain ssl server in a thread with
    the permissive context; None when it can, else why not."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = _tls11_server_ctx(pki)
    outcome: list[str] = []

    def accept() -> None:
        conn, _ = listener.accept()
        try:
            with server.wrap_socket(conn, server_side=True) as tls:
                outcome.append(str(tls.version()))
        except (ssl.SSLError, OSError) as exc:
            outcome.append(f"server: {exc}")
        finally:
            conn.close()

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with _tls11_client(pki).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                version = tls.version()
    except (ssl.SSLError, OSError) as exc:
        version = f"client: {exc}"
    finally:
        thread.join(5)
        listener.close()
    return None if version == "TLSv1.1" else f"{version}; {outcome}"


def test_a_client_limited_to_tls_1_1_is_refused(pki: dict[str, Any], caplog: Any) -> None:
    why_not = _tls11_possible_here(pki)
    if why_not is not None:
        pytest.skip(f"the local OpenSSL cannot complete a TLS 1.1 handshake even at SECLEVEL=0 ({why_not})")

    async def scenario() -> None:
        asyncio.get_running_loop().set_debug(True)  # asyncio then logs why a TLS handshake failed
        ctx = _tls11_server_ctx(pki)  # the control above: this context alone accepts TLS 1.1
        csms = CSMSServer(
            csms_router("2.0.1"), versions=("2.0.1",), security_profile=3, ssl_context=ctx, authenticate=None
        )
        assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2  # raised by CSMSServer
        await csms.start("127.0.0.1", 0)
        try:
            # The server hangs up inside the handshake (asyncio does not flush OpenSSL's alert) ...
            reason = await asyncio.to_thread(probe, csms.port, _tls11_client(pki))
            assert reason == "UNEXPECTED_EOF_WHILE_READING", reason
            assert csms.sessions == {} and csms.refusals == {}
            assert (
                await asyncio.to_thread(probe, csms.port, client_ctx(pki, "cs1")) == "HTTP/1.1 101 Switching Protocols"
            )
        finally:
            await csms.close()

    run(scenario())


@pytest.mark.parametrize("profile", [2, 3])
def test_a_station_refuses_a_csms_whose_certificate_has_expired(pki: dict[str, Any], profile: int) -> None:
    async def scenario() -> None:
        csms = await start(pki, profile, cert="server-expired")
        try:
            cs = station(csms, profile, client_ctx(pki, "cs1" if profile == 3 else None))
            with pytest.raises(ssl.SSLCertVerificationError) as refused:
                await cs.connect_once()
            assert refused.value.verify_message == "certificate has expired"
            assert csms.sessions == {} and csms.refusals == {}
            # The station's own loop refuses it too, and keeps the reason.
            await cs.start()
            with pytest.raises(asyncio.TimeoutError):
                await cs.wait_connected(0.5)
            assert isinstance(cs.last_error, ssl.SSLCertVerificationError) and cs.connections == 0
            await cs.close()
        finally:
            await csms.close()

    run(scenario())
