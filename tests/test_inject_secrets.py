"""`inject-secrets`: the capture as pcapng with a Decryption Secrets Block; tshark decrypts it without key options."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tshark_oracle  # noqa: E402
from test_decrypt import plaintext_cases, run, tshark_follow  # noqa: E402

from analyzer.capture import Capture  # noqa: E402
from analyzer.decrypt import TLS_KEYLOG_DSB  # noqa: E402
from analyzer.decrypt.keys import load_key_material  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
KEYLOG = CAPTURES / "keylog.txt"
SERVER_KEY = CAPTURES / "server.key"
JA4 = ROOT.parent / "shared" / "captures" / "ja4"
needs_tshark = pytest.mark.skipif(not tshark_oracle.available(), reason="tshark not installed")
FRAME_FIELDS = ["frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.interface_id",
                "frame.encap_type", "frame.comment", "frame.protocols"]


def inject(capture: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", "inject-secrets", str(capture), "-o", str(out), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def dsb_lines(path: Path) -> list[list[str]]:
    """The key log lines of every TLS key log Decryption Secrets Block of a pcapng, split in fields."""
    with Capture(str(path)) as cap:
        for _ in cap.segments():
            pass
        blocks = cap.decryption_secrets
    assert all(t == TLS_KEYLOG_DSB for t, _ in blocks)
    return [ln.split() for _, data in blocks for ln in data.decode().splitlines()]


def frames(path: Path, *extra: str) -> str:
    cmd = [tshark_oracle.TSHARK, "-r", str(path), *extra, "-T", "fields", "-E", "separator=|"]
    for f in FRAME_FIELDS:
        cmd += ["-e", f]
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    iface = FRAME_FIELDS.index("frame.interface_id")
    out = []
    for line in text.splitlines():   # a pcap has no interface id: its one interface is pcapng's interface 0
        cells = line.split("|")
        cells[iface] = cells[iface] or "0"
        out.append("|".join(cells))
    return "\n".join(out)


def streams_and_clients(rows: dict) -> tuple[list[int], dict[int, str]]:
    streams = sorted(k for k, s in rows.items() if s.is_tls)
    return streams, {k: f"{rows[k].client_ip}:{rows[k].client_port}" for k in streams}


TSHARK_CAPTURES = sorted({n for n, _ in plaintext_cases()})


@needs_tshark
@pytest.mark.parametrize("name", TSHARK_CAPTURES)
def test_tshark_decrypts_the_injected_capture_without_key_options(tmp_path: Path, name: str) -> None:
    out = tmp_path / "out.pcapng"
    r = inject(CAPTURES / name, out, "--keylog", str(KEYLOG), "--key", str(SERVER_KEY))
    assert r.returncode == 0, r.stderr
    assert (out.stat().st_mode & 0o777) == 0o600
    rows, sinks = run(CAPTURES / name, load_key_material([KEYLOG], [SERVER_KEY]))
    streams, clients = streams_and_clients(rows)
    theirs = tshark_follow(out, streams, None, None, clients)   # no key option at all
    decrypted = 0
    for st in streams:
        ours = (bytes(sinks[st].buf[0]), bytes(sinks[st].buf[1])) if st in sinks else (b"", b"")
        assert ours == theirs.get(st, (b"", b"")), (name, st)
        decrypted += bool(ours[0])
    assert decrypted
    # every packet kept: number, time (to the resolution), lengths, interface, link type, dissection
    assert frames(out) == frames(CAPTURES / name, "-o", f"tls.keylog_file:{KEYLOG}")


@needs_tshark
def test_rsa_key_only_becomes_client_random_lines(tmp_path: Path) -> None:
    out = tmp_path / "rsa.pcapng"
    r = inject(CAPTURES / "tls12-rsa.pcap", out, "--key", str(SERVER_KEY))
    assert r.returncode == 0, r.stderr
    lines = dsb_lines(out)
    assert [ln[0] for ln in lines] == ["CLIENT_RANDOM"] * 3
    rows, sinks = run(CAPTURES / "tls12-rsa.pcap", load_key_material(server_keys=[SERVER_KEY]))
    assert {ln[1] for ln in lines} == {sinks_cr for sinks_cr in _client_randoms("tls12-rsa.pcap")}
    streams, clients = streams_and_clients(rows)
    theirs = tshark_follow(out, streams, None, None, clients)
    for st in streams:
        assert (bytes(sinks[st].buf[0]), bytes(sinks[st].buf[1])) == theirs[st] and theirs[st][0]


def _client_randoms(name: str) -> set[str]:
    import json

    manifest = json.loads((CAPTURES / "MANIFEST.json").read_text())
    return {c["client_random"] for c in manifest["files"][name]["connections"] if c.get("client_random")}


def test_only_the_captures_own_lines_are_injected(tmp_path: Path) -> None:
    """The bundled key log holds the lines of every capture: only this capture's go in, nothing else."""
    for name in ("tls13-aes128.pcap", "tls12-resume.pcap", "tls-mixed.pcapng"):
        out = tmp_path / f"{name}.pcapng"
        assert inject(CAPTURES / name, out, "--keylog", str(KEYLOG)).returncode == 0
        lines = dsb_lines(out)
        ours = _client_randoms(name)
        expected = [ln.split() for ln in KEYLOG.read_text().splitlines()
                    if not ln.startswith("#") and ln.split()[1] in ours]
        assert sorted(map(tuple, lines)) == sorted(map(tuple, expected)), name
        assert len(lines) < len([ln for ln in KEYLOG.read_text().splitlines() if not ln.startswith("#")])


