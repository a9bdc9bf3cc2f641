"""Charts drawn on the server as SVG: no chart library, no script, no inline style (the CSP holds). Colours
come from the stylesheet's classes. Each chart carries a text equivalent; the usage card adds a table."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString

BAR = 10  # user units per bar: the SVG scales to its box
HEIGHT = 100
SPARK_BAR, SPARK_HEIGHT = 4, 16


def stacked_bars(bars: Sequence[tuple[str, int, int]], label: str) -> SafeString:
    """Bars of (title, successes, refusals), refusals stacked on successes, scaled to the tallest; each bar
    has a `<title>` (a tooltip) and the whole an accessible name."""
    tallest = max((ok + refused for _, ok, refused in bars), default=0) or 1
    parts = []
    for i, (title, ok, refused) in enumerate(bars):
        x = i * BAR + 1
        ok_height = ok / tallest * (HEIGHT - 2)
        refused_height = refused / tallest * (HEIGHT - 2)
        tip = f"<title>{escape(title)}: {ok:,} successful, {refused:,} refused</title>"
        parts.append(
            f'<g>{tip}<rect class="bar-ok" x="{x}" y="{HEIGHT - ok_height:.2f}" width="{BAR - 2}" height="{ok_height:.2f}"/>'
            f'<rect class="bar-refused" x="{x}" y="{HEIGHT - ok_height - refused_height:.2f}" width="{BAR - 2}" '
            f'height="{refused_height:.2f}"/><rect class="bar-hit" x="{i * BAR}" y="0" width="{BAR}" height="{HEIGHT}"/></g>'
        )
    width = max(len(bars), 1) * BAR
    return SafeString(
        f'<svg class="bar-chart" viewBox="0 0 {width} {HEIGHT}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(label)}"><line class="axis" x1="0" y1="{HEIGHT}" x2="{width}" y2="{HEIGHT}"/>'
        f"{''.join(parts)}</svg>"
    )


def sparkline(values: Sequence[int], label: str) -> SafeString:
    """A small bar sparkline of `values`, scaled to the largest, in whole pixels. Two elements whatever its length
    (a list page draws one per row): a path of the bars, and a path of flat ticks for the zeros."""
    largest = max(values, default=0) or 1
    bars = zeros = ""
    for i, value in enumerate(values):
        height = max(round(value * SPARK_HEIGHT / largest), 1)
        bar = f"M{i * SPARK_BAR} {SPARK_HEIGHT}h{SPARK_BAR - 1}v-{height}h-{SPARK_BAR - 1}z"
        if value:
            bars += bar
        else:
            zeros += bar
    paths = (f'<path d="{bars}"/>' if bars else "") + (f'<path class="zero" d="{zeros}"/>' if zeros else "")
    width = len(values) * SPARK_BAR
    return SafeString(
        f'<svg class="sparkline" viewBox="0 0 {width} {SPARK_HEIGHT}" width="{width * 2}" height="{SPARK_HEIGHT}" '
        f'role="img" aria-label="{escape(label)}">{paths}</svg>'
    )
