"""One direction's reassembly: the byte stream a TCP endpoint sends, put back in order.

`HalfStream` owns one direction's position in sequence space, its out-of-order buffer (pieces
sorted by stream offset, never overlapping; a piece without data marks bytes known to be
missing) and its FIN. The flow table decides what a segment means for the connection; this
module only places pieces, trims retransmitted copies against what is buffered (the first
copy wins), delivers what has become in order and skips gaps, calling the sink it is given.
"""

from __future__ import annotations

import bisect
from typing import Any

from .stats import NO_FIN, SEQ_MASK, TCPStats

# A buffered piece: [start offset, end offset, data or None (missing bytes), frame, ts].
_START = 0
_END = 1
_DATA = 2


def _start(piece: list[Any]) -> int:
    return piece[_START]  # type: ignore[no-any-return]


class HalfStream:
    """Reassembly state of one direction (only for flows in payload mode).

    ``off`` counts sequence space consumed since ``base`` (delivered bytes, skipped gaps and
    a delivered FIN); ``nxt`` is ``(base + off) mod 2**32``, ``SEQ_UNKNOWN`` while the
    direction's initial sequence number is unknown. ``buf`` holds out-of-order pieces
    ``[start, end, data_or_None, frame, ts]`` sorted by stream offset, never overlapping;
    ``data is None`` marks bytes known to be missing (cut by snaplen). ``fin_off`` is the
    stream offset of the FIN (``NO_FIN`` until one is seen).
    """

    __slots__ = ("d", "base", "off", "nxt", "buf", "buffered", "fin_off", "fin_frame",
                 "fin_ts", "fin_done")

    def __init__(self, d: int, nxt: int) -> None:
        self.d = d
        self.base = nxt
        self.off = 0
        self.nxt = nxt
        self.buf: list[list[Any]] = []
        self.buffered = 0
        self.fin_off = NO_FIN
        self.fin_frame = 0
        self.fin_ts = 0.0
        self.fin_done = False

    def start_at(self, seq: int) -> None:
        """The direction's stream starts at sequence number `seq` (first data, or ISN + 1)."""
        self.base = self.nxt = seq

    def sync_nxt(self) -> None:
        self.nxt = (self.base + self.off) & SEQ_MASK

    def insert(self, piece: list[Any]) -> None:
        bisect.insort(self.buf, piece, key=_start)
        if piece[_DATA] is not None:
            self.buffered += piece[_END] - piece[_START]

    def trim_against(self, pieces: list[list[Any]], st: TCPStats) -> list[list[Any]]:
        """Remove from ``pieces`` what the buffer already holds, keeping first-seen bytes."""
        buf = self.buf
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
                bs, be, bdata = buf[i][_START], buf[i][_END], buf[i][_DATA]
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

    def drain(self, sink: Any, st: TCPStats) -> bool:
        """Deliver buffered pieces that are now in order, then a FIN that is; True when the FIN
        was delivered by this call."""
        buf = self.buf
        while buf and buf[0][_START] <= self.off:
            s, e, data, frame, ts = buf.pop(0)
            if data is not None:
                self.buffered -= e - s
            if e <= self.off:
                continue
            off = self.off
            self.off = e
            # self.d is re-read each time: the sink may swap roles inside a callback
            if data is None:
                st.gaps += 1
                sink.on_gap(self.d, e - off, frame, ts)
            else:
                if s < off:
                    data = data[off - s:]
                sink.on_data(self.d, data, frame, ts)
        if self.fin_off != NO_FIN and not self.fin_done and self.off >= self.fin_off:
            self.fin_done = True
            self.off = self.fin_off + 1
            buf.clear()
            self.buffered = 0
            self.sync_nxt()
            sink.on_fin(self.d, self.fin_frame, self.fin_ts)
            return True
        self.sync_nxt()
        return False

    def skip_to(self, target: int, sink: Any, st: TCPStats, frame: int, ts: float) -> None:
        """Report the bytes up to stream offset ``target`` as missing and skip them."""
        if target > self.off:
            st.gaps += 1
            sink.on_gap(self.d, target - self.off, frame, ts)
            self.off = target
            self.sync_nxt()

    def first_hole_end(self, target: int) -> int:
        """Where a gap up to `target` must stop: at the first buffered piece or the FIN."""
        stop = target
        if self.buf and self.buf[0][_START] < stop:
            stop = self.buf[0][_START]
        if self.fin_off != NO_FIN and self.fin_off < stop:
            stop = self.fin_off
        return stop
