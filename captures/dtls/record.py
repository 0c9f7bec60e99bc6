"""Recorder of the DTLS sample captures: real OpenSSL and GnuTLS peers over loopback.

Owns: starting a DTLS server (`openssl s_server -listen`, `gnutls-serv --udp`) on
127.0.0.1, a client (`openssl s_client`, `gnutls-cli --udp`) that writes its key log
(`-keylogfile`, `SSLKEYLOGFILE`), capturing the datagrams with `tcpdump -i lo`, and
writing `MANIFEST.json`: per capture, what each connection is (versions, suite,
cookie exchange, fragmentation, expected outcome) as the peers were told to do it.
Every run is bounded (timeouts) and stops what it started.

Usage (as root, tcpdump needs it): ``python captures/dtls/record.py [--out DIR]``.
The certificate is the bundled `captures/server.crt` / `captures/server.key`.
Captures are not byte-deterministic: regenerating rewrites every file.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CAPTURES = HERE.parent
CERT = CAPTURES / "server.crt"
KEY = CAPTURES / "server.key"
KEYLOG_NAME = "keylog.txt"
SERVER_NAME = "server.test"
BASE_PORT = 24430
START_WAIT = 0.6          # seconds for a server or tcpdump to be ready
RUN_TIMEOUT = 15.0        # a client that does not finish by then is killed
CLIENT_DATA = b"hello over dtls\n"


@dataclass
class Conn:
    """One connection of a capture as it was set up (the facts the tests compare with)."""

    note: str
    client: str                  # openssl / gnutls
    server: str
    version: str                 # expected negotiated version ("" when the handshake fails)
    cipher_suite: str = ""
    hello_verify_request: bool = True
    fragmented: bool = False
    srtp_profiles_offered: list[str] = field(default_factory=list)
    srtp_profile: str = ""
    sni: str = ""
    failure: str = ""            # expected failure kind, "" for a complete handshake
    resumption: str = "none"
    alert: str = ""
    app_data_client: str = ""    # what the client wrote after the handshake


@dataclass
class Spec:
    name: str
    conns: list[Conn]
    server_cmd: list[str]
    client_cmd: list[str]
    client_env: dict[str, str] = field(default_factory=dict)
    client_input: bytes = CLIENT_DATA
    repeat: int = 1              # the same client run this many times (one conversation each)
    port: int = 0
    more_clients: list[list[str]] = field(default_factory=list)   # run after client_cmd, one conversation each


def _openssl_server(port: int, *extra: str) -> list[str]:
    return ["openssl", "s_server", "-listen", "-accept", f"127.0.0.1:{port}", "-cert", str(CERT),
            "-key", str(KEY), "-quiet", *extra]


def _openssl_client(port: int, keylog: Path, *extra: str) -> list[str]:
    return ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-keylogfile", str(keylog),
            "-servername", SERVER_NAME, "-quiet", "-timeout", *extra]


def specs(keylog: Path) -> list[Spec]:
    p = BASE_PORT
    out: list[Spec] = []

    def port() -> int:
        nonlocal p
        p += 1
        return p

    q = port()
    out.append(Spec("dtls12-aead.pcap", [Conn(
        "DTLS 1.2 ECDHE-RSA AES-128-GCM, cookie exchange, SNI, use_srtp, app data", "openssl", "openssl",
        "DTLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        srtp_profiles_offered=["SRTP_AES128_CM_HMAC_SHA1_80", "SRTP_AEAD_AES_128_GCM"],
        srtp_profile="SRTP_AES128_CM_HMAC_SHA1_80", sni=SERVER_NAME, app_data_client=CLIENT_DATA.decode())],
        _openssl_server(q, "-dtls1_2", "-use_srtp", "SRTP_AES128_CM_SHA1_80"),
        _openssl_client(q, keylog, "-dtls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256",
                        "-use_srtp", "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM")))
    q = port()
    out.append(Spec("dtls12-cbc.pcap", [Conn(
        "DTLS 1.2 ECDHE-RSA AES-256-CBC-SHA (encrypt-then-MAC), cookie exchange, app data", "openssl", "openssl",
        "DTLS 1.2", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", sni=SERVER_NAME,
        app_data_client=CLIENT_DATA.decode())],
        _openssl_server(q, "-dtls1_2"),
        _openssl_client(q, keylog, "-dtls1_2", "-cipher", "ECDHE-RSA-AES256-SHA")))
    q = port()
    out.append(Spec("dtls12-rsa-cbc-sha256.pcap", [Conn(
        "DTLS 1.2 RSA key exchange AES-128-CBC-SHA256, cookie exchange, app data", "openssl", "openssl",
        "DTLS 1.2", "TLS_RSA_WITH_AES_128_CBC_SHA256", sni=SERVER_NAME, app_data_client=CLIENT_DATA.decode())],
        _openssl_server(q, "-dtls1_2"),
        _openssl_client(q, keylog, "-dtls1_2", "-cipher", "AES128-SHA256")))
    q = port()
    out.append(Spec("dtls10.pcap", [Conn(
        "DTLS 1.0 ECDHE-RSA AES-128-CBC-SHA, cookie exchange, app data", "openssl", "openssl",
        "DTLS 1.0", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", sni=SERVER_NAME, app_data_client=CLIENT_DATA.decode())],
        _openssl_server(q, "-dtls1", "-cipher", "DEFAULT:@SECLEVEL=0"),
        _openssl_client(q, keylog, "-dtls1", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0")))
    q = port()
    out.append(Spec("dtls12-mtu400.pcap", [Conn(
        "DTLS 1.2 with MTU 400 on both sides: fragmented handshake messages (Certificate), cookie exchange",
        "openssl", "openssl", "DTLS 1.2", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", fragmented=True,
        sni=SERVER_NAME, app_data_client=CLIENT_DATA.decode())],
        _openssl_server(q, "-dtls1_2", "-mtu", "400"),
        _openssl_client(q, keylog, "-dtls1_2", "-mtu", "400", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305")))
    q = port()
    out.append(Spec("dtls12-alert.pcap", [Conn(
        "DTLS 1.2, no shared cipher: the server answers the cookied ClientHello with a handshake_failure alert",
        "openssl", "openssl", "", failure="alert", alert="handshake_failure", sni=SERVER_NAME)],
        _openssl_server(q, "-dtls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"),
        _openssl_client(q, keylog, "-dtls1_2", "-cipher", "ECDHE-RSA-AES128-SHA")))
    q = port()
    out.append(Spec("dtls12-no-response.pcap", [Conn(
        "DTLS 1.2 ClientHello to a port nobody listens on (ICMP port unreachable)", "openssl", "none", "",
        hello_verify_request=False, failure="no_response", sni=SERVER_NAME)],
        [], _openssl_client(q, keylog, "-dtls1_2"), client_input=b""))
    q = port()
    gnutls_conn = Conn("GnuTLS DTLS 1.2 client and server, cookie exchange, app data", "gnutls", "gnutls",
                       "DTLS 1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", sni=SERVER_NAME,
                       app_data_client=CLIENT_DATA.decode())
    out.append(Spec("dtls12-gnutls.pcap", [gnutls_conn],
        ["gnutls-serv", "--udp", "-p", str(q), "--x509certfile", str(CERT), "--x509keyfile", str(KEY),
         "--echo", "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2"],
        ["gnutls-cli", "--udp", "-p", str(q), "--insecure", "--sni-hostname", SERVER_NAME,
         "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+AES-256-GCM", "127.0.0.1"],
        client_env={"SSLKEYLOGFILE": str(keylog)}))
    q = port()
    out.append(Spec("dtls10-gnutls.pcap", [Conn(
        "GnuTLS DTLS 1.0 client to an OpenSSL DTLS 1.0 server, AES-128-CBC-SHA, cookie exchange",
        "gnutls", "openssl", "DTLS 1.0", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", sni=SERVER_NAME,
        app_data_client=CLIENT_DATA.decode())],
        _openssl_server(q, "-dtls1", "-cipher", "DEFAULT:@SECLEVEL=0"),
        ["gnutls-cli", "--udp", "-p", str(q), "--insecure", "--sni-hostname", SERVER_NAME,
         "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.0:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA1:%NO_ETM",
         "127.0.0.1"],
        client_env={"SSLKEYLOGFILE": str(keylog)}))
    q = port()
    out.append(Spec("dtls12-resume.pcap", [
        Conn("GnuTLS DTLS 1.2 full handshake (gnutls-cli --resume: first connection)", "gnutls", "gnutls",
             "DTLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", sni=SERVER_NAME),
        Conn("GnuTLS DTLS 1.2 resumption of the first connection (gnutls-cli --resume: second connection)",
             "gnutls", "gnutls", "DTLS 1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", sni=SERVER_NAME,
             app_data_client=CLIENT_DATA.decode(), resumption="ticket")],
        ["gnutls-serv", "--udp", "-p", str(q), "--x509certfile", str(CERT), "--x509keyfile", str(KEY),
         "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2"],
        ["gnutls-cli", "--udp", "-p", str(q), "--insecure", "--sni-hostname", SERVER_NAME, "--resume",
         "--priority", "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+AES-128-GCM", "127.0.0.1"],
        client_env={"SSLKEYLOGFILE": str(keylog)}))
    for spec in out:
        spec.port = int(next(a for a in spec.client_cmd if a.isdigit() or a.startswith("127.0.0.1:")).split(":")[-1])
    return out


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def record(spec: Spec, out: Path, keylog: Path) -> None:
    port = str(spec.port)
    pcap = out / spec.name
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", str(pcap), "udp", "port", port, "or",
                             "icmp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = None
    try:
        time.sleep(START_WAIT)
        if spec.server_cmd:
            server = subprocess.Popen(spec.server_cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(START_WAIT)
        for cmd in [spec.client_cmd] * spec.repeat + spec.more_clients:
            env = dict(os.environ, **spec.client_env)
            client = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, env=env)
            try:
                time.sleep(1.0)
                if spec.client_input:
                    client.stdin.write(spec.client_input)  # type: ignore[union-attr]
                    client.stdin.flush()  # type: ignore[union-attr]
                time.sleep(1.0)
                client.stdin.close()  # type: ignore[union-attr]
                client.wait(timeout=RUN_TIMEOUT)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                pass
            finally:
                _stop(client)
                time.sleep(START_WAIT * 3)   # the server re-opens its socket after each connection
        time.sleep(0.5)
    finally:
        _stop(server)
        time.sleep(0.3)
        _stop(dump)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--only", action="append", default=[], help="record only these capture names")
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    keylog = out / KEYLOG_NAME
    manifest_path = out / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() and args.only else {}
    files = manifest.setdefault("files", {})
    manifest["recorder"] = "captures/dtls/record.py"
    manifest["keylog"] = KEYLOG_NAME
    manifest["openssl"] = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    manifest["gnutls"] = subprocess.run(["gnutls-cli", "--version"], capture_output=True,
                                        text=True).stdout.splitlines()[0]
    if not args.only and keylog.exists():
        keylog.unlink()
    for spec in specs(keylog):
        if args.only and spec.name not in args.only:
            continue
        print(f"recording {spec.name}", file=sys.stderr)
        record(spec, out, keylog)
        files[spec.name] = {"connections": [asdict(c) for c in spec.conns]}
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
