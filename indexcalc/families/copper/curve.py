"""The copper strategy's curve: M1, M2 (held), M3 and the prices the simulation needs, one row
per business day of the root (:mod:`indexcalc.families.copper.compute` for the contract rules)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, SpecError
from indexcalc.keyed_prices import business_days
from indexcalc.first_notice import first_notice_day
from indexcalc.rolls import roll_schedule
from indexcalc.specs.base import FirstNoticeRoll


def copper_curve(market: MarketData, root: str, rule: FirstNoticeRoll) -> pl.DataFrame:
    """One row per business day of ``root``: ``date, held, held_settle, carried_settle,
    previous_settle, front, front_settle, front_return, second_settle, next, next_settle, roll``.

    ``held``: the contract held at the close (``roll_schedule``); ``carried_settle``: today's settle
    of the contract held at the previous close, ``previous_settle`` its settle at that close (their
    difference is the position's price change); ``front``/``second``: M1/M2 (module docstring);
    ``next``: the first such contract after ``held`` (M3); ``front_return``: ln of M1's (as of the
    previous close) settle change; ``roll``: the held contract changed at this close.
    A held contract without a settle on the next business day is a market disruption (DataError).
    """
    if root not in market.instruments:
        raise SpecError("no instrument definition for the copper strategy's root", key=f"root {root}")
    # The roll engine filters prices by root on every call: hand it this root's prices only.
    market = replace(market, prices=market.prices.filter(pl.col("root") == root), held=None)
    days = business_days(market.prices, [root]).select("date", "day_index")
    if days.is_empty():
        raise DataError("no prices for the copper strategy's root", file=market.source or None, key=f"root {root}")
    held = roll_schedule(market, rule, [root]).select("date", pl.col("contract").alias("held"))
    notices = first_notice_day(market, [root], horizon_business_days=rule.days_before).select(
        "contract", (pl.col("first_notice_index") - rule.days_before).alias("roll_index")
    )
    prices = market.prices.lazy().filter(pl.col("settle") > 0).select("date", "contract", "settle")
    ranked = (
        prices.join(notices.lazy(), on="contract")
        .join(days.lazy(), on="date")
        .filter(pl.col("roll_index").is_null() | (pl.col("roll_index") > pl.col("day_index")))
        .join(held.lazy(), on="date", how="left")
        .sort("date", "contract")
        .group_by("date")
        .agg(
            pl.col("contract").first().alias("front"),
            pl.col("settle").first().alias("front_settle"),
            pl.col("settle").get(1, null_on_oob=True).alias("second_settle"),
            pl.col("contract").filter(pl.col("contract") > pl.col("held")).first().alias("next"),
            pl.col("settle").filter(pl.col("contract") > pl.col("held")).first().alias("next_settle"),
        )
    )

    def settle_of(contract: str, name: str) -> pl.LazyFrame:
        return prices.rename({"contract": contract, "settle": name})

    frame = (
        days.lazy()
        .join(held.lazy(), on="date", how="left")
        .join(ranked, on="date", how="left")
        .sort("date")
        .with_columns(
            pl.col("held").shift(1).alias("previous_held"),
            pl.col("front").shift(1).alias("previous_front"),
        )
        .join(settle_of("held", "held_settle"), on=["date", "held"], how="left")
        .join(settle_of("previous_held", "carried_settle"), on=["date", "previous_held"], how="left")
        .join(settle_of("previous_front", "front_today"), on=["date", "previous_front"], how="left")
        .sort("date")
        .with_columns(
            pl.col("held_settle").shift(1).alias("previous_settle"),
            (pl.col("front_today") / pl.col("front_settle").shift(1)).log().alias("front_return"),
            (pl.col("held") != pl.col("previous_held")).fill_null(False).alias("roll"),
        )
        .collect()
    )
    missing = frame.filter(pl.col("held_settle").is_null() | (pl.col("previous_held").is_not_null() & pl.col("carried_settle").is_null()))
    if missing.height:
        row = missing.row(0, named=True)
        contract = row["held"] if row["held_settle"] is None else row["previous_held"]
        raise DataError(
            "held contract has no settlement (market disruption)",
            file=market.source or None,
            key=f"root {root}, contract {contract}, date {row['date']}",
        )
    return frame.select(
        "date", "held", "held_settle", "carried_settle", "previous_settle", "front", "front_settle",
        "front_return", "second_settle", "next", "next_settle", "roll",
    )

