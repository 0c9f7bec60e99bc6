"""Resumption lineage: which earlier connection each resumed handshake resumed, across a whole run.

Owns the link from a resumed handshake to the connection that issued the session ID or ticket it
resumed (`resumed_from`, `resumption_age_s`, `resumed_ticket_lifetime_s`), made once every file of a
run has been analysed, over the rows of all of them, and how the link reaches every output:
`link_rows` for a finished table (the `connections`, `summary`, `report` and `audit` commands and
`analyzer.analyze`, whether the files were read in this process, by `--jobs` workers, in parts of one
large file or on a Dask cluster: they all end in one `Rows` table), and `link_dataset` for the
`--out` Parquet dataset, whose parts are written per file as files finish and are rewritten at the
end of the run where a link changed them. Each row carries what identifies its session
(`analyzer.tls.resumption`); nothing here reads packets.

Sessions are recognised by (RFC 5246 7.4.1.2-7.4.1.3, RFC 5077 3-4, RFC 8446 4.6.1, 4.2.11):

- a session ID, qualified by the server it names a session of: (transport, server address, server
  port, session ID). A session ID is an entry in one server's session cache; another server may issue
  the same bytes, and a client offers it back to the server it cached it for. It is registered by a
  complete full handshake before TLS 1.3 whose ServerHello issued it (an abbreviated handshake echoes
  the ID of the session it resumed; in TLS 1.3 the field is middlebox compatibility);
- a ticket, by its SHA-256 alone: a ticket is state the server encrypted under its ticket key, so
  its bytes are unique to the server (or server farm sharing the key, behind any address) that made
  it. It is registered by the connection whose NewSessionTicket carried it (in clear before TLS 1.3,
  decrypted in TLS 1.3, where the resumption's PSK identity is the ticket), also when that connection
  was itself resumed (a renewed TLS 1.2 ticket, RFC 5077 3.3; a TLS 1.3 resumption's new tickets).

Rows are taken in the order of their ClientHello time (`client_hello_time`, else `start_time`; ties
by capture, transport, stream); a row looks up its parent before it registers its own sessions, so
a parent is always an earlier handshake. At most `MAX_REMEMBERED_SESSIONS` session IDs and tickets are
remembered; past that the oldest is forgotten (a later resumption of it gets no parent). The rows'
link records are sorted in memory up to `MAX_LINEAGE_RECORDS_IN_MEMORY` and in sorted temporary run files
beyond (like `report.table`'s rows), so a run of any size links in bounded memory.
"""

from __future__ import annotations

import datetime as _dt
import heapq
import operator
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .report.table import COLUMN_NAMES, COLUMNS, Rows, _Runs, arrow_type, read_row_chunks
from .tls.messages import is_tls13_family

MAX_REMEMBERED_SESSIONS = 250_000     # session IDs and tickets remembered at once (~300 bytes each); the oldest goes first
MAX_LINEAGE_RECORDS_IN_MEMORY = 100_000  # link records (~320 bytes) and links held before a sorted run goes to disk

#: the columns this module writes
LINEAGE_COLUMNS = ("resumed_from", "resumption_age_s", "resumed_ticket_lifetime_s")
#: the columns it reads, in the order `Linker.add` takes them
INPUT_COLUMNS = ("capture", "stream", "transport", "server_ip", "server_port", "client_hello_time",
                 "start_time", "version_code", "handshake_complete", "resumption_attempt", "resumed",
                 "resumption", "session_id", "server_session_id", "ticket_offered_sha256",
                 "psk_offered_sha256", "tickets_issued_sha256", "ticket_lifetime_s")

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MICROSECOND = _dt.timedelta(microseconds=1)


def parent_id(capture: str, transport: str, stream: int) -> str:
    """`CAPTURE#STREAM` for a TCP row, `CAPTURE#quic:STREAM` / `CAPTURE#dtls:STREAM` for UDP rows
    (their streams are UDP conversation numbers, a sequence of their own)."""
    return f"{capture}#{stream}" if transport == "tcp" else f"{capture}#{transport}:{stream}"


def _micros(t: Any) -> int | None:
    """A row's time as integer microseconds since the epoch (exact, so every path orders alike)."""
    if t is None:
        return None
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        return (t - _EPOCH) // _MICROSECOND
    if isinstance(t, (int, float)):
        return round(t * 1_000_000)
    return None


def _session_key(transport: str, server_ip: Any, server_port: Any, session_id: str) -> tuple[str, str, int, str]:
    return (transport, str(server_ip), int(server_port or 0), session_id)


