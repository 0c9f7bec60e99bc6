"""The `inventory` command: its facts recomputed from the Parquet table, the CycloneDX 1.6 CBOM against
the schema, post-quantum marking on real hybrid captures (tshark's key_share group as the oracle),
certificate days left at the capture's time, hostile wire strings in every format, exit codes, and the
report page's Inventory section.

Inputs are the bundled sample captures (with their key log) and the real third-party captures in
`../shared/captures` (FoxIO JA4, Suricata, Zeek's post-quantum traces, DTLS 1.3).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from analyzer.report import cbom as cbom_mod
from analyzer.report import inventory as inv_mod
from captures.generate import client_context, frames_for, pki_at, server_context, tls_conversation, write_pcap

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
KEYLOG = CAPTURES / "keylog.txt"
SHARED = ROOT.parent / "shared" / "captures"
PQ = SHARED / "pq"
KYBER_TCP = PQ / "chrome-1250-tls-x25519-kyber.pcap"
MLKEM_QUIC = PQ / "quic-decrypt-fail-google-de-51833.pcap"
CLIENT_AUTH = SHARED / "suricata" / "tls-store-02" / "tls-client-auth.pcap"

# Written down here, not taken from the registry, so the counts below are checked independently.
PQ_HYBRIDS = {"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "curveSM2MLKEM768",
              "X25519Kyber768Draft00", "SecP256r1Kyber768Draft00", "X25519Kyber512Draft00",
              "X25519Kyber768Draft00Old", "P256Kyber768Draft00", "CECPQ2", "p256_kyber512", "p384_kyber768",
              "p521_kyber1024", "p256_kyber90s512", "p384_kyber90s768", "p521_kyber90s1024"}
PQ_KEMS = {"MLKEM512", "MLKEM768", "MLKEM1024", "kyber512", "kyber768", "kyber1024", "kyber90s512", "kyber90s768",
           "kyber90s1024"}
FS_SUITE = re.compile(r"^TLS_(?:(?:EC)?DHE_|(?:EC)?DH_anon_|PSK_DHE_)")
CLIENT_RULES = {"weak-version-offered", "heartbeat-offered"}

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/captures not present")
pytestmark = [needs_shared, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, cwd=ROOT,
                       timeout=600)
    if check:
        assert r.returncode == 0, (args, r.stderr[-2000:])
    return r


def tshark(*args: str) -> list[list[str]]:
    r = subprocess.run(["tshark", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines()]


INPUTS = [str(CAPTURES), str(SHARED), "--keylog", str(KEYLOG)]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("inv") / "connections.parquet"
    cli("connections", *INPUTS, "-f", "parquet", "-o", str(path), "-q")
    return pd.read_parquet(path)


@pytest.fixture(scope="module")
def inventory() -> dict:
    return json.loads(cli("inventory", *INPUTS, "-f", "json", "-q").stdout)


def _endpoint(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _values(series: pd.Series) -> dict[str, int]:
    return {str(k): int(n) for k, n in series.dropna().value_counts().items()}


# --------------------------------------------------------------------------- counts against the Parquet table


def test_totals_recomputed_from_parquet(table: pd.DataFrame, inventory: dict) -> None:
    tls = table[table["is_tls"].fillna(False)]
    negotiated = tls[tls["version"].notna() & tls["cipher_suite_code"].notna()]
    v13 = negotiated["version"].str.startswith("TLS 1.3") | (negotiated["version"] == "DTLS 1.3")
    fs = (v13 & negotiated["group"].notna()) | (~v13 & negotiated["cipher_suite"].fillna("").str.match(FS_SUITE))
    pq = negotiated["group"].isin(PQ_HYBRIDS | PQ_KEMS)
    t = inventory["totals"]
    assert t["connections"] == len(tls)
    assert t["negotiated"] == len(negotiated)
    assert t["tls13"] == int(v13.sum())
    assert t["forward_secrecy"] == int(fs.sum())
    assert t["post_quantum"] == int(pq.sum()) >= 2          # the two real hybrid captures at least
    assert t["post_quantum_hybrid"] == int(negotiated["group"].isin(PQ_HYBRIDS).sum())
    assert t["post_quantum_share"] == round(pq.sum() / len(negotiated), 4)
    assert t["servers"] == tls.groupby(["server_ip", "server_port"]).ngroups
    assert t["client_fingerprints"] == tls["ja4"].nunique()
    assert t["certificates"] == tls["cert_sha256"].nunique()


def test_servers_recomputed_from_parquet(table: pd.DataFrame, inventory: dict) -> None:
    tls = table[table["is_tls"].fillna(False)]
    servers = {s["server"]: s for s in inventory["servers"]}
    assert len(servers) == len(inventory["servers"])
    checked = 0
    for (ip, port), g in tls.groupby(["server_ip", "server_port"]):
        s = servers[_endpoint(ip, int(port))]
        assert s["connections"] == len(g)
        assert s["complete"] == int(g["handshake_complete"].fillna(False).sum())
        assert s["versions"] == _values(g["version"])
        assert s["cipher_suites"] == _values(g["cipher_suite"])
        assert {x["name"]: x["connections"] for x in s["groups"]} == _values(g["group"])
        assert s["signature_algorithms"] == _values(g["server_signature_algorithm"])
        assert s["sni"] == _values(g["sni"].replace("", None))
        assert s["alpn"] == _values(g["alpn"].replace("", None))
        assert {c["sha256"]: c["connections"] for c in s["certificates"]} == _values(g["cert_sha256"])
        for c in s["certificates"]:
            rows = g[g["cert_sha256"] == c["sha256"]]
            assert c["subject"] == rows["cert_subject"].iloc[0] and c["key_bits"] == rows["cert_key_bits"].iloc[0]
        assert s["transports"] == _values(g["transport"])
        resumed = g[g["resumed"].fillna(False)]
        assert s["resumption"]["resumed"] == _values(resumed["resumption"])
        assert s["resumption"]["tickets_issued"] == int(g["ticket_issued"].fillna(False).sum())
        for x in s["groups"]:
            want = "hybrid" if x["name"] in PQ_HYBRIDS else "kem" if x["name"] in PQ_KEMS else None
            assert x["post_quantum"] == want, x
        checked += 1
    assert checked == len(servers) > 50


def test_server_findings_are_the_audits(inventory: dict) -> None:
    """Weak findings are the audit's: the same rules on the same connections, counted per server."""
    r = cli("audit", *INPUTS, "-f", "json", "-q", "--fail-on", "never")
    want: Counter[tuple[str, str]] = Counter()
    for f in json.loads(r.stdout):
        if f["rule"] not in CLIENT_RULES and f["rule"] not in ("plaintext-without-starttls", "starttls-refused"):
            want[(f["server"], f["rule"])] += 1
    got = Counter({(s["server"], f["rule"]): f["connections"] for s in inventory["servers"] for f in s["findings"]})
    assert got == want and sum(want.values()) > 10


