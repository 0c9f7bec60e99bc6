"""Resumption lineage (analyzer.lineage, analyzer.tls.resumption) on real resumptions.

The captures are `captures/resumption/` (Python's ssl in memory; MANIFEST.json says what the
ssl module reported: the session each connection offered, `session_reused`, the session it
got) and the GnuTLS DTLS pair of `captures/dtls/`. Checked: every kind of resumption links to
the connection the manifest names (session ID, TLS 1.2 ticket, TLS 1.3 PSK with the key log,
a chain of PSK resumptions), refused attempts, across two capture files, across the parts of
one file, the same with `--jobs 2`, on Dask and in the `--out` dataset (also with `--resume`),
the bounds crossed, the audit rules firing and not, the HTML report; tshark as the oracle for
the session IDs, tickets, PSK identities and lifetimes the rows are linked by.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import analyzer.lineage as lineage
import analyzer.parts as parts_mod
import analyzer.report.table as table_mod
from analyzer.audit import Auditor, default_policy, parse_policy
from analyzer.batch import BatchOptions, merge_parts, process_file, read_dataset, run_batch
from analyzer.inputs import bundled_captures_dir
from analyzer.lineage import link_rows
from analyzer.parts import Part
from analyzer.pipeline import Options, analyze_file
from analyzer.report.table import COLUMN_NAMES, TableBuilder

import tshark_oracle  # tests/ is on sys.path

CAPTURES = bundled_captures_dir()
HERE = CAPTURES / "resumption"
KEYLOG = HERE / "keylog.txt"
INFO = json.loads((HERE / "MANIFEST.json").read_text())
FILES = sorted(HERE / name for name in INFO["files"])
PORTS = (4443, 8443)
LINEAGE = ("resumption_attempt", "resumed_from", "resumption_age_s", "resumed_ticket_lifetime_s")


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, timeout=timeout)


def _options(keys: bool = True) -> Options:
    from analyzer.decrypt.keys import load_key_material

    return Options(keys=load_key_material([KEYLOG], [], None) if keys else None)


def _rows(paths: list[Path], keys: bool = True) -> list[dict[str, Any]]:
    """The linked rows of `paths` read one after the other in this process."""
    b = TableBuilder()
    opts = _options(keys)
    for p in paths:
        for s in analyze_file(p, options=opts):
            b.add(s)
    return list(link_rows(b.table()).records())


def _by_id(rows: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r["capture"], r["stream"]): r for r in rows}


def _conns() -> list[tuple[str, dict[str, Any]]]:
    return [(name, c) for name, f in INFO["files"].items() for c in f["connections"]]


def _label(name: str, label: str) -> dict[str, Any]:
    return next(c for c in INFO["files"][name]["connections"] if c["label"] == label)


@pytest.fixture(scope="module")
def linked() -> dict[tuple[str, int], dict[str, Any]]:
    return _by_id(_rows(FILES))


# --------------------------------------------------------------------------- the samples


def test_committed_captures_match_their_manifest():
    for name, f in INFO["files"].items():
        assert hashlib.sha256((HERE / name).read_bytes()).hexdigest() == f["sha256"], name


def test_every_resumption_links_to_the_connection_the_ssl_module_resumed(linked):
    """Each connection's verdict and parent are what the ssl module did (it offered its parent's
    SSLSession; session_reused says whether the server took it), with the age its frames give."""
    kinds = Counter()
    for name, c in _conns():
        r = linked[(name, c["stream"])]
        exp = c["expected"]
        assert r["resumption_attempt"] == exp["resumption_attempt"], (name, c["label"])
        assert r["resumed_from"] == exp["resumed_from"], (name, c["label"])
        assert r["resumed"] == c["session_reused"], (name, c["label"])
        if exp["resumed_from"] is None:
            assert r["resumption_age_s"] is None and r["resumed_ticket_lifetime_s"] is None
            continue
        kinds[r["resumption"]] += 1
        parent_file, parent_stream = exp["resumed_from"].rsplit("#", 1)
        parent = next(p for p in INFO["files"][parent_file]["connections"] if p["stream"] == int(parent_stream))
        assert r["resumption_age_s"] == pytest.approx(c["at"] - parent["at"], abs=1e-6), (name, c["label"])
        if r["resumption"] in ("ticket", "psk"):   # the lifetime OpenSSL's client took from the parent's ticket
            assert r["resumed_ticket_lifetime_s"] == parent["session"]["timeout"]
        else:
            assert r["resumed_ticket_lifetime_s"] is None
    assert kinds["session_id"] >= 2 and kinds["ticket"] >= 5 and kinds["psk"] >= 5, kinds


def test_session_facts_agree_with_the_ssl_module(linked):
    for name, c in _conns():
        r = linked[(name, c["stream"])]
        sess = c["session"]
        if c["version"] == "TLS 1.2" and not c["session_reused"]:
            if sess["has_ticket"]:      # a ticket: the lifetime OpenSSL's client read from it
                assert len(r["tickets_issued_sha256"]) == 1 and r["ticket_lifetime_s"] == sess["timeout"]
            else:                       # a session ID: the one the client cached
                assert r["server_session_id"] == sess["id"] and not r["tickets_issued_sha256"]
        if c["version"] == "TLS 1.3":   # tickets seen decrypted (OpenSSL: 2 after a full handshake, 1 after a resumption)
            assert len(r["tickets_issued_sha256"]) == (1 if c["session_reused"] else 2), (name, c["label"])
            assert r["ticket_lifetime_s"] == sess["timeout"]


def test_a_tls13_compatibility_session_id_is_no_attempt(linked):
    full = linked[("resumption-kinds.pcap", _label("resumption-kinds.pcap", "psk-full")["stream"])]
    assert full["version"] == "TLS 1.3" and len(full["session_id"]) == 64 and full["server_session_id"] == full["session_id"]
    assert full["resumption_attempt"] == "none"
    tls12 = linked[("resumption-kinds.pcap", _label("resumption-kinds.pcap", "sid-resumed")["stream"])]
    assert tls12["resumption_attempt"] == "accepted" and tls12["resumption"] == "session_id"


def test_a_chain_of_psk_resumptions_links_link_by_link(linked):
    name = "resumption-kinds.pcap"
    full, first, again = (_label(name, x)["stream"] for x in ("psk-full", "psk-resumed", "psk-resumed-again"))
    assert linked[(name, first)]["resumed_from"] == f"{name}#{full}"
    assert linked[(name, again)]["resumed_from"] == f"{name}#{first}"   # the ticket the resumption issued
    assert linked[(name, first)]["psk_offered_sha256"] in linked[(name, full)]["tickets_issued_sha256"]


def test_refused_attempts_show_without_keys_and_psk_links_need_them():
    rows = _by_id(_rows(FILES, keys=False))
    name = "resumption-refused.pcap"
    for label in ("sid-refused", "ticket-refused", "psk-refused"):
        assert rows[(name, _label(name, label)["stream"])]["resumption_attempt"] == "refused", label
    for (cap, stream), r in rows.items():
        if r["resumption"] == "psk":   # the parent's NewSessionTicket is encrypted
            assert r["resumption_attempt"] == "accepted" and r["resumed_from"] is None
        elif r["resumption"] in ("session_id", "ticket"):
            assert r["resumed_from"] is not None, (cap, stream)


def test_resumption_across_two_capture_files():
    one, two = HERE / "resumption-across-1.pcap", HERE / "resumption-across-2.pcap"
    alone = _rows([two])
    assert [r["resumption_attempt"] for r in alone] == ["accepted"] * 3
    assert all(r["resumed_from"] is None for r in alone)            # nothing to link to in one file
    both = _by_id(_rows([two, one]))                                # input order does not matter
    for c in INFO["files"][two.name]["connections"]:
        r = both[(two.name, c["stream"])]
        assert r["resumed_from"] == c["expected"]["resumed_from"] and r["resumed_from"].startswith(one.name)
        assert r["resumption_age_s"] == pytest.approx(60.0)


def test_dtls_ticket_resumption_of_gnutls():
    path = CAPTURES / "dtls" / "dtls12-resume.pcap"
    rows = _rows([path], keys=False)
    assert [r["transport"] for r in rows] == ["dtls", "dtls"]
    assert rows[1]["resumption"] == "ticket" and rows[1]["resumed_from"] == f"{path.name}#dtls:0"
    assert rows[1]["ticket_offered_sha256"] == rows[0]["tickets_issued_sha256"][0]
    assert 0 < rows[1]["resumption_age_s"] < 10 and rows[1]["resumed_ticket_lifetime_s"] == rows[0]["ticket_lifetime_s"]


def test_linking_is_idempotent_and_drops_stale_links():
    b = TableBuilder()
    for s in analyze_file(HERE / "resumption-kinds.pcap"):
        b.add(s)
    once = link_rows(b.table())
    assert link_rows(once).rows == once.rows
    i = COLUMN_NAMES.index("resumed_from")
    forged = [tuple("x.pcap#9" if k == i else v for k, v in enumerate(r)) for r in once.rows]
    again = link_rows(table_mod.Rows(forged))
    assert [r[i] for r in again.rows] == [r[i] for r in once.rows]


# --------------------------------------------------------------------------- tshark, the oracle


def _tshark_handshakes(path: Path) -> dict[int, list[dict[str, list[Any]]]]:
    """Per tcp.stream, every handshake message tshark shows (decrypted with the key log), as its
    fields (nested subtrees flattened, each field a list of values); `ext:N` is the data of the
    hello's extension of type N (its own subtree, so type and data stay paired)."""
    cmd = [tshark_oracle.TSHARK, "-r", str(path), "-o", f"tls.keylog_file:{KEYLOG}", "-T", "json",
           "--no-duplicate-keys"] + [x for p in PORTS for x in ("-d", f"tcp.port=={p},tls")]
    packets = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout)

    def flatten(tree: Any, into: dict[str, list[Any]]) -> None:
        if isinstance(tree, dict):
            if "tls.handshake.extension.type" in tree:
                into.setdefault(f"ext:{tree['tls.handshake.extension.type']}", []).append(
                    tree.get("tls.handshake.extension.data", ""))
            for k, v in tree.items():
                if isinstance(v, str):
                    into.setdefault(k, []).append(v)
                elif isinstance(v, list) and all(isinstance(x, str) for x in v):
                    into.setdefault(k, []).extend(v)
                else:
                    flatten(v, into)
        elif isinstance(tree, list):
            for x in tree:
                flatten(x, into)

    def messages(tree: Any) -> list[dict[str, Any]]:
        if isinstance(tree, dict):
            if isinstance(tree.get("tls.handshake.type"), str):
                return [tree]
            return [m for v in tree.values() for m in messages(v)]
        if isinstance(tree, list):
            return [m for x in tree for m in messages(x)]
        return []

    out: dict[int, list[dict[str, list[Any]]]] = {}
    for pkt in packets:
        layers = pkt["_source"]["layers"]
        stream = int(layers["tcp"]["tcp.stream"])
        for msg in messages(layers.get("tls", {})):
            fields: dict[str, list[Any]] = {}
            flatten(msg, fields)
            out.setdefault(stream, []).append(fields)
    return out