def link_record(position: Any, f: Sequence[Any]) -> tuple[Any, ...] | None:
    """What one row (its `INPUT_COLUMNS` values) asks of the lineage: None, or a sortable tuple
    (time, capture, transport, stream, position, keys to look up, keys to register, ticket lifetime)."""
    (capture, stream, transport, server_ip, server_port, ch_time, start, version_code, complete, attempt,
     resumed, resumption, session_id, server_session_id, ticket, psk, issued, lifetime) = f
    when = _micros(ch_time if ch_time is not None else start)
    if when is None or capture is None:
        return None
    transport = transport or "tcp"
    lookup: list[Any] = []
    if resumed or attempt == "accepted":
        sid = _session_key(transport, server_ip, server_port, session_id) if session_id else None
        if resumption == "psk":
            lookup = [psk] if psk else []
        elif resumption == "ticket":
            lookup = [k for k in (ticket, sid) if k]     # a server may resume by session ID all the same
        else:
            lookup = [k for k in (sid, ticket) if k]
    register: list[Any] = list(issued or ()) if complete else []
    if complete and server_session_id and not resumed and not is_tls13_family(version_code):
        register.append(_session_key(transport, server_ip, server_port, server_session_id))
    if not lookup and not register:
        return None
    return (when, str(capture), transport, -1 if stream is None else int(stream), position,
            tuple(lookup), tuple(register), lifetime)


class SortedSpill:
    """Tuples that come out sorted, as often as iterated: in memory up to `MAX_LINEAGE_RECORDS_IN_MEMORY`,
    beyond that in sorted run files (the row table's spill, `analyzer.report.table._Runs`, in a
    private temporary folder removed with this object)."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit or MAX_LINEAGE_RECORDS_IN_MEMORY
        self.items: list[tuple[Any, ...]] = []
        self._spill: _Runs | None = None
        self.count = 0

    @property
    def runs(self) -> list[str]:
        """The run files written so far."""
        return self._spill.files if self._spill is not None else []

    def add(self, item: tuple[Any, ...]) -> None:
        self.items.append(item)
        self.count += 1
        if len(self.items) >= self.limit:
            self.items.sort()
            if self._spill is None:
                self._spill = _Runs(prefix="handshake-analyzer-lineage-", key=None)
            self._spill.write(self.items)
            self.items = []

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        self.items.sort()
        if not self.runs:
            return iter(self.items)
        return heapq.merge(*(read_row_chunks(p) for p in self.runs), self.items)


class Linker:
    """Collects the link records of rows (`add`), then links them (`links`): an iterable of
    `(position, resumed_from, resumption_age_s, resumed_ticket_lifetime_s)`, sorted by position,
    one per row that found its parent."""

    def __init__(self) -> None:
        self._records = SortedSpill()
        self._links: SortedSpill | None = None
        self.forgotten = 0   # sessions forgotten at MAX_REMEMBERED_SESSIONS
        self.resumed = 0     # rows that looked for a parent
        self.linked = 0      # ... and found it

    def add(self, position: Any, fields: Sequence[Any]) -> None:
        rec = link_record(position, fields)
        if rec is not None:
            self._records.add(rec)

    def links(self) -> SortedSpill:
        if self._links is None:
            self._links = self._link()
        return self._links

    def _link(self) -> SortedSpill:
        out = SortedSpill()
        sessions: OrderedDict[Any, tuple[str, int, Any]] = OrderedDict()
        bound = MAX_REMEMBERED_SESSIONS
        for when, capture, transport, stream, position, lookup, register, lifetime in self._records:
            if lookup:
                self.resumed += 1
                for key in lookup:
                    hit = sessions.get(key)
                    if hit is not None:
                        parent, since, life = hit
                        out.add((position, parent, round((when - since) / 1e6, 6),
                                 life if isinstance(key, str) else None))  # str keys are ticket digests
                        self.linked += 1
                        break
            if register:
                me = (parent_id(capture, transport, stream), when, lifetime)
                for key in register:
                    if key in sessions:
                        sessions.move_to_end(key)
                    sessions[key] = me
                    if len(sessions) > bound:
                        sessions.popitem(last=False)
                        self.forgotten += 1
        return out


# --------------------------------------------------------------------------- tables


_PICK = operator.itemgetter(*(COLUMN_NAMES.index(n) for n in INPUT_COLUMNS))
_OUT = tuple(COLUMN_NAMES.index(n) for n in LINEAGE_COLUMNS)


def link_rows(table: Rows) -> Rows:
    """The table with the lineage columns filled over all its rows (a new `Rows`; rows without a
    link keep their tuple). A table held on disk stays there: its rows are patched as iterated."""
    linker = Linker()
    add, pick = linker.add, _PICK
    for i, r in enumerate(table.rows):
        add(i, pick(r))
    links = linker.links()
    if isinstance(table.rows, list):
        out = Rows(list(_patched(table.rows, links)))
    else:
        out = Rows(_PatchedRows(table.rows, links))  # type: ignore[arg-type]
    out.linker = linker  # type: ignore[attr-defined]
    return out


def _patched(rows: Iterable[tuple[Any, ...]], links: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    it = iter(links)
    nxt = next(it, None)
    a, b, c = _OUT
    for i, r in enumerate(rows):
        if nxt is not None and nxt[0] == i:
            vals = list(r)
            vals[a], vals[b], vals[c] = nxt[1], nxt[2], nxt[3]
            yield tuple(vals)
            nxt = next(it, None)
        elif r[a] is not None or r[b] is not None or r[c] is not None:
            yield clear_lineage(r)
        else:
            yield r


class _PatchedRows:
    """Rows read from disk (a spilled table) with their links applied as they are iterated."""

    def __init__(self, rows: Any, links: SortedSpill) -> None:
        self._rows, self._links = rows, links

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return _patched(self._rows, self._links)


def clear_lineage(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row without lineage values (rows read back from a dataset are linked again, never trusted)."""
    vals = list(row)
    for i in _OUT:
        vals[i] = None
    return tuple(vals)


