"""tshark as the test oracle: per-`tcp.stream` TLS facts of a capture, as Wireshark sees them.

Owns running tshark 4.0 (`/usr/bin/tshark`, or `TSHARK` from the environment) on a
capture and turning its JSON (`-T json --no-duplicate-keys`) into small dataclasses:
for every TCP stream, the TLS records and handshake messages in wire order with
their frame number and sender, the first ClientHello's offer, the ServerHello's
choice (HelloRetryRequest told apart by its special random, RFC 8446 4.1.3) and
plaintext alerts. Nothing here knows our analyzer; the tests compare the two.

The JSON tree is used (not `-T fields`) because a frame can carry several
records and a record several handshake messages: the tree keeps each field with
the message it belongs to.

tshark facts this relies on (4.0):
- it only dissects TLS on well-known ports unless told `-d tcp.port==PORT,tls`;
- out-of-order TCP segments are only reassembled with `-o tcp.reassemble_out_of_order:TRUE`;
- a TLS PDU reassembled from several segments is shown in the frame that completed it;
- TLS 1.3 protected records carry `tls.record.opaque_type` (23); when tshark can
  decrypt them (a pcapng with a Decryption Secrets Block) the inner content type and
  messages are shown too, but they are reported here as one `encrypted_record`, as
  the analyzer (without keys) sees them;
- a TLS <= 1.2 handshake record after ChangeCipherSpec has an empty `tls.handshake`
  ("Encrypted Handshake Message"); an encrypted alert has an empty `tls.alert_message`.
  When the capture carries keys tshark shows them decrypted (Finished, close_notify);
  here every handshake/alert record a side sends after its ChangeCipherSpec is reported
  as `encrypted_handshake` / `encrypted_alert` (RFC 5246 7.1), as seen without keys.

Public API: `available()`, `stream_facts(path, tls_ports) -> {tcp.stream: StreamFacts}`
(cached per file and port set for the test session), `StreamFacts.ladder(client)`,
`tshark_command(path, tls_ports)`.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

TSHARK = os.environ.get("TSHARK", "/usr/bin/tshark")

# RFC 8446 4.1.3: a ServerHello with this random is a HelloRetryRequest
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

# handshake message names as RFC 5246 / RFC 8446 and the IANA registry write them
HANDSHAKE_NAMES: dict[int, str] = {
    0: "hello_request",
    1: "client_hello",
    2: "server_hello",
    3: "hello_verify_request",
    4: "new_session_ticket",
    5: "end_of_early_data",
    6: "hello_retry_request",      # TLS 1.3 drafts before 22
    8: "encrypted_extensions",
    11: "certificate",
    12: "server_key_exchange",
    13: "certificate_request",
    14: "server_hello_done",
    15: "certificate_verify",
    16: "client_key_exchange",
    20: "finished",
    21: "certificate_url",
    22: "certificate_status",
    23: "supplemental_data",
    24: "key_update",
    25: "compressed_certificate",
    254: "message_hash",
}

# kinds of `Msg` besides the handshake names above
ENCRYPTED_HANDSHAKE = "encrypted_handshake"   # content type 22 record protected by a TLS <= 1.2 CCS
CHANGE_CIPHER_SPEC = "change_cipher_spec"
ALERT = "alert"                               # plaintext alert (level, description known)
ENCRYPTED_ALERT = "encrypted_alert"           # content type 21 record that tshark could not read
APPLICATION_DATA = "application_data"         # content type 23 record (TLS <= 1.2 framing)
ENCRYPTED_RECORD = "encrypted_record"         # TLS 1.3 protected record (opaque_type 23)


def available() -> bool:
    """Whether the tshark binary can be run."""
    return os.path.isfile(TSHARK) and os.access(TSHARK, os.X_OK) or shutil.which(TSHARK) is not None


@dataclass(frozen=True)
class Msg:
    """One handshake message or record as tshark shows it."""

    frame: int
    src: tuple[str, int]          # sender (address, port)
    kind: str                     # a HANDSHAKE_NAMES value or one of the kinds above
    level: int | None = None      # alerts
    description: int | None = None
    record_length: int | None = None


@dataclass
class ClientHelloFacts:
    frame: int
    src: tuple[str, int]
    legacy_version: int | None
    sni: str | None
    session_id: str | None        # hex, None when empty
    cipher_suites: list[int]
    supported_versions: list[int]  # empty when the extension is absent
    extensions: list[int] = field(default_factory=list)   # extension types in wire order
    alpn: list[str] = field(default_factory=list)
    sslv2: bool = False


@dataclass
class ServerHelloFacts:
    frame: int
    src: tuple[str, int]
    legacy_version: int | None
    version: int | None           # supported_versions of the ServerHello if present, else legacy_version
    cipher_suite: int | None
    session_id: str | None        # hex, None when empty
    hrr: bool = False
    extensions: list[int] = field(default_factory=list)
    alpn: list[str] = field(default_factory=list)


@dataclass
class StreamFacts:
    """What tshark saw on one `tcp.stream`."""

    stream: int
    endpoints: set[tuple[str, int]] = field(default_factory=set)
    messages: list[Msg] = field(default_factory=list)
    client_hellos: list[ClientHelloFacts] = field(default_factory=list)
    server_hellos: list[ServerHelloFacts] = field(default_factory=list)   # HRRs included (hrr=True)
    ccs_from: set[tuple[str, int]] = field(default_factory=set)   # senders of a ChangeCipherSpec so far
    tls13: bool = False           # a TLS 1.3 ServerHello or HelloRetryRequest was seen (CCS does not protect)

    @property
    def client_hello(self) -> ClientHelloFacts | None:
        return self.client_hellos[0] if self.client_hellos else None

    @property
    def server_hello(self) -> ServerHelloFacts | None:
        """The first ServerHello that is not a HelloRetryRequest."""
        for sh in self.server_hellos:
            if not sh.hrr:
                return sh
        return None

    @property
    def hrr(self) -> ServerHelloFacts | None:
        for sh in self.server_hellos:
            if sh.hrr:
                return sh
        return None

    @property
    def alerts(self) -> list[Msg]:
        return [m for m in self.messages if m.kind == ALERT]

    def client(self) -> tuple[str, int] | None:
        """The sender of the first ClientHello, else the receiver of the first ServerHello."""
        if self.client_hellos:
            return self.client_hellos[0].src
        if self.server_hellos:
            others = self.endpoints - {self.server_hellos[0].src}
            return next(iter(others)) if len(others) == 1 else None
        return None

    def ladder(self, client: tuple[str, int] | None = None) -> list[tuple[int, str, int]]:
        """(direction 0 client->server / 1 server->client, kind, frame) of every message, in order."""
        c = client if client is not None else self.client()
        return [(0 if m.src == c else 1, m.kind, m.frame) for m in self.messages]


# -- running tshark -------------------------------------------------------------


def tshark_command(path: str, tls_ports: Iterable[int] = ()) -> list[str]:
    cmd = [
        TSHARK, "-n", "-r", str(path),
        "-o", "tcp.reassemble_out_of_order:TRUE",
        "-T", "json", "--no-duplicate-keys",
        "-J", "frame ip ipv6 tcp tls",
        "-Y", "tcp && tls",
    ]
    for port in sorted(set(tls_ports)):
        cmd += ["-d", f"tcp.port=={int(port)},tls"]
    return cmd


@functools.lru_cache(maxsize=None)
def _run(path: str, tls_ports: tuple[int, ...]) -> dict[int, StreamFacts]:
    proc = subprocess.run(
        tshark_command(path, tls_ports), capture_output=True, timeout=300, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"tshark failed on {path} ({proc.returncode}): {proc.stderr.decode(errors='replace')[-2000:]}")
    out = proc.stdout.strip()
    packets = json.loads(out) if out else []
    return parse_packets(packets)


def stream_facts(path: str | os.PathLike, tls_ports: Iterable[int] = ()) -> dict[int, StreamFacts]:
    """tshark's facts per `tcp.stream` of `path` (cached per file and port set for the test session)."""
    return _run(os.path.abspath(os.fspath(path)), tuple(sorted(set(int(p) for p in tls_ports))))


