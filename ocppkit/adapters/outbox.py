"""The asyncio side of a station's outbox: :class:`StationOutbox` sends what the sans-IO
:class:`ocppkit.outbox.Outbox` offers over whichever connection is live, one message at a time,
and hands every outcome back to it (delivered, failed, interrupted). It owns the clock, the
waiting and the futures; every rule (order, retries, drops, id rewriting) is the core's."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator
from typing import Any, Generic, Protocol, TypeVar

from .. import Request, Response
from ..errors import CallErrorResponse, CallTimeout, LocalProtocolError, OcppError
from ..outbox import Attempt, Drop, Entry, Outbox, OutboxError, Wait
from ._text import printable
from .asyncio import Session

__all__ = ["MessageDropped", "OutboxHandle", "StationOutbox"]

log = logging.getLogger("ocppkit")
R = TypeVar("R", bound=Response)

_BOOT_POLL = 0.05  # seconds between looks at the boot state while the outbox waits for the boot
_BUSY_PAUSE = 0.2  # seconds to wait when the session refused the call locally (its queue is full)
_NOT_SENT = ("maxQueuedCalls", "bootGating")  # LocalProtocolError rules that say: try again later


class MessageDropped(OutboxError):
    """A message of the outbox was given up, by the specification's rule: its attempts ran out
    (``drop.reason == "attempts"``; the last failure is the ``__cause__`` when it happened in this
    process), the outbox was full (``"storage"``), or its 1.6 StartTransaction was dropped
    (``"start_dropped"``).

    Attributes:
        drop: the :class:`ocppkit.outbox.Drop` record.
    """

    def __init__(self, drop: Drop) -> None:
        super().__init__(f"{drop.entry.action} (outbox entry {drop.entry.id}) dropped: {drop.reason} ({drop.detail})")
        self.drop = drop


class OutboxHandle(Generic[R]):
    """What :meth:`StationOutbox.submit` returns: the committed entry, and ``await handle`` for
    the response (or :class:`MessageDropped`). Awaiting it with a timeout and giving up does not
    withdraw the message: it stays committed and is delivered.

    Parameters:
        entry: the :class:`ocppkit.outbox.Entry`, as committed.
        future: the future the outbox resolves with the response (or fails).
    """

    __slots__ = ("_future", "entry")

    def __init__(self, entry: Entry, future: asyncio.Future[Any]) -> None:
        self.entry = entry
        self._future = future

    @property
    def transaction_id(self) -> Any:
        """The entry's transaction id: for a 1.6 StartTransaction the placeholder to put in that
        transaction's MeterValues and StopTransaction (the outbox sends the id the CSMS assigns
        instead); for a 2.x TransactionEvent its transactionId."""
        return self.entry.transaction_id

    @property
    def seq_no(self) -> int | None:
        """2.x: the seqNo the outbox gave the TransactionEvent."""
        return self.entry.seq_no

    def done(self) -> bool:
        """Whether the outcome is known (delivered or dropped)."""
        return self._future.done()

    def __await__(self) -> Generator[Any, None, R]:
        result: R = yield from asyncio.shield(self._future).__await__()
        return result

    def __repr__(self) -> str:
        return f"<OutboxHandle {self.entry.action} #{self.entry.id}{' done' if self.done() else ''}>"


class LiveSessions(Protocol):
    """What the outbox needs from a reconnecting station."""

    async def wait_connected(self, timeout: float | None = None) -> Session: ...


class StationOutbox:
    """A station's outbox at work: transaction-related messages are committed before they are
    first sent, then delivered over the live connection, across reconnects and restarts, in
    order, one at a time, with the specification's retries.

    ``ChargingStation(..., outbox=...)`` makes one (``station.outbox``) and runs it while the
    station runs; build one yourself to give another transport's station an outbox.

    Parameters:
        outbox: the sans-IO :class:`ocppkit.outbox.Outbox` (its store and settings).
        clock: wall-clock seconds (default ``time.time``; the outbox keeps retry times across
            restarts).

    Attributes:
        core: the :class:`ocppkit.outbox.Outbox`.
        on_response: ``on_response(entry, response)``, for a delivered message nobody awaits any
            more (committed before a restart, or whose handle was dropped); default: logged.
        on_drop: ``on_drop(drop)``, for every message given up (also raised to its awaiting
            caller as :class:`MessageDropped`); default: logged as a warning.
        booted: whether a BootNotification has been accepted since this object was made; messages
            found in the store at start wait for it (a reboot), a reconnection does not.
        dropped: how many messages were dropped so far.
    """

    def __init__(self, outbox: Outbox, *, clock: Callable[[], float] = time.time) -> None:
        self.core = outbox
        self.clock = clock
        self.on_response: Callable[[Entry, Response], None] | None = None
        self.on_drop: Callable[[Drop], None] | None = None
        self.booted = False
        self.dropped = 0
        self._held = outbox.restored > 0  # restored messages wait for this process's boot
        self._waiters: dict[int, asyncio.Future[Any]] = {}
        self._changed: asyncio.Event | None = None
        self._paused = False

    # ------------------------------------------------------------- public

    def pending(self) -> int:
        """Messages committed and neither delivered nor dropped yet."""
        return self.core.pending()

    def pending_for(self, transaction_id: str) -> int:
        """2.x: messages of this transaction still waiting (GetTransactionStatus
        ``messagesInQueue``, E14)."""
        return self.core.pending_for(transaction_id)

    def entries(self) -> list[Entry]:
        """The waiting entries, in the order they go out."""
        return self.core.entries()

    def is_transaction_message(self, action: str) -> bool:
        """Whether ``call()`` of this action goes through the outbox."""
        return self.core.is_transaction_message(action)

    def submit(self, request: Request[R], *, offline: bool = False) -> OutboxHandle[R]:
        """Commit ``request`` (before anything is sent) and return its handle at once.
        ``offline``: the event happened while the station was offline (2.x TransactionEvent
        ``offline``). Raises :class:`ocppkit.outbox.OutboxFull` when nothing may make room."""
        entry = self.core.submit(request, self.clock(), offline=offline)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters[entry.id] = future
        for drop in entry.dropped:  # room made for it; or itself (a Stop whose Start was dropped)
            self._report(drop, None)
        self._poke()
        return OutboxHandle(entry, future)

    def pause(self) -> None:
        """Send nothing new (the message in flight may still be answered) until :meth:`resume`."""
        self._paused = True

    def resume(self) -> None:
        """Send again after :meth:`pause`."""
        self._paused = False
        self._poke()

    async def drained(self) -> None:
        """Wait until no message is waiting (delivered or dropped, all of them)."""
        while self.core.pending():
            changed = self._event()
            changed.clear()
            await changed.wait()

    async def run(self, station: LiveSessions) -> None:
        """Deliver for ever (until cancelled), over ``station``'s live connection."""
        while True:
            session = await station.wait_connected(None)
            if not self._may_send(session):
                await self._idle(session, _BOOT_POLL)
                continue
            act = self.core.next(self.clock())
            if act is None:
                await self._idle(session, None)
            elif isinstance(act, Wait):
                await self._idle(session, max(0.0, act.until - self.clock()))
            else:
                await self._attempt(session, act)

    # ------------------------------------------------------------- internals

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _poke(self) -> None:
        self._event().set()

    def _may_send(self, session: Session) -> bool:
        if self._paused or session.version != self.core.version:
            return False  # (a connection of another version: the stored messages are not its own)
        boot = session.connection.boot_state
        if boot == "ACCEPTED":
            self.booted = True
            self._held = False
        if self._held:
            return False
        return boot not in ("PENDING", "REJECTED")  # a station not yet accepted sends nothing else

    async def _idle(self, session: Session, timeout: float | None) -> None:
        """Until something is submitted, the session closes, or ``timeout`` passes."""
        changed = self._event()
        changed.clear()
        waits: list[asyncio.Task[Any]] = [
            asyncio.ensure_future(changed.wait()),
            asyncio.ensure_future(session.closed.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def _attempt(self, session: Session, act: Attempt) -> None:
        entry = act.entry
        try:
            response = await session.call(act.request)
        except asyncio.CancelledError:
            self.core.interrupted(entry.id)  # the station is closing: it stays committed
            raise
        except (CallErrorResponse, CallTimeout, OcppError) as exc:
            if isinstance(exc, LocalProtocolError) and exc.details.get("rule") in _NOT_SENT:
                # nothing was sent (the session's queue is full): not an attempt
                self.core.interrupted(entry.id)
                await asyncio.sleep(_BUSY_PAUSE)
                return
            reason = "timeout" if isinstance(exc, CallTimeout) else _describe(exc)
            outcome = self.core.failed(entry.id, reason, self.clock())
            if isinstance(outcome, Drop):
                self._report(outcome, exc)
            else:
                log.info(
                    "%s: %s #%d failed (%s); retry at %.0f",
                    self._who(session),
                    entry.action,
                    entry.id,
                    reason,
                    outcome.at,
                )
        except (ConnectionError, EOFError):
            self.core.interrupted(entry.id)  # sent again over the next connection
            await session.closed.wait()
        else:
            delivered = self.core.delivered(entry.id, response, self.clock())
            future = self._waiters.pop(entry.id, None)
            if future is not None and not future.done():
                future.set_result(response)
            else:
                self._orphan(entry, response)
            for drop in delivered.dropped:
                self._report(drop, None)
        self._poke()

    def _orphan(self, entry: Entry, response: Response) -> None:
        if self.on_response is None:
            log.info("outbox: %s #%d delivered (no caller waits for it)", entry.action, entry.id)
            return
        try:
            self.on_response(entry, response)
        except Exception:  # the application's hook never stops the delivery
            log.exception("outbox: the on_response hook failed on %s #%d", entry.action, entry.id)

    def _report(self, drop: Drop, cause: BaseException | None) -> None:
        for also in drop.dropped:  # a 1.6 StopTransaction dropped with its StartTransaction
            self._report(also, None)
        self.dropped += 1
        error = MessageDropped(drop)
        error.__cause__ = cause
        future = self._waiters.pop(drop.entry.id, None)
        if future is not None and not future.done():
            future.set_exception(error)
            future.exception()  # retrieved: a caller that never awaits does not warn
        if self.on_drop is None:
            log.warning("outbox: %s", printable(str(error)))
            return
        try:
            self.on_drop(drop)
        except Exception:
            log.exception("outbox: the on_drop hook failed on %s #%d", drop.entry.action, drop.entry.id)

    @staticmethod
    def _who(session: Session) -> str:
        return printable(session.identity)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CallErrorResponse):
        return printable(f"CALLERROR {exc.code}: {exc.description}")[:200]
    return printable(f"{type(exc).__name__}: {exc}")[:200]
