"""Alerts in TLS 1.3 and after the Finished messages, on real handshakes (Python's ssl in memory,
which drives OpenSSL 3.0), framed as pcaps and compared with tshark 4.0.

- A TLS 1.3 client that rejects the server's certificate (OpenSSL's behaviour behind
  `s_client -verify_return_error` and Python's CERT_REQUIRED client alike) sends its alert before it
  switched to its handshake keys: a plaintext record of type 21 after the server's encrypted flight.
  RFC 8446 5.1/5.2: a protected TLS 1.3 record always has the outer type application_data, so that
  record is decoded (`unknown_ca` from the client), with or without keys. The committed capture
  tests/data/tls13-untrusted-ca-openssl.pcap is the same from `openssl s_client` itself.
- GnuTLS's client rejecting the certificate protects its alert under its handshake traffic keys
  (tests/data/tls13-untrusted-ca-gnutls.pcap with its key log): decrypted with the key log.
- A TLS 1.3 server that requires a client certificate and gets an empty Certificate answers the
  client's Finished with `certificate_required` (RFC 8446 4.4.2.4) under its application traffic
  keys. With the key log that alert is decrypted and ends the handshake: `failure = alert`,
  `handshake_complete = false`.
- An alert after completion that does not reject the final flight (close_notify at the end, in
  TLS 1.3 and TLS 1.2) is reported in the alert columns but leaves the handshake complete.
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

import analyzer
from analyzer.tls.registry import AlertDescription
from analyzer.tls.summary import ConnectionSummary
from captures import generate as g

import tshark_oracle as ts  # tests/ is on sys.path (pytest's default import mode)

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
DATA = Path(__file__).resolve().parent / "data"
OPENSSL_PORT = 48443  # the s_server port of tests/data/tls13-untrusted-ca-openssl.pcap
GNUTLS_PORT = 48444   # the gnutls-serv port of tests/data/tls13-untrusted-ca-gnutls.pcap
needs_tshark = pytest.mark.skipif(not ts.available(), reason="tshark is not installed")


@pytest.fixture(scope="module")
def pki() -> g.Pki:
    return g.pki_at(CAPTURES)


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> g.Pki:
    """A second CA the test server's certificate does not chain to."""
    return g.make_pki(tmp_path_factory.mktemp("other-ca"), reuse=False)


def _write(tmp: Path, name: str, conv: g.Conversation) -> Path:
    path = tmp / f"{name}.pcap"
    g.write_pcap(path, g.frames_for(conv))
    return path


def _row(path: Path, keylog: Path | None = None) -> ConnectionSummary:
    rows = [s for s in analyzer.iter_summaries([path], keylog=str(keylog) if keylog else None,
                                                 capture_secrets=False) if s.is_tls]
    assert len(rows) == 1
    return rows[0]


