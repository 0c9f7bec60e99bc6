"""Value types of the capture stage: the error type, the statistics record,
the frame counts per link type (``FrameCounts``: what a file, or one part of it,
read per link type and could not decode, with the warning and error texts made
from them), the TCP flag constants and the address formatter.

The capture stage turns pcap/pcapng files into TCP segments; this module holds
the small shared pieces that the reader (`reader.py`) and the link/network
layer decoder (`linklayer.py`) both need, so neither imports the other's
internals.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

__all__ = [
    "CaptureError",
    "CaptureStats",
    "format_address",
    "MAX_WARNINGS",
    "MAX_UNDECODABLE_KINDS",
    "FrameCounts",
    "FIN",
    "SYN",
    "RST",
    "PSH",
    "ACK",
    "URG",
    "ECE",
    "CWR",
    "NS",
    "Segment",
]

# TCP flag bits as they appear in the low 9 bits of the data-offset/flags word.
FIN = 0x001
SYN = 0x002
RST = 0x004
PSH = 0x008
ACK = 0x010
URG = 0x020
ECE = 0x040
CWR = 0x080
NS = 0x100

#: A TCP segment as yielded by ``Capture.segments()``:
#: ``(frame, ts, src, sport, dst, dport, seq, ack, flags, payload, plen)``.
Segment = tuple

MAX_WARNINGS = 100
#: Kinds of undecodable frames (link type, ethertype, PPP protocol ... by number) counted
#: apart per capture; frames of further kinds are counted together (``names.OTHER_KINDS``).
MAX_UNDECODABLE_KINDS = 64


class CaptureError(Exception):
    """A capture file that cannot be read at all (bad magic, empty, unreadable).

    Damage found after the file header never raises; it becomes a warning in
    ``CaptureStats``.
    """

    def __init__(self, message: str, path: str | None = None, frame: int | None = None) -> None:
        self.message = " ".join(str(message).split())
        self.path = path
        self.frame = frame
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(str(self.path))
        if self.frame is not None:
            parts.append(f"frame {self.frame}")
        parts.append(self.message)
        return ": ".join(parts)


@dataclass
class CaptureStats:
    """Counters of one capture; complete once ``segments()`` is exhausted.

    ``bytes_read`` is updated as chunks are consumed (compressed bytes for gzip
    input, so that ``bytes_read / Capture.size`` is a progress fraction).
    """

    frames: int = 0
    tcp_segments: int = 0
    bytes_read: int = 0
    non_ip: int = 0
    non_tcp: int = 0
    truncated_frames: int = 0
    ip_fragments: int = 0
    reassembled_datagrams: int = 0
    malformed: int = 0
    #: frames that could not be decoded, by ``(kind, number)``: ``("link type", 147)``,
    #: ``("ethertype", 0x88b5)``, ``("PPP protocol", 0x2d)``, ``("address family", 7)``,
    #: ``("IP version", 5)``, ``("MPLS payload", nibble)``, ``("GRE version", 3)``
    undecodable: dict[tuple[str, int], int] = field(default_factory=dict)
    #: frames per link type (pcap: the file's; pcapng: each interface's), once read
    link_types: dict[int, int] = field(default_factory=dict)
    file_truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    warnings_dropped: int = 0

    @property
    def unsupported_linktypes(self) -> dict[int, int]:
        """Frames of link types we do not decode, by link type."""
        return {n: c for (k, n), c in self.undecodable.items() if k == "link type"}

    def not_decoded(self, kind: str, number: int) -> None:
        """Count one frame that could not be decoded (beyond ``MAX_UNDECODABLE_KINDS``
        kinds, under ``names.OTHER_KINDS``)."""
        u = self.undecodable
        key = (kind, number)
        if key not in u and len(u) >= MAX_UNDECODABLE_KINDS:
            key = ("other", 0)
        u[key] = u.get(key, 0) + 1

    def warn(self, message: str) -> None:
        """Record a warning; beyond ``MAX_WARNINGS`` they are only counted."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.warnings_dropped += 1


@dataclass
class FrameCounts:
    """The frames one reading of a capture is answerable for (the whole file, or one part's
    byte range, see ``analyzer.parts``): per link type, and those that could not be decoded
    (as ``CaptureStats.undecodable``). Plain values, sent between processes and summed."""

    link_types: dict[int, int] = field(default_factory=dict)
    undecodable: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return sum(self.link_types.values())

    def add(self, other: "FrameCounts") -> None:
        for lt, c in other.link_types.items():
            self.link_types[lt] = self.link_types.get(lt, 0) + c
        for k, c in other.undecodable.items():
            if k not in self.undecodable and len(self.undecodable) >= MAX_UNDECODABLE_KINDS:
                k = ("other", 0)
            self.undecodable[k] = self.undecodable.get(k, 0) + c

    def warning(self) -> str | None:
        """The one warning line naming what could not be decoded, or None."""
        from .names import describe_undecodable

        if not self.undecodable:
            return None
        n = sum(self.undecodable.values())
        return f"{n} of {self.frames} frames could not be decoded: {describe_undecodable(self.undecodable)}"

    def nothing_decoded(self) -> str | None:
        """When every frame was undecodable: the error message (naming the link types /
        ethertypes), else None."""
        from .names import describe_undecodable

        n = sum(self.undecodable.values())
        if not n or n < self.frames:
            return None
        return f"none of its {n} frames could be decoded: {describe_undecodable(self.undecodable)}"


def format_address(addr: bytes) -> str:
    """Text form of a packed IPv4 (4 bytes) or IPv6 (16 bytes) address."""
    b = bytes(addr)
    if len(b) == 4:
        return socket.inet_ntoa(b)  # same text as ipaddress.IPv4Address, 10x cheaper
    if len(b) == 16:
        return ipaddress.IPv6Address(b).compressed
    return b.hex()
