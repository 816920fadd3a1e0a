"""What a cluster node needs of the CSMS it serves.

The records (:class:`StationInfo`, :class:`ConnectionEvent`) and errors
(:class:`StationNotConnected`, :class:`VersionMismatch`) are the registry's
(``ocppkit.adapters.registry``, which imports neither asyncio's WebSocket libraries nor the
server), re-exported here so that a process with only ``ocppkit.cluster`` has them.

:class:`ClusterHost` is the part of ``CSMSServer`` that :class:`ocppkit.cluster.Node` uses: a
structural protocol, so the cluster package never imports the WebSocket adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar

from .. import Request, Response
from ..adapters.registry import ConnectionEvent, StationInfo, StationNotConnected, VersionMismatch

__all__ = ["ClusterHost", "ConnectionEvent", "StationInfo", "StationNotConnected", "VersionMismatch"]

R = TypeVar("R", bound=Response)


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
