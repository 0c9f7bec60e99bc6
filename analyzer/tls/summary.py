"""`ConnectionSummary`: everything the analyzer learned about one connection.

Owns the per-connection result type that the TLS state machine fills in and the
report stage turns into one table row. Identity fields (capture, stream,
addresses) are filled by the pipeline, which knows the TCP flow; the TLS fields
by `analyzer.tls.connection.TLSConnection`. Values are names as the RFCs and
IANA write them (versions as 'TLS 1.2', suites as 'TLS_AES_128_GCM_SHA256').
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .certs import CertInfo


@dataclass(slots=True)
class HandshakeEvent:
    """One step of the ladder: a handshake message, CCS, alert, or TCP close seen on the wire."""

    direction: int          # 0 client -> server, 1 server -> client
    kind: str               # 'client_hello', 'change_cipher_spec', 'encrypted_handshake', 'alert', 'fin', 'rst', 'gap' ...
    frame: int
    ts: float
    length: int = 0
    detail: str = ""


@dataclass(slots=True)
class ConnectionSummary:
    # identity (filled by the pipeline)
    capture: str = ""
    stream: int = -1
    transport: str = "tcp"
    client_ip: str = ""
    client_port: int = 0
    server_ip: str = ""
    server_port: int = 0
    first_frame: int = 0
    last_frame: int = 0
    start_time: float = 0.0
    end_time: float = 0.0
    bytes_client: int = 0
    bytes_server: int = 0
    roles_swapped: bool = False
    # is it TLS at all
    is_tls: bool = False
    # plaintext preamble before TLS (analyzer.upgrade; filled by the pipeline)
    upgraded_from: str | None = None       # protocol the connection started in, when TLS followed
    plaintext_protocol: str | None = None  # protocol recognised in clear, upgraded or not
    upgrade_frame: int | None = None       # frame of the server's go-ahead
    proxy_target: str | None = None        # host:port asked of a SOCKS / HTTP CONNECT proxy
    # offer (first ClientHello)
    record_version: str | None = None
    client_legacy_version: str | None = None
    client_versions: list[str] = field(default_factory=list)
    cipher_suites_offered: list[str] = field(default_factory=list)
    cipher_suite_codes_offered: list[int] = field(default_factory=list)
    extensions_offered: list[str] = field(default_factory=list)
    extension_codes_offered: list[int] = field(default_factory=list)
    sni: str | None = None
    alpn_offered: list[str] = field(default_factory=list)
    groups_offered: list[str] = field(default_factory=list)
    key_share_groups: list[str] = field(default_factory=list)
    signature_algorithms: list[str] = field(default_factory=list)
    ec_point_formats: list[int] = field(default_factory=list)
    compression_offered: list[int] = field(default_factory=list)
    session_id: str | None = None
    ticket_offered: bool = False
    psk_offered: bool = False
    psk_modes: list[str] = field(default_factory=list)
    early_data_offered: bool = False
    ech_offered: bool = False
    sslv2_client_hello: bool = False
    client_hellos: int = 0
    # choice (ServerHello)
    version: str | None = None
    version_code: int | None = None
    cipher_suite: str | None = None
    cipher_suite_code: int | None = None
    group: str | None = None
    alpn: str | None = None
    server_session_id: str | None = None
    server_extensions: list[str] = field(default_factory=list)
    compression: int | None = None
    extended_master_secret: bool = False
    encrypt_then_mac: bool = False
    secure_renegotiation: bool = False
    hrr: bool = False
    hrr_group: str | None = None
    ske_signature_algorithm: str | None = None
    server_signature_algorithm: str | None = None  # the server's handshake signature: TLS 1.2 ServerKeyExchange, TLS 1.3 CertificateVerify
    psk_identity: str | None = None         # ClientKeyExchange psk_identity of a TLS <= 1.2 PSK key exchange
    ocsp_stapled: bool = False
    # fingerprints (analyzer.tls.fingerprints; JA4X per certificate of the chain)
    ja3: str | None = None
    ja3_full: str | None = None
    ja3s: str | None = None
    ja3s_full: str | None = None
    ja4: str | None = None
    ja4_r: str | None = None
    ja4_o: str | None = None
    ja4_ro: str | None = None
    ja4s: str | None = None
    ja4s_r: str | None = None
    ja4x: list[str] = field(default_factory=list)
    # QUIC (transport == 'quic'): packets recognised besides Initial/Handshake
    quic_version: str | None = None
    quic_retry: int = 0
    quic_version_negotiation: int = 0
    quic_0rtt: int = 0
    # DTLS (transport == 'dtls')
    hello_verify_request: bool = False
    srtp_profiles_offered: list[str] = field(default_factory=list)
    srtp_profile: str | None = None
    dtls_connection_id: bool = False
    dtls_packets: str | None = None      # what was counted, not parsed: "stun=N duplicate_records=N ..."
    # certificates
    cert_chain: list[CertInfo] = field(default_factory=list)
    cert_count: int = 0
    client_cert_chain: list[CertInfo] = field(default_factory=list)
    cert_compression: str | None = None      # RFC 8879 algorithm of the server's CompressedCertificate
    cert_compression_offered: list[str] = field(default_factory=list)  # the client's compress_certificate list
    # resumption
    resumed: bool = False
    resumption: str = "none"       # none | session_id | ticket | psk
    ticket_issued: bool = False
    early_data_records: int = 0
    # resumption lineage facts (analyzer.tls.resumption; the links themselves are analyzer.lineage's)
    client_hello_time: float | None = None      # capture time of the frame that completed the ClientHello
    resumption_attempt: str | None = None       # none | accepted | refused; None: no ClientHello, or no answer seen
    ticket_offered_sha256: str | None = None    # SHA-256 (hex) of the non-empty session_ticket extension
    psk_offered_sha256: str | None = None       # SHA-256 of the TLS 1.3 PSK identity (selected, else the first)
    tickets_issued_sha256: list[str] = field(default_factory=list)  # SHA-256 of each NewSessionTicket's ticket
    ticket_lifetime_s: int | None = None        # shortest lifetime the NewSessionTickets announced (seconds)
    # client authentication: none | requested | certificate | empty
    client_auth: str = "none"
    renegotiation: bool = False
    # outcome
    handshake_complete: bool = False
    failure: str | None = None
    failure_frame: int | None = None
    alert: str | None = None
    alert_code: int | None = None
    alert_sender: str | None = None
    alert_level: str | None = None
    alert_frame: int | None = None
    handshake_ms: float | None = None
    round_trips: int | None = None
    client_hello_frame: int | None = None
    server_hello_frame: int | None = None
    heartbeat_records: int = 0
    encrypted_records_client: int = 0
    encrypted_records_server: int = 0
    # decryption (analyzer.decrypt; None when no key material was given)
    decryption: str | None = None
    finished_client: bool | None = None     # client Finished verify_data checked: True ok, False wrong
    finished_server: bool | None = None
    app_bytes_client: int | None = None     # decrypted application data bytes, client -> server
    app_bytes_server: int | None = None
    close_reason: str = ""
    tcp_gaps: int = 0
    events: list[HandshakeEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def cert(self) -> CertInfo | None:
        """The leaf (server) certificate, if one was seen."""
        return self.cert_chain[0] if self.cert_chain else None
