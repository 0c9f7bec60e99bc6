"""Proxy tunnels before TLS: SOCKS4 / SOCKS4a, SOCKS5 (RFC 1928, with RFC 1929
username/password authentication) and HTTP CONNECT (RFC 9110 9.3.6).

Owns reading the client's request and the proxy's answer, and `proxy_target`
(`host:port` the client asked for). SOCKS4 (the NEC protocol text): VN 4, CD 1
(CONNECT) or 2 (BIND), DSTPORT, DSTIP, USERID and a NUL; SOCKS4a puts 0.0.0.x (x != 0)
in DSTIP and a NUL-terminated host name after USERID; the reply is VN 0 and CD 90
(granted) or 91-93 (rejected). SOCKS5: the method selection (VER 5, NMETHODS, METHODS)
answered by one METHOD (0xFF: none acceptable), the RFC 1929 sub-negotiation when
METHOD is 2 (its credentials are skipped, never kept), the request (VER, CMD, RSV,
ATYP, DST.ADDR, DST.PORT) answered by REP 0 (succeeded) or an error. HTTP CONNECT: the
request head, answered by a 2xx head; a refusal may be followed by another request
(proxy authentication). The tunnel's bytes go to TLS from the byte after the answer.
"""

from __future__ import annotations

import ipaddress

from .base import CLIENT, SERVER, Handler, Preamble, UpgradeError

MAX_HTTP_HEAD = 16384           # an HTTP CONNECT request / answer head longer than this is not one
SOCKS4_VERSION, SOCKS4_REPLY_VERSION = 4, 0
SOCKS4_CONNECT, SOCKS4_BIND = 1, 2
SOCKS4_GRANTED = 90
SOCKS4_REPLY_LENGTH = 8
SOCKS5_VERSION = 5
SOCKS5_NO_ACCEPTABLE = 0xFF
SOCKS5_USERNAME_PASSWORD = 0x02
RFC1929_VERSION = 1
SOCKS5_CMD = {1: "CONNECT", 2: "BIND", 3: "UDP ASSOCIATE"}
ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 1, 3, 4
MAX_SOCKS_FIELD = 255


def _nul(buf: bytearray, pos: int) -> int | None:
    end = buf.find(b"\x00", pos)
    if end < 0:
        if len(buf) - pos > MAX_SOCKS_FIELD:
            raise UpgradeError(f"SOCKS4 field longer than {MAX_SOCKS_FIELD} bytes")
        return None
    return end


def _host(name: bytes) -> str:
    return name.decode("latin-1")


def _target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Socks4Handler(Handler):
    name = "socks4"

    def __init__(self) -> None:
        self.asked = False

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        buf = p.buf[CLIENT]
        if not self.asked:
            if len(buf) < 9:
                return
            if buf[0] != SOCKS4_VERSION or buf[1] not in (SOCKS4_CONNECT, SOCKS4_BIND):
                raise UpgradeError("no SOCKS4 request")
            port = (buf[2] << 8) | buf[3]
            ip = bytes(buf[4:8])
            end = _nul(buf, 8)
            if end is None:
                return
            host = str(ipaddress.IPv4Address(ip))
            cmd = "CONNECT" if buf[1] == SOCKS4_CONNECT else "BIND"
            total = end + 1
            if ip[:3] == b"\x00\x00\x00" and ip[3]:     # SOCKS4a: the host name follows
                hend = _nul(buf, end + 1)
                if hend is None:
                    return
                host = _host(bytes(buf[end + 1: hend]))
                total = hend + 1
            p.take(CLIENT, total)
            p.proxy_target = _target(host, port)
            self.asked = True
            p.asked(frame, ts, f"SOCKS4 {cmd} {p.proxy_target}")
        sbuf = p.buf[SERVER]
        if len(sbuf) < SOCKS4_REPLY_LENGTH:
            return
        reply = p.take(SERVER, SOCKS4_REPLY_LENGTH)
        if reply[0] != SOCKS4_REPLY_VERSION:
            raise UpgradeError(f"SOCKS4 reply version {reply[0]}")
        if reply[1] == SOCKS4_GRANTED:
            p.go_ahead(frame)
        else:
            p.refused(f"CD {reply[1]}", frame, final=True)


