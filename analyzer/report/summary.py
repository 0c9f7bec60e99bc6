"""Statistics over the connection table: what `summary.json` and `handshake-analyzer summary` show.

Owns the one-line verdict of a connection (`outcome`: ok / failed / incomplete /
not TLS, with a short label and a sentence), the counting (per capture and overall: versions, cipher suites, groups,
ALPN, resumption kinds, failure kinds, alerts, decryption status when that
column exists), handshake-duration percentiles, the judgement of which versions
and suites count as weak (for highlighting only; policy checks belong to the
audit stage), and the rich rendering of those tables. It reads rows of a
`Rows` table by column name and tolerates columns that are missing, so
columns added later (decryption, fingerprints, QUIC) need no change here.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from rich.console import Console
from rich.table import Table

from .ladder import CLIENT, LadderStep
from .table import Rows
from .writers import safe_text

WEAK_VERSIONS = frozenset({"SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "DTLS 1.0"})
# Suites whose cipher or key exchange is broken or obsolete.
_WEAK_SUITE_PARTS = ("_RC4_", "_DES_", "DES40", "3DES", "_NULL_", "EXPORT", "_anon_", "_MD5", "_WITH_NULL")
# Names of the decryption-status column, in order of preference (added by the decryption stage).
DECRYPTION_COLUMNS = ("decryption_status", "decryption", "decrypt_status", "decrypted")
PERCENTILES = (50, 90, 95, 99)


def is_weak_version(version: Any) -> bool:
    return isinstance(version, str) and version in WEAK_VERSIONS


def suite_weakness(suite: Any) -> str:
    """'weak' (broken cipher/MAC), 'no forward secrecy' (static RSA/DH key exchange), or ''."""
    if not isinstance(suite, str) or not suite:
        return ""
    s = suite.upper()
    if any(p.upper() in s for p in _WEAK_SUITE_PARTS):
        return "weak"
    if s.startswith(("TLS_RSA_", "SSL_RSA_", "TLS_DH_", "TLS_ECDH_")) and "_WITH_" in s:
        return "no forward secrecy"
    return ""


class RowView:
    """Reads row tuples of a `Rows` table by column name; missing columns read as None."""

    def __init__(self, names: Sequence[str]) -> None:
        self.index = {n: i for i, n in enumerate(names)}

    def has(self, name: str) -> bool:
        return name in self.index

    def get(self, row: Sequence[Any], name: str, default: Any = None) -> Any:
        i = self.index.get(name)
        if i is None or i >= len(row):
            return default
        v = row[i]
        if isinstance(v, float) and math.isnan(v):
            return default
        return default if v is None else v

    def first(self, names: Iterable[str]) -> str | None:
        for n in names:
            if n in self.index:
                return n
        return None


def decryption_ok(value: Any) -> bool:
    """Whether a decryption-status value means the connection was decrypted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() in ("ok", "decrypted", "yes", "true")
    return False


