"""Hand-made nasties: hostile inputs that real stacks never send, through the whole program.

Zero-length and maximum-length fields, lengths that point past their record, a ClientHello
in 1-byte segments, overlapping retransmissions with different bytes, a snaplen that cuts
every frame, damage in the middle of a real capture, and wire strings built to attack
terminals, spreadsheets and browsers. (Bounds crossed one by one: test_bounds.py; random
mutations of real captures: tests/fuzz/.)
"""

from __future__ import annotations

import csv
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.pipeline import FileResult, analyze_file
from analyzer.tls import messages as msg_mod
from analyzer.tls.buffer import TLSDecodeError
from analyzer.tls.connection import TLSConnection
from captures.generate import client_context, frames_for, pki_at, server_context, tls_conversation, write_pcap

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def u16(v: int) -> bytes:
    return v.to_bytes(2, "big")


def hs(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def rec(content_type: int, body: bytes) -> bytes:
    return bytes([content_type, 3, 3]) + u16(len(body)) + body


def ext(t: int, body: bytes) -> bytes:
    return u16(t) + u16(len(body)) + body


def ch_body(*, session_id: bytes = b"", suites: bytes = u16(0x1301), compression: bytes = b"\x00",
            exts: bytes | None = b"") -> bytes:
    body = u16(0x0303) + bytes(32) + bytes([len(session_id)]) + session_id + u16(len(suites)) + suites
    body += bytes([len(compression)]) + compression
    if exts is not None:
        body += u16(len(exts)) + exts
    return body


def run(client: bytes, server: bytes = b"") -> object:
    tls = TLSConnection()
    tls.feed(0, client, 1, 0.0)
    if server:
        tls.feed(1, server, 2, 0.1)
    return tls.finish("end")


@pytest.fixture(scope="module")
def conv():
    pki = pki_at(CAPTURES)
    return tls_conversation(client_context(pki, max_version="TLSv1.2", verify=False), server_context(pki),
                            server_hostname="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test")


# --------------------------------------------------------------------------- zero and maximum lengths

def test_zero_length_fields() -> None:
    """Empty session ID, cipher suite list, compression list, extension block, SNI and ALPN name."""
    s = run(rec(22, hs(1, ch_body(suites=b"", compression=b"", exts=b""))))
    assert s.client_hello_frame == 1 and s.cipher_suites_offered == [] and s.extensions_offered == []
    s = run(rec(22, hs(1, ch_body(exts=None))))   # no extension block at all (pre-TLS 1.0 style)
    assert s.client_hello_frame == 1
    sni0 = ext(0, u16(3) + b"\x00" + u16(0))
    alpn0 = ext(16, u16(1) + b"\x00")
    s = run(rec(22, hs(1, ch_body(exts=sni0 + alpn0))))
    assert s.sni == "" and s.alpn_offered == [""]
    s = run(rec(22, b""))                          # an empty handshake record
    assert s.failure and not s.handshake_complete
    s = run(rec(22, hs(1, b"")))                   # an empty ClientHello body
    assert s.failure.startswith("malformed")


def test_maximum_length_fields() -> None:
    s = run(rec(22, hs(1, ch_body(session_id=b"\x01" * 32))))
    assert s.session_id == "01" * 32
    s = run(rec(22, hs(1, ch_body(session_id=b"\x01" * 33))))
    assert s.failure.startswith("malformed") and "legacy_session_id of 33 bytes" in s.failure
    name = b"x" * 255
    s = run(rec(22, hs(1, ch_body(exts=ext(16, u16(256) + b"\xff" + name)))))
    assert s.alpn_offered == ["x" * 255]


def test_lengths_that_point_past_their_record() -> None:
    """Handshake, vector and extension lengths beyond what holds them: malformed or truncated, never a crash."""
    body = ch_body()
    s = run(rec(22, hs(1, body)[:4] + body[:20]))         # handshake header claims more than the record has
    assert s.failure in ("truncated", "no_client_hello") and s.client_hello_frame is None
    bad_vector = u16(0x0303) + bytes(32) + b"\x00" + u16(0x400) + u16(0x1301)
    s = run(rec(22, hs(1, bad_vector)))
    assert s.failure.startswith("malformed") and "cipher_suites" in s.failure
    bad_ext = u16(0x0303) + bytes(32) + b"\x00" + u16(2) + u16(0x1301) + b"\x01\x00" + u16(8) + u16(0) + u16(40)
    s = run(rec(22, hs(1, bad_ext + bytes(4))))
    assert s.failure.startswith("malformed") and "extension_data" in s.failure
    with pytest.raises(TLSDecodeError):
        msg_mod.pull_certificate(b"\x00\x00\x10" + b"\x00\x00\x05ab", tls13=False)
    s = run(b"\x80\xff\x01\x03\x01" + bytes(10))          # an SSLv2 record claiming 255 bytes, 15 there
    assert not s.handshake_complete and s.failure


# --------------------------------------------------------------------------- TCP shapes

def _rows(path: Path) -> list:
    return sorted(analyze_file(path), key=lambda s: s.stream)


FACTS = ("is_tls", "sni", "version", "cipher_suite", "cipher_suites_offered", "extensions_offered", "ja3", "ja4",
         "ja3s", "ja4s", "handshake_complete", "failure", "session_id", "alpn", "resumed", "tcp_gaps")


def test_client_hello_in_one_byte_segments(tmp_path: Path, conv) -> None:
    """Every byte of the handshake in its own TCP segment: the same row as with normal segments."""
    normal, tiny = tmp_path / "normal.pcap", tmp_path / "tiny.pcap"
    write_pcap(normal, frames_for(conv))
    write_pcap(tiny, frames_for(conv, mss=1))
    a, b = _rows(normal), _rows(tiny)
    assert len(a) == len(b) == 1 and a[0].handshake_complete
    assert {f: getattr(a[0], f) for f in FACTS} == {f: getattr(b[0], f) for f in FACTS}
    assert b[0].last_frame > 1000


def test_overlapping_retransmission_with_different_bytes(tmp_path: Path, conv) -> None:
    """The ClientHello's third segment arrives first, then a copy with other bytes, then the rest:
    the first copy is used, the handshake still reads, and the row says what happened."""
    frames = frames_for(conv, mss=100)
    path = tmp_path / "overlap.pcap"
    # frames: SYN, SYN/ACK, ACK, then the ClientHello's segments (payload 100 bytes each)
    head, hello = frames[:3], frames[3:6]
    t, third = hello[2]
    forged = bytearray(third)
    forged[-20:] = b"\xee" * 20                     # same sequence numbers, different payload bytes
    write_pcap(path, head + [(t, third), (t, bytes(forged)), hello[0], hello[1]] + frames[6:])
    rows = _rows(path)
    assert rows[0].handshake_complete and rows[0].sni.startswith("aaaa")
    assert any("retransmitted bytes differ" in e for e in rows[0].errors)
    res = FileResult(path=str(path), name=path.name)
    list(analyze_file(path, result=res))
    assert res.tcp.overlap_conflicts == 1


@pytest.mark.parametrize("snaplen", [54, 80, 300])
def test_snaplen_cuts_every_frame(tmp_path: Path, conv, snaplen: int) -> None:
    """A capture whose snaplen cuts every data frame: rows with gaps, nothing invented."""
    path = tmp_path / "snap.pcap"
    write_pcap(path, frames_for(conv), snaplen=snaplen)
    rows = _rows(path)
    assert len(rows) == 1
    s = rows[0]
    assert not s.handshake_complete and s.tcp_gaps > 0 and s.failure
    assert any("gap" in e for e in s.errors)


def test_damage_in_a_real_capture_keeps_the_connections_around_it(tmp_path: Path) -> None:
    """A record header in the middle of a bundled capture overwritten: the connections before and after
    the damaged frame are the same rows as in the intact capture."""
    data = (CAPTURES / "tls12-resume.pcap").read_bytes()
    offs, off = [], 24
    while off + 16 <= len(data):
        offs.append(off)
        off += 16 + struct.unpack_from("<I", data, off + 8)[0]
    intact = {s.stream: s for s in analyze_file(CAPTURES / "tls12-resume.pcap")}
    for k in (len(offs) // 2, len(offs) - 3):
        damaged = bytearray(data)
        struct.pack_into("<II", damaged, offs[k] + 8, 0xFFFFFFF0, 0x12345678)
        path = tmp_path / "damaged.pcap"
        path.write_bytes(damaged)
        res = FileResult(path=str(path), name=path.name)
        got = {s.stream: s for s in analyze_file(path, result=res)}
        assert got.keys() == intact.keys()
        for stream, s in got.items():
            if not (s.first_frame <= k + 1 <= s.last_frame):   # connections not touching the damaged frame
                assert {f: getattr(s, f) for f in FACTS} == {f: getattr(intact[stream], f) for f in FACTS}
        assert any(w.startswith(f"frame {k + 1}: implausible captured length") for w in res.warnings)


# --------------------------------------------------------------------------- wire strings that attack

HOSTILE = "\x1b[2J\x1b]0;pwn\x07=cmd|'/C calc'!A0\u202e[red]x[/red]<b>"


def _hostile_capture(path: Path, conv) -> None:
    """The real conversation with its SNI replaced, byte for byte, by terminal/CSV/markup/HTML attacks."""
    name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test".encode()
    evil = HOSTILE.encode()
    evil = (evil + b"." * len(name))[: len(name)]
    chunks = [(d, data.replace(name, evil) if d == 0 else data) for d, data in conv.chunks]
    hostile = type(conv)(chunks=chunks, client=conv.client, server=conv.server)
    write_pcap(path, frames_for(hostile))


def test_wire_strings_are_neutralised_everywhere(tmp_path: Path, conv) -> None:
    path = tmp_path / "hostile.pcap"
    _hostile_capture(path, conv)
    [row] = _rows(path)
    assert row.sni.startswith("\x1b[2J")  # read as sent ...
    # ... but never shown as sent: terminal table and ladder
    for args in (["connections", str(path)], ["ladder", str(path)], ["summary", str(path)],
                 ["fingerprints", str(path)], ["audit", str(path), "--fail-on", "never"]):
        r = cli(*args)
        assert r.returncode == 0, (args, r.stderr)
        for out in (r.stdout, r.stderr):
            assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, args
    assert "\\x1b[2J" in cli("ladder", str(path)).stdout
    # CSV: the formula start is quoted as data
    r = cli("connections", str(path), "-f", "csv", "-q")
    [rec_] = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rec_["sni"].startswith("\x1b[2J")  # not a formula start: kept (CSV is data, not a terminal)
    assert int(rec_["stream"]) == 0
    # an SNI that starts with '=' is prefixed in every CSV writer
    evil2 = tmp_path / "formula.pcap"
    name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test".encode()
    chunks = [(d, data.replace(name, b"=HYPERLINK(\"http://x\")" + b"a" * (len(name) - 22)) if d == 0 else data)
              for d, data in conv.chunks]
    write_pcap(evil2, frames_for(type(conv)(chunks=chunks, client=conv.client, server=conv.server)))
    r = cli("connections", str(evil2), "-f", "csv", "-q")
    [rec_] = list(csv.DictReader(io.StringIO(r.stdout)))
    assert rec_["sni"].startswith("'=HYPERLINK(")
    r = cli("fingerprints", str(evil2), "-f", "csv", "-q")
    assert "'=HYPERLINK(" in r.stdout and "\n=HYPERLINK" not in r.stdout and ",=HYPERLINK" not in r.stdout
    r = cli("audit", str(evil2), "-f", "csv", "-q", "--fail-on", "never")
    for line in csv.DictReader(io.StringIO(r.stdout)):
        assert all(not v.startswith(("=", "+", "-", "@")) for v in line.values())
    # JSON keeps the value as read (it is data, escaped by the JSON encoding itself)
    r = cli("connections", str(evil2), "-f", "jsonl", "-q")
    assert json.loads(r.stdout.splitlines()[0])["sni"].startswith("=HYPERLINK(")
    # HTML
    out = tmp_path / "report"
    r = cli("report", str(path), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "\x1b" not in html and "\u202e" not in html and "[/red]<b>" not in html
    assert "[/red]&lt;b&gt;" in html


def test_csv_numbers_stay_numbers() -> None:
    from analyzer.report.writers import csv_safe

    assert csv_safe(-1) == -1 and csv_safe(-0.5) == -0.5 and csv_safe(3) == 3
    assert csv_safe("-1") == "'-1" and csv_safe("+x") == "'+x" and csv_safe("@SUM") == "'@SUM"
    assert csv_safe("\tx") == "'\tx" and csv_safe("\rx") == "'\rx" and csv_safe("ok=1") == "ok=1"


def test_decrypt_file_names_never_come_from_the_wire(tmp_path: Path) -> None:
    """`decrypt` names files by stream number and capture position; a hostile capture name is made safe."""
    src = CAPTURES / "tls13-aes128.pcap"
    evil = tmp_path / "..\x1b[31m;rm -rf ~.pcap"
    evil.write_bytes(src.read_bytes())
    other = tmp_path / "b.pcap"
    other.write_bytes(src.read_bytes())
    out = tmp_path / "out"
    r = cli("decrypt", str(evil), str(other), "--out", str(out), "--keylog", str(CAPTURES / "keylog.txt"), "-q")
    assert r.returncode == 0, r.stderr
    names = [p.relative_to(out) for p in out.rglob("*")]
    assert names and all("\x1b" not in str(n) and ".." not in n.parts and ";" not in str(n) for n in names)
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in out.rglob("*") if p.is_file())


def test_timestamps_beyond_any_calendar(tmp_path: Path, conv) -> None:
    """pcapng timestamps in the year 500,000: rows and every output still come out (times left empty)."""
    from captures.generate import write_pcapng

    frames = [(t, f) for t, f in frames_for(conv)]
    path = tmp_path / "far.pcapng"
    write_pcapng(path, frames)
    data = bytearray(path.read_bytes())
    off = 0
    while off + 12 <= len(data):  # every EPB's timestamp set to 2**64 - 1 microseconds
        btype, blen = struct.unpack_from("<II", data, off)
        if btype == 6:
            struct.pack_into("<II", data, off + 12, 0xFFFFFFFF, 0xFFFFFFFF)
        off += blen
    path.write_bytes(data)
    [row] = _rows(path)
    assert row.handshake_complete
    for args in (["connections", str(path), "-f", "csv"], ["connections", str(path)],
                 ["report", str(path), "--out", str(tmp_path / "r")], ["audit", str(path), "--fail-on", "never"],
                 ["summary", str(path)]):
        r = cli(*args)
        assert r.returncode == 0 and "Traceback" not in r.stderr, (args, r.stderr[-500:])
