"""DTLS over UDP: rows against the sample captures' manifest and against tshark 4.0.

Owns the tests of `analyzer.dtls` and the DTLS side of `analyzer.udp`: every capture in
captures/dtls (real OpenSSL and GnuTLS peers over loopback, `captures/dtls/record.py`)
and the real DTLS 1.3 capture in ../shared/captures/dtls give rows equal to what the
peers were told to do (MANIFEST.json) and to what tshark decodes from the same packets
(`dtls.*` fields: versions, suites, SNI, session IDs, cookie exchange, use_srtp, alerts,
handshake types per side, JA3/JA3S, and the application data tshark decrypts with
`-o tls.keylog_file:`); decryption and Finished verification; reordered, duplicated
and demultiplexed datagrams (STUN, RTP on the same 5-tuple, made with scapy from the
real datagrams); and the bounds of the fragment layer.

tshark facts this relies on (4.0): DTLS on a non-standard port needs `-d udp.port==P,dtls`
(its heuristic also finds the handshake); an ICMP port-unreachable quotes the datagram
it answers and tshark dissects the quoted DTLS record too (filtered out with `!icmp`);
there is no `-z follow,dtls`, so decrypted application data is compared as the
`data.data` of each frame; tshark 4.0 does not dissect the DTLS 1.3 unified header
(those datagrams are plain UDP to it), so only the DTLS 1.3 hellos are compared.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import analyzer
from analyzer.decrypt import KeyMaterial
from analyzer.dtls import handshake as dtls_handshake
from analyzer.dtls import connection as dtls_connection
from analyzer.pipeline import Options, analyze_file
from analyzer.tls.registry import alert_name, cipher_suite_name, srtp_profile_name, version_name

ROOT = Path(__file__).resolve().parent.parent
DTLS_DIR = ROOT / "captures" / "dtls"
SHARED = ROOT.parent / "shared" / "captures"
KEYLOG = DTLS_DIR / "keylog.txt"
MANIFEST = json.loads((DTLS_DIR / "MANIFEST.json").read_text())
SAMPLES = sorted(DTLS_DIR / name for name in MANIFEST["files"])
WOLFSSL13 = SHARED / "dtls" / "dtls13-wolfssl.pcap"
ALL = SAMPLES + ([WOLFSSL13] if WOLFSSL13.exists() else [])
TSHARK = shutil.which("tshark")
DTLS_PORTS = "udp.port==24431-24460,dtls"    # record.py's ports

needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def _rows(path: Path, keylog: bool = False) -> list[dict]:
    df = analyzer.analyze([str(path)], keylog=str(KEYLOG) if keylog else None)
    return [r for r in df.to_dict("records") if r["transport"] == "dtls"]


def _val(v):
    return None if v is None or (isinstance(v, float) and v != v) else v


# --------------------------------------------------------------------------- manifest


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_rows_match_manifest(path: Path) -> None:
    expected = MANIFEST["files"][path.name]["connections"]
    rows = _rows(path, keylog=True)
    assert len(rows) == len(expected)
    for row, conn in zip(rows, expected):
        assert row["transport"] == "dtls"
        assert row["sni"] == conn["sni"]
        assert bool(row["hello_verify_request"]) == conn["hello_verify_request"]
        assert list(row["srtp_profiles_offered"]) == conn["srtp_profiles_offered"]
        assert (_val(row["srtp_profile"]) or "") == conn["srtp_profile"]
        assert row["ja4"].startswith("d")
        if conn["failure"]:
            assert row["failure"] == conn["failure"]
            assert not row["handshake_complete"]
            assert (_val(row["alert"]) or "") == conn["alert"]
            continue
        assert row["handshake_complete"], row["errors"]
        assert _val(row["failure"]) is None
        assert row["version"] == conn["version"]
        assert row["cipher_suite"] == conn["cipher_suite"]
        assert row["resumption"] == conn.get("resumption", "none")
        assert row["decryption"] == "ok", row["errors"]
        assert row["finished_verified"] == "both"
        assert row["app_bytes_client"] == len(conn["app_data_client"].encode())
        assert row["ja4"][1:3] == {"DTLS 1.0": "d1", "DTLS 1.2": "d2"}[conn["version"]]


def test_fragmented_capture_is_fragmented() -> None:
    """The -mtu 400 capture really splits the server's Certificate over records (else the test proves nothing)."""
    conn = MANIFEST["files"]["dtls12-mtu400.pcap"]["connections"][0]
    assert conn["fragmented"]
    f = _tshark_frames(DTLS_DIR / "dtls12-mtu400.pcap")
    cert_fragments = [fl for fr in f for t, fl in zip(fr["types"], fr["fragment_lengths"]) if t == 11]
    assert len(cert_fragments) > 1


