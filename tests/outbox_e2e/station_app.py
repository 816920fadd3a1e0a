"""A charging-station process for the end-to-end tests: ``python -m tests.outbox_e2e.station_app``
(cwd: the repository root).

A :class:`ChargingStation` with its outbox in a sqlite file boots, then runs ``--transactions T``
transactions of ``--meters M`` meter readings, one message every ``--interval`` seconds,
submitted to the outbox (never awaited one by one: the outbox delivers them whether the CSMS is
there or not). 1.6: StartTransaction, MeterValues x M, StopTransaction, the last two with the
StartTransaction's transactionId once its answer is in, else with the handle's placeholder;
2.0.1: TransactionEvent Started, Updated x M, Ended. The energy register reads
``1000 * k`` Wh at the k-th message of a transaction, so a transaction's energy is
``1000 * (M + 1)`` Wh. Every message's content is a function of its number (its timestamp is the
first run's start plus its number in seconds), so a restarted process builds the same messages.

It can be killed (SIGKILL) at any time and started again with the same ``--outbox`` and
``--progress`` files: it does not submit again what it submitted before, and the outbox delivers
what was committed. It prints, flushed: ``restored <n>`` (messages found in the outbox file),
``connected <n>`` / ``disconnected`` for each connection, ``booted``, ``submitted <n>`` after the
n-th message (1-based, over all runs) is committed and its progress written, ``delivered-earlier
<action>`` for a message of an earlier run delivered now, ``dropped <action> <reason>``, and
``done`` once the outbox is drained.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ocppkit import v16, v201
from ocppkit.adapters.asyncio import Session, SessionOptions
from ocppkit.adapters.outbox import OutboxHandle
from ocppkit.adapters.websockets import ChargingStation, RetryBackOff
from ocppkit.outbox import Drop, Entry, OutboxSettings

WH_STEP = 1000


def energy_of(meters: int) -> float:
    """The energy (Wh) of each transaction this station runs with ``--meters``."""
    return float(WH_STEP * (meters + 1))


class Progress:
    """What this station submitted so far, in a small JSON file, replaced atomically.

    The outbox commit and this file are two writes: a kill between them could make a restart
    submit message n again (a second message, with a new 2.x seqNo: a real double for the CSMS).
    The window is closed, not merely made small: ``intent`` (message n, and the outbox id of the
    last message submitted before it) is written *before* the submit and ``done`` after it. A
    restart that finds an intent not done looks in the outbox for an entry with a higher id: the
    submit and the progress write run with no ``await`` between them, so no delivery can happen
    in between, and an entry committed in that window is still waiting in the outbox. Found: it
    was submitted; not found: it was not (killed before the commit), and it is submitted now.
    Entry ids grow and are never reused, across restarts.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.state.get(key, default)

    def write(self, **changes: Any) -> None:
        self.state.update(changes)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.state))
        os.replace(tmp, self.path)  # atomic: a kill leaves the old file or the new one


class Script:
    """The station's messages, numbered 1..T*(M+2): message n's content depends on n only."""

    def __init__(self, version: str, transactions: int, meters: int, base: float) -> None:
        self.version = version
        self.per = meters + 2
        self.total = transactions * self.per
        self.base = base

    def where(self, n: int) -> tuple[int, int]:
        """(transaction 0.., step 0..M+1) of message n."""
        return divmod(n - 1, self.per)

    def when(self, n: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.base + n, dt.timezone.utc)

    def message(self, n: int, tx: Any) -> Any:
        t, k = self.where(n)
        if self.version == "1.6":
            return self._message16(n, k, tx)
        return self._message201(n, t, k)

    def _message16(self, n: int, k: int, tx: Any) -> Any:
        wh = WH_STEP * k
        if k == 0:
            return v16.StartTransactionRequest(connector_id=1, id_tag="TAG1", meter_start=0, timestamp=self.when(n))
        if k == self.per - 1:
            return v16.StopTransactionRequest(
                transaction_id=tx, meter_stop=wh, timestamp=self.when(n), reason=v16.Reason.LOCAL
            )
        sample = v16.SampledValue(
            value=str(wh), measurand=v16.Measurand.ENERGY_ACTIVE_IMPORT_REGISTER, unit=v16.UnitOfMeasure.WH
        )
        return v16.MeterValuesRequest(
            connector_id=1,
            transaction_id=tx,
            meter_value=[v16.MeterValue(timestamp=self.when(n), sampled_value=[sample])],
        )

    def _message201(self, n: int, t: int, k: int) -> Any:
        E, T = v201.TransactionEventEnumType, v201.TriggerReasonEnumType
        kind, trigger = E.UPDATED, T.METER_VALUE_PERIODIC
        info = v201.TransactionType(transaction_id=f"tx-{t}")
        extra: dict[str, Any] = {}
        if k == 0:
            kind, trigger = E.STARTED, T.AUTHORIZED
            extra = {
                "id_token": v201.IdTokenType(id_token="TAG1", type=v201.IdTokenEnumType.ISO14443),
                "evse": v201.EVSEType(id=1, connector_id=1),
            }
        elif k == self.per - 1:
            kind, trigger = E.ENDED, T.EV_DEPARTED
            info = v201.TransactionType(transaction_id=f"tx-{t}", stopped_reason=v201.ReasonEnumType.EV_DISCONNECTED)
        reading = v201.SampledValueType(
            value=float(WH_STEP * k), measurand=v201.MeasurandEnumType.ENERGY_ACTIVE_IMPORT_REGISTER
        )
        return v201.TransactionEventRequest(
            event_type=kind,
            timestamp=self.when(n),
            trigger_reason=trigger,
            seq_no=k,  # the outbox numbers them itself; the same numbers
            transaction_info=info,
            meter_value=[v201.MeterValueType(timestamp=self.when(n), sampled_value=[reading])],
            **extra,
        )


