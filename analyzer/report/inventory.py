"""The cryptographic inventory of a set of captures: what each server negotiates and presents, what
each client fingerprint offers, and how much of the traffic is post-quantum, forward secret and TLS 1.3.

Owns the facts computed from the connection table, one connection row at a time so that memory grows
with the distinct servers, client fingerprints and certificates, not with the connections: from pandas
DataFrames with the `COLUMNS` schema (`build_inventory`, e.g. the table `connections -f parquet` writes,
in chunks or whole) or from the row tuples of a run (`InventoryCollector`, the row sink `run_analysis`
feeds, also from batch workers; `inventory_of_rows` for the report's finished table) — both give the
same inventory. It owns the inventory's table, JSON and CSV writers too. The CycloneDX document
is built from the same `Inventory` in `cbom.py`; the report page's section is in `html.py`.

Which suites and settings are weak is the audit's word (`analyzer.audit`, the built-in policy), not a
second list here; which groups are post-quantum is the registry's (`POST_QUANTUM_GROUPS`). Rows that
carried no TLS are left out. Only columns are read, by name, so a table with more columns (a later
stage's, e.g. `resumption_attempt`) is read as well, and one with fewer is tolerated where a fact
needs only what is there.
"""

from __future__ import annotations

import csv
import datetime as _dt
import ipaddress
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from ..audit import Auditor, Policy, default_policy
from ..tls.registry import (
    CIPHER_SUITE_NAMES, NAMED_GROUP_NAMES, POST_QUANTUM_GROUPS, PostQuantumGroup, cipher_suite_info,
)
from .table import COLUMN_NAMES, COLUMNS, Rows

if TYPE_CHECKING:
    import pandas as pd

    from ..tls.summary import ConnectionSummary

INVENTORY_FORMATS = ("table", "json", "csv", "cyclonedx")

#: Occurrences (capture and stream) kept per fact for the CycloneDX evidence: the first ones in
#: (capture, stream) order, whatever order the rows came in; `count` still counts them all.
MAX_OCCURRENCES = 1000
#: A certificate whose notAfter is at most this far after the capture time is "expiring".
EXPIRING_WITHIN = _dt.timedelta(days=30)
_DAY = 86400.0

#: Audit rules about what the client offered: listed under the client fingerprint, not the server.
CLIENT_RULES = frozenset({"weak-version-offered", "heartbeat-offered"})
#: Audit rules that judge a cipher suite by its code alone: they judge the suites a client offers.
SUITE_RULES = ("null-cipher", "export-cipher", "anonymous-cipher", "rc4-cipher", "sweet32-cipher",
               "no-forward-secrecy")
#: TLS <= 1.2 key exchanges with an ephemeral (EC)DH secret (the anonymous ones too: DH_anon and
#: ECDH_anon use ephemeral keys, RFC 5246 7.4.3 / RFC 8422 2.3; they fail authentication, not secrecy).
_EPHEMERAL_KX = frozenset({"DHE", "ECDHE", "DHE_PSK", "ECDHE_PSK"})
_ANON_EPHEMERAL_KX = frozenset({"DH", "ECDH"})

_PQ_BY_NAME: dict[str, PostQuantumGroup] = {NAMED_GROUP_NAMES[c]: g for c, g in POST_QUANTUM_GROUPS.items()}
_SUITE_CODES: dict[str, int] = {name: code for code, name in CIPHER_SUITE_NAMES.items()}

# the kinds of fact whose occurrences the CBOM cites (`Inventory.occurrences`)
OCC_VERSION, OCC_SUITE, OCC_GROUP = "version", "cipher_suite", "group"
OCC_SIGNATURE, OCC_CERT = "signature", "certificate"


def post_quantum_kind(group: Any) -> str | None:
    """`'hybrid'` or `'kem'` for a group name with a post-quantum part, else None."""
    g = _PQ_BY_NAME.get(group) if isinstance(group, str) else None
    return g.kind if g is not None else None


def post_quantum_info(group: Any) -> PostQuantumGroup | None:
    return _PQ_BY_NAME.get(group) if isinstance(group, str) else None


def suite_code(name: str) -> int | None:
    """The code of a cipher suite name as the table spells it (IANA name, or `0x1234` when unknown)."""
    code = _SUITE_CODES.get(name)
    if code is None and name.startswith("0x"):
        try:
            code = int(name, 16)
        except ValueError:
            return None
    return code


def is_tls13(version: Any) -> bool:
    """TLS 1.3, its drafts and Google's experiments (QUIC's TLS too), and DTLS 1.3."""
    return isinstance(version, str) and (version.startswith("TLS 1.3") or version == "DTLS 1.3")


