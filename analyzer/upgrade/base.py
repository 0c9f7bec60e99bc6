"""The per-connection state of the upgrade stage and what every protocol handler shares.

Owns `Preamble`: the sans-IO object one TCP connection's bytes go through before TLS.
It is fed bytes per direction with their frame number and timestamp, keeps the bytes
of the plaintext preamble not yet read (at most `MAX_PREAMBLE_BYTES` per direction),
asks the recogniser (`analyzer.upgrade.recognise`) which protocol speaks, lets that
protocol's `Handler` read the exchange, and ends in one of four states:

* `TLS`: the server's go-ahead was read; `take_tls()` returns the bytes of both
  directions from exactly the byte after the request and the go-ahead, with the
  frames they arrived in, and everything later goes to TLS unchanged;
* `PLAINTEXT`: a known protocol that did not (or could not) switch to TLS: never
  asked, refused, carried data in clear, or a preamble longer than the bound;
* `UNKNOWN`: no protocol this stage knows; every byte seen is handed on as it came
  (the TLS stage then says what it is not);
* `FOLLOWING`: still reading.

It never touches a socket or a file, and it knows nothing of TLS records beyond
`starts_like_tls` (the test that keeps TLS-first connections out of this stage).
"""

from __future__ import annotations

from typing import Callable

MAX_PREAMBLE_BYTES = 16384      # plaintext bytes followed per direction before giving up (then `not_tls`)
MAX_RECOGNITION_BYTES = 512     # first bytes of a direction within which a protocol must be recognised
MAX_LINE = 4096                 # a text line longer than this ends the preamble (no RFC allows it)
MAX_NOTES = 8                   # notes (reply codes, oddities) kept per connection

FOLLOWING, TLS, PLAINTEXT, UNKNOWN = "following", "tls", "plaintext", "unknown"
CLIENT, SERVER = 0, 1
SIDE = ("client", "server")

# TLS record content types 20..24 (change_cipher_spec .. heartbeat) with major version 3 (RFC 8446 5.1)
_TLS_TYPES = frozenset(range(20, 25))