def _digest(colon_hex: str | None) -> str | None:
    return hashlib.sha256(bytes.fromhex(colon_hex.replace(":", ""))).hexdigest() if colon_hex else None


@pytest.mark.skipif(not tshark_oracle.available(), reason="tshark 4.0 is the oracle")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_tshark_agrees_on_session_ids_tickets_identities_and_lifetimes(path, linked):
    """What the rows are linked by, as tshark 4.0 shows it: tls.handshake.session_id of both hellos,
    the ClientHello's session_ticket extension (type 35) and pre_shared_key identity, and
    tls.handshake.session_ticket / tls.handshake.session_ticket_lifetime_hint of every NewSessionTicket
    (TLS 1.3 decrypted with the key log); digests are SHA-256 of tshark's bytes."""
    facts = _tshark_handshakes(path)
    assert sorted(facts) == sorted(c["stream"] for c in INFO["files"][path.name]["connections"])
    for stream, msgs in facts.items():
        r = linked[(path.name, stream)]
        ch = next(m for m in msgs if m["tls.handshake.type"] == ["1"])
        sh = next(m for m in msgs if m["tls.handshake.type"] == ["2"])
        for hello, column in ((ch, "session_id"), (sh, "server_session_id")):
            sid = (hello.get("tls.handshake.session_id") or [""])[0].replace(":", "")
            assert sid == (r[column] or ""), (stream, column)
        assert _digest((ch.get("ext:35") or [None])[0]) == r["ticket_offered_sha256"], stream
        assert _digest((ch.get("tls.handshake.extensions.psk.identity.identity") or [None])[0]) == r["psk_offered_sha256"]
        nsts = [m for m in msgs if m["tls.handshake.type"] == ["4"]]
        tickets = [t for m in nsts for t in m.get("tls.handshake.session_ticket", [])]
        assert [_digest(t) for t in tickets] == list(r["tickets_issued_sha256"] or []), stream
        hints = [int(h) for m in nsts for h in m.get("tls.handshake.session_ticket_lifetime_hint", [])]
        assert (min(hints) if hints else None) == r["ticket_lifetime_s"], stream
        assert len(nsts) == len(tickets) > 0 or not nsts


