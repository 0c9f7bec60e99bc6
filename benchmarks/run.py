"""Benchmark runner: the analyzer against tshark on the same captures, plus a profile mode.

Owns the timing protocol and the agreement check:

* For every capture, alternating runs (ours, tshark, ours, tshark, ... ``--repeat N``
  times each, default 3) of
  (a) ``python -m analyzer connections FILE -f csv -o OUT/NAME.ours.csv --quiet`` and
  (b) ``tshark -r FILE -Y "tls.handshake.type==1 || tls.handshake.type==2" -T fields
  -e tcp.stream -e tls.handshake.type -e tls.handshake.version
  -e tls.handshake.extensions.supported_version -e tls.handshake.ciphersuite
  -e tls.handshake.extensions_server_name -e tls.handshake.session_id
  -o tcp.reassemble_out_of_order:TRUE > OUT/NAME.tshark.tsv``,
  each in a fresh process, measuring wall time (``time.perf_counter`` around the
  child) and peak memory: the largest process's maximum RSS (``/usr/bin/time -v``, or
  ``resource.getrusage(RUSAGE_CHILDREN)`` in a small Python wrapper); for the analyzer,
  which may run worker processes, the larger of that and the process tree's total PSS
  sampled from /proc every 20 ms. The median of the runs is reported.
* Agreement: every ``tcp.stream`` in which tshark found a ServerHello must be a row of
  ours with a ServerHello (``server_hello_frame`` set); for those, the negotiated
  version and cipher suite must match. Rows where we found a ServerHello and tshark
  did not are listed too, and, when the capture has a ``NAME.manifest.json`` from
  ``make_captures.py``, both tools are compared to the ground truth (which streams
  carry a ServerHello, which were reordered / retransmitted).
* ssldump as a second peer (when installed; ``--no-ssldump`` to leave it out): in the same
  rounds, ``ssldump -n -r FILE > OUT/NAME.ssldump.txt`` (``--ssldump-args`` adds flags, e.g.
  ``-N`` to parse the certificates too); its median, peak RSS and the ratio ssldump time / our
  time are printed beside tshark's, and its text output is compared with our rows by 4-tuple
  (connections with a ServerHello, the chosen suite's name).
* A table on stdout and ``OUT/results.json``.

``--decrypt`` times decryption instead: ``python -m analyzer connections FILE --keylog K -f csv
-o OUT/NAME.decrypt.csv --quiet`` (every record of every connection decrypted and
authenticated, Finished verified, application bytes counted) against ``tshark -r FILE -o tls.keylog_file:K -o tcp.reassemble_out_of_order:TRUE
-q -z follow,tls,raw,0`` (tshark decrypts every record of the capture to follow one
stream), with the key log ``OUT/pool-keylog-{bulk,hs}.txt`` next to the capture (or
``--keylog``). It prints the ratio, the MB/s of application data we decrypted, our status
counts, and, from one extra run of ``python -m analyzer decrypt FILE --keylog K --out
OUT/NAME.decrypted`` (all streams written to disk; its time is shown too), whether
tshark's decrypted stream 0 equals ours byte for byte. With ssldump installed, ``ssldump -n
-l K -r FILE`` runs in the same rounds: it decrypts and checks every record it has keys for
(without ``-d`` it does not print the plaintext), but ssldump 1.5 reads only the
``CLIENT_RANDOM`` lines of a key log, so it decrypts the TLS <= 1.2 connections and leaves
TLS 1.3 ones encrypted; the number of connections it decrypted is printed beside its time.

``--profile FILE`` runs the analyzer on FILE under cProfile (``python -m cProfile -o
OUT/NAME.prof -m analyzer connections FILE -f csv -o /dev/null --quiet``) and prints
the top 25 functions by cumulative and by own (total) time.

Usage: ``python benchmarks/run.py [FILE ...] [--repeat N] [--out DIR] [--ours-cmd
module|script] [--no-tshark] [--no-ssldump] [--ssldump-args ARGS]``, ``python
benchmarks/run.py --profile FILE``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import mmap
import os
import platform
import pstats
import re
import shlex
import shutil
import statistics
import struct
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = HERE / "out"
DEFAULT_FILES = ("handshake-heavy.pcap", "bulk-heavy.pcap")

TSHARK_FIELDS = ("tcp.stream", "tls.handshake.type", "tls.handshake.version",
                 "tls.handshake.extensions.supported_version", "tls.handshake.ciphersuite",
                 "tls.handshake.extensions_server_name", "tls.handshake.session_id")
TSHARK_FILTER = "tls.handshake.type==1 || tls.handshake.type==2"

_RSS_WRAPPER = (
    "import json, resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:])\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "sys.stderr.write('\\nBENCH-RUSAGE ' + json.dumps({'rc': rc, 'maxrss_kb': ru.ru_maxrss}) + '\\n')\n"
    "sys.exit(rc)\n"
)


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    tool: str
    seconds: float
    peak_mb: float | None
    rc: int
    user_s: float | None = None
    sys_s: float | None = None
    messages: int | None = None  # lines the tool itself wrote to stderr (GNU time's report not counted)


def ours_cmd(path: Path, output: str, style: str, jobs: int | None = None) -> list[str]:
    tail = ["connections", str(path), "-f", "csv", "-o", output, "--quiet"]
    if jobs is not None:
        tail += ["--jobs", str(jobs)]
    if style == "script" and shutil.which("handshake-analyzer"):
        return [shutil.which("handshake-analyzer") or "handshake-analyzer", *tail]
    return [sys.executable, "-m", "analyzer", *tail]


def tshark_cmd(path: Path, tshark: str) -> list[str]:
    cmd = [tshark, "-r", str(path), "-Y", TSHARK_FILTER, "-T", "fields"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    return cmd + ["-o", "tcp.reassemble_out_of_order:TRUE"]


def ssldump_cmd(path: Path, ssldump: str, extra: Sequence[str] = (), keylog: Path | None = None) -> list[str]:
    """ssldump reading FILE: `-n` (no reverse DNS lookup of every address), `-l K` to decrypt
    with a key log, then `extra` (``--ssldump-args``)."""
    cmd = [ssldump, "-n"]
    if keylog is not None:
        cmd += ["-l", str(keylog)]
    return cmd + [*extra, "-r", str(path)]


def keylog_for(path: Path, given: str | None) -> Path | None:
    """The key log of a benchmark capture: --keylog, else pool-keylog-{bulk,hs}.txt beside it or in OUT."""
    if given:
        return Path(given).resolve()
    kind = "bulk" if path.name.startswith("bulk") else "hs"
    for d in (path.parent, DEFAULT_OUT):
        k = d / f"pool-keylog-{kind}.txt"
        if k.exists():
            return k
    return None


def _follow_raw(path: Path) -> tuple[str, bytes, bytes]:
    """(node 0, node-0 bytes, node-1 bytes) of a `-z follow,tls,raw,N` output file."""
    a, b, node0 = bytearray(), bytearray(), ""
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("Node 0:"):
            node0 = line.split(":", 1)[1].strip()
        elif line.startswith("\t") and line.strip():
            b += bytes.fromhex(line.strip())
        elif line and all(c in "0123456789abcdef" for c in line):
            a += bytes.fromhex(line)
    return node0, bytes(a), bytes(b)


def bench_decrypt(path: Path, args: argparse.Namespace, tshark: str | None, ssldump: str | None = None) -> dict[str, Any]:
    out = Path(args.out)
    stem = path.name.split(".")[0]
    keylog = keylog_for(path, args.keylog)
    if keylog is None:
        raise SystemExit(f"no key log for {path}: give --keylog")
    dec_dir = out / f"{stem}.decrypted"
    listing = out / f"{stem}.decrypt.txt"
    table = out / f"{stem}.decrypt.csv"
    follow = out / f"{stem}.tshark-follow0.txt"
    ours = [sys.executable, "-m", "analyzer", "connections", str(path), "--keylog", str(keylog), "-f", "csv",
            "-o", str(table), "--quiet"]
    ours_write = [sys.executable, "-m", "analyzer", "decrypt", str(path), "--keylog", str(keylog), "--out", str(dec_dir),
                  "--quiet"]
    theirs = [tshark or "tshark", "-r", str(path), "-o", f"tls.keylog_file:{keylog}",
              "-o", "tcp.reassemble_out_of_order:TRUE", "-q", "-z", "follow,tls,raw,0"]
    ssldump_txt = out / f"{stem}.ssldump-decrypt.txt"
    # -l K: every record of a connection whose CLIENT_RANDOM is in K is decrypted and its MAC or
    # tag checked; without -d the plaintext is not printed (we count it, we do not print it)
    ssldump_dec = ssldump_cmd(path, ssldump, shlex.split(args.ssldump_args or ""), keylog=keylog) if ssldump else None
    size = path.stat().st_size
    print(f"== decrypt {path} ({size / 1e6:.1f} MB) with {keylog.name}", file=sys.stderr, flush=True)
    runs: dict[str, list[Run]] = {"ours": [], "tshark": [], "ssldump": []}
    for i in range(args.repeat):
        r = measure("ours", ours, None, args.timeout)
        runs["ours"].append(r)
        print(f"  run {i + 1}/{args.repeat} ours   {r.seconds:8.2f} s  {_fmt(r.peak_mb, '.0f')} MB  rc={r.rc}",
              file=sys.stderr, flush=True)
        if tshark:
            r = measure("tshark", theirs, follow, args.timeout)
            runs["tshark"].append(r)
            print(f"  run {i + 1}/{args.repeat} tshark {r.seconds:8.2f} s  {_fmt(r.peak_mb, '.0f')} MB  rc={r.rc}",
                  file=sys.stderr, flush=True)
        if ssldump_dec:
            r = measure("ssldump", ssldump_dec, ssldump_txt, args.timeout)
            runs["ssldump"].append(r)
            print(f"  run {i + 1}/{args.repeat} ssldump {r.seconds:7.2f} s  {_fmt(r.peak_mb, '.0f')} MB  rc={r.rc}",
                  file=sys.stderr, flush=True)
    mem = measure("ours", ours, None, args.timeout, tree=True)  # untimed: the process tree's peak
    print(f"  memory run ours (process tree)   {_fmt(mem.peak_mb, '.0f')} MB", file=sys.stderr, flush=True)
    shutil.rmtree(dec_dir, ignore_errors=True)  # (truncating the last run's files would be timed too)
    write_run = measure("ours-decrypt-command", ours_write, listing, args.timeout)
    print(f"  ours decrypt command (all streams written) {write_run.seconds:8.2f} s  rc={write_run.rc}",
          file=sys.stderr, flush=True)
    statuses: dict[str, int] = {}
    app_bytes = 0
    with table.open(newline="") as f:
        for row in csv.DictReader(f):
            if row.get("is_tls") in ("True", "true", "1"):
                st = row.get("decryption") or ""
                statuses[st] = statuses.get(st, 0) + 1
                app_bytes += int(row.get("app_bytes_client") or 0) + int(row.get("app_bytes_server") or 0)
    agree = None
    if tshark and follow.exists() and (dec_dir / "stream-0.c2s.bin").exists():
        node0, a, b = _follow_raw(follow)
        c2s, s2c = (dec_dir / "stream-0.c2s.bin").read_bytes(), (dec_dir / "stream-0.s2c.bin").read_bytes()
        agree = (a, b) == (c2s, s2c) or (a, b) == (s2c, c2s)
    ours_s = _median([r.seconds for r in runs["ours"]])
    tshark_s = _median([r.seconds for r in runs["tshark"]])
    ssldump_s = _median([r.seconds for r in runs["ssldump"]])
    ssldump_decrypted = ssldump_tls = None
    if ssldump_dec and ssldump_txt.exists() and runs["ssldump"][-1].rc == 0:
        conns = parse_ssldump(ssldump_txt).values()
        ssldump_tls = sum(1 for c in conns if c.server_hello)
        # a Finished is shown only once decrypted (it is the first encrypted handshake message)
        ssldump_decrypted = sum(1 for c in conns if c.finished)
    return {
        "file": str(path), "size_bytes": size, "keylog": str(keylog),
        "ssldump_seconds": ssldump_s,
        "ssldump_ratio": (ssldump_s / ours_s) if ours_s and ssldump_s else None,
        "ssldump_peak_mb": _max([r.peak_mb for r in runs["ssldump"]]),
        "ssldump_server_hello": ssldump_tls, "ssldump_decrypted": ssldump_decrypted,
        "ours_seconds": ours_s, "tshark_seconds": tshark_s,
        "ratio": (tshark_s / ours_s) if ours_s and tshark_s else None,
        "app_bytes_decrypted": app_bytes,
        "ours_app_mb_per_s": app_bytes / 1e6 / ours_s if ours_s else None,
        "ours_capture_mb_per_s": size / 1e6 / ours_s if ours_s else None,
        "ours_peak_mb": _max([r.peak_mb for r in runs["ours"]] + [mem.peak_mb]),
        "tshark_peak_mb": _max([r.peak_mb for r in runs["tshark"]]),
        "ours_decrypt_command_seconds": write_run.seconds,
        "statuses": statuses,
        "stream0_equal_to_tshark": agree,
        "commands": {"ours": ours, "ours_decrypt_command": ours_write, "tshark": theirs, "ssldump": ssldump_dec},
        "runs": [asdict(r) for r in runs["ours"] + runs["tshark"] + runs["ssldump"] + [write_run]],
    }


def print_decrypt(results: list[dict[str, Any]]) -> None:
    for r in results:
        print(f"{Path(r['file']).name}: {r['size_bytes'] / 1e6:.1f} MB capture, "
              f"{r['app_bytes_decrypted'] / 1e6:.1f} MB application data decrypted")
        print(f"  ours   {_fmt(r['ours_seconds'], '.2f')} s ({_fmt(r['ours_app_mb_per_s'], '.1f')} MB/s of application data, "
              f"{_fmt(r['ours_capture_mb_per_s'], '.1f')} MB/s of capture), peak {_fmt(r['ours_peak_mb'], '.0f')} MB")
        print(f"  tshark {_fmt(r['tshark_seconds'], '.2f')} s, peak {_fmt(r['tshark_peak_mb'], '.0f')} MB")
        print(f"  ours `decrypt` command writing every stream to disk: {_fmt(r['ours_decrypt_command_seconds'], '.2f')} s")
        print(f"  ratio (tshark / ours) {_fmt(r['ratio'], '.2f')}  (target >= 2)"
              f"{'  MET' if r['ratio'] and r['ratio'] >= 2 else ''}")
        print(f"  statuses {r['statuses']}; stream 0 identical to tshark's follow: {r['stream0_equal_to_tshark']}")
        if r.get("ssldump_seconds"):
            print(f"  ssldump -l {_fmt(r['ssldump_seconds'], '.2f')} s, peak {_fmt(r['ssldump_peak_mb'], '.0f')} MB: "
                  f"ssldump time / ours {_fmt(r['ssldump_ratio'], '.2f')}; it decrypted {r['ssldump_decrypted']} of the "
                  f"{r['ssldump_server_hello']} connections with a ServerHello (ssldump 1.5 reads only CLIENT_RANDOM "
                  f"lines: TLS <= 1.2; TLS 1.3 stays encrypted), so it did less work than we did")


def _tree_pss_kb(pid: int) -> int | None:
    """Proportional set size (shared pages split between the processes sharing them) of `pid`
    and all its descendants, from /proc; None where /proc has no smaps_rollup."""
    total, todo, seen, found = 0, [pid], set(), False
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        found = True
                        break
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue
    return total if found else None


class _TreeSampler:
    """Samples the memory of a process tree every 20 ms in a thread: the peak of the sum over
    all its processes (our analyzer reads a large file in several worker processes, so the
    largest single process, which is what `time -v` reports, would understate it)."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid = pid
        self.peak_kb: int | None = None
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            kb = _tree_pss_kb(self.pid)
            if kb is not None and (self.peak_kb is None or kb > self.peak_kb):
                self.peak_kb = kb
            self._stop.wait(0.02)

    def stop(self) -> int | None:
        self._stop.set()
        self._t.join()
        return self.peak_kb


