"""Factsheet charts as inline SVG strings (matplotlib, Agg-free object API).

Figures are built with :class:`matplotlib.figure.Figure` and the SVG canvas directly, never
through pyplot, so no global figure state is shared and nothing is drawn on a screen. Text stays
text (``svg.fonttype = none``: the page's fonts render it, no font is embedded or fetched), the
output is deterministic (fixed hash salt, no date), the root element scales to its container
(``viewBox`` kept, fixed width/height removed) and every ``id`` is prefixed with the chart's
name so that several charts can share one HTML page.

Long daily histories are decimated before plotting (:func:`min_max_decimation`): per bucket of
days narrower than a rendered pixel, the first, lowest, highest and last points are kept, so the
drawn line covers exactly the same vertical range in every column of pixels (peaks and troughs
stay exact) with a few points per pixel column instead of every day. Axis ticks are placed by
matplotlib's own locators and formatters but drawn as plain lines and texts
(:func:`_draw_line_axes`): matplotlib's tick objects cost more to build and lay out than the
rest of a chart.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import re

import matplotlib
import numpy as np
import polars as pl
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.collections import LineCollection
from matplotlib.colors import TwoSlopeNorm
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.markers import TICKDOWN, TICKLEFT, TICKRIGHT
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import FormatStrFormatter, FuncFormatter, LogLocator, MaxNLocator, ScalarFormatter
from matplotlib.transforms import blended_transform_factory, offset_copy

LINE_COLOUR = "#1f4e79"
REFERENCE_COLOUR = "#9aa3b2"
BACKTEST_COLOUR = "#eef1f5"
DRAWDOWN_COLOUR = "#b03a2e"
UP_COLOUR = "#1b7a3d"
PHONE_TEXT_PX = 10.5
"""Smallest chart text on a phone, css px: each chart carries ``--phone-font``, the font size in
its own units that renders at this size when the chart is :data:`PHONE_CHART_PX` wide."""
PHONE_CHART_PX = 366.0
"""Width of a chart on a 390 px phone (the page's side padding taken off)."""
LINE_MARGINS = (0.9, 0.15, 0.1, 0.3)
"""Left, right, top, bottom margins of the line charts, inches."""
LINE_WIDTH = 7.5
"""Width of the line charts, inches."""
DECIMATION_BUCKETS_PER_INCH = 100
"""Buckets of the min/max decimation per inch of plot width (660 over the 6.6 inch plot area of
the line charts: finer than a pixel column at 100 px per inch)."""
TICK_LENGTH = 3.5
TICK_PAD = 3.5
TICK_WIDTH = 0.8
"""Tick marks and the gap to their labels, points (matplotlib's defaults)."""
COLOUR_BAR_WIDTH = 0.12
"""Width of the heatmaps' colour bars, inches."""
COLOUR_BAR_STEPS = 256
"""Colours of a colour bar, bottom to top (matplotlib's colour maps have 256)."""
COLOUR_BAR_LABEL_GAP = 0.45
"""From the colour bar's right edge to the centre of its title, inches."""
YLABEL_X = 0.12
"""Horizontal position of the centre of a line chart's y-axis title, inches from the left edge."""

STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "indexcalc",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "path.simplify": True,
    "path.simplify_threshold": 0.5,
}
MAX_YEAR_LABELS = 12
"""At most this many year labels on the heatmap's axis (each tick costs rendering time)."""
MONTH_LABELS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _figure(width: float, height: float, margins: tuple[float, float, float, float]) -> Figure:
    """A figure of ``width`` x ``height`` inches with fixed margins (left, right, top, bottom,
    in inches): fixed margins instead of a layout engine, which would measure every label."""
    figure = Figure(figsize=(width, height))
    FigureCanvasSVG(figure)
    left, right, top, bottom = margins
    figure.subplots_adjust(left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height)
    return figure


# attributes are written after white space (a regex with \b or a longer alternation is several
# times slower on charts of tens of kB); xlink:href="#..." is matched by its href="#... part
_ID = re.compile(r'\sid="([^"]+)"')
_ID_REFERENCE = re.compile(r'(\sid="|url\(#|href="#)([^"\)]+)(?=["\)])')


