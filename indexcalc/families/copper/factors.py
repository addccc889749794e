"""Macro factor inputs of the copper strategy (issue 8, step 1; docs/design.md sections 1 and 6).

A macro series arrives in the long ``market.macro`` layout ``date, series, value`` where ``date``
is the day the value becomes known (its release date). On the strategy's business days ``t`` the
value known at the close of ``t`` is the latest value with ``date <= t`` (an as-of join, so a
monthly PMI is forward-filled from its release date and never used before it). The daily factor
is then, on consecutive business days ``t-1, t``::

    log_return:  f_t = ln(v_t / v_{t-1})          (USD index, LME on-warrant copper stocks)
    difference:  f_t = v_t - v_{t-1}              (China manufacturing PMI, index points)

so the PMI factor is zero except on the first business day on or after a release. The first
business day, and any day before a series' first known value, has a null factor.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from indexcalc.errors import DataError
from indexcalc.families.copper.spec import FactorSpec


def known_values(macro: pl.DataFrame, name: str, dates: pl.Series, *, source: str | None = None) -> pl.DataFrame:
    """``date, value``: the latest value of series ``name`` known at the close of each of ``dates``.

    ``macro`` is the long ``date, series, value`` frame. A missing series, a duplicated date or
    a null value is a :class:`DataError` naming the series (and date).
    """
    series = macro.filter(pl.col("series") == name).select("date", "value").sort("date")
    if series.is_empty():
        known = sorted(macro.get_column("series").unique().to_list())
        raise DataError(
            f"macro series missing (the copper strategy needs it); series present: {', '.join(known) or 'none'}",
            file=source,
            key=f"series {name}",
        )
    duplicated = series.filter(pl.col("date").is_duplicated())
    if duplicated.height:
        raise DataError("duplicated date in macro series", file=source, key=f"series {name}, date {duplicated['date'][0]}")
    missing = series.filter(pl.col("value").is_null() | pl.col("value").is_nan())
    if missing.height:
        raise DataError("missing value in macro series", file=source, key=f"series {name}, date {missing['date'][0]}")
    axis = pl.DataFrame({"date": dates}).cast({"date": pl.Date}).sort("date")
    return axis.join_asof(series, on="date", strategy="backward")


def factor_inputs(
    macro: pl.DataFrame,
    dates: pl.Series,
    factors: Sequence[FactorSpec],
    *,
    source: str | None = None,
) -> pl.DataFrame:
    """Daily factors on ``dates`` (the strategy's business days): ``date`` plus one Float64 column
    per factor, named after its series (formulas in the module docstring).

    A ``log_return`` series with a value <= 0 is a :class:`DataError` naming series and date.
    """
    frame = pl.DataFrame({"date": dates}).cast({"date": pl.Date}).unique().sort("date")
    columns = []
    for factor in factors:
        known = known_values(macro, factor.series, frame.get_column("date"), source=source)
        value = pl.col("value")
        if factor.transform == "log_return":
            non_positive = known.filter(value <= 0)
            if non_positive.height:
                raise DataError(
                    f"value {non_positive['value'][0]} is not positive (its log-return is the factor)",
                    file=source,
                    key=f"series {factor.series}, date {non_positive['date'][0]}",
                )
            change = (value / value.shift(1)).log()
        else:
            change = value - value.shift(1)
        columns.append(known.select(change.alias(factor.series)).to_series())
    return frame.with_columns(columns)
