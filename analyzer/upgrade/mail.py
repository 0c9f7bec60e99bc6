"""Text line protocols that switch to TLS with a command: mail, news, file transfer, chat.

Owns the readers of SMTP and LMTP (STARTTLS answered 220; RFC 3207, RFC 2033), FTP
(AUTH TLS / AUTH SSL answered 234; RFC 4217), NNTP (STARTTLS answered 382; RFC 4642),
POP3 (STLS answered +OK; RFC 2595), IMAP (tagged STARTTLS answered by the tagged OK;
RFC 3501 / RFC 9051), ManageSieve (STARTTLS answered OK; RFC 5804) and IRC (STARTTLS
answered by numeric 670, refused by 691; the IRCv3 tls extension).

Replies are paired with commands in order (pipelining, RFC 2920), multi-line replies
(`250-`, FTP's `211-` ... `211 `, dot-terminated blocks) are read to their last line,
and only the reply to the TLS request can be a go-ahead: a capability list naming
STARTTLS is an offer (`Preamble.offered`), never a switch. A command that carries data
or credentials (MAIL, LOGIN, USER, AUTH ...) before any switch ends the preamble: the
session stays in clear. A line that is not a reply of the protocol ends it too.
"""

from __future__ import annotations

from .base import CLIENT, FOLLOWING, SERVER, Handler, Preamble, UpgradeError


def _word(line: bytes) -> tuple[str, str]:
    """The command word (upper case) and the rest of a client line."""
    parts = line.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0].decode("latin-1").upper(), (parts[1].decode("latin-1") if len(parts) > 1 else "")


def _text(line: bytes, n: int = 60) -> str:
    return line[:n].decode("latin-1")


class LineHandler(Handler):
    """Reads client lines and server lines in turn; client lines after a TLS request wait."""

    label = ""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending: list[str] = []    # kinds of the commands awaiting a reply, oldest first
        self.replies = 0

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        while p.state == FOLLOWING:
            if not p.held:
                line = p.line(CLIENT)
                if line is not None:
                    self.client_line(p, line, frame, ts)
                    continue
            line = p.line(SERVER)
            if line is None:
                return
            self.server_line(p, line, frame, ts)

    def client_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        raise NotImplementedError

    def server_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        raise NotImplementedError

    def in_clear(self, p: Preamble, what: str, frame: int) -> None:
        offer = " although the server offered TLS" if p.offered else ""
        after = " after the switch was refused" if p.refusal else ""
        p.plaintext(f"{p.protocol}: {what} in clear in frame {frame} without a switch to TLS{after}{offer}")


# --------------------------------------------------------------------------- 3-digit replies

_SMTP_DATA = frozenset({"MAIL", "RCPT", "DATA", "BDAT", "AUTH", "VRFY", "EXPN", "ETRN", "TURN", "ATRN"})
_FTP_DATA = frozenset({"USER", "PASS", "ACCT", "RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "PASV", "EPSV",
                       "PORT", "EPRT", "CWD", "MLSD", "MLST", "SIZE", "MDTM", "DELE", "RNFR", "RNTO"})
_FTP_WORDS = frozenset({"FEAT", "SYST", "PBSZ", "PROT", "OPTS", "HELP", "NOOP", "CLNT"})
_FTP_TLS_ARGS = frozenset({"TLS", "SSL", "TLS-C", "TLS-P"})
_NNTP_DATA = frozenset({"ARTICLE", "BODY", "HEAD", "STAT", "GROUP", "LISTGROUP", "POST", "IHAVE", "AUTHINFO",
                        "NEWNEWS", "NEWGROUPS", "OVER", "XOVER", "HDR", "XHDR", "LAST", "NEXT", "TAKETHIS",
                        "CHECK"})
# NNTP answers with a dot-terminated block after these codes (RFC 3977 3.2)
_NNTP_BLOCK = frozenset({"100", "101", "215", "220", "221", "222", "224", "225", "230", "231"})
_GO_AHEAD = {"smtp": "220", "lmtp": "220", "ftp": "234", "nntp": "382"}
LABELS = {"smtp": "SMTP", "lmtp": "LMTP", "ftp": "FTP", "nntp": "NNTP", "pop3": "POP3", "imap": "IMAP",
          "sieve": "ManageSieve", "irc": "IRC"}


