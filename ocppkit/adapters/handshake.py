"""What a CSMS learns about a station before the WebSocket upgrade, and the security-profile rules.

The station identity in the URL path, HTTP Basic authentication (security profiles 1 and 2),
the :class:`Handshake` an ``authenticate`` hook sees, and the TLS context checks of profiles
2 and 3. No I/O here: :mod:`ocppkit.adapters.websockets` uses these and re-exports the public ones.
"""

from __future__ import annotations

import base64
import binascii
import ssl
import string
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# What users see (re-exported by ocppkit.adapters.websockets); parse_basic and tls_context_check
# are the websockets adapter's helpers.
__all__ = [
    "AuthThrottle",
    "Authenticate",
    "CertificateRule",
    "Handshake",
    "IdentityRule",
    "basic_auth_header",
    "common_name_is_identity",
    "default_identity_rule",
    "identifier_string_rule",
    "identity_from_path",
    "identity_in_path",
    "lenient_identity_rule",
    "Refusal",
    "Upgrade",
]


def identity_from_path(path: str) -> str | None:
    """The station identity: the last segment of the URL path, percent-decoded (RFC 3986).

    None when it is empty, longer than 48 characters, or holds ``:`` (the Basic-auth separator).
    """
    raw = path.split("?", 1)[0].rsplit("/", 1)[-1]
    identity = urllib.parse.unquote(raw)
    if not identity or len(identity) > 48 or ":" in identity:
        return None
    return identity


def identity_in_path(path: str, prefix: str = "/") -> str | None:
    """The identity a CSMS reads from an upgrade request's ``path``: the path (without its query)
    must be ``prefix`` followed by exactly one segment, which is percent-decoded as UTF-8
    (RFC 3986). None otherwise: another prefix, more segments (``/a/X`` when the prefix is
    ``/``), an empty segment, or bytes that are not UTF-8. The identity rules judge the rest."""
    raw = path.split("?", 1)[0]
    if not raw.startswith(prefix):
        return None
    segment = raw[len(prefix) :]
    if not segment or "/" in segment:
        return None
    try:
        return urllib.parse.unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return None


_IDENTIFIER_CHARACTERS = frozenset(string.ascii_letters + string.digits + "*-_=+|@.")
#: The subprotocols whose editions define the identity as an identifierString (OCPP 2.x).
_IDENTIFIER_STRING_SUBPROTOCOLS = frozenset({"ocpp2.0.1", "ocpp2.1"})


def identifier_string_rule(identity: str) -> bool:
    """OCPP 2.x: an identifierString of 1 to 48 characters, letters, digits and ``* - _ = + | @ .``
    (``:`` excluded: it separates the Basic-auth user name), and not ``.`` or ``..``."""
    return 0 < len(identity) <= 48 and _IDENTIFIER_CHARACTERS.issuperset(identity) and identity not in (".", "..")


def lenient_identity_rule(identity: str) -> bool:
    """OCPP 1.6 defines no identity syntax and real stations use spaces and more (``RDAM 123``):
    1 to 48 printable characters (no control characters, so no CR, LF, NUL or terminal escape),
    no ``/`` (after percent-decoding) and no ``:``, and not ``.`` or ``..``."""
    return (
        0 < len(identity) <= 48
        and identity.isprintable()
        and "/" not in identity
        and ":" not in identity
        and identity not in (".", "..")
    )


def default_identity_rule(identity: str, subprotocols: Sequence[str]) -> bool:
    """:func:`identifier_string_rule` when the station offers only OCPP 2.x subprotocols, else
    :func:`lenient_identity_rule` (an offer including 1.6, or none the CSMS knows)."""
    if subprotocols and _IDENTIFIER_STRING_SUBPROTOCOLS.issuperset(subprotocols):
        return identifier_string_rule(identity)
    return lenient_identity_rule(identity)


