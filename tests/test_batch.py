"""Batch runs: the same rows with --jobs 1, --jobs 2 and a Dask LocalCluster; the --out
dataset and its manifest; kill-and-resume without duplicates; corrupt files as error rows."""

from __future__ import annotations

import gzip
import logging
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer.batch import MANIFEST, BatchOptions, read_dataset, run_batch
from analyzer.inputs import bundled_captures_dir, expand_inputs
from analyzer.report.table import TableBuilder

CAPTURES = bundled_captures_dir()


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def folder(tmp_path_factory) -> Path:
    """56 captures (copies of the bundled ones, some gzipped, in nested folders) and one corrupt file."""
    root = tmp_path_factory.mktemp("batch") / "in"
    src = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))
    n = 0
    for copy in range(4):
        d = root / f"set{copy}" / ("deep" if copy % 2 else "")
        d.mkdir(parents=True, exist_ok=True)
        for p in src:
            if copy == 3 and n % 3 == 0:
                (d / (p.name + ".gz")).write_bytes(gzip.compress(p.read_bytes()))
            else:
                shutil.copy(p, d / p.name)
            n += 1
    (root / "zz-corrupt.pcap").write_bytes(b"this is not a capture at all" * 10)
    assert len(expand_inputs([root])[0]) >= 51
    return root


def _dataset_records(out: Path) -> list[str]:
    df = read_dataset(out)
    return sorted(df.astype(str).to_json(orient="records", lines=True).splitlines())


def test_jobs_1_jobs_2_and_dask_give_the_same_rows(folder, tmp_path):
    runs = {}
    for label, extra in (("j1", ["-j", "1"]), ("j2", ["-j", "2"])):
        r = cli("connections", str(folder), "-f", "jsonl", "-q", "--out", str(tmp_path / label), *extra)
        assert r.returncode == 1, r.stderr  # the corrupt file
        assert "zz-corrupt.pcap" in r.stderr and "Traceback" not in r.stderr
        runs[label] = r.stdout
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.WARNING) as cluster:
        r = cli("connections", str(folder), "-f", "jsonl", "-q", "--out", str(tmp_path / "dask"),
                "--scheduler", cluster.scheduler_address)
        assert r.returncode == 1, r.stderr
        runs["dask"] = r.stdout
        a = cli("audit", str(folder / "set0"), "-f", "jsonl", "-q", "--scheduler", cluster.scheduler_address)
    assert runs["j1"] == runs["j2"] == runs["dask"]
    lines = runs["j1"].splitlines()
    assert len(lines) > 100
    # the sequential path (no --out, one process) gives the same rows too
    assert cli("connections", str(folder), "-f", "jsonl", "-q", "-j", "1").stdout == runs["j1"]
    # the datasets agree, and the corrupt file is an error row there
    recs = {k: _dataset_records(tmp_path / k) for k in ("j1", "j2", "dask")}
    assert recs["j1"] == recs["j2"] == recs["dask"]
    df = read_dataset(tmp_path / "j1")
    bad = df[df["capture"] == "zz-corrupt.pcap"]
    assert len(bad) == 1 and "zz-corrupt.pcap" in bad.iloc[0]["errors"][0]
    assert len(df) == len(lines) + 1
    # audit on the cluster agrees with the local audit
    b = cli("audit", str(folder / "set0"), "-f", "jsonl", "-q", "-j", "1")
    assert a.returncode == b.returncode == 1 and a.stdout == b.stdout and a.stdout


