"""Handshake messages and extensions: one dataclass per message, one `pull_*` per structure.

Owns the decoding of every TLS handshake message body (RFC 5246, RFC 8446 and
their extensions) and of the SSLv2-format ClientHello (RFC 5246 appendix E.2).
Each `pull_<message>(body, ...)` takes the message body (without the 4-byte
handshake header) and returns its dataclass, or raises `TLSDecodeError` saying
what was wrong. Extensions are kept in wire order as `(type, bytes)` and the
ones the analyzer reports are decoded into typed fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .buffer import (
    Buffer,
    TLSDecodeError,
    pull_block,
    pull_opaque,
    pull_uint16_list,
)
from .registry import CERT_COMPRESSION_NAMES, ProtocolVersion, is_google_experiment, name_of
from .registry import CertificateCompressionAlgorithm as CertComp
from .registry import ExtensionType as Ext

# RFC 8446 4.1.3: a ServerHello whose random is SHA-256("HelloRetryRequest") is a HelloRetryRequest.
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)

# Bounds on what one message may make us keep (hostile input).
MAX_EXTENSIONS = 1024          # extensions kept per message; more are counted, not kept
MAX_LIST_ITEMS = 4096          # items kept per decoded vector (suites, groups, ALPN ...)
MAX_CERTIFICATES = 64          # certificates kept per Certificate message
MAX_NAME_LENGTH = 1024         # SNI / ALPN strings longer than this are cut
MAX_EXTENSION_ERRORS = 16      # undecodable extensions described per message; more are not
MAX_UNCOMPRESSED_CERTIFICATE = 1 << 20  # RFC 8879 uncompressed_length above this is refused (as MAX_HANDSHAKE_MESSAGE)
MAX_ZSTD_WINDOW = 1 << 23      # a zstd frame asking for a larger window (decoder memory) is refused
MAX_PSK_IDENTITIES_KEPT = 8    # pre_shared_key identities kept per ClientHello (for resumption lineage)


def _text(raw: bytes) -> str:
    """Wire string -> str, never failing: invalid UTF-8 is kept with backslash escapes."""
    if len(raw) > MAX_NAME_LENGTH:
        raw = raw[:MAX_NAME_LENGTH]
    return raw.decode("utf-8", errors="backslashreplace")


@dataclass(slots=True)
class Extensions:
    """The decoded view of an extension block (client or server side)."""

    raw: list[tuple[int, bytes]] = field(default_factory=list)
    count: int = 0
    server_name: str | None = None
    alpn: list[str] = field(default_factory=list)
    supported_versions: list[int] = field(default_factory=list)
    selected_version: int | None = None
    supported_groups: list[int] = field(default_factory=list)
    ec_point_formats: list[int] = field(default_factory=list)
    signature_algorithms: list[int] = field(default_factory=list)
    signature_algorithms_cert: list[int] = field(default_factory=list)
    key_share_groups: list[int] = field(default_factory=list)
    key_share_selected_group: int | None = None     # ServerHello / HRR
    psk_key_exchange_modes: list[int] = field(default_factory=list)
    psk_identities: int = 0                          # ClientHello pre_shared_key
    psk_identity_values: list[bytes] = field(default_factory=list)  # ... the identities (tickets), first ones
    psk_selected_identity: int | None = None         # ServerHello pre_shared_key
    early_data: bool = False
    session_ticket: bytes | None = None              # None: not present
    extended_master_secret: bool = False
    encrypt_then_mac: bool = False
    renegotiation_info: bytes | None = None
    status_request: bool = False
    record_size_limit: int | None = None
    compress_certificate: list[int] = field(default_factory=list)
    encrypted_client_hello: bool = False
    padding: int | None = None
    heartbeat_mode: int | None = None
    cookie: bool = False
    srtp_profiles: list[int] = field(default_factory=list)   # use_srtp (RFC 5764 4.1.1)
    connection_id: bytes | None = None                       # connection_id (RFC 9146 3): the CID to receive
    errors: list[str] = field(default_factory=list)

    def types(self) -> list[int]:
        return [t for t, _ in self.raw]

    def has(self, ext_type: int) -> bool:
        return any(t == ext_type for t, _ in self.raw)


# One small decoder per extension the analyzer reports: (ext, data, server, hrr) -> bytes used.
# `data` is the extension_data; the caller reports unused bytes as trailing. They index the
# bytes directly instead of building a Buffer per extension (a ClientHello with 11
# extensions: 17.7 us -> 9.4 us with the indexed hello fields); every length is checked before it is used.

def _vec(d: bytes, pos: int, width: int, what: str) -> int:
    """The end of a vector with a `width`-byte length prefix at `pos` (checked against `d`)."""
    left = len(d) - pos
    if left < width:
        raise TLSDecodeError(f"{what} length: need {width} bytes, {left} left")
    n = d[pos] if width == 1 else (d[pos] << 8) | d[pos + 1]
    if n > left - width:
        raise TLSDecodeError(f"{what}: need {n} bytes, {left - width} left")
    return pos + width + n


def _u16s(d: bytes, start: int, end: int, what: str) -> list[int]:
    """The uint16 values in d[start:end] (at most MAX_LIST_ITEMS kept)."""
    n = end - start
    if n & 1:
        raise TLSDecodeError(f"{what}: odd length {n}")
    stop = start + 2 * min(n >> 1, MAX_LIST_ITEMS)
    return [(d[i] << 8) | d[i + 1] for i in range(start, stop, 2)]


def _u16(d: bytes, pos: int, what: str) -> int:
    if len(d) - pos < 2:
        raise TLSDecodeError(f"{what}: need 2 bytes, {len(d) - pos} left")
    return (d[pos] << 8) | d[pos + 1]


def _u16_list(attr: str, width: int, what: str) -> "Callable[[Extensions, bytes, bool, bool], int]":
    """A decoder for an extension that is one vector of uint16 codes (groups, schemes ...)."""
    def decode(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
        end = _vec(d, 0, width, what)
        setattr(ext, attr, _u16s(d, width, end, what))
        return end
    return decode


def _u8_list(attr: str, what: str) -> "Callable[[Extensions, bytes, bool, bool], int]":
    """A decoder for an extension that is one opaque<1..255> of uint8 codes."""
    def decode(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
        end = _vec(d, 0, 1, what)
        setattr(ext, attr, list(d[1:end]))
        return end
    return decode


_ext_supported_groups = _u16_list("supported_groups", 2, "named_group_list")
_ext_signature_algorithms = _u16_list("signature_algorithms", 2, "supported_signature_algorithms")
_ext_signature_algorithms_cert = _u16_list("signature_algorithms_cert", 2, "signature_algorithms_cert")
_ext_compress_certificate = _u16_list("compress_certificate", 1, "algorithms")
_ext_ec_point_formats = _u8_list("ec_point_formats", "ec_point_format_list")
_ext_psk_modes = _u8_list("psk_key_exchange_modes", "ke_modes")


def _ext_server_name(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    if server or not d:
        return len(d)  # the server's server_name is empty (RFC 6066 3)
    end = _vec(d, 0, 2, "server_name_list")
    pos = 2
    name = None
    items = 0
    while pos < end:
        name_type = d[pos]
        stop = _vec(d[:end], pos + 1, 2, "HostName")
        if name_type == 0 and name is None and items < MAX_LIST_ITEMS:
            name = d[pos + 3 : stop]
        items += 1
        pos = stop
    if name is not None and ext.server_name is None:
        ext.server_name = _text(name)
    return end


def _alpn(d: bytes, pos: int, end: int) -> list[str]:
    out: list[str] = []
    while pos < end:
        stop = _vec(d[:end], pos, 1, "protocol name")
        if len(out) < MAX_LIST_ITEMS:
            out.append(_text(d[pos + 1 : stop]))
        pos = stop
    return out


def _ext_alpn(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    end = _vec(d, 0, 2, "ALPN protocol_name_list")
    ext.alpn = _alpn(d, 2, end)
    return end


def _ext_supported_versions(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    if server:
        ext.selected_version = _u16(d, 0, "selected_version")
        return 2
    end = _vec(d, 0, 1, "supported_versions")
    ext.supported_versions = _u16s(d, 1, end, "supported_versions")
    return end


def _ext_key_share(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    if hrr:
        ext.key_share_selected_group = _u16(d, 0, "selected_group")
        return 2
    if server:
        ext.key_share_selected_group = _u16(d, 0, "KeyShareEntry.group")
        return _vec(d, 2, 2, "key_exchange")
    end = _vec(d, 0, 2, "client_shares")
    sub = d[:end]
    pos = 2
    groups: list[int] = []
    while pos < end:
        group = _u16(sub, pos, "group")
        pos = _vec(sub, pos + 2, 2, "key_exchange")
        if len(groups) < MAX_LIST_ITEMS:
            groups.append(group)
    ext.key_share_groups = groups
    return end


def _ext_pre_shared_key(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    if server:
        ext.psk_selected_identity = _u16(d, 0, "selected_identity")
        return 2
    end = _vec(d, 0, 2, "identities")
    sub = d[:end]
    pos = 2
    count = 0
    values: list[bytes] = []
    while pos < end:
        start = pos + 2
        pos = _vec(sub, pos, 2, "identity")
        if len(values) < MAX_PSK_IDENTITIES_KEPT:
            values.append(bytes(sub[start:pos]))  # RFC 8446 4.2.11: opaque identity<1..2^16-1>
        if end - pos < 4:
            raise TLSDecodeError(f"obfuscated_ticket_age: need 4 bytes, {end - pos} left")
        pos += 4
        count += 1
    end = _vec(d, end, 2, "binders")
    ext.psk_identities = min(count, MAX_LIST_ITEMS)
    ext.psk_identity_values = values
    return end


def _ext_renegotiation_info(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    end = _vec(d, 0, 1, "renegotiated_connection")
    ext.renegotiation_info = bytes(d[1:end])
    return end


def _ext_record_size_limit(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    ext.record_size_limit = _u16(d, 0, "RecordSizeLimit")
    return 2


def _ext_heartbeat(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    if not d:
        raise TLSDecodeError("HeartbeatMode: need 1 bytes, 0 left")
    ext.heartbeat_mode = d[0]
    return 1


def _ext_use_srtp(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    """RFC 5764 4.1.1: `SRTPProtectionProfile SRTPProtectionProfiles<2..2^16-1>; opaque srtp_mki<0..255>`."""
    end = _vec(d, 0, 2, "SRTPProtectionProfiles")
    ext.srtp_profiles = _u16s(d, 2, end, "SRTPProtectionProfiles")
    return _vec(d, end, 1, "srtp_mki")


def _ext_connection_id(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    """RFC 9146 3: `opaque cid<0..2^8-1>` (the CID its sender wants to receive)."""
    end = _vec(d, 0, 1, "cid")
    ext.connection_id = bytes(d[1:end])
    return end


_DECODERS = {
    Ext.SERVER_NAME: _ext_server_name,
    Ext.APPLICATION_LAYER_PROTOCOL_NEGOTIATION: _ext_alpn,
    Ext.SUPPORTED_VERSIONS: _ext_supported_versions,
    Ext.SUPPORTED_GROUPS: _ext_supported_groups,
    Ext.EC_POINT_FORMATS: _ext_ec_point_formats,
    Ext.SIGNATURE_ALGORITHMS: _ext_signature_algorithms,
    Ext.SIGNATURE_ALGORITHMS_CERT: _ext_signature_algorithms_cert,
    Ext.KEY_SHARE: _ext_key_share,
    Ext.PRE_SHARED_KEY: _ext_pre_shared_key,
    Ext.PSK_KEY_EXCHANGE_MODES: _ext_psk_modes,
    Ext.RENEGOTIATION_INFO: _ext_renegotiation_info,
    Ext.RECORD_SIZE_LIMIT: _ext_record_size_limit,
    Ext.COMPRESS_CERTIFICATE: _ext_compress_certificate,
    Ext.HEARTBEAT: _ext_heartbeat,
    Ext.USE_SRTP: _ext_use_srtp,
    Ext.CONNECTION_ID: _ext_connection_id,
    Ext.CONNECTION_ID_DEPRECATED: _ext_connection_id,
}

# Extensions whose presence is the whole fact (their bodies are kept raw, not decoded).
_FLAGS = {
    Ext.EARLY_DATA: "early_data",                       # empty, or max_early_data_size in a NewSessionTicket
    Ext.EXTENDED_MASTER_SECRET: "extended_master_secret",
    Ext.ENCRYPT_THEN_MAC: "encrypt_then_mac",
    Ext.STATUS_REQUEST: "status_request",               # CertificateStatusRequest, or empty from the server
    Ext.ENCRYPTED_CLIENT_HELLO: "encrypted_client_hello",  # noted, not decrypted
    Ext.COOKIE: "cookie",
}


def _flag(name: str) -> "Callable[[Extensions, bytes, bool, bool], int]":
    def handler(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
        setattr(ext, name, True)
        return len(d)
    return handler


def _ext_session_ticket(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    ext.session_ticket = d  # opaque ticket (empty: asking for one)
    return len(d)


def _ext_padding(ext: Extensions, d: bytes, server: bool, hrr: bool) -> int:
    ext.padding = len(d)
    return len(d)


# Every extension with something to note, by plain int code (an IntEnum key costs a
# comparison call per lookup).
_HANDLERS: "dict[int, Callable[[Extensions, bytes, bool, bool], int]]" = {
    **{int(t): f for t, f in _DECODERS.items()},
    **{int(t): _flag(name) for t, name in _FLAGS.items()},
    int(Ext.SESSION_TICKET): _ext_session_ticket,
    int(Ext.PADDING): _ext_padding,
}


def _extensions(data: bytes, pos: int, limit: int, server: bool, hrr: bool) -> tuple[Extensions, int]:
    """The extension block at data[pos:limit] (none when pos == limit): (extensions, end)."""
    ext = Extensions()
    if pos >= limit:
        return ext, pos
    if limit - pos < 2:
        raise TLSDecodeError(f"extensions length: need 2 bytes, {limit - pos} left")
    end = pos + 2 + ((data[pos] << 8) | data[pos + 1])
    if end > limit:
        raise TLSDecodeError(f"extensions: need {end - pos - 2} bytes, {limit - pos - 2} left")
    pos += 2
    raw = ext.raw
    handlers = _HANDLERS
    count = 0
    while pos < end:
        if end - pos < 4:
            raise TLSDecodeError(f"extension header: need 4 bytes, {end - pos} left")
        ext_type = (data[pos] << 8) | data[pos + 1]
        n = (data[pos + 2] << 8) | data[pos + 3]
        pos += 4
        stop = pos + n
        if stop > end:
            raise TLSDecodeError(f"extension_data: need {n} bytes, {end - pos} left")
        body = data[pos:stop]
        pos = stop
        count += 1
        if count <= MAX_EXTENSIONS:
            raw.append((ext_type, body))
        handler = handlers.get(ext_type)
        if handler is not None:
            try:
                used = handler(ext, body, server, hrr)
                if used != n:
                    raise TLSDecodeError(f"{n - used} trailing bytes")
            except TLSDecodeError as e:
                if len(ext.errors) < MAX_EXTENSION_ERRORS:
                    ext.errors.append(f"extension {ext_type}: {e.message}")
    ext.count = count
    return ext, end


def pull_extensions(buf: Buffer, *, server: bool = False, hrr: bool = False) -> Extensions:
    """`Extension extensions<0..2^16-1>`; an absent block (pre-TLS-1.0 hellos) is empty.

    A single undecodable extension is recorded in `errors` and kept raw: the rest of
    the message is still read, as Wireshark does.
    """
    ext, buf.pos = _extensions(bytes(buf.data), buf.pos, buf.end, server, hrr)
    return ext


@dataclass(slots=True)
class ClientHello:
    legacy_version: int
    random: bytes
    legacy_session_id: bytes
    cipher_suites: list[int]
    legacy_compression_methods: list[int]
    extensions: Extensions
    sslv2: bool = False
    sslv2_cipher_kinds: list[int] = field(default_factory=list)
    cookie: bytes = b""                # DTLS (RFC 6347 4.2.1): after legacy_session_id


def pull_client_hello(body: bytes, dtls: bool = False) -> ClientHello:
    """A ClientHello body; `dtls` reads the DTLS cookie field after legacy_session_id."""
    if type(body) is not bytes:
        body = bytes(body)
    ch = _client_hello_well_formed(body, dtls)
    return ch if ch is not None else _pull_client_hello_checked(body, dtls)


def _client_hello_well_formed(body: bytes, dtls: bool) -> ClientHello | None:
    """The common, well-formed case by direct indexing; None when anything is odd (the checked
    path then reads it again and says what is wrong)."""
    n = len(body)
    if n < 38:
        return None
    sl = body[34]
    p = 35 + sl
    cookie = b""
    if dtls:  # RFC 6347 4.2.1: opaque cookie<0..2^8-1> after the session ID
        if sl > 32 or p >= n:
            return None
        c = p + 1 + body[p]
        cookie = body[p + 1 : c]
        p = c
    if sl <= 32 and p + 2 <= n:
        q = p + 2 + ((body[p] << 8) | body[p + 1])
        if not (q - p) & 1 and q < n:
            r = q + 1 + body[q]
            if r <= n:
                ext, end = _extensions(body, r, n, False, False)
                if end == n:
                    return ClientHello((body[0] << 8) | body[1], body[2:34], body[35 : 35 + sl],
                                       _u16s(body, p + 2, q, "cipher_suites"), list(body[q + 1 : r]), ext,
                                       cookie=cookie)
    return None


def _pull_client_hello_checked(body: bytes, dtls: bool = False) -> ClientHello:
    buf = Buffer(body)
    legacy_version = buf.pull_uint16("legacy_version")
    random = buf.pull_bytes(32, "random")
    session_id = pull_opaque(buf, 1, "legacy_session_id")
    if len(session_id) > 32:
        raise TLSDecodeError(f"legacy_session_id of {len(session_id)} bytes (max 32)")
    cookie = pull_opaque(buf, 1, "cookie") if dtls else b""
    suites = pull_uint16_list(buf, 2, "cipher_suites", MAX_LIST_ITEMS)
    compression = list(pull_opaque(buf, 1, "legacy_compression_methods"))
    extensions = pull_extensions(buf)
    if not buf.eof():
        raise TLSDecodeError(f"ClientHello: {buf.remaining()} trailing bytes")
    return ClientHello(legacy_version, random, session_id, suites, compression, extensions, cookie=cookie)


def pull_sslv2_client_hello(body: bytes) -> ClientHello:
    """SSLv2-format CLIENT-HELLO (after the 2-byte record header, starting at msg_type)."""
    buf = Buffer(body)
    msg_type = buf.pull_uint8("msg_type")
    if msg_type != 1:
        raise TLSDecodeError(f"SSLv2 message type {msg_type} is not CLIENT-HELLO")
    version = buf.pull_uint16("version")
    spec_len = buf.pull_uint16("cipher_spec_length")
    sid_len = buf.pull_uint16("session_id_length")
    chal_len = buf.pull_uint16("challenge_length")
    if spec_len % 3:
        raise TLSDecodeError(f"SSLv2 cipher_spec_length {spec_len} is not a multiple of 3")
    if sid_len not in (0, 16) and sid_len > 32:
        raise TLSDecodeError(f"SSLv2 session_id_length {sid_len}")
    if not 16 <= chal_len <= 32:
        raise TLSDecodeError(f"SSLv2 challenge_length {chal_len} (must be 16..32)")
    specs = buf.pull_bytes(spec_len, "cipher_specs")
    session_id = buf.pull_bytes(sid_len, "session_id")
    challenge = buf.pull_bytes(chal_len, "challenge")
    kinds = [int.from_bytes(specs[i : i + 3], "big") for i in range(0, min(spec_len, 3 * MAX_LIST_ITEMS), 3)]
    suites = [k & 0xFFFF for k in kinds if k >> 16 == 0]
    return ClientHello(
        legacy_version=version,
        random=challenge.rjust(32, b"\x00"),
        legacy_session_id=session_id,
        cipher_suites=suites,
        legacy_compression_methods=[0],
        extensions=Extensions(),
        sslv2=True,
        sslv2_cipher_kinds=kinds,
    )


def is_tls13_family(version: int | None) -> bool:
    """TLS 1.3 final, DTLS 1.3, the TLS 1.3 drafts (0x7fNN), Facebook's draft code points (0xfbNN)
    and Google's experiment versions (0x7e01-0x7e03)."""
    if version is None:
        return False
    return (version in (ProtocolVersion.TLS13, ProtocolVersion.DTLS13) or (version >> 8) in (0x7F, 0xFB)
            or is_google_experiment(version))


