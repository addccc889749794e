"""One index's HTML factsheet and its detail page (docs/design.md sections 5 and 7).

:func:`factsheet_context` gathers every figure of the pages from :mod:`indexcalc.analytics` and
the charts; :func:`render_factsheet_pages` fills ``templates/factsheet.html.j2`` (at most two A4
pages: key facts, risk since inception and over 1/3/5 years, the log-scale level chart with the
Long-Only reference and the back-tested history shaded, drawdowns and the worst five, the
performance table up to 10 years, the latest calendar years and monthly returns, sector
weights, target and drifted weights, top contributors, and a footnote defining each figure)
and ``templates/factsheet_detail.html.j2`` (every family table through the column registry of
:mod:`indexcalc.publish.columns`, every calendar year and month).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from markupsafe import Markup

from indexcalc import analytics
from indexcalc.data.instruments import Instrument
from indexcalc.families.registry import FAMILIES
from indexcalc.publish import charts, figures
from indexcalc.publish.describe import describe_rebalance, describe_roll, family_label, index_roots
from indexcalc.publish import columns
from indexcalc.publish.formatting import environment, plural, sector_label
from indexcalc.results import IndexResult
from indexcalc.specs import IndexSpecBase, RollRule

CONTRIBUTION_MONTHS = 12
"""Window of the top-contributors table, calendar months back from the last date."""
TOP_CONTRIBUTORS = 5
"""Roots shown at each end of the contributors table."""
TABLE_TAIL_ROWS = 10
"""Rows shown of a table with one row per date (the CSV has them all)."""
TABLE_MAX_ROWS = 60
"""Most rows shown of any other table."""
FACTSHEET_YEARS = 8
"""Calendar years of the factsheet's year table and monthly heatmap (the detail page has all)."""
FACTSHEET_WEIGHTS = 10
"""Weights rows printed on the factsheet, the largest by size (the screen shows them all)."""
WORST_DRAWDOWNS = 5
"""Episodes in the worst-drawdowns table."""
TABLE_TITLES = {
    "analytics": "Signal analytics",
    "carry_stages": "Carry signal stages",
    "correlation_matrix": "Correlation matrix",
    "correlation_monitor": "Correlation monitor",
    "pairs": "Pairs z-scores",
    "stress": "Stress scenarios",
    "attribution": "Return attribution",
    "risk_contribution": "Risk contribution",
    "trades": "Trades",
    "signals": "Signals",
    "sample_stats": "In- and out-of-sample statistics",
}
RETURN_TYPES = {
    "er": "Excess return (futures returns, no collateral interest)",
    "tr": "Total return (excess return plus 3-month T-bill interest on the notional)",
}


@dataclass(frozen=True)
class FactsheetInputs:
    """What one factsheet needs beyond the result itself.

    - ``instruments``: names and sectors of the roots;
    - ``long_only``: the Long-Only reference result (None if the catalogue has none, or this is it);
    - ``root_levels``: ``date, root, level`` single-commodity ER levels for the contributions
      (None: no contributors table);
    - ``risk_free``: ``date, collateral_return`` for the Sharpe and Sortino of a TR index;
    - ``roll``: the roll rule actually applied (the spec's, or the data roll on vendor data);
    - ``synthetic``: computed on a synthetic market (the page then carries the banner).
    """

    result: IndexResult
    instruments: dict[str, Instrument]
    long_only: IndexResult | None = None
    root_levels: pl.DataFrame | None = None
    risk_free: pl.DataFrame | None = None
    roll: RollRule | None = None
    synthetic: bool = False
    charts: dict | None = None
    """The page's charts when drawn beforehand (:func:`factsheet_charts`); None: drawn here."""


