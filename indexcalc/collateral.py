"""Collateral return of the total-return series: the 3-month T-bill earned between two
business days (docs/design.md section 2).

    TBR_t = (1 / (1 - 91/360 TB_{t-1}))^(days(t-1, t) / 91) - 1           (fraction)

``TB_{t-1}`` the 3-month T-bill discount yield known on t-1 (latest rate on or before t-1),
``days`` calendar days.
"""

from __future__ import annotations

import polars as pl

from indexcalc.errors import DataError


TBILL_MATURITY_DAYS = 91
"""Term of the 3-month T-bill in the discount formula (days)."""


TBILL_DAY_COUNT = 360
"""Money-market day count of the T-bill discount yield."""


def collateral_on(rates: pl.DataFrame, steps: pl.DataFrame, source: str) -> pl.Series:
    """TBR for each row ``previous_date -> date`` of ``steps`` (in its order), as a Series.

    TB is the latest rate on or before ``previous_date``; 0 on a first date (no previous date)
    and everywhere when ``rates`` is empty; a step before the first rate is a DataError.
    """
    if rates.height == 0:
        return pl.Series("collateral_return", [0.0] * steps.height, dtype=pl.Float64)
    known = rates.select("date", "tbill").drop_nulls().sort("date")
    previous = steps.get_column("previous_date")
    # Binary search for the latest rate on or before t-1 (-1: none).
    position = known.get_column("date").search_sorted(previous.fill_null(strategy="zero"), side="right").cast(
        pl.Int64
    ) - 1
    frame = steps.select("date", "previous_date").with_columns(
        pl.when(position >= 0).then(known.get_column("tbill").gather(position.clip(0))).alias("tbill")
    )
    missing = frame.filter(pl.col("previous_date").is_not_null() & pl.col("tbill").is_null())
    if missing.height:
        raise DataError(
            "no T-bill rate on or before this date (needed for the total return)",
            file=source or None,
            key=f"date {missing.get_column('previous_date').min()}",
        )
    days = (pl.col("date") - pl.col("previous_date")).dt.total_days()
    bill_return = (1.0 / (1.0 - TBILL_MATURITY_DAYS / TBILL_DAY_COUNT * pl.col("tbill"))).pow(
        days / TBILL_MATURITY_DAYS
    ) - 1.0
    return frame.select(
        pl.when(pl.col("previous_date").is_null()).then(0.0).otherwise(bill_return).alias("collateral_return")
    ).to_series()


def collateral_returns(rates: pl.DataFrame, dates: pl.Series) -> pl.DataFrame:
    """``date, collateral_return`` on the sorted unique ``dates`` (docs/design.md section 2):

        TBR_t = (1 / (1 - 91/360 * TB_{t-1}))^(days(t-1, t) / 91) - 1     (fraction)

    with t-1 the previous date of ``dates``, TB_{t-1} the latest T-bill discount yield on or
    before t-1 and days calendar days; 0 on the first date. Empty ``rates`` give 0 collateral;
    otherwise a date with no rate on or before its previous date is a DataError.
    """
    steps = (
        pl.DataFrame({"date": dates.cast(pl.Date)})
        .unique()
        .sort("date")
        .with_columns(pl.col("date").shift(1).alias("previous_date"))
    )
    return steps.select("date").with_columns(collateral_on(rates, steps, ""))
