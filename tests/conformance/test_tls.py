"""The transports whose CSMS listens itself (``Server.listens``): security profile 2 (TLS 1.2+
and HTTP Basic) and 3 (mutual TLS, the certificate bound to the identity), with trustme
certificates over real loopback TLS. A CSMS served behind another server gets its TLS there."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
import trustme
import websockets

from ocppkit.adapters.demo import csms_router, run_station_session
from ocppkit.adapters.websockets import ChargingStation, Handshake

from .conftest import Harness
from .peers import status

PASSWORD = "sixteen-chars-pw"


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    ca = trustme.CA(organization_name="ocppkit test CA")
    return {
        "ca": ca,
        "server": ca.issue_cert("127.0.0.1", "localhost", common_name="csms.example"),
        "station": ca.issue_cert("serial-4711.example", common_name="SERIAL-4711", organization_name="ACME CPO"),
        "other": trustme.CA().issue_cert("x.example", common_name="SERIAL-4711"),  # from an unknown CA
    }


def server_ctx(pki: dict[str, Any], mutual: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki["server"].configure_cert(ctx)
    if mutual:
        ctx.verify_mode = ssl.CERT_REQUIRED
        pki["ca"].configure_trust(ctx)
    return ctx


def client_ctx(pki: dict[str, Any], cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    pki["ca"].configure_trust(ctx)
    if cert is not None:
        pki[cert].configure_cert(ctx)
    return ctx


def test_profile_2_tls_and_basic_auth(tls_transport: Harness, pki: dict[str, Any]) -> None:
    ctx = server_ctx(pki, mutual=False)
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED

    async def scenario() -> None:
        auth = {"security_profile": 2, "ssl_context": ctx, "authenticate": lambda hs: hs.password == PASSWORD}
        async with tls_transport.serve(csms_router("2.0.1"), versions=("2.0.1",), **auth) as (_, url):
            assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2  # OCPP: TLS 1.2 or newer
            assert url.startswith("wss://")
            async with ChargingStation(
                f"{url}/CS002", versions=["2.0.1"], security_profile=2, password=PASSWORD, ssl_context=client_ctx(pki)
            ) as st:
                assert await run_station_session(st.session, "2.0.1") == []  # type: ignore[arg-type]
                ssl_obj = st.session.transport.ws.transport.get_extra_info("ssl_object")  # type: ignore[union-attr]
                assert ssl_obj.version() in ("TLSv1.2", "TLSv1.3")
            assert await status(f"{url}/CS002", ssl=client_ctx(pki)) == 401  # TLS, but no password
            with pytest.raises(websockets.InvalidStatus):
                await ChargingStation(
                    f"{url}/CS002",
                    versions=["2.0.1"],
                    security_profile=2,
                    password="wrong-password!!",
                    ssl_context=client_ctx(pki),
                ).connect_once()
            with pytest.raises(ssl.SSLError):  # a station that does not trust the CSMS certificate
                await ChargingStation(
                    f"{url}/CS002",
                    versions=["2.0.1"],
                    security_profile=2,
                    password=PASSWORD,
                    ssl_context=ssl.create_default_context(),
                ).connect_once()

    tls_transport.run(scenario())


def test_profile_3_mutual_tls_with_the_certificate_bound_to_the_identity(
    tls_transport: Harness, pki: dict[str, Any]
) -> None:
    serials = {"CS003": "SERIAL-4711", "CS004": "SERIAL-0000"}

    def rule(hs: Handshake) -> bool:
        return hs.certificate_common_name() == serials.get(hs.identity)

    async def scenario() -> None:
        tls = {"security_profile": 3, "ssl_context": server_ctx(pki, mutual=True), "certificate_rule": rule}
        async with tls_transport.serve(csms_router("2.0.1"), versions=("2.0.1",), **tls) as (csms, url):
            async with ChargingStation(
                f"{url}/CS003", versions=["2.0.1"], security_profile=3, ssl_context=client_ctx(pki, "station")
            ) as st:
                assert await run_station_session(st.session, "2.0.1") == []  # type: ignore[arg-type]
            with pytest.raises(websockets.InvalidStatus) as err:  # the CN is not CS004's serial number
                await ChargingStation(
                    f"{url}/CS004", versions=["2.0.1"], security_profile=3, ssl_context=client_ctx(pki, "station")
                ).connect_once()
            assert err.value.response.status_code == 401 and csms.refusals["certificate"] == 1
            for cert in (None, "other"):  # no client certificate, or one from an unknown CA
                with pytest.raises((ssl.SSLError, OSError, websockets.InvalidHandshake, EOFError)):
                    await ChargingStation(
                        f"{url}/CS003", versions=["2.0.1"], security_profile=3, ssl_context=client_ctx(pki, cert)
                    ).connect_once()
            assert not csms.sessions

    tls_transport.run(scenario())


def test_profile_3_checks_the_organization_when_configured(tls_transport: Harness, pki: dict[str, Any]) -> None:
    async def scenario() -> None:
        for organization, expected in (("ACME CPO", 101), ("Other CPO", 401)):
            tls = {"security_profile": 3, "ssl_context": server_ctx(pki, mutual=True), "organization": organization}
            async with tls_transport.serve(csms_router("2.0.1"), versions=("2.0.1",), **tls) as (_, url):
                assert await status(f"{url}/SERIAL-4711", ssl=client_ctx(pki, "station")) == expected

    tls_transport.run(scenario())
