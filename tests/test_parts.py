"""One capture read in parts on several processes (analyzer.parts) gives exactly the rows of
one sequential run: on every bundled and shared capture cut at many places, on benchmark-
style captures with hundreds of connections open at each cut (pcap and pcapng), with QUIC,
through the CLI, and when a cut makes the merge unsure (it then reads sequentially)."""

from __future__ import annotations

import json

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

import analyzer.parts as parts_mod
from analyzer.batch import merge_parts, process_file, splits
from analyzer.capture import Capture, CaptureError
from analyzer.inputs import bundled_captures_dir
from analyzer.parts import Part, merge, plan
from analyzer.report.table import COLUMN_NAMES, sort_rows
from analyzer.tcp import FlowTable
from null_sink import NullSink  # tests/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "captures"
MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a")
STREAM = COLUMN_NAMES.index("stream")
TRANSPORT = COLUMN_NAMES.index("transport")


def _captures() -> list[str]:
    found = glob.glob(str(SHARED / "**" / "*"), recursive=True) + glob.glob(str(bundled_captures_dir() / "*"))
    out = []
    for f in sorted(found):
        if os.path.isfile(f):
            with open(f, "rb") as fh:
                if fh.read(4) in MAGICS:
                    out.append(f)
    return out


def _tcp_rows(rows):
    return [r for r in rows if r[TRANSPORT] == "tcp"]


