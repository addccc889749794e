"""Analytics of a basket's weights (docs/design.md section 5): turnover with and without price
drift, drifted weights between rebalances, return contribution per root, current and sector
weights. A *weights* frame is ``date, effective_date, root, weight`` (+ family columns such as
``direction``): one row per rebalance and root, ``weight`` the signed fraction of the index.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl


def turnover(weights: pl.DataFrame) -> pl.DataFrame:
    """``date, turnover`` per rebalance: ``sum_i |W_{i,r} - W_{i,r-1}|`` (fraction of the index
    value traded, buys plus sells), with ``W_{i,r-1}`` the target weights of the previous
    rebalance (0 before the first and for roots absent from a rebalance). Price drift between
    rebalances is ignored."""
    dates = weights.select(pl.col("date").unique()).sort("date")
    roots = weights.select(pl.col("root").unique())
    grid = (
        dates.join(roots, how="cross")
        .join(weights.select("date", "root", "weight"), on=["date", "root"], how="left")
        .with_columns(pl.col("weight").fill_null(0.0))
        .sort("root", "date")
        .with_columns((pl.col("weight") - pl.col("weight").shift(1, fill_value=0.0).over("root")).abs().alias("trade"))
    )
    return grid.group_by("date").agg(pl.col("trade").sum().alias("turnover")).sort("date")


def annual_turnover(weights: pl.DataFrame, root_levels: pl.DataFrame | None = None) -> float | None:
    """Average turnover per year: the sum of the turnover over every rebalance after the
    first (the first builds the portfolio from cash), divided by the years (days / 365.25)
    between the first and the last rebalance. None with fewer than two rebalances.

    With ``root_levels`` (``date, root, level``) the turnover includes price drift
    (:func:`turnover_with_drift`), without them it counts target changes only
    (:func:`turnover`)."""
    per_rebalance = turnover(weights) if root_levels is None else turnover_with_drift(weights, root_levels)
    if per_rebalance.height < 2:
        return None
    dates = per_rebalance.get_column("date")
    years = (dates[-1] - dates[0]).days / 365.25
    return float(per_rebalance.get_column("turnover").slice(1).sum()) / years


def level_on_or_before_by_root(root_levels: pl.DataFrame, roots: pl.Series, days: pl.Series) -> pl.Series:
    """For every ``(roots[k], days[k])``, the root's last ``level`` on or before that day (a
    backward as-of lookup per root; null where the root has no level on or before the day).

    ``root_levels``: ``date, root, level``. Vectorised: each row is keyed ``(root code, day
    number)`` in one int64, the keys of ``root_levels`` are sorted (already sorted when the frame
    is sorted by root and date, as the series are) and all lookups are one binary search. The
    sorted keys of a frame are kept for the next lookups in the same frame
    (:func:`_root_level_keys`), so the factsheets of a publication prepare them once.
    """
    codes, table_keys, table_codes, table_levels = _root_level_keys(root_levels)
    query_codes = roots.replace_strict(codes, default=-1, return_dtype=pl.Int64).to_numpy()
    query_keys = (query_codes << 32) + days.cast(pl.Int64).to_numpy()
    # the last row with a key <= the query's: the same root on or before the day, else another root
    position = np.searchsorted(table_keys, query_keys, side="right") - 1
    found = (position >= 0) & (query_codes >= 0)
    found[found] = table_codes[position[found]] == query_codes[found]
    values = np.where(found, table_levels[np.clip(position, 0, None)] if table_levels.size else np.nan, np.nan)
    return pl.select(pl.when(pl.lit(pl.Series(found))).then(pl.lit(pl.Series(values)))).to_series().alias("level")


_ROOT_LEVEL_KEYS: dict[int, tuple[pl.DataFrame, tuple]] = {}
"""The prepared keys of the last few ``root_levels`` frames, by the frame's identity (the frame
is kept with them, so its id is not reused while the entry lives). Shared by the publisher's
threads: an entry is only ever added whole or dropped, so a race at worst prepares twice."""


_ROOT_LEVEL_KEYS_KEPT = 4


def _root_level_keys(root_levels: pl.DataFrame) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """``codes, keys, key_codes, levels`` of :func:`level_on_or_before_by_root`: a code per root
    of ``root_levels`` (its rank among the sorted roots), and per row, sorted by key, the key
    ``code << 32 + day number``, the code and the level. A root absent from the frame has no
    code (its lookups find nothing)."""
    kept = _ROOT_LEVEL_KEYS.get(id(root_levels))
    if kept is not None and kept[0] is root_levels:
        return kept[1]
    table = root_levels.select("date", "root", "level")
    root_column = table.get_column("root")
    # code the roots run by run (a run: consecutive rows of one root), not row by row
    run_starts = np.flatnonzero(
        table.select((pl.col("root") != pl.col("root").shift(1)).fill_null(True)).to_series().to_numpy()
    )
    run_roots = root_column.gather(run_starts).to_list()
    codes = {root: code for code, root in enumerate(sorted(set(run_roots)))}
    table_codes = np.repeat(
        np.array([codes[root] for root in run_roots], dtype=np.int64), np.diff(np.append(run_starts, table.height))
    )
    table_keys = (table_codes << 32) + table.get_column("date").cast(pl.Int64).to_numpy()
    table_levels = table.get_column("level").to_numpy()
    if table_keys.size > 1 and not bool(np.all(table_keys[1:] >= table_keys[:-1])):
        order = np.argsort(table_keys, kind="stable")
        table_keys, table_codes, table_levels = table_keys[order], table_codes[order], table_levels[order]
    prepared = (codes, table_keys, table_codes, table_levels)
    if len(_ROOT_LEVEL_KEYS) >= _ROOT_LEVEL_KEYS_KEPT:
        _ROOT_LEVEL_KEYS.pop(next(iter(_ROOT_LEVEL_KEYS), None), None)
    _ROOT_LEVEL_KEYS[id(root_levels)] = (root_levels, prepared)
    return prepared


def return_contribution(
    weights: pl.DataFrame, root_levels: pl.DataFrame, start: dt.date, end: dt.date
) -> pl.DataFrame:
    """``root, contribution`` over the window ``(start, end]``: for every holding period that
    overlaps it, ``W_i * (ER_{i,e} / ER_{i,b} - 1)`` summed over periods, where each period runs
    from one ``effective_date`` to the next and ``b``, ``e`` are its overlap with the window.

    ``root_levels``: ``date, root, level`` (the single-commodity ER levels, on the index's date
    axis). The sum over roots is the index's arithmetic return over the window up to
    compounding across periods and the drift of weights inside a period (a first-order
    attribution). A root without any level in the window has a null contribution. Sorted by
    contribution, largest first (nulls last).
    """
    anchors = weights.select(pl.col("effective_date").unique()).sort("effective_date").get_column("effective_date")
    bounds = pl.DataFrame({"effective_date": anchors, "period_end": anchors.shift(-1)}).with_columns(
        pl.max_horizontal(pl.col("effective_date"), pl.lit(start)).alias("begin"),
        pl.min_horizontal(pl.col("period_end").fill_null(end), pl.lit(end)).alias("finish"),
    ).filter(pl.col("begin") < pl.col("finish"))
    held = weights.select("effective_date", "root", "weight").join(
        bounds, on="effective_date", how="inner", maintain_order="left"
    )
    # one lookup for both ends: the begin dates, then the finish dates
    looked_up = level_on_or_before_by_root(
        root_levels,
        pl.concat([held.get_column("root")] * 2),
        pl.concat([held.get_column("begin"), held.get_column("finish")]),
    )
    periods = held.with_columns(
        looked_up.head(held.height).alias("level_begin"), looked_up.tail(held.height).alias("level_finish")
    )
    term = pl.col("weight") * (pl.col("level_finish") / pl.col("level_begin") - 1.0)
    return (
        periods.group_by("root")
        .agg(pl.when(term.is_not_null().any()).then(term.sum()).alias("contribution"))
        .sort(["contribution", "root"], descending=[True, False], nulls_last=True)
    )


def current_weights(weights: pl.DataFrame, sectors: dict[str, str]) -> pl.DataFrame:
    """``root, sector, weight, direction`` at the latest rebalance ``date``: ``direction`` is the
    family's column when present, else ``sign(weight)`` (+1 long, -1 short, 0 flat)."""
    if weights.height == 0:
        return pl.DataFrame(schema={"root": pl.String, "sector": pl.String, "weight": pl.Float64,
                                    "direction": pl.Int64})
    latest = weights.filter(pl.col("date") == pl.col("date").max())
    direction = (
        pl.col("direction").cast(pl.Int64)
        if "direction" in weights.columns
        else pl.col("weight").sign().cast(pl.Int64)
    )
    return latest.select(
        "root",
        pl.col("root").replace_strict(sectors, default="other", return_dtype=pl.String).alias("sector"),
        "weight",
        direction.alias("direction"),
    ).sort(["sector", "root"])


