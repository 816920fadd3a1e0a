"""A CSMS process for the end-to-end tests: ``python -m tests.outbox_e2e.csms_app`` (cwd: the
repository root).

A :class:`CSMSServer` on 127.0.0.1 whose handlers record every transaction message in an
``ocppkit.transactions.Ledger`` file before they answer (1.6 StartTransaction answers the
ledger's transactionId). It prints, flushed, one line per event a test waits for:

- ``listening <port>`` once it accepts connections;
- ``recorded <action> <status>`` once a transaction message is committed to the ledger
  (``<action>`` is ``StartTransaction``, ``MeterValues``, ``StopTransaction`` or
  ``TransactionEvent/<eventType>/<seqNo>``; ``<status>`` the ledger's ``new``, ``duplicate`` or
  ``conflict``), then ``answered <action>`` when its answer is handed to the connection;
- ``refused <action>`` for a transaction message answered CALLERROR InternalError (``--refuse``),
  not recorded: the CSMS could not process it;
- ``boot <identity>`` for each BootNotification.

Options: ``--delay SECONDS`` holds the answers of transaction messages (all of them, or only the
``--delay-at N``-th, counted from 1 in this process) that long after recording them, so a test can
kill the process, or cut the network, with a message recorded but unanswered; ``--refuse N``
answers the first N transaction messages with CALLERROR; ``--ping-interval``/``--ping-timeout``
are the server's keep-alive pings.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import signal
from typing import Any

from ocppkit import ErrorCode, OcppError, Router, v16, v201
from ocppkit.adapters.asyncio import SessionOptions, current_session
from ocppkit.adapters.websockets import CSMSServer
from ocppkit.transactions import Ledger


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def label(request: Any) -> str:
    """How a line names a transaction message."""
    if isinstance(request, v201.TransactionEventRequest):
        kind = getattr(request.event_type, "value", request.event_type)
        return f"TransactionEvent/{kind}/{request.seq_no}"
    return str(type(request).__ocpp__.action)


class Recorder:
    """The transaction handlers' common part: refuse, record, delay, as the options say."""

    def __init__(self, ledger: Ledger, *, delay: float, delay_at: int | None, refuse: int) -> None:
        self.ledger = ledger
        self.delay = delay
        self.delay_at = delay_at
        self.refuse = refuse
        self.seen = 0  # transaction messages received by this process

    async def record(self, request: Any) -> Any:
        self.seen += 1
        name = label(request)
        if self.seen <= self.refuse:
            print("refused", name, flush=True)
            raise OcppError(ErrorCode.INTERNAL_ERROR, "the ledger is not available (test)")
        rec = self.ledger.record(current_session().identity, request)
        print("recorded", name, rec.status, flush=True)
        if self.delay and (self.delay_at is None or self.delay_at == self.seen):
            await asyncio.sleep(self.delay)
        return rec


def router16(rec: Recorder) -> Router:
    router = Router("1.6")
    accepted = v16.IdTagInfo(status=v16.AuthorizationStatus.ACCEPTED)

    @router.on(v16.BootNotificationRequest)
    def boot(request: v16.BootNotificationRequest) -> v16.BootNotificationResponse:
        print("boot", current_session().identity, flush=True)
        return v16.BootNotificationResponse(current_time=now(), interval=300, status=v16.RegistrationStatus.ACCEPTED)

    router.add(v16.HeartbeatRequest, lambda r: v16.HeartbeatResponse(current_time=now()))
    router.add(v16.StatusNotificationRequest, lambda r: v16.StatusNotificationResponse())
    router.add(v16.AuthorizeRequest, lambda r: v16.AuthorizeResponse(id_tag_info=accepted))

    @router.on(v16.StartTransactionRequest)
    async def start(request: v16.StartTransactionRequest) -> v16.StartTransactionResponse:
        done = await rec.record(request)
        print("answered StartTransaction", flush=True)
        return v16.StartTransactionResponse(transaction_id=done.transaction_id, id_tag_info=accepted)

    @router.on(v16.MeterValuesRequest)
    async def meter_values(request: v16.MeterValuesRequest) -> v16.MeterValuesResponse:
        await rec.record(request)
        print("answered MeterValues", flush=True)
        return v16.MeterValuesResponse()

    @router.on(v16.StopTransactionRequest)
    async def stop(request: v16.StopTransactionRequest) -> v16.StopTransactionResponse:
        await rec.record(request)
        print("answered StopTransaction", flush=True)
        return v16.StopTransactionResponse(id_tag_info=accepted)

    return router


def router201(rec: Recorder) -> Router:
    router = Router("2.0.1")
    accepted = v201.IdTokenInfoType(status=v201.AuthorizationStatusEnumType.ACCEPTED)

    @router.on(v201.BootNotificationRequest)
    def boot(request: v201.BootNotificationRequest) -> v201.BootNotificationResponse:
        print("boot", current_session().identity, flush=True)
        return v201.BootNotificationResponse(
            current_time=now(), interval=300, status=v201.RegistrationStatusEnumType.ACCEPTED
        )

    router.add(v201.HeartbeatRequest, lambda r: v201.HeartbeatResponse(current_time=now()))
    router.add(v201.StatusNotificationRequest, lambda r: v201.StatusNotificationResponse())
    router.add(v201.AuthorizeRequest, lambda r: v201.AuthorizeResponse(id_token_info=accepted))

    @router.on(v201.TransactionEventRequest)
    async def event(request: v201.TransactionEventRequest) -> v201.TransactionEventResponse:
        await rec.record(request)
        print("answered", label(request), flush=True)
        return v201.TransactionEventResponse()

    return router


async def serve(args: argparse.Namespace) -> None:
    ledger = Ledger(args.ledger, durability="normal")  # survives kill -9 (not a power loss)
    rec = Recorder(ledger, delay=args.delay, delay_at=args.delay_at, refuse=args.refuse)
    router = router16(rec) if args.version == "1.6" else router201(rec)
    options = SessionOptions(ping_interval=args.ping_interval, ping_timeout=args.ping_timeout)
    csms = CSMSServer(router, versions=(args.version,), options=options)
    await csms.start("127.0.0.1", args.port)
    print("listening", csms.port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await csms.close()
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="csms_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", choices=["1.6", "2.0.1"], required=True)
    parser.add_argument("--ledger", required=True, help="the ledger's sqlite file")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--delay-at", type=int, default=None, metavar="N")
    parser.add_argument("--refuse", type=int, default=0, metavar="N")
    parser.add_argument("--ping-interval", type=float, default=20.0, metavar="SECONDS")
    parser.add_argument("--ping-timeout", type=float, default=20.0, metavar="SECONDS")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