def is_tls12(version: int | None) -> bool:
    """TLS 1.2 or DTLS 1.2 (signature_algorithms in ServerKeyExchange, CertificateRequest, CertificateVerify)."""
    return version in (ProtocolVersion.TLS12, ProtocolVersion.DTLS12)


def pull_old_key_share(ext: Extensions, *, server: bool, hrr: bool = False) -> None:
    """Decode a key_share sent as extension 40 (TLS 1.3 drafts <= 22 and Google's experiments; see
    `registry.uses_old_key_share`) into the key_share fields, unless an extension 51 already filled
    them. The caller decides from the version whether extension 40 is a key_share at all."""
    if ext.key_share_groups or ext.key_share_selected_group is not None:
        return
    for ext_type, body in ext.raw:
        if ext_type != Ext.KEY_SHARE_OLD:
            continue
        try:
            used = _ext_key_share(ext, body, server, hrr)
            if used != len(body):
                raise TLSDecodeError(f"{len(body) - used} trailing bytes")
        except TLSDecodeError as e:
            if len(ext.errors) < MAX_EXTENSION_ERRORS:
                ext.errors.append(f"extension {ext_type} (draft key_share): {e.message}")
        return


@dataclass(slots=True)
class ServerHello:
    legacy_version: int
    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: int
    legacy_compression_method: int
    extensions: Extensions
    is_hello_retry_request: bool = False

    @property
    def version(self) -> int:
        """The negotiated version: supported_versions when present (RFC 8446 4.2.1)."""
        sel = self.extensions.selected_version
        return sel if sel is not None else self.legacy_version


