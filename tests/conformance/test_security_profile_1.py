"""Every transport: security profile 1 (HTTP Basic; 401 with WWW-Authenticate without or with a
wrong password), the throttle (429 with Retry-After, per identity and per source address,
counted, never logging the password), a raising ``authenticate`` (500 for that handshake only),
and the duplicate-connection policy (``replace`` at once and limited; ``reject``: 409)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any

import pytest
import websockets

from ocppkit.adapters.demo import csms_router, run_station_session
from ocppkit.adapters.websockets import AuthThrottle, ChargingStation, Handshake, basic_auth_header

from .conftest import Harness
from .peers import boot201, call, open_raw, refused, status

PASSWORD = "right-password-16chars"
HEARTBEAT = '[2,"1","Heartbeat",{}]'


def check(hs: Handshake) -> bool:
    return hs.password_bytes is not None and hmac.compare_digest(hs.password_bytes, PASSWORD.encode())


def profile_1(**more: Any) -> dict[str, Any]:
    return {"versions": ("2.0.1",), "security_profile": 1, "authenticate": check, **more}


async def attempt(url: str, identity: str, password: str) -> int:
    return await status(
        f"{url}/{identity}", additional_headers={"Authorization": basic_auth_header(identity, password)}
    )


def test_profile_1_basic_auth(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), **profile_1(auth_throttle=None)) as (_, url):
            async with ChargingStation(f"{url}/CS001", versions=["2.0.1"], security_profile=1, password=PASSWORD) as st:
                assert (await st.call(boot201())).status == "Accepted"
            for headers in (
                {},
                {"Authorization": basic_auth_header("CS001", "wrong-password-123")},
                {"Authorization": basic_auth_header("OTHER", PASSWORD)},  # another station's user name
                {"Authorization": "Basic !!!"},
            ):
                response = await refused(f"{url}/CS001", additional_headers=headers)
                assert response.status_code == 401, headers
                # the challenge (RFC 7617) on every 401, with or without credentials (RFC 7235 §3.1)
                assert response.headers["WWW-Authenticate"] == 'Basic realm="ocpp", charset="UTF-8"', headers

    transport.run(scenario())
    # The header of the specification's example.
    assert basic_auth_header("CS001", "aB3dE5fG7hJ9kL1mN2pQ") == "Basic Q1MwMDE6YUIzZEU1Zkc3aEo5a0wxbU4ycFE="


def test_profile_1_with_a_16_authorization_key_raw_or_text(transport: Harness) -> None:
    key = "00112233445566778899AABBCCDDEEFF00112233"
    assert basic_auth_header("CP001", bytes.fromhex(key)) == "Basic Q1AwMDE6ABEiM0RVZneImaq7zN3u/wARIjM="

    async def scenario() -> None:
        auth = {
            "security_profile": 1,
            "authenticate": lambda hs: hs.password_bytes in (bytes.fromhex(key), key.encode()),
        }
        async with transport.serve(csms_router("1.6"), versions=("1.6",), **auth) as (_, url):
            for encoding in ("hex-bytes", "text"):
                async with ChargingStation(
                    f"{url}/CP001", versions=["1.6"], security_profile=1, password=key, password_encoding=encoding
                ) as st:
                    assert await run_station_session(st.session, "1.6") == []  # type: ignore[arg-type]

    transport.run(scenario())


def test_password_guessing_is_slowed_down_per_identity(transport: Harness, caplog: Any) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), **profile_1()) as (csms, url):
            statuses = [await attempt(url, "CS1", f"guess-{n:016d}") for n in range(10)]
            assert statuses == [401] * 3 + [429] * 7  # three tries, then refused without asking
            assert await attempt(url, "CS1", PASSWORD) == 429  # locked for a while, even the right one
            response = await refused(
                f"{url}/CS1", additional_headers={"Authorization": basic_auth_header("CS1", PASSWORD)}
            )
            assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
            assert await attempt(url, "CS2", PASSWORD) == 101  # another station from the same address
            assert csms.refusals["authentication"] == 3 and csms.refusals["throttled"] == 9
            assert csms.auth_throttle is not None and len(csms.auth_throttle) == 2  # CS1 and 127.0.0.1

    with caplog.at_level(logging.WARNING, logger="ocppkit"):
        transport.run(scenario())
    assert "guess-" not in caplog.text and PASSWORD not in caplog.text


def test_guessing_across_identities_locks_the_source_address(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(
            csms_router("2.0.1"), **profile_1(auth_throttle=AuthThrottle(address_failures=4))
        ) as (
            _,
            url,
        ):
            statuses = [await attempt(url, f"CS{n}", "wrong-password-0000") for n in range(6)]
            assert statuses == [401] * 4 + [429] * 2
            assert await attempt(url, "NEW", PASSWORD) == 429  # the address is refused for a while
        async with transport.serve(csms_router("2.0.1"), **profile_1(auth_throttle=None)) as (_, url):
            # without a throttle every attempt reaches authenticate
            assert [await attempt(url, "CS1", "wrong-password-0000") for _ in range(5)] == [401] * 5

    transport.run(scenario())


def test_a_raising_authenticate_refuses_that_handshake_with_500(transport: Harness, caplog: Any) -> None:
    def authenticate(hs: Handshake) -> bool:
        if hs.identity == "BOOM":
            raise RuntimeError("bug in the hook")
        return check(hs)

    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), **profile_1(authenticate=authenticate)) as (csms, url):
            assert await attempt(url, "BOOM", PASSWORD) == 500
            assert await attempt(url, "CS1", PASSWORD) == 101  # the server still serves the others
            assert csms.refusals == {"authenticate-error": 1}

    with caplog.at_level(logging.ERROR, logger="ocppkit"):
        transport.run(scenario())
    assert "authenticate raised" in caplog.text and PASSWORD not in caplog.text


# ----------------------------------------------------------------------- duplicates


async def wait_for(condition: Any) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_replace_takes_over_at_once_and_is_limited(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), max_replacements=2) as (csms, url):
            old = await open_raw(f"{url}/CS1")
            assert "currentTime" in (await call(old, HEARTBEAT))[2]  # a station that speaks: its takeover counts
            first = csms.sessions["CS1"]
            started = time.monotonic()
            new = await open_raw(f"{url}/CS1")
            assert "currentTime" in (await call(new, HEARTBEAT))[2]  # the new connection is served ...
            assert time.monotonic() - started < 1.0
            await wait_for(lambda: first.closed.is_set())
            assert csms.sessions["CS1"] is not first and first.close_reason == "replaced by a new connection"
            with pytest.raises(websockets.ConnectionClosed) as closed:  # ... the old one was aborted
                await call(old, HEARTBEAT)
            assert closed.value.rcvd is None  # no close frame: aborted, not closed gracefully
            third = await open_raw(f"{url}/CS1")  # the second takeover within a minute
            assert "currentTime" in (await call(third, HEARTBEAT))[2]
            assert (await refused(f"{url}/CS1")).status_code == 409  # the third is one too many
            assert csms.refusals == {"replacement-limit": 1}
            assert "currentTime" in (await call(third, HEARTBEAT))[2]  # the current station keeps working
            await third.close()
            await wait_for(lambda: "CS1" not in csms.sessions)
            assert len(csms._takeovers) == 1  # the takeover history outlives the sessions (bounded)
            for ws in (old, new):
                await ws.close()

    transport.run(scenario())


def test_reject_refuses_a_second_connection_while_the_first_is_alive(transport: Harness) -> None:
    async def scenario() -> None:
        async with transport.serve(csms_router("2.0.1"), versions=("2.0.1",), duplicates="reject") as (csms, url):
            first = await open_raw(f"{url}/CS1")
            await wait_for(lambda: "CS1" in csms.sessions)
            assert (await refused(f"{url}/CS1")).status_code == 409 and csms.refusals == {"duplicate": 1}
            assert "currentTime" in (await call(first, HEARTBEAT))[2]
            await first.close()
            await wait_for(lambda: "CS1" not in csms.sessions)
            second = await open_raw(f"{url}/CS1")  # once the first is gone, it may connect
            assert "currentTime" in (await call(second, HEARTBEAT))[2]
            await second.close()

    transport.run(scenario())
