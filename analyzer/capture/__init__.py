"""The capture stage: pcap/pcapng files in, TCP segments out.

Owns reading capture files (classic pcap with all four magics, pcapng with
sections, interfaces and Decryption Secrets Blocks, gzip-compressed input),
link layers, IPv4/IPv6 (options, extension headers, fragment reassembly),
tunnels, and the TCP header. It knows nothing about TLS.

``Capture(path).segments()`` yields plain tuples
``(frame, ts, src, sport, dst, dport, seq, ack, flags, payload, plen)``:
frame is Wireshark's ``frame.number``; ts float seconds since the epoch;
src/dst packed 4- or 16-byte addresses (see ``format_address``); flags the nine
TCP flag bits (``FIN`` ... ``NS``); payload the captured TCP payload (a
memoryview; shorter than plen when snaplen cut the frame); plen the payload
length the IP header declares.
"""

from .model import (
    ACK,
    CWR,
    ECE,
    FIN,
    NS,
    PSH,
    RST,
    SYN,
    URG,
    CaptureError,
    CaptureStats,
    Segment,
    format_address,
)
from .reader import DEFAULT_CHUNK_SIZE, Capture

__all__ = [
    "Capture",
    "CaptureError",
    "CaptureStats",
    "Segment",
    "format_address",
    "DEFAULT_CHUNK_SIZE",
    "FIN",
    "SYN",
    "RST",
    "PSH",
    "ACK",
    "URG",
    "ECE",
    "CWR",
    "NS",
]