def pull_server_hello(body: bytes) -> ServerHello:
    if type(body) is not bytes:
        body = bytes(body)
    sh = _server_hello_well_formed(body)
    return sh if sh is not None else _pull_server_hello_checked(body)


def _server_hello_well_formed(body: bytes) -> ServerHello | None:
    """The common, well-formed case by direct indexing; None when anything is odd, or for the
    early TLS 1.3 drafts' layout (the checked path reads those)."""
    n = len(body)
    if n < 38 or (body[0] == 0x7F and body[1] < 22):  # see _pull_server_hello_checked
        return None
    sl = body[34]
    p = 35 + sl
    if sl <= 32 and p + 3 <= n:
        random = body[2:34]
        hrr = random == HELLO_RETRY_REQUEST_RANDOM
        ext, end = _extensions(body, p + 3, n, True, hrr)
        if end == n:
            return ServerHello((body[0] << 8) | body[1], random, body[35:p], (body[p] << 8) | body[p + 1],
                               body[p + 2], ext, hrr)
    return None


def _pull_server_hello_checked(body: bytes) -> ServerHello:
    buf = Buffer(body)
    legacy_version = buf.pull_uint16("legacy_version")
    random = buf.pull_bytes(32, "random")
    if (legacy_version >> 8) == 0x7F and (legacy_version & 0xFF) < 22:
        # TLS 1.3 drafts before 22: no session id echo and no compression method.
        suite = buf.pull_uint16("cipher_suite")
        ext = pull_extensions(buf, server=True)
        sh = ServerHello(legacy_version, random, b"", suite, 0, ext)
    else:
        session_id = pull_opaque(buf, 1, "legacy_session_id_echo")
        if len(session_id) > 32:
            raise TLSDecodeError(f"legacy_session_id_echo of {len(session_id)} bytes (max 32)")
        suite = buf.pull_uint16("cipher_suite")
        compression = buf.pull_uint8("legacy_compression_method")
        hrr = random == HELLO_RETRY_REQUEST_RANDOM
        ext = pull_extensions(buf, server=True, hrr=hrr)
        sh = ServerHello(legacy_version, random, session_id, suite, compression, ext, hrr)
    if not buf.eof():
        raise TLSDecodeError(f"ServerHello: {buf.remaining()} trailing bytes")
    return sh


