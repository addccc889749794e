"""Linked single-commodity series: excess return, total return, carry (DESIGN.md section 2).

    build_series(market: MarketData, rule: RollRule = WindowRoll(), roots: list[str] | None = None,
                 disruption: Literal["error", "carry_forward"] = "error") -> pl.DataFrame
        columns ``date, root, level, daily_return, tr_level, carry, held_contracts, disrupted``:
        ``level`` the linked excess-return level (100 on each root's first date),
        ``daily_return`` ER_ret (fraction), ``tr_level`` the total-return level (100 on the first
        date), ``carry`` annualised roll yield (fraction, positive in backwardation),
        ``held_contracts`` e.g. "202403:0.6 202405:0.4" (weights held at that close),
        ``disrupted`` True where a price was carried forward. Sorted by root, date.

    collateral_returns(rates: pl.DataFrame, dates: pl.Series) -> pl.DataFrame
        ``date, collateral_return``: TBR_t = (1 / (1 - 91/360 * TB_{t-1}))^(days(t-1,t)/91) - 1
        on the given dates (0 on the first).

Formulas (DESIGN.md section 2), for a root with business days ... t-1, t (its own dates):

    ER_ret_t = sum_c w_{c,t-1} F_{c,t} / sum_c w_{c,t-1} F_{c,t-1} - 1       (fraction)
    ER_t     = ER_{t-1} (1 + ER_ret_t),  ER = 100 on the root's first date   (index points)
    TBR_t    = (1 / (1 - 91/360 TB_{t-1}))^(days(t-1, t) / 91) - 1           (fraction)
    TR_t     = TR_{t-1} (1 + ER_ret_t + TBR_t),  TR = 100 on the first date  (index points)
    carry_t  = (ln F_{c1,t} - ln F_{c2,t}) * 12 / m                          (annualised)

``w`` are the roll weights of :func:`indexcalc.rolls.roll_schedule`, ``F`` settlement prices,
``TB_{t-1}`` the 3-month T-bill discount yield known on t-1 (latest rate on or before t-1),
``days`` calendar days. Carry uses the two nearest hold-cycle contracts priced on t (c1 < c2,
``m`` months apart); for the data roll, the data's held contract on t and the next later priced
contract. Carry is null where fewer than two such contracts are priced.

Market disruption: a contract held at the close of t-1 (weight > 0) without a positive settle
on t or on t-1 stops the run with a DataError naming root, contract and date; with
``disruption="carry_forward"`` its last positive settle (on or before that date) is used and the
row of t is flagged ``disrupted``.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, SpecError
from indexcalc.rolls import (
    MONTHS_PER_YEAR,
    contract_month_index,
    day_key,
    indexed_prices,
    KEY_SCALE,
    lookup_settle,
    month_mask,
    schedule_from_prices,
    select_roots,
)
from indexcalc.specs.base import DataRoll, RollRule, WindowRoll

SERIES_BASE_LEVEL = 100.0
"""ER and TR level of every root on its first date (index points)."""

TBILL_MATURITY_DAYS = 91
"""Term of the 3-month T-bill in the discount formula (days)."""

TBILL_DAY_COUNT = 360
"""Money-market day count of the T-bill discount yield."""

SERIES_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "root": pl.String(),
    "level": pl.Float64(),
    "daily_return": pl.Float64(),
    "tr_level": pl.Float64(),
    "carry": pl.Float64(),
    "held_contracts": pl.String(),
    "disrupted": pl.Boolean(),
}

Disruption = Literal["error", "carry_forward"]


def build_series(
    market: MarketData,
    rule: RollRule = WindowRoll(),
    roots: list[str] | None = None,
    disruption: Disruption = "error",
) -> pl.DataFrame:
    """Linked ER, TR, carry and held contracts per root and business day (see module doc)."""
    if disruption not in ("error", "carry_forward"):
        raise SpecError(f"disruption must be 'error' or 'carry_forward', got {disruption!r}")
    selected = select_roots(market, roots)
    indexed = indexed_prices(market.prices, selected, market.source)
    schedule = schedule_from_prices(market, rule, selected, indexed).with_columns(
        day_key(selected).alias("day_key")
    )
    days = (
        schedule.filter((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True))
        .select("root", "date", "day_key")
        .with_columns(pl.col("date").shift(1).over("root").alias("previous_date"))
    )
    returns = _excess_returns(schedule, days, indexed, disruption, market.source)
    collateral = _collateral_on(market.rates, days.select("date", "previous_date").unique(), market.source)
    carry = _carry(market, indexed, selected, rule)
    held = held_contracts_text(schedule)
    return (
        days.lazy()
        .join(returns.lazy(), on="day_key", how="left")
        .join(collateral.lazy(), on=["date", "previous_date"], how="left", nulls_equal=True)
        .join(carry.lazy(), on="day_key", how="left")
        .join(held.lazy(), on="day_key", how="left")
        .sort("day_key")
        .with_columns(
            pl.col("daily_return").fill_null(0.0),
            pl.col("disrupted").fill_null(False),
        )
        .with_columns(
            (SERIES_BASE_LEVEL * (1.0 + pl.col("daily_return")).cum_prod().over("root")).alias("level"),
            (
                SERIES_BASE_LEVEL
                * (1.0 + pl.col("daily_return") + pl.col("collateral_return")).cum_prod().over("root")
            ).alias("tr_level"),
        )
        .select(SERIES_SCHEMA.keys())
        .cast(SERIES_SCHEMA)
        .collect()
    )


def _excess_returns(
    schedule: pl.DataFrame,
    days: pl.DataFrame,
    indexed: pl.DataFrame,
    disruption: Disruption,
    source: str,
) -> pl.DataFrame:
    """``day_key, daily_return, disrupted`` for every date after a root's first one."""
    # The weights held at the close of t-1 earn the price change from t-1 to t.
    next_day = days.select(
        "day_key",
        pl.col("day_key").shift(-1).alias("next_day_key"),
        pl.col("date").shift(-1).alias("next_date"),
    ).filter(pl.col("next_day_key") // KEY_SCALE == pl.col("day_key") // KEY_SCALE)
    positions = schedule.join(next_day, on="day_key").select(
        "root",
        pl.col("next_date").alias("date"),
        pl.col("date").alias("previous_date"),
        pl.col("next_day_key").alias("day_key"),
        "contract",
        "weight",
        (pl.col("next_day_key") * KEY_SCALE + pl.col("contract")).alias("key_now"),
        (pl.col("day_key") * KEY_SCALE + pl.col("contract")).alias("key_before"),
    )
    positions = positions.with_columns(
        lookup_settle(indexed, positions.get_column("key_now")).alias("settle_now"),
        lookup_settle(indexed, positions.get_column("key_before")).alias("settle_before"),
    )
    broken = positions.filter(_not_positive("settle_now") | _not_positive("settle_before"))
    if broken.height and disruption == "error":
        missing_on = pl.when(_not_positive("settle_before")).then(pl.col("previous_date")).otherwise(pl.col("date"))
        root, date, contract = (
            broken.select("root", missing_on.alias("date"), "contract").sort("date", "root", "contract").row(0)
        )
        raise DataError(
            "market disruption: held contract has no positive settlement",
            file=source or None,
            key=f"root {root}, contract {contract}, date {date}",
        )
    if broken.height:
        positions = _carry_prices_forward(positions, indexed, source)
    else:
        positions = positions.with_columns(pl.lit(False).alias("disrupted"))
    return positions.group_by("day_key").agg(
        (
            (pl.col("weight") * pl.col("settle_now")).sum() / (pl.col("weight") * pl.col("settle_before")).sum()
            - 1.0
        ).alias("daily_return"),
        pl.col("disrupted").any(),
    )


def _not_positive(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column) <= 0)


