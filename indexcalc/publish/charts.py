"""Factsheet charts as inline SVG strings (matplotlib, Agg-free object API).

Figures are built with :class:`matplotlib.figure.Figure` and the SVG canvas directly, never
through pyplot, so no global figure state is shared and nothing is drawn on a screen. Text stays
text (``svg.fonttype = none``: the page's fonts render it, no font is embedded or fetched), the
output is deterministic (fixed hash salt, no date), the root element scales to its container
(``viewBox`` kept, fixed width/height removed) and every ``id`` is prefixed with the chart's
name so that several charts can share one HTML page. Long histories are thinned to weekly points
before plotting: SVG path size and rendering time grow with the number of points.
"""

from __future__ import annotations

import io
import math
import re

import matplotlib
import numpy as np
import polars as pl
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

LINE_COLOUR = "#1f4e79"
DRAWDOWN_COLOUR = "#b03a2e"
LINE_MARGINS = (0.75, 0.15, 0.1, 0.3)
"""Left, right, top, bottom margins of the line charts, inches."""
WEEKLY_AFTER_POINTS = 600
"""Daily series longer than this are plotted at weekly points (the last level of each week)."""

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


def _svg(figure: Figure, name: str, label: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", text, count=1)
    text = text.replace("<svg ", f'<svg class="chart" role="img" aria-label="{label}" ', 1)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    if ids:
        pattern = re.compile(r'(\bid="|url\(#|xlink:href="#|href="#)(' + "|".join(map(re.escape, ids)) + r')(?=["\)])')
        text = pattern.sub(lambda match: f"{match.group(1)}{name}-{match.group(2)}", text)
    return text.strip()


def _thin(frame: pl.DataFrame, value: str, how: str) -> pl.DataFrame:
    """Weekly points (``how`` = last or min of each week) for long daily series."""
    if frame.height <= WEEKLY_AFTER_POINTS:
        return frame
    aggregate = pl.col(value).last() if how == "last" else pl.col(value).min()
    return (
        frame.with_columns(pl.col("date").dt.truncate("1w").alias("week"))
        .group_by("week", maintain_order=True)
        .agg(pl.col("date").last(), aggregate)
        .select("date", value)
    )


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


def level_chart(levels: pl.DataFrame, name: str = "level") -> str:
    """Index level since inception (weekly points past :data:`WEEKLY_AFTER_POINTS` days)."""
    points = _thin(levels.sort("date").select("date", "level"), "level", "last")
    with matplotlib.rc_context(STYLE):
        figure = _figure(7.5, 2.8, LINE_MARGINS)
        axes = figure.add_subplot()
        axes.plot(points.get_column("date").to_numpy(), points.get_column("level").to_numpy(),
                  color=LINE_COLOUR, linewidth=1.1)
        axes.set_ylabel("index level")
        axes.yaxis.set_major_locator(MaxNLocator(5))
        axes.margins(x=0.01)
        return _svg(figure, name, "Index level since inception")


def drawdown_chart(drawdowns: pl.DataFrame, name: str = "drawdown") -> str:
    """Drawdown from the running peak, in percent (weekly minima past the threshold, so the
    deepest points stay visible)."""
    points = _thin(drawdowns.sort("date").select("date", "drawdown"), "drawdown", "min")
    dates = points.get_column("date").to_numpy()
    values = points.get_column("drawdown").to_numpy() * 100.0
    with matplotlib.rc_context(STYLE):
        figure = _figure(7.5, 2.0, LINE_MARGINS)
        axes = figure.add_subplot()
        axes.fill_between(dates, values, 0.0, color=DRAWDOWN_COLOUR, alpha=0.35, linewidth=0)
        axes.plot(dates, values, color=DRAWDOWN_COLOUR, linewidth=0.8)
        axes.set_ylabel("drawdown (%)")
        axes.yaxis.set_major_locator(MaxNLocator(4))
        axes.margins(x=0.01)
        return _svg(figure, name, "Drawdown from the running peak")


def monthly_heatmap(monthly: pl.DataFrame, name: str = "monthly", annotate_up_to_years: int = 12) -> str:
    """Monthly returns (``year, month, monthly_return``) as a year x month grid in percent;
    the colour scale is symmetric around 0; cells carry their value when the grid has at most
    ``annotate_up_to_years`` rows."""
    years = sorted(set(monthly.get_column("year").to_list()))
    grid = np.full((len(years), 12), np.nan)
    row_of = {year: position for position, year in enumerate(years)}
    for year, month, value in monthly.select("year", "month", "monthly_return").iter_rows():
        if value is not None:
            grid[row_of[year], month - 1] = value * 100.0
    finite = grid[np.isfinite(grid)]
    # the colour scale spans the 98th percentile of |return|, rounded up to a whole percent,
    # so that one extreme month does not wash out the others
    bound = float(math.ceil(np.percentile(np.abs(finite), 98))) if finite.size else 1.0
    bound = max(bound, 1.0)
    row_height = 0.22 if len(years) <= annotate_up_to_years else 0.14
    height = 0.4 + row_height * len(years)
    with matplotlib.rc_context(STYLE | {"axes.grid": False}):
        figure = _figure(7.5, height, (0.55, 1.15, 0.1, 0.3))
        axes = figure.add_subplot()
        image = axes.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", aspect="auto",
                            norm=TwoSlopeNorm(vcenter=0.0, vmin=-bound, vmax=bound), interpolation="nearest")
        step = max(1, math.ceil(len(years) / MAX_YEAR_LABELS))
        _grid_labels(axes, list(MONTH_LABELS), [str(year) if row % step == 0 else "" for row, year in enumerate(years)])
        if len(years) <= annotate_up_to_years:
            for (row, column), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    axes.text(column, row, f"{value:.1f}", ha="center", va="center", fontsize=7)
        colour_axes = figure.add_axes((1 - 1.0 / 7.5, 0.3 / height, 0.12 / 7.5, 1 - 0.4 / height))
        figure.colorbar(image, cax=colour_axes, label="monthly return (%)",
                        ticks=[-bound, -bound / 2, 0.0, bound / 2, bound], format="%g")
        return _svg(figure, name, "Monthly returns heatmap")


def correlation_heatmap(matrix: pl.DataFrame, name: str = "correlation") -> str:
    """A correlation matrix as a heatmap with its values, scale -1..1.

    ``matrix``: wide (a first string column naming the rows, one float column per root) or
    long (two string columns naming the pair and one float column); a ``date`` column, if any,
    is reduced to its latest date.
    """
    labels, values = correlation_grid(matrix)
    with matplotlib.rc_context(STYLE | {"axes.grid": False}):
        size = max(3.0, 0.5 * len(labels))
        figure = _figure(size + 1.8, size + 0.7, (0.6, 1.2, 0.1, 0.6))
        axes = figure.add_subplot()
        image = axes.imshow(values, cmap="RdBu_r", vmin=-1.0, vmax=1.0, interpolation="nearest")
        _grid_labels(axes, labels, labels, rotate_columns=True)
        for (row, column), value in np.ndenumerate(values):
            if np.isfinite(value):
                axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=8,
                          color="white" if abs(value) > 0.6 else "black")
        width, height = figure.get_size_inches()
        colour_axes = figure.add_axes((1 - 0.9 / width, 0.6 / height, 0.12 / width, 1 - 0.7 / height))
        figure.colorbar(image, cax=colour_axes, ticks=[-1.0, -0.5, 0.0, 0.5, 1.0])
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