@dataclass
class HelloVerifyRequest:
    server_version: int
    cookie: bytes


def pull_hello_verify_request(body: bytes) -> HelloVerifyRequest:
    if len(body) >= 3 and len(body) == 3 + body[2]:  # the usual, well-formed case by direct indexing
        return HelloVerifyRequest((body[0] << 8) | body[1], bytes(body[3:]))
    buf = Buffer(body)
    return HelloVerifyRequest(buf.pull_uint16("server_version"), pull_opaque(buf, 1, "cookie"))


def pull_encrypted_extensions(body: bytes) -> Extensions:
    """TLS 1.3 EncryptedExtensions: only an extension block (seen in clear only once decrypted)."""
    buf = Buffer(body)
    ext = pull_extensions(buf, server=True)
    if not buf.eof():
        raise TLSDecodeError(f"EncryptedExtensions: {buf.remaining()} trailing bytes")
    return ext


@dataclass
class Certificate:
    certificate_request_context: bytes
    certificates: list[bytes]          # DER, leaf first, at most MAX_CERTIFICATES kept
    count: int                         # how many the message held


def pull_certificate(body: bytes, *, tls13: bool) -> Certificate:
    """TLS <= 1.2 `ASN.1Cert certificate_list<0..2^24-1>` or TLS 1.3 CertificateEntry list."""
    buf = Buffer(body)
    context = pull_opaque(buf, 1, "certificate_request_context") if tls13 else b""
    block = pull_block(buf, 3, "certificate_list")
    certs: list[bytes] = []
    count = 0
    while not block.eof():
        der = pull_opaque(block, 3, "cert_data")
        if tls13:
            pull_block(block, 2, "CertificateEntry extensions")
        count += 1
        if len(certs) < MAX_CERTIFICATES:
            certs.append(der)
    if not buf.eof():
        raise TLSDecodeError(f"Certificate: {buf.remaining()} trailing bytes")
    return Certificate(context, certs, count)


