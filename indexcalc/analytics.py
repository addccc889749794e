"""Analytics on index levels, weights and contributions (docs/design.md section 5).

Every function is pure and takes polars frames:

- a *levels* frame ``date, level, daily_return`` sorted by date; its first row is the base date
  (or the first published date). Daily returns are always recomputed from ``level``
  (``r_t = L_t / L_{t-1} - 1``), so the first row contributes no return;
- a *weights* frame ``date, effective_date, root, weight`` (+ family columns such as
  ``direction``): one row per rebalance and root, ``weight`` the signed fraction of the index.

Conventions used throughout (stated once, in the published factsheets too):

- annualisation uses ``periods_per_year`` = 252 business days; N is the number of daily returns;
- Sharpe and Sortino subtract a risk-free daily return only when one is given. An excess-return
  (ER) index is already a return over collateral, so its risk-free rate is 0; a total-return (TR)
  index is compared with its collateral (T-bill) return;
- returns are fractions (0.05 = 5%); ratios are unitless; dates are ``pl.Date``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

TRADING_DAYS_PER_YEAR = 252
"""Business days per year used to annualise daily statistics."""

PERIODS: tuple[tuple[str, int | None, bool], ...] = (
    ("1M", 1, False),
    ("3M", 3, False),
    ("YTD", None, False),
    ("1Y", 12, False),
    ("3Y", 36, True),
    ("5Y", 60, True),
    ("10Y", 120, True),
    ("Since inception", None, True),
)
"""The performance-table periods: label, length in calendar months (None: see
:func:`period_returns`), and whether the figure shown is annualised."""


def daily_returns(levels: pl.DataFrame) -> pl.DataFrame:
    """``date, daily_return`` with ``r_t = L_t / L_{t-1} - 1`` for every date after the first."""
    return (
        levels.sort("date")
        .select("date", (pl.col("level") / pl.col("level").shift(1) - 1.0).alias("daily_return"))
        .slice(1)
    )


def _excess_returns(levels: pl.DataFrame, risk_free: pl.DataFrame | None) -> pl.Series:
    """Daily returns minus the risk-free daily return of the same date (0 when ``risk_free`` is
    None). ``risk_free``: ``date, collateral_return``; every return date must be present."""
    returns = daily_returns(levels)
    if risk_free is None:
        return returns.get_column("daily_return")
    joined = returns.join(risk_free.select("date", "collateral_return"), on="date", how="left")
    missing = joined.filter(pl.col("collateral_return").is_null())
    if missing.height:
        raise ValueError(f"no risk-free return on {missing.get_column('date')[0]}")
    return joined.select(pl.col("daily_return") - pl.col("collateral_return")).to_series()


def annualised_return(levels: pl.DataFrame, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float | None:
    """Geometric annualised return ``(L_N / L_0) ^ (periods_per_year / N) - 1`` (fraction).

    ``L_0`` is the first level, ``L_N`` the last, N the number of daily returns between them.
    None with fewer than two levels.
    """
    count = levels.height - 1
    if count < 1:
        return None
    ordered = levels.sort("date").get_column("level")
    return (ordered[-1] / ordered[0]) ** (periods_per_year / count) - 1.0


def annualised_volatility(levels: pl.DataFrame, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float | None:
    """``stdev(r) * sqrt(periods_per_year)``: sample standard deviation (ddof 1) of the daily
    returns, annualised (fraction). None with fewer than two returns."""
    returns = daily_returns(levels).get_column("daily_return")
    if returns.len() < 2:
        return None
    return float(returns.std(ddof=1)) * math.sqrt(periods_per_year)


def sharpe_ratio(
    levels: pl.DataFrame,
    risk_free: pl.DataFrame | None = None,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float | None:
    """``mean(x) / stdev(x) * sqrt(periods_per_year)`` with ``x_t = r_t - rf_t``.

    The annualised arithmetic mean excess return over the annualised volatility (ddof 1).
    ``rf`` = 0 for an excess-return index (its returns are already over collateral); pass the
    collateral returns (``date, collateral_return``) for a total-return index. None when the
    volatility is 0 or there are fewer than two returns.
    """
    excess = _excess_returns(levels, risk_free)
    if excess.len() < 2:
        return None
    deviation = float(excess.std(ddof=1))
    if deviation == 0.0:
        return None
    return float(excess.mean()) / deviation * math.sqrt(periods_per_year)


def sortino_ratio(
    levels: pl.DataFrame,
    risk_free: pl.DataFrame | None = None,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float | None:
    """``mean(x) * periods_per_year / (DD * sqrt(periods_per_year))`` with ``x_t = r_t - rf_t``.

    Downside deviation ``DD = sqrt( sum_t min(x_t, 0)^2 / N )``: the target is 0 and the sum of
    squared shortfalls is divided by the number N of all returns (not only the negative ones).
    ``rf`` as in :func:`sharpe_ratio`. None when no return is negative.
    """
    excess = _excess_returns(levels, risk_free)
    if excess.len() < 1:
        return None
    downside = math.sqrt(float((excess.clip(upper_bound=0.0) ** 2).mean()))
    if downside == 0.0:
        return None
    return float(excess.mean()) * periods_per_year / (downside * math.sqrt(periods_per_year))


def drawdowns(levels: pl.DataFrame) -> pl.DataFrame:
    """``date, drawdown`` with ``DD_t = L_t / max_{s<=t} L_s - 1`` (fraction, <= 0)."""
    return levels.sort("date").select("date", (pl.col("level") / pl.col("level").cum_max() - 1.0).alias("drawdown"))


@dataclass(frozen=True)
class MaxDrawdown:
    """The deepest peak-to-trough fall: ``depth`` = min_t DD_t (fraction, <= 0).

    ``peak_date``: last date on or before the trough at which the level stood at its running
    maximum; ``trough_date``: first date of the deepest drawdown; ``recovery_date``: first date
    after the trough with a level at or above the peak level (None if not yet recovered). All
    dates are None when the level never fell.
    """

    depth: float
    peak_date: dt.date | None
    trough_date: dt.date | None
    recovery_date: dt.date | None


def max_drawdown(levels: pl.DataFrame) -> MaxDrawdown:
    """Maximum drawdown and its dates (see :class:`MaxDrawdown`)."""
    frame = drawdowns(levels)
    if frame.height == 0:
        return MaxDrawdown(0.0, None, None, None)
    depth = float(frame.get_column("drawdown").min())
    if depth >= 0.0:
        return MaxDrawdown(0.0, None, None, None)
    # positions found with numpy on the same floats (a handful of polars filters cost more here)
    values = frame.get_column("drawdown").to_numpy()
    dates = frame.get_column("date")
    trough = int(np.flatnonzero(values == depth)[0])
    at_peak = np.flatnonzero(values == 0.0)
    peak = dates[int(at_peak[at_peak < trough][-1])]
    recovered = at_peak[at_peak > trough]
    return MaxDrawdown(depth, peak, dates[trough], dates[int(recovered[0])] if recovered.size else None)


def calmar_ratio(
    levels: pl.DataFrame, periods_per_year: int = TRADING_DAYS_PER_YEAR, drawdown: MaxDrawdown | None = None
) -> float | None:
    """``annualised_return / |max drawdown|`` over the whole history (not a trailing 36 months).
    None when there is no drawdown. ``drawdown``: :func:`max_drawdown` of ``levels`` when the
    caller has it already."""
    depth = (drawdown if drawdown is not None else max_drawdown(levels)).depth
    growth = annualised_return(levels, periods_per_year)
    if depth == 0.0 or growth is None:
        return None
    return growth / abs(depth)


def level_on_or_before(levels: pl.DataFrame, day: dt.date) -> tuple[dt.date, float] | None:
    """The last ``(date, level)`` on or before ``day``; None if ``day`` precedes the first date.
    ``levels`` sorted by date."""
    dates = levels.get_column("date")
    position = int(dates.search_sorted(day, side="right")) - 1
    if position < 0:
        return None
    return dates[position], levels.get_column("level")[position]


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier, clamped to the month's end
    (2024-03-31 minus 1 month = 2024-02-29)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period_returns(levels: pl.DataFrame, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> pl.DataFrame:
    """Performance as of the last date T: ``period, start_date, period_return, annualised``.

    - ``1M``, ``3M``, ``1Y`` (n calendar months): ``L_T / L_s - 1`` where ``s`` is the last date
      on or before T minus n months (:func:`months_before`);
    - ``3Y``, ``5Y``, ``10Y``: the same with n = 36, 60, 120 months, annualised: ``(L_T / L_s) ^ (1 / years) - 1``;
    - ``YTD``: ``L_T / L_s - 1`` with ``s`` the last date of the previous calendar year, or the
      first date if the index started in T's year;
    - ``Since inception``: :func:`annualised_return` over the whole history (252-day convention).

    ``period_return`` is null when the history is shorter than the period (T minus n months
    precedes the first date).
    """
    ordered = levels.sort("date")
    rows: list[dict] = []
    if ordered.height == 0:
        return pl.DataFrame(schema={"period": pl.String, "start_date": pl.Date, "period_return": pl.Float64,
                                    "annualised": pl.Boolean})
    last_date, last_level = ordered.row(-1, named=True)["date"], ordered.row(-1, named=True)["level"]
    first_date = ordered.get_column("date")[0]
    for label, months, annualised in PERIODS:
        start: tuple[dt.date, float] | None
        if label == "YTD":
            start = level_on_or_before(ordered, dt.date(last_date.year - 1, 12, 31))
            if start is None:
                start = (first_date, ordered.get_column("level")[0])
        elif label == "Since inception":
            rows.append({"period": label, "start_date": first_date,
                         "period_return": annualised_return(ordered, periods_per_year), "annualised": True})
            continue
        else:
            start = level_on_or_before(ordered, months_before(last_date, months))
        value = None
        if start is not None:
            value = last_level / start[1] - 1.0
            if annualised:
                value = (1.0 + value) ** (12.0 / months) - 1.0
        rows.append({"period": label, "start_date": start[0] if start else None, "period_return": value,
                     "annualised": annualised})
    return pl.DataFrame(rows, schema={"period": pl.String, "start_date": pl.Date, "period_return": pl.Float64,
                                      "annualised": pl.Boolean})


def _returns_by_period(levels: pl.DataFrame, keys: list[pl.Expr], names: list[str]) -> pl.DataFrame:
    """Return of each calendar period: last level of the period over the last level before it
    (the first level for the first period). ``start_date`` is that reference date."""
    ordered = levels.sort("date").with_columns(
        pl.col("date").shift(1).alias("previous_date"), pl.col("level").shift(1).alias("previous_level")
    )
    return (
        ordered.slice(1)
        .with_columns([key.alias(name) for key, name in zip(keys, names)])
        .group_by(names, maintain_order=True)
        .agg(
            pl.col("previous_date").first().alias("start_date"),
            pl.col("date").last().alias("end_date"),
            (pl.col("level").last() / pl.col("previous_level").first() - 1.0).alias("period_return"),
        )
        .sort(names)
    )


def calendar_year_returns(levels: pl.DataFrame) -> pl.DataFrame:
    """``year, start_date, end_date, year_return``: ``L_{end} / L_{start} - 1`` where ``end`` is
    the year's last date and ``start`` the last date of the previous year (the first date for
    the first year; so the first and the current year may be partial)."""
    frame = _returns_by_period(levels, [pl.col("date").dt.year()], ["year"])
    return frame.rename({"period_return": "year_return"})


def monthly_returns(levels: pl.DataFrame) -> pl.DataFrame:
    """``year, month, start_date, end_date, monthly_return``: ``L_{end} / L_{start} - 1`` with
    ``end`` the month's last date and ``start`` the last date before the month."""
    frame = _returns_by_period(levels, [pl.col("date").dt.year(), pl.col("date").dt.month()], ["year", "month"])
    return frame.rename({"period_return": "monthly_return"})