def _svg(figure: Figure, name: str, label: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    metadata_start = text.find("<metadata>")
    if metadata_start >= 0:
        metadata_end = text.index("</metadata>", metadata_start) + len("</metadata>")
        text = text[:metadata_start] + text[metadata_end:].lstrip()
    text = re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", text, count=1)
    # the font size (chart units) that renders at PHONE_TEXT_PX when the chart is PHONE_CHART_PX wide
    units_wide = figure.get_figwidth() * 72.0
    phone_font = max(PHONE_TEXT_PX * units_wide / PHONE_CHART_PX, matplotlib.rcParams["font.size"])
    text = text.replace(
        "<svg ", f'<svg class="chart" role="img" aria-label="{label}" style="--phone-font: {phone_font:.1f}px" ', 1
    )
    ids = set(_ID.findall(text))
    if ids:
        # one pass over the text; only ids defined in this chart are prefixed
        text = _ID_REFERENCE.sub(
            lambda match: f"{match.group(1)}{name}-{match.group(2)}" if match.group(2) in ids else match.group(0), text
        )
    return text.strip()


def min_max_decimation(days: np.ndarray, values: np.ndarray, buckets: int) -> np.ndarray:
    """Positions of the points to draw of a series sorted by day: the day range is cut into
    ``buckets`` buckets of equal length and each bucket keeps its first, lowest, highest and
    last points (at most four; fewer when they coincide), in day order.

    Drawn as a line, the kept points reach in every bucket exactly the minimum and maximum of
    the full series, and join the neighbouring buckets through the same first and last points:
    at a bucket no wider than a pixel column the picture is the one the full series gives.
    ``days``: day numbers (int), ascending; ``values``: floats. Series of at most ``4 *
    buckets`` points, or holding a non-finite value, are kept whole.
    """
    count = len(values)
    if count <= 4 * buckets or not np.all(np.isfinite(values)):
        return np.arange(count)
    span = int(days[-1] - days[0]) + 1
    bucket = (days - days[0]) * buckets // span
    starts = np.flatnonzero(np.diff(bucket, prepend=-1))
    ends = np.append(starts[1:], count) - 1
    # sorted by bucket, then value (stable, so equal values keep their day order): the first row
    # of each bucket is its earliest minimum, the last row its latest maximum
    by_value = np.lexsort((values, bucket))
    lowest, highest = by_value[starts], by_value[ends]
    return np.unique(np.concatenate([starts, ends, lowest, highest]))


def _decimated(frame: pl.DataFrame, value: str, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Dates and values of ``frame`` (``date``, ``value``, sorted by date) to plot over a plot
    area ``width`` inches wide (:func:`min_max_decimation`)."""
    dates = frame.get_column("date")
    values = frame.get_column(value).to_numpy()
    kept = min_max_decimation(dates.to_physical().to_numpy(), values, int(width * DECIMATION_BUCKETS_PER_INCH))
    return dates.to_numpy()[kept], values[kept]


def _draw_line_axes(figure: Figure, axes, y_locator, y_title: str) -> None:
    """Ticks, tick labels, grid and the y title of a line chart, drawn as a few lines and texts.

    The positions and labels are matplotlib's (the axis's date locator and formatter for x, the
    given locator with the default formatter for y) for the final view limits; the axis objects
    themselves are hidden, so matplotlib builds no tick objects. Tick marks point out, labels
    sit :data:`TICK_PAD` beyond them, the grid lines lie under the data lines (as with
    ``axes.axisbelow = "line"``).
    """
    axes.yaxis.set_major_locator(y_locator)
    axes.set_xlim(axes.get_xlim())  # freeze the view: nothing added below may move it
    axes.set_ylim(axes.get_ylim())
    offset = TICK_LENGTH + TICK_PAD
    for axis, blended, marker in ((axes.xaxis, axes.get_xaxis_transform(), TICKDOWN),
                                  (axes.yaxis, axes.get_yaxis_transform(), TICKLEFT)):
        low, high = sorted(axis.get_view_interval())
        tolerance = (high - low) * 1e-10
        locations = [location for location in axis.get_majorticklocs()
                     if low - tolerance <= location <= high + tolerance]
        labels = axis.get_major_formatter().format_ticks(locations)
        x_axis = axis is axes.xaxis
        along = [(location, 0.0) if x_axis else (0.0, location) for location in locations]
        segments = [[(location, 0.0), (location, 1.0)] if x_axis else [(0.0, location), (1.0, location)]
                    for location in locations]
        axes.add_collection(
            LineCollection(segments, transform=blended, colors=matplotlib.rcParams["grid.color"],
                           linewidths=matplotlib.rcParams["grid.linewidth"], alpha=matplotlib.rcParams["grid.alpha"],
                           zorder=1.5),
            autolim=False,
        )
        axes.add_artist(Line2D([point[0] for point in along], [point[1] for point in along], transform=blended,
                               linestyle="none", marker=marker, markersize=TICK_LENGTH, markeredgewidth=TICK_WIDTH,
                               color=matplotlib.rcParams["xtick.color"], clip_on=False))
        shifted = offset_copy(blended, fig=figure, x=0.0 if x_axis else -offset, y=-offset if x_axis else 0.0,
                              units="points")
        for (x, y), label in zip(along, labels):
            if x_axis:
                axes.text(x, y, label, transform=shifted, ha="center", va="top", clip_on=False)
            else:
                axes.text(x, y, label, transform=shifted, ha="right", va="center_baseline", clip_on=False)
    # the y formatter's offset ("+1e6" when the labels only show the last digits), where
    # matplotlib puts it: above the top of the y axis (the date formatter has none)
    offset_text = axes.yaxis.get_major_formatter().get_offset()
    if offset_text:
        axes.text(0.0, 1.01, offset_text, transform=axes.transAxes, ha="left", va="bottom")
    axes.xaxis.set_visible(False)
    axes.yaxis.set_visible(False)
    figure.text(YLABEL_X / figure.get_figwidth(), (axes.get_position().y0 + axes.get_position().y1) / 2, y_title,
                rotation=90, ha="center", va="center", gid="ytitle")


def _grid_labels(axes, column_labels: list[str], row_labels: list[str], rotate_columns: bool = False) -> None:
    """Label an image grid with plain texts under and left of it, with the axes switched off:
    matplotlib's tick objects cost far more to lay out and render than texts."""
    axes.set_axis_off()
    below, left = axes.get_xaxis_transform(), axes.get_yaxis_transform()
    for column, label in enumerate(column_labels):
        axes.text(column, -0.01, label, transform=below, ha="center", va="top", rotation=90 if rotate_columns else 0)
    for row, label in enumerate(row_labels):
        if label:
            axes.text(-0.01, row, label, transform=left, ha="right", va="center")


def _log_locator(low: float, high: float):
    """Ticks of a log-scale level axis: 1, 2, 5 x 10^k over a wide range, evenly spaced values
    (five at most) over a narrow one, where powers of ten would leave the axis bare."""
    if low > 0 and high / low >= 4.0:
        return LogLocator(base=10.0, subs=(1.0, 2.0, 5.0))
    return MaxNLocator(5)


def level_chart_matplotlib(
    levels: pl.DataFrame,
    name: str = "level",
    reference: pl.DataFrame | None = None,
    reference_label: str = "",
    launch_date=None,
    label: str = "",
) -> str:
    """Index level since inception on a log scale (equal heights are equal percentage moves),
    min/max decimated (:func:`min_max_decimation`). ``reference``: a second index's levels
    (the Long-Only reference) rebased to the index's first level and drawn beside it in grey;
    ``launch_date``: the history before it is shaded and labelled back-tested.

    Drawn by matplotlib: the slow path, kept as the test oracle of :func:`level_chart`."""
    left, right = LINE_MARGINS[:2]
    ordered = levels.sort("date").select("date", "level")
    dates, values = _decimated(ordered, "level", LINE_WIDTH - left - right)
    with matplotlib.rc_context(STYLE):
        figure = _figure(LINE_WIDTH, 2.8, LINE_MARGINS)
        axes = figure.add_subplot()
        axes.set_yscale("log")
        if reference is not None and reference.height and ordered.height:
            first_date, first_level = ordered.row(0)
            window = reference.sort("date").filter(pl.col("date") >= first_date).select("date", "level")
            if window.height:
                scaled = window.with_columns(pl.col("level") * (first_level / window.get_column("level")[0]))
                reference_dates, reference_values = _decimated(scaled, "level", LINE_WIDTH - left - right)
                axes.plot(reference_dates, reference_values, color=REFERENCE_COLOUR, linewidth=0.9,
                          label=reference_label or "reference")
        axes.plot(dates, values, color=LINE_COLOUR, linewidth=1.1, label=label or "index")
        axes.margins(x=0.01)
        low, high = axes.get_ylim()
        if launch_date is not None and ordered.height and ordered.get_column("date")[0] < launch_date:
            start = date2num(ordered.get_column("date")[0])
            axes.axvspan(start, date2num(launch_date), color=BACKTEST_COLOUR, zorder=0, linewidth=0)
            axes.text(start, 0.03, " back-tested", transform=axes.get_xaxis_transform(), ha="left", va="bottom",
                      color="#5b6475")
        if reference is not None:
            axes.legend(loc="upper left", frameon=False, ncols=2, handlelength=1.5)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 10 else f"{value:g}"))
        axes.yaxis.set_minor_locator(MaxNLocator(1))
        _draw_line_axes(figure, axes, _log_locator(low, high), "index level (log scale)")
        return _svg(figure, name, "Index level since inception")


