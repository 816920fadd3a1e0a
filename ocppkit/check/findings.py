"""The findings of ``ocppkit check``: their kinds, the :class:`Finding` record, and the
:class:`FindingLog` that counts every finding, keeps the first ones in detail, and words each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ..errors import OcppError
from ..frames import CallError, CallResultError
from .observe import Conn, EarlyAnswer, Outstanding
from .rules import SIDE_NAMES, error_code_fault
from .stats import StationTotals

__all__ = ["KINDS", "SEVERITIES", "Finding", "FindingLog", "Kind"]

SEVERITIES = ("info", "warning", "error")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


class Kind(msgspec.Struct, frozen=True):
    """A kind of finding: its name, default severity and one-line title."""

    name: str
    severity: str
    title: str


#: Every finding, its default severity and a one-line title (docs/check.md explains each).
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("schema", "error", "payload breaks its schema"),
        Kind("malformed", "error", "not a valid OCPP-J frame"),
        Kind("unknown-action", "error", "CALL for an action the version does not define"),
        Kind("wrong-direction", "error", "CALL sent by the side that should receive it"),
        Kind("unanswered", "error", "CALL never answered"),
        Kind("late-result", "warning", "answer after the call's timeout"),
        Kind("unknown-id", "warning", "answer whose id matches no call"),
        Kind("duplicate-result", "error", "second answer to the same call"),
        Kind("out-of-order", "error", "answer recorded before its call"),
        Kind("duplicate-id", "error", "CALL reusing the id of a call still outstanding"),
        Kind("reused-id", "warning", "CALL reusing the id of a call already answered"),
        Kind("concurrent-call", "error", "CALL sent while the same side has one outstanding"),
        Kind("call-error", "warning", "CALLERROR sent"),
        Kind("error-code", "error", "error code the version does not define (or spells otherwise)"),
        Kind("result-error", "warning", "CALLRESULTERROR sent (2.1)"),
        Kind("accepted-invalid", "warning", "invalid CALL answered with a CALLRESULT"),
        Kind("before-boot", "error", "message before the boot was accepted"),
        Kind("send-answered", "error", "2.1 SEND answered"),
        Kind("relaxed", "info", "accepted only thanks to the validation policy"),
        Kind("time-backwards", "info", "timestamp earlier than the previous frame's"),
        Kind("unreadable-line", "warning", "log line that could not be read"),
        Kind("handshake", "warning", "WebSocket upgrade refused or without an OCPP subprotocol"),
        Kind("websocket-error", "error", "WebSocket protocol error"),
        Kind("websocket-close", "info", "WebSocket closed with an error code"),
        Kind("binary-message", "error", "binary WebSocket message"),
        Kind("capture-gap", "warning", "bytes missing from the capture"),
    )
}


class Finding(msgspec.Struct, frozen=True, gc=False):
    """One finding: what, where (file and line or packet number), when, which station."""

    kind: str
    severity: str
    file: str
    position: int
    unit: str  # "line" or "packet"
    time: float | None
    station: str
    message: str
    details: dict[str, Any] = {}


class FindingLog:
    """Every finding of a run: all counted (per kind, severity and station), the first
    ``max_findings`` kept as :class:`Finding` records.

    Parameters:
        overrides: kind -> severity, from ``--severity``; an override beats the severity a rule
            asks for.
        max_findings: how many findings are kept in detail.
        stations: the per-station totals, whose finding counts this log keeps up to date.
    """

    def __init__(self, overrides: Mapping[str, str], max_findings: int, stations: dict[str, StationTotals]) -> None:
        self.overrides = overrides
        self.max_findings = max_findings
        self.stations = stations
        self.findings: list[Finding] = []
        self.dropped = 0
        self.by_kind: dict[str, int] = {}
        self.by_kind_severity: dict[str, dict[str, int]] = {}
        self.by_severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        self._severity = {k: overrides.get(k, v.severity) for k, v in KINDS.items()}
        # where the findings of the source being read are
        self.file = ""
        self.unit = "line"

    def add(
        self,
        kind: str,
        station: str,
        pos: int,
        ts: float | None,
        message: str,
        details: dict[str, Any] | None = None,
        severity: str | None = None,
    ) -> None:
        """Record one finding; ``severity`` None takes the kind's (or its ``--severity``)."""
        sev = self._severity.get(kind, "warning") if severity is None or kind in self.overrides else severity
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        per = self.by_kind_severity.get(kind)
        if per is None:
            per = self.by_kind_severity[kind] = {}
        per[sev] = per.get(sev, 0) + 1
        self.by_severity[sev] += 1
        st = self.stations.get(station)
        if st is not None:
            st.findings[sev] += 1
        if len(self.findings) < self.max_findings:
            self.findings.append(Finding(kind, sev, self.file, pos, self.unit, ts, station, message, details or {}))
        else:
            self.dropped += 1

    def failed(self, threshold: str) -> bool:
        """Whether any finding is at or above ``threshold`` ("info", "warning" or "error")."""
        rank = _RANK[threshold]
        return any(n for s, n in self.by_severity.items() if _RANK[s] >= rank)

    # ------------------------------------------------------------------ what the findings say

    def error_code(self, c: Conn, pos: int, ts: float | None, side: int, f: CallError | CallResultError) -> None:
        """A CALLERROR's (CALLRESULTERROR's) code must be one of the version's, in its spelling."""
        assert c.edition is not None
        fault = error_code_fault(f.error_code, c.edition)
        if fault is None:
            return
        what = "CALLERROR" if type(f) is CallError else "CALLRESULTERROR"
        details: dict[str, Any] = {"code": f.error_code, "unique_id": f.unique_id, "frame": what}
        if fault[1] is not None:
            details["expected"] = fault[1]
        if side >= 0:
            details["sender"] = SIDE_NAMES[side]
        self.add("error-code", c.station, pos, ts, f"{what} code {f.error_code!r} {fault[0]}", details)

    def call_error(
        self, c: Conn, pos: int, ts: float | None, cs: int, action: str | None, cpos: int | None, err: CallError
    ) -> None:
        """A CALLERROR answering a call of side ``cs`` (-1: not known) at ``cpos``."""
        code = err.error_code
        sender = SIDE_NAMES[1 - cs] if cs >= 0 else "?"
        what = f"the {action} call at {self.unit} {cpos}" if action is not None else f"id {err.unique_id!r}"
        msg = f"{sender} answered {what} with CALLERROR {code}"
        if err.error_description:
            msg += f": {err.error_description}"
        assert c.edition is not None
        if error_code_fault(code, c.edition) is not None:
            msg += f" (not an OCPP {c.version} error code)"
        details: dict[str, Any] = {
            "code": code,
            "description": err.error_description,
            "unique_id": err.unique_id,
            "sender": sender,
        }
        if action is not None:
            details["action"] = action
            details["call_position"] = cpos
        if err.error_details:
            details["error_details"] = err.error_details
        self.add("call-error", c.station, pos, ts, msg, details)

    def result_error(self, c: Conn, pos: int, ts: float | None, side: int, f: CallResultError, at: int | None) -> None:
        """A 2.1 CALLRESULTERROR of ``side`` about the result it got at ``at``."""
        where = f" for the result at {self.unit} {at}" if at is not None else ""
        sender = SIDE_NAMES[side] if side >= 0 else "?"
        self.add(
            "result-error",
            c.station,
            pos,
            ts,
            f"{sender} could not process a CALLRESULT{where}: CALLRESULTERROR {f.error_code}"
            + (f": {f.error_description}" if f.error_description else ""),
            {"code": f.error_code, "description": f.error_description, "unique_id": f.unique_id, "sender": sender},
        )

    def unknown_id(self, c: Conn, uid: str, o: EarlyAnswer) -> None:
        """An answer no call came for."""
        err = o.error
        what = "CALLERROR" if err is not None else "CALLRESULT"
        sender = SIDE_NAMES[o.side] if o.side >= 0 else "?"
        details: dict[str, Any] = {"unique_id": uid, "sender": sender, "frame": what}
        if err is not None:
            details["code"] = err.error_code
        self.add(
            "unknown-id",
            c.station,
            o.position,
            o.time,
            f"{what} from the {sender} for id {uid!r}, which no call has",
            details,
        )

    def unanswered(self, c: Conn, side: int, uid: str, e: Outstanding, why: str, severity: str | None) -> None:
        """A call of ``side`` that got no answer."""
        self.add(
            "unanswered",
            c.station,
            e.position,
            e.time,
            f"{SIDE_NAMES[side]}'s {e.action} call (id {uid!r}): {why}",
            {"action": e.action, "unique_id": uid, "sender": SIDE_NAMES[side]},
            severity=severity,
        )

    def relaxed(self, c: Conn, pos: int, ts: float | None, action: str, what: str, relaxations: Any) -> None:
        """A frame accepted only thanks to the policy."""
        items = [{"path": r.path, "rule": r.rule, "action": r.action} for r in relaxations]
        text = ", ".join(f"{r['path']} {r['rule']} ({r['action']})" for r in items)
        self.add(
            "relaxed",
            c.station,
            pos,
            ts,
            f"{action} {what} accepted under the policy: {text}",
            {"action": action, "relaxations": items},
        )

    def malformed(self, c: Conn, pos: int, ts: float | None, exc: OcppError) -> None:
        """Not a valid OCPP-J frame, and what the receiver should answer."""
        reply = "nothing (the specification says to stay silent)"
        if exc.reply is not None:
            reply = exc.reply.decode("utf-8", "replace")
        details: dict[str, Any] = {"code": exc.code, "rule": exc.details.get("rule"), "reply": reply}
        if exc.unique_id is not None:
            details["unique_id"] = exc.unique_id
        if exc.message_type is not None:
            details["message_type"] = exc.message_type
        self.add("malformed", c.station, pos, ts, f"{exc.description} ({exc.code})", details)

    def schema(self, c: Conn, pos: int, ts: float | None, action: str, what: str, exc: OcppError) -> None:
        """A payload (``what``: request, response or SEND) that breaks its schema."""
        self.add(
            "schema",
            c.station,
            pos,
            ts,
            f"{action} {what}: {exc.description} [{exc.code}]",
            {
                "action": action,
                "message": what,
                "code": exc.code,
                "path": exc.details.get("path", "$"),
                "rule": exc.details.get("rule", ""),
                "unique_id": exc.unique_id,
            },
        )
