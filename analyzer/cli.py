"""The command line (typer): thin commands over the Python API and the report writers.

Owns argument parsing, progress display, error lines on stderr and exit codes:
0 everything read, 1 some input could not be read (rows for the rest are still
written), 2 usage error or nothing could be read.

Start-up: this module imports only typer at the top; the pipeline (and with it the TLS
parsers and `cryptography`), `analyzer.batch`, rich and the report writers are imported
inside the commands that use them, so `--help` and `--version` do not load them
(tests/test_startup.py checks that).
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer

from . import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from .batch import BatchOptions, RowSink
    from .capture.model import FrameCounts
    from .decrypt import KeyMaterial
    from .pipeline import Options
    from .tls.summary import ConnectionSummary

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold key material (older typer showed them by default)
    help="Offline TLS handshake analyzer for pcap/pcapng captures.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_stderr: "Console | None" = None


def _err() -> "Console":
    """The rich console on stderr (error lines, progress bars), made on first use."""
    global _stderr
    if _stderr is None:
        from rich.console import Console

        _stderr = Console(stderr=True)
    return _stderr


def _version(value: bool) -> None:
    if value:
        from ._core import describe

        typer.echo(f"handshake-analyzer {__version__} ({describe()})")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Offline TLS handshake analyzer for pcap/pcapng captures."""


def _say(kind: str, msg: str) -> None:
    from .report.writers import safe_text

    colour = "red" if kind == "error" else "yellow"
    _err().print(f"[{colour}]{kind}:[/{colour}] {safe_text(msg)}", highlight=False, soft_wrap=True)


INPUTS_HELP = "Capture files (pcap, pcapng, optionally .gz) or folders searched recursively. Default: the bundled captures/."


def jobs_option() -> Any:
    """`--jobs N` for any command that takes files (pass the value on in `BatchOptions`)."""
    return typer.Option(None, "--jobs", "-j", min=1,
                        help="Parallel worker processes (default: all cores); with fewer files than that, "
                             "a large capture is read in parts, one per process.")


def scheduler_option() -> Any:
    """`--scheduler ADDRESS` for any command that takes files."""
    return typer.Option(None, "--scheduler", metavar="tcp://HOST:8786",
                        help="Run the per-file work on this Dask distributed scheduler (paths must be readable by its workers).")


def out_option() -> Any:
    return typer.Option(None, "--out", metavar="DIR",
                        help="Also write a Parquet dataset partitioned by capture and a manifest of finished files to DIR.")


def resume_option() -> Any:
    return typer.Option(False, "--resume", help="With --out: skip files already finished in DIR (same size and mtime).")


def keylog_option() -> Any:
    return typer.Option([], "--keylog", metavar="FILE",
                        help="NSS key log (SSLKEYLOGFILE) to decrypt with; repeatable. pcapng Decryption Secrets Blocks are used anyway.")


def key_option() -> Any:
    return typer.Option([], "--key", metavar="FILE",
                        help="Server RSA private key (PEM PKCS#1/PKCS#8, DER or PKCS#12), matched to certificates; repeatable.")


def psk_option() -> Any:
    return typer.Option([], "--psk", metavar="[IDENTITY=]HEX",
                        help="Pre-shared key of TLS 1.2 PSK suites (TLS_PSK_WITH_*), hex; IDENTITY= picks it by the "
                             "ClientKeyExchange psk_identity; repeatable (at most one without identity).")


def key_password_option() -> Any:
    return typer.Option(None, "--key-password", envvar="HANDSHAKE_ANALYZER_KEY_PASSWORD",
                        help="Password of encrypted --key files (or set HANDSHAKE_ANALYZER_KEY_PASSWORD).")


