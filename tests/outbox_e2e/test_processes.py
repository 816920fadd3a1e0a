"""Nothing lost, with real processes and sockets: a CSMS process recording into a ledger file
(tests/outbox_e2e/csms_app.py) and a station process with its outbox in a sqlite file
(station_app.py), OCPP 1.6 and 2.0.1, through four faults:

1. the CSMS is killed (SIGKILL) with a message recorded but not answered, and started again on
   the same ledger file and port;
2. the station is killed (SIGKILL) with a message in flight, and started again on the same
   outbox file;
3. a silent network partition (tests/outbox_e2e/proxy.py) swallows the answer of a message the
   CSMS recorded; the station notices by its pings and reconnects once the network heals;
4. the CSMS answers CALLERROR to the first messages, then accepts them.

Afterwards the ledger file must hold every transaction complete, every message exactly once, in
the order submitted, the energy as submitted, no placeholder id, and no anomaly but one
duplicate of the message in flight at the fault (none in 4).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ..adapters.aio import free_port, run
from .harness import STATION, Proc, check_ledger, describe, expected_labels, start_csms, start_station
from .proxy import PartitionProxy

VERSIONS = ["1.6", "2.0.1"]
T, M = 2, 2  # transactions, meter readings each: 8 messages
FAULT_AT = 3  # the 3rd transaction message is the one in flight at the fault
# Seconds the CSMS holds that message's answer back: the fault happens meanwhile. Long, so that a
# slow machine still hits the window; no test waits for it to pass (the killed CSMS never answers,
# a killed station or a dead connection never gets the answer).
HOLD = "10"
RUN = ["--transactions", str(T), "--meters", str(M), "--interval", "0.2", "--timeout", "40"]
PINGS = ["--ping-interval", "0.5", "--ping-timeout", "1"]


def url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/{STATION}"


def in_flight(version: str) -> str:
    return expected_labels(version, T, M)[FAULT_AT - 1]


async def finished(station: Proc) -> None:
    await station.wait_for("done", timeout=30)
    assert await station.exit_code() == 0, station.describe()
    assert station.matching("dropped") == [], station.describe()


@pytest.mark.parametrize("version", VERSIONS)
def test_the_csms_killed_with_a_message_in_flight_and_restarted(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        ledger, port = tmp_path / "ledger.sqlite", free_port()
        procs: list[Proc] = []
        try:
            first = await start_csms(version, ledger, port, "--delay", HOLD, "--delay-at", str(FAULT_AT))
            procs.append(first)
            station = await start_station(version, url(port), tmp_path, *RUN)
            procs.append(station)
            await first.wait_for("recorded", count=FAULT_AT)  # recorded, its answer held back
            await first.kill9()
            assert len(first.matching("answered")) == FAULT_AT - 1  # the last one never answered
            again = await start_csms(version, ledger, port)  # the same file, the same port
            procs.append(again)
            await finished(station)
            assert station.matching("connected") == ["connected 1", "connected 2"]  # a reconnect ...
            assert again.matching("boot") == []  # ... not a reboot
            await again.stop()
            check_ledger(ledger, version, T, M, [first, again], resent=[in_flight(version)])
        except BaseException:
            print(describe(*procs))
            raise
        finally:
            for proc in procs:
                await proc.stop()

    run(scenario(), 60)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_station_killed_with_a_message_in_flight_and_restarted(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        ledger, port = tmp_path / "ledger.sqlite", free_port()
        procs: list[Proc] = []
        try:
            csms = await start_csms(version, ledger, port, "--delay", HOLD, "--delay-at", str(FAULT_AT))
            procs.append(csms)
            first = await start_station(version, url(port), tmp_path, *RUN)
            procs.append(first)
            await csms.wait_for("recorded", count=FAULT_AT)
            await first.kill9()  # the message in flight: the CSMS has it, the station cannot know
            assert first.matching("done") == []
            submitted = len(first.matching("submitted"))
            again = await start_station(version, url(port), tmp_path, *RUN)  # the same outbox file
            procs.append(again)
            restored = int((await again.wait_for("restored")).split()[1])
            assert restored >= 1  # at least the one in flight
            await finished(again)
            # nothing submitted twice: the second run goes on after the last one the first made
            numbers = [int(line.split()[1]) for line in first.matching("submitted") + again.matching("submitted")]
            assert numbers == list(range(1, T * (M + 2) + 1)), numbers
            assert submitted >= FAULT_AT
            assert len(again.matching("delivered-earlier")) == restored  # each restored one, answered
            # the restarted station booted before it sent anything it had stored
            boots = [i for i, line in enumerate(csms.lines) if line.startswith("boot")]
            resend = csms.lines.index(f"recorded {in_flight(version)} duplicate")
            assert len(boots) == 2 and boots[1] < resend
            await csms.stop()
            check_ledger(ledger, version, T, M, [csms], resent=[in_flight(version)])
        except BaseException:
            print(describe(*procs))
            raise
        finally:
            for proc in procs:
                await proc.stop()

    run(scenario(), 60)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_silent_partition_loses_an_answer_and_the_station_resends(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        ledger, port = tmp_path / "ledger.sqlite", free_port()
        procs: list[Proc] = []
        proxy = PartitionProxy(port)
        try:
            csms = await start_csms(version, ledger, port, "--delay", HOLD, "--delay-at", str(FAULT_AT), *PINGS)
            procs.append(csms)
            station = await start_station(version, url(await proxy.start()), tmp_path, *RUN, *PINGS)
            procs.append(station)
            await csms.wait_for("recorded", count=FAULT_AT)
            proxy.partition()  # within the hold: the answer can only be lost
            await station.wait_for("disconnected")  # noticed by the pings, nothing was closed
            assert len(csms.matching("answered")) == FAULT_AT - 1  # still held: the connection dies first
            assert station.matching("connected") == ["connected 1"]
            dropped = proxy.dropped_bytes
            assert dropped > 0
            proxy.heal()
            await station.wait_for("connected 2")
            await finished(station)
            assert csms.matching("boot") == [f"boot {STATION}"]  # a reconnect, not a reboot
            await csms.stop()
            check_ledger(ledger, version, T, M, [csms], resent=[in_flight(version)])
        except BaseException:
            print(describe(*procs))
            raise
        finally:
            for proc in procs:
                await proc.stop()
            await proxy.close()

    run(scenario(), 60)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_csms_that_answers_callerror_then_accepts(version: str, tmp_path: Path) -> None:
    async def scenario() -> None:
        ledger, port = tmp_path / "ledger.sqlite", free_port()
        procs: list[Proc] = []
        try:
            csms = await start_csms(version, ledger, port, "--refuse", "2")
            procs.append(csms)
            station = await start_station(
                version, url(port), tmp_path, *RUN, "--attempts", "3", "--retry-interval", "0.3"
            )
            procs.append(station)
            await finished(station)
            first = expected_labels(version, T, M)[0]
            assert csms.matching("refused") == [f"refused {first}"] * 2  # the same message, twice
            assert station.matching("connected") == ["connected 1"]  # CALLERRORs: no reconnect
            await csms.stop()
            check_ledger(ledger, version, T, M, [csms])  # refused ones were not recorded: no duplicate
        except BaseException:
            print(describe(*procs))
            raise
        finally:
            for proc in procs:
                await proc.stop()

    run(scenario(), 60)
