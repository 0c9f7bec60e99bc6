"""The `report` job: data files, `summary.json` and one self-contained `index.html`.

Owns `ReportCollector` (the consumer passed to `run_analysis`: it adds every
summary to the row store and keeps the ladder and certificate chain of at most
`max_details` connections, preferring failed and weak ones, so memory stays
bounded on big runs), `write_report` (connections.parquet/.csv/.jsonl,
summary.json, index.html into one folder) and the HTML page itself: overview
cards, "what happened" findings, inline SVG charts, a sortable and filterable
connection table (plain JavaScript), the "Inventory" section (`inventory_section`: the
cryptographic inventory of `analyzer.report.inventory` with a post-quantum readiness chart) and
one detail panel per connection with
its ladder diagram, offered vs chosen parameters, certificate chain,
fingerprints and decryption status.

The page loads nothing: styles, script and images are inline, and a Content
Security Policy with the hashes of the one style and one script block forbids
everything else (so even a wire string that escaped escaping could not run).
Every string from the wire is HTML-escaped, control characters shown as \\xNN.
Columns are read by name; columns added by other stages (decryption status,
JA3/JA4 fingerprints, QUIC rows) are shown when present and ignored when not.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from html import escape as _esc
from pathlib import Path
from typing import IO, Any, Iterable, Sequence

from ..tls.summary import ConnectionSummary
from . import charts
from .ladder import LadderStep, render_svg, summary_steps
from .summary import DECRYPTION_COLUMNS, RowView, is_weak_version, outcome, suite_weakness, summarize
from .table import Rows, TableBuilder
from .writers import neutralise

DEFAULT_MAX_DETAILS = 2000
TOP_SUITES = 10
MAX_CHILDREN_LISTED = 20   # resumptions of one connection linked from its detail panel (the rest are counted)

def h(value: Any) -> str:
    """HTML-escape any value (quotes too); None is empty; control characters become \\xNN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = value if isinstance(value, str) else str(value)
    return _esc(neutralise(text), quote=True)


# --------------------------------------------------------------------------- collecting


@dataclass(slots=True)
class CertView:
    subject: str
    issuer: str
    not_before: str
    not_after: str
    key: str
    signature_algorithm: str
    sha256: str
    self_signed: bool
    sans: tuple[str, ...] = ()
    error: str | None = None


@dataclass(slots=True)
class Detail:
    """What the detail panel needs beyond the table row: the ladder and the full chains."""

    steps: list[LadderStep]
    chain: list[CertView] = field(default_factory=list)
    client_chain: list[CertView] = field(default_factory=list)
    priority: int = 1


def _date(d: Any) -> str:
    if isinstance(d, _dt.datetime):
        return d.strftime("%Y-%m-%d %H:%M UTC")
    return "" if d is None else str(d)


def _cert_view(c: Any) -> CertView:
    key = f"{c.key_type} {c.key_bits}" if c.key_bits else (c.key_type or "")
    return CertView(c.subject, c.issuer, _date(c.not_before), _date(c.not_after), key, c.signature_algorithm,
                    c.sha256, bool(c.self_signed), tuple(c.sans[:20]), c.error)


def _priority(s: ConnectionSummary) -> int:
    if not s.is_tls:
        return 0
    if not s.handshake_complete or is_weak_version(s.version) or suite_weakness(s.cipher_suite) == "weak":
        return 2
    return 1


def detail_key(capture: Any, stream: Any, first_frame: Any) -> tuple[str, int, int]:
    return (str(capture), int(stream if stream is not None else -1), int(first_frame or 0))


class ReportCollector:
    """Consumer for `run_analysis`: every summary becomes a row; at most `max_details` keep a ladder.

    When the cap is reached, a failed or weak connection replaces a completed one,
    and a TLS connection replaces a non-TLS one; `omitted` counts connections
    that have a row but no detail panel.
    """

    def __init__(self, max_details: int = DEFAULT_MAX_DETAILS) -> None:
        self.table = TableBuilder()
        self.max_details = max(0, max_details)
        self.details: dict[tuple[str, int, int], Detail] = {}
        self._by_priority: dict[int, list[tuple[str, int, int]]] = {0: [], 1: [], 2: []}
        self.omitted = 0

    def add(self, s: ConnectionSummary) -> None:
        self.table.add(s)
        prio = _priority(s)
        key = detail_key(s.capture, s.stream, s.first_frame)
        if len(self.details) >= self.max_details:
            victim = None
            for p in range(prio):
                if self._by_priority[p]:
                    victim = self._by_priority[p].pop()
                    break
            if victim is None:
                self.omitted += 1
                return
            del self.details[victim]
            self.omitted += 1
        self.details[key] = Detail(
            steps=summary_steps(s),
            chain=[_cert_view(c) for c in s.cert_chain[:10]],
            client_chain=[_cert_view(c) for c in s.client_cert_chain[:10]],
            priority=prio,
        )
        self._by_priority[prio].append(key)

    __call__ = add


# --------------------------------------------------------------------------- page assets

