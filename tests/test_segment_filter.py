"""The capture stage counts the plain segments of connections whose handshake is over
(`SegmentFilter`) instead of handing each one to the flow table: rows and TCP statistics
are the same as when every segment goes through the table, and the filter really takes
most segments of a bulk transfer."""

from __future__ import annotations

import glob
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.capture import Capture
from analyzer.inputs import bundled_captures_dir
from analyzer.pipeline import FileResult, analyze_file
from analyzer.report.table import TableBuilder
from null_sink import NullSink  # tests/ is on sys.path

ROOT = Path(__file__).resolve().parent.parent


def _rows_and_stats(path: str):
    res = FileResult(path=path, name="x")
    b = TableBuilder()
    for s in analyze_file(path, name="x", result=res):
        b.add(s)
    return b.table().rows, res


def _files() -> list[str]:
    out = sorted(str(p) for p in bundled_captures_dir().iterdir() if p.suffix in (".pcap", ".pcapng"))
    out += sorted(glob.glob(str(ROOT.parent / "shared" / "captures" / "suricata" / "*" / "*.pcap")))[:12]
    return out


@pytest.fixture(scope="module")
def bulk(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("bulk")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_captures.py"), "--scale", "0.005",
                    "--out", str(d), "--only", "bulk-heavy"], check=True, capture_output=True, timeout=300)
    return str(next(d.glob("bulk-heavy.pcap")))


def test_filtered_and_unfiltered_runs_agree(monkeypatch, bulk):
    taken = []
    real = Capture.summarise

    def spy(self, flt):
        taken.append(flt)
        real(self, flt)

    monkeypatch.setattr(Capture, "summarise", spy)
    with_filter = {p: _rows_and_stats(p) for p in [*_files(), bulk]}
    monkeypatch.setattr(Capture, "summarise", lambda self, flt: None)
    for path, (rows, res) in with_filter.items():
        rows2, res2 = _rows_and_stats(path)
        assert rows == rows2, path
        assert res.tcp.as_dict() == res2.tcp.as_dict(), path
    assert taken


def test_the_filter_takes_the_bulk_segments(bulk):
    from analyzer.tcp import FlowTable

    with Capture(bulk) as cap:
        table = FlowTable(NullSink)
        cap.summarise(table.segment_filter)
        yielded = 0
        for seg in cap.segments():
            yielded += 1
            table.add(seg)
        table.close_all()
        frames = cap.stats.frames
    assert table.stats.segments == frames  # every segment counted once, filtered or not
    assert yielded < frames / 4, (yielded, frames)
    assert not table.segment_filter.counters  # closed flows leave nothing behind