def _tshark_alerts(path: Path, server_port: int, keylog: Path | None = None) -> list[tuple[str, int, int]]:
    """(sender, level, description) of every alert tshark decodes, in order."""
    cmd = [ts.TSHARK, "-r", str(path), "-d", f"tcp.port=={server_port},tls", "-Y", "tls.alert_message",
           "-T", "fields", "-E", "separator=|",
           "-e", "tcp.srcport", "-e", "tls.alert_message.level", "-e", "tls.alert_message.desc"]
    if keylog is not None:
        cmd[3:3] = ["-o", f"tls.keylog_file:{keylog}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    alerts = []
    for line in out.splitlines():
        port, levels, descs = line.split("|")
        for level, desc in zip(levels.split(","), descs.split(",")):
            if desc:
                alerts.append(("server" if int(port) == server_port else "client", int(level), int(desc)))
    return alerts


def _tls13_client(ca: Path, keylog: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(ca))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if keylog is not None:
        ctx.keylog_filename = str(keylog)
    return ctx


# --------------------------------------------------------------------------- A: plaintext alert in TLS 1.3


@pytest.fixture(scope="module")
def untrusted(pki: g.Pki, other_pki: g.Pki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, g.Conversation]:
    """A TLS 1.3 client trusting another CA: it rejects the server's certificate with a plaintext alert."""
    tmp = tmp_path_factory.mktemp("untrusted")
    keylog = tmp / "keylog.txt"
    conv = g.tls_conversation(_tls13_client(other_pki.ca_cert, keylog), g.server_context(pki),
                              server_hostname="server.test")
    assert conv.expected["errors"]["client"] == "CERTIFICATE_VERIFY_FAILED"
    last_dir, last = conv.chunks[-1]
    # what OpenSSL sent: one alert record of type 21, 2 bytes, after the server's encrypted flight
    assert last_dir == 0 and last[0] == 21 and last[3:5] == b"\x00\x02"
    return _write(tmp, "untrusted", conv), keylog, conv


@pytest.mark.parametrize("with_keys", [False, True], ids=["no-keys", "keylog"])
def test_plaintext_tls13_alert_is_decoded(untrusted: tuple[Path, Path, g.Conversation], with_keys: bool) -> None:
    path, keylog, conv = untrusted
    assert keylog.read_text().strip()  # the client logged its handshake secrets before it rejected
    r = _row(path, keylog if with_keys else None)
    assert r.version == "TLS 1.3"
    assert r.alert == conv.expected["alert"] == "unknown_ca"
    assert r.alert_sender == "client" and r.alert_level == "fatal"
    assert r.failure == "alert" and not r.handshake_complete


@needs_tshark
def test_plaintext_tls13_alert_agrees_with_tshark(untrusted: tuple[Path, Path, g.Conversation]) -> None:
    path, _, conv = untrusted
    r = _row(path)
    assert _tshark_alerts(path, conv.server[1]) == [("client", 2, AlertDescription.UNKNOWN_CA)]
    assert (r.alert_sender, r.alert) == ("client", "unknown_ca")


def test_openssl_s_client_rejecting_the_certificate() -> None:
    """The same from the command line: `openssl s_client -verify_return_error -CAfile <other CA>`
    against `openssl s_server` over loopback (tests/data/SOURCE says how it was captured)."""
    path = DATA / "tls13-untrusted-ca-openssl.pcap"
    r = _row(path)
    assert r.version == "TLS 1.3" and r.server_port == OPENSSL_PORT
    assert (r.alert, r.alert_sender, r.alert_level, r.failure) == ("unknown_ca", "client", "fatal", "alert")
    assert not r.handshake_complete
    if ts.available():
        assert _tshark_alerts(path, OPENSSL_PORT) == [("client", 2, AlertDescription.UNKNOWN_CA)]


def test_gnutls_client_alert_under_handshake_keys() -> None:
    """gnutls-cli rejecting the certificate encrypts its alert under the client handshake traffic keys:
    `encrypted_alert` without keys, `bad_certificate` with the key log (tshark decrypts the same)."""
    path, keylog = DATA / "tls13-untrusted-ca-gnutls.pcap", DATA / "tls13-untrusted-ca-gnutls.keylog"
    plain = _row(path)
    assert (plain.alert, plain.alert_sender, plain.alert_level, plain.failure) == \
        ("encrypted_alert", "client", None, "alert")
    r = _row(path, keylog)
    assert r.decryption == "ok"
    assert (r.alert, r.alert_sender, r.alert_level, r.failure) == ("bad_certificate", "client", "fatal", "alert")
    assert not r.handshake_complete
    if ts.available():
        assert _tshark_alerts(path, GNUTLS_PORT) == []
        assert _tshark_alerts(path, GNUTLS_PORT, keylog) == [("client", 2, AlertDescription.BAD_CERTIFICATE)]


# --------------------------------------------------------------------------- B: alert under application keys


@pytest.fixture(scope="module")
def cert_required(pki: g.Pki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, g.Conversation]:
    """A TLS 1.3 server with CERT_REQUIRED and a client without a certificate."""
    tmp = tmp_path_factory.mktemp("cert-required")
    keylog = tmp / "keylog.txt"
    server = g.server_context(pki)
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(cafile=str(pki.ca_cert))
    conv = g.tls_conversation(_tls13_client(pki.ca_cert, keylog), server, server_hostname="server.test")
    assert conv.expected["errors"] == {"server": "PEER_DID_NOT_RETURN_A_CERTIFICATE"}
    last_dir, last = conv.chunks[-1]
    assert last_dir == 1 and last[0] == 23 and len(last) == 5 + 19  # one protected alert record
    assert "SERVER_TRAFFIC_SECRET_0" in keylog.read_text()
    return _write(tmp, "cert-required", conv), keylog, conv


def test_certificate_required_under_application_keys_fails_the_handshake(
        cert_required: tuple[Path, Path, g.Conversation]) -> None:
    path, keylog, _ = cert_required
    r = _row(path, keylog)
    assert r.decryption == "ok" and r.finished_client and r.finished_server
    assert r.client_auth == "empty"
    assert r.alert == "certificate_required" and r.alert_sender == "server" and r.alert_level == "fatal"
    assert r.failure == "alert" and not r.handshake_complete
    (alert,) = [e for e in r.events if e.kind == "alert"]
    assert (alert.direction, alert.detail) == (1, "fatal certificate_required")
    assert r.failure_frame == alert.frame == r.alert_frame
    assert r.last_frame > alert.frame  # the FIN came after it
    assert r.round_trips is None  # not complete: no round trips


@needs_tshark
def test_certificate_required_agrees_with_tshark(cert_required: tuple[Path, Path, g.Conversation]) -> None:
    path, keylog, conv = cert_required
    assert _tshark_alerts(path, conv.server[1], keylog) == [("server", 2, AlertDescription.CERTIFICATE_REQUIRED)]
    assert _tshark_alerts(path, conv.server[1]) == []  # without keys tshark sees no alert either
    r = _row(path, keylog)
    assert (r.alert_sender, r.alert_level, r.alert_code) == ("server", "fatal", AlertDescription.CERTIFICATE_REQUIRED)


# --------------------------------------------------------------------------- alerts after completion


@pytest.fixture(scope="module")
def closed_tls13(pki: g.Pki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, g.Conversation]:
    tmp = tmp_path_factory.mktemp("close13")
    keylog = tmp / "keylog.txt"
    conv = g.tls_conversation(_tls13_client(pki.ca_cert, keylog), g.server_context(pki, no_ticket=True),
                              server_hostname="server.test", close_notify=True, closer=1)
    assert conv.expected["handshake_complete"]
    return _write(tmp, "close13", conv), keylog, conv


@pytest.fixture(scope="module")
def closed_tls12(pki: g.Pki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, g.Conversation]:
    tmp = tmp_path_factory.mktemp("close12")
    keylog = tmp / "keylog.txt"
    conv = g.tls_conversation(g.client_context(pki, keylog=keylog, max_version="TLSv1.2"),
                              g.server_context(pki, ciphers="ECDHE-RSA-AES128-GCM-SHA256"),
                              server_hostname="server.test", close_notify=True, closer=0)
    assert conv.expected["handshake_complete"]
    return _write(tmp, "close12", conv), keylog, conv


@pytest.mark.parametrize("case,closer", [("closed_tls13", "server"), ("closed_tls12", "client")])
def test_close_notify_after_completion_is_reported_and_keeps_completion(
        case: str, closer: str, request: pytest.FixtureRequest) -> None:
    path, keylog, _ = request.getfixturevalue(case)
    plain = _row(path)
    assert plain.handshake_complete and plain.failure is None and plain.alert is None  # cannot be read
    r = _row(path, keylog)
    assert r.decryption == "ok"
    assert r.handshake_complete and r.failure is None
    assert r.alert == "close_notify" and r.alert_sender == closer and r.alert_level == "warning"


@needs_tshark
@pytest.mark.parametrize("case", ["closed_tls13", "closed_tls12"])
def test_close_notify_agrees_with_tshark(case: str, request: pytest.FixtureRequest) -> None:
    path, keylog, conv = request.getfixturevalue(case)
    theirs = _tshark_alerts(path, conv.server[1], keylog)
    assert theirs and {a[2] for a in theirs} == {AlertDescription.CLOSE_NOTIFY}
    r = _row(path, keylog)
    assert (r.alert_sender, 1, AlertDescription.CLOSE_NOTIFY) == theirs[0]
    # the ladder has every decrypted alert, both directions, as tshark lists them
    ours = [("client" if e.direction == 0 else "server", e.detail) for e in r.events if e.kind == "alert"]
    assert ours == [(sender, "warning close_notify") for sender, _, _ in theirs]


@pytest.fixture(scope="module")
def post_handshake_auth(pki: g.Pki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, g.Conversation]:
    """TLS 1.3 post-handshake authentication (RFC 8446 4.6.2): after application data both ways the
    server asks for a certificate, the client (without one) sends an empty Certificate and the
    server answers with a fatal certificate_required, long after the handshake completed."""
    tmp = tmp_path_factory.mktemp("pha")
    keylog = tmp / "keylog.txt"
    client = _tls13_client(pki.ca_cert, keylog)
    client.post_handshake_auth = True
    server = g.server_context(pki)
    server.verify_mode = ssl.CERT_REQUIRED
    server.load_verify_locations(cafile=str(pki.ca_cert))
    server.post_handshake_auth = True
    bios = [ssl.MemoryBIO() for _ in range(4)]
    cobj = client.wrap_bio(bios[0], bios[1], server_hostname="server.test")
    sobj = server.wrap_bio(bios[2], bios[3], server_side=True)
    chunks: list[tuple[int, bytes]] = []

    def flush() -> None:
        for d, out, peer in ((0, bios[1], bios[2]), (1, bios[3], bios[0])):
            data = out.read()
            if data:
                chunks.append((d, data))
                peer.write(data)

    def step(fn) -> object:
        try:
            return fn()
        except (ssl.SSLWantReadError, ssl.SSLError) as e:
            return e
        finally:
            flush()

    for _ in range(4):
        step(cobj.do_handshake)
        step(sobj.do_handshake)
    cobj.write(b"GET / HTTP/1.1\r\n\r\n")
    flush()
    assert step(lambda: sobj.read(100)) == b"GET / HTTP/1.1\r\n\r\n"
    sobj.write(b"HTTP/1.1 200 OK\r\n\r\n")
    flush()
    assert step(lambda: cobj.read(100)) == b"HTTP/1.1 200 OK\r\n\r\n"
    sobj.verify_client_post_handshake()
    sobj.write(b"more")
    flush()
    assert step(lambda: cobj.read(100)) == b"more"      # the client answered the request
    err = step(lambda: sobj.read(100))
    assert isinstance(err, ssl.SSLError) and err.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE"
    conv = g.Conversation(chunks=chunks, client=(g.CLIENT_IP4, 50000), server=(g.SERVER_IP4, 443))
    return _write(tmp, "pha", conv), keylog, conv


def test_fatal_alert_long_after_completion_keeps_completion(
        post_handshake_auth: tuple[Path, Path, g.Conversation]) -> None:
    path, keylog, _ = post_handshake_auth
    r = _row(path, keylog)
    assert r.decryption == "ok" and r.app_bytes_server and r.app_bytes_client
    assert r.handshake_complete and r.failure is None
    assert r.alert == "certificate_required" and r.alert_sender == "server" and r.alert_level == "fatal"
    assert r.client_auth == "empty"  # the post-handshake Certificate, seen decrypted


@needs_tshark
def test_post_handshake_alert_agrees_with_tshark(post_handshake_auth: tuple[Path, Path, g.Conversation]) -> None:
    path, keylog, conv = post_handshake_auth
    assert _tshark_alerts(path, conv.server[1], keylog) == [("server", 2, AlertDescription.CERTIFICATE_REQUIRED)]
    r = _row(path, keylog)
    assert (r.alert_sender, r.alert_code) == ("server", AlertDescription.CERTIFICATE_REQUIRED)
