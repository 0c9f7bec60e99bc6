"""Record protection: decrypt and authenticate one TLS record with `cryptography`.

Owns the per-direction read state of the record layer once keys are known:
TLS 1.2 AEAD (AES-GCM and AES-CCM with a 4-byte fixed IV and 8-byte explicit
nonce, RFC 5288/6655; ChaCha20-Poly1305 with the XORed sequence number, RFC
7905), TLS 1.3 AEAD (RFC 8446 5.2-5.3: nonce, additional data = record header,
inner content type and zero padding), block ciphers in CBC mode with
MAC-then-encrypt or encrypt-then-MAC (RFC 7366), the TLS 1.0 IV chaining, SSL
3.0 padding and MAC, RC4 and NULL. Every record's tag or MAC is checked: a
failure raises `BadRecord` and the sequence number does not move.
"""

from __future__ import annotations

import warnings

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from . import kdf
from .suites import CipherParams, UnsupportedCipher

CT_APPLICATION_DATA = 23


class BadRecord(Exception):
    """A record failed its tag/MAC or padding check (the message says which)."""


def _block_algorithm(name: str, key: bytes) -> object:
    if name == "AES":
        return algorithms.AES(key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from cryptography.hazmat.decrepit.ciphers import algorithms as old
        except ImportError:  # older cryptography: still in the main module
            old = algorithms  # type: ignore[assignment]
        cls = getattr(old, name, None)
        if cls is None:
            raise UnsupportedCipher(f"{name} is not available in this cryptography build")
        return cls(key)


def _check_available(alg: object, mode: object | None) -> None:
    try:
        Cipher(alg, mode).decryptor()  # type: ignore[arg-type]
    except Exception as e:  # UnsupportedAlgorithm: the OpenSSL build lacks it
        raise UnsupportedCipher(f"{type(alg).__name__} is not available: {e}") from None


class RecordProtection:
    """Read state of one direction; `decrypt(content_type, body) -> (inner type, plaintext)`."""

    seq: int = 0

    def decrypt(self, content_type: int, body: bytes) -> tuple[int, bytes]:  # pragma: no cover - interface
        raise NotImplementedError


def _aead(params: CipherParams, key: bytes) -> object:
    if params.kind == "gcm":
        return AESGCM(key)
    if params.kind == "ccm":
        return AESCCM(key, tag_length=params.tag_length)
    if params.kind == "chacha":
        return ChaCha20Poly1305(key)
    raise UnsupportedCipher(f"{params.kind} is not an AEAD")


class TLS13Protection(RecordProtection):
    """RFC 8446 5.2: AEAD over TLSInnerPlaintext with the per-record nonce iv XOR seq."""

    __slots__ = ("_aead", "_iv", "seq", "_tag")

    def __init__(self, params: CipherParams, key: bytes, iv: bytes) -> None:
        self._aead = _aead(params, key)
        self._iv = int.from_bytes(iv, "big")
        self._tag = params.tag_length
        self.seq = 0

    def decrypt(self, content_type: int, body: bytes) -> tuple[int, bytes]:
        if len(body) < self._tag + 1:
            raise BadRecord(f"protected record of {len(body)} bytes is shorter than its tag")
        nonce = (self._iv ^ self.seq).to_bytes(12, "big")
        aad = b"\x17\x03\x03" + len(body).to_bytes(2, "big")
        try:
            inner = self._aead.decrypt(nonce, body, aad)  # type: ignore[attr-defined]
        except InvalidTag:
            raise BadRecord("AEAD tag check failed") from None
        self.seq += 1
        if inner and inner[-1]:
            return inner[-1], inner[:-1]
        stripped = inner.rstrip(b"\x00")
        if not stripped:
            raise BadRecord("TLSInnerPlaintext is all padding (no content type)")
        return stripped[-1], stripped[:-1]


class TLS12AEADProtection(RecordProtection):
    """AES-GCM/CCM (fixed IV + explicit nonce) and ChaCha20-Poly1305 (IV xor seq) before TLS 1.3."""

    __slots__ = ("_aead", "_iv", "_chacha", "seq", "_tag", "_version")

    def __init__(self, params: CipherParams, key: bytes, iv: bytes, version: int) -> None:
        self._aead = _aead(params, key)
        self._chacha = params.kind == "chacha"
        self._iv = int.from_bytes(iv, "big") if self._chacha else iv
        self._tag = params.tag_length
        self._version = version.to_bytes(2, "big")
        self.seq = 0

    def decrypt(self, content_type: int, body: bytes) -> tuple[int, bytes]:
        if self._chacha:
            if len(body) < self._tag:
                raise BadRecord(f"record of {len(body)} bytes is shorter than its tag")
            nonce = (self._iv ^ self.seq).to_bytes(12, "big")  # type: ignore[operator]
            ct = body
        else:
            if len(body) < 8 + self._tag:
                raise BadRecord(f"record of {len(body)} bytes is shorter than nonce and tag")
            nonce = self._iv + body[:8]  # type: ignore[operator]
            ct = body[8:]
        aad = (self.seq.to_bytes(8, "big") + bytes((content_type,)) + self._version
               + (len(ct) - self._tag).to_bytes(2, "big"))
        try:
            pt = self._aead.decrypt(nonce, ct, aad)  # type: ignore[attr-defined]
        except InvalidTag:
            raise BadRecord("AEAD tag check failed") from None
        self.seq += 1
        return content_type, pt


class MACProtection(RecordProtection):
    """Block (CBC), stream (RC4) and NULL ciphers with HMAC (or the SSL 3.0 MAC)."""

    __slots__ = ("_params", "_key", "_iv", "_mac_hash", "_mac_key", "_mac_len", "_version", "_etm",
                 "_ssl3", "_explicit_iv", "_stream", "seq", "_alg")

    def __init__(self, params: CipherParams, key: bytes, iv: bytes, mac_hash: str, mac_key: bytes,
                 version: int, encrypt_then_mac: bool) -> None:
        self._params = params
        self._key = key
        self._iv = iv
        self._mac_hash = mac_hash
        self._mac_key = mac_key
        self._mac_len = kdf.digest_size(mac_hash)
        self._version = version.to_bytes(2, "big")
        self._ssl3 = version == kdf.SSL3
        self._etm = encrypt_then_mac and params.kind == "cbc" and not self._ssl3
        self._explicit_iv = version >= kdf.TLS11
        self._stream = None
        self._alg = None
        self.seq = 0
        if params.kind == "stream":
            alg = _block_algorithm(params.algorithm, key)
            self._stream = Cipher(alg, None).decryptor()  # type: ignore[arg-type]
        elif params.kind == "cbc":
            self._alg = _block_algorithm(params.algorithm, key)
            _check_available(self._alg, modes.CBC(b"\x00" * params.block_size))

    def _mac(self, content_type: int, data: bytes) -> bytes:
        if self._ssl3:
            return kdf.ssl3_mac(self._mac_hash, self._mac_key, self.seq, content_type, data)
        header = self.seq.to_bytes(8, "big") + bytes((content_type,)) + self._version + len(data).to_bytes(2, "big")
        return kdf.hmac(self._mac_hash, self._mac_key, header + data)

    def decrypt(self, content_type: int, body: bytes) -> tuple[int, bytes]:
        kind = self._params.kind
        n = self._mac_len
        if kind == "null":
            if len(body) < n:
                raise BadRecord(f"record of {len(body)} bytes is shorter than its MAC")
            data, mac = body[: len(body) - n], body[len(body) - n:]
            if self._mac(content_type, data) != mac:
                raise BadRecord("MAC check failed")
            self.seq += 1
            return content_type, data
        if kind == "stream":
            if len(body) < n:
                raise BadRecord(f"record of {len(body)} bytes is shorter than its MAC")
            pt = self._stream.update(body)  # type: ignore[union-attr]
            data, mac = pt[: len(pt) - n], pt[len(pt) - n:]
            if self._mac(content_type, data) != mac:
                raise BadRecord("MAC check failed")  # the RC4 state has moved on: the stream is lost anyway
            self.seq += 1
            return content_type, data
        bs = self._params.block_size
        if self._etm:
            if len(body) < n:
                raise BadRecord(f"record of {len(body)} bytes is shorter than its MAC")
            enc, mac = body[: len(body) - n], body[len(body) - n:]
            if self._mac(content_type, enc) != mac:
                raise BadRecord("MAC check failed (encrypt-then-MAC)")
        else:
            enc = body
        if self._explicit_iv:
            iv, enc = enc[:bs], enc[bs:]
        else:
            iv = self._iv
        if not enc or len(enc) % bs or len(iv) != bs:
            raise BadRecord(f"CBC record of {len(body)} bytes is not a whole number of {bs}-byte blocks")
        dec = Cipher(self._alg, modes.CBC(iv)).decryptor()  # type: ignore[arg-type]
        pt = dec.update(enc) + dec.finalize()
        pad = pt[-1]
        if pad + 1 > len(pt):
            raise BadRecord("bad CBC padding length")
        if self._ssl3:
            if pad >= bs:
                raise BadRecord("bad SSL 3.0 padding length")
        elif pt[len(pt) - pad - 1:] != bytes((pad,)) * (pad + 1):
            raise BadRecord("bad CBC padding")
        pt = pt[: len(pt) - pad - 1]
        if not self._etm:
            if len(pt) < n:
                raise BadRecord("record shorter than its MAC")
            data, mac = pt[: len(pt) - n], pt[len(pt) - n:]
            if self._mac(content_type, data) != mac:
                raise BadRecord("MAC check failed")
        else:
            data = pt
        if not self._explicit_iv:
            self._iv = enc[-bs:]
        self.seq += 1
        return content_type, data


def tls12_protection(params: CipherParams, mac_hash: str | None, version: int, encrypt_then_mac: bool,
                     key: bytes, iv: bytes, mac_key: bytes) -> RecordProtection:
    """Read state for TLS <= 1.2 from its slice of the key block."""
    if params.kind in ("gcm", "ccm", "chacha"):
        return TLS12AEADProtection(params, key, iv, version)
    if mac_hash is None:
        raise UnsupportedCipher("a non-AEAD cipher needs a MAC")
    return MACProtection(params, key, iv, mac_hash, mac_key, version, encrypt_then_mac)


def tls13_protection(params: CipherParams, hash_name: str, secret: bytes) -> TLS13Protection:
    key, iv = kdf.traffic_key_iv(hash_name, secret, params.key_length, 12)
    return TLS13Protection(params, key, iv)
