"""Small charts drawn by the server as SVG: no chart library, no CDN, a few hundred bytes."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT = 300, 60


def bars(values: list[int], title: str) -> str:
    """A bar per value, oldest left; the title is the chart's accessible name."""
    top = max(values) or 1
    step = WIDTH / max(1, len(values))
    rects = []
    for i, value in enumerate(values):
        height = round(HEIGHT * value / top, 1)
        rects.append(
            f'<rect x="{i * step:.1f}" y="{HEIGHT - height}" width="{step * 0.8:.1f}" height="{height}">'
            f"<title>{value}</title></rect>"
        )
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">{"".join(rects)}</svg>'
    )