@dataclass
class CompressedCertificate:
    algorithm: int
    uncompressed_length: int
    compressed_certificate_message: bytes


def pull_compressed_certificate(body: bytes) -> CompressedCertificate:
    """RFC 8879 4: `CertificateCompressionAlgorithm algorithm; uint24 uncompressed_length;
    opaque compressed_certificate_message<1..2^24-1>`."""
    buf = Buffer(body)
    algorithm = buf.pull_uint16("algorithm")
    length = buf.pull_uint24("uncompressed_length")
    data = pull_opaque(buf, 3, "compressed_certificate_message")
    if not data:
        raise TLSDecodeError("compressed_certificate_message is empty")
    if not buf.eof():
        raise TLSDecodeError(f"CompressedCertificate: {buf.remaining()} trailing bytes")
    return CompressedCertificate(algorithm, length, bytes(data))


def decompress_certificate(cc: CompressedCertificate, limit: int | None = None) -> bytes:
    """The Certificate message body a CompressedCertificate carries (RFC 8879 4).

    Never produces more than `limit` (default MAX_UNCOMPRESSED_CERTIFICATE) bytes nor more than `uncompressed_length` + 1
    (a bomb stops there); the result must be exactly `uncompressed_length` bytes
    (RFC 8879: else bad_certificate). brotli and zstandard are imported only here.
    """
    want = cc.uncompressed_length
    if limit is None:
        limit = MAX_UNCOMPRESSED_CERTIFICATE
    if want > limit:
        raise TLSDecodeError(f"uncompressed_length {want} exceeds the {limit}-byte cap")
    if cc.algorithm == CertComp.ZLIB:
        out = _inflate_zlib(cc.compressed_certificate_message, want + 1)
    elif cc.algorithm == CertComp.BROTLI:
        out = _inflate_brotli(cc.compressed_certificate_message, want + 1)
    elif cc.algorithm == CertComp.ZSTD:
        out = _inflate_zstd(cc.compressed_certificate_message, want + 1)
    else:
        raise TLSDecodeError(f"unknown certificate compression algorithm {name_of(CERT_COMPRESSION_NAMES, cc.algorithm)}")
    if len(out) > want:
        raise TLSDecodeError(f"decompresses to more than uncompressed_length {want}")
    if len(out) < want:
        raise TLSDecodeError(f"decompressed to {len(out)} bytes, uncompressed_length says {want}")
    return out