def test_wolfssl_dtls13_hellos() -> None:
    """The real DTLS 1.3 capture (wolfSSL, HelloRetryRequest, no key log): hellos, HRR, unified-header records."""
    if not WOLFSSL13.exists():
        pytest.skip("../shared/captures/dtls is not there")
    (row,) = _rows(WOLFSSL13)
    assert row["version"] == "DTLS 1.3" and row["version_code"] == 0xFEFC
    assert list(row["client_versions"]) == ["DTLS 1.3"]
    assert row["hrr"]
    assert row["cipher_suite"] == "TLS_AES_128_GCM_SHA256"
    assert row["ja4"].startswith("dd3") and row["ja4s"].startswith("dd3")
    assert not row["hello_verify_request"]            # DTLS 1.3 has no HelloVerifyRequest
    # every datagram after the ServerHello is a unified-header record (first byte 001CSLEE)
    n_unified = sum(1 for fr in _tshark_frames(WOLFSSL13, udp_data=True) if fr["udp_first"] is not None
                    and fr["udp_first"] & 0xE0 == 0x20)
    assert n_unified == 11
    assert row["dtls_packets"] == f"unified_records={n_unified}"
    assert row["handshake_complete"]                  # both encrypted flights, then data
    rows = _rows(WOLFSSL13, keylog=True)
    assert rows[0]["decryption"] == "unsupported_version"   # DTLS 1.3 record protection: not implemented


# --------------------------------------------------------------------------- tshark


_FIELDS = ["frame.number", "udp.stream", "ip.src", "udp.srcport", "dtls.record.version", "dtls.record.content_type",
           "dtls.handshake.type", "dtls.handshake.version", "dtls.handshake.ciphersuite",
           "dtls.handshake.extensions_server_name", "dtls.handshake.session_id", "dtls.handshake.session_id_length",
           "dtls.handshake.ja3", "dtls.handshake.ja3s", "dtls.handshake.extensions.supported_version",
           "dtls.use_srtp.protection_profile", "dtls.alert_message.level", "dtls.alert_message.desc",
           "dtls.handshake.fragment_length", "data.data", "udp.payload", "dtls.handshake.cookie_length"]


def _split(v: str) -> list[str]:
    return [x for x in v.split(",") if x != ""] if v else []


