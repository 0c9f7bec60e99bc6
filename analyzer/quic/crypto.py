"""QUIC packet protection (RFC 9001 5, RFC 9369 3): Initial keys, header protection, AEAD.

Owns the key schedule of QUIC packet protection: the Initial secrets derived
from the client's first Destination Connection ID with the version's salt
(v1, v2, draft-29), the per-direction key / IV / header-protection key from a
traffic secret (labels `quic key`/`quic iv`/`quic hp`, or `quicv2 ...` for v2),
removal of header protection, and payload decryption. It knows nothing of
packets beyond the offsets the caller gives it; every failure is a `QUICCryptoError`.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

# QUIC version numbers (RFC 9000 15, RFC 9369 3.1, draft-ietf-quic-transport-29)
QUIC_V1 = 0x00000001
QUIC_V2 = 0x6B3343CF
QUIC_DRAFT_29 = 0xFF00001D

# Initial salts: RFC 9001 5.2, RFC 9369 3.3.1, draft-ietf-quic-tls-29 5.2
_SALTS: dict[int, bytes] = {
    QUIC_V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    QUIC_V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
    QUIC_DRAFT_29: bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"),
}
# drafts 23 to 28 (draft-ietf-quic-tls-23 5.2)
_SALTS_DRAFT_23_28 = bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502")


class QUICCryptoError(Exception):
    """A QUIC key could not be derived or a packet could not be unprotected."""


def initial_salt(version: int) -> bytes | None:
    """The Initial salt of a version, None if the version is not one we can decrypt."""
    salt = _SALTS.get(version)
    if salt is None and 0xFF000017 <= version <= 0xFF00001C:
        salt = _SALTS_DRAFT_23_28
    return salt


def _labels(version: int) -> tuple[bytes, bytes, bytes]:
    if version == QUIC_V2:
        return b"quicv2 key", b"quicv2 iv", b"quicv2 hp"
    return b"quic key", b"quic iv", b"quic hp"


def hkdf_extract(salt: bytes, ikm: bytes, hash_name: str = "sha256") -> bytes:
    return hmac.new(salt, ikm, hash_name).digest()


def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int, hash_name: str = "sha256") -> bytes:
    """RFC 8446 7.1 HKDF-Expand-Label with the `tls13 ` prefix."""
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + bytes([len(context)]) + context
    out = b""
    block = b""
    i = 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([i]), hash_name).digest()
        out += block
        i += 1
    return out[:length]


# AEAD of a TLS 1.3 cipher suite: (key length, hash name, kind)
_SUITES: dict[int, tuple[int, str, str]] = {
    0x1301: (16, "sha256", "aes-gcm"),
    0x1302: (32, "sha384", "aes-gcm"),
    0x1303: (32, "sha256", "chacha20"),
}
INITIAL_SUITE = 0x1301  # Initial packets always use AEAD_AES_128_GCM (RFC 9001 5.2)


def suite_hash(cipher_suite: int) -> str | None:
    info = _SUITES.get(cipher_suite)
    return info[1] if info else None


@dataclass
class PacketKeys:
    """Keys of one direction and one packet number space."""

    key: bytes
    iv: bytes
    hp: bytes
    kind: str = "aes-gcm"

    @classmethod
    def from_secret(cls, secret: bytes, version: int, cipher_suite: int = INITIAL_SUITE) -> "PacketKeys":
        info = _SUITES.get(cipher_suite)
        if info is None:
            raise QUICCryptoError(f"cipher suite 0x{cipher_suite:04x} is not a QUIC AEAD")
        klen, h, kind = info
        lk, liv, lhp = _labels(version)
        return cls(
            key=hkdf_expand_label(secret, lk, b"", klen, h),
            iv=hkdf_expand_label(secret, liv, b"", 12, h),
            hp=hkdf_expand_label(secret, lhp, b"", klen, h),
            kind=kind,
        )

    def header_mask(self, sample: bytes) -> bytes:
        """5-byte header protection mask from a 16-byte ciphertext sample (RFC 9001 5.4)."""
        if len(sample) != 16:
            raise QUICCryptoError("packet too short for a header protection sample")
        if self.kind == "chacha20":
            counter = sample[:4]
            nonce = sample[4:]
            enc = Cipher(algorithms.ChaCha20(self.hp, counter + nonce), mode=None).encryptor()
            return enc.update(b"\x00" * 5)
        enc = Cipher(algorithms.AES(self.hp), modes.ECB()).encryptor()
        return enc.update(sample)[:5]

    def decrypt(self, pn: int, header: bytes, ciphertext: bytes) -> bytes:
        nonce = (int.from_bytes(self.iv, "big") ^ pn).to_bytes(12, "big")
        aead = ChaCha20Poly1305(self.key) if self.kind == "chacha20" else AESGCM(self.key)
        try:
            return aead.decrypt(nonce, ciphertext, header)
        except InvalidTag:
            raise QUICCryptoError("AEAD authentication failed") from None


def initial_secrets(dcid: bytes, version: int) -> tuple[bytes, bytes]:
    """(client_initial_secret, server_initial_secret) for the client's first Destination CID."""
    salt = initial_salt(version)
    if salt is None:
        raise QUICCryptoError(f"no Initial salt known for version 0x{version:08x}")
    initial = hkdf_extract(salt, dcid)
    return (hkdf_expand_label(initial, b"client in", b"", 32),
            hkdf_expand_label(initial, b"server in", b"", 32))


def initial_keys(dcid: bytes, version: int) -> tuple[PacketKeys, PacketKeys]:
    """(client keys, server keys) of the Initial packet number space."""
    c, s = initial_secrets(dcid, version)
    return PacketKeys.from_secret(c, version), PacketKeys.from_secret(s, version)


def decode_packet_number(truncated: int, pn_len: int, largest: int) -> int:
    """RFC 9000 A.3: the full packet number nearest to largest + 1."""
    expected = largest + 1
    win = 1 << (pn_len * 8)
    hwin = win // 2
    mask = win - 1
    candidate = (expected & ~mask) | truncated
    if candidate <= expected - hwin and candidate < (1 << 62) - win:
        return candidate + win
    if candidate > expected + hwin and candidate >= win:
        return candidate - win
    return candidate


def unprotect(packet: bytes, pn_offset: int, end: int, keys: PacketKeys, largest_pn: int) -> tuple[int, bytes, bytes]:
    """Remove header protection and decrypt one long- or short-header packet.

    `packet[:end]` is the whole packet, the packet number starts at `pn_offset`.
    Returns (packet number, unprotected header, plaintext payload).
    """
    if pn_offset + 20 > end:
        raise QUICCryptoError("packet too short for a header protection sample")
    mask = keys.header_mask(bytes(packet[pn_offset + 4 : pn_offset + 20]))
    first = packet[0]
    first ^= mask[0] & (0x0F if first & 0x80 else 0x1F)
    pn_len = (first & 0x03) + 1
    header = bytearray(packet[: pn_offset + pn_len])
    header[0] = first
    truncated = 0
    for i in range(pn_len):
        header[pn_offset + i] ^= mask[1 + i]
        truncated = (truncated << 8) | header[pn_offset + i]
    pn = decode_packet_number(truncated, pn_len, largest_pn)
    plain = keys.decrypt(pn, bytes(header), bytes(packet[pn_offset + pn_len : end]))
    return pn, bytes(header), plain
