"""Key material of a run: NSS key logs, pcapng DSB secrets, server RSA private keys, resumable sessions.

Owns reading what the user gives (every NSS key log label, several files; RSA
private keys as PEM PKCS#1/PKCS#8, DER, PKCS#12 with an optional password),
pre-shared keys of TLS 1.2 PSK suites (by psk_identity), matching RSA keys to
server certificates by public key, decrypting an RSA
encrypted premaster (PKCS#1 v1.5), and remembering master secrets recovered
from full TLS <= 1.2 handshakes so that resumptions (session ID or ticket) in
the same run can reuse them. A bad key log line is a recorded problem naming
the file and line, never fatal. Secrets never appear in a problem, repr or
error message.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterator

# NSS key log labels (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/)
# label -> (length of the identifier, allowed secret lengths)
LABELS: dict[str, tuple[int, tuple[int, ...]]] = {
    "CLIENT_RANDOM": (32, (48,)),
    "RSA": (8, (48,)),
    "CLIENT_EARLY_TRAFFIC_SECRET": (32, (32, 48, 64)),
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET": (32, (32, 48, 64)),
    "SERVER_HANDSHAKE_TRAFFIC_SECRET": (32, (32, 48, 64)),
    "CLIENT_TRAFFIC_SECRET_0": (32, (32, 48, 64)),
    "SERVER_TRAFFIC_SECRET_0": (32, (32, 48, 64)),
    "EARLY_EXPORTER_SECRET": (32, (32, 48, 64)),
    "EXPORTER_SECRET": (32, (32, 48, 64)),
}

TLS_KEYLOG_DSB = 0x544C534B   # pcapng Decryption Secrets Block type: NSS key log text
MAX_SESSIONS = 100_000        # remembered master secrets (oldest dropped first)
MAX_PROBLEMS = 200
MAX_PSK_BYTES = 65535         # RFC 4279 section 5.3: a PSK is at most 2^16-1 bytes (its uint16 length)
_HEX = frozenset("0123456789abcdefABCDEF")


def keylog_text_lines(data: bytes | str) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) of key log text, comments and blank lines left out.

    Lines are counted at line feeds (a carriage return before one is dropped), as an editor numbers them.
    """
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    for number, line in enumerate(data.split("\n"), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            yield number, line


def parse_keylog_line(line: str) -> tuple[str, bytes, bytes] | str:
    """One NSS key log line: (label, identifier, secret), or why it cannot be used (never echoing a secret)."""
    parts = line.split()
    label = parts[0]
    spec = LABELS.get(label)
    if spec is None:
        # a line that starts with a secret (a mangled or shifted line) must not echo it
        if len(label) > 40 or not label.replace("_", "").isalnum() or all(c in _HEX for c in label):
            return "unknown label (not shown: it may be key material)"
        return f"unknown label {label!r}"
    if len(parts) != 3:
        return f"{label} line has {len(parts)} fields (expected 3)"
    try:
        ident = bytes.fromhex(parts[1])
        secret = bytes.fromhex(parts[2])
    except ValueError:
        return f"{label} line is not hexadecimal"
    id_len, secret_lens = spec
    if len(ident) != id_len:
        return f"{label} identifier has {len(ident)} bytes (expected {id_len})"
    if len(secret) not in secret_lens:
        return f"{label} secret has {len(secret)} bytes (expected {' or '.join(map(str, secret_lens))})"
    return label, ident, secret


class KeyFileError(Exception):
    """A key file cannot be used at all (unreadable, wrong password, not an RSA private key)."""


@dataclass
class ServerKey:
    source: str                 # the file name as given (never the key)
    key: object                 # cryptography RSAPrivateKey
    modulus: int
    matched: int = 0            # connections whose certificate it matched

    def __repr__(self) -> str:
        return f"ServerKey({self.source!r}, {self.modulus.bit_length()}-bit RSA, matched={self.matched})"


@dataclass
class KeyMaterial:
    """Everything a run may decrypt with; shared by all connections of all files."""

    secrets: dict[bytes, dict[str, bytes]] = field(default_factory=dict, repr=False)   # client random -> label -> secret
    rsa_premasters: dict[bytes, bytes] = field(default_factory=dict, repr=False)       # first 8 bytes of EPMS -> PMS
    psks: dict[bytes | None, bytes] = field(default_factory=dict, repr=False)         # psk_identity (None: any) -> PSK
    server_keys: list[ServerKey] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    keylog_lines: int = 0
    connections: int = 0        # connections that looked for keys here (in this process)
    asked: set[bytes] | None = field(default=None, repr=False)   # when a set: client randoms looked up (inject-secrets)
    _sessions: "OrderedDict[bytes, bytes]" = field(default_factory=OrderedDict, repr=False)
    _cert_keys: dict[bytes, ServerKey | None] = field(default_factory=dict, repr=False)

    # -- key logs -----------------------------------------------------------

    def add_keylog_file(self, path: str | os.PathLike) -> int:
        """Read one NSS key log file; returns the number of usable lines (bad ones become problems)."""
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise KeyFileError(f"{path}: {e.strerror or e}") from None
        return self.add_keylog_text(data, os.fspath(path))

    def add_keylog_text(self, data: bytes | str, source: str) -> int:
        """Parse key log text: `LABEL <hex id> <hex secret>` lines, `#` comments, blank lines."""
        used = 0
        for number, line in keylog_text_lines(data):
            parsed = parse_keylog_line(line)
            if isinstance(parsed, str):
                self._problem(f"{source} line {number}: {parsed}; line skipped")
                continue
            label, ident, secret = parsed
            if label == "RSA":
                self.rsa_premasters[ident] = secret
            else:
                self.secrets.setdefault(ident, {})[label] = secret
            used += 1
        self.keylog_lines += used
        return used

    def add_decryption_secrets(self, blocks: list[tuple[int, bytes]], source: str) -> None:
        """Secrets of pcapng Decryption Secrets Blocks; TLS key logs are used, other types noted."""
        for i, (stype, data) in enumerate(blocks):
            if stype == TLS_KEYLOG_DSB:
                self.add_keylog_text(data, f"{source} decryption secrets block {i + 1}")
            else:
                self._problem(f"{source} decryption secrets block {i + 1}: type 0x{stype:08x} is not a TLS key log; ignored")

    def secret(self, client_random: bytes, label: str) -> bytes | None:
        if self.asked is not None:
            self.asked.add(client_random)
        labels = self.secrets.get(client_random)
        return labels.get(label) if labels else None

    def has_secrets_for(self, client_random: bytes) -> bool:
        return client_random in self.secrets

    # -- pre-shared keys (TLS 1.2 PSK suites) --------------------------------

    def add_psk(self, spec: str) -> None:
        """`HEX` (any identity) or `IDENTITY=HEX` (that ClientKeyExchange psk_identity); raises `KeyFileError`.

        The error names the identity, never the key.
        """
        identity, sep, value = spec.rpartition("=")
        try:
            psk = bytes.fromhex(value.strip())
        except ValueError:
            raise KeyFileError(f"--psk {identity + sep if sep else ''}...: the key is not hexadecimal") from None
        if not psk or len(psk) > MAX_PSK_BYTES:
            raise KeyFileError(f"--psk {identity + sep if sep else ''}...: the key must have 1 to {MAX_PSK_BYTES} bytes")
        ident = identity.encode() if sep else None
        if ident in self.psks:
            who = f"identity {identity!r}" if sep else "without identity"
            raise KeyFileError(f"--psk {who} given twice")
        self.psks[ident] = psk

    def psk_for(self, identity: bytes) -> bytes | None:
        """The PSK for a ClientKeyExchange psk_identity: the one given for it, else the one without identity."""
        psk = self.psks.get(identity)
        return psk if psk is not None else self.psks.get(None)

    # -- RSA keys ----------------------------------------------------------

    def add_private_key_file(self, path: str | os.PathLike, password: str | bytes | None = None) -> ServerKey:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise KeyFileError(f"{path}: {e.strerror or e}") from None
        return self.add_private_key(data, os.fspath(path), password)

    def add_private_key(self, data: bytes, source: str, password: str | bytes | None = None) -> ServerKey:
        """Load an RSA private key (PEM PKCS#1/PKCS#8, DER, PKCS#12)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import pkcs12

        pw = password.encode() if isinstance(password, str) else password
        key = None
        errors: list[str] = []
        loaders: list[tuple[str, Callable[[bytes | None], object]]] = []
        if b"-----BEGIN" in data:
            loaders.append(("PEM", lambda p: serialization.load_pem_private_key(data, p)))
        else:
            loaders.append(("DER", lambda p: serialization.load_der_private_key(data, p)))
            loaders.append(("PKCS#12", lambda p: pkcs12.load_key_and_certificates(data, p)[0]))
        for kind, load in loaders:
            for attempt in ((pw, None) if pw else (None,)):   # a password given for a clear key is not an error
                try:
                    key = load(attempt)
                except (ValueError, TypeError) as e:
                    msg = str(e).split("\n")[0]
                    if "password" in msg.lower() or "decrypt" in msg.lower():
                        msg = "wrong or missing password"
                    errors.append(f"{kind}: {msg}")
                    continue
                if key is not None:
                    break
            if key is not None:
                break
        if key is None:
            raise KeyFileError(f"{source}: not a usable private key ({'; '.join(errors) or 'empty'})")
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyFileError(f"{source}: a {type(key).__name__.replace('PrivateKey', '').lstrip('_')} key; "
                               "only RSA keys decrypt (RSA key exchange)")
        sk = ServerKey(source, key, key.public_key().public_numbers().n)
        self.server_keys.append(sk)
        self._cert_keys.clear()
        return sk

    def key_for_certificate(self, der: bytes) -> ServerKey | None:
        """The loaded RSA key whose public key is the certificate's (cached per certificate)."""
        if not self.server_keys:
            return None
        h = hashlib.sha256(der).digest()
        if h in self._cert_keys:
            return self._cert_keys[h]
        found = None
        try:
            from cryptography import x509
            from cryptography.hazmat.primitives.asymmetric import rsa

            pub = x509.load_der_x509_certificate(der).public_key()
            if isinstance(pub, rsa.RSAPublicKey):
                n = pub.public_numbers().n
                found = next((k for k in self.server_keys if k.modulus == n), None)
        except Exception:  # an unparsable certificate matches nothing
            found = None
        if len(self._cert_keys) > 10_000:
            self._cert_keys.clear()
        self._cert_keys[h] = found
        return found

    def unmatched_keys(self) -> list[str]:
        """Sources of the RSA keys that matched no server certificate in the run."""
        return [k.source for k in self.server_keys if not k.matched]

    # -- resumption ----------------------------------------------------------

    def remember(self, kind: str, ident: bytes, master: bytes) -> None:
        """Keep a master secret for resumption: kind 'S' (session ID) or 'T' (ticket)."""
        if not ident:
            return
        key = kind.encode() + ident
        self._sessions[key] = master
        self._sessions.move_to_end(key)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)

    def recall(self, kind: str, ident: bytes) -> bytes | None:
        if not ident:
            return None
        return self._sessions.get(kind.encode() + ident)

    # -- misc ----------------------------------------------------------------

    @property
    def empty(self) -> bool:
        return not (self.secrets or self.rsa_premasters or self.server_keys or self.psks)

    def _problem(self, msg: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(msg)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("more key material problems not shown")

    def __getstate__(self) -> dict:
        """Picklable (for process pools): RSA keys travel as unencrypted PKCS#8 DER."""
        from cryptography.hazmat.primitives import serialization

        state = dict(self.__dict__)
        state["server_keys"] = [
            (k.source, k.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
                                           serialization.NoEncryption()), k.matched)
            for k in self.server_keys
        ]
        state["_cert_keys"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        keys = state.pop("server_keys")
        self.__dict__.update(state)
        self.server_keys = []
        for source, der, matched in keys:
            self.add_private_key(der, source).matched = matched


def load_key_material(keylogs: list[str | os.PathLike] | None = None,
                      server_keys: list[str | os.PathLike] | None = None,
                      password: str | bytes | None = None,
                      psks: list[str] | None = None) -> KeyMaterial:
    """Key material from key log files and RSA key files; raises `KeyFileError` for an unusable file.

    Bad key log lines do not raise: they are in `problems` (file and line number).
    """
    km = KeyMaterial()
    for path in keylogs or ():
        if km.add_keylog_file(path) == 0:
            km._problem(f"{os.fspath(path)}: no usable key log line")
    for path in server_keys or ():
        km.add_private_key_file(path, password)
    for spec in psks or ():
        km.add_psk(spec)
    return km