def sector_weights(current: pl.DataFrame) -> pl.DataFrame:
    """``sector, long, short, net, gross`` from :func:`current_weights`: long = sum of positive
    weights, short = sum of negative weights (<= 0), net = long + short, gross = long - short."""
    return (
        current.group_by("sector")
        .agg(
            pl.col("weight").clip(lower_bound=0.0).sum().alias("long"),
            pl.col("weight").clip(upper_bound=0.0).sum().alias("short"),
        )
        .with_columns(
            (pl.col("long") + pl.col("short")).alias("net"), (pl.col("long") - pl.col("short")).alias("gross")
        )
        .sort("sector")
    )


def drift_factors(
    held: pl.DataFrame, root_levels: pl.DataFrame, begin: str = "begin", finish: str = "finish"
) -> pl.Series:
    """``R_i = ER_{i,finish} / ER_{i,begin}`` per row of ``held`` (``root`` and the two date
    columns), the last level on or before each date (:func:`level_on_or_before_by_root`); 1
    where the root has no level (its position is carried at its last price)."""
    looked_up = level_on_or_before_by_root(
        root_levels,
        pl.concat([held.get_column("root")] * 2),
        pl.concat([held.get_column(begin), held.get_column(finish)]),
    )
    begin_levels, finish_levels = looked_up.head(held.height), looked_up.tail(held.height)
    return (finish_levels / begin_levels).fill_null(1.0).fill_nan(1.0).alias("drift")


