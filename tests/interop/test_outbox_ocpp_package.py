"""Our ChargingStation with its outbox (a sqlite file) against a CSMS built with the ``ocpp``
package (its ChargePoint on the server side of ``websockets.serve``), OCPP 1.6 and 2.0.1, over
loopback WebSockets: the CSMS is stopped (its server closed) in the middle of a transaction,
with a message received and not answered yet, and started again on the same port. The CSMS's
handlers count what they received: every message, in order, the in-flight one twice (its answer
was lost: the station sends it again) and no other twice; 1.6 MeterValues and StopTransaction
carry the transactionId the CSMS assigned, never the outbox's placeholder.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as OcppChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as OcppChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import serve

from ocppkit import v16, v201
from ocppkit.adapters.websockets import SUBPROTOCOLS, ChargingStation, RetryBackOff
from ocppkit.outbox import OutboxSettings

from ..adapters.aio import until
from ._support import STEP_TIMEOUT, now_z, run, run_charge_point, within

logging.getLogger("ocpp").setLevel(logging.CRITICAL)

M = 3  # meter readings: 1.6 Start, MeterValues x3, Stop; 2.0.1 Started, Updated x3, Ended
HELD = 3  # the 3rd transaction message is the one in flight when the CSMS stops
FAST = RetryBackOff(wait_minimum=0.1, random_range=0.1, repeat_times=2)


class Counted:
    """What the CSMS's handlers received, over every connection and both server runs; the
    ``HELD``-th transaction message of the first run is held until ``release`` is set."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.transaction_messages = 0
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.next_id = 501

    async def transaction(self, action: str, kwargs: dict[str, Any]) -> None:
        self.received.append((action, kwargs))
        self.transaction_messages += 1
        if self.transaction_messages == HELD:
            self.holding.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.release.wait(), STEP_TIMEOUT)

    def of(self, *actions: str) -> list[dict[str, Any]]:
        return [kwargs for action, kwargs in self.received if action in actions]


def csms16(counted: Counted) -> type:
    class Csms16(OcppChargePoint16):
        @on(Action16.boot_notification)
        def on_boot(self, **kwargs: Any) -> Any:
            counted.received.append(("BootNotification", kwargs))
            return result16.BootNotification(current_time=now_z(), interval=300, status="Accepted")

        @on(Action16.start_transaction)
        async def on_start(self, **kwargs: Any) -> Any:
            await counted.transaction("StartTransaction", kwargs)
            counted.next_id += 1
            return result16.StartTransaction(transaction_id=counted.next_id - 1, id_tag_info={"status": "Accepted"})

        @on(Action16.meter_values)
        async def on_meter_values(self, **kwargs: Any) -> Any:
            await counted.transaction("MeterValues", kwargs)
            return result16.MeterValues()

        @on(Action16.stop_transaction)
        async def on_stop(self, **kwargs: Any) -> Any:
            await counted.transaction("StopTransaction", kwargs)
            return result16.StopTransaction()

    return Csms16


def csms201(counted: Counted) -> type:
    class Csms201(OcppChargePoint201):
        @on(Action201.boot_notification)
        def on_boot(self, **kwargs: Any) -> Any:
            counted.received.append(("BootNotification", kwargs))
            return result201.BootNotification(current_time=now_z(), interval=300, status="Accepted")

        @on(Action201.transaction_event)
        async def on_event(self, **kwargs: Any) -> Any:
            await counted.transaction("TransactionEvent", kwargs)
            return result201.TransactionEvent()

    return Csms201


async def ocpp_csms(version: str, counted: Counted, port: int = 0) -> Any:
    """A CSMS built with the ocpp package, serving (the websockets ``Server``)."""
    cls = csms16(counted) if version == "1.6" else csms201(counted)

    async def handler(ws: Any) -> None:
        identity = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        await run_charge_point(cls(identity, ws, response_timeout=STEP_TIMEOUT))

    return await serve(handler, "127.0.0.1", port, subprotocols=[SUBPROTOCOLS[version]], ping_interval=None)


def stamp(n: int) -> dt.datetime:
    return dt.datetime(2025, 6, 1, 12, 0, n, tzinfo=dt.timezone.utc)


