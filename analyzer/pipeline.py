"""The per-file pipeline: capture -> tcp -> tls, yielding one summary per connection.

Owns the glue between the stages: a `StreamSink` per TCP flow that feeds a
`TLSConnection`, and the filling of each summary's identity (capture, stream,
addresses, frames) from the flow. Summaries come out as flows close (so memory
stays bounded by live flows); `analyze_file` does not sort them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .capture import Capture, CaptureStats, format_address
from .tcp import Flow, FlowTable, TCPStats
from .tls.certs import CertCache
from .tls.connection import TLSConnection
from .tls.summary import ConnectionSummary


@dataclass
class Options:
    """What the user asked for that changes the per-file work."""

    keep_payload: bool = False       # decryption needs record bodies after the handshake
    idle_timeout: float = 600.0
    include_non_tls: bool = True     # rows for TCP connections that carried payload but no TLS


@dataclass
class FileResult:
    """Statistics of one analysed file, complete once its summaries are consumed."""

    path: str
    name: str
    capture: CaptureStats | None = None
    tcp: TCPStats | None = None
    format: str = ""
    connections: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


class _Sink:
    """Adapts one TCP flow's callbacks to a TLSConnection."""

    __slots__ = ("tls", "out", "capture")

    def __init__(self, flow: Flow, out: list[tuple[Flow, ConnectionSummary]], certs: CertCache,
                 opts: Options, capture: str) -> None:
        self.tls = TLSConnection(
            cert_cache=certs,
            roles_certain=flow.role_source != "port",
            keep_payload=opts.keep_payload,
        )
        self.out = out
        self.capture = capture

    @property
    def wants_payload(self) -> bool:
        return self.tls.wants_payload

    def on_data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        try:
            self.tls.feed(direction, data, frame, ts)
        except Exception as e:  # a parser bug must cost one connection, never the run
            self.tls.internal_error(direction, e, frame)

    def on_gap(self, direction: int, missing: int, frame: int, ts: float) -> None:
        self.tls.gap(direction, missing, frame, ts)

    def on_fin(self, direction: int, frame: int, ts: float) -> None:
        self.tls.fin(direction, frame, ts)

    def on_rst(self, direction: int, frame: int, ts: float) -> None:
        self.tls.rst(direction, frame, ts)

    def on_close(self, flow: Flow, reason: str) -> None:
        s = self.tls.finish(reason)
        fill_identity(s, flow, self.capture)
        self.out.append((flow, s))


def fill_identity(s: ConnectionSummary, flow: Flow, capture: str) -> None:
    c_addr, c_port, s_addr, s_port = flow.client_addr, flow.client_port, flow.server_addr, flow.server_port
    b_c, b_s = flow.bytes[0], flow.bytes[1]
    if s.roles_swapped:
        c_addr, c_port, s_addr, s_port = s_addr, s_port, c_addr, c_port
        b_c, b_s = b_s, b_c
    s.capture = capture
    s.stream = flow.stream
    s.client_ip = format_address(c_addr)
    s.client_port = c_port
    s.server_ip = format_address(s_addr)
    s.server_port = s_port
    s.first_frame = flow.first_frame
    s.last_frame = flow.last_frame
    s.start_time = flow.start_ts
    s.end_time = flow.last_ts
    s.bytes_client = b_c
    s.bytes_server = b_s


def analyze_file(
    source: str | os.PathLike,
    *,
    name: str | None = None,
    options: Options | None = None,
    result: FileResult | None = None,
    cert_cache: CertCache | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[ConnectionSummary]:
    """Yield the summaries of one capture file as its connections finish.

    Raises `CaptureError` only when the file cannot be read at all; damage later
    in the file ends up in `result.capture.warnings`. `progress(bytes_read)` is
    called every 16,384 segments.
    """
    opts = options or Options()
    path = os.fspath(source)
    label = name or os.path.basename(path)
    res = result if result is not None else FileResult(path=path, name=label)
    certs = cert_cache if cert_cache is not None else CertCache()
    out: list[tuple[Flow, ConnectionSummary]] = []
    with Capture(path, name=label) as cap:
        res.format = cap.format
        res.capture = cap.stats
        table = FlowTable(lambda flow: _Sink(flow, out, certs, opts, label), idle_timeout=opts.idle_timeout)
        res.tcp = table.stats
        add = table.add
        stats = cap.stats
        n = 0
        for seg in cap.segments():
            add(seg)
            if out:
                yield from _drain(out, opts, res)
            n += 1
            if progress is not None and not n & 0x3FFF:
                progress(stats.bytes_read)
        table.close_all()
        yield from _drain(out, opts, res)
        res.warnings = list(cap.stats.warnings)


def _drain(out: list[tuple[Flow, ConnectionSummary]], opts: Options, res: FileResult) -> Iterator[ConnectionSummary]:
    items = out[:]
    out.clear()
    for _flow, s in items:
        if not s.is_tls and not opts.include_non_tls:
            continue
        res.connections += 1
        yield s
