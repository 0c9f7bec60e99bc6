"""The upgrade stage: TLS after a plaintext start, on the sample captures of captures/upgrade/
(rows vs the manifest, and vs tshark 4.0) and on preambles fed directly (messy traffic)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import tshark_oracle  # noqa: E402
from analyzer.decrypt.keys import load_key_material  # noqa: E402
from analyzer.pipeline import Options, _Sink, analyze_file  # noqa: E402
from analyzer.tls.certs import CertCache  # noqa: E402
from analyzer.tls.summary import ConnectionSummary  # noqa: E402
from analyzer.upgrade import MAX_PREAMBLE_BYTES, MAX_RECOGNITION_BYTES, PLAINTEXT, Preamble  # noqa: E402
from captures.generate import client_context, pki_at, server_context, tls_conversation  # noqa: E402
from captures.upgrade import generate as ug  # noqa: E402

UPGRADE = ROOT / "captures" / "upgrade"
MANIFEST = json.loads((UPGRADE / "MANIFEST.json").read_text())
KEYLOG = UPGRADE / "keylog.txt"
FILES = sorted(MANIFEST["files"])
SCENARIOS = {sc.name: sc for sc in ug.scenarios()}


def _row(name: str, **kw) -> ConnectionSummary:
    (s,) = list(analyze_file(UPGRADE / name, options=Options(**kw)))
    return s


# --------------------------------------------------------------------------- rows vs the manifest


@pytest.mark.parametrize("name", FILES)
def test_rows_match_the_manifest(name: str) -> None:
    info = MANIFEST["files"][name]
    exp = info["connections"][0]["expected"]
    s = _row(name)
    assert s.plaintext_protocol == exp["plaintext_protocol"] == info["protocol"]
    assert s.upgraded_from == exp["upgraded_from"]
    assert s.proxy_target == exp["proxy_target"]
    assert s.is_tls == exp["tls"]
    if exp["tls"]:
        assert s.upgrade_frame == exp["upgrade_frame"]
        assert s.handshake_complete and s.failure is None
        assert s.version == exp["version"] and s.cipher_suite == exp["cipher"] and s.cipher_suite_code == exp["cipher_code"]
        assert s.sni == exp["sni"] == "server.test"
        assert s.client_hello_frame is not None  # its frame is compared with tshark's below
        assert s.events[0].kind == "upgrade" and s.events[1].kind == "client_hello"
        assert s.round_trips == 1 if s.version == "TLS 1.3" else s.round_trips == 2  # the preamble is no TLS flight
        if s.version == "TLS 1.2":
            assert s.cert_chain and s.cert_chain[0].subject  # the certificate, in clear
        assert not [e for e in s.errors if "refused" in e]
    else:
        assert s.failure == exp["failure"] and s.upgrade_frame is None
        if exp["failure"] == "upgrade_refused":
            assert any(exp["refusal"] in e for e in s.errors), s.errors
            assert s.failure_frame is not None
        else:
            assert s.errors and s.errors[0].startswith(f"{info['protocol']}:")


@pytest.mark.parametrize("name", [n for n in FILES if MANIFEST["files"][n]["connections"][0]["expected"]["tls"]])
def test_decrypted_with_the_key_log(name: str) -> None:
    """The application data the ssl module exchanged, decrypted from behind the preamble."""
    exp = MANIFEST["files"][name]["connections"][0]["expected"]
    got: dict[int, bytearray] = {0: bytearray(), 1: bytearray()}

    class Sink:
        def data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
            got[direction] += data

        def close(self) -> None:
            pass

    keys = load_key_material(keylogs=[KEYLOG])
    s = _row(name, keys=keys, app_data=lambda c, st: Sink())
    assert s.decryption == "ok" and s.finished_client and s.finished_server
    assert bytes(got[0]) == bytes.fromhex(exp["plaintext"]["c2s"])
    assert bytes(got[1]) == bytes.fromhex(exp["plaintext"]["s2c"])


def test_manifest_covers_every_protocol() -> None:
    tls = {f["protocol"] for f in MANIFEST["files"].values() if f["connections"][0]["expected"]["tls"]}
    assert tls == {"smtp", "lmtp", "pop3", "imap", "ftp", "nntp", "sieve", "irc", "xmpp", "ldap", "postgres",
                   "mysql", "rdp", "socks4", "socks5", "http_connect"}
    refused = {n for n, f in MANIFEST["files"].items() if f["connections"][0]["expected"].get("failure") == "upgrade_refused"}
    assert len(refused) >= 4
    assert any(f["port"] not in (25, 143) and f["protocol"] in ("smtp", "imap") for f in MANIFEST["files"].values())


# --------------------------------------------------------------------------- tshark 4.0 as the oracle

# Protocols tshark 4.0 does not hand to its TLS dissector after the plaintext start (checked per
# capture below: if tshark starts following one of them, the test says so).
TSHARK_DOES_NOT_FOLLOW = {
    "irc-starttls.pcap": "tshark 4.0's IRC dissector has no STARTTLS (IRCv3 tls) support",
    "rdp-tls.pcap": "tshark 4.0 decodes the X.224 negotiation but does not hand PROTOCOL_SSL's bytes to TLS",
    "smtp-pipelined.pcap": "tshark 4.0 pairs the 220 with the first of the pipelined RSET/NOOP/STARTTLS "
                           "(RFC 2920 allows them in one group, STARTTLS last), so it never starts TLS",
}


# Captures where tshark 4.0 sees only part of the handshake.
TSHARK_PARTIAL = {
    "http-connect-optimistic.pcap": "tshark 4.0 switches to TLS only after the 200 and takes the ClientHello the "
                                    "client sent before it (same segment as the CONNECT) for HTTP: it sees the "
                                    "ServerHello but no ClientHello, and cannot decrypt",
}


def _tshark_facts(name: str) -> dict[int, tshark_oracle.StreamFacts]:
    info = MANIFEST["files"][name]
    cmd = tshark_oracle.tshark_command(str(UPGRADE / name))
    if info["tshark_dissector"]:
        cmd += ["-d", f"tcp.port=={info['port']},{info['tshark_dissector']}"]
    out = subprocess.run(cmd, capture_output=True, timeout=120, check=True).stdout.strip()
    return tshark_oracle.parse_packets(json.loads(out) if out else [])


def _tshark_follow(name: str) -> tuple[bytes, bytes]:
    info = MANIFEST["files"][name]
    cmd = [tshark_oracle.TSHARK, "-r", str(UPGRADE / name), "-q", "-o", f"tls.keylog_file:{KEYLOG}",
           "-z", "follow,tls,raw,0"]
    if info["tshark_dissector"]:
        cmd[3:3] = ["-d", f"tcp.port=={info['port']},{info['tshark_dissector']}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    node0, node1 = bytearray(), bytearray()   # node 0 is whichever side tshark saw send first
    body = out.split("Follow: tls,raw\n", 1)[1].splitlines()
    first = body[1].split(": ", 1)[1].strip()
    for line in body[3:]:
        if line.startswith("====="):
            break
        if line.startswith("\t"):
            node1 += bytes.fromhex(line.strip())
        elif line.strip():
            node0 += bytes.fromhex(line.strip())
    client = "{}:{}".format(*info["connections"][0]["client"])
    return (bytes(node0), bytes(node1)) if first == client else (bytes(node1), bytes(node0))


@pytest.mark.skipif(not tshark_oracle.available(), reason="tshark not installed")
@pytest.mark.parametrize("name", FILES)
def test_same_tls_facts_as_tshark(name: str) -> None:
    s = _row(name)
    facts = _tshark_facts(name)
    sf = facts.get(0)
    hellos = sf.client_hellos if sf else []
    if name in TSHARK_DOES_NOT_FOLLOW:
        assert not hellos, f"tshark now follows {name}: move it out of TSHARK_DOES_NOT_FOLLOW"
        assert s.is_tls and s.handshake_complete  # we do, per the protocol's specification
        return
    if not s.is_tls:
        assert not hellos  # refused / never asked: neither of us sees TLS
        return
    if name in TSHARK_PARTIAL:
        assert not hellos and sf.server_hellos, f"tshark now sees all of {name}: move it out of TSHARK_PARTIAL"
        sh = sf.server_hellos[0]
        assert s.server_hello_frame == sh.frame and s.cipher_suite_code == sh.cipher_suite
        assert s.handshake_complete and s.version_code == sh.version
        return
    assert hellos and sf.server_hellos
    ch, sh = hellos[0], sf.server_hellos[0]
    assert s.client_hello_frame == ch.frame and s.server_hello_frame == sh.frame
    assert s.sni == ch.sni
    assert s.cipher_suites_offered and len(s.cipher_suites_offered) == len(ch.cipher_suites)
    assert s.cipher_suite_code == sh.cipher_suite and s.version_code == sh.version
    assert (s.session_id or None) == ch.session_id
    if MANIFEST["files"][name]["protocol"] != "mysql":  # MySQL has no go-ahead: its upgrade_frame is the client's request
        assert s.upgrade_frame == _tshark_go_ahead(UPGRADE / name, MANIFEST["files"][name]["port"], sh.frame)


def _tshark_go_ahead(path: Path, port: int, server_hello_frame: int) -> int:
    """The server's last frame with payload before its ServerHello, as tshark numbers frames: the go-ahead."""
    out = subprocess.run([tshark_oracle.TSHARK, "-r", str(path), "-T", "fields", "-e", "frame.number",
                          "-e", "tcp.srcport", "-e", "tcp.len"], capture_output=True, text=True, timeout=60).stdout
    frames = [int(f) for f, p, n in (ln.split("\t") for ln in out.splitlines())
              if int(p) == port and int(n) > 0 and int(f) < server_hello_frame]
    return max(frames)