def run_analysis(
    inputs: list[Path] | None,
    consume: Callable[[ConnectionSummary], None],
    *,
    quiet: bool = False,
    options: Options | None = None,
    batch: "BatchOptions | None" = None,
    on_frames: "Callable[[str, FrameCounts], None] | None" = None,
) -> tuple[int, int]:
    """Analyse every capture under `inputs`, passing each summary to `consume`, and
    `on_frames(capture name, FrameCounts)` the frames of each file read (per link type).

    Errors and warnings go to stderr, one line each; a progress bar (by bytes) is shown
    when stderr is a terminal. Returns (files read, inputs that failed); exits with 2
    when the inputs are unusable.

    `batch` (from `--jobs`, `--scheduler`, `--out`, `--resume`) runs the files in
    parallel through `analyzer.batch`. Worker processes return rows, not summaries,
    so that path is taken only when `consume` takes rows: an object with
    `add_row(row)` (e.g. a `TableBuilder`) or a bound method of one (`builder.add`).
    Summary consumers (ladders ...) always run here, one file after the other.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from .batch import default_jobs, splits
    from .capture import CaptureError
    from .inputs import bundled_captures_dir, expand_inputs
    from .pipeline import FileResult, Options, analyze_file
    from .tls.certs import CertCache

    if not inputs:
        default = bundled_captures_dir()
        if not default.is_dir():
            _say("error", "no input given and no bundled sample captures found; give capture files or folders")
            raise typer.Exit(2)
        inputs = [default]
    files, problems = expand_inputs(inputs)
    failed = 0
    for p in problems:
        _say("error", p)
        failed += 1
    if not files:
        raise typer.Exit(2)
    sink = _row_sink(consume)
    if sink is not None:  # rows only: the ladder events of each connection are not needed
        options = dataclasses.replace(options or Options(), events=False)
    # Long runs allocate many small, short-lived objects and few cycles: collecting
    # less often saves ~10% of the run (measured on 20,000 handshakes). The same for the batch
    # path's parent (reading the workers' rows back, the table, lineage, CSV: -11 % of its
    # instructions after start-up, 6,165 rows read in two parts); frozen before the workers fork,
    # the start-up's objects are not traversed by their collector either (no copy-on-write).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    if batch is not None and sink is not None and (
        batch.scheduler or batch.out is not None or ((batch.jobs or default_jobs()) > 1 and len(files) > 1)
        or splits(files, batch.jobs, options)
    ):
        return _run_batch(files, sink, batch, options, quiet, failed, on_frames)

    show_progress = not quiet and _err().is_terminal
    total = sum(_size(f) for f in files)
    certs = CertCache()
    read_ok = 0
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=_err(), transient=True, disable=not show_progress,
    )
    with progress:
        task = progress.add_task("reading", total=total or None)
        done = 0
        for f in files:
            progress.update(task, description=f.name[:40])
            res = FileResult(path=str(f), name=f.name)
            tick = (lambda n, base=done: progress.update(task, completed=base + n)) if show_progress else None
            try:
                for s in analyze_file(f, options=options, result=res, cert_cache=certs, progress=tick):
                    consume(s)
            except CaptureError as e:
                _say("error", str(e))
                failed += 1
                continue
            except OSError as e:
                _say("error", f"{f}: {e.strerror or e}")
                failed += 1
                continue
            except Exception as e:  # a bug must cost one file, never the run (no traceback, no locals)
                _say("error", f"{f}: internal error: {type(e).__name__}: {e}")
                failed += 1
                continue
            read_ok += 1
            done += _size(f)
            progress.update(task, completed=done)
            if not quiet and res.capture is not None:
                for w in res.capture.warnings:
                    _say("warning", f"{f}: {w}")
            if on_frames is not None and res.frames is not None:
                on_frames(f.name, res.frames)
    return read_ok, failed


@app.command()
def connections(
    inputs: list[Path] = typer.Argument(None, metavar="[FILE_OR_DIR]...", help=INPUTS_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, jsonl, json or parquet."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout (required for parquet)."),
    tls_only: bool = typer.Option(False, "--tls-only", help="Leave out TCP connections that carried no TLS."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
    jobs: Optional[int] = jobs_option(),
    scheduler: Optional[str] = scheduler_option(),
    out: Optional[Path] = out_option(),
    resume: bool = resume_option(),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
) -> None:
    """One row per connection: versions, cipher suites, SNI, ALPN, session resumption, certificates and why handshakes failed."""
    from .batch import BatchOptions
    from .report.table import TableBuilder
    from .report.writers import FORMATS, write

    if fmt not in FORMATS:
        _say("error", f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
        raise typer.Exit(2)
    if fmt == "parquet" and output is None:
        _say("error", "--format parquet needs --output PATH")
        raise typer.Exit(2)
    rows = TableBuilder()
    keys, opts = _keyed_options(keylog, key, key_password, quiet, include_non_tls=not tls_only, psk=psk)
    read_ok, failed = run_analysis(inputs, rows.add, quiet=quiet, options=opts,
                                   batch=BatchOptions(jobs=jobs, scheduler=scheduler, out=out, resume=resume))
    _report_unused_keys(keys, quiet)
    if read_ok == 0:
        raise typer.Exit(2)
    from .lineage import link_rows

    try:
        write(link_rows(rows.table()), fmt, str(output) if output else None)
    except BrokenPipeError:
        os._exit(0)
    except OSError as e:
        _say("error", f"cannot write {output}: {e.strerror or e}")
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


def _key_material(keylog: list[Path], key: list[Path], password: Optional[str], quiet: bool,
                  psk: list[str] | None = None) -> "KeyMaterial | None":
    """Load --keylog/--key files and --psk keys (exit 2 when one is unusable); bad key log lines are warnings."""
    from .decrypt.keys import KeyFileError, load_key_material

    if not keylog and not key and not psk:
        return None
    try:
        km = load_key_material(keylog, key, password, psk)
    except KeyFileError as e:
        _say("error", str(e))
        raise typer.Exit(2)
    # outputs may hold what only the keys reveal (TLS 1.3 certificates, decrypted data): owner-only files
    os.umask(os.umask(0o077) | 0o077)
    if not quiet:
        for p in km.problems:
            _say("warning", p)
    return km


def _keyed_options(keylog: list[Path], key: list[Path], password: Optional[str], quiet: bool,
                   psk: list[str] | None = None, **options: Any) -> tuple["KeyMaterial | None", Options]:
    """The key material of `--keylog`/`--key`/`--key-password`/`--psk` and the `Options` that decrypt with it
    (pcapng Decryption Secrets Blocks are used with or without them); for every command that analyses."""
    from .pipeline import Options

    keys = _key_material(keylog, key, password, quiet, psk)
    return keys, Options(keys=keys, keylog=str(keylog[0]) if keylog else None, **options)


def _report_unused_keys(keys: "KeyMaterial | None", quiet: bool) -> None:
    if keys is None or quiet or not keys.connections:
        return  # (in a batch the matching happened in worker processes)
    for source in keys.unmatched_keys():
        _say("warning", f"RSA key {source} matched no server certificate")


def _row_sink(consume: object) -> "RowSink | None":
    if callable(getattr(consume, "add_row", None)):
        return consume  # type: ignore[return-value]
    owner = getattr(consume, "__self__", None)
    if owner is not None and callable(getattr(owner, "add_row", None)):
        return owner  # type: ignore[no-any-return]
    return None


def _run_batch(files: list[Path], sink: "RowSink", batch: "BatchOptions", options: Options | None,
               quiet: bool, failed: int,
               on_frames: "Callable[[str, FrameCounts], None] | None" = None) -> tuple[int, int]:
    """The parallel / Dask / resumable path of `run_analysis` (see `analyzer.batch`)."""
    from .batch import BatchError, run_batch

    try:
        res = run_batch(
            files, sink, batch=batch, options=options, console=_err(),
            show_progress=not quiet and _err().is_terminal,
            on_error=lambda m: _say("error", m),
            on_warning=None if quiet else (lambda m: _say("warning", m)),
            on_frames=on_frames,
        )
    except BatchError as e:
        _say("error", str(e))
        raise typer.Exit(2)
    except OSError as e:
        _say("error", f"cannot write {batch.out}: {e.strerror or e}")
        raise typer.Exit(2)
    return res.files_ok, failed + res.files_failed


@app.command()
def fingerprints(
    inputs: list[Path] = typer.Argument(None, metavar="[FILE_OR_DIR]...", help=INPUTS_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or jsonl."),
    kind: list[str] = typer.Option([], "--kind", "-k", help="Only these kinds (ja4, ja3, ja4s, ja3s, ja4x); repeatable."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
) -> None:
    """Distinct JA3/JA3S/JA4/JA4S/JA4X fingerprints with their counts, SNIs and servers (JA4X of TLS 1.3 needs keys)."""
    from .report.writers import FINGERPRINT_FORMATS, write_fingerprints
    from .tls.fingerprints import FINGERPRINT_KINDS, FingerprintTally

    bad = [k for k in kind if k not in FINGERPRINT_KINDS]
    if bad or fmt not in FINGERPRINT_FORMATS:
        _say("error", f"--kind takes {', '.join(FINGERPRINT_KINDS)}; --format takes {', '.join(FINGERPRINT_FORMATS)}")
        raise typer.Exit(2)
    tally = FingerprintTally(tuple(kind) or FINGERPRINT_KINDS)
    keys, opts = _keyed_options(keylog, key, key_password, quiet, include_non_tls=False, psk=psk)
    read_ok, failed = run_analysis(inputs, tally.add, quiet=quiet, options=opts)
    _report_unused_keys(keys, quiet)
    if read_ok == 0:
        raise typer.Exit(2)
    try:
        write_fingerprints(tally.rows(), fmt)
    except BrokenPipeError:
        os._exit(0)
    if failed:
        raise typer.Exit(1)


@app.command()
def audit(
    inputs: list[Path] = typer.Argument(None, metavar="[FILE_OR_DIR]...", help=INPUTS_HELP),
    policy_file: Optional[Path] = typer.Option(None, "--policy", "-p", metavar="POLICY.toml",
                                               help="Policy file: disable, re-rate or tune rules (default: the built-in policy)."),
    fail_on: Optional[str] = typer.Option(None, "--fail-on", metavar="high|medium|low|never",
                                          help="Exit 1 when a finding is at least this severe (default: the policy's fail_on, else low)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, jsonl, json, parquet or sarif."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write findings to this file instead of stdout (required for parquet)."),
    list_rules: bool = typer.Option(False, "--list-rules", help="Print the rules of the policy (id, severity, title) and exit."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar, warnings or summary line on stderr."),
    jobs: Optional[int] = jobs_option(),
    scheduler: Optional[str] = scheduler_option(),
    out: Optional[Path] = out_option(),
    resume: bool = resume_option(),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
) -> None:
    """Check every TLS connection against a policy; print findings. Exit 0 clean, 1 findings at/above --fail-on, 2 usage or input error."""
    from .audit import FAIL_ON, FINDING_FORMATS, Auditor, PolicyError, default_policy, failing, load_policy, write_findings
    from .batch import BatchOptions

    try:
        policy = load_policy(policy_file) if policy_file is not None else default_policy()
    except PolicyError as e:
        _say("error", str(e))
        raise typer.Exit(2)
    if list_rules:
        for a in policy.rules:
            typer.echo(f"{a.rule.id:26} {a.severity:7} {a.rule.title}")
        raise typer.Exit(0)
    threshold = fail_on or policy.fail_on or "low"
    if threshold not in FAIL_ON:
        _say("error", f"unknown --fail-on {threshold!r}; choose one of {', '.join(FAIL_ON)}")
        raise typer.Exit(2)
    if fmt not in FINDING_FORMATS:
        _say("error", f"unknown --format {fmt!r}; choose one of {', '.join(FINDING_FORMATS)}")
        raise typer.Exit(2)
    if fmt == "parquet" and output is None:
        _say("error", "--format parquet needs --output PATH")
        raise typer.Exit(2)
    auditor = Auditor(policy)
    keys, opts = _keyed_options(keylog, key, key_password, quiet, include_non_tls=False, include_plaintext=True,
                                psk=psk)
    read_ok, failed = run_analysis(inputs, auditor.add, quiet=quiet, options=opts,
                                   batch=BatchOptions(jobs=jobs, scheduler=scheduler, out=out, resume=resume))
    _report_unused_keys(keys, quiet)
    if read_ok == 0:
        raise typer.Exit(2)
    findings = auditor.sorted_findings()
    try:
        write_findings(findings, fmt, str(output) if output else None, policy=policy, version=__version__)
    except BrokenPipeError:
        os._exit(0)
    except OSError as e:
        _say("error", f"cannot write {output}: {e.strerror or e}")
        raise typer.Exit(2)
    for msg in auditor.rule_errors[:20]:
        _say("warning", msg)
    gate = failing(findings, threshold)
    if not quiet:
        c = auditor.counts()
        _err().print(f"audit: {auditor.connections} TLS connections in {read_ok} files, {len(findings)} findings "
                   f"(high {c['high']}, medium {c['medium']}, low {c['low']}); {gate} at or above --fail-on {threshold}"
                   + (f"; cert rules skipped on {auditor.cert_rules_skipped} TLS 1.3 connections without keys"
                      if auditor.cert_rules_skipped else ""),
                   highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(2)
    if gate:
        raise typer.Exit(1)


@app.command()
def inventory(
    inputs: list[Path] = typer.Argument(None, metavar="[CAPTURES]...", help=INPUTS_HELP),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json, csv or cyclonedx (a CycloneDX 1.6 CBOM)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
    jobs: Optional[int] = jobs_option(),
    scheduler: Optional[str] = scheduler_option(),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
) -> None:
    """Cryptographic inventory: per server, per client fingerprint and in total, the versions, suites, groups
    (post-quantum marked), signatures, certificates, ALPN, resumption and weak findings seen."""
    from .batch import BatchOptions
    from .lineage import link_rows
    from .report.inventory import INVENTORY_FORMATS, inventory_of_rows, write_inventory
    from .report.table import TableBuilder

    if fmt not in INVENTORY_FORMATS:
        _say("error", f"unknown --format {fmt!r}; choose one of {', '.join(INVENTORY_FORMATS)}")
        raise typer.Exit(2)
    # the rows are kept (spilled to disk past MAX_ROWS_IN_MEMORY) and their resumption lineage linked
    # before the facts are counted, so the weak findings are the audit's, lineage rules included
    rows = TableBuilder()
    keys, opts = _keyed_options(keylog, key, key_password, quiet, include_non_tls=False, psk=psk)
    read_ok, failed = run_analysis(inputs, rows.add, quiet=quiet, options=opts,
                                   batch=BatchOptions(jobs=jobs, scheduler=scheduler))
    _report_unused_keys(keys, quiet)
    if read_ok == 0:
        raise typer.Exit(2)
    try:
        write_inventory(inventory_of_rows(link_rows(rows.table())), fmt, str(output) if output else None, version=__version__)
    except BrokenPipeError:
        os._exit(0)
    except OSError as e:
        _say("error", f"cannot write {output}: {e.strerror or e}")
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


@app.command()
def report(
    inputs: list[Path] = typer.Argument(None, metavar="[FILE_OR_DIR]...", help=INPUTS_HELP),
    out_dir: Path = typer.Option(Path("reports"), "--out", "-o", metavar="DIR", help="Folder to write into (created if needed)."),
    max_details: int = typer.Option(2000, "--max-details", min=0,
                                    help="At most this many connections get a table row and ladder in index.html (failed and weak ones first); the data files always hold all."),
    tls_only: bool = typer.Option(False, "--tls-only", help="Leave out TCP connections that carried no TLS."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
) -> None:
    """Write connections.parquet/.csv/.jsonl, summary.json and a self-contained index.html (charts, table, ladder diagrams)."""
    from .report.html import ReportCollector, write_report

    collector = ReportCollector(max_details)
    keys, opts = _keyed_options(keylog, key, key_password, quiet, include_non_tls=not tls_only, psk=psk)
    frames: dict[str, FrameCounts] = {}
    read_ok, failed = run_analysis(inputs, collector.add, quiet=quiet, options=opts,
                                   on_frames=lambda name, counts: _add_frames(frames, name, counts))
    _report_unused_keys(keys, quiet)
    if read_ok == 0:
        raise typer.Exit(2)
    shown = [str(p) for p in inputs] if inputs else ["captures/ (bundled)"]
    try:
        paths = write_report(collector, out_dir, files_read=read_ok, inputs=shown, frames=frames)
    except OSError as e:
        _say("error", f"cannot write {out_dir}: {e.strerror or e}")
        raise typer.Exit(2)
    if not quiet:
        typer.echo(f"{collector.table.rows} connections from {read_ok} capture(s) -> {paths['index.html']}")
    if failed:
        raise typer.Exit(1)


@app.command()
def ladder(
    file: Path = typer.Argument(..., metavar="FILE", help="One capture file."),
    stream: Optional[int] = typer.Option(None, "--stream", "-s", help="TCP stream index (as in the table and Wireshark); default: every connection."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
) -> None:
    """Print the handshake of a connection as a ladder: one arrow per message, with frame numbers and ms offsets."""
    from rich.console import Console

    from .report.ladder import connection_text

    found: list[tuple[int, int, str]] = []
    seen: list[int] = []
    console = Console(highlight=False)
    markup = console.is_terminal

    def take(s: ConnectionSummary) -> None:
        seen.append(s.stream)
        if stream is None or s.stream == stream:
            found.append((s.stream, s.first_frame, connection_text(s, markup=markup)))

    keys, opts = _keyed_options(keylog, key, key_password, quiet, include_non_tls=True, psk=psk)
    read_ok, failed = run_analysis([file], take, quiet=quiet, options=opts)
    _report_unused_keys(keys, quiet)
    if read_ok == 0:
        raise typer.Exit(2)
    if not found:
        have = ", ".join(str(n) for n in sorted(seen)[:50]) or "none"
        _say("error", f"{file}: no stream {stream} (streams: {have})")
        raise typer.Exit(2)
    try:
        for k, (_, _, text) in enumerate(sorted(found)):
            if k:
                console.print()
            if markup:
                console.print(text, soft_wrap=True)
            else:
                sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        os._exit(0)
    if failed:
        raise typer.Exit(1)


@app.command()
def summary(
    inputs: list[Path] = typer.Argument(None, metavar="[FILE_OR_DIR]...", help=INPUTS_HELP),
    tls_only: bool = typer.Option(False, "--tls-only", help="Leave out TCP connections that carried no TLS."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
    jobs: Optional[int] = jobs_option(),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
) -> None:
    """Print summary tables: connections per capture, versions, cipher suites, groups, ALPN, resumption, failures, alerts, durations."""
    from .batch import BatchOptions
    from .report.summary import render_summary, summarize
    from .report.table import TableBuilder

    rows = TableBuilder()
    keys, opts = _keyed_options(keylog, key, key_password, quiet, include_non_tls=not tls_only, psk=psk)
    frames: dict[str, FrameCounts] = {}
    read_ok, failed = run_analysis(inputs, rows.add, quiet=quiet, options=opts, batch=BatchOptions(jobs=jobs),
                                   on_frames=lambda name, counts: _add_frames(frames, name, counts))
    _report_unused_keys(keys, quiet)
    if read_ok == 0:
        raise typer.Exit(2)
    from .lineage import link_rows

    try:
        render_summary(summarize(link_rows(rows.table()), files_read=read_ok, frames=frames))
    except BrokenPipeError:
        os._exit(0)
    if failed:
        raise typer.Exit(1)


@app.command()
def decrypt(
    inputs: list[Path] = typer.Argument(..., metavar="FILE_OR_DIR...", help=INPUTS_HELP),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder for the decrypted streams (created; files are mode 0600)."),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
) -> None:
    """Write the decrypted application data of every connection: each direction, and a Follow-TLS-Stream text view."""
    from .decrypt.output import StreamFiles
    from .pipeline import Options

    keys = _key_material(keylog, key, key_password, quiet, psk)
    try:
        out.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as e:
        _say("error", f"cannot create {out}: {e.strerror or e}")
        raise typer.Exit(2)
    from .inputs import expand_inputs

    files, _problems = expand_inputs(inputs)
    streams = StreamFiles(out, [f.name for f in files])
    rows: list[tuple[str, int, str, str, int | None, int | None]] = []

    def consume(s: ConnectionSummary) -> None:
        if s.is_tls:
            rows.append((s.capture, s.stream, "" if s.transport == "tcp" else f"{s.transport} ", s.decryption or "not_attempted", s.app_bytes_client, s.app_bytes_server))

    opts = Options(include_non_tls=False, keys=keys, keylog=str(keylog[0]) if keylog else None, app_data=streams)
    read_ok, failed = run_analysis(inputs, consume, quiet=quiet, options=opts)
    _report_unused_keys(keys, quiet)
    from .report.writers import neutralise

    for capture, stream, kind, status, c2s, s2c in sorted(rows):
        sizes = f"{c2s} bytes client->server, {s2c} bytes server->client" if c2s is not None else ""
        typer.echo(f"{neutralise(capture)} {kind}stream {stream}: {status} {sizes}".rstrip())
    typer.echo(f"{len(streams.written)} files written to {out}")
    if read_ok == 0:
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


@app.command("keylog")
def keylog_command(
    inputs: list[Path] = typer.Argument(..., metavar="FILE_OR_DIR...", help=INPUTS_HELP),
    key: list[Path] = key_option(),
    keylog: list[Path] = keylog_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here (mode 0600) instead of stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
) -> None:
    """Print the secrets recovered for every connection as an NSS key log (for Wireshark), without sharing the key."""
    from .decrypt.output import keylog_lines, open_private
    from .pipeline import Options

    keys = _key_material(keylog, key, key_password, quiet, psk)
    if keys is None:
        _say("error", "give --key, --psk (or --keylog) to recover secrets from")
        raise typer.Exit(2)
    lines: dict[str, None] = {}

    def collect(s: ConnectionSummary, dec: object) -> None:
        for line in keylog_lines(dec):  # type: ignore[arg-type]
            lines[line] = None

    opts = Options(include_non_tls=False, keys=keys, on_connection=collect)
    read_ok, failed = run_analysis(inputs, lambda s: None, quiet=quiet, options=opts)
    _report_unused_keys(keys, quiet)
    text = "".join(f"{line}\n" for line in lines)
    if output is not None:
        try:
            with open_private(output) as f:
                f.write(text.encode())
        except OSError as e:
            _say("error", f"cannot write {output}: {e.strerror or e}")
            raise typer.Exit(2)
    else:
        sys.stdout.write(text)
    if read_ok == 0:
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(1)


def _add_frames(frames: "dict[str, FrameCounts]", name: str, counts: "FrameCounts") -> None:
    """Collect a file's frame counts by capture name (two files of one name are one capture, as in the rows)."""
    from .capture.model import FrameCounts

    frames.setdefault(name, FrameCounts()).add(counts)