def failure_kind(failure: Any) -> str:
    """'malformed: ServerHello too short' -> 'malformed'."""
    if not failure:
        return ""
    return str(failure).split(":", 1)[0].strip()


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Linear-interpolation percentile (numpy's and pandas' default) of sorted values."""
    n = len(sorted_values)
    if n == 1:
        return float(sorted_values[0])
    pos = (n - 1) * p / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac)


def duration_stats(values: Iterable[float]) -> dict[str, Any]:
    vals = sorted(float(v) for v in values if v is not None and not math.isnan(v))
    out: dict[str, Any] = {"count": len(vals)}
    if not vals:
        return out
    out["min"] = round(vals[0], 3)
    for p in PERCENTILES:
        out[f"p{p}"] = round(percentile(vals, p), 3)
    out["max"] = round(vals[-1], 3)
    out["mean"] = round(sum(vals) / len(vals), 3)
    return out


class _Group:
    """Counters of one capture (or of all)."""

    def __init__(self, decryption: str | None) -> None:
        self.n = 0
        self.tls = 0
        self.complete = 0
        self.failed = 0
        self.resumed = 0
        self.resumed_linked = 0   # resumed rows whose parent connection the lineage found
        self.hrr = 0
        self.weak_version = 0
        self.decrypted = 0
        self.decryption = decryption
        self.counts: dict[str, Counter[str]] = {k: Counter() for k in COUNTED}
        if decryption:
            self.counts["decryption"] = Counter()
        self.ms: list[float] = []

    def add(self, v: RowView, r: Sequence[Any]) -> None:
        get = v.get
        self.n += 1
        tls = bool(get(r, "is_tls", False))
        complete = bool(get(r, "handshake_complete", False))
        self.tls += tls
        self.complete += complete
        if tls and not complete:
            self.failed += 1
        self.resumed += bool(get(r, "resumed", False))
        self.resumed_linked += get(r, "resumed_from") is not None
        self.hrr += bool(get(r, "hrr", False))
        version = get(r, "version")
        self.weak_version += is_weak_version(version)
        c = self.counts
        for key in ("version", "cipher_suite", "group", "alpn", "alert", "transport", "resumption_attempt"):
            val = get(r, key)
            if val not in (None, ""):
                c[key][str(val)] += 1
        if complete:
            c["resumption"][str(get(r, "resumption", "none"))] += 1
            ms = get(r, "handshake_ms")
            if ms is not None:
                self.ms.append(float(ms))
        kind = failure_kind(get(r, "failure"))
        if kind:
            c["failure"][kind] += 1
        if self.decryption:
            dv = get(r, self.decryption)
            if dv not in (None, ""):
                c["decryption"][str(dv)] += 1
                self.decrypted += decryption_ok(dv)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "connections": self.n,
            "tls": self.tls,
            "complete": self.complete,
            "failed": self.failed,
            "resumed": self.resumed,
            "resumed_linked": self.resumed_linked,
            "resumption_rate": resumption_rate(self.counts["resumption_attempt"]),
            "hrr": self.hrr,
            "weak_version": self.weak_version,
        }
        if self.decryption:
            d["decrypted"] = self.decrypted
        for key, counter in self.counts.items():
            d[key] = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
        d["handshake_ms"] = duration_stats(self.ms)
        return d


# Counted columns. version, cipher_suite, group, alpn, alert, transport, resumption_attempt: rows where
# the value is not empty; resumption: completed handshakes; failure: by kind (text before ':').
COUNTED = ("version", "cipher_suite", "group", "alpn", "resumption", "failure", "alert", "transport",
           "resumption_attempt")


def resumption_rate(attempts: Counter[str] | dict[str, int]) -> float | None:
    """Share of resumption attempts the servers accepted (accepted / (accepted + refused)), None without any."""
    accepted, refused = attempts.get("accepted", 0), attempts.get("refused", 0)
    return round(accepted / (accepted + refused), 4) if accepted + refused else None


def link_types(frames: Any) -> list[dict[str, Any]]:
    """A capture's frames per link type (a `capture.FrameCounts`), most frames first:
    `[{"link_type": 1, "name": "ETHERNET", "frames": 24}, ...]`."""
    from ..capture.names import linktype_name

    items = sorted(frames.link_types.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"link_type": lt, "name": linktype_name(lt), "frames": n} for lt, n in items]


def not_decoded(frames: Any) -> dict[str, int]:
    """A capture's frames that could not be decoded, by kind (`link type 147 (USER0)` ...)."""
    from ..capture.names import describe_key

    items = sorted(frames.undecodable.items(), key=lambda kv: (-kv[1], kv[0]))
    return {describe_key(k, n): c for (k, n), c in items}