def forward_secret(version: Any, suite: Any, group: Any) -> bool:
    """Whether a negotiated key exchange was ephemeral: in TLS 1.3 a key_share in the ServerHello (a
    psk_ke resumption has none); before it a DHE/ECDHE suite (PSK and anonymous variants included)."""
    if is_tls13(version):
        return isinstance(group, str) and bool(group)
    if suite is None:
        return False
    info = cipher_suite_info(int(suite))
    if info is None or info.tls13:
        return False
    if info.key_exchange in _EPHEMERAL_KX:
        return True
    return info.authentication == "anon" and info.key_exchange in _ANON_EPHEMERAL_KX


def endpoint(ip: Any, port: Any) -> str:
    ip = "" if ip is None else str(ip)
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _address_key(address: str, port: int) -> tuple[Any, ...]:
    try:
        a = ipaddress.ip_address(address)
        return (0, a.version, int(a), port)
    except ValueError:
        return (1, 0, address, port)


def _grease(v: Any) -> bool:
    return isinstance(v, str) and v.startswith("GREASE")


def _by_count(c: Mapping[Any, int]) -> dict[Any, int]:
    """A counter as a dict, most frequent first, then by value."""
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0]))))


# --------------------------------------------------------------------------- facts


class Occurrences:
    """The first `MAX_OCCURRENCES` (capture, stream, transport) of a fact in sorted order, and how many there were."""

    __slots__ = ("items", "count")

    def __init__(self) -> None:
        self.items: list[tuple[str, int, str]] = []
        self.count = 0

    def add(self, capture: str, stream: int, transport: str) -> None:
        self.count += 1
        self.items.append((capture, stream, transport))
        if len(self.items) >= 2 * MAX_OCCURRENCES:
            self._trim()

    def merge(self, other: "Occurrences") -> None:
        self.count += other.count
        self.items.extend(other.items)
        self._trim()

    def _trim(self) -> None:
        self.items = sorted(set(self.items))[:MAX_OCCURRENCES]

    def first(self) -> list[tuple[str, int, str]]:
        self._trim()
        return self.items


@dataclass
class ServerFacts:
    """One server (address and port) over every connection to it."""

    address: str
    port: int
    connections: int = 0
    complete: int = 0
    transports: Counter[str] = field(default_factory=Counter)
    sni: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)
    cipher_suites: Counter[str] = field(default_factory=Counter)
    groups: Counter[str] = field(default_factory=Counter)
    signature_algorithms: Counter[str] = field(default_factory=Counter)
    certificates: Counter[str] = field(default_factory=Counter)   # leaf SHA-256 -> connections
    alpn: Counter[str] = field(default_factory=Counter)
    resumed: Counter[str] = field(default_factory=Counter)        # resumption kind -> connections
    resumption_offered: int = 0
    resumption_refused: int = 0
    tickets_issued: int = 0
    findings: Counter[str] = field(default_factory=Counter)       # audit rule id -> connections

    @property
    def endpoint(self) -> str:
        return endpoint(self.address, self.port)


@dataclass
class ClientFacts:
    """One client fingerprint (JA4) over every connection it made."""

    ja4: str
    connections: int = 0
    versions_offered: Counter[str] = field(default_factory=Counter)
    post_quantum_key_share: int = 0                                # connections with a PQ key share sent
    post_quantum_groups_offered: Counter[str] = field(default_factory=Counter)
    weak_suites_offered: Counter[str] = field(default_factory=Counter)
    servers: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)


@dataclass
class CertificateFacts:
    """One server leaf certificate (by SHA-256), with when it was seen."""

    sha256: str
    subject: str | None = None
    issuer: str | None = None
    serial: str | None = None
    key_type: str | None = None
    key_bits: int | None = None
    signature_algorithm: str | None = None
    not_before: _dt.datetime | None = None
    not_after: _dt.datetime | None = None
    self_signed: bool | None = None
    first_seen: _dt.datetime | None = None
    last_seen: _dt.datetime | None = None
    connections: int = 0
    servers: Counter[str] = field(default_factory=Counter)

    @property
    def seconds_left(self) -> float | None:
        """Seconds from the last connection that presented it to its notAfter (negative: expired then)."""
        if self.not_after is None or self.last_seen is None:
            return None
        return (self.not_after - self.last_seen).total_seconds()

    @property
    def days_left(self) -> int | None:
        s = self.seconds_left
        return None if s is None else math.floor(s / _DAY)

    @property
    def expired(self) -> bool:
        s = self.seconds_left
        return s is not None and s < 0

    @property
    def expiring(self) -> bool:
        """Valid at the capture time, but for at most `EXPIRING_WITHIN` more."""
        s = self.seconds_left
        return s is not None and 0 <= s <= EXPIRING_WITHIN.total_seconds()


