"""The upgrade stage: plaintext preambles between a TCP byte stream and TLS.

Owns recognising, by content, a connection that starts in clear and switches to TLS
(STARTTLS in SMTP, LMTP, POP3, IMAP, FTP, NNTP, ManageSieve, IRC, XMPP and LDAP; the
PostgreSQL and MySQL SSL requests; RDP's X.224 security negotiation; SOCKS4/4a, SOCKS5
and HTTP CONNECT tunnels), following the exchange to the server's go-ahead, and
handing the TLS stage both byte streams from exactly there. Sans-IO: `Preamble` is
fed bytes per direction and says what it found (see `analyzer.upgrade.base`).
"""

from .base import (
    FOLLOWING,
    MAX_PREAMBLE_BYTES,
    MAX_RECOGNITION_BYTES,
    PLAINTEXT,
    TLS,
    UNKNOWN,
    Preamble,
    UpgradeError,
    starts_like_tls,
)

__all__ = [
    "FOLLOWING", "MAX_PREAMBLE_BYTES", "MAX_RECOGNITION_BYTES", "PLAINTEXT", "TLS", "UNKNOWN",
    "Preamble", "UpgradeError", "starts_like_tls",
]
