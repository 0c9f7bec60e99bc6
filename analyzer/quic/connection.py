"""QUIC connections over UDP: Initial/Handshake decryption, CRYPTO reassembly.

Owns turning the datagrams of a UDP conversation (numbered and classified by
`analyzer.udp`) into one `ConnectionSummary` per QUIC connection
(`transport = 'quic'`): a conversation becomes a
QUIC connection at its first long-header Initial packet, whose sender is the
client and whose Destination Connection ID gives the Initial keys (again after a
Retry). Coalesced packets are walked, Initial packets decrypted, CRYPTO frames
reassembled per direction and packet number space (out of order, across packets
and datagrams, bounded) and the handshake bytes fed to the same
`analyzer.tls.connection.TLSConnection` that TCP uses. Handshake packets are
decrypted when a key log gives the handshake traffic secrets. Retry, Version
Negotiation and 0-RTT packets are counted. Without keys, the handshake counts as
complete once both sides sent Handshake packets and a 1-RTT packet was seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..tls.connection import TLSConnection
from ..tls.registry import alert_name
from ..tls.summary import ConnectionSummary
from . import packets as P
from .crypto import PacketKeys, QUICCryptoError, initial_keys, initial_salt, suite_hash

MAX_CRYPTO_BUFFER = 256 * 1024     # out-of-order CRYPTO bytes kept per direction and space
MAX_CRYPTO_OFFSET = 1 << 20        # a CRYPTO offset beyond this is hostile
MAX_CRYPTO_FRAGMENTS = 4096        # out-of-order CRYPTO frames kept per direction and space
MAX_ERRORS = 16
_CLIENT, _SERVER = 0, 1
_SPACES = (P.INITIAL, P.HANDSHAKE)

# secrets lookup: (client_random, label) -> secret
SecretLookup = Callable[[bytes, str], "bytes | None"]


def quic_version_name(v: int) -> str:
    if v == 0x00000001:
        return "QUICv1"
    if v == 0x6B3343CF:
        return "QUICv2"
    if v >> 8 == 0xFF0000:
        return f"draft-{v & 0xFF}"
    return f"0x{v:08x}"


class _CryptoStream:
    """One direction's CRYPTO stream in one packet number space: in-order delivery of out-of-order frames."""

    __slots__ = ("next", "pending", "buffered")

    def __init__(self) -> None:
        self.next = 0
        self.pending: dict[int, bytes] = {}
        self.buffered = 0

    def add(self, offset: int, data: bytes) -> bytes:
        """Store a frame; return the bytes that became contiguous (maybe empty)."""
        end = offset + len(data)
        if end <= self.next:
            return b""                              # retransmission
        if offset < self.next:
            data = data[self.next - offset :]
            offset = self.next
        if offset > self.next:
            if (offset > MAX_CRYPTO_OFFSET or self.buffered + len(data) > MAX_CRYPTO_BUFFER
                    or len(self.pending) >= MAX_CRYPTO_FRAGMENTS):
                raise P.QUICDecodeError("CRYPTO data too far ahead (bound reached)")
            old = self.pending.get(offset)
            if old is None or len(old) < len(data):
                self.pending[offset] = data
                self.buffered += len(data) - (len(old) if old else 0)
            return b""
        out = bytearray(data)
        self.next = end
        while self.pending:
            progressed = False
            for off in sorted(self.pending):
                if off > self.next:
                    break
                chunk = self.pending.pop(off)
                self.buffered -= len(chunk)
                if off + len(chunk) > self.next:
                    out += chunk[self.next - off :]
                    self.next = off + len(chunk)
                progressed = True
            if not progressed:
                break
        return bytes(out)


