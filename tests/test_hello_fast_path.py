"""pull_client_hello / pull_server_hello decode well-formed hellos by direct indexing and
fall back to the Buffer-based parser for anything odd: both must give the same hello, or
the same error, for real hellos and for thousands of mutations of them."""

from __future__ import annotations

import glob
import random
from pathlib import Path

import pytest

from analyzer.batch import process_file
from analyzer.tls import messages as m
from analyzer.tls.buffer import TLSDecodeError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hellos():
    bodies: dict[str, list[bytes]] = {"ch": [], "sh": []}
    ch, sh = m.pull_client_hello, m.pull_server_hello
    mp = pytest.MonkeyPatch()
    mp.setattr(m, "pull_client_hello", lambda b: (bodies["ch"].append(bytes(b)), ch(b))[1])
    mp.setattr(m, "pull_server_hello", lambda b: (bodies["sh"].append(bytes(b)), sh(b))[1])
    try:
        files = sorted(glob.glob(str(ROOT / "captures" / "*.pcap*")))
        files += sorted(glob.glob(str(ROOT.parent / "shared" / "captures" / "ja4" / "*.pcap*")))
        for f in files:
            process_file(0, f, "x")
    finally:
        mp.undo()
    assert len(bodies["ch"]) > 50 and len(bodies["sh"]) > 30
    return bodies


def _outcome(fn, body):
    try:
        return "ok", fn(body)
    except TLSDecodeError as e:
        return "error", str(e)


def _mutations(body: bytes, rng: random.Random, n: int):
    yield body
    for _ in range(n):
        x = bytearray(body)
        op = rng.random()
        if op < 0.4 and x:
            x[rng.randrange(len(x))] = rng.randrange(256)
        elif op < 0.7 and x:
            del x[rng.randrange(len(x)):]
        elif op < 0.85:
            x.insert(rng.randrange(len(x) + 1), rng.randrange(256))
        elif x:
            i = rng.randrange(len(x))
            x[i:i + 2] = bytes([rng.randrange(256), rng.randrange(256)])
        yield bytes(x)


@pytest.mark.parametrize("kind", ["ch", "sh"])
def test_fast_and_checked_hello_parsers_agree(hellos, kind):
    fast, checked = ((m.pull_client_hello, m._pull_client_hello_checked) if kind == "ch"
                     else (m.pull_server_hello, m._pull_server_hello_checked))
    rng = random.Random(7)
    compared = errors = 0
    for body in hellos[kind]:
        for v in _mutations(body, rng, 40):
            a, b = _outcome(fast, v), _outcome(checked, v)
            assert a == b, v.hex()
            compared += 1
            errors += a[0] == "error"
    assert compared > 1000 and errors > 100  # both paths and both outcomes were exercised
    assert _outcome(fast, bytearray(hellos[kind][0])) == _outcome(checked, hellos[kind][0])
