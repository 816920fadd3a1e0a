"""Wire names -> Python identifiers.

Every rule here is applied at generation time only: the generated code carries an explicit
wire-name map for each class, so nothing is converted at run time.
"""

from __future__ import annotations

import keyword
import re

__all__ = ["NamingError", "enum_member", "field_name", "pascal"]


class NamingError(ValueError):
    """Two wire names map to one identifier, or a name cannot be made an identifier."""


# A word boundary: lower/digit -> Upper ("evseId" -> evse|Id), an acronym followed by a word
# ("OCSPRequest" -> OCSP|Request, "V2GCertificate" -> V2G|Certificate).
_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z0-9])(?=[A-Z][a-z])|(?<=[0-9])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def _words(name: str, specials: dict[str, str]) -> list[str]:
    for token, replacement in specials.items():
        # A special token is one word: "bulkSoC" -> "bulk" "soc".
        name = re.sub(rf"(?<![A-Za-z]){re.escape(token)}|(?<=[a-z0-9]){re.escape(token)}", f"_{replacement}_", name)
    words: list[str] = []
    for chunk in _NON_ALNUM.split(name):
        if chunk:
            words.extend(w for w in _BOUNDARY.split(chunk) if w)
    return words


def field_name(wire: str, specials: dict[str, str]) -> str:
    """camelCase wire name -> snake_case attribute ("chargePointVendor" -> charge_point_vendor)."""
    words = _words(wire, specials)
    if not words:
        raise NamingError(f"cannot make an identifier of {wire!r}")
    name = "_".join(w.lower() for w in words)
    if name[0].isdigit():
        name = "f_" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


def enum_member(value: str, specials: dict[str, str]) -> str:
    """Enum value -> UPPER_SNAKE member name ("PowerUp" -> POWER_UP, "L1-N" -> L1_N)."""
    words = _words(value, specials)
    if not words:
        raise NamingError(f"cannot make an enum member name of {value!r}")
    name = "_".join(w.upper() for w in words)
    if name[0].isdigit():
        name = "V_" + name
    return name


def pascal(text: str) -> str:
    """Any name -> PascalCase ("idTagInfo" -> IdTagInfo)."""
    return "".join(w[:1].upper() + w[1:] for w in _NON_ALNUM.split(text) if w)
