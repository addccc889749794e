"""The equal-weight basket (docs/design.md section 6): ``W_{i,r} = 1/n`` for each of the n
roots at every month-end ``r`` from the first month-end at which every root has a level (the
base date), effective ``implementation_lag`` business days later; levels by
:func:`indexcalc.composite.composite_excess_return` and, for a total-return index,
:func:`indexcalc.composite.composite_total_return`. Shared steps only: the example of how small
a family can be."""

from __future__ import annotations

import polars as pl

from indexcalc.composite import align_levels, composite_excess_return, composite_total_return
from indexcalc.data.market import MarketData
from indexcalc.families.equalweight.spec import EqualWeightSpec
from indexcalc.results import IndexResult
from indexcalc.rules.calendar import rebalance_schedule


def equal_weights(schedule: pl.DataFrame, roots: list[str]) -> pl.DataFrame:
    """``date, effective_date, root, weight``: ``1 / len(roots)`` per root at each rebalance."""
    return (
        schedule.join(pl.DataFrame({"root": roots}), how="cross")
        .with_columns(pl.lit(1.0 / len(roots)).alias("weight"))
        .sort("date", "root")
    )


def compute_equal_weight(
    specs: list[EqualWeightSpec], market: MarketData, series: pl.DataFrame, collateral: pl.DataFrame
) -> dict[str, IndexResult]:
    """Each spec's levels and weights on the linked ``series`` (``date, root, level``)."""
    results = {}
    for spec in specs:
        roots = sorted(set(spec.select_roots(market.instruments)) & set(series.get_column("root").unique()))
        levels = align_levels(series.filter(pl.col("root").is_in(roots)).select("date", "root", "level"))
        start = levels.group_by("root").agg(pl.col("date").filter(pl.col("level").is_not_null()).min()).get_column("date").max()
        dates = levels.filter(pl.col("date") >= start).get_column("date").unique().sort()
        schedule = rebalance_schedule(dates, spec.implementation_lag)
        weights = equal_weights(schedule, roots)
        excess = composite_excess_return(levels, weights, schedule.item(0, "date"), spec.base_value)
        total = composite_total_return(excess, collateral, spec.base_value) if spec.return_type == "tr" else None
        results[spec.id] = IndexResult(
            spec=spec,
            levels=excess if total is None else total,
            weights=weights,
            excess=None if total is None else excess,
            axis_roots=tuple(roots),
        )
    return results
