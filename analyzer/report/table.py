"""Summaries -> one pandas DataFrame with a fixed, documented column schema.

Owns `COLUMNS`: every column of the connection table, its Arrow type, and its
meaning (README.md's column reference is checked against it by a test), and the
conversion of `ConnectionSummary` values into rows. Nothing here re-parses
packets.
"""

from __future__ import annotations

import datetime as _dt
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..tls.summary import ConnectionSummary

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# Column kinds; the Arrow types they map to are built only when Arrow is needed
# (CSV/JSON output never imports pyarrow or pandas: they cost ~85 MB and ~0.3 s).
_STR, _INT, _BOOL, _FLOAT, _TS, _LIST = "string", "int", "bool", "float", "time", "list"


def _utc(ts: float | None) -> _dt.datetime | None:
    """Seconds since the epoch as a UTC datetime; None when there is none or it is out of range
    (a damaged or hostile capture can claim the year 50,000)."""
    if ts is None:
        return None
    try:
        return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def _leaf(attr: str) -> Callable[[ConnectionSummary], Any]:
    def get(s: ConnectionSummary) -> Any:
        c = s.cert
        return getattr(c, attr) if c is not None else None
    return get


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of string, int, bool, float, time, list
    get: Callable[[ConnectionSummary], Any]
    doc: str
    attr: str | None = None  # the summary attribute the value is, when `get` is just that
    leaf: str | None = None  # the leaf certificate's (CertInfo) attribute the value is, when `get` is `_leaf(leaf)`


def _finished_verified(client: bool | None, server: bool | None) -> str | None:
    if client is None and server is None:
        return None
    if client is False or server is False:
        if client is False and server is False:
            return "mismatch_both"
        return "mismatch_client" if client is False else "mismatch_server"
    if client and server:
        return "both"
    return "client" if client else "server"


def _attr(name: str) -> Callable[[ConnectionSummary], Any]:
    return operator.attrgetter(name)


def _c(name: str, typ: str, doc: str, get: Callable[[ConnectionSummary], Any] | None = None) -> Column:
    return Column(name, typ, get or _attr(name), doc, None if get else name)


def _cert_column(name: str, typ: str, doc: str, attr: str) -> Column:
    """A column of the server's leaf certificate: its `CertInfo` attribute `attr`, empty without one."""
    return Column(name, typ, _leaf(attr), doc, None, attr)


def _no_link(s: ConnectionSummary) -> None:
    """Lineage columns: empty in a connection's own row; `analyzer.lineage` fills them across the run."""
    return None