# -- JSON tree -> facts -----------------------------------------------------------


def _items(x: Any) -> list[Any]:
    """--no-duplicate-keys turns repeated keys into lists: always give a list."""
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


def _last(x: Any) -> Any:
    xs = _items(x)
    return xs[-1] if xs else None


def _int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    v = _last(v)
    return int(v, 0) if isinstance(v, str) else int(v)


def _find(tree: Any, key: str) -> list[Any]:
    """Every value of `key` anywhere under `tree` (in document order), lists flattened."""
    found: list[Any] = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            if k == key:
                found.extend(_items(v))
            else:
                found.extend(_find(v, key))
    elif isinstance(tree, list):
        for x in tree:
            found.extend(_find(x, key))
    return found


def _first(tree: Any, key: str) -> Any:
    f = _find(tree, key)
    return f[0] if f else None


def _hex(colon: Any) -> str | None:
    if not colon:
        return None
    return str(colon).replace(":", "").lower() or None


def _norm_ip(a: str) -> str:
    try:
        return ipaddress.ip_address(a).compressed
    except ValueError:
        return a


def _source(layers: dict[str, Any]) -> tuple[str, int] | None:
    """(address, port) of the sender; with tunnels (GRE, IP-in-IP) the innermost IP header counts."""
    tcp = _last(layers.get("tcp"))
    if not isinstance(tcp, dict):
        return None
    ip_keys = [k for k in layers if k in ("ip", "ipv6")]
    addr = ""
    if ip_keys:
        ip = _last(layers[ip_keys[-1]])
        if isinstance(ip, dict):
            addr = ip.get("ip.src") or ip.get("ipv6.src") or ""
    return (_norm_ip(str(_last(addr))), int(_last(tcp["tcp.srcport"])))


