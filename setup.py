"""Packaging shim: the sample captures ship inside the package, and the hot modules compile.

The repository's top-level `captures/` folder (sample captures, their key log, server key
and certificates, MANIFEST.json files, subfolders included) is installed as the resource
package `analyzer._samples` (`package_dir` mapping; nothing is moved or copied in the
repository), so the no-argument run finds them after any kind of install. Everything else
is in pyproject.toml; this file only lists the packages, because a mapped package cannot be
found by `[tool.setuptools.packages.find]`.

The modules named in `analyzer/_core.py` (`COMPILED_MODULES`) are compiled with Cython,
typed by the `.pxd` file beside each `.py`. Compiling is optional: without Cython, or when
the C compiler is missing or fails, a warning is printed and the package installs as pure
Python (`handshake-analyzer --version` then says why). `HANDSHAKE_ANALYZER_PURE=1` at build
time skips compiling altogether.
"""

import ast
import os
import sys
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_ext import build_ext

SAMPLES = "analyzer._samples"
HERE = Path(__file__).resolve().parent


def _compiled_modules() -> list[str]:
    """COMPILED_MODULES from analyzer/_core.py, read without importing the package."""
    tree = ast.parse((HERE / "analyzer" / "_core.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "COMPILED_MODULES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise RuntimeError("analyzer/_core.py defines no COMPILED_MODULES")


def _warn(msg: str) -> None:
    sys.stderr.write(f"handshake-analyzer: {msg}; installing the pure-Python core\n")


def _extensions() -> list:
    if os.environ.get("HANDSHAKE_ANALYZER_PURE") == "1":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _warn("Cython is not installed")
        return []
    from setuptools import Extension

    modules = [Extension(name, [name.replace(".", "/") + ".py"]) for name in _compiled_modules()]
    # annotation_typing off: the .py annotations are for readers and type checkers; the C
    # types come from the .pxd files only
    return cythonize(modules, language_level=3, quiet=True, nthreads=os.cpu_count() or 1,
                     compiler_directives={"binding": False, "embedsignature": False,
                                          "annotation_typing": False})


class OptionalBuildExt(build_ext):
    """build_ext that leaves the pure-Python core in place when compiling fails; it compiles
    the modules in parallel, one per core."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all (DistutilsPlatformError and kin)
            _warn(f"cannot compile the extension modules ({exc})")

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:  # the compiler failed on this module
            _warn(f"compiling {ext.name} failed ({exc})")


setup(
    packages=find_namespace_packages(include=["analyzer", "analyzer.*"], exclude=["*.__pycache__"]) + [SAMPLES],
    package_dir={SAMPLES: "captures"},
    ext_modules=_extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
