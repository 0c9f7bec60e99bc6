"""Writers for the connection table: terminal (rich), CSV, JSON Lines, JSON, Parquet.

Owns how a table leaves the program. Lists stay lists in JSON and Parquet and
are `;`-joined in CSV; times are ISO 8601 UTC in text formats. Strings from the
wire are made safe for terminals (control characters and escape sequences shown
as `\\xNN`, rich markup escaped).
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import IO, Any, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .table import LIST_COLUMNS, SCHEMA, TIME_COLUMNS, arrow_to_dataframe

FORMATS = ("table", "csv", "jsonl", "json", "parquet")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_text(value: Any) -> str:
    """A wire string made harmless for a terminal: control characters become `\\xNN`, markup is escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return escape(text)


def _json_value(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "tolist"):
        return v.tolist()
    if hasattr(v, "item"):
        return v.item()
    return v


SLICE_ROWS = 4096  # rows converted at a time when writing, so output never needs the whole table as Python objects


def _slices(data: pa.Table | pd.DataFrame) -> Iterator[pd.DataFrame]:
    if isinstance(data, pd.DataFrame):
        yield data
        return
    for batch in data.to_batches(max_chunksize=SLICE_ROWS):
        yield arrow_to_dataframe(pa.Table.from_batches([batch], schema=data.schema))


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    cols = list(df.columns)
    return [{c: _json_value(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def write_jsonl(data: pa.Table | pd.DataFrame, out: IO[str]) -> None:
    for df in _slices(data):
        for rec in records(df):
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_json(data: pa.Table | pd.DataFrame, out: IO[str]) -> None:
    out.write("[")
    first = True
    for df in _slices(data):
        for rec in records(df):
            out.write("\n" if first else ",\n")
            out.write(json.dumps(rec, ensure_ascii=False))
            first = False
    out.write("\n]\n")


def write_csv(data: pa.Table | pd.DataFrame, out: IO[str]) -> None:
    header = True
    for df in _slices(data):
        flat = df.copy()
        for c in LIST_COLUMNS:
            if c in flat.columns:
                flat[c] = [";".join(str(x) for x in v) if v is not None else "" for v in flat[c]]
        for c in TIME_COLUMNS:
            if c in flat.columns:
                flat[c] = [v.isoformat() if v is not None and v is not pd.NaT else "" for v in flat[c]]
        flat.to_csv(out, index=False, header=header, lineterminator="\n")
        header = False
    if header:  # no rows: still a header line
        out.write(",".join(SCHEMA.names) + "\n")


def write_parquet(data: pa.Table | pd.DataFrame, path: str) -> None:
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, schema=SCHEMA, preserve_index=False)
    pq.write_table(table, path)


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


def render_table(data: pa.Table | pd.DataFrame, console: Console | None = None, title: str | None = None) -> None:
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
    for df in _slices(data):
        for rec in records(df):
            _add_row(t, rec)
    console.print(t)


def _add_row(t: Table, rec: dict[str, Any]) -> None:
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


def write(df: pa.Table | pd.DataFrame, fmt: str, output: str | None, console: Console | None = None) -> None:
    """Write `df` as `fmt` to `output` (a path) or stdout."""
    if fmt == "parquet":
        if not output:
            raise ValueError("--format parquet needs --output PATH")
        write_parquet(df, output)
        return
    if fmt == "table":
        if output:
            with open(output, "w", encoding="utf-8") as f:
                render_table(df, Console(file=f, width=220, color_system=None))
        else:
            render_table(df, console)
        return
    writer = {"csv": write_csv, "jsonl": write_jsonl, "json": write_json}[fmt]
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            writer(df, f)
    else:
        writer(df, sys.stdout)