def factsheet_charts(
    result: IndexResult, instruments: dict[str, Instrument], long_only: IndexResult | None
) -> dict[str, Markup | None]:
    """The charts of the factsheet and its detail page (level with the Long-Only reference and
    the back-tested history, drawdown, monthly heatmaps, sector weights): they need only the
    result, so a publication draws them while it builds the series for the contributions."""
    levels = result.levels.sort("date")
    last_date: dt.date = levels.get_column("date")[-1]
    launch = result.spec.launch_date
    backtest_end = launch if launch is not None and launch <= last_date else None
    history = figures.level_history(levels)
    monthly = figures.returns_by_period(history, monthly=True)
    recent_monthly = monthly.filter(pl.col("year") > last_date.year - FACTSHEET_YEARS)
    sectors = {root: instrument.sector for root, instrument in instruments.items()}
    sector_table = analytics.sector_weights(analytics.current_weights(result.weights, sectors))
    return {
        "level": Markup(charts.level_chart(
            levels, reference=long_only.levels.filter(pl.col("date") <= last_date) if long_only else None,
            reference_label=long_only.spec.id if long_only else "", launch_date=backtest_end, label=result.spec.id,
        )),
        "drawdown": Markup(charts.drawdown_chart(figures.drawdowns(history))),
        "monthly": Markup(charts.monthly_heatmap(recent_monthly)) if recent_monthly.height else None,
        "monthly_full": (Markup(charts.monthly_heatmap(monthly, name="monthly-full"))
                         if monthly.height and recent_monthly.height < monthly.height else None),
        "sectors": (Markup(charts.sector_chart(sector_table.with_columns(
            pl.col("sector").map_elements(sector_label, return_dtype=pl.String).alias("label"))))
            if sector_table.height else None),
    }


def long_only_reference(spec: IndexSpecBase, results: dict[str, IndexResult]) -> IndexResult | None:
    """The catalogue's reference index with ``spec``'s return type (a family's
    :attr:`~indexcalc.families.family.Family.is_reference`: the Long-Only index with no sector or
    universe filter), None if there is none or ``spec`` is that index."""
    for candidate in results.values():
        other = candidate.spec
        if FAMILIES.of(other).is_reference(other) and other.return_type == spec.return_type and other.id != spec.id:
            return candidate
    return None


def table_view(name: str, table: pl.DataFrame) -> dict:
    """A family table as shown: with a ``date`` column, the rows of its latest date when there
    are several, else its latest :data:`TABLE_TAIL_ROWS` rows; with another date column (a
    trade list's entry date), the latest rows by that column; otherwise the first
    :data:`TABLE_MAX_ROWS` rows. The columns are those :func:`columns.shown_columns` keeps,
    labelled and formatted by the column registry (:mod:`indexcalc.publish.columns`); the CSV
    keeps every row and column. A correlation matrix is also drawn as a heatmap."""
    shown = table
    note = ""
    date_columns = [column for column, dtype in table.schema.items() if dtype == pl.Date]
    single_date = False
    if "date" in table.columns and table.height:
        latest = table.filter(pl.col("date") == pl.col("date").max())
        if latest.height > 1:
            shown, note = latest, f"rows of the latest date, {latest.get_column('date')[0].isoformat()}"
            single_date = True
        else:
            shown = table.sort("date").tail(TABLE_TAIL_ROWS).reverse()
            note = f"latest {shown.height} of {table.height} rows"
    elif date_columns and table.height > TABLE_TAIL_ROWS:
        shown = table.sort(date_columns[0], nulls_last=True).tail(TABLE_TAIL_ROWS).reverse()
        note = f"latest {shown.height} of {table.height} rows by {columns.column_for(name, date_columns[0]).label.lower()}"
    if shown.height > TABLE_MAX_ROWS:
        shown = shown.head(TABLE_MAX_ROWS)
        note = f"first {TABLE_MAX_ROWS} of {table.height} rows"
    names = [column for column in columns.shown_columns(name, table.columns) if not (single_date and column == "date")]
    registry = [columns.column_for(name, column, table.schema[column].is_numeric()) for column in names]
    hidden = len(table.columns) - len(names)
    chart = None
    if name == "correlation_matrix" and table.height:
        chart = Markup(charts.correlation_heatmap(table, name=f"table-{name}"))
    return {
        "name": name,
        "title": TABLE_TITLES.get(name, name.replace("_", " ").capitalize()),
        "columns": [{"name": column, "header": entry.header, "numeric": entry.numeric}
                    for column, entry in zip(names, registry)],
        "rows": [[(entry.write(value), entry.numeric) for entry, value in zip(registry, row)]
                 for row in shown.select(names).rows()],
        "values": shown.select(names).rows(),
        "total_rows": table.height,
        "hidden_columns": hidden,
        "note": note,
        "chart": chart,
    }


_WEIGHTS_FIGURES: list[tuple[pl.DataFrame, pl.DataFrame | None, dt.date, dict]] = []
"""The figures of the last few pages' weights (:func:`weights_figures`)."""
_WEIGHTS_FIGURES_KEPT = 4


