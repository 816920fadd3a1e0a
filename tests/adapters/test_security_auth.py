"""The authentication throttle's table (the throttle over every transport, and a raising
``authenticate``, are in tests/conformance/test_security_profile_1.py)."""

from __future__ import annotations

from ocppkit.adapters.websockets import AuthThrottle


def test_the_throttle_table_is_bounded() -> None:
    throttle = AuthThrottle(max_entries=100, forget_after=60)
    for n in range(1000):
        throttle.failed([("identity", f"CS{n}")], now=float(n) / 100)
    assert len(throttle) == 100
    assert throttle.locked([("identity", "CS999")], now=1000.0) == 0 and len(throttle) == 0  # expired
