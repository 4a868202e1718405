"""Charts as inline SVG, generated in Python: no JavaScript, no network, no plotting library.

Each function returns one ``<svg class="chart">`` element (as jinja2 ``Markup``) with a
``<title>``, axis labels, and one ``<title>`` tooltip per drawn bar or point. Every element that
stands for data has the class ``mark`` and a ``data-value`` attribute, so a test (or a reader of
the page source) can tell what was drawn. All text is HTML-escaped here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Mapping, Sequence

from markupsafe import Markup

WIDTH = 640
PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    tooltip: str
    group: str = ""      # bars of one group are drawn under one heading (horizontal charts)
    color: str = PALETTE[0]


def bin_index(value: float, *, lo: float, hi: float, bins: int) -> int:
    """The bin of `value` among `bins` of equal width over [lo, hi]; the last includes `hi`, outside is clipped."""
    if bins < 1 or hi <= lo:
        raise ValueError(f"histogram needs bins >= 1 and hi > lo (got bins={bins}, [{lo}, {hi}])")
    return min(bins - 1, max(0, int((value - lo) / (hi - lo) * bins)))


def histogram(values: Sequence[float], *, lo: float, hi: float, bins: int) -> tuple[int, ...]:
    """Counts per bin (see bin_index)."""
    counts = [0] * bins
    for v in values:
        counts[bin_index(v, lo=lo, hi=hi, bins=bins)] += 1
    return tuple(counts)


def nice_ticks(hi: float, *, lo: float = 0.0, count: int = 5, integer: bool = False) -> tuple[float, ...]:
    """Round steps (1, 2, 5 x 10^k) from at most `lo` up to at least `hi`."""
    if hi <= lo:
        return (lo, lo + 1.0)
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return tuple(round(i * step, 10) for i in range(first, last + 1))


def _label_width(labels: Sequence[str]) -> float:
    """Room for left-hand labels at font size 11 (about 6.5 px per character), at most 340 px."""
    return min(340.0, 24 + 6.5 * max((len(s) for s in labels), default=4))


def _fmt(v: float) -> str:
    return f"{v:g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"


def _text(x: float, y: float, text: str, *, anchor: str = "middle", cls: str = "", rotate: bool = False,
          size: int = 12) -> str:
    transform = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}"{klass}{transform}>'
            f'{escape(text)}</text>')


def _svg(height: float, title: str, body: list[str], *, x_label: str, y_label: str,
         left: float, bottom: float) -> Markup:
    """The frame shared by every chart: title on top, x label under the plot, y label rotated at the left."""
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
             f'width="{WIDTH}" height="{height:.0f}" role="img">',
             f"<title>{escape(title)}</title>",
             _text(WIDTH / 2, 18, title, size=15, cls="chart-title"),
             _text((left + WIDTH - 16) / 2, height - 6, x_label, cls="axis-label"),
             _text(14, (28 + height - bottom) / 2, y_label, rotate=True, cls="axis-label"),
             *body, "</svg>"]
    return Markup("\n".join(parts))


def _mark_rect(x: float, y: float, w: float, h: float, value: float, tooltip: str, color: str) -> str:
    return (f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{max(0.0, w):.1f}" height="{max(0.0, h):.1f}" '
            f'fill="{color}" data-value="{value:g}"><title>{escape(tooltip)}</title></rect>')


def column_chart(bars: Sequence[Bar], *, title: str, x_label: str, y_label: str, height: int = 300) -> Markup:
    """Vertical bars on an integer count axis (a histogram when the labels are bins)."""
    left, bottom, top = 56.0, 48.0, 32.0
    plot_h, plot_w = height - top - bottom, WIDTH - left - 16
    ticks = nice_ticks(max((b.value for b in bars), default=0), integer=True)
    y_max = ticks[-1]
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#444"/>']
    for t in ticks:
        y = top + plot_h - t / y_max * plot_h
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        body.append(_text(left - 6, y + 4, _fmt(t), anchor="end"))
    slot = plot_w / max(1, len(bars))
    for i, bar in enumerate(bars):
        h = bar.value / y_max * plot_h
        x = left + i * slot
        if bar.value > 0:
            body.append(_mark_rect(x + slot * 0.1, top + plot_h - h, slot * 0.8, h, bar.value, bar.tooltip,
                                   bar.color))
        body.append(_text(x + slot / 2, top + plot_h + 14, bar.label, size=11))
    return _svg(height, title, body, x_label=x_label, y_label=y_label, left=left, bottom=bottom)


def bar_chart(bars: Sequence[Bar], *, title: str, x_label: str, y_label: str, x_max: float = 1.0,
              percent: bool = True) -> Markup:
    """Horizontal bars, one row each, under a heading per group (e.g. pass rate per test, by topic)."""
    left, top, row, bottom = _label_width([b.label for b in bars] + [b.group for b in bars]), 34.0, 20.0, 44.0
    plot_w = WIDTH - left - 50
    body, y, group = [], top, None
    for bar in bars:
        if bar.group != group:
            group = bar.group
            if group:
                y += 4
                body.append(_text(8, y + 12, group, anchor="start", size=11, cls="group-label"))
                y += row
        w = bar.value / x_max * plot_w
        body.append(_text(left - 6, y + 12, bar.label, anchor="end", size=11))
        body.append(f'<rect x="{left}" y="{y + 2:.1f}" width="{plot_w:.1f}" height="{row - 5:.1f}" fill="#f3f4f6"/>')
        body.append(_mark_rect(left, y + 2, w, row - 5, bar.value, bar.tooltip, bar.color))
        shown = f"{bar.value * 100:.0f}%" if percent else _fmt(bar.value)
        body.append(_text(left + plot_w + 6, y + 12, shown, anchor="start", size=11))
        y += row
    axis_y = y + 4
    body.append(f'<line x1="{left}" y1="{axis_y:.1f}" x2="{left + plot_w}" y2="{axis_y:.1f}" stroke="#444"/>')
    for t in (0, 0.25, 0.5, 0.75, 1.0) if percent else nice_ticks(x_max):
        x = left + t / x_max * plot_w
        body.append(_text(x, axis_y + 14, f"{t * 100:.0f}%" if percent else _fmt(t), size=11))
    return _svg(axis_y + bottom, title, body, x_label=x_label, y_label=y_label, left=left, bottom=bottom)


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    s = sorted(values)

    def q(p: float) -> float:
        pos = p * (len(s) - 1)
        lo = math.floor(pos)
        return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (pos - lo)
    return q(0.25), q(0.5), q(0.75)


def strip_plot(rows: Mapping[str, Sequence[tuple[str, float]]], *, title: str, x_label: str,
               y_label: str) -> Markup:
    """One row per key: a box from the first to the third quartile, the median, and every value as a point."""
    left, top, row, bottom = _label_width(list(rows)), 34.0, 36.0, 44.0
    plot_w = WIDTH - left - 24
    ticks = nice_ticks(max((v for pts in rows.values() for _, v in pts), default=0))
    x_max = ticks[-1]
    body = []

    def px(v: float) -> float:
        return left + v / x_max * plot_w

    for i, (name, points) in enumerate(rows.items()):
        y = top + i * row
        body.append(_text(left - 6, y + row / 2 + 4, name, anchor="end", size=11))
        if not points:
            continue
        q1, median, q3 = _quartiles([v for _, v in points])
        body.append(f'<rect class="box" x="{px(q1):.1f}" y="{y + 6:.1f}" width="{max(1.0, px(q3) - px(q1)):.1f}" '
                    f'height="{row - 12:.1f}" fill="#ddf4ff" stroke="#0969da"><title>{escape(name)}: quartiles '
                    f'{q1:.1f} s, {median:.1f} s, {q3:.1f} s</title></rect>')
        body.append(f'<line x1="{px(median):.1f}" y1="{y + 6:.1f}" x2="{px(median):.1f}" y2="{y + row - 6:.1f}" '
                    f'stroke="#0969da" stroke-width="2"/>')
        for j, (who, v) in enumerate(points):
            jitter = ((j * 7) % 11 - 5) * (row - 16) / 12
            body.append(f'<circle class="mark" cx="{px(v):.1f}" cy="{y + row / 2 + jitter:.1f}" r="3.5" '
                        f'fill="{PALETTE[1]}" fill-opacity="0.75" data-value="{v:g}">'
                        f'<title>{escape(who)}: {v:.1f} s</title></circle>')
    axis_y = top + len(rows) * row + 4
    body.append(f'<line x1="{left}" y1="{axis_y:.1f}" x2="{left + plot_w}" y2="{axis_y:.1f}" stroke="#444"/>')
    for t in ticks:
        body.append(_text(px(t), axis_y + 14, _fmt(t), size=11))
    return _svg(axis_y + bottom, title, body, x_label=x_label, y_label=y_label, left=left, bottom=bottom)


def line_chart(series: Mapping[str, Sequence[float]], *, title: str, x_label: str, y_label: str,
               height: int = 280) -> Markup:
    """One line per series over x = 1, 2, ... (epochs), with a point per value and a legend.

    A series named ``val_<name>`` is dashed, in the colour of ``<name>`` (Keras history keys)."""
    left, bottom, top, right = 56.0, 48.0, 32.0, 130.0
    plot_h, plot_w = height - top - bottom, WIDTH - left - right
    values = [v for vs in series.values() for v in vs if math.isfinite(v)]
    ticks = nice_ticks(max(values, default=1.0), lo=min(values, default=0.0), count=4)
    lo, hi = ticks[0], ticks[-1]
    n = max((len(vs) for vs in series.values()), default=1)

    def px(i: int) -> float:
        return left + (i / (n - 1) if n > 1 else 0.5) * plot_w

    def py(v: float) -> float:
        return top + plot_h - (v - lo) / (hi - lo) * plot_h

    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#444"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#444"/>']
    for v in ticks:
        body.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{left + plot_w}" y2="{py(v):.1f}" stroke="#eee"/>')
        body.append(_text(left - 6, py(v) + 4, _fmt(v), anchor="end", size=11))
    for i in range(n):
        if n <= 12 or i % math.ceil(n / 12) == 0:
            body.append(_text(px(i), top + plot_h + 14, str(i + 1), size=11))
    bases = list(dict.fromkeys(name.removeprefix("val_") for name in series))
    for s, (name, vs) in enumerate(series.items()):
        color = PALETTE[bases.index(name.removeprefix("val_")) % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if name.startswith("val_") else ""
        finite = [(i, v) for i, v in enumerate(vs) if math.isfinite(v)]
        path = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in finite)
        body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        for i, v in finite:
            body.append(f'<circle class="mark" cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{color}" '
                        f'data-value="{v:g}"><title>{escape(name)}, epoch {i + 1}: {v:.4g}</title></circle>')
        ly = top + 10 + s * 18
        body.append(f'<line x1="{WIDTH - right + 14}" y1="{ly}" x2="{WIDTH - right + 34}" y2="{ly}" '
                    f'stroke="{color}" stroke-width="3"{dash}/>')
        body.append(_text(WIDTH - right + 40, ly + 4, name, anchor="start", size=11))
    return _svg(height, title, body, x_label=x_label, y_label=y_label, left=left, bottom=bottom)


def scale_chart(markers: Sequence[tuple[str, float, str]], *, band: tuple[float, float], title: str,
                x_label: str) -> Markup:
    """A number line with a shaded band (e.g. from 0 points to full points) and labelled markers."""
    left, right, top, bottom = 40.0, 40.0, 40.0, 40.0
    plot_w = WIDTH - left - right
    values = [v for _, v, _ in markers] + list(band)
    ticks = nice_ticks(max(values), lo=min(values))
    lo, hi = ticks[0], ticks[-1]

    def px(v: float) -> float:
        return left + (v - lo) / (hi - lo) * plot_w

    axis_y = top + 50
    a, b = sorted(band)
    body = [f'<rect x="{px(a):.1f}" y="{axis_y - 22:.1f}" width="{px(b) - px(a):.1f}" height="22" fill="#fff8c5">'
            f'<title>{escape(x_label)} between {a:g} and {b:g}: partial points</title></rect>',
            f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#444"/>']
    for v in ticks:
        body.append(_text(px(v), axis_y + 16, _fmt(v), size=11))
    for i, (label, v, color) in enumerate(sorted(markers, key=lambda m: m[1])):
        y = axis_y - 30 - (i % 2) * 16
        body.append(f'<line x1="{px(v):.1f}" y1="{axis_y:.1f}" x2="{px(v):.1f}" y2="{y + 4:.1f}" stroke="{color}"/>')
        body.append(f'<circle class="mark" cx="{px(v):.1f}" cy="{axis_y:.1f}" r="5" fill="{color}" '
                    f'data-value="{v:g}"><title>{escape(label)}: {v:.4g}</title></circle>')
        anchor = "start" if px(v) < left + 60 else ("end" if px(v) > WIDTH - right - 60 else "middle")
        body.append(_text(px(v), y, f"{label} {v:.4g}", anchor=anchor, size=11))
    return _svg(axis_y + bottom, title, body, x_label=x_label, y_label="", left=left, bottom=bottom)
