"""One TCP conversation: `Flow` (identity, roles, per-direction counters, FIN/RST frames) and
the port heuristic that picks the server when no SYN was seen."""

from __future__ import annotations

from .half import HalfStream
from .stats import MODE_CLOSED, MODE_NOSINK, StreamSink

# Server ports above 1024 that are common enough to beat "lower port is server".
_WELL_KNOWN_HIGH_PORTS = frozenset({
    1080, 1433, 1521, 2083, 2087, 2096, 3128, 3306, 3389, 4433, 4443, 5061, 5223,
    5432, 5671, 5986, 6443, 6697, 8000, 8080, 8443, 8883, 8888, 9093, 9443, 10443,
})


class FlowExtra:
    """Per-flow state that half-open flows never need (keeps ``Flow`` small)."""

    __slots__ = ("synack_frame", "fin0", "fin1", "rst_frame", "rst_direction", "h0", "h1",
                 "close_reason", "close_frame")

    def __init__(self) -> None:
        self.synack_frame: int | None = None
        self.fin0: int | None = None
        self.fin1: int | None = None
        self.rst_frame: int | None = None
        self.rst_direction: int | None = None
        self.h0: HalfStream | None = None
        self.h1: HalfStream | None = None
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
                 "role_source", "syn_frame", "_isn0", "_isn1", "_sb", "_mode", "_packets_from_client", "_packets_from_server",
                 "_bytes_from_client", "_bytes_from_server", "sink", "_x", "_fc")

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
        self._mode = MODE_NOSINK
        self._packets_from_client = 0
        self._packets_from_server = 0
        self._bytes_from_client = 0
        self._bytes_from_server = 0
        self.sink: StreamSink | None = None
        self._x: FlowExtra | None = None
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
        return [self._bytes_from_client, self._bytes_from_server]

    @property
    def packets(self) -> list[int]:
        return [self._packets_from_client, self._packets_from_server]

    @property
    def total_packets(self) -> int:
        return self._packets_from_client + self._packets_from_server

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
        return self._mode == MODE_CLOSED

    @property
    def close_reason(self) -> str | None:
        return None if self._x is None else self._x.close_reason

    @property
    def close_frame(self) -> int | None:
        """The frame at which the flow was closed (a port-reusing SYN's, for reason 'reuse')."""
        return None if self._x is None else self._x.close_frame

    def _extra(self) -> FlowExtra:
        x = self._x
        if x is None:
            x = self._x = FlowExtra()
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
        self._packets_from_client, self._packets_from_server = self._packets_from_server, self._packets_from_client
        self._bytes_from_client, self._bytes_from_server = self._bytes_from_server, self._bytes_from_client
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


def dst_is_server(sport: int, dport: int) -> bool:
    """Port heuristic for flows whose SYN was not seen."""
    if sport == dport:
        return True
    s_wk = sport < 1024 or sport in _WELL_KNOWN_HIGH_PORTS
    d_wk = dport < 1024 or dport in _WELL_KNOWN_HIGH_PORTS
    if s_wk != d_wk:
        return d_wk
    return dport < sport

