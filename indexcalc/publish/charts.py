"""Factsheet charts as inline SVG strings, written directly from the data.

Each chart is the picture matplotlib draws of the same data (:mod:`indexcalc.publish.charts_matplotlib`,
kept as the tests' oracle): the same view limits, tick positions and labels (matplotlib's
locators and formatters), the same texts at the same places, at a fraction of the cost. Text
stays text (the page's fonts render it), the output is deterministic, the root element scales to
its container (``viewBox``, no fixed size) and every ``id`` is prefixed with the chart's name so
that several charts can share one HTML page.

Long daily histories are decimated before plotting (:func:`min_max_decimation`): per bucket of
days narrower than a rendered pixel, the first, lowest, highest and last points are kept, so the
drawn line covers exactly the same vertical range in every column of pixels (peaks and troughs
stay exact) with a few points per pixel column instead of every day.
"""

from __future__ import annotations

import functools
import math

import matplotlib
import numpy as np
import polars as pl
from matplotlib.colors import TwoSlopeNorm
from matplotlib.dates import date2num
from matplotlib.ticker import FormatStrFormatter, MaxNLocator, ScalarFormatter

from indexcalc.publish.chart_layout import (
    BACKTEST_COLOUR,
    BAR_HEIGHT,
    CENTRE_BASELINE,
    COLOUR_BAR_LABEL_GAP,
    COLOUR_BAR_STEPS,
    COLOUR_BAR_WIDTH,
    DRAWDOWN_COLOUR,
    HEATMAP_CMAP,
    HEATMAP_MARGINS,
    HEATMAP_WIDTH,
    LINE_COLOUR,
    LINE_MARGINS,
    LINE_WIDTH,
    MAX_YEAR_LABELS,
    MONTH_LABELS,
    PHONE_CHART_PX,
    PHONE_TEXT_PX,
    REFERENCE_COLOUR,
    SECTOR_MARGINS,
    SECTOR_WIDTH,
    STYLE,
    TICK_LENGTH,
    TICK_PAD,
    TICK_WIDTH,
    TOP_BASELINE,
    UP_COLOUR,
    YLABEL_X,
    _decimated,
    _heatmap_rows,
    _inside,
    _log_locator,
    _png,
    _sector_bars,
    _percent_label,
    _text,
    _view,
    min_max_decimation,
    monthly_grid,
)
from indexcalc.publish.charts_matplotlib import (
    correlation_grid,
    correlation_heatmap,
    drawdown_chart_matplotlib,
    level_chart_matplotlib,
    monthly_heatmap_matplotlib,
    sector_chart_matplotlib,
)

__all__ = [
    "correlation_grid",
    "correlation_heatmap",
    "drawdown_chart",
    "drawdown_chart_matplotlib",
    "level_chart",
    "level_chart_matplotlib",
    "min_max_decimation",
    "monthly_grid",
    "monthly_heatmap",
    "monthly_heatmap_matplotlib",
    "sector_chart",
    "sector_chart_matplotlib",
]
"""The SVG writers, and the matplotlib oracles and the correlation heatmap of
:mod:`indexcalc.publish.charts_matplotlib` under the names they had here."""



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
    return "M " + two_decimals(np.column_stack([xs, ys]).ravel() + 0.0)


TWO_DECIMALS_LIMIT = 1e8
"""Largest magnitude :func:`two_decimals` writes with integers (beyond, Python's formatting)."""


def two_decimals(numbers: np.ndarray) -> str:
    """``" ".join(f"{x:.2f}" for x in numbers)``, the same text, written with integer arithmetic.

    ``round(100 x)`` is exact for every ``x`` whose ``100 x`` lies more than 1e-6 from a half
    (the product's rounding error is below 1e-8 under :data:`TWO_DECIMALS_LIMIT`); the others,
    ties where Python rounds the exact binary value, and non-finite numbers are formatted by
    Python. Each number is laid out in a row of fixed width (sign, integer digits, point, two
    decimals, a space) padded with NUL bytes, which are then dropped."""
    if numbers.size == 0:
        return ""
    finite = np.isfinite(numbers)
    if not finite.all() or float(np.abs(numbers).max()) >= TWO_DECIMALS_LIMIT:
        return " ".join(map("{:.2f}".format, numbers.tolist()))
    scaled = numbers * 100.0
    near_tie = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) <= 1e-6
    whole, cents = np.divmod(np.abs(np.rint(scaled)).astype(np.int64), 100)
    digits = len(str(int(whole.max())))
    width = digits + 5
    rows = np.zeros((numbers.size, width), dtype=np.uint8)
    rows[:, 0] = np.where(np.signbit(numbers), ord("-"), 0)  # -0.0 too, as Python writes it
    for place in range(digits):
        power = 10**place
        rows[:, digits - place] = np.where((whole >= power) | (place == 0), ord("0") + whole // power % 10, 0)
    rows[:, digits + 1] = ord(".")
    rows[:, digits + 2] = ord("0") + cents // 10
    rows[:, digits + 3] = ord("0") + cents % 10
    rows[:, digits + 4] = ord(" ")
    for position in np.flatnonzero(near_tie):
        text = f"{float(numbers[position]):.2f}".encode("ascii")
        rows[position] = 0
        rows[position, width - 1 - len(text):width - 1] = np.frombuffer(text, dtype=np.uint8)
        rows[position, width - 1] = ord(" ")
    return rows.tobytes().replace(b"\0", b"").decode("ascii")[:-1]


@functools.lru_cache(maxsize=64)
def _date_ticks(low: float, high: float) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Date ticks and labels of a view from day number ``low`` to ``high``: matplotlib's
    AutoDateLocator and AutoDateFormatter (kept per view: most indexes of a catalogue share
    their first and last dates, and the locator's rules cost more than the rest of an axis)."""
    from matplotlib.dates import AutoDateFormatter, AutoDateLocator, num2date

    locator = AutoDateLocator()
    ticks = tuple(_inside(locator.tick_values(num2date(low), num2date(high)), low, high))
    formatter = AutoDateFormatter(locator)
    return ticks, tuple(formatter(tick) for tick in ticks)


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
    font = STYLE["font.size"]
    grid = matplotlib.rcParams["grid.color"]
    grid_style = (f'stroke="{grid}" stroke-width="{STYLE["grid.linewidth"]:g}" '
                  f'stroke-opacity="{STYLE["grid.alpha"]:g}"')
    x_ticks, x_labels = _date_ticks(*frame.x_view)
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
