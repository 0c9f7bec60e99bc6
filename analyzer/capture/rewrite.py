"""Rewriting a capture as pcapng with Decryption Secrets Blocks (the `inject-secrets` command's copy).

Owns the streaming copy of one capture file (pcap or pcapng, plain or gzip) into a
new pcapng: the given Decryption Secrets Blocks are written right after the first
Section Header Block, before any packet; everything else is kept.

- pcapng input: every block is copied byte for byte (interfaces with their link
  types, snaplen, timestamp resolution and offset, packets, comments and other
  options, name resolution, statistics, custom blocks), in each section's own byte
  order, except the input's own Decryption Secrets Blocks (left out: the new block
  holds what of them belongs to the capture's connections) and the Section Header
  Blocks' section length, which becomes -1 (unspecified) since the section's size
  changes.
- pcap input: one Section Header Block, one Interface Description Block (the
  file's link type and snaplen, `if_tsresol` 6 or 9 for microsecond or nanosecond
  files, `if_fcslen` when the header gives one), then one Enhanced Packet Block per
  record with the record's exact timestamp, captured and original lengths.

Memory is bounded by one block (at most `MAX_RECORD`); a damaged or implausible
block or record header stops the copy with a `CaptureError` naming the offset
(a rewritten capture must not silently lose packets). Knows nothing about TLS: the
secrets come in as (secrets type, bytes).
"""

from __future__ import annotations

import gzip
import os
import struct
from typing import BinaryIO, Iterable

from .model import CaptureError
from .reader import MAX_DECOMPRESSED_SIZE, MAX_RECORD, PCAPNG_MAJOR_VERSION

_GZIP_MAGIC = b"\x1f\x8b"
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_BOM = 0x1A2B3C4D
_SHB, _IDB, _PB, _SPB, _EPB, _DSB = 0x0A0D0D0A, 1, 2, 3, 6, 0x0A
_PACKET_BLOCKS = frozenset((_PB, _SPB, _EPB))
_OPT_END, _OPT_SHB_USERAPPL = 0, 4
_OPT_IF_TSRESOL, _OPT_IF_FCSLEN = 9, 13
_UNKNOWN_SECTION_LENGTH = -1
_PCAP_MAGICS = {
    b"\xa1\xb2\xc3\xd4": (">", 6), b"\xd4\xc3\xb2\xa1": ("<", 6),
    b"\xa1\xb2\x3c\x4d": (">", 9), b"\x4d\x3c\xb2\xa1": ("<", 9),
}
_PCAP_HEADER = 24
_PCAP_RECORD = 16
_PCAP_FCS_PRESENT = 0x04000000      # pcap header link type field: "FCS length present" flag (bit 26)
_PCAP_LINKTYPE_MASK = 0x03FFFFFF
_MAX_PCAPNG_LINKTYPE = 0xFFFF       # an IDB's LinkType is 16 bits
USER_APPLICATION = "handshake-analyzer inject-secrets"


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _option(e: str, code: int, value: bytes) -> bytes:
    return struct.pack(e + "HH", code, len(value)) + _pad(value)


def _block(e: str, btype: int, body: bytes) -> bytes:
    body = _pad(body)
    total = len(body) + 12
    return struct.pack(e + "II", btype, total) + body + struct.pack(e + "I", total)


def secrets_block(e: str, secrets_type: int, data: bytes) -> bytes:
    """A Decryption Secrets Block in byte order `e` ('<' or '>')."""
    return _block(e, _DSB, struct.pack(e + "II", secrets_type, len(data)) + data)


class _Source:
    """The input, decompressed if it is gzip, read with a bound on the decompressed size."""

    def __init__(self, path: str, max_decompressed: int) -> None:
        self.path = path
        try:
            raw: BinaryIO = open(path, "rb")
        except OSError as exc:
            raise CaptureError(f"cannot open: {exc.strerror or exc}", path) from None
        head = raw.read(2)
        raw.seek(0)
        self.fh: BinaryIO = gzip.open(raw, "rb") if head == _GZIP_MAGIC else raw  # type: ignore[assignment]
        self._raw = raw
        self._max = max_decompressed if head == _GZIP_MAGIC else -1
        self.offset = 0

    def read(self, n: int) -> bytes:
        """Exactly n bytes, or fewer at the end of the file."""
        try:
            first = self.fh.read(n)
        except (OSError, EOFError) as exc:
            raise CaptureError(f"cannot read at offset {self.offset}: {exc}", self.path) from None
        if len(first) == n or not first:
            self._count(len(first))
            return first
        out = bytearray(first)
        try:
            while len(out) < n:
                chunk = self.fh.read(n - len(out))
                if not chunk:
                    break
                out += chunk
        except (OSError, EOFError) as exc:
            raise CaptureError(f"cannot read at offset {self.offset}: {exc}", self.path) from None
        self._count(len(out))
        return bytes(out)

    def _count(self, n: int) -> None:
        self.offset += n
        if 0 <= self._max < self.offset:
            raise CaptureError(f"decompresses to more than {self._max} bytes (a decompression bomb?)", self.path)

    def close(self) -> None:
        if self.fh is not self._raw:
            self.fh.close()
        self._raw.close()


def write_with_secrets(source: str | os.PathLike, out: BinaryIO, secrets: Iterable[tuple[int, bytes]],
                       max_decompressed: int = MAX_DECOMPRESSED_SIZE) -> int:
    """Copy `source` into `out` as pcapng with these Decryption Secrets Blocks first; returns packets copied.

    Raises `CaptureError` for input that is not pcap/pcapng or is damaged.
    """
    src = _Source(os.fspath(source), max_decompressed)
    try:
        magic = src.read(4)
        if magic == _PCAPNG_MAGIC:
            return _copy_pcapng(src, magic, out, list(secrets))
        if magic in _PCAP_MAGICS:
            return _copy_pcap(src, magic, out, list(secrets))
        raise CaptureError(f"not a pcap or pcapng file (magic {magic.hex()})", src.path)
    finally:
        src.close()


