"""Key derivation of every TLS version, built on `cryptography`'s hashes, HMAC and HKDF-Expand.

Owns the protocol arithmetic that turns secrets into keys and checks Finished:
the SSL 3.0 key derivation, the TLS 1.0/1.1 PRF (P_MD5 xor P_SHA1), the TLS 1.2
PRF with the suite's hash (RFC 5246 5), the master secret and extended master
secret (RFC 7627), the key block, TLS 1.3 HKDF-Extract / HKDF-Expand-Label /
Derive-Secret (RFC 8446 7.1), traffic keys and KeyUpdate, and the verify_data
of Finished for SSL 3.0, TLS 1.0-1.2 and TLS 1.3. No primitive is written here:
P_hash is the RFC's construction over `cryptography`'s HMAC.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "MD5": hashes.MD5,
    "SHA1": hashes.SHA1,
    "SHA": hashes.SHA1,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}

SSL3, TLS10, TLS11, TLS12 = 0x0300, 0x0301, 0x0302, 0x0303


def algorithm(name: str) -> hashes.HashAlgorithm:
    """A `cryptography` hash object for a registry hash name (`SHA256`, `SHA` = SHA-1 ...)."""
    try:
        return _ALGORITHMS[name]()
    except KeyError:
        raise ValueError(f"unsupported hash {name}") from None


def digest_size(name: str) -> int:
    return algorithm(name).digest_size


def digest(name: str, data: bytes) -> bytes:
    h = hashes.Hash(algorithm(name))
    h.update(data)
    return h.finalize()


def hmac(name: str, key: bytes, data: bytes) -> bytes:
    h = _hmac.HMAC(key, algorithm(name))
    h.update(data)
    return h.finalize()


# -- TLS <= 1.2 ------------------------------------------------------------

def p_hash(name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 5: P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ..."""
    out = bytearray()
    a = seed
    while len(out) < length:
        a = hmac(name, secret, a)
        out += hmac(name, secret, a + seed)
    return bytes(out[:length])


