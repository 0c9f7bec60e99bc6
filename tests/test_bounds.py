"""Every resource bound of the analyzer, crossed: each named constant has a test here (or says where).

README.md "Bounds" lists them with their defaults and what happens when one is crossed;
`test_every_bound_is_documented` keeps that table and the constants in step. Hostile
inputs that are not about one bound (1-byte segments, snaplen cuts, conflicting
retransmissions ...) are in test_hostile.py.
"""

from __future__ import annotations

import gzip
import io
import re
import struct
import tracemalloc
from pathlib import Path

import pytest

from analyzer.capture import Capture, CaptureError
from analyzer.capture import linklayer, reader
from analyzer.capture.model import MAX_WARNINGS
from analyzer.decrypt import Decryptor, KeyMaterial
from analyzer.decrypt import keys as keys_mod
from analyzer.decrypt import session as session_mod
from analyzer.pipeline import FileResult, Options, analyze_file
from analyzer.quic import connection as quic_conn
from analyzer.quic.connection import _CryptoStream
from analyzer import udp as udp_table
from analyzer.udp import UDPConversationTable as QUICFlowTable
from analyzer.quic.packets import QUICDecodeError
from analyzer.report import table as table_mod
from analyzer.report.table import TableBuilder
from analyzer.tcp import (
    MAX_BUFFER_PER_DIRECTION, MAX_LIVE_FLOWS, MAX_OUT_OF_ORDER_SEGMENTS, MAX_RETRYABLE_CLOSES, MAX_SEQ_JUMP,
    SYN_RETRY_WINDOW, Flow, FlowTable,
)
from analyzer.tls import connection as conn_mod
from analyzer.tls import fingerprints as fp_mod
from analyzer.tls import messages as msg_mod
from analyzer.tls.certs import CertCache
from analyzer.tls.connection import (
    MAX_ERRORS, MAX_EVENTS, NAME_CACHE_MAX_LIST, TLSConnection,
)
from analyzer.upgrade.proxy import MAX_HTTP_HEAD
from analyzer.tls.fingerprints import MAX_DISTINCT_COUNTED, FingerprintTally
from analyzer.tls.messages import (
    MAX_CERTIFICATES, MAX_EXTENSION_ERRORS, MAX_EXTENSIONS, MAX_LIST_ITEMS, MAX_NAME_LENGTH,
)
from analyzer.tls.summary import ConnectionSummary

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
SHARED = ROOT.parent / "shared" / "captures"

C4, S4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


# --------------------------------------------------------------------------- TLS wire helpers
# Hand-made on purpose: these are the hostile shapes real stacks never send.

def u8(v: int) -> bytes:
    return v.to_bytes(1, "big")


def u16(v: int) -> bytes:
    return v.to_bytes(2, "big")


def u24(v: int) -> bytes:
    return v.to_bytes(3, "big")


def handshake(msg_type: int, body: bytes) -> bytes:
    return u8(msg_type) + u24(len(body)) + body


def records(content_type: int, data: bytes, size: int = 16384) -> bytes:
    """``data`` as TLS 1.2 records of at most ``size`` bytes (an empty ``data`` is one empty record)."""
    chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    return b"".join(u8(content_type) + b"\x03\x03" + u16(len(c)) + c for c in chunks)


def extension(ext_type: int, body: bytes) -> bytes:
    return u16(ext_type) + u16(len(body)) + body


def client_hello(*, suites: list[int] | None = None, exts: bytes = b"", session_id: bytes = b"",
                 random: bytes = bytes(range(32)), no_extensions: bool = False) -> bytes:
    suites = [0x1301, 0xC02F] if suites is None else suites
    body = (u16(0x0303) + random + u8(len(session_id)) + session_id + u16(2 * len(suites))
            + b"".join(u16(s) for s in suites) + b"\x01\x00")
    if not no_extensions:
        body += u16(len(exts)) + exts
    return handshake(1, body)


def server_hello(suite: int = 0xC02F, exts: bytes = b"", random: bytes = bytes(32)) -> bytes:
    return handshake(2, u16(0x0303) + random + b"\x00" + u16(suite) + b"\x00" + u16(len(exts)) + exts)


def sni(name: bytes) -> bytes:
    entry = b"\x00" + u16(len(name)) + name
    return extension(0, u16(len(entry)) + entry)


