"""Composite index levels from signed weights held static between rebalances (docs/design.md section 3).

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
from collections.abc import Mapping

import numpy as np
import polars as pl

from indexcalc.errors import DataError
from indexcalc.panel import Panel, root_positions

__all__ = [
    "accrued_collateral",
    "align_levels",
    "composite_excess_return",
    "composite_excess_returns",
    "composite_total_return",
    "continued_excess_levels",
    "continued_total_level",
    "contributions",
    "refuse_non_finite",
    "root_positions",
]


def align_levels(levels: pl.DataFrame, dates: pl.Series | None = None) -> pl.DataFrame:
    """Root levels on a common date axis: ``root, date, level``, forward-filled per root.

    ``levels`` has ``date, root, level``. The axis is ``dates`` if given, otherwise the union of
    all roots' dates. A root that does not trade on an axis date keeps its previous level (its
    exchange was closed); dates before a root's first level stay null. Sorted by root, date.
    (Put on a dates x roots :class:`~indexcalc.panel.Panel` and forward-filled down each column:
    no join on the keys.)
    """
    axis = (levels.get_column("date") if dates is None else dates).unique().sort()
    return Panel.from_long(levels, "level", dates=axis).forward_filled().to_long("level")


def composite_excess_return(
    levels: pl.DataFrame,
    weights: pl.DataFrame,
    base_date: dt.date,
    base_value: float,
) -> pl.DataFrame:
    """:func:`composite_excess_returns` of one weight set, from the long frame ``date, root,
    level`` of levels on a common axis (see :func:`align_levels`): the frame's panel, the
    formula, the one result."""
    return composite_excess_returns(Panel.from_long(levels, "level"), {"index": weights}, base_date, base_value)["index"]


def composite_excess_returns(
    levels: Panel,
    weights: Mapping[str, pl.DataFrame],
    base_date: dt.date,
    base_value: float,
) -> dict[str, pl.DataFrame]:
    """Excess-return composite levels ``date, level, daily_return`` from ``base_date`` on, one
    frame per weight set, keyed as ``weights`` (several indexes of a family share their
    constituents' levels and differ only by weights).

    ``levels``: the roots' levels on a common axis (dates x roots, NaN where none; only the
    dates from ``base_date`` on are used). ``weights``: ``effective_date, root, weight``; each
    effective date opens a period that lasts to the next one. Roots absent from a period have
    weight 0. Every effective date must be an axis date on or after ``base_date``, and a
    weighted root must have a level on its effective date and on every date of its period
    (otherwise a :class:`DataError`: a missing level would silently drop part of a period's
    return).

    With ``R_t = sum_i W_i (ER_{i,t} / ER_{i,a} - 1)`` for ``a < t <= a'``, the level is
    ``C_t = C_a * (1 + R_t)``, ``C`` = base on the base date and up to the first anchor; the
    level on ``a'`` (closing a period) is the next period's ``C_a`` exactly, so a flat period is
    exactly constant. Computed on the panel of the weighted roots (numpy).
    """
    if not weights:
        return {}
    levels = levels.since(base_date)
    for weight_set in weights.values():
        _check_weights(weight_set, levels.dates, base_date)
    # the weighted roots' columns (NaN for a weighted root the panel does not have)
    levels = levels.columns(_weighted_roots(weights))
    return {name: _excess_levels(levels, weight_set, base_value) for name, weight_set in weights.items()}


def _weighted_roots(weights: Mapping[str, pl.DataFrame]) -> pl.Series:
    """The sorted union of the roots of several weight sets."""
    return pl.concat([weight_set.get_column("root") for weight_set in weights.values()]).unique().sort()


def _excess_levels(levels: Panel, weights: pl.DataFrame, base_value: float) -> pl.DataFrame:
    level_matrix, dates, roots = levels.values, levels.dates, levels.roots
    weight_panel = Panel.from_long(weights, "weight", on="effective_date", roots=roots, fill=0.0)
    anchors, weight_matrix = weight_panel.dates, weight_panel.values
    days, anchor_days = dates.to_numpy(), anchors.to_numpy()
    period = np.searchsorted(anchor_days, days, side="left") - 1  # last anchor strictly before t
    anchor_row = np.searchsorted(days, anchor_days)
    held = np.flatnonzero(period >= 0)
    held_weights = weight_matrix[period[held]]
    anchor_levels = level_matrix[anchor_row[period[held]]]
    contribution = contributions(held_weights, anchor_levels, level_matrix[held])
    if not np.isfinite(contribution).all():
        row, column = np.argwhere(~np.isfinite(contribution))[0]
        anchor = anchors[int(period[held[row]])]
        if np.isnan(anchor_levels[row, column]):
            problem = f"weighted but has no level on its effective date {anchor}"
        elif anchor_levels[row, column] == 0.0:
            problem = (
                f"weighted from {anchor} but its level is 0 on that date (its position was lost to a "
                "settlement at zero or below, docs/design.md section 2)"
            )
        elif np.isnan(level_matrix[held[row], column]):
            problem = f"weighted from {anchor} but has no level on {dates[int(held[row])]}"
        else:
            problem = f"weighted from {anchor} but its level gives a non-finite return on {dates[int(held[row])]}"
        raise DataError(problem, key=f"root {roots[int(column)]}")
    period_return = contribution.sum(axis=1)
    # level at each anchor: C_{a_0} = base, C_{a_k} = C_{a_(k-1)} * (1 + R_{a_k}), multiplied in
    # sequence so that the level closing a period is bit for bit the next period's start level
    closing_growth = 1.0 + period_return[np.searchsorted(held, anchor_row[1:])]
    anchor_level = np.cumprod(np.concatenate(([base_value], closing_growth)))
    level = np.full(days.shape[0], float(base_value))
    level[held] = continued_excess_levels(anchor_level[period[held]], period_return)
    refuse_non_finite(level, dates)
    daily_return = np.zeros(days.shape[0])
    daily_return[1:] = level[1:] / level[:-1] - 1.0  # L_t / L_{t-1} - 1, 0 on the first date
    return pl.DataFrame({"date": dates, "level": level, "daily_return": daily_return})


def refuse_non_finite(level: np.ndarray, dates: pl.Series) -> None:
    """No composite level is written that is not a finite number (a DataError naming the date)."""
    bad = np.flatnonzero(~np.isfinite(level))
    if bad.size:
        raise DataError(f"the calculation gives a non-finite level {level[bad[0]]}", key=f"date {dates[int(bad[0])]}")


def contributions(weights: np.ndarray, anchor_levels: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``W_i * (ER_{i,t} / ER_{i,a} - 1)`` per row t and root i (rows of ``levels``, with the
    weights and anchor levels of their period); a root with ``W_i = 0`` contributes exactly 0,
    whatever its levels. ``contributions(...).sum(axis=1)`` is the period return ``R_t``."""
    # a lost root's anchor level is 0 (0/0): NaN, reported by the caller with the root's name,
    # not as a numpy warning
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(weights != 0.0, weights * (levels / anchor_levels - 1.0), 0.0)