def say(*words: object) -> None:
    print(*words, flush=True)


async def boot(station: ChargingStation, version: str, deadline: float) -> None:
    """BootNotification over whichever connection is live, until one is Accepted."""
    if version == "1.6":
        request: Any = v16.BootNotificationRequest(charge_point_vendor="ocppkit", charge_point_model="e2e")
    else:
        request = v201.BootNotificationRequest(
            charging_station=v201.ChargingStationType(model="e2e", vendor_name="ocppkit"),
            reason=v201.BootReasonEnumType.POWER_UP,
        )
    while True:
        session = await station.wait_connected(max(0.1, deadline - time.monotonic()))
        try:
            response = await session.call(request)
        except ConnectionError:
            continue  # the connection dropped first: boot over the next one
        if getattr(response.status, "value", response.status) == "Accepted":
            say("booted")
            return
        await asyncio.sleep(min(float(response.interval or 1), 1.0))


async def main(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    progress = Progress(Path(args.progress))
    if progress.get("base") is None:
        progress.write(base=float(int(time.time())), done=0, last_id=0)
    script = Script(args.version, args.transactions, args.meters, progress.get("base"))
    options = SessionOptions(
        ping_interval=args.ping_interval, ping_timeout=args.ping_timeout, call_timeout=args.call_timeout
    )
    watchers: list[asyncio.Task[None]] = []

    async def watch(session: Session) -> None:
        await session.closed.wait()
        say("disconnected")

    def connected(session: Session) -> None:
        say("connected", station.connections)
        watchers.append(asyncio.ensure_future(watch(session)))

    station = ChargingStation(
        args.url,
        versions=(args.version,),
        options=options,
        on_connect=connected,
        reconnect=RetryBackOff(wait_minimum=0.2, random_range=0.2, repeat_times=2),
        outbox=args.outbox,
        outbox_settings=OutboxSettings(attempts=args.attempts, retry_interval=args.retry_interval),
    )
    say("restored", station.outbox.core.restored)

    def dropped(drop: Drop) -> None:
        say("dropped", drop.entry.action, drop.reason)

    def delivered_earlier(entry: Entry, response: Any) -> None:
        say("delivered-earlier", entry.action)

    station.outbox.on_drop = dropped
    station.outbox.on_response = delivered_earlier
    await station.start()
    try:
        await boot(station, args.version, deadline)
        done = progress.get("done")
        intent = progress.get("intent")
        if intent == done + 1:  # killed between the intent and the done: was it committed?
            later = [e for e in station.outbox.entries() if e.id > progress.get("last_id")]
            if later:
                entry = later[0]
                tx = entry.transaction_id if entry.action == "StartTransaction" else progress.get("tx")
                progress.write(done=intent, last_id=entry.id, tx=tx)
                say("submitted", intent)
        start: OutboxHandle[Any] | None = None
        for n in range(progress.get("done") + 1, script.total + 1):
            tx = progress.get("tx")
            if start is not None and start.done():
                tx = (await start).transaction_id  # the CSMS's id is known: use it
            # From here to progress.write(done=...) there is no await (see Progress).
            progress.write(intent=n)
            handle = station.submit(script.message(n, tx))
            if handle.entry.action == "StartTransaction":
                start, tx = handle, handle.transaction_id  # the placeholder, until the answer
            progress.write(done=n, last_id=handle.entry.id, tx=tx)
            say("submitted", n)
            await asyncio.sleep(args.interval)
        await asyncio.wait_for(station.outbox.drained(), max(0.1, deadline - time.monotonic()))
        say("done")
        return 0
    finally:
        await station.close()
        for task in watchers:
            task.cancel()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="station_app", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--version", choices=["1.6", "2.0.1"], required=True)
    parser.add_argument("--outbox", required=True, help="the outbox's sqlite file")
    parser.add_argument("--progress", required=True, help="the JSON file of what was submitted")
    parser.add_argument("--transactions", type=int, default=2)
    parser.add_argument("--meters", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.2, metavar="SECONDS")
    parser.add_argument("--attempts", type=int, default=5)
    parser.add_argument("--retry-interval", type=float, default=0.2, metavar="SECONDS")
    parser.add_argument("--ping-interval", type=float, default=20.0, metavar="SECONDS")
    parser.add_argument("--ping-timeout", type=float, default=20.0, metavar="SECONDS")
    parser.add_argument("--call-timeout", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="the whole run, at most")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
