"""The compiled core and the pure-Python core: the same rows, byte for byte, and the choice.

The differential part runs `python -m analyzer connections` twice on the bundled captures
(`captures/`, subfolders included) and on every shared capture (`../shared/captures`: FoxIO
JA4, Suricata, DTLS, post-quantum), once as built and once with `HANDSHAKE_ANALYZER_PURE=1`,
and asserts identical CSV output; also with the bundled key log and server key (decryption).
It needs the compiled core (`pip install -e .` with a C compiler; `.ci/run` checks that
`--version` says compiled before the suite runs). The choice itself (`analyzer._core`) is
tested without building anything: a missing or stale extension module, or the variable, makes
every listed module load from its `.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analyzer import _core

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(__file__).resolve().parents[2] / "shared" / "captures"
TIMEOUT = 600

needs_compiled = pytest.mark.skipif(
    not _core.COMPILED and os.environ.get(_core.PURE_ENV) != "1",
    reason=f"compiled core not built: {_core.WHY_PURE}")


def _env(pure: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(_core.PURE_ENV, None)
    if pure:
        env[_core.PURE_ENV] = "1"
    return env


def _analyze(args: list[str], pure: bool, out: Path) -> bytes:
    res = subprocess.run([sys.executable, "-m", "analyzer", "connections", *args, "-f", "csv", "-o", str(out),
                          "--quiet", "--jobs", "1"], cwd=ROOT, env=_env(pure), capture_output=True, text=True,
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
