"""Server-rendered SVG charts for the insights page: geometry computed here, drawn by the
template (``oncall/_insights_columns.html`` and ``_insights_bars.html``), which escapes every
label. No script and nothing fetched: the numbers are in tables beside each chart too.

Horizontal positions are percentages of the chart's width and vertical ones pixels, with no
``viewBox``: a chart takes the width of its column while its text keeps its size, readable on
a 390-pixel phone as on a desktop (a scaled drawing would shrink the labels with the chart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Columns: the plot's share of the width after the scale's numbers, and its heights (px).
COLUMNS_LEFT = 10.0  # % for the scale's numbers
COLUMNS_HEIGHT = 180
AXIS_BOTTOM = 22  # room for the labels under the columns
TOP_ROOM = 8
GAP = 0.2  # of each column's slot, between columns

# Bars: one row per item, its label above the bar, its total after it.
BARS_ROOM = 88.0  # % of the width the longest bar takes; the rest holds its number
ROW_HEIGHT = 44
LABEL_CHARS = 48


@dataclass(frozen=True)
class Column:
    x: float  # %
    y: float  # px
    width: float  # %
    height: float  # px
    label: str
    value: int


@dataclass(frozen=True)
class ColumnChart:
    height: int
    columns: list[Column]
    ticks: list[tuple[float, str]]  # (% of the column's centre, label) under the axis
    top: int  # the scale's top value
    baseline: int
    left: float


def column_chart(labels: Sequence[str], values: Sequence[int], every: int = 1) -> ColumnChart:
    """Vertical columns, one per value, a label under every ``every``-th."""
    top = max(values, default=0) or 1
    plot_height = COLUMNS_HEIGHT - AXIS_BOTTOM - TOP_ROOM
    slot = (100 - COLUMNS_LEFT) / max(len(values), 1)
    baseline = COLUMNS_HEIGHT - AXIS_BOTTOM
    columns, ticks = [], []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = plot_height * value / top
        x = COLUMNS_LEFT + index * slot
        columns.append(
            Column(
                round(x + slot * GAP / 2, 3),
                round(baseline - height, 2),
                round(slot * (1 - GAP), 3),
                round(height, 2),
                label,
                value,
            )
        )
        if index % every == 0:
            ticks.append((round(x + slot / 2, 3), label))
    return ColumnChart(COLUMNS_HEIGHT, columns, ticks, top, baseline, COLUMNS_LEFT)


@dataclass(frozen=True)
class Segment:
    x: float  # %
    width: float  # %
    value: int
    kind: str  # a CSS class suffix: the series' colour


@dataclass(frozen=True)
class BarRow:
    label: str
    label_y: int
    bar_y: int
    segments: list[Segment]
    total: int
    total_x: float  # %
    total_y: int


@dataclass(frozen=True)
class BarChart:
    height: int
    rows: list[BarRow]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (kind, words)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Sequence[tuple[int, str]]],
    legend: Sequence[tuple[str, str]] = (),
) -> BarChart:
    """Horizontal bars, one row per label, each made of (value, kind) segments end to end,
    scaled to the longest row."""
    totals = [sum(value for value, _kind in row) for row in series]
    top = max(totals, default=0) or 1
    rows = []
    for index, (label, segments) in enumerate(zip(labels, series, strict=True)):
        y = index * ROW_HEIGHT
        x, drawn = 0.0, []
        for value, kind in segments:
            width = BARS_ROOM * value / top
            drawn.append(Segment(round(x, 3), round(width, 3), value, kind))
            x += width
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        rows.append(BarRow(short, y + 15, y + 22, drawn, totals[index], round(x, 3), y + 35))
    return BarChart(max(len(rows), 1) * ROW_HEIGHT + 4, rows, list(legend))
