"""The CSMS side of the device model over asyncio: a :class:`MirrorBook` keeps one
:class:`~ocppkit.devicemodel.mirror.DeviceModelMirror` per station, fed by the router's
NotifyReport handler, and :func:`fetch_report` asks a station for a base report and waits for
all its parts.

Wiring, once per router (a CSMS serving 2.0.1 and 2.1 registers the book on both)::

    book = MirrorBook()
    book.register(router)          # adds the NotifyReport handler: feeds the book, acknowledges
    ...
    mirror = await fetch_report(csms, "CS-1", report_base="FullInventory", timeout=60)

A router that needs its own NotifyReport handler calls ``book.feed(identity, request)`` from it
instead of ``register``; ``fetch_report`` then needs ``book=``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import itertools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..devicemodel.mirror import (
    DeviceModelMirror,
    GetEntry,
    MirrorError,
    ReportProgress,
    SetEntry,
    VariableRef,
    VariableResult,
)
from ..devicemodel.spec import Component
from ..edition import edition
from ..errors import CallTimeout
from ..router import Router
from ._text import printable
from .asyncio import Session, current_session
from .registry import StationNotConnected, call_timed_out

if TYPE_CHECKING:
    from .websockets import CSMSServer

__all__ = ["MirrorBook", "ReportRefused", "ReportTimeout", "fetch_report"]

log = logging.getLogger("ocppkit")
_DEVICE_MODEL_VERSIONS = ("2.0.1", "2.1")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _module(version: str) -> Any:
    return importlib.import_module(edition(version).package)


class ReportRefused(Exception):
    """The station answered GetBaseReport (or GetReport) with another status than Accepted or
    EmptyResultSet (``Rejected``, ``NotSupported``): no report follows.

    Parameters:
        identity: the station.
        status: the status it answered.
        action: the request it answered (``"GetBaseReport"`` or ``"GetReport"``).
    """

    def __init__(self, identity: str, status: str, action: str = "GetBaseReport") -> None:
        self.identity = identity
        self.status = status
        self.action = action
        super().__init__(f"station '{printable(identity)}' answered {action} {printable(status)}: no report follows")


class ReportTimeout(asyncio.TimeoutError):
    """The report did not complete in time; its parts so far stay pending in the mirror.

    Parameters:
        identity: the station.
        request_id: the report's requestId.
        progress: where the report stood (None: no part arrived).
    """

    def __init__(self, identity: str, request_id: int, progress: ReportProgress | None) -> None:
        self.identity = identity
        self.request_id = request_id
        self.progress = progress
        if progress is None:
            where = "no NotifyReport part arrived"
        else:
            missing = ", ".join(map(str, progress.missing))
            if progress.last is None:
                where = f"{progress.parts} parts arrived, the last (tbc false) not yet"
                where += f"; missing seqNo {missing}" if missing else ""
            else:
                where = (
                    f"{progress.parts} parts arrived up to the last (seqNo {progress.last}), missing seqNo {missing}"
                )
        super().__init__(f"report {request_id} of station '{printable(identity)}' incomplete: {where}")


class _NotifyReportHandler:
    """The NotifyReport handler a book registers (``book`` lets :func:`fetch_report` find it)."""

    __slots__ = ("book", "response")

    def __init__(self, book: MirrorBook, response: type[Any]) -> None:
        self.book = book
        self.response = response

    def __call__(self, request: Any) -> Any:
        self.book.feed(current_session().identity, request)
        return self.response()


class MirrorBook:
    """One :class:`DeviceModelMirror` per station identity, fed by NotifyReport.

    Parameters:
        logger: where a NotifyReport part the mirror refuses is logged (default ``"ocppkit"``);
            the part is still acknowledged (NotifyReport has an empty response).
    """

    def __init__(self, *, logger: logging.Logger | None = None) -> None:
        self.log = logger or log
        self._mirrors: dict[str, DeviceModelMirror[str]] = {}
        self._waiters: dict[tuple[str, int], list[asyncio.Future[ReportProgress]]] = {}
        self._last: dict[tuple[str, int], ReportProgress] = {}
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"<MirrorBook: {len(self._mirrors)} stations>"

    def register(self, router: Router) -> None:
        """Add the NotifyReport handler to ``router`` (a 2.0.1 or 2.1 router): it feeds the
        station's mirror and acknowledges. The handler reads the station from
        :func:`~ocppkit.adapters.asyncio.current_session`, so it serves the asyncio adapters
        (CSMSServer, Session); with ``Router.dispatch`` call :meth:`feed` yourself.

        Raises:
            ValueError: the router has no version yet, or one without a device model.
            ValueError: the router already has a NotifyReport handler (call :meth:`feed` from it).
        """
        if router.version not in _DEVICE_MODEL_VERSIONS:
            raise ValueError(
                f"router: expected a Router('2.0.1') or Router('2.1'), got one of version {router.version!r}"
            )
        m = _module(router.version)
        router.add(m.NotifyReportRequest, _NotifyReportHandler(self, m.NotifyReportResponse))

    def feed(self, identity: str, request: Any) -> ReportProgress | None:
        """Apply one NotifyReport part of station ``identity``; return the report's progress, or
        None when the mirror refused the part (logged, escaped)."""
        version = type(request).__ocpp__.version
        mirror = self.mirror_for(identity, version)
        try:
            progress = mirror.apply_report(request)
        except MirrorError as exc:
            self.log.warning("NotifyReport of %s refused: %s", printable(identity), printable(str(exc)))
            return None
        key = (identity, progress.request_id)
        self._last[key] = progress
        if len(self._last) > 1000:  # progress of reports nobody waits for: forget the oldest
            del self._last[next(iter(self._last))]
        if progress.complete and not progress.repeated:
            for waiter in self._waiters.pop(key, []):
                if not waiter.done():
                    waiter.set_result(progress)
        return progress

    def mirror(self, identity: str) -> DeviceModelMirror[str] | None:
        """The mirror of station ``identity``, or None before its first report."""
        return self._mirrors.get(identity)

    def mirror_for(self, identity: str, version: str) -> DeviceModelMirror[str]:
        """The mirror of station ``identity``, created (or replaced, when the station now speaks
        another version) as needed."""
        mirror = self._mirrors.get(identity)
        if mirror is None or mirror.version != version:
            mirror = self._mirrors[identity] = DeviceModelMirror(version)
        return mirror

    def forget(self, identity: str) -> None:
        """Drop the mirror of station ``identity`` (a decommissioned station)."""
        self._mirrors.pop(identity, None)

    def identities(self) -> list[str]:
        """The stations that have a mirror."""
        return list(self._mirrors)

    def next_request_id(self) -> int:
        """A requestId for the next report this book asks for."""
        return next(self._ids)

    async def wait_report(self, identity: str, request_id: int, timeout: float | None) -> ReportProgress:
        """Wait until report ``request_id`` of station ``identity`` is complete.

        Raises:
            ReportTimeout: not within ``timeout`` seconds (None: wait for ever).
        """
        return await self._wait(identity, request_id, self._expect(identity, request_id), timeout)

    def _expect(self, identity: str, request_id: int) -> asyncio.Future[ReportProgress]:
        waiter: asyncio.Future[ReportProgress] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault((identity, request_id), []).append(waiter)
        return waiter

    async def _wait(
        self, identity: str, request_id: int, waiter: asyncio.Future[ReportProgress], timeout: float | None
    ) -> ReportProgress:
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            raise ReportTimeout(identity, request_id, self._pending_progress(identity, request_id)) from None
        finally:
            self._drop(identity, request_id, waiter)  # done already, or nobody waits any more

    def _pending_progress(self, identity: str, request_id: int) -> ReportProgress | None:
        mirror = self._mirrors.get(identity)
        pending = mirror.pending().get(request_id) if mirror is not None else None
        return pending if pending is not None else self._last.get((identity, request_id))

    async def fetch(
        self,
        target: CSMSServer | Session,
        identity: str | None = None,
        *,
        report_base: str = "FullInventory",
        request_id: int | None = None,
        timeout: float | None = 60.0,
    ) -> DeviceModelMirror[str]:
        """As :func:`fetch_report`, with this book."""
        who, version, call = _station(target, identity)
        mirror = self.mirror_for(who, version)
        rid = self.next_request_id() if request_id is None else request_id
        request = mirror.get_base_report_request(rid, report_base)
        return await self._collect(who, version, call, request, timeout)

    async def get_report(
        self,
        target: CSMSServer | Session,
        identity: str | None = None,
        *,
        components: Sequence[Component | str | VariableRef] = (),
        criteria: Sequence[str] = (),
        request_id: int | None = None,
        timeout: float | None = 60.0,
    ) -> DeviceModelMirror[str]:
        """GetReport of ``components`` (a Component or a name: all its variables; a VariableRef:
        that one) and ``criteria`` (Active, Available, Enabled, Problem; OR-combined; both empty:
        everything), then wait for its parts, as :func:`fetch_report` does; the report merges
        into the station's mirror (``mirror.report(request_id)`` is it alone)."""
        who, version, call = _station(target, identity)
        mirror = self.mirror_for(who, version)
        rid = self.next_request_id() if request_id is None else request_id
        request = mirror.get_report_request(rid, components, criteria)
        return await self._collect(who, version, call, request, timeout)

    async def _collect(
        self, who: str, version: str, call: Any, request: Any, timeout: float | None
    ) -> DeviceModelMirror[str]:
        rid = request.request_id
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        waiter = self._expect(who, rid)  # before the call: the parts may follow its CALLRESULT at once
        try:
            response = await call(request, timeout)
            status = str(getattr(response.status, "value", response.status))
            if status == "EmptyResultSet":
                return self.mirror_for(who, version)
            if status != "Accepted":
                raise ReportRefused(who, status, type(request).__ocpp__.action)
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            await self._wait(who, rid, waiter, remaining)
        finally:
            self._drop(who, rid, waiter)
        return self.mirror_for(who, version)

    def _drop(self, identity: str, request_id: int, waiter: asyncio.Future[ReportProgress]) -> None:
        waiter.cancel()
        waiters = self._waiters.get((identity, request_id))
        if waiters is not None and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[(identity, request_id)]

    async def get_variables(
        self,
        target: CSMSServer | Session,
        identity: str | None,
        entries: Sequence[GetEntry],
        *,
        timeout: float | None = None,
    ) -> tuple[VariableResult, ...]:
        """GetVariables of ``entries`` (see ``DeviceModelMirror.get_variables_request``) from the
        station; the answer updates its mirror; returns every entry's result."""
        who, version, call = _station(target, identity)
        mirror = self.mirror_for(who, version)
        request = mirror.get_variables_request(entries)
        return mirror.apply_get_variables(request, await call(request, timeout))

    async def set_variables(
        self,
        target: CSMSServer | Session,
        identity: str | None,
        entries: Sequence[SetEntry],
        *,
        timeout: float | None = None,
    ) -> tuple[VariableResult, ...]:
        """SetVariables of ``entries`` (``(component, variable, value[, attribute])``) on the
        station; Accepted values update its mirror; returns every entry's result."""
        who, version, call = _station(target, identity)
        mirror = self.mirror_for(who, version)
        request = mirror.set_variables_request(entries)
        return mirror.apply_set_variables(request, await call(request, timeout))


