"""Link layers around real TLS: the IP packets of the bundled captures (real Python `ssl`
traffic) re-framed with scapy as Ethernet with an 802.1Q tag and with two (802.1ad + 802.1Q),
Linux cooked (SLL, DLT 113; SLL2, DLT 276), raw IP (DLT 101), loopback (DLT 0, with each
AF_INET6 number BSDs use), IPv4 with options (the capture reader's general path), PPP (DLT 9 with and without the address/control bytes,
protocol field compressed or not), PPP in HDLC-like framing (DLT 50), PPPoE without and
with Ethernet (DLT 51, ethertype 0x8864), MPLS (one and several labels, 0x8847 and
0x8848), PPP carrying MPLS, Cisco HDLC (DLT 104), pcap and pcapng (several interfaces of
different link types). Our rows must equal those of the original Ethernet capture, and
tshark must agree with them (tests/test_tshark_diff.py `compare`).

Also: frames that could not be decoded are counted per file and named in one warning line
(sequential, `--jobs`, a file read in parts), a file of nothing decodable is an error that
names its link type, and `summary` shows each file's link types.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.all import (ARP, HDLC, ICMP, IP, PPP, CookedLinux, Dot1AD, Dot1Q, Ether, IPOption_NOP, IPOption_RR, IPv6,
                       PcapReader, PcapWriter, PPPoE, Raw)
from scapy.layers.l2 import CookedLinuxV2
from scapy.contrib.mpls import MPLS

import analyzer.parts as parts_mod
from analyzer.batch import merge_parts, process_file
from analyzer.capture import Capture
from analyzer.capture.model import MAX_UNDECODABLE_KINDS, CaptureStats
from analyzer.parts import Part
from analyzer.pipeline import Options
from analyzer.report.table import COLUMN_NAMES
from test_capture import ng_epb, ng_idb, ng_shb  # tests/ is on sys.path
from test_tshark_diff import compare

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
TSHARK = shutil.which("tshark")
CAPTURE_COLUMN = COLUMN_NAMES.index("capture")
# real TLS of every kind the bundled captures hold: 1.2 and 1.3, HRR, resumption, ALPN,
# segmented and reordered handshakes, a reset, IPv6 and VLAN (tls-mixed)
SOURCES = ["tls12-ecdhe.pcap", "tls13-aes128.pcap", "tls13-hrr.pcap", "tls12-resume.pcap", "tls-alpn.pcap",
           "tls-segmented.pcap", "tls-reset.pcap", "tls-mixed.pcapng"]
NO_SECRETS = Options(use_capture_secrets=False)  # scapy drops pcapng Decryption Secrets Blocks


def ip_packets(name: str) -> list:
    """(timestamp, IPv4 or IPv6 packet) of each frame of a bundled capture, as captured."""
    out = []
    with PcapReader(str(CAPTURES / name)) as r:
        for p in r:
            ip = p.getlayer(IP) or p.getlayer(IPv6)
            assert ip is not None
            raw = bytes(ip)
            raw = raw[: ip.len] if ip.version == 4 else raw[: 40 + ip.plen]
            out.append((p.time, raw))
    return out


def _ppp_proto(raw: bytes, compressed: bool) -> bytes | int:
    proto = 0x0021 if raw[0] >> 4 == 4 else 0x0057
    return bytes([proto]) if compressed else proto


def _ethertype(raw: bytes) -> int:
    return 0x0800 if raw[0] >> 4 == 4 else 0x86DD


E = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def _null(raw: bytes, af_inet6: int) -> Raw:
    """DLT_NULL: the address family in the capturing host's byte order (little-endian here)."""
    return Raw(struct.pack("<I", 2 if raw[0] >> 4 == 4 else af_inet6) + raw)


def _ipv4_options(raw: bytes) -> Raw:
    """IPv4 packets rebuilt with options (a record route and padding NOPs); IPv6 as it is."""
    if raw[0] >> 4 != 4:
        return Raw(raw)
    ip = IP(raw)
    ip.options = [IPOption_RR(routers=["192.0.2.1"]), IPOption_NOP(), IPOption_NOP(), IPOption_NOP()]
    del ip.ihl, ip.len, ip.chksum
    return Raw(bytes(ip))


