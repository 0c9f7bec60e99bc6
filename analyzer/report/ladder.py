"""Ladder (sequence) diagrams of one connection's handshake, as text and as SVG.

Owns the step model of a ladder (`LadderStep`, `ladder_steps`): one arrow per
handshake message, ChangeCipherSpec, alert, encrypted record run and TCP close
event of a `ConnectionSummary.events` list, with its frame number and its time
offset from the connection's first packet; and the two renderings of it: plain
text arrows for the terminal (`render_text`) and an inline SVG for the HTML
report (`render_svg`). Runs of application data / 0-RTT / heartbeat records in
the same direction are merged into one arrow ("x N"); every other event is one
arrow; a plaintext preamble before TLS (STARTTLS, a proxy tunnel: the upgrade stage's
`upgrade` event) is one arrow. Strings from the wire (alert details, proxy targets) are escaped
here: XML-escaped in SVG, control characters shown as `\\xNN` in text.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape as _xml
from typing import Iterable, Sequence

from ..tls.summary import ConnectionSummary, HandshakeEvent
from .writers import neutralise as _clean

CLIENT, SERVER = 0, 1

# Events that are not a TLS message but something TCP (or a tunnel) did.
TCP_KINDS = frozenset({"fin", "rst", "gap"})
# Record kinds merged into one arrow when they repeat in the same direction.
MERGED_KINDS = frozenset({"application_data", "early_data", "heartbeat"})

_NAMES = {
    "client_hello": "ClientHello",
    "server_hello": "ServerHello",
    "hello_retry_request": "HelloRetryRequest",
    "hello_request": "HelloRequest",
    "hello_verify_request": "HelloVerifyRequest",
    "new_session_ticket": "NewSessionTicket",
    "end_of_early_data": "EndOfEarlyData",
    "encrypted_extensions": "EncryptedExtensions",
    "certificate": "Certificate",
    "server_key_exchange": "ServerKeyExchange",
    "certificate_request": "CertificateRequest",
    "server_hello_done": "ServerHelloDone",
    "certificate_verify": "CertificateVerify",
    "client_key_exchange": "ClientKeyExchange",
    "finished": "Finished",
    "certificate_status": "CertificateStatus",
    "key_update": "KeyUpdate",
    "change_cipher_spec": "ChangeCipherSpec",
    "encrypted_handshake": "Encrypted handshake",
    "application_data": "Application data",
    "early_data": "0-RTT early data",
    "alert": "Alert",
    "encrypted_alert": "Encrypted alert",
    "heartbeat": "Heartbeat",
    "fin": "FIN",
    "rst": "RST",
    "gap": "Gap",
    "upgrade": "Plaintext preamble",
}

def message_name(kind: str) -> str:
    """Display name of an event kind: 'server_key_exchange' -> 'ServerKeyExchange'."""
    name = _NAMES.get(kind)
    if name is not None:
        return name
    return "".join(w.capitalize() for w in kind.split("_")) or "?"


def style_of(kind: str, detail: str = "") -> str:
    """The colour class of an arrow: hs, enc, ccs, alert, warn, hrr, app, tcp, rst, gap, tunnel."""
    if kind == "alert":
        return "alert" if not detail.startswith("warning") else "warn"
    if kind == "encrypted_alert":
        return "alert"
    if kind == "rst":
        return "rst"
    if kind in ("fin",):
        return "tcp"
    if kind == "gap":
        return "gap"
    if kind == "hello_retry_request":
        return "hrr"
    if kind == "change_cipher_spec":
        return "ccs"
    if kind == "encrypted_handshake":
        return "enc"
    if kind in MERGED_KINDS:
        return "app"
    if kind == "upgrade":
        return "tunnel"
    if detail == "malformed":
        return "alert"
    return "hs"


@dataclass(frozen=True, slots=True)
class LadderStep:
    """One arrow of the ladder."""

    direction: int        # 0 client -> server, 1 server -> client
    kind: str             # the event kind (see analyzer.tls.summary.HandshakeEvent)
    frame: int            # frame of the (first) event
    offset_ms: float      # milliseconds after the connection's first packet
    length: int = 0       # bytes (summed over merged events)
    detail: str = ""
    count: int = 1        # events merged into this arrow

    @property
    def label(self) -> str:
        """Human text of the arrow (wire strings unescaped; renderers escape)."""
        name = message_name(self.kind)
        if self.kind == "alert" and self.detail:
            return f"Alert: {self.detail}"
        if self.kind == "gap":
            return f"Gap: {self.length} bytes never captured" if self.length else "Gap in the capture"
        if self.kind == "upgrade" and self.detail:
            return self.detail
        if self.detail == "malformed":
            name += " (malformed)"
        if self.count > 1:
            name += f" \u00d7{self.count}"
        return name

    @property
    def size(self) -> str:
        return f"{self.length} B" if self.length and self.kind not in TCP_KINDS else ""

    @property
    def style(self) -> str:
        return style_of(self.kind, self.detail)


def ladder_steps(events: Iterable[HandshakeEvent | Sequence], start_ts: float) -> list[LadderStep]:
    """The arrows of a ladder from summary events (or `(direction, kind, frame, ts, length, detail)` tuples)."""
    steps: list[LadderStep] = []
    for ev in events:
        if isinstance(ev, HandshakeEvent):
            d, kind, frame, ts, length, detail = ev.direction, ev.kind, ev.frame, ev.ts, ev.length, ev.detail
        else:
            d, kind, frame, ts, length, detail = ev
        off = (ts - start_ts) * 1000.0 if ts is not None else 0.0
        if steps and kind in MERGED_KINDS:
            last = steps[-1]
            if last.kind == kind and last.direction == d:
                steps[-1] = LadderStep(d, kind, last.frame, last.offset_ms, last.length + (length or 0),
                                       last.detail, last.count + 1)
                continue
        steps.append(LadderStep(d, kind, frame, off, length or 0, detail or ""))
    return steps


def summary_steps(s: ConnectionSummary) -> list[LadderStep]:
    return ladder_steps(s.events, s.start_time)


# --------------------------------------------------------------------------- text


def _fmt_ms(ms: float) -> str:
    return f"{ms:.3f}" if ms < 10 else f"{ms:.1f}"


def render_text(steps: Sequence[LadderStep], *, client: str, server: str, title: str = "",
                width: int = 56, markup: bool = False) -> str:
    """The ladder as lines of text: frame, ms offset, and an arrow between the client and server lanes.

    With `markup`, alerts and resets are wrapped in rich markup ([red]...[/red]) and
    wire strings are markup-escaped; without it the text is plain.
    """
    from rich.markup import escape as _rich

    def esc(t: str) -> str:
        t = _clean(t)
        return _rich(t) if markup else t

    colours = {"alert": "bold red", "rst": "red", "warn": "yellow", "hrr": "yellow", "enc": "magenta",
               "ccs": "dim", "tcp": "dim", "gap": "yellow", "app": "blue", "tunnel": "cyan"}
    lines: list[str] = []
    if title:
        lines.append(esc(title))
    left = f"Client {client}"
    right = f"Server {server}"
    pad = width + 1 - len(left) - len(right)
    lines.append(f"{'frame':>7} {'ms':>8}  " + esc(left) + " " * max(1, pad) + esc(right))
    for st in steps:
        label = st.label + (f" ({st.size})" if st.size else "")
        label = _clean(label)
        if len(label) > width - 6:
            label = label[: width - 7] + "\u2026"
        body_len = width - 2
        fill = body_len - len(label) - 2
        lpad = 1 if st.direction == CLIENT else fill - 1
        rpad = fill - lpad
        line_ch = "\u254c" if st.kind in TCP_KINDS else "\u2500"
        if st.kind == "gap":
            line_ch = "\u00b7"
        core = line_ch * lpad + " " + label + " " + line_ch * rpad
        arrow = ("|" + core + "\u25b6|") if st.direction == CLIENT else ("|\u25c0" + core + "|")
        if markup:
            core_m = _rich(arrow)
            colour = colours.get(st.style)
            if colour:
                core_m = f"[{colour}]{core_m}[/{colour}]"
        else:
            core_m = arrow
        lines.append(f"{st.frame:>7} {_fmt_ms(st.offset_ms):>8}  " + core_m)
    if not steps:
        lines.append(" " * 18 + "(no TLS or TCP events recorded)")
    return "\n".join(lines)


def connection_text(s: ConnectionSummary, *, markup: bool = False, width: int = 56) -> str:
    """A connection's heading, one-line verdict and text ladder (what `handshake-analyzer ladder` prints)."""
    from rich.markup import escape as _rich

    from .summary import RowView, outcome
    from .table import COLUMNS

    esc = (lambda t: _rich(_clean(t))) if markup else _clean
    client = f"{s.client_ip}:{s.client_port}"
    server = f"{s.server_ip}:{s.server_port}"
    steps = summary_steps(s)
    view = RowView([c.name for c in COLUMNS])
    oc = outcome(view, tuple(c.get(s) for c in COLUMNS), steps)
    head = f"{s.capture} \u00b7 stream {s.stream} \u00b7 {client} \u2192 {server}"
    if s.sni:
        head += f" \u00b7 SNI {s.sni}"
    head = esc(head)
    verdict = esc(oc.sentence)
    if markup:
        head = f"[bold]{head}[/bold]"
        colour = {"ok": "green", "failed": "red", "incomplete": "yellow"}.get(oc.cls, "dim")
        verdict = f"[{colour}]{verdict}[/{colour}]"
    body = render_text(steps, client=client, server=server, width=width, markup=markup)
    return f"{head}\n{verdict}\n{body}"


