"""XMPP STARTTLS, client-to-server and server-to-server (RFC 6120 5.4).

Owns reading the XML stream heads and the top-level elements of both directions
tag by tag (a small scanner that respects quoted attribute values; no XML parser): the
server's `<stream:features>` may hold `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>`
(an offer), the client's `<starttls/>` is the request, the server's `<proceed/>` the
go-ahead (TLS starts at the byte after its end) and `<failure/>` the refusal. SASL
`<auth>` or a stanza (`<iq>`, `<message>`, `<presence>`) before it means the stream is in clear.
"""

from __future__ import annotations

from .base import CLIENT, SERVER, Handler, Preamble

NS_TLS = b"urn:ietf:params:xml:ns:xmpp-tls"
NS_SERVER = b"jabber:server"
_IN_CLEAR = frozenset({b"auth", b"iq", b"message", b"presence", b"db:result", b"result"})


def next_tag(buf: bytearray) -> tuple[int, bytes] | None:
    """(end, tag text) of the next complete `<...>` in buf (text before it skipped), or None."""
    start = buf.find(b"<")
    if start < 0:
        return None
    quote = 0
    i = start + 1
    n = len(buf)
    while i < n:
        c = buf[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x3E:  # '>'
            return i + 1, bytes(buf[start: i + 1])
        i += 1
    return None


def tag_name(tag: bytes) -> tuple[bytes, bool, bool]:
    """(local name, closing tag?, self-closing?) of a tag's text."""
    body = tag[1:-1]
    closing = body.startswith(b"/")
    self_closing = body.endswith(b"/")
    body = body.strip(b"/?!")
    name = body.split(None, 1)[0] if body.split() else b""
    if b":" in name and not name.startswith(b"db:"):
        name = name.split(b":", 1)[1]
    return name.lower(), closing, self_closing


class XMPPHandler(Handler):
    name = "xmpp"

    def __init__(self) -> None:
        self.asked = False
        self.wait_close: bytes | None = None   # the go-ahead element's name, awaiting its end tag
        self.s2s = False
        self.open_request = False

    def step(self, p: Preamble, frame: int, ts: float) -> None:
        while not self.asked:
            t = next_tag(p.buf[CLIENT])
            if t is None:
                break
            end, tag = t
            p.take(CLIENT, end)
            name, closing, _ = tag_name(tag)
            if name == b"stream" and NS_SERVER in tag:
                self.s2s = True
            if name == b"starttls" and not closing and not tag.endswith(b"/>"):
                self.open_request = True    # <starttls ...></starttls>: the request ends with its end tag
                continue
            if name == b"starttls" and (not closing or self.open_request):
                self.asked = True
                p.asked(frame, ts, "XMPP server-to-server STARTTLS" if self.s2s else "XMPP STARTTLS")
                break
            if name in _IN_CLEAR:
                offer = " although the server offered STARTTLS" if p.offered else ""
                p.plaintext(f"xmpp: <{name.decode('latin-1')}> in clear in frame {frame}{offer}")
                return
        while True:
            t = next_tag(p.buf[SERVER])
            if t is None:
                return
            end, tag = t
            name, closing, self_closing = tag_name(tag)
            if self.wait_close is not None:
                p.take(SERVER, end)
                if closing and name == self.wait_close:
                    self.wait_close = None
                    p.go_ahead(frame)
                    return
                continue
            p.take(SERVER, end)
            if name == b"starttls" and not closing:
                p.offered = True
            elif name == b"proceed" and self.asked and not closing:
                if self_closing:
                    p.go_ahead(frame)
                    return
                self.wait_close = name
            elif name == b"failure" and self.asked and NS_TLS in tag:
                p.refused("<failure/>", frame, final=True)
                return
            elif name == b"error" and not closing:
                p.plaintext(f"xmpp: stream error in frame {frame}")
                return