@needs_tshark
def test_comments_interfaces_gzip_and_nanoseconds_kept(tmp_path: Path) -> None:
    # a pcapng with packet and section comments (written by editcap), nanosecond input, gzip input
    commented = tmp_path / "commented.pcapng"
    subprocess.run(["editcap", "-a", "3:third frame", "-a", "9:ninth", str(CAPTURES / "tls12-ticket-resume.pcap"),
                    str(commented)], check=True, capture_output=True)
    gz = tmp_path / "tls12-ticket-resume.pcap.gz"
    gz.write_bytes(gzip.compress((CAPTURES / "tls12-ticket-resume.pcap").read_bytes()))
    nsec = tmp_path / "ns.pcap"     # nanosecond pcap whose times are not whole microseconds
    subprocess.run(["editcap", "-F", "nsecpcap", "-t", "0.000000123", str(CAPTURES / "tls12-ticket-resume.pcap"),
                    str(nsec)], check=True, capture_output=True)
    for src in (commented, gz, CAPTURES / "tls12-ticket-resume.pcap", nsec):
        out = tmp_path / (src.name + ".out.pcapng")
        r = inject(src, out, "--keylog", str(KEYLOG))
        assert r.returncode == 0, r.stderr
        assert frames(out) == frames(CAPTURES / "tls12-ticket-resume.pcap" if src is gz else src,
                                     "-o", f"tls.keylog_file:{KEYLOG}"), src.name
    text = frames(tmp_path / "commented.pcapng.out.pcapng")
    assert "third frame" in text and "ninth" in text
    # nanosecond timestamps stay nanosecond: the last digits are there
    times = [ln.split("|")[1] for ln in frames(tmp_path / "ns.pcap.out.pcapng").splitlines()]
    assert times and all(t.endswith("123") for t in times)