def rolling_return(levels: pl.DataFrame, months: int = 12) -> pl.DataFrame:
    """``date, rolling_return``: ``L_t / L_s - 1`` with ``s`` the last date on or before t minus
    ``months`` calendar months; null while t minus ``months`` precedes the first date."""
    ordered = levels.sort("date").select("date", "level")
    first_date = ordered.get_column("date")[0] if ordered.height else None
    lookback = ordered.with_columns(pl.col("date").dt.offset_by(f"-{months}mo").alias("reference_date"))
    history = ordered.select(pl.col("date").alias("history_date"), pl.col("level").alias("reference_level"))
    joined = lookback.join_asof(history, left_on="reference_date", right_on="history_date", strategy="backward")
    return joined.select(
        "date",
        pl.when(pl.col("reference_date") >= first_date)
        .then(pl.col("level") / pl.col("reference_level") - 1.0)
        .otherwise(None)
        .alias("rolling_return"),
    )


def return_correlation(levels: pl.DataFrame, other: pl.DataFrame) -> float | None:
    """Pearson correlation of the two indexes' daily returns on their common dates (each return
    computed on its own index's consecutive dates). None with fewer than three common dates."""
    joined = daily_returns(levels).join(daily_returns(other), on="date", how="inner", suffix="_other")
    if joined.height < 3:
        return None
    value = joined.select(pl.corr("daily_return", "daily_return_other")).item()
    return None if value is None or math.isnan(value) else float(value)


