"""TLS 1.3 drafts and Google's TLS 1.3 experiments.

- Drafts up to 22 carry key_share as extension 40 (draft 23 renumbered it to 51): read from the
  real draft-19 capture of Suricata's test suite (OpenSSL's draft-19 client and server), with
  tshark 4.0 as the oracle for the group of each hello (`tls.handshake.extensions_key_share_group`).
  Extension 40 in a hello of any other version is not a key_share (a final TLS 1.3 handshake of
  Python's ssl with its key_share renumbered to 40 fills no group).
- Google's experiment versions 0x7e01-0x7e03 (BoringSSL, sent by Chrome 62-64) are TLS 1.3 in all
  but number. No capture in ../shared/captures has one, and Python's ssl cannot make one, so the
  test takes a real TLS 1.3 handshake of Python's ssl and patches its version fields
  (supported_versions of both hellos) and its key_share numbers to what those peers sent (the
  experiments predate draft 23, so key_share is extension 40, as in BoringSSL of that time).
  tshark 4.0 has no name for these versions and does not treat them as TLS 1.3, so it is no
  oracle here.
- In TLS 1.3, its drafts and the experiments, the echoed legacy_session_id is middlebox
  compatibility (RFC 8446 4.1.2, D.4), never resumption: the patched handshake above echoes the
  client's 32-byte session ID and sends the compatibility ChangeCipherSpec, as Python's ssl does.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

import analyzer
from analyzer.tls.registry import ExtensionType, ProtocolVersion, group_name
from analyzer.tls.summary import ConnectionSummary
from captures import generate as g

import tshark_oracle as ts  # tests/ is on sys.path (pytest's default import mode)

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
SHARED = ROOT.parent / "shared" / "captures"
DRAFT19 = SHARED / "suricata" / "tls13-draft19" / "tls13_draft19.pcap"
DRAFT28 = SHARED / "suricata" / "tls13-draft28" / "tls13_draft28.pcap"
needs_tshark = pytest.mark.skipif(not ts.available(), reason="tshark is not installed")


def _rows(path: Path) -> dict[int, ConnectionSummary]:
    return {s.stream: s for s in analyzer.iter_summaries([path], capture_secrets=False) if s.is_tls}


def _tshark_key_share_groups(path: Path) -> dict[tuple[int, int], list[int]]:
    """(tcp.stream, handshake type) -> key_share groups tshark decodes in that hello."""
    out = subprocess.run([ts.TSHARK, "-r", str(path), "-Y", "tls.handshake.type == 1 or tls.handshake.type == 2",
                          "-T", "fields", "-E", "separator=|", "-e", "tcp.stream", "-e", "tls.handshake.type",
                          "-e", "tls.handshake.extensions_key_share_group"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    facts: dict[tuple[int, int], list[int]] = {}
    for line in out.splitlines():
        stream, types, groups = line.split("|")
        (t,) = {int(x) for x in types.split(",")}
        facts[(int(stream), t)] = [int(x) for x in groups.split(",") if x]
    return facts


# --------------------------------------------------------------------------- real draft captures


@pytest.mark.skipif(not DRAFT19.is_file(), reason="third-party captures not present")
@needs_tshark
@pytest.mark.parametrize("path", [DRAFT19, DRAFT28], ids=["draft19", "draft28"])
def test_draft_key_share_groups_agree_with_tshark(path: Path) -> None:
    rows = _rows(path)
    theirs = _tshark_key_share_groups(path)
    assert rows and theirs
    for stream, s in rows.items():
        assert s.version_code is not None and s.version_code >> 8 == ProtocolVersion.TLS13_DRAFT_BASE >> 8
        assert s.key_share_groups == [group_name(c) for c in theirs[(stream, 1)]]
        (server_group,) = theirs[(stream, 2)]
        assert s.group == group_name(server_group)


@pytest.mark.skipif(not DRAFT19.is_file(), reason="third-party captures not present")
def test_draft19_hellos_carry_key_share_as_extension_40() -> None:
    rows = _rows(DRAFT19)
    assert len(rows) == 3
    for s in rows.values():
        assert s.version == "TLS 1.3 (draft 19)"
        assert ExtensionType.KEY_SHARE_OLD in s.extension_codes_offered
        assert ExtensionType.KEY_SHARE not in s.extension_codes_offered
        assert s.key_share_groups == ["x25519"] and s.group == "x25519"
        assert s.handshake_complete and s.failure is None
    # streams 1 and 2 resume with a PSK (psk_dhe_ke: a key share too)
    assert [rows[k].resumption for k in sorted(rows)] == ["none", "psk", "psk"]


# --------------------------------------------------------------------------- patched real TLS 1.3


def _patch_hello(record: bytearray, *, server: bool, version: int | None, key_share_to: int | None,
                 break_key_share: bool = False) -> None:
    """In place: the first handshake record of a chunk holds one hello; rewrite its supported_versions
    entry 0x0304 to `version` and its key_share extension number 51 to `key_share_to` (same lengths);
    `break_key_share` makes the server's key_exchange length claim one byte more than there is."""
    assert record[0] == 22 and record[5] == (2 if server else 1)
    body = memoryview(record)[9:]
    pos = 35 + body[34]
    if server:
        pos += 3                                    # cipher_suite, legacy_compression_method
    else:
        pos += 2 + int.from_bytes(body[pos: pos + 2], "big")
        pos += 1 + body[pos]
    end = pos + 2 + int.from_bytes(body[pos: pos + 2], "big")
    pos += 2
    patched = set()
    while pos < end:
        ext_type, n = struct.unpack_from("!HH", body, pos)
        data = pos + 4
        if ext_type == ExtensionType.SUPPORTED_VERSIONS and version is not None:
            first = data if server else data + 1
            for i in range(first, data + n, 2):
                if int.from_bytes(body[i: i + 2], "big") == ProtocolVersion.TLS13:
                    body[i: i + 2] = version.to_bytes(2, "big")
                    patched.add("version")
        if ext_type == ExtensionType.KEY_SHARE and key_share_to is not None:
            body[pos: pos + 2] = key_share_to.to_bytes(2, "big")
            patched.add("key_share")
            if break_key_share and server:
                claimed = int.from_bytes(body[data + 2: data + 4], "big") + 1
                body[data + 2: data + 4] = claimed.to_bytes(2, "big")
        pos = data + n
    assert patched == {k for k, v in (("version", version), ("key_share", key_share_to)) if v is not None}