@dataclass
class ProtocolFacts:
    """One negotiated protocol version over every connection that chose it."""

    version: str
    connections: int = 0
    transports: Counter[str] = field(default_factory=Counter)
    cipher_suites: Counter[str] = field(default_factory=Counter)
    groups: Counter[str] = field(default_factory=Counter)
    signature_algorithms: Counter[str] = field(default_factory=Counter)


@dataclass
class Totals:
    connections: int = 0        # TLS connections
    negotiated: int = 0         # ... whose ServerHello chose a version and a suite
    post_quantum: int = 0       # ... with a post-quantum group (hybrid or KEM alone)
    post_quantum_hybrid: int = 0
    forward_secrecy: int = 0
    tls13: int = 0


# --------------------------------------------------------------------------- building


def _column_values(s: "pd.Series") -> list[Any]:
    """A DataFrame column as plain Python values: NA, NaN and NaT become None, list cells lists."""
    values = s.astype(object).where(s.notna(), None).tolist() if s.dtype != object else s.tolist()
    if s.dtype == object:
        values = [v.tolist() if hasattr(v, "tolist") and not isinstance(v, (str, bytes)) else v for v in values]
    return values


def _records(df: "pd.DataFrame") -> list[dict[str, Any]]:
    """The rows of a chunk as dicts of plain Python values (what the audit rules read)."""
    names = list(df.columns)
    cols = [_column_values(df[n]) for n in names]
    return [dict(zip(names, vals)) for vals in zip(*cols)]


