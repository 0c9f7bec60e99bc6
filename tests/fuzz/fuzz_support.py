"""Corpus, encoders and runners shared by the fuzz tests under tests/fuzz/.

The corpus is real captures: the bundled ones (captures/, made from real TLS by
captures/generate.py) and the third-party ones under ../shared/captures (FoxIO
JA4, Suricata). Mutated inputs go through the whole per-file pipeline (capture ->
tcp -> tls (-> decrypt) -> summaries) and then through every writer the commands
use (table rows, CSV, JSON Lines, the terminal table, text ladders, summary
statistics, sometimes the HTML page), and every result is checked against the
bounds the analyzer documents.

How many examples each layer tries: ``FUZZ_EXAMPLES`` (default ``DEFAULT_EXAMPLES``,
kept small for CI); see README.md "Fuzzing" for the longer run by hand.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from analyzer.audit import Auditor, default_policy
from analyzer.audit.findings import render_table as audit_table
from analyzer.audit.findings import write_csv as audit_csv
from analyzer.capture import Capture, CaptureError
from analyzer.decrypt import KeyMaterial
from analyzer.decrypt.keys import load_key_material
from analyzer.pipeline import FileResult, Options, analyze_file
from analyzer.report.ladder import connection_text
from analyzer.report.summary import render_summary, summarize
from analyzer.report.table import TableBuilder
from analyzer.report.writers import render_table, write_csv, write_jsonl
from analyzer.tls.connection import MAX_ERRORS, MAX_EVENTS
from analyzer.tls.fingerprints import FingerprintTally
from analyzer.tls.messages import MAX_NAME_LENGTH
from analyzer.tls.summary import ConnectionSummary

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
SHARED = ROOT.parent / "shared" / "captures"
KEYLOG = CAPTURES / "keylog.txt"
SERVER_KEY = CAPTURES / "server.key"
DTLS_KEYLOG = CAPTURES / "dtls" / "keylog.txt"
PSK_DIR = CAPTURES / "psk"

DEFAULT_EXAMPLES = 100
MAX_CORPUS_FILE = 192 * 1024   # larger captures are cropped (a truncation is one more mutation)
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")


def examples(default: int = DEFAULT_EXAMPLES) -> int:
    """Examples per fuzz test: FUZZ_EXAMPLES from the environment, else the CI default."""
    try:
        return max(1, int(os.environ.get("FUZZ_EXAMPLES", default)))
    except ValueError:
        return default


@lru_cache(maxsize=1)
def corpus() -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of every bundled and shared capture, cropped to MAX_CORPUS_FILE."""
    files = sorted(p for p in CAPTURES.iterdir() if p.suffix in CAPTURE_SUFFIXES)
    files += sorted(p for p in (CAPTURES / "dtls").iterdir() if p.suffix in CAPTURE_SUFFIXES)
    files += sorted(p for p in PSK_DIR.iterdir() if p.suffix in CAPTURE_SUFFIXES)   # TLS 1.2 PSK suites
    if SHARED.is_dir():
        files += sorted(p for p in SHARED.rglob("*") if p.is_file() and p.suffix in CAPTURE_SUFFIXES)
    out = []
    for p in files:
        name = str(p.relative_to(ROOT.parent)) if SHARED in p.parents else str(p.relative_to(CAPTURES))
        out.append((name, p.read_bytes()[:MAX_CORPUS_FILE]))
    return tuple(out)


def key_material() -> KeyMaterial:
    """The bundled key logs, server RSA key and PSKs (test material only), fresh: a run adds to it."""
    return load_key_material([KEYLOG, DTLS_KEYLOG], [SERVER_KEY], psks=psk_specs())


@lru_cache(maxsize=1)
def psk_specs() -> list[str]:
    """`IDENTITY=HEX` of the PSK captures (captures/psk/MANIFEST.json)."""
    import json

    files = json.loads((PSK_DIR / "MANIFEST.json").read_text())["files"].values()
    return sorted({f"{f['psk_identity']}={f['psk']}" for f in files})


# --------------------------------------------------------------------------- decoding real captures


Segment = tuple[int, float, bytes, int, bytes, int, int, int, int, bytes, int]
Datagram = tuple[int, float, bytes, int, bytes, int, bytes]


