"""IANA registry of every TLS/SSL number the analyzer uses.

This module owns the numeric code points of the TLS protocol family and their
names: record content types, handshake message types, extension types, alert
levels and descriptions, protocol versions (including TLS 1.3 drafts, vendor
experiments and GREASE), cipher suites (with a parser that derives key
exchange, authentication, cipher, MAC and PRF hash from the suite name),
supported groups (and which have a post-quantum part), signature schemes (including the TLS 1.2 hash/signature
pairs), PSK key exchange modes, compression methods, EC point formats,
certificate compression algorithms, certificate status types, server name
types, heartbeat and KeyUpdate values, and the SSLv2 message types and cipher
kinds.

Names are the ones the IANA "Transport Layer Security (TLS) Parameters" and
"TLS ExtensionType Values" registries (or the defining RFC / draft) use, spelled
exactly as there.  A few well-known values that were never registered but occur
in real traffic (TLS 1.3 draft code points, old ChaCha20 suites, Chrome's ALPS
and Channel ID, NPN, ...) are included and marked as such in comments.

Constants are plain ``int`` class attributes (not ``enum``) so the parsers can
compare and hash them at no cost.  Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "ContentType", "HandshakeType", "ExtensionType", "AlertLevel", "AlertDescription",
    "ProtocolVersion", "NamedGroup", "SignatureScheme", "HashAlgorithm",
    "SignatureAlgorithm", "PskKeyExchangeMode", "CompressionMethod", "ECPointFormat",
    "ECCurveType", "CertificateCompressionAlgorithm", "HeartbeatMessageType",
    "HeartbeatMode", "KeyUpdateRequest", "CertificateStatusType", "NameType",
    "CertificateType", "MaxFragmentLength", "SSLv2MessageType", "CipherSuite",
    "CONTENT_TYPE_NAMES", "HANDSHAKE_TYPE_NAMES", "EXTENSION_NAMES", "ALERT_LEVEL_NAMES",
    "ALERT_DESCRIPTION_NAMES", "PROTOCOL_VERSION_NAMES", "NAMED_GROUP_NAMES",
    "SIGNATURE_SCHEME_NAMES", "HASH_ALGORITHM_NAMES", "SIGNATURE_ALGORITHM_NAMES",
    "PSK_MODE_NAMES", "COMPRESSION_NAMES", "EC_POINT_FORMAT_NAMES", "EC_CURVE_TYPE_NAMES",
    "CERT_COMPRESSION_NAMES", "HEARTBEAT_MESSAGE_TYPE_NAMES", "HEARTBEAT_MODE_NAMES",
    "KEY_UPDATE_REQUEST_NAMES", "CERT_STATUS_TYPE_NAMES", "NAME_TYPE_NAMES",
    "CERTIFICATE_TYPE_NAMES", "MAX_FRAGMENT_LENGTH_NAMES", "SSL2_MESSAGE_TYPE_NAMES",
    "SSL2_CIPHER_KIND_NAMES", "CIPHER_SUITE_NAMES", "IANA_CIPHER_SUITES",
    "NON_IANA_CIPHER_SUITES",
    "GREASE_VALUES", "SCSV_CIPHER_SUITES",
    "CipherSuiteInfo", "cipher_suite_info", "parse_cipher_suite_name",
    "PostQuantumGroup", "POST_QUANTUM_GROUPS", "post_quantum_group",
    "is_grease", "grease_label", "name_of", "version_name", "cipher_suite_name",
    "ssl2_cipher_spec_name", "extension_name", "group_name", "sigalg_name",
    "alert_name", "alert_level_name", "handshake_type_name", "content_type_name",
    "is_tls13_draft", "is_dtls", "is_google_experiment", "uses_old_key_share",
    "GOOGLE_EXPERIMENT_VERSIONS", "LAST_DRAFT_WITH_OLD_KEY_SHARE",
]


# ---------------------------------------------------------------------------
# GREASE (RFC 8701)
# ---------------------------------------------------------------------------

#: The sixteen 16-bit GREASE values 0x0a0a, 0x1a1a, ... 0xfafa (RFC 8701).  They
#: are reserved in the cipher suite, extension, supported group, signature
#: algorithm, version and ALPN registries.
GREASE_VALUES: Final[frozenset[int]] = frozenset(((n << 4) | 0x0A) * 0x0101 for n in range(16))


def is_grease(v: int) -> bool:
    """True if *v* is one of the 16-bit GREASE values (both bytes equal, low nibble 0xa)."""
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def grease_label(v: int) -> str:
    """The display label of a GREASE value, e.g. ``'GREASE (0x0a0a)'``."""
    return f"GREASE (0x{v:04x})"


# ---------------------------------------------------------------------------
# Record layer
# ---------------------------------------------------------------------------

class ContentType:
    """TLS ContentType (record layer), IANA "TLS ContentType"."""

    CHANGE_CIPHER_SPEC: Final = 20
    ALERT: Final = 21
    HANDSHAKE: Final = 22
    APPLICATION_DATA: Final = 23
    HEARTBEAT: Final = 24    # RFC 6520
    TLS12_CID: Final = 25    # RFC 9146
    ACK: Final = 26          # RFC 9147 (DTLS 1.3)


CONTENT_TYPE_NAMES: Final[dict[int, str]] = {
    20: "change_cipher_spec",
    21: "alert",
    22: "handshake",
    23: "application_data",
    24: "heartbeat",
    25: "tls12_cid",
    26: "ack",
}


# ---------------------------------------------------------------------------
# Handshake
# ---------------------------------------------------------------------------

class HandshakeType:
    """TLS HandshakeType, IANA "TLS HandshakeType"."""

    HELLO_REQUEST: Final = 0
    CLIENT_HELLO: Final = 1
    SERVER_HELLO: Final = 2
    HELLO_VERIFY_REQUEST: Final = 3      # DTLS
    NEW_SESSION_TICKET: Final = 4
    END_OF_EARLY_DATA: Final = 5
    HELLO_RETRY_REQUEST: Final = 6       # TLS 1.3 drafts only; RFC 8446 uses a ServerHello
    ENCRYPTED_EXTENSIONS: Final = 8
    REQUEST_CONNECTION_ID: Final = 9     # DTLS 1.3
    NEW_CONNECTION_ID: Final = 10        # DTLS 1.3
    CERTIFICATE: Final = 11
    SERVER_KEY_EXCHANGE: Final = 12
    CERTIFICATE_REQUEST: Final = 13
    SERVER_HELLO_DONE: Final = 14
    CERTIFICATE_VERIFY: Final = 15
    CLIENT_KEY_EXCHANGE: Final = 16
    CLIENT_CERTIFICATE_REQUEST: Final = 17   # RFC 9261 exported authenticators
    FINISHED: Final = 20
    CERTIFICATE_URL: Final = 21
    CERTIFICATE_STATUS: Final = 22
    SUPPLEMENTAL_DATA: Final = 23
    KEY_UPDATE: Final = 24
    COMPRESSED_CERTIFICATE: Final = 25   # RFC 8879
    EKT_KEY: Final = 26                  # RFC 8870
    NEXT_PROTOCOL: Final = 67            # not IANA: NPN (draft-agl-tls-nextprotoneg)
    MESSAGE_HASH: Final = 254


HANDSHAKE_TYPE_NAMES: Final[dict[int, str]] = {
    0: "hello_request",
    1: "client_hello",
    2: "server_hello",
    3: "hello_verify_request",
    4: "new_session_ticket",
    5: "end_of_early_data",
    6: "hello_retry_request",
    8: "encrypted_extensions",
    9: "request_connection_id",
    10: "new_connection_id",
    11: "certificate",
    12: "server_key_exchange",
    13: "certificate_request",
    14: "server_hello_done",
    15: "certificate_verify",
    16: "client_key_exchange",
    17: "client_certificate_request",
    20: "finished",
    21: "certificate_url",
    22: "certificate_status",
    23: "supplemental_data",
    24: "key_update",
    25: "compressed_certificate",
    26: "ekt_key",
    67: "next_protocol",   # not IANA (NPN)
    254: "message_hash",
}


class ExtensionType:
    """TLS ExtensionType values (IANA), plus well-known unregistered ones."""

    SERVER_NAME: Final = 0
    MAX_FRAGMENT_LENGTH: Final = 1
    CLIENT_CERTIFICATE_URL: Final = 2
    TRUSTED_CA_KEYS: Final = 3
    TRUNCATED_HMAC: Final = 4
    STATUS_REQUEST: Final = 5
    USER_MAPPING: Final = 6
    CLIENT_AUTHZ: Final = 7
    SERVER_AUTHZ: Final = 8
    CERT_TYPE: Final = 9
    SUPPORTED_GROUPS: Final = 10          # formerly "elliptic_curves"
    EC_POINT_FORMATS: Final = 11
    SRP: Final = 12
    SIGNATURE_ALGORITHMS: Final = 13
    USE_SRTP: Final = 14
    HEARTBEAT: Final = 15
    APPLICATION_LAYER_PROTOCOL_NEGOTIATION: Final = 16
    STATUS_REQUEST_V2: Final = 17
    SIGNED_CERTIFICATE_TIMESTAMP: Final = 18
    CLIENT_CERTIFICATE_TYPE: Final = 19
    SERVER_CERTIFICATE_TYPE: Final = 20
    PADDING: Final = 21
    ENCRYPT_THEN_MAC: Final = 22
    EXTENDED_MASTER_SECRET: Final = 23
    TOKEN_BINDING: Final = 24
    CACHED_INFO: Final = 25
    TLS_LTS: Final = 26
    COMPRESS_CERTIFICATE: Final = 27
    RECORD_SIZE_LIMIT: Final = 28
    PWD_PROTECT: Final = 29
    PWD_CLEAR: Final = 30
    PASSWORD_SALT: Final = 31
    TICKET_PINNING: Final = 32
    TLS_CERT_WITH_EXTERN_PSK: Final = 33
    DELEGATED_CREDENTIAL: Final = 34
    SESSION_TICKET: Final = 35
    TLMSP: Final = 36
    TLMSP_PROXYING: Final = 37
    TLMSP_DELEGATE: Final = 38
    SUPPORTED_EKT_CIPHERS: Final = 39
    KEY_SHARE_OLD: Final = 40             # IANA "Reserved": key_share in TLS 1.3 drafts <= 22
    PRE_SHARED_KEY: Final = 41
    EARLY_DATA: Final = 42
    SUPPORTED_VERSIONS: Final = 43
    COOKIE: Final = 44
    PSK_KEY_EXCHANGE_MODES: Final = 45
    TICKET_EARLY_DATA_INFO: Final = 46    # IANA "Reserved": TLS 1.3 drafts
    CERTIFICATE_AUTHORITIES: Final = 47
    OID_FILTERS: Final = 48
    POST_HANDSHAKE_AUTH: Final = 49
    SIGNATURE_ALGORITHMS_CERT: Final = 50
    KEY_SHARE: Final = 51
    TRANSPARENCY_INFO: Final = 52
    CONNECTION_ID_DEPRECATED: Final = 53
    CONNECTION_ID: Final = 54
    EXTERNAL_ID_HASH: Final = 55
    EXTERNAL_SESSION_ID: Final = 56
    QUIC_TRANSPORT_PARAMETERS: Final = 57
    TICKET_REQUEST: Final = 58
    DNSSEC_CHAIN: Final = 59
    SEQUENCE_NUMBER_ENCRYPTION_ALGORITHMS: Final = 60
    RRC: Final = 61
    TLS_FLAGS: Final = 62
    NEXT_PROTOCOL_NEGOTIATION: Final = 13172        # not IANA: NPN (0x3374)
    APPLICATION_SETTINGS: Final = 17513             # not IANA: ALPS, Chrome (0x4469)
    APPLICATION_SETTINGS_NEW: Final = 17613         # not IANA: ALPS new code point (0x44cd)
    CHANNEL_ID_OLD: Final = 30031                   # not IANA: Channel ID (0x754f)
    CHANNEL_ID: Final = 30032                       # not IANA: Channel ID (0x7550)
    ECH_OUTER_EXTENSIONS: Final = 0xFD00
    ENCRYPTED_CLIENT_HELLO: Final = 0xFE0D
    RENEGOTIATION_INFO: Final = 0xFF01
    QUIC_TRANSPORT_PARAMETERS_DRAFT: Final = 0xFFA5  # not IANA: QUIC drafts before RFC 9001
    ENCRYPTED_SERVER_NAME: Final = 0xFFCE           # not IANA: ESNI drafts


EXTENSION_NAMES: Final[dict[int, str]] = {
    0: "server_name",
    1: "max_fragment_length",
    2: "client_certificate_url",
    3: "trusted_ca_keys",
    4: "truncated_hmac",
    5: "status_request",
    6: "user_mapping",
    7: "client_authz",
    8: "server_authz",
    9: "cert_type",
    10: "supported_groups",
    11: "ec_point_formats",
    12: "srp",
    13: "signature_algorithms",
    14: "use_srtp",
    15: "heartbeat",
    16: "application_layer_protocol_negotiation",
    17: "status_request_v2",
    18: "signed_certificate_timestamp",
    19: "client_certificate_type",
    20: "server_certificate_type",
    21: "padding",
    22: "encrypt_then_mac",
    23: "extended_master_secret",
    24: "token_binding",
    25: "cached_info",
    26: "tls_lts",
    27: "compress_certificate",
    28: "record_size_limit",
    29: "pwd_protect",
    30: "pwd_clear",
    31: "password_salt",
    32: "ticket_pinning",
    33: "tls_cert_with_extern_psk",
    34: "delegated_credential",
    35: "session_ticket",
    36: "TLMSP",
    37: "TLMSP_proxying",
    38: "TLMSP_delegate",
    39: "supported_ekt_ciphers",
    40: "Reserved (key_share)",              # IANA "Reserved"; key_share in TLS 1.3 drafts <= 22
    41: "pre_shared_key",
    42: "early_data",
    43: "supported_versions",
    44: "cookie",
    45: "psk_key_exchange_modes",
    46: "Reserved (ticket_early_data_info)", # IANA "Reserved"; TLS 1.3 drafts
    47: "certificate_authorities",
    48: "oid_filters",
    49: "post_handshake_auth",
    50: "signature_algorithms_cert",
    51: "key_share",
    52: "transparency_info",
    53: "connection_id (deprecated)",
    54: "connection_id",
    55: "external_id_hash",
    56: "external_session_id",
    57: "quic_transport_parameters",
    58: "ticket_request",
    59: "dnssec_chain",
    60: "sequence_number_encryption_algorithms",
    61: "rrc",
    62: "tls_flags",
    13172: "next_protocol_negotiation",     # not IANA
    17513: "application_settings",          # not IANA (ALPS, old code point)
    17613: "application_settings",          # not IANA (ALPS, new code point)
    30031: "channel_id_old",                # not IANA
    30032: "channel_id",                    # not IANA
    0xFD00: "ech_outer_extensions",
    0xFE0D: "encrypted_client_hello",
    0xFF01: "renegotiation_info",
    0xFFA5: "quic_transport_parameters (drafts version)",   # not IANA
    0xFFCE: "encrypted_server_name",        # not IANA (ESNI drafts)
}


# ---------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------

class AlertLevel:
    """TLS AlertLevel."""

    WARNING: Final = 1
    FATAL: Final = 2


ALERT_LEVEL_NAMES: Final[dict[int, str]] = {1: "warning", 2: "fatal"}


class AlertDescription:
    """TLS AlertDescription, IANA "TLS Alerts"."""

    CLOSE_NOTIFY: Final = 0
    END_OF_EARLY_DATA: Final = 1          # not IANA: TLS 1.3 drafts
    UNEXPECTED_MESSAGE: Final = 10
    BAD_RECORD_MAC: Final = 20
    DECRYPTION_FAILED: Final = 21
    RECORD_OVERFLOW: Final = 22
    DECOMPRESSION_FAILURE: Final = 30
    HANDSHAKE_FAILURE: Final = 40
    NO_CERTIFICATE: Final = 41
    BAD_CERTIFICATE: Final = 42
    UNSUPPORTED_CERTIFICATE: Final = 43
    CERTIFICATE_REVOKED: Final = 44
    CERTIFICATE_EXPIRED: Final = 45
    CERTIFICATE_UNKNOWN: Final = 46
    ILLEGAL_PARAMETER: Final = 47
    UNKNOWN_CA: Final = 48
    ACCESS_DENIED: Final = 49
    DECODE_ERROR: Final = 50
    DECRYPT_ERROR: Final = 51
    TOO_MANY_CIDS_REQUESTED: Final = 52
    EXPORT_RESTRICTION: Final = 60
    PROTOCOL_VERSION: Final = 70
    INSUFFICIENT_SECURITY: Final = 71
    INTERNAL_ERROR: Final = 80
    INAPPROPRIATE_FALLBACK: Final = 86
    USER_CANCELED: Final = 90
    NO_RENEGOTIATION: Final = 100
    MISSING_EXTENSION: Final = 109
    UNSUPPORTED_EXTENSION: Final = 110
    CERTIFICATE_UNOBTAINABLE: Final = 111
    UNRECOGNIZED_NAME: Final = 112
    BAD_CERTIFICATE_STATUS_RESPONSE: Final = 113
    BAD_CERTIFICATE_HASH_VALUE: Final = 114
    UNKNOWN_PSK_IDENTITY: Final = 115
    CERTIFICATE_REQUIRED: Final = 116
    GENERAL_ERROR: Final = 117
    NO_APPLICATION_PROTOCOL: Final = 120
    ECH_REQUIRED: Final = 121


ALERT_DESCRIPTION_NAMES: Final[dict[int, str]] = {
    0: "close_notify",
    1: "end_of_early_data",          # not IANA (TLS 1.3 drafts)
    10: "unexpected_message",
    20: "bad_record_mac",
    21: "decryption_failed",
    22: "record_overflow",
    30: "decompression_failure",
    40: "handshake_failure",
    41: "no_certificate",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    52: "too_many_cids_requested",
    60: "export_restriction",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    111: "certificate_unobtainable",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    114: "bad_certificate_hash_value",
    115: "unknown_psk_identity",
    116: "certificate_required",
    117: "general_error",
    120: "no_application_protocol",
    121: "ech_required",
}


# ---------------------------------------------------------------------------
# Protocol versions
# ---------------------------------------------------------------------------

class ProtocolVersion:
    """Wire values of ProtocolVersion (record, hello and supported_versions)."""

    SSL2: Final = 0x0002
    SSL3: Final = 0x0300
    TLS10: Final = 0x0301
    TLS11: Final = 0x0302
    TLS12: Final = 0x0303
    TLS13: Final = 0x0304
    GMTLS: Final = 0x0101               # Chinese GM/T 0024 "TLCP"
    DTLS10_OPENSSL_PRE_0_9_8F: Final = 0x0100
    DTLS10: Final = 0xFEFF
    DTLS12: Final = 0xFEFD
    DTLS13: Final = 0xFEFC
    TLS13_DRAFT_BASE: Final = 0x7F00    # 0x7f00 | n = TLS 1.3 draft n
    TLS13_FB_DRAFT_BASE: Final = 0xFB00  # Facebook fizz: 0xfb00 | n = draft n
    TLS13_GOOGLE_EXPERIMENT_BASE: Final = 0x7E00  # BoringSSL experiments 0x7e01..


def _build_version_names() -> dict[int, str]:
    names: dict[int, str] = {
        0x0002: "SSL 2.0",
        0x0300: "SSL 3.0",
        0x0301: "TLS 1.0",
        0x0302: "TLS 1.1",
        0x0303: "TLS 1.2",
        0x0304: "TLS 1.3",
        0x0101: "GMTLS",
        0x0100: "DTLS 1.0 (OpenSSL pre 0.9.8f)",
        0xFEFF: "DTLS 1.0",
        0xFEFD: "DTLS 1.2",
        0xFEFC: "DTLS 1.3",
    }
    for n in range(1, 29):            # draft-ietf-tls-tls13-01 .. -28
        names[0x7F00 | n] = f"TLS 1.3 (draft {n})"
    for n in (23, 26):                # fizz: tls_1_3_23_fb, tls_1_3_26_fb
        names[0xFB00 | n] = f"TLS 1.3 (Facebook draft {n})"
    for n in (1, 2, 3):               # BoringSSL TLS 1.3 "experiment" variants
        names[0x7E00 | n] = f"TLS 1.3 (Google experiment {n})"
    return names


PROTOCOL_VERSION_NAMES: Final[dict[int, str]] = _build_version_names()

# DTLS versions count down (RFC 6347 4.1: 1's complement of the TLS version); each follows
# the record and PRF rules of one TLS version (DTLS 1.0 is TLS 1.1's, RFC 4347 1).
DTLS_AS_TLS: Final[dict[int, int]] = {
    ProtocolVersion.DTLS10: ProtocolVersion.TLS11,
    ProtocolVersion.DTLS12: ProtocolVersion.TLS12,
    ProtocolVersion.DTLS13: ProtocolVersion.TLS13,
}


def version_order(v: int) -> int:
    """A key that sorts versions oldest first, DTLS ones as their TLS equivalents (so
    `max(versions, key=version_order)` is the newest, DTLS 1.3 above DTLS 1.2)."""
    return DTLS_AS_TLS.get(v, v)


def version_name(v: int) -> str:
    """Display name of a protocol version wire value, e.g. ``'TLS 1.2'``."""
    name = PROTOCOL_VERSION_NAMES.get(v)
    if name is not None:
        return name
    if 0x7F00 < v <= 0x7FFF:
        return f"TLS 1.3 (draft {v & 0xFF})"
    if is_grease(v):
        return grease_label(v)
    return f"0x{v:04x}"


def is_tls13_draft(v: int) -> bool:
    """True for pre-RFC TLS 1.3 version code points (IETF drafts, fizz, BoringSSL)."""
    return 0x7F00 < v <= 0x7FFF or v in (0xFB17, 0xFB1A) or is_google_experiment(v)


#: BoringSSL's TLS 1.3 "experiment" versions (TLS1_3_EXPERIMENT_VERSION .. EXPERIMENT3),
#: sent by Chrome 62-64: TLS 1.3 of the draft 18-22 era under another number.
GOOGLE_EXPERIMENT_VERSIONS: Final = range(0x7E01, 0x7E04)
#: The last TLS 1.3 draft that carried key_share as extension 40 (draft 23 moved it to 51).
LAST_DRAFT_WITH_OLD_KEY_SHARE: Final = 22


def is_google_experiment(v: int) -> bool:
    """True for Google's TLS 1.3 experiment versions 0x7e01-0x7e03."""
    return v in GOOGLE_EXPERIMENT_VERSIONS


