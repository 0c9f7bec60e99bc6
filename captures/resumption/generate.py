"""Generator of the session-resumption sample captures (script and importable library).

Owns captures of every way a handshake resumes an earlier session, for the resumption
lineage (`analyzer.lineage`): real TLS bytes from Python's ``ssl`` module in memory
(`captures/generate.py`'s driver and Ethernet/IPv4/TCP framing; the PKI in `captures/`,
not regenerated), each resumption offering the ``ssl.SSLSession`` its parent connection
gave the client. What each connection is comes from the ``ssl`` module itself, never from
our parser: whether the client offered a session and ``session_reused`` (accepted or
refused), and the session each handshake gave the client (its ``id``, ``has_ticket`` and
``timeout``, OpenSSL's copy of the announced ticket lifetime). A refusal is a server whose
session cache and ticket keys are new (a restarted server: a new ``SSLContext``).

Times are chosen by the framing: a file's connections start at the offsets its scenario
gives (seconds after 2026-01-01T00:00:00Z), e.g. a resumption two hours after its parent
to cross the announced ticket lifetime; the server took the ticket because the real
handshake happened at once. Files:

- ``resumption-kinds.pcap``: session ID, TLS 1.2 ticket, TLS 1.3 PSK, and a TLS 1.3 PSK
  resumption of a resumed connection (its new ticket): a chain;
- ``resumption-refused.pcap``: a server (port 4443) that restarted refuses a session ID, a
  TLS 1.2 ticket and a TLS 1.3 PSK, then accepts one of its new tickets; a second server
  (port 8443) accepts every attempt;
- ``resumption-across-1.pcap`` / ``resumption-across-2.pcap``: full handshakes in the
  first file, their resumptions a minute later in the second;
- ``resumption-late.pcap``: a TLS 1.2 ticket and a TLS 1.3 PSK resumed after the
  lifetime their NewSessionTicket announced, and one resumed in time;
- ``resumption-parts.pcap``: a parent, unrelated full handshakes, and its resumption at
  the end (for reading one file in parts).

``MANIFEST.json`` says per connection what it is; ``keylog.txt`` is the client's key log
(the TLS 1.3 NewSessionTickets are encrypted: linking a PSK resumption needs it).

Usage: ``python captures/resumption/generate.py [--out DIR]`` (default: this folder).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import ssl
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from captures.generate import (  # noqa: E402
    CLIENT_IP4, HTTP_REQ, HTTP_RESP, SERVER_IP4, SERVER_NAME, T0, Conversation, client_context, frames_for,
    merge_frames, pki_at, read_keylog, server_context, tls_conversation, write_pcap,
)

KEYLOG_NAME = "keylog.txt"


@dataclass
class Conn:
    """One connection of a file: its label, when it starts, and which earlier connection's session it offers."""

    label: str
    conv: Conversation
    at: float                       # seconds after T0 of its first frame
    offers: str | None = None       # label (`FILE:LABEL` across files) of the connection whose session it offers


@dataclass
class File:
    name: str
    description: str
    conns: list[Conn] = field(default_factory=list)


class Lab:
    """Runs connections between one client and servers, remembering each connection's session."""

    def __init__(self, pki: Any, keylog: Path) -> None:
        self.pki, self.keylog = pki, keylog
        self.port = 47000
        self.sessions: dict[str, ssl.SSLSession | None] = {}

    def client(self, version: str) -> ssl.SSLContext:
        """A TLS 1.2-only or a TLS 1.3 client (one context per kind, so its sessions stay usable)."""
        if version == "1.2":
            return client_context(self.pki, keylog=self.keylog, max_version="TLSv1.2",
                                  ciphers="ECDHE-RSA-AES128-GCM-SHA256")
        return client_context(self.pki, keylog=self.keylog, min_version="TLSv1.3")

    def server(self, *, tickets: bool = True) -> ssl.SSLContext:
        """A server; a new one has a new session cache and new ticket keys (a restarted server)."""
        return server_context(self.pki, no_ticket=not tickets)

    def conn(self, label: str, cctx: ssl.SSLContext, sctx: ssl.SSLContext, at: float, *,
             offers: str | None = None, port: int = 443) -> Conn:
        self.port += 1
        session = self.sessions[offers] if offers else None
        conv = tls_conversation(cctx, sctx, server_hostname=SERVER_NAME, client=(CLIENT_IP4, self.port),
                                server=(SERVER_IP4, port), session=session,
                                client_messages=[HTTP_REQ], server_messages=[HTTP_RESP])
        assert conv.expected["handshake_complete"], (label, conv.expected)
        self.sessions[label] = conv.session
        return Conn(label, conv, at, offers)


