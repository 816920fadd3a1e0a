"""Hostile identities and paths are refused with HTTP 404 before the upgrade, over real loopback
sockets: control characters, terminal escapes, an encoded ``/``, dot segments, over-long
identities, and a second URL for the same station; the log never carries them raw."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import (
    CSMSServer,
    default_identity_rule,
    identifier_string_rule,
    identity_in_path,
    lenient_identity_rule,
)


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def status(port: int, path: str, subprotocols: list[str]) -> int:
    """101 when the upgrade succeeded, else the HTTP status of the refusal."""
    try:
        async with connect(f"ws://127.0.0.1:{port}{path}", subprotocols=subprotocols):  # type: ignore[arg-type]
            return 101
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)


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
def test_hostile_identities_are_refused_before_the_upgrade(offer: list[str], caplog: Any) -> None:
    async def scenario() -> None:
        csms = CSMSServer({"1.6": csms_router("1.6"), "2.0.1": csms_router("2.0.1")})
        await csms.start("127.0.0.1", 0)
        try:
            assert [await status(csms.port, path, offer) for path in HOSTILE] == [404] * len(HOSTILE)
            assert await status(csms.port, "/CS1", offer) == 101  # the one URL of CS1
            assert csms.refusals["path"] + csms.refusals["identity"] == len(HOSTILE)
        finally:
            await csms.close()

    with caplog.at_level(logging.WARNING, logger="ocppkit"):
        run(scenario())
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == len(HOSTILE)
    for record in caplog.records:
        text = record.getMessage()
        assert text.isprintable() and "\x1b" not in text and "\r" not in text and "\x00" not in text


def test_the_2x_rule_applies_when_only_2x_is_offered() -> None:
    async def scenario() -> None:
        csms = CSMSServer({"1.6": csms_router("1.6"), "2.0.1": csms_router("2.0.1")})
        await csms.start("127.0.0.1", 0)
        try:
            assert await status(csms.port, "/RDAM%20123", ["ocpp1.6"]) == 101  # the 1.6 example identity
            assert await status(csms.port, "/RDAM%20123", ["ocpp2.0.1", "ocpp1.6"]) == 101
            assert await status(csms.port, "/RDAM%20123", ["ocpp2.0.1"]) == 404  # a space: no identifierString
            assert await status(csms.port, "/RDAM%7C123", ["ocpp2.0.1"]) == 101
        finally:
            await csms.close()

    run(scenario())


def test_a_prefix_and_a_user_rule_replace_the_defaults() -> None:
    async def scenario() -> None:
        csms = CSMSServer(
            csms_router("2.0.1"),
            versions=("2.0.1",),
            path_prefix="/ocpp/",
            identity_rule=lambda identity, offered: identity.startswith("ACME-"),
        )
        await csms.start("127.0.0.1", 0)
        try:
            assert await status(csms.port, "/ocpp/ACME-1", ["ocpp2.0.1"]) == 101
            for path in ("/ACME-1", "/other/ACME-1", "/ocpp/x/ACME-1", "/ocpp/CS1"):
                assert await status(csms.port, path, ["ocpp2.0.1"]) == 404, path
        finally:
            await csms.close()

    run(scenario())
    with pytest.raises(ValueError, match="path_prefix"):
        CSMSServer(csms_router("2.0.1"), path_prefix="/ocpp")


def test_the_rules_as_functions() -> None:
    assert identity_in_path("/RDAM%7C123?x=1") == "RDAM|123"
    assert identity_in_path("/a/b") is None and identity_in_path("/a/b", "/a/") == "b"
    assert identifier_string_rule("CS*-_=+|@.1") and not identifier_string_rule("CS 1")
    assert not identifier_string_rule("a:b") and not identifier_string_rule("X" * 49)
    assert lenient_identity_rule("RDAM 123") and not lenient_identity_rule("a\tb")
    assert not lenient_identity_rule("a/b") and not lenient_identity_rule("..")
    assert default_identity_rule("RDAM 123", ["ocpp1.6"]) and not default_identity_rule("RDAM 123", ["ocpp2.1"])
    assert default_identity_rule("RDAM 123", [])  # no offer the CSMS knows: lenient