# --------------------------------------------------------------------------- parts, jobs, Dask, --out


def _csv(out: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out)))


def test_resumption_across_the_parts_of_one_file(monkeypatch):
    """The parent at the start of the file, its resumption at the end: read in two parts, each
    connection is analysed by the part where it starts, and the link is made after the merge."""
    path = str(HERE / "resumption-parts.pcap")
    seq = process_file(0, path, os.path.basename(path))
    child = _label("resumption-parts.pcap", "ticket-resumed")
    size = os.path.getsize(path)
    cut = size // 2
    outs = [process_file(0, path, os.path.basename(path), part=Part(i, 2, a, b))
            for i, (a, b) in enumerate(((0, cut), (cut, size)))]
    pi = COLUMN_NAMES.index("client_port")
    ports = [{r[pi] for r in o.rows} for o in outs]
    parent = _label("resumption-parts.pcap", "ticket-full")
    assert parent["client"][1] in ports[0] and parent["client"][1] not in ports[1]   # the parent: part 0 ...
    assert child["client"][1] in ports[1] and child["client"][1] not in ports[0]     # ... its resumption: part 1
    merged = merge_parts(outs)
    rows = list(merged.rows)
    table_mod.sort_rows(rows)
    assert rows == seq.rows
    by = _by_id(list(link_rows(table_mod.Rows(rows)).records()))
    r = by[("resumption-parts.pcap", child["stream"])]
    assert r["resumed_from"] == "resumption-parts.pcap#0" and r["resumption_age_s"] == pytest.approx(10.0)

    # the command line with --jobs 2 reads the file in parts (forced on a small file) and agrees
    from typer.testing import CliRunner

    from analyzer.batch import splits
    from analyzer.cli import app

    monkeypatch.setattr(parts_mod, "MIN_SPLIT_BYTES", 1)
    monkeypatch.setattr(parts_mod, "MIN_PART_BYTES", 1)
    assert splits([Path(path)], 2)
    r1 = CliRunner().invoke(app, ["connections", path, "-f", "csv", "-j", "1", "-q"])
    r2 = CliRunner().invoke(app, ["connections", path, "-f", "csv", "-j", "2", "-q"])
    assert r1.exit_code == r2.exit_code == 0 and r1.stdout == r2.stdout
    last = _csv(r2.stdout)[child["stream"]]
    assert last["resumed_from"] == "resumption-parts.pcap#0" and last["resumption_attempt"] == "accepted"


