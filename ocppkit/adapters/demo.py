"""A small CSMS and a simulated charging station, for ``ocppkit demo``, ``serve`` and ``station``.

:func:`csms_router` answers every station-initiated message of a version sensibly (accepts
boots, returns the current time on heartbeats, authorizes tokens, acknowledges transactions).
:func:`run_station_session` plays a whole session: boot, status, authorize, a transaction
with meter values, stop.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import msgspec

from .._base import Response
from ..errors import OcppError
from ..router import Router
from .asyncio import CallErrorResponse, Session

__all__ = ["FramePrinter", "csms_router", "run_station_session"]


def _now() -> dt.datetime:
    # Whole seconds: OCPP 2.x wants at most 3 fractional digits, and this is the cheapest way.
    return dt.datetime.fromtimestamp(int(time.time()), dt.timezone.utc)


def _mod(version: str) -> Any:
    return importlib.import_module({"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}[version])


def _required_fields(cls: type) -> list[str]:
    info = msgspec.inspect.type_info(cls)
    return [f.name for f in info.fields if f.required]  # type: ignore[attr-defined]


def _acknowledge(response: type[Response]) -> Callable[[Any], Response]:
    return lambda req: response()


def csms_router(version: str) -> Router:
    """Handlers for every station-initiated action of ``version`` that a demo CSMS needs."""
    m = _mod(version)
    r = Router()
    tx_ids = itertools.count(1)
    if version == "1.6":
        accepted = m.IdTagInfo(status=m.AuthorizationStatus.ACCEPTED)
        r.add(
            m.BootNotificationRequest,
            lambda req: m.BootNotificationResponse(
                current_time=_now(), interval=300, status=m.RegistrationStatus.ACCEPTED
            ),
        )
        r.add(m.HeartbeatRequest, lambda req: m.HeartbeatResponse(current_time=_now()))
        r.add(m.AuthorizeRequest, lambda req: m.AuthorizeResponse(id_tag_info=accepted))
        r.add(
            m.StartTransactionRequest,
            lambda req: m.StartTransactionResponse(transaction_id=next(tx_ids), id_tag_info=accepted),
        )
        r.add(m.StopTransactionRequest, lambda req: m.StopTransactionResponse(id_tag_info=accepted))
        r.add(m.DataTransferRequest, lambda req: m.DataTransferResponse(status=m.DataTransferStatus.UNKNOWN_VENDOR_ID))
        r.add(m.SignCertificateRequest, lambda req: m.SignCertificateResponse(status=m.GenericStatusEnumType.ACCEPTED))
    else:
        accepted = m.IdTokenInfoType(status=m.AuthorizationStatusEnumType.ACCEPTED)
        r.add(
            m.BootNotificationRequest,
            lambda req: m.BootNotificationResponse(
                current_time=_now(), interval=300, status=m.RegistrationStatusEnumType.ACCEPTED
            ),
        )
        r.add(m.HeartbeatRequest, lambda req: m.HeartbeatResponse(current_time=_now()))
        r.add(m.AuthorizeRequest, lambda req: m.AuthorizeResponse(id_token_info=accepted))

        def transaction_event(req: Any) -> Any:
            return m.TransactionEventResponse(
                id_token_info=accepted if req.id_token is not msgspec.UNSET else msgspec.UNSET
            )

        r.add(m.TransactionEventRequest, transaction_event)
        r.add(
            m.DataTransferRequest,
            lambda req: m.DataTransferResponse(status=m.DataTransferStatusEnumType.UNKNOWN_VENDOR_ID),
        )
        r.add(m.SignCertificateRequest, lambda req: m.SignCertificateResponse(status=m.GenericStatusEnumType.ACCEPTED))
    # Every other station-initiated message whose response has no required field: acknowledge.
    for row in m.ACTIONS.values():
        if row.response is not None and row.request not in r and not _required_fields(row.response):
            r.add(row.request, _acknowledge(row.response))
    return r


async def run_station_session(session: Session, version: str, *, id_tag: str = "04A2B3C4") -> list[str]:
    """Boot, status, authorize, a transaction with meter values, stop. Returns what went wrong
    (empty when every answer was as expected)."""
    m = _mod(version)
    problems: list[str] = []

    async def step(name: str, request: Any, check: Callable[[Any], bool]) -> Any:
        try:
            response = await session.call(request)
        except (CallErrorResponse, OcppError, TimeoutError, ConnectionError) as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            return None
        if not check(response):
            problems.append(f"{name}: unexpected answer {response!r}")
        return response

    if version == "1.6":
        await step(
            "BootNotification",
            m.BootNotificationRequest(charge_point_vendor="ocppkit", charge_point_model="Demo"),
            lambda r: r.status == m.RegistrationStatus.ACCEPTED,
        )
        await step(
            "StatusNotification",
            m.StatusNotificationRequest(
                connector_id=1,
                error_code=m.ChargePointErrorCode.NO_ERROR,
                status=m.ChargePointStatus.AVAILABLE,
                timestamp=_now(),
            ),
            lambda r: True,
        )
        await step(
            "Authorize",
            m.AuthorizeRequest(id_tag=id_tag),
            lambda r: r.id_tag_info.status == m.AuthorizationStatus.ACCEPTED,
        )
        start = await step(
            "StartTransaction",
            m.StartTransactionRequest(connector_id=1, id_tag=id_tag, meter_start=0, timestamp=_now()),
            lambda r: r.id_tag_info.status == m.AuthorizationStatus.ACCEPTED,
        )
        tx = start.transaction_id if start is not None else 0
        for wh in (1500, 3000):
            await step(
                "MeterValues",
                m.MeterValuesRequest(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[
                        m.MeterValue(
                            timestamp=_now(),
                            sampled_value=[
                                m.SampledValue(
                                    value=str(wh),
                                    measurand=m.Measurand.ENERGY_ACTIVE_IMPORT_REGISTER,
                                    unit=m.UnitOfMeasure.WH,
                                )
                            ],
                        )
                    ],
                ),
                lambda r: True,
            )
        await step(
            "StopTransaction",
            m.StopTransactionRequest(meter_stop=3000, timestamp=_now(), transaction_id=tx, reason=m.Reason.LOCAL),
            lambda r: True,
        )
        await step(
            "StatusNotification",
            m.StatusNotificationRequest(
                connector_id=1,
                error_code=m.ChargePointErrorCode.NO_ERROR,
                status=m.ChargePointStatus.AVAILABLE,
                timestamp=_now(),
            ),
            lambda r: True,
        )
        return problems

    token = m.IdTokenType(id_token=id_tag, type="ISO14443" if version == "2.1" else m.IdTokenEnumType.ISO14443)
    await step(
        "BootNotification",
        m.BootNotificationRequest(
            charging_station=m.ChargingStationType(model="Demo", vendor_name="ocppkit"),
            reason=m.BootReasonEnumType.POWER_UP,
        ),
        lambda r: r.status == m.RegistrationStatusEnumType.ACCEPTED,
    )
    await step(
        "StatusNotification",
        m.StatusNotificationRequest(
            timestamp=_now(), connector_status=m.ConnectorStatusEnumType.AVAILABLE, evse_id=1, connector_id=1
        ),
        lambda r: True,
    )
    await step(
        "Authorize",
        m.AuthorizeRequest(id_token=token),
        lambda r: r.id_token_info.status == m.AuthorizationStatusEnumType.ACCEPTED,
    )

    def event(seq: int, kind: str, trigger: str, wh: float, **extra: Any) -> Any:
        return m.TransactionEventRequest(
            event_type=getattr(m.TransactionEventEnumType, kind),
            timestamp=_now(),
            trigger_reason=getattr(m.TriggerReasonEnumType, trigger),
            seq_no=seq,
            transaction_info=m.TransactionType(transaction_id="demo-tx-1"),
            meter_value=[
                m.MeterValueType(
                    timestamp=_now(),
                    sampled_value=[
                        m.SampledValueType(value=wh, measurand=m.MeasurandEnumType.ENERGY_ACTIVE_IMPORT_REGISTER)
                    ],
                )
            ],
            **extra,
        )

    await step(
        "TransactionEvent Started",
        event(0, "STARTED", "AUTHORIZED", 0.0, id_token=token, evse=m.EVSEType(id=1, connector_id=1)),
        lambda r: r.id_token_info.status == m.AuthorizationStatusEnumType.ACCEPTED,
    )
    await step("TransactionEvent Updated", event(1, "UPDATED", "METER_VALUE_PERIODIC", 1500.0), lambda r: True)
    if version == "2.1":
        await session.send(
            m.NotifyPeriodicEventStreamRequest(
                id=1,
                pending=0,
                basetime=_now(),
                data=[m.StreamDataElementType(t=0, v="230.1"), m.StreamDataElementType(t=1, v="230.3")],
            )
        )
    await step("TransactionEvent Ended", event(2, "ENDED", "EV_DEPARTED", 3000.0), lambda r: True)
    await step(
        "StatusNotification",
        m.StatusNotificationRequest(
            timestamp=_now(), connector_status=m.ConnectorStatusEnumType.AVAILABLE, evse_id=1, connector_id=1
        ),
        lambda r: True,
    )
    return problems


class FramePrinter:
    """Prints each frame readably: time since start, direction, message type, action, payload."""

    _KIND = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR", 5: "CALLRESULTERROR", 6: "SEND"}

    def __init__(self, side: str, out: TextIO | None = None, width: int = 160) -> None:
        self.side = side
        self.out = out or sys.stdout
        self.width = width
        self.start = time.monotonic()
        self.actions: dict[str, str] = {}

    def __call__(self, identity: str, direction: str, data: bytes) -> None:
        if self.side == "csms":
            arrow = f"{identity} → csms" if direction == "in" else f"csms → {identity}"
        else:
            arrow = f"{identity} → csms" if direction == "out" else f"csms → {identity}"
        try:
            frame = json.loads(data)
            kind = self._KIND.get(frame[0], str(frame[0]))
            if frame[0] in (2, 6):
                self.actions[frame[1]] = frame[2]
                label, body = f"{kind} {frame[2]}", frame[3]
            elif frame[0] == 3:
                label, body = f"{kind} {self.actions.get(frame[1], '')}".rstrip(), frame[2]
            else:
                label, body = f"{kind} {frame[2]}", frame[3]
            text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        except (ValueError, IndexError, TypeError, KeyError):
            label, text = "(not OCPP-J)", data.decode("utf-8", "replace")
        if len(text) > self.width:
            text = text[: self.width - 1] + "…"
        print(f"{time.monotonic() - self.start:8.3f}s  {arrow:<22} {label:<32} {text}", file=self.out, flush=True)
