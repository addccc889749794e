"""A factsheet's figures from one index's levels, computed once per index (docs/design.md
section 5).

The functions of :mod:`indexcalc.analytics` each sort the levels, recompute the daily returns
and run a few polars queries, so a factsheet's performance table, risk table, drawdown and
calendar tables cost about 200 small queries per index. Here the levels are read once into
numpy arrays (:class:`LevelHistory`) and each figure is the same formula with the same
floating-point operations in the same order: element-wise quotients and differences are
IEEE operations wherever they run, and the reductions whose result depends on the summation
order (means and standard deviations) are still polars' own, on the same values. Every figure
is therefore equal to the bit to its :mod:`indexcalc.analytics` counterpart, which stays the
reference (``tests/publish/test_figures.py`` checks it on the catalogue and on random levels).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from indexcalc import analytics
from indexcalc.analytics import TRADING_DAYS_PER_YEAR, MaxDrawdown


@dataclass(frozen=True)
class LevelHistory:
    """One index's levels sorted by date: ``frame`` (``date, level, ...``), ``dates`` (its date
    column), ``days`` (day numbers, int64) and ``levels`` (float64), and the daily returns
    ``returns[k] = levels[k + 1] / levels[k] - 1`` (the return dated ``dates[k + 1]``)."""

    frame: pl.DataFrame
    dates: pl.Series
    days: np.ndarray
    levels: np.ndarray
    returns: np.ndarray


def level_history(levels: pl.DataFrame) -> LevelHistory:
    """:class:`LevelHistory` of a levels frame (``date, level``; any order)."""
    frame = levels.sort("date")
    dates = frame.get_column("date")
    values = frame.get_column("level").cast(pl.Float64).to_numpy()
    return LevelHistory(frame, dates, dates.to_physical().cast(pl.Int64).to_numpy(), values,
                        values[1:] / values[:-1] - 1.0)


def level_on_or_before(history: LevelHistory, day: dt.date) -> int | None:
    """Position of the last date on or before ``day`` (:func:`analytics.level_on_or_before`);
    None if ``day`` precedes the first date."""
    position = int(np.searchsorted(history.days, (day - dt.date(1970, 1, 1)).days, side="right")) - 1
    return None if position < 0 else position


def annualised_return(history: LevelHistory, start: int = 0) -> float | None:
    """:func:`analytics.annualised_return` of the levels from position ``start``."""
    count = len(history.levels) - start - 1
    if count < 1:
        return None
    return (float(history.levels[-1]) / float(history.levels[start])) ** (TRADING_DAYS_PER_YEAR / count) - 1.0


def period_returns(history: LevelHistory) -> dict[str, float | None]:
    """``period -> period_return`` of :func:`analytics.period_returns` (the performance table)."""
    if len(history.levels) == 0:
        return {}
    last_date, last_level = history.dates[-1], float(history.levels[-1])
    figures: dict[str, float | None] = {}
    for label, months, annualised in analytics.PERIODS:
        if label == "Since inception":
            figures[label] = annualised_return(history)
            continue
        if label == "YTD":
            start = level_on_or_before(history, dt.date(last_date.year - 1, 12, 31))
            start = 0 if start is None else start
        else:
            start = level_on_or_before(history, analytics.months_before(last_date, months))
        value = None
        if start is not None:
            value = last_level / float(history.levels[start]) - 1.0
            if annualised:
                value = (1.0 + value) ** (12.0 / months) - 1.0
        figures[label] = value
    return figures


def excess_returns(history: LevelHistory, risk_free: pl.DataFrame | None) -> np.ndarray:
    """The daily returns minus the risk-free return of their date (the returns themselves
    without ``risk_free``), as :func:`analytics.sharpe_ratio` takes them; a return date missing
    from ``risk_free`` is the same ``ValueError``."""
    if risk_free is None:
        return history.returns
    table = risk_free.select("date", "collateral_return").sort("date")
    table_days = table.get_column("date").to_physical().cast(pl.Int64).to_numpy()
    rates = table.get_column("collateral_return").cast(pl.Float64)
    known = rates.is_not_null().to_numpy()
    rates = rates.to_numpy()
    days = history.days[1:]
    if len(table_days) == 0:
        found = np.zeros(len(days), dtype=bool)
        position = np.zeros(len(days), dtype=np.int64)
    else:
        position = np.clip(np.searchsorted(table_days, days), 0, len(table_days) - 1)
        found = (table_days[position] == days) & known[position]
    if not found.all():
        raise ValueError(f"no risk-free return on {history.dates[1 + int(np.flatnonzero(~found)[0])]}")
    return history.returns - rates[position]


def _volatility(returns: np.ndarray) -> float | None:
    if len(returns) < 2:
        return None
    return float(pl.Series(returns).std(ddof=1)) * math.sqrt(TRADING_DAYS_PER_YEAR)


def _sharpe(excess: np.ndarray) -> float | None:
    if len(excess) < 2:
        return None
    series = pl.Series(excess)
    deviation = float(series.std(ddof=1))
    if deviation == 0.0:
        return None
    return float(series.mean()) / deviation * math.sqrt(TRADING_DAYS_PER_YEAR)


def _sortino(excess: np.ndarray) -> float | None:
    if len(excess) < 1:
        return None
    series = pl.Series(excess)
    downside = math.sqrt(float((series.clip(upper_bound=0.0) ** 2).mean()))
    if downside == 0.0:
        return None
    return float(series.mean()) * TRADING_DAYS_PER_YEAR / (downside * math.sqrt(TRADING_DAYS_PER_YEAR))


def max_drawdown(history: LevelHistory, start: int = 0) -> MaxDrawdown:
    """:func:`analytics.max_drawdown` of the levels from position ``start``."""
    values = history.levels[start:]
    if len(values) == 0:
        return MaxDrawdown(0.0, None, None, None)
    drawdown = values / np.maximum.accumulate(values) - 1.0
    depth = float(drawdown.min())
    if depth >= 0.0:
        return MaxDrawdown(0.0, None, None, None)
    trough = int(np.flatnonzero(drawdown == depth)[0])
    at_peak = np.flatnonzero(drawdown == 0.0)
    peak = int(at_peak[at_peak < trough][-1])
    recovered = at_peak[at_peak > trough]
    dates = history.dates
    return MaxDrawdown(depth, dates[start + peak], dates[start + trough],
                       dates[start + int(recovered[0])] if recovered.size else None)


def risk_figures(history: LevelHistory, risk_free: pl.DataFrame | None) -> dict:
    """The whole history's ``annualised_return, annualised_volatility, sharpe, sortino,
    max_drawdown`` (the depth), ``calmar`` and ``drawdown`` (:class:`MaxDrawdown`), with
    ``rf`` = ``risk_free`` as in :func:`analytics.sharpe_ratio`."""
    excess = excess_returns(history, risk_free)
    drawdown = max_drawdown(history)
    growth = annualised_return(history)
    return {
        "annualised_return": growth,
        "annualised_volatility": _volatility(history.returns),
        "sharpe": _sharpe(excess),
        "sortino": _sortino(excess),
        "max_drawdown": drawdown.depth,
        "calmar": None if drawdown.depth == 0.0 or growth is None else growth / abs(drawdown.depth),
        "drawdown": drawdown,
    }


def trailing_risk(history: LevelHistory, risk_free: pl.DataFrame | None,
                  years: tuple[int, ...] = analytics.RISK_WINDOWS_YEARS) -> list[dict]:
    """The rows of :func:`analytics.trailing_risk` (``years, start_date, annualised_return,
    annualised_volatility, sharpe, max_drawdown``), each window's first level its reference."""
    excess = excess_returns(history, risk_free) if len(history.levels) > 1 else history.returns
    rows = []
    for count in years:
        start = None
        if len(history.levels):
            start = level_on_or_before(history, analytics.months_before(history.dates[-1], 12 * count))
        if start is None or len(history.levels) - start < 3:
            rows.append({"years": count, "start_date": None, "annualised_return": None,
                         "annualised_volatility": None, "sharpe": None, "max_drawdown": None})
            continue
        rows.append({
            "years": count,
            "start_date": history.dates[start],
            "annualised_return": annualised_return(history, start),
            "annualised_volatility": _volatility(history.returns[start:]),
            "sharpe": _sharpe(excess[start:]),
            "max_drawdown": max_drawdown(history, start).depth,
        })
    return rows


