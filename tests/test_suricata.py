"""Our rows against Suricata's expected eve.json TLS events (suricata-verify test.yaml files).

Each folder of ../shared/captures/suricata is one suricata-verify test: a pcap (its
own, or another folder's named by `pcap:`) and a `test.yaml` whose `checks` list
filters over eve.json events with an expected `count`. For every filter on
`event_type: tls` we count our rows (TLS connections that reached a hello) that
agree with every key we also report, and compare with Suricata's count:

- `tls.version`: the negotiated version, spelt as Suricata spells it ("SSLv3", "TLSv1",
  "TLS 1.1", "TLS 1.2", "TLS 1.3", "TLS 1.3 draft-NN");
- `tls.sni`, `tls.session_resumed`, `src_ip`/`src_port`/`dest_ip`/`dest_port`/`proto`;
- `tls.subject`, `tls.issuerdn` (and `tls.client.*`): Suricata prints the RDNs in
  certificate order joined by ", " without escaping ("O=NetScreen Technologies, Inc."),
  with `Email` for emailAddress; we print RFC 4514 (RFC 4514 2.1: last RDN first, ","
  separators, "\\," escapes, unknown types as dotted OIDs). They are compared as the
  same sequence of (attribute, value) pairs, ours reversed;
- `tls.serial`: Suricata prints the DER INTEGER content bytes as colon-separated hex
  (a leading 00 kept); compared as numbers;
- `tls.fingerprint`: SHA-1 of the certificate DER (`CertInfo.sha1`);
- `tls.notbefore`/`tls.notafter`: UTC, seconds;
- `tls.subjectaltname[N]`: the N-th subjectAltName (we prefix `DNS:`).

Keys we do not report (JA3/JA3S/JA4 are a later issue; `pcap_cnt`, the packet count
when Suricata logged the event) make the count a lower bound: our matching rows must
be at least Suricata's count. Filters on alerts (rule matches), frames and QUIC are
not compared. `shell` checks that count the certificate files Suricata stored
(tls-store) compare the number of leaf (or client) certificates. `stats` checks compare `app_layer.flow.tls` (TLS flows) and
`app_layer.error.tls.parser` (our rows with a malformed failure).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

import analyzer  # noqa: E402
from analyzer.tls.certs import CertInfo  # noqa: E402
from analyzer.tls.summary import ConnectionSummary  # noqa: E402

SURICATA = Path(__file__).resolve().parent.parent.parent / "shared" / "captures" / "suricata"
TESTS = sorted(p.parent for p in SURICATA.glob("*/test.yaml"))


def _pcap_of(folder: Path, spec: dict[str, Any]) -> Path | None:
    """The capture a test reads: `pcap: ../../X/file.pcap` names folder X here (see SOURCE)."""
    ref = spec.get("pcap")
    if ref:
        parts = Path(str(ref)).parts
        p = SURICATA / parts[-2] / parts[-1]
        return p if p.is_file() else None
    own = sorted(folder.glob("*.pcap"))
    return own[0] if len(own) == 1 else None


@functools.lru_cache(maxsize=None)
def rows_of(pcap: Path) -> tuple[ConnectionSummary, ...]:
    return tuple(analyzer.iter_summaries([pcap]))


# -- Suricata's spellings -----------------------------------------------------------------


def suricata_version(code: int | None) -> str | None:
    if code is None:
        return None
    fixed = {0x0002: "SSLv2", 0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2",
             0x0304: "TLS 1.3"}
    if code in fixed:
        return fixed[code]
    if code >> 8 == 0x7F:
        return f"TLS 1.3 draft-{code & 0xFF}"
    return f"0x{code:04x}"


_ATTR_ALIASES = {
    "1.2.840.113549.1.9.1": "EMAIL", "EMAILADDRESS": "EMAIL", "E": "EMAIL",
    "2.5.4.17": "POSTALCODE", "2.5.4.9": "STREET", "2.5.4.5": "SERIALNUMBER",
}


def _attr(a: str) -> str:
    a = a.strip().upper()
    return _ATTR_ALIASES.get(a, a)


def _split_unescaped(s: str, sep: str) -> list[str]:
    out, cur, i = [], [], 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            cur.append(s[i : i + 2])
            i += 2
            continue
        if ch == sep:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _unescape_4514(v: str) -> str:
    out = bytearray()
    i = 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            nxt = v[i + 1 : i + 3]
            if re.fullmatch(r"[0-9A-Fa-f]{2}", nxt):
                out += bytes.fromhex(nxt)
                i += 3
                continue
            out += v[i + 1].encode()
            i += 2
            continue
        out += v[i].encode()
        i += 1
    return out.decode("utf-8", errors="replace")


def rdns_rfc4514(s: str) -> list[tuple[str, str]]:
    """Our RFC 4514 string -> (attribute, value) pairs in certificate order (RFC 4514 prints it reversed)."""
    if not s:
        return []
    pairs: list[tuple[str, str]] = []
    for rdn in _split_unescaped(s, ","):
        for ava in _split_unescaped(rdn, "+"):
            a, _, v = ava.partition("=")
            pairs.append((_attr(a), _unescape_4514(v)))
    return list(reversed(pairs))


def rdns_suricata(s: str) -> list[tuple[str, str]]:
    """Suricata's "C=US, O=Acme, Inc., CN=x" -> pairs; a ", " only separates when an attribute follows."""
    pairs: list[tuple[str, str]] = []
    for part in re.split(r", (?=[A-Za-z][A-Za-z0-9.]*=)", s.strip()):
        a, _, v = part.partition("=")
        pairs.append((_attr(a), v))
    return pairs


