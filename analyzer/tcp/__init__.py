"""TCP stage: the flow table and per-direction stream reassembly.

This package owns everything between "a TCP segment was captured" and "these
bytes arrived in order on this connection": the flow table keyed by 4-tuple,
Wireshark-compatible ``tcp.stream`` numbering, client/server roles (SYN,
SYN/ACK, else a port heuristic), per-direction reassembly (out-of-order
buffering, retransmissions, overlaps, gaps that are reported and never papered
over), FIN/RST bookkeeping, tombstones for closed conversations and idle
eviction.  It knows nothing about TLS nor about file formats: its input is the
plain segment tuple produced by the capture stage::

    (frame, ts, src, sport, dst, dport, seq, ack, flags, payload, plen)

and its output is a set of callbacks on a per-connection :class:`StreamSink`,
created lazily by ``sink_factory(flow)`` at the flow's first payload byte.

Memory depends on live flows only: flows without payload hold no buffers and
no sink, out-of-order buffers are capped per direction (``max_buffer`` bytes and
``max_segments`` pieces), live flows are capped (``max_flows``: the longest idle
are evicted), and closed conversations leave only a bounded tombstone (key ->
stream number).

Behaviour worth knowing:

* The flow dict is keyed by a canonical 4-tuple (higher port first), so one
  lookup finds the flow and one XOR gives the direction.
* A direction's stream starts at ISN+1 when its SYN was seen, else at the
  first *data* segment seen in it (a keepalive or pure ACK does not set it);
  without a SYN, bytes sent before that first captured segment are invisible.
* A gap is reported when the peer ACKs bytes never seen, when the
  out-of-order buffer exceeds ``max_buffer``, when the flow closes with a hole,
  and for the tail of a segment cut by snaplen.  Bytes lost at the very end of
  a direction and never acknowledged cannot be detected.
* Once a sink's ``wants_payload`` reads False the flow stays on the counting
  fast path for good.
* Every closed flow except at ``close_all`` (reasons fin, rst, idle, reuse, evicted) is
  tombstoned: later non-SYN segments on its 4-tuple are ``late_segments``,
  also after an idle eviction (Wireshark would keep them in the old stream; we
  neither give them a new stream nor reassemble them).
* A pure SYN on a closed 4-tuple starts a new stream (reason 'reuse' counted in
  ``port_reuses``) unless the closed flow carried no payload and the SYN repeats its
  client's ISN within ``SYN_RETRY_WINDOW``: then the flow is put back and keeps its stream
  (tshark 4.0 keeps a same-ISN SYN in its conversation). The last ``MAX_RETRYABLE_CLOSES``
  such flows are kept whole for this.
* ``Flow.bytes`` counts on-wire payload bytes as declared by the IP header,
  retransmissions included; ``Flow.packets`` is per direction too.
"""

from __future__ import annotations

import bisect
import heapq
import struct
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any, Callable, Protocol

from ..capture.reader import SegmentFilter

_PORTS = struct.Struct(">HH").pack  # a SegmentFilter key: src + dst addresses + ports, as on the wire


def _packed(key: tuple[bytes, int, bytes, int]) -> bytes:
    """A 4-tuple as one bytes object (addresses, then ports): the tombstone key, and in wire
    orientation the SegmentFilter key."""
    a, ap, b, bp = key
    return a + b + _PORTS(ap, bp)


def _unpacked(k: bytes) -> tuple[bytes, int, bytes, int]:
    n = (len(k) - 4) // 2
    return k[:n], (k[-4] << 8) | k[-3], k[n:2 * n], (k[-2] << 8) | k[-1]

__all__ = [
    "FIN", "SYN", "RST", "PSH", "ACK", "URG",
    "MAX_BUFFER_PER_DIRECTION", "MAX_OUT_OF_ORDER_SEGMENTS", "MAX_LIVE_FLOWS", "MAX_TOMBSTONES",
    "DEFAULT_IDLE_TIMEOUT", "MAX_SEQ_JUMP",
    "CLOSE_REASONS", "TCPError", "TCPStats", "StreamSink", "Flow", "FlowTable", "Segment",
]

# TCP header flag bits, as found in the ``flags`` member of a segment tuple.
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20

#: Out-of-order bytes buffered per direction before the hole is declared a gap.
MAX_BUFFER_PER_DIRECTION = 4 * 1024 * 1024
#: Out-of-order pieces buffered per direction (tiny segments cost far more than their
#: bytes); beyond it the hole is declared a gap, as for the byte cap.
MAX_OUT_OF_ORDER_SEGMENTS = 8192
#: Live (not yet closed) flows; beyond it the flows idle the longest are closed with
#: reason 'evicted' (a SYN flood cannot exhaust memory).
MAX_LIVE_FLOWS = 100_000
#: Closed conversations remembered (key -> stream number), oldest dropped first.
MAX_TOMBSTONES = 65536
#: Closed conversations that carried no payload kept whole, oldest dropped first, so that a
#: client retrying the same SYN (same initial sequence number) after a reset continues
#: them in the same stream, as Wireshark does (e.g. a middlebox answered the first SYN
#: with a bare ACK and the client reset it). Beyond it the retry starts a new stream.
MAX_RETRYABLE_CLOSES = 4096
#: Seconds after such a close within which a same-ISN SYN still continues it (Linux gives
#: up retrying a SYN after 127 s). Read in parts (`analyzer.parts`), this keeps every
#: continuation within the merge's look-back window.
SYN_RETRY_WINDOW = 130.0
#: Seconds of capture time without a packet after which a flow is evicted.
DEFAULT_IDLE_TIMEOUT = 600.0
#: Segments (and ACKs) further than this from the expected sequence number are
#: treated as out of window: ignored, never buffered, never a reason for a gap.
MAX_SEQ_JUMP = 1 << 30