def weights_figures(weights: pl.DataFrame, root_levels: pl.DataFrame | None, last_date: dt.date) -> dict:
    """The figures of a page that depend only on its weights, the single-commodity levels and
    its last date: ``annual_turnover`` (:func:`analytics.annual_turnover`, with drift when the
    levels are known), ``drifted`` (root -> weight drifted to ``last_date``,
    :func:`analytics.drifted_weights`) and ``contribution`` (:func:`analytics.return_contribution`
    over the :data:`CONTRIBUTION_MONTHS` to ``last_date``, None without levels).

    Kept for the next pages: a total-return index has the weights of its excess-return twin,
    so its figures are the twin's (found by equal weights, the same levels frame and date)."""
    for kept_weights, kept_levels, kept_date, kept in _WEIGHTS_FIGURES:
        if kept_levels is root_levels and kept_date == last_date and (
                kept_weights is weights or kept_weights.equals(weights)):
            return kept
    found: dict = {"annual_turnover": None, "drifted": {}, "contribution": None}
    if weights.height:
        found["annual_turnover"] = analytics.annual_turnover(weights, root_levels)
    if root_levels is not None and weights.height:
        frame = analytics.drifted_weights(weights, root_levels, last_date)
        found["drifted"] = dict(zip(frame.get_column("root").to_list(), frame.get_column("drifted_weight").to_list()))
        start = analytics.months_before(last_date, CONTRIBUTION_MONTHS)
        found["contribution"] = analytics.return_contribution(weights, root_levels, start, last_date).drop_nulls()
    _WEIGHTS_FIGURES.append((weights, root_levels, last_date, found))
    del _WEIGHTS_FIGURES[:-_WEIGHTS_FIGURES_KEPT]
    return found


def _weights_rows(inputs: FactsheetInputs, current: pl.DataFrame, drifted: dict[str, float]) -> list[dict]:
    """The target weights of the last fixing (``current``: :func:`analytics.current_weights`)
    beside the ``drifted`` weights (:func:`weights_figures`), with names and sector labels."""
    rows = []
    for row in current.rows(named=True):
        instrument = inputs.instruments.get(row["root"])
        rows.append(dict(row, name=instrument.name if instrument else row["root"],
                         sector_name=sector_label(row["sector"]), drifted=drifted.get(row["root"])))
    return rows


def factsheet_context(inputs: FactsheetInputs) -> dict:
    """Every figure and chart of the factsheet and its detail page, computed from the result
    (pure)."""
    result = inputs.result
    spec = result.spec
    history = figures.level_history(result.levels)
    levels = history.frame
    weights = result.weights
    first, last = levels.row(0, named=True), levels.row(-1, named=True)
    last_date: dt.date = last["date"]
    risk_free = inputs.risk_free if spec.return_type == "tr" else None
    risk = figures.risk_figures(history, risk_free)
    drawdown = risk["drawdown"]
    roots = index_roots(spec, inputs.instruments)
    sectors = {root: instrument.sector for root, instrument in inputs.instruments.items()}
    reference = inputs.long_only
    is_reference = reference is None and FAMILIES.of(spec).is_reference(spec)

    current = analytics.current_weights(weights, sectors)
    weights_part = weights_figures(weights, inputs.root_levels, last_date)
    monthly = figures.returns_by_period(history, monthly=True)
    turnover_root_levels = inputs.root_levels if inputs.root_levels is not None else None
    launch = spec.launch_date
    backtest_end = launch if launch is not None and launch <= last_date else None
    sector_table = analytics.sector_weights(current).with_columns(
        pl.col("sector").map_elements(sector_label, return_dtype=pl.String).alias("label")
    )
    context: dict = {
        "spec": spec,
        "kind_label": family_label(spec),
        "as_of": last_date,
        "latest_level": last["level"],
        "latest_return": last["daily_return"],
        "facts": _facts(inputs, first["date"], roots, sectors),
        "launch_date": launch,
        "backtest_note": (
            f"levels before {launch.isoformat()} are back-tested" if backtest_end
            else "the index is not yet calculated live: every level shown is back-tested"
            if launch is None or launch > last_date else ""
        ),
        "performance": figures.period_returns(history),
        "periods": [(label, annualised) for label, _, annualised in analytics.PERIODS],
        "stats": {
            **{name: risk[name] for name in ("annualised_return", "annualised_volatility", "sharpe", "sortino",
                                             "max_drawdown", "calmar")},
            "annual_turnover": weights_part["annual_turnover"],
        },
        "turnover_with_drift": turnover_root_levels is not None,
        "trailing_risk": figures.trailing_risk(history, risk_free),
        "worst_drawdowns": figures.worst_drawdowns(history, WORST_DRAWDOWNS),
        "months": analytics.best_and_worst_month(monthly),
        "drawdown": drawdown,
        "risk_free_note": "0 (excess-return index)" if risk_free is None else "3-month T-bill collateral return",
        "calendar_years": figures.returns_by_period(history, monthly=False).rows(named=True),
        "factsheet_years": FACTSHEET_YEARS,
        "weights": sorted(_weights_rows(inputs, current, weights_part["drifted"]), key=lambda row: -abs(row["weight"])),
        "factsheet_weights": FACTSHEET_WEIGHTS,
        "weights_date": weights.get_column("date").max() if weights.height else None,
        "sector_weights": sector_table.rows(named=True),
        "is_reference": is_reference,
        "charts": inputs.charts if inputs.charts is not None
        else factsheet_charts(result, inputs.instruments, reference),
        "tables": [table_view(name, table) for name, table in result.tables.items()],
    }
    context["long_only"] = None if reference is None else _reference_context(reference, levels, last_date)
    context["contributors"] = _contributors(weights_part["contribution"], first["date"], last_date)
    return context


