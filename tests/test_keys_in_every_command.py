"""Key material in every command that analyses: audit, report, summary, fingerprints, ladder.

Owns the tests that `--keylog`/`--key`/`--key-password` work the same in every command
(one option definition and one key-loading path in `analyzer.cli`), so that TLS 1.3
certificates seen after decryption reach the certificate rules, the report's certificate
panel, JA4X and the ladder; and that `audit` says on how many TLS 1.3 connections the
certificate rules were skipped because the certificate stayed encrypted, a number checked
against tshark 4.0 (TLS 1.3 ServerHellos without pre_shared_key whose connection shows no
Certificate, tshark reading the same files with only their pcapng secrets).
Real bytes: the bundled captures and captures/keylog.txt.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from analyzer.cli import app

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
KEYLOG = CAPTURES / "keylog.txt"
KEY = CAPTURES / "server.key"
TLS13 = CAPTURES / "tls13-aes128.pcap"
TSHARK = os.environ.get("TSHARK", "/usr/bin/tshark")
SKIPPED = re.compile(r"cert rules skipped on (\d+) TLS 1\.3 connections without keys")
KEYS = ["--keylog", str(KEYLOG)]
# the top-level sample captures, whose key log is KEYLOG (the subfolders have key logs of their own)
TOP = [str(p) for p in sorted(CAPTURES.glob("*.pcap*"))]


def cli(*args: str) -> "object":
    res = CliRunner().invoke(app, list(args))
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's own example tuning: RSA keys below 3072 bits are weak. The bundled server
    certificate has a 2048-bit RSA key, so the rule fires wherever the certificate is seen."""
    p = tmp_path_factory.mktemp("policy") / "policy.toml"
    p.write_text("[rules.cert-weak-rsa-key]\nmin_bits = 3072\n")
    return p


def findings(out: str) -> set[tuple[str, int]]:
    return {(f["capture"], f["stream"]) for f in map(json.loads, out.splitlines()) if f["rule"] == "cert-weak-rsa-key"}


def tshark_unseen_tls13_certificates() -> int:
    """TLS 1.3 full handshakes (ServerHello supported_version 0x0304, no pre_shared_key) in the bundled
    captures where tshark, with only the files' own pcapng secrets, decodes no Certificate."""
    total = 0
    for cap in sorted(CAPTURES.glob("*.pcap*")):
        out = subprocess.run(
            [TSHARK, "-n", "-r", str(cap), "-o", "tcp.reassemble_out_of_order:TRUE", "-Y", "tls.handshake",
             "-T", "fields", "-E", "separator=\t", "-E", "aggregator=|", "-e", "tcp.stream", "-e", "tls.handshake.type",
             "-e", "tls.handshake.extensions.supported_version", "-e", "tls.handshake.extension.type"],
            capture_output=True, text=True, timeout=120, check=True).stdout
        tls13: set[str] = set()
        certs: set[str] = set()
        for line in out.splitlines():
            stream, types, versions, exts = (line.split("\t") + [""] * 4)[:4]
            types_l = types.split("|")
            if "2" in types_l and "0x0304" in versions.split("|") and "41" not in exts.split("|"):
                tls13.add(stream)
            if "11" in types_l or "25" in types_l:
                certs.add(stream)
        total += len(tls13 - certs)
    return total


# --------------------------------------------------------------------------- audit

def test_audit_without_keys_says_how_many_tls13_connections_skipped_the_cert_rules(policy: Path) -> None:
    res = cli("audit", "-p", str(policy), "-f", "jsonl", "--fail-on", "never", *TOP)
    assert res.exit_code == 0, res.output
    m = SKIPPED.search(res.stderr)
    assert m, res.stderr
    n = int(m.group(1))
    assert n > 0
    if shutil.which(TSHARK):
        assert n == tshark_unseen_tls13_certificates()
    # no cert finding on a TLS 1.3 connection whose certificate stayed encrypted
    assert (TLS13.name, 0) not in findings(res.stdout)


