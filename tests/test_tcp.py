"""Tests for analyzer.tcp: flow table, stream numbering and reassembly.

Segments are fed as the plain tuples the capture stage produces.  Payload
bytes come from ``random.Random(seed).randbytes``; the Wireshark differential
test reads the real captures under ../shared/captures with scapy and compares
``tcp.stream`` numbering with tshark's.
"""

from __future__ import annotations

import glob
import gc
import os
import random
import shutil
import subprocess
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from analyzer.tcp import (
    ACK, FIN, MAX_BUFFER_PER_DIRECTION, MAX_TOMBSTONES, PSH, RST, SYN, Flow, FlowTable,
    TCPError,
)

C_ADDR = bytes([10, 0, 0, 1])
S_ADDR = bytes([10, 0, 0, 2])
C_PORT = 50000
S_PORT = 443
PA = PSH | ACK


class Rec:
    """A recording StreamSink."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.wants_payload = True
        self.events: list[tuple[Any, ...]] = []
        self.closes: list[str] = []

    def on_data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        assert isinstance(data, bytes)
        self.events.append(("data", direction, data, frame))

    def on_gap(self, direction: int, missing: int, frame: int, ts: float) -> None:
        self.events.append(("gap", direction, missing, frame))

    def on_fin(self, direction: int, frame: int, ts: float) -> None:
        self.events.append(("fin", direction, frame))

    def on_rst(self, direction: int, frame: int, ts: float) -> None:
        self.events.append(("rst", direction, frame))

    def on_close(self, flow: Flow, reason: str) -> None:
        assert flow is self.flow
        self.closes.append(reason)
        self.events.append(("close", reason))

    def data(self, direction: int) -> bytes:
        return b"".join(e[2] for e in self.events if e[0] == "data" and e[1] == direction)

    def gaps(self, direction: int) -> list[int]:
        return [e[2] for e in self.events if e[0] == "gap" and e[1] == direction]

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


class Harness:
    def __init__(self, **kw: Any) -> None:
        self.sinks: list[Rec] = []
        self.table = FlowTable(self._factory, **kw)

    def _factory(self, flow: Flow) -> Rec:
        r = Rec(flow)
        self.sinks.append(r)
        return r

    def feed(self, segs: list[tuple[Any, ...]]) -> None:
        for s in segs:
            self.table.add(s)


class Conv:
    """Builds segment tuples for one connection, numbering frames as it goes."""

    def __init__(self, cisn: int = 1000, sisn: int = 900000, c_addr: bytes = C_ADDR,
                 c_port: int = C_PORT, s_addr: bytes = S_ADDR, s_port: int = S_PORT,
                 frame: int = 1, ts: float = 0.0) -> None:
        self.cisn, self.sisn = cisn, sisn
        self.ends = [(c_addr, c_port), (s_addr, s_port)]
        self.nxt = [(cisn + 1) & 0xFFFFFFFF, (sisn + 1) & 0xFFFFFFFF]
        self.frame = frame
        self.ts = ts

    def seg(self, d: int, seq: int, ack: int, flags: int, payload: bytes = b"",
            plen: int | None = None, ts: float | None = None) -> tuple[Any, ...]:
        (sa, sp), (da, dp) = self.ends[d], self.ends[1 - d]
        fr = self.frame
        self.frame += 1
        if ts is None:
            self.ts += 0.001
            ts = self.ts
        else:
            self.ts = ts
        return (fr, ts, sa, sp, da, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, flags,
                memoryview(payload), len(payload) if plen is None else plen)

    def handshake(self) -> list[tuple[Any, ...]]:
        return [self.seg(0, self.cisn, 0, SYN), self.seg(1, self.sisn, self.nxt[0], SYN | ACK),
                self.seg(0, self.nxt[0], self.nxt[1], ACK)]

    def send(self, d: int, data: bytes, flags: int = PA) -> tuple[Any, ...]:
        s = self.seg(d, self.nxt[d], self.nxt[1 - d], flags, data)
        self.nxt[d] = (self.nxt[d] + len(data) + (1 if flags & FIN else 0)) & 0xFFFFFFFF
        return s

    def chunks(self, d: int, data: bytes, size: int) -> list[tuple[Any, ...]]:
        """Segments for ``data`` in direction d, not yet acked by the peer."""
        out = []
        for i in range(0, len(data), size):
            out.append(self.seg(d, self.nxt[d] + i, self.nxt[1 - d], PA, data[i:i + size]))
        self.nxt[d] = (self.nxt[d] + len(data)) & 0xFFFFFFFF
        return out

    def ack(self, d: int) -> tuple[Any, ...]:
        return self.seg(d, self.nxt[d], self.nxt[1 - d], ACK)

    def fin(self, d: int) -> tuple[Any, ...]:
        return self.send(d, b"", FIN | ACK)


def rnd(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


# -- basic delivery ---------------------------------------------------------------

def test_in_order_handshake_data_and_fin_close() -> None:
    h = Harness()
    c = Conv()
    req, resp = rnd(300, 1), rnd(5000, 2)
    segs = c.handshake() + [c.send(0, req)] + c.chunks(1, resp, 1460) + [c.ack(0)]
    segs += [c.fin(0), c.fin(1), c.ack(0)]
    h.feed(segs)
    assert len(h.sinks) == 1
    r = h.sinks[0]
    f = r.flow
    assert r.data(0) == req and r.data(1) == resp
    assert (f.client_addr, f.client_port, f.server_addr, f.server_port) == (
        C_ADDR, C_PORT, S_ADDR, S_PORT)
    assert f.role_source == "syn" and f.syn_frame == 1 and f.synack_frame == 2
    assert f.first_frame == 1 and f.stream == 0
    fin_c, fin_s = segs[-3][0], segs[-2][0]
    assert f.fin_frame == [fin_c, fin_s]
    assert [e for e in r.events if e[0] == "fin"] == [("fin", 0, fin_c), ("fin", 1, fin_s)]
    assert r.closes == ["fin"] and r.events[-1] == ("close", "fin")
    assert f.bytes == [300, 5000]
    assert f.packets == [6, 5] or sum(f.packets) == len(segs) - 1
    # the trailing ACK after both FINs is a late segment of the same conversation
    st = h.table.stats
    assert st.late_segments == 1 and st.flows == 1 and h.table.live_flows == 0
    assert st.gaps == 0 and st.retransmissions == 0
    h.table.close_all()
    assert r.closes == ["fin"]


def test_reordered_segments_deliver_identical_stream() -> None:
    for seed in range(20):
        h = Harness()
        c = Conv(cisn=seed * 7919)
        data = rnd(20000, seed)
        rng = random.Random(seed)
        body = c.chunks(0, data, rng.choice([100, 536, 1460]))
        rng.shuffle(body)
        h.feed(c.handshake() + body)
        r = h.sinks[0]
        assert r.data(0) == data
        assert "gap" not in r.kinds()
        assert h.table.stats.out_of_order > 0 or seed == -1
        h.table.close_all()
        assert r.closes == ["end"]


def test_duplicated_segments_are_dropped_and_counted() -> None:
    h = Harness()
    c = Conv()
    data = rnd(8000, 3)
    body = c.chunks(0, data, 1000)
    dup: list[tuple[Any, ...]] = []
    for s in body:
        dup += [s, s]
    # and a late duplicate of the first segment after out-of-order buffering
    dup += [body[0]]
    h.feed(c.handshake() + dup)
    assert h.sinks[0].data(0) == data
    assert h.table.stats.retransmissions == len(body) + 1
    assert h.table.stats.overlap_conflicts == 0


def test_partial_overlap_same_bytes() -> None:
    h = Harness()
    c = Conv()
    data = rnd(300, 4)
    base = c.nxt[0]
    segs = c.handshake() + [
        c.seg(0, base, c.nxt[1], PA, data[0:100]),
        c.seg(0, base + 50, c.nxt[1], PA, data[50:150]),     # overlaps delivered bytes
        c.seg(0, base + 200, c.nxt[1], PA, data[200:300]),   # out of order
        c.seg(0, base + 180, c.nxt[1], PA, data[180:260]),   # overlaps buffered bytes
        c.seg(0, base + 150, c.nxt[1], PA, data[150:180]),   # fills the hole
    ]
    h.feed(segs)
    assert h.sinks[0].data(0) == data
    st = h.table.stats
    assert st.overlaps == 2 and st.overlap_conflicts == 0


def test_partial_overlap_conflicting_bytes_keeps_first_seen() -> None:
    h = Harness()
    c = Conv()
    data = rnd(300, 5)
    other = rnd(300, 6)
    base = c.nxt[0]
    segs = c.handshake() + [
        c.seg(0, base, c.nxt[1], PA, data[0:100]),
        c.seg(0, base + 150, c.nxt[1], PA, data[150:250]),    # buffered
        c.seg(0, base + 100, c.nxt[1], PA, data[100:120] + other[120:200]),  # conflicts 150..200
        c.seg(0, base + 250, c.nxt[1], PA, data[250:300]),
    ]
    h.feed(segs)
    # 120..150 were first seen in the third segment; 150..200 first in the second
    assert h.sinks[0].data(0) == data[:120] + other[120:150] + data[150:]
    st = h.table.stats
    assert st.overlaps == 1 and st.overlap_conflicts == 1


def test_dropped_segment_gap_reported_on_ack_and_later_data_delivered() -> None:
    h = Harness()
    c = Conv()
    data = rnd(3000, 7)
    body = c.chunks(0, data, 1000)
    segs = c.handshake() + [body[0], body[2], c.ack(1)]  # server acks everything
    h.feed(segs)
    r = h.sinks[0]
    gap_frame = segs[-1][0]
    assert ("gap", 0, 1000, gap_frame) in r.events
    assert r.data(0) == data[:1000] + data[2000:]
    kinds = [e for e in r.events if e[1] == 0 and e[0] in ("data", "gap")]
    assert [k[0] for k in kinds] == ["data", "gap", "data"]
    assert h.table.stats.gaps == 1
    # the missing segment arriving afterwards is old news
    h.table.add(body[1])
    assert r.data(0) == data[:1000] + data[2000:]


def test_ack_of_never_seen_bytes_is_a_gap() -> None:
    h = Harness()
    c = Conv()
    data = rnd(2000, 8)
    body = c.chunks(0, data, 1000)
    h.feed(c.handshake() + [body[0], c.ack(1)])  # body[1] never captured, nothing buffered
    r = h.sinks[0]
    assert r.gaps(0) == [1000]
    nxt = c.send(0, b"more")
    h.table.add(nxt)
    assert r.data(0) == data[:1000] + b"more"


def test_gap_at_close_with_hole_and_pending_fin() -> None:
    h = Harness()
    c = Conv()
    data = rnd(3000, 9)
    body = c.chunks(0, data, 1000)
    fin = c.seg(0, c.nxt[0], c.nxt[1], FIN | ACK)
    h.feed(c.handshake() + [body[0], body[2], fin])
    r = h.sinks[0]
    assert r.gaps(0) == []  # nothing acked yet: still waiting for the hole
    h.table.close_all()
    assert r.gaps(0) == [1000]
    assert r.data(0) == data[:1000] + data[2000:]
    assert r.kinds()[-2:] == ["fin", "close"] and r.closes == ["end"]


def test_ack_of_fin_behind_hole_reports_gap_then_closes() -> None:
    h = Harness()
    c = Conv()
    data = rnd(2000, 20)
    segs = c.handshake() + [c.send(1, b"banner"), c.fin(1)]
    body = c.chunks(0, data, 1000)
    fin = c.fin(0)
    segs += [body[0], fin, c.ack(1)]  # body[1] lost; the server acks the client's FIN
    h.feed(segs)
    r = h.sinks[0]
    assert r.gaps(0) == [1000]
    assert [e[0] for e in r.events if e[0] != "data"] == ["fin", "gap", "fin", "close"]
    assert r.closes == ["fin"] and r.flow.fin_frame == [fin[0], segs[4][0]]
    h.table.add(c.send(1, b"late"))
    assert h.table.stats.late_segments == 1 and len(h.sinks) == 1


def test_snaplen_cut_segment_is_a_gap() -> None:
    h = Harness()
    c = Conv()
    data = rnd(3000, 10)
    base = c.nxt[0]
    segs = c.handshake() + [
        c.seg(0, base, c.nxt[1], PA, data[:96], plen=1000),          # cut by snaplen
        c.seg(0, base + 1000, c.nxt[1], PA, data[1000:2000]),
    ]
    h.feed(segs)
    r = h.sinks[0]
    assert r.events[:3] == [("data", 0, data[:96], 4), ("gap", 0, 904, 4), ("data", 0, data[1000:2000], 5)]
    assert r.flow.bytes[0] == 2000
    # a cut segment arriving out of order: buffered with its missing tail
    h2 = Harness()
    c2 = Conv()
    b2 = c2.nxt[0]
    h2.feed(c2.handshake() + [
        c2.seg(0, b2 + 1000, c2.nxt[1], PA, data[1000:1100], plen=1000),
        c2.seg(0, b2, c2.nxt[1], PA, data[:1000]),
        c2.seg(0, b2 + 2000, c2.nxt[1], PA, data[2000:3000]),
    ])
    r2 = h2.sinks[0]
    assert r2.data(0) == data[:1100] + data[2000:3000]
    assert r2.gaps(0) == [900]


def test_sequence_wraparound() -> None:
    for cisn in (0xFFFFFFFF - 10, 0xFFFFFFFF, 0xFFFFFFFE - 2999):
        h = Harness()
        c = Conv(cisn=cisn, sisn=0xFFFFFFF0)
        data = rnd(6000, cisn & 0xFF)
        body = c.chunks(0, data, 700)
        resp = rnd(4000, 11)
        rbody = c.chunks(1, resp, 500)
        random.Random(cisn).shuffle(body)
        h.feed(c.handshake() + body + rbody[::-1] + [c.ack(0), c.ack(1), c.fin(0), c.fin(1)])
        r = h.sinks[0]
        assert r.data(0) == data and r.data(1) == resp
        assert r.gaps(0) == [] and r.gaps(1) == []
        assert r.closes == ["fin"]


def test_keepalive_is_not_data() -> None:
    h = Harness()
    c = Conv()
    data = rnd(500, 12)
    segs = c.handshake() + [c.send(0, data), c.ack(1)]
    ka = c.seg(0, c.nxt[0] - 1, c.nxt[1], ACK, b"\x00")  # keepalive with a garbage byte
    zwp_like = c.seg(0, c.nxt[0] - 1, c.nxt[1], ACK)
    h.feed(segs + [ka, zwp_like, c.send(0, b"tail")])
    r = h.sinks[0]
    assert r.data(0) == data + b"tail"
    assert h.table.stats.keepalives == 1 and h.table.stats.overlap_conflicts == 0


def test_random_loss_reorder_duplication_keeps_stream_consistent() -> None:
    """Whatever arrives, delivered bytes + reported gaps map exactly onto the sent stream."""
    for seed in range(150):
        rng = random.Random(seed)
        h = Harness(max_buffer=rng.choice([3000, 20000, MAX_BUFFER_PER_DIRECTION]))
        c = Conv(cisn=rng.randrange(1 << 32))
        data = rnd(rng.randrange(1, 30000), seed)
        base = c.nxt[0]
        segs: list[tuple[Any, ...]] = []
        pos = 0
        while pos < len(data):
            size = rng.randrange(1, 2000)
            chunk = data[pos:pos + size]
            r = rng.random()
            if r < 0.1:
                pass  # lost
            elif r < 0.15:
                keep = rng.randrange(0, len(chunk) + 1)
                segs.append(c.seg(0, base + pos, c.nxt[1], PA, chunk[:keep], plen=len(chunk)))
            else:
                segs.append(c.seg(0, base + pos, c.nxt[1], PA, chunk))
            if rng.random() < 0.1:  # retransmission with other boundaries
                a = rng.randrange(0, pos + 1)
                b = min(len(data), a + rng.randrange(1, 3000))
                segs.append(c.seg(0, base + a, c.nxt[1], PA, data[a:b]))
            pos += len(chunk)
        for i in range(len(segs) - 1):  # local reordering
            if rng.random() < 0.2:
                segs[i], segs[i + 1] = segs[i + 1], segs[i]
        c.nxt[0] = (base + len(data)) & 0xFFFFFFFF
        tail = [c.ack(1)] if rng.random() < 0.5 else []
        h.feed(c.handshake() + segs + tail)
        h.table.close_all()
        if not h.sinks:
            continue
        p = 0
        for ev in h.sinks[0].events:
            if ev[0] == "data" and ev[1] == 0:
                assert ev[2] == data[p:p + len(ev[2])], seed
                p += len(ev[2])
            elif ev[0] == "gap" and ev[1] == 0:
                assert ev[2] > 0
                p += ev[2]
        if tail:  # the receiver acknowledged everything: no byte may go unaccounted
            assert p == len(data), seed
        else:  # bytes lost at the very end, never acknowledged, are invisible
            assert p <= len(data), seed
        assert h.sinks[0].closes == ["end"]
        assert h.table.stats.overlap_conflicts == 0


# -- roles -------------------------------------------------------------------------

def test_mid_stream_start_uses_port_heuristic() -> None:
    h = Harness()
    c = Conv()
    c.handshake()  # not fed: the capture started later
    resp = rnd(1000, 13)
    # first captured packet goes server -> client
    h.feed([c.send(1, resp), c.send(0, b"hello"), c.send(1, b"world")])
    r = h.sinks[0]
    f = r.flow
    assert f.role_source == "port"
    assert (f.server_port, f.client_port) == (443, C_PORT)
    assert r.data(1) == resp + b"world" and r.data(0) == b"hello"
    assert f.syn_frame is None and f.synack_frame is None
    # both ports unprivileged: the lower one is the server
    h2 = Harness()
    c2 = Conv(c_port=40000, s_port=30000)
    h2.feed([c2.send(0, b"x")])
    assert h2.sinks[0].flow.server_port == 30000
    # a well-known high port wins over a lower unprivileged one
    h3 = Harness()
    c3 = Conv(c_port=2000, s_port=8443)
    h3.feed([c3.send(0, b"x")])
    assert h3.sinks[0].flow.server_port == 8443


def test_synack_first_sets_roles() -> None:
    h = Harness()
    c = Conv()
    hs = c.handshake()
    h.feed(hs[1:] + [c.send(0, b"abc"), c.send(1, b"def")])
    f = h.sinks[0].flow
    assert f.role_source == "synack" and f.client_port == C_PORT and f.synack_frame == 2
    assert h.sinks[0].data(0) == b"abc"


class SwappingSink(Rec):
    """Swaps roles when the 'server' speaks first (as the TLS layer does on a ClientHello)."""

    def on_data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        if not self.events and direction == 1:
            self.flow.swap_roles()
            direction = 0
        super().on_data(direction, data, frame, ts)


def test_swap_roles() -> None:
    sinks: list[Rec] = []

    def factory(flow: Flow) -> Rec:
        s = SwappingSink(flow)
        sinks.append(s)
        return s

    t = FlowTable(factory)
    # the real client uses port 993 towards a server on port 5000: heuristic gets it wrong
    c = Conv(c_port=993, s_port=5000)
    hello, reply = rnd(300, 14), rnd(900, 15)
    body = c.chunks(0, hello, 100)
    # (without a SYN the first segment seen defines the stream start, so it comes first)
    for s in [body[0], body[2], body[1], c.send(1, reply), c.fin(0), c.fin(1)]:
        t.add(s)
    r = sinks[0]
    f = r.flow
    assert (f.client_port, f.server_port) == (993, 5000)
    assert r.data(0) == hello and r.data(1) == reply
    assert f.bytes == [300, 900]
    assert [e[1] for e in r.events if e[0] == "fin"] == [0, 1]
    assert f.fin_frame[0] is not None and f.fin_frame[0] < f.fin_frame[1]  # type: ignore[operator]
    assert r.closes == ["fin"]


# -- FIN / RST / close -----------------------------------------------------------------

def test_rst_frame_and_reason() -> None:
    h = Harness()
    c = Conv()
    segs = c.handshake() + [c.send(0, b"hello"), c.seg(1, c.nxt[1], c.nxt[0], RST | ACK)]
    h.feed(segs)
    r = h.sinks[0]
    f = r.flow
    assert f.rst_frame == segs[-1][0] and f.rst_direction == 1
    assert r.events[-2:] == [("rst", 1, segs[-1][0]), ("close", "rst")]
    assert h.table.live_flows == 0
    # a later ACK of the same conversation is late, not a new stream
    h.table.add(c.ack(0))
    assert h.table.stats.flows == 1 and h.table.stats.late_segments == 1


def test_rst_with_hole_reports_gap_first() -> None:
    h = Harness()
    c = Conv()
    body = c.chunks(0, rnd(300, 16), 100)
    rst = c.seg(0, c.nxt[0], 0, RST)
    h.feed(c.handshake() + [body[0], body[2], rst])
    r = h.sinks[0]
    assert [e[0] for e in r.events] == ["data", "gap", "data", "rst", "close"]


def test_syn_only_and_refused_flows_have_no_sink() -> None:
    h = Harness()
    c = Conv()
    h.feed([c.seg(0, c.cisn, 0, SYN), c.seg(1, 0, c.nxt[0], RST | ACK)])
    assert h.sinks == [] and h.table.live_flows == 0 and h.table.stats.flows == 1


def test_port_reuse_gives_new_stream() -> None:
    seen: list[Flow] = []
    h = Harness(on_new_flow=seen.append)
    c = Conv()
    h.feed(c.handshake() + [c.send(0, b"one"), c.fin(0), c.fin(1), c.ack(0)])
    # new SYN on the same 4-tuple after the close
    c2 = Conv(cisn=77777, sisn=88888, frame=c.frame, ts=c.ts)
    h.feed(c2.handshake() + [c2.send(0, b"two")])
    assert [f.stream for f in seen] == [0, 1]
    assert h.sinks[1].data(0) == b"two"
    # new SYN with a different ISN on the live flow: close it with 'reuse'
    c3 = Conv(cisn=5, sisn=6, frame=c2.frame, ts=c2.ts)
    h.feed(c3.handshake() + [c3.send(0, b"three")])
    assert h.sinks[1].closes == ["reuse"]
    assert [f.stream for f in seen] == [0, 1, 2] and h.sinks[2].data(0) == b"three"
    # a retransmitted SYN (same ISN) is not a new connection
    h.table.add(c3.seg(0, c3.cisn, 0, SYN))
    assert len(seen) == 3 and h.table.stats.retransmissions >= 1
    assert h.table.stats.port_reuses == 2


def test_retransmitted_fin_after_close_is_late() -> None:
    h = Harness()
    c = Conv()
    segs = c.handshake() + [c.send(0, b"x"), c.fin(0), c.fin(1)]
    h.feed(segs)
    h.table.add(segs[-1])  # FIN retransmission
    h.table.add(c.ack(0))
    assert h.table.stats.flows == 1 and h.table.stats.late_segments == 2


def test_tombstones_are_bounded() -> None:
    t = FlowTable(lambda f: Rec(f), max_tombstones=10)
    for i in range(50):
        c = Conv(c_port=10000 + i)
        for s in [c.seg(0, 1, 0, SYN), c.seg(1, 0, 2, RST | ACK)]:
            t.add(s)
    assert len(t._tombs) == 10  # noqa: SLF001 - white-box bound check
    assert MAX_TOMBSTONES == 65536


def test_idle_eviction() -> None:
    h = Harness(idle_timeout=60.0)
    a = Conv(c_port=1111, ts=0.0)
    h.feed(a.handshake() + [a.send(0, b"a")])
    b = Conv(c_port=2222, frame=a.frame, ts=1.0)
    for i in range(200):
        h.table.add(b.send(0, b"b", ) if i == 0 else b.ack(0))
        b.ts += 0.5
    # flow a saw nothing for > 60 s
    assert h.sinks[0].closes == ["idle"]
    assert h.table.stats.evicted_idle == 1 and h.table.live_flows == 1
    assert h.sinks[1].closes == []
    h.table.close_all()
    assert h.sinks[1].closes == ["end"] and h.table.live_flows == 0


def test_close_all_in_stream_order() -> None:
    h = Harness()
    convs = [Conv(c_port=3000 + i, frame=10 * i + 1, ts=float(i)) for i in range(5)]
    for cv in reversed(convs):  # payload starts in reverse order, streams in order of first packet
        h.table.add(cv.seg(0, cv.cisn, 0, SYN))
    for cv in reversed(convs):
        h.table.add(cv.send(0, b"z"))
    order: list[int] = []
    for s in h.sinks:
        s.on_close = (lambda flow, reason, _s=s: order.append(flow.stream))  # type: ignore[method-assign]
    h.table.close_all()
    assert order == [0, 1, 2, 3, 4]


def test_wants_payload_false_stops_delivery_but_counts() -> None:
    h = Harness()
    c = Conv()
    h.feed(c.handshake() + [c.send(0, b"hello")])
    r = h.sinks[0]
    r.wants_payload = False
    more = c.chunks(1, rnd(5000, 17), 1000)
    h.feed(more[::-1] + [c.send(0, b"again"), c.fin(0), c.fin(1)])
    assert r.data(0) == b"hello" and r.data(1) == b""
    assert r.flow.bytes == [10, 5000]
    assert [e[0] for e in r.events] == ["data", "fin", "fin", "close"]
    assert r.closes == ["fin"]


def test_buffer_cap_exceeded_is_a_gap() -> None:
    h = Harness(max_buffer=1000)
    c = Conv()
    data = rnd(4000, 18)
    body = c.chunks(0, data, 500)
    h.feed(c.handshake() + [body[0]] + body[2:5])  # hole at 500..1000, then 1500 bytes buffered
    r = h.sinks[0]
    assert r.gaps(0) == [500]
    assert r.data(0) == data[:500] + data[1000:2500]
    assert h.table.stats.buffer_overflows == 1
    assert MAX_BUFFER_PER_DIRECTION == 4 * 1024 * 1024


def test_malformed_tuple_raises_tcp_error() -> None:
    t = FlowTable(lambda f: Rec(f))
    with pytest.raises(TCPError):
        t.add((1, 0.0, C_ADDR))  # type: ignore[arg-type]


def test_syn_flood_is_cheap() -> None:
    """100k half-open connections: no sinks, and memory under 56 MB.

    The bound counts everything the table keeps alive, including the address,
    port, frame, timestamp and ISN objects of each SYN tuple: measured ~485
    bytes a flow (Flow 184, dict slot ~52, key tuple 72, stream number 32,
    the tuple's own objects ~150).
    """
    created: list[Flow] = []
    t = FlowTable(lambda f: created.append(f) or Rec(f))  # type: ignore[func-returns-value]
    dst = S_ADDR
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(100_000):
            src = (0x0A000000 + i // 60000).to_bytes(4, "big")
            t.add((i + 1, i * 1e-5, src, 1024 + i % 60000, dst, 443, (i * 2654435761) & 0xFFFFFFFF,
                   0, SYN, b"", 0))
        used = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert t.live_flows == 100_000 and not created
    assert used < 56 * 1024 * 1024, used
    t.close_all()
    assert t.live_flows == 0 and not created


# -- stream numbering against Wireshark ----------------------------------------------------

CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "captures"


def _capture_files() -> list[str]:
    files = sorted(glob.glob(str(CAPTURES / "ja4" / "*.pcap*")))
    files += sorted(glob.glob(str(CAPTURES / "suricata" / "*" / "*.pcap")))
    return files


def _segments_with_scapy(path: str) -> list[tuple[Any, ...]]:
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Loopback
    from scapy.packet import Raw
    from scapy.utils import PcapReader

    out = []
    with PcapReader(path) as rd:  # type: ignore[no-untyped-call]
        for i, pkt in enumerate(rd, 1):
            if isinstance(pkt, Loopback) and isinstance(pkt.payload, Raw):
                # BSD loopback with an AF value scapy does not bind (e.g. IPv6 = 30 on macOS)
                raw = bytes(pkt.payload)
                if raw and raw[0] >> 4 == 6:
                    pkt = IPv6(raw)
                elif raw and raw[0] >> 4 == 4:
                    pkt = IP(raw)
            if TCP not in pkt:
                continue
            tcp = pkt[TCP]
            ip = tcp.underlayer
            if isinstance(ip, IP):
                src = bytes(int(x) for x in ip.src.split("."))
                dst = bytes(int(x) for x in ip.dst.split("."))
                plen = ip.len - ip.ihl * 4 - tcp.dataofs * 4
            elif isinstance(ip, IPv6):
                import ipaddress
                src = ipaddress.IPv6Address(ip.src).packed
                dst = ipaddress.IPv6Address(ip.dst).packed
                plen = len(bytes(tcp.payload))
            else:
                continue
            payload = bytes(tcp.payload)
            if plen < 0:
                plen = len(payload)
            payload = payload[:plen]
            out.append((i, float(pkt.time), src, tcp.sport, dst, tcp.dport, tcp.seq, tcp.ack,
                        int(tcp.flags), payload, plen))
    return out


def _tshark_streams(path: str) -> dict[int, tuple[int, frozenset[tuple[str, int]]]]:
    res = subprocess.run(
        ["tshark", "-n", "-r", path, "-Y", "tcp", "-T", "fields", "-e", "frame.number",
         "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
         "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport"],
        capture_output=True, text=True, check=True, timeout=120)
    streams: dict[int, tuple[int, frozenset[tuple[str, int]]]] = {}
    for line in res.stdout.splitlines():
        fr, stream, ip4s, ip6s, sp, ip4d, ip6d, dp = line.split("\t")
        if not stream:
            continue
        # tunnels (GRE): several IP layers, the TCP belongs to the innermost one
        st = int(stream.split(",")[-1])
        src = (ip6s or ip4s).split(",")[-1]
        dst = (ip6d or ip4d).split(",")[-1]
        if st not in streams:
            streams[st] = (int(fr), frozenset({(src, int(sp.split(",")[-1])),
                                               (dst, int(dp.split(",")[-1]))}))
    return streams


def _addr_text(a: bytes) -> str:
    import ipaddress
    return str(ipaddress.ip_address(a))


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("path", _capture_files(), ids=lambda p: os.path.relpath(p, CAPTURES))
def test_stream_numbers_match_wireshark(path: str) -> None:
    segs = _segments_with_scapy(path)
    seen: list[Flow] = []
    h = Harness(on_new_flow=seen.append)
    h.feed(segs)
    h.table.close_all()
    ours = {f.stream: (f.first_frame, frozenset({(_addr_text(f.client_addr), f.client_port),
                                                 (_addr_text(f.server_addr), f.server_port)}))
            for f in seen}
    theirs = _tshark_streams(path)
    # No difference was found on these captures: same stream numbers, first frames and
    # endpoints (GRE: the inner addresses; tombstoned trailing ACKs keep their stream).
    assert ours == theirs
    # Every conversation where we report a gap is one tshark flags as having segments
    # that were not captured (tls-handshake.pcapng: streams 33, 40, 46, "ACKed segment
    # that wasn't captured", at the same frames as our gaps).  Not the converse:
    # browsers-x509.pcapng stream 0 frame 89 is a pure ACK whose seq jumped ahead, which
    # tshark flags as "previous segment not captured", but frames 92 and 94 retransmit
    # the missing 184 bytes, so the byte stream has no hole and we rightly report none.
    ours_gap = {s.flow.stream for s in h.sinks if s.gaps(0) or s.gaps(1)}
    res = subprocess.run(
        ["tshark", "-n", "-r", path, "-Y",
         "tcp.analysis.lost_segment or tcp.analysis.ack_lost_segment",
         "-T", "fields", "-e", "tcp.stream"],
        capture_output=True, text=True, check=True, timeout=120)
    assert ours_gap <= {int(x.split(",")[-1]) for x in res.stdout.split()}


def _tshark_follow(path: str, streams: list[int]) -> dict[int, dict[str, bytes]]:
    """Bytes per endpoint ("addr:port" as tshark prints it) of each stream, via follow,tcp,raw."""
    args = ["tshark", "-n", "-r", path, "-q"]
    for st in streams:
        args += ["-z", f"follow,tcp,raw,{st}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=300).stdout
    res: dict[int, dict[str, bytes]] = {}
    cur: int | None = None
    nodes: list[str] = []
    chunks: dict[int, list[str]] = {0: [], 1: []}
    body = False

    def done() -> None:
        if cur is not None and len(nodes) == 2:
            res[cur] = {nodes[i]: bytes.fromhex("".join(chunks[i])) for i in (0, 1)}

    for line in out.splitlines():
        if line.startswith("Filter: tcp.stream eq "):
            done()
            cur, nodes, chunks, body = int(line.split()[-1]), [], {0: [], 1: []}, False
        elif line.startswith("Node 0:") or line.startswith("Node 1:"):
            nodes.append(line.split(None, 2)[2])
            body = len(nodes) == 2
        elif line.startswith("====="):
            body = False
        elif body and line.strip():
            chunks[1 if line.startswith("\t") else 0].append(line.strip())
    done()
    return res


def _endpoint_text(addr: bytes, port: int) -> str:
    a = _addr_text(addr)
    return f"[{a}]:{port}" if ":" in a else f"{a}:{port}"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("path", _capture_files(), ids=lambda p: os.path.relpath(p, CAPTURES))
def test_reassembled_bytes_match_tshark_follow(path: str) -> None:
    """Every delivered byte stream equals tshark's ``follow,tcp,raw`` output.

    Holds on all these captures, including retransmissions, keepalives and the
    three streams of tls-handshake.pcapng with uncaptured bytes (follow leaves
    the missing bytes out, as our on_data does).
    """
    h = Harness()
    h.feed(_segments_with_scapy(path))
    h.table.close_all()
    if not h.sinks:
        return
    follow = _tshark_follow(path, [s.flow.stream for s in h.sinks])
    for s in h.sinks:
        f = s.flow
        theirs = follow[f.stream]
        assert s.data(0) == theirs[_endpoint_text(f.client_addr, f.client_port)], f.stream
        assert s.data(1) == theirs[_endpoint_text(f.server_addr, f.server_port)], f.stream


# ---------------------------------------------------------------------------
# A SYN on a closed 4-tuple: new stream or not, as tshark 4.0 numbers it
# ---------------------------------------------------------------------------
# Frames are the sample generator's Ethernet/IPv4/TCP framing; the data after the
# three-way handshake is a real TLS 1.3 connection (Python's ssl in memory). Each
# capture ends with an unrelated second connection, so a stream split shows as a
# shifted number there too. tshark 4.0 (packet-tcp.c): a pure SYN whose sequence number
# differs from the base sequence number of the conversation's direction starts a new
# conversation; a SYN with the same ISN stays in it (a retransmission), whatever closed it.
_C, _S = ("10.0.0.1", 50000), ("10.0.0.2", 443)
_X, _Y, _Z = 1000, 5000, 9000


def _tls_frames(port: int, t0: float, isn: tuple[int, int] | None, close: str = "fin") -> list[tuple[float, bytes]]:
    from captures.generate import client_context, frames_for, pki_at, server_context, tls_conversation

    pki = pki_at(Path(__file__).resolve().parent.parent / "captures")
    conv = tls_conversation(client_context(pki), server_context(pki), client=(_C[0], port), server=_S,
                            close=close)
    return frames_for(conv, t0=t0, isn=isn)


def _bare(d: int, seq: int, ack: int, flags: int, t: float) -> tuple[float, bytes]:
    from captures.generate import build_frame

    src, dst = (_C, _S) if d == 0 else (_S, _C)
    return t, build_frame(src, dst, seq, ack, flags)


def _scenario(name: str) -> list[tuple[float, bytes]]:
    fr: list[tuple[float, bytes]] = []
    if name in ("bare_ack_rst_same_isn", "bare_ack_rst_new_isn"):
        # a middlebox answers the SYN with a bare ACK; the client resets and retries
        fr += [_bare(0, _X, 0, SYN, 1.0), _bare(1, 777, _X + 1, ACK, 1.1), _bare(0, _X + 1, 0, RST, 1.2)]
        fr += _tls_frames(_C[1], 2.0, (_X if name.endswith("same_isn") else _Z, _Y))
    elif name == "synack_rst_same_isn":
        # the client resets the server's SYN/ACK (e.g. it timed out) and retries the same SYN
        fr += [_bare(0, _X, 0, SYN, 1.0), _bare(1, _Y, _X + 1, SYN | ACK, 1.1), _bare(0, _X + 1, 0, RST, 1.2)]
        fr += _tls_frames(_C[1], 2.0, (_X, _Y + 7))
    elif name == "server_rst_same_isn":
        # the server refuses the first SYN (RST/ACK) and the client retries it
        fr += [_bare(0, _X, 0, SYN, 1.0), _bare(1, 0, _X + 1, RST | ACK, 1.1)]
        fr += _tls_frames(_C[1], 2.0, (_X, _Y))
    elif name in ("fin_closed_new_isn", "rst_closed_new_isn"):
        fr += _tls_frames(_C[1], 1.0, (_X, _Y), close="fin" if name.startswith("fin") else "rst")
        fr += _tls_frames(_C[1], 5.0, (_Z, _Y + 100))
    elif name in ("fin_closed_same_isn", "rst_closed_same_isn"):
        fr += _tls_frames(_C[1], 1.0, (_X, _Y), close="fin" if name.startswith("fin") else "rst")
        fr += _tls_frames(_C[1], 5.0, (_X, _Y + 100))
    fr += _tls_frames(_C[1] + 1, 20.0, None)
    return fr


def _tshark_frame_streams(path: str) -> dict[int, int]:
    out = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.number", "-e", "tcp.stream"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    return {int(fr): int(st) for fr, st in (line.split("\t") for line in out.splitlines())}


def _rows_and_tshark(tmp_path: Path, name: str) -> tuple[list[Any], dict[int, tuple[int, int]], dict[int, int]]:
    """Our TLS rows, tshark's (first, last) frame per stream and its stream per frame."""
    from captures.generate import write_pcap
    from analyzer.pipeline import analyze_file

    path = tmp_path / f"{name}.pcap"
    write_pcap(path, _scenario(name))
    rows = [s for s in analyze_file(path) if s.is_tls]
    frames = _tshark_frame_streams(str(path))
    spans: dict[int, tuple[int, int]] = {}
    for fr, st in sorted(frames.items()):
        first, _ = spans.get(st, (fr, fr))
        spans[st] = (first, fr)
    return rows, spans, frames


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name, streams_in_tshark, without_row", [
    ("bare_ack_rst_same_isn", 2, set()),   # the retried SYN stays in stream 0
    ("synack_rst_same_isn", 2, set()),
    ("server_rst_same_isn", 2, set()),
    ("bare_ack_rst_new_isn", 3, {0}),      # a new ISN: a new stream (0 carried no payload: no row)
    ("fin_closed_new_isn", 3, set()),
    ("rst_closed_new_isn", 3, set()),
])
def test_syn_on_a_closed_tuple_numbered_like_tshark(tmp_path: Path, name: str, streams_in_tshark: int,
                                                    without_row: set[int]) -> None:
    rows, spans, frames = _rows_and_tshark(tmp_path, name)
    assert len(spans) == streams_in_tshark
    # every TLS row is one tshark stream: same number and first frame, its last frame in it
    # (our last frame is the one that closed the flow: a final ACK after both FINs is late)
    assert sorted(s.stream for s in rows) == sorted(set(spans) - without_row)
    for s in rows:
        assert s.first_frame == spans[s.stream][0]
        assert frames[s.last_frame] == s.stream and s.last_frame <= spans[s.stream][1]
        assert s.handshake_complete


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("name", ["fin_closed_same_isn", "rst_closed_same_isn"])
def test_same_isn_syn_after_a_connection_with_payload(tmp_path: Path, name: str) -> None:
    """What tshark 4.0 does with a SYN reusing the ISN of a connection that carried data and
    was closed (FIN or RST): it keeps the whole second connection in the first one's stream
    (it only compares the SYN's sequence number with the conversation's base sequence
    number). We do not follow it there: the first connection's row is already written and
    a row is one connection, so the second connection is a row of its own with the next
    stream number, and later streams are one above tshark's. Real stacks choose a new ISN
    for each connection (RFC 9293 3.4.1); the same ISN again means a replayed or duplicated
    capture."""
    rows, spans, frames = _rows_and_tshark(tmp_path, name)
    assert len(spans) == 2 and len(rows) == 3
    first, second, other = sorted(rows, key=lambda s: s.first_frame)
    # tshark: one stream for both connections
    assert spans[0][0] == first.first_frame and frames[second.first_frame] == frames[second.last_frame] == 0
    assert (first.stream, second.stream) == (0, 1)
    assert other.stream == 2 and spans[1][0] == other.first_frame
