"""What computing one index produces (the publisher's input)."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from indexcalc.specs import IndexSpecBase

LEVELS_SCHEMA = {"date": pl.Date(), "level": pl.Float64(), "daily_return": pl.Float64()}


@dataclass(frozen=True)
class IndexResult:
    """Levels, the weights behind them, and any family-specific published tables.

    - ``levels``: ``date, level, daily_return`` from the base date on (index points, fraction).
    - ``weights``: one row per rebalance and root: at least ``date`` (the rebalance date whose
      close fixes the weights), ``effective_date``, ``root``, ``weight`` (signed fraction of the
      index notional); families add their own columns (``magnitude, signal, direction``...).
    - ``tables``: further frames to publish under ``outputs/<name>/INDEX.csv`` (analytics,
      trades, monitors...), keyed by that folder name.
    - ``excess``: for a total-return composite index, the excess-return composite levels
      ``date, level, daily_return`` its levels are built on (None otherwise: the levels are it).
    - ``axis_roots``: for a composite index (weights held static between effective dates,
      :mod:`indexcalc.composite`), the roots whose series dates make its date axis; empty for
      an index that is not a composite. With ``weights`` and ``excess`` it is what the daily run
      needs to continue the index from stored state (:mod:`indexcalc.daystate`).
    """

    spec: IndexSpecBase
    levels: pl.DataFrame
    weights: pl.DataFrame
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    excess: pl.DataFrame | None = None
    axis_roots: tuple[str, ...] = ()
