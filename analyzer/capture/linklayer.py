"""The general (slow-path) frame decoder of the capture stage.

Owns: link layers (Ethernet with stacked VLAN tags and 802.2 LLC/SNAP, PPPoE
session, MPLS, Linux SLL/SLL2, raw IP, BSD loopback DLT_NULL/DLT_LOOP, PPP with
and without HDLC-like framing and protocol field compression, PPP in HDLC
framing, PPPoE without Ethernet, Cisco HDLC), IPv4 (options, TSO, padding),
IPv6 extension headers, IPv4/IPv6 fragment reassembly (bounded), tunnels (GRE
incl. transparent Ethernet bridging and ERSPAN, IP-in-IP, IPv6-in-IP, VXLAN)
and the TCP header. Every frame that the reader's fast path does not handle
comes here, and this decoder alone is complete: for a frame the fast path does
handle, it gives the same tuple.

Everything is ``struct`` over the frame's memoryview; lengths are checked at
every layer and damage becomes a counted, recorded warning. A frame that is read
but carries nothing for us (ARP, LLDP, PPP control protocols ...) is counted in
``non_ip``, an IP datagram of another protocol (ICMP ...) in ``non_tcp``; a frame
that could have carried IP but could not be decoded (a link type, ethertype or
PPP protocol we do not read) is counted by kind and number in
``CaptureStats.undecodable``, which the pipeline turns into one warning per file.
"""

from __future__ import annotations

import struct
from typing import Callable
from .model import CaptureStats

__all__ = ["FrameDecoder", "FragmentReassembler", "RAW_LINKTYPES", "SUPPORTED_LINKTYPES", "MAX_PENDING_FRAGMENTS",
           "FRAGMENT_TIMEOUT", "MAX_DATAGRAM_SIZE", "MAX_TUNNEL_DEPTH"]

# Link types (pcap LINKTYPE_* / DLT_* numbers, as found in pcap headers and pcapng IDBs).
LT_NULL = 0
LT_ETHERNET = 1
LT_LOOP = 108
LT_SLL = 113
LT_SLL2 = 276
LT_IPV4 = 228
LT_IPV6 = 229
LT_PPP = 9           # PPP (RFC 1661), with or without the HDLC-like address/control bytes ff 03
LT_PPP_HDLC = 50     # PPP in HDLC-like framing (RFC 1662), or Cisco PPP with HDLC framing
LT_PPP_ETHER = 51    # PPPoE header (RFC 2516) without the Ethernet header
LT_C_HDLC = 104      # Cisco HDLC: address, control, 2-byte protocol (an ethertype)
RAW_LINKTYPES = frozenset((101, 12, 14))
SUPPORTED_LINKTYPES = frozenset((LT_NULL, LT_ETHERNET, LT_LOOP, LT_SLL, LT_SLL2, LT_IPV4, LT_IPV6, LT_PPP,
                                 LT_PPP_HDLC, LT_PPP_ETHER, LT_C_HDLC)) | RAW_LINKTYPES

