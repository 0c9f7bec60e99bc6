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
from typing import Any, Callable, Iterable

import pandas as pd
import pyarrow as pa

from ..tls.summary import ConnectionSummary

_STR = pa.string()
_INT = pa.int64()
_BOOL = pa.bool_()
_FLOAT = pa.float64()
_TS = pa.timestamp("us", tz="UTC")
_LIST = pa.list_(pa.string())


def _utc(ts: float | None) -> _dt.datetime | None:
    if ts is None:
        return None
    return _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)


def _leaf(attr: str) -> Callable[[ConnectionSummary], Any]:
    def get(s: ConnectionSummary) -> Any:
        c = s.cert
        return getattr(c, attr) if c is not None else None
    return get


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    get: Callable[[ConnectionSummary], Any]
    doc: str


def _attr(name: str) -> Callable[[ConnectionSummary], Any]:
    return operator.attrgetter(name)


def _c(name: str, typ: pa.DataType, doc: str, get: Callable[[ConnectionSummary], Any] | None = None) -> Column:
    return Column(name, typ, get or _attr(name), doc)


COLUMNS: list[Column] = [
    _c("capture", _STR, "Capture file name (as given, without folders)."),
    _c("stream", _INT, "TCP stream index within the capture, numbered like Wireshark's `tcp.stream`."),
    _c("transport", _STR, "`tcp`."),
    _c("first_frame", _INT, "Frame number of the connection's first packet (Wireshark's `frame.number`)."),
    _c("last_frame", _INT, "Frame number of its last packet."),
    _c("start_time", _TS, "Time of the first packet (UTC).", lambda s: _utc(s.start_time)),
    _c("client_ip", _STR, "Client address (the SYN sender; without a SYN, the ClientHello sender)."),
    _c("client_port", _INT, "Client TCP port."),
    _c("server_ip", _STR, "Server address."),
    _c("server_port", _INT, "Server TCP port."),
    _c("is_tls", _BOOL, "Whether TLS records were seen at all (false: `failure` is `not_tls`)."),
    _c("sni", _STR, "server_name offered in the ClientHello."),
    _c("alpn_offered", _LIST, "ALPN protocols offered by the client, in order."),
    _c("alpn", _STR, "ALPN protocol chosen by the server (TLS <= 1.2: from the ServerHello; TLS 1.3: encrypted, empty without keys)."),
    _c("record_version", _STR, "Version in the client's first record header."),
    _c("client_legacy_version", _STR, "ClientHello.legacy_version (client_version before TLS 1.3)."),
    _c("client_versions", _LIST, "Versions offered: supported_versions if present, else the ClientHello version."),
    _c("version", _STR, "Negotiated version (`SSL 3.0` ... `TLS 1.3`; in TLS 1.3 from the ServerHello's supported_versions)."),
    _c("version_code", _INT, "Negotiated version as its 16-bit code (0x0304 = 772)."),
    _c("cipher_suites_offered", _LIST, "Cipher suites offered, IANA names, in order (GREASE kept as `GREASE (0x..)`)."),
    _c("cipher_suite", _STR, "Cipher suite chosen, IANA name."),
    _c("cipher_suite_code", _INT, "Cipher suite chosen, 16-bit code."),
    _c("extensions_offered", _LIST, "ClientHello extensions, IANA names, in wire order."),
    _c("server_extensions", _LIST, "ServerHello extensions, in wire order."),
    _c("groups_offered", _LIST, "supported_groups offered."),
    _c("key_share_groups", _LIST, "Groups of the key_share entries the client sent (TLS 1.3)."),
    _c("signature_algorithms", _LIST, "signature_algorithms offered."),
    _c("group", _STR, "Key exchange group: TLS 1.3 key_share of the ServerHello; TLS <= 1.2 the ServerKeyExchange curve (or `DH N-bit`)."),
    _c("session_id", _STR, "ClientHello legacy_session_id (hex), empty if none."),
    _c("server_session_id", _STR, "ServerHello session ID (hex)."),
    _c("ticket_offered", _BOOL, "Client offered a session ticket (non-empty session_ticket extension) or a TLS 1.3 PSK."),
    _c("psk_offered", _BOOL, "Client sent a pre_shared_key extension."),
    _c("early_data_offered", _BOOL, "Client sent the early_data extension (0-RTT)."),
    _c("ech_offered", _BOOL, "Client sent encrypted_client_hello (noted, not decrypted)."),
    _c("sslv2_client_hello", _BOOL, "The ClientHello was in SSLv2 format."),
    _c("hrr", _BOOL, "The server sent a HelloRetryRequest."),
    _c("hrr_group", _STR, "Group the HelloRetryRequest asked for."),
    _c("resumed", _BOOL, "The handshake resumed an earlier session."),
    _c("resumption", _STR, "`none`, `session_id` (ID echoed, abbreviated handshake), `ticket` (abbreviated after a ticket offer), `psk` (TLS 1.3 pre_shared_key accepted)."),
    _c("ticket_issued", _BOOL, "Server sent a NewSessionTicket in clear (TLS <= 1.2)."),
    _c("client_auth", _STR, "`none`, `requested` (CertificateRequest seen), `certificate` (client sent one), `empty` (client sent an empty list)."),
    _c("extended_master_secret", _BOOL, "Server agreed to extended_master_secret."),
    _c("encrypt_then_mac", _BOOL, "Server agreed to encrypt_then_mac."),
    _c("secure_renegotiation", _BOOL, "Both sides signalled secure renegotiation (renegotiation_info or the SCSV)."),
    _c("compression", _INT, "Compression method chosen (0 = none)."),
    _c("renegotiation", _BOOL, "A second handshake was seen on the connection."),
    _c("ocsp_stapled", _BOOL, "Server sent CertificateStatus (OCSP stapling)."),
    _c("cert_subject", _STR, "Server leaf certificate subject (RFC 4514).", _leaf("subject")),
    _c("cert_issuer", _STR, "Its issuer.", _leaf("issuer")),
    _c("cert_serial", _STR, "Its serial number (hex).", _leaf("serial")),
    _c("cert_not_before", _TS, "Its validity start (UTC).", _leaf("not_before")),
    _c("cert_not_after", _TS, "Its validity end (UTC).", _leaf("not_after")),
    _c("cert_sans", _LIST, "Its subjectAltNames (`DNS:`, `IP:` ...).", lambda s: list(s.cert.sans) if s.cert else []),
    _c("cert_key_type", _STR, "Its public key type (`RSA`, `EC secp256r1`, `Ed25519` ...).", _leaf("key_type")),
    _c("cert_key_bits", _INT, "Its public key size in bits.", _leaf("key_bits")),
    _c("cert_signature_algorithm", _STR, "Its signature algorithm (e.g. `sha256WithRSAEncryption`).", _leaf("signature_algorithm")),
    _c("cert_sha256", _STR, "SHA-256 of its DER (hex).", _leaf("sha256")),
    _c("cert_self_signed", _BOOL, "Its subject equals its issuer.", _leaf("self_signed")),
    _c("cert_chain_length", _INT, "Certificates in the server's Certificate message.", lambda s: s.cert_count if s.cert_chain else None),
    _c("cert_chain_sha256", _LIST, "SHA-256 of each certificate of the chain, leaf first.", lambda s: [c.sha256 for c in s.cert_chain]),
    _c("cert_chain_subjects", _LIST, "Subject of each certificate of the chain, leaf first.", lambda s: [c.subject for c in s.cert_chain]),
    _c("client_cert_subject", _STR, "Client certificate subject, when one was sent in clear.",
       lambda s: s.client_cert_chain[0].subject if s.client_cert_chain else None),
    _c("handshake_complete", _BOOL, "Both Finished messages were exchanged (TLS 1.3 without keys: both sides sent their encrypted final flights)."),
    _c("failure", _STR, "Why the handshake did not complete: `alert`, `reset`, `close`, `no_response`, `timeout`, `truncated`, `gap`, `not_tls`, `no_client_hello`, `malformed: ...`; empty when complete."),
    _c("failure_frame", _INT, "Frame number where the failure showed."),
    _c("alert", _STR, "First fatal alert (else first alert) before completion, RFC name; `encrypted_alert` when it was encrypted."),
    _c("alert_sender", _STR, "`client` or `server`."),
    _c("alert_level", _STR, "`warning` or `fatal` (empty for encrypted alerts)."),
    _c("handshake_ms", _FLOAT, "Milliseconds from the ClientHello to the last handshake message."),
    _c("round_trips", _INT, "Round trips the completed handshake took (flights // 2)."),
    _c("client_hello_frame", _INT, "Frame in which the ClientHello completed."),
    _c("server_hello_frame", _INT, "Frame in which the ServerHello completed."),
    _c("close_reason", _STR, "How the TCP flow ended: `fin`, `rst`, `idle`, `end` (capture over), `reuse` (port reused)."),
    _c("bytes_client", _INT, "TCP payload bytes sent by the client (as on the wire, retransmissions included)."),
    _c("bytes_server", _INT, "TCP payload bytes sent by the server."),
    _c("tcp_gaps", _INT, "Holes in the TCP streams (bytes never captured)."),
    _c("heartbeat_records", _INT, "Heartbeat records seen."),
    _c("early_data_records", _INT, "Client records sent as 0-RTT early data."),
    _c("errors", _LIST, "What could not be read, with frame numbers."),
]

