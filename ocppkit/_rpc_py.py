"""The sans-IO OCPP-J connection: bytes in, events out; messages in, bytes out.

No I/O, no clock reads (the clock is injected), no asyncio. One object per WebSocket
connection, for either role. The rules it keeps (OCPP_REFERENCE.md 1.6, 1.10):

- at most one outstanding CALL per direction: further calls queue in order and go out when
  the previous one is answered or times out; the peer's calls are served meanwhile; a 2.1
  SEND goes out at once;
- results and errors are matched by message id to the outstanding call; a response for a call
  that timed out is reported late, one for no call of ours unmatched, and both are dropped,
  never answered and never matched to another call; a result or error that cannot be decoded
  but whose id was read is still a response (it ends our call with ``ResultInvalid``);
- a received CALL must be answered once, with a valid response;
- optional boot gating: before the station's boot is accepted, the CSMS answers other calls
  with ``SecurityError``.

Its two states, the outgoing-call slot and the station's boot, change only through the tables
in ``ocppkit/states.py``: each method works out which input it met, and ``_fire`` /
``_fire_boot`` take the table's transition (or raise on a pair the table lacks).

The same source is compiled by Cython into ``ocppkit._rpc_c`` (see setup.py); ``ocppkit.rpc``
picks one, as ``ocppkit.codec`` does for the codec.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, Literal

from ._base import Request, Response, SendPayload
from ._codec_cache import connection_codec, shared_codec
from .errors import ErrorCode, LocalProtocolError, OcppError, parse_error_code
from .events import (
    CallReceived,
    CallTimedOut,
    ErrorReceived,
    Event,
    LateResponse,
    ProtocolViolation,
    ResultErrorReceived,
    ResultInvalid,
    ResultReceived,
    SendReceived,
    UnmatchedResponse,
)
from .frames import CallError, MessageType, Send
from .states import (
    ACCEPTED,
    AWAITING,
    BOOT_INITIAL,
    BOOT_INITIAL_BOOTED,
    BOOT_INPUTS,
    BOOT_TRANSITIONS,
    CALL,
    DEADLINE,
    DEQUEUE,
    END,
    OTHER_STATUS,
    PENDING,
    REJECTED,
    RESPONSE,
    SLOT_INITIAL,
    SLOT_TRANSITIONS,
    STRAY,
    TRANSMIT,
    Action,
    Input,
    missing_transition,
)

__all__ = ["BOOT_TRANSITIONS", "SLOT_TRANSITIONS", "Connection", "Role"]

#: The side of a connection: ``"csms"`` or ``"station"`` (the charging station).
Role = Literal["csms", "station"]

#: Station-initiated actions a gating CSMS accepts while the boot is Pending: the results of
#: the CSMS's own requests (reports, logs, firmware, certificates) and what TriggerMessage asks.
DEFAULT_ALLOWED_WHILE_PENDING = frozenset(
    {
        "BootNotification",
        "Heartbeat",
        "StatusNotification",
        "NotifyReport",
        "NotifyMonitoringReport",
        "LogStatusNotification",
        "FirmwareStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "DiagnosticsStatusNotification",
        "SignedFirmwareStatusNotification",
    }
)

_LATE_IDS = 32  # how many timed-out ids are remembered to recognise late responses
# A frame that answers a call of ours, by message type: what its fault is reported as when it
# cannot be decoded (a CALLRESULTERROR answers a result we sent, never a call of ours).
_ANSWERS = {int(MessageType.CALLRESULT): "result", int(MessageType.CALLERROR): "error"}


#: Random bytes of the default id source's per-connection prefix (64 bits: 16 hex digits).
_ID_PREFIX_BYTES = 8


#: Generated payload class -> its action, for the request and the response classes connections
#: have met (``call`` and ``send_result`` read one dict, not the class's ``__ocpp__``); bounded,
#: though only classes with a matching ``__ocpp__`` (the generated ones, their subclasses) get in.
_REQUEST_ACTIONS: dict[type, str] = {}
_RESPONSE_ACTIONS: dict[type, str] = {}
_MAX_CLASSES = 4096


def _action_of(cls: type, role: str, known: dict[type, str]) -> str | None:
    """The action of ``cls`` if it is a generated payload class of ``role``, else None; learnt
    into ``known``."""
    info = getattr(cls, "__ocpp__", None)
    if info is None or info.role != role:
        return None
    if len(known) < _MAX_CLASSES:
        known[cls] = info.action
    return info.action  # type: ignore[no-any-return]


def _status(response: object) -> str:
    status = getattr(response, "status", None)
    return str(getattr(status, "value", status))


class _Outgoing:
    __slots__ = ("action", "data", "request", "unique_id")

    def __init__(self, unique_id: str, action: str, request: Request[Any], data: bytes) -> None:
        self.unique_id = unique_id
        self.action = action
        self.request = request
        self.data = data  # the encoded CALL until it goes on the wire (then b"")


class Connection:
    """One OCPP-J connection, either role, any version. Bytes in, events out; no I/O.

    ``Connection("csms", "2.0.1", clock=time.monotonic)``

    - ``receive_data(text)``: one WebSocket text message from the peer.
    - ``events()``: what happened (drains the event list).
    - ``call(request) -> unique_id``, ``send_result(unique_id, response)``,
      ``send_error(unique_id, code, ...)``, ``send(payload) -> unique_id`` (2.1 SEND).
    - ``data_to_send()``: the WebSocket text messages to write, in order (drains).
    - ``next_deadline()`` / ``handle_timeout()``: the only time-dependent part.

    Parameters:
        role: ``"csms"`` or ``"station"``: the side of the connection this object plays.
        version: the OCPP version of the connection: ``"1.6"``, ``"2.0.1"`` or ``"2.1"``.
        clock: returns the current time in seconds (e.g. ``time.monotonic``); read only to start
            and check the deadlines of our calls.
        ids: returns a new unique id (1 to 36 characters) for each CALL and SEND we make. By
            default (None) the connection numbers its messages after a random prefix drawn once
            per connection from ``os.urandom`` (64 bits): ``"<16 hex digits>-1"``, ``-2``, ...
            unique on the connection and not guessable from another connection's ids (see
            docs/rpc.md, "Message ids").
        call_timeout: seconds a CALL of ours waits for its answer, from the moment it goes on the
            wire, before :class:`ocppkit.CallTimedOut` (default 30).
        max_queued_calls: CALLs that may wait behind the outstanding one (default 64); one more
            raises :class:`ocppkit.LocalProtocolError`.
        max_pending_received: calls from the peer received and not yet answered (default 64);
            further ones are answered ``GenericError``.
        boot_gating: keep the boot rules: a CSMS answers ``SecurityError`` to the station's calls
            until its BootNotification is accepted (while it is Pending, the actions in
            ``allowed_while_pending`` pass) and refuses to call a station whose boot it rejected;
            a station whose boot was rejected refuses the CSMS's calls.
        allowed_while_pending: the station-initiated actions a gating CSMS accepts while the boot
            is Pending (by default BootNotification, Heartbeat, StatusNotification and the
            notifications that answer the CSMS's own requests).
        booted: the station was accepted on an earlier connection: the boot state starts as
            ``ACCEPTED``.
        max_frame_size: the codec's limit in bytes (default 1 MiB).
        max_depth: the codec's nesting limit for open values (default 32).
        policy: an :class:`ocppkit.Policy` relaxing chosen rules on decoding, or None (strict).
        codec: a ready :class:`ocppkit.Codec` of the same version, shared by many connections;
            ``max_frame_size``, ``max_depth`` and ``policy`` are then not used.

    Attributes:
        bad_messages: how many times the peer broke the protocol on this connection (the
            adapters close the connection after a limit). ``role`` and ``version`` are kept as
            given.
    """

    __slots__ = (
        "_allowed_pending",
        "_boot",
        "_clock",
        "_codec",
        "_deadline",
        "_encode_call",
        "_encode_result",
        "_events",
        "_gating",
        "_id_count",
        "_id_prefix",
        "_ids",
        "_late",
        "_max_pending",
        "_max_queue",
        "_outbox",
        "_outstanding",
        "_queue",
        "_receive",
        "_received",
        "_slot",
        "_timeout",
        "bad_messages",
        "role",
        "version",
    )

    def __init__(
        self,
        role: Role,
        version: str,
        *,
        clock: Callable[[], float],
        ids: Callable[[], str] | None = None,
        call_timeout: float = 30.0,
        max_queued_calls: int = 64,
        max_pending_received: int = 64,
        boot_gating: bool = False,
        allowed_while_pending: frozenset[str] = DEFAULT_ALLOWED_WHILE_PENDING,
        booted: bool = False,
        max_frame_size: int = 1 << 20,
        max_depth: int = 32,
        policy: Any = None,
        codec: Any = None,
    ) -> None:
        if role not in ("csms", "station"):
            raise ValueError(f"role: expected 'csms' or 'station', got {role!r}")
        if not callable(clock):
            raise TypeError("clock: expected a callable returning seconds (e.g. time.monotonic)")
        if ids is not None and not callable(ids):
            raise TypeError("ids: expected a callable returning unique id strings, or None")
        if not (isinstance(call_timeout, (int, float)) and call_timeout > 0):
            raise ValueError(f"call_timeout: expected seconds > 0, got {call_timeout!r}")
        for name, value in (("max_queued_calls", max_queued_calls), ("max_pending_received", max_pending_received)):
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
        self.role = role
        self.version = version
        if codec is not None:
            if getattr(codec, "version", None) != version:
                raise ValueError(f"codec: expected an ocppkit.Codec for {version!r}")
            self._codec = connection_codec(codec)
        else:
            self._codec = shared_codec(version, max_frame_size, max_depth, policy)
        # The codec's entry points, bound once per codec: a call, not a method lookup, per frame.
        self._receive, self._encode_call, self._encode_result = self._codec._entry_points
        self._clock = clock
        self._ids = ids
        self._id_prefix: str | None = None  # the default source's prefix, drawn on first use
        self._id_count = 0
        self._timeout = float(call_timeout)
        self._max_queue = max_queued_calls
        self._max_pending = max_pending_received
        self._gating = boot_gating
        self._allowed_pending = allowed_while_pending
        # The two states, changed only by _fire and _fire_boot (ocppkit/states.py).
        self._slot = SLOT_INITIAL
        self._boot = BOOT_INITIAL_BOOTED if booted else BOOT_INITIAL
        # Containers are created on first use: an idle connection stays small.
        self._outstanding: _Outgoing | None = None
        self._deadline: float | None = None
        self._queue: list[_Outgoing] | None = None
        self._received: dict[str, str] | None = None  # unique id -> action, calls we must answer
        self._late: list[tuple[str, str]] | None = None  # (unique id, action) of timed-out calls
        self._events: list[Event] | None = None
        self._outbox: list[bytes] | None = None
        self.bad_messages = 0

    def __repr__(self) -> str:
        return f"<Connection {self.role} {self.version} slot={self._slot} boot={self._boot}>"

    # ------------------------------------------------------------ properties

    @property
    def slot(self) -> str:
        """``"IDLE"`` or ``"AWAITING"``: whether a CALL of ours is outstanding."""
        return self._slot

    @property
    def boot_state(self) -> str:
        """``"UNKNOWN"``, ``"PENDING"``, ``"ACCEPTED"`` or ``"REJECTED"``."""
        return self._boot

    @property
    def queued_calls(self) -> int:
        """CALLs of ours waiting behind the outstanding one."""
        return len(self._queue) if self._queue else 0

    @property
    def pending_received(self) -> int:
        """Calls received from the peer and not answered yet."""
        return len(self._received) if self._received else 0

    # ------------------------------------------------------------ draining

    def events(self) -> Iterator[Event]:
        """The events so far, forgotten by the connection (events that happen while you iterate,
        e.g. because you answer a call, come with the next ``events()``)."""
        events, self._events = self._events, None
        return iter(events) if events else iter(())

    @property
    def has_data_to_send(self) -> bool:
        """Whether ``data_to_send()`` would return anything."""
        return bool(self._outbox)

    def data_to_send(self) -> list[bytes]:
        """The WebSocket text messages to write, in order; the outbox is then empty."""
        out, self._outbox = self._outbox, None
        return out or []

    def _emit(self, event: Event) -> None:
        if self._events is None:
            self._events = [event]
        else:
            self._events.append(event)

    def _write(self, data: bytes) -> None:
        if self._outbox is None:
            self._outbox = [data]
        else:
            self._outbox.append(data)

    def _fire(self, event: Input) -> Action:
        """Take the slot's transition for ``event``: the table's next state becomes the state;
        returns the table's action, for the caller to carry out."""
        try:
            action, self._slot = SLOT_TRANSITIONS[(self._slot, event)]
        except KeyError:
            raise missing_transition("SLOT_TRANSITIONS", self._slot, event, self.version) from None
        return action

    def _fire_boot(self, status: str) -> None:
        """Take the boot's transition for a BootNotification answered with ``status``."""
        event = BOOT_INPUTS.get(status, OTHER_STATUS)
        state = BOOT_TRANSITIONS.get((self._boot, event))
        if state is None:
            raise missing_transition("BOOT_TRANSITIONS", self._boot, event, self.version)
        self._boot = state

    # ------------------------------------------------------------ outgoing

    def call(self, request: Request[Any]) -> str:
        """Send (or queue) a CALL; returns its unique id. Raises LocalProtocolError when the
        payload is invalid, the queue is full, or (gating) the station's boot was rejected."""
        cls = type(request)
        action = _REQUEST_ACTIONS.get(cls)
        if action is None:
            action = _action_of(cls, "request", _REQUEST_ACTIONS)
            if action is None:
                raise TypeError(f"call: expected a generated <Action>Request, got {cls.__name__}")
        if self._gating and self.role == "csms" and self._boot is REJECTED:
            raise LocalProtocolError(
                ErrorCode.SECURITY_ERROR,
                "The station's boot was rejected: the CSMS must not initiate calls",
                {"rule": "bootGating"},
                version=self.version,
            )
        queued = len(self._queue) if self._queue else 0
        if self._slot is AWAITING and queued >= self._max_queue:
            raise LocalProtocolError(
                ErrorCode.GENERIC_ERROR,
                f"More than {self._max_queue} calls queued",
                {"rule": "maxQueuedCalls", "limit": self._max_queue},
                version=self.version,
            )
        unique_id = self._next_id()
        # Validated and encoded once, here, whether it goes out now or from the queue.
        out = _Outgoing(unique_id, action, request, self._encode_call(unique_id, action, request))
        if self._fire(CALL) is TRANSMIT:
            self._transmit(out)
        else:  # ENQUEUE
            if self._queue is None:
                self._queue = []
            self._queue.append(out)
        return unique_id

    def _next_id(self) -> str:
        """A new message id: from the default source (prefix and counter, unique by
        construction), or from the injected one, checked."""
        if self._ids is None:
            self._id_count += 1
            prefix = self._id_prefix
            if prefix is None:
                prefix = self._id_prefix = os.urandom(_ID_PREFIX_BYTES).hex() + "-"
            return f"{prefix}{self._id_count}"
        unique_id = self._ids()
        if not isinstance(unique_id, str) or not 1 <= len(unique_id) <= 36:
            raise LocalProtocolError(
                ErrorCode.GENERIC_ERROR,
                "The id source returned something other than a string of 1 to 36 characters",
                {"rule": "messageId"},
                version=self.version,
            )
        if self._is_in_flight(unique_id):
            raise LocalProtocolError(
                ErrorCode.GENERIC_ERROR,
                "The id source repeated an id still in use",
                {"rule": "messageId"},
                version=self.version,
            )
        return unique_id

    def _is_in_flight(self, unique_id: str) -> bool:
        if self._outstanding is not None and self._outstanding.unique_id == unique_id:
            return True
        return bool(self._queue) and any(q.unique_id == unique_id for q in self._queue)  # type: ignore[union-attr]

    def _transmit(self, out: _Outgoing) -> None:
        self._outstanding = out
        self._deadline = self._clock() + self._timeout
        self._write(out.data)
        out.data = b""

    def _dequeue(self) -> None:
        """After a call ended (the slot is IDLE): send the oldest queued call, if any."""
        if self._queue:
            self._fire(DEQUEUE)  # TRANSMIT
            nxt = self._queue.pop(0)
            if not self._queue:
                self._queue = None
            self._transmit(nxt)

    def send_result(self, unique_id: str, response: Response) -> None:
        """Answer the received call ``unique_id``.

        An invalid response is never sent: the peer gets an ``InternalError`` CALLERROR instead
        and ``LocalProtocolError`` is raised, naming the field.
        """
        action = self._take_received(unique_id)
        cls = type(response)
        try:
            if _RESPONSE_ACTIONS.get(cls) != action and _action_of(cls, "response", _RESPONSE_ACTIONS) != action:
                raise LocalProtocolError(
                    ErrorCode.GENERIC_ERROR,
                    f"send_result: expected a {action}Response for call {unique_id!r}, got {type(response).__name__}",
                    {"rule": "payload"},
                    version=self.version,
                )
            data = self._encode_result(unique_id, response)
        except LocalProtocolError:
            self._write(self._codec.encode(CallError(unique_id, ErrorCode.INTERNAL_ERROR, "Internal error", {})))
            raise
        self._write(data)
        if action == "BootNotification" and self.role == "csms":
            self._fire_boot(_status(response))

    def send_error(
        self,
        unique_id: str,
        code: ErrorCode | str,
        description: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Answer the received call ``unique_id`` with a CALLERROR (spelt for the version)."""
        if isinstance(code, str) and not isinstance(code, ErrorCode) and parse_error_code(code) is None:
            raise LocalProtocolError(
                ErrorCode.GENERIC_ERROR,
                f"code: {code!r} is not an OCPP error code",
                {"rule": "errorCode"},
                version=self.version,
            )
        frame = CallError(unique_id, code, description, details if details is not None else {})
        data = self._codec.encode(frame)  # validates description length, details type
        self._take_received(unique_id)
        self._write(data)

    def _take_received(self, unique_id: str) -> str:
        action = self._received.pop(unique_id, None) if self._received else None
        if action is None:
            raise LocalProtocolError(
                ErrorCode.GENERIC_ERROR,
                f"No call {unique_id!r} to answer: never received, or already answered",
                {"rule": "answer"},
                version=self.version,
            )
        return action  # the emptied dict stays: the next call reuses it

    def send(self, payload: SendPayload) -> str:
        """2.1: send an unconfirmed message (SEND) now, whatever is outstanding; returns its id."""
        info = getattr(type(payload), "__ocpp__", None)
        if info is None or info.role != "send":
            raise TypeError(f"send: expected a SEND payload class, got {type(payload).__name__}")
        unique_id = self._next_id() if self._ids is None else self._ids()
        if not isinstance(unique_id, str) or not 1 <= len(unique_id) <= 36 or self._is_in_flight(unique_id):
            raise LocalProtocolError(
                ErrorCode.GENERIC_ERROR,
                "Bad or repeated id from the id source",
                {"rule": "messageId"},
                version=self.version,
            )
        self._write(self._codec.encode(Send(unique_id, info.action, payload)))
        return unique_id

    # ------------------------------------------------------------ time

    def next_deadline(self) -> float | None:
        """When ``handle_timeout`` should run next (clock time), or None if nothing waits."""
        return self._deadline

    def handle_timeout(self) -> None:
        """Time out the outstanding call if its deadline has passed (reads the clock)."""
        out, deadline = self._outstanding, self._deadline
        if out is None or deadline is None or self._clock() < deadline:
            return
        self._fire(DEADLINE)  # EXPIRE
        self._outstanding = self._deadline = None
        if self._late is None:
            self._late = []
        self._late.append((out.unique_id, out.action))
        if len(self._late) > _LATE_IDS:
            del self._late[0]
        self._emit(CallTimedOut(out.unique_id, out.action, out.request))
        self._dequeue()

    # ------------------------------------------------------------ incoming

    def receive_data(self, data: bytes | str) -> None:
        """Process one WebSocket text message from the peer; see ``events()``."""
        out = self._outstanding
        try:
            # The frame's parts (ocppkit/_codec_common.py, Parts): (message type, id, a, b, c).
            kind, uid, a, b, c = self._receive(data, out.action if out is not None else None)
        except OcppError as exc:
            self._violation(exc)
            return
        if kind == 2:  # CALL: action, request, relaxations
            self._on_call(uid, a, b, c)
        elif kind == 3:  # CALLRESULT: -, response, relaxations
            self._on_result(uid, b, c)
        elif kind == 4:  # CALLERROR: code, description, details
            self._on_error(uid, a, b, c)
        elif kind == 5:  # CALLRESULTERROR: likewise
            self._emit(ResultErrorReceived(uid, a, b, c))
        else:  # SEND: action, payload, relaxations
            self._emit(SendReceived(uid, a, b, c))

    def _violation(self, exc: OcppError) -> None:
        uid = exc.unique_id
        kind = _ANSWERS.get(exc.message_type) if exc.message_type is not None else None
        if kind is not None and uid is not None:
            # A CALLRESULT or CALLERROR that cannot be decoded is still a response: with our
            # call's id it ends the call, with another id it is dropped, never answered.
            out = self._answered(uid, kind)
            if out is not None:
                # Our call got an invalid CALLRESULT or a broken CALLERROR (2.1 answers the first).
                self.bad_messages += 1
                if exc.reply is not None:
                    self._write(exc.reply)
                self._emit(ResultInvalid(out.unique_id, out.action, exc, out.request))
                self._dequeue()
            return
        self.bad_messages += 1
        if exc.reply is not None:
            self._write(exc.reply)
        self._emit(ProtocolViolation(exc))

    def _on_call(self, uid: str, action: str, request: Any, relaxations: Any) -> None:
        received = self._received
        if received is not None and uid in received:
            self._refuse(
                uid, ErrorCode.RPC_FRAMEWORK_ERROR, "A call with this id is still being handled", "duplicateId"
            )
            return
        if self._gating and not self._boot_allows(action):
            self._refuse(uid, ErrorCode.SECURITY_ERROR, "Not allowed before the boot is accepted", "bootGating")
            return
        if received is None:
            received = self._received = {}
        elif len(received) >= self._max_pending:
            self._refuse(uid, ErrorCode.GENERIC_ERROR, "Too many calls in progress", "maxPendingReceived")
            return
        received[uid] = action
        self._emit(CallReceived(uid, action, request, relaxations))

    def _boot_allows(self, action: str) -> bool:
        if self._boot is ACCEPTED:
            return True
        if self.role == "station":
            return self._boot is not REJECTED  # a rejected station refuses the CSMS's calls
        if action == "BootNotification":
            return True
        return self._boot is PENDING and action in self._allowed_pending

    def _refuse(self, uid: str, code: ErrorCode, description: str, rule: str) -> None:
        exc = OcppError(code, description, {"rule": rule}, version=self.version, unique_id=uid)
        exc.reply = self._codec.encode(CallError(uid, code, exc.description, exc.details))
        self.bad_messages += 1
        self._write(exc.reply)
        self._emit(ProtocolViolation(exc))

    def _answered(self, uid: str | None, kind: str) -> _Outgoing | None:
        """A response came in: RESPONSE if it carries the outstanding call's id, else STRAY.
        Returns the call it ends (END), or None once it is reported dropped (DROP)."""
        out = self._outstanding
        if self._fire(RESPONSE if out is not None and uid == out.unique_id else STRAY) is END:
            self._outstanding = self._deadline = None
            return out
        self._unmatched(uid, kind)
        return None

    def _on_result(self, uid: str, response: Any, relaxations: Any) -> None:
        out = self._answered(uid, "result")
        if out is None:
            return
        self._emit(ResultReceived(out.unique_id, out.action, response, out.request, relaxations))
        if out.action == "BootNotification" and self.role == "station":
            self._fire_boot(_status(response))
        self._dequeue()

    def _on_error(self, uid: str, code: Any, description: Any, details: Any) -> None:
        out = self._answered(uid, "error")
        if out is None:
            return
        self._emit(ErrorReceived(out.unique_id, out.action, code, description, details, out.request))
        self._dequeue()

    def _unmatched(self, uid: str | None, kind: str) -> None:
        uid = uid if uid is not None else "-1"
        for late_id, action in self._late or ():
            if late_id == uid:
                self._emit(LateResponse(uid, action, kind))
                return
        self.bad_messages += 1
        self._emit(UnmatchedResponse(uid, kind))
