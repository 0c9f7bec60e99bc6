"""JA3/JA3S vs tshark, the JA4 family vs FoxIO's expected output, and JA4 unit facts.

Owns the differential tests of `analyzer.tls.fingerprints` (through the whole
pipeline) against tshark 4.0's `tls.handshake.ja3*` fields on every capture under
`../shared/captures` and `captures/`, against the JA4/JA4S/JA4X values of the
FoxIO JA4 tool in `../shared/captures/ja4/expected/*.json`, and against the
JA3S / JA4 values in Suricata's `test.yaml` expectations.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from analyzer.pipeline import analyze_file
from analyzer.tls.fingerprints import ja4_alpn, ja4x
from analyzer.tls.summary import ConnectionSummary

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "captures"
TSHARK = os.environ.get("TSHARK", "/usr/bin/tshark")
HRR_RANDOM = "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
STANDARD_TLS_PORTS = {443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 5061, 8443}

ALL_CAPTURES = sorted(
    p for p in glob.glob(str(SHARED / "**" / "*.pcap*"), recursive=True) + glob.glob(str(ROOT / "captures" / "*.pcap*"))
    + glob.glob(str(ROOT / "captures" / "dtls" / "*.pcap"))
    if not p.endswith(".json")
)


def _id(p: str) -> str:
    return os.path.relpath(p, ROOT.parent)


@lru_cache(maxsize=None)
def rows(path: str) -> tuple[ConnectionSummary, ...]:
    return tuple(analyze_file(path))


@lru_cache(maxsize=None)
def tshark_ja3(path: str) -> dict[tuple[str, int], dict[str, str]]:
    """{(transport, stream): {ja3_full, ja3, ja3s_full, ja3s}} of the first ClientHello / first non-HRR ServerHello."""
    ports = sorted({s.server_port for s in rows(path) if s.is_tls and s.transport == "tcp"} - STANDARD_TLS_PORTS)
    dtls_ports = sorted({s.server_port for s in rows(path) if s.transport == "dtls"})
    cmd = [TSHARK, "-n", "-r", path, "-o", "tcp.reassemble_out_of_order:TRUE", "-T", "fields",
           "-E", "aggregator=|", "-E", "separator=\t"]
    for p in ports:
        cmd += ["-d", f"tcp.port=={p},tls"]
    for p in dtls_ports:
        cmd += ["-d", f"udp.port=={p},dtls"]
    cmd += ["-Y", "!icmp"]  # an ICMP error quotes the datagram it answers: not a hello of its own
    fields = ["tcp.stream", "udp.stream", "tls.handshake.type", "tls.handshake.random",
              "tls.handshake.ja3_full", "tls.handshake.ja3", "tls.handshake.ja3s_full", "tls.handshake.ja3s",
              "dtls.handshake.type", "dtls.handshake.random",
              "dtls.handshake.ja3_full", "dtls.handshake.ja3", "dtls.handshake.ja3s_full", "dtls.handshake.ja3s"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    res: dict[tuple[str, int], dict[str, str]] = {}
    for line in out.splitlines():
        tcp, udp, types, randoms, j3f, j3, j3sf, j3s, *dtls = (line.split("\t") + [""] * 14)[:14]
        transport = "tcp" if tcp else "quic"
        if not (j3f or j3sf) and any(dtls):
            types, randoms, j3f, j3, j3sf, j3s = dtls     # tshark's DTLS JA3 fields (cookie not included)
            transport = "dtls"
        if not (j3f or j3sf):
            continue
        key = ("tcp", int(tcp)) if tcp else (transport, int(udp.split("|")[0]))
        d = res.setdefault(key, {})
        if j3f and "ja3_full" not in d:
            d["ja3_full"], d["ja3"] = j3f.split("|")[0], j3.split("|")[0]
        if j3sf and "ja3s_full" not in d:
            sh_randoms = [r for t, r in zip(types.split("|"), randoms.split("|")) if t == "2"]
            if not (sh_randoms and sh_randoms[0].replace(":", "") == HRR_RANDOM):
                d["ja3s_full"], d["ja3s"] = j3sf.split("|")[0], j3s.split("|")[0]
    return res


needs_tshark = pytest.mark.skipif(not shutil.which(TSHARK), reason="tshark not installed")


@needs_tshark
@pytest.mark.parametrize("path", ALL_CAPTURES, ids=_id)
def test_ja3_equals_tshark(path: str) -> None:
    oracle = tshark_ja3(path)
    ours = {(s.transport, s.stream): s for s in rows(path) if s.is_tls}
    compared = 0
    for key, want in oracle.items():
        s = ours.get(key)
        assert s is not None, f"tshark has a TLS hello on {key}, we have no TLS row"
        if "ja3_full" in want:
            assert (s.ja3_full, s.ja3) == (want["ja3_full"], want["ja3"]), key
            compared += 1
        if "ja3s_full" in want:
            assert (s.ja3s_full, s.ja3s) == (want["ja3s_full"], want["ja3s"]), key
            compared += 1
    # every row of ours with a fingerprint is one tshark also fingerprinted
    for key, s in ours.items():
        if s.ja3 is not None and not s.sslv2_client_hello:
            assert "ja3_full" in oracle.get(key, {}), f"{key}: we have JA3 {s.ja3_full}, tshark none"


JA4_DIR = SHARED / "ja4"
JA4_EXPECTED = sorted((JA4_DIR / "expected").glob("*.json"))


@pytest.mark.parametrize("expected", JA4_EXPECTED, ids=lambda p: p.name)
def test_ja4_family_equals_foxio(expected: Path) -> None:
    """Every TLS stream of FoxIO's expected output: JA4 (first ClientHello), _r, _o, _ro, JA4S, _r, JA4X per cert."""
    cap = str(JA4_DIR / expected.name[: -len(".json")])
    ours = {s.stream: s for s in rows(cap) if s.transport == "tcp"}
    for e in json.loads(expected.read_text()):
        if not any(k.startswith(("JA4.", "JA4S", "JA4X")) for k in e):
            continue
        s = ours[e["stream"]]
        assert (s.client_port, s.server_port) == (int(e["srcport"]), int(e["dstport"]))
        got = {"JA4.1": s.ja4, "JA4_r.1": s.ja4_r, "JA4_o.1": s.ja4_o, "JA4_ro.1": s.ja4_ro,
               "JA4S": s.ja4s, "JA4S_r": s.ja4s_r}
        got.update({f"JA4X.{i + 1}": x for i, x in enumerate(s.ja4x)})
        for k, v in e.items():
            if k in got or k.startswith(("JA4X", "JA4S")):
                assert got.get(k) == v, (e["stream"], k)


