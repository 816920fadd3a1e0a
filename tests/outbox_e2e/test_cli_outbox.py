"""``ocppkit station --outbox FILE`` as a real process against a CSMS process recording into a
ledger file (tests/outbox_e2e/csms_app.py), OCPP 1.6 and 2.0.1:

- the CSMS is killed (SIGKILL) with a transaction message recorded but not answered and started
  again on the same file and port: the station reconnects, the outbox sends the message again,
  and the session completes as expected, with every message once in the ledger;
- the ``ocppkit station`` process is killed (SIGKILL) with a message in flight and started again
  on the same outbox file: it says it found the message, boots, then delivers it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ocppkit.transactions import Ledger

from ..adapters.aio import free_port, run
from .harness import Proc, describe, recorded, start_csms

VERSIONS = ["1.6", "2.0.1"]
HOLD = ["--delay", "10", "--delay-at", "2"]  # the 2nd transaction message's answer is held 10 s
IDENTITY = "CLI-E2E"


def session(version: str) -> list[str]:
    """The transaction messages of the CLI's session, as the CSMS labels them, in order."""
    if version == "1.6":
        return ["StartTransaction", "MeterValues", "MeterValues", "StopTransaction"]
    return ["TransactionEvent/Started/0", "TransactionEvent/Updated/1", "TransactionEvent/Ended/2"]


async def next_second() -> None:
    """Wait for the wall clock's next second. The CLI's 1.6 StartTransaction is always connector 1,
    the same idTag, meterStart 0 and a timestamp in whole seconds: a second run's within the same
    second as the first run's is the same message, which the ledger rightly takes for a re-sent
    one (docs/ledger.md, Idempotency) and answers with the same transactionId."""
    await asyncio.sleep(1.0 - time.time() % 1.0 + 0.01)


async def cli_station(version: str, port: int, outbox: Path) -> Proc:
    url = f"ws://127.0.0.1:{port}/{IDENTITY}"
    return await Proc.module(
        "ocppkit station", "ocppkit", "station", "--url", url, "--version", version, "--outbox", str(outbox)
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_station_completes_its_session_over_a_csms_killed_and_restarted(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        ledger, port = tmp_path / "ledger.sqlite", free_port()
        procs: list[Proc] = []
        try:
            first = await start_csms(version, ledger, port, *HOLD)
            procs.append(first)
            station = await cli_station(version, port, tmp_path / "outbox.sqlite")
            procs.append(station)
            await first.wait_for("recorded", count=2)
            await first.kill9()
            again = await start_csms(version, ledger, port)
            procs.append(again)
            assert await station.exit_code(40) == 0, station.describe()
            assert station.matching("session completed as expected") == ["session completed as expected"]
            assert station.matching("reconnected to")
            await again.stop()
            feed = recorded(first, again)
            assert [name for name, status in feed if status == "new"] == session(version)
            assert feed.count((session(version)[1], "duplicate")) == 1 and len(feed) == len(session(version)) + 1
            with Ledger(ledger) as book:
                (view,) = book.transactions()
                assert view.complete and not view.orphan and view.energy_wh == 3000.0
                assert [a.kind for a in book.anomalies()] == ["duplicate"]
        except BaseException:
            print(describe(*procs))
            raise
        finally:
            for proc in procs:
                await proc.stop()

    run(scenario(), 60)


@pytest.mark.parametrize("version", VERSIONS)
def test_cli_station_killed_mid_transaction_delivers_its_outbox_after_the_next_boot(
    version: str, tmp_path: Path
) -> None:
    async def scenario() -> None:
        ledger, port, outbox = tmp_path / "ledger.sqlite", free_port(), tmp_path / "outbox.sqlite"
        procs: list[Proc] = []
        try:
            csms = await start_csms(version, ledger, port, *HOLD)
            procs.append(csms)
            first = await cli_station(version, port, outbox)
            procs.append(first)
            await csms.wait_for("recorded", count=2)  # the 2nd message: recorded, unanswered
            await first.kill9()
            await next_second()
            again = await cli_station(version, port, outbox)
            procs.append(again)
            assert await again.exit_code(40) == 0, again.describe()
            assert again.lines[0] == "outbox: 1 message(s) from an earlier run, sent after the boot"
            assert again.matching("outbox: ") == [
                "outbox: 1 message(s) from an earlier run, sent after the boot",
                f"outbox: {session(version)[1].split('/')[0]} of an earlier run delivered",
            ]
            assert again.matching("session completed as expected")
            # the second run booted, then the outbox delivered the first run's message
            boots = [i for i, line in enumerate(csms.lines) if line.startswith("boot")]
            resend = csms.lines.index(f"recorded {session(version)[1]} duplicate")
            assert len(boots) == 2 and boots[0] < boots[1] < resend
            await csms.stop()
            feed = recorded(csms)
            assert feed[:3] == [
                (session(version)[0], "new"),
                (session(version)[1], "new"),
                (session(version)[1], "duplicate"),
            ]
            assert [status for _, status in feed[3:]] == ["new"] * len(session(version))  # the second session
            with Ledger(ledger) as book:
                assert [a.kind for a in book.anomalies()] == ["duplicate"]
                if version == "1.6":  # the interrupted transaction stays open; the next one is complete
                    interrupted, second = book.transactions()
                    assert interrupted.open and len(book.messages(IDENTITY, interrupted.transaction_id)) == 2
                    assert second.complete and second.energy_wh == 3000.0
        except BaseException:
            print(describe(*procs))
            raise
        finally:
            for proc in procs:
                await proc.stop()

    run(scenario(), 60)


def test_cli_station_restarted_starts_a_new_2x_transaction(tmp_path: Path) -> None:
    async def scenario() -> None:
        ledger, port, outbox = tmp_path / "ledger.sqlite", free_port(), tmp_path / "outbox.sqlite"
        procs: list[Proc] = []
        try:
            csms = await start_csms("2.0.1", ledger, port, *HOLD)
            procs.append(csms)
            first = await cli_station("2.0.1", port, outbox)
            procs.append(first)
            await csms.wait_for("recorded", count=2)
            await first.kill9()
            await next_second()
            again = await cli_station("2.0.1", port, outbox)
            procs.append(again)
            assert await again.exit_code(40) == 0, again.describe()
            await csms.stop()
            with Ledger(ledger) as book:
                views = book.transactions()
                assert len(views) == 2, views  # the interrupted one, and the second run's own
                assert views[1].complete and list(views[1].seq_nos) == [0, 1, 2]
        finally:
            for proc in procs:
                await proc.stop()

    run(scenario(), 60)
