"""The duplicate-connection policy's checks (the policies themselves over every transport:
tests/conformance/test_security_profile_1.py and test_takeovers.py)."""

from __future__ import annotations

import pytest

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import CSMSServer


def test_the_duplicate_policy_is_checked_when_made() -> None:
    with pytest.raises(ValueError, match="duplicates"):
        CSMSServer(csms_router("2.0.1"), duplicates="kick")
    with pytest.raises(ValueError, match="max_replacements"):
        CSMSServer(csms_router("2.0.1"), max_replacements=0)
