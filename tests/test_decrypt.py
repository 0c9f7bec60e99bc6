"""Decryption (analyzer.decrypt): bundled captures against the generator's plaintext, RFC
known-answer tests, RSA keys, resumption, damaged input, the CLI, and tshark as the oracle."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.decrypt import kdf
from analyzer.decrypt.keys import KeyMaterial, load_key_material
from analyzer.decrypt.record import BadRecord, tls13_protection
from analyzer.decrypt.session import Decryptor
from analyzer.decrypt.suites import UnsupportedCipher, suite_params
from analyzer.pipeline import Options, analyze_file
from analyzer.tls.connection import TLSConnection

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
KEYLOG = CAPTURES / "keylog.txt"
SERVER_KEY = CAPTURES / "server.key"
MANIFEST = json.loads((CAPTURES / "MANIFEST.json").read_text())
JA4 = ROOT.parent / "shared" / "captures" / "ja4"

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tshark_oracle  # noqa: E402


class Collector:
    """An AppDataSink keeping each direction's bytes."""

    def __init__(self) -> None:
        self.buf = [bytearray(), bytearray()]
        self.frames: list[int] = []
        self.closed = False

    def data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        self.buf[direction] += data
        self.frames.append(frame)

    def close(self) -> None:
        self.closed = True


def run(path: Path | str, keys: KeyMaterial | None, dsb: bool = True) -> tuple[dict, dict]:
    """(stream -> summary, stream -> Collector) of one capture."""
    sinks: dict[int, Collector] = {}

    def sink(capture: str, stream: int) -> Collector:
        sinks[stream] = Collector()
        return sinks[stream]

    opts = Options(keys=keys, app_data=sink, use_capture_secrets=dsb)
    rows = {s.stream: s for s in analyze_file(path, options=opts) if s.transport == "tcp"}
    return rows, sinks


def plaintext_cases() -> list[tuple[str, dict]]:
    out = []
    for name, f in MANIFEST["files"].items():
        for c in f["connections"]:
            if c["keylog_labels"] and c["plaintext"]["c2s"]["length"]:
                out.append((name, c))
    return out


# --------------------------------------------------------------------------- bundled captures


@pytest.fixture(scope="module")
def keylog_keys() -> KeyMaterial:
    return load_key_material([KEYLOG])


@pytest.mark.parametrize("name", sorted({n for n, _ in plaintext_cases()}))
def test_bundled_capture_decrypts_to_the_generated_plaintext(name: str, keylog_keys: KeyMaterial) -> None:
    rows, sinks = run(CAPTURES / name, keylog_keys)
    for fname, c in plaintext_cases():
        if fname != name:
            continue
        s = rows[c["stream"]]
        assert s.decryption == "ok", (name, c["stream"], s.errors)
        assert (s.finished_client, s.finished_server) == (True, True)
        for d, key in ((0, "c2s"), (1, "s2c")):
            got = bytes(sinks[c["stream"]].buf[d])
            want = c["plaintext"][key]
            assert hashlib.sha256(got).hexdigest() == want["sha256"]
            assert got.decode() == want["text"]
        assert (s.app_bytes_client, s.app_bytes_server) == (c["plaintext"]["c2s"]["length"], c["plaintext"]["s2c"]["length"])
        assert sinks[c["stream"]].closed


def test_tls13_encrypted_handshake_fills_certificate_and_alpn(keylog_keys: KeyMaterial) -> None:
    rows, _ = run(CAPTURES / "tls13-aes128.pcap", keylog_keys)
    s = rows[0]
    assert s.alpn == "h2"
    assert s.cert is not None and "server.test" in s.cert.subject
    assert s.handshake_complete and s.failure is None
    kinds = [e.kind for e in s.events]
    assert "encrypted_extensions" in kinds and "certificate_verify" in kinds and kinds.count("finished") == 2


def test_without_keys_nothing_changes() -> None:
    rows, sinks = run(CAPTURES / "tls13-aes128.pcap", None)
    assert rows[0].decryption is None and rows[0].alpn is None and not sinks


def test_decryption_secrets_block_is_used_without_options() -> None:
    rows, sinks = run(CAPTURES / "tls-mixed.pcapng", None)
    assert [rows[i].decryption for i in range(3)] == ["ok", "ok", "ok"]
    assert bytes(sinks[0].buf[0]).startswith(b"GET / HTTP/1.1")


