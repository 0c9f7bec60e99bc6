"""Fuzzing RFC 8879 CompressedCertificate messages (hypothesis).

The real handshake of Chrome with Cloudflare (TLS 1.3 over TCP, decrypted with the
capture's own pcapng secrets) is replayed into a fresh TLS state machine with its
CompressedCertificate mutated: the real brotli message, or the real Certificate inside
it compressed here with zlib or zstd, then header fields set to boundary values
(algorithm, uncompressed_length, the data's length), bytes flipped, the stream cut,
lengthened or spliced. Nothing may raise; a message that does not decompress to exactly
its uncompressed_length yields no certificate and one error line; the errors stay
within MAX_ERRORS.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Any
from pathlib import Path

import brotli
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_support import SHARED, examples
from analyzer import pipeline
from analyzer.pipeline import analyze_file
from analyzer.tls.connection import MAX_ERRORS, TLSConnection
from analyzer.tls.registry import HandshakeType

CHROME = SHARED / "ja4" / "chrome-cloudflare-quic-with-secrets.pcapng"
SETTINGS = settings(max_examples=examples(), deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

pytestmark = pytest.mark.skipif(not Path(CHROME).exists(), reason="shared captures not present")


@lru_cache(maxsize=1)
def handshake() -> tuple[tuple[int, int, bytes], ...]:
    """(direction, type, body) of the first connection with a CompressedCertificate, as the state machine saw them."""
    seen: list[list[tuple[int, int, bytes]]] = []

    def recording(**kwargs: Any) -> TLSConnection:
        # every connection the pipeline makes reports its parsed messages through the hook
        msgs: list[tuple[int, int, bytes]] = []
        seen.append(msgs)
        return TLSConnection(on_handshake=lambda d, t, body, frame, ts: msgs.append((d, t, bytes(body))), **kwargs)

    pipeline.TLSConnection = recording  # type: ignore[misc,assignment]
    try:
        list(analyze_file(str(CHROME)))
    finally:
        pipeline.TLSConnection = TLSConnection  # type: ignore[misc]
    return tuple(next(m for m in seen if any(t == HandshakeType.COMPRESSED_CERTIFICATE for _, t, _ in m)))


@lru_cache(maxsize=1)
def messages() -> tuple[bytes, ...]:
    """The real brotli CompressedCertificate body, and its Certificate recompressed with zlib and zstd."""
    (real,) = [b for _, t, b in handshake() if t == HandshakeType.COMPRESSED_CERTIFICATE]
    n = int.from_bytes(real[5:8], "big")
    cert = brotli.decompress(real[8:8 + n])
    out = [real]
    for alg, data in ((1, zlib.compress(cert)), (3, zstandard.ZstdCompressor().compress(cert))):
        out.append(alg.to_bytes(2, "big") + len(cert).to_bytes(3, "big") + len(data).to_bytes(3, "big") + data)
    return tuple(out)


FIELDS = ((0, 2), (2, 3), (5, 3))   # algorithm, uncompressed_length, compressed_certificate_message length
BOUNDARY = (0, 1, 2, 3, 4, 0xFF, 0x100, 0xFFFF, 0x10000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 0xFFFFFF)
index = st.integers(0, 1 << 20)
op = st.one_of(
    st.tuples(st.just("field"), st.integers(0, len(FIELDS) - 1), st.one_of(st.sampled_from(BOUNDARY), st.integers(0, 0xFFFFFF))),
    st.tuples(st.just("flip"), index, st.integers(0, 255)),
    st.tuples(st.just("truncate"), index),
    st.tuples(st.just("insert"), index, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), index, st.integers(1, 256)),
    st.tuples(st.just("fix_length"),),   # make the data length agree again (so the stream itself is fuzzed)
)


def mutate(body: bytes, ops: list[tuple]) -> bytes:
    b = bytearray(body)
    for o in ops:
        if o[0] == "field":
            off, size = FIELDS[o[1]]
            if len(b) >= off + size:
                b[off:off + size] = (o[2] & ((1 << (8 * size)) - 1)).to_bytes(size, "big")
        elif o[0] == "fix_length" and len(b) >= 8:
            b[5:8] = (len(b) - 8).to_bytes(3, "big")
        elif not b:
            break
        elif o[0] == "flip":
            b[o[1] % len(b)] = o[2]
        elif o[0] == "truncate":
            del b[o[1] % len(b):]
        elif o[0] == "insert":
            p = o[1] % (len(b) + 1)
            b[p:p] = o[2]
        elif o[0] == "delete":
            p = o[1] % len(b)
            del b[p:p + o[2]]
    return bytes(b)


@SETTINGS
@given(which=st.integers(0, 2), ops=st.lists(op, min_size=1, max_size=5))
def test_compressed_certificate(which: int, ops: list[tuple]) -> None:
    body = mutate(messages()[which], ops)
    c = TLSConnection()
    for frame, (d, t, b) in enumerate(handshake(), 1):
        if t == HandshakeType.COMPRESSED_CERTIFICATE:
            b = body
        c.feed_handshake(d, bytes([t]) + len(b).to_bytes(3, "big") + b, frame, 0.0)
    s = c.finish()
    assert len(s.errors) <= MAX_ERRORS
    if s.cert_chain:   # read: then it decompressed to exactly its claimed length
        assert s.cert_compression in ("zlib", "brotli", "zstd")
        assert not any("compressed_certificate" in e for e in s.errors)
    elif s.failure is None:
        assert any("compressed_certificate" in e for e in s.errors), s.errors