def uses_old_key_share(v: int) -> bool:
    """True for the TLS 1.3 versions whose key_share is extension 40 (`KEY_SHARE_OLD`): drafts up to
    22 and Google's experiments, which predate the renumbering of draft 23."""
    draft = v - ProtocolVersion.TLS13_DRAFT_BASE
    return 0 < draft <= LAST_DRAFT_WITH_OLD_KEY_SHARE or is_google_experiment(v)


def is_dtls(v: int) -> bool:
    """True for DTLS version wire values."""
    return v in (0xFEFF, 0xFEFD, 0xFEFC, 0x0100)


# ---------------------------------------------------------------------------
# Supported groups (formerly "EC named curves")
# ---------------------------------------------------------------------------

class NamedGroup:
    """IANA "TLS Supported Groups"."""

    SECT163K1: Final = 1
    SECT163R1: Final = 2
    SECT163R2: Final = 3
    SECT193R1: Final = 4
    SECT193R2: Final = 5
    SECT233K1: Final = 6
    SECT233R1: Final = 7
    SECT239K1: Final = 8
    SECT283K1: Final = 9
    SECT283R1: Final = 10
    SECT409K1: Final = 11
    SECT409R1: Final = 12
    SECT571K1: Final = 13
    SECT571R1: Final = 14
    SECP160K1: Final = 15
    SECP160R1: Final = 16
    SECP160R2: Final = 17
    SECP192K1: Final = 18
    SECP192R1: Final = 19
    SECP224K1: Final = 20
    SECP224R1: Final = 21
    SECP256K1: Final = 22
    SECP256R1: Final = 23
    SECP384R1: Final = 24
    SECP521R1: Final = 25
    BRAINPOOLP256R1: Final = 26
    BRAINPOOLP384R1: Final = 27
    BRAINPOOLP512R1: Final = 28
    X25519: Final = 29
    X448: Final = 30
    BRAINPOOLP256R1TLS13: Final = 31
    BRAINPOOLP384R1TLS13: Final = 32
    BRAINPOOLP512R1TLS13: Final = 33
    GC256A: Final = 34
    GC256B: Final = 35
    GC256C: Final = 36
    GC256D: Final = 37
    GC512A: Final = 38
    GC512B: Final = 39
    GC512C: Final = 40
    CURVESM2: Final = 41
    FFDHE2048: Final = 256
    FFDHE3072: Final = 257
    FFDHE4096: Final = 258
    FFDHE6144: Final = 259
    FFDHE8192: Final = 260
    MLKEM512: Final = 0x0200
    MLKEM768: Final = 0x0201
    MLKEM1024: Final = 0x0202
    SECP256R1MLKEM768: Final = 0x11EB
    X25519MLKEM768: Final = 0x11EC
    SECP384R1MLKEM1024: Final = 0x11ED
    CURVESM2MLKEM768: Final = 0x11EE
    X25519KYBER768DRAFT00: Final = 0x6399
    SECP256R1KYBER768DRAFT00: Final = 0x639A
    # not registered: experimental code points seen in real traffic (see NAMED_GROUP_NAMES)
    CECPQ2: Final = 0x4138
    X25519KYBER512DRAFT00: Final = 0xFE30
    X25519KYBER768DRAFT00OLD: Final = 0xFE31
    P256KYBER768DRAFT00: Final = 0xFE32
    KYBER512: Final = 0x023A
    KYBER768: Final = 0x023C
    KYBER1024: Final = 0x023D
    KYBER90S512: Final = 0x023E
    KYBER90S768: Final = 0x023F
    KYBER90S1024: Final = 0x0240
    P256_KYBER512: Final = 0x2F3A
    P384_KYBER768: Final = 0x2F3C
    P521_KYBER1024: Final = 0x2F3D
    P256_KYBER90S512: Final = 0x2F3E
    P384_KYBER90S768: Final = 0x2F3F
    P521_KYBER90S1024: Final = 0x2F40
    ARBITRARY_EXPLICIT_PRIME_CURVES: Final = 0xFF01
    ARBITRARY_EXPLICIT_CHAR2_CURVES: Final = 0xFF02


