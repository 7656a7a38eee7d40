"""Charts drawn on the server as SVG: no script, no CDN, and every label escaped here."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 720
HEIGHT = 200
AXIS = 20  # room under the bars for the first and last date


def bar_chart(bars: Sequence[tuple[str, int]], title: str) -> Markup:
    """Vertical bars, one per (label, value); each bar carries a ``<title>`` tooltip.

    Built from numbers and escaped labels only, so the result is safe to put in a page as is.
    """
    peak = max((value for _, value in bars), default=0)
    count = max(len(bars), 1)
    step = WIDTH / count
    plot = HEIGHT - AXIS
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="none">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="0" y1="{plot}" x2="{WIDTH}" y2="{plot}"/>',
    ]
    for i, (label, value) in enumerate(bars):
        height = 0.0 if peak == 0 else plot * value / peak
        parts.append(
            f'<rect class="bar" x="{i * step + 1:.1f}" y="{plot - height:.1f}" '
            f'width="{max(step - 2, 1):.1f}" height="{height:.1f}" data-value="{value}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
    if bars:
        parts.append(f'<text class="tick" x="0" y="{HEIGHT - 4}">{escape(bars[0][0])}</text>')
        parts.append(
            f'<text class="tick" x="{WIDTH}" y="{HEIGHT - 4}" text-anchor="end">'
            f"{escape(bars[-1][0])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated string is escaped above
