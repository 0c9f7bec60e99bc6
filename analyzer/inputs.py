"""Turning the user's FILE_OR_DIR arguments into a sorted list of capture files.

Owns which files count as captures when a folder is given (recursive: `*.pcap`,
`*.pcapng`, `*.cap`, and the same with `.gz`) and where the bundled sample
captures live (the checkout's `captures/`, or the installed package data).
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Iterable

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")


#: The resource package the repository's `captures/` folder is installed as (setup.py).
SAMPLES_PACKAGE = "analyzer._samples"
_CHECKOUT_MARKERS = ("pyproject.toml", "captures/MANIFEST.json")


def _checkout_captures() -> Path | None:
    """`captures/` next to this package when it runs from a source checkout, else None."""
    root = Path(__file__).resolve().parent.parent
    if all((root / m).is_file() for m in _CHECKOUT_MARKERS):
        return root / "captures"
    return None


def bundled_captures_dir() -> Path:
    """The bundled sample captures: `captures/` of the source checkout this code runs from
    (plain or editable install), else the package data of an installed wheel
    (`analyzer._samples`, read with importlib.resources). A path that does not exist when
    neither is there."""
    checkout = _checkout_captures()
    if checkout is not None:
        return checkout
    try:
        root = importlib.resources.files(SAMPLES_PACKAGE)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent / "_samples"
    # installed as files (wheels are installed unpacked); a zipped install has no folder to walk
    return root if isinstance(root, Path) else Path(str(root))


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
