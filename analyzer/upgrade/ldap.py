"""LDAP's StartTLS extended operation (RFC 4511 4.14, BER per X.690).

Owns reading LDAPMessage envelopes (SEQUENCE { messageID INTEGER, protocolOp, ... })
in both directions: the client's ExtendedRequest ([APPLICATION 23]) whose requestName
is 1.3.6.1.4.1.1466.20037, and the server's ExtendedResponse ([APPLICATION 24]) with the
same messageID, whose resultCode 0 (success) is the go-ahead and any other value a
refusal. A search of the root DSE before it is allowed (clients look for the
supportedExtension); a bind or any other operation first means the session is in clear.
"""

from __future__ import annotations

from .base import CLIENT, SERVER, Handler, Preamble, UpgradeError

START_TLS_OID = b"1.3.6.1.4.1.1466.20037"
TAG_SEQUENCE = 0x30
TAG_INTEGER = 0x02
TAG_ENUMERATED = 0x0A
TAG_OCTET_STRING = 0x04
OP_BIND_REQUEST = 0x60
OP_SEARCH_REQUEST = 0x63
OP_UNBIND_REQUEST = 0x42
OP_ABANDON_REQUEST = 0x50
OP_EXTENDED_REQUEST = 0x77
OP_EXTENDED_RESPONSE = 0x78
OP_INTERMEDIATE_RESPONSE = 0x79
TAG_REQUEST_NAME = 0x80             # [0] LDAPOID of the ExtendedRequest
MAX_LENGTH_OCTETS = 4               # a BER length in more octets than this is not an LDAP message


def ber_header(data: bytes | bytearray, pos: int) -> tuple[int, int, int] | None:
    """(tag, content start, content length) of the BER element at pos; None when incomplete."""
    if len(data) < pos + 2:
        return None
    tag = data[pos]
    first = data[pos + 1]
    if first < 0x80:
        return tag, pos + 2, first
    n = first & 0x7F
    if n == 0 or n > MAX_LENGTH_OCTETS:
        raise UpgradeError(f"BER length form 0x{first:02x} is not one LDAP uses (RFC 4511 5.1)")
    if len(data) < pos + 2 + n:
        return None
    return tag, pos + 2 + n, int.from_bytes(data[pos + 2: pos + 2 + n], "big")


def ldap_message(data: bytes | bytearray) -> tuple[int, int, int, int] | None:
    """(total length, messageID, protocolOp tag, protocolOp content start) of a complete
    LDAPMessage at the start of data, None when more bytes are needed."""
    h = ber_header(data, 0)
    if h is None:
        return None
    tag, start, length = h
    if tag != TAG_SEQUENCE:
        raise UpgradeError(f"BER tag 0x{tag:02x} where an LDAPMessage SEQUENCE must be")
    total = start + length
    if len(data) < total:
        return None
    mid = ber_header(data, start)
    if mid is None or mid[0] != TAG_INTEGER or not 1 <= mid[2] <= 4 or mid[1] + mid[2] > total:
        raise UpgradeError("LDAPMessage without a messageID")
    message_id = int.from_bytes(data[mid[1]: mid[1] + mid[2]], "big")
    op_pos = mid[1] + mid[2]
    op = ber_header(data, op_pos)
    if op is None or op[1] + op[2] > total:
        raise UpgradeError("LDAPMessage protocolOp runs past the message")
    return total, message_id, op[0], op[1]


def looks_like_ldap(data: bytes | bytearray) -> bool | None:
    """Whether data starts like an LDAPMessage (None: too few bytes to tell)."""
    if len(data) < 2:
        return None
    if data[0] != TAG_SEQUENCE:
        return False
    try:
        h = ber_header(data, 0)
        if h is None:
            return None
        mid = ber_header(data, h[1])
        if mid is None:
            return None
        if mid[0] != TAG_INTEGER or not 1 <= mid[2] <= 4:
            return False
        pos = mid[1] + mid[2]
        if len(data) <= pos:
            return None
        return data[pos] & 0xC0 == 0x40  # protocolOp is an [APPLICATION n] tag
    except UpgradeError:
        return False


class LDAPHandler(Handler):
    name = "ldap"

    def __init__(self) -> None:
        self.asked: int | None = None   # messageID of the StartTLS request

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        while self.asked is None:
            msg = ldap_message(p.buf[CLIENT])
            if msg is None:
                break
            total, mid, op, body = msg
            buf = p.buf[CLIENT]
            if op == OP_EXTENDED_REQUEST:
                name = ber_header(buf, body)
                if name is not None and name[0] == TAG_REQUEST_NAME and bytes(
                        buf[name[1]: name[1] + name[2]]) == START_TLS_OID:
                    p.take(CLIENT, total)
                    self.asked = mid
                    p.asked(frame, ts, "LDAP StartTLS")
                    break
            if op == OP_SEARCH_REQUEST:
                base = ber_header(buf, body)
                if base is not None and base[0] == TAG_OCTET_STRING and base[2] == 0:
                    p.take(CLIENT, total)   # the root DSE: which extensions are supported
                    continue
            if op in (OP_UNBIND_REQUEST, OP_ABANDON_REQUEST):
                p.take(CLIENT, total)
                continue
            what = "BindRequest" if op == OP_BIND_REQUEST else f"operation [APPLICATION {op & 0x1F}]"
            offer = " although the server offered StartTLS" if p.offered else ""
            p.plaintext(f"ldap: {what} in clear in frame {frame}{offer}")
            return
        while True:
            msg = ldap_message(p.buf[SERVER])
            if msg is None:
                return
            total, mid, op, body = msg
            buf = p.buf[SERVER]
            if START_TLS_OID in buf[:total]:
                p.offered = True
            if op == OP_EXTENDED_RESPONSE and self.asked is not None and mid == self.asked:
                rc = ber_header(buf, body)
                if rc is None or rc[0] != TAG_ENUMERATED or not 1 <= rc[2] <= 4:
                    raise UpgradeError("ExtendedResponse without a resultCode")
                code = int.from_bytes(buf[rc[1]: rc[1] + rc[2]], "big")
                p.take(SERVER, total)
                self.asked = None
                if code == 0:
                    p.go_ahead(frame)
                    return
                p.refused(f"resultCode {code}", frame)
                continue
            p.take(SERVER, total)
