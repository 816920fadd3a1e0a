"""The simulated station handles every valid answer: minimal ones (required fields only, e.g. a
TransactionEventResponse without idTokenInfo), full ones (every field), and refusals, in all
three versions, over real loopback sockets; and through ``ocppkit station``."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable
from typing import Any

import pytest

import ocppkit
from ocppkit.adapters.demo import csms_router, run_station_session
from ocppkit.adapters.websockets import ChargingStation, CSMSServer
from tests.adapters.answers import NOW, answering_router, module

VERSIONS = ["1.6", "2.0.1", "2.1"]

SESSION = {
    "1.6": [
        "BootNotification",
        "StatusNotification",
        "Authorize",
        "StartTransaction",
        "MeterValues",
        "MeterValues",
        "StopTransaction",
        "StatusNotification",
    ],
    "2.0.1": [
        "BootNotification",
        "StatusNotification",
        "Authorize",
        "TransactionEvent",
        "TransactionEvent",
        "TransactionEvent",
        "StatusNotification",
    ],
}
SESSION["2.1"] = SESSION["2.0.1"][:5] + ["NotifyPeriodicEventStream"] + SESSION["2.0.1"][5:]


def run(coro: Awaitable[Any], timeout: float = 30.0) -> Any:
    async def main() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


class Csms:
    """A CSMSServer recording what the station sent (calls and SENDs) and the wire frames."""

    def __init__(self, version: str, router: ocppkit.Router) -> None:
        self.received: list[Any] = []  # request payloads, in order
        self.frames: list[list[Any]] = []  # every frame, both directions

        def on_event(session: Any, event: Any) -> None:
            if isinstance(event, ocppkit.CallReceived):
                self.received.append(event.request)
            elif isinstance(event, ocppkit.SendReceived):
                self.received.append(event.payload)

        self.server = CSMSServer(
            {version: router},
            on_event=on_event,
            on_frame=lambda identity, direction, data: self.frames.append(json.loads(data)),
            ping_interval=None,
        )

    @property
    def actions(self) -> list[str]:
        return [type(r).__name__.removesuffix("Request") for r in self.received]

    def answer_to(self, action: str, nth: int = 0) -> Any:
        """The payload of the CALLRESULT the CSMS sent to the nth ``action`` call."""
        ids = [f[1] for f in self.frames if f[0] == 2 and f[2] == action]
        return next(f[2] for f in self.frames if f[0] == 3 and f[1] == ids[nth])


async def session_against(version: str, router: ocppkit.Router) -> tuple[list[str], Csms]:
    csms = Csms(version, router)
    await csms.server.start("127.0.0.1", 0)
    try:
        async with ChargingStation(
            f"ws://127.0.0.1:{csms.server.port}/CS-ANSWERS", versions=[version], ping_interval=None
        ) as station:
            problems = await run_station_session(station, version)
    finally:
        await csms.server.close()
    return problems, csms


@pytest.mark.parametrize("full", [False, True], ids=["minimal", "full"])
@pytest.mark.parametrize("version", VERSIONS)
def test_every_step_accepts_minimal_and_full_answers(version: str, full: bool) -> None:
    problems, csms = run(session_against(version, answering_router(version, full=full)))
    assert problems == []
    assert csms.actions == SESSION[version]  # the session went to the end
    if version == "1.6":
        stop = csms.answer_to("StopTransaction")
        assert ("idTagInfo" in stop) is full
    else:
        started = csms.answer_to("TransactionEvent")
        assert ("idTokenInfo" in started) is full  # minimal: the answer of the issue, `{}`
        if not full:
            assert started == {}
        else:
            assert {"totalCost", "chargingPriority", "updatedPersonalMessage"} <= set(started)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_demo_csms_and_station_agree(version: str) -> None:
    problems, csms = run(session_against(version, csms_router(version)))
    assert problems == [] and csms.actions == SESSION[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_boot_that_is_not_accepted_stops_the_session(version: str) -> None:
    m = module(version)
    statuses = m.RegistrationStatus if version == "1.6" else m.RegistrationStatusEnumType

    async def scenario() -> None:
        for status in statuses:
            if status.value == "Accepted":
                continue
            boot = m.BootNotificationResponse(current_time=NOW, interval=17, status=status)
            router = answering_router(version, full=False, overrides={"BootNotification": boot})
            problems, csms = await session_against(version, router)
            assert csms.actions == ["BootNotification"]
            assert len(problems) == 1 and problems[0].startswith("BootNotification: the CSMS answered")
            assert status.value in problems[0] and "17 s" in problems[0]

    run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_token_that_is_not_accepted_starts_no_transaction(version: str) -> None:
    """Every non-Accepted authorization status, in full and minimal answers."""
    m = module(version)
    statuses = m.AuthorizationStatus if version == "1.6" else m.AuthorizationStatusEnumType
    info_cls = m.IdTagInfo if version == "1.6" else m.IdTokenInfoType

    async def scenario() -> None:
        for status in statuses:
            if status.value == "Accepted":
                continue
            info = info_cls(status=status)
            refusal = (
                m.AuthorizeResponse(id_tag_info=info) if version == "1.6" else m.AuthorizeResponse(id_token_info=info)
            )
            router = answering_router(version, full=True, overrides={"Authorize": refusal})
            problems, csms = await session_against(version, router)
            assert csms.actions == ["BootNotification", "StatusNotification", "Authorize"]
            assert problems == [
                f"Authorize: the CSMS answered {status.value} for {'id tag' if version == '1.6' else 'token'} 04A2B3C4"
            ]

    run(scenario())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_transaction_the_csms_deauthorizes_ends_at_once(version: str) -> None:
    """The token is accepted by Authorize, then refused in the transaction's answer."""
    m = module(version)
    if version == "1.6":
        refused: Any = m.StartTransactionResponse(
            transaction_id=42, id_tag_info=m.IdTagInfo(status=m.AuthorizationStatus.BLOCKED)
        )
        action = "StartTransaction"
    else:
        refused = m.TransactionEventResponse(
            id_token_info=m.IdTokenInfoType(status=m.AuthorizationStatusEnumType.BLOCKED)
        )
        action = "TransactionEvent"
    problems, csms = run(session_against(version, answering_router(version, full=False, overrides={action: refused})))
    assert len(problems) == 1 and problems[0].startswith(f"{action}") and "Blocked" in problems[0]
    if version == "1.6":
        assert csms.actions == SESSION["1.6"][:4] + ["StopTransaction", "StatusNotification"]
        stop = csms.received[4]
        assert stop.transaction_id == 42 and stop.reason == m.Reason.DE_AUTHORIZED
    else:
        assert csms.actions == SESSION["2.0.1"][:4] + ["TransactionEvent", "StatusNotification"]
        ended = csms.received[4]
        assert ended.event_type == m.TransactionEventEnumType.ENDED
        assert ended.trigger_reason == m.TriggerReasonEnumType.DEAUTHORIZED
        assert ended.transaction_info.stopped_reason == m.ReasonEnumType.DE_AUTHORIZED


