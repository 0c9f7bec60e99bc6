"""Generator of the sample captures of TLS after a plaintext start (script and importable library).

Owns one capture per protocol the upgrade stage follows: real TLS bytes from Python's
``ssl`` module (``ssl.MemoryBIO`` pairs, key log written to ``keylog.txt``) behind a
preamble shaped as the protocol's RFC or specification writes it (SMTP, LMTP, POP3,
IMAP, FTP, NNTP, ManageSieve, IRC, XMPP client and server streams, LDAP StartTLS in
BER, PostgreSQL SSLRequest, MySQL greeting and SSLRequest, RDP X.224 negotiation,
SOCKS4a, SOCKS5 with RFC 1929 authentication, HTTP CONNECT), and negative cases
(refused, never asked, non-standard port). The framing (Ethernet/IPv4/TCP, pcap) is
`captures/generate.py`'s; the PKI is the one in `captures/` (not regenerated).
``MANIFEST.json`` says, per file, the port, the protocol and what the ``ssl`` module
reported, plus the frame of the server's go-ahead.

Usage: ``python captures/upgrade/generate.py [--out DIR]`` (default: this folder).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from captures.generate import (  # noqa: E402
    CLIENT_IP4, SERVER_IP4, SERVER_NAME, Conversation, client_context, frames_for, pki_at, read_keylog,
    server_context, tls_conversation, write_pcap,
)

KEYLOG_NAME = "keylog.txt"
Chunks = list[tuple[int, bytes]]


# --------------------------------------------------------------------------- wire helpers (from the specs)


def ber(tag: int, content: bytes) -> bytes:
    """X.690 definite-length encoding."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def ldap_message(message_id: int, op: bytes) -> bytes:
    return ber(0x30, ber(0x02, bytes([message_id])) + op)


def ldap_starttls_request(message_id: int) -> bytes:
    """RFC 4511 4.12/4.14: ExtendedRequest [APPLICATION 23] { requestName [0] 1.3.6.1.4.1.1466.20037 }."""
    return ldap_message(message_id, ber(0x77, ber(0x80, b"1.3.6.1.4.1.1466.20037")))


def ldap_extended_response(message_id: int, result_code: int, diagnostic: bytes = b"") -> bytes:
    """ExtendedResponse [APPLICATION 24] { resultCode, matchedDN, diagnosticMessage, responseName [10] }."""
    body = ber(0x0A, bytes([result_code])) + ber(0x04, b"") + ber(0x04, diagnostic)
    if result_code == 0:
        body += ber(0x8A, b"1.3.6.1.4.1.1466.20037")
    return ldap_message(message_id, ber(0x78, body))


def ldap_bind_request(message_id: int, name: bytes, password: bytes) -> bytes:
    """BindRequest [APPLICATION 0] { version 3, name, simple [0] password }."""
    return ldap_message(message_id, ber(0x60, ber(0x02, b"\x03") + ber(0x04, name) + ber(0x80, password)))


def pg_ssl_request() -> bytes:
    return struct.pack(">II", 8, 80877103)


def pg_startup(user: bytes) -> bytes:
    body = struct.pack(">I", 196608) + b"user\x00" + user + b"\x00database\x00" + user + b"\x00\x00"
    return struct.pack(">I", 4 + len(body)) + body


CLIENT_LONG_PASSWORD, CLIENT_PROTOCOL_41, CLIENT_SSL, CLIENT_SECURE_CONNECTION = 0x1, 0x200, 0x800, 0x8000
CLIENT_PLUGIN_AUTH = 0x80000


