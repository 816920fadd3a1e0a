"""What a CSMS served by another server (ASGI, aiohttp) learns from the HTTP upgrade request,
and what it may believe of a TLS-terminating proxy in front of it.

- :class:`ProxyTrust`: the proxy addresses trusted (``trusted_proxies``) and the headers they set:
  the station's client certificate (PEM, URL-encoded as nginx's ``$ssl_client_escaped_cert``)
  or its verified subject (an RFC 4514 distinguished name, as nginx's ``$ssl_client_s_dn``), the
  proxy's verification verdict, the forwarded scheme and address. A header from any other
  address is ignored (and logged): a station reaching the server directly cannot claim a
  certificate.
- :func:`certificate_from_pem` and :func:`subject_from_dn`: either turned into the
  ``ssl.SSLSocket.getpeercert()`` form that ``Upgrade.client_certificate`` (and so
  ``Handshake``) holds.
- :func:`forwarded_upgrade`: the :class:`~ocppkit.adapters.handshake.Upgrade` of one request, or
  the refusal of a plain connection where the security profile needs TLS.

No I/O here.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._admission import refuse
from ._text import printable
from .handshake import Refusal, Upgrade

if TYPE_CHECKING:
    from .csms import CSMS

__all__ = ["ProxyTrust", "certificate_from_pem", "forwarded_upgrade", "front_door", "subject_from_dn"]

log = logging.getLogger("ocppkit")

Subject = tuple[tuple[tuple[str, str], ...], ...]

#: RFC 4514 attribute type names (and the common aliases of OpenSSL and nginx) -> the OpenSSL long
#: names that ``getpeercert()`` uses.
_DN_NAMES = {
    "CN": "commonName",
    "C": "countryName",
    "L": "localityName",
    "ST": "stateOrProvinceName",
    "S": "stateOrProvinceName",
    "O": "organizationName",
    "OU": "organizationalUnitName",
    "STREET": "streetAddress",
    "DC": "domainComponent",
    "UID": "userId",
    "SERIALNUMBER": "serialNumber",
    "EMAILADDRESS": "emailAddress",
    "E": "emailAddress",
    "SN": "surname",
    "GN": "givenName",
    "GIVENNAME": "givenName",
    "T": "title",
    "TITLE": "title",
    "POSTALCODE": "postalCode",
}
#: dotted OIDs -> the same long names (for certificates, and for DNs written with OIDs)
_OID_NAMES = {
    "2.5.4.3": "commonName",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.9": "streetAddress",
    "0.9.2342.19200300.100.1.25": "domainComponent",
    "0.9.2342.19200300.100.1.1": "userId",
    "2.5.4.5": "serialNumber",
    "1.2.840.113549.1.9.1": "emailAddress",
    "2.5.4.4": "surname",
    "2.5.4.42": "givenName",
    "2.5.4.12": "title",
    "2.5.4.17": "postalCode",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HEX = frozenset("0123456789abcdefABCDEF")


def subject_from_dn(dn: str) -> Subject:
    """An RFC 4514 distinguished name (``"CN=CS001,O=ACME CPO,C=NL"``, the most specific first,
    as nginx's ``$ssl_client_s_dn`` gives it) as a ``getpeercert()`` subject (certificate order:
    the least specific first). Escapes (``\\,``, ``\\2C``) and multi-valued RDNs (``+``) are
    read; a value in ``#hex`` (BER) form is not.

    Raises:
        ValueError: the string is no distinguished name (what is wrong, and where).
    """
    rdns: list[tuple[tuple[str, str], ...]] = []
    rdn: list[tuple[str, str]] = []
    i, n = 0, len(dn)
    if not dn.strip():
        raise ValueError("distinguished name: empty")
    while True:
        eq = dn.find("=", i)
        if eq < 0:
            raise ValueError(f"distinguished name: no '=' after position {i}")
        key = dn[i:eq].strip()
        name = _DN_NAMES.get(key.upper()) or _OID_NAMES.get(key)
        if name is None:
            if not key or not (key[0].isalpha() or key[0].isdigit()):
                raise ValueError(f"distinguished name: bad attribute type {key!r} at position {i}")
            name = key
        i = eq + 1
        while i < n and dn[i] == " ":
            i += 1
        if i < n and dn[i] == "#":
            raise ValueError(f"distinguished name: the #hex value of {key} is not supported")
        raw = bytearray()
        while i < n and dn[i] not in ",+;":
            c = dn[i]
            if c == "\\":
                pair = dn[i + 1 : i + 3]
                if len(pair) == 2 and _HEX.issuperset(pair):
                    raw.append(int(pair, 16))
                    i += 3
                    continue
                if i + 1 >= n:
                    raise ValueError(f"distinguished name: a lone '\\' ends the value of {key}")
                raw += dn[i + 1].encode()
                i += 2
                continue
            raw += c.encode()
            i += 1
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ValueError(f"distinguished name: the value of {key} is not UTF-8") from None
        rdn.append((name, value))
        if i >= n or dn[i] in ",;":
            rdns.append(tuple(rdn))
            rdn = []
        if i >= n:
            break
        i += 1
    return tuple(reversed(rdns))


def _name_form(name: Any) -> Subject:
    return tuple(
        tuple((_OID_NAMES.get(a.oid.dotted_string, a.oid.dotted_string), str(a.value)) for a in rdn)
        for rdn in name.rdns
    )


def _time_form(when: dt.datetime) -> str:
    return f"{_MONTHS[when.month - 1]} {when.day:2d} {when:%H:%M:%S} {when.year} GMT"


def certificate_from_pem(pem: str) -> dict[str, Any]:
    """A PEM certificate (as a TLS-terminating proxy forwards it: URL-encoded or plain) in the
    ``ssl.SSLSocket.getpeercert()`` form: subject, issuer, version, serialNumber, notBefore,
    notAfter and subjectAltName. Needs the ``cryptography`` package.

    Raises:
        ValueError: no PEM certificate could be read (the reason).
        ImportError: ``cryptography`` is not installed.
    """
    from cryptography import x509

    text = urllib.parse.unquote(pem) if "%" in pem else pem
    start = text.find("-----BEGIN CERTIFICATE-----")
    if start < 0:
        raise ValueError("client certificate: no '-----BEGIN CERTIFICATE-----' block")
    body = text[start:]
    # nginx's old $ssl_client_cert puts a tab before each continuation line; headers may fold
    lines = [line.strip() for line in body.replace("\t", "\n").splitlines() if line.strip()]
    try:
        cert = x509.load_pem_x509_certificate(("\n".join(lines) + "\n").encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"client certificate: not a readable PEM certificate ({exc})") from None
    serial = format(cert.serial_number, "X")
    found: dict[str, Any] = {
        "subject": _name_form(cert.subject),
        "issuer": _name_form(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": serial if len(serial) % 2 == 0 else "0" + serial,
        "notBefore": _time_form(cert.not_valid_before_utc),
        "notAfter": _time_form(cert.not_valid_after_utc),
    }
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return found
    names: list[tuple[str, str]] = [("DNS", v) for v in san.get_values_for_type(x509.DNSName)]
    names += [("IP Address", str(v)) for v in san.get_values_for_type(x509.IPAddress)]
    names += [("email", v) for v in san.get_values_for_type(x509.RFC822Name)]
    names += [("URI", v) for v in san.get_values_for_type(x509.UniformResourceIdentifier)]
    if names:
        found["subjectAltName"] = tuple(names)
    return found


def _networks(trusted: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    if isinstance(trusted, str):
        raise TypeError(f"trusted_proxies: expected a sequence of addresses, got the string {trusted!r}")
    found = []
    for entry in trusted:
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except (TypeError, ValueError):
            raise ValueError(f"trusted_proxies: {entry!r} is not an IP address or network") from None
    return tuple(found)


def _header_name(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not (isinstance(value, str) and value and value.isascii() and all(c.isalnum() or c in "-_" for c in value)):
        raise ValueError(f"{what}: expected an HTTP header name (letters, digits, '-'), got {value!r}")
    return value.lower()


class ProxyTrust:
    """Which peers are the TLS-terminating proxy, and which of their headers say what (the
    parameters of ``ASGIApp`` and ``WebSocketHandler`` of the same names)."""

    __slots__ = (
        "certificate_header",
        "forwarded_for_header",
        "forwarded_proto_header",
        "networks",
        "subject_header",
        "verify_header",
    )

    def __init__(
        self,
        trusted_proxies: Iterable[str],
        certificate_header: str | None,
        subject_header: str | None,
        verify_header: str | None,
        forwarded_proto_header: str | None,
        forwarded_for_header: str | None,
    ) -> None:
        self.networks = _networks(trusted_proxies)
        self.certificate_header = _header_name(certificate_header, "certificate_header")
        self.subject_header = _header_name(subject_header, "subject_header")
        self.verify_header = _header_name(verify_header, "verify_header")
        self.forwarded_proto_header = _header_name(forwarded_proto_header, "forwarded_proto_header")
        self.forwarded_for_header = _header_name(forwarded_for_header, "forwarded_for_header")
        if self.certificate_header and self.subject_header:
            raise ValueError("certificate_header and subject_header: configure one of them, not both")
        if (self.certificate_header or self.subject_header) and not self.networks:
            raise ValueError(
                "certificate_header/subject_header: name the proxy in trusted_proxies (the header is believed "
                "only from those addresses)"
            )
        if self.certificate_header:
            try:
                import cryptography  # noqa: F401
            except ImportError:
                raise ImportError(
                    "certificate_header needs the cryptography package (pip install cryptography), "
                    "or pass subject_header with the proxy's verified subject instead"
                ) from None

    @property
    def forwards_certificates(self) -> bool:
        return bool(self.certificate_header or self.subject_header)

    def trusts(self, host: Any) -> bool:
        """Whether ``host`` (the peer's IP address as text) is one of the trusted proxies."""
        if not self.networks or not isinstance(host, str):
            return False
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def certificate(self, headers: Mapping[str, Sequence[str]], identity_hint: str) -> dict[str, Any] | None:
        """The client certificate a trusted proxy forwarded, in ``getpeercert()`` form, or None
        (no header, the proxy's verdict is not ``SUCCESS``, or it is unreadable: logged)."""
        name = self.certificate_header or self.subject_header
        if name is None:
            return None
        values = headers.get(name, ())
        if not values:
            return None
        who = ascii(printable(identity_hint))
        if len(values) > 1:
            log.warning("station %s: %d %s headers (one expected); no certificate taken", who, len(values), name)
            return None
        if self.verify_header is not None:
            verdict = headers.get(self.verify_header, ())
            if list(verdict) != ["SUCCESS"]:
                shown = ascii(verdict[0][:40]) if verdict else "none"
                log.warning(
                    "station %s: the proxy's %s is %s, not SUCCESS; no certificate taken",
                    who,
                    self.verify_header,
                    shown,
                )
                return None
        try:
            if self.certificate_header:
                return certificate_from_pem(values[0])
            return {"subject": subject_from_dn(_latin1_utf8(values[0]))}
        except ValueError as exc:
            log.warning("station %s: the %s header is unreadable: %s", who, name, ascii(str(exc)[:200]))
            return None

    def proto_is_tls(self, headers: Mapping[str, Sequence[str]]) -> bool:
        """Whether the trusted proxy says the station reached it over TLS."""
        if self.forwarded_proto_header is None:
            return False
        values = headers.get(self.forwarded_proto_header, ())
        return bool(values) and values[-1].split(",")[-1].strip().lower() in ("https", "wss")

    def forwarded_for(self, headers: Mapping[str, Sequence[str]]) -> str | None:
        """The station's address as the trusted proxy saw it (the last ``X-Forwarded-For`` entry)."""
        if self.forwarded_for_header is None:
            return None
        values = headers.get(self.forwarded_for_header, ())
        if not values:
            return None
        last = values[-1].split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            return None


def front_door(
    csms: object,
    owner: str,
    trusted_proxies: Iterable[str],
    certificate_header: str | None,
    subject_header: str | None,
    verify_header: str | None,
    forwarded_proto_header: str | None,
    forwarded_for_header: str | None,
) -> ProxyTrust:
    """What a front door to a plain CSMS (``ASGIApp``, ``WebSocketHandler``, named ``owner``)
    checks of its ``csms`` (a CSMS that does not listen itself), and its :class:`ProxyTrust`."""
    from .csms import CSMS

    if not isinstance(csms, CSMS):
        raise TypeError(f"csms: expected an ocppkit.adapters.csms.CSMS, got {type(csms).__name__}")
    if csms.listens:
        raise ValueError(f"csms: {type(csms).__name__} listens itself; give {owner} a plain CSMS(...)")
    return ProxyTrust(
        trusted_proxies,
        certificate_header,
        subject_header,
        verify_header,
        forwarded_proto_header,
        forwarded_for_header,
    )


def _latin1_utf8(value: str) -> str:
    """A header value decoded as Latin-1 (what servers do) read again as the UTF-8 it carries."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


async def forwarded_upgrade(
    csms: CSMS,
    trust: ProxyTrust,
    path: str,
    subprotocols: list[str],
    headers: Mapping[str, Sequence[str]],
    peer: tuple[str, int] | None,
    tls: bool,
    peer_certificate: dict[str, Any] | None,
) -> Refusal | tuple[str, Any]:
    """Admit one upgrade request: the refusal, or the station identity and its remote address.

    ``subprotocols`` are the offered ones in the station's order (the server's reading: some
    servers, as uvicorn with wsproto, keep the ``Sec-WebSocket-*`` headers out of ``headers``);
    ``headers`` maps lower-case names to their values in order; ``peer`` is the TCP peer,
    ``tls`` whether the server itself served TLS (``peer_certificate``: the certificate it
    verified). Behind a trusted proxy, the forwarded scheme, address and certificate are taken;
    profiles 2 and 3 refuse a connection that did not come over TLS (HTTP 403, ``"no-tls"``).
    """
    host = peer[0] if peer else None
    remote: Any = tuple(peer) if peer else None
    certificate = peer_certificate
    if trust.trusts(host):
        tls = tls or trust.proto_is_tls(headers)
        forwarded = trust.forwarded_for(headers)
        if forwarded is not None:
            remote = forwarded
        if certificate is None and trust.forwards_certificates:
            certificate = trust.certificate(headers, path.rsplit("/", 1)[-1])
    elif trust.forwards_certificates and headers.get(trust.certificate_header or trust.subject_header or ""):
        log.warning(
            "a certificate header from %s, which is not a trusted proxy, is ignored (path %s)",
            ascii(host),
            ascii(printable(path[:80])),
        )
    upgrade = Upgrade(
        path=path,
        subprotocols=subprotocols,
        authorization=(headers.get("authorization") or [""])[0],
        remote_address=remote,
        client_certificate=certificate,
    )
    if csms.security_profile >= 2 and not tls:
        return refuse(csms, upgrade, 403, "no-tls", path.rsplit("/", 1)[-1], "TLS is required\n")
    verdict = await csms.admit(upgrade)
    if isinstance(verdict, Refusal):
        return verdict
    return verdict, remote