#: identity_rule(identity, offered_subprotocols) -> True when the (percent-decoded) identity may
#: connect; False refuses with HTTP 404 before the upgrade.
IdentityRule = Callable[[str, Sequence[str]], bool]


def basic_auth_header(identity: str, password: str | bytes) -> str:
    """``Basic base64(identity:password)``; pass bytes for a 1.6 AuthorizationKey used raw."""
    secret = password if isinstance(password, bytes) else password.encode()
    return "Basic " + base64.b64encode(identity.encode() + b":" + secret).decode("ascii")


@dataclass
class Handshake:
    """What the server knows about a station before the upgrade, for ``authenticate``.

    Attributes:
        identity: the station identity, from the last segment of the URL path.
        path: the request path as received.
        password_bytes: the Basic-auth password as received (raw bytes); profiles 1 and 2.
        password: the same password as text, when it decodes as UTF-8.
        client_certificate: the TLS client certificate (``ssl.SSLSocket.getpeercert()`` form),
            profile 3.
        subprotocols: the subprotocols the station offered, in its order.
        remote_address: the peer's address, as the socket reports it.
    """

    identity: str
    path: str
    #: The Basic-auth password as received (raw bytes) and as text when it decodes as UTF-8.
    password_bytes: bytes | None = None
    password: str | None = None
    #: The TLS client certificate (``ssl.SSLSocket.getpeercert()`` form), profile 3.
    client_certificate: dict[str, Any] | None = None
    subprotocols: list[str] = field(default_factory=list)
    remote_address: Any = None

    def certificate_common_name(self) -> str | None:
        """The commonName (CN) of the client certificate's subject (profile 3), or None."""
        return self._subject("commonName")

    def certificate_organization(self) -> str | None:
        """The organizationName (O) of the client certificate's subject (profile 3), or None."""
        return self._subject("organizationName")

    def _subject(self, name: str) -> str | None:
        for rdn in (self.client_certificate or {}).get("subject", ()):
            for key, value in rdn:
                if key == name:
                    return str(value)
        return None


def common_name_is_identity(handshake: Handshake) -> bool:
    """The default profile-3 binding: the client certificate's CN equals the station identity
    (exactly, case included)."""
    return handshake.certificate_common_name() == handshake.identity


#: certificate_rule(handshake) -> True when the (verified) client certificate may speak for
#: ``handshake.identity``; profile 3.
CertificateRule = Callable[[Handshake], bool]


#: authenticate(handshake) -> True to accept, False for 401, or an HTTP status code (e.g. 404)
Authenticate = Callable[[Handshake], "bool | int | Awaitable[bool | int]"]


def tls_context_check(context: ssl.SSLContext | None, profile: int, server: bool) -> ssl.SSLContext | None:
    """``context`` checked for security ``profile`` (TLS 1.2 at least; profile 3 servers verify
    client certificates), or None for the plain profiles; ValueError naming what is wrong."""
    if profile < 2:
        if context is not None:
            raise ValueError(f"security_profile {profile} is plain ws://: do not pass an ssl context")
        return None
    if context is None:
        raise ValueError(f"security_profile {profile} needs an ssl.SSLContext (TLS)")
    if context.minimum_version < ssl.TLSVersion.TLSv1_2:
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # OCPP: TLS 1.2 or newer only
    if profile == 3 and server and context.verify_mode != ssl.CERT_REQUIRED:
        raise ValueError("security_profile 3 needs ssl_context.verify_mode = ssl.CERT_REQUIRED (client certificates)")
    return context


def parse_basic(value: str) -> tuple[str | None, bytes | None]:
    """The user name and raw password of an ``Authorization: Basic ...`` header value, or Nones."""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None, None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None, None
    user, sep, secret = raw.partition(b":")
    if not sep:
        return None, None
    try:
        return user.decode("utf-8"), secret
    except UnicodeDecodeError:
        return None, None


