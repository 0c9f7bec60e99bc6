"""Many capture files at once: a local process pool, or a Dask cluster.

Owns the per-file unit of work (`process_file`: one capture -> compact row tuples
in `COLUMNS` order, or an error), running it over many files (in this process,
in a `--jobs N` process pool, or on an existing `dask.distributed` cluster with
`--scheduler`), handing rows back in input order as results stream in, the
progress display by files and bytes, and the resumable output folder (`--out
DIR`): a Parquet dataset partitioned by capture plus a manifest of finished
files with their size and modification time.

Output folder layout::

    DIR/capture=<name, URI-quoted>/part-<hash of the file's absolute path>.parquet
    DIR/_manifest.jsonl      one JSON object per finished file (later lines win)

Each part file is written to a hidden temporary name and renamed into place,
then its manifest line is appended and flushed, so an interrupted run loses at
most the files in flight; a re-run with `resume=True` skips files whose size and
modification time match their manifest line and rewrites the others under the
same part name (never a duplicate). Files whose manifest line records an error
are tried again. Part files hold every column but `capture`, which is the
partition key (so pandas, DuckDB and Spark read `DIR` as one table). At the end
of a run the resumption lineage columns are linked across every file of the dataset
and the parts they change are rewritten the same atomic way (`analyzer.lineage`).

Nothing here parses packets or knows TLS; it calls `analyzer.pipeline`.
"""

from __future__ import annotations

import array
import dataclasses
import gc
import hashlib
import json
import os
import pickle
import shutil
import socket
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Protocol

if TYPE_CHECKING:  # the pipeline is imported where a file is read (the CLI imports this module for --help)
    from .parts import Part, PartInfo
    from .pipeline import Options

MANIFEST = "_manifest.jsonl"
def _here() -> tuple[str, int]:
    """This process (a forked worker has its own pid; read it at call time, not at import)."""
    return socket.gethostname(), os.getpid()
PARTITION = "capture"
_GC_TUNED = False


class BatchError(Exception):
    """The batch cannot run at all (bad output folder, unreachable scheduler ...)."""


@dataclass
class BatchOptions:
    """How to run many files: `jobs` local processes (None: all cores), or `scheduler`
    (a Dask scheduler address); `out` a dataset folder; `resume` skip finished files."""

    jobs: int | None = None
    scheduler: str | None = None
    out: Path | None = None
    resume: bool = False


@dataclass
class FileOutcome:
    """What one file gave: its rows (tuples in `COLUMNS` order) or the error that stopped it."""

    index: int
    path: str
    name: str
    size: int
    mtime_ns: int
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False  # finished by an earlier run (resume); rows read back from the dataset
    part: "PartInfo | None" = None  # one part of a file (analyzer.parts): what the merge needs
    rows_file: str | None = None    # a part's rows, pickled (read by merge_parts' _MergedParts)
    rows_streams: Any = None        # ... and the stream number of each of them
    key_use: "KeyUse | None" = None  # what the file's connections did with the key material
    frames: Any = None               # capture.FrameCounts: frames per link type, those not decoded


class RowSink(Protocol):
    def add_row(self, row: tuple[Any, ...]) -> None: ...


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns
    except OSError:
        return 0, 0


def _tune_gc() -> None:
    # Same reasoning as the sequential path: few cycles, many short-lived objects.
    global _GC_TUNED
    if not _GC_TUNED:
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        _GC_TUNED = True