def _in_parts(path: str, cuts: list[int], options=None):
    """Run the parts of `path` cut at byte offsets `cuts` one after the other, and merge them."""
    size = os.path.getsize(path)
    bounds = [0, *cuts, size]
    ps = [Part(i, len(bounds) - 1, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    outs = [process_file(0, path, os.path.basename(path), options, part=p) for p in ps]
    return outs


def _sorted(rows):
    out = list(rows)
    sort_rows(out)
    return out


def _merged(outs):
    rows, _warnings, unsure = merge([(o.part, o.rows) for o in outs], STREAM, TRANSPORT)
    sort_rows(rows)
    return rows, unsure


@pytest.mark.parametrize("path", _captures(), ids=lambda p: os.path.relpath(p, ROOT.parent))
def test_parts_equal_one_sequential_run_on_every_capture(path):
    seq = process_file(0, path, os.path.basename(path))
    size = os.path.getsize(path)
    compared = 0
    for k in (2, 3, 7):
        cuts = [size * i // k for i in range(1, k)]
        outs = _in_parts(path, cuts)
        if any(o.error for o in outs):  # a damaged file: the caller reads it sequentially
            assert seq.error is not None or any("truncated" in (o.error or "") for o in outs)
            continue
        rows, unsure = _merged(outs)
        assert unsure is None, unsure
        assert rows == _tcp_rows(seq.rows), f"{k} parts"
        compared += 1
    if seq.error is None:
        assert compared == 3


@pytest.fixture(scope="module")
def busy(tmp_path_factory) -> dict[str, Path]:
    """Benchmark-style captures (real handshakes replicated; ~180 connections open at once,
    reordered and retransmitted segments), as pcap and pcapng."""
    out = tmp_path_factory.mktemp("busy")
    files = {}
    for fmt in ("pcap", "pcapng"):
        d = out / fmt
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_captures.py"), "--scale", "0.02",
                        "--out", str(d), "--only", "handshake-heavy", "--format", fmt],
                       check=True, capture_output=True, timeout=300)
        files[fmt] = next(d.glob("handshake-heavy.pcap*"))
    return files


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_parts_equal_sequential_with_many_open_connections_at_each_cut(busy, fmt):
    path = str(busy[fmt])
    seq = process_file(0, path, os.path.basename(path))
    assert len(seq.rows) == 400
    size = os.path.getsize(path)
    for k in (2, 5, 16):
        outs = _in_parts(path, [size * i // k for i in range(1, k)])
        assert all(o.part.live for o in outs[:-1])  # connections open at every cut
        assert all(o.part.candidates for o in outs[1:])
        rows, unsure = _merged(outs)
        assert unsure is None
        assert rows == seq.rows, f"{k} parts"
        # each connection is analysed where it starts: the parts' rows before the merge overlap
        assert sum(len(o.rows) for o in outs) > len(seq.rows)


def test_merge_parts_adds_the_quic_pass(tmp_path):
    path = SHARED / "ja4" / "chrome-cloudflare-quic-with-secrets.pcapng"
    if not path.exists():
        pytest.skip("shared capture missing")
    seq = process_file(0, str(path), path.name)
    assert any(r[TRANSPORT] == "quic" for r in seq.rows)
    size = path.stat().st_size
    outs = _in_parts(str(path), [size // 3, 2 * size // 3])
    assert any(o.part.udp for o in outs)
    assert not any(r[TRANSPORT] == "quic" for o in outs for r in o.rows)
    merged = merge_parts(outs)
    assert _sorted(merged.rows) == seq.rows and len(merged.rows) == len(seq.rows)


def test_cli_reads_one_large_file_in_parts(monkeypatch, tmp_path, busy):
    from typer.testing import CliRunner

    from analyzer.cli import app

    path = busy["pcap"]
    monkeypatch.setattr(parts_mod, "MIN_SPLIT_BYTES", 1)
    monkeypatch.setattr(parts_mod, "MIN_PART_BYTES", 1)
    assert splits([path], 2) and not splits([path], 1)
    r1 = CliRunner().invoke(app, ["connections", str(path), "-f", "csv", "-j", "1", "-q"])
    r2 = CliRunner().invoke(app, ["connections", str(path), "-f", "csv", "-j", "2", "-q"])
    assert r1.exit_code == 0 and r2.exit_code == 0
    assert r1.stdout == r2.stdout and r1.stdout.count("\n") == 401


def test_no_split_for_small_compressed_or_callback_runs(tmp_path, busy):
    from analyzer.parts import skip_ratio, splittable

    r = skip_ratio(str(busy["pcap"]))
    assert 0 < r < 0.2  # many connections per record: walking is cheap next to analysing
    assert skip_ratio(str(tmp_path / "missing.pcap")) == 0.0

    assert not splittable(str(busy["pcap"]), os.path.getsize(busy["pcap"]))  # below MIN_SPLIT_BYTES
    gz = tmp_path / "x.pcap.gz"
    import gzip

    gz.write_bytes(gzip.compress(busy["pcap"].read_bytes()))
    assert not splittable(str(gz), 1 << 40)
    with Capture(str(gz)) as cap, pytest.raises(CaptureError):
        cap.part(10, None, None)
    assert [p.count for p in plan(100 << 20, 8)] == [6] * 6  # parts of at least MIN_PART_BYTES
    assert plan(10, 4) == [Part(0, 1, 0, 10)]
    # later parts walk more records before their range: they get less of it
    ps = plan(1 << 30, 4, skip_ratio=0.1)
    sizes = [p.end - p.start for p in ps]
    assert ps[0].start == 0 and ps[-1].end == 1 << 30 and all(a.end == b.start for a, b in zip(ps, ps[1:]))
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    # the cost model: each part's walk + analysis is about the same
    costs = [0.1 * p.start + (p.end - p.start) for p in ps]
    assert max(costs) - min(costs) < 1e-6 * (1 << 30)


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_capture_part_counts_skipped_frames_and_marks_the_boundary(busy, fmt):
    path = str(busy[fmt])
    with Capture(path) as cap:
        frames = [(s[0], s[1]) for s in cap.segments()]
        first_ts = cap.first_ts
    size = os.path.getsize(path)
    marks = []
    with Capture(path) as cap:
        cap.part(size // 3, 2 * size // 3, marks.append)
        mine = [(s[0], s[1]) for s in cap.segments()]
    assert cap.first_ts == first_ts
    assert len(marks) == 1 and marks[0] == cap.mark_frame
    # the part starts at a record boundary with the file's own frame numbers and reads on to the end
    assert mine == [f for f in frames if f[0] >= mine[0][0]]
    assert 1 < mine[0][0] < marks[0] < frames[-1][0]
    with Capture(path) as cap:
        cap.part(size // 3, None, None)
        rest = [(s[0], s[1]) for s in cap.segments()]
    assert rest == mine


def test_frozen_flow_table_follows_only_live_flows():
    closed = []
    t = FlowTable(NullSink)
    a, b = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    t.add((1, 0.0, a, 5000, b, 443, 100, 0, 0x02, b"", 0))       # SYN: flow 0
    t.add((2, 0.1, b, 443, a, 5000, 900, 101, 0x12, b"", 0))     # SYN/ACK
    t.freeze(lambda: closed.append(True))
    t.add((3, 0.2, a, 5001, b, 443, 100, 0, 0x02, b"", 0))       # a new 4-tuple: ignored
    assert t.stats.flows == 1 and t.live_flows == 1
    t.add((4, 0.3, a, 5000, b, 443, 101, 901, 0x04, b"", 0))     # RST closes flow 0
    assert closed == [True] and t.live_flows == 0
    t.add((5, 0.4, a, 5000, b, 443, 7, 0, 0x02, b"", 0))         # port reuse: no new stream either
    assert t.stats.flows == 1


def test_a_stand_in_that_takes_a_new_syn_makes_the_merge_unsure(tmp_path):
    """Client FIN before the cut; after it the server's FIN closes the connection and the client
    reuses the port at once. The next part's stand-in flow (server packets only) takes that SYN
    instead of starting a conversation: the merge says so, and merge_parts reads sequentially."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    c, s = "10.0.0.1", "10.0.0.2"

    def pkt(t, src, dst, sport, dport, seq, ack, flags, load=b""):
        p = Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags) / load
        p.time = t
        return p

    frames = [
        pkt(1.0, c, s, 40000, 443, 100, 0, "S"),
        pkt(1.1, s, c, 443, 40000, 500, 101, "SA"),
        pkt(1.2, c, s, 40000, 443, 101, 501, "A"),
        pkt(1.3, c, s, 40000, 443, 101, 501, "PA", b"GET / HTTP/1.0\r\n\r\n"),
        pkt(1.4, c, s, 40000, 443, 119, 501, "FA"),
    ] + [pkt(1.5 + i / 100, c, s, 41000 + i, 80, 10, 0, "S") for i in range(20)] + [  # filler: the cut lands here
        pkt(2.0, s, c, 443, 40000, 501, 120, "FA"),
        pkt(2.1, c, s, 40000, 443, 9000, 0, "S"),            # port reuse, new ISN
        pkt(2.2, s, c, 443, 40000, 7000, 9001, "SA"),
        pkt(2.3, c, s, 40000, 443, 9001, 7001, "A"),
        pkt(2.4, c, s, 40000, 443, 9001, 7001, "PA", b"hello"),
    ]
    path = tmp_path / "reuse.pcap"
    wrpcap(str(path), frames)
    offsets = [24]
    for f in frames:
        offsets.append(offsets[-1] + 16 + len(bytes(f)))
    cut = offsets[5 + 20]  # the server's FIN starts the second part
    seq = process_file(0, str(path), path.name)
    outs = _in_parts(str(path), [cut])
    rows, _w, unsure = merge([(o.part, o.rows) for o in outs], STREAM, TRANSPORT)
    assert unsure is not None and "SYN" in unsure
    assert _sorted(merge_parts(outs).rows) == seq.rows  # read sequentially instead
    assert [r[STREAM] for r in seq.rows if r[COLUMN_NAMES.index("client_port")] == 40000] == [0, 21]


def test_crossing_max_candidates_reads_the_file_sequentially(monkeypatch, busy):
    path = str(busy["pcap"])
    seq = process_file(0, path, os.path.basename(path))
    monkeypatch.setattr(parts_mod, "MAX_CANDIDATES", 3)
    size = os.path.getsize(path)
    outs = _in_parts(path, [size // 2])
    assert "stand in" in (outs[1].part.unsure or "")
    rows, _w, unsure = merge([(o.part, o.rows) for o in outs], STREAM, TRANSPORT)
    assert unsure and rows == []
    assert _sorted(merge_parts(outs).rows) == seq.rows


def test_parts_report_progress_in_shared_memory(monkeypatch, busy):
    import multiprocessing as mp

    import analyzer.batch as batch_mod
    from analyzer.batch import BatchOptions, run_batch
    from analyzer.report.table import TableBuilder

    path = str(busy["pcap"])
    size = os.path.getsize(path)
    shared = mp.Array("q", 2, lock=False)
    monkeypatch.setattr(batch_mod, "_PART_PROGRESS", shared)
    p1 = Part(1, 2, size // 2, size, slot=1)
    process_file(0, path, "x", None, part=p1)
    assert shared[1] == size - size // 2 and shared[0] == 0  # the part's own bytes, capped at its range

    # a whole run with the progress bar on (a terminal console): same rows, no slot left over
    from rich.console import Console

    monkeypatch.setattr(parts_mod, "MIN_SPLIT_BYTES", 1)
    monkeypatch.setattr(parts_mod, "MIN_PART_BYTES", 1)
    monkeypatch.setattr(batch_mod, "_PART_PROGRESS", None)
    b = TableBuilder()
    console = Console(file=open(os.devnull, "w"), force_terminal=True)
    run_batch([Path(path)], b, batch=BatchOptions(jobs=2), console=console, show_progress=True)
    assert b.table().rows == process_file(0, path, os.path.basename(path)).rows
    assert batch_mod._PART_PROGRESS is None


def test_parts_equal_sequential_on_a_damaged_capture(busy, tmp_path):
    """Garbage between records and a record with an absurd length: every part resynchronises
    where a sequential run does, so frame numbers and rows agree, and each warning is
    reported once."""
    data = bytearray(busy["pcap"].read_bytes())
    offsets = []
    off = 24
    while off + 16 <= len(data):
        offsets.append(off)
        off += 16 + int.from_bytes(data[off + 8:off + 12], "little")
    a = offsets[len(offsets) * 3 // 10]
    b = offsets[len(offsets) * 6 // 10]
    data[b + 8:b + 12] = (50_000_000).to_bytes(4, "little")  # an implausible captured length
    data[a:a] = bytes(range(256)) * 4                         # 1 KiB of garbage before a record
    path = tmp_path / "damaged.pcap"
    path.write_bytes(bytes(data))
    seq = process_file(0, str(path), path.name)
    assert seq.error is None and len(seq.warnings) >= 2
    size = len(data)
    for k in (2, 3, 5):
        outs = _in_parts(str(path), [size * i // k for i in range(1, k)])
        rows, warnings, unsure = merge([(o.part, o.rows) for o in outs], STREAM, TRANSPORT)
        sort_rows(rows)
        assert unsure is None
        assert rows == seq.rows, f"{k} parts"
        assert [f"{path}: {w}" for w in warnings] == seq.warnings


def _retry_capture(tmp_path, retry_isn: int):
    """SYN, a middlebox's bare ACK, the client's RST, then (after filler SYNs where the cut
    lands) the client's SYN again with `retry_isn` and a connection carrying data."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    c, s = "10.0.0.1", "10.0.0.2"

    def pkt(t, src, dst, sport, dport, seq, ack, flags, load=b""):
        p = Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=flags) / load
        p.time = t
        return p

    frames = [
        pkt(1.0, c, s, 40000, 443, 100, 0, "S"),
        pkt(1.1, s, c, 443, 40000, 777, 101, "A"),      # middlebox: a bare ACK
        pkt(1.2, c, s, 40000, 443, 101, 0, "R"),
    ] + [pkt(1.5 + i / 100, c, s, 41000 + i, 80, 10, 0, "S") for i in range(20)] + [  # filler: the cut lands here
        pkt(3.0, c, s, 40000, 443, retry_isn, 0, "S"),
        pkt(3.1, s, c, 443, 40000, 7000, retry_isn + 1, "SA"),
        pkt(3.2, c, s, 40000, 443, retry_isn + 1, 7001, "A"),
        pkt(3.3, c, s, 40000, 443, retry_isn + 1, 7001, "PA", b"hello"),
    ]
    path = tmp_path / f"retry-{retry_isn}.pcap"
    wrpcap(str(path), frames)
    offsets = [24]
    for f in frames:
        offsets.append(offsets[-1] + 16 + len(bytes(f)))
    return path, offsets[3 + 20]  # the retried SYN starts the second part


def test_a_syn_retry_after_the_cut_makes_the_merge_unsure(tmp_path):
    """The client's retried SYN (same ISN) continues stream 0 in a sequential run, as in
    Wireshark; the second part cannot know it and starts a stream: the merge says so and
    merge_parts reads the file sequentially. With a new ISN the parts merge as usual."""
    port = COLUMN_NAMES.index("client_port")
    path, cut = _retry_capture(tmp_path, 100)
    seq = process_file(0, str(path), path.name)
    assert [(r[STREAM], r[COLUMN_NAMES.index("first_frame")]) for r in seq.rows if r[port] == 40000] == [(0, 1)]
    outs = _in_parts(str(path), [cut])
    rows, _w, unsure = merge([(o.part, o.rows) for o in outs], STREAM, TRANSPORT)
    assert unsure is not None and "SYN retry" in unsure
    assert _sorted(merge_parts(outs).rows) == seq.rows

    path, cut = _retry_capture(tmp_path, 9000)
    seq = process_file(0, str(path), path.name)
    assert [r[STREAM] for r in seq.rows if r[port] == 40000] == [21]
    outs = _in_parts(str(path), [cut])
    rows, _w, unsure = merge([(o.part, o.rows) for o in outs], STREAM, TRANSPORT)
    assert unsure is None and _sorted(rows) == seq.rows


def test_merge_parts_adds_the_udp_pass_for_dtls(tmp_path):
    """DTLS is analysed in the same whole-file UDP pass as QUIC: parts == sequential."""
    import shutil

    if shutil.which("mergecap") is None:
        pytest.skip("mergecap is not installed")
    inputs = sorted((ROOT / "captures" / "dtls").glob("*.pcap")) + [ROOT / "captures" / "tls12-ecdhe.pcap"]
    path = tmp_path / "dtls-and-tcp.pcap"
    subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", str(path), *map(str, inputs)], check=True)
    seq = process_file(0, str(path), path.name)
    manifest = json.loads((ROOT / "captures" / "dtls" / "MANIFEST.json").read_text())
    n_dtls = sum(len(f["connections"]) for f in manifest["files"].values())
    assert sum(r[TRANSPORT] == "dtls" for r in seq.rows) == n_dtls and any(r[TRANSPORT] == "tcp" for r in seq.rows)
    size = path.stat().st_size
    outs = _in_parts(str(path), [size // 3, 2 * size // 3])
    assert any(o.part.udp for o in outs)
    assert not any(r[TRANSPORT] == "dtls" for o in outs for r in o.rows)
    merged = merge_parts(outs)
    assert _sorted(merged.rows) == seq.rows and len(merged.rows) == len(seq.rows)