class InventoryBuilder:
    """Adds DataFrame chunks of the connection table; `result()` is the `Inventory`."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or default_policy()
        self.auditor = Auditor(self.policy)
        self._suite_rules = [a for a in self.policy.rules if a.rule.id in SUITE_RULES]
        self.servers: dict[tuple[str, int], ServerFacts] = {}
        self.clients: dict[str, ClientFacts] = {}
        self.certificates: dict[str, CertificateFacts] = {}
        self.protocols: dict[str, ProtocolFacts] = {}
        self.totals = Totals()
        self.captures: set[str] = set()
        self.occurrences: dict[tuple[str, str], Occurrences] = {}
        self.last_time: _dt.datetime | None = None
        self._weak_rules: dict[str, tuple[str, ...]] = {}

    # -- one chunk -------------------------------------------------------------

    def add_frame(self, df: "pd.DataFrame") -> None:
        """Add the connections of one DataFrame (any number of rows, `COLUMNS` names)."""
        if "is_tls" in df.columns:
            df = df[df["is_tls"].fillna(False).astype(bool)]
        if df.empty:
            return
        for rec in _records(df):
            self.add_record(rec)

    def add_record(self, r: Mapping[str, Any]) -> None:
        """Add one TLS connection: a row as a mapping of column name to value (a batch worker's row
        tuple zipped with `COLUMN_NAMES`, or a DataFrame row made plain)."""
        get = r.get
        capture, stream, transport = get("capture") or "", get("stream"), get("transport") or "tcp"
        self.captures.add(capture)
        at = get("start_time")
        if isinstance(at, _dt.datetime) and (self.last_time is None or at > self.last_time):
            self.last_time = at
        version, suite, group = get("version"), get("cipher_suite_code"), get("group")
        t = self.totals
        t.connections += 1
        negotiated = version is not None and suite is not None
        pq = post_quantum_kind(group)
        if negotiated:
            self._add_protocol(r, version, transport)
            t.negotiated += 1
            t.post_quantum += pq is not None
            t.post_quantum_hybrid += pq == "hybrid"
            t.forward_secrecy += forward_secret(version, suite, group)
            t.tls13 += is_tls13(version)
        findings = self.auditor.check(r)
        self.auditor.findings.clear()   # the Auditor keeps every finding; here they are counted, not kept

        key = (str(get("server_ip") or ""), int(get("server_port") or 0))
        srv = self.servers.get(key)
        if srv is None:
            srv = self.servers[key] = ServerFacts(*key)
        srv.connections += 1
        srv.complete += bool(get("handshake_complete"))
        srv.transports[transport] += 1
        _count(srv.sni, get("sni"))
        _count(srv.versions, version)
        _count(srv.cipher_suites, get("cipher_suite"))
        _count(srv.groups, group)
        _count(srv.signature_algorithms, get("server_signature_algorithm"))
        _count(srv.alpn, get("alpn"))
        if get("resumed"):
            srv.resumed[get("resumption") or "resumed"] += 1
        srv.tickets_issued += bool(get("ticket_issued"))
        offered, refused = _resumption_attempt(r)
        srv.resumption_offered += offered
        srv.resumption_refused += refused
        for f in findings:
            if f.rule not in CLIENT_RULES:
                srv.findings[f.rule] += 1

        sha = get("cert_sha256")
        if sha:
            srv.certificates[sha] += 1
            self._add_certificate(r, sha, srv.endpoint, at)

        ja4 = get("ja4")
        if ja4:
            self._add_client(r, ja4, srv.endpoint, findings)

        if stream is not None and negotiated:
            s = int(stream)
            self._occur(OCC_VERSION, version, capture, s, transport)
            self._occur(OCC_SUITE, get("cipher_suite"), capture, s, transport)
            self._occur(OCC_GROUP, group, capture, s, transport)
            self._occur(OCC_SIGNATURE, get("server_signature_algorithm"), capture, s, transport)
        if stream is not None and sha:
            self._occur(OCC_CERT, sha, capture, int(stream), transport)

    def _add_protocol(self, r: dict[str, Any], version: str, transport: str) -> None:
        p = self.protocols.get(version)
        if p is None:
            p = self.protocols[version] = ProtocolFacts(version)
        p.connections += 1
        p.transports[transport] += 1
        _count(p.cipher_suites, r.get("cipher_suite"))
        _count(p.groups, r.get("group"))
        _count(p.signature_algorithms, r.get("server_signature_algorithm"))

    def _add_certificate(self, r: dict[str, Any], sha: str, server: str, at: Any) -> None:
        c = self.certificates.get(sha)
        if c is None:
            get = r.get
            c = self.certificates[sha] = CertificateFacts(
                sha256=sha, subject=get("cert_subject"), issuer=get("cert_issuer"), serial=get("cert_serial"),
                key_type=get("cert_key_type"), key_bits=get("cert_key_bits"),
                signature_algorithm=get("cert_signature_algorithm"), not_before=_utc(get("cert_not_before")),
                not_after=_utc(get("cert_not_after")), self_signed=get("cert_self_signed"))
        c.connections += 1
        c.servers[server] += 1
        at = _utc(at)
        if at is not None:
            if c.first_seen is None or at < c.first_seen:
                c.first_seen = at
            if c.last_seen is None or at > c.last_seen:
                c.last_seen = at

    def _add_client(self, r: dict[str, Any], ja4: str, server: str, findings: Sequence[Any]) -> None:
        get = r.get
        c = self.clients.get(ja4)
        if c is None:
            c = self.clients[ja4] = ClientFacts(ja4)
        c.connections += 1
        c.servers[server] += 1
        for v in dict.fromkeys(get("client_versions") or ()):
            if not _grease(v):
                c.versions_offered[v] += 1
        if any(post_quantum_kind(g) for g in get("key_share_groups") or ()):
            c.post_quantum_key_share += 1
        for g in dict.fromkeys(get("groups_offered") or ()):
            if post_quantum_kind(g):
                c.post_quantum_groups_offered[g] += 1
        for s in self._weak_offered(get("cipher_suites_offered") or ()):
            c.weak_suites_offered[s] += 1
        for f in findings:
            if f.rule in CLIENT_RULES:
                c.findings[f.rule] += 1

    def _weak_offered(self, suites: Sequence[str]) -> list[str]:
        """The offered suites that an audit suite rule flags, each once."""
        return [s for s in dict.fromkeys(suites) if not _grease(s) and self.suite_rules_of(s)]

    def suite_rules_of(self, suite: str) -> tuple[str, ...]:
        """The ids of the audit suite rules (`SUITE_RULES`, as the policy enables them) that a suite breaks."""
        hit = self._weak_rules.get(suite)
        if hit is None:
            code = suite_code(suite)
            row = {"cipher_suite": suite, "cipher_suite_code": code}
            hit = tuple(a.rule.id for a in self._suite_rules if code is not None and a.rule.check(row, a.params))
            self._weak_rules[suite] = hit
        return hit

    def _occur(self, kind: str, value: Any, capture: str, stream: int, transport: str) -> None:
        if value is None or value == "":
            return
        k = (kind, str(value))
        o = self.occurrences.get(k)
        if o is None:
            o = self.occurrences[k] = Occurrences()
        o.add(capture, stream, transport)

    # -- result ----------------------------------------------------------------

    def result(self) -> "Inventory":
        servers = sorted(self.servers.values(), key=lambda s: _address_key(s.address, s.port))
        clients = sorted(self.clients.values(), key=lambda c: (-c.connections, c.ja4))
        certs = sorted(self.certificates.values(), key=_expiry_order)
        protocols = sorted(self.protocols.values(), key=lambda p: p.version)
        return Inventory(captures=sorted(self.captures), totals=self.totals, protocols=protocols,
                         servers=servers, clients=clients,
                         certificates=certs, occurrences=self.occurrences, policy=self.policy,
                         last_time=self.last_time, suite_rules={s: r for s, r in self._weak_rules.items() if r})


def _expiry_order(c: CertificateFacts) -> tuple[Any, ...]:
    """Certificates soonest to expire first; those without a notAfter last."""
    return (c.not_after is None, c.not_after.timestamp() if c.not_after is not None else 0.0, c.sha256)


def _count(c: Counter[str], v: Any) -> None:
    if v is not None and v != "":
        c[str(v)] += 1


def _utc(v: Any) -> _dt.datetime | None:
    if isinstance(v, _dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=_dt.timezone.utc)
    return None


def _resumption_attempt(r: Mapping[str, Any]) -> tuple[bool, bool]:
    """(the client tried to resume, the server refused and did a full handshake).

    Read from `resumption_attempt` (`none`, `accepted`, `refused`) when the table has it; else from
    the offer columns: a session ticket or PSK offered, or a session ID in a hello that did not end
    in TLS 1.3 (there it is middlebox compatibility, RFC 8446 4.1.2), and no resumption on a
    completed handshake."""
    if "resumption_attempt" in r:
        a = r.get("resumption_attempt")
        return a in ("accepted", "refused"), a == "refused"
    version = r.get("version")
    offered = bool(r.get("ticket_offered") or r.get("psk_offered")
                   or (r.get("session_id") and version is not None and not is_tls13(version)))
    refused = offered and bool(r.get("handshake_complete")) and not r.get("resumed")
    return offered, refused


# --------------------------------------------------------------------------- the inventory


@dataclass
class Inventory:
    captures: list[str]
    totals: Totals
    protocols: list[ProtocolFacts]
    servers: list[ServerFacts]
    clients: list[ClientFacts]
    certificates: list[CertificateFacts]
    occurrences: dict[tuple[str, str], Occurrences]
    policy: Policy
    last_time: _dt.datetime | None = None
    suite_rules: dict[str, tuple[str, ...]] = field(default_factory=dict)  # weak offered suite -> rules

    def __post_init__(self) -> None:
        self._by_sha256 = {c.sha256: c for c in self.certificates}

    def rule(self, rule_id: str) -> tuple[str, str]:
        """(severity, title) of an audit rule of the policy."""
        for a in self.policy.rules:
            if a.rule.id == rule_id:
                return a.severity, a.rule.title
        return "", rule_id

    def share(self, n: int) -> float | None:
        d = self.totals.negotiated
        return round(n / d, 4) if d else None

    def to_dict(self) -> dict[str, Any]:
        """The inventory as JSON-ready values (the `json` format)."""
        t = self.totals
        return {
            "captures": self.captures,
            "totals": {
                "connections": t.connections,
                "negotiated": t.negotiated,
                "post_quantum": t.post_quantum,
                "post_quantum_hybrid": t.post_quantum_hybrid,
                "forward_secrecy": t.forward_secrecy,
                "tls13": t.tls13,
                "post_quantum_share": self.share(t.post_quantum),
                "post_quantum_hybrid_share": self.share(t.post_quantum_hybrid),
                "forward_secrecy_share": self.share(t.forward_secrecy),
                "tls13_share": self.share(t.tls13),
                "servers": len(self.servers),
                "client_fingerprints": len(self.clients),
                "certificates": len(self.certificates),
                "certificates_expiring_30d": sum(c.expiring for c in self.certificates),
                "certificates_expired": sum(c.expired for c in self.certificates),
            },
            "protocols": [{"version": p.version, "connections": p.connections, "transports": _by_count(p.transports),
                           "cipher_suites": _by_count(p.cipher_suites),
                           "groups": [{"name": g, "connections": n, "post_quantum": post_quantum_kind(g)}
                                      for g, n in _by_count(p.groups).items()],
                           "signature_algorithms": _by_count(p.signature_algorithms)} for p in self.protocols],
            "servers": [self._server(s) for s in self.servers],
            "clients": [self._client(c) for c in self.clients],
            "certificates": [_certificate(c) for c in self.certificates],
        }

    def _server(self, s: ServerFacts) -> dict[str, Any]:
        return {
            "server": s.endpoint, "address": s.address, "port": s.port,
            "transports": _by_count(s.transports),
            "sni": _by_count(s.sni),
            "connections": s.connections, "complete": s.complete,
            "versions": _by_count(s.versions),
            "cipher_suites": _by_count(s.cipher_suites),
            "groups": [{"name": g, "connections": n, "post_quantum": post_quantum_kind(g)}
                       for g, n in _by_count(s.groups).items()],
            "signature_algorithms": _by_count(s.signature_algorithms),
            "certificates": [self._server_certificate(sha, n) for sha, n in _by_count(s.certificates).items()],
            "alpn": _by_count(s.alpn),
            "resumption": {"resumed": _by_count(s.resumed), "offered": s.resumption_offered,
                           "refused": s.resumption_refused, "tickets_issued": s.tickets_issued},
            "findings": self._findings(s.findings),
        }

    def _server_certificate(self, sha: str, connections: int) -> dict[str, Any]:
        """A leaf certificate a server presented: what identifies and dates it, and on how many connections."""
        c = self._by_sha256[sha]
        return {"sha256": sha, "subject": c.subject, "issuer": c.issuer, "key_type": c.key_type,
                "key_bits": c.key_bits, "not_after": _iso(c.not_after), "days_left": c.days_left,
                "connections": connections}

    def _client(self, c: ClientFacts) -> dict[str, Any]:
        return {
            "ja4": c.ja4, "connections": c.connections,
            "versions_offered": _by_count(c.versions_offered),
            "post_quantum_key_share": c.post_quantum_key_share,
            "post_quantum_groups_offered": _by_count(c.post_quantum_groups_offered),
            "weak_suites_offered": [{"suite": s, "connections": n, "rules": list(self.suite_rules.get(s, ()))}
                                    for s, n in _by_count(c.weak_suites_offered).items()],
            "servers": _by_count(c.servers),
            "findings": self._findings(c.findings),
        }

    def _findings(self, c: Counter[str]) -> list[dict[str, Any]]:
        order = {a.rule.id: i for i, a in enumerate(self.policy.rules)}
        out = []
        for rule, n in sorted(c.items(), key=lambda kv: order.get(kv[0], 999)):
            severity, title = self.rule(rule)
            out.append({"rule": rule, "severity": severity, "title": title, "connections": n})
        return out


def _iso(d: _dt.datetime | None) -> str | None:
    return None if d is None else d.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _certificate(c: CertificateFacts) -> dict[str, Any]:
    return {
        "sha256": c.sha256, "subject": c.subject, "issuer": c.issuer, "serial": c.serial,
        "key_type": c.key_type, "key_bits": c.key_bits, "signature_algorithm": c.signature_algorithm,
        "not_before": _iso(c.not_before), "not_after": _iso(c.not_after), "self_signed": c.self_signed,
        "first_seen": _iso(c.first_seen), "last_seen": _iso(c.last_seen),
        "days_left": c.days_left, "expiring_30d": c.expiring, "expired": c.expired,
        "connections": c.connections, "servers": _by_count(c.servers),
    }


# --------------------------------------------------------------------------- feeding


def build_inventory(frames: "pd.DataFrame | Iterable[pd.DataFrame]", policy: Policy | None = None) -> Inventory:
    """The inventory of a connection table (one DataFrame, or chunks of one)."""
    import pandas as pd

    b = InventoryBuilder(policy)
    for df in ([frames] if isinstance(frames, pd.DataFrame) else frames):
        b.add_frame(df)
    return b.result()


class InventoryCollector:
    """Row sink for `run_analysis`: each TLS connection's row (a batch worker's tuple, or the row of a
    summary from the sequential path) is added as it comes; only the inventory's facts are kept, so memory
    grows with distinct servers, clients and certificates, never with connections."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.builder = InventoryBuilder(policy)
        self._gets = [c.get for c in COLUMNS]
        self._tls = COLUMN_NAMES.index("is_tls")

    def add(self, s: "ConnectionSummary") -> None:
        if s.is_tls:
            self.add_row(tuple(get(s) for get in self._gets))

    def add_row(self, row: tuple[Any, ...]) -> None:
        if row[self._tls]:
            self.builder.add_record(dict(zip(COLUMN_NAMES, row)))

    def result(self) -> Inventory:
        return self.builder.result()


