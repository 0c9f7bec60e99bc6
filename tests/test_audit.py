"""Audit rules, policy files, findings output and exit codes.

Every default rule fires on a capture made for it: real TLS from Python's ssl
(OpenSSL 3.0) where OpenSSL still speaks the weakness, and, where it refuses
(SSL 3.0, RC4, 3DES, EXPORT, compression, heartbeat, no renegotiation_info,
SHA-1/MD5/P-192 certificates), a real handshake with the one field patched
(lengths re-encoded). A clean TLS 1.3 capture gives no finding at all.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from analyzer.audit import DEFAULT_RULES, Auditor, PolicyError, default_policy, failing, parse_policy
from captures import generate as g

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
T0 = dt.datetime.fromtimestamp(g.T0, tz=dt.timezone.utc)
HOST = "server.test"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------- certificates


class Certs:
    def __init__(self, d: Path) -> None:
        self.d = d
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Audit Test CA")])
        self.ca = (x509.CertificateBuilder().subject_name(self.ca_name).issuer_name(self.ca_name)
                   .public_key(self.ca_key.public_key()).serial_number(1)
                   .not_valid_before(T0 - dt.timedelta(days=3650)).not_valid_after(T0 + dt.timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(self.ca_key, hashes.SHA256()))

    def leaf(self, name: str, *, key=None, self_signed: bool = False, days: tuple[int, int] = (-30, 365),
             sans: tuple[str, ...] = (HOST,), signer: tuple | None = None) -> tuple[Path, Path, x509.Certificate]:
        key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0] if sans else name)])
        b = (x509.CertificateBuilder().subject_name(subject)
             .issuer_name(subject if self_signed else signer[1] if signer else self.ca_name)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(T0 + dt.timedelta(days=days[0])).not_valid_after(T0 + dt.timedelta(days=days[1])))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        cert = b.sign(key if self_signed else signer[0] if signer else self.ca_key, hashes.SHA256())
        crt, k = self.d / f"{name}.crt", self.d / f"{name}.key"
        crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        return crt, k, cert


def _tlv(der: bytes, i: int) -> tuple[int, int]:
    """(start of value, end) of the DER element whose tag is at i."""
    n = der[i + 1]
    if n < 0x80:
        return i + 2, i + 2 + n
    k = n & 0x7F
    return i + 2 + k, i + 2 + k + int.from_bytes(der[i + 2:i + 2 + k], "big")


SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")


def resign_rsa(cert: x509.Certificate, key: rsa.RSAPrivateKey, last_oid_byte: int, digest: hashes.HashAlgorithm) -> bytes:
    """The certificate re-signed with an old digest (sha1WithRSA: 5, md5WithRSA: 4), which
    cryptography's builder refuses: the OID is swapped in place and the TBS signed again."""
    der = cert.public_bytes(serialization.Encoding.DER)
    new_oid = SHA256_RSA[:-1] + bytes([last_oid_byte])
    v0, _ = _tlv(der, 0)
    tbs_start = v0
    _, tbs_end = _tlv(der, tbs_start)
    tbs = der[tbs_start:tbs_end].replace(SHA256_RSA, new_oid, 1)
    sig = key.sign(tbs, padding.PKCS1v15(), digest)
    rest = der[tbs_end:].replace(SHA256_RSA, new_oid, 1)
    bs_tag = rest.index(b"\x03", 2 + rest[1])  # BIT STRING after the AlgorithmIdentifier
    head = rest[:bs_tag]
    bitstring = b"\x03" + _len(len(sig) + 1) + b"\x00" + sig
    body = tbs + head + bitstring
    return b"\x30" + _len(len(body)) + body


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


# --------------------------------------------------------------------------- patching real handshakes


def _split_records(data: bytes) -> tuple[list[tuple[int, int, bytes]], bytes]:
    recs, i = [], 0
    while i + 5 <= len(data):
        typ, ver, n = struct.unpack("!BHH", data[i:i + 5])
        recs.append((typ, ver, data[i + 5:i + 5 + n]))
        i += 5 + n
    return recs, data[i:]