def turnover(weights: pl.DataFrame) -> pl.DataFrame:
    """``date, turnover`` per rebalance: ``sum_i |W_{i,r} - W_{i,r-1}|`` (fraction of the index
    value traded, buys plus sells), with ``W_{i,r-1}`` the target weights of the previous
    rebalance (0 before the first and for roots absent from a rebalance). Price drift between
    rebalances is ignored."""
    dates = weights.select(pl.col("date").unique()).sort("date")
    roots = weights.select(pl.col("root").unique())
    grid = (
        dates.join(roots, how="cross")
        .join(weights.select("date", "root", "weight"), on=["date", "root"], how="left")
        .with_columns(pl.col("weight").fill_null(0.0))
        .sort("root", "date")
        .with_columns((pl.col("weight") - pl.col("weight").shift(1, fill_value=0.0).over("root")).abs().alias("trade"))
    )
    return grid.group_by("date").agg(pl.col("trade").sum().alias("turnover")).sort("date")


def annual_turnover(weights: pl.DataFrame, root_levels: pl.DataFrame | None = None) -> float | None:
    """Average turnover per year: the sum of the turnover over every rebalance after the
    first (the first builds the portfolio from cash), divided by the years (days / 365.25)
    between the first and the last rebalance. None with fewer than two rebalances.

    With ``root_levels`` (``date, root, level``) the turnover includes price drift
    (:func:`turnover_with_drift`), without them it counts target changes only
    (:func:`turnover`)."""
    per_rebalance = turnover(weights) if root_levels is None else turnover_with_drift(weights, root_levels)
    if per_rebalance.height < 2:
        return None
    dates = per_rebalance.get_column("date")
    years = (dates[-1] - dates[0]).days / 365.25
    return float(per_rebalance.get_column("turnover").slice(1).sum()) / years


