"""Generator of the bundled sample captures (script and importable library).

Owns: driving real TLS between a client and a server with Python's ``ssl`` module
entirely in memory (``ssl.MemoryBIO`` pairs, no sockets), recording every chunk of
bytes each side writes; framing those bytes as Ethernet/IPv4 or IPv6/TCP frames
with a SYN handshake, consistent sequence/ack numbers, MSS-sized segments and a
FIN/RST close; and small hand-written pcap/pcapng writers (``struct`` only).
Running it as a script writes the sample captures, the key log, the PKI and
``MANIFEST.json`` (the facts the ``ssl`` module itself reported per connection).

Usage: ``python captures/generate.py [--out DIR]`` (default: this folder).

TLS 1.3 cipher suite selection: Python 3.11 has no ``SSLContext.set_ciphersuites``.
Connections that need a specific TLS 1.3 suite are therefore generated in a child
Python process whose ``OPENSSL_CONF`` points at a generated OpenSSL config file with
``Ciphersuites = <suite>`` in the ``system_default`` section; OpenSSL applies it to
every ``SSL_CTX`` that process creates. The child writes to the same key log file.
"""

from __future__ import annotations

import argparse
import base64
import datetime as _dt
import hashlib
import ipaddress
import json
import os
import shutil
import ssl
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Sequence

HERE = Path(__file__).resolve().parent

#: 2026-01-01T00:00:00Z, the base of every capture's timestamps.
T0: float = float(_dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc).timestamp())

CLIENT_IP4 = "192.0.2.10"
SERVER_IP4 = "198.51.100.20"
CLIENT_IP6 = "2001:db8::10"
SERVER_IP6 = "2001:db8::20"
CLIENT_MAC = bytes.fromhex("020000000001")
SERVER_MAC = bytes.fromhex("020000000002")

KEYLOG_NAME = "keylog.txt"
SERVER_NAME = "server.test"

LINKTYPE_ETHERNET = 1
PCAPNG_SECRETS_TLS = 0x544C534B  # 'TLSK'

# TCP flags
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# OpenSSL option bits not exported by Python's ssl module (OpenSSL 3.0 values).
OP_NO_EXTENDED_MASTER_SECRET = 0x1
OP_NO_ENCRYPT_THEN_MAC = 0x80000


# --------------------------------------------------------------------------- model


@dataclass
class Conversation:
    """One TCP connection's application-level bytes, in the order they were written."""

    chunks: list[tuple[int, bytes]]  # (0 = client->server, 1 = server->client, bytes)
    client: tuple[str, int]
    server: tuple[str, int]
    expected: dict[str, Any] = field(default_factory=dict)
    close: str = "fin"  # 'fin' | 'rst' | 'none'
    closer: int = 0  # direction of the side that closes (0 client, 1 server)
    unanswered: bool = False  # last chunk never acknowledged: the sender retransmits
    session: Any = field(default=None, repr=False, compare=False)  # client ssl.SSLSession

    @property
    def client_random(self) -> bytes | None:
        """The ClientHello random, if the first client chunk starts with a ClientHello."""
        for direction, data in self.chunks:
            if direction == 0:
                if len(data) >= 43 and data[0] == 0x16 and data[5] == 0x01:
                    return data[11:43]
                return None
        return None

    def stream(self, direction: int) -> bytes:
        """All bytes sent in one direction, concatenated."""
        return b"".join(d for dr, d in self.chunks if dr == direction)


@dataclass
class Pki:
    """Paths of the generated PEM files."""

    dir: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    server_chain: Path
    ecdsa_cert: Path
    ecdsa_key: Path
    ecdsa_chain: Path


# --------------------------------------------------------------------------- PKI


def make_pki(dir: str | os.PathLike[str], *, reuse: bool = True) -> Pki:
    """Create a CA, an RSA-2048 and an ECDSA P-256 server certificate (PEM files).

    Files: ``ca.crt``, ``server.crt``/``server.key`` (RSA, PKCS#8), ``server-chain.crt``
    (leaf + CA), ``server-ecdsa.crt``/``server-ecdsa.key``, ``server-ecdsa-chain.crt``.
    With ``reuse`` and all files present, the existing files are kept.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    d = Path(dir)
    d.mkdir(parents=True, exist_ok=True)
    pki = Pki(
        dir=d,
        ca_cert=d / "ca.crt",
        server_cert=d / "server.crt",
        server_key=d / "server.key",
        server_chain=d / "server-chain.crt",
        ecdsa_cert=d / "server-ecdsa.crt",
        ecdsa_key=d / "server-ecdsa.key",
        ecdsa_chain=d / "server-ecdsa-chain.crt",
    )
    paths = [pki.ca_cert, pki.server_cert, pki.server_key, pki.server_chain,
             pki.ecdsa_cert, pki.ecdsa_key, pki.ecdsa_chain]
    if reuse and all(p.exists() for p in paths):
        return pki

    not_before = _dt.datetime(2025, 1, 1, tzinfo=_dt.timezone.utc)
    not_after = _dt.datetime(2036, 1, 1, tzinfo=_dt.timezone.utc)

    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "handshake-analyzer test"),
        x509.NameAttribute(NameOID.COMMON_NAME, "handshake-analyzer Test CA"),
    ])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(key: Any, serial: int, cn: str, rsa_kx: bool) -> Any:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "handshake-analyzer test"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(SERVER_NAME), x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=rsa_kx,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_cert = leaf(rsa_key, 2, SERVER_NAME, True)
    ec_cert = leaf(ec_key, 3, SERVER_NAME, False)

    def pem_cert(c: Any) -> bytes:
        return c.public_bytes(serialization.Encoding.PEM)

    def pem_key(k: Any) -> bytes:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    pki.ca_cert.write_bytes(pem_cert(ca_cert))
    pki.server_cert.write_bytes(pem_cert(rsa_cert))
    pki.server_key.write_bytes(pem_key(rsa_key))
    pki.server_chain.write_bytes(pem_cert(rsa_cert) + pem_cert(ca_cert))
    pki.ecdsa_cert.write_bytes(pem_cert(ec_cert))
    pki.ecdsa_key.write_bytes(pem_key(ec_key))
    pki.ecdsa_chain.write_bytes(pem_cert(ec_cert) + pem_cert(ca_cert))
    return pki


def pki_at(dir: str | os.PathLike[str]) -> Pki:
    """The Pki for an existing directory (no generation)."""
    return make_pki(dir, reuse=True)


# --------------------------------------------------------------------------- contexts

_TLS_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def client_context(pki: Pki, *, keylog: str | os.PathLike[str] | None = None,
                   min_version: str | None = None, max_version: str | None = None,
                   ciphers: str | None = None, alpn: Sequence[str] | None = None,
                   verify: bool = True, options: int = 0) -> ssl.SSLContext:
    """A client context trusting the test CA, logging secrets to ``keylog``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(pki.ca_cert))
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if min_version:
        ctx.minimum_version = _TLS_VERSIONS[min_version]
    if max_version:
        ctx.maximum_version = _TLS_VERSIONS[max_version]
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if options:
        ctx.options |= options
    if keylog is not None:
        ctx.keylog_filename = str(keylog)
    return ctx