class Socks5Handler(Handler):
    name = "socks5"

    def __init__(self) -> None:
        self.phase = "methods"      # methods -> method -> [auth -> auth_reply] -> request -> reply

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        cbuf, sbuf = p.buf[CLIENT], p.buf[SERVER]
        while True:
            ph = self.phase
            if ph == "methods":
                if len(cbuf) < 2 or len(cbuf) < 2 + cbuf[1]:
                    return
                if cbuf[0] != SOCKS5_VERSION or cbuf[1] == 0:
                    raise UpgradeError("no SOCKS5 method selection")
                p.take(CLIENT, 2 + cbuf[1])
                self.phase = "method"
            elif ph == "method":
                if len(sbuf) < 2:
                    return
                ver, method = p.take(SERVER, 2)
                if ver != SOCKS5_VERSION:
                    raise UpgradeError(f"SOCKS5 method reply version {ver}")
                if method == SOCKS5_NO_ACCEPTABLE:
                    p.step_detail = "SOCKS5 method selection"
                    p.refused("METHOD 0xff (no acceptable methods)", frame, final=True)
                    return
                self.phase = "auth" if method == SOCKS5_USERNAME_PASSWORD else "request"
            elif ph == "auth":
                # RFC 1929: VER 1, ULEN, UNAME, PLEN, PASSWD; skipped, never kept
                if len(cbuf) < 2 or len(cbuf) < 3 + cbuf[1] or len(cbuf) < 3 + cbuf[1] + cbuf[2 + cbuf[1]]:
                    return
                if cbuf[0] != RFC1929_VERSION:
                    raise UpgradeError(f"SOCKS5 username/password version {cbuf[0]}")
                p.take(CLIENT, 3 + cbuf[1] + cbuf[2 + cbuf[1]])
                self.phase = "auth_reply"
            elif ph == "auth_reply":
                if len(sbuf) < 2:
                    return
                _ver, status = p.take(SERVER, 2)
                if status != 0:
                    p.step_detail = "SOCKS5 username/password"
                    p.refused(f"auth status {status}", frame, final=True)
                    return
                self.phase = "request"
            elif ph == "request":
                parsed = self._address(cbuf, 3)
                if parsed is None:
                    return
                end, host, port = parsed
                if cbuf[0] != SOCKS5_VERSION or cbuf[1] not in SOCKS5_CMD:
                    raise UpgradeError("no SOCKS5 request")
                cmd = SOCKS5_CMD[cbuf[1]]
                p.take(CLIENT, end)
                p.proxy_target = _target(host, port)
                p.asked(frame, ts, f"SOCKS5 {cmd} {p.proxy_target}")
                self.phase = "reply"
            else:
                parsed = self._address(sbuf, 3)
                if parsed is None:
                    return
                end = parsed[0]
                if sbuf[0] != SOCKS5_VERSION:
                    raise UpgradeError(f"SOCKS5 reply version {sbuf[0]}")
                rep = sbuf[1]
                p.take(SERVER, end)
                if rep == 0:
                    p.go_ahead(frame)
                else:
                    p.refused(f"REP {rep}", frame, final=True)
                return

    @staticmethod
    def _address(buf: bytearray, pos: int) -> tuple[int, str, int] | None:
        """(end, host, port) of ATYP DST.ADDR DST.PORT at pos."""
        if len(buf) < pos + 2:
            return None
        atyp = buf[pos]
        if atyp == ATYP_IPV4:
            end = pos + 1 + 4
            host = str(ipaddress.IPv4Address(bytes(buf[pos + 1: end]))) if len(buf) >= end else ""
        elif atyp == ATYP_IPV6:
            end = pos + 1 + 16
            host = str(ipaddress.IPv6Address(bytes(buf[pos + 1: end]))) if len(buf) >= end else ""
        elif atyp == ATYP_DOMAIN:
            end = pos + 2 + buf[pos + 1]
            host = _host(bytes(buf[pos + 2: end]))
        else:
            raise UpgradeError(f"SOCKS5 address type {atyp}")
        if len(buf) < end + 2:
            return None
        return end + 2, host, (buf[end] << 8) | buf[end + 1]


class HTTPConnectHandler(Handler):
    name = "http_connect"

    def __init__(self) -> None:
        self.asked = False

    @staticmethod
    def _head(p: Preamble, d: int) -> bytes | None:
        buf = p.buf[d]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HTTP_HEAD:
                raise UpgradeError(f"{('client', 'server')[d]} HTTP head longer than {MAX_HTTP_HEAD} bytes")
            return None
        return p.take(d, end + 4)[:end]

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        while True:
            if not self.asked:
                head = self._head(p, CLIENT)
                if head is None:
                    return
                line = head.split(b"\r\n", 1)[0]
                parts = line.split(b" ")
                if len(parts) != 3 or parts[0] != b"CONNECT" or not parts[2].startswith(b"HTTP/"):
                    raise UpgradeError(f"client request {line[:60]!r} is no CONNECT")
                p.proxy_target = _host(parts[1][:MAX_SOCKS_FIELD])
                p.asked(frame, ts, f"HTTP CONNECT {p.proxy_target}")
                self.asked = True
            head = self._head(p, SERVER)
            if head is None:
                return
            line = head.split(b"\r\n", 1)[0]
            parts = line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or len(parts[1]) != 3 or not parts[1].isdigit():
                raise UpgradeError(f"proxy answer {line[:60]!r} is no HTTP status line")
            code = parts[1].decode()
            if code[0] == "1":
                continue    # an interim answer; the final one follows
            self.asked = False
            if code[0] == "2":
                p.go_ahead(frame)
                return
            p.refused(code, frame)