SECTOR_WIDTH = 5.0
SECTOR_MARGINS = (1.35, 0.2, 0.1, 0.35)
"""Width and left, right, top, bottom margins of the sector chart, inches."""
BAR_HEIGHT = 0.6
"""Height of a sector bar, in rows."""


def _sector_bars(sector_weights: pl.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray, float]:
    """Labels, long and short weights in percent, and the figure height (inches)."""
    labels = (sector_weights.get_column("label") if "label" in sector_weights.columns
              else sector_weights.get_column("sector")).to_list()
    longs = (sector_weights.get_column("long") * 100.0).to_numpy()
    shorts = (sector_weights.get_column("short") * 100.0).to_numpy()
    return labels, longs, shorts, 0.45 + 0.32 * max(len(labels), 1)


def _percent_label(value: float, _=None) -> str:
    """``10%``; a tick at zero reads ``0%``, never ``-0%``."""
    return f"{value + 0.0:g}%"


def sector_chart(sector_weights: pl.DataFrame, name: str = "sectors") -> str:
    """Long and short weight per sector (``sector, long, short`` fractions; ``label`` used for
    the names when present) as horizontal bars in percent, long to the right, short to the left.

    Written as SVG directly with matplotlib's layout (view limits with its 5% margins, its
    MaxNLocator(5) ticks): the picture of :func:`sector_chart_matplotlib`, the test oracle."""
    labels, longs, shorts, height = _sector_bars(sector_weights)
    left, right, top, bottom = (margin * 72.0 for margin in SECTOR_MARGINS)
    width_pt, height_pt = SECTOR_WIDTH * 72.0, height * 72.0
    x0, x1, y0, y1 = left, width_pt - right, top, height_pt - bottom
    rows = len(labels)
    low = min(0.0, float(shorts.min()) if rows else 0.0)
    high = max(0.0, float(longs.max()) if rows else 0.0)
    if high == low:  # matplotlib widens an empty range to +-0.1% of nothing: +-0.1
        low, high = low - 0.1, high + 0.1
    span = high - low
    # matplotlib's 5% margins, except at a bar's base 0 (its "sticky edge") when 0 is a limit
    view_low = low if low == 0.0 else low - 0.05 * span
    view_high = high if high == 0.0 else high + 0.05 * span
    y_low, y_high = -BAR_HEIGHT / 2, rows - 1 + BAR_HEIGHT / 2
    y_span = y_high - y_low
    y_view_low, y_view_high = y_low - 0.05 * y_span, y_high + 0.05 * y_span

    def x_at(value: float) -> float:
        return x0 + (value - view_low) / (view_high - view_low) * (x1 - x0)

    def y_at(value: float) -> float:
        return y1 - (value - y_view_low) / (y_view_high - y_view_low) * (y1 - y0)

    font = STYLE["font.size"]
    parts = [
        f'<svg class="chart" role="img" aria-label="Weights by sector" style="--phone-font: '
        f'{max(PHONE_TEXT_PX * width_pt / PHONE_CHART_PX, font):.1f}px" viewBox="0 0 {width_pt:g} {height_pt:g}" '
        'xmlns="http://www.w3.org/2000/svg" version="1.1">',
        f'<rect width="{width_pt:g}" height="{height_pt:g}" fill="#ffffff"/>',
    ]
    for position, (label, long, short) in enumerate(zip(labels, longs, shorts)):
        row = rows - 1 - position
        bar_top, bar_bottom = y_at(row + BAR_HEIGHT / 2), y_at(row - BAR_HEIGHT / 2)
        for start, end, colour in ((0.0, long, UP_COLOUR), (short, 0.0, DRAWDOWN_COLOUR)):
            if end > start:
                parts.append(f'<rect x="{x_at(start):g}" y="{bar_top:g}" width="{x_at(end) - x_at(start):g}" '
                             f'height="{bar_bottom - bar_top:g}" fill="{colour}"/>')
        parts.append(_text(x0 - TICK_PAD, y_at(row) + CENTRE_BASELINE * font, label, font, "end"))
    parts.append(f'<path d="M {x_at(0.0):g} {y0:g} L {x_at(0.0):g} {y1:g}" stroke="#5b6475" stroke-width="0.8"/>')
    parts.append(f'<path d="M {x0:g} {y1:g} L {x1:g} {y1:g}" stroke="#000000" stroke-width="0.8"/>')
    tolerance = (view_high - view_low) * 1e-10
    for tick in MaxNLocator(5).tick_values(view_low, view_high):
        if not view_low - tolerance <= tick <= view_high + tolerance:
            continue
        x = x_at(float(tick))
        parts.append(f'<path d="M {x:g} {y1:g} L {x:g} {y1 + TICK_LENGTH:g}" stroke="#000000" '
                     f'stroke-width="{TICK_WIDTH:g}"/>')
        parts.append(_text(x, y1 + TICK_LENGTH + TICK_PAD + TOP_BASELINE * font, _percent_label(float(tick)), font))
    parts.append("</svg>")
    return "\n".join(parts)


