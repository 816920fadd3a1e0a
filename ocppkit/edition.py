"""What differs between the OCPP releases, one frozen record per version.

Every rule that depends on the version reads a field of its :class:`Edition` instead of comparing
version strings::

    ed = ocppkit.edition("2.0.1")
    ed.subprotocol                  # 'ocpp2.0.1'
    ed.spell("FormatViolation")     # 'FormatViolation' (1.6: 'FormationViolation')
    "TransactionEvent" in ed.station_actions

The data comes from ``ocppkit/_editions.py``, which ``python -m codegen`` writes from the schemas
(the actions) and ``codegen/editions.toml`` (the facts of the RPC framework that the schemas do
not hold). A new release is one record there plus one line in ``codegen/versions.toml``.

This module imports nothing but the standard library: the codec, the connection and the adapters
all read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ._editions import EDITIONS as _DATA

__all__ = ["EDITIONS", "VERSIONS", "Edition", "edition", "edition_for_subprotocol"]


@dataclass(frozen=True, slots=True)
class Edition:
    """The facts of one OCPP release that the rules of ocppkit depend on.

    Attributes:
        version: the release, as ocppkit names it ("1.6", "2.0.1", "2.1").
        package: the module with its generated classes (``"ocppkit.v201"``).
        subprotocol: the WebSocket subprotocol that selects it (``"ocpp2.0.1"``).
        message_types: the message type ids it defines (2 CALL, 3 CALLRESULT, 4 CALLERROR; 2.1
            adds 5 CALLRESULTERROR and 6 SEND).
        error_codes: the RPC error codes it defines, as it spells them on the wire.
        spellings: for every ``ErrorCode`` value (2.x spelling), what this release sends: its own
            spelling, or its stand-in for a code it lacks (1.6 has no ``RpcFrameworkError``).
        frame_error: the code (2.x spelling) answering a broken frame or CALL envelope
            (1.6 ``FormatViolation``, sent as ``FormationViolation``; 2.x ``RpcFrameworkError``).
        answers_unreadable: whether a frame whose message id cannot be read is answered, with
            id ``"-1"`` (2.x yes; 1.6 stays silent).
        unknown_message_type: the code (2.x spelling) answering a message type the release does
            not define, or None where such a frame is ignored (1.6, 2.1).
        result_error_type: the message type answering an invalid CALLRESULT (2.1: 5,
            CALLRESULTERROR), or None where it is not answered.
        max_description: the longest errorDescription the release allows, or None (1.6).
        one_call_required: whether a side SHALL NOT send a CALL while one of its CALLs is
            outstanding (2.x), rather than only SHOULD NOT (1.6).
        station_actions: the actions a charging station initiates.
        csms_actions: the actions a CSMS initiates.
        both_actions: the actions either side initiates (DataTransfer).
        send_actions: the SEND-only actions (2.1), never answered.
    """

    version: str
    package: str
    subprotocol: str
    message_types: frozenset[int]
    error_codes: frozenset[str]
    spellings: Mapping[str, str]
    frame_error: str
    answers_unreadable: bool
    unknown_message_type: str | None
    result_error_type: int | None
    max_description: int | None
    one_call_required: bool
    station_actions: frozenset[str]
    csms_actions: frozenset[str]
    both_actions: frozenset[str]
    send_actions: frozenset[str]

    @property
    def actions(self) -> frozenset[str]:
        """Every action of the release."""
        return self.station_actions | self.csms_actions | self.both_actions | self.send_actions

    def spell(self, code: str) -> str:
        """The wire spelling of an error code given in its 2.x spelling (``ErrorCode`` values)."""
        return self.spellings.get(code, code)

    def initiator(self, action: str) -> str | None:
        """``"station"`` or ``"csms"`` for an action one side initiates; None for both or unknown."""
        if action in self.station_actions:
            return "station"
        if action in self.csms_actions:
            return "csms"
        return None

    def __repr__(self) -> str:
        return f"<Edition OCPP {self.version} ({self.subprotocol})>"


def _build(data: Mapping[str, Any]) -> Edition:
    return Edition(
        version=data["version"],
        package=data["package"],
        subprotocol=data["subprotocol"],
        message_types=frozenset(data["message_types"]),
        error_codes=frozenset(data["error_codes"]),
        spellings=MappingProxyType(dict(data["spellings"])),
        frame_error=data["frame_error"],
        answers_unreadable=data["answers_unreadable"],
        unknown_message_type=data["unknown_message_type"],
        result_error_type=data["result_error_type"],
        max_description=data["max_description"],
        one_call_required=data["one_call_required"],
        station_actions=frozenset(data["station_actions"]),
        csms_actions=frozenset(data["csms_actions"]),
        both_actions=frozenset(data["both_actions"]),
        send_actions=frozenset(data["send_actions"]),
    )


#: Every release ocppkit knows, oldest first: version -> :class:`Edition`.
EDITIONS: Mapping[str, Edition] = MappingProxyType({v: _build(d) for v, d in _DATA.items()})
#: The versions ocppkit knows, oldest first.
VERSIONS: tuple[str, ...] = tuple(EDITIONS)
_BY_SUBPROTOCOL = {e.subprotocol: e for e in EDITIONS.values()}


def edition(version: str) -> Edition:
    """The :class:`Edition` of ``version``; ValueError naming the known versions otherwise."""
    try:
        return EDITIONS[version]
    except (KeyError, TypeError):
        raise ValueError(f"version: expected one of {', '.join(VERSIONS)}, got {version!r}") from None


def edition_for_subprotocol(subprotocol: str) -> Edition | None:
    """The edition a WebSocket subprotocol (``"ocpp2.0.1"``) selects, or None."""
    return _BY_SUBPROTOCOL.get(subprotocol)