def edit_flight(conv: g.Conversation, direction: int, edit, record_version: int | None = None) -> None:
    """Apply `edit(messages)` to the handshake messages at the start of the first chunk in `direction`,
    re-encoding handshake and record lengths (the rest of the chunk is kept byte for byte)."""
    idx = next(i for i, (d, _) in enumerate(conv.chunks) if d == direction)
    recs, tail = _split_records(conv.chunks[idx][1])
    n_hs = 0
    while n_hs < len(recs) and recs[n_hs][0] == 22:
        n_hs += 1
    hs = b"".join(r[2] for r in recs[:n_hs])
    msgs, i = [], 0
    while i + 4 <= len(hs):
        t, n = hs[i], int.from_bytes(hs[i + 1:i + 4], "big")
        msgs.append([t, hs[i + 4:i + 4 + n]])
        i += 4 + n
    edit(msgs)
    new_hs = b"".join(bytes([t]) + len(b).to_bytes(3, "big") + b for t, b in msgs)
    ver = record_version if record_version is not None else recs[0][1]
    out = b"".join(struct.pack("!BHH", 22, ver, len(new_hs[j:j + 16384])) + new_hs[j:j + 16384]
                   for j in range(0, len(new_hs), 16384))
    out += b"".join(struct.pack("!BHH", t, v if record_version is None else record_version, len(b)) + b
                    for t, v, b in recs[n_hs:]) + tail
    conv.chunks[idx] = (direction, out)


def _hello_offsets(body: bytes) -> int:
    """Offset just after legacy_session_id in a ClientHello/ServerHello body."""
    return 35 + body[34]


def sh_set(field: str, value: int):
    def edit(msgs):
        for m in msgs:
            if m[0] == 2:
                b = bytearray(m[1])
                o = _hello_offsets(b)
                if field == "version":
                    b[0:2] = value.to_bytes(2, "big")
                elif field == "suite":
                    b[o:o + 2] = value.to_bytes(2, "big")
                elif field == "compression":
                    b[o + 2] = value
                m[1] = bytes(b)
    return edit


def sh_rename_ext(old: int, new: int):
    def edit(msgs):
        for m in msgs:
            if m[0] == 2:
                b = bytearray(m[1])
                i = _hello_offsets(b) + 3 + 2
                while i + 4 <= len(b):
                    t, n = struct.unpack("!HH", b[i:i + 4])
                    if t == old:
                        b[i:i + 2] = new.to_bytes(2, "big")
                    i += 4 + n
                m[1] = bytes(b)
    return edit


def ch_edit(*, version: int | None = None, suite: tuple[int, int] | None = None,
            add_ext: tuple[int, bytes] | None = None):
    def edit(msgs):
        for m in msgs:
            if m[0] == 1:
                b = bytearray(m[1])
                if version is not None:
                    b[0:2] = version.to_bytes(2, "big")
                o = _hello_offsets(b)
                n = int.from_bytes(b[o:o + 2], "big")
                if suite is not None:
                    for j in range(o + 2, o + 2 + n, 2):
                        if int.from_bytes(b[j:j + 2], "big") == suite[0]:
                            b[j:j + 2] = suite[1].to_bytes(2, "big")
                            break
                e = o + 2 + n
                e += 1 + b[e]  # compression methods
                if add_ext is not None:
                    t, data = add_ext
                    ext = struct.pack("!HH", t, len(data)) + data
                    total = int.from_bytes(b[e:e + 2], "big") + len(ext)
                    b[e:e + 2] = total.to_bytes(2, "big")
                    b += ext
                m[1] = bytes(b)
    return edit


def swap_leaf(der: bytes):
    def edit(msgs):
        for m in msgs:
            if m[0] == 11:
                body = m[1]
                first = int.from_bytes(body[3:6], "big")
                rest = body[6 + first:]
                certs = len(der).to_bytes(3, "big") + der + rest
                m[1] = len(certs).to_bytes(3, "big") + certs
    return edit


# --------------------------------------------------------------------------- the captures


