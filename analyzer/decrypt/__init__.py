"""Decryption: key material in, secrets, verified Finished and plaintext out.

Owns NSS key logs (every label), pcapng Decryption Secrets Block secrets, RSA
private keys matched to server certificates (`keys`); the PRFs, extended master
secret and TLS 1.3 key schedule (`kdf`); the cipher suite parameter table
(`suites`); record protection (`record`); the per-connection `Decryptor` that the
TLS state machine drives (`session`); and the outputs of the `decrypt` and
`keylog` commands (`output`). Every failure has a reason in the connection's
status; key material never appears in a message.
"""

from __future__ import annotations

from .keys import KeyFileError, KeyMaterial, ServerKey, TLS_KEYLOG_DSB
from .session import AppDataSink, Decryptor

__all__ = ["AppDataSink", "Decryptor", "KeyFileError", "KeyMaterial", "ServerKey", "TLS_KEYLOG_DSB"]