@pytest.fixture(scope="module")
def sequential() -> str:
    r = cli("connections", str(HERE), "--keylog", str(KEYLOG), "-f", "csv", "-q", "-j", "1")
    assert r.returncode == 0, r.stderr
    return r.stdout


def _text(v: Any) -> str:
    """A value as the CSV writer shows it; empty for None and pandas' missing values."""
    import pandas as pd

    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    return str(v)


def _lineage_of(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, ...]]:
    return {(r["capture"], str(r["stream"])): tuple(_text(r[c]) for c in LINEAGE) for r in rows}


def test_jobs_2_equals_sequential_and_links_across_files(sequential, tmp_path):
    r = cli("connections", str(HERE), "--keylog", str(KEYLOG), "-f", "csv", "-q", "-j", "2", "--out", str(tmp_path / "o"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == sequential
    rows = _csv(sequential)
    linked = [x for x in rows if x["resumed_from"]]
    assert len(linked) == sum(1 for _, c in _conns() if c["expected"]["resumed_from"])
    assert any(x["capture"] != x["resumed_from"].rsplit("#", 1)[0] for x in linked)   # across files
    # the dataset written per file got the same lineage at the end of the run
    df = read_dataset(tmp_path / "o")
    assert _lineage_of(df.to_dict("records")) == _lineage_of(rows)


def test_dask_equals_sequential(sequential, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.WARNING) as cluster:
        r = cli("connections", str(HERE), "--keylog", str(KEYLOG), "-f", "csv", "-q",
                "--scheduler", cluster.scheduler_address)
    assert r.returncode == 0, r.stderr
    assert r.stdout == sequential


def test_out_dataset_resumed_links_new_files_to_earlier_ones(tmp_path):
    one, two = HERE / "resumption-across-1.pcap", HERE / "resumption-across-2.pcap"
    out = tmp_path / "ds"
    res = run_batch([one], None, batch=BatchOptions(jobs=1, out=out), options=_options())
    assert res.files_ok == 1
    part_one = next(out.glob("capture=resumption-across-1.pcap/*.parquet"))
    before = part_one.read_bytes()
    sink = TableBuilder()
    res = run_batch([one, two], sink, batch=BatchOptions(jobs=2, out=out, resume=True), options=_options())
    assert res.files_skipped == 1 and res.files_ok == 2
    df = read_dataset(out)
    child = df[df.capture == two.name].set_index("stream")
    for c in INFO["files"][two.name]["connections"]:
        assert child.loc[c["stream"], "resumed_from"] == c["expected"]["resumed_from"]
    assert part_one.read_bytes() == before            # a parent's part has no lineage values: not rewritten
    # the rows handed to the sink: the skipped file's read back without lineage, linked with the new one's
    rows = list(link_rows(sink.table()).records())
    assert _lineage_of(rows) == _lineage_of(_rows([one, two]))
    # the dataset is linked over all it holds: a later run on the second file alone keeps the links
    run_batch([two], None, batch=BatchOptions(jobs=1, out=out, resume=True), options=_options())
    df = read_dataset(out)
    assert df[df.capture == two.name].resumed_from.notna().all()
    assert not list(out.rglob(".*.tmp-*"))


# --------------------------------------------------------------------------- bounds


def _registered(rows: list[dict[str, Any]]) -> int:
    return sum(len(r["tickets_issued_sha256"] or ()) + bool(r["server_session_id"] and not r["resumed"]
                                                           and r["version"] != "TLS 1.3") for r in rows)


def test_max_remembered_sessions_crossed(monkeypatch):
    """resumption-parts.pcap: the parent's ticket, then six full handshakes' tickets, then the parent's
    resumption. Remembering all of them links it; one fewer forgets the oldest, the parent's."""
    path = HERE / "resumption-parts.pcap"
    rows = _rows([path])
    keys = _registered(rows)
    assert keys == 7 and rows[-1]["resumed_from"] == f"{path.name}#0"
    b = TableBuilder()
    for s in analyze_file(path):
        b.add(s)
    monkeypatch.setattr(lineage, "MAX_REMEMBERED_SESSIONS", keys)
    t = link_rows(b.table())
    assert t.linker.forgotten == 0 and list(t.records())[-1]["resumed_from"] == f"{path.name}#0"
    monkeypatch.setattr(lineage, "MAX_REMEMBERED_SESSIONS", keys - 1)
    t = link_rows(b.table())
    assert t.linker.forgotten == 1 and list(t.records())[-1]["resumed_from"] is None


def test_max_lineage_records_in_memory_crossed(monkeypatch):
    """Link records and links past the bound go to sorted run files (merged past MAX_RUNS); the
    links are the same, also on a table that itself spilled to disk (MAX_ROWS_IN_MEMORY)."""
    ref = _rows(FILES)
    monkeypatch.setattr(lineage, "MAX_LINEAGE_RECORDS_IN_MEMORY", 3)
    monkeypatch.setattr(table_mod, "MAX_RUNS", 4)   # the run files are the row table's (report/table.py)
    monkeypatch.setattr(table_mod, "MAX_ROWS_IN_MEMORY", 5)
    spill = lineage.SortedSpill()
    for i in range(20, 0, -1):
        spill.add((i,))
    assert len(spill.runs) < 4 and [x for (x,) in spill] == list(range(1, 21)) and list(spill) == list(spill)
    b = TableBuilder()
    opts = _options()
    for p in FILES:
        for s in analyze_file(p, options=opts):
            b.add(s)
    table = b.table()
    assert not isinstance(table.rows, list)       # the table itself is on disk
    linked = link_rows(table)
    assert linked.linker._records.runs             # noqa: SLF001 - the records went to run files
    assert list(linked.records()) == ref and list(linked.records()) == ref   # re-iterable


def test_max_tickets_kept_crossed(tmp_path):
    """A TLS 1.3 server sending 10 NewSessionTickets (SSLContext.num_tickets): 8 digests are kept."""
    from analyzer.tls.resumption import MAX_TICKETS_KEPT
    from captures import generate as g

    keylog = tmp_path / "keylog.txt"
    pki = g.pki_at(CAPTURES)
    server = g.server_context(pki)
    server.num_tickets = MAX_TICKETS_KEPT + 2
    conv = g.tls_conversation(g.client_context(pki, keylog=keylog), server, server_hostname=g.SERVER_NAME)
    g.write_pcap(tmp_path / "many.pcap", g.frames_for(conv))
    import gc

    gc.collect()
    from analyzer.decrypt.keys import load_key_material

    (s,) = analyze_file(tmp_path / "many.pcap", options=Options(keys=load_key_material([keylog], [], None)))
    assert s.decryption == "ok" and s.ticket_issued
    assert len(s.tickets_issued_sha256) == MAX_TICKETS_KEPT and len(set(s.tickets_issued_sha256)) == MAX_TICKETS_KEPT


def test_max_psk_identities_kept_crossed():
    """A real pre_shared_key extension (of a PSK resumption's ClientHello) with its identity repeated
    past the bound: all are counted, the first MAX_PSK_IDENTITIES_KEPT kept."""
    from analyzer.tls import messages as m

    hellos: list[bytes] = []
    real = m.pull_client_hello

    def spy(body: bytes, *a: Any) -> Any:
        hellos.append(bytes(body))
        return real(body, *a)

    mp = pytest.MonkeyPatch()
    mp.setattr(m, "pull_client_hello", spy)
    try:
        list(analyze_file(HERE / "resumption-kinds.pcap"))
    finally:
        mp.undo()
    ch = next(m.pull_client_hello(b) for b in hellos if m.pull_client_hello(b).extensions.psk_identities)
    data = dict(ch.extensions.raw)[41]
    ids_len = (data[0] << 8) | data[1]
    entry, binders = data[2:2 + ids_len], data[2 + ids_len:]
    n = m.MAX_PSK_IDENTITIES_KEPT + 3
    many = (len(entry) * n).to_bytes(2, "big") + entry * n + binders
    ext = m.Extensions()
    assert m._ext_pre_shared_key(ext, many, False, False) == len(many)  # noqa: SLF001
    assert ext.psk_identities == n and len(ext.psk_identity_values) == m.MAX_PSK_IDENTITIES_KEPT
    assert ext.psk_identity_values[0] == ch.extensions.psk_identity_values[0]
    with pytest.raises(m.TLSDecodeError):   # every length is checked: one byte short
        m._ext_pre_shared_key(m.Extensions(), many[:2] + many[2:2 + len(entry) * n - 1], False, False)  # noqa: SLF001


# --------------------------------------------------------------------------- audit


def _findings(paths: list[Path], policy: str = "", keys: bool = True) -> list[Any]:
    a = Auditor(parse_policy(policy) if policy else default_policy())
    opts = _options(keys)
    for p in paths:
        for s in analyze_file(p, options=opts):
            a.add(s)
    return a.sorted_findings()


def test_ticket_lifetime_exceeded_fires_only_after_the_lifetime():
    late = HERE / "resumption-late.pcap"
    found = [f for f in _findings([late]) if f.rule == "ticket-lifetime-exceeded"]
    expect = {_label(late.name, x)["stream"] for x in ("ticket-late", "psk-late")}
    assert {f.stream for f in found} == expect
    assert _label(late.name, "ticket-in-time")["stream"] not in {f.stream for f in found}
    assert all("> ticket lifetime 7200 s" in f.evidence for f in found)
    # without keys the TLS 1.3 parent's ticket is encrypted: only the TLS 1.2 one is known late
    assert {f.stream for f in _findings([late], keys=False) if f.rule == "ticket-lifetime-exceeded"} == {
        _label(late.name, "ticket-late")["stream"]}
    # no other sample resumes late
    assert not [f for f in _findings(FILES) if f.rule == "ticket-lifetime-exceeded" and f.capture != late.name]


def test_resumption_refused_rate_fires_per_server_above_the_threshold():
    refused = HERE / "resumption-refused.pcap"
    low = "[rules.resumption-refused-rate]\nmin_attempts = 2\n"
    found = [f for f in _findings([refused], low) if f.rule == "resumption-refused-rate"]
    assert len(found) == 1                      # port 4443 refused 3 of 4; port 8443 accepted 2 of 2
    (f,) = found
    assert f.server == "198.51.100.20:4443" and f.stream == _label(refused.name, "sid-refused")["stream"]
    assert f.evidence.startswith("refused 3 of 4 resumption attempts (75% > threshold 50%)")
    assert not [f for f in _findings([refused]) if f.rule == "resumption-refused-rate"]   # default: 10 attempts
    strict = low + "threshold = 0.8\n"
    assert not [f for f in _findings([refused], strict) if f.rule == "resumption-refused-rate"]
    with pytest.raises(Exception, match="threshold must be a float"):
        parse_policy("[rules.resumption-refused-rate]\nthreshold = 1\n")


def test_audit_links_across_files_and_jobs(tmp_path):
    policy = tmp_path / "p.toml"
    policy.write_text("[rules.resumption-refused-rate]\nmin_attempts = 2\n")
    runs = [cli("audit", str(HERE), "--keylog", str(KEYLOG), "-p", str(policy), "-f", "jsonl", "-q", "-j", j)
            for j in ("1", "2")]
    assert runs[0].returncode == runs[1].returncode == 1 and runs[0].stdout == runs[1].stdout
    rules = Counter(json.loads(line)["rule"] for line in runs[0].stdout.splitlines())
    assert rules["ticket-lifetime-exceeded"] == 2 and rules["resumption-refused-rate"] == 1


# --------------------------------------------------------------------------- report


def test_report_shows_rate_refusals_and_links_parents_and_children(tmp_path):
    weird = tmp_path / "in"
    weird.mkdir()
    name = '<i>"kinds"&.pcap'
    shutil.copy(HERE / "resumption-kinds.pcap", weird / name)
    shutil.copy(HERE / "resumption-refused.pcap", weird / "resumption-refused.pcap")
    r = cli("report", str(weird), "--keylog", str(KEYLOG), "-o", str(tmp_path / "rep"), "-q")
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "rep" / "index.html").read_text()
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    o = summary["overall"]
    rows = _rows([HERE / "resumption-kinds.pcap", HERE / "resumption-refused.pcap"])
    attempts = Counter(x["resumption_attempt"] for x in rows if x["resumption_attempt"])
    assert o["resumption_attempt"] == dict(attempts) and attempts["refused"] == 3
    assert o["resumption_rate"] == round(attempts["accepted"] / (attempts["accepted"] + 3), 4)
    assert o["resumed_linked"] == sum(1 for x in rows if x["resumed_from"])
    assert f'{100 * o["resumption_rate"]:.0f}%</div><div class="l">resumption rate' in page
    assert "3 resumption attempts refused</b>" in page and 'data-mode="refused"' in page
    assert '<i>"kinds"' not in page and "&lt;i&gt;&quot;kinds&quot;&amp;.pcap" in page   # escaped everywhere
    ids = {(cap, stream): pid for pid, cap, stream in re.findall(
        r'<section class="detail" id="(c-\d+)"[^>]*data-capture="([^"]*)" data-stream="(\d+)"', page)}
    esc = "&lt;i&gt;&quot;kinds&quot;&amp;.pcap"
    for label, parent in (("sid-resumed", "sid-full"), ("psk-resumed-again", "psk-resumed")):
        child_s = str(_label("resumption-kinds.pcap", label)["stream"])
        parent_s = str(_label("resumption-kinds.pcap", parent)["stream"])
        child_panel = _panel(page, ids[(esc, child_s)])
        parent_panel = _panel(page, ids[(esc, parent_s)])
        assert f'<a class="lineage" href="#{ids[(esc, parent_s)]}">{esc}#{parent_s}</a>' in child_panel
        assert "Resumed from" in child_panel and "Resumed by" in parent_panel
        assert f'<a class="lineage" href="#{ids[(esc, child_s)]}">{esc}#{child_s}</a>' in parent_panel


def _panel(page: str, pid: str) -> str:
    start = page.index(f'<section class="detail" id="{pid}"')
    return page[start:page.index("</section>", start)]


def test_max_children_listed_crossed(tmp_path, monkeypatch):
    import analyzer.report.html as html_mod
    from analyzer.report.html import ReportCollector, write_report

    monkeypatch.setattr(html_mod, "MAX_CHILDREN_LISTED", 1)
    collector = ReportCollector()
    for s in analyze_file(HERE / "resumption-refused.pcap"):
        collector.add(s)
    write_report(collector, tmp_path)
    page = (tmp_path / "index.html").read_text()
    parent = _label("resumption-refused.pcap", "other-full")["stream"]
    pid = re.search(rf'<section class="detail" id="(c-\d+)"[^>]*data-stream="{parent}"', page).group(1)
    panel = _panel(page, pid)
    assert panel.count('class="lineage"') == 1 and " and 1 more" in panel


# --------------------------------------------------------------------------- the generator


def test_the_generator_makes_the_same_scenarios(tmp_path):
    r = subprocess.run([sys.executable, str(HERE / "generate.py"), "--out", str(tmp_path)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    fresh = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert list(fresh["files"]) == list(INFO["files"])
    for name, f in fresh["files"].items():
        assert [(c["label"], c["expected"]) for c in f["connections"]] == [
            (c["label"], c["expected"]) for c in INFO["files"][name]["connections"]]
    from analyzer.decrypt.keys import load_key_material

    opts = Options(keys=load_key_material([tmp_path / "keylog.txt"], [], None))
    b = TableBuilder()
    for name in fresh["files"]:
        for s in analyze_file(tmp_path / name, options=opts):
            b.add(s)
    got = {(x["capture"], x["stream"]): (x["resumption_attempt"], x["resumed_from"]) for x in link_rows(b.table()).records()}
    assert got == {(n, c["stream"]): (c["expected"]["resumption_attempt"], c["expected"]["resumed_from"])
                   for n, f in fresh["files"].items() for c in f["connections"]}