COLUMNS: list[Column] = [
    _c("capture", _STR, "Capture file name (as given, without folders)."),
    _c("stream", _INT, "TCP stream index within the capture, numbered like Wireshark's `tcp.stream`; for QUIC and DTLS rows the UDP conversation index, like `udp.stream`."),
    _c("transport", _STR, "`tcp`, `quic` or `dtls`."),
    _c("first_frame", _INT, "Frame number of the connection's first packet (Wireshark's `frame.number`)."),
    _c("last_frame", _INT, "Frame number of its last packet."),
    _c("start_time", _TS, "Time of the first packet (UTC).", lambda s: _utc(s.start_time)),
    _c("client_ip", _STR, "Client address (the SYN sender; without a SYN, the ClientHello sender)."),
    _c("client_port", _INT, "Client TCP port."),
    _c("server_ip", _STR, "Server address."),
    _c("server_port", _INT, "Server TCP port."),
    _c("is_tls", _BOOL, "Whether TLS records were seen at all (false: `failure` is `not_tls`)."),
    _c("upgraded_from", _STR, "Plaintext protocol the connection started in before TLS (`smtp`, `imap`, `postgres`, `socks5`, `http_connect` ...); empty when TLS started at the first byte."),
    _c("plaintext_protocol", _STR, "Plaintext protocol recognised in clear, also when no switch to TLS followed (never asked, refused)."),
    _c("upgrade_frame", _INT, "Frame of the server's go-ahead to switch to TLS (MySQL, which has none: the client's SSL request)."),
    _c("proxy_target", _STR, "`host:port` asked of a SOCKS4/4a, SOCKS5 or HTTP CONNECT proxy."),
    _c("sni", _STR, "server_name offered in the ClientHello."),
    _c("alpn_offered", _LIST, "ALPN protocols offered by the client, in order."),
    _c("alpn", _STR, "ALPN protocol chosen by the server (TLS <= 1.2: from the ServerHello; TLS 1.3: encrypted, empty without keys)."),
    _c("record_version", _STR, "Version in the client's first record header."),
    _c("client_legacy_version", _STR, "ClientHello.legacy_version (client_version before TLS 1.3)."),
    _c("client_versions", _LIST, "Versions offered: supported_versions if present, else the ClientHello version."),
    _c("version", _STR, "Negotiated version (`SSL 3.0` ... `TLS 1.3`, `TLS 1.3 (draft N)`, `TLS 1.3 (Google experiment N)` for Google's 0x7e01-0x7e03; in TLS 1.3 from the ServerHello's supported_versions)."),
    _c("version_code", _INT, "Negotiated version as its 16-bit code (0x0304 = 772)."),
    _c("cipher_suites_offered", _LIST, "Cipher suites offered, IANA names, in order (GREASE kept as `GREASE (0x..)`)."),
    _c("cipher_suite", _STR, "Cipher suite chosen, IANA name."),
    _c("cipher_suite_code", _INT, "Cipher suite chosen, 16-bit code."),
    _c("extensions_offered", _LIST, "ClientHello extensions, IANA names, in wire order."),
    _c("server_extensions", _LIST, "ServerHello extensions, in wire order."),
    _c("groups_offered", _LIST, "supported_groups offered."),
    _c("key_share_groups", _LIST, "Groups of the key_share entries the client sent (TLS 1.3; extension 40 in hellos offering drafts <= 22 or Google's experiments)."),
    _c("signature_algorithms", _LIST, "signature_algorithms offered."),
    _c("group", _STR, "Key exchange group: TLS 1.3 key_share of the ServerHello (extension 40 in drafts <= 22 and Google's experiments); TLS <= 1.2 the ServerKeyExchange curve (or `DH N-bit`)."),
    _c("server_signature_algorithm", _STR, "Signature scheme the server signed its key exchange with: TLS 1.2 the ServerKeyExchange's (in clear; RSA key exchange and resumptions have none, TLS 1.0/1.1 name none), TLS 1.3 the CertificateVerify's (encrypted: empty without keys)."),
    _c("session_id", _STR, "ClientHello legacy_session_id (hex), empty if none."),
    _c("server_session_id", _STR, "ServerHello session ID (hex)."),
    _c("ticket_offered", _BOOL, "Client offered a session ticket (non-empty session_ticket extension) or a TLS 1.3 PSK."),
    _c("psk_offered", _BOOL, "Client sent a pre_shared_key extension."),
    _c("psk_identity", _STR, "TLS <= 1.2 PSK key exchange (RFC 4279: `PSK`, `DHE_PSK`, `ECDHE_PSK`, `RSA_PSK` suites): the ClientKeyExchange psk_identity, as UTF-8 (other bytes as `\\xNN`); empty otherwise."),
    _c("early_data_offered", _BOOL, "Client sent the early_data extension (0-RTT)."),
    _c("ech_offered", _BOOL, "Client sent encrypted_client_hello (noted, not decrypted)."),
    _c("sslv2_client_hello", _BOOL, "The ClientHello was in SSLv2 format."),
    _c("hrr", _BOOL, "The server sent a HelloRetryRequest."),
    _c("hrr_group", _STR, "Group the HelloRetryRequest asked for."),
    _c("resumed", _BOOL, "The handshake resumed an earlier session."),
    _c("resumption", _STR, "`none`, `session_id` (ID echoed, abbreviated handshake), `ticket` (abbreviated after a ticket offer), `psk` (TLS 1.3 pre_shared_key accepted)."),
    _c("ticket_issued", _BOOL, "Server sent a NewSessionTicket (in clear in TLS <= 1.2; in TLS 1.3 seen once decrypted)."),
    # resumption lineage (analyzer.tls.resumption per connection; the links are analyzer.lineage's, after the per-file work)
    _c("resumption_attempt", _STR, "`none` (nothing offered to resume: no legacy_session_id before TLS 1.3 (in the TLS 1.3 family it is middlebox compatibility), no session ticket, no pre_shared_key), `accepted` (the server resumed), `refused` (the server did a full handshake instead); empty when an attempt got no visible answer (no ServerHello, or the capture ends after it) or there was no ClientHello."),
    _c("resumed_from", _STR, "An accepted resumption's parent: the connection that issued the session ID or ticket it resumed, as `CAPTURE#STREAM` (`CAPTURE#quic:STREAM`, `CAPTURE#dtls:STREAM` for UDP rows), from all captures of the run; empty when it is not among them (see \"Resumption lineage\").", _no_link),
    _c("resumption_age_s", _FLOAT, "Seconds from the parent's ClientHello (`resumed_from`) to this one's.", _no_link),
    _c("resumed_ticket_lifetime_s", _INT, "Linked by a ticket or TLS 1.3 PSK: the lifetime in seconds the parent's NewSessionTicket announced.", _no_link),
    _c("ticket_offered_sha256", _STR, "SHA-256 (hex) of the ticket in the ClientHello's session_ticket extension (RFC 5077); empty when none or empty."),
    _c("psk_offered_sha256", _STR, "SHA-256 (hex) of the TLS 1.3 pre_shared_key identity offered (the one the server selected, else the first); a resumption PSK's identity is the ticket of an earlier NewSessionTicket."),
    _c("tickets_issued_sha256", _LIST, "SHA-256 (hex) of the ticket of each NewSessionTicket the server sent (in clear before TLS 1.3; in TLS 1.3 once decrypted), in order, at most 8."),
    _c("ticket_lifetime_s", _INT, "Lifetime in seconds the server's NewSessionTicket announced: TLS 1.3 ticket_lifetime, TLS <= 1.2 ticket_lifetime_hint (empty when 0, i.e. unspecified, RFC 5077 3.3); the shortest when tickets differ."),
    _c("client_hello_time", _TS, "Time of the frame that completed the ClientHello (UTC); lineage orders handshakes by it.", lambda s: _utc(s.client_hello_time)),
    _c("client_auth", _STR, "`none`, `requested` (CertificateRequest seen), `certificate` (client sent one), `empty` (client sent an empty list)."),
    _c("extended_master_secret", _BOOL, "Server agreed to extended_master_secret."),
    _c("encrypt_then_mac", _BOOL, "Server agreed to encrypt_then_mac."),
    _c("secure_renegotiation", _BOOL, "Both sides signalled secure renegotiation (renegotiation_info or the SCSV)."),
    _c("compression", _INT, "Compression method chosen (0 = none)."),
    _c("renegotiation", _BOOL, "A second handshake was seen on the connection."),
    _c("ocsp_stapled", _BOOL, "Server sent CertificateStatus (OCSP stapling)."),
    _c("ja3", _STR, "JA3 (MD5) of the ClientHello, GREASE removed, as tshark's `tls.handshake.ja3` (`dtls.handshake.ja3`); empty for SSLv2-format hellos."),
    _c("ja3_full", _STR, "The JA3 string (`version,ciphers,extensions,groups,point_formats`)."),
    _c("ja3s", _STR, "JA3S (MD5) of the ServerHello (`version,cipher,extensions`)."),
    _c("ja4", _STR, "FoxIO JA4 of the ClientHello (`t` TCP / `q` QUIC / `d` DTLS prefix)."),
    _c("ja4_r", _STR, "JA4 raw: sorted cipher and extension lists instead of their hashes."),
    _c("ja4_o", _STR, "JA4 with ciphers and extensions in wire order (SNI and ALPN kept; `000000000000` as extension hash when they are the only extensions)."),
    _c("ja4s", _STR, "FoxIO JA4S of the ServerHello."),
    _c("ja4x", _LIST, "FoxIO JA4X of each server certificate of the chain, leaf first."),
    _c("quic_version", _STR, "QUIC version of a QUIC row (`QUICv1`, `QUICv2`, `draft-29` ...)."),
    _c("quic_packets", _STR, "QUIC packets counted besides Initial/Handshake: `retry=N version_negotiation=N 0rtt=N` (only the non-zero ones).",
       lambda s: " ".join(f"{k}={v}" for k, v in (("retry", s.quic_retry), ("version_negotiation", s.quic_version_negotiation), ("0rtt", s.quic_0rtt)) if v) or None),
    _c("hello_verify_request", _BOOL, "DTLS 1.0/1.2: the server sent a HelloVerifyRequest (cookie exchange, RFC 6347 4.2.1)."),
    _c("srtp_profiles_offered", _LIST, "DTLS use_srtp (RFC 5764): SRTP protection profiles the client offered, in order."),
    _c("srtp_profile", _STR, "DTLS use_srtp: the SRTP protection profile the server chose."),
    _c("dtls_connection_id", _BOOL, "DTLS connection IDs in use (RFC 9146 for 1.2, RFC 9147 for 1.3): both hellos carried connection_id with a non-empty CID, or CID records were seen."),
    _c("dtls_packets", _STR, "DTLS rows: what was counted, not parsed (only the non-zero ones): datagrams of other protocols on the 5-tuple by RFC 7983 (`stun`, `zrtp`, `turn_channel`, `rtp`, `other`), `duplicate_records`, `retransmitted_fragments`, `retransmitted_encrypted`, `unified_records` (DTLS 1.3), `cid_records`, `ack_records`, `undecrypted_records`."),
    _cert_column("cert_subject", _STR, "Server leaf certificate subject (RFC 4514).", "subject"),
    _cert_column("cert_issuer", _STR, "Its issuer.", "issuer"),
    _cert_column("cert_serial", _STR, "Its serial number (hex).", "serial"),
    _cert_column("cert_not_before", _TS, "Its validity start (UTC).", "not_before"),
    _cert_column("cert_not_after", _TS, "Its validity end (UTC).", "not_after"),
    _c("cert_sans", _LIST, "Its subjectAltNames (`DNS:`, `IP:` ...).", lambda s: list(s.cert.sans) if s.cert else []),
    _cert_column("cert_key_type", _STR, "Its public key type (`RSA`, `EC secp256r1`, `Ed25519` ...).", "key_type"),
    _cert_column("cert_key_bits", _INT, "Its public key size in bits.", "key_bits"),
    _cert_column("cert_signature_algorithm", _STR, "Its signature algorithm (e.g. `sha256WithRSAEncryption`).", "signature_algorithm"),
    _cert_column("cert_sha256", _STR, "SHA-256 of its DER (hex).", "sha256"),
    _cert_column("cert_self_signed", _BOOL, "Its subject equals its issuer.", "self_signed"),
    _c("cert_chain_length", _INT, "Certificates in the server's Certificate message.", lambda s: s.cert_count if s.cert_chain else None),
    _c("cert_chain_sha256", _LIST, "SHA-256 of each certificate of the chain, leaf first.", lambda s: [c.sha256 for c in s.cert_chain]),
    _c("cert_chain_subjects", _LIST, "Subject of each certificate of the chain, leaf first.", lambda s: [c.subject for c in s.cert_chain]),
    _c("cert_compression", _STR, "Algorithm of the server's CompressedCertificate (RFC 8879: `zlib`, `brotli`, `zstd`), empty when the certificate was not compressed (or not seen)."),
    _c("cert_compression_offered", _LIST, "Certificate compression algorithms the client offered (compress_certificate extension), in order."),
    _c("client_cert_subject", _STR, "Client certificate subject, when one was sent in clear.",
       lambda s: s.client_cert_chain[0].subject if s.client_cert_chain else None),
    _c("handshake_complete", _BOOL, "Both Finished messages were exchanged (TLS 1.3 without keys: both sides sent their encrypted final flights), and the side that received the last one did not answer it with a fatal alert (see \"Alerts\")."),
    _c("failure", _STR, "Why the handshake did not complete: `alert`, `reset`, `close`, `no_response`, `timeout`, `evicted`, `truncated`, `gap`, `not_tls`, `upgrade_refused` (the server refused the plaintext protocol's switch to TLS; its reply code is in `errors`), `no_client_hello`, `malformed: ...`; empty when complete."),
    _c("failure_frame", _INT, "Frame number where the failure showed."),
    _c("alert", _STR, "First fatal alert (else first alert) before completion, RFC name; `encrypted_alert` when it was encrypted. With none before completion, the first fatal (else first) alert read after it, e.g. a decrypted `close_notify` (see \"Alerts\": it leaves `failure` empty)."),
    _c("alert_sender", _STR, "`client` or `server`."),
    _c("alert_level", _STR, "`warning` or `fatal` (empty for encrypted alerts)."),
    _c("handshake_ms", _FLOAT, "Milliseconds from the ClientHello to the last handshake message."),
    _c("round_trips", _INT, "Round trips the completed handshake took (flights // 2)."),
    _c("client_hello_frame", _INT, "Frame in which the ClientHello completed."),
    _c("server_hello_frame", _INT, "Frame in which the ServerHello completed."),
    _c("close_reason", _STR, "How the TCP flow ended: `fin`, `rst`, `idle`, `end` (capture over), `reuse` (port reused), `evicted` (too many live flows)."),
    _c("bytes_client", _INT, "TCP payload bytes sent by the client (as on the wire, retransmissions included)."),
    _c("bytes_server", _INT, "TCP payload bytes sent by the server."),
    _c("tcp_gaps", _INT, "Holes in the TCP streams (bytes never captured)."),
    _c("heartbeat_records", _INT, "Heartbeat records seen."),
    _c("early_data_records", _INT, "Client records sent as 0-RTT early data."),
    _c("decryption", _STR, "Decryption status: `not_attempted` (no key material), `ok`, `no_key`, `dhe_needs_keylog` (only an RSA key for an (EC)DHE or TLS 1.3 connection), `missing_secrets`, `key_mismatch`, `bad_record_mac`, `gap`, `unsupported_cipher`, `unsupported_version`, `no_client_hello`, `no_server_hello`, `handshake_error`; the reason is in `errors`.",
       lambda s: (s.decryption or "not_attempted") if s.is_tls else None),
    _c("finished_verified", _STR, "Finished verify_data checked against the transcript: `both`, `client` or `server` (only that one seen), `mismatch_client`, `mismatch_server`, `mismatch_both`; empty when not decrypted.",
       lambda s: _finished_verified(s.finished_client, s.finished_server)),
    _c("app_bytes_client", _INT, "Decrypted application data bytes sent by the client (empty when not decrypted)."),
    _c("app_bytes_server", _INT, "Decrypted application data bytes sent by the server (empty when not decrypted)."),
    _c("errors", _LIST, "What could not be read, with frame numbers."),
]

