"""The sans-IO per-connection TLS state machine.

Owns turning the two byte streams of one connection into a `ConnectionSummary`:
record layer (incl. the SSLv2-format ClientHello), handshake message reassembly
across records, which records are encrypted (after ChangeCipherSpec in TLS <= 1.2,
after the ServerHello in TLS 1.3), handshake completion, resumption, failures and
the ladder of events (a plaintext preamble before the TLS bytes, e.g. STARTTLS or an
HTTP CONNECT tunnel, is the upgrade stage's: `analyzer.upgrade`). It never touches a
socket or a file: the caller feeds bytes per direction (`feed`), reports holes (`gap`)
and TCP closes (`fin`, `rst`), and ends with `finish()`.

Without keys, TLS 1.3 completion is inferred the way an observer can: the server
has sent its encrypted flight and the client has answered with an encrypted
record that is not the size of an encrypted alert (2-byte alert + content type +
16-byte AEAD tag = 19 bytes). TLS 1.3 here means the final version, its drafts and
Google's experiments (`messages.is_tls13_family`).

Alerts: a TLS 1.3 record of type 21 is never protected (RFC 8446 5.2) and is decoded; a
decrypted alert is decoded wherever it comes. A fatal alert that is the first record a side
sends after the other side's Finished completed the handshake rejects that final flight
(e.g. TLS 1.3 certificate_required): the handshake is not complete after all. Other alerts
after completion fill the alert fields only when none came before (README "Alerts").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from . import messages as m
from .buffer import TLSDecodeError
from .certs import CertCache
from .fingerprints import fill_fingerprints
from .registry import (
    AlertDescription,
    CERT_COMPRESSION_NAMES,
    AlertLevel,
    ContentType,
    HandshakeType,
    alert_name,
    cipher_suite_info,
    cipher_suite_name,
    extension_name,
    group_name,
    handshake_type_name,
    name_of,
    PSK_MODE_NAMES,
    sigalg_name,
    uses_old_key_share,
    version_name,
)
from .resumption import fill_resumption_facts, note_new_session_ticket
from .summary import ConnectionSummary, HandshakeEvent

if TYPE_CHECKING:
    from ..decrypt.session import Decryptor

MAX_RECORD_LENGTH = 2**14 + 2048        # RFC 5246 6.2.3: the largest legal TLSCiphertext
MAX_HANDSHAKE_MESSAGE = 1 << 20         # a handshake message larger than this is malformed (hostile input)
MAX_EVENTS = 256                        # ladder steps kept per connection
MAX_ERRORS = 16                         # error strings kept per connection
ENCRYPTED_ALERT_LENGTH = 19             # TLS 1.3: alert(2) + inner type(1) + AEAD tag(16)

_NAME_CACHE: dict[tuple[object, tuple[int, ...]], list[str]] = {}
_NAME_CACHE_SIZE = 4096
NAME_CACHE_MAX_LIST = 256               # longer code lists are named without the cache (hostile hellos)


def _names(fn: Callable[[int], str], codes: list[int]) -> list[str]:
    """Codes -> names; clients repeat their offers, so whole lists are cached (a copy is returned)."""
    if len(codes) > NAME_CACHE_MAX_LIST:
        return [fn(c) for c in codes]
    key = (fn, tuple(codes))
    names = _NAME_CACHE.get(key)
    if names is None:
        if len(_NAME_CACHE) >= _NAME_CACHE_SIZE:
            _NAME_CACHE.clear()
        names = _NAME_CACHE[key] = [fn(c) for c in codes]
    return list(names)


def _cert_compression_name(code: int) -> str:
    return name_of(CERT_COMPRESSION_NAMES, code)


_CLIENT, _SERVER = 0, 1
_SIDE = ("client", "server")


class _Direction:
    __slots__ = (
        "buf", "skip", "hs", "encrypted", "records", "seen", "dead", "finished",
        "ccs", "enc_records", "sslv2",
    )

    def __init__(self) -> None:
        self.buf = bytearray()
        self.skip = 0               # bytes of a record body still to discard without buffering
        self.hs = bytearray()       # handshake bytes awaiting a complete message
        self.encrypted = False      # records from here on are protected
        self.records = 0
        self.seen = False           # any byte seen in this direction
        self.dead = False           # stop parsing (not TLS, malformed, gap)
        self.finished = False       # its Finished (or TLS 1.3 final encrypted flight) seen
        self.ccs = False
        self.enc_records = 0
        self.sslv2 = False


class TLSConnection:
    """Feed both directions of one connection; `finish()` returns its summary."""

    def __init__(
        self,
        *,
        cert_cache: CertCache | None = None,
        roles_certain: bool = True,
        keep_payload: bool = False,
        on_handshake: Callable[[int, int, bytes, int, float], None] | None = None,
        decryptor: "Decryptor | None" = None,
        record_events: bool = True,
        dtls: bool = False,
    ) -> None:
        self.summary = ConnectionSummary()
        self._dtls = dtls  # fed by analyzer.dtls (dtls_* methods): ClientHellos carry a cookie
        self._events = record_events  # summary.events (the ladder); rows do not need them
        self._dirs = (_Direction(), _Direction())
        self._certs = cert_cache or CertCache()
        self._roles_certain = roles_certain
        self._keep_payload_asked = keep_payload
        self._keep_payload = keep_payload or decryptor is not None
        self._decryptor = decryptor         # analyzer.decrypt.Decryptor: keys for this connection, maybe
        self._on_handshake = on_handshake   # hook for later stages (decryption): (dir, type, body, frame, ts)
        self._swap = 0
        self.wants_payload = True
        self._tls13 = False
        self._server_hello_seen = False
        self._client_hello = None
        self._server_hello: m.ServerHello | None = None
        self._server_flight: set[int] = set()  # handshake types the server sent before its CCS
        self._ch_ts: float | None = None
        self._last_hs_ts: float | None = None
        self._complete_ts: float | None = None
        self._completer: int | None = None      # the side whose Finished completed the handshake
        self._records_at_completion = (0, 0)    # records each side had sent when it completed
        self._late_alert = False                # the alert columns hold an alert read after completion
        self._flights = 0
        self._last_dir: int | None = None
        self._not_tls_reason: str | None = None
        self._malformed: str | None = None
        self._gap: tuple[int, int] | None = None
        self._fin: list[int | None] = [None, None]
        self._rst: tuple[int, int] | None = None
        self._suite_kx = ""
        self._conflict = [False, False]         # an overlapping retransmission with different bytes was reported

    # -- input -------------------------------------------------------------

    def feed(self, direction: int, data: bytes | memoryview, frame: int, ts: float) -> None:
        """Bytes of one direction (0 = client -> server), in order, with the frame they completed in."""
        d = direction ^ self._swap
        st = self._dirs[d]
        if st.dead or not data:
            return
        if st.skip:
            n = len(data)
            if n <= st.skip:
                st.skip -= n
                return
            data = data[st.skip:]
            st.skip = 0
        if st.seen and not st.buf and not st.sslv2:
            # nothing pending: read the records straight from the segment (the usual case)
            try:
                self._parse_records(d, st, frame, ts, data)
            except TLSDecodeError as e:
                e.frame = frame
                self._set_malformed(d, str(e), frame)
            return
        st.buf += data
        if not st.seen:
            if len(st.buf) < 6:
                return  # too few bytes to tell whether this is TLS
            st.seen = True
            if not self._looks_like_tls(d, st.buf, frame):
                return
            d = direction ^ self._swap  # a swap may have happened
            st = self._dirs[d]
        try:
            self._parse_records(d, st, frame, ts)
        except TLSDecodeError as e:
            e.frame = frame
            self._set_malformed(d, str(e), frame)

    def feed_handshake(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        """Handshake-message bytes that come without TLS records (QUIC CRYPTO frames, RFC 9001 4.1), in order."""
        st = self._dirs[direction]
        if st.dead or not data:
            return
        st.seen = True
        self.summary.is_tls = True
        st.hs += data
        try:
            self._parse_handshake(direction, st, frame, ts)
        except TLSDecodeError as e:
            self._set_malformed(direction, str(e), frame)

    # -- DTLS (analyzer.dtls owns the record and fragment layer and calls these) --

    def dtls_handshake(self, direction: int, msg_type: int, body: bytes, raw: bytes | None, frame: int,
                       ts: float) -> None:
        """One reassembled DTLS handshake message, in message_seq order; `raw` is it with its
        12-byte DTLS header (fragment fields normalised), as the transcript hashes it."""
        st = self._dirs[direction]
        st.seen = True
        if st.dead:
            return
        self.summary.is_tls = True
        try:
            self._handshake_message(direction, msg_type, body, frame, ts, sslv2=False, raw=raw)
        except TLSDecodeError as e:
            self._set_malformed(direction, str(e), frame)

    def dtls_record(self, direction: int, content_type: int, body: bytes | None, length: int,
                    frame: int, ts: float) -> None:
        """A DTLS record other than a clear handshake fragment: CCS, alert, application data,
        heartbeat, or a protected record we could not decrypt (`body` None)."""
        st = self._dirs[direction]
        st.seen = True
        if st.dead:
            return
        st.records += 1
        try:
            if content_type == ContentType.HANDSHAKE:
                self.summary.is_tls = True
                self._encrypted_handshake(direction, st, length, frame, ts)
            else:
                self._record(direction, st, content_type, body, length, frame, ts)
        except TLSDecodeError as e:
            self._set_malformed(direction, str(e), frame)

    def dtls_decrypted(self, direction: int, outer: int, content_type: int, data: bytes, length: int,
                       frame: int, ts: float) -> None:
        """A protected DTLS record the decryptor opened (not handshake: those go through the fragment layer)."""
        st = self._dirs[direction]
        st.seen = True
        if st.dead:
            return
        st.records += 1
        try:
            self._decrypted_record(direction, st, outer, content_type, data, length, frame, ts)
        except TLSDecodeError as e:
            self._set_malformed(direction, str(e), frame)

    def gap(self, direction: int, missing: int, frame: int, ts: float) -> None:
        """Bytes of this direction were lost: nothing after the hole is parsed (it would be misparsed)."""
        d = direction ^ self._swap
        st = self._dirs[d]
        self.summary.tcp_gaps += 1
        self._event(d, "gap", frame, ts, missing)
        if self._decryptor is not None:
            self._decryptor.gap(d, frame)
            if self.summary.handshake_complete and self._keep_payload:
                st.dead = True  # records after the hole cannot be framed, let alone decrypted
                st.buf.clear()
                self._sync_decryption()
                return
        if self.summary.handshake_complete or st.dead:
            return
        if self._gap is None:
            self._gap = (d, frame)
            self._error(f"{_SIDE[d]} stream has a gap of {missing} bytes at frame {frame}")
        st.dead = True
        st.buf.clear()
        st.hs.clear()
        self._update_wants()

    def internal_error(self, direction: int, exc: BaseException, frame: int) -> None:
        """Record an unexpected exception from our own parser as a malformed-input failure on this connection."""
        self._set_malformed(direction ^ self._swap, f"internal error {type(exc).__name__}: {exc}", frame)

    def overlap_conflict(self, direction: int, frame: int) -> None:
        """TCP saw a retransmission whose bytes differ from the first copy (which was kept): say so, once per side."""
        d = direction ^ self._swap
        if not self._conflict[d]:
            self._conflict[d] = True
            self._error(f"{_SIDE[d]} stream: retransmitted bytes differ from the first copy in frame {frame} "
                        "(the first copy was used)")

    def fin(self, direction: int, frame: int, ts: float) -> None:
        d = direction ^ self._swap
        if self._fin[d] is None:
            self._fin[d] = frame
            self._event(d, "fin", frame, ts)

    def rst(self, direction: int, frame: int, ts: float) -> None:
        d = direction ^ self._swap
        if self._rst is None:
            self._rst = (d, frame)
            self._event(d, "rst", frame, ts)

    # -- detection ---------------------------------------------------------

    def _looks_like_tls(self, d: int, data: bytes | memoryview, frame: int) -> bool:
        b = bytes(data[:6])
        if len(b) >= 3 and b[0] & 0x80 and b[2] == 1 and d == _CLIENT and len(b) >= 5 and b[3] in (0, 2, 3):
            # SSLv2-format CLIENT-HELLO (2-byte header, msg_type 1, version 0x0002 or 0x03xx)
            self._dirs[d].sslv2 = True
            return True
        if len(b) >= 3 and b[0] in (ContentType.HANDSHAKE, ContentType.ALERT, ContentType.APPLICATION_DATA,
                                     ContentType.CHANGE_CIPHER_SPEC) and b[1] == 3 and b[2] <= 4:
            if (
                d == _SERVER
                and not self._roles_certain
                and not self._dirs[_CLIENT].seen
                and len(b) >= 6
                and b[0] == ContentType.HANDSHAKE
                and b[5] == HandshakeType.CLIENT_HELLO
            ):
                # capture started mid-stream: the side that sends the ClientHello is the client
                self._swap ^= 1
                self._dirs = (self._dirs[1], self._dirs[0])
                self.summary.roles_swapped = not self.summary.roles_swapped
            return True
        self._not_tls_reason = f"{_SIDE[d]} sent {b[:4]!r}... (not a TLS record) in frame {frame}"
        self._dirs[d].dead = True
        self._update_wants()
        return False

    # -- record layer ------------------------------------------------------

    def _parse_records(self, d: int, st: _Direction, frame: int, ts: float,
                       data: bytes | memoryview | None = None) -> None:
        """The complete records in `st.buf`, or in `data` when given (then `st.buf` is empty and
        only what is left of `data`, a partial record, is kept in it)."""
        buf = st.buf if data is None else data
        pos = 0
        n = len(buf)
        if st.sslv2:
            st.sslv2 = False
            if n < 2:
                st.sslv2 = True
                return
            length = ((buf[0] & 0x7F) << 8) | buf[1]
            if n < 2 + length:
                st.sslv2 = True
                return
            body = bytes(buf[2 : 2 + length])
            pos = 2 + length
            st.records += 1
            self.summary.record_version = version_name(0x0002)
            self._handshake_message(d, HandshakeType.CLIENT_HELLO, body, frame, ts, sslv2=True)
            if st.dead:  # a malformed SSLv2 hello: the buffer is already cleared
                return
        while n - pos >= 5:
            ct = buf[pos]
            version = (buf[pos + 1] << 8) | buf[pos + 2]
            length = (buf[pos + 3] << 8) | buf[pos + 4]
            if not (20 <= ct <= 26) or buf[pos + 1] != 3 or length > MAX_RECORD_LENGTH:
                if data is None:
                    del buf[:pos]
                raise TLSDecodeError(
                    f"invalid record header (content type {ct}, version 0x{version:04x}, length {length})"
                )
            end = pos + 5 + length
            if st.records == 0 and d == _CLIENT:
                self.summary.record_version = version_name(version)
            if end > n:
                if ct == ContentType.APPLICATION_DATA and not self._keep_payload:
                    # body not needed: count the record now and drop its bytes as they come
                    st.records += 1
                    self._record(d, st, ct, None, length, frame, ts)
                    st.skip = end - n
                    pos = n
                break
            st.records += 1
            if ct == ContentType.APPLICATION_DATA and not self._keep_payload:
                self._record(d, st, ct, None, length, frame, ts)
            else:
                self._record(d, st, ct, bytes(buf[pos + 5 : end]), length, frame, ts)
            pos = end
            if st.dead:
                if data is None:
                    buf.clear()
                return
        if data is None:
            del buf[:pos]
        elif pos < n and not st.skip:
            st.buf += buf[pos:]

    def _record(self, d: int, st: _Direction, ct: int, body: bytes | None, length: int, frame: int, ts: float) -> None:
        s = self.summary
        s.is_tls = True
        dec = self._decryptor
        if dec is not None and body is not None and ct != ContentType.CHANGE_CIPHER_SPEC:
            out = dec.record(d, ct, body, frame, ts)
            if out is not None:
                self._decrypted_record(d, st, ct, out[0], out[1], length, frame, ts)
                return
            if not dec.wants_records:
                self._sync_decryption()
        if ct == ContentType.HANDSHAKE and body is not None:
            if st.encrypted:
                self._encrypted_handshake(d, st, length, frame, ts)
                return
            if st.hs:
                st.hs += body
                self._parse_handshake(d, st, frame, ts)
            else:
                self._parse_handshake(d, st, frame, ts, body)
        elif ct == ContentType.CHANGE_CIPHER_SPEC:
            self._event(d, "change_cipher_spec", frame, ts, length)
            st.ccs = True
            if dec is not None:
                dec.change_cipher_spec(d, frame)
                self._sync_decryption()
            if not self._tls13:
                st.encrypted = True
                if d == _SERVER and self._server_hello_seen and not self.summary.hrr:
                    self._check_abbreviated()
        elif ct == ContentType.ALERT:
            self._alert(d, st, body or b"", length, frame, ts)
        elif ct == ContentType.APPLICATION_DATA:
            self._application_data(d, st, length, frame, ts)
        elif ct == ContentType.HEARTBEAT:
            s.heartbeat_records += 1
            self._event(d, "heartbeat", frame, ts, length)
        else:
            self._event(d, f"record_type_{ct}", frame, ts, length)

    def _encrypted_handshake(self, d: int, st: _Direction, length: int, frame: int, ts: float) -> None:
        st.enc_records += 1
        if self.summary.handshake_complete:
            # an encrypted handshake after completion: renegotiation or a post-handshake message
            if not self._tls13:
                self.summary.renegotiation = True
            return
        self._event(d, "encrypted_handshake", frame, ts, length)
        self._last_hs_ts = ts
        if not st.finished:
            st.finished = True
            self._check_complete(d, ts)

    def _application_data(self, d: int, st: _Direction, length: int, frame: int, ts: float) -> None:
        s = self.summary
        if d == _CLIENT:
            s.encrypted_records_client += 1
        else:
            s.encrypted_records_server += 1
        if s.handshake_complete:
            return
        if self._tls13 and self._server_hello_seen:
            if d == _SERVER:
                if st.enc_records == 0 and length == ENCRYPTED_ALERT_LENGTH:
                    self._encrypted_alert(d, frame, ts)
                    return
                st.enc_records += 1
                self._event(d, "encrypted_handshake", frame, ts, length)
                self._last_hs_ts = ts
                st.finished = True
            else:
                if not self._dirs[_SERVER].finished:
                    # 0-RTT data still in flight when the ServerHello came
                    s.early_data_records += 1
                    self._event(d, "early_data", frame, ts, length)
                    return
                if length == ENCRYPTED_ALERT_LENGTH:
                    self._encrypted_alert(d, frame, ts)
                    return
                st.enc_records += 1
                self._event(d, "encrypted_handshake", frame, ts, length)
                self._last_hs_ts = ts
                st.finished = True
                self._check_complete(d, ts)
        elif d == _CLIENT and self._client_hello is not None and not self._server_hello_seen:
            s.early_data_records += 1
            self._event(d, "early_data", frame, ts, length)
        else:
            self._event(d, "application_data", frame, ts, length)

    def _decrypted_record(self, d: int, st: _Direction, outer: int, ct: int, data: bytes, length: int,
                          frame: int, ts: float) -> None:
        """A record the decryptor opened: parsed like a clear one (handshake, alert) or counted (data)."""
        s = self.summary
        if outer == ContentType.APPLICATION_DATA:
            if d == _CLIENT:
                s.encrypted_records_client += 1
            else:
                s.encrypted_records_server += 1
        if ct == ContentType.HANDSHAKE:
            st.enc_records += 1
            st.hs += data
            self._parse_handshake(d, st, frame, ts)
        elif ct == ContentType.ALERT:
            self._alert(d, st, data, len(data), frame, ts, decrypted=True)
        elif ct == ContentType.APPLICATION_DATA:
            if s.handshake_complete:
                return
            if d == _CLIENT and not self._dirs[_SERVER].finished:
                s.early_data_records += 1
                self._event(d, "early_data", frame, ts, len(data))
            else:
                self._event(d, "application_data", frame, ts, len(data))
        elif ct == ContentType.HEARTBEAT:
            s.heartbeat_records += 1
            self._event(d, "heartbeat", frame, ts, len(data))
        else:
            self._event(d, f"record_type_{ct}", frame, ts, len(data))

    def _sync_decryption(self) -> None:
        """Keep record bodies flowing while this connection may be decrypted; else back to the fast path."""
        dec = self._decryptor
        keep = self._keep_payload_asked or (dec is not None and dec.wants_records)
        if keep != self._keep_payload:
            self._keep_payload = keep
            self._update_wants()

    def _alert(self, d: int, st: _Direction, body: bytes, length: int, frame: int, ts: float,
               decrypted: bool = False) -> None:
        """An alert record read in clear or decrypted: before completion it is the connection's alert; after
        completion it fills the alert columns only when none was read before (first fatal, else first), and it
        undoes the completion only when it rejects the final flight (`_rejects_final_flight`).

        In TLS 1.3 (drafts and experiments too) a protected record always has the outer type
        application_data (RFC 8446 5.2), so an alert record (type 21) is never encrypted: it is a
        plaintext alert, e.g. a client that rejects the certificate before it switched to its handshake keys.
        """
        if not decrypted and st.encrypted and not self._tls13:
            self._encrypted_alert(d, frame, ts)
            return
        if len(body) < 2:
            raise TLSDecodeError(f"alert record of {len(body)} bytes")
        s = self.summary
        for i in range(0, len(body) - 1, 2):
            level, desc = body[i], body[i + 1]
            name = alert_name(desc)
            self._event(d, "alert", frame, ts, 2, f"{name_of_level(level)} {name}")
            if i == 0 and self._rejects_final_flight(d, level, desc):
                s.handshake_complete = False
                self._complete_ts = None
            if s.handshake_complete:
                # after completion: only when no alert came before it (the first fatal, else the first)
                replace = s.alert is None or (self._late_alert and level == AlertLevel.FATAL
                                              and s.alert_level != "fatal")
                self._late_alert = self._late_alert or s.alert is None
            else:
                replace = s.alert is None or (level == AlertLevel.FATAL and s.alert_level != "fatal")
                self._late_alert = self._late_alert and not replace
            if replace:
                s.alert = name
                s.alert_code = desc
                s.alert_level = name_of_level(level)
                s.alert_sender = _SIDE[d]
                s.alert_frame = frame
            if level == AlertLevel.FATAL:
                self._dirs[d].dead = True
        if not s.handshake_complete:
            self._last_hs_ts = ts
        self._update_wants()

    def _encrypted_alert(self, d: int, frame: int, ts: float) -> None:
        s = self.summary
        self._event(d, "encrypted_alert", frame, ts)
        if s.handshake_complete:
            return
        self._last_hs_ts = ts
        if s.alert is None:
            s.alert = "encrypted_alert"
            s.alert_sender = _SIDE[d]
            s.alert_frame = frame
        self._dirs[d].dead = True
        self._update_wants()

    # -- handshake layer ---------------------------------------------------

    def _parse_handshake(self, d: int, st: _Direction, frame: int, ts: float, data: bytes | None = None) -> None:
        """The complete handshake messages in `st.hs`, or in `data` when given (then `st.hs` is
        empty and only a partial message left at its end is kept in it)."""
        hs = st.hs if data is None else data
        pos = 0
        while len(hs) - pos >= 4:
            t = hs[pos]
            length = (hs[pos + 1] << 16) | (hs[pos + 2] << 8) | hs[pos + 3]
            if length > MAX_HANDSHAKE_MESSAGE:
                raise TLSDecodeError(f"{handshake_type_name(t)} of {length} bytes exceeds the {MAX_HANDSHAKE_MESSAGE}-byte cap")
            if len(hs) - pos < 4 + length:
                break
            body = bytes(hs[pos + 4 : pos + 4 + length])
            pos += 4 + length
            self._handshake_message(d, t, body, frame, ts)
            if st.dead:
                st.hs.clear()
                return
        if data is None:
            del hs[:pos]
        elif pos < len(hs):
            st.hs += hs[pos:]

    def _handshake_message(self, d: int, t: int, body: bytes, frame: int, ts: float, sslv2: bool = False,
                           raw: bytes | None = None) -> None:
        s = self.summary
        name = handshake_type_name(t)
        try:
            if t == HandshakeType.CLIENT_HELLO:
                ch = (m.pull_sslv2_client_hello(body) if sslv2 else m.pull_client_hello(body, True) if self._dtls
                      else m.pull_client_hello(body))
                self._on_client_hello(d, ch, frame, ts)
            elif t == HandshakeType.SERVER_HELLO:
                sh = m.pull_server_hello(body)
                if sh.is_hello_retry_request:
                    name = "hello_retry_request"
                self._on_server_hello(d, sh, frame, ts)
            elif t == HandshakeType.CERTIFICATE:
                self._on_certificate(d, m.pull_certificate(body, tls13=self._tls13), frame)
            elif t == HandshakeType.SERVER_KEY_EXCHANGE:
                ske = m.pull_server_key_exchange(
                    body, key_exchange=self._suite_kx, tls12=m.is_tls12(s.version_code)
                )
                if ske.named_group is not None:
                    s.group = group_name(ske.named_group)
                elif ske.dh_prime_bits:
                    s.group = f"DH {ske.dh_prime_bits}-bit"
                if ske.signature_algorithm is not None:
                    s.ske_signature_algorithm = sigalg_name(ske.signature_algorithm)
                self._on_server_signature(d, ske.signature_algorithm)
            elif t == HandshakeType.CERTIFICATE_REQUEST:
                m.pull_certificate_request(body, tls13=self._tls13, tls12=m.is_tls12(s.version_code))
                if s.client_auth == "none":
                    s.client_auth = "requested"
            elif t == HandshakeType.NEW_SESSION_TICKET:
                nst = m.pull_new_session_ticket(body, tls13=self._tls13)
                s.ticket_issued = True
                if d == _SERVER:
                    note_new_session_ticket(s, nst, self._tls13)
            elif t == HandshakeType.CERTIFICATE_STATUS:
                m.pull_certificate_status(body)
                s.ocsp_stapled = True
            elif t == HandshakeType.CLIENT_KEY_EXCHANGE and d == _CLIENT and self._suite_kx in m.PSK_KEY_EXCHANGES:
                if s.psk_identity is None:
                    s.psk_identity = m.pull_psk_identity(body).decode("utf-8", "backslashreplace")
            elif t == HandshakeType.ENCRYPTED_EXTENSIONS:
                ee = m.pull_encrypted_extensions(body)
                if ee.alpn:
                    s.alpn = ee.alpn[0]
                s.server_extensions += [extension_name(x) for x in ee.types()]
            elif t == HandshakeType.CERTIFICATE_VERIFY:
                cv = m.pull_certificate_verify(body, tls12=m.is_tls12(s.version_code) or self._tls13)  # TLS 1.3 CV has the algorithm too
                self._on_server_signature(d, cv.algorithm)
            elif t == HandshakeType.HELLO_VERIFY_REQUEST:
                m.pull_hello_verify_request(body)
            elif t == HandshakeType.COMPRESSED_CERTIFICATE:
                self._on_compressed_certificate(d, m.pull_compressed_certificate(body), frame)
            elif t == HandshakeType.KEY_UPDATE:
                m.pull_key_update(body)
            elif t == HandshakeType.FINISHED:
                self._dirs[d].finished = True  # only seen decrypted (or from QUIC CRYPTO frames)
            elif t in (HandshakeType.HELLO_REQUEST, HandshakeType.SERVER_HELLO_DONE, HandshakeType.END_OF_EARLY_DATA):
                m.pull_empty(body, name)
        except TLSDecodeError as e:
            self._event(d, name, frame, ts, len(body), "malformed")
            self._set_malformed(d, f"{name}: {e.message}", frame)
            return
        self._event(d, name, frame, ts, len(body))
        if d == _SERVER and not self._dirs[_SERVER].ccs:
            self._server_flight.add(t)
        if t != HandshakeType.HELLO_REQUEST:
            self._last_hs_ts = ts
        if self._on_handshake is not None:
            self._on_handshake(d, t, body, frame, ts)
        if self._decryptor is not None:
            self._decryptor.handshake(d, t, body, frame, ts, sslv2, raw)
            self._sync_decryption()
        if t == HandshakeType.FINISHED:
            self._check_complete(d, ts)

    def _on_server_signature(self, d: int, algorithm: int | None) -> None:
        """The signature scheme the server signed the first handshake with: the TLS 1.2 ServerKeyExchange's
        (in clear), or the TLS 1.3 CertificateVerify's (seen once decrypted). A client's CertificateVerify is not it."""
        if d == _SERVER and algorithm is not None and self.summary.server_signature_algorithm is None:
            self.summary.server_signature_algorithm = sigalg_name(algorithm)

    def _on_certificate(self, d: int, cert: m.Certificate, frame: int) -> None:
        s = self.summary
        chain = [self._certs.get(der) for der in cert.certificates]
        for i, info in enumerate(chain):
            if info.error:
                self._error(f"{_SIDE[d]} certificate {i} in frame {frame}: {info.error}")
        if d == _SERVER:
            s.cert_chain = chain
            s.cert_count = cert.count
        else:
            s.client_cert_chain = chain
            s.client_auth = "certificate" if cert.count else "empty"

    def _on_compressed_certificate(self, d: int, cc: m.CompressedCertificate, frame: int) -> None:
        """RFC 8879: the Certificate inside is read like a clear one; a message that does not
        decompress (unknown algorithm, bomb, length mismatch) is an error on the row, not a failure."""
        algorithm = name_of(CERT_COMPRESSION_NAMES, cc.algorithm)
        if d == _SERVER:
            self.summary.cert_compression = algorithm
        try:
            cert = m.pull_certificate(m.decompress_certificate(cc), tls13=True)  # a TLS 1.3 structure (RFC 8879 4)
        except TLSDecodeError as e:
            self._error(f"{_SIDE[d]} compressed_certificate ({algorithm}) in frame {frame}: {e.message}")
            return
        self._on_certificate(d, cert, frame)

    def _on_client_hello(self, d: int, ch: m.ClientHello, frame: int, ts: float) -> None:
        s = self.summary
        s.client_hellos += 1
        s.is_tls = True
        if d != _CLIENT:
            self._error(f"ClientHello sent by the server side in frame {frame}")
            return
        if self._client_hello is not None:
            if s.handshake_complete:
                s.renegotiation = True
            return  # the second ClientHello after an HRR; the row reports the first offer
        self._client_hello = ch
        self._ch_ts = ts
        s.client_hello_frame = frame
        ext = ch.extensions
        if any(uses_old_key_share(v) for v in ext.supported_versions or (ch.legacy_version,)):
            m.pull_old_key_share(ext, server=False)
        s.sslv2_client_hello = ch.sslv2
        s.client_legacy_version = version_name(ch.legacy_version)
        if ext.supported_versions:
            s.client_versions = _names(version_name, ext.supported_versions)
        else:
            s.client_versions = [version_name(ch.legacy_version)]
        s.cipher_suite_codes_offered = list(ch.cipher_suites)
        s.cipher_suites_offered = _names(cipher_suite_name, ch.cipher_suites)
        if ch.sslv2:
            s.cipher_suites_offered += [name_of_sslv2(k) for k in ch.sslv2_cipher_kinds if k >> 16]
        s.extension_codes_offered = ext.types()
        s.extensions_offered = _names(extension_name, s.extension_codes_offered)
        s.sni = ext.server_name
        s.alpn_offered = list(ext.alpn)
        s.groups_offered = _names(group_name, ext.supported_groups)
        s.key_share_groups = _names(group_name, ext.key_share_groups)
        s.signature_algorithms = _names(sigalg_name, ext.signature_algorithms)
        s.ec_point_formats = list(ext.ec_point_formats)
        if ext.compress_certificate:
            s.cert_compression_offered = _names(_cert_compression_name, ext.compress_certificate)
        s.compression_offered = list(ch.legacy_compression_methods)
        s.session_id = ch.legacy_session_id.hex() if ch.legacy_session_id else None
        s.ticket_offered = bool(ext.session_ticket) or ext.psk_identities > 0
        s.psk_offered = ext.psk_identities > 0
        s.psk_modes = [name_of(PSK_MODE_NAMES, v) for v in ext.psk_key_exchange_modes]
        s.early_data_offered = ext.early_data
        s.ech_offered = ext.encrypted_client_hello
        for err in ext.errors:
            self._error(f"ClientHello {err} (frame {frame})")

    def _on_server_hello(self, d: int, sh: m.ServerHello, frame: int, ts: float) -> None:
        s = self.summary
        if d != _SERVER:
            self._error(f"ServerHello sent by the client side in frame {frame}")
            return
        ext = sh.extensions
        if uses_old_key_share(sh.version):
            m.pull_old_key_share(ext, server=True, hrr=sh.is_hello_retry_request)
        for err in ext.errors:
            self._error(f"ServerHello {err} (frame {frame})")
        if sh.is_hello_retry_request:
            s.hrr = True
            self._tls13 = True  # only TLS 1.3 has HelloRetryRequest; CCS from here on is middlebox compatibility
            if ext.key_share_selected_group is not None:
                s.hrr_group = group_name(ext.key_share_selected_group)
            return
        if self._server_hello_seen:
            if s.handshake_complete:
                s.renegotiation = True
            return
        self._server_hello_seen = True
        self._server_hello = sh  # for the JA3S/JA4S fingerprints in finish()
        s.server_hello_frame = frame
        version = sh.version
        s.version_code = version
        s.version = version_name(version)
        s.cipher_suite_code = sh.cipher_suite
        s.cipher_suite = cipher_suite_name(sh.cipher_suite)
        info = cipher_suite_info(sh.cipher_suite)
        self._suite_kx = info.key_exchange if info is not None else ""
        s.compression = sh.legacy_compression_method
        s.server_session_id = sh.legacy_session_id_echo.hex() if sh.legacy_session_id_echo else None
        s.server_extensions = _names(extension_name, ext.types())
        s.alpn = ext.alpn[0] if ext.alpn else None
        s.extended_master_secret = ext.extended_master_secret
        s.encrypt_then_mac = ext.encrypt_then_mac
        s.secure_renegotiation = ext.renegotiation_info is not None
        if m.is_tls13_family(version):
            self._tls13 = True
            if ext.key_share_selected_group is not None:
                s.group = group_name(ext.key_share_selected_group)
            elif ext.psk_selected_identity is not None:
                s.group = None  # psk_ke: no (EC)DHE
            if ext.psk_selected_identity is not None:
                s.resumed = True
                s.resumption = "psk"
            # RFC 8446 2: everything after the ServerHello is encrypted, both ways
            self._dirs[_SERVER].encrypted = True
            self._dirs[_CLIENT].encrypted = True
        if self._client_hello is not None and not self._tls13:
            ch_ext = self._client_hello.extensions
            s.secure_renegotiation = s.secure_renegotiation and (
                ch_ext.renegotiation_info is not None or 0x00FF in self._client_hello.cipher_suites
            )

    def _check_abbreviated(self) -> None:
        """Server CCS in TLS <= 1.2: no Certificate/ServerKeyExchange/ServerHelloDone before it means resumption."""
        s = self.summary
        if s.resumed or self._client_hello is None:
            return
        full = {HandshakeType.CERTIFICATE, HandshakeType.SERVER_KEY_EXCHANGE, HandshakeType.SERVER_HELLO_DONE}
        if self._server_flight & full or self._dirs[_CLIENT].ccs:
            return
        s.resumed = True
        ch_ext = self._client_hello.extensions
        if ch_ext.session_ticket:
            s.resumption = "ticket"
        else:
            s.resumption = "session_id"

    def _check_complete(self, d: int, ts: float) -> None:
        """`d` sent a Finished (or its final encrypted flight): complete once both sides have."""
        s = self.summary
        if s.handshake_complete:
            return
        if self._dirs[_CLIENT].finished and self._dirs[_SERVER].finished and self._server_hello_seen:
            s.handshake_complete = True
            self._complete_ts = ts
            self._completer = d
            self._records_at_completion = (self._dirs[_CLIENT].records, self._dirs[_SERVER].records)
            self._update_wants()

    def _rejects_final_flight(self, d: int, level: int, desc: int) -> bool:
        """A fatal alert that is the first record `d` sent after the other side's Finished completed the
        handshake: `d` did not accept that final flight (e.g. TLS 1.3 certificate_required, RFC 8446 4.4.2.4,
        or a Finished that failed to verify), so the handshake failed after all."""
        return (
            self.summary.handshake_complete
            and self._completer is not None
            and d != self._completer
            and level == AlertLevel.FATAL
            and desc != AlertDescription.CLOSE_NOTIFY
            and self._dirs[d].records == self._records_at_completion[d] + 1
        )

    # -- bookkeeping -------------------------------------------------------

    def _event(self, d: int, kind: str, frame: int, ts: float, length: int = 0, detail: str = "") -> None:
        if kind not in ("fin", "rst", "gap") and not self.summary.handshake_complete:
            if self._last_dir != d:
                self._flights += 1
                self._last_dir = d
        if self._events:
            ev = self.summary.events
            if len(ev) < MAX_EVENTS:
                ev.append(HandshakeEvent(d, kind, frame, ts, length, detail))

    def _error(self, msg: str) -> None:
        if len(self.summary.errors) < MAX_ERRORS:
            self.summary.errors.append(msg)

    def _set_malformed(self, d: int, msg: str, frame: int) -> None:
        if self._malformed is None:
            self._malformed = msg
            self.summary.failure_frame = frame
        self._error(f"malformed {_SIDE[d]} data: {msg}")
        st = self._dirs[d]
        st.dead = True
        st.buf.clear()
        st.hs.clear()
        self._update_wants()

    def _update_wants(self) -> None:
        if self._keep_payload:
            both_dead = self._dirs[0].dead and self._dirs[1].dead
            self.wants_payload = not both_dead and self._not_tls_reason is None
            return
        s = self.summary
        self.wants_payload = not (
            s.handshake_complete
            or self._not_tls_reason is not None
            or self._malformed is not None
            or (s.alert_level == "fatal")
            or (self._dirs[0].dead and self._dirs[1].dead)
        )

    # -- result ------------------------------------------------------------

    def finish(self, close_reason: str = "end") -> ConnectionSummary:
        """The summary; `close_reason` is why the flow ended: fin, rst, idle, end, reuse, evicted."""
        s = self.summary
        s.close_reason = close_reason
        if self._decryptor is not None:
            self._decryptor.finish(s)
        fill_fingerprints(s, self._client_hello, self._server_hello)
        fill_resumption_facts(s, self._client_hello, self._server_hello, self._server_flight, self._ch_ts)
        if self._client_hello is not None or self._server_hello_seen:
            s.is_tls = True
        if self._ch_ts is not None and self._last_hs_ts is not None:
            end = self._complete_ts if self._complete_ts is not None else self._last_hs_ts
            s.handshake_ms = round((end - self._ch_ts) * 1000.0, 3)
            s.round_trips = self._flights // 2 if s.handshake_complete else None
        if s.handshake_complete:
            s.failure = None
        elif self._not_tls_reason is not None and not s.is_tls:
            s.failure = "not_tls"
            self._error(self._not_tls_reason)
        elif s.alert is not None:
            s.failure = "alert"
            s.failure_frame = s.alert_frame
        elif self._malformed is not None:
            s.failure = f"malformed: {self._malformed}"
        elif self._gap is not None:
            s.failure = "gap"
            s.failure_frame = self._gap[1]
        elif self._rst is not None:
            s.failure = "reset"
            s.failure_frame = self._rst[1]
        elif self._client_hello is None:
            s.failure = "no_client_hello" if s.is_tls or self._server_hello_seen else "not_tls"
            if not s.is_tls and self._not_tls_reason:
                self._error(self._not_tls_reason)
            elif not s.is_tls and any(not d.seen and d.buf for d in self._dirs):
                n = max(len(d.buf) for d in self._dirs if not d.seen)
                self._error(f"only {n} byte(s) of payload: too few to tell whether it is TLS")
        elif self._fin[0] is not None or self._fin[1] is not None:
            s.failure = "close"
            s.failure_frame = min(f for f in self._fin if f is not None)
        elif close_reason == "evicted":  # not followed further: how it went on is unknown
            s.failure = "evicted"
            self._error("not followed to its end: too many connections were live at once and this one was idle the longest")
        elif not self._dirs[_SERVER].seen:
            s.failure = "no_response"
        elif close_reason == "idle":
            s.failure = "timeout"
        else:
            s.failure = "truncated"
        return s


def name_of_level(level: int) -> str:
    return {AlertLevel.WARNING: "warning", AlertLevel.FATAL: "fatal"}.get(level, f"level_{level}")


def name_of_sslv2(kind: int) -> str:
    from .registry import SSL2_CIPHER_KIND_NAMES

    return SSL2_CIPHER_KIND_NAMES.get(kind, f"SSL2_0x{kind:06x}")
