"""Reconnection timing of a charging station (OCPP 2.x ``RetryBackOff*``); no I/O, no clock."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

__all__ = ["RetryBackOff"]


@dataclass
class RetryBackOff:
    """Reconnect timing, as OCPP 2.x's ``OCPPCommCtrlr.RetryBackOff*`` variables define it:
    the first attempt waits ``wait_minimum`` plus up to ``random_range`` seconds; each failure
    doubles the wait, ``repeat_times`` times at most; a successful connection resets it.

    Attributes:
        wait_minimum: seconds before the first reconnection attempt (``RetryBackOffWaitMinimum``).
        random_range: at most this many seconds of random jitter added to each wait
            (``RetryBackOffRandomRange``).
        repeat_times: how many times the wait doubles (``RetryBackOffRepeatTimes``).
    """

    wait_minimum: float = 1.0
    random_range: float = 2.0
    repeat_times: int = 6

    def delays(self, rng: random.Random | None = None) -> Any:
        """An endless iterator of the waits, in seconds, before each reconnection attempt."""
        rng = rng or random.Random()
        wait = self.wait_minimum
        n = 0
        while True:
            yield wait + rng.uniform(0, self.random_range)
            if n < self.repeat_times:
                wait *= 2
                n += 1