def parse_packets(packets: list[dict[str, Any]]) -> dict[int, StreamFacts]:
    streams: dict[int, StreamFacts] = {}
    for p in packets:
        layers = p.get("_source", {}).get("layers", {})
        tcp = _last(layers.get("tcp"))
        if not isinstance(tcp, dict) or "tls" not in layers:
            continue
        frame = int(_last(layers["frame"]["frame.number"]))
        stream = int(_last(tcp["tcp.stream"]))
        src = _source(layers)
        if src is None:
            continue
        sf = streams.setdefault(stream, StreamFacts(stream))
        sf.endpoints.add(src)
        for tls in _items(layers["tls"]):
            if not isinstance(tls, dict):
                continue  # "Transport Layer Security" with nothing decoded (continuation data)
            for rec in _items(tls.get("tls.record")):
                if isinstance(rec, dict):
                    _record(sf, rec, frame, src)
    return streams


def _record(sf: StreamFacts, rec: dict[str, Any], frame: int, src: tuple[str, int]) -> None:
    length = _int(rec.get("tls.record.length"))
    if "tls.record.opaque_type" in rec:
        # TLS 1.3 protected record; tshark may have decrypted it (DSB), we report it as opaque
        sf.messages.append(Msg(frame, src, ENCRYPTED_RECORD, record_length=length))
        return
    if "tls.handshake.type" in rec:
        # SSLv2-format record: the CLIENT-HELLO fields sit directly in the record
        _handshake(sf, rec, frame, src, sslv2=True)
        return
    ct = _int(rec.get("tls.record.content_type"))
    if src in sf.ccs_from and not sf.tls13:
        # RFC 5246 7.1: after ChangeCipherSpec the sender's records are protected. tshark
        # shows them decrypted when the capture holds the keys (pcapng DSB); an observer
        # without keys sees an encrypted handshake record / encrypted alert.
        if ct == 22:
            sf.messages.append(Msg(frame, src, ENCRYPTED_HANDSHAKE, record_length=length))
            return
        if ct == 21:
            sf.messages.append(Msg(frame, src, ENCRYPTED_ALERT, record_length=length))
            return
    if ct == 22:
        hs = rec.get("tls.handshake")
        if hs is None:
            return
        msgs = [h for h in _items(hs) if isinstance(h, dict) and "tls.handshake.type" in h]
        if not msgs:
            sf.messages.append(Msg(frame, src, ENCRYPTED_HANDSHAKE, record_length=length))
            return
        for h in msgs:
            _handshake(sf, h, frame, src)
    elif ct == 20:
        sf.ccs_from.add(src)
        sf.messages.append(Msg(frame, src, CHANGE_CIPHER_SPEC, record_length=length))
    elif ct == 21:
        am = [a for a in _items(rec.get("tls.alert_message")) if isinstance(a, dict)]
        if not am:
            sf.messages.append(Msg(frame, src, ENCRYPTED_ALERT, record_length=length))
        for a in am:
            levels = _find(a, "tls.alert_message.level")
            descs = _find(a, "tls.alert_message.desc")
            for lv, ds in zip(levels, descs):
                sf.messages.append(Msg(frame, src, ALERT, int(lv, 0), int(ds, 0), record_length=length))
    elif ct == 23:
        sf.messages.append(Msg(frame, src, APPLICATION_DATA, record_length=length))
    elif ct is not None:
        sf.messages.append(Msg(frame, src, f"record_type_{ct}", record_length=length))