# Ethertypes.
ET_IPV4 = 0x0800
ET_IPV6 = 0x86DD
ET_VLAN = frozenset((0x8100, 0x88A8, 0x9100))
ET_PPPOE_SESSION = 0x8864
ET_MAX_LENGTH = 1500      # an Ethernet type field up to this is an 802.3 length: 802.2 LLC follows
ET_MIN_TYPE = 0x0600      # ... from this on it is an ethertype
LLC_SNAP = b"\xaa\xaa\x03\x00\x00\x00"  # 802.2 SNAP header with an ethertype behind (RFC 1042)
# Ethertypes of frames that are read and carry nothing for us (no IP can be inside):
# ARP, RARP, Wake-on-LAN, DEC, AppleTalk/AARP, IPX, flow control, slow protocols (LACP),
# PPPoE discovery, EAPOL and its pre-authentication, industrial Ethernet (PROFINET,
# EtherCAT, Powerlink, GOOSE, SV, SERCOS), LLDP, HomePlug, MRP, MVRP/MMRP, PTP, NC-SI,
# CFM, FCoE/FIP, RoCE, IEEE 1905.1, AVTP, ATA over Ethernet, loopback test, Cisco CDP/SLARP
# (Cisco HDLC), SLPP, Qnet, CobraNet, HyperSCSI.
ET_NOT_IP = frozenset((0x0806, 0x8035, 0x0842, 0x6002, 0x6003, 0x6004, 0x809B, 0x80F3, 0x8137, 0x8808, 0x8809,
                       0x8863, 0x888E, 0x88C7, 0x8892, 0x88A4, 0x88AB, 0x88B8, 0x88BA, 0x88CD, 0x88CC,
                       0x887B, 0x88E1, 0x88E3, 0x88F5, 0x88F6, 0x88F7, 0x88F8, 0x8902, 0x8906, 0x8914,
                       0x8915, 0x893A, 0x22F0, 0x88A2, 0x9000, 0x2000, 0x8102, 0x8204, 0x8819, 0x889A))
# PPP protocol numbers (RFC 1661, RFC 3032, RFC 5072).
PPP_IPV4 = 0x0021
PPP_IPV6 = 0x0057
PPP_MPLS = frozenset((0x0281, 0x0283))
PPP_CONTROL = 0x8000      # from here on: network and link control protocols (IPCP, LCP ...), no datagrams
PPP_ADDRESS_CONTROL = (0xFF, 0x03)
PPPOE_SESSION_CODE = 0x00  # other codes are discovery packets (PADI, PADO ...)
CISCO_HDLC_ADDRESSES = (0x0F, 0x8F)  # first byte of a Cisco HDLC frame (unicast, broadcast)
ET_MPLS = frozenset((0x8847, 0x8848))
ET_PPP = 0x880B  # in enhanced GRE (RFC 2637)
ET_TEB = 0x6558  # transparent Ethernet bridging (GRE carrying Ethernet)
ET_ERSPAN2 = 0x88BE
ET_ERSPAN3 = 0x22EB

# BSD address families found in DLT_NULL / DLT_LOOP headers.
AF_INET = 2
AF_INET6 = frozenset((10, 24, 28, 30))

# IP protocol numbers.
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPIP = 4
IPPROTO_IPV6 = 41
IPPROTO_GRE = 47
IPV6_EXT_GENERIC = frozenset((0, 43, 60, 135, 139, 140))  # (len + 1) * 8 octets
IPV6_FRAGMENT = 44
IPV6_AH = 51
IPV6_NO_NEXT = 59

VXLAN_PORT = 4789
MAX_TUNNEL_DEPTH = 8
#: IP datagrams waiting for fragments at once (the oldest is dropped beyond it).
MAX_PENDING_FRAGMENTS = 256
#: Seconds of capture time a datagram may wait for its missing fragments.
FRAGMENT_TIMEOUT = 60.0
#: Largest reassembled IP datagram (bytes); fragments beyond it drop the datagram.
MAX_DATAGRAM_SIZE = 65535

_H = struct.Struct(">H").unpack_from
_HH = struct.Struct(">HH").unpack_from
_I_LE = struct.Struct("<I").unpack_from
_I_BE = struct.Struct(">I").unpack_from
_IP4 = struct.Struct(">BxHHHBB2x4s4s").unpack_from  # vihl, tlen, ident, frag, ttl, proto, src, dst
_IP6 = struct.Struct(">I H B x 16s 16s").unpack_from  # vtcfl, plen, nxt, src, dst
_TCP = struct.Struct(">HHIIH").unpack_from  # sport, dport, seq, ack, offset/flags
_FRAG6 = struct.Struct(">BxHI").unpack_from  # nxt, offset/M, ident


