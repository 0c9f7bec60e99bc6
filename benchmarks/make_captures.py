"""Benchmark capture builder: large, deterministic pcap files made of real TLS bytes.

Owns the two benchmark captures and how they are built:

* ``handshake-heavy.pcap`` (~20,000 connections, ~135 MB at ``--scale 1``): TLS 1.2
  (ECDHE-RSA, ECDHE-ECDSA, RSA key exchange, GCM/CBC/ChaCha20), TLS 1.3 (incl.
  HelloRetryRequest), session-ID / ticket / PSK resumptions and failed handshakes
  (no shared cipher, unknown CA, reset after the server flight, no answer), each with
  a little application data; ~2 % of the connections carry a retransmitted segment
  and ~2 % two swapped (reordered) segments; connections overlap in time
  (hundreds open at once, idle keep-alive before the close).
* ``bulk-heavy.pcap`` (~2,000 connections, ~1 GB): real handshakes followed by a
  large transfer (200-800 KB of real application-data records from the ``ssl``
  module) in 1460-byte segments, paced at a per-connection rate, with a delayed
  ACK every second segment; connections interleaved.

The TLS bytes come from a small pool of real conversations made once with Python's
``ssl`` module in memory (``captures.generate.tls_conversation``); every benchmark
connection replays one of them with its own client address/port, ISNs, IP IDs,
RTT and timestamps, all drawn from ``random.Random(seed)``. The pool is cached in
``OUT/pool-v*.pickle`` so that a second run with the same seed writes byte-identical
files (``--fresh-pool`` makes new handshakes; the files are then the same in shape,
not in bytes). The key log of each pool is written to ``OUT/pool-keylog-{hs,bulk}.txt``.

Frames are built with ``struct`` and plain integer arithmetic (TCP and IPv4
checksums are correct: the ones'-complement sum of every pool segment is computed
once), merged across connections through a heap, and written as they are made,
so memory stays small whatever the file size.

Next to each capture, ``NAME.manifest.json`` records per stream (Wireshark's
``tcp.stream`` number = order of the SYN) the pool kind, whether a ServerHello is
expected, and which streams were reordered or have a retransmission.

Usage: ``python benchmarks/make_captures.py [--scale 0.1] [--out benchmarks/out]
[--only handshake-heavy|bulk-heavy] [--seed N] [--format pcap|pcapng] [--fresh-pool]``
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import pickle
import random
import ssl
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from captures import generate as gen  # noqa: E402

POOL_VERSION = 1
DEFAULT_SEED = 20260101
MSS = 1460
SERVER_PORT = 443
T0_US = int(gen.T0) * 1_000_000

FIN, SYN, RST, PSH, ACK = gen.FIN, gen.SYN, gen.RST, gen.PSH, gen.ACK

# --------------------------------------------------------------------------- pool


@dataclass
class PoolEntry:
    """One real TLS conversation, cut into MSS segments with their checksum sums."""

    kind: str
    chunks: list[tuple[int, bytes]]
    close: str = "fin"            # 'fin' | 'rst'
    closer: int = 0               # 0 client, 1 server
    server_hello: bool = True     # the server's first bytes start with a ServerHello
    version: str | None = None
    # per chunk: (direction, [(offset in that direction's stream, payload, ones'-sum)])
    segments: list[tuple[int, list[tuple[int, bytes, int]]]] = field(default_factory=list)
    total: tuple[int, int] = (0, 0)  # bytes per direction


def _ones_sum(data: bytes) -> int:
    """Ones'-complement sum (mod 0xFFFF) of ``data`` as big-endian 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xFFFF


def _segment(entry: PoolEntry, mss: int = MSS) -> None:
    off = [0, 0]
    entry.segments = []
    for d, data in entry.chunks:
        segs = []
        for i in range(0, len(data), mss):
            p = data[i:i + mss]
            segs.append((off[d] + i, p, _ones_sum(p)))
        entry.segments.append((d, segs))
        off[d] += len(data)
    entry.total = (off[0], off[1])


