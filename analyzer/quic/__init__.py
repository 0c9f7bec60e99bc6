"""QUIC (RFC 9000/9001, v2 RFC 9369, draft-29): the TLS handshake carried in UDP datagrams.

Owns recognising QUIC in UDP, Initial (and, with keys, Handshake) packet
decryption, CRYPTO stream reassembly and one `ConnectionSummary` per QUIC
connection, using the same TLS state machine as TCP (`analyzer.tls`).
"""

from .connection import QUICConnection, looks_like_initial, quic_version_name
from .crypto import PacketKeys, QUICCryptoError, initial_keys, initial_secrets, unprotect
from .packets import QUICDecodeError, parse_frames, parse_long_header, pull_varint

__all__ = [
    "QUICConnection", "looks_like_initial", "quic_version_name",
    "PacketKeys", "QUICCryptoError", "initial_keys", "initial_secrets", "unprotect",
    "QUICDecodeError", "parse_frames", "parse_long_header", "pull_varint",
]