def process_file(index: int, path: str, name: str, options: Options | None = None,
                 part: "Part | None" = None) -> FileOutcome:
    """Analyse one capture (or one part of it, see `analyzer.parts`) in this process and
    return compact rows (never raises for bad input)."""
    from .capture import CaptureError
    from .pipeline import FileResult, Options, analyze_file
    from .report.table import TableBuilder

    _tune_gc()
    size, mtime_ns = _stat(path)
    out = FileOutcome(index=index, path=path, name=name, size=size, mtime_ns=mtime_ns)
    t0 = time.perf_counter()
    builder = TableBuilder()
    res = FileResult(path=path, name=name)
    options = dataclasses.replace(options or Options(), events=False)  # rows only: no ladder events
    keys = options.keys
    before = (keys.connections, [k.matched for k in keys.server_keys]) if keys is not None else None
    tick = _part_ticker(part)
    # a part writes its rows to a spool file as they come: the parent reads them once this worker
    # has exited, so the workers' rows and the merged table are never in memory at the same time
    spool = _RowSpool(part.spool, part.index) if part is not None and part.spool is not None else None
    add = spool.add if spool is not None else builder.add
    try:
        for s in analyze_file(path, name=name, options=options, result=res, part=part, progress=tick):
            add(s)
    except CaptureError as e:
        out.error = str(e)
    except OSError as e:
        out.error = f"{path}: {e.strerror or e}"
    except Exception as e:  # a bug must cost one file, never the batch
        out.error = f"{path}: internal error: {type(e).__name__}: {e}"
    out.rows = builder.table().rows  # with an error: the rows read before it (a decompression bomb), else none
    if out.error is None:
        warnings = res.part.warnings if res.part is not None else res.capture.warnings if res.capture else []
        out.warnings = [f"{path}: {w}" for w in warnings]
    out.part = res.part
    out.frames = res.frames
    if keys is not None and before is not None:
        out.key_use = KeyUse(_here(), keys.connections - before[0],
                             {k.source: k.matched - m for k, m in zip(keys.server_keys, before[1])})
    if spool is not None:
        out.rows_file = spool.close()
        out.rows_streams = spool.streams
        if out.part is not None:
            out.part.detach(spool.path + ".info")
    out.seconds = time.perf_counter() - t0
    return out


@dataclass
class KeyUse:
    """How a file's connections used the run's key material in the process that read it (the
    parent adds it to its own KeyMaterial, so unmatched RSA keys are reported as without --jobs)."""

    process: tuple[str, int]
    connections: int
    matched: dict[str, int]

    def apply(self, keys: Any) -> None:
        if self.process == _here():
            return  # read in this process: already counted
        keys.connections += self.connections
        for k in keys.server_keys:
            k.matched += self.matched.get(k.source, 0)

    @staticmethod
    def combine(uses: "list[KeyUse | None]") -> "KeyUse | None":
        got = [u for u in uses if u is not None]
        if not got:
            return None
        matched: dict[str, int] = {}
        for u in got:
            for source, n in u.matched.items():
                matched[source] = matched.get(source, 0) + n
        return KeyUse(("parts", 0), sum(u.connections for u in got), matched)


class _RowSpool:
    """A part's rows, pickled to a file in chunks as its connections finish."""

    CHUNK = 2048

    def __init__(self, folder: str, index: int) -> None:
        from .report.table import TableBuilder

        fd, self.path = tempfile.mkstemp(prefix=f"part{index}-", suffix=".pickle", dir=folder)
        self._f = os.fdopen(fd, "wb")
        self._new = TableBuilder
        self._builder = TableBuilder()
        self.streams = array.array("q")  # the stream number of each row written (the merge counts with it)

    def add(self, summary: Any) -> None:
        self._builder.add(summary)
        if self._builder.rows >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._builder.rows:
            from .report.table import COLUMN_NAMES

            rows = self._builder.table().rows
            si = COLUMN_NAMES.index("stream")
            self.streams.extend(-1 if r[si] is None else r[si] for r in rows)
            pickle.dump(rows, self._f, protocol=pickle.HIGHEST_PROTOCOL)
            self._builder = self._new()

    def close(self) -> str:
        self._flush()
        self._f.close()
        return self.path