def level_on_or_before_by_root(root_levels: pl.DataFrame, roots: pl.Series, days: pl.Series) -> pl.Series:
    """For every ``(roots[k], days[k])``, the root's last ``level`` on or before that day (a
    backward as-of lookup per root; null where the root has no level on or before the day).

    ``root_levels``: ``date, root, level``. Vectorised: each row is keyed ``(root code, day
    number)`` in one int64, the keys of ``root_levels`` are sorted (already sorted when the frame
    is sorted by root and date, as the series are) and all lookups are one binary search. The
    sorted keys of a frame are kept for the next lookups in the same frame
    (:func:`_root_level_keys`), so the factsheets of a publication prepare them once.
    """
    codes, table_keys, table_codes, table_levels = _root_level_keys(root_levels)
    query_codes = roots.replace_strict(codes, default=-1, return_dtype=pl.Int64).to_numpy()
    query_keys = (query_codes << 32) + days.cast(pl.Int64).to_numpy()
    # the last row with a key <= the query's: the same root on or before the day, else another root
    position = np.searchsorted(table_keys, query_keys, side="right") - 1
    found = (position >= 0) & (query_codes >= 0)
    found[found] = table_codes[position[found]] == query_codes[found]
    values = np.where(found, table_levels[np.clip(position, 0, None)] if table_levels.size else np.nan, np.nan)
    return pl.select(pl.when(pl.lit(pl.Series(found))).then(pl.lit(pl.Series(values)))).to_series().alias("level")


