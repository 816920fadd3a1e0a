"""The identity rules as functions (the refusals over every transport are in
tests/conformance/test_negotiation_and_identity.py)."""

from __future__ import annotations

import pytest

from ocppkit.adapters.demo import csms_router
from ocppkit.adapters.websockets import (
    CSMSServer,
    default_identity_rule,
    identifier_string_rule,
    identity_in_path,
    lenient_identity_rule,
)


def test_the_rules_as_functions() -> None:
    assert identity_in_path("/RDAM%7C123?x=1") == "RDAM|123"
    assert identity_in_path("/a/b") is None and identity_in_path("/a/b", "/a/") == "b"
    assert identifier_string_rule("CS*-_=+|@.1") and not identifier_string_rule("CS 1")
    assert not identifier_string_rule("a:b") and not identifier_string_rule("X" * 49)
    assert lenient_identity_rule("RDAM 123") and not lenient_identity_rule("a\tb")
    assert not lenient_identity_rule("a/b") and not lenient_identity_rule("..")
    assert default_identity_rule("RDAM 123", ["ocpp1.6"]) and not default_identity_rule("RDAM 123", ["ocpp2.1"])
    assert default_identity_rule("RDAM 123", [])  # no offer the CSMS knows: lenient


def test_a_path_prefix_must_start_and_end_with_a_slash() -> None:
    with pytest.raises(ValueError, match="path_prefix"):
        CSMSServer(csms_router("2.0.1"), path_prefix="/ocpp")