def _has_server_hello(chunks: Sequence[tuple[int, bytes]]) -> bool:
    for d, data in chunks:
        if d == 1:
            return len(data) > 5 and data[0] == 0x16 and data[5] == 0x02
    return False


def _http_response(size: int, rng: random.Random) -> bytes:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: %d\r\n\r\n" % size)
    return head + rng.randbytes(size)


def _request(host: str, path: str = "/") -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: bench/1.0\r\n"
            f"Accept: */*\r\n\r\n").encode()


HOSTS = ["www.example.test", "api.example.test", "cdn.example.test", "login.example.test",
         "static.example.test", "mail.example.test", "shop.example.test", "img.example.test"]


def build_pool(pki: gen.Pki, keylog: Path | None, *, bulk: bool, seed: int,
               variants: int = 4) -> list[tuple[PoolEntry, float]]:
    """Real conversations and their weights (relative frequency in the capture)."""
    rng = random.Random(seed)
    kl = str(keylog) if keylog else None
    out: list[tuple[PoolEntry, float]] = []

    def cctx(**kw: Any) -> ssl.SSLContext:
        kw.setdefault("verify", False)
        return gen.client_context(pki, keylog=kl, **kw)

    def sctx(**kw: Any) -> ssl.SSLContext:
        return gen.server_context(pki, **kw)

    def resp_size() -> int:
        if bulk:
            return rng.randrange(200_000, 800_001)
        return rng.choice([500, 1500, 2500, 4000, 5500, 7500])

    def add(kind: str, weight: float, conv: gen.Conversation, **kw: Any) -> None:
        e = PoolEntry(kind=kind, chunks=list(conv.chunks), close=conv.close, closer=conv.closer,
                      server_hello=_has_server_hello(conv.chunks),
                      version=conv.expected.get("version"), **kw)
        _segment(e)
        out.append((e, weight / variants))

    def talk(kind: str, weight: float, c: ssl.SSLContext, s: ssl.SSLContext, *,
             resume: bool = False, **kw: Any) -> None:
        for v in range(variants):
            host = HOSTS[(v * 3 + len(kind)) % len(HOSTS)]
            msgs = dict(client_messages=[_request(host, f"/obj/{v}")],
                        server_messages=[_http_response(resp_size(), rng)])
            if resume:
                first = gen.tls_conversation(c, s, server_hostname=host, **msgs)
                conv = gen.tls_conversation(c, s, server_hostname=host, session=first.session,
                                            **msgs)
                if not conv.expected.get("session_reused"):
                    raise RuntimeError(f"{kind}: the ssl module did not resume")
            else:
                conv = gen.tls_conversation(c, s, server_hostname=host, **{**msgs, **kw})
            add(kind, weight, conv)

    t12 = dict(max_version="TLSv1.2")
    talk("tls13", 22, cctx(alpn=["h2", "http/1.1"]), sctx(alpn=["h2", "http/1.1"]))
    talk("tls13-ecdsa", 6, cctx(), sctx(cert="ecdsa"))
    talk("tls12-ecdhe-rsa", 14, cctx(ciphers="ECDHE-RSA-AES128-GCM-SHA256", **t12), sctx())
    talk("tls12-ecdhe-ecdsa-chacha", 5, cctx(ciphers="ECDHE-ECDSA-CHACHA20-POLY1305", **t12),
         sctx(cert="ecdsa"))
    talk("tls12-rsa-gcm", 6, cctx(ciphers="AES128-GCM-SHA256", **t12),
         sctx(ciphers="AES128-GCM-SHA256"))
    talk("tls12-rsa-cbc", 4, cctx(ciphers="AES256-SHA256", **t12), sctx(ciphers="AES256-SHA256"))
    if not bulk:
        talk("tls13-hrr", 2, cctx(), sctx(curve="secp384r1"))
    talk("tls13-psk-resume", 12, cctx(), sctx(), resume=True)
    talk("tls12-sessionid-resume", 8,
         cctx(ciphers="ECDHE-RSA-AES128-GCM-SHA256", **t12), sctx(no_ticket=True), resume=True)
    talk("tls12-ticket-resume", 8,
         cctx(ciphers="ECDHE-RSA-AES256-GCM-SHA384", **t12), sctx(), resume=True)
    if not bulk:
        # failed handshakes
        for v in range(variants):
            host = HOSTS[v % len(HOSTS)]
            conv = gen.tls_conversation(
                cctx(ciphers="AES256-GCM-SHA384", **t12),
                sctx(max_version="TLSv1.2", ciphers="ECDHE-RSA-AES128-GCM-SHA256"),
                server_hostname=host, close="fin", closer=1)
            add("fail-no-shared-cipher", 3, conv)
            untrusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # trusts no CA
            conv = gen.tls_conversation(untrusting, sctx(), server_hostname=host,
                                        close="fin", closer=0)
            add("fail-unknown-ca", 3, conv)
            conv = gen.tls_conversation(cctx(**t12), sctx(), server_hostname=host,
                                        max_flights=2, close="rst", closer=0)
            add("fail-reset", 3, conv)
            conv = gen.tls_conversation(cctx(), sctx(), server_hostname=host,
                                        max_flights=1, close="rst", closer=0)
            add("fail-no-response", 2, conv)
    return out