def _copy_pcapng(src: _Source, magic: bytes, out: BinaryIO, secrets: list[tuple[int, bytes]]) -> int:
    packets = 0
    e = "<"
    first_section = True
    head = magic + src.read(4)
    while len(head) == 8:
        at = src.offset - 8
        btype_le = struct.unpack("<I", head[:4])[0]
        if btype_le == _SHB:
            bom = src.read(4)
            if len(bom) < 4:
                raise CaptureError(f"truncated section header at offset {at}", src.path)
            e = "<" if struct.unpack("<I", bom)[0] == _BOM else ">"
            if struct.unpack(e + "I", bom)[0] != _BOM:
                raise CaptureError(f"bad byte-order magic at offset {at}", src.path)
            total = struct.unpack(e + "I", head[4:])[0]
            _check_length(total, 28, at, src.path)
            rest = src.read(total - 12)
            if len(rest) < total - 12:
                raise CaptureError(f"truncated section header at offset {at}", src.path)
            major, minor = struct.unpack(e + "HH", rest[:4])
            if major != PCAPNG_MAJOR_VERSION:   # a reader stops at it: the copy would lose what follows
                raise CaptureError(f"unsupported pcapng version {major}.{minor} in the section header at "
                                   f"offset {at}", src.path)
            body = bom + rest[:4] + struct.pack(e + "q", _UNKNOWN_SECTION_LENGTH) + rest[12:]
            if struct.unpack(e + "I", body[-4:])[0] != total:
                raise CaptureError(f"section header at offset {at}: lengths disagree", src.path)
            out.write(head + body)
            if first_section:
                for stype, data in secrets:
                    out.write(secrets_block(e, stype, data))
                first_section = False
        else:
            btype, total = struct.unpack(e + "II", head)
            _check_length(total, 12, at, src.path)
            if first_section:
                raise CaptureError(f"block at offset {at} before any section header", src.path)
            body = src.read(total - 8)
            if len(body) < total - 8:
                raise CaptureError(f"truncated block at offset {at} (the capture was cut off)", src.path)
            if struct.unpack(e + "I", body[-4:])[0] != total:
                raise CaptureError(f"block at offset {at}: lengths disagree (damaged)", src.path)
            if btype != _DSB:
                out.write(head)
                out.write(body)
                packets += btype in _PACKET_BLOCKS
        head = src.read(8)
    if head:
        raise CaptureError(f"truncated block header at offset {src.offset - len(head)}", src.path)
    return packets


def _check_length(total: int, minimum: int, at: int, path: str) -> None:
    if total < minimum or total % 4 or total > MAX_RECORD:
        raise CaptureError(f"implausible block length {total} at offset {at} (damaged)", path)


def _copy_pcap(src: _Source, magic: bytes, out: BinaryIO, secrets: list[tuple[int, bytes]]) -> int:
    e, tsresol = _PCAP_MAGICS[magic]
    rest = src.read(_PCAP_HEADER - 4)
    if len(rest) < _PCAP_HEADER - 4:
        raise CaptureError("truncated pcap file header", src.path)
    _vmaj, _vmin, _zone, _sigfigs, snaplen, network = struct.unpack(e + "HHiIII", rest)
    linktype = network & _PCAP_LINKTYPE_MASK
    if linktype > _MAX_PCAPNG_LINKTYPE:
        raise CaptureError(f"link type {linktype} does not fit a pcapng interface (16 bits)", src.path)
    w = "<"   # the new file's byte order
    shb = struct.pack(w + "IHHq", _BOM, PCAPNG_MAJOR_VERSION, 0, _UNKNOWN_SECTION_LENGTH)
    shb += _option(w, _OPT_SHB_USERAPPL, USER_APPLICATION.encode()) + _option(w, _OPT_END, b"")
    out.write(_block(w, _SHB, shb))
    for stype, data in secrets:
        out.write(secrets_block(w, stype, data))
    opts = b""
    if tsresol != 6:
        opts += _option(w, _OPT_IF_TSRESOL, bytes((tsresol,)))
    if network & _PCAP_FCS_PRESENT:
        opts += _option(w, _OPT_IF_FCSLEN, bytes((((network >> 28) & 0xF) * 2,)))  # header gives 16-bit words
    if opts:
        opts += _option(w, _OPT_END, b"")
    out.write(_block(w, _IDB, struct.pack(w + "HHI", linktype, 0, snaplen) + opts))
    unit = 10 ** tsresol
    packets = 0
    record = struct.Struct(e + "IIII")
    epb_head = struct.Struct(w + "IIIIIII").pack
    while True:
        hdr = src.read(_PCAP_RECORD)
        if not hdr:
            return packets
        at = src.offset - len(hdr)
        if len(hdr) < _PCAP_RECORD:
            raise CaptureError(f"truncated record header at offset {at} (the capture was cut off)", src.path)
        sec, frac, incl, orig = record.unpack(hdr)
        if incl > MAX_RECORD:
            raise CaptureError(f"implausible record length {incl} at offset {at} (damaged)", src.path)
        data = src.read(incl)
        if len(data) < incl:
            raise CaptureError(f"truncated record at offset {at} (the capture was cut off)", src.path)
        ts = sec * unit + frac
        pad = -incl % 4
        total = 32 + incl + pad
        out.write(epb_head(_EPB, total, 0, ts >> 32, ts & 0xFFFFFFFF, incl, orig))
        out.write(data)
        out.write(b"\x00" * pad + struct.pack(w + "I", total))
        packets += 1