def summarize(rows: Rows, *, files_read: int | None = None, frames: dict[str, Any] | None = None) -> dict[str, Any]:
    """The statistics of `summary.json`: an `overall` block and one block per capture.
    With `frames` (capture name -> `capture.FrameCounts`), each capture's block also says
    its frames per link type (`link_types`) and those not decoded (`frames_not_decoded`),
    and captures without connections get a block too."""
    v = RowView(rows.names)
    dec = v.first(DECRYPTION_COLUMNS)
    overall = _Group(dec)
    per: dict[str, _Group] = {}
    for r in rows.rows:
        overall.add(v, r)
        cap = str(v.get(r, "capture", ""))
        g = per.get(cap)
        if g is None:
            g = per[cap] = _Group(dec)
        g.add(v, r)
    for cap in frames or {}:
        if cap not in per:
            per[cap] = _Group(dec)
    out: dict[str, Any] = {
        "captures": len(per) if files_read is None else max(files_read, len(per)),
        "notes": {
            "failed": "TLS connections whose handshake did not complete (any failure kind)",
            "counts": "version, cipher_suite, group, alpn, alert, resumption_attempt: connections where the value "
                      "is known; resumption: completed handshakes; failure: by kind (text before ':')",
            "resumption_rate": "accepted / (accepted + refused) resumption attempts; resumed_linked: resumed "
                               "connections whose parent (resumed_from) is among the captures",
            "handshake_ms": "milliseconds from ClientHello to the last handshake message, completed handshakes only; "
                            "percentiles by linear interpolation",
        },
        "overall": overall.to_dict(),
        "per_capture": {k: per[k].to_dict() for k in sorted(per)},
    }
    if frames is not None:
        from ..capture.model import FrameCounts

        total = FrameCounts()
        for cap, counts in frames.items():
            total.add(counts)
            out["per_capture"][cap]["link_types"] = link_types(counts)
            out["per_capture"][cap]["frames_not_decoded"] = not_decoded(counts)
        out["overall"]["link_types"] = link_types(total)
        out["overall"]["frames_not_decoded"] = not_decoded(total)
        out["notes"]["link_types"] = ("frames per link type (pcap: the file's; pcapng: each interface's); "
                                      "frames_not_decoded: frames that could have carried IP but were not "
                                      "decoded (a link type, ethertype or PPP protocol not read), by kind")
    if dec:
        out["notes"]["decrypted"] = f"connections whose `{dec}` says they were decrypted"
    return out


# --------------------------------------------------------------------------- outcome of a row


@dataclass(frozen=True, slots=True)
class Outcome:
    cls: str      # ok | failed | incomplete | nontls
    short: str    # table cell text
    sentence: str # one line for the detail panel


def _by(steps: Sequence[LadderStep] | None, kind: str) -> str:
    if not steps:
        return ""
    for st in steps:
        if st.kind == kind:
            return "client" if st.direction == CLIENT else "server"
    return ""


