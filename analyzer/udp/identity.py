"""The identity of a UDP conversation's row: capture, `udp.stream`, endpoints, frames, times, bytes.

One filler for every connection kind the UDP table hands datagrams to (QUIC, DTLS); it reads
only the fields those connections share (`stream`, `client`, `server` as (address, port),
`frame`/`last_frame`, `ts`/`last_ts`, `bytes` as (client, server)). Kept apart from the
table module so the connections can use it without importing the table that imports them.
"""

from __future__ import annotations

from typing import Any

from ..capture import format_address
from ..tls.summary import ConnectionSummary


def fill_udp_identity(s: ConnectionSummary, conv: Any, capture: str) -> ConnectionSummary:
    """Fill the identity columns of `s` from the UDP connection `conv`; returns `s`."""
    s.capture = capture
    s.stream = conv.stream
    s.client_ip = format_address(conv.client[0])
    s.client_port = conv.client[1]
    s.server_ip = format_address(conv.server[0])
    s.server_port = conv.server[1]
    s.first_frame, s.last_frame = conv.frame, conv.last_frame
    s.start_time, s.end_time = conv.ts, conv.last_ts
    s.bytes_client, s.bytes_server = conv.bytes
    return s