_ROOT_LEVEL_KEYS: dict[int, tuple[pl.DataFrame, tuple]] = {}
"""The prepared keys of the last few ``root_levels`` frames, by the frame's identity (the frame
is kept with them, so its id is not reused while the entry lives). Shared by the publisher's
threads: an entry is only ever added whole or dropped, so a race at worst prepares twice."""
_ROOT_LEVEL_KEYS_KEPT = 4


def _root_level_keys(root_levels: pl.DataFrame) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """``codes, keys, key_codes, levels`` of :func:`level_on_or_before_by_root`: a code per root
    of ``root_levels`` (its rank among the sorted roots), and per row, sorted by key, the key
    ``code << 32 + day number``, the code and the level. A root absent from the frame has no
    code (its lookups find nothing)."""
    kept = _ROOT_LEVEL_KEYS.get(id(root_levels))
    if kept is not None and kept[0] is root_levels:
        return kept[1]
    table = root_levels.select("date", "root", "level")
    root_column = table.get_column("root")
    # code the roots run by run (a run: consecutive rows of one root), not row by row
    run_starts = np.flatnonzero(
        table.select((pl.col("root") != pl.col("root").shift(1)).fill_null(True)).to_series().to_numpy()
    )
    run_roots = root_column.gather(run_starts).to_list()
    codes = {root: code for code, root in enumerate(sorted(set(run_roots)))}
    table_codes = np.repeat(
        np.array([codes[root] for root in run_roots], dtype=np.int64), np.diff(np.append(run_starts, table.height))
    )
    table_keys = (table_codes << 32) + table.get_column("date").cast(pl.Int64).to_numpy()
    table_levels = table.get_column("level").to_numpy()
    if table_keys.size > 1 and not bool(np.all(table_keys[1:] >= table_keys[:-1])):
        order = np.argsort(table_keys, kind="stable")
        table_keys, table_codes, table_levels = table_keys[order], table_codes[order], table_levels[order]
    prepared = (codes, table_keys, table_codes, table_levels)
    if len(_ROOT_LEVEL_KEYS) >= _ROOT_LEVEL_KEYS_KEPT:
        _ROOT_LEVEL_KEYS.pop(next(iter(_ROOT_LEVEL_KEYS), None), None)
    _ROOT_LEVEL_KEYS[id(root_levels)] = (root_levels, prepared)
    return prepared