_CSS = """
:root{--fg:#111827;--mut:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--ok:#16a34a;--bad:#dc2626;--warn:#d97706;--acc:#2563eb;--enc:#6d28d9}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1480px;margin:0 auto;padding:18px 22px 60px}
h1{font-size:22px;margin:0}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:13px;margin:16px 0 6px;text-transform:uppercase;letter-spacing:.04em;color:var(--mut)}
a{color:var(--acc)}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
.sub{color:var(--mut);margin:4px 0 0;font-size:13px}
header.top{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;flex-wrap:wrap;margin-bottom:14px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:12px 0}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:10px 14px}
.card .n{font-size:26px;font-weight:700;line-height:1.1}
.card .l{color:var(--mut);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .x{color:var(--mut);font-size:12px}
.card.bad{border-color:#fecaca;background:#fef2f2}.card.bad .n{color:var(--bad)}
.card.ok .n{color:var(--ok)}.card.warn{border-color:#fde68a;background:#fffbeb}.card.warn .n{color:var(--warn)}
.panel-box{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin:12px 0}
.findings ul{margin:0;padding:0;list-style:none}
.findings li{display:flex;gap:10px;align-items:baseline;padding:6px 0;border-bottom:1px solid #f1f5f9}
.findings li:last-child{border-bottom:0}
.dot{flex:0 0 10px;height:10px;border-radius:50%;background:var(--mut);position:relative;top:1px}
.dot.bad{background:var(--bad)}.dot.ok{background:var(--ok)}.dot.warn{background:var(--warn)}.dot.info{background:var(--acc)}
.findings .what{flex:1}
.findings .ex{color:var(--mut);font-size:12px}
button.show{font:inherit;font-size:12px;border:1px solid var(--line);background:#fff;border-radius:6px;padding:1px 8px;cursor:pointer;color:var(--acc)}
.charts{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:12px}
.charts .wide{grid-column:span 2}
@media (max-width:1100px){.charts{grid-template-columns:minmax(0,1fr)}.charts .wide{grid-column:auto}}
.charts .panel-box{margin:0}
svg.chart{display:block;max-width:100%;height:auto}
.chart-label,.chart-num,.chart-axis,.chart-empty{font-size:11.5px;fill:#374151}
.chart-share{fill:var(--mut)}
.legend{display:flex;gap:12px;flex-wrap:wrap;font-size:12px;color:var(--mut);margin-top:4px}
.legend-item svg{vertical-align:-1px}
.filters{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-bottom:8px}
#q{flex:1 1 320px;font:inherit;padding:7px 10px;border:1px solid #cbd5e1;border-radius:8px}
.chip{font:inherit;font-size:13px;padding:5px 11px;border:1px solid #cbd5e1;border-radius:999px;background:#fff;cursor:pointer}
.chip[aria-pressed=true]{background:var(--fg);color:#fff;border-color:var(--fg)}
.count{color:var(--mut);font-size:13px;margin-left:auto}
.tablewrap{overflow:auto;max-height:78vh;border:1px solid var(--line);border-radius:8px;background:#fff}
table.conns{border-collapse:separate;border-spacing:0;width:100%;font-size:13px}
table.conns th{position:sticky;top:0;background:#f1f5f9;text-align:left;padding:7px 7px;border-bottom:1px solid var(--line);cursor:pointer;white-space:nowrap;user-select:none}
table.conns th[aria-sort=ascending]::after{content:" \\25B2";font-size:10px}
table.conns th[aria-sort=descending]::after{content:" \\25BC";font-size:10px}
table.conns td{padding:5px 7px;border-bottom:1px solid #f1f5f9;vertical-align:top}
table.conns tbody tr{cursor:pointer}
table.conns tbody tr:hover{background:#f8fafc}
tr.r-failed td:first-child{box-shadow:inset 4px 0 0 var(--bad)}
tr.r-incomplete td:first-child{box-shadow:inset 4px 0 0 var(--warn)}
tr.r-nontls{color:var(--mut)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{max-width:220px;overflow-wrap:break-word}
.sid{color:var(--mut);font-size:12px}
td.nw{white-space:nowrap}
table.conns td.mono{font-size:11.5px}
.badge{display:inline-block;padding:0 7px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap;background:#e5e7eb;color:#374151}
.b-ok{background:#dcfce7;color:#166534}.b-failed{background:#fee2e2;color:#991b1b}.b-incomplete{background:#fef3c7;color:#92400e}
.b-nontls{background:#f3f4f6;color:#6b7280}.b-weak{background:#fee2e2;color:#991b1b}.b-warn{background:#fef3c7;color:#92400e}
.b-res{background:#dbeafe;color:#1e40af}.b-v13{background:#dcfce7;color:#166534}.b-v12{background:#e0f2fe;color:#075985}
.tag{font-size:11px;color:var(--warn);margin-left:4px;white-space:nowrap}.tag.weak{color:var(--bad)}
.empty{padding:20px;text-align:center;color:var(--mut)}
.note{color:var(--mut);font-size:13px;margin:6px 0}
.detail{display:none}
.detail:target{display:block;position:fixed;inset:0;background:rgba(15,23,42,.45);z-index:10;overflow:auto;padding:3vh 3vw}
.detail .sheet{background:#fff;border-radius:12px;max-width:1240px;margin:0 auto;padding:16px 20px 24px;box-shadow:0 20px 50px rgba(0,0,0,.3)}
.detail .head{display:flex;gap:14px;align-items:flex-start;justify-content:space-between}
.detail .close{font-size:22px;text-decoration:none;color:var(--mut);padding:0 6px;line-height:1}
.verdict{margin:10px 0 4px;padding:9px 12px;border-radius:8px;background:#f0fdf4;border:1px solid #bbf7d0}
.verdict.v-failed{background:#fef2f2;border-color:#fecaca}.verdict.v-incomplete{background:#fffbeb;border-color:#fde68a}
.verdict.v-nontls{background:#f9fafb;border-color:var(--line)}
.cols{display:grid;grid-template-columns:minmax(0,540px) minmax(0,1fr);gap:24px;align-items:start}
.cols>div{min-width:0}
@media (max-width:1100px){.cols{grid-template-columns:1fr}}
.ladder-box{overflow:auto}
svg.ladder{display:block}
svg.ladder .lane{stroke:#94a3b8;stroke-width:2}
svg.ladder .lane-title{font-weight:700;font-size:13px;fill:var(--fg)}
svg.ladder .lane-sub,svg.ladder .lane-sni{font-size:11px;fill:var(--mut)}
svg.ladder .frame,svg.ladder .ms,svg.ladder .col-head{font-size:11px;fill:var(--mut);font-family:ui-monospace,"DejaVu Sans Mono",monospace}
svg.ladder .msg{font-size:12.5px;font-weight:600}
svg.ladder .size{font-size:10px;fill:var(--mut)}
svg.ladder .s-ccs .msg,svg.ladder .s-tcp .msg{font-weight:400}
table.kv{border-collapse:collapse;width:100%;font-size:13px}
table.kv.params{table-layout:fixed}
table.kv.params th{width:auto}
table.kv.params col.c-k{width:104px}
table.kv.params col.c-o{width:56%}
table.kv.params td{overflow-wrap:anywhere}
table.kv th,table.kv td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid #f1f5f9}
table.kv th{color:var(--mut);font-weight:600;white-space:nowrap;width:1%}
table.kv.params tbody th{white-space:normal}
.list{display:flex;flex-wrap:wrap;gap:3px}
.list span{font-size:11px;padding:0 5px;border-radius:4px;background:#f1f5f9;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.list span.hit{background:#dcfce7;color:#166534;font-weight:700}
.list span.grease{color:var(--mut)}
.chosen{font-weight:700}
.cert{border:1px solid var(--line);border-radius:8px;padding:6px 10px;margin:6px 0;font-size:12.5px}
.cert .who{font-weight:600;overflow-wrap:anywhere}
.cert .meta{color:var(--mut);overflow-wrap:anywhere}
footer{color:var(--mut);font-size:12px;margin-top:26px}
table.inventory .list span{min-width:0;overflow-wrap:anywhere}
"""

_JS = r"""
(function () {
  'use strict';
  var table = document.getElementById('conns');
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var q = document.getElementById('q');
  var shown = document.getElementById('shown');
  var empty = document.getElementById('no-match');
  var mode = 'all';
  rows.forEach(function (r) { r.setAttribute('data-text', r.textContent.toLowerCase()); });
  function apply() {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var n = 0;
    rows.forEach(function (r) {
      var text = r.getAttribute('data-text');
      var ok = (mode === 'all' || r.getAttribute('data-' + mode) === '1') &&
        words.every(function (w) { return text.indexOf(w) >= 0; });
      r.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = String(n);
    empty.hidden = n > 0;
    return n;
  }
  function setMode(m) {
    mode = m;
    document.querySelectorAll('button.chip').forEach(function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-mode') === m ? 'true' : 'false');
    });
    return apply();
  }
  q.addEventListener('input', apply);
  document.querySelectorAll('button.chip').forEach(function (b) {
    b.addEventListener('click', function () { setMode(b.getAttribute('data-mode')); });
  });
  document.querySelectorAll('button.show').forEach(function (b) {
    b.addEventListener('click', function () {
      q.value = b.getAttribute('data-q') || '';
      setMode(b.getAttribute('data-mode') || 'all');
      document.getElementById('connections').scrollIntoView();
    });
  });
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener('click', function () {
      var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
      Array.prototype.forEach.call(heads, function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      var numeric = th.getAttribute('data-type') === 'num';
      var keyed = rows.map(function (r, i) {
        var c = r.cells[col];
        var v = c.hasAttribute('data-v') ? c.getAttribute('data-v') : c.textContent;
        return { r: r, i: i, v: numeric ? (v === '' ? Infinity : parseFloat(v)) : v.toLowerCase() };
      });
      keyed.sort(function (a, b) {
        if (a.v < b.v) { return -dir; }
        if (a.v > b.v) { return dir; }
        return a.i - b.i;
      });
      keyed.forEach(function (k) { tbody.appendChild(k.r); });
    });
  });
  tbody.addEventListener('click', function (e) {
    var tr = e.target.closest('tr');
    if (tr && !e.target.closest('a') && tr.getAttribute('data-href')) { location.hash = tr.getAttribute('data-href'); }
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && location.hash.indexOf('#c-') === 0) { location.hash = '_'; }
  });
  window.handshakeReport = { apply: apply, setMode: setMode, rows: rows.length };
  apply();
})();
"""

