"""What the `decrypt` and `keylog` commands write: decrypted streams and recovered secrets.

Owns the files of `decrypt --out DIR`: per decrypted connection, the
application data of each direction (`stream-N.c2s.bin`, `stream-N.s2c.bin`) and
a combined "follow stream" text view (`stream-N.follow.txt`) with a direction
marker and frame number before each record's data, like Wireshark's Follow TLS
Stream. Names come from the stream number (and, with several captures, the
capture's position and file name), never from bytes on the wire; files are
created with mode 0600 and never through a symbolic link. Also owns the NSS key
log lines of the `keylog` command.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import BinaryIO

from .session import Decryptor

_SIDE_LINE = (">>> client -> server", "<<< server -> client")
_PRINTABLE = bytes(range(32, 127)) + b"\n\t"
_TEXT_TABLE = bytes(b if b in _PRINTABLE else ord(".") for b in range(256))


def safe_name(name: str) -> str:
    """A file-name-safe form of a capture name: letters, digits, '.', '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")[:80] or "capture"


def open_private(path: Path) -> BinaryIO:
    """Create (or truncate) a file with mode 0600, refusing symbolic links."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        pass
    return os.fdopen(fd, "wb")


class StreamFiles:
    """Factory for `Options.app_data`: one `ConnectionFiles` per (capture, stream)."""

    def __init__(self, out_dir: Path, captures: list[str] | None = None) -> None:
        self.out_dir = out_dir
        self._dirs: dict[str, Path] = {}
        self._several = captures is not None and len(captures) > 1
        self._order = {c: i for i, c in enumerate(captures or [])}
        self.written: list[Path] = []

    def directory(self, capture: str) -> Path:
        d = self._dirs.get(capture)
        if d is None:
            if self._several:
                d = self.out_dir / f"{self._order.get(capture, len(self._dirs)) + 1:03d}-{safe_name(capture)}"
            else:
                d = self.out_dir
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._dirs[capture] = d
        return d

    def __call__(self, capture: str, stream: int, transport: str = "tcp") -> "ConnectionFiles":
        return ConnectionFiles(self, capture, stream, transport)


class ConnectionFiles:
    """The files of one connection, opened when its first application data arrives."""

    def __init__(self, owner: StreamFiles, capture: str, stream: int, transport: str = "tcp") -> None:
        self._owner = owner
        self._transport = transport   # DTLS rows are numbered like udp.stream: their own files
        self._capture = capture
        self._stream = stream
        self._files: list[BinaryIO] | None = None
        self._last_side: int | None = None
        self.bytes = [0, 0]

    def _open(self) -> list[BinaryIO]:
        d = self._owner.directory(self._capture)
        base = f"stream-{self._stream}" if self._transport == "tcp" else f"{self._transport}-stream-{self._stream}"
        paths = [d / f"{base}.c2s.bin", d / f"{base}.s2c.bin", d / f"{base}.follow.txt"]
        files = [open_private(p) for p in paths]
        self._owner.written.extend(paths)
        kind = "TLS" if self._transport == "tcp" else self._transport.upper()
        files[2].write(f"Follow {kind} stream {self._stream} of {safe_name(self._capture)} "
                       f"(decrypted application data)\n".encode())
        return files

    def data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        if self._files is None:
            self._files = self._open()
        self._files[direction].write(data)
        self.bytes[direction] += len(data)
        text = self._files[2]
        text.write(f"\n{_SIDE_LINE[direction]}, frame {frame}, {len(data)} bytes\n".encode())
        text.write(data.translate(_TEXT_TABLE))

    def close(self) -> None:
        if self._files is not None:
            total = f"\n\n=== client -> server {self.bytes[0]} bytes, server -> client {self.bytes[1]} bytes ===\n"
            self._files[2].write(total.encode())
            for f in self._files:
                f.close()
            self._files = None


def keylog_lines(decryptor: Decryptor | None) -> list[str]:
    """NSS key log lines (`CLIENT_RANDOM <hex> <hex>` ...) of what one connection's keys were."""
    if decryptor is None:
        return []
    return [f"{label} {cr.hex()} {secret.hex()}" for label, cr, secret in decryptor.recovered_secrets()]
