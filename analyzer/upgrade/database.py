"""Database protocols that switch to TLS inside their own framing: PostgreSQL and MySQL.

Owns the readers of PostgreSQL's SSLRequest (an 8-byte message: length 8, code
80877103) answered by one byte, 'S' (TLS follows) or 'N' (no TLS; the client may go on
in clear), and of its GSSENCRequest (code 80877104, answered 'G' for GSSAPI encryption,
not TLS, or 'N'), per the PostgreSQL protocol's "Message Flow" chapter; and of MySQL's
connection phase: the server's Protocol::Handshake (protocol version 10) announcing
CLIENT_SSL in its capability flags, then the client's SSLRequest packet (a 32-byte
HandshakeResponse with CLIENT_SSL set), after which both sides speak TLS. A full
HandshakeResponse without CLIENT_SSL, or a PostgreSQL StartupMessage, means the
session goes on in clear.
"""

from __future__ import annotations

import struct

from .base import CLIENT, SERVER, Handler, Preamble, UpgradeError

PG_SSL_REQUEST = 80877103
PG_GSSENC_REQUEST = 80877104
PG_CANCEL_REQUEST = 80877102
PG_PROTOCOL_3 = 196608          # StartupMessage protocol version 3.0
PG_REQUEST_LENGTH = 8
PG_MAX_STARTUP = 10000          # the server refuses longer startup packets

MYSQL_PROTOCOL_10 = 10
CLIENT_SSL = 0x00000800
MYSQL_SSL_REQUEST_LENGTH = 32   # capability flags, max packet size, charset, 23 filler bytes
MYSQL_ERR = 0xFF
MYSQL_MAX_PACKET = 1 << 24

_U32 = struct.Struct(">I")


def pg_request(data: bytes | bytearray) -> int | None:
    """The code of a PostgreSQL startup-phase message at the start of data (None: need more / not one)."""
    if len(data) < 8:
        return None
    length, code = _U32.unpack_from(data, 0)[0], _U32.unpack_from(data, 4)[0]
    if code in (PG_SSL_REQUEST, PG_GSSENC_REQUEST) and length == PG_REQUEST_LENGTH:
        return code
    if code == PG_CANCEL_REQUEST and length == 16:
        return code
    if code == PG_PROTOCOL_3 and 8 < length <= PG_MAX_STARTUP:
        return code
    return None


class PostgresHandler(Handler):
    name = "postgres"

    def __init__(self) -> None:
        self.asked: int | None = None    # the request awaiting its one-byte answer

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        while True:
            if self.asked is None:
                buf = p.buf[CLIENT]
                if len(buf) < 8:
                    return
                code = pg_request(buf)
                if code is None:
                    raise UpgradeError(f"client message {bytes(buf[:8]).hex()} is no PostgreSQL startup message")
                if code in (PG_PROTOCOL_3, PG_CANCEL_REQUEST):
                    what = "StartupMessage" if code == PG_PROTOCOL_3 else "CancelRequest"
                    offer = " after the SSLRequest was refused" if p.refusal else ""
                    p.plaintext(f"postgres: {what} in clear in frame {frame}{offer}")
                    return
                p.take(CLIENT, 8)
                self.asked = code
                p.asked(frame, ts, "PostgreSQL SSLRequest" if code == PG_SSL_REQUEST else "PostgreSQL GSSENCRequest")
            sbuf = p.buf[SERVER]
            if not sbuf:
                return
            answer = sbuf[0]
            p.take(SERVER, 1)
            code, self.asked = self.asked, None
            if answer == ord("S") and code == PG_SSL_REQUEST:
                p.go_ahead(frame)
                return
            if answer == ord("G") and code == PG_GSSENC_REQUEST:
                p.plaintext(f"postgres: GSSAPI encryption (not TLS) accepted in frame {frame}")
                return
            if answer == ord("N"):
                p.refused("N", frame)
                continue
            if answer == ord("E"):  # an ErrorResponse: a server too old for the request
                p.refused("E (ErrorResponse)", frame, final=True)
                return
            raise UpgradeError(f"answer byte 0x{answer:02x} to the request is none the protocol allows")


class MySQLHandler(Handler):
    name = "mysql"

    def __init__(self) -> None:
        self.server_caps: int | None = None

    @staticmethod
    def _packet(buf: bytearray) -> tuple[int, int] | None:
        """(payload length, sequence id) of a complete packet at the start of buf."""
        if len(buf) < 4:
            return None
        length = buf[0] | (buf[1] << 8) | (buf[2] << 16)
        if len(buf) < 4 + length:
            return None
        return length, buf[3]

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        if self.server_caps is None:
            pk = self._packet(p.buf[SERVER])
            if pk is None:
                return
            length, _seq = pk
            payload = bytes(p.buf[SERVER][4: 4 + length])
            if payload[:1] == bytes([MYSQL_ERR]):
                code = int.from_bytes(payload[1:3], "little") if len(payload) >= 3 else 0
                p.plaintext(f"mysql: the server greeted with error {code} in frame {frame}")
                return
            self.server_caps = greeting_capabilities(payload)
            p.take(SERVER, 4 + length)
            if self.server_caps & CLIENT_SSL:
                p.offered = True
        pk = self._packet(p.buf[CLIENT])
        if pk is None:
            return
        length, _seq = pk
        caps = int.from_bytes(p.buf[CLIENT][4:8], "little") if length >= 4 else 0
        if length == MYSQL_SSL_REQUEST_LENGTH and caps & CLIENT_SSL:
            p.take(CLIENT, 4 + length)
            p.asked(frame, ts, "MySQL SSLRequest")
            if not self.server_caps & CLIENT_SSL:
                p.note("mysql: the client asked for TLS although the server's greeting lacks CLIENT_SSL")
            # no answer comes: the server's next bytes are its TLS ServerHello
            p.go_ahead(frame)
            return
        offer = " although the server offered TLS" if p.offered else ""
        p.plaintext(f"mysql: HandshakeResponse in clear in frame {frame}{offer}")


def greeting_capabilities(payload: bytes) -> int:
    """The capability flags of a Protocol::HandshakeV10 payload (lower 16 bits, and the upper ones if present)."""
    if not payload or payload[0] != MYSQL_PROTOCOL_10:
        raise UpgradeError(f"server greeting protocol version {payload[:1].hex() or 'missing'} is not 10")
    end = payload.find(b"\x00", 1)
    if end < 0:
        raise UpgradeError("server greeting version string is not terminated")
    pos = end + 1 + 4 + 8 + 1           # connection id, auth-plugin-data-part-1, filler
    if len(payload) < pos + 2:
        raise UpgradeError("server greeting ends before its capability flags")
    caps = payload[pos] | (payload[pos + 1] << 8)
    pos += 2 + 1 + 2                    # character set, status flags
    if len(payload) >= pos + 2:
        caps |= (payload[pos] | (payload[pos + 1] << 8)) << 16
    return caps


def mysql_greeting(data: bytes | bytearray) -> bool | None:
    """Whether data starts like a MySQL server greeting (None: too few bytes)."""
    if len(data) < 6:
        return None
    length = data[0] | (data[1] << 8) | (data[2] << 16)
    if data[3] != 0 or length < 20 or length > MYSQL_MAX_PACKET:
        return False
    if data[4] == MYSQL_ERR:
        return True
    if data[4] != MYSQL_PROTOCOL_10:
        return False
    # a printable version string follows ("8.0.36", "5.7.44-log", "11.2.2-MariaDB")
    return 0x30 <= data[5] <= 0x39
