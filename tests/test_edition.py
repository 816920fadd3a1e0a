"""The edition records: generated from codegen/editions.toml and the schemas, and consistent with
the generated packages and the error-code spellings every version uses."""

from __future__ import annotations

import importlib

import pytest

import ocppkit
from ocppkit import ErrorCode, edition, spell_error_code
from ocppkit.edition import EDITIONS, VERSIONS, edition_for_subprotocol


def test_every_version_has_one_record_with_its_package_and_subprotocol() -> None:
    assert VERSIONS == ("1.6", "2.0.1", "2.1")
    for version, ed in EDITIONS.items():
        assert ed.version == version and edition(version) is ed
        module = importlib.import_module(ed.package)
        assert module.VERSION == version
        assert ed.subprotocol == "ocpp" + version
        assert edition_for_subprotocol(ed.subprotocol) is ed
    assert edition_for_subprotocol("ocpp9") is None


def test_unknown_version_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"version: expected one of 1\.6, 2\.0\.1, 2\.1, got '2\.0'"):
        edition("2.0")
    with pytest.raises(ValueError, match="got None"):
        edition(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", VERSIONS)
def test_directions_partition_the_actions_of_the_schemas(version: str) -> None:
    ed = edition(version)
    actions = importlib.import_module(ed.package).ACTIONS
    assert ed.actions == frozenset(actions)
    assert not ed.station_actions & ed.csms_actions
    assert not ed.both_actions & (ed.station_actions | ed.csms_actions)
    assert ed.send_actions == frozenset(a for a, row in actions.items() if row.response is None)
    assert ed.send_actions <= ed.station_actions
    assert ed.initiator("BootNotification") == "station"
    assert ed.initiator("Reset") == "csms"
    assert ed.initiator("DataTransfer") is None
    assert ed.initiator("NoSuchAction") is None


def test_counts_match_the_specifications() -> None:
    # OCPP 1.6 core 28 + security extension 11; 2.0.1: 64; 2.1: 91 (reference tables)
    assert len(edition("1.6").actions) == 39 and len(edition("1.6").station_actions) == 13
    assert len(edition("2.0.1").actions) == 64 and len(edition("2.0.1").station_actions) == 24
    assert len(edition("2.1").actions) == 91 and len(edition("2.1").station_actions) == 36
    assert edition("2.1").send_actions == {"NotifyPeriodicEventStream"}
    assert edition("2.0.1").csms_actions <= edition("2.1").csms_actions


@pytest.mark.parametrize("version", VERSIONS)
def test_spellings_agree_with_spell_error_code(version: str) -> None:
    ed = edition(version)
    for code in ErrorCode:
        assert ed.spell(code.value) == spell_error_code(code, version)
    assert {ed.spell(c.value) for c in ErrorCode} == ed.error_codes
    assert len(ed.error_codes) == (10 if version == "1.6" else 12)


def test_rpc_rules_per_version() -> None:
    v16, v201, v21 = (edition(v) for v in VERSIONS)
    assert (v16.message_types, v201.message_types, v21.message_types) == ({2, 3, 4}, {2, 3, 4}, {2, 3, 4, 5, 6})
    assert v16.spell(v16.frame_error) == "FormationViolation"
    assert v201.frame_error == v21.frame_error == "RpcFrameworkError"
    assert (v16.answers_unreadable, v201.answers_unreadable, v21.answers_unreadable) == (False, True, True)
    assert (v16.unknown_message_type, v201.unknown_message_type, v21.unknown_message_type) == (
        None,
        "MessageTypeNotSupported",
        None,
    )
    assert (v16.result_error_type, v201.result_error_type, v21.result_error_type) == (None, None, 5)
    assert (v16.max_description, v201.max_description, v21.max_description) == (None, 255, 255)
    assert (v16.one_call_required, v201.one_call_required, v21.one_call_required) == (False, True, True)


def test_records_are_frozen() -> None:
    ed = edition("2.0.1")
    with pytest.raises(AttributeError):
        ed.subprotocol = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ed.spellings["FormatViolation"] = "x"  # type: ignore[index]
    assert repr(ed) == "<Edition OCPP 2.0.1 (ocpp2.0.1)>"
    assert ocppkit.Edition is type(ed)