def _facts(inputs: FactsheetInputs, base_date: dt.date, roots: list[str], sectors: dict) -> list[tuple[str, str]]:
    """The index's key facts, as (label, text) rows."""
    spec, weights, launch = inputs.result.spec, inputs.result.weights, inputs.result.spec.launch_date
    return [
        ("Index id", spec.id),
        ("Return type", RETURN_TYPES[spec.return_type]),
        ("Base date", base_date.isoformat()),
        ("Base value", f"{spec.base_value:,.2f}"),
        ("Launch date", launch.isoformat() if launch else "not launched: the whole history is back-tested"),
        ("Rebalance", describe_rebalance(spec, weights)),
        ("Implementation lag", f"{plural(spec.implementation_lag, 'business day')} from fixing to effect"),
        ("Roll", describe_roll(inputs.roll or spec.roll)),
        ("Universe", ", ".join(roots) if roots else "–"),
        ("Sectors", ", ".join(sorted({sector_label(sectors[root]) for root in roots if root in sectors})) or "–"),
    ]


def _reference_context(reference: IndexResult, levels: pl.DataFrame, last_date: dt.date) -> dict:
    """The reference index beside this one: its id, name, return correlation and performance to
    ``last_date``."""
    return {
        "id": reference.spec.id,
        "name": reference.spec.name,
        "correlation": analytics.return_correlation(levels, reference.levels),
        "performance": figures.period_returns(figures.level_history(reference.levels.filter(pl.col("date") <= last_date))),
    }


def _contributors(contribution: pl.DataFrame | None, base_date: dt.date, last_date: dt.date) -> dict | None:
    """The top and bottom :data:`TOP_CONTRIBUTORS` return contributions over the last
    :data:`CONTRIBUTION_MONTHS` months (None without contributions)."""
    if contribution is None:
        return None
    start = analytics.months_before(last_date, CONTRIBUTION_MONTHS)
    if contribution.height > 2 * TOP_CONTRIBUTORS:
        contribution = pl.concat([contribution.head(TOP_CONTRIBUTORS), contribution.tail(TOP_CONTRIBUTORS)])
    return {"start": max(start, base_date), "end": last_date, "rows": contribution.rows(named=True)}


def render_factsheet_pages(inputs: FactsheetInputs) -> tuple[str, str]:
    """The factsheet ``factsheets/ID.html`` (two A4 pages at most) and its detail page
    ``factsheets/ID-detail.html`` (the family tables, full calendar-year and monthly history),
    from one :func:`factsheet_context`."""
    context = factsheet_context(inputs)
    env = environment()
    return (env.get_template("factsheet.html.j2").render(context, root="../", synthetic_market=inputs.synthetic),
            env.get_template("factsheet_detail.html.j2").render(context, root="../", synthetic_market=inputs.synthetic))


def render_factsheet(inputs: FactsheetInputs) -> str:
    """The factsheet page of ``inputs.result`` (self-contained HTML)."""
    return render_factsheet_pages(inputs)[0]
