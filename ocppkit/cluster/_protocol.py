"""The cluster's data in Redis: key names, settings, the messages on the streams, the scripts.

No I/O here: the node and the client send what this module builds and read what it parses.

Keys (``prefix`` defaults to ``"ocppkit:"``; Redis must be one server or a primary with
replicas, not Redis Cluster: the scripts touch keys of several stations and nodes):

- ``{p}station:{identity}``: a hash (node, epoch, version, since, boot_state,
  remote_address) with a TTL of the node's ``presence_ttl``, refreshed by the node: the truth of
  who holds the station;
- ``{p}epoch:{identity}``: the connection counter (``INCR`` at each connection), the fencing
  token; no TTL (one small integer per identity ever seen);
- ``{p}last:{identity}``: the node that held the station, deleted when the station disconnects
  gracefully: a missing station key with this one present means the node's presence expired;
- ``{p}node:{node}``: the node is alive (TTL ``presence_ttl``); ``{p}stations:{node}``: its
  stations (identity -> epoch); ``{p}nodes``: the set of node names;
- ``{p}calls:{node}``: the stream of calls to the node's stations (group ``nodes``);
- ``{p}reply:{client}``: the list of results for one client (``RPUSH`` by the node, ``BLPOP``
  by the client);
- ``{p}messages``: the stream of what stations sent (``XADD MAXLEN ~``);
- channels ``{p}takeover`` (a newer epoch of a station) and ``{p}events`` (connection events).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
from dataclasses import dataclass
from typing import Any

import msgspec

from .. import Request, Response
from ..edition import EDITIONS
from ..errors import CallErrorResponse, CallTimeout, ErrorCode, LocalProtocolError, PayloadError
from ._host import ConnectionEvent, StationInfo, StationNotConnected, VersionMismatch

__all__ = [
    "CallInterrupted",
    "ClusterBusy",
    "ClusterError",
    "ClusterSettings",
    "ClusterUnavailable",
    "Keys",
    "PresenceExpired",
    "RemoteCallFailed",
]

log = logging.getLogger("ocppkit.cluster")
GROUP = "nodes"  # the consumer group of every node's call stream


@dataclass(frozen=True)
class ClusterSettings:
    """The bounds shared by :class:`~ocppkit.cluster.Node` and :class:`~ocppkit.cluster.Client`.

    Attributes:
        prefix: the prefix of every Redis key and channel (default ``"ocppkit:"``); one Redis
            database may hold several clusters with different prefixes.
        call_timeout: seconds a cluster call waits for the station's answer when the caller
            gives no ``timeout`` (default 30). The deadline travels with the call: the node
            answers a call whose deadline has passed with a timeout instead of sending it.
        max_stream_length: calls waiting at one node (queued in its stream, not yet answered)
            beyond which a new call is refused with :class:`ClusterBusy` (default 10,000): the
            stream is never trimmed, so no call is dropped silently.
        reply_ttl: seconds a result waits in a caller's reply list for the caller (default 60).
        messages_maxlen: the approximate length of the stream of what stations sent
            (``XADD MAXLEN ~``, default 100,000): a consumer group further behind than this loses
            the oldest messages.
        max_event_backlog: connection events kept for a slow reader of ``Client.events()``
            (default 1,000); older ones are dropped and counted in ``dropped``.
        op_timeout: seconds one Redis command may take before it fails (default 5).
        connect_timeout: seconds to open a connection to Redis (default 2).
    """

    prefix: str = "ocppkit:"
    call_timeout: float = 30.0
    max_stream_length: int = 10_000
    reply_ttl: float = 60.0
    messages_maxlen: int = 100_000
    max_event_backlog: int = 1_000
    op_timeout: float = 5.0
    connect_timeout: float = 2.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "prefix":
                if not isinstance(value, str):
                    raise TypeError(f"prefix: expected a str, got {type(value).__name__}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{f.name}: expected a number > 0, got {value!r}")
            elif f.type == "int" and not isinstance(value, int):
                raise ValueError(f"{f.name}: expected an int, got {value!r}")


class Keys:
    """The Redis key and channel names under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.nodes = prefix + "nodes"
        self.messages = prefix + "messages"
        self.takeover = prefix + "takeover"
        self.events = prefix + "events"

    def station(self, identity: str) -> str:
        return f"{self.prefix}station:{identity}"

    def epoch(self, identity: str) -> str:
        return f"{self.prefix}epoch:{identity}"

    def last(self, identity: str) -> str:
        return f"{self.prefix}last:{identity}"

    def node(self, node: str) -> str:
        return f"{self.prefix}node:{node}"

    def stations_of(self, node: str) -> str:
        return f"{self.prefix}stations:{node}"

    def calls(self, node: str) -> str:
        return f"{self.prefix}calls:{node}"

    def reply(self, client: str) -> str:
        return f"{self.prefix}reply:{client}"