def test_rsa_key_decrypts_rsa_key_exchange_and_names_dhe() -> None:
    keys = load_key_material(server_keys=[SERVER_KEY])
    rows, sinks = run(CAPTURES / "tls12-rsa.pcap", keys)
    for stream in (0, 1, 2):  # AES-GCM + EMS, AES-CBC-SHA256 + EtM, AES-CBC-SHA MtE without EMS
        assert rows[stream].decryption == "ok"
        assert (rows[stream].finished_client, rows[stream].finished_server) == (True, True)
        assert bytes(sinks[stream].buf[1]).endswith(b"hello from the test server")
    rows, _ = run(CAPTURES / "tls12-ecdhe.pcap", keys)
    assert {s.decryption for s in rows.values()} == {"dhe_needs_keylog"}
    rows, _ = run(CAPTURES / "tls13-aes128.pcap", keys)
    assert rows[0].decryption == "dhe_needs_keylog"
    assert keys.unmatched_keys() == []


def test_keylog_rsa_label_gives_the_premaster() -> None:
    """An `RSA <first 8 bytes of the encrypted premaster> <premaster>` line decrypts without the key."""
    keys = load_key_material(server_keys=[SERVER_KEY])
    lines = []
    dec_seen: list[Decryptor] = []
    opts = Options(keys=keys, on_connection=lambda s, d: dec_seen.append(d))
    list(analyze_file(CAPTURES / "tls12-rsa.pcap", options=opts))
    # recover each premaster with the key, as a key-logging client would have written it
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from analyzer.tls.registry import HandshakeType

    priv = load_pem_private_key(SERVER_KEY.read_bytes(), None)
    captured: list[bytes] = []

    def hook(d: int, t: int, body: bytes, frame: int, ts: float) -> None:
        if t == HandshakeType.CLIENT_KEY_EXCHANGE:
            captured.append(body[2:])

    from analyzer.capture import Capture
    from analyzer.tcp import FlowTable

    class Sink:
        def __init__(self, flow: object) -> None:
            self.tls = TLSConnection(on_handshake=hook)
            self.wants_payload = True

        def on_data(self, d: int, data: bytes, frame: int, ts: float) -> None:
            self.tls.feed(d, data, frame, ts)

        def on_gap(self, *a: object) -> None: ...
        def on_fin(self, *a: object) -> None: ...
        def on_rst(self, *a: object) -> None: ...
        def on_close(self, *a: object) -> None: ...

    with Capture(str(CAPTURES / "tls12-rsa.pcap")) as cap:
        table = FlowTable(Sink)
        for seg in cap.segments():
            table.add(seg)
        table.close_all()
    assert len(captured) == 3
    for epms in captured:
        lines.append(f"RSA {epms[:8].hex()} {priv.decrypt(epms, padding.PKCS1v15()).hex()}")  # type: ignore[union-attr]
    km = KeyMaterial()
    assert km.add_keylog_text("\n".join(lines), "rsa.keylog") == 3
    rows, sinks = run(CAPTURES / "tls12-rsa.pcap", km)
    assert [rows[i].decryption for i in range(3)] == ["ok"] * 3


@pytest.mark.parametrize("name", ["tls12-resume.pcap", "tls12-ticket-resume.pcap"])
def test_resumption_reuses_the_master_secret_of_the_full_handshake(name: str) -> None:
    conns = MANIFEST["files"][name]["connections"]
    resumed = conns[1]["client_random"]
    text = "\n".join(line for line in KEYLOG.read_text().splitlines() if resumed not in line)
    km = KeyMaterial()
    km.add_keylog_text(text, "partial")
    assert km.secret(bytes.fromhex(resumed), "CLIENT_RANDOM") is None
    rows, sinks = run(CAPTURES / name, km)
    assert rows[1].resumed and rows[1].decryption == "ok"
    assert (rows[1].finished_client, rows[1].finished_server) == (True, True)
    assert bytes(sinks[1].buf[0]).startswith(b"GET / ")


# --------------------------------------------------------------------------- damaged input


def test_wrong_secret_is_key_mismatch() -> None:
    cr = MANIFEST["files"]["tls12-ecdhe.pcap"]["connections"][0]["client_random"]
    km = KeyMaterial()
    km.add_keylog_text(f"CLIENT_RANDOM {cr} {'11' * 48}\n", "wrong")
    rows, sinks = run(CAPTURES / "tls12-ecdhe.pcap", km)
    assert rows[0].decryption == "key_mismatch"
    assert rows[0].handshake_complete  # the handshake is still judged as without keys
    assert rows[1].decryption == "no_key"
    assert not any("11" * 48 in e for e in rows[0].errors)
    assert not sinks[0].buf[0]


