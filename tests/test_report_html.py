"""The `report`, `ladder` and `summary` commands: data files, summary.json, the HTML page and its ladders.

Counts in summary.json are checked against the table (pandas on the Parquet file),
ladders against the events the TLS stage recorded, wire strings with HTML in them
(a `<script>` SNI, an `<img onerror>` ALPN, made by Python's ssl module) against
the page, and the page itself in headless Chromium with the network off.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import analyzer
from analyzer.report.html import ReportCollector, write_report
from analyzer.report.ladder import message_name
from analyzer.report.summary import failure_kind
from captures.generate import (client_context, frames_for, merge_frames, pki_at, server_context, tls_conversation,
                               write_pcap)

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
# the bundled TLS captures (captures/*.pcap*; subfolders such as captures/dtls hold other sets)
BUNDLED = [p for p in sorted(CAPTURES.iterdir()) if p.suffix in (".pcap", ".pcapng")]
HOSTILE_SNI = "<script>window.__xss=1</script>.test"
HOSTILE_ALPN = "<img src=x onerror=window.__xss=2>"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """`handshake-analyzer report captures/ --out DIR` and what it wrote."""
    out = tmp_path_factory.mktemp("report")
    r = cli("report", *map(str, BUNDLED), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    return {
        "dir": out,
        "df": pd.read_parquet(out / "connections.parquet"),
        "summary": json.loads((out / "summary.json").read_text()),
        "html": (out / "index.html").read_text(encoding="utf-8"),
    }


def _hostile_pcap(path: Path) -> None:
    """Real TLS from the ssl module: a <script> SNI with an HTML ALPN offer, and a TLS 1.0 connection."""
    pki = pki_at(CAPTURES)
    c1 = tls_conversation(client_context(pki, verify=False, alpn=[HOSTILE_ALPN, "h2"]), server_context(pki),
                          server_hostname=HOSTILE_SNI, client=("192.0.2.66", 51000), server=("198.51.100.20", 443))
    assert c1.expected["handshake_complete"] and c1.expected["sni_seen_by_server"] == HOSTILE_SNI
    legacy = "DEFAULT:@SECLEVEL=0"
    with warnings.catch_warnings():  # TLS 1.0 is deprecated: that is the point of this connection
        warnings.simplefilter("ignore", DeprecationWarning)
        cctx = client_context(pki, verify=False, min_version="TLSv1", max_version="TLSv1", ciphers=legacy)
        sctx = server_context(pki, min_version="TLSv1", max_version="TLSv1", ciphers=legacy)
    c2 = tls_conversation(cctx, sctx, server_hostname="legacy.test", client=("192.0.2.66", 51001),
                          server=("198.51.100.20", 443))
    assert c2.expected["version"] == "TLS 1"
    write_pcap(path, merge_frames(frames_for(c1), frames_for(c2, t0=1767225600.5)))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    pcap = d / "hostile.pcap"
    _hostile_pcap(pcap)
    out = d / "report"
    r = cli("report", *map(str, BUNDLED), str(pcap), "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    return {"pcap": pcap, "dir": out, "html": (out / "index.html").read_text(encoding="utf-8"),
            "df": pd.read_parquet(out / "connections.parquet")}


class _Ladders(HTMLParser):
    """Detail sections of the page and the arrows of each one's ladder SVG."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[tuple[str, int], list[dict[str, str]]] = {}
        self.rows: list[str] = []
        self._cur: tuple[str, int] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section" and "detail" in a.get("class", "").split():
            self._cur = (a["data-capture"], int(a["data-stream"]))
            assert self._cur not in self.sections, self._cur
            self.sections[self._cur] = []
        elif tag == "g" and self._cur and "arrow" in a.get("class", "").split():
            self.sections[self._cur].append(a)
        elif tag == "tr" and a.get("data-href"):
            self.rows.append(a["data-href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._cur = None


def _parse(html: str) -> _Ladders:
    p = _Ladders()
    p.feed(html)
    return p


# --------------------------------------------------------------------------- files and counts


def test_report_writes_every_connection_in_every_file(bundled):
    out, df = bundled["dir"], bundled["df"]
    api = analyzer.analyze(BUNDLED)
    assert len(df) == len(api) > 0
    assert list(zip(df.capture, df.stream)) == list(zip(api.capture, api.stream))
    csv_rows = pd.read_csv(out / "connections.csv")
    assert len(csv_rows) == len(df)
    jsonl = (out / "connections.jsonl").read_text().splitlines()
    assert len(jsonl) == len(df) and json.loads(jsonl[0])["capture"] == df.capture.iloc[0]
    page = _parse(bundled["html"])
    assert set(page.sections) == set(zip(df.capture, (int(s) for s in df.stream)))
    assert len(page.rows) == len(df)


def test_summary_json_counts_agree_with_the_table(bundled):
    s, df = bundled["summary"], bundled["df"]
    assert s["captures"] == df.capture.nunique()

    def check(block: dict, d: pd.DataFrame) -> None:
        tls = d[d.is_tls.fillna(False)]
        complete = d[d.handshake_complete.fillna(False)]
        assert block["connections"] == len(d)
        assert block["tls"] == len(tls)
        assert block["complete"] == len(complete)
        assert block["failed"] == len(tls) - int(tls.handshake_complete.fillna(False).sum())
        assert block["resumed"] == int(d.resumed.fillna(False).sum())
        assert block["hrr"] == int(d.hrr.fillna(False).sum())
        for col in ("version", "cipher_suite", "group", "alpn", "alert"):
            vals = d[col].dropna()
            assert block[col] == dict(Counter(v for v in vals if v != "")), col
        assert block["resumption"] == dict(Counter(complete.resumption))
        assert block["failure"] == dict(Counter(failure_kind(f) for f in d.failure.dropna() if f))
        ms = complete.handshake_ms.dropna().astype(float)
        hs = block["handshake_ms"]
        assert hs["count"] == len(ms)
        if len(ms):
            for p in (50, 90, 95, 99):
                assert hs[f"p{p}"] == pytest.approx(ms.quantile(p / 100), abs=1e-3)
            assert hs["min"] == pytest.approx(ms.min(), abs=1e-3) and hs["max"] == pytest.approx(ms.max(), abs=1e-3)

    check(s["overall"], df)
    assert set(s["per_capture"]) == set(df.capture)
    for cap, block in s["per_capture"].items():
        check(block, df[df.capture == cap])
    # the bundled set has failures of three kinds, resumption of three kinds and one HRR
    assert s["overall"]["failed"] >= 3 and s["overall"]["alert"].get("handshake_failure") == 1
    assert {"session_id", "ticket", "psk"} <= set(s["overall"]["resumption"])


# --------------------------------------------------------------------------- ladders


def _expected_arrows(events) -> list[tuple[str, int, str]]:
    """One arrow per event; repeated application data in one direction is one arrow."""
    out: list[tuple[str, int, str]] = []
    last = None
    for e in events:
        d = "c2s" if e.direction == 0 else "s2c"
        if e.kind in ("application_data", "early_data", "heartbeat") and last == (e.kind, d):
            continue
        out.append((e.kind, e.frame, d))
        last = (e.kind, d)
    return out


def test_one_ladder_per_connection_with_an_arrow_per_message(bundled):
    page = _parse(bundled["html"])
    n = 0
    for s in analyzer.iter_summaries(BUNDLED):
        arrows = page.sections[(s.capture, s.stream)]
        got = [(a["data-kind"], int(a["data-frame"]), a["data-dir"]) for a in arrows]
        assert got == _expected_arrows(s.events), (s.capture, s.stream)
        n += 1
    assert n == len(page.sections)


def _kinds(html: str, capture: str, stream: int) -> list[str]:
    """Arrow kinds without TCP closes and close_notify; a decrypted Finished reads as the encrypted record it was."""
    out = []
    for a in _parse(html).sections[(capture, stream)]:
        kind = a["data-kind"]
        if kind in ("fin", "rst") or (kind == "alert" and a.get("class", "").find("s-warn") >= 0):
            continue
        out.append("encrypted_handshake" if kind == "finished" else kind)
    return out


def test_ladders_follow_the_rfc_flows(bundled):
    html = bundled["html"]
    # TLS 1.2 full handshake with ECDHE: RFC 5246 section 7.3, plus a NewSessionTicket (RFC 5077)
    assert _kinds(html, "tls12-ecdhe.pcap", 0) == [
        "client_hello", "server_hello", "certificate", "server_key_exchange", "server_hello_done",
        "client_key_exchange", "change_cipher_spec", "encrypted_handshake",
        "new_session_ticket", "change_cipher_spec", "encrypted_handshake"]
    # RSA key exchange: no ServerKeyExchange
    assert "server_key_exchange" not in _kinds(html, "tls12-rsa.pcap", 0)
    # abbreviated handshake: the server's CCS + Finished come first
    assert _kinds(html, "tls12-resume.pcap", 1) == [
        "client_hello", "server_hello", "change_cipher_spec", "encrypted_handshake",
        "change_cipher_spec", "encrypted_handshake"]
    # TLS 1.3 with HelloRetryRequest: a second ClientHello
    k = _kinds(html, "tls13-hrr.pcap", 0)
    assert k[:2] == ["client_hello", "hello_retry_request"] and k.count("client_hello") == 2
    # failure: the alert is drawn in red, the reset as an RST arrow
    arrows = _parse(html).sections[("tls-no-shared-cipher.pcap", 0)]
    alert = [a for a in arrows if a["data-kind"] == "alert"]
    assert len(alert) == 1 and "s-alert" in alert[0]["class"] and alert[0]["data-dir"] == "s2c"
    assert "Alert: fatal handshake_failure" in html
    assert [a["data-kind"] for a in _parse(html).sections[("tls-reset.pcap", 0)]][-1] == "rst"


def test_ladder_command_prints_text_arrows():
    r = cli("ladder", str(CAPTURES / "tls-no-shared-cipher.pcap"), "--stream", "0", "-q")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "handshake_failure" in lines[1]  # the verdict
    hello = next(line for line in lines if "ClientHello" in line)
    alert = next(line for line in lines if "Alert: fatal handshake_failure" in line)
    assert hello.split()[0] == "4" and hello.rstrip().endswith("\u25b6|")   # client -> server
    assert alert.split()[0] == "5" and "|\u25c0" in alert                     # server -> client
    assert float(alert.split()[1]) > float(hello.split()[1]) >= 0             # ms offsets
    assert "\x1b[" not in r.stdout  # no colour codes when piped
    missing = cli("ladder", str(CAPTURES / "tls-no-shared-cipher.pcap"), "--stream", "9", "-q")
    assert missing.returncode == 2 and "no stream 9" in missing.stderr


def test_ladder_command_without_stream_prints_every_connection():
    r = cli("ladder", str(CAPTURES / "tls12-resume.pcap"), "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("ClientHello") == 2 and "resumed a session by session ID" in r.stdout
    assert message_name("server_key_exchange") == "ServerKeyExchange"


def test_summary_command_prints_only_tables():
    r = cli("summary", *map(str, BUNDLED), "-q")
    assert r.returncode == 0, r.stderr
    for word in ("Captures", "Versions", "Cipher suites", "Resumption", "Failures", "handshake_failure",
                 "Handshake duration", "tls12-rsa.pcap", "TLS_AES_256_GCM_SHA384"):
        assert word in r.stdout, word
    assert r.stderr == ""


# --------------------------------------------------------------------------- hostile strings and caps


def test_wire_strings_are_escaped_in_the_page(hostile):
    html, df = hostile["html"], hostile["df"]
    assert HOSTILE_SNI in set(df.sni.dropna())  # the table keeps the raw value
    assert "<script>window" not in html and "onerror=window" not in html.replace("onerror=window.__xss=2&gt;", "")
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;.test" in html
    assert "&lt;img src=x onerror=window.__xss=2&gt;" in html
    assert len(re.findall(r"<script\b", html, flags=re.I)) == 1  # the page's own script only
    assert re.search(r"<img\b", html, flags=re.I) is None


def test_cap_keeps_failed_connections_first(tmp_path):
    c = ReportCollector(max_details=3)
    for s in analyzer.iter_summaries(BUNDLED):
        c.add(s)
    paths = write_report(c, tmp_path, files_read=1)
    summary = json.loads(paths["summary.json"].read_text())
    assert summary["html"]["connections_shown"] == 3
    assert summary["html"]["connections_omitted"] == summary["overall"]["connections"] - 3
    page = _parse(paths["index.html"].read_text())
    assert set(page.sections) == {("tls-no-response.pcap", 0), ("tls-no-shared-cipher.pcap", 0), ("tls-reset.pcap", 0)}
    assert 'id="cap-note"' in paths["index.html"].read_text()
    assert len(pd.read_parquet(paths["connections.parquet"])) == summary["overall"]["connections"]


# --------------------------------------------------------------------------- in a browser


def test_page_in_headless_chromium(hostile, tmp_path):
    from chromium_cdp import Browser, find_chromium

    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (Debian package `chromium`; .ci/run installs it)")
    df = hostile["df"]
    n_failed = int((df.is_tls.fillna(False) & ~df.handshake_complete.fillna(False)).sum())
    url = (hostile["dir"] / "index.html").resolve().as_uri()
    with Browser(binary) as b:
        b.navigate(url)
        assert b.problems() == []
        assert b.eval("document.querySelectorAll('#conns tbody tr').length") == len(df)
        assert b.eval("document.scripts.length") == 1
        assert b.eval("window.__xss === undefined")
        sni_cells = b.eval("Array.from(document.querySelectorAll('#conns tbody td')).map(td => td.textContent)")
        assert HOSTILE_SNI in sni_cells

        def visible() -> int:
            return b.eval("document.querySelectorAll('#conns tbody tr:not([hidden])').length")

        def click(selector: str) -> None:
            x, y = b.eval(f"(function(){{var e=document.querySelector({selector!r});e.scrollIntoView({{block:'center',behavior:'instant'}});"
                          "var r=e.getBoundingClientRect();return [r.x+r.width/2,r.y+r.height/2]})()")
            for kind in ("mousePressed", "mouseReleased"):
                b.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

        # typing into the filter box
        click("#q")
        b.call("Input.insertText", text="handshake_failure")
        assert visible() == 1
        assert b.eval("document.getElementById('shown').textContent") == "1"
        b.eval("var q=document.getElementById('q'); q.value=''; q.dispatchEvent(new Event('input'))")
        assert visible() == len(df)
        # the "Failed" and "Weak" chips
        click("button.chip[data-mode=failed]")
        assert visible() == n_failed
        click("button.chip[data-mode=weak]")
        assert visible() == 1  # the TLS 1.0 connection
        click("button.chip[data-mode=all]")
        b.call("Input.insertText", text="xyzzy-no-such-thing")
        assert visible() == 0 and b.eval("!document.getElementById('no-match').hidden")
        b.eval("var q=document.getElementById('q'); q.value=''; q.dispatchEvent(new Event('input'))")
        # sorting by duration puts the numbers in order
        click("#conns thead th:nth-child(8)")
        ms = b.eval("Array.from(document.querySelectorAll('#conns tbody tr td:nth-child(8)')).map(td => td.textContent)")
        nums = [float(x) for x in ms if x]
        assert nums == sorted(nums)
        b.eval("window.scrollTo(0,0)")
        shot = b.screenshot(tmp_path / "report.png")
        assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # clicking a row opens its detail with the ladder
        click("#conns tbody tr.r-failed td:nth-child(3)")
        b.pump(0.2)
        assert b.eval("location.hash").startswith("#c-")
        assert b.eval("getComputedStyle(document.querySelector(location.hash)).display") == "block"
        assert b.eval("document.querySelector(location.hash).querySelectorAll('svg.ladder g.arrow').length") >= 1
        detail = b.screenshot(tmp_path / "detail.png", full_page=False)
        assert detail.stat().st_size > 10_000
        b.call("Input.dispatchKeyEvent", type="keyDown", key="Escape", code="Escape", windowsVirtualKeyCode=27)
        b.pump(0.2)
        assert b.eval("location.hash") == "#_"
        assert b.problems() == []