def run_tls(client: bytes = b"", server: bytes = b"", cut: int | None = None) -> ConnectionSummary:
    """Feed client bytes, then server bytes (in pieces of ``cut`` bytes), and finish."""
    tls = TLSConnection()
    for d, data in ((0, client), (1, server)):
        step = cut or max(1, len(data))
        for i in range(0, len(data), step):
            tls.feed(d, data[i:i + step], 1 + i // step, 1.0)
    return tls.finish("end")


# --------------------------------------------------------------------------- TLS bounds

def test_max_extensions_kept_and_counted() -> None:
    """An extension block as full as 16 bits allow (16,383 empty extensions): 1,024 kept, all counted."""
    n = 0xFFFF // 4
    ch = client_hello(exts=extension(0x7A7A, b"") * n)
    parsed = msg_mod.pull_client_hello(ch[4:])
    assert parsed.extensions.count == n > MAX_EXTENSIONS
    assert len(parsed.extensions.raw) == MAX_EXTENSIONS
    s = run_tls(records(22, ch))
    assert len(s.extensions_offered) == MAX_EXTENSIONS and s.ja4 and s.ja3


def test_undecodable_extensions_are_described_up_to_a_bound() -> None:
    bad = extension(43, b"\x05")  # supported_versions with an odd length
    parsed = msg_mod.pull_client_hello(client_hello(exts=bad * 5000)[4:])
    assert len(parsed.extensions.errors) == MAX_EXTENSION_ERRORS
    s = run_tls(records(22, client_hello(exts=bad * 5000)))
    assert 0 < len(s.errors) <= MAX_ERRORS


def test_max_list_items() -> None:
    """32,767 cipher suites (the most a ClientHello can carry): 4,096 kept, over several records."""
    suites = [0x0A0A + i for i in range(0x7FFF)]
    s = run_tls(records(22, client_hello(suites=suites)))
    assert s.client_hello_frame is not None
    assert len(s.cipher_suites_offered) == MAX_LIST_ITEMS


def test_long_lists_are_named_without_the_caches() -> None:
    """Name and fingerprint caches keep only short lists (a hostile hello must not pin megabytes)."""
    conn_mod._NAME_CACHE.clear()
    fp_mod._CH_CACHE.clear()
    for k in range(3):
        run_tls(records(22, client_hello(suites=[0x1000 + k + i for i in range(2000)])))
    assert all(len(key[1]) <= NAME_CACHE_MAX_LIST for key in conn_mod._NAME_CACHE)
    assert all(len(key[3]) <= fp_mod.CACHE_MAX_ITEMS for key in fp_mod._CH_CACHE)
    run_tls(records(22, client_hello(suites=[0x1301, 0x1302])))
    assert fp_mod._CH_CACHE and conn_mod._NAME_CACHE  # short ones are still cached


def test_max_name_length() -> None:
    s = run_tls(records(22, client_hello(exts=sni(b"a" * 5000))))
    assert s.sni == "a" * MAX_NAME_LENGTH


def test_max_certificates() -> None:
    """A Certificate message listing 3,000 certificates: all counted, 64 kept and parsed."""
    junk = b"\x30\x03\x02\x01\x00"
    certs = b"".join(u24(len(junk)) + junk for _ in range(3000))
    server = records(22, server_hello() + handshake(11, u24(len(certs)) + certs))
    s = run_tls(records(22, client_hello()), server)
    assert s.cert_count == 3000
    assert len(s.cert_chain) == MAX_CERTIFICATES
    assert len(s.errors) <= MAX_ERRORS


def test_max_events_and_errors() -> None:
    """1,000 records after the ClientHello: the ladder keeps MAX_EVENTS, errors stop at MAX_ERRORS."""
    client = records(22, client_hello()) + records(23, b"x" * 20) * 1000
    s = run_tls(client)
    assert s.early_data_records == 1000
    assert len(s.events) == MAX_EVENTS
    server = records(22, client_hello()) * 100  # a ClientHello from the server side is an error, each time
    s = run_tls(records(22, client_hello()), server)
    assert len(s.errors) == MAX_ERRORS


def test_max_http_head() -> None:
    from analyzer.upgrade import PLAINTEXT, Preamble

    p = Preamble(3128)
    p.feed(0, b"CONNECT host:443 HTTP/1.1\r\n" + b"X: " + b"y" * (MAX_HTTP_HEAD + 10), 1, 1.0)
    assert p.state == PLAINTEXT and p.protocol == "http_connect" and str(MAX_HTTP_HEAD) in p.reason


def test_record_and_handshake_length_bounds() -> None:
    """A record header claiming more than MAX_RECORD_LENGTH, a handshake header more than MAX_HANDSHAKE_MESSAGE."""
    s = run_tls(b"\x16\x03\x01" + u16(conn_mod.MAX_RECORD_LENGTH + 1) + b"\x01" * 10)
    assert s.failure.startswith("malformed: invalid record header") and s.failure_frame == 1
    s = run_tls(records(22, u8(1) + u24(conn_mod.MAX_HANDSHAKE_MESSAGE + 1)))
    assert s.failure.startswith("malformed") and "cap" in s.failure


def test_cert_cache_is_bounded() -> None:
    cache = CertCache(size=8)
    for i in range(20):
        cache.get(b"\x30\x03\x02\x01" + bytes([i]))
    assert len(cache._items) == 8 and cache.parsed == 20


# --------------------------------------------------------------------------- TCP bounds

class Sink:
    def __init__(self, flow: Flow) -> None:
        self.wants_payload = True
        self.data = bytearray()
        self.gaps: list[int] = []
        self.closed: list[str] = []
        self.conflicts: list[int] = []

    def on_data(self, d: int, data: bytes, frame: int, ts: float) -> None:
        self.data += data

    def on_gap(self, d: int, missing: int, frame: int, ts: float) -> None:
        self.gaps.append(missing)

    def on_fin(self, d: int, frame: int, ts: float) -> None:
        pass

    def on_rst(self, d: int, frame: int, ts: float) -> None:
        pass

    def on_close(self, flow: Flow, reason: str) -> None:
        self.closed.append(reason)

    def on_overlap_conflict(self, d: int, frame: int, ts: float) -> None:
        self.conflicts.append(frame)


def table(**kw) -> tuple[FlowTable, list[Sink]]:
    sinks: list[Sink] = []

    def factory(flow: Flow) -> Sink:
        sinks.append(Sink(flow))
        return sinks[-1]

    return FlowTable(factory, **kw), sinks


def seg(frame: int, seq: int, payload: bytes = b"", flags: int = 0x18, sport: int = 50000,
        src: bytes = C4, ts: float = 1.0) -> tuple:
    return (frame, ts, src, sport, S4, 443, seq, 0, flags, payload, len(payload))


def test_out_of_order_segments_are_capped_by_count() -> None:
    """A hole, then 20,000 one-byte segments beyond it in descending order: at most
    MAX_OUT_OF_ORDER_SEGMENTS wait; past that the hole is a gap (no quadratic work, no memory blow-up)."""
    t, sinks = table()
    t.add(seg(1, 1000, b"A"))
    n = 20_000
    for k in range(n, 0, -1):
        t.add(seg(n - k + 2, 1001 + 10 + k, b"b"))
        h = t.flows()[0]._x.h0
        assert len(h.buf) <= MAX_OUT_OF_ORDER_SEGMENTS
    assert t.stats.buffer_overflows >= 1 and sinks[0].gaps


def test_out_of_order_bytes_are_capped_at_the_default() -> None:
    t, sinks = table()
    t.add(seg(1, 1000, b"A"))
    chunk = b"z" * 1460
    for k in range(MAX_BUFFER_PER_DIRECTION // len(chunk) + 10):
        t.add(seg(k + 2, 1001 + 5000 + k * len(chunk), chunk))
        assert t.flows()[0]._x.h0.buffered <= MAX_BUFFER_PER_DIRECTION
    assert t.stats.buffer_overflows >= 1 and sinks[0].gaps[0] == 5000


def test_segments_beyond_the_window_are_ignored() -> None:
    t, sinks = table()
    t.add(seg(1, 1000, b"A"))
    t.add(seg(2, 1001 + MAX_SEQ_JUMP + 10, b"far"))
    assert t.stats.out_of_window == 1 and not t.flows()[0]._x.h0.buf and not sinks[0].gaps


def _syn(i: int, ts: float) -> tuple:
    return (i + 1, ts, bytes([11, (i >> 16) & 255, (i >> 8) & 255, i & 255]), 40000 + i % 20000, S4, 443,
            i, 0, 0x02, b"", 0)


def test_syn_flood_memory_stays_bounded() -> None:
    """100,000 half-open connections at the default bounds: well under 1 KB each, no sink, no buffer."""
    t, sinks = table()
    tracemalloc.start()
    try:
        for i in range(100_000):
            t.add(_syn(i, 1.0 + i * 1e-5))
        _cur, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert t.live_flows <= MAX_LIVE_FLOWS and not sinks
    assert peak < 100_000 * 1024


def test_live_flows_are_capped_longest_idle_first() -> None:
    t, sinks = table(max_flows=1000)
    t.add(seg(1, 5000, b"\x16\x03\x01", sport=1, ts=0.5))          # an old flow with payload: evicted first
    for i in range(100_000):
        t.add(_syn(i, 1.0 + i * 1e-5))
        assert t.live_flows <= 1000
    assert t.stats.evicted_capacity >= 99_000
    assert sinks[0].closed == ["evicted"]


def test_evicted_connection_row_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the pipeline: a connection evicted mid-handshake is a row with failure 'evicted'."""
    import analyzer.pipeline as pl

    class SmallTable(FlowTable):
        def __init__(self, *a, **kw) -> None:
            super().__init__(*a, max_flows=4, **kw)

    frames = [(1.0, _tcp_frame(C4, 50000, 1000, records(22, client_hello()), 0x18))]
    frames += [(2.0 + i, _tcp_frame(bytes([12, 0, 0, i + 1]), 40000, 7, b"", 0x02)) for i in range(10)]
    path = tmp_path / "evict.pcap"
    path.write_bytes(_raw_pcap(frames))
    monkeypatch.setattr(pl, "FlowTable", SmallTable)
    rows = list(analyze_file(path))
    assert [r.failure for r in rows] == ["evicted"] and rows[0].close_reason == "evicted"
    assert any("not followed" in e for e in rows[0].errors)


# --------------------------------------------------------------------------- capture bounds

def _tcp_frame(src: bytes, sport: int, seq: int, payload: bytes, flags: int, dst: bytes = S4,
               dport: int = 443) -> bytes:
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, 0, 0x50, flags, 65535, 0, 0) + payload
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst) + tcp


def _raw_pcap(frames: list[tuple[float, bytes]], snaplen: int = 65535, lengths: dict | None = None) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 101)]
    for i, (t, f) in enumerate(frames):
        incl = (lengths or {}).get(i, len(f))
        out.append(struct.pack("<IIII", int(t), int((t % 1) * 1e6), incl, len(f)) + f)
    return b"".join(out)


def _conversation_frames(port: int, t0: float) -> list[tuple[float, bytes]]:
    """A ClientHello and a ServerHello on one connection (enough for a TLS row)."""
    return [(t0, _tcp_frame(C4, port, 1000, records(22, client_hello()), 0x18)),
            (t0 + 0.1, _tcp_frame(S4, 443, 5000, records(22, server_hello()), 0x18, dst=C4, dport=port))]


def test_implausible_record_length_resumes_after_the_damage(tmp_path: Path) -> None:
    """A 2 GB claimed pcap record length between two connections: both are read, the warning names the frame."""
    junk = (1_700_000_000.5, _tcp_frame(C4, 7, 1, b"junk" * 20, 0x18))
    frames = _conversation_frames(50001, 1_700_000_000.0) + [junk] + _conversation_frames(50002, 1_700_000_001.0)
    path = tmp_path / "damaged.pcap"
    path.write_bytes(_raw_pcap(frames, lengths={2: 0x80000000}))
    res = FileResult(path=str(path), name=path.name)
    rows = list(analyze_file(path, result=res))
    assert sorted(r.client_port for r in rows if r.client_hello_frame) == [50001, 50002]
    assert any(w.startswith("frame 3: implausible captured length 2147483648") for w in res.warnings)
    assert any("resumed after skipping" in w for w in res.warnings)


def test_record_longer_than_snaplen_and_plausible_frame_is_damage() -> None:
    """With snaplen 65535, a record claiming MAX_PLAUSIBLE_FRAME + 1 bytes (less than MAX_RECORD) is damage too."""
    junk = (1_700_000_000.5, _tcp_frame(C4, 7, 1, b"junk" * 20, 0x18))
    frames = _conversation_frames(50001, 1_700_000_000.0) + [junk] + _conversation_frames(50002, 1_700_000_001.0)
    cap = Capture(io.BytesIO(_raw_pcap(frames, lengths={2: reader.MAX_PLAUSIBLE_FRAME + 1})))
    ports = {s[3] for s in cap.segments() if s[9]}
    assert ports == {50001, 50002, 443}
    assert any(f"implausible captured length {reader.MAX_PLAUSIBLE_FRAME + 1}" in w for w in cap.stats.warnings)
    # a file whose snaplen says so may have records that long
    cap = Capture(io.BytesIO(_raw_pcap([(1_700_000_000.0, bytes(reader.MAX_PLAUSIBLE_FRAME + 1))], snaplen=1 << 20)))
    list(cap.segments())
    assert cap.stats.frames == 1 and not any("implausible" in w for w in cap.stats.warnings)


def test_pcapng_block_length_damage_resumes(tmp_path: Path) -> None:
    def block(btype: int, body: bytes, blen: int | None = None) -> bytes:
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, blen or n) + body + struct.pack("<I", n)

    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = block(1, struct.pack("<HHI", 101, 0, 0))

    def epb(t: float, data: bytes, blen: int | None = None) -> bytes:
        us = int(t * 1e6)
        return block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(data), len(data)) + data, blen)

    a = _conversation_frames(50001, 1_700_000_000.0)
    b = _conversation_frames(50002, 1_700_000_001.0)
    data = shb + idb + b"".join(epb(t, f) for t, f in a) + epb(5.0, b"junk" * 10, blen=0x80000000) \
        + b"".join(epb(t, f) for t, f in b)
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(data)
    res = FileResult(path=str(path), name=path.name)
    rows = list(analyze_file(path, result=res))
    assert sorted(r.client_port for r in rows) == [50001, 50002]
    assert any("frame 3: bad pcapng block length 2147483648" in w for w in res.warnings)


def test_resync_scan_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_RESYNC_SCAN", 1000)
    frames = _conversation_frames(50001, 1_700_000_000.0)
    cap = Capture(io.BytesIO(_raw_pcap(frames, lengths={1: 0x80000000}) + bytes(50_000)))
    list(cap.segments())
    assert any("no plausible record" in w for w in cap.stats.warnings)


def test_decompression_bomb_is_an_error_after_the_rows(tmp_path: Path) -> None:
    """A gzip capture decompressing past the bound: rows read so far come out, then CaptureError."""
    frames = _conversation_frames(50001, 1_700_000_000.0)
    plain = _raw_pcap(frames)
    bomb = plain + struct.pack("<IIII", 1_700_000_002, 0, 60, 60) + bytes(60)
    bomb += (struct.pack("<IIII", 1_700_000_002, 0, 0, 0)) * (1 << 20)   # 16 MiB of empty records
    path = tmp_path / "bomb.pcap.gz"
    path.write_bytes(gzip.compress(bomb, 9))
    assert path.stat().st_size < 1 << 20
    got = []
    with pytest.raises(CaptureError, match="decompressed size exceeds"):
        for s in analyze_file(path, options=Options(max_decompressed=1 << 20)):
            got.append(s)
    assert [s.client_port for s in got] == [50001]
    # the default is big enough for real captures and it is what Options uses
    assert Options().max_decompressed == reader.MAX_DECOMPRESSED_SIZE >= 1 << 30


def test_decompression_bomb_keeps_rows_in_batch_mode(tmp_path: Path) -> None:
    from analyzer.batch import process_file

    plain = _raw_pcap(_conversation_frames(50001, 1_700_000_000.0))
    path = tmp_path / "bomb.pcap.gz"
    path.write_bytes(gzip.compress(plain + bytes(16 << 20), 9))
    out = process_file(0, str(path), path.name, Options(max_decompressed=1 << 20))
    assert out.error and "decompressed size exceeds" in out.error and len(out.rows) == 1


def test_too_many_interfaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_INTERFACES", 4)

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    data = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    data += b"".join(block(1, struct.pack("<HHI", 101, 0, 0)) for _ in range(50))
    frame = _tcp_frame(C4, 50000, 1, b"hello", 0x18)
    for iface in (0, 3, 4, 40):
        data += block(6, struct.pack("<IIIII", iface, 0, 0, len(frame), len(frame)) + frame)
    cap = Capture(io.BytesIO(data))
    segs = list(cap.segments())
    assert len(segs) == 2  # interfaces 0 and 3; 4 stands for the ignored ones, 40 is undefined
    assert any("more than 4 interfaces" in w for w in cap.stats.warnings)


def test_decryption_secrets_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_SECRETS_BYTES", 100)

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    data = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    for _ in range(3):
        data += block(0x0A, struct.pack("<II", 0x544C534B, 80) + b"#" * 80)
    cap = Capture(io.BytesIO(data))
    list(cap.segments())
    assert len(cap.decryption_secrets) == 1
    assert any("decryption secrets beyond 100 bytes" in w for w in cap.stats.warnings)


def test_warnings_per_file_are_capped() -> None:
    """MAX_WARNINGS is crossed in test_capture.py::test_warnings_are_capped; here through the resync path."""
    frames = [(1_700_000_000.0 + i, _tcp_frame(C4, 7, 1, b"x", 0x18)) for i in range(3 * MAX_WARNINGS)]
    cap = Capture(io.BytesIO(_raw_pcap(frames, lengths={i: 0x80000000 for i in range(0, 3 * MAX_WARNINGS, 3)})))
    segs = list(cap.segments())
    assert len(segs) == 2 * MAX_WARNINGS  # every undamaged frame is read
    assert len(cap.stats.warnings) == MAX_WARNINGS and cap.stats.warnings_dropped > 0


def test_undecodable_kinds_per_file_are_bounded(tmp_path: Path) -> None:
    """MAX_UNDECODABLE_KINDS (also crossed in test_linklayers.py::test_undecodable_kinds_are_bounded):
    frames of more ethertypes we do not read are counted as one further kind, and the file's
    one warning line names the kinds kept."""
    from analyzer.capture.model import MAX_UNDECODABLE_KINDS

    kinds = MAX_UNDECODABLE_KINDS + 3
    frames = [(1_700_000_000.0 + i, b"\x02" * 12 + struct.pack(">H", 0xB000 + i) + b"\0" * 46) for i in range(kinds)]
    frames.append((1_700_000_100.0, b"\x02" * 12 + b"\x08\x00" + _tcp_frame(C4, 7, 1, b"x", 0x18)))
    data = bytearray(_raw_pcap(frames))
    struct.pack_into("<I", data, 20, 1)  # link type Ethernet
    path = tmp_path / "kinds.pcap"
    path.write_bytes(bytes(data))
    res = FileResult(path=str(path), name=path.name)
    list(analyze_file(path, result=res))
    u = res.capture.undecodable
    assert len(u) == MAX_UNDECODABLE_KINDS + 1 and u[("other", 0)] == 3
    lines = [w for w in res.warnings if "could not be decoded" in w]
    assert len(lines) == 1 and lines[0].startswith(f"{kinds} of {kinds + 1} frames")
    assert lines[0].count("ethertype 0x") == MAX_UNDECODABLE_KINDS and lines[0].endswith("further kinds: 3 frames")


def test_fragment_bounds() -> None:
    from analyzer.capture.model import CaptureStats

    st = CaptureStats()
    r = linklayer.FragmentReassembler(st)
    assert (r.max_pending, r.timeout, r.max_size) == (linklayer.MAX_PENDING_FRAGMENTS, linklayer.FRAGMENT_TIMEOUT,
                                                       linklayer.MAX_DATAGRAM_SIZE)
    for i in range(linklayer.MAX_PENDING_FRAGMENTS + 10):              # never completed
        r.add(i, ("k", i), 1.0, 0, True, b"x" * 8, 6)
    assert len(r.pending) == linklayer.MAX_PENDING_FRAGMENTS
    r.add(10_000, ("late",), 1.0 + linklayer.FRAGMENT_TIMEOUT + 1, 0, True, b"x" * 8, 6)
    assert list(r.pending) == [("late",)]
    malformed = st.malformed
    assert r.add(10_001, ("big",), 100.0, linklayer.MAX_DATAGRAM_SIZE, True, b"x" * 8, 6) is None
    assert st.malformed == malformed + 1 and ("big",) not in r.pending


def test_tunnel_depth_is_bounded() -> None:
    from analyzer.capture.linklayer import FrameDecoder
    from analyzer.capture.model import CaptureStats

    inner = _tcp_frame(C4, 50000, 1, b"x", 0x18)
    pkt = inner
    for _ in range(linklayer.MAX_TUNNEL_DEPTH + 5):  # IP-in-IP, deeper than the bound
        pkt = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(pkt), 0, 0, 64, 4, 0, C4, S4) + pkt
    assert FrameDecoder(CaptureStats()).decode(1, 0.0, 101, pkt) is None
    assert FrameDecoder(CaptureStats()).decode(1, 0.0, 101, inner) is not None


# --------------------------------------------------------------------------- QUIC bounds

def test_udp_conversations_are_capped() -> None:
    q = QUICFlowTable("x", max_conversations=100)
    for i in range(10_000):
        q.datagram(i + 1, 1.0, C4, 1024 + i, S4, 53, b"\x00dns")
        assert len(q.streams) <= 100
    assert q.evicted == 9_900


def test_udp_conversations_default_cap() -> None:
    q = QUICFlowTable("x")
    for i in range(udp_table.MAX_UDP_CONVERSATIONS + 5):
        q.datagram(i + 1, 1.0, bytes([10, 1, i >> 16 & 255, i >> 8 & 255]), 1024 + (i & 255), S4, 53, b"")
    assert len(q.streams) == udp_table.MAX_UDP_CONVERSATIONS and q.evicted == 5


def test_udp_conversations_idle_out() -> None:
    q = QUICFlowTable("x", idle_timeout=10.0)
    q.datagram(1, 1.0, C4, 1000, S4, 53, b"a")
    q.datagram(2, 20.0, C4, 1001, S4, 53, b"b")
    assert len(q.streams) == 1
    q.datagram(3, 21.0, C4, 1000, S4, 53, b"c")   # the first 4-tuple again: a new conversation
    assert sorted(e[0] for e in q.streams.values()) == [1, 2]


def test_quic_connection_closed_idle_comes_out_early() -> None:
    """A real QUIC handshake, then a datagram 601 s later: the connection's row comes out early, unchanged."""
    path = SHARED / "suricata" / "quic-ietf" / "input.pcap"
    if not path.exists():
        pytest.skip("shared QUIC capture not available")
    dgs: list[tuple] = []
    cap = Capture(path)
    cap.on_udp(lambda fr, ts, s, sp, d, dp, p: dgs.append((fr, ts, bytes(s), sp, bytes(d), dp, bytes(p))))
    list(cap.segments())
    at_end = QUICFlowTable("x")
    early = QUICFlowTable("x")
    for dg in dgs:
        at_end.datagram(*dg)
        early.datagram(*dg)
    early.datagram(10**6, max(d[1] for d in dgs) + 601, C4, 9, S4, 9, b"")
    assert early.finished and not early.conns
    got = {s.stream: s for s in early.close_all()}
    want = {s.stream: s for s in at_end.close_all()}
    assert got.keys() == want.keys()
    for k, s in want.items():
        assert (got[k].sni, got[k].version, got[k].ja4, got[k].close_reason) == (s.sni, s.version, s.ja4, "idle")


def test_crypto_stream_bounds() -> None:
    cs = _CryptoStream()
    with pytest.raises(QUICDecodeError):
        cs.add(quic_conn.MAX_CRYPTO_OFFSET + 1, b"x")
    cs = _CryptoStream()
    with pytest.raises(QUICDecodeError):
        cs.add(10, b"x" * (quic_conn.MAX_CRYPTO_BUFFER + 1))
    cs = _CryptoStream()
    with pytest.raises(QUICDecodeError):
        for k in range(quic_conn.MAX_CRYPTO_FRAGMENTS + 1):
            cs.add(2 + 2 * k, b"y")
    assert len(cs.pending) == quic_conn.MAX_CRYPTO_FRAGMENTS


# --------------------------------------------------------------------------- decryption bounds

def test_transcript_bound_gives_up_with_a_reason() -> None:
    km = KeyMaterial()
    cr = bytes(range(32))
    km.secrets[cr] = {"CLIENT_RANDOM": bytes(48)}
    dec = Decryptor(km)
    ch = client_hello(random=cr)
    dec.handshake(0, 1, ch[4:], 1, 0.0)
    dec.handshake(1, 2, server_hello()[4:], 2, 0.0)
    big = bytes(1 << 20)
    for i in range(session_mod.MAX_TRANSCRIPT // len(big) + 1):
        dec.handshake(1, 22, big, 3 + i, 0.0)
    assert dec.status == "handshake_error" and any("transcript" in e for e in dec.errors)


def test_remembered_sessions_are_bounded() -> None:
    km = KeyMaterial()
    for i in range(keys_mod.MAX_SESSIONS + 10):
        km.remember("S", i.to_bytes(4, "big"), b"m" * 48)
    assert len(km._sessions) == keys_mod.MAX_SESSIONS
    assert km.recall("S", (0).to_bytes(4, "big")) is None


def test_key_material_problems_are_bounded() -> None:
    km = KeyMaterial()
    km.add_keylog_text("\n".join(f"CLIENT_RANDOM nothex{i} x" for i in range(500)), "k.txt")
    assert len(km.problems) == keys_mod.MAX_PROBLEMS + 1 and "not shown" in km.problems[-1]


# --------------------------------------------------------------------------- report bounds

def test_interned_list_values_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_mod, "MAX_INTERNED", 5)
    tb = TableBuilder()
    for i in range(50):
        s = ConnectionSummary(stream=i)
        s.cipher_suites_offered = [f"S{i}"]
        tb.add(s)
    assert len(tb._intern) <= 5 + len(table_mod.LIST_COLUMNS)
    idx = table_mod.COLUMN_NAMES.index("cipher_suites_offered")
    assert [r[idx] for r in tb.table().rows] == [(f"S{i}",) for i in range(50)]


def test_fingerprint_tally_counts_are_bounded() -> None:
    t = FingerprintTally(("ja4",))
    for i in range(MAX_DISTINCT_COUNTED + 200):
        s = ConnectionSummary(server_ip="10.0.0.2", server_port=443)
        s.ja4, s.sni = "t13d_x", f"h{i}.test"
        t.add(s)
    row = t.rows()[0]
    assert row.count == MAX_DISTINCT_COUNTED + 200 and row.sni_count == MAX_DISTINCT_COUNTED


def test_max_rows_in_memory_spills_sorted_runs_and_reads_them_back(monkeypatch, tmp_path) -> None:
    """Past MAX_ROWS_IN_MEMORY rows the table goes to disk in sorted runs; every writer gives
    the same output as from memory, and the runs' folder is gone once the table is."""
    import gc
    import glob
    import os
    import tempfile

    from typer.testing import CliRunner

    from analyzer.cli import app

    def run(fmt: str, out: str) -> str:
        r = CliRunner().invoke(app, ["connections", str(CAPTURES), str(SHARED / "ja4"), "-f", fmt,
                                     "-o", out, "-q", "-j", "1"])
        assert r.exit_code == 0, r.output
        return out

    before = {f: Path(run(f, str(tmp_path / f"mem.{f}"))).read_bytes() for f in ("csv", "jsonl", "parquet")}
    monkeypatch.setattr(table_mod, "MAX_ROWS_IN_MEMORY", 7)
    spilled = TableBuilder()
    for p in sorted(CAPTURES.glob("*.pcap*")):
        for s in analyze_file(p):
            spilled.add(s)
    rows = spilled.table()
    assert len(spilled._runs.files) >= 3 and not isinstance(rows.rows, list)
    assert len(list(rows.rows)) == len(rows) == spilled.rows
    folder = spilled._runs.dir
    del rows, spilled
    gc.collect()
    assert not os.path.exists(folder)
    leftovers = set(glob.glob(os.path.join(tempfile.gettempdir(), "handshake-analyzer-rows-*")))
    for f in ("csv", "jsonl"):
        assert Path(run(f, str(tmp_path / f"disk.{f}"))).read_bytes() == before[f]
    import pyarrow.parquet as pq

    run("parquet", str(tmp_path / "disk.parquet"))
    assert pq.read_table(tmp_path / "disk.parquet").equals(pq.read_table(tmp_path / "mem.parquet"))
    gc.collect()
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "handshake-analyzer-rows-*"))) <= leftovers