def test_audit_with_keylog_runs_the_cert_rules_on_tls13(policy: Path) -> None:
    without = cli("audit", "-p", str(policy), "-f", "jsonl", "--fail-on", "never", *TOP)
    res = cli("audit", "-p", str(policy), "-f", "jsonl", "--fail-on", "never", *KEYS, *TOP)
    assert res.exit_code == 0, res.output
    assert not SKIPPED.search(res.stderr), res.stderr    # every TLS 1.3 certificate was seen
    got, before = findings(res.stdout), findings(without.stdout)
    assert before < got
    # exactly the TLS 1.3 connections that showed an RSA certificate only once decrypted
    rows = [json.loads(x) for x in cli("connections", "-q", "-f", "jsonl", "--tls-only", *KEYS, *TOP).stdout.splitlines()]
    rsa13 = {(r["capture"], r["stream"]) for r in rows if r["version"] == "TLS 1.3" and r["cert_key_type"] == "RSA"}
    assert got - before == rsa13 - before and (TLS13.name, 0) in got - before
    assert int(SKIPPED.search(without.stderr).group(1)) == len(got - before)


def test_audit_keys_in_worker_processes(policy: Path) -> None:
    """--jobs 2 sends the key material to worker processes: the same findings, nothing skipped."""
    one = cli("audit", "-p", str(policy), "-f", "jsonl", "--fail-on", "never", "--jobs", "1", *KEYS, *TOP)
    two = cli("audit", "-p", str(policy), "-f", "jsonl", "--fail-on", "never", "--jobs", "2", *KEYS, *TOP)
    assert one.stdout == two.stdout and not SKIPPED.search(two.stderr)


def test_audit_skip_line_only_when_cert_rules_are_on(tmp_path: Path) -> None:
    p = tmp_path / "no-cert-rules.toml"
    p.write_text("[rules]\n" + "".join(f'{r} = "off"\n' for r in (
        "cert-expired", "cert-not-yet-valid", "cert-self-signed", "cert-weak-rsa-key", "cert-weak-ec-key",
        "cert-sha1-signature", "cert-md5-signature", "cert-name-mismatch")))
    res = cli("audit", "-p", str(p), "--fail-on", "never", str(TLS13))
    assert res.exit_code == 0 and "audit: 1 TLS connections" in res.stderr and not SKIPPED.search(res.stderr)
    res = cli("audit", "--fail-on", "never", str(TLS13))
    assert SKIPPED.search(res.stderr).group(1) == "1"