def mysql_packet(seq: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([seq]) + payload


def mysql_greeting(ssl_capable: bool = True) -> bytes:
    """Protocol::HandshakeV10 (MySQL client/server protocol, connection phase)."""
    caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
    if ssl_capable:
        caps |= CLIENT_SSL
    salt = bytes(range(0x31, 0x31 + 20))
    payload = (b"\x0a" + b"8.0.36\x00" + struct.pack("<I", 42) + salt[:8] + b"\x00"
               + struct.pack("<H", caps & 0xFFFF) + b"\xff" + struct.pack("<H", 2)
               + struct.pack("<H", caps >> 16) + bytes([21]) + b"\x00" * 10 + salt[8:] + b"\x00"
               + b"caching_sha2_password\x00")
    return mysql_packet(0, payload)


def mysql_ssl_request() -> bytes:
    """Protocol::SSLRequest: capability flags, max packet size, character set, 23 filler bytes."""
    caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
    return mysql_packet(1, struct.pack("<IIB", caps, 1 << 24, 255) + b"\x00" * 23)


def rdp_connection_request(protocols: int, cookie: bytes = b"Cookie: mstshash=alice\r\n") -> bytes:
    """TPKT + X.224 CR TPDU + cookie + RDP_NEG_REQ ([MS-RDPBCGR] 2.2.1.1)."""
    neg = struct.pack("<BBHI", 1, 0, 8, protocols)
    x224 = bytes([0xE0]) + b"\x00\x00" + b"\x00\x00" + b"\x00" + cookie + neg
    x224 = bytes([len(x224)]) + x224
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def rdp_connection_confirm(selected: int, failure: bool = False) -> bytes:
    """TPKT + X.224 CC TPDU + RDP_NEG_RSP or RDP_NEG_FAILURE ([MS-RDPBCGR] 2.2.1.2)."""
    neg = struct.pack("<BBHI", 3 if failure else 2, 0, 8, selected)
    x224 = bytes([0xD0]) + b"\x00\x00" + b"\x12\x34" + b"\x00" + neg
    x224 = bytes([len(x224)]) + x224
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def socks4a_request(host: bytes, port: int, user: bytes = b"alice") -> bytes:
    return struct.pack(">BBH", 4, 1, port) + b"\x00\x00\x00\x01" + user + b"\x00" + host + b"\x00"


def socks4_reply(code: int) -> bytes:
    return struct.pack(">BBH", 0, code, 0) + b"\x00\x00\x00\x00"


def socks5_request(host: bytes, port: int) -> bytes:
    return b"\x05\x01\x00\x03" + bytes([len(host)]) + host + struct.pack(">H", port)


def socks5_reply(rep: int) -> bytes:
    return b"\x05" + bytes([rep]) + b"\x00\x01" + b"\xc6\x33\x64\x14" + struct.pack(">H", 443)


XMPP_TLS = b"urn:ietf:params:xml:ns:xmpp-tls"


def xmpp_heads(ns: bytes) -> tuple[bytes, bytes]:
    client = (b"<?xml version='1.0'?><stream:stream to='server.test' version='1.0' xml:lang='en' xmlns='" + ns
              + b"' xmlns:stream='http://etherx.jabber.org/streams'>")
    server = (b"<?xml version='1.0'?><stream:stream from='server.test' id='gPybzaOzBmaADgxKXu9UClbprp0=' "
              b"version='1.0' xml:lang='en' xmlns='" + ns + b"' xmlns:stream='http://etherx.jabber.org/streams'>"
              b"<stream:features><starttls xmlns='" + XMPP_TLS + b"'><required/></starttls>"
              b"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>"
              b"</mechanisms></stream:features>")
    return client, server


# --------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    name: str                       # file name without .pcap
    port: int
    protocol: str                   # plaintext_protocol expected
    preamble: Chunks                # plaintext chunks, in order
    tls: bool = True                # TLS follows the preamble
    after: Chunks = field(default_factory=list)  # plaintext after a refusal / in a session that never asks
    expected: dict[str, Any] = field(default_factory=dict)
    merge_first_tls: bool = False   # the client's first TLS bytes in the same segment as its last preamble bytes
    tshark: str | None = None       # tshark dissector to force with -d tcp.port==PORT,NAME (None: not followed)
    note: str = ""
    tls_kw: dict[str, Any] = field(default_factory=dict)


def _ehlo_reply(host: bytes = b"mail.server.test") -> list[bytes]:
    return [b"250-" + host + b" Hello client.test\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n250-PIPEL",
            b"INING\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n"]


def scenarios() -> list[Scenario]:
    smtp_pre = [(1, b"220 mail.server.test ESMTP ready\r\n"), (0, b"EHLO client.test\r\n"),
                *((1, c) for c in _ehlo_reply()), (0, b"STARTTLS\r\n"), (1, b"220 2.0.0 Ready to start TLS\r\n")]
    xc, xs = xmpp_heads(b"jabber:client")
    sc, ss = xmpp_heads(b"jabber:server")
    return [
        Scenario("smtp-starttls", 25, "smtp", smtp_pre, tshark="smtp",
                 note="SMTP STARTTLS (RFC 3207); EHLO reply split mid-line across two segments"),
        Scenario("smtp-starttls-port2525", 2525, "smtp", smtp_pre, tshark="smtp",
                 note="SMTP STARTTLS on a non-standard port (recognised by content)"),
        Scenario("smtp-pipelined", 587, "smtp",
                 [(1, b"220-mail.server.test ESMTP\r\n220 multi-line greeting\r\n"),
                  (0, b"EHLO client.test\r\n"), (1, b"".join(_ehlo_reply())),
                  (0, b"RSET\r\nNOOP\r\nSTARTTLS\r\n"),
                  (1, b"250 2.0.0 Reset\r\n250 2.0.0 OK\r\n220 2.0.0 Ready to start TLS\r\n")],
                 tshark="smtp", note="SMTP with pipelined commands before STARTTLS (RFC 2920) and a multi-line greeting"),
        Scenario("smtp-refused", 25, "smtp",
                 [(1, b"220 mail.server.test ESMTP\r\n"), (0, b"EHLO client.test\r\n"),
                  *((1, c) for c in _ehlo_reply()), (0, b"STARTTLS\r\n"),
                  (1, b"454 4.7.0 TLS not available due to temporary reason\r\n"), (0, b"QUIT\r\n"),
                  (1, b"221 2.0.0 Bye\r\n")], tls=False,
                 expected={"failure": "upgrade_refused", "refusal": "454"}, tshark="smtp",
                 note="STARTTLS refused with 454"),
        Scenario("smtp-never-asked", 25, "smtp",
                 [(1, b"220 mail.server.test ESMTP\r\n"), (0, b"EHLO client.test\r\n"),
                  *((1, c) for c in _ehlo_reply()), (0, b"MAIL FROM:<alice@client.test>\r\n"),
                  (1, b"250 2.1.0 Ok\r\n"), (0, b"RCPT TO:<bob@server.test>\r\n"), (1, b"250 2.1.5 Ok\r\n"),
                  (0, b"DATA\r\n"), (1, b"354 End data with <CR><LF>.<CR><LF>\r\n"),
                  (0, b"Subject: hi\r\n\r\nSTARTTLS is only a word here.\r\n.\r\n"), (1, b"250 Queued\r\n"),
                  (0, b"QUIT\r\n"), (1, b"221 Bye\r\n")], tls=False,
                 expected={"failure": "not_tls"}, tshark="smtp",
                 note="mail in clear although the server offered STARTTLS (capability only)"),
        Scenario("lmtp-starttls", 24, "lmtp",
                 [(1, b"220 lmtp.server.test LMTP ready\r\n"), (0, b"LHLO client.test\r\n"),
                  (1, b"250-lmtp.server.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n"),
                  (0, b"STARTTLS\r\n"), (1, b"220 2.0.0 Begin TLS\r\n")], tshark=None,
                 note="LMTP (RFC 2033) STARTTLS; tshark 4.0 has no LMTP dissector that follows STARTTLS"),
        Scenario("pop3-stls", 110, "pop3",
                 [(1, b"+OK POP3 server ready <1896.697170952@server.test>\r\n"), (0, b"CAPA\r\n"),
                  (1, b"+OK Capability list follows\r\nUSER\r\nSTLS\r\nSASL PLAIN\r\n.\r\n"), (0, b"STLS\r\n"),
                  (1, b"+OK Begin TLS negotiation\r\n")], tshark="pop", tls_kw={"max_version": "TLSv1.2"}, note="POP3 STLS (RFC 2595)"),
        Scenario("imap-starttls", 143, "imap",
                 [(1, b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] server.test ready\r\n"),
                  (0, b"a001 CAPABILITY\r\n"),
                  (1, b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na001 OK CAPABILITY completed\r\n"),
                  (0, b"a002 STARTTLS\r\n"), (1, b"a002 OK Begin TLS negotiation now\r\n")],
                 tshark="imap", note="IMAP STARTTLS (RFC 3501)"),
        Scenario("imap-starttls-port10143", 10143, "imap",
                 [(1, b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"), (0, b"x STARTTLS\r\n"),
                  (1, b"x OK go\r\n")], tshark="imap", note="IMAP STARTTLS on a non-standard port"),
        Scenario("imap-refused", 143, "imap",
                 [(1, b"* OK ready\r\n"), (0, b"a1 STARTTLS\r\n"), (1, b"a1 BAD STARTTLS not supported\r\n"),
                  (0, b"a2 LOGOUT\r\n"), (1, b"* BYE\r\na2 OK\r\n")], tls=False,
                 expected={"failure": "upgrade_refused", "refusal": "BAD"}, tshark="imap", note="IMAP STARTTLS answered BAD"),
        Scenario("ftp-auth-tls", 21, "ftp",
                 [(1, b"220 FTP server ready.\r\n"), (0, b"FEAT\r\n"),
                  (1, b"211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n UTF8\r\n211 End\r\n"),
                  (0, b"AUTH TLS\r\n"), (1, b"234 AUTH TLS successful\r\n")], tshark="ftp",
                 tls_kw={"max_version": "TLSv1.2"}, note="FTP AUTH TLS (RFC 4217) after FEAT's multi-line reply"),
        Scenario("nntp-starttls", 119, "nntp",
                 [(1, b"200 news.server.test NNTP service ready, posting permitted\r\n"), (0, b"CAPABILITIES\r\n"),
                  (1, b"101 Capability list:\r\nVERSION 2\r\nREADER\r\nSTARTTLS\r\n.\r\n"), (0, b"STARTTLS\r\n"),
                  (1, b"382 Continue with TLS negotiation\r\n")], tshark=None,
                 note="NNTP STARTTLS (RFC 4642); tshark 4.0's NNTP dissector does not follow it"),
        Scenario("sieve-starttls", 4190, "sieve",
                 [(1, b'"IMPLEMENTATION" "Example1 ManageSieved v001"\r\n"SIEVE" "fileinto vacation"\r\n'
                      b'"SASL" ""\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\nOK\r\n'), (0, b"STARTTLS\r\n"),
                  (1, b'OK "Begin TLS negotiation now"\r\n')], tshark=None,
                 note="ManageSieve STARTTLS (RFC 5804); tshark 4.0 has no ManageSieve dissector"),
        Scenario("irc-starttls", 6667, "irc",
                 [(1, b":irc.server.test NOTICE * :*** Looking up your hostname...\r\n"), (0, b"CAP LS 302\r\n"),
                  (1, b":irc.server.test CAP * LS :multi-prefix sasl tls\r\n"), (0, b"STARTTLS\r\n"),
                  (1, b":irc.server.test 670 * :STARTTLS successful, proceed with TLS handshake\r\n")],
                 tshark=None, note="IRC STARTTLS (IRCv3 tls, numeric 670); tshark 4.0 does not follow it"),
        Scenario("xmpp-starttls", 5222, "xmpp",
                 [(0, xc), (1, xs), (0, b"<starttls xmlns='" + XMPP_TLS + b"'/>"),
                  (1, b"<proceed xmlns='" + XMPP_TLS + b"'/>")], tshark="xmpp", note="XMPP client STARTTLS (RFC 6120 5.4)"),
        Scenario("xmpp-server-starttls", 5269, "xmpp",
                 [(0, sc), (1, ss), (0, b"<starttls xmlns='" + XMPP_TLS + b"'/>"),
                  (1, b"<proceed xmlns='" + XMPP_TLS + b"'/>")], tshark="xmpp", tls_kw={"max_version": "TLSv1.2"}, note="XMPP server-to-server STARTTLS"),
        Scenario("ldap-starttls", 389, "ldap",
                 [(0, ldap_starttls_request(1)), (1, ldap_extended_response(1, 0))], tshark="ldap",
                 note="LDAP StartTLS extended operation (RFC 4511 4.14)"),
        Scenario("ldap-refused", 389, "ldap",
                 [(0, ldap_starttls_request(1)), (1, ldap_extended_response(1, 2, b"unsupported"))], tls=False,
                 expected={"failure": "upgrade_refused", "refusal": "resultCode 2"}, tshark="ldap",
                 note="StartTLS answered protocolError (2)"),
        Scenario("ldap-bind-in-clear", 389, "ldap",
                 [(0, ldap_bind_request(1, b"cn=admin,dc=test", b"secret")),
                  (1, ldap_message(1, ber(0x61, ber(0x0A, b"\x00") + ber(0x04, b"") + ber(0x04, b""))))],
                 tls=False, expected={"failure": "not_tls"}, tshark="ldap", note="a simple bind in clear, no StartTLS"),
        Scenario("postgres-sslrequest", 5432, "postgres", [(0, pg_ssl_request()), (1, b"S")], tshark="pgsql",
                 tls_kw={"max_version": "TLSv1.2"}, note="PostgreSQL SSLRequest answered 'S'"),
        Scenario("postgres-refused", 5432, "postgres",
                 [(0, pg_ssl_request()), (1, b"N"), (0, pg_startup(b"alice"))], tls=False,
                 expected={"failure": "upgrade_refused", "refusal": "N"}, tshark="pgsql",
                 note="SSLRequest answered 'N', then a StartupMessage in clear"),
        Scenario("mysql-ssl", 3306, "mysql", [(1, mysql_greeting()), (0, mysql_ssl_request())], tshark="mysql",
                 note="MySQL greeting with CLIENT_SSL, the client's SSLRequest, then TLS"),
        Scenario("rdp-tls", 3389, "rdp",
                 [(0, rdp_connection_request(0x1 | 0x2 | 0x8)), (1, rdp_connection_confirm(0x1))], tshark=None,
                 note="RDP X.224 negotiation selecting PROTOCOL_SSL ([MS-RDPBCGR] 2.2.1.1/2.2.1.2); tshark 4.0 "
                      "does not hand the stream to TLS"),
        Scenario("socks4a-connect", 1080, "socks4",
                 [(0, socks4a_request(b"server.test", 443)), (1, socks4_reply(90))], tshark="socks",
                 expected={"proxy_target": "server.test:443"}, tls_kw={"max_version": "TLSv1.2"}, note="SOCKS4a CONNECT by host name"),
        Scenario("socks5-connect", 1080, "socks5",
                 [(0, b"\x05\x02\x00\x02"), (1, b"\x05\x02"), (0, b"\x01\x05alice\x06s3cret"), (1, b"\x01\x00"),
                  (0, socks5_request(b"server.test", 443)), (1, socks5_reply(0))],
                 merge_first_tls=False, tshark="socks", expected={"proxy_target": "server.test:443"},
                 note="SOCKS5 with username/password (RFC 1928, RFC 1929)"),
        Scenario("socks5-refused", 1080, "socks5",
                 [(0, b"\x05\x01\x00"), (1, b"\x05\x00"), (0, socks5_request(b"server.test", 443)),
                  (1, socks5_reply(5))], tls=False,
                 expected={"failure": "upgrade_refused", "refusal": "REP 5", "proxy_target": "server.test:443"},
                 tshark="socks", note="SOCKS5 CONNECT refused (REP 5)"),
        Scenario("http-connect", 3128, "http_connect",
                 [(0, b"CONNECT server.test:443 HTTP/1.1\r\nHost: server.test:443\r\n\r\n"),
                  (1, b"HTTP/1.1 200 Connection established\r\n\r\n")], tshark="http",
                 expected={"proxy_target": "server.test:443"}, note="HTTP CONNECT (RFC 9110 9.3.6)"),
        Scenario("http-connect-optimistic", 8080, "http_connect",
                 [(0, b"CONNECT server.test:443 HTTP/1.1\r\nHost: server.test:443\r\n\r\n"),
                  (1, b"HTTP/1.1 200 Connection established\r\n\r\n")], merge_first_tls=True, tshark="http",
                 expected={"proxy_target": "server.test:443"},
                 note="HTTP CONNECT with the ClientHello in the same segment as the request (sent before the 200)"),
        Scenario("http-connect-refused", 3128, "http_connect",
                 [(0, b"CONNECT server.test:443 HTTP/1.1\r\nHost: server.test:443\r\n\r\n"),
                  (1, b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
                      b"Content-Length: 0\r\n\r\n")], tls=False, tshark="http",
                 expected={"failure": "upgrade_refused", "refusal": "407", "proxy_target": "server.test:443"},
                 note="HTTP CONNECT answered 407"),
    ]


# --------------------------------------------------------------------------- build


def _payloads(frames: Sequence[tuple[float, bytes]]) -> list[tuple[int, int, int]]:
    """(frame number, direction, payload bytes) of each frame (Ethernet/IPv4/TCP as frames_for writes them)."""
    out = []
    for i, (_t, fr) in enumerate(frames, 1):
        ihl = (fr[14] & 0x0F) * 4
        tcp = 14 + ihl
        sport = struct.unpack_from(">H", fr, tcp)[0]
        doff = (fr[tcp + 12] >> 4) * 4
        total = struct.unpack_from(">H", fr, 16)[0]
        out.append((i, 0 if sport != SCENARIO_PORT[0] else 1, total - ihl - doff))
    return out


SCENARIO_PORT = [0]


def frame_of_offset(frames: Sequence[tuple[float, bytes]], direction: int, offset: int) -> int:
    """The frame carrying byte `offset` of a direction's stream (first transmission)."""
    pos = 0
    for n, d, plen in _payloads(frames):
        if d == direction and plen:
            if pos <= offset < pos + plen:
                return n
            pos += plen
    raise ValueError("offset beyond the stream")


def build(sc: Scenario, pki: Any, keylog: Path, client_port: int) -> tuple[Conversation, dict[str, Any]]:
    client = (CLIENT_IP4, client_port)
    server = (SERVER_IP4, sc.port)
    chunks: Chunks = list(sc.preamble)
    exp: dict[str, Any] = {"tls": sc.tls, "plaintext_protocol": sc.protocol,
                           "upgraded_from": sc.protocol if sc.tls else None, "proxy_target": None}
    exp.update(sc.expected)
    if sc.tls:
        conv = tls_conversation(client_context(pki, keylog=keylog, max_version=sc.tls_kw.get("max_version")),
                                server_context(pki, cert="ecdsa"), server_hostname=SERVER_NAME,
                                client=client, server=server)
        tls_chunks = list(conv.chunks)
        if sc.merge_first_tls:
            d0, b0 = chunks[-2]
            assert d0 == 0 and tls_chunks[0][0] == 0
            chunks[-2] = (0, b0 + tls_chunks[0][1])
            tls_chunks = tls_chunks[1:]
        chunks += tls_chunks
        for k in ("version", "cipher", "cipher_code", "handshake_complete", "sni", "alpn"):
            exp[k] = conv.expected.get(k)
        exp["plaintext"] = {k: v.hex() for k, v in conv.expected["plaintext"].items()}
        # byte offsets where TLS starts: after the client's last preamble bytes, after the go-ahead
        start = {d: sum(len(b) for dr, b in sc.preamble if dr == d) for d in (0, 1)}
        exp["tls_offset"] = {"c2s": start[0], "s2c": start[1]}
    else:
        chunks += sc.after
        exp.update({"handshake_complete": False})
    out = Conversation(chunks=chunks, client=client, server=server, expected=exp)
    return out, exp


def generate_all(out: str | Path = HERE) -> dict[str, Any]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pki = pki_at(HERE.parent)
    keylog = out / KEYLOG_NAME
    if keylog.exists():
        keylog.unlink()
    built = []
    for i, sc in enumerate(scenarios()):
        conv, exp = build(sc, pki, keylog, 40000 + i)
        built.append((sc, conv, exp))
    import gc
    gc.collect()  # close the key log BIOs of discarded contexts
    klog = read_keylog(keylog)
    manifest: dict[str, Any] = {"generator": "captures/upgrade/generate.py", "keylog": KEYLOG_NAME,
                                "ca": "../ca.crt", "files": {}}
    for sc, conv, exp in built:
        SCENARIO_PORT[0] = sc.port
        frames = frames_for(conv, mss=(1460, 1460))
        path = out / f"{sc.name}.pcap"
        write_pcap(path, frames)
        if sc.tls:
            pre_server = [b for d, b in sc.preamble if d == 1]
            pre_client = [b for d, b in sc.preamble if d == 0]
            if sc.protocol == "mysql":  # no go-ahead: the client's SSLRequest is the switch
                exp["upgrade_frame"] = frame_of_offset(frames, 0, sum(map(len, pre_client)) - 1)
            else:
                exp["upgrade_frame"] = frame_of_offset(frames, 1, sum(map(len, pre_server)) - 1)
            cr = None
            c2s = b"".join(b for d, b in conv.chunks if d == 0)[exp["tls_offset"]["c2s"]:]
            if len(c2s) >= 43 and c2s[0] == 0x16:
                cr = c2s[11:43]
            exp["client_random"] = cr.hex() if cr else None
            exp["keylog_labels"] = sorted({ln.split()[0] for ln in klog.get(cr, [])}) if cr else []
        manifest["files"][path.name] = {
            "description": sc.note, "port": sc.port, "protocol": sc.protocol, "tshark_dissector": sc.tshark,
            "frames": len(frames), "size": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "connections": [{"stream": 0, "client": list(conv.client), "server": list(conv.server),
                             "expected": exp}],
        }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE), help="output directory (default: %(default)s)")
    args = parser.parse_args(argv)
    manifest = generate_all(args.out)
    sys.stderr.write(f"wrote {len(manifest['files'])} captures to {args.out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
