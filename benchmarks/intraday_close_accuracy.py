"""Accuracy of daily closes taken from pysystemtrade's files, per year, against exchange settlements.

    python3 benchmarks/intraday_close_accuracy.py [--data ../shared/data] [--first 2008] [--last 2023]

For WTI (CRUDE_W), Brent (BRENT_W) and natural gas (GAS_US): the series of the pysystemtrade
folder alone (``read_pysystemtrade``, so whatever close rule the importer implements; data roll,
disruptions carried forward) gives on each day t the held contract's return close-to-close from
t-1 (the previous series date). The settlement return of the same contract over the same two
dates comes from the generic-tenor settlement file (``read_tenor_market``). Printed per year:
the correlation of the two returns and the number of days where the settlement file prices
the contract on both dates. Nothing is written; the data are read from ``--data``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from indexcalc.data.pysystemtrade import read_pysystemtrade
from indexcalc.data.tenors import read_tenor_market
from indexcalc.series import build_series
from indexcalc.specs import DataRoll

ROOTS = ["CRUDE_W", "BRENT_W", "GAS_US"]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def held_returns(series: pl.DataFrame) -> pl.DataFrame:
    """``date, previous, root, contract, daily_return``: the contract held at the close of the
    previous date (a data roll holds one contract) and the series return on ``date``."""
    return (
        series.sort("root", "date")
        .with_columns(
            pl.col("held_contracts").str.split(":").list.first().cast(pl.Int32).shift(1).over("root").alias("contract"),
            pl.col("date").shift(1).over("root").alias("previous"),
        )
        .drop_nulls("previous")
        .select("date", "previous", "root", "contract", "daily_return")
    )


def with_settlement_returns(returns: pl.DataFrame, settlements: pl.DataFrame) -> pl.DataFrame:
    """``returns`` where the settlements price the contract on both dates, with
    ``settlement_return`` = S(date) / S(previous) - 1."""
    prices = settlements.select("date", "root", "contract", "settle")
    return (
        returns.join(prices, on=["date", "root", "contract"])
        .join(prices.rename({"date": "previous", "settle": "previous_settle"}), on=["previous", "root", "contract"])
        .with_columns((pl.col("settle") / pl.col("previous_settle") - 1).alias("settlement_return"))
    )


def yearly_correlation(compared: pl.DataFrame, first: int, last: int) -> pl.DataFrame:
    """``year`` and per root the correlation and the day count (``ROOT_days``)."""
    per_year = (
        compared.filter(pl.col("date").dt.year().is_between(first, last))
        .group_by(pl.col("date").dt.year().alias("year"), "root")
        .agg(pl.corr("daily_return", "settlement_return").alias("correlation"), pl.len().alias("days"))
    )
    correlation = per_year.pivot(on="root", index="year", values="correlation")
    days = per_year.pivot(on="root", index="year", values="days").rename({root: f"{root}_days" for root in ROOTS})
    columns = [name for root in ROOTS for name in (root, f"{root}_days")]
    return correlation.join(days, on="year").select("year", *columns).sort("year")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with pysystemtrade/ and real/")
    parser.add_argument("--first", type=int, default=2008)
    parser.add_argument("--last", type=int, default=2023)
    arguments = parser.parse_args()

    market = read_pysystemtrade(arguments.data / "pysystemtrade")
    series = build_series(market, DataRoll(), roots=ROOTS, disruption="carry_forward")
    real = arguments.data / "real"
    settlements = read_tenor_market(
        real / "energy_settlements.csv", real / "contract_expiries.csv", instruments=market.instruments
    ).market.prices
    compared = with_settlement_returns(held_returns(series), settlements)
    table = yearly_correlation(compared, arguments.first, arguments.last)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=3, tbl_hide_dataframe_shape=True):
        print(table)
    overall = compared.filter(pl.col("date").dt.year().is_between(arguments.first, arguments.last))
    for root in ROOTS:
        rows = overall.filter(pl.col("root") == root)
        correlation = rows.select(pl.corr("daily_return", "settlement_return")).item()
        print(f"{root}: {rows.height} days, correlation {correlation:.3f}")


if __name__ == "__main__":
    main()
