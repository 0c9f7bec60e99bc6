"""Writers for the connection table: terminal (rich), CSV, JSON Lines, JSON, Parquet.

Owns how a table leaves the program. Lists stay lists in JSON and Parquet and
are `;`-joined in CSV; times are ISO 8601 UTC in text formats. Strings from the
wire are made safe for terminals (control characters and escape sequences shown
as `\\xNN`, bidi and zero-width format characters as `\\uNNNN`, rich markup
escaped) and for spreadsheets (a CSV text cell starting with `=`, `+`, `-`, `@`,
tab or carriage return gets a leading `'`, so it is data, never a formula). CSV
and JSON are written row by row from the compact row store; only Parquet needs
Arrow.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import re
import sys
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .table import COLUMNS, Rows

FORMATS = ("table", "csv", "jsonl", "json", "parquet")

# C0/C1 control characters (ESC and CSI start ANSI sequences) and the Unicode format
# characters that reorder, hide or break text on a terminal: zero-width, bidi embeddings,
# overrides and isolates, line/paragraph separators, word joiners, the BOM.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# Spreadsheets run a cell starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _char_escape(m: "re.Match[str]") -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def neutralise(text: str) -> str:
    """Control and format characters of a wire string shown as `\\xNN` / `\\uNNNN` (nothing else changes)."""
    return _CONTROL.sub(_char_escape, text)


def safe_text(value: Any) -> str:
    """A wire string made harmless for a terminal: control characters become `\\xNN`, markup is escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return escape(neutralise(str(value)))


