"""Fuzzing with real captures mutated at the capture, TCP, TLS, QUIC and DTLS layers (hypothesis).

Each test draws a capture from the corpus (bundled and shared captures, see
fuzz_support.py), mutates it at one layer, runs the whole pipeline (with the
bundled key log and server key in about half the runs, so decryption is fuzzed
too) and every writer on the result, and checks that nothing raised and every
summary stays within the documented bounds.

- capture layer: the file's bytes: length fields of pcap records and pcapng blocks
  set to boundary values, byte flips (header-heavy), truncation, insertion,
  deletion, duplication, and gzip (whole or cut off);
- TCP layer: the segment tuples re-encoded as a raw-IP pcap after drops,
  duplicates, reordering, sequence/ack jumps, flag changes, snaplen cuts,
  inflated lengths, overlapping retransmissions with different bytes, and
  splitting into tiny segments;
- TLS layer: TCP payloads with record/handshake headers and length fields set to
  boundary values, byte flips, insertions and deletions;
- QUIC layer: the UDP datagrams of QUIC captures with header flips, truncation,
  duplication, reordering and junk datagrams;
- DTLS layer: the datagrams of the DTLS captures with record and fragment header flips,
  epochs, record lengths, fragment offsets/lengths and message_seq set to any value,
  handshake records split into two fragments, truncation, duplication, reordering, junk.
- upgrade layer: the plaintext preambles of captures/upgrade/ (STARTTLS, database, RDP,
  SOCKS and HTTP CONNECT) with byte flips, insertions (line ends, reply codes, junk),
  deletions and truncation, and split into tiny segments; the rows must stay within the
  bounds, an upgraded row must be TLS, and a refused one never.

CI runs FUZZ_EXAMPLES (default 100) examples per test; README.md "Fuzzing" gives
the longer run by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_support import (
    corpus,
    decoded,
    examples,
    gzipped,
    key_material,
    record_fields,
    run_bytes,
    segments_pcap,
    upgrade_corpus,
    upgrade_key_material,
)

CORPUS = corpus()
N = examples()
SETTINGS = settings(max_examples=N, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])

BOUNDARY32 = (0, 1, 11, 12, 16, 28, 32, 0xFFFF, 0x10000, (16 << 20), (16 << 20) + 1, 0x7FFFFFFF,
              0x80000000, 0xFFFFFFFC, 0xFFFFFFFF)
BOUNDARY8 = (0x00, 0x01, 0x03, 0x14, 0x15, 0x16, 0x17, 0x18, 0x7F, 0x80, 0xFE, 0xFF)

pytestmark = pytest.mark.skipif(not CORPUS, reason="no captures to fuzz")

byte_value = st.one_of(st.sampled_from(BOUNDARY8), st.integers(0, 255))
index = st.integers(0, 1 << 30)


# --------------------------------------------------------------------------- capture layer

capture_op = st.one_of(
    st.tuples(st.just("field"), index, st.sampled_from(BOUNDARY32), st.booleans()),
    st.tuples(st.just("flip"), index, st.booleans(), byte_value),
    st.tuples(st.just("truncate"), index),
    st.tuples(st.just("insert"), index, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), index, st.integers(1, 64)),
    st.tuples(st.just("duplicate"), index, st.integers(1, 512)),
)


def mutate_capture(data: bytes, ops: list[tuple]) -> bytes:
    b = bytearray(data)
    for op in ops:
        if not b:
            break
        kind = op[0]
        if kind == "field":
            fields = record_fields(bytes(b))
            if fields:
                off, size = fields[op[1] % len(fields)]
                v = op[2] & ((1 << (8 * size)) - 1)
                b[off:off + size] = v.to_bytes(size, "little" if op[3] else "big")
        elif kind == "flip":
            pos = op[1] % min(len(b), 128) if op[2] else op[1] % len(b)
            b[pos] = op[3]
        elif kind == "truncate":
            del b[op[1] % len(b):]
        elif kind == "insert":
            pos = op[1] % (len(b) + 1)
            b[pos:pos] = op[2]
        elif kind == "delete":
            pos = op[1] % len(b)
            del b[pos:pos + op[2]]
        elif kind == "duplicate":
            pos = op[1] % len(b)
            b[pos:pos] = b[pos:pos + op[2]]
    return bytes(b)


@SETTINGS
@given(which=st.integers(0, max(0, len(CORPUS) - 1)), ops=st.lists(capture_op, min_size=1, max_size=4),
       wrap=st.sampled_from(("plain", "plain", "plain", "gzip", "gzip-cut")), decrypt=st.booleans(),
       html=st.integers(0, 15))
def test_capture_layer(tmp_path: Path, which: int, ops: list[tuple], wrap: str, decrypt: bool, html: int) -> None:
    data = mutate_capture(CORPUS[which][1], ops)
    if wrap != "plain":
        data = gzipped(data)
        if wrap == "gzip-cut":
            data = data[: max(10, len(data) * 2 // 3)]
    run_bytes(data, tmp_path / ("in.pcap.gz" if wrap != "plain" else "in.pcap"),
              keys=key_material() if decrypt else None, html_dir=tmp_path / "html" if html == 0 else None)


@SETTINGS
@given(which=st.integers(0, max(0, len(CORPUS) - 1)), ops=st.lists(capture_op, min_size=1, max_size=4),
       wrap=st.sampled_from(("plain", "plain", "gzip")))
def test_inject_secrets_copy(tmp_path: Path, which: int, ops: list[tuple], wrap: str) -> None:
    """The pcapng copy of `inject-secrets`: a damaged input is a CaptureError, a copy reads back with its block."""
    import io

    from analyzer.capture import Capture, CaptureError
    from analyzer.capture.rewrite import write_with_secrets
    from analyzer.decrypt import TLS_KEYLOG_DSB

    data = mutate_capture(CORPUS[which][1], ops)
    path = tmp_path / ("in.pcap.gz" if wrap == "gzip" else "in.pcap")
    path.write_bytes(gzipped(data) if wrap == "gzip" else data)
    secrets = b"CLIENT_RANDOM " + b"ab" * 32 + b" " + b"cd" * 48 + b"\n"
    out = io.BytesIO()
    try:
        packets = write_with_secrets(path, out, [(TLS_KEYLOG_DSB, secrets)])
    except CaptureError:
        return
    assert packets >= 0
    with Capture(io.BytesIO(out.getvalue())) as cap:
        for _ in cap.segments():
            pass
        assert cap.decryption_secrets[:1] == [(TLS_KEYLOG_DSB, secrets)]


# --------------------------------------------------------------------------- TCP layer

FLAG_VALUES = (0x02, 0x12, 0x01, 0x11, 0x04, 0x14, 0x10, 0x18, 0x00, 0x1FF, 0x03, 0x06)
SEQ_DELTAS = (-1, 1, -1460, 1460, 1 << 31, (1 << 30) + 1, -(1 << 30), 0xFFFFFFFF)

tcp_op = st.one_of(
    st.tuples(st.just("drop"), index),
    st.tuples(st.just("duplicate"), index, index),
    st.tuples(st.just("swap"), index, index),
    st.tuples(st.just("seq"), index, st.one_of(st.sampled_from(SEQ_DELTAS), st.integers(-70000, 70000))),
    st.tuples(st.just("ack"), index, st.sampled_from(SEQ_DELTAS)),
    st.tuples(st.just("flags"), index, st.sampled_from(FLAG_VALUES)),
    st.tuples(st.just("cut"), index, st.integers(0, 64)),
    st.tuples(st.just("plen"), index, st.sampled_from((0, 1, 1460, 65495, 70000))),
    st.tuples(st.just("overlap"), index, st.integers(0, 200), st.integers(1, 300), byte_value),
    st.tuples(st.just("split"), index, st.sampled_from((1, 1, 2, 3, 7))),
    st.tuples(st.just("port"), index, st.integers(0, 65535)),
)


def mutate_segments(segs: list, ops: list[tuple]) -> list:
    segs = list(segs)
    for op in ops:
        if not segs:
            break
        i = op[1] % len(segs)
        fr, ts, src, sport, dst, dport, seq, ack, flags, payload, plen = segs[i]
        kind = op[0]
        if kind == "drop":
            del segs[i]
        elif kind == "duplicate":
            segs.insert(op[2] % (len(segs) + 1), segs[i])
        elif kind == "swap":
            j = op[2] % len(segs)
            segs[i], segs[j] = segs[j], segs[i]
        elif kind == "seq":
            segs[i] = (fr, ts, src, sport, dst, dport, (seq + op[2]) & 0xFFFFFFFF, ack, flags, payload, plen)
        elif kind == "ack":
            segs[i] = (fr, ts, src, sport, dst, dport, seq, (ack + op[2]) & 0xFFFFFFFF, flags | 0x10, payload, plen)
        elif kind == "flags":
            segs[i] = (fr, ts, src, sport, dst, dport, seq, ack, op[2], payload, plen)
        elif kind == "cut":  # snaplen cut: fewer bytes captured than the IP header declares
            segs[i] = (fr, ts, src, sport, dst, dport, seq, ack, flags, payload[: op[2]], plen)
        elif kind == "plen":
            segs[i] = (fr, ts, src, sport, dst, dport, seq, ack, flags, payload, op[2])
        elif kind == "overlap" and payload:  # a retransmission overlapping with different bytes
            shift = op[2] % len(payload)
            body = bytearray(payload[shift:shift + op[3]])
            if body:
                body[len(body) // 2] ^= op[4] or 0x5A
            segs.insert(i + 1, (fr, ts, src, sport, dst, dport, (seq + shift) & 0xFFFFFFFF, ack, flags,
                                bytes(body), len(body)))
        elif kind == "split" and payload and len(payload) == plen:
            size = op[2]
            pieces = [(fr, ts, src, sport, dst, dport, (seq + k) & 0xFFFFFFFF, ack, flags,
                       payload[k:k + size], len(payload[k:k + size])) for k in range(0, min(len(payload), 600), size)]
            rest = payload[600:]
            if rest:
                pieces.append((fr, ts, src, sport, dst, dport, (seq + 600) & 0xFFFFFFFF, ack, flags, rest, len(rest)))
            segs[i:i + 1] = pieces
        elif kind == "port":
            segs[i] = (fr, ts, src, op[2], dst, dport, seq, ack, flags, payload, plen)
    return segs


def _with_tcp(n: int) -> list[int]:
    return [i for i in range(n) if decoded(i)[0]]


TCP_FILES = _with_tcp(len(CORPUS))


@SETTINGS
@given(which=st.integers(0, max(0, len(TCP_FILES) - 1)), ops=st.lists(tcp_op, min_size=1, max_size=6),
       decrypt=st.booleans())
def test_tcp_layer(tmp_path: Path, which: int, ops: list[tuple], decrypt: bool) -> None:
    segs, _udp, _dsb = decoded(TCP_FILES[which])
    data = segments_pcap(mutate_segments(list(segs), ops))
    run_bytes(data, tmp_path / "in.pcap", keys=key_material() if decrypt else None)


# --------------------------------------------------------------------------- TLS layer

RECORD_LENGTHS = (0, 1, 2, 3, 4, 5, 0x3FFF, 0x4000, 0x4001, 0x4800, 0x4801, 0xFFFF)
HS_LENGTHS = (0, 1, 2, 4, 0x3FFF, 0x10000, 1 << 20, (1 << 20) + 1, 0xFFFFFF)

tls_op = st.one_of(
    st.tuples(st.just("record_length"), index, index, st.sampled_from(RECORD_LENGTHS), st.integers(-2, 2)),
    st.tuples(st.just("handshake_length"), index, index, st.sampled_from(HS_LENGTHS), st.integers(-2, 2)),
    st.tuples(st.just("header_byte"), index, index, st.integers(0, 9), byte_value),
    st.tuples(st.just("flip"), index, index, byte_value),
    st.tuples(st.just("insert"), index, index, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), index, index, st.integers(1, 16)),
)


def _record_starts(payload: bytes) -> list[int]:
    """Offsets in a payload that look like a TLS record header (content type, major version 3)."""
    return [k for k in range(len(payload) - 4) if 20 <= payload[k] <= 24 and payload[k + 1] == 3 and payload[k + 2] <= 4]


def mutate_tls(segs: list, ops: list[tuple]) -> list:
    segs = list(segs)
    with_payload = [i for i, s in enumerate(segs) if s[9]]
    for op in ops:
        if not with_payload:
            break
        i = with_payload[op[1] % len(with_payload)]
        fr, ts, src, sport, dst, dport, seq, ack, flags, payload, plen = segs[i]
        if not payload:  # emptied by an earlier deletion
            continue
        b = bytearray(payload)
        starts = _record_starts(payload) or [0]
        r = starts[op[2] % len(starts)]
        kind = op[0]
        if kind == "record_length" and r + 5 <= len(b):
            b[r + 3:r + 5] = max(0, min(0xFFFF, op[3] + op[4])).to_bytes(2, "big")
        elif kind == "handshake_length" and r + 9 <= len(b):
            b[r + 6:r + 9] = max(0, min(0xFFFFFF, op[3] + op[4])).to_bytes(3, "big")
        elif kind == "header_byte" and r + op[3] < len(b):
            b[r + op[3]] = op[4]
        elif kind == "flip":
            b[op[2] % len(b)] = op[3]
        elif kind == "insert":
            pos = op[2] % (len(b) + 1)
            b[pos:pos] = op[3]
        elif kind == "delete":
            pos = op[2] % len(b)
            del b[pos:pos + op[3]]
        segs[i] = (fr, ts, src, sport, dst, dport, seq, ack, flags, bytes(b), len(b))
        # bytes inserted or deleted move the rest of this direction's stream with them
        delta = len(b) - len(payload)
        if delta:
            for j in range(i + 1, len(segs)):
                s = segs[j]
                if (s[2], s[3], s[4], s[5]) == (src, sport, dst, dport):
                    segs[j] = s[:6] + ((s[6] + delta) & 0xFFFFFFFF,) + s[7:]
    return segs


@SETTINGS
@given(which=st.integers(0, max(0, len(TCP_FILES) - 1)), ops=st.lists(tls_op, min_size=1, max_size=5),
       decrypt=st.booleans(), split=st.booleans())
def test_tls_layer(tmp_path: Path, which: int, ops: list[tuple], decrypt: bool, split: bool) -> None:
    segs, _udp, _dsb = decoded(TCP_FILES[which])
    segs = mutate_tls(list(segs), ops)
    if split:  # the first payload of each direction in 1-byte segments as well
        segs = mutate_segments(segs, [("split", i, 1) for i in range(3)])
    run_bytes(segments_pcap(segs), tmp_path / "in.pcap", keys=key_material() if decrypt else None)


# --------------------------------------------------------------------------- QUIC layer

QUIC_FILES = [i for i in range(len(CORPUS)) if any(len(d[6]) >= 1200 and d[6][0] & 0x80 for d in decoded(i)[1])]

quic_op = st.one_of(
    st.tuples(st.just("flip"), index, st.integers(0, 63), byte_value),
    st.tuples(st.just("flip_any"), index, index, byte_value),
    st.tuples(st.just("truncate"), index, st.integers(0, 1400)),
    st.tuples(st.just("duplicate"), index, index),
    st.tuples(st.just("swap"), index, index),
    st.tuples(st.just("drop"), index),
    st.tuples(st.just("junk"), index, st.binary(min_size=1, max_size=80)),
)


def _move_datagram(dgs: list, i: int, op: tuple) -> bool:
    """The list operations both datagram mutators share: duplicate, swap or drop datagram `i`."""
    kind = op[0]
    if kind == "duplicate":
        dgs.insert(op[2] % (len(dgs) + 1), dgs[i])
    elif kind == "swap":
        j = op[2] % len(dgs)
        dgs[i], dgs[j] = dgs[j], dgs[i]
    elif kind == "drop":
        del dgs[i]
    else:
        return False
    return True


def mutate_datagrams(dgs: list, ops: list[tuple]) -> list:
    dgs = list(dgs)
    for op in ops:
        if not dgs:
            break
        i = op[1] % len(dgs)
        if _move_datagram(dgs, i, op):
            continue
        fr, ts, src, sport, dst, dport, payload = dgs[i]
        kind = op[0]
        b = bytearray(payload)
        if kind == "flip" and b:
            b[op[2] % len(b)] = op[3]
        elif kind == "flip_any" and b:
            b[op[2] % len(b)] = op[3]
        elif kind == "truncate":
            del b[op[2]:]
        elif kind == "junk":
            b = bytearray(b"\xc0\x00\x00\x00\x01" + op[2])
        dgs[i] = (fr, ts, src, sport, dst, dport, bytes(b))
    return dgs


@pytest.mark.skipif(not QUIC_FILES, reason="no QUIC captures in the corpus")
@SETTINGS
@given(which=st.integers(0, max(0, len(QUIC_FILES) - 1)), ops=st.lists(quic_op, min_size=1, max_size=6),
       decrypt=st.booleans())
def test_quic_layer(tmp_path: Path, which: int, ops: list[tuple], decrypt: bool) -> None:
    segs, udp, dsb = decoded(QUIC_FILES[which])
    keys = key_material() if decrypt else None
    if keys is not None:  # the capture's own Decryption Secrets Blocks (lost in re-encoding) come as key material
        keys.add_decryption_secrets(list(dsb), "fuzz")
    data = segments_pcap(segs, mutate_datagrams(list(udp), ops))
    run_bytes(data, tmp_path / "in.pcap", keys=keys)


# --------------------------------------------------------------------------- DTLS layer

DTLS_FILES = [i for i in range(len(CORPUS)) if any(len(d[6]) >= 25 and d[6][0] == 22 and d[6][1] == 0xFE
                                                   for d in decoded(i)[1])]

dtls_op = st.one_of(
    st.tuples(st.just("flip"), index, st.integers(0, 24), byte_value),       # record and fragment headers
    st.tuples(st.just("flip_any"), index, index, byte_value),
    st.tuples(st.just("epoch"), index, st.integers(0, 0xFFFF)),
    st.tuples(st.just("length"), index, st.integers(-40, 40)),
    st.tuples(st.just("fragment"), index, st.integers(0, 0xFFFFFF), st.integers(0, 0xFFFFFF)),
    st.tuples(st.just("message_seq"), index, st.integers(0, 0xFFFF)),
    st.tuples(st.just("refragment"), index, st.integers(1, 400)),
    st.tuples(st.just("truncate"), index, st.integers(0, 400)),
    st.tuples(st.just("duplicate"), index, index),
    st.tuples(st.just("swap"), index, index),
    st.tuples(st.just("drop"), index),
    st.tuples(st.just("junk"), index, st.binary(min_size=1, max_size=80)),
)


def _refragment(b: bytes, cut: int) -> bytes:
    """A plaintext (epoch 0) first record holding one handshake fragment split in two fragments of
    two records, as a sender with a small MTU would (RFC 6347 4.2.3); the rest of the datagram kept.
    The second record gets a sequence number far from the sender's own (no false duplicate)."""
    if len(b) < 25 or b[0] != 22 or b[3:5] != b"\x00\x00":
        return b
    rec_len = int.from_bytes(b[11:13], "big")
    frag = b[13:13 + rec_len]
    t, length, seq = frag[0], frag[1:4], frag[4:6]
    off = int.from_bytes(frag[6:9], "big")
    flen = int.from_bytes(frag[9:12], "big")
    body = frag[12:12 + flen]
    if len(body) < 2 or 12 + flen != rec_len:
        return b
    cut = 1 + cut % (len(body) - 1)
    out = b""
    for i, (o, part) in enumerate(((off, body[:cut]), (off + cut, body[cut:]))):
        f = bytes((t,)) + length + seq + o.to_bytes(3, "big") + len(part).to_bytes(3, "big") + part
        seqno = int.from_bytes(b[5:11], "big") + (i << 40)
        out += b[0:5] + seqno.to_bytes(6, "big") + len(f).to_bytes(2, "big") + f
    return out + b[13 + rec_len:]