@needs_tshark
@pytest.mark.skipif(not (JA4 / "chrome-cloudflare-quic-with-secrets.pcapng").exists(), reason="shared capture missing")
def test_real_pcapng_with_its_own_secrets_block(tmp_path: Path) -> None:
    """A browser capture that already holds a DSB: TCP connections' lines are kept, the copy decrypts the same."""
    src = JA4 / "chrome-cloudflare-quic-with-secrets.pcapng"
    out = tmp_path / "chrome.pcapng"
    r = inject(src, out)
    assert r.returncode in (0, 1), r.stderr
    rows, sinks = run(src, None)
    streams, clients = streams_and_clients(rows)
    theirs = tshark_follow(out, streams, None, None, clients)
    for st in streams:
        assert (bytes(sinks[st].buf[0]), bytes(sinks[st].buf[1])) == theirs[st]
    assert frames(out, "-Y", "tcp") == frames(src, "-Y", "tcp")
    # the QUIC connection's secrets are kept too: tshark decrypts its handshake (EncryptedExtensions 8,
    # compressed certificate 25) from the copy as from the original
    quic = [tshark_oracle.TSHARK, "-Y", "quic", "-T", "fields", "-e", "frame.number", "-e", "tls.handshake.type"]
    theirs_q = subprocess.run(quic[:1] + ["-r", str(src)] + quic[1:], capture_output=True, text=True).stdout
    ours_q = subprocess.run(quic[:1] + ["-r", str(out)] + quic[1:], capture_output=True, text=True).stdout
    assert ours_q == theirs_q and "\t8" in ours_q
    assert sorted(map(tuple, dsb_lines(out))) == sorted(map(tuple, dsb_lines(src)))   # all its lines belong to it


def test_damaged_or_wrong_input_writes_nothing(tmp_path: Path) -> None:
    cut = tmp_path / "cut.pcap"
    data = (CAPTURES / "tls13-aes128.pcap").read_bytes()
    cut.write_bytes(data[: len(data) - 7])   # the last record cut off
    out = tmp_path / "o.pcapng"
    r = inject(cut, out, "--keylog", str(KEYLOG))
    assert r.returncode == 2 and "cut off" in r.stderr and not out.exists()
    assert inject(CAPTURES / "keylog.txt", out, "--keylog", str(KEYLOG)).returncode == 2 and not out.exists()
    # a pcapng block whose trailing length disagrees with its header (the reader resyncs; the copy refuses)
    ng = bytearray((CAPTURES / "tls13-chacha.pcapng").read_bytes())
    first = int.from_bytes(ng[4:8], "little")                       # the section header block
    second = int.from_bytes(ng[first + 4:first + 8], "little")      # the interface block after it
    ng[first + second - 4:first + second] = (second + 4).to_bytes(4, "little")
    bad = tmp_path / "bad.pcapng"
    bad.write_bytes(bytes(ng))
    r = inject(bad, out, "--keylog", str(KEYLOG))
    assert r.returncode == 2 and "lengths disagree" in r.stderr and not out.exists()
    same = tmp_path / "same.pcap"
    shutil.copy(CAPTURES / "tls13-aes128.pcap", same)
    r = inject(same, same, "--keylog", str(KEYLOG))
    assert r.returncode == 2 and same.read_bytes() == data
    assert inject(CAPTURES / "tls13-aes128.pcap", out, "--keylog", "nope.txt").returncode == 2


def test_unsupported_pcapng_version_is_refused(tmp_path: Path) -> None:
    """A section header whose major version is not 1: the reader and the copy refuse the file (tshark too).

    In a later section (two real captures concatenated, the second's header says 2.0) the reader
    warns and stops there, and the copy refuses rather than write a file that loses that section.
    """
    from analyzer.capture import CaptureError

    ng = (CAPTURES / "tls13-chacha.pcapng").read_bytes()
    first = bytearray(ng)
    first[12:14] = (0).to_bytes(2, "little")             # SHB: type, length, byte-order magic, major
    bad = tmp_path / "v0.pcapng"
    bad.write_bytes(bytes(first))
    with pytest.raises(CaptureError, match=r"unsupported pcapng version 0\.0"):
        with Capture(str(bad)) as cap:
            list(cap.segments())
    out = tmp_path / "o.pcapng"
    r = inject(bad, out, "--keylog", str(KEYLOG))
    assert r.returncode == 2 and "unsupported pcapng version 0.0" in r.stderr and not out.exists()
    if tshark_oracle.available():
        t = subprocess.run([tshark_oracle.TSHARK, "-r", str(bad)], capture_output=True, text=True, timeout=60)
        assert t.returncode != 0 and "unknown SHB version" in t.stderr

    later = bytearray(ng + ng)
    later[len(ng) + 12:len(ng) + 14] = (2).to_bytes(2, "little")
    two = tmp_path / "two-sections.pcapng"
    two.write_bytes(bytes(later))
    with Capture(str(CAPTURES / "tls13-chacha.pcapng")) as cap:
        one_section = sum(1 for _ in cap.segments())
    with Capture(str(two)) as cap:
        assert sum(1 for _ in cap.segments()) == one_section
        assert any("unsupported pcapng major version 2" in w for w in cap.stats.warnings)
    r = inject(two, out, "--keylog", str(KEYLOG))
    assert r.returncode == 2 and f"unsupported pcapng version 2.0 in the section header at offset {len(ng)}" in r.stderr
    assert not out.exists()