def reply_code(line: bytes) -> tuple[str, bool] | None:
    """('250', final?) of a 3-digit reply line (`250-...` continues, `250 ...` or `250` ends)."""
    if len(line) < 3 or not line[:3].isdigit() or line[0] < 0x31 or line[0] > 0x35:
        return None
    sep = line[3:4]
    if sep == b"-":
        return line[:3].decode(), False
    if sep in (b" ", b""):
        return line[:3].decode(), True
    return None


class ReplyCodeHandler(LineHandler):
    """SMTP, LMTP, FTP, NNTP: replies start with three digits. `name` may be '' until the
    first command says which (a `220` greeting is SMTP, LMTP or FTP)."""

    def __init__(self, name: str, fallback: str = "smtp") -> None:
        super().__init__(name)
        self.fallback = fallback        # the name if no command ever says (by greeting text or port)
        self.multi: str | None = None   # code of the multi-line reply being read
        self.block = False              # inside an NNTP dot-terminated block

    def _resolve(self, p: Preamble, name: str) -> None:
        if not self.name:
            self.name = p.protocol = name

    def client_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        word, arg = _word(line)
        if not word:
            return
        if word in ("EHLO", "HELO"):
            self._resolve(p, "smtp")
        elif word == "LHLO":
            self._resolve(p, "lmtp")
        elif word == "AUTH" and arg.split(" ")[0].upper() in _FTP_TLS_ARGS:
            self._resolve(p, "ftp")
        elif word in _FTP_WORDS or (word in _FTP_DATA and word not in _NNTP_DATA):
            self._resolve(p, "ftp")
        elif word in ("CAPABILITIES", "MODE"):
            self._resolve(p, "nntp")
        name = self.name or self.fallback
        if (word == "STARTTLS" and name != "ftp") or (word == "AUTH" and name == "ftp"
                                                      and arg.split(" ")[0].upper() in _FTP_TLS_ARGS):
            self._resolve(p, name)
            self.pending.append("tls")
            p.asked(frame, ts, f"{LABELS[name]} {line.strip()[:40].decode('latin-1')}")
            return
        data = {"smtp": _SMTP_DATA, "lmtp": _SMTP_DATA, "ftp": _FTP_DATA, "nntp": _NNTP_DATA}[name]
        if word in data:
            self._resolve(p, name)
            self.in_clear(p, word, frame)
            return
        self.pending.append(word)

    def server_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        if self.block:
            if line == b".":
                self.block = False
            return
        if self.multi is not None:
            upper = line.upper()
            if b"STARTTLS" in upper or (self.multi == "211" and b"AUTH" in upper and b"TLS" in upper):
                p.offered = True
            if line[:3].decode("latin-1") == self.multi and line[3:4] in (b" ", b""):
                code = self.multi
                self.multi = None
                self._reply(p, code, line, frame)
            elif reply_code(line) is None and (self.name or self.fallback) != "ftp":
                raise UpgradeError(f"server line {_text(line)!r} inside a {self.multi} reply")
            return
        rc = reply_code(line)
        if rc is None:
            raise UpgradeError(f"server line {_text(line)!r} is no {LABELS[self.name or self.fallback]} reply")
        code, final = rc
        if b"STARTTLS" in line.upper():
            p.offered = True
        if not final:
            self.multi = code
            return
        self._reply(p, code, line, frame)

    def _reply(self, p: Preamble, code: str, line: bytes, frame: int) -> None:
        self.replies += 1
        if self.pending:
            kind = self.pending.pop(0)
        else:
            kind = "greeting" if self.replies == 1 else "unsolicited"
        name = self.name or self.fallback
        if kind == "greeting":
            if code == "200" or code == "201":
                self._resolve(p, "nntp")
            elif code[0] in "45":
                p.refused(code, frame, final=True)
            return
        if name == "nntp" and code in _NNTP_BLOCK:
            self.block = True
        if kind != "tls":
            return
        self._resolve(p, name)
        if code == _GO_AHEAD[name]:
            p.go_ahead(frame)
            if self.pending:
                p.note(f"{name}: commands pipelined after the TLS request (RFC 2920 forbids it)")
            return
        if code[0] not in "45":
            p.note(f"{name}: {code} is no answer to the TLS request that the RFC allows")
        p.refused(code, frame)