def mutate_dtls(dgs: list, ops: list[tuple]) -> list:
    dgs = list(dgs)
    for op in ops:
        if not dgs:
            break
        i = op[1] % len(dgs)
        if _move_datagram(dgs, i, op):
            continue
        fr, ts, src, sport, dst, dport, payload = dgs[i]
        kind = op[0]
        b = bytearray(payload)
        if kind in ("flip", "flip_any") and b:
            b[op[2] % len(b)] = op[3]
        elif kind == "epoch" and len(b) >= 5:
            b[3:5] = op[2].to_bytes(2, "big")
        elif kind == "length" and len(b) >= 13:
            b[11:13] = ((int.from_bytes(b[11:13], "big") + op[2]) & 0xFFFF).to_bytes(2, "big")
        elif kind == "fragment" and len(b) >= 25:
            b[19:22] = op[2].to_bytes(3, "big")
            b[22:25] = op[3].to_bytes(3, "big")
        elif kind == "message_seq" and len(b) >= 19:
            b[17:19] = op[2].to_bytes(2, "big")
        elif kind == "refragment":
            b = bytearray(_refragment(bytes(b), op[2]))
        elif kind == "truncate":
            del b[op[2]:]
        elif kind == "junk":
            b = bytearray(b"\x16\xfe\xfd\x00\x00" + op[2])
        dgs[i] = (fr, ts, src, sport, dst, dport, bytes(b))
    return dgs


