"""What one connection says about session resumption, for linking it to its parent.

Owns the per-connection facts that `analyzer.lineage` links rows by, beyond `resumed` and
`resumption` (which the state machine decides): whether the client attempted a resumption
and whether the server took it (`resumption_attempt`), the SHA-256 of the ticket or TLS 1.3
PSK identity the client offered, of each ticket a NewSessionTicket carried, the lifetime it
announced, and the ClientHello's time. The state machine calls `note_new_session_ticket`
per NewSessionTicket and `fill_resumption_facts` once, when the connection ends; nothing
here parses bytes (the messages are `analyzer.tls.messages`').

Digests, not tickets: a ticket is the server's encrypted session state (RFC 5077 4, RFC 8446
4.6.1), up to 64 KiB, and with the server's ticket key it yields the session's secrets, so
rows keep a fixed 64-character digest that matches the same ticket wherever it shows (a
NewSessionTicket, a session_ticket extension, a TLS 1.3 PSK identity) and reveals nothing.

When the client attempted a resumption (RFC 5246 7.4.1.2, RFC 5077 3.4, RFC 8446 4.2.11):
a non-empty legacy_session_id, but only before TLS 1.3 (in the TLS 1.3 family, drafts and
Google's experiments included, the field is middlebox compatibility, RFC 8446 4.1.2; the
negotiated version decides, or without a ServerHello the versions offered); a non-empty
session_ticket extension; a pre_shared_key extension. The server refused it when it did a
full handshake instead: a TLS 1.3 ServerHello without pre_shared_key, a TLS <= 1.2 server
flight with Certificate, ServerKeyExchange, CertificateRequest or ServerHelloDone, or a
ServerHello whose session ID is not the one the client offered (RFC 5246 7.4.1.3; RFC 5077
3.4 has a server that accepts a ticket echo it). Attempted but no verdict (no ServerHello, or
the capture ends after it): None.
"""

from __future__ import annotations

import hashlib

from . import messages as m
from .registry import HandshakeType
from .summary import ConnectionSummary

MAX_TICKETS_KEPT = 8  # NewSessionTicket digests kept per connection (TLS 1.3 servers send 2 by default)

# messages that only a full handshake's server flight has (RFC 5246 7.3, before the server's CCS)
_FULL_HANDSHAKE = frozenset({HandshakeType.CERTIFICATE, HandshakeType.SERVER_KEY_EXCHANGE,
                             HandshakeType.CERTIFICATE_REQUEST, HandshakeType.SERVER_HELLO_DONE})


def digest(data: bytes) -> str:
    """The SHA-256 of a ticket or PSK identity, as 64 hex digits."""
    return hashlib.sha256(data).hexdigest()


def note_new_session_ticket(s: ConnectionSummary, nst: m.NewSessionTicket, tls13: bool) -> None:
    """A server's NewSessionTicket: its ticket's digest and the lifetime it announced (the shortest, when
    several differ). RFC 5077 3.3: an empty ticket is no ticket, a ticket_lifetime_hint of 0 says nothing;
    RFC 8446 4.6.1: a ticket_lifetime of 0 means discard at once."""
    if not nst.ticket:
        return
    if len(s.tickets_issued_sha256) < MAX_TICKETS_KEPT:
        s.tickets_issued_sha256.append(digest(nst.ticket))
    if tls13 or nst.ticket_lifetime:
        life = nst.ticket_lifetime
        s.ticket_lifetime_s = life if s.ticket_lifetime_s is None else min(s.ticket_lifetime_s, life)


def fill_resumption_facts(s: ConnectionSummary, ch: m.ClientHello | None, sh: m.ServerHello | None,
                          server_flight: set[int], ch_time: float | None) -> None:
    """The offer's digests and the attempt's verdict, from the first ClientHello and the ServerHello."""
    s.client_hello_time = ch_time
    if ch is None:
        return
    ext = ch.extensions
    if ext.session_ticket:
        s.ticket_offered_sha256 = digest(ext.session_ticket)
    identities = ext.psk_identity_values
    if identities:
        chosen = sh.extensions.psk_selected_identity if sh is not None else None
        pick = chosen if chosen is not None and 0 <= chosen < len(identities) else 0
        s.psk_offered_sha256 = digest(identities[pick])
    s.resumption_attempt = attempt_verdict(s, ch, sh, server_flight)


def attempt_verdict(s: ConnectionSummary, ch: m.ClientHello, sh: m.ServerHello | None,
                    server_flight: set[int]) -> str | None:
    """`none`, `accepted`, `refused`, or None when the client attempted and no verdict was seen."""
    ext = ch.extensions
    if sh is not None:
        tls13 = m.is_tls13_family(s.version_code)
    else:
        tls13 = any(m.is_tls13_family(v) for v in ext.supported_versions)
    attempted = bool(ext.session_ticket) or ext.psk_identities > 0 or (bool(ch.legacy_session_id) and not tls13)
    if s.resumed:
        return "accepted"
    if not attempted:
        return "none"
    if sh is None:
        return None
    if tls13 or server_flight & _FULL_HANDSHAKE:
        return "refused"
    if ch.legacy_session_id and s.server_session_id != ch.legacy_session_id.hex():
        return "refused"
    return None