COLUMN_NAMES = [c.name for c in COLUMNS]
LIST_COLUMNS = [c.name for c in COLUMNS if c.type == _LIST]
TIME_COLUMNS = [c.name for c in COLUMNS if c.type == _TS]


def arrow_type(kind: str) -> "pa.DataType":
    import pyarrow as pa

    return {
        _STR: pa.string(), _INT: pa.int64(), _BOOL: pa.bool_(), _FLOAT: pa.float64(),
        _TS: pa.timestamp("us", tz="UTC"), _LIST: pa.list_(pa.string()),
    }[kind]


def arrow_schema() -> "pa.Schema":
    """The Arrow/Parquet schema of the table."""
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in COLUMNS])


def summary_row(s: ConnectionSummary) -> dict[str, Any]:
    return {c.name: c.get(s) for c in COLUMNS}


_LIST_INDEX = [i for i, c in enumerate(COLUMNS) if c.type == _LIST]
_CAPTURE = COLUMN_NAMES.index("capture")
_STREAM = COLUMN_NAMES.index("stream")
_TRANSPORT = COLUMN_NAMES.index("transport")
MAX_INTERNED = 200_000   # distinct list values shared between rows (offers repeat across connections)
SLICE_ROWS = 4096        # rows converted to Arrow/pandas at a time
#: Rows a TableBuilder holds; beyond, they are sorted and written to a temporary file (a run),
#: and the finished table is the merge of the runs, so memory does not grow with the number
#: of connections (a row is ~1.5 KB: 20,000 rows ~30 MB).
MAX_ROWS_IN_MEMORY = 20_000
_RUN_CHUNK = 2048         # rows per pickle in a run file
MAX_RUNS = 64             # run files at most (more are merged into one)