def test_connection_without_secrets_is_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "o.pcapng"
    r = inject(CAPTURES / "tls12-ecdhe.pcap", out, "--key", str(SERVER_KEY))   # ECDHE: the RSA key cannot help
    assert r.returncode == 1 and out.exists() and "not decrypted" in r.stderr
    assert dsb_lines(out) == []


def test_copy_is_streamed(tmp_path: Path) -> None:
    """A 40 MB capture (the records of a bundled one, repeated) is copied with memory for about one block."""
    import io
    import tracemalloc

    from analyzer.capture.rewrite import write_with_secrets

    data = (CAPTURES / "tls12-rsa.pcap").read_bytes()
    big = tmp_path / "big.pcap"
    with open(big, "wb") as f:
        f.write(data[:24])
        body = data[24:]
        for _ in range((40 << 20) // len(body)):
            f.write(body)
    class Sink(io.RawIOBase):   # counts what is written, keeps nothing
        n = 0

        def write(self, b: bytes) -> int:   # type: ignore[override]
            Sink.n += len(b)
            return len(b)

    tracemalloc.start()
    packets = write_with_secrets(big, Sink(), [(TLS_KEYLOG_DSB, b"CLIENT_RANDOM " + b"00" * 32 + b" " + b"11" * 48 + b"\n")])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert packets == 48 * ((40 << 20) // len(body)) and Sink.n > 40 << 20
    assert peak < 4 << 20, peak


def _interfaces(path: Path) -> list[str]:
    out = subprocess.run(["capinfos", "-I", str(path)], capture_output=True, text=True).stdout
    keep = ("Encapsulation =", "Capture length =", "Time precision =", "Time ticks per second =",
            "Number of packets =")
    return [ln.strip() for ln in out.splitlines() if ln.strip().startswith(keep)]


@pytest.mark.skipif(shutil.which("capinfos") is None or shutil.which("editcap") is None,
                    reason="capinfos/editcap not installed")
def test_pcap_interface_as_editcap_converts_it(tmp_path: Path) -> None:
    """A pcap becomes the interface editcap's own pcap -> pcapng conversion makes: link type, snaplen, precision."""
    snap = tmp_path / "snap100.pcap"       # snaplen 100, microseconds
    subprocess.run(["editcap", "-F", "pcap", "-s", "100", str(CAPTURES / "tls12-rsa.pcap"), str(snap)], check=True,
                   capture_output=True)
    nsec = tmp_path / "nsec.pcap"          # nanoseconds
    subprocess.run(["editcap", "-F", "nsecpcap", str(CAPTURES / "tls13-hrr.pcap"), str(nsec)], check=True,
                   capture_output=True)
    for src in (snap, nsec, CAPTURES / "tls12-ticket-resume.pcap"):
        ref = tmp_path / (src.name + ".editcap.pcapng")
        subprocess.run(["editcap", "-F", "pcapng", str(src), str(ref)], check=True, capture_output=True)
        out = tmp_path / (src.name + ".ours.pcapng")
        assert inject(src, out, "--keylog", str(KEYLOG)).returncode in (0, 1)
        ours, theirs = _interfaces(out), _interfaces(ref)
        assert ours == theirs and len(ours) == 5, (src.name, ours, theirs)
