"""One CSMS across processes and machines: a cluster of CSMS nodes on Redis (docs/cluster.md).

``pip install "ocppkit[cluster]"``. :class:`Node` makes a ``CSMSServer`` a node of the cluster
(presence of its stations with a TTL, connection epochs as fencing tokens, a stream of calls for
its stations); :class:`Client` calls any station of the cluster from any process, lists the
stations, follows connection events and consumes what stations send in a consumer group.
"""

from __future__ import annotations

from ._client import Client, EventStream, MessageStream, StationMessage
from ._host import ClusterHost, ConnectionEvent, StationInfo, StationNotConnected, VersionMismatch
from ._node import Node
from ._protocol import (
    CallInterrupted,
    ClusterBusy,
    ClusterError,
    ClusterSettings,
    ClusterUnavailable,
    PresenceExpired,
    RemoteCallFailed,
)

__all__ = [
    "CallInterrupted",
    "Client",
    "ClusterBusy",
    "ClusterError",
    "ClusterHost",
    "ClusterSettings",
    "ClusterUnavailable",
    "ConnectionEvent",
    "EventStream",
    "MessageStream",
    "Node",
    "PresenceExpired",
    "RemoteCallFailed",
    "StationInfo",
    "StationMessage",
    "StationNotConnected",
    "VersionMismatch",
]
