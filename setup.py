"""Packaging shim: the sample captures ship inside the package.

The repository's top-level `captures/` folder (sample captures, their key log, server key
and certificates, MANIFEST.json files, subfolders included) is installed as the resource
package `analyzer._samples` (`package_dir` mapping; nothing is moved or copied in the
repository), so the no-argument run finds them after any kind of install. Everything else
is in pyproject.toml; this file only lists the packages, because a mapped package cannot be
found by `[tool.setuptools.packages.find]`.
"""

from setuptools import find_namespace_packages, setup

SAMPLES = "analyzer._samples"

setup(
    packages=find_namespace_packages(include=["analyzer", "analyzer.*"], exclude=["*.__pycache__"]) + [SAMPLES],
    package_dir={SAMPLES: "captures"},
)
