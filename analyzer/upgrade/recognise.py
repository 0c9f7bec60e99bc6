"""Which plaintext protocol a connection speaks, from its first bytes (ports only break ties).

Owns `recognise(preamble)`: it looks at what each direction sent first and returns the
protocol's handler, None while too few bytes were seen to tell, or False when no
protocol of this stage fits (then the bytes go on to TLS as they are). Binary openings
(SOCKS, PostgreSQL, LDAP BER, RDP TPKT, a MySQL greeting) are checked field by field;
text ones by their first line or word: a server greeting (`220`, `200`, `+OK`, `* OK`,
ManageSieve capabilities, IRC notices, an XML stream head) or, for captures that start
mid-session, a client command (EHLO, LHLO, STARTTLS, STLS, a tagged IMAP command ...).
A port decides only what content leaves open (a bare `STARTTLS`, a `220` greeting
before the first command).
"""

from __future__ import annotations

from .base import MAX_RECOGNITION_BYTES, Handler, Preamble
from .database import MySQLHandler, PostgresHandler, mysql_greeting, pg_request
from .ldap import LDAPHandler, looks_like_ldap
from .mail import (
    BareStartTLSHandler, IMAPHandler, IRCHandler, POP3Handler, ReplyCodeHandler, SieveHandler, reply_code,
)
from .proxy import HTTPConnectHandler, Socks4Handler, Socks5Handler
from .rdp import X224_CR, RDPHandler, tpkt
from .xmpp import XMPPHandler

# ports that break ties between protocols whose openings are alike
FTP_PORTS = frozenset({21, 990, 2121})
LMTP_PORTS = frozenset({24})
NNTP_PORTS = frozenset({119, 433, 563})
SIEVE_PORTS = frozenset({4190, 2000})
IRC_PORTS = frozenset({194, 6665, 6666, 6667, 6668, 6669, 6697, 7000})
POP3_PORTS = frozenset({110, 995})

_CLIENT_WORDS = ("EHLO", "HELO", "LHLO", "STARTTLS", "STLS", "CAPA", "AUTH", "FEAT", "CAP", "NICK",
                 "CAPABILITIES", "CONNECT")
_IMAP_FIRST = frozenset({b"CAPABILITY", b"STARTTLS", b"NOOP", b"ID", b"LOGIN", b"AUTHENTICATE"})
_SOCKS5_METHODS_MAX = 0xFE


def _fallback(port: int) -> str:
    if port in FTP_PORTS:
        return "ftp"
    if port in LMTP_PORTS:
        return "lmtp"
    return "smtp"


_XML_HEADS = (b"<?xml", b"<stream")


def _xml_head(buf: bytearray) -> bool | None:
    """Whether buf starts an XML stream (an XML declaration or a stream element); None: too short to tell."""
    head = bytes(buf[:7])
    if any(head.startswith(sig) for sig in _XML_HEADS):
        return True
    return None if any(sig.startswith(head) for sig in _XML_HEADS) else False


def _first_line(buf: bytearray) -> bytes | None:
    end = buf.find(b"\n")
    return bytes(buf[:end]).rstrip(b"\r") if end >= 0 else None


def _client(buf: bytearray, port: int) -> "Handler | None | bool":
    n = len(buf)
    b0 = buf[0]
    if b0 == 0x04:          # SOCKS4 / 4a: VN 4, CD 1 or 2, port, address, NUL-terminated user id
        if n < 2:
            return None
        if buf[1] not in (1, 2):
            return False
        if n < 9:
            return None
        return Socks4Handler() if buf.find(b"\x00", 8) >= 0 else (None if n < 8 + 256 else False)
    if b0 == 0x05:          # SOCKS5 method selection: VER 5, NMETHODS, METHODS
        if n < 2:
            return None
        k = buf[1]
        if k == 0:
            return False
        if n < 2 + k:
            return None
        if any(m > _SOCKS5_METHODS_MAX or 0x0A <= m < 0x80 for m in buf[2: 2 + k]):
            return False
        return Socks5Handler() if n == 2 + k or buf[2 + k] == 0x05 or buf[2 + k] == 0x01 else False
    if b0 == 0x00:          # PostgreSQL: int32 length, int32 request code
        if n < 8:
            return None
        return PostgresHandler() if pg_request(buf) is not None else False
    if b0 == 0x30:          # LDAPMessage
        v = looks_like_ldap(buf)
        return LDAPHandler() if v else v
    if b0 == 0x03:          # TPKT + X.224 Connection Request
        v = tpkt(buf, X224_CR)
        return RDPHandler() if isinstance(v, int) and not isinstance(v, bool) else v
    if b0 == 0x3C:          # '<': an XML stream head
        v = _xml_head(buf)
        return XMPPHandler() if v else v
    return _client_text(buf, port)