def server_context(pki: Pki, *, cert: str = "rsa", min_version: str | None = None,
                   max_version: str | None = None, ciphers: str | None = None,
                   alpn: Sequence[str] | None = None, no_ticket: bool = False,
                   curve: str | None = None, options: int = 0) -> ssl.SSLContext:
    """A server context with the RSA (``cert='rsa'``) or ECDSA (``'ecdsa'``) chain."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if cert == "rsa":
        ctx.load_cert_chain(str(pki.server_chain), str(pki.server_key))
    elif cert == "ecdsa":
        ctx.load_cert_chain(str(pki.ecdsa_chain), str(pki.ecdsa_key))
    else:
        raise ValueError(f"unknown cert kind {cert!r}")
    if min_version:
        ctx.minimum_version = _TLS_VERSIONS[min_version]
    if max_version:
        ctx.maximum_version = _TLS_VERSIONS[max_version]
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if no_ticket:
        ctx.options |= ssl.OP_NO_TICKET
    if curve:
        ctx.set_ecdh_curve(curve)
    if options:
        ctx.options |= options
    return ctx


# --------------------------------------------------------------------------- cipher names

_IANA_FALLBACK = {  # used only when the openssl binary is unavailable
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "AES128-GCM-SHA256": "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "AES256-GCM-SHA384": "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "AES256-SHA256": "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "AES128-SHA": "TLS_RSA_WITH_AES_128_CBC_SHA",
}
_iana_cache: dict[str, str] | None = None


def iana_names() -> dict[str, str]:
    """OpenSSL cipher name -> IANA (RFC) name, from ``openssl ciphers -stdname``."""
    global _iana_cache
    if _iana_cache is None:
        table: dict[str, str] = dict(_IANA_FALLBACK)
        exe = shutil.which("openssl")
        if exe:
            try:
                out = subprocess.run(
                    [exe, "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                    capture_output=True, text=True, timeout=20, check=True).stdout
                for line in out.splitlines():
                    parts = [p.strip() for p in line.split(" - ")]
                    if len(parts) >= 3:
                        std, ossl = parts[1], parts[2].split()[0]
                        table[ossl] = std
            except (OSError, subprocess.SubprocessError):
                pass
        _iana_cache = table
    return _iana_cache


def cipher_facts(ctx: ssl.SSLContext, openssl_name: str) -> dict[str, Any]:
    """IANA name and 16-bit code of the negotiated suite as reported by OpenSSL."""
    code = None
    for c in ctx.get_ciphers():
        if c["name"] == openssl_name:
            code = c["id"] & 0xFFFF
    if code is None:  # the context's list may not include it; try a full list
        probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        probe.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
        for c in probe.get_ciphers():
            if c["name"] == openssl_name:
                code = c["id"] & 0xFFFF
    iana = openssl_name if openssl_name.startswith("TLS_") else iana_names().get(openssl_name)
    return {"cipher_openssl": openssl_name, "cipher": iana, "cipher_code": code}


# --------------------------------------------------------------------------- TLS driver


def _alert_from_error(err: ssl.SSLError) -> str | None:
    reason = getattr(err, "reason", None) or ""
    if "ALERT_" in reason:
        return reason.split("ALERT_", 1)[1].lower()
    return None


def tls_conversation(client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, *,
                     server_hostname: str | None = None,
                     client_messages: Sequence[bytes] = (b"GET / HTTP/1.1\r\nHost: server.test\r\n\r\n",),
                     server_messages: Sequence[bytes] = (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",),
                     session: ssl.SSLSession | None = None,
                     client: tuple[str, int] = (CLIENT_IP4, 50000),
                     server: tuple[str, int] = (SERVER_IP4, 443),
                     close: str = "fin", closer: int = 0,
                     close_notify: bool = True, max_flights: int | None = None,
                     expected: dict[str, Any] | None = None) -> Conversation:
    """Run one TLS connection in memory and record each side's writes.

    ``max_flights`` stops after that many writes (e.g. 1: ClientHello only, 2: the
    server's first flight too); the connection is then left incomplete. Handshake
    errors are recorded in ``expected`` rather than raised.
    """
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    seen_sni: list[str | None] = []
    old_cb = server_ctx.sni_callback

    def sni_cb(obj: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> Any:
        seen_sni.append(name)
        return old_cb(obj, name, ctx) if old_cb else None

    server_ctx.sni_callback = sni_cb
    try:
        cobj = client_ctx.wrap_bio(c_in, c_out, server_side=False,
                                   server_hostname=server_hostname, session=session)
        sobj = server_ctx.wrap_bio(s_in, s_out, server_side=True)
        chunks: list[tuple[int, bytes]] = []
        stopped = False

        def flush() -> bool:
            nonlocal stopped
            moved = False
            for direction, out, peer_in in ((0, c_out, s_in), (1, s_out, c_in)):
                if stopped:
                    return moved
                data = out.read()
                if data:
                    chunks.append((direction, data))
                    peer_in.write(data)
                    moved = True
                    if max_flights is not None and len(chunks) >= max_flights:
                        stopped = True
            return moved

        errors: dict[int, ssl.SSLError] = {}
        done = [False, False]
        while not stopped and not (done[0] and done[1]):
            progressed = False
            for i, obj in ((0, cobj), (1, sobj)):
                if done[i] or i in errors:
                    continue
                try:
                    obj.do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLError as e:
                    errors[i] = e
                if flush():
                    progressed = True
                if stopped:
                    break
            if not progressed:
                break  # finished, failed, or nobody can make progress

        exp: dict[str, Any] = {"tls": True}
        received = {0: b"", 1: b""}
        if done[0] and done[1] and not stopped:
            version = cobj.version() or ""
            exp["version_openssl"] = version
            exp["version"] = version.replace("TLSv", "TLS ")
            exp.update(cipher_facts(client_ctx, cobj.cipher()[0]))
            exp["alpn"] = cobj.selected_alpn_protocol()
            exp["session_reused"] = bool(cobj.session_reused)
            exp["handshake_complete"] = True
            exp["failure"] = None

            def read_all(obj: ssl.SSLObject) -> bytes:
                got = b""
                while True:
                    try:
                        part = obj.read(65536)
                    except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                        return got
                    if not part:
                        return got
                    got += part

            for msg in client_messages:
                cobj.write(msg)
                flush()
                received[0] += read_all(sobj)
                flush()
            for msg in server_messages:
                sobj.write(msg)
                flush()
                received[1] += read_all(cobj)
                flush()
            received[1] += read_all(cobj)  # e.g. late TLS 1.3 tickets
            flush()
            if close_notify:
                first, second = (cobj, sobj) if closer == 0 else (sobj, cobj)
                for obj in (first, second, first):
                    try:
                        obj.unwrap()
                    except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                        pass
                    except ssl.SSLError:
                        pass
                    flush()
            exp["close_notify"] = close_notify
            sess = cobj.session
        else:
            sess = None
            exp["handshake_complete"] = False
            exp["session_reused"] = False
            if errors:
                exp["failure"] = "alert"
                exp["errors"] = {("client" if i == 0 else "server"): (e.reason or str(e))
                                 for i, e in sorted(errors.items())}
                alert = None
                sender = None
                if 0 in errors and _alert_from_error(errors[0]):
                    alert, sender = _alert_from_error(errors[0]), "server"
                elif 1 in errors and _alert_from_error(errors[1]):
                    alert, sender = _alert_from_error(errors[1]), "client"
                exp["alert"] = alert
                exp["alert_sender"] = sender
            else:
                exp["failure"] = "incomplete"
        exp["sni"] = server_hostname
        exp["sni_seen_by_server"] = seen_sni[0] if seen_sni else None
        exp["plaintext"] = {"c2s": received[0], "s2c": received[1]}
        if expected:
            exp.update(expected)
        return Conversation(chunks=chunks, client=client, server=server, expected=exp,
                            close=close, closer=closer, session=sess)
    finally:
        server_ctx.sni_callback = old_cb


def raw_conversation(chunks: Sequence[tuple[int, bytes]], *, client: tuple[str, int],
                     server: tuple[str, int], close: str = "fin", closer: int = 0,
                     expected: dict[str, Any] | None = None) -> Conversation:
    """A non-TLS conversation from literal application bytes."""
    exp: dict[str, Any] = {"tls": False, "failure": "not_tls", "handshake_complete": False,
                           "plaintext": {"c2s": b"".join(d for r, d in chunks if r == 0),
                                         "s2c": b"".join(d for r, d in chunks if r == 1)}}
    exp.update(expected or {})
    return Conversation(chunks=list(chunks), client=client, server=server,
                        expected=exp, close=close, closer=closer)


# --------------------------------------------------------------------------- child process

_CHILD_FLAG = "--_child"


def _conv_to_json(conv: Conversation) -> dict[str, Any]:
    exp = dict(conv.expected)
    exp["plaintext"] = {k: base64.b64encode(v).decode() for k, v in exp["plaintext"].items()}
    return {"chunks": [[d, base64.b64encode(b).decode()] for d, b in conv.chunks],
            "client": list(conv.client), "server": list(conv.server), "expected": exp,
            "close": conv.close, "closer": conv.closer, "unanswered": conv.unanswered}


def _conv_from_json(obj: dict[str, Any]) -> Conversation:
    exp = dict(obj["expected"])
    exp["plaintext"] = {k: base64.b64decode(v) for k, v in exp["plaintext"].items()}
    return Conversation(chunks=[(d, base64.b64decode(b)) for d, b in obj["chunks"]],
                        client=(obj["client"][0], obj["client"][1]),
                        server=(obj["server"][0], obj["server"][1]), expected=exp,
                        close=obj["close"], closer=obj["closer"], unanswered=obj["unanswered"])


def tls13_suite_conversation(suite: str, pki: Pki, keylog: str | os.PathLike[str], *,
                             client_kw: dict[str, Any] | None = None,
                             server_kw: dict[str, Any] | None = None,
                             conv_kw: dict[str, Any] | None = None) -> Conversation:
    """A TLS 1.3 connection restricted to one cipher suite (run in a child process).

    ``client_kw``/``server_kw`` go to :func:`client_context`/:func:`server_context`,
    ``conv_kw`` (JSON-able; bytes messages allowed) to :func:`tls_conversation`.
    """
    conv_kw = dict(conv_kw or {})
    for key in ("client_messages", "server_messages"):
        if key in conv_kw:
            conv_kw[key] = [base64.b64encode(m).decode() for m in conv_kw[key]]
    spec = {"pki": str(pki.dir), "keylog": str(keylog), "client_kw": client_kw or {},
            "server_kw": server_kw or {}, "conv_kw": conv_kw}
    with tempfile.TemporaryDirectory() as tmp:
        cnf = Path(tmp) / "openssl.cnf"
        cnf.write_text(
            "openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n"
            "[ssl_sect]\nsystem_default = sys_default\n"
            f"[sys_default]\nCiphersuites = {suite}\n")
        env = dict(os.environ, OPENSSL_CONF=str(cnf))
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), _CHILD_FLAG],
                              input=json.dumps(spec), capture_output=True, text=True,
                              env=env, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"child generator failed: {proc.stderr}")
    conv = _conv_from_json(json.loads(proc.stdout))
    if conv.expected.get("cipher") != suite:
        raise RuntimeError(f"wanted {suite}, negotiated {conv.expected.get('cipher')}")
    return conv


def _child_main() -> None:
    spec = json.loads(sys.stdin.read())
    pki = pki_at(spec["pki"])
    conv_kw = dict(spec["conv_kw"])
    for key in ("client_messages", "server_messages"):
        if key in conv_kw:
            conv_kw[key] = [base64.b64decode(m) for m in conv_kw[key]]
    for key in ("client", "server"):
        if key in conv_kw:
            conv_kw[key] = tuple(conv_kw[key])
    cctx = client_context(pki, keylog=spec["keylog"], **spec["client_kw"])
    sctx = server_context(pki, **spec["server_kw"])
    conv = tls_conversation(cctx, sctx, **conv_kw)
    del cctx, sctx
    sys.stdout.write(json.dumps(_conv_to_json(conv)))


# --------------------------------------------------------------------------- framing


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _v6(addr: str) -> ipaddress.IPv6Address:
    ip = ipaddress.ip_address(addr)
    if isinstance(ip, ipaddress.IPv6Address):
        return ip
    return ipaddress.IPv6Address("2001:db8::" + format(int(ip) & 0xFFFF, "x"))


def build_frame(src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int, flags: int,
                payload: bytes = b"", *, src_mac: bytes = CLIENT_MAC, dst_mac: bytes = SERVER_MAC,
                ipv6: bool = False, vlan: int | None = None, ip_id: int = 0,
                window: int = 65535, options: bytes = b"") -> bytes:
    """One Ethernet[/802.1Q]/IPv4-or-IPv6/TCP frame with correct checksums."""
    if len(options) % 4:
        options += b"\x01" * (4 - len(options) % 4)
    off = (20 + len(options)) // 4
    tcp_wo = struct.pack("!HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         off << 4, flags, window, 0, 0) + options + payload
    sip = ipaddress.ip_address(src[0])
    dip = ipaddress.ip_address(dst[0])
    use6 = ipv6 or isinstance(sip, ipaddress.IPv6Address)
    if use6:
        s6, d6 = _v6(src[0]).packed, _v6(dst[0]).packed
        pseudo = s6 + d6 + struct.pack("!IxxxB", len(tcp_wo), 6)
        csum = _checksum(pseudo + tcp_wo)
        tcp = tcp_wo[:16] + struct.pack("!H", csum) + tcp_wo[18:]
        ip = struct.pack("!IHBB", 0x60000000, len(tcp), 6, 64) + s6 + d6 + tcp
        ethertype = 0x86DD
    else:
        s4, d4 = sip.packed, dip.packed
        pseudo = s4 + d4 + struct.pack("!xBH", 6, len(tcp_wo))
        csum = _checksum(pseudo + tcp_wo)
        tcp = tcp_wo[:16] + struct.pack("!H", csum) + tcp_wo[18:]
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ip_id & 0xFFFF, 0x4000,
                          64, 6, 0, s4, d4)
        hdr = hdr[:10] + struct.pack("!H", _checksum(hdr)) + hdr[12:]
        ip = hdr + tcp
        ethertype = 0x0800
    eth = dst_mac + src_mac
    if vlan is not None:
        eth += struct.pack("!HH", 0x8100, vlan & 0x0FFF)
    return eth + struct.pack("!H", ethertype) + ip


def _isn(port: int, side: str) -> int:
    return zlib.crc32(f"{port}/{side}".encode()) & 0xFFFFFFFF


def frames_for(conv: Conversation, *, mss: int | tuple[int, int] = 1460, t0: float = T0,
               rtt: float = 0.0005, step: float = 0.0001, ipv6: bool = False,
               vlan: int | None = None, reorder: bool = False, duplicate: bool = False,
               retransmits: int = 2, rto: float = 1.0,
               isn: tuple[int, int] | None = None) -> list[tuple[float, bytes]]:
    """Ethernet frames (timestamp, bytes) carrying ``conv`` over one TCP connection.

    ``mss`` is the segment size (or ``(client->server, server->client)``); every frame
    is ``step`` after the previous one, plus ``rtt`` when the sending side changes.
    ``reorder`` swaps the 2nd and 3rd segment of the first chunk with >= 3 segments;
    ``duplicate`` retransmits that chunk's 2nd segment after the chunk. When
    ``conv.unanswered``, the last chunk is never ACKed and is retransmitted
    ``retransmits`` times with a doubling ``rto``.
    """
    seg_size = (mss, mss) if isinstance(mss, int) else mss
    ends = (conv.client, conv.server)
    macs = (CLIENT_MAC, SERVER_MAC)
    nxt = list(isn) if isn else [_isn(conv.client[1], "c"), _isn(conv.server[1], "s")]
    ip_ids = [_isn(conv.client[1], "ipc") & 0xFFFF, _isn(conv.server[1], "ips") & 0xFFFF]
    frames: list[tuple[float, bytes]] = []
    # time is kept in integer nanoseconds so that it does not drift
    base = Decimal(repr(float(t0)))
    step_ns, rtt_ns = round(step * 1e9), round(rtt * 1e9)
    state = {"t": -step_ns, "last": 0}

    def emit(d: int, seq: int, ack: int, flags: int, payload: bytes = b"",
             options: bytes = b"", delay: float = 0.0) -> None:
        t = state["t"] + step_ns + round(delay * 1e9)
        if frames and d != state["last"]:
            t += rtt_ns
        state["t"], state["last"] = t, d
        frame = build_frame(ends[d], ends[1 - d], seq, ack, flags, payload,
                            src_mac=macs[d], dst_mac=macs[1 - d], ipv6=ipv6, vlan=vlan,
                            ip_id=ip_ids[d], options=options)
        ip_ids[d] += 1
        frames.append((float(base + Decimal(t) / 10 ** 9), frame))

    def mss_opt(value: int) -> bytes:
        return struct.pack("!BBH", 2, 4, value) + b"\x01\x01\x04\x02"  # MSS, NOP, NOP, SACK_PERM

    # three-way handshake
    emit(0, nxt[0], 0, SYN, options=mss_opt(seg_size[1]))
    nxt[0] += 1
    emit(1, nxt[1], nxt[0], SYN | ACK, options=mss_opt(seg_size[0]))
    nxt[1] += 1
    emit(0, nxt[0], nxt[1], ACK)

    special_done = False
    for idx, (d, data) in enumerate(conv.chunks):
        size = seg_size[d]
        segs = [(nxt[d] + i, data[i:i + size]) for i in range(0, len(data), size)]
        order = list(range(len(segs)))
        special = not special_done and len(segs) >= 3 and (reorder or duplicate)
        if special and reorder:
            order[1], order[2] = order[2], order[1]
        for i in order:
            flags = ACK | (PSH if i == len(segs) - 1 else 0)
            emit(d, segs[i][0], nxt[1 - d], flags, segs[i][1])
        if special and duplicate:
            i = 1
            emit(d, segs[i][0], nxt[1 - d], ACK, segs[i][1])
        special_done = special_done or special
        nxt[d] += len(data)
        last = idx == len(conv.chunks) - 1
        if last and conv.unanswered:
            delay = rto
            for _ in range(retransmits):
                for i in range(len(segs)):
                    flags = ACK | (PSH if i == len(segs) - 1 else 0)
                    emit(d, segs[i][0], nxt[1 - d], flags, segs[i][1], delay=delay if i == 0 else 0.0)
                delay *= 2
            break
        nd = None if last else conv.chunks[idx + 1][0]
        if nd != 1 - d:
            emit(1 - d, nxt[1 - d], nxt[d], ACK)  # pure ACK from the receiver

    if not conv.unanswered:
        a = conv.closer
        b = 1 - a
        if conv.close == "fin":
            emit(a, nxt[a], nxt[b], FIN | ACK)
            nxt[a] += 1
            emit(b, nxt[b], nxt[a], FIN | ACK)
            nxt[b] += 1
            emit(a, nxt[a], nxt[b], ACK)
        elif conv.close == "rst":
            emit(a, nxt[a], nxt[b], RST | ACK)
        elif conv.close != "none":
            raise ValueError(f"unknown close {conv.close!r}")
    return frames


def merge_frames(*streams: Iterable[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Merge per-connection frame lists by timestamp (stable: ties keep input order)."""
    out = [f for s in streams for f in s]
    out.sort(key=lambda f: f[0])
    return out


# --------------------------------------------------------------------------- writers


def _split_ts(t: float | Decimal, digits: int) -> tuple[int, int]:
    """(seconds, fraction in 10**-digits units) of a timestamp, exact for decimal floats."""
    d = t if isinstance(t, Decimal) else Decimal(repr(float(t)))
    units = int((d * (10 ** digits)).to_integral_value())
    return divmod(units, 10 ** digits)


def write_pcap(path: str | os.PathLike[str], frames: Sequence[tuple[float, bytes]], *,
               nanosecond: bool = False, linktype: int = LINKTYPE_ETHERNET,
               snaplen: int = 65535, big_endian: bool = False) -> None:
    """Classic libpcap file (magic a1b2c3d4 for microseconds, a1b23c4d for nanoseconds)."""
    bo = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    digits = 9 if nanosecond else 6
    parts = [struct.pack(bo + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for t, frame in frames:
        sec, frac = _split_ts(t, digits)
        data = frame[:snaplen]
        parts.append(struct.pack(bo + "IIII", sec, frac, len(data), len(frame)))
        parts.append(data)
    Path(path).write_bytes(b"".join(parts))


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def _block(btype: int, body: bytes) -> bytes:
    body = _pad4(body)
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def write_pcapng(path: str | os.PathLike[str], frames: Sequence[tuple[float, bytes]], *,
                 linktype: int = LINKTYPE_ETHERNET, tsresol: int = 6,
                 secrets: bytes | None = None, snaplen: int = 65535) -> None:
    """pcapng: SHB, one IDB (with if_tsresol = 10**-tsresol), [DSB with TLS key log], EPBs."""
    shb_opts = _option(4, b"handshake-analyzer captures/generate.py") + _option(0, b"")
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts)
    idb_opts = _option(2, b"eth0") + _option(9, bytes([tsresol])) + _option(0, b"")
    idb = _block(0x00000001, struct.pack("<HHI", linktype, 0, snaplen) + idb_opts)
    parts = [shb, idb]
    if secrets is not None:
        parts.append(_block(0x0000000A, struct.pack("<II", PCAPNG_SECRETS_TLS, len(secrets))
                            + _pad4(secrets)))
    for t, frame in frames:
        sec, frac = _split_ts(t, tsresol)
        units = sec * 10 ** tsresol + frac
        data = frame[:snaplen]
        body = struct.pack("<IIIII", 0, units >> 32, units & 0xFFFFFFFF, len(data),
                           len(frame)) + _pad4(data)
        parts.append(_block(0x00000006, body))
    Path(path).write_bytes(b"".join(parts))


# --------------------------------------------------------------------------- scenarios

HTTP_REQ = b"GET / HTTP/1.1\r\nHost: server.test\r\nUser-Agent: generate.py\r\n\r\n"
HTTP_RESP = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\n"
             b"hello from the test server")


def _c(port: int) -> tuple[str, int]:
    return (CLIENT_IP4, port)


def _s(port: int = 443) -> tuple[str, int]:
    return (SERVER_IP4, port)


@dataclass
class ConnSpec:
    """A conversation plus how it is framed inside one capture file."""

    conv: Conversation
    frame_kw: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class FileSpec:
    name: str
    description: str
    conns: list[ConnSpec]
    fmt: str = "pcap"  # 'pcap' | 'pcapng'
    nanosecond: bool = False  # pcap
    tsresol: int = 6  # pcapng
    dsb: bool = False  # pcapng: embed key log lines for this file's connections
    interleave: bool = False  # connections overlap in time


def build_scenarios(pki: Pki, keylog: Path) -> list[FileSpec]:
    """Run every scenario's TLS connections; returns the files to write."""
    files: list[FileSpec] = []

    def cctx(**kw: Any) -> ssl.SSLContext:
        return client_context(pki, keylog=keylog, **kw)

    def sctx(**kw: Any) -> ssl.SSLContext:
        return server_context(pki, **kw)

    # 1. TLS 1.3 AES-128-GCM, SNI, ALPN h2
    conv = tls13_suite_conversation(
        "TLS_AES_128_GCM_SHA256", pki, keylog,
        client_kw={"alpn": ["h2", "http/1.1"]}, server_kw={"alpn": ["h2", "http/1.1"]},
        conv_kw={"server_hostname": SERVER_NAME, "client": _c(50010), "server": _s(),
                 "client_messages": [HTTP_REQ], "server_messages": [HTTP_RESP]})
    conv.expected.update(resumption=None, alpn_offered=["h2", "http/1.1"])
    files.append(FileSpec("tls13-aes128.pcap",
                          "TLS 1.3 TLS_AES_128_GCM_SHA256, SNI, ALPN h2, app data, close_notify, FIN",
                          [ConnSpec(conv)]))

    # 2. TLS 1.3 ChaCha20-Poly1305
    conv = tls13_suite_conversation(
        "TLS_CHACHA20_POLY1305_SHA256", pki, keylog, client_kw={}, server_kw={},
        conv_kw={"server_hostname": SERVER_NAME, "client": _c(50020), "server": _s(),
                 "client_messages": [HTTP_REQ], "server_messages": [HTTP_RESP]})
    conv.expected.update(resumption=None, alpn_offered=None)
    files.append(FileSpec("tls13-chacha.pcapng",
                          "TLS 1.3 TLS_CHACHA20_POLY1305_SHA256 (suite forced via OPENSSL_CONF)",
                          [ConnSpec(conv)], fmt="pcapng"))

    # 3. TLS 1.2 ECDHE
    c1 = tls_conversation(cctx(max_version="TLSv1.2", ciphers="ECDHE-RSA-AES128-GCM-SHA256"),
                          sctx(), server_hostname=SERVER_NAME, client=_c(50030), server=_s(),
                          client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    c2 = tls_conversation(cctx(max_version="TLSv1.2", ciphers="ECDHE-ECDSA-CHACHA20-POLY1305"),
                          sctx(cert="ecdsa"), server_hostname=SERVER_NAME, client=_c(50031),
                          server=_s(), client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    for c in (c1, c2):
        c.expected.update(resumption=None)
    files.append(FileSpec("tls12-ecdhe.pcap",
                          "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 and ECDHE-ECDSA-CHACHA20-POLY1305",
                          [ConnSpec(c1), ConnSpec(c2)]))

    # 4. TLS 1.2 RSA key exchange (GCM, CBC+EtM, CBC without EtM/EMS)
    rsa_conns = []
    for port, suite, opts, note in (
            (50040, "AES128-GCM-SHA256", 0, "RSA kx, AES-GCM, extended master secret"),
            (50041, "AES256-SHA256", 0, "RSA kx, AES-CBC SHA256, encrypt-then-MAC negotiated"),
            (50042, "AES128-SHA", OP_NO_EXTENDED_MASTER_SECRET | OP_NO_ENCRYPT_THEN_MAC,
             "RSA kx, AES-CBC SHA1, MAC-then-encrypt, no extended master secret")):
        c = tls_conversation(cctx(max_version="TLSv1.2", ciphers=suite, options=opts),
                             sctx(ciphers=suite),
                             server_hostname=SERVER_NAME, client=_c(port), server=_s(),
                             client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
        c.expected.update(resumption=None,
                          extended_master_secret=not (opts & OP_NO_EXTENDED_MASTER_SECRET),
                          encrypt_then_mac=("SHA" in suite and "GCM" not in suite
                                            and not (opts & OP_NO_ENCRYPT_THEN_MAC)))
        rsa_conns.append(ConnSpec(c, note=note))
    files.append(FileSpec("tls12-rsa.pcap",
                          "TLS 1.2 RSA key exchange: AES128-GCM, AES256-CBC-SHA256 (EtM), AES128-CBC-SHA (no EtM, no EMS)",
                          rsa_conns))

    # 5. TLS 1.2 session-ID resumption
    cc = cctx(max_version="TLSv1.2", ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    sc = sctx(no_ticket=True)
    full = tls_conversation(cc, sc, server_hostname=SERVER_NAME, client=_c(50050), server=_s(),
                            client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    resumed = tls_conversation(cc, sc, server_hostname=SERVER_NAME, client=_c(50051),
                               server=_s(), session=full.session,
                               client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    full.expected.update(resumption=None)
    resumed.expected.update(resumption="session_id" if resumed.expected["session_reused"] else None)
    files.append(FileSpec("tls12-resume.pcap",
                          "TLS 1.2 full handshake then session-ID resumption (tickets off)",
                          [ConnSpec(full), ConnSpec(resumed)]))

    cc = cctx(max_version="TLSv1.2", ciphers="ECDHE-RSA-AES256-GCM-SHA384")
    sc = sctx()
    full = tls_conversation(cc, sc, server_hostname=SERVER_NAME, client=_c(50055), server=_s(),
                            client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    resumed = tls_conversation(cc, sc, server_hostname=SERVER_NAME, client=_c(50056),
                               server=_s(), session=full.session,
                               client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    full.expected.update(resumption=None, ticket_issued=True)
    resumed.expected.update(resumption="ticket" if resumed.expected["session_reused"] else None)
    files.append(FileSpec("tls12-ticket-resume.pcap",
                          "TLS 1.2 full handshake with NewSessionTicket then ticket resumption (nanosecond pcap)",
                          [ConnSpec(full), ConnSpec(resumed)], nanosecond=True))

    # 6. TLS 1.3 PSK resumption
    cc = cctx()
    sc = sctx()
    full = tls_conversation(cc, sc, server_hostname=SERVER_NAME, client=_c(50060), server=_s(),
                            client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    resumed = tls_conversation(cc, sc, server_hostname=SERVER_NAME, client=_c(50061),
                               server=_s(), session=full.session,
                               client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    full.expected.update(resumption=None, ticket_issued=True)
    resumed.expected.update(resumption="psk" if resumed.expected["session_reused"] else None)
    files.append(FileSpec("tls13-resume.pcapng",
                          "TLS 1.3 full handshake (NewSessionTicket read) then PSK resumption",
                          [ConnSpec(full), ConnSpec(resumed)], fmt="pcapng"))

    # 7. TLS 1.3 HelloRetryRequest
    conv = tls_conversation(cctx(), sctx(curve="secp384r1"), server_hostname=SERVER_NAME,
                            client=_c(50070), server=_s(),
                            client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    conv.expected.update(resumption=None, hello_retry_request=True, group="secp384r1")
    files.append(FileSpec("tls13-hrr.pcap",
                          "TLS 1.3 HelloRetryRequest: server accepts only P-384, client key_share x25519",
                          [ConnSpec(conv)]))

    # 8. ALPN
    offered = ["h2", "http/1.1", "spdy/3"]
    a1 = tls_conversation(cctx(alpn=offered), sctx(alpn=["http/1.1"]),
                          server_hostname=SERVER_NAME, client=_c(50080), server=_s(),
                          client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    a2 = tls_conversation(cctx(alpn=offered), sctx(), server_hostname=SERVER_NAME,
                          client=_c(50081), server=_s(),
                          client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    for c in (a1, a2):
        c.expected.update(resumption=None, alpn_offered=offered)
    files.append(FileSpec("tls-alpn.pcap",
                          "ALPN h2,http/1.1,spdy/3 offered: http/1.1 chosen; then server without ALPN",
                          [ConnSpec(a1), ConnSpec(a2)]))

    # 9. no shared cipher
    conv = tls_conversation(cctx(max_version="TLSv1.2", ciphers="AES256-GCM-SHA384"),
                            sctx(max_version="TLSv1.2", ciphers="ECDHE-RSA-AES128-GCM-SHA256"),
                            server_hostname=SERVER_NAME, client=_c(50090), server=_s(),
                            close="fin", closer=1)
    conv.expected.update(resumption=None)
    files.append(FileSpec("tls-no-shared-cipher.pcap",
                          "TLS 1.2 disjoint cipher lists: server answers with a handshake_failure alert",
                          [ConnSpec(conv)]))

    # 10. reset mid-handshake
    conv = tls_conversation(cctx(max_version="TLSv1.2"), sctx(), server_hostname=SERVER_NAME,
                            client=_c(50100), server=_s(), max_flights=2, close="rst", closer=0)
    conv.expected.update(resumption=None, failure="reset", reset_by="client")
    files.append(FileSpec("tls-reset.pcap",
                          "TLS 1.2 ClientHello, server flight, then the client resets",
                          [ConnSpec(conv)]))

    # 11. not TLS
    http = raw_conversation([(0, HTTP_REQ), (1, HTTP_RESP)], client=_c(50110), server=_s(443),
                            expected={"protocol": "http"})
    sshc = raw_conversation([(1, b"SSH-2.0-TestServer_1.0\r\n"), (0, b"SSH-2.0-TestClient_1.0\r\n")],
                            client=_c(50111), server=_s(22), expected={"protocol": "ssh"})
    files.append(FileSpec("not-tls.pcap", "plain HTTP on port 443 and an SSH banner exchange on 22",
                          [ConnSpec(http), ConnSpec(sshc)]))

    # 12. segmented / reordered / retransmitted ClientHello, plus port 8443
    many = [f"proto-{i:02d}-" + "x" * 24 for i in range(40)] + ["http/1.1"]
    seg = tls_conversation(cctx(max_version="TLSv1.2", alpn=many), sctx(alpn=["http/1.1"]),
                           server_hostname=SERVER_NAME, client=_c(50120), server=_s(),
                           client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    seg.expected.update(resumption=None, alpn_offered=many, client_segment_size=300)
    alt = tls_conversation(cctx(), sctx(), server_hostname=SERVER_NAME, client=_c(50121),
                           server=_s(8443), client_messages=[HTTP_REQ],
                           server_messages=[HTTP_RESP])
    alt.expected.update(resumption=None)
    files.append(FileSpec("tls-segmented.pcap",
                          "TLS 1.2 ClientHello in 300-byte segments, reordered + one retransmission; TLS 1.3 on port 8443",
                          [ConnSpec(seg, {"mss": (300, 1460), "reorder": True, "duplicate": True},
                                    note="segments 2 and 3 of the ClientHello swapped, segment 2 retransmitted"),
                           ConnSpec(alt)]))

    # 14. no response
    conv = tls_conversation(cctx(), sctx(), server_hostname=SERVER_NAME, client=_c(50140),
                            server=_s(), max_flights=1, close="none")
    conv.unanswered = True
    conv.expected.update(resumption=None, failure="no_response")
    files.append(FileSpec("tls-no-response.pcap",
                          "ClientHello never answered nor ACKed; retransmitted twice",
                          [ConnSpec(conv)]))

    # 13. mixed, with DSB
    m1 = tls_conversation(cctx(alpn=["h2"]), sctx(alpn=["h2"]), server_hostname=SERVER_NAME,
                          client=(CLIENT_IP6, 50130), server=(SERVER_IP6, 443),
                          client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    m2 = tls_conversation(cctx(max_version="TLSv1.2", ciphers="ECDHE-RSA-AES128-GCM-SHA256"),
                          sctx(), server_hostname=SERVER_NAME, client=_c(50131), server=_s(),
                          client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    m3 = tls_conversation(cctx(max_version="TLSv1.2", ciphers="AES128-SHA", verify=False),
                          sctx(ciphers="AES128-SHA"),
                          server_hostname=None, client=_c(50132), server=_s(),
                          client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
    m4 = raw_conversation([(0, HTTP_REQ), (1, HTTP_RESP)], client=_c(50133), server=_s(80),
                          expected={"protocol": "http"})
    for c in (m1, m2, m3):
        c.expected.update(resumption=None)
    files.append(FileSpec("tls-mixed.pcapng",
                          "interleaved: TLS 1.3 over IPv6, TLS 1.2 ECDHE in VLAN 100, TLS 1.2 RSA CBC without SNI, HTTP on 80; key log in a DSB; ns timestamps",
                          [ConnSpec(m1, {"ipv6": True}, note="IPv6"),
                           ConnSpec(m2, {"vlan": 100}, note="802.1Q VLAN 100"),
                           ConnSpec(m3), ConnSpec(m4)],
                          fmt="pcapng", tsresol=9, dsb=True, interleave=True))
    return files


# --------------------------------------------------------------------------- output


def read_keylog(path: str | os.PathLike[str]) -> dict[bytes, list[str]]:
    """NSS key log lines grouped by client random."""
    out: dict[bytes, list[str]] = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            try:
                out.setdefault(bytes.fromhex(parts[1]), []).append(line)
            except ValueError:
                continue
    return out


def _plain_facts(data: bytes) -> dict[str, Any]:
    facts: dict[str, Any] = {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    try:
        facts["text"] = data.decode("ascii")
    except UnicodeDecodeError:
        facts["base64"] = base64.b64encode(data).decode()
    return facts


def conversation_manifest(conv: Conversation, stream: int, frame_kw: dict[str, Any],
                          note: str, keylog: dict[bytes, list[str]]) -> dict[str, Any]:
    """The MANIFEST entry of one connection."""
    exp = {k: v for k, v in conv.expected.items() if k != "plaintext"}
    ipv6 = bool(frame_kw.get("ipv6")) or ":" in conv.client[0]
    client_ip = str(_v6(conv.client[0])) if ipv6 else conv.client[0]
    server_ip = str(_v6(conv.server[0])) if ipv6 else conv.server[0]
    cr = conv.client_random
    labels = sorted({ln.split()[0] for ln in keylog.get(cr, [])}) if cr else []
    mss = frame_kw.get("mss", 1460)
    return {
        "stream": stream,
        "client": [client_ip, conv.client[1]],
        "server": [server_ip, conv.server[1]],
        "ipv6": ipv6,
        "vlan": frame_kw.get("vlan"),
        "segment_size": list(mss) if isinstance(mss, tuple) else [mss, mss],
        "reordered": bool(frame_kw.get("reorder")),
        "retransmission": bool(frame_kw.get("duplicate")) or conv.unanswered,
        "close": "none" if conv.unanswered else conv.close,
        "closer": ("client", "server")[conv.closer],
        "note": note,
        "client_random": cr.hex() if cr else None,
        "keylog_labels": labels,
        "bytes": {"c2s": len(conv.stream(0)), "s2c": len(conv.stream(1))},
        "bytes_sha256": {"c2s": hashlib.sha256(conv.stream(0)).hexdigest(),
                         "s2c": hashlib.sha256(conv.stream(1)).hexdigest()},
        "chunks": [[d, len(b)] for d, b in conv.chunks],
        "plaintext": {k: _plain_facts(v) for k, v in conv.expected["plaintext"].items()},
        "expected": exp,
    }


def file_frames(spec: FileSpec) -> list[tuple[float, bytes]]:
    """All frames of one capture file, in capture order."""
    per_conn = []
    for i, cs in enumerate(spec.conns):
        t0 = T0 + (i * 0.00025 if spec.interleave else i * 1.0)
        per_conn.append(frames_for(cs.conv, t0=t0, **cs.frame_kw))
    return merge_frames(*per_conn)


def generate_all(out: str | os.PathLike[str] = HERE) -> dict[str, Any]:
    """Generate the PKI, every capture, ``keylog.txt`` and ``MANIFEST.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pki = make_pki(out)
    keylog = out / KEYLOG_NAME
    if keylog.exists():
        keylog.unlink()
    specs = build_scenarios(pki, keylog)
    import gc
    gc.collect()  # close the key log BIOs of discarded contexts
    klog = read_keylog(keylog)
    manifest: dict[str, Any] = {
        "generator": "captures/generate.py",
        "python": sys.version.split()[0],
        "openssl": ssl.OPENSSL_VERSION,
        "t0": "2026-01-01T00:00:00Z",
        "keylog": KEYLOG_NAME,
        "server_key": "server.key",
        "files": {},
    }
    for spec in specs:
        frames = file_frames(spec)
        path = out / spec.name
        secrets = None
        if spec.fmt == "pcapng":
            if spec.dsb:
                lines = []
                for cs in spec.conns:
                    cr = cs.conv.client_random
                    lines += klog.get(cr, []) if cr else []
                secrets = ("\n".join(lines) + "\n").encode()
            write_pcapng(path, frames, tsresol=spec.tsresol, secrets=secrets)
        else:
            write_pcap(path, frames, nanosecond=spec.nanosecond)
        # stream numbers follow the order of each connection's first frame
        firsts = sorted(range(len(spec.conns)), key=lambda i: (T0 + (
            i * 0.00025 if spec.interleave else i * 1.0), i))
        stream_of = {ci: n for n, ci in enumerate(firsts)}
        manifest["files"][spec.name] = {
            "description": spec.description,
            "format": spec.fmt,
            "timestamp_resolution": (9 if spec.nanosecond else 6) if spec.fmt == "pcap" else spec.tsresol,
            "linktype": LINKTYPE_ETHERNET,
            "decryption_secrets_block": secrets is not None,
            "frames": len(frames),
            "size": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "connections": [conversation_manifest(cs.conv, stream_of[i], cs.frame_kw, cs.note, klog)
                            for i, cs in enumerate(spec.conns)],
        }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE), help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    manifest = generate_all(args.out)
    sys.stderr.write(f"wrote {len(manifest['files'])} captures to {args.out}\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == _CHILD_FLAG:
        _child_main()
    else:
        sys.exit(main())
