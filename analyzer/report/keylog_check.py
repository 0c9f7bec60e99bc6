"""Writers of the `keylog-check` command: a terminal table, CSV and JSON Lines.

Owns the layout of a `analyzer.decrypt.check.CheckResult`: in the terminal, one
table of connections (what each needs, lacks, and how its decryption went), one
table of key log lines that are unmatched, duplicated, conflicting or malformed
(file and line number), the likely causes and a totals line. CSV and JSON Lines
hold the same facts as one record per connection, line problem or cause, all
with the same fields (`RECORD_FIELDS`, `kind` says which). No secret reaches
these writers (the check keeps none).
"""

from __future__ import annotations

import csv
import json
import os
from typing import IO, Any, Iterator

from rich.console import Console
from rich.table import Table

from ..decrypt.check import CheckResult
from .writers import _csv_cell, safe_text

CHECK_FORMATS = ("table", "csv", "jsonl")
RECORD_FIELDS = ("kind", "capture", "stream", "client", "server", "sni", "version", "cipher_suite",
                 "client_random", "needed", "present", "missing", "decryption", "verdict",
                 "keylog_lines", "keylog", "line", "label", "detail")


def _compact(wheres: list[str]) -> str:
    """`a/keylog.txt:2`, `a/keylog.txt:5` -> `keylog.txt:2,5` (file base names, line numbers grouped)."""
    groups: dict[str, list[str]] = {}
    for w in wheres:
        source, _, number = w.rpartition(":")
        groups.setdefault(os.path.basename(source) or source, []).append(number)
    return "; ".join(f"{name}:{','.join(sorted(nums, key=int))}" for name, nums in groups.items())


def records(result: CheckResult) -> Iterator[dict[str, Any]]:
    """Every fact of the check as a flat record with the fields of `RECORD_FIELDS`."""
    empty: dict[str, Any] = {f: None for f in RECORD_FIELDS}
    for c in result.connections:
        yield {**empty, "kind": "connection", "capture": c.capture, "stream": c.stream, "client": c.client,
               "server": c.server, "sni": c.sni, "version": c.version, "cipher_suite": c.cipher_suite,
               "client_random": c.client_random, "needed": c.needed, "present": c.present, "missing": c.missing,
               "decryption": c.decryption, "verdict": c.verdict, "keylog_lines": c.lines, "detail": c.note}
    for p in result.problems:
        yield {**empty, "kind": p.kind, "keylog": p.source, "line": p.number, "label": p.label,
               "client_random": p.ident, "detail": p.detail}
    for cause in result.causes:
        yield {**empty, "kind": "cause", "detail": cause}


def summary_line(result: CheckResult) -> str:
    v = result.verdicts()
    n = result.counts
    return (f"{len(result.connections)} TLS connections: {v['ok']} decryptable, {v['missing_secrets']} missing secrets, "
            f"{v['failed']} failed, {v['nothing_to_decrypt']} with nothing to decrypt; "
            f"{result.lines_total} distinct key log lines: {result.lines_matched} matched, {n['unmatched']} unmatched, "
            f"{n['duplicate']} duplicate, {n['conflict']} conflicting, {n['malformed']} malformed")


def write_check(result: CheckResult, fmt: str, out: IO[str]) -> None:
    """Write the check as `table`, `csv` or `jsonl` to `out`."""
    if fmt == "csv":
        w = csv.writer(out)
        w.writerow(RECORD_FIELDS)
        for r in records(result):
            w.writerow([_csv_cell(r[f]) for f in RECORD_FIELDS])
    elif fmt == "jsonl":
        for r in records(result):
            out.write(json.dumps(r) + "\n")
    else:
        _render(result, out)


def _render(result: CheckResult, out: IO[str]) -> None:
    console = Console(file=out, width=max(160, Console().width), highlight=False)
    t = Table("capture", "stream", "client -> server", "SNI", "version", "verdict", title="Connections")
    t.add_column("missing", no_wrap=True)
    t.add_column("decryption")
    t.add_column("key log lines")
    style = {"ok": "green", "missing_secrets": "red", "failed": "red", "nothing_to_decrypt": "dim"}
    for c in result.connections:
        shown = _compact(c.lines)
        colour = style.get(c.verdict, "")
        t.add_row(safe_text(c.capture), str(c.stream), f"{c.client} -> {c.server}", safe_text(c.sni), c.version,
                  f"[{colour}]{c.verdict}[/{colour}]" if colour else c.verdict, "\n".join(c.missing),
                  c.decryption, safe_text(shown or c.note))
    console.print(t)
    if result.problems:
        p = Table("problem", "key log line", "label", "detail", title="Key log lines")
        p.add_column("client random / id", no_wrap=True)
        for x in result.problems:
            p.add_row(x.kind, safe_text(f"{x.source}:{x.number}"), x.label, safe_text(x.detail), x.ident)
        console.print(p)
    for cause in result.causes:
        console.print(f"[yellow]likely cause:[/yellow] {safe_text(cause)}", soft_wrap=True)
    console.print(summary_line(result), soft_wrap=True)