def measure(tool: str, cmd: list[str], stdout_path: Path | None, timeout: float, tree: bool = False,
            pure: bool = False) -> Run:
    """Run ``cmd`` once in a fresh process; wall time and peak memory: the largest process's
    maximum RSS, or with `tree` the larger of that and the process tree's total PSS (sampled;
    for our analyzer, which may run worker processes; sampling a 1.7 GB tshark that way
    would slow it down). `pure`: the analyzer's pure-Python core (HANDSHAKE_ANALYZER_PURE=1),
    else the core as built."""
    env = {k: v for k, v in os.environ.items() if k != PURE_ENV} | {"PYTHONPATH": str(ROOT)}
    if pure:
        env[PURE_ENV] = "1"
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        full = [str(gnu_time), "-v", *cmd]
    else:
        full = [sys.executable, "-c", _RSS_WRAPPER, *cmd]
    out = stdout_path.open("wb") if stdout_path else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        child = subprocess.Popen(full, stdout=out, stderr=subprocess.PIPE, cwd=ROOT, env=env)
        sampler = _TreeSampler(child.pid) if tree else None
        try:
            _, err_bytes = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise
        wall = time.perf_counter() - t0
        tree_kb = sampler.stop() if sampler is not None else None
    finally:
        if stdout_path:
            out.close()  # type: ignore[union-attr]
    proc = subprocess.CompletedProcess(full, child.returncode, None, err_bytes)
    err = proc.stderr.decode(errors="replace")
    peak_kb = user = sys_ = None
    rc = proc.returncode
    for line in err.splitlines():
        line = line.strip()
        if line.startswith("Maximum resident set size (kbytes):"):
            peak_kb = int(line.rsplit(":", 1)[1])
        elif line.startswith("User time (seconds):"):
            user = float(line.rsplit(":", 1)[1])
        elif line.startswith("System time (seconds):"):
            sys_ = float(line.rsplit(":", 1)[1])
        elif line.startswith("Exit status:"):
            rc = int(line.rsplit(":", 1)[1])
        elif line.startswith("BENCH-RUSAGE "):
            info = json.loads(line.split(" ", 1)[1])
            peak_kb, rc = info["maxrss_kb"], info["rc"]
    own = [l for l in err.splitlines() if l.strip() and not l.startswith("\t")
           and not l.startswith(("BENCH-RUSAGE ", "Command exited with non-zero status", "Command terminated by signal"))]
    if rc != 0:
        tail = "\n".join(own)[-2000:]
        print(f"  ! {tool} exited with {rc}:\n{tail}", file=sys.stderr)
    if tree_kb is not None:
        peak_kb = max(tree_kb, peak_kb or 0)  # the tree's sum when that is more than the largest process
    return Run(tool, wall, peak_kb / 1024 if peak_kb is not None else None, rc, user, sys_, len(own))


