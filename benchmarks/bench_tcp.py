"""Throughput of `FlowTable.add` on synthetic segments (fast path and in-order data).

Run: python benchmarks/bench_tcp.py [N]   (default 1,000,000 segments)
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from analyzer.tcp import FlowTable

PA = 0x18
S_ADDR = bytes([192, 0, 2, 1])


def rnd(n: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n)


def _bench(n: int) -> dict[str, float]:
    """Segments/s of FlowTable.add for pure fast-path segments and in-order data."""

    class Quiet:
        def __init__(self, wants: bool) -> None:
            self.wants_payload = wants

        def on_data(self, *a: Any) -> None: ...
        def on_gap(self, *a: Any) -> None: ...
        def on_fin(self, *a: Any) -> None: ...
        def on_rst(self, *a: Any) -> None: ...
        def on_close(self, *a: Any) -> None: ...

    out: dict[str, float] = {}
    payload = rnd(1000, 19)
    for name, wants in (("fast_path", False), ("in_order_data", True)):
        t = FlowTable(lambda f, w=wants: Quiet(w))  # type: ignore[misc]
        nflows = 100
        segs = []
        for i in range(n):
            k = i % nflows
            src = bytes([10, 1, k >> 8, k & 0xFF])
            j = i // nflows
            d = j & 1
            seq = (1000 * (j // 2)) & 0xFFFFFFFF
            if d == 0:
                segs.append((i + 1, i * 1e-4, src, 40000 + k, S_ADDR, 443, seq, seq, PA,
                             memoryview(payload), 1000))
            else:
                segs.append((i + 1, i * 1e-4, S_ADDR, 443, src, 40000 + k, seq, seq, PA,
                             memoryview(payload), 1000))
        add = t.add
        t0 = time.perf_counter()
        for s in segs:
            add(s)
        out[name] = n / (time.perf_counter() - t0)
        assert t.stats.gaps == 0 and t.stats.retransmissions == 0
    return out


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for name, rate in _bench(n).items():
        print(f"{name:15s} {rate / 1e6:.2f} M segments/s")
