"""The DTLS record layer: records of one datagram (RFC 6347 4.1, RFC 9146 4, RFC 9147 4).

Owns splitting a UDP datagram into DTLS records: the DTLSPlaintext/DTLSCiphertext
header (content type, version, 16-bit epoch, 48-bit sequence number, length), the
DTLS 1.2 connection-ID record (content type `tls12_cid`, the CID between sequence
number and length), and the DTLS 1.3 unified header (first byte `001CSLEE`: CID
present, 8- or 16-bit sequence number (encrypted, RFC 9147 4.2.3), length present,
low two bits of the epoch). Several records per datagram; a record without a length
runs to the end of the datagram. Also RFC 7983's first-byte demultiplexing of what
shares a 5-tuple with DTLS (STUN, ZRTP, TURN channels, RTP/RTCP). Every length is
checked; a record that does not fit raises `DTLSDecodeError`.
"""

from __future__ import annotations

import struct

from ..tls.registry import ContentType, ProtocolVersion

PLAIN_HEADER_LENGTH = 13          # type(1) version(2) epoch(2) sequence_number(6) length(2)
# the plaintext header in one unpack: type, version, epoch, sequence number as its high 16 and
# low 32 bits, length; a tls12_cid record has its CID before the length (read apart)
_PLAIN_HEADER = struct.Struct(">BHHHIH")
_SEQ_HIGH_SHIFT = 32
UNIFIED_FIXED_BITS = 0x20         # RFC 9147 4: the top three bits of a unified header are 001
UNIFIED_MASK = 0xE0
UNIFIED_C, UNIFIED_S, UNIFIED_L, UNIFIED_EPOCH = 0x10, 0x08, 0x04, 0x03
DTLS_VERSION_MAJOR = 0xFE         # every DTLS record version is 0xfeXX (RFC 6347 4.1)
OPENSSL_PRE_098F_VERSION = ProtocolVersion.DTLS10_OPENSSL_PRE_0_9_8F  # DTLS 1.0 as OpenSSL before 0.9.8f wrote it

# RFC 7983 7 (updating RFC 5764 5.1.2): what the first byte of a datagram says it is.
DEMUX_RANGES: tuple[tuple[int, int, str], ...] = (
    (0, 3, "stun"),
    (16, 19, "zrtp"),
    (20, 63, "dtls"),
    (64, 79, "turn_channel"),
    (128, 191, "rtp"),
)


class DTLSDecodeError(Exception):
    """A DTLS record or handshake fragment that cannot be read (the message says why)."""


def demux(first_byte: int) -> str:
    """RFC 7983 class of a datagram by its first byte: stun, zrtp, dtls, turn_channel, rtp or other."""
    for lo, hi, name in DEMUX_RANGES:
        if lo <= first_byte <= hi:
            return name
    return "other"


class DTLSRecord:
    """One record of a datagram. For a unified header, `seq` holds the low 8/16 bits as
    sent (encrypted), `epoch` the low two bits, and `header` the header bytes."""

    __slots__ = ("content_type", "version", "epoch", "seq", "cid", "body", "unified", "seq_bits", "header")

    def __init__(self, content_type: int, version: int, epoch: int, seq: int, cid: bytes | None, body: bytes,
                 unified: bool = False, seq_bits: int = 48, header: bytes = b"") -> None:
        self.content_type = content_type   # the outer type (tls12_cid, or application_data for a unified header)
        self.version = version             # 0 for a unified header (it has none)
        self.epoch = epoch
        self.seq = seq
        self.cid = cid
        self.body = body
        self.unified = unified
        self.seq_bits = seq_bits
        self.header = header

    def __repr__(self) -> str:
        return (f"DTLSRecord(content_type={self.content_type}, version=0x{self.version:04x}, epoch={self.epoch}, "
                f"seq={self.seq}, cid={self.cid!r}, {len(self.body)} bytes{', unified' if self.unified else ''})")