# ------------------------------------------------------------------ errors


class ClusterError(Exception):
    """Base of the errors of the cluster itself (the station's own answers keep their types)."""


class ClusterUnavailable(ClusterError, ConnectionError):
    """Redis cannot be reached (or did not answer in ``op_timeout``): nothing was routed."""


class ClusterBusy(ClusterError):
    """The node holding the station has ``max_stream_length`` calls waiting, or the station has
    ``max_queued_calls`` queued at its node: the call was refused, not sent."""


class CallInterrupted(ClusterError):
    """The node stopped (or restarted) with the call unanswered: it may or may not have reached
    the station (a call never sent says so in its message)."""


class RemoteCallFailed(ClusterError):
    """The node failed on the call with an unexpected error (its type and message are in the
    message, escaped)."""


class PresenceExpired(StationNotConnected):
    """The node that held the station stopped refreshing its presence (it died, or lost Redis):
    the station is not reachable until it connects to a live node.

    Attributes:
        identity: the station identity.
        node: the node whose presence expired.
    """

    def __init__(self, identity: str, node: str) -> None:
        super().__init__(identity)
        self.node = node
        self.args = (
            f"station {ascii(identity)}: its node {ascii(node)} stopped refreshing its presence "
            "(the node died or lost Redis); the station is unreachable until it reconnects to a live node",
        )


# ------------------------------------------------------------------ records on the wire


async def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it to end, cancelling again if a library swallowed the
    cancellation (redis-py may turn one that lands inside a command into a connection error)."""
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        log.debug("a cluster task ended with %r", task.exception())


def stream_entries(got: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The entries of the one stream an ``XREADGROUP`` read (redis-py's reply, typed loosely)."""
    if not got:
        return []
    entries: list[tuple[bytes, dict[bytes, bytes]]] = list(got[0][1])
    return entries


def info_fields(info: StationInfo, node: str) -> list[str]:
    """The station hash fields after node and epoch, in the scripts' order."""
    return [info.version, repr(info.since), str(info.boot_state), str(info.remote_address or "")]


def parse_station(identity: str, raw: dict[bytes, bytes]) -> StationInfo:
    """A station hash read back as a :class:`StationInfo`."""
    get = {k.decode(): v.decode("utf-8", "surrogateescape") for k, v in raw.items()}
    return StationInfo(
        identity=identity,
        version=get.get("version", ""),
        since=float(get.get("since", "0") or 0),
        boot_state=get.get("boot_state", "UNKNOWN"),
        node=get.get("node") or None,
        remote_address=get.get("remote_address") or None,
    )


class _InfoWire(msgspec.Struct):
    identity: str
    version: str
    since: float
    boot_state: str
    node: str | None
    remote_address: str | None


class _EventWire(msgspec.Struct):
    kind: str
    station: _InfoWire
    at: float
    reason: str = ""


_EVENT_DECODER = msgspec.json.Decoder(_EventWire)


def encode_event(event: ConnectionEvent) -> bytes:
    s = event.station
    addr = None if s.remote_address is None else str(s.remote_address)
    wire = _InfoWire(s.identity, s.version, s.since, str(s.boot_state), s.node, addr)
    return msgspec.json.encode(_EventWire(event.kind, wire, event.at, event.reason))


def decode_event(data: bytes) -> ConnectionEvent:
    w = _EVENT_DECODER.decode(data)
    s = w.station
    return ConnectionEvent(
        w.kind, StationInfo(s.identity, s.version, s.since, s.boot_state, s.node, s.remote_address), w.at, w.reason
    )


class Reply(msgspec.Struct, omit_defaults=True):
    """A node's answer to one call: ``kind`` ``"ok"`` (payload), or an error kind with its text."""

    call: str
    kind: str  # ok | call_error | timeout | not_connected | version | busy | interrupted | local | payload | failed
    payload: msgspec.Raw = msgspec.Raw(b"null")
    code: str = ""
    description: str = ""
    details: dict[str, Any] = {}


REPLY_DECODER = msgspec.json.Decoder(Reply)


def request_class(version: str, action: str) -> type[Request[Any]]:
    """The generated request class of ``action`` in ``version`` (ValueError naming what is unknown)."""
    ed = EDITIONS.get(version)
    if ed is None:
        raise ValueError(f"version: unknown OCPP version {ascii(version)}")
    row = importlib.import_module(ed.package).ACTIONS.get(action)
    if row is None or row.response is None:
        raise ValueError(f"action: {ascii(action)} is no call of OCPP {version}")
    cls: type[Request[Any]] = row.request
    return cls


