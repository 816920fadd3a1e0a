"""A small CSMS and a simulated charging station, for ``ocppkit demo``, ``serve`` and ``station``.

:func:`csms_router` answers every station-initiated message of a version sensibly (accepts
boots, returns the current time on heartbeats, authorizes tokens, acknowledges transactions).
:func:`run_station_session` plays a whole session: boot, status, authorize, a transaction
with meter values, stop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import itertools
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TextIO

import msgspec

from .. import Response
from ..edition import Edition, edition
from ..errors import CallErrorResponse, CallTimeout, OcppError
from ..frames import MessageType
from ..router import Router
from ._demo_devicemodel import demo_device_model
from ._demo_smartcharging import SmartChargingDemo, smart_station_router
from ._text import printable as printable
from .asyncio import Session, current_session
from .devicemodel_csms import MirrorBook, ReportRefused, ReportTimeout
from .outbox import MessageDropped

__all__ = [
    "FramePrinter",
    "Reconnecting",
    "SmartChargingDemo",
    "csms_router",
    "demo_device_model",
    "device_model_tour",
    "printable",
    "run_station_session",
    "smart_station_router",
]


# The end of the last whole second read (as time.time() gives it) and that second's datetime
# (immutable, so one is shared by every caller).
_second: tuple[float, dt.datetime] = (-1.0, dt.datetime.min)
_time = time.time


def _now() -> dt.datetime:
    """The time in whole seconds (OCPP 2.x wants at most 3 fractional digits), built once per
    second: a demo CSMS answering thousands of Heartbeats a second reads the clock, not a new
    datetime, for each one (building one costs more than the rest of the handler)."""
    global _second
    now = _time()
    cached = _second
    if now >= cached[0]:
        second = int(now)
        cached = _second = (second + 1.0, dt.datetime.fromtimestamp(second, dt.timezone.utc))
    return cached[1]


def _mod(ed: Edition) -> Any:
    return importlib.import_module(ed.package)


def _transaction_events(ed: Edition) -> bool:
    """Whether the edition reports transactions as TransactionEvents (2.x) rather than with
    StartTransaction and StopTransaction (1.6): the one switch between the two families."""
    return "TransactionEvent" in ed.station_actions


def _required_fields(cls: type) -> list[str]:
    info = msgspec.inspect.type_info(cls)
    return [f.name for f in info.fields if f.required]  # type: ignore[attr-defined]


def _acknowledge(response: type[Response]) -> Callable[[Any], Response]:
    return lambda req: response()


def csms_router(
    version: str,
    smart_charging: SmartChargingDemo | None = None,
    *,
    device_model: bool = False,
    on_note: Callable[[str], None] | None = None,
) -> Router:
    """Handlers for every station-initiated action of ``version`` that a demo CSMS needs; with
    ``smart_charging``, an accepted boot is followed by its step (a profile set, then read).

    With ``device_model`` (2.0.1 and 2.1), each station whose boot is accepted is then asked
    for a base report and, if it reports ``OCPPCommCtrlr.HeartbeatInterval``, has it set (see
    :func:`device_model_tour`); ``on_note`` receives what happened (default: printed).
    """
    ed = edition(version)
    m = _mod(ed)
    r = Router(ed.version)

    def add_boot(handler: Callable[[Any], Response]) -> None:
        if smart_charging is None:
            r.add(m.BootNotificationRequest, handler)
        else:
            smart_charging.register(r, handler)

    tx_ids = itertools.count(1)
    book = MirrorBook() if device_model and ed.version in ("2.0.1", "2.1") else None
    if not _transaction_events(ed):
        accepted = m.IdTagInfo(status=m.AuthorizationStatus.ACCEPTED)
        add_boot(
            lambda req: m.BootNotificationResponse(
                current_time=_now(), interval=300, status=m.RegistrationStatus.ACCEPTED
            )
        )
        heartbeat = m.HeartbeatResponse
        r.add(m.HeartbeatRequest, lambda req: heartbeat(current_time=_now()))
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

        def boot(req: Any) -> Any:
            if book is not None:
                _start_tour(book, on_note or _print_note)
            return m.BootNotificationResponse(
                current_time=_now(), interval=300, status=m.RegistrationStatusEnumType.ACCEPTED
            )

        add_boot(boot)
        if book is not None:
            book.register(r)  # NotifyReport feeds the station's mirror
        heartbeat = m.HeartbeatResponse
        r.add(m.HeartbeatRequest, lambda req: heartbeat(current_time=_now()))
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


_TOURS: set[asyncio.Task[None]] = set()  # running tours (a task needs a reference)


def _print_note(text: str) -> None:
    print(text, flush=True)


def _start_tour(book: MirrorBook, note: Callable[[str], None]) -> None:
    try:
        session = current_session()
        task = asyncio.get_running_loop().create_task(device_model_tour(session, book, note))
    except (LookupError, RuntimeError):  # Router.dispatch outside an asyncio adapter: no tour
        return
    _TOURS.add(task)
    task.add_done_callback(_TOURS.discard)


async def device_model_tour(
    session: Session, book: MirrorBook, note: Callable[[str], None], *, timeout: float = 15.0
) -> None:
    """The demo CSMS's device-model steps with a booted 2.x station: a FullInventory report
    into ``book``, then a SetVariables of ``OCPPCommCtrlr.HeartbeatInterval`` (to the value
    it has: nothing changes) if the station reported it. A station without a device model
    (a CALLERROR, or GetBaseReport answered NotSupported) is noted and the demo goes on."""
    who = printable(session.identity)
    try:
        mirror = await book.fetch(session, report_base="FullInventory", timeout=timeout)
    except CallErrorResponse as exc:
        code = printable(str(exc.code))
        note(f"device model: {who} answered GetBaseReport with CALLERROR {code}: no device model there; going on")
        return
    except ReportRefused as exc:
        note(f"device model: {who} answered GetBaseReport {printable(exc.status)}: no report; going on")
        return
    except (ReportTimeout, asyncio.TimeoutError, ConnectionError, OcppError) as exc:  # CallTimeout too
        note(f"device model: no report from {who} ({printable(str(exc))}); going on")
        return
    note(f"device model: {who} reported {len(mirror)} variables of {len(mirror.components())} components")
    heartbeat = mirror.value("OCPPCommCtrlr", "HeartbeatInterval")
    if heartbeat is None:
        note(f"device model: {who} has no OCPPCommCtrlr.HeartbeatInterval to set")
        return
    try:
        (result,) = await book.set_variables(
            session, None, [("OCPPCommCtrlr", "HeartbeatInterval", heartbeat)], timeout=timeout
        )
    except (asyncio.TimeoutError, ConnectionError, OcppError, ValueError) as exc:  # CALLERROR, CallTimeout too
        note(f"device model: SetVariables to {who} failed ({printable(str(exc))})")
        return
    note(f"device model: SetVariables OCPPCommCtrlr.HeartbeatInterval={printable(heartbeat)} on {who}: {result.status}")


class Reconnecting(Protocol):
    """What :func:`run_station_session` needs to carry on after a disconnection: a
    :class:`ocppkit.adapters.websockets.ChargingStation` has it."""

    async def wait_connected(self, timeout: float | None = None) -> Session: ...


class _Stop(Exception):
    """The session cannot go on; the reason is already among the problems."""


async def run_station_session(
    station: Session | Reconnecting,
    version: str,
    *,
    id_tag: str = "04A2B3C4",
    reconnect_timeout: float = 30.0,
    attempts: int = 3,
    on_note: Callable[[str], None] | None = None,
) -> list[str]:
    """Boot, status, authorize, a transaction with meter values, stop. Returns what went wrong
    (empty when every answer was as expected), as printable one-line messages.

    ``station`` is a running :class:`Session`, or a reconnecting station (a
    :class:`ocppkit.adapters.websockets.ChargingStation`): then every message goes over the
    connection that is live at the time, and a call whose connection dropped before its answer
    is sent again over the next one (up to ``attempts`` times, waiting ``reconnect_timeout``
    seconds for each reconnection); its transaction messages go through its outbox
    (``station.call``), which delivers them across reconnects and restarts.

    Every valid answer is handled: optional fields may be missing (a TransactionEventResponse
    without ``idTokenInfo`` leaves the token authorized by Authorize). A boot that is not
    Accepted, or a token that is not, stops the session there; a transaction the CSMS
    deauthorizes ends at once. ``on_note`` receives what happened along the way (reconnections).
    """
    if attempts < 1:
        raise ValueError(f"attempts: expected at least 1, got {attempts!r}")
    ed = edition(version)
    m = _mod(ed)
    problems: list[str] = []
    current: list[Session | None] = [None]  # the session the last message went over

    def problem(text: str) -> None:
        problems.append(printable(text))

    def note(text: str) -> None:
        if on_note is not None:
            on_note(printable(text))

    async def live() -> Session:
        if isinstance(station, Session):
            if station.closed.is_set():
                problem(f"the connection closed ({station.close_reason or 'no reason given'})")
                raise _Stop
            return station
        try:
            session = await station.wait_connected(reconnect_timeout)
        except asyncio.TimeoutError:
            problem(f"the connection dropped and no new one came within {reconnect_timeout:g} s")
            raise _Stop from None
        if session is not current[0]:
            if current[0] is not None:
                note(f"carrying on over the new connection (OCPP {session.version})")
            current[0] = session
        if session.version != version:
            problem(f"the new connection speaks OCPP {session.version}, not {version}: the session stops")
            raise _Stop
        return session

    outbox = getattr(station, "outbox", None)

    async def step(name: str, request: Any, check: Callable[[Any], str | None] = lambda r: None) -> Any:
        """One call; the response, or None when it failed (the reason is among the problems)."""
        if outbox is not None and outbox.is_transaction_message(type(request).__ocpp__.action):
            # The station's outbox delivers it across reconnects and restarts, with its retries.
            try:
                response = await station.call(request)  # type: ignore[union-attr]
            except MessageDropped as exc:
                problem(f"{name}: given up by the outbox ({exc.drop.reason}: {exc.drop.detail})")
                return None
            verdict = check(response)
            if verdict is not None:
                problem(f"{name}: {verdict}")
            return response
        for attempt in range(1, attempts + 1):
            session = await live()
            try:
                response = await session.call(request)
            except ConnectionError as exc:
                if isinstance(station, Session) or attempt == attempts:
                    problem(f"{name}: the connection closed before the answer ({exc})")
                    raise _Stop from None
                note(f"{name}: the connection closed before the answer; sending it again")
                continue
            except CallErrorResponse as exc:
                problem(f"{name}: the CSMS answered CALLERROR {exc.code}: {exc.description}")
                return None
            except CallTimeout:  # an OcppError too: caught first
                problem(f"{name}: no answer within the call timeout")
                return None
            except OcppError as exc:  # an invalid CALLRESULT, or a request the connection refused
                problem(f"{name}: {exc.code}: {exc.description}")
                return None
            verdict = check(response)
            if verdict is not None:
                problem(f"{name}: {verdict}")
            return response
        raise AssertionError("unreachable")

    try:
        if _transaction_events(ed):
            await _session_2x(m, ed, step, live, note, problem, id_tag)
        else:
            await _session_16(m, step, id_tag)
    except _Stop:
        pass
    return problems


Step = Callable[..., Awaitable[Any]]


def _status(value: Any) -> str:
    return str(getattr(value, "value", value))


async def _session_16(m: Any, step: Step, id_tag: str) -> None:
    accepted = m.AuthorizationStatus.ACCEPTED

    def boot_check(r: Any) -> str | None:
        if r.status == m.RegistrationStatus.ACCEPTED:
            return None
        return f"the CSMS answered {_status(r.status)} (retry in {r.interval} s); a station waits, so the session stops"

    boot = await step(
        "BootNotification",
        m.BootNotificationRequest(charge_point_vendor="ocppkit", charge_point_model="Demo"),
        boot_check,
    )
    if boot is None or boot.status != m.RegistrationStatus.ACCEPTED:
        raise _Stop

    def status_notification() -> Any:
        return m.StatusNotificationRequest(
            connector_id=1,
            error_code=m.ChargePointErrorCode.NO_ERROR,
            status=m.ChargePointStatus.AVAILABLE,
            timestamp=_now(),
        )

    def token_check(r: Any) -> str | None:
        status = r.id_tag_info.status  # required in 1.6
        return None if status == accepted else f"the CSMS answered {_status(status)} for id tag {id_tag}"

    await step("StatusNotification", status_notification())
    auth = await step("Authorize", m.AuthorizeRequest(id_tag=id_tag), token_check)
    if auth is None or auth.id_tag_info.status != accepted:
        raise _Stop  # no transaction without an accepted id tag
    start = await step(
        "StartTransaction",
        m.StartTransactionRequest(connector_id=1, id_tag=id_tag, meter_start=0, timestamp=_now()),
        token_check,
    )
    if start is None:
        raise _Stop  # no transaction id to go on with
    reason = m.Reason.LOCAL
    if start.id_tag_info.status == accepted:
        for wh in (1500, 3000):
            await step(
                "MeterValues",
                m.MeterValuesRequest(
                    connector_id=1,
                    transaction_id=start.transaction_id,
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
            )
    else:
        reason = m.Reason.DE_AUTHORIZED  # the CSMS refused the id tag: stop at once
    # idTagInfo is optional in a StopTransactionResponse: nothing to check.
    await step(
        "StopTransaction",
        m.StopTransactionRequest(
            meter_stop=3000 if reason == m.Reason.LOCAL else 0,
            timestamp=_now(),
            transaction_id=start.transaction_id,
            reason=reason,
        ),
    )
    await step("StatusNotification", status_notification())


async def _session_2x(
    m: Any,
    ed: Edition,
    step: Step,
    live: Callable[[], Awaitable[Session]],
    note: Callable[[str], None],
    problem: Callable[[str], None],
    id_tag: str,
) -> None:
    accepted = m.AuthorizationStatusEnumType.ACCEPTED
    token_types = getattr(m, "IdTokenEnumType", None)  # 2.1 made the token type an open string
    token = m.IdTokenType(id_token=id_tag, type=token_types.ISO14443 if token_types is not None else "ISO14443")

    def boot_check(r: Any) -> str | None:
        if r.status == m.RegistrationStatusEnumType.ACCEPTED:
            return None
        return f"the CSMS answered {_status(r.status)} (retry in {r.interval} s); a station waits, so the session stops"

    boot = await step(
        "BootNotification",
        m.BootNotificationRequest(
            charging_station=m.ChargingStationType(model="Demo", vendor_name="ocppkit"),
            reason=m.BootReasonEnumType.POWER_UP,
        ),
        boot_check,
    )
    if boot is None or boot.status != m.RegistrationStatusEnumType.ACCEPTED:
        raise _Stop

    def status_notification() -> Any:
        return m.StatusNotificationRequest(
            timestamp=_now(), connector_status=m.ConnectorStatusEnumType.AVAILABLE, evse_id=1, connector_id=1
        )

    def authorize_check(r: Any) -> str | None:
        status = r.id_token_info.status  # required in an AuthorizeResponse
        return None if status == accepted else f"the CSMS answered {_status(status)} for token {id_tag}"

    def started_check(r: Any) -> str | None:
        info = r.id_token_info  # optional: absent, the token stays authorized by Authorize
        if info is msgspec.UNSET or info.status == accepted:
            return None
        return f"the CSMS answered {_status(info.status)} for token {id_tag}: the transaction ends at once"

    await step("StatusNotification", status_notification())
    auth = await step("Authorize", m.AuthorizeRequest(id_token=token), authorize_check)
    if auth is None or auth.id_token_info.status != accepted:
        raise _Stop  # no transaction without an accepted token

    tx_id = f"demo-{uuid.uuid4().hex[:12]}"  # unique per run: a restarted station starts a new one

    def event(seq: int, kind: str, trigger: str, wh: float, **extra: Any) -> Any:
        info = extra.pop("transaction_info", None) or m.TransactionType(transaction_id=tx_id)
        return m.TransactionEventRequest(
            event_type=getattr(m.TransactionEventEnumType, kind),
            timestamp=_now(),
            trigger_reason=getattr(m.TriggerReasonEnumType, trigger),
            seq_no=seq,
            transaction_info=info,
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

    started = await step(
        "TransactionEvent Started",
        event(0, "STARTED", "AUTHORIZED", 0.0, id_token=token, evse=m.EVSEType(id=1, connector_id=1)),
        started_check,
    )
    deauthorized = started is not None and started_check(started) is not None
    if deauthorized:
        ended = event(
            1,
            "ENDED",
            "DEAUTHORIZED",
            0.0,
            transaction_info=m.TransactionType(transaction_id=tx_id, stopped_reason=m.ReasonEnumType.DE_AUTHORIZED),
        )
        await step("TransactionEvent Ended", ended)
    else:
        await step("TransactionEvent Updated", event(1, "UPDATED", "METER_VALUE_PERIODIC", 1500.0))
        if "NotifyPeriodicEventStream" in ed.send_actions:  # 2.1: a SEND
            stream = m.NotifyPeriodicEventStreamRequest(
                id=1,
                pending=0,
                basetime=_now(),
                data=[m.StreamDataElementType(t=0, v="230.1"), m.StreamDataElementType(t=1, v="230.3")],
            )
            try:
                await (await live()).send(stream)
            except ConnectionError:
                note("NotifyPeriodicEventStream: not sent, the connection closed (stream data is not resent)")
            except OcppError as exc:
                problem(f"NotifyPeriodicEventStream: {exc.code}: {exc.description}")
        await step("TransactionEvent Ended", event(2, "ENDED", "EV_DEPARTED", 3000.0))
    await step("StatusNotification", status_notification())


class FramePrinter:
    """Prints each frame readably: time since start, direction, message type, action, payload.

    ``width`` cuts the payload text to that many characters (``None``: print it in full).
    Everything that came from the wire (identity, action, payload) is escaped with
    :func:`printable`, so a peer cannot write control sequences into the terminal.
    """

    _KIND = {t.value: t.name for t in MessageType}

    def __init__(self, side: str, out: TextIO | None = None, width: int | None = 160) -> None:
        if width is not None and width < 2:
            raise ValueError(f"width: expected at least 2 characters or None, got {width!r}")
        self.side = side
        self.out = out or sys.stdout
        self.width = width
        self.start = time.monotonic()
        self.actions: dict[str, str] = {}

    def __call__(self, identity: str, direction: str, data: bytes) -> None:
        who = printable(identity)
        if self.side == "csms":
            arrow = f"{who} → csms" if direction == "in" else f"csms → {who}"
        else:
            arrow = f"{who} → csms" if direction == "out" else f"csms → {who}"
        try:
            frame = json.loads(data)
            kind = self._KIND.get(frame[0], str(frame[0]))
            if frame[0] in (MessageType.CALL, MessageType.SEND):
                if frame[0] == MessageType.CALL:  # remembered until its answer, to name the action of a CALLRESULT
                    if len(self.actions) >= 10_000:  # calls never answered: forget the oldest
                        del self.actions[next(iter(self.actions))]
                    self.actions[str(frame[1])] = str(frame[2])
                label, body = f"{kind} {frame[2]}", frame[3]
            elif frame[0] == MessageType.CALLRESULT:
                label, body = f"{kind} {self.actions.pop(str(frame[1]), '')}".rstrip(), frame[2]
            else:
                self.actions.pop(str(frame[1]), None)
                label, body = f"{kind} {frame[2]}", frame[3]
            text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        except (ValueError, IndexError, TypeError, KeyError):
            label, text = "(not OCPP-J)", data.decode("utf-8", "replace")
        label, text = printable(label), printable(text)
        if self.width is not None and len(text) > self.width:
            text = text[: self.width - 1] + "…"
        # One write per line (print writes the end separately): the lines of `serve --workers`,
        # whose processes share one stdout, then never interleave.
        self.out.write(f"{time.monotonic() - self.start:8.3f}s  {arrow:<22} {label:<32} {text}\n")
        self.out.flush()
