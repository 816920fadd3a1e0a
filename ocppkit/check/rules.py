"""What the checker knows about OCPP beyond the schemas: who sends which action, and a cheap
look at a frame's head before (or without) decoding it."""

from __future__ import annotations

import importlib
import re
from functools import cache
from typing import Any

from .._rpc_py import DEFAULT_ALLOWED_WHILE_PENDING
from ..errors import ErrorCode, parse_error_code, spell_error_code

__all__ = ["CSMS", "STATION", "allowed_while_pending", "error_code_fault", "initiator", "known_actions", "peek"]

STATION = 0
CSMS = 1

# Actions a station initiates (OCPP-J 1.6 + Security Whitepaper, 2.0.1, 2.1); DataTransfer goes
# both ways; every other action of a version is initiated by the CSMS.
_STATION_16 = frozenset(
    {
        "Authorize",
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
    }
)
_STATION_201 = frozenset(
    {
        "Authorize",
        "BootNotification",
        "ClearedChargingLimit",
        "FirmwareStatusNotification",
        "Get15118EVCertificate",
        "GetCertificateStatus",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "SignCertificate",
        "StatusNotification",
        "TransactionEvent",
    }
)
_STATION_21 = _STATION_201 | frozenset(
    {
        "BatterySwap",
        "ClosePeriodicEventStream",
        "GetCertificateChainStatus",
        "NotifyDERAlarm",
        "NotifyDERStartStop",
        "NotifyPeriodicEventStream",
        "NotifyPriorityCharging",
        "NotifySettlement",
        "OpenPeriodicEventStream",
        "PullDynamicScheduleUpdate",
        "ReportDERControl",
        "VatNumberValidation",
    }
)
_STATION = {"1.6": _STATION_16, "2.0.1": _STATION_201, "2.1": _STATION_21}
_MODULES = {"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}
_BOTH = frozenset({"DataTransfer"})

#: Station calls a CSMS accepts while the boot is Pending: the same set as ocppkit.Connection's.
allowed_while_pending = DEFAULT_ALLOWED_WHILE_PENDING


@cache
def known_actions(version: str | None) -> frozenset[str]:
    """The actions a version defines (all versions together for None)."""
    if version is None:
        return frozenset().union(*(known_actions(v) for v in _MODULES))
    module: Any = importlib.import_module(_MODULES[version])
    return frozenset(module.ACTIONS)


@cache
def initiator(version: str | None, action: str) -> int | None:
    """STATION or CSMS for an action of ``version`` (None: any version); None if both or unknown."""
    if action in _BOTH:
        return None
    if version is None:
        who = {initiator(v, action) for v in _MODULES if action in known_actions(v)}
        return who.pop() if len(who) == 1 else None
    if action not in known_actions(version):
        return None
    return STATION if action in _STATION[version] else CSMS


#: The error codes of each version, as it spells them (1.6: 10, 2.0.1 and 2.1: 12).
_CODES = {v: frozenset(spell_error_code(c, v) for c in ErrorCode) for v in _MODULES}
_NOT_IN_16 = (ErrorCode.RPC_FRAMEWORK_ERROR, ErrorCode.MESSAGE_TYPE_NOT_SUPPORTED)


def error_code_fault(code: str, version: str) -> tuple[str, str | None] | None:
    """None when ``code`` is one of ``version``'s error codes in its spelling; else what is wrong
    with it and the code the version would use (None if the code means nothing)."""
    if code in _CODES[version]:
        return None
    what = f"is not an OCPP {version} error code"
    parsed = parse_error_code(code)
    if parsed is None:
        return what, None
    spelled = spell_error_code(parsed, version)
    if version == "1.6" and parsed in _NOT_IN_16:
        return f"{what} (1.6 has no such code; the nearest is {spelled})", spelled
    return f"{what} (OCPP {version} spells it {spelled})", spelled


_PEEK_S = re.compile(r'\s*\[\s*(\d{1,3})\s*,\s*"((?:[^"\\]|\\.){0,64})"\s*(?:,\s*"([^"\\]{0,64})")?')
_PEEK_B = re.compile(rb'\s*\[\s*(\d{1,3})\s*,\s*"((?:[^"\\]|\\.){0,64})"\s*(?:,\s*"([^"\\]{0,64})")?')


def peek(data: str | bytes) -> tuple[int | None, str | None, str | None]:
    """(message type, id, action-or-code) read from a frame's head without decoding it."""
    if isinstance(data, str):
        m = _PEEK_S.match(data)
        if m is None:
            return None, None, None
        return int(m.group(1)), m.group(2), m.group(3)
    mb = _PEEK_B.match(data)
    if mb is None:
        return None, None, None
    a = mb.group(3)
    return int(mb.group(1)), mb.group(2).decode("utf-8", "replace"), a.decode("utf-8", "replace") if a else None