def test_max_rows_in_memory_is_held_and_one_more_spills(monkeypatch) -> None:
    """A TableBuilder holds MAX_ROWS_IN_MEMORY rows; the next one (by `add` or `add_row`) spills them."""
    monkeypatch.setattr(table_mod, "MAX_ROWS_IN_MEMORY", 4)
    summaries = [s for p in sorted(CAPTURES.glob("*.pcap"))[:3] for s in analyze_file(p)]
    assert len(summaries) >= 5
    for how in ("add", "add_row"):
        b = TableBuilder()
        rows = TableBuilder()
        for s in summaries:
            rows.add(s)
        source = list(rows.table().rows)
        for k in range(5):
            if how == "add":
                b.add(summaries[k])
            else:
                b.add_row(source[k])
            assert (b._runs is None) == (k < 4), (how, k)
        assert b.rows == 5


def test_csv_field_caches_past_their_bounds_give_the_same_csv(monkeypatch) -> None:
    """Past MAX_CACHED_TEXT_FIELDS / MAX_CACHED_LIST_FIELDS / MAX_CACHED_TIME_MINUTES the CSV writer
    formats fields anew: same bytes (and every time cell is the value's own isoformat())."""
    import io

    from analyzer.report import writers as writers_mod

    b = TableBuilder()
    for p in sorted(CAPTURES.glob("*.pcap*")):
        for s in analyze_file(p):
            b.add(s)
    rows = b.table()
    full = io.StringIO()
    writers_mod.write_csv(rows, full)
    monkeypatch.setattr(writers_mod, "MAX_CACHED_TEXT_FIELDS", 2)
    monkeypatch.setattr(writers_mod, "MAX_CACHED_LIST_FIELDS", 1)
    monkeypatch.setattr(writers_mod, "MAX_CACHED_TIME_MINUTES", 1)
    fields: dict = {}
    joined: dict = {}
    minutes: dict = {}
    kinds = writers_mod._cell_kinds()
    lines = [writers_mod._csv_line(r, kinds, fields, joined, minutes) for r in rows.rows]
    assert len(fields) == 2 and len(joined) == 1 and len(minutes) == 1  # the caches stopped at their bounds
    time_columns = [i for i, c in enumerate(writers_mod.COLUMNS) if c.type == "time"]
    times = [r[i] for r in rows.rows for i in time_columns if r[i] is not None]
    assert len({(t.year, t.month, t.day, t.hour, t.minute) for t in times}) > 1  # (so the bound was crossed)
    assert [writers_mod._time_field(t, {}) for t in times] == [t.isoformat() for t in times]
    bounded = io.StringIO()
    writers_mod.write_csv(rows, bounded)
    assert bounded.getvalue() == full.getvalue()
    assert full.getvalue().splitlines()[1:] == lines


