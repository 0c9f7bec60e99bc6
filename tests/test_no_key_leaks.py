"""No key material anywhere: every command, its output files and its error paths, grepped for secrets.

Each command runs as a real subprocess with captures/keylog.txt and captures/server.key
(and an encrypted copy of the key with a password). Its stdout, stderr and every file it
wrote are searched for every secret of the key log (hex, lower and upper case, and raw
bytes), the private key's PEM body lines, its DER bytes, its private exponent and primes
(hex), and the password. Only the `keylog` command's stdout (and its -o file) may hold
secrets: printing them is its job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
KEYLOG = CAPTURES / "keylog.txt"
KEY = CAPTURES / "server.key"
PASSWORD = "pw-Zq8rT1-never-shown"
SECRETS_CAPTURES = [CAPTURES / "tls12-rsa.pcap", CAPTURES / "tls13-aes128.pcap", CAPTURES / "tls-mixed.pcapng",
                    CAPTURES / "tls12-ecdhe.pcap", CAPTURES / "tls12-resume.pcap"]


PSK_DIR = CAPTURES / "psk"
PSK_KEYLOG = PSK_DIR / "keylog.txt"
PSKS = {n: f["psk"] for n, f in json.loads((PSK_DIR / "MANIFEST.json").read_text())["files"].items()}
PSK_ARGS = [a for n, f in json.loads((PSK_DIR / "MANIFEST.json").read_text())["files"].items()
            if f["cipher_suite"].startswith("PSK-") for a in ("--psk", f"{f['psk_identity']}={f['psk']}")]

WINDOW = 24  # hex digits (12 bytes): any piece of a secret this long counts as a leak


def _hex_needles(h: str) -> list[str]:
    """A hex string and every WINDOW-digit piece of it (step WINDOW/2), lower and upper case."""
    pieces = [h] + [h[i:i + WINDOW] for i in range(0, max(1, len(h) - WINDOW + 1), WINDOW // 2)]
    return [x for p in pieces for x in (p.lower(), p.upper())]


@lru_cache(maxsize=1)
def needles() -> tuple[list[str], list[bytes]]:
    """(text needles, byte needles): what must never show up outside `keylog`."""
    text: list[str] = []
    raw: list[bytes] = []
    for line in KEYLOG.read_text().splitlines() + PSK_KEYLOG.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            secret = parts[2]
            text += _hex_needles(secret)
            raw.append(bytes.fromhex(secret))
    key = serialization.load_pem_private_key(KEY.read_bytes(), None)
    pem_body = [ln for ln in KEY.read_text().splitlines() if ln and not ln.startswith("-----")]
    text += pem_body
    nums = key.private_numbers()  # type: ignore[union-attr]
    for v in (nums.d, nums.p, nums.q, nums.dmp1, nums.dmq1, nums.iqmp):
        text += _hex_needles(format(v, "x"))
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    raw += [der, nums.d.to_bytes((nums.d.bit_length() + 7) // 8, "big")]
    text.append(PASSWORD)
    for psk in PSKS.values():   # the pre-shared keys, and the master secrets they give (in PSK_KEYLOG above)
        text += _hex_needles(psk)
        raw.append(bytes.fromhex(psk))
    return text, raw


def leaks(blob: bytes) -> list[str]:
    """Which needles occur in ``blob`` (shortened, so a failure does not print a secret in full)."""
    text, raw = needles()
    found = [t[:8] + "..." for t in text if t.encode() in blob]
    found += [r[:4].hex() + "..." for r in raw if r in blob]
    return found


def run(args: list[str], cwd: Path, password_env: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HANDSHAKE_ANALYZER_KEY_PASSWORD"}
    if password_env is not None:
        env["HANDSHAKE_ANALYZER_KEY_PASSWORD"] = password_env
    env["PYTHONPATH"] = str(ROOT)   # this checkout's code (commands run in a temporary folder)
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, cwd=cwd, timeout=300,
                          env=env)


def contents(f: Path) -> bytes:
    """A file's bytes; for Parquet also its values as text (its pages may be compressed)."""
    data = f.read_bytes()
    if f.suffix == ".parquet":
        import pyarrow.parquet as pq

        data += repr(pq.read_table(f).to_pylist()).encode()
    return data


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    """A folder with the inputs and bad key files; commands run there and write there."""
    enc = serialization.load_pem_private_key(KEY.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()))
    (tmp_path / "enc.key").write_bytes(enc)
    lines = KEYLOG.read_text().splitlines()
    entries = [ln.split() for ln in lines if ln and not ln.startswith("#")]
    label, cr, secret = entries[0]
    bad = [
        f"{secret} {cr}",                    # a shifted line: starts with the secret
        f"{cr}{secret}",                     # label and fields run together
        f"CLIENT_RANDOM {secret}",           # too few fields
        f"{label} {cr} {secret} trailing",   # too many fields
        f"{label} {cr} {secret[:-1]}",       # odd hex
        f"{label} {cr[:-2]} {secret}",       # short identifier
        f"{label} {cr} {secret}00",          # long secret
        f"{secret.upper()}_X {cr} {secret}",
    ]
    (tmp_path / "bad-keylog.txt").write_text("\n".join(lines + bad) + "\n")
    (tmp_path / "only-bad-keylog.txt").write_text("\n".join(bad) + "\n")
    (tmp_path / "out").mkdir()
    return tmp_path


