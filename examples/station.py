# not-run: needs its peer; tests/test_examples.py runs csms.py and station.py together over loopback
"""Tutorial: a charging station (OCPP 2.0.1) on ocppkit's websockets adapter.

    python examples/csms.py --port 9000                            # a CSMS to talk to
    python examples/station.py --url ws://127.0.0.1:9000/CS001

It boots, sends a heartbeat and the status of its connector, answers the CSMS's calls
(GetVariables, ChangeAvailability, RequestStartTransaction), runs one transaction with meter
values, and disconnects. The transaction starts when the CSMS asks for it with
RequestStartTransaction, or locally after ``--wait`` seconds if it does not (so the station
also runs against a CSMS that never asks, e.g. ``ocppkit serve``).

What it shows: a ``ChargingStation`` (it connects, reconnects, and sends pings by itself),
typed calls whose responses mypy knows (``await cs.call(v201.HeartbeatRequest())`` is a
``HeartbeatResponse``), handlers registered with ``Router.add`` on methods of an object that
holds the station's state, and work a handler starts but does not wait for.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Sequence

import ocppkit
from ocppkit import v201
from ocppkit.adapters.websockets import ChargingStation

ID_TOKEN = v201.IdTokenType(id_token="04A2B3C4", type=v201.IdTokenEnumType.ISO14443)


def say(text: str) -> None:
    print("".join(c if c.isprintable() else repr(c)[1:-1] for c in text), flush=True)  # wire text, escaped


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


class Station:
    """The station's state, and its answers to the CSMS's calls."""

    def __init__(self, serial_number: str) -> None:
        self.variables = {
            ("OCPPCommCtrlr", "HeartbeatInterval"): "300",
            ("ChargingStation", "SerialNumber"): serial_number,
        }
        self.operative = True
        self.in_transaction = False
        #: Set by RequestStartTransaction: (remote start id, id token) of the transaction to run.
        self.remote_start: asyncio.Future[tuple[int, v201.IdTokenType]] = asyncio.get_running_loop().create_future()
        self.router = ocppkit.Router()
        self.router.add(v201.GetVariablesRequest, self.get_variables)
        self.router.add(v201.ChangeAvailabilityRequest, self.change_availability)
        self.router.add(v201.RequestStartTransactionRequest, self.request_start_transaction)

    def get_variables(self, req: v201.GetVariablesRequest) -> v201.GetVariablesResponse:
        results = []
        for item in req.get_variable_data:
            say(f"CSMS reads {item.component.name!r}.{item.variable.name!r}")
            value = self.variables.get((item.component.name, item.variable.name))
            if value is None:
                result = v201.GetVariableResultType(
                    attribute_status=v201.GetVariableStatusEnumType.UNKNOWN_VARIABLE,
                    component=item.component,
                    variable=item.variable,
                )
            else:
                result = v201.GetVariableResultType(
                    attribute_status=v201.GetVariableStatusEnumType.ACCEPTED,
                    attribute_value=value,
                    component=item.component,
                    variable=item.variable,
                )
            results.append(result)
        return v201.GetVariablesResponse(get_variable_result=results)

    def change_availability(self, req: v201.ChangeAvailabilityRequest) -> v201.ChangeAvailabilityResponse:
        self.operative = req.operational_status == v201.OperationalStatusEnumType.OPERATIVE
        say(f"CSMS sets availability {req.operational_status.value}")
        return v201.ChangeAvailabilityResponse(status=v201.ChangeAvailabilityStatusEnumType.ACCEPTED)

    def request_start_transaction(
        self, req: v201.RequestStartTransactionRequest
    ) -> v201.RequestStartTransactionResponse:
        if self.in_transaction or not self.operative or self.remote_start.done():
            say("CSMS asks for a transaction: rejected")
            return v201.RequestStartTransactionResponse(status=v201.RequestStartStopStatusEnumType.REJECTED)
        say(f"CSMS asks for a transaction (remote start {req.remote_start_id}): accepted")
        # The transaction itself runs in run() below: a handler answers at once and returns.
        self.remote_start.set_result((req.remote_start_id, req.id_token))
        return v201.RequestStartTransactionResponse(status=v201.RequestStartStopStatusEnumType.ACCEPTED)


async def heartbeats(cs: ChargingStation, interval: float) -> None:
    """Heartbeat every ``interval`` seconds, as the CSMS asked in its BootNotification answer."""
    while True:
        await asyncio.sleep(interval)
        await cs.call(v201.HeartbeatRequest())


async def transaction(cs: ChargingStation, station: Station, wait: float) -> None:
    """One transaction: Started, one Updated with a meter value, Ended."""
    try:
        remote_start_id: int | None
        remote_start_id, token = await asyncio.wait_for(asyncio.shield(station.remote_start), wait)
        trigger = v201.TriggerReasonEnumType.REMOTE_START
    except asyncio.TimeoutError:  # nobody asked: start one locally
        authorized = await cs.call(v201.AuthorizeRequest(id_token=ID_TOKEN))
        say(f"Authorize: {authorized.id_token_info.status.value}")
        remote_start_id, token, trigger = None, ID_TOKEN, v201.TriggerReasonEnumType.AUTHORIZED
    station.in_transaction = True
    info = v201.TransactionType(transaction_id="tx-0001", charging_state=v201.ChargingStateEnumType.CHARGING)
    if remote_start_id is not None:
        info.remote_start_id = remote_start_id

    def meter(wh: float) -> list[v201.MeterValueType]:
        sample = v201.SampledValueType(value=wh, measurand=v201.MeasurandEnumType.ENERGY_ACTIVE_IMPORT_REGISTER)
        return [v201.MeterValueType(timestamp=now(), sampled_value=[sample])]

    started = await cs.call(
        v201.TransactionEventRequest(
            event_type=v201.TransactionEventEnumType.STARTED,
            timestamp=now(),
            trigger_reason=trigger,
            seq_no=0,
            transaction_info=info,
            evse=v201.EVSEType(id=1, connector_id=1),
            id_token=token,
            meter_value=meter(0.0),
        )
    )
    status = started.id_token_info.status.value if isinstance(started.id_token_info, v201.IdTokenInfoType) else None
    say(f"transaction {info.transaction_id} started, id token {status}")
    await cs.call(
        v201.TransactionEventRequest(
            event_type=v201.TransactionEventEnumType.UPDATED,
            timestamp=now(),
            trigger_reason=v201.TriggerReasonEnumType.METER_VALUE_PERIODIC,
            seq_no=1,
            transaction_info=v201.TransactionType(transaction_id=info.transaction_id),
            meter_value=meter(1500.0),
        )
    )
    say("meter 1500.0 Wh")
    await cs.call(
        v201.TransactionEventRequest(
            event_type=v201.TransactionEventEnumType.ENDED,
            timestamp=now(),
            trigger_reason=v201.TriggerReasonEnumType.EV_DEPARTED,
            seq_no=2,
            transaction_info=v201.TransactionType(
                transaction_id=info.transaction_id, stopped_reason=v201.ReasonEnumType.EV_DISCONNECTED
            ),
            meter_value=meter(3000.0),
        )
    )
    station.in_transaction = False
    say(f"transaction {info.transaction_id} ended at 3000.0 Wh")


async def status(cs: ChargingStation, connector: v201.ConnectorStatusEnumType) -> None:
    await cs.call(
        v201.StatusNotificationRequest(timestamp=now(), connector_status=connector, evse_id=1, connector_id=1)
    )
    say(f"StatusNotification: {connector.value}")


async def run(url: str, wait: float) -> int:
    station = Station(serial_number="SN-0001")
    async with ChargingStation(url, station.router, versions=("2.0.1",)) as cs:  # connected
        say(f"connected to {url} as {cs.identity!r}")
        while True:
            boot = await cs.call(
                v201.BootNotificationRequest(
                    charging_station=v201.ChargingStationType(
                        model="Tutorial-1", vendor_name="ocppkit", serial_number="SN-0001"
                    ),
                    reason=v201.BootReasonEnumType.POWER_UP,
                )
            )
            say(f"BootNotification: {boot.status.value}, heartbeat every {boot.interval} s")
            if boot.status == v201.RegistrationStatusEnumType.ACCEPTED:
                break
            await asyncio.sleep(boot.interval or 10)  # Pending or Rejected: ask again later
        station.variables[("OCPPCommCtrlr", "HeartbeatInterval")] = str(boot.interval)
        beat = await cs.call(v201.HeartbeatRequest())
        say(f"Heartbeat: the CSMS's clock says {beat.current_time.isoformat()}")
        background = asyncio.get_running_loop().create_task(heartbeats(cs, boot.interval))
        try:
            await status(cs, v201.ConnectorStatusEnumType.AVAILABLE)
            await transaction(cs, station, wait)
            await status(cs, v201.ConnectorStatusEnumType.AVAILABLE)
        finally:
            background.cancel()
    say("disconnected")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default="ws://127.0.0.1:9000/CS001", help="the CSMS URL, ending in the identity")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for a remote start")
    args = parser.parse_args(argv)
    return asyncio.run(run(args.url, args.wait))


if __name__ == "__main__":
    raise SystemExit(main())