class _MergedParts:
    """The rows of a file read in parts, as one sequential run numbers them: read from the
    parts' spool files (or their row lists) and renumbered as they are iterated, so the whole
    file's rows are never in memory at once. Iterable any number of times; has a length."""

    def __init__(self, outs: list[FileOutcome], drops: list[set[int]], bases: list[int],
                 extra: list[tuple[Any, ...]]) -> None:
        from .report.table import COLUMN_NAMES

        self._outs, self._drops, self._bases, self._extra = outs, drops, bases, extra
        self._si, self._ti = COLUMN_NAMES.index("stream"), COLUMN_NAMES.index("transport")
        n = len(extra)
        for o, drop in zip(outs, drops):
            if o.rows_file is not None:
                n += sum(1 for s in o.rows_streams if s not in drop)
            else:
                n += sum(1 for r in o.rows if r[self._si] not in drop or r[self._ti] != "tcp")
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        from .parts import renumber
        from .report.table import read_row_chunks

        for o, drop, base in zip(self._outs, self._drops, self._bases):
            rows = read_row_chunks(o.rows_file) if o.rows_file is not None else o.rows
            yield from renumber(rows, drop, base, self._si, self._ti)
        yield from self._extra


def _part_ticker(part: "Part | None") -> Callable[[int], None] | None:
    """A progress callback writing a part's bytes read to its `_PART_PROGRESS` slot."""
    shared = _PART_PROGRESS
    if part is None or part.slot < 0 or shared is None or part.slot >= len(shared):
        return None
    slot, start, span = part.slot, part.start, part.end - part.start

    def tick(bytes_read: int) -> None:
        shared[slot] = min(max(bytes_read - start, 0), span)

    return tick


def merge_parts(outs: list[FileOutcome], options: Options | None = None) -> FileOutcome:
    """One file's outcome from the outcomes of its parts (in part order), as a sequential run
    would give it: see `analyzer.parts`. Its rows are read from the parts' spool files as
    they are used (in part order, not sorted: the sink sorts). Reads the file sequentially
    here when the parts cannot be merged exactly, and runs the UDP-only pass (QUIC, DTLS) when a part saw
    QUIC or DTLS."""
    from .parts import merge_plan
    from .pipeline import Options

    first = outs[0]
    t_parts = sum(o.seconds for o in outs)
    errors = [o.error for o in outs if o.error is not None]
    for o in outs:
        if o.part is not None:
            o.part.attach()
    unsure = None
    if not errors:
        drops, bases, unsure = merge_plan([o.part for o in outs if o.part is not None])
    if errors or unsure is not None or any(o.part is None for o in outs):
        # an error (e.g. a truncated file) is reported as a sequential run reports it
        return process_file(first.index, first.path, first.name, options)
    extra: list[tuple[Any, ...]] = []
    if any(o.part.udp for o in outs) and (options is None or options.quic or options.dtls):  # type: ignore[union-attr]
        extra = process_file(first.index, first.path, first.name,
                             dataclasses.replace(options or Options(), tcp=False)).rows
    from .capture.model import FrameCounts

    frames = FrameCounts()
    for o in outs:
        if o.part.frames is not None:  # type: ignore[union-attr]
            frames.add(o.part.frames)  # type: ignore[union-attr]
    warnings = [w for o in outs for w in o.warnings]
    nothing = frames.nothing_decoded()
    if nothing is not None:  # as a sequential run reports it (analyze_file)
        return FileOutcome(index=first.index, path=first.path, name=first.name, size=first.size,
                           mtime_ns=first.mtime_ns, error=f"{first.path}: {nothing}", seconds=t_parts)
    line = frames.warning()
    if line is not None:
        warnings.append(f"{first.path}: {line}")  # once for the file, with its totals
    out = FileOutcome(index=first.index, path=first.path, name=first.name, size=first.size,
                      mtime_ns=first.mtime_ns, warnings=warnings, frames=frames)
    out.rows = _MergedParts(outs, drops, bases, extra)  # type: ignore[assignment]
    out.key_use = KeyUse.combine([o.key_use for o in outs])
    out.seconds = t_parts
    return out