def response_class(version: str, action: str) -> type[Response]:
    """The generated response class of ``action`` in ``version``."""
    ed = EDITIONS[version]
    cls: type[Response] = importlib.import_module(ed.package).ACTIONS[action].response
    return cls


def error_reply(call: str, exc: BaseException, version: str) -> Reply:
    """What a node sends back for a call that failed with ``exc``."""
    if isinstance(exc, CallErrorResponse):
        return Reply(call, "call_error", code=exc.code, description=exc.description, details=exc.details)
    if isinstance(exc, (CallTimeout, TimeoutError)):
        return Reply(call, "timeout")
    if isinstance(exc, StationNotConnected):
        return Reply(call, "not_connected", description=str(exc))
    if isinstance(exc, VersionMismatch):
        versions = {"request": exc.request_version, "station": exc.station_version}
        return Reply(call, "version", description=str(exc), details=versions)
    if isinstance(exc, ClusterBusy):
        return Reply(call, "busy", description=str(exc))
    if isinstance(exc, CallInterrupted):
        return Reply(call, "interrupted", description=str(exc))
    if isinstance(exc, PayloadError):
        return Reply(call, "payload", code=exc.error_code.value, description=exc.description, details=exc.details)
    if isinstance(exc, LocalProtocolError):
        return Reply(call, "local", code=exc.error_code.value, description=exc.description, details=exc.details)
    if isinstance(exc, ConnectionError):
        return Reply(call, "not_connected", description=f"the connection closed before the answer: {exc}")
    return Reply(call, "failed", description=f"{type(exc).__name__}: {exc}"[:500])


def reply_error(reply: Reply, identity: str, action: str, version: str) -> Exception:
    """The exception a caller raises for an error reply (the same types a local call raises)."""
    kind = reply.kind
    if kind == "call_error":
        return CallErrorResponse(reply.code, reply.description, reply.details, version=version, unique_id=reply.call)
    if kind == "timeout":
        return CallTimeout(action, reply.call, version=version)
    if kind == "not_connected":
        return StationNotConnected(identity)
    if kind == "version":
        return VersionMismatch(
            identity, action, str(reply.details.get("request", version)), str(reply.details.get("station", "?"))
        )
    if kind == "busy":
        return ClusterBusy(reply.description)
    if kind == "interrupted":
        return CallInterrupted(reply.description)
    if kind in ("payload", "local"):
        code = ErrorCode(reply.code) if reply.code in ErrorCode._value2member_map_ else ErrorCode.GENERIC_ERROR
        cls = PayloadError if kind == "payload" else LocalProtocolError
        return cls(code, reply.description, reply.details, version=version, unique_id=reply.call)
    return RemoteCallFailed(f"station {ascii(identity)}: the node failed on {action}: {ascii(reply.description)}")


# ------------------------------------------------------------------ scripts (Lua, run by EVALSHA)

# ARGV: prefix, identity, node, presence ms, version, since, boot_state, remote_address -> epoch
CLAIM = """
local p, id, node, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local skey = p .. 'station:' .. id
local epoch = redis.call('INCR', p .. 'epoch:' .. id)
redis.call('DEL', skey)
redis.call('HSET', skey, 'node', node, 'epoch', epoch, 'version', ARGV[5], 'since', ARGV[6],
           'boot_state', ARGV[7], 'remote_address', ARGV[8])
redis.call('PEXPIRE', skey, ttl)
redis.call('SET', p .. 'last:' .. id, node, 'PX', ttl * 100)
redis.call('HSET', p .. 'stations:' .. node, id, epoch)
redis.call('PEXPIRE', p .. 'stations:' .. node, ttl)
redis.call('SET', p .. 'node:' .. node, '1', 'PX', ttl)
redis.call('SADD', p .. 'nodes', node)
redis.call('PUBLISH', p .. 'takeover', cjson.encode({identity = id, node = node, epoch = epoch}))
return epoch
"""

