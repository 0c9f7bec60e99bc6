"""TCP stage constants and shared types: flag bits, bounds, close reasons, flow modes, the
stage's error type, its counters (`TCPStats`), the `StreamSink` protocol the upper layer
implements, and the packed form of a 4-tuple (tombstone and `SegmentFilter` key)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .flow import Flow

_PORTS = struct.Struct(">HH").pack  # a SegmentFilter key: src + dst addresses + ports, as on the wire

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
#: A segment that ends a direction (FIN) or the connection (RST).
FIN_OR_RST = FIN | RST

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

SEQ_MASK = 0xFFFFFFFF
SEQ_HALF = 1 << 31
#: A direction's `nxt` and `base` before its initial sequence number is known.
SEQ_UNKNOWN = -1
#: A direction's `fin_off` before a FIN was seen in it.
NO_FIN = -1

# Flow modes (Flow._mode): what the table does with a flow's next segment.
MODE_NOSINK = 0   # no payload seen yet: no sink, no buffers
MODE_PAYLOAD = 1  # sink wants payload: reassemble and deliver
MODE_FAST = 2     # sink no longer wants payload: count only
MODE_CLOSED = 3

#: The segment tuple produced by the capture stage.
Segment = tuple[int, float, bytes, int, bytes, int, int, int, int, Any, int]


def packed_key(key: tuple[bytes, int, bytes, int]) -> bytes:
    """A 4-tuple as one bytes object (addresses, then ports): the tombstone key, and in wire
    orientation the SegmentFilter key."""
    a, ap, b, bp = key
    return a + b + _PORTS(ap, bp)


def unpacked_key(k: bytes) -> tuple[bytes, int, bytes, int]:
    n = (len(k) - 4) // 2
    return k[:n], (k[-4] << 8) | k[-3], k[n:2 * n], (k[-2] << 8) | k[-1]


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

