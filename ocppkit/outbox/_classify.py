"""Which station messages the outbox queues, and which of them it may drop when storage runs out.

OCPP_BEHAVIOUR §1.1: 1.6 queues StartTransaction, StopTransaction, MeterValues (1.6 §3.7) and
SecurityEventNotification (Security Whitepaper A04.FR.02); 2.0.1/2.1 queue TransactionEvent
(E11-E13) and SecurityEventNotification (A04), and every station message but BootNotification
when ``OCPPCommCtrlr.QueueAllMessages`` is true. A stand-alone 2.x MeterValues is not
transaction-related.

§1.2: a station low on memory may drop intermediate messages (2.x ``TransactionEvent`` Updated,
E11.FR.04; 1.6 MeterValues, as libocpp does), never Started/Ended or Start/StopTransaction.
2.1 E12 names triggerReasons whose Updated events must not be dropped; the list could not be
read in normative text, so 2.1 keeps every Updated event except the periodic and clock-aligned
meter readings (docs/outbox.md, "Storage bound").

Sans-IO: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ..edition import edition

__all__ = ["INTERMEDIATE_TRIGGERS_21", "is_intermediate", "is_transaction_message"]

_TRANSACTION_ACTIONS: Mapping[str, frozenset[str]] = {
    "1.6": frozenset({"StartTransaction", "StopTransaction", "MeterValues", "SecurityEventNotification"}),
    "2.0.1": frozenset({"TransactionEvent", "SecurityEventNotification"}),
    "2.1": frozenset({"TransactionEvent", "SecurityEventNotification"}),
}

#: The triggerReasons of the 2.1 ``TransactionEvent`` Updated events the outbox may drop when
#: storage runs out: periodic and clock-aligned meter readings only (2.1 E12 forbids dropping some
#: Updated events; keeping every other one is a superset of any such list).
INTERMEDIATE_TRIGGERS_21 = frozenset({"MeterValuePeriodic", "MeterValueClock"})


def is_transaction_message(version: str, action: str, queue_all_messages: bool = False) -> bool:
    """Whether the outbox of an OCPP ``version`` station queues ``action``.

    1.6: StartTransaction, StopTransaction, MeterValues, SecurityEventNotification. 2.0.1/2.1:
    TransactionEvent, SecurityEventNotification. With ``queue_all_messages`` (2.x
    ``OCPPCommCtrlr.QueueAllMessages``), also every other action a station initiates and the
    CSMS answers, except BootNotification. ValueError for an unknown version.
    """
    ed = edition(version)
    if action in _TRANSACTION_ACTIONS.get(ed.version, frozenset()):
        return True
    if queue_all_messages and action != "BootNotification":
        return action in ed.station_actions or action in ed.both_actions
    return False


class _Intermediate(NamedTuple):
    action: str
    event_type: str | None  # the eventType it must have (2.x), or None
    triggers: frozenset[str] | None  # the triggerReasons it must have (2.1), or None for any


# Per version: the messages that may be dropped for storage (OCPP_BEHAVIOUR §1.2).
_INTERMEDIATE: Mapping[str, _Intermediate] = {
    "1.6": _Intermediate("MeterValues", None, None),
    "2.0.1": _Intermediate("TransactionEvent", "Updated", None),
    "2.1": _Intermediate("TransactionEvent", "Updated", INTERMEDIATE_TRIGGERS_21),
}


def is_intermediate(version: str, action: str, payload: Mapping[str, Any]) -> bool:
    """Whether a queued message (its decoded JSON ``payload``) may be dropped for storage."""
    rule = _INTERMEDIATE.get(version)
    if rule is None or action != rule.action:
        return False
    if rule.event_type is not None and payload.get("eventType") != rule.event_type:
        return False
    return rule.triggers is None or payload.get("triggerReason") in rule.triggers
