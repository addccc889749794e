"""Drawdowns of an index level (docs/design.md section 5): the drawdown series, the maximum
drawdown with its dates, the deepest episodes and the Calmar ratio.

    DD_t = L_t / max_{s<=t} L_s - 1        (fraction, <= 0)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from indexcalc.analytics.returns import TRADING_DAYS_PER_YEAR, annualised_return


def drawdowns(levels: pl.DataFrame) -> pl.DataFrame:
    """``date, drawdown`` with ``DD_t = L_t / max_{s<=t} L_s - 1`` (fraction, <= 0)."""
    return levels.sort("date").select("date", (pl.col("level") / pl.col("level").cum_max() - 1.0).alias("drawdown"))


@dataclass(frozen=True)
class MaxDrawdown:
    """The deepest peak-to-trough fall: ``depth`` = min_t DD_t (fraction, <= 0).

    ``peak_date``: last date on or before the trough at which the level stood at its running
    maximum; ``trough_date``: first date of the deepest drawdown; ``recovery_date``: first date
    after the trough with a level at or above the peak level (None if not yet recovered). All
    dates are None when the level never fell.
    """

    depth: float
    peak_date: dt.date | None
    trough_date: dt.date | None
    recovery_date: dt.date | None


def max_drawdown(levels: pl.DataFrame) -> MaxDrawdown:
    """Maximum drawdown and its dates (see :class:`MaxDrawdown`)."""
    frame = drawdowns(levels)
    if frame.height == 0:
        return MaxDrawdown(0.0, None, None, None)
    depth = float(frame.get_column("drawdown").min())
    if depth >= 0.0:
        return MaxDrawdown(0.0, None, None, None)
    # positions found with numpy on the same floats (a handful of polars filters cost more here)
    values = frame.get_column("drawdown").to_numpy()
    dates = frame.get_column("date")
    trough = int(np.flatnonzero(values == depth)[0])
    at_peak = np.flatnonzero(values == 0.0)
    peak = dates[int(at_peak[at_peak < trough][-1])]
    recovered = at_peak[at_peak > trough]
    return MaxDrawdown(depth, peak, dates[trough], dates[int(recovered[0])] if recovered.size else None)


def calmar_ratio(
    levels: pl.DataFrame, periods_per_year: int = TRADING_DAYS_PER_YEAR, drawdown: MaxDrawdown | None = None
) -> float | None:
    """``annualised_return / |max drawdown|`` over the whole history (not a trailing 36 months).
    None when there is no drawdown. ``drawdown``: :func:`max_drawdown` of ``levels`` when the
    caller has it already."""
    depth = (drawdown if drawdown is not None else max_drawdown(levels)).depth
    growth = annualised_return(levels, periods_per_year)
    if depth == 0.0 or growth is None:
        return None
    return growth / abs(depth)


def worst_drawdowns(levels: pl.DataFrame, count: int = 5) -> pl.DataFrame:
    """The ``count`` deepest drawdown episodes: ``peak_date, trough_date, recovery_date, depth,
    days_to_trough, days_to_recover``, deepest first.

    An episode starts at a date with ``DD = 0`` (a running peak) followed by ``DD < 0`` and ends
    at the next date with ``DD = 0`` (the recovery, None if not yet recovered); ``depth`` =
    min DD over the episode (fraction, < 0), ``trough_date`` its first date; the day counts are
    calendar days from the peak to the trough and to the recovery (None if not recovered)."""
    frame = drawdowns(levels).with_row_index("position")
    schema = {"peak_date": pl.Date, "trough_date": pl.Date, "recovery_date": pl.Date, "depth": pl.Float64,
              "days_to_trough": pl.Int64, "days_to_recover": pl.Int64}
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    # an episode number: rows at a peak start a new one; rows under water belong to the last
    tagged = frame.with_columns(
        (pl.col("drawdown") >= 0.0).alias("at_peak")
    ).with_columns(pl.col("at_peak").cum_sum().alias("episode"))
    peaks = tagged.filter(pl.col("at_peak")).select("episode", pl.col("date").alias("peak_date"))
    under = tagged.filter(~pl.col("at_peak"))
    if under.height == 0:
        return pl.DataFrame(schema=schema)
    episodes = (
        under.group_by("episode")
        .agg(
            pl.col("drawdown").min().alias("depth"),
            pl.col("date").sort_by("drawdown", "position").first().alias("trough_date"),
        )
        .join(peaks, on="episode", how="left")
        .join(peaks.select(pl.col("episode") - 1, pl.col("peak_date").alias("recovery_date")), on="episode",
              how="left")
        .sort(["depth", "peak_date"])
        .head(count)
    )
    return episodes.select(
        "peak_date", "trough_date", "recovery_date", "depth",
        (pl.col("trough_date") - pl.col("peak_date")).dt.total_days().alias("days_to_trough"),
        (pl.col("recovery_date") - pl.col("peak_date")).dt.total_days().alias("days_to_recover"),
    )