NAMED_GROUP_NAMES: Final[dict[int, str]] = {
    1: "sect163k1",
    2: "sect163r1",
    3: "sect163r2",
    4: "sect193r1",
    5: "sect193r2",
    6: "sect233k1",
    7: "sect233r1",
    8: "sect239k1",
    9: "sect283k1",
    10: "sect283r1",
    11: "sect409k1",
    12: "sect409r1",
    13: "sect571k1",
    14: "sect571r1",
    15: "secp160k1",
    16: "secp160r1",
    17: "secp160r2",
    18: "secp192k1",
    19: "secp192r1",
    20: "secp224k1",
    21: "secp224r1",
    22: "secp256k1",
    23: "secp256r1",
    24: "secp384r1",
    25: "secp521r1",
    26: "brainpoolP256r1",
    27: "brainpoolP384r1",
    28: "brainpoolP512r1",
    29: "x25519",
    30: "x448",
    31: "brainpoolP256r1tls13",
    32: "brainpoolP384r1tls13",
    33: "brainpoolP512r1tls13",
    34: "GC256A",
    35: "GC256B",
    36: "GC256C",
    37: "GC256D",
    38: "GC512A",
    39: "GC512B",
    40: "GC512C",
    41: "curveSM2",
    256: "ffdhe2048",
    257: "ffdhe3072",
    258: "ffdhe4096",
    259: "ffdhe6144",
    260: "ffdhe8192",
    0x0200: "MLKEM512",
    0x0201: "MLKEM768",
    0x0202: "MLKEM1024",
    0x11EB: "SecP256r1MLKEM768",
    0x11EC: "X25519MLKEM768",
    0x11ED: "SecP384r1MLKEM1024",
    0x11EE: "curveSM2MLKEM768",
    0x6399: "X25519Kyber768Draft00",
    0x639A: "SecP256r1Kyber768Draft00",
    # Not registered, seen in real traffic: Google's CECPQ2 (X25519 + NTRU-HRSS, BoringSSL
    # SSL_CURVE_CECPQ2), the Kyber draft code points of Cloudflare's and BoringSSL's
    # experiments before 0x6399 was assigned, and the Open Quantum Safe OpenSSL code points
    # for Kyber (names as tshark 4.0 prints them).
    0x4138: "CECPQ2",
    0xFE30: "X25519Kyber512Draft00",
    0xFE31: "X25519Kyber768Draft00Old",
    0xFE32: "P256Kyber768Draft00",
    0x023A: "kyber512",
    0x023C: "kyber768",
    0x023D: "kyber1024",
    0x023E: "kyber90s512",
    0x023F: "kyber90s768",
    0x0240: "kyber90s1024",
    0x2F3A: "p256_kyber512",
    0x2F3C: "p384_kyber768",
    0x2F3D: "p521_kyber1024",
    0x2F3E: "p256_kyber90s512",
    0x2F3F: "p384_kyber90s768",
    0x2F40: "p521_kyber90s1024",
    0xFF01: "arbitrary_explicit_prime_curves",
    0xFF02: "arbitrary_explicit_char2_curves",
}


