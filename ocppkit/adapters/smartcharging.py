"""Smart charging on an asyncio station: :class:`SmartCharging` puts a
:class:`ocppkit.smartcharging.StationProfiles` on the station's :class:`ocppkit.Router`, sends
the ReportChargingProfiles of a GetChargingProfiles after its answer, and tells the application
what each EVSE may draw (``on_limit``), again at every period boundary (a timer on the loop's
clock). The wall clock (UTC) is read here only, never in the sans-IO core.

::

    profiles = sc.StationProfiles("2.0.1", sc.SqliteProfileStore("station.sqlite"), evses=(1, 2))
    smart = SmartCharging(profiles, on_limit=lambda evse, limit, next_change: print(evse, limit))
    smart.register(router)   # the router of the ChargingStation
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import importlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import OcppError
from ..router import Router
from ..smartcharging import EvseLimit, Limit, StationProfiles
from ._text import printable
from .asyncio import Session, current_session

__all__ = ["LimitHook", "SmartCharging", "wall_clock"]

log = logging.getLogger("ocppkit")

#: ``on_limit(evse_id, limit, next_change)``: a plain function or a coroutine function.
LimitHook = Callable[[int, Limit, "_dt.datetime | None"], "Awaitable[None] | None"]

_PACKAGES = {"1.6": "ocppkit.v16", "2.0.1": "ocppkit.v201", "2.1": "ocppkit.v21"}


def wall_clock() -> _dt.datetime:
    """Now, UTC, from the wall clock."""
    return _dt.datetime.now(_dt.timezone.utc)


class SmartCharging:
    """The smart-charging handlers of a station, and its limit callback.

    :meth:`register` adds the handlers of SetChargingProfile, ClearChargingProfile,
    GetCompositeSchedule and (2.x) GetChargingProfiles to a router; they are plain functions,
    answered inline. A GetChargingProfiles that matched sends its ReportChargingProfiles
    requests, in order, over the same connection, after the CALLRESULT (a task that starts once
    the answer is queued). After every change of the profiles or transactions, and at every
    period boundary, ``on_limit`` is called for each EVSE whose limit changed (the first time:
    every EVSE). The timer needs a running loop: a change made outside it arms the timer at the
    next :meth:`refresh` inside it.

    Parameters:
        profiles: the :class:`~ocppkit.smartcharging.StationProfiles` (its version is the
            router's).
        on_limit: ``on_limit(evse_id, limit, next_change)`` (plain or coroutine; its failures are
            logged): the :class:`~ocppkit.smartcharging.Limit` the power electronics must follow
            now, and when it changes next (None: not within ``horizon``).
        unit: the unit of the limits given to ``on_limit``: "A" (per phase) or "W".
        horizon: how far ahead (seconds) a next change is looked for; the limits are checked
            again at least that often.
        clock: the wall clock, a function returning an aware datetime (default: UTC now).

    Attributes:
        current: the last limits given, ``{evse id: EvseLimit}``.
        reports_sent: how many ReportChargingProfiles requests the CSMS has answered.
    """

    def __init__(
        self,
        profiles: StationProfiles,
        *,
        on_limit: LimitHook | None = None,
        unit: str = "A",
        horizon: int = 86400,
        clock: Callable[[], _dt.datetime] = wall_clock,
    ) -> None:
        if unit not in ("A", "W"):
            raise ValueError(f"unit: must be 'A' or 'W' (got {unit!r})")
        if horizon < 1:
            raise ValueError(f"horizon: must be at least 1 second (got {horizon!r})")
        self.profiles = profiles
        self.on_limit = on_limit
        self.unit = unit
        self.horizon = horizon
        self.clock = clock
        self.current: dict[int, EvseLimit] = {}
        self.reports_sent = 0
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def __repr__(self) -> str:
        return f"<SmartCharging {self.profiles.version}: {len(self.profiles.profiles)} profiles>"

    # ------------------------------------------------------------------ the handlers

    def register(self, router: Router) -> None:
        """Add the smart-charging handlers to ``router`` (which must serve the same version)."""
        m: Any = importlib.import_module(_PACKAGES[self.profiles.version])
        if router.version not in (None, self.profiles.version):
            raise ValueError(f"router: serves OCPP {router.version}, the profiles are OCPP {self.profiles.version}")
        router.add(m.SetChargingProfileRequest, self._set)
        router.add(m.ClearChargingProfileRequest, self._clear)
        router.add(m.GetCompositeScheduleRequest, self._composite)
        if self.profiles.version != "1.6":
            router.add(m.GetChargingProfilesRequest, self._get)

    def _set(self, request: Any) -> Any:
        response = self.profiles.set_charging_profile(request, self.clock())
        self.refresh()
        return response

    def _clear(self, request: Any) -> Any:
        response = self.profiles.clear_charging_profile(request)
        self.refresh()
        return response

    def _composite(self, request: Any) -> Any:
        return self.profiles.get_composite_schedule(request, self.clock())

    def _get(self, request: Any) -> Any:
        response, reports = self.profiles.get_charging_profiles(request)
        if reports:
            session = current_session()
            task = asyncio.get_running_loop().create_task(self._report(session, reports))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return response

    async def _report(self, session: Session, reports: list[Any]) -> None:
        for report in reports:
            try:
                await session.call(report)
            except (OcppError, ConnectionError) as exc:  # a CALLERROR, a timeout, a closed connection
                log.warning(
                    "%s: ReportChargingProfiles (requestId %s) not delivered: %s",
                    printable(session.identity),
                    report.request_id,
                    printable(str(exc)),
                )
                return
            self.reports_sent += 1

    # ------------------------------------------------------------------ transactions

    def transaction_started(
        self, evse_id: int, transaction_id: str | int, started_at: _dt.datetime | None = None
    ) -> None:
        """A transaction started on ``evse_id`` (``started_at``: now by default)."""
        self.profiles.transaction_started(evse_id, transaction_id, started_at or self.clock())
        self.refresh()

    def transaction_ended(self, evse_id: int) -> list[int]:
        """The transaction on ``evse_id`` ended: its TxProfiles are deleted; returns their ids."""
        gone = self.profiles.transaction_ended(evse_id)
        self.refresh()
        return gone

    # ------------------------------------------------------------------ limits

    def refresh(self) -> None:
        """Discard the expired profiles, compute the limits now, call ``on_limit`` for those that
        changed, and (in a running loop) set the timer to the next change."""
        now = self.clock()
        self.profiles.discard_expired(now)
        limits = self.profiles.limits(now, self.unit, self.horizon)
        for evse_id, value in limits.items():
            before = self.current.get(evse_id)
            self.current[evse_id] = value
            if before is None or before.limit != value.limit:
                self._call(evse_id, value)
        self._arm(now, limits)

    def _call(self, evse_id: int, value: EvseLimit) -> None:
        if self.on_limit is None:
            return
        try:
            done = self.on_limit(evse_id, value.limit, value.next_change)
            if isinstance(done, Awaitable):
                task = asyncio.get_running_loop().create_task(self._await_hook(done))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception:  # the application's failure is logged and goes no further
            log.exception("the on_limit hook failed (EVSE %s)", evse_id)

    async def _await_hook(self, done: Awaitable[None]) -> None:
        try:
            await done
        except Exception:
            log.exception("the on_limit hook failed")

    def _arm(self, now: _dt.datetime, limits: dict[int, EvseLimit]) -> None:
        if self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside the loop: the next refresh inside it arms the timer
        if self._timer is not None:
            self._timer.cancel()
        changes = [v.next_change for v in limits.values() if v.next_change is not None]
        delay = float(self.horizon)
        if changes:
            delay = min(delay, max(0.0, (min(changes) - now).total_seconds()))
        self._timer = loop.call_later(delay, self._tick)

    def _tick(self) -> None:
        """The timer: re-evaluate; a failure (a store that cannot be written) is logged, and the
        limits are looked at again after ``horizon`` seconds."""
        self._timer = None
        try:
            self.refresh()
        except Exception:
            log.exception("smart charging: the limits could not be re-evaluated")
            if not self._closed:
                self._timer = asyncio.get_running_loop().call_later(float(self.horizon), self._tick)

    async def close(self) -> None:
        """Stop the timer and wait for the reports and hooks still running."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