def load_or_build_pool(out: Path, *, bulk: bool, seed: int, fresh: bool) -> list[tuple[PoolEntry, float]]:
    name = f"pool-v{POOL_VERSION}-{'bulk' if bulk else 'hs'}-{seed}.pickle"
    path = out / name
    if path.exists() and not fresh:
        with path.open("rb") as f:
            return pickle.load(f)
    pki = gen.pki_at(ROOT / "captures")
    keylog = out / f"pool-keylog-{'bulk' if bulk else 'hs'}.txt"
    if keylog.exists():
        keylog.unlink()
    pool = build_pool(pki, keylog, bulk=bulk, seed=seed, variants=4 if bulk else 6)
    import gc
    gc.collect()  # closes the key log files of the discarded contexts
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(pool, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return pool


# --------------------------------------------------------------------------- frames

_ETH = 14
_IPH = struct.Struct("!BBHHHBBH4s4s")
_TCPH = struct.Struct("!HHIIBBHHH")
_MSS_OPT = struct.pack("!BBH", 2, 4, MSS) + b"\x01\x01\x04\x02"  # MSS, NOP, NOP, SACK_PERM
_MSS_OPT_SUM = _ones_sum(_MSS_OPT)
_PCAP_REC = struct.Struct("<IIII")
_MAC_C = gen.CLIENT_MAC
_MAC_S = gen.SERVER_MAC


class Endpoint:
    """Precomputed per-direction header parts of one connection."""

    __slots__ = ("eth", "src", "dst", "sport", "dport", "ip_base", "tcp_base", "ip_id")

    def __init__(self, src: bytes, dst: bytes, sport: int, dport: int, src_mac: bytes,
                 dst_mac: bytes, ip_id: int) -> None:
        self.eth = dst_mac + src_mac + b"\x08\x00"
        self.src, self.dst, self.sport, self.dport = src, dst, sport, dport
        aw = (src[0] << 8 | src[1]) + (src[2] << 8 | src[3]) + (dst[0] << 8 | dst[1]) + (dst[2] << 8 | dst[3])
        # IPv4: version/IHL/TOS, flags (DF), TTL/proto, addresses
        self.ip_base = 0x4500 + 0x4000 + (64 << 8 | 6) + aw
        # TCP pseudo header (addresses, protocol) and the ports
        self.tcp_base = aw + 6 + sport + dport
        self.ip_id = ip_id


def build_frame(ep: Endpoint, seq: int, ack: int, flags: int, payload: bytes, psum: int,
                options: bytes = b"", osum: int = 0, window: int = 65535) -> bytes:
    """Ethernet/IPv4/TCP frame with correct IP and TCP checksums."""
    seq &= 0xFFFFFFFF
    ack &= 0xFFFFFFFF
    off = 5 + len(options) // 4
    tlen = off * 4 + len(payload)
    s = (ep.tcp_base + tlen + (seq >> 16) + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF)
         + (off << 12 | flags) + window + osum + psum) % 0xFFFF
    tcp = _TCPH.pack(ep.sport, ep.dport, seq, ack, off << 4, flags, window, ~s & 0xFFFF, 0)
    ipid = ep.ip_id
    ep.ip_id = (ipid + 1) & 0xFFFF
    total = 20 + tlen
    c = (ep.ip_base + total + ipid) % 0xFFFF
    ip = _IPH.pack(0x45, 0, total, ipid, 0x4000, 64, 6, ~c & 0xFFFF, ep.src, ep.dst)
    return b"".join((ep.eth, ip, tcp, options, payload))