def test_suricata_ja3s_and_ja4() -> None:
    s, = [s for s in rows(str(SHARED / "suricata" / "tls-certs-alert" / "input.pcap")) if s.is_tls]
    assert (s.ja3s_full, s.ja3s) == ("771,49199,65281-0-11-16-23", "5d79edf64e03689ff559a54e9d9487bc")
    s, = [s for s in rows(str(SHARED / "suricata" / "ja4-tls" / "input.pcap")) if s.is_tls]
    assert s.ja4 == "t12i1810s1_27d4652c4487_06a4338d0495"


@pytest.mark.parametrize("value,want", [
    (None, "00"), (b"", "00"), (b"h2", "h2"), (b"http/1.1", "h1"), (b"h", "hh"),
    (b"\xab", "ab"), (b"\xab\xcd", "ad"), (b"\x30\xab", "3b"), (b"\x30\x31\xab\xcd", "3d"), (b"\x30\xab\xcd\x31", "01"),
])
def test_ja4_alpn_characters(value: bytes | None, want: str) -> None:
    assert ja4_alpn(value) == want


def test_ja4x_of_generated_certificate_matches_its_oids() -> None:
    """JA4X from our DER walk equals the hash of the OIDs `cryptography` reports, in order."""
    der = (ROOT / "captures" / "server.crt").read_bytes()
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(der)
    raw = cert.public_bytes(Encoding.DER)

    def enc(oid: str) -> str:
        parts = [int(p) for p in oid.split(".")]
        out = [40 * parts[0] + parts[1]] + parts[2:]
        b = b""
        for n in out:
            chunk = [n & 0x7F]
            n >>= 7
            while n:
                chunk.insert(0, 0x80 | (n & 0x7F))
                n >>= 7
            b += bytes(chunk)
        return b.hex()

    def h(items: list[str]) -> str:
        return hashlib.sha256(",".join(items).encode()).hexdigest()[:12] if items else "000000000000"

    issuer = [enc(a.oid.dotted_string) for a in cert.issuer]
    subject = [enc(a.oid.dotted_string) for a in cert.subject]
    exts = [enc(e.oid.dotted_string) for e in cert.extensions]
    assert ja4x(raw)[0] == f"{h(issuer)}_{h(subject)}_{h(exts)}"
    assert ja4x(b"\x30\x03\x02\x01") == ("", "")          # damaged DER: empty, never an exception


def test_fingerprints_command(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from analyzer.cli import app

    cap = str(JA4_DIR / "chrome-cloudflare-quic-with-secrets.pcapng")
    res = CliRunner().invoke(app, ["fingerprints", "-q", "-f", "jsonl", cap])
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in res.stdout.splitlines()]
    ja4s = {r["fingerprint"]: r for r in got if r["kind"] == "ja4"}
    assert ja4s["q13d0310h3_55b375c5d22e_cd85d2d88918"]["transports"] == ["quic"]
    assert ja4s["t13d1516h2_8daaf6152771_e5627efa2ab1"]["snis"] == ["cloudflare-quic.com"]
    assert {r["kind"] for r in got} == {"ja4", "ja3", "ja4s", "ja3s", "ja4x"}
    # the compressed certificates (RFC 8879), decrypted with the capture's secrets: FoxIO's JA4X, TCP and QUIC
    want = next(e for e in json.loads((JA4_DIR / "expected" / (Path(cap).name + ".json")).read_text()) if "JA4X.1" in e)
    ja4x = {r["fingerprint"]: r for r in got if r["kind"] == "ja4x"}
    assert set(ja4x) == {want["JA4X.1"], want["JA4X.2"]}
    assert all(r["transports"] == ["quic", "tcp"] and r["count"] == 2 for r in ja4x.values())