@functools.lru_cache(maxsize=None)
def _tshark_cached(path: str, keylog: bool, udp_data: bool) -> tuple:
    cmd = [TSHARK, "-r", path, "-d", DTLS_PORTS, "-T", "fields", "-E", "occurrence=a", "-E", "separator=\t",
           "-E", "aggregator=,"]
    if keylog:
        cmd += ["-o", f"tls.keylog_file:{KEYLOG}"]
    if not udp_data:
        cmd += ["-Y", "dtls && !icmp"]
    else:
        cmd += ["-Y", "udp && !icmp"]
    for f in _FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    frames = []
    for line in out.splitlines():
        v = dict(zip(_FIELDS, line.split("\t")))
        payload = v.get("udp.payload", "")
        frames.append({
            "frame": int(v["frame.number"]),
            "stream": int(v["udp.stream"]),
            "src": (v["ip.src"], int(v["udp.srcport"])),
            "types": [int(x) for x in _split(v["dtls.handshake.type"])],
            "hs_versions": [int(x, 16) for x in _split(v["dtls.handshake.version"])],
            "suites": [int(x, 16) for x in _split(v["dtls.handshake.ciphersuite"])],
            "sni": v["dtls.handshake.extensions_server_name"] or None,
            "session_id": v["dtls.handshake.session_id"].replace(":", "") or None,
            "ja3": v["dtls.handshake.ja3"] or None,
            "ja3s": v["dtls.handshake.ja3s"] or None,
            "supported_versions": [int(x, 16) for x in _split(v["dtls.handshake.extensions.supported_version"])],
            "srtp": [int(x, 16) for x in _split(v["dtls.use_srtp.protection_profile"])],
            "alert_levels": [int(x) for x in _split(v["dtls.alert_message.level"])],
            "alert_descs": [int(x) for x in _split(v["dtls.alert_message.desc"])],
            "content_types": [int(x) for x in _split(v["dtls.record.content_type"])],
            "fragment_lengths": [int(x) for x in _split(v["dtls.handshake.fragment_length"])],
            "data": bytes.fromhex("".join(_split(v["data.data"]))) if v["data.data"] else b"",
            "udp_first": int(payload[:2], 16) if payload else None,
        })
    return tuple(frames)


def _tshark_frames(path: Path, keylog: bool = False, udp_data: bool = False) -> list[dict]:
    if TSHARK is None:
        pytest.skip("tshark is not installed")
    return list(_tshark_cached(str(path), keylog, udp_data))


@dataclass
class _Conv:
    """What tshark shows of one udp.stream."""

    client: tuple[str, int] | None = None
    ch: dict | None = None
    sh: dict | None = None
    server_hellos: list[dict] = field(default_factory=list)   # every frame with a ServerHello (HRR first)
    hvr: bool = False
    alert: tuple[str, str, str] | None = None      # (sender, level, description) of the first clear alert
    types: dict[str, set[int]] = field(default_factory=lambda: {"client": set(), "server": set()})
    data: dict[str, bytes] = field(default_factory=lambda: {"client": b"", "server": b""})


def _conversations(path: Path, keylog: bool) -> dict[int, _Conv]:
    convs: dict[int, _Conv] = defaultdict(_Conv)
    for fr in _tshark_frames(path, keylog):
        c = convs[fr["stream"]]
        if c.client is None:
            # the sender of the first ClientHello is the client (of a HelloVerifyRequest/ServerHello: the other)
            c.client = fr["src"] if 1 in fr["types"] or 2 not in fr["types"] and 3 not in fr["types"] else None
        side = "client" if fr["src"] == c.client else "server"
        c.types[side].update(fr["types"])
        if 1 in fr["types"] and c.ch is None:
            c.ch = fr
        if 2 in fr["types"]:
            c.server_hellos.append(fr)
            if c.sh is None:
                c.sh = fr
        if 3 in fr["types"]:
            c.hvr = True
        if fr["alert_descs"] and c.alert is None:
            c.alert = (side, {1: "warning", 2: "fatal"}[fr["alert_levels"][0]], alert_name(fr["alert_descs"][0]))
        c.data[side] += fr["data"]
    return convs


def _our_types(events, side: int) -> set[int]:
    from analyzer.tls.registry import HANDSHAKE_TYPE_NAMES

    names = {v: k for k, v in HANDSHAKE_TYPE_NAMES.items()}
    names["hello_retry_request"] = 2
    return {names[e.kind] for e in events if e.direction == side and e.kind in names}