def test_keylog_check_lists_at_most_max_listed_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer.decrypt import check as check_mod

    monkeypatch.setattr(check_mod, "MAX_LISTED", 3)
    index = check_mod.KeylogIndex()
    index.add_text("\n".join(f"CLIENT_RANDOM {i:064x}" for i in range(7)), "k.txt")   # 7 lines of 2 fields
    assert index.counts["malformed"] == 7
    assert [p.number for p in index.problems] == [1, 2, 3]


def test_psk_longer_than_max_psk_bytes_is_refused() -> None:
    km = KeyMaterial()
    km.add_psk("a=" + "ab" * keys_mod.MAX_PSK_BYTES)           # the longest RFC 4279 allows
    assert len(km.psks[b"a"]) == keys_mod.MAX_PSK_BYTES
    with pytest.raises(keys_mod.KeyFileError, match="1 to"):
        km.add_psk("b=" + "ab" * (keys_mod.MAX_PSK_BYTES + 1))


# --------------------------------------------------------------------------- the README table

BOUND_NAMES = [
    "MAX_RECORD", "MAX_PLAUSIBLE_FRAME", "MAX_RESYNC_SCAN", "MAX_DECOMPRESSED_SIZE", "MAX_INTERFACES",
    "MAX_SECRETS_BYTES", "MAX_WARNINGS", "MAX_PENDING_FRAGMENTS", "FRAGMENT_TIMEOUT", "MAX_DATAGRAM_SIZE",
    "MAX_TUNNEL_DEPTH", "MAX_BUFFER_PER_DIRECTION", "MAX_OUT_OF_ORDER_SEGMENTS", "MAX_LIVE_FLOWS",
    "MAX_TOMBSTONES", "DEFAULT_IDLE_TIMEOUT", "MAX_SEQ_JUMP", "MAX_RECORD_LENGTH", "MAX_HANDSHAKE_MESSAGE",
    "MAX_EXTENSIONS", "MAX_EXTENSION_ERRORS", "MAX_LIST_ITEMS", "MAX_CERTIFICATES", "MAX_NAME_LENGTH",
    "MAX_EVENTS", "MAX_ERRORS", "MAX_HTTP_HEAD", "CERT_CACHE_SIZE", "NAME_CACHE_MAX_LIST", "CACHE_MAX_ITEMS",
    "MAX_CRYPTO_BUFFER", "MAX_CRYPTO_OFFSET", "MAX_CRYPTO_FRAGMENTS", "MAX_UDP_CONVERSATIONS",
    "MAX_TRANSCRIPT", "MAX_SESSIONS", "MAX_PROBLEMS", "MAX_INTERNED", "MAX_DISTINCT_COUNTED", "MAX_CANDIDATES",
    "MAX_ROWS_IN_MEMORY", "MAX_RETRYABLE_CLOSES", "SYN_RETRY_WINDOW", "MAX_UNDECODABLE_KINDS",
    "MAX_UNCOMPRESSED_CERTIFICATE", "MAX_ZSTD_WINDOW",  # crossed in test_compressed_certificate.py
    "MAX_REASSEMBLY_BYTES", "MAX_FRAGMENTS", "MAX_MESSAGES_AHEAD", "MAX_RECORDS_REMEMBERED",
    "MAX_LISTED", "MAX_PSK_BYTES",
    "MAX_PREAMBLE_BYTES", "MAX_RECOGNITION_BYTES", "MAX_LINE", "MAX_NOTES", "MAX_LINE_GUESS",
    "MAX_REMEMBERED_SESSIONS", "MAX_LINEAGE_RECORDS_IN_MEMORY", "MAX_TICKETS_KEPT",  # crossed in test_lineage.py
    "MAX_PSK_IDENTITIES_KEPT", "MAX_CHILDREN_LISTED", "MAX_CACHED_TEXT_FIELDS", "MAX_CACHED_LIST_FIELDS",
    "MAX_CACHED_TIME_MINUTES",
]