@pytest.mark.skipif(not tshark_oracle.available(), reason="tshark not installed")
@pytest.mark.parametrize("name", [n for n in FILES if MANIFEST["files"][n]["connections"][0]["expected"]["tls"]
                                  and n not in TSHARK_DOES_NOT_FOLLOW and n not in TSHARK_PARTIAL])
def test_same_decrypted_bytes_as_tshark(name: str) -> None:
    exp = MANIFEST["files"][name]["connections"][0]["expected"]
    theirs = _tshark_follow(name)
    assert theirs == (bytes.fromhex(exp["plaintext"]["c2s"]), bytes.fromhex(exp["plaintext"]["s2c"]))


# --------------------------------------------------------------------------- fed directly

_PKI = pki_at(ROOT / "captures")


def _tls_chunks() -> list[tuple[int, bytes]]:
    conv = tls_conversation(client_context(_PKI, max_version="TLSv1.2"), server_context(_PKI),
                            server_hostname="server.test")
    return conv.chunks


TLS_CHUNKS = _tls_chunks()


def run_chunks(chunks: list[tuple[int, bytes, int]], server_port: int = 25, role_source: str = "syn") -> ConnectionSummary:
    """Feed (direction, bytes, frame) through the pipeline's sink, as TCP would."""
    flow = SimpleNamespace(role_source=role_source, stream=0, client_port=40000, server_port=server_port,
                           client_addr=b"\x7f\x00\x00\x01", server_addr=b"\x7f\x00\x00\x02", bytes=[0, 0],
                           first_frame=1, last_frame=chunks[-1][2] if chunks else 1, start_ts=0.0, last_ts=1.0)
    out: list = []
    sink = _Sink(flow, out, CertCache(), Options(), "t.pcap")
    for d, data, frame in chunks:
        if sink.wants_payload:
            sink.on_data(d, data, frame, frame / 1000)
    sink.on_fin(0, chunks[-1][2] + 1 if chunks else 1, 1.0)
    sink.on_close(flow, "fin")
    return out[0][1]