def return_contribution(
    weights: pl.DataFrame, root_levels: pl.DataFrame, start: dt.date, end: dt.date
) -> pl.DataFrame:
    """``root, contribution`` over the window ``(start, end]``: for every holding period that
    overlaps it, ``W_i * (ER_{i,e} / ER_{i,b} - 1)`` summed over periods, where each period runs
    from one ``effective_date`` to the next and ``b``, ``e`` are its overlap with the window.

    ``root_levels``: ``date, root, level`` (the single-commodity ER levels, on the index's date
    axis). The sum over roots is the index's arithmetic return over the window up to
    compounding across periods and the drift of weights inside a period (a first-order
    attribution). A root without any level in the window has a null contribution. Sorted by
    contribution, largest first (nulls last).
    """
    anchors = weights.select(pl.col("effective_date").unique()).sort("effective_date").get_column("effective_date")
    bounds = pl.DataFrame({"effective_date": anchors, "period_end": anchors.shift(-1)}).with_columns(
        pl.max_horizontal(pl.col("effective_date"), pl.lit(start)).alias("begin"),
        pl.min_horizontal(pl.col("period_end").fill_null(end), pl.lit(end)).alias("finish"),
    ).filter(pl.col("begin") < pl.col("finish"))
    held = weights.select("effective_date", "root", "weight").join(
        bounds, on="effective_date", how="inner", maintain_order="left"
    )
    # one lookup for both ends: the begin dates, then the finish dates
    looked_up = level_on_or_before_by_root(
        root_levels,
        pl.concat([held.get_column("root")] * 2),
        pl.concat([held.get_column("begin"), held.get_column("finish")]),
    )
    periods = held.with_columns(
        looked_up.head(held.height).alias("level_begin"), looked_up.tail(held.height).alias("level_finish")
    )
    term = pl.col("weight") * (pl.col("level_finish") / pl.col("level_begin") - 1.0)
    return (
        periods.group_by("root")
        .agg(pl.when(term.is_not_null().any()).then(term.sum()).alias("contribution"))
        .sort(["contribution", "root"], descending=[True, False], nulls_last=True)
    )


def current_weights(weights: pl.DataFrame, sectors: dict[str, str]) -> pl.DataFrame:
    """``root, sector, weight, direction`` at the latest rebalance ``date``: ``direction`` is the
    family's column when present, else ``sign(weight)`` (+1 long, -1 short, 0 flat)."""
    if weights.height == 0:
        return pl.DataFrame(schema={"root": pl.String, "sector": pl.String, "weight": pl.Float64,
                                    "direction": pl.Int64})
    latest = weights.filter(pl.col("date") == pl.col("date").max())
    direction = (
        pl.col("direction").cast(pl.Int64)
        if "direction" in weights.columns
        else pl.col("weight").sign().cast(pl.Int64)
    )
    return latest.select(
        "root",
        pl.col("root").replace_strict(sectors, default="other", return_dtype=pl.String).alias("sector"),
        "weight",
        direction.alias("direction"),
    ).sort(["sector", "root"])


def sector_weights(current: pl.DataFrame) -> pl.DataFrame:
    """``sector, long, short, net, gross`` from :func:`current_weights`: long = sum of positive
    weights, short = sum of negative weights (<= 0), net = long + short, gross = long - short."""
    return (
        current.group_by("sector")
        .agg(
            pl.col("weight").clip(lower_bound=0.0).sum().alias("long"),
            pl.col("weight").clip(upper_bound=0.0).sum().alias("short"),
        )
        .with_columns(
            (pl.col("long") + pl.col("short")).alias("net"), (pl.col("long") - pl.col("short")).alias("gross")
        )
        .sort("sector")
    )


RISK_WINDOWS_YEARS: tuple[int, ...] = (1, 3, 5)
"""Trailing windows of the risk table, in years."""


def trailing_levels(levels: pl.DataFrame, months: int) -> pl.DataFrame | None:
    """The levels of the trailing ``months`` calendar months: from the last date on or before
    T minus ``months`` months (T the last date) to T. None when the history is shorter (T minus
    ``months`` months precedes the first date)."""
    ordered = levels.sort("date")
    if ordered.height == 0:
        return None
    last_date = ordered.get_column("date")[-1]
    start = level_on_or_before(ordered, months_before(last_date, months))
    if start is None:
        return None
    return ordered.filter(pl.col("date") >= start[0])


