"""Rebalance calendar on an index's date axis, and trailing windows ending at rebalances.

docs/design.md section 3: signals and weights are fixed at the close of the last business day of each
month (the rebalance date ``r``) and the positions switch ``implementation_lag`` business days
later (the effective date ``a``). Both are counted on the index's own date axis (the union of its
constituents' dates), so every family that rebalances monthly shares these functions.

Trailing windows: the ``W``-month window ending at a rebalance date ``r`` holds the daily
observations of the ``W`` calendar months ending with ``r``'s month (``r`` is its month's last
axis date, so the window is "the trailing ``W`` months of daily values" and every month's
observations enter whole). Its mean is the sum of per-month sums over the sum of per-month
counts: no running sums over the whole history, so a window's mean depends on its own values
only (nothing drifts in from earlier years, and a constant level is a tie to ~1e-16).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
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
    axis = dates.unique().sort() if not (dates.is_sorted() and dates.n_unique() == dates.len()) else dates
    fixing, effective = rebalance_positions(axis.to_numpy().astype("datetime64[D]"), implementation_lag)
    return pl.DataFrame(
        {"date": axis.gather(fixing), "effective_date": axis.gather(effective)},
        schema={"date": pl.Date(), "effective_date": pl.Date()},
    )


MONTHLY_SCHEMA: dict[str, pl.DataType] = {
    "root": pl.String(),
    "month": pl.Date(),
    "month_sum": pl.Float64(),
    "month_count": pl.UInt32(),
    "first_date": pl.Date(),
}
"""Per root and calendar month (first day): sum and number of the daily observations, and the
root's first observation date (for the full-window test)."""


def in_root_date_order(frame: pl.DataFrame) -> bool:
    """Whether the rows of ``frame`` are sorted by root, then strictly by date within a root."""
    return frame.select(
        (
            (pl.col("root") > pl.col("root").shift(1))
            | ((pl.col("root") == pl.col("root").shift(1)) & (pl.col("date") > pl.col("date").shift(1)))
        )
        .fill_null(True)
        .all()
    ).item()


def monthly_totals(values: pl.DataFrame, value_column: str) -> pl.DataFrame:
    """:data:`MONTHLY_SCHEMA` from daily ``date, root, <value_column>`` (non-null values).

    The monthly step of :func:`trailing_mean`, exposed so that a family computing several
    windows over the same daily values (each index's rebalance dates) aggregates them once.
    """
    # Summed with numpy over sorted runs, not a parallel group-by: a float sum's order (and so
    # its last bit) must not depend on thread scheduling, or reruns would not be identical.
    ordered = values.select("root", "date", pl.col(value_column).cast(pl.Float64))
    if ordered.height == 0:
        return pl.DataFrame(schema=MONTHLY_SCHEMA)
    # Daily values usually arrive sorted (series and prices are sorted by root and date): a
    # check is cheaper than a sorted copy of every row.
    if not in_root_date_order(ordered):
        ordered = ordered.sort("root", "date")
    keyed = ordered.with_columns(pl.col("date").dt.month_start().alias("month"))
    starts = (
        keyed.select(
            ((pl.col("root") != pl.col("root").shift(1)) | (pl.col("month") != pl.col("month").shift(1)))
            .fill_null(True)
            .arg_true()
        )
        .to_series()
        .to_numpy()
    )
    sums = np.add.reduceat(keyed.get_column(value_column).to_numpy(), starts)
    counts = np.diff(np.append(starts, keyed.height))
    heads = keyed[starts]
    return (
        heads.select(
            "root",
            "month",
            pl.Series("month_sum", sums, dtype=pl.Float64),
            pl.Series("month_count", counts, dtype=pl.UInt32),
            pl.col("date").alias("first_date"),
        )
        .with_columns(pl.col("first_date").min().over("root"))
        .sort("root", "month")
    )


WINDOW_SCHEMA: dict[str, pl.DataType] = {
    "root": pl.String(),
    "month": pl.Date(),
    "mean": pl.Float64(),
    "full_window": pl.Boolean(),
}