@needs_tshark
@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_rows_equal_tshark(path: Path) -> None:
    """Per udp.stream: hellos, versions, suites, SNI, session IDs, cookie exchange, use_srtp, JA3/JA3S,
    the first clear alert and the clear handshake types of each side."""
    convs = _conversations(path, keylog=False)
    summaries = {s.stream: s for s in analyzer.iter_summaries([str(path)]) if s.transport == "dtls"}
    assert sorted(summaries) == sorted(k for k, c in convs.items() if c.ch is not None or c.sh is not None)
    for stream, c in convs.items():
        s = summaries[stream]
        ch = c.ch
        assert s.client_hello_frame == ch["frame"]
        assert s.client_legacy_version == version_name(ch["hs_versions"][0])
        assert s.cipher_suite_codes_offered == ch["suites"]
        assert s.sni == ch["sni"]
        assert s.session_id == ch["session_id"]
        assert s.ja3 == ch["ja3"]
        assert [srtp_profile_name(p) for p in ch["srtp"]] == s.srtp_profiles_offered
        if ch["supported_versions"]:
            assert s.client_versions == [version_name(v) for v in ch["supported_versions"]]
        assert s.hello_verify_request == c.hvr
        if c.sh is None:
            assert s.version is None
        else:
            sh = c.sh
            i = sh["types"].index(2)
            chosen = sh["supported_versions"][0] if sh["supported_versions"] else sh["hs_versions"][i]
            # the first ServerHello-typed message: a HelloRetryRequest in DTLS 1.3 (its version is the same)
            assert s.version == version_name(chosen)
            assert s.cipher_suite == cipher_suite_name(sh["suites"][0])
            # JA3S is the ServerHello's (after a HelloRetryRequest: the second ServerHello-typed message)
            assert s.ja3s == c.server_hellos[1 if s.hrr else 0]["ja3s"]
            if sh["srtp"]:
                assert s.srtp_profile == srtp_profile_name(sh["srtp"][0])
        if c.alert is not None:
            assert (s.alert_sender, s.alert_level, s.alert) == c.alert
        assert _our_types(s.events, 0) == c.types["client"]
        assert _our_types(s.events, 1) == c.types["server"]


# Where tshark 4.0 is wrong. ChaCha20-Poly1305 in DTLS 1.2: RFC 7905 2 forms the nonce from the
# 64-bit record sequence number, which in DTLS is the epoch and the 48-bit sequence number
# together (the same value as in the additional data); tshark XORs only the 48-bit sequence
# number into the IV (its debug log shows "seq 0" for the epoch-1 Finished), so every tag
# check fails and it shows nothing decrypted. Ours checks every tag and both Finished.
TSHARK_CANNOT_DECRYPT = {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"}


class _Collect:
    def __init__(self, store: dict, key: int) -> None:
        self.store = store
        self.key = key

    def data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        self.store[(self.key, direction)] = self.store.get((self.key, direction), b"") + data

    def close(self) -> None:
        pass


@needs_tshark
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_decrypted_bytes_equal_tshark(path: Path) -> None:
    """Application data decrypted with the key log: ours per direction == tshark's `data.data` per frame."""
    convs = _conversations(path, keylog=True)
    store: dict = {}
    keys = KeyMaterial()
    keys.add_keylog_file(KEYLOG)
    opts = Options(keys=keys, app_data=lambda cap, stream, transport="tcp": _Collect(store, stream))
    rows = {s.stream: s for s in analyze_file(str(path), options=opts) if s.transport == "dtls"}
    for stream, c in convs.items():
        if rows[stream].cipher_suite in TSHARK_CANNOT_DECRYPT:
            # tshark is wrong here (see TSHARK_CANNOT_DECRYPT); it must still fail, else the note is stale
            assert c.data == {"client": b"", "server": b""}
            assert rows[stream].finished_client and rows[stream].finished_server  # our keys and nonces are right: the tags check
            continue
        for d, side in ((0, "client"), (1, "server")):
            assert store.get((stream, d), b"") == c.data[side], (stream, side)
        s = rows[stream]
        if s.handshake_complete:
            assert s.decryption == "ok"
    expected = [c["app_data_client"] for c in MANIFEST["files"][path.name]["connections"]]
    assert [store.get((k, 0), b"").decode() for k in sorted(rows)] == expected


def test_decrypt_command_writes_dtls_streams(tmp_path: Path) -> None:
    """`decrypt` writes each direction of a DTLS connection, named apart from TCP streams of the same number."""
    from typer.testing import CliRunner

    from analyzer.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["decrypt", str(DTLS_DIR / "dtls12-gnutls.pcap"), "--out", str(out),
                                   "--keylog", str(KEYLOG)])
    assert res.exit_code == 0, res.output
    assert "dtls stream 0: ok 16 bytes client->server, 16 bytes server->client" in res.output
    sent = MANIFEST["files"]["dtls12-gnutls.pcap"]["connections"][0]["app_data_client"].encode()
    assert (out / "dtls-stream-0.c2s.bin").read_bytes() == sent
    assert (out / "dtls-stream-0.s2c.bin").read_bytes() == sent      # gnutls-serv --echo
    assert (out / "dtls-stream-0.c2s.bin").stat().st_mode & 0o777 == 0o600