def inventory_of_rows(rows: Rows, policy: Policy | None = None) -> Inventory:
    """The inventory of a finished table (the `report` job's), read row by row."""
    c = InventoryCollector(policy)
    for r in rows.rows:
        c.add_row(r)
    return c.result()


# --------------------------------------------------------------------------- writers


def _count_lines(c: Mapping[str, int], limit: int = 8) -> list[str]:
    items = list(c.items())
    lines = [f"{k} ×{n}" for k, n in items[:limit]]
    if len(items) > limit:
        lines.append(f"(+{len(items) - limit} more)")
    return lines


def _group_lines(groups: list[dict[str, Any]]) -> list[str]:
    mark = {"hybrid": " [PQ hybrid]", "kem": " [PQ]"}
    return [f"{g['name']} ×{g['connections']}{mark.get(g['post_quantum'] or '', '')}" for g in groups]


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _cell(lines: Iterable[Any]) -> str:
    """Lines of wire strings as one table cell: each line made terminal-safe, then joined."""
    from .writers import safe_text

    return "\n".join(safe_text(x) for x in lines)


def _block(title: str) -> Any:
    from rich.table import Table

    from .writers import safe_text

    t = Table(title=safe_text(title), title_justify="left", show_header=False, show_lines=True)
    t.add_column("fact", style="bold", no_wrap=True)
    t.add_column("value", overflow="fold")
    return t


