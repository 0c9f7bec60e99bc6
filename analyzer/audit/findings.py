"""Findings: evaluating connection rows against a policy, and writing the findings.

Owns the `Finding` record, the `Auditor` (a row sink for `run_analysis`: it
takes finished rows from batch workers or summaries from the sequential path,
keeps them in a `TableBuilder` (which spills to disk, so memory stays bounded)
until the run is over, links their resumption lineage across all captures
(`analyzer.lineage`) and then checks them; it keeps findings, not rows), the CI
exit-code decision, and the finding writers (table, csv, jsonl, json, parquet, sarif).
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict, dataclass, fields
from typing import IO, Any, Iterable

from ..report.table import TableBuilder
from ..tls.summary import ConnectionSummary
from .policy import Policy
from .rules import DEFAULT_RULES, PLAINTEXT_RULES, SEVERITY_RANK, ServerResumption, certificate_unseen

FINDING_FORMATS = ("table", "csv", "jsonl", "json", "parquet", "sarif")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    title: str
    capture: str
    stream: int | None
    client: str
    server: str
    sni: str | None
    evidence: str
    frame: int | None


FINDING_FIELDS = [f.name for f in fields(Finding)]


def _endpoint(ip: Any, port: Any) -> str:
    if ip is None:
        return ""
    ip = str(ip)
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class Auditor:
    """Collects the connections of a run, then links their resumption lineage and checks them
    (`sorted_findings`); keeps findings and counts, not rows (those are spilled while collected)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.findings: list[Finding] = []
        self.connections = 0
        self.rule_errors: list[str] = []
        self.cert_rules_skipped = 0   # TLS 1.3 connections whose certificate the certificate rules never saw
        self._cert_rules = any(a.rule.certificate for a in policy.rules)
        self._per_server = any(a.rule.per_server for a in policy.rules)
        self._servers: dict[tuple[Any, Any, Any], ServerResumption] = {}
        self._rows = TableBuilder()
        self._done = False
        self._order = {r.id: i for i, r in enumerate(DEFAULT_RULES)}

    def add(self, s: ConnectionSummary) -> None:
        """A summary from the sequential path."""
        self._rows.add(s)

    def add_row(self, row: tuple[Any, ...]) -> None:
        """A row in `COLUMNS` order (from a batch worker or a dataset)."""
        self._rows.add_row(row)

    def finish(self) -> None:
        """Link the collected rows across all captures and check each (once; `sorted_findings` calls it)."""
        if self._done:
            return
        self._done = True
        from ..lineage import link_rows

        for rec in link_rows(self._rows.table()).records():
            self.check(rec)
        self._rows = TableBuilder()
        self.findings.extend(self._server_findings())

    def check(self, rec: dict[str, Any]) -> list[Finding]:
        """The findings of one (linked) row; also counts its resumption attempt for the per-server rules."""
        tls = rec.get("is_tls")
        if not tls and not rec.get("plaintext_protocol"):
            return []
        if tls:
            self.connections += 1   # TLS connections checked (plaintext sessions only by the plaintext rules)
            if self._cert_rules and certificate_unseen(rec):
                self.cert_rules_skipped += 1
            if self._per_server:
                self._tally(rec)
        found: list[Finding] = []
        for active in self.policy.rules:
            if active.rule.per_server or (not tls and active.rule.id not in PLAINTEXT_RULES):
                continue
            try:
                evidence = active.rule.check(rec, active.params)
            except (TypeError, ValueError, AttributeError) as e:  # a malformed row must not stop the audit
                evidence = None
                self.rule_errors.append(f"{rec.get('capture')} stream {rec.get('stream')}: rule {active.rule.id}: {e}")
            if evidence is None:
                continue
            found.append(Finding(
                rule=active.rule.id, severity=active.severity, title=active.rule.title,
                capture=rec.get("capture") or "", stream=rec.get("stream"),
                client=_endpoint(rec.get("client_ip"), rec.get("client_port")),
                server=_endpoint(rec.get("server_ip"), rec.get("server_port")),
                sni=rec.get("sni"), evidence=evidence,
                frame=rec.get("server_hello_frame") or rec.get("client_hello_frame") or rec.get("first_frame"),
            ))
        self.findings.extend(found)
        return found

    def _tally(self, rec: dict[str, Any]) -> None:
        attempt = rec.get("resumption_attempt")
        if attempt not in ("accepted", "refused"):
            return
        key = (rec.get("server_ip"), rec.get("server_port"), rec.get("transport"))
        t = self._servers.get(key)
        if t is None:
            t = self._servers[key] = ServerResumption()
        t.attempts += 1
        if attempt == "refused":
            t.refused += 1
            if t.first_refused is None:
                t.first_refused = {k: rec.get(k) for k in ("capture", "stream", "sni", "client_ip", "client_port",
                                                           "server_hello_frame", "client_hello_frame")}

    def _server_findings(self) -> list[Finding]:
        """The per-server rules over the tallies of all rows checked."""
        found: list[Finding] = []
        for (ip, port, transport), tally in self._servers.items():
            for active in self.policy.rules:
                if not active.rule.per_server:
                    continue
                try:
                    evidence = active.rule.check(tally, active.params)  # type: ignore[arg-type]
                except (TypeError, ValueError, AttributeError, ZeroDivisionError) as e:
                    evidence = None
                    self.rule_errors.append(f"server {_endpoint(ip, port)}: rule {active.rule.id}: {e}")
                if evidence is None:
                    continue
                ex = tally.first_refused or {}
                server = _endpoint(ip, port) + (f" ({transport})" if transport and transport != "tcp" else "")
                found.append(Finding(
                    rule=active.rule.id, severity=active.severity, title=active.rule.title,
                    capture=ex.get("capture") or "", stream=ex.get("stream"), client="", server=server,
                    sni=ex.get("sni"), evidence=evidence,
                    frame=ex.get("server_hello_frame") or ex.get("client_hello_frame"),
                ))
        return found

    def sorted_findings(self) -> list[Finding]:
        """By capture, stream, then rule catalogue order (stable: equal capture names keep input order)."""
        self.finish()
        order = self._order
        return sorted(self.findings, key=lambda f: (f.capture, f.stream if f.stream is not None else -1,
                                                    order.get(f.rule, 999)))

    def counts(self) -> dict[str, int]:
        self.finish()
        out = {"high": 0, "medium": 0, "low": 0}
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out


