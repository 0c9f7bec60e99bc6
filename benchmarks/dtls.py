"""DTLS-heavy benchmark: thousands of real DTLS handshakes, the analyzer against tshark.

Owns building `benchmarks/out/dtls-heavy.pcap` from the real DTLS conversations in
`captures/dtls/` (OpenSSL and GnuTLS peers; the ICMP frames are left out): each
benchmark connection replays one of them (round robin) with its own client address
(10.0.0.0/8) and a server address per sample, starting every `--gap` seconds, the
frames of all connections merged by time (IPv4 checksums recomputed, UDP checksums
zero as IPv4 allows). Then it times `python -m analyzer connections -f jsonl` against
tshark extracting the DTLS hello fields from the same file (alternating runs, medians)
and checks that every ServerHello tshark finds is one of our rows with the same
version and suite.

Usage: ``python benchmarks/dtls.py [--connections 3000] [--repeat 3] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
SAMPLES = ROOT / "captures" / "dtls"
ETH, IPV4_MIN = 14, 20
PROTO_UDP = 17
DTLS_PORTS = "udp.port==24431-24460,dtls"


def _frames(path: Path) -> list[tuple[float, bytes]]:
    """(relative time, Ethernet frame) of the UDP frames of a little-endian microsecond pcap."""
    data = path.read_bytes()
    magic = struct.unpack_from("<I", data)[0]
    assert magic == 0xA1B2C3D4, f"{path}: expected a little-endian microsecond pcap"
    pos, out, t0 = 24, [], None
    while pos + 16 <= len(data):
        sec, usec, incl, _orig = struct.unpack_from("<IIII", data, pos)
        frame = data[pos + 16: pos + 16 + incl]
        pos += 16 + incl
        t = sec + usec / 1e6
        t0 = t if t0 is None else t0
        if len(frame) > ETH + IPV4_MIN and frame[12:14] == b"\x08\x00" and frame[ETH + 9] == PROTO_UDP:
            out.append((t - t0, frame))
    return out


def _checksum(header: bytes) -> int:
    s = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _readdress(frame: bytes, client_ip: bytes, server_ip: bytes, client_port: int) -> bytes:
    b = bytearray(frame)
    ihl = (b[ETH] & 0x0F) * 4
    udp = ETH + ihl
    sport, dport = struct.unpack_from("!HH", b, udp)
    if sport > dport:        # the servers listen on 2443x, the clients' ports are ephemeral (above)
        b[ETH + 12: ETH + 16], b[ETH + 16: ETH + 20] = client_ip, server_ip
        struct.pack_into("!H", b, udp, client_port)
    else:
        b[ETH + 12: ETH + 16], b[ETH + 16: ETH + 20] = server_ip, client_ip
        struct.pack_into("!H", b, udp + 2, client_port)
    struct.pack_into("!H", b, udp + 6, 0)                 # no UDP checksum (RFC 768, IPv4)
    struct.pack_into("!H", b, ETH + 10, 0)
    struct.pack_into("!H", b, ETH + 10, _checksum(bytes(b[ETH: ETH + ihl])))
    return bytes(b)


def build(n: int, gap: float, path: Path) -> int:
    pools = [_frames(p) for p in sorted(SAMPLES.glob("*.pcap"))]
    pools = [p for p in pools if p]
    frames: list[tuple[float, int, bytes]] = []
    for k in range(n):
        pool = pools[k % len(pools)]
        client = bytes((10, (k >> 16) & 0xFF, (k >> 8) & 0xFF, k & 0xFF or 1))
        server = bytes((198, 51, 100, 1 + k % len(pools)))
        port = 40000 + (k % 20000)
        for t, fr in pool:
            frames.append((k * gap + t, len(frames), _readdress(fr, client, server, port)))
    frames.sort()
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        base = 1_767_225_600.0
        for t, _i, fr in frames:
            ts = base + t
            sec = int(ts)
            f.write(struct.pack("<IIII", sec, int(round((ts - sec) * 1e6)) % 1_000_000, len(fr), len(fr)))
            f.write(fr)
    return len(frames)


def _time(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--connections", type=int, default=3000)
    ap.add_argument("--gap", type=float, default=0.005, help="seconds between connection starts")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(OUT), help="folder for dtls-heavy.pcap (default benchmarks/out)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dtls-heavy.pcap"
    frames = build(args.connections, args.gap, path)
    ours_cmd = [sys.executable, "-m", "analyzer", "connections", str(path), "-f", "jsonl", "-q", "--jobs", "1"]
    tshark_cmd = ["tshark", "-r", str(path), "-d", DTLS_PORTS, "-Y", "dtls.handshake.type == 2", "-T", "fields",
                  "-e", "udp.stream", "-e", "dtls.handshake.version", "-e", "dtls.handshake.ciphersuite",
                  "-e", "dtls.handshake.extensions_server_name"]
    t_ours, t_tshark = [], []
    for _ in range(args.repeat):
        dt, ours = _time(ours_cmd)
        t_ours.append(dt)
        dt, theirs = _time(tshark_cmd)
        t_tshark.append(dt)
    rows = [json.loads(line) for line in ours.splitlines()]
    by_stream = {r["stream"]: r for r in rows if r["transport"] == "dtls"}
    hellos = [line.split("\t") for line in theirs.splitlines() if line]
    agree = sum(1 for s, v, suite, _sni in hellos if int(s) in by_stream
                and by_stream[int(s)]["version_code"] == int(v.split(",")[0], 16)
                and by_stream[int(s)]["cipher_suite_code"] == int(suite.split(",")[0], 16))
    mo, mt = statistics.median(t_ours), statistics.median(t_tshark)
    print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB, {frames} frames, {args.connections} connections")
    print(f"ours   {mo:.2f} s (runs {', '.join(f'{x:.2f}' for x in t_ours)}), {len(by_stream)} DTLS rows")
    print(f"tshark {mt:.2f} s (runs {', '.join(f'{x:.2f}' for x in t_tshark)}), {len(hellos)} ServerHellos")
    print(f"ratio  {mt / mo:.2f}x; ServerHellos agreeing (stream, version, suite): {agree}/{len(hellos)}")
    return 0 if agree == len(hellos) else 1


if __name__ == "__main__":
    sys.exit(main())
