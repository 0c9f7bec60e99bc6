"""Batch benchmark: many captures with --jobs 1, --jobs 2 and a 2-worker Dask LocalCluster.

Owns the batch inputs and their timing:

* ``OUT/batch-5mb/``: ``--files`` captures of about ``--size-mb`` MB each, cut at frame
  boundaries from ``OUT/handshake-heavy.pcap`` (made by ``make_captures.py`` when
  missing) and reused cyclically (each file is a real, distinct copy on disk);
* ``OUT/batch-tiny/``: ``--tiny`` copies of the bundled ``captures/tls13-aes128.pcap``,
  to show the per-file overhead (process start, imports, task dispatch).

Each run is the real command line, ``handshake-analyzer connections DIR -q -f csv -o
/dev/null`` (whole program: start-up, parsing, writing), timed from outside; results
(files/s, MB/s, scaling ratio against --jobs 1) are printed and written to
``OUT/batch-results.json``.

Usage: ``python benchmarks/batch.py [--files 200] [--size-mb 5] [--tiny 1000] [--out benchmarks/out]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _frames(path: Path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        if magic not in (0xA1B2C3D4, 0xA1B23C4D):
            raise SystemExit(f"{path}: expected a little-endian classic pcap")
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            n = struct.unpack("<IIII", rec)[2]
            yield head, rec + f.read(n)


def make_big_inputs(out: Path, files: int, size_mb: float) -> Path:
    d = out / f"batch-{size_mb:g}mb"
    marker = d / f".complete-{files}"
    if marker.exists():
        return d
    src = out / "handshake-heavy.pcap"
    if not src.exists():
        subprocess.run([sys.executable, str(HERE / "make_captures.py"), "--only", "handshake-heavy",
                        "--scale", "0.2", "--out", str(out)], check=True)
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    limit = int(size_mb * 1_000_000)
    pieces: list[Path] = []
    buf: list[bytes] = []
    size = 0
    head = b""
    for head, rec in _frames(src):
        buf.append(rec)
        size += len(rec)
        if size >= limit:
            p = d / f"piece-{len(pieces):04d}.pcap"
            p.write_bytes(head + b"".join(buf))
            pieces.append(p)
            buf, size = [], 0
            if len(pieces) >= files:
                break
    i = 0
    while len(pieces) + i < files:  # more files than pieces: real copies, cyclically
        src_piece = pieces[i % len(pieces)]
        shutil.copyfile(src_piece, d / f"copy-{i:04d}-{src_piece.name}")
        i += 1
    marker.write_text("")
    return d


def make_tiny_inputs(out: Path, n: int) -> Path:
    d = out / "batch-tiny"
    marker = d / f".complete-{n}"
    if marker.exists():
        return d
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    src = (ROOT / "captures" / "tls13-aes128.pcap").read_bytes()
    for i in range(n):
        (d / f"tiny-{i:05d}.pcap").write_bytes(src)
    marker.write_text("")
    return d


def run(folder: Path, *extra: str) -> float:
    cmd = [sys.executable, "-m", "analyzer", "connections", str(folder), "-q", "-f", "csv", "-o", os.devnull, *extra]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr[-2000:]}")
    return dt


def measure(folder: Path, label: str, scheduler: str | None) -> dict[str, object]:
    files = [p for p in folder.iterdir() if p.suffix == ".pcap"]
    nbytes = sum(p.stat().st_size for p in files)
    res: dict[str, object] = {"files": len(files), "bytes": nbytes}
    modes = [("jobs1", ["-j", "1"]), ("jobs2", ["-j", "2"])]
    if scheduler:
        modes.append(("dask2", ["--scheduler", scheduler]))
    for mode, extra in modes:
        secs = run(folder, *extra)
        res[mode] = {"seconds": round(secs, 3), "files_per_s": round(len(files) / secs, 2),
                     "MB_per_s": round(nbytes / 1e6 / secs, 2)}
        print(f"{label:6} {mode:6} {len(files):5} files {nbytes / 1e6:8.1f} MB  {secs:7.2f} s  "
              f"{len(files) / secs:8.1f} files/s  {nbytes / 1e6 / secs:7.1f} MB/s", flush=True)
    base = res["jobs1"]["seconds"]  # type: ignore[index]
    for mode, _ in modes[1:]:
        res[mode]["speedup_vs_jobs1"] = round(base / res[mode]["seconds"], 2)  # type: ignore[index]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--size-mb", type=float, default=5.0)
    ap.add_argument("--tiny", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=HERE / "out")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--only", choices=("big", "tiny"), help="run one of the two input sets")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    big = make_big_inputs(args.out, args.files, args.size_mb)
    tiny = make_tiny_inputs(args.out, args.tiny)
    results: dict[str, object] = {"cpus": os.cpu_count()}
    cluster = None
    scheduler = None
    if not args.no_dask:
        import logging

        from dask.distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.WARNING)
        scheduler = cluster.scheduler_address
    try:
        if args.only != "tiny":
            results["big"] = measure(big, "big", scheduler)
        if args.only != "big":
            results["tiny"] = measure(tiny, "tiny", scheduler)
    finally:
        if cluster is not None:
            cluster.close()
    (args.out / f"batch-results{'-' + args.only if args.only else ''}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
