"""Interop on the picows transport: the ``ocpp`` package's ChargePoint (over websockets) and
ocpp-rpc's RPCClient (Node) against ocppkit's picows CSMSServer, the same sessions the
websockets server is put through in test_ocpp_package.py and test_ocpp_rpc.py."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ocppkit import v201
from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.picows import CSMSServer

from ._node import NodeEnv
from ._support import STEP_TIMEOUT, OcppkitCsms, answer_sent_for, run, within
from .test_ocpp_package import (
    OcppStation201,
    _check_answers_match,
    _csms_calls_station_201,
    _ocpp_station_session_201,
    ocpp_station,
)
from .test_ocpp_rpc import _csms_calls_rpc_station, rpc_station, station_calls, strict_failures


@contextlib.asynccontextmanager
async def picows_csms(version: str, **options: Any) -> AsyncIterator[OcppkitCsms]:
    """The harness of ``_support.ocppkit_csms`` around the picows server."""
    harness: OcppkitCsms
    server = CSMSServer(
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
    harness = OcppkitCsms(server)  # type: ignore[arg-type]
    await within(server.start("127.0.0.1", 0))
    try:
        yield harness
    finally:
        await within(server.close())


def test_ocpp_package_station_against_the_picows_csms() -> None:
    async def main() -> None:
        async with picows_csms("2.0.1") as csms:
            url = f"ws://127.0.0.1:{csms.server.port}"
            async with ocpp_station(OcppStation201, url, "2.0.1", "PKG-CP-1") as (cp, _):
                session = await within(csms.connected.get())
                assert (session.identity, session.version) == ("PKG-CP-1", "2.0.1")
                assert type(session.transport).__name__ == "PicowsTransport"
                answers = await _ocpp_station_session_201(cp)
                assert answers["BootNotification"].status == "Accepted"
                assert answers["TransactionEvent"][0].id_token_info == {"status": "Accepted"}
                _check_answers_match(csms, answers)
                events = csms.received_requests(v201.TransactionEventRequest)
                assert [e.seq_no for e in events] == [0, 1, 2]
                assert csms.violations() == []
                await _csms_calls_station_201(session, cp)
            gone = await within(csms.disconnected.get())
            assert gone is session and "PKG-CP-1" not in csms.server.sessions

    run(main())


def test_rpc_station_against_the_picows_csms(ocpp_rpc: NodeEnv) -> None:
    node_env = ocpp_rpc.ready()
    identity = "RDAM|123"

    async def main() -> None:
        async with picows_csms("2.0.1", path_prefix="/ocpp/") as csms:
            url = f"ws://127.0.0.1:{csms.server.port}/ocpp"
            async with rpc_station(node_env, url, identity, ["ocpp2.0.1"]) as node:
                hello = await node.expect(lambda e: e["event"] in ("connected", "connect_failed"))
                assert hello == {"event": "connected", "identity": identity, "protocol": "ocpp2.0.1"}
                session = await within(csms.connected.get())
                assert (session.identity, session.version) == (identity, "2.0.1")
                # ocpp-rpc offers permessage-deflate; the picows server takes it
                assert session.transport.deflate is not None  # type: ignore[attr-defined]
                nth: dict[str, int] = {}
                for method, params in station_calls("2.0.1"):
                    answer = await node.call(method, params)
                    assert answer["event"] == "result", answer
                    n = nth[method] = nth.get(method, -1) + 1
                    assert answer["result"] == answer_sent_for(csms.frames, method, n)[2]
                assert csms.violations() == []
                await _csms_calls_rpc_station("2.0.1", session, node)
                assert strict_failures(node) == []
                await node.send({"cmd": "close", "code": 1000, "reason": "station going away"})
                closed = await node.expect("closed")
                assert closed["code"] == 1000
                gone = await within(csms.disconnected.get())
                assert gone is session and identity not in csms.server.sessions
            assert node.proc.returncode == 0, node.describe()

    run(main())


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_our_picows_station_against_the_ocpp_package_csms(version: str) -> None:
    """Our picows ChargingStation plays the demo session against a CSMS built with the ocpp
    package (websockets underneath), which sees every message, and answers its calls."""
    from ocppkit.adapters.demo import run_station_session
    from ocppkit.adapters.picows import ChargingStation

    from ._support import ID_TAG, station_router
    from .test_ocpp_package import ocpp_package_csms

    async def main() -> None:
        handled: list[Any] = []
        async with ocpp_package_csms(version) as pkg:
            async with ChargingStation(
                f"ws://127.0.0.1:{pkg.port}/KIT-PW-1",
                station_router(version, handled),
                versions=[version],
                ping_interval=None,
                call_timeout=STEP_TIMEOUT,
            ) as station:
                session = await within(station.wait_connected(STEP_TIMEOUT))
                assert session.version == version
                assert await within(run_station_session(session, version, id_tag=ID_TAG)) == []
                cp = await within(pkg.charge_points.get())
                assert cp.id == "KIT-PW-1"
                names = [name for name, _ in cp.handled]
                assert names[0] == "BootNotification" and names[-1] == "StatusNotification"
                assert ("StopTransaction" if version == "1.6" else "TransactionEvent") in names

    run(main())