def sector_chart_matplotlib(sector_weights: pl.DataFrame, name: str = "sectors") -> str:
    """:func:`sector_chart` drawn by matplotlib (the slow path, kept as the test oracle)."""
    labels, longs, shorts, height = _sector_bars(sector_weights)
    with matplotlib.rc_context(STYLE | {"axes.grid": False}):
        figure = _figure(SECTOR_WIDTH, height, SECTOR_MARGINS)
        axes = figure.add_subplot()
        positions = np.arange(len(labels))[::-1]
        axes.barh(positions, longs, color=UP_COLOUR, height=BAR_HEIGHT)
        axes.barh(positions, shorts, color=DRAWDOWN_COLOUR, height=BAR_HEIGHT)
        axes.axvline(0.0, color="#5b6475", linewidth=0.8)
        axes.set_yticks(positions, labels)
        axes.xaxis.set_major_locator(MaxNLocator(5))
        axes.xaxis.set_major_formatter(FuncFormatter(_percent_label))
        axes.tick_params(axis="y", length=0)
        axes.spines["left"].set_visible(False)
        return _svg(figure, name, "Weights by sector")


def drawdown_chart_matplotlib(drawdowns: pl.DataFrame, name: str = "drawdown") -> str:
    """:func:`drawdown_chart` drawn by matplotlib (the slow path, kept as the test oracle)."""
    left, right = LINE_MARGINS[:2]
    dates, values = _decimated(drawdowns.sort("date").select("date", "drawdown"), "drawdown", LINE_WIDTH - left - right)
    values = values * 100.0
    with matplotlib.rc_context(STYLE):
        figure = _figure(LINE_WIDTH, 2.0, LINE_MARGINS)
        axes = figure.add_subplot()
        axes.plot(dates, values, color=DRAWDOWN_COLOUR, linewidth=0.8)
        # the area between the curve and 0 as one polygon closed along the zero line by its two
        # ends (fill_between repeats every date along the zero line); added as a plain artist,
        # since add_patch measures the limits segment by segment (the line gave them, and the
        # first drawdown is 0)
        days = date2num(dates)
        axes.add_artist(Polygon(np.column_stack([np.concatenate([days[:1], days, days[-1:]]),
                                                 np.concatenate([[0.0], values, [0.0]])]),
                                closed=True, transform=axes.transData, facecolor=DRAWDOWN_COLOUR, alpha=0.35,
                                linewidth=0, zorder=1))
        axes.margins(x=0.01)
        _draw_line_axes(figure, axes, MaxNLocator(4), "drawdown (%)")
        return _svg(figure, name, "Drawdown from the running peak")


def _view(low: float, high: float, margin: float, log: bool = False) -> tuple[float, float]:
    """matplotlib's autoscaled view of data from ``low`` to ``high`` with a relative
    ``margin`` (taken on the log of the values on a log scale)."""
    if log:
        span = math.log10(high) - math.log10(low)
        return 10 ** (math.log10(low) - margin * span), 10 ** (math.log10(high) + margin * span)
    if high == low:
        low, high = low - 0.05 * abs(low) if low else -0.05, high + 0.05 * abs(high) if high else 0.05
    span = high - low
    return low - margin * span, high + margin * span


def _inside(ticks, low: float, high: float) -> list[float]:
    tolerance = (high - low) * 1e-10
    return [float(tick) for tick in ticks if low - tolerance <= tick <= high + tolerance]


class _LineFrame:
    """The plot area of a line chart (:data:`LINE_WIDTH` wide, ``height`` inches tall,
    :data:`LINE_MARGINS`) over a date view and a value view, mapping data to SVG units."""

    def __init__(self, height: float, x_view: tuple[float, float], y_view: tuple[float, float], log: bool) -> None:
        left, right, top, bottom = (margin * 72.0 for margin in LINE_MARGINS)
        self.width, self.height = LINE_WIDTH * 72.0, height * 72.0
        self.x0, self.x1, self.y0, self.y1 = left, self.width - right, top, self.height - bottom
        self.x_view, self.y_view, self.log = x_view, y_view, log

    def x(self, days: np.ndarray | float):
        low, high = self.x_view
        return self.x0 + (np.asarray(days, dtype=float) - low) / (high - low) * (self.x1 - self.x0)

    def y(self, values: np.ndarray | float):
        low, high = self.y_view
        values = np.asarray(values, dtype=float)
        if self.log:
            low, high, values = math.log10(low), math.log10(high), np.log10(values)
        return self.y1 - (values - low) / (high - low) * (self.y1 - self.y0)


def _points(xs: np.ndarray, ys: np.ndarray) -> str:
    """``M x y x y ...`` (a move, then implicit line-tos) to 0.01 units, a tenth of a pixel
    at 1280 px."""
    numbers = (np.column_stack([xs, ys]).ravel() + 0.0).tolist()
    return "M " + " ".join(map("{:.2f}".format, numbers))