# name -> (link type, frame builder from the IP packet bytes)
FRAMINGS = {
    "vlan": (1, lambda raw: Ether(**E) / Dot1Q(vlan=5, type=_ethertype(raw)) / Raw(raw)),
    "qinq": (1, lambda raw: Ether(**E) / Dot1AD(vlan=7) / Dot1Q(vlan=5, type=_ethertype(raw)) / Raw(raw)),
    "sll": (113, lambda raw: CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6, src=b"\x02\0\0\0\0\x01\0\0",
                                         proto=_ethertype(raw)) / Raw(raw)),
    "sll2": (276, lambda raw: CookedLinuxV2(proto=_ethertype(raw), ifindex=2, lladdrtype=1, lladdrlen=6,
                                            src=b"\x02\0\0\0\0\x01\0\0") / Raw(raw)),
    "raw-ip": (101, lambda raw: Raw(raw)),
    "null-af-inet6-24": (0, lambda raw: _null(raw, 24)),
    "null-af-inet6-28": (0, lambda raw: _null(raw, 28)),
    "null-af-inet6-30": (0, lambda raw: _null(raw, 30)),
    "ipv4-options": (1, lambda raw: Ether(type=_ethertype(raw), **E) / _ipv4_options(raw)),
    "ppp-address-control": (9, lambda raw: HDLC() / PPP(proto=_ppp_proto(raw, False)) / Raw(raw)),
    "ppp-address-control-compressed": (9, lambda raw: HDLC() / PPP(proto=_ppp_proto(raw, True)) / Raw(raw)),
    "ppp-bare": (9, lambda raw: PPP(proto=_ppp_proto(raw, False)) / Raw(raw)),
    "ppp-bare-compressed": (9, lambda raw: PPP(proto=_ppp_proto(raw, True)) / Raw(raw)),
    "ppp-hdlc": (50, lambda raw: HDLC() / PPP(proto=_ppp_proto(raw, False)) / Raw(raw)),
    "ppp-hdlc-compressed": (50, lambda raw: HDLC() / PPP(proto=_ppp_proto(raw, True)) / Raw(raw)),
    "pppoe-dlt51": (51, lambda raw: PPPoE(sessionid=0x1234) / PPP(proto=_ppp_proto(raw, False)) / Raw(raw)),
    "pppoe-ethernet": (1, lambda raw: Ether(type=0x8864, **E) / PPPoE(sessionid=7) / PPP(proto=_ppp_proto(raw, False))
                       / Raw(raw)),
    "pppoe-vlan": (1, lambda raw: Ether(**E) / Dot1Q(vlan=5, type=0x8864) / PPPoE(sessionid=7)
                   / PPP(proto=_ppp_proto(raw, False)) / Raw(raw)),
    "mpls-one-label": (1, lambda raw: Ether(type=0x8847, **E) / MPLS(label=16, s=1, ttl=64) / Raw(raw)),
    "mpls-three-labels-multicast": (1, lambda raw: Ether(type=0x8848, **E) / MPLS(label=100, s=0, ttl=64)
                                    / MPLS(label=200, s=0, ttl=64) / MPLS(label=300, s=1, ttl=64) / Raw(raw)),
    "ppp-mpls": (9, lambda raw: HDLC() / PPP(proto=0x0281) / MPLS(label=16, s=1, ttl=64) / Raw(raw)),
    "cisco-hdlc": (104, lambda raw: Raw(struct.pack(">BBH", 0x0F, 0x00, _ethertype(raw)) + raw)),
    "cisco-hdlc-in-dlt50": (50, lambda raw: Raw(struct.pack(">BBH", 0x8F, 0x00, _ethertype(raw)) + raw)),
}


def reframe(source: str, framing: str, out: Path) -> Path:
    lt, build = FRAMINGS[framing]
    w = PcapWriter(str(out), linktype=lt, nano=True, sync=True)
    for t, raw in ip_packets(source):
        p = build(raw)
        p.time = t
        w.write(p)
    w.close()
    if lt == 0:  # scapy's PcapWriter takes linktype 0 (DLT_NULL) for "not given": set it in the header
        data = bytearray(out.read_bytes())
        struct.pack_into("<I" if data[:4] == b"\x4d\x3c\xb2\xa1" else ">I", data, 20, 0)
        out.write_bytes(bytes(data))
    return out