# --------------------------------------------------------------------------- HTML helpers


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _list(values: Iterable[Any], chosen: Any = None, limit: int = 80) -> str:
    vals = list(values or ())
    if not vals:
        return '<span class="note">none</span>'
    out = []
    for x in vals[:limit]:
        cls = ' class="hit"' if chosen is not None and x == chosen else (
            ' class="grease"' if isinstance(x, str) and x.startswith("GREASE") else "")
        out.append(f"<span{cls}>{h(x)}</span>")
    if len(vals) > limit:
        out.append(f"<span>\u2026 {len(vals) - limit} more</span>")
    return '<div class="list">' + "".join(out) + "</div>"


def _bool(v: Any) -> str:
    if v is None:
        return ""
    return "yes" if v else "no"


def _version_badge(version: Any) -> str:
    if not version:
        return ""
    if is_weak_version(version):
        return f'<span class="badge b-weak" title="weak protocol version">{h(version)}</span>'
    cls = {"TLS 1.3": "b-v13", "TLS 1.2": "b-v12"}.get(str(version), "")
    return f'<span class="badge {cls}">{h(version)}</span>'


def _suite_cell(suite: Any) -> str:
    if not suite:
        return ""
    w = suite_weakness(suite)
    tag = ""
    if w == "weak":
        tag = '<span class="tag weak">weak</span>'
    elif w:
        tag = '<span class="tag" title="static RSA/DH key exchange: no forward secrecy">no PFS</span>'
    return f"{h(suite)}{tag}"


