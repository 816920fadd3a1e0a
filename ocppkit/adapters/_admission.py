"""The CSMS's decision before the WebSocket upgrade: the path and identity rules, HTTP Basic
(profiles 1 and 2) behind the :class:`~ocppkit.adapters.handshake.AuthThrottle`, the profile-3
certificate binding, the user's ``authenticate``; every refusal logged (escaped) and counted."""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from .handshake import Handshake, Refusal, Upgrade, identity_in_path, parse_basic

if TYPE_CHECKING:
    from .csms import CSMS

log = logging.getLogger("ocppkit")
#: the challenge of every 401 of profiles 1 and 2 (RFC 7235 §3.1: a 401 carries one)
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="ocpp", charset="UTF-8"'}


class Takeovers:
    """When each identity was last taken over by a new upgrade, for ``max_replacements`` per
    minute. The history outlives the sessions (a takeover followed by a clean close must still
    count), so it is bounded: entries older than the window go, and at most ``max_identities``
    identities are kept (the least recently taken over dropped first)."""

    __slots__ = ("_times", "limit", "max_identities", "window")

    def __init__(self, limit: int, window: float = 60.0, max_identities: int = 10_000) -> None:
        self.limit = limit
        self.window = window
        self.max_identities = max_identities
        self._times: collections.OrderedDict[str, collections.deque[float]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._times)

    def allowed(self, identity: str, now: float) -> bool:
        """Whether one more takeover of ``identity`` stays within the limit."""
        recent = self._times.get(identity)
        return recent is None or len(recent) < self.limit or now - recent[0] > self.window

    def record(self, identity: str, now: float) -> None:
        recent = self._times.pop(identity, None) or collections.deque(maxlen=self.limit)
        recent.append(now)
        self._times[identity] = recent  # the most recent last
        while self._times:
            oldest = next(iter(self._times.values()))
            if len(self._times) <= self.max_identities and now - oldest[-1] <= self.window:
                break
            self._times.popitem(last=False)


def refuse(
    server: CSMS,
    upgrade: Upgrade,
    status: int,
    reason: str,
    who: str,
    body: str,
    headers: dict[str, str] | None = None,
) -> Refusal:
    """An HTTP refusal of the handshake, logged (``who`` escaped) and counted by reason."""
    server.refusals[reason] += 1
    log.warning("refused station %s from %s: %s (HTTP %d)", ascii(who), upgrade.remote_address, reason, status)
    return Refusal(status, reason, body, headers or {})


async def admit(server: CSMS, upgrade: Upgrade) -> Refusal | str:
    """The refusal of this upgrade request, or the identity admitted."""
    offered = upgrade.subprotocols
    identity = identity_in_path(upgrade.path, server.path_prefix)
    if identity is None:
        return refuse(server, upgrade, 404, "path", upgrade.path, "Unknown charging station\n")
    if not server.identity_rule(identity, offered):
        return refuse(server, upgrade, 404, "identity", identity, "Unknown charging station\n")
    hs = Handshake(identity=identity, path=upgrade.path, remote_address=upgrade.remote_address, subprotocols=offered)
    if server.security_profile in (1, 2):
        user, secret = parse_basic(upgrade.authorization)
        if user is None or secret is None:
            return refuse(
                server,
                upgrade,
                401,
                "no-credentials",
                identity,
                "Authentication required\n",
                dict(BASIC_CHALLENGE),
            )
        if user != identity:
            return refuse(
                server,
                upgrade,
                401,
                "user-name",
                identity,
                "The user name must be the station identity\n",
                dict(BASIC_CHALLENGE),
            )
        hs.password_bytes = secret
        try:
            hs.password = secret.decode("utf-8")
        except UnicodeDecodeError:
            hs.password = None
    if server.security_profile == 3:
        hs.client_certificate = upgrade.client_certificate
        if not hs.client_certificate:
            return refuse(server, upgrade, 401, "no-certificate", identity, "A client certificate is required\n")
        if not server.certificate_rule(hs):
            return refuse(server, upgrade, 401, "certificate", identity, "The certificate is not this station's\n")
        if server.organization is not None and hs.certificate_organization() != server.organization:
            return refuse(
                server, upgrade, 401, "organization", identity, "The certificate's organization is not ours\n"
            )
    if server.authenticate is not None:
        refusal = await _authenticate(server, upgrade, hs)
        if refusal is not None:
            return refusal
    if identity in server.sessions:
        if server.duplicates == "reject":
            return refuse(server, upgrade, 409, "duplicate", identity, "This station is already connected\n")
        current = server.sessions.get(identity)
        silent = current is not None and current.received == 0  # a station speaks at once
        if not silent and not server._takeovers.allowed(identity, time.monotonic()):
            return refuse(server, upgrade, 409, "replacement-limit", identity, "Replaced too often\n")
    return identity


async def _authenticate(server: CSMS, upgrade: Upgrade, hs: Handshake) -> Refusal | None:
    """``authenticate`` behind the throttle: a refusal, or None to accept."""
    host = hs.remote_address[0] if isinstance(hs.remote_address, tuple) else str(hs.remote_address)
    keys = [("identity", hs.identity), ("address", host)]
    throttle, now = server.auth_throttle, time.monotonic()
    wait = throttle.locked(keys, now) if throttle is not None else 0.0
    if wait > 0:
        return refuse(
            server,
            upgrade,
            429,
            "throttled",
            hs.identity,
            "Too many failed attempts\n",
            {"Retry-After": str(int(wait) + 1)},
        )
    assert server.authenticate is not None
    try:
        verdict = server.authenticate(hs)
        if isinstance(verdict, Awaitable):
            verdict = await verdict
    except Exception:
        log.exception("authenticate raised for station %s from %s", ascii(hs.identity), host)
        return refuse(server, upgrade, 500, "authenticate-error", hs.identity, "Internal error\n")
    if verdict is True:
        if throttle is not None:
            throttle.succeeded(keys[0])
        return None
    if throttle is not None:
        throttle.failed(keys, now)
    if verdict is False:
        challenge = dict(BASIC_CHALLENGE) if server.security_profile in (1, 2) else None
        return refuse(server, upgrade, 401, "authentication", hs.identity, "Not authorized\n", challenge)
    return refuse(server, upgrade, int(verdict), "authenticate", hs.identity, "Refused\n")