def framed(pre: list[tuple[int, bytes]], tls: bool = True) -> list[tuple[int, bytes, int]]:
    chunks = list(pre) + (TLS_CHUNKS if tls else [])
    return [(d, b, i + 1) for i, (d, b) in enumerate(chunks)]


def facts(s: ConnectionSummary) -> tuple:
    return (s.is_tls, s.upgraded_from, s.plaintext_protocol, s.upgrade_frame, s.proxy_target, s.version,
            s.cipher_suite, s.sni, s.handshake_complete, s.failure, s.client_hello_frame, s.server_hello_frame)


SPLIT_CASES = ["smtp-starttls", "smtp-pipelined", "pop3-stls", "imap-starttls", "ftp-auth-tls", "nntp-starttls",
               "sieve-starttls", "irc-starttls", "xmpp-starttls", "ldap-starttls", "postgres-sslrequest",
               "mysql-ssl", "rdp-tls", "socks4a-connect", "socks5-connect", "http-connect", "http-connect-optimistic", "smtp-refused",
               "smtp-never-asked", "lmtp-starttls"]


@pytest.mark.parametrize("name", SPLIT_CASES)
def test_preamble_split_at_every_byte_gives_the_same_row(name: str) -> None:
    """Every preamble chunk cut at every byte position (two segments, same frame): the same row."""
    sc = SCENARIOS[name]
    base = facts(run_chunks(framed(sc.preamble, sc.tls), sc.port))
    assert base[2] == sc.protocol and base[0] == sc.tls
    full = framed(sc.preamble, sc.tls)
    for i, (d, data, frame) in enumerate(full[: len(sc.preamble)]):
        for k in range(1, len(data)):
            cut = full[:i] + [(d, data[:k], frame), (d, data[k:], frame)] + full[i + 1:]
            assert facts(run_chunks(cut, sc.port)) == base, (name, i, k)


@pytest.mark.parametrize("name", ["smtp-starttls", "imap-starttls", "xmpp-starttls", "socks5-connect", "mysql-ssl"])
def test_whole_preamble_in_one_segment_per_direction(name: str) -> None:
    """Coalesced: the stream of each direction in as few segments as the exchange allows (the
    last preamble bytes and the first TLS record of the same side in one segment)."""
    sc = SCENARIOS[name]
    chunks = list(sc.preamble) + TLS_CHUNKS
    merged: list[tuple[int, bytes]] = []
    for d, b in chunks:
        if merged and merged[-1][0] == d:
            merged[-1] = (d, merged[-1][1] + b)
        else:
            merged.append((d, b))
    s = run_chunks([(d, b, i + 1) for i, (d, b) in enumerate(merged)], sc.port)
    assert s.is_tls and s.upgraded_from == sc.protocol and s.handshake_complete and s.sni == "server.test"