# --------------------------------------------------------------------------- the --out dataset


def link_dataset(parts: Sequence[tuple[str, Path]]) -> int:
    """Link the rows of a Parquet dataset's part files (`(capture name, part path)`, in input order;
    `capture` is the partition key, not a column of the part) and rewrite, each atomically, the parts
    whose lineage columns change. Returns how many were rewritten."""
    import pyarrow.parquet as pq

    linker = Linker()
    stale: set[int] = set()
    for k, (capture, path) in enumerate(parts):
        names = set(pq.read_schema(path).names)
        cols = [n for n in (*INPUT_COLUMNS, *LINEAGE_COLUMNS) if n in names]
        table = pq.read_table(path, columns=cols)
        n = table.num_rows
        data = {c: table.column(c).to_pylist() for c in cols}
        data["capture"] = [capture] * n
        empty = [None] * n
        columns = [data.get(c, empty) for c in INPUT_COLUMNS]
        for i, fields in enumerate(zip(*columns)):
            linker.add((k, i), fields)
        if any(v is not None for c in LINEAGE_COLUMNS for v in data.get(c, ())):
            stale.add(k)  # holds links from an earlier run: they are recomputed
    by_part: dict[int, list[tuple[Any, ...]]] = {}
    rewritten = 0
    for link in linker.links():   # sorted by (part, row): one part's links at a time
        k = link[0][0]
        if by_part and k not in by_part:
            rewritten += _rewrite_parts(parts, by_part, stale)
            by_part = {}
        by_part.setdefault(k, []).append(link)
    rewritten += _rewrite_parts(parts, by_part, stale)
    for k in sorted(stale):
        rewritten += _rewrite_part(parts[k][1], [])
    return rewritten


def _rewrite_parts(parts: Sequence[tuple[str, Path]], by_part: dict[int, list[tuple[Any, ...]]],
                   stale: set[int]) -> int:
    n = 0
    for k, links in by_part.items():
        stale.discard(k)
        n += _rewrite_part(parts[k][1], links)
    return n


def _rewrite_part(path: Path, links: list[tuple[Any, ...]]) -> int:
    """Set one part file's lineage columns from its links (others empty); 1 when the file changed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    n = table.num_rows
    values = {c: [None] * n for c in LINEAGE_COLUMNS}
    for (_, i), parent, age, life in links:
        values["resumed_from"][i] = parent
        values["resumption_age_s"][i] = age
        values["resumed_ticket_lifetime_s"][i] = life
    kinds = {c.name: c.type for c in COLUMNS}
    changed = False
    for c in LINEAGE_COLUMNS:
        arr = pa.array(values[c], type=arrow_type(kinds[c]))
        if c in table.column_names:
            idx = table.column_names.index(c)
            if table.column(idx).combine_chunks().equals(arr):
                continue
            table = table.set_column(idx, c, arr)
            changed = True
        elif links:
            table = table.append_column(pa.field(c, arr.type), arr)
            changed = True
    if not changed:
        return 0
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return 1


__all__ = ["INPUT_COLUMNS", "LINEAGE_COLUMNS", "Linker", "MAX_LINEAGE_RECORDS_IN_MEMORY", "MAX_REMEMBERED_SESSIONS",
           "SortedSpill", "clear_lineage", "link_dataset", "link_record", "link_rows", "parent_id"]