@app.command("inject-secrets")
def inject_secrets(
    capture: Path = typer.Argument(..., metavar="CAPTURE", help="One capture file (pcap or pcapng, optionally .gz)."),
    output: Path = typer.Option(..., "--output", "-o", metavar="OUT.pcapng", help="The pcapng to write (mode 0600)."),
    keylog: list[Path] = keylog_option(),
    key: list[Path] = key_option(),
    key_password: Optional[str] = key_password_option(),
    psk: list[str] = psk_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
) -> None:
    """Rewrite a capture as pcapng with a Decryption Secrets Block holding the key log lines of its connections
    (RSA-decrypted sessions as CLIENT_RANDOM lines), so that Wireshark opens it decrypted without key options."""
    from .capture import CaptureError
    from .capture.rewrite import write_with_secrets
    from .decrypt import TLS_KEYLOG_DSB, KeyMaterial
    from .decrypt.inject import SecretsCollector
    from .decrypt.output import open_private
    from .pipeline import Options

    if not capture.is_file():
        _say("error", f"{capture}: not a capture file")
        raise typer.Exit(2)
    try:
        if output.exists() and os.path.samefile(capture, output):
            _say("error", f"{output}: the output would overwrite the input")
            raise typer.Exit(2)
    except OSError:
        pass
    keys = _key_material(keylog, key, key_password, quiet, psk) or KeyMaterial()
    os.umask(os.umask(0o077) | 0o077)
    collector = SecretsCollector(keys)
    read_ok, failed = run_analysis([capture], lambda s: None, quiet=quiet,
                                   options=Options(include_non_tls=False, keys=keys, on_connection=collector))
    _report_unused_keys(keys, quiet)
    if read_ok == 0 or failed:
        raise typer.Exit(2)
    collector.finish()
    secrets = [(TLS_KEYLOG_DSB, collector.text())] if collector.lines else []
    try:
        with open_private(output) as f:
            packets = write_with_secrets(capture, f, secrets)
    except (CaptureError, OSError) as e:
        output.unlink(missing_ok=True)
        _say("error", str(e) if isinstance(e, CaptureError) else f"cannot write {output}: {e.strerror or e}")
        raise typer.Exit(2)
    if not quiet:
        for stream, status in collector.not_decrypted[:20]:
            _say("warning", f"{capture.name} stream {stream}: not decrypted ({status}); the output holds no secret for it")
    typer.echo(f"{packets} packets, {collector.tls_connections} TLS connections ({collector.covered} with secrets), "
               f"{collector.lines} key log lines -> {output}")
    if collector.not_decrypted:
        raise typer.Exit(1)


