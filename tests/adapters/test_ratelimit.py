"""The token bucket limiting a peer's calls, driven by a fake clock, and the options that set it."""

from __future__ import annotations

import pytest

from ocppkit.adapters._ratelimit import TokenBucket
from ocppkit.adapters.asyncio import SessionOptions


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_allows_the_burst_then_refuses() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, 5, clock)
    assert [bucket.take() for _ in range(7)] == [True] * 5 + [False, False]


def test_the_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, 5, clock)
    for _ in range(5):
        assert bucket.take()
    clock.now += 0.4  # 0.8 of a token: not yet one
    assert not bucket.take()
    clock.now += 0.1  # one token
    assert bucket.take() and not bucket.take()
    clock.now += 1000.0  # a long quiet time saves up `burst` tokens, no more
    assert bucket.tokens == 5.0
    assert [bucket.take() for _ in range(6)] == [True] * 5 + [False]


def test_a_clock_going_backwards_adds_nothing() -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, 1, clock)
    assert bucket.take()
    clock.now -= 50.0
    assert not bucket.take()
    clock.now += 0.5  # still before the last reading: nothing refilled
    assert not bucket.take()


def test_rate_zero_is_no_limit() -> None:
    bucket = TokenBucket(0, 1, Clock())
    assert all(bucket.take() for _ in range(10_000))


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [(-1, 5, "rate: expected"), (True, 5, "rate: expected"), (1, 0, "burst: expected"), (1, 2.5, "burst: expected")],
)
def test_bad_parameters_name_the_parameter(rate: object, burst: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenBucket(rate, burst, Clock())  # type: ignore[arg-type]


def test_options_defaults_and_checks() -> None:
    o = SessionOptions()
    assert (o.max_call_rate, o.max_call_burst, o.max_excess_calls) == (20.0, 50, 100)
    assert SessionOptions(max_call_rate=0, max_call_burst=0, max_excess_calls=0).max_call_rate == 0
    for field, value in [
        ("max_call_rate", -1),
        ("max_call_rate", float("nan")),
        ("max_call_rate", float("inf")),
        ("max_call_rate", "20"),
        ("max_call_burst", -1),
        ("max_call_burst", 1.5),
        ("max_excess_calls", True),
    ]:
        with pytest.raises(ValueError, match=f"^{field}: expected"):
            SessionOptions(**{field: value})
