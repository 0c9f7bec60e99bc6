"""The per-file pipeline: capture -> tcp -> upgrade -> tls, yielding one summary per connection.

Owns the glue between the stages: a `StreamSink` per TCP flow that feeds a
`TLSConnection`, directly when the first bytes look like TLS, else through the
upgrade stage's `Preamble` until it hands over the streams (or gives up); the
filling of each summary's identity (capture, stream, addresses, frames) from the
flow, and of its upgrade columns from the preamble. Summaries come out as flows close (so memory
stays bounded by live flows); `analyze_file` does not sort them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator

from .capture import Capture, CaptureError, CaptureStats, format_address
from .capture.model import FrameCounts
from .capture.reader import MAX_DECOMPRESSED_SIZE
from .tcp import Flow, FlowTable, TCPStats
from .udp import UDPConversationTable
from .tls.certs import CertCache
from .tls.connection import MAX_ERRORS, TLSConnection
from .tls.summary import ConnectionSummary, HandshakeEvent
from .dtls.connection import looks_like_dtls_hello
from .upgrade import FOLLOWING, PLAINTEXT, TLS, UNKNOWN, Preamble, starts_like_tls

if TYPE_CHECKING:
    from .decrypt import AppDataSink, KeyMaterial
    from .parts import Part, PartInfo


@dataclass
class Options:
    """What the user asked for that changes the per-file work."""

    keep_payload: bool = False       # decryption needs record bodies after the handshake
    idle_timeout: float = 600.0
    include_non_tls: bool = True     # rows for TCP connections that carried payload but no TLS
    include_plaintext: bool = False  # ... and, without them, still those of a protocol the upgrade stage recognised
    keys: "KeyMaterial | None" = None  # key logs / RSA keys (analyzer.decrypt): connections with keys are decrypted
    keylog: str | None = None          # path of the first key log given (read by the QUIC table)
    use_capture_secrets: bool = True   # also decrypt TLS with the key logs in pcapng Decryption Secrets Blocks
    # per decrypted connection, (capture name, stream[, transport]) -> where its application data goes
    # (`decrypt`); DTLS connections are asked with transport 'dtls' (their streams are UDP conversations)
    app_data: "Callable[[str, int], AppDataSink | None] | None" = None
    on_connection: "Callable[[ConnectionSummary, object], None] | None" = None  # (summary, Decryptor or None)
    quic: bool = True                # UDP datagrams -> QUIC connections (rows with transport 'quic')
    dtls: bool = True                # UDP datagrams -> DTLS connections (rows with transport 'dtls')
    tcp: bool = True                 # TCP segments -> connections (False: a UDP-only pass, see analyzer.parts)
    events: bool = True              # keep each connection's ladder events (summary.events); rows do not use them
    max_decompressed: int = MAX_DECOMPRESSED_SIZE  # gzip input decompressing to more is an error (a bomb)


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
    part: "PartInfo | None" = None   # reading one part of the file (analyzer.parts)
    frames: FrameCounts | None = None  # frames per link type and those not decoded (a part: its range's)


_UNDECIDED = "undecided"   # `_Sink.up` before the first payload byte


class _Sink:
    """Adapts one TCP flow's callbacks to a TLSConnection (through a Preamble when the
    connection does not start with TLS). `up` is None once bytes go straight to TLS."""

    __slots__ = ("tls", "out", "capture", "decryptor", "opts", "up", "pre", "ports")

    def __init__(self, flow: Flow, out: list[tuple[Flow, ConnectionSummary]], certs: CertCache,
                 opts: Options, capture: str, keys: "KeyMaterial | None" = None) -> None:
        self.decryptor = None
        if keys is not None:
            from .decrypt import Decryptor

            sink = opts.app_data(capture, flow.stream) if opts.app_data is not None else None
            self.decryptor = Decryptor(keys, sink)
        self.tls = TLSConnection(
            cert_cache=certs,
            roles_certain=flow.role_source != "port",
            keep_payload=opts.keep_payload,
            decryptor=self.decryptor,
            record_events=opts.events,
        )
        self.out = out
        self.capture = capture
        self.opts = opts
        self.up: Preamble | str | None = _UNDECIDED
        self.pre: Preamble | None = None   # the preamble, kept for the row once TLS reads the bytes
        self.ports = (flow.client_port, flow.server_port)

    @property
    def wants_payload(self) -> bool:
        up = self.up
        if up is None or up is _UNDECIDED:
            return self.tls.wants_payload
        return up.wants_payload  # type: ignore[union-attr]

    def on_data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        try:
            if self.up is None:
                self.tls.feed(direction, data, frame, ts)
            else:
                self._preamble(direction, data, frame, ts)
        except Exception as e:  # a parser bug must cost one connection, never the run
            if isinstance(self.up, Preamble):
                self.up.plaintext("")  # not followed further
            self.tls.internal_error(direction, e, frame)

    def _preamble(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        up = self.up
        if up is _UNDECIDED:
            if starts_like_tls(direction, data):
                self.up = None  # TLS from the first byte: the upgrade stage costs nothing more
                self.tls.feed(direction, data, frame, ts)
                return
            up = self.up = self.pre = Preamble(self.ports[1], self.ports[0])
        assert isinstance(up, Preamble)
        if up.state != FOLLOWING:
            return  # in clear for good (wants_payload is False): nothing more to read
        up.feed(direction, data, frame, ts)
        if up.state == FOLLOWING or up.state == PLAINTEXT:
            return
        # TLS (from the go-ahead on) or UNKNOWN (every byte as it came): TLS reads the rest
        self.up = None
        for d, chunk, f, t in up.take_tls():
            self.tls.feed(d, chunk, f, t)

    def on_gap(self, direction: int, missing: int, frame: int, ts: float) -> None:
        up = self.up
        if isinstance(up, Preamble) and up.state == FOLLOWING:
            up.end_of_stream()
            if up.state == FOLLOWING:  # nothing recognised yet: TLS judges what there is
                up.state = UNKNOWN
                for d, chunk, f, t in up.take_tls():
                    self.tls.feed(d, chunk, f, t)
                self.up = None
        self.tls.gap(direction, missing, frame, ts)

    def on_fin(self, direction: int, frame: int, ts: float) -> None:
        self.tls.fin(direction, frame, ts)

    def on_rst(self, direction: int, frame: int, ts: float) -> None:
        self.tls.rst(direction, frame, ts)

    def on_overlap_conflict(self, direction: int, frame: int, ts: float) -> None:
        self.tls.overlap_conflict(direction, frame)

    def on_close(self, flow: Flow, reason: str) -> None:
        up = self.pre
        if up is not None and up.state == FOLLOWING and up.handler is None:
            for d, chunk, f, t in up.take_tls():  # too few bytes to recognise: TLS says what it makes of them
                self.tls.feed(d, chunk, f, t)
        s = self.tls.finish(reason)
        fill_identity(s, flow, self.capture)
        if up is not None and up.protocol:
            fill_upgrade(s, up, self.opts.events)
        if self.opts.on_connection is not None:
            self.opts.on_connection(s, self.decryptor)
        self.out.append((flow, s))


def fill_upgrade(s: ConnectionSummary, up: Preamble, events: bool = True) -> None:
    """The upgrade columns, failure and ladder step of a connection that began with a plaintext preamble."""
    s.plaintext_protocol = up.protocol
    s.proxy_target = up.proxy_target
    errors = [n for n in up.notes]
    if up.state == TLS:
        if s.is_tls:
            s.upgraded_from = up.protocol
            s.upgrade_frame = up.upgrade_frame
        else:
            errors.append(f"{up.protocol}: the server's go-ahead in frame {up.upgrade_frame} was not followed by TLS")
    elif up.refusal is not None:
        s.failure = "upgrade_refused"
        s.failure_frame = up.refused_frame
    else:
        s.failure = "not_tls"
        s.failure_frame = None
        if up.reason:
            errors.append(up.reason)
        elif up.state == FOLLOWING or up.state == PLAINTEXT:
            errors.append(f"{up.protocol}: the session ended in clear without a switch to TLS")
        if up.refusal is None and up.offered and not up.reason:
            errors.append(f"{up.protocol}: the server offered TLS; the client never asked")
    if up.state != TLS:
        # the TLS stage saw no byte: its own verdict ('too few bytes ...') does not apply
        s.errors = [e for e in s.errors if not e.startswith("only ")]
    s.errors[:] = (errors + s.errors)[:MAX_ERRORS]
    if events:
        frame, ts = up.request if up.request is not None else (s.first_frame, s.start_time)
        detail = up.step_detail or f"{up.protocol.upper()} in clear"
        if up.state == TLS and up.upgrade_frame is not None:
            detail += " \u2192 go-ahead"
        elif up.refusal is not None:
            detail += f" \u2192 refused ({up.refusal})"
        s.events.insert(0, HandshakeEvent(0, "upgrade", frame, ts, up.base[0], detail))


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
    part: "Part | None" = None,
) -> Iterator[ConnectionSummary]:
    """Yield the summaries of one capture file as its connections finish.

    Raises `CaptureError` when the file cannot be read at all, and after the last
    summary when reading stopped at a bound that makes the file an error (a gzip
    decompression bomb) or when no frame of the file could be decoded (a link type we do
    not read); damage later in the file ends up in `result.capture.warnings`, and frames
    that could not be decoded in one warning line there, at the end. `progress(bytes_read)`
    is called after each chunk read from the file.

    With `part`, only the connections that start in that byte range of the file are
    analysed, to their end, and `result.part` gets what `analyzer.parts.merge` needs
    (stream numbers are the part's own; UDP (QUIC, DTLS) is left out).
    """
    opts = options or Options()
    path = os.fspath(source)
    label = name or os.path.basename(path)
    res = result if result is not None else FileResult(path=path, name=label)
    certs = cert_cache if cert_cache is not None else CertCache()
    out: list[tuple[Flow, ConnectionSummary]] = []
    with Capture(path, name=label, max_decompressed=opts.max_decompressed) as cap:
        res.format = cap.format
        res.capture = cap.stats
        keys = _KeySource(opts, cap, label)
        table = FlowTable(lambda flow: _Sink(flow, out, certs, opts, label, keys.current), idle_timeout=opts.idle_timeout)
        res.tcp = table.stats
        add = table.add if opts.tcp else _ignore
        split = _PartRun(part, cap, table) if part is not None else None
        quic = _udp_table(cap, label, certs, keys, opts) if (opts.quic or opts.dtls) and split is None else None
        cap.summarise(table.segment_filter)  # bulk segments of finished handshakes: counted by the capture
        cap.on_chunk(progress)
        secrets = cap.decryption_secrets
        for seg in cap.segments():
            if len(secrets) != keys.blocks_used:  # a Decryption Secrets Block was read: its key log applies from here
                keys.sync()
            add(seg)
            if out:
                yield from _drain(out, opts, res)
            if quic is not None and quic.finished:  # QUIC connections closed idle or evicted
                yield from _drain_quic(quic, opts, res)
        table.close_all()
        yield from _drain(out, opts, res)
        if quic is not None:
            for s in quic.close_all():
                if not s.is_tls and not opts.include_non_tls:
                    continue
                res.connections += 1
                yield s
        counts = res.frames = cap.frame_counts()
        nothing = None
        if split is None:  # (a part's counts are summed by the merge, which warns once for the file)
            nothing = counts.nothing_decoded()
            line = counts.warning()
            if line is not None and nothing is None:
                cap.stats.warnings.append(line)  # one line per file, even past MAX_WARNINGS
        res.warnings = list(cap.stats.warnings)
        if split is not None:
            res.part = split.finish()
            res.part.frames = counts
        error = cap.error if cap.error is not None else CaptureError(nothing, path) if nothing else None
        if error is not None:  # the file is an error (decompression bomb, nothing decodable): after its rows
            res.error = str(error)
            raise error


def _ignore(seg: object) -> None:
    return None


class _PartRun:
    """The part-mode bookkeeping of `analyze_file` (see `analyzer.parts`)."""

    def __init__(self, part: "Part", cap: Capture, table: FlowTable) -> None:
        from .parts import PartInfo, Recorder

        self.part = part
        self.cap = cap
        self.table = table
        self.info = PartInfo(index=part.index, count=part.count)
        self.recorder = None if part.first else Recorder(self.info)
        table.on_flow_created = self.recorder
        self.live: dict[tuple[bytes, int, bytes, int], Flow] = {}
        self.marked = False
        cap.part(-1 if part.first else part.start, None if part.last else part.end, self._mark)
        cap.on_udp(self._udp)

    def _mark(self, frame: int) -> None:
        """The first packet past the range: keep only the open connections, to their end."""
        table = self.table
        self.marked = True
        self.info.mark_frame = frame
        self.info.created = table.stats.flows
        self.live = table.live_by_key()
        self.info.tombs = table.tombstoned()
        table.freeze(self.cap.stop)

    def _udp(self, frame: int, ts: float, src: bytes, sport: int, dst: bytes, dport: int,
             payload: bytes | memoryview) -> None:
        # a QUIC long header (form and fixed bits) or a DTLS handshake record: the caller runs
        # a UDP pass over the whole file
        if len(payload) >= 7 and (payload[0] & 0xC0 == 0xC0 or looks_like_dtls_hello(payload) is not None):
            self.info.udp = True

    def finish(self) -> "PartInfo":
        info = self.info
        cap = self.cap
        if self.recorder is not None:
            self.recorder.finish()
        if not self.marked:
            info.created = self.table.stats.flows
        for key, f in self.live.items():
            reason = f.close_reason or "end"
            info.live[key] = (None if reason == "end" else f.close_frame, reason)
        info.retry = self.table.retryable()
        if self.table.stats.evicted_capacity:
            info.unsure = "more live flows than the flow table holds (flows were evicted)"
        warnings = cap.stats.warnings
        if cap.skipping:
            info.warnings = []  # no packet in the range: every warning was about the records before it
        else:
            end = cap.warnings_at_mark if cap.warnings_at_mark is not None else len(warnings)
            info.warnings = list(warnings[cap.warnings_at_start:end])
        return info


class _KeySource:
    """The key material in force while one capture is read: the user's, plus the
    capture's own Decryption Secrets Blocks (TLS key logs) from where they appear."""

    def __init__(self, opts: Options, cap: Capture, label: str) -> None:
        self.current: "KeyMaterial | None" = opts.keys if opts.keys is not None and not opts.keys.empty else None
        self._opts = opts
        self._cap = cap
        self._label = label
        self.blocks_used = 0

    def sync(self) -> None:
        if not self._opts.use_capture_secrets:
            self.blocks_used = len(self._cap.decryption_secrets)
            return
        blocks = self._cap.decryption_secrets[self.blocks_used :]
        if blocks:
            from .decrypt import KeyMaterial

            if self.current is None:
                self.current = self._opts.keys if self._opts.keys is not None else KeyMaterial()
            self.current.add_decryption_secrets(blocks, self._label)
        self.blocks_used = len(self._cap.decryption_secrets)

    def secret(self, client_random: bytes, label: str) -> bytes | None:
        """Lookup for QUIC Handshake keys (datagrams arrive while blocks are being read)."""
        if len(self._cap.decryption_secrets) != self.blocks_used:
            self.sync()
        return self.current.secret(client_random, label) if self.current is not None else None


def _udp_table(cap: Capture, label: str, certs: CertCache, keys: _KeySource, opts: Options) -> UDPConversationTable:
    """The UDP conversation table fed by the capture's datagrams: QUIC Handshake keys and DTLS
    decryptors from the run's key material."""

    def decryptor(stream: int) -> "object | None":
        if keys.current is None:
            return None
        from .decrypt import Decryptor

        sink = opts.app_data(label, stream, "dtls") if opts.app_data is not None else None
        return Decryptor(keys.current, sink, dtls=True)

    udp = UDPConversationTable(label, cert_cache=certs, secrets=keys.secret, idle_timeout=opts.idle_timeout,
                               quic=opts.quic, dtls=opts.dtls, decryptors=decryptor, record_events=opts.events,
                               on_connection=opts.on_connection)
    cap.on_udp(udp.datagram)
    return udp


def _drain_quic(quic: UDPConversationTable, opts: Options, res: FileResult) -> Iterator[ConnectionSummary]:
    items, quic.finished = quic.finished, []
    for s in items:
        if not s.is_tls and not opts.include_non_tls:
            continue
        res.connections += 1
        yield s


def _drain(out: list[tuple[Flow, ConnectionSummary]], opts: Options, res: FileResult) -> Iterator[ConnectionSummary]:
    items = out[:]
    out.clear()
    for _flow, s in items:
        if not s.is_tls and not opts.include_non_tls and not (opts.include_plaintext and s.plaintext_protocol):
            continue
        res.connections += 1
        yield s