def render_table(inv: Inventory, console: Any = None) -> None:
    """The inventory as rich tables: totals, servers, client fingerprints, certificates."""
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=220)
    d = inv.to_dict()
    t = d["totals"]
    tt = Table(title="Totals", show_header=False, title_justify="left")
    tt.add_column("fact")
    tt.add_column("value", justify="right")
    for label, value in (
        ("TLS connections", t["connections"]),
        ("with a negotiated version and suite", t["negotiated"]),
        ("post-quantum key exchange (hybrid or KEM alone)", f"{t['post_quantum']} ({_pct(t['post_quantum_share'])})"),
        ("post-quantum hybrid key exchange", f"{t['post_quantum_hybrid']} ({_pct(t['post_quantum_hybrid_share'])})"),
        ("forward secrecy", f"{t['forward_secrecy']} ({_pct(t['forward_secrecy_share'])})"),
        ("TLS 1.3", f"{t['tls13']} ({_pct(t['tls13_share'])})"),
        ("servers / client fingerprints / certificates",
         f"{t['servers']} / {t['client_fingerprints']} / {t['certificates']}"),
        ("certificates expiring within 30 days of the capture", t["certificates_expiring_30d"]),
        ("certificates expired at the capture", t["certificates_expired"]),
    ):
        tt.add_row(label, str(value))
    console.print(tt)

    # one two-column block per server and per client: facts down, values across (no column squeezing)
    for s in d["servers"]:
        res = s["resumption"]
        block = _block(f"Server {s['server']} ({', '.join(s['transports'])}): {s['connections']} connections, "
                       f"{s['complete']} complete")
        for label, lines in (
            ("SNI", _count_lines(s["sni"], 10)),
            ("versions", _count_lines(s["versions"])),
            ("cipher suites", _count_lines(s["cipher_suites"])),
            ("groups", _group_lines(s["groups"])),
            ("signature schemes", _count_lines(s["signature_algorithms"])),
            ("certificates", [line for c in s["certificates"] for line in (
                f"{c['subject']} ×{c['connections']}",
                f"  {c['key_type'] or ''} {c['key_bits'] or ''}, not after {c['not_after']} "
                f"({c['days_left']} days left at the capture), SHA-256 {c['sha256']}")]),
            ("ALPN", _count_lines(s["alpn"])),
            ("resumption", _count_lines(res["resumed"]) + [f"offered {res['offered']}, refused {res['refused']}, "
                                                          f"tickets issued {res['tickets_issued']}"]),
            ("findings", [f"{f['rule']} ({f['severity']}) ×{f['connections']}" for f in s["findings"]]),
        ):
            if lines:
                block.add_row(label, _cell(lines))
        console.print(block)
    for c in d["clients"]:
        block = _block(f"Client {c['ja4']}: {c['connections']} connections")
        weak = [f"{w['suite']} ({', '.join(w['rules'])})" for w in c["weak_suites_offered"]]
        for label, lines in (
            ("versions offered", _count_lines(c["versions_offered"])),
            ("post-quantum key share", [f"sent on {c['post_quantum_key_share']} of {c['connections']} connections"]),
            ("post-quantum groups offered", _count_lines(c["post_quantum_groups_offered"])),
            ("weak suites offered", weak[:12] + ([f"(+{len(weak) - 12} more)"] if len(weak) > 12 else [])),
            ("servers", _count_lines(c["servers"], 10)),
            ("findings", [f"{f['rule']} ×{f['connections']}" for f in c["findings"]]),
        ):
            if lines:
                block.add_row(label, _cell(lines))
        console.print(block)

    tk = Table(title="Certificates (server leaf)", title_justify="left", show_lines=True, header_style="bold")
    for name in ("subject", "issuer", "SHA-256", "key", "signature", "not after", "days left", "servers"):
        tk.add_column(name, overflow="fold")
    for c in d["certificates"]:
        left = "" if c["days_left"] is None else str(c["days_left"])
        if c["expired"]:
            left += " (expired)"
        elif c["expiring_30d"]:
            left += " (expiring)"
        key = f"{c['key_type'] or ''} {c['key_bits'] or ''}".strip()
        tk.add_row(_cell([c["subject"]]), _cell([c["issuer"]]), _cell([c["sha256"]]), _cell([key]),
                   _cell([c["signature_algorithm"]]), _cell([c["not_after"]]), left,
                   _cell(_count_lines(c["servers"], 5)))
    console.print(tk)


