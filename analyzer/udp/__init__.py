"""The UDP stage: one table of UDP conversations, each classified by content as QUIC, DTLS or neither.

Owns numbering UDP conversations in order of their first datagram like Wireshark's
`udp.stream` (QUIC and DTLS rows share that sequence), classifying a conversation by
what its datagrams carry, never by port: a long-header QUIC Initial makes it a
`analyzer.quic` connection, a plaintext DTLS handshake record (RFC 7983 first byte 20-63,
version 0xfeXX, epoch 0) an `analyzer.dtls` connection; until then a datagram costs one
look at its first byte (and, for a QUIC-looking first byte, seven bytes). Bounded: a
conversation idle for `idle_timeout` seconds of capture time is closed (reason 'idle'),
and beyond `MAX_UDP_CONVERSATIONS` live ones the longest idle is closed ('evicted').
A 4-tuple seen again after its conversation was closed starts a new conversation.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Callable, Iterator

from ..dtls.connection import DTLSConnection, looks_like_dtls_hello
from ..quic.connection import QUICConnection, SecretLookup, looks_like_initial
from ..tls.certs import CertCache
from ..tls.connection import TLSConnection
from ..tls.registry import HandshakeType
from ..tls.summary import ConnectionSummary

if TYPE_CHECKING:
    from ..decrypt.session import Decryptor

MAX_UDP_CONVERSATIONS = 100_000    # live UDP conversations; beyond it the longest idle is evicted
DEFAULT_IDLE_TIMEOUT = 600.0       # seconds of capture time after which an idle conversation is closed
QUIC_LONG_HEADER_BIT = 0x80
DTLS_HANDSHAKE_FIRST_BYTE = 22     # a DTLS conversation starts with a plaintext handshake record
_CLIENT, _SERVER = 0, 1

# per DTLS connection, stream -> its Decryptor (None: no key material)
DecryptorFactory = Callable[[int], "Decryptor | None"]


class UDPConversationTable:
    """UDP conversations numbered like `udp.stream`; QUIC and DTLS ones become connections.

    Summaries of connections closed early wait in `finished` until the caller takes them.
    `on_connection(summary, decryptor)` is called for each finished DTLS connection.
    """

    def __init__(self, capture: str, *, cert_cache: CertCache | None = None,
                 secrets: SecretLookup | None = None, idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 max_conversations: int = MAX_UDP_CONVERSATIONS, quic: bool = True, dtls: bool = True,
                 decryptors: DecryptorFactory | None = None, record_events: bool = True,
                 on_connection: "Callable[[ConnectionSummary, object], None] | None" = None) -> None:
        self.capture = capture
        self.certs = cert_cache or CertCache()
        self.secrets = secrets
        self.idle_timeout = float(idle_timeout)
        self.max_conversations = max(1, int(max_conversations))
        self.quic = quic
        self.dtls = dtls
        self.decryptors = decryptors
        self.record_events = record_events
        self.on_connection = on_connection
        # conversation key -> [stream, last ts], least recently active first
        self.streams: OrderedDict[tuple, list] = OrderedDict()
        self.conns: dict[int, QUICConnection | DTLSConnection] = {}
        self.finished: list[ConnectionSummary] = []
        self.datagrams = 0
        self.evicted = 0
        self._next_stream = 0
        self._now = float("-inf")
        self._next_check = float("-inf")

    def datagram(self, frame: int, ts: float, src: bytes, sport: int, dst: bytes, dport: int,
                 payload: bytes | memoryview) -> None:
        """One UDP datagram (its payload) as the capture stage decoded it."""
        self.datagrams += 1
        a, b = (src, sport), (dst, dport)
        key = (a, b) if a <= b else (b, a)
        if ts >= self._next_check:
            self._expire(ts)
        streams = self.streams
        entry = streams.get(key)
        if entry is None:
            if len(streams) >= self.max_conversations:
                self._close(next(iter(streams)), "evicted")
                self.evicted += 1
            entry = streams[key] = [self._next_stream, ts]
            self._next_stream += 1
        else:
            entry[1] = ts
            streams.move_to_end(key)
        stream = entry[0]
        conn = self.conns.get(stream)
        if conn is None:
            if not payload:
                return
            first = payload[0]
            if first & QUIC_LONG_HEADER_BIT:
                if not self.quic or not looks_like_initial(bytes(payload[:7])):
                    return
                tls = TLSConnection(cert_cache=self.certs)
                tls.summary.transport = "quic"
                conn = self.conns[stream] = QUICConnection(stream, a, b, frame, ts, tls, self.secrets)
            elif first == DTLS_HANDSHAKE_FIRST_BYTE and self.dtls:
                conn = self._new_dtls(stream, a, b, frame, ts, payload)
                if conn is None:
                    return
            else:
                return
        d = _CLIENT if a == conn.client else _SERVER
        try:
            conn.datagram(d, bytes(payload), frame, ts)
        except Exception as e:  # a parser bug must cost one connection, never the run
            if isinstance(conn, QUICConnection):
                conn._error(f"internal error {type(e).__name__}: {e} (frame {frame})")
            else:
                conn.tls.internal_error(d, e, frame)

    def _new_dtls(self, stream: int, a: tuple[bytes, int], b: tuple[bytes, int], frame: int, ts: float,
                  payload: bytes | memoryview) -> DTLSConnection | None:
        hs_type = looks_like_dtls_hello(payload)
        if hs_type is None:
            return None
        client, server = (b, a) if hs_type in (HandshakeType.SERVER_HELLO, HandshakeType.HELLO_VERIFY_REQUEST) else (a, b)
        dec = self.decryptors(stream) if self.decryptors is not None else None
        tls = TLSConnection(cert_cache=self.certs, decryptor=dec, record_events=self.record_events, dtls=True)
        tls.summary.transport = "dtls"
        conn = DTLSConnection(stream, client, server, frame, ts, tls, dec)
        self.conns[stream] = conn
        return conn

    def _expire(self, ts: float) -> None:
        """Close conversations idle for `idle_timeout` (checked once per second of capture time)."""
        self._next_check = ts + 1.0
        if ts > self._now:
            self._now = ts
        limit = self._now - self.idle_timeout
        streams = self.streams
        while streams:
            key, (_stream, last) = next(iter(streams.items()))
            if last > limit:
                break
            self._close(key, "idle")

    def _finish(self, conn: QUICConnection | DTLSConnection, reason: str) -> ConnectionSummary:
        s = conn.finish(self.capture, reason)
        if isinstance(conn, DTLSConnection) and self.on_connection is not None:
            self.on_connection(s, conn.decryptor)
        return s

    def _close(self, key: tuple, reason: str) -> None:
        stream = self.streams.pop(key)[0]
        conn = self.conns.pop(stream, None)
        if conn is not None:
            self.finished.append(self._finish(conn, reason))

    def close_all(self) -> Iterator[ConnectionSummary]:
        """Summaries of every connection not yet taken from `finished`, then of the live ones."""
        done, self.finished = self.finished, []
        yield from done
        self.streams.clear()
        for stream in sorted(self.conns):
            yield self._finish(self.conns[stream], "end")
        self.conns.clear()