# A planned frame: (ts_us, direction, seq, ack, flags, payload, psum, syn_options)
Plan = tuple[int, int, int, int, int, bytes, int, bool]


@dataclass
class ConnParams:
    entry: PoolEntry
    client_ip: bytes
    client_port: int
    server_ip: bytes
    start_us: int
    rtt_us: int
    isn: tuple[int, int]
    ip_id: tuple[int, int]
    idle_us: int                  # keep-alive idle before the close
    think_us: int                 # server time before the HTTP response
    rate: float = 0.0             # bulk: bytes per microsecond
    reorder: bool = False
    retransmit: bool = False
    seed: int = 0


def plan_connection(p: ConnParams, bulk_threshold: int = 65536) -> tuple[list[Plan], dict[str, bool]]:
    """Every frame of one connection as (timestamp, ...) plans, sorted by time."""
    e = p.entry
    rng = random.Random(p.seed)
    owd = max(p.rtt_us // 2, 1)
    step = 12  # µs between back-to-back segments of one flight
    frames: list[Plan] = []
    base = (p.isn[0] + 1, p.isn[1] + 1)  # first data byte per direction
    nxt = [0, 0]                           # stream offsets acknowledged so far
    t = p.start_us
    frames.append((t, 0, p.isn[0], 0, SYN, b"", 0, True))
    t += p.rtt_us
    frames.append((t, 1, p.isn[1], base[0], SYN | ACK, b"", 0, True))
    t += owd // 4 + 5
    frames.append((t, 0, base[0], base[1], ACK, b"", 0, False))
    done = {"reordered": False, "retransmitted": False}
    # which chunk gets the special treatment
    multi = [i for i, (_, segs) in enumerate(e.segments) if len(segs) >= 2]
    any_chunk = [i for i, (_, segs) in enumerate(e.segments) if segs]
    reorder_at = rng.choice(multi) if (p.reorder and multi) else -1
    retrans_at = rng.choice(any_chunk) if (p.retransmit and any_chunk) else -1
    last_d = 0
    n = len(e.segments)
    for idx, (d, segs) in enumerate(e.segments):
        if d != last_d:
            t += p.rtt_us + rng.randrange(50, 1500)  # the answer, one RTT after the capture point
            if d == 1 and idx >= 2 and e.chunks[idx - 1][1][:1] == b"\x17":
                t += p.think_us
        last_d = d
        od = 1 - d
        ack = base[od] + nxt[od]
        big = p.rate > 0 and len(segs) * MSS >= bulk_threshold
        order = list(range(len(segs)))
        if idx == reorder_at:
            k = rng.randrange(len(segs) - 1)
            order[k], order[k + 1] = order[k + 1], order[k]
            done["reordered"] = True
        seg_t: list[int] = []
        if big:
            gap = max(int(MSS / p.rate), 1)
            top = 0
            for j, i in enumerate(order):
                t += gap
                off, pl, ps = segs[i]
                frames.append((t, d, base[d] + off, ack, ACK | (PSH if i == len(segs) - 1 else 0), pl, ps, False))
                seg_t.append(t)
                top = max(top, off + len(pl))
                if j % 2 == 1 or j == len(order) - 1:  # delayed ACK of every 2nd segment
                    frames.append((t + p.rtt_us, od, ack, base[d] + top, ACK, b"", 0, False))
        else:
            for i in order:
                t += step
                off, pl, ps = segs[i]
                frames.append((t, d, base[d] + off, ack, ACK | (PSH if i == len(segs) - 1 else 0), pl, ps, False))
                seg_t.append(t)
        if idx == retrans_at:
            i = rng.randrange(len(segs))
            off, pl, ps = segs[i]
            rt = seg_t[-1] + max(200_000, 3 * p.rtt_us)  # spurious RTO retransmission
            frames.append((rt, d, base[d] + off, ack, ACK, pl, ps, False))
            done["retransmitted"] = True
        nxt[d] = segs[-1][0] + len(segs[-1][1]) if segs else nxt[d]
        following = e.segments[idx + 1][0] if idx + 1 < n else None
        if following != od and not big:
            frames.append((t + p.rtt_us, od, base[od] + nxt[od], base[d] + nxt[d], ACK, b"", 0, False))
        if big:
            t += p.rtt_us
    # close
    t = max(f[0] for f in frames) + p.idle_us
    a = e.closer
    b = 1 - a
    if e.close == "rst":
        frames.append((t, a, base[a] + nxt[a], base[b] + nxt[b], RST | ACK, b"", 0, False))
    else:
        frames.append((t, a, base[a] + nxt[a], base[b] + nxt[b], FIN | ACK, b"", 0, False))
        t += p.rtt_us
        frames.append((t, b, base[b] + nxt[b], base[a] + nxt[a] + 1, FIN | ACK, b"", 0, False))
        t += owd // 4 + 5
        frames.append((t, a, base[a] + nxt[a] + 1, base[b] + nxt[b] + 1, ACK, b"", 0, False))
    frames.sort(key=lambda f: f[0])  # stable: equal times keep their order
    return frames, done


# --------------------------------------------------------------------------- writers


class PcapWriter:
    """Classic pcap (microseconds, little endian), buffered, streaming."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.buf: list[bytes] = []
        self.pending = 0
        self.bytes = 24
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, gen.LINKTYPE_ETHERNET))

    def write(self, ts_us: int, frame: bytes) -> None:
        sec, usec = divmod(ts_us, 1_000_000)
        n = len(frame)
        self.buf.append(_PCAP_REC.pack(sec, usec, n, n))
        self.buf.append(frame)
        self.pending += 16 + n
        if self.pending >= 4 << 20:
            self.flush()

    def flush(self) -> None:
        self.f.write(b"".join(self.buf))
        self.bytes += self.pending
        self.buf.clear()
        self.pending = 0


class PcapngWriter(PcapWriter):
    """pcapng: SHB, one Ethernet IDB with microsecond timestamps, then EPBs."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.buf = []
        self.pending = 0
        shb_body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
        shb = struct.pack("<II", 0x0A0D0D0A, 12 + len(shb_body)) + shb_body + struct.pack("<I", 12 + len(shb_body))
        idb_body = struct.pack("<HHI", gen.LINKTYPE_ETHERNET, 0, 65535)
        idb = struct.pack("<II", 1, 12 + len(idb_body)) + idb_body + struct.pack("<I", 12 + len(idb_body))
        f.write(shb + idb)
        self.bytes = len(shb) + len(idb)

    def write(self, ts_us: int, frame: bytes) -> None:
        n = len(frame)
        pad = -n % 4
        total = 32 + n + pad
        self.buf.append(struct.pack("<IIIIIII", 6, total, 0, ts_us >> 32, ts_us & 0xFFFFFFFF, n, n))
        self.buf.append(frame)
        self.buf.append(b"\0" * pad + struct.pack("<I", total))
        self.pending += total
        if self.pending >= 4 << 20:
            self.flush()


# --------------------------------------------------------------------------- files


@dataclass
class FileConfig:
    name: str
    connections: int
    bulk: bool
    arrival_per_s: float          # mean connection arrival rate
    idle_mean_s: float            # mean keep-alive idle before the close
    reorder_frac: float = 0.0
    retransmit_frac: float = 0.0


FILES = {
    "handshake-heavy": FileConfig("handshake-heavy", 20_000, False, arrival_per_s=200.0,
                                  idle_mean_s=2.0, reorder_frac=0.02, retransmit_frac=0.02),
    "bulk-heavy": FileConfig("bulk-heavy", 2_000, True, arrival_per_s=25.0, idle_mean_s=0.5),
}


def connection_params(cfg: FileConfig, pool: list[tuple[PoolEntry, float]], n: int,
                      rng: random.Random) -> Iterator[ConnParams]:
    """The parameters of every connection, in start (= tcp.stream) order."""
    entries = [e for e, _ in pool]
    weights = [w for _, w in pool]
    servers = [bytes([198, 51, 100, i]) for i in range(10, 26)] + [bytes([203, 0, 113, i]) for i in range(1, 9)]
    used: set[tuple[bytes, int]] = set()
    t = T0_US
    for _ in range(n):
        t += max(1, int(rng.expovariate(cfg.arrival_per_s) * 1_000_000))
        while True:
            cip = bytes([10, rng.randrange(256), rng.randrange(256), rng.randrange(1, 255)])
            cport = rng.randrange(32768, 61000)
            if (cip, cport) not in used:
                used.add((cip, cport))
                break
        yield ConnParams(
            entry=rng.choices(entries, weights)[0],
            client_ip=cip, client_port=cport, server_ip=rng.choice(servers),
            start_us=t,
            rtt_us=int(rng.uniform(2_000, 120_000)),
            isn=(rng.getrandbits(32), rng.getrandbits(32)),
            ip_id=(rng.getrandbits(16), rng.getrandbits(16)),
            idle_us=int(rng.expovariate(1 / cfg.idle_mean_s) * 1_000_000),
            think_us=int(rng.uniform(200, 30_000)),
            rate=(rng.uniform(2.0, 40.0) if cfg.bulk else 0.0),  # MB/s == bytes/µs
            reorder=rng.random() < cfg.reorder_frac,
            retransmit=rng.random() < cfg.retransmit_frac,
            seed=rng.getrandbits(32),
        )


def write_capture(cfg: FileConfig, pool: list[tuple[PoolEntry, float]], path: Path, *,
                  scale: float, seed: int, fmt: str = "pcap",
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write one benchmark capture; returns its manifest."""
    rng = random.Random(f"{seed}/{cfg.name}")
    n = max(1, round(cfg.connections * scale))
    params = connection_params(cfg, pool, n, rng)
    kinds: list[str] = []
    sh_expected: list[bool] = []
    reordered: list[int] = []
    retransmitted: list[int] = []
    frames = 0
    max_open = 0
    t_start = time.perf_counter()
    heap: list[tuple[int, int, int]] = []      # (ts, stream, index)
    active: dict[int, tuple[list[Plan], Endpoint, Endpoint]] = {}
    nxt_param: ConnParams | None = next(params, None)
    stream = 0
    tmp = path.with_suffix(path.suffix + ".part")
    with tmp.open("wb") as f:
        w = PcapngWriter(f) if fmt == "pcapng" else PcapWriter(f)
        while heap or nxt_param is not None:
            if nxt_param is not None and (not heap or nxt_param.start_us <= heap[0][0]):
                p = nxt_param
                plan, done = plan_connection(p)
                c = Endpoint(p.client_ip, p.server_ip, p.client_port, SERVER_PORT, _MAC_C, _MAC_S, p.ip_id[0])
                s = Endpoint(p.server_ip, p.client_ip, SERVER_PORT, p.client_port, _MAC_S, _MAC_C, p.ip_id[1])
                active[stream] = (plan, c, s)
                heapq.heappush(heap, (plan[0][0], stream, 0))
                kinds.append(p.entry.kind)
                sh_expected.append(p.entry.server_hello)
                if done["reordered"]:
                    reordered.append(stream)
                if done["retransmitted"]:
                    retransmitted.append(stream)
                stream += 1
                max_open = max(max_open, len(active))
                nxt_param = next(params, None)
                if progress and stream % 1000 == 0:
                    progress(f"{cfg.name}: {stream}/{n} connections, {w.bytes + w.pending >> 20} MB, "
                             f"{time.perf_counter() - t_start:.1f} s")
                continue
            ts, sid, i = heap[0]
            plan, c, s = active[sid]
            _, d, seq, ack, flags, payload, psum, syn = plan[i]
            ep = s if d else c
            if syn:
                frame = build_frame(ep, seq, ack, flags, payload, psum, _MSS_OPT, _MSS_OPT_SUM)
            else:
                frame = build_frame(ep, seq, ack, flags, payload, psum)
            w.write(ts, frame)
            frames += 1
            i += 1
            if i < len(plan):
                heapq.heapreplace(heap, (plan[i][0], sid, i))
            else:
                heapq.heappop(heap)
                del active[sid]
        w.flush()
    os.replace(tmp, path)
    elapsed = time.perf_counter() - t_start
    size = path.stat().st_size
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    return {
        "file": path.name,
        "format": fmt,
        "seed": seed,
        "scale": scale,
        "connections": n,
        "frames": frames,
        "size": size,
        "max_open_connections": max_open,
        "build_seconds": round(elapsed, 2),
        "kinds": dict(sorted(counts.items())),
        "server_hello_expected": sum(sh_expected),
        "reordered_streams": reordered,
        "retransmitted_streams": retransmitted,
        "stream_kinds": kinds,
        "stream_server_hello": [int(x) for x in sh_expected],
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the benchmark captures (real TLS bytes, replicated).")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (default 1)")
    ap.add_argument("--out", default=str(HERE / "out"), help="output folder (default benchmarks/out)")
    ap.add_argument("--only", choices=sorted(FILES), action="append", help="build only this file (repeatable)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--format", choices=["pcap", "pcapng"], default="pcap")
    ap.add_argument("--fresh-pool", action="store_true", help="make new real handshakes instead of the cached pool")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    for name in args.only or list(FILES):
        cfg = FILES[name]
        t0 = time.perf_counter()
        pool = load_or_build_pool(out, bulk=cfg.bulk, seed=args.seed, fresh=args.fresh_pool)
        t_pool = time.perf_counter() - t0
        say(f"{name}: pool of {len(pool)} real conversations ready in {t_pool:.1f} s")
        path = out / f"{name}.{args.format}"
        man = write_capture(cfg, pool, path, scale=args.scale, seed=args.seed, fmt=args.format,
                            progress=say)
        man["pool_seconds"] = round(t_pool, 2)
        (out / f"{name}.manifest.json").write_text(json.dumps(man) + "\n")
        mb = man["size"] / 1e6
        say(f"{name}: wrote {path} — {mb:.1f} MB, {man['frames']} frames, {man['connections']} connections "
            f"(max {man['max_open_connections']} open at once), {len(man['reordered_streams'])} reordered, "
            f"{len(man['retransmitted_streams'])} with a retransmission; "
            f"{man['build_seconds']:.1f} s ({mb / max(man['build_seconds'], 1e-9):.0f} MB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
