"""Test helpers: a fake clock and a station <-> CSMS pair wired back to back."""

from __future__ import annotations

import itertools
from typing import Any

import ocppkit


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Pair:
    """A station and a CSMS connection over a fake link that the test pumps by hand."""

    def __init__(self, version: str, Connection: Any = None, **options: Any) -> None:
        Connection = Connection or ocppkit.Connection
        self.clock = FakeClock()
        counter = itertools.count(1)
        self.station = Connection("station", version, clock=self.clock, ids=lambda: f"s-{next(counter)}", **options)
        counter2 = itertools.count(1)
        self.csms = Connection("csms", version, clock=self.clock, ids=lambda: f"c-{next(counter2)}", **options)
        self.wire: list[tuple[str, bytes]] = []  # everything that crossed, for assertions

    def pump(self) -> tuple[list[Any], list[Any]]:
        """Deliver everything queued in both directions until quiet; return (station, csms) events."""
        station_events: list[Any] = []
        csms_events: list[Any] = []
        while True:
            to_csms = self.station.data_to_send()
            to_station = self.csms.data_to_send()
            if not to_csms and not to_station:
                break
            for data in to_csms:
                self.wire.append((">", data))
                self.csms.receive_data(data)
            for data in to_station:
                self.wire.append(("<", data))
                self.station.receive_data(data)
            station_events += list(self.station.events())
            csms_events += list(self.csms.events())
        station_events += list(self.station.events())
        csms_events += list(self.csms.events())
        return station_events, csms_events
