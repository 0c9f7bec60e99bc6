"""Recorder of real OpenSSL STARTTLS clients (script): `openssl s_client -starttls PROTO` against
a small Python server on 127.0.0.1, captured with tcpdump on the loopback interface.

Owns, per protocol OpenSSL's client speaks (smtp, lmtp, pop3, imap, ftp, nntp, sieve, irc,
xmpp, xmpp-server, postgres, mysql, ldap), a server that answers the plaintext exchange the
way the protocol's RFC says, then runs TLS with the PKI of `captures/` (Python's `ssl`),
reads one line of application data and answers it. Each run writes `openssl-PROTO.pcap`
and appends the client's secrets to `openssl-keylog.txt` (`-keylogfile`); `openssl.json`
lists port, protocol and the bytes exchanged. Ports are above 20000, so that recognition
cannot lean on them.

Usage (as root, tcpdump and openssl installed): ``python captures/upgrade/record_openssl.py``.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from captures.upgrade.generate import (  # noqa: E402
    ldap_extended_response, mysql_greeting, XMPP_TLS,
)

PKI = HERE.parent
KEYLOG = HERE / "openssl-keylog.txt"
BASE_PORT = 20025
TIMEOUT = 10.0
MESSAGE_C2S = b"hello from openssl s_client\n"
MESSAGE_S2C = b"hello from the python server\n"


def _line(sock: socket.socket) -> bytes:
    out = b""
    while not out.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        out += b
    return out


def _exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        b = sock.recv(n - len(out))
        if not b:
            break
        out += b
    return out


def _until(sock: socket.socket, marker: bytes) -> bytes:
    out = b""
    while marker not in out:
        b = sock.recv(1)
        if not b:
            break
        out += b
    return out


def smtp(sock: socket.socket, lmtp: bool = False) -> None:
    sock.sendall(b"220 lmtp.server.test LMTP ready\r\n" if lmtp else b"220 mail.server.test ESMTP ready\r\n")
    _line(sock)  # EHLO / LHLO
    sock.sendall(b"250-mail.server.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
    _line(sock)  # STARTTLS
    sock.sendall(b"220 2.0.0 Ready to start TLS\r\n")


def pop3(sock: socket.socket) -> None:
    sock.sendall(b"+OK POP3 ready\r\n")
    _line(sock)
    sock.sendall(b"+OK Begin TLS negotiation\r\n")


def imap(sock: socket.socket) -> None:
    sock.sendall(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n")
    tag = _line(sock).split(b" ", 1)[0]  # CAPABILITY
    sock.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n" + tag + b" OK done\r\n")
    tag = _line(sock).split(b" ", 1)[0]  # STARTTLS
    sock.sendall(tag + b" OK Begin TLS negotiation now\r\n")


def ftp(sock: socket.socket) -> None:
    sock.sendall(b"220 FTP server ready\r\n")
    _line(sock)
    sock.sendall(b"234 AUTH TLS successful\r\n")


def nntp(sock: socket.socket) -> None:
    sock.sendall(b"200 news.server.test NNTP ready\r\n")
    _line(sock)  # CAPABILITIES
    sock.sendall(b"101 Capability list:\r\nVERSION 2\r\nREADER\r\nSTARTTLS\r\n.\r\n")
    _line(sock)  # STARTTLS
    sock.sendall(b"382 Continue with TLS negotiation\r\n")


def sieve(sock: socket.socket) -> None:
    sock.sendall(b'"IMPLEMENTATION" "test sieve"\r\n"SASL" ""\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\nOK\r\n')
    _line(sock)
    sock.sendall(b'OK "Begin TLS negotiation now"\r\n')


def irc(sock: socket.socket) -> None:
    # no NOTICE first: OpenSSL's client reads every line as "prefix numeric" and gives up otherwise
    _line(sock)  # STARTTLS
    sock.sendall(b":irc.server.test 670 * :STARTTLS successful, proceed with TLS handshake\r\n")


def xmpp(sock: socket.socket, ns: bytes = b"jabber:client") -> None:
    _until(sock, b">")  # the stream head (s_client sends no XML declaration)
    sock.sendall(b"<?xml version='1.0'?><stream:stream xmlns='" + ns + b"' xmlns:stream="
                 b"'http://etherx.jabber.org/streams' id='x1' from='server.test' version='1.0'>"
                 b"<stream:features><starttls xmlns='" + XMPP_TLS + b"'><required/></starttls></stream:features>")
    _until(sock, b"/>")  # <starttls/>
    sock.sendall(b"<proceed xmlns='" + XMPP_TLS + b"'/>")


def postgres(sock: socket.socket) -> None:
    _exact(sock, 8)
    sock.sendall(b"S")


def mysql(sock: socket.socket) -> None:
    sock.sendall(mysql_greeting())
    head = _exact(sock, 4)
    _exact(sock, int.from_bytes(head[:3], "little"))


def ldap(sock: socket.socket) -> None:
    first = _exact(sock, 2)
    n = first[1]
    body = _exact(sock, n)
    message_id = body[2]
    sock.sendall(ldap_extended_response(message_id, 0))


SERVERS: dict[str, tuple[str, Callable[[socket.socket], None], str | None]] = {
    # s_client -starttls name: (plaintext_protocol, server, tshark dissector)
    "smtp": ("smtp", smtp, "smtp"),
    "lmtp": ("lmtp", lambda s: smtp(s, lmtp=True), None),
    "pop3": ("pop3", pop3, "pop"),
    "imap": ("imap", imap, "imap"),
    "ftp": ("ftp", ftp, "ftp"),
    "nntp": ("nntp", nntp, None),
    "sieve": ("sieve", sieve, None),
    "irc": ("irc", irc, None),
    "xmpp": ("xmpp", xmpp, "xmpp"),
    "xmpp-server": ("xmpp", lambda s: xmpp(s, b"jabber:server"), "xmpp"),
    "postgres": ("postgres", postgres, "pgsql"),
    "mysql": ("mysql", mysql, "mysql"),
    "ldap": ("ldap", ldap, "ldap"),
}


def serve_once(listener: socket.socket, preamble: Callable[[socket.socket], None], errors: list[str]) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(PKI / "server-chain.crt"), str(PKI / "server.key"))
    try:
        conn, _ = listener.accept()
        conn.settimeout(TIMEOUT)
        preamble(conn)
        tls = ctx.wrap_socket(conn, server_side=True)
        got = _line(tls)
        if got != MESSAGE_C2S:
            errors.append(f"server read {got!r}")
        tls.sendall(MESSAGE_S2C)
        time.sleep(0.2)
        tls.close()
    except (OSError, ssl.SSLError) as e:
        errors.append(f"server: {e}")


def record(name: str, port: int) -> dict[str, object]:
    proto, preamble, dissector = SERVERS[name]
    out = HERE / f"openssl-{name}.pcap"
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    listener.settimeout(TIMEOUT)
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(out), f"tcp port {port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    errors: list[str] = []
    try:
        time.sleep(1.0)
        t = threading.Thread(target=serve_once, args=(listener, preamble, errors))
        t.start()
        client = subprocess.Popen(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", name, "-servername", "server.test",
             "-keylogfile", str(KEYLOG), "-CAfile", str(PKI / "ca.crt"), "-brief", "-ign_eof"]
            + (["-xmpphost", "server.test"] if name.startswith("xmpp") else []),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.8)
        client.stdin.write(MESSAGE_C2S)  # type: ignore[union-attr]
        client.stdin.flush()  # type: ignore[union-attr]
        t.join(TIMEOUT)
        time.sleep(0.3)
        try:
            stdout, stderr = client.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            client.kill()
            stdout, stderr = client.communicate()
        time.sleep(0.5)
    finally:
        dump.terminate()
        dump.wait(TIMEOUT)
        listener.close()
    version = next((ln.split(":", 1)[1].strip() for ln in stderr.decode(errors="replace").splitlines()
                    if ln.startswith("Protocol version")), None)
    cipher = next((ln.split(":", 1)[1].strip() for ln in stderr.decode(errors="replace").splitlines()
                   if ln.startswith("Ciphersuite")), None)
    return {"file": out.name, "starttls": name, "protocol": proto, "port": port, "tshark_dissector": dissector,
            "openssl_version": version, "openssl_cipher": cipher, "server_errors": errors,
            "received_by_client": MESSAGE_S2C.decode() if MESSAGE_S2C in stdout else None,
            "plaintext": {"c2s": MESSAGE_C2S.hex(), "s2c": MESSAGE_S2C.hex()}}


def main() -> int:
    if KEYLOG.exists():
        KEYLOG.unlink()
    results = {}
    for i, name in enumerate(SERVERS):
        results[name] = record(name, BASE_PORT + i)
        sys.stderr.write(f"{name}: {results[name]['openssl_version']} {results[name]['server_errors']}\n")
    os.chmod(KEYLOG, 0o644)
    (HERE / "openssl.json").write_text(json.dumps({"recorder": "captures/upgrade/record_openssl.py",
                                                   "openssl": subprocess.run(["openssl", "version"], capture_output=True,
                                                                             text=True).stdout.strip(),
                                                   "keylog": KEYLOG.name, "files": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