def test_clients_recomputed_from_parquet(table: pd.DataFrame, inventory: dict) -> None:
    tls = table[table["is_tls"].fillna(False) & table["ja4"].notna()]
    clients = {c["ja4"]: c for c in inventory["clients"]}
    assert set(clients) == set(tls["ja4"])
    for ja4, g in tls.groupby("ja4"):
        c = clients[ja4]
        assert c["connections"] == len(g)
        versions: Counter[str] = Counter()
        for vs in g["client_versions"]:
            versions.update({v for v in vs if not v.startswith("GREASE")})
        assert c["versions_offered"] == dict(versions)
        assert c["post_quantum_key_share"] == sum(
            bool(set(ks) & (PQ_HYBRIDS | PQ_KEMS)) for ks in g["key_share_groups"])
        servers = Counter(_endpoint(ip, int(p)) for ip, p in zip(g["server_ip"], g["server_port"]))
        assert c["servers"] == dict(servers)
        weak = {w["suite"] for w in c["weak_suites_offered"]}
        offered = {s for ss in g["cipher_suites_offered"] for s in ss}
        assert weak <= offered
        for w in c["weak_suites_offered"]:   # the audit's suite rules, recognisable from the names
            assert w["rules"] and (("no-forward-secrecy" in w["rules"]) == bool(re.match(
                r"^(TLS|SSL)_(RSA|RSA_FIPS|DH_DSS|DH_RSA|ECDH_ECDSA|ECDH_RSA|PSK|RSA_PSK|KRB5)"
                r"(_EXPORT1024|_EXPORT)?_WITH_",
                w["suite"]))), w
    pq_clients = [c for c in clients.values() if c["post_quantum_key_share"]]
    assert {c["ja4"] for c in pq_clients} >= {"t13d1516h2_8daaf6152771_02713d6af862",
                                              "q13d0313h3_55b375c5d22e_226f3f127bbe"}