@lru_cache(maxsize=None)
def decoded(index: int) -> tuple[tuple[Segment, ...], tuple[Datagram, ...], tuple[tuple[int, bytes], ...]]:
    """TCP segments (payload copied), UDP datagrams and Decryption Secrets Blocks of corpus file ``index``."""
    _name, data = corpus()[index]
    segs: list[Segment] = []
    udp: list[Datagram] = []
    try:
        cap = Capture(io.BytesIO(data))
    except CaptureError:
        return (), (), ()
    cap.on_udp(lambda fr, ts, s, sp, d, dp, p: udp.append((fr, ts, bytes(s), sp, bytes(d), dp, bytes(p))))
    for fr, ts, src, sport, dst, dport, seq, ack, flags, payload, plen in cap.segments():
        segs.append((fr, ts, bytes(src), sport, bytes(dst), dport, seq, ack, flags, bytes(payload), plen))
    return tuple(segs), tuple(udp), tuple(cap.decryption_secrets)


UPGRADE = CAPTURES / "upgrade"


@lru_cache(maxsize=1)
def upgrade_corpus() -> tuple[tuple[tuple[Segment, ...], int], ...]:
    """(TCP segments, server port) of each capture of TLS after a plaintext start (captures/upgrade/)."""
    out = []
    for p in sorted(UPGRADE.glob("*.pcap")):
        segs = []
        for fr, ts, src, sport, dst, dport, seq, ack, flags, payload, plen in Capture(str(p)).segments():
            segs.append((fr, ts, bytes(src), sport, bytes(dst), dport, seq, ack, flags, bytes(payload), plen))
        port = segs[0][5] if segs else 0   # the SYN's destination
        out.append((tuple(segs), port))
    return tuple(out)


@lru_cache(maxsize=1)
def upgrade_key_material() -> KeyMaterial:
    return load_key_material(keylogs=[UPGRADE / "keylog.txt", UPGRADE / "openssl-keylog.txt"])


# --------------------------------------------------------------------------- encoding


def _ts(t: float) -> tuple[int, int]:
    if not t == t or t < 0 or t > 4e9:  # NaN, negative or beyond u32 seconds
        t = 0.0
    sec = int(t)
    return sec, min(999_999, int(round((t - sec) * 1e6)))


def ip_packet(src: bytes, dst: bytes, proto: int, l4: bytes, declared: int) -> bytes:
    """An IPv4 or IPv6 header (by address length) for ``declared`` bytes of layer 4 (``l4`` may be shorter)."""
    if len(src) == 16 and len(dst) == 16:
        return struct.pack(">IHBB16s16s", 0x60000000, min(declared, 0xFFFF), proto, 64, src, dst) + l4
    s4, d4 = (src + bytes(4))[:4], (dst + bytes(4))[:4]
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, min(20 + declared, 0xFFFF), 0, 0x4000, 64, proto, 0, s4, d4) + l4


def tcp_frame(seg: Segment) -> tuple[bytes, int]:
    """(captured bytes, original length) of a raw-IP frame carrying one segment tuple."""
    _fr, _ts, src, sport, dst, dport, seq, ack, flags, payload, plen = seg
    tcp = struct.pack(">HHIIBBHHH", sport & 0xFFFF, dport & 0xFFFF, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      0x50 | ((flags >> 8) & 1), flags & 0xFF, 65535, 0, 0)
    declared = 20 + max(plen, 0)
    data = ip_packet(src, dst, 6, tcp + payload[: max(plen, 0)], declared)
    orig = len(data) - len(payload[: max(plen, 0)]) + max(plen, 0)
    return data, max(orig, len(data))


def udp_frame(dg: Datagram) -> tuple[bytes, int]:
    _fr, _ts, src, sport, dst, dport, payload = dg
    udp = struct.pack(">HHHH", sport & 0xFFFF, dport & 0xFFFF, min(8 + len(payload), 0xFFFF), 0) + payload
    data = ip_packet(src, dst, 17, udp, len(udp))
    return data, len(data)


def write_raw_pcap(frames: Iterable[tuple[float, bytes, int]], snaplen: int = 262144) -> bytes:
    """A classic pcap (LINKTYPE_RAW 101) of ``(ts, captured bytes, original length)``."""
    parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 101)]
    for t, data, orig in frames:
        sec, usec = _ts(t)
        parts.append(struct.pack("<IIII", sec, usec, len(data), orig) + data)
    return b"".join(parts)


def segments_pcap(segs: Iterable[Segment], udp: Iterable[Datagram] = ()) -> bytes:
    """Segments (and datagrams) as one raw-IP pcap, in the order given (datagrams after)."""
    frames = [(s[1], *tcp_frame(s)) for s in segs] + [(d[1], *udp_frame(d)) for d in udp]
    return write_raw_pcap(frames)


