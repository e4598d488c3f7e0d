"""Charts drawn on the server as SVG: no script, no library, nothing fetched at run time.

Each chart is decorative for screen readers (``aria-hidden``): the page puts a text table with
the same figures beside it. The drawing is 320 units wide and scales to its container (CSS
``svg.chart``), so its text stays legible on a 375 px phone; every text in it is escaped here.

- ``bar_groups``: horizontal bars in labelled groups (an edition's funnel, the last editions
  of a newsletter with their delivered, bounced and clicked rates);
- ``lines``: one line per series over regular steps (readers over time, week by week).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 320
# Colours that stay apart for the common colour blindnesses (Okabe–Ito), on white.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
_TEXT = 'font-family="system-ui, sans-serif" font-size="13" fill="#1a1a1a"'


@dataclass(frozen=True)
class Bar:
    label: str
    share: float  # 0 to 1: the bar's length
    text: str  # the value written after the label


@dataclass(frozen=True)
class BarGroup:
    title: str
    bars: Sequence[Bar]


def bar_groups(title: str, groups: Sequence[BarGroup]) -> str:
    """Groups of horizontal bars, each bar on its own line under its label and value."""
    parts: list[str] = []
    y = 0
    for group in groups:
        if group.title:
            y += 18
            parts.append(f'<text x="0" y="{y}" {_TEXT} font-weight="bold">{escape(group.title)}</text>')
        for number, bar in enumerate(group.bars):
            y += 17
            parts.append(f'<text x="0" y="{y}" {_TEXT}>{escape(bar.label)} : {escape(bar.text)}</text>')
            length = round(max(0.0, min(bar.share, 1.0)) * WIDTH, 1)
            colour = COLOURS[number % len(COLOURS)]
            parts.append(f'<rect x="0" y="{y + 4}" width="{WIDTH}" height="8" fill="#eeeeee"/>')
            parts.append(f'<rect x="0" y="{y + 4}" width="{length}" height="8" fill="{colour}"/>')
            y += 12
        y += 8
    return _svg(title, y, parts)


def lines(title: str, steps: Sequence[str], series: dict[str, Sequence[int]]) -> str:
    """One polyline per series over ``steps`` (x labels: first and last written), with a legend."""
    top = max((max(values, default=0) for values in series.values()), default=0) or 1
    plot_top, plot_height = 8, 140
    span = max(len(steps) - 1, 1)
    parts = [
        f'<line x1="0" y1="{plot_top + plot_height}" x2="{WIDTH}" y2="{plot_top + plot_height}" stroke="#888888"/>',
        f'<text x="0" y="{plot_top + 10}" {_TEXT}>{top}</text>',
    ]
    for number, values in enumerate(series.values()):
        points = " ".join(
            f"{round(index * WIDTH / span, 1)},{round(plot_top + plot_height - value * plot_height / top, 1)}"
            for index, value in enumerate(values)
        )
        colour = COLOURS[number % len(COLOURS)]
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    y = plot_top + plot_height + 16
    if steps:
        parts.append(f'<text x="0" y="{y}" {_TEXT}>{escape(steps[0])}</text>')
        parts.append(f'<text x="{WIDTH}" y="{y}" text-anchor="end" {_TEXT}>{escape(steps[-1])}</text>')
    for number, name in enumerate(series):
        y += 18
        colour = COLOURS[number % len(COLOURS)]
        parts.append(f'<rect x="0" y="{y - 10}" width="14" height="10" fill="{colour}"/>')
        parts.append(f'<text x="20" y="{y}" {_TEXT}>{escape(name)}</text>')
    return _svg(title, y + 6, parts)


def _svg(title: str, height: int, parts: list[str]) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-hidden="true" focusable="false"><title>{escape(title)}</title>' + "".join(parts) + "</svg>"
    )
