"""The no-argument run after a regular install: the sample captures ship in the wheel.

Builds the wheel from a copy of the source tree (so the build leaves nothing in the
checkout), installs it into a fresh virtual environment (which sees this environment's
packages, so the dependencies are not installed again, but the analyzer itself comes from
the wheel), and runs `handshake-analyzer connections` and `report` from an empty folder:
the bundled captures are found as package data (`analyzer._samples`), `report` writes
`./reports/` there. No network: `--no-deps`, `--no-index`, and no build isolation when
this environment's setuptools can build the wheel itself (it can after
`pip install -e '.[test]'`).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from analyzer.inputs import bundled_captures_dir, is_capture_name

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FILES = ("pyproject.toml", "setup.py", "README.md")
SOURCE_DIRS = ("analyzer", "captures")
TIMEOUT = 900  # the wheel build compiles the compiled core


def _setuptools_builds_wheels() -> bool:
    """Whether this environment's setuptools builds wheels by itself (70.1 has bdist_wheel)."""
    try:
        major, minor = (int(x) for x in metadata.version("setuptools").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (70, 1)


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def _source_copy(base: Path) -> Path:
    """The files a build needs, copied out of the checkout (builds write into the source)."""
    src = base / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, src / name)
    # and none of the checkout's compiled core: the build must make its own
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "*.so", "*.c", "*.html")
    for name in SOURCE_DIRS:
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    return src


def _pip_build_args() -> list[str]:
    return ["--no-deps", "-q"] + (["--no-build-isolation"] if _setuptools_builds_wheels() else [])


def _venv(base: Path) -> Path:
    venv = base / "venv"
    # without a pip (and setuptools) of its own: the system's, seen through --system-site-packages, install
    # into the venv, and a build without isolation uses the system's setuptools (a venv's bundled one may be
    # too old to build wheels)
    res = _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], base)
    assert res.returncode == 0, res.stderr
    return venv / ("Scripts" if os.name == "nt" else "bin")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with the analyzer installed from its wheel; returns its bin folder."""
    base = tmp_path_factory.mktemp("install")
    src = _source_copy(base)
    wheels = base / "wheels"
    # built as a user would, whichever core this test run uses (HANDSHAKE_ANALYZER_PURE)
    res = _run([sys.executable, "-m", "pip", "wheel", *_pip_build_args(), "-w", str(wheels), str(src)], base,
               {k: v for k, v in os.environ.items() if k != "HANDSHAKE_ANALYZER_PURE"})
    assert res.returncode == 0, res.stderr
    (wheel,) = wheels.glob("handshake_analyzer-*.whl")
    bindir = _venv(base)
    res = _run([str(bindir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                "--force-reinstall", str(wheel)], base)
    assert res.returncode == 0, res.stderr
    return bindir


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "HANDSHAKE_ANALYZER_PURE")}
    env["COLUMNS"] = "200"
    return env


def test_the_package_comes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    code = ("import analyzer, analyzer.inputs as i, importlib.resources as r; "
            "print(analyzer.__file__); print(i.bundled_captures_dir()); print(r.files('analyzer._samples'))")
    res = _run([str(installed / "python"), "-c", code], tmp_path, _env())
    assert res.returncode == 0, res.stderr
    module, samples, resource = (Path(line) for line in res.stdout.splitlines())
    venv = installed.parent.resolve()
    assert module.resolve().is_relative_to(venv)
    assert samples.resolve() == resource.resolve() and samples.resolve().is_relative_to(venv)
    # every sample file of the checkout's captures/ (subfolders too) is in the package data
    ours = {p.relative_to(bundled_captures_dir()) for p in bundled_captures_dir().rglob("*")
            if p.is_file() and p.suffix in (".pcap", ".pcapng", ".json", ".txt", ".key", ".crt")}
    shipped = {p.relative_to(samples) for p in samples.rglob("*") if p.is_file()}
    assert ours and ours <= shipped


def _can_compile() -> bool:
    try:
        import Cython  # noqa: F401
    except ImportError:
        return False
    return shutil.which("cc") is not None


def test_the_wheel_holds_the_compiled_core(installed: Path, tmp_path: Path) -> None:
    """With a C compiler and Cython the wheel is built compiled and runs compiled; without
    them it installs all the same and says why it runs pure."""
    res = _run([str(installed / "handshake-analyzer"), "--version"], tmp_path, _env())
    assert res.returncode == 0, res.stderr
    if _can_compile():
        assert "core: compiled" in res.stdout, res.stdout
    else:
        assert "core: pure Python (not compiled:" in res.stdout, res.stdout
    res = _run([str(installed / "handshake-analyzer"), "--version"], tmp_path,
               _env() | {"HANDSHAKE_ANALYZER_PURE": "1"})
    assert "core: pure Python (HANDSHAKE_ANALYZER_PURE=1)" in res.stdout, res.stdout


def test_connections_and_report_without_arguments_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    cli = str(installed / "handshake-analyzer")
    res = _run([cli, "connections", "-q"], tmp_path, _env())
    assert res.returncode == 0, res.stderr
    res = _run([cli, "connections", "-q", "-f", "csv"], tmp_path, _env())
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    expected = {p.name for p in bundled_captures_dir().rglob("*") if p.is_file() and is_capture_name(p.name)}
    assert {r["capture"] for r in rows} == expected
    assert len(rows) > len(expected)  # several captures hold several connections

    res = _run([cli, "report", "-q"], tmp_path, _env())
    assert res.returncode == 0, res.stderr
    index = tmp_path / "reports" / "index.html"
    assert index.is_file() and index.stat().st_size > 0
    assert (tmp_path / "reports" / "connections.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def test_editable_install_finds_the_samples_too(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """`pip install -e` (what README and .ci/run use) of a source tree: the samples are that
    tree's captures/, found from any folder."""
    base = tmp_path_factory.mktemp("editable")
    src = _source_copy(base)
    bindir = _venv(base)
    # (built pure: compiling is the wheel test's part, and takes a minute)
    res = _run([str(bindir / "python"), "-m", "pip", "install", *_pip_build_args(), "-e", str(src)], base,
               _env() | {"HANDSHAKE_ANALYZER_PURE": "1"})
    assert res.returncode == 0, res.stderr
    code = "import analyzer, analyzer.inputs as i; print(analyzer.__file__); print(i.bundled_captures_dir())"
    res = _run([str(bindir / "python"), "-c", code], tmp_path, _env())
    assert res.returncode == 0, res.stderr
    module, samples = (Path(line) for line in res.stdout.splitlines())
    assert module.resolve() == (src / "analyzer" / "__init__.py").resolve()
    assert samples.resolve() == (src / "captures").resolve()
    res = _run([str(bindir / "handshake-analyzer"), "connections", "-q", "-f", "csv"], tmp_path, _env())
    assert res.returncode == 0, res.stderr
    expected = {p.name for p in bundled_captures_dir().rglob("*") if p.is_file() and is_capture_name(p.name)}
    assert {r["capture"] for r in csv.DictReader(io.StringIO(res.stdout))} == expected
