"""Builders for the transaction messages the ledger tests feed (typed requests of each version)."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from ocppkit import v16

T0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
VERSIONS_2X = ("2.0.1", "2.1")


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


# ------------------------------------------------------------------ 1.6


def start16(connector: int = 1, tag: str = "TAG1", meter: int = 1000, minute: float = 0) -> v16.StartTransactionRequest:
    return v16.StartTransactionRequest(connector_id=connector, id_tag=tag, meter_start=meter, timestamp=at(minute))


def meter16(tx: int | None, minute: float, wh: int, connector: int = 1) -> v16.MeterValuesRequest:
    value = v16.MeterValue(
        timestamp=at(minute),
        sampled_value=[v16.SampledValue(value=str(wh), measurand=v16.Measurand.ENERGY_ACTIVE_IMPORT_REGISTER)],
    )
    if tx is None:
        return v16.MeterValuesRequest(connector_id=connector, meter_value=[value])
    return v16.MeterValuesRequest(connector_id=connector, transaction_id=tx, meter_value=[value])


def stop16(tx: int, meter: int, minute: float, **extra: Any) -> v16.StopTransactionRequest:
    return v16.StopTransactionRequest(transaction_id=tx, meter_stop=meter, timestamp=at(minute), **extra)


# ------------------------------------------------------------------ 2.0.1 / 2.1


def pkg(version: str) -> Any:
    return importlib.import_module({"2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}[version])


def reading(
    version: str, value: float, minute: float, unit: str | None = None, multiplier: int | None = None, **kw: Any
) -> Any:
    """One MeterValueType holding one Energy.Active.Import.Register sample (measurand absent
    unless given: the default is that register)."""
    p = pkg(version)
    uom: dict[str, Any] = {}
    if unit is not None:
        uom["unit"] = unit
    if multiplier is not None:
        uom["multiplier"] = multiplier
    if uom:
        kw["unit_of_measure"] = p.UnitOfMeasureType(**uom)
    return p.MeterValueType(timestamp=at(minute), sampled_value=[p.SampledValueType(value=value, **kw)])


def event(
    version: str,
    tx: str,
    seq: int,
    kind: str,
    *,
    minute: float | None = None,
    wh: float | None = None,
    meter_values: list[Any] | None = None,
    token: str | None = None,
    offline: bool | None = None,
    reason: str | None = None,
    **extra: Any,
) -> Any:
    """A TransactionEventRequest: ``kind`` is Started / Updated / Ended; ``wh`` adds one register
    reading taken at the event's time."""
    p = pkg(version)
    minute = float(seq) if minute is None else minute
    info: dict[str, Any] = {"transaction_id": tx}
    if reason is not None:
        info["stopped_reason"] = p.ReasonEnumType(reason)
    kw: dict[str, Any] = dict(extra)
    values = list(meter_values or [])
    if wh is not None:
        values.append(reading(version, wh, minute))
    if values:
        kw["meter_value"] = values
    if token is not None:
        kind_of_token = p.IdTokenEnumType("ISO14443") if version == "2.0.1" else "ISO14443"  # 2.1: a string
        kw["id_token"] = p.IdTokenType(id_token=token, type=kind_of_token)
    if offline is not None:
        kw["offline"] = offline
    trigger = {"Started": "Authorized", "Updated": "MeterValuePeriodic", "Ended": "StopAuthorized"}[kind]
    return p.TransactionEventRequest(
        event_type=p.TransactionEventEnumType(kind),
        timestamp=at(minute),
        trigger_reason=p.TriggerReasonEnumType(trigger),
        seq_no=seq,
        transaction_info=p.TransactionType(**info),
        evse=p.EVSEType(id=1, connector_id=1),
        **kw,
    )


def session2x(version: str, tx: str = "tx-A", updates: int = 2, token: str = "TOKEN") -> list[Any]:
    """A normal transaction: Started (1000 Wh), ``updates`` Updated (+500 Wh each), Ended."""
    events = [event(version, tx, 0, "Started", wh=1000.0, token=token)]
    for i in range(1, updates + 1):
        events.append(event(version, tx, i, "Updated", wh=1000.0 + 500 * i))
    n = updates + 1
    events.append(event(version, tx, n, "Ended", wh=1000.0 + 500 * n, reason="EVDisconnected"))
    return events