def test_manifest_records_size_and_mtime(folder, tmp_path):
    out = tmp_path / "o"
    r = cli("connections", str(folder / "set0"), "-f", "csv", "-q", "-j", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    recs = [json.loads(x) for x in (out / MANIFEST).read_text().splitlines()]
    files = expand_inputs([folder / "set0"])[0]
    assert sorted(x["path"] for x in recs) == sorted(str(f.resolve()) for f in files)
    for x in recs:
        st = os.stat(x["path"])
        assert x["size"] == st.st_size and x["mtime_ns"] == st.st_mtime_ns and x["error"] is None
    # a second run into the same folder without --resume is refused
    r = cli("connections", str(folder / "set0"), "-q", "--out", str(out))
    assert r.returncode == 2 and "--resume" in r.stderr


class Boom(Exception):
    pass


class StopAfter:
    """A row sink that dies after rows of `n` files: a crash in the middle of a batch."""

    def __init__(self, n_rows: int) -> None:
        self.n = n_rows

    def add_row(self, row) -> None:
        self.n -= 1
        if self.n < 0:
            raise Boom


def test_interrupted_batch_resumes_to_exactly_the_same_rows(folder, tmp_path):
    files, _ = expand_inputs([folder])
    full = tmp_path / "full"
    res = run_batch(files, None, batch=BatchOptions(jobs=1, out=full))
    assert res.files_failed == 1
    part = tmp_path / "part"
    with pytest.raises(Boom):
        run_batch(files, StopAfter(40), batch=BatchOptions(jobs=1, out=part))
    done = (part / MANIFEST).read_text().splitlines()
    assert 0 < len(done) < len(files)
    with open(part / MANIFEST, "a") as f:
        f.write('{"path": "/torn/by/a/cra')  # a line torn by a crash
    with pytest.raises(Exception):
        run_batch(files, None, batch=BatchOptions(jobs=1, out=part))  # needs --resume
    builder = TableBuilder()
    res = run_batch(files, builder, batch=BatchOptions(jobs=2, out=part, resume=True))
    assert res.files_skipped == len(done) and res.files_ok + res.files_failed == len(files)
    assert _dataset_records(part) == _dataset_records(full)
    # the rows handed back on resume (read from the dataset for skipped files) are the full table
    ref = TableBuilder()
    run_batch(files, ref, batch=BatchOptions(jobs=1))
    assert builder.table().rows == ref.table().rows


def test_killed_cli_batch_resumes_without_duplicates(folder, tmp_path):
    full = cli("connections", str(folder), "-f", "jsonl", "-q", "-j", "1")
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "analyzer", "connections", str(folder), "-q", "-j", "1",
                             "-f", "csv", "-o", os.devnull, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / MANIFEST
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if manifest.exists() and len(manifest.read_text().splitlines()) >= 8:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    r = cli("connections", str(folder), "-f", "jsonl", "-q", "-j", "2", "--out", str(out), "--resume")
    assert r.returncode == 1, r.stderr
    assert r.stdout == full.stdout
    ref = tmp_path / "ref"
    cli("connections", str(folder), "-q", "-j", "2", "-f", "csv", "-o", os.devnull, "--out", str(ref))
    assert _dataset_records(out) == _dataset_records(ref)
    lines = [json.loads(x) for x in manifest.read_text().splitlines()]
    assert len({x["path"] for x in lines}) == len(lines) == len(expand_inputs([folder])[0])


def test_unmatched_rsa_key_is_reported_with_jobs_too(tmp_path):
    """Worker processes report which RSA keys matched a certificate; the parent warns about
    the others exactly as a one-process run does."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = tmp_path / "other.key"
    other.write_bytes(rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    folder = tmp_path / "in"
    folder.mkdir()
    for p in sorted(CAPTURES.glob("*.pcap")):
        shutil.copy(p, folder / p.name)
    for jobs in ("1", "2"):
        r = cli("connections", str(folder), "-f", "csv", "-o", str(tmp_path / f"out{jobs}.csv"),
                "--key", str(CAPTURES / "server.key"), "--key", str(other), "-j", jobs)
        assert r.returncode == 0, r.stderr
        assert f"RSA key {other} matched no server certificate" in r.stderr, (jobs, r.stderr)
        assert "server.key matched no" not in r.stderr, (jobs, r.stderr)