@dataclass(frozen=True, slots=True)
class PostQuantumGroup:
    """A key exchange group with a post-quantum part: `kind` is ``'hybrid'`` (a classical
    (EC)DH share and a KEM, both feeding the key schedule) or ``'kem'`` (a KEM alone);
    `classical` names the classical part (``''`` for a KEM alone), `kem` the post-quantum
    KEM with its parameter set, `nist_level` that KEM's NIST security category (None when
    NIST defines none for it)."""

    code: int
    kind: str
    classical: str
    kem: str
    nist_level: int | None


def _pq(code: int, classical: str, kem: str, level: int | None) -> PostQuantumGroup:
    return PostQuantumGroup(code, "hybrid" if classical else "kem", classical, kem, level)


#: Every group of NAMED_GROUP_NAMES with a post-quantum part. ML-KEM: FIPS 203 and
#: draft-ietf-tls-mlkem / draft-ietf-tls-ecdhe-mlkem; Kyber: draft-tls-westerbaan-xyber768d00
#: and the experiments above (Kyber's round-3 parameter sets have ML-KEM's categories).
POST_QUANTUM_GROUPS: Final[dict[int, PostQuantumGroup]] = {g.code: g for g in (
    _pq(0x0200, "", "ML-KEM-512", 1),
    _pq(0x0201, "", "ML-KEM-768", 3),
    _pq(0x0202, "", "ML-KEM-1024", 5),
    _pq(0x11EB, "secp256r1", "ML-KEM-768", 3),
    _pq(0x11EC, "x25519", "ML-KEM-768", 3),
    _pq(0x11ED, "secp384r1", "ML-KEM-1024", 5),
    _pq(0x11EE, "curveSM2", "ML-KEM-768", 3),
    _pq(0x6399, "x25519", "Kyber-768", 3),
    _pq(0x639A, "secp256r1", "Kyber-768", 3),
    _pq(0x4138, "x25519", "NTRU-HRSS-701", None),
    _pq(0xFE30, "x25519", "Kyber-512", 1),
    _pq(0xFE31, "x25519", "Kyber-768", 3),
    _pq(0xFE32, "secp256r1", "Kyber-768", 3),
    _pq(0x023A, "", "Kyber-512", 1),
    _pq(0x023C, "", "Kyber-768", 3),
    _pq(0x023D, "", "Kyber-1024", 5),
    _pq(0x023E, "", "Kyber-90s-512", 1),
    _pq(0x023F, "", "Kyber-90s-768", 3),
    _pq(0x0240, "", "Kyber-90s-1024", 5),
    _pq(0x2F3A, "secp256r1", "Kyber-512", 1),
    _pq(0x2F3C, "secp384r1", "Kyber-768", 3),
    _pq(0x2F3D, "secp521r1", "Kyber-1024", 5),
    _pq(0x2F3E, "secp256r1", "Kyber-90s-512", 1),
    _pq(0x2F3F, "secp384r1", "Kyber-90s-768", 3),
    _pq(0x2F40, "secp521r1", "Kyber-90s-1024", 5),
)}


def post_quantum_group(code: int) -> PostQuantumGroup | None:
    """What a group's post-quantum part is, or None for a classical group."""
    return POST_QUANTUM_GROUPS.get(code)


class ECPointFormat:
    """IANA "TLS EC Point Formats"."""

    UNCOMPRESSED: Final = 0
    ANSIX962_COMPRESSED_PRIME: Final = 1
    ANSIX962_COMPRESSED_CHAR2: Final = 2


EC_POINT_FORMAT_NAMES: Final[dict[int, str]] = {
    0: "uncompressed",
    1: "ansiX962_compressed_prime",
    2: "ansiX962_compressed_char2",
}


class ECCurveType:
    """IANA "TLS EC Curve Types" (ServerKeyExchange ECParameters.curve_type)."""

    EXPLICIT_PRIME: Final = 1
    EXPLICIT_CHAR2: Final = 2
    NAMED_CURVE: Final = 3


EC_CURVE_TYPE_NAMES: Final[dict[int, str]] = {
    1: "explicit_prime",
    2: "explicit_char2",
    3: "named_curve",
}


# ---------------------------------------------------------------------------
# Signature schemes and the TLS 1.2 hash/signature pairs
# ---------------------------------------------------------------------------

class HashAlgorithm:
    """TLS 1.2 HashAlgorithm (high byte of a SignatureAndHashAlgorithm)."""

    NONE: Final = 0
    MD5: Final = 1
    SHA1: Final = 2
    SHA224: Final = 3
    SHA256: Final = 4
    SHA384: Final = 5
    SHA512: Final = 6
    INTRINSIC: Final = 8


HASH_ALGORITHM_NAMES: Final[dict[int, str]] = {
    0: "none", 1: "md5", 2: "sha1", 3: "sha224", 4: "sha256", 5: "sha384", 6: "sha512",
    8: "Intrinsic",
}


class SignatureAlgorithm:
    """TLS 1.2 SignatureAlgorithm (low byte of a SignatureAndHashAlgorithm)."""

    ANONYMOUS: Final = 0
    RSA: Final = 1
    DSA: Final = 2
    ECDSA: Final = 3
    ED25519: Final = 7
    ED448: Final = 8
    GOSTR34102012_256: Final = 64
    GOSTR34102012_512: Final = 65


SIGNATURE_ALGORITHM_NAMES: Final[dict[int, str]] = {
    0: "anonymous", 1: "rsa", 2: "dsa", 3: "ecdsa", 7: "ed25519", 8: "ed448",
    64: "gostr34102012_256", 65: "gostr34102012_512",
}


class SignatureScheme:
    """IANA "TLS SignatureScheme" plus the legacy TLS 1.2 pairs."""

    MD5_RSA: Final = 0x0101                # legacy pair (md5, rsa)
    RSA_PKCS1_SHA1: Final = 0x0201
    DSA_SHA1: Final = 0x0202               # RFC 8446 dsa_sha1_RESERVED
    ECDSA_SHA1: Final = 0x0203
    SHA224_RSA: Final = 0x0301             # legacy pair (sha224, rsa)
    DSA_SHA224: Final = 0x0302
    SHA224_ECDSA: Final = 0x0303
    RSA_PKCS1_SHA256: Final = 0x0401
    DSA_SHA256: Final = 0x0402             # RFC 8446 dsa_sha256_RESERVED
    ECDSA_SECP256R1_SHA256: Final = 0x0403
    RSA_PKCS1_SHA256_LEGACY: Final = 0x0420
    RSA_PKCS1_SHA384: Final = 0x0501
    DSA_SHA384: Final = 0x0502
    ECDSA_SECP384R1_SHA384: Final = 0x0503
    RSA_PKCS1_SHA384_LEGACY: Final = 0x0520
    RSA_PKCS1_SHA512: Final = 0x0601
    DSA_SHA512: Final = 0x0602
    ECDSA_SECP521R1_SHA512: Final = 0x0603
    RSA_PKCS1_SHA512_LEGACY: Final = 0x0620
    ECCSI_SHA256: Final = 0x0704
    ISO_IBS1: Final = 0x0705
    ISO_IBS2: Final = 0x0706
    ISO_CHINESE_IBS: Final = 0x0707
    SM2SIG_SM3: Final = 0x0708
    GOSTR34102012_256A: Final = 0x0709
    GOSTR34102012_256B: Final = 0x070A
    GOSTR34102012_256C: Final = 0x070B
    GOSTR34102012_256D: Final = 0x070C
    GOSTR34102012_512A: Final = 0x070D
    GOSTR34102012_512B: Final = 0x070E
    GOSTR34102012_512C: Final = 0x070F
    RSA_PSS_RSAE_SHA256: Final = 0x0804
    RSA_PSS_RSAE_SHA384: Final = 0x0805
    RSA_PSS_RSAE_SHA512: Final = 0x0806
    ED25519: Final = 0x0807
    ED448: Final = 0x0808
    RSA_PSS_PSS_SHA256: Final = 0x0809
    RSA_PSS_PSS_SHA384: Final = 0x080A
    RSA_PSS_PSS_SHA512: Final = 0x080B
    ECDSA_BRAINPOOLP256R1TLS13_SHA256: Final = 0x081A
    ECDSA_BRAINPOOLP384R1TLS13_SHA384: Final = 0x081B
    ECDSA_BRAINPOOLP512R1TLS13_SHA512: Final = 0x081C
    MLDSA44: Final = 0x0904
    MLDSA65: Final = 0x0905
    MLDSA87: Final = 0x0906


#: Registered IANA SignatureScheme names.
_IANA_SIGNATURE_SCHEMES: Final[dict[int, str]] = {
    0x0201: "rsa_pkcs1_sha1",
    0x0203: "ecdsa_sha1",
    0x0401: "rsa_pkcs1_sha256",
    0x0403: "ecdsa_secp256r1_sha256",
    0x0420: "rsa_pkcs1_sha256_legacy",
    0x0501: "rsa_pkcs1_sha384",
    0x0503: "ecdsa_secp384r1_sha384",
    0x0520: "rsa_pkcs1_sha384_legacy",
    0x0601: "rsa_pkcs1_sha512",
    0x0603: "ecdsa_secp521r1_sha512",
    0x0620: "rsa_pkcs1_sha512_legacy",
    0x0704: "eccsi_sha256",
    0x0705: "iso_ibs1",
    0x0706: "iso_ibs2",
    0x0707: "iso_chinese_ibs",
    0x0708: "sm2sig_sm3",
    0x0709: "gostr34102012_256a",
    0x070A: "gostr34102012_256b",
    0x070B: "gostr34102012_256c",
    0x070C: "gostr34102012_256d",
    0x070D: "gostr34102012_512a",
    0x070E: "gostr34102012_512b",
    0x070F: "gostr34102012_512c",
    0x0804: "rsa_pss_rsae_sha256",
    0x0805: "rsa_pss_rsae_sha384",
    0x0806: "rsa_pss_rsae_sha512",
    0x0807: "ed25519",
    0x0808: "ed448",
    0x0809: "rsa_pss_pss_sha256",
    0x080A: "rsa_pss_pss_sha384",
    0x080B: "rsa_pss_pss_sha512",
    0x081A: "ecdsa_brainpoolP256r1tls13_sha256",
    0x081B: "ecdsa_brainpoolP384r1tls13_sha384",
    0x081C: "ecdsa_brainpoolP512r1tls13_sha512",
    0x0904: "mldsa44",
    0x0905: "mldsa65",
    0x0906: "mldsa87",
}


