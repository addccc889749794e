"""Composite index levels from signed weights held static between rebalances (DESIGN.md s3).

For an anchor (effective) date ``a`` and the next anchor ``a'``, for ``a < t <= a'``::

    C_t   = C_a * (1 + sum_i W_i * (ER_{i,t} / ER_{i,a} - 1))        (excess return)
    CTR_t = CTR_{t-1} * (C_t / C_{t-1} + TBR_t)                        (total return)

``W_i`` are signed weights (direction x magnitude); the unallocated fraction sits in cash and
earns nothing in the excess-return index. The positions are fixed contract units, so weights
drift with prices inside a period; that is what the ratio ``ER_t / ER_a`` does. Rebalance
weights are fixed at the close of the rebalance date ``r`` and take effect at the close of
``a = r + lag`` business days; the index is at its base value on the base date and stays there
until the first anchor.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from indexcalc.errors import DataError


def align_levels(levels: pl.DataFrame, dates: pl.Series | None = None) -> pl.DataFrame:
    """Root levels on a common date axis: ``date, root, level``, forward-filled per root.

    ``levels`` has ``date, root, level``. The axis is ``dates`` if given, otherwise the union of
    all roots' dates. A root that does not trade on an axis date keeps its previous level (its
    exchange was closed); dates before a root's first level stay null.
    """
    axis = (
        levels.select(pl.col("date").unique()).sort("date")
        if dates is None
        else pl.DataFrame({"date": dates}).unique().sort("date")
    )
    roots = levels.select(pl.col("root").unique()).sort("root")
    grid = roots.join(axis, how="cross")
    return (
        grid.join(levels.select("date", "root", "level"), on=["date", "root"], how="left")
        .sort("root", "date")
        .with_columns(pl.col("level").forward_fill().over("root"))
    )


def composite_excess_return(
    levels: pl.DataFrame,
    weights: pl.DataFrame,
    base_date: dt.date,
    base_value: float,
) -> pl.DataFrame:
    """Excess-return composite levels ``date, level, daily_return`` from ``base_date`` on.

    ``levels``: ``date, root, level`` on a common axis (see :func:`align_levels`).
    ``weights``: ``effective_date, root, weight``; each effective date opens a period that
    lasts to the next one. Roots absent from a period have weight 0. Every effective date must be
    an axis date on or after ``base_date`` and every weighted root must have a level on it
    (otherwise a :class:`DataError`: a missing anchor would silently drop a period's return).
    """
    dates = levels.select(pl.col("date").unique()).filter(pl.col("date") >= base_date).sort("date")
    anchors = weights.select(pl.col("effective_date").unique()).sort("effective_date")
    _check_anchors(levels, weights, dates, base_date)
    period_of_date = dates.join_asof(
        anchors.with_columns(pl.col("effective_date").alias("anchor")),
        left_on="date",
        right_on="effective_date",
        strategy="backward",
        allow_exact_matches=False,
    ).select("date", "anchor")

    anchor_levels = levels.join(anchors, left_on="date", right_on="effective_date", how="semi").select(
        pl.col("date").alias("anchor"), "root", pl.col("level").alias("anchor_level")
    )
    period_returns = (
        period_of_date.drop_nulls("anchor")
        .join(weights.rename({"effective_date": "anchor"}), on="anchor", how="inner")
        .join(anchor_levels, on=["anchor", "root"], how="left")
        .join(levels, on=["date", "root"], how="left")
        .group_by("date", "anchor")
        .agg((pl.col("weight") * (pl.col("level") / pl.col("anchor_level") - 1.0)).sum().alias("period_return"))
    )
    frame = (
        period_of_date.join(period_returns.drop("anchor"), on="date", how="left")
        .with_columns(pl.col("period_return").fill_null(0.0))
        .sort("date")
    )
    # C_t = base * A_{t-1} * (1 + R_t), where A is the compounded growth of the periods that
    # closed on or before t-1: a period closes at the next anchor, so g_t = 1 + R_t on anchors.
    closes_period = pl.col("date").is_in(anchors.get_column("effective_date").implode()) & pl.col(
        "anchor"
    ).is_not_null()
    growth = pl.when(closes_period).then(1.0 + pl.col("period_return")).otherwise(1.0)
    frame = frame.with_columns(
        (base_value * growth.cum_prod().shift(1, fill_value=1.0) * (1.0 + pl.col("period_return"))).alias("level")
    )
    return frame.select(
        "date", "level", (pl.col("level") / pl.col("level").shift(1) - 1.0).fill_null(0.0).alias("daily_return")
    )


def _check_anchors(levels: pl.DataFrame, weights: pl.DataFrame, dates: pl.DataFrame, base_date: dt.date) -> None:
    null_weight = weights.filter(pl.col("weight").is_null())
    if null_weight.height:
        row = null_weight.row(0, named=True)
        raise DataError(f"null weight effective {row['effective_date']}", key=f"root {row['root']}")
    off_axis = weights.join(dates, left_on="effective_date", right_on="date", how="anti")
    if off_axis.height:
        raise DataError(
            f"effective date {off_axis.get_column('effective_date').min()} is not a date of the level axis "
            f"on or after the base date {base_date}",
            key="weights",
        )
    unpriced = weights.filter(pl.col("weight") != 0.0).join(
        levels.drop_nulls("level"), left_on=["effective_date", "root"], right_on=["date", "root"], how="anti"
    )
    if unpriced.height:
        row = unpriced.sort("effective_date").row(0, named=True)
        raise DataError(f"weighted but has no level on its effective date {row['effective_date']}", key=f"root {row['root']}")


def composite_total_return(excess: pl.DataFrame, collateral: pl.DataFrame, base_value: float) -> pl.DataFrame:
    """Total-return levels: ``CTR_t = CTR_{t-1} * (C_t / C_{t-1} + TBR_t)``, ``CTR_base = base``.

    ``excess``: ``date, level`` (the ER composite); ``collateral``: ``date, collateral_return``
    (TBR_t, see :func:`indexcalc.series.collateral_returns`), on an axis that contains every
    index date after the first (a missing one is a :class:`DataError`). When the collateral axis
    is finer than the index's (a sector index on the market's union of dates), ``TBR_t`` is the
    compounded collateral return of the collateral dates ``d`` with ``t-1 < d <= t``:
    ``prod (1 + TBR_d) - 1`` (equal to ``TBR_t`` itself where there is no such gap).
    """
    frame = excess.select("date", "level").sort("date")
    if frame.height == 0:
        return frame.with_columns(pl.lit(0.0).alias("daily_return"))
    accruing = (
        collateral.select("date", "collateral_return")
        .filter(pl.col("date").is_between(frame.item(0, "date"), frame.item(-1, "date"), closed="right"))
        .sort("date")
    )
    uncovered = frame.slice(1).join(accruing.drop_nulls("collateral_return"), on="date", how="anti")
    if uncovered.height:
        raise DataError(f"no collateral return on index date {uncovered.item(0, 'date')}", key="collateral")
    gap_null = accruing.filter(pl.col("collateral_return").is_null())
    if gap_null.height:
        raise DataError(f"null collateral return on {gap_null.item(0, 'date')}", key="collateral")
    accrual = (
        accruing.join_asof(frame.select("date", pl.col("date").alias("index_date")), on="date", strategy="forward")
        .group_by("index_date")
        .agg(
            pl.when(pl.len() == 1)
            .then(pl.col("collateral_return").first())
            .otherwise((1.0 + pl.col("collateral_return")).product() - 1.0)
            .alias("collateral_return")
        )
    )
    frame = frame.join(accrual, left_on="date", right_on="index_date", how="left").sort("date")
    step = (pl.col("level") / pl.col("level").shift(1) + pl.col("collateral_return")).fill_null(1.0)
    frame = frame.with_columns((base_value * step.cum_prod()).alias("tr_level"))
    return frame.select(
        "date",
        pl.col("tr_level").alias("level"),
        (pl.col("tr_level") / pl.col("tr_level").shift(1) - 1.0).fill_null(0.0).alias("daily_return"),
    )