def sort_rows(rows: list[tuple[Any, ...]]) -> None:
    """Sort row tuples in place by capture, stream and transport (`tcp` before `quic`)."""
    rows.sort(key=_sort_key)


class TableBuilder:
    """Collects one compact tuple per connection as summaries arrive.

    The summary (with its ladder) is dropped as soon as it is added; list values
    are stored as tuples shared between rows that have the same value (clients
    repeat their offers). Past MAX_ROWS_IN_MEMORY rows the batch is sorted and written
    to a run file, so memory stays bounded however many connections a run has.
    """

    def __init__(self) -> None:
        # the plain attributes in one C call, then the computed columns (a call per value cost
        # ~30 us per row)
        plain = [i for i, c in enumerate(COLUMNS) if c.attr is not None]
        leaf = [i for i, c in enumerate(COLUMNS) if c.leaf is not None]
        computed = [i for i, c in enumerate(COLUMNS) if c.attr is None and c.leaf is None]
        self._plain = operator.attrgetter(*(COLUMNS[i].attr for i in plain))
        # the leaf certificate's columns in one C call too (one lookup of the leaf per row)
        self._leaf = operator.attrgetter(*(COLUMNS[i].leaf for i in leaf))
        self._no_leaf = (None,) * len(leaf)
        self._computed = [COLUMNS[i].get for i in computed]
        position = {col: k for k, col in enumerate(plain + leaf + computed)}
        self._order = operator.itemgetter(*(position[i] for i in range(len(COLUMNS))))
        self._rows: list[tuple[Any, ...]] = []
        self._intern: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._runs: _Runs | None = None  # rows spilled to disk (see MAX_ROWS_IN_MEMORY)
        self._spilled = 0

    def add(self, s: ConnectionSummary) -> None:
        chain = s.cert_chain
        cert = chain[0] if chain else None
        certs = self._leaf(cert) if cert is not None else self._no_leaf
        vals = list(self._order(self._plain(s) + certs + tuple([get(s) for get in self._computed])))
        intern = self._intern
        for i in _LIST_INDEX:
            v = vals[i]
            if v is not None:
                if not v:
                    vals[i] = ()   # the one empty tuple: no lookup (half the list values are empty)
                    continue
                t = tuple(v)
                shared = intern.get(t)
                if shared is None:
                    if len(intern) < MAX_INTERNED:
                        intern[t] = t
                    shared = t
                vals[i] = shared
        if len(self._rows) >= MAX_ROWS_IN_MEMORY:  # full: this row is one more than it holds
            self._spill()
        self._rows.append(tuple(vals))

    def add_row(self, row: tuple[Any, ...]) -> None:
        """Add a finished row (a tuple in `COLUMNS` order, e.g. from a batch worker process)."""
        intern = self._intern
        if len(self._rows) >= MAX_ROWS_IN_MEMORY:
            self._spill()
        if len(intern) >= MAX_INTERNED:
            self._rows.append(row)
            return
        vals = None
        for i in _LIST_INDEX:
            v = row[i]
            if v:   # (None and the empty tuple, which is one object already, need no lookup)
                shared = intern.setdefault(v, v)
                if shared is not v:
                    if vals is None:
                        vals = list(row)
                    vals[i] = shared
        self._rows.append(row if vals is None else tuple(vals))  # a new tuple only when a value is shared

    @property
    def rows(self) -> int:
        return len(self._rows) + self._spilled

    def _spill(self) -> None:
        if self._runs is None:
            self._runs = _Runs()
        sort_rows(self._rows)
        self._runs.write(self._rows)
        self._spilled += len(self._rows)
        self._rows = []
        self._intern = {}

    def table(self) -> "Rows":
        """All rows so far, sorted by capture and stream (TCP before QUIC on equal numbers).

        Its `rows` is a list, or, when rows were spilled to disk, a re-iterable merge of the
        sorted runs (iterate it; it is not indexable)."""
        sort_rows(self._rows)
        if self._runs is None:
            return Rows(self._rows)
        return Rows(_MergedRows(self._runs, self._rows, self._spilled + len(self._rows)))


