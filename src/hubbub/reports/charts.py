"""Small SVG charts for reports, drawn on the server with inline colours.

The web layer's charts style themselves from the site's stylesheet, which a PDF or an e-mail
does not have, and the web sits above this package; so reports draw their own few shapes.
Every label is escaped here and every number formatted, so the result is safe markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 220
LEFT = 40  # room for the y-axis figures
BOTTOM = 24  # room for the first and last label
PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")
SENTIMENT_COLOURS = {"positive": "#16a34a", "neutral": "#9ca3af", "negative": "#dc2626"}


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _svg(title: str, height: int, parts: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" aria-label="{escape(title)}" '
        f'font-family="sans-serif" font-size="11"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(parts) + "</svg>")  # noqa: S704 - labels escaped above


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[int]], title: str) -> Markup:
    """One line per series over the same x labels (days), with a legend under the plot."""
    peak = max((v for values in series.values() for v in values), default=0)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - 8
    legend_rows = (len(series) + 3) // 4
    height = HEIGHT + 16 * legend_rows
    parts = [
        f'<line x1="{LEFT}" y1="{8 + plot_h}" x2="{WIDTH - 8}" y2="{8 + plot_h}" '
        'stroke="#6b7280"/>',
        f'<text x="{LEFT - 4}" y="14" text-anchor="end" fill="#374151">{peak}</text>',
        f'<text x="{LEFT - 4}" y="{8 + plot_h}" text-anchor="end" fill="#374151">0</text>',
    ]
    step = plot_w / max(len(labels) - 1, 1)
    for i, (name, values) in enumerate(series.items()):
        points = " ".join(
            f"{LEFT + j * step:.1f},{8 + plot_h - (plot_h * v / peak if peak else 0):.1f}"
            for j, v in enumerate(values)
        )
        parts.append(
            f'<polyline fill="none" stroke="{colour(i)}" stroke-width="2" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        x, y = LEFT + (i % 4) * 150, HEIGHT + 4 + 16 * (i // 4)
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour(i)}"/>')
        parts.append(f'<text x="{x + 14}" y="{y + 9}" fill="#111827">{escape(name)}</text>')
    if labels:
        parts.append(f'<text x="{LEFT}" y="{HEIGHT - 6}" fill="#374151">{escape(labels[0])}</text>')
        parts.append(
            f'<text x="{WIDTH - 8}" y="{HEIGHT - 6}" text-anchor="end" fill="#374151">'
            f"{escape(labels[-1])}</text>"
        )
    return _svg(title, height, parts)


def stacked_bars(rows: Sequence[tuple[str, Sequence[tuple[str, int, str]]]], title: str) -> Markup:
    """One horizontal bar per row, split into (name, value, colour) parts, as shares of the
    largest row's total; each part carries a tooltip."""
    peak = max((sum(v for _, v, _ in parts) for _, parts in rows), default=0)
    label_w, bar_h, gap = 140, 18, 8
    plot_w = WIDTH - label_w - 60
    height = max(len(rows), 1) * (bar_h + gap) + gap
    shapes: list[str] = []
    for i, (label, parts) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        shapes.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" fill="#111827">'
            f"{escape(label[:24])}</text>"
        )
        x = float(label_w)
        total = 0
        for name, value, fill in parts:
            width = plot_w * value / peak if peak else 0.0
            shapes.append(
                f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{bar_h}" fill="{fill}">'
                f"<title>{escape(label)} · {escape(name)}: {value}</title></rect>"
            )
            x += width
            total += value
        shapes.append(f'<text x="{x + 6:.1f}" y="{y + 13}" fill="#374151">{total}</text>')
    return _svg(title, height, shapes)