def _serial_int(v: Any) -> int | None:
    try:
        return int(str(v).replace(":", ""), 16)
    except ValueError:
        return None


def _time(v: Any) -> str:
    if isinstance(v, _dt.datetime):
        return v.replace(tzinfo=None).isoformat(timespec="seconds")
    return str(v)


def _cert_value(cert: CertInfo | None, field: str, expected: Any) -> bool:
    if cert is None:
        return False
    if field == "subject":
        return rdns_rfc4514(cert.subject) == rdns_suricata(str(expected))
    if field == "issuerdn":
        return rdns_rfc4514(cert.issuer) == rdns_suricata(str(expected))
    if field == "serial":
        return cert.serial != "" and _serial_int(cert.serial) == _serial_int(expected)
    if field == "fingerprint":
        return cert.sha1 == str(expected).replace(":", "").lower()
    if field in ("notbefore", "notafter"):
        t = cert.not_before if field == "notbefore" else cert.not_after
        return t is not None and _time(t) == _time(expected)
    m = re.fullmatch(r"subjectaltname\[(\d+)\]", field)
    if m:
        i = int(m.group(1))
        return i < len(cert.sans) and cert.sans[i].split(":", 1)[-1] == str(expected)
    raise KeyError(field)


_CERT_FIELDS = re.compile(r"(subject|issuerdn|serial|fingerprint|notbefore|notafter|subjectaltname\[\d+\])")


def row_matches(s: ConnectionSummary, key: str, expected: Any) -> bool | None:
    """Whether our row agrees with one `match` key of a tls event; None when we do not report that key."""
    if key == "event_type":
        return expected == "tls"
    if key == "proto":
        return str(expected).lower() == s.transport
    if key == "src_ip":
        return s.client_ip == str(expected)
    if key == "dest_ip":
        return s.server_ip == str(expected)
    if key == "src_port":
        return s.client_port == int(expected)
    if key == "dest_port":
        return s.server_port == int(expected)
    if key == "tls.version":
        return suricata_version(s.version_code) == str(expected)
    if key == "tls.sni":
        return s.sni == str(expected)
    if key == "tls.session_resumed":
        return s.resumed == bool(expected)
    if key == "has-key":
        verdicts = [_has_key(s, k) for k in (expected if isinstance(expected, list) else [expected])]
        return None if None in verdicts else all(verdicts)
    if key.startswith("tls.client.") and _CERT_FIELDS.fullmatch(key[len("tls.client."):]):
        chain = s.client_cert_chain
        return _cert_value(chain[0] if chain else None, key[len("tls.client."):], expected)
    if key.startswith("tls.") and _CERT_FIELDS.fullmatch(key[len("tls."):]):
        return _cert_value(s.cert, key[len("tls."):], expected)
    return None  # ja3/ja3s/ja4, pcap_cnt, pkt_src ...: not reported by us


def _has_key(s: ConnectionSummary, key: str) -> bool | None:
    """Suricata logs certificate keys only when it saw the certificate: do we have it too?"""
    if key.startswith("tls.client.") and (key[len("tls.client."):] in ("certificate", "chain")
                                         or _CERT_FIELDS.fullmatch(key[len("tls.client."):])):
        return bool(s.client_cert_chain)
    if key in ("tls.certificate", "tls.chain") or (key.startswith("tls.") and _CERT_FIELDS.fullmatch(key[4:])):
        return bool(s.cert_chain)
    if key == "tls.sni":
        return s.sni is not None
    return None


# -- the checks -----------------------------------------------------------------------------


@dataclass
class Check:
    describe: str
    expected: int
    ours: int
    exact: bool

    @property
    def ok(self) -> bool:
        return self.ours == self.expected if self.exact else self.ours >= self.expected