@pytest.mark.parametrize("version", VERSIONS)
def test_call_errors_are_problems_and_the_session_goes_on(version: str) -> None:
    # No handler for StatusNotification: the CSMS answers NotSupported, and the session goes on.
    replaced = answering_router(version, full=False, without={"StatusNotification"})
    problems, csms = run(session_against(version, replaced))
    assert csms.actions == SESSION[version]
    assert (
        problems
        == ["StatusNotification: the CSMS answered CALLERROR NotSupported: StatusNotification is not supported here"]
        * 2
    )


def test_ocppkit_station_against_minimal_and_full_answers() -> None:
    """The command line, in a subprocess, against a CSMS giving only required fields (then all)."""

    async def one(version: str, full: bool) -> None:
        csms = Csms(version, answering_router(version, full=full))
        await csms.server.start("127.0.0.1", 0)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ocppkit",
                "station",
                "--url",
                f"ws://127.0.0.1:{csms.server.port}/CLI-{version}",
                "--version",
                version,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 60)
        finally:
            await csms.server.close()
        text = out.decode() + err.decode()
        assert proc.returncode == 0, text
        assert "session completed as expected" in text and "Traceback" not in text
        assert csms.actions == SESSION[version]

    async def scenario() -> None:
        await asyncio.gather(*(one(v, full) for v in VERSIONS for full in (False, True)))

    run(scenario(), timeout=90)


def test_an_invalid_answer_is_a_problem_not_a_crash() -> None:
    """A CSMS (raw websockets) whose BootNotification answer breaks the schema (no UTC offset)."""
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            uid = json.loads(message)[1]
            await ws.send(
                json.dumps([3, uid, {"status": "Accepted", "currentTime": "2030-01-02T03:04:05", "interval": 1}])
            )

    async def scenario() -> list[str]:
        async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:  # type: ignore[list-item]
            port = server.sockets[0].getsockname()[1]
            async with ChargingStation(f"ws://127.0.0.1:{port}/BAD-ANSWER", versions=["1.6"]) as station:
                return await run_station_session(station, "1.6")

    problems = run(scenario())
    assert len(problems) == 1 and problems[0].startswith("BootNotification: PropertyConstraintViolation: ")
    assert "$.currentTime" in problems[0]
