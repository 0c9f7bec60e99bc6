"""QUIC: RFC 9001 Appendix A and RFC 9369 Appendix A vectors, and QUIC captures end to end.

Owns the tests of `analyzer.quic`: Initial key derivation (v1, v2), header
protection and payload decryption of the RFC's client and server Initial
packets (read from ../shared/vectors/rfc9001-test-vectors.txt), the v2 values
of RFC 9369 Appendix A, CRYPTO reassembly, and the rows produced from real QUIC
captures (FoxIO's and Suricata's) compared with tshark and FoxIO's published values.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from analyzer.pipeline import Options, analyze_file
from analyzer.quic import initial_keys, initial_secrets, parse_frames, parse_long_header, unprotect
from analyzer.quic.connection import _CryptoStream
from analyzer.quic.crypto import QUIC_V2, PacketKeys
from analyzer.quic.packets import INITIAL
from analyzer.tls.messages import pull_client_hello, pull_server_hello

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
VECTORS = SHARED / "vectors" / "rfc9001-test-vectors.txt"
DCID = bytes.fromhex("8394c8f03e515708")


def _blocks(section: str) -> list[bytes]:
    """The hex blocks (between ~~~ fences) of one '## ' section of the RFC text."""
    text = VECTORS.read_text()
    part = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    out = []
    for blk in re.findall(r"~~~\n(.*?)~~~", part, re.S):
        if "=" in blk:
            out.append(b"")
            continue
        out.append(bytes.fromhex("".join(blk.split())))
    return out


def test_rfc9001_initial_keys() -> None:
    text = VECTORS.read_text()
    c, s = initial_keys(DCID, 1)
    for name, val in (("key", c.key), ("iv", c.iv), ("hp", c.hp)):
        assert val.hex() in text.replace("\n      ", ""), name
    cs, ss = initial_secrets(DCID, 1)
    flat = re.sub(r"\s+", "", text)
    assert cs.hex() in flat and ss.hex() in flat and s.key.hex() in flat and s.hp.hex() in flat


@pytest.mark.parametrize("section,side", [("Client Initial", 0), ("Server Initial", 1)])
def test_rfc9001_initial_packet_decrypts(section: str, side: int) -> None:
    payload, header, _, packet = _blocks(section)[:4]
    h = parse_long_header(packet)
    assert h.kind == INITIAL and h.version == 1 and h.end == len(packet)
    keys = initial_keys(DCID, 1)[side]
    pn, hdr, plain = unprotect(packet, h.pn_offset, h.end, keys, -1)
    assert hdr == header
    assert pn == (2 if side == 0 else 1)
    assert plain[: len(payload)] == payload and not any(plain[len(payload):])
    frames = parse_frames(plain)
    (off, data), = frames.crypto
    assert off == 0
    if side == 0:
        ch = pull_client_hello(data[4:])
        assert ch.extensions.server_name == "example.com"
        assert 0x39 in ch.extensions.types()        # quic_transport_parameters
    else:
        sh = pull_server_hello(data[4:])
        assert sh.cipher_suite == 0x1301 and sh.version == 0x0304


# RFC 9369 Appendix A (QUIC v2) values
V2 = {
    "client_secret": "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
    "client": ("8b1a0bc121284290a29e0971b5cd045d", "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"),
    "server_secret": "0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1",
    "server": ("82db637861d55e1d011f19ea71d5d2a7", "dd13c276499c0249d3310652", "edf6d05c83121201b436e16877593c3a"),
}


def test_rfc9369_v2_initial_keys() -> None:
    cs, ss = initial_secrets(DCID, QUIC_V2)
    assert (cs.hex(), ss.hex()) == (V2["client_secret"], V2["server_secret"])
    c, s = initial_keys(DCID, QUIC_V2)
    assert (c.key.hex(), c.iv.hex(), c.hp.hex()) == V2["client"]
    assert (s.key.hex(), s.iv.hex(), s.hp.hex()) == V2["server"]


@pytest.mark.parametrize("side,header,pn_len,sample,mask", [
    (0, "d36b3343cf088394c8f03e5157080000449e00000002", 4, "ffe67b6abcdb4298b485dd04de806071", "94a0c95e80"),
    (1, "d16b3343cf0008f067a5502a4262b50040750001", 2, "6f05d8a4398c47089698baeea26b91eb", "4dd92e91ea"),
])
def test_rfc9369_v2_initial_packet(side: int, header: str, pn_len: int, sample: str, mask: str) -> None:
    """Protect the RFC's payload as RFC 9369 A.2/A.3 do (AES-GCM from `cryptography`), check the RFC's
    sample and mask, then let our parser remove the protection again."""
    payload = _blocks("Client Initial" if side == 0 else "Server Initial")[0]
    keys = initial_keys(DCID, QUIC_V2)[side]
    hdr = bytes.fromhex(header)
    pn = int.from_bytes(hdr[-pn_len:], "big")
    length = int.from_bytes(hdr[-pn_len - 2 : -pn_len], "big") & 0x3FFF
    plain = payload + bytes(length - pn_len - 16 - len(payload))
    nonce = (int.from_bytes(keys.iv, "big") ^ pn).to_bytes(12, "big")
    ct = AESGCM(keys.key).encrypt(nonce, plain, hdr)
    assert ct[4 - pn_len : 20 - pn_len].hex() == sample
    m = keys.header_mask(bytes.fromhex(sample))
    assert m.hex() == mask
    prot = bytearray(hdr + ct)
    prot[0] ^= m[0] & 0x0F
    pn_off = len(hdr) - pn_len
    for i in range(pn_len):
        prot[pn_off + i] ^= m[1 + i]
    h = parse_long_header(bytes(prot))
    assert h.kind == INITIAL and h.version == QUIC_V2 and h.pn_offset == pn_off
    got_pn, got_hdr, got_plain = unprotect(bytes(prot), h.pn_offset, h.end, keys, -1)
    assert (got_pn, got_hdr, got_plain) == (pn, hdr, plain)


def test_rfc9369_v2_chacha_keys() -> None:
    secret = bytes.fromhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b")
    k = PacketKeys.from_secret(secret, QUIC_V2, 0x1303)
    assert k.key.hex() == "3bfcddd72bcf02541d7fa0dd1f5f9eeea817e09a6963a0e6c7df0f9a1bab90f2"
    assert k.iv.hex() == "a6b5bc6ab7dafce30ffff5dd"
    assert k.header_mask(bytes.fromhex("e7b6b932bc27d786f4bc2bb20f2162ba")).hex() == "97580e32bf"


def test_crypto_stream_reassembles_out_of_order() -> None:
    cs = _CryptoStream()
    data = bytes(range(256)) * 4
    assert cs.add(600, data[600:]) == b""
    assert cs.add(100, data[100:700]) == b""
    assert cs.add(0, data[:150]) == data            # overlap and gaps filled in one go
    assert cs.add(0, data[:10]) == b""              # retransmission


CAPTURES = SHARED / "captures"


def _quic_rows(path: Path) -> list:
    return [s for s in analyze_file(path) if s.transport == "quic"]


def test_quic_tls_handshake_capture() -> None:
    rows = _quic_rows(CAPTURES / "ja4" / "quic-tls-handshake.pcapng")
    assert len(rows) == 1
    s = rows[0]
    # FoxIO's Rust tool publishes this JA4 for the capture (its Python tool reads no ClientHello there)
    assert (s.sni, s.alpn_offered, s.ja4) == ("www.google.com", ["h3"], "q13d0310h3_55b375c5d22e_cd85d2d88918")
    assert s.quic_version == "QUICv1" and s.failure == "no_response"
    assert "quic_transport_parameters" in s.extensions_offered


def test_chrome_cloudflare_quic_with_dsb_secrets() -> None:
    rows = _quic_rows(CAPTURES / "ja4" / "chrome-cloudflare-quic-with-secrets.pcapng")
    assert len(rows) == 1
    s = rows[0]
    assert (s.stream, s.client_port, s.server_port) == (0, 50280, 443)      # udp.stream 0
    assert (s.sni, s.alpn_offered, s.version, s.cipher_suite) == ("cloudflare-quic.com", ["h3"], "TLS 1.3", "TLS_AES_128_GCM_SHA256")
    # values of FoxIO's Rust snapshot for this capture
    assert (s.ja4, s.ja4s) == ("q13d0310h3_55b375c5d22e_cd85d2d88918", "q130200_1301_234ea6891581")
    # the Handshake packets were decrypted with the secrets of the pcapng DSB: EncryptedExtensions' ALPN
    assert s.alpn == "h3"
    assert s.handshake_complete and s.failure is None and not s.errors


def test_quic_rows_can_be_switched_off() -> None:
    path = CAPTURES / "ja4" / "chrome-cloudflare-quic-with-secrets.pcapng"
    assert not [s for s in analyze_file(path, options=Options(quic=False)) if s.transport == "quic"]


def test_suricata_quic_ietf() -> None:
    rows = _quic_rows(CAPTURES / "suricata" / "quic-ietf" / "input.pcap")
    assert len(rows) == 1
    s = rows[0]
    # Suricata's test.yaml: server_name msquic.net, alpn h3-29
    assert (s.sni, s.alpn_offered[0]) == ("msquic.net", "h3-29")
    assert s.ja4.startswith("q") and s.handshake_complete