def _inflate_zlib(data: bytes, most: int) -> bytes:
    import zlib

    d = zlib.decompressobj()
    try:
        out = d.decompress(data, most)
    except zlib.error as e:
        raise TLSDecodeError(f"zlib: {e}") from None
    if len(out) < most and not d.eof:
        raise TLSDecodeError("zlib: stream cut short")
    if d.eof and d.unused_data:
        raise TLSDecodeError(f"zlib: {len(d.unused_data)} bytes after the end of the stream")
    return out


def _inflate_brotli(data: bytes, most: int) -> bytes:
    try:
        import brotli
    except ImportError:
        raise TLSDecodeError("brotli: the brotli package is not installed") from None
    d = brotli.Decompressor()
    try:
        out = d.process(data, output_buffer_limit=most)
        if len(out) < most and not d.is_finished():
            raise TLSDecodeError("brotli: stream cut short or followed by more bytes")
    except brotli.error:
        raise TLSDecodeError("brotli: the stream does not decode") from None
    return out[:most]


def _inflate_zstd(data: bytes, most: int) -> bytes:
    try:
        import zstandard
    except ImportError:
        raise TLSDecodeError("zstd: the zstandard package is not installed") from None
    try:
        # read_across_frames: bytes after the first frame must be frames too, else an error
        reader = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW).stream_reader(
            data, read_across_frames=True)
        out = bytearray()
        while len(out) < most:
            chunk = reader.read(most - len(out))
            if not chunk:
                break
            out += chunk
    except zstandard.ZstdError as e:
        raise TLSDecodeError(f"zstd: {e}") from None
    return bytes(out)