class UpgradeError(Exception):
    """A preamble that cannot be read, with the frame it showed in."""

    def __init__(self, message: str, frame: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.frame = frame


def starts_like_tls(direction: int, data: bytes | memoryview) -> bool:
    """Whether a connection's first bytes may be a TLS record (or, from the client, an SSLv2
    CLIENT-HELLO): such connections skip this stage. Few bytes are judged on what they have."""
    n = len(data)
    if not n:
        return False
    b0 = data[0]
    if b0 in _TLS_TYPES:
        return n < 2 or (data[1] == 3 and (n < 3 or data[2] <= 4))
    if direction == CLIENT and b0 & 0x80:
        # SSLv2 record header (2 bytes) + msg_type 1 (CLIENT-HELLO) + version 0x0002 / 0x03xx
        return n < 3 or (data[2] == 1 and (n < 4 or data[3] in (0, 3)))
    return False


class Handler:
    """One protocol's reading of a preamble; subclasses read from `p.buf` and call
    `p.take`, `p.go_ahead`, `p.refused`, `p.plaintext`."""

    name = ""

    def step(self, p: "Preamble", frame: int, ts: float) -> None:
        """Read what is complete in both directions' buffers."""
        raise NotImplementedError


class Preamble:
    """One connection's plaintext preamble (see the module docstring)."""

    __slots__ = (
        "buf", "base", "marks", "seen", "handler", "protocol", "state", "upgrade_frame", "request",
        "proxy_target", "refusal", "refused_frame", "offered", "notes", "step_detail", "held",
        "ports", "reason", "_recognise",
    )

    def __init__(self, server_port: int = 0, client_port: int = 0,
                 recognise: "Callable[[Preamble], Handler | None | bool] | None" = None) -> None:
        self.buf = (bytearray(), bytearray())
        self.base = [0, 0]                  # stream offset of buf[d][0]
        self.marks: tuple[list[tuple[int, int, float]], list[tuple[int, int, float]]] = ([], [])
        self.seen = [0, 0]                  # bytes fed per direction
        self.handler: Handler | None = None
        self.protocol = ""                  # the plaintext protocol recognised ('smtp', 'socks5' ...)
        self.state = FOLLOWING
        self.upgrade_frame: int | None = None
        self.request: tuple[int, float] | None = None  # frame and time of the (last) TLS request
        self.proxy_target: str | None = None
        self.refusal: str | None = None     # the server's reply code to a refused request
        self.refused_frame: int | None = None
        self.offered = False                # the server advertised the upgrade (STARTTLS capability ...)
        self.notes: list[str] = []
        self.step_detail = ""               # the one ladder step: 'SMTP STARTTLS', 'SOCKS5 CONNECT host:443'
        self.held = False                   # client bytes after a TLS request are held until the verdict
        self.ports = (client_port, server_port)
        self.reason = ""                    # why the stage stopped following (PLAINTEXT)
        if recognise is None:
            from .recognise import recognise as recognise_fn
            recognise = recognise_fn
        self._recognise = recognise

    # -- input -------------------------------------------------------------

    @property
    def wants_payload(self) -> bool:
        return self.state == FOLLOWING

    def feed(self, direction: int, data: bytes | memoryview, frame: int, ts: float) -> None:
        """Bytes of one direction, in order. Afterwards `state` says what the connection is."""
        if self.state != FOLLOWING or not data:
            return
        d = direction
        self.buf[d].extend(data)
        self.seen[d] += len(data)
        self.marks[d].append((self.base[d] + len(self.buf[d]), frame, ts))
        if self.handler is None:
            h = self._recognise(self)
            if h is None:
                return  # too few bytes to tell
            if h is False:
                self.state = UNKNOWN
                return
            self.handler = h  # type: ignore[assignment]
            # a handler not sure yet (a bare `220` greeting: SMTP or FTP) names its best guess
            self.protocol = h.name or getattr(h, "fallback", "")  # type: ignore[union-attr]
        try:
            self.handler.step(self, frame, ts)  # type: ignore[union-attr]
        except UpgradeError as e:
            self.plaintext(f"{self.protocol or 'preamble'}: {e.message} in frame {frame}")
            return
        if self.state == FOLLOWING:
            for side in (CLIENT, SERVER):
                # the preamble read so far, or the bytes waiting (a held ClientHello, an unfinished line)
                if self.base[side] > MAX_PREAMBLE_BYTES or len(self.buf[side]) > MAX_PREAMBLE_BYTES:
                    self.plaintext(f"{SIDE[side]} plaintext preamble longer than {MAX_PREAMBLE_BYTES} bytes "
                                   f"without a switch to TLS (frame {frame})")
                    break

    # -- what handlers call --------------------------------------------------

    def take(self, d: int, n: int) -> bytes:
        """Consume the first n buffered bytes of direction d."""
        buf = self.buf[d]
        out = bytes(buf[:n])
        del buf[:n]
        self.base[d] += n
        marks = self.marks[d]
        i = 0
        while i < len(marks) and marks[i][0] <= self.base[d]:
            i += 1
        if i:
            del marks[:i]
        return out

    def line(self, d: int) -> bytes | None:
        """The next complete text line of direction d (CRLF or LF ending removed), or None."""
        buf = self.buf[d]
        end = buf.find(b"\n")
        if end < 0:
            if len(buf) > MAX_LINE:
                raise UpgradeError(f"{SIDE[d]} line longer than {MAX_LINE} bytes")
            return None
        line = self.take(d, end + 1)[:-1]
        return line[:-1] if line.endswith(b"\r") else line

    def note(self, msg: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(msg)

    def asked(self, frame: int, ts: float, detail: str) -> None:
        """The client asked for TLS (its bytes after the request are held until the verdict)."""
        if self.request is not None and self.refusal is None and self.held:
            self.note(f"{self.protocol}: the client asked for TLS again in frame {frame} before any answer")
        self.request = (frame, ts)
        self.step_detail = detail
        self.held = True

    def go_ahead(self, frame: int) -> None:
        """The server's go-ahead was read: both buffers now start with TLS bytes."""
        self.state = TLS
        self.upgrade_frame = frame
        self.held = False

    def refused(self, code: str, frame: int, final: bool = False) -> None:
        """The server refused the request (the client may ask again unless `final`)."""
        self.refusal = code
        self.refused_frame = frame
        self.held = False
        self.note(f"{self.protocol}: {self.step_detail or 'TLS request'} refused: {code} in frame {frame}")
        if final:
            self.plaintext("")

    def plaintext(self, reason: str) -> None:
        """Stop following: the connection stays in clear."""
        self.state = PLAINTEXT
        self.held = False
        if reason:
            self.reason = reason
        self.buf[0].clear()
        self.buf[1].clear()
        self.marks[0].clear()
        self.marks[1].clear()

    def take_tls(self) -> list[tuple[int, bytes, int, float]]:
        """(direction, bytes, frame, ts) of what is buffered, split by the frames the bytes came in,
        client first: after `TLS` the start of the TLS streams, after `UNKNOWN` every byte seen."""
        out: list[tuple[int, bytes, int, float]] = []
        for d in (CLIENT, SERVER):
            buf, pos = self.buf[d], self.base[d]
            for end, frame, ts in self.marks[d]:
                if end > pos:
                    out.append((d, bytes(buf[pos - self.base[d]: end - self.base[d]]), frame, ts))
                    pos = end
            buf.clear()
            self.marks[d].clear()
        return out

    def end_of_stream(self) -> None:
        """The flow ended (or lost bytes) while still following."""
        if self.state == FOLLOWING and self.handler is not None:
            self.plaintext("")
