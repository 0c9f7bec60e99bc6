"""The built-in audit rules: what each checks in a connection row, and its default severity.

Owns the rule catalogue (`DEFAULT_RULES`, in report order). A rule reads only
columns of the connection table (`analyzer.report.table.COLUMNS`, by name, so
columns added later never break it) and cipher suite facts from
`analyzer.tls.registry.cipher_suite_info`; it returns the evidence (e.g.
`version=TLS 1.0`) when the connection breaks it, else None. Rows of
connections that carried no TLS are checked only by the rules of `PLAINTEXT_RULES`
(a mail, directory or database session recognised in clear by the upgrade stage).
Rules read rows whose resumption lineage is linked over the whole run (`analyzer.lineage`);
a `per_server` rule reads a `ServerResumption` tally of all rows of one server instead of a row.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..tls.messages import is_tls13_family
from ..tls.registry import CipherSuiteInfo, ProtocolVersion, cipher_suite_info, is_tls13_draft

Row = Mapping[str, Any]
SEVERITIES = ("high", "medium", "low")
SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    check: Callable[[Row, Mapping[str, Any]], str | None]
    params: Mapping[str, Any] = field(default_factory=dict)  # tunable in the policy file, with defaults
    certificate: bool = False  # reads the server certificate (cannot speak while a TLS 1.3 certificate is encrypted)
    per_server: bool = False   # `check` takes a `ServerResumption` (all rows of one server), not a row


@dataclass
class ServerResumption:
    """One server's resumption attempts over all rows of a run (for `per_server` rules)."""

    attempts: int = 0          # resumption_attempt accepted or refused
    refused: int = 0
    first_refused: Row | None = None  # the first refused attempt's row, in table order (the finding points at it)


# --------------------------------------------------------------------------- helpers

PRE_TLS13 = ("SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "DTLS 1.0", "DTLS 1.2")
WEAK_VERSIONS = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "DTLS 1.0")   # DTLS 1.0 is TLS 1.1's rules (RFC 8996)


def _suite(row: Row) -> CipherSuiteInfo | None:
    code = row.get("cipher_suite_code")
    if code is None:
        return None
    return cipher_suite_info(int(code))


def _suite_ev(row: Row) -> str:
    return f"cipher_suite={row.get('cipher_suite') or hex(row.get('cipher_suite_code') or 0)}"


def _version_is(*names: str) -> Callable[[Row, Mapping[str, Any]], str | None]:
    def check(row: Row, params: Mapping[str, Any]) -> str | None:
        v = row.get("version")
        return f"version={v}" if v in names else None
    return check


def _ts(v: Any) -> _dt.datetime | None:
    if v is None:
        return None
    if isinstance(v, _dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=_dt.timezone.utc)
    if isinstance(v, (int, float)):
        try:
            return _dt.datetime.fromtimestamp(v, tz=_dt.timezone.utc)
        except (ValueError, OverflowError, OSError):  # out of any calendar's range
            return None
    try:  # pandas Timestamp and friends
        return _ts(v.to_pydatetime())
    except AttributeError:
        return None


