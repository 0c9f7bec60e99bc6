"""Tests for analyzer.tls.registry: IANA names, GREASE, versions, cipher suite
parsing, and a differential check of our names against tshark's value tables."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import defaultdict

import pytest

from analyzer.tls import registry as r
from analyzer.tls.registry import (
    ALERT_DESCRIPTION_NAMES,
    CIPHER_SUITE_NAMES,
    EXTENSION_NAMES,
    HANDSHAKE_TYPE_NAMES,
    IANA_CIPHER_SUITES,
    NAMED_GROUP_NAMES,
    SIGNATURE_SCHEME_NAMES,
    SSL2_CIPHER_KIND_NAMES,
    AlertDescription,
    CipherSuiteInfo,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    cipher_suite_info,
    cipher_suite_name,
    is_grease,
    version_name,
)

GREASE = [0x0A0A, 0x1A1A, 0x2A2A, 0x3A3A, 0x4A4A, 0x5A5A, 0x6A6A, 0x7A7A,
          0x8A8A, 0x9A9A, 0xAAAA, 0xBABA, 0xCACA, 0xDADA, 0xEAEA, 0xFAFA]


# ---------------------------------------------------------------------------
# constants and tables agree with the RFCs
# ---------------------------------------------------------------------------

def test_content_and_handshake_types() -> None:
    assert ContentType.HANDSHAKE == 22 and r.content_type_name(22) == "handshake"
    assert r.content_type_name(23) == "application_data"
    assert r.content_type_name(25) == "tls12_cid"
    assert r.content_type_name(99) == "unknown (99)"
    assert HandshakeType.CLIENT_HELLO == 1 and r.handshake_type_name(1) == "client_hello"
    assert r.handshake_type_name(2) == "server_hello"
    assert r.handshake_type_name(8) == "encrypted_extensions"
    assert r.handshake_type_name(254) == "message_hash"
    assert r.handshake_type_name(200) == "unknown (200)"
    assert HandshakeType.COMPRESSED_CERTIFICATE == 25 and HandshakeType.EKT_KEY == 26


def _check_class_against_table(cls: type, table: dict[int, str],
                               exceptions: frozenset[str] = frozenset()) -> None:
    """Every constant has a table entry whose name is the constant, lower-cased."""
    norm = re.compile(r"[^a-z0-9]")
    for attr, value in vars(cls).items():
        if attr.startswith("_") or not isinstance(value, int):
            continue
        assert value in table, (cls.__name__, attr)
        if attr in exceptions:
            continue
        assert norm.sub("", table[value].lower()) == norm.sub("", attr.lower()), (attr, table[value])


def test_constant_classes_match_name_tables() -> None:
    _check_class_against_table(ContentType, r.CONTENT_TYPE_NAMES)
    _check_class_against_table(HandshakeType, HANDSHAKE_TYPE_NAMES)
    _check_class_against_table(
        ExtensionType, EXTENSION_NAMES,
        frozenset({"KEY_SHARE_OLD", "TICKET_EARLY_DATA_INFO", "CONNECTION_ID_DEPRECATED",
                   "APPLICATION_SETTINGS_NEW", "QUIC_TRANSPORT_PARAMETERS_DRAFT"}))
    _check_class_against_table(AlertDescription, ALERT_DESCRIPTION_NAMES)
    _check_class_against_table(r.AlertLevel, r.ALERT_LEVEL_NAMES)
    _check_class_against_table(NamedGroup, NAMED_GROUP_NAMES)
    _check_class_against_table(SignatureScheme, SIGNATURE_SCHEME_NAMES)
    _check_class_against_table(r.PskKeyExchangeMode, r.PSK_MODE_NAMES)
    _check_class_against_table(r.CompressionMethod, r.COMPRESSION_NAMES)
    _check_class_against_table(r.ECPointFormat, r.EC_POINT_FORMAT_NAMES)
    _check_class_against_table(r.CertificateCompressionAlgorithm, r.CERT_COMPRESSION_NAMES)
    _check_class_against_table(r.HeartbeatMessageType, r.HEARTBEAT_MESSAGE_TYPE_NAMES)
    _check_class_against_table(r.KeyUpdateRequest, r.KEY_UPDATE_REQUEST_NAMES)
    _check_class_against_table(r.CertificateStatusType, r.CERT_STATUS_TYPE_NAMES)
    _check_class_against_table(r.NameType, r.NAME_TYPE_NAMES)
    _check_class_against_table(r.SSLv2MessageType, r.SSL2_MESSAGE_TYPE_NAMES)
    for attr, value in vars(r.CipherSuite).items():
        if not attr.startswith("_") and isinstance(value, int):
            assert CIPHER_SUITE_NAMES[value] == attr


def test_extension_names() -> None:
    expected = {
        0: "server_name", 5: "status_request", 10: "supported_groups",
        11: "ec_point_formats", 13: "signature_algorithms", 14: "use_srtp",
        15: "heartbeat", 16: "application_layer_protocol_negotiation",
        18: "signed_certificate_timestamp", 21: "padding", 22: "encrypt_then_mac",
        23: "extended_master_secret", 27: "compress_certificate",
        28: "record_size_limit", 34: "delegated_credential", 35: "session_ticket",
        41: "pre_shared_key", 42: "early_data", 43: "supported_versions",
        44: "cookie", 45: "psk_key_exchange_modes", 47: "certificate_authorities",
        49: "post_handshake_auth", 50: "signature_algorithms_cert", 51: "key_share",
        54: "connection_id", 57: "quic_transport_parameters",
        0xFD00: "ech_outer_extensions", 0xFE0D: "encrypted_client_hello",
        0xFF01: "renegotiation_info", 17513: "application_settings",
        13172: "next_protocol_negotiation", 30032: "channel_id",
    }
    for code, name in expected.items():
        assert r.extension_name(code) == name
    assert ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION == 16
    assert ExtensionType.ENCRYPTED_CLIENT_HELLO == 0xFE0D
    assert r.extension_name(0x0A0A) == "GREASE (0x0a0a)"
    assert r.extension_name(0x1234) == "0x1234"


def test_alerts() -> None:
    assert AlertDescription.HANDSHAKE_FAILURE == 40
    assert r.alert_name(0) == "close_notify"
    assert r.alert_name(40) == "handshake_failure"
    assert r.alert_name(70) == "protocol_version"
    assert r.alert_name(86) == "inappropriate_fallback"
    assert r.alert_name(112) == "unrecognized_name"
    assert r.alert_name(120) == "no_application_protocol"
    assert r.alert_name(121) == "ech_required"
    assert r.alert_name(123) == "unknown_123"
    assert r.alert_level_name(2) == "fatal" and r.alert_level_name(1) == "warning"


def test_groups_and_sigalgs() -> None:
    assert r.group_name(23) == "secp256r1"
    assert r.group_name(29) == "x25519"
    assert r.group_name(30) == "x448"
    assert r.group_name(0x100) == "ffdhe2048"
    assert r.group_name(0x104) == "ffdhe8192"
    assert r.group_name(4588) == "X25519MLKEM768" == r.group_name(0x11EC)
    assert r.group_name(4587) == "SecP256r1MLKEM768"
    assert r.group_name(4589) == "SecP384r1MLKEM1024"
    assert r.group_name(0x6399) == "X25519Kyber768Draft00"
    assert r.group_name(0x0201) == "MLKEM768"
    assert r.group_name(0xFF01) == "arbitrary_explicit_prime_curves"
    assert r.group_name(0x2A2A) == "GREASE (0x2a2a)"
    assert r.sigalg_name(0x0401) == "rsa_pkcs1_sha256"
    assert r.sigalg_name(0x0403) == "ecdsa_secp256r1_sha256"
    assert r.sigalg_name(0x0804) == "rsa_pss_rsae_sha256"
    assert r.sigalg_name(0x0807) == "ed25519"
    assert r.sigalg_name(0x0201) == "rsa_pkcs1_sha1"
    assert r.sigalg_name(0x0203) == "ecdsa_sha1"
    assert r.sigalg_name(0x0202) == "dsa_sha1"
    assert r.sigalg_name(0x0402) == "dsa_sha256"
    assert r.sigalg_name(0x0301) == "sha224_rsa"
    assert r.sigalg_name(0x0303) == "sha224_ecdsa"
    assert r.sigalg_name(0x0101) == "md5_rsa"
    # every (hash, sig) pair of TLS 1.2 has a name
    for h in range(7):
        for s in range(4):
            assert (h << 8 | s) in SIGNATURE_SCHEME_NAMES
    assert r.sigalg_name(0xFAFA) == "GREASE (0xfafa)"


def test_small_tables() -> None:
    assert r.PSK_MODE_NAMES == {0: "psk_ke", 1: "psk_dhe_ke"}
    assert r.COMPRESSION_NAMES[0] == "NULL" and r.COMPRESSION_NAMES[1] == "DEFLATE"
    assert r.CompressionMethod.LZS == 64
    assert r.EC_POINT_FORMAT_NAMES[0] == "uncompressed"
    assert r.CERT_COMPRESSION_NAMES == {1: "zlib", 2: "brotli", 3: "zstd"}
    assert r.CertificateStatusType.OCSP == 1 and r.CertificateStatusType.OCSP_MULTI == 2
    assert r.NameType.HOST_NAME == 0
    assert r.SSLv2MessageType.CLIENT_HELLO == 1


def test_ssl2_cipher_kinds() -> None:
    assert SSL2_CIPHER_KIND_NAMES[0x010080] == "SSL2_RC4_128_WITH_MD5"
    assert SSL2_CIPHER_KIND_NAMES[0x0700C0] == "SSL2_DES_192_EDE3_CBC_WITH_MD5"
    assert SSL2_CIPHER_KIND_NAMES[0x080080] == "SSL2_RC4_64_WITH_MD5"
    assert r.ssl2_cipher_spec_name(0x00002F) == "TLS_RSA_WITH_AES_128_CBC_SHA"
    assert r.ssl2_cipher_spec_name(0x060040) == "SSL2_DES_64_CBC_WITH_MD5"
    assert r.ssl2_cipher_spec_name(0x123456) == "0x123456"


# ---------------------------------------------------------------------------
# GREASE and versions
# ---------------------------------------------------------------------------

def test_name_functions_total() -> None:
    """Every 16-bit value gets a string from every lookup, never an exception."""
    funcs = (r.extension_name, r.group_name, r.sigalg_name, cipher_suite_name,
             version_name, r.alert_name, r.handshake_type_name, r.content_type_name)
    for v in range(0x10000):
        for f in funcs:
            assert f(v)
    for v in (-1, 0x10000, 1 << 40):
        for f in funcs:
            assert isinstance(f(v), str)
    assert r.name_of({}, 0x10000) == "unknown (65536)"
    assert r.name_of({}, 5, unknown="paren") == "unknown (5)"


def test_grease() -> None:
    assert [v for v in range(0x10000) if is_grease(v)] == GREASE
    assert r.GREASE_VALUES == frozenset(GREASE)
    for v in GREASE:
        assert cipher_suite_name(v) == f"GREASE (0x{v:04x})"
        assert version_name(v) == f"GREASE (0x{v:04x})"
    assert cipher_suite_name(0x0A0A) == "GREASE (0x0a0a)"
    assert not is_grease(0x0A1A) and not is_grease(0x0B0B) and not is_grease(0x0A)


def test_versions() -> None:
    assert ProtocolVersion.TLS12 == 0x0303 and ProtocolVersion.DTLS13 == 0xFEFC
    cases = {
        0x0002: "SSL 2.0", 0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1",
        0x0303: "TLS 1.2", 0x0304: "TLS 1.3", 0xFEFF: "DTLS 1.0", 0xFEFD: "DTLS 1.2",
        0xFEFC: "DTLS 1.3", 0x0100: "DTLS 1.0 (OpenSSL pre 0.9.8f)",
        0x7F12: "TLS 1.3 (draft 18)", 0x7F17: "TLS 1.3 (draft 23)",
        0x7F1C: "TLS 1.3 (draft 28)", 0x7F40: "TLS 1.3 (draft 64)",
        0xFB1A: "TLS 1.3 (Facebook draft 26)", 0xFB17: "TLS 1.3 (Facebook draft 23)",
        0x7E01: "TLS 1.3 (Google experiment 1)",
        0x0A0A: "GREASE (0x0a0a)", 0x1234: "0x1234", 0x0305: "0x0305",
    }
    for v, name in cases.items():
        assert version_name(v) == name, hex(v)
    assert r.is_tls13_draft(0x7F1C) and not r.is_tls13_draft(0x0304)
    assert r.is_dtls(0xFEFD) and not r.is_dtls(0x0303)


# ---------------------------------------------------------------------------
# cipher suites
# ---------------------------------------------------------------------------

def test_cipher_suite_names() -> None:
    cases = {
        0x0000: "TLS_NULL_WITH_NULL_NULL",
        0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
        0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x00C6: "TLS_SM4_GCM_SM3",
        0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
        0x1301: "TLS_AES_128_GCM_SHA256",
        0x1302: "TLS_AES_256_GCM_SHA384",
        0x1303: "TLS_CHACHA20_POLY1305_SHA256",
        0x1305: "TLS_AES_128_CCM_8_SHA256",
        0x5600: "TLS_FALLBACK_SCSV",
        0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xC0AA: "TLS_PSK_DHE_WITH_AES_128_CCM_8",
        0xC100: "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC",
        0xC106: "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S",
        0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xCC13: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xD005: "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256",
        0x0060: "TLS_RSA_EXPORT1024_WITH_RC4_56_MD5",
        0xFEFF: "SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA",
    }
    for code, name in cases.items():
        assert cipher_suite_name(code) == name
    assert cipher_suite_name(0x0047) == "0x0047"
    # the non-IANA extras never shadow an IANA assignment
    assert not set(r.NON_IANA_CIPHER_SUITES) & set(IANA_CIPHER_SUITES)
    assert not any(is_grease(c) for c in CIPHER_SUITE_NAMES)
    assert len(IANA_CIPHER_SUITES) > 340


def test_every_tls_suite_parses() -> None:
    for code, name in CIPHER_SUITE_NAMES.items():
        if name.startswith("TLS_"):
            info = cipher_suite_info(code)
            assert isinstance(info, CipherSuiteInfo), name
            assert info.code == code and info.name == name
            assert info.key_exchange and info.authentication and info.cipher
            assert info.mac in {"AEAD", "SHA", "SHA256", "SHA384", "MD5", "NULL",
                                "IMIT", "OMAC", "GOSTR3411"}, name
            assert info.aead == (info.mac == "AEAD"), name
            if info.tls13:
                assert info.key_exchange == info.authentication == "TLS13"
    assert cipher_suite_info(0x0A0A) is None
    assert cipher_suite_info(0x0047) is None


def _info(code: int) -> CipherSuiteInfo:
    info = cipher_suite_info(code)
    assert info is not None
    return info


def test_cipher_suite_info_details() -> None:
    i = _info(0x002F)   # TLS_RSA_WITH_AES_128_CBC_SHA
    assert (i.key_exchange, i.authentication, i.cipher, i.mac, i.prf_hash) == \
        ("RSA", "RSA", "AES_128_CBC", "SHA", "SHA256")
    assert not (i.export or i.aead or i.tls13)

    i = _info(0xC02C)   # TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    assert (i.key_exchange, i.authentication, i.cipher, i.mac, i.prf_hash) == \
        ("ECDHE", "ECDSA", "AES_256_GCM", "AEAD", "SHA384")
    assert i.aead and not i.tls13

    i = _info(0x1301)   # TLS_AES_128_GCM_SHA256
    assert (i.key_exchange, i.authentication, i.cipher, i.mac, i.prf_hash) == \
        ("TLS13", "TLS13", "AES_128_GCM", "AEAD", "SHA256")
    assert i.tls13 and i.aead

    i = _info(0x0003)   # TLS_RSA_EXPORT_WITH_RC4_40_MD5
    assert i.export and (i.key_exchange, i.cipher, i.mac) == ("RSA", "RC4_40", "MD5")

    expectations = {
        0x000A: ("RSA", "RSA", "3DES_EDE_CBC", "SHA", "SHA256", False),
        0x0011: ("DHE", "DSS", "DES40_CBC", "SHA", "SHA256", True),
        0x0018: ("DH", "anon", "RC4_128", "MD5", "SHA256", False),
        0x0026: ("KRB5", "KRB5", "DES_CBC_40", "SHA", "SHA256", True),
        0x0041: ("RSA", "RSA", "CAMELLIA_128_CBC", "SHA", "SHA256", False),
        0x008C: ("PSK", "PSK", "AES_128_CBC", "SHA", "SHA256", False),
        0x0094: ("RSA_PSK", "RSA", "AES_128_CBC", "SHA", "SHA256", False),
        0x009F: ("DHE", "RSA", "AES_256_GCM", "AEAD", "SHA384", False),
        0x00B3: ("DHE_PSK", "PSK", "AES_256_CBC", "SHA384", "SHA384", False),
        0xC009: ("ECDHE", "ECDSA", "AES_128_CBC", "SHA", "SHA256", False),
        0xC00E: ("ECDH", "RSA", "AES_128_CBC", "SHA", "SHA256", False),
        0xC018: ("ECDH", "anon", "AES_128_CBC", "SHA", "SHA256", False),
        0xC01B: ("SRP", "RSA", "3DES_EDE_CBC", "SHA", "SHA256", False),
        0xC028: ("ECDHE", "RSA", "AES_256_CBC", "SHA384", "SHA384", False),
        0xC03A: ("ECDHE_PSK", "PSK", "NULL", "SHA256", "SHA256", False),
        0xC05C: ("ECDHE", "ECDSA", "ARIA_128_GCM", "AEAD", "SHA256", False),
        0xC09C: ("RSA", "RSA", "AES_128_CCM", "AEAD", "SHA256", False),
        0xC0A0: ("RSA", "RSA", "AES_128_CCM_8", "AEAD", "SHA256", False),
        0xC0AB: ("DHE_PSK", "PSK", "AES_256_CCM_8", "AEAD", "SHA256", False),
        0xC0B1: ("ECCPWD", "ECCPWD", "AES_256_GCM", "AEAD", "SHA384", False),
        0xCCA9: ("ECDHE", "ECDSA", "CHACHA20_POLY1305", "AEAD", "SHA256", False),
        0xCCAB: ("PSK", "PSK", "CHACHA20_POLY1305", "AEAD", "SHA256", False),
        0xD003: ("ECDHE_PSK", "PSK", "AES_128_CCM_8", "AEAD", "SHA256", False),
        0x0062: ("RSA", "RSA", "DES_CBC", "SHA", "SHA256", True),
        0xC100: ("GOSTR341112_256", "GOSTR341112_256", "KUZNYECHIK_CTR", "OMAC",
                 "STREEBOG256", False),
    }
    for code, (kx, auth, cipher, mac, prf, export) in expectations.items():
        i = _info(code)
        assert (i.key_exchange, i.authentication, i.cipher, i.mac, i.prf_hash, i.export) \
            == (kx, auth, cipher, mac, prf, export), i.name
        assert not i.tls13

    for code, cipher, prf in ((0x1302, "AES_256_GCM", "SHA384"),
                              (0x1303, "CHACHA20_POLY1305", "SHA256"),
                              (0x1305, "AES_128_CCM_8", "SHA256"),
                              (0x00C6, "SM4_GCM", "SM3"),
                              (0xC103, "KUZNYECHIK_MGM_L", "STREEBOG256")):
        i = _info(code)
        assert i.tls13 and i.aead and (i.cipher, i.prf_hash) == (cipher, prf), i.name

    i = _info(0xC0B4)   # TLS_SHA256_SHA256: integrity only (RFC 9150)
    assert i.tls13 and not i.aead and i.cipher == "NULL" and i.mac == "SHA256"
    for code in (0x00FF, 0x5600):
        assert _info(code).scsv
    assert not _info(0x002F).scsv


# ---------------------------------------------------------------------------
# differential check against tshark's value_string tables
# ---------------------------------------------------------------------------

TSHARK = shutil.which("tshark") or ("/usr/bin/tshark" if os.path.exists("/usr/bin/tshark") else None)


@pytest.fixture(scope="module")
def tshark_values() -> dict[str, dict[int, str]]:
    """``tshark -G values`` restricted to tls.* fields: field -> {value: name}.

    Where tshark lists a value twice in one field (tls.handshake.type holds the
    SSLv2 and the TLS tables), the later (TLS) entry wins.
    """
    if TSHARK is None:
        pytest.skip("tshark not installed")
    proc = subprocess.Popen([TSHARK, "-G", "values"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, errors="replace")
    tables: dict[str, dict[int, str]] = defaultdict(dict)
    assert proc.stdout is not None
    for line in proc.stdout:
        if not line.startswith("V\ttls."):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 4:
            continue
        tables[parts[1]][int(parts[2], 0)] = parts[3]
    proc.wait(timeout=60)
    if "tls.handshake.ciphersuite" not in tables:
        pytest.skip("tshark printed no TLS value tables")
    return dict(tables)


def _norm(name: str) -> str:
    """Wireshark title case ('Bad Record MAC') -> IANA snake case ('bad_record_mac')."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def test_tshark_cipher_suites(tshark_values: dict[str, dict[int, str]]) -> None:
    theirs = tshark_values["tls.handshake.ciphersuite"]
    compared = 0
    for code, name in theirs.items():
        if name == "Reserved (GREASE)":
            assert is_grease(code)
            continue
        if name == "ssl_31_ciphersuite":   # an internal marker entry (0x01a6), not a suite
            continue
        assert cipher_suite_name(code) == name, hex(code)
        compared += 1
    assert compared > 380
    # Every IANA suite is known to tshark 4.0, except the AEGIS suites that IANA
    # registered after that release.
    newer_than_tshark_4_0 = {0x1306, 0x1307}
    missing = set(IANA_CIPHER_SUITES) - set(theirs) - newer_than_tshark_4_0
    assert not missing, sorted(hex(c) for c in missing)