def outcome(v: RowView, r: Sequence[Any], steps: Sequence[LadderStep] | None = None) -> Outcome:
    get = v.get
    ms = get(r, "handshake_ms")
    if get(r, "handshake_complete"):
        bits = [x for x in (get(r, "version"), get(r, "cipher_suite"), get(r, "group")) if x]
        text = "Completed " + (bits[0] + " handshake" if bits else "handshake")
        if len(bits) > 1:
            text += " (" + ", ".join(bits[1:]) + ")"
        if ms is not None:
            text += f" in {ms:.1f} ms"
        rt = get(r, "round_trips")
        if rt:
            text += f", {rt} round trip{'s' if rt != 1 else ''}"
        res = get(r, "resumption", "none")
        if get(r, "resumed") and res != "none":
            text += {"session_id": "; resumed a session by session ID (abbreviated handshake)",
                     "ticket": "; resumed with a session ticket (abbreviated handshake)",
                     "psk": "; resumed with a TLS 1.3 pre-shared key"}.get(res, f"; resumed ({res})")
        if get(r, "hrr"):
            text += "; the server asked for another key share (HelloRetryRequest"
            text += f", {get(r, 'hrr_group')})" if get(r, "hrr_group") else ")"
        return Outcome("ok", "ok", text + ".")
    failure = get(r, "failure") or ""
    kind = failure_kind(failure)
    frame = get(r, "failure_frame")
    at = f" in frame {frame}" if frame else ""
    proto = get(r, "plaintext_protocol")
    if kind == "not_tls":
        if proto:
            return Outcome("nontls", f"{proto} in clear",
                           f"Not TLS: a {proto} session that stayed in clear (no switch to TLS).")
        return Outcome("nontls", "not TLS", "Not TLS: the connection carried something else.")
    if kind == "upgrade_refused":
        return Outcome("nontls", f"{proto or 'upgrade'} TLS refused",
                       f"Not TLS: the server refused the {proto or 'plaintext'} switch to TLS{at}.")
    if kind == "alert":
        alert = get(r, "alert") or "unknown"
        sender = get(r, "alert_sender") or ""
        level = get(r, "alert_level") or ""
        short = f"alert: {alert}" + (f" ({sender})" if sender else "")
        sent = f"Handshake failed: the {sender or 'peer'} sent {level + ' ' if level else ''}alert {alert}{at}."
        return Outcome("failed", short, sent)
    if kind == "reset":
        who = _by(steps, "rst")
        return Outcome("failed", "reset" + (f" by {who}" if who else ""),
                       f"Handshake failed: TCP reset{' by the ' + who if who else ''}{at}, before the handshake completed.")
    if kind == "close":
        who = _by(steps, "fin")
        return Outcome("failed", "closed" + (f" by {who}" if who else ""),
                       f"Handshake failed: the {who or 'peer'} closed the connection (FIN){at} before the handshake completed.")
    if kind == "no_response":
        return Outcome("failed", "no response", "Handshake failed: the server never answered the ClientHello.")
    if kind == "timeout":
        return Outcome("failed", "timeout", f"Handshake failed: the connection went idle mid-handshake{at}.")
    if kind == "evicted":
        return Outcome("incomplete", "not followed", "Incomplete: too many connections were live at once; "
                       "this one, idle the longest, was not followed further.")
    if kind == "truncated":
        return Outcome("incomplete", "capture ended", "Incomplete: the capture ended in the middle of the handshake.")
    if kind == "gap":
        return Outcome("incomplete", "capture gap", f"Incomplete: bytes of the handshake were never captured{at}.")
    if kind == "no_client_hello":
        return Outcome("incomplete", "no ClientHello", "Incomplete: the capture started after the ClientHello.")
    if kind == "malformed":
        return Outcome("failed", "malformed", f"Could not decode the handshake: {failure}{at}.")
    if failure:
        return Outcome("failed", failure, f"Handshake failed: {failure}{at}.")
    return Outcome("incomplete", "incomplete", "The handshake did not complete.")


# --------------------------------------------------------------------------- terminal


def _pct(n: int, total: int) -> str:
    return f"{100.0 * n / total:.0f}%" if total else "-"


def _count_table(title: str, head: str, counts: dict[str, int], total: int, *, limit: int = 15,
                 warn: Any = None) -> Table:
    t = Table(title=title, title_justify="left", header_style="bold", min_width=40)
    t.add_column(head, overflow="fold")
    t.add_column("connections", justify="right")
    t.add_column("share", justify="right")
    items = list(counts.items())
    for name, n in items[:limit]:
        text = safe_text(name)
        if warn is not None and warn(name):
            text = f"[red]{text}[/red]"
        t.add_row(text, str(n), _pct(n, total))
    if len(items) > limit:
        rest = sum(n for _, n in items[limit:])
        t.add_row(f"[dim]{len(items) - limit} more[/dim]", str(rest), _pct(rest, total))
    if not items:
        t.add_row("[dim](none)[/dim]", "", "")
    return t