def _build_signature_scheme_names() -> dict[int, str]:
    """IANA schemes, then a name for every other TLS 1.2 (hash, signature) pair.

    Pairs with hash none/md5/sha1/sha224/sha256/sha384/sha512 and signature
    anonymous/rsa/dsa/ecdsa that are not registered schemes are named
    ``'<hash>_<sig>'`` (``'sha224_rsa'``, ``'md5_rsa'``), except DSA, which uses
    RFC 8446's ``dsa_<hash>`` spelling (``dsa_sha1_RESERVED`` etc. there).
    """
    names = dict(_IANA_SIGNATURE_SCHEMES)
    hashes = ("none", "md5", "sha1", "sha224", "sha256", "sha384", "sha512")
    sigs = ("anonymous", "rsa", "dsa", "ecdsa")
    for h, hname in enumerate(hashes):
        for s, sname in enumerate(sigs):
            code = (h << 8) | s
            if code in names:
                continue
            names[code] = f"dsa_{hname}" if sname == "dsa" else f"{hname}_{sname}"
    return names


SIGNATURE_SCHEME_NAMES: Final[dict[int, str]] = _build_signature_scheme_names()


# ---------------------------------------------------------------------------
# Smaller registries
# ---------------------------------------------------------------------------

class PskKeyExchangeMode:
    """IANA "TLS PskKeyExchangeMode"."""

    PSK_KE: Final = 0
    PSK_DHE_KE: Final = 1


PSK_MODE_NAMES: Final[dict[int, str]] = {0: "psk_ke", 1: "psk_dhe_ke"}


class CompressionMethod:
    """IANA "TLS Compression Method Identifiers"."""

    NULL: Final = 0
    DEFLATE: Final = 1
    LZS: Final = 64


COMPRESSION_NAMES: Final[dict[int, str]] = {0: "NULL", 1: "DEFLATE", 64: "LZS"}


class CertificateCompressionAlgorithm:
    """IANA "TLS Certificate Compression Algorithm IDs" (RFC 8879)."""

    ZLIB: Final = 1
    BROTLI: Final = 2
    ZSTD: Final = 3


CERT_COMPRESSION_NAMES: Final[dict[int, str]] = {1: "zlib", 2: "brotli", 3: "zstd"}


class HeartbeatMessageType:
    """IANA "Heartbeat Message Types" (RFC 6520)."""

    HEARTBEAT_REQUEST: Final = 1
    HEARTBEAT_RESPONSE: Final = 2


HEARTBEAT_MESSAGE_TYPE_NAMES: Final[dict[int, str]] = {
    1: "heartbeat_request",
    2: "heartbeat_response",
}


class HeartbeatMode:
    """IANA "Heartbeat Modes" (RFC 6520)."""

    PEER_ALLOWED_TO_SEND: Final = 1
    PEER_NOT_ALLOWED_TO_SEND: Final = 2


HEARTBEAT_MODE_NAMES: Final[dict[int, str]] = {
    1: "peer_allowed_to_send",
    2: "peer_not_allowed_to_send",
}


class KeyUpdateRequest:
    """TLS 1.3 KeyUpdateRequest (RFC 8446 section 4.6.3)."""

    UPDATE_NOT_REQUESTED: Final = 0
    UPDATE_REQUESTED: Final = 1


KEY_UPDATE_REQUEST_NAMES: Final[dict[int, str]] = {
    0: "update_not_requested",
    1: "update_requested",
}


class CertificateStatusType:
    """IANA "TLS Certificate Status Types"."""

    OCSP: Final = 1
    OCSP_MULTI: Final = 2


CERT_STATUS_TYPE_NAMES: Final[dict[int, str]] = {1: "ocsp", 2: "ocsp_multi"}


class NameType:
    """server_name NameType (RFC 6066)."""

    HOST_NAME: Final = 0


NAME_TYPE_NAMES: Final[dict[int, str]] = {0: "host_name"}


class CertificateType:
    """IANA "TLS Certificate Types" (RFC 6091, RFC 7250, RFC 8902); RFC syntax names."""

    X509: Final = 0
    OPENPGP: Final = 1
    RAW_PUBLIC_KEY: Final = 2
    IEEE_1609_DOT_2: Final = 3


CERTIFICATE_TYPE_NAMES: Final[dict[int, str]] = {
    0: "X509",
    1: "OpenPGP",
    2: "RawPublicKey",
    3: "1609Dot2",
}


class MaxFragmentLength:
    """max_fragment_length values (RFC 6066)."""

    L512: Final = 1
    L1024: Final = 2
    L2048: Final = 3
    L4096: Final = 4


MAX_FRAGMENT_LENGTH_NAMES: Final[dict[int, str]] = {1: "2^9", 2: "2^10", 3: "2^11", 4: "2^12"}


# ---------------------------------------------------------------------------
# SSL 2.0
# ---------------------------------------------------------------------------

class SSLv2MessageType:
    """SSL 2.0 handshake message types."""

    ERROR: Final = 0
    CLIENT_HELLO: Final = 1
    CLIENT_MASTER_KEY: Final = 2
    CLIENT_FINISHED: Final = 3
    SERVER_HELLO: Final = 4
    SERVER_VERIFY: Final = 5
    SERVER_FINISHED: Final = 6
    REQUEST_CERTIFICATE: Final = 7
    CLIENT_CERTIFICATE: Final = 8


SSL2_MESSAGE_TYPE_NAMES: Final[dict[int, str]] = {
    0: "error",
    1: "client_hello",
    2: "client_master_key",
    3: "client_finished",
    4: "server_hello",
    5: "server_verify",
    6: "server_finished",
    7: "request_certificate",
    8: "client_certificate",
}

#: SSL 2.0 CIPHER-KINDs (3 bytes).  In an SSLv2-format ClientHello a TLS cipher
#: suite appears as ``0x00XXYY``; see :func:`ssl2_cipher_spec_name`.
SSL2_CIPHER_KIND_NAMES: Final[dict[int, str]] = {
    0x010080: "SSL2_RC4_128_WITH_MD5",
    0x020080: "SSL2_RC4_128_EXPORT40_WITH_MD5",
    0x030080: "SSL2_RC2_128_CBC_WITH_MD5",
    0x040080: "SSL2_RC2_128_CBC_EXPORT40_WITH_MD5",
    0x050080: "SSL2_IDEA_128_CBC_WITH_MD5",
    0x060040: "SSL2_DES_64_CBC_WITH_MD5",
    0x0700C0: "SSL2_DES_192_EDE3_CBC_WITH_MD5",
    0x080080: "SSL2_RC4_64_WITH_MD5",
}


# ---------------------------------------------------------------------------
# Cipher suites
# ---------------------------------------------------------------------------

class CipherSuite:
    """A few cipher suite code points the state machine refers to by name.

    The full table is :data:`CIPHER_SUITE_NAMES`.
    """

    TLS_NULL_WITH_NULL_NULL: Final = 0x0000
    TLS_RSA_WITH_AES_128_CBC_SHA: Final = 0x002F
    TLS_RSA_WITH_AES_256_CBC_SHA: Final = 0x0035
    TLS_RSA_WITH_AES_128_GCM_SHA256: Final = 0x009C
    TLS_RSA_WITH_AES_256_GCM_SHA384: Final = 0x009D
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV: Final = 0x00FF
    TLS_AES_128_GCM_SHA256: Final = 0x1301
    TLS_AES_256_GCM_SHA384: Final = 0x1302
    TLS_CHACHA20_POLY1305_SHA256: Final = 0x1303
    TLS_AES_128_CCM_SHA256: Final = 0x1304
    TLS_AES_128_CCM_8_SHA256: Final = 0x1305
    TLS_FALLBACK_SCSV: Final = 0x5600
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: Final = 0xC02B
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: Final = 0xC02C
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: Final = 0xC02F
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: Final = 0xC030
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: Final = 0xCCA8
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: Final = 0xCCA9


#: Signalling cipher suite values: not real suites.
SCSV_CIPHER_SUITES: Final[frozenset[int]] = frozenset({0x00FF, 0x5600})

