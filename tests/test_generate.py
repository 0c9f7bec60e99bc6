"""Tests of captures/generate.py: framing, writers, manifest and the committed captures.

Oracles: scapy (frame parsing, pcap/pcapng reading) and tshark (TLS dissection and
decryption with the key log / the pcapng Decryption Secrets Block).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from captures.generate import (
    T0,
    Conversation,
    client_context,
    frames_for,
    generate_all,
    make_pki,
    merge_frames,
    server_context,
    tls_conversation,
    write_pcap,
    write_pcapng,
)

scapy_all = pytest.importorskip("scapy.all")
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Dot1Q  # noqa: E402

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark not installed")

HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()


# --------------------------------------------------------------------------- helpers


def read_frames(path: Path) -> list[Any]:
    return list(scapy_all.rdpcap(str(path)))


def endpoints(pkt: Any) -> tuple[tuple[str, int], tuple[str, int]]:
    ip = pkt[IPv6] if IPv6 in pkt else pkt[IP]
    return (ip.src, pkt[TCP].sport), (ip.dst, pkt[TCP].dport)


def connections(pkts: list[Any]) -> dict[tuple[str, int], list[Any]]:
    """Packets grouped by client endpoint (the side that sent the SYN)."""
    clients: set[tuple[str, int]] = set()
    for p in pkts:
        if TCP in p and p[TCP].flags == "S":
            clients.add(endpoints(p)[0])
    out: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for p in pkts:
        if TCP not in p:
            continue
        src, dst = endpoints(p)
        out[src if src in clients else dst].append(p)
    return out


def reassemble(pkts: list[Any], client: tuple[str, int]) -> dict[int, bytes]:
    """Per-direction payload in sequence order; checks seq/ack consistency on the way."""
    isn: dict[int, int] = {}
    data: dict[int, dict[int, bytes]] = {0: {}, 1: {}}
    sent_end: dict[int, int] = {}
    for p in pkts:
        src, _ = endpoints(p)
        d = 0 if src == client else 1
        tcp = p[TCP]
        if tcp.flags.S:
            isn[d] = tcp.seq
            sent_end[d] = tcp.seq + 1
            if d == 1:
                assert tcp.ack == isn[0] + 1
            continue
        if tcp.flags.A and 1 - d in sent_end:
            # never acknowledge bytes the peer has not sent yet
            assert (tcp.ack - sent_end[1 - d]) % 2**32 == 0 or \
                ((sent_end[1 - d] - tcp.ack) % 2**32) < 2**31
        payload = bytes(tcp.payload)
        if payload:
            off = (tcp.seq - isn[d] - 1) % 2**32
            if off in data[d]:
                assert data[d][off] == payload, "retransmission differs"
            data[d][off] = payload
            sent_end[d] = max(sent_end[d], tcp.seq + len(payload))
        if tcp.flags.F:
            sent_end[d] = tcp.seq + len(payload) + 1
    out: dict[int, bytes] = {}
    for d in (0, 1):
        buf = b""
        for off in sorted(data[d]):
            assert off == len(buf), f"gap or overlap at {off} in direction {d}"
            buf += data[d][off]
        out[d] = buf
    return out


def tshark(*args: str) -> str:
    assert TSHARK is not None
    return subprocess.run([TSHARK, *args], capture_output=True, text=True, check=True,
                          timeout=60).stdout


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("captures")
    manifest = generate_all(out)
    return out, manifest


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    path = CAPTURES / "MANIFEST.json"
    if not path.exists():
        pytest.skip("captures not generated")
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- library


def test_conversation_framing_roundtrip(pki: Any, tmp_path: Path) -> None:
    cctx = client_context(pki, keylog=tmp_path / "k.txt", alpn=["h2", "http/1.1"])
    sctx = server_context(pki, alpn=["h2"])
    conv = tls_conversation(cctx, sctx, server_hostname="server.test",
                            client_messages=[b"ping" * 500], server_messages=[b"pong" * 900],
                            client=("192.0.2.1", 40000), server=("198.51.100.1", 443))
    assert isinstance(conv, Conversation)
    assert conv.expected["version"] == "TLS 1.3"
    assert conv.expected["alpn"] == "h2"
    assert conv.expected["sni_seen_by_server"] == "server.test"
    assert conv.expected["plaintext"] == {"c2s": b"ping" * 500, "s2c": b"pong" * 900}
    assert conv.client_random is not None
    keylog = (tmp_path / "k.txt").read_text()
    assert conv.client_random.hex() in keylog

    variants = [
        dict(mss=300, reorder=True, duplicate=True),
        dict(ipv6=True, vlan=7),
        dict(mss=(536, 1000)),
    ]
    for i, kw in enumerate(variants):
        frames = frames_for(conv, **kw)
        times = [t for t, _ in frames]
        assert times == sorted(times) and times[0] == T0
        for fmt in ("pcap", "pcapng"):
            path = tmp_path / f"v{i}.{fmt}"
            if fmt == "pcap":
                write_pcap(path, frames, nanosecond=bool(i % 2))
            else:
                write_pcapng(path, frames, tsresol=9 if i % 2 else 6)
            pkts = read_frames(path)
            assert len(pkts) == len(frames)
            assert all(TCP in p for p in pkts)
            if kw.get("ipv6"):
                assert all(IPv6 in p for p in pkts) and all(p[Dot1Q].vlan == 7 for p in pkts)
            got = reassemble(pkts, conv.client if not kw.get("ipv6") else endpoints(pkts[0])[0])
            assert got[0] == conv.stream(0) and got[1] == conv.stream(1)
            if "mss" in kw:
                c2s = kw["mss"] if isinstance(kw["mss"], int) else kw["mss"][0]
                sizes = [len(bytes(p[TCP].payload)) for p in pkts
                         if p[TCP].sport == conv.client[1]]
                assert max(sizes) == c2s
            if kw.get("reorder"):
                unsorted = 0
                for port in (conv.client[1], conv.server[1]):
                    seqs = [p[TCP].seq for p in pkts if p[TCP].sport == port
                            and len(bytes(p[TCP].payload))]
                    unsorted += seqs != sorted(seqs)
                assert unsorted == 1
            # timestamps survive the writers exactly (microsecond multiples)
            for (t, _), p in zip(frames, pkts):
                assert Decimal(str(p.time)) == Decimal(repr(t))
            # checksums are correct: scapy recomputes them when the field is deleted
            p0 = pkts[3].copy()
            ip_layer = p0[IPv6] if IPv6 in p0 else p0[IP]
            raw_csum = p0[TCP].chksum
            del p0[TCP].chksum
            if IP in p0:
                del ip_layer.chksum
            assert p0.__class__(bytes(p0))[TCP].chksum == raw_csum


def test_pcap_variants(tmp_path: Path) -> None:
    conv = Conversation(chunks=[(0, b"hello"), (1, b"world" * 400)],
                        client=("10.0.0.1", 1234), server=("10.0.0.2", 80))
    frames = frames_for(conv, t0=T0 + 0.5)
    write_pcap(tmp_path / "be.pcap", frames, big_endian=True)
    write_pcap(tmp_path / "snap.pcap", frames, snaplen=100)
    be = read_frames(tmp_path / "be.pcap")
    assert [bytes(p) for p in be] == [f for _, f in frames]
    assert float(be[0].time) == T0 + 0.5
    snap = read_frames(tmp_path / "snap.pcap")
    assert all(len(bytes(p)) <= 100 for p in snap)
    assert (tmp_path / "be.pcap").read_bytes()[:4] == bytes.fromhex("a1b2c3d4")
    write_pcap(tmp_path / "ns.pcap", frames, nanosecond=True)
    assert (tmp_path / "ns.pcap").read_bytes()[:4] == bytes.fromhex("4d3cb2a1")
    merged = merge_frames(frames, frames_for(conv, t0=T0 + 0.50005))
    assert [t for t, _ in merged] == sorted(t for t, _ in merged)


def test_unanswered_and_rst(pki: Any, tmp_path: Path) -> None:
    conv = tls_conversation(client_context(pki), server_context(pki),
                            server_hostname="server.test", max_flights=1, close="none")
    conv.unanswered = True
    assert [d for d, _ in conv.chunks] == [0]
    frames = frames_for(conv)
    write_pcap(tmp_path / "x.pcap", frames)
    pkts = read_frames(tmp_path / "x.pcap")
    server_pkts = [p for p in pkts if p[TCP].sport == conv.server[1]]
    assert len(server_pkts) == 1  # only the SYN-ACK
    data_pkts = [p for p in pkts if bytes(p[TCP].payload)]
    assert len(data_pkts) == 3 and len({bytes(p[TCP].payload) for p in data_pkts}) == 1
    assert float(data_pkts[1].time) - float(data_pkts[0].time) >= 1.0

    conv = tls_conversation(client_context(pki), server_context(pki),
                            server_hostname="server.test", max_flights=2, close="rst")
    pkts = [p for _, p in frames_for(conv)]
    from scapy.layers.l2 import Ether
    assert Ether(pkts[-1])[TCP].flags.R


# --------------------------------------------------------------------------- generated files


def _structure(manifest: dict[str, Any]) -> dict[str, Any]:
    """What must not change from run to run (randoms and sizes may)."""
    out: dict[str, Any] = {}
    for name, f in manifest["files"].items():
        out[name] = {
            "format": f["format"], "timestamp_resolution": f["timestamp_resolution"],
            "dsb": f["decryption_secrets_block"],
            "connections": [
                {"stream": c["stream"], "client": c["client"], "server": c["server"],
                 "vlan": c["vlan"], "ipv6": c["ipv6"], "close": c["close"],
                 "labels": c["keylog_labels"], "plaintext": c["plaintext"],
                 "directions": [d for d, _ in c["chunks"]],
                 "expected": c["expected"]}
                for c in f["connections"]],
        }
    return out


def test_generation_reproducible_structure(generated: tuple[Path, dict[str, Any]],
                                           committed: dict[str, Any]) -> None:
    _, fresh = generated
    assert _structure(fresh) == _structure(committed)


def test_committed_files_match_manifest(committed: dict[str, Any]) -> None:
    total = 0
    for name, f in committed["files"].items():
        path = CAPTURES / name
        blob = path.read_bytes()
        total += len(blob)
        assert hashlib.sha256(blob).hexdigest() == f["sha256"], name
        assert len(blob) == f["size"]
        assert len(read_frames(path)) == f["frames"]
    assert total < 1_000_000
    for extra in ("keylog.txt", "server.key", "server.crt", "ca.crt", "server-ecdsa.crt"):
        assert (CAPTURES / extra).exists()
    assert b"BEGIN PRIVATE KEY" in (CAPTURES / "server.key").read_bytes()


@pytest.mark.parametrize("source", ["committed", "generated"])
def test_tcp_streams_match_manifest(source: str, committed: dict[str, Any],
                                    generated: tuple[Path, dict[str, Any]]) -> None:
    base, manifest = (CAPTURES, committed) if source == "committed" else generated
    for name, f in manifest["files"].items():
        pkts = read_frames(base / name)
        conns = connections(pkts)
        assert len(conns) == len(f["connections"]), name
        # stream order: order of each connection's first packet
        order = [k for k, _ in sorted(conns.items(), key=lambda kv: pkts.index(kv[1][0]))]
        for c in f["connections"]:
            client = (c["client"][0], c["client"][1])
            assert order[c["stream"]] == client, name
            got = reassemble(conns[client], client)
            for d, key in ((0, "c2s"), (1, "s2c")):
                assert len(got[d]) == c["bytes"][key], (name, c["stream"], key)
                assert hashlib.sha256(got[d]).hexdigest() == c["bytes_sha256"][key]
            if c["vlan"] is not None:
                assert all(p[Dot1Q].vlan == c["vlan"] for p in conns[client])
            if c["ipv6"]:
                assert all(IPv6 in p for p in conns[client])
            last = conns[client][-1][TCP]
            if c["close"] == "rst":
                assert last.flags.R
            elif c["close"] == "fin":
                assert any(p[TCP].flags.F for p in conns[client])
            if not c["expected"]["tls"]:
                continue
            first = got[0]
            assert first[0] == 0x16 and first[5] == 0x01  # a ClientHello
            assert first[11:43].hex() == c["client_random"]


def test_expected_facts(committed: dict[str, Any]) -> None:
    files = committed["files"]

    def conn(name: str, i: int = 0) -> dict[str, Any]:
        return files[name]["connections"][i]["expected"]

    assert conn("tls13-aes128.pcap")["cipher"] == "TLS_AES_128_GCM_SHA256"
    assert conn("tls13-aes128.pcap")["alpn"] == "h2"
    assert conn("tls13-chacha.pcapng")["cipher"] == "TLS_CHACHA20_POLY1305_SHA256"
    assert conn("tls12-ecdhe.pcap")["cipher"] == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert conn("tls12-ecdhe.pcap", 1)["cipher"] == "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    rsa = [c["expected"]["cipher"] for c in files["tls12-rsa.pcap"]["connections"]]
    assert all(s.startswith("TLS_RSA_WITH_") for s in rsa) and any("CBC" in s for s in rsa)
    assert conn("tls12-resume.pcap", 1)["session_reused"] is True
    assert conn("tls12-resume.pcap", 1)["resumption"] == "session_id"
    assert conn("tls12-ticket-resume.pcap", 1)["resumption"] == "ticket"
    assert conn("tls13-resume.pcapng", 1)["resumption"] == "psk"
    assert conn("tls-alpn.pcap", 0)["alpn"] == "http/1.1"
    assert conn("tls-alpn.pcap", 1)["alpn"] is None
    assert conn("tls-no-shared-cipher.pcap")["alert"] == "handshake_failure"
    assert conn("tls-reset.pcap")["failure"] == "reset"
    assert conn("tls-no-response.pcap")["failure"] == "no_response"
    assert {c["expected"]["failure"] for c in files["not-tls.pcap"]["connections"]} == {"not_tls"}
    assert any(c["server"][1] == 8443 for c in files["tls-segmented.pcap"]["connections"])
    for f in files.values():
        for c in f["connections"]:
            e = c["expected"]
            if e.get("handshake_complete"):
                assert c["plaintext"]["c2s"]["length"] > 0 and c["plaintext"]["s2c"]["length"] > 0
                if e["version"] == "TLS 1.3":
                    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                            "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} <= set(c["keylog_labels"])
                else:
                    assert "CLIENT_RANDOM" in c["keylog_labels"]


def test_hello_retry_request_happened(committed: dict[str, Any]) -> None:
    pkts = read_frames(CAPTURES / "tls13-hrr.pcap")
    c = committed["files"]["tls13-hrr.pcap"]["connections"][0]
    client = (c["client"][0], c["client"][1])
    got = reassemble(connections(pkts)[client], client)
    s2c, c2s = got[1], got[0]
    assert s2c[0] == 0x16 and s2c[5] == 0x02 and s2c[11:43] == HRR_RANDOM
    # the client sends a second ClientHello after the HRR
    records, pos = [], 0
    while pos + 5 <= len(c2s):
        n = int.from_bytes(c2s[pos + 3:pos + 5], "big")
        records.append((c2s[pos], c2s[pos + 5] if c2s[pos] == 0x16 else None))
        pos += 5 + n
    # ClientHello, (middlebox-compatibility ChangeCipherSpec,) second ClientHello
    plain = [r for r in records if r[0] != 20]
    assert plain[0] == (0x16, 0x01) and plain[1] == (0x16, 0x01)
    second_sh = [i for i in range(len(s2c) - 43) if s2c[i:i + 1] == b"\x16"
                 and s2c[i + 5:i + 6] == b"\x02" and s2c[i + 11:i + 43] != HRR_RANDOM]
    assert second_sh, "no real ServerHello after the HRR"


# --------------------------------------------------------------------------- tshark


def _tshark_streams(path: Path) -> dict[int, list[dict[str, str]]]:
    out = tshark("-r", str(path), "-d", "tcp.port==8443,tls", "-T", "fields", "-E", "separator=|",
                 "-e", "tcp.stream", "-e", "tls.handshake.type",
                 "-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.ciphersuite",
                 "-e", "tls.alert_message.desc", "-e", "tls.handshake.extension.type",
                 "-e", "tls.handshake.extensions.supported_version", "-e", "tcp.srcport")
    rows: dict[int, list[dict[str, str]]] = defaultdict(list)
    keys = ["stream", "types", "sni", "suites", "alert", "ext", "sv", "sport"]
    for line in out.splitlines():
        row = dict(zip(keys, line.split("|")))
        if row.get("stream"):
            rows[int(row["stream"])].append(row)
    return rows


@needs_tshark
def test_tshark_sees_expected_handshakes(committed: dict[str, Any]) -> None:
    for name, f in committed["files"].items():
        streams = _tshark_streams(CAPTURES / name)
        for c in f["connections"]:
            e = c["expected"]
            rows = streams[c["stream"]]
            types = [t for r in rows for t in r["types"].split(",") if t]
            if not e["tls"]:
                assert not types, name
                continue
            assert "1" in types, name
            sni = {r["sni"] for r in rows if r["sni"]}
            assert sni == ({e["sni"]} if e["sni"] else set()), name
            if e.get("handshake_complete"):
                assert "2" in types
                sh = [r for r in rows if r["sport"] == str(c["server"][1]) and "2" in r["types"].split(",")]
                suite = int(sh[-1]["suites"].split(",")[0], 16)
                assert suite == e["cipher_code"], name
                if e["version"] == "TLS 1.3":
                    assert "0x0304" in sh[-1]["sv"]
                    exts = sh[-1]["ext"].split(",")
                    assert ("41" in exts) == (e["resumption"] == "psk"), name
                else:
                    # a certificate only in full handshakes
                    assert ("11" in types) == (not e["session_reused"]), name
                    exts = sh[-1]["ext"].split(",")
                    if "extended_master_secret" in e:
                        assert ("23" in exts) == e["extended_master_secret"]
                        assert ("22" in exts) == e["encrypt_then_mac"]
            if e.get("alert"):
                assert "40" in {r["alert"] for r in rows}, name
            if e.get("hello_retry_request"):
                assert types.count("1") == 2 and types.count("2") == 2


def _follow(path: Path, stream: int, *opts: str) -> list[bytes]:
    out = tshark("-r", str(path), *opts, "-q", "-z", f"follow,tls,raw,{stream}")
    body = out.split("=" * 67)[1] if "=" * 67 in out else out
    chunks = []
    for line in body.splitlines():
        s = line.strip()
        if s and all(ch in "0123456789abcdef" for ch in s):
            chunks.append(bytes.fromhex(s))
    return chunks


@needs_tshark
def test_tshark_decrypts_with_keylog(committed: dict[str, Any]) -> None:
    c = committed["files"]["tls13-aes128.pcap"]["connections"][0]
    chunks = _follow(CAPTURES / "tls13-aes128.pcap", 0,
                     "-o", f"tls.keylog_file:{CAPTURES / 'keylog.txt'}")
    assert c["plaintext"]["c2s"]["text"].encode() in chunks
    assert c["plaintext"]["s2c"]["text"].encode() in chunks


@needs_tshark
def test_tshark_decrypts_with_embedded_secrets(committed: dict[str, Any]) -> None:
    f = committed["files"]["tls-mixed.pcapng"]
    assert f["decryption_secrets_block"]
    c = next(c for c in f["connections"] if c["ipv6"])
    chunks = _follow(CAPTURES / "tls-mixed.pcapng", c["stream"])  # no key log option
    assert c["plaintext"]["c2s"]["text"].encode() in chunks
    assert c["plaintext"]["s2c"]["text"].encode() in chunks


@needs_tshark
def test_tshark_decrypts_rsa_key_exchange(committed: dict[str, Any]) -> None:
    f = committed["files"]["tls12-rsa.pcap"]
    for c in f["connections"]:
        chunks = _follow(CAPTURES / "tls12-rsa.pcap", c["stream"],
                         "-o", f'uat:rsa_keys:"{CAPTURES / "server.key"}",""')
        assert c["plaintext"]["c2s"]["text"].encode() in chunks, c["expected"]["cipher"]