def window_table(monthly: pl.DataFrame, window_months: int, through: dt.date) -> pl.DataFrame:
    """:data:`WINDOW_SCHEMA`: for every root and month up to ``through``'s month, the mean over
    the ``W`` calendar months ending with that month, from :func:`monthly_totals`.

    ``mean`` = sum of the ``W`` monthly sums over the sum of their counts (null when the window
    holds no observation); ``full_window`` = the root's first observation lies before the
    window's first month.
    """
    if monthly.height == 0:
        return pl.DataFrame(schema=WINDOW_SCHEMA)
    months = pl.date_range(monthly.get_column("month").min(), through.replace(day=1), "1mo", eager=True).alias("month")
    first_dates = monthly.group_by("root").agg(pl.col("first_date").first())
    # every root x month, so that the table is a roots x months matrix
    grid = (
        first_dates.join(pl.DataFrame(months), how="cross")
        .join(monthly.select("root", "month", "month_sum", "month_count"), on=["root", "month"], how="left")
        .with_columns(pl.col("month_sum").fill_null(0.0), pl.col("month_count").fill_null(0))
        .sort("root", "month")
    )
    shape = (first_dates.height, months.len())
    sums = grid.get_column("month_sum").to_numpy().reshape(shape)
    counts = grid.get_column("month_count").cast(pl.Int64).to_numpy().reshape(shape)
    # Window sums added lag by lag in numpy: a fixed order of float additions, so reruns are
    # bit-identical (a parallel horizontal sum is not guaranteed to be).
    window_sum = np.zeros(shape)
    window_count = np.zeros(shape, dtype=np.int64)
    for lag in range(min(window_months, shape[1])):
        window_sum[:, lag:] += sums[:, : shape[1] - lag]
        window_count[:, lag:] += counts[:, : shape[1] - lag]
    return grid.with_columns(
        pl.Series("window_sum", window_sum.ravel()), pl.Series("window_count", window_count.ravel())
    ).select(
        "root",
        "month",
        pl.when(pl.col("window_count") > 0).then(pl.col("window_sum") / pl.col("window_count")).alias("mean"),
        (pl.col("first_date") < pl.col("month").dt.offset_by(f"-{window_months - 1}mo")).alias("full_window"),
    )


def at_rebalances(table: pl.DataFrame, rebalances: pl.Series) -> pl.DataFrame:
    """``date, root, mean, full_window``: the rows of a :func:`window_table` for the months of
    the rebalance dates (every root of the table at every date; null mean and false
    ``full_window`` for a month the table does not reach)."""
    rebalance_frame = pl.DataFrame({"date": rebalances}, schema={"date": pl.Date()}).unique()
    return (
        table.select("root")
        .unique()
        .join(rebalance_frame, how="cross")
        .with_columns(pl.col("date").dt.month_start().alias("month"))
        .join(table, on=["root", "month"], how="left")
        .select("date", "root", "mean", pl.col("full_window").fill_null(False))
        .sort("date", "root")
    )


def window_means(monthly: pl.DataFrame, rebalances: pl.Series, window_months: int) -> pl.DataFrame:
    """``date, root, mean, full_window`` at each rebalance date (:func:`window_table` read at
    the rebalance months)."""
    if rebalances.len() == 0:
        return pl.DataFrame(schema={"date": pl.Date(), **{k: v for k, v in WINDOW_SCHEMA.items() if k != "month"}})
    return at_rebalances(window_table(monthly, window_months, rebalances.max()), rebalances)


def latest_values(values: pl.DataFrame, value_column: str, rebalances: pl.Series) -> pl.DataFrame:
    """``date, root, latest``: each root's value on its last date on or before each rebalance date
    (null before the root's first date)."""
    roots = values.select(pl.col("root").unique())
    grid = roots.join(pl.DataFrame({"date": rebalances}, schema={"date": pl.Date()}).unique(), how="cross").sort("date")
    # both sides sorted by date, hence by date within each root
    return (
        grid.join_asof(
            values.select("date", "root", pl.col(value_column).alias("latest")).sort("date"),
            on="date",
            by="root",
            strategy="backward",
            check_sortedness=False,
        )
        .select("date", "root", "latest")
        .sort("date", "root")
    )


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
    means = window_means(monthly_totals(values, value_column), rebalances, window_months)
    return latest_values(values, value_column, rebalances).join(means, on=["date", "root"], how="left").select(
        "date", "root", "latest", "mean", "full_window"
    )


def rebalance_positions(days: np.ndarray, implementation_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of :func:`rebalance_schedule` on an axis already sorted and unique:
    ``(rebalance_rows, effective_rows)`` into ``days`` (numpy ``datetime64[D]``), the last axis
    date of each month followed by a date of a later month, and the row ``implementation_lag``
    business days later (rebalances whose effective date is beyond the axis are left out).
    The same dates as :func:`rebalance_schedule`, for a family that holds its axis as an array."""
    months = days.astype("datetime64[M]")
    last = np.flatnonzero(months[:-1] != months[1:])
    last = last[last + implementation_lag < days.shape[0]]
    return last, last + implementation_lag
