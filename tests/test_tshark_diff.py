"""Differential test: our connection rows against tshark 4.0, capture by capture.

For every bundled capture (captures/) and every third-party capture under
../shared/captures (the FoxIO JA4 pcaps and Suricata's TLS test pcaps), per
`tcp.stream`, compares what both tools say about:

- which streams carry a ClientHello or ServerHello;
- the first ClientHello: frame, SNI, legacy_session_id, offered cipher suites,
  supported_versions (or the legacy version when the extension is absent);
  extension types in order, ALPN list;
- the ServerHello: frame, negotiated version (TLS 1.3: its supported_versions),
  cipher suite code, session ID, extensions, ALPN (TLS <= 1.2); whether a
  HelloRetryRequest came;
- the plaintext alert that ended the handshake (description, sender, level);
- the ladder: handshake message types per direction with their frame numbers,
  ChangeCipherSpec records, TLS <= 1.2 encrypted handshake records (tshark's
  "Encrypted Handshake Message") and plaintext alerts.

Only TCP is compared (QUIC carries TLS over UDP, which the analyzer does not read yet).
The ladder is compared over the handshake only, cut the same way on both sides:
up to the record where the second side sent its encrypted Finished (TLS <= 1.2),
or after the first fatal alert. In TLS 1.3 everything after the ServerHello is an
opaque record to both tools (without keys), so only plaintext records are compared.

Every disagreement where tshark is wrong is listed in `TSHARK_WRONG` with the RFC
reasoning; the test fails on any other disagreement, and also when a listed one
no longer occurs (so the list stays true).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import analyzer
from analyzer.tls.registry import alert_name, extension_name, version_name
from analyzer.tls.summary import ConnectionSummary

import tshark_oracle as ts  # tests/ is on sys.path (pytest's default import mode)

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "captures"


def _captures() -> list[Path]:
    files = sorted(p for p in (ROOT / "captures").iterdir() if p.suffix in (".pcap", ".pcapng"))
    files += sorted(p for p in (SHARED / "ja4").glob("*.pcap*") if p.is_file())
    files += sorted(SHARED.glob("suricata/*/*.pcap"))
    return files


CAPTURES = _captures()


def _id(p: Path) -> str:
    try:
        return str(p.relative_to(SHARED))
    except ValueError:
        return str(p.relative_to(ROOT))


# (capture id, stream, field) -> why tshark is wrong there (with the RFC text that decides it)
TSHARK_WRONG: dict[tuple[str, int, str], str] = {}


@functools.lru_cache(maxsize=None)
def summaries(path: Path) -> tuple[ConnectionSummary, ...]:
    return tuple(analyzer.iter_summaries([path], capture_secrets=False))  # tshark's view without keys


def _norm_ip(a: str) -> str:
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        return a


# -- the ladder, cut and filtered the same way on both sides ---------------------------

_TLS13 = "tls13"

# our event kinds that have a tshark counterpart
_OURS_KEEP = {"change_cipher_spec", "alert", "encrypted_handshake", "encrypted_alert"}


def _is_tls13(version: int | None) -> bool:
    return version is not None and (version == 0x0304 or (version >> 8) == 0x7F)


def _cut(steps: list[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    """Keep the handshake: stop after both sides sent an encrypted handshake record, or after a fatal alert."""
    out: list[tuple[int, str, int]] = []
    enc: set[int] = set()
    for step in steps:
        out.append(step)
        d, kind, _ = step
        if kind == "encrypted_handshake":
            enc.add(d)
            if len(enc) == 2:
                break
        if kind.startswith("alert fatal"):
            break
    return out


def our_ladder(s: ConnectionSummary, tls13: bool) -> list[tuple[int, str, int]]:
    steps: list[tuple[int, str, int]] = []
    for e in s.events:
        kind = e.kind
        if kind == "alert":
            level = e.detail.split(" ", 1)[0]
            kind = f"alert {level} {e.detail.split(' ', 1)[1]}"
        elif kind in ("fin", "rst", "gap", "application_data", "early_data", "heartbeat", "upgrade") \
                or kind.startswith("record_type_"):
            continue
        elif kind in ("encrypted_handshake", "encrypted_alert") and tls13:
            continue  # TLS 1.3: opaque records, compared as such nowhere
        steps.append((e.direction, kind, e.frame))
    return _cut(steps)


def tshark_ladder(sf: ts.StreamFacts, client: tuple[str, int], tls13: bool) -> list[tuple[int, str, int]]:
    steps: list[tuple[int, str, int]] = []
    for m in sf.messages:
        d = 0 if m.src == client else 1
        kind = m.kind
        if kind == ts.ALERT:
            level = {1: "warning", 2: "fatal"}.get(m.level or 0, f"level_{m.level}")
            kind = f"alert {level} {alert_name(m.description or 0)}"
        elif kind in (ts.APPLICATION_DATA, ts.ENCRYPTED_RECORD) or kind.startswith("record_type_"):
            continue
        elif kind in (ts.ENCRYPTED_HANDSHAKE, ts.ENCRYPTED_ALERT) and tls13:
            continue
        steps.append((d, kind, m.frame))
    return _cut(steps)


# -- comparison -------------------------------------------------------------------------


@dataclass
class Diff:
    stream: int
    field: str
    ours: Any
    tshark: Any

    def __str__(self) -> str:
        return f"stream {self.stream} {self.field}: ours={self.ours!r} tshark={self.tshark!r}"


@dataclass
class Comparison:
    streams: int = 0
    fields: int = 0
    diffs: list[Diff] | None = None


def _first_alert(ladder: list[tuple[int, str, int]]) -> tuple[int, str, str] | None:
    """(sender, level, description) of the first fatal alert, else the first alert, in a cut ladder."""
    alerts = [(d, *k.split(" ")[1:3]) for d, k, _ in ladder if k.startswith("alert ")]
    for a in alerts:
        if a[1] == "fatal":
            return a  # type: ignore[return-value]
    return alerts[0] if alerts else None  # type: ignore[return-value]


def compare(path: Path) -> Comparison:
    rows = {s.stream: s for s in summaries(path) if s.transport == "tcp"}  # QUIC rows: tests/test_fingerprints.py, test_quic.py
    ports = {s.server_port for s in rows.values() if s.is_tls}
    facts = ts.stream_facts(path, ports)
    diffs: list[Diff] = []
    n_fields = 0

    def check(stream: int, name: str, ours: Any, theirs: Any) -> None:
        nonlocal n_fields
        n_fields += 1
        if ours != theirs:
            diffs.append(Diff(stream, name, ours, theirs))

    ours_hello = {k for k, s in rows.items() if s.client_hello_frame is not None or s.server_hello_frame is not None}
    theirs_hello = {k for k, f in facts.items() if f.client_hellos or f.server_hellos}
    check(-1, "streams with a hello", sorted(ours_hello), sorted(theirs_hello))

    for stream in sorted(ours_hello & theirs_hello):
        s, sf = rows[stream], facts[stream]
        client = (_norm_ip(s.client_ip), s.client_port)
        ch, sh = sf.client_hello, sf.server_hello
        if ch is not None:
            check(stream, "client_hello_frame", s.client_hello_frame, ch.frame)
            check(stream, "client side", client, ch.src)
            check(stream, "sni", s.sni, ch.sni)
            check(stream, "session_id", s.session_id, ch.session_id)
            check(stream, "cipher_suites_offered", list(s.cipher_suite_codes_offered), ch.cipher_suites)
            offered = ch.supported_versions or ([ch.legacy_version] if ch.legacy_version is not None else [])
            check(stream, "client_versions", list(s.client_versions), [version_name(v) for v in offered])
            check(stream, "extensions_offered", list(s.extension_codes_offered), ch.extensions)
            check(stream, "alpn_offered", list(s.alpn_offered), ch.alpn)
        else:
            check(stream, "client_hello_frame", s.client_hello_frame, None)
        if sh is not None:
            check(stream, "server_hello_frame", s.server_hello_frame, sh.frame)
            check(stream, "version_code", s.version_code, sh.version)
            check(stream, "cipher_suite_code", s.cipher_suite_code, sh.cipher_suite)
            check(stream, "server_session_id", s.server_session_id, sh.session_id)
            check(stream, "server_extensions", list(s.server_extensions), [extension_name(t) for t in sh.extensions])
            if not _is_tls13(sh.version):  # TLS 1.3: ALPN is in the encrypted EncryptedExtensions
                check(stream, "alpn", s.alpn, sh.alpn[0] if sh.alpn else None)
        else:
            check(stream, "server_hello_frame", s.server_hello_frame, None)
        check(stream, "hrr", s.hrr, sf.hrr is not None)
        tls13 = _is_tls13(s.version_code) or s.hrr
        ours_l, theirs_l = our_ladder(s, tls13), tshark_ladder(sf, client, tls13)
        check(stream, "ladder", ours_l, theirs_l)
        alert = _first_alert(theirs_l)
        if s.alert == "encrypted_alert":
            check(stream, "alert", None, alert)  # no plaintext alert may precede the encrypted one we report
        else:
            ours_a = (0 if s.alert_sender == "client" else 1, s.alert_level, s.alert) if s.alert else None
            check(stream, "alert", ours_a, alert)
    return Comparison(len(ours_hello | theirs_hello), n_fields, diffs)


# -- tests ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CAPTURES, ids=_id)
def test_analyzes_without_exception(path: Path) -> None:
    rows = summaries(path)
    df = analyzer.analyze([path])
    assert len(df) == len(rows)


needs_tshark = pytest.mark.skipif(not ts.available(), reason="tshark is not installed")


@needs_tshark
@pytest.mark.parametrize("path", CAPTURES, ids=_id)
def test_rows_agree_with_tshark(path: Path) -> None:
    cid = _id(path)
    result = compare(path)
    unexpected = [d for d in result.diffs or [] if (cid, d.stream, d.field) not in TSHARK_WRONG]
    seen = {(cid, d.stream, d.field) for d in result.diffs or []}
    stale = [k for k in TSHARK_WRONG if k[0] == cid and k not in seen]
    assert not unexpected, f"{cid}: {len(unexpected)} disagreement(s) with tshark:\n" + "\n".join(map(str, unexpected))
    assert not stale, f"{cid}: listed tshark errors that no longer occur: {stale}"


# -- regressions found by this comparison -----------------------------------------------


def test_http_connect_tunnel_is_followed() -> None:
    """ja4/https-connect.pcap: TLS inside an HTTP CONNECT tunnel (RFC 9110 9.3.6), as tshark sees it."""
    path = SHARED / "ja4" / "https-connect.pcap"
    if not path.is_file():
        pytest.skip("third-party captures not present")
    (s,) = summaries(path)
    assert s.is_tls and s.handshake_complete and s.failure is None
    assert s.client_hello_frame == 8 and s.server_hello_frame == 10
    assert s.version == "TLS 1.2"
    assert [e.kind for e in s.events[:2]] == ["upgrade", "client_hello"]
    assert s.events[0].detail.startswith("HTTP CONNECT ")
    assert s.upgraded_from == "http_connect" and s.proxy_target
    assert s.round_trips == 2  # the CONNECT exchange is not a TLS flight


def test_refused_http_connect_is_not_tls() -> None:
    from analyzer.upgrade import PLAINTEXT, TLS, Preamble
    from captures.generate import client_context, pki_at, server_context, tls_conversation

    pki = pki_at(ROOT / "captures")
    conv = tls_conversation(client_context(pki, max_version="TLSv1.2"), server_context(pki),
                            server_hostname="server.test")
    first = conv.chunks[0][1]

    ok = Preamble(3128)
    ok.feed(0, b"CONNECT server.test:443 HTTP/1.1\r\nHost: server.test:443\r\n\r\n" + first[:3], 1, 1.0)
    ok.feed(1, b"HTTP/1.1 200 Connection established\r\n\r\n", 3, 1.1)
    assert ok.state == TLS and ok.upgrade_frame == 3 and ok.proxy_target == "server.test:443"
    assert ok.take_tls() == [(0, first[:3], 1, 1.0)]  # the ClientHello's first bytes, from the request's segment

    refused = Preamble(3128)
    refused.feed(0, b"CONNECT server.test:443 HTTP/1.1\r\n\r\n", 1, 1.0)
    refused.feed(1, b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", 2, 1.1)
    assert refused.state != TLS and refused.refusal == "407" and any("407" in n for n in refused.notes)
    assert refused.state != PLAINTEXT  # the client may ask again with credentials