def test_tshark_ssl2_cipher_specs(tshark_values: dict[str, dict[int, str]]) -> None:
    for code, name in tshark_values["tls.handshake.cipherspec"].items():
        if code in SSL2_CIPHER_KIND_NAMES or code in CIPHER_SUITE_NAMES:
            assert r.ssl2_cipher_spec_name(code) == name, hex(code)
        # else: tshark's 0x47-0x4c (pre-RFC 4492 ECDH draft code points, reserved
        # by IANA) and an internal marker entry; we leave them unnamed.


# Extension names where Wireshark differs from IANA on purpose or by age.
EXTENSION_DIFFERENCES = {
    34: "IANA: delegated_credential (RFC 9345); Wireshark 4.0: delegated_credentials",
}


def test_tshark_extensions(tshark_values: dict[str, dict[int, str]]) -> None:
    theirs = tshark_values["tls.handshake.extension.type"]
    for code, name in theirs.items():
        if name == "Reserved (GREASE)":
            assert is_grease(code) and r.extension_name(code).startswith("GREASE")
            continue
        if code in EXTENSION_DIFFERENCES:
            assert r.extension_name(code) != name
            continue
        assert r.extension_name(code) == name, code
    # tshark's "connection_id (deprecated)" wording is also IANA's.
    assert r.extension_name(53) == "connection_id (deprecated)"


