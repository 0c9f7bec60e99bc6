"""Small inline SVG charts for the HTML report: bar charts, a duration histogram, a timeline.

Owns chart drawing only: values in, one `<svg>` string out, with no scripts,
no external references and no style attributes (colours are presentation
attributes), so the report stays self-contained under a strict Content
Security Policy. Labels are XML-escaped here; callers pass raw strings.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from html import escape as _xml
from typing import Sequence

GOOD, NEUTRAL, WARN, BAD, MUTED = "#16a34a", "#3b82f6", "#f59e0b", "#dc2626", "#9ca3af"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _t(text: object) -> str:
    return _xml(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)))


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _empty(width: int, message: str) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="60" '
            f'viewBox="0 0 {width} 60"><text x="{width / 2}" y="34" text-anchor="middle" '
            f'fill="{MUTED}" class="chart-empty">{_t(message)}</text></svg>')


def bar_chart(items: Sequence[tuple[str, int, str]], *, total: int | None = None, width: int = 460,
              label_width: int = 230, empty: str = "nothing to show") -> str:
    """Horizontal bars: (label, count, colour) per bar, with the count and its share of `total`."""
    if not items:
        return _empty(width, empty)
    row = 22
    h = row * len(items) + 8
    top = max((c for _, c, _ in items), default=1) or 1
    bar_w = width - label_width - 78
    total = total if total else sum(c for _, c, _ in items)
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
           f'viewBox="0 0 {width} {h}" role="img">']
    for i, (label, count, colour) in enumerate(items):
        y = 4 + i * row
        w = max(2.0, bar_w * count / top)
        share = f"{100.0 * count / total:.0f}%" if total else ""
        chars = max(8, int(label_width / 7.2))
        out.append(f'<g class="bar" data-label="{_t(label)}" data-count="{count}"><title>{_t(label)}: {count}'
                   f'{" (" + share + ")" if share else ""}</title>')
        out.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" class="chart-label">'
                   f'{_t(_short(label, chars))}</text>')
        out.append(f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" rx="3" fill="{colour}"/>')
        out.append(f'<text x="{label_width + w + 6:.1f}" y="{y + 15}" class="chart-num">{count}'
                   f'<tspan class="chart-share" dx="6">{share}</tspan></text></g>')
    out.append("</svg>")
    return "".join(out)


def _nice(x: float) -> float:
    """The nearest 1, 2, 5 x 10^k at or above x."""
    if x <= 0:
        return 1.0
    e = math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        v = m * 10 ** e
        if v >= x * 0.999:
            return v
    return 10 ** (e + 1)


def _fmt_ms(v: float) -> str:
    if v >= 1000:
        s = v / 1000
        return f"{s:g} s"
    return f"{v:g}"


def duration_bins(values: Sequence[float], max_bins: int = 16) -> list[tuple[float, float, int]]:
    """(low, high, count) bins: linear with a nice width when the range is narrow, else 1-2-5 logarithmic."""
    vals = [v for v in values if v is not None and not math.isnan(v) and v >= 0]
    if not vals:
        return []
    lo, hi = min(vals), max(vals)
    if hi == lo:
        width = _nice(max(hi * 0.1, 0.001))
        start = round(math.floor(lo / width + 1e-9) * width, 9)
        return [(start, start + width, len(vals))]
    if lo > 0 and hi / lo > 30:
        edges: list[float] = []
        e = math.floor(math.log10(lo))
        while not edges or edges[-1] <= hi:
            edges.extend(m * 10.0 ** e for m in (1, 2, 5))
            e += 1
        first = max(k for k, x in enumerate(edges) if x <= lo)
        last = next(k for k, x in enumerate(edges) if x > hi)
        edges = edges[first : last + 1]
    else:
        width = _nice((hi - lo) / max_bins)
        start = round(math.floor(lo / width + 1e-9) * width, 9)
        edges = [start]
        while edges[-1] <= hi:
            edges.append(round(edges[-1] + width, 9))
    counts = [0] * (len(edges) - 1)
    for v in vals:
        # bins are [low, high); the last one is closed
        lo_i, hi_i = 0, len(edges) - 2
        while lo_i < hi_i:
            mid = (lo_i + hi_i + 1) // 2
            if edges[mid] <= v:
                lo_i = mid
            else:
                hi_i = mid - 1
        counts[lo_i] += 1
    return [(edges[i], edges[i + 1], counts[i]) for i in range(len(counts))]


def histogram(values: Sequence[float], *, width: int = 460, height: int = 170, unit: str = "ms",
              empty: str = "no completed handshakes") -> str:
    bins = duration_bins(values)
    if not bins:
        return _empty(width, empty)
    left, bottom, top_pad = 34, 34, 12
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max(c for _, _, c in bins) or 1
    bw = plot_w / len(bins)
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img">',
           f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#d1d5db"/>',
           f'<text x="{left - 4}" y="{top_pad + 8}" text-anchor="end" class="chart-axis">{top}</text>',
           f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end" class="chart-axis">0</text>']
    step = max(1, math.ceil(len(bins) / 8))
    for i, (lo, hi, c) in enumerate(bins):
        x = left + i * bw
        bh = plot_h * c / top
        out.append(f'<g class="bin"><title>{_fmt_ms(lo)}\u2013{_fmt_ms(hi)} {unit}: {c}</title>'
                   f'<rect x="{x + 1:.1f}" y="{top_pad + plot_h - bh:.1f}" width="{max(bw - 2, 1):.1f}" '
                   f'height="{bh:.1f}" rx="2" fill="{NEUTRAL}"/></g>')
        if i % step == 0:
            out.append(f'<text x="{x:.1f}" y="{top_pad + plot_h + 14}" text-anchor="middle" '
                       f'class="chart-axis">{_fmt_ms(lo)}</text>')
    out.append(f'<text x="{left + plot_w:.1f}" y="{top_pad + plot_h + 14}" text-anchor="middle" '
               f'class="chart-axis">{_fmt_ms(bins[-1][1])}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 3}" text-anchor="middle" class="chart-axis">'
               f'handshake duration ({unit})</text>')
    out.append("</svg>")
    return "".join(out)


_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800,
          3600, 7200, 21600, 43200, 86400, 604800)


def _span_text(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    if seconds < 86400:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 86400:g} d"


def _utc(ts: float, span: float) -> str:
    try:
        d = _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
    except (ValueError, OverflowError, OSError):  # a time no calendar holds (hostile capture)
        return f"{ts:.0f} s"
    if span < 1:
        return d.strftime("%H:%M:%S.%f")[:-3]
    if span < 86400:
        return d.strftime("%H:%M:%S")
    return d.strftime("%Y-%m-%d %H:%M")


def timeline(points: Sequence[tuple[float, str]], *, width: int = 460, height: int = 170, max_bars: int = 48,
             colours: dict[str, str] | None = None, order: Sequence[str] = ("complete", "failed", "other")) -> str:
    """Connections per time bucket, stacked by outcome; `points` are (unix time, outcome)."""
    pts = [(t, o) for t, o in points if t is not None and not math.isnan(t)]
    if not pts:
        return _empty(width, "no connections")
    colours = colours or {"complete": GOOD, "failed": BAD, "other": MUTED}
    t0 = min(t for t, _ in pts)
    t1 = max(t for t, _ in pts)
    span = t1 - t0
    step = next((s for s in _STEPS if span / s < max_bars), _STEPS[-1])
    start = math.floor(t0 / step) * step
    n = int((t1 - start) // step) + 1
    buckets = [dict.fromkeys(order, 0) for _ in range(n)]
    for t, o in pts:
        i = min(int((t - start) // step), n - 1)
        key = o if o in buckets[i] else order[-1]
        buckets[i][key] += 1
    left, bottom, top_pad = 34, 34, 12
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max(sum(b.values()) for b in buckets) or 1
    bw = plot_w / n
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img">',
           f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#d1d5db"/>',
           f'<text x="{left - 4}" y="{top_pad + 8}" text-anchor="end" class="chart-axis">{top}</text>',
           f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end" class="chart-axis">0</text>']
    for i, b in enumerate(buckets):
        x = left + i * bw
        y = top_pad + plot_h
        total = sum(b.values())
        if not total:
            continue
        parts = ", ".join(f"{v} {k}" for k, v in b.items() if v)
        out.append(f'<g class="tbin"><title>{_t(_utc(start + i * step, span))} (+{_span_text(step)}): {parts}</title>')
        for key in order:
            v = b[key]
            if not v:
                continue
            bh = plot_h * v / top
            y -= bh
            out.append(f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(bw - 1, 1):.1f}" height="{bh:.1f}" '
                       f'fill="{colours.get(key, MUTED)}"/>')
        out.append("</g>")
    out.append(f'<text x="{left}" y="{top_pad + plot_h + 14}" class="chart-axis">{_t(_utc(start, span))}</text>')
    out.append(f'<text x="{left + plot_w}" y="{top_pad + plot_h + 14}" text-anchor="end" class="chart-axis">'
               f'{_t(_utc(start + n * step, span))}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 3}" text-anchor="middle" class="chart-axis">'
               f'time (UTC), {_span_text(step)} per bar</text>')
    out.append("</svg>")
    return "".join(out)


def legend(entries: Sequence[tuple[str, str]]) -> str:
    """A one-line HTML legend: (colour, label) pairs as small SVG swatches."""
    parts = []
    for colour, label in entries:
        parts.append(f'<span class="legend-item"><svg width="10" height="10" viewBox="0 0 10 10">'
                     f'<rect width="10" height="10" rx="2" fill="{colour}"/></svg> {_t(label)}</span>')
    return '<div class="legend">' + "".join(parts) + "</div>"


__all__ = ["bar_chart", "histogram", "timeline", "legend", "duration_bins", "GOOD", "NEUTRAL", "WARN", "BAD", "MUTED"]
