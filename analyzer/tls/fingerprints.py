"""TLS fingerprints: JA3/JA3S (Salesforce) and JA4/JA4S/JA4X (FoxIO), from parsed hellos and DER.

Owns the fingerprint strings and hashes computed from a `ClientHello`, a
`ServerHello` (both from `analyzer.tls.messages`, extensions kept raw in wire
order) and a certificate's DER bytes. Nothing here parses records or keeps
state; `fill_fingerprints` writes the values into a `ConnectionSummary`.

JA3 = MD5 of ``version,ciphers,extensions,groups,point_formats`` (decimal,
``-``-joined, GREASE removed); JA3S = MD5 of ``version,cipher,extensions``.
JA4 = ``{t|q|d}{ver}{d|i}{nciphers:02}{nexts:02}{alpn}_{sha256(sorted ciphers)[:12]}_
{sha256(sorted exts without SNI/ALPN + '_' + sigalgs)[:12]}``; ``_r`` shows the
lists instead of hashes, ``_o``/``_ro`` keep the wire order (SNI and ALPN kept; when
they are the only extensions, ``_o``'s extension hash is twelve zeros, as FoxIO's tools print it).
JA4S = ``{proto}{ver}{nexts:02}{alpn}_{cipher}_{sha256(exts in order)[:12]}``.
JA4X = the truncated SHA-256 of the issuer RDN OIDs, subject RDN OIDs and
extension OIDs (hex of the DER OID contents, comma-joined, in certificate order).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .messages import ClientHello, ServerHello
from .registry import ExtensionType as Ext
from .registry import ProtocolVersion, is_grease, version_order
from .summary import ConnectionSummary

EMPTY_HASH = "000000000000"   # JA4: an empty list is shown as twelve zeros, not the hash of ""

# JA4's two-character version codes (FoxIO JA4 spec, "TLS and DTLS Version").
_JA4_VERSIONS: dict[int, str] = {
    ProtocolVersion.TLS13: "13",
    ProtocolVersion.TLS12: "12",
    ProtocolVersion.TLS11: "11",
    ProtocolVersion.TLS10: "10",
    ProtocolVersion.SSL3: "s3",
    ProtocolVersion.SSL2: "s2",
    ProtocolVersion.DTLS10: "d1",
    ProtocolVersion.DTLS12: "d2",
    ProtocolVersion.DTLS13: "d3",
}

_PROTO_LETTER = {"tcp": "t", "quic": "q", "dtls": "d"}


def _md5(s: str) -> str:
    return hashlib.md5(s.encode("ascii")).hexdigest()


def _sha12(s: str) -> str:
    return hashlib.sha256(s.encode("ascii")).hexdigest()[:12]


def _dash(values: list[int]) -> str:
    return "-".join(str(v) for v in values)


# ---------------------------------------------------------------------------
# JA3 / JA3S
# ---------------------------------------------------------------------------

def ja3_string(ch: ClientHello) -> str:
    """Salesforce JA3 string of a ClientHello (GREASE removed from every list)."""
    ext = ch.extensions
    return ",".join((
        str(ch.legacy_version),
        _dash([c for c in ch.cipher_suites if not is_grease(c)]),
        _dash([t for t, _ in ext.raw if not is_grease(t)]),
        _dash([g for g in ext.supported_groups if not is_grease(g)]),
        _dash(list(ext.ec_point_formats)),
    ))


def ja3(ch: ClientHello) -> tuple[str, str]:
    """(JA3 string, its MD5)."""
    full = ja3_string(ch)
    return full, _md5(full)


def ja3s_string(sh: ServerHello) -> str:
    """Salesforce JA3S string of a ServerHello: legacy version, cipher suite, extension types."""
    return ",".join((
        str(sh.legacy_version),
        str(sh.cipher_suite),
        _dash([t for t, _ in sh.extensions.raw if not is_grease(t)]),
    ))


def ja3s(sh: ServerHello) -> tuple[str, str]:
    """(JA3S string, its MD5)."""
    full = ja3s_string(sh)
    return full, _md5(full)


# ---------------------------------------------------------------------------
# JA4 / JA4S
# ---------------------------------------------------------------------------

def _ja4_version(v: int) -> str:
    return _JA4_VERSIONS.get(v, "00")


def _first_alpn(raw_ext: bytes | None) -> bytes | None:
    """First protocol name of a raw ALPN extension body, or None (absent/damaged)."""
    if raw_ext is None or len(raw_ext) < 3:
        return None
    total = int.from_bytes(raw_ext[:2], "big")
    n = raw_ext[2]
    if total < 1 or 3 + n > len(raw_ext) or n + 1 > total:
        return None
    return raw_ext[3 : 3 + n]


def _ext_body(raw: list[tuple[int, bytes]], ext_type: int) -> bytes | None:
    for t, body in raw:
        if t == ext_type:
            return body
    return None


def _is_alnum(b: int) -> bool:
    return 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A


def ja4_alpn(value: bytes | None) -> str:
    """Two characters for the first ALPN value: first and last character, '00' if none.

    If either end is not an ASCII letter or digit, the first and last hex digits
    of the value's hex form are used instead.
    """
    if not value:
        return "00"
    first, last = value[0], value[-1]
    if _is_alnum(first) and _is_alnum(last):
        return chr(first) + chr(last)
    h = value.hex()
    return h[0] + h[-1]


def _hex4(values: list[int]) -> list[str]:
    return [f"{v:04x}" for v in values]


@dataclass(frozen=True, slots=True)
class JA4:
    """JA4 and its raw (`r`), original-order (`o`) and raw original-order (`ro`) forms."""

    ja4: str
    ja4_r: str
    ja4_o: str
    ja4_ro: str


def ja4(ch: ClientHello, transport: str = "tcp") -> JA4:
    """FoxIO JA4 of a ClientHello; `transport` is 'tcp', 'quic' or 'dtls'."""
    ext = ch.extensions
    suites = [c for c in ch.cipher_suites if not is_grease(c)]
    exts = [t for t, _ in ext.raw if not is_grease(t)]
    versions = [v for v in ext.supported_versions if not is_grease(v)]
    if ext.has(Ext.SUPPORTED_VERSIONS) and versions:
        version = max(versions, key=version_order)  # DTLS versions count down
    else:
        version = ch.legacy_version
    sni = "d" if Ext.SERVER_NAME in exts else "i"
    alpn = ja4_alpn(_first_alpn(_ext_body(ext.raw, Ext.APPLICATION_LAYER_PROTOCOL_NEGOTIATION)))
    a = (f"{_PROTO_LETTER.get(transport, 't')}{_ja4_version(version)}{sni}"
         f"{min(len(suites), 99):02d}{min(len(exts), 99):02d}{alpn}")
    sigalgs = [s for s in ext.signature_algorithms if not is_grease(s)]
    sig = ",".join(_hex4(sigalgs))

    def part_c(ext_list: list[int]) -> tuple[str, str]:
        s = ",".join(_hex4(ext_list))
        if sig:
            s = f"{s}_{sig}"
        return s, (_sha12(s) if ext_list else EMPTY_HASH)

    sorted_suites = ",".join(_hex4(sorted(suites)))
    wire_suites = ",".join(_hex4(suites))
    b_sorted = _sha12(sorted_suites) if suites else EMPTY_HASH
    b_wire = _sha12(wire_suites) if suites else EMPTY_HASH
    rest = [e for e in exts if e not in (Ext.SERVER_NAME, Ext.APPLICATION_LAYER_PROTOCOL_NEGOTIATION)]
    c_raw, c_hash = part_c(sorted(rest))
    co_raw, co_hash = part_c(exts)
    if not rest:
        # FoxIO's tools test the list for emptiness after taking SNI and ALPN out, in the
        # original-order form too: a hello with only those two gets twelve zeros there.
        co_hash = EMPTY_HASH
    return JA4(
        ja4=f"{a}_{b_sorted}_{c_hash}",
        ja4_r=f"{a}_{sorted_suites}_{c_raw}",
        ja4_o=f"{a}_{b_wire}_{co_hash}",
        ja4_ro=f"{a}_{wire_suites}_{co_raw}",
    )


def ja4s(sh: ServerHello, transport: str = "tcp") -> tuple[str, str]:
    """(JA4S, JA4S_r) of a ServerHello."""
    exts = [t for t, _ in sh.extensions.raw if not is_grease(t)]
    alpn = ja4_alpn(_first_alpn(_ext_body(sh.extensions.raw, Ext.APPLICATION_LAYER_PROTOCOL_NEGOTIATION)))
    a = f"{_PROTO_LETTER.get(transport, 't')}{_ja4_version(sh.version)}{min(len(exts), 99):02d}{alpn}"
    e = ",".join(_hex4(exts))
    return f"{a}_{sh.cipher_suite:04x}_{_sha12(e) if exts else EMPTY_HASH}", f"{a}_{sh.cipher_suite:04x}_{e}"


# ---------------------------------------------------------------------------
# JA4X: a minimal DER walk over the TBSCertificate (never raises)
# ---------------------------------------------------------------------------

class _DERError(ValueError):
    pass


def _tlv(der: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the element at pos."""
    if pos + 2 > end:
        raise _DERError("truncated tag")
    tag = der[pos]
    if tag & 0x1F == 0x1F:
        raise _DERError("high tag numbers are not used in certificates")
    ln = der[pos + 1]
    pos += 2
    if ln & 0x80:
        n = ln & 0x7F
        if n == 0 or n > 4 or pos + n > end:
            raise _DERError("bad length")
        ln = int.from_bytes(der[pos : pos + n], "big")
        pos += n
    if pos + ln > end:
        raise _DERError("element runs past its parent")
    return tag, pos, pos + ln