def test_go_ahead_and_first_tls_record_in_one_segment() -> None:
    """The server's go-ahead and its first TLS bytes in the same segment (and the client's likewise)."""
    pre = [(1, b"220 mx ESMTP\r\n"), (0, b"EHLO c\r\n"), (1, b"250 mx\r\n"), (0, b"STARTTLS\r\n" + TLS_CHUNKS[0][1])]
    rest = TLS_CHUNKS[1:]
    chunks = pre + [(1, b"220 go ahead\r\n" + rest[0][1])] + rest[1:]
    s = run_chunks([(d, b, i + 1) for i, (d, b) in enumerate(chunks)])
    assert s.is_tls and s.handshake_complete and s.upgrade_frame == 5 and s.client_hello_frame == 4


def test_capability_only_is_not_tls() -> None:
    """A session whose EHLO reply lists STARTTLS and whose bytes later contain STARTTLS as data."""
    pre = [(1, b"220 mx ESMTP\r\n"), (0, b"EHLO c\r\n"), (1, b"250-mx\r\n250 STARTTLS\r\n"),
           (0, b"MAIL FROM:<a@b>\r\n"), (1, b"250 ok\r\n"), (0, b"STARTTLS\r\n"), (1, b"220 ready\r\n")]
    s = run_chunks(framed(pre))
    assert not s.is_tls and s.failure == "not_tls" and s.plaintext_protocol == "smtp" and not s.upgraded_from
    assert any("offered" in e for e in s.errors)


def test_never_asked_is_skipped_cheaply() -> None:
    pre = [(1, b"220 mx ESMTP\r\n"), (0, b"EHLO c\r\n"), (1, b"250 mx\r\n"), (0, b"MAIL FROM:<a@b>\r\n")]
    p = Preamble(25)
    for i, (d, b) in enumerate(pre):
        p.feed(d, b, i + 1, 0.0)
    assert p.state == PLAINTEXT and not p.wants_payload and not p.buf[0] and not p.buf[1]


def test_mid_session_capture_without_greeting() -> None:
    """The capture starts at the client's STARTTLS: no greeting, no EHLO seen."""
    for pre, port, proto in (([(0, b"STARTTLS\r\n"), (1, b"220 2.0.0 Ready\r\n")], 587, "smtp"),
                             ([(0, b"a2 STARTTLS\r\n"), (1, b"a2 OK begin\r\n")], 1143, "imap"),
                             ([(0, b"STLS\r\n"), (1, b"+OK\r\n")], 110, "pop3"),
                             ([(0, b"STARTTLS\r\n"), (1, b"382 go\r\n")], 119, "nntp"),
                             ([(0, b"AUTH TLS\r\n"), (1, b"234 go\r\n")], 2121, "ftp")):
        for roles in ("syn", "port"):  # no SYN in such a capture: roles from the ports
            s = run_chunks(framed(pre), port, roles)
            assert s.is_tls and s.upgraded_from == proto and s.upgrade_frame == 2 and s.handshake_complete, proto


def test_starttls_twice() -> None:
    # refused, then asked again and accepted: TLS from the second go-ahead
    pre = [(1, b"220 mx\r\n"), (0, b"EHLO c\r\n"), (1, b"250 mx\r\n"), (0, b"STARTTLS\r\n"),
           (1, b"454 4.7.0 not now\r\n"), (0, b"STARTTLS\r\n"), (1, b"220 ok\r\n")]
    s = run_chunks(framed(pre))
    assert s.is_tls and s.upgraded_from == "smtp" and s.upgrade_frame == 7 and s.handshake_complete
    assert any("454" in e for e in s.errors)
    # both pipelined (RFC 3207 forbids it): the second STARTTLS is in what the client calls TLS: no false row
    pre = [(1, b"220 mx\r\n"), (0, b"EHLO c\r\n"), (1, b"250 mx\r\n"), (0, b"STARTTLS\r\nSTARTTLS\r\n"),
           (1, b"220 ok\r\n")]
    s = run_chunks(framed(pre, tls=False) + [(0, b"QUIT\r\n", 9)])
    assert not s.is_tls and s.failure == "not_tls" and not s.upgraded_from and s.plaintext_protocol == "smtp"


@pytest.mark.parametrize("pre", [
    [(1, b"220 mx\r\n"), (0, b"STARTTLS\r\n"), (1, b"250 sure\r\n")],           # 2xx no RFC allows
    [(1, b"220 mx\r\n"), (0, b"STARTTLS\r\n"), (1, b"hello there\r\n")],        # no reply line at all
    [(1, b"* OK\r\n"), (0, b"a STARTTLS\r\n"), (1, b"b OK wrong tag\r\n")],      # another tag's completion
    [(0, b"\x00\x00\x00\x08\x04\xd2\x16\x2f"), (1, b"X")],                      # PostgreSQL answer not S/N/E
    [(0, b"\x05\x01\x00"), (1, b"\x05\x00"), (0, b"\x05\x01\x00\x09\x00\x00")],   # SOCKS5 bad ATYP
])
def test_answers_no_rfc_allows_give_no_tls_row(pre: list[tuple[int, bytes]]) -> None:
    s = run_chunks(framed(pre, tls=False) + [(0, TLS_CHUNKS[0][1], 20)])
    assert not s.is_tls and not s.upgraded_from and s.failure in ("not_tls", "upgrade_refused")
    assert s.plaintext_protocol