def _line_chart_svg(
    frame: _LineFrame,
    label: str,
    name: str,
    y_ticks: list[float],
    y_labels: list[str],
    y_title: str,
    body: list[str],
    offset_text: str = "",
) -> str:
    """A line chart as SVG: the plot area's content ``body`` (clipped to the area) between
    the grid and the axes; date ticks from matplotlib's AutoDateLocator and AutoDateFormatter
    over the view, value ticks as given; ticks, labels and titles where
    :func:`_draw_line_axes` puts them."""
    from matplotlib.dates import AutoDateFormatter, AutoDateLocator, num2date

    font = STYLE["font.size"]
    grid = matplotlib.rcParams["grid.color"]
    grid_style = (f'stroke="{grid}" stroke-width="{STYLE["grid.linewidth"]:g}" '
                  f'stroke-opacity="{STYLE["grid.alpha"]:g}"')
    locator = AutoDateLocator()
    x_low, x_high = frame.x_view
    x_ticks = _inside(locator.tick_values(num2date(x_low), num2date(x_high)), x_low, x_high)
    formatter = AutoDateFormatter(locator)
    x_labels = [formatter(tick) for tick in x_ticks]
    clip = f"{name}-plot"
    parts = [
        f'<svg class="chart" role="img" aria-label="{label}" style="--phone-font: '
        f'{max(PHONE_TEXT_PX * frame.width / PHONE_CHART_PX, font):.1f}px" '
        f'viewBox="0 0 {frame.width:g} {frame.height:g}" xmlns="http://www.w3.org/2000/svg" version="1.1">',
        f'<defs><clipPath id="{clip}"><rect x="{frame.x0:g}" y="{frame.y0:g}" width="{frame.x1 - frame.x0:g}" '
        f'height="{frame.y1 - frame.y0:g}"/></clipPath></defs>',
        f'<rect width="{frame.width:g}" height="{frame.height:g}" fill="#ffffff"/>',
    ]
    background, lines = body
    parts.append(f'<g clip-path="url(#{clip})">{background}</g>')
    grid_paths = [f"M {frame.x(tick):.2f} {frame.y0:g} L {frame.x(tick):.2f} {frame.y1:g}" for tick in x_ticks]
    grid_paths += [f"M {frame.x0:g} {frame.y(tick):.2f} L {frame.x1:g} {frame.y(tick):.2f}" for tick in y_ticks]
    parts.append(f'<path d="{" ".join(grid_paths)}" fill="none" {grid_style}/>')
    parts.append(f'<g clip-path="url(#{clip})">{lines}</g>')
    parts.append(f'<path d="M {frame.x0:g} {frame.y0:g} L {frame.x0:g} {frame.y1:g} L {frame.x1:g} {frame.y1:g}" '
                 'fill="none" stroke="#000000" stroke-width="0.8" stroke-linecap="square"/>')
    marks = [f"M {frame.x(tick):.2f} {frame.y1:g} l 0 {TICK_LENGTH:g}" for tick in x_ticks]
    marks += [f"M {frame.x0:g} {frame.y(tick):.2f} l {-TICK_LENGTH:g} 0" for tick in y_ticks]
    parts.append(f'<path d="{" ".join(marks)}" stroke="#000000" stroke-width="{TICK_WIDTH:g}"/>')
    offset = TICK_LENGTH + TICK_PAD
    for tick, text in zip(x_ticks, x_labels):
        parts.append(_text(float(frame.x(tick)), frame.y1 + offset + TOP_BASELINE * font, text, font))
    for tick, text in zip(y_ticks, y_labels):
        parts.append(_text(frame.x0 - offset, float(frame.y(tick)) + CENTRE_BASELINE * font, text, font, "end"))
    if offset_text:
        parts.append(_text(frame.x0, frame.y0 - 0.01 * (frame.y1 - frame.y0), offset_text, font, "start"))
    title_x, title_y = YLABEL_X * 72.0, (frame.y0 + frame.y1) / 2
    parts.append(f'<g id="{name}-ytitle">' + _text(
        0.0, 0.0, y_title, font, "middle",
        f' transform="translate({title_x + CENTRE_BASELINE * font:g} {title_y:g}) rotate(-90)"') + "</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _line(frame: _LineFrame, days: np.ndarray, values: np.ndarray, colour: str, width: float) -> str:
    return (f'<path d="{_points(frame.x(days), frame.y(values))}" fill="none" stroke="{colour}" '
            f'stroke-width="{width:g}" stroke-linejoin="round" stroke-linecap="square"/>')


def level_chart(
    levels: pl.DataFrame,
    name: str = "level",
    reference: pl.DataFrame | None = None,
    reference_label: str = "",
    launch_date=None,
    label: str = "",
) -> str:
    """Index level since inception on a log scale (equal heights are equal percentage moves),
    min/max decimated (:func:`min_max_decimation`). ``reference``: a second index's levels
    (the Long-Only reference) rebased to the index's first level and drawn beside it in grey;
    ``launch_date``: the history before it is shaded and labelled back-tested.

    Written as SVG directly with matplotlib's layout, view limits, locators and formatters:
    the picture of :func:`level_chart_matplotlib`, the test oracle, at a fraction of its cost."""
    left, right = LINE_MARGINS[:2]
    plot_width = LINE_WIDTH - left - right
    ordered = levels.sort("date").select("date", "level")
    dates, values = _decimated(ordered, "level", plot_width)
    days = date2num(dates)
    series = [(days, values, LINE_COLOUR, 1.1, label or "index")]
    if reference is not None and reference.height and ordered.height:
        first_date, first_level = ordered.row(0)
        window = reference.sort("date").filter(pl.col("date") >= first_date).select("date", "level")
        if window.height:
            scaled = window.with_columns(pl.col("level") * (first_level / window.get_column("level")[0]))
            reference_dates, reference_values = _decimated(scaled, "level", plot_width)
            series.insert(0, (date2num(reference_dates), reference_values, REFERENCE_COLOUR, 0.9,
                              reference_label or "reference"))
    all_days = np.concatenate([item[0] for item in series])
    all_values = np.concatenate([item[1] for item in series])
    x_view = _view(float(all_days.min()), float(all_days.max()), 0.01)
    low, high = float(all_values.min()), float(all_values.max())
    y_view = _view(low, high, 0.05, log=True)
    frame = _LineFrame(2.8, x_view, y_view, log=True)
    locator = _log_locator(*y_view)
    y_ticks = _inside(locator.tick_values(*y_view), *y_view)
    y_labels = [f"{value:,.0f}" if value >= 10 else f"{value:g}" for value in y_ticks]
    font = STYLE["font.size"]
    background = ""
    if launch_date is not None and ordered.height and ordered.get_column("date")[0] < launch_date:
        start = float(date2num(ordered.get_column("date")[0]))
        shade_left, shade_right = float(frame.x(start)), float(frame.x(date2num(launch_date)))
        background = (f'<rect x="{shade_left:.2f}" y="{frame.y0:g}" width="{shade_right - shade_left:.2f}" '
                      f'height="{frame.y1 - frame.y0:g}" fill="{BACKTEST_COLOUR}"/>')
    lines = "".join(_line(frame, *item[:4]) for item in series)
    if launch_date is not None and background:
        lines += _text(shade_left + 0.3 * font, frame.y1 - 0.03 * (frame.y1 - frame.y0) - 0.2 * font, "back-tested",
                       font, "start", ' fill="#5b6475"')
    if reference is not None:
        # a legend in the upper left as matplotlib lays it out (border pad and border-axes pad,
        # handle length 1.5, text pad 0.8, column spacing 2, in font sizes); a label's width is
        # estimated at 0.62 em a character (DejaVu Sans capitals and digits)
        x = frame.x0 + (0.5 + 0.4) * font
        y = frame.y0 + (0.5 + 0.4) * font + 0.76 * font
        for _, _, colour, width, text in series:
            lines += (f'<path d="M {x:g} {y - 0.35 * font:g} l {1.5 * font:g} 0" stroke="{colour}" '
                      f'stroke-width="{width:g}" stroke-linecap="square"/>')
            lines += _text(x + (1.5 + 0.8) * font, y, text, font, "start")
            x += (1.5 + 0.8 + 2.0) * font + 0.62 * font * len(text)
    return _line_chart_svg(frame, "Index level since inception", name, y_ticks, y_labels, "index level (log scale)",
                           [background, lines])


def drawdown_chart(drawdowns: pl.DataFrame, name: str = "drawdown") -> str:
    """Drawdown from the running peak, in percent (min/max decimated, so the deepest points and
    the returns to the peak stay exact), with the area between the curve and 0 filled.

    Written as SVG directly with matplotlib's layout: the picture of
    :func:`drawdown_chart_matplotlib`, the test oracle."""
    left, right = LINE_MARGINS[:2]
    dates, values = _decimated(drawdowns.sort("date").select("date", "drawdown"), "drawdown", LINE_WIDTH - left - right)
    values = values * 100.0
    days = date2num(dates)
    x_view = _view(float(days.min()), float(days.max()), 0.01)
    y_view = _view(float(values.min()), float(values.max()), 0.05)
    frame = _LineFrame(2.0, x_view, y_view, log=False)
    y_ticks = _inside(MaxNLocator(4).tick_values(*y_view), *y_view)
    formatter = ScalarFormatter()
    formatter.create_dummy_axis()
    formatter.axis.set_view_interval(*y_view)
    formatter.axis.set_data_interval(*y_view)
    y_labels = formatter.format_ticks(y_ticks)
    xs, ys = frame.x(days), frame.y(values)
    zero = float(frame.y(0.0))
    area = (f'<path d="{_points(np.concatenate([xs[:1], xs, xs[-1:]]), np.concatenate([[zero], ys, [zero]]))} Z" '
            f'fill="{DRAWDOWN_COLOUR}" fill-opacity="0.35" stroke="none"/>')
    lines = area + _line(frame, days, values, DRAWDOWN_COLOUR, 0.8)
    return _line_chart_svg(frame, "Drawdown from the running peak", name, y_ticks, y_labels, "drawdown (%)",
                           ["", lines], formatter.get_offset())


def _colour_bar(figure: Figure, axes, image, left: float, ticks: list[float], formatter, label: str | None) -> None:
    """A vertical colour bar for ``image``: :data:`COLOUR_BAR_WIDTH` inches wide, ``left``
    inches from the figure's left edge, as tall as ``axes``; ``ticks`` (data values) labelled
    by ``formatter`` on its right, ``label`` beyond them.

    Drawn as an unsampled image of :data:`COLOUR_BAR_STEPS` colours, an outline, tick marks and
    texts in ``axes`` (what ``figure.colorbar`` shows, without a second axes and its axis
    objects, which cost more than the heatmap itself).
    """
    place = blended_transform_factory(figure.dpi_scale_trans, axes.transAxes)
    low, high = image.norm.vmin, image.norm.vmax
    right = left + COLOUR_BAR_WIDTH
    bar = AxesImage(axes, cmap=image.get_cmap(), norm=image.norm, interpolation="none", origin="lower",
                    extent=(left, right, 0.0, 1.0))
    bar.set_data(np.linspace(low, high, COLOUR_BAR_STEPS)[:, np.newaxis])
    bar.set_transform(place)
    axes.add_artist(bar)
    bar.set_clip_on(False)
    axes.add_artist(Rectangle((left, 0.0), COLOUR_BAR_WIDTH, 1.0, transform=place, fill=False, clip_on=False,
                              linewidth=matplotlib.rcParams["axes.linewidth"],
                              edgecolor=matplotlib.rcParams["axes.edgecolor"]))
    heights = [(tick - low) / (high - low) for tick in ticks]
    axes.add_artist(Line2D([right] * len(ticks), heights, transform=place, linestyle="none", marker=TICKRIGHT,
                           markersize=TICK_LENGTH, markeredgewidth=TICK_WIDTH,
                           color=matplotlib.rcParams["ytick.color"], clip_on=False))
    formatter.create_dummy_axis()
    formatter.axis.set_view_interval(low, high)
    shifted = offset_copy(place, fig=figure, x=TICK_LENGTH + TICK_PAD, units="points")
    for height, text in zip(heights, formatter.format_ticks(ticks)):
        axes.text(right, height, text, transform=shifted, ha="left", va="center_baseline", clip_on=False)
    if label:
        axes.text(right + COLOUR_BAR_LABEL_GAP, 0.5, label, transform=place, rotation=90, ha="center", va="center",
                  clip_on=False, gid="ytitle")


def monthly_grid(monthly: pl.DataFrame) -> tuple[list[int], np.ndarray, float]:
    """Years, the year x month grid of returns in percent (NaN: no return) and the colour
    bound of :func:`monthly_heatmap`: the 98th percentile of |return|, rounded up to a whole
    percent (at least 1), so that one extreme month does not wash out the others."""
    years = sorted(set(monthly.get_column("year").to_list()))
    grid = np.full((len(years), 12), np.nan)
    frame = monthly.select("year", "month", "monthly_return").drop_nulls()
    if frame.height:
        row_of = {year: position for position, year in enumerate(years)}
        rows = np.array([row_of[year] for year in frame.get_column("year").to_list()], dtype=np.int64)
        grid[rows, frame.get_column("month").to_numpy() - 1] = frame.get_column("monthly_return").to_numpy() * 100.0
    finite = grid[np.isfinite(grid)]
    bound = float(math.ceil(np.percentile(np.abs(finite), 98))) if finite.size else 1.0
    return years, grid, max(bound, 1.0)


HEATMAP_MARGINS = (0.55, 1.15, 0.1, 0.3)
"""Left, right, top, bottom margins of the monthly heatmap, inches."""
HEATMAP_WIDTH = 7.5
HEATMAP_CMAP = "RdYlGn"


def _heatmap_rows(count: int, annotate_up_to_years: int) -> tuple[float, float]:
    """Row height and figure height (inches) of a monthly heatmap of ``count`` years."""
    row_height = 0.22 if count <= annotate_up_to_years else 0.14
    return row_height, 0.4 + row_height * count


def monthly_heatmap_matplotlib(monthly: pl.DataFrame, name: str = "monthly", annotate_up_to_years: int = 12) -> str:
    """:func:`monthly_heatmap` drawn by matplotlib: the slow path, kept as the test oracle of
    the fast one (same grid image bytes, same texts at the same places)."""
    years, grid, bound = monthly_grid(monthly)
    row_height, height = _heatmap_rows(len(years), annotate_up_to_years)
    with matplotlib.rc_context(STYLE | {"axes.grid": False}):
        figure = _figure(HEATMAP_WIDTH, height, HEATMAP_MARGINS)
        axes = figure.add_subplot()
        image = axes.imshow(np.ma.masked_invalid(grid), cmap=HEATMAP_CMAP, aspect="auto",
                            norm=TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound), interpolation="none")
        step = max(1, math.ceil(len(years) / MAX_YEAR_LABELS))
        _grid_labels(axes, list(MONTH_LABELS), [str(year) if row % step == 0 else "" for row, year in enumerate(years)])
        if len(years) <= annotate_up_to_years:
            for (row, column), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    axes.text(column, row, f"{value:.1f}", ha="center", va="center", fontsize=7,
                              gid=f"cell{row}_{column}")
        _colour_bar(figure, axes, image, 7.5 - 1.0, [-bound, -bound / 2, 0.0, bound / 2, bound],
                    FormatStrFormatter("%g"), "monthly return (%)")
        return _svg(figure, name, "Monthly returns heatmap")