def _carry_prices_forward(positions: pl.DataFrame, indexed: pl.DataFrame, source: str) -> pl.DataFrame:
    """Replace missing or non-positive settles by the contract's last positive settle on or
    before the same date, and flag those rows ``disrupted``."""
    known = indexed.filter(pl.col("settle") > 0).select("date", "root", "contract", "settle").sort("date")
    for date_column, settle_column in (("date", "settle_now"), ("previous_date", "settle_before")):
        positions = positions.sort(date_column).join_asof(
            known.rename({"date": date_column, "settle": f"{settle_column}_known"}),
            on=date_column,
            by=["root", "contract"],
            strategy="backward",
            check_sortedness=False,
        )
    positions = positions.with_columns(
        (_not_positive("settle_now") | _not_positive("settle_before")).alias("disrupted"),
        pl.col("settle_now_known").alias("settle_now"),
        pl.col("settle_before_known").alias("settle_before"),
    )
    unfilled = positions.filter(pl.col("settle_now").is_null() | pl.col("settle_before").is_null())
    if unfilled.height:
        missing_on = pl.when(pl.col("settle_before").is_null()).then(pl.col("previous_date")).otherwise(pl.col("date"))
        root, date, contract = unfilled.select("root", missing_on.alias("date"), "contract").sort("date").row(0)
        raise DataError(
            "market disruption with no earlier settlement to carry forward",
            file=source or None,
            key=f"root {root}, contract {contract}, date {date}",
        )
    return positions.drop("settle_now_known", "settle_before_known")


