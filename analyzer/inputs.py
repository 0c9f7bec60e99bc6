"""Turning the user's FILE_OR_DIR arguments into a sorted list of capture files.

Owns which files count as captures when a folder is given (recursive: `*.pcap`,
`*.pcapng`, `*.cap`, and the same with `.gz`) and where the bundled sample
captures live.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")


def bundled_captures_dir() -> Path:
    """The repository's `captures/` folder (next to the package in a source checkout)."""
    return Path(__file__).resolve().parent.parent / "captures"


def is_capture_name(name: str) -> bool:
    return name.lower().endswith(CAPTURE_SUFFIXES)


def expand_inputs(args: Iterable[str | os.PathLike]) -> tuple[list[Path], list[str]]:
    """Files as given (any name), folders walked for capture files; returns (files, problems)."""
    files: list[Path] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found = sorted(
                q for q in p.rglob("*") if q.is_file() and is_capture_name(q.name)
            )
            if not found:
                problems.append(f"{p}: no capture files (*.pcap, *.pcapng, *.cap, optionally .gz) in this folder")
            for q in found:
                if q not in seen:
                    seen.add(q)
                    files.append(q)
        elif p.is_file():
            if p not in seen:
                seen.add(p)
                files.append(p)
        elif p.exists():
            problems.append(f"{p}: not a regular file")
        else:
            problems.append(f"{p}: no such file or folder")
    return files, problems
