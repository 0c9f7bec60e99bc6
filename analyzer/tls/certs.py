"""X.509 certificates seen in handshakes, parsed once each with `cryptography`.

Owns `CertInfo` (what the table reports about a certificate) and a bounded
cache keyed by the DER's SHA-256, so a certificate that repeats across thousands
of connections is parsed once. A certificate `cryptography` cannot read still
yields a `CertInfo` with its hash and the error.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

CERT_CACHE_SIZE = 4096   # distinct certificates kept parsed; older ones are parsed again if seen again


@dataclass(frozen=True)
class CertInfo:
    sha256: str
    subject: str = ""
    issuer: str = ""
    serial: str = ""
    not_before: _dt.datetime | None = None
    not_after: _dt.datetime | None = None
    sans: tuple[str, ...] = ()
    key_type: str = ""
    key_bits: int | None = None
    signature_algorithm: str = ""
    self_signed: bool = False
    error: str | None = None
    size: int = 0
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    sha1: str = ""            # SHA-1 of the DER (hex): the "fingerprint" Suricata and many tools print
    ja4x: str = ""            # FoxIO JA4X (analyzer.tls.fingerprints.ja4x), empty if the DER cannot be walked


def _name(n: x509.Name) -> str:
    try:
        return n.rfc4514_string()
    except Exception as e:  # a name cryptography cannot render
        return f"<unreadable name: {type(e).__name__}>"


def _key(cert: x509.Certificate) -> tuple[str, int | None]:
    try:
        key = cert.public_key()
    except Exception as e:
        return (f"unsupported ({type(e).__name__})", None)
    if isinstance(key, rsa.RSAPublicKey):
        return ("RSA", key.key_size)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return (f"EC {key.curve.name}", key.curve.key_size)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ("Ed25519", 256)
    if isinstance(key, ed448.Ed448PublicKey):
        return ("Ed448", 456)
    if isinstance(key, dsa.DSAPublicKey):
        return ("DSA", key.key_size)
    return (type(key).__name__, None)


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    except Exception:
        return ()
    out: list[str] = []
    for gn in ext.value:
        if isinstance(gn, x509.DNSName):
            out.append(f"DNS:{gn.value}")
        elif isinstance(gn, x509.IPAddress):
            out.append(f"IP:{gn.value}")
        elif isinstance(gn, x509.RFC822Name):
            out.append(f"email:{gn.value}")
        elif isinstance(gn, x509.UniformResourceIdentifier):
            out.append(f"URI:{gn.value}")
        else:
            out.append(type(gn).__name__)
    return tuple(out)


def _parse(der: bytes, digest: str) -> CertInfo:
    # cryptography decodes fields lazily, so a damaged certificate can fail at any access
    try:
        info = _fields(x509.load_der_x509_certificate(der), der, digest)
    except Exception as e:
        info = CertInfo(sha256=digest, error=f"unparseable certificate: {type(e).__name__}: {e}", size=len(der),
                        sha1=hashlib.sha1(der).hexdigest())
    from .fingerprints import ja4x  # late: fingerprints imports summary, which imports this module

    return dataclasses.replace(info, ja4x=ja4x(der)[0])


def _fields(cert: x509.Certificate, der: bytes, digest: str) -> CertInfo:
    try:
        sig = cert.signature_algorithm_oid._name  # e.g. 'sha256WithRSAEncryption'
    except Exception:
        sig = ""
    subject = _name(cert.subject)
    issuer = _name(cert.issuer)
    key_type, bits = _key(cert)
    try:
        nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    except Exception:
        nb = na = None
    return CertInfo(
        sha256=digest,
        subject=subject,
        issuer=issuer,
        serial=format(cert.serial_number, "X"),
        not_before=nb,
        not_after=na,
        sans=_sans(cert),
        key_type=key_type,
        key_bits=bits,
        signature_algorithm=sig,
        self_signed=subject == issuer,
        size=len(der),
        sha1=hashlib.sha1(der).hexdigest(),
    )


class CertCache:
    """Bounded LRU of parsed certificates by SHA-256 of the DER."""

    def __init__(self, size: int = CERT_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[bytes, CertInfo] = OrderedDict()
        self.parsed = 0
        self.hits = 0

    def get(self, der: bytes) -> CertInfo:
        d = hashlib.sha256(der).digest()
        info = self._items.get(d)
        if info is not None:
            self._items.move_to_end(d)
            self.hits += 1
            return info
        info = _parse(der, d.hex())
        self.parsed += 1
        self._items[d] = info
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return info
