"""Make the TLS 1.2 PSK sample captures: OpenSSL's s_server and s_client over 127.0.0.1, captured by tcpdump.

Each scenario runs `openssl s_server -psk HEX -psk_identity ID -psk_hint HINT -nocert -tls1_2
-cipher SUITE -rev -naccept 1` on a loopback port, `tcpdump -i lo` on that port, and
`openssl s_client -psk HEX -psk_identity ID -tls1_2 -cipher SUITE -keylogfile keylog.txt`
sending one line (the server answers it reversed). Writes `<name>.pcap`, `keylog.txt` (the
client's key log: one CLIENT_RANDOM line per connection) and `MANIFEST.json` (suite, identity,
hint, pre-shared key, client random, plaintext) into this folder. The keys are test material.

Run as root (tcpdump): `python captures/psk/generate.py`. Not byte-deterministic (randoms,
timestamps), so only run it to add scenarios; the tests read the committed files.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYLOG = HERE / "keylog.txt"
HOST = "127.0.0.1"
FIRST_PORT = 45101
STARTUP_TIMEOUT = 10.0     # seconds to wait for tcpdump / s_server to be ready
RUN_TIMEOUT = 20.0         # seconds a client may take
SETTLE = 0.5               # seconds for the last packets to reach tcpdump

# name, cipher suite (OpenSSL name), identity, psk (hex), hint, client message
SCENARIOS = [
    ("psk-aes128-gcm", "PSK-AES128-GCM-SHA256", "client1", "1a2b3c4d5e6f708192a3b4c5d6e7f801", "lab-hint",
     "hello from the psk client\n"),
    ("psk-aes256-cbc", "PSK-AES256-CBC-SHA384", "sensor-07", "00112233445566778899aabbccddeeff0011223344556677",
     "", "temperature=21.5C humidity=40%\n"),
    ("psk-chacha20", "PSK-CHACHA20-POLY1305", "gateway-b", "deadbeefcafef00d", "iot-lab", "ping over chacha\n"),
    ("ecdhe-psk-aes128-cbc", "ECDHE-PSK-AES128-CBC-SHA256", "client1", "1a2b3c4d5e6f708192a3b4c5d6e7f801",
     "lab-hint", "ephemeral and pre-shared\n"),
]


def _wait_for(proc: subprocess.Popen, marker: bytes, stream_name: str) -> None:
    stream = getattr(proc, stream_name)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    seen = b""
    os.set_blocking(stream.fileno(), False)
    while time.monotonic() < deadline:
        chunk = stream.read() or b""
        seen += chunk
        if marker in seen:
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"{proc.args[0]} did not get ready: {seen[-500:]!r}")


def run_scenario(port: int, name: str, suite: str, identity: str, psk: str, hint: str, message: str) -> dict:
    pcap = HERE / f"{name}.pcap"
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "-w", str(pcap), "-s", "0", f"tcp port {port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = client = None
    try:
        _wait_for(dump, b"listening on", "stderr")
        cmd = ["openssl", "s_server", "-accept", f"{HOST}:{port}", "-naccept", "1", "-psk", psk,
               "-psk_identity", identity, "-nocert", "-tls1_2", "-cipher", suite, "-rev"]
        if hint:
            cmd += ["-psk_hint", hint]
        server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        _wait_for(server, b"ACCEPT", "stdout")
        client = subprocess.Popen(["openssl", "s_client", "-connect", f"{HOST}:{port}", "-psk", psk,
                                   "-psk_identity", identity, "-tls1_2", "-cipher", suite,
                                   "-keylogfile", str(KEYLOG), "-quiet", "-no_ign_eof"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert client.stdin is not None
        client.stdin.write(message.encode())
        client.stdin.flush()
        time.sleep(1.0)                  # the answer comes back before the client closes (communicate closes stdin)
        out, err = client.communicate(timeout=RUN_TIMEOUT)
        server.wait(timeout=RUN_TIMEOUT)
        time.sleep(SETTLE)
    finally:
        for proc in (client, server):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=RUN_TIMEOUT)
    answer = message.rstrip("\n")[::-1] + "\n"
    if answer.encode() not in out:
        raise RuntimeError(f"{name}: the server's answer did not arrive: {out!r} {err[-300:]!r}")
    data = pcap.read_bytes()
    return {
        "cipher_suite": suite, "psk_identity": identity, "psk": psk, "psk_identity_hint": hint,
        "server": [HOST, port], "client_message": message, "server_answer": answer,
        "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
    }


def main() -> int:
    if KEYLOG.exists():
        KEYLOG.unlink()
    files = {}
    for i, (name, suite, identity, psk, hint, message) in enumerate(SCENARIOS):
        files[f"{name}.pcap"] = run_scenario(FIRST_PORT + i, name, suite, identity, psk, hint, message)
    version = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    lines = KEYLOG.read_text().splitlines()
    manifest = {
        "generator": "captures/psk/generate.py",
        "openssl": version,
        "tcpdump": subprocess.run(["tcpdump", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        "keylog": KEYLOG.name,
        "keylog_lines": len([ln for ln in lines if ln and not ln.startswith("#")]),
        "files": files,
    }
    (HERE / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(files)} captures and {KEYLOG.name} to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
