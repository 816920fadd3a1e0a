"""What the ledger needs to know about one transaction message, read from its typed request.

:func:`facts` turns a generated request (1.6 StartTransaction / MeterValues / StopTransaction,
2.0.1 or 2.1 TransactionEvent) into a :class:`Facts` record: its deduplication key, the
fingerprint of its content, the transaction it names and the values the ledger orders by. The
version comes from the request's class (``cls.__ocpp__``), so no version package is imported
here; :func:`request_class` imports the one a stored payload needs, on first use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
from typing import Any, NamedTuple

import msgspec

from .. import encode_payload
from ..codec import Codec, decode_payload
from ..edition import edition
from ..errors import OcppError

__all__ = ["KINDS", "Facts", "PayloadReader", "facts", "request_class", "to_us"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_US = dt.timedelta(microseconds=1)

#: (version family, action) -> the ledger's kind of message.
KINDS = {
    ("1.6", "StartTransaction"): "start",
    ("1.6", "MeterValues"): "meter",
    ("1.6", "StopTransaction"): "stop",
    ("2.x", "TransactionEvent"): "event",
}
_ACCEPTED = (
    "1.6 StartTransactionRequest, MeterValuesRequest or StopTransactionRequest, or a 2.x TransactionEventRequest"
)


class Facts(NamedTuple):
    """One message as the ledger stores it."""

    version: str
    action: str
    kind: str  # start | meter | stop | event
    key: str  # unique per station: a re-delivery has the same key
    fingerprint: bytes  # the content: same key and fingerprint = a duplicate
    payload: bytes  # encode_payload(request)
    tx: int | str | None  # the transaction id the message names (None: a Start, or MeterValues without one)
    connector: int | None
    seq_no: int | None
    event: str | None  # 2.x eventType
    ts_us: int  # the message's timestamp (MeterValues: its earliest reading), µs since the epoch, UTC
    meter: int | None  # 1.6 meterStart / meterStop


def to_us(ts: dt.datetime) -> int:
    """A timezone-aware datetime as microseconds since the epoch (UTC)."""
    return (ts - _EPOCH) // _US


def _family(version: str) -> str:
    return "1.6" if version == "1.6" else "2.x"


def _key(*parts: object) -> str:
    return json.dumps(parts, separators=(",", ":"), ensure_ascii=True)


def _fingerprint(version: str, action: str, content: bytes) -> bytes:
    return hashlib.sha256(f"{version}\0{action}\0".encode() + content).digest()


def _encode(request: Any, *, validate: bool) -> bytes:
    return encode_payload(request, validate=validate)


def facts(request: object, *, validate: bool = True) -> Facts:
    """The facts of ``request``; TypeError if it is not a transaction message, ValueError if it
    does not satisfy its schema (with ``validate``)."""
    info = getattr(type(request), "__ocpp__", None)
    if info is None or getattr(info, "role", None) != "request":
        raise TypeError(f"request: expected a {_ACCEPTED}, got {type(request).__name__}")
    version, action = info.version, info.action
    kind = KINDS.get((_family(version), action))
    if kind is None:
        raise TypeError(f"request: {version} {action}Request is not a transaction message (expected a {_ACCEPTED})")
    r: Any = request
    try:
        payload = _encode(r, validate=validate)
    except OcppError as exc:
        raise ValueError(f"request: {exc}") from None
    if kind == "event":
        tx_id: str = r.transaction_info.transaction_id
        # A re-delivery may carry offline=true where the first delivery did not (a station sets
        # it on an event whose send failed): the same event, so the flag is not content here.
        content = _encode(msgspec.structs.replace(r, offline=msgspec.UNSET), validate=False)
        evse = r.evse
        return Facts(
            version,
            action,
            kind,
            _key("event", tx_id, r.seq_no),
            _fingerprint(version, action, content),
            payload,
            tx_id,
            None if evse is msgspec.UNSET else evse.id,
            r.seq_no,
            r.event_type.value,
            to_us(r.timestamp),
            None,
        )
    fingerprint = _fingerprint(version, action, payload)
    if kind == "start":
        ts = to_us(r.timestamp)
        key = _key("start", r.connector_id, r.id_tag, ts, r.meter_start)
        return Facts(
            version, action, kind, key, fingerprint, payload, None, r.connector_id, None, None, ts, r.meter_start
        )
    if kind == "stop":
        key = _key("stop", r.transaction_id)
        ts = to_us(r.timestamp)
        return Facts(
            version, action, kind, key, fingerprint, payload, r.transaction_id, None, None, None, ts, r.meter_stop
        )
    # MeterValues: identified by its content alone (two different readings taken at one time
    # are two messages, never a conflict).
    tx = None if r.transaction_id is msgspec.UNSET else r.transaction_id
    ts = min(to_us(mv.timestamp) for mv in r.meter_value) if r.meter_value else 0
    key = _key("meter", fingerprint.hex())
    return Facts(version, action, kind, key, fingerprint, payload, tx, r.connector_id, None, None, ts, None)


def request_class(version: str, action: str) -> type[Any]:
    """The generated request class of ``action`` in ``version`` (imports that version's package)."""
    module = importlib.import_module(edition(version).package)
    cls: type[Any] = module.ACTIONS[action].request
    return cls


class PayloadReader:
    """Decodes stored payloads back into their typed requests: strictly, or with the
    :class:`ocppkit.Policy` the connections decode with (a relaxed request reads back only
    under the policy that accepted it)."""

    def __init__(self, policy: Any = None) -> None:
        self._policy = policy
        self._codecs: dict[str, Codec] = {}

    def read(self, version: str, action: str, payload: bytes) -> Any:
        """The typed request; raises :class:`ocppkit.OcppError` if the payload does not decode."""
        if self._policy is None:
            return decode_payload(payload, request_class(version, action))
        codec = self._codecs.get(version)
        if codec is None:
            codec = self._codecs[version] = Codec(version, policy=self._policy)
        frame: Any = codec.decode(b'[2,"ledger",' + json.dumps(action).encode() + b"," + payload + b"]")
        return frame.payload