def test_go_ahead_without_tls_after_it() -> None:
    pre = [(1, b"220 mx\r\n"), (0, b"STARTTLS\r\n"), (1, b"220 go\r\n"), (0, b"MAIL FROM:<a@b>\r\n")]
    s = run_chunks(framed(pre, tls=False))
    assert not s.is_tls and s.failure == "not_tls" and not s.upgraded_from and s.plaintext_protocol == "smtp"
    assert any("not followed by TLS" in e for e in s.errors)


def test_tls_first_connections_skip_the_stage() -> None:
    s = run_chunks(framed([], tls=True), 25)
    assert s.is_tls and s.plaintext_protocol is None and s.upgraded_from is None and s.handshake_complete
    assert not [e for e in s.events if e.kind == "upgrade"]


def test_unknown_protocol_is_judged_by_tls_as_before() -> None:
    s = run_chunks([(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1), (1, b"HTTP/1.1 200 OK\r\n\r\n", 2)], 80)
    assert not s.is_tls and s.failure == "not_tls" and s.plaintext_protocol is None
    assert any("not a TLS record" in e for e in s.errors)
    p = Preamble(22)
    p.feed(1, b"SSH-2.0-OpenSSH_9.6\r\n", 1, 0.0)
    assert p.state == "unknown"


def test_max_preamble_bytes() -> None:
    """A preamble that stays below the cap is followed; one that crosses it is not_tls, named."""
    line = b"250-" + b"X" * 60 + b"\r\n"
    n = MAX_PREAMBLE_BYTES // len(line)
    below = [(1, b"220 mx\r\n"), (0, b"EHLO c\r\n"), (1, line * (n - 2) + b"250 end\r\n"), (0, b"STARTTLS\r\n"),
             (1, b"220 go\r\n")]
    s = run_chunks(framed(below))
    assert s.is_tls and s.upgraded_from == "smtp"
    above = [(1, b"220 mx\r\n"), (0, b"EHLO c\r\n"), (1, line * (n + 2) + b"250 end\r\n"), (0, b"STARTTLS\r\n"),
             (1, b"220 go\r\n")]
    s = run_chunks(framed(above))
    assert not s.is_tls and s.failure == "not_tls" and s.plaintext_protocol == "smtp"
    assert any(str(MAX_PREAMBLE_BYTES) in e for e in s.errors)