def render_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print the summary tables: overview per capture, then counts and durations overall."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=160)
    o = summary["overall"]
    has_dec = "decrypted" in o
    t = Table(title="Captures", title_justify="left", header_style="bold")
    for name, kw in (("capture", {"overflow": "fold"}), ("connections", {"justify": "right"}),
                     ("TLS", {"justify": "right"}), ("complete", {"justify": "right"}),
                     ("failed", {"justify": "right"}), ("resumed", {"justify": "right"}),
                     ("weak version", {"justify": "right"})):
        t.add_column(name, **kw)
    if has_dec:
        t.add_column("decrypted", justify="right")
    t.add_column("median ms", justify="right")
    has_lt = "link_types" in o
    has_nd = bool(o.get("frames_not_decoded"))
    if has_lt:
        t.add_column("link types (frames)", overflow="fold")
    if has_nd:
        t.add_column("not decoded", overflow="fold")

    def line(name: str, g: dict[str, Any], bold: bool = False) -> None:
        med = g["handshake_ms"].get("p50")
        cells = [name, str(g["connections"]), str(g["tls"]), str(g["complete"]),
                 f"[red]{g['failed']}[/red]" if g["failed"] else "0",
                 str(g["resumed"]),
                 f"[red]{g['weak_version']}[/red]" if g["weak_version"] else "0"]
        if has_dec:
            cells.append(str(g.get("decrypted", 0)))
        cells.append(f"{med:.2f}" if med is not None else "")
        if has_lt:
            cells.append(", ".join(f"{x['name']} ({x['link_type']}): {x['frames']}" for x in g.get("link_types", [])))
        if has_nd:
            nd = g.get("frames_not_decoded", {})  # the kinds without their names ("ethertype 0x88b5: 3")
            cells.append(", ".join(f"[red]{safe_text(k.split(' (')[0])}: {n}[/red]" for k, n in nd.items())
                         if nd else "0")
        if bold:
            cells = [f"[bold]{c}[/bold]" for c in cells]
        t.add_row(*cells)

    for cap, g in summary["per_capture"].items():
        line(safe_text(cap), g)
    if len(summary["per_capture"]) != 1:
        t.add_section()
        line(f"all ({summary['captures']} captures)", o, bold=True)
    console.print(t)

    tls = o["tls"]
    console.print(_count_table("Versions", "version", o["version"], tls, warn=is_weak_version))
    console.print(_count_table("Cipher suites", "cipher suite", o["cipher_suite"], tls, warn=lambda s: bool(suite_weakness(s))))
    console.print(_count_table("Groups", "group", o["group"], tls))
    console.print(_count_table("ALPN", "protocol", o["alpn"], tls))
    console.print(_count_table("Resumption (completed handshakes)", "kind", o["resumption"], o["complete"]))
    attempts = o.get("resumption_attempt", {})
    if attempts.get("accepted") or attempts.get("refused"):
        console.print(_count_table("Resumption attempts (accepted: rate "
                                   f"{100 * (o.get('resumption_rate') or 0):.0f}%; "
                                   f"{o.get('resumed_linked', 0)} resumed linked to their parent)",
                                   "attempt", attempts, o["tls"], warn=lambda s: s == "refused"))
    console.print(_count_table("Failures", "kind", o["failure"], o["connections"], warn=lambda s: s != "not_tls"))
    console.print(_count_table("Alerts", "alert", o["alert"], o["connections"], warn=lambda s: True))
    if "decryption" in o:
        console.print(_count_table("Decryption", "status", o["decryption"], tls))
    if len(o.get("transport", {})) > 1:
        console.print(_count_table("Transport", "transport", o["transport"], o["connections"]))
    hs = o["handshake_ms"]
    d = Table(title="Handshake duration (ms, completed handshakes)", title_justify="left", header_style="bold")
    keys = ["count", "min", *[f"p{p}" for p in PERCENTILES], "max", "mean"]
    for k in keys:
        d.add_column(k, justify="right")
    d.add_row(*[("" if hs.get(k) is None else str(hs[k])) for k in keys])
    console.print(d)


__all__ = ["summarize", "render_summary", "resumption_rate", "link_types", "not_decoded", "duration_stats", "percentile", "is_weak_version", "suite_weakness",
           "RowView", "WEAK_VERSIONS", "DECRYPTION_COLUMNS", "decryption_ok", "failure_kind", "outcome", "Outcome"]
