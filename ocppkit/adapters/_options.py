"""What every session of a server or a station shares: :class:`SessionOptions`, one frozen
record, transport-neutral (``ocppkit.adapters.asyncio`` exports it), and the plumbing that lets a
server or station take its fields as keyword parameters and show them as attributes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from msgspec import UNSET

from ..policy import Policy

if TYPE_CHECKING:
    from .asyncio import Session

__all__ = ["FrameHook", "OptionAttributes", "SessionOptions", "merge_options"]

T = TypeVar("T")

#: ``on_frame(identity, direction, data)``: every message of a session as bytes, direction ``"in"``
#: (received, before decoding) or ``"out"`` (just before it is sent).
FrameHook = Callable[[str, str, bytes], None]

_COMPRESSIONS = ("deflate", None)


@dataclass(frozen=True)
class SessionOptions:
    """What every session of a server or a station shares, whatever the transport: one record
    that ``CSMSServer`` and ``ChargingStation`` take as ``options=`` (their keyword parameters of
    the same names fill it, and win over it) and hand to
    :func:`~ocppkit.adapters.asyncio.open_session` for each connection.

    ``options.replace(call_timeout=10)`` derives another. Each field is checked here, so a bad
    value fails when the record is made, naming the field, not at the first connection.

    Attributes:
        call_timeout: seconds a call of ours waits for the peer's answer, from when it goes on the
            wire, before :class:`ocppkit.CallTimeout` (default 30).
        max_frame_size: the largest message in bytes (default 1 MiB), enforced by the transport
            where it can and by the codec.
        max_bad_messages: protocol violations by the peer after which the session closes the
            transport (WebSocket close code 1008; default 20).
        max_queued_calls: calls of ours that may wait behind the outstanding one (default 64); one
            more raises :class:`ocppkit.LocalProtocolError`.
        max_pending_received: calls of the peer received and not yet answered (default 64);
            further ones are answered ``GenericError``.
        max_call_rate: calls a second the peer may make on average (default 20; 0: no limit), a
            token bucket holding ``max_call_burst`` calls. It counts only the calls the peer
            pipelines (already waiting when the session comes to read them, or arriving while
            another of its calls is unanswered): a peer that waits for each answer, as OCPP 2.x
            requires, is paced by the server and never refused, however fast it drains a queue. A
            counted call beyond the bucket is answered ``GenericError`` ("Rate limited") without
            reaching its handler. Only a flood meets the default.
        max_call_burst: calls the peer may make at once before ``max_call_rate`` applies (default
            50; 0: no limit).
        max_excess_calls: calls refused by the rate limit after which the session closes the
            transport (WebSocket close code 1008; default 100; 0: never close, only refuse).
        boot_gating: keep the boot rules of :class:`ocppkit.Connection` (a CSMS refuses a
            station's calls until its BootNotification is accepted; see docs/adapters.md).
        policy: an :class:`ocppkit.Policy` relaxing chosen rules when decoding the peer's messages.
        compression: ``"deflate"`` negotiates permessage-deflate (RFC 7692) where the transport
            can; None turns it off.
        ping_interval: seconds between keep-alive pings where the transport sends them (the
            websockets adapter does); None or 0 disables them.
        ping_timeout: seconds to wait for the answer to a ping before the connection is taken
            for dead and closed, waiting at most as long again (10 s at most) for the closing
            handshake (default 20; a silent network partition is noticed within
            ``ping_interval + 2 * ping_timeout``); None waits for ever.
        send_timeout: seconds the session waits for the transport to take a message while the
            peer reads nothing (its receive window and our send buffer are full) before it aborts
            the connection (default 30; None: wait for ever). A peer that never reads cannot hold
            the session's memory or its handlers.
        accept_binary: take binary WebSocket frames as OCPP-J messages (default False: OCPP-J
            sends text frames, and a binary one closes the connection with 1003, as RFC 6455
            §7.4.1 has it). A text frame that is not UTF-8 always closes it with 1007 (§8.1).
        on_event: ``on_event(session, event)``, with every event of the connection, before the
            session acts on it (a plain function).
        on_frame: ``on_frame(identity, direction, data)``, with every message as bytes; direction
            ``"in"`` (before decoding) or ``"out"`` (just before sending).
    """

    call_timeout: float = 30.0
    max_frame_size: int = 1 << 20
    max_bad_messages: int = 20
    max_queued_calls: int = 64
    max_pending_received: int = 64
    max_call_rate: float = 20.0
    max_call_burst: int = 50
    max_excess_calls: int = 100
    boot_gating: bool = False
    policy: Policy | None = None
    compression: str | None = "deflate"
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    send_timeout: float | None = 30.0
    accept_binary: bool = False
    on_event: Callable[[Session, Any], None] | None = None
    on_frame: FrameHook | None = None

    def __post_init__(self) -> None:
        if not (_seconds(self.call_timeout) and self.call_timeout > 0):
            raise ValueError(f"call_timeout: expected seconds > 0, got {self.call_timeout!r}")
        for name in ("max_frame_size", "max_bad_messages", "max_queued_calls", "max_pending_received"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{name}: expected an int >= 1, got {value!r}")
        if not (_seconds(self.max_call_rate) and self.max_call_rate >= 0 and self.max_call_rate < float("inf")):
            raise ValueError(f"max_call_rate: expected calls per second >= 0 (0: no limit), got {self.max_call_rate!r}")
        for name in ("max_call_burst", "max_excess_calls"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                raise ValueError(f"{name}: expected an int >= 0 (0: no limit), got {value!r}")
        if not isinstance(self.boot_gating, bool):
            raise TypeError(f"boot_gating: expected True or False, got {self.boot_gating!r}")
        if self.policy is not None and not isinstance(self.policy, Policy):
            raise TypeError(f"policy: expected an ocppkit.Policy or None, got {type(self.policy).__name__}")
        if self.compression not in _COMPRESSIONS:
            raise ValueError(f"compression: expected 'deflate' or None, got {self.compression!r}")
        if self.ping_interval is not None and not (_seconds(self.ping_interval) and self.ping_interval >= 0):
            raise ValueError(f"ping_interval: expected seconds >= 0 or None, got {self.ping_interval!r}")
        if self.ping_timeout is not None and not (_seconds(self.ping_timeout) and self.ping_timeout > 0):
            raise ValueError(f"ping_timeout: expected seconds > 0 or None, got {self.ping_timeout!r}")
        if self.send_timeout is not None and not (_seconds(self.send_timeout) and self.send_timeout > 0):
            raise ValueError(f"send_timeout: expected seconds > 0 or None, got {self.send_timeout!r}")
        if not isinstance(self.accept_binary, bool):
            raise TypeError(f"accept_binary: expected True or False, got {self.accept_binary!r}")
        for name in ("on_event", "on_frame"):
            hook = getattr(self, name)
            if hook is not None and not callable(hook):
                raise TypeError(f"{name}: expected a callable or None, got {type(hook).__name__}")

    def replace(self, **changes: Any) -> SessionOptions:
        """A copy with the given fields changed (``dataclasses.replace``, checked the same way)."""
        return dataclasses.replace(self, **changes)


def _seconds(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_DEFAULT = SessionOptions()


def merge_options(options: SessionOptions | None, **given: Any) -> SessionOptions:
    """``options`` (default ``SessionOptions()``) with the keyword parameters that were given
    (those not ``UNSET``) written over it."""
    if options is None:
        options = _DEFAULT
    elif not isinstance(options, SessionOptions):
        raise TypeError(f"options: expected an ocppkit.adapters.asyncio.SessionOptions, got {type(options).__name__}")
    changes = {name: value for name, value in given.items() if value is not UNSET}
    return options.replace(**changes) if changes else options


class _Option(Generic[T]):
    """A class attribute reading (and writing) one field of the instance's ``options``."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Option[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(obj.options, self.name)  # type: ignore[attr-defined]

    def __set__(self, obj: Any, value: T) -> None:
        obj.options = obj.options.replace(**{self.name: value})


class OptionAttributes:
    """A server's or station's ``options`` fields, also as attributes of the same names
    (``csms.call_timeout``); setting one replaces ``options`` (checked), for the next connections."""

    options: SessionOptions
    call_timeout = _Option[float]()
    max_frame_size = _Option[int]()
    max_bad_messages = _Option[int]()
    max_queued_calls = _Option[int]()
    max_pending_received = _Option[int]()
    max_call_rate = _Option[float]()
    max_call_burst = _Option[int]()
    max_excess_calls = _Option[int]()
    boot_gating = _Option[bool]()
    policy = _Option["Policy | None"]()
    compression = _Option["str | None"]()
    ping_interval = _Option["float | None"]()
    ping_timeout = _Option["float | None"]()
    send_timeout = _Option["float | None"]()
    accept_binary = _Option[bool]()
    on_event = _Option["Callable[[Session, Any], None] | None"]()
    on_frame = _Option["FrameHook | None"]()