class _Malformed(Exception):
    """Internal: a length check failed; caught in ``FrameDecoder.decode``."""


class _Pending:
    __slots__ = ("first_ts", "pieces", "total", "size", "proto")

    def __init__(self, ts: float) -> None:
        self.first_ts = ts
        self.pieces: list[tuple[int, bytes]] = []
        self.total: int | None = None
        self.size = 0
        self.proto: int | None = None


class FragmentReassembler:
    """Bounded IP fragment reassembly (IPv4 and IPv6 share it; keys differ).

    At most ``max_pending`` datagrams wait at once (the oldest is dropped), a
    datagram whose first fragment is older than ``timeout`` seconds (capture
    time) is dropped, and no datagram grows beyond ``max_size`` bytes.
    Overlapping data: the first fragment to arrive wins.
    """

    def __init__(self, stats: CaptureStats, max_pending: int = MAX_PENDING_FRAGMENTS,
                 timeout: float = FRAGMENT_TIMEOUT, max_size: int = MAX_DATAGRAM_SIZE) -> None:
        self.stats = stats
        self.max_pending = max_pending
        self.timeout = timeout
        self.max_size = max_size
        self.pending: dict[tuple, _Pending] = {}

    def add(self, frame: int, key: tuple, ts: float, offset: int, more: bool, chunk: bytes,
            proto: int | None) -> tuple[bytes, int] | None:
        """Add one fragment; return ``(datagram payload, protocol)`` once complete."""
        pending = self.pending
        if pending:
            limit = ts - self.timeout
            for k in [k for k, p in pending.items() if p.first_ts < limit]:
                del pending[k]
                self.stats.warn(f"frame {frame}: IP fragments timed out before reassembly")
        end = offset + len(chunk)
        entry = pending.get(key)
        if entry is None:
            if len(pending) >= self.max_pending:
                pending.pop(next(iter(pending)))
                self.stats.warn(f"frame {frame}: too many pending IP datagrams, oldest dropped")
            entry = pending[key] = _Pending(ts)
        if end > self.max_size or entry.size + len(chunk) > 2 * self.max_size:
            del pending[key]
            self.stats.malformed += 1
            self.stats.warn(f"frame {frame}: IP fragment beyond {self.max_size} bytes, datagram dropped")
            return None
        if offset == 0 and proto is not None:
            entry.proto = proto
        if not more:
            if entry.total is not None and entry.total != end:
                del pending[key]
                self.stats.malformed += 1
                self.stats.warn(f"frame {frame}: IP fragments disagree on datagram length, dropped")
                return None
            entry.total = end
        entry.pieces.append((offset, chunk))
        entry.size += len(chunk)
        if entry.total is None or entry.proto is None:
            return None
        total = entry.total
        covered = 0
        for off, data in sorted(entry.pieces, key=lambda p: p[0]):
            if off > covered:
                return None
            covered = max(covered, off + len(data))
        if covered < total:
            return None
        out = bytearray(total)
        for off, data in reversed(entry.pieces):  # earlier arrivals overwrite: first one wins
            stop = min(off + len(data), total)
            if stop > off:
                out[off:stop] = data[: stop - off]
        del pending[key]
        self.stats.reassembled_datagrams += 1
        return bytes(out), entry.proto