def _station(target: Any, identity: str | None) -> tuple[str, str, Any]:
    """(identity, version, call(request, timeout)) of the station behind ``target``."""
    if isinstance(target, Session):
        if identity is not None and identity != target.identity:
            raise ValueError(
                f"identity: the session is station '{printable(target.identity)}', not '{printable(identity)}'"
            )

        async def call_session(request: Any, timeout: float | None) -> Any:
            if timeout is None:
                return await target.call(request)
            try:
                return await asyncio.wait_for(target.call(request), timeout)
            except asyncio.TimeoutError as exc:
                if isinstance(exc, CallTimeout):  # the session's own
                    raise
                raise call_timed_out(request, timeout, target.version) from None

        return target.identity, target.version, call_session
    sessions = getattr(target, "sessions", None)
    if sessions is None or not callable(getattr(target, "call", None)):
        raise TypeError(f"target: expected a CSMSServer or a Session, got {type(target).__name__}")
    if identity is None:
        raise ValueError("identity: which station of the CSMS? (None given)")
    session = sessions.get(identity)
    if session is None:
        raise StationNotConnected(identity)

    async def call_csms(request: Any, timeout: float | None) -> Any:
        return await target.call(identity, request, timeout=timeout)

    return identity, session.version, call_csms


def _book_of(target: Any, identity: str | None) -> MirrorBook:
    session = target if isinstance(target, Session) else getattr(target, "sessions", {}).get(identity)
    if session is None and identity is not None and not isinstance(target, Session):
        raise StationNotConnected(identity)
    if session is not None and session.version in _DEVICE_MODEL_VERSIONS:
        m = _module(session.version)
        probe = m.NotifyReportRequest(request_id=0, generated_at=_EPOCH, seq_no=0)
        handler = session.router.handler_for(probe)
        if isinstance(handler, _NotifyReportHandler):
            return handler.book
    raise ValueError(
        "book: the station's router has no MirrorBook NotifyReport handler; call book.register(router) or pass book="
    )


async def fetch_report(
    target: CSMSServer | Session,
    identity: str | None = None,
    *,
    book: MirrorBook | None = None,
    report_base: str = "FullInventory",
    request_id: int | None = None,
    timeout: float | None = 60.0,
) -> DeviceModelMirror[str]:
    """Ask station ``identity`` of ``target`` (a CSMSServer; or one station's Session, then
    ``identity`` may be omitted) for a base report, wait for all its NotifyReport parts and
    return the station's mirror.

    ``book`` is the :class:`MirrorBook` fed by the station's router (default: the one
    registered on that router). ``timeout`` bounds the whole exchange (None: no bound). An
    EmptyResultSet answer returns the mirror as it is.

    Raises:
        ReportRefused: the station answered Rejected or NotSupported.
        ReportTimeout: the report was not complete within ``timeout`` (its parts stay pending).
        ocppkit.CallErrorResponse: the station answered a CALLERROR (``NotSupported``: a station
            without a device model).
        StationNotConnected: the station is not connected.
        ValueError: no book given and none registered on the station's router.
    """
    chosen = book if book is not None else _book_of(target, identity)
    return await chosen.fetch(target, identity, report_base=report_base, request_id=request_id, timeout=timeout)