def messages16(tx: int) -> list[Any]:
    """MeterValues x M and the StopTransaction of transaction ``tx``."""
    out: list[Any] = []
    for k in range(1, M + 1):
        sample = v16.SampledValue(value=str(100 * k), measurand=v16.Measurand.ENERGY_ACTIVE_IMPORT_REGISTER)
        out.append(
            v16.MeterValuesRequest(
                connector_id=1,
                transaction_id=tx,
                meter_value=[v16.MeterValue(timestamp=stamp(k), sampled_value=[sample])],
            )
        )
    out.append(v16.StopTransactionRequest(transaction_id=tx, meter_stop=100 * (M + 1), timestamp=stamp(M + 1)))
    return out


def events201() -> list[Any]:
    E, T = v201.TransactionEventEnumType, v201.TriggerReasonEnumType
    kinds = [E.STARTED, *[E.UPDATED] * M, E.ENDED]
    return [
        v201.TransactionEventRequest(
            event_type=kind,
            timestamp=stamp(k),
            trigger_reason=T.AUTHORIZED if kind == E.STARTED else T.METER_VALUE_PERIODIC,
            seq_no=k,
            transaction_info=v201.TransactionType(transaction_id="interop-tx"),
            meter_value=[
                v201.MeterValueType(timestamp=stamp(k), sampled_value=[v201.SampledValueType(value=100.0 * k)])
            ],
        )
        for k, kind in enumerate(kinds)
    ]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_outbox_survives_an_ocpp_package_csms_restart(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        counted = Counted()
        server = await ocpp_csms(version, counted)
        port = server.sockets[0].getsockname()[1]
        station = ChargingStation(
            f"ws://127.0.0.1:{port}/CS-OCPP",
            versions=(version,),
            reconnect=FAST,
            outbox=str(tmp_path / "outbox.sqlite"),
            outbox_settings=OutboxSettings(attempts=3, retry_interval=0.2),
        )
        await station.start()
        try:
            await within(station.wait_connected(STEP_TIMEOUT))
            if version == "1.6":
                await station.call(v16.BootNotificationRequest(charge_point_vendor="ocppkit", charge_point_model="x"))
                start = station.submit(
                    v16.StartTransactionRequest(connector_id=1, id_tag="TAG1", meter_start=0, timestamp=stamp(0))
                )
                handles = [start, *(station.submit(m) for m in messages16(start.transaction_id))]
            else:
                boot = v201.BootNotificationRequest(
                    charging_station=v201.ChargingStationType(model="x", vendor_name="ocppkit"),
                    reason=v201.BootReasonEnumType.POWER_UP,
                )
                await station.call(boot)
                handles = [station.submit(m) for m in events201()]
            await within(counted.holding.wait())  # the HELD-th message: received, not answered
            server.close()  # the CSMS stops: 1001 to the station, with that message unanswered
            await within(until(lambda: station.session is None))
            counted.release.set()  # its answer now goes nowhere
            await within(server.wait_closed())
            assert not any(h.done() for h in handles[HELD - 1 :])
            assert station.outbox.pending() == len(handles) - HELD + 1
            server = await ocpp_csms(version, counted, port)  # started again on the same port
            for handle in handles:
                await within(handle)
            await within(station.outbox.drained())
            assert station.connections == 2
        finally:
            await station.close()
            server.close()
            await within(server.wait_closed())
        actions = [a for a, _ in counted.received]
        assert actions.count("BootNotification") == 1  # a reconnect, not a reboot
        kwargs = [k for a, k in counted.received if a != "BootNotification"]
        n = len(handles)
        assert len(kwargs) == n + 1  # every message, one (the held one) twice
        assert kwargs[HELD - 1] == kwargs[HELD]  # the held one, sent again with the same payload
        del kwargs[HELD]
        if version == "1.6":
            assert [a for a, _ in counted.received if a != "BootNotification"][:1] == ["StartTransaction"]
            tx = (await start).transaction_id
            assert tx == 501 and all(k["transaction_id"] == tx for k in kwargs[1:])  # never the placeholder
            readings = [k["meter_value"][0]["sampled_value"][0]["value"] for k in kwargs[1:-1]]
            assert readings == [str(100 * k) for k in range(1, M + 1)]  # in order
            assert kwargs[-1]["meter_stop"] == 100 * (M + 1)
        else:
            assert [k["seq_no"] for k in kwargs] == list(range(M + 2))  # in order, none lost
            assert [k["event_type"] for k in kwargs] == ["Started", *["Updated"] * M, "Ended"]
            assert all(k["transaction_info"]["transaction_id"] == "interop-tx" for k in kwargs)

    run(scenario())
