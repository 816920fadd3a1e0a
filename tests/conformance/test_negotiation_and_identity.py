"""Every transport: subprotocol negotiation (the station's order of preference; none -> the
handshake completes without one and the CSMS closes with 1002) and the identity rules (HTTP 404
before the upgrade for a bad path or identity, one URL per station), over real loopback sockets."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import websockets

from ocppkit.adapters.demo import csms_router, run_station_session
from ocppkit.adapters.websockets import ChargingStation, Handshake

from .conftest import Harness
from .peers import V201, boot201, closed_with, open_raw, status


def test_subprotocol_negotiation_follows_the_station_preference(transport: Harness) -> None:
    async def scenario() -> None:
        routers = {"2.0.1": csms_router("2.0.1"), "1.6": csms_router("1.6")}
        async with transport.serve(routers, versions=("2.0.1", "1.6")) as (csms, url):
            for offered, agreed in (
                (("1.6", "2.0.1"), "1.6"),
                (("2.1", "2.0.1"), "2.0.1"),
                (("2.0.1", "1.6"), "2.0.1"),
            ):
                async with ChargingStation(f"{url}/CS1", versions=offered) as st:
                    assert st.session is not None and st.session.version == agreed
                    assert await run_station_session(st.session, agreed) == []
            # No common version: the handshake completes without a subprotocol, then the CSMS closes.
            ws = await open_raw(f"{url}/CS1", ["ocpp2.1"])
            assert ws.subprotocol is None
            assert (await closed_with(ws))[0] == 1002
            with pytest.raises(ConnectionError, match="none of our OCPP versions"):
                await ChargingStation(f"{url}/CS1", versions=["2.1"]).connect_once()
            assert not csms.sessions

    transport.run(scenario())


def test_a_router_per_version_negotiates_only_those_versions(transport: Harness) -> None:
    async def scenario() -> None:
        seen: list[list[str]] = []

        def authenticate(hs: Handshake) -> bool:
            seen.append(hs.subprotocols)
            return True

        async with transport.serve({"2.0.1": csms_router("2.0.1")}, authenticate=authenticate) as (csms, url):
            assert csms.versions == ["2.0.1"]
            async with ChargingStation(f"{url}/NEG1", versions=["2.1", "2.0.1"]) as st:
                assert seen == [["ocpp2.1", "ocpp2.0.1"]]
                assert st.session is not None and st.session.version == "2.0.1"
                assert st.session.transport.ws.subprotocol == "ocpp2.0.1"  # type: ignore[attr-defined]
                assert (await st.call(boot201())).status == "Accepted"
        # Two routers: both versions, newest first; a 1.6 station still gets 1.6.
        async with transport.serve({"1.6": csms_router("1.6"), "2.1": csms_router("2.1")}) as (csms, url):
            assert csms.versions == ["2.1", "1.6"]
            for offered, agreed in ((["2.1", "2.0.1", "1.6"], "2.1"), (["2.0.1", "1.6"], "1.6")):
                async with ChargingStation(f"{url}/NEG3", versions=offered) as st:
                    assert st.session is not None and st.session.version == agreed
                    assert await run_station_session(st, agreed) == []

    transport.run(scenario())


def test_identity_and_authenticate_hook(transport: Harness) -> None:
    seen: list[Handshake] = []

    def authenticate(hs: Handshake) -> bool | int:
        seen.append(hs)
        return 404 if hs.identity.startswith("UNKNOWN") else True

    async def scenario() -> None:
        kwargs: dict[str, Any] = {"versions": ("2.0.1",), "authenticate": authenticate, "path_prefix": "/ocpp/"}
        async with transport.serve(csms_router("2.0.1"), **kwargs) as (csms, url):
            async with ChargingStation(f"{url}/ocpp/RDAM%7C123", versions=["2.0.1"]):
                assert set(csms.sessions) == {"RDAM|123"} and csms.sessions["RDAM|123"].identity == "RDAM|123"
            for path in ("/ocpp/UNKNOWN-1", "/ocpp/a%3Ab", "/"):
                assert await status(f"{url}{path}") == 404, path
            assert seen[0].subprotocols == ["ocpp2.0.1"] and seen[0].path == "/ocpp/RDAM%7C123"

    transport.run(scenario())


HOSTILE = [
    "/CS%00NUL",  # NUL
    "/CS%0D%0AInjected:%20header",  # CR LF
    "/CS%1B%5B2J%1B%5B31m",  # terminal escapes (clear screen, red)
    "/a%2Fb",  # an encoded / in the identity
    "/..",  # a dot segment
    "/../CS1",  # path traversal: more than one segment
    "/" + "X" * 49,  # longer than 48 characters
    "/a/CS1",  # a second URL for CS1
    "/CS%FF",  # not UTF-8
    "/",  # empty
    "/CS1/",  # empty last segment
]


@pytest.mark.parametrize("offer", [["ocpp2.0.1"], ["ocpp1.6"]])
def test_hostile_identities_are_refused_before_the_upgrade(transport: Harness, offer: list[str], caplog: Any) -> None:
    async def scenario() -> None:
        async with transport.serve({"1.6": csms_router("1.6"), "2.0.1": csms_router("2.0.1")}) as (csms, url):
            assert [await status(f"{url}{path}", offer) for path in HOSTILE] == [404] * len(HOSTILE)
            assert await status(f"{url}/CS1", offer) == 101  # the one URL of CS1
            assert csms.refusals["path"] + csms.refusals["identity"] == len(HOSTILE)

    with caplog.at_level(logging.WARNING, logger="ocppkit"):
        transport.run(scenario())
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == len(HOSTILE)
    for record in caplog.records:
        text = record.getMessage()
        assert text.isprintable() and "\x1b" not in text and "\r" not in text and "\x00" not in text


def test_the_2x_rule_applies_when_only_2x_is_offered(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve({"1.6": csms_router("1.6"), "2.0.1": csms_router("2.0.1")}) as (_, url):
            assert await status(f"{url}/RDAM%20123", ["ocpp1.6"]) == 101  # the 1.6 example identity
            assert await status(f"{url}/RDAM%20123", ["ocpp2.0.1", "ocpp1.6"]) == 101
            assert await status(f"{url}/RDAM%20123", ["ocpp2.0.1"]) == 404  # a space: no identifierString
            assert await status(f"{url}/RDAM%7C123", ["ocpp2.0.1"]) == 101

    transport.run(scenario())


def test_a_prefix_and_a_user_rule_replace_the_defaults(transport: Harness) -> None:
    async def scenario() -> None:
        rule = {"path_prefix": "/ocpp/", "identity_rule": lambda identity, offered: identity.startswith("ACME-")}
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), **rule) as (_, url):
            assert await status(f"{url}/ocpp/ACME-1", V201) == 101
            for path in ("/ACME-1", "/other/ACME-1", "/ocpp/x/ACME-1", "/ocpp/CS1"):
                assert await status(f"{url}{path}", V201) == 404, path

    transport.run(scenario())


def test_an_upgrade_that_is_no_websocket_request_is_refused(transport: Harness) -> None:
    """Plain HTTP to the station URL gets an HTTP error, never a session."""

    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1")) as (csms, url):
            with pytest.raises(websockets.InvalidStatus):
                await open_raw(f"{url}/CS1", V201, additional_headers={"Sec-WebSocket-Version": "12"})
            assert not csms.sessions

    transport.run(scenario())