@app.command("keylog-check")
def keylog_check(
    inputs: list[Path] = typer.Argument(..., metavar="CAPTURE...", help=INPUTS_HELP),
    keylog: list[Path] = typer.Option(..., "--keylog", metavar="FILE", help="NSS key log to check; repeatable."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv or jsonl."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file (mode 0600) instead of stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no warnings on stderr."),
) -> None:
    """Check key logs against captures: missing labels per connection, unmatched, duplicate, conflicting and
    malformed lines. Exit 0 every TLS connection can be decrypted, 1 some cannot, 2 usage or input error."""
    from .decrypt.check import KeylogChecker, load
    from .decrypt.keys import KeyFileError
    from .decrypt.output import open_private
    from .pipeline import Options
    from .report.keylog_check import CHECK_FORMATS, write_check

    if fmt not in CHECK_FORMATS:
        _say("error", f"unknown --format {fmt!r}; choose one of {', '.join(CHECK_FORMATS)}")
        raise typer.Exit(2)
    try:
        index, keys = load(keylog)
    except KeyFileError as e:
        _say("error", str(e))
        raise typer.Exit(2)
    checker = KeylogChecker(index, keys)
    read_ok, failed = run_analysis(inputs, lambda s: None, quiet=quiet,
                                   options=Options(include_non_tls=False, keys=keys, on_connection=checker))
    if read_ok == 0:
        raise typer.Exit(2)
    result = checker.result()
    try:
        if output is not None:
            import io

            with open_private(output) as f, io.TextIOWrapper(f, encoding="utf-8", newline="") as text:
                write_check(result, fmt, text)
        else:
            write_check(result, fmt, sys.stdout)
            sys.stdout.flush()
    except BrokenPipeError:
        os._exit(0)
    except OSError as e:
        _say("error", f"cannot write {output}: {e.strerror or e}")
        raise typer.Exit(2)
    if failed:
        raise typer.Exit(2)
    if not result.ok:
        raise typer.Exit(1)


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        _err().print("interrupted")
        sys.exit(130)