@pytest.mark.skipif(not DTLS_FILES, reason="no DTLS captures in the corpus")
@SETTINGS
@given(which=st.integers(0, max(0, len(DTLS_FILES) - 1)), ops=st.lists(dtls_op, min_size=1, max_size=6),
       decrypt=st.booleans())
def test_dtls_layer(tmp_path: Path, which: int, ops: list[tuple], decrypt: bool) -> None:
    segs, udp, _dsb = decoded(DTLS_FILES[which])
    data = segments_pcap(segs, mutate_dtls(list(udp), ops))
    run_bytes(data, tmp_path / "in.pcap", keys=key_material() if decrypt else None)


def test_refragmenting_keeps_the_row(tmp_path: Path) -> None:
    """The `refragment` mutation makes valid fragments: a capture whose every handshake datagram is
    refragmented still gives the same handshake (so the fuzzer exercises reassembly, not only errors)."""
    from analyzer.pipeline import analyze_file

    i = next(i for i in DTLS_FILES if CORPUS[i][0] == "dtls/dtls12-aead.pcap")
    segs, udp, _ = decoded(i)
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    a.write_bytes(segments_pcap(segs, udp))
    ops = [("refragment", k, 37) for k in range(len(udp))]
    b.write_bytes(segments_pcap(segs, mutate_dtls(list(udp), ops)))
    before, after = list(analyze_file(a)), list(analyze_file(b))
    assert [(s.version, s.cipher_suite, s.handshake_complete, s.cert_count) for s in after] == \
        [(s.version, s.cipher_suite, s.handshake_complete, s.cert_count) for s in before]
    assert after[0].handshake_complete and after[0].cert_count == 1
    assert len(b.read_bytes()) > len(a.read_bytes())          # the records were really split
    assert sum(e.kind == "certificate" for e in after[0].events) == 1


