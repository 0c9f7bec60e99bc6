"""Which core runs: the Cython-compiled hot modules, or the same modules as plain Python.

This module owns the list of modules that are compiled (``COMPILED_MODULES``: setup.py reads
it to know what to cythonize) and the choice made once, when ``analyzer`` is imported, between
the compiled and the pure core. It is stdlib-only and is itself never compiled.

A compiled module is an extension module built next to its source (``tcp/table.py`` and
``tcp/table.cpython-311-x86_64-linux-gnu.so``); Python's import system prefers the extension
module, so the compiled core is used whenever every listed module has an up-to-date build.
The pure core is used, for every listed module at once (compiled modules share typed classes
through ``cimport``, so they cannot be mixed with pure ones), when:

* ``HANDSHAKE_ANALYZER_PURE=1`` is set,
* a listed module has no extension module (nothing was compiled: no C compiler or no Cython
  at install time, or a source checkout used without an install),
* an extension module is older than its ``.py`` or ``.pxd`` (the source changed since the
  build: an edited checkout of an editable install; rebuild with ``pip install -e .``).

In the pure case a finder placed first on ``sys.meta_path`` loads the listed modules from
their ``.py`` files; nothing else about importing changes.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path

#: Modules compiled by Cython when the package is built (each typed by a ``.pxd`` beside it).
COMPILED_MODULES = (
    "analyzer.capture.linklayer",
    "analyzer.capture.reader",
    "analyzer.tcp.half",
    "analyzer.tcp.flow",
    "analyzer.tcp.table",
    "analyzer.tls.buffer",
    "analyzer.tls.messages",
    "analyzer.tls.fingerprints",
    "analyzer.tls.connection",
    "analyzer.report.table",
    "analyzer.report.writers",
    "analyzer.dtls.records",
    "analyzer.dtls.handshake",
    "analyzer.dtls.connection",
)
#: Environment variable that forces the pure-Python core when set to "1".
PURE_ENV = "HANDSHAKE_ANALYZER_PURE"
#: Seconds an extension module may be older than its source and still count as built from it
#: (installing a wheel writes the files one after another, in no particular order).
STALE_TOLERANCE = 2.0

_PACKAGE_DIR = Path(__file__).resolve().parent


def _module_base(name: str) -> Path:
    """`analyzer.tcp.table` -> <package dir>/tcp/table (no suffix)."""
    parts = name.split(".")[1:]
    return _PACKAGE_DIR.joinpath(*parts)


def _extension_file(name: str) -> Path | None:
    base = _module_base(name)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        p = base.with_name(base.name + suffix)
        if p.is_file():
            return p
    return None


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def _why_pure() -> str | None:
    """None when the compiled core can be used, else the reason it cannot."""
    if os.environ.get(PURE_ENV) == "1":
        return f"{PURE_ENV}=1"
    for name in COMPILED_MODULES:
        ext = _extension_file(name)
        if ext is None:
            return f"not compiled: {name} has no extension module; built without a C compiler or Cython?"
        base = _module_base(name)
        built = _mtime(ext) + STALE_TOLERANCE
        for src in (base.with_suffix(".py"), base.with_suffix(".pxd")):
            if _mtime(src) > built:
                return f"compiled core older than {src.name} of {name}; rebuild: pip install -e ."
    return None


class _PureFinder:
    """Loads the compiled modules' names from their ``.py`` source instead."""

    @staticmethod
    def find_spec(fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED_MODULES:
            return None
        src = _module_base(fullname).with_suffix(".py")
        return importlib.util.spec_from_file_location(fullname, src)


WHY_PURE: str | None = _why_pure()
#: True when the compiled core is in use.
COMPILED: bool = WHY_PURE is None

if not COMPILED and not any(isinstance(f, _PureFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _PureFinder())


def describe() -> str:
    """One line for ``--version``: which core runs, and why the pure one when it does."""
    if not COMPILED:
        return f"core: pure Python ({WHY_PURE})"
    for name in COMPILED_MODULES:
        if not isinstance(_loader(name), importlib.machinery.ExtensionFileLoader):
            return f"core: pure Python ({name} loaded from source)"
    return f"core: compiled (Cython, {len(COMPILED_MODULES)} modules)"


def _loader(name: str) -> object:
    """The loader a compiled module was (or would be) imported with. A module not imported yet is
    looked up where the import system would find it, without importing it or its package, so
    ``--version`` stays cheap however many modules are compiled."""
    module = sys.modules.get(name)
    if module is not None:
        return module.__spec__.loader
    base = _module_base(name)
    spec = importlib.machinery.PathFinder.find_spec(base.name, [str(base.parent)])
    return spec.loader if spec is not None else None