def test_certificates_recomputed_from_parquet(table: pd.DataFrame, inventory: dict) -> None:
    tls = table[table["is_tls"].fillna(False) & table["cert_sha256"].notna()]
    certs = {c["sha256"]: c for c in inventory["certificates"]}
    assert set(certs) == set(tls["cert_sha256"])
    expiring = expired = 0
    for sha, g in tls.groupby("cert_sha256"):
        c = certs[sha]
        last = g["start_time"].max()
        not_after = g["cert_not_after"].iloc[0]
        left = (not_after - last).total_seconds()
        assert c["connections"] == len(g)
        assert c["subject"] == g["cert_subject"].iloc[0] and c["issuer"] == g["cert_issuer"].iloc[0]
        assert c["days_left"] == math.floor(left / 86400)
        assert c["expired"] == (left < 0)
        assert c["expiring_30d"] == (0 <= left <= 30 * 86400)
        expiring += c["expiring_30d"]
        expired += c["expired"]
    assert inventory["totals"]["certificates_expiring_30d"] == expiring >= 1
    assert inventory["totals"]["certificates_expired"] == expired >= 1


def test_resumption_attempt_column_is_used_when_present(table: pd.DataFrame) -> None:
    """With part 1's `resumption_attempt` column the attempt counts come from it, not from the offer columns."""
    tls = table[table["is_tls"].fillna(False)].copy()
    plain = inv_mod.build_inventory(tls).to_dict()
    tls["resumption_attempt"] = "refused"
    tls.loc[tls["resumed"].fillna(False), "resumption_attempt"] = "accepted"
    marked = inv_mod.build_inventory(tls).to_dict()
    for a, b in zip(plain["servers"], marked["servers"]):
        assert b["resumption"]["offered"] == b["connections"]
        assert b["resumption"]["refused"] == b["connections"] - sum(b["resumption"]["resumed"].values())
        assert a["resumption"]["offered"] <= a["connections"]
    assert sum(s["resumption"]["refused"] for s in plain["servers"]) < sum(
        s["resumption"]["refused"] for s in marked["servers"])


def test_resumed_sample_connections() -> None:
    inv = json.loads(cli("inventory", str(CAPTURES / "tls12-resume.pcap"), str(CAPTURES / "tls12-ticket-resume.pcap"),
                         str(CAPTURES / "tls13-resume.pcapng"), "-f", "json", "-q").stdout)
    kinds: Counter[str] = Counter()
    for s in inv["servers"]:
        kinds.update(s["resumption"]["resumed"])
    assert kinds["session_id"] >= 1 and kinds["ticket"] >= 1 and kinds["psk"] >= 1


# --------------------------------------------------------------------------- post-quantum on real captures


def _tshark_server_groups(path: Path) -> list[int]:
    """key_share group of every ServerHello tshark decodes (also inside QUIC Initial packets)."""
    out = []
    for f in tshark("-r", str(path), "-T", "fields", "-e", "tls.handshake.type",
                    "-e", "tls.handshake.extensions_key_share_group"):
        types = f[0].split(",") if f[0] else []
        if "2" in types and f[1]:
            out.append(int(f[1].split(",")[types.index("2")] if len(f[1].split(",")) == len(types) else f[1], 0))
    return out