def test_audit_with_an_rsa_key_and_password(tmp_path: Path, policy: Path) -> None:
    """--key and --key-password are accepted as by connections; an RSA key cannot decrypt TLS 1.3
    (dhe_needs_keylog), so the certificate stays encrypted and the skip is still reported."""
    enc = serialization.load_pem_private_key(KEY.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw"))
    (tmp_path / "enc.key").write_bytes(enc)
    res = cli("audit", "-p", str(policy), "-f", "jsonl", "--fail-on", "never", "--key", str(tmp_path / "enc.key"),
              "--key-password", "pw", str(TLS13), str(CAPTURES / "tls12-rsa.pcap"))
    assert res.exit_code == 0, res.output
    assert SKIPPED.search(res.stderr).group(1) == "1"
    assert findings(res.stdout) == {("tls12-rsa.pcap", 0), ("tls12-rsa.pcap", 1), ("tls12-rsa.pcap", 2)}
    bad = cli("audit", "--key", str(tmp_path / "enc.key"), "--key-password", "wrong", str(TLS13))
    assert bad.exit_code == 2 and "password" in bad.stderr


# --------------------------------------------------------------------------- report, summary, fingerprints, ladder

def test_report_shows_the_tls13_certificate_with_keys(tmp_path: Path) -> None:
    for name, extra in (("plain", []), ("keys", KEYS)):
        res = cli("report", "-q", "-o", str(tmp_path / name), *extra, str(TLS13))
        assert res.exit_code == 0, res.output
    plain = (tmp_path / "plain" / "index.html").read_text()
    keyed = (tmp_path / "keys" / "index.html").read_text()
    assert "encrypted in TLS 1.3" in plain and "CN=server.test" not in plain
    assert "CN=server.test" in keyed and "encrypted in TLS 1.3" not in keyed
    (row,) = [json.loads(x) for x in (tmp_path / "keys" / "connections.jsonl").read_text().splitlines()]
    assert row["cert_subject"].startswith("CN=server.test") and row["decryption"] == "ok"


def test_summary_decrypts_with_keys() -> None:
    """The TLS 1.3 ALPN is in EncryptedExtensions: the ALPN table shows h2 only with keys."""
    def alpn_and_captures(out: str) -> tuple[str, str]:
        return out.split("ALPN", 1)[1].split("Resumption", 1)[0], out.split("Versions", 1)[0]

    plain = cli("summary", "-q", str(TLS13))
    keyed = cli("summary", "-q", *KEYS, str(TLS13))
    assert plain.exit_code == keyed.exit_code == 0
    alpn, caps = alpn_and_captures(plain.stdout)
    assert "h2" not in alpn and "(none)" in alpn
    assert re.search(r"│ not_attempted +│ +1 │", plain.stdout.split("Decryption", 1)[1])
    alpn, caps = alpn_and_captures(keyed.stdout)
    assert re.search(r"│ h2 +│ +1 │", alpn), alpn
    assert re.search(r"tls13-aes128\.pcap +│ +1 │ +1 │ +1 │ +0 │ +0 │ +0 │ +1 │", caps), caps   # decrypted 1
    assert re.search(r"│ ok +│ +1 │", keyed.stdout.split("Decryption", 1)[1])


def test_fingerprints_show_the_tls13_ja4x_with_keys() -> None:
    plain = cli("fingerprints", "-q", "-f", "jsonl", "-k", "ja4x", str(TLS13))
    keyed = cli("fingerprints", "-q", "-f", "jsonl", "-k", "ja4x", *KEYS, str(TLS13))
    assert plain.exit_code == keyed.exit_code == 0
    assert plain.stdout.strip() == ""
    rows = [json.loads(x) for x in keyed.stdout.splitlines()]
    rows_conn = [json.loads(x) for x in cli("connections", "-q", "-f", "jsonl", *KEYS, str(TLS13)).stdout.splitlines()]
    assert {r["fingerprint"] for r in rows} == set(rows_conn[0]["ja4x"]) and rows_conn[0]["ja4x"]
    assert all(r["kind"] == "ja4x" and r["snis"] == ["server.test"] for r in rows)


def test_ladder_shows_the_decrypted_handshake_with_keys() -> None:
    plain = cli("ladder", "-q", str(TLS13))
    keyed = cli("ladder", "-q", *KEYS, "--stream", "0", str(TLS13))
    assert plain.exit_code == keyed.exit_code == 0
    assert "Encrypted handshake" in plain.stdout and "Certificate (" not in plain.stdout
    assert "Certificate (" in keyed.stdout and "EncryptedExtensions" in keyed.stdout
    assert "Encrypted handshake" not in keyed.stdout


def test_every_analysing_command_takes_the_same_key_options() -> None:
    for command in ("connections", "audit", "report", "summary", "fingerprints", "ladder"):
        out = cli(command, "--help").stdout
        for opt in ("--keylog", "--key ", "--key-password"):
            assert opt.strip() in out, (command, opt)
    missing = cli("fingerprints", "--keylog", "no-such-keylog.txt", str(TLS13))
    assert missing.exit_code == 2 and "no-such-keylog.txt" in missing.stderr
