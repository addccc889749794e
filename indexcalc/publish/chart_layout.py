"""Layout shared by the factsheet charts (:mod:`indexcalc.publish.charts`, written as SVG
directly, and :mod:`indexcalc.publish.charts_matplotlib`, the matplotlib oracle): colours, sizes
and margins in inches, matplotlib's view limits and tick selection, the min/max decimation of
long series, the data of the sector and monthly charts, and the SVG text element."""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np
import polars as pl
from matplotlib.ticker import LogLocator, MaxNLocator


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
    # each bucket's earliest minimum and latest maximum (what a stable sort of each bucket by
    # value puts first and last), in one pass each instead of a sort
    sizes = ends - starts + 1
    at_low = np.flatnonzero(values == np.repeat(np.minimum.reduceat(values, starts), sizes))
    at_high = np.flatnonzero(values == np.repeat(np.maximum.reduceat(values, starts), sizes))
    lowest = at_low[np.searchsorted(at_low, starts)]
    highest = at_high[np.searchsorted(at_high, ends, side="right") - 1]
    kept = np.sort(np.concatenate([starts, ends, lowest, highest]))
    return kept[np.concatenate([[True], kept[1:] != kept[:-1]])]


def _decimated(frame: pl.DataFrame, value: str, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Dates and values of ``frame`` (``date``, ``value``, sorted by date) to plot over a plot
    area ``width`` inches wide (:func:`min_max_decimation`)."""
    dates = frame.get_column("date")
    values = frame.get_column(value).to_numpy()
    kept = min_max_decimation(dates.to_physical().to_numpy(), values, int(width * DECIMATION_BUCKETS_PER_INCH))
    return dates.to_numpy()[kept], values[kept]


def _log_locator(low: float, high: float):
    """Ticks of a log-scale level axis: 1, 2, 5 x 10^k over a wide range, evenly spaced values
    (five at most) over a narrow one, where powers of ten would leave the axis bare."""
    if low > 0 and high / low >= 4.0:
        return LogLocator(base=10.0, subs=(1.0, 2.0, 5.0))
    return MaxNLocator(5)



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


def monthly_grid(monthly: pl.DataFrame) -> tuple[list[int], np.ndarray, float]:
    """Years, the year x month grid of returns in percent (NaN: no return) and the colour
    bound of :func:`monthly_heatmap`: the 98th percentile of |return|, rounded up to a whole
    percent (at least 1), so that one extreme month does not wash out the others."""
    # read as numpy columns, no polars query: a null return is NaN, as an empty cell
    year_column = monthly.get_column("year").to_numpy()
    years = np.unique(year_column).tolist()
    grid = np.full((len(years), 12), np.nan)
    if len(year_column):
        rows = np.searchsorted(np.array(years), year_column)
        grid[rows, monthly.get_column("month").to_numpy().astype(np.int64) - 1] = (
            monthly.get_column("monthly_return").cast(pl.Float64).to_numpy() * 100.0)
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
