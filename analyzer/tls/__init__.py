"""TLS stage: registries, record layer, handshake messages and the per-connection state machine.

Sans-IO: `TLSConnection` takes the bytes of each direction and returns a
`ConnectionSummary`; nothing here reads files, prints or knows pandas.
"""

from .buffer import TLSDecodeError
from .connection import TLSConnection
from .summary import ConnectionSummary, HandshakeEvent

__all__ = ["TLSConnection", "TLSDecodeError", "ConnectionSummary", "HandshakeEvent"]