@pytest.mark.parametrize("path,name,code", [(KYBER_TCP, "X25519Kyber768Draft00", 0x6399),
                                           (MLKEM_QUIC, "X25519MLKEM768", 0x11EC)])
def test_post_quantum_marking_matches_tshark(path: Path, name: str, code: int) -> None:
    from analyzer.tls.registry import NAMED_GROUP_NAMES

    assert _tshark_server_groups(path) == [code]       # what the ServerHello chose, as tshark reads it
    assert NAMED_GROUP_NAMES[code] == name
    inv = json.loads(cli("inventory", str(path), "-f", "json", "-q").stdout)
    [server] = inv["servers"]
    assert server["groups"] == [{"name": name, "connections": 1, "post_quantum": "hybrid"}]
    assert inv["totals"]["post_quantum_hybrid"] == inv["totals"]["negotiated"] == 1
    [client] = inv["clients"]
    assert client["post_quantum_key_share"] == 1 and name in client["post_quantum_groups_offered"]
    doc = json.loads(cli("inventory", str(path), "-f", "cyclonedx", "-q").stdout)
    [group] = [c for c in cbom_mod.algorithms_of(doc) if c["name"] == name]
    props = group["cryptoProperties"]["algorithmProperties"]
    assert props["primitive"] == "kem" and props["nistQuantumSecurityLevel"] == 3
    assert {"name": "handshake-analyzer:post-quantum", "value": "hybrid"} in group["properties"]


