"""Reading capture files: pcap and pcapng, plain or gzip-compressed, streaming.

Owns: opening the source (path or binary file object), format detection by
magic, the record loops of classic pcap (four magics: microsecond and
nanosecond, both byte orders) and pcapng (sections, interfaces with their link
type, ``if_tsresol`` and ``if_tsoffset``, EPB/SPB/obsolete PB, Decryption
Secrets Blocks), Wireshark-compatible frame numbering, and the hot path that
turns the common frame (Ethernet/VLAN, SLL, SLL2, raw IP or loopback, then
unfragmented IPv4 or plain IPv6, then TCP) into a segment tuple. Anything else
goes to ``linklayer.FrameDecoder``.

The file is read in chunks (``chunk_size``, default 2 MiB), each with
``readinto`` into a fresh buffer that starts with the unread tail of the
previous chunk (a record crossing a chunk boundary); records are decoded from
that buffer. A chunk buffer is never written again once filled, and payloads
are read-only memoryviews into it: cheap to take, and valid for as long as
they are held.

Hostile input: a record or block whose length is implausible is a warning naming
the frame, and reading resumes at the next plausible record or block
(``_pcap_resync``, ``_pcapng_resync``); gzip input is streamed and stops with an
error past ``max_decompressed`` bytes; interfaces and Decryption Secrets Blocks
are bounded (see the constants below and README.md "Bounds").

The record loop is one generator per format; the common frame (Ethernet, IPv4
without options, unfragmented, TCP) is decoded inline by ``_common_frame``; every
other frame goes to ``Capture._decode`` (other link types, VLAN, IPv6, IPv4
options) and from there to ``linklayer.FrameDecoder``. Compiled, the generators'
locals are C integers (``@cython.locals``: a ``.pxd`` cannot type a generator)
and the headers are read through a C pointer into the chunk buffer (``_u16be``,
``_u32``: C functions declared in ``reader.pxd``); pure, the same code indexes
the buffer.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from typing import BinaryIO, Callable, Iterator

try:
    import cython
except ImportError:  # the pure core without Cython installed: the type declarations do nothing
    from .. import _shadow as cython

from .linklayer import FRAGMENT_TIMEOUT, MAX_PENDING_FRAGMENTS, FragmentReassembler, FrameDecoder
from .model import CaptureError, CaptureStats, FrameCounts

__all__ = ["Capture", "DEFAULT_CHUNK_SIZE", "MAX_RECORD", "MAX_DECOMPRESSED_SIZE", "MAX_INTERFACES",
           "MAX_SECRETS_BYTES", "MAX_PLAUSIBLE_FRAME", "MAX_RESYNC_SCAN"]

DEFAULT_CHUNK_SIZE = 2 << 20
_NEVER = 1 << 62       # a file offset no capture reaches
MAX_RECORD = 16 << 20  # larger captured lengths / block lengths are taken as corruption
#: Bytes a gzip-compressed capture may decompress to; beyond it reading stops with an error
#: (a decompression bomb), after the connections read so far.
MAX_DECOMPRESSED_SIZE = 16 << 30
#: pcapng interfaces (IDBs) kept per section; packets on interfaces past it are malformed.
MAX_INTERFACES = 65536
#: Bytes of pcapng Decryption Secrets Blocks kept per capture; further blocks are ignored.
MAX_SECRETS_BYTES = 64 << 20
#: A pcap record longer than both this and the file's snaplen is damage (not a frame).
MAX_PLAUSIBLE_FRAME = 256 << 10
#: Damaged bytes skipped while looking for the next plausible record or block; beyond it
#: reading stops (with a warning naming the frame).
MAX_RESYNC_SCAN = 16 << 20

_PCAP_MAGICS: dict[bytes, tuple[str, int]] = {
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_SHB = 0x0A0D0D0A
_IDB, _PB, _SPB, _EPB, _DSB = 1, 2, 3, 6, 0x0A
# Blocks that are not packets but that Wireshark still shows as frames (and numbers):
# custom blocks (copiable and not) and systemd journal export entries.
_FRAME_BLOCKS = frozenset((0x00000BAD, 0x40000BAD, 0x00000009))
_BOM_LE = b"\x4d\x3c\x2b\x1a"
_BOM_BE = b"\x1a\x2b\x3c\x4d"
#: The pcapng format version read (the Section Header Block's major version; minor versions
#: 1.0 and 1.2 are both in use and read alike).
PCAPNG_MAJOR_VERSION = 1

# Per byte order, the fields of the blocks read outside the hot path: PB fields, IDB fields,
# option header, i64, DSB fields.
_NG = {
    e: (
        struct.Struct(e + "HHIIII").unpack_from,
        struct.Struct(e + "HHI").unpack_from,
        struct.Struct(e + "HH").unpack_from,
        struct.Struct(e + "q").unpack_from,
        struct.Struct(e + "II").unpack_from,
    )
    for e in "<>"
}

# The common frame, decoded inline by the record loops (`_common_frame`): Ethernet, IPv4 without
# options and not a fragment, TCP. Offsets from the start of the frame:
_ETH4TCP_MIN = 54            # captured bytes it needs: Ethernet 14 + IPv4 20 + TCP 20
_AT_ETHERTYPE = 12
_AT_IP = 14                  # version and header length (0x45: IPv4, 20 bytes)
_AT_IP_TOTAL_LENGTH = 16
_AT_IP_FRAGMENT = 20         # flags and fragment offset
_AT_IP_PROTOCOL = 23
_AT_IP_SRC = 26              # then dst (30), the TCP ports (34, 36): the 12-byte 4-tuple key
_AT_IP_DST = 30
_AT_TCP = 34                 # source port, destination port (36), sequence (38), ack (42)
_AT_TCP_OFFSET_FLAGS = 46
_ETHERTYPE_IPV4 = 0x0800
_IPV4_NO_OPTIONS = 0x45
_IPPROTO_TCP = 6
_IP_MORE_FRAGMENTS_OR_OFFSET = 0x3FFF
_TCP_MIN_DATA_OFFSET = 0x5000  # data offset 5 (20 bytes) in the offset/flags field
_TCP_FLAG_BITS = 0x1FF
_SYN_FIN_RST = 0x07
#: What `_common_frame` returns for a segment the SegmentFilter counted.
_COUNTED = object()
#: pcap record header: seconds, fraction, captured length, original length.
_PCAP_RECORD_HEADER = 16
#: pcapng Enhanced Packet Block: type, length, interface, timestamp (high, low), captured and
#: original length, then the packet.
_EPB_HEADER = 28
# The other frames (`_other_frame`).
_LINKTYPE_NULL = 0
_LINKTYPE_ETHERNET = 1
_LINKTYPE_LINUX_SLL = 113
_LINKTYPE_LINUX_SLL2 = 276
_ETHERTYPE_IPV6 = 0x86DD
_ETHERTYPE_VLAN = 0x8100        # 802.1Q
_ETHERTYPE_QINQ = 0x88A8        # 802.1ad
_ETHERTYPE_QINQ_OLD = 0x9100
_ETH_HEADER = 14
_VLAN_TAG = 4
_SLL_HEADER = 16
_SLL_PROTOCOL = 14
_SLL2_HEADER = 20
_NULL_HEADER = 4
_AF_INET = 2
_IP4_HEADER = 20
_IP6_HEADER = 40
_TCP_HEADER = 20
_IP4_TCP_MIN = _IP4_HEADER + _TCP_HEADER
_ETH_MIN_FOR_TCP = _ETH_HEADER + _IP4_HEADER    # (then the IP header decides what more it needs)


# Reading integers and addresses from a record buffer. Compiled, ``p`` is a C pointer into the
# chunk buffer and these are inline C (reader.pxd); pure, ``p`` is the buffer itself. Callers
# check every offset against the buffer's length first.
def _u16be(p, i: int) -> int:
    """The big-endian 16-bit integer at ``p[i]``."""
    return p[i] << 8 | p[i + 1]


def _u32be(p, i: int) -> int:
    """The big-endian 32-bit integer at ``p[i]``."""
    b0 = p[i]
    b1 = p[i + 1]
    b2 = p[i + 2]
    b3 = p[i + 3]
    return b0 << 24 | b1 << 16 | b2 << 8 | b3


def _u32(p, i: int, little: bool) -> int:
    """The 32-bit integer at ``p[i]`` in the file's byte order."""
    if not little:
        return _u32be(p, i)
    b0 = p[i]
    b1 = p[i + 1]
    b2 = p[i + 2]
    b3 = p[i + 3]
    return b3 << 24 | b2 << 16 | b1 << 8 | b0


