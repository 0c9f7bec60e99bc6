"""Mutated real handshakes never raise out of the TLS state machine; damage becomes a recorded failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.tls.connection import TLSConnection
from captures.generate import client_context, pki_at, server_context, tls_conversation

CAPTURES = Path(__file__).resolve().parent.parent / "captures"


def _conversations():
    pki = pki_at(CAPTURES)
    return [
        tls_conversation(client_context(pki, max_version="TLSv1.2", alpn=["h2"]), server_context(pki, alpn=["h2"]),
                         server_hostname="server.test"),
        tls_conversation(client_context(pki), server_context(pki, curve="secp384r1"), server_hostname="server.test"),
    ]


CONVS = _conversations()


def feed_all(chunks, cut: int) -> None:
    tls = TLSConnection()
    for i, (d, data) in enumerate(chunks):
        for j in range(0, len(data), cut):
            tls.feed(d, data[j : j + cut], i + 1, float(i))
    s = tls.finish("end")
    assert s.handshake_complete or s.failure is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(CONVS) - 1),
    flips=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.sampled_from([1, 7, 300, 1 << 20]),
)
def test_byte_flips_never_raise(which, flips, cut):
    chunks = [(d, bytearray(b)) for d, b in CONVS[which].chunks]
    for idx, pos, val in flips:
        d, b = chunks[idx % len(chunks)]
        b[pos % len(b)] = val
    feed_all([(d, bytes(b)) for d, b in chunks], cut)


@settings(max_examples=150, deadline=None)
@given(which=st.integers(0, len(CONVS) - 1), idx=st.integers(0, 3), keep=st.integers(0, 3000),
       insert=st.binary(max_size=40))
def test_truncations_and_insertions_never_raise(which, idx, keep, insert):
    chunks = list(CONVS[which].chunks)
    i = idx % len(chunks)
    d, b = chunks[i]
    chunks[i] = (d, b[:keep] + insert + b[keep:keep + 50])
    feed_all(chunks, 1 << 20)


@pytest.mark.parametrize("length_field", [0, 1, 0xFFFF, 0x4801])
def test_hostile_record_lengths(length_field):
    tls = TLSConnection()
    record = bytes([22, 3, 1]) + length_field.to_bytes(2, "big") + b"\x01" + b"\x00" * 10
    tls.feed(0, record, 1, 0.0)
    s = tls.finish("end")
    assert s.failure is not None


def test_handshake_message_length_over_the_cap_is_malformed():
    tls = TLSConnection()
    body = bytes([1]) + (0xFFFFFF).to_bytes(3, "big")
    tls.feed(0, bytes([22, 3, 1, 0, len(body)]) + body, 5, 0.0)
    s = tls.finish("end")
    assert s.failure.startswith("malformed") and s.failure_frame == 5