# --------------------------------------------------------------------------- upgrade layer

UPGRADE_FILES = upgrade_corpus()

upgrade_op = st.one_of(
    st.tuples(st.just("flip"), index, index, byte_value),
    st.tuples(st.just("insert"), index, index, st.one_of(
        st.sampled_from((b"\r\n", b"\n", b"-", b" ", b"220 ", b"250-STARTTLS\r\n", b"+OK\r\n", b"a OK\r\n",
                         b"STARTTLS\r\n", b"<proceed/>", b"S", b"N", b"\x00", b"\x05\x00", b"\x16\x03\x01")),
        st.binary(min_size=1, max_size=12))),
    st.tuples(st.just("delete"), index, index, st.integers(1, 8)),
    st.tuples(st.just("truncate"), index, index),
)


def _preamble_segments(segs: list) -> list[int]:
    """Indices of the payload segments before each direction's first TLS record."""
    out, tls = [], set()
    for i, s in enumerate(segs):
        key = (s[2], s[3])
        if not s[9] or key in tls:
            continue
        if _record_starts(s[9][:5]) == [0]:
            tls.add(key)
            continue
        out.append(i)
    return out


def mutate_preamble(segs: list, ops: list[tuple]) -> list:
    segs = list(segs)
    for op in ops:
        pre = _preamble_segments(segs)
        if not pre:
            break
        i = pre[op[1] % len(pre)]
        fr, ts, src, sport, dst, dport, seq, ack, flags, payload, plen = segs[i]
        b = bytearray(payload)
        kind = op[0]
        if kind == "flip":
            b[op[2] % len(b)] = op[3]
        elif kind == "insert":
            pos = op[2] % (len(b) + 1)
            b[pos:pos] = op[3]
        elif kind == "delete":
            pos = op[2] % len(b)
            del b[pos:pos + op[3]]
        elif kind == "truncate":
            del b[op[2] % len(b):]
        if not b:
            continue
        segs[i] = (fr, ts, src, sport, dst, dport, seq, ack, flags, bytes(b), len(b))
        delta = len(b) - len(payload)
        for j in range(i + 1, len(segs)):
            s = segs[j]
            if delta and (s[2], s[3], s[4], s[5]) == (src, sport, dst, dport):
                segs[j] = s[:6] + ((s[6] + delta) & 0xFFFFFFFF,) + s[7:]
            elif delta and (s[4], s[5], s[2], s[3]) == (src, sport, dst, dport):
                segs[j] = s[:7] + ((s[7] + delta) & 0xFFFFFFFF,) + s[8:]  # the peer's ACKs move too
    return segs