def continued_excess_levels(anchor_level: np.ndarray | float, period_return: np.ndarray) -> np.ndarray:
    """``C_t = C_a * (1 + R_t)``: the excess-return level from the anchor level and the period
    return (the daily run continues a period with the same expression, docs/design.md section 7)."""
    with np.errstate(over="ignore"):  # an overflow is refused by name (refuse_non_finite)
        return anchor_level * (1.0 + period_return)


def continued_total_level(last_total: float, last_excess: float, excess: float, accrued: float) -> float:
    """``CTR_t = CTR_s * (C_t / C_s + TBR_(s,t])``: the total-return level one index date on
    from the previous one ``s``, with the collateral return accrued over ``(s, t]``
    (:func:`accrued_collateral`); the step of :func:`composite_total_return`."""
    return last_total * (excess / last_excess + accrued)


def accrued_collateral(returns: np.ndarray) -> float:
    """``TBR_(s,t]`` from the collateral returns of the collateral dates in ``(s, t]``: the one
    return itself, or ``prod (1 + TBR_d) - 1`` over several (as :func:`composite_total_return`)."""
    if returns.size == 1:
        return float(returns[0])
    return float(np.multiply.reduce(1.0 + returns) - 1.0)


def _check_weights(weights: pl.DataFrame, dates: pl.Series, base_date: dt.date) -> None:
    if weights.get_column("weight").null_count():
        row = weights.filter(pl.col("weight").is_null()).row(0, named=True)
        raise DataError(f"null weight effective {row['effective_date']}", key=f"root {row['root']}")
    # every effective date on the (sorted) axis: a binary search instead of a set-membership query
    axis = dates.to_physical().to_numpy()
    effective = weights.get_column("effective_date").to_physical().to_numpy()
    position = np.minimum(np.searchsorted(axis, effective), max(axis.size - 1, 0))
    if axis.size and (axis[position] == effective).all():
        return
    off_axis = weights.filter(~pl.col("effective_date").is_in(dates.implode()))
    if off_axis.height:
        raise DataError(
            f"effective date {off_axis.get_column('effective_date').min()} is not a date of the level axis "
            f"on or after the base date {base_date}",
            key="weights",
        )


def composite_total_return(excess: pl.DataFrame, collateral: pl.DataFrame, base_value: float) -> pl.DataFrame:
    """Total-return levels: ``CTR_t = CTR_{t-1} * (C_t / C_{t-1} + TBR_t)``, ``CTR_base = base``.

    ``excess``: ``date, level`` (the ER composite); ``collateral``: ``date, collateral_return``
    (TBR_t, see :func:`indexcalc.collateral.collateral_returns`), on an axis that contains every
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
    # each index date t > first accrues the collateral dates (t-1, t]: consecutive segments
    ends = np.searchsorted(accruing.get_column("date").to_numpy(), frame.get_column("date").to_numpy()[1:])
    accrued = np.empty(0)
    if ends.size:
        starts = np.concatenate(([0], ends[:-1] + 1))
        returns = accruing.get_column("collateral_return").to_numpy()
        accrued = np.where(ends == starts, returns[ends], np.multiply.reduceat(1.0 + returns, starts) - 1.0)
    frame = frame.with_columns(pl.Series("collateral_return", np.concatenate(([0.0], accrued))))
    step = (pl.col("level") / pl.col("level").shift(1) + pl.col("collateral_return")).fill_null(1.0)
    # multiplied in sequence from the base value: CTR_t = CTR_{t-1} * step_t exactly, as the
    # daily run continues it (continued_total_level)
    first = pl.int_range(pl.len()) == 0
    frame = frame.with_columns(pl.when(first).then(float(base_value)).otherwise(step).cum_prod().alias("tr_level"))
    refuse_non_finite(frame.get_column("tr_level").to_numpy(), frame.get_column("date"))
    return frame.select(
        "date",
        pl.col("tr_level").alias("level"),
        (pl.col("tr_level") / pl.col("tr_level").shift(1) - 1.0).fill_null(0.0).alias("daily_return"),
    )