def _patched_tls13(tmp: Path, name: str, *, version: int | None, key_share_to: int | None,
                   break_key_share: bool = False) -> Path:
    pki = g.pki_at(CAPTURES)
    conv = g.tls_conversation(g.client_context(pki), g.server_context(pki), server_hostname="server.test")
    assert conv.expected["version"] == "TLS 1.3"
    chunks = [(d, bytearray(data)) for d, data in conv.chunks]
    _patch_hello(chunks[0][1], server=False, version=version, key_share_to=key_share_to)
    _patch_hello(chunks[1][1], server=True, version=version, key_share_to=key_share_to,
                 break_key_share=break_key_share)
    conv.chunks = [(d, bytes(data)) for d, data in chunks]
    path = tmp / f"{name}.pcap"
    g.write_pcap(path, g.frames_for(conv))
    return path


@pytest.mark.parametrize("number", [1, 2, 3])
def test_google_experiment_is_tls13(tmp_path: Path, number: int) -> None:
    version = ProtocolVersion.TLS13_GOOGLE_EXPERIMENT_BASE | number
    path = _patched_tls13(tmp_path, f"experiment{number}", version=version, key_share_to=ExtensionType.KEY_SHARE_OLD)
    (s,) = _rows(path).values()
    assert s.version_code == version and s.version == f"TLS 1.3 (Google experiment {number})"
    assert s.client_versions[0] == s.version
    # TLS 1.3 in all but number: the flights after the ServerHello are encrypted, completion is inferred
    assert s.handshake_complete and s.failure is None
    assert s.cert_chain == [] and not s.renegotiation
    assert "encrypted_handshake" in [e.kind for e in s.events]
    assert s.round_trips == 1
    # the key share (extension 40 in those versions)
    assert s.key_share_groups == ["x25519"] and s.group == "x25519"
    # the echoed 32-byte legacy_session_id is middlebox compatibility, not resumption
    assert s.session_id and s.server_session_id == s.session_id and len(s.session_id) == 64
    assert not s.resumed and s.resumption == "none"


def test_extension_40_outside_the_drafts_is_no_key_share(tmp_path: Path) -> None:
    path = _patched_tls13(tmp_path, "final-40", version=None, key_share_to=ExtensionType.KEY_SHARE_OLD)
    (s,) = _rows(path).values()
    assert s.version == "TLS 1.3"
    assert "Reserved (key_share)" in s.extensions_offered and "Reserved (key_share)" in s.server_extensions
    assert s.key_share_groups == [] and s.group is None
    assert not s.resumed and s.handshake_complete


def test_tls13_echoed_session_id_is_not_resumption() -> None:
    """The bundled TLS 1.3 captures (Python's ssl: middlebox compatibility mode) echo the session ID."""
    for name in ("tls13-aes128.pcap", "tls13-hrr.pcap"):
        for s in _rows(CAPTURES / name).values():
            if s.version == "TLS 1.3" and s.session_id:
                assert s.server_session_id == s.session_id
                assert not s.resumed and s.resumption == "none", (name, s.stream)


def test_malformed_draft_key_share_is_a_recorded_error(tmp_path: Path) -> None:
    """Hostile input: an experiment's ServerHello whose extension-40 key_exchange claims a byte too many."""
    version = ProtocolVersion.TLS13_GOOGLE_EXPERIMENT_BASE | 1
    path = _patched_tls13(tmp_path, "broken-40", version=version, key_share_to=ExtensionType.KEY_SHARE_OLD,
                          break_key_share=True)
    (s,) = _rows(path).values()
    # the group before the broken key_exchange is still read, as for extension 51
    assert s.version_code == version and s.group == "x25519" and s.key_share_groups == ["x25519"]
    assert any("ServerHello extension 40 (draft key_share): key_exchange" in e for e in s.errors), s.errors
    assert s.handshake_complete  # one bad extension is an error on the row, the rest is still read
