"""`Decryptor`: the decryption state of one connection, driven by the TLS state machine.

Owns, per connection: the handshake transcript (with the HelloRetryRequest
substitution), the randoms, version, suite, extended master secret and
encrypt-then-MAC flags; finding the secrets (key log by client random, RSA
premaster from ClientKeyExchange with the key matching the server certificate,
master secret of a resumed session); the key block or TLS 1.3 traffic keys, the
switch at ChangeCipherSpec / Finished / KeyUpdate / EndOfEarlyData; decrypting
each protected record; Finished verification; counting application bytes and
handing them to an optional sink; and the final status with its reason.

The TLS state machine (`analyzer.tls.connection.TLSConnection`) calls
`handshake()` for every handshake message (clear or decrypted), `change_cipher_spec()`,
`record()` for every record, `gap()` and `finish()`. `wants_records` is False
once this connection cannot be decrypted: the state machine then goes back to
its fast path (record bodies of application data are skipped).

Statuses (`ConnectionSummary.decryption`): ok, no_key, dhe_needs_keylog,
missing_secrets, key_mismatch, bad_record_mac, unsupported_cipher,
unsupported_version, gap, no_client_hello, no_server_hello, handshake_error.
"""

from __future__ import annotations

from typing import Protocol

from ..tls import messages as m
from ..tls.buffer import TLSDecodeError
from ..tls.registry import DTLS_AS_TLS, HandshakeType
from . import kdf
from .keys import KeyMaterial, ServerKey
from .record import BadRecord, RecordProtection, tls12_protection, tls13_protection
from .suites import SuiteParams, UnsupportedCipher, suite_params

_SIDE = ("client", "server")
_CT_APPLICATION_DATA = 23
_MAX_ERRORS = 8
_MAX_CLIENT_RANDOMS = 8               # handshakes (first and renegotiations) whose client random is kept
_DHE = ("DHE", "ECDHE", "DH", "ECDH", "DHE_PSK", "ECDHE_PSK")
_PLAIN_PSK = "PSK"                      # registry key_exchange of TLS_PSK_WITH_* (RFC 4279 section 2)
_EPHEMERAL_PSK = ("DHE_PSK", "ECDHE_PSK")  # need the (EC)DH secret besides the PSK
MAX_TRANSCRIPT = 1 << 22              # handshake transcript bytes kept per handshake; beyond: handshake_error


class AppDataSink(Protocol):
    """Receives the decrypted application data of one connection (for `decrypt`)."""

    def data(self, direction: int, data: bytes, frame: int, ts: float) -> None: ...

    def close(self) -> None: ...