@dataclass
class QUICConnection:
    """One UDP conversation that carried a QUIC Initial."""

    stream: int
    client: tuple[bytes, int]
    server: tuple[bytes, int]
    frame: int
    ts: float
    tls: TLSConnection
    secrets: SecretLookup | None = None
    version: int = 0
    keys: dict[tuple[str, int], PacketKeys] = field(default_factory=dict)
    largest_pn: dict[tuple[str, int], int] = field(default_factory=dict)
    crypto: dict[tuple[str, int], _CryptoStream] = field(default_factory=dict)
    dcid: bytes | None = None          # the client's DCID its Initial keys come from
    retry_pending: bool = False
    last_frame: int = 0
    last_ts: float = 0.0
    bytes: list[int] = field(default_factory=lambda: [0, 0])
    sent_handshake: list[bool] = field(default_factory=lambda: [False, False])
    one_rtt: list[int] = field(default_factory=lambda: [0, 0])
    undecryptable: int = 0

    # -- input -------------------------------------------------------------

    def datagram(self, d: int, data: bytes, frame: int, ts: float) -> None:
        self.last_frame, self.last_ts = frame, ts
        self.bytes[d] += len(data)
        pos = 0
        n = len(data)
        s = self.tls.summary
        while pos < n:
            first = data[pos]
            if not first & 0x80:
                self.one_rtt[d] += 1               # short header: 1-RTT, runs to the end of the datagram
                return
            try:
                h = P.parse_long_header(data, pos)
            except P.QUICDecodeError as e:
                self._error(f"{'client' if d == _CLIENT else 'server'} packet in frame {frame}: {e}")
                return
            if h.kind == P.VERSION_NEGOTIATION:
                s.quic_version_negotiation += 1
                return
            if h.kind == P.RETRY:
                s.quic_retry += 1
                if d == _SERVER:
                    self.retry_pending = True     # keys come from the client's next Initial DCID
                return
            if h.kind == P.ZERO_RTT:
                s.quic_0rtt += 1
            elif h.kind in _SPACES:
                if h.kind == P.HANDSHAKE:
                    self.sent_handshake[d] = True
                self._protected(d, h, data, pos, frame, ts)
            pos = h.end

    def _protected(self, d: int, h: P.LongHeader, data: bytes, pos: int, frame: int, ts: float) -> None:
        space = h.kind
        if space == P.INITIAL:
            if d == _CLIENT and (self.dcid is None or self.retry_pending):
                self._set_initial(h.dcid, h.version)
            if self.version == 0:
                self.version = h.version
        keys = self.keys.get((space, d))
        if keys is None and space == P.HANDSHAKE:
            keys = self._handshake_keys(d)
        if keys is None:
            if space == P.INITIAL:
                self.undecryptable += 1
            return
        pkt = data[pos : h.end]
        pn_off = h.pn_offset - pos
        try:
            pn, _hdr, plain = _unprotect(pkt, pn_off, keys, self.largest_pn.get((space, d), -1))
        except QUICCryptoError as e:
            if space == P.INITIAL and d == _CLIENT and h.dcid != self.dcid:
                # a client Initial under a new DCID (after Retry or a lost first flight)
                self._set_initial(h.dcid, h.version)
                keys = self.keys[(space, d)]
                try:
                    pn, _hdr, plain = _unprotect(pkt, pn_off, keys, -1)
                except QUICCryptoError as e2:
                    self._undecryptable(d, space, frame, e2)
                    return
            else:
                self._undecryptable(d, space, frame, e)
                return
        if pn > self.largest_pn.get((space, d), -1):
            self.largest_pn[(space, d)] = pn
        try:
            frames = P.parse_frames(plain)
        except P.QUICDecodeError as e:
            self._error(f"{space} packet {pn} in frame {frame}: {e}")
            return
        if frames.close_error is not None:
            self._close(d, frames.close_error, frames.close_reason, frame, ts)
        cs = self.crypto.setdefault((space, d), _CryptoStream())
        for off, chunk in frames.crypto:
            try:
                ready = cs.add(off, chunk)
            except P.QUICDecodeError as e:
                self._error(f"{space} CRYPTO in frame {frame}: {e}")
                return
            if ready:
                if space == P.HANDSHAKE:
                    init = self.crypto.get((P.INITIAL, d))
                    if init is not None and init.pending:
                        self._error(f"{space} CRYPTO in frame {frame} before the Initial CRYPTO stream was complete")
                        return
                self.tls.feed_handshake(d, ready, frame, ts)

    def _set_initial(self, dcid: bytes, version: int) -> None:
        if initial_salt(version) is None:
            return
        c, s = initial_keys(dcid, version)
        self.keys[(P.INITIAL, _CLIENT)] = c
        self.keys[(P.INITIAL, _SERVER)] = s
        self.dcid = dcid
        self.version = version
        self.retry_pending = False

    def _handshake_keys(self, d: int) -> PacketKeys | None:
        ch = self.tls._client_hello
        s = self.tls.summary
        if self.secrets is None or ch is None or s.cipher_suite_code is None:
            return None
        label = "CLIENT_HANDSHAKE_TRAFFIC_SECRET" if d == _CLIENT else "SERVER_HANDSHAKE_TRAFFIC_SECRET"
        secret = self.secrets(ch.random, label)
        if secret is None or suite_hash(s.cipher_suite_code) is None:
            return None
        try:
            keys = PacketKeys.from_secret(secret, self.version, s.cipher_suite_code)
        except QUICCryptoError:
            return None
        self.keys[(P.HANDSHAKE, d)] = keys
        return keys

    def _close(self, d: int, code: int, reason: str, frame: int, ts: float) -> None:
        s = self.tls.summary
        side = "client" if d == _CLIENT else "server"
        if P.CRYPTO_ERROR_BASE <= code < P.CRYPTO_ERROR_BASE + 0x100 and s.alert is None:
            s.alert = alert_name(code & 0xFF)
            s.alert_code = code & 0xFF
            s.alert_level = "fatal"
            s.alert_sender = side
            s.alert_frame = frame
        self._error(f"{side} CONNECTION_CLOSE 0x{code:x} in frame {frame}" + (f": {reason}" if reason else ""))

    def _undecryptable(self, d: int, space: str, frame: int, e: Exception) -> None:
        self.undecryptable += 1
        self._error(f"{'client' if d == _CLIENT else 'server'} {space} packet in frame {frame}: {e}")

    def _error(self, msg: str) -> None:
        errs = self.tls.summary.errors
        if len(errs) < MAX_ERRORS:
            errs.append(msg)

    # -- result ------------------------------------------------------------

    def finish(self, capture: str, reason: str) -> ConnectionSummary:
        tls = self.tls
        s = tls.finish(reason)
        complete = (s.server_hello_frame is not None and self.sent_handshake[_CLIENT]
                    and self.sent_handshake[_SERVER] and (self.one_rtt[0] or self.one_rtt[1]))
        if complete and not s.handshake_complete:
            s.handshake_complete = True
            s.failure = None
            s.failure_frame = None
        elif not complete and s.alert is not None and s.failure != "alert":
            s.failure = "alert"
            s.failure_frame = s.alert_frame
        s.transport = "quic"
        s.record_version = None
        s.quic_version = quic_version_name(self.version) if self.version else None
        from ..udp.identity import fill_udp_identity  # (the udp package imports this module)

        return fill_udp_identity(s, self, capture)


def _unprotect(pkt: bytes, pn_off: int, keys: PacketKeys, largest: int) -> tuple[int, bytes, bytes]:
    from .crypto import unprotect

    return unprotect(pkt, pn_off, len(pkt), keys, largest)


def looks_like_initial(data: bytes) -> bool:
    """A long header with a known version whose type is Initial, in a datagram of Initial size."""
    if len(data) < 7 or not data[0] & 0x80 or not data[0] & 0x40 and data[1:5] != b"\x00\x00\x00\x00":
        return False
    version = int.from_bytes(data[1:5], "big")
    if initial_salt(version) is None:
        return False
    t = (data[0] >> 4) & 0x03
    return t == (1 if version == 0x6B3343CF else 0)
