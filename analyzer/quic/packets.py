"""QUIC packet headers and frames (RFC 9000 12, 17, 19; RFC 9369 3.2), without protection.

Owns: variable-length integers, the long header (Version Negotiation, Initial,
0-RTT, Handshake, Retry, with the v2 type mapping), telling a short-header
(1-RTT) packet apart, and the frames allowed in Initial and Handshake packets
(PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE). Every length is checked;
damage raises `QUICDecodeError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .crypto import QUIC_V2

MAX_CID_LENGTH = 20  # RFC 9000 17.2 (v1); longer is only legal in Version Negotiation

# packet kinds (names as RFC 9000 17.2 writes them)
INITIAL, ZERO_RTT, HANDSHAKE, RETRY, VERSION_NEGOTIATION, ONE_RTT = (
    "initial", "0rtt", "handshake", "retry", "version_negotiation", "1rtt")
_V1_TYPES = (INITIAL, ZERO_RTT, HANDSHAKE, RETRY)
_V2_TYPES = (RETRY, INITIAL, ZERO_RTT, HANDSHAKE)   # RFC 9369 3.2

# frame types (RFC 9000 19)
F_PADDING, F_PING, F_ACK, F_ACK_ECN, F_CRYPTO = 0x00, 0x01, 0x02, 0x03, 0x06
F_CONNECTION_CLOSE, F_CONNECTION_CLOSE_APP = 0x1C, 0x1D
CRYPTO_ERROR_BASE = 0x0100   # CONNECTION_CLOSE error 0x01XX carries TLS alert XX (RFC 9001 4.8)


class QUICDecodeError(Exception):
    """A QUIC header or frame that cannot be read."""


def pull_varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, next position) of the RFC 9000 16 variable-length integer at pos."""
    if pos >= end:
        raise QUICDecodeError("variable-length integer cut off")
    first = data[pos]
    n = 1 << (first >> 6)
    if pos + n > end:
        raise QUICDecodeError("variable-length integer cut off")
    v = first & 0x3F
    for i in range(1, n):
        v = (v << 8) | data[pos + i]
    return v, pos + n


@dataclass(slots=True)
class LongHeader:
    kind: str
    version: int
    dcid: bytes
    scid: bytes
    pn_offset: int = 0      # where the protected packet number starts (Initial, 0-RTT, Handshake)
    end: int = 0            # end of this packet in the datagram (coalesced packets follow)
    token: bytes = b""


def parse_long_header(data: bytes, pos: int = 0) -> LongHeader:
    """Parse the long header at data[pos]; `end` says where the next coalesced packet starts."""
    n = len(data)
    if pos + 7 > n:
        raise QUICDecodeError("long header cut off")
    first = data[pos]
    version = int.from_bytes(data[pos + 1 : pos + 5], "big")
    p = pos + 5
    dlen = data[p]
    p += 1
    if p + dlen + 1 > n:
        raise QUICDecodeError("destination connection ID cut off")
    dcid = bytes(data[p : p + dlen])
    p += dlen
    slen = data[p]
    p += 1
    if p + slen > n:
        raise QUICDecodeError("source connection ID cut off")
    scid = bytes(data[p : p + slen])
    p += slen
    if version == 0:
        return LongHeader(VERSION_NEGOTIATION, 0, dcid, scid, end=n)
    if dlen > MAX_CID_LENGTH or slen > MAX_CID_LENGTH:
        raise QUICDecodeError(f"connection ID longer than {MAX_CID_LENGTH} bytes")
    kind = (_V2_TYPES if version == QUIC_V2 else _V1_TYPES)[(first >> 4) & 0x03]
    if kind == RETRY:
        return LongHeader(kind, version, dcid, scid, end=n)
    token = b""
    if kind == INITIAL:
        tlen, p = pull_varint(data, p, n)
        if p + tlen > n:
            raise QUICDecodeError("Initial token cut off")
        token = bytes(data[p : p + tlen])
        p += tlen
    length, p = pull_varint(data, p, n)
    if p + length > n:
        raise QUICDecodeError(f"packet length {length} beyond the datagram")
    return LongHeader(kind, version, dcid, scid, pn_offset=p, end=p + length, token=token)


@dataclass(slots=True)
class Frames:
    """What the frames of one decrypted Initial/Handshake packet said."""

    crypto: list[tuple[int, bytes]]
    close_error: int | None = None
    close_reason: str = ""
    ack_only: bool = True


def parse_frames(payload: bytes) -> Frames:
    """The frames of an Initial or Handshake packet; other frame types are errors there (RFC 9000 12.4)."""
    out = Frames([])
    n = len(payload)
    p = 0
    while p < n:
        t, p = pull_varint(payload, p, n)
        if t == F_PADDING:
            while p < n and payload[p] == 0:
                p += 1
            continue
        if t == F_PING:
            out.ack_only = False
            continue
        if t in (F_ACK, F_ACK_ECN):
            _, p = pull_varint(payload, p, n)       # largest acknowledged
            _, p = pull_varint(payload, p, n)       # delay
            count, p = pull_varint(payload, p, n)
            _, p = pull_varint(payload, p, n)       # first range
            if count > n:
                raise QUICDecodeError("ACK range count beyond the packet")
            for _ in range(2 * count + (3 if t == F_ACK_ECN else 0)):
                _, p = pull_varint(payload, p, n)
            continue
        if t == F_CRYPTO:
            off, p = pull_varint(payload, p, n)
            ln, p = pull_varint(payload, p, n)
            if p + ln > n:
                raise QUICDecodeError("CRYPTO frame data beyond the packet")
            out.crypto.append((off, bytes(payload[p : p + ln])))
            out.ack_only = False
            p += ln
            continue
        if t in (F_CONNECTION_CLOSE, F_CONNECTION_CLOSE_APP):
            code, p = pull_varint(payload, p, n)
            if t == F_CONNECTION_CLOSE:
                _, p = pull_varint(payload, p, n)   # offending frame type
            rlen, p = pull_varint(payload, p, n)
            if p + rlen > n:
                raise QUICDecodeError("CONNECTION_CLOSE reason beyond the packet")
            out.close_error = code
            out.close_reason = bytes(payload[p : p + rlen]).decode("utf-8", "backslashreplace")[:200]
            out.ack_only = False
            p += rlen
            continue
        raise QUICDecodeError(f"frame type 0x{t:x} is not allowed in Initial/Handshake packets")
    return out