def scenarios(lab: Lab) -> list[File]:
    files: list[File] = []

    # every kind of resumption, each accepted
    f = File("resumption-kinds.pcap", "session ID, TLS 1.2 ticket, TLS 1.3 PSK, and a PSK resumption of a resumption")
    c12, c13 = lab.client("1.2"), lab.client("1.3")
    no_tickets, tickets12, tickets13 = lab.server(tickets=False), lab.server(), lab.server()
    f.conns += [
        lab.conn("sid-full", c12, no_tickets, 0.0),
        lab.conn("sid-resumed", c12, no_tickets, 1.0, offers="sid-full"),
        lab.conn("ticket-full", c12, tickets12, 2.0),
        lab.conn("ticket-resumed", c12, tickets12, 3.0, offers="ticket-full"),
        lab.conn("psk-full", c13, tickets13, 4.0),
        lab.conn("psk-resumed", c13, tickets13, 5.0, offers="psk-full"),
        lab.conn("psk-resumed-again", c13, tickets13, 6.0, offers="psk-resumed"),
    ]
    files.append(f)

    # a restarted server refuses; another one accepts
    f = File("resumption-refused.pcap", "a restarted server (port 4443) refuses session ID, ticket and PSK "
                                        "resumptions, then accepts a new ticket; the server on port 8443 accepts all")
    c12, c13 = lab.client("1.2"), lab.client("1.3")
    before = (lab.server(tickets=False), lab.server(), lab.server())
    after = (lab.server(tickets=False), lab.server(), lab.server())
    other = lab.server()
    f.conns += [
        lab.conn("sid-full", c12, before[0], 0.0, port=4443),
        lab.conn("ticket-full", c12, before[1], 1.0, port=4443),
        lab.conn("psk-full", c13, before[2], 2.0, port=4443),
        lab.conn("sid-refused", c12, after[0], 10.0, offers="sid-full", port=4443),
        lab.conn("ticket-refused", c12, after[1], 11.0, offers="ticket-full", port=4443),
        lab.conn("psk-refused", c13, after[2], 12.0, offers="psk-full", port=4443),
        lab.conn("psk-refused-resumed", c13, after[2], 13.0, offers="psk-refused", port=4443),
        lab.conn("other-full", c12, other, 14.0, port=8443),
        lab.conn("other-resumed", c12, other, 15.0, offers="other-full", port=8443),
        lab.conn("other-resumed-again", c12, other, 16.0, offers="other-full", port=8443),
    ]
    files.append(f)

    # across two capture files
    c12, c13 = lab.client("1.2"), lab.client("1.3")
    no_tickets, tickets12, tickets13 = lab.server(tickets=False), lab.server(), lab.server()
    first = File("resumption-across-1.pcap", "full handshakes (session ID, TLS 1.2 ticket, TLS 1.3) resumed in "
                                             "resumption-across-2.pcap")
    first.conns += [
        lab.conn("sid-full", c12, no_tickets, 0.0),
        lab.conn("ticket-full", c12, tickets12, 1.0),
        lab.conn("psk-full", c13, tickets13, 2.0),
    ]
    lab.sessions.update({f"{first.name}:{k}": v for k, v in
                         ((c.label, lab.sessions[c.label]) for c in first.conns)})
    second = File("resumption-across-2.pcap", "resumptions, a minute later, of the full handshakes in "
                                              "resumption-across-1.pcap")
    second.conns += [
        lab.conn("sid-resumed", c12, no_tickets, 60.0, offers=f"{first.name}:sid-full"),
        lab.conn("ticket-resumed", c12, tickets12, 61.0, offers=f"{first.name}:ticket-full"),
        lab.conn("psk-resumed", c13, tickets13, 62.0, offers=f"{first.name}:psk-full"),
    ]
    files += [first, second]

    # resumed after the announced lifetime (OpenSSL's default: 7200 s), and once in time
    f = File("resumption-late.pcap", "a TLS 1.2 ticket and a TLS 1.3 PSK resumed after the ticket lifetime their "
                                     "NewSessionTicket announced; a TLS 1.2 ticket resumed in time")
    c12, c13 = lab.client("1.2"), lab.client("1.3")
    tickets12, tickets13, in_time = lab.server(), lab.server(), lab.server()
    f.conns += [
        lab.conn("ticket-full", c12, tickets12, 0.0),
        lab.conn("psk-full", c13, tickets13, 1.0),
        lab.conn("ticket-in-time-full", c12, in_time, 2.0),
        lab.conn("ticket-in-time", c12, in_time, 3.0, offers="ticket-in-time-full"),
        lab.conn("ticket-late", c12, tickets12, 7300.0, offers="ticket-full"),
        lab.conn("psk-late", c13, tickets13, 7400.0, offers="psk-full"),
    ]
    files.append(f)

    # a parent at the start of a file, its resumption at the end
    f = File("resumption-parts.pcap", "a TLS 1.2 ticket handshake, six unrelated full handshakes, then the "
                                      "first one's resumption")
    c12 = lab.client("1.2")
    tickets12, others = lab.server(), lab.server()
    f.conns.append(lab.conn("ticket-full", c12, tickets12, 0.0))
    for i in range(6):
        f.conns.append(lab.conn(f"filler-{i}", c12, others, 1.0 + i))
    f.conns.append(lab.conn("ticket-resumed", c12, tickets12, 10.0, offers="ticket-full"))
    files.append(f)
    return files