def _fmt_ts(v: Any) -> str:
    if isinstance(v, _dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return h(v)


def _ts(v: Any) -> float | None:
    if isinstance(v, _dt.datetime):
        return v.timestamp()
    if isinstance(v, (int, float)):
        return float(v)
    return None


# --------------------------------------------------------------------------- sections


def _fingerprint_columns(names: Sequence[str]) -> list[str]:
    return [n for n in names if re.match(r"^ja[34][a-z0-9_]*$", n)]


def _decryption_columns(names: Sequence[str]) -> list[str]:
    return [n for n in names if n.startswith("decrypt") or n.startswith("finished_") or n.startswith("app_bytes")
            or n.startswith("application_bytes")]


class _Page:
    def __init__(self, rows: Rows, details: dict[tuple[str, int, int], Detail], summary: dict[str, Any],
                 omitted: int, meta: dict[str, Any]) -> None:
        self.rows = rows
        self.v = RowView(rows.names)
        self.details = details
        self.summary = summary
        self.omitted = omitted
        self.meta = meta
        self.dec_col = self.v.first(DECRYPTION_COLUMNS)
        self.fp_cols = _fingerprint_columns(rows.names)
        self.dec_cols = _decryption_columns(rows.names)
        # rows shown in the page (those with a detail), with their ids
        self.shown: list[tuple[int, Sequence[Any], Detail]] = []
        get = self.v.get
        for i, r in enumerate(rows.rows):
            d = details.get(detail_key(get(r, "capture"), get(r, "stream"), get(r, "first_frame")))
            if d is not None:
                self.shown.append((i, r, d))
        self._index = {id(r): i for i, r, _ in self.shown}
        self._lineage()

    def _lineage(self) -> None:
        """Parent and children of the shown connections (`resumed_from`, analyzer.lineage): the shown rows
        by their `CAPTURE#STREAM` id, and at most MAX_CHILDREN_LISTED children per shown parent."""
        from ..lineage import parent_id

        get = self.v.get
        self._by_id: dict[str, int] = {}
        for i, r, _ in self.shown:
            self._by_id[parent_id(str(get(r, "capture", "")), str(get(r, "transport", "tcp")), get(r, "stream", -1))] = i
        self._children: dict[str, list[tuple[str, int | None]]] = {}
        self._child_count: Counter[str] = Counter()
        if not self.v.has("resumed_from"):
            return
        for i, r in enumerate(self.rows.rows):
            parent = get(r, "resumed_from")
            if parent is None or parent not in self._by_id:
                continue
            self._child_count[parent] += 1
            kids = self._children.setdefault(parent, [])
            if len(kids) < MAX_CHILDREN_LISTED:
                me = parent_id(str(get(r, "capture", "")), str(get(r, "transport", "tcp")), get(r, "stream", -1))
                kids.append((me, self._by_id.get(me)))

    # -- overview --------------------------------------------------------

    def cards(self) -> str:
        o = self.summary["overall"]
        tls, complete, failed = o["tls"], o["complete"], o["failed"]
        pct = lambda n, d: f"{100 * n / d:.0f}%" if d else "\u2013"
        cards = [
            ("", str(self.summary["captures"]), "captures", ""),
            ("", str(o["connections"]), "connections", f"{tls} TLS, {o['connections'] - tls} other"),
            ("ok", str(complete), "complete handshakes", f"{pct(complete, tls)} of TLS"),
            ("bad" if failed else "ok", str(failed), "failed / incomplete", f"{pct(failed, tls)} of TLS"),
            ("", pct(o["resumed"], complete), "resumed", f"{o['resumed']} of {complete} complete"),
            self._resumption_card(),
            ("bad" if o["weak_version"] else "ok", str(o["weak_version"]), "weak versions", "SSL 3.0, TLS 1.0/1.1"),
        ]
        if self._keys_given():
            cards.append(("", str(o.get("decrypted", 0)), "decrypted", f"{pct(o.get('decrypted', 0), tls)} of TLS"))
        else:
            cards.append(("", "\u2013", "decrypted", "no key material given"))
        out = ['<section class="cards" id="overview">']
        for cls, n, label, extra in cards:
            out.append(f'<div class="card {cls}" data-card="{h(label)}"><div class="n">{h(n)}</div>'
                       f'<div class="l">{h(label)}</div><div class="x">{h(extra)}</div></div>')
        out.append("</section>")
        return "".join(out)

    def _resumption_card(self) -> tuple[str, str, str, str]:
        """Resumption rate: the share of attempts the servers accepted, and how many they refused."""
        o = self.summary["overall"]
        attempts = o.get("resumption_attempt", {})
        accepted, refused = attempts.get("accepted", 0), attempts.get("refused", 0)
        rate = o.get("resumption_rate")
        return ("warn" if refused else "", "\u2013" if rate is None else f"{100 * rate:.0f}%", "resumption rate",
                f"{accepted} of {accepted + refused} attempts accepted, {refused} refused")

    def _keys_given(self) -> bool:
        """Whether decryption was attempted anywhere (a status other than `not_attempted`)."""
        statuses = self.summary["overall"].get("decryption", {})
        return bool(self.dec_col) and any(k not in ("not_attempted", "") for k in statuses)

    def findings(self) -> str:
        v, get = self.v, self.v.get
        o = self.summary["overall"]
        items: list[tuple[str, str, str, str, str]] = []  # (dot, html, mode, query, examples)
        by_reason: dict[str, list[Sequence[Any]]] = {}
        weak: Counter[str] = Counter()
        weak_rows: list[Sequence[Any]] = []
        nopfs = 0
        refused_rows: list[Sequence[Any]] = []
        for r in self.rows.rows:
            if get(r, "resumption_attempt") == "refused":
                refused_rows.append(r)
            if get(r, "is_tls") and not get(r, "handshake_complete"):
                by_reason.setdefault(outcome(v, r, self._steps(r)).short, []).append(r)
            ver = get(r, "version")
            if is_weak_version(ver):
                weak[ver] += 1
                weak_rows.append(r)
            elif suite_weakness(get(r, "cipher_suite")) == "weak":
                weak_rows.append(r)
            if suite_weakness(get(r, "cipher_suite")) == "no forward secrecy":
                nopfs += 1
        tls = o["tls"]
        if o["failed"]:
            items.append(("bad", f"<b>{o['failed']} of {tls} TLS handshakes did not complete</b>", "failed", "", ""))
            for reason, rs in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
                items.append(("bad" if rs and outcome(v, rs[0]).cls == "failed" else "warn",
                              f"&nbsp;&nbsp;{len(rs)} \u00d7 <b>{h(reason)}</b>", "failed", reason,
                              self._examples(rs)))
        elif tls:
            items.append(("ok", f"All {tls} TLS handshakes completed", "", "", ""))
        if weak_rows:
            desc = ", ".join(f"{k} \u00d7{n}" for k, n in weak.most_common())
            items.append(("bad", f"<b>{len(weak_rows)} connection{'s' if len(weak_rows) != 1 else ''} negotiated a "
                                 f"weak version or cipher</b>" + (f" ({h(desc)})" if desc else ""), "weak", "",
                          self._examples(weak_rows)))
        elif tls:
            items.append(("ok", "No SSL 3.0, TLS 1.0 or TLS 1.1, and no broken cipher suites", "", "", ""))
        if nopfs:
            items.append(("warn", f"{nopfs} connection{'s' if nopfs != 1 else ''} used static RSA key exchange "
                                  "(no forward secrecy)", "all", "TLS_RSA_", ""))
        if o["resumed"]:
            kinds = {k: n for k, n in o["resumption"].items() if k != "none"}
            desc = ", ".join(f"{ {'session_id': 'session ID', 'ticket': 'session ticket', 'psk': 'TLS 1.3 PSK'}.get(k, k)} \u00d7{n}"
                             for k, n in kinds.items())
            items.append(("info", f"{o['resumed']} handshake{'s' if o['resumed'] != 1 else ''} resumed an earlier "
                                  f"session ({h(desc)})", "resumed", "", ""))
        attempts = o.get("resumption_attempt", {})
        accepted, refused = attempts.get("accepted", 0), attempts.get("refused", 0)
        if accepted or refused:
            linked = o.get("resumed_linked", 0)
            items.append(("info", f"Resumption rate {100 * (o.get('resumption_rate') or 0):.0f}%: {accepted} of "
                                  f"{accepted + refused} resumption attempts accepted; {linked} resumed connection"
                                  f"{'s' if linked != 1 else ''} linked to the connection that issued the session",
                          "resumed", "", ""))
        if refused:
            items.append(("warn", f"<b>{refused} resumption attempt{'s' if refused != 1 else ''} refused</b>: the "
                                  "server did a full handshake (a full key exchange) instead", "refused", "",
                          self._examples(refused_rows)))
        if o["hrr"]:
            items.append(("info", f"{o['hrr']} HelloRetryRequest{'s' if o['hrr'] != 1 else ''} "
                                  "(the server asked the client for another key share)", "hrr", "", ""))
        if self._keys_given():
            desc = ", ".join(f"{k} \u00d7{n}" for k, n in o["decryption"].items())
            items.append(("info", f"Decryption: {h(desc)}", "", "", ""))
        non = o["connections"] - tls
        if non:
            items.append(("", f"{non} connection{'s' if non != 1 else ''} carried no TLS", "nontls", "", ""))
        out = ['<section class="panel-box findings" id="findings"><h2>What happened</h2><ul>']
        for dot, text, mode, query, ex in items:
            btn = (f' <button class="show" type="button" data-mode="{h(mode)}" data-q="{h(query)}">show</button>'
                   if mode else "")
            out.append(f'<li><span class="dot {dot}"></span><span class="what">{text}{btn}'
                       f'{" <span class=ex>" + ex + "</span>" if ex else ""}</span></li>')
        out.append("</ul></section>")
        return "".join(out)

    def _steps(self, r: Sequence[Any]) -> list[LadderStep] | None:
        get = self.v.get
        d = self.details.get(detail_key(get(r, "capture"), get(r, "stream"), get(r, "first_frame")))
        return d.steps if d else None

    def _examples(self, rs: Sequence[Sequence[Any]], n: int = 3) -> str:
        get = self.v.get
        links = []
        index = self._index
        for r in rs[:n]:
            i = index.get(id(r))
            label = f"{get(r, 'capture')} #{get(r, 'stream')}"
            sni = get(r, "sni")
            if sni:
                label += f" ({sni})"
            links.append(f'<a href="#c-{i}">{h(label)}</a>' if i is not None else h(label))
        more = f" and {len(rs) - n} more" if len(rs) > n else ""
        return "e.g. " + ", ".join(links) + more

    def chart_panels(self) -> str:
        o = self.summary["overall"]
        get = self.v.get
        tls = o["tls"]
        vers = [(k, n, charts.BAD if is_weak_version(k) else (charts.GOOD if k == "TLS 1.3" else charts.NEUTRAL))
                for k, n in o["version"].items()]
        suites_all = list(o["cipher_suite"].items())
        suites = [(k, n, charts.BAD if suite_weakness(k) == "weak" else (charts.WARN if suite_weakness(k) else charts.NEUTRAL))
                  for k, n in suites_all[:TOP_SUITES]]
        if len(suites_all) > TOP_SUITES:
            suites.append((f"{len(suites_all) - TOP_SUITES} others", sum(n for _, n in suites_all[TOP_SUITES:]), charts.MUTED))
        fails: Counter[str] = Counter()
        colour: dict[str, str] = {}
        ms: list[float] = []
        points: list[tuple[float, str]] = []
        for r in self.rows.rows:
            complete = bool(get(r, "handshake_complete"))
            is_tls = bool(get(r, "is_tls"))
            if is_tls and not complete:
                oc = outcome(self.v, r)
                fails[oc.short] += 1
                colour[oc.short] = charts.BAD if oc.cls == "failed" else charts.WARN
            if complete and get(r, "handshake_ms") is not None:
                ms.append(float(get(r, "handshake_ms")))
            t = _ts(get(r, "start_time"))
            if t is not None:
                points.append((t, "complete" if complete else ("failed" if is_tls else "other")))
        fail_items = [(k, n, colour[k]) for k, n in fails.most_common(12)]
        panels = [
            ("Protocol versions", "", charts.bar_chart(vers, total=tls, width=420, label_width=110,
                                                       empty="no negotiated version"),
             charts.legend([(charts.GOOD, "TLS 1.3"), (charts.NEUTRAL, "TLS 1.2"), (charts.BAD, "weak")])),
            ("Failed handshakes by reason", "", charts.bar_chart(fail_items, total=tls, width=420, label_width=250,
                                                                 empty="no failed handshakes"),
             charts.legend([(charts.BAD, "failed"), (charts.WARN, "incomplete capture")])),
            ("Handshake duration", "", charts.histogram(ms, width=420), ""),
            (f"Cipher suites (top {TOP_SUITES})", "wide", charts.bar_chart(suites, total=tls, width=860, label_width=400,
                                                                             empty="no negotiated suite"),
             charts.legend([(charts.NEUTRAL, "fine"), (charts.WARN, "no forward secrecy"), (charts.BAD, "weak")])),
            ("Connections over time", "", charts.timeline(points, width=420),
             charts.legend([(charts.GOOD, "complete"), (charts.BAD, "failed"), (charts.MUTED, "not TLS")])),
        ]
        out = ['<section class="charts" id="charts">']
        for title, cls, svg, leg in panels:
            out.append(f'<div class="panel-box {cls}" data-chart="{h(title)}"><h2>{h(title)}</h2>{svg}{leg}</div>')
        out.append("</section>")
        return "".join(out)

    # -- table -------------------------------------------------------------

    def table(self) -> str:
        get = self.v.get
        n_all = len(self.rows)
        counts = Counter()
        body: list[str] = []
        for i, r, d in self.shown:
            oc = outcome(self.v, r, d.steps)
            weak = is_weak_version(get(r, "version")) or suite_weakness(get(r, "cipher_suite")) == "weak"
            flags = {
                "failed": oc.cls in ("failed", "incomplete"),
                "weak": weak,
                "resumed": bool(get(r, "resumed")),
                "refused": get(r, "resumption_attempt") == "refused",
                "hrr": bool(get(r, "hrr")),
                "nontls": not get(r, "is_tls"),
            }
            for k, val in flags.items():
                counts[k] += val
            attrs = " ".join(f'data-{k}="{1 if val else 0}"' for k, val in flags.items())
            ms = get(r, "handshake_ms")
            res = get(r, "resumption", "none")
            resumed = f'<span class="badge b-res">{h(res)}</span>' if get(r, "resumed") else ""
            if get(r, "resumption_attempt") == "refused":
                resumed = '<span class="badge b-warn" title="resumption refused: full handshake">refused</span>'
            if get(r, "hrr"):
                resumed += ' <span class="badge b-warn" title="HelloRetryRequest">HRR</span>'
            client = f"{get(r, 'client_ip', '')}:{get(r, 'client_port', '')}"
            server = f"{get(r, 'server_ip', '')}:{get(r, 'server_port', '')}"
            transport = get(r, "transport")
            tr_tag = f' <span class="badge">{h(transport)}</span>' if transport and transport != "tcp" else ""
            body.append(
                f'<tr id="r-{i}" class="r-{oc.cls}" data-href="c-{i}" {attrs}>'
                f'<td class="nw" data-v="{i:09d}"><a href="#c-{i}">{h(get(r, "capture"))}</a>'
                f' <span class="sid">#{h(get(r, "stream"))}</span></td>'
                f'<td data-v="{ {"failed": 0, "incomplete": 1, "ok": 2, "nontls": 3}[oc.cls]}{h(oc.short)}">'
                f'<span class="badge b-{oc.cls}">{h(oc.short)}</span></td>'
                f'<td class="wrap">{h(get(r, "sni"))}</td>'
                f'<td>{_version_badge(get(r, "version"))}</td>'
                f'<td class="mono nw">{_suite_cell(get(r, "cipher_suite"))}</td>'
                f'<td>{resumed}</td>'
                f'<td>{h(get(r, "alpn"))}</td>'
                f'<td class="num" data-v="{"" if ms is None else ms}">{"" if ms is None else f"{ms:.1f}"}</td>'
                f'<td class="mono nw">{h(client)} \u2192 {h(server)}{tr_tag}</td>'
                "</tr>"
            )
        shown = len(self.shown)
        chips = [("all", "All", shown), ("failed", "Failed", counts["failed"]), ("weak", "Weak", counts["weak"]),
                 ("resumed", "Resumed", counts["resumed"]), ("refused", "Refused resumption", counts["refused"]),
                 ("hrr", "HRR", counts["hrr"]),
                 ("nontls", "Not TLS", counts["nontls"])]
        out = ['<section class="panel-box" id="connections"><h2>Connections</h2>']
        if shown < n_all:
            out.append(f'<p class="note" id="cap-note">This page shows {shown} of {n_all} connections (failed and weak '
                       "ones first); every connection is in connections.csv, connections.jsonl and "
                       "connections.parquet. Raise <code>--max-details</code> to show more.</p>")
        out.append('<div class="filters"><input id="q" type="search" autocomplete="off" '
                   'placeholder="Filter: SNI, address, version, suite, alert, capture\u2026 (all words must match)" '
                   'aria-label="filter connections">')
        for mode, label, n in chips:
            out.append(f'<button class="chip" type="button" data-mode="{mode}" '
                       f'aria-pressed="{"true" if mode == "all" else "false"}">{label} <b>{n}</b></button>')
        out.append(f'<span class="count"><span id="shown">{shown}</span> of {shown} shown</span></div>')
        out.append('<div class="tablewrap"><table class="conns" id="conns"><thead><tr>')
        for name, typ in (("capture #stream", ""), ("result", ""), ("SNI", ""), ("version", ""),
                          ("cipher suite", ""), ("resumed", ""), ("ALPN", ""), ("ms", "num"),
                          ("client \u2192 server", "")):
            out.append(f'<th data-type="{typ}">{h(name)}</th>')
        out.append("</tr></thead><tbody>")
        out.extend(body)
        out.append('</tbody></table><div class="empty" id="no-match" hidden>No connection matches the filter.</div>'
                   "</div></section>")
        return "".join(out)

    # -- details -------------------------------------------------------------

    def detail(self, i: int, r: Sequence[Any], d: Detail) -> str:
        get = self.v.get
        oc = outcome(self.v, r, d.steps)
        client = f"{get(r, 'client_ip', '')}:{get(r, 'client_port', '')}"
        server = f"{get(r, 'server_ip', '')}:{get(r, 'server_port', '')}"
        sni = get(r, "sni") or ""
        svg = render_svg(d.steps, client=client, server=server, server_name=sni, uid=f"c-{i}")
        p: list[str] = []
        p.append(f'<section class="detail" id="c-{i}" role="dialog" aria-label="connection {i + 1}" '
                 f'data-capture="{h(get(r, "capture"))}" data-stream="{h(get(r, "stream"))}">'
                 '<div class="sheet"><div class="head"><div>')
        p.append(f'<h2>{h(get(r, "capture"))} \u00b7 stream {h(get(r, "stream"))} '
                 f'<span class="badge b-{oc.cls}">{h(oc.short)}</span></h2>')
        sub = f'<span class="mono">{h(client)} \u2192 {h(server)}</span>'
        if sni:
            sub += f" \u00b7 SNI <b class=\"sni\">{h(sni)}</b>"
        sub += f" \u00b7 frames {h(get(r, 'first_frame'))}\u2013{h(get(r, 'last_frame'))}"
        sub += f" \u00b7 {_fmt_ts(get(r, 'start_time'))}"
        p.append(f'<p class="sub">{sub}</p></div><a class="close" href="#_" title="close (Esc)">\u00d7</a></div>')
        p.append(f'<div class="verdict v-{oc.cls}">{h(oc.sentence)}</div>')
        p.append('<div class="cols"><div><h3>Ladder</h3><div class="ladder-box">' + svg + "</div>")
        p.append(charts.legend([("#1f2937", "handshake message in clear"), ("#6d28d9", "encrypted"),
                                ("#dc2626", "alert / reset"), ("#d97706", "HelloRetryRequest"),
                                ("#9ca3af", "TCP close (dashed)")]))
        p.append('<p class="note">Frame numbers as in Wireshark; ms after the connection\'s first packet.</p></div><div>')
        p.append(self._params(r))
        p.append(self._lineage_detail(r))
        p.append(self._certs(r, d))
        p.append(self._extra(r))
        p.append("</div></div></div></section>")
        return "".join(p)

    def _params(self, r: Sequence[Any]) -> str:
        get = self.v.get
        if not get(r, "is_tls"):
            return "<h3>Connection</h3>" + self._tcp(r)
        rows: list[tuple[str, str, str]] = []
        version = get(r, "version")
        rows.append(("Version", _list(get(r, "client_versions", ()), version) +
                     (f'<div class="note">record {h(get(r, "record_version"))}, ClientHello '
                      f'{h(get(r, "client_legacy_version"))}</div>' if get(r, "record_version") else ""),
                     _version_badge(version)))
        suite = get(r, "cipher_suite")
        offered = get(r, "cipher_suites_offered", ())
        rows.append(("Cipher suite", f'<div class="note">{len(offered)} offered</div>' + _list(offered, suite),
                     f'<span class="chosen mono">{_suite_cell(suite)}</span>'))
        group = get(r, "group")
        ks = get(r, "key_share_groups", ())
        grp_off = _list(get(r, "groups_offered", ()), group)
        if ks:
            grp_off += f'<div class="note">key shares sent: {h(", ".join(ks))}</div>'
        grp_ch = h(group)
        if get(r, "hrr"):
            grp_ch += f'<div class="note">HelloRetryRequest asked for {h(get(r, "hrr_group"))}</div>'
        rows.append(("Group", grp_off, grp_ch))
        alpn = get(r, "alpn")
        alpn_ch = h(alpn) if alpn else ('<span class="note">encrypted (TLS 1.3)</span>'
                                        if version == "TLS 1.3" and get(r, "alpn_offered") else "")
        rows.append(("ALPN", _list(get(r, "alpn_offered", ()), alpn), alpn_ch))
        rows.append(("SNI", h(get(r, "sni")), ""))
        sid, ssid = get(r, "session_id"), get(r, "server_session_id")
        rows.append(("Session ID", f'<span class="mono">{h(sid) or "none"}</span>',
                     f'<span class="mono">{h(ssid)}</span>' + (" (echoed)" if sid and sid == ssid else "")))
        offers = [x for x, on in (("session ticket", get(r, "ticket_offered")), ("PSK", get(r, "psk_offered")),
                                  ("0-RTT early data", get(r, "early_data_offered")), ("ECH", get(r, "ech_offered")))
                  if on]
        res = get(r, "resumption", "none")
        rows.append(("Resumption", h(", ".join(offers)) or '<span class="note">nothing offered</span>',
                     f'<span class="badge b-res">{h(res)}</span>' if get(r, "resumed") else h(res)))
        rows.append(("Extensions", _list(get(r, "extensions_offered", ())), _list(get(r, "server_extensions", ()))))
        rows.append(("Signature algorithms", _list(get(r, "signature_algorithms", ())), ""))
        agreed = [x for x, on in (("extended_master_secret", get(r, "extended_master_secret")),
                                  ("encrypt_then_mac", get(r, "encrypt_then_mac")),
                                  ("secure_renegotiation", get(r, "secure_renegotiation")),
                                  ("OCSP stapled", get(r, "ocsp_stapled")),
                                  ("ticket issued", get(r, "ticket_issued"))) if on]
        if agreed:
            rows.append(("Also agreed", "", h(", ".join(agreed))))
        ca = get(r, "client_auth", "none")
        if ca and ca != "none":
            rows.append(("Client auth", "", h(ca)))
        out = ['<h3>Offered vs chosen</h3><table class="kv params"><colgroup><col class="c-k"><col class="c-o">'
               '<col class="c-c"></colgroup><thead><tr><th></th><th>client offered</th>'
               "<th>server chose</th></tr></thead><tbody>"]
        for name, a, b in rows:
            out.append(f"<tr><th>{h(name)}</th><td>{a}</td><td>{b}</td></tr>")
        out.append("</tbody></table>")
        out.append("<h3>Timing and TCP</h3>" + self._tcp(r))
        return "".join(out)

    def _link(self, conn_id: str, index: int | None) -> str:
        """A connection named by `CAPTURE#STREAM`: a link to its detail panel when the page shows it."""
        return f'<a class="lineage" href="#c-{index}">{h(conn_id)}</a>' if index is not None else h(conn_id)

    def _lineage_detail(self, r: Sequence[Any]) -> str:
        """Resumption lineage of one connection: the attempt, its parent and its children (analyzer.lineage)."""
        from ..lineage import parent_id

        get = self.v.get
        attempt = get(r, "resumption_attempt")
        me = parent_id(str(get(r, "capture", "")), str(get(r, "transport", "tcp")), get(r, "stream", -1))
        kids = self._children.get(me, [])
        if not get(r, "is_tls") or (attempt in (None, "none") and not kids and not get(r, "tickets_issued_sha256")):
            return ""
        pairs: list[tuple[str, str]] = [("Attempt", h(attempt or "no verdict (no answer seen)"))]
        parent = get(r, "resumed_from")
        if parent is not None:
            age, life = get(r, "resumption_age_s"), get(r, "resumed_ticket_lifetime_s")
            text = self._link(str(parent), self._by_id.get(str(parent)))
            if age is not None:
                text += f", {h(f'{float(age):g}')} s earlier"
            if life is not None:
                text += f" (ticket lifetime {h(life)} s)"
            pairs.append(("Resumed from", text))
        elif attempt == "accepted":
            pairs.append(("Resumed from", '<span class="note">not among the captures (or its ticket stayed '
                                          "encrypted)</span>"))
        if kids:
            more = self._child_count[me] - len(kids)
            pairs.append(("Resumed by", ", ".join(self._link(cid, idx) for cid, idx in kids)
                          + (f" and {more} more" if more > 0 else "")))
        issued = get(r, "tickets_issued_sha256", ())
        if issued:
            life = get(r, "ticket_lifetime_s")
            pairs.append(("Tickets issued", f'{len(issued)} (SHA-256 <span class="mono">'
                          + ", ".join(h(t[:16]) + "\u2026" for t in issued) + "</span>)"
                          + (f", lifetime {h(life)} s" if life is not None else "")))
        return ('<h3>Resumption lineage</h3><table class="kv lineage">'
                + "".join(f"<tr><th>{h(k)}</th><td>{v}</td></tr>" for k, v in pairs) + "</table>")

    def _tcp(self, r: Sequence[Any]) -> str:
        get = self.v.get
        pairs = [
            ("Handshake", (f"{get(r, 'handshake_ms'):.2f} ms" if get(r, "handshake_ms") is not None else "") +
             (f", {get(r, 'round_trips')} round trip(s)" if get(r, "round_trips") else "")),
            ("ClientHello / ServerHello frame", f"{h(get(r, 'client_hello_frame'))} / {h(get(r, 'server_hello_frame'))}"
             if get(r, "client_hello_frame") else ""),
            ("Plaintext start", h(get(r, "plaintext_protocol")) +
             (f", TLS from the go-ahead in frame {h(get(r, 'upgrade_frame'))}" if get(r, "upgraded_from") else "")
             if get(r, "plaintext_protocol") else ""),
            ("Proxy target", h(get(r, "proxy_target")) if get(r, "proxy_target") else ""),
            ("Bytes client / server", f"{h(get(r, 'bytes_client'))} / {h(get(r, 'bytes_server'))}"),
            ("TCP end", h(get(r, "close_reason"))),
            ("TCP gaps", h(get(r, "tcp_gaps")) if get(r, "tcp_gaps") else ""),
            ("Failure frame", h(get(r, "failure_frame"))),
        ]
        return ('<table class="kv">' + "".join(f"<tr><th>{h(k)}</th><td>{val}</td></tr>" for k, val in pairs if val)
                + "</table>")

    def _certs(self, r: Sequence[Any], d: Detail) -> str:
        get = self.v.get
        if not get(r, "is_tls"):
            return ""
        out = ["<h3>Certificate chain</h3>"]
        if not d.chain:
            why = ("encrypted in TLS 1.3 (give key material to see it)"
                   if get(r, "version") == "TLS 1.3" and get(r, "decryption") != "ok" else "none seen")
            out.append(f'<p class="note">{why}</p>')
        if d.chain and get(r, "cert_compression"):
            out.append(f'<p class="note">sent compressed ({h(get(r, "cert_compression"))}, RFC 8879)</p>')
        for k, c in enumerate(d.chain):
            role = "leaf" if k == 0 else ("root" if c.self_signed else "intermediate")
            warn = ' <span class="badge b-warn">self-signed</span>' if c.self_signed else ""
            out.append(f'<div class="cert"><div class="who">{h(role)}: {h(c.subject)}{warn}</div>'
                       f'<div class="meta">issuer {h(c.issuer)}</div>'
                       f'<div class="meta">valid {h(c.not_before)} \u2192 {h(c.not_after)} \u00b7 {h(c.key)} \u00b7 '
                       f'{h(c.signature_algorithm)}</div>'
                       + (f'<div class="meta">SAN {h(", ".join(c.sans))}</div>' if c.sans else "")
                       + (f'<div class="meta">error: {h(c.error)}</div>' if c.error else "")
                       + f'<div class="meta mono">SHA-256 {h(c.sha256)}</div></div>')
        if d.client_chain:
            out.append("<h3>Client certificate</h3>")
            for c in d.client_chain:
                out.append(f'<div class="cert"><div class="who">{h(c.subject)}</div>'
                           f'<div class="meta">issuer {h(c.issuer)}</div></div>')
        return "".join(out)

    def _extra(self, r: Sequence[Any]) -> str:
        get = self.v.get
        out: list[str] = []
        if get(r, "is_tls"):
            out.append("<h3>Fingerprints</h3>")
            fps = [(n, get(r, n)) for n in self.fp_cols]
            fps = [(n, val) for n, val in fps if val not in (None, "", ())]
            if fps:
                out.append('<table class="kv fingerprints">' + "".join(
                    f'<tr><th>{h(n.upper() if len(n) <= 5 else n)}</th><td class="mono">{h(_plain(val))}</td></tr>'
                    for n, val in fps) + "</table>")
            else:
                out.append('<p class="note">not computed</p>')
            out.append("<h3>Decryption</h3>")
            decs = [(n, get(r, n)) for n in self.dec_cols]
            decs = [(n, val) for n, val in decs if val not in (None, "", ())]
            if decs:
                out.append('<table class="kv decryption">' + "".join(
                    f"<tr><th>{h(n)}</th><td>{h(_plain(val))}</td></tr>" for n, val in decs) + "</table>")
            else:
                out.append('<p class="note">not attempted (no key material given)</p>')
        errs = get(r, "errors", ())
        if errs:
            out.append('<h3>Problems reading this connection</h3><ul class="errors">'
                       + "".join(f"<li>{h(e)}</li>" for e in errs) + "</ul>")
        return "".join(out)

    # -- whole page ------------------------------------------------------------

    def write(self, f: IO[str]) -> None:
        meta = self.meta
        csp = (f"default-src 'none'; img-src data:; style-src {_csp_hash(_CSS)}; script-src {_csp_hash(_JS)}; "
               "base-uri 'none'; form-action 'none'")
        title = "TLS handshake report"
        inputs = meta.get("inputs") or []
        inputs_text = ", ".join(inputs[:6]) + (f" and {len(inputs) - 6} more" if len(inputs) > 6 else "")
        f.write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
                '<meta name="viewport" content="width=device-width,initial-scale=1">'
                f"<title>{h(title)}</title><style>{_CSS}</style></head><body><main>")
        f.write(f'<header class="top"><div><h1>{h(title)}</h1><p class="sub">{h(inputs_text)}</p></div>'
                f'<p class="sub">handshake-analyzer {h(meta.get("version", ""))} \u00b7 '
                f'{h(meta.get("generated", ""))}</p></header>')
        f.write(self.cards())
        f.write(self.findings())
        f.write(self.chart_panels())
        f.write(inventory_section(self.rows))
        f.write(self.table())
        for i, r, d in self.shown:
            f.write(self.detail(i, r, d))
        f.write('<footer>Data files next to this page: connections.parquet, connections.csv, connections.jsonl '
                "(every column documented in the README) and summary.json. Click a row for its ladder diagram; "
                "Esc closes it.</footer>")
        f.write(f"</main><script>{_JS}</script></body></html>\n")


