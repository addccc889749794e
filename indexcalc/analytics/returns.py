"""Return statistics of an index level (docs/design.md section 5): daily returns, annualised
return and volatility, Sharpe and Sortino ratios, period, calendar-year, monthly and rolling
returns, the correlation of two indexes. The conventions are those of :mod:`indexcalc.analytics`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math

import polars as pl

TRADING_DAYS_PER_YEAR = 252
"""Business days per year used to annualise daily statistics."""

PERIODS: tuple[tuple[str, int | None, bool], ...] = (
    ("1M", 1, False),
    ("3M", 3, False),
    ("YTD", None, False),
    ("1Y", 12, False),
    ("3Y", 36, True),
    ("5Y", 60, True),
    ("10Y", 120, True),
    ("Since inception", None, True),
)
"""The performance-table periods: label, length in calendar months (None: see
:func:`period_returns`), and whether the figure shown is annualised."""


def daily_returns(levels: pl.DataFrame) -> pl.DataFrame:
    """``date, daily_return`` with ``r_t = L_t / L_{t-1} - 1`` for every date after the first."""
    return (
        levels.sort("date")
        .select("date", (pl.col("level") / pl.col("level").shift(1) - 1.0).alias("daily_return"))
        .slice(1)
    )


def _excess_returns(levels: pl.DataFrame, risk_free: pl.DataFrame | None) -> pl.Series:
    """Daily returns minus the risk-free daily return of the same date (0 when ``risk_free`` is
    None). ``risk_free``: ``date, collateral_return``; every return date must be present."""
    returns = daily_returns(levels)
    if risk_free is None:
        return returns.get_column("daily_return")
    joined = returns.join(risk_free.select("date", "collateral_return"), on="date", how="left")
    missing = joined.filter(pl.col("collateral_return").is_null())
    if missing.height:
        raise ValueError(f"no risk-free return on {missing.get_column('date')[0]}")
    return joined.select(pl.col("daily_return") - pl.col("collateral_return")).to_series()


def annualised_return(levels: pl.DataFrame, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float | None:
    """Geometric annualised return ``(L_N / L_0) ^ (periods_per_year / N) - 1`` (fraction).

    ``L_0`` is the first level, ``L_N`` the last, N the number of daily returns between them.
    None with fewer than two levels.
    """
    count = levels.height - 1
    if count < 1:
        return None
    ordered = levels.sort("date").get_column("level")
    return (ordered[-1] / ordered[0]) ** (periods_per_year / count) - 1.0


def annualised_volatility(levels: pl.DataFrame, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> float | None:
    """``stdev(r) * sqrt(periods_per_year)``: sample standard deviation (ddof 1) of the daily
    returns, annualised (fraction). None with fewer than two returns."""
    returns = daily_returns(levels).get_column("daily_return")
    if returns.len() < 2:
        return None
    return float(returns.std(ddof=1)) * math.sqrt(periods_per_year)


def sharpe_ratio(
    levels: pl.DataFrame,
    risk_free: pl.DataFrame | None = None,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float | None:
    """``mean(x) / stdev(x) * sqrt(periods_per_year)`` with ``x_t = r_t - rf_t``.

    The annualised arithmetic mean excess return over the annualised volatility (ddof 1).
    ``rf`` = 0 for an excess-return index (its returns are already over collateral); pass the
    collateral returns (``date, collateral_return``) for a total-return index. None when the
    volatility is 0 or there are fewer than two returns.
    """
    excess = _excess_returns(levels, risk_free)
    if excess.len() < 2:
        return None
    deviation = float(excess.std(ddof=1))
    if deviation == 0.0:
        return None
    return float(excess.mean()) / deviation * math.sqrt(periods_per_year)


def sortino_ratio(
    levels: pl.DataFrame,
    risk_free: pl.DataFrame | None = None,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float | None:
    """``mean(x) * periods_per_year / (DD * sqrt(periods_per_year))`` with ``x_t = r_t - rf_t``.

    Downside deviation ``DD = sqrt( sum_t min(x_t, 0)^2 / N )``: the target is 0 and the sum of
    squared shortfalls is divided by the number N of all returns (not only the negative ones).
    ``rf`` as in :func:`sharpe_ratio`. None when no return is negative.
    """
    excess = _excess_returns(levels, risk_free)
    if excess.len() < 1:
        return None
    downside = math.sqrt(float((excess.clip(upper_bound=0.0) ** 2).mean()))
    if downside == 0.0:
        return None
    return float(excess.mean()) * periods_per_year / (downside * math.sqrt(periods_per_year))


def level_on_or_before(levels: pl.DataFrame, day: dt.date) -> tuple[dt.date, float] | None:
    """The last ``(date, level)`` on or before ``day``; None if ``day`` precedes the first date.
    ``levels`` sorted by date."""
    dates = levels.get_column("date")
    position = int(dates.search_sorted(day, side="right")) - 1
    if position < 0:
        return None
    return dates[position], levels.get_column("level")[position]


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier, clamped to the month's end
    (2024-03-31 minus 1 month = 2024-02-29)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def period_returns(levels: pl.DataFrame, periods_per_year: int = TRADING_DAYS_PER_YEAR) -> pl.DataFrame:
    """Performance as of the last date T: ``period, start_date, period_return, annualised``.

    - ``1M``, ``3M``, ``1Y`` (n calendar months): ``L_T / L_s - 1`` where ``s`` is the last date
      on or before T minus n months (:func:`months_before`);
    - ``3Y``, ``5Y``, ``10Y``: the same with n = 36, 60, 120 months, annualised: ``(L_T / L_s) ^ (1 / years) - 1``;
    - ``YTD``: ``L_T / L_s - 1`` with ``s`` the last date of the previous calendar year, or the
      first date if the index started in T's year;
    - ``Since inception``: :func:`annualised_return` over the whole history (252-day convention).

    ``period_return`` is null when the history is shorter than the period (T minus n months
    precedes the first date).
    """
    ordered = levels.sort("date")
    rows: list[dict] = []
    if ordered.height == 0:
        return pl.DataFrame(schema={"period": pl.String, "start_date": pl.Date, "period_return": pl.Float64,
                                    "annualised": pl.Boolean})
    last_date, last_level = ordered.row(-1, named=True)["date"], ordered.row(-1, named=True)["level"]
    first_date = ordered.get_column("date")[0]
    for label, months, annualised in PERIODS:
        start: tuple[dt.date, float] | None
        if label == "YTD":
            start = level_on_or_before(ordered, dt.date(last_date.year - 1, 12, 31))
            if start is None:
                start = (first_date, ordered.get_column("level")[0])
        elif label == "Since inception":
            rows.append({"period": label, "start_date": first_date,
                         "period_return": annualised_return(ordered, periods_per_year), "annualised": True})
            continue
        else:
            start = level_on_or_before(ordered, months_before(last_date, months))
        value = None
        if start is not None:
            value = last_level / start[1] - 1.0
            if annualised:
                value = (1.0 + value) ** (12.0 / months) - 1.0
        rows.append({"period": label, "start_date": start[0] if start else None, "period_return": value,
                     "annualised": annualised})
    return pl.DataFrame(rows, schema={"period": pl.String, "start_date": pl.Date, "period_return": pl.Float64,
                                      "annualised": pl.Boolean})


def _returns_by_period(levels: pl.DataFrame, keys: list[pl.Expr], names: list[str]) -> pl.DataFrame:
    """Return of each calendar period: last level of the period over the last level before it
    (the first level for the first period). ``start_date`` is that reference date."""
    ordered = levels.sort("date").with_columns(
        pl.col("date").shift(1).alias("previous_date"), pl.col("level").shift(1).alias("previous_level")
    )
    return (
        ordered.slice(1)
        .with_columns([key.alias(name) for key, name in zip(keys, names)])
        .group_by(names, maintain_order=True)
        .agg(
            pl.col("previous_date").first().alias("start_date"),
            pl.col("date").last().alias("end_date"),
            (pl.col("level").last() / pl.col("previous_level").first() - 1.0).alias("period_return"),
        )
        .sort(names)
    )


def calendar_year_returns(levels: pl.DataFrame) -> pl.DataFrame:
    """``year, start_date, end_date, year_return``: ``L_{end} / L_{start} - 1`` where ``end`` is
    the year's last date and ``start`` the last date of the previous year (the first date for
    the first year; so the first and the current year may be partial)."""
    frame = _returns_by_period(levels, [pl.col("date").dt.year()], ["year"])
    return frame.rename({"period_return": "year_return"})


def monthly_returns(levels: pl.DataFrame) -> pl.DataFrame:
    """``year, month, start_date, end_date, monthly_return``: ``L_{end} / L_{start} - 1`` with
    ``end`` the month's last date and ``start`` the last date before the month."""
    frame = _returns_by_period(levels, [pl.col("date").dt.year(), pl.col("date").dt.month()], ["year", "month"])
    return frame.rename({"period_return": "monthly_return"})


