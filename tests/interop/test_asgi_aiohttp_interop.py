"""Interop through the ASGI and aiohttp front doors: the ``ocpp`` package's ChargePoint (1.6 and
2.0.1) against an ocppkit CSMS served by uvicorn (ASGIApp) and by aiohttp (WebSocketHandler),
each direction of calls; and ocpp-rpc's RPCClient (Node.js, strict mode) against the ASGI app
mounted in Starlette, with a percent-encoded identity."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ocppkit import v16, v201
from ocppkit.adapters.csms import CSMS
from ocppkit.adapters.demo import csms_router
from tests.conformance.servers_aiohttp import start_aiohttp
from tests.conformance.servers_asgi import start_uvicorn

from ._node import NodeEnv
from ._support import STEP_TIMEOUT, OcppkitCsms, answer_sent_for, run, within
from .test_ocpp_package import (
    OcppStation16,
    OcppStation201,
    _check_answers_match,
    _csms_calls_station_16,
    _csms_calls_station_201,
    _ocpp_station_session_16,
    _ocpp_station_session_201,
    ocpp_station,
)
from .test_ocpp_rpc import PROTOCOL, _csms_calls_rpc_station, rpc_station, station_calls, strict_failures

SERVERS = ["uvicorn", "starlette", "fastapi", "aiohttp"]


@contextlib.asynccontextmanager
async def served_csms(kind: str, version: str, **options: Any) -> AsyncIterator[tuple[OcppkitCsms, str]]:
    """An ocppkit CSMS for ``version`` behind ``kind`` ("uvicorn", "starlette" or "aiohttp"),
    recording frames, events and sessions; yields it and the stations' base URL."""
    harness: OcppkitCsms
    server = CSMS(
        csms_router(version),
        versions=[version],
        ping_interval=None,
        call_timeout=STEP_TIMEOUT,
        on_frame=lambda identity, direction, data: harness.frames(identity, direction, data),
        on_event=lambda session, event: harness.events.append((session.identity, event)),
        on_connect=lambda session: harness.connected.put_nowait(session),
        on_disconnect=lambda session: harness.disconnected.put_nowait(session),
        **options,
    )
    harness = OcppkitCsms(server)  # type: ignore[arg-type]  # the harness reads only what CSMS has
    if kind == "aiohttp":
        async with start_aiohttp(server) as url:
            yield harness, url
    else:
        async with start_uvicorn(server, framework="asgi" if kind == "uvicorn" else kind) as url:
            yield harness, url


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
@pytest.mark.parametrize("kind", SERVERS)
def test_ocpp_package_station_against_each_front_door(kind: str, version: str) -> None:
    async def main() -> None:
        async with served_csms(kind, version) as (csms, url):
            cls = OcppStation16 if version == "1.6" else OcppStation201
            async with ocpp_station(cls, url.rstrip("/"), version, "PKG-CP-1") as (cp, _):
                session = await within(csms.connected.get())
                assert (session.identity, session.version) == ("PKG-CP-1", version)
                if version == "1.6":
                    answers = await _ocpp_station_session_16(cp)
                    assert answers["StartTransaction"].transaction_id == 1
                else:
                    answers = await _ocpp_station_session_201(cp)
                    assert answers["TransactionEvent"][0].id_token_info == {"status": "Accepted"}
                assert answers["BootNotification"].status == "Accepted"
                _check_answers_match(csms, answers)
                assert csms.violations() == []
                if version == "1.6":
                    (stop,) = csms.received_requests(v16.StopTransactionRequest)
                    assert (stop.transaction_id, stop.meter_stop) == (1, 3000)
                    await _csms_calls_station_16(session, cp)
                else:
                    events = csms.received_requests(v201.TransactionEventRequest)
                    assert [e.seq_no for e in events] == [0, 1, 2]
                    await _csms_calls_station_201(session, cp)
            gone = await within(csms.disconnected.get())
            assert gone is session

    run(main())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_ocpp_rpc_station_against_the_asgi_app_in_starlette(ocpp_rpc: NodeEnv, version: str) -> None:
    node_env = ocpp_rpc.ready()
    identity = "RDAM|123"  # ocpp-rpc percent-encodes it; the app reads raw_path below the mount

    async def main() -> None:
        async with served_csms("starlette", version) as (csms, url):
            assert url.endswith("/ocpp/")
            async with rpc_station(node_env, url.rstrip("/"), identity, [PROTOCOL[version]]) as node:
                hello = await node.expect(lambda e: e["event"] in ("connected", "connect_failed"))
                assert hello == {"event": "connected", "identity": identity, "protocol": PROTOCOL[version]}
                session = await within(csms.connected.get())
                assert (session.identity, session.version) == (identity, version)
                nth: dict[str, int] = {}
                for method, params in station_calls(version):
                    answer = await node.call(method, params)
                    assert answer["event"] == "result", answer
                    n = nth[method] = nth.get(method, -1) + 1
                    assert answer["result"] == answer_sent_for(csms.frames, method, n)[2]
                assert csms.violations() == []
                await _csms_calls_rpc_station(version, session, node)
                assert strict_failures(node) == []
                await node.send({"cmd": "close", "code": 1000, "reason": "station going away"})
                assert (await node.expect("closed"))["code"] == 1000
                gone = await within(csms.disconnected.get())
                assert gone is session
            assert node.proc.returncode == 0, node.describe()

    run(main())
