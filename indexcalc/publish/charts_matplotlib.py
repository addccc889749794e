"""The factsheet charts drawn by matplotlib (:class:`matplotlib.figure.Figure` and the SVG
canvas directly, never pyplot): the slow paths kept as the test oracles of the SVG written by
:mod:`indexcalc.publish.charts`, and the correlation heatmap (six per publication, drawn once
per distinct matrix).

Text stays text (``svg.fonttype = none``), the output is deterministic (fixed hash salt, no
date), the root element scales to its container (``viewBox`` kept, fixed width/height removed)
and every ``id`` is prefixed with the chart's name so that several charts can share one page.
Axis ticks are placed by matplotlib's own locators and formatters but drawn as plain lines and
texts (:func:`_draw_line_axes`): matplotlib's tick objects cost more to build and lay out than
the rest of a chart.
"""

from __future__ import annotations

import functools
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
from matplotlib.ticker import FormatStrFormatter, FuncFormatter, MaxNLocator, ScalarFormatter
from matplotlib.transforms import blended_transform_factory, offset_copy

from indexcalc.publish.chart_layout import (
    BACKTEST_COLOUR,
    BAR_HEIGHT,
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
    UP_COLOUR,
    YLABEL_X,
    _decimated,
    _heatmap_rows,
    _log_locator,
    _percent_label,
    _sector_bars,
    monthly_grid,
)


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