def _client_text(buf: bytearray, port: int) -> "Handler | None | bool":
    line = _first_line(buf)
    text = bytes(buf[:64]) if line is None else line
    words = text.split()
    first = words[0].upper().decode("latin-1") if words else ""
    if line is None and (len(words) <= 1 and not text.endswith(b" ")):
        # the first word may still be growing: wait only if it can become one we know
        if not first or any(w.startswith(first) for w in _CLIENT_WORDS) or first.isalnum():
            return None if len(buf) < MAX_RECOGNITION_BYTES else False
        return False
    if first == "CONNECT":
        return HTTPConnectHandler()
    if first in ("EHLO", "HELO"):
        return ReplyCodeHandler("smtp")
    if first == "LHLO":
        return ReplyCodeHandler("lmtp")
    if first in ("STLS", "CAPA"):
        return POP3Handler()
    if first == "FEAT" or (first == "AUTH" and len(words) > 1 and words[1].upper() in (b"TLS", b"SSL", b"TLS-C",
                                                                                      b"TLS-P")):
        return ReplyCodeHandler("ftp")
    if first == "CAPABILITIES":
        return ReplyCodeHandler("nntp")
    if first in ("CAP", "NICK"):
        return IRCHandler()
    if first == "STARTTLS":
        if port in NNTP_PORTS:
            return ReplyCodeHandler("nntp")
        if port in SIEVE_PORTS:
            return SieveHandler()
        if port in IRC_PORTS:
            return IRCHandler()
        return BareStartTLSHandler(_fallback(port))
    if len(words) >= 2 and words[1].upper() in _IMAP_FIRST and words[0].isalnum():
        return IMAPHandler()
    if line is None and len(buf) < MAX_RECOGNITION_BYTES and len(words) < 2:
        return None
    return False


def _server(buf: bytearray, port: int) -> "Handler | None | bool":
    b0 = buf[0]
    if len(buf) >= 5 and buf[3] == 0 and buf[4] in (10, 0xFF):  # a MySQL packet header, sequence id 0
        v = mysql_greeting(buf)
        if v is not False:
            return MySQLHandler() if v else None
    if b0 < 0x20 or b0 >= 0x80:
        return None if len(buf) < 5 else False  # a MySQL packet header needs 5 bytes
    if b0 == 0x3C:
        v = _xml_head(buf)
        return XMPPHandler() if v else v
    line = _first_line(buf)
    if line is None:
        head = bytes(buf[:8])
        if len(buf) >= MAX_RECOGNITION_BYTES:
            return False
        if len(buf) < 5:
            return None  # maybe the header of a MySQL greeting
        if head[:1].isdigit() or head[:1] in (b"+", b"*", b'"', b":", b"N"):
            return None
        return False
    rc = reply_code(line)
    if rc is not None:
        code = rc[0]
        if code in ("200", "201"):
            return ReplyCodeHandler("nntp")
        upper = line.upper()
        if code != "220" and code[0] not in "45":
            return False
        if b"FTP" in upper or port in FTP_PORTS:
            return ReplyCodeHandler("ftp")
        if b"LMTP" in upper:
            return ReplyCodeHandler("lmtp")
        if b"SMTP" in upper:
            return ReplyCodeHandler("smtp")
        return ReplyCodeHandler("", _fallback(port))
    if line.startswith(b"+OK"):
        return POP3Handler()
    if line.startswith(b"* OK") or line.startswith(b"* PREAUTH") or line.startswith(b"* BYE"):
        return IMAPHandler()
    if line.startswith(b'"'):
        return SieveHandler()
    if line.startswith(b":") or line.upper().startswith(b"NOTICE "):
        return IRCHandler()
    return False


def recognise(p: Preamble) -> "Handler | None | bool":
    """The handler of the protocol the preamble's first bytes show; None: need more; False: none."""
    client, server = p.buf
    port = p.ports[1]
    verdicts = []
    if server:
        verdicts.append(_server(server, port))
    if client:
        verdicts.append(_client(client, port))
    for v in verdicts:
        if v:
            return v  # type: ignore[return-value]
    if any(v is None for v in verdicts) and max(len(server), len(client)) < MAX_RECOGNITION_BYTES:
        return None
    return False