def record_fields(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of the length fields of a capture's records: pcap incl/orig, pcapng block and packet lengths."""
    out: list[tuple[int, int]] = []
    if len(data) < 24:
        return out
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic[0] in (0xD4, 0x4D) else ">"
        out.append((16, 4))  # snaplen
        off = 24
        while off + 16 <= len(data) and len(out) < 4096:
            incl = struct.unpack_from(e + "I", data, off + 8)[0]
            out += [(off + 8, 4), (off + 12, 4)]
            off += 16 + incl
        return out
    if magic == b"\x0a\x0d\x0d\x0a" and len(data) >= 12:
        e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        off = 0
        while off + 12 <= len(data) and len(out) < 4096:
            btype, blen = struct.unpack_from(e + "II", data, off)
            out.append((off + 4, 4))
            if btype == 6 and off + 28 <= len(data):
                out += [(off + 8, 4), (off + 20, 4), (off + 24, 4)]   # interface, caplen, origlen
            if btype == 1:
                out.append((off + 8, 2))                               # link type
            if blen < 12 or blen % 4:
                break
            off += blen
    return out


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


# --------------------------------------------------------------------------- running and checking


def check_summary(s: ConnectionSummary) -> None:
    """What every summary must satisfy, whatever the input."""
    assert s.handshake_complete or s.failure, (s.stream, s.failure)
    # the upgrade stage: an upgraded row is a TLS row of the protocol it names; a refusal is never TLS
    assert s.upgraded_from is None or (s.is_tls and s.upgraded_from == s.plaintext_protocol
                                       and s.upgrade_frame is not None), (s.upgraded_from, s.is_tls)
    assert s.failure != "upgrade_refused" or (not s.is_tls and s.plaintext_protocol), s.failure
    assert len(s.events) <= MAX_EVENTS
    assert len(s.errors) <= MAX_ERRORS, s.errors
    # the pipeline turns an exception of our own parsers into "internal error" on the row: a bug
    assert not any("internal error" in e for e in s.errors), s.errors
    for text in (s.sni, s.alpn, *s.alpn_offered):
        assert text is None or len(text) <= 4 * MAX_NAME_LENGTH


def render(summaries: list[ConnectionSummary], html_dir: Path | None = None) -> None:
    """Everything the commands write from summaries, into memory (or ``html_dir`` for the page)."""
    from rich.console import Console

    tb = TableBuilder()
    for s in summaries:
        tb.add(s)
        connection_text(s, markup=True)
        connection_text(s, markup=False)
    rows = tb.table()
    write_csv(rows, io.StringIO())
    write_jsonl(rows, io.StringIO())
    render_table(rows, Console(file=io.StringIO(), width=200))
    render_summary(summarize(rows, files_read=1), Console(file=io.StringIO(), width=200))
    auditor = Auditor(default_policy())
    tally = FingerprintTally()
    for s in summaries:
        auditor.add(s)
        tally.add(s)
    findings = auditor.sorted_findings()
    audit_csv(findings, io.StringIO())
    audit_table(findings, Console(file=io.StringIO(), width=200))
    assert not auditor.rule_errors, auditor.rule_errors[:3]
    tally.rows()
    from analyzer.report.cbom import cbom
    from analyzer.report.inventory import InventoryCollector
    from analyzer.report.inventory import render_table as inventory_table
    from analyzer.report.inventory import write_csv as inventory_csv

    inventory = InventoryCollector()
    for s in summaries:
        inventory.add(s)
    inv = inventory.result()
    inventory_csv(inv, io.StringIO())
    inventory_table(inv, Console(file=io.StringIO(), width=200))
    json.dumps(inv.to_dict())
    json.dumps(cbom(inv))
    if html_dir is not None:
        from analyzer.report.html import ReportCollector, write_report

        coll = ReportCollector(50)
        for s in summaries:
            coll.add(s)
        write_report(coll, html_dir, files_read=1, inputs=["fuzz"])


def run_bytes(data: bytes, path: Path, *, keys: KeyMaterial | None = None, html_dir: Path | None = None,
              **opts: Any) -> list[ConnectionSummary]:
    """Write ``data`` to ``path`` and run the pipeline and the writers on it; never raises for bad input.

    A file the capture stage refuses outright (``CaptureError``) gives no rows, as in the CLI.
    """
    path.write_bytes(data)
    options = Options(keys=keys, keylog=str(KEYLOG) if keys is not None else None, **opts)
    res = FileResult(path=str(path), name=path.name)
    out: list[ConnectionSummary] = []
    try:
        for s in analyze_file(path, options=options, result=res):
            out.append(s)
    except CaptureError:
        pass
    for s in out:
        check_summary(s)
    render(out, html_dir)
    return out
