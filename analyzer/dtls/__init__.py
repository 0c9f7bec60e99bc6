"""DTLS 1.0, 1.2 and 1.3 (RFC 4347, 6347, 9147): the TLS handshake carried in UDP datagrams.

Owns DTLS's own layers only: the record layer of a datagram (`records`), handshake
fragment reassembly in message_seq order (`handshake`) and one connection that feeds
the reassembled messages to the shared TLS state machine (`connection`); the message
parsers, summary, fingerprints and decryption are the TLS ones. `analyzer.udp`
decides which UDP conversations are DTLS.
"""

from .connection import DTLSConnection, looks_like_dtls_hello
from .handshake import HandshakeMessage, Reassembler
from .records import DTLSDecodeError, DTLSRecord, demux, parse_records

__all__ = [
    "DTLSConnection", "looks_like_dtls_hello", "HandshakeMessage", "Reassembler",
    "DTLSDecodeError", "DTLSRecord", "demux", "parse_records",
]
