"""`keylog-check`: key logs checked against the bundled captures (their real key log, cut, foreign, damaged)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
MAIN = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))   # not captures/psk/
KEYLOG = CAPTURES / "keylog.txt"
MANIFEST = json.loads((CAPTURES / "MANIFEST.json").read_text())
TLS13_NEEDED = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", "keylog-check", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def check(captures: list[Path], keylog: Path) -> tuple[int, list[dict]]:
    r = cli(*map(str, captures), "--keylog", str(keylog), "-f", "jsonl", "-q")
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, [json.loads(line) for line in r.stdout.splitlines()]


def keylog_entries() -> list[tuple[int, str, str]]:
    """(line number, label, client random) of every line of the bundled key log."""
    out = []
    for n, line in enumerate(KEYLOG.read_text().splitlines(), 1):
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            out.append((n, parts[0], parts[1]))
    return out


def manifest_random(capture: str, stream: int) -> str:
    return next(c["client_random"] for c in MANIFEST["files"][capture]["connections"] if c["stream"] == stream)


def of(records: list[dict], kind: str) -> list[dict]:
    return [r for r in records if r["kind"] == kind]


def conn(records: list[dict], capture: str, stream: int) -> dict:
    return next(r for r in of(records, "connection") if r["capture"] == capture and r["stream"] == stream)


def test_complete_key_log_every_connection_decryptable() -> None:
    rc, records = check(MAIN, KEYLOG)
    assert rc == 0
    conns = of(records, "connection")
    expected = sum(1 for f in MANIFEST["files"].values() for c in f["connections"]
                   if c.get("client_random"))
    assert len(conns) == expected   # every connection with a ClientHello (not-tls.pcap has none)
    for c in conns:
        assert c["verdict"] in ("ok", "nothing_to_decrypt"), c
        if c["verdict"] == "ok":
            assert c["missing"] == [] and c["decryption"] == "ok"
            assert c["client_random"] == manifest_random(c["capture"], c["stream"])
            entry = MANIFEST["files"][c["capture"]]["connections"]
            labels = next(x["keylog_labels"] for x in entry if x["stream"] == c["stream"])
            assert set(c["needed"]) <= set(labels) | {"CLIENT_RANDOM"}
            # the lines it names are the key log's lines with its client random
            lines = {n for n, _label, cr in keylog_entries() if cr == c["client_random"]}
            assert {int(w.rsplit(":", 1)[1]) for w in c["keylog_lines"]} >= lines
    # every line of the key log belongs to a connection of the bundled captures
    assert of(records, "unmatched") == [] and of(records, "cause") == []
    reset = conn(records, "tls-reset.pcap", 0)
    assert reset["verdict"] == "nothing_to_decrypt"   # reset before any protected record


def test_lines_removed_names_the_missing_labels(tmp_path: Path) -> None:
    cr13 = manifest_random("tls13-aes128.pcap", 0)
    cr12 = manifest_random("tls12-ecdhe.pcap", 0)
    drop = {("CLIENT_TRAFFIC_SECRET_0", cr13), ("SERVER_HANDSHAKE_TRAFFIC_SECRET", cr13), ("CLIENT_RANDOM", cr12)}
    kept = [ln for ln in KEYLOG.read_text().splitlines() if tuple(ln.split()[:2]) not in drop]
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(kept) + "\n")
    rc, records = check([CAPTURES / "tls13-aes128.pcap", CAPTURES / "tls12-ecdhe.pcap"], cut)
    assert rc == 1
    c13 = conn(records, "tls13-aes128.pcap", 0)
    assert c13["verdict"] == "missing_secrets"
    assert sorted(c13["missing"]) == ["CLIENT_TRAFFIC_SECRET_0", "SERVER_HANDSHAKE_TRAFFIC_SECRET"]
    assert set(c13["present"]) == TLS13_NEEDED - set(c13["missing"])
    c12 = conn(records, "tls12-ecdhe.pcap", 0)
    assert c12["verdict"] == "missing_secrets" and c12["missing"] == ["CLIENT_RANDOM"] and c12["keylog_lines"] == []
    assert conn(records, "tls12-ecdhe.pcap", 1)["verdict"] == "ok"
    causes = " ".join(r["detail"] for r in of(records, "cause"))
    assert "some of their secrets but not all" in causes and "no key log line at all" in causes
    # the table says the same
    r = cli(str(CAPTURES / "tls13-aes128.pcap"), "--keylog", str(cut))
    assert r.returncode == 1 and "SERVER_HANDSHAKE_TRAFFIC_SECRET" in r.stdout and "missing_secrets" in r.stdout


def test_foreign_key_log_all_lines_unmatched(tmp_path: Path) -> None:
    """The key log of the other captures, checked against tls13-aes128.pcap: nothing in common."""
    cr = manifest_random("tls13-aes128.pcap", 0)
    lines = KEYLOG.read_text().splitlines()
    foreign = [ln for ln in lines if ln.startswith("#") or ln.split()[1] != cr]
    path = tmp_path / "other.txt"
    path.write_text("\n".join(foreign) + "\n")
    rc, records = check([CAPTURES / "tls13-aes128.pcap"], path)
    assert rc == 1
    c = conn(records, "tls13-aes128.pcap", 0)
    assert c["verdict"] == "missing_secrets" and set(c["missing"]) == TLS13_NEEDED
    unmatched = of(records, "unmatched")
    assert len(unmatched) == len(foreign) - 1   # all but the comment line
    assert sorted(u["line"] for u in unmatched) == list(range(2, len(foreign) + 1))
    assert all(u["keylog"] == str(path) for u in unmatched)
    causes = [r["detail"] for r in of(records, "cause")]
    assert len(causes) == 1 and "written for another capture" in causes[0]


def test_tls12_only_client(tmp_path: Path) -> None:
    """A client that logs CLIENT_RANDOM only: the TLS 1.2 connections are fine, TLS 1.3 lacks all."""
    only12 = [ln for ln in KEYLOG.read_text().splitlines() if ln.startswith(("CLIENT_RANDOM", "RSA"))]
    path = tmp_path / "tls12-only.txt"
    path.write_text("\n".join(only12) + "\n")
    rc, records = check(MAIN, path)
    assert rc == 1
    for c in of(records, "connection"):
        if c["verdict"] == "missing_secrets":
            assert c["version"] == "TLS 1.3" and set(c["missing"]) == TLS13_NEEDED, c
        elif c["version"] == "TLS 1.2":
            assert c["verdict"] in ("ok", "nothing_to_decrypt")
    assert any(c["verdict"] == "missing_secrets" for c in of(records, "connection"))
    causes = " ".join(r["detail"] for r in of(records, "cause"))
    assert "logs only TLS 1.2 secrets" in causes


def test_duplicates_conflicts_malformed_with_line_numbers(tmp_path: Path) -> None:
    lines = KEYLOG.read_text().splitlines()
    cr = manifest_random("tls12-ecdhe.pcap", 1)
    first = next(i for i, ln in enumerate(lines) if ln.startswith(f"CLIENT_RANDOM {cr}"))
    label, ident, secret = lines[first].split()
    wrong = format(int(secret, 16) ^ 1, "0{}x".format(len(secret)))
    extra = [
        lines[first],                        # duplicate
        f"{label} {ident} {wrong}",          # conflict: another secret for the same client random
        f"CLIENT_RANDOM {ident}",            # malformed: two fields
        f"NOT_A_LABEL {ident} {secret}",     # malformed: unknown label
        f"CLIENT_RANDOM {ident} zz{secret[2:]}",   # malformed: not hex
    ]
    path = tmp_path / "damaged.txt"
    path.write_text("\n".join(lines + extra) + "\n")
    n = len(lines)
    rc, records = check([CAPTURES / "tls12-ecdhe.pcap"], path)
    assert rc == 1   # the later, wrong line is the one used: the connection does not decrypt
    dup = of(records, "duplicate")
    assert [(d["line"], d["label"], d["client_random"]) for d in dup] == [(n + 1, "CLIENT_RANDOM", cr)]
    assert f":{first + 1}" in dup[0]["detail"]
    con = of(records, "conflict")
    assert [(c["line"], c["client_random"]) for c in con] == [(n + 2, cr)] and f":{first + 1}" in con[0]["detail"]
    bad = of(records, "malformed")
    assert [b["line"] for b in bad] == [n + 3, n + 4, n + 5]
    assert "fields" in bad[0]["detail"] and "unknown label" in bad[1]["detail"] and "hexadecimal" in bad[2]["detail"]
    c = conn(records, "tls12-ecdhe.pcap", 1)
    assert c["verdict"] == "failed" and c["decryption"] in ("key_mismatch", "bad_record_mac")
    assert "conflicting lines" in " ".join(r["detail"] for r in of(records, "cause"))
    # no secret in any output, in any format (the wrong one neither)
    for fmt in ("table", "csv", "jsonl"):
        r = cli(str(CAPTURES / "tls12-ecdhe.pcap"), "--keylog", str(path), "-f", fmt)
        assert secret not in r.stdout and wrong not in r.stdout and secret[:24] not in r.stdout + r.stderr
        assert r.returncode == 1


def test_csv_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "check.csv"
    r = cli(str(CAPTURES / "tls12-rsa.pcap"), "--keylog", str(KEYLOG), "-f", "csv", "-o", str(out))
    assert r.returncode == 0 and r.stdout == ""
    assert (out.stat().st_mode & 0o777) == 0o600
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    conns = [x for x in rows if x["kind"] == "connection"]
    assert len(conns) == 3 and all(x["verdict"] == "ok" for x in conns)
    # RSA key exchange: the CLIENT_RANDOM and the RSA line of each connection are its lines
    rsa_lines = {n for n, label, _ in keylog_entries() if label == "RSA"}
    named = {int(w.rsplit(":", 1)[1]) for x in conns for w in x["keylog_lines"].split(";")}
    assert len(named & rsa_lines) == 3
    unmatched = [x for x in rows if x["kind"] == "unmatched"]
    assert len(unmatched) == len(keylog_entries()) - len(named)


def test_usage_errors() -> None:
    assert cli(str(CAPTURES / "tls12-rsa.pcap"), "--keylog", "nope.txt").returncode == 2
    assert cli(str(CAPTURES / "tls12-rsa.pcap"), "--keylog", str(KEYLOG), "-f", "xml").returncode == 2
    assert cli("nope.pcap", "--keylog", str(KEYLOG)).returncode == 2
    assert cli(str(CAPTURES / "tls12-rsa.pcap")).returncode == 2   # --keylog is required


SHARED = ROOT.parent / "shared" / "captures"
DRAFT19 = SHARED / "suricata" / "tls13-draft19" / "tls13_draft19.pcap"


@pytest.mark.skipif(not DRAFT19.exists(), reason="shared capture missing")
def test_early_data_offered_needs_the_early_traffic_secret() -> None:
    """Suricata's TLS 1.3 draft-19 capture: two of its connections offer 0-RTT (early_data extension)."""
    import analyzer

    offered = {int(r.stream): bool(r.early_data_offered) for r in analyzer.analyze([DRAFT19]).itertuples()
               if r.is_tls}
    assert any(offered.values()) and not all(offered.values())
    rc, records = check([DRAFT19], KEYLOG)
    assert rc == 1
    for c in of(records, "connection"):
        assert set(c["needed"]) >= TLS13_NEEDED
        assert ("CLIENT_EARLY_TRAFFIC_SECRET" in c["needed"]) == offered[c["stream"]]
        assert set(c["missing"]) == set(c["needed"])


def test_secrets_of_the_captures_own_block_count(tmp_path: Path) -> None:
    """tls-mixed.pcapng carries its key log in a Decryption Secrets Block: no key log line is needed."""
    lines = [ln for ln in KEYLOG.read_text().splitlines() if ln.startswith("#") or
             ln.split()[1] != manifest_random("tls13-aes128.pcap", 0)]
    own = {manifest_random("tls-mixed.pcapng", s) for s in (0, 1, 2)}
    other = tmp_path / "other.txt"
    other.write_text("\n".join(ln for ln in lines if ln.startswith("#")   # its RSA lines out too
                               or (ln.split()[1] not in own and not ln.startswith("RSA "))) + "\n")
    rc, records = check([CAPTURES / "tls-mixed.pcapng"], other)
    assert rc == 0
    for c in of(records, "connection"):
        assert c["verdict"] == "ok" and c["keylog_lines"] == [] and "Decryption Secrets Block" in c["detail"]
    assert of(records, "unmatched") and of(records, "cause") == []