#: Every cipher suite in the IANA "TLS Cipher Suites" registry.
IANA_CIPHER_SUITES: Final[dict[int, str]] = {
    0x0000: "TLS_NULL_WITH_NULL_NULL",
    0x0001: "TLS_RSA_WITH_NULL_MD5",
    0x0002: "TLS_RSA_WITH_NULL_SHA",
    0x0003: "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
    0x0004: "TLS_RSA_WITH_RC4_128_MD5",
    0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x0006: "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5",
    0x0007: "TLS_RSA_WITH_IDEA_CBC_SHA",
    0x0008: "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x0009: "TLS_RSA_WITH_DES_CBC_SHA",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0x000B: "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA",
    0x000C: "TLS_DH_DSS_WITH_DES_CBC_SHA",
    0x000D: "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA",
    0x000E: "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x000F: "TLS_DH_RSA_WITH_DES_CBC_SHA",
    0x0010: "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0011: "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA",
    0x0012: "TLS_DHE_DSS_WITH_DES_CBC_SHA",
    0x0013: "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA",
    0x0014: "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA",
    0x0015: "TLS_DHE_RSA_WITH_DES_CBC_SHA",
    0x0016: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0x0017: "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5",
    0x0018: "TLS_DH_anon_WITH_RC4_128_MD5",
    0x0019: "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA",
    0x001A: "TLS_DH_anon_WITH_DES_CBC_SHA",
    0x001B: "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA",
    0x001E: "TLS_KRB5_WITH_DES_CBC_SHA",
    0x001F: "TLS_KRB5_WITH_3DES_EDE_CBC_SHA",
    0x0020: "TLS_KRB5_WITH_RC4_128_SHA",
    0x0021: "TLS_KRB5_WITH_IDEA_CBC_SHA",
    0x0022: "TLS_KRB5_WITH_DES_CBC_MD5",
    0x0023: "TLS_KRB5_WITH_3DES_EDE_CBC_MD5",
    0x0024: "TLS_KRB5_WITH_RC4_128_MD5",
    0x0025: "TLS_KRB5_WITH_IDEA_CBC_MD5",
    0x0026: "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA",
    0x0027: "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA",
    0x0028: "TLS_KRB5_EXPORT_WITH_RC4_40_SHA",
    0x0029: "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5",
    0x002A: "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5",
    0x002B: "TLS_KRB5_EXPORT_WITH_RC4_40_MD5",
    0x002C: "TLS_PSK_WITH_NULL_SHA",
    0x002D: "TLS_DHE_PSK_WITH_NULL_SHA",
    0x002E: "TLS_RSA_PSK_WITH_NULL_SHA",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0030: "TLS_DH_DSS_WITH_AES_128_CBC_SHA",
    0x0031: "TLS_DH_RSA_WITH_AES_128_CBC_SHA",
    0x0032: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    0x0034: "TLS_DH_anon_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x0036: "TLS_DH_DSS_WITH_AES_256_CBC_SHA",
    0x0037: "TLS_DH_RSA_WITH_AES_256_CBC_SHA",
    0x0038: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
    0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    0x003A: "TLS_DH_anon_WITH_AES_256_CBC_SHA",
    0x003B: "TLS_RSA_WITH_NULL_SHA256",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x003E: "TLS_DH_DSS_WITH_AES_128_CBC_SHA256",
    0x003F: "TLS_DH_RSA_WITH_AES_128_CBC_SHA256",
    0x0040: "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
    0x0041: "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
    0x0042: "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA",
    0x0043: "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA",
    0x0044: "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA",
    0x0045: "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
    0x0046: "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA",
    0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    0x0068: "TLS_DH_DSS_WITH_AES_256_CBC_SHA256",
    0x0069: "TLS_DH_RSA_WITH_AES_256_CBC_SHA256",
    0x006A: "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
    0x006B: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    0x006C: "TLS_DH_anon_WITH_AES_128_CBC_SHA256",
    0x006D: "TLS_DH_anon_WITH_AES_256_CBC_SHA256",
    0x0084: "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
    0x0085: "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA",
    0x0086: "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA",
    0x0087: "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA",
    0x0088: "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA",
    0x0089: "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA",
    0x008A: "TLS_PSK_WITH_RC4_128_SHA",
    0x008B: "TLS_PSK_WITH_3DES_EDE_CBC_SHA",
    0x008C: "TLS_PSK_WITH_AES_128_CBC_SHA",
    0x008D: "TLS_PSK_WITH_AES_256_CBC_SHA",
    0x008E: "TLS_DHE_PSK_WITH_RC4_128_SHA",
    0x008F: "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA",
    0x0090: "TLS_DHE_PSK_WITH_AES_128_CBC_SHA",
    0x0091: "TLS_DHE_PSK_WITH_AES_256_CBC_SHA",
    0x0092: "TLS_RSA_PSK_WITH_RC4_128_SHA",
    0x0093: "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA",
    0x0094: "TLS_RSA_PSK_WITH_AES_128_CBC_SHA",
    0x0095: "TLS_RSA_PSK_WITH_AES_256_CBC_SHA",
    0x0096: "TLS_RSA_WITH_SEED_CBC_SHA",
    0x0097: "TLS_DH_DSS_WITH_SEED_CBC_SHA",
    0x0098: "TLS_DH_RSA_WITH_SEED_CBC_SHA",
    0x0099: "TLS_DHE_DSS_WITH_SEED_CBC_SHA",
    0x009A: "TLS_DHE_RSA_WITH_SEED_CBC_SHA",
    0x009B: "TLS_DH_anon_WITH_SEED_CBC_SHA",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x00A0: "TLS_DH_RSA_WITH_AES_128_GCM_SHA256",
    0x00A1: "TLS_DH_RSA_WITH_AES_256_GCM_SHA384",
    0x00A2: "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
    0x00A3: "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
    0x00A4: "TLS_DH_DSS_WITH_AES_128_GCM_SHA256",
    0x00A5: "TLS_DH_DSS_WITH_AES_256_GCM_SHA384",
    0x00A6: "TLS_DH_anon_WITH_AES_128_GCM_SHA256",
    0x00A7: "TLS_DH_anon_WITH_AES_256_GCM_SHA384",
    0x00A8: "TLS_PSK_WITH_AES_128_GCM_SHA256",
    0x00A9: "TLS_PSK_WITH_AES_256_GCM_SHA384",
    0x00AA: "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256",
    0x00AB: "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384",
    0x00AC: "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256",
    0x00AD: "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384",
    0x00AE: "TLS_PSK_WITH_AES_128_CBC_SHA256",
    0x00AF: "TLS_PSK_WITH_AES_256_CBC_SHA384",
    0x00B0: "TLS_PSK_WITH_NULL_SHA256",
    0x00B1: "TLS_PSK_WITH_NULL_SHA384",
    0x00B2: "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256",
    0x00B3: "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384",
    0x00B4: "TLS_DHE_PSK_WITH_NULL_SHA256",
    0x00B5: "TLS_DHE_PSK_WITH_NULL_SHA384",
    0x00B6: "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256",
    0x00B7: "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384",
    0x00B8: "TLS_RSA_PSK_WITH_NULL_SHA256",
    0x00B9: "TLS_RSA_PSK_WITH_NULL_SHA384",
    0x00BA: "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BB: "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BC: "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BD: "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BE: "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0x00BF: "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256",
    0x00C0: "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C1: "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C2: "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C3: "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C4: "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C5: "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256",
    0x00C6: "TLS_SM4_GCM_SM3",
    0x00C7: "TLS_SM4_CCM_SM3",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
    0x1306: "TLS_AEGIS_256_SHA512",
    0x1307: "TLS_AEGIS_128L_SHA256",
    0x5600: "TLS_FALLBACK_SCSV",
    0xC001: "TLS_ECDH_ECDSA_WITH_NULL_SHA",
    0xC002: "TLS_ECDH_ECDSA_WITH_RC4_128_SHA",
    0xC003: "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC004: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
    0xC005: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA",
    0xC006: "TLS_ECDHE_ECDSA_WITH_NULL_SHA",
    0xC007: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    0xC008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC00B: "TLS_ECDH_RSA_WITH_NULL_SHA",
    0xC00C: "TLS_ECDH_RSA_WITH_RC4_128_SHA",
    0xC00D: "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC00E: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA",
    0xC00F: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA",
    0xC010: "TLS_ECDHE_RSA_WITH_NULL_SHA",
    0xC011: "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    0xC012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC015: "TLS_ECDH_anon_WITH_NULL_SHA",
    0xC016: "TLS_ECDH_anon_WITH_RC4_128_SHA",
    0xC017: "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA",
    0xC018: "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
    0xC019: "TLS_ECDH_anon_WITH_AES_256_CBC_SHA",
    0xC01A: "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA",
    0xC01B: "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA",
    0xC01C: "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA",
    0xC01D: "TLS_SRP_SHA_WITH_AES_128_CBC_SHA",
    0xC01E: "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA",
    0xC01F: "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA",
    0xC020: "TLS_SRP_SHA_WITH_AES_256_CBC_SHA",
    0xC021: "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA",
    0xC022: "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC025: "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256",
    0xC026: "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC029: "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256",
    0xC02A: "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02D: "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02E: "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xC031: "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256",
    0xC032: "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384",
    0xC033: "TLS_ECDHE_PSK_WITH_RC4_128_SHA",
    0xC034: "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA",
    0xC035: "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA",
    0xC036: "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA",
    0xC037: "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256",
    0xC038: "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384",
    0xC039: "TLS_ECDHE_PSK_WITH_NULL_SHA",
    0xC03A: "TLS_ECDHE_PSK_WITH_NULL_SHA256",
    0xC03B: "TLS_ECDHE_PSK_WITH_NULL_SHA384",
    0xC03C: "TLS_RSA_WITH_ARIA_128_CBC_SHA256",
    0xC03D: "TLS_RSA_WITH_ARIA_256_CBC_SHA384",
    0xC03E: "TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256",
    0xC03F: "TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384",
    0xC040: "TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256",
    0xC041: "TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384",
    0xC042: "TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256",
    0xC043: "TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384",
    0xC044: "TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256",
    0xC045: "TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384",
    0xC046: "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256",
    0xC047: "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384",
    0xC048: "TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256",
    0xC049: "TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384",
    0xC04A: "TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256",
    0xC04B: "TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384",
    0xC04C: "TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256",
    0xC04D: "TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384",
    0xC04E: "TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256",
    0xC04F: "TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384",
    0xC050: "TLS_RSA_WITH_ARIA_128_GCM_SHA256",
    0xC051: "TLS_RSA_WITH_ARIA_256_GCM_SHA384",
    0xC052: "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256",
    0xC053: "TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384",
    0xC054: "TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256",
    0xC055: "TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384",
    0xC056: "TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256",
    0xC057: "TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384",
    0xC058: "TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256",
    0xC059: "TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384",
    0xC05A: "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256",
    0xC05B: "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384",
    0xC05C: "TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256",
    0xC05D: "TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384",
    0xC05E: "TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256",
    0xC05F: "TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384",
    0xC060: "TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256",
    0xC061: "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384",
    0xC062: "TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256",
    0xC063: "TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384",
    0xC064: "TLS_PSK_WITH_ARIA_128_CBC_SHA256",
    0xC065: "TLS_PSK_WITH_ARIA_256_CBC_SHA384",
    0xC066: "TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256",
    0xC067: "TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384",
    0xC068: "TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256",
    0xC069: "TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384",
    0xC06A: "TLS_PSK_WITH_ARIA_128_GCM_SHA256",
    0xC06B: "TLS_PSK_WITH_ARIA_256_GCM_SHA384",
    0xC06C: "TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256",
    0xC06D: "TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384",
    0xC06E: "TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256",
    0xC06F: "TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384",
    0xC070: "TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256",
    0xC071: "TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384",
    0xC072: "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256",
    0xC073: "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384",
    0xC074: "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256",
    0xC075: "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384",
    0xC076: "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0xC077: "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384",
    0xC078: "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256",
    0xC079: "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384",
    0xC07A: "TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC07B: "TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC07C: "TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC07D: "TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC07E: "TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC07F: "TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC080: "TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256",
    0xC081: "TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384",
    0xC082: "TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256",
    0xC083: "TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384",
    0xC084: "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256",
    0xC085: "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384",
    0xC086: "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC087: "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC088: "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC089: "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC08A: "TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC08B: "TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC08C: "TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256",
    0xC08D: "TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384",
    0xC08E: "TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256",
    0xC08F: "TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384",
    0xC090: "TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256",
    0xC091: "TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384",
    0xC092: "TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256",
    0xC093: "TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384",
    0xC094: "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256",
    0xC095: "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384",
    0xC096: "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256",
    0xC097: "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384",
    0xC098: "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256",
    0xC099: "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384",
    0xC09A: "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256",
    0xC09B: "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384",
    0xC09C: "TLS_RSA_WITH_AES_128_CCM",
    0xC09D: "TLS_RSA_WITH_AES_256_CCM",
    0xC09E: "TLS_DHE_RSA_WITH_AES_128_CCM",
    0xC09F: "TLS_DHE_RSA_WITH_AES_256_CCM",
    0xC0A0: "TLS_RSA_WITH_AES_128_CCM_8",
    0xC0A1: "TLS_RSA_WITH_AES_256_CCM_8",
    0xC0A2: "TLS_DHE_RSA_WITH_AES_128_CCM_8",
    0xC0A3: "TLS_DHE_RSA_WITH_AES_256_CCM_8",
    0xC0A4: "TLS_PSK_WITH_AES_128_CCM",
    0xC0A5: "TLS_PSK_WITH_AES_256_CCM",
    0xC0A6: "TLS_DHE_PSK_WITH_AES_128_CCM",
    0xC0A7: "TLS_DHE_PSK_WITH_AES_256_CCM",
    0xC0A8: "TLS_PSK_WITH_AES_128_CCM_8",
    0xC0A9: "TLS_PSK_WITH_AES_256_CCM_8",
    0xC0AA: "TLS_PSK_DHE_WITH_AES_128_CCM_8",
    0xC0AB: "TLS_PSK_DHE_WITH_AES_256_CCM_8",
    0xC0AC: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
    0xC0AD: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
    0xC0AE: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
    0xC0AF: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
    0xC0B0: "TLS_ECCPWD_WITH_AES_128_GCM_SHA256",
    0xC0B1: "TLS_ECCPWD_WITH_AES_256_GCM_SHA384",
    0xC0B2: "TLS_ECCPWD_WITH_AES_128_CCM_SHA256",
    0xC0B3: "TLS_ECCPWD_WITH_AES_256_CCM_SHA384",
    0xC0B4: "TLS_SHA256_SHA256",
    0xC0B5: "TLS_SHA384_SHA384",
    0xC100: "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC",
    0xC101: "TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC",
    0xC102: "TLS_GOSTR341112_256_WITH_28147_CNT_IMIT",
    0xC103: "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L",
    0xC104: "TLS_GOSTR341112_256_WITH_MAGMA_MGM_L",
    0xC105: "TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_S",
    0xC106: "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAB: "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAC: "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAD: "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAE: "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256",
    0xD001: "TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256",
    0xD002: "TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384",
    0xD003: "TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256",
    0xD005: "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256",
}

