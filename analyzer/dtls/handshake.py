"""The DTLS handshake fragment layer: message_seq order and reassembly (RFC 6347 4.2.2-4.2.3, RFC 9147 5.2).

Owns one direction's handshake messages: each handshake record holds one or more
fragments (msg_type, length, message_seq, fragment_offset, fragment_length, bytes);
fragments of one message are put together whatever their order and overlap, and
messages are delivered once each, in message_seq order. A message seen again (a
retransmitted flight, a duplicated datagram) is counted, not delivered twice; a message
that arrives before the ones it follows waits. Bounded per direction: bytes of
incomplete messages (`MAX_REASSEMBLY_BYTES`), fragments kept (`MAX_FRAGMENTS`), how far
ahead a message_seq may be (`MAX_MESSAGES_AHEAD`) and a message's length
(`MAX_HANDSHAKE_MESSAGE`, shared with TLS).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..tls.connection import MAX_HANDSHAKE_MESSAGE
from ..tls.registry import HandshakeType
from .records import DTLSDecodeError

FRAGMENT_HEADER_LENGTH = 12      # msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3)
# the fragment header in one unpack, each 24-bit field as its high 8 and low 16 bits
_FRAGMENT_HEADER = struct.Struct(">BBHHBHBH")
MAX_REASSEMBLY_BYTES = 256 * 1024   # bytes of incomplete (or early) messages kept per direction
MAX_FRAGMENTS = 1024             # fragments of incomplete messages kept per direction
MAX_MESSAGES_AHEAD = 32          # a message_seq further ahead of the next expected one is hostile

# A side's first message: its message_seq starts the count (after a HelloVerifyRequest the
# ClientHello and ServerHello carry 1, RFC 6347 4.2.2).
_FIRST_TYPES = (HandshakeType.CLIENT_HELLO, HandshakeType.SERVER_HELLO, HandshakeType.HELLO_VERIFY_REQUEST)


class HandshakeMessage:
    """One whole handshake message of a direction, in message_seq order."""

    __slots__ = ("msg_type", "message_seq", "body")

    def __init__(self, msg_type: int, message_seq: int, body: bytes) -> None:
        self.msg_type = msg_type
        self.message_seq = message_seq
        self.body = body

    def raw(self) -> bytes:
        """The message with its DTLS header, fragment fields normalised (offset 0, whole
        length), as the DTLS 1.2 transcript hashes it (RFC 6347 4.2.6)."""
        n = len(self.body).to_bytes(3, "big")
        return bytes((self.msg_type,)) + n + self.message_seq.to_bytes(2, "big") + b"\x00\x00\x00" + n + self.body


@dataclass(slots=True)
class _Partial:
    msg_type: int
    length: int
    buf: bytearray
    ranges: list[list[int]] = field(default_factory=list)   # covered [start, end), sorted, merged
    count: int = 0                                          # fragments added

    def add(self, off: int, data: bytes) -> None:
        end = off + len(data)
        self.buf[off:end] = data
        merged: list[list[int]] = []
        placed = False
        for r in self.ranges:
            if r[1] < off:
                merged.append(r)
            elif end < r[0]:
                if not placed:
                    merged.append([off, end])
                    placed = True
                merged.append(r)
            else:
                off, end = min(off, r[0]), max(end, r[1])
        if not placed:
            merged.append([off, end])
            merged.sort()
        self.ranges = merged

    @property
    def complete(self) -> bool:
        return len(self.ranges) == 1 and self.ranges[0][0] == 0 and self.ranges[0][1] == self.length


class Reassembler:
    """One direction's handshake messages; `add(record body)` returns the messages that became deliverable."""

    __slots__ = ("next_seq", "started", "pending", "early", "buffered", "fragments", "retransmitted")

    def __init__(self) -> None:
        self.next_seq = 0
        self.started = False
        self.pending: dict[int, _Partial] = {}
        self.early: dict[int, HandshakeMessage] = {}   # complete, waiting for the ones before
        self.buffered = 0
        self.fragments = 0
        self.retransmitted = 0                         # fragments of messages already delivered

    def add(self, body: bytes) -> list[HandshakeMessage]:
        out: list[HandshakeMessage] = []
        pos = 0
        n = len(body)
        while pos < n:
            if n - pos < FRAGMENT_HEADER_LENGTH:
                raise DTLSDecodeError(f"handshake fragment header: need {FRAGMENT_HEADER_LENGTH} bytes, {n - pos} left")
            t, length_high, length_low, seq, off_high, off_low, flen_high, flen_low = _FRAGMENT_HEADER.unpack_from(body, pos)
            length = (length_high << 16) | length_low
            off = (off_high << 16) | off_low
            flen = (flen_high << 16) | flen_low
            pos += FRAGMENT_HEADER_LENGTH
            if flen > n - pos:
                raise DTLSDecodeError(f"handshake fragment of {flen} bytes, {n - pos} left in the record")
            if length > MAX_HANDSHAKE_MESSAGE:
                raise DTLSDecodeError(f"handshake message of {length} bytes exceeds the {MAX_HANDSHAKE_MESSAGE}-byte cap")
            if off + flen > length:
                raise DTLSDecodeError(f"fragment [{off}, {off + flen}) beyond the message length {length}")
            data = bytes(body[pos : pos + flen])
            pos += flen
            if seq == self.next_seq and off == 0 and flen == length and self.started and seq not in self.pending:
                # the usual case, without the calls of the general one: the next message, whole
                out.append(HandshakeMessage(t, seq, data))
                self.next_seq = seq + 1
                if self.early:
                    self._release_early(out)
                continue
            self._fragment(t, length, seq, off, data, out)
        return out

    def _fragment(self, t: int, length: int, seq: int, off: int, data: bytes, out: list[HandshakeMessage]) -> None:
        if not self.started:
            self.started = True
            if t in _FIRST_TYPES:
                self.next_seq = seq
        if seq < self.next_seq or seq in self.early:
            self.retransmitted += 1
            return
        if seq > self.next_seq + MAX_MESSAGES_AHEAD:
            raise DTLSDecodeError(f"message_seq {seq} is more than {MAX_MESSAGES_AHEAD} ahead of {self.next_seq}")
        p = self.pending.get(seq)
        if p is None:
            if off == 0 and len(data) == length:      # the usual case: a whole message in one fragment
                self._complete(HandshakeMessage(t, seq, data), out)
                return
            if self.buffered + length > MAX_REASSEMBLY_BYTES:
                raise DTLSDecodeError(f"more than {MAX_REASSEMBLY_BYTES} bytes of handshake messages awaiting reassembly")
            p = self.pending[seq] = _Partial(t, length, bytearray(length))
            self.buffered += length
        elif p.msg_type != t or p.length != length:
            raise DTLSDecodeError(f"fragment of message_seq {seq} says type {t} length {length}, "
                                  f"earlier ones type {p.msg_type} length {p.length}")
        if self.fragments >= MAX_FRAGMENTS:
            raise DTLSDecodeError(f"more than {MAX_FRAGMENTS} handshake fragments awaiting reassembly")
        self.fragments += 1
        p.count += 1
        p.add(off, data)
        if p.complete:
            del self.pending[seq]
            self.buffered -= length
            self.fragments -= p.count
            self._complete(HandshakeMessage(t, seq, bytes(p.buf)), out)

    def _complete(self, msg: HandshakeMessage, out: list[HandshakeMessage]) -> None:
        if msg.message_seq != self.next_seq:
            if self.buffered + len(msg.body) > MAX_REASSEMBLY_BYTES:
                raise DTLSDecodeError(f"more than {MAX_REASSEMBLY_BYTES} bytes of handshake messages awaiting reassembly")
            self.early[msg.message_seq] = msg
            self.buffered += len(msg.body)
            return
        out.append(msg)
        self.next_seq += 1
        self._release_early(out)

    def _release_early(self, out: list[HandshakeMessage]) -> None:
        """Deliver the messages that waited for the one just delivered."""
        while self.next_seq in self.early:
            m = self.early.pop(self.next_seq)
            self.buffered -= len(m.body)
            out.append(m)
            self.next_seq += 1