# --------------------------------------------------------------------------- POP3

_POP3_DATA = frozenset({"USER", "PASS", "APOP", "AUTH", "RETR", "LIST", "TOP", "UIDL", "STAT", "DELE"})
_POP3_BLOCK = frozenset({"CAPA", "LIST", "UIDL", "TOP", "RETR"})


class POP3Handler(LineHandler):
    """POP3 (RFC 1939, STLS RFC 2595): `+OK` / `-ERR` status lines; CAPA answers a dot block."""

    def __init__(self) -> None:
        super().__init__("pop3")
        self.block = False

    def client_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        word, _ = _word(line)
        if word == "STLS":
            self.pending.append("tls")
            p.asked(frame, ts, "POP3 STLS")
        elif word in _POP3_DATA:
            self.in_clear(p, word, frame)
        elif word:
            self.pending.append(word)

    def server_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        if self.block:
            if line == b".":
                self.block = False
            elif line.strip().upper() == b"STLS":
                p.offered = True
            return
        ok = line.startswith(b"+OK")
        if not ok and not line.startswith(b"-ERR"):
            raise UpgradeError(f"server line {_text(line)!r} is no POP3 status")
        self.replies += 1
        kind = self.pending.pop(0) if self.pending else ("greeting" if self.replies == 1 else "unsolicited")
        if kind == "tls":
            if ok:
                p.go_ahead(frame)
            else:
                p.refused("-ERR", frame)
        elif ok and kind in _POP3_BLOCK:
            self.block = True


# --------------------------------------------------------------------------- IMAP

_IMAP_DATA = frozenset({"LOGIN", "AUTHENTICATE", "SELECT", "EXAMINE", "LIST", "LSUB", "FETCH", "APPEND",
                        "STATUS", "CREATE", "DELETE", "RENAME", "SUBSCRIBE"})


class IMAPHandler(LineHandler):
    """IMAP (RFC 3501 / RFC 9051): tagged commands, untagged `*` data, tagged completion."""

    def __init__(self) -> None:
        super().__init__("imap")
        self.tls_tag: bytes | None = None

    def client_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        parts = line.strip().split(None, 2)
        if len(parts) < 2:
            return
        tag, cmd = parts[0], parts[1].decode("latin-1").upper()
        if cmd == "STARTTLS":
            self.tls_tag = tag
            p.asked(frame, ts, "IMAP STARTTLS")
        elif cmd in _IMAP_DATA:
            self.in_clear(p, cmd, frame)

    def server_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        if line.startswith(b"* ") or line.startswith(b"+"):
            upper = line.upper()
            if b"STARTTLS" in upper:
                p.offered = True
            if upper.startswith(b"* PREAUTH"):
                p.plaintext(f"imap: PREAUTH greeting in frame {frame} (already authenticated: no STARTTLS)")
            return
        parts = line.split(None, 2)
        if len(parts) < 2 or parts[1].upper() not in (b"OK", b"NO", b"BAD"):
            raise UpgradeError(f"server line {_text(line)!r} is no IMAP response")
        if self.tls_tag is not None and parts[0] == self.tls_tag:
            self.tls_tag = None
            if parts[1].upper() == b"OK":
                p.go_ahead(frame)
            else:
                p.refused(parts[1].decode().upper(), frame)


# --------------------------------------------------------------------------- ManageSieve

_SIEVE_DATA = frozenset({"AUTHENTICATE", "PUTSCRIPT", "GETSCRIPT", "LISTSCRIPTS", "SETACTIVE", "DELETESCRIPT",
                         "HAVESPACE", "CHECKSCRIPT", "RENAMESCRIPT"})