# ---------------------------------------------------------------------------
# JA4_o of a hello whose only extensions are SNI and/or ALPN
# ---------------------------------------------------------------------------
# OpenSSL 3.0's s_client, asked for TLS 1.0 with one RSA suite (no ECC: no
# supported_groups / ec_point_formats; TLS 1.0: no signature_algorithms), no ticket and
# no encrypt_then_mac, and with extended_master_secret turned off in its config file,
# sends a ClientHello with just server_name and/or ALPN: the peer behaviour of small TLS
# stacks and scanners that FoxIO's tools print with a zero extension hash in JA4_o.
_NO_EMS_CONF = """openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = -ExtendedMasterSecret
"""


def _openssl_client_hello(args: list[str], conf: Path) -> bytes:
    """The first TLS record `openssl s_client ARGS` sends to a loopback listener."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.settimeout(10)
        port = srv.getsockname()[1]
        proc = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env={**os.environ, "OPENSSL_CONF": str(conf)})
        try:
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(10)
                data = b""
                while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        finally:
            proc.kill()
            proc.wait(10)
    return data


def _tshark_hello(path: str) -> tuple[list[int], list[int], list[str]]:
    """(extension types, cipher suites, ALPN strings) of the ClientHello, as tshark decodes it."""
    out = subprocess.run([TSHARK, "-n", "-r", path, "-Y", "tls.handshake.type == 1", "-T", "fields",
                          "-E", "aggregator=|", "-e", "tls.handshake.extension.type",
                          "-e", "tls.handshake.ciphersuite", "-e", "tls.handshake.extensions_alpn_str"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    ext, suites, alpn = (out.splitlines()[0].split("\t") + ["", "", ""])[:3]
    return ([int(e) for e in ext.split("|") if e], [int(c, 16) for c in suites.split("|") if c],
            [a for a in alpn.split("|") if a])


def _sha12(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:12]


@needs_tshark
@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
@pytest.mark.parametrize("name, args, only_sni_alpn", [
    ("sni+alpn", ["-servername", "example.com", "-alpn", "h2", "-no_etm"], True),
    ("sni", ["-servername", "example.com", "-no_etm"], True),
    ("alpn", ["-noservername", "-alpn", "http/1.1", "-no_etm"], True),
    # control: encrypt_then_mac left on, so one more extension stays after SNI and ALPN
    ("sni+alpn+etm", ["-servername", "example.com", "-alpn", "h2"], False),
])
def test_ja4_o_with_only_sni_and_alpn(tmp_path: Path, name: str, args: list[str], only_sni_alpn: bool) -> None:
    from captures.generate import Conversation, frames_for, write_pcap

    conf = tmp_path / "openssl.cnf"
    conf.write_text(_NO_EMS_CONF)
    hello = _openssl_client_hello(["-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", "-no_ticket", *args], conf)
    assert hello[:1] == b"\x16" and hello[5:6] == b"\x01", "openssl sent no ClientHello"
    conv = Conversation(chunks=[(0, hello)], client=("10.0.0.1", 50123), server=("10.0.0.2", 443))
    path = tmp_path / f"{name}.pcap"
    write_pcap(path, frames_for(conv))

    exts, suites, alpn = _tshark_hello(str(path))
    rest = [e for e in exts if e not in (0, 16)]
    assert (not rest) == only_sni_alpn, f"openssl sent extensions {exts}"
    (s,) = [r for r in analyze_file(path) if r.is_tls]
    assert s.extensions_offered and len(s.extensions_offered) == len(exts)

    # part a as the FoxIO specification builds it, from tshark's decode
    alpn_part = (alpn[0][0] + alpn[0][-1]) if alpn else "00"
    a = f"t10{'d' if 0 in exts else 'i'}{len(suites):02d}{len(exts):02d}{alpn_part}"
    wire_suites = ",".join(f"{c:04x}" for c in suites)
    sorted_suites = ",".join(f"{c:04x}" for c in sorted(suites))
    wire_exts = ",".join(f"{e:04x}" for e in exts)
    sorted_rest = ",".join(f"{e:04x}" for e in sorted(rest))
    # JA4, JA4_r and JA4_ro are as before; only JA4_o's extension hash is affected
    assert s.ja4 == f"{a}_{_sha12(sorted_suites)}_{_sha12(sorted_rest) if rest else '000000000000'}"
    assert s.ja4_r == f"{a}_{sorted_suites}_{sorted_rest}"
    assert s.ja4_ro == f"{a}_{wire_suites}_{wire_exts}"
    want_c = "000000000000" if only_sni_alpn else _sha12(wire_exts)
    assert s.ja4_o == f"{a}_{_sha12(wire_suites)}_{want_c}"