def trailing_risk(
    levels: pl.DataFrame,
    risk_free: pl.DataFrame | None = None,
    years: tuple[int, ...] = RISK_WINDOWS_YEARS,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> pl.DataFrame:
    """``years, start_date, annualised_return, annualised_volatility, sharpe, max_drawdown`` over
    each trailing window of n years (:func:`trailing_levels` with 12 n months): the same
    formulas as over the whole history (:func:`annualised_return`, :func:`annualised_volatility`,
    :func:`sharpe_ratio`, :func:`max_drawdown`) applied to the window's levels only, the
    window's first level being its reference (so its first return is the day after).
    Every figure is null when the history is shorter than the window."""
    rows = []
    for count in years:
        window = trailing_levels(levels, 12 * count)
        if window is None or window.height < 3:
            rows.append({"years": count, "start_date": None, "annualised_return": None,
                         "annualised_volatility": None, "sharpe": None, "max_drawdown": None})
            continue
        rows.append({
            "years": count,
            "start_date": window.get_column("date")[0],
            "annualised_return": annualised_return(window, periods_per_year),
            "annualised_volatility": annualised_volatility(window, periods_per_year),
            "sharpe": sharpe_ratio(window, risk_free, periods_per_year),
            "max_drawdown": max_drawdown(window).depth,
        })
    return pl.DataFrame(rows, schema={"years": pl.Int64, "start_date": pl.Date, "annualised_return": pl.Float64,
                                      "annualised_volatility": pl.Float64, "sharpe": pl.Float64,
                                      "max_drawdown": pl.Float64})


def worst_drawdowns(levels: pl.DataFrame, count: int = 5) -> pl.DataFrame:
    """The ``count`` deepest drawdown episodes: ``peak_date, trough_date, recovery_date, depth,
    days_to_trough, days_to_recover``, deepest first.

    An episode starts at a date with ``DD = 0`` (a running peak) followed by ``DD < 0`` and ends
    at the next date with ``DD = 0`` (the recovery, None if not yet recovered); ``depth`` =
    min DD over the episode (fraction, < 0), ``trough_date`` its first date; the day counts are
    calendar days from the peak to the trough and to the recovery (None if not recovered)."""
    frame = drawdowns(levels).with_row_index("position")
    schema = {"peak_date": pl.Date, "trough_date": pl.Date, "recovery_date": pl.Date, "depth": pl.Float64,
              "days_to_trough": pl.Int64, "days_to_recover": pl.Int64}
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    # an episode number: rows at a peak start a new one; rows under water belong to the last
    tagged = frame.with_columns(
        (pl.col("drawdown") >= 0.0).alias("at_peak")
    ).with_columns(pl.col("at_peak").cum_sum().alias("episode"))
    peaks = tagged.filter(pl.col("at_peak")).select("episode", pl.col("date").alias("peak_date"))
    under = tagged.filter(~pl.col("at_peak"))
    if under.height == 0:
        return pl.DataFrame(schema=schema)
    episodes = (
        under.group_by("episode")
        .agg(
            pl.col("drawdown").min().alias("depth"),
            pl.col("date").sort_by("drawdown", "position").first().alias("trough_date"),
        )
        .join(peaks, on="episode", how="left")
        .join(peaks.select(pl.col("episode") - 1, pl.col("peak_date").alias("recovery_date")), on="episode",
              how="left")
        .sort(["depth", "peak_date"])
        .head(count)
    )
    return episodes.select(
        "peak_date", "trough_date", "recovery_date", "depth",
        (pl.col("trough_date") - pl.col("peak_date")).dt.total_days().alias("days_to_trough"),
        (pl.col("recovery_date") - pl.col("peak_date")).dt.total_days().alias("days_to_recover"),
    )


def best_and_worst_month(monthly: pl.DataFrame) -> dict[str, dict | None]:
    """``{"best": row, "worst": row}`` of :func:`monthly_returns` (``year, month,
    monthly_return``): the month with the highest and the lowest return (the earliest on a
    tie); None each without a monthly return. The first month runs from the base date, so it
    may be partial."""
    known = monthly.filter(pl.col("monthly_return").is_not_null()).sort(["year", "month"])
    if known.height == 0:
        return {"best": None, "worst": None}
    returns = known.get_column("monthly_return")
    return {"best": known.row(int(returns.arg_max()), named=True),
            "worst": known.row(int(returns.arg_min()), named=True)}


def drift_factors(
    held: pl.DataFrame, root_levels: pl.DataFrame, begin: str = "begin", finish: str = "finish"
) -> pl.Series:
    """``R_i = ER_{i,finish} / ER_{i,begin}`` per row of ``held`` (``root`` and the two date
    columns), the last level on or before each date (:func:`level_on_or_before_by_root`); 1
    where the root has no level (its position is carried at its last price)."""
    looked_up = level_on_or_before_by_root(
        root_levels,
        pl.concat([held.get_column("root")] * 2),
        pl.concat([held.get_column(begin), held.get_column(finish)]),
    )
    begin_levels, finish_levels = looked_up.head(held.height), looked_up.tail(held.height)
    return (finish_levels / begin_levels).fill_null(1.0).fill_nan(1.0).alias("drift")


def drifted_weights(weights: pl.DataFrame, root_levels: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """``root, target_weight, drifted_weight`` on ``day`` for the latest rebalance effective on
    or before it: ``w~_i = W_i R_i / (1 + sum_j W_j (R_j - 1))`` with ``R_i = ER_{i,day} /
    ER_{i,a}``, ``a`` the effective date (docs/design.md section 3: positions are fixed
    between rebalances, so a weight drifts with its commodity's price against the index).
    Empty when no rebalance is effective yet."""
    effective = weights.filter(pl.col("effective_date") <= day)
    if effective.height == 0:
        return pl.DataFrame(schema={"root": pl.String, "target_weight": pl.Float64, "drifted_weight": pl.Float64})
    held = effective.filter(pl.col("effective_date") == pl.col("effective_date").max()).select(
        "root", pl.col("weight").alias("target_weight"), pl.col("effective_date").alias("begin"),
        pl.lit(day).alias("finish"),
    )
    held = held.with_columns(drift_factors(held, root_levels))
    index_growth = 1.0 + float((held.get_column("target_weight") * (held.get_column("drift") - 1.0)).sum())
    return held.select(
        "root", "target_weight", (pl.col("target_weight") * pl.col("drift") / index_growth).alias("drifted_weight")
    )


def turnover_with_drift(weights: pl.DataFrame, root_levels: pl.DataFrame) -> pl.DataFrame:
    """``date, turnover`` per rebalance including price drift: ``sum_i |W_{i,r} - w~_{i,r}|``
    where ``w~_{i,r}`` are the previous rebalance's weights drifted from its effective date to
    this one's (:func:`drifted_weights`; 0 before the first rebalance and for a root not held).
    An equal-weight basket whose targets never change still trades back to its targets."""
    anchors = (
        weights.select("date", "effective_date").unique().sort("date", "effective_date")
        .with_columns(pl.col("effective_date").shift(-1).alias("next_effective"),
                      pl.col("date").shift(-1).alias("next_date"))
    )
    held = (
        weights.select("date", "root", "weight")
        .join(anchors, on="date", how="left")
        .filter(pl.col("next_date").is_not_null())
    )
    held = held.with_columns(drift_factors(held, root_levels, "effective_date", "next_effective"))
    growth = held.group_by("date").agg(
        (1.0 + (pl.col("weight") * (pl.col("drift") - 1.0)).sum()).alias("growth")
    )
    drifted = held.join(growth, on="date").select(
        pl.col("next_date").alias("date"), "root",
        (pl.col("weight") * pl.col("drift") / pl.col("growth")).alias("drifted"),
    )
    target = weights.select("date", "root", pl.col("weight").alias("target"))
    trades = target.join(drifted, on=["date", "root"], how="full", coalesce=True).with_columns(
        (pl.col("target").fill_null(0.0) - pl.col("drifted").fill_null(0.0)).abs().alias("trade")
    )
    return trades.group_by("date").agg(pl.col("trade").sum().alias("turnover")).sort("date")
