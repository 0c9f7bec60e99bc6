"""TCP stage: the flow table and per-direction stream reassembly.

Modules: `stats` (flag bits, bounds, close reasons, flow modes, `TCPStats`, `TCPError`,
`StreamSink`), `flow` (`Flow`: one conversation), `half` (`HalfStream`: one direction's
reassembly), `table` (`FlowTable`: the flow table and the per-segment logic). The names
below are re-exported here, so `from analyzer.tcp import FlowTable` keeps working.

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

from .flow import Flow
from .stats import (
    ACK, CLOSE_REASONS, DEFAULT_IDLE_TIMEOUT, FIN, MAX_BUFFER_PER_DIRECTION, MAX_LIVE_FLOWS,
    MAX_OUT_OF_ORDER_SEGMENTS, MAX_RETRYABLE_CLOSES, MAX_SEQ_JUMP, MAX_TOMBSTONES, PSH, RST, SYN,
    SYN_RETRY_WINDOW, URG, Segment, StreamSink, TCPError, TCPStats,
)
from .table import FlowTable

__all__ = [
    "FIN", "SYN", "RST", "PSH", "ACK", "URG",
    "MAX_BUFFER_PER_DIRECTION", "MAX_OUT_OF_ORDER_SEGMENTS", "MAX_LIVE_FLOWS", "MAX_TOMBSTONES",
    "MAX_RETRYABLE_CLOSES", "SYN_RETRY_WINDOW", "DEFAULT_IDLE_TIMEOUT", "MAX_SEQ_JUMP",
    "CLOSE_REASONS", "TCPError", "TCPStats", "StreamSink", "Flow", "FlowTable", "Segment",
]
