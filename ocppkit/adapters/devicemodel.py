"""The station's device model on the asyncio adapters: the handlers of the CSMS's device-model
requests, the NotifyReport parts sent after the CALLRESULT, and the station's own behaviour
(heartbeats, call timeout, outbox retries) read from the model.

.. code-block:: python

    model = DeviceModel("2.0.1", SqliteStore("dm.sqlite"), definitions)
    station = ChargingStation(url, Router("2.0.1"))
    binding = bind_station(station, model)      # handlers registered, settings applied
    async with station:
        await binding.boot(v201.BootNotificationRequest(...))   # HeartbeatInterval, heartbeats
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..devicemodel import KEYS_COMPONENT, Component, DeviceModel, VariableSpec
from ..devicemodel.standard import catalog
from ..errors import OcppError
from ..router import Router
from ..smartcharging import Capabilities
from ._text import printable
from .asyncio import Session, current_session

if TYPE_CHECKING:
    from ._wsstation import ChargingStation

__all__ = ["DeviceModelBinding", "DeviceModelService", "bind_station", "smart_charging_capabilities"]

log = logging.getLogger("ocppkit")

#: The station settings read from the model: 2.x (component, variable, instance) and 1.6 key.
SETTINGS: dict[str, tuple[tuple[str, str, str | None], str | None]] = {
    "heartbeat_interval": (("OCPPCommCtrlr", "HeartbeatInterval", None), "HeartbeatInterval"),
    "call_timeout": (("OCPPCommCtrlr", "MessageTimeout", "Default"), None),
    "offline_threshold": (("OCPPCommCtrlr", "OfflineThreshold", None), None),
    "attempts": (("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"), "TransactionMessageAttempts"),
    "retry_interval": (
        ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"),
        "TransactionMessageRetryInterval",
    ),
}


def _utc_now() -> dt.datetime:
    # milliseconds at most: OCPP 2.x peers are told to expect no more than 3 fractional digits
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class DeviceModelService:
    """The handlers of a :class:`~ocppkit.devicemodel.DeviceModel` for a station's router.

    2.0.1/2.1: GetVariables, SetVariables, GetBaseReport, GetReport (the NotifyReport parts
    go out after the CALLRESULT, in order, each awaiting its answer, stamped with ``clock()``);
    1.6: GetConfiguration, ChangeConfiguration. Register with :meth:`register`.

    Parameters:
        model: the device model served.
        clock: the wall clock of ``generatedAt`` (default: now, UTC).

    Attributes:
        sent: the NotifyReport requests sent so far (in order), for the application's record.
    """

    def __init__(self, model: DeviceModel, clock: Callable[[], dt.datetime] = _utc_now) -> None:
        self.model = model
        self.clock = clock
        self.sent: list[Any] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, router: Router) -> None:
        """Add the handlers to ``router`` (of the model's version)."""
        m = self.model
        if router.version is not None and router.version != m.version:
            raise ValueError(f"router: serves OCPP {router.version}; the device model is {m.version}")
        types: Any = m.types
        if m.version == "1.6":
            router.add(types.GetConfigurationRequest, m.get_configuration)
            router.add(types.ChangeConfigurationRequest, m.change_configuration)
            return
        router.add(types.GetVariablesRequest, m.get_variables)
        router.add(types.SetVariablesRequest, m.set_variables)
        router.add(types.GetBaseReportRequest, self._base_report)
        router.add(types.GetReportRequest, self._report)

    def _base_report(self, request: Any) -> Any:
        response, parts = self.model.base_report(request, generated_at=self.clock())
        self._send_later(parts)
        return response

    def _report(self, request: Any) -> Any:
        response, parts = self.model.report(request, generated_at=self.clock())
        self._send_later(parts)
        return response

    def _send_later(self, parts: list[Any]) -> None:
        if not parts:
            return
        session = current_session()  # the task starts after the CALLRESULT is queued
        task = asyncio.get_running_loop().create_task(self._send(session, parts))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, session: Session, parts: list[Any]) -> None:
        for part in parts:
            try:
                await session.call(part)
            except (OcppError, ConnectionError) as exc:
                log.warning(  # the error may carry the CSMS's description: escaped
                    "device model: NotifyReport %d/%d not delivered: %s",
                    part.seq_no,
                    len(parts),
                    printable(str(exc))[:200],
                )
                return
            self.sent.append(part)

    async def reports_sent(self) -> None:
        """Wait until every NotifyReport started so far has been answered (or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


class DeviceModelBinding:
    """A station run from its device model (made by :func:`bind_station`): its call timeout
    (``MessageTimeout[Default]``; for the next connection), its outbox's retries
    (``MessageAttempts``/``MessageAttemptInterval`` [TransactionEvent]; 1.6
    ``TransactionMessageAttempts``/``TransactionMessageRetryInterval``) and its heartbeats
    (``HeartbeatInterval``, first from the BootNotification response) follow the model, and
    follow a SetVariables/ChangeConfiguration of them at once.

    Parameters:
        station: the :class:`ChargingStation`.
        model: its device model.
        service: the :class:`DeviceModelService` registered on its router.

    Attributes:
        heartbeats: the Heartbeat calls answered so far.
    """

    def __init__(self, station: ChargingStation, model: DeviceModel, service: DeviceModelService) -> None:
        self.station = station
        self.model = model
        self.service = service
        self.heartbeats = 0
        self._boot_interval: float | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        model.on_change(self._on_change)
        self.apply()

    def setting(self, name: str) -> float | None:
        """A setting of :data:`SETTINGS` as a number, or None when the model lacks it or it is
        unset or not a number."""
        (component, variable, instance), key16 = SETTINGS[name]
        m = self.model
        found: tuple[Component, VariableSpec] | None
        if m.version == "1.6":
            found = m.key_variable(key16) if key16 is not None else None
            if found is None:
                return None
            text = m.get(found[0], found[1].name, instance=found[1].instance)
        else:
            if not m.has(component, variable, instance=instance):
                return None
            text = m.get(component, variable, instance=instance)
        try:
            return float(text)
        except ValueError:
            return None

    @property
    def heartbeat_interval(self) -> float | None:
        """Seconds between heartbeats: ``HeartbeatInterval``, else the last Accepted
        BootNotification's interval (a model without the variable), else None."""
        interval = self.setting("heartbeat_interval")
        return interval if interval is not None else self._boot_interval

    @property
    def offline_threshold(self) -> float | None:
        """``OfflineThreshold`` in seconds (how long offline before the station reports every
        connector's status again on reconnecting), or None."""
        return self.setting("offline_threshold")

    def apply(self) -> None:
        """Apply the model's settings to the station now (done at creation and on each change)."""
        timeout = self.setting("call_timeout")
        if timeout is not None and timeout > 0:
            self.station.call_timeout = timeout  # for the next connection's session
        core = self.station.outbox.core
        attempts = self.setting("attempts")
        interval = self.setting("retry_interval")
        changes: dict[str, Any] = {}
        if attempts is not None and attempts >= 1:
            changes["attempts"] = int(attempts)
        if interval is not None and interval >= 0:
            changes["retry_interval"] = interval
        if changes:
            core.settings = dataclasses.replace(core.settings, **changes)
        self._changed.set()

    def _on_change(self, component: Component, spec: VariableSpec, attribute: str, old: str, new: str) -> None:
        self.apply()

    async def boot(self, request: Any, *, connect_timeout: float | None = 30.0) -> Any:
        """Send ``request`` (a BootNotificationRequest); when Accepted, keep its ``interval`` as
        the model's HeartbeatInterval (source ``csms``) and start heartbeating. Returns the
        response."""
        response = await self.station.call(request, connect_timeout=connect_timeout)
        if str(getattr(response.status, "value", response.status)) == "Accepted":
            self._boot_interval = float(response.interval)
            self._store_interval(int(response.interval))
            self.start_heartbeats()
        return response

    def _store_interval(self, interval: int) -> None:
        m = self.model
        if m.version == "1.6":
            found = m.key_variable("HeartbeatInterval")
            if found is not None:
                m.set(found[0], found[1].name, str(interval), instance=found[1].instance, source="csms")
        elif m.has("OCPPCommCtrlr", "HeartbeatInterval"):
            m.set("OCPPCommCtrlr", "HeartbeatInterval", str(interval), source="csms")
        self._changed.set()

    def start_heartbeats(self) -> None:
        """Start the heartbeat task (once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self) -> None:
        types: Any = self.model.types
        while True:
            self._changed.clear()
            interval = self.heartbeat_interval
            try:
                await asyncio.wait_for(self._changed.wait(), interval if interval and interval > 0 else None)
                continue  # a new interval: start counting again
            except asyncio.TimeoutError:
                pass
            session = self.station.session
            if session is None or session.closed.is_set():
                continue
            try:
                await session.call(types.HeartbeatRequest())
                self.heartbeats += 1
            except (OcppError, ConnectionError) as exc:
                log.info("%s: heartbeat not answered: %s", printable(self.station.identity), printable(str(exc))[:200])

    async def close(self) -> None:
        """Stop the heartbeats."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