def _sort_key(r: tuple[Any, ...]) -> tuple[Any, ...]:
    return (r[_CAPTURE], r[_STREAM], r[_TRANSPORT] != "tcp")


class _Runs:
    """Sorted runs of rows (or any tuples) in temporary files (a private folder, removed with this
    object); `key` orders them when runs are merged (None: the tuples' own order)."""

    def __init__(self, prefix: str = "handshake-analyzer-rows-",
                 key: Callable[[tuple[Any, ...]], Any] | None = _sort_key) -> None:
        import tempfile
        import weakref

        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.files: list[str] = []
        self._n = 0
        self._key = key
        self._cleanup = weakref.finalize(self, _remove_dir, self.dir)

    def write(self, rows: Iterable[tuple[Any, ...]]) -> None:
        import os
        import pickle

        self._n += 1
        path = os.path.join(self.dir, f"run-{self._n}.pickle")
        with open(path, "wb") as f:
            chunk: list[tuple[Any, ...]] = []
            for r in rows:
                chunk.append(r)
                if len(chunk) >= _RUN_CHUNK:
                    pickle.dump(chunk, f, protocol=pickle.HIGHEST_PROTOCOL)
                    chunk = []
            if chunk:
                pickle.dump(chunk, f, protocol=pickle.HIGHEST_PROTOCOL)
        self.files.append(path)
        if len(self.files) >= MAX_RUNS:  # merge them into one: reading never opens more files than this
            import heapq

            old = self.files
            self.files = []
            self.write(heapq.merge(*(self.read(p) for p in old), key=self._key))
            for p in old:
                os.unlink(p)

    def read(self, path: str) -> Iterator[tuple[Any, ...]]:
        return read_row_chunks(path)


