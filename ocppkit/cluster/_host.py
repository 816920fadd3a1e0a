"""What a cluster node needs of the CSMS it serves, and the registry's records.

The records (:class:`StationInfo`, :class:`ConnectionEvent`) and errors
(:class:`StationNotConnected`, :class:`VersionMismatch`) are those of
``ocppkit.adapters.registry`` (issue 13, part A). INTERIM: until that module is on main they are
defined here with exactly its fields; when it lands, this module imports them from there instead
(the one place to change) and the cluster's errors keep deriving from the same classes.

:class:`ClusterHost` is the part of ``CSMSServer`` that :class:`ocppkit.cluster.Node` uses: a
structural protocol, so the cluster package never imports the WebSocket adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .. import Request, Response

__all__ = ["ClusterHost", "ConnectionEvent", "StationInfo", "StationNotConnected", "VersionMismatch"]

R = TypeVar("R", bound=Response)


@dataclass(frozen=True)
class StationInfo:
    """A connected station, as a CSMS node (or the cluster) knows it.

    Attributes:
        identity: the station identity.
        version: the OCPP version of its connection.
        since: ``time.time()`` of the connection.
        boot_state: ``"UNKNOWN"``, ``"PENDING"``, ``"ACCEPTED"`` or ``"REJECTED"``.
        node: the name of the node holding the connection (None in a single unnamed process).
        remote_address: the station's address, when known.
    """

    identity: str
    version: str
    since: float
    boot_state: str
    node: str | None
    remote_address: str | None


@dataclass(frozen=True)
class ConnectionEvent:
    """A station connected, booted, disconnected or was replaced.

    Attributes:
        kind: ``"connected"``, ``"booted"``, ``"disconnected"`` or ``"replaced"``.
        station: the station's :class:`StationInfo`.
        at: ``time.time()`` of the event.
        reason: why (for example the close reason), or empty.
    """

    kind: str
    station: StationInfo
    at: float
    reason: str = ""


class StationNotConnected(ConnectionError):
    """No connection of the station is held here (nor, through a cluster, anywhere).

    Parameters:
        identity: the station identity (kept as ``identity``); the message names it escaped.
    """

    def __init__(self, identity: str) -> None:
        super().__init__(f"station {ascii(identity)} is not connected")
        self.identity = identity


class VersionMismatch(TypeError):
    """A call built for another OCPP version than the station's connection."""


class ClusterHost(Protocol):
    """What a :class:`~ocppkit.cluster.Node` uses of the CSMS it is attached to (``CSMSServer``
    has all of it)."""

    def events(self) -> AsyncIterator[ConnectionEvent]:
        """Every connection event from the moment of the call."""
        ...

    async def call_local(self, identity: str, request: Request[R], *, timeout: float | None = None) -> R:
        """Call a station held by this CSMS (``StationNotConnected`` otherwise)."""
        ...

    async def disconnect(self, identity: str, *, code: int = 1000, reason: str = "") -> bool:
        """Close this CSMS's connection of a station; whether there was one."""
        ...

    def add_listener(self, fn: Callable[[Any, Any], None]) -> None:
        """``fn(session, event)`` with every OCPP event of every session."""
        ...

    def remove_listener(self, fn: Callable[[Any, Any], None]) -> None:
        """Stop calling ``fn``."""
        ...

    def stations(self) -> list[StationInfo]:
        """This CSMS's live stations."""
        ...
