"""Annual reconstitution of the momentum family's universe (docs/design.md section 3).

"Reconstituted annually: the universe is chosen once a year from the eligible commodities by a
minimum dollar open interest" (``MomentumIndexSpec.reconstitution``). With ``avgDOI_{i,r}`` the
average dollar open interest of root ``i`` over the magnitude window ending at rebalance ``r``
(USD, :mod:`indexcalc.families.momentum.magnitude`, the same average the magnitude uses)::

    eligible_{i,r} = full_window_{i,r} and avgDOI_{i,r} > 0 and avgDOI_{i,r} >= min_dollar_open_interest
    rank_{i,r}     = 1 + number of eligible j with avgDOI_j > avgDOI_i (ties: root name)
    member_{i,r}   = eligible_{i,r} and rank_{i,r} <= max_roots     (no limit when max_roots is None)

``full_window`` is the family's: the root's history covers both the direction and the magnitude
window. The universe is chosen at the selection dates ``s`` (:func:`selection_dates`: the base
date and every later rebalance of the reconstitution month) and held from each until the next:
the members at rebalance ``r`` are those of the latest ``s <= r`` (:func:`membership`), so a
root enters or leaves only at a selection date. Everything is computed for all dates at once
(group-wise ranks, an as-of join); nothing loops over days or roots.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

UNIVERSE_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "root": pl.String(),
    "average_dollar_open_interest": pl.Float64(),
    "full_window": pl.Boolean(),
    "eligible": pl.Boolean(),
    "rank": pl.UInt32(),
    "member": pl.Boolean(),
}
"""Published universe table: per selection date and candidate root, the average dollar open
interest (USD), whether the windows are full, whether it passes the threshold, its rank among
the eligible roots (1 = largest; null when not eligible) and whether it is a member."""


def eligibility(
    averages: pl.DataFrame, min_dollar_open_interest: float, max_roots: int | None
) -> pl.DataFrame:
    """:data:`UNIVERSE_SCHEMA` at every date of ``averages`` (module docstring formulas).

    ``averages``: ``date, root, average, full_window`` (average dollar open interest in USD,
    null where the window holds no observation; ``full_window`` the root's history covers the
    direction and magnitude windows).
    """
    average = pl.col("average")
    eligible = pl.col("full_window").fill_null(False) & average.is_not_null() & (average > 0) & (
        average >= min_dollar_open_interest
    )
    # sorted by root within each date, so "ordinal" ranks break ties by root name
    ranked = (
        averages.select("date", "root", "average", "full_window")
        .sort("date", "root")
        .with_columns(eligible.alias("eligible"))
        .with_columns(
            # null (not ranked) where not eligible
            pl.when(pl.col("eligible")).then(average).rank("ordinal", descending=True).over("date")
            .cast(pl.UInt32)
            .alias("rank")
        )
    )
    within_limit = pl.lit(True) if max_roots is None else pl.col("rank") <= max_roots
    return ranked.select(
        "date",
        "root",
        average.alias("average_dollar_open_interest"),
        pl.col("full_window").fill_null(False),
        "eligible",
        "rank",
        (pl.col("eligible") & within_limit.fill_null(False)).alias("member"),
    )


def selection_dates(rebalances: pl.Series, first: dt.date, month: int) -> pl.Series:
    """``date``: ``first`` (the base date, the initial choice) and every later rebalance date in
    calendar ``month`` (1-12), sorted."""
    dates = pl.DataFrame({"date": rebalances}, schema={"date": pl.Date()})
    return (
        dates.filter((pl.col("date") == first) | ((pl.col("date") > first) & (pl.col("date").dt.month() == month)))
        .unique()
        .sort("date")
        .get_column("date")
    )


def membership(universe: pl.DataFrame, rebalances: pl.Series) -> pl.DataFrame:
    """``date, root, selection_date``: the members at each rebalance date, those of the latest
    selection date on or before it (none before the first selection).

    ``universe``: ``date, root, member`` at the selection dates (:func:`eligibility` rows)."""
    selections = universe.select(pl.col("date").alias("selection_date")).unique().sort("selection_date")
    return (
        pl.DataFrame({"date": rebalances}, schema={"date": pl.Date()})
        .unique()
        .sort("date")
        .join_asof(selections, left_on="date", right_on="selection_date", strategy="backward")
        .drop_nulls("selection_date")
        .join(
            universe.filter(pl.col("member")).select(pl.col("date").alias("selection_date"), "root"),
            on="selection_date",
            how="inner",
        )
        .select("date", "root", "selection_date")
        .sort("date", "root")
    )