@dataclass
class ServerKeyExchange:
    """Only what the analyzer reports: the (EC)DH group and the signature algorithm."""

    kind: str                        # 'ecdhe', 'dhe', 'other'
    named_group: int | None = None   # ECDHE named_curve
    dh_prime_bits: int | None = None # DHE: size of p
    signature_algorithm: int | None = None  # TLS 1.2 only (SignatureAndHashAlgorithm)
    psk_identity_hint: bytes | None = None  # PSK key exchanges (RFC 4279 section 2, RFC 5489)


#: Key exchanges whose ClientKeyExchange starts with psk_identity (RFC 4279 sections 2-4, RFC 5489)
PSK_KEY_EXCHANGES = frozenset(("PSK", "DHE_PSK", "ECDHE_PSK", "RSA_PSK"))


def pull_psk_identity(body: bytes) -> bytes:
    """ClientKeyExchange of a PSK key exchange: its leading `opaque psk_identity<0..2^16-1>`."""
    return pull_opaque(Buffer(body), 2, "psk_identity")


def pull_server_key_exchange(body: bytes, *, key_exchange: str, tls12: bool) -> ServerKeyExchange:
    """`key_exchange` is the suite's kind from the registry ('ECDHE', 'DHE', 'DH_anon' ...)."""
    buf = Buffer(body)
    kx = key_exchange.upper()
    hint = pull_opaque(buf, 2, "psk_identity_hint") if kx in PSK_KEY_EXCHANGES else None
    if kx.startswith("ECDHE") or kx == "ECDH_ANON":
        curve_type = buf.pull_uint8("curve_type")
        if curve_type != 3:
            return ServerKeyExchange("ecdhe", psk_identity_hint=hint)  # explicit curves: reported without a group
        group = buf.pull_uint16("namedcurve")
        pull_opaque(buf, 1, "public")
        sig = None
        if tls12 and not kx.endswith("PSK") and not buf.eof() and "ANON" not in kx:
            sig = buf.pull_uint16("SignatureAndHashAlgorithm")
        return ServerKeyExchange("ecdhe", named_group=group, signature_algorithm=sig, psk_identity_hint=hint)
    if kx.startswith("DHE") or kx == "DH_ANON":
        p = pull_opaque(buf, 2, "dh_p")
        pull_opaque(buf, 2, "dh_g")
        pull_opaque(buf, 2, "dh_Ys")
        sig = None
        if tls12 and not kx.endswith("PSK") and not buf.eof() and "ANON" not in kx:
            sig = buf.pull_uint16("SignatureAndHashAlgorithm")
        bits = len(p.lstrip(b"\x00")) * 8
        return ServerKeyExchange("dhe", dh_prime_bits=bits, signature_algorithm=sig, psk_identity_hint=hint)
    return ServerKeyExchange("other", psk_identity_hint=hint)