class SieveHandler(LineHandler):
    """ManageSieve (RFC 5804): responses are lines ending with one starting OK, NO or BYE."""

    def __init__(self) -> None:
        super().__init__("sieve")

    def client_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        word, _ = _word(line)
        if word == "STARTTLS":
            self.pending.append("tls")
            p.asked(frame, ts, "ManageSieve STARTTLS")
        elif word in _SIEVE_DATA:
            self.in_clear(p, word, frame)
        elif word:
            self.pending.append(word)

    def server_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        word = line.split(None, 1)[0].upper() if line.strip() else b""
        status = word.split(b"(")[0]
        if status not in (b"OK", b"NO", b"BYE"):
            if line.startswith(b'"') or line.startswith(b"{"):
                if line.upper().startswith(b'"STARTTLS"'):
                    p.offered = True
                return
            raise UpgradeError(f"server line {_text(line)!r} is no ManageSieve response")
        self.replies += 1
        kind = self.pending.pop(0) if self.pending else ("greeting" if self.replies == 1 else "unsolicited")
        if kind == "tls":
            if status == b"OK":
                p.go_ahead(frame)
            else:
                p.refused(status.decode(), frame, final=status == b"BYE")
        elif status == b"BYE":
            p.plaintext(f"sieve: the server said BYE in frame {frame}")


# --------------------------------------------------------------------------- IRC

RPL_STARTTLS, ERR_STARTTLS, ERR_UNKNOWNCOMMAND, RPL_WELCOME = b"670", b"691", b"421", b"001"
_IRC_DATA = frozenset({"JOIN", "PRIVMSG", "NOTICE", "OPER", "PART", "WHO", "WHOIS", "LIST", "MODE"})


class IRCHandler(LineHandler):
    """IRC (RFC 1459 / 2812 lines; STARTTLS from the IRCv3 tls extension)."""

    def __init__(self) -> None:
        super().__init__("irc")

    def client_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        word, _ = _word(line)
        if word == "STARTTLS":
            p.asked(frame, ts, "IRC STARTTLS")
        elif word in _IRC_DATA:
            self.in_clear(p, word, frame)

    def server_line(self, p: Preamble, line: bytes, frame: int, ts: float) -> None:
        parts = line.split()
        if not parts:
            return
        if parts[0].startswith(b":"):
            parts = parts[1:]
        if not parts:
            raise UpgradeError(f"server line {_text(line)!r} is no IRC message")
        cmd = parts[0].upper()
        if cmd == b"CAP" and b"TLS" in line.upper():
            p.offered = True
        if not p.held:
            if cmd == RPL_WELCOME:
                self.in_clear(p, "registration", frame)
            return
        if cmd == RPL_STARTTLS:
            p.go_ahead(frame)
        elif cmd == ERR_STARTTLS or (cmd == ERR_UNKNOWNCOMMAND and b"STARTTLS" in line.upper()):
            p.refused(cmd.decode(), frame)


# --------------------------------------------------------------------------- a bare STARTTLS first


class BareStartTLSHandler(Handler):
    """A capture whose first bytes are the client's `STARTTLS` line, on a port that says
    nothing: SMTP, LMTP, NNTP, ManageSieve and IRC all use that command. The server's first
    line decides (a 3-digit reply: SMTP, or NNTP for 382/580/483; `OK`/`NO`/`BYE`: ManageSieve;
    a `:prefix` or NOTICE: IRC), then that protocol's handler reads everything from the start."""

    def __init__(self, fallback: str = "smtp") -> None:
        self.name = fallback
        self.fallback = fallback
        self.inner: Handler | None = None

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        if self.inner is None:
            sbuf = p.buf[SERVER]
            end = sbuf.find(b"\n")
            if end < 0:
                if len(sbuf) > MAX_LINE_GUESS:
                    raise UpgradeError("server line too long to tell the protocol")
                return
            line = bytes(sbuf[:end]).rstrip(b"\r")
            status = line.split(None, 1)[0].upper() if line.strip() else b""
            rc = reply_code(line)
            if line.startswith(b":") or status == b"NOTICE":
                self.inner = IRCHandler()
            elif status.split(b"(")[0] in (b"OK", b"NO", b"BYE"):
                self.inner = SieveHandler()
            elif rc is not None and rc[0] in ("382", "580", "483"):
                self.inner = ReplyCodeHandler("nntp")
            else:
                self.inner = ReplyCodeHandler(self.fallback)
            self.name = p.protocol = self.inner.name
        self.inner.step(p, frame, ts)


MAX_LINE_GUESS = 1024   # the server's first line must end within this many bytes to tell the protocol
