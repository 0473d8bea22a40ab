"""The depth chart: an inline SVG polyline per queue, drawn on the server."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from taskworker.console.queues import Sample

WIDTH, HEIGHT, PAD = 480, 120, 4
COLOURS = {"queue": "#2563eb", "dlq": "#dc2626"}


def depth_chart(samples: Sequence[Sample]) -> str:
    """Visible messages of each queue over the samples, scaled to the highest depth."""
    if len(samples) < 2:
        return '<p class="muted">The chart appears after two samples.</p>'
    start, end = samples[0].at, samples[-1].at
    span = max(end - start, 1e-9)
    top = max(1, *(d.visible for s in samples for d in s.depths.values()))
    lines = []
    for name in samples[-1].depths:
        points = " ".join(
            f"{PAD + (s.at - start) / span * (WIDTH - 2 * PAD):.1f},"
            f"{HEIGHT - PAD - s.depths[name].visible / top * (HEIGHT - 2 * PAD):.1f}"
            for s in samples
            if name in s.depths
        )
        colour = COLOURS.get(name.split(":")[0], "#555")  # a queue's kind: queue or DLQ
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
    label = f"visible messages, last {span / 60:.0f} min, max {top}"
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(lines)}"
        f'<text x="{PAD + 2}" y="14" font-size="11" fill="#6b7280">{top}</text>'
        f'<text x="{PAD + 2}" y="{HEIGHT - PAD - 2}" font-size="11" fill="#6b7280">0</text></svg>'
    )