# --------------------------------------------------------------------------- SVG

_SVG_COLOURS = {
    "hs": "#1f2937", "enc": "#6d28d9", "ccs": "#6b7280", "alert": "#dc2626", "warn": "#d97706",
    "hrr": "#d97706", "app": "#2563eb", "tcp": "#9ca3af", "rst": "#dc2626", "gap": "#b45309",
    "tunnel": "#0e7490",
}


def render_svg(steps: Sequence[LadderStep], *, client: str, server: str, server_name: str = "",
               uid: str = "") -> str:
    """The ladder as an inline SVG element (no external references, no style attributes).

    Each arrow is a `<g class="arrow" data-kind=... data-frame=... data-dir=...>` so
    tests and scripts can read the diagram back.
    """
    left_w = 84          # frame / time column
    cx, sx = left_w + 60, left_w + 390
    top = 58
    row = 30
    h = top + row * max(len(steps), 1) + 24
    w = sx + 62
    out: list[str] = [
        f'<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="handshake ladder diagram"'
        + (f' data-uid="{_xml(uid)}"' if uid else "") + ">",
        f'<text x="{cx}" y="16" text-anchor="middle" class="lane-title">Client</text>',
        f'<text x="{cx}" y="32" text-anchor="middle" class="lane-sub">{_xml(_clean(client))}</text>',
        f'<text x="{sx}" y="16" text-anchor="middle" class="lane-title">Server</text>',
        f'<text x="{sx}" y="32" text-anchor="middle" class="lane-sub">{_xml(_clean(server))}</text>',
    ]
    if server_name:
        sn = _clean(server_name)
        if len(sn) > 30:
            sn = sn[:29] + "\u2026"
        out.append(f'<text x="{sx}" y="46" text-anchor="middle" class="lane-sni">{_xml(sn)}</text>')
    out.append(f'<text x="4" y="{top - 10}" class="col-head">frame</text>')
    out.append(f'<text x="{left_w - 8}" y="{top - 10}" text-anchor="end" class="col-head">ms</text>')
    out.append(f'<line x1="{cx}" y1="{top - 6}" x2="{cx}" y2="{h - 8}" class="lane"/>')
    out.append(f'<line x1="{sx}" y1="{top - 6}" x2="{sx}" y2="{h - 8}" class="lane"/>')
    for i, st in enumerate(steps):
        y = top + row * i + 18
        colour = _SVG_COLOURS.get(st.style, "#1f2937")
        x1, x2 = (cx, sx) if st.direction == CLIENT else (sx, cx)
        tip = x2 - 1 if st.direction == CLIENT else x2 + 1
        back = -9 if st.direction == CLIENT else 9
        dash = ' stroke-dasharray="5 4"' if st.kind in TCP_KINDS else ""
        weight = "2.2" if st.style in ("alert", "rst", "hrr") else "1.4"
        label = _clean(st.label)
        if len(label) > 52:
            label = label[:51] + "\u2026"
        out.append(
            f'<g class="arrow s-{st.style}" data-kind="{_xml(st.kind)}" data-frame="{st.frame}" '
            f'data-dir="{"c2s" if st.direction == CLIENT else "s2c"}" data-count="{st.count}">'
        )
        out.append(f'<text x="4" y="{y + 4}" class="frame">{st.frame}</text>')
        out.append(f'<text x="{left_w - 8}" y="{y + 4}" text-anchor="end" class="ms">+{_fmt_ms(st.offset_ms)}</text>')
        out.append(f'<line x1="{x1}" y1="{y}" x2="{tip - back * 0.6:.1f}" y2="{y}" stroke="{colour}" '
                   f'stroke-width="{weight}"{dash}/>')
        out.append(f'<polygon points="{tip},{y} {tip + back},{y - 4.5} {tip + back},{y + 4.5}" fill="{colour}"/>')
        out.append(f'<text x="{(cx + sx) / 2}" y="{y - 5}" text-anchor="middle" fill="{colour}" '
                   f'class="msg">{_xml(label)}</text>')
        if st.size:
            sx_lbl = (x2 + (-6 if st.direction == CLIENT else 6))
            anchor = "end" if st.direction == CLIENT else "start"
            out.append(f'<text x="{sx_lbl}" y="{y + 13}" text-anchor="{anchor}" class="size">{_xml(st.size)}</text>')
        out.append(f"<title>{_xml(label)} \u2014 frame {st.frame}, +{_fmt_ms(st.offset_ms)} ms"
                   + (f", {_xml(st.size)}" if st.size else "") + "</title></g>")
    if not steps:
        out.append(f'<text x="{(cx + sx) / 2}" y="{top + 18}" text-anchor="middle" class="msg">'
                   "no TLS or TCP events recorded</text>")
    out.append("</svg>")
    return "".join(out)


__all__ = ["LadderStep", "ladder_steps", "summary_steps", "render_text", "connection_text", "render_svg", "message_name", "style_of"]