@dataclass
class CertificateRequest:
    certificate_types: list[int]
    signature_algorithms: list[int]


def pull_certificate_request(body: bytes, *, tls13: bool, tls12: bool) -> CertificateRequest:
    buf = Buffer(body)
    if tls13:
        pull_opaque(buf, 1, "certificate_request_context")
        ext = pull_extensions(buf, server=True)
        return CertificateRequest([], ext.signature_algorithms)
    types = list(pull_opaque(buf, 1, "certificate_types"))
    sigs = pull_uint16_list(buf, 2, "supported_signature_algorithms", MAX_LIST_ITEMS) if tls12 else []
    pull_block(buf, 2, "certificate_authorities")
    return CertificateRequest(types, sigs)


@dataclass
class NewSessionTicket:
    ticket_lifetime: int    # TLS 1.3 ticket_lifetime; before: ticket_lifetime_hint (RFC 5077 3.3, 0 = unspecified)
    ticket_length: int
    ticket: bytes = b""     # the opaque ticket (TLS 1.3: the PSK identity a resumption offers, RFC 8446 4.6.1)


def pull_new_session_ticket(body: bytes, *, tls13: bool) -> NewSessionTicket:
    """RFC 5077 3.3 (`uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>`) or RFC 8446 4.6.1
    (`uint32 ticket_lifetime; uint32 ticket_age_add; opaque ticket_nonce<0..255>; opaque
    ticket<1..2^16-1>; Extension extensions<0..2^16-2>`)."""
    buf = Buffer(body)
    lifetime = buf.pull_uint32("ticket_lifetime")
    if tls13:
        buf.pull_uint32("ticket_age_add")
        pull_opaque(buf, 1, "ticket_nonce")
    ticket = pull_opaque(buf, 2, "ticket")
    if tls13:
        pull_block(buf, 2, "extensions")
    return NewSessionTicket(lifetime, len(ticket), ticket)


@dataclass
class CertificateStatus:
    status_type: int
    response_length: int


def pull_certificate_status(body: bytes) -> CertificateStatus:
    buf = Buffer(body)
    status_type = buf.pull_uint8("status_type")
    response = pull_opaque(buf, 3, "OCSPResponse")
    return CertificateStatus(status_type, len(response))


@dataclass
class CertificateVerify:
    algorithm: int | None
    signature_length: int


def pull_certificate_verify(body: bytes, *, tls12: bool) -> CertificateVerify:
    buf = Buffer(body)
    alg = buf.pull_uint16("algorithm") if tls12 else None
    sig = pull_opaque(buf, 2, "signature")
    return CertificateVerify(alg, len(sig))


@dataclass
class ClientKeyExchange:
    body: bytes  # kept whole: its form depends on the key exchange (decryption reads it)


def pull_client_key_exchange(body: bytes) -> ClientKeyExchange:
    return ClientKeyExchange(bytes(body))


@dataclass
class Finished:
    verify_data: bytes


def pull_finished(body: bytes) -> Finished:
    return Finished(bytes(body))


@dataclass
class KeyUpdate:
    request_update: int


def pull_key_update(body: bytes) -> KeyUpdate:
    buf = Buffer(body)
    return KeyUpdate(buf.pull_uint8("request_update"))


def pull_empty(body: bytes, name: str) -> None:
    """HelloRequest, ServerHelloDone, EndOfEarlyData: an empty body."""
    if body:
        raise TLSDecodeError(f"{name}: {len(body)} unexpected bytes in an empty message")