def failing(findings: Iterable[Finding], fail_on: str) -> int:
    """How many findings are at or above `fail_on` (`never`: none)."""
    if fail_on == "never":
        return 0
    bar = SEVERITY_RANK[fail_on]
    return sum(1 for f in findings if SEVERITY_RANK.get(f.severity, 0) >= bar)


# --------------------------------------------------------------------------- writers


def _records(findings: list[Finding]) -> list[dict[str, Any]]:
    return [asdict(f) for f in findings]


def write_csv(findings: list[Finding], out: IO[str]) -> None:
    from ..report.writers import csv_safe  # text cells never start a spreadsheet formula

    w = csv.writer(out, lineterminator="\n")
    w.writerow(FINDING_FIELDS)
    for f in findings:
        w.writerow(["" if v is None else csv_safe(v) for v in (getattr(f, n) for n in FINDING_FIELDS)])


def write_jsonl(findings: list[Finding], out: IO[str]) -> None:
    for rec in _records(findings):
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_json(findings: list[Finding], out: IO[str]) -> None:
    json.dump(_records(findings), out, ensure_ascii=False, indent=1)
    out.write("\n")


def write_parquet(findings: list[Finding], path: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"stream": pa.int64(), "frame": pa.int64()}
    schema = pa.schema([pa.field(n, types.get(n, pa.string())) for n in FINDING_FIELDS])
    cols = {n: [getattr(f, n) for f in findings] for n in FINDING_FIELDS}
    pq.write_table(pa.table(cols, schema=schema), path)


_SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note"}


def sarif(findings: list[Finding], policy: Policy, version: str) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one result per finding, located at capture (artifact) and stream."""
    rules = [{
        "id": a.rule.id,
        "name": a.rule.id,
        "shortDescription": {"text": a.rule.title},
        "defaultConfiguration": {"level": _SARIF_LEVEL[a.severity]},
        "properties": {"severity": a.severity},
    } for a in policy.rules]
    index = {a.rule.id: i for i, a in enumerate(policy.rules)}
    results = []
    for f in findings:
        where = f"stream {f.stream}" if f.stream is not None else "capture"
        results.append({
            "ruleId": f.rule,
            "ruleIndex": index.get(f.rule, -1),
            "level": _SARIF_LEVEL.get(f.severity, "note"),
            "message": {"text": f"{f.title}: {f.evidence} ({f.client} -> {f.server}{', sni ' + f.sni if f.sni else ''})"},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": f.capture}},
                "logicalLocations": [{"name": where, "kind": "object"}],
            }],
            "properties": {"severity": f.severity, "stream": f.stream, "frame": f.frame,
                           "client": f.client, "server": f.server, "sni": f.sni},
        })
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {"name": "handshake-analyzer", "version": version, "rules": rules}},
            "results": results,
        }],
    }


def render_table(findings: list[Finding], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..report.writers import safe_text

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=220)
    colour = {"high": "red", "medium": "yellow", "low": "cyan"}
    t = Table(show_lines=False, header_style="bold")
    for name in ("severity", "rule", "capture", "stream", "client → server", "SNI", "evidence"):
        t.add_column(name, overflow="fold")
    for f in findings:
        c = colour.get(f.severity, "white")
        t.add_row(f"[{c}]{f.severity}[/{c}]", f.rule, safe_text(f.capture),
                  "" if f.stream is None else str(f.stream), f"{safe_text(f.client)} → {safe_text(f.server)}",
                  safe_text(f.sni), safe_text(f.evidence))
    console.print(t)


def write_findings(findings: list[Finding], fmt: str, output: str | None, *, policy: Policy,
                   version: str = "") -> None:
    """Write `findings` as `fmt` to the file `output`, or stdout."""
    if fmt == "parquet":
        if not output:
            raise ValueError("--format parquet needs --output PATH")
        write_parquet(findings, output)
        return
    if fmt == "table":
        if output:
            from rich.console import Console

            with open(output, "w", encoding="utf-8") as fh:
                render_table(findings, Console(file=fh, width=220, color_system=None))
        else:
            render_table(findings)
        return

    def emit(out: IO[str]) -> None:
        if fmt == "sarif":
            json.dump(sarif(findings, policy, version), out, indent=1)
            out.write("\n")
        else:
            {"csv": write_csv, "jsonl": write_jsonl, "json": write_json}[fmt](findings, out)

    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            emit(fh)
    else:
        emit(sys.stdout)
