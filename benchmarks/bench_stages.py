"""The capture and TCP stages alone on a real capture, compiled core against pure Python.

Run: python benchmarks/bench_stages.py FILE [--repeat N] [--stage capture|tcp|both]

Each run is a fresh process (the core is chosen at import: `HANDSHAKE_ANALYZER_PURE=1` for
the pure one); runs alternate compiled, pure, compiled, pure ... so that the load of a shared
machine hits both alike. One run reads FILE with `Capture(...).segments()` and, for `tcp`,
feeds every segment to a `FlowTable` whose sinks take payload until 4 KB per flow (like the
TLS stage after a handshake) and then let the flow go to the counting fast path. Printed: the
median seconds per core and the ratio pure / compiled.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stage", choices=["capture", "tcp", "both"], default="both")
    a = ap.parse_args()
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