@pytest.mark.skipif(not UPGRADE_FILES, reason="no captures/upgrade samples")
@SETTINGS
@given(which=st.integers(0, max(0, len(UPGRADE_FILES) - 1)), ops=st.lists(upgrade_op, min_size=0, max_size=5),
       tcp=st.lists(tcp_op, max_size=2), split=st.sampled_from((0, 1, 2, 3)), decrypt=st.booleans())
def test_upgrade_layer(tmp_path: Path, which: int, ops: list[tuple], tcp: list[tuple], split: int,
                       decrypt: bool) -> None:
    segs, _port = UPGRADE_FILES[which]
    segs = mutate_preamble(list(segs), ops)
    if split:  # the preamble in tiny segments: go-aheads and lines split at every byte
        segs = mutate_segments(segs, [("split", i, split) for i in _preamble_segments(segs)[::-1]])
    segs = mutate_segments(segs, tcp)
    rows = run_bytes(segments_pcap(segs), tmp_path / "in.pcap", keys=upgrade_key_material() if decrypt else None)
    if not ops and not tcp:
        # only re-segmented: the same row as the capture itself
        (s,) = [r for r in rows if r.transport == "tcp"]
        base = run_bytes(segments_pcap(UPGRADE_FILES[which][0]), tmp_path / "base.pcap")[0]
        assert _upgrade_facts(s) == _upgrade_facts(base)


def _upgrade_facts(s: object) -> tuple:
    return tuple(getattr(s, a) for a in ("is_tls", "upgraded_from", "plaintext_protocol", "proxy_target", "version",
                                         "cipher_suite", "sni", "handshake_complete", "failure"))


def test_corpus_covers_every_layer() -> None:
    """The fuzz corpus holds real captures with TCP (TLS), with QUIC and with DTLS."""
    assert len(CORPUS) >= 20
    assert len(TCP_FILES) >= 15
    assert QUIC_FILES
    assert len(DTLS_FILES) >= 10