def test_wrong_rsa_key_matches_no_certificate(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    p = tmp_path / "other.der"
    p.write_bytes(other.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
    keys = load_key_material(server_keys=[p])
    rows, _ = run(CAPTURES / "tls12-rsa.pcap", keys)
    assert {s.decryption for s in rows.values()} == {"no_key"}
    assert any("no loaded RSA key matches" in e for e in rows[0].errors)
    assert keys.unmatched_keys() == [str(p)]


def test_truncated_keylog_reports_lines_and_missing_secrets(tmp_path: Path) -> None:
    cr = MANIFEST["files"]["tls13-aes128.pcap"]["connections"][0]["client_random"]
    lines = [line for line in KEYLOG.read_text().splitlines() if cr in line and "HANDSHAKE" in line]
    text = "# comment\n\n" + "\n".join(lines) + "\nCLIENT_TRAFFIC_SECRET_0 " + cr + " abcd"  # cut mid-line
    p = tmp_path / "cut.txt"
    p.write_text(text)
    km = load_key_material([p])
    assert km.problems == [f"{p} line 5: CLIENT_TRAFFIC_SECRET_0 secret has 2 bytes (expected 32 or 48 or 64); line skipped"]
    rows, sinks = run(CAPTURES / "tls13-aes128.pcap", km)
    s = rows[0]
    assert s.decryption == "missing_secrets"
    assert (s.finished_client, s.finished_server) == (True, True)  # the handshake keys were there
    assert s.alpn == "h2"
    assert not sinks[0].buf[0]


def _pcap_frames(path: Path) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Global header and (record header, data) of a classic pcap."""
    raw = path.read_bytes()
    out, pos = [], 24
    while pos < len(raw):
        caplen = int.from_bytes(raw[pos + 8: pos + 12], "little")
        out.append((raw[pos: pos + 16], raw[pos + 16: pos + 16 + caplen]))
        pos += 16 + caplen
    return raw[:24], out


def _write_pcap(path: Path, head: bytes, frames: list[tuple[bytes, bytes]]) -> None:
    path.write_bytes(head + b"".join(h + d for h, d in frames))


def test_flipped_byte_in_a_record_is_bad_record_mac(tmp_path: Path, keylog_keys: KeyMaterial) -> None:
    head, frames = _pcap_frames(CAPTURES / "tls12-ecdhe.pcap")
    # the server's application data (its first record of type 23), stream 0
    target = None
    for i, (h, d) in enumerate(frames):
        j = d.find(b"\x17\x03\x03")   # an application data record header in a frame from port 443
        if j > 0 and d[34:36] == (443).to_bytes(2, "big") and target is None:
            target = (i, j)
    assert target is not None
    i, j = target
    h, d = frames[i]
    frames[i] = (h, d[: j + 20] + bytes([d[j + 20] ^ 1]) + d[j + 21:])
    bad = tmp_path / "flipped.pcap"
    _write_pcap(bad, head, frames)
    rows, sinks = run(bad, keylog_keys)
    s = rows[0]
    assert s.decryption == "bad_record_mac"
    assert any(f"server record in frame {i + 1} failed" in e for e in s.errors)
    assert bytes(sinks[0].buf[0]).startswith(b"GET / ")   # the client's data before it still came out
    assert not sinks[0].buf[1]
    assert rows[1].decryption == "ok"


def test_missing_server_hello(tmp_path: Path, keylog_keys: KeyMaterial) -> None:
    head, frames = _pcap_frames(CAPTURES / "tls12-ecdhe.pcap")
    # drop the frame that carries stream 0's ServerHello (handshake type 2 right after the record header)
    drop = next(k for k, (h, d) in enumerate(frames) if d.find(b"\x16\x03\x03") > 0 and d[d.find(b"\x16\x03\x03") + 5] == 2)
    frames = frames[:drop] + frames[drop + 1:]
    bad = tmp_path / "no-sh.pcap"
    _write_pcap(bad, head, frames)
    rows, _ = run(bad, keylog_keys)
    assert rows[0].decryption == "no_server_hello"
    assert rows[1].decryption == "ok"


# --------------------------------------------------------------------------- known answers


def test_tls12_prf_sha256_vector() -> None:
    # the widely used TLS 1.2 PRF test vector (P_SHA256), 100 bytes
    out = kdf.prf_tls12("SHA256", bytes.fromhex("9bbe436ba940f017b17652849a71db35"), b"test label",
                        bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c"), 100)
    assert out.hex() == (
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af"
        "0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
        "87347b66")


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# RFC 8448 section 3 (Simple 1-RTT Handshake), TLS_AES_128_GCM_SHA256
R_CH = h("""01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2 ef 62 83
02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65 72 76 65 72 ff 01
00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 23 00 00 00 33 00
26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69
1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01
05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01""")
R_SH = h("""02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da c1 55 77 2e
d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1
56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04""")
R_EE = h("""08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 1c 00 02
40 01 00 00 00 00""")
R_CERT = h("""0b 00 01 b9 00 00 01 b5 00 01 b0 30 82 01 ac 30 82 01 15 a0 03 02 01 02 02 01 02 30 0d 06 09 2a 86 48
86 f7 0d 01 01 0b 05 00 30 0e 31 0c 30 0a 06 03 55 04 03 13 03 72 73 61 30 1e 17 0d 31 36 30 37 33 30
30 31 32 33 35 39 5a 17 0d 32 36 30 37 33 30 30 31 32 33 35 39 5a 30 0e 31 0c 30 0a 06 03 55 04 03 13
03 72 73 61 30 81 9f 30 0d 06 09 2a 86 48 86 f7 0d 01 01 01 05 00 03 81 8d 00 30 81 89 02 81 81 00 b4
bb 49 8f 82 79 30 3d 98 08 36 39 9b 36 c6 98 8c 0c 68 de 55 e1 bd b8 26 d3 90 1a 24 61 ea fd 2d e4 9a
91 d0 15 ab bc 9a 95 13 7a ce 6c 1a f1 9e aa 6a f9 8c 7c ed 43 12 09 98 e1 87 a8 0e e0 cc b0 52 4b 1b
01 8c 3e 0b 63 26 4d 44 9a 6d 38 e2 2a 5f da 43 08 46 74 80 30 53 0e f0 46 1c 8c a9 d9 ef bf ae 8e a6
d1 d0 3e 2b d1 93 ef f0 ab 9a 80 02 c4 74 28 a6 d3 5a 8d 88 d7 9f 7f 1e 3f 02 03 01 00 01 a3 1a 30 18
30 09 06 03 55 1d 13 04 02 30 00 30 0b 06 03 55 1d 0f 04 04 03 02 05 a0 30 0d 06 09 2a 86 48 86 f7 0d
01 01 0b 05 00 03 81 81 00 85 aa d2 a0 e5 b9 27 6b 90 8c 65 f7 3a 72 67 17 06 18 a5 4c 5f 8a 7b 33 7d
2d f7 a5 94 36 54 17 f2 ea e8 f8 a5 8c 8f 81 72 f9 31 9c f3 6b 7f d6 c5 5b 80 f2 1a 03 01 51 56 72 60
96 fd 33 5e 5e 67 f2 db f1 02 70 2e 60 8c ca e6 be c1 fc 63 a4 2a 99 be 5c 3e b7 10 7c 3c 54 e9 b9 eb
2b d5 20 3b 1c 3b 84 e0 a8 b2 f7 59 40 9b a3 ea c9 d9 1d 40 2d cc 0c c8 f8 96 12 29 ac 91 87 b4 2b 4d
e1 00 00""")
R_CV = h("""0f 00 00 84 08 04 00 80 5a 74 7c 5d 88 fa 9b d2 e5 5a b0 85 a6 10 15 b7 21 1f 82 4c d4 84 14 5a b3 ff
52 f1 fd a8 47 7b 0b 7a bc 90 db 78 e2 d3 3a 5c 14 1a 07 86 53 fa 6b ef 78 0c 5e a2 48 ee aa a7 85 c4
f3 94 ca b6 d3 0b be 8d 48 59 ee 51 1f 60 29 57 b1 54 11 ac 02 76 71 45 9e 46 44 5c 9e a5 8c 18 1e 81
8e 95 b8 c3 fb 0b f3 27 84 09 d3 be 15 2a 3d a5 04 3e 06 3d da 65 cd f5 ae a2 0d 53 df ac d4 2f 74 f3""")
R_SFIN = h("14 00 00 20 9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de da 4a b4 2c 30 95 72 cb 7f ff ee 54 54 b7 8f 07 18")
R_SHARED = h("8b d4 05 4f b5 5b 9d 63 fd fb ac f9 f0 4b 9f 0d 35 e6 d6 3f 53 75 63 ef d4 62 72 90 0f 89 49 2d")
R_C_HS = h("b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21")
R_S_HS = h("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38")
R_C_AP = h("9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5")
R_S_AP = h("a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43")
R_CFIN_VERIFY = h("a8 ec 43 6d 67 76 34 ae 52 5a c1 fc eb e1 1a 03 9e c1 76 94 fa c6 e9 85 27 b6 42 f2 ed d5 ce 61")
R_C_FIN_REC = h("""17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b fc
44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46""")
R_C_APP_REC = h("""17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab 3f
2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee
bb 21 69 49 15 e4""")
R_S_APP_REC = h("""17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b 36
e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0
32 e1 67 c2 95 5d""")


def test_rfc8448_key_schedule() -> None:
    early = kdf.hkdf_extract("SHA256", None, None)
    assert early.hex() == "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a"
    derived = kdf.derive_secret("SHA256", early, "derived", kdf.digest("SHA256", b""))
    hs = kdf.hkdf_extract("SHA256", derived, R_SHARED)
    assert hs.hex() == "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac"
    th = kdf.digest("SHA256", R_CH + R_SH)
    assert th.hex() == "860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8"
    assert kdf.derive_secret("SHA256", hs, "c hs traffic", th) == R_C_HS
    assert kdf.derive_secret("SHA256", hs, "s hs traffic", th) == R_S_HS
    assert kdf.traffic_key_iv("SHA256", R_S_HS, 16) == (h("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"),
                                                        h("5d 31 3e b2 67 12 76 ee 13 00 0b 30"))
    assert kdf.traffic_key_iv("SHA256", R_C_HS, 16) == (h("db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01"),
                                                        h("5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f"))
    # Finished of both sides
    assert kdf.finished_tls13("SHA256", R_S_HS, kdf.digest("SHA256", R_CH + R_SH + R_EE + R_CERT + R_CV)) == R_SFIN[4:]
    th_fin = kdf.digest("SHA256", R_CH + R_SH + R_EE + R_CERT + R_CV + R_SFIN)
    assert th_fin.hex() == "9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13"
    assert kdf.finished_tls13("SHA256", R_C_HS, th_fin) == R_CFIN_VERIFY
    master = kdf.hkdf_extract("SHA256", kdf.derive_secret("SHA256", hs, "derived", kdf.digest("SHA256", b"")), None)
    assert master.hex() == "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919"
    assert kdf.derive_secret("SHA256", master, "c ap traffic", th_fin) == R_C_AP
    assert kdf.derive_secret("SHA256", master, "s ap traffic", th_fin) == R_S_AP


def test_rfc8448_record_protection() -> None:
    p = suite_params(0x1301)
    client_hs = tls13_protection(p.cipher, "SHA256", R_C_HS)
    assert client_hs.decrypt(23, R_C_FIN_REC[5:]) == (22, b"\x14\x00\x00\x20" + R_CFIN_VERIFY)
    client_ap = tls13_protection(p.cipher, "SHA256", R_C_AP)
    assert client_ap.decrypt(23, R_C_APP_REC[5:]) == (23, bytes(range(50)))
    server_ap = tls13_protection(p.cipher, "SHA256", R_S_AP)
    server_ap.seq = 1   # the server's first application record follows its NewSessionTicket
    assert server_ap.decrypt(23, R_S_APP_REC[5:]) == (23, bytes(range(50)))
    flipped = bytearray(R_C_APP_REC[5:])
    flipped[3] ^= 0x80
    with pytest.raises(BadRecord):
        tls13_protection(p.cipher, "SHA256", R_C_AP).decrypt(23, bytes(flipped))


def test_rfc8448_handshake_through_the_state_machine() -> None:
    """The RFC's records fed to TLSConnection with a key log of its secrets: decrypted, parsed, verified."""
    cr = R_CH[6:38].hex()
    km = KeyMaterial()
    km.add_keylog_text("\n".join([
        f"CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {R_C_HS.hex()}",
        f"SERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {R_S_HS.hex()}",
        f"CLIENT_TRAFFIC_SECRET_0 {cr} {R_C_AP.hex()}",
        f"SERVER_TRAFFIC_SECRET_0 {cr} {R_S_AP.hex()}",
    ]), "rfc8448")
    sink = Collector()
    dec = Decryptor(km, sink)
    tls = TLSConnection(decryptor=dec)
    flight = R_EE + R_CERT + R_CV + R_SFIN
    # the server flight record, protected here with the RFC's server handshake key and IV
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    key, iv = kdf.traffic_key_iv("SHA256", R_S_HS, 16)
    body = AESGCM(key).encrypt(iv, flight + b"\x16", b"\x17\x03\x03" + (len(flight) + 17).to_bytes(2, "big"))
    tls.feed(0, b"\x16\x03\x01" + len(R_CH).to_bytes(2, "big") + R_CH, 1, 1.0)
    tls.feed(1, b"\x16\x03\x03" + len(R_SH).to_bytes(2, "big") + R_SH, 2, 1.1)
    tls.feed(1, b"\x17\x03\x03" + len(body).to_bytes(2, "big") + body, 2, 1.1)
    tls.feed(0, R_C_FIN_REC, 3, 1.2)
    tls.feed(0, R_C_APP_REC, 4, 1.3)
    s = tls.finish()
    assert s.handshake_complete
    assert s.decryption == "ok"
    assert (s.finished_client, s.finished_server) == (True, True)
    assert s.cert is not None and s.cert.subject == "CN=rsa"
    assert bytes(sink.buf[0]) == bytes(range(50)) and s.app_bytes_client == 50


# --------------------------------------------------------------------------- key material


def test_keylog_parser_is_tolerant_and_quiet_about_secrets() -> None:
    secret = "ab" * 48
    km = KeyMaterial()
    n = km.add_keylog_text("\n".join([
        "# a comment", "", f"CLIENT_RANDOM {'00' * 32} {secret}", "CLIENT_RANDOM zz 00",
        f"NOT_A_LABEL {'00' * 32} {secret}", f"CLIENT_RANDOM {'00' * 31} {secret}", "   ",
        f"EXPORTER_SECRET {'01' * 32} {'02' * 32}", f"CLIENT_RANDOM {'00' * 32}",
    ]), "k.txt")
    assert n == 2
    assert [p.split(":")[0] for p in km.problems] == ["k.txt line 4", "k.txt line 5", "k.txt line 6", "k.txt line 9"]
    assert not any(secret in p for p in km.problems)
    assert secret not in repr(km)


def test_private_key_formats(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

    key = load_pem_private_key(SERVER_KEY.read_bytes(), None)
    files = {
        "pkcs1.pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()),
        "pkcs8.pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"pw")),
        "key.der": key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()),
        "key.p12": pkcs12.serialize_key_and_certificates(b"k", key, None, None,  # type: ignore[arg-type]
                                                         serialization.BestAvailableEncryption(b"pw")),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        km = KeyMaterial()
        km.add_private_key_file(tmp_path / name, "pw")
        rows, _ = run(CAPTURES / "tls12-rsa.pcap", km)
        assert rows[2].decryption == "ok", name
    from analyzer.decrypt.keys import KeyFileError
    with pytest.raises(KeyFileError, match="password"):
        KeyMaterial().add_private_key_file(tmp_path / "pkcs8.pem", "wrong")
    with pytest.raises(KeyFileError, match="only RSA"):
        KeyMaterial().add_private_key_file(CAPTURES / "server-ecdsa.key")


def test_key_material_pickles() -> None:
    import pickle

    km = load_key_material([KEYLOG], [SERVER_KEY])
    km2 = pickle.loads(pickle.dumps(km))
    assert km2.secrets == km.secrets and len(km2.server_keys) == 1
    rows, _ = run(CAPTURES / "tls12-rsa.pcap", km2)
    assert rows[0].decryption == "ok"


def test_unsupported_suites_say_why() -> None:
    with pytest.raises(UnsupportedCipher, match="export"):
        suite_params(0x0003)   # TLS_RSA_EXPORT_WITH_RC4_40_MD5
    with pytest.raises(UnsupportedCipher, match="ARIA"):
        suite_params(0xC03C)   # TLS_RSA_WITH_ARIA_128_CBC_SHA256
    assert suite_params(0x000A).cipher.algorithm == "TripleDES"
    assert suite_params(0x0005).cipher.kind == "stream"


def test_rc4_and_3des_records_round_trip() -> None:
    """RC4 and 3DES are not offered by this OpenSSL's TLS: check our record layer with cryptography's ciphers."""
    import warnings

    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    from analyzer.decrypt.record import MACProtection, _block_algorithm
    for code, version in ((0x0005, 0x0301), (0x000A, 0x0302), (0x000A, 0x0301)):
        p = suite_params(code)
        key, mac_key = bytes(range(p.cipher.key_length)), b"m" * p.mac_length
        iv = b"\x07" * p.cipher.iv_length
        prot = MACProtection(p.cipher, key, iv, p.mac_hash, mac_key, version, False)
        data = b"hello, legacy cipher"
        mac = kdf.hmac(p.mac_hash, mac_key, (0).to_bytes(8, "big") + b"\x17" + version.to_bytes(2, "big")
                       + len(data).to_bytes(2, "big") + data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alg = _block_algorithm(p.cipher.algorithm, key)
        if p.cipher.kind == "stream":
            body = Cipher(alg, None).encryptor().update(data + mac)
        else:
            bs = p.cipher.block_size
            pt = data + mac
            pad = bs - (len(pt) + 1) % bs
            pt += bytes([pad]) * (pad + 1)
            explicit = b"\x09" * bs if version >= 0x0302 else b""
            enc = Cipher(alg, modes.CBC(explicit or iv)).encryptor()
            body = explicit + enc.update(pt) + enc.finalize()
        assert prot.decrypt(23, body) == (23, data)


# --------------------------------------------------------------------------- more suites, real TLS


def _conversation_capture(tmp: Path, name: str, version: str, ciphers: str | None, cert: str = "rsa",
                          tls13_suite: str | None = None, port: int = 52000) -> tuple[Path, Path, bytes, bytes]:
    from captures import generate as gen

    pki = gen.pki_at(CAPTURES)
    kl = tmp / f"{name}.keylog"
    msgs = (b"GET /" + name.encode() + b" HTTP/1.1\r\n\r\n" + bytes(range(256)) * 3,
            b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 5000 + bytes(range(256)))
    if tls13_suite:
        conv = gen.tls13_suite_conversation(tls13_suite, pki, kl, client_kw={}, server_kw={},
                                            conv_kw={"client_messages": [msgs[0]], "server_messages": [msgs[1]],
                                                     "server_hostname": "server.test", "client": [gen.CLIENT_IP4, port]})
    else:
        c = gen.client_context(pki, keylog=kl, min_version=version, max_version=version, ciphers=ciphers)
        s = gen.server_context(pki, cert=cert, min_version=version, max_version=version, ciphers=ciphers)
        conv = gen.tls_conversation(c, s, server_hostname="server.test", client=(gen.CLIENT_IP4, port),
                                    client_messages=[msgs[0]], server_messages=[msgs[1]])
    pcap = tmp / f"{name}.pcap"
    gen.write_pcap(pcap, gen.frames_for(conv))
    return pcap, kl, msgs[0], msgs[1]


SUITE_CASES = [
    ("tls10-aes-cbc", "TLSv1", "AES128-SHA:@SECLEVEL=0", "rsa", None, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    ("tls10-ecdhe-cbc", "TLSv1", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", "rsa", None, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    ("tls11-aes-cbc", "TLSv1.1", "AES256-SHA:@SECLEVEL=0", "rsa", None, "TLS_RSA_WITH_AES_256_CBC_SHA"),
    ("tls12-ccm", "TLSv1.2", "AES128-CCM:@SECLEVEL=0", "rsa", None, "TLS_RSA_WITH_AES_128_CCM"),
    ("tls12-ccm8", "TLSv1.2", "ECDHE-ECDSA-AES128-CCM8:@SECLEVEL=0", "ecdsa", None, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"),
    ("tls12-camellia", "TLSv1.2", "CAMELLIA128-SHA:@SECLEVEL=0", "rsa", None, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA"),
    ("tls12-camellia384", "TLSv1.2", "ECDHE-RSA-CAMELLIA256-SHA384:@SECLEVEL=0", "rsa", None,
     "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384"),
    ("tls12-null", "TLSv1.2", "NULL-SHA256:@SECLEVEL=0", "rsa", None, "TLS_RSA_WITH_NULL_SHA256"),
    ("tls13-ccm", "TLSv1.3", None, "rsa", "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256"),
    ("tls13-ccm8", "TLSv1.3", None, "rsa", "TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256"),
]


@pytest.mark.parametrize("case", SUITE_CASES, ids=[c[0] for c in SUITE_CASES])
def test_more_suites_from_real_tls(tmp_path: Path, case: tuple) -> None:
    name, version, ciphers, cert, suite13, iana = case
    try:
        pcap, kl, c2s, s2c = _conversation_capture(tmp_path, name, version, ciphers, cert, suite13)
    except Exception as e:  # this OpenSSL build cannot make it
        pytest.skip(f"cannot generate {name}: {e}")
    keys = load_key_material([kl])
    rows, sinks = run(pcap, keys)
    s = rows[0]
    assert s.cipher_suite == iana
    assert s.decryption == "ok", s.errors
    assert (s.finished_client, s.finished_server) == (True, True)
    assert bytes(sinks[0].buf[0]) == c2s and bytes(sinks[0].buf[1]) == s2c
    if iana.startswith("TLS_RSA_"):   # RSA key exchange: the server key alone does it too
        rows, sinks = run(pcap, load_key_material(server_keys=[SERVER_KEY]))
        assert rows[0].decryption == "ok" and bytes(sinks[0].buf[1]) == s2c


# --------------------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_cli_decrypt_writes_streams(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _cli("decrypt", str(CAPTURES / "tls12-rsa.pcap"), "--key", str(SERVER_KEY), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert "tls12-rsa.pcap stream 2: ok 62 bytes client->server, 91 bytes server->client" in r.stdout
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"stream-{i}.{k}" for i in range(3) for k in ("c2s.bin", "follow.txt", "s2c.bin")]
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert (out / "stream-1.c2s.bin").read_bytes().startswith(b"GET / HTTP/1.1\r\n")
    follow = (out / "stream-1.follow.txt").read_text()
    assert ">>> client -> server, frame" in follow and "<<< server -> client, frame" in follow
    assert "hello from the test server" in follow


def test_cli_keylog_exports_what_the_key_recovers(tmp_path: Path) -> None:
    r = _cli("keylog", str(CAPTURES / "tls12-rsa.pcap"), "--key", str(SERVER_KEY), "-q")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    known = set(KEYLOG.read_text().splitlines())
    assert all(line in known for line in lines)
    dest = tmp_path / "k.txt"
    r = _cli("keylog", str(CAPTURES / "tls12-rsa.pcap"), "--key", str(SERVER_KEY), "-q", "-o", str(dest))
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_cli_connections_columns_and_bad_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text(KEYLOG.read_text() + "\nCLIENT_RANDOM nothex\n")
    r = _cli("connections", str(CAPTURES / "tls13-hrr.pcap"), "--keylog", str(bad), "-f", "jsonl")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout.splitlines()[0])
    assert (row["decryption"], row["finished_verified"], row["app_bytes_client"], row["app_bytes_server"]) == ("ok", "both", 62, 91)
    assert f"{bad} line 64" in r.stderr
    r = _cli("connections", str(CAPTURES / "tls13-hrr.pcap"), "-f", "jsonl")
    assert json.loads(r.stdout.splitlines()[0])["decryption"] == "not_attempted"


# --------------------------------------------------------------------------- tshark as the oracle


def tshark_follow(path: Path, streams: list[int], keylog: Path | None, rsa_key: Path | None,
                  clients: dict[int, str] | None = None) -> dict[int, tuple[bytes, bytes]]:
    """Decrypted (client->server, server->client) bytes per stream from `-z follow,tls,raw`.

    Lines of node 1 start with a tab; node 0 is whichever side tshark saw first, so it
    is compared with the client's `ip:port` (`clients`) to tell the directions apart.
    """
    cmd = [tshark_oracle.TSHARK, "-r", str(path), "-q", "-o", "tcp.reassemble_out_of_order:TRUE", "-d", "tcp.port==8443,tls"]
    if keylog:
        cmd += ["-o", f"tls.keylog_file:{keylog}"]
    if rsa_key:
        cmd += ["-o", f'uat:rsa_keys:"{rsa_key}",""']
    for s in streams:
        cmd += ["-z", f"follow,tls,raw,{s}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    result: dict[int, tuple[bytes, bytes]] = {}
    for block in out.split("===================================================================\nFollow: tls,raw\n")[1:]:
        lines = block.splitlines()
        stream = int(lines[0].split("eq")[1])
        node0 = lines[1].split(": ", 1)[1].strip()
        c2s, s2c = bytearray(), bytearray()
        for line in lines[3:]:
            if line.startswith("====="):
                break
            if line.startswith("\t"):
                s2c += bytes.fromhex(line.strip())
            elif line.strip():
                c2s += bytes.fromhex(line.strip())
        if clients is not None and stream in clients and node0 != clients[stream]:
            c2s, s2c = s2c, c2s
        result[stream] = (bytes(c2s), bytes(s2c))
    return result


TSHARK_CAPTURES = sorted({n for n, _ in plaintext_cases()})


@pytest.mark.skipif(not tshark_oracle.available(), reason="tshark not installed")
@pytest.mark.parametrize("name", TSHARK_CAPTURES)
def test_tshark_decrypts_the_same_bytes(name: str, keylog_keys: KeyMaterial) -> None:
    rows, sinks = run(CAPTURES / name, keylog_keys)
    streams = sorted(k for k, s in rows.items() if s.is_tls)
    clients = {k: f"{rows[k].client_ip}:{rows[k].client_port}" for k in streams}
    theirs = tshark_follow(CAPTURES / name, streams, KEYLOG, SERVER_KEY, clients)
    for st in streams:
        ours = (bytes(sinks[st].buf[0]), bytes(sinks[st].buf[1])) if st in sinks else (b"", b"")
        assert ours == theirs.get(st, (b"", b"")), (name, st)
        assert ours[0], (name, st)


@pytest.mark.skipif(not tshark_oracle.available(), reason="tshark not installed")
def test_tshark_rsa_key_only_agrees() -> None:
    keys = load_key_material(server_keys=[SERVER_KEY])
    rows, sinks = run(CAPTURES / "tls12-rsa.pcap", keys)
    theirs = tshark_follow(CAPTURES / "tls12-rsa.pcap", [0, 1, 2], None, SERVER_KEY,
                           {k: f"{rows[k].client_ip}:{rows[k].client_port}" for k in (0, 1, 2)})
    for st in (0, 1, 2):
        assert (bytes(sinks[st].buf[0]), bytes(sinks[st].buf[1])) == theirs[st]


@pytest.mark.skipif(not tshark_oracle.available() or not (JA4 / "chrome-cloudflare-quic-with-secrets.pcapng").exists(),
                    reason="tshark or the shared capture missing")
def test_tshark_agrees_on_chrome_capture_with_dsb() -> None:
    path = JA4 / "chrome-cloudflare-quic-with-secrets.pcapng"
    rows, sinks = run(path, None)
    tcp = [k for k, s in rows.items() if s.is_tls]
    assert tcp and all(rows[k].decryption == "ok" for k in tcp)
    theirs = tshark_follow(path, tcp, None, None, {k: f"{rows[k].client_ip}:{rows[k].client_port}" for k in tcp})
    for st in tcp:
        assert (bytes(sinks[st].buf[0]), bytes(sinks[st].buf[1])) == theirs[st]
        assert sinks[st].buf[1]