def _wire_bytes(p, i: int, n: int) -> bytes:
    """``n`` bytes at ``p[i]``, as a new ``bytes`` (an address, a 4-tuple key). (A slice of the C
    pointer is one already; a slice of the pure core's ``bytearray`` buffer is not.)"""
    return p[i:i + n] if cython.compiled else bytes(p[i:i + n])


#: Integers up to this size are exact as doubles (53-bit significand).
_EXACT_DOUBLE_INT = 1 << 53


def _epb_time(p, at: int, little: bool, ifaces: list) -> float:
    """The timestamp of the Enhanced Packet Block at ``p[at]`` (its interface is defined), in
    seconds: the 64-bit count over the interface's units per second (``if_tsresol``), plus its
    offset (``if_tsoffset``), as Python's true division rounds it. When count, divisor and offset
    are exact doubles (microsecond counts, the default, are), the division of the doubles is
    that same correctly rounded result, so the compiled core does it in C; larger ones
    (nanosecond counts) are divided as Python integers."""
    iface = ifaces[_u32(p, at + 8, little)]
    tdiv = iface[1]
    toff = iface[2]
    high = _u32(p, at + 12, little)
    count = high << 32 | _u32(p, at + 16, little)
    if count <= _EXACT_DOUBLE_INT and tdiv <= _EXACT_DOUBLE_INT and -_EXACT_DOUBLE_INT <= toff <= _EXACT_DOUBLE_INT:
        exact_div = tdiv
        exact_off = toff
        return count / exact_div + exact_off
    return int(count) / tdiv + toff


def _common_frame(p, mv: memoryview, start: int, end: int, frame: int, ts: float, counters: dict,
                  until: float) -> tuple | object | None:
    """The common frame at ``p[start:end]`` (at least _ETH4TCP_MIN bytes): Ethernet, IPv4 without
    options, not a fragment, TCP. Returns its segment tuple (the payload a view of ``mv``);
    _COUNTED when the SegmentFilter's ``counters`` took it instead (a plain segment of a listed
    4-tuple before ``until``); None when the frame is not of that kind or its headers disagree
    (the caller decodes it the general way, which reports what is wrong)."""
    if (_u16be(p, start + _AT_ETHERTYPE) != _ETHERTYPE_IPV4 or p[start + _AT_IP] != _IPV4_NO_OPTIONS
            or p[start + _AT_IP_PROTOCOL] != _IPPROTO_TCP
            or _u16be(p, start + _AT_IP_FRAGMENT) & _IP_MORE_FRAGMENTS_OR_OFFSET):
        return None
    offset_flags = _u16be(p, start + _AT_TCP_OFFSET_FLAGS)
    if offset_flags < _TCP_MIN_DATA_OFFSET:
        return None
    ip_end = start + _AT_IP + _u16be(p, start + _AT_IP_TOTAL_LENGTH)  # declared end of the datagram
    payload_at = start + _AT_TCP + ((offset_flags >> 12) << 2)
    if payload_at > ip_end:
        return None
    plen = ip_end - payload_at
    if counters:  # see SegmentFilter
        c = counters.get(_wire_bytes(p, start + _AT_IP_SRC, 12))
        if c is not None and not offset_flags & _SYN_FIN_RST and ts < until:
            c[0] = frame
            c[1] = ts
            c[2] += 1
            c[3] += plen
            return _COUNTED
    return (frame, ts, _wire_bytes(p, start + _AT_IP_SRC, 4), _u16be(p, start + _AT_TCP),
            _wire_bytes(p, start + _AT_IP_DST, 4), _u16be(p, start + _AT_TCP + 2),
            _u32be(p, start + _AT_TCP + 4), _u32be(p, start + _AT_TCP + 8), offset_flags & _TCP_FLAG_BITS,
            mv[payload_at:ip_end] if ip_end <= end else mv[payload_at:end], plen)


class SegmentFilter:
    """Plain segments the consumer wants counted rather than yielded (bulk data of a
    connection whose handshake is over): `counters` maps a 4-tuple as on the wire (the 12
    bytes src address + dst address + sport + dport of an Ethernet/IPv4/TCP frame) to
    `[last frame, last timestamp, segments, payload bytes]`;
    a segment of such a tuple without SYN, FIN or RST and with a timestamp before
    `until` only updates them. The consumer folds and resets the counters itself.

    Saves the segment tuple, its payload view and the consumer's call for each such
    segment: `analyze_file` on benchmarks/out/bulk-heavy.pcap (1M frames, 2,000
    connections) 1.66 s -> 1.46 s; its two parts (analyzer.parts) 0.84/0.97 s -> 0.72/0.84 s.
    """

    __slots__ = ("counters", "until")

    def __init__(self) -> None:
        self.counters: dict[bytes, list] = {}
        self.until = float("-inf")


class _Prefixed:
    """A read-only stream that first returns bytes already consumed from ``raw``."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw
        self.mode = "rb"

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                out, self._head = self._head + self._raw.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._raw.read(n)


def _unshared(buf: bytearray) -> bool:
    """True when no memoryview of ``buf`` is alive (a bytearray with exports cannot resize)."""
    try:
        buf.append(0)
    except BufferError:
        return False
    del buf[-1]
    return True


def _read_min(f: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads until EOF."""
    parts = []
    got = 0
    while got < n:
        b = f.read(n - got)
        if not b:
            break
        parts.append(b)
        got += len(b)
    return b"".join(parts)


_DAY = 86400


def _is_vlan(ethertype: int) -> bool:
    """802.1Q, 802.1ad and the old QinQ tag ethertypes."""
    return ethertype == _ETHERTYPE_VLAN or ethertype == _ETHERTYPE_QINQ or ethertype == _ETHERTYPE_QINQ_OLD


def _ip_version_of(ethertype: int) -> int:
    return 4 if ethertype == _ETHERTYPE_IPV4 else 6 if ethertype == _ETHERTYPE_IPV6 else 0


