"""Interop with ocpp-rpc (mikuso, npm, latest 2.x), a JavaScript OCPP-J RPC library, over real
WebSockets on 127.0.0.1. Both of its peers run in strict mode, so every frame ocppkit sends is
also checked against ocpp-rpc's own copy of the OCPP schemas.

- ``rpc_station.js``: an RPCClient as a charging station against ocppkit's CSMSServer;
- ``rpc_csms.js``: an RPCServer as a CSMS for ocppkit's ChargingStation (and ``ocppkit station``).

The Node scripts answer the other side's calls themselves and make the calls the test asks
for on their stdin; they report everything as JSON lines (see ``rpc_common.js``).

ocpp-rpc is installed by the session fixture ``ocpp_rpc`` (tests/interop/conftest.py). Without
node/npm these tests FAIL, unless OCPPKIT_SKIP_NODE_INTEROP=1 asks to skip them.
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
import websockets

import ocppkit
from ocppkit import ErrorCode, v16, v201
from ocppkit.adapters.asyncio import CallErrorResponse, Session
from ocppkit.adapters.demo import run_station_session
from ocppkit.adapters.websockets import ChargingStation, RetryBackOff
from ocppkit.events import UnmatchedResponse

from ._node import NodeEnv
from ._support import (
    HERE,
    ID_TAG,
    STEP_TIMEOUT,
    FrameLog,
    JsonLinesProcess,
    answer_sent_for,
    invalid_call_cases,
    now_z,
    ocppkit_cli,
    ocppkit_csms,
    run,
    station_router,
    within,
)

VERSIONS = ["1.6", "2.0.1"]
PROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}


# --------------------------------------------------------------------------- Node peers


@contextlib.asynccontextmanager
async def rpc_station(
    node: NodeEnv, url: str, identity: str, protocols: list[str], password: str | None = None
) -> AsyncIterator[JsonLinesProcess]:
    argv = [str(node.node), str(HERE / "rpc_station.js"), "--url", url, "--identity", identity]
    argv += ["--protocols", ",".join(protocols)]
    if password is not None:
        argv += ["--password", password]
    proc = await JsonLinesProcess.start(argv, name="ocpp-rpc RPCClient", env=node.env, cwd=HERE)
    try:
        yield proc
    finally:
        await proc.close({"cmd": "close"})


@contextlib.asynccontextmanager
async def rpc_csms(
    node: NodeEnv, protocols: list[str], password: str | None = None
) -> AsyncIterator[tuple[JsonLinesProcess, int]]:
    argv = [str(node.node), str(HERE / "rpc_csms.js"), "--protocols", ",".join(protocols)]
    if password is not None:
        argv += ["--password", password]
    proc = await JsonLinesProcess.start(argv, name="ocpp-rpc RPCServer", env=node.env, cwd=HERE)
    try:
        listening = await proc.expect("listening")
        yield proc, int(listening["port"])
    finally:
        await proc.close({"cmd": "close"})


def station_calls(version: str) -> list[tuple[str, dict[str, Any]]]:
    """What the ocpp-rpc station sends: boot, heartbeat, authorize, status, a transaction."""
    if version == "1.6":

        def meter(wh: str) -> list[dict[str, Any]]:
            return [
                {
                    "timestamp": now_z(),
                    "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register", "unit": "Wh"}],
                }
            ]

        return [
            ("BootNotification", {"chargePointVendor": "ocpp-rpc", "chargePointModel": "Interop"}),
            ("Heartbeat", {}),
            ("Authorize", {"idTag": ID_TAG}),
            (
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Preparing", "timestamp": now_z()},
            ),
            ("StartTransaction", {"connectorId": 1, "idTag": ID_TAG, "meterStart": 0, "timestamp": now_z()}),
            ("MeterValues", {"connectorId": 1, "transactionId": 1, "meterValue": meter("1500")}),
            ("MeterValues", {"connectorId": 1, "transactionId": 1, "meterValue": meter("3000")}),
            (
                "StopTransaction",
                {"meterStop": 3000, "timestamp": now_z(), "transactionId": 1, "reason": "Local", "idTag": ID_TAG},
            ),
            (
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": now_z()},
            ),
        ]
    token = {"idToken": ID_TAG, "type": "ISO14443"}

    def event(kind: str, trigger: str, seq: int, wh: float, **extra: Any) -> dict[str, Any]:
        return {
            "eventType": kind,
            "timestamp": now_z(),
            "triggerReason": trigger,
            "seqNo": seq,
            "transactionInfo": {"transactionId": "rpc-tx-1", **extra.pop("info", {})},
            "meterValue": [
                {"timestamp": now_z(), "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register"}]}
            ],
            **extra,
        }

    return [
        ("BootNotification", {"chargingStation": {"model": "Interop", "vendorName": "ocpp-rpc"}, "reason": "PowerUp"}),
        ("Heartbeat", {}),
        ("Authorize", {"idToken": token}),
        ("StatusNotification", {"timestamp": now_z(), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
        (
            "TransactionEvent",
            event("Started", "Authorized", 0, 0, idToken=token, evse={"id": 1, "connectorId": 1}),
        ),
        ("TransactionEvent", event("Updated", "MeterValuePeriodic", 1, 1500.5)),
        ("TransactionEvent", event("Ended", "EVDeparted", 2, 3000, info={"stoppedReason": "EVDisconnected"})),
        ("StatusNotification", {"timestamp": now_z(), "connectorStatus": "Available", "evseId": 1, "connectorId": 1}),
    ]


def strict_failures(proc: JsonLinesProcess) -> list[tuple[str, bool, bool]]:
    """(method, outbound, isCall) of every strict-mode validation failure ocpp-rpc reported."""
    return [(e["method"], e["outbound"], e["isCall"]) for e in proc.matching("strict_failure")]


# --------------------------------------------------------------------------- ocpp-rpc station -> ocppkit CSMS


async def _csms_calls_rpc_station(version: str, session: Session, node: JsonLinesProcess) -> None:
    if version == "1.6":
        changed = await within(session.call(v16.ChangeConfigurationRequest(key="HeartbeatInterval", value="60")))
        assert changed.status is v16.ConfigurationStatus.ACCEPTED
        refused = await within(session.call(v16.ChangeConfigurationRequest(key="NoSuchKey", value="1")))
        assert refused.status is v16.ConfigurationStatus.NOT_SUPPORTED
        got = await within(session.call(v16.GetConfigurationRequest(key=["HeartbeatInterval", "NoSuchKey"])))
        assert got == v16.GetConfigurationResponse(
            configuration_key=[v16.KeyValue(key="HeartbeatInterval", readonly=False, value="60")],
            unknown_key=["NoSuchKey"],
        )
        everything = await within(session.call(v16.GetConfigurationRequest()))
        assert [k.key for k in everything.configuration_key] == ["HeartbeatInterval", "MeterValueSampleInterval"]
        assert everything.unknown_key is msgspec.UNSET
        reset = await within(session.call(v16.ResetRequest(type=v16.ResetType.HARD)))
        assert reset.status is v16.ResetStatus.ACCEPTED
        handled = [(e["method"], e["params"]) for e in await node.wait_count("handled", 5)]
        assert handled == [
            ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}),
            ("ChangeConfiguration", {"key": "NoSuchKey", "value": "1"}),
            ("GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]}),
            ("GetConfiguration", {}),
            ("Reset", {"type": "Hard"}),
        ]
        return
    comm, hb = v201.ComponentType(name="OCPPCommCtrlr"), v201.VariableType(name="HeartbeatInterval")
    evse_comp = v201.ComponentType(name="EVSE", evse=v201.EVSEType(id=1))
    nope = v201.VariableType(name="NoSuchVariable")
    got = await within(
        session.call(
            v201.GetVariablesRequest(
                get_variable_data=[
                    v201.GetVariableDataType(component=comm, variable=hb),
                    v201.GetVariableDataType(component=evse_comp, variable=nope),
                ]
            )
        )
    )
    status = v201.GetVariableStatusEnumType
    assert got.get_variable_result == [
        v201.GetVariableResultType(
            attribute_status=status.ACCEPTED, attribute_value="300", component=comm, variable=hb
        ),
        v201.GetVariableResultType(attribute_status=status.UNKNOWN_VARIABLE, component=evse_comp, variable=nope),
    ]
    changed = await within(
        session.call(
            v201.SetVariablesRequest(
                set_variable_data=[v201.SetVariableDataType(attribute_value="60", component=comm, variable=hb)]
            )
        )
    )
    assert [r.attribute_status for r in changed.set_variable_result] == [v201.SetVariableStatusEnumType.ACCEPTED]
    reset = await within(session.call(v201.ResetRequest(type=v201.ResetEnumType.IMMEDIATE, evse_id=1)))
    assert reset.status is v201.ResetStatusEnumType.ACCEPTED
    handled = [(e["method"], e["params"]) for e in await node.wait_count("handled", 3)]
    assert [m for m, _ in handled] == ["GetVariables", "SetVariables", "Reset"]
    assert handled[0][1]["getVariableData"][1] == {
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "NoSuchVariable"},
    }
    assert handled[2][1] == {"type": "Immediate", "evseId": 1}


@pytest.mark.parametrize("version", VERSIONS)
def test_rpc_station_against_ocppkit_csms(ocpp_rpc: NodeEnv, version: str) -> None:
    node_env = ocpp_rpc.ready()
    identity = "RDAM|123"  # ocpp-rpc percent-encodes it in the URL; ocppkit decodes it

    async def main() -> None:
        async with ocppkit_csms(version, path_prefix="/ocpp/") as csms:
            url = f"ws://127.0.0.1:{csms.server.port}/ocpp"
            async with rpc_station(node_env, url, identity, [PROTOCOL[version]]) as node:
                hello = await node.expect(lambda e: e["event"] in ("connected", "connect_failed"))
                assert hello == {"event": "connected", "identity": identity, "protocol": PROTOCOL[version]}
                session = await within(csms.connected.get())
                assert (session.identity, session.version) == (identity, version)
                # the station offers permessage-deflate (RFC 7692, which OCPP 2.x requires a CSMS
                # to support): ocppkit's CSMS takes it
                ws = session.transport.ws  # type: ignore[attr-defined]
                assert "permessage-deflate" in ws.request.headers.get("Sec-WebSocket-Extensions", "")
                assert ws.response.headers.get("Sec-WebSocket-Extensions", "").startswith("permessage-deflate")

                # the station's calls: ocpp-rpc (strict) accepts and returns exactly what ocppkit sent
                sent = station_calls(version)
                nth: dict[str, int] = {}
                for method, params in sent:
                    answer = await node.call(method, params)
                    assert answer["event"] == "result", answer
                    n = nth[method] = nth.get(method, -1) + 1
                    assert answer["result"] == answer_sent_for(csms.frames, method, n)[2]
                results = {e["method"]: e["result"] for e in node.matching("result")}
                assert results["BootNotification"]["status"] == "Accepted"
                if version == "1.6":
                    assert results["StartTransaction"] == {"idTagInfo": {"status": "Accepted"}, "transactionId": 1}
                    (stop,) = csms.received_requests(v16.StopTransactionRequest)
                    assert (stop.transaction_id, stop.meter_stop, stop.id_tag) == (1, 3000, ID_TAG)
                    values = [
                        r.meter_value[0].sampled_value[0].value for r in csms.received_requests(v16.MeterValuesRequest)
                    ]
                    assert values == ["1500", "3000"]
                else:
                    events = csms.received_requests(v201.TransactionEventRequest)
                    assert [e.seq_no for e in events] == [0, 1, 2]
                    assert [e.meter_value[0].sampled_value[0].value for e in events] == [0, 1500.5, 3000]
                    assert events[0].evse == v201.EVSEType(id=1, connector_id=1)
                assert csms.violations() == []

                # the CSMS calls the station; ocpp-rpc's handlers answer
                await _csms_calls_rpc_station(version, session, node)

                # negative, CSMS -> station: an action the station has no handler for. ocpp-rpc
                # answers NotImplemented (it cannot tell a known action from an unknown one; the
                # spec's code for a known one is NotSupported). The call fails cleanly.
                unlock = (
                    v16.UnlockConnectorRequest(connector_id=1)
                    if version == "1.6"
                    else v201.UnlockConnectorRequest(evse_id=1, connector_id=1)
                )
                with pytest.raises(CallErrorResponse) as caught:
                    await within(session.call(unlock))
                # (ocpp-rpc 2.2.1 sends NotImplemented; this floats with ocpp-rpc@2, so either
                # spec code is accepted here and docs/interop.md records what was seen)
                assert caught.value.error_code in (ErrorCode.NOT_IMPLEMENTED, ErrorCode.NOT_SUPPORTED)

                # negative, CSMS -> station, raw: a CALL missing a required field. ocpp-rpc's
                # strict mode answers it; its 1.6 spelling workaround is inverted (it sends the
                # 2.x "OccurrenceConstraintViolation" on 1.6 and the 1.6 "OccurenceConstraint-
                # Violation" on 2.0.1). ocppkit reads either spelling as the same code.
                unmatched_before = len([e for _, e in csms.events if isinstance(e, UnmatchedResponse)])
                await within(session.transport.send(b'[2,"kit-raw-1","Reset",{}]'))
                await node.expect(lambda e: e["event"] == "strict_failure" and e["method"] == "Reset")
                reply = await within(csms.frames.answer_to("kit-raw-1"))
                decoded = ocppkit.Codec(version).decode(reply)
                assert isinstance(decoded, ocppkit.CallError)
                assert decoded.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
                # either spelling (2.2.1 sends the other version's, see docs/interop.md)
                assert decoded.error_code in ("OccurenceConstraintViolation", "OccurrenceConstraintViolation")
                unmatched = [e for _, e in csms.events if isinstance(e, UnmatchedResponse)]
                assert len(unmatched) == unmatched_before + 1 and unmatched[-1].unique_id == "kit-raw-1"

                # negative, station -> CSMS, raw: schema-breaking CALLs get ocppkit's CALLERRORs,
                # spelt for the version.
                cases = invalid_call_cases(version)
                if version != "1.6":  # 1.6 has no reply for a frame that is not JSON
                    cases.append(("-1", "this is not JSON", "RpcFrameworkError"))  # type: ignore[arg-type]
                for uid, frame, code in cases:
                    reply_frame = await node.raw(uid, frame)
                    assert reply_frame[:3] == [4, uid, code], (frame, reply_frame)
                # ocpp-rpc validated everything ocppkit sent; the only strict-mode failure is the
                # invalid Reset we provoked
                assert strict_failures(node) == [("Reset", False, True)]

                # a graceful close from the station ends ocppkit's session
                await node.send({"cmd": "close", "code": 1000, "reason": "station going away"})
                closed = await node.expect("closed")
                assert closed["code"] == 1000
                gone = await within(csms.disconnected.get())
                assert gone is session and identity not in csms.server.sessions
            assert node.proc.returncode == 0, node.describe()

    run(main())


# --------------------------------------------------------------------------- ocppkit station -> ocpp-rpc CSMS


@pytest.mark.parametrize("version", VERSIONS)
def test_ocppkit_station_against_rpc_csms(ocpp_rpc: NodeEnv, version: str) -> None:
    node_env = ocpp_rpc.ready()

    async def main() -> None:
        handled: list[Any] = []
        frames = FrameLog()
        async with rpc_csms(node_env, [PROTOCOL[version]]) as (node, port):
            async with ChargingStation(
                f"ws://127.0.0.1:{port}/ocpp/KIT%7C001",
                station_router(version, handled),
                versions=[version],
                ping_interval=None,
                call_timeout=STEP_TIMEOUT,
                on_frame=frames,
            ) as station:
                session = await within(station.wait_connected(STEP_TIMEOUT))
                assert (session.identity, session.version) == ("KIT|001", version)
                handshake = await node.expect("handshake")
                assert (handshake["identity"], handshake["endpoint"]) == ("KIT|001", "/ocpp")
                connected = await node.expect("connected")
                assert connected["protocol"] == PROTOCOL[version]

                # our whole session, answered by ocpp-rpc (strict: it validates each of our CALLs
                # and each of its own results)
                problems = await within(run_station_session(session, version, id_tag=ID_TAG))
                assert problems == []
                expected_count = 8 if version == "1.6" else 7
                seen = [(e["method"], e["params"]) for e in await node.wait_count("handled", expected_count)]
                if version == "1.6":
                    assert [m for m, _ in seen] == [
                        "BootNotification",
                        "StatusNotification",
                        "Authorize",
                        "StartTransaction",
                        "MeterValues",
                        "MeterValues",
                        "StopTransaction",
                        "StatusNotification",
                    ]
                    assert [p["transactionId"] for m, p in seen if m in ("MeterValues", "StopTransaction")] == [
                        1001,
                        1001,
                        1001,
                    ]  # the id ocpp-rpc's CSMS gave
                else:
                    assert [m for m, _ in seen] == [
                        "BootNotification",
                        "StatusNotification",
                        "Authorize",
                        "TransactionEvent",
                        "TransactionEvent",
                        "TransactionEvent",
                        "StatusNotification",
                    ]
                    events = [p for m, p in seen if m == "TransactionEvent"]
                    assert [(e["eventType"], e["seqNo"]) for e in events] == [
                        ("Started", 0),
                        ("Updated", 1),
                        ("Ended", 2),
                    ]
                    assert events[0]["idToken"] == {"idToken": ID_TAG, "type": "ISO14443"}
                assert strict_failures(node) == []
                assert node.matching("bad_message") == []

                # ocpp-rpc's CSMS calls our station; our router answers
                if version == "1.6":
                    got = await node.call("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})
                    assert got["result"] == {
                        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
                        "unknownKey": ["Nope"],
                    }
                    got = await node.call("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"})
                    assert got["result"] == {"status": "Accepted"}
                    got = await node.call("Reset", {"type": "Soft"})
                    assert got["result"] == {"status": "Accepted"}
                    assert handled[1:] == [
                        v16.ChangeConfigurationRequest(key="HeartbeatInterval", value="60"),
                        v16.ResetRequest(type=v16.ResetType.SOFT),
                    ]
                    unlock: dict[str, Any] = {"connectorId": 1}
                else:
                    var = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
                    got = await node.call("GetVariables", {"getVariableData": [var]})
                    assert got["result"] == {
                        "getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "300", **var}]
                    }
                    got = await node.call("SetVariables", {"setVariableData": [{"attributeValue": "60", **var}]})
                    assert got["result"] == {"setVariableResult": [{"attributeStatus": "Accepted", **var}]}
                    got = await node.call("Reset", {"type": "OnIdle"})
                    assert got["result"] == {"status": "Accepted"}
                    assert handled[2] == v201.ResetRequest(type=v201.ResetEnumType.ON_IDLE)
                    unlock = {"evseId": 1, "connectorId": 1}

                # negative, CSMS -> station: an action our router does not handle: NotSupported
                got = await node.call("UnlockConnector", unlock)
                assert got["event"] == "error" and got["error"]["code"] == "NotSupported"

                # negative, CSMS -> station, raw: schema-breaking CALLs get our CALLERRORs,
                # spelt for the version
                v16_ = version == "1.6"
                raw_cases: list[tuple[str, Any, str]] = [
                    (
                        "no-value",
                        [2, "no-value", "ChangeConfiguration", {"key": "HeartbeatInterval"}]
                        if v16_
                        else [2, "no-value", "GetVariables", {"getVariableData": []}],
                        "OccurenceConstraintViolation" if v16_ else "OccurrenceConstraintViolation",
                    ),
                    ("bad-enum", [2, "bad-enum", "Reset", {"type": "Later"}], "PropertyConstraintViolation"),
                    (
                        "extra",
                        [2, "extra", "Reset", {"type": "Soft" if v16_ else "OnIdle", "when": "now"}],
                        "FormationViolation" if v16_ else "FormatViolation",
                    ),
                    ("unknown", [2, "unknown", "GetCoffee", {}], "NotImplemented"),
                ]
                if not v16_:
                    raw_cases.append(("-1", "[2,", "RpcFrameworkError"))
                for uid, frame, code in raw_cases:
                    reply = await node.raw(uid, frame)
                    assert reply[:3] == [4, uid, code], (frame, reply)

                # negative, station -> CSMS, raw: a CALL missing a required field; ocpp-rpc's
                # answer (inverted spelling, see above) is read by ocppkit as the same code
                await within(session.transport.send(b'[2,"kit-raw-2","Authorize",{}]'))
                await node.expect(lambda e: e["event"] == "strict_failure" and e["method"] == "Authorize")
                answer = await frames.answer_to("kit-raw-2")
                decoded = ocppkit.Codec(version).decode(answer)
                assert isinstance(decoded, ocppkit.CallError)
                assert decoded.code is ErrorCode.OCCURRENCE_CONSTRAINT_VIOLATION
                # our session is still fine
                assert (await within(session.call((v16 if v16_ else v201).HeartbeatRequest()))).current_time
            # ChargingStation.close() closes with 1000
            bye = await node.expect("disconnected")
            assert (bye["identity"], bye["code"], bye["reason"]) == ("KIT|001", 1000, "bye")

    run(main())


@pytest.mark.parametrize("version", VERSIONS)
def test_station_command_against_rpc_csms(ocpp_rpc: NodeEnv, version: str) -> None:
    """The real ``ocppkit station`` command line plays its session against ocpp-rpc."""
    node_env = ocpp_rpc.ready()

    async def main() -> None:
        async with rpc_csms(node_env, [PROTOCOL[version]]) as (node, port):
            cli = await JsonLinesProcess.start(
                ocppkit_cli("station", "--url", f"ws://127.0.0.1:{port}/CLI-001", "--version", version),
                name="ocppkit station",
                env={"PYTHONUNBUFFERED": "1"},
            )
            code = await cli.close(timeout=20)
            texts = [e.get("text", "") for e in cli.events]
            assert code == 0 and "session completed as expected" in texts, cli.describe()
            calls = 8 if version == "1.6" else 7  # boot, status, authorize, transaction..., status
            assert len(await node.wait_count("handled", calls)) == calls
            assert strict_failures(node) == []
            await node.expect("disconnected")

    run(main())


# --------------------------------------------------------------------------- handshake: subprotocols, Basic auth


def test_subprotocol_negotiation(ocpp_rpc: NodeEnv) -> None:
    node_env = ocpp_rpc.ready()

    async def main() -> None:
        # 1. ocpp-rpc station offering only 2.0.1 to a 1.6-only ocppkit CSMS: ocppkit finishes the
        #    handshake without a subprotocol and closes; ocpp-rpc refuses such a connection.
        async with ocppkit_csms("1.6") as csms:
            url = f"ws://127.0.0.1:{csms.server.port}"
            async with rpc_station(node_env, url, "CS-NEG", ["ocpp2.0.1"]) as node:
                failed = await node.expect(lambda e: e["event"] in ("connected", "connect_failed"))
                assert failed["event"] == "connect_failed", failed
                assert "subprotocol" in failed["error"]["message"].lower()
            assert csms.server.sessions == {} and csms.connected.empty()

        # 2. ocppkit station offering 2.0.1 then 1.6 to ocpp-rpc serving both: ocpp-rpc picks by
        #    its own order of preference (allowed by RFC 6455); ocppkit follows what was agreed.
        async with rpc_csms(node_env, ["ocpp1.6", "ocpp2.0.1"]) as (node, port):
            async with ChargingStation(
                f"ws://127.0.0.1:{port}/CS-PREF", versions=["2.0.1", "1.6"], ping_interval=None
            ) as station:
                session = await within(station.wait_connected(STEP_TIMEOUT))
                handshake = await node.expect("handshake")
                assert handshake["protocols"] == ["ocpp2.0.1", "ocpp1.6"]  # our order of preference
                connected = await node.expect("connected")
                # ocpp-rpc 2.2.1 takes ocpp1.6 (its first); ocppkit must follow whatever was agreed
                assert connected["protocol"] in ("ocpp1.6", "ocpp2.0.1")
                assert session.version == {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1"}[connected["protocol"]]
                m = v16 if session.version == "1.6" else v201
                beat = await within(session.call(m.HeartbeatRequest()))
                assert beat.current_time.tzinfo is not None

        # 3. ocppkit station offering only 2.0.1 to ocpp-rpc serving only 1.6: ocpp-rpc 2.2.1
        #    completes the upgrade without a subprotocol and keeps the socket open (the spec says
        #    the server closes it); ocppkit closes it itself (1002) and reports the failure.
        async with rpc_csms(node_env, ["ocpp1.6"]) as (node, port):
            station = ChargingStation(f"ws://127.0.0.1:{port}/CS-NONE", versions=["2.0.1"], ping_interval=None)
            with pytest.raises((ConnectionError, websockets.exceptions.InvalidHandshake)) as refused:
                await within(station.connect_once())
            assert station.session is None
            if isinstance(refused.value, ConnectionError):  # the upgrade completed without a subprotocol
                assert "agreed to none" in str(refused.value)
                connected = await node.expect("connected")
                assert not connected["protocol"]
                bye = await node.expect("disconnected")
                assert bye["code"] == 1002  # closed by ocppkit

    run(main())


def test_basic_auth_security_profile_1(ocpp_rpc: NodeEnv) -> None:
    node_env = ocpp_rpc.ready()
    password = "aB3dE5fG7hJ9kL1mN2pQ"

    async def main() -> None:
        # 1. ocpp-rpc station -> ocppkit CSMS with security profile 1
        seen: list[tuple[str, str | None]] = []

        def authenticate(hs: Any) -> bool:
            seen.append((hs.identity, hs.password))
            return bool(hs.password == password)

        async with ocppkit_csms("2.0.1", security_profile=1, authenticate=authenticate) as csms:
            url = f"ws://127.0.0.1:{csms.server.port}"
            async with rpc_station(node_env, url, "CS001", ["ocpp2.0.1"], password=password) as node:
                hello = await node.expect(lambda e: e["event"] in ("connected", "connect_failed"))
                assert hello["event"] == "connected", hello
                await within(csms.connected.get())
            async with rpc_station(node_env, url, "CS001", ["ocpp2.0.1"], password="wrong") as node:
                failed = await node.expect(lambda e: e["event"] in ("connected", "connect_failed"))
                assert failed["event"] == "connect_failed" and failed["error"]["httpStatus"] == 401, failed
            async with rpc_station(node_env, url, "CS001", ["ocpp2.0.1"]) as node:  # no credentials at all
                failed = await node.expect(lambda e: e["event"] in ("connected", "connect_failed"))
                assert failed["event"] == "connect_failed" and failed["error"]["httpStatus"] == 401, failed
            assert seen == [("CS001", password), ("CS001", "wrong")]  # the last never reached the hook

        # 2. ocppkit station with a password -> ocpp-rpc CSMS checking it
        async with rpc_csms(node_env, ["ocpp2.0.1"], password=password) as (node, port):
            async with ChargingStation(
                f"ws://127.0.0.1:{port}/CS002",
                versions=["2.0.1"],
                security_profile=1,
                password=password,
                ping_interval=None,
            ) as station:
                await within(station.wait_connected(STEP_TIMEOUT))
                handshake = await node.expect("handshake")
                assert (handshake["identity"], handshake["password"]) == ("CS002", password)
            wrong = ChargingStation(
                f"ws://127.0.0.1:{port}/CS002",
                versions=["2.0.1"],
                security_profile=1,
                password="wrong",
                ping_interval=None,
                reconnect=RetryBackOff(wait_minimum=60),
            )
            with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
                await within(wrong.connect_once())
            assert refused.value.response.status_code == 401

    run(main())


def test_identity_is_percent_encoded_both_ways(ocpp_rpc: NodeEnv) -> None:
    """An identity with characters that need encoding in a URL path travels intact both ways."""
    node_env = ocpp_rpc.ready()
    identity = "CS 01|A*B"

    async def main() -> None:
        async with ocppkit_csms("1.6") as csms:
            async with rpc_station(node_env, f"ws://127.0.0.1:{csms.server.port}", identity, ["ocpp1.6"]) as node:
                await node.expect("connected")
                session = await within(csms.connected.get())
                assert session.identity == identity
        async with rpc_csms(node_env, ["ocpp1.6"]) as (node, port):
            path = urllib.parse.quote(identity, safe="")
            async with ChargingStation(f"ws://127.0.0.1:{port}/{path}", versions=["1.6"], ping_interval=None) as st:
                assert (await within(st.wait_connected(STEP_TIMEOUT))).identity == identity
                assert (await node.expect("connected"))["identity"] == identity

    run(main())