def _session_facts(sess: ssl.SSLSession | None) -> dict[str, Any] | None:
    """What the client's ssl module holds of the session a handshake gave it."""
    if sess is None:
        return None
    return {"id": sess.id.hex(), "has_ticket": sess.has_ticket, "timeout": sess.timeout}


def _manifest_conn(c: Conn, stream: int, streams: dict[str, str], klog: dict[bytes, list[str]]) -> dict[str, Any]:
    exp = c.conv.expected
    offered = c.offers is not None
    reused = bool(exp.get("session_reused"))
    cr = c.conv.client_random
    return {
        "stream": stream,
        "label": c.label,
        "at": c.at,
        "client": list(c.conv.client),
        "server": list(c.conv.server),
        "version": exp.get("version"),
        "client_random": cr.hex() if cr else None,
        "keylog_labels": sorted({ln.split()[0] for ln in klog.get(cr, [])}) if cr else [],
        "offers": c.offers,
        "session_reused": reused,
        "session": _session_facts(c.conv.session),
        "expected": {
            "resumption_attempt": ("accepted" if reused else "refused") if offered else "none",
            "resumed_from": streams[c.offers] if offered and reused else None,
        },
    }


def generate_all(out: str | Path = HERE) -> dict[str, Any]:
    """Run every scenario and write its captures, ``keylog.txt`` and ``MANIFEST.json`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keylog = out / KEYLOG_NAME
    if keylog.exists():
        keylog.unlink()
    lab = Lab(pki_at(HERE.parent), keylog)
    files = scenarios(lab)
    gc.collect()  # close the key log BIOs of discarded contexts
    klog = read_keylog(keylog)
    manifest: dict[str, Any] = {"generator": "captures/resumption/generate.py", "python": sys.version.split()[0],
                                "openssl": ssl.OPENSSL_VERSION, "t0": "2026-01-01T00:00:00Z",
                                "keylog": KEYLOG_NAME, "ca": "../ca.crt", "files": {}}
    streams: dict[str, str] = {}   # label (and FILE:LABEL) -> CAPTURE#STREAM
    for f in files:
        order = sorted(range(len(f.conns)), key=lambda i: (f.conns[i].at, i))  # streams follow first frames
        stream_of = {ci: n for n, ci in enumerate(order)}
        for i, c in enumerate(f.conns):
            streams[c.label] = streams[f"{f.name}:{c.label}"] = f"{f.name}#{stream_of[i]}"
        frames = merge_frames(*(frames_for(c.conv, t0=T0 + c.at) for c in f.conns))
        path = out / f.name
        write_pcap(path, frames)
        manifest["files"][f.name] = {
            "description": f.description, "frames": len(frames), "size": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "connections": sorted((_manifest_conn(c, stream_of[i], streams, klog) for i, c in enumerate(f.conns)),
                                  key=lambda m: m["stream"]),
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
