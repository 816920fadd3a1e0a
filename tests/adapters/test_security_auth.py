"""Authentication under attack, over real loopback sockets: password guessing is throttled per
identity and per source address (counted refusals, not timing), the right password of another
station still works, failures are logged without the password, and a raising ``authenticate``
refuses only that handshake with HTTP 500."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable
from typing import Any

import websockets
from websockets.asyncio.client import connect

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import AuthThrottle, CSMSServer, Handshake, basic_auth_header

PASSWORD = "right-password-16chars"


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


def check(hs: Handshake) -> bool:
    return hs.password_bytes is not None and hmac.compare_digest(hs.password_bytes, PASSWORD.encode())


async def attempt(csms: CSMSServer, identity: str, password: str) -> int:
    """101 when the upgrade succeeded, else the HTTP status of the refusal."""
    headers = {"Authorization": basic_auth_header(identity, password)}
    try:
        async with connect(
            f"ws://127.0.0.1:{csms.port}/{identity}",
            subprotocols=["ocpp2.0.1"],
            additional_headers=headers,  # type: ignore[list-item]
        ):
            return 101
    except websockets.InvalidStatus as exc:
        return int(exc.response.status_code)


def test_password_guessing_is_slowed_down_per_identity(caplog: Any) -> None:
    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), security_profile=1, authenticate=check)
        await csms.start("127.0.0.1", 0)
        try:
            statuses = [await attempt(csms, "CS1", f"guess-{n:016d}") for n in range(10)]
            assert statuses == [401] * 3 + [429] * 7  # three tries, then refused without asking
            assert await attempt(csms, "CS1", PASSWORD) == 429  # locked for a while, even the right one
            assert await attempt(csms, "CS2", PASSWORD) == 101  # another station from the same address
            assert csms.refusals["authentication"] == 3 and csms.refusals["throttled"] == 8
            assert csms.auth_throttle is not None and len(csms.auth_throttle) == 2  # CS1 and 127.0.0.1
        finally:
            await csms.close()

    with caplog.at_level(logging.WARNING, logger="ocppkit"):
        run(scenario())
    assert "guess-" not in caplog.text and PASSWORD not in caplog.text


def test_guessing_across_identities_locks_the_source_address() -> None:
    async def scenario() -> None:
        csms = CSMSServer(
            csms_router("2.0.1"),
            versions=("2.0.1",),
            security_profile=1,
            authenticate=check,
            auth_throttle=AuthThrottle(address_failures=4),
        )
        await csms.start("127.0.0.1", 0)
        try:
            statuses = [await attempt(csms, f"CS{n}", "wrong-password-0000") for n in range(6)]
            assert statuses == [401] * 4 + [429] * 2
            assert await attempt(csms, "NEW", PASSWORD) == 429  # the address is refused for a while
        finally:
            await csms.close()
        csms = CSMSServer(
            csms_router("2.0.1"), versions=("2.0.1",), security_profile=1, authenticate=check, auth_throttle=None
        )
        await csms.start("127.0.0.1", 0)
        try:  # without a throttle every attempt reaches authenticate
            assert [await attempt(csms, "CS1", "wrong-password-0000") for _ in range(5)] == [401] * 5
        finally:
            await csms.close()

    run(scenario())


def test_the_throttle_table_is_bounded() -> None:
    throttle = AuthThrottle(max_entries=100, forget_after=60)
    for n in range(1000):
        throttle.failed([("identity", f"CS{n}")], now=float(n) / 100)
    assert len(throttle) == 100
    assert throttle.locked([("identity", "CS999")], now=1000.0) == 0 and len(throttle) == 0  # expired


def test_a_raising_authenticate_refuses_that_handshake_with_500(caplog: Any) -> None:
    def authenticate(hs: Handshake) -> bool:
        if hs.identity == "BOOM":
            raise RuntimeError("bug in the hook")
        return check(hs)

    async def scenario() -> None:
        csms = CSMSServer(csms_router("2.0.1"), versions=("2.0.1",), security_profile=1, authenticate=authenticate)
        await csms.start("127.0.0.1", 0)
        try:
            assert await attempt(csms, "BOOM", PASSWORD) == 500
            assert await attempt(csms, "CS1", PASSWORD) == 101  # the server still serves the others
            assert csms.refusals == {"authenticate-error": 1}
        finally:
            await csms.close()

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        run(scenario())
    assert "authenticate raised" in caplog.text and PASSWORD not in caplog.text
