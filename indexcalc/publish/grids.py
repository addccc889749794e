"""Grid pages: the variants of each catalogue grid side by side (docs/design.md section 7).

For a ``[[grid]]`` of the catalogue (its variants carry ``spec.grid``, :mod:`indexcalc.specs.grids`)
the publication holds ``grids/GRID.html`` and ``grids/GRID.csv``: one row per variant with its axis
values and five figures over its whole history (the factsheet's definitions,
:mod:`indexcalc.analytics`): annualised return, annualised volatility, Sharpe ratio (excess over
the T-bill collateral for a total-return index), maximum drawdown and annual turnover (including
drift where the roots' levels are known). Below the table, for each axis, the Sharpe ratio and
the annualised return of every variant against the axis's values, with the mean per value: how
much the result depends on the parameter (a rule whose figures move little along an axis is
robust to it).
"""

from __future__ import annotations

import html
from collections.abc import Callable

import polars as pl

from indexcalc import analytics
from indexcalc.publish.formatting import environment
from indexcalc.results import IndexResult

GRID_FIGURES = {
    "annualised_return": "Annualised return",
    "annualised_volatility": "Volatility",
    "sharpe": "Sharpe ratio",
    "max_drawdown": "Maximum drawdown",
    "annual_turnover": "Turnover",
}
"""The figures of each variant, as the comparison table labels them."""
CHARTED = ("sharpe", "annualised_return")
"""The figures drawn against every axis."""


def grids_of(results: dict[str, IndexResult]) -> dict[str, list[str]]:
    """Grid id -> the ids of its variants, in catalogue order (grids in order of first variant)."""
    grids: dict[str, list[str]] = {}
    for index_id, result in results.items():
        if result.spec.grid is not None:
            grids.setdefault(result.spec.grid.grid, []).append(index_id)
    return grids


def grid_table(
    variants: list[IndexResult],
    risk_free: pl.DataFrame | None,
    root_levels_of: Callable[[str], pl.DataFrame | None],
) -> pl.DataFrame:
    """``index, name, <axis>..., annualised_return, annualised_volatility, sharpe, max_drawdown,
    annual_turnover``: one row per variant (axis columns as shown, strings)."""
    rows = []
    for result in variants:
        spec, levels = result.spec, result.levels
        turnover = None
        if result.weights.height and "weight" in result.weights.columns:
            turnover = analytics.annual_turnover(result.weights, root_levels_of(spec.id))
        rows.append({
            "index": spec.id,
            "name": spec.name,
            **dict(spec.grid.values),
            "annualised_return": analytics.annualised_return(levels),
            "annualised_volatility": analytics.annualised_volatility(levels),
            "sharpe": analytics.sharpe_ratio(levels, risk_free if spec.return_type == "tr" else None),
            "max_drawdown": analytics.max_drawdown(levels).depth,
            "annual_turnover": turnover,
        })
    axes = [axis for axis, _ in variants[0].spec.grid.values]
    schema = {"index": pl.String, "name": pl.String, **{axis: pl.String for axis in axes},
              **{figure: pl.Float64 for figure in GRID_FIGURES}}
    return pl.DataFrame(rows, schema=schema)


def axis_values(table: pl.DataFrame, axis: str) -> list[str]:
    """The axis's values in the grid's order (the order they first appear: the first axis
    varies slowest, so each axis's values appear in the order the grid lists them)."""
    return list(dict.fromkeys(table.get_column(axis).to_list()))


def axis_chart(table: pl.DataFrame, axis: str, figure: str, name: str) -> str:
    """SVG: ``figure`` of every variant (a dot) at its value of ``axis`` (evenly spaced, in the
    grid's order), and the mean of the figure per value (a line). Text at 11 px of a 360 px
    wide chart: at least 10 px at any width down to 330 px."""
    values = axis_values(table, axis)
    points = table.select(axis, figure).drop_nulls()
    width, height, left, right, top, bottom = 360, 200, 48, 12, 14, 40
    if points.height == 0:
        return ""
    low, high = float(points.get_column(figure).min()), float(points.get_column(figure).max())
    if high - low < 1e-12:
        low, high = low - 0.5 * max(abs(low), 1e-3), high + 0.5 * max(abs(high), 1e-3)
    pad = 0.08 * (high - low)
    low, high = low - pad, high + pad
    step = (width - left - right) / max(len(values), 1)

    def x(value: str) -> float:
        return left + step * (values.index(value) + 0.5)

    def y(number: float) -> float:
        return top + (height - top - bottom) * (high - number) / (high - low)

    percent = figure != "sharpe"
    label = (lambda number: f"{number * 100:.1f}%") if percent else (lambda number: f"{number:.2f}")
    parts = [f'<svg class="grid-chart" id="{html.escape(name)}" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{html.escape(GRID_FIGURES[figure])} against {html.escape(axis)}" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">']
    for tick in range(5):
        number = low + (high - low) * tick / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(number):.1f}" y2="{y(number):.1f}" stroke="#e3e6ea"/>'
                     f'<text x="{left - 4}" y="{y(number) + 4:.1f}" text-anchor="end" fill="#555">{label(number)}</text>')
    if low < 0 < high:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#888"/>')
    for value in values:
        parts.append(f'<text x="{x(value):.1f}" y="{height - bottom + 15}" text-anchor="middle" fill="#333">'
                     f'{html.escape(value)}</text>')
    parts.append(f'<text x="{(left + width - right) / 2:.1f}" y="{height - 6}" text-anchor="middle" fill="#333">'
                 f'{html.escape(axis)}</text>')
    for value, number in points.iter_rows():
        parts.append(f'<circle cx="{x(value):.1f}" cy="{y(number):.1f}" r="3" fill="#1f4e79" fill-opacity="0.35"/>')
    means = points.group_by(axis, maintain_order=True).agg(pl.col(figure).mean())
    path = " ".join(f"{x(value):.1f},{y(number):.1f}"
                    for value, number in sorted(means.iter_rows(), key=lambda row: values.index(row[0])))
    parts.append(f'<polyline points="{path}" fill="none" stroke="#c0392b" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def render_grid_page(grid: str, table: pl.DataFrame, title: str, synthetic: bool = False) -> str:
    """``grids/GRID.html``: the comparison table and a chart of each charted figure per axis."""
    axes = [column for column in table.columns if column not in ("index", "name", *GRID_FIGURES)]
    charts = [
        {"axis": axis, "values": axis_values(table, axis),
         "charts": [{"figure": GRID_FIGURES[figure],
                     "svg": axis_chart(table, axis, figure, f"{grid}-{axis}-{figure}")} for figure in CHARTED]}
        for axis in axes
    ]
    return environment().get_template("grid.html.j2").render(
        grid=grid, title=title, axes=axes, rows=table.rows(named=True), figures=GRID_FIGURES, charts=charts,
        root="../", synthetic_market=synthetic,
    )