def csv_safe(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs: text starting with = + - @ tab or CR gets a leading `'`.

    Only strings change; numbers (negative ones too) stay numbers.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _json_default(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def _json_line(names: list[str], row: tuple[Any, ...]) -> str:
    return json.dumps(dict(zip(names, row)), ensure_ascii=False, default=_json_default)


def write_jsonl(rows: Rows, out: IO[str]) -> None:
    names = rows.names
    for r in rows.rows:
        out.write(_json_line(names, r) + "\n")


def write_json(rows: Rows, out: IO[str]) -> None:
    names = rows.names
    out.write("[")
    sep = "\n"
    for r in rows.rows:
        out.write(sep + _json_line(names, r))
        sep = ",\n"
    out.write("\n]\n")


def _csv_cell(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (tuple, list)):
        return csv_safe(";".join(str(x) for x in v))
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    return csv_safe(v)


_QUOTE_BUF = io.StringIO()
_QUOTE_WRITER = csv.writer(_QUOTE_BUF, lineterminator="\n")


def _csv_field(text: str) -> str:
    """`text` as one CSV field, exactly as `csv.writer(lineterminator="\\n")` writes it."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        _QUOTE_BUF.seek(0)
        _QUOTE_BUF.truncate()
        _QUOTE_WRITER.writerow([text])
        return _QUOTE_BUF.getvalue()[:-1]
    return text


# How `_csv_line` writes each column's cells (one byte per column of COLUMNS).
_CELL_PLAIN = 0   # numbers and booleans: str()
_CELL_TEXT = 1    # text: formula-guarded and quoted (cached per value)
_CELL_LIST = 2    # lists: `;`-joined, guarded and quoted (cached per shared list value)
_CELL_TIME = 3    # times: ISO 8601
_CELL_KIND = {"string": _CELL_TEXT, "list": _CELL_LIST, "time": _CELL_TIME}
#: distinct text cells and list cells whose finished field is remembered while writing one table
MAX_CACHED_TEXT_FIELDS = 50_000
MAX_CACHED_LIST_FIELDS = 100_000
#: distinct minutes whose time-cell text ("YYYY-MM-DDTHH:MM:") is remembered while writing one table
MAX_CACHED_TIME_MINUTES = 100_000
_UTC = _dt.timezone.utc
_MINUTE_TEXT = len("YYYY-MM-DDTHH:MM:")


def _cell_kinds() -> bytes:
    return bytes(_CELL_KIND.get(c.type, _CELL_PLAIN) for c in COLUMNS)


def _text_field(v: str, fields: dict[str, str]) -> str:
    """A text cell's field: what `_csv_cell` gives, quoted as `csv.writer` would (cached)."""
    f = fields.get(v)
    if f is None:
        f = _csv_field(csv_safe(v))
        if len(fields) < MAX_CACHED_TEXT_FIELDS:
            fields[v] = f
    return f


def _list_field(v: Any, joined: dict[int, tuple[Any, str]]) -> str:
    """A list cell's field. List values are shared between rows (see TableBuilder), so the
    field is cached by the value's identity (the value is kept beside it, so the id stays its)."""
    hit = joined.get(id(v))
    if hit is None or hit[0] is not v:
        hit = (v, _csv_field(csv_safe(";".join(map(str, v)))))
        if len(joined) < MAX_CACHED_LIST_FIELDS:
            joined[id(v)] = hit
    return hit[1]


def _time_field(v: _dt.datetime, minutes: dict[tuple[int, int, int, int, int], str]) -> str:
    """A time cell: ``v.isoformat()``. A UTC time (all of ours) is written from its minute's text
    (cached) and its seconds and microseconds: an isoformat call per time cell was a third of
    the CSV time (20,000 rows, four time columns)."""
    if v.tzinfo is not _UTC:
        return v.isoformat()
    key = (v.year, v.month, v.day, v.hour, v.minute)
    head = minutes.get(key)
    if head is None:
        head = v.replace(second=0, microsecond=0).isoformat()[:_MINUTE_TEXT]
        if len(minutes) < MAX_CACHED_TIME_MINUTES:
            minutes[key] = head
    second = v.second
    microsecond = v.microsecond
    if microsecond:
        return f"{head}{second:02d}.{microsecond:06d}+00:00"
    return f"{head}{second:02d}+00:00"


def _csv_line(row: tuple[Any, ...], kinds: bytes, fields: dict[str, str], joined: dict[int, tuple[Any, str]],
              minutes: dict[tuple[int, int, int, int, int], str]) -> str:
    """One row as a CSV line (without its line end): every value as `_csv_cell` gives it,
    quoted as `csv.writer` would, in one pass over the row. Text and list fields repeat across
    rows, so their finished forms are cached (per-cell calls and csv.writer's character scan
    were 0.8 s of 20,000 rows)."""
    cells = []
    append = cells.append
    for i in range(len(row)):
        v = row[i]
        if v is None:
            append("")
            continue
        kind = kinds[i]
        if kind == _CELL_TEXT and type(v) is str:
            append(_text_field(v, fields))
        elif kind == _CELL_LIST:
            append(_list_field(v, joined))
        elif kind == _CELL_TIME:
            append(_time_field(v, minutes))
        else:
            append(str(v))
    return ",".join(cells)


_CSV_LINES_PER_WRITE = 512   # lines joined into one write


def write_csv(rows: Rows, out: IO[str]) -> None:
    """CSV exactly as `csv.writer(lineterminator="\\n")` writes the `_csv_cell` values (the
    header through it, the rows by `_csv_line`)."""
    csv.writer(out, lineterminator="\n").writerow(rows.names)
    kinds = _cell_kinds()
    fields: dict[str, str] = {}
    joined: dict[int, tuple[Any, str]] = {}
    minutes: dict[tuple[int, int, int, int, int], str] = {}
    lines: list[str] = []
    for r in rows.rows:
        lines.append(_csv_line(r, kinds, fields, joined, minutes))
        if len(lines) >= _CSV_LINES_PER_WRITE:
            out.write("\n".join(lines) + "\n")
            lines.clear()
    if lines:
        out.write("\n".join(lines) + "\n")


def write_parquet(rows: Rows, path: str) -> None:
    import pyarrow.parquet as pq

    from .table import arrow_schema

    with pq.ParquetWriter(path, arrow_schema()) as writer:
        for batch in rows.arrow_batches():
            writer.write_batch(batch)


def _result(row: dict[str, Any]) -> str:
    if row.get("handshake_complete"):
        return "[green]ok[/green]"
    failure = row.get("failure") or ""
    alert = row.get("alert")
    text = safe_text(failure)
    if alert:
        text += f" ({safe_text(alert)}"
        if row.get("alert_sender"):
            text += f" from {safe_text(row['alert_sender'])}"
        text += ")"
    colour = "yellow" if failure in ("not_tls", "truncated", "no_client_hello") else "red"
    return f"[{colour}]{text}[/{colour}]"


def render_table(rows: Rows, console: Console | None = None, title: str | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=220)  # piped: do not squeeze rows into 80 columns
    t = Table(title=title, show_lines=False, header_style="bold")
    for name, kw in (
        ("capture", {"overflow": "fold"}), ("stream", {"justify": "right"}), ("client → server", {"overflow": "fold"}),
        ("SNI", {"overflow": "fold"}), ("version", {}), ("cipher suite", {"overflow": "fold"}), ("ALPN", {}),
        ("resumed", {}), ("result", {"overflow": "fold"}), ("ms", {"justify": "right"}),
    ):
        t.add_column(name, **kw)
    for rec in rows.records():
        ms = rec.get("handshake_ms")
        t.add_row(
            safe_text(rec["capture"]),
            str(rec["stream"]),
            f"{safe_text(rec['client_ip'])}:{rec['client_port']} → {safe_text(rec['server_ip'])}:{rec['server_port']}",
            safe_text(rec.get("sni")),
            safe_text(rec.get("version")),
            safe_text(rec.get("cipher_suite")),
            safe_text(rec.get("alpn")),
            safe_text(rec.get("resumption")) if rec.get("resumed") else "",
            _result(rec),
            f"{ms:.1f}" if ms is not None else "",
        )
    console.print(t)


FINGERPRINT_FORMATS = ("table", "csv", "jsonl")


def write_fingerprints(rows: list[Any], fmt: str, out: IO[str] | None = None) -> None:
    """The `fingerprints` command's table (`FingerprintRow` dataclasses) as table, csv or jsonl."""
    import dataclasses

    from ..tls.fingerprints import FingerprintRow

    out = out or sys.stdout
    if fmt == "table":
        t = Table("kind", "fingerprint", "count", "transport", "SNIs", "servers")
        for r in rows:
            more = lambda shown, n: "; ".join(shown) + (f" (+{n - len(shown)})" if n > len(shown) else "")
            t.add_row(r.kind, r.fingerprint, str(r.count), ",".join(r.transports),
                      safe_text(more(r.snis, r.sni_count)), more(r.servers, r.server_count))
        Console(file=out, width=max(200, Console().width)).print(t)
    elif fmt == "csv":
        w = csv.writer(out)
        w.writerow([f.name for f in dataclasses.fields(FingerprintRow)])
        for r in rows:
            w.writerow([_csv_cell(v) for v in dataclasses.astuple(r)])
    else:
        for r in rows:
            out.write(json.dumps(dataclasses.asdict(r)) + "\n")


def write(rows: Rows, fmt: str, output: str | None, console: Console | None = None) -> None:
    """Write `rows` as `fmt` to `output` (a path) or stdout."""
    if fmt == "parquet":
        if not output:
            raise ValueError("--format parquet needs --output PATH")
        write_parquet(rows, output)
        return
    if fmt == "table":
        if output:
            with open(output, "w", encoding="utf-8") as f:
                render_table(rows, Console(file=f, width=220, color_system=None))
        else:
            render_table(rows, console)
        return
    writer = {"csv": write_csv, "jsonl": write_jsonl, "json": write_json}[fmt]
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            writer(rows, f)
    else:
        writer(rows, sys.stdout)


__all__ = ["FORMATS", "COLUMNS", "csv_safe", "neutralise", "safe_text", "write", "write_csv", "write_json", "write_jsonl", "write_parquet",
           "render_table"]