def rows_of(path: Path | str, options: Options | None = None) -> list[tuple]:
    """Our rows of a capture, without the capture column (the file name)."""
    out = process_file(0, str(path), os.path.basename(path), options or NO_SECRETS)
    assert out.error is None, out.error
    return [r[:CAPTURE_COLUMN] + r[CAPTURE_COLUMN + 1:] for r in sorted(out.rows, key=lambda r: r[1])]


@pytest.fixture(scope="module")
def originals() -> dict[str, list[tuple]]:
    return {s: rows_of(CAPTURES / s) for s in SOURCES}


@pytest.mark.parametrize("framing", sorted(FRAMINGS))
def test_reframed_real_tls_gives_the_rows_of_the_ethernet_capture(tmp_path, framing, originals):
    for source in SOURCES:
        path = reframe(source, framing, tmp_path / f"{framing}-{Path(source).stem}.pcap")
        rows = rows_of(path)
        assert rows == originals[source], f"{source} as {framing}"
        assert len(rows) >= 1
        with Capture(path) as cap:
            for _ in cap.segments():
                pass
            lt = FRAMINGS[framing][0]
            assert cap.stats.undecodable == {} and cap.stats.malformed == 0 and cap.stats.warnings == []
            assert cap.frame_counts().link_types == {lt: len(ip_packets(source))}


@pytest.mark.skipif(not TSHARK, reason="tshark not installed")
@pytest.mark.parametrize("framing", sorted(FRAMINGS))
def test_reframed_real_tls_agrees_with_tshark(tmp_path, framing):
    compared = 0
    for source in SOURCES:
        if source == "tls-mixed.pcapng":
            continue  # (its original needs its Decryption Secrets Block for tshark's ladder of TLS 1.3)
        path = reframe(source, framing, tmp_path / f"{framing}-{Path(source).stem}.pcap")
        ours, orig = compare(path), compare(CAPTURES / source)
        # tshark decodes the framing: the same streams with hellos, every field the same
        assert ours.diffs == [], [str(d) for d in ours.diffs]
        assert (ours.streams, ours.fields) == (orig.streams, orig.fields) and ours.streams >= 1
        compared += ours.fields
    assert compared > 100


