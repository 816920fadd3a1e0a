"""Shared helpers of the outbox tests: message builders and a store that can be "crashed"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ocppkit import v16, v201
from ocppkit.outbox import MemoryStore, Outbox, OutboxSettings, SqliteStore, Store

TS = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
ACCEPTED16 = v16.IdTagInfo(status=v16.AuthorizationStatus.ACCEPTED)


class Stores:
    """Opens the same store again after a simulated crash: the same MemoryStore object, or a
    new SqliteStore on the same file (the old connection is closed without any further write,
    as a dead process leaves it; every commit was already made)."""

    def __init__(self, kind: str, tmp_path: Path, durability: str = "normal") -> None:
        self.kind = kind
        self.path = tmp_path / "station-outbox.sqlite"
        self.durability = durability
        self.memory = MemoryStore()
        self.current: Store | None = None

    def open(self) -> Store:
        if self.current is not None:
            self.current.close()
        self.current = self.memory if self.kind == "memory" else SqliteStore(self.path, durability=self.durability)
        return self.current

    def outbox(self, version: str, **settings: Any) -> Outbox:
        return Outbox(version, self.open(), OutboxSettings(**settings))

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None


# ------------------------------------------------------------------ 1.6


def start16(connector: int = 1) -> v16.StartTransactionRequest:
    return v16.StartTransactionRequest(connector_id=connector, id_tag="TAG1", meter_start=100, timestamp=TS)


def meter16(tx: int | None, value: str = "1") -> v16.MeterValuesRequest:
    mv = [v16.MeterValue(timestamp=TS, sampled_value=[v16.SampledValue(value=value)])]
    if tx is None:
        return v16.MeterValuesRequest(connector_id=1, meter_value=mv)
    return v16.MeterValuesRequest(connector_id=1, transaction_id=tx, meter_value=mv)


def stop16(tx: int, meter: int = 200) -> v16.StopTransactionRequest:
    return v16.StopTransactionRequest(transaction_id=tx, meter_stop=meter, timestamp=TS)


def security16() -> v16.SecurityEventNotificationRequest:
    return v16.SecurityEventNotificationRequest(type="FirmwareUpdated", timestamp=TS)


def start16_ok(tx: int) -> v16.StartTransactionResponse:
    return v16.StartTransactionResponse(id_tag_info=ACCEPTED16, transaction_id=tx)


# ------------------------------------------------------------------ 2.0.1


def event201(tx: str, kind: str = "Updated", trigger: str = "MeterValuePeriodic", seq: int = 99) -> Any:
    return v201.TransactionEventRequest(
        event_type=v201.TransactionEventEnumType(kind),
        timestamp=TS,
        trigger_reason=v201.TriggerReasonEnumType(trigger),
        seq_no=seq,
        transaction_info=v201.TransactionType(transaction_id=tx),
    )


def security201() -> v201.SecurityEventNotificationRequest:
    return v201.SecurityEventNotificationRequest(type="FirmwareUpdated", timestamp=TS)


def response_for(version: str, action: str, tx: int = 1) -> Any:
    """A valid response to ``action`` (1.6 StartTransaction: with transactionId ``tx``)."""
    if action == "StartTransaction":
        return start16_ok(tx)
    if version == "1.6":
        return {
            "StopTransaction": v16.StopTransactionResponse(),
            "MeterValues": v16.MeterValuesResponse(),
            "SecurityEventNotification": v16.SecurityEventNotificationResponse(),
            "Authorize": v16.AuthorizeResponse(id_tag_info=ACCEPTED16),
        }[action]
    return {
        "TransactionEvent": v201.TransactionEventResponse(),
        "SecurityEventNotification": v201.SecurityEventNotificationResponse(),
        "Heartbeat": v201.HeartbeatResponse(current_time=TS),
    }[action]