def bind_station(
    station: ChargingStation, model: DeviceModel, *, clock: Callable[[], dt.datetime] = _utc_now
) -> DeviceModelBinding:
    """Serve ``model`` on ``station``'s router (:class:`DeviceModelService`) and run the
    station's call timeout, outbox retries and heartbeats from it (:class:`DeviceModelBinding`).
    Call it before the station connects (inside a running event loop or not)."""
    service = DeviceModelService(model, clock)
    service.register(station.router)
    return DeviceModelBinding(station, model, service)


def _read(model: DeviceModel, component: str, variable: str, instance: str | None = None) -> str | None:
    if model.version == "1.6":  # a standard key lives where the catalogue puts it (maps_to)
        key = catalog("1.6").key(variable)
        if key is not None:
            component, variable, instance = key.location
    if not model.has(component, variable, instance=instance):
        return None
    value = model.get(component, variable, instance=instance)
    return value if value != "" else None


def smart_charging_capabilities(model: DeviceModel) -> Capabilities:
    """The station's smart-charging capabilities as its device model states them, for
    :class:`ocppkit.smartcharging.StationProfiles` and ``validate_profile``: 2.x
    ``SmartChargingCtrlr`` (RateUnit, ProfileStackLevel, PeriodsPerSchedule,
    ACPhaseSwitchingSupported), ``ChargingStation.SupplyPhases`` and the EVSE components; 1.6
    ChargingScheduleAllowedChargingRateUnit, ChargeProfileMaxStackLevel,
    ChargingScheduleMaxPeriods and NumberOfConnectors. What the model does not state keeps
    :class:`~ocppkit.smartcharging.Capabilities`' default."""
    found: dict[str, Any] = {}
    if model.version == "1.6":
        units = _read(model, KEYS_COMPONENT.name, "ChargingScheduleAllowedChargingRateUnit")
        if units is not None:
            found["rate_units"] = tuple({"Current": "A", "Power": "W"}[u] for u in units.split(",") if u)
        level = _read(model, KEYS_COMPONENT.name, "ChargeProfileMaxStackLevel")
        periods = _read(model, KEYS_COMPONENT.name, "ChargingScheduleMaxPeriods")
        connectors = _read(model, KEYS_COMPONENT.name, "NumberOfConnectors")
        if connectors is not None:
            found["evse_ids"] = tuple(range(1, int(connectors) + 1))
    else:
        units = _read(model, "SmartChargingCtrlr", "RateUnit")
        if units is not None:
            found["rate_units"] = tuple(u for u in units.split(",") if u)
        level = _read(model, "SmartChargingCtrlr", "ProfileStackLevel")
        periods = _read(model, "SmartChargingCtrlr", "PeriodsPerSchedule")
        switching = _read(model, "SmartChargingCtrlr", "ACPhaseSwitchingSupported")
        if switching is not None:
            found["phase_switching"] = switching == "true"
        phases = _read(model, "ChargingStation", "SupplyPhases")
        if phases is not None and int(phases) > 0:
            found["supply_phases"] = int(phases)
        evses = sorted({c.evse_id for c in model.components() if c.name == "EVSE" and c.evse_id is not None})
        if evses:
            found["evse_ids"] = tuple(evses)
    if level is not None:
        found["max_stack_level"] = int(level)
    if periods is not None:
        found["max_periods"] = int(periods)
    return Capabilities(**found)