#: Reasons given to ``StreamSink.on_close``.
CLOSE_REASONS = ("fin", "rst", "idle", "end", "reuse", "evicted")
#: Closes after which a flow without payload may take its client's retried SYN.
_RETRYABLE_REASONS = frozenset({"fin", "rst", "idle"})

_MASK = 0xFFFFFFFF
_HALF = 1 << 31

# Flow modes.
_M_NOSINK = 0   # no payload seen yet: no sink, no buffers
_M_PAYLOAD = 1  # sink wants payload: reassemble and deliver
_M_FAST = 2     # sink no longer wants payload: count only
_M_CLOSED = 3

# Server ports above 1024 that are common enough to beat "lower port is server".
_WELL_KNOWN_HIGH_PORTS = frozenset({
    1080, 1433, 1521, 2083, 2087, 2096, 3128, 3306, 3389, 4433, 4443, 5061, 5223,
    5432, 5671, 5986, 6443, 6697, 8000, 8080, 8443, 8883, 8888, 9093, 9443, 10443,
})

#: The segment tuple produced by the capture stage.
Segment = tuple[int, float, bytes, int, bytes, int, int, int, int, Any, int]


class TCPError(Exception):
    """The TCP stage's one error type (malformed segment tuples)."""

    def __init__(self, message: str, frame: int | None = None) -> None:
        super().__init__(message if frame is None else f"frame {frame}: {message}")
        self.frame = frame


@dataclass
class TCPStats:
    """Counters over everything a :class:`FlowTable` has seen."""

    segments: int = 0
    flows: int = 0
    retransmissions: int = 0
    out_of_order: int = 0
    overlaps: int = 0
    overlap_conflicts: int = 0
    gaps: int = 0
    evicted_idle: int = 0
    evicted_capacity: int = 0
    late_segments: int = 0
    buffer_overflows: int = 0
    keepalives: int = 0
    out_of_window: int = 0
    port_reuses: int = 0
    syn_retries: int = 0   # closed flows without payload continued by their client's retried SYN

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class StreamSink(Protocol):
    """What the upper layer gives the TCP stage for each connection with payload."""

    wants_payload: bool

    def on_data(self, direction: int, data: bytes, frame: int, ts: float) -> None: ...

    def on_gap(self, direction: int, missing: int, frame: int, ts: float) -> None: ...

    def on_fin(self, direction: int, frame: int, ts: float) -> None: ...

    def on_rst(self, direction: int, frame: int, ts: float) -> None: ...

    def on_close(self, flow: "Flow", reason: str) -> None: ...

    # Optional: ``on_overlap_conflict(direction, frame, ts)`` is called, when the sink has
    # it, for a retransmission whose bytes differ from the buffered first copy (kept).


class _Half:
    """Reassembly state of one direction (only for flows in payload mode).

    ``off`` counts sequence space consumed since ``base`` (delivered bytes,
    skipped gaps and a delivered FIN); ``nxt`` is ``(base + off) mod 2**32``,
    None while the direction's initial sequence number is unknown.  ``buf``
    holds out-of-order pieces ``[start, end, data_or_None, frame, ts]`` sorted
    by stream offset, never overlapping; ``data is None`` marks bytes known to
    be missing (cut by snaplen).
    """

    __slots__ = ("d", "base", "off", "nxt", "buf", "buffered", "fin_off", "fin_frame",
                 "fin_ts", "fin_done")

    def __init__(self, d: int, nxt: int | None) -> None:
        self.d = d
        self.base = nxt
        self.off = 0
        self.nxt = nxt
        self.buf: list[list[Any]] = []
        self.buffered = 0
        self.fin_off: int | None = None
        self.fin_frame = 0
        self.fin_ts = 0.0
        self.fin_done = False


class _FlowExtra:
    """Per-flow state that half-open flows never need (keeps ``Flow`` small)."""

    __slots__ = ("synack_frame", "fin0", "fin1", "rst_frame", "rst_direction", "h0", "h1",
                 "close_reason", "close_frame")

    def __init__(self) -> None:
        self.synack_frame: int | None = None
        self.fin0: int | None = None
        self.fin1: int | None = None
        self.rst_frame: int | None = None
        self.rst_direction: int | None = None
        self.h0: _Half | None = None
        self.h1: _Half | None = None
        self.close_reason: str | None = None
        self.close_frame: int | None = None  # the frame at which the flow was closed


