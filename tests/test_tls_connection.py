"""The TLS state machine fed real handshakes from Python's ssl module, byte streams only."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.tls.connection import TLSConnection
from captures.generate import client_context, pki_at, server_context, tls_conversation

CAPTURES = Path(__file__).resolve().parent.parent / "captures"


@pytest.fixture(scope="module")
def pki():
    return pki_at(CAPTURES)


def run(conv, *, chunk: int | None = None, roles_certain: bool = True, swap: bool = False):
    """Feed a conversation's chunks, optionally cut into `chunk`-byte pieces; frame = chunk index + 1."""
    tls = TLSConnection(roles_certain=roles_certain)
    frame = 0
    for i, (direction, data) in enumerate(conv.chunks):
        d = direction ^ 1 if swap else direction
        pieces = [data] if chunk is None else [data[j : j + chunk] for j in range(0, len(data), chunk)]
        for p in pieces:
            frame += 1
            tls.feed(d, p, frame, 1000.0 + i * 0.01)
    return tls.finish("fin")


def test_tls13_full_handshake(pki):
    conv = tls_conversation(client_context(pki, alpn=["h2", "http/1.1"]), server_context(pki, alpn=["h2"]),
                            server_hostname="server.test")
    s = run(conv)
    exp = conv.expected
    assert s.is_tls and s.handshake_complete and s.failure is None
    assert s.version == exp["version"] == "TLS 1.3"
    assert s.cipher_suite == exp["cipher"]
    assert s.cipher_suite_code == exp["cipher_code"]
    assert s.sni == "server.test"
    assert s.alpn_offered == ["h2", "http/1.1"]
    assert "TLS 1.3" in s.client_versions and "TLS 1.2" in s.client_versions
    assert s.group == "x25519"
    assert s.resumption == "none" and not s.hrr
    kinds = [e.kind for e in s.events]
    assert kinds[:2] == ["client_hello", "server_hello"]
    assert "encrypted_handshake" in kinds
    assert s.handshake_ms is not None and s.handshake_ms > 0
    assert s.round_trips == 1


def test_tls12_ecdhe_certificate_and_group(pki):
    conv = tls_conversation(client_context(pki, max_version="TLSv1.2", alpn=["http/1.1"]),
                            server_context(pki, ciphers="ECDHE-RSA-AES128-GCM-SHA256", alpn=["http/1.1"]),
                            server_hostname="server.test")
    s = run(conv)
    assert s.handshake_complete and s.version == "TLS 1.2"
    assert s.cipher_suite == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" == conv.expected["cipher"]
    assert s.group == "x25519"
    assert s.alpn == "http/1.1"
    assert s.extended_master_secret and s.secure_renegotiation
    leaf = s.cert
    assert leaf is not None and "server.test" in leaf.subject
    assert "DNS:server.test" in leaf.sans
    assert leaf.key_type == "RSA" and leaf.key_bits == 2048
    assert s.cert_count == len(s.cert_chain) >= 2
    kinds = [e.kind for e in s.events]
    for k in ("certificate", "server_key_exchange", "server_hello_done", "client_key_exchange", "change_cipher_spec"):
        assert k in kinds
    assert s.round_trips == 2


def test_one_byte_feeding_gives_the_same_summary(pki):
    conv = tls_conversation(client_context(pki, max_version="TLSv1.2"), server_context(pki), server_hostname="server.test")
    whole, bytewise = run(conv), run(conv, chunk=1)
    for field in ("version", "cipher_suite", "sni", "group", "handshake_complete", "session_id", "client_versions"):
        assert getattr(whole, field) == getattr(bytewise, field), field
    assert [c.sha256 for c in whole.cert_chain] == [c.sha256 for c in bytewise.cert_chain]
    assert [e.kind for e in whole.events] == [e.kind for e in bytewise.events]


def test_no_shared_cipher_is_an_alert_from_the_server(pki):
    conv = tls_conversation(client_context(pki, max_version="TLSv1.2", ciphers="AES128-SHA"),
                            server_context(pki, ciphers="ECDHE-RSA-AES128-GCM-SHA256"), server_hostname="server.test")
    s = run(conv)
    assert not s.handshake_complete
    assert s.failure == "alert"
    assert s.alert == conv.expected["alert"] == "handshake_failure"
    assert s.alert_sender == "server" and s.alert_level == "fatal"


def test_hello_retry_request(pki):
    conv = tls_conversation(client_context(pki), server_context(pki, curve="secp384r1"), server_hostname="server.test")
    s = run(conv)
    assert s.hrr and s.hrr_group == "secp384r1"
    assert s.group == "secp384r1"
    assert s.handshake_complete and s.client_hellos == 2
    assert "hello_retry_request" in [e.kind for e in s.events]