def _png(rgba: np.ndarray) -> str:
    """An RGBA byte array as an inline PNG data URL (the encoding matplotlib's SVG backend uses)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="png")
    return "data:image/png;base64,\n" + base64.b64encode(buffer.getvalue()).decode("ascii")


def _text(x: float, y: float, text: str, size: float, anchor: str = "middle", extra: str = "") -> str:
    family = "'DejaVu Sans', 'Helvetica', 'Arial', sans-serif"
    anchor_style = f"; text-anchor: {anchor}" if anchor != "start" or extra else f"; text-anchor: {anchor}"
    return (f'<text style="font-size: {size:g}px; font-family: {family}{anchor_style}" x="{x:g}" y="{y:g}"'
            f'{extra}>{html.escape(text)}</text>')


CENTRE_BASELINE = 0.3645
"""Baseline below the centre of a digit string, in em (half the digit height of DejaVu Sans),
as matplotlib places ``va="center"`` texts."""
TOP_BASELINE = 0.76
"""Baseline below the top of a label, in em (``va="top"``)."""


def monthly_heatmap(monthly: pl.DataFrame, name: str = "monthly", annotate_up_to_years: int = 12) -> str:
    """Monthly returns (``year, month, monthly_return``) as a year x month grid in percent;
    the colour scale is symmetric around 0 (:func:`monthly_grid`); cells carry their value when
    the grid has at most ``annotate_up_to_years`` rows.

    Written as SVG directly (an unsampled PNG of the cells, a colour bar, plain texts): the
    same picture as :func:`monthly_heatmap_matplotlib`, which is kept as the test oracle, at
    a fraction of the cost (matplotlib lays out every cell's text)."""
    years, grid, bound = monthly_grid(monthly)
    row_height, height = _heatmap_rows(len(years), annotate_up_to_years)
    left, right, top, bottom = (margin * 72.0 for margin in HEATMAP_MARGINS)
    width_pt, height_pt = HEATMAP_WIDTH * 72.0, height * 72.0
    x0, x1, y0, y1 = left, width_pt - right, top, height_pt - bottom
    cell_w, cell_h = (x1 - x0) / 12.0, (y1 - y0) / max(len(years), 1)
    cmap = matplotlib.colormaps[HEATMAP_CMAP]
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound)
    cells = cmap(norm(np.ma.masked_invalid(grid)), bytes=True)
    font = STYLE["font.size"]
    parts = [
        f'<svg class="chart" role="img" aria-label="Monthly returns heatmap" style="--phone-font: '
        f'{max(PHONE_TEXT_PX * width_pt / PHONE_CHART_PX, font):.1f}px" viewBox="0 0 {width_pt:g} {height_pt:g}" '
        'xmlns="http://www.w3.org/2000/svg" version="1.1">',
        f'<rect width="{width_pt:g}" height="{height_pt:g}" fill="#ffffff"/>',
    ]
    if years:
        parts.append(
            f'<image width="12" height="{len(years)}" preserveAspectRatio="none" '
            f'transform="matrix({cell_w:g} 0 0 {cell_h:g} {x0:g} {y0:g})" '
            f'style="image-rendering:crisp-edges;image-rendering:pixelated" href="{_png(cells)}"/>'
        )
    for column, label in enumerate(MONTH_LABELS):
        parts.append(_text(x0 + (column + 0.5) * cell_w, y1 + 0.01 * (y1 - y0) + TOP_BASELINE * font, label, font))
    step = max(1, math.ceil(len(years) / MAX_YEAR_LABELS))
    for row, year in enumerate(years):
        if row % step == 0:
            parts.append(_text(x0 - 0.01 * (x1 - x0), y0 + (row + 0.5) * cell_h + CENTRE_BASELINE * font, str(year),
                               font, "end"))
    if len(years) <= annotate_up_to_years:
        for (row, column), value in np.ndenumerate(grid):
            if np.isfinite(value):
                parts.append(f'<g id="{name}-cell{row}_{column}">' + _text(
                    x0 + (column + 0.5) * cell_w, y0 + (row + 0.5) * cell_h + CENTRE_BASELINE * 7, f"{value:.1f}", 7
                ) + "</g>")
    # colour bar: COLOUR_BAR_STEPS colours bottom to top, outline, ticks and labels, title
    bar_left = (HEATMAP_WIDTH - 1.0) * 72.0
    bar_width = COLOUR_BAR_WIDTH * 72.0
    # stored bottom to top, as matplotlib stores it (origin "lower"), and flipped by the transform
    steps = cmap(norm(np.linspace(-bound, bound, COLOUR_BAR_STEPS)[:, np.newaxis]), bytes=True)
    parts.append(
        f'<image width="1" height="{COLOUR_BAR_STEPS}" preserveAspectRatio="none" '
        f'transform="matrix({bar_width:g} 0 0 {-(y1 - y0) / COLOUR_BAR_STEPS:g} {bar_left:g} {y1:g})" '
        f'style="image-rendering:crisp-edges;image-rendering:pixelated" href="{_png(steps)}"/>'
    )
    parts.append(f'<rect x="{bar_left:g}" y="{y0:g}" width="{bar_width:g}" height="{y1 - y0:g}" fill="none" '
                 'stroke="#000000" stroke-width="0.8"/>')
    ticks = [-bound, -bound / 2, 0.0, bound / 2, bound]
    formatter = FormatStrFormatter("%g")
    formatter.create_dummy_axis()
    formatter.axis.set_view_interval(-bound, bound)
    for tick, label in zip(ticks, formatter.format_ticks(ticks)):
        y = y1 - (tick + bound) / (2 * bound) * (y1 - y0)
        parts.append(f'<path d="M {bar_left + bar_width:g} {y:g} L {bar_left + bar_width + TICK_LENGTH:g} {y:g}" '
                     f'stroke="#000000" stroke-width="{TICK_WIDTH:g}"/>')
        parts.append(_text(bar_left + bar_width + TICK_LENGTH + TICK_PAD, y + CENTRE_BASELINE * font, label, font,
                           "start"))
    title_x, title_y = bar_left + bar_width + COLOUR_BAR_LABEL_GAP * 72.0, (y0 + y1) / 2
    # turned a quarter left, its baseline CENTRE_BASELINE em right of the centre line
    parts.append(f'<g id="{name}-ytitle">' + _text(
        0.0, 0.0, "monthly return (%)", font, "middle",
        f' transform="translate({title_x + CENTRE_BASELINE * font:g} {title_y:g}) rotate(-90)"') + "</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def correlation_heatmap(matrix: pl.DataFrame, name: str = "correlation") -> str:
    """A correlation matrix as a heatmap with its values, scale -1..1.

    ``matrix``: wide (a first string column naming the rows, one float column per root) or
    long (two string columns naming the pair and one float column); a ``date`` column, if any,
    is reduced to its latest date.
    """
    labels, values = correlation_grid(matrix)
    return _correlation_svg(name, tuple(labels), values.shape, values.astype(float).tobytes())


@functools.lru_cache(maxsize=8)
def _correlation_svg(name: str, labels: tuple[str, ...], shape: tuple[int, int], cells: bytes) -> str:
    """The heatmap of :func:`correlation_heatmap` from its labels and matrix (as bytes, so that
    the charts of indexes sharing one correlation table, the base-metals family's, are drawn
    once: matplotlib's SVG is a function of its input, the ids salted by ``svg.hashsalt``)."""
    values = np.frombuffer(cells, dtype=float).reshape(shape)
    with matplotlib.rc_context(STYLE | {"axes.grid": False}):
        size = max(3.0, 0.5 * len(labels))
        figure = _figure(size + 1.8, size + 0.7, (0.6, 1.2, 0.1, 0.6))
        axes = figure.add_subplot()
        image = axes.imshow(values, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="none")
        _grid_labels(axes, labels, labels, rotate_columns=True)
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):
                axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8,
                          color="white" if abs(value) > 0.6 else "black", gid=f"cell{row}_{column}")
        _colour_bar(figure, axes, image, size + 1.8 - 0.9, [-1.0, -0.5, 0.0, 0.5, 1.0], ScalarFormatter(), None)
        return _svg(figure, name, "Correlation matrix")