class FrameDecoder:
    """Decode one captured frame of a given link type into a TCP segment tuple.

    ``decode`` returns ``(frame, ts, src, sport, dst, dport, seq, ack, flags,
    payload, plen)`` or ``None``; every frame it does not yield is counted in
    the shared ``CaptureStats`` (non_ip: nothing for us; non_tcp; malformed;
    undecodable, by kind and number; or a fragment waiting for the rest).
    """

    def __init__(self, stats: CaptureStats, reassembler: FragmentReassembler | None = None) -> None:
        self.stats = stats
        self.frag = reassembler or FragmentReassembler(stats)
        self._frame = 0
        self._ts = 0.0
        # set by Capture.on_udp: called as on_udp(frame, ts, src, sport, dst, dport, payload) per UDP datagram
        self.on_udp: Callable[[int, float, bytes, int, bytes, int, memoryview], None] | None = None

    # -- entry point ---------------------------------------------------------------
    def decode(self, frame: int, ts: float, linktype: int, data: memoryview | bytes) -> tuple | None:
        self._frame = frame
        self._ts = ts
        try:
            return self._link(linktype, data)
        except (_Malformed, struct.error, IndexError, ValueError) as exc:
            self.stats.malformed += 1
            self.stats.warn(f"frame {frame}: malformed packet ({str(exc) or type(exc).__name__})")
            return None

    # -- link layers ---------------------------------------------------------------
    def _link(self, lt: int, data: memoryview | bytes) -> tuple | None:
        n = len(data)
        if lt == LT_ETHERNET:
            return self._ethernet(data, 0, n, 0)
        if lt == LT_SLL:
            if n < 16:
                raise _Malformed("short Linux cooked header")
            return self._ethertype(_H(data, 14)[0], data, 16, n, 0)
        if lt == LT_SLL2:
            if n < 20:
                raise _Malformed("short Linux cooked v2 header")
            return self._ethertype(_H(data, 0)[0], data, 20, n, 0)
        if lt in RAW_LINKTYPES or lt == LT_IPV4 or lt == LT_IPV6:
            if n < 1:
                raise _Malformed("empty raw IP frame")
            return self._ip_by_version(data, 0, n, 0)
        if lt == LT_NULL or lt == LT_LOOP:
            if n < 4:
                raise _Malformed("short loopback header")
            fam = _I_BE(data, 0)[0] if lt == LT_LOOP else _I_LE(data, 0)[0]
            if fam != AF_INET and fam not in AF_INET6 and lt == LT_NULL:
                fam = _I_BE(data, 0)[0]  # written on a machine of the other byte order
            if fam == AF_INET:
                return self._ipv4(data, 4, n, 0)
            if fam in AF_INET6:
                return self._ipv6(data, 4, n, 0)
            if lt == LT_NULL:  # name it in whichever byte order gives the plausible (small) number
                fam = min(fam, _I_LE(data, 0)[0])
            self.stats.not_decoded("address family", fam)
            return None
        if lt == LT_PPP:
            return self._ppp(data, 0, n, 0)
        if lt == LT_PPP_HDLC:
            if n >= 1 and data[0] in CISCO_HDLC_ADDRESSES:
                return self._cisco_hdlc(data, n)
            return self._ppp(data, 0, n, 0)
        if lt == LT_PPP_ETHER:
            return self._pppoe(data, 0, n, 0)
        if lt == LT_C_HDLC:
            return self._cisco_hdlc(data, n)
        self.stats.not_decoded("link type", lt)
        return None

    def _cisco_hdlc(self, data: memoryview | bytes, n: int) -> tuple | None:
        if n < 4:
            raise _Malformed("short Cisco HDLC header")
        return self._ethertype(_H(data, 2)[0], data, 4, n, 0)

    def _ppp(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        """A PPP frame from its start: optional address/control ff 03 (RFC 1662), then the
        protocol field, compressed to one byte when odd (RFC 1661 6.5)."""
        if off + 2 <= lim and data[off] == PPP_ADDRESS_CONTROL[0] and data[off + 1] == PPP_ADDRESS_CONTROL[1]:
            off += 2
        if off >= lim:
            raise _Malformed("short PPP header")
        proto = data[off]
        if proto & 1:
            off += 1
        else:
            if off + 2 > lim:
                raise _Malformed("short PPP header")
            proto = _H(data, off)[0]
            off += 2
        if proto == PPP_IPV4:
            return self._ipv4(data, off, lim, depth)
        if proto == PPP_IPV6:
            return self._ipv6(data, off, lim, depth)
        if proto in PPP_MPLS:
            return self._mpls(data, off, lim, depth)
        if proto >= PPP_CONTROL:
            self.stats.non_ip += 1
        else:
            self.stats.not_decoded("PPP protocol", proto)
        return None

    def _pppoe(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        """A PPPoE header (RFC 2516: ver/type, code, session id, length), then PPP."""
        if off + 6 > lim:
            raise _Malformed("short PPPoE header")
        if data[off + 1] != PPPOE_SESSION_CODE:
            self.stats.non_ip += 1  # discovery
            return None
        length = _H(data, off + 4)[0]
        return self._ppp(data, off + 6, min(lim, off + 6 + length), depth)

    def _mpls(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        """An MPLS label stack (RFC 3032) to its bottom label, then IPv4 or IPv6 by version."""
        while True:
            if off + 4 > lim:
                raise _Malformed("short MPLS label stack")
            bottom = data[off + 2] & 0x01
            off += 4
            if bottom:
                break
        if off >= lim:
            raise _Malformed("MPLS without payload")
        v = data[off] >> 4
        if v == 4 or v == 6:
            return self._ip_by_version(data, off, lim, depth)
        self.stats.not_decoded("MPLS payload", v)
        return None

    def _ethernet(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        if off + 14 > lim:
            raise _Malformed("short Ethernet header")
        et = _H(data, off + 12)[0]
        off += 14
        while et in ET_VLAN:
            if off + 4 > lim:
                raise _Malformed("short VLAN tag")
            et = _H(data, off + 2)[0]
            off += 4
        if et <= ET_MAX_LENGTH:
            return self._llc(data, off, lim, depth)
        return self._ethertype(et, data, off, lim, depth)

    def _ethertype(self, et: int, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        if et == ET_IPV4:
            return self._ipv4(data, off, lim, depth)
        if et == ET_IPV6:
            return self._ipv6(data, off, lim, depth)
        if et in ET_VLAN:
            if off + 4 > lim:
                raise _Malformed("short VLAN tag")
            return self._ethertype(_H(data, off + 2)[0], data, off + 4, lim, depth)
        if et == ET_PPPOE_SESSION:
            return self._pppoe(data, off, lim, depth)
        if et in ET_MPLS:
            return self._mpls(data, off, lim, depth)
        if et in ET_NOT_IP or et < ET_MIN_TYPE:  # (below: Linux cooked pseudo-types: 802.2, CAN ...)
            self.stats.non_ip += 1
            return None
        self.stats.not_decoded("ethertype", et)
        return None

    def _llc(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        """802.3 frame: 802.2 LLC; SNAP with an ethertype (RFC 1042) is followed, anything else
        (spanning tree, CDP, NetBIOS ...) carries nothing for us."""
        if off + 8 <= lim and data[off:off + 6] == LLC_SNAP:
            return self._ethertype(_H(data, off + 6)[0], data, off + 8, lim, depth)
        self.stats.non_ip += 1
        return None

    # -- network layer ---------------------------------------------------------------
    def _ip_by_version(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        v = data[off] >> 4
        if v == 4:
            return self._ipv4(data, off, lim, depth)
        if v == 6:
            return self._ipv6(data, off, lim, depth)
        self.stats.not_decoded("IP version", v)
        return None

    def _ipv4(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        if off + 20 > lim:
            raise _Malformed("short IPv4 header")
        vihl, tlen, ident, frag, _ttl, proto, src, dst = _IP4(data, off)
        ihl = (vihl & 0x0F) << 2
        if vihl >> 4 != 4 or ihl < 20:
            raise _Malformed("bad IPv4 version/header length")
        if tlen == 0:  # TCP segmentation offload: length not filled in
            decl_end = lim
        else:
            if tlen < ihl:
                raise _Malformed("IPv4 total length shorter than header")
            decl_end = off + tlen
        if off + ihl > lim:
            raise _Malformed("IPv4 options cut off")
        avail = min(decl_end, lim)  # padding past the datagram is not payload
        if frag & 0x3FFF:
            self.stats.ip_fragments += 1
            if avail < decl_end:
                self.stats.warn(f"frame {self._frame}: IPv4 fragment cut by snaplen, not reassembled")
                return None
            chunk = bytes(data[off + ihl:decl_end])
            done = self.frag.add(self._frame, (4, src, dst, proto, ident), self._ts,
                                 (frag & 0x1FFF) << 3, bool(frag & 0x2000), chunk, proto)
            if done is None:
                return None
            payload, proto = done
            return self._l4(proto, src, dst, payload, 0, len(payload), len(payload), depth)
        return self._l4(proto, src, dst, data, off + ihl, avail, decl_end, depth)

    def _ipv6(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        if off + 40 > lim:
            raise _Malformed("short IPv6 header")
        vtcfl, plen, nxt, src, dst = _IP6(data, off)
        if vtcfl >> 28 != 6:
            raise _Malformed("bad IPv6 version")
        decl_end = off + 40 + plen if plen else lim  # 0: jumbogram or offload
        avail = min(decl_end, lim)
        return self._ipv6_chain(nxt, src, dst, data, off + 40, avail, decl_end, depth)

    def _ipv6_chain(self, nxt: int, src: bytes, dst: bytes, data: memoryview | bytes, o: int,
                    avail: int, decl_end: int, depth: int) -> tuple | None:
        for _ in range(64):
            if nxt in IPV6_EXT_GENERIC:
                if o + 2 > avail:
                    raise _Malformed("IPv6 extension header cut off")
                nxt, hlen = data[o], (data[o + 1] + 1) << 3
                o += hlen
            elif nxt == IPV6_AH:
                if o + 2 > avail:
                    raise _Malformed("IPv6 AH cut off")
                nxt, hlen = data[o], (data[o + 1] + 2) << 2
                o += hlen
            elif nxt == IPV6_FRAGMENT:
                if o + 8 > avail:
                    raise _Malformed("IPv6 fragment header cut off")
                fnxt, offm, ident = _FRAG6(data, o)
                o += 8
                self.stats.ip_fragments += 1
                if avail < decl_end:
                    self.stats.warn(f"frame {self._frame}: IPv6 fragment cut by snaplen, not reassembled")
                    return None
                if o > decl_end:
                    raise _Malformed("IPv6 fragment beyond payload length")
                chunk = bytes(data[o:decl_end])
                offset = offm & 0xFFF8
                done = self.frag.add(self._frame, (6, src, dst, ident), self._ts, offset, bool(offm & 1),
                                     chunk, fnxt if offset == 0 else None)
                if done is None:
                    return None
                payload, fnxt = done
                return self._ipv6_chain(fnxt, src, dst, payload, 0, len(payload), len(payload), depth)
            elif nxt == IPV6_NO_NEXT:
                self.stats.non_tcp += 1
                return None
            else:
                if o > decl_end:
                    raise _Malformed("IPv6 extension headers beyond payload length")
                return self._l4(nxt, src, dst, data, o, avail, decl_end, depth)
        raise _Malformed("too many IPv6 extension headers")

    # -- transport layer and tunnels ------------------------------------------------
    def _l4(self, proto: int, src: bytes, dst: bytes, data: memoryview | bytes, off: int, avail: int,
            decl_end: int, depth: int) -> tuple | None:
        if proto == IPPROTO_TCP:
            return self._tcp(src, dst, data, off, avail, decl_end)
        if depth < MAX_TUNNEL_DEPTH:
            if proto == IPPROTO_IPIP:
                return self._ipv4(data, off, avail, depth + 1)
            if proto == IPPROTO_IPV6:
                return self._ipv6(data, off, avail, depth + 1)
            if proto == IPPROTO_GRE:
                return self._gre(data, off, avail, depth + 1)
            if proto == IPPROTO_UDP:
                return self._udp(data, off, avail, depth, src, dst)
        self.stats.non_tcp += 1
        return None

    def _tcp(self, src: bytes, dst: bytes, data: memoryview | bytes, off: int, avail: int,
             decl_end: int) -> tuple:
        if off + 20 > avail:
            raise _Malformed("TCP header cut off")
        sport, dport, seq, ack, offflags = _TCP(data, off)
        poff = off + ((offflags >> 12) << 2)
        if poff < off + 20 or poff > decl_end:
            raise _Malformed("bad TCP data offset")
        self.stats.tcp_segments += 1
        if not isinstance(data, memoryview):
            data = memoryview(data)
        return (self._frame, self._ts, src, sport, dst, dport, seq, ack, offflags & 0x1FF,
                data[poff:avail], decl_end - poff)

    def _udp(self, data: memoryview | bytes, off: int, avail: int, depth: int,
             src: bytes = b"", dst: bytes = b"") -> tuple | None:
        # VXLAN is looked into; other datagrams go to the on_udp handler when one is set (QUIC).
        if off + 8 <= avail:
            sport, dport = _HH(data, off)
            if dport == VXLAN_PORT and off + 16 <= avail and data[off + 8] & 0x08:
                return self._ethernet(data, off + 16, avail, depth + 1)
            if self.on_udp is not None:
                ulen = _HH(data, off + 4)[0]
                end = min(off + ulen, avail) if ulen >= 8 else avail   # 0: jumbogram / offloaded
                if not isinstance(data, memoryview):
                    data = memoryview(data)
                self.on_udp(self._frame, self._ts, src, sport, dst, dport, data[off + 8 : end])
        self.stats.non_tcp += 1
        return None

    def _gre(self, data: memoryview | bytes, off: int, lim: int, depth: int) -> tuple | None:
        # RFC 2784/2890 (and RFC 1701 routing, RFC 2637 enhanced GRE version 1).
        if off + 4 > lim:
            raise _Malformed("short GRE header")
        flags, proto = _HH(data, off)
        version = flags & 0x7
        o = off + 4
        if version == 0:
            if flags & 0xC000:  # checksum or routing present: checksum + offset
                o += 4
            if flags & 0x2000:  # key
                o += 4
            if flags & 0x1000:  # sequence number
                o += 4
            if flags & 0x4000:  # source route entries until the empty one
                while True:
                    if o + 4 > lim:
                        raise _Malformed("GRE routing cut off")
                    sre_len = data[o + 3]
                    o += 4 + sre_len
                    if sre_len == 0:
                        break
        elif version == 1:  # PPTP: key always, optional seq and ack; carries PPP
            o += 4 + (4 if flags & 0x1000 else 0) + (4 if flags & 0x0080 else 0)
            if proto == ET_PPP:
                if o == lim:  # an acknowledgement without payload
                    self.stats.non_ip += 1
                    return None
                return self._ppp(data, o, lim, depth)
            self.stats.not_decoded("ethertype", proto)
            return None
        else:
            self.stats.not_decoded("GRE version", version)
            return None
        if o > lim:
            raise _Malformed("GRE header cut off")
        if proto == ET_TEB:
            return self._ethernet(data, o, lim, depth)
        if proto == ET_ERSPAN2:
            # ERSPAN type I has no sequence number and no ERSPAN header.
            return self._ethernet(data, o + 8 if flags & 0x1000 else o, lim, depth)
        if proto == ET_ERSPAN3:
            if o + 12 > lim:
                raise _Malformed("short ERSPAN III header")
            sub = 8 if data[o + 11] & 0x01 else 0  # O bit: platform-specific subheader
            return self._ethernet(data, o + 12 + sub, lim, depth)
        return self._ethertype(proto, data, o, lim, depth)