def _children(der: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    pos = start
    while pos < end:
        t = _tlv(der, pos, end)
        out.append(t)
        pos = t[2]
    return out


def _name_oids(der: bytes, start: int, end: int) -> list[str]:
    oids = []
    for tag, s, e in _children(der, start, end):          # RDN: SET
        if tag != 0x31:
            raise _DERError("RDN is not a SET")
        for tag2, s2, e2 in _children(der, s, e):          # AttributeTypeAndValue: SEQUENCE
            kids = _children(der, s2, e2)
            if tag2 != 0x30 or not kids or kids[0][0] != 0x06:
                raise _DERError("attribute without an OID")
            oids.append(der[kids[0][1] : kids[0][2]].hex())
    return oids


def ja4x_lists(der: bytes) -> tuple[list[str], list[str], list[str]]:
    """(issuer RDN OIDs, subject RDN OIDs, extension OIDs) as hex, in certificate order.

    Raises ValueError when the DER is not a certificate.
    """
    _, cs, ce = _tlv(der, 0, len(der))
    tag, ts, te = _tlv(der, cs, ce)                        # tbsCertificate
    if tag != 0x30:
        raise _DERError("no TBSCertificate")
    kids = _children(der, ts, te)
    i = 1 if kids and kids[0][0] == 0xA0 else 0            # [0] version
    if len(kids) < i + 6:
        raise _DERError("TBSCertificate too short")
    issuer, subject = kids[i + 2], kids[i + 4]
    exts: list[str] = []
    for tag, s, e in kids[i + 6 :]:
        if tag == 0xA3:                                    # [3] extensions
            _, ss, se = _tlv(der, s, e)
            for tag2, s2, e2 in _children(der, ss, se):
                k = _children(der, s2, e2)
                if not k or k[0][0] != 0x06:
                    raise _DERError("extension without an OID")
                exts.append(der[k[0][1] : k[0][2]].hex())
    return _name_oids(der, issuer[1], issuer[2]), _name_oids(der, subject[1], subject[2]), exts


def ja4x(der: bytes) -> tuple[str, str]:
    """(JA4X, JA4X_r) of a DER certificate; ('', '') when it cannot be walked."""
    try:
        lists = ja4x_lists(der)
    except (ValueError, IndexError):
        return "", ""
    raw = [",".join(x) for x in lists]
    return "_".join(_sha12(r) if r else EMPTY_HASH for r in raw), "_".join(raw)


# ---------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------

def fill_fingerprints(s: ConnectionSummary, ch: ClientHello | None, sh: ServerHello | None) -> None:
    """Write ja3*, ja4*, ja4s* and ja4x of a summary from its first ClientHello / ServerHello.

    The protocol letter of JA4/JA4S comes from `s.transport`. JA3 is not defined
    for the SSLv2-format ClientHello and stays empty there.
    """
    if ch is not None:
        ext = ch.extensions
        key = (s.transport, ch.sslv2, ch.legacy_version, tuple(ch.cipher_suites), tuple([t for t, _ in ext.raw]),
               tuple(ext.supported_groups), tuple(ext.ec_point_formats), tuple(ext.signature_algorithms),
               tuple(ext.supported_versions),
               _first_alpn(_ext_body(ext.raw, Ext.APPLICATION_LAYER_PROTOCOL_NEGOTIATION)))
        got = _CH_CACHE.get(key)
        if got is None:
            j3 = ja3(ch) if not ch.sslv2 else (None, None)
            got = (j3, ja4(ch, s.transport))
            if len(_CH_CACHE) >= _CACHE_SIZE:
                _CH_CACHE.clear()
            if sum(len(k) for k in key[3:9]) <= CACHE_MAX_ITEMS:
                _CH_CACHE[key] = got
        (s.ja3_full, s.ja3), f = got
        s.ja4, s.ja4_r, s.ja4_o, s.ja4_ro = f.ja4, f.ja4_r, f.ja4_o, f.ja4_ro
    if sh is not None:
        skey = (s.transport, sh.legacy_version, sh.cipher_suite, sh.extensions.selected_version,
                tuple([t for t, _ in sh.extensions.raw]),
                _first_alpn(_ext_body(sh.extensions.raw, Ext.APPLICATION_LAYER_PROTOCOL_NEGOTIATION)))
        sgot = _SH_CACHE.get(skey)
        if sgot is None:
            sgot = (ja3s(sh), ja4s(sh, s.transport))
            if len(_SH_CACHE) >= _CACHE_SIZE:
                _SH_CACHE.clear()
            if len(skey[4]) <= CACHE_MAX_ITEMS:
                _SH_CACHE[skey] = sgot
        (s.ja3s_full, s.ja3s), (s.ja4s, s.ja4s_r) = sgot
    if s.cert_chain:
        s.ja4x = [c.ja4x for c in s.cert_chain]


# Hellos of one client/server software repeat across thousands of connections: the
# fingerprints of a hello shape (everything they depend on) are computed once.
_CACHE_SIZE = 4096
CACHE_MAX_ITEMS = 512   # hellos with more list items than this (hostile) are fingerprinted without the cache
_CH_CACHE: dict[tuple, tuple] = {}
_SH_CACHE: dict[tuple, tuple] = {}


# ---------------------------------------------------------------------------
# distinct fingerprints across connections (the `fingerprints` command)
# ---------------------------------------------------------------------------

FINGERPRINT_KINDS = ("ja4", "ja3", "ja4s", "ja3s", "ja4x")
MAX_EXAMPLES = 5   # SNIs / servers listed per fingerprint (the counts cover all)
MAX_DISTINCT_COUNTED = 1000   # distinct SNIs / servers counted per fingerprint (the count stops there)


@dataclass
class FingerprintRow:
    kind: str
    fingerprint: str
    count: int
    transports: list[str]
    snis: list[str]
    sni_count: int
    servers: list[str]
    server_count: int


class FingerprintTally:
    """Counts distinct fingerprints over summaries, with the SNIs and servers each was seen with.

    Memory is bounded by the number of distinct fingerprints: per fingerprint at
    most MAX_EXAMPLES SNIs and servers are kept, plus their distinct counts up to
    MAX_DISTINCT_COUNTED each.
    """

    def __init__(self, kinds: tuple[str, ...] = FINGERPRINT_KINDS) -> None:
        self.kinds = kinds
        self._items: dict[tuple[str, str], list] = {}

    def add(self, s: ConnectionSummary) -> None:
        server = f"{s.server_ip}:{s.server_port}" if s.server_ip else ""
        for kind in self.kinds:
            values = getattr(s, kind)
            if not values:
                continue
            for v in (values if isinstance(values, list) else [values]):
                if not v:
                    continue
                it = self._items.get((kind, v))
                if it is None:
                    it = self._items[(kind, v)] = [0, set(), {}, {}]
                it[0] += 1
                it[1].add(s.transport)
                for d, val in ((it[2], s.sni), (it[3], server)):
                    if val and len(d) < MAX_DISTINCT_COUNTED:
                        d[val] = d.get(val, 0) + 1

    def rows(self) -> list[FingerprintRow]:
        """One row per (kind, fingerprint), kinds in FINGERPRINT_KINDS order, most frequent first."""
        order = {k: i for i, k in enumerate(self.kinds)}
        out = []
        for (kind, v), (n, transports, snis, servers) in self._items.items():
            top = lambda d: [k for k, _ in sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_EXAMPLES]]
            out.append(FingerprintRow(kind, v, n, sorted(transports), top(snis), len(snis), top(servers), len(servers)))
        out.sort(key=lambda r: (order.get(r.kind, 99), -r.count, r.fingerprint))
        return out
