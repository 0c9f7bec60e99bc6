"""Checking key logs against captures: the `keylog-check` command's findings.

Owns the line-level reading of NSS key logs for a check (every usable line with its
file and line number; malformed lines with the reason; duplicate lines and
conflicting ones, i.e. the same label and identifier with another secret), and the
per-connection verdict: which secrets the connection's version needs (TLS <= 1.2:
`CLIENT_RANDOM`, or an `RSA` line for its encrypted premaster; TLS 1.3: both
handshake and both application traffic secrets, plus `CLIENT_EARLY_TRAFFIC_SECRET`
when 0-RTT was offered), which of them the key material holds, which key log
lines belong to it, and how its decryption actually went. Lines that match no
connection are listed, and a likely cause is named where the pattern is evident.

Secrets are never kept here: a line is remembered by label, identifier (a client
random or the first bytes of an encrypted premaster, both public on the wire) and
a SHA-256 digest of its secret, which is only compared, never shown.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Iterable

from ..tls.messages import is_tls13_family
from ..tls.summary import ConnectionSummary
from .keys import KeyFileError, KeyMaterial, keylog_text_lines, parse_keylog_line
from .session import Decryptor

TLS12_LABELS = ("CLIENT_RANDOM",)
TLS13_LABELS = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")
EARLY_LABEL = "CLIENT_EARLY_TRAFFIC_SECRET"
RSA_LABEL = "RSA"
#: Entries listed per kind of key log problem (unmatched, duplicate, conflicting, malformed
#: lines); further ones are only counted.
MAX_LISTED = 10_000
# ladder steps that show protected records: a connection without any has nothing to decrypt
_ENCRYPTED_EVENTS = frozenset(("change_cipher_spec", "encrypted_handshake", "application_data",
                               "early_data", "encrypted_alert"))

# verdicts of a connection
OK = "ok"
MISSING = "missing_secrets"
FAILED = "failed"
NOTHING = "nothing_to_decrypt"


@dataclass(frozen=True)
class KeylogLine:
    """One usable key log line, without its secret."""

    source: str
    number: int
    label: str
    ident: bytes
    digest: bytes = field(repr=False, compare=False)   # SHA-256 of the secret: compared, never shown

    @property
    def where(self) -> str:
        return f"{self.source}:{self.number}"


@dataclass
class LineProblem:
    """A key log line that matched nothing, repeats another, contradicts another, or cannot be read."""

    kind: str            # unmatched | duplicate | conflict | malformed
    source: str
    number: int
    label: str = ""
    ident: str = ""      # hex identifier (client random or encrypted-premaster prefix): public
    detail: str = ""


@dataclass
class ConnectionCheck:
    """What one TLS connection needs from a key log and what it got."""

    capture: str
    stream: int
    client: str
    server: str
    sni: str
    version: str
    cipher_suite: str
    client_random: str
    needed: list[str]
    present: list[str]
    missing: list[str]
    decryption: str
    verdict: str
    lines: list[str]
    note: str = ""


@dataclass
class CheckResult:
    connections: list[ConnectionCheck]
    problems: list[LineProblem]
    causes: list[str]
    lines_total: int
    lines_matched: int
    counts: dict[str, int]        # problems per kind (also those not listed past MAX_LISTED)

    @property
    def ok(self) -> bool:
        """Every TLS connection that carried protected records can be decrypted."""
        return all(c.verdict in (OK, NOTHING) for c in self.connections)

    def verdicts(self) -> dict[str, int]:
        out = {OK: 0, MISSING: 0, FAILED: 0, NOTHING: 0}
        for c in self.connections:
            out[c.verdict] = out.get(c.verdict, 0) + 1
        return out


class KeylogIndex:
    """The lines of the key logs under check, by (label, identifier), with their problems."""

    def __init__(self) -> None:
        self.lines: list[KeylogLine] = []
        self.first: dict[tuple[str, bytes], KeylogLine] = {}
        self.by_ident: dict[bytes, list[KeylogLine]] = {}
        self.problems: list[LineProblem] = []
        self.counts = {"unmatched": 0, "duplicate": 0, "conflict": 0, "malformed": 0}

    def add_file(self, path: str | os.PathLike) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise KeyFileError(f"{path}: {e.strerror or e}") from None
        self.add_text(data, os.fspath(path))

    def add_text(self, data: bytes | str, source: str) -> None:
        for number, text in keylog_text_lines(data):
            parsed = parse_keylog_line(text)
            if isinstance(parsed, str):
                self.problem(LineProblem("malformed", source, number, detail=parsed))
                continue
            label, ident, secret = parsed
            line = KeylogLine(source, number, label, ident, hashlib.sha256(secret).digest())
            first = self.first.get((label, ident))
            if first is not None:
                kind = "duplicate" if first.digest == line.digest else "conflict"
                detail = (f"repeats {first.where}" if kind == "duplicate"
                          else f"another secret than {first.where} for the same {_ident_name(label)}; the later line is used")
                self.problem(LineProblem(kind, source, number, label, ident.hex(), detail))
                continue
            self.first[(label, ident)] = line
            self.lines.append(line)
            self.by_ident.setdefault(ident, []).append(line)

    def problem(self, p: LineProblem) -> None:
        self.counts[p.kind] += 1
        if self.counts[p.kind] <= MAX_LISTED:
            self.problems.append(p)


def carried_protected_records(s: ConnectionSummary) -> bool:
    """Whether the connection sent anything under encryption (ChangeCipherSpec, encrypted records)."""
    return bool(s.encrypted_records_client or s.encrypted_records_server
                or any(e.kind in _ENCRYPTED_EVENTS for e in s.events))


def _ident_name(label: str) -> str:
    return "encrypted premaster" if label == RSA_LABEL else "client random"


def load(keylogs: Iterable[str | os.PathLike]) -> tuple[KeylogIndex, KeyMaterial]:
    """The line index and the key material (for the decryption itself) of these key logs.

    Raises `KeyFileError` for an unreadable file; bad lines are problems of the index.
    """
    index = KeylogIndex()
    keys = KeyMaterial()
    for path in keylogs:
        index.add_file(path)
        keys.add_keylog_file(path)
    keys.problems.clear()   # the index reports them, with more detail
    return index, keys


class KeylogChecker:
    """Collects the verdict of every connection (`Options.on_connection`), then the result."""

    def __init__(self, index: KeylogIndex, keys: KeyMaterial) -> None:
        self.index = index
        self.keys = keys
        self.connections: list[ConnectionCheck] = []
        self._matched: set[tuple[str, bytes]] = set()
        self._randoms: set[bytes] = set()
        self._prefixes: set[bytes] = set()
        self._partial_tls13 = 0      # TLS 1.3 connections with some but not all of their secrets
        self._no_line = 0            # connections that needed secrets and have no line at all

    def __call__(self, s: ConnectionSummary, dec: object) -> None:
        if not s.is_tls or s.transport != "tcp":
            return
        d = dec if isinstance(dec, Decryptor) else None
        cr = d.client_random if d is not None else b""
        prefix = d.rsa_epms_prefix if d is not None else b""
        if cr:
            self._randoms.add(cr)
        if prefix:
            self._prefixes.add(prefix)
        lines = list(self.index.by_ident.get(cr, ())) if cr else []
        rsa_line = self.index.first.get((RSA_LABEL, prefix)) if prefix else None
        if rsa_line is not None:
            lines.append(rsa_line)
        for ln in lines:
            self._matched.add((ln.label, ln.ident))
        self.connections.append(self._verdict(s, d, cr, prefix, lines))

    def _verdict(self, s: ConnectionSummary, d: Decryptor | None, cr: bytes, prefix: bytes,
                 lines: list[KeylogLine]) -> ConnectionCheck:
        keys = self.keys
        status = s.decryption or "not_attempted"
        tls13 = s.version_code is not None and is_tls13_family(s.version_code)
        note = ""
        if s.version_code is None:
            needed: list[str] = []
        elif tls13:
            needed = list(TLS13_LABELS) + ([EARLY_LABEL] if s.early_data_offered else [])
        else:
            needed = list(TLS12_LABELS)
        present = [lb for lb in needed if cr and keys.secret(cr, lb) is not None]
        if not tls13 and prefix and prefix in keys.rsa_premasters:
            present.append(RSA_LABEL)
        missing = [lb for lb in needed if lb not in present]
        if not tls13 and present:
            missing = []                    # CLIENT_RANDOM or the RSA premaster: either is enough
        elif not tls13 and status == OK:
            missing = []
            note = "decrypted with the master secret of the session it resumed"
        encrypted = carried_protected_records(s)
        if s.version_code is None:
            verdict, note, missing = NOTHING, "no ServerHello: nothing was encrypted", []
        elif not encrypted:
            verdict, note, missing = NOTHING, "no protected record was sent", []
        elif missing:
            verdict = MISSING
            if tls13 and len(missing) < len(needed):
                self._partial_tls13 += 1
            if not lines:
                self._no_line += 1
        elif status != OK:
            verdict = FAILED
        else:
            verdict = OK
        wheres = [ln.where for ln in lines]
        if present and not lines and not note:
            note = "secrets from the capture's Decryption Secrets Block"
        return ConnectionCheck(
            capture=s.capture, stream=s.stream,
            client=f"{s.client_ip}:{s.client_port}", server=f"{s.server_ip}:{s.server_port}",
            sni=s.sni or "", version=s.version or "", cipher_suite=s.cipher_suite or "",
            client_random=cr.hex(), needed=needed, present=present, missing=missing,
            decryption=status, verdict=verdict, lines=wheres, note=note,
        )

    def result(self) -> CheckResult:
        index = self.index
        for ln in index.lines:
            if (ln.label, ln.ident) in self._matched:
                continue
            pool = self._prefixes if ln.label == RSA_LABEL else self._randoms
            if ln.ident in pool:
                continue                     # a label this connection does not need (EXPORTER_SECRET ...)
            index.problem(LineProblem("unmatched", ln.source, ln.number, ln.label, ln.ident.hex(),
                                      f"no connection has this {_ident_name(ln.label)}"))
        matched = len(index.lines) - index.counts["unmatched"]
        order = {"malformed": 0, "conflict": 1, "duplicate": 2, "unmatched": 3}
        problems = sorted(index.problems, key=lambda p: (p.source, p.number, order[p.kind]))
        conns = sorted(self.connections, key=lambda c: (c.capture, c.stream))
        return CheckResult(conns, problems, self._causes(conns, matched), len(index.lines), matched,
                           dict(index.counts))

    def _causes(self, conns: list[ConnectionCheck], matched: int) -> list[str]:
        index = self.index
        causes: list[str] = []
        needing = [c for c in conns if c.verdict != NOTHING]
        missing = [c for c in needing if c.verdict == MISSING]
        if index.lines and matched == 0 and any(c.verdict != OK for c in needing):
            causes.append("no key log line matches a connection of these captures (no client random in common): "
                          "the key log was most likely written for another capture")
            return causes
        if not index.lines and needing:
            causes.append("the key logs hold no usable line")
            return causes
        tls13_labels = {*TLS13_LABELS, EARLY_LABEL}
        logged_13 = any(ln.label in tls13_labels for ln in index.lines)
        if missing and all(c.version.startswith("TLS 1.3") for c in missing) and not logged_13:
            causes.append("only TLS 1.3 connections lack secrets and the key log holds no TLS 1.3 label: "
                          "the client most likely logs only TLS 1.2 secrets (CLIENT_RANDOM)")
        if self._partial_tls13:
            causes.append(f"{self._partial_tls13} TLS 1.3 connection(s) have some of their secrets but not all: "
                          "lines were removed or lost (a truncated or edited key log)")
        if matched and self._no_line and self._no_line < len(needing):
            causes.append(f"{self._no_line} connection(s) have no key log line at all while others do: the key log "
                          "may have been started after them or stopped before, or they come from another client")
        if index.counts["conflict"] and any(c.verdict == FAILED for c in conns):
            causes.append("conflicting lines give two secrets for the same connection and its decryption failed: "
                          "the later line (the one used) is probably wrong")
        elif any(c.verdict == FAILED and c.decryption in ("key_mismatch", "bad_record_mac") for c in conns):
            causes.append("secrets are present but do not decrypt: they belong to another session "
                          "(a key log of another run with the same client random) or were altered")
        return causes
