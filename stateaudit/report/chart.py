"""Geometry of the findings-by-service-and-risk bar chart that the HTML reports draw as inline SVG.

One horizontal bar per service, stacked by risk (CRITICAL first), all on one scale; the template
(`templates/_chart.html.j2`) only places what this computes, so the drawing needs no script.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..model import Risk

RISKS = tuple(r.name for r in sorted(Risk, reverse=True))
LABEL_WIDTH = 260
BAR_AREA = 520
ROW_HEIGHT = 24
TOP = 8
LEGEND_HEIGHT = 34
COUNT_WIDTH = 48


@dataclass(frozen=True)
class Segment:
    risk: str
    count: int
    x: float
    width: float


@dataclass(frozen=True)
class Bar:
    label: str
    anchor: str  # the id of the service's section, for a link
    y: int
    total: int
    segments: tuple[Segment, ...]

    @property
    def end(self) -> float:
        return self.segments[-1].x + self.segments[-1].width if self.segments else LABEL_WIDTH


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int
    legend_y: int
    risks: tuple[str, ...] = RISKS


def findings_chart(services: Iterable[tuple[str, str, Mapping[str, int]]]) -> Chart:
    """`services` are (label, anchor, unsuppressed findings by risk)."""
    items = list(services)
    largest = max((sum(counts.get(r, 0) for r in RISKS) for _, _, counts in items), default=0) or 1
    bars = []
    for row, (label, anchor, counts) in enumerate(items):
        x = float(LABEL_WIDTH)
        segments = []
        for risk in RISKS:
            count = counts.get(risk, 0)
            if count:
                width = round(BAR_AREA * count / largest, 2)
                segments.append(Segment(risk, count, round(x, 2), width))
                x += width
        bars.append(Bar(label, anchor, TOP + row * ROW_HEIGHT, sum(s.count for s in segments), tuple(segments)))
    legend_y = TOP + len(bars) * ROW_HEIGHT + 8
    return Chart(tuple(bars), LABEL_WIDTH + BAR_AREA + COUNT_WIDTH, legend_y + LEGEND_HEIGHT, LABEL_WIDTH, legend_y)
