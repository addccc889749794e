"""Relative values: a root's value minus the mean over its basket (docs/design.md section 4).

    rel_{i,t} = x_{i,t} - mean_{j in B(i), x_{j,t} observed} x_{j,t}

``B(i)`` is every root (global) or the roots of i's sector group (intra-group). The mean is
over the basket members observed on that date; a date where fewer than two members are
observed has no relative value (a lone root has nothing to be relative to). This is
``macrosynergy.panel.make_relative_value(df, xcats, rel_meth="subtract", rel_reference="mean")``
run on all roots (global) or once per group with ``cids = basket = the group`` (intra-group).
"""

from __future__ import annotations

import polars as pl

from indexcalc.errors import DataError


def relative_value(panel: pl.DataFrame, *, value: str, groups: pl.DataFrame | None = None) -> pl.DataFrame:
    """``date, root, relative`` from ``date, root, <value>`` (nulls are not observations).

    ``groups``: ``root, group`` for intra-group values (every root of the panel must have a
    group); None for global values (one basket of all roots).
    """
    observed = panel.select("date", "root", value).drop_nulls(value)
    if groups is None:
        observed = observed.with_columns(pl.lit("all").alias("group"))
    else:
        observed = observed.join(groups.select("root", "group"), on="root", how="left")
        missing = observed.filter(pl.col("group").is_null()).get_column("root").unique().sort().to_list()
        if missing:
            raise DataError(f"no group for roots {', '.join(missing)}", key="relative value")
    basket = ["date", "group"]
    return (
        observed.filter(pl.len().over(basket) >= 2)
        .select("date", "root", (pl.col(value) - pl.col(value).mean().over(basket)).alias("relative"))
        .sort("root", "date")
    )
