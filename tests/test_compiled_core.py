"""The compiled core and the pure-Python core: the same rows, byte for byte, and the choice.

The differential part runs `python -m analyzer connections` twice on the bundled captures
(`captures/`, subfolders included) and on every shared capture (`../shared/captures`: FoxIO
JA4, Suricata, DTLS, post-quantum), once as built and once with `HANDSHAKE_ANALYZER_PURE=1`,
and asserts identical CSV output; also with the bundled key log and server key (decryption), and
on the benchmark captures (`benchmarks/make_captures.py`, made smaller in a temporary folder:
6,000 handshakes in 40 MB and 200 bulk transfers in 100 MB, both large enough to be read in two
parts with `--jobs 2`, and read with one job too; the full-size ones in `benchmarks/out/` as
well when `HANDSHAKE_ANALYZER_FULL_BENCHMARKS=1` is set, as they take a minute).
It needs the compiled core (`pip install -e .` with a C compiler; `.ci/run` checks that
`--version` says compiled before the suite runs). The choice itself (`analyzer._core`) is
tested without building anything: a missing or stale extension module, or the variable, makes
every listed module load from its `.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer import _core
from analyzer.parts import MIN_SPLIT_BYTES

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(__file__).resolve().parents[2] / "shared" / "captures"
TIMEOUT = 600
BENCHMARKS = ROOT / "benchmarks"
#: The benchmark captures and the scale they are made at here: each above analyzer.parts.MIN_SPLIT_BYTES.
BENCHMARK_SCALES = {"handshake-heavy": 0.3, "bulk-heavy": 0.1}
BENCHMARK_CAPTURES = tuple(BENCHMARK_SCALES)
#: Set to 1 to compare the cores on the full-size benchmark captures in benchmarks/out as well.
FULL_BENCHMARKS_ENV = "HANDSHAKE_ANALYZER_FULL_BENCHMARKS"

needs_compiled = pytest.mark.skipif(
    not _core.COMPILED and os.environ.get(_core.PURE_ENV) != "1",
    reason=f"compiled core not built: {_core.WHY_PURE}")


def _env(pure: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(_core.PURE_ENV, None)
    if pure:
        env[_core.PURE_ENV] = "1"
    return env


def _analyze(args: list[str], pure: bool, out: Path, jobs: int = 1) -> bytes:
    res = subprocess.run([sys.executable, "-m", "analyzer", "connections", *args, "-f", "csv", "-o", str(out),
                          "--quiet", "--jobs", str(jobs)], cwd=ROOT, env=_env(pure), capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert res.returncode in (0, 1), res.stderr
    return out.read_bytes()


def _version(pure: bool) -> str:
    res = subprocess.run([sys.executable, "-m", "analyzer", "--version"], cwd=ROOT, env=_env(pure),
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _inputs() -> list[str]:
    paths = [str(ROOT / "captures")]
    if SHARED.is_dir():
        paths.append(str(SHARED))
    return paths


@pytest.mark.skipif(os.environ.get(_core.PURE_ENV) == "1", reason="this run forces the pure core")
@needs_compiled
@pytest.mark.parametrize("keys", [False, True], ids=["plain", "keylog+key"])
def test_compiled_and_pure_rows_are_byte_identical(tmp_path: Path, keys: bool) -> None:
    args = _inputs()
    if keys:
        args += ["--keylog", str(ROOT / "captures" / "keylog.txt"), "--key", str(ROOT / "captures" / "server.key")]
    compiled = _analyze(args, False, tmp_path / "compiled.csv")
    pure = _analyze(args, True, tmp_path / "pure.csv")
    assert compiled.count(b"\n") > 60  # every bundled and shared capture's connections
    assert compiled == pure


@pytest.fixture(scope="module")
def small_benchmarks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark captures, smaller (BENCHMARK_SCALES; a few seconds to make)."""
    out = tmp_path_factory.mktemp("benchmarks")
    for name, scale in BENCHMARK_SCALES.items():
        res = subprocess.run([sys.executable, str(BENCHMARKS / "make_captures.py"), "--scale", str(scale),
                              "--only", name, "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                             timeout=TIMEOUT)
        assert res.returncode == 0, res.stderr
        assert (out / f"{name}.pcap").stat().st_size >= MIN_SPLIT_BYTES  # so that two jobs read it in parts
    return out


def _benchmark_rows_agree(capture: Path, tmp_path: Path, jobs: int) -> None:
    compiled = _analyze([str(capture)], False, tmp_path / "compiled.csv", jobs)
    pure = _analyze([str(capture)], True, tmp_path / "pure.csv", jobs)
    manifest = json.loads(capture.with_name(capture.stem + ".manifest.json").read_text())
    assert compiled.count(b"\n") == manifest["connections"] + 1  # a row per connection, and the header
    assert compiled == pure


@pytest.mark.skipif(os.environ.get(_core.PURE_ENV) == "1", reason="this run forces the pure core")
@needs_compiled
@pytest.mark.parametrize("jobs", [1, 2], ids=["one-job", "two-parts"])
@pytest.mark.parametrize("name", BENCHMARK_CAPTURES)
def test_benchmark_captures_are_byte_identical(small_benchmarks: Path, tmp_path: Path, name: str, jobs: int) -> None:
    _benchmark_rows_agree(small_benchmarks / f"{name}.pcap", tmp_path, jobs)


@pytest.mark.skipif(os.environ.get(_core.PURE_ENV) == "1", reason="this run forces the pure core")
@pytest.mark.skipif(os.environ.get(FULL_BENCHMARKS_ENV) != "1", reason=f"set {FULL_BENCHMARKS_ENV}=1 (about a minute)")
@needs_compiled
@pytest.mark.parametrize("name", BENCHMARK_CAPTURES)
def test_full_benchmark_captures_are_byte_identical(tmp_path: Path, name: str) -> None:
    capture = BENCHMARKS / "out" / f"{name}.pcap"
    if not capture.is_file():
        pytest.skip(f"{capture} not made (python benchmarks/make_captures.py)")
    _benchmark_rows_agree(capture, tmp_path, 1)


@pytest.mark.skipif(os.environ.get(_core.PURE_ENV) == "1", reason="this run forces the pure core")
@needs_compiled
def test_version_names_the_core() -> None:
    assert "core: compiled" in _version(False)
    assert f"core: pure Python ({_core.PURE_ENV}=1)" in _version(True)


def test_pure_variable_loads_every_hot_module_from_source() -> None:
    code = ("import importlib, analyzer._core as c\n"
            "for m in c.COMPILED_MODULES:\n"
            "    print(importlib.import_module(m).__file__)\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(True), capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr
    files = res.stdout.split()
    assert len(files) == len(_core.COMPILED_MODULES) and all(f.endswith(".py") for f in files)


def test_pure_core_runs_without_cython(tmp_path: Path) -> None:
    """The pure core needs no Cython at run time (a build without a compiler installs no Cython):
    with `import cython` failing, the reader's type declarations come from `analyzer._shadow`
    and the rows are the pure core's own."""
    code = ("import sys, runpy\n"
            "sys.modules['cython'] = None  # import cython raises ImportError\n"
            "from analyzer.capture import reader\n"
            "assert reader.cython.__name__ == 'analyzer._shadow', reader.cython\n"
            "sys.argv = ['handshake-analyzer', *sys.argv[1:]]\n"
            "runpy.run_module('analyzer', run_name='__main__')\n")
    out = tmp_path / "no-cython.csv"
    res = subprocess.run([sys.executable, "-c", code, "connections", str(ROOT / "captures"), "-f", "csv", "-o",
                          str(out), "--quiet", "--jobs", "1"], cwd=ROOT, env=_env(True), capture_output=True,
                         text=True, timeout=TIMEOUT)
    assert res.returncode in (0, 1), res.stderr
    assert out.read_bytes() == _analyze([str(ROOT / "captures")], True, tmp_path / "pure.csv")


def _fake_package(base: Path, stale: str | None = None, missing: str | None = None) -> None:
    """Sources and (empty) extension files for every listed module under `base`."""
    suffix = _core.importlib.machinery.EXTENSION_SUFFIXES[0]
    old = time.time() - 3600
    for name in _core.COMPILED_MODULES:
        stem = base.joinpath(*name.split(".")[1:])
        stem.parent.mkdir(parents=True, exist_ok=True)
        for ext in (".py", ".pxd"):
            stem.with_suffix(ext).write_text("")
            os.utime(stem.with_suffix(ext), (old, old))
        if name != missing:
            so = stem.with_name(stem.name + suffix)
            so.write_text("")
            t = old - 60 if name == stale else old + 60
            os.utime(so, (t, t))


def test_why_pure_names_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_core.PURE_ENV, raising=False)
    monkeypatch.setattr(_core, "_PACKAGE_DIR", tmp_path / "ok")
    _fake_package(tmp_path / "ok")
    assert _core._why_pure() is None
    monkeypatch.setenv(_core.PURE_ENV, "1")
    assert _core._why_pure() == f"{_core.PURE_ENV}=1"
    monkeypatch.delenv(_core.PURE_ENV)
    last = _core.COMPILED_MODULES[-1]
    monkeypatch.setattr(_core, "_PACKAGE_DIR", tmp_path / "missing")
    _fake_package(tmp_path / "missing", missing=last)
    assert _core._why_pure().startswith(f"not compiled: {last}")
    monkeypatch.setattr(_core, "_PACKAGE_DIR", tmp_path / "stale")
    _fake_package(tmp_path / "stale", stale=last)
    assert _core._why_pure().startswith("compiled core older than")
