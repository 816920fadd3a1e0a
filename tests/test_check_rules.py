"""What `ocppkit check` knows beyond the schemas comes from the edition records: who sends an
action, a release's error codes, how strongly it forbids a second outstanding call, the
versions it knows and the order in which a tied guess is settled."""

from __future__ import annotations

import io
import json
import tokenize
from pathlib import Path

import pytest

from ocppkit import ErrorCode
from ocppkit.check import Options, check_files
from ocppkit.check.rules import CSMS, STATION, concurrent_call_severity, directions, error_code_fault, initiator
from ocppkit.check.versions import TIE_ORDER, version_from_text
from ocppkit.edition import EDITIONS, VERSIONS, edition

CHECK = Path(__file__).resolve().parent.parent / "ocppkit" / "check"


def test_who_sends_an_action_is_the_editions_word() -> None:
    sides = {"station": STATION, "csms": CSMS, None: None}
    for version, ed in EDITIONS.items():
        assert set(directions(version)) == ed.actions
        for action in ed.actions:
            assert directions(version)[action] == sides[ed.initiator(action)], (version, action)
    assert initiator("BootNotification") == STATION and initiator("GetVariables") == CSMS
    assert initiator("DataTransfer") is None  # both sides
    assert initiator("NoSuchAction") is None


@pytest.mark.parametrize(
    ("version", "code", "fault"),
    [
        ("1.6", "FormationViolation", None),
        (
            "1.6",
            "FormatViolation",
            ("is not an OCPP 1.6 error code (OCPP 1.6 spells it FormationViolation)", "FormationViolation"),
        ),
        (
            "1.6",
            "RpcFrameworkError",
            ("is not an OCPP 1.6 error code (1.6 has no such code; the nearest is ProtocolError)", "ProtocolError"),
        ),
        ("2.0.1", "FormatViolation", None),
        (
            "2.1",
            "FormationViolation",
            ("is not an OCPP 2.1 error code (OCPP 2.1 spells it FormatViolation)", "FormatViolation"),
        ),
        ("2.0.1", "Teapot", ("is not an OCPP 2.0.1 error code", None)),
    ],
)
def test_error_code_faults(version: str, code: str, fault: tuple[str, str | None] | None) -> None:
    assert error_code_fault(code, edition(version)) == fault


def test_every_code_of_a_release_passes() -> None:
    for ed in EDITIONS.values():
        assert all(error_code_fault(code, ed) is None for code in ed.error_codes)
        assert all(error_code_fault(ed.spell(code.value), ed) is None for code in ErrorCode)


def test_a_second_outstanding_call_is_an_error_where_the_release_says_shall_not() -> None:
    assert [concurrent_call_severity(edition(v)) for v in VERSIONS] == ["warning", None, None]


def test_versions_named_in_text() -> None:
    for v in VERSIONS:
        assert version_from_text(f"ocpp{v}") == v and version_from_text(f"OCPP {v}J") == v
    assert version_from_text("ocpp2.10") is None and version_from_text(3) is None


def test_ties_go_to_2_0_1_then_1_6_then_2_1(tmp_path: Path) -> None:
    assert TIE_ORDER == ("2.0.1", "1.6", "2.1") and set(TIE_ORDER) == set(VERSIONS)
    path = tmp_path / "hb.jsonl"  # Heartbeat is valid in every release: a three-way tie
    with open(path, "w") as f:
        for k in range(3):
            f.write(json.dumps({"dir": "station->csms", "frame": f'[2,"h{k}","Heartbeat",{{}}]'}) + "\n")
            f.write(json.dumps({"dir": "csms->station", "frame": f'[3,"h{k}",{{}}]'}) + "\n")
    s = check_files([str(path)], Options())
    (station,) = s.stations.values()
    assert station["versions"] == ["2.0.1 (guessed: 3 of 3 calls valid)"]


def test_no_version_is_spelt_out_in_the_checkers_code() -> None:
    """Rules read the edition records: no string in ocppkit/check/ is a version, except in
    docstrings (a string that is a whole statement)."""
    found = []
    for path in sorted(CHECK.glob("*.py")):
        tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
        for i, tok in enumerate(tokens):
            if tok.type != tokenize.STRING:
                continue
            before = next((t for t in reversed(tokens[:i]) if t.type not in (tokenize.NL, tokenize.COMMENT)), None)
            docstring = before is None or before.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
            text = tok.string.strip("bBrRuU")
            if not docstring and text[1:-1] in VERSIONS:
                found.append(f"{path.name}:{tok.start[0]}: {tok.string}")
    assert found == []
