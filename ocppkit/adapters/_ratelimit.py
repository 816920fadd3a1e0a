"""A token bucket limiting how often a peer may call: sans-IO (the clock is injected), so the
adapters apply it and the tests drive it with a fake clock."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; :meth:`take` spends one.

    It starts full: a peer may send ``burst`` calls at once, then ``rate`` calls a second on
    average. ``rate`` 0 means no limit (``take`` always succeeds). ``clock()`` returns seconds
    (monotonic: a clock going backwards adds nothing).
    """

    __slots__ = ("rate", "burst", "_clock", "_tokens", "_at")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate >= 0):
            raise ValueError(f"rate: expected calls per second >= 0, got {rate!r}")
        if not (isinstance(burst, int) and not isinstance(burst, bool) and burst >= 1):
            raise ValueError(f"burst: expected an int >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()

    @property
    def tokens(self) -> float:
        """The tokens available now (refilled up to ``burst``)."""
        self._refill()
        return self._tokens

    def take(self) -> bool:
        """Spend one token: True if there was one (the call may go on), False if the peer calls
        faster than allowed."""
        if self.rate == 0:
            return True
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._at
        if elapsed > 0:
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._at = now
