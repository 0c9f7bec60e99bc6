"""Bounds-checked reader over TLS wire structures.

Owns the small `pull_*` helpers the message parsers are built from (in the style
of the RFC presentation language: `opaque x<0..2^16-1>` is `pull_opaque(buf, 2)`).
Every read checks its length; reading past the end raises `TLSDecodeError`.
"""

from __future__ import annotations

import struct
from typing import Callable, TypeVar

T = TypeVar("T")


class TLSDecodeError(Exception):
    """A TLS structure could not be decoded; `frame` is set by the caller when known."""

    def __init__(self, message: str, frame: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.frame = frame

    def __str__(self) -> str:
        if self.frame is not None:
            return f"{self.message} (frame {self.frame})"
        return self.message


class Buffer:
    """A read cursor over `bytes`; all reads are bounds-checked."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def remaining(self) -> int:
        return self.end - self.pos

    def eof(self) -> bool:
        return self.pos >= self.end

    def _need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.end:
            raise TLSDecodeError(
                f"{what}: need {n} bytes, {self.end - self.pos} left"
            )

    def pull_uint8(self, what: str = "uint8") -> int:
        self._need(1, what)
        v = self.data[self.pos]
        self.pos += 1
        return v

    def pull_uint16(self, what: str = "uint16") -> int:
        self._need(2, what)
        p = self.pos
        self.pos = p + 2
        return (self.data[p] << 8) | self.data[p + 1]

    def pull_uint24(self, what: str = "uint24") -> int:
        self._need(3, what)
        p = self.pos
        self.pos = p + 3
        d = self.data
        return (d[p] << 16) | (d[p + 1] << 8) | d[p + 2]

    def pull_uint32(self, what: str = "uint32") -> int:
        self._need(4, what)
        p = self.pos
        self.pos = p + 4
        return int.from_bytes(self.data[p : p + 4], "big")

    def pull_bytes(self, n: int, what: str = "bytes") -> bytes:
        self._need(n, what)
        p = self.pos
        self.pos = p + n
        return bytes(self.data[p : p + n])

    def pull_rest(self) -> bytes:
        p = self.pos
        self.pos = self.end
        return bytes(self.data[p : self.end])


def _pull_length(buf: Buffer, width: int, what: str) -> int:
    if width == 1:
        return buf.pull_uint8(what)
    if width == 2:
        return buf.pull_uint16(what)
    if width == 3:
        return buf.pull_uint24(what)
    raise ValueError(width)


def pull_opaque(buf: Buffer, width: int, what: str = "opaque") -> bytes:
    """`opaque x<0..2^(8*width)-1>`: a length prefix of `width` bytes, then the bytes."""
    n = _pull_length(buf, width, what + " length")
    return buf.pull_bytes(n, what)


def pull_block(buf: Buffer, width: int, what: str = "block") -> Buffer:
    """A length-prefixed sub-structure, returned as its own bounded Buffer."""
    n = _pull_length(buf, width, what + " length")
    buf._need(n, what)
    sub = Buffer(buf.data, buf.pos, buf.pos + n)
    buf.pos += n
    return sub


def pull_list(
    buf: Buffer, width: int, item: Callable[[Buffer], T], what: str = "list", limit: int | None = None
) -> list[T]:
    """A length-prefixed vector of items, each read by `item` until the block is used up.

    `limit` bounds the number of items kept (hostile input: a 64 KiB vector of
    2-byte items is 32,768 entries); items past it are read and dropped.
    """
    sub = pull_block(buf, width, what)
    out: list[T] = []
    while not sub.eof():
        v = item(sub)
        if limit is None or len(out) < limit:
            out.append(v)
    return out


def pull_uint16_list(buf: Buffer, width: int, what: str, limit: int | None = None) -> list[int]:
    """A vector of uint16 values (cipher suites, groups, signature schemes ...)."""
    sub = pull_block(buf, width, what)
    n = sub.remaining()
    if n % 2:
        raise TLSDecodeError(f"{what}: odd length {n}")
    count = n // 2 if limit is None else min(n // 2, limit)
    return list(struct.unpack_from(f">{count}H", sub.data, sub.pos))
