"""RDP's security negotiation before TLS ([MS-RDPBCGR] 2.2.1.1 and 2.2.1.2).

Owns reading the client's X.224 Connection Request and the server's Connection
Confirm, each in a TPKT (RFC 1006: version 3, reserved 0, 16-bit length) with an X.224
TPDU (ISO 8073: length indicator, CR 0xE0 / CC 0xD0, references, class). The Request
ends with an optional routing token or cookie line and an RDP_NEG_REQ (type 1:
requestedProtocols); the Confirm with an RDP_NEG_RSP (type 2: selectedProtocol) or an
RDP_NEG_FAILURE (type 3: failureCode). A selected PROTOCOL_SSL, PROTOCOL_HYBRID,
PROTOCOL_RDSTLS or PROTOCOL_HYBRID_EX means TLS starts with the next byte; PROTOCOL_RDP
(standard RDP security) means the session stays outside TLS.
"""

from __future__ import annotations

from .base import CLIENT, SERVER, Handler, Preamble, UpgradeError

TPKT_VERSION = 3
TPKT_HEADER = 4
X224_CR = 0xE0
X224_CC = 0xD0
X224_FIXED = 7                  # LI, code, DST-REF, SRC-REF, class
TYPE_RDP_NEG_REQ, TYPE_RDP_NEG_RSP, TYPE_RDP_NEG_FAILURE = 1, 2, 3
RDP_NEG_LENGTH = 8
PROTOCOL_RDP = 0
PROTOCOL_SSL = 0x1
PROTOCOL_HYBRID = 0x2
PROTOCOL_RDSTLS = 0x4
PROTOCOL_HYBRID_EX = 0x8
TLS_PROTOCOLS = PROTOCOL_SSL | PROTOCOL_HYBRID | PROTOCOL_RDSTLS | PROTOCOL_HYBRID_EX
PROTOCOL_NAMES = {PROTOCOL_RDP: "PROTOCOL_RDP", PROTOCOL_SSL: "PROTOCOL_SSL", PROTOCOL_HYBRID: "PROTOCOL_HYBRID",
                  PROTOCOL_RDSTLS: "PROTOCOL_RDSTLS", PROTOCOL_HYBRID_EX: "PROTOCOL_HYBRID_EX"}
MAX_TPKT = 65535


def tpkt(data: bytes | bytearray, code: int) -> int | None | bool:
    """Length of a complete TPKT + X.224 TPDU of this code at the start of data; None when
    incomplete; False when it is not one."""
    if len(data) < 2:
        return None
    if data[0] != TPKT_VERSION or data[1] != 0:
        return False
    if len(data) < TPKT_HEADER + 2:
        return None
    length = (data[2] << 8) | data[3]
    li = data[4]
    if length < TPKT_HEADER + X224_FIXED or data[5] & 0xF0 != code or li + 1 + TPKT_HEADER != length:
        return False
    return length if len(data) >= length else None


def _neg(tpdu: bytes) -> tuple[int, int] | None:
    """(type, value) of the RDP_NEG_* structure that ends the TPDU, if any."""
    if len(tpdu) < TPKT_HEADER + X224_FIXED + RDP_NEG_LENGTH:
        return None
    neg = tpdu[-RDP_NEG_LENGTH:]
    if neg[0] not in (TYPE_RDP_NEG_REQ, TYPE_RDP_NEG_RSP, TYPE_RDP_NEG_FAILURE) or int.from_bytes(
            neg[2:4], "little") != RDP_NEG_LENGTH:
        return None
    return neg[0], int.from_bytes(neg[4:8], "little")


def protocols_text(bits: int) -> str:
    names = [n for b, n in PROTOCOL_NAMES.items() if b and bits & b]
    return "|".join(names) or "PROTOCOL_RDP"


class RDPHandler(Handler):
    name = "rdp"

    def __init__(self) -> None:
        self.requested: int | None = None

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        if self.requested is None:
            n = tpkt(p.buf[CLIENT], X224_CR)
            if n is None:
                return
            if n is False:
                raise UpgradeError("client bytes are no X.224 Connection Request")
            tpdu = p.take(CLIENT, n)
            neg = _neg(tpdu)
            self.requested = neg[1] if neg is not None and neg[0] == TYPE_RDP_NEG_REQ else PROTOCOL_RDP
            if not self.requested & TLS_PROTOCOLS:
                p.plaintext(f"rdp: the client requested standard RDP security only in frame {frame}")
                return
            p.offered = True
            p.asked(frame, ts, f"RDP X.224 {protocols_text(self.requested)}")
        n = tpkt(p.buf[SERVER], X224_CC)
        if n is None:
            return
        if n is False:
            raise UpgradeError("server bytes are no X.224 Connection Confirm")
        neg = _neg(p.take(SERVER, n))
        if neg is None or neg[0] == TYPE_RDP_NEG_RSP and not neg[1] & TLS_PROTOCOLS:
            # the client asked for TLS; standard RDP security instead is a refusal of it
            p.refused("PROTOCOL_RDP (standard RDP security selected)", frame, final=True)
            return
        if neg[0] == TYPE_RDP_NEG_FAILURE:
            p.refused(f"RDP_NEG_FAILURE {neg[1]}", frame, final=True)
            return
        p.step_detail = f"RDP X.224 {protocols_text(neg[1])}"
        p.go_ahead(frame)
