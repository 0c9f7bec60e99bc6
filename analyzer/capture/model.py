"""Value types of the capture stage: the error type, the statistics record,
the TCP flag constants and the address formatter.

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
    unsupported_linktypes: dict[int, int] = field(default_factory=dict)
    file_truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    warnings_dropped: int = 0

    def warn(self, message: str) -> None:
        """Record a warning; beyond ``MAX_WARNINGS`` they are only counted."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.warnings_dropped += 1


def format_address(addr: bytes) -> str:
    """Text form of a packed IPv4 (4 bytes) or IPv6 (16 bytes) address."""
    b = bytes(addr)
    if len(b) == 4:
        return socket.inet_ntoa(b)  # same text as ipaddress.IPv4Address, 10x cheaper
    if len(b) == 16:
        return ipaddress.IPv6Address(b).compressed
    return b.hex()