def _other_frame(p, mv: memoryview, start: int, end: int, frame: int, ts: float, lt: int) -> tuple | None:
    """The segment tuple of a TCP frame at ``p[start:end]`` of the other common kinds: Ethernet
    (VLAN tags too), Linux cooked (SLL, SLL2), raw IP or loopback; IPv4 (options too, not a
    fragment) or IPv6 without extension headers. None for anything else (`FrameDecoder` decodes
    it and says what it is)."""
    caplen = end - start
    ipv = 0  # IP version at `start + off`
    off = 0
    if lt == _LINKTYPE_ETHERNET:
        if caplen >= _ETH_MIN_FOR_TCP:
            ethertype = _u16be(p, start + _AT_ETHERTYPE)
            off = _ETH_HEADER
            while _is_vlan(ethertype) and off + _VLAN_TAG <= caplen:
                ethertype = _u16be(p, start + off + 2)
                off += _VLAN_TAG
            ipv = _ip_version_of(ethertype)
    elif lt == _LINKTYPE_LINUX_SLL:
        if caplen >= _SLL_HEADER + _IP4_HEADER:
            ipv = _ip_version_of(_u16be(p, start + _SLL_PROTOCOL))
            off = _SLL_HEADER
    elif lt == _LINKTYPE_LINUX_SLL2:
        if caplen >= _SLL2_HEADER + _IP4_HEADER:
            ipv = _ip_version_of(_u16be(p, start))
            off = _SLL2_HEADER
    elif _is_raw_ip(lt):
        if caplen >= _IP4_HEADER:
            ipv = p[start] >> 4
    elif lt == _LINKTYPE_NULL:
        if caplen >= _NULL_HEADER + _IP4_HEADER:
            family = _u32(p, start, True)
            ipv = 4 if family == _AF_INET else 6 if _is_af_inet6(family) else 0
            off = _NULL_HEADER
    if ipv == 4:
        return _tcp_in_ipv4(p, mv, start, caplen, off, frame, ts)
    if ipv == 6:
        return _tcp_in_ipv6(p, mv, start, caplen, off, frame, ts)
    return None


def _is_raw_ip(lt: int) -> bool:
    """Link types whose frames begin with the IP header (raw IP, in its several numbers)."""
    return lt == 101 or lt == 12 or lt == 14 or lt == 228 or lt == 229


def _is_af_inet6(family: int) -> bool:
    """AF_INET6 of the loopback header: Linux/BSD numbers differ (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS)."""
    return family == 24 or family == 28 or family == 30


def _tcp_in_ipv4(p, mv: memoryview, start: int, caplen: int, off: int, frame: int, ts: float) -> tuple | None:
    """The TCP segment in the IPv4 datagram at ``p[start + off]`` (a frame of ``caplen`` bytes),
    or None (not TCP, a fragment, headers that do not fit)."""
    if caplen < off + _IP4_TCP_MIN:
        return None
    ip = start + off
    vihl = p[ip]
    if p[ip + 9] != _IPPROTO_TCP or _u16be(p, ip + 6) & _IP_MORE_FRAGMENTS_OR_OFFSET or vihl >> 4 != 4:
        return None
    total_length = _u16be(p, ip + 2)
    tcp = off + ((vihl & 15) << 2)
    ip_end = off + total_length if total_length else caplen  # (0: TCP segmentation offload)
    if tcp < off + _IP4_HEADER or tcp + _TCP_HEADER > ip_end or tcp + _TCP_HEADER > caplen:
        return None
    return _tcp_segment(p, mv, start, caplen, tcp, ip_end, _wire_bytes(p, ip + 12, 4), _wire_bytes(p, ip + 16, 4),
                        frame, ts)


def _tcp_in_ipv6(p, mv: memoryview, start: int, caplen: int, off: int, frame: int, ts: float) -> tuple | None:
    """The TCP segment in the IPv6 packet at ``p[start + off]`` (TCP right after the fixed
    header), or None."""
    if caplen < off + _IP6_HEADER + _TCP_HEADER:
        return None
    ip = start + off
    payload_length = _u16be(p, ip + 4)
    if p[ip + 6] != _IPPROTO_TCP or not payload_length or p[ip] >> 4 != 6:
        return None
    tcp = off + _IP6_HEADER
    ip_end = tcp + payload_length
    if tcp + _TCP_HEADER > ip_end:
        return None
    return _tcp_segment(p, mv, start, caplen, tcp, ip_end, _wire_bytes(p, ip + 8, 16), _wire_bytes(p, ip + 24, 16),
                        frame, ts)


def _tcp_segment(p, mv: memoryview, start: int, caplen: int, tcp: int, ip_end: int, src: bytes, dst: bytes,
                 frame: int, ts: float) -> tuple | None:
    """The segment tuple of the TCP header at frame offset ``tcp`` (its 20 bytes are captured),
    the IP datagram ending at ``ip_end`` (payload beyond ``caplen`` not captured); None when its
    data offset points outside the datagram."""
    at = start + tcp
    offset_flags = _u16be(p, at + 12)
    payload_at = tcp + ((offset_flags >> 12) << 2)
    if payload_at < tcp + _TCP_HEADER or payload_at > ip_end:
        return None
    return (frame, ts, src, _u16be(p, at), dst, _u16be(p, at + 2), _u32be(p, at + 4), _u32be(p, at + 8),
            offset_flags & _TCP_FLAG_BITS, mv[start + payload_at:start + min(ip_end, caplen)], ip_end - payload_at)


def _pcap_resync(buf: bytes | bytearray, off: int, n: int, hdr: Callable, div: int, limit: int,
                 ref_sec: int | None, little: bool) -> tuple[int, bool]:
    """The next plausible pcap record header in ``buf[off:n]``: ``(offset, True)``, or ``(offset, False)``
    when more data is needed to decide (keep the buffer from ``offset`` on).

    Plausible: a fraction below one second, a captured length within ``limit`` and not above
    the original length (itself at most MAX_RECORD), and, once a good record was read
    (``ref_sec``), a time within a day of it; the header that follows it must be plausible
    too, with a time within a day of the first (a candidate whose follower is not in the
    buffer yet is undecided). With ``ref_sec``, only offsets whose high 16 bits of seconds
    fit are tried (found with ``bytes.find``, so skipping is fast).
    """
    def ok(p: int, ref: int | None) -> bool:
        sec, frac, incl, orig = hdr(buf, p)
        return (frac < div and incl <= limit and incl <= orig <= MAX_RECORD
                and (ref is None or abs(sec - ref) <= _DAY))

    def candidates() -> Iterator[int]:
        if ref_sec is None:
            yield from range(off, n - 15)
            return
        rel = 2 if little else 0  # where the high 16 bits of the seconds field are
        pats = {(((ref_sec + d) >> 16) & 0xFFFF).to_bytes(2, "little" if little else "big")
                for d in range(-_DAY, _DAY + 1, 1 << 15)}
        p = off
        while p + 16 <= n:
            found = [c for c in (buf.find(pat, p + rel, n) for pat in pats) if c >= 0]
            if not found:
                return
            c = min(found) - rel
            yield c
            p = c + 1

    for p in candidates():
        if p + 16 > n:
            break
        if ok(p, ref_sec):
            sec, _frac, incl, _orig = hdr(buf, p)
            q = p + 16 + incl
            if q == n:
                return p, True          # the last record of the buffer: nothing follows to check
            if q + 16 > n:
                return p, False         # its follower is not in the buffer yet
            if ok(q, sec):
                return p, True
    return max(off, n - 15), False


def _pcapng_resync(buf: bytes | bytearray, off: int, n: int, big_endian: bool) -> int:
    """Offset of the next plausible pcapng block in ``buf[off:n]``, or -1 (the last 11 bytes are not tried).

    Plausible: an enhanced or simple packet block whose length is sane and equal to its
    trailing copy (when the block is in the buffer), or a section header with a byte-order magic.
    """
    e = ">" if big_endian else "<"
    pats = (struct.pack(e + "I", _EPB), struct.pack(e + "I", _SPB), _PCAPNG_MAGIC)
    p = off
    while p + 12 <= n:
        found = [c for c in (buf.find(pat, p, n) for pat in pats) if c >= 0]
        if not found:
            return -1
        c = min(found)
        if c + 12 > n:
            return -1
        if buf[c:c + 4] == _PCAPNG_MAGIC:
            if buf[c + 8:c + 12] in (_BOM_LE, _BOM_BE):
                return c
        else:
            blen = struct.unpack_from(e + "I", buf, c + 4)[0]
            if 16 <= blen <= MAX_RECORD and not blen & 3 and (
                    c + blen > n or struct.unpack_from(e + "I", buf, c + blen - 4)[0] == blen):
                return c
        p = c + 1
    return -1