def rolling_return(levels: pl.DataFrame, months: int = 12) -> pl.DataFrame:
    """``date, rolling_return``: ``L_t / L_s - 1`` with ``s`` the last date on or before t minus
    ``months`` calendar months; null while t minus ``months`` precedes the first date."""
    ordered = levels.sort("date").select("date", "level")
    first_date = ordered.get_column("date")[0] if ordered.height else None
    lookback = ordered.with_columns(pl.col("date").dt.offset_by(f"-{months}mo").alias("reference_date"))
    history = ordered.select(pl.col("date").alias("history_date"), pl.col("level").alias("reference_level"))
    joined = lookback.join_asof(history, left_on="reference_date", right_on="history_date", strategy="backward")
    return joined.select(
        "date",
        pl.when(pl.col("reference_date") >= first_date)
        .then(pl.col("level") / pl.col("reference_level") - 1.0)
        .otherwise(None)
        .alias("rolling_return"),
    )


def return_correlation(levels: pl.DataFrame, other: pl.DataFrame) -> float | None:
    """Pearson correlation of the two indexes' daily returns on their common dates (each return
    computed on its own index's consecutive dates). None with fewer than three common dates."""
    joined = daily_returns(levels).join(daily_returns(other), on="date", how="inner", suffix="_other")
    if joined.height < 3:
        return None
    value = joined.select(pl.corr("daily_return", "daily_return_other")).item()
    return None if value is None or math.isnan(value) else float(value)


def best_and_worst_month(monthly: pl.DataFrame) -> dict[str, dict | None]:
    """``{"best": row, "worst": row}`` of :func:`monthly_returns` (``year, month,
    monthly_return``): the month with the highest and the lowest return (the earliest on a
    tie); None each without a monthly return. The first month runs from the base date, so it
    may be partial."""
    known = monthly.filter(pl.col("monthly_return").is_not_null()).sort(["year", "month"])
    if known.height == 0:
        return {"best": None, "worst": None}
    returns = known.get_column("monthly_return")
    return {"best": known.row(int(returns.arg_max()), named=True),
            "worst": known.row(int(returns.arg_min()), named=True)}


