"""Risk over trailing windows of 1, 3 and 5 years (docs/design.md section 5): the whole-history
formulas of :mod:`indexcalc.analytics.returns` and :mod:`indexcalc.analytics.drawdown` applied
to the window's levels only.
"""

from __future__ import annotations

import polars as pl

from indexcalc.analytics.drawdown import max_drawdown
from indexcalc.analytics.returns import (
    TRADING_DAYS_PER_YEAR,
    annualised_return,
    annualised_volatility,
    level_on_or_before,
    months_before,
    sharpe_ratio,
)


RISK_WINDOWS_YEARS: tuple[int, ...] = (1, 3, 5)
"""Trailing windows of the risk table, in years."""


def trailing_levels(levels: pl.DataFrame, months: int) -> pl.DataFrame | None:
    """The levels of the trailing ``months`` calendar months: from the last date on or before
    T minus ``months`` months (T the last date) to T. None when the history is shorter (T minus
    ``months`` months precedes the first date)."""
    ordered = levels.sort("date")
    if ordered.height == 0:
        return None
    last_date = ordered.get_column("date")[-1]
    start = level_on_or_before(ordered, months_before(last_date, months))
    if start is None:
        return None
    return ordered.filter(pl.col("date") >= start[0])


def trailing_risk(
    levels: pl.DataFrame,
    risk_free: pl.DataFrame | None = None,
    years: tuple[int, ...] = RISK_WINDOWS_YEARS,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> pl.DataFrame:
    """``years, start_date, annualised_return, annualised_volatility, sharpe, max_drawdown`` over
    each trailing window of n years (:func:`trailing_levels` with 12 n months): the same
    formulas as over the whole history (:func:`annualised_return`, :func:`annualised_volatility`,
    :func:`sharpe_ratio`, :func:`max_drawdown`) applied to the window's levels only, the
    window's first level being its reference (so its first return is the day after).
    Every figure is null when the history is shorter than the window."""
    rows = []
    for count in years:
        window = trailing_levels(levels, 12 * count)
        if window is None or window.height < 3:
            rows.append({"years": count, "start_date": None, "annualised_return": None,
                         "annualised_volatility": None, "sharpe": None, "max_drawdown": None})
            continue
        rows.append({
            "years": count,
            "start_date": window.get_column("date")[0],
            "annualised_return": annualised_return(window, periods_per_year),
            "annualised_volatility": annualised_volatility(window, periods_per_year),
            "sharpe": sharpe_ratio(window, risk_free, periods_per_year),
            "max_drawdown": max_drawdown(window).depth,
        })
    return pl.DataFrame(rows, schema={"years": pl.Int64, "start_date": pl.Date, "annualised_return": pl.Float64,
                                      "annualised_volatility": pl.Float64, "sharpe": pl.Float64,
                                      "max_drawdown": pl.Float64})