_PQ_TEXT = {"hybrid": "post-quantum hybrid", "kem": "post-quantum KEM"}
CSV_FIELDS = ("section", "entity", "fact", "value", "connections", "detail")


def csv_records(inv: Inventory) -> Iterator[tuple[Any, ...]]:
    """The inventory as (section, entity, fact, value, connections, detail) records: one per fact value."""
    d = inv.to_dict()
    for k, v in d["totals"].items():
        yield ("total", "", k, v, None, "")
    for p in d["protocols"]:
        e = p["version"]
        yield ("protocol", e, "connections", p["connections"], p["connections"], "")
        for fact, key in (("transport", "transports"), ("cipher_suite", "cipher_suites"),
                          ("signature_algorithm", "signature_algorithms")):
            for value, n in p[key].items():
                yield ("protocol", e, fact, value, n, "")
        for g in p["groups"]:
            yield ("protocol", e, "group", g["name"], g["connections"], _PQ_TEXT.get(g["post_quantum"] or "", ""))
    for s in d["servers"]:
        e = s["server"]
        yield ("server", e, "connections", s["connections"], s["connections"], f"{s['complete']} complete")
        for fact, key in (("transport", "transports"), ("sni", "sni"), ("version", "versions"),
                          ("cipher_suite", "cipher_suites"), ("signature_algorithm", "signature_algorithms"),
                          ("alpn", "alpn")):
            for value, n in s[key].items():
                yield ("server", e, fact, value, n, "")
        for g in s["groups"]:
            yield ("server", e, "group", g["name"], g["connections"], _PQ_TEXT.get(g["post_quantum"] or "", ""))
        for c in s["certificates"]:
            yield ("server", e, "certificate", c["sha256"], c["connections"], c["subject"])
        res = s["resumption"]
        for kind, n in res["resumed"].items():
            yield ("server", e, "resumed", kind, n, "")
        for fact in ("offered", "refused", "tickets_issued"):
            yield ("server", e, f"resumption_{fact}", res[fact], res[fact], "")
        for f in s["findings"]:
            yield ("server", e, "finding", f["rule"], f["connections"], f["severity"])
    for c in d["clients"]:
        e = c["ja4"]
        yield ("client", e, "connections", c["connections"], c["connections"], "")
        for v, n in c["versions_offered"].items():
            yield ("client", e, "version_offered", v, n, "")
        yield ("client", e, "post_quantum_key_share", c["post_quantum_key_share"], c["post_quantum_key_share"], "")
        for g, n in c["post_quantum_groups_offered"].items():
            yield ("client", e, "post_quantum_group_offered", g, n, "")
        for w in c["weak_suites_offered"]:
            yield ("client", e, "weak_suite_offered", w["suite"], w["connections"], ";".join(w["rules"]))
        for srv, n in c["servers"].items():
            yield ("client", e, "server", srv, n, "")
        for f in c["findings"]:
            yield ("client", e, "finding", f["rule"], f["connections"], f["severity"])
    for c in d["certificates"]:
        e = c["sha256"]
        for fact in ("subject", "issuer", "serial", "key_type", "key_bits", "signature_algorithm", "not_before",
                     "not_after", "self_signed", "first_seen", "last_seen", "days_left", "expiring_30d", "expired"):
            yield ("certificate", e, fact, c[fact], c["connections"] if fact == "subject" else None, "")
        for srv, n in c["servers"].items():
            yield ("certificate", e, "server", srv, n, "")