class Decryptor:
    """Decryption of one connection; see the module docstring for the protocol."""

    def __init__(self, keys: KeyMaterial, sink: AppDataSink | None = None, *, dtls: bool = False) -> None:
        self.keys = keys
        self.dtls = dtls               # DTLS: cookie in the ClientHello, wire versions 0xfeff/0xfefd
        keys.connections += 1
        self.sink = sink
        self.status: str | None = None
        self.failed = False
        self.gave_up = False
        self.errors: list[str] = []
        self.finished: list[bool | None] = [None, None]
        self.app_bytes = [0, 0]
        self.records = [0, 0]          # records decrypted, per direction
        self.undecrypted = [0, 0]      # protected records there was no key for
        self.early_data_bytes = 0
        self._read: list[RecordProtection | None] = [None, None]
        self._pending: list[RecordProtection | None] = [None, None]
        self._early: list[RecordProtection] | None = None
        self._ccs = [False, False]
        self._tls13 = False
        self._version = 0              # the TLS version whose PRF and record rules apply (DTLS mapped)
        self._wire_version = 0         # the version in record headers (MAC and AEAD additional data)
        self._suite: SuiteParams | None = None
        self._transcript = bytearray()
        self._ch1_len = 0
        self._hrr = False
        self._ch_seen = False
        self._sh_seen = False
        self._cr = b""
        self._sr = b""
        self._session_id = b""
        self._sh_session_id = b""
        self._ticket: bytes | None = None
        self._ms: bytes | None = None
        self._tentative_ms: bytes | None = None
        self._ems = False
        self._etm = False
        self._rsa_key: ServerKey | None = None
        self._hs_secret: list[bytes | None] = [None, None]
        self._traffic: list[bytes | None] = [None, None]
        self._done = [False, False]
        self.rsa_epms_prefix = b""     # first 8 bytes of the RSA-encrypted premaster (the key log's RSA label)
        self.client_randoms: list[bytes] = []   # of each handshake (renegotiations too; at most _MAX_CLIENT_RANDOMS)

    @property
    def client_random(self) -> bytes:
        """ClientHello.random of the connection's first handshake (public; empty before it)."""
        return self.client_randoms[0] if self.client_randoms else b""

    # -- protocol with the state machine -------------------------------------

    @property
    def wants_records(self) -> bool:
        """False once nothing more can be decrypted on this connection."""
        return not (self.failed or self.gave_up)

    def record(self, d: int, content_type: int, body: bytes, frame: int, ts: float,
               seq: int | None = None) -> tuple[int, bytes] | None:
        """Decrypt a record if this direction is protected and keyed: (inner content type, plaintext), else None.

        `seq` is DTLS's explicit 64-bit epoch and sequence number (RFC 6347 4.1.2.1); TLS counts."""
        if self.failed or self.gave_up:
            return None
        if d == 0 and self._early is not None and content_type == _CT_APPLICATION_DATA:
            out = self._try_early(body)
            if out is not None:
                if out[0] == _CT_APPLICATION_DATA:
                    self.early_data_bytes += len(out[1])
                return self._deliver(d, out, frame, ts)
        rp = self._read[d]
        if rp is None:
            if self._sh_seen and ((self._tls13 and content_type == _CT_APPLICATION_DATA) or (not self._tls13 and self._ccs[d])):
                self.undecrypted[d] += 1
            return None
        if self._tls13 and content_type != _CT_APPLICATION_DATA:
            return None  # a clear alert or middlebox-compatibility CCS
        if seq is not None:
            rp.seq = seq
        try:
            out = rp.decrypt(content_type, body)
        except BadRecord as e:
            self._fail("bad_record_mac" if self.records[d] else "key_mismatch",
                       f"{_SIDE[d]} record in frame {frame} failed: {e}; decryption stopped there")
            return None
        self.records[d] += 1
        return self._deliver(d, out, frame, ts)

    def change_cipher_spec(self, d: int, frame: int) -> None:
        if self.failed or self.gave_up or self._tls13 or not self._sh_seen:
            return
        self._ccs[d] = True
        if self._pending[d] is None and self._ms is None and self._tentative_ms is not None:
            self._ms = self._tentative_ms  # abbreviated handshake after a ticket we know
            self._derive_keys()
        if self._pending[d] is None:
            if self._read[d] is None and not self.gave_up:
                self._give_up(self._no_key_status(), None)
            return
        self._read[d] = self._pending[d]
        self._pending[d] = None

    def gap(self, d: int, frame: int) -> None:
        """Bytes of direction d were lost: its records cannot be decrypted past the hole."""
        if self.failed or self.gave_up:
            return
        if self._read[d] is not None or self._pending[d] is not None or self.records[d]:
            self._fail("gap", f"{_SIDE[d]} stream has a gap at frame {frame}; decryption stopped there")

    def handshake(self, d: int, t: int, body: bytes, frame: int, ts: float, sslv2: bool = False,
                  raw: bytes | None = None) -> None:
        """One handshake message, clear or decrypted, in order; `raw` is the message as the
        transcript hashes it when that is not the TLS form (DTLS: with its 12-byte header)."""
        if self.failed or self.gave_up:
            return
        if raw is None:
            raw = body if sslv2 else bytes((t,)) + len(body).to_bytes(3, "big") + body
        try:
            self._handshake(d, t, body, raw, frame, sslv2)
        except TLSDecodeError as e:
            self._give_up("handshake_error", f"{_SIDE[d]} handshake message in frame {frame}: {e}")
        except UnsupportedCipher as e:
            self._give_up("unsupported_cipher", str(e))

    def finish(self, s: object) -> None:
        """Write the verdict into a `ConnectionSummary` and close the sink."""
        status = self.status
        if not (self.failed or self.gave_up):
            if not self._ch_seen:
                status = "no_client_hello"
            elif not self._sh_seen:
                status = "no_server_hello"
            elif status is None:
                keyed = self._ms is not None or any(x is not None for x in self._hs_secret) or any(self.records)
                status = "ok" if keyed else self._no_key_status()
                if keyed and any(self.undecrypted):
                    status = "missing_secrets"
        s.decryption = status  # type: ignore[attr-defined]
        s.finished_client = self.finished[0]  # type: ignore[attr-defined]
        s.finished_server = self.finished[1]  # type: ignore[attr-defined]
        if any(self.records):
            s.app_bytes_client = self.app_bytes[0]  # type: ignore[attr-defined]
            s.app_bytes_server = self.app_bytes[1]  # type: ignore[attr-defined]
        errors = s.errors  # type: ignore[attr-defined]
        for e in self.errors:
            if len(errors) < 16:
                errors.append(e)
        if self.sink is not None:
            self.sink.close()
            self.sink = None

    # -- secrets for export (the `keylog` command) ---------------------------

    def recovered_secrets(self) -> list[tuple[str, bytes, bytes]]:
        """(label, client random, secret) of what this connection's keys were: NSS key log lines."""
        out: list[tuple[str, bytes, bytes]] = []
        if self._ms is not None and self._cr:
            out.append(("CLIENT_RANDOM", self._cr, self._ms))
        elif self._cr:
            for label in ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                          "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"):
                v = self.keys.secret(self._cr, label)
                if v is not None:
                    out.append((label, self._cr, v))
        return out

    # -- internals -----------------------------------------------------------

    def _deliver(self, d: int, out: tuple[int, bytes], frame: int, ts: float) -> tuple[int, bytes]:
        if out[0] == _CT_APPLICATION_DATA:
            self.app_bytes[d] += len(out[1])
            if self.sink is not None and out[1]:
                self.sink.data(d, out[1], frame, ts)
        return out

    def _try_early(self, body: bytes) -> tuple[int, bytes] | None:
        for rp in self._early or ():
            try:
                out = rp.decrypt(_CT_APPLICATION_DATA, body)
            except BadRecord:
                continue
            self._early = [rp]
            return out
        if self._sh_seen:
            self._early = None  # the client has moved on to its handshake keys
        return None

    def _no_key_status(self) -> str:
        suite = self._suite
        dhe = suite is not None and (suite.tls13 or suite.key_exchange in _DHE)
        return "dhe_needs_keylog" if dhe and self.keys.server_keys else "no_key"

    def _give_up(self, status: str, reason: str | None) -> None:
        self.status = status
        self.gave_up = True
        self._read = [None, None]
        self._pending = [None, None]
        self._early = None
        if reason:
            self._note(f"decryption: {reason}")

    def _fail(self, status: str, reason: str) -> None:
        self.status = status
        self.failed = True
        self._read = [None, None]
        self._pending = [None, None]
        self._early = None
        self._note(f"decryption: {reason}")

    def _note(self, msg: str) -> None:
        if len(self.errors) < _MAX_ERRORS:
            self.errors.append(msg)

    def _transcript_hash(self) -> bytes:
        name = self._suite.prf_hash  # type: ignore[union-attr]
        t = bytes(self._transcript)
        if self._ch1_len:
            t = kdf.message_hash(name, t[: self._ch1_len]) + t[self._ch1_len:]
        return kdf.digest(name, t)

    def _add(self, raw: bytes) -> None:
        if len(self._transcript) + len(raw) > MAX_TRANSCRIPT:
            raise TLSDecodeError(f"handshake transcript larger than {MAX_TRANSCRIPT} bytes")
        self._transcript += raw

    def _handshake(self, d: int, t: int, body: bytes, raw: bytes, frame: int, sslv2: bool) -> None:
        if t == HandshakeType.CLIENT_HELLO:
            if d != 0:
                return
            if self._hrr and not self._sh_seen:
                self._add(raw)  # ClientHello2 after a HelloRetryRequest
                return
            ch = (m.pull_sslv2_client_hello(body) if sslv2 else m.pull_client_hello(body, True) if self.dtls
                  else m.pull_client_hello(body))
            self._new_handshake(ch, raw)
            return
        if not self._ch_seen or t == HandshakeType.HELLO_REQUEST:
            return
        if t == HandshakeType.SERVER_HELLO:
            if d != 1 or self._sh_seen:
                return
            sh = m.pull_server_hello(body)
            if sh.is_hello_retry_request:
                self._hrr = True
                self._ch1_len = len(self._transcript)
                self._add(raw)
                return
            self._add(raw)
            self._on_server_hello(sh)
            return
        if not self._sh_seen:
            return
        if self._done[0] and self._done[1]:
            if t == HandshakeType.KEY_UPDATE and self._tls13:
                self._key_update(d)
            return
        if t == HandshakeType.FINISHED:
            self._finished(d, body, raw)
            return
        if t == HandshakeType.END_OF_EARLY_DATA:
            self._early = None
        elif t == HandshakeType.CERTIFICATE and d == 1:
            self._server_certificate(body)
        elif t == HandshakeType.NEW_SESSION_TICKET and d == 1 and not self._tls13:
            buf = body[4:]
            if len(buf) >= 2 and len(buf) - 2 == int.from_bytes(buf[:2], "big") and self._ms is not None:
                self.keys.remember("T", buf[2:], self._ms)
        if self.gave_up:
            return
        self._add(raw)
        if t == HandshakeType.CLIENT_KEY_EXCHANGE and d == 0 and not self._tls13:
            self._client_key_exchange(body, frame)

    def _new_handshake(self, ch: m.ClientHello, raw: bytes) -> None:
        first = not self._ch_seen
        self._transcript = bytearray(raw)
        self._ch_seen = True
        self._sh_seen = False
        self._hrr = False
        self._ch1_len = 0
        self._done = [False, False]
        self._cr = ch.random
        if len(self.client_randoms) < _MAX_CLIENT_RANDOMS:
            self.client_randoms.append(ch.random)
        self._session_id = ch.legacy_session_id
        self._ticket = ch.extensions.session_ticket or None
        self._ms = None
        self._tentative_ms = None
        self._rsa_key = None
        self._hs_secret = [None, None]
        keys = self.keys
        if not first:
            return  # renegotiation: the current keys stay until the next ChangeCipherSpec
        if ch.extensions.early_data:
            cets = keys.secret(self._cr, "CLIENT_EARLY_TRAFFIC_SECRET")
            if cets is not None:
                self._early = self._early_candidates(ch.cipher_suites, cets)
        if not (keys.has_secrets_for(self._cr) or keys.server_keys or keys.rsa_premasters or keys.psks
                or keys.recall("S", self._session_id) or (self._ticket and keys.recall("T", self._ticket))):
            self._give_up("no_key", None)

    def _early_candidates(self, suites: list[int], secret: bytes) -> list[RecordProtection]:
        out: list[RecordProtection] = []
        seen: set[tuple[str, str]] = set()
        for code in suites:
            try:
                p = suite_params(code)
            except UnsupportedCipher:
                continue
            if not p.tls13 or kdf.digest_size(p.prf_hash) != len(secret) or (p.cipher.kind, p.prf_hash) in seen:
                continue
            seen.add((p.cipher.kind + str(p.cipher.key_length) + str(p.cipher.tag_length), p.prf_hash))
            out.append(tls13_protection(p.cipher, p.prf_hash, secret))
        return out

    def _on_server_hello(self, sh: m.ServerHello) -> None:
        self._sh_seen = True
        self._sr = sh.random
        version = sh.version
        self._wire_version = version
        version = DTLS_AS_TLS.get(version, version) if self.dtls else version
        self._version = version
        self._tls13 = m.is_tls13_family(version)
        if (self._tls13 and version != 0x0304) or (not self._tls13 and not 0x0300 <= version <= 0x0303) or (
                self.dtls and self._tls13):
            self._give_up("unsupported_version", f"version 0x{self._wire_version:04x} cannot be decrypted"
                            + (" (DTLS 1.3 record protection is not implemented)" if self.dtls else ""))
            return
        try:
            self._suite = suite_params(sh.cipher_suite)
        except UnsupportedCipher as e:
            self._give_up("unsupported_cipher", str(e))
            return
        keys = self.keys
        suite = self._suite
        if self._tls13:
            self._hs_secret = [keys.secret(self._cr, "CLIENT_HANDSHAKE_TRAFFIC_SECRET"),
                               keys.secret(self._cr, "SERVER_HANDSHAKE_TRAFFIC_SECRET")]
            size = kdf.digest_size(suite.prf_hash)
            if all(x is None for x in self._hs_secret):
                self._give_up(self._no_key_status(), None)
                return
            for d in (0, 1):
                sec = self._hs_secret[d]
                if sec is not None and len(sec) != size:
                    self._fail("key_mismatch", f"{_SIDE[d]} handshake secret has {len(sec)} bytes, {suite.name} needs {size}")
                    return
                self._read[d] = tls13_protection(suite.cipher, suite.prf_hash, sec) if sec is not None else None
                if sec is None:
                    self._note(f"decryption: the key log has no {_SIDE[d].upper()}_HANDSHAKE_TRAFFIC_SECRET for this connection")
            return
        self._early = None
        self._ems = sh.extensions.extended_master_secret
        self._etm = sh.extensions.encrypt_then_mac
        self._sh_session_id = sh.legacy_session_id_echo
        ms = keys.secret(self._cr, "CLIENT_RANDOM")
        if ms is None and self._session_id and self._sh_session_id == self._session_id:
            ms = keys.recall("S", self._session_id)
        if ms is None and self._ticket:
            self._tentative_ms = keys.recall("T", self._ticket)
        if ms is not None:
            self._ms = ms
            self._derive_keys()
            return
        if suite.key_exchange == "RSA" and (keys.server_keys or keys.rsa_premasters):
            return  # wait for the certificate and ClientKeyExchange
        if suite.key_exchange == _PLAIN_PSK and keys.psks:
            return  # wait for the ClientKeyExchange's psk_identity
        if self._tentative_ms is not None:
            return  # wait for the server's ChangeCipherSpec: abbreviated or not
        if suite.key_exchange in _EPHEMERAL_PSK and keys.psks:
            self._give_up("missing_secrets", f"{suite.key_exchange} also needs the ephemeral (EC)DH secret: "
                                             "only a key log (CLIENT_RANDOM) decrypts it")
            return
        self._give_up(self._no_key_status(), None)

    def _server_certificate(self, body: bytes) -> None:
        keys = self.keys
        if not keys.server_keys:
            return
        cert = m.pull_certificate(body, tls13=self._tls13)
        key = keys.key_for_certificate(cert.certificates[0]) if cert.certificates else None
        if key is not None:
            key.matched += 1
        if self._tls13 or self._ms is not None:
            return
        suite = self._suite
        if suite is not None and suite.key_exchange == "RSA":
            if key is not None:
                self._rsa_key = key
            elif not keys.rsa_premasters:
                self._give_up("no_key", "no loaded RSA key matches the server certificate")
        else:
            self._give_up(self._no_key_status(), None)

    def _client_key_exchange(self, body: bytes, frame: int) -> None:
        if self._suite is not None and self._suite.key_exchange == _PLAIN_PSK:
            self._psk_key_exchange(body)
            return
        if self._suite is None or self._suite.key_exchange != "RSA":
            return
        epms = body
        if self._version > kdf.SSL3 and len(body) >= 2 and int.from_bytes(body[:2], "big") == len(body) - 2:
            epms = body[2:]
        self.rsa_epms_prefix = epms[:8]
        if self._ms is not None:
            return
        pms = self.keys.rsa_premasters.get(epms[:8])
        if pms is None and self._rsa_key is not None:
            from cryptography.hazmat.primitives.asymmetric import padding

            try:
                pms = self._rsa_key.key.decrypt(epms, padding.PKCS1v15())  # type: ignore[attr-defined]
            except ValueError:
                self._fail("key_mismatch", f"the RSA key {self._rsa_key.source} could not decrypt the premaster secret "
                                           f"in frame {frame}")
                return
        if pms is None:
            self._give_up("no_key", "no RSA key or key log entry for this premaster secret")
            return
        if len(pms) != 48:
            self._fail("key_mismatch", f"the decrypted premaster secret has {len(pms)} bytes (expected 48)")
            return
        self._set_premaster(pms)

    def _set_premaster(self, pms: bytes) -> None:
        suite = self._suite
        assert suite is not None
        session_hash = kdf.handshake_hash(self._version, suite.prf_hash, bytes(self._transcript)) if self._ems else None
        self._ms = kdf.master_secret(self._version, suite.prf_hash, pms, self._cr, self._sr, session_hash)
        self._derive_keys()

    def _psk_key_exchange(self, body: bytes) -> None:
        """RFC 4279 section 2: the premaster of a plain PSK suite from the PSK chosen by psk_identity."""
        if self._ms is not None:
            return
        identity = m.pull_psk_identity(body)
        psk = self.keys.psk_for(identity)
        if psk is None:
            shown = identity.decode("utf-8", "backslashreplace")
            self._give_up("no_key", f"no --psk for the psk_identity {shown!r}")
            return
        n = len(psk).to_bytes(2, "big")
        # other_secret: as many zero bytes as the PSK has, each part with its uint16 length
        self._set_premaster(n + bytes(len(psk)) + n + psk)

    def _derive_keys(self) -> None:
        suite = self._suite
        ms = self._ms
        if suite is None or ms is None:
            return
        c = suite.cipher
        iv_len = c.iv_length if (suite.aead or (c.kind == "cbc" and self._version < kdf.TLS11)) else 0
        mac_len = suite.mac_length
        n = 2 * (mac_len + c.key_length + iv_len)
        kb = kdf.key_block(self._version, suite.prf_hash, ms, self._cr, self._sr, n)
        macs = kb[:mac_len], kb[mac_len: 2 * mac_len]
        p = 2 * mac_len
        keys_ = kb[p: p + c.key_length], kb[p + c.key_length: p + 2 * c.key_length]
        p += 2 * c.key_length
        ivs = kb[p: p + iv_len], kb[p + iv_len: p + 2 * iv_len]
        try:
            self._pending = [tls12_protection(c, suite.mac_hash, self._wire_version, self._etm, keys_[d], ivs[d], macs[d])
                             for d in (0, 1)]
        except UnsupportedCipher as e:
            self._give_up("unsupported_cipher", str(e))
            return
        if self._sh_session_id:
            self.keys.remember("S", self._sh_session_id, ms)

    def _finished(self, d: int, body: bytes, raw: bytes) -> None:
        suite = self._suite
        if suite is None:
            return
        if self._tls13:
            base = self._hs_secret[d]
            if base is not None:
                self.finished[d] = kdf.finished_tls13(suite.prf_hash, base, self._transcript_hash()) == body
            self._add(raw)
            self._done[d] = True
            label = "SERVER_TRAFFIC_SECRET_0" if d else "CLIENT_TRAFFIC_SECRET_0"
            secret = self.keys.secret(self._cr, label)
            self._traffic[d] = secret
            self._read[d] = tls13_protection(suite.cipher, suite.prf_hash, secret) if secret is not None else None
            if secret is None:
                self._note(f"decryption: the key log has no {label} for this connection")
            if d == 0:
                self._early = None
            return
        if self._ms is not None:
            expected = kdf.finished_tls(self._version, suite.prf_hash, self._ms, d == 1, bytes(self._transcript))
            self.finished[d] = expected == body
        self._add(raw)
        self._done[d] = True

    def _key_update(self, d: int) -> None:
        suite = self._suite
        secret = self._traffic[d]
        if suite is None or secret is None:
            return
        self._traffic[d] = kdf.next_traffic_secret(suite.prf_hash, secret)
        self._read[d] = tls13_protection(suite.cipher, suite.prf_hash, self._traffic[d])
