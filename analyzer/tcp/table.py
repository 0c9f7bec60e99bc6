"""The flow table: segments in, per-connection callbacks out.

`FlowTable` keys live flows by their canonical 4-tuple, numbers them as Wireshark numbers
`tcp.stream`, picks client and server (SYN, SYN/ACK, else the port heuristic), creates the
upper layer's sink at a flow's first payload byte, and for flows in payload mode hands each
direction's bytes to its `HalfStream` (analyzer.tcp.half). It also owns FIN/RST bookkeeping,
tombstones of closed conversations, same-ISN SYN retries, idle eviction (a wheel of
one-second buckets), the capacity bound, and the counting fast path shared with the capture
stage (`SegmentFilter`). See the package docstring for the behaviour worth knowing.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from typing import Any, Callable

from ..capture.reader import SegmentFilter
from .flow import Flow, FlowExtra, dst_is_server
from .half import HalfStream
from .stats import (
    ACK, DEFAULT_IDLE_TIMEOUT, FIN, FIN_OR_RST, MAX_BUFFER_PER_DIRECTION, MAX_LIVE_FLOWS,
    MAX_OUT_OF_ORDER_SEGMENTS, MAX_RETRYABLE_CLOSES, MAX_SEQ_JUMP, MAX_TOMBSTONES, MODE_CLOSED,
    MODE_FAST, MODE_NOSINK, MODE_PAYLOAD, NO_FIN, RST, SEQ_HALF, SEQ_MASK, SEQ_UNKNOWN, SYN, SYN_RETRY_WINDOW,
    _RETRYABLE_REASONS, Segment, StreamSink, TCPError, TCPStats, packed_key, unpacked_key,
)

#: Closed flows left in the idle wheel before it is compacted (and at least as many as live flows).
WHEEL_COMPACT_AFTER = 4096


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
        return {unpacked_key(k) for k in self._tombs}

    def retryable(self) -> dict[tuple[bytes, int, bytes, int], int]:
        """4-tuples of recently closed flows that a same-ISN SYN would continue -> that ISN."""
        return {unpacked_key(k): f._isn0 for k, f in self._retry.items() if f._isn0 is not None}

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
        if f is None or flags & SYN:  # new flow or SYN: _slow
            self._slow(f, key, fl, frame, ts, sport, dport, seq, ack, flags, payload, plen)
            return
        f.last_frame = frame
        f.last_ts = ts
        if fl ^ f._ko:
            d = 1
            f._packets_from_server += 1
            f._bytes_from_server += plen
        else:
            d = 0
            f._packets_from_client += 1
            f._bytes_from_client += plen
        mode = f._mode
        if mode == MODE_FAST:
            if flags & FIN_OR_RST:
                self._finrst(f, d, frame, ts, seq, flags)
            return
        if mode == MODE_NOSINK:
            if plen:
                self._payload(f, d, frame, ts, seq, ack, flags, payload, plen)
            elif flags & FIN_OR_RST:
                self._finrst(f, d, frame, ts, seq, flags)
            return
        if flags & FIN_OR_RST:
            self._process(f, d, frame, ts, seq, ack, flags, payload, plen)
            return
        # MODE_PAYLOAD without FIN/RST: _process, with the in-order case inline.
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
        if flags & ACK:
            onxt = o.nxt
            if onxt != SEQ_UNKNOWN and ack != onxt and ((ack - onxt) & SEQ_MASK) < MAX_SEQ_JUMP:
                self._ack_gap(f, o, ack, frame, ts)
                if f._mode != MODE_PAYLOAD:  # the gap let both FINs through: closed
                    return
                h = x.h1 if d else x.h0  # type: ignore[union-attr]
        if plen:
            if seq == h.nxt and not h.buf and h.fin_off == NO_FIN and len(payload) == plen:
                h.off += plen
                h.nxt = (seq + plen) & SEQ_MASK
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
            seen = f._packets_from_server if d else f._packets_from_client
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
            tkey = packed_key(key)
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
            f._packets_from_server += 1
            f._bytes_from_server += plen
        else:
            f._packets_from_client += 1
            f._bytes_from_client += plen

        if flags & SYN:
            bit = 1 << d
            if f._sb & bit:
                if not plen:
                    st.retransmissions += 1
            else:
                if flags & ACK:
                    x = f._x
                    if x is None:
                        x = f._x = FlowExtra()
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
                    if h is not None and h.nxt == SEQ_UNKNOWN:
                        h.start_at((seq + 1) & SEQ_MASK)
            seq = (seq + 1) & SEQ_MASK  # data in a SYN starts after the ISN
        if created and self.on_flow_created is not None:
            self.on_flow_created(f, again)  # after the SYN's ISN is recorded

        mode = f._mode
        if mode == MODE_NOSINK:
            if plen:
                self._payload(f, d, frame, ts, seq, ack, flags, payload, plen)
            elif flags & (FIN | RST):
                self._finrst(f, d, frame, ts, seq, flags)
            return
        if mode == MODE_PAYLOAD:
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
            src_is_client, role = dst_is_server(sport, dport), "port"
        if len(self._flows) >= self.max_flows:
            self._evict_for_room()
        f = Flow(self._next_stream, key, fl if src_is_client else fl ^ 1, frame, ts, role)
        self._next_stream += 1
        self._flows[key] = f
        self._schedule(f, ts)
        if self._on_new_flow is not None:
            self._on_new_flow(f)
        return f

    def _schedule(self, f: Flow, ts: float) -> None:
        """Put a flow (new, or revived) on the idle-check wheel in the bucket of second `ts`."""
        b = int(ts)
        lst = self._wheel.get(b)
        if lst is None:
            self._wheel[b] = [f]
            heapq.heappush(self._wheel_keys, b)
        else:
            lst.append(f)

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
        f._mode = MODE_NOSINK
        self._flows[f._key] = f
        self._schedule(f, ts)
        self._st.syn_retries += 1
        return f

    def _payload(self, f: Flow, d: int, frame: int, ts: float, seq: int, ack: int, flags: int,
                 payload: Any, plen: int) -> None:
        """First payload byte of a flow: create the sink and the reassembly state."""
        x = f._x
        if x is None:
            x = f._x = FlowExtra()
        sb = f._sb
        h0 = x.h0 = HalfStream(0, ((f._isn0 + 1) & SEQ_MASK) if sb & 1 else SEQ_UNKNOWN)  # type: ignore[operator]
        h1 = x.h1 = HalfStream(1, ((f._isn1 + 1) & SEQ_MASK) if sb & 2 else SEQ_UNKNOWN)  # type: ignore[operator]
        # A FIN seen before the first payload byte: that direction is done.
        if x.fin0 is not None:
            h0.fin_done = True
            h0.fin_off = 0
            h0.fin_frame = x.fin0
        if x.fin1 is not None:
            h1.fin_done = True
            h1.fin_off = 0
            h1.fin_frame = x.fin1
        f._mode = MODE_PAYLOAD
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
            if onxt != SEQ_UNKNOWN and ack != onxt and ((ack - onxt) & SEQ_MASK) < MAX_SEQ_JUMP:
                self._ack_gap(f, o, ack, frame, ts)  # type: ignore[arg-type]
                if f._mode != MODE_PAYLOAD:
                    return
        h = x.h1 if d else x.h0
        assert h is not None
        if plen:
            if h.nxt == SEQ_UNKNOWN and plen > 0:  # as _data would, before anything else
                h.start_at(seq)
            if seq == h.nxt and not h.buf and h.fin_off == NO_FIN and len(payload) == plen:
                # in order, nothing buffered: what _data would do, without its bookkeeping
                h.off += plen
                h.nxt = (seq + plen) & SEQ_MASK
                sink.on_data(h.d, bytes(payload), frame, ts)  # type: ignore[union-attr]
            else:
                self._data(f, h, seq, payload, plen, frame, ts)
        if f._mode != MODE_PAYLOAD:
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
            if h.nxt == SEQ_UNKNOWN:
                h.start_at(seq)
            delta = (((seq + plen) - h.nxt + SEQ_HALF) & SEQ_MASK) - SEQ_HALF
            h.fin_off = max(h.off + delta, h.off) if not h.fin_done else h.off
            h.fin_frame = frame
            h.fin_ts = ts
            self._drain(f, h)

    def _finrst(self, f: Flow, d: int, frame: int, ts: float, seq: int, flags: int) -> None:
        """FIN/RST for flows that do not reassemble (no sink yet, or fast path)."""
        x = f._x
        if x is None:
            x = f._x = FlowExtra()
        sink = f.sink
        if flags & RST:
            if x.rst_frame is None:
                x.rst_frame = frame
                x.rst_direction = d
            if sink is not None and f._mode == MODE_PAYLOAD:
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
        f._mode = MODE_FAST
        self._filter_on(f)
        if x is not None:
            sink = f.sink
            for h in (x.h0, x.h1):
                if h is not None and h.fin_off != NO_FIN and not h.fin_done and sink is not None:
                    sink.on_fin(h.d, h.fin_frame, h.fin_ts)
            x.h0 = x.h1 = None
            if x.fin0 is not None and x.fin1 is not None:
                self._close(f, "fin", f.last_frame, f.last_ts)

    # -- reassembly ----------------------------------------------------------
    def _data(self, f: Flow, h: HalfStream, seq: int, payload: Any, plen: int, frame: int,
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
        if h.nxt == SEQ_UNKNOWN:
            h.start_at(seq)
        delta = ((seq - h.nxt + SEQ_HALF) & SEQ_MASK) - SEQ_HALF
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
            pieces = h.trim_against(pieces, st)
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
            h.insert(p)
        self._drain(f, h)
        if h.buffered > self.max_buffer or len(buf) > self.max_segments:
            st.buffer_overflows += 1
            while (h.buffered > self.max_buffer or len(buf) > self.max_segments) and buf:
                self._gap_to(f, h, buf[0][0], frame, ts)
                self._drain(f, h)

    def _drain(self, f: Flow, h: HalfStream) -> None:
        """Deliver what direction ``h`` now has in order; close the flow once both FINs are."""
        if h.drain(f.sink, self._st):
            x = f._x
            if (not self._flushing and f._mode == MODE_PAYLOAD and x is not None and x.h0 is not None
                    and x.h1 is not None and x.h0.fin_done and x.h1.fin_done):
                self._close(f, "fin", h.fin_frame, h.fin_ts)

    def _gap_to(self, f: Flow, h: HalfStream, target: int, frame: int, ts: float) -> None:
        """Report the bytes up to stream offset ``target`` as missing and skip them."""
        h.skip_to(target, f.sink, self._st, frame, ts)

    def _ack_gap(self, f: Flow, o: HalfStream, ack: int, frame: int, ts: float) -> None:
        """The peer acknowledged bytes of ``o`` we never saw: they are a gap."""
        target = o.off + ((ack - o.nxt) & SEQ_MASK)  # type: ignore[operator]
        while o.off < target and not o.fin_done and f._mode == MODE_PAYLOAD:
            stop = o.first_hole_end(target)
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
                if h.fin_off != NO_FIN and not h.fin_done:
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
        self._counters[packed_key(f._key)] = ca
        self._counters[packed_key((b, bp, a, ap))] = cb
        f._fc = (ca, cb)

    def _fold(self, f: Flow) -> None:
        """Move the capture's counts for `f` into the flow (packets, bytes, last frame and time)."""
        ca, cb = f._fc  # type: ignore[misc]
        ko = f._ko
        for c, d in ((ca, ko), (cb, ko ^ 1)):
            n = c[2]
            if n:
                if d:
                    f._packets_from_server += n
                    f._bytes_from_server += c[3]
                else:
                    f._packets_from_client += n
                    f._bytes_from_client += c[3]
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
        self._counters.pop(packed_key(f._key), None)
        self._counters.pop(packed_key((b, bp, a, ap)), None)
        f._fc = None

    def _close(self, f: Flow, reason: str, frame: int, ts: float) -> None:
        if f._mode == MODE_CLOSED:
            return
        if f._fc is not None:
            self._filter_off(f)
        if f._mode == MODE_PAYLOAD and reason != "fin":
            self._flush(f, frame, ts)
        f._mode = MODE_CLOSED
        key = f._key
        if self._flows.get(key) is f:
            del self._flows[key]
        if reason != "end":
            tombs = self._tombs
            tkey = packed_key(key)
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
        if self._wheel_dead > WHEEL_COMPACT_AFTER and self._wheel_dead > len(self._flows):
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
            live = [f for f in wheel[b] if f._mode != MODE_CLOSED]
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
                if f._mode == MODE_CLOSED:
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
                if f._mode == MODE_CLOSED:
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

