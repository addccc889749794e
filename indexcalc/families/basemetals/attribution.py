"""Risk contribution and performance attribution of the base-metals basket (formulas:
:mod:`indexcalc.families.basemetals.risk`)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl

from indexcalc.panel import Panel

BASKET = "basket"
"""The ``root`` label of the whole-basket rows of the attribution table."""
INCEPTION = "inception"
"""The ``period`` label of the since-inception rows of the attribution table."""
FLAT_TOLERANCE = 1e-12
"""A window variance below this fraction of the window's sum of squared returns counts as zero
(the root did not move; its correlations are undefined)."""


def risk_contribution(weights: pl.DataFrame, returns: Panel, annualisation: int) -> pl.DataFrame:
    """``root, weight, volatility, correlation_with_portfolio, risk_contribution`` for fixed
    ``weights`` (``root, weight``) over the daily ``returns`` given (dates x roots; the caller
    chooses the window; a weighted root without a column is a DataError, rows with a missing
    return are left out). ``RC_i = w_i sigma_i rho_{i,p}`` (annualised); sum_i RC_i = sigma_p."""
    roots = weights.get_column("root")
    weight = weights.get_column("weight").to_numpy().astype(float)
    matrix = returns.columns(roots, fill=None).values
    matrix = matrix[np.isfinite(matrix).all(axis=1)]
    covariance = np.atleast_2d(np.cov(matrix, rowvar=False, ddof=1)) * annualisation
    volatility = np.sqrt(np.diag(covariance))
    portfolio_volatility = math.sqrt(weight @ covariance @ weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = (covariance @ weight) / (volatility * portfolio_volatility)
        contribution = weight * (covariance @ weight) / portfolio_volatility
    return pl.DataFrame(
        {
            "root": roots.to_list(),
            "weight": weight,
            "volatility": pl.Series(volatility, nan_to_null=True),
            "correlation_with_portfolio": pl.Series(correlation, nan_to_null=True),
            "risk_contribution": pl.Series(contribution, nan_to_null=True),
        }
    )


def daily_contributions(levels: Panel, weights: Panel, base_date: dt.date) -> pl.DataFrame:
    """``date, root, start_weight, prev_level, level, root_return, contribution`` after ``base_date``.

    ``levels``: the roots' levels on a common axis (NaN where none); ``weights``: the weight set
    effective on each of its dates (the anchors: rebalances' effective dates; 0 for a root
    without a weight), whose roots are the ones attributed (their columns of ``levels``). Date t
    belongs to the period of the last effective date ``a < t`` (as in
    :func:`indexcalc.composite.composite_excess_returns`); ``start_weight`` is the weight
    drifted to the close of t-1, ``w_a L_{t-1} / L_a / (1 - sum w_a + sum_j w_j,a L_j,t-1 / L_j,a)``,
    and ``contribution = start_weight * (L_t / L_{t-1} - 1)``; per date they sum to the
    composite's daily return. One row per weighted root and date from the first effective
    date on (sorted by date, then the weights' root order).
    """
    roots = weights.roots.to_list()
    level = levels.columns(weights.roots).values
    axis, anchors, weight = levels.dates.to_numpy(), weights.dates.to_numpy(), weights.values
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