def correlation_grid(matrix: pl.DataFrame) -> tuple[list[str], np.ndarray]:
    """Labels and the square matrix of a wide or long correlation table (see
    :func:`correlation_heatmap`)."""
    frame = matrix
    if "date" in frame.columns:
        frame = frame.filter(pl.col("date") == pl.col("date").max()).drop("date")
    text_columns = [column for column, dtype in frame.schema.items() if dtype == pl.String]
    number_columns = [column for column, dtype in frame.schema.items() if dtype.is_numeric()]
    if len(text_columns) == 2 and len(number_columns) == 1:
        first, second = text_columns
        labels = sorted(set(frame.get_column(first).to_list()) | set(frame.get_column(second).to_list()))
        position = {label: index for index, label in enumerate(labels)}
        values = np.full((len(labels), len(labels)), np.nan)
        for row_label, column_label, value in frame.select(first, second, number_columns[0]).iter_rows():
            row, column = position[row_label], position[column_label]
            values[row, column] = np.nan if value is None else value
            if not np.isfinite(values[column, row]):  # a long table may list each pair once
                values[column, row] = values[row, column]
        return labels, values
    if len(text_columns) == 1:
        labels = frame.get_column(text_columns[0]).to_list()
        columns = [label for label in labels if label in number_columns] or number_columns
        values = frame.select(columns).to_numpy().astype(float)
        return [str(label) for label in labels], values
    return [str(column) for column in number_columns], frame.select(number_columns).to_numpy().astype(float)