# --------------------------------------------------------------------------- capture facts


def count_packets(path: Path) -> int | None:
    """Records in a classic pcap or pcapng file (EPB/SPB/PB), by walking the headers."""
    with path.open("rb") as f:
        head = f.read(4)
        if len(head) < 4 or path.stat().st_size == 0:
            return 0
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        size = len(mm)
        n = 0
        if head in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            bo = "<" if head in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
            incl = struct.Struct(bo + "I").unpack_from
            pos = 24
            while pos + 16 <= size:
                pos += 16 + incl(mm, pos + 8)[0]
                n += 1
            return n
        if head == b"\x0a\x0d\x0d\x0a":
            pos = 0
            bo = "<"
            while pos + 12 <= size:
                btype = struct.unpack_from(bo + "I", mm, pos)[0]
                if btype == 0x0A0D0D0A:
                    bo = "<" if mm[pos + 8:pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                blen = struct.unpack_from(bo + "I", mm, pos + 4)[0]
                if btype in (2, 3, 6):
                    n += 1
                if blen < 12:
                    return None
                pos += blen
            return n
        return None
    finally:
        mm.close()


def load_manifest(path: Path) -> dict[str, Any] | None:
    stem = path.name.split(".")[0]
    m = path.with_name(stem + ".manifest.json")
    if not m.exists():
        return None
    try:
        data = json.loads(m.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("size") == path.stat().st_size else None


# --------------------------------------------------------------------------- agreement


def _last(value: str) -> str:
    return value.split(",")[-1] if value else ""


def parse_tshark(path: Path) -> tuple[dict[int, tuple[str, str]], dict[int, tuple[int | None, int | None]]]:
    """Streams with a ClientHello -> (SNI, session ID) of the first one;
    streams with a ServerHello -> (version, suite) of the last one (after a HelloRetryRequest)."""
    ch: dict[int, tuple[str, str]] = {}
    sh: dict[int, tuple[int | None, int | None]] = {}
    with path.open("r", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            parts += [""] * (len(TSHARK_FIELDS) - len(parts))
            try:
                stream = int(parts[0].split(",")[0])
            except ValueError:
                continue
            types = parts[1].split(",")
            if "1" in types and stream not in ch:
                ch[stream] = (parts[5].split(",")[0], parts[6].split(",")[0])
            if "2" in types:
                sv = _last(parts[3])
                vals = parts[2].split(",") if parts[2] else []
                ver = sv or (vals[types.index("2")] if len(vals) == len(types) else (vals[0] if vals else ""))
                suite = _last(parts[4]) if "1" not in types else ""
                sh[stream] = (int(ver, 16) if ver else None, int(suite, 16) if suite else None)
    return ch, sh


def parse_ours(path: Path) -> dict[int, dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            try:
                rows[int(r["stream"])] = r
            except (KeyError, ValueError):
                continue
    return rows


def _int(v: str | None) -> int | None:
    try:
        return int(float(v)) if v not in (None, "") else None
    except ValueError:
        return None


@dataclass
class Agreement:
    tshark_client_hello: int = 0
    tshark_server_hello: int = 0
    ours_rows: int = 0
    ours_server_hello: int = 0
    both_server_hello: int = 0
    ours_missed: list[int] = field(default_factory=list)        # tshark SH, ours not
    tshark_missed: list[int] = field(default_factory=list)      # ours SH, tshark not
    version_mismatch: list[int] = field(default_factory=list)
    suite_mismatch: list[int] = field(default_factory=list)
    ours_missed_client_hello: list[int] = field(default_factory=list)
    sni_mismatch: list[int] = field(default_factory=list)
    session_id_mismatch: list[int] = field(default_factory=list)
    truth_server_hello: int | None = None
    ours_missed_truth: list[int] = field(default_factory=list)
    tshark_missed_truth: list[int] = field(default_factory=list)
    reordered: int | None = None
    retransmitted: int | None = None
    tshark_missed_reordered: list[int] = field(default_factory=list)
    tshark_missed_retransmitted: list[int] = field(default_factory=list)
    ours_missed_reordered: list[int] = field(default_factory=list)
    ours_missed_retransmitted: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.ours_missed and not self.version_mismatch and not self.suite_mismatch

    def short(self) -> str:
        s = f"{self.both_server_hello}/{self.tshark_server_hello}"
        if self.version_mismatch or self.suite_mismatch:
            s += f" ({len(self.version_mismatch)}v/{len(self.suite_mismatch)}cs differ)"
        return s + (" ok" if self.ok else " FAIL")


def agreement(ours_csv: Path, tshark_tsv: Path, manifest: dict[str, Any] | None) -> Agreement:
    ch, sh = parse_tshark(tshark_tsv)
    rows = parse_ours(ours_csv)
    ours_sh = {s for s, r in rows.items() if r.get("server_hello_frame")}
    a = Agreement(tshark_client_hello=len(ch), tshark_server_hello=len(sh), ours_rows=len(rows),
                  ours_server_hello=len(ours_sh))
    for stream in sorted(sh):
        if stream not in ours_sh:
            a.ours_missed.append(stream)
            continue
        a.both_server_hello += 1
        ver, suite = sh[stream]
        r = rows[stream]
        if ver is not None and _int(r.get("version_code")) != ver:
            a.version_mismatch.append(stream)
        if suite is not None and _int(r.get("cipher_suite_code")) != suite:
            a.suite_mismatch.append(stream)
    a.tshark_missed = sorted(ours_sh - set(sh))
    for stream in sorted(ch):
        r = rows.get(stream)
        if r is None or not r.get("client_hello_frame"):
            a.ours_missed_client_hello.append(stream)
            continue
        sni, sid = ch[stream]
        if (r.get("sni") or "") != sni:
            a.sni_mismatch.append(stream)
        if (r.get("session_id") or "").lower() != sid.replace(":", "").lower():
            a.session_id_mismatch.append(stream)
    if manifest:
        truth = {i for i, v in enumerate(manifest.get("stream_server_hello", [])) if v}
        a.truth_server_hello = len(truth)
        a.ours_missed_truth = sorted(truth - ours_sh)
        a.tshark_missed_truth = sorted(truth - set(sh))
        reo = set(manifest.get("reordered_streams", []))
        ret = set(manifest.get("retransmitted_streams", []))
        a.reordered, a.retransmitted = len(reo), len(ret)
        a.tshark_missed_reordered = sorted((truth & reo) - set(sh))
        a.tshark_missed_retransmitted = sorted((truth & ret) - set(sh))
        a.ours_missed_reordered = sorted((truth & reo) - ours_sh)
        a.ours_missed_retransmitted = sorted((truth & ret) - ours_sh)
    return a


# ssldump's text output: "New TCP connection #N: A(p) <-> B(q)" opens connection N; a record
# line starts with "N k" (connection, record number); the handshake messages of a record follow
# on their own lines, and a ServerHello's fields below it ("cipherSuite NAME").
_SSLDUMP_CONN = re.compile(r"^New TCP connection #(\d+): (\S+)\((\d+)\) <-> (\S+)\((\d+)\)")
_SSLDUMP_RECORD = re.compile(r"^(\d+) +\d* ")
_SSLDUMP_SUITE = re.compile(r"^\s+cipherSuite\s+(\S+)")


@dataclass
class SsldumpConnection:
    client: tuple[str, int]
    server: tuple[str, int]
    server_hello: bool = False
    suite: str = ""
    finished: int = 0  # Finished messages shown: only decrypted ones are (TLS <= 1.2 with keys)


def parse_ssldump(path: Path) -> dict[int, SsldumpConnection]:
    """Connections of an ssldump text output (`ssldump -n -r FILE`), by ssldump's number."""
    conns: dict[int, SsldumpConnection] = {}
    current: SsldumpConnection | None = None
    in_server_hello = False
    with path.open("r", errors="replace") as f:
        for line in f:
            m = _SSLDUMP_CONN.match(line)
            if m:
                n = int(m.group(1))
                conns[n] = SsldumpConnection((m.group(2), int(m.group(3))), (m.group(4), int(m.group(5))))
                current, in_server_hello = conns[n], False
                continue
            m = _SSLDUMP_RECORD.match(line)
            if m:
                current, in_server_hello = conns.get(int(m.group(1))), False
                continue
            if current is None:
                continue
            word = line.strip()
            if word == "ServerHello":
                current.server_hello, in_server_hello = True, True
            elif word == "Finished":
                current.finished += 1
            elif in_server_hello:
                m = _SSLDUMP_SUITE.match(line)
                if m:
                    current.suite, in_server_hello = m.group(1), False
    return conns


@dataclass
class SsldumpAgreement:
    ssldump_connections: int = 0
    ssldump_server_hello: int = 0
    both_server_hello: int = 0
    ours_missed: list[str] = field(default_factory=list)      # ssldump SH, ours not
    ssldump_missed: list[str] = field(default_factory=list)   # ours SH, ssldump not
    suite_mismatch: list[str] = field(default_factory=list)

    def short(self) -> str:
        s = f"{self.both_server_hello}/{self.ssldump_server_hello}"
        if self.suite_mismatch:
            s += f" ({len(self.suite_mismatch)}cs differ)"
        return s + (" ok" if not self.ours_missed and not self.suite_mismatch else " FAIL")


def ssldump_agreement(ours_csv: Path, ssldump_txt: Path) -> SsldumpAgreement:
    """Our rows against ssldump's connections, matched by (client, server) address and port:
    which have a ServerHello, and whether the chosen suite has the same name."""
    conns = parse_ssldump(ssldump_txt)
    ours = {((r.get("client_ip", ""), _int(r.get("client_port"))), (r.get("server_ip", ""), _int(r.get("server_port")))): r
            for r in parse_ours(ours_csv).values() if r.get("transport", "tcp") == "tcp"}
    a = SsldumpAgreement(ssldump_connections=len(conns))
    theirs_sh = set()
    for c in conns.values():
        if not c.server_hello:
            continue
        a.ssldump_server_hello += 1
        key = (c.client, c.server)
        theirs_sh.add(key)
        r = ours.get(key)
        name = f"{c.client[0]}:{c.client[1]}"
        if r is None or not r.get("server_hello_frame"):
            a.ours_missed.append(name)
            continue
        a.both_server_hello += 1
        if c.suite and c.suite != r.get("cipher_suite"):
            a.suite_mismatch.append(name)
    a.ssldump_missed = sorted(f"{k[0][0]}:{k[0][1]}" for k, r in ours.items()
                              if r.get("server_hello_frame") and k not in theirs_sh)
    return a


# --------------------------------------------------------------------------- benchmark


def _median(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.median(vals) if vals else None


def _max(xs: list[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return max(vals) if vals else None


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _few(xs: list[int], n: int = 15) -> str:
    return ", ".join(map(str, xs[:n])) + (f", ... ({len(xs)} in all)" if len(xs) > n else "")


def bench_file(path: Path, args: argparse.Namespace, tshark: str | None, ssldump: str | None = None) -> dict[str, Any]:
    out = Path(args.out)
    stem = path.name.split(".")[0]
    ours_csv = out / f"{stem}.ours.csv"
    tshark_tsv = out / f"{stem}.tshark.tsv"
    ssldump_txt = out / f"{stem}.ssldump.txt"
    ssldump_extra = shlex.split(args.ssldump_args or "")
    manifest = load_manifest(path)
    size = path.stat().st_size
    packets = manifest["frames"] if manifest else count_packets(path)
    print(f"== {path} ({size / 1e6:.1f} MB, {packets} packets)", file=sys.stderr, flush=True)
    pure_csv = out / f"{stem}.ours-pure.csv"
    runs: dict[str, list[Run]] = {"ours": [], "tshark": [], "pure": [], "ssldump": []}
    for i in range(args.repeat):
        r = measure("ours", ours_cmd(path, str(ours_csv), args.ours_cmd, args.jobs), None, args.timeout)
        runs["ours"].append(r)
        print(f"  run {i + 1}/{args.repeat} ours   {r.seconds:8.2f} s  {_fmt(r.peak_mb, '.0f')} MB  rc={r.rc}",
              file=sys.stderr, flush=True)
        if args.pure_too:
            r = measure("ours-pure", ours_cmd(path, str(pure_csv), args.ours_cmd, args.jobs), None, args.timeout,
                        pure=True)
            runs["pure"].append(r)
            print(f"  run {i + 1}/{args.repeat} pure   {r.seconds:8.2f} s  {_fmt(r.peak_mb, '.0f')} MB  rc={r.rc}",
                  file=sys.stderr, flush=True)
        if tshark:
            r = measure("tshark", tshark_cmd(path, tshark), tshark_tsv, args.timeout)
            runs["tshark"].append(r)
            print(f"  run {i + 1}/{args.repeat} tshark {r.seconds:8.2f} s  {_fmt(r.peak_mb, '.0f')} MB  rc={r.rc}",
                  file=sys.stderr, flush=True)
        if ssldump:
            r = measure("ssldump", ssldump_cmd(path, ssldump, ssldump_extra), ssldump_txt, args.timeout)
            runs["ssldump"].append(r)
            print(f"  run {i + 1}/{args.repeat} ssldump {r.seconds:7.2f} s  {_fmt(r.peak_mb, '.0f')} MB  rc={r.rc}",
                  file=sys.stderr, flush=True)
    # memory of the whole process tree, in a run of its own: the sampler would take CPU from the timed runs
    mem = measure("ours", ours_cmd(path, str(ours_csv), args.ours_cmd, args.jobs), None, args.timeout, tree=True)
    print(f"  memory run ours (process tree)   {_fmt(mem.peak_mb, '.0f')} MB", file=sys.stderr, flush=True)
    ours_s = _median([r.seconds for r in runs["ours"]])
    tshark_s = _median([r.seconds for r in runs["tshark"]])
    ssldump_s = _median([r.seconds for r in runs["ssldump"]])
    agree = None
    ssl_agree = None
    connections = None
    if ours_csv.exists() and runs["ours"] and runs["ours"][-1].rc == 0:
        connections = len(parse_ours(ours_csv))
        if tshark and tshark_tsv.exists():
            agree = agreement(ours_csv, tshark_tsv, manifest)
        if ssldump and ssldump_txt.exists() and runs["ssldump"][-1].rc == 0:
            ssl_agree = ssldump_agreement(ours_csv, ssldump_txt)
    result: dict[str, Any] = {
        "file": str(path),
        "size_bytes": size,
        "packets": packets,
        "connections": connections,
        "connections_in_manifest": manifest["connections"] if manifest else None,
        "ours_seconds": ours_s,
        "tshark_seconds": tshark_s,
        "ratio": (tshark_s / ours_s) if ours_s and tshark_s else None,
        "ours_peak_mb": _max([r.peak_mb for r in runs["ours"]] + [mem.peak_mb]),
        "tshark_peak_mb": _max([r.peak_mb for r in runs["tshark"]]),
        "ours_mb_per_s": size / 1e6 / ours_s if ours_s else None,
        "tshark_mb_per_s": size / 1e6 / tshark_s if tshark_s and tshark else None,
        "core": _core_line(),
        "pure_seconds": _median([r.seconds for r in runs["pure"]]),
        "pure_identical": (pure_csv.read_bytes() == ours_csv.read_bytes()) if runs["pure"] and pure_csv.exists()
        and ours_csv.exists() else None,
        "ssldump_seconds": ssldump_s,
        # like `ratio`: the peer's time / ours (above 1: we are faster)
        "ssldump_ratio": (ssldump_s / ours_s) if ours_s and ssldump_s else None,
        "ssldump_peak_mb": _max([r.peak_mb for r in runs["ssldump"]]),
        "ssldump_messages": runs["ssldump"][-1].messages if runs["ssldump"] else None,
        "ssldump_command": ssldump_cmd(path, ssldump, ssldump_extra) if ssldump else None,
        "ssldump_agreement": asdict(ssl_agree) | {"short": ssl_agree.short()} if ssl_agree else None,
        "runs": [asdict(r) for r in runs["ours"] + runs["tshark"] + runs["pure"] + runs["ssldump"]],
        "agreement": asdict(agree) | {"ok": agree.ok} if agree else None,
    }
    return result


# issue 14's speed targets (tshark time / ours): with the default --jobs, and with --jobs 1
TARGETS = {"handshake-heavy": 5.0, "bulk-heavy": 15.0}
TARGETS_ONE_JOB = {"handshake-heavy": 3.0}


def speed_targets(jobs: int | None) -> dict[str, float]:
    """The speed targets of a run with `--jobs jobs` (None: the default)."""
    return TARGETS_ONE_JOB if jobs == 1 else TARGETS
# the aim against ssldump (issue 14): our time within 1.5x of ssldump's on handshake-heavy,
# i.e. ssldump time / ours at least 1 / 1.5
SSLDUMP_AIMS = {"handshake-heavy": 1 / 1.5}
PURE_ENV = "HANDSHAKE_ANALYZER_PURE"


def _core_line() -> str:
    """What `--version` says about the core the timed `ours` runs used."""
    env = {k: v for k, v in os.environ.items() if k != PURE_ENV}
    res = subprocess.run([sys.executable, "-m", "analyzer", "--version"], cwd=ROOT, env=env, capture_output=True,
                         text=True)
    return res.stdout.strip()
STARTUP_PROBE = "import analyzer.cli, analyzer.pipeline, analyzer.report.table, analyzer.report.writers"
MEMORY_TARGET_MB = 150.0
# start-up as a user meets it (issue 14's figure): typer builds the command and prints its help
HELP_CMD = [sys.executable, "-m", "analyzer", "connections", "--help"]
HELP_RUNS = 5


def print_table(results: list[dict[str, Any]], jobs: int | None = None) -> None:
    with_ssldump = any(r.get("ssldump_seconds") for r in results)
    head = ("file", "size MB", "packets", "conns", "ours s", "tshark s", "ratio", "ours MB", "tshark MB", "agreement")
    if with_ssldump:  # the second peer's columns after tshark's
        head += ("ssldump s", "vs ssldump", "ssldump MB", "agreement (ssldump)")
    left = {0, 9, 13}
    rows = []
    for r in results:
        ag = r["agreement"]
        ag_s = "-" if not ag else (
            f"{ag['both_server_hello']}/{ag['tshark_server_hello']}"
            + (f" ({len(ag['version_mismatch'])}v/{len(ag['suite_mismatch'])}cs differ)"
               if ag["version_mismatch"] or ag["suite_mismatch"] else "")
            + (" ok" if ag["ok"] else " FAIL"))
        row: tuple[str, ...] = (Path(r["file"]).name, f"{r['size_bytes'] / 1e6:.1f}", str(r["packets"]),
                                str(r["connections"]), _fmt(r["ours_seconds"], ".2f"), _fmt(r["tshark_seconds"], ".2f"),
                                _fmt(r["ratio"], ".2f") + ("x" if r["ratio"] else ""),
                                _fmt(r["ours_peak_mb"], ".0f"), _fmt(r["tshark_peak_mb"], ".0f"), ag_s)
        if with_ssldump:
            sag = r.get("ssldump_agreement")
            row += (_fmt(r.get("ssldump_seconds"), ".2f"),
                    _fmt(r.get("ssldump_ratio"), ".2f") + ("x" if r.get("ssldump_ratio") else ""),
                    _fmt(r.get("ssldump_peak_mb"), ".0f"), sag["short"] if sag else "-")
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) if i in left else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    print()
    for r in results:
        name = Path(r["file"]).name
        stem = name.split(".")[0]
        ag = r["agreement"]
        want = speed_targets(jobs).get(stem)
        notes = []
        if want and r["ratio"] is not None:
            notes.append(f"speed target >= {want:g}x: {'met' if r['ratio'] >= want else 'NOT met'} ({r['ratio']:.2f}x)")
        if r["ours_peak_mb"] is not None:
            notes.append(f"memory target < {MEMORY_TARGET_MB:g} MB: "
                         f"{'met' if r['ours_peak_mb'] < MEMORY_TARGET_MB else 'NOT met'} ({r['ours_peak_mb']:.0f} MB)")
        if r["ours_mb_per_s"]:
            notes.append(f"ours {r['ours_mb_per_s']:.1f} MB/s"
                         + (f", tshark {r['tshark_mb_per_s']:.1f} MB/s" if r["tshark_mb_per_s"] else ""))
        print(f"{name}: " + "; ".join(notes))
        print(f"  {r['core']}")
        if r.get("ssldump_seconds"):
            aim = SSLDUMP_AIMS.get(stem)
            ratio = r["ssldump_ratio"]
            print(f"  ssldump ({' '.join(r['ssldump_command'][:-2])}) {r['ssldump_seconds']:.2f} s, "
                  f"{_fmt(r['ssldump_peak_mb'], '.0f')} MB: ssldump time / ours {_fmt(ratio, '.2f')}"
                  f" (tshark time / ours {_fmt(r['ratio'], '.2f')})"
                  + (f"; aim: ours within 1.5x of ssldump (>= {aim:.2f}): {'met' if ratio and ratio >= aim else 'NOT met'}"
                     if aim else "")
                  + (f"; ssldump wrote {r['ssldump_messages']} lines to stderr" if r.get("ssldump_messages") else ""))
            sag = r.get("ssldump_agreement")
            if sag:
                print(f"  ssldump: {sag['ssldump_connections']} TCP connections, {sag['ssldump_server_hello']} with a "
                      f"ServerHello; {sag['both_server_hello']} of those are ours with a ServerHello, suite name differs "
                      f"in {len(sag['suite_mismatch'])}; ours with a ServerHello that ssldump shows none: "
                      f"{len(sag['ssldump_missed'])}"
                      + (f"; ours missed [{', '.join(sag['ours_missed'][:10])}]" if sag["ours_missed"] else "")
                      + (f"; suite differs [{', '.join(sag['suite_mismatch'][:10])}]" if sag["suite_mismatch"] else ""))
        if r.get("pure_seconds"):
            print(f"  pure-Python core {r['pure_seconds']:.2f} s: compiled is {r['pure_seconds'] / r['ours_seconds']:.2f}x "
                  f"faster; CSV {'byte-identical' if r['pure_identical'] else 'DIFFERS'} between the cores")
        if ag:
            print(f"  tshark: {ag['tshark_client_hello']} streams with a ClientHello, {ag['tshark_server_hello']} with a ServerHello;"
                  f" ours: {ag['ours_rows']} rows, {ag['ours_server_hello']} with a ServerHello")
            if ag["ours_missed"]:
                print(f"  ServerHello found by tshark but not by us: {_few(ag['ours_missed'])}")
            if ag["tshark_missed"]:
                print(f"  ServerHello found by us but not by tshark: {_few(ag['tshark_missed'])}")
            if ag["version_mismatch"]:
                print(f"  version differs: {_few(ag['version_mismatch'])}")
            if ag["suite_mismatch"]:
                print(f"  cipher suite differs: {_few(ag['suite_mismatch'])}")
            print(f"  ClientHello: {ag['tshark_client_hello'] - len(ag['ours_missed_client_hello'])}/{ag['tshark_client_hello']} "
                  f"of tshark's also ours; SNI differs in {len(ag['sni_mismatch'])}, session ID in {len(ag['session_id_mismatch'])}"
                  + (f"; ours missed [{_few(ag['ours_missed_client_hello'])}]" if ag['ours_missed_client_hello'] else "")
                  + (f"; SNI differs [{_few(ag['sni_mismatch'])}]" if ag['sni_mismatch'] else "")
                  + (f"; session ID differs [{_few(ag['session_id_mismatch'])}]" if ag['session_id_mismatch'] else ""))
            if ag["truth_server_hello"] is not None:
                print(f"  ground truth (manifest): {ag['truth_server_hello']} streams carry a ServerHello; "
                      f"ours missed {len(ag['ours_missed_truth'])}, tshark missed {len(ag['tshark_missed_truth'])}")
                print(f"  reordered streams: {ag['reordered']}; tshark missed the ServerHello in "
                      f"{len(ag['tshark_missed_reordered'])}" + (f" [{_few(ag['tshark_missed_reordered'])}]" if ag['tshark_missed_reordered'] else "")
                      + f", ours in {len(ag['ours_missed_reordered'])}"
                      + (f" [{_few(ag['ours_missed_reordered'])}]" if ag['ours_missed_reordered'] else ""))
                print(f"  streams with a retransmission: {ag['retransmitted']}; tshark missed "
                      f"{len(ag['tshark_missed_retransmitted'])}, ours missed {len(ag['ours_missed_retransmitted'])}"
                      + (f" [{_few(ag['ours_missed_retransmitted'])}]" if ag['ours_missed_retransmitted'] else ""))
                other = sorted(set(ag["ours_missed_truth"]) - set(ag["ours_missed_reordered"]) - set(ag["ours_missed_retransmitted"]))
                if other:
                    print(f"  ours missed the ServerHello in other streams too: {_few(other)}")


# --------------------------------------------------------------------------- profile


def profile(path: Path, out: Path, top: int, timeout: float) -> int:
    prof = out / f"{path.name.split('.')[0]}.prof"
    # one process (--jobs 1): cProfile sees only the process it runs in, not pool workers
    cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "analyzer", "connections", str(path),
           "-f", "csv", "-o", os.devnull, "--quiet", "--jobs", "1"]
    print(f"profiling: {' '.join(cmd)}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, cwd=ROOT, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - t0
    if not prof.exists():
        print(f"no profile written (exit {rc})", file=sys.stderr)
        return 1
    print(f"{path.name}: {wall:.1f} s under cProfile (exit {rc}); profile saved to {prof}\n")
    prefixes = sorted({str(ROOT) + os.sep, *(p + os.sep for p in sys.path if p.endswith("-packages")),
                       os.path.dirname(os.__file__) + os.sep}, key=len, reverse=True)
    for key, title, restrict in (("cumulative", "cumulative time", ()),
                                 ("tottime", "total (own) time", ()),
                                 ("tottime", "total (own) time, the analyzer's own code only", (r"analyzer[/\\]",))):
        buf = io.StringIO()
        st = pstats.Stats(str(prof), stream=buf)
        st.sort_stats(key).print_stats(*restrict, top)
        text = buf.getvalue()
        for pre in prefixes:
            text = text.replace(pre, "")
        start = text.find("   ncalls")
        print(f"--- top {top} by {title} ---")
        print(text[start:].rstrip() + "\n" if start >= 0 else text)
    return 0 if rc == 0 else rc


# --------------------------------------------------------------------------- main


def _ssldump(args: argparse.Namespace) -> str | None:
    """The ssldump to time, or None (with a line saying why) when it is left out or not installed."""
    if args.no_ssldump:
        return None
    if not args.ssldump or not Path(args.ssldump).exists() and not shutil.which(args.ssldump):
        print("ssldump not installed (Debian package `ssldump`): the ssldump peer is left out", file=sys.stderr)
        return None
    return args.ssldump


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Time the analyzer against tshark on the benchmark captures.")
    ap.add_argument("files", nargs="*", help="captures (default: OUT/handshake-heavy.pcap OUT/bulk-heavy.pcap)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each tool per file (median reported)")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="where outputs and results.json go")
    ap.add_argument("--ours-cmd", choices=["module", "script"], default="module",
                    help="python -m analyzer (default) or the handshake-analyzer script")
    ap.add_argument("--jobs", type=int, default=None,
                    help="pass --jobs N to the analyzer (default: not passed, i.e. all cores; a large file is read in parts)")
    ap.add_argument("--tshark", default=shutil.which("tshark"), help="tshark binary")
    ap.add_argument("--pure-too", action="store_true",
                    help="also time the pure-Python core (HANDSHAKE_ANALYZER_PURE=1) in each round, and compare its CSV")
    ap.add_argument("--no-tshark", action="store_true", help="time only the analyzer")
    ap.add_argument("--ssldump", default=shutil.which("ssldump") or (
        "/usr/sbin/ssldump" if Path("/usr/sbin/ssldump").exists() else None), help="ssldump binary (the second peer)")
    ap.add_argument("--no-ssldump", action="store_true", help="leave ssldump out")
    ap.add_argument("--ssldump-args", default="",
                    help="extra ssldump flags after -n, e.g. '-N' (parse certificates) or '-A' (all record fields)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    ap.add_argument("--profile", metavar="FILE", help="run the analyzer on FILE under cProfile and print hot spots")
    ap.add_argument("--top", type=int, default=25, help="functions shown per profile listing")
    ap.add_argument("--decrypt", action="store_true", help="time decryption with the key log (default file: bulk-heavy)")
    ap.add_argument("--keylog", help="key log for --decrypt (default: pool-keylog-{bulk,hs}.txt)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Byte-compile the analyzer as a regular (non-editable) install does, so that no run pays
    # for compiling its modules (an editable install with PYTHONDONTWRITEBYTECODE=1 would:
    # ~0.06 s per run here).
    import compileall

    import analyzer

    compileall.compile_dir(str(Path(analyzer.__file__).parent), quiet=1)
    if args.profile:
        return profile(Path(args.profile).resolve(), out, args.top, args.timeout)
    if args.decrypt:
        files = [Path(f).resolve() for f in args.files] or [out / "bulk-heavy.pcap"]
        dresults = [bench_decrypt(f, args, None if args.no_tshark else args.tshark, _ssldump(args)) for f in files]
        print_decrypt(dresults)
        (out / "results-decrypt.json").write_text(json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                                              "results": dresults}, indent=1) + "\n")
        return 0
    files = [Path(f).resolve() for f in args.files] or [out / f for f in DEFAULT_FILES if (out / f).exists()]
    if not files:
        print("no captures: run benchmarks/make_captures.py first, or name files", file=sys.stderr)
        return 2
    tshark = None if args.no_tshark else args.tshark
    if not args.no_tshark and not tshark:
        print("tshark not found; timing only the analyzer", file=sys.stderr)
    ssldump = _ssldump(args)
    base = measure("ours-startup", [sys.executable, "-c", STARTUP_PROBE], None, args.timeout)
    print(f"== analyzer start-up (imports of the CLI, pipeline, report writers): "
          f"{base.seconds:.2f} s, {_fmt(base.peak_mb, '.0f')} MB", file=sys.stderr, flush=True)
    helps = [measure("ours-help", HELP_CMD, None, args.timeout) for _ in range(HELP_RUNS)]
    help_s = _median([r.seconds for r in helps])
    help_mb = _max([r.peak_mb for r in helps])
    results = [bench_file(f, args, tshark, ssldump) for f in files]
    print_table(results, args.jobs)
    print(f"analyzer start-up alone (importing the CLI, pipeline and report writers, no input): "
          f"{base.seconds:.2f} s, {_fmt(base.peak_mb, '.0f')} MB peak RSS")
    print(f"`connections --help` (median of {HELP_RUNS}): {_fmt(help_s, '.2f')} s, {_fmt(help_mb, '.0f')} MB peak RSS")
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "tshark": tshark},
        "repeat": args.repeat,
        "commands": {"ours": ours_cmd(Path("FILE"), "OUT.csv", args.ours_cmd, args.jobs),
                     "tshark": tshark_cmd(Path("FILE"), tshark or "tshark"),
                     "ssldump": ssldump_cmd(Path("FILE"), ssldump, shlex.split(args.ssldump_args)) if ssldump else None},
        "targets": {"speed_ratio": speed_targets(args.jobs), "peak_mb": MEMORY_TARGET_MB},
        "ours_startup": {"command": STARTUP_PROBE, "seconds": base.seconds, "peak_mb": base.peak_mb},
        "connections_help": {"command": HELP_CMD, "seconds": help_s, "peak_mb": help_mb},
        "results": results,
    }
    res_path = out / "results.json"
    res_path.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"\nresults written to {res_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