def test_max_recognition_bytes() -> None:
    p = Preamble(25)
    p.feed(0, b"EHLOX" * (MAX_RECOGNITION_BYTES // 5 + 1), 1, 0.0)  # no line end, no known word
    assert p.state == "unknown"


def test_socks5_credentials_are_not_kept() -> None:
    sc = SCENARIOS["socks5-connect"]
    s = run_chunks(framed(sc.preamble), 1080)
    assert s.proxy_target == "server.test:443" and s.upgraded_from == "socks5"
    text = repr(facts(s)) + repr(s.errors) + repr([e.detail for e in s.events])
    assert "s3cret" not in text


def test_wire_strings_escaped_in_ladder_and_html(tmp_path: Path) -> None:
    from analyzer.report.ladder import ladder_steps, render_svg, render_text

    host = b"<script>x</script>\x1b[31m.test"
    pre = [(0, b"CONNECT " + host + b":443 HTTP/1.1\r\n\r\n"), (1, b"HTTP/1.1 200 OK\r\n\r\n")]
    s = run_chunks(framed(pre), 3128)
    assert s.proxy_target == host.decode("latin-1") + ":443"
    steps = ladder_steps(s.events, 0.0)
    svg = render_svg(steps, client="c", server="s")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    text = render_text(steps, client="c", server="s")
    assert "\x1b" not in text
    # the HTML report of a capture with that CONNECT
    from captures.generate import CLIENT_IP4, SERVER_IP4, Conversation, frames_for, write_pcap

    conv = Conversation(chunks=pre + TLS_CHUNKS, client=(CLIENT_IP4, 40001), server=(SERVER_IP4, 3128))
    write_pcap(tmp_path / "hostile-connect.pcap", frames_for(conv))
    r = subprocess.run([sys.executable, "-m", "analyzer", "report", str(tmp_path / "hostile-connect.pcap"),
                        "--out", str(tmp_path / "out"), "-q"], capture_output=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "Plaintext start" in page and "\x1b" not in page


def test_ladder_shows_the_preamble_as_one_step() -> None:
    from analyzer.report.ladder import ladder_steps

    for name, label in (("smtp-starttls.pcap", "SMTP STARTTLS"), ("socks5-connect.pcap", "SOCKS5 CONNECT server.test:443"),
                        ("postgres-sslrequest.pcap", "PostgreSQL SSLRequest"), ("smtp-refused.pcap", "refused (454)"),
                        ("rdp-tls.pcap", "RDP X.224 PROTOCOL_SSL")):
        s = _row(name)
        steps = ladder_steps(s.events, s.start_time)
        upgrade = [st for st in steps if st.kind == "upgrade"]
        assert len(upgrade) == 1 and label in upgrade[0].label and upgrade[0].direction == 0, (name, upgrade)
        assert steps[0].kind == "upgrade"


# --------------------------------------------------------------------------- real OpenSSL clients

OPENSSL = json.loads((UPGRADE / "openssl.json").read_text())
OPENSSL_KEYLOG = UPGRADE / OPENSSL["keylog"]
OPENSSL_FILES = sorted(OPENSSL["files"])
# tshark 4.0 on OpenSSL's clients: it follows all of them. Where no tshark dissector knows the upgrade
# (irc, lmtp, nntp, sieve: no -d given) the ports are unassigned, and tshark's TLS heuristic takes the
# stream from the ClientHello on; on IRC's own port 6667 (irc-starttls.pcap) it does not.
OPENSSL_TSHARK_DOES_NOT_FOLLOW: dict[str, str] = {}


def _openssl_row(name: str, **kw) -> ConnectionSummary:
    rows = list(analyze_file(UPGRADE / OPENSSL["files"][name]["file"], options=Options(**kw)))
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("name", OPENSSL_FILES)
def test_openssl_client_rows(name: str) -> None:
    """`openssl s_client -starttls NAME` against a server of ours: a TLS row, decrypted with its key log."""
    info = OPENSSL["files"][name]
    assert info["received_by_client"] and not info["server_errors"]  # the recording itself worked
    got: dict[int, bytearray] = {0: bytearray(), 1: bytearray()}

    class Sink:
        def data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
            got[direction] += data

        def close(self) -> None:
            pass

    s = _openssl_row(name, keys=load_key_material(keylogs=[OPENSSL_KEYLOG]), app_data=lambda c, st: Sink())
    assert s.is_tls and s.handshake_complete and s.failure is None
    assert s.upgraded_from == s.plaintext_protocol == info["protocol"]
    assert s.upgrade_frame is not None and s.client_hello_frame is not None
    assert s.upgrade_frame <= s.client_hello_frame
    assert s.version == info["openssl_version"].replace("TLSv", "TLS ") and s.cipher_suite == info["openssl_cipher"]
    assert s.sni == "server.test" and s.server_port == info["port"] and s.server_port > 20000
    assert s.decryption == "ok" and s.finished_client and s.finished_server
    assert bytes(got[0]) == bytes.fromhex(info["plaintext"]["c2s"])
    assert bytes(got[1]) == bytes.fromhex(info["plaintext"]["s2c"])


@pytest.mark.skipif(not tshark_oracle.available(), reason="tshark not installed")
@pytest.mark.parametrize("name", OPENSSL_FILES)
def test_openssl_client_same_as_tshark(name: str) -> None:
    info = OPENSSL["files"][name]
    path = UPGRADE / info["file"]
    dissector = info["tshark_dissector"]
    extra = ["-d", f"tcp.port=={info['port']},{dissector}"] if dissector else []
    out = subprocess.run(tshark_oracle.tshark_command(str(path)) + extra, capture_output=True, timeout=120,
                         check=True).stdout.strip()
    sf = tshark_oracle.parse_packets(json.loads(out) if out else []).get(0)
    s = _openssl_row(name)
    if name in OPENSSL_TSHARK_DOES_NOT_FOLLOW:
        assert sf is None or not sf.client_hellos, f"tshark now follows {name}"
        return
    assert sf is not None and sf.client_hellos and sf.server_hellos, name
    ch, sh = sf.client_hellos[0], sf.server_hellos[0]
    assert (s.client_hello_frame, s.server_hello_frame) == (ch.frame, sh.frame)
    assert s.sni == ch.sni and s.cipher_suite_code == sh.cipher_suite and s.version_code == sh.version
    assert len(s.cipher_suites_offered) == len(ch.cipher_suites) and (s.session_id or None) == ch.session_id
    if info["protocol"] != "mysql":
        assert s.upgrade_frame == _tshark_go_ahead(path, info["port"], sh.frame)
    cmd = [tshark_oracle.TSHARK, "-r", str(path), "-q", *extra, "-o", f"tls.keylog_file:{OPENSSL_KEYLOG}",
           "-z", "follow,tls,raw,0"]
    follow = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    data = b"".join(bytes.fromhex(ln.strip()) for ln in follow.split("Follow: tls,raw\n", 1)[1].splitlines()[3:]
                    if ln.strip() and not ln.startswith("====="))
    assert bytes.fromhex(info["plaintext"]["c2s"]) in data and bytes.fromhex(info["plaintext"]["s2c"]) in data


# --------------------------------------------------------------------------- refusals and plaintext outcomes per protocol

def struct_pack_gssenc() -> bytes:
    """PostgreSQL GSSENCRequest: length 8, code 80877104."""
    import struct

    return struct.pack(">II", 8, 80877104)


_XC, _XS = ug.xmpp_heads(b"jabber:client")
_TLSNS = ug.XMPP_TLS


@pytest.mark.parametrize("pre, port, proto, code", [
    ([(1, b"+OK ready\r\n"), (0, b"STLS\r\n"), (1, b"-ERR not now\r\n")], 110, "pop3", "-ERR"),
    ([(1, b"220 FTP ready\r\n"), (0, b"AUTH TLS\r\n"), (1, b"530 Please login with USER and PASS.\r\n")], 21, "ftp", "530"),
    ([(1, b"200 news ready\r\n"), (0, b"STARTTLS\r\n"), (1, b"580 Can not initiate TLS negotiation\r\n")], 119, "nntp", "580"),
    ([(1, b'"STARTTLS"\r\nOK\r\n'), (0, b"STARTTLS\r\n"), (1, b'NO "not now"\r\n')], 4190, "sieve", "NO"),
    ([(1, b":irc.test NOTICE * :hi\r\n"), (0, b"STARTTLS\r\n"), (1, b":irc.test 691 * :STARTTLS failed\r\n")], 6667,
     "irc", "691"),
    ([(0, _XC), (1, _XS), (0, b"<starttls xmlns='" + _TLSNS + b"'/>"), (1, b"<failure xmlns='" + _TLSNS + b"'/>")],
     5222, "xmpp", "<failure/>"),
    ([(0, ug.rdp_connection_request(0x1 | 0x2)), (1, ug.rdp_connection_confirm(0x2, failure=True))], 3389, "rdp",
     "RDP_NEG_FAILURE 2"),
    ([(0, ug.rdp_connection_request(0x1)), (1, ug.rdp_connection_confirm(0x0))], 3389, "rdp", "PROTOCOL_RDP"),
    ([(0, ug.socks4a_request(b"server.test", 443)), (1, ug.socks4_reply(91))], 1080, "socks4", "CD 91"),
    ([(0, b"\x05\x01\x02"), (1, b"\x05\xff")], 1080, "socks5", "METHOD 0xff"),
    ([(0, b"\x05\x01\x02"), (1, b"\x05\x02"), (0, b"\x01\x01a\x01b"), (1, b"\x01\x01")], 1080, "socks5", "auth status 1"),
    ([(0, ug.pg_ssl_request()), (1, b"E")], 5432, "postgres", "E (ErrorResponse)"),
])
def test_refusals(pre: list[tuple[int, bytes]], port: int, proto: str, code: str) -> None:
    s = run_chunks(framed(pre, tls=False) + [(0, b"\x16\x03\x01\x00\x05hello", 30)], port)
    assert s.failure == "upgrade_refused" and s.plaintext_protocol == proto and not s.is_tls, (s.failure, s.errors)
    assert any(code in e for e in s.errors), s.errors


@pytest.mark.parametrize("pre, port, proto, why", [
    ([(1, ug.mysql_greeting()), (0, ug.mysql_packet(1, b"\x8d\xa2\x0b\x00" + b"\x00" * 60))], 3306, "mysql",
     "HandshakeResponse in clear"),
    ([(1, ug.mysql_greeting(ssl_capable=False)), (0, ug.mysql_packet(1, b"\x05\xa2\x0b\x00" + b"\x00" * 60))], 3306,
     "mysql", "HandshakeResponse in clear"),
    ([(0, ug.pg_startup(b"alice"))], 5432, "postgres", "StartupMessage in clear"),
    ([(0, struct_pack_gssenc()), (1, b"G")], 5432, "postgres", "GSSAPI encryption"),
    ([(0, ug.rdp_connection_request(0x0))], 3389, "rdp", "standard RDP security"),
    ([(1, b"* PREAUTH ready\r\n")], 143, "imap", "PREAUTH"),
    ([(1, b"* OK ready\r\n"), (0, b"a1 LOGIN alice secret\r\n")], 143, "imap", "LOGIN in clear"),
    ([(1, b"+OK ready\r\n"), (0, b"USER alice\r\n")], 110, "pop3", "USER in clear"),
    ([(1, b"220 FTP ready\r\n"), (0, b"USER anonymous\r\n")], 21, "ftp", "USER in clear"),
    ([(0, _XC), (1, _XS), (0, b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGE=</auth>")],
     5222, "xmpp", "<auth> in clear"),
    ([(1, b":irc.test NOTICE * :hi\r\n"), (0, b"NICK a\r\nUSER a 0 * :a\r\n"), (1, b":irc.test 001 a :Welcome\r\n")],
     6667, "irc", "registration in clear"),
])
def test_sessions_that_stay_in_clear(pre: list[tuple[int, bytes]], port: int, proto: str, why: str) -> None:
    s = run_chunks(framed(pre, tls=False), port)
    assert s.failure == "not_tls" and s.plaintext_protocol == proto and not s.is_tls and not s.upgraded_from
    assert any(why in e for e in s.errors), s.errors


def test_postgres_gssenc_refused_then_ssl() -> None:
    """GSSENCRequest answered 'N', then SSLRequest answered 'S' (libpq's order with gssencmode=prefer)."""
    pre = [(0, struct_pack_gssenc()), (1, b"N"), (0, ug.pg_ssl_request()), (1, b"S")]
    s = run_chunks(framed(pre), 5432)
    assert s.is_tls and s.upgraded_from == "postgres" and s.upgrade_frame == 4 and s.handshake_complete


def test_ldap_root_dse_search_before_starttls() -> None:
    search = ug.ldap_message(1, ug.ber(0x63, ug.ber(0x04, b"") + ug.ber(0x0A, b"\x00") + ug.ber(0x0A, b"\x00")
                                     + ug.ber(0x02, b"\x00") + ug.ber(0x02, b"\x00") + ug.ber(0x01, b"\x00")
                                     + ug.ber(0x87, b"objectClass") + ug.ber(0x30, ug.ber(0x04, b"supportedExtension"))))
    entry = ug.ldap_message(1, ug.ber(0x64, ug.ber(0x04, b"") + ug.ber(0x30, ug.ber(0x30, ug.ber(
        0x04, b"supportedExtension") + ug.ber(0x31, ug.ber(0x04, b"1.3.6.1.4.1.1466.20037"))))))
    done = ug.ldap_message(1, ug.ber(0x65, ug.ber(0x0A, b"\x00") + ug.ber(0x04, b"") + ug.ber(0x04, b"")))
    pre = [(0, search), (1, entry + done), (0, ug.ldap_starttls_request(2)), (1, ug.ldap_extended_response(2, 0))]
    s = run_chunks(framed(pre), 3890)
    assert s.is_tls and s.upgraded_from == "ldap" and s.upgrade_frame == 4


def test_http_connect_after_407() -> None:
    pre = [(0, b"CONNECT server.test:443 HTTP/1.1\r\n\r\n"), (1, b"HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n"),
           (0, b"CONNECT server.test:443 HTTP/1.1\r\nProxy-Authorization: Basic YTpi\r\n\r\n"),
           (1, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n")]
    s = run_chunks(framed(pre), 3128)
    assert s.is_tls and s.upgraded_from == "http_connect" and s.upgrade_frame == 4 and any("407" in e for e in s.errors)


def test_max_line_and_max_notes() -> None:
    from analyzer.upgrade.base import MAX_LINE, MAX_NOTES
    from analyzer.upgrade.mail import MAX_LINE_GUESS

    p = Preamble(25)
    p.feed(1, b"220 mx\r\n", 1, 0.0)
    p.feed(1, b"250-" + b"x" * MAX_LINE, 2, 0.0)
    assert p.state == PLAINTEXT and p.protocol == "smtp" and str(MAX_LINE) in p.reason
    p = Preamble(25)
    p.feed(1, b"220 mx\r\n", 1, 0.0)
    p.feed(1, b"250-" + b"x" * (MAX_LINE - 10), 2, 0.0)
    assert p.state != PLAINTEXT  # at the bound: still a line being read
    p = Preamble(25)
    p.feed(1, b"220 mx\r\n", 1, 0.0)
    for i in range(MAX_NOTES + 5):
        p.feed(0, b"STARTTLS\r\n", 2 + 2 * i, 0.0)
        p.feed(1, b"454 not now\r\n", 3 + 2 * i, 0.0)
    assert len(p.notes) == MAX_NOTES and p.refusal == "454"
    p = Preamble(5555)
    p.feed(0, b"STARTTLS\r\n", 1, 0.0)
    p.feed(1, b"x" * (MAX_LINE_GUESS + 1), 2, 0.0)
    assert p.state == PLAINTEXT and "too long" in p.reason


@pytest.mark.parametrize("name, first", [("smtp-starttls.pcap", b"STARTTLS"), ("imap-starttls.pcap", b"a002 STARTTLS"),
                                         ("pop3-stls.pcap", b"STLS")])
def test_capture_starting_mid_session(tmp_path: Path, name: str, first: bytes) -> None:
    """The sample capture cut (scapy) to start at the client's TLS request: no SYN, no greeting."""
    from scapy.all import Raw, rdpcap, wrpcap

    packets = rdpcap(str(UPGRADE / name))
    start = next(i for i, p in enumerate(packets) if Raw in p and bytes(p[Raw].load).startswith(first))
    path = tmp_path / f"mid-{name}"
    wrpcap(str(path), packets[start:])
    (s,) = list(analyze_file(path))
    exp = MANIFEST["files"][name]["connections"][0]["expected"]
    assert s.is_tls and s.upgraded_from == exp["upgraded_from"] and s.handshake_complete
    assert s.upgrade_frame == exp["upgrade_frame"] - start and s.sni == "server.test"
    assert s.server_port == MANIFEST["files"][name]["port"]
    if tshark_oracle.available():
        out = subprocess.run([tshark_oracle.TSHARK, "-r", str(path), "-Y", "tls.handshake.type==1 || tls.handshake.type==2",
                              "-T", "fields", "-e", "frame.number"], capture_output=True, text=True, timeout=60).stdout
        assert [int(x) for x in out.split()] == [s.client_hello_frame, s.server_hello_frame]