def _plain(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


# --------------------------------------------------------------------------- inventory section

#: Servers, client fingerprints and certificates listed each in the page's Inventory section (most
#: connections first; a note says how many more `handshake-analyzer inventory` lists).
INVENTORY_MAX_ROWS = 200


def _counts_html(c: dict[str, int], limit: int = 8) -> str:
    items = list(c.items())
    if not items:
        return ""
    spans = [f"<span>{h(k)} \u00d7{n}</span>" for k, n in items[:limit]]
    if len(items) > limit:
        spans.append(f"<span>+{len(items) - limit} more</span>")
    return '<div class="list">' + "".join(spans) + "</div>"


def _groups_html(groups: list[dict[str, Any]]) -> str:
    spans = []
    for g in groups:
        pq = g["post_quantum"]
        cls = ' class="hit"' if pq else ""
        tag = {"hybrid": " PQ hybrid", "kem": " PQ"}.get(pq or "", "")
        spans.append(f'<span{cls} data-pq="{h(pq or "")}">{h(g["name"])} \u00d7{g["connections"]}{tag}</span>')
    return '<div class="list">' + "".join(spans) + "</div>" if spans else ""


def _inventory_table(title: str, key: str, heads: Sequence[str], rows: list[list[str]], total: int) -> str:
    out = [f'<h3>{h(title)}</h3>']
    if total > len(rows):
        out.append(f'<p class="note" data-more="{key}">{len(rows)} of {total} shown (most connections first); '
                   "<code>handshake-analyzer inventory</code> lists all.</p>")
    out.append(f'<div class="tablewrap"><table class="conns inventory" data-inventory="{key}"><thead><tr>'
               + "".join(f"<th>{h(x)}</th>" for x in heads) + "</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="wrap">{c}</td>' for c in r) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def inventory_section(rows: Rows, limit: int | None = None) -> str:
    """The page's "Inventory" section: the cryptographic inventory of the rows (analyzer.report.inventory):
    totals, a post-quantum readiness chart, and tables of servers, client fingerprints and certificates."""
    from .inventory import inventory_of_rows

    limit = INVENTORY_MAX_ROWS if limit is None else limit
    inv = inventory_of_rows(rows)
    d = inv.to_dict()
    t = d["totals"]
    pct = lambda v: "\u2013" if v is None else f"{100 * v:.0f}%"
    cards = [
        ("ok" if t["post_quantum_hybrid"] else "", pct(t["post_quantum_hybrid_share"]), "post-quantum hybrid",
         f"{t['post_quantum_hybrid']} of {t['negotiated']} negotiated"),
        ("", pct(t["forward_secrecy_share"]), "forward secrecy", f"{t['forward_secrecy']} of {t['negotiated']}"),
        ("", pct(t["tls13_share"]), "TLS 1.3", f"{t['tls13']} of {t['negotiated']}"),
        ("warn" if t["certificates_expiring_30d"] else "", str(t["certificates_expiring_30d"]),
         "certificates expiring", "within 30 days of the capture"),
        ("bad" if t["certificates_expired"] else "", str(t["certificates_expired"]), "certificates expired",
         "at the capture"),
    ]
    out = ['<section class="panel-box" id="inventory"><h2>Inventory</h2>'
           '<p class="note">What the servers negotiated and presented and what the clients offered, over every '
           'TLS connection (weak findings: the built-in audit policy).</p><div class="cards">']
    for cls, n, label, extra in cards:
        out.append(f'<div class="card {cls}" data-card="{h(label)}"><div class="n">{h(n)}</div>'
                   f'<div class="l">{h(label)}</div><div class="x">{h(extra)}</div></div>')
    out.append("</div>")
    hybrid, kem = t["post_quantum_hybrid"], t["post_quantum"] - t["post_quantum_hybrid"]
    classical_fs = max(0, t["forward_secrecy"] - t["post_quantum"])
    kx = [("post-quantum hybrid", hybrid, charts.GOOD), ("post-quantum KEM alone", kem, charts.GOOD),
          ("classical (EC)DHE", classical_fs, charts.WARN),
          ("no forward secrecy", t["negotiated"] - t["forward_secrecy"], charts.BAD)]
    clients = d["clients"]
    share = sum(1 for c in clients if c["post_quantum_key_share"])
    group_only = sum(1 for c in clients if not c["post_quantum_key_share"] and c["post_quantum_groups_offered"])
    offers = [("sends a post-quantum key share", share, charts.GOOD),
              ("offers a post-quantum group, no share", group_only, charts.WARN),
              ("classical only", len(clients) - share - group_only, charts.BAD)]
    out.append('<div class="charts">'
               '<div class="panel-box wide" data-chart="post-quantum readiness"><h2>Post-quantum readiness: '
               'key exchange of negotiated connections</h2>'
               + charts.bar_chart([x for x in kx if x[1]], total=t["negotiated"], width=860, label_width=260,
                                  empty="no negotiated connection")
               + "</div>"
               '<div class="panel-box" data-chart="client post-quantum offers"><h2>Client fingerprints</h2>'
               + charts.bar_chart([x for x in offers if x[1]], total=len(clients), width=420, label_width=250,
                                  empty="no client fingerprint")
               + "</div></div>")

    by_conns = lambda xs: sorted(xs, key=lambda x: -x["connections"])[:limit]
    srv_rows = []
    for s in by_conns(d["servers"]):
        res = s["resumption"]
        res_text = _counts_html(res["resumed"]) + (f'<div class="note">offered {res["offered"]}, refused '
                                                     f'{res["refused"]}, tickets issued {res["tickets_issued"]}</div>')
        srv_rows.append([
            f'<span class="mono">{h(s["server"])}</span><div class="note">{h(", ".join(s["transports"]))}</div>',
            _counts_html(s["sni"], 5), f'{s["connections"]}<div class="note">{s["complete"]} complete</div>',
            _counts_html(s["versions"]), _counts_html(s["cipher_suites"]), _groups_html(s["groups"]),
            _counts_html(s["signature_algorithms"]),
            "".join(f'<div class="note" title="SHA-256 {h(c["sha256"])}">{h(c["subject"])} \u00d7{c["connections"]}'
                    f' ({h(c["days_left"])} days left)</div>' for c in s["certificates"][:5]),
            _counts_html(s["alpn"]), res_text,
            "".join(f'<div><span class="badge b-{"weak" if f["severity"] == "high" else "warn"}">{h(f["severity"])}'
                    f'</span> {h(f["rule"])} \u00d7{f["connections"]}</div>' for f in s["findings"]),
        ])
    out.append(_inventory_table("Servers", "servers", ("server", "SNI", "connections", "versions", "cipher suites",
                                                       "groups", "signatures", "certificates", "ALPN", "resumption",
                                                       "findings"), srv_rows, len(d["servers"])))
    cl_rows = []
    for c in by_conns(clients):
        weak = "".join(f'<span title="{h(", ".join(w["rules"]))}">{h(w["suite"])}</span>'
                       for w in c["weak_suites_offered"][:12])
        more = len(c["weak_suites_offered"]) - 12
        cl_rows.append([
            f'<span class="mono">{h(c["ja4"])}</span>', str(c["connections"]), _counts_html(c["versions_offered"]),
            f'{c["post_quantum_key_share"]} of {c["connections"]}', _counts_html(c["post_quantum_groups_offered"]),
            ('<div class="list">' + weak + (f"<span>+{more} more</span>" if more > 0 else "") + "</div>") if weak else "",
            _counts_html(c["servers"], 5),
            "".join(f"<div>{h(f['rule'])} \u00d7{f['connections']}</div>" for f in c["findings"]),
        ])
    out.append(_inventory_table("Client fingerprints (JA4)", "clients",
                                ("JA4", "connections", "versions offered", "post-quantum key share",
                                 "post-quantum groups offered", "weak suites offered", "servers", "findings"),
                                cl_rows, len(clients)))
    ce_rows = []
    for c in by_conns(d["certificates"]):
        left = "" if c["days_left"] is None else str(c["days_left"])
        if c["expired"]:
            left += ' <span class="badge b-weak">expired</span>'
        elif c["expiring_30d"]:
            left += ' <span class="badge b-warn">expiring</span>'
        key = f'{c["key_type"] or ""} {c["key_bits"] or ""}'.strip()
        ce_rows.append([h(c["subject"]), h(c["issuer"]), f'<span class="mono">{h(c["sha256"])}</span>', h(key),
                        h(c["signature_algorithm"]), h(c["not_after"]), left, _counts_html(c["servers"], 5)])
    out.append(_inventory_table("Certificates (server leaf)", "certificates",
                                ("subject", "issuer", "SHA-256", "key", "signature", "not after",
                                 "days left at the capture", "servers"), ce_rows, len(d["certificates"])))
    out.append("</section>")
    return "".join(out)


def write_html(rows: Rows, details: dict[tuple[str, int, int], Detail], summary: dict[str, Any], path: str | os.PathLike,
               *, omitted: int = 0, meta: dict[str, Any] | None = None) -> None:
    """Write the self-contained report page."""
    page = _Page(rows, details, summary, omitted, meta or {})
    with open(path, "w", encoding="utf-8") as f:
        page.write(f)


def _json_default(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        return v.isoformat()
    raise TypeError(type(v).__name__)


def write_report(collector: ReportCollector, out_dir: str | os.PathLike, *, files_read: int | None = None,
                 inputs: Sequence[str] = (), frames: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write connections.parquet/.csv/.jsonl, summary.json and index.html into `out_dir`; return their paths.
    `frames` (capture name -> `capture.FrameCounts`) adds each capture's link types to summary.json."""
    from .. import __version__
    from .writers import write_csv, write_jsonl, write_parquet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from ..lineage import link_rows

    rows = link_rows(collector.table.table())  # resumption lineage over all captures of the run
    paths = {name: out / name for name in ("connections.parquet", "connections.csv", "connections.jsonl",
                                           "summary.json", "index.html")}
    write_parquet(rows, str(paths["connections.parquet"]))
    with open(paths["connections.csv"], "w", encoding="utf-8", newline="") as f:
        write_csv(rows, f)
    with open(paths["connections.jsonl"], "w", encoding="utf-8") as f:
        write_jsonl(rows, f)
    summary = summarize(rows, files_read=files_read, frames=frames)
    summary["html"] = {"connections_shown": min(len(collector.details), len(rows)),
                       "connections_omitted": collector.omitted, "max_details": collector.max_details}
    with open(paths["summary.json"], "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False, default=_json_default)
        f.write("\n")
    meta = {
        "version": __version__,
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "inputs": list(inputs),
    }
    write_html(rows, collector.details, summary, paths["index.html"], omitted=collector.omitted, meta=meta)
    return paths


__all__ = ["ReportCollector", "Detail", "write_report", "write_html", "h",
           "DEFAULT_MAX_DETAILS", "INVENTORY_MAX_ROWS", "inventory_section"]