def drifted_weights(weights: pl.DataFrame, root_levels: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """``root, target_weight, drifted_weight`` on ``day`` for the latest rebalance effective on
    or before it: ``w~_i = W_i R_i / (1 + sum_j W_j (R_j - 1))`` with ``R_i = ER_{i,day} /
    ER_{i,a}``, ``a`` the effective date (docs/design.md section 3: positions are fixed
    between rebalances, so a weight drifts with its commodity's price against the index).
    Empty when no rebalance is effective yet."""
    effective = weights.filter(pl.col("effective_date") <= day)
    if effective.height == 0:
        return pl.DataFrame(schema={"root": pl.String, "target_weight": pl.Float64, "drifted_weight": pl.Float64})
    held = effective.filter(pl.col("effective_date") == pl.col("effective_date").max()).select(
        "root", pl.col("weight").alias("target_weight"), pl.col("effective_date").alias("begin"),
        pl.lit(day).alias("finish"),
    )
    held = held.with_columns(drift_factors(held, root_levels))
    index_growth = 1.0 + float((held.get_column("target_weight") * (held.get_column("drift") - 1.0)).sum())
    return held.select(
        "root", "target_weight", (pl.col("target_weight") * pl.col("drift") / index_growth).alias("drifted_weight")
    )


def turnover_with_drift(weights: pl.DataFrame, root_levels: pl.DataFrame) -> pl.DataFrame:
    """``date, turnover`` per rebalance including price drift: ``sum_i |W_{i,r} - w~_{i,r}|``
    where ``w~_{i,r}`` are the previous rebalance's weights drifted from its effective date to
    this one's (:func:`drifted_weights`; 0 before the first rebalance and for a root not held).
    An equal-weight basket whose targets never change still trades back to its targets."""
    anchors = (
        weights.select("date", "effective_date").unique().sort("date", "effective_date")
        .with_columns(pl.col("effective_date").shift(-1).alias("next_effective"),
                      pl.col("date").shift(-1).alias("next_date"))
    )
    held = (
        weights.select("date", "root", "weight")
        .join(anchors, on="date", how="left")
        .filter(pl.col("next_date").is_not_null())
    )
    held = held.with_columns(drift_factors(held, root_levels, "effective_date", "next_effective"))
    growth = held.group_by("date").agg(
        (1.0 + (pl.col("weight") * (pl.col("drift") - 1.0)).sum()).alias("growth")
    )
    drifted = held.join(growth, on="date").select(
        pl.col("next_date").alias("date"), "root",
        (pl.col("weight") * pl.col("drift") / pl.col("growth")).alias("drifted"),
    )
    target = weights.select("date", "root", pl.col("weight").alias("target"))
    trades = target.join(drifted, on=["date", "root"], how="full", coalesce=True).with_columns(
        (pl.col("target").fill_null(0.0) - pl.col("drifted").fill_null(0.0)).abs().alias("trade")
    )
    return trades.group_by("date").agg(pl.col("trade").sum().alias("turnover")).sort("date")