def _handshake(sf: StreamFacts, h: dict[str, Any], frame: int, src: tuple[str, int], sslv2: bool = False) -> None:
    t = _int(h.get("tls.handshake.type"))
    if t is None:
        return
    kind = HANDSHAKE_NAMES.get(t, f"unknown ({t})")
    if t == 1:
        sf.client_hellos.append(_client_hello(h, frame, src, sslv2))
    elif t == 2:
        sh = _server_hello(h, frame, src)
        sf.server_hellos.append(sh)
        if sh.hrr or (sh.version is not None and (sh.version == 0x0304 or sh.version >> 8 == 0x7F)):
            sf.tls13 = True
        if sh.hrr:
            kind = "hello_retry_request"
    sf.messages.append(Msg(frame, src, kind))


def _client_hello(h: dict[str, Any], frame: int, src: tuple[str, int], sslv2: bool) -> ClientHelloFacts:
    if sslv2:
        suites = [_int(v) for v in _find(h, "tls.handshake.cipherspec")]
        # SSLv2 cipher kinds are 3 bytes; the TLS suites among them are 0x00XXXX
        suites = [s for s in suites if s is not None and s >> 16 == 0]
    else:
        suites = [_int(v) for v in _find(h, "tls.handshake.ciphersuite")]
    sni = _first(h, "tls.handshake.extensions_server_name")
    return ClientHelloFacts(
        frame=frame,
        src=src,
        legacy_version=_int(h.get("tls.handshake.version")),
        sni=sni if sni else None,
        session_id=_hex(h.get("tls.handshake.session_id")),
        cipher_suites=[s for s in suites if s is not None],
        supported_versions=[int(v, 0) for v in _find(h, "tls.handshake.extensions.supported_version")],
        extensions=[int(v, 0) for v in _find(h, "tls.handshake.extension.type")],
        alpn=[str(v) for v in _find(h, "tls.handshake.extensions_alpn_str")],
        sslv2=sslv2,
    )


def _server_hello(h: dict[str, Any], frame: int, src: tuple[str, int]) -> ServerHelloFacts:
    legacy = _int(h.get("tls.handshake.version"))
    sv = _find(h, "tls.handshake.extensions.supported_version")
    random = _hex(h.get("tls.handshake.random")) or ""
    return ServerHelloFacts(
        frame=frame,
        src=src,
        legacy_version=legacy,
        version=int(sv[0], 0) if sv else legacy,
        cipher_suite=_int(h.get("tls.handshake.ciphersuite")),
        session_id=_hex(h.get("tls.handshake.session_id")),
        hrr=bytes.fromhex(random) == HRR_RANDOM if len(random) == 64 else False,
        extensions=[int(v, 0) for v in _find(h, "tls.handshake.extension.type")],
        alpn=[str(v) for v in _find(h, "tls.handshake.extensions_alpn_str")],
    )


def iter_messages(facts: dict[int, StreamFacts]) -> Iterator[tuple[int, Msg]]:
    for stream in sorted(facts):
        for msg in facts[stream].messages:
            yield stream, msg