def test_tshark_alerts(tshark_values: dict[str, dict[int, str]]) -> None:
    theirs = tshark_values["tls.alert_message.desc"]
    for code, name in theirs.items():
        assert r.alert_name(code) == _norm(name), code
    assert {_norm(n) for n in tshark_values["tls.alert_message.level"].values()} == \
        set(r.ALERT_LEVEL_NAMES.values())


# Handshake/content type names where Wireshark's labels differ from IANA's.
HANDSHAKE_DIFFERENCES = {
    7: "SSLv2 REQUEST-CERTIFICATE in tshark's merged SSLv2+TLS table; no TLS type 7",
    21: "IANA: certificate_url; Wireshark: 'Client Certificate URL'",
    67: "NPN's NextProtocol message; Wireshark 4.0 labels it 'Encrypted Extensions'",
}
CONTENT_TYPE_DIFFERENCES = {25: "IANA: tls12_cid; Wireshark: 'Connection ID'"}


def test_tshark_handshake_and_content_types(tshark_values: dict[str, dict[int, str]]) -> None:
    for code, name in tshark_values["tls.handshake.type"].items():
        if code not in HANDSHAKE_DIFFERENCES:
            assert r.handshake_type_name(code) == _norm(name), code
    for code, name in tshark_values["tls.record.content_type"].items():
        if code not in CONTENT_TYPE_DIFFERENCES:
            assert r.content_type_name(code) == _norm(name), code


