"""TLS 1.2 PSK suites: OpenSSL s_server/s_client captures (captures/psk/), decrypted with --psk; tshark as the oracle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tshark_oracle  # noqa: E402

from analyzer.decrypt.keys import KeyFileError, load_key_material  # noqa: E402
from analyzer.pipeline import Options, analyze_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PSK_DIR = ROOT / "captures" / "psk"
MANIFEST = json.loads((PSK_DIR / "MANIFEST.json").read_text())
KEYLOG = PSK_DIR / "keylog.txt"
PLAIN = sorted(n for n, f in MANIFEST["files"].items() if f["cipher_suite"].startswith("PSK-"))
EPHEMERAL = sorted(n for n, f in MANIFEST["files"].items() if not f["cipher_suite"].startswith("PSK-"))
needs_tshark = pytest.mark.skipif(not tshark_oracle.available(), reason="tshark not installed")


class Collector:
    def __init__(self) -> None:
        self.buf = [bytearray(), bytearray()]

    def data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        self.buf[direction] += data

    def close(self) -> None:
        pass


def analyse(name: str, psks: list[str] | None = None, keylog: Path | None = None) -> tuple[object, Collector]:
    sinks: dict[int, Collector] = {}

    def sink(capture: str, stream: int) -> Collector:
        return sinks.setdefault(stream, Collector())

    keys = load_key_material([keylog] if keylog else None, psks=psks)
    rows = [s for s in analyze_file(PSK_DIR / name, options=Options(keys=keys, app_data=sink)) if s.is_tls]
    assert len(rows) == 1
    return rows[0], sinks.get(rows[0].stream, Collector())


def spec(name: str) -> str:
    f = MANIFEST["files"][name]
    return f"{f['psk_identity']}={f['psk']}"


def tshark(name: str, *args: str) -> str:
    port = MANIFEST["files"][name]["server"][1]
    cmd = [tshark_oracle.TSHARK, "-r", str(PSK_DIR / name), "-d", f"tcp.port=={port},tls", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def tshark_follow(name: str, *key_opts: str) -> tuple[bytes, bytes]:
    out = tshark(name, *key_opts, "-q", "-z", "follow,tls,raw,0")
    c2s, s2c = bytearray(), bytearray()
    body = out.split("Node 1:", 1)[1].split("\n", 1)[1]
    for line in body.splitlines():
        if line.startswith("====="):
            break
        (s2c if line.startswith("\t") else c2s).extend(bytes.fromhex(line.strip()))
    return bytes(c2s), bytes(s2c)


@pytest.mark.parametrize("name", PLAIN)
def test_plain_psk_decrypts_to_what_openssl_sent(name: str) -> None:
    f = MANIFEST["files"][name]
    row, sink = analyse(name, [spec(name)])
    assert row.decryption == "ok" and row.finished_client is True and row.finished_server is True
    assert row.psk_identity == f["psk_identity"]
    assert bytes(sink.buf[0]) == f["client_message"].encode()
    assert bytes(sink.buf[1]) == f["server_answer"].encode()


@needs_tshark
@pytest.mark.parametrize("name", PLAIN)
def test_tshark_decrypts_the_same_bytes_with_the_psk(name: str) -> None:
    _row, sink = analyse(name, [spec(name)])
    theirs = tshark_follow(name, "-o", f"tls.psk:{MANIFEST['files'][name]['psk']}")
    assert theirs == (bytes(sink.buf[0]), bytes(sink.buf[1])) and theirs[0]


@needs_tshark
@pytest.mark.parametrize("name", sorted(MANIFEST["files"]))
def test_psk_identity_and_hint_as_tshark_reads_them(name: str) -> None:
    row, _ = analyse(name)
    f = MANIFEST["files"][name]
    assert row.psk_identity == f["psk_identity"]
    assert row.decryption is None   # no key material: nothing attempted

    def field(name_: str) -> list[str]:
        out = tshark(name, "-T", "fields", "-e", name_).split()
        return [bytes.fromhex(v.replace(":", "")).decode() for v in out]

    if name in EPHEMERAL:
        # tshark 4.0 does not dissect ECDHE_PSK key exchange bodies (RFC 5489 section 2: psk_identity_hint
        # before the ServerECDHParams, psk_identity before the client's point); s_client was given the
        # identity (MANIFEST), and the curve after the hint is read right
        assert field("tls.handshake.identity") == [] and row.group == "x25519"
        return
    assert field("tls.handshake.identity") == [f["psk_identity"]]
    assert field("tls.handshake.hint") == ([f["psk_identity_hint"]] if f["psk_identity_hint"] else [])


@pytest.mark.parametrize("name", PLAIN)
def test_master_secret_is_the_one_openssl_logged(name: str) -> None:
    """The RFC 4279 premaster gives the very master secret s_client wrote to its key log."""
    from analyzer.decrypt.output import keylog_lines

    lines: list[str] = []
    keys = load_key_material(psks=[spec(name)])
    for _ in analyze_file(PSK_DIR / name, options=Options(keys=keys, on_connection=lambda s, d: lines.extend(keylog_lines(d)))):
        pass
    assert len(lines) == 1 and lines[0] in KEYLOG.read_text().splitlines()


def test_psk_chosen_by_identity() -> None:
    name = "psk-aes128-gcm.pcap"
    right = spec(name)
    others = [spec("psk-aes256-cbc.pcap"), spec("psk-chacha20.pcap")]
    assert analyse(name, others + [right])[0].decryption == "ok"
    # no PSK for this identity: said so, with the identity (never a key)
    row, _ = analyse(name, others)
    assert row.decryption == "no_key" and any("'client1'" in e for e in row.errors)
    # one PSK without identity serves every identity without its own
    assert analyse(name, others + [MANIFEST["files"][name]["psk"]])[0].decryption == "ok"
    # the wrong key for the identity: the first protected record fails
    wrong = f"client1={'00' * 16}"
    row, _ = analyse(name, [wrong])
    assert row.decryption == "key_mismatch" and row.finished_client is None


@pytest.mark.parametrize("name", EPHEMERAL)
def test_ephemeral_psk_needs_the_key_log(name: str) -> None:
    row, _ = analyse(name, [spec(name)])
    assert row.decryption == "missing_secrets" and any("ephemeral" in e for e in row.errors)
    row, sink = analyse(name, [spec(name)], keylog=KEYLOG)
    f = MANIFEST["files"][name]
    assert row.decryption == "ok" and bytes(sink.buf[1]) == f["server_answer"].encode()


@needs_tshark
@pytest.mark.parametrize("name", EPHEMERAL)
def test_tshark_agrees_on_ephemeral_psk_with_the_key_log(name: str) -> None:
    _row, sink = analyse(name, keylog=KEYLOG)
    assert tshark_follow(name, "-o", f"tls.keylog_file:{KEYLOG}") == (bytes(sink.buf[0]), bytes(sink.buf[1]))


def test_psk_option_errors_never_show_the_key() -> None:
    for bad, words in (("zz11", "not hexadecimal"), ("id=", "1 to"), ("id=" + "00" * 65536, "1 to")):
        with pytest.raises(KeyFileError) as e:
            load_key_material(psks=[bad])
        assert words in str(e.value) and "zz11" not in str(e.value) and "0000" not in str(e.value)
    with pytest.raises(KeyFileError, match="twice"):
        load_key_material(psks=["a=00", "a=11"])


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_commands_take_psk(tmp_path: Path) -> None:
    psks = [a for n in PLAIN for a in ("--psk", spec(n))]
    r = cli("connections", str(PSK_DIR), *psks, "-f", "jsonl")
    assert r.returncode == 0, r.stderr
    rows = {json.loads(line)["capture"]: json.loads(line) for line in r.stdout.splitlines()}
    for n in PLAIN:
        assert rows[n]["decryption"] == "ok" and rows[n]["psk_identity"] == MANIFEST["files"][n]["psk_identity"]
    for n in EPHEMERAL:
        assert rows[n]["decryption"] == "missing_secrets"
    r = cli("decrypt", str(PSK_DIR), *psks, "--out", str(tmp_path / "dec"))
    assert r.returncode == 0 and "psk-chacha20.pcap stream 0: ok" in r.stdout
    assert cli("connections", str(PSK_DIR), "--psk", "nothex").returncode == 2
    # keylog: the PSK sessions as CLIENT_RANDOM lines, the same as OpenSSL's
    r = cli("keylog", str(PSK_DIR), *psks)
    assert r.returncode == 0 and len(r.stdout.splitlines()) == len(PLAIN)
    assert set(r.stdout.splitlines()) <= set(KEYLOG.read_text().splitlines())


@needs_tshark
def test_inject_secrets_with_psk_opens_decrypted(tmp_path: Path) -> None:
    name = "psk-aes256-cbc.pcap"
    out = tmp_path / "out.pcapng"
    r = cli("inject-secrets", str(PSK_DIR / name), "--psk", spec(name), "-o", str(out))
    assert r.returncode == 0, r.stderr
    port = MANIFEST["files"][name]["server"][1]
    follow = subprocess.run([tshark_oracle.TSHARK, "-r", str(out), "-d", f"tcp.port=={port},tls", "-q", "-z",
                             "follow,tls,raw,0"], capture_output=True, text=True).stdout
    assert MANIFEST["files"][name]["server_answer"].encode().hex() in follow.replace("\n", "").replace("\t", "")