def read_row_chunks(path: str) -> Iterator[tuple[Any, ...]]:
    """Rows from a file of pickled row lists (a run here, a part's spool in analyzer.batch),
    one list in memory at a time."""
    import pickle

    with open(path, "rb") as f:
        while True:
            try:
                chunk = pickle.load(f)
            except EOFError:
                return
            yield from chunk


def _remove_dir(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


class _MergedRows:
    """The rows of a table that spilled: the sorted runs and the last in-memory batch merged
    as they are read; iterable any number of times, with a length; not indexable."""

    def __init__(self, runs: _Runs, tail: list[tuple[Any, ...]], n: int) -> None:
        self._runs = runs
        self._tail = tail
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        import heapq

        return heapq.merge(*(self._runs.read(p) for p in self._runs.files), self._tail, key=_sort_key)


class Rows:
    """The finished table: row tuples in `COLUMNS` order, sorted by capture and stream.

    `rows` is a list, or for a table too large to hold (see MAX_ROWS_IN_MEMORY) a re-iterable
    sequence read from disk: iterate it, take its len(), do not index it."""

    def __init__(self, rows: "list[tuple[Any, ...]] | _MergedRows") -> None:
        self.rows = rows
        self.names = COLUMN_NAMES

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> Iterator[dict[str, Any]]:
        names = self.names
        for r in self.rows:
            yield dict(zip(names, r))

    def arrow_batches(self) -> Iterator["pa.RecordBatch"]:
        import pyarrow as pa

        schema = arrow_schema()
        types = [arrow_type(c.type) for c in COLUMNS]
        chunk: list[tuple[Any, ...]] = []
        for r in self.rows:
            chunk.append(r)
            if len(chunk) >= SLICE_ROWS:
                yield self._batch(pa, schema, types, chunk)
                chunk = []
        if chunk:
            yield self._batch(pa, schema, types, chunk)

    @staticmethod
    def _batch(pa: Any, schema: Any, types: list[Any], chunk: list[tuple[Any, ...]]) -> "pa.RecordBatch":
        cols = list(zip(*chunk))
        return pa.RecordBatch.from_arrays([pa.array(col, type=t) for col, t in zip(cols, types)], schema=schema)

    def to_arrow(self) -> "pa.Table":
        import pyarrow as pa

        return pa.Table.from_batches(list(self.arrow_batches()), schema=arrow_schema())

    def to_dataframe(self) -> "pd.DataFrame":
        return arrow_to_dataframe(self.to_arrow())


def to_arrow(summaries: Iterable[ConnectionSummary]) -> "pa.Table":
    """The table of `summaries`, with the resumption lineage linked over all of them."""
    from ..lineage import link_rows

    b = TableBuilder()
    for s in summaries:
        b.add(s)
    return link_rows(b.table()).to_arrow()


def arrow_to_dataframe(table: "pa.Table") -> "pd.DataFrame":
    import pandas as pd
    import pyarrow as pa

    mapping = {pa.string(): pd.StringDtype(), pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    return table.to_pandas(types_mapper=mapping.get)


def to_dataframe(summaries: Iterable[ConnectionSummary]) -> "pd.DataFrame":
    """One row per connection, sorted by capture and stream, with the `COLUMNS` schema."""
    return arrow_to_dataframe(to_arrow(summaries))
