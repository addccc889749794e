"""Stress scenarios of the base-metals basket: each root's move and the basket's P&L
(formulas: :mod:`indexcalc.families.basemetals.risk`)."""

from __future__ import annotations

from typing import Sequence

import polars as pl

from indexcalc.families.basemetals.spec import StressScenario


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