def _collateral_on(rates: pl.DataFrame, steps: pl.DataFrame, source: str) -> pl.DataFrame:
    """``date, previous_date, collateral_return``: TBR for each step previous_date -> date.

    TB is the latest rate on or before ``previous_date``; 0 on a first date (no previous date)
    and everywhere when ``rates`` is empty; a step before the first rate is a DataError.
    """
    if rates.height == 0:
        return steps.with_columns(pl.lit(0.0).alias("collateral_return"))
    known = rates.select("date", "tbill").drop_nulls().sort("date")
    frame = steps.sort("previous_date").join_asof(
        known.rename({"date": "rate_date"}), left_on="previous_date", right_on="rate_date", strategy="backward"
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
        "date",
        "previous_date",
        pl.when(pl.col("previous_date").is_null()).then(0.0).otherwise(bill_return).alias("collateral_return"),
    )


def collateral_returns(rates: pl.DataFrame, dates: pl.Series) -> pl.DataFrame:
    """``date, collateral_return`` on the sorted unique ``dates`` (DESIGN.md section 2):

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
    return _collateral_on(rates, steps, "").sort("date").select("date", "collateral_return")


def _carry(market: MarketData, indexed: pl.DataFrame, roots: list[str], rule: RollRule) -> pl.DataFrame:
    """``day_key, carry``: annualised log spread of the two nearest contracts (module doc)."""
    priced = indexed.lazy().filter(pl.col("settle") > 0)
    if isinstance(rule, DataRoll):
        held = market.held.lazy().select(
            day_key(roots).alias("day_key"), pl.col("contract").alias("held_contract")
        ).drop_nulls("day_key")
        near = (
            priced.join(held, on="day_key")
            .filter(pl.col("contract") >= pl.col("held_contract"))
            .sort("price_key")
        )
        near_is_held = pl.col("contract") == pl.col("held_contract")
    else:
        instruments = [market.instruments[root] for root in roots]
        near = priced.filter(month_mask(roots, {i.root: i.hold_month_numbers for i in instruments}))
        near_is_held = pl.lit(True)
    same_day_next = pl.col("day_key").shift(-1) == pl.col("day_key")
    months = contract_month_index(pl.col("contract").shift(-1)) - contract_month_index(pl.col("contract"))
    spread = (pl.col("settle").log() - pl.col("settle").shift(-1).log()) * MONTHS_PER_YEAR / months
    return (
        near.select("day_key", pl.when(same_day_next & near_is_held).then(spread).alias("carry"))
        .filter((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True))
        .collect()
    )


def held_contracts_text(schedule: pl.DataFrame) -> pl.DataFrame:
    """``root, date, held_contracts``: e.g. ``"202403:0.8 202405:0.2"`` (weights at the close,
    contracts with weight > 0 in contract order, weights rounded to 6 decimals, 1 as ``1``).

    ``schedule`` is a roll schedule (sorted by root, date, contract) with ``day_key``."""
    frame = schedule.filter(pl.col("weight") > 0).select(
        "root",
        "date",
        "day_key",
        pl.concat_str(
            pl.col("contract").cast(pl.String),
            pl.lit(":"),
            pl.col("weight").round(6).cast(pl.String).str.strip_suffix(".0"),
        ).alias("held_contracts"),
    )
    # Contracts held at one close are consecutive rows: append the following rows of the same day
    # (a loop over the largest number of contracts held at once, not over days).
    widest = frame.group_by("day_key").len().get_column("len").max() or 1
    text = pl.col("held_contracts")
    for ahead in range(1, widest):
        text = text + pl.when(pl.col("day_key").shift(-ahead) == pl.col("day_key")).then(
            pl.lit(" ") + pl.col("held_contracts").shift(-ahead)
        ).otherwise(pl.lit(""))
    return frame.with_columns(text.alias("held_contracts")).filter(
        (pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True)
    ).select("day_key", "held_contracts")