#: Well-known cipher suites that are not (or no longer) in the IANA registry but
#: occur in captures and are named by Wireshark: SSL 3.0 FORTEZZA, the 1024-bit
#: "export" suites of draft-ietf-tls-56-bit-ciphersuites, the CryptoPro GOST
#: 28147 suites of draft-chudov-cryptopro-cptls, ECJPAKE (draft-cragie-tls-ecjpake),
#: pre-RFC 7905 ChaCha20-Poly1305 code points used by Chrome, the Chinese GM/T
#: 0024 suites, the Salsa20 suites of draft-josefsson-salsa20-tls, and Netscape's
#: SSL_RSA_FIPS suites.
NON_IANA_CIPHER_SUITES: Final[dict[int, str]] = {
    0x001C: "SSL_FORTEZZA_KEA_WITH_NULL_SHA",
    0x001D: "SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA",
    0x0060: "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5",
    0x0061: "TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5",
    0x0062: "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA",
    0x0063: "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA",
    0x0064: "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA",
    0x0065: "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA",
    0x0066: "TLS_DHE_DSS_WITH_RC4_128_SHA",
    0x0080: "TLS_GOSTR341094_WITH_28147_CNT_IMIT",
    0x0081: "TLS_GOSTR341001_WITH_28147_CNT_IMIT",
    0x0082: "TLS_GOSTR341094_WITH_NULL_GOSTR3411",
    0x0083: "TLS_GOSTR341001_WITH_NULL_GOSTR3411",
    0xC0FF: "TLS_ECJPAKE_WITH_AES_128_CCM_8",
    0xCC13: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCC14: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCC15: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xE001: "ECDHE_SM1_SM3",
    0xE003: "ECC_SM1_SM3",
    0xE005: "IBSDH_SM1_SM3",
    0xE007: "IBC_SM1_SM3",
    0xE009: "RSA_SM1_SM3",
    0xE00A: "RSA_SM1_SHA1",
    0xE011: "ECDHE_SM4_CBC_SM3",
    0xE013: "ECC_SM4_CBC_SM3",
    0xE015: "IBSDH_SM4_CBC_SM3",
    0xE017: "IBC_SM4_CBC_SM3",
    0xE019: "RSA_SM4_CBC_SM3",
    0xE01A: "RSA_SM4_CBC_SHA1",
    0xE01C: "RSA_SM4_CBC_SHA256",
    0xE051: "ECDHE_SM4_GCM_SM3",
    0xE053: "ECC_SM4_GCM_SM3",
    0xE055: "IBSDH_SM4_GCM_SM3",
    0xE057: "IBC_SM4_GCM_SM3",
    0xE059: "RSA_SM4_GCM_SM3",
    0xE05A: "RSA_SM4_GCM_SHA256",
    0xE410: "TLS_RSA_WITH_ESTREAM_SALSA20_SHA1",
    0xE411: "TLS_RSA_WITH_SALSA20_SHA1",
    0xE412: "TLS_ECDHE_RSA_WITH_ESTREAM_SALSA20_SHA1",
    0xE413: "TLS_ECDHE_RSA_WITH_SALSA20_SHA1",
    0xE414: "TLS_ECDHE_ECDSA_WITH_ESTREAM_SALSA20_SHA1",
    0xE415: "TLS_ECDHE_ECDSA_WITH_SALSA20_SHA1",
    0xE416: "TLS_PSK_WITH_ESTREAM_SALSA20_SHA1",
    0xE417: "TLS_PSK_WITH_SALSA20_SHA1",
    0xE418: "TLS_ECDHE_PSK_WITH_ESTREAM_SALSA20_SHA1",
    0xE419: "TLS_ECDHE_PSK_WITH_SALSA20_SHA1",
    0xE41A: "TLS_RSA_PSK_WITH_ESTREAM_SALSA20_SHA1",
    0xE41B: "TLS_RSA_PSK_WITH_SALSA20_SHA1",
    0xE41C: "TLS_DHE_PSK_WITH_ESTREAM_SALSA20_SHA1",
    0xE41D: "TLS_DHE_PSK_WITH_SALSA20_SHA1",
    0xE41E: "TLS_DHE_RSA_WITH_ESTREAM_SALSA20_SHA1",
    0xE41F: "TLS_DHE_RSA_WITH_SALSA20_SHA1",
    0xFEFE: "SSL_RSA_FIPS_WITH_DES_CBC_SHA",
    0xFEFF: "SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA",
    0xFFE0: "SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA",
    0xFFE1: "SSL_RSA_FIPS_WITH_DES_CBC_SHA",
}

#: Every cipher suite this module can name: the IANA registry plus the
#: well-known unregistered suites above.
CIPHER_SUITE_NAMES: Final[dict[int, str]] = {**NON_IANA_CIPHER_SUITES, **IANA_CIPHER_SUITES}


@dataclass(frozen=True, slots=True)
class CipherSuiteInfo:
    """What a cipher suite name says about the connection it negotiates.

    Derived from the suite's name by :func:`parse_cipher_suite_name`.  For TLS
    1.3 suites key exchange and authentication are not part of the suite and
    read ``'TLS13'``; ``prf_hash`` is then the HKDF hash.  For TLS 1.2 suites
    ``prf_hash`` is ``'SHA384'`` for ``*_SHA384`` suites and ``'SHA256'``
    otherwise (the PRF of SSL 3.0 - TLS 1.1 is fixed by the version, not the
    suite).  ``mac`` is ``'AEAD'`` for AEAD ciphers, else the HMAC hash
    (``'SHA'`` means SHA-1).  ``scsv`` marks signalling values, which name no
    algorithms (all their fields read ``'NULL'``).
    """

    code: int
    name: str
    key_exchange: str
    authentication: str
    cipher: str
    mac: str
    prf_hash: str
    export: bool
    aead: bool
    tls13: bool
    scsv: bool = False


#: Trailing name tokens that are a MAC or hash, normalised.
_MAC_TOKENS: Final[dict[str, str]] = {
    "NULL": "NULL",
    "MD5": "MD5",
    "SHA": "SHA",
    "SHA1": "SHA",
    "SHA256": "SHA256",
    "SHA384": "SHA384",
    "SHA512": "SHA512",
    "SM3": "SM3",
    "IMIT": "IMIT",             # GOST 28147-89 MAC
    "OMAC": "OMAC",             # GOST R 34.12-2015 OMAC
    "GOSTR3411": "GOSTR3411",
}

#: Cipher name fragments that mean an AEAD cipher.
_AEAD_MARKERS: Final[tuple[str, ...]] = ("GCM", "CCM", "POLY1305", "MGM", "AEGIS", "OCB")