def prf_tls12(name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The TLS 1.2 PRF with the suite's hash (SHA-256 unless the suite says SHA-384)."""
    return p_hash(name, secret, label + seed, length)


def prf_tls10(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """RFC 2246 5: P_MD5 over the first half of the secret xor P_SHA-1 over the second half."""
    half = (len(secret) + 1) // 2
    md5 = p_hash("MD5", secret[:half], label + seed, length)
    sha = p_hash("SHA1", secret[len(secret) - half:], label + seed, length)
    return bytes(x ^ y for x, y in zip(md5, sha))


def ssl3_derive(secret: bytes, seed: bytes, length: int) -> bytes:
    """SSL 3.0 key derivation: MD5(secret + SHA1('A' + secret + seed)) + MD5(secret + SHA1('BB' + ...)) ..."""
    out = bytearray()
    i = 1
    while len(out) < length:
        if i > 26:
            raise ValueError("SSL 3.0 key derivation asked for too many bytes")
        inner = digest("SHA1", bytes([64 + i]) * i + secret + seed)
        out += digest("MD5", secret + inner)
        i += 1
    return bytes(out[:length])


def prf(version: int, prf_hash: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """The PRF of `version` (TLS 1.0-1.2; SSL 3.0 has no labelled PRF)."""
    if version >= TLS12:
        return prf_tls12(prf_hash, secret, label, seed, length)
    return prf_tls10(secret, label, seed, length)


def handshake_hash(version: int, prf_hash: str, transcript: bytes) -> bytes:
    """Hash of the handshake messages as TLS <= 1.2 uses it: MD5 + SHA-1 before TLS 1.2, else the PRF hash."""
    if version >= TLS12:
        return digest(prf_hash, transcript)
    return digest("MD5", transcript) + digest("SHA1", transcript)


def master_secret(version: int, prf_hash: str, pre_master: bytes, client_random: bytes,
                  server_random: bytes, session_hash: bytes | None = None) -> bytes:
    """48-byte master secret; with `session_hash` the extended master secret of RFC 7627."""
    if version == SSL3:
        return ssl3_derive(pre_master, client_random + server_random, 48)
    if session_hash is not None:
        return prf(version, prf_hash, pre_master, b"extended master secret", session_hash, 48)
    return prf(version, prf_hash, pre_master, b"master secret", client_random + server_random, 48)


def key_block(version: int, prf_hash: str, master: bytes, client_random: bytes, server_random: bytes,
              length: int) -> bytes:
    if version == SSL3:
        return ssl3_derive(master, server_random + client_random, length)
    return prf(version, prf_hash, master, b"key expansion", server_random + client_random, length)


_SSL3_PAD1 = b"\x36" * 48
_SSL3_PAD2 = b"\x5c" * 48


def finished_tls(version: int, prf_hash: str, master: bytes, from_server: bool, transcript: bytes) -> bytes:
    """Expected verify_data of a TLS 1.0-1.2 or SSL 3.0 Finished over the messages before it."""
    if version == SSL3:
        sender = b"SRVR" if from_server else b"CLNT"
        md5 = digest("MD5", master + _SSL3_PAD2 + digest("MD5", transcript + sender + master + _SSL3_PAD1))
        sha = digest("SHA1", master + _SSL3_PAD2[:40] + digest("SHA1", transcript + sender + master + _SSL3_PAD1[:40]))
        return md5 + sha
    label = b"server finished" if from_server else b"client finished"
    return prf(version, prf_hash, master, label, handshake_hash(version, prf_hash, transcript), 12)


def ssl3_mac(name: str, secret: bytes, seq: int, content_type: int, data: bytes) -> bytes:
    """SSL 3.0 record MAC: hash(secret + pad2 + hash(secret + pad1 + seq + type + length + data))."""
    n = 48 if name == "MD5" else 40
    inner = digest(name, secret + _SSL3_PAD1[:n] + seq.to_bytes(8, "big") + bytes((content_type,))
                   + len(data).to_bytes(2, "big") + data)
    return digest(name, secret + _SSL3_PAD2[:n] + inner)


# -- TLS 1.3 ---------------------------------------------------------------

def hkdf_extract(name: str, salt: bytes | None, ikm: bytes | None) -> bytes:
    size = digest_size(name)
    return hmac(name, salt or b"\x00" * size, ikm or b"\x00" * size)


def hkdf_expand_label(name: str, secret: bytes, label: str, context: bytes, length: int) -> bytes:
    """RFC 8446 7.1: HKDF-Expand(secret, HkdfLabel(length, "tls13 " + label, context), length)."""
    full = b"tls13 " + label.encode("ascii")
    info = length.to_bytes(2, "big") + bytes((len(full),)) + full + bytes((len(context),)) + context
    return HKDFExpand(algorithm(name), length, info).derive(secret)


def derive_secret(name: str, secret: bytes, label: str, transcript_hash: bytes) -> bytes:
    return hkdf_expand_label(name, secret, label, transcript_hash, digest_size(name))


def traffic_key_iv(name: str, secret: bytes, key_length: int, iv_length: int = 12) -> tuple[bytes, bytes]:
    """The write key and IV of a TLS 1.3 traffic secret."""
    return (hkdf_expand_label(name, secret, "key", b"", key_length),
            hkdf_expand_label(name, secret, "iv", b"", iv_length))


def next_traffic_secret(name: str, secret: bytes) -> bytes:
    """RFC 8446 7.2: application_traffic_secret_N+1 after a KeyUpdate."""
    return hkdf_expand_label(name, secret, "traffic upd", b"", digest_size(name))


def finished_tls13(name: str, base_key: bytes, transcript_hash: bytes) -> bytes:
    """RFC 8446 4.4.4: HMAC(finished_key, Transcript-Hash(messages before Finished))."""
    finished_key = hkdf_expand_label(name, base_key, "finished", b"", digest_size(name))
    return hmac(name, finished_key, transcript_hash)


def message_hash(name: str, client_hello1: bytes) -> bytes:
    """RFC 8446 4.4.1: the synthetic message that replaces ClientHello1 after a HelloRetryRequest."""
    h = digest(name, client_hello1)
    return b"\xfe\x00\x00" + bytes((len(h),)) + h
