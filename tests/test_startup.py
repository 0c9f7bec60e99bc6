"""Start-up: what importing the CLI and running `--help` load (a structural check, not a timing).

`analyzer/cli.py` imports only typer at the top; the pipeline (TLS parsers, `cryptography`),
`analyzer.batch`, pandas, pyarrow, dask and rich are imported inside the commands that use
them. Each check runs in a fresh interpreter, so modules other tests imported do not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "captures" / "tls12-ecdhe.pcap"

# third-party packages only some commands need
HEAVY_PACKAGES = ("pandas", "pyarrow", "cryptography", "dask", "distributed", "numpy", "rich", "pydantic")
# our own modules that pull in the parsers (and with them cryptography) or the writers
HEAVY_OURS = ("analyzer.pipeline", "analyzer.batch", "analyzer.tls", "analyzer.tcp", "analyzer.udp",
              "analyzer.dtls", "analyzer.quic", "analyzer.capture", "analyzer.decrypt", "analyzer.report")

# prints, as JSON on the last line of stdout, the heavy modules loaded after running the code
_PROBE = """
import json, sys
{code}
heavy = sorted(m for m in sys.modules
               if m.split(".")[0] in {packages!r} or any(m == o or m.startswith(o + ".") for o in {ours!r}))
sys.stdout.write("\\n" + json.dumps(heavy) + "\\n")
"""

_RUN_CLI = """
import analyzer.cli
sys.argv = ["handshake-analyzer", *{argv!r}]
try:
    analyzer.cli.main()
except SystemExit as e:
    assert e.code in (0, None), e.code
"""


def _loaded(code: str, packages: tuple[str, ...] = HEAVY_PACKAGES,
            ours: tuple[str, ...] = HEAVY_OURS) -> tuple[list[str], str]:
    """(heavy modules loaded after `code` ran in a fresh interpreter, what it printed before)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    res = subprocess.run([sys.executable, "-c", _PROBE.format(code=code, packages=packages, ours=ours)],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    printed, _, last = res.stdout.rstrip("\n").rpartition("\n")
    return json.loads(last), printed


def test_importing_the_cli_loads_no_heavy_module():
    heavy, _ = _loaded("import analyzer.cli")
    assert heavy == []


def test_connections_help_loads_no_heavy_module_and_is_rich_formatted():
    # rich is typer's own for help formatting: allowed here, the rest is not
    heavy, printed = _loaded(_RUN_CLI.format(argv=["connections", "--help"]),
                             packages=tuple(p for p in HEAVY_PACKAGES if p != "rich"))
    assert heavy == []
    # typer's rich formatting: the options in a box panel, each documented
    assert "╭─ Options" in printed and "╰─" in printed
    for opt in ("--format", "--output", "--tls-only", "--quiet", "--jobs", "--keylog"):
        assert opt in printed


def test_version_loads_no_heavy_module():
    # `--version` imports the compiled modules (capture reader, TCP) to say which core runs,
    # but not the pipeline, the TLS parsers or the writers
    heavy, printed = _loaded(_RUN_CLI.format(argv=["--version"]),
                             ours=("analyzer.pipeline", "analyzer.batch", "analyzer.tls", "analyzer.report"))
    assert heavy == []
    assert printed.startswith("handshake-analyzer ") and "core:" in printed


def test_the_check_sees_what_a_real_run_loads(tmp_path):
    # the control: a command that reads a capture does load the pipeline and cryptography, so
    # the module names above are the real ones and the checks above are not vacuous
    out = tmp_path / "rows.csv"
    heavy, _ = _loaded(_RUN_CLI.format(argv=["connections", str(CAPTURE), "-f", "csv", "-o", str(out), "-q",
                                             "--jobs", "1"]))
    assert {"analyzer.pipeline", "analyzer.tls.connection", "analyzer.batch", "cryptography", "rich"} <= set(heavy)
    assert out.read_text().count("\n") >= 2