def is_dtls_version(version: int) -> bool:
    """A record version DTLS uses: 0xfeXX (any, so a future version is still framed) or OpenSSL's old 0x0100."""
    return version >> 8 == DTLS_VERSION_MAJOR or version == OPENSSL_PRE_098F_VERSION


def parse_records(data: bytes, cid_length: int | None) -> tuple[list[DTLSRecord], str | None]:
    """The records of one datagram and, when a record could not be read, why (the records
    before it are returned). `cid_length` is the length of the connection ID the
    receiver asked for (None: not negotiated, so a CID record cannot be split)."""
    out: list[DTLSRecord] = []
    pos = 0
    n = len(data)
    while pos < n:
        b = data[pos]
        if b & UNIFIED_MASK == UNIFIED_FIXED_BITS:
            try:
                rec, pos = _unified(data, pos, cid_length)
            except DTLSDecodeError as e:
                return out, str(e)
            out.append(rec)
            continue
        if n - pos < PLAIN_HEADER_LENGTH:
            return out, f"record header: need {PLAIN_HEADER_LENGTH} bytes, {n - pos} left"
        _type, version, epoch, seq_high, seq_low, length = _PLAIN_HEADER.unpack_from(data, pos)
        if version >> 8 != DTLS_VERSION_MAJOR and version != OPENSSL_PRE_098F_VERSION:  # is_dtls_version, inlined
            return out, f"record version 0x{version:04x} is not a DTLS version"
        seq = (seq_high << _SEQ_HIGH_SHIFT) | seq_low
        p = pos + PLAIN_HEADER_LENGTH
        cid = None
        if b == ContentType.TLS12_CID:
            if cid_length is None:
                return out, "tls12_cid record but no connection ID was negotiated for this direction"
            p -= 2                      # the CID comes before the length
            if n - p < cid_length + 2:
                return out, f"tls12_cid record: need {cid_length + 2} bytes for CID and length, {n - p} left"
            cid = bytes(data[p : p + cid_length])
            p += cid_length
            length = (data[p] << 8) | data[p + 1]
            p += 2
        if length > n - p:
            return out, f"record of {length} bytes, {n - p} left in the datagram"
        out.append(DTLSRecord(b, version, epoch, seq, cid, bytes(data[p : p + length])))
        pos = p + length
    return out, None


def _unified(data: bytes, pos: int, cid_length: int | None) -> tuple[DTLSRecord, int]:
    """RFC 9147 4: `001CSLEE`, [connection_id], sequence number (1 or 2 bytes), [length], encrypted_record."""
    b = data[pos]
    n = len(data)
    p = pos + 1
    cid = None
    if b & UNIFIED_C:
        if cid_length is None:
            raise DTLSDecodeError("unified header with a connection ID, but none was negotiated for this direction")
        if n - p < cid_length:
            raise DTLSDecodeError(f"unified header: need {cid_length} bytes of connection ID, {n - p} left")
        cid = bytes(data[p : p + cid_length])
        p += cid_length
    seq_len = 2 if b & UNIFIED_S else 1
    if n - p < seq_len:
        raise DTLSDecodeError(f"unified header: need {seq_len} bytes of sequence number, {n - p} left")
    seq = int.from_bytes(data[p : p + seq_len], "big")
    p += seq_len
    if b & UNIFIED_L:
        if n - p < 2:
            raise DTLSDecodeError(f"unified header length: need 2 bytes, {n - p} left")
        length = (data[p] << 8) | data[p + 1]
        p += 2
        if length > n - p:
            raise DTLSDecodeError(f"unified-header record of {length} bytes, {n - p} left in the datagram")
    else:
        length = n - p
    header = bytes(data[pos:p])
    rec = DTLSRecord(ContentType.APPLICATION_DATA, 0, b & UNIFIED_EPOCH, seq, cid, bytes(data[p : p + length]),
                     True, 8 * seq_len, header)
    return rec, p + length