class Flow:
    """One TCP conversation (a 4-tuple between a SYN/first packet and its close).

    Direction 0 is client -> server, 1 is server -> client.  Per-direction
    values (``fin_frame``, ``bytes``, ``packets``) are lists indexed by
    direction, built on access.  ``bytes`` counts on-wire payload bytes as
    declared by the IP header (retransmissions included).
    """

    __slots__ = ("stream", "_key", "_ko", "first_frame", "last_frame", "start_ts", "last_ts",
                 "role_source", "syn_frame", "_isn0", "_isn1", "_sb", "_mode", "_pk0", "_pk1",
                 "_by0", "_by1", "sink", "_x", "_fc")

    def __init__(self, stream: int, key: tuple[bytes, int, bytes, int], ko: int, frame: int,
                 ts: float, role_source: str) -> None:
        self.stream = stream
        self._key = key          # canonical 4-tuple (a, a_port, b, b_port)
        self._ko = ko            # 0: key's first endpoint is the client, 1: it is the server
        self.first_frame = frame
        self.last_frame = frame
        self.start_ts = ts
        self.last_ts = ts
        self.role_source = role_source
        self.syn_frame: int | None = None
        self._isn0: int | None = None   # initial sequence number from a SYN, per direction
        self._isn1: int | None = None
        self._sb = 0             # bit d set: direction d's ISN came from a SYN
        self._mode = _M_NOSINK
        self._pk0 = 0
        self._pk1 = 0
        self._by0 = 0
        self._by1 = 0
        self.sink: StreamSink | None = None
        self._x: _FlowExtra | None = None
        self._fc: tuple[list, list] | None = None  # capture-side counters while in fast mode (see _filter_on)

    # -- identity ---------------------------------------------------------
    @property
    def client_addr(self) -> bytes:
        return self._key[2] if self._ko else self._key[0]

    @property
    def client_port(self) -> int:
        return self._key[3] if self._ko else self._key[1]

    @property
    def server_addr(self) -> bytes:
        return self._key[0] if self._ko else self._key[2]

    @property
    def server_port(self) -> int:
        return self._key[1] if self._ko else self._key[3]

    # -- per-direction views ---------------------------------------------
    @property
    def bytes(self) -> list[int]:
        return [self._by0, self._by1]

    @property
    def packets(self) -> list[int]:
        return [self._pk0, self._pk1]

    @property
    def total_packets(self) -> int:
        return self._pk0 + self._pk1

    @property
    def synack_frame(self) -> int | None:
        return None if self._x is None else self._x.synack_frame

    @property
    def fin_frame(self) -> list[int | None]:
        x = self._x
        return [None, None] if x is None else [x.fin0, x.fin1]

    @property
    def rst_frame(self) -> int | None:
        return None if self._x is None else self._x.rst_frame

    @property
    def rst_direction(self) -> int | None:
        return None if self._x is None else self._x.rst_direction

    @property
    def closed(self) -> bool:
        return self._mode == _M_CLOSED

    @property
    def close_reason(self) -> str | None:
        return None if self._x is None else self._x.close_reason

    @property
    def close_frame(self) -> int | None:
        """The frame at which the flow was closed (a port-reusing SYN's, for reason 'reuse')."""
        return None if self._x is None else self._x.close_frame

    def _extra(self) -> _FlowExtra:
        x = self._x
        if x is None:
            x = self._x = _FlowExtra()
        return x

    def swap_roles(self) -> None:
        """Swap client and server, with all per-direction state.

        Used when the upper layer finds that the side taken for the server sent
        the ClientHello.  Directions given to the sink afterwards follow the new
        roles.
        """
        self._ko ^= 1
        self._isn0, self._isn1 = self._isn1, self._isn0
        self._sb = ((self._sb & 1) << 1) | ((self._sb >> 1) & 1)
        self._pk0, self._pk1 = self._pk1, self._pk0
        self._by0, self._by1 = self._by1, self._by0
        x = self._x
        if x is not None:
            x.fin0, x.fin1 = x.fin1, x.fin0
            x.h0, x.h1 = x.h1, x.h0
            if x.h0 is not None:
                x.h0.d = 0
            if x.h1 is not None:
                x.h1.d = 1
            if x.rst_direction is not None:
                x.rst_direction ^= 1

    def __repr__(self) -> str:
        return (f"Flow(stream={self.stream}, client={self.client_addr.hex()}:{self.client_port}, "
                f"server={self.server_addr.hex()}:{self.server_port}, role={self.role_source}, "
                f"frames={self.first_frame}..{self.last_frame})")


def _dst_is_server(sport: int, dport: int) -> bool:
    """Port heuristic for flows whose SYN was not seen."""
    if sport == dport:
        return True
    s_wk = sport < 1024 or sport in _WELL_KNOWN_HIGH_PORTS
    d_wk = dport < 1024 or dport in _WELL_KNOWN_HIGH_PORTS
    if s_wk != d_wk:
        return d_wk
    return dport < sport


