"""What the end-to-end tests share: processes whose output lines are awaited (bounded), the
CSMS and station scripts as commands, and the check of a ledger file after a run."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ocppkit import v16, v201
from ocppkit.transactions import Ledger

from .csms_app import label
from .station_app import energy_of

REPO = Path(__file__).resolve().parents[2]
STATION = "CS-E2E"
#: Upper bound of one wait for a line of output.
STEP = 20.0


class Proc:
    """A subprocess (cwd: the repository) whose stdout and stderr lines are collected."""

    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.lines: list[str] = []
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, name: str, *argv: str) -> Proc:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            cwd=str(REPO),
            env=env,
        )
        return cls(proc, name)

    @classmethod
    async def module(cls, name: str, module: str, *args: str) -> Proc:
        return await cls.start(name, sys.executable, "-m", module, *args)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
            self._changed.set()
        self._changed.set()

    def matching(self, prefix: str) -> list[str]:
        return [line for line in self.lines if line.startswith(prefix)]

    async def wait_for(self, prefix: str, count: int = 1, timeout: float = STEP) -> str:
        """The ``count``-th line starting with ``prefix`` (AssertionError after ``timeout``)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            found = self.matching(prefix)
            if len(found) >= count:
                return found[count - 1]
            if self._reader.done():
                raise AssertionError(f"{self.name} ended before {count} x {prefix!r}:\n{self.describe()}")
            left = end - loop.time()
            if left <= 0:
                raise AssertionError(f"{self.name}: no {count} x {prefix!r} within {timeout} s:\n{self.describe()}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def exit_code(self, timeout: float = STEP) -> int:
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.name} still running after {timeout} s:\n{self.describe()}") from None
        await asyncio.wait_for(self._reader, 5)
        return code

    async def kill9(self) -> None:
        """SIGKILL: no handler, no cleanup, no close of anything."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        code = await self.exit_code()
        assert code in (-signal.SIGKILL, 0, 1), f"{self.name}: exit {code}\n{self.describe()}"

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end in time."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        try:
            await asyncio.wait_for(self._reader, 5)
        except asyncio.TimeoutError:
            self._reader.cancel()

    def describe(self) -> str:
        return f"--- {self.name} output (last 60 lines):\n" + "\n".join(self.lines[-60:])


async def start_csms(version: str, ledger: Path, port: int, *options: str) -> Proc:
    csms = await Proc.module(
        "csms",
        "tests.outbox_e2e.csms_app",
        "--version",
        version,
        "--ledger",
        str(ledger),
        "--port",
        str(port),
        *options,
    )
    await csms.wait_for("listening")
    return csms


async def start_station(version: str, url: str, folder: Path, *options: str) -> Proc:
    return await Proc.module(
        "station",
        "tests.outbox_e2e.station_app",
        "--url",
        url,
        "--version",
        version,
        "--outbox",
        str(folder / "outbox.sqlite"),
        "--progress",
        str(folder / "progress.json"),
        *options,
    )


def expected_labels(version: str, transactions: int, meters: int) -> list[str]:
    """The CSMS's ``recorded`` labels of the station's messages, in the order they are sent."""
    out: list[str] = []
    for _ in range(transactions):
        if version == "1.6":
            out += ["StartTransaction", *["MeterValues"] * meters, "StopTransaction"]
        else:
            kinds = ["Started", *["Updated"] * meters, "Ended"]
            out += [f"TransactionEvent/{kind}/{seq}" for seq, kind in enumerate(kinds)]
    return out


def recorded(*csms: Proc) -> list[tuple[str, str]]:
    """(label, status) of every ``recorded`` line, over the CSMS runs in order."""
    out = []
    for proc in csms:
        for line in proc.matching("recorded "):
            _, name, status = line.split()
            out.append((name, status))
    return out


def check_ledger(
    path: Path,
    version: str,
    transactions: int,
    meters: int,
    csms_runs: Sequence[Proc],
    resent: Sequence[str] = (),
) -> None:
    """After a run: every transaction complete, every message exactly once and in order, the
    energy as submitted, no placeholder on the CSMS's side, and no anomaly but a duplicate of
    each message in ``resent`` (the labels of the messages in flight at a fault)."""
    expected = expected_labels(version, transactions, meters)
    feed = recorded(*csms_runs)
    assert [name for name, status in feed if status == "new"] == expected, feed  # exactly once, in order
    assert sorted(name for name, status in feed if status == "duplicate") == sorted(resent), feed
    assert all(status in ("new", "duplicate") for _, status in feed), feed
    with Ledger(path) as ledger:
        views = ledger.transactions(STATION)
        assert len(views) == transactions and len(ledger.transactions()) == transactions
        for view in views:
            assert view.complete and not view.open and not view.orphan, view
            assert view.energy_wh == energy_of(meters), view
            messages = ledger.messages(STATION, view.transaction_id)
            assert len(messages) == meters + 2
            if version == "1.6":
                assert isinstance(view.transaction_id, int) and view.transaction_id > 0  # the ledger's, not -1/-2...
                assert isinstance(messages[0], v16.StartTransactionRequest)
                assert all(isinstance(m, v16.MeterValuesRequest) for m in messages[1:-1])
                assert isinstance(messages[-1], v16.StopTransactionRequest)
                assert all(m.transaction_id == view.transaction_id for m in messages[1:])
                times = [m.meter_value[0].timestamp for m in messages[1:-1]]
                assert times == sorted(times) and messages[0].timestamp < times[0] < messages[-1].timestamp
            else:
                assert all(isinstance(m, v201.TransactionEventRequest) for m in messages)
                assert list(view.seq_nos) == list(range(meters + 2)) and view.gaps == ()
        if version == "1.6":
            assert [v.transaction_id for v in views] == list(range(1, transactions + 1))
            assert ledger.messages(STATION, None) == []  # no MeterValues lost its transactionId
        anomalies = ledger.anomalies()
        assert all(a.kind == "duplicate" for a in anomalies), anomalies
        assert sorted(label(a.message) for a in anomalies) == sorted(resent), anomalies


def describe(*procs: Any) -> str:
    return "\n".join(p.describe() for p in procs if p is not None)
