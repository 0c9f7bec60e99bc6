"""The few ``cython`` names the pure core uses, for when Cython is not installed.

Compiled modules type some locals with Cython's pure-Python-mode decorators where a ``.pxd``
cannot say it (a generator's locals: ``@cython.locals``). Compiled, Cython reads them at build
time; in the pure core they are plain Python and come from Cython's own ``cython`` module when
it is installed, else from here: ``locals`` returns the function unchanged and every type name
is a placeholder.
"""

from __future__ import annotations

from typing import Any, Callable

compiled = False


def locals(**_types: Any) -> Callable[[Callable], Callable]:  # noqa: A001 (Cython's name)
    """``@cython.locals(name=type, ...)``: the function itself, unchanged."""
    return lambda func: func


def __getattr__(name: str) -> None:
    """A type name (``cython.double``, ``cython.p_const_uchar``): nothing to do in pure Python."""
    if name.startswith("__"):
        raise AttributeError(name)
    return None