# ARGV: prefix, node, presence ms, n, then n times (identity, epoch, version, since, boot_state,
# remote_address) -> {the identities this node lost (a newer epoch on another node), then
# identity, epoch pairs of newer registrations by this node itself (adopted)}
REFRESH = """
local p, node, ttl, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local lost, adopt = {}, {}
local skeys = p .. 'stations:' .. node
redis.call('SET', p .. 'node:' .. node, '1', 'PX', ttl)
redis.call('SADD', p .. 'nodes', node)
for i = 0, n - 1 do
  local b = 5 + i * 6
  local id, epoch = ARGV[b], tonumber(ARGV[b + 1])
  local skey = p .. 'station:' .. id
  local cur = redis.call('HGET', skey, 'epoch')
  local write, islost = false, false
  if cur then
    cur = tonumber(cur)
    if cur == epoch then
      redis.call('HSET', skey, 'boot_state', ARGV[b + 4])
      redis.call('PEXPIRE', skey, ttl)
    elseif cur > epoch then
      if redis.call('HGET', skey, 'node') == node then
        adopt[#adopt + 1] = id  -- this node registered a newer connection of it: that one is ours
        adopt[#adopt + 1] = tostring(cur)
        epoch = cur
        redis.call('PEXPIRE', skey, ttl)
      else
        islost = true
      end
    else
      write = true
    end
  else
    local ekey = p .. 'epoch:' .. id
    local counter = tonumber(redis.call('GET', ekey) or '0')
    if counter > epoch then
      islost = true
    else
      if counter < epoch then redis.call('SET', ekey, epoch) end
      write = true
    end
  end
  if write then
    redis.call('DEL', skey)
    redis.call('HSET', skey, 'node', node, 'epoch', epoch, 'version', ARGV[b + 2], 'since', ARGV[b + 3],
               'boot_state', ARGV[b + 4], 'remote_address', ARGV[b + 5])
    redis.call('PEXPIRE', skey, ttl)
    redis.call('PUBLISH', p .. 'takeover', cjson.encode({identity = id, node = node, epoch = epoch}))
  end
  if islost then
    lost[#lost + 1] = id
    redis.call('HDEL', skeys, id)
  else
    redis.call('HSET', skeys, id, epoch)
    redis.call('SET', p .. 'last:' .. id, node, 'PX', ttl * 100)
  end
end
redis.call('PEXPIRE', skeys, ttl)
return {lost, adopt}
"""

# ARGV: prefix, node, graceful (1/0), n, then n times (identity, epoch)
RELEASE = """
local p, node, graceful, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
for i = 0, n - 1 do
  local id, epoch = ARGV[5 + i * 2], ARGV[6 + i * 2]
  local skey = p .. 'station:' .. id
  if redis.call('HGET', skey, 'epoch') == epoch then
    redis.call('DEL', skey)
    if graceful == '1' then redis.call('DEL', p .. 'last:' .. id) end
  end
  if redis.call('HGET', p .. 'stations:' .. node, id) == epoch then
    redis.call('HDEL', p .. 'stations:' .. node, id)
  end
end
return n
"""

# ARGV: prefix, identity, version, max stream length, then the call's fields (name, value)...
# -> {status, node, station version}; status: queued | absent | expired | version | busy
ROUTE = """
local p, id = ARGV[1], ARGV[2]
local rec = redis.call('HMGET', p .. 'station:' .. id, 'node', 'version')
local node = rec[1]
if not node then
  local last = redis.call('GET', p .. 'last:' .. id)
  if last and redis.call('EXISTS', p .. 'node:' .. last) == 0 then return {'expired', last, ''} end
  return {'absent', '', ''}
end
if redis.call('EXISTS', p .. 'node:' .. node) == 0 then return {'expired', node, ''} end
if rec[2] ~= ARGV[3] then return {'version', node, rec[2]} end
local stream = p .. 'calls:' .. node
if redis.call('XLEN', stream) >= tonumber(ARGV[4]) then return {'busy', node, rec[2]} end
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', stream, '*', unpack(fields))
return {'queued', node, rec[2]}
"""

# ARGV: reply list, reply ms, stream, group, entry id, reply -> 1: the answer and its
# acknowledgement in one step (XACK, then XDEL: the stream holds only unanswered calls)
ANSWER = """
redis.call('RPUSH', ARGV[1], ARGV[6])
redis.call('PEXPIRE', ARGV[1], ARGV[2])
redis.call('XACK', ARGV[3], ARGV[4], ARGV[5])
redis.call('XDEL', ARGV[3], ARGV[5])
return 1
"""

# ARGV: prefix -> flat list: identity, node, version, since, boot_state, remote_address, ...
LIST = """
local p = ARGV[1]
local out = {}
for _, node in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if redis.call('EXISTS', p .. 'node:' .. node) == 1 then
    for _, id in ipairs(redis.call('HKEYS', p .. 'stations:' .. node)) do
      local r = redis.call('HMGET', p .. 'station:' .. id, 'node', 'version', 'since', 'boot_state', 'remote_address')
      if r[1] == node then
        out[#out + 1] = id
        for j = 1, 5 do out[#out + 1] = r[j] end
      end
    end
  elseif redis.call('EXISTS', p .. 'stations:' .. node) == 0 then
    redis.call('SREM', p .. 'nodes', node)
  end
end
return out
"""