Task = tuple[int, str, str, "Part | None"]  # (input index, path, name, part of the file or None)


def process_files(tasks: list[Task], options: Options | None = None) -> list[FileOutcome]:
    """Several small files (or one part of a large one) in one task: amortises the per-task
    cost of a pool or a cluster."""
    return [process_file(i, path, name, options, part) for i, path, name, part in tasks]


def _split_plan(tasks: list[Task], sizes: dict[int, int], jobs: int, options: Options | None) -> list[Task]:
    """Fewer files than cores: cut the large ones into parts (see `analyzer.parts`)."""
    from .parts import plan, skip_ratio, splittable

    if jobs < 2 or len(tasks) >= jobs or (options is not None and (options.on_connection or options.app_data)):
        return tasks
    if options is not None and options.keys is not None and options.keys.server_keys:
        # a resumed session is decrypted with the master secret of its full handshake, found
        # earlier in the same process: with RSA keys (no key log line for the resumption), a
        # part could not see it
        return tasks
    per = max(2, jobs // len(tasks))
    out: list[Task] = []
    for i, path, name, _ in tasks:
        parts = plan(sizes.get(i, 0), per, skip_ratio(path)) if splittable(path, sizes.get(i, 0)) else []
        if len(parts) > 1:
            out.extend((i, path, name, p) for p in parts)
        else:
            out.append((i, path, name, None))
    return out


def splits(files: list[Path], jobs: int | None, options: Options | None = None) -> bool:
    """Whether `run_batch` would read one of `files` in parts on `jobs` processes."""
    jobs = jobs if jobs is not None else default_jobs()
    tasks: list[Task] = [(i, str(f), f.name, None) for i, f in enumerate(files)]
    sizes = {i: _stat(str(f))[0] for i, f in enumerate(files)}
    return any(t[3] is not None for t in _split_plan(tasks, sizes, jobs, options))


class _Joiner:
    """Holds the outcomes of a file's parts until all are in, then merges them."""

    def __init__(self, tasks: list[Task], options: Options | None) -> None:
        self.options = options
        self.expected: dict[int, int] = {}
        for i, _p, _n, part in tasks:
            if part is not None:
                self.expected[i] = part.count
        self.got: dict[int, list[FileOutcome]] = {}

    def __call__(self, outs: Iterable[FileOutcome]) -> Iterator[FileOutcome]:
        for out in outs:
            if out.index not in self.expected:
                yield out
                continue
            lst = self.got.setdefault(out.index, [])
            lst.append(out)
            if len(lst) == self.expected[out.index]:
                del self.got[out.index]
                lst.sort(key=lambda o: o.part.index if o.part is not None else -1)
                yield merge_parts(lst, self.options)


CHUNK_BYTES = 4_000_000   # files smaller than this are grouped into one task ...
CHUNK_FILES = 32          # ... up to this many


def _chunks(tasks: list[Task], sizes: dict[int, int], workers: int) -> Iterator[list[Task]]:
    """Tasks of up to CHUNK_FILES small files, never so few that `workers` would sit idle;
    a part of a file is a task of its own."""
    per = max(1, min(CHUNK_FILES, len(tasks) // (workers * 4)))
    group: list[Task] = []
    total = 0
    for t in tasks:
        if t[3] is not None:
            yield [t]
            continue
        group.append(t)
        total += sizes.get(t[0], 0)
        if total >= CHUNK_BYTES or len(group) >= per:
            yield group
            group, total = [], 0
    if group:
        yield group


def error_row(name: str, message: str) -> tuple[Any, ...]:
    """The row that stands for an unreadable file in an output dataset: capture and errors only."""
    from .report.table import COLUMN_NAMES

    vals: list[Any] = [None] * len(COLUMN_NAMES)
    vals[COLUMN_NAMES.index("capture")] = name
    vals[COLUMN_NAMES.index("errors")] = (message,)
    return tuple(vals)


# --------------------------------------------------------------------------- output folder


def _part_name(path: str) -> str:
    return "part-" + hashlib.sha1(os.path.abspath(path).encode("utf-8", "surrogateescape")).hexdigest()[:20] + ".parquet"


def _partition_dir(name: str) -> str:
    return f"{PARTITION}=" + urllib.parse.quote(name, safe="")


class Dataset:
    """The `--out DIR` folder: Parquet parts partitioned by capture and the manifest."""

    def __init__(self, root: Path, *, resume: bool) -> None:
        self.root = root
        self.manifest_path = root / MANIFEST
        if root.exists() and not root.is_dir():
            raise BatchError(f"{root}: exists and is not a folder")
        self.done: dict[str, dict[str, Any]] = {}
        if self.manifest_path.exists():
            if not resume:
                raise BatchError(f"{root}: already holds a batch ({MANIFEST}); add --resume to continue it, "
                                 "or give an empty folder")
            self.done = self._read_manifest()
        root.mkdir(parents=True, exist_ok=True)
        self._clean_temporaries()
        # rewrite the manifest compactly (one line per file), atomically
        self._rewrite_manifest()
        self._fh = open(self.manifest_path, "a", encoding="utf-8")

    def _read_manifest(self) -> dict[str, dict[str, Any]]:
        done: dict[str, dict[str, Any]] = {}
        with open(self.manifest_path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash
                if isinstance(rec, dict) and isinstance(rec.get("path"), str):
                    done[rec["path"]] = rec
        return done

    def _rewrite_manifest(self) -> None:
        tmp = self.root / f".{MANIFEST}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            for rec in self.done.values():
                f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.manifest_path)

    def _clean_temporaries(self) -> None:
        for p in self.root.rglob(".*.tmp-*"):
            try:
                p.unlink()
            except OSError:
                pass

    def finished(self, path: str, size: int, mtime_ns: int) -> dict[str, Any] | None:
        rec = self.done.get(path)
        if rec and rec.get("error") is None and rec.get("size") == size and rec.get("mtime_ns") == mtime_ns:
            return rec
        return None

    def write(self, outcome: FileOutcome) -> None:
        """Write one file's rows (or its error row) atomically, then record it in the manifest."""
        rows: Any = outcome.rows if outcome.error is None else outcome.rows + [error_row(outcome.name, outcome.error)]
        part: str | None = None
        if len(rows):
            d = self.root / _partition_dir(outcome.name)
            d.mkdir(parents=True, exist_ok=True)
            final = d / _part_name(outcome.path)
            tmp = d / f".{final.name}.tmp-{os.getpid()}"
            _write_part(rows, tmp)
            os.replace(tmp, final)
            part = str(final.relative_to(self.root))
        rec = {"path": outcome.path, "capture": outcome.name, "size": outcome.size, "mtime_ns": outcome.mtime_ns,
               "rows": len(outcome.rows), "part": part, "error": outcome.error, "seconds": round(outcome.seconds, 6)}
        self.done[outcome.path] = rec
        self._fh.write(json.dumps(rec) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def read_rows(self, rec: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of a finished file, read back from its part file, in `COLUMNS` order, without their
        lineage columns (the run links them again over all its files)."""
        from .lineage import clear_lineage

        if not rec.get("part"):
            return []
        return [clear_lineage(r) for r in read_part(self.root / rec["part"], rec["capture"])]

    def link_lineage(self) -> int:
        """The end of a run: link the resumption lineage over every part of the dataset (this run's files
        and those of earlier runs it resumed) and rewrite the parts it changed (`analyzer.lineage`)."""
        from .lineage import link_dataset

        parts = []
        for path in sorted(self.done):
            rec = self.done[path]
            if rec.get("part") and (self.root / rec["part"]).exists():
                parts.append((rec["capture"], self.root / rec["part"]))
        return link_dataset(parts)

    def close(self) -> None:
        self._fh.close()


def _write_part(rows: Iterable[tuple[Any, ...]], path: Path) -> None:
    """Rows to one Parquet file, 4,096 at a time (a large capture's rows are not all in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .report.table import COLUMNS, SLICE_ROWS, arrow_type

    keep = [i for i, c in enumerate(COLUMNS) if c.name != PARTITION]
    types = [arrow_type(COLUMNS[i].type) for i in keep]
    schema = pa.schema([pa.field(COLUMNS[i].name, t) for i, t in zip(keep, types)])

    def batch(chunk: list[tuple[Any, ...]]) -> Any:
        cols = list(zip(*chunk))
        return pa.RecordBatch.from_arrays([pa.array(cols[i], type=t) for i, t in zip(keep, types)], schema=schema)

    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[tuple[Any, ...]] = []
        for r in rows:
            chunk.append(r)
            if len(chunk) >= SLICE_ROWS:
                writer.write_batch(batch(chunk))
                chunk = []
        if chunk:
            writer.write_batch(batch(chunk))


def read_part(path: Path, capture: str) -> list[tuple[Any, ...]]:
    import datetime as _dt

    import pyarrow.parquet as pq

    from .report.table import COLUMNS

    table = pq.read_table(path)
    have = set(table.column_names)
    data = {n: table.column(n).to_pylist() for n in have}
    n = table.num_rows
    cols: list[list[Any]] = []
    for c in COLUMNS:
        if c.name == PARTITION:
            cols.append([capture] * n)
        elif c.name in have:
            vals = data[c.name]
            if c.type == "list":
                vals = [tuple(v) if v is not None else None for v in vals]
            elif c.type == "time":
                vals = [v.astimezone(_dt.timezone.utc) if v is not None else None for v in vals]
            cols.append(vals)
        else:  # a column added since that run
            cols.append([None] * n)
    return list(zip(*cols)) if n else []


# --------------------------------------------------------------------------- running


class _Progress:
    """Progress by files and bytes on stderr (rich), only when asked for."""

    def __init__(self, console: Any, enabled: bool, files: int, total_bytes: int) -> None:
        self.enabled = enabled
        self.files = files
        if not enabled:
            return
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self.p = Progress(
            TextColumn("{task.fields[nfiles]}/{task.fields[files]} files"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=True,
        )
        self.task = self.p.add_task("batch", total=total_bytes or None, nfiles=0, files=files)
        self.nfiles = 0
        self.nbytes = 0

    def __enter__(self) -> "_Progress":
        if self.enabled:
            self.p.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self.p.__exit__(*exc)

    def advance(self, size: int) -> None:
        if self.enabled:
            self.nfiles += 1
            self.nbytes += size
            self.p.update(self.task, completed=self.nbytes, nfiles=self.nfiles)

    def in_flight(self, nbytes: int) -> None:
        """Bytes read so far by the parts of files not finished yet."""
        if self.enabled:
            self.p.update(self.task, completed=self.nbytes + nbytes)


# Bytes read by each running part of a large file, in shared memory: set by run_batch before
# the (forked) workers start, written by process_file, read for the progress bar.
_PART_PROGRESS: Any = None


@dataclass
class BatchResult:
    files_ok: int = 0
    files_failed: int = 0
    files_skipped: int = 0
    rows: int = 0


def _run_local_pool(jobs: int, chunks: Iterable[list[Task]],
                    options: Options | None, on_wait: Callable[[], None] | None = None) -> Iterator[FileOutcome]:
    import multiprocessing as mp

    ctx = mp.get_context("fork") if sys.platform.startswith("linux") else None
    window = jobs * 2
    last: list[FileOutcome] = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        pending: dict[Future[list[FileOutcome]], list[Task]] = {}
        it = iter(chunks)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < window:
                    c = next(it, None)
                    if c is None:
                        exhausted = True
                        break
                    pending[pool.submit(process_files, c, options)] = c
                if not pending:
                    break
                done, _ = wait(pending, timeout=0.25 if on_wait else None, return_when=FIRST_COMPLETED)
                if on_wait is not None:
                    on_wait()
                outs = [o for fut in done for o in _outcomes_of(fut, pending.pop(fut))]
                if exhausted and not pending:
                    last = outs  # handed out once the workers have exited (their memory is back)
                    break
                yield from outs
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    yield from last


def _outcomes_of(fut: Any, chunk: list[Task]) -> list[FileOutcome]:
    try:
        return fut.result()
    except Exception as e:  # the worker died (killed, out of memory ...)
        outs = []
        for i, path, name, part in chunk:
            size, mtime_ns = _stat(path)
            outs.append(FileOutcome(index=i, path=path, name=name, size=size, mtime_ns=mtime_ns,
                                    error=f"{path}: worker failed: {type(e).__name__}: {e}"))
        return outs


def _run_dask(address: str, chunks: Iterable[list[Task]],
              options: Options | None) -> Iterator[FileOutcome]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as e:  # pragma: no cover - dask is a dependency
        raise BatchError(f"--scheduler needs dask.distributed: {e}") from e
    try:
        client = Client(address, timeout=15, set_as_default=False)
    except Exception as e:
        raise BatchError(f"cannot reach the Dask scheduler at {address}: {e}") from e
    try:
        nworkers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values()))
        window = max(4, nworkers * 2)
        it = iter(chunks)
        meta: dict[str, list[Task]] = {}

        def submit_one() -> Any:
            c = next(it, None)
            if c is None:
                return None
            fut = client.submit(process_files, c, options, pure=False)
            meta[fut.key] = c
            return fut

        first = [f for f in (submit_one() for _ in range(window)) if f is not None]
        if not first:
            return
        ac = as_completed(first, loop=client.loop)
        for fut in ac:
            outs = _outcomes_of(fut, meta.pop(fut.key))
            fut.release()
            nxt = submit_one()
            if nxt is not None:
                ac.add(nxt)
            yield from outs
    finally:
        client.close()


def run_batch(
    files: list[Path],
    sink: RowSink | None,
    *,
    batch: BatchOptions,
    options: Options | None = None,
    console: Any = None,
    show_progress: bool = False,
    on_error: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
    on_frames: Callable[[str, Any], None] | None = None,
) -> BatchResult:
    """Run `process_file` over `files` and pass every row to `sink.add_row`, in input order.
    `on_frames(capture name, FrameCounts)` gets the frame counts of each file read (not of
    files skipped by `resume`).

    Rows are written to the `batch.out` dataset as each file finishes (in
    completion order); once all have, the resumption lineage is linked over all
    the dataset's parts and the parts it changed are rewritten (`analyzer.lineage`).
    Raises `BatchError` when the batch cannot start.
    """
    dataset = Dataset(batch.out, resume=batch.resume) if batch.out is not None else None
    result = BatchResult()
    tasks: list[Task] = []
    ready: dict[int, FileOutcome] = {}
    sizes: dict[int, int] = {}
    for i, f in enumerate(files):
        path = os.path.abspath(f)
        size, mtime_ns = _stat(path)
        sizes[i] = size
        rec = dataset.finished(path, size, mtime_ns) if dataset is not None and batch.resume else None
        if rec is not None:
            ready[i] = FileOutcome(index=i, path=path, name=f.name, size=size, mtime_ns=mtime_ns, skipped=True)
            ready[i].rows = dataset.read_rows(rec) if sink is not None else []  # type: ignore[union-attr]
            continue
        tasks.append((i, path, f.name, None))
    result.files_skipped = len(ready)

    next_index = 0

    def release_in_order() -> None:
        nonlocal next_index
        while next_index in ready:
            out = ready.pop(next_index)
            if sink is not None:  # a failed file has no rows, or those read before its error
                add = sink.add_row
                for r in out.rows:
                    add(r)
            next_index += 1

    release_in_order()
    total = sum(sizes[t[0]] for t in tasks)
    jobs = batch.jobs if batch.jobs is not None else default_jobs()
    nfiles = len(tasks)
    if not batch.scheduler:
        tasks = _split_plan(tasks, sizes, jobs, options)
    spool = None
    if any(t[3] is not None for t in tasks):
        spool = tempfile.mkdtemp(prefix="handshake-analyzer-parts-")
        tasks = [(i, p, n, part if part is None else dataclasses.replace(part, spool=spool)) for i, p, n, part in tasks]
    slots: dict[int, list[int]] = {}  # input index -> progress slots of its parts
    global _PART_PROGRESS
    if show_progress and any(t[3] is not None for t in tasks):
        import multiprocessing as mp

        numbered: list[Task] = []
        for i, path, name, part in tasks:
            if part is not None:
                slots.setdefault(i, []).append(len(numbered))
                part = dataclasses.replace(part, slot=len(numbered))
            numbered.append((i, path, name, part))
        tasks = numbered
        _PART_PROGRESS = mp.Array("q", len(tasks), lock=False)  # inherited by the forked workers
    shared = _PART_PROGRESS if slots else None
    try:
        with _Progress(console, show_progress, nfiles, total) as progress:
            on_wait = (lambda: progress.in_flight(sum(shared))) if shared is not None else None
            if batch.scheduler:
                outcomes: Iterable[FileOutcome] = _run_dask(batch.scheduler, _chunks(tasks, sizes, 4), options)
            elif jobs > 1 and len(tasks) > 1:
                outcomes = _Joiner(tasks, options)(
                    _run_local_pool(min(jobs, len(tasks)), _chunks(tasks, sizes, jobs), options, on_wait))
            else:
                outcomes = (process_file(i, p, n, options) for i, p, n, _ in tasks)
            for out in outcomes:
                for k in slots.pop(out.index, []):
                    shared[k] = 0  # type: ignore[index]
                if out.key_use is not None and options is not None and options.keys is not None:
                    out.key_use.apply(options.keys)
                if dataset is not None:
                    dataset.write(out)
                if out.error is not None:
                    result.files_failed += 1
                    if on_error:
                        on_error(out.error)
                else:
                    result.files_ok += 1
                    result.rows += len(out.rows)
                    if on_warning:
                        for w in out.warnings:
                            on_warning(w)
                    if on_frames is not None and out.frames is not None:
                        on_frames(out.name, out.frames)
                progress.advance(out.size)
                ready[out.index] = out
                release_in_order()
        if dataset is not None:  # parts were written as files finished: now link across all of them
            dataset.link_lineage()
    finally:
        _PART_PROGRESS = None
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)
        if dataset is not None:
            dataset.close()
    result.files_ok += result.files_skipped
    return result


def read_dataset(root: str | os.PathLike) -> "Any":
    """The `--out` dataset as a pandas DataFrame (capture as a plain string column), sorted by capture and stream."""
    import pyarrow.parquet as pq

    from .report.table import COLUMN_NAMES, arrow_to_dataframe

    table = pq.read_table(os.fspath(root), partitioning="hive")
    if PARTITION in table.column_names:
        idx = table.column_names.index(PARTITION)
        table = table.set_column(idx, PARTITION, table.column(PARTITION).cast("string"))
    names = [n for n in COLUMN_NAMES if n in table.column_names]
    df = arrow_to_dataframe(table.select(names))
    return df.sort_values(["capture", "stream"], kind="stable", na_position="first").reset_index(drop=True)


__all__ = ["BatchError", "BatchOptions", "BatchResult", "Dataset", "FileOutcome", "MANIFEST", "default_jobs",
           "error_row", "process_file", "process_files", "read_dataset", "read_part", "run_batch"]