def write_csv(inv: Inventory, out: IO[str]) -> None:
    from .writers import csv_safe

    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for rec in csv_records(inv):
        w.writerow(["" if v is None else csv_safe(str(v).lower() if isinstance(v, bool) else v) for v in rec])


def write_inventory(inv: Inventory, fmt: str, output: str | None, *, version: str = "") -> None:
    """Write `inv` as `fmt` (`INVENTORY_FORMATS`) to the file `output`, or stdout."""
    if fmt == "table":
        if output:
            from rich.console import Console

            with open(output, "w", encoding="utf-8") as fh:
                render_table(inv, Console(file=fh, width=220, color_system=None))
        else:
            render_table(inv)
        return

    def emit(out: IO[str]) -> None:
        if fmt == "csv":
            write_csv(inv, out)
        elif fmt == "json":
            json.dump(inv.to_dict(), out, ensure_ascii=False, indent=1)
            out.write("\n")
        elif fmt == "cyclonedx":
            from .cbom import cbom

            json.dump(cbom(inv, version=version), out, ensure_ascii=False, indent=1)
            out.write("\n")
        else:
            raise ValueError(f"unknown inventory format {fmt!r}")

    if output:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            emit(fh)
    else:
        emit(sys.stdout)


__all__ = [
    "CLIENT_RULES", "EXPIRING_WITHIN", "INVENTORY_FORMATS", "MAX_OCCURRENCES", "SUITE_RULES",
    "CertificateFacts", "ClientFacts", "Inventory", "InventoryBuilder", "InventoryCollector", "Occurrences",
    "ProtocolFacts", "ServerFacts", "Totals", "build_inventory", "csv_records", "forward_secret", "inventory_of_rows",
    "is_tls13",
    "post_quantum_info", "post_quantum_kind", "render_table", "write_csv", "write_inventory",
]
