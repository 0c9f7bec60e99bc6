"""handshake-analyzer: offline analysis of TLS handshakes in pcap/pcapng captures.

The Python API, which the command line uses too:

    >>> import analyzer
    >>> df = analyzer.analyze(["captures/"])          # pandas.DataFrame, one row per connection
    >>> for s in analyzer.iter_summaries(["big.pcapng"]):   # streaming, bounded memory
    ...     print(s.stream, s.sni, s.version)

Columns are documented in README.md and in `analyzer.report.table.COLUMNS`.
"""

from __future__ import annotations

import os

from . import _core  # noqa: F401 - chooses the compiled or the pure core before any hot module loads
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

if TYPE_CHECKING:
    import pandas

    from .decrypt import KeyMaterial
    from .tls.summary import ConnectionSummary

__version__ = "0.1.0"

__all__ = ["analyze", "iter_summaries", "__version__"]


def iter_summaries(
    paths: Iterable[str | os.PathLike] | str | os.PathLike,
    *,
    on_error: Callable[[str, Exception], None] | None = None,
    include_non_tls: bool = True,
    keylog: "str | os.PathLike | Iterable[str | os.PathLike] | None" = None,
    keys: "str | os.PathLike | Iterable[str | os.PathLike] | KeyMaterial | None" = None,  # noqa: F821
    key_password: str | None = None,
    capture_secrets: bool = True,
) -> Iterator["ConnectionSummary"]:  # noqa: F821
    """Yield a `ConnectionSummary` per connection of every capture under `paths`, as they finish.

    A file that cannot be read is reported to `on_error(path, exc)` and skipped;
    without `on_error` its `CaptureError` is raised.

    Decryption: `keylog` (one NSS key log file or several), `keys` (server RSA private
    key files, PEM/DER/PKCS#12, with `key_password`; or a ready `analyzer.decrypt.KeyMaterial`).
    pcapng Decryption Secrets Blocks are used unless `capture_secrets=False`. An unusable
    key file raises `analyzer.decrypt.KeyFileError`; bad key log lines are skipped (they are
    listed in `KeyMaterial.problems`).
    """
    from .capture import CaptureError
    from .inputs import expand_inputs
    from .pipeline import Options, analyze_file
    from .tls.certs import CertCache

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files, problems = expand_inputs(paths)
    for problem in problems:
        err = FileNotFoundError(problem)
        if on_error is None:
            raise err
        on_error(problem.split(":", 1)[0], err)
    certs = CertCache()
    opts = Options(include_non_tls=include_non_tls, keys=_key_material(keylog, keys, key_password),
                   use_capture_secrets=capture_secrets)
    if isinstance(keylog, (str, os.PathLike)):
        opts.keylog = os.fspath(keylog)
    for f in files:
        try:
            yield from analyze_file(f, options=opts, cert_cache=certs)
        except CaptureError as e:
            if on_error is None:
                raise
            on_error(str(f), e)


def _key_material(keylog: object, keys: object, password: str | None) -> "KeyMaterial | None":  # noqa: F821
    from .decrypt import KeyMaterial
    from .decrypt.keys import load_key_material

    if isinstance(keys, KeyMaterial):
        if keylog is not None:
            for p in [keylog] if isinstance(keylog, (str, os.PathLike)) else keylog:  # type: ignore[union-attr]
                keys.add_keylog_file(p)
        return keys
    if keylog is None and keys is None:
        return None
    logs = [keylog] if isinstance(keylog, (str, os.PathLike)) else list(keylog or [])  # type: ignore[call-overload]
    rsa = [keys] if isinstance(keys, (str, os.PathLike)) else list(keys or [])  # type: ignore[call-overload]
    return load_key_material(logs, rsa, password)


def analyze(
    paths: Iterable[str | os.PathLike] | str | os.PathLike, *, include_non_tls: bool = True,
    keylog: "str | os.PathLike | Iterable[str | os.PathLike] | None" = None,
    keys: "str | os.PathLike | Iterable[str | os.PathLike] | KeyMaterial | None" = None,  # noqa: F821
    key_password: str | None = None,
    capture_secrets: bool = True,
) -> "pandas.DataFrame":  # noqa: F821
    """One pandas DataFrame, one row per connection, sorted by capture and stream (decryption options as `iter_summaries`)."""
    from .report.table import to_dataframe

    return to_dataframe(iter_summaries(paths, include_non_tls=include_non_tls, keylog=keylog, keys=keys,
                                       key_password=key_password, capture_secrets=capture_secrets))
