# not-run: needs its peer; tests/test_examples.py runs csms.py and station.py together over loopback
"""Tutorial: a small CSMS (OCPP 2.0.1) on ocppkit's websockets adapter.

    python examples/csms.py --port 9000                            # serves until Ctrl-C
    python examples/station.py --url ws://127.0.0.1:9000/CS001     # in another terminal

What it shows, top to bottom:

1. Handlers for the calls a charging station makes (BootNotification, Heartbeat,
   StatusNotification, TransactionEvent), registered on an ``ocppkit.Router`` by request class.
   mypy checks that each returns the response of its request. A plain function runs inline as
   the call arrives; a coroutine runs in its own task.
2. Calling a station from outside any handler: ``on_connect`` starts one task per connection;
   the task waits until the station's BootNotification has been accepted, then calls the
   station (GetVariables, ChangeAvailability, RequestStartTransaction) through the server's
   session of that station, ``csms.sessions[identity]``.
3. ``on_disconnect``, to forget a station and stop its task when it goes away, and (with
   ``--verbose``) ``on_frame``, which sees every WebSocket message in and out.

Nothing from the wire is printed raw: ``say()`` escapes what is not printable, so a station
cannot forge output lines, and free text is quoted with ``!r``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Sequence

import ocppkit
from ocppkit import CallErrorResponse, CallTimeout, v201
from ocppkit.adapters.asyncio import Session, current_session
from ocppkit.adapters.websockets import CSMSServer

HEARTBEAT_INTERVAL = 300  # seconds, told to every station in the BootNotification response


def say(text: str) -> None:
    print("".join(c if c.isprintable() else repr(c)[1:-1] for c in text), flush=True)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


# ----------------------------------------------------------------- 1. the handlers

router = ocppkit.Router()

#: One event per connected session, set once its BootNotification has been accepted.
booted: dict[Session, asyncio.Event] = {}


@router.on(v201.BootNotificationRequest)
def boot_notification(req: v201.BootNotificationRequest) -> v201.BootNotificationResponse:
    session = current_session()  # the station whose call this is
    station = req.charging_station
    say(f"{session.identity}: booted, {station.vendor_name!r} {station.model!r} ({req.reason.value})")
    booted[session].set()  # lets its task call it: the answer below is queued before any call
    return v201.BootNotificationResponse(
        current_time=now(), interval=HEARTBEAT_INTERVAL, status=v201.RegistrationStatusEnumType.ACCEPTED
    )


@router.on(v201.HeartbeatRequest)
def heartbeat(req: v201.HeartbeatRequest) -> v201.HeartbeatResponse:
    say(f"{current_session().identity}: heartbeat")
    return v201.HeartbeatResponse(current_time=now())


@router.on(v201.StatusNotificationRequest)
def status_notification(req: v201.StatusNotificationRequest) -> v201.StatusNotificationResponse:
    say(f"{current_session().identity}: EVSE {req.evse_id} connector {req.connector_id} {req.connector_status.value}")
    return v201.StatusNotificationResponse()


@router.on(v201.TransactionEventRequest)
async def transaction_event(req: v201.TransactionEventRequest) -> v201.TransactionEventResponse:
    # A coroutine handler: it could await a database here without holding up the connection.
    energy = [s.value for mv in req.meter_value or () for s in mv.sampled_value]
    say(
        f"{current_session().identity}: transaction {req.transaction_info.transaction_id!r} "
        f"{req.event_type.value} ({req.trigger_reason.value}), meter {energy} Wh"
    )
    if isinstance(req.id_token, v201.IdTokenType):  # the station asks us to authorize this token
        accepted = v201.IdTokenInfoType(status=v201.AuthorizationStatusEnumType.ACCEPTED)
        return v201.TransactionEventResponse(id_token_info=accepted)
    return v201.TransactionEventResponse()


# ----------------------------------------------------------------- 2. calling a station


async def manage(csms: CSMSServer, identity: str, ready: asyncio.Event) -> None:
    """Runs for one connection: once the station has booted, read and change its settings, then
    start a transaction on it remotely."""
    await ready.wait()
    session = csms.sessions[identity]  # the server's session of this station
    try:
        variables = await session.call(
            v201.GetVariablesRequest(
                get_variable_data=[
                    v201.GetVariableDataType(
                        component=v201.ComponentType(name="OCPPCommCtrlr"),
                        variable=v201.VariableType(name="HeartbeatInterval"),
                    ),
                    v201.GetVariableDataType(
                        component=v201.ComponentType(name="ChargingStation"),
                        variable=v201.VariableType(name="SerialNumber"),
                    ),
                ]
            )
        )
        for result in variables.get_variable_result:
            value = result.attribute_value if isinstance(result.attribute_value, str) else None
            say(
                f"{identity}: GetVariables {result.component.name!r}.{result.variable.name!r}: "
                f"{result.attribute_status.value} {value!r}"
            )
        availability = await session.call(
            v201.ChangeAvailabilityRequest(operational_status=v201.OperationalStatusEnumType.OPERATIVE)
        )
        say(f"{identity}: ChangeAvailability Operative: {availability.status.value}")
        start = await session.call(
            v201.RequestStartTransactionRequest(
                id_token=v201.IdTokenType(id_token="04A2B3C4", type=v201.IdTokenEnumType.ISO14443),
                remote_start_id=1,
                evse_id=1,
            )
        )
        say(f"{identity}: RequestStartTransaction: {start.status.value}")
    except CallErrorResponse as exc:  # the station answered with a CALLERROR
        say(f"{identity}: the station refused: {exc.code} {exc.description!r}")
    except CallTimeout:
        say(f"{identity}: the station did not answer in time")
    except ConnectionError:
        say(f"{identity}: the station went away")


# ----------------------------------------------------------------- 3. connections


def print_frame(identity: str, direction: str, data: bytes) -> None:
    """The ``on_frame`` hook: every WebSocket message, "in" before decoding, "out" before sending."""
    say(f"{identity}: {'<<' if direction == 'in' else '>>'} {data.decode('utf-8', 'replace')}")


def make_server(*, exit_after: int | None = None, verbose: bool = False) -> tuple[CSMSServer, asyncio.Event]:
    """The server, and an event set after ``exit_after`` stations have disconnected."""
    tasks: dict[Session, asyncio.Task[None]] = {}
    done = asyncio.Event()
    disconnects = 0

    def on_connect(session: Session) -> None:
        # Runs before the session reads the station's first message: do not await calls here.
        say(f"{session.identity}: connected, OCPP {session.version}")
        booted[session] = asyncio.Event()
        tasks[session] = asyncio.get_running_loop().create_task(manage(csms, session.identity, booted[session]))

    async def on_disconnect(session: Session) -> None:
        nonlocal disconnects
        say(f"{session.identity}: disconnected ({session.close_reason!r})")
        booted.pop(session, None)
        task = tasks.pop(session, None)
        if task is not None and not task.done():
            task.cancel()
        disconnects += 1
        if exit_after is not None and disconnects >= exit_after:
            done.set()

    csms = CSMSServer(
        router,
        versions=("2.0.1",),
        on_connect=on_connect,
        on_disconnect=on_disconnect,
        on_frame=print_frame if verbose else None,
    )
    return csms, done


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument("--exit-after", type=int, default=None, help="stop after this many stations disconnected")
    parser.add_argument("--verbose", action="store_true", help="print every frame")
    args = parser.parse_args(argv)
    csms, done = make_server(exit_after=args.exit_after, verbose=args.verbose)
    await csms.start(args.host, args.port)
    say(f"listening on ws://{args.host}:{csms.port}/<identity>")
    try:
        await done.wait()
    finally:
        await csms.close()
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(asyncio.run(main()))
    except KeyboardInterrupt:
        pass
