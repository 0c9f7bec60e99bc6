"""The table schema, the writers and the command line, on the bundled captures."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import analyzer
from analyzer.report.table import COLUMN_NAMES, COLUMNS, LIST_COLUMNS, arrow_schema
from analyzer.report.writers import safe_text

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
MANIFEST = json.loads((CAPTURES / "MANIFEST.json").read_text())

REQUIRED = (
    "capture, stream, client_ip, client_port, server_ip, server_port, start_time, sni, alpn_offered, alpn, "
    "client_versions, version, cipher_suite, cipher_suite_code, group, session_id, server_session_id, "
    "ticket_offered, resumed, resumption, hrr, client_auth, cert_subject, cert_issuer, cert_not_after, "
    "cert_sha256, handshake_complete, failure, alert, alert_sender, alert_level, handshake_ms, first_frame"
).split(", ")


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, **kw)


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return analyzer.analyze([CAPTURES])


def test_required_columns_exist_in_order_of_schema(df):
    assert list(df.columns) == COLUMN_NAMES
    for col in REQUIRED:
        assert col in df.columns, col


def test_every_column_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z0-9_]+)` \| [^|]+ \| (.+) \|$", readme, flags=re.M))
    assert set(COLUMN_NAMES) <= set(documented), set(COLUMN_NAMES) - set(documented)
    for c in COLUMNS:
        assert documented[c.name] == c.doc, c.name


def test_rows_match_the_manifest(df):
    """Every connection the generator made is a row with the facts the ssl module reported."""
    for fname, info in MANIFEST["files"].items():
        rows = df[df.capture == fname]
        assert len(rows) == len(info["connections"]), fname
        for conn in info["connections"]:
            row = rows[rows.client_port == conn["client"][1]]
            assert len(row) == 1, (fname, conn["client"])
            r = row.iloc[0]
            assert r.stream == conn["stream"], (fname, conn["stream"])
            assert r.server_port == conn["server"][1]
            exp = conn.get("expected", conn)
            if exp.get("version"):
                assert r.version == exp["version"], (fname, conn["stream"])
            if exp.get("cipher"):
                assert r.cipher_suite == exp["cipher"], (fname, conn["stream"])
            if exp.get("sni") is not None:
                assert r.sni == exp["sni"]
            if exp.get("handshake_complete") is not None:
                assert bool(r.handshake_complete) == exp["handshake_complete"], (fname, conn["stream"])
            if exp.get("failure"):
                assert r.failure == exp["failure"], (fname, conn["stream"], r.failure)
            if exp.get("alert"):
                assert r.alert == exp["alert"]
            if exp.get("session_reused"):
                assert bool(r.resumed), (fname, conn["stream"])
            assert r.resumption == (exp.get("resumption") or "none"), (fname, conn["stream"])


def test_csv_lists_are_joined_and_parquet_keeps_lists(df, tmp_path):
    out = tmp_path / "c.csv"
    r = cli("connections", str(CAPTURES / "tls13-aes128.pcap"), "-f", "csv", "-o", str(out))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["alpn_offered"] == "h2;http/1.1"
    pq_out = tmp_path / "c.parquet"
    r = cli("connections", str(CAPTURES), "-f", "parquet", "-o", str(pq_out))
    assert r.returncode == 0, r.stderr
    table = pq.read_table(pq_out)
    assert table.schema.equals(arrow_schema())
    back = table.to_pandas()
    assert len(back) == len(df)
    row = back[back.capture == "tls13-aes128.pcap"].iloc[0]
    assert list(row.alpn_offered) == ["h2", "http/1.1"]


def test_json_and_jsonl_agree(tmp_path):
    r1 = cli("connections", str(CAPTURES / "tls12-rsa.pcap"), "-f", "json")
    r2 = cli("connections", str(CAPTURES / "tls12-rsa.pcap"), "-f", "jsonl")
    assert r1.returncode == r2.returncode == 0
    as_json = json.loads(r1.stdout)
    as_jsonl = [json.loads(line) for line in r2.stdout.splitlines()]
    assert as_json == as_jsonl and len(as_json) == 3
    for rec in as_json:
        for col in LIST_COLUMNS:
            assert isinstance(rec[col], list)
        assert rec["start_time"].startswith("2026-01-01T")


def test_default_run_uses_the_bundled_captures():
    r = cli("connections", "-f", "jsonl", "--quiet")
    assert r.returncode == 0, r.stderr
    caps = {json.loads(line)["capture"] for line in r.stdout.splitlines()}
    dtls = json.loads((CAPTURES / "dtls" / "MANIFEST.json").read_text())["files"]   # captures/dtls, recursively
    psk = json.loads((CAPTURES / "psk" / "MANIFEST.json").read_text())   # captures/psk/ is searched too
    upgrade = json.loads((CAPTURES / "upgrade" / "MANIFEST.json").read_text())
    openssl = {f["file"] for f in json.loads((CAPTURES / "upgrade" / "openssl.json").read_text())["files"].values()}
    resumption = json.loads((CAPTURES / "resumption" / "MANIFEST.json").read_text())["files"]
    assert caps == (set(MANIFEST["files"]) | set(upgrade["files"]) | openssl | set(psk["files"]) | set(dtls)
                    | set(resumption))  # captures/ is read recursively


def test_table_format_prints_rows():
    r = cli("connections", str(CAPTURES / "tls-no-shared-cipher.pcap"))
    assert r.returncode == 0
    assert "handshake_failure" in r.stdout and "server" in r.stdout


def test_bad_inputs_give_one_line_errors_and_exit_codes(tmp_path):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all" * 10)
    r = cli("connections", str(junk))
    assert r.returncode == 2
    assert "junk.pcap" in r.stderr and "Traceback" not in r.stderr
    # one good, one bad: rows of the good one, exit 1
    r = cli("connections", str(junk), str(CAPTURES / "tls13-aes128.pcap"), "-f", "jsonl")
    assert r.returncode == 1 and len(r.stdout.splitlines()) == 1
    r = cli("connections", str(tmp_path / "missing.pcap"))
    assert r.returncode == 2 and "no such file" in r.stderr
    r = cli("connections", str(CAPTURES), "-f", "xml")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_truncated_file_keeps_rows_and_warns(tmp_path):
    data = (CAPTURES / "tls12-rsa.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 700])
    r = cli("connections", str(cut), "-f", "jsonl")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 3
    assert "warning" in r.stderr and "cut.pcap" in r.stderr and "Traceback" not in r.stderr


def test_help_lists_options():
    r = cli("connections", "--help")
    assert r.returncode == 0
    for opt in ("--format", "--output", "--tls-only", "--quiet"):
        assert opt in r.stdout


def test_python_m_and_entry_point_are_the_same_program():
    r = subprocess.run(["handshake-analyzer", "--version"], capture_output=True, text=True)
    r2 = cli("--version")
    # the core in parentheses may differ: the entry point may run another (un)compiled copy
    assert r.stdout.split()[:2] == r2.stdout.split()[:2] and "handshake-analyzer" in r.stdout


def test_safe_text_neutralises_terminal_escapes():
    assert safe_text("evil\x1b[31mred\x07") == "evil\\x1b[31mred\\x07"
    assert "\\[bold]" in safe_text("[bold]x")