def test_tshark_groups(tshark_values: dict[str, dict[int, str]]) -> None:
    theirs = tshark_values["tls.handshake.extensions_supported_group"]
    compared = 0
    for code, name in theirs.items():
        if name == "Reserved (GREASE)":
            assert r.group_name(code).startswith("GREASE")
            continue
        if 0x0200 <= code < 0xFF00:
            # tshark 4.0 names the Open Quantum Safe experimental code points
            # (frodo/kyber/ntru/saber/sike/... 0x02xx and 0x2fxx); IANA has since
            # given 0x0200-0x0202 to ML-KEM and never assigned the rest.
            continue
        assert r.group_name(code) == name, hex(code)
        compared += 1
    assert compared >= 37


def test_tshark_sigalgs(tshark_values: dict[str, dict[int, str]]) -> None:
    compared = 0
    for code, name in tshark_values["tls.handshake.sig_hash_alg"].items():
        if 0xFE00 <= code <= 0xFEFF:
            continue   # OQS experimental schemes in the private-use range
        assert r.sigalg_name(code) == name, hex(code)
        compared += 1
    assert compared >= 17


def test_tshark_versions(tshark_values: dict[str, dict[int, str]]) -> None:
    for code, name in tshark_values["tls.handshake.version"].items():
        if name == "Reserved (GREASE)":
            assert version_name(code) == f"GREASE (0x{code:04x})"
            continue
        assert version_name(code) == name, hex(code)


def test_tshark_small_tables(tshark_values: dict[str, dict[int, str]]) -> None:
    assert tshark_values["tls.handshake.extensions_ec_point_format"] == r.EC_POINT_FORMAT_NAMES
    assert tshark_values["tls.compress_certificate.algorithm"] == r.CERT_COMPRESSION_NAMES
    assert tshark_values["tls.handshake.key_update.request_update"] == r.KEY_UPDATE_REQUEST_NAMES
    # Wireshark writes 'null' where IANA writes 'NULL'.
    assert {k: v.upper() for k, v in tshark_values["tls.handshake.comp_method"].items()} == \
        {k: v.upper() for k, v in r.COMPRESSION_NAMES.items()}
    # Wireshark: 'PSK-only key establishment (psk_ke)': the IANA name is in parentheses.
    for code, name in tshark_values["tls.extension.psk_ke_mode"].items():
        assert name.endswith(f"({r.PSK_MODE_NAMES[code]})")
    assert tshark_values["tls.handshake.extensions_server_name_type"] == r.NAME_TYPE_NAMES
