"""The secrets of one capture, for `inject-secrets`: exactly the key log lines its connections need.

Owns the selection made in the first pass over a capture (the second pass, the copy
into pcapng, is `analyzer.capture.rewrite`): for every TLS connection, every key log
line whose client random is one of the connection's handshakes (from the user's key
logs and the capture's own Decryption Secrets Blocks; QUIC handshakes by the client
randoms their secrets were looked up with), and, for a TLS <= 1.2 session
whose master secret was recovered otherwise (an RSA private key, an `RSA` premaster
line, the full handshake of a resumed session), a `CLIENT_RANDOM` line with that
master secret. Lines of other connections are never selected. The text it builds
holds secrets: it goes only into the output file, never into a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..tls.summary import ConnectionSummary
from .check import carried_protected_records
from .keys import KeyMaterial
from .session import Decryptor

_MASTER_LABEL = "CLIENT_RANDOM"
_DECRYPTED = "ok"


@dataclass
class SecretsCollector:
    """`Options.on_connection` hook of the first pass; `text()` is the key log to inject."""

    keys: KeyMaterial
    tls_connections: int = 0
    covered: int = 0              # connections with at least one line selected
    not_decrypted: list[tuple[int, str]] = field(default_factory=list)   # (stream, status) with protected records
    _lines: dict[tuple[str, bytes], bytes] = field(default_factory=dict, repr=False)

    def __call__(self, s: ConnectionSummary, dec: object) -> None:
        if not s.is_tls:
            return
        self.tls_connections += 1
        before = len(self._lines)
        if isinstance(dec, Decryptor):
            for cr in dec.client_randoms:
                for label, secret in self.keys.secrets.get(cr, {}).items():
                    self._lines.setdefault((label, cr), secret)
            for label, cr, secret in dec.recovered_secrets():
                if label == _MASTER_LABEL:
                    self._lines.setdefault((label, cr), secret)
        if len(self._lines) > before:
            self.covered += 1
        if carried_protected_records(s) and s.decryption != _DECRYPTED:
            self.not_decrypted.append((s.stream, s.decryption or "not_attempted"))

    def __post_init__(self) -> None:
        self.keys.asked = set()   # QUIC connections look their secrets up by client random too

    @property
    def lines(self) -> int:
        return len(self._lines)

    def finish(self) -> None:
        """After the pass: the lines of client randoms looked up elsewhere (QUIC handshakes)."""
        for cr in sorted(self.keys.asked or ()):
            for label, secret in self.keys.secrets.get(cr, {}).items():
                self._lines.setdefault((label, cr), secret)

    def text(self) -> bytes:
        """The selected lines as NSS key log text (one `LABEL <client random> <secret>` per line)."""
        return "".join(f"{label} {cr.hex()} {secret.hex()}\n" for (label, cr), secret in self._lines.items()).encode()