class Capture:
    """One capture file; ``segments()`` streams its TCP segments.

    ``source`` is a path or a binary file object (not closed by us unless we
    opened it). Bad magic or an empty file raises ``CaptureError`` here;
    damage later on only produces warnings in ``stats``.

    Attributes: ``path`` (or "<stream>"), ``name`` (given, else the file's base
    name), ``format`` ("pcap" | "pcapng"), ``linktype`` (pcap only), ``size``
    (bytes on disk if known; compare with ``stats.bytes_read`` for progress),
    ``stats``, ``decryption_secrets`` (``(secrets_type, data)`` of the pcapng
    DSBs passed so far), ``first_ts``/``last_ts`` (set during iteration).
    """

    def __init__(self, source: str | os.PathLike | BinaryIO, name: str | None = None, *,
                 chunk_size: int = DEFAULT_CHUNK_SIZE, max_pending_fragments: int = MAX_PENDING_FRAGMENTS,
                 fragment_timeout: float = FRAGMENT_TIMEOUT,
                 max_decompressed: int = MAX_DECOMPRESSED_SIZE) -> None:
        self.stats = CaptureStats()
        self.decryption_secrets: list[tuple[int, bytes]] = []
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.format = ""
        self.linktype: int | None = None  # pcap only; pcapng has one per interface
        self.size: int | None = None
        self._chunk = max(1, int(chunk_size))
        self._own = False
        self._gz = False
        self._used = False
        self._head = b""
        self._fh: BinaryIO | None = None
        self._spare: bytearray | None = None  # a chunk buffer to reuse once no view of it is left
        self._max_unpacked = int(max_decompressed)
        self._unpacked = 0                     # decompressed bytes read (gzip input)
        self._secret_bytes = 0
        # One part of a file read in byte ranges (`part()`): packet records that start before
        # `_skip_before` are counted but not decoded; at the first one starting at or after
        # `_mark_at`, `_on_mark(frame)` is called (once); `stop()` ends reading at the next chunk.
        self._skip_before = -1
        self._mark_at = _NEVER
        self._on_mark: Callable[[int], None] | None = None
        self._stop = False
        self._filter = SegmentFilter()   # see summarise()
        self._on_chunk: Callable[[int], None] | None = None
        #: frame number of the first packet record at or after the mark (part mode)
        self.mark_frame: int | None = None
        #: len(stats.warnings) when the first record of the part was reached / at the mark
        self.warnings_at_start = 0
        self.warnings_at_mark: int | None = None
        self._first_frame = 1        # first frame of the part's range
        self._fast_frames = 0        # pcapng: frames decoded inline before the mark (set at the mark)
        self._counts_at_mark: FrameCounts | None = None
        #: set when reading stopped at a bound that makes the file an error (decompression bomb);
        #: the connections read before it are still valid
        self.error: CaptureError | None = None
        self._decoder = FrameDecoder(self.stats, FragmentReassembler(
            self.stats, max_pending=max_pending_fragments, timeout=fragment_timeout))
        if isinstance(source, (str, os.PathLike)):
            self.path = os.fsdecode(source)
            try:
                raw: BinaryIO = open(self.path, "rb")
            except OSError as exc:
                raise CaptureError(f"cannot open: {exc.strerror or exc}", self.path) from None
            self._own = True
        else:
            raw = source
            nm = getattr(source, "name", None)
            self.path = nm if isinstance(nm, str) else "<stream>"
        self.name = name if name is not None else (os.path.basename(self.path) or self.path)
        self._raw = raw
        try:
            self.size = os.fstat(raw.fileno()).st_size
        except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
            self.size = None
        try:
            self._open()
        except CaptureError:
            self.close()
            raise
        except (OSError, EOFError, zlib.error) as exc:
            self.close()
            raise CaptureError(f"cannot read: {exc}", self.path) from None

    # -- opening -----------------------------------------------------------------------
    def _open(self) -> None:
        raw = self._raw
        try:
            start = raw.tell() if raw.seekable() else None
        except (OSError, AttributeError, ValueError):
            start = None
        head = _read_min(raw, 2)
        if head == b"\x1f\x8b":
            if start is not None:
                raw.seek(start)
                src: BinaryIO = raw
            else:
                src = _Prefixed(head, raw)  # type: ignore[assignment]
            self._fh = gzip.open(src, "rb")  # type: ignore[assignment]
            self._gz = True
            head = b""
        else:
            self._fh = raw
            self.stats.bytes_read += len(head)
        head += self._read(28 - len(head), exact=True)
        if not head:
            raise CaptureError("empty file (no capture header)", self.path)
        magic = head[:4]
        if magic in _PCAP_MAGICS:
            if len(head) < 24:
                raise CaptureError("truncated pcap file header", self.path)
            e, div = _PCAP_MAGICS[magic]
            _vmaj, _vmin, _tz, _sig, snaplen, network = struct.unpack_from(e + "HHiIII", head, 4)
            self.format = "pcap"
            self._endian = e
            self._tsdiv = div
            self.snaplen = snaplen
            self.linktype = network & 0x03FFFFFF  # upper bits: FCS length flag/size
            self._head = head[24:]
        elif magic == _PCAPNG_MAGIC:
            if len(head) < 12:
                raise CaptureError("truncated pcapng section header", self.path)
            if head[8:12] not in (_BOM_LE, _BOM_BE):
                raise CaptureError("not a pcapng file: bad byte-order magic", self.path)
            if len(head) >= 16:
                major, minor = struct.unpack_from("<HH" if head[8:12] == _BOM_LE else ">HH", head, 12)
                if major != PCAPNG_MAJOR_VERSION:
                    raise CaptureError(f"unsupported pcapng version {major}.{minor} (this reader reads "
                                       f"{PCAPNG_MAJOR_VERSION}.x)", self.path)
            self.format = "pcapng"
            self._head = head
        else:
            raise CaptureError(f"not a pcap or pcapng file (magic {magic.hex()})", self.path)

    def _read(self, n: int, exact: bool = False) -> bytes:
        fh = self._fh
        assert fh is not None
        data = _read_min(fh, n) if exact else fh.read(n)
        self._count_read(len(data))
        return data

    def _refill(self, tail: bytes | memoryview, need: int) -> bytes | bytearray | None:
        """Return ``tail`` + the next chunk (at least ``need`` bytes if available), or None at EOF.

        With ``readinto`` the chunk is read straight into a fresh buffer behind a
        copy of the (short) tail, so a chunk is never copied a second time.
        """
        if self._over_unpacked():
            return None
        size = max(self._chunk, need)
        t = len(tail)
        fh = self._fh
        readinto = getattr(fh, "readinto", None)
        try:
            if readinto is None:
                data = self._read(size)
                if not data:
                    return None
                return bytes(tail) + data if t else data
            out = self._spare
            self._spare = None
            if out is not None and _unshared(out):
                if len(out) != t + size:
                    if len(out) > t + size:
                        del out[t + size:]
                    else:
                        out.extend(bytes(t + size - len(out)))
            else:
                out = bytearray(t + size)
            with memoryview(out) as whole:
                whole[:t] = tail
                with whole[t:] as dest:
                    got = readinto(dest) or 0
        except (OSError, EOFError, ValueError, zlib.error) as exc:  # ValueError: closed file
            self.stats.file_truncated = True
            self.stats.warn(f"read error after frame {self.stats.frames}: {exc}")
            return None
        self._count_read(got)
        if not got:
            return None
        if got < size:
            del out[t + got:]
        if self._on_chunk is not None:
            self._on_chunk(self.stats.bytes_read)
        return out

    def _over_unpacked(self) -> bool:
        """Gzip input past ``max_decompressed`` bytes: record the error and stop reading."""
        if not self._gz or self._unpacked <= self._max_unpacked:
            return False
        msg = (f"decompressed size exceeds {self._max_unpacked} bytes after frame {self.stats.frames} "
               "(decompression bomb?); reading stopped")
        self.stats.file_truncated = True
        self.stats.warn(msg)
        self.error = CaptureError(msg, self.path, self.stats.frames)
        return True

    def _count_read(self, n: int) -> None:
        if self._gz:
            self._unpacked += n
            try:
                self.stats.bytes_read = self._raw.tell()
            except (OSError, AttributeError, ValueError):
                self.stats.bytes_read += n
        else:
            self.stats.bytes_read += n

    def close(self) -> None:
        """Close what we opened (a caller's file object stays open)."""
        if self._gz and self._fh is not None:
            self._fh.close()
        if self._own:
            self._raw.close()
        self._fh = None
        self._spare = None

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Capture({self.path!r}, format={self.format!r})"

    # -- parts -------------------------------------------------------------------------
    def part(self, skip_before: int, mark_at: int | None, on_mark: Callable[[int], None] | None) -> None:
        """Read one byte range of the file (see `analyzer.parts`): packet records starting before
        `skip_before` are counted (frame numbers stay the file's) but not decoded; non-packet
        pcapng blocks (interfaces, sections, secrets) are read as usual. `on_mark(frame)` is
        called before the first packet record that starts at or after `mark_at`."""
        if self._gz:
            raise CaptureError("a compressed capture cannot be read in parts", self.path)
        self._skip_before = max(-1, int(skip_before))
        self._mark_at = _NEVER if mark_at is None else int(mark_at)
        self._on_mark = on_mark

    @property
    def skipping(self) -> bool:
        """Reading one part (see part()) and no packet record of it reached yet."""
        return self._skip_before >= 0

    def summarise(self, flt: SegmentFilter) -> None:
        """Count the plain segments of the 4-tuples in `flt` instead of yielding them."""
        self._filter = flt

    def on_chunk(self, callback: Callable[[int], None] | None) -> None:
        """Call `callback(bytes_read)` after each chunk read from the file (progress)."""
        self._on_chunk = callback

    def stop(self) -> None:
        """End reading at the next chunk boundary (the frames already in memory are still yielded)."""
        self._stop = True

    def _reached(self, frame: int) -> None:
        """The first packet record of the part (skip) or of the next one (mark) was reached."""
        if self._skip_before >= 0:
            self._skip_before = -1
            self._first_frame = frame
            self.warnings_at_start = len(self.stats.warnings)
            return
        self._mark_at = _NEVER
        self.mark_frame = frame
        self.warnings_at_mark = len(self.stats.warnings)
        self._counts_at_mark = self._counts(frame - 1, self._fast_frames)
        if self._on_mark is not None:
            self._on_mark(frame)

    def frame_counts(self) -> FrameCounts:
        """The frames this reading is answerable for, once ``segments()`` is exhausted: per
        link type, and those that could not be decoded. The whole file; when reading one part
        (see part()), the frames of its byte range only (so the parts' counts add up to the
        file's)."""
        if self._counts_at_mark is not None:
            return self._counts_at_mark
        if self.skipping:
            return FrameCounts()  # no packet record in the part's range
        return self._counts(self.stats.frames, 0)

    def _counts(self, last_frame: int, fast: int) -> FrameCounts:
        """The counts of frames ``_first_frame`` .. ``last_frame`` (``fast``: pcapng frames
        decoded inline that ``stats.link_types`` does not hold yet)."""
        st = self.stats
        if self.format == "pcap":
            n = last_frame - self._first_frame + 1
            lts = {self.linktype: n} if n > 0 and self.linktype is not None else {}
        else:
            lts = dict(st.link_types)
            if fast:
                lts[1] = lts.get(1, 0) + fast
        return FrameCounts(lts, dict(st.undecodable))

    def _step(self, frame: int, start: int, lo: int, hi: int) -> tuple[int, int]:
        """A record at the part's start (`lo <= start` while skipping) or past its end
        (`start >= hi`): note it and return the new `(lo, hi)`; records still before the part
        leave them as they are (the caller skips those: `start < lo`)."""
        if start < lo:
            return lo, hi
        if lo >= 0:
            lo = -1
            self._reached(frame)
        if start >= hi:
            hi = _NEVER
            self._reached(frame)
        return lo, hi

    def _window(self, n: int, header: int) -> tuple[int, int]:
        """`(lo, hi)`: the part's bounds as buffer offsets of a record's data, for the current
        buffer of `n` bytes and records with `header` bytes before their data (a record is
        decoded as usual when `lo <= start < hi`)."""
        base = self.stats.bytes_read - n - header  # file offset of buf[0], less the header
        lo = self._skip_before - base if self._skip_before >= 0 else -1
        hi = self._mark_at - base if self._mark_at != _NEVER else _NEVER
        return lo, hi

    # -- record loops ----------------------------------------------------------------
    # One generator per format reads the records and decodes the common frame inline
    # (``raw=False``, behind ``segments()``), or yields the raw records
    # ``(frame, ts, linktype, data, origlen)`` (``raw=True``, behind ``_pcap_records()`` and
    # ``_pcapng_records()``, which the tests use to check the fast path against
    # ``FrameDecoder``).
    #
    # Hot loop. Compiled with typed locals and C reads (callgrind, the first 33,000 frames of
    # handshake-heavy, `for s in Capture(p).segments(): pass` less the imports): pcap 343 M ->
    # 136 M instructions (4.1 k per frame, most of it now the segment tuple's objects), the same
    # frames as pcapng 428 M -> 163 M, with a VLAN tag or as IPv6 (`_other_frame`) 542 M and
    # 460 M -> 202 M (benchmarks/README.md "The capture reader typed"). The pure core indexes the
    # buffer instead of one struct call per header: its loop is slower (0.6 -> 1.5 s on
    # handshake-heavy), a whole pure run ~10 % slower.
    # Earlier, pure (Python 3.11.7; best of 3, old and new
    # code alternating in one process because the box is shared and timings drift by +-15%):
    # `for s in Capture(p).segments(): pass` over benchmarks/out/bulk-heavy.pcap (1.0M Ethernet/
    # IPv4/TCP frames, 1 GB) 0.97-1.21 s before the record loop and the decoder were merged,
    # 0.69-0.70 s after (~1.45M frames/s); handshake-heavy.pcap (331k frames) 0.30-0.33 s ->
    # 0.21 s; handshake-heavy as pcapng 0.40 s -> 0.30 s. Reusing chunk buffers (when no view is
    # left) instead of allocating one per chunk is worth ~0.18 s of that on bulk-heavy (page
    # faults); a bigger chunk size is not. A dpkt decode (pcap.Reader + Ethernet -> IP -> TCP)
    # manages ~145k frames/s.

    def _truncated(self, frame: int, what: str) -> None:
        self.stats.file_truncated = True
        self.stats.warn(f"file truncated in frame {frame}: {what}")

    def _start(self) -> None:
        if self._used:
            raise CaptureError("segments() can be iterated only once per Capture", self.path)
        self._used = True
        if self._fh is None:
            raise CaptureError("capture is closed", self.path)

    def _pcap_records(self) -> Iterator[tuple]:
        """Yield ``(frame, ts, linktype, data, origlen)`` for each pcap record."""
        return self._pcap_loop(True)

    def _pcapng_records(self) -> Iterator[tuple]:
        """Yield ``(frame, ts, linktype, data, origlen)`` for each pcapng packet block."""
        return self._pcapng_loop(True)

    @cython.locals(p=cython.p_const_uchar, little=cython.bint, n=cython.Py_ssize_t, off=cython.Py_ssize_t,
                   start=cython.Py_ssize_t, end=cython.Py_ssize_t, incl=cython.Py_ssize_t,
                   orig=cython.Py_ssize_t, sec=cython.Py_ssize_t, frac=cython.Py_ssize_t,
                   div=cython.Py_ssize_t, frame=cython.Py_ssize_t, last=cython.Py_ssize_t,
                   n_other=cython.Py_ssize_t, n_trunc=cython.Py_ssize_t, lo=cython.Py_ssize_t,
                   hi=cython.Py_ssize_t, minlen=cython.Py_ssize_t, limit=cython.Py_ssize_t,
                   skipped=cython.Py_ssize_t, ts=cython.double, until=cython.double, have_ts=cython.bint,
                   first=cython.bint, resync=cython.bint, counters=dict)
    def _pcap_loop(self, raw: bool) -> Iterator[tuple]:
        """Classic pcap: segment tuples, or raw records when ``raw``."""
        if not raw:
            self._start()
        stats = self.stats
        hdr = struct.Struct(self._endian + "IIII").unpack_from  # (for _pcap_resync)
        little = self._endian == "<"
        other = self._decode
        div = self._tsdiv
        flt = self._filter
        counters = flt.counters
        until = flt.until
        lt = self.linktype
        # captured length from which a frame can take the inline path (never, when raw)
        minlen = _ETH4TCP_MIN if lt == 1 and not raw else MAX_RECORD + 1
        # a longer record is damage: look for the next plausible one (see _pcap_resync)
        snap = self.snaplen
        limit = max(snap, MAX_PLAUSIBLE_FRAME) if 0 < snap < MAX_RECORD else MAX_RECORD
        resync = False
        skipped = 0
        buf: bytes | bytearray = self._head
        self._head = b""
        p = buf
        mv = memoryview(buf).toreadonly()
        n = len(buf)
        off = 0
        frame = 0
        n_other = 0  # frames not decoded inline (all the others yield a segment)
        n_trunc = 0
        ts = 0.0
        have_ts = False
        first = not raw
        lo, hi = self._window(n, _PCAP_RECORD_HEADER)
        try:
            while True:
                if first and off + _PCAP_RECORD_HEADER <= n:
                    if off + _PCAP_RECORD_HEADER + _u32(p, off + 8, little) <= n:
                        self.first_ts = _u32(p, off, little) + _u32(p, off + 4, little) / div
                        first = False
                if lo >= 0 and not resync:
                    # records wholly before this part (see part()): walk their headers only
                    last = -1
                    while off + _PCAP_RECORD_HEADER <= n:
                        incl = _u32(p, off + 8, little)
                        end = off + _PCAP_RECORD_HEADER + incl
                        if off + _PCAP_RECORD_HEADER >= lo or incl > limit or end > n:
                            break
                        if incl < _u32(p, off + 12, little):
                            n_trunc += 1
                        frame += 1
                        last = off
                        off = end
                    if last >= 0:
                        ts = _u32(p, last, little) + _u32(p, last + 4, little) / div
                        have_ts = True
                while off + _PCAP_RECORD_HEADER <= n:
                    if resync:
                        q, found = _pcap_resync(buf, off, n, hdr, div, limit, int(ts) if have_ts else None,
                                                little)
                        if not found:
                            skipped += q - off
                            off = q
                            if skipped > MAX_RESYNC_SCAN:
                                stats.warn(f"frame {frame + 1}: no plausible record in {skipped} bytes, stopping")
                                return
                            break
                        skipped += q - off
                        off = q
                        resync = False
                        stats.warn(f"frame {frame + 1}: resumed after skipping {skipped} damaged bytes "
                                   "(frame numbers from here on may differ from other tools)")
                        continue
                    incl = _u32(p, off + 8, little)
                    if incl > limit:
                        stats.malformed += 1
                        stats.warn(f"frame {frame + 1}: implausible captured length {incl}; "
                                   "looking for the next record")
                        resync = True
                        skipped = 1
                        off += 1
                        continue
                    start = off + _PCAP_RECORD_HEADER
                    end = start + incl
                    if end > n:
                        break
                    sec = _u32(p, off, little)
                    frac = _u32(p, off + 4, little)
                    orig = _u32(p, off + 12, little)
                    frame += 1
                    ts = sec + frac / div
                    have_ts = True
                    off = end
                    if incl < orig:
                        n_trunc += 1
                    if lo >= 0 or start >= hi:  # reading one part of the file (see part())
                        lo, hi = self._step(frame, start, lo, hi)
                        if start < lo:
                            continue
                    if incl >= minlen:
                        seg = _common_frame(p, mv, start, end, frame, ts, counters, until)
                        if seg is not None:
                            if seg is not _COUNTED:
                                yield seg
                                until = flt.until  # the consumer may have moved it
                            continue
                    n_other += 1
                    if raw:
                        yield frame, ts, lt, mv[start:end], orig
                        continue
                    seg = other(frame, ts, lt, buf, mv, start, end)
                    if seg is not None:
                        yield seg
                        until = flt.until
                stats.frames = frame
                if self._stop:
                    return
                if off + _PCAP_RECORD_HEADER <= n and not resync:
                    need = _PCAP_RECORD_HEADER + _u32(p, off + 8, little) - (n - off)
                else:
                    need = _PCAP_RECORD_HEADER
                nbuf = self._refill(mv[off:], need)
                if nbuf is None:
                    if resync:
                        self._truncated(frame + 1, f"no plausible record in the last {skipped + n - off} bytes")
                    elif off < n:
                        self._truncated(frame + 1, f"record cut off ({n - off} bytes left)")
                    return
                if type(buf) is bytearray:
                    self._spare = buf
                buf = nbuf
                p = buf
                mv = memoryview(buf).toreadonly()
                n = len(buf)
                off = 0
                lo, hi = self._window(n, _PCAP_RECORD_HEADER)
        except (struct.error, IndexError, ValueError) as exc:  # safety net: every length is checked above
            stats.malformed += 1
            stats.warn(f"undecodable record after frame {frame}: {exc}, stopping")
        finally:
            stats.frames = frame
            self._spare = None
            if not raw:
                stats.tcp_segments += frame - n_other
                stats.truncated_frames += n_trunc
                if frame and lt is not None:
                    stats.link_types[lt] = frame
                if have_ts:
                    self.last_ts = ts

    @cython.locals(p=cython.p_const_uchar, little=cython.bint, n=cython.Py_ssize_t, off=cython.Py_ssize_t,
                   start=cython.Py_ssize_t, stop=cython.Py_ssize_t, end=cython.Py_ssize_t,
                   btype=cython.Py_ssize_t, blen=cython.Py_ssize_t, cap=cython.Py_ssize_t,
                   orig=cython.Py_ssize_t, iface=cython.Py_ssize_t, frame=cython.Py_ssize_t,
                   last=cython.Py_ssize_t, f0=cython.Py_ssize_t, n_tcp=cython.Py_ssize_t,
                   n_trunc=cython.Py_ssize_t, lo=cython.Py_ssize_t, hi=cython.Py_ssize_t,
                   skipped=cython.Py_ssize_t, ts=cython.double, last_ts=cython.double, until=cython.double,
                   have_ts=cython.bint, first=cython.bint, fast=cython.bint, resync=cython.bint,
                   counters=dict, ifaces=list)
    def _pcapng_loop(self, raw: bool) -> Iterator[tuple]:
        """pcapng: segment tuples, or raw records of the packet blocks when ``raw``."""
        if not raw:
            self._start()
        stats = self.stats
        warn = stats.warn
        other = self._decode
        fast = not raw
        flt = self._filter
        counters = flt.counters
        until = flt.until
        ltc = stats.link_types  # frames per link type, less those decoded inline (n_tcp, added at the end)
        buf: bytes | bytearray = self._head
        self._head = b""
        p = buf
        mv = memoryview(buf).toreadonly()
        n = len(buf)
        off = 0
        frame = 0
        n_tcp = 0
        n_trunc = 0
        ts = 0.0
        have_ts = False
        first = not raw
        lo, hi = self._window(n, _EPB_HEADER)
        last_ts = 0.0
        # interface: (linktype, ts divisor, ts offset seconds, snaplen)
        ifaces: list[tuple[int, int, int, int]] = []
        little = True  # the section's byte order
        pb, idb, opt, i64, u32pair = _NG["<"]
        resync = False   # after damage: looking for the next plausible block (see _pcapng_resync)
        skipped = 0
        try:
            while True:
                if lo >= 0 and not resync:
                    # whole enhanced packet blocks before this part (see part()): walk their
                    # headers only; anything else is left to the loop below
                    last = -1
                    f0 = off
                    while off + _EPB_HEADER <= n:
                        blen = _u32(p, off + 4, little)
                        end = off + blen
                        if (_u32(p, off, little) != _EPB or off + _EPB_HEADER >= lo or blen < 32 or blen & 3
                                or blen > MAX_RECORD or end > n or 32 + _u32(p, off + 20, little) > blen
                                or _u32(p, off + 8, little) >= len(ifaces) or _u32(p, end - 4, little) != blen):
                            break
                        if _u32(p, off + 20, little) < _u32(p, off + 24, little):
                            n_trunc += 1
                        frame += 1
                        last = off
                        off = end
                    if last >= 0:
                        if first:
                            self.first_ts = _epb_time(p, f0, little, ifaces)
                            first = False
                        ts = last_ts = _epb_time(p, last, little, ifaces)
                        have_ts = True
                while off + 12 <= n:
                    if resync:
                        q = _pcapng_resync(buf, off, n, not little)
                        if q < 0:
                            skipped += max(0, n - 11 - off)
                            off = max(off, n - 11)
                            if skipped > MAX_RESYNC_SCAN:
                                warn(f"frame {frame + 1}: no plausible block in {skipped} bytes, stopping")
                                return
                            break
                        skipped += q - off
                        off = q
                        resync = False
                        warn(f"frame {frame + 1}: resumed after skipping {skipped} damaged bytes "
                             "(frame numbers from here on may differ from other tools)")
                        continue
                    btype = _u32(p, off, little)
                    blen = _u32(p, off + 4, little)
                    if btype == _EPB:  # the hot block type; same checks as the other blocks below
                        # (an EPB cannot be a section header; with fewer than 28 bytes left its
                        # fields are not read: blen < 32 is reported, else end > n)
                        if blen < 12 or blen & 3 or blen > MAX_RECORD:
                            stats.malformed += 1
                            warn(f"frame {frame + 1}: bad pcapng block length {blen} (type {btype:#x}); "
                                 "looking for the next block")
                            resync, skipped, off = True, 1, off + 1
                            continue
                        end = off + blen
                        if end > n:
                            break
                        if _u32(p, end - 4, little) != blen:
                            stats.malformed += 1
                            warn(f"frame {frame + 1}: pcapng block lengths disagree (type {btype:#x}); "
                                 "looking for the next block")
                            resync, skipped, off = True, 1, off + 1
                            continue
                        frame += 1
                        if blen >= 32:  # (so its fields are in the buffer)
                            iface = _u32(p, off + 8, little)
                            cap = _u32(p, off + 20, little)
                            orig = _u32(p, off + 24, little)
                        if blen < 32:
                            stats.malformed += 1
                            warn(f"frame {frame}: enhanced packet block too short")
                        elif 32 + cap > blen:
                            stats.malformed += 1
                            warn(f"frame {frame}: captured length {cap} beyond its block")
                        elif iface >= len(ifaces):
                            stats.malformed += 1
                            warn(f"frame {frame}: packet on undefined interface {iface}")
                        else:
                            lt = ifaces[iface][0]
                            ts = last_ts = _epb_time(p, off, little, ifaces)
                            have_ts = True
                            start = off + _EPB_HEADER
                            stop = start + cap
                            off = end
                            if first:
                                self.first_ts = ts
                                first = False
                            if cap < orig:
                                n_trunc += 1
                            if lo >= 0 or start >= hi:  # reading one part of the file (see part())
                                self._fast_frames = n_tcp  # (for the counts at the part's mark)
                                lo, hi = self._step(frame, start, lo, hi)
                                if start < lo:
                                    continue
                            if lt == 1 and fast and cap >= _ETH4TCP_MIN:
                                seg = _common_frame(p, mv, start, stop, frame, ts, counters, until)
                                if seg is not None:
                                    n_tcp += 1
                                    if seg is not _COUNTED:
                                        yield seg
                                        until = flt.until  # the consumer may have moved it
                                    continue
                            if raw:
                                yield frame, ts, lt, mv[start:stop], orig
                                continue
                            ltc[lt] = ltc.get(lt, 0) + 1
                            seg = other(frame, ts, lt, buf, mv, start, stop)
                            if seg is not None:
                                yield seg
                                until = flt.until
                            continue
                        off = end
                        continue
                    if btype == _SHB:
                        bom = buf[off + 8:off + 12]
                        if bom == _BOM_LE:
                            little = True
                        elif bom == _BOM_BE:
                            little = False
                        else:
                            stats.malformed += 1
                            warn(f"bad section header byte-order magic after frame {frame}, stopping")
                            return
                        pb, idb, opt, i64, u32pair = _NG["<" if little else ">"]
                        blen = _u32(p, off + 4, little)
                    if blen < 12 or blen & 3 or blen > MAX_RECORD:
                        stats.malformed += 1
                        warn(f"frame {frame + 1}: bad pcapng block length {blen} (type {btype:#x}); "
                             "looking for the next block")
                        resync, skipped, off = True, 1, off + 1
                        continue
                    end = off + blen
                    if end > n:
                        break
                    if _u32(p, end - 4, little) != blen:
                        stats.malformed += 1
                        warn(f"frame {frame + 1}: pcapng block lengths disagree (type {btype:#x}); "
                             "looking for the next block")
                        resync, skipped, off = True, 1, off + 1
                        continue
                    if btype == _SPB:
                        frame += 1
                        if blen < 16 or not ifaces:
                            stats.malformed += 1
                            warn(f"frame {frame}: simple packet block without interface or too short")
                        else:
                            orig = _u32(p, off + 8, little)
                            lt, _tdiv, _toff, snap = ifaces[0]
                            cap = min(orig, blen - 16)
                            if snap:
                                cap = min(cap, snap)
                            ts = last_ts
                            have_ts = True
                            start = off + 12
                            off = end
                            if first:
                                self.first_ts = ts
                                first = False
                            if cap < orig:
                                n_trunc += 1
                            if lo >= 0 or start + 16 >= hi:  # reading one part of the file (see part())
                                self._fast_frames = n_tcp  # (for the counts at the part's mark)
                                lo, hi = self._step(frame, start + 16, lo, hi)
                                if start + 16 < lo:
                                    continue
                            if raw:
                                yield frame, ts, lt, mv[start:start + cap], orig
                                continue
                            ltc[lt] = ltc.get(lt, 0) + 1
                            seg = other(frame, ts, lt, buf, mv, start, start + cap)
                            if seg is not None:
                                yield seg
                                until = flt.until
                            continue
                    elif btype == _PB:
                        frame += 1
                        if blen < 32:
                            stats.malformed += 1
                            warn(f"frame {frame}: packet block too short")
                        else:
                            iface, _drops, tsh, tsl, cap, orig = pb(buf, off + 8)
                            if 32 + cap > blen:
                                stats.malformed += 1
                                warn(f"frame {frame}: captured length {cap} beyond its block")
                            elif iface >= len(ifaces):
                                stats.malformed += 1
                                warn(f"frame {frame}: packet on undefined interface {iface}")
                            else:
                                lt, tdiv, toff, _snap = ifaces[iface]
                                ts = last_ts = ((tsh << 32) | tsl) / tdiv + toff
                                have_ts = True
                                start = off + 28
                                off = end
                                if first:
                                    self.first_ts = ts
                                    first = False
                                if cap < orig:
                                    n_trunc += 1
                                if lo >= 0 or start >= hi:  # reading one part of the file (see part())
                                    self._fast_frames = n_tcp  # (for the counts at the part's mark)
                                    lo, hi = self._step(frame, start, lo, hi)
                                    if start < lo:
                                        continue
                                if raw:
                                    yield frame, ts, lt, mv[start:start + cap], orig
                                    continue
                                ltc[lt] = ltc.get(lt, 0) + 1
                                seg = other(frame, ts, lt, buf, mv, start, start + cap)
                                if seg is not None:
                                    yield seg
                                    until = flt.until
                                continue
                    elif btype == _IDB and len(ifaces) >= MAX_INTERFACES:
                        if len(ifaces) == MAX_INTERFACES:
                            ifaces.append((-1, 1_000_000, 0, 0))  # stands for every ignored interface
                            stats.malformed += 1
                            warn(f"more than {MAX_INTERFACES} interfaces after frame {frame}; the rest are ignored")
                    elif btype == _IDB:
                        if blen < 20:
                            stats.malformed += 1
                            warn(f"interface description block too short after frame {frame}")
                            ifaces.append((-1, 1_000_000, 0, 0))
                        else:
                            lt, _res, snap = idb(buf, off + 8)
                            tdiv, toff = 1_000_000, 0
                            o = off + 16
                            stop = end - 4
                            while o + 4 <= stop:
                                code, olen = opt(buf, o)
                                if code == 0 or o + 4 + olen > stop:
                                    break
                                if code == 9 and olen >= 1:
                                    r = buf[o + 4]
                                    exp = r & 0x7F
                                    if exp > 60:
                                        warn(f"implausible if_tsresol {r:#x}, using microseconds")
                                    else:
                                        tdiv = 2 ** exp if r & 0x80 else 10 ** exp
                                elif code == 14 and olen >= 8:
                                    toff = i64(buf, o + 4)[0]
                                o += 4 + ((olen + 3) & ~3)
                            ifaces.append((lt, tdiv, toff, snap))
                    elif btype == _SHB:
                        if blen < 28:
                            stats.malformed += 1
                            warn(f"section header block too short after frame {frame}, stopping")
                            return
                        major = opt(buf, off + 12)[0]
                        if major != PCAPNG_MAJOR_VERSION:
                            stats.malformed += 1
                            warn(f"unsupported pcapng major version {major} after frame {frame}, stopping")
                            return
                        ifaces = []
                    elif btype in _FRAME_BLOCKS:
                        frame += 1
                    elif btype == _DSB:
                        if blen >= 20:
                            stype, slen = u32pair(buf, off + 8)
                            if 20 + slen <= blen and self._secret_bytes + slen > MAX_SECRETS_BYTES:
                                warn(f"decryption secrets beyond {MAX_SECRETS_BYTES} bytes after frame {frame}; ignored")
                            elif 20 + slen <= blen:
                                self._secret_bytes += slen
                                self.decryption_secrets.append((stype, bytes(buf[off + 16:off + 16 + slen])))
                            else:
                                stats.malformed += 1
                                warn(f"decryption secrets block length {slen} beyond its block")
                    off = end
                stats.frames = frame
                if off + 12 <= n and not resync:
                    need = _u32(p, off + 4, little) if buf[off:off + 4] != _PCAPNG_MAGIC else 0
                    need = max(12, min(need, MAX_RECORD) - (n - off))
                else:
                    need = 12
                if self._stop:
                    return
                nbuf = self._refill(mv[off:], need)
                if nbuf is None:
                    if resync:
                        self._truncated(frame + 1, f"no plausible block in the last {skipped + n - off} bytes")
                    elif off < n:
                        kind = _u32(p, off, little) if off + 4 <= n else None
                        if kind in (_EPB, _SPB, _PB):
                            self._truncated(frame + 1, f"packet block cut off ({n - off} bytes left)")
                        else:
                            self._truncated(frame + 1, f"block cut off after frame {frame} ({n - off} bytes left)")
                    return
                if type(buf) is bytearray:
                    self._spare = buf
                buf = nbuf
                p = buf
                mv = memoryview(buf).toreadonly()
                n = len(buf)
                off = 0
                lo, hi = self._window(n, _EPB_HEADER)
        except (struct.error, IndexError, ValueError) as exc:  # safety net: every length is checked above
            stats.malformed += 1
            stats.warn(f"undecodable record after frame {frame}: {exc}, stopping")
        finally:
            stats.frames = frame
            self._spare = None
            if not raw:
                stats.tcp_segments += n_tcp
                stats.truncated_frames += n_trunc
                if n_tcp:
                    ltc[1] = ltc.get(1, 0) + n_tcp
                if have_ts:
                    self.last_ts = ts

    # -- segments ---------------------------------------------------------------------
    def segments(self) -> Iterator[tuple]:
        """Yield ``(frame, ts, src, sport, dst, dport, seq, ack, flags, payload, plen)``.

        Streams the file once; never raises for damaged content after the
        header (it records warnings in ``stats`` and skips or stops).
        """
        return self._pcap_loop(False) if self.format == "pcap" else self._pcapng_loop(False)

    def on_udp(self, handler: Callable[[int, float, bytes, int, bytes, int, memoryview], None] | None) -> None:
        """While ``segments()`` runs, pass every UDP datagram to ``handler(frame, ts, src, sport, dst, dport,
        payload)`` (off by default; the payload view is only valid during the call). TCP is unaffected."""
        self._decoder.on_udp = handler

    @cython.locals(p=cython.p_const_uchar)
    def _decode(self, frame: int, ts: float, lt: int, buf: bytes | bytearray, mv: memoryview, start: int,
                end: int) -> tuple | None:
        """A frame the record loops do not decode inline, at ``buf[start:end]`` (``mv`` a view of
        ``buf``): the other common link types, IPv4 with options and plain IPv6 by
        `_other_frame`; everything else through ``FrameDecoder``."""
        p = buf
        seg = _other_frame(p, mv, start, end, frame, ts, lt)
        if seg is not None:
            self.stats.tcp_segments += 1
            return seg
        return self._decoder.decode(frame, ts, lt, mv[start:end])