def test_registry_kyber_code_points_have_tsharks_names() -> None:
    """The Open Quantum Safe Kyber code points tshark 4.0 names are named alike, and every post-quantum
    group is a named group."""
    from analyzer.tls.registry import NAMED_GROUP_NAMES, POST_QUANTUM_GROUPS

    r = subprocess.run(["tshark", "-G", "values"], capture_output=True, text=True, timeout=120)
    theirs = {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if len(f) == 4 and f[1] == "tls.handshake.extensions_supported_group" and "kyber" in f[3].lower():
            theirs[int(f[2], 16)] = f[3]
    assert len(theirs) >= 12
    for code, name in theirs.items():
        assert NAMED_GROUP_NAMES[code] == name and code in POST_QUANTUM_GROUPS
    assert set(POST_QUANTUM_GROUPS) <= set(NAMED_GROUP_NAMES)
    named = {NAMED_GROUP_NAMES[c] for c in POST_QUANTUM_GROUPS}
    assert named == PQ_HYBRIDS | PQ_KEMS
    assert {NAMED_GROUP_NAMES[c] for c, g in POST_QUANTUM_GROUPS.items() if g.kind == "hybrid"} == PQ_HYBRIDS


# --------------------------------------------------------------------------- certificates at the capture's time


def _tshark_leaf_not_after(path: Path) -> tuple[dt.datetime, float]:
    """(notAfter of the first certificate the server sent, time of the connection's first frame)."""
    first = float(tshark("-r", str(path), "-c", "1", "-T", "fields", "-e", "frame.time_epoch")[0][0])
    rows = tshark("-r", str(path), "-Y", "tls.handshake.type == 11", "-T", "fields", "-e", "x509af.utcTime",
                  "-e", "x509af.generalizedTime")
    times = (rows[0][0] or rows[0][1]).split(",")
    not_after = dt.datetime.strptime(times[1].replace(" (UTC)", ""), "%Y-%m-%d %H:%M:%S")
    return not_after.replace(tzinfo=dt.timezone.utc), first


def test_days_left_at_the_capture_time_not_today() -> None:
    not_after, t = _tshark_leaf_not_after(CLIENT_AUTH)
    want = math.floor((not_after.timestamp() - t) / 86400)
    inv = json.loads(cli("inventory", str(CLIENT_AUTH), "-f", "json", "-q").stdout)
    [cert] = inv["certificates"]
    assert cert["not_after"] == not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cert["days_left"] == want == 27
    assert cert["expiring_30d"] and not cert["expired"]
    today = math.floor((not_after - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86400)
    assert today < 0 and cert["days_left"] != today          # expired long ago, but not at the capture
    assert inv["totals"]["certificates_expiring_30d"] == 1
    doc = json.loads(cli("inventory", str(CLIENT_AUTH), "-f", "cyclonedx", "-q").stdout)
    [c] = [c for c in doc["components"] if c["cryptoProperties"]["assetType"] == "certificate"]
    assert {"name": "handshake-analyzer:days-left-at-capture", "value": "27"} in c["properties"]
    assert c["cryptoProperties"]["certificateProperties"]["notValidAfter"] == cert["not_after"]


# --------------------------------------------------------------------------- CycloneDX


def test_cbom_is_valid_cyclonedx_1_6(tmp_path: Path) -> None:
    out = tmp_path / "cbom.json"
    cli("inventory", *INPUTS, "-f", "cyclonedx", "-o", str(out), "-q")
    text = out.read_text(encoding="utf-8")
    assert cbom_mod.validate(text) is None
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6" and doc["bomFormat"] == "CycloneDX"
    comps = doc["components"]
    refs = {c["bom-ref"] for c in comps}
    assert len(refs) == len(comps)
    kinds = Counter(c["cryptoProperties"]["assetType"] for c in comps)
    assert kinds["protocol"] >= 4 and kinds["algorithm"] >= 20 and kinds["certificate"] >= 10
    assert all(c["type"] == "cryptographic-asset" for c in comps)
    for c in comps:   # every reference points at a component of the document
        cp = c["cryptoProperties"]
        pp = cp.get("protocolProperties", {})
        suite_refs = [r for s in pp.get("cipherSuites", []) for r in s.get("algorithms", [])]
        for ref in suite_refs + pp.get("cryptoRefArray", []):
            assert ref in refs
        for k in ("signatureAlgorithmRef", "subjectPublicKeyRef"):
            if k in cp.get("certificateProperties", {}):
                assert cp["certificateProperties"][k] in refs
        for occ in c.get("evidence", {}).get("occurrences", []):
            assert re.fullmatch(r".+#((quic|dtls):)?\d+", occ["location"]), occ
    protocols = {c["name"]: c for c in comps if c["cryptoProperties"]["assetType"] == "protocol"}
    tls13 = protocols["TLS 1.3"]["cryptoProperties"]["protocolProperties"]
    assert tls13["type"] == "tls" and tls13["version"] == "1.3"
    aes = next(s for s in tls13["cipherSuites"] if s["name"] == "TLS_AES_128_GCM_SHA256")
    assert aes["identifiers"] == ["0x13", "0x01"]
    assert protocols["DTLS 1.2"]["cryptoProperties"]["protocolProperties"]["type"] == "other"


def test_cbom_occurrences_match_the_table(table: pd.DataFrame) -> None:
    """The protocol components' occurrences are exactly the connections that negotiated that version."""
    doc = json.loads(cli("inventory", *INPUTS, "-f", "cyclonedx", "-q").stdout)
    tls = table[table["is_tls"].fillna(False) & table["version"].notna() & table["cipher_suite_code"].notna()]
    for c in doc["components"]:
        if c["cryptoProperties"]["assetType"] != "protocol":
            continue
        g = tls[tls["version"] == c["name"]]
        # two files of one name are one capture (as in the rows): their equal locations are one occurrence
        want = sorted({(cap, int(s), t) for cap, s, t in zip(g["capture"], g["stream"], g["transport"])})
        got = [o["location"] for o in c["evidence"]["occurrences"]]
        assert got == [f"{cap}#{s}" if t == "tcp" else f"{cap}#{t}:{s}" for cap, s, t in want][:inv_mod.MAX_OCCURRENCES]
        assert {"name": "handshake-analyzer:connections", "value": str(len(g))} in c["properties"]


def test_cbom_is_deterministic(tmp_path: Path) -> None:
    a = cli("inventory", str(SHARED), "-f", "cyclonedx", "-q", "-j", "1").stdout
    b = cli("inventory", str(SHARED), "-f", "cyclonedx", "-q", "-j", "2").stdout
    assert a == b
    doc = json.loads(a)
    assert doc["serialNumber"].startswith("urn:uuid:")
    # the timestamp is the capture's (the last connection's start), not the run's
    assert doc["metadata"]["timestamp"] < dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")


def test_max_occurrences_is_crossed(table: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_OCCURRENCES a component keeps the first ones in (capture, stream) order, whatever order the
    rows came in, and still counts all."""
    monkeypatch.setattr(inv_mod, "MAX_OCCURRENCES", 3)
    tls = table[table["is_tls"].fillna(False)]
    docs = []
    for seed in (1, 2):
        shuffled = tls.sample(frac=1, random_state=seed)
        inv = inv_mod.build_inventory([shuffled.iloc[: len(shuffled) // 2], shuffled.iloc[len(shuffled) // 2:]])
        docs.append(cbom_mod.cbom(inv, version="test"))
    assert docs[0] == docs[1]
    [tls12] = [c for c in docs[0]["components"] if c["name"] == "TLS 1.2"]
    occ = tls12["evidence"]["occurrences"]
    g = tls[tls["version"] == "TLS 1.2"]
    assert len(g) > 3 and len(occ) == 3
    first = sorted({(cap, int(s)) for cap, s, t in zip(g["capture"], g["stream"], g["transport"])})[:3]
    assert [o["location"] for o in occ] == [f"{cap}#{s}" for cap, s in first]
    assert {"name": "handshake-analyzer:connections", "value": str(len(g))} in tls12["properties"]


# --------------------------------------------------------------------------- the server's signature scheme


def test_server_signature_algorithm_matches_tshark() -> None:
    """ServerKeyExchange (TLS 1.2, in clear) and the server's CertificateVerify (TLS 1.3, decrypted)."""
    from analyzer.tls.registry import sigalg_name

    compared = 0
    for path in sorted(CAPTURES.glob("*.pcap*")):
        rows = json.loads("[" + ",".join(cli("connections", str(path), "-f", "jsonl", "-q", "--keylog",
                                             str(KEYLOG)).stdout.splitlines()) + "]")
        want: dict[int, str] = {}
        for f in tshark("-r", str(path), "-o", f"tls.keylog_file:{KEYLOG}", "-Y",
                        "tls.handshake.type == 12 || tls.handshake.type == 15", "-T", "fields",
                        "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tls.handshake.sig_hash_alg"):
            server = next((r for r in rows if r["stream"] == int(f[0]) and r["transport"] == "tcp"), None)
            if server is not None and int(f[1]) == server["server_port"] and f[2]:
                want.setdefault(int(f[0]), sigalg_name(int(f[2].split(",")[0], 16)))
        for r in rows:
            if r["transport"] == "tcp" and r["is_tls"]:
                assert r["server_signature_algorithm"] == want.get(r["stream"]), (path.name, r["stream"])
                compared += r["stream"] in want
    assert compared >= 8


def test_keys_reveal_tls13_certificates() -> None:
    path = str(CAPTURES / "tls13-aes128.pcap")
    without = json.loads(cli("inventory", path, "-f", "json", "-q").stdout)
    with_keys = json.loads(cli("inventory", path, "-f", "json", "-q", "--keylog", str(KEYLOG)).stdout)
    assert without["certificates"] == [] and len(with_keys["certificates"]) == 1
    [s] = with_keys["servers"]
    assert s["signature_algorithms"] == {"rsa_pss_rsae_sha256": 1}


# --------------------------------------------------------------------------- formats, escaping, exit codes


HOSTILE = "\x1b[2J\x1b]0;pwn\x07=cmd|'/C calc'!A0\u202e[red]x[/red]<b>"
NAME = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A real TLS 1.2 handshake whose SNI is replaced, byte for byte, by terminal/markup/HTML attacks, and
    one whose SNI starts a spreadsheet formula."""
    d = tmp_path_factory.mktemp("hostile")
    pki = pki_at(CAPTURES)
    conv = tls_conversation(client_context(pki, max_version="TLSv1.2", verify=False), server_context(pki),
                            server_hostname=NAME)
    out = []
    for evil, fname in ((HOSTILE.encode(), "hostile.pcap"), (b'=HYPERLINK("http://x")', "formula.pcap")):
        evil = (evil + b"." * len(NAME))[: len(NAME)]
        chunks = [(dr, data.replace(NAME.encode(), evil) if dr == 0 else data) for dr, data in conv.chunks]
        write_pcap(d / fname, frames_for(type(conv)(chunks=chunks, client=conv.client, server=conv.server)))
        out.append(d / fname)
    return out[0], out[1]


def test_hostile_strings_in_table_csv_json_html(hostile: tuple[Path, Path], tmp_path: Path) -> None:
    evil, formula = hostile
    inv = json.loads(cli("inventory", str(evil), "-f", "json", "-q").stdout)
    assert next(iter(inv["servers"][0]["sni"])).startswith("\x1b[2J")     # read as sent (JSON escapes it)
    r = cli("inventory", str(evil))
    for out in (r.stdout, r.stderr):
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[2J" in r.stdout and "[red]x[/red]" in r.stdout            # shown, as text, markup not run
    path = tmp_path / "inv.txt"
    cli("inventory", str(evil), "-o", str(path))
    assert "\x1b" not in path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(cli("inventory", str(formula), "-f", "csv", "-q").stdout)))
    sni = [x for x in rows if x["fact"] == "sni"]
    assert sni and all(x["value"].startswith("'=HYPERLINK(") for x in sni)
    for x in rows:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in x.values()), x
    out = tmp_path / "report"
    cli("report", str(evil), "--out", str(out), "-q")
    html = (out / "index.html").read_text(encoding="utf-8")
    section = html[html.index('id="inventory"'):]
    section = section[: section.index("</section>")]
    assert "\x1b" not in section and "\u202e" not in section and "[/red]<b>" not in section
    assert "[/red]&lt;b&gt;" in section and "\\x1b[2J" in section


def test_every_format_and_output_file(tmp_path: Path) -> None:
    inputs = [str(KYBER_TCP), str(CAPTURES / "tls12-ecdhe.pcap")]
    for fmt in ("table", "json", "csv", "cyclonedx"):
        out = tmp_path / f"inv.{fmt}"
        r = cli("inventory", *inputs, "-f", fmt, "-o", str(out), "-q")
        assert r.stdout == "" and out.stat().st_size > 200, fmt
        assert cli("inventory", *inputs, "-f", fmt, "-q").stdout == out.read_text(encoding="utf-8") or fmt == "table"
    text = (tmp_path / "inv.table").read_text(encoding="utf-8")
    assert "X25519Kyber768Draft00 ×1 [PQ hybrid]" in text and "Server 142.250.200.14:443" in text
    assert "Client t13d1516h2_8daaf6152771_02713d6af862" in text and "Certificates" in text
    rows = list(csv.DictReader(io.StringIO((tmp_path / "inv.csv").read_text(encoding="utf-8"))))
    assert {r["section"] for r in rows} == {"total", "protocol", "server", "client", "certificate"}
    assert any(r["fact"] == "group" and r["detail"] == "post-quantum hybrid" for r in rows)
    assert json.loads((tmp_path / "inv.json").read_text())["totals"]["post_quantum_hybrid"] == 1
    assert cbom_mod.validate((tmp_path / "inv.cyclonedx").read_text()) is None


def test_exit_codes(tmp_path: Path) -> None:
    good = str(KYBER_TCP)
    assert cli("inventory", good, "-f", "nope", check=False).returncode == 2
    assert cli("inventory", str(tmp_path / "missing.pcap"), "-q", check=False).returncode == 2
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all" * 10)
    r = cli("inventory", good, str(junk), "-f", "json", check=False)
    assert r.returncode == 1 and "junk.pcap" in r.stderr
    assert json.loads(r.stdout)["totals"]["connections"] == 1   # the readable input is still inventoried
    assert cli("inventory", good, "-o", str(tmp_path / "no" / "such" / "dir" / "x"), check=False).returncode == 2
    assert cli("inventory", "--help").returncode == 0
    assert cli("inventory", good, "-q", "--keylog", str(tmp_path / "missing-keylog"), check=False).returncode == 2


# --------------------------------------------------------------------------- the report page


def test_report_inventory_section(tmp_path: Path) -> None:
    out = tmp_path / "report"
    cli("report", str(PQ), str(CAPTURES / "tls12-ecdhe.pcap"), "--out", str(out), "-q")
    html = (out / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<section class="panel-box" id="inventory">'):]
    section = section[: section.index("</section>")]
    assert 'data-chart="post-quantum readiness"' in section and "<svg" in section
    assert 'data-label="post-quantum hybrid" data-count="2"' in section
    assert 'data-pq="hybrid">X25519MLKEM768' in section and 'data-pq="hybrid">X25519Kyber768Draft00' in section
    for key in ("servers", "clients", "certificates"):
        assert f'data-inventory="{key}"' in section
    assert 'data-card="post-quantum hybrid"><div class="n">50%' in section   # 2 of 4 negotiated


def test_report_inventory_rows_bound(tmp_path: Path) -> None:
    """INVENTORY_MAX_ROWS crossed: the tables list that many, a note says how many more there are."""
    from analyzer.report import html as html_mod
    from analyzer.report.table import TableBuilder

    from analyzer.pipeline import analyze_file

    rows = TableBuilder()
    for path in (KYBER_TCP, MLKEM_QUIC, CAPTURES / "tls12-ecdhe.pcap"):
        for s in analyze_file(path):
            rows.add(s)
    table = rows.table()
    full = html_mod.inventory_section(table)
    cut = html_mod.inventory_section(table, limit=1)
    assert 'data-more="servers"' not in full and 'data-more="servers">1 of 3 shown' in cut
    body = cut[cut.index('data-inventory="servers"'):]
    body = body[: body.index("</table>")]
    assert body.count("<tr>") == 2   # the header and one server
    assert html_mod.INVENTORY_MAX_ROWS >= 100


def test_dataframe_and_row_paths_agree(table: pd.DataFrame, inventory: dict) -> None:
    """The command feeds row tuples; the API takes DataFrames (whole, or in chunks): the same inventory."""
    whole = inv_mod.build_inventory(table).to_dict()
    chunks = inv_mod.build_inventory([table.iloc[i: i + 50] for i in range(0, len(table), 50)]).to_dict()
    assert json.loads(json.dumps(whole)) == json.loads(json.dumps(chunks)) == inventory


def test_inventory_bounds_are_documented() -> None:
    from analyzer.report import html as html_mod

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bounds", 1)[1].split("\n## ", 1)[0]
    assert f"| `MAX_OCCURRENCES` (report/inventory.py) | {inv_mod.MAX_OCCURRENCES:,} per component |" in section
    assert f"| `INVENTORY_MAX_ROWS` (report/html.py) | {html_mod.INVENTORY_MAX_ROWS} per table |" in section


def test_dask_scheduler_gives_the_same_inventory() -> None:
    import logging

    from dask.distributed import LocalCluster

    inputs = [str(PQ), str(CAPTURES / "tls12-ecdhe.pcap"), str(CAPTURES / "tls13-hrr.pcap"), str(CLIENT_AUTH)]
    local = cli("inventory", *inputs, "-f", "cyclonedx", "-q", "-j", "1").stdout
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.WARNING) as cluster:
        remote = cli("inventory", *inputs, "-f", "cyclonedx", "-q", "--scheduler", cluster.scheduler_address).stdout
    assert remote == local and json.loads(local)["components"]
