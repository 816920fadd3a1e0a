"""The ledger's typed records: :class:`Recorded`, :class:`TransactionView`, :class:`Anomaly`,
and how a view is built from a transaction's stored messages.

A view depends only on the set of messages kept for the transaction, never on the order they
arrived in: 2.x events are read in ``seqNo`` order, meter values in time order (ties broken by
``seqNo`` and then by content), so a ledger fed a permuted, re-delivered feed holds the same views
as one fed the clean one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias, Union

from msgspec import UNSET

from ._facts import to_us

if TYPE_CHECKING:
    from .. import v16, v21, v201

__all__ = [
    "MAX_GAPS",
    "Anomaly",
    "AnomalyKind",
    "Recorded",
    "Status",
    "Stored",
    "TransactionRequest",
    "TransactionView",
    "build_view",
    "energy_delta",
    "energy_wh",
    "gaps",
]

#: What :meth:`Ledger.record` did with a message: ``"new"`` (stored), ``"duplicate"`` (the same
#: content was already stored: nothing changed) or ``"conflict"`` (a message with the same key and
#: other content was stored first: it is kept, this one is reported in the anomalies).
Status = Literal["new", "duplicate", "conflict"]
#: The kind of an :class:`Anomaly`.
AnomalyKind = Literal["duplicate", "conflict", "gap", "late", "orphan", "meter"]
#: The requests :meth:`Ledger.record` accepts: 1.6 StartTransaction, MeterValues and
#: StopTransaction, 2.0.1 and 2.1 TransactionEvent.
TransactionRequest: TypeAlias = Union[
    "v16.StartTransactionRequest",
    "v16.MeterValuesRequest",
    "v16.StopTransactionRequest",
    "v201.TransactionEventRequest",
    "v21.TransactionEventRequest",
]
#: At most this many missing seqNos are listed per transaction (the first ones): a station
#: sending seqNo 10**9 cannot make the ledger build a billion-entry tuple.
MAX_GAPS = 1000
_EAIR = "Energy.Active.Import.Register"
_TO_WH = {"wh": 1.0, "kwh": 1000.0}


@dataclass(frozen=True)
class TransactionView:
    """One transaction as the ledger holds it, typed with its version's classes.

    Attributes:
        version: the OCPP version of its messages ("1.6", "2.0.1", "2.1").
        station: the station identity given to :meth:`Ledger.record`.
        transaction_id: 1.6: the id the ledger assigned (int; an orphan's is the station's);
            2.x: the station's transactionId (str).
        started_at: the StartTransaction timestamp (1.6), the ``Started`` event's (2.x); None
            when not seen.
        stopped_at: the StopTransaction timestamp (1.6), the ``Ended`` event's (2.x); None while
            not seen.
        id_token: 1.6: the StartTransaction idTag (an orphan: the StopTransaction idTag, if any);
            2.x: the IdTokenType of the first event (by seqNo) that carries one.
        meter_values: every MeterValue of the transaction, in time order (1.6: the MeterValues
            messages and the StopTransaction transactionData; 2.x: the events' meterValue).
        energy_wh: the energy delivered, in Wh: 1.6 meterStop - meterStart; 2.x the last minus
            the first Energy.Active.Import.Register reading (see :func:`energy_wh`). None when
            unknown (no stop yet, fewer than two readings) or negative (an ``meter`` anomaly).
        stop_reason: the StopTransaction reason (1.6) or the Ended event's stoppedReason (2.x),
            as the version's enum; None when absent (the specifications read that as Local).
        seq_nos: 2.x: the seqNos recorded, ascending (1.6: empty).
        gaps: 2.x: the seqNos missing below the highest one recorded (from the Started event's
            seqNo, or 0 before it is seen); at most :data:`MAX_GAPS` of them.
        complete: start and stop seen, and no gaps.
        orphan: 1.6: messages for a transactionId the ledger never assigned (2.x: False).
        offline: 2.x: the seqNos of the events recorded with ``offline`` true.
    """

    version: str
    station: str
    transaction_id: int | str
    started_at: dt.datetime | None
    stopped_at: dt.datetime | None
    id_token: str | v201.IdTokenType | v21.IdTokenType | None
    meter_values: list[v16.MeterValue] | list[v201.MeterValueType] | list[v21.MeterValueType]
    energy_wh: float | None
    stop_reason: v16.Reason | v201.ReasonEnumType | v21.ReasonEnumType | None
    seq_nos: tuple[int, ...]
    gaps: tuple[int, ...]
    complete: bool
    orphan: bool
    offline: tuple[int, ...]

    @property
    def open(self) -> bool:
        """No stop seen yet (1.6 StopTransaction, 2.x ``Ended``)."""
        return self.stopped_at is None


@dataclass(frozen=True)
class Recorded:
    """What :meth:`Ledger.record` did with one message.

    Attributes:
        status: ``"new"``, ``"duplicate"`` or ``"conflict"`` (see :data:`Status`).
        transaction_id: 1.6: the id the ledger assigned to the transaction (the one to answer a
            StartTransaction with: a re-delivered StartTransaction gets the same id), or the id
            the message named; 2.x: the station's transactionId. None for a 1.6 MeterValues
            without a transactionId.
        orphan: 1.6: the message names a transactionId the ledger never assigned (stored all the
            same).
        late: the message arrived after a later one of its transaction (2.x: a higher seqNo, or
            the ``Ended`` event; 1.6: after the StopTransaction). A duplicate repeats the flag of
            the delivery that was stored.
        gaps: 2.x: the transaction's missing seqNos after this record (1.6: empty).
        transaction: the transaction after this record; None for a 1.6 MeterValues without a
            transactionId.
    """

    status: Status
    transaction_id: int | str | None
    orphan: bool
    late: bool
    gaps: tuple[int, ...]
    transaction: TransactionView | None


@dataclass(frozen=True)
class Anomaly:
    """Something a CSMS operator should know about a station's transaction messages.

    Attributes:
        station: the station identity.
        transaction_id: the transaction it concerns (None: a 1.6 MeterValues without one).
        kind: ``"duplicate"`` (re-delivered), ``"conflict"`` (same key, other content: the first
            is kept), ``"gap"`` (2.x seqNos missing), ``"late"`` (arrived after a later message),
            ``"orphan"`` (1.6: a transactionId the ledger never assigned) or ``"meter"`` (the
            meter went backwards: energy not computed).
        detail: what happened, in words (values from the wire appear ``repr``-escaped).
        message: the request concerned (for a conflict: the one that was not kept), or None.
    """

    station: str
    transaction_id: int | str | None
    kind: AnomalyKind
    detail: str
    message: Any = None


class Stored(NamedTuple):
    """One stored message, decoded."""

    kind: str
    seq_no: int | None
    payload: bytes
    request: Any


def gaps(seq_nos: Sequence[int], first: int) -> tuple[int, ...]:
    """The numbers missing from ``first`` up to ``max(seq_nos)`` (at most :data:`MAX_GAPS`)."""
    present = sorted({n for n in seq_nos if n >= first})
    missing: list[int] = []
    expected = first
    for n in present:
        while expected < n and len(missing) < MAX_GAPS:
            missing.append(expected)
            expected += 1
        if len(missing) >= MAX_GAPS:
            break
        expected = n + 1
    return tuple(missing)


def _reading_wh(sv: Any) -> float | None:
    """A 2.x SampledValue in Wh if it is the total Energy.Active.Import.Register, else None."""
    measurand = _EAIR if sv.measurand is UNSET else sv.measurand.value
    if measurand != _EAIR or sv.phase is not UNSET:
        return None
    if sv.location is not UNSET and sv.location.value != "Outlet":
        return None
    unit, multiplier = "Wh", 0
    if sv.unit_of_measure is not UNSET:
        if sv.unit_of_measure.unit is not UNSET:
            unit = sv.unit_of_measure.unit
        if sv.unit_of_measure.multiplier is not UNSET:
            multiplier = sv.unit_of_measure.multiplier
    factor = _TO_WH.get(unit.lower())
    if factor is None:
        return None
    return float(sv.value) * factor * 10.0**multiplier


def energy_wh(meter_values: Sequence[Any]) -> float | None:
    """2.x: the last minus the first total Energy.Active.Import.Register reading of
    ``meter_values`` (in time order), in Wh, rounded to the mWh.

    A reading counts when its measurand is Energy.Active.Import.Register (the default when absent),
    it has no phase, its location is absent or Outlet and its unit is Wh or kWh (any case; absent
    means Wh), scaled by ``10 ** multiplier``. None with fewer than two readings or when the
    result is negative.
    """
    delta = energy_delta(meter_values)
    return delta if delta is not None and delta >= 0 else None


def energy_delta(meter_values: Sequence[Any]) -> float | None:
    """The last minus the first counted reading (see :func:`energy_wh`), negative or not; None
    with fewer than two readings."""
    readings = [wh for mv in meter_values for sv in mv.sampled_value if (wh := _reading_wh(sv)) is not None]
    if len(readings) < 2:
        return None
    return round(readings[-1] - readings[0], 3) + 0.0  # + 0.0: never -0.0


def _mv_order(ts: dt.datetime, rank: int, payload: bytes, index: int) -> tuple[int, int, bytes, int]:
    return (to_us(ts), rank, payload, index)


def _view_16(station: str, tx: int, orphan: bool, messages: Sequence[Stored]) -> TransactionView:
    start = next((m.request for m in messages if m.kind == "start"), None)
    stop = next((m.request for m in messages if m.kind == "stop"), None)
    keyed: list[tuple[tuple[int, int, bytes, int], Any]] = []
    for m in messages:
        if m.kind == "meter":
            values = m.request.meter_value
        elif m.kind == "stop" and m.request.transaction_data is not UNSET:
            values = m.request.transaction_data
        else:
            continue
        rank = 0 if m.kind == "meter" else 1
        keyed += [(_mv_order(mv.timestamp, rank, m.payload, i), mv) for i, mv in enumerate(values)]
    keyed.sort(key=lambda pair: pair[0])
    id_token: str | None = None
    if start is not None:
        id_token = start.id_tag
    elif stop is not None and stop.id_tag is not UNSET:
        id_token = stop.id_tag
    energy: float | None = None
    if start is not None and stop is not None and stop.meter_stop >= start.meter_start:
        energy = float(stop.meter_stop - start.meter_start)
    return TransactionView(
        version="1.6",
        station=station,
        transaction_id=tx,
        started_at=None if start is None else start.timestamp,
        stopped_at=None if stop is None else stop.timestamp,
        id_token=id_token,
        meter_values=[mv for _, mv in keyed],
        energy_wh=energy,
        stop_reason=None if stop is None or stop.reason is UNSET else stop.reason,
        seq_nos=(),
        gaps=(),
        complete=start is not None and stop is not None,
        orphan=orphan,
        offline=(),
    )


def _view_2x(version: str, station: str, tx: str, messages: Sequence[Stored]) -> TransactionView:
    events = sorted((m for m in messages if m.kind == "event"), key=lambda m: (m.seq_no, m.payload))
    started = next((m.request for m in events if m.request.event_type.value == "Started"), None)
    ended = next((m.request for m in events if m.request.event_type.value == "Ended"), None)
    id_token = next((m.request.id_token for m in events if m.request.id_token is not UNSET), None)
    keyed: list[tuple[tuple[int, int, bytes, int], Any]] = []
    for m in events:
        if m.request.meter_value is not UNSET:
            keyed += [
                (_mv_order(mv.timestamp, m.request.seq_no, m.payload, i), mv)
                for i, mv in enumerate(m.request.meter_value)
            ]
    keyed.sort(key=lambda pair: pair[0])
    meter_values = [mv for _, mv in keyed]
    seq_nos = tuple(sorted({m.request.seq_no for m in events}))
    missing = gaps(seq_nos, 0 if started is None else started.seq_no)
    stop_reason = None
    if ended is not None and ended.transaction_info.stopped_reason is not UNSET:
        stop_reason = ended.transaction_info.stopped_reason
    return TransactionView(
        version=version,
        station=station,
        transaction_id=tx,
        started_at=None if started is None else started.timestamp,
        stopped_at=None if ended is None else ended.timestamp,
        id_token=id_token,
        meter_values=meter_values,
        energy_wh=energy_wh(meter_values),
        stop_reason=stop_reason,
        seq_nos=seq_nos,
        gaps=missing,
        complete=started is not None and ended is not None and not missing,
        orphan=False,
        offline=tuple(sorted({m.request.seq_no for m in events if m.request.offline is True})),
    )


def build_view(version: str, station: str, tx: int | str, orphan: bool, messages: Sequence[Stored]) -> TransactionView:
    """The view of one transaction from its stored messages (any order)."""
    if isinstance(tx, int):
        return _view_16(station, tx, orphan, messages)
    return _view_2x(version, station, tx, messages)
