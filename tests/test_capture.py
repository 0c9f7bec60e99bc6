"""Tests of the capture stage (analyzer/capture): pcap/pcapng reading, link
layers, IPv4/IPv6, fragments, tunnels, and the TCP segment tuples.

Frames are built with scapy; files are written with scapy's writers or, for
the variants scapy cannot write (big-endian pcapng, several sections,
if_tsresol/if_tsoffset, SPB/PB, DSB), with a small pcapng writer below whose
output is checked against tshark when tshark is installed. Every synthetic test
also checks that the fast path and the general (slow-path) decoder agree.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.all import (
    GRE,
    PPP,
    AH,
    CookedLinux,
    CookedLinuxV2,
    Dot1AD,
    Dot1Q,
    Ether,
    IP,
    IPOption_RR,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    Loopback,
    Padding,
    PcapNgWriter,
    PcapWriter,
    PPPoE,
    Raw,
    TCP,
    UDP,
    fragment,
    fragment6,
    wrpcap,
    wrpcapng,
)
from scapy.contrib.mpls import MPLS
from scapy.layers.vxlan import VXLAN

from analyzer.capture import (
    ACK,
    CWR,
    ECE,
    FIN,
    NS,
    PSH,
    RST,
    SYN,
    URG,
    Capture,
    CaptureError,
    CaptureStats,
    format_address,
)
from analyzer.capture.linklayer import FrameDecoder

SHARED = Path(__file__).resolve().parents[2] / "shared" / "captures"
TSHARK = shutil.which("tshark")
A4 = bytes([10, 0, 0, 1])
B4 = bytes([10, 0, 0, 2])
A6 = bytes.fromhex("20010db8000000000000000000000001")
B6 = bytes.fromhex("20010db8000000000000000000000002")
T0 = 1700000000


# -- helpers -----------------------------------------------------------------------------
def _records(cap: Capture):
    return cap._pcap_records() if cap.format == "pcap" else cap._pcapng_records()


def read_all(source, **kw) -> tuple[list[tuple], Capture]:
    """Segments with payloads as bytes; also checks fast path == slow path."""
    cap = Capture(source, **kw)
    segs = [s[:9] + (bytes(s[9]), s[10]) for s in cap.segments()]
    cap.close()
    if isinstance(source, (str, Path)):
        with Capture(source, **kw) as again:
            dec = FrameDecoder(CaptureStats())
            slow = []
            for frame, ts, lt, data, _orig in _records(again):
                s = dec.decode(frame, ts, lt, data)
                if s is not None:
                    slow.append(s[:9] + (bytes(s[9]), s[10]))
        assert slow == segs, "fast path and slow path disagree"
    return segs, cap


def write_pcap(path: Path, pkts, linktype: int | None = None, nano: bool = False,
               endianness: str = "") -> Path:
    w = PcapWriter(str(path), linktype=linktype, nano=nano, endianness=endianness)
    for p in pkts:
        w.write(p)
    w.close()
    return path


def E(**kw) -> Ether:
    """Ethernet header with fixed MACs (scapy would otherwise try to resolve them)."""
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", **kw)


def write_raw_pcap(path: Path, frames: list[bytes], linktype: int) -> Path:
    """Classic pcap with any link type (scapy's writer turns link type 0 into 1)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for i, f in enumerate(frames):
        out.append(struct.pack("<IIII", T0 + i, 0, len(f), len(f)) + f)
    path.write_bytes(b"".join(out))
    return path


def tcp4(payload: bytes = b"hello", **kw) -> IP:
    t = dict(sport=40000, dport=443, seq=1000, ack=2000, flags="PA")
    t.update(kw)
    return IP(src="10.0.0.1", dst="10.0.0.2") / TCP(**t) / Raw(payload)


def tcp6(payload: bytes = b"hello", ext=None, **kw):
    t = dict(sport=40000, dport=443, seq=1000, ack=2000, flags="PA")
    t.update(kw)
    base = IPv6(src="2001:db8::1", dst="2001:db8::2")
    if ext is not None:
        base = base / ext
    return base / TCP(**t) / Raw(payload)


def stamp(pkts, start: float = T0 + 0.25):
    for i, p in enumerate(pkts):
        p.time = start + i
    return pkts


def expect4(seg, frame, payload=b"hello", plen=None, seq=1000, ack=2000, flags=PSH | ACK):
    assert seg[0] == frame
    assert seg[2] == A4 and seg[4] == B4
    assert (seg[3], seg[5]) == (40000, 443)
    assert (seg[6], seg[7], seg[8]) == (seq, ack, flags)
    assert seg[9] == payload
    assert seg[10] == (len(payload) if plen is None else plen)


# pcapng writer for the variants scapy lacks (block layout per the pcapng spec).
def ng_block(e: str, btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    blen = 12 + len(body)
    return struct.pack(e + "II", btype, blen) + body + struct.pack(e + "I", blen)


def ng_shb(e: str) -> bytes:
    return ng_block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def ng_idb(e: str, lt: int, snap: int = 0, tsresol: int | None = None, tsoffset: int | None = None) -> bytes:
    opts = b""
    if tsresol is not None:
        opts += struct.pack(e + "HH", 9, 1) + bytes([tsresol]) + b"\0\0\0"
    if tsoffset is not None:
        opts += struct.pack(e + "HHq", 14, 8, tsoffset)
    if opts:
        opts += struct.pack(e + "HH", 0, 0)
    return ng_block(e, 1, struct.pack(e + "HHI", lt, 0, snap) + opts)


def ng_epb(e: str, iface: int, t: int, data: bytes, orig: int | None = None) -> bytes:
    hdr = struct.pack(e + "IIIII", iface, t >> 32, t & 0xFFFFFFFF, len(data), orig or len(data))
    return ng_block(e, 6, hdr + data)


def ng_pb(e: str, iface: int, t: int, data: bytes) -> bytes:
    hdr = struct.pack(e + "HHIIII", iface, 0, t >> 32, t & 0xFFFFFFFF, len(data), len(data))
    return ng_block(e, 2, hdr + data)


def ng_spb(e: str, data: bytes) -> bytes:
    return ng_block(e, 3, struct.pack(e + "I", len(data)) + data)


def ng_dsb(e: str, stype: int, secret: bytes) -> bytes:
    return ng_block(e, 0x0A, struct.pack(e + "II", stype, len(secret)) + secret)


def tshark_fields(path: Path | str, *fields: str, filt: str = "tcp") -> list[list[str]]:
    args = [TSHARK, "-r", str(path), "-Y", filt, "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


# -- classic pcap ------------------------------------------------------------------------
def test_pcap_ethernet_fields(tmp_path):
    pkts = stamp([
        E() / tcp4(b"", flags="S", seq=1, ack=0),
        E() / tcp4(b"hello"),
        E() / tcp4(b"x" * 1000, flags="FA", seq=7, ack=8),
        E() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=53) / Raw(b"dns"),
        E() / tcp4(b"", flags=0x1FF),
    ])
    segs, cap = read_all(write_pcap(tmp_path / "a.pcap", pkts))
    assert cap.format == "pcap" and cap.linktype == 1
    assert len(segs) == 4
    expect4(segs[0], 1, b"", seq=1, ack=0, flags=SYN)
    expect4(segs[1], 2)
    expect4(segs[2], 3, b"x" * 1000, seq=7, ack=8, flags=FIN | ACK)
    expect4(segs[3], 5, b"", flags=FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | NS)
    assert segs[0][1] == pytest.approx(T0 + 0.25, abs=1e-6)
    assert segs[3][1] == pytest.approx(T0 + 4.25, abs=1e-6)
    st_ = cap.stats
    assert (st_.frames, st_.tcp_segments, st_.non_tcp, st_.malformed) == (5, 4, 1, 0)
    assert cap.first_ts == pytest.approx(T0 + 0.25) and cap.last_ts == pytest.approx(T0 + 4.25)
    assert st_.bytes_read == os.path.getsize(tmp_path / "a.pcap") == cap.size
    assert format_address(segs[0][2]) == "10.0.0.1"


def test_pcap_nanosecond_and_big_endian(tmp_path):
    p = E() / tcp4()
    results = {}
    for nano in (False, True):
        for endian in ("<", ">"):
            path = tmp_path / f"n{nano}{endian == '>'}.pcap"
            w = PcapWriter(str(path), linktype=1, nano=nano, endianness=endian)
            w.write_header(p)
            w.write_packet(p, sec=T0, usec=123456789 if nano else 123456)
            w.write_packet(p, sec=T0 + 1, usec=999999999 if nano else 999999)
            w.close()
            magic = path.read_bytes()[:4]
            assert magic in (b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1")
            segs, _cap = read_all(path)
            results[(nano, endian)] = [s[1] for s in segs]
            expect4(segs[0], 1)
            expect4(segs[1], 2)
    assert len({bytes(tmp_path.joinpath(f).read_bytes()[:4]) for f in os.listdir(tmp_path)}) == 4
    for endian in "<>":
        assert results[(True, endian)][0] == pytest.approx(T0 + 0.123456789, abs=1e-6)
        assert results[(True, endian)][1] == pytest.approx(T0 + 1.999999999, abs=1e-6)
        assert results[(False, endian)][0] == pytest.approx(T0 + 0.123456, abs=1e-6)
        assert results[(False, endian)][1] == pytest.approx(T0 + 1.999999, abs=1e-6)


def test_snaplen_cut_and_padding_and_tso(tmp_path):
    full = E() / tcp4(b"A" * 600)
    raw = bytes(full)
    padded = E() / tcp4(b"ab") / Padding(b"\0" * 4)  # to the 60-byte Ethernet minimum
    tso = E() / IP(bytes(tcp4(b"B" * 300)))
    tso[IP].len = 0
    path = tmp_path / "cut.pcap"
    w = PcapWriter(str(path), linktype=1)
    w.write_header(None)
    w.write_packet(raw[:100], sec=T0, usec=0, wirelen=len(raw))
    w.write_packet(padded, sec=T0, usec=1)
    w.write_packet(bytes(tso), sec=T0, usec=2)
    w.write_packet(raw[:40], sec=T0, usec=3, wirelen=len(raw))  # cut inside the TCP header
    w.close()
    assert len(bytes(padded)) == 60
    segs, cap = read_all(path)
    assert len(segs) == 3
    expect4(segs[0], 1, b"A" * (100 - 54), plen=600)
    expect4(segs[1], 2, b"ab")
    expect4(segs[2], 3, b"B" * 300)
    assert cap.stats.truncated_frames == 2
    assert cap.stats.malformed == 1 and "frame 4" in cap.stats.warnings[0]


def test_ipv4_options(tmp_path):
    p = E() / IP(src="10.0.0.1", dst="10.0.0.2", options=[IPOption_RR(routers=["1.2.3.4"])]) / \
        TCP(sport=40000, dport=443, seq=1000, ack=2000, flags="PA", options=[("MSS", 1460), ("NOP", None)]) / \
        Raw(b"hello")
    assert bytes(p)[14] != 0x45
    segs, _ = read_all(write_pcap(tmp_path / "o.pcap", [p]))
    expect4(segs[0], 1)


def test_vlan_tags(tmp_path):
    pkts = [
        E() / Dot1Q(vlan=10) / tcp4(b"one"),
        E() / Dot1AD(vlan=20) / Dot1Q(vlan=30) / tcp4(b"two"),
        E(type=0x9100) / Dot1Q(vlan=5) / Dot1Q(vlan=6) / tcp4(b"three"),
        E() / Dot1Q(vlan=7) / tcp6(b"six"),
    ]
    assert bytes(pkts[1])[12:14] == b"\x88\xa8"
    segs, _ = read_all(write_pcap(tmp_path / "v.pcap", pkts))
    expect4(segs[0], 1, b"one")
    expect4(segs[1], 2, b"two")
    expect4(segs[2], 3, b"three")
    assert segs[3][2] == A6 and segs[3][4] == B6 and segs[3][9] == b"six"


def test_ipv6_and_extension_headers(tmp_path):
    pkts = [
        E() / tcp6(b"plain"),
        E() / tcp6(b"hbh", ext=IPv6ExtHdrHopByHop()),
        E() / tcp6(b"chain", ext=IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(addresses=["2001:db8::9"])
                        / IPv6ExtHdrDestOpt()),
        E() / tcp6(b"ah", ext=AH(nh=6, spi=1, seq=1, payloadlen=4, icv=b"\0" * 12)),
        E() / IPv6(src="2001:db8::1", dst="2001:db8::2", nh=59) / Raw(b"junk"),
        E() / tcp6(b"pad") / Padding(b"\0" * 8),
    ]
    segs, cap = read_all(write_pcap(tmp_path / "v6.pcap", pkts))
    assert [s[9] for s in segs] == [b"plain", b"hbh", b"chain", b"ah", b"pad"]
    assert [s[0] for s in segs] == [1, 2, 3, 4, 6]
    for s in segs:
        assert (s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[10]) == (A6, 40000, B6, 443, 1000, 2000, PSH | ACK, len(s[9]))
    assert cap.stats.non_tcp == 1
    assert format_address(segs[0][2]) == "2001:db8::1"


def test_ipv4_fragments_reassembled(tmp_path):
    big = IP(src="10.0.0.1", dst="10.0.0.2", id=77) / TCP(sport=40000, dport=443, seq=1000, ack=2000,
                                                           flags="PA") / Raw(bytes(range(256)) * 12)
    frags = fragment(big, fragsize=1000)
    assert len(frags) == 4
    order = [E() / f for f in frags]
    order = [order[0], order[2], order[3], order[1]]  # out of order
    pkts = [E() / tcp4(b"before")] + order + [E() / tcp4(b"after")]
    segs, cap = read_all(write_pcap(tmp_path / "f.pcap", pkts))
    assert len(segs) == 3
    expect4(segs[0], 1, b"before")
    expect4(segs[1], 5, bytes(range(256)) * 12)  # reassembled at the last fragment, like Wireshark
    expect4(segs[2], 6, b"after")
    assert cap.stats.ip_fragments == 4 and cap.stats.reassembled_datagrams == 1


def test_ipv4_fragments_bounded(tmp_path):
    pkts = []
    for i in range(10):  # first halves only: never complete
        big = IP(src="10.0.0.1", dst="10.0.0.2", id=i) / TCP() / Raw(b"q" * 2000)
        pkts.append(E() / fragment(big, fragsize=1000)[0])
    segs, cap = read_all(write_pcap(tmp_path / "fb.pcap", pkts), max_pending_fragments=4)
    assert segs == [] and cap.stats.ip_fragments == 10 and cap.stats.reassembled_datagrams == 0
    assert any("pending" in w for w in cap.stats.warnings)


def test_ipv6_fragments_reassembled(tmp_path):
    big = IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(id=5) / \
        TCP(sport=40000, dport=443, seq=1000, ack=2000, flags="PA") / Raw(b"z" * 3000)
    frags = fragment6(big, 1280)
    assert len(frags) == 3
    segs, cap = read_all(write_pcap(tmp_path / "f6.pcap", [E() / f for f in reversed(frags)]))
    assert len(segs) == 1
    s = segs[0]
    assert (s[0], s[2], s[4], s[3], s[5], s[9], s[10]) == (3, A6, B6, 40000, 443, b"z" * 3000, 3000)
    assert cap.stats.ip_fragments == 3 and cap.stats.reassembled_datagrams == 1


@pytest.mark.parametrize("layer,linktype", [(CookedLinux, 113), (CookedLinuxV2, 276)])
def test_linux_cooked(tmp_path, layer, linktype):
    pkts = [layer(proto=0x0800) / tcp4(), layer(proto=0x86DD) / tcp6(), layer(proto=0x0806) / Raw(b"\0" * 28)]
    path = tmp_path / "sll.pcap"
    wrpcap(str(path), pkts)
    segs, cap = read_all(path)
    assert cap.linktype == linktype
    expect4(segs[0], 1)
    assert segs[1][0] == 2 and segs[1][2] == A6
    assert len(segs) == 2 and cap.stats.non_ip == 1


@pytest.mark.parametrize("linktype", [101, 12, 14, 228, 229])
def test_raw_ip(tmp_path, linktype):
    pkts = [tcp6()] if linktype == 229 else [tcp4(), tcp6()] if linktype != 228 else [tcp4()]
    path = write_pcap(tmp_path / "raw.pcap", [bytes(p) for p in pkts], linktype=linktype)
    segs, cap = read_all(path)
    assert len(segs) == len(pkts) and cap.linktype == linktype
    assert segs[0][2] in (A4, A6)


def test_loopback_both_byte_orders(tmp_path):
    frames = [
        bytes(Loopback(type=2) / tcp4(b"le4")),  # scapy writes the host (little-endian) order
        struct.pack(">I", 2) + bytes(tcp4(b"be4")),
        struct.pack("<I", 30) + bytes(tcp6(b"darwin6")),
        struct.pack(">I", 28) + bytes(tcp6(b"freebsd6")),
        struct.pack("<I", 24) + bytes(tcp6(b"bsd6")),
        struct.pack("<I", 7) + b"\0" * 40,
    ]
    assert frames[0][:4] == b"\x02\0\0\0"
    segs, cap = read_all(write_raw_pcap(tmp_path / "null.pcap", frames, linktype=0))
    assert [s[9] for s in segs] == [b"le4", b"be4", b"darwin6", b"freebsd6", b"bsd6"]
    assert cap.stats.non_ip == 0 and cap.stats.undecodable == {("address family", 7): 1}
    loop = [struct.pack(">I", 2) + bytes(tcp4(b"loop4")), struct.pack(">I", 24) + bytes(tcp6(b"loop6"))]
    segs, cap = read_all(write_pcap(tmp_path / "loop.pcap", loop, linktype=108))
    assert [s[9] for s in segs] == [b"loop4", b"loop6"]


def test_unsupported_linktype_counted(tmp_path):
    segs, cap = read_all(write_pcap(tmp_path / "u.pcap", [b"\x01\x02\x03"] * 3, linktype=147))
    assert segs == [] and cap.stats.unsupported_linktypes == {147: 3} and cap.stats.frames == 3


def test_tunnels(tmp_path):
    inner = tcp4(b"inner")
    pkts = [
        E() / IP(src="192.0.2.1", dst="192.0.2.2") / GRE() / inner,
        E() / IP(src="192.0.2.1", dst="192.0.2.2") / GRE(key_present=1, key=9, seqnum_present=1,
                                                              sequence_number=3) / inner,
        E() / IP(src="192.0.2.1", dst="192.0.2.2") / GRE(proto=0x6558) / E() / Dot1Q(vlan=3) / inner,
        E() / IP(src="192.0.2.1", dst="192.0.2.2") / GRE(seqnum_present=1, proto=0x88BE) /
        Raw(b"\x10\x00\x00\x01\x00\x00\x00\x00") / E() / inner,  # ERSPAN type II
        E() / IP(src="192.0.2.1", dst="192.0.2.2") / GRE(proto=0x86DD) / tcp6(b"inner"),
        E() / IP(src="192.0.2.1", dst="192.0.2.2", proto=4) / inner,
        E() / IP(src="192.0.2.1", dst="192.0.2.2", proto=41) / tcp6(b"inner"),
        E() / IPv6(src="2001:db8::7", dst="2001:db8::8") / inner,
        E() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=5555, dport=4789) / VXLAN(vni=42) /
        E() / inner,
        E(type=0x8864) / PPPoE(sessionid=1) / PPP(proto=0x0021) / inner,
        E(type=0x8847) / MPLS(label=100, s=0) / MPLS(label=200, s=1) / inner,
    ]
    segs, cap = read_all(write_pcap(tmp_path / "tun.pcap", pkts))
    assert [s[0] for s in segs] == list(range(1, len(pkts) + 1))
    for s in segs:
        assert s[2] in (A4, A6) and s[9] == b"inner" and s[10] == 5 and (s[3], s[5]) == (40000, 443)
    assert cap.stats.malformed == 0 and cap.stats.warnings == []


def test_non_ip_and_non_tcp_counted(tmp_path):
    from scapy.all import ARP, ICMP
    pkts = [E() / ARP(), E() / IP() / ICMP(), E() / IP() / UDP() / Raw(b"x"), E() / tcp4()]
    segs, cap = read_all(write_pcap(tmp_path / "n.pcap", pkts))
    assert len(segs) == 1 and cap.stats.non_ip == 1 and cap.stats.non_tcp == 2 and cap.stats.frames == 4


# -- damaged and odd files --------------------------------------------------------------
def test_truncated_pcap(tmp_path):
    path = write_pcap(tmp_path / "t.pcap", stamp([E() / tcp4(b"p%d" % i) for i in range(3)]))
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    segs, cap = read_all(path)
    assert [s[9] for s in segs] == [b"p0", b"p1"]
    assert cap.stats.file_truncated and "frame 3" in cap.stats.warnings[-1]
    path.write_bytes(data[:-len(bytes(E() / tcp4(b"p2"))) - 5])  # cut inside the record header
    segs, cap = read_all(path)
    assert len(segs) == 2 and cap.stats.file_truncated and "frame 3" in cap.stats.warnings[-1]


def test_garbage_and_empty_files(tmp_path):
    g = tmp_path / "garbage.pcap"
    g.write_bytes(b"this is not a capture file at all\n" * 10)
    with pytest.raises(CaptureError) as ei:
        Capture(g)
    msg = str(ei.value)
    assert "\n" not in msg and str(g) in msg and "not a pcap" in msg and ei.value.path == str(g)
    e = tmp_path / "empty.pcap"
    e.write_bytes(b"")
    with pytest.raises(CaptureError, match="empty"):
        Capture(e)
    s = tmp_path / "short.pcap"
    s.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00")
    with pytest.raises(CaptureError, match="truncated pcap"):
        Capture(s)
    with pytest.raises(CaptureError, match="cannot open"):
        Capture(tmp_path / "missing.pcap")
    with pytest.raises(CaptureError):
        Capture(io.BytesIO(b"\x1f\x8b" + b"not really gzip" * 3))


def test_warnings_are_capped(tmp_path):
    bad = bytes(E() / tcp4())
    bad = bad[:14] + b"\x41" + bad[15:]  # IHL 1: malformed
    segs, cap = read_all(write_pcap(tmp_path / "w.pcap", [bad] * 150, linktype=1))
    assert segs == [] and cap.stats.malformed == 150
    assert len(cap.stats.warnings) == 100 and cap.stats.warnings_dropped == 50


def test_gzip_path_and_stream(tmp_path):
    path = write_pcap(tmp_path / "g.pcap", stamp([E() / tcp4(b"g%d" % i) for i in range(50)]))
    plain, _ = read_all(path)
    gz = tmp_path / "g.pcap.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    segs, cap = read_all(gz, chunk_size=100)
    assert segs == plain and len(segs) == 50
    assert 0 < cap.stats.bytes_read <= os.path.getsize(gz)

    class Pipe(io.RawIOBase):  # not seekable, short reads
        def __init__(self, data: bytes) -> None:
            self._b = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b) -> int:
            chunk = self._b.read(min(len(b), 7))
            b[: len(chunk)] = chunk
            return len(chunk)

    for data in (gz.read_bytes(), path.read_bytes()):
        cap = Capture(Pipe(data), name="piped")
        assert cap.name == "piped" and cap.path == "<stream>"
        got = [s[:9] + (bytes(s[9]), s[10]) for s in cap.segments()]
        assert got == plain


def test_gzip_truncated(tmp_path):
    path = write_pcap(tmp_path / "g.pcap", stamp([E() / tcp4(b"x" * 500) for i in range(40)]))
    gz = tmp_path / "g.pcap.gz"
    data = gzip.compress(path.read_bytes(), compresslevel=0)  # stored: a cut loses few frames
    gz.write_bytes(data[: len(data) // 2])
    segs, cap = read_all(gz, chunk_size=1000)
    assert 5 < len(segs) < 40 and cap.stats.file_truncated
    assert [s[0] for s in segs] == list(range(1, len(segs) + 1))


def test_real_capture_decryption_secrets():
    path = SHARED / "ja4" / "chrome-cloudflare-quic-with-secrets.pcapng"
    if not path.exists():
        pytest.skip("shared captures missing")
    cap = Capture(path)
    it = cap.segments()
    next(it)  # the DSB precedes the first packet
    assert cap.decryption_secrets and cap.decryption_secrets[0][0] == 0x544C534B
    assert b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" in cap.decryption_secrets[0][1]
    it.close()
    assert cap.stats.frames >= 1
    cap.close()


def test_chunk_boundaries(tmp_path):
    pkts = stamp([E() / tcp4(b"c" * (i * 37 % 1400)) for i in range(60)])
    pcap = write_pcap(tmp_path / "c.pcap", pkts)
    ng = tmp_path / "c.pcapng"
    wrpcapng(str(ng), pkts)
    for path in (pcap, ng):
        ref, _ = read_all(path)
        assert len(ref) == 60
        for chunk in (1, 7, 16, 100, 1500, 4096):
            segs, cap = read_all(path, chunk_size=chunk)
            assert segs == ref, (path, chunk)
            assert not cap.stats.file_truncated


def test_held_payloads_survive_chunk_reuse(tmp_path):
    """Chunk buffers are reused only when no payload view is left: held views never change."""
    pkts = stamp([E() / tcp4(bytes([i]) * (i * 53 % 1400 + 1)) for i in range(200)])
    pcap = write_pcap(tmp_path / "h.pcap", pkts)
    ng = tmp_path / "h.pcapng"
    wrpcapng(str(ng), pkts)
    for path in (pcap, ng):
        ref, _ = read_all(path)
        for chunk in (64, 3000, 1 << 20):
            with Capture(path, chunk_size=chunk) as cap:
                held = []
                for i, s in enumerate(cap.segments()):
                    if i % 3 == 0:
                        held.append(s)  # keep the view; the others are dropped at once
                    assert bytes(s[9]) == ref[i][9]
            assert [bytes(s[9]) for s in held] == [r[9] for r in ref[::3]], (path, chunk)
            assert all(s[9].readonly for s in held)


def test_segments_once_and_file_object(tmp_path):
    path = write_pcap(tmp_path / "o.pcap", [E() / tcp4()])
    with open(path, "rb") as f:
        cap = Capture(f)
        assert cap.path == str(path) and cap.name == "o.pcap"
        assert len(list(cap.segments())) == 1
        with pytest.raises(CaptureError):
            list(cap.segments())
        cap.close()
        assert not f.closed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_never_raises(tmp_path, data):
    pkts = [E() / tcp4(b"f" * 30), E() / Dot1Q() / tcp6(b"g"), E() / IP() / GRE() / tcp4(),
            E() / fragment(IP(dst="1.2.3.4") / TCP() / Raw(b"h" * 100), fragsize=40)[0]]
    base = tmp_path / "base.pcap"
    if not base.exists():
        write_pcap(base, pkts)
        wrpcapng(str(tmp_path / "base.pcapng"), pkts)
    raw = bytearray((tmp_path / data.draw(st.sampled_from(["base.pcap", "base.pcapng"]))).read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        cap = Capture(io.BytesIO(bytes(raw)), chunk_size=data.draw(st.sampled_from([5, 64, 1 << 20])))
    except CaptureError:
        return
    for s in cap.segments():
        assert len(s) == 11


# -- pcapng --------------------------------------------------------------------------------
def test_pcapng_scapy_writer(tmp_path):
    pkts = stamp([E() / tcp4(b"n1"), E() / tcp6(b"n2")])
    path = tmp_path / "s.pcapng"
    wrpcapng(str(path), pkts)
    segs, cap = read_all(path)
    assert cap.format == "pcapng"
    expect4(segs[0], 1, b"n1")
    assert segs[1][9] == b"n2" and segs[1][1] == pytest.approx(T0 + 1.25, abs=1e-6)


def odd_pcapng(e: str) -> bytes:
    """Two sections; interfaces with different link types and resolutions; SPB, PB, DSB, unknown block."""
    eth = bytes(E() / tcp4(b"eth"))
    raw6 = bytes(tcp6(b"raw6"))
    sll = bytes(CookedLinux(proto=0x0800) / tcp4(b"sll"))
    keylog = b"CLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48 + b"\n"
    return b"".join([
        ng_shb(e),
        ng_dsb(e, 0x544C534B, keylog),
        ng_idb(e, 1),  # microseconds
        ng_idb(e, 101, tsresol=9),  # nanoseconds
        ng_idb(e, 113, tsresol=0x80 | 20, tsoffset=1000),  # 2^-20 s, +1000 s
        ng_epb(e, 0, T0 * 10**6 + 500000, eth),
        ng_block(e, 0x7777, b"unknown block body"),
        ng_block(e, 0x0BAD, struct.pack(e + "I", 32473) + b"custom block: a frame in Wireshark"),
        ng_epb(e, 1, T0 * 10**9 + 123456789, raw6),
        ng_epb(e, 2, (T0 - 1000) * 2**20 + 2**19, sll),
        ng_pb(e, 0, T0 * 10**6 + 750000, eth),
        ng_spb(e, eth),  # no timestamp: previous one
        ng_shb(e),  # new section: interfaces reset
        ng_idb(e, 229, tsresol=3),
        ng_epb(e, 0, (T0 + 5) * 1000 + 5, raw6),
    ])


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_sections_resolutions_dsb(tmp_path, endian):
    path = tmp_path / f"odd{endian == '>'}.pcapng"
    path.write_bytes(odd_pcapng(endian))
    segs, cap = read_all(path)
    # Wireshark gives the custom block (0x00000BAD) a frame number too.
    assert [s[0] for s in segs] == [1, 3, 4, 5, 6, 7]
    assert [s[9] for s in segs] == [b"eth", b"raw6", b"sll", b"eth", b"eth", b"raw6"]
    ts = [s[1] for s in segs]
    assert ts == pytest.approx([T0 + 0.5, T0 + 0.123456789, T0 + 0.5, T0 + 0.75, T0 + 0.75, T0 + 5.005],
                               abs=1e-6)
    assert cap.decryption_secrets[0][0] == 0x544C534B
    assert cap.decryption_secrets[0][1].startswith(b"CLIENT_RANDOM ")
    assert cap.stats.frames == 7 and cap.stats.warnings == []
    if TSHARK:  # the writer above agrees with Wireshark
        rows = tshark_fields(path, "frame.number", "frame.time_epoch", "tcp.srcport", "tcp.len")
        assert [int(r[0]) for r in rows] == [s[0] for s in segs]
        for r, t in zip(rows, ts):
            if r[1]:  # tshark shows no time for the simple packet block; we carry the previous one
                assert float(r[1]) == pytest.approx(t, abs=1e-6)
        assert sum(1 for r in rows if not r[1]) == 1
        assert [int(r[3]) for r in rows] == [s[10] for s in segs]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_timestamps_round_as_python_divides(tmp_path, endian):
    """An EPB timestamp is `count / units_per_second + if_tsoffset` as Python's true division
    rounds it, on both cores: the compiled reader divides doubles when all three are exact
    doubles (below 2**53) and Python integers otherwise; the counts straddle that bound."""
    e = endian
    eth = bytes(E() / tcp4(b"t"))
    interfaces = [(6, None), (9, None), (0x80 | 20, 1000), (6, -7), (3, 2**53 + 1)]  # (if_tsresol, if_tsoffset)
    counts = [T0 * 10**6 + 123457, 2**53 - 1, 2**53, 2**53 + 1, 2**64 - 1, 1, 0, 987654321987654321]
    blocks = [ng_shb(e)] + [ng_idb(e, 1, tsresol=r, tsoffset=o) for r, o in interfaces]
    expected = []
    for i, (r, o) in enumerate(interfaces):
        units = 2 ** (r & 0x7F) if r & 0x80 else 10 ** r
        for c in counts:
            blocks.append(ng_epb(e, i, c, eth))
            expected.append(c / units + (o or 0))
    path = tmp_path / "times.pcapng"
    path.write_bytes(b"".join(blocks))
    segs, cap = read_all(path)
    assert [s[1] for s in segs] == expected
    assert cap.first_ts == expected[0] and cap.last_ts == expected[-1]


def test_pcapng_damage(tmp_path):
    e = "<"
    eth = bytes(E() / tcp4(b"ok"))
    good = ng_shb(e) + ng_idb(e, 1) + ng_epb(e, 0, T0 * 10**6, eth) + ng_epb(e, 0, T0 * 10**6, eth)
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(good[:-9])
    segs, cap = read_all(cut)
    assert len(segs) == 1 and cap.stats.file_truncated and "frame 2" in cap.stats.warnings[-1]
    bad = bytearray(good)
    first_epb = len(ng_shb(e) + ng_idb(e, 1))
    second_epb = first_epb + len(ng_epb(e, 0, 0, eth))
    struct.pack_into("<I", bad, second_epb + 4, 7)  # block length not a multiple of 4 / too small
    p = tmp_path / "badlen.pcapng"
    p.write_bytes(bytes(bad))
    segs, cap = read_all(p)
    assert len(segs) == 1 and any("block length" in w for w in cap.stats.warnings)
    noif = ng_shb(e) + ng_epb(e, 3, 0, eth) + ng_idb(e, 1) + ng_epb(e, 0, 0, eth)
    p.write_bytes(noif)
    segs, cap = read_all(p)
    assert [s[0] for s in segs] == [2] and cap.stats.malformed == 1
    p.write_bytes(ng_shb(e) + ng_idb(e, 147) + ng_epb(e, 0, 0, b"\0" * 20))
    segs, cap = read_all(p)
    assert segs == [] and cap.stats.unsupported_linktypes == {147: 1}


def test_pcapng_multiple_interfaces_scapy(tmp_path):
    path = tmp_path / "multi.pcapng"
    w = PcapNgWriter(str(path))
    a = E() / tcp4(b"eth")
    b = CookedLinux(proto=0x0800) / tcp4(b"sll")
    a.sniffed_on = "eth0"
    b.sniffed_on = "any"
    for p in (a, b, a):
        p.time = T0
        w.write(p)
    w.close()
    segs, _ = read_all(path)
    assert [s[9] for s in segs] == [b"eth", b"sll", b"eth"]


# -- real captures against tshark ----------------------------------------------------------
REAL = sorted(glob.glob(str(SHARED / "ja4" / "*.pcap*")) + glob.glob(str(SHARED / "suricata" / "*" / "*.pcap")))


@pytest.mark.parametrize("path", REAL, ids=[os.path.relpath(p, SHARED) for p in REAL])
def test_real_captures_match_tshark(path):
    segs, cap = read_all(path)
    assert cap.stats.frames > 0
    if not TSHARK:
        pytest.skip("tshark not installed")
    # tshark's `-Y tcp` counts frames with a TCP layer. Tunnelled TCP counts too
    # (gre-sample.pcap: frames 11-32 are Ethernet/IPv4/GRE/IPv4/TCP, 22 segments,
    # and we decode the same 22), and a TCP header quoted inside an ICMP error would
    # count for tshark but not for us; none of these files has one, so the counts
    # and every field agree exactly.
    rows = tshark_fields(path, "frame.number", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
                         "tcp.ack_raw", "tcp.flags", "tcp.len")
    assert len(segs) == len(rows)
    for s, r in zip(segs, rows):
        assert s[0] == int(r[0])
        assert (s[3], s[5], s[6]) == (int(r[1]), int(r[2]), int(r[3]))
        if s[8] & ACK:
            assert s[7] == int(r[4])
        assert s[8] == int(r[5], 16) & 0x1FF
        assert s[10] == int(r[6])
