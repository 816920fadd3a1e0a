"""Security profile 3 binds each connection to its station: the client certificate's subject must
match the identity (CN by default, a user rule otherwise, the organisation when configured), over
real loopback TLS with trustme certificates; refusals are logged (escaped) and counted."""

from __future__ import annotations

import logging
import socket
import ssl
import subprocess
import sys
from typing import Any

import pytest
import trustme
import websockets

from ocppkit.adapters.demo import csms_router, run_station_session
from ocppkit.adapters.websockets import ChargingStation, CSMSServer, Handshake
from tests.adapters.aio import run

REFUSED = (ssl.SSLError, OSError, websockets.InvalidHandshake, EOFError)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ca = trustme.CA(organization_name="ocppkit test CA")
    certs = {
        "server": ca.issue_cert("127.0.0.1", "localhost", common_name="csms.example"),
        "cs1": ca.issue_cert("cs1.example", common_name="CS1", organization_name="ACME CPO"),
        "serial": ca.issue_cert("serial.example", common_name="SERIAL-4711", organization_name="ACME CPO"),
        "other-org": ca.issue_cert("cs2.example", common_name="CS2", organization_name="Evil Inc"),
        "other-ca": trustme.CA().issue_cert("cs1.example", common_name="CS1", organization_name="ACME CPO"),
    }
    folder = tmp_path_factory.mktemp("pki")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    for name, cert in certs.items():
        cert.private_key_and_cert_chain_pem.write_to_path(str(folder / f"{name}.pem"))
    return {"ca": ca, "folder": folder, **certs}


def _server_ctx(pki: dict[str, Any]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki["server"].configure_cert(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    pki["ca"].configure_trust(ctx)
    return ctx


def _client_ctx(pki: dict[str, Any], cert: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pki["ca"].configure_trust(ctx)
    pki[cert].configure_cert(ctx)
    return ctx


async def _attempt(csms: CSMSServer, pki: dict[str, Any], identity: str, cert: str) -> int:
    """200 when the station got a session (and ran one), else the HTTP status of the refusal."""
    station = ChargingStation(
        f"wss://127.0.0.1:{csms.port}/{identity}",
        versions=["2.0.1"],
        security_profile=3,
        ssl_context=_client_ctx(pki, cert),
    )
    try:
        session = await station.connect_once()
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)
    try:
        assert await run_station_session(session, "2.0.1") == []
    finally:
        await session.close(2)
    return 200


def _csms(pki: dict[str, Any], **kw: Any) -> CSMSServer:
    return CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), security_profile=3, ssl_context=_server_ctx(pki), **kw)


def test_the_certificate_cn_must_be_the_identity_by_default(pki: dict[str, Any], caplog: Any) -> None:
    async def scenario() -> None:
        csms = _csms(pki)
        await csms.start("127.0.0.1", 0)
        try:
            assert await _attempt(csms, pki, "CS1", "cs1") == 200
            assert await _attempt(csms, pki, "CS2", "cs1") == 401  # CS1's certificate, CS2's URL
            assert await _attempt(csms, pki, "CS1%1B%5B2J", "cs1") == 404  # no identity; logged escaped
            with pytest.raises(REFUSED):  # a certificate from another CA: the TLS handshake fails
                await _attempt(csms, pki, "CS1", "other-ca")
            assert csms.refusals == {"certificate": 1, "identity": 1}
        finally:
            await csms.close()

    with caplog.at_level(logging.WARNING, logger="ocppkit"):
        run(scenario())
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 2 and "'CS2'" in refusals[0] and "certificate" in refusals[0]
    assert "\x1b" not in refusals[1] and "\\x1b[2J" in refusals[1]


def test_a_custom_certificate_rule_replaces_the_cn_check(pki: dict[str, Any]) -> None:
    serials = {"CS003": "SERIAL-4711"}

    def by_serial(hs: Handshake) -> bool:
        return serials.get(hs.identity) == hs.certificate_common_name()

    async def scenario() -> None:
        csms = _csms(pki, certificate_rule=by_serial)
        await csms.start("127.0.0.1", 0)
        try:
            assert await _attempt(csms, pki, "CS003", "serial") == 200
            assert await _attempt(csms, pki, "SERIAL-4711", "serial") == 401  # the rule, not the CN, decides
            assert csms.refusals == {"certificate": 1}
        finally:
            await csms.close()

    run(scenario())


def test_the_organization_must_match_when_configured(pki: dict[str, Any]) -> None:
    async def scenario() -> None:
        csms = _csms(pki, organization="ACME CPO")
        await csms.start("127.0.0.1", 0)
        try:
            assert await _attempt(csms, pki, "CS1", "cs1") == 200
            assert await _attempt(csms, pki, "CS2", "other-org") == 401  # the CN matches, the O does not
            assert csms.refusals == {"organization": 1}
        finally:
            await csms.close()
        csms = _csms(pki)  # without an organisation configured, O is not checked
        await csms.start("127.0.0.1", 0)
        try:
            assert await _attempt(csms, pki, "CS2", "other-org") == 200
        finally:
            await csms.close()

    run(scenario())


def test_ocppkit_serve_binds_certificates_and_checks_the_organization(pki: dict[str, Any]) -> None:
    folder = pki["folder"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    serve = subprocess.Popen(
        [sys.executable, "-m", "ocppkit", "serve", "--port", str(port), "--security-profile", "3"]
        + ["--certfile", str(folder / "server.pem"), "--cafile", str(folder / "ca.pem")]
        + ["--organization", "ACME CPO"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def station(identity: str, cert: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ocppkit", "station", "--url", f"wss://127.0.0.1:{port}/{identity}"]
            + ["--certfile", str(folder / f"{cert}.pem"), "--cafile", str(folder / "ca.pem")]
            + ["--connect-timeout", "2"],
            capture_output=True,
            text=True,
            timeout=60,
        )

    try:
        assert serve.stdout is not None
        assert "CSMS listening" in serve.stdout.readline()
        ok = station("CS1", "cs1")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        for identity, cert in (("CS9", "cs1"), ("CS2", "other-org")):  # CN mismatch; O mismatch
            bad = station(identity, cert)
            assert bad.returncode == 1 and "could not connect" in bad.stderr, bad.stdout + bad.stderr
    finally:
        serve.terminate()
        serve.wait(10)
        assert serve.stdout is not None
        serve.stdout.close()
