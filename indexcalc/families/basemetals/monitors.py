"""Correlation and pairs monitors of the base-metals basket (formulas: :mod:`indexcalc.families.basemetals.risk`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import polars as pl

from indexcalc.panel import Panel

FLAT_TOLERANCE = 1e-12
"""A window variance below this fraction of the window's sum of squared returns counts as zero
(the root did not move; its correlations are undefined)."""


def rolling_correlations(returns: np.ndarray, window: int) -> np.ndarray:
    """Pearson correlation matrices of the ``window`` rows ending at each row: (days, n, n);
    NaN before the window is full (counted from the first row where every root has a return)
    and where a root did not move over the window.

    Window sums come from running sums of the returns and their cross products (demeaned over
    the whole sample first, which keeps the differences of running sums accurate), so the cost
    does not grow with the window.
    """
    # column-major: each root's sums run down a contiguous column (numpy's pairwise summation),
    # so the result does not depend on the layout of the array handed in
    returns = np.asfortranarray(returns)
    days, count = returns.shape
    result = np.full((days, count, count), np.nan)
    complete = np.flatnonzero(np.isfinite(returns).all(axis=1))
    first = int(complete[0]) if complete.size else days
    if days - first < window:
        return result
    sample = returns[first:] - returns[first:].mean(axis=0)
    running = np.zeros((len(sample) + 1, count))
    running[1:] = np.cumsum(sample, axis=0)
    running_products = np.zeros((len(sample) + 1, count, count))
    running_products[1:] = np.cumsum(sample[:, :, None] * sample[:, None, :], axis=0)
    sums = running[window:] - running[:-window]
    products = running_products[window:] - running_products[:-window]
    covariance = products - sums[:, :, None] * sums[:, None, :] / window
    variance = np.diagonal(covariance, axis1=-2, axis2=-1)
    squares = np.diagonal(products, axis1=-2, axis2=-1)
    # a root that did not move has variance 0 up to rounding of the running sums
    moved = variance > FLAT_TOLERANCE * np.maximum(squares, np.finfo(float).tiny)
    scale = np.where(moved, np.sqrt(np.where(moved, variance, 1.0)), np.nan)
    result[first + window - 1 :] = covariance / (scale[:, :, None] * scale[:, None, :])
    return result


def correlation_monitor(returns: Panel, window: int, alert_below: float) -> pl.DataFrame:
    """Daily ``date, average_correlation, pairs_below, alert`` from the roots' daily returns
    (dates x roots, NaN where none).

    ``average_correlation`` = mean of the pairwise rolling correlations (pairs with a defined
    correlation); ``pairs_below`` = how many pairs are below ``alert_below``; ``alert`` = the
    average is below ``alert_below`` (null while the window is not full).
    """
    correlations = rolling_correlations(returns.values, window)
    upper = np.triu_indices(returns.roots.len(), k=1)
    pairwise = correlations[:, upper[0], upper[1]]
    defined = np.isfinite(pairwise)
    count = defined.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        average = np.where(count > 0, np.where(defined, pairwise, 0.0).sum(axis=1) / count, np.nan)
    below = (np.where(defined, pairwise, np.inf) < alert_below).sum(axis=1)
    frame = pl.DataFrame(
        {"date": returns.dates, "average_correlation": average, "pairs_below": below.astype(np.int64)}
    ).with_columns(pl.col("average_correlation").fill_nan(None))
    return frame.with_columns(
        (pl.col("average_correlation") < alert_below).alias("alert"),
        pl.when(pl.col("average_correlation").is_not_null()).then(pl.col("pairs_below")).alias("pairs_below"),
    )


def correlation_matrix(returns: Panel, window: int) -> pl.DataFrame:
    """The latest ``window``-day correlation matrix of the roots' daily returns: column ``root``
    plus one column per root (in the panel's order)."""
    roots = returns.roots.to_list()
    if returns.dates.len() >= window:
        latest = np.corrcoef(returns.values[-window:], rowvar=False)
    else:
        latest = np.full((len(roots), len(roots)), np.nan)
    frame = pl.DataFrame({"root": roots}).with_columns(
        [pl.Series(root, latest[:, position]) for position, root in enumerate(roots)]
    )
    return frame.with_columns(pl.col(roots).fill_nan(None))


def pairs_monitor(
    levels: pl.DataFrame, pairs: Sequence[tuple[str, str]], window: int, entry: float, exit: float
) -> pl.DataFrame:
    """Daily ``date, pair, ratio, zscore, state`` for each pair ``(a, b)`` (labelled ``a/b``).

    ``levels``: ``date, root, level`` on a common axis. ``zscore`` uses the rolling mean and
    sample standard deviation of the last ``window`` ratios (null until the window is full or
    when the ratio did not move); ``state`` is ``short_ratio`` (short a, long b), ``long_ratio``
    (long a, short b) or ``flat``, with the entry/exit rule of the module docstring.
    """
    definitions = pl.DataFrame(
        {"pair": [f"{a}/{b}" for a, b in pairs], "root_a": [a for a, _ in pairs], "root_b": [b for _, b in pairs]}
    )
    level_a = levels.select("date", pl.col("root").alias("root_a"), pl.col("level").alias("level_a"))
    level_b = levels.select("date", pl.col("root").alias("root_b"), pl.col("level").alias("level_b"))
    ratio = (
        definitions.join(level_a, on="root_a")
        .join(level_b, on=["root_b", "date"])
        .select("date", "pair", (pl.col("level_a") / pl.col("level_b")).alias("ratio"))
        .sort("pair", "date")
    )
    mean = pl.col("ratio").rolling_mean(window).over("pair")
    deviation = pl.col("ratio").rolling_std(window).over("pair")
    frame = ratio.with_columns(pl.when(deviation > 0.0).then((pl.col("ratio") - mean) / deviation).alias("zscore"))
    z = pl.col("zscore")
    short_open = pl.when(z > entry).then(True).when(z <= exit).then(False).forward_fill().over("pair")
    long_open = pl.when(z < -entry).then(True).when(z >= -exit).then(False).forward_fill().over("pair")
    state = (
        pl.when(short_open.fill_null(False))
        .then(pl.lit("short_ratio"))
        .when(long_open.fill_null(False))
        .then(pl.lit("long_ratio"))
        .otherwise(pl.lit("flat"))
    )
    columns = ["date", "pair", "ratio", "zscore", "state"]
    return frame.with_columns(state.alias("state")).select(columns).sort("date", "pair")