def _sni_and_streams_by_tshark(path: Path) -> list[tuple[int, str]]:
    out = subprocess.run([TSHARK, "-r", str(path), "-Y", "tls.handshake.type == 1", "-T", "fields",
                          "-e", "tcp.stream", "-e", "tls.handshake.extensions_server_name"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return [(int(a), b) for a, b in (line.split("\t") for line in out.splitlines())]


@pytest.mark.skipif(not TSHARK, reason="tshark not installed")
def test_pcapng_interfaces_of_different_link_types(tmp_path):
    """A pcapng whose frames go over three interfaces (Ethernet, PPP, PPPoE without
    Ethernet), one after the other: the IDB link types go through the same decoder."""
    e = "<"
    kinds = [(1, lambda raw: Ether(type=_ethertype(raw), **E) / Raw(raw)), FRAMINGS["ppp-bare-compressed"],
             FRAMINGS["pppoe-dlt51"]]
    for source in ("tls12-ecdhe.pcap", "tls-mixed.pcapng"):
        blob = ng_shb(e) + b"".join(ng_idb(e, lt, tsresol=9) for lt, _ in kinds)
        packets = ip_packets(source)
        for i, (t, raw) in enumerate(packets):
            blob += ng_epb(e, i % 3, int(t * 10**9), bytes(kinds[i % 3][1](raw)))
        path = tmp_path / f"multi-{Path(source).stem}.pcapng"
        path.write_bytes(blob)
        assert rows_of(path) == rows_of(CAPTURES / source)
        with Capture(path) as cap:
            for _ in cap.segments():
                pass
            n = len(packets)
            assert cap.frame_counts().link_types == {1: (n + 2) // 3, 9: (n + 1) // 3, 51: n // 3}
        ours = sorted((r[COLUMN_NAMES.index("stream")], r[COLUMN_NAMES.index("sni")] or "")
                      for r in process_file(0, str(path), path.name, NO_SECRETS).rows
                      if r[COLUMN_NAMES.index("client_hello_frame")] is not None)
        assert ours == sorted(set(_sni_and_streams_by_tshark(path))) and ours
        assert compare(path).diffs == []


# -- what could not be decoded -------------------------------------------------------------
def mixed_capture(path: Path) -> tuple[Path, int]:
    """Real TLS (tls12-ecdhe.pcap) with, between its frames, 3 frames of an ethertype we do
    not read (0x88b5), 2 PPPoE frames of Van Jacobson compressed TCP (PPP 0x002d), and frames
    that carry nothing for us (ARP, ICMP, PPP LCP): returns the path and the frame count."""
    w = PcapWriter(str(path), linktype=1, nano=True, sync=True)
    n = 0
    extra = [Ether(type=0x88B5, **E) / Raw(b"\x01" * 46)] * 3 + \
            [Ether(type=0x8864, **E) / PPPoE(sessionid=1) / PPP(proto=0x002D) / Raw(b"\x45" * 40)] * 2 + \
            [Ether(**E) / ARP(), Ether(**E) / IP(src="10.1.1.1", dst="10.1.1.2") / ICMP(),
             Ether(type=0x8864, **E) / PPPoE(sessionid=1) / PPP(proto=0xC021) / Raw(b"\x09\x01\x00\x08abcd")]
    for i, (t, raw) in enumerate(ip_packets("tls12-ecdhe.pcap")):
        p = Ether(type=_ethertype(raw), **E) / Raw(raw)
        p.time = t
        w.write(p)
        n += 1
        if i < len(extra):
            q = extra[i].copy()
            q.time = t
            w.write(q)
            n += 1
    w.close()
    return path, n


WARNING = ("5 of {n} frames could not be decoded: ethertype 0x88b5 (IEEE 802 local experimental 1): 3 frames, "
           "PPP protocol 0x002d (Van Jacobson compressed TCP/IP): 2 frames")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**os.environ, "COLUMNS": "250"})


def _warning_lines(stderr: str, what: str = "could not be decoded") -> list[str]:
    return [line for line in stderr.splitlines() if what in line]


def test_undecodable_frames_are_counted_and_named_in_one_warning(tmp_path):
    path, n = mixed_capture(tmp_path / "mixed.pcap")
    with Capture(path) as cap:
        for _ in cap.segments():
            pass
        st = cap.stats
    assert st.undecodable == {("ethertype", 0x88B5): 3, ("PPP protocol", 0x002D): 2}
    assert st.non_ip == 2 and st.non_tcp == 1  # ARP and LCP; ICMP: read, nothing for us
    # the TLS is all there (frame numbers differ: frames were inserted)
    keep = [COLUMN_NAMES.index(c) - 1 for c in ("stream", "sni", "version", "cipher_suite", "handshake_complete",
                                                 "bytes_client", "bytes_server", "ja3", "ja4", "cert_sha256")]
    assert ([[r[i] for i in keep] for r in rows_of(path)]
            == [[r[i] for i in keep] for r in rows_of(CAPTURES / "tls12-ecdhe.pcap")])
    out = process_file(0, str(path), path.name)
    assert out.error is None and out.warnings == [f"{path}: " + WARNING.format(n=n)]
    r = _cli("connections", str(path), "-f", "csv")
    assert r.returncode == 0  # something was read: the warning does not change the exit code
    assert _warning_lines(r.stderr) == ["warning: " + f"{path}: " + WARNING.format(n=n)]
    assert r.stdout.count("\n") == 3  # header and the two connections
    # two files on two workers (analyzer.batch): the same one line per file
    other, _ = mixed_capture(tmp_path / "mixed2.pcap")
    r = _cli("connections", str(path), str(other), "-f", "csv", "-j", "2")
    assert r.returncode == 0
    assert sorted(_warning_lines(r.stderr)) == sorted(f"warning: {p}: " + WARNING.format(n=n) for p in (path, other))
    assert r.stdout.count("\n") == 5


def test_warning_once_with_file_totals_when_read_in_parts(tmp_path):
    path, n = mixed_capture(tmp_path / "mixed.pcap")
    seq = process_file(0, str(path), path.name)
    size = path.stat().st_size
    for k in (2, 3, 5):
        bounds = [0, *[size * i // k for i in range(1, k)], size]
        outs = [process_file(0, str(path), path.name, part=Part(i, k, bounds[i], bounds[i + 1])) for i in range(k)]
        assert not any(_warning_lines("\n".join(o.warnings)) for o in outs)  # the parts say nothing ...
        parts_total = sum(sum(o.part.frames.undecodable.values()) for o in outs)
        assert parts_total == 5 and sum(o.part.frames.frames for o in outs) == n
        merged = merge_parts(outs)  # ... the merge says it once, with the file's totals
        assert merged.error is None and merged.warnings == seq.warnings
        assert merged.frames == seq.frames


def test_cli_warns_once_for_a_file_read_in_parts(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from analyzer.cli import app

    path, n = mixed_capture(tmp_path / "mixed.pcap")
    monkeypatch.setattr(parts_mod, "MIN_SPLIT_BYTES", 1)
    monkeypatch.setattr(parts_mod, "MIN_PART_BYTES", 1)
    r = CliRunner().invoke(app, ["connections", str(path), "-f", "csv", "-j", "2"])
    assert r.exit_code == 0
    assert _warning_lines(r.stderr) == [f"warning: {path}: " + WARNING.format(n=n)]
    assert r.stdout.count("\n") == 3


def test_a_file_of_nothing_decodable_is_an_error_naming_its_link_type(tmp_path):
    """DLT 147 (USER0): an error naming it (exit 1), the other files' rows still written."""
    user0 = tmp_path / "user0.pcap"
    w = PcapWriter(str(user0), linktype=147, sync=True)
    for t, raw in ip_packets("tls13-aes128.pcap"):
        p = Raw(b"\x00\x01" + raw)
        p.time = t
        w.write(p)
    w.close()
    expected = f"{user0}: none of its 16 frames could be decoded: link type 147 (USER0): 16 frames"
    out = process_file(0, str(user0), user0.name)
    assert out.error == expected and out.rows == []
    good = CAPTURES / "tls12-ecdhe.pcap"
    for jobs in ("1", "2"):
        r = _cli("connections", str(user0), str(good), "-f", "csv", "-j", jobs)
        assert r.returncode == 1, r.stderr
        assert [line for line in r.stderr.splitlines() if "USER0" in line] == [f"error: {expected}"]
        assert r.stdout.count("\n") == 3 and "tls12-ecdhe.pcap" in r.stdout  # the other file's two rows
    r = _cli("connections", str(user0), "-f", "csv")
    assert r.returncode == 2  # nothing could be read at all (as for any unreadable input)
    # in pcapng, and read in parts: the same error
    e = "<"
    blob = ng_shb(e) + ng_idb(e, 147) + b"".join(ng_epb(e, 0, int(t * 10**6), b"\x00\x01" + raw)
                                                  for t, raw in ip_packets("tls13-aes128.pcap"))
    ng = tmp_path / "user0.pcapng"
    ng.write_bytes(blob)
    assert process_file(0, str(ng), ng.name).error == expected.replace("user0.pcap", "user0.pcapng")
    size = ng.stat().st_size
    outs = [process_file(0, str(ng), ng.name, part=Part(i, 2, (0, size // 2)[i], (size // 2, size)[i]))
            for i in range(2)]
    assert all(o.error is None for o in outs)
    assert merge_parts(outs).error == expected.replace("user0.pcap", "user0.pcapng")


def test_an_unknown_ethertype_alone_is_an_error_too(tmp_path):
    path = tmp_path / "only-88b5.pcap"
    w = PcapWriter(str(path), linktype=1, sync=True)
    for _ in range(4):
        w.write(Ether(type=0x88B5, **E) / Raw(b"\0" * 46))
    w.close()
    out = process_file(0, str(path), path.name)
    assert out.error == (f"{path}: none of its 4 frames could be decoded: "
                         "ethertype 0x88b5 (IEEE 802 local experimental 1): 4 frames")


def test_frames_with_nothing_for_us_are_no_error(tmp_path):
    """ARP and ICMP only: read, nothing for us; no warning, no error, no rows."""
    path = tmp_path / "arp-icmp.pcap"
    w = PcapWriter(str(path), linktype=1, sync=True)
    for p in (Ether(**E) / ARP(), Ether(**E) / IP(src="10.1.1.1", dst="10.1.1.2") / ICMP()):
        w.write(p)
    w.close()
    out = process_file(0, str(path), path.name)
    assert out.error is None and out.warnings == [] and out.rows == []
    assert out.frames.link_types == {1: 2} and out.frames.undecodable == {}


def test_undecodable_kinds_are_bounded(tmp_path):
    """Beyond MAX_UNDECODABLE_KINDS kinds, further frames are counted as one more kind."""
    path = tmp_path / "many.pcap"
    w = PcapWriter(str(path), linktype=1, sync=True)
    kinds = MAX_UNDECODABLE_KINDS + 10
    for et in range(0xA000, 0xA000 + kinds):
        w.write(Ether(type=et, **E) / Raw(b"\0" * 46))
    w.write(Ether(type=_ethertype(ip_packets("tls12-ecdhe.pcap")[0][1]), **E) / Raw(ip_packets("tls12-ecdhe.pcap")[0][1]))
    w.close()
    with Capture(path) as cap:
        for _ in cap.segments():
            pass
    u = cap.stats.undecodable
    assert len(u) == MAX_UNDECODABLE_KINDS + 1 and u[("other", 0)] == 10 and sum(u.values()) == kinds
    out = process_file(0, str(path), path.name)
    assert out.error is None and len(out.warnings) == 1
    assert out.warnings[0].endswith("further kinds: 10 frames") and f"{kinds} of {kinds + 1} frames" in out.warnings[0]
    stats = CaptureStats()
    for k in range(MAX_UNDECODABLE_KINDS + 5):
        stats.not_decoded("link type", 1000 + k)
    assert len(stats.undecodable) == MAX_UNDECODABLE_KINDS + 1


def test_summary_shows_link_types_of_each_file(tmp_path):
    ppp = reframe("tls13-aes128.pcap", "ppp-bare-compressed", tmp_path / "ppp.pcap")
    mixed, n = mixed_capture(tmp_path / "mixed.pcap")
    r = _cli("summary", str(ppp), str(mixed), str(CAPTURES / "tls-mixed.pcapng"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    row = {name: next(line for line in lines if line.startswith("│ " + name)) for name in
           ("ppp.pcap", "mixed.pcap", "tls-mixed.pcapng")}
    assert "PPP (9): 16" in row["ppp.pcap"] and "ETHERNET" not in row["ppp.pcap"]
    assert f"ETHERNET (1): {n}" in row["mixed.pcap"] and "ETHERNET (1): 57" in row["tls-mixed.pcapng"]
    assert "ethertype 0x88b5" in r.stdout and "│ 0 " in row["ppp.pcap"] + " "
    # the same numbers with --jobs 2 (files in worker processes)
    r2 = _cli("summary", str(ppp), str(mixed), str(CAPTURES / "tls-mixed.pcapng"), "-j", "2")
    assert r2.returncode == 0 and r2.stdout == r.stdout


def test_summary_json_link_types():
    from analyzer.capture.model import FrameCounts
    from analyzer.report.summary import summarize
    from analyzer.report.table import TableBuilder

    frames = {"a.pcap": FrameCounts({9: 10, 1: 3}, {("PPP protocol", 0x2D): 2}), "empty.pcap": FrameCounts({147: 4})}
    s = summarize(TableBuilder().table(), files_read=2, frames=frames)
    assert s["per_capture"]["a.pcap"]["link_types"] == [{"link_type": 9, "name": "PPP", "frames": 10},
                                                        {"link_type": 1, "name": "ETHERNET", "frames": 3}]
    assert s["per_capture"]["a.pcap"]["frames_not_decoded"] == {"PPP protocol 0x002d (Van Jacobson compressed TCP/IP)": 2}
    assert s["per_capture"]["empty.pcap"]["connections"] == 0
    assert s["overall"]["link_types"][0] == {"link_type": 9, "name": "PPP", "frames": 10}
    json.dumps(s)


def test_report_summary_json_has_link_types(tmp_path):
    ppp = reframe("tls13-aes128.pcap", "pppoe-dlt51", tmp_path / "pppoe.pcap")
    r = _cli("report", str(ppp), "-o", str(tmp_path / "out"), "-q")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["per_capture"]["pppoe.pcap"]["link_types"] == [{"link_type": 51, "name": "PPP_ETHER", "frames": 16}]
    assert s["per_capture"]["pppoe.pcap"]["frames_not_decoded"] == {}