def test_tls12_session_id_resumption(pki):
    cc = client_context(pki, max_version="TLSv1.2")
    sc = server_context(pki, no_ticket=True)
    first = tls_conversation(cc, sc, server_hostname="server.test")
    again = tls_conversation(cc, sc, server_hostname="server.test", session=first.session)
    assert again.expected["session_reused"]
    s1, s2 = run(first), run(again)
    assert not s1.resumed and s1.resumption == "none"
    assert s2.resumed and s2.resumption == "session_id"
    assert s2.session_id == s2.server_session_id == s1.server_session_id
    assert s2.handshake_complete and not s2.cert_chain


def test_tls12_ticket_resumption(pki):
    cc = client_context(pki, max_version="TLSv1.2")
    sc = server_context(pki)
    first = tls_conversation(cc, sc, server_hostname="server.test")
    again = tls_conversation(cc, sc, server_hostname="server.test", session=first.session)
    assert again.expected["session_reused"]
    s1, s2 = run(first), run(again)
    assert s1.ticket_issued
    assert s2.ticket_offered and s2.resumed and s2.resumption == "ticket"


def test_tls13_psk_resumption(pki):
    cc = client_context(pki)
    sc = server_context(pki)
    first = tls_conversation(cc, sc, server_hostname="server.test")
    again = tls_conversation(cc, sc, server_hostname="server.test", session=first.session)
    assert again.expected["session_reused"]
    s = run(again)
    assert s.psk_offered and s.resumed and s.resumption == "psk" and s.handshake_complete


def test_not_tls():
    tls = TLSConnection()
    tls.feed(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 4, 1.0)
    assert not tls.wants_payload
    s = tls.finish("fin")
    assert s.failure == "not_tls" and not s.is_tls
    assert any("frame 4" in e for e in s.errors)


def test_malformed_client_hello_is_recorded_with_its_frame(pki):
    conv = tls_conversation(client_context(pki), server_context(pki), server_hostname="server.test")
    hello = bytearray(conv.chunks[0][1])
    # cipher_suites length made odd: the record and handshake framing still hold
    sid_len = hello[5 + 4 + 34]
    pos = 5 + 4 + 35 + sid_len
    hello[pos + 1] |= 1
    tls = TLSConnection()
    tls.feed(0, bytes(hello), 7, 1.0)
    s = tls.finish("end")
    assert s.failure.startswith("malformed: client_hello")
    assert s.failure_frame == 7


def test_gap_stops_parsing_that_direction(pki):
    conv = tls_conversation(client_context(pki, max_version="TLSv1.2"), server_context(pki), server_hostname="server.test")
    tls = TLSConnection()
    tls.feed(0, conv.chunks[0][1], 1, 1.0)
    server_flight = conv.chunks[1][1]
    tls.feed(1, server_flight[:100], 2, 1.1)
    tls.gap(1, 500, 3, 1.2)
    tls.feed(1, server_flight[600:], 4, 1.3)
    s = tls.finish("end")
    assert s.failure == "gap" and s.failure_frame == 3
    assert s.tcp_gaps == 1


def test_mid_stream_start_swaps_roles(pki):
    conv = tls_conversation(client_context(pki), server_context(pki), server_hostname="server.test")
    s = run(conv, roles_certain=False, swap=True)
    assert s.roles_swapped
    assert s.sni == "server.test" and s.handshake_complete


def test_records_cut_anywhere_and_truncated_capture(pki):
    conv = tls_conversation(client_context(pki), server_context(pki), server_hostname="server.test")
    tls = TLSConnection()
    tls.feed(0, conv.chunks[0][1], 1, 1.0)
    tls.feed(1, conv.chunks[1][1][:50], 2, 1.1)   # ServerHello cut by the end of the capture
    s = tls.finish("end")
    assert s.failure == "truncated" and s.sni == "server.test"


def test_no_response(pki):
    conv = tls_conversation(client_context(pki), server_context(pki), server_hostname="server.test")
    tls = TLSConnection()
    tls.feed(0, conv.chunks[0][1], 1, 1.0)
    assert tls.finish("end").failure == "no_response"


def test_rst_mid_handshake(pki):
    conv = tls_conversation(client_context(pki, max_version="TLSv1.2"), server_context(pki), server_hostname="server.test")
    tls = TLSConnection()
    tls.feed(0, conv.chunks[0][1], 1, 1.0)
    tls.feed(1, conv.chunks[1][1], 2, 1.1)
    tls.rst(0, 3, 1.2)
    s = tls.finish("rst")
    assert s.failure == "reset" and s.failure_frame == 3


def test_payload_not_wanted_after_handshake(pki):
    conv = tls_conversation(client_context(pki, max_version="TLSv1.2"), server_context(pki), server_hostname="server.test",
                            client_messages=[b"x" * 50000], server_messages=[b"y" * 50000])
    tls = TLSConnection()
    for i, (d, data) in enumerate(conv.chunks):
        if not tls.wants_payload:
            break
        tls.feed(d, data, i + 1, 1.0 + i)
    assert tls.summary.handshake_complete and not tls.wants_payload