def _iso(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _has_cert(row: Row) -> bool:
    return row.get("cert_subject") is not None


def certificate_unseen(row: Row) -> bool:
    """A TLS 1.3 handshake whose server certificate stayed encrypted (no keys for it, or its
    decryption failed), so the certificate rules could not look at it. A PSK resumption
    sends no certificate at all and is not counted."""
    code = row.get("version_code")
    if code is None or not (code == ProtocolVersion.TLS13 or is_tls13_draft(int(code))):
        return False
    return not _has_cert(row) and row.get("decryption") != "ok" and row.get("resumption") != "psk"


# --------------------------------------------------------------------------- checks


def _weak_offered(row: Row, params: Mapping[str, Any]) -> str | None:
    offered = [v for v in (row.get("client_versions") or ()) if v in WEAK_VERSIONS]
    if row.get("sslv2_client_hello") and "SSL 2.0" not in offered:
        offered.insert(0, "SSL 2.0 (SSLv2 ClientHello)")
    chosen = row.get("version")
    if not offered or chosen in WEAK_VERSIONS:
        return None  # nothing weak offered, or the negotiated-version rule already speaks
    return f"client_versions={';'.join(offered)} version={chosen or '-'}"


def _null(row: Row, params: Mapping[str, Any]) -> str | None:
    info = _suite(row)
    return _suite_ev(row) if info is not None and info.cipher == "NULL" and not info.scsv else None


def _export(row: Row, params: Mapping[str, Any]) -> str | None:
    info = _suite(row)
    return _suite_ev(row) if info is not None and info.export else None


def _anon(row: Row, params: Mapping[str, Any]) -> str | None:
    info = _suite(row)
    return _suite_ev(row) if info is not None and info.authentication == "anon" else None


def _rc4(row: Row, params: Mapping[str, Any]) -> str | None:
    info = _suite(row)
    return _suite_ev(row) if info is not None and info.cipher.startswith("RC4") else None


_BLOCK64 = re.compile(r"^(3DES|DES|IDEA|RC2)")


def _sweet32(row: Row, params: Mapping[str, Any]) -> str | None:
    info = _suite(row)
    return _suite_ev(row) if info is not None and _BLOCK64.match(info.cipher) else None


def _cbc_no_etm(row: Row, params: Mapping[str, Any]) -> str | None:
    info = _suite(row)
    if info is None or "CBC" not in info.cipher or row.get("version") not in PRE_TLS13:
        return None
    if row.get("encrypt_then_mac"):
        return None
    return f"{_suite_ev(row)} encrypt_then_mac=false"


_NO_FS_KX = ("RSA", "DH", "ECDH", "PSK", "RSA_PSK", "KRB5")


def _no_fs(row: Row, params: Mapping[str, Any]) -> str | None:
    info = _suite(row)
    if info is None or info.tls13 or info.authentication == "anon" or info.key_exchange not in _NO_FS_KX:
        return None
    return f"{_suite_ev(row)} key_exchange={info.key_exchange}"


def _no_reneg(row: Row, params: Mapping[str, Any]) -> str | None:
    if row.get("version") not in PRE_TLS13 or row.get("secure_renegotiation"):
        return None
    return "secure_renegotiation=false (no renegotiation_info from the server)"


def _compression(row: Row, params: Mapping[str, Any]) -> str | None:
    c = row.get("compression")
    if c is None or int(c) == 0:
        return None
    return f"compression={int(c)}" + (" (DEFLATE)" if int(c) == 1 else "")


def _cert_validity(expired: bool) -> Callable[[Row, Mapping[str, Any]], str | None]:
    def check(row: Row, params: Mapping[str, Any]) -> str | None:
        at = _ts(row.get("start_time"))
        if at is None or not _has_cert(row):
            return None
        if expired:
            end = _ts(row.get("cert_not_after"))
            if end is not None and end < at:
                return f"cert_not_after={_iso(end)} < capture time {_iso(at)}"
        else:
            start = _ts(row.get("cert_not_before"))
            if start is not None and start > at:
                return f"cert_not_before={_iso(start)} > capture time {_iso(at)}"
        return None
    return check


def _self_signed(row: Row, params: Mapping[str, Any]) -> str | None:
    if not row.get("cert_self_signed"):
        return None
    return f"cert_subject={row.get('cert_subject')} (self-signed)"


def _key_size(prefix: str) -> Callable[[Row, Mapping[str, Any]], str | None]:
    def check(row: Row, params: Mapping[str, Any]) -> str | None:
        kt = row.get("cert_key_type") or ""
        bits = row.get("cert_key_bits")
        if not _has_cert(row) or bits is None or not (kt == prefix or kt.startswith(prefix + " ")):
            return None
        if int(bits) < int(params["min_bits"]):
            return f"cert_key_type={kt} cert_key_bits={int(bits)} (< {int(params['min_bits'])})"
        return None
    return check


def _sig(words: tuple[str, ...]) -> Callable[[Row, Mapping[str, Any]], str | None]:
    def check(row: Row, params: Mapping[str, Any]) -> str | None:
        alg = row.get("cert_signature_algorithm") or ""
        low = alg.lower().replace("-", "")
        if _has_cert(row) and any(w in low for w in words):
            return f"cert_signature_algorithm={alg}"
        return None
    return check


_CN = re.compile(r"(?:^|,)\s*CN=((?:[^,\\]|\\.)*)", re.IGNORECASE)


def _names_of(row: Row) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the leaf certificate is valid for: SANs, else the subject CN."""
    dns: list[str] = []
    ips: list[str] = []
    for san in row.get("cert_sans") or ():
        kind, _, value = str(san).partition(":")
        if kind.upper() == "DNS":
            dns.append(value)
        elif kind.upper() in ("IP", "IP ADDRESS"):
            ips.append(value)
    if not dns and not ips:
        m = _CN.search(row.get("cert_subject") or "")
        if m:
            dns.append(re.sub(r"\\(.)", r"\1", m.group(1)).strip())
    return dns, ips


def _dns_match(pattern: str, host: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if pattern == host:
        return True
    if pattern.startswith("*."):  # one whole left-most label only
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and "." in rest
    return False


def _name_mismatch(row: Row, params: Mapping[str, Any]) -> str | None:
    sni = row.get("sni")
    if not sni or not _has_cert(row):
        return None
    dns, ips = _names_of(row)
    try:
        ip = ipaddress.ip_address(sni)
    except ValueError:
        ip = None
    if ip is not None:
        if any(_same_ip(ip, v) for v in ips):
            return None
    elif any(_dns_match(p, sni) for p in dns):
        return None
    names = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
    return f"sni={sni} not in certificate names [{', '.join(names) or 'none'}]"


def _same_ip(ip: Any, text: str) -> bool:
    try:
        return ipaddress.ip_address(text) == ip
    except ValueError:
        return False


def _alert(row: Row, params: Mapping[str, Any]) -> str | None:
    if row.get("failure") != "alert":
        return None
    ev = f"alert={row.get('alert') or '?'}"
    if row.get("alert_sender"):
        ev += f" from {row.get('alert_sender')}"
    if row.get("alert_level"):
        ev += f" ({row.get('alert_level')})"
    return ev


def _resume_no_ems(row: Row, params: Mapping[str, Any]) -> str | None:
    if not row.get("resumed") or row.get("version") not in ("TLS 1.0", "TLS 1.1", "TLS 1.2", "DTLS 1.0", "DTLS 1.2"):
        return None
    if row.get("extended_master_secret"):
        return None
    return f"resumption={row.get('resumption')} version={row.get('version')} extended_master_secret=false"


TLS13_MAX_TICKET_LIFETIME = 604_800  # RFC 8446 4.6.1: seven days, whatever ticket_lifetime says


def _lifetime_exceeded(row: Row, params: Mapping[str, Any]) -> str | None:
    """A resumption by a ticket or TLS 1.3 PSK later after its parent than the lifetime the parent's
    NewSessionTicket announced (RFC 5077 3.3 ticket_lifetime_hint, RFC 8446 4.6.1 ticket_lifetime)."""
    age, life = row.get("resumption_age_s"), row.get("resumed_ticket_lifetime_s")
    if age is None or life is None:
        return None
    limit = int(life)
    code = row.get("version_code")
    if code is not None and is_tls13_family(int(code)):
        limit = min(limit, TLS13_MAX_TICKET_LIFETIME)
    if float(age) <= limit:
        return None
    return (f"resumption_age_s={float(age):g} > ticket lifetime {int(life)} s announced by "
            f"{row.get('resumed_from')} (resumption={row.get('resumption')})")


def _refused_rate(tally: ServerResumption, params: Mapping[str, Any]) -> str | None:
    """A server that did a full handshake for more than `threshold` of at least `min_attempts`
    resumption attempts (each refusal costs it a full key exchange)."""
    if tally.attempts < int(params["min_attempts"]) or not tally.attempts:
        return None
    share = tally.refused / tally.attempts
    if share <= float(params["threshold"]):
        return None
    first = tally.first_refused or {}
    return (f"refused {tally.refused} of {tally.attempts} resumption attempts ({share:.0%} > "
            f"threshold {float(params['threshold']):.0%}); first refused: {first.get('capture')}#{first.get('stream')}")


def _heartbeat(row: Row, params: Mapping[str, Any]) -> str | None:
    if "heartbeat" not in (row.get("extensions_offered") or ()):
        return None
    accepted = "heartbeat" in (row.get("server_extensions") or ())
    return "extensions_offered has heartbeat" + ("; the server accepted it" if accepted else "")


# plaintext protocols whose sessions carry mail, directory or database data (not proxy tunnels)
STARTTLS_PROTOCOLS = frozenset({"smtp", "lmtp", "pop3", "imap", "ftp", "nntp", "sieve", "irc", "xmpp", "ldap",
                                "postgres", "mysql", "rdp"})


def _upgrade_note(row: Row) -> str:
    proto = row.get("plaintext_protocol")
    notes = [e for e in (row.get("errors") or ()) if isinstance(e, str) and e.startswith(f"{proto}:")]
    return notes[0][len(proto) + 1:].strip() if notes else ""


def _plaintext(row: Row, params: Mapping[str, Any]) -> str | None:
    proto = row.get("plaintext_protocol")
    if proto not in STARTTLS_PROTOCOLS or row.get("upgraded_from") or row.get("failure") != "not_tls":
        return None
    note = _upgrade_note(row)
    return f"plaintext_protocol={proto}" + (f" ({note})" if note else "")


def _refused(row: Row, params: Mapping[str, Any]) -> str | None:
    if row.get("failure") != "upgrade_refused":
        return None
    note = _upgrade_note(row)
    return f"plaintext_protocol={row.get('plaintext_protocol')}" + (f" ({note})" if note else "")


# --------------------------------------------------------------------------- catalogue

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("ssl2-negotiated", "high", "SSL 2.0 negotiated", _version_is("SSL 2.0")),
    Rule("ssl3-negotiated", "high", "SSL 3.0 negotiated (POODLE)", _version_is("SSL 3.0")),
    Rule("tls10-negotiated", "medium", "TLS 1.0 negotiated (deprecated, RFC 8996)", _version_is("TLS 1.0")),
    Rule("tls11-negotiated", "medium", "TLS 1.1 negotiated (deprecated, RFC 8996)", _version_is("TLS 1.1")),
    Rule("dtls10-negotiated", "medium", "DTLS 1.0 negotiated (deprecated, RFC 8996)", _version_is("DTLS 1.0")),
    Rule("weak-version-offered", "low", "Client offered SSL 2.0/3.0 or TLS 1.0/1.1 (not chosen)", _weak_offered),
    Rule("null-cipher", "high", "NULL cipher (no encryption)", _null),
    Rule("export-cipher", "high", "EXPORT cipher suite", _export),
    Rule("anonymous-cipher", "high", "Anonymous key exchange (no server authentication)", _anon),
    Rule("rc4-cipher", "high", "RC4 cipher (RFC 7465)", _rc4),
    Rule("sweet32-cipher", "medium", "64-bit block cipher: 3DES, DES, IDEA, RC2 (SWEET32)", _sweet32),
    Rule("cbc-without-etm", "low", "CBC cipher without encrypt_then_mac (TLS <= 1.2)", _cbc_no_etm),
    Rule("no-forward-secrecy", "medium", "No forward secrecy (RSA or static DH/ECDH key exchange)", _no_fs),
    Rule("no-secure-renegotiation", "medium", "No secure renegotiation (neither renegotiation_info nor SCSV honoured)", _no_reneg),
    Rule("tls-compression", "high", "TLS compression (CRIME)", _compression),
    Rule("cert-expired", "high", "Certificate expired at capture time", _cert_validity(expired=True), certificate=True),
    Rule("cert-not-yet-valid", "high", "Certificate not yet valid at capture time", _cert_validity(expired=False), certificate=True),
    Rule("cert-self-signed", "medium", "Self-signed certificate", _self_signed, certificate=True),
    Rule("cert-weak-rsa-key", "high", "RSA certificate key too small", _key_size("RSA"), {"min_bits": 2048}, certificate=True),
    Rule("cert-weak-ec-key", "high", "EC certificate key too small", _key_size("EC"), {"min_bits": 256}, certificate=True),
    Rule("cert-sha1-signature", "medium", "Certificate signed with SHA-1", _sig(("sha1",)), certificate=True),
    Rule("cert-md5-signature", "high", "Certificate signed with MD5 or MD2", _sig(("md5", "md2")), certificate=True),
    Rule("cert-name-mismatch", "medium", "SNI matches no certificate SAN (or CN)", _name_mismatch, certificate=True),
    Rule("handshake-alert", "low", "Handshake failed with an alert", _alert),
    Rule("resumption-without-ems", "medium", "Session resumed without extended_master_secret (triple handshake)", _resume_no_ems),
    Rule("ticket-lifetime-exceeded", "medium", "Session resumed after the lifetime its NewSessionTicket announced",
         _lifetime_exceeded),
    Rule("resumption-refused-rate", "low", "Server refused a large share of resumption attempts (full handshakes instead)",
         _refused_rate, {"threshold": 0.5, "min_attempts": 10}, per_server=True),  # type: ignore[arg-type]
    Rule("heartbeat-offered", "low", "Heartbeat extension offered (Heartbleed surface)", _heartbeat),
    Rule("plaintext-without-starttls", "medium",
         "Mail, directory or database session in clear (STARTTLS never asked, or data sent before it)", _plaintext),
    Rule("starttls-refused", "medium", "The server refused the switch to TLS (STARTTLS, SSLRequest, proxy)", _refused),
)

# the rules that also read rows of connections that carried no TLS
PLAINTEXT_RULES = frozenset({"plaintext-without-starttls", "starttls-refused"})

RULES_BY_ID: dict[str, Rule] = {r.id: r for r in DEFAULT_RULES}