def _ctx_client(*, min_v="TLSv1.2", max_v=None, ciphers=None, options=0) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers(ciphers or "DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = g._TLS_VERSIONS[min_v]
    if max_v:
        ctx.maximum_version = g._TLS_VERSIONS[max_v]
    ctx.options |= options
    return ctx


def _ctx_server(cert: tuple[Path, Path, object], *, min_v="TLSv1", max_v=None, ciphers=None, options=0) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers(ciphers or "DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = g._TLS_VERSIONS[min_v]
    if max_v:
        ctx.maximum_version = g._TLS_VERSIONS[max_v]
    ctx.options |= options
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def _write(path: Path, *convs: g.Conversation) -> Path:
    frames = g.merge_frames(*(g.frames_for(c, t0=g.T0 + i) for i, c in enumerate(convs)))
    g.write_pcap(path, frames)
    return path


@pytest.fixture(scope="session")
def audit_captures(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("audit-captures")
    certs = Certs(d)
    good = certs.leaf("good")
    port = iter(range(51000, 52000))

    def conv(c, s, *, sni: str | None = HOST, **kw) -> g.Conversation:
        cv = g.tls_conversation(c, s, server_hostname=sni, client=(g.CLIENT_IP4, next(port)), **kw)
        return cv

    def tls12(**kw) -> g.Conversation:
        cc = dict(max_v="TLSv1.2", ciphers=kw.pop("client_ciphers", None), options=kw.pop("client_options", 0))
        return conv(_ctx_client(**cc), _ctx_server(kw.pop("cert", good), ciphers=kw.pop("server_ciphers", None)), **kw)

    out: dict[str, Path] = {}

    def save(rule: str, *convs: g.Conversation) -> None:
        out[rule] = _write(d / f"{rule}.pcap", *convs)

    save("clean-tls13", conv(_ctx_client(min_v="TLSv1.3"), _ctx_server(good, min_v="TLSv1.3")))
    save("tls10-negotiated", conv(_ctx_client(min_v="TLSv1", max_v="TLSv1", ciphers="ECDHE-RSA-AES128-SHA:@SECLEVEL=0"),
                                  _ctx_server(good, max_v="TLSv1")))
    save("tls11-negotiated", conv(_ctx_client(min_v="TLSv1.1", max_v="TLSv1.1"), _ctx_server(good, max_v="TLSv1.1")))
    save("weak-version-offered", conv(_ctx_client(min_v="TLSv1"), _ctx_server(good, min_v="TLSv1.3")))
    c = tls12(client_ciphers="ECDHE-RSA-AES128-SHA:@SECLEVEL=0")
    edit_flight(c, 0, ch_edit(version=0x0300), record_version=0x0300)
    edit_flight(c, 1, sh_set("version", 0x0300), record_version=0x0300)
    save("ssl3-negotiated", c)
    save("null-cipher", tls12(client_ciphers="NULL-SHA256:@SECLEVEL=0", server_ciphers="NULL-SHA256:@SECLEVEL=0"))
    for rule, code in (("export-cipher", 0x0003), ("rc4-cipher", 0x0005), ("sweet32-cipher", 0x000A)):
        c = tls12(client_ciphers="AES128-SHA:@SECLEVEL=0")
        edit_flight(c, 0, ch_edit(suite=(0x002F, code)))
        edit_flight(c, 1, sh_set("suite", code))
        save(rule, c)
    save("anonymous-cipher", tls12(client_ciphers="AECDH-AES128-SHA:@SECLEVEL=0",
                                   server_ciphers="AECDH-AES128-SHA:@SECLEVEL=0"))
    save("cbc-without-etm", tls12(client_ciphers="ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
                                  client_options=g.OP_NO_ENCRYPT_THEN_MAC))
    save("no-forward-secrecy", tls12(client_ciphers="AES128-GCM-SHA256:@SECLEVEL=0"))
    c = tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    edit_flight(c, 1, sh_rename_ext(0xFF01, 0xFF7E))  # the server's renegotiation_info disappears
    save("no-secure-renegotiation", c)
    c = tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    edit_flight(c, 1, sh_set("compression", 1))
    save("tls-compression", c)
    save("cert-expired", tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256", cert=certs.leaf("expired", days=(-400, -5))))
    save("cert-not-yet-valid", tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256",
                                     cert=certs.leaf("future", days=(5, 400))))
    save("cert-self-signed", tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256",
                                   cert=certs.leaf("self", self_signed=True)))
    save("cert-weak-rsa-key", tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256", cert=certs.leaf(
        "rsa1024", key=rsa.generate_private_key(public_exponent=65537, key_size=1024))))
    # OpenSSL would not negotiate with a P-192 key, nor cryptography sign with SHA-1/MD5: real handshake, leaf swapped
    _, _, p192 = certs.leaf("p192", key=ec.generate_private_key(ec.SECP192R1()))
    c = tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    edit_flight(c, 1, swap_leaf(p192.public_bytes(serialization.Encoding.DER)))
    save("cert-weak-ec-key", c)
    rsa_ca = (rsa.generate_private_key(public_exponent=65537, key_size=2048),
              x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Audit Test RSA CA")]))
    for rule, oid_byte, digest in (("cert-sha1-signature", 5, hashes.SHA1()), ("cert-md5-signature", 4, hashes.MD5())):
        _, _, cert = certs.leaf(rule, signer=rsa_ca)
        der = resign_rsa(cert, rsa_ca[0], oid_byte, digest)
        c = tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256")
        edit_flight(c, 1, swap_leaf(der))
        save(rule, c)
    save("cert-name-mismatch", tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256", sni="www.example.org"))
    save("handshake-alert", conv(_ctx_client(min_v="TLSv1.3"), _ctx_server(good, max_v="TLSv1.2")))
    cc = _ctx_client(max_v="TLSv1.2", ciphers="ECDHE-RSA-AES128-GCM-SHA256", options=g.OP_NO_EXTENDED_MASTER_SECRET)
    sc = _ctx_server(good)
    first = conv(cc, sc)
    second = conv(cc, sc, session=first.session)
    assert second.expected["session_reused"]
    save("resumption-without-ems", first, second)
    c = tls12(client_ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    edit_flight(c, 0, ch_edit(add_ext=(15, b"\x01")))  # heartbeat, peer_allowed_to_send
    save("heartbeat-offered", c)
    # the plaintext rules: sessions of the upgrade samples (with a clean TLS connection beside them)
    from captures.upgrade import generate as ug

    upgrade = {sc.name: sc for sc in ug.scenarios()}
    for rule, name in (("plaintext-without-starttls", "smtp-never-asked"), ("starttls-refused", "smtp-refused")):
        plain, _ = ug.build(upgrade[name], None, d / "unused-keylog.txt", next(port))
        save(rule, plain, conv(_ctx_client(min_v="TLSv1.3"), _ctx_server(good, min_v="TLSv1.3")))
    return out


def _audit(path: Path) -> tuple[Auditor, list]:
    from analyzer.pipeline import analyze_file

    a = Auditor(default_policy())
    for s in analyze_file(path):
        a.add(s)
    return a, a.sorted_findings()


# --------------------------------------------------------------------------- tests


TESTABLE = [r.id for r in DEFAULT_RULES if r.id not in ("ssl2-negotiated", "dtls10-negotiated",  # DTLS: tests/test_dtls.py
                                                         "ticket-lifetime-exceeded", "resumption-refused-rate")]  # test_lineage.py


@pytest.mark.parametrize("rule", TESTABLE)
def test_each_rule_fires_on_its_capture(audit_captures, rule):
    a, findings = _audit(audit_captures[rule])
    assert a.connections >= 1
    fired = {f.rule for f in findings}
    assert rule in fired, (rule, [(f.rule, f.evidence) for f in findings])
    f = next(f for f in findings if f.rule == rule)
    assert f.capture == f"{rule}.pcap" and f.stream is not None and f.evidence and f.client and f.server


def test_plaintext_rules_evidence(audit_captures):
    findings = _audit(audit_captures["plaintext-without-starttls"])[1]
    (f,) = [f for f in findings if f.rule == "plaintext-without-starttls"]
    assert "plaintext_protocol=smtp" in f.evidence and "MAIL in clear" in f.evidence
    assert "although the server offered TLS" in f.evidence  # its EHLO reply listed STARTTLS
    findings = _audit(audit_captures["starttls-refused"])[1]
    (f,) = [f for f in findings if f.rule == "starttls-refused"]
    assert "454" in f.evidence and f.sni is None
    assert not [f for f in findings if f.rule == "plaintext-without-starttls"]  # refused is its own rule


def test_clean_tls13_capture_has_no_findings(audit_captures):
    a, findings = _audit(audit_captures["clean-tls13"])
    assert a.connections == 1
    assert findings == []


def test_evidence_text(audit_captures):
    ev = {f.rule: f.evidence for f in _audit(audit_captures["tls10-negotiated"])[1]}
    assert ev["tls10-negotiated"] == "version=TLS 1.0"
    ev = {f.rule: f.evidence for f in _audit(audit_captures["rc4-cipher"])[1]}
    assert ev["rc4-cipher"] == "cipher_suite=TLS_RSA_WITH_RC4_128_SHA"
    ev = {f.rule: f.evidence for f in _audit(audit_captures["cert-weak-rsa-key"])[1]}
    assert "cert_key_bits=1024" in ev["cert-weak-rsa-key"]
    ev = {f.rule: f.evidence for f in _audit(audit_captures["cert-name-mismatch"])[1]}
    assert "sni=www.example.org" in ev["cert-name-mismatch"] and "DNS:server.test" in ev["cert-name-mismatch"]


def test_ssl2_rule_on_a_row():
    # The TLS stage reads SSLv2-format ClientHellos but not SSLv2 SERVER-HELLOs, so no capture can
    # negotiate SSL 2.0 yet; the rule is checked on a row.
    a = Auditor(default_policy())
    found = a.check({"is_tls": True, "capture": "x", "stream": 0, "version": "SSL 2.0"})
    assert [f.rule for f in found] == ["ssl2-negotiated"]


def test_name_matching_wildcards_and_cn():
    a = Auditor(default_policy())
    base = {"is_tls": True, "capture": "x", "stream": 0, "version": "TLS 1.3", "cert_subject": "CN=a.example.com"}
    assert not a.check({**base, "sni": "a.example.com"})                     # CN when there are no SANs
    assert not a.check({**base, "sni": "b.example.com", "cert_sans": ("DNS:*.example.com",)})
    assert [f.rule for f in a.check({**base, "sni": "x.b.example.com", "cert_sans": ("DNS:*.example.com",)})] == [
        "cert-name-mismatch"]


def test_policy_disables_rerates_and_tunes():
    p = parse_policy(
        'fail_on = "high"\n[rules]\ncbc-without-etm = "off"\ntls10-negotiated = "high"\n'
        '[rules.cert-weak-rsa-key]\nmin_bits = 4096\nseverity = "low"\n')
    ids = {a.rule.id: a for a in p.rules}
    assert "cbc-without-etm" not in ids and ids["tls10-negotiated"].severity == "high"
    assert ids["cert-weak-rsa-key"].params["min_bits"] == 4096 and ids["cert-weak-rsa-key"].severity == "low"
    assert p.fail_on == "high"
    a = Auditor(p)
    f = a.check({"is_tls": True, "capture": "x", "stream": 0, "version": "TLS 1.3", "cert_subject": "CN=x",
                 "cert_key_type": "RSA", "cert_key_bits": 3072})
    assert [x.rule for x in f] == ["cert-weak-rsa-key"]
    assert failing(f, "high") == 0 and failing(f, "low") == 1 and failing(f, "never") == 0


@pytest.mark.parametrize("text, line, words", [
    ('name = "x"\n\ncolour = "red"\n', 3, "unknown key 'colour'"),
    ('[rules]\ntls10-negotiated = "low"\nno-such-rule = "off"\n', 3, "unknown rule id 'no-such-rule'"),
    ('[rules.tls10-negotiated]\nseverity = "low"\n\n[rules.bogus]\nenabled = false\n', 4, "unknown rule id 'bogus'"),
    ('[rules.cert-weak-rsa-key]\nmin_bits = 3072\nmax_bits = 1\n', 3, "unknown key 'max_bits'"),
    ('[rules]\ntls10-negotiated = "critical"\n', 2, "expected \"off\" or a severity"),
    ('fail_on = "sometimes"\n', 1, "fail_on must be one of"),
])
def test_policy_errors_name_the_line(text, line, words):
    with pytest.raises(PolicyError) as e:
        parse_policy(text, "p.toml")
    assert f"p.toml:{line}:" in str(e.value) and words in str(e.value)


def test_cli_exit_codes_formats_and_policy(audit_captures, tmp_path):
    clean, bad = audit_captures["clean-tls13"], audit_captures["tls10-negotiated"]
    r = cli("audit", str(clean), "-q")
    assert r.returncode == 0, r.stderr
    r = cli("audit", str(bad), "-f", "jsonl", "-q")
    assert r.returncode == 1, r.stderr
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    assert {"rule": "tls10-negotiated", "severity": "medium", "evidence": "version=TLS 1.0"}.items() <= recs[0].items() \
        or any(x["rule"] == "tls10-negotiated" and x["evidence"] == "version=TLS 1.0" for x in recs)
    assert cli("audit", str(bad), "--fail-on", "high", "-q").returncode == 0
    assert cli("audit", str(bad), "--fail-on", "never", "-q").returncode == 0
    pol = tmp_path / "p.toml"
    pol.write_text('[rules]\ntls10-negotiated = "high"\n')
    assert cli("audit", str(bad), "--fail-on", "high", "--policy", str(pol), "-q").returncode == 1
    pol.write_text('[rules]\ntls10-negotiated = "high"\n\ntls99 = "off"\n')
    r = cli("audit", str(bad), "--policy", str(pol))
    assert r.returncode == 2 and "p.toml:4" in r.stderr and "tls99" in r.stderr and "Traceback" not in r.stderr
    # input error -> 2 even with findings written
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture" * 20)
    r = cli("audit", str(bad), str(junk), "-f", "jsonl", "-q")
    assert r.returncode == 2 and "junk.pcap" in r.stderr and r.stdout.strip()
    assert cli("audit", str(bad), "--fail-on", "sometimes").returncode == 2
    # SARIF
    r = cli("audit", str(bad), "-f", "sarif", "-q")
    log = json.loads(r.stdout)
    assert log["version"] == "2.1.0"
    res = log["runs"][0]["results"]
    assert any(x["ruleId"] == "tls10-negotiated" and x["level"] == "warning" for x in res)
    ids = [x["id"] for x in log["runs"][0]["tool"]["driver"]["rules"]]
    assert all(ids[x["ruleIndex"]] == x["ruleId"] for x in res)
    # parquet
    out = tmp_path / "f.parquet"
    r = cli("audit", str(bad), "-f", "parquet", "-o", str(out), "-q")
    import pandas as pd

    assert r.returncode == 1 and "tls10-negotiated" in set(pd.read_parquet(out)["rule"])



EXTRAS = {"export-cipher": {"rc4-cipher", "no-forward-secrecy"}, "null-cipher": {"no-forward-secrecy"},
          "rc4-cipher": {"no-forward-secrecy"}, "sweet32-cipher": {"no-forward-secrecy"}}


def test_rule_captures_fire_nothing_else_and_parse_cleanly(audit_captures):
    from analyzer.pipeline import analyze_file

    for name, p in audit_captures.items():
        fired = {f.rule for f in _audit(p)[1]}
        want = set() if name == "clean-tls13" else {name} | EXTRAS.get(name, set())
        assert fired == want, name
        # the plaintext sessions say in `errors` why they are not TLS (their rules' evidence)
        assert all(not s.errors for s in analyze_file(p) if not s.plaintext_protocol), name
