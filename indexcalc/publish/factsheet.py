"""One index's HTML factsheet (DESIGN.md sections 5 and 7).

:func:`factsheet_context` gathers every figure of the page from :mod:`indexcalc.analytics` and
the charts; :func:`render_factsheet` fills ``templates/factsheet.html.j2``. The page shows the
key facts of the spec, level and drawdown charts, performance and risk tables, calendar-year and
monthly returns, current weights by root and by sector, the top contributors over the last 12
months, the correlation with the Long-Only index, and every family table of the result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from markupsafe import Markup

from indexcalc import analytics
from indexcalc.data.instruments import Instrument
from indexcalc.publish import charts
from indexcalc.publish.describe import describe_rebalance, describe_roll, family_label, index_roots
from indexcalc.publish.formatting import environment
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


def long_only_reference(spec: IndexSpecBase, results: dict[str, IndexResult]) -> IndexResult | None:
    """The catalogue's Long-Only index with ``spec``'s return type and no sector or universe
    filter (None if there is none, or ``spec`` is that index)."""
    for candidate in results.values():
        other = candidate.spec
        if (
            other.kind == "momentum"
            and getattr(other, "family", None) == "long_only"
            and other.return_type == spec.return_type
            and other.sectors is None
            and other.universe is None
            and getattr(other, "sector_label", None) is None
            and other.id != spec.id
        ):
            return candidate
    return None


def table_view(name: str, table: pl.DataFrame) -> dict:
    """A family table as shown: with a ``date`` column, the rows of its latest date when there
    are several, else its latest :data:`TABLE_TAIL_ROWS` rows; with another date column (a
    trade list's entry date), the latest rows by that column; otherwise the first
    :data:`TABLE_MAX_ROWS` rows. A correlation matrix is also drawn as a heatmap."""
    shown = table
    note = ""
    date_columns = [column for column, dtype in table.schema.items() if dtype == pl.Date]
    if "date" in table.columns and table.height:
        latest = table.filter(pl.col("date") == pl.col("date").max())
        if latest.height > 1:
            shown, note = latest, f"rows of the latest date, {latest.get_column('date')[0].isoformat()}"
        else:
            shown = table.sort("date").tail(TABLE_TAIL_ROWS).reverse()
            note = f"latest {shown.height} of {table.height} rows"
    elif date_columns and table.height > TABLE_TAIL_ROWS:
        shown = table.sort(date_columns[0], nulls_last=True).tail(TABLE_TAIL_ROWS).reverse()
        note = f"latest {shown.height} of {table.height} rows by {date_columns[0]}"
    if shown.height > TABLE_MAX_ROWS:
        shown = shown.head(TABLE_MAX_ROWS)
        note = f"first {TABLE_MAX_ROWS} of {table.height} rows"
    chart = None
    if name == "correlation_matrix" and table.height:
        chart = Markup(charts.correlation_heatmap(table, name=f"table-{name}"))
    return {
        "name": name,
        "title": TABLE_TITLES.get(name, name.replace("_", " ").capitalize()),
        "columns": shown.columns,
        "rows": shown.rows(),
        "total_rows": table.height,
        "note": note,
        "chart": chart,
    }


def _performance_rows(levels: pl.DataFrame) -> dict[str, float | None]:
    table = analytics.period_returns(levels)
    return dict(zip(table.get_column("period").to_list(), table.get_column("period_return").to_list()))


def factsheet_context(inputs: FactsheetInputs) -> dict:
    """Every figure and chart of the factsheet, computed from the result (pure)."""
    result = inputs.result
    spec = result.spec
    levels = result.levels.sort("date")
    weights = result.weights
    first, last = levels.row(0, named=True), levels.row(-1, named=True)
    last_date: dt.date = last["date"]
    drawdown = analytics.max_drawdown(levels)
    risk_free = inputs.risk_free if spec.return_type == "tr" else None
    roots = index_roots(spec, inputs.instruments)
    sectors = {root: instrument.sector for root, instrument in inputs.instruments.items()}

    current = analytics.current_weights(weights, sectors)
    monthly = analytics.monthly_returns(levels)
    context: dict = {
        "spec": spec,
        "kind_label": family_label(spec),
        "as_of": last_date,
        "latest_level": last["level"],
        "latest_return": last["daily_return"],
        "facts": [
            ("Index id", spec.id),
            ("Kind", family_label(spec)),
            ("Return type", RETURN_TYPES[spec.return_type]),
            ("Base date", first["date"].isoformat()),
            ("Base value", f"{spec.base_value:,.2f}"),
            ("Rebalance", describe_rebalance(spec, weights)),
            ("Implementation lag", f"{spec.implementation_lag} business day(s) from fixing to effect"),
            ("Roll", describe_roll(inputs.roll or spec.roll)),
            ("Universe", ", ".join(roots) if roots else "–"),
            ("Sectors", ", ".join(sorted({sectors[root] for root in roots if root in sectors})) or "–"),
        ],
        "performance": _performance_rows(levels),
        "periods": [(label, annualised) for label, _, annualised in analytics.PERIODS],
        "stats": {
            "annualised_return": analytics.annualised_return(levels),
            "annualised_volatility": analytics.annualised_volatility(levels),
            "sharpe": analytics.sharpe_ratio(levels, risk_free),
            "sortino": analytics.sortino_ratio(levels, risk_free),
            "max_drawdown": drawdown.depth,
            "calmar": analytics.calmar_ratio(levels),
            "annual_turnover": analytics.annual_turnover(weights) if weights.height else None,
        },
        "drawdown": drawdown,
        "risk_free_note": "0 (excess-return index)" if risk_free is None else "3-month T-bill collateral return",
        "calendar_years": analytics.calendar_year_returns(levels).rows(named=True),
        "weights": [
            dict(row, name=inputs.instruments[row["root"]].name if row["root"] in inputs.instruments else row["root"])
            for row in current.rows(named=True)
        ],
        "weights_date": weights.get_column("date").max() if weights.height else None,
        "sector_weights": analytics.sector_weights(current).rows(named=True),
        "charts": {
            "level": Markup(charts.level_chart(levels)),
            "drawdown": Markup(charts.drawdown_chart(analytics.drawdowns(levels))),
            "monthly": Markup(charts.monthly_heatmap(monthly)) if monthly.height else None,
        },
        "tables": [table_view(name, table) for name, table in result.tables.items()],
    }

    reference = inputs.long_only
    context["long_only"] = None
    if reference is not None:
        context["long_only"] = {
            "id": reference.spec.id,
            "name": reference.spec.name,
            "correlation": analytics.return_correlation(levels, reference.levels),
            "performance": _performance_rows(reference.levels.filter(pl.col("date") <= last_date)),
        }

    context["contributors"] = None
    if inputs.root_levels is not None and weights.height:
        start = analytics.months_before(last_date, CONTRIBUTION_MONTHS)
        contribution = analytics.return_contribution(weights, inputs.root_levels, start, last_date).drop_nulls()
        if contribution.height > 2 * TOP_CONTRIBUTORS:
            contribution = pl.concat([contribution.head(TOP_CONTRIBUTORS), contribution.tail(TOP_CONTRIBUTORS)])
        context["contributors"] = {
            "start": max(start, first["date"]),
            "end": last_date,
            "rows": contribution.rows(named=True),
        }
    return context


def render_factsheet(inputs: FactsheetInputs) -> str:
    """The factsheet page of ``inputs.result`` (self-contained HTML)."""
    return environment().get_template("factsheet.html.j2").render(
        factsheet_context(inputs), root="../", synthetic_market=inputs.synthetic
    )