COLUMN_NAMES = [c.name for c in COLUMNS]
SCHEMA = pa.schema([pa.field(c.name, c.type) for c in COLUMNS])
LIST_COLUMNS = [c.name for c in COLUMNS if c.type == _LIST]
TIME_COLUMNS = [c.name for c in COLUMNS if c.type == _TS]


def summary_row(s: ConnectionSummary) -> dict[str, Any]:
    return {c.name: c.get(s) for c in COLUMNS}


class TableBuilder:
    """Collects rows into compact Arrow record batches as summaries arrive.

    Memory grows by the Arrow size of a row (about a kilobyte), not by the
    summary objects with their ladders, which are dropped as soon as they are added.
    """

    def __init__(self, batch_rows: int = 4096) -> None:
        self._batch_rows = batch_rows
        self._cols: dict[str, list[Any]] = {c.name: [] for c in COLUMNS}
        self._getters = [(self._cols[c.name].append, c.get) for c in COLUMNS]
        self._pending = 0
        self._batches: list[pa.RecordBatch] = []
        self.rows = 0

    def add(self, s: ConnectionSummary) -> None:
        for append, get in self._getters:
            append(get(s))
        self._pending += 1
        self.rows += 1
        if self._pending >= self._batch_rows:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._batches.append(pa.RecordBatch.from_pydict(self._cols, schema=SCHEMA))
            for v in self._cols.values():
                v.clear()
            self._pending = 0

    def table(self) -> pa.Table:
        """All rows so far, sorted by capture and stream."""
        self._flush()
        t = pa.Table.from_batches(self._batches, schema=SCHEMA)
        if t.num_rows:
            t = t.sort_by([("capture", "ascending"), ("stream", "ascending")])
        return t


def to_arrow(summaries: Iterable[ConnectionSummary]) -> pa.Table:
    b = TableBuilder()
    for s in summaries:
        b.add(s)
    return b.table()


def arrow_to_dataframe(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper=_types_mapper)


def to_dataframe(summaries: Iterable[ConnectionSummary]) -> pd.DataFrame:
    """One row per connection, sorted by capture and stream, with the `COLUMNS` schema."""
    return arrow_to_dataframe(to_arrow(summaries))


def _types_mapper(t: pa.DataType) -> Any:
    if t == _STR:
        return pd.StringDtype()
    if t == _INT:
        return pd.Int64Dtype()
    if t == _BOOL:
        return pd.BooleanDtype()
    return None
