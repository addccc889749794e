"""The data roll (docs/design.md section 2): the index follows the contract the imported data
names (``market.held``), at the first close where that contract has a settlement.
"""

from __future__ import annotations

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import DataError
from indexcalc.keyed_prices import KEY_SCALE, day_key, lookup_settle


def data_roll_targets(market: MarketData, roots: list[str], indexed: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """The data roll, day by day (module doc): ``root, date, day_key, file_contract, contract``.

    ``file_contract`` is the contract the data holds on the next business day (on a root's last
    day, the one it holds that day; the last held contract named on or before a day counts
    for it), ``contract`` the one the index holds at the close (null before the root's first
    close where ``file_contract`` is priced):

        contract_t = file_contract_t   if settle(file_contract_t, t) exists
                     contract_{t-1}    otherwise

    ``indexed`` from :func:`indexcalc.keyed_prices.indexed_prices`, ``days`` from
    :func:`indexcalc.keyed_prices.business_days` (both sorted by
    ``day_key``). Rows where the two differ are the closes where the index follows the data
    late (``data check`` counts them)."""
    if market.held is None:
        raise DataError(
            "the market has no held contracts (the data roll needs them, e.g. pysystemtrade's PRICE contract)",
            file=market.source or None,
        )
    held = market.held.lazy().select(day_key(roots).alias("day_key"), "contract").drop_nulls("day_key")
    named = (
        days.lazy()
        .select("root", "date", "day_key")
        .join(held, on="day_key", how="left")
        .sort("day_key")
        .with_columns(pl.col("contract").forward_fill().over("root"))
        # Rolling at the close of the day before the data's contract changes.
        .with_columns(pl.col("contract").shift(-1).over("root").fill_null(pl.col("contract")).alias("file_contract"))
        .drop("contract")
        .collect()
    )
    keys = named.select(pl.col("day_key") * KEY_SCALE + pl.col("file_contract").cast(pl.Int64)).to_series()
    priced = lookup_settle(indexed, keys.fill_null(-1)).is_not_null()
    return named.with_columns(priced.alias("priced")).select(
        "root",
        "date",
        "day_key",
        "file_contract",
        pl.when("priced").then(pl.col("file_contract")).forward_fill().over("root").alias("contract"),
    )


def data_schedule(market: MarketData, roots: list[str], indexed: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """Weight 1 on the contract :func:`data_roll_targets` holds at each close where it has one."""
    return (
        data_roll_targets(market, roots, indexed, days)
        .drop_nulls("contract")
        .with_columns(pl.lit(1.0).alias("weight"))
    )
