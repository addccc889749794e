"""Direction of each commodity in the momentum family (docs/design.md section 3).

At a rebalance date ``r``, with ``ER_{i,r}`` the linked excess-return level of root ``i`` and
``MA_{i,r}`` the mean of its daily ER levels over the trailing window (the ``window_months``
calendar months ending with ``r``'s month, :func:`indexcalc.rules.calendar.trailing_mean`)::

    signal_{i,r} = ER_{i,r} / MA_{i,r} - 1                         (fraction)
    D_{i,r}      = +1 if signal > tol, -1 if signal < -tol,
                   else D_{i,r-1} (a tie keeps the previous direction; 0 if there is none)

``tol`` is the spec's ``tie_tolerance``. Each family then maps ``D`` to the direction it holds
(:data:`FAMILY_DIRECTIONS`): a short in a sector of ``flat_short_sectors`` (energy) is flat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from indexcalc.panel import Panel

FAMILY_DIRECTIONS: dict[str, dict[str, int]] = {
    # family:      D = +1        D = -1         D = -1 in a flat-short sector   D = 0 (undecided)
    "long_short": {"long": 1, "short": -1, "short_in_flat_sector": 0, "undecided": 0},
    "long_flat": {"long": 1, "short": 0, "short_in_flat_sector": 0, "undecided": 0},
    "short_flat": {"long": 0, "short": -1, "short_in_flat_sector": 0, "undecided": 0},
    "long_only": {"long": 1, "short": 1, "short_in_flat_sector": 1, "undecided": 1},
    "short_only": {"long": -1, "short": -1, "short_in_flat_sector": -1, "undecided": -1},
}
"""Direction held by each family for each case of the momentum direction D (docs/design.md section 3 table):
Long/Short = D with flat-sector shorts flat; Long/Flat = max(D, 0); Short/Flat = min(D, 0) with
the flat-short sectors always flat; Long-Only = +1; Short-Only = -1."""


def momentum_signal(latest: Panel, mean: Panel) -> Panel:
    """``signal = ER_r / MA_r - 1`` per rebalance date ``r`` and root: ``latest`` the ER level at
    ``r``, ``mean`` its trailing-window mean (:func:`indexcalc.rules.calendar.trailing_mean` of the
    linked ER series), on the same dates and roots (NaN where either is unknown; a zero mean
    gives an infinite signal, not a warning)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return Panel(latest.dates, latest.roots, latest.values / mean.values - 1.0)


def family_direction(
    momentum: pl.DataFrame,
    family: str,
    sectors: Mapping[str, str],
    flat_short_sectors: Sequence[str],
) -> pl.DataFrame:
    """``momentum`` plus ``direction`` (Int8 in {-1, 0, 1}): what ``family`` holds for each D.

    ``momentum``: ``root, momentum`` (+ any columns); ``sectors``: root -> sector of the
    instrument catalogue; ``flat_short_sectors``: sectors whose shorts become flat (docs/design.md section 3:
    energy). The mapping is the table :data:`FAMILY_DIRECTIONS`.
    """
    table = FAMILY_DIRECTIONS[family]
    flat_roots = [root for root, sector in sectors.items() if sector in flat_short_sectors]
    momentum_column = pl.col("momentum")
    direction = (
        pl.when(momentum_column > 0)
        .then(table["long"])
        .when((momentum_column < 0) & pl.col("root").is_in(flat_roots))
        .then(table["short_in_flat_sector"])
        .when(momentum_column < 0)
        .then(table["short"])
        .otherwise(table["undecided"])
    )
    return momentum.with_columns(direction.cast(pl.Int8).alias("direction"))


def momentum_direction(
    signal: Panel, has_signal: np.ndarray, full_window: np.ndarray, tie_tolerance: float
) -> Panel:
    """D (int8 in {-1, 0, +1}) per rebalance date and root: ``signal`` at consecutive rebalance
    dates (rows); D at the cells where ``full_window``, elsewhere 0 (not published).

    ``signal > tie_tolerance`` is +1, ``signal < -tie_tolerance`` is -1; anything else is a tie,
    which keeps the root's D of its previous full-window row (0, undecided, when there is none).
    ``has_signal`` marks the cells whose signal is known (an unknown signal is a tie); a known
    NaN signal counts as above the tolerance (as polars orders NaN above every number).
    """
    values = signal.values
    rows = np.arange(values.shape[0])[:, None]
    known = full_window & has_signal
    with np.errstate(invalid="ignore"):
        up = known & (np.isnan(values) | (values > tie_tolerance))
        down = known & ~up & (values < -tie_tolerance)
    decided = up | down
    # forward fill down each root's column: the last decided row at or above each row
    last = np.maximum.accumulate(np.where(decided, rows, -1), axis=0)
    columns = np.arange(values.shape[1])[None, :]
    value = np.where(up, 1, np.where(down, -1, 0)).astype(np.int8)
    return Panel(signal.dates, signal.roots, np.where(last >= 0, value[np.maximum(last, 0), columns], 0).astype(np.int8))