K = ["--keylog", str(KEYLOG), "--key", str(KEY)]
CAPS = [str(p) for p in SECRETS_CAPTURES]

# (id, arguments (OUT = the output folder), may its stdout hold secrets?)
COMMANDS = [
    ("connections-table", ["connections", *CAPS, *K], False),
    ("connections-csv", ["connections", *CAPS, *K, "-f", "csv"], False),
    ("connections-jsonl", ["connections", *CAPS, *K, "-f", "jsonl"], False),
    ("connections-json-file", ["connections", *CAPS, *K, "-f", "json", "-o", "OUT/c.json"], False),
    ("connections-parquet", ["connections", *CAPS, *K, "-f", "parquet", "-o", "OUT/c.parquet"], False),
    ("connections-table-file", ["connections", *CAPS, *K, "-o", "OUT/c.txt"], False),
    ("connections-batch", ["connections", *CAPS, *K, "-f", "csv", "--jobs", "2", "--out", "OUT/ds"], False),
    ("connections-all-bundled", ["connections", str(CAPTURES), *K, "-f", "jsonl"], False),
    ("report", ["report", *CAPS, *K, "--out", "OUT/report"], False),
    ("audit", ["audit", *CAPS, "--fail-on", "never"], False),
    ("audit-sarif", ["audit", *CAPS, "-f", "sarif", "-o", "OUT/a.sarif", "--fail-on", "never"], False),
    ("ladder", ["ladder", str(CAPTURES / "tls-mixed.pcapng")], False),
    ("summary", ["summary", *CAPS, *K], False),
    ("fingerprints", ["fingerprints", *CAPS], False),
    # the key options of the other analysing commands (same definitions and loading as connections)
    ("audit-keys", ["audit", *CAPS, *K, "--fail-on", "never"], False),
    ("audit-keys-jsonl-file", ["audit", *CAPS, *K, "-f", "jsonl", "-o", "OUT/a.jsonl", "--fail-on", "never"], False),
    ("audit-keys-sarif", ["audit", *CAPS, *K, "-f", "sarif", "-o", "OUT/k.sarif", "--fail-on", "never"], False),
    ("audit-keys-batch", ["audit", *CAPS, *K, "-f", "csv", "--jobs", "2", "--out", "OUT/ads", "--fail-on", "never"], False),
    ("audit-encrypted-key", ["audit", *CAPS, "--key", "enc.key", "--key-password", PASSWORD, "--fail-on", "never"], False),
    ("ladder-keys", ["ladder", str(CAPTURES / "tls13-aes128.pcap"), *K], False),
    ("ladder-encrypted-key", ["ladder", str(CAPTURES / "tls12-rsa.pcap"), "--key", "enc.key",
                              "--key-password", PASSWORD], False),
    ("fingerprints-keys", ["fingerprints", *CAPS, *K], False),
    ("fingerprints-keys-jsonl", ["fingerprints", *CAPS, *K, "-f", "jsonl"], False),
    ("summary-encrypted-key", ["summary", *CAPS, "--key", "enc.key", "--key-password", PASSWORD], False),
    ("report-encrypted-key", ["report", *CAPS, "--keylog", str(KEYLOG), "--key", "enc.key",
                              "--key-password", PASSWORD, "--out", "OUT/report3"], False),
    ("decrypt", ["decrypt", *CAPS, *K, "--out", "OUT/dec"], False),
    ("decrypt-encrypted-key", ["decrypt", *CAPS, "--key", "enc.key", "--key-password", PASSWORD,
                               "--out", "OUT/dec2"], False),
    ("keylog", ["keylog", *CAPS, *K], True),
    ("keylog-file", ["keylog", *CAPS, *K, "-o", "OUT/recovered.keylog"], False),
    ("keylog-check", ["keylog-check", *CAPS, "--keylog", str(KEYLOG)], False),
    ("keylog-check-csv-file", ["keylog-check", *CAPS, "--keylog", str(KEYLOG), "-f", "csv", "-o", "OUT/check.csv"], False),
    ("keylog-check-bad-lines", ["keylog-check", *CAPS, "--keylog", "bad-keylog.txt", "-f", "jsonl"], False),
    ("inject-secrets", ["inject-secrets", str(CAPTURES / "tls-mixed.pcapng"), *K, "-o", "OUT/injected.pcapng"], False),
    ("inject-secrets-rsa-key", ["inject-secrets", str(CAPTURES / "tls12-rsa.pcap"), "--key", str(KEY),
                                "-o", "OUT/injected.pcapng"], False),
    ("inject-secrets-bad-lines", ["inject-secrets", str(CAPTURES / "tls12-ecdhe.pcap"), "--keylog", "bad-keylog.txt",
                                  "-o", "OUT/injected.pcapng"], False),
    ("psk-connections", ["connections", str(PSK_DIR), *PSK_ARGS, "-f", "jsonl"], False),
    ("psk-report", ["report", str(PSK_DIR), *PSK_ARGS, "--out", "OUT/psk-report"], False),
    ("psk-summary", ["summary", str(PSK_DIR), *PSK_ARGS], False),
    ("psk-decrypt", ["decrypt", str(PSK_DIR), *PSK_ARGS, "--out", "OUT/psk-dec"], False),
    ("psk-keylog", ["keylog", str(PSK_DIR), *PSK_ARGS], True),
    ("psk-inject-secrets", ["inject-secrets", str(PSK_DIR / "psk-chacha20.pcap"), *PSK_ARGS,
                            "-o", "OUT/injected.pcapng"], False),
    ("psk-keylog-check", ["keylog-check", str(PSK_DIR), "--keylog", str(PSK_KEYLOG), "-f", "csv"], False),
    ("psk-wrong-identity", ["connections", str(PSK_DIR), "--psk", "nobody=" + PSKS["psk-chacha20.pcap"]], False),
    ("psk-bad-hex", ["connections", str(PSK_DIR), "--psk", "client1=" + PSKS["psk-aes128-gcm.pcap"] + "zz"], False),
    ("psk-twice", ["connections", str(PSK_DIR), "--psk", PSKS["psk-chacha20.pcap"], "--psk", PSKS["psk-aes128-gcm.pcap"]], False),
    # error paths
    ("bad-keylog-lines", ["connections", *CAPS, "--keylog", "bad-keylog.txt", "--key", str(KEY)], False),
    ("only-bad-keylog-lines", ["summary", *CAPS, "--keylog", "only-bad-keylog.txt"], False),
    ("wrong-password", ["connections", *CAPS, "--key", "enc.key", "--key-password", "wrong-" + PASSWORD[:4]], False),
    ("missing-password", ["connections", *CAPS, "--key", "enc.key"], False),
    ("password-from-env", ["connections", *CAPS, "--key", "enc.key", "-f", "csv"], False),
    ("keylog-as-key", ["connections", *CAPS, "--key", str(KEYLOG)], False),
    ("key-as-keylog", ["connections", *CAPS, "--keylog", str(KEY)], False),
    ("key-as-capture", ["connections", str(KEY), str(KEYLOG), *K], False),
    ("keylog-without-key", ["keylog", *CAPS], False),
    ("missing-files", ["report", *CAPS, "--keylog", "nope.txt", "--key", "nope.key", "--out", "OUT/r2"], False),
    ("audit-bad-keylog-lines", ["audit", *CAPS, "--keylog", "bad-keylog.txt", "--fail-on", "never"], False),
    ("audit-wrong-password", ["audit", *CAPS, "--key", "enc.key", "--key-password", "wrong-" + PASSWORD[:4]], False),
    ("fingerprints-bad-keylog-lines", ["fingerprints", *CAPS, "--keylog", "only-bad-keylog.txt"], False),
    ("ladder-password-from-env", ["ladder", str(CAPTURES / "tls12-rsa.pcap"), "--key", "enc.key"], False),
    ("ladder-key-as-keylog", ["ladder", str(CAPTURES / "tls13-aes128.pcap"), "--keylog", str(KEY)], False),
]


