"""The capture and TCP stages alone on a real capture, compiled core against pure Python.

Run: python benchmarks/bench_stages.py FILE [--repeat N] [--stage capture|tcp|both|pipeline]

Each run is a fresh process (the core is chosen at import: `HANDSHAKE_ANALYZER_PURE=1` for
the pure one); runs alternate compiled, pure, compiled, pure ... so that the load of a shared
machine hits both alike. One run reads FILE with `Capture(...).segments()` and, for `tcp`,
feeds every segment to a `FlowTable` whose sinks take payload until 4 KB per flow (like the
TLS stage after a handshake) and then let the flow go to the counting fast path. Printed: the
median seconds per core and the ratio pure / compiled.

`--stage pipeline` times the whole `connections -f csv` work in one process, stage by stage
and without a profiler's distortion: capture alone, capture + TCP with sinks that take a
handshake's worth of bytes, `analyze_file` (capture + TCP + TLS: the TLS stage is the
difference), the rows (`TableBuilder.add` and the sort) and the CSV text (`write_csv` to
memory), on one core as `--jobs 1` runs it (no ladder events, the CLI's garbage-collector
settings).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Bytes a sink takes per flow before it stops wanting payload (a handshake's worth).
SINK_APPETITE = 4096

_CHILD = r'''
import json, sys, time
from analyzer import _core
from analyzer.capture import Capture
from analyzer.tcp import FlowTable

APPETITE = int(sys.argv[3])

class Sink:
    __slots__ = ("wants_payload", "left")
    def __init__(self, flow):
        self.wants_payload = True
        self.left = APPETITE
    def on_data(self, d, data, frame, ts):
        self.left -= len(data)
        if self.left <= 0:
            self.wants_payload = False
    def on_gap(self, *a): pass
    def on_fin(self, *a): pass
    def on_rst(self, *a): pass
    def on_close(self, *a): pass

stage = sys.argv[2]
if stage == "pipeline":
    import dataclasses, gc, io
    from analyzer.pipeline import Options, analyze_file
    from analyzer.report.table import TableBuilder
    from analyzer.report.writers import write_csv
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    builder = TableBuilder()
    clock = time.perf_counter
    in_rows = 0.0  # each summary goes into the table as it comes, as in the CLI
    t0 = clock()
    for s in analyze_file(sys.argv[1], options=Options(events=False)):
        t = clock()
        builder.add(s)
        in_rows += clock() - t
    t = clock()
    rows = builder.table()
    t2 = clock()
    in_rows += t2 - t
    write_csv(rows, io.StringIO())
    t3 = clock()
    print(json.dumps({"seconds": t3 - t0, "analyze": t2 - t0 - in_rows, "rows": in_rows, "csv": t3 - t2,
                      "segments": len(rows), "compiled": _core.COMPILED}))
    raise SystemExit(0)
t0 = time.perf_counter()
n = 0
with Capture(sys.argv[1]) as cap:
    if stage == "capture":
        for seg in cap.segments():
            n += 1
    else:
        table = FlowTable(Sink)
        cap.summarise(table.segment_filter)
        add = table.add
        for seg in cap.segments():
            add(seg)
        table.close_all()
        n = table.stats.segments
print(json.dumps({"seconds": time.perf_counter() - t0, "segments": n, "compiled": _core.COMPILED}))
'''


def _run(path: str, stage: str, pure: bool) -> dict:
    env = dict(os.environ)
    env.pop("HANDSHAKE_ANALYZER_PURE", None)
    if pure:
        env["HANDSHAKE_ANALYZER_PURE"] = "1"
    out = subprocess.run([sys.executable, "-c", _CHILD, path, stage, str(SINK_APPETITE)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def _pipeline(path: str, repeat: int) -> None:
    """Stage seconds of one `--jobs 1` CSV run, compiled and pure, medians of `repeat` rounds."""
    parts: dict[bool, dict[str, list[float]]] = {False: {}, True: {}}
    for _ in range(repeat):
        for stage in ("capture", "tcp", "pipeline"):
            for pure in (False, True):  # alternating, so that a shared machine's load hits both alike
                r = _run(path, stage, pure)
                if r["compiled"] == pure:
                    raise SystemExit("the compiled core is not built (pip install -e .), or PURE is ignored")
                if stage == "pipeline":
                    for k in ("analyze", "rows", "csv"):
                        parts[pure].setdefault(k, []).append(r[k])
                else:
                    parts[pure].setdefault(stage, []).append(r["seconds"])
    for pure in (False, True):
        m = {k: statistics.median(v) for k, v in parts[pure].items()}
        print(f"{Path(path).name} {'pure' if pure else 'compiled'}: capture {m['capture']:.3f} s, "
              f"TCP {m['tcp'] - m['capture']:.3f} s (capture + TCP {m['tcp']:.3f} s), "
              f"TLS and pipeline {m['analyze'] - m['tcp']:.3f} s (analyze_file {m['analyze']:.3f} s), "
              f"rows {m['rows']:.3f} s, CSV {m['csv']:.3f} s; total {m['analyze'] + m['rows'] + m['csv']:.3f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stage", choices=["capture", "tcp", "both", "pipeline"], default="both")
    a = ap.parse_args()
    if a.stage == "pipeline":
        _pipeline(a.file, a.repeat)
        return
    stages = ["capture", "tcp"] if a.stage == "both" else [a.stage]
    for stage in stages:
        times: dict[bool, list[float]] = {False: [], True: []}
        segs = 0
        for _ in range(a.repeat):
            for pure in (False, True):
                r = _run(a.file, stage, pure)
                if r["compiled"] == pure:
                    raise SystemExit("the compiled core is not built (pip install -e .), or PURE is ignored")
                times[pure].append(r["seconds"])
                segs = r["segments"]
        c, p = statistics.median(times[False]), statistics.median(times[True])
        print(f"{Path(a.file).name} {stage:8s} segments={segs:,}  compiled {c:.3f} s  pure {p:.3f} s  "
              f"pure/compiled {p / c:.2f}x   (runs: compiled {', '.join(f'{t:.2f}' for t in times[False])}; "
              f"pure {', '.join(f'{t:.2f}' for t in times[True])})")


if __name__ == "__main__":
    main()