# --------------------------------------------------------------------------- datagram order, copies, demultiplexing


_SAME = ("version", "cipher_suite", "sni", "handshake_complete", "failure", "decryption", "finished_verified",
         "app_bytes_client", "cert_sha256", "ja3", "ja3s", "ja4", "hello_verify_request", "session_id")


def _rewrite(src: Path, dst: Path, change) -> None:
    import scapy.layers.inet  # noqa: F401  (registers Ethernet/IP/UDP for rdpcap)
    import scapy.layers.l2  # noqa: F401
    from scapy.utils import rdpcap, wrpcap

    pkts = list(rdpcap(str(src)))
    wrpcap(str(dst), change(pkts))


def _same_rows(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for k in _SAME:
            assert _val(x[k]) == _val(y[k]) or (isinstance(x[k], str) is False and list(x[k] or []) == list(y[k] or [])), k


def test_reordered_fragments_are_reassembled(tmp_path: Path) -> None:
    """The server flight of the MTU-400 capture (fragmented Certificate) delivered backwards: the same row."""
    src = DTLS_DIR / "dtls12-mtu400.pcap"
    dst = tmp_path / "reordered.pcap"
    _rewrite(src, dst, lambda p: p[:3] + p[3:7][::-1] + p[7:])
    base, moved = _rows(src, keylog=True), _rows(dst, keylog=True)
    _same_rows(base, moved)
    assert moved[0]["handshake_complete"] and moved[0]["finished_verified"] == "both"


def test_duplicated_datagrams_counted_once(tmp_path: Path) -> None:
    """Every datagram twice (a duplicating capture point): the same row, the copies counted."""
    src = DTLS_DIR / "dtls12-gnutls.pcap"
    dst = tmp_path / "twice.pcap"
    _rewrite(src, dst, lambda p: [x for q in p for x in (q, q.copy())])
    base, dup = _rows(src, keylog=True), _rows(dst, keylog=True)
    _same_rows(base, dup)
    assert dup[0]["app_bytes_server"] == base[0]["app_bytes_server"] == 16
    records = sum(len(fr["content_types"]) for fr in _tshark_frames(src))
    assert f"duplicate_records={records}" in dup[0]["dtls_packets"]


def _stun_and_rtp(template):
    """A STUN Binding request (RFC 5389 6) and an RTP packet (RFC 3550 5.1) on the DTLS 5-tuple, built by scapy."""
    import os
    import struct

    from scapy.layers.inet import UDP

    stun = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + os.urandom(12)
    rtp = struct.pack("!BBHII", 0x80, 96, 1, 160, 0x1234) + b"\x00" * 20
    out = []
    for payload in (stun, rtp):
        q = template.copy()
        q[UDP].remove_payload()
        q[UDP].add_payload(payload)
        del q[UDP].len, q[UDP].chksum
        if q.haslayer("IP"):
            del q["IP"].len, q["IP"].chksum
        out.append(q)
    return out


def test_stun_and_media_on_the_5_tuple_are_counted_not_parsed(tmp_path: Path) -> None:
    """RFC 7983: STUN and RTP datagrams between the DTLS records change nothing but the counts."""
    src = DTLS_DIR / "dtls12-aead.pcap"
    dst = tmp_path / "webrtc.pcap"
    _rewrite(src, dst, lambda p: p[:1] + _stun_and_rtp(p[0]) + p[1:] + _stun_and_rtp(p[0]))
    base, mixed = _rows(src, keylog=True), _rows(dst, keylog=True)
    _same_rows(base, mixed)
    assert mixed[0]["dtls_packets"] == "stun=2 rtp=2"
    assert not list(mixed[0]["errors"])


def test_udp_that_is_neither_quic_nor_dtls_gives_no_row(tmp_path: Path) -> None:
    """STUN and RTP alone (no DTLS handshake) are no connection."""
    src = DTLS_DIR / "dtls12-aead.pcap"
    dst = tmp_path / "media.pcap"
    _rewrite(src, dst, lambda p: _stun_and_rtp(p[0]) * 3)
    assert _rows(dst) == []


# --------------------------------------------------------------------------- bounds


def _failure(path: Path) -> str:
    (row,) = _rows(path)
    return row["failure"] or ""


def test_bound_reassembly_bytes(monkeypatch) -> None:
    monkeypatch.setattr(dtls_handshake, "MAX_REASSEMBLY_BYTES", 500)   # the Certificate is 893 bytes
    f = _failure(DTLS_DIR / "dtls12-mtu400.pcap")
    assert f.startswith("malformed") and "500 bytes of handshake messages awaiting reassembly" in f


def test_bound_fragments(monkeypatch) -> None:
    monkeypatch.setattr(dtls_handshake, "MAX_FRAGMENTS", 1)
    f = _failure(DTLS_DIR / "dtls12-mtu400.pcap")
    assert f.startswith("malformed") and "more than 1 handshake fragments" in f


def test_bound_messages_ahead(monkeypatch, tmp_path: Path) -> None:
    dst = tmp_path / "reordered.pcap"
    _rewrite(DTLS_DIR / "dtls12-mtu400.pcap", dst, lambda p: p[:3] + p[3:7][::-1] + p[7:])
    assert _rows(dst)[0]["handshake_complete"]
    monkeypatch.setattr(dtls_handshake, "MAX_MESSAGES_AHEAD", 1)       # the last datagram holds message_seq 3 and 4
    f = _failure(dst)
    assert f.startswith("malformed") and "more than 1 ahead" in f


def test_bound_records_remembered(monkeypatch, tmp_path: Path) -> None:
    """Past MAX_RECORDS_REMEMBERED a duplicated record is read again: messages still count once."""
    src = DTLS_DIR / "dtls12-gnutls.pcap"
    dst = tmp_path / "twice.pcap"
    _rewrite(src, dst, lambda p: [x for q in p for x in (q, q.copy())])
    monkeypatch.setattr(dtls_connection, "MAX_RECORDS_REMEMBERED", 1)
    base, dup = _rows(src), _rows(dst)
    _same_rows(base, dup)
    assert "retransmitted_fragments=" in dup[0]["dtls_packets"]


def test_audit_rules_on_dtls() -> None:
    """DTLS 1.0 is flagged like TLS 1.1; a DTLS CBC suite without encrypt_then_mac like a TLS one."""
    from analyzer.audit import Auditor, default_policy

    found = {}
    for name in ("dtls10.pcap", "dtls10-gnutls.pcap", "dtls12-aead.pcap"):
        a = Auditor(default_policy())
        for s in analyze_file(str(DTLS_DIR / name)):
            a.add(s)
        found[name] = {f.rule: f.evidence for f in a.sorted_findings()}
    assert found["dtls10.pcap"]["dtls10-negotiated"] == "version=DTLS 1.0"
    assert "cbc-without-etm" not in found["dtls10.pcap"]           # OpenSSL negotiates encrypt_then_mac
    assert "cbc-without-etm" in found["dtls10-gnutls.pcap"]        # the GnuTLS client was told %NO_ETM
    assert "dtls10-negotiated" not in found["dtls12-aead.pcap"] and "cbc-without-etm" not in found["dtls12-aead.pcap"]


def _handshake_messages(path: Path) -> list:
    """Every clear handshake message of a capture's DTLS datagrams, via the record and fragment layers."""
    from analyzer.capture import Capture
    from analyzer.dtls.handshake import Reassembler
    from analyzer.dtls.records import parse_records

    out: list = []
    asm: dict = {}
    with Capture(str(path)) as cap:
        def on_udp(fr, ts, src, sport, dst, dport, payload):
            recs, _err = parse_records(bytes(payload), None)
            r = asm.setdefault((bytes(src), sport), Reassembler())
            for rec in recs:
                if rec.content_type == 22 and rec.epoch == 0:
                    out.extend(r.add(rec.body))
        cap.on_udp(on_udp)
        for _ in cap.segments():
            pass
    return out


def test_dtls_client_hello_fast_path_equals_checked_path() -> None:
    """The indexed ClientHello parser reads the DTLS cookie exactly like the checked one, on every real hello."""
    from analyzer.tls import messages as m

    hellos = [msg.body for p in ALL for msg in _handshake_messages(p) if msg.msg_type == 1]
    assert len(hellos) >= 20
    assert any(m.pull_client_hello(b, True).cookie for b in hellos)       # second hellos carry the cookie
    import random

    from test_hello_fast_path import _mutations, _outcome

    rng = random.Random(13)
    errors = 0
    for b in hellos:
        for v in _mutations(b, rng, 40):       # byte flips, cuts, insertions: both paths agree on all
            fast = _outcome(lambda x: m.pull_client_hello(x, True), v)
            assert fast == _outcome(lambda x: m._pull_client_hello_checked(x, True), v), v.hex()
            errors += fast[0] == "error"
    assert errors > 100
    hvrs = [msg.body for p in SAMPLES for msg in _handshake_messages(p) if msg.msg_type == 3]
    assert hvrs and all(m.pull_hello_verify_request(b).cookie for b in hvrs)


def test_failure_kinds_truncated_and_timeout(tmp_path: Path) -> None:
    """UDP has no FIN or RST: a capture that ends mid-handshake is `truncated`; a conversation that
    goes idle (600 s of capture time) mid-handshake is `timeout`."""
    src = DTLS_DIR / "dtls12-aead.pcap"
    cut = tmp_path / "cut.pcap"
    _rewrite(src, cut, lambda p: p[:4])                       # up to the server's first flight
    (row,) = _rows(cut)
    assert row["failure"] == "truncated" and row["close_reason"] == "end" and row["version"] == "DTLS 1.2"

    def later(p):
        q = _stun_and_rtp(p[0])[0]                            # another conversation, 700 s later
        from scapy.layers.inet import UDP
        q[UDP].sport = 5000
        del q[UDP].chksum
        q.time = p[3].time + 700
        return p[:4] + [q]

    idle = tmp_path / "idle.pcap"
    _rewrite(src, idle, later)
    (row,) = _rows(idle)
    assert row["failure"] == "timeout" and row["close_reason"] == "idle"


def test_dtls_shares_the_udp_conversation_cap(tmp_path: Path) -> None:
    """MAX_UDP_CONVERSATIONS is one cap for QUIC, DTLS and other UDP: past it the longest idle
    conversation is closed (`evicted`), a DTLS one like any other."""
    from analyzer.capture import Capture
    from analyzer.udp import UDPConversationTable

    merged = tmp_path / "two.pcap"
    subprocess.run(["mergecap", "-F", "pcap", "-w", str(merged), str(DTLS_DIR / "dtls12-aead.pcap"),
                    str(DTLS_DIR / "dtls12-cbc.pcap")], check=True)
    table = UDPConversationTable("x", max_conversations=1)
    with Capture(str(merged)) as cap:
        cap.on_udp(table.datagram)
        for _ in cap.segments():
            pass
    rows = sorted(list(table.close_all()), key=lambda s: s.stream)
    assert table.evicted >= 1
    assert [s.transport for s in rows] == ["dtls", "dtls"]
    assert rows[0].close_reason == "evicted" and rows[0].handshake_complete   # it had finished before the second began
    assert rows[1].handshake_complete