@dataclass
class AuthThrottle:
    """Slows down password guessing: after ``identity_failures`` failed handshakes of one
    identity (or ``address_failures`` from one source address) that key is refused (HTTP 429,
    without asking ``authenticate``) for ``lockout`` seconds, doubling with every further failure
    up to ``max_lockout``. A success clears the identity's count (not the address's). The table is
    bounded: an entry is forgotten ``forget_after`` seconds after its last failure, and at most
    ``max_entries`` are kept (the least recently failed go first). Clock-free: callers pass ``now``.

    Attributes:
        identity_failures: failures of one identity before it is refused for a while (default 3).
        address_failures: failures from one source address before it is (default 20).
        lockout: seconds of the first refusal (default 1.0); doubles with each further failure.
        max_lockout: the longest refusal, in seconds (default 300).
        forget_after: seconds after its last failure that an entry is dropped (default 900).
        max_entries: the most identities and addresses remembered (default 10000).
    """

    identity_failures: int = 3
    address_failures: int = 20
    lockout: float = 1.0
    max_lockout: float = 300.0
    forget_after: float = 900.0
    max_entries: int = 10_000

    def __post_init__(self) -> None:
        # (kind, value) -> [failures, last failure, refused until]; least recently failed first
        self._table: OrderedDict[tuple[str, str], list[float]] = OrderedDict()

    def _limit(self, key: tuple[str, str]) -> int:
        return self.identity_failures if key[0] == "identity" else self.address_failures

    def _expire(self, now: float) -> None:
        while self._table:
            key, (_, last, _until) = next(iter(self._table.items()))
            if now - last < self.forget_after and len(self._table) <= self.max_entries:
                return
            del self._table[key]

    def locked(self, keys: Sequence[tuple[str, str]], now: float) -> float:
        """Seconds for which any of ``keys`` (``("identity", x)``, ``("address", host)``) stays
        refused; 0 when none is."""
        self._expire(now)
        return max((entry[2] - now for key in keys if (entry := self._table.get(key))), default=0.0) if keys else 0.0

    def failed(self, keys: Sequence[tuple[str, str]], now: float) -> None:
        """Count one failed handshake against each of ``keys``."""
        for key in keys:
            entry = self._table.pop(key, None) or [0.0, now, now]
            entry[0] += 1
            entry[1] = now
            over = entry[0] - self._limit(key)
            if over >= 0:
                entry[2] = now + min(self.max_lockout, self.lockout * 2**over)
            self._table[key] = entry  # most recently failed last
        self._expire(now)

    def succeeded(self, key: tuple[str, str]) -> None:
        """Forget the failures of ``key`` (the identity that just authenticated)."""
        self._table.pop(key, None)

    def __len__(self) -> int:
        return len(self._table)


@dataclass
class Upgrade:
    """What a transport adapter read from a station's HTTP upgrade request, for
    :meth:`ocppkit.adapters.csms.CSMS.admit`.

    Attributes:
        path: the request target as received (path and query).
        subprotocols: the ``Sec-WebSocket-Protocol`` values offered, in the station's order.
        authorization: the ``Authorization`` header ("" when absent).
        remote_address: the peer's address, as the transport reports it.
        client_certificate: the verified TLS client certificate in ``ssl.SSLSocket.getpeercert()``
            form (profile 3), or None.
    """

    path: str
    subprotocols: list[str] = field(default_factory=list)
    authorization: str = ""
    remote_address: Any = None
    client_certificate: dict[str, Any] | None = None


@dataclass(frozen=True)
class Refusal:
    """An HTTP answer refusing an upgrade, for the transport adapter to send.

    Attributes:
        status: the HTTP status (401, 404, 409, 429, 500, ...).
        reason: the counter of :attr:`ocppkit.adapters.csms.CSMS.refusals` it was counted under (``"identity"``, ...).
        body: a short text body.
        headers: extra response headers (``WWW-Authenticate``, ``Retry-After``).
    """

    status: int
    reason: str
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
