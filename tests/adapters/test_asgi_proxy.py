"""What the ASGI and aiohttp front doors read from a TLS-terminating proxy (no sockets): RFC 4514
subjects, forwarded PEM certificates in ``getpeercert()`` form (compared with what the ssl
module itself reports for the same certificate), and which peers are trusted."""

from __future__ import annotations

import ssl
import urllib.parse
from typing import Any

import pytest
import trustme

from ocppkit.adapters._asgiproxy import ProxyTrust
from ocppkit.adapters.asgi import certificate_from_pem, subject_from_dn
from ocppkit.adapters.handshake import Handshake


def test_subjects_in_certificate_order_with_escapes_and_multivalued_rdns() -> None:
    assert subject_from_dn("CN=CS001,O=ACME CPO,C=NL") == (
        (("countryName", "NL"),),
        (("organizationName", "ACME CPO"),),
        (("commonName", "CS001"),),
    )
    assert subject_from_dn(r"CN=a\,b\2Bc\\d,O=x") == ((("organizationName", "x"),), (("commonName", "a,b+c\\d"),))
    assert subject_from_dn("CN=x+SERIALNUMBER=42") == ((("commonName", "x"), ("serialNumber", "42")),)
    assert subject_from_dn("2.5.4.3=CS9, ou = Ops") == ((("organizationalUnitName", "Ops"),), (("commonName", "CS9"),))
    assert subject_from_dn(r"CN=M\C3\BCller") == ((("commonName", "Müller"),),)
    hs = Handshake(identity="CS001", path="/CS001", client_certificate={"subject": subject_from_dn("CN=CS001,O=A")})
    assert (hs.certificate_common_name(), hs.certificate_organization()) == ("CS001", "A")


@pytest.mark.parametrize(
    ("dn", "message"),
    [
        ("", "empty"),
        ("CN", "no '='"),
        ("CN=#04024869", "#hex value"),
        ("CN=x\\", "lone"),
        ("=x", "bad attribute type"),
        (r"CN=\FF", "not UTF-8"),
    ],
)
def test_bad_subjects_say_what_is_wrong(dn: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        subject_from_dn(dn)


def peercert_of(ca: trustme.CA, leaf: trustme.LeafCert) -> dict[str, Any]:
    """What ssl.getpeercert() says of ``leaf`` (the reference form), via a loopback handshake
    in memory."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    server.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    leaf.configure_cert(client)
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname="127.0.0.1")
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for obj in (c, s):
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    cert = s.getpeercert()
    assert cert
    return cert


def test_a_forwarded_pem_reads_as_getpeercert_would() -> None:
    ca = trustme.CA(organization_name="Test CA")
    leaf = ca.issue_cert("cs1.example", common_name="CS1", organization_name="ACME CPO")
    pem = leaf.cert_chain_pems[0].bytes().decode()
    reference = peercert_of(ca, leaf)
    mine = certificate_from_pem(urllib.parse.quote(pem, safe=""))  # nginx's $ssl_client_escaped_cert
    for key in ("subject", "issuer", "version", "serialNumber", "notBefore", "notAfter", "subjectAltName"):
        assert mine[key] == reference[key], key
    assert certificate_from_pem(pem.replace("\n", "\n\t")) == mine  # the old $ssl_client_cert form
    with pytest.raises(ValueError, match="no '-----BEGIN CERTIFICATE-----'"):
        certificate_from_pem("garbage")
    with pytest.raises(ValueError, match="not a readable PEM certificate"):
        certificate_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_trust_is_by_address_and_network() -> None:
    trust = ProxyTrust(["10.0.0.0/24", "::1"], None, "x-dn", "x-verify", "x-forwarded-proto", "x-forwarded-for")
    assert trust.trusts("10.0.0.9") and trust.trusts("::1") and not trust.trusts("10.0.1.1")
    assert not trust.trusts("not-an-address") and not trust.trusts(None)
    headers = {"x-dn": ["CN=A"], "x-verify": ["SUCCESS"], "x-forwarded-for": ["198.51.100.1, 192.0.2.4"]}
    assert trust.certificate(headers, "A") == {"subject": ((("commonName", "A"),),)}
    assert trust.forwarded_for(headers) == "192.0.2.4"  # the last hop: what the proxy saw
    assert trust.certificate({**headers, "x-verify": ["NONE"]}, "A") is None
    assert trust.certificate({**headers, "x-dn": ["CN=A", "CN=B"]}, "A") is None  # two: ambiguous
    assert trust.proto_is_tls({"x-forwarded-proto": ["https"]}) and not trust.proto_is_tls({})
    with pytest.raises(TypeError, match="got the string"):
        ProxyTrust("10.0.0.1", None, None, None, None, None)
