"""The carry signal stages per root and month-end (docs/design.md section 4).

Each stage is a column of one long frame ``date, root, ...`` (``date`` = a month-end of the
index calendar), so every step that drives a signal can be published and checked:

1. ``nominal_carry``: the annualised roll yield ``(ln F_c1 - ln F_c2) * 12 / m`` of the series
   (docs/design.md section 2), the last value of the month (fraction per year).
2. ``real_carry = nominal_carry - inflation``, ``inflation`` the CPI change over the trailing
   ``window`` monthly releases known at the month-end (annualised fraction).
3. ``seasonal_carry = real_carry - seasonal_component``, where over the ``Y`` years before the
   month-end m (the ``12 Y`` month-ends m-1 ... m-12Y)::

       seasonal_component_m = mean_{k=1..Y} real_carry_{m-12k} - mean_{j=1..12Y} real_carry_{m-j}

   i.e. how far this calendar month's carry has sat from the trailing mean.
4. ``vol_adjusted_carry = seasonal_carry / volatility``, ``volatility`` the annualised EWMA
   volatility of daily excess returns (:func:`ewma_volatility`), at the month-end.
5. ``zscore``: sequential z-score around zero, winsorised (:mod:`indexcalc.families.carry.zscore`).

A stage is null where its inputs are not yet defined; a root enters the z-score panel (and so
the baskets) at its first month-end with every earlier stage defined.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from indexcalc.errors import DataError
from indexcalc.families.carry.zscore import sequential_zn_scores
from indexcalc.families.carry.spec import CarryBasketSpec

STAGE_COLUMNS = (
    "nominal_carry",
    "inflation",
    "real_carry",
    "seasonal_component",
    "seasonal_carry",
    "volatility",
    "vol_adjusted_carry",
    "zscore",
)


def sample_month_ends(daily: pl.DataFrame, month_ends: pl.Series, columns: list[str]) -> pl.DataFrame:
    """``date, root, <columns>`` at each month-end: per root and calendar month, the last
    non-null value of each column (a root whose exchange is closed on the index month-end
    keeps its last value of that month). ``daily``: ``date, root, <columns>`` per root's days.
    """
    months = pl.DataFrame({"date": month_ends}).with_columns(pl.col("date").dt.truncate("1mo").alias("month"))
    sampled = (
        daily.sort("root", "date")
        .with_columns(pl.col("date").dt.truncate("1mo").alias("month"))
        .group_by("root", "month", maintain_order=True)
        .agg(pl.col(column).drop_nulls().last() for column in columns)
    )
    return sampled.join(months, on="month", how="inner").select("date", "root", *columns).sort("root", "date")


def trailing_inflation(inflation: pl.DataFrame, dates: pl.Series, *, window_months: int) -> pl.DataFrame:
    """``date, inflation``: annualised CPI change over ``window_months`` releases known at each date.

    ``inflation``: ``date, cpi`` with ``date`` the release date, one row per monthly release.
    ``(CPI_n / CPI_{n-window}) ** (12 / window) - 1`` for the latest release n on or before the
    date (as-of join: no look-ahead); null before ``window + 1`` releases are known.
    """
    changes = (
        inflation.sort("date")
        .select(
            pl.col("date").alias("release_date"),
            ((pl.col("cpi") / pl.col("cpi").shift(window_months)) ** (12.0 / window_months) - 1.0).alias("inflation"),
        )
        .drop_nulls("inflation")
    )
    return (
        pl.DataFrame({"date": dates})
        .unique()
        .sort("date")
        .join_asof(changes, left_on="date", right_on="release_date", strategy="backward")
        .select("date", "inflation")
    )


def seasonal_adjustment(panel: pl.DataFrame, *, value: str, years: int, min_years: int) -> pl.DataFrame:
    """``date, root, seasonal_component, seasonal_carry`` from a month-end panel ``date, root, <value>``.

    Formula in the module docstring (stage 3), on calendar months: a missing month-end counts
    as missing, not as the previous one. Defined once at least ``min_years`` same-month values
    and ``12 * min_years`` month-end values of the trailing ``years`` years are known.
    """
    keyed = panel.select(
        "date", "root", value, (pl.col("date").dt.year() * 12 + pl.col("date").dt.month() - 1).alias("month_id")
    )
    grid = (
        keyed.group_by("root")
        .agg(pl.int_ranges(pl.col("month_id").min(), pl.col("month_id").max() + 1).first().alias("month_id"))
        .explode("month_id")
        .join(keyed.select("root", "month_id", value), on=["root", "month_id"], how="left")
        .sort("root", "month_id")
    )
    window = 12 * years
    trailing_mean = pl.col(value).shift(1).rolling_mean(window, min_samples=12 * min_years).over("root")
    same_month = [pl.col(value).shift(12 * lag).over("root") for lag in range(1, years + 1)]
    same_month_count = pl.sum_horizontal(expression.is_not_null() for expression in same_month)
    same_month_mean = pl.when(same_month_count >= min_years).then(pl.sum_horizontal(same_month) / same_month_count)
    seasonal = grid.with_columns((same_month_mean - trailing_mean).alias("seasonal_component"))
    return (
        keyed.join(seasonal.select("root", "month_id", "seasonal_component"), on=["root", "month_id"], how="left")
        .select(
            "date",
            "root",
            "seasonal_component",
            (pl.col(value) - pl.col("seasonal_component")).alias("seasonal_carry"),
        )
        .sort("root", "date")
    )


def ewma_weights(lookback_days: int, half_life_days: float) -> list[float]:
    """Finite-window exponential weights, oldest first, summing to 1:
    ``w_k ∝ 2 ** (-k / half_life)`` for a return k days before the estimate, k = 0..lookback-1
    (macrosynergy's ``expo_weights(lback_periods, half_life)``)."""
    decay = 2.0 ** (-1.0 / half_life_days)
    weights = decay ** np.arange(lookback_days - 1, -1, -1, dtype=float)
    return (weights / weights.sum()).tolist()


def ewma_volatility_expr(
    daily_return: str, *, half_life_days: float, lookback_days: int, annualisation_days: int
) -> pl.Expr:
    """The expression of :func:`ewma_volatility` over a frame sorted by root and date."""
    weights = ewma_weights(lookback_days, half_life_days)
    # each root's first row is its base date: no return, so it can never enter a window; a
    # window holding a missing return has no volatility (weighted rolling sums take no nulls)
    missing = pl.col(daily_return).is_null() | (pl.int_range(pl.len()) == 0)
    weighted = pl.col(daily_return).abs().fill_null(0.0).rolling_sum(lookback_days, weights=weights)
    complete = missing.cast(pl.Int32).rolling_sum(lookback_days) == 0
    return (math.sqrt(annualisation_days) * pl.when(complete).then(weighted)).over("root").alias("volatility")


def ewma_volatility(
    returns: pl.DataFrame, *, half_life_days: float, lookback_days: int, annualisation_days: int
) -> pl.DataFrame:
    """``date, root, volatility``: annualised EWMA volatility of daily returns (fraction per year).

    ``vol_t = sqrt(annualisation) * sum_{k=0}^{L-1} w_k |r_{t-k}|`` with the weights of
    :func:`ewma_weights` over the last L = ``lookback_days`` returns of the root (its own
    business days): the exponentially weighted mean absolute return, as macrosynergy's
    ``historic_vol(lback_meth="xma", half_life=..., lback_periods=L, remove_zeros=False)``
    evaluated on that date (its ``est_freq`` is the date we sample: the month-end). Null until L
    returns are known. ``returns``: ``date, root, daily_return``; each root's first row is its
    base date and carries no return (its volatility is null).
    """
    return returns.sort("root", "date").select(
        "date",
        "root",
        ewma_volatility_expr(
            "daily_return",
            half_life_days=half_life_days,
            lookback_days=lookback_days,
            annualisation_days=annualisation_days,
        ),
    )


def carry_zscores(stages: pl.DataFrame, spec: CarryBasketSpec) -> pl.DataFrame:
    """Stage 5: ``date, root, zscore``, the spec's winsorised sequential z-scores of
    ``vol_adjusted_carry`` (:func:`indexcalc.families.carry.zscore.sequential_zn_scores`)."""
    return sequential_zn_scores(
        stages.select("date", "root", "vol_adjusted_carry"),
        value="vol_adjusted_carry",
        min_obs=spec.zscore_min_obs,
        in_sample_initial=spec.zscore_in_sample_initial,
        pan_weight=spec.pan_weight,
        threshold=spec.winsor_threshold,
    )


def carry_stages(
    series: pl.DataFrame, inflation: pl.DataFrame, month_ends: pl.Series, spec: CarryBasketSpec
) -> pl.DataFrame:
    """Every stage per root and month-end: ``date, root`` + :data:`STAGE_COLUMNS`.

    ``series``: ``date, root, daily_return, carry`` (the linked series, docs/design.md section 2);
    ``inflation``: ``date, cpi`` (release dates); ``month_ends``: the index calendar's month-ends.
    Rows run from each root's first month-end with a nominal carry; later stages are null until
    defined, and ``zscore`` is null until the root is scored.
    """
    if inflation.height == 0:
        raise DataError("the market has no inflation (CPI) series; real carry needs it", key="carry stages")
    daily = series.select("date", "root", "carry", "daily_return").sort("root", "date").select(
        "date",
        "root",
        "carry",
        ewma_volatility_expr(
            "daily_return",
            half_life_days=spec.vol_half_life_days,
            lookback_days=spec.vol_lookback_days,
            annualisation_days=spec.annualisation_days,
        ),
    )
    stages = (
        sample_month_ends(daily, month_ends, ["carry", "volatility"])
        .rename({"carry": "nominal_carry"})
        .drop_nulls("nominal_carry")
    )
    stages = stages.join(
        trailing_inflation(inflation, month_ends, window_months=spec.inflation_window_months), on="date", how="left"
    ).with_columns((pl.col("nominal_carry") - pl.col("inflation")).alias("real_carry"))
    stages = stages.join(
        seasonal_adjustment(
            stages.select("date", "root", "real_carry"),
            value="real_carry",
            years=spec.seasonal_years,
            min_years=spec.seasonal_min_years,
        ),
        on=["date", "root"],
        how="left",
    ).with_columns(
        pl.when(pl.col("volatility") > 0)
        .then(pl.col("seasonal_carry") / pl.col("volatility"))
        .alias("vol_adjusted_carry")
    )
    scores = carry_zscores(stages, spec)
    return (
        stages.join(scores, on=["date", "root"], how="left")
        .select("date", "root", *STAGE_COLUMNS)
        .sort("root", "date")
    )
