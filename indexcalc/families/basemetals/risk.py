"""Risk monitors and attribution of a long-only basket (base-metals basket): pure functions over
frames.

Units: daily returns and P&L are fractions; volatilities are annualised with ``annualisation``
business days a year (``sigma = std(daily, ddof=1) * sqrt(A)``); correlations are Pearson over
the window's daily returns.

- Correlation monitor: rolling pairwise correlation of daily returns over ``window`` days, the
  average over the ``n(n-1)/2`` pairs, and an alert while that average is below a threshold.
- Pairs monitor: ratio ``q = L_a / L_b`` of two roots' excess-return levels (roll-linked, so
  no roll jumps), ``z = (q - mean_W(q)) / std_W(q)``; a trade opens short the ratio (short a,
  long b) when ``z > entry`` and long the ratio when ``z < -entry``, and closes when ``z`` comes
  back to ``exit`` (``z <= exit`` for a short, ``z >= -exit`` for a long).
- Stress: portfolio P&L of a scenario of total moves ``m_i`` on the current weights held as
  fixed units: ``pnl = sum_i w_i m_i`` (exact for a fully invested basket).
- Risk contribution: ``RC_i = w_i sigma_i rho_{i,p} = w_i (S w)_i / sigma_p``, which sums to
  ``sigma_p = sqrt(w' S w)`` exactly.
- Attribution (per calendar month and since inception): daily contribution
  ``c_i,t = w_i,t-1 r_i,t`` with ``w_i,t-1`` the start-of-day (drifted) weight; over a period
  starting at the close ``s``, ``contribution_i = sum_t (I_{t-1} / I_s) c_i,t``, which sums to
  the index return ``I_end / I_s - 1`` exactly. With ``R_i`` the root's return and ``w_i,s``
  its weight at ``s``: equal-weight return ``R_EW = mean_i R_i``, buy-and-hold return
  ``R_BH = sum_i w_i,s R_i`` (the start weights held as fixed units), selection
  ``sum_i (w_i,s - 1/n)(R_i - R_EW) = R_BH - R_EW`` and timing ``= R - R_BH``, so that
  ``R = R_EW + selection + timing``. The period's risk contribution is
  ``RC_i = cov(c_i, R_p) / std(R_p)`` on the daily contributions (``w sigma rho`` when the
  weights do not move), summing to the realised volatility of the index's daily returns.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Sequence

import numpy as np
import polars as pl

from indexcalc.errors import DataError
from indexcalc.families.basemetals.spec import StressScenario

BASKET = "basket"
"""The ``root`` label of the whole-basket rows of the attribution table."""
INCEPTION = "inception"
"""The ``period`` label of the since-inception rows of the attribution table."""
FLAT_TOLERANCE = 1e-12
"""A window variance below this fraction of the window's sum of squared returns counts as zero
(the root did not move; its correlations are undefined)."""


def returns_matrix(returns: pl.DataFrame, roots: Sequence[str]) -> tuple[pl.Series, np.ndarray]:
    """``date, root, daily_return`` (one row per date and root) -> dates and a (days, roots)
    array in the order of ``roots``; missing cells are NaN, a root without any row a DataError."""
    wide = returns.pivot(on="root", index="date", values="daily_return").sort("date")
    missing = sorted(set(roots) - set(wide.columns))
    if missing:
        raise DataError(f"no daily returns for roots {missing}")
    return wide.get_column("date"), wide.select(list(roots)).to_numpy().astype(float)


# --- correlation monitor ----------------------------------------------------------------------


def rolling_correlations(returns: np.ndarray, window: int) -> np.ndarray:
    """Pearson correlation matrices of the ``window`` rows ending at each row: (days, n, n);
    NaN before the window is full (counted from the first row where every root has a return)
    and where a root did not move over the window.

    Window sums come from running sums of the returns and their cross products (demeaned over
    the whole sample first, which keeps the differences of running sums accurate), so the cost
    does not grow with the window.
    """
    days, count = returns.shape
    result = np.full((days, count, count), np.nan)
    complete = np.flatnonzero(np.isfinite(returns).all(axis=1))
    first = int(complete[0]) if complete.size else days
    if days - first < window:
        return result
    sample = returns[first:] - returns[first:].mean(axis=0)
    running = np.zeros((len(sample) + 1, count))
    running[1:] = np.cumsum(sample, axis=0)
    running_products = np.zeros((len(sample) + 1, count, count))
    running_products[1:] = np.cumsum(sample[:, :, None] * sample[:, None, :], axis=0)
    sums = running[window:] - running[:-window]
    products = running_products[window:] - running_products[:-window]
    covariance = products - sums[:, :, None] * sums[:, None, :] / window
    variance = np.diagonal(covariance, axis1=-2, axis2=-1)
    squares = np.diagonal(products, axis1=-2, axis2=-1)
    # a root that did not move has variance 0 up to rounding of the running sums
    moved = variance > FLAT_TOLERANCE * np.maximum(squares, np.finfo(float).tiny)
    scale = np.where(moved, np.sqrt(np.where(moved, variance, 1.0)), np.nan)
    result[first + window - 1 :] = covariance / (scale[:, :, None] * scale[:, None, :])
    return result


def correlation_monitor(
    returns: pl.DataFrame, roots: Sequence[str], window: int, alert_below: float
) -> pl.DataFrame:
    """Daily ``date, average_correlation, pairs_below, alert`` from ``date, root, daily_return``.

    ``average_correlation`` = mean of the pairwise rolling correlations (pairs with a defined
    correlation); ``pairs_below`` = how many pairs are below ``alert_below``; ``alert`` = the
    average is below ``alert_below`` (null while the window is not full).
    """
    dates, matrix = returns_matrix(returns, roots)
    correlations = rolling_correlations(matrix, window)
    upper = np.triu_indices(len(roots), k=1)
    pairwise = correlations[:, upper[0], upper[1]]
    defined = np.isfinite(pairwise)
    count = defined.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(count > 0, np.where(defined, pairwise, 0.0).sum(axis=1) / count, np.nan)
    below = (np.where(defined, pairwise, np.inf) < alert_below).sum(axis=1)
    frame = pl.DataFrame(
        {"date": dates, "average_correlation": average, "pairs_below": below.astype(np.int64)}
    ).with_columns(pl.col("average_correlation").fill_nan(None))
    return frame.with_columns(
        (pl.col("average_correlation") < alert_below).alias("alert"),
        pl.when(pl.col("average_correlation").is_not_null()).then(pl.col("pairs_below")).alias("pairs_below"),
    )


def correlation_matrix(returns: pl.DataFrame, roots: Sequence[str], window: int) -> pl.DataFrame:
    """The latest ``window``-day correlation matrix: column ``root`` plus one column per root."""
    _, matrix = returns_matrix(returns, roots)
    if len(matrix) >= window:
        latest = np.corrcoef(matrix[-window:], rowvar=False)
    else:
        latest = np.full((len(roots), len(roots)), np.nan)
    frame = pl.DataFrame({"root": list(roots)}).with_columns(
        [pl.Series(root, latest[:, position]) for position, root in enumerate(roots)]
    )
    return frame.with_columns(pl.col(list(roots)).fill_nan(None))


# --- pairs monitor ----------------------------------------------------------------------------


def pairs_monitor(
    levels: pl.DataFrame, pairs: Sequence[tuple[str, str]], window: int, entry: float, exit: float
) -> pl.DataFrame:
    """Daily ``date, pair, ratio, zscore, state`` for each pair ``(a, b)`` (labelled ``a/b``).

    ``levels``: ``date, root, level`` on a common axis. ``zscore`` uses the rolling mean and
    sample standard deviation of the last ``window`` ratios (null until the window is full or
    when the ratio did not move); ``state`` is ``short_ratio`` (short a, long b), ``long_ratio``
    (long a, short b) or ``flat``, with the entry/exit rule of the module docstring.
    """
    definitions = pl.DataFrame(
        {"pair": [f"{a}/{b}" for a, b in pairs], "root_a": [a for a, _ in pairs], "root_b": [b for _, b in pairs]}
    )
    level_a = levels.select("date", pl.col("root").alias("root_a"), pl.col("level").alias("level_a"))
    level_b = levels.select("date", pl.col("root").alias("root_b"), pl.col("level").alias("level_b"))
    ratio = (
        definitions.join(level_a, on="root_a")
        .join(level_b, on=["root_b", "date"])
        .select("date", "pair", (pl.col("level_a") / pl.col("level_b")).alias("ratio"))
        .sort("pair", "date")
    )
    mean = pl.col("ratio").rolling_mean(window).over("pair")
    deviation = pl.col("ratio").rolling_std(window).over("pair")
    frame = ratio.with_columns(pl.when(deviation > 0.0).then((pl.col("ratio") - mean) / deviation).alias("zscore"))
    z = pl.col("zscore")
    short_open = pl.when(z > entry).then(True).when(z <= exit).then(False).forward_fill().over("pair")
    long_open = pl.when(z < -entry).then(True).when(z >= -exit).then(False).forward_fill().over("pair")
    state = (
        pl.when(short_open.fill_null(False))
        .then(pl.lit("short_ratio"))
        .when(long_open.fill_null(False))
        .then(pl.lit("long_ratio"))
        .otherwise(pl.lit("flat"))
    )
    columns = ["date", "pair", "ratio", "zscore", "state"]
    return frame.with_columns(state.alias("state")).select(columns).sort("date", "pair")


# --- stress scenarios -------------------------------------------------------------------------


def scenario_moves(
    scenarios: Sequence[StressScenario], roots: Sequence[str], volatility: dict[str, float]
) -> pl.DataFrame:
    """``scenario, description, horizon_days, root, move`` (total move, fraction) per scenario
    and basket root, by the precedence rules of :class:`StressScenario`; ``each_root``
    scenarios expand to one scenario ``<name>:<root>`` per root. ``volatility`` (annualised,
    any common units) is used only by factor scenarios. Rows in scenario then root order."""
    definitions = pl.DataFrame(
        [
            {
                "order": position,
                "name": scenario.name,
                "description": scenario.description,
                "horizon_days": scenario.horizon_days,
                "default_shock": scenario.default_shock,
                "factor_move": scenario.factor_move,
                "factor_correlation": scenario.factor_correlation,
                "each_root": scenario.each_root,
            }
            for position, scenario in enumerate(scenarios)
        ],
        schema={
            "order": pl.Int64(),
            "name": pl.String(),
            "description": pl.String(),
            "horizon_days": pl.Int64(),
            "default_shock": pl.Float64(),
            "factor_move": pl.Float64(),
            "factor_correlation": pl.Float64(),
            "each_root": pl.Float64(),
        },
    )
    explicit = pl.DataFrame(
        [
            {"name": scenario.name, "root": root, "shock": move}
            for scenario in scenarios
            for root, move in scenario.shocks.items()
        ],
        schema={"name": pl.String(), "root": pl.String(), "shock": pl.Float64()},
    )
    basket = pl.DataFrame({"root": list(roots), "root_order": range(len(roots))}).with_columns(
        pl.col("root").replace_strict(volatility, return_dtype=pl.Float64).alias("volatility")
    )
    basket = basket.with_columns((pl.col("volatility") / pl.col("volatility").mean()).alias("relative_volatility"))
    factor = pl.col("factor_correlation") * pl.col("relative_volatility") * pl.col("factor_move")
    moves = (
        definitions.join(basket, how="cross")
        .join(explicit, on=["name", "root"], how="left")
        .with_columns(
            pl.coalesce(
                "shock", pl.when(pl.col("factor_move").is_not_null()).then(factor), "default_shock"
            ).alias("move")
        )
    )
    # each_root: one variant per basket root (the shocked root), that root moving each_root
    variants = (
        moves.filter(pl.col("each_root").is_not_null())
        .join(basket.select(pl.col("root").alias("shocked"), pl.col("root_order").alias("variant")), how="cross")
        .with_columns(
            pl.concat_str("name", pl.lit(":"), "shocked").alias("scenario"),
            pl.when(pl.col("root") == pl.col("shocked"))
            .then(pl.col("each_root"))
            .otherwise(pl.col("move"))
            .alias("move"),
        )
    )
    single = moves.filter(pl.col("each_root").is_null()).with_columns(
        pl.col("name").alias("scenario"), pl.lit(0, dtype=pl.Int64).alias("variant")
    )
    columns = ["order", "variant", "root_order", "scenario", "description", "horizon_days", "root", "move"]
    return (
        pl.concat([single.select(columns), variants.select(columns)])
        .sort("order", "variant", "root_order")
        .drop("order", "variant", "root_order")
    )


def stress_pnl(weights: pl.DataFrame, moves: pl.DataFrame, level: float | None = None) -> pl.DataFrame:
    """``scenario, description, horizon_days, pnl, pnl_points, shock_<root>...`` per scenario.

    ``weights``: ``root, weight`` (current weights, fractions); ``moves`` from
    :func:`scenario_moves`. ``pnl = sum_i w_i m_i`` (fraction of the index level);
    ``pnl_points = pnl * level`` (index points; null without ``level``). A root without a
    weight counts as 0.
    """
    joined = moves.join(weights.select("root", "weight"), on="root", how="left").with_columns(
        pl.col("weight").fill_null(0.0)
    )
    pnl = joined.group_by("scenario", "description", "horizon_days", maintain_order=True).agg(
        (pl.col("weight") * pl.col("move")).sum().alias("pnl")
    )
    shocks = joined.select("scenario", pl.concat_str(pl.lit("shock_"), "root").alias("column"), "move").pivot(
        on="column", index="scenario", values="move"
    )
    return pnl.with_columns(
        (pl.col("pnl") * level if level is not None else pl.lit(None, dtype=pl.Float64)).alias("pnl_points")
    ).join(shocks, on="scenario", how="left", maintain_order="left")


# --- risk contribution ------------------------------------------------------------------------


def risk_contribution(weights: pl.DataFrame, returns: pl.DataFrame, annualisation: int) -> pl.DataFrame:
    """``root, weight, volatility, correlation_with_portfolio, risk_contribution`` for fixed
    ``weights`` (``root, weight``) over the daily ``returns`` given (``date, root,
    daily_return``; the caller chooses the window). ``RC_i = w_i sigma_i rho_{i,p}``
    (annualised); sum_i RC_i = sigma_p."""
    roots = weights.get_column("root").to_list()
    weight = weights.get_column("weight").to_numpy().astype(float)
    _, matrix = returns_matrix(returns, roots)
    return risk_contribution_on_matrix(roots, weight, matrix, annualisation)


def risk_contribution_on_matrix(
    roots: Sequence[str], weight: np.ndarray, matrix: np.ndarray, annualisation: int
) -> pl.DataFrame:
    """:func:`risk_contribution` from a (days, roots) array of daily returns in the order of
    ``roots`` (rows with a missing return are left out)."""
    matrix = matrix[np.isfinite(matrix).all(axis=1)]
    covariance = np.atleast_2d(np.cov(matrix, rowvar=False, ddof=1)) * annualisation
    volatility = np.sqrt(np.diag(covariance))
    portfolio_volatility = math.sqrt(weight @ covariance @ weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (covariance @ weight) / (volatility * portfolio_volatility)
        contribution = weight * (covariance @ weight) / portfolio_volatility
    return pl.DataFrame(
        {
            "root": list(roots),
            "weight": weight,
            "volatility": pl.Series(volatility, nan_to_null=True),
            "correlation_with_portfolio": pl.Series(correlation, nan_to_null=True),
            "risk_contribution": pl.Series(contribution, nan_to_null=True),
        }
    )


# --- attribution ------------------------------------------------------------------------------


def _matrix(frame: pl.DataFrame, key: str, keys: np.ndarray, roots: list[str], value: str, fill: float) -> np.ndarray:
    """``frame`` (key, root, value) as a keys x roots array (``fill`` where absent)."""
    matrix = np.full((len(keys), len(roots)), fill)
    rows = np.searchsorted(keys, frame.get_column(key).to_numpy())
    columns = frame.get_column("root").replace_strict(roots, range(len(roots)), return_dtype=pl.Int64).to_numpy()
    matrix[rows, columns] = frame.get_column(value).to_numpy()
    return matrix


def daily_contributions(levels: pl.DataFrame, weights: pl.DataFrame, base_date: dt.date) -> pl.DataFrame:
    """``date, root, start_weight, prev_level, level, root_return, contribution`` after ``base_date``.

    ``levels``: ``date, root, level`` on a common axis; ``weights``: ``effective_date, root,
    weight``. Date t belongs to the period of the last effective date ``a < t`` (as in
    :func:`indexcalc.composite.composite_excess_return`); ``start_weight`` is the weight
    drifted to the close of t-1, ``w_a L_{t-1} / L_a / (1 - sum w_a + sum_j w_j,a L_j,t-1 / L_j,a)``,
    and ``contribution = start_weight * (L_t / L_{t-1} - 1)``; per date they sum to the
    composite's daily return. One row per weighted root and date from the first effective
    date on (sorted by date, root). Computed on dates x roots arrays
    (:func:`daily_contributions_on_matrix`).
    """
    roots = sorted(weights.get_column("root").unique().to_list())
    levels = levels.filter(pl.col("root").is_in(roots))
    axis = levels.get_column("date").unique().sort().to_numpy()
    anchors = weights.get_column("effective_date").unique().sort().to_numpy()
    level = _matrix(levels, "date", axis, roots, "level", np.nan)
    weight = _matrix(weights, "effective_date", anchors, roots, "weight", 0.0)
    return daily_contributions_on_matrix(level, axis, roots, anchors, weight, base_date)


def daily_contributions_on_matrix(
    level: np.ndarray,
    axis: np.ndarray,
    roots: Sequence[str],
    anchors: np.ndarray,
    weight: np.ndarray,
    base_date: dt.date,
) -> pl.DataFrame:
    """:func:`daily_contributions` from the arrays a family already holds: ``level[t, i]`` the
    level of ``roots[i]`` (sorted) on ``axis[t]`` (sorted ``datetime64[D]`` days, NaN where
    none); ``weight[k, i]`` the weight set effective on ``anchors[k]`` (sorted, unique; 0 for
    a root without one)."""
    days = np.flatnonzero(axis > np.datetime64(base_date))
    period = np.searchsorted(anchors, axis[days], side="left") - 1  # last anchor strictly before t
    days, period = days[period >= 0], period[period >= 0]
    anchor_level = level[np.searchsorted(axis, anchors)][period]
    held_weight = weight[period]
    previous, current = level[days - 1], level[days]
    held = held_weight * previous / anchor_level
    value = 1.0 - held_weight.sum(axis=1) + held.sum(axis=1)
    start_weight = held / value[:, None]
    root_return = current / previous - 1.0
    count = len(roots)
    return pl.DataFrame(
        {
            "date": np.repeat(axis[days], count),
            "root": np.array(roots, dtype=str)[np.tile(np.arange(count), len(days))],
            "start_weight": start_weight.ravel(),
            "prev_level": previous.ravel(),
            "level": current.ravel(),
            "root_return": root_return.ravel(),
            "contribution": (start_weight * root_return).ravel(),
        },
        schema={
            "date": pl.Date(),
            "root": pl.String(),
            "start_weight": pl.Float64(),
            "prev_level": pl.Float64(),
            "level": pl.Float64(),
            "root_return": pl.Float64(),
            "contribution": pl.Float64(),
        },
    )


def _period_rows(daily: pl.DataFrame, keys: list[str], annualisation: int) -> pl.DataFrame:
    """Root rows of the attribution for the periods given by ``keys`` (rows in date order).

    The risk contribution ``cov(c_i, R) / std(R)`` comes from per-group sums (one pass, no
    per-group covariance kernel): with d = days, ``cov = (sum cR - sum c sum R / d) / (d - 1)``.
    """
    growth = pl.col("prev_index_level") / pl.col("prev_index_level").first()
    contribution, basket = pl.col("contribution"), pl.col("basket_return")
    rows = daily.group_by(*keys, "root", maintain_order=True).agg(
        pl.col("start_date").first(),
        pl.col("date").last().alias("end_date"),
        pl.col("start_weight").first(),
        (pl.col("level").last() / pl.col("prev_level").first() - 1.0).alias("root_return"),
        (growth * contribution).sum().alias("contribution"),
        pl.len().alias("days"),
        contribution.sum().alias("sum_c"),
        basket.sum().alias("sum_r"),
        (contribution * basket).sum().alias("sum_cr"),
        (basket * basket).sum().alias("sum_rr"),
    )
    days = pl.col("days").cast(pl.Float64)
    covariance = (pl.col("sum_cr") - pl.col("sum_c") * pl.col("sum_r") / days) / (days - 1.0)
    variance = (pl.col("sum_rr") - pl.col("sum_r") ** 2 / days) / (days - 1.0)
    risk = pl.when(pl.col("days") > 1).then(covariance / variance.sqrt() * math.sqrt(annualisation))
    return rows.with_columns(risk.alias("risk_contribution")).drop("days", "sum_c", "sum_r", "sum_cr", "sum_rr")


ATTRIBUTION_COLUMNS = (
    "period",
    "start_date",
    "end_date",
    "root",
    "start_weight",
    "root_return",
    "contribution",
    "selection",
    "risk_contribution",
    "equal_weight_return",
    "buy_and_hold_return",
    "timing",
)


def attribution(contributions: pl.DataFrame, index_levels: pl.DataFrame, annualisation: int) -> pl.DataFrame:
    """Since inception and per calendar month (``period`` ``inception`` / ``YYYY-MM``, latest
    month first), one row per root and one ``basket`` row (module docstring for the formulas),
    columns :data:`ATTRIBUTION_COLUMNS`.

    Root rows: ``start_weight`` w_i,s, ``root_return`` R_i, ``contribution`` (linked, sums to
    the index return), ``selection`` ``(w_i,s - 1/n)(R_i - R_EW)``, ``risk_contribution``
    (annualised, sums to the basket's realised volatility). Basket row: the index return in
    ``root_return`` and ``contribution``, the totals, and ``equal_weight_return``,
    ``buy_and_hold_return``, ``timing`` (null on root rows). ``start_date`` is the close ``s``
    the period's returns are measured from.

    ``contributions`` from :func:`daily_contributions`; ``index_levels``: ``date, level`` of
    the index whose return is attributed (its daily returns equal the summed contributions).
    """
    index = index_levels.select("date", "level").sort("date")
    index = index.select(
        "date",
        pl.col("level").shift(1).alias("prev_index_level"),
        pl.col("date").shift(1).alias("start_date"),
        (pl.col("level") / pl.col("level").shift(1) - 1.0).alias("basket_return"),
    )
    daily = contributions.sort("date", "root").join(index, on="date", how="left")
    month = pl.col("date").dt.year().cast(pl.Int32) * 100 + pl.col("date").dt.month().cast(pl.Int32)
    monthly = _period_rows(daily.with_columns(month.alias("month")), ["month"], annualisation)
    roots = pl.concat(
        [
            monthly.with_columns(
                pl.format("{}-{}", pl.col("month") // 100, (pl.col("month") % 100).cast(pl.String).str.zfill(2)).alias(
                    "period"
                )
            ).drop("month"),
            _period_rows(daily, [], annualisation).with_columns(pl.lit(INCEPTION).alias("period")),
        ],
        how="diagonal",
    )
    count = pl.len().over("period")
    roots = roots.with_columns(pl.col("root_return").mean().over("period").alias("equal_weight_return")).with_columns(
        ((pl.col("start_weight") - 1.0 / count) * (pl.col("root_return") - pl.col("equal_weight_return"))).alias(
            "selection"
        )
    )
    basket = (
        roots.group_by("period", maintain_order=True)
        .agg(
            pl.col("start_date").first(),
            pl.col("end_date").first(),
            pl.lit(BASKET).alias("root"),
            pl.col("start_weight").sum(),
            pl.col("contribution").sum().alias("root_return"),
            pl.col("contribution").sum(),
            pl.col("selection").sum(),
            pl.when(pl.col("risk_contribution").null_count() == 0).then(pl.col("risk_contribution").sum()),
            pl.col("equal_weight_return").first(),
            (pl.col("start_weight") * pl.col("root_return")).sum().alias("buy_and_hold_return"),
        )
        .with_columns((pl.col("root_return") - pl.col("buy_and_hold_return")).alias("timing"))
    )
    roots = roots.with_columns(
        pl.lit(None, dtype=pl.Float64).alias(column)
        for column in ("equal_weight_return", "buy_and_hold_return", "timing")
    )
    # since inception first, then the months latest first (what a reader looks for), the basket
    # row after its roots
    return (
        pl.concat([roots.select(ATTRIBUTION_COLUMNS), basket.select(ATTRIBUTION_COLUMNS)])
        .with_row_index("order")
        .sort(
            pl.col("period") != INCEPTION,
            "period",
            pl.col("root") == BASKET,
            "order",
            descending=[False, True, False, False],
        )
        .drop("order")
    )
