"""One DTLS connection: records of each datagram -> handshake messages -> the shared TLS state machine.

Owns turning the datagrams of one UDP conversation classified as DTLS into a
`ConnectionSummary` with `transport = 'dtls'`: RFC 7983 demultiplexing (STUN, ZRTP,
TURN channel and RTP/RTCP datagrams sharing the 5-tuple are counted, not parsed),
records of each datagram (`analyzer.dtls.records`), duplicate records (same epoch and
sequence number) dropped, handshake fragments reassembled in message_seq order
(`analyzer.dtls.handshake`), and everything else handed to the same
`analyzer.tls.connection.TLSConnection` that TCP and QUIC use (its `dtls_*` entry
points): the messages are parsed by the TLS parsers and the summary, fingerprints and
failure kinds are the TLS ones. Protected records (epoch > 0) are decrypted with the
connection's `Decryptor` when there are keys (the 64-bit epoch and sequence number are
the record's own), else counted as encrypted, like TLS records after ChangeCipherSpec.
DTLS 1.3 records (unified header) are counted and handed on as encrypted records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..tls.connection import TLSConnection
from ..tls.registry import ContentType, HandshakeType, srtp_profile_name, version_name
from ..tls.summary import ConnectionSummary
from .handshake import Reassembler
from .records import DTLS_VERSION_MAJOR, DTLSDecodeError, DTLSRecord, demux, parse_records

if TYPE_CHECKING:
    from ..decrypt.session import Decryptor

MAX_RECORDS_REMEMBERED = 4096     # (epoch, sequence number) pairs kept per direction to drop duplicates
MAX_ERRORS = 16
DTLS_FIRST, DTLS_LAST = 20, 63    # RFC 7983: first bytes of DTLS datagrams
_CLIENT, _SERVER = 0, 1
_SIDE = ("client", "server")
# the order of the counters in the `dtls_packets` column
_COUNTERS = ("stun", "zrtp", "turn_channel", "rtp", "other", "duplicate_records", "retransmitted_fragments",
             "retransmitted_encrypted", "unified_records", "cid_records", "ack_records", "undecrypted_records")


class DTLSConnection:
    """One UDP conversation that carried DTLS; feed `datagram()`s, end with `finish()`."""

    def __init__(self, stream: int, client: tuple[bytes, int], server: tuple[bytes, int], frame: int, ts: float,
                 tls: TLSConnection, decryptor: "Decryptor | None" = None) -> None:
        self.stream = stream
        self.client = client
        self.server = server
        self.frame = frame
        self.ts = ts
        self.tls = tls
        self.decryptor = decryptor
        self.last_frame = frame
        self.last_ts = ts
        self.bytes = [0, 0]
        self.counts = dict.fromkeys(_COUNTERS, 0)
        self.reassembly = (Reassembler(), Reassembler())
        self._seen: tuple[dict[tuple[int, int], None], dict[tuple[int, int], None]] = ({}, {})
        self._ccs = [False, False]
        self._encrypted_epochs: tuple[set[int], set[int]] = (set(), set())
        self._cid_seen = False
        self._record_version: int | None = None

    # -- input -------------------------------------------------------------

    def datagram(self, d: int, data: bytes, frame: int, ts: float) -> None:
        self.last_frame, self.last_ts = frame, ts
        self.bytes[d] += len(data)
        if not data:
            return
        b0 = data[0]
        if not DTLS_FIRST <= b0 <= DTLS_LAST:
            self.counts[demux(b0)] += 1       # STUN, media ...: counted, not parsed
            return
        records, err = parse_records(data, self._cid_length(d))
        for rec in records:
            self._record(d, rec, frame, ts)
        if err is not None:
            self._error(f"{_SIDE[d]} datagram in frame {frame}: {err}")

    def _cid_length(self, d: int) -> int | None:
        """Records carry the connection ID their receiver asked for (RFC 9146 3)."""
        tls = self.tls
        hello = tls._server_hello if d == _CLIENT else tls._client_hello
        cid = hello.extensions.connection_id if hello is not None else None
        return len(cid) if cid is not None else None

    def _record(self, d: int, rec: DTLSRecord, frame: int, ts: float) -> None:
        tls = self.tls
        counts = self.counts
        if rec.unified:
            # DTLS 1.3 protected record: its sequence number and content are encrypted
            counts["unified_records"] += 1
            if rec.cid:
                self._cid_seen = True
            tls.dtls_record(d, ContentType.APPLICATION_DATA, None, len(rec.body), frame, ts)
            return
        if self._record_version is None and d == _CLIENT:
            self._record_version = rec.version
        seen = self._seen[d]
        key = (rec.epoch, rec.seq)
        if key in seen:
            counts["duplicate_records"] += 1
            return
        seen[key] = None
        if len(seen) > MAX_RECORDS_REMEMBERED:
            del seen[next(iter(seen))]
        ct = rec.content_type
        if rec.epoch == 0 and ct == ContentType.HANDSHAKE:   # the usual record: handshake fragments in clear
            self._fragments(d, rec.body, frame, ts)
            return
        length = len(rec.body)
        if ct == ContentType.TLS12_CID:
            counts["cid_records"] += 1   # protected, inner type hidden (RFC 9146 4); not decrypted
            if rec.cid:
                self._cid_seen = True
            tls.dtls_record(d, ContentType.APPLICATION_DATA, None, length, frame, ts)
            return
        if ct == ContentType.ACK:
            counts["ack_records"] += 1
            return
        if rec.epoch == 0:      # in clear, not a handshake record (those were taken above)
            if ct == ContentType.CHANGE_CIPHER_SPEC and self._ccs[d]:
                counts["retransmitted_fragments"] += 1   # a retransmitted flight's CCS
            else:
                if ct == ContentType.CHANGE_CIPHER_SPEC:
                    self._ccs[d] = True
                tls.dtls_record(d, ct, rec.body, length, frame, ts)
            return
        dec = self.decryptor
        if dec is not None and dec.wants_records:
            out = dec.record(d, ct, rec.body, frame, ts, seq=(rec.epoch << 48) | rec.seq)
            if out is not None:
                inner, plain = out
                if inner == ContentType.HANDSHAKE:
                    self._fragments(d, plain, frame, ts)
                else:
                    tls.dtls_decrypted(d, ct, inner, plain, length, frame, ts)
                return
            if dec.wants_records:
                counts["undecrypted_records"] += 1
        if ct == ContentType.HANDSHAKE:
            # without keys only the first protected handshake record of an epoch is told
            # (its Finished); later ones are the same flight retransmitted
            epochs = self._encrypted_epochs[d]
            if rec.epoch in epochs:
                counts["retransmitted_encrypted"] += 1
                return
            epochs.add(rec.epoch)
        tls.dtls_record(d, ct, None, length, frame, ts)

    def _fragments(self, d: int, body: bytes, frame: int, ts: float) -> None:
        r = self.reassembly[d]
        try:
            messages = r.add(body)
        except DTLSDecodeError as e:
            self.tls._set_malformed(d, f"handshake fragment: {e}", frame)
            return
        tls = self.tls
        keyed = self.decryptor is not None   # only the transcript needs the message with its DTLS header
        for msg in messages:
            if msg.msg_type == HandshakeType.HELLO_VERIFY_REQUEST and d == _SERVER:
                tls.summary.hello_verify_request = True
            tls.dtls_handshake(d, msg.msg_type, msg.body, msg.raw() if keyed else None, frame, ts)

    def _error(self, msg: str) -> None:
        errs = self.tls.summary.errors
        if len(errs) < MAX_ERRORS:
            errs.append(msg)

    # -- result ------------------------------------------------------------

    def finish(self, capture: str, reason: str) -> ConnectionSummary:
        tls = self.tls
        self.counts["retransmitted_fragments"] += self.reassembly[0].retransmitted + self.reassembly[1].retransmitted
        self.reassembly[0].retransmitted = self.reassembly[1].retransmitted = 0
        s = tls.finish(reason)
        s.transport = "dtls"
        if self._record_version is not None:
            s.record_version = version_name(self._record_version)
        ch, sh = tls._client_hello, tls._server_hello
        if ch is not None:
            s.srtp_profiles_offered = [srtp_profile_name(p) for p in ch.extensions.srtp_profiles]
        if sh is not None and sh.extensions.srtp_profiles:
            s.srtp_profile = srtp_profile_name(sh.extensions.srtp_profiles[0])
        ch_cid = ch.extensions.connection_id if ch is not None else None
        sh_cid = sh.extensions.connection_id if sh is not None else None
        s.dtls_connection_id = self._cid_seen or (ch_cid is not None and sh_cid is not None and bool(ch_cid or sh_cid))
        s.dtls_packets = " ".join(f"{k}={v}" for k, v in self.counts.items() if v) or None
        from ..udp.identity import fill_udp_identity  # (the udp package imports this module)

        return fill_udp_identity(s, self, capture)


def looks_like_dtls_hello(data: bytes | memoryview) -> int | None:
    """A datagram that starts a DTLS conversation: a plaintext handshake record (epoch 0) with
    a DTLS version; returns the handshake type of its first fragment, else None."""
    if len(data) < 25 or data[0] != ContentType.HANDSHAKE or data[1] != DTLS_VERSION_MAJOR or data[3] or data[4]:
        return None
    return data[13]
