"""Cipher suite parameters for record protection, keyed by the registry's `cipher_suite_info`.

Owns the table from a suite's bulk cipher and MAC names (as
`analyzer.tls.registry.cipher_suite_info` spells them) to what the key block and
the record layer need: key, fixed-IV and block lengths, AEAD tag length, MAC
hash and length, and which `cryptography` algorithm does the work. Suites this
table cannot serve (export ciphers, ARIA, GOST, Camellia-GCM ...) raise
`UnsupportedCipher` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..tls.registry import CipherSuiteInfo, cipher_suite_info


class UnsupportedCipher(Exception):
    """The negotiated suite cannot be decrypted (no table entry or no `cryptography` support)."""


@dataclass(frozen=True, slots=True)
class CipherParams:
    kind: str           # 'gcm', 'ccm', 'chacha', 'cbc', 'stream', 'null'
    algorithm: str      # 'AES', 'Camellia', 'TripleDES', 'SEED', 'IDEA', 'ARC4', ''
    key_length: int
    iv_length: int      # fixed IV from the key block (TLS 1.3: always 12, from HKDF)
    block_size: int = 0
    tag_length: int = 0


# bulk cipher name -> parameters (RFC 5288 GCM, RFC 6655 CCM, RFC 7905 ChaCha20, RFC 5246 CBC/stream)
CIPHERS: dict[str, CipherParams] = {
    "AES_128_GCM": CipherParams("gcm", "AES", 16, 4, tag_length=16),
    "AES_256_GCM": CipherParams("gcm", "AES", 32, 4, tag_length=16),
    "AES_128_CCM": CipherParams("ccm", "AES", 16, 4, tag_length=16),
    "AES_256_CCM": CipherParams("ccm", "AES", 32, 4, tag_length=16),
    "AES_128_CCM_8": CipherParams("ccm", "AES", 16, 4, tag_length=8),
    "AES_256_CCM_8": CipherParams("ccm", "AES", 32, 4, tag_length=8),
    "CHACHA20_POLY1305": CipherParams("chacha", "ChaCha20", 32, 12, tag_length=16),
    "AES_128_CBC": CipherParams("cbc", "AES", 16, 16, 16),
    "AES_256_CBC": CipherParams("cbc", "AES", 32, 16, 16),
    "CAMELLIA_128_CBC": CipherParams("cbc", "Camellia", 16, 16, 16),
    "CAMELLIA_256_CBC": CipherParams("cbc", "Camellia", 32, 16, 16),
    "SEED_CBC": CipherParams("cbc", "SEED", 16, 16, 16),
    "IDEA_CBC": CipherParams("cbc", "IDEA", 16, 8, 8),
    "3DES_EDE_CBC": CipherParams("cbc", "TripleDES", 24, 8, 8),
    "DES_CBC": CipherParams("cbc", "TripleDES", 8, 8, 8),   # single DES = 3DES with K1 = K2 = K3
    "RC4_128": CipherParams("stream", "ARC4", 16, 0),
    "NULL": CipherParams("null", "", 0, 0),
}

# MAC name -> (hash name for kdf.hmac, MAC length); AEAD suites have none
MACS: dict[str, tuple[str, int]] = {
    "MD5": ("MD5", 16),
    "SHA": ("SHA1", 20),
    "SHA256": ("SHA256", 32),
    "SHA384": ("SHA384", 48),
}

# TLS 1.3 AEAD: the suite's cipher name -> parameters (the IV is 12 bytes, RFC 8446 5.3)
TLS13_CIPHERS: dict[str, CipherParams] = {
    "AES_128_GCM": CipherParams("gcm", "AES", 16, 12, tag_length=16),
    "AES_256_GCM": CipherParams("gcm", "AES", 32, 12, tag_length=16),
    "AES_128_CCM": CipherParams("ccm", "AES", 16, 12, tag_length=16),
    "AES_128_CCM_8": CipherParams("ccm", "AES", 16, 12, tag_length=8),
    "CHACHA20_POLY1305": CipherParams("chacha", "ChaCha20", 32, 12, tag_length=16),
}


@dataclass(frozen=True, slots=True)
class SuiteParams:
    """What decrypting one negotiated suite takes."""

    code: int
    name: str
    key_exchange: str
    cipher: CipherParams
    mac_hash: str | None
    mac_length: int
    prf_hash: str           # TLS 1.2 PRF hash / TLS 1.3 HKDF hash
    tls13: bool

    @property
    def aead(self) -> bool:
        return self.cipher.kind in ("gcm", "ccm", "chacha")


def suite_params(code: int) -> SuiteParams:
    """Parameters of a cipher suite; raises `UnsupportedCipher` with the reason."""
    info: CipherSuiteInfo | None = cipher_suite_info(code)
    if info is None:
        raise UnsupportedCipher(f"unknown cipher suite 0x{code:04x}")
    if info.scsv:
        raise UnsupportedCipher(f"{info.name} is a signalling value")
    if info.export:
        raise UnsupportedCipher(f"{info.name}: export ciphers are not supported")
    if info.tls13:
        cipher = TLS13_CIPHERS.get(info.cipher)
        if cipher is None or info.prf_hash not in ("SHA256", "SHA384"):
            raise UnsupportedCipher(f"{info.name}: cipher {info.cipher} is not supported")
        return SuiteParams(code, info.name, info.key_exchange, cipher, None, 0, info.prf_hash, True)
    cipher = CIPHERS.get(info.cipher)
    if cipher is None:
        raise UnsupportedCipher(f"{info.name}: cipher {info.cipher} is not supported")
    if info.prf_hash not in ("SHA256", "SHA384"):
        raise UnsupportedCipher(f"{info.name}: PRF hash {info.prf_hash} is not supported")
    if cipher.kind in ("gcm", "ccm", "chacha"):
        mac_hash, mac_len = None, 0
    else:
        mac = MACS.get(info.mac)
        if mac is None:
            raise UnsupportedCipher(f"{info.name}: MAC {info.mac} is not supported")
        mac_hash, mac_len = mac
    return SuiteParams(code, info.name, info.key_exchange, cipher, mac_hash, mac_len, info.prf_hash, False)