def returns_by_period(history: LevelHistory, monthly: bool) -> pl.DataFrame:
    """:func:`analytics.monthly_returns` (``monthly``) or :func:`analytics.calendar_year_returns`:
    per calendar month or year, the last level over the last level before it (the first level
    for the first period), with that reference date as ``start_date``."""
    # every date but the first, by calendar month (months since 1970) or year
    months = history.days[1:].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    key = months if monthly else months // 12
    first = np.flatnonzero(np.diff(key, prepend=np.int64(-(2**62))))
    last = np.append(first[1:], len(key)) - 1
    # date k + 1 is the k-th of them: a period's reference is the level before its first date
    columns = {"year": pl.Series(months[first] // 12 + 1970, dtype=pl.Int32)}
    if monthly:
        columns["month"] = pl.Series(months[first] % 12 + 1, dtype=pl.Int8)
    columns["start_date"] = history.dates.gather(first)
    columns["end_date"] = history.dates.gather(last + 1)
    columns["monthly_return" if monthly else "year_return"] = pl.Series(
        history.levels[last + 1] / history.levels[first] - 1.0, dtype=pl.Float64)
    return pl.DataFrame(columns)


def drawdowns(history: LevelHistory) -> pl.DataFrame:
    """``date, drawdown`` of :func:`analytics.drawdowns`: ``DD_t = L_t / max_{s<=t} L_s - 1``."""
    return pl.DataFrame({"date": history.dates,
                         "drawdown": history.levels / np.maximum.accumulate(history.levels) - 1.0})


def worst_drawdowns(history: LevelHistory, count: int) -> list[dict]:
    """The rows of :func:`analytics.worst_drawdowns` (``peak_date, trough_date, recovery_date,
    depth, days_to_trough, days_to_recover``), deepest first: an episode runs from a running
    peak (DD = 0) through the dates under water to the next peak (its recovery)."""
    drawdown = history.levels / np.maximum.accumulate(history.levels) - 1.0
    at_peak = drawdown >= 0.0
    under = np.flatnonzero(~at_peak)
    if under.size == 0:
        return []
    peaks = np.flatnonzero(at_peak)
    # episode e (1, 2, ...) starts at the e-th peak; its dates under water are contiguous
    episode = np.cumsum(at_peak)[under]
    starts = np.flatnonzero(np.diff(episode, prepend=-1))
    sizes = np.diff(np.append(starts, under.size))
    depth = np.minimum.reduceat(drawdown[under], starts)
    deepest = np.flatnonzero(drawdown[under] == np.repeat(depth, sizes))
    trough = under[deepest[np.searchsorted(deepest, starts)]]  # the earliest of equal minima
    number = episode[starts]
    peak = peaks[number - 1]
    recovery = np.where(number < peaks.size, peaks[np.minimum(number, peaks.size - 1)], -1)
    episodes = sorted(range(starts.size), key=lambda k: (float(depth[k]), int(history.days[peak[k]])))[:count]
    dates = history.dates
    rows = []
    for k in episodes:
        peak_date, trough_date = dates[int(peak[k])], dates[int(trough[k])]
        recovery_date = dates[int(recovery[k])] if recovery[k] >= 0 else None
        rows.append({"peak_date": peak_date, "trough_date": trough_date, "recovery_date": recovery_date,
                     "depth": float(depth[k]), "days_to_trough": (trough_date - peak_date).days,
                     "days_to_recover": (recovery_date - peak_date).days if recovery_date else None})
    return rows
