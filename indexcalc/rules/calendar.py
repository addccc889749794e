"""Rebalance calendar on an index's date axis, and trailing windows ending at rebalances.

DESIGN.md section 3: signals and weights are fixed at the close of the last business day of each
month (the rebalance date ``r``) and the positions switch ``implementation_lag`` business days
later (the effective date ``a``). Both are counted on the index's own date axis (the union of its
constituents' dates), so every family that rebalances monthly shares these functions.

Trailing windows: the ``W``-month window ending at a rebalance date ``r`` holds the daily
observations of the ``W`` calendar months ending with ``r``'s month (``r`` is its month's last
axis date, so the window is "the trailing ``W`` months of daily values" and every month's
observations enter whole). Its mean is the sum of per-month sums over the sum of per-month
counts: no running sums over the whole history, so a window's mean depends on its own values
only (the same bits in a rebuild and a daily run, and a constant level is a tie to ~1e-16).
"""

from __future__ import annotations

import polars as pl


def rebalance_dates(dates: pl.Series) -> pl.Series:
    """The last date of each month on the axis ``dates``: ``date`` (pl.Date, sorted).

    A month counts only once a date of a later month is on the axis: until then nobody knows
    that its last date so far is its last business day (data ending on the 15th must not fix
    a rebalance on the 15th, and a daily run must not move a rebalance once published).
    """
    axis = pl.DataFrame({"date": dates}).unique().sort("date")
    month = pl.col("date").dt.month_start()
    last_of_month = month != month.shift(-1)
    return axis.filter(last_of_month.fill_null(False)).get_column("date")


def rebalance_schedule(dates: pl.Series, implementation_lag: int) -> pl.DataFrame:
    """``date, effective_date``: each month-end rebalance date and the axis date
    ``implementation_lag`` business days later, at whose close the positions switch.

    Rebalances whose effective date is not yet on the axis are left out (they appear once the
    data reaches their effective date).
    """
    axis = pl.DataFrame({"date": dates}).unique().sort("date")
    schedule = axis.with_columns(pl.col("date").shift(-implementation_lag).alias("effective_date"))
    return schedule.join(
        pl.DataFrame({"date": rebalance_dates(dates)}), on="date", how="semi"
    ).drop_nulls("effective_date")


def trailing_mean(
    values: pl.DataFrame,
    value_column: str,
    rebalances: pl.Series,
    window_months: int,
) -> pl.DataFrame:
    """Per root and rebalance date ``r``: the latest value and the mean over the trailing window.

    ``values``: ``date, root, <value_column>`` on each root's own dates (daily observations,
    non-null). Returns ``date, root, latest, mean, full_window`` for every root x rebalance date:

    - ``latest`` = the value on the root's last date ``<= r`` (null before its first date);
    - ``mean`` = (1/n) * sum of the values of the root's ``n`` dates in the ``W`` calendar months
      ending with ``r``'s month (null when the window holds no observation);
    - ``full_window`` = the root's first observation lies before the window's first month, so
      its history covers every month of the window.
    """
    observed = values.select("date", "root", pl.col(value_column).alias("value"))
    monthly = observed.group_by("root", pl.col("date").dt.month_start().alias("month")).agg(
        pl.col("value").sum().alias("month_sum"), pl.len().alias("month_count")
    )
    first_dates = observed.group_by("root").agg(pl.col("date").min().alias("first_date"))
    rebalance_frame = pl.DataFrame({"date": rebalances}).unique().sort("date")
    if rebalance_frame.height == 0 or first_dates.height == 0:
        return pl.DataFrame(
            schema={"date": pl.Date(), "root": pl.String(), "latest": pl.Float64(), "mean": pl.Float64(),
                    "full_window": pl.Boolean()}
        )
    months = pl.date_range(
        min(monthly.get_column("month").min(), rebalance_frame.get_column("date").min().replace(day=1)),
        rebalance_frame.get_column("date").max(),
        "1mo",
        eager=True,
    ).alias("month")
    # every root x month, so that shifting by k rows is shifting by k months
    window = (
        first_dates.select("root")
        .join(pl.DataFrame(months), how="cross")
        .join(monthly, on=["root", "month"], how="left")
        .with_columns(pl.col("month_sum").fill_null(0.0), pl.col("month_count").fill_null(0))
        .sort("root", "month")
        .with_columns(
            pl.sum_horizontal(
                [pl.col("month_sum").shift(lag).over("root") for lag in range(window_months)]
            ).alias("window_sum"),
            pl.sum_horizontal(
                [pl.col("month_count").shift(lag).over("root") for lag in range(window_months)]
            ).alias("window_count"),
            pl.col("month").dt.offset_by(f"-{window_months - 1}mo").alias("window_first_month"),
        )
    )
    grid = (
        first_dates.join(rebalance_frame, how="cross")
        .with_columns(pl.col("date").dt.month_start().alias("month"))
        .join(window, on=["root", "month"], how="left")
        .sort("date")
    )
    # both sides sorted by date, hence by date within each root
    with_latest = grid.join_asof(
        observed.sort("date"), on="date", by="root", strategy="backward", check_sortedness=False
    )
    return with_latest.select(
        "date",
        "root",
        pl.col("value").alias("latest"),
        pl.when(pl.col("window_count") > 0).then(pl.col("window_sum") / pl.col("window_count")).alias("mean"),
        (pl.col("first_date") < pl.col("window_first_month")).alias("full_window"),
    ).sort("date", "root")
