"""The CSMS's copy of a station's device model (OCPP 2.0.1 and 2.1): :class:`DeviceModelMirror`.

Sans-IO: it is fed the messages a CSMS receives (NotifyReport parts, GetVariables and
SetVariables exchanges) and builds the requests it sends. The asyncio wiring (a NotifyReport
handler per station, ``fetch_report``) is :mod:`ocppkit.adapters.devicemodel_csms`.

Reports and their parts (``seqNo``, ``tbc``):

- the parts of a report (one ``requestId``) are held until the report is whole: the part with
  ``tbc`` false (or absent) has arrived and so has every ``seqNo`` from 0 up to it; only then is
  the report applied, in ``seqNo`` order, so the mirror never shows half a report;
- parts may come in any order; a part sent again unchanged (a station repeats a NotifyReport
  whose CALLRESULT it lost) is ignored; a part that contradicts one already held, a ``seqNo``
  past the last part, a second last part or a negative ``seqNo`` raise :class:`ReportError`
  and leave the report as it was;
- the same ``requestId`` after its report completed starts a new report;
- at most :attr:`DeviceModelMirror.max_pending` reports are held incomplete at once: a new one
  beyond that drops the oldest (counted in ``abandoned``);
- a complete report merges into the mirror (its variables replace what the mirror had of them),
  except a FullInventory the mirror asked for (``get_base_report_request``), which replaces the
  whole mirror: a variable the station no longer has disappears.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast, overload

from msgspec import UNSET

from . import _mirror_wire as _w
from ._mirror_diff import ReportDiff, Side, SpecChange, ValueChange, diff_sides, side_of
from ._mirror_entries import Attr, Entry, Pending, copy_entry, entry_of, spec_of, text
from ._mirror_wire import GetEntry, SetEntry, VariableName, VariableRef
from .spec import Component, Definition, VariableSpec

if TYPE_CHECKING:
    from ocppkit import v21, v201

    NotifyReportRequest = v201.NotifyReportRequest | v21.NotifyReportRequest
    GetVariablesRequest = v201.GetVariablesRequest | v21.GetVariablesRequest
    GetVariablesResponse = v201.GetVariablesResponse | v21.GetVariablesResponse
    SetVariablesRequest = v201.SetVariablesRequest | v21.SetVariablesRequest
    SetVariablesResponse = v201.SetVariablesResponse | v21.SetVariablesResponse
    GetBaseReportRequest = v201.GetBaseReportRequest | v21.GetBaseReportRequest
    GetReportRequest = v201.GetReportRequest | v21.GetReportRequest

#: The version a mirror is of, for a type checker (``Literal["2.0.1"]``, ``Literal["2.1"]`` or
#: ``str``).
V = TypeVar("V", bound=str)

__all__ = [
    "DeviceModelMirror",
    "GetEntry",
    "MirrorError",
    "ReportDiff",
    "ReportError",
    "ReportProgress",
    "SetEntry",
    "SpecChange",
    "ValueChange",
    "VariableName",
    "VariableRef",
    "VariableResult",
]


class MirrorError(ValueError):
    """A message the mirror cannot apply; the message names the field and the rule. The mirror
    is left as it was."""


class ReportError(MirrorError):
    """A NotifyReport part that does not fit its report (``seqNo``, ``tbc``)."""


@dataclass(frozen=True)
class ReportProgress:
    """Where a report stands after one of its parts.

    Attributes:
        request_id: the report's requestId.
        parts: the parts held (or applied, when complete).
        complete: the report is whole and has been applied to the mirror.
        missing: the seqNos still awaited below the highest seen (or the last part's); the
            first 100 of them.
        last: the seqNo of the last part (tbc false), None until it arrives.
        variables: the variables the report carries so far.
        repeated: this part was a repeat of one already taken (ignored).
    """

    request_id: int
    parts: int
    complete: bool
    missing: tuple[int, ...]
    last: int | None
    variables: int
    repeated: bool = False


@dataclass(frozen=True)
class VariableResult:
    """One entry of a GetVariables or SetVariables answer, as the mirror read it.

    Attributes:
        ref: the variable.
        attribute: the attribute type.
        status: the station's attributeStatus (``"Accepted"``, ``"Rejected"``,
            ``"UnknownVariable"``, ``"RebootRequired"``, ...).
        value: the value read (GetVariables) or set (SetVariables); None when there is none.
        applied: whether the mirror took the value.
    """

    ref: VariableRef
    attribute: str
    status: str
    value: str | None
    applied: bool


class DeviceModelMirror(Generic[V]):
    """The device model of one station as its CSMS knows it, from the station's reports and
    answers. See the module docstring for how report parts are assembled.

    For a type checker the mirror is of its version: ``DeviceModelMirror("2.1")`` builds
    ``ocppkit.v21`` requests, so ``csms.call()`` of them gives the typed ``v21`` response; a
    mirror of a version known only at run time (``DeviceModelMirror(session.version)``) builds
    the union of both.

    Parameters:
        version: the station's OCPP version, ``"2.0.1"`` or ``"2.1"``.
        max_pending: how many incomplete reports are held at once (the oldest is dropped).
        max_parts: the most parts a report may have (a higher ``seqNo`` is a ReportError).

    Attributes:
        version: the OCPP version.
        abandoned: the incomplete reports dropped so far to make room for newer ones.
        generated_at: the ``generatedAt`` of the last part of the last complete report, or None.
    """

    @overload
    def __init__(
        self: DeviceModelMirror[Literal["2.0.1"]],
        version: Literal["2.0.1"] = ...,
        *,
        max_pending: int = ...,
        max_parts: int = ...,
    ) -> None: ...
    @overload
    def __init__(
        self: DeviceModelMirror[Literal["2.1"]],
        version: Literal["2.1"],
        *,
        max_pending: int = ...,
        max_parts: int = ...,
    ) -> None: ...
    @overload
    def __init__(
        self: DeviceModelMirror[str], version: str, *, max_pending: int = ..., max_parts: int = ...
    ) -> None: ...
    def __init__(self, version: str = "2.0.1", *, max_pending: int = 8, max_parts: int = 10_000) -> None:
        self._m = _w.message_module(version)
        for name, value in (("max_pending", max_pending), ("max_parts", max_parts)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        self.version = version
        self.max_pending = max_pending
        self.max_parts = max_parts
        self.abandoned = 0
        self.generated_at: Any = None
        self._entries: dict[VariableRef, Entry] = {}
        self._pending: dict[int, Pending] = {}
        self._done: dict[int, dict[int, Any]] = {}  # requestId -> the parts of its complete report
        self._snapshots: dict[int, DeviceModelMirror[V]] = {}
        self._full: set[int] = set()  # requestIds of the FullInventory reports asked for

    def __repr__(self) -> str:
        return (
            f"<DeviceModelMirror {self.version}: {len(self._entries)} variables, {len(self._pending)} reports pending>"
        )

    # ------------------------------------------------------------------ reports

    def apply_report(self, request: NotifyReportRequest) -> ReportProgress:
        """Take one NotifyReport part; the report is applied when it is whole.

        Raises:
            ReportError: the part contradicts its report (the report is left as it was).
            TypeError: not a NotifyReportRequest of this mirror's version.
        """
        self._check(request, "NotifyReport")
        rid, seq = request.request_id, request.seq_no
        last = request.tbc is UNSET or request.tbc is False
        if seq < 0:
            raise ReportError(f"seqNo: expected >= 0, got {seq} (report {rid})")
        if seq >= self.max_parts:
            raise ReportError(
                f"seqNo: a report has at most {self.max_parts} parts here (max_parts), got {seq} (report {rid})"
            )
        done = self._done.get(rid)
        if done is not None and done.get(seq) == request and rid not in self._pending:
            whole = Pending(last=max(done))
            for n, part in done.items():
                whole.add(n, part)
            return self._progress(rid, whole, True, repeated=True)  # ignored
        pending = self._pending.get(rid)
        if pending is None:
            if len(self._pending) >= self.max_pending:
                del self._pending[next(iter(self._pending))]
                self.abandoned += 1
            pending = self._pending[rid] = Pending()
        held = pending.parts.get(seq)
        if held is not None:
            if held == request:
                return self._progress(rid, pending, False, repeated=True)
            raise ReportError(f"seqNo: report {rid} already has a different part {seq}")
        if pending.last is not None and seq > pending.last:
            raise ReportError(f"seqNo: report {rid} ended at part {pending.last} (tbc false); part {seq} cannot follow")
        if last:
            if pending.last is not None:
                raise ReportError(f"tbc: report {rid} already ended at part {pending.last}; part {seq} ends it again")
            beyond = [n for n in pending.parts if n > seq]
            if beyond:
                raise ReportError(f"tbc: part {seq} ends report {rid}, but part {max(beyond)} came before it")
            pending.last = seq
        pending.add(seq, request)
        if not pending.whole():
            return self._progress(rid, pending, False)
        del self._pending[rid]
        self._complete(rid, pending)
        return self._progress(rid, pending, True)

    def _progress(self, rid: int, pending: Pending, complete: bool, repeated: bool = False) -> ReportProgress:
        return ReportProgress(
            rid, len(pending.parts), complete, pending.missing(), pending.last, pending.count, repeated
        )

    def _complete(self, rid: int, pending: Pending) -> None:
        report: dict[VariableRef, Entry] = {}
        for seq in sorted(pending.parts):
            part = pending.parts[seq]
            for rd in part.report_data if part.report_data is not UNSET else ():
                report[_w.ref_of(rd.component, rd.variable)] = entry_of(rd)
        snapshot = cast(
            "DeviceModelMirror[V]",
            DeviceModelMirror(self.version, max_pending=self.max_pending, max_parts=self.max_parts),
        )
        snapshot._entries = {ref: copy_entry(e) for ref, e in report.items()}
        snapshot.generated_at = pending.parts[max(pending.parts)].generated_at
        if rid in self._full:
            self._full.discard(rid)
            self._entries = report
        else:
            for ref, entry in report.items():
                old = self._entries.get(ref)
                if old is None:
                    self._entries[ref] = entry
                else:
                    old.attributes.update(entry.attributes)
                    if entry.chars is not None:
                        old.chars = entry.chars
        self.generated_at = snapshot.generated_at
        self._done.pop(rid, None)
        self._snapshots.pop(rid, None)
        self._done[rid] = dict(pending.parts)
        self._snapshots[rid] = snapshot
        while len(self._snapshots) > self.max_pending:
            oldest = next(iter(self._snapshots))
            del self._snapshots[oldest]
            self._done.pop(oldest, None)

    def report(self, request_id: int) -> DeviceModelMirror[V] | None:
        """The complete report ``request_id`` alone, as a mirror of its own (for diffs between
        two reports); None when no such report completed (only the last few are kept)."""
        return self._snapshots.get(request_id)

    def pending(self) -> dict[int, ReportProgress]:
        """The reports still incomplete, by requestId."""
        return {rid: self._progress(rid, p, False) for rid, p in self._pending.items()}

    # ------------------------------------------------------------------ GetVariables / SetVariables

    def apply_get_variables(
        self, request: GetVariablesRequest, response: GetVariablesResponse
    ) -> tuple[VariableResult, ...]:
        """Take the values a GetVariables answer carries (Accepted entries); return every entry.

        Raises:
            MirrorError: the answer does not answer the request (a result for an entry not asked
                for, or not one result per entry); nothing is applied.
        """
        self._check(request, "GetVariables")
        self._check(response, "GetVariables")
        asked = {
            (_w.ref_of(d.component, d.variable), _w.attribute_of(d.attribute_type)) for d in request.get_variable_data
        }
        results: Sequence[Any] = response.get_variable_result
        rows = self._match(asked, results, len(request.get_variable_data), "getVariableResult")
        out = []
        for (ref, attribute), r in zip(rows, results, strict=True):
            status = text(r.attribute_status)
            value = None if r.attribute_value is UNSET else r.attribute_value
            applied = status == "Accepted"
            if applied:
                value = "" if value is None else value  # supported but unset reads as ""
                self._set_value(ref, attribute, value)
            out.append(VariableResult(ref, attribute, status, value, applied))
        return tuple(out)

    def apply_set_variables(
        self, request: SetVariablesRequest, response: SetVariablesResponse
    ) -> tuple[VariableResult, ...]:
        """Take the values a SetVariables request set where the answer is Accepted (not
        RebootRequired: that value applies after a reboot, and a later report shows it; nor a
        WriteOnly variable's, which the mirror never keeps); return every entry.

        Raises:
            MirrorError: the answer does not answer the request; nothing is applied.
        """
        self._check(request, "SetVariables")
        self._check(response, "SetVariables")
        values = {
            (_w.ref_of(d.component, d.variable), _w.attribute_of(d.attribute_type)): d.attribute_value
            for d in request.set_variable_data
        }
        results: Sequence[Any] = response.set_variable_result
        rows = self._match(set(values), results, len(request.set_variable_data), "setVariableResult")
        out = []
        for key, r in zip(rows, results, strict=True):
            ref, attribute = key
            status = text(r.attribute_status)
            applied = status == "Accepted" and self._set_value(ref, attribute, values[key])
            out.append(VariableResult(ref, attribute, status, values[key], applied))
        return tuple(out)

    def _match(self, asked: set[Any], results: Sequence[Any], count: int, name: str) -> list[tuple[VariableRef, str]]:
        rows = []
        for i, r in enumerate(results):
            key = (_w.ref_of(r.component, r.variable), _w.attribute_of(r.attribute_type))
            if key not in asked:
                raise MirrorError(f"{name}[{i}]: {key[0]} ({key[1]}) was not asked for")
            rows.append(key)
        if len(results) != count or len(set(rows)) != len(rows):
            raise MirrorError(f"{name}: {len(results)} results for {count} entries asked (one result per entry)")
        return rows

    def _set_value(self, ref: VariableRef, attribute: str, value: str) -> bool:
        entry = self._entries.setdefault(ref, Entry())
        attr = entry.attributes.get(attribute)
        if attr is None:
            entry.attributes[attribute] = Attr(value, None)
            return True
        if attr.mutability == "WriteOnly":
            return False  # never kept: the station never reports it either
        attr.value = value
        return True

    def _check(self, message: object, action: str) -> None:
        info = getattr(type(message), "__ocpp__", None)
        if info is None or info.action != action:
            raise TypeError(f"expected a {action} message of OCPP {self.version}, got {type(message).__name__}")
        if info.version != self.version:
            raise TypeError(
                f"{type(message).__name__} is an OCPP {info.version} class; this mirror is OCPP {self.version}"
            )

    # ------------------------------------------------------------------ accessors

    def value(
        self, component: Component | str, variable: str, attribute: str = "Actual", instance: str | None = None
    ) -> str | None:
        """The value of one attribute; None when the mirror has none (unknown, or WriteOnly)."""
        entry = self._entries.get(self._ref(component, variable, instance))
        attr = entry.attributes.get(attribute) if entry is not None else None
        return None if attr is None else attr.value

    def spec(self, component: Component | str, variable: str, instance: str | None = None) -> VariableSpec | None:
        """The characteristics of a variable as reported; None when no report carried them."""
        entry = self._entries.get(self._ref(component, variable, instance))
        if entry is None or entry.chars is None:
            return None
        return spec_of(self._ref(component, variable, instance), entry)

    def components(self) -> list[Component]:
        """The components known, sorted."""
        return sorted({ref.component for ref in self._entries})

    def variables(self, component: Component | str) -> list[VariableRef]:
        """The variables known of ``component``, sorted."""
        c = _w.as_component(component, "component")
        return sorted(ref for ref in self._entries if ref.component == c)

    def definitions(self) -> Iterator[Definition]:
        """Every variable as a :class:`Definition` (the shape a station's model speaks), sorted;
        values are those the mirror has (none for WriteOnly). A variable whose characteristics
        were never reported gets a spec of the defaults with its known attributes."""
        for ref in sorted(self._entries):
            entry = self._entries[ref]
            values = {a: v.value for a, v in entry.attributes.items() if v.value is not None}
            yield Definition(ref.component, spec_of(ref, entry), values)

    def __iter__(self) -> Iterator[Definition]:
        return self.definitions()

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DeviceModelMirror):
            return NotImplemented
        return self.version == other.version and self._entries == other._entries

    __hash__ = None  # type: ignore[assignment]  # mutable

    def _ref(self, component: Component | str, variable: str, instance: str | None) -> VariableRef:
        name, inst = _w.variable_key(variable, "variable")
        return VariableRef(_w.as_component(component, "component"), name, instance if instance is not None else inst)

    # ------------------------------------------------------------------ diff

    def diff(self, other: DeviceModelMirror[Any] | Iterable[Definition]) -> ReportDiff:
        """What changed from this mirror to ``other``: another mirror (or a report of one,
        :meth:`report`) or a station's model given as Definitions. Characteristics are compared
        where both sides know them; WriteOnly values never."""
        second = other._sides() if isinstance(other, DeviceModelMirror) else side_of(other)
        return diff_sides(self._sides(), second)

    def _sides(self) -> dict[VariableRef, Side]:
        out = {}
        for ref, entry in self._entries.items():
            write_only = any(a.mutability == "WriteOnly" for a in entry.attributes.values())
            values = {a: ("" if v.value is None else v.value) for a, v in entry.attributes.items()}
            out[ref] = Side(None if entry.chars is None else spec_of(ref, entry), values, write_only)
        return out

    # ------------------------------------------------------------------ builders

    @overload
    def get_variables_request(
        self: DeviceModelMirror[Literal["2.0.1"]], entries: Sequence[GetEntry]
    ) -> v201.GetVariablesRequest: ...
    @overload
    def get_variables_request(
        self: DeviceModelMirror[Literal["2.1"]], entries: Sequence[GetEntry]
    ) -> v21.GetVariablesRequest: ...
    @overload
    def get_variables_request(self: DeviceModelMirror[str], entries: Sequence[GetEntry]) -> GetVariablesRequest: ...
    def get_variables_request(self, entries: Sequence[GetEntry]) -> GetVariablesRequest:
        """A GetVariablesRequest of this version for ``entries``: each a :class:`VariableRef`,
        ``(component, variable)`` or ``(component, variable, attribute)``; a component is a
        :class:`Component` or a name, a variable a name or ``(name, instance)``."""
        result: GetVariablesRequest = _w.get_variables_request(self._m, entries)
        return result

    @overload
    def set_variables_request(
        self: DeviceModelMirror[Literal["2.0.1"]], entries: Sequence[SetEntry]
    ) -> v201.SetVariablesRequest: ...
    @overload
    def set_variables_request(
        self: DeviceModelMirror[Literal["2.1"]], entries: Sequence[SetEntry]
    ) -> v21.SetVariablesRequest: ...
    @overload
    def set_variables_request(self: DeviceModelMirror[str], entries: Sequence[SetEntry]) -> SetVariablesRequest: ...
    def set_variables_request(self, entries: Sequence[SetEntry]) -> SetVariablesRequest:
        """A SetVariablesRequest of this version: each entry ``(component, variable, value)`` or
        ``(component, variable, value, attribute)``; values are strings."""
        result: SetVariablesRequest = _w.set_variables_request(self._m, entries)
        return result

    @overload
    def get_base_report_request(
        self: DeviceModelMirror[Literal["2.0.1"]], request_id: int, report_base: str = ...
    ) -> v201.GetBaseReportRequest: ...
    @overload
    def get_base_report_request(
        self: DeviceModelMirror[Literal["2.1"]], request_id: int, report_base: str = ...
    ) -> v21.GetBaseReportRequest: ...
    @overload
    def get_base_report_request(
        self: DeviceModelMirror[str], request_id: int, report_base: str = ...
    ) -> GetBaseReportRequest: ...
    def get_base_report_request(self, request_id: int, report_base: str = "FullInventory") -> GetBaseReportRequest:
        """A GetBaseReportRequest; a FullInventory asked this way replaces the whole mirror when
        its report completes. An incomplete report of the same ``request_id`` is dropped: the
        parts that follow are the new report's."""
        result: GetBaseReportRequest = _w.get_base_report_request(self._m, request_id, report_base)
        self._restart(request_id)
        if report_base == "FullInventory":
            self._full.add(request_id)
        else:
            self._full.discard(request_id)
        return result

    @overload
    def get_report_request(
        self: DeviceModelMirror[Literal["2.0.1"]],
        request_id: int,
        components: Sequence[Component | str | VariableRef] = ...,
        criteria: Sequence[str] = ...,
    ) -> v201.GetReportRequest: ...
    @overload
    def get_report_request(
        self: DeviceModelMirror[Literal["2.1"]],
        request_id: int,
        components: Sequence[Component | str | VariableRef] = ...,
        criteria: Sequence[str] = ...,
    ) -> v21.GetReportRequest: ...
    @overload
    def get_report_request(
        self: DeviceModelMirror[str],
        request_id: int,
        components: Sequence[Component | str | VariableRef] = ...,
        criteria: Sequence[str] = ...,
    ) -> GetReportRequest: ...
    def get_report_request(
        self,
        request_id: int,
        components: Sequence[Component | str | VariableRef] = (),
        criteria: Sequence[str] = (),
    ) -> GetReportRequest:
        """A GetReportRequest for ``components`` (a Component or name: all its variables; a
        VariableRef: that one) and ``criteria`` (Active, Available, Enabled, Problem). An
        incomplete report of the same ``request_id`` is dropped."""
        result: GetReportRequest = _w.get_report_request(self._m, request_id, components, criteria)
        self._restart(request_id)
        self._full.discard(request_id)
        return result

    def _restart(self, request_id: int) -> None:
        if self._pending.pop(request_id, None) is not None:
            self.abandoned += 1
        self._done.pop(request_id, None)  # a repeat of the old report's parts is no longer one