def tls_rows(rows: tuple[ConnectionSummary, ...]) -> list[ConnectionSummary]:
    """The connections Suricata logs a tls event for: TLS with a ClientHello or ServerHello."""
    return [s for s in rows if s.is_tls and (s.client_hello_frame is not None or s.server_hello_frame is not None)]


def run_checks(spec: dict[str, Any], rows: tuple[ConnectionSummary, ...]) -> list[Check]:
    out: list[Check] = []
    tls = tls_rows(rows)
    for check in spec.get("checks") or []:
        if "stats" in check:
            stats = check["stats"] or {}
            if "app_layer.flow.tls" in stats:
                out.append(Check("stats app_layer.flow.tls", int(stats["app_layer.flow.tls"]),
                                 sum(1 for s in rows if s.is_tls), True))
            continue
        if "shell" in check:
            # tls-store: `find ... -name 'TIME-N.pem' | wc -l` counts the certificates Suricata stored:
            # one file per leaf certificate seen (client- for client certificates). The time in the
            # file name is when Suricata wrote it, which we do not know: only the count is compared.
            sh = check["shell"] or {}
            m = re.search(r"-name '(client-)?[^']*\.pem'", str(sh.get("args", "")))
            if m and "expect" in sh:
                client = m.group(1) is not None
                n = sum(1 for r in tls if (r.client_cert_chain if client else r.cert_chain))
                out.append(Check(f"stored {'client' if client else 'server'} certificates ({sh['args']})",
                                 int(sh["expect"]), n, True))
            continue
        flt = check.get("filter")
        if not flt:
            continue
        match = flt.get("match") or {}
        if match.get("event_type") == "stats":
            key = "stats.app_layer.error.tls.parser"
            if key in match:
                bad = sum(1 for s in rows if s.failure and s.failure.startswith("malformed"))
                out.append(Check(key, int(match[key]), bad, True))
            continue
        if match.get("event_type") != "tls":
            continue  # alerts (rule matches), frames, quic: not ours to compare
        if "count" not in flt:
            continue
        exact = True
        n = 0
        for s in tls:
            verdicts = [row_matches(s, k, v) for k, v in match.items()]
            if any(v is None for v in verdicts):
                exact = False
            if all(v is not False for v in verdicts):
                n += 1
        desc = ", ".join(f"{k}={v!r}" for k, v in match.items())
        out.append(Check(desc, int(flt["count"]), n, exact))
    return out


def _row_text(s: ConnectionSummary) -> str:
    c = s.cert
    cert = f" subject={c.subject!r} issuer={c.issuer!r} serial={c.serial} sha1={c.sha1}" if c else ""
    return (f"  stream {s.stream} {s.client_ip}:{s.client_port}->{s.server_ip}:{s.server_port} "
            f"version={s.version} sni={s.sni!r} resumed={s.resumed}{cert}")


@pytest.mark.parametrize("folder", TESTS, ids=lambda p: p.name)
def test_suricata_tls_events(folder: Path) -> None:
    spec = yaml.safe_load((folder / "test.yaml").read_text()) or {}
    pcap = _pcap_of(folder, spec)
    if pcap is None:
        pytest.skip(f"{folder.name}: its capture ({spec.get('pcap', 'own pcap')}) is not in ../shared/captures")
    checks = run_checks(spec, rows_of(pcap))
    if not checks:
        pytest.skip(f"{folder.name}: no tls event facts that we report (only alerts, frames, JA3/JA4 or QUIC)")
    bad = [c for c in checks if not c.ok]
    detail = "\n".join(_row_text(s) for s in rows_of(pcap))
    assert not bad, (
        f"{folder.name} ({pcap.name}):\n"
        + "\n".join(f"  {c.describe}: suricata {c.expected}, ours {c.ours}{'' if c.exact else ' (lower bound)'}"
                    for c in bad)
        + "\nour rows:\n" + detail
    )


def test_dn_formats() -> None:
    """The two DN spellings read back to the same pairs (values with commas, escapes, Email)."""
    ours = "1.2.840.113549.1.9.1=a@b.example,CN=x\\, y,O=NetScreen Technologies\\, Inc.,C=US"
    theirs = "C=US, O=NetScreen Technologies, Inc., CN=x, y, Email=a@b.example"
    assert rdns_rfc4514(ours) == [("C", "US"), ("O", "NetScreen Technologies, Inc."), ("CN", "x, y"),
                                  ("EMAIL", "a@b.example")]
    assert rdns_suricata(theirs) == rdns_rfc4514(ours)
    assert suricata_version(0x0301) == "TLSv1" and suricata_version(0x7F1C) == "TLS 1.3 draft-28"
    assert _serial_int("00:97:E6:47:09:8E:EA:C9:B4") == _serial_int("97E647098EEAC9B4")