#: Key exchange part of a ``TLS_<kx>_WITH_...`` name -> (key_exchange, authentication).
_KX_AUTH: Final[dict[str, tuple[str, str]]] = {
    "NULL": ("NULL", "NULL"),
    "RSA": ("RSA", "RSA"),
    "RSA_FIPS": ("RSA", "RSA"),
    "DH_DSS": ("DH", "DSS"),
    "DH_RSA": ("DH", "RSA"),
    "DHE_DSS": ("DHE", "DSS"),
    "DHE_RSA": ("DHE", "RSA"),
    "DH_anon": ("DH", "anon"),
    "ECDH_ECDSA": ("ECDH", "ECDSA"),
    "ECDHE_ECDSA": ("ECDHE", "ECDSA"),
    "ECDH_RSA": ("ECDH", "RSA"),
    "ECDHE_RSA": ("ECDHE", "RSA"),
    "ECDH_anon": ("ECDH", "anon"),
    "KRB5": ("KRB5", "KRB5"),
    "PSK": ("PSK", "PSK"),
    "DHE_PSK": ("DHE_PSK", "PSK"),
    "PSK_DHE": ("DHE_PSK", "PSK"),        # IANA's spelling of 0xC0AA/0xC0AB (RFC 6655)
    "RSA_PSK": ("RSA_PSK", "RSA"),
    "ECDHE_PSK": ("ECDHE_PSK", "PSK"),
    "SRP_SHA": ("SRP", "SRP"),
    "SRP_SHA_RSA": ("SRP", "RSA"),
    "SRP_SHA_DSS": ("SRP", "DSS"),
    "ECCPWD": ("ECCPWD", "ECCPWD"),
    "ECJPAKE": ("ECJPAKE", "ECJPAKE"),
    "FORTEZZA_KEA": ("FORTEZZA_KEA", "FORTEZZA"),
    "GOSTR341094": ("GOSTR341094", "GOSTR341094"),
    "GOSTR341001": ("GOSTR341001", "GOSTR341001"),
    "GOSTR341112_256": ("GOSTR341112_256", "GOSTR341112_256"),
}


def parse_cipher_suite_name(code: int, name: str) -> CipherSuiteInfo | None:
    """Derive a :class:`CipherSuiteInfo` from a ``TLS_...``/``SSL_...`` suite name.

    Returns ``None`` for names that do not follow the IANA pattern (e.g. the
    GM/T suites such as ``ECDHE_SM4_CBC_SM3``).
    """
    if name.startswith(("TLS_", "SSL_")):
        body = name[4:]
    else:
        return None
    if body.endswith("_SCSV"):
        return CipherSuiteInfo(code, name, "NULL", "NULL", "NULL", "NULL", "SHA256",
                               False, False, False, True)

    kx_part, sep, enc_part = body.partition("_WITH_")
    if not sep:
        # TLS 1.3 style: TLS_<AEAD>_<HKDF hash>, or the integrity-only
        # TLS_<hash>_<hash> of RFC 9150.
        cipher, _, hash_token = body.rpartition("_")
        hkdf = _MAC_TOKENS.get(hash_token)
        if not cipher or hkdf is None or hkdf in ("NULL", "SHA", "MD5"):
            return None
        if cipher in _MAC_TOKENS:
            return CipherSuiteInfo(code, name, "TLS13", "TLS13", "NULL", hkdf, hkdf,
                                   False, False, True)
        aead = any(m in cipher for m in _AEAD_MARKERS)
        return CipherSuiteInfo(code, name, "TLS13", "TLS13", cipher,
                               "AEAD" if aead else hkdf, hkdf, False, aead, True)

    if not kx_part or not enc_part:
        return None
    kx_tokens = kx_part.split("_")
    export = False
    if kx_tokens[-1] in ("EXPORT", "EXPORT1024", "EXPORT40"):
        export = True
        kx_tokens.pop()
    kx_name = "_".join(kx_tokens)
    pair = _KX_AUTH.get(kx_name)
    if pair is None:
        if not kx_tokens or not kx_name:
            return None
        pair = (kx_tokens[0], "_".join(kx_tokens[1:]) or kx_tokens[0])
    key_exchange, authentication = pair

    enc_tokens = enc_part.split("_")
    mac_token: str | None = None
    if len(enc_tokens) > 1 and enc_tokens[-1] in _MAC_TOKENS:
        mac_token = _MAC_TOKENS[enc_tokens.pop()]
    cipher = "_".join(enc_tokens)
    if not cipher:
        return None
    if "EXPORT" in cipher:
        export = True
    aead = any(m in cipher for m in _AEAD_MARKERS)

    if kx_name == "GOSTR341112_256":
        prf = "STREEBOG256"
    elif kx_name in ("GOSTR341094", "GOSTR341001"):
        prf = "GOSTR3411"
    elif mac_token in ("SHA384", "SHA512", "SM3"):
        prf = mac_token
    else:
        prf = "SHA256"

    tls13 = False
    if aead and "MGM" in cipher:
        # RFC 9367: the GOST MGM suites keep the _WITH_ form but are TLS 1.3 only.
        tls13 = True
        key_exchange = authentication = "TLS13"
    if aead:
        mac = "AEAD"
    else:
        mac = mac_token or "NULL"
    return CipherSuiteInfo(code, name, key_exchange, authentication, cipher, mac, prf,
                           export, aead, tls13)


def _build_infos() -> dict[int, CipherSuiteInfo]:
    infos: dict[int, CipherSuiteInfo] = {}
    for code, name in CIPHER_SUITE_NAMES.items():
        info = parse_cipher_suite_name(code, name)
        if info is not None:
            infos[code] = info
    return infos


_CIPHER_SUITE_INFOS: Final[dict[int, CipherSuiteInfo]] = _build_infos()


def cipher_suite_info(code: int) -> CipherSuiteInfo | None:
    """The parsed description of a known cipher suite, or ``None``."""
    return _CIPHER_SUITE_INFOS.get(code)


# ---------------------------------------------------------------------------
# Name lookup helpers
# ---------------------------------------------------------------------------

def name_of(table: dict[int, str], value: int, *, unknown: str = "hex") -> str:
    """Name of *value* in *table*; else its GREASE label; else a placeholder.

    The placeholder depends on *unknown*: ``'hex'`` gives ``'0x%04x'`` for
    16-bit values (``'unknown (N)'`` outside 0..0xffff), ``'paren'`` gives
    ``'unknown (N)'`` and ``'underscore'`` gives ``'unknown_N'``.
    """
    name = table.get(value)
    if name is not None:
        return name
    if is_grease(value):
        return grease_label(value)
    if unknown == "hex" and 0 <= value <= 0xFFFF:
        return f"0x{value:04x}"
    if unknown == "underscore":
        return f"unknown_{value}"
    return f"unknown ({value})"


def cipher_suite_name(code: int) -> str:
    """IANA name of a cipher suite, ``'GREASE (0x0a0a)'`` style, or ``'0x%04x'``."""
    return name_of(CIPHER_SUITE_NAMES, code)


def ssl2_cipher_spec_name(spec: int) -> str:
    """Name of a 3-byte SSLv2 cipher spec (a CIPHER-KIND or ``0x00`` + TLS suite)."""
    name = SSL2_CIPHER_KIND_NAMES.get(spec)
    if name is not None:
        return name
    if 0 <= spec <= 0xFFFF:
        return cipher_suite_name(spec)
    return f"0x{spec:06x}"


def extension_name(v: int) -> str:
    """Name of an extension type (``'server_name'``), GREASE label or ``'0x%04x'``."""
    return name_of(EXTENSION_NAMES, v)


def group_name(v: int) -> str:
    """Name of a supported group (``'x25519'``), GREASE label or ``'0x%04x'``."""
    return name_of(NAMED_GROUP_NAMES, v)


def sigalg_name(v: int) -> str:
    """Name of a signature scheme / hash-signature pair, GREASE label or ``'0x%04x'``."""
    return name_of(SIGNATURE_SCHEME_NAMES, v)


def alert_name(v: int) -> str:
    """Name of an alert description (``'handshake_failure'``) or ``'unknown_N'``."""
    return name_of(ALERT_DESCRIPTION_NAMES, v, unknown="underscore")


def alert_level_name(v: int) -> str:
    """``'warning'``, ``'fatal'`` or ``'unknown_N'``."""
    return name_of(ALERT_LEVEL_NAMES, v, unknown="underscore")


def handshake_type_name(v: int) -> str:
    """Name of a handshake message type (``'client_hello'``) or ``'unknown (N)'``."""
    return name_of(HANDSHAKE_TYPE_NAMES, v, unknown="paren")


def content_type_name(v: int) -> str:
    """Name of a record content type (``'handshake'``) or ``'unknown (N)'``."""
    return name_of(CONTENT_TYPE_NAMES, v, unknown="paren")


# RFC 5764 4.1.2 and the IANA "DTLS-SRTP Protection Profiles" registry (use_srtp).
SRTP_PROTECTION_PROFILE_NAMES: Final[dict[int, str]] = {
    0x0001: "SRTP_AES128_CM_HMAC_SHA1_80",
    0x0002: "SRTP_AES128_CM_HMAC_SHA1_32",
    0x0005: "SRTP_NULL_HMAC_SHA1_80",
    0x0006: "SRTP_NULL_HMAC_SHA1_32",
    0x0007: "SRTP_AEAD_AES_128_GCM",
    0x0008: "SRTP_AEAD_AES_256_GCM",
    0x0009: "DOUBLE_AEAD_AES_128_GCM_AEAD_AES_128_GCM",
    0x000A: "DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM",
    0x000B: "SRTP_ARIA_128_CTR_HMAC_SHA1_80",
    0x000C: "SRTP_ARIA_128_CTR_HMAC_SHA1_32",
    0x000D: "SRTP_ARIA_256_CTR_HMAC_SHA1_80",
    0x000E: "SRTP_ARIA_256_CTR_HMAC_SHA1_32",
    0x000F: "SRTP_AEAD_ARIA_128_GCM",
    0x0010: "SRTP_AEAD_ARIA_256_GCM",
}


def srtp_profile_name(code: int) -> str:
    return SRTP_PROTECTION_PROFILE_NAMES.get(code, f"0x{code:04x}")