MUST_RUN = {"keylog-check", "keylog-check-csv-file", "keylog-check-bad-lines", "inject-secrets",
            "inject-secrets-rsa-key", "inject-secrets-bad-lines", "psk-connections", "psk-report", "psk-summary",
            "psk-decrypt", "psk-keylog", "psk-inject-secrets", "psk-keylog-check", "psk-wrong-identity"}


@pytest.mark.parametrize("name,args,stdout_may_leak", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_no_key_material_in_any_output(work: Path, name: str, args: list[str], stdout_may_leak: bool) -> None:
    args = [a.replace("OUT/", str(work / "out") + "/") for a in args]
    r = run(args, work, password_env=PASSWORD if name.endswith("password-from-env") else None)
    assert r.returncode in (0, 1, 2), r.stderr.decode(errors="replace")[-2000:]
    if name in MUST_RUN:   # a usage error (exit 2) would make the greps below hollow
        assert r.returncode in (0, 1), r.stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in r.stderr, r.stderr.decode(errors="replace")[-2000:]
    assert leaks(r.stderr) == [], name
    if stdout_may_leak:
        assert leaks(r.stdout), "the keylog command prints the recovered secrets"
    else:
        assert leaks(r.stdout) == [], name
    for f in (p for p in (work / "out").rglob("*") if p.is_file()):
        if f.name in ("recovered.keylog", "injected.pcapng"):   # secrets are what these files are for
            assert leaks(f.read_bytes()) and (f.stat().st_mode & 0o777) == 0o600
            continue
        assert leaks(contents(f)) == [], (name, f.name)
        if "--key" in args or "--keylog" in args or "--psk" in args:  # written with key material: owner only
            assert not f.stat().st_mode & 0o077, (name, f.name, oct(f.stat().st_mode))


def test_error_paths_say_what_went_wrong_without_the_secret(work: Path) -> None:
    r = run(["connections", *CAPS, "--keylog", "bad-keylog.txt", "--key", str(KEY), "-f", "csv"], work)
    err = r.stderr.decode()
    assert r.returncode == 0
    assert "bad-keylog.txt line" in err and "not shown" in err and "fields" in err
    r = run(["connections", *CAPS, "--key", "enc.key", "--key-password", "nope"], work)
    assert r.returncode == 2 and "wrong or missing password" in r.stderr.decode()


def test_secrets_are_found_when_they_are_there() -> None:
    """The needles work: the key log itself and the key file are full of them."""
    assert leaks(KEYLOG.read_bytes()) and leaks(KEY.read_bytes())
    text, raw = needles()
    assert len(text) > 100 and len(raw) > 40