def test_every_bound_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Bounds", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)`", section, flags=re.M))
    assert set(BOUND_NAMES) <= documented, set(BOUND_NAMES) - documented


def make_table() -> tuple[FlowTable, list[Sink]]:
    return table()


def _refused_then_retried(table: FlowTable, ports: range, t_syn: float, t_retry: float) -> list[Flow]:
    """Per client port: SYN (ISN 1000), the server's RST/ACK; later the same SYN again."""
    created: list[Flow] = []
    table._on_new_flow = created.append  # noqa: SLF001 - count every new conversation
    frame = 0
    for when in (t_syn, t_retry):
        for p in ports:
            frame += 1
            table.add((frame, when, C4, p, S4, 443, 1000, 0, 0x02, b"", 0))
            if when == t_syn:
                frame += 1
                table.add((frame, when, S4, 443, C4, p, 0, 1001, 0x14, b"", 0))
    return created


def test_max_retryable_closes_crossed() -> None:
    """A same-ISN SYN retry continues a closed flow without payload (its stream), as long as
    that flow is among the last MAX_RETRYABLE_CLOSES such closes; older ones get a new stream."""
    table, _ = make_table()
    table.max_retryable = 5
    created = _refused_then_retried(table, range(40000, 40008), 1.0, 2.0)
    # 8 refused SYNs; the retries of the last 5 continue their stream, the first 3 start new ones
    assert len(created) == 8 + 3
    assert table.stats.syn_retries == 5 and table.stats.port_reuses == 3
    assert MAX_RETRYABLE_CLOSES == 4096


def test_syn_retry_window_crossed() -> None:
    table, _ = make_table()
    created = _refused_then_retried(table, range(40000, 40002), 1.0, 1.0 + SYN_RETRY_WINDOW)
    assert len(created) == 2 and table.stats.syn_retries == 2
    table, _ = make_table()
    created = _refused_then_retried(table, range(40000, 40002), 1.0, 1.0 + SYN_RETRY_WINDOW + 1)
    assert len(created) == 4 and table.stats.syn_retries == 0