class FlowTable:
    """Flow table and reassembler: feed it segments with :meth:`add`.

    ``sink_factory(flow)`` is called at a flow's first payload byte.  Call
    :meth:`close_all` once the capture is over.  ``on_new_flow(flow)``, if
    given, is called for every new conversation (payload or not), e.g. to count
    or list them all.
    """

    def __init__(self, sink_factory: Callable[[Flow], StreamSink], *,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 max_buffer: int = MAX_BUFFER_PER_DIRECTION,
                 max_tombstones: int = MAX_TOMBSTONES,
                 max_segments: int = MAX_OUT_OF_ORDER_SEGMENTS,
                 max_flows: int = MAX_LIVE_FLOWS,
                 on_new_flow: Callable[[Flow], None] | None = None) -> None:
        self._factory = sink_factory
        self._on_new_flow = on_new_flow
        self.idle_timeout = float(idle_timeout)
        self.max_buffer = int(max_buffer)
        self.max_tombstones = int(max_tombstones)
        self.max_segments = max(1, int(max_segments))
        self.max_flows = max(1, int(max_flows))
        self._flows: dict[tuple[bytes, int, bytes, int], Flow] = {}
        self._flow_get = self._flows.get  # the dict is never replaced, only cleared
        # closed 4-tuples, packed (see _packed): 65,536 tuples ~4 MB instead of ~13 MB
        self._tombs: OrderedDict[bytes, int] = OrderedDict()
        # closed flows without payload whose client SYN may be retried (see MAX_RETRYABLE_CLOSES)
        self._retry: OrderedDict[bytes, Flow] = OrderedDict()
        self.max_retryable = MAX_RETRYABLE_CLOSES
        self._next_stream = 0
        self._nseg = 0
        self._st = TCPStats()
        # idle wheel: second -> flows whose last activity (when queued) fell in it
        self._wheel: dict[int, list[Flow]] = {}
        self._wheel_keys: list[int] = []
        self._wheel_dead = 0
        self._now = float("-inf")
        self._next_check = float("-inf")
        self._flushing = False
        #: the capture counts plain segments of fast-mode flows here (see _filter_on)
        self.segment_filter = SegmentFilter()
        self._counters = self.segment_filter.counters
        self._frozen = False          # no new flows (see freeze())
        #: called with (flow, again) for each new flow; again: an earlier flow had its 4-tuple
        self.on_flow_created: Callable[[Flow, bool], None] | None = None
        self._on_empty: Callable[[], None] | None = None

    # -- public views ------------------------------------------------------
    @property
    def live_flows(self) -> int:
        return len(self._flows)

    @property
    def stats(self) -> TCPStats:
        self._fold_all()
        self._st.segments = self._nseg
        self._st.flows = self._next_stream
        return self._st

    def live_by_key(self) -> dict[tuple[bytes, int, bytes, int], Flow]:
        """The live flows by their canonical 4-tuple (a copy)."""
        self._fold_all()
        return dict(self._flows)

    def tombstoned(self) -> set[tuple[bytes, int, bytes, int]]:
        """4-tuples of recently closed flows, whose late segments start no new flow."""
        return {_unpacked(k) for k in self._tombs}

    def retryable(self) -> dict[tuple[bytes, int, bytes, int], int]:
        """4-tuples of recently closed flows that a same-ISN SYN would continue -> that ISN."""
        return {_unpacked(k): f._isn0 for k, f in self._retry.items() if f._isn0 is not None}

    def flows(self) -> list[Flow]:
        """Live flows in stream order."""
        self._fold_all()
        return sorted(self._flows.values(), key=lambda f: f.stream)

    def freeze(self, on_empty: Callable[[], None] | None = None) -> None:
        """From now on only the live flows are followed: segments of other 4-tuples (and a SYN
        that would start a new conversation on a live one) are ignored, so no stream is created.
        `on_empty()` is called once no live flow is left. Used to finish, past the end of a
        file part, the connections that were open at its end (see `analyzer.parts`)."""
        self._frozen = True
        self._on_empty = on_empty
        if not self._flows and on_empty is not None:
            on_empty()

    # -- hot path ----------------------------------------------------------
    # Measured on the shared 2-core dev box (Python 3.11.7, best of 3, old and new code
    # alternating in one process; the box is shared and timings drift by +-15%), the capture
    # stage and this loop together (`for seg in cap.segments(): table.add(seg)`, a sink that
    # stops wanting payload after 4 KB per flow): benchmarks/out/bulk-heavy.pcap (1.0M segments,
    # 2,000 flows) 1.42-1.60 s before -> 1.12-1.14 s; handshake-heavy.pcap (331k segments, 20,000
    # flows) 0.74-0.89 s -> 0.61-0.67 s. `add` alone over pre-built tuples: ~0.33 us per segment
    # on the counting fast path (bulk), ~1.0 us averaged over handshake-heavy, where in-order
    # delivery (copy + on_data) and per-flow setup/teardown dominate.
    def add(self, seg: Segment) -> None:
        """Process one segment tuple."""
        try:
            frame, ts, src, sport, dst, dport, seq, ack, flags, payload, plen = seg
        except (TypeError, ValueError) as exc:
            raise TCPError(f"malformed segment tuple: {exc}") from None
        self._nseg += 1
        if ts >= self._next_check:
            self._expire(ts)
        if sport > dport:
            key = (src, sport, dst, dport)
            fl = 0
        elif sport < dport:
            key = (dst, dport, src, sport)
            fl = 1
        elif src >= dst:
            key = (src, sport, dst, dport)
            fl = 0
        else:
            key = (dst, dport, src, sport)
            fl = 1
        f = self._flow_get(key)
        if f is None or flags & 0x02:  # new flow or SYN: _slow
            self._slow(f, key, fl, frame, ts, sport, dport, seq, ack, flags, payload, plen)
            return
        f.last_frame = frame
        f.last_ts = ts
        if fl ^ f._ko:
            d = 1
            f._pk1 += 1
            f._by1 += plen
        else:
            d = 0
            f._pk0 += 1
            f._by0 += plen
        mode = f._mode
        if mode == 2:  # _M_FAST
            if flags & 0x05:  # FIN | RST
                self._finrst(f, d, frame, ts, seq, flags)
            return
        if mode == 0:  # _M_NOSINK
            if plen:
                self._payload(f, d, frame, ts, seq, ack, flags, payload, plen)
            elif flags & 0x05:
                self._finrst(f, d, frame, ts, seq, flags)
            return
        if flags & 0x05:
            self._process(f, d, frame, ts, seq, ack, flags, payload, plen)
            return
        # _M_PAYLOAD without FIN/RST: _process, with the in-order case inline.
        sink = f.sink
        if not sink.wants_payload:  # type: ignore[union-attr]
            self._go_fast(f)
            return
        x = f._x
        if d:
            h = x.h1  # type: ignore[union-attr]
            o = x.h0  # type: ignore[union-attr]
        else:
            h = x.h0  # type: ignore[union-attr]
            o = x.h1  # type: ignore[union-attr]
        if flags & 0x10:  # ACK
            onxt = o.nxt
            if onxt is not None and ack != onxt and ((ack - onxt) & _MASK) < MAX_SEQ_JUMP:
                self._ack_gap(f, o, ack, frame, ts)
                if f._mode != _M_PAYLOAD:  # the gap let both FINs through: closed
                    return
                h = x.h1 if d else x.h0  # type: ignore[union-attr]
        if plen:
            if seq == h.nxt and not h.buf and h.fin_off is None and len(payload) == plen:
                h.off += plen
                h.nxt = (seq + plen) & _MASK
                sink.on_data(d, bytes(payload), frame, ts)  # type: ignore[union-attr]
            else:
                self._data(f, h, seq, payload, plen, frame, ts)

    # -- slow paths ----------------------------------------------------------
    def _slow(self, f: Flow | None, key: tuple[bytes, int, bytes, int], fl: int, frame: int,
              ts: float, sport: int, dport: int, seq: int, ack: int, flags: int, payload: Any,
              plen: int) -> None:
        """New flows (late segments of closed ones) and segments carrying SYN."""
        st = self._st
        pure_syn = (flags & (SYN | ACK)) == SYN
        reused = created = again = False
        if f is not None and f._fc is not None:
            self._fold(f)
        if f is not None and pure_syn:
            d = fl ^ f._ko
            seen = f._pk1 if d else f._pk0
            if seen:
                isn = f._isn1 if d else f._isn0
                x = f._x
                ended = x is not None and (x.fin0 is not None or x.fin1 is not None
                                           or x.rst_frame is not None)
                if isn is None or isn != seq or (ended and (f.sink is not None or d)):
                    st.port_reuses += 1
                    self._close(f, "reuse", frame, ts)
                    f = None
                    reused = True
                elif ended:  # the client retries its SYN on a flow that carried nothing yet
                    self._restart(f)
        if f is None:
            if self._frozen:
                return
            tombs = self._tombs
            again = reused
            tkey = _packed(key)
            if reused:
                tombs.pop(tkey, None)
                self._retry.pop(tkey, None)
            elif tkey in tombs:
                if not pure_syn:
                    st.late_segments += 1
                    return
                del tombs[tkey]
                old = self._retry.pop(tkey, None)
                if (old is not None and fl ^ old._ko == 0 and old._isn0 == seq
                        and ts - old.last_ts <= SYN_RETRY_WINDOW):
                    f = self._revive(old, frame, ts)
                else:
                    st.port_reuses += 1
                    again = True
            if f is None:
                f = self._new_flow(key, fl, frame, ts, sport, dport, flags)
                created = True
            else:
                f.last_frame = frame
                f.last_ts = ts
            d = fl ^ f._ko
        else:
            d = fl ^ f._ko
            f.last_frame = frame
            f.last_ts = ts
        if d:
            f._pk1 += 1
            f._by1 += plen
        else:
            f._pk0 += 1
            f._by0 += plen

        if flags & SYN:
            bit = 1 << d
            if f._sb & bit:
                if not plen:
                    st.retransmissions += 1
            else:
                if flags & ACK:
                    x = f._x
                    if x is None:
                        x = f._x = _FlowExtra()
                    if x.synack_frame is None:
                        x.synack_frame = frame
                elif f.syn_frame is None:
                    f.syn_frame = frame
                f._sb |= bit
                if d:
                    f._isn1 = seq
                else:
                    f._isn0 = seq
                x = f._x
                if x is not None:
                    h = x.h1 if d else x.h0
                    if h is not None and h.nxt is None:
                        h.base = h.nxt = (seq + 1) & _MASK
            seq = (seq + 1) & _MASK  # data in a SYN starts after the ISN
        if created and self.on_flow_created is not None:
            self.on_flow_created(f, again)  # after the SYN's ISN is recorded

        mode = f._mode
        if mode == _M_NOSINK:
            if plen:
                self._payload(f, d, frame, ts, seq, ack, flags, payload, plen)
            elif flags & (FIN | RST):
                self._finrst(f, d, frame, ts, seq, flags)
            return
        if mode == _M_PAYLOAD:
            self._process(f, d, frame, ts, seq, ack, flags, payload, plen)
            return
        self._finrst(f, d, frame, ts, seq, flags)

    def _new_flow(self, key: tuple[bytes, int, bytes, int], fl: int, frame: int, ts: float,
                  sport: int, dport: int, flags: int) -> Flow:
        if flags & SYN:
            if flags & ACK:
                src_is_client, role = False, "synack"
            else:
                src_is_client, role = True, "syn"
        else:
            src_is_client, role = _dst_is_server(sport, dport), "port"
        if len(self._flows) >= self.max_flows:
            self._evict_for_room()
        f = Flow(self._next_stream, key, fl if src_is_client else fl ^ 1, frame, ts, role)
        self._next_stream += 1
        self._flows[key] = f
        b = int(ts)
        lst = self._wheel.get(b)
        if lst is None:
            self._wheel[b] = [f]
            heapq.heappush(self._wheel_keys, b)
        else:
            lst.append(f)
        if self._on_new_flow is not None:
            self._on_new_flow(f)
        return f

    def _restart(self, f: Flow) -> None:
        """A flow without payload takes its client's retried SYN (same ISN): what the first
        attempt saw (a SYN/ACK, FIN, RST) no longer counts; the server's next SYN/ACK sets
        its ISN afresh."""
        x = f._x
        if x is not None:
            x.synack_frame = x.fin0 = x.fin1 = x.rst_frame = x.rst_direction = None
            x.close_reason = x.close_frame = None
            x.h0 = x.h1 = None
        f._sb &= 1
        f._isn1 = None

    def _revive(self, f: Flow, frame: int, ts: float) -> Flow:
        """Put a closed flow without payload back in the table for its client's retried SYN:
        it keeps its stream number (Wireshark keeps a same-ISN SYN in the conversation)."""
        self._restart(f)
        if len(self._flows) >= self.max_flows:
            self._evict_for_room()
        f._mode = _M_NOSINK
        self._flows[f._key] = f
        b = int(ts)
        lst = self._wheel.get(b)
        if lst is None:
            self._wheel[b] = [f]
            heapq.heappush(self._wheel_keys, b)
        else:
            lst.append(f)
        self._st.syn_retries += 1
        return f

    def _payload(self, f: Flow, d: int, frame: int, ts: float, seq: int, ack: int, flags: int,
                 payload: Any, plen: int) -> None:
        """First payload byte of a flow: create the sink and the reassembly state."""
        x = f._x
        if x is None:
            x = f._x = _FlowExtra()
        sb = f._sb
        h0 = x.h0 = _Half(0, ((f._isn0 + 1) & _MASK) if sb & 1 else None)  # type: ignore[operator]
        h1 = x.h1 = _Half(1, ((f._isn1 + 1) & _MASK) if sb & 2 else None)  # type: ignore[operator]
        # A FIN seen before the first payload byte: that direction is done.
        if x.fin0 is not None:
            h0.fin_done = True
            h0.fin_off = 0
            h0.fin_frame = x.fin0
        if x.fin1 is not None:
            h1.fin_done = True
            h1.fin_off = 0
            h1.fin_frame = x.fin1
        f._mode = _M_PAYLOAD
        sink = self._factory(f)
        f.sink = sink
        for h in (x.h0, x.h1):  # re-read: the factory may have swapped roles
            if h.fin_done:  # type: ignore[union-attr]
                sink.on_fin(h.d, h.fin_frame, ts)  # type: ignore[union-attr]
        self._process(f, d, frame, ts, seq, ack, flags, payload, plen)

    def _process(self, f: Flow, d: int, frame: int, ts: float, seq: int, ack: int, flags: int,
                 payload: Any, plen: int) -> None:
        """General per-segment work for a flow in payload mode."""
        sink = f.sink
        if not sink.wants_payload:  # type: ignore[union-attr]
            self._go_fast(f)
            if flags & (FIN | RST):
                self._finrst(f, d, frame, ts, seq, flags)
            return
        x = f._x
        assert x is not None
        if flags & ACK:
            o = x.h0 if d else x.h1
            onxt = o.nxt  # type: ignore[union-attr]
            if onxt is not None and ack != onxt and ((ack - onxt) & _MASK) < MAX_SEQ_JUMP:
                self._ack_gap(f, o, ack, frame, ts)  # type: ignore[arg-type]
                if f._mode != _M_PAYLOAD:
                    return
        h = x.h1 if d else x.h0
        assert h is not None
        if plen:
            if h.nxt is None and plen > 0:  # as _data would, before anything else
                h.base = h.nxt = seq
            if seq == h.nxt and not h.buf and h.fin_off is None and len(payload) == plen:
                # in order, nothing buffered: what _data would do, without its bookkeeping
                h.off += plen
                h.nxt = (seq + plen) & _MASK
                sink.on_data(h.d, bytes(payload), frame, ts)  # type: ignore[union-attr]
            else:
                self._data(f, h, seq, payload, plen, frame, ts)
        if f._mode != _M_PAYLOAD:
            return
        if flags & RST:
            self._finrst(f, d, frame, ts, seq, flags)
        elif flags & FIN:
            if (x.fin1 if d else x.fin0) is not None:
                if not plen:
                    self._st.retransmissions += 1
                return
            if d:
                x.fin1 = frame
            else:
                x.fin0 = frame
            if h.nxt is None:
                h.base = h.nxt = seq
            delta = (((seq + plen) - h.nxt + _HALF) & _MASK) - _HALF
            h.fin_off = max(h.off + delta, h.off) if not h.fin_done else h.off
            h.fin_frame = frame
            h.fin_ts = ts
            self._drain(f, h)

    def _finrst(self, f: Flow, d: int, frame: int, ts: float, seq: int, flags: int) -> None:
        """FIN/RST for flows that do not reassemble (no sink yet, or fast path)."""
        x = f._x
        if x is None:
            x = f._x = _FlowExtra()
        sink = f.sink
        if flags & RST:
            if x.rst_frame is None:
                x.rst_frame = frame
                x.rst_direction = d
            if sink is not None and f._mode == _M_PAYLOAD:
                self._flush(f, frame, ts)
            if sink is not None:
                sink.on_rst(d, frame, ts)
            self._close(f, "rst", frame, ts)
            return
        if flags & FIN:
            if (x.fin1 if d else x.fin0) is not None:
                self._st.retransmissions += 1
                return
            if d:
                x.fin1 = frame
            else:
                x.fin0 = frame
            if sink is not None:
                sink.on_fin(d, frame, ts)
            if x.fin0 is not None and x.fin1 is not None:
                self._close(f, "fin", frame, ts)

    def _go_fast(self, f: Flow) -> None:
        """The sink stopped wanting payload: drop reassembly state."""
        x = f._x
        f._mode = _M_FAST
        self._filter_on(f)
        if x is not None:
            sink = f.sink
            for h in (x.h0, x.h1):
                if h is not None and h.fin_off is not None and not h.fin_done and sink is not None:
                    sink.on_fin(h.d, h.fin_frame, h.fin_ts)
            x.h0 = x.h1 = None
            if x.fin0 is not None and x.fin1 is not None:
                self._close(f, "fin", f.last_frame, f.last_ts)

    # -- reassembly ----------------------------------------------------------
    def _data(self, f: Flow, h: _Half, seq: int, payload: Any, plen: int, frame: int,
              ts: float) -> None:
        """Place one segment's bytes in direction ``h``: deliver, buffer or drop."""
        st = self._st
        n = len(payload)
        if plen < 0:  # nonsense length from a broken IP header: nothing usable
            st.out_of_window += 1
            return
        if n > plen:  # link-layer padding the capture stage left in
            payload = payload[:plen]
            n = plen
        if h.nxt is None:
            h.base = h.nxt = seq
        delta = ((seq - h.nxt + _HALF) & _MASK) - _HALF
        if delta == -1 and plen <= 1:
            st.keepalives += 1
            return
        if delta > MAX_SEQ_JUMP or delta < -MAX_SEQ_JUMP:
            st.out_of_window += 1
            return
        off = h.off
        s = off + delta
        e = s + plen
        if h.fin_done and e > off:
            st.out_of_window += 1  # data after a delivered FIN
            return
        if e <= off:
            st.retransmissions += 1
            return
        cut = s + n
        pieces: list[list[Any]] = []
        if s < off:
            st.overlaps += 1
            if cut > off:
                pieces.append([off, cut, bytes(payload[off - s:]), frame, ts])
                if e > cut:
                    pieces.append([cut, e, None, frame, ts])
            else:
                pieces.append([off, e, None, frame, ts])
        else:
            if cut > s:
                pieces.append([s, cut, bytes(payload), frame, ts])
            if e > cut:
                pieces.append([cut, e, None, frame, ts])
        buf = h.buf
        if buf:
            conflicts = st.overlap_conflicts
            pieces = self._trim_against(buf, pieces)
            if st.overlap_conflicts != conflicts:
                hook = getattr(f.sink, "on_overlap_conflict", None)
                if hook is not None:
                    hook(h.d, frame, ts)
            if not pieces:
                st.retransmissions += 1
                return
        if pieces[0][0] > off:
            st.out_of_order += 1
        for p in pieces:
            bisect.insort(buf, p, key=_start)
            if p[2] is not None:
                h.buffered += p[1] - p[0]
        self._drain(f, h)
        if h.buffered > self.max_buffer or len(buf) > self.max_segments:
            st.buffer_overflows += 1
            while (h.buffered > self.max_buffer or len(buf) > self.max_segments) and buf:
                self._gap_to(f, h, buf[0][0], frame, ts)
                self._drain(f, h)

    def _trim_against(self, buf: list[list[Any]], pieces: list[list[Any]]) -> list[list[Any]]:
        """Remove from ``pieces`` what ``buf`` already holds, keeping first-seen bytes."""
        st = self._st
        out: list[list[Any]] = []
        overlapped = False
        conflict = False
        for p in pieces:
            ps, pe, pdata, pfr, pts = p
            c = ps
            i = bisect.bisect_right(buf, ps, key=_start) - 1
            if i < 0:
                i = 0
            while i < len(buf) and c < pe:
                bs, be, bdata = buf[i][0], buf[i][1], buf[i][2]
                i += 1
                if be <= c:
                    continue
                if bs >= pe:
                    break
                if bs > c:
                    out.append([c, bs, None if pdata is None else pdata[c - ps:bs - ps], pfr, pts])
                    c = bs
                ov_end = min(be, pe)
                overlapped = True
                if pdata is not None and bdata is not None:
                    if pdata[c - ps:ov_end - ps] != bdata[c - bs:ov_end - bs]:
                        conflict = True
                c = ov_end
            if c < pe:
                out.append([c, pe, None if pdata is None else pdata[c - ps:], pfr, pts])
        if overlapped and out:
            st.overlaps += 1
        if conflict:
            st.overlap_conflicts += 1
        return out

    def _drain(self, f: Flow, h: _Half) -> None:
        """Deliver buffered pieces that are now in order, then a FIN that is."""
        buf = h.buf
        sink = f.sink
        while buf and buf[0][0] <= h.off:
            s, e, data, frame, ts = buf.pop(0)
            if data is not None:
                h.buffered -= e - s
            if e <= h.off:
                continue
            off = h.off
            h.off = e
            # h.d is re-read each time: the sink may swap roles inside a callback
            if data is None:
                self._st.gaps += 1
                sink.on_gap(h.d, e - off, frame, ts)  # type: ignore[union-attr]
            else:
                if s < off:
                    data = data[off - s:]
                sink.on_data(h.d, data, frame, ts)  # type: ignore[union-attr]
        if h.fin_off is not None and not h.fin_done and h.off >= h.fin_off:
            h.fin_done = True
            h.off = h.fin_off + 1
            buf.clear()
            h.buffered = 0
            h.nxt = (h.base + h.off) & _MASK
            sink.on_fin(h.d, h.fin_frame, h.fin_ts)  # type: ignore[union-attr]
            x = f._x
            if (not self._flushing and f._mode == _M_PAYLOAD and x is not None and x.h0 is not None and x.h1 is not None
                    and x.h0.fin_done and x.h1.fin_done):
                self._close(f, "fin", h.fin_frame, h.fin_ts)
            return
        h.nxt = (h.base + h.off) & _MASK

    def _gap_to(self, f: Flow, h: _Half, target: int, frame: int, ts: float) -> None:
        """Report the bytes up to stream offset ``target`` as missing and skip them."""
        if target > h.off:
            self._st.gaps += 1
            f.sink.on_gap(h.d, target - h.off, frame, ts)  # type: ignore[union-attr]
            h.off = target
            h.nxt = (h.base + h.off) & _MASK

    def _ack_gap(self, f: Flow, o: _Half, ack: int, frame: int, ts: float) -> None:
        """The peer acknowledged bytes of ``o`` we never saw: they are a gap."""
        target = o.off + ((ack - o.nxt) & _MASK)  # type: ignore[operator]
        while o.off < target and not o.fin_done and f._mode == _M_PAYLOAD:
            stop = target
            if o.buf and o.buf[0][0] < stop:
                stop = o.buf[0][0]
            if o.fin_off is not None and o.fin_off < stop:
                stop = o.fin_off
            before = o.off
            self._gap_to(f, o, stop, frame, ts)
            self._drain(f, o)
            if o.off == before:
                break

    def _flush(self, f: Flow, frame: int, ts: float) -> None:
        """Closing with holes: report them and deliver what lies beyond, and pending FINs."""
        x = f._x
        if x is None:
            return
        self._flushing = True
        try:
            for h in (x.h0, x.h1):
                if h is None:
                    continue
                while h.buf:
                    self._gap_to(f, h, h.buf[0][0], frame, ts)
                    self._drain(f, h)
                if h.fin_off is not None and not h.fin_done:
                    self._gap_to(f, h, h.fin_off, frame, ts)
                    self._drain(f, h)
        finally:
            self._flushing = False

    # -- closing and eviction -------------------------------------------------
    # -- fast-mode segments counted by the capture stage ---------------------
    def _filter_on(self, f: Flow) -> None:
        """Let the capture count this flow's plain segments (no SYN/FIN/RST) from now on."""
        if f._fc is not None:
            return
        a, ap, b, bp = f._key
        if len(a) != 4:
            return  # the capture counts only Ethernet/IPv4 segments (SegmentFilter)
        ca: list = [0, 0.0, 0, 0]
        cb: list = [0, 0.0, 0, 0]
        self._counters[_packed(f._key)] = ca
        self._counters[_packed((b, bp, a, ap))] = cb
        f._fc = (ca, cb)

    def _fold(self, f: Flow) -> None:
        """Move the capture's counts for `f` into the flow (packets, bytes, last frame and time)."""
        ca, cb = f._fc  # type: ignore[misc]
        ko = f._ko
        for c, d in ((ca, ko), (cb, ko ^ 1)):
            n = c[2]
            if n:
                if d:
                    f._pk1 += n
                    f._by1 += c[3]
                else:
                    f._pk0 += n
                    f._by0 += c[3]
                self._nseg += n
                if c[0] > f.last_frame:
                    f.last_frame = c[0]
                    f.last_ts = c[1]
                c[2] = c[3] = 0

    def _fold_all(self) -> None:
        for f in self._flows.values():
            if f._fc is not None:
                self._fold(f)

    def _filter_off(self, f: Flow) -> None:
        self._fold(f)
        a, ap, b, bp = f._key
        self._counters.pop(_packed(f._key), None)
        self._counters.pop(_packed((b, bp, a, ap)), None)
        f._fc = None

    def _close(self, f: Flow, reason: str, frame: int, ts: float) -> None:
        if f._mode == _M_CLOSED:
            return
        if f._fc is not None:
            self._filter_off(f)
        if f._mode == _M_PAYLOAD and reason != "fin":
            self._flush(f, frame, ts)
        f._mode = _M_CLOSED
        key = f._key
        if self._flows.get(key) is f:
            del self._flows[key]
        if reason != "end":
            tombs = self._tombs
            tkey = _packed(key)
            tombs[tkey] = f.stream
            if len(tombs) > self.max_tombstones:
                gone, _ = tombs.popitem(last=False)
                self._retry.pop(gone, None)
            if f.sink is None and f._sb & 1 and reason in _RETRYABLE_REASONS:
                retry = self._retry
                retry[tkey] = f
                retry.move_to_end(tkey)
                if len(retry) > self.max_retryable:
                    retry.popitem(last=False)
        x = f._extra()
        x.close_reason = reason
        x.close_frame = frame
        x.h0 = x.h1 = None
        self._wheel_dead += 1
        if self._wheel_dead > 4096 and self._wheel_dead > len(self._flows):
            self._compact_wheel()
        sink = f.sink
        if sink is not None:
            f.sink = None
            sink.on_close(f, reason)
        if self._frozen and not self._flows and self._on_empty is not None:
            self._on_empty()

    def _compact_wheel(self) -> None:
        wheel = self._wheel
        for b in list(wheel):
            live = [f for f in wheel[b] if f._mode != _M_CLOSED]
            if live:
                wheel[b] = live
            else:
                del wheel[b]
        self._wheel_keys[:] = sorted(wheel)
        self._wheel_dead = 0

    def _expire(self, ts: float) -> None:
        """Evict flows idle for ``idle_timeout`` seconds (runs once per second of capture time)."""
        self._next_check = ts + 1.0
        self.segment_filter.until = self._next_check
        if ts > self._now:
            self._now = ts
        limit = self._now - self.idle_timeout
        keys = self._wheel_keys
        wheel = self._wheel
        st = self._st
        while keys and keys[0] + 1 <= limit:
            b = heapq.heappop(keys)
            lst = wheel.pop(b, None)
            if not lst:
                continue
            for f in lst:
                if f._mode == _M_CLOSED:
                    self._wheel_dead -= 1
                    continue
                if f._fc is not None:
                    self._fold(f)
                if f.last_ts <= limit:
                    st.evicted_idle += 1
                    self._close(f, "idle", f.last_frame, f.last_ts)
                    self._wheel_dead -= 1
                else:
                    nb = int(f.last_ts)
                    nl = wheel.get(nb)
                    if nl is None:
                        wheel[nb] = [f]
                        heapq.heappush(keys, nb)
                    else:
                        nl.append(f)
        if self._wheel_dead < 0:
            self._wheel_dead = 0

    def _evict_for_room(self) -> None:
        """``max_flows`` flows are live: close the longest idle ones (reason 'evicted').

        Evicts a batch (1/64 of the cap) at once, oldest wheel bucket first, so the
        cost per new flow stays constant even when a flood fills a single second.
        """
        target = self.max_flows - max(1, self.max_flows // 64)
        keys = self._wheel_keys
        wheel = self._wheel
        flows = self._flows
        while len(flows) > target and keys:
            b = heapq.heappop(keys)
            lst = wheel.pop(b, None)
            if not lst:
                continue
            for i, f in enumerate(lst):
                if len(flows) <= target:
                    rest = lst[i:]
                    old = wheel.get(b)
                    if old is None:
                        wheel[b] = rest
                        heapq.heappush(keys, b)
                    else:
                        old.extend(rest)
                    break
                if f._mode == _M_CLOSED:
                    self._wheel_dead -= 1
                    continue
                if f._fc is not None:
                    self._fold(f)
                nb = int(f.last_ts)
                if nb > b:  # active since it was queued: file it under its last second
                    nl = wheel.get(nb)
                    if nl is None:
                        wheel[nb] = [f]
                        heapq.heappush(keys, nb)
                    else:
                        nl.append(f)
                    continue
                self._st.evicted_capacity += 1
                self._close(f, "evicted", f.last_frame, f.last_ts)
                self._wheel_dead -= 1
        if self._wheel_dead < 0:
            self._wheel_dead = 0

    def close_all(self) -> None:
        """The capture is over: close every live flow with reason 'end', in stream order."""
        for f in sorted(self._flows.values(), key=lambda fl: fl.stream):
            self._close(f, "end", f.last_frame, f.last_ts)
        self._flows.clear()
        self._wheel.clear()
        self._wheel_keys.clear()
        self._wheel_dead = 0


def _start(piece: list[Any]) -> int:
    return piece[0]  # type: ignore[no-any-return]
