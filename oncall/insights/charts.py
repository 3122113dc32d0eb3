"""Server-rendered SVG charts for the insights page: geometry computed here, drawn by the
template (``oncall/_insights_columns.html`` and ``_insights_bars.html``), which escapes every
label. No script and nothing fetched: the numbers are in tables beside each chart too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# Columns: a fixed drawing area the SVG's viewBox scales to the page's width.
COLUMNS_WIDTH = 720
COLUMNS_HEIGHT = 180
AXIS_BOTTOM = 22  # room for the labels under the columns
AXIS_LEFT = 36  # room for the scale's numbers
GAP = 0.15  # of each column's slot, between columns

# Bars: one row per item, the label above its bar.
BARS_WIDTH = 720
BAR_HEIGHT = 14
ROW_HEIGHT = 40
LABEL_CHARS = 60


@dataclass(frozen=True)
class Column:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class ColumnChart:
    width: int
    height: int
    columns: list[Column]
    ticks: list[tuple[float, str]]  # (x of the column's centre, label) under the axis
    top: int  # the scale's top value
    baseline: float
    left: int


def column_chart(labels: Sequence[str], values: Sequence[int], every: int = 1) -> ColumnChart:
    """Vertical columns, one per value, a label under every ``every``-th."""
    top = max(values, default=0) or 1
    plot_width = COLUMNS_WIDTH - AXIS_LEFT
    plot_height = COLUMNS_HEIGHT - AXIS_BOTTOM - 6
    slot = plot_width / max(len(values), 1)
    baseline = COLUMNS_HEIGHT - AXIS_BOTTOM
    columns, ticks = [], []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = plot_height * value / top
        x = AXIS_LEFT + index * slot
        columns.append(
            Column(
                round(x + slot * GAP / 2, 2),
                round(baseline - height, 2),
                round(slot * (1 - GAP), 2),
                round(height, 2),
                label,
                value,
            )
        )
        if index % every == 0:
            ticks.append((round(x + slot / 2, 2), label))
    return ColumnChart(COLUMNS_WIDTH, COLUMNS_HEIGHT, columns, ticks, top, baseline, AXIS_LEFT)


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    value: int
    kind: str  # a CSS class suffix: the series' colour


@dataclass(frozen=True)
class BarRow:
    label: str
    label_y: float
    bar_y: float
    segments: list[Segment]
    total: int
    total_x: float
    total_y: float


@dataclass(frozen=True)
class BarChart:
    width: int
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
    room = BARS_WIDTH - 60  # the total's number after the bar
    rows = []
    for index, (label, segments) in enumerate(zip(labels, series, strict=True)):
        y = index * ROW_HEIGHT
        x, drawn = 0.0, []
        for value, kind in segments:
            width = room * value / top
            drawn.append(Segment(round(x, 2), round(width, 2), value, kind))
            x += width
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        rows.append(BarRow(short, y + 14, y + 20, drawn, totals[index], round(x + 6, 2), y + 32))
    return BarChart(BARS_WIDTH, max(len(rows), 1) * ROW_HEIGHT, rows, list(legend))
