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

Market disruption: a contract held at the close of t-1 (weight > 0) without a settle on t or on
t-1 stops the run with a DataError naming root, contract and date; with
``disruption="carry_forward"`` its last settle (on or before that date) is used and the row of
t is flagged ``disrupted``.

Zero and negative settlements (docs/design.md section 2; WTI May 2020 settled at -37.63 on
20 April 2020) are prices. A contract that is not held does not enter the return. A held
contract's settle enters the held value ``V_t = sum_c w_{c,t-1} F_{c,t}`` like any other; when
the held value at t or at t-1 is zero or negative the position is worth nothing: the position
is lost, as S&P DJI's April 2020 rule for its multi-commodity indices (a held contract settling
at zero or below is dropped at a loss of its whole value) and Bloomberg's May 2020 fallback of
closing a sub-index at zero::

    ER_ret_t = -1       if V_t <= 0 or V_{t-1} <= 0    (the root's first such day)
    ER_ret_t = 0        on every later date of the root (nothing is held: the level stays 0)

so the level closes at 0 and stays there (TR keeps its formula: TR_t = TR_{t-1} TBR_t that
day). Carry is null on a day where c1 or c2 settles at zero or below (no logarithm).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, IndexCalcError, SpecError
from indexcalc.rolls import (
    KEY_SCALE,
    MONTHS_PER_YEAR,
    PRICE_BLOCK_ROWS,
    contract_month_index,
    day_key,
    indexed_prices,
    lookup_settle,
    month_mask,
    root_blocks,
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
    block_rows: int = PRICE_BLOCK_ROWS,
) -> pl.DataFrame:
    """Linked ER, TR, carry and held contracts per root and business day (see module doc).

    Roots are processed in blocks of about ``block_rows`` price rows (:func:`indexcalc.rolls.
    root_blocks`; one block on a market of that size or less): a root's series depends on its
    own prices only, so the result is the same, bit for bit, while the per-price-row keys and
    intermediates take one block's memory. An error found in a block is reported as the whole
    market at once would report it (the earliest disruption over all roots, for instance).
    """
    if disruption not in ("error", "carry_forward"):
        raise SpecError(f"disruption must be 'error' or 'carry_forward', got {disruption!r}")
    selected = select_roots(market, roots)
    if not selected:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    blocks = root_blocks(market.prices, selected, block_rows)
    if len(blocks) == 1:
        return _block_series(market, rule, selected, disruption)
    parts = []
    try:
        for block_roots, block_prices in blocks:
            parts.append(_block_series(replace(market, prices=block_prices), rule, block_roots, disruption))
    except IndexCalcError:
        # Which problem is reported first depends on all roots: let the whole market report it.
        parts.clear()
        _block_series(market, rule, selected, disruption)
        raise
    return pl.concat(parts)


def _block_series(market: MarketData, rule: RollRule, selected: list[str], disruption: Disruption) -> pl.DataFrame:
    """:func:`build_series` of the sorted roots ``selected`` (all with prices), in one pass."""
    indexed = indexed_prices(market.prices, selected, market.source)
    schedule = schedule_from_prices(market, rule, selected, indexed)
    first_of_day = (pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True)
    same_root_as_previous = pl.col("day_key").shift(1) // KEY_SCALE == pl.col("day_key") // KEY_SCALE
    days = (
        schedule.filter(first_of_day)
        .select("root", "date", "day_key")
        .with_columns(pl.when(same_root_as_previous).then(pl.col("date").shift(1)).alias("previous_date"))
    )
    returns = _excess_returns(schedule, days, indexed, disruption, market.source)
    carry = _carry(market, indexed, selected, rule)
    # the keyed price rows and the schedule are the largest frames here: freed once done with
    del indexed
    held = held_contracts_text(schedule)
    del schedule
    root_position = pl.col("day_key") // KEY_SCALE
    # days, held (one row per day) and the joined frames are all in day_key order; flagged as
    # sorted, the joins merge instead of hashing (several times faster on a large market).
    frame = (
        _flag_sorted(days.with_columns(_collateral_on(market.rates, days, market.source), held.get_column("held_contracts")))
        .join(_flag_sorted(returns), on="day_key", how="left", maintain_order="left")
        .join(_flag_sorted(carry), on="day_key", how="left", maintain_order="left")
        .with_columns(
            pl.col("daily_return").fill_null(0.0),
            pl.col("disrupted").fill_null(False),
            pl.col("lost").fill_null(False),
        )
    )
    if returns.get_column("lost").any():
        frame = frame.with_columns(_after_loss(pl.col("daily_return"), pl.col("lost"), root_position))
    # ER_t = ER_{t-1} (1 + ER_ret_t) multiplied in sequence from 100 on the root's first date,
    # so that a level continued from the previous one (the daily run) is the same to the bit
    first = (root_position != root_position.shift(1)).fill_null(True)

    def linked(growth: pl.Expr) -> pl.Expr:
        return pl.when(first).then(SERIES_BASE_LEVEL * growth).otherwise(growth).cum_prod().over(root_position)

    series = frame.select(
        "date",
        "root",
        linked(1.0 + pl.col("daily_return")).alias("level"),
        "daily_return",
        linked(1.0 + pl.col("daily_return") + pl.col("collateral_return")).alias("tr_level"),
        "carry",
        "held_contracts",
        "disrupted",
    ).cast(SERIES_SCHEMA)
    refuse_non_finite_levels(series, ("level", "tr_level"), market.source)
    return series


def refuse_non_finite_levels(frame: pl.DataFrame, columns: tuple[str, ...], source: str = "") -> None:
    """No level is ever written that is not a finite number: the first row (by date) whose
    ``columns`` hold NaN or an infinity is a DataError naming its root and date."""
    bad = frame.filter(pl.any_horizontal(~pl.col(name).is_finite() for name in columns))
    if bad.height:
        row = bad.sort("date").row(0, named=True)
        values = ", ".join(f"{name} {row[name]}" for name in columns)
        where = f"root {row['root']}, date {row['date']}" if "root" in row else f"date {row['date']}"
        raise DataError(f"the calculation gives a non-finite level ({values}): check this root's settlements", file=source or None, key=where)


def _after_loss(daily_return: pl.Expr, lost: pl.Expr, root_position: pl.Expr) -> pl.Expr:
    """``daily_return`` with the lost-position rule (module doc): -1 on a root's first day whose
    held value is zero or negative, 0 on every later day of that root. Rows in root, date order."""
    lost_before = (lost.cast(pl.Int32).cum_sum().over(root_position) - lost.cast(pl.Int32)) > 0
    first_loss = lost & ~lost_before
    return (
        pl.when(lost_before).then(0.0).when(first_loss).then(-1.0).otherwise(daily_return).alias("daily_return")
    )


def _flag_sorted(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its ``day_key`` flagged ascending when it is (checked: a wrong flag would
    give wrong joins)."""
    keys = frame.get_column("day_key")
    return frame.with_columns(keys.set_sorted()) if keys.is_sorted() else frame


def _excess_returns(
    schedule: pl.DataFrame,
    days: pl.DataFrame,
    indexed: pl.DataFrame,
    disruption: Disruption,
    source: str,
) -> pl.DataFrame:
    """``day_key, daily_return, disrupted`` for every date after a root's first one."""
    # The weights held at the close of t-1 earn the price change from t-1 to t. Schedule rows
    # and days are both in day_key order, so a row's day is a running count of first rows.
    same_root_as_next = pl.col("day_key").shift(-1) // KEY_SCALE == pl.col("day_key") // KEY_SCALE
    next_day = days.select(
        pl.when(same_root_as_next).then(pl.col("day_key").shift(-1)).alias("next_day_key"),
        pl.when(same_root_as_next).then(pl.col("date").shift(-1)).alias("next_date"),
    )
    day_of_row = schedule.select(
        ((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True).cum_sum() - 1).alias("day")
    ).to_series()
    positions = (
        pl.concat([schedule, next_day[day_of_row]], how="horizontal")
        .drop_nulls("next_day_key")
        .select(
            "root",
            pl.col("next_date").alias("date"),
            pl.col("date").alias("previous_date"),
            pl.col("next_day_key").alias("day_key"),
            "contract",
            "weight",
            (pl.col("next_day_key") * KEY_SCALE + pl.col("contract")).alias("key_now"),
            (pl.col("day_key") * KEY_SCALE + pl.col("contract")).alias("key_before"),
        )
    )
    positions = positions.with_columns(
        lookup_settle(indexed, positions.get_column("key_now")).alias("settle_now"),
        lookup_settle(indexed, positions.get_column("key_before")).alias("settle_before"),
    )
    broken = positions.filter(_missing("settle_now") | _missing("settle_before"))
    if broken.height and disruption == "error":
        missing_on = pl.when(_missing("settle_before")).then(pl.col("previous_date")).otherwise(pl.col("date"))
        root, date, contract = (
            broken.select("root", missing_on.alias("date"), "contract").sort("date", "root", "contract").row(0)
        )
        raise DataError(
            "market disruption: held contract has no settlement",
            file=source or None,
            key=f"root {root}, contract {contract}, date {date}",
        )
    if broken.height:
        positions = _carry_prices_forward(positions, indexed, source)
    else:
        positions = positions.with_columns(pl.lit(False).alias("disrupted"))
    # Per-day sums over the (at most a few) consecutive rows of each day, added in row order.
    row_now = pl.col("weight") * pl.col("settle_now")
    row_before = pl.col("weight") * pl.col("settle_before")
    value_now, value_before, disrupted = row_now, row_before, pl.col("disrupted")
    for ahead in range(1, _widest_day(positions)):
        same_day = pl.col("day_key").shift(-ahead) == pl.col("day_key")
        value_now = value_now + pl.when(same_day).then(row_now.shift(-ahead)).otherwise(0.0)
        value_before = value_before + pl.when(same_day).then(row_before.shift(-ahead)).otherwise(0.0)
        disrupted = disrupted | (same_day & pl.col("disrupted").shift(-ahead)).fill_null(False)
    lost = (value_now <= 0.0) | (value_before <= 0.0)
    return positions.select(
        "day_key",
        pl.when(lost).then(-1.0).otherwise(value_now / value_before - 1.0).alias("daily_return"),
        disrupted.alias("disrupted"),
        lost.alias("lost"),
    ).filter((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True))


def _widest_day(frame: pl.DataFrame) -> int:
    """Most rows any day has in ``frame`` (sorted by ``day_key``)."""
    if frame.height == 0:
        return 1
    starts = frame.select(
        pl.arg_where((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True)).append(pl.lit(frame.height))
    ).to_series()
    return int(starts.diff().max() or 1)


def _missing(column: str) -> pl.Expr:
    return pl.col(column).is_null()


def _carry_prices_forward(positions: pl.DataFrame, indexed: pl.DataFrame, source: str) -> pl.DataFrame:
    """Replace missing settles by the contract's last settle on or before the same date, and
    flag those rows ``disrupted``."""
    known = indexed.filter(pl.col("settle").is_not_null()).select("date", "root", "contract", "settle").sort("date")
    for date_column, settle_column in (("date", "settle_now"), ("previous_date", "settle_before")):
        positions = positions.sort(date_column).join_asof(
            known.rename({"date": date_column, "settle": f"{settle_column}_known"}),
            on=date_column,
            by=["root", "contract"],
            strategy="backward",
            check_sortedness=False,
        )
    positions = positions.with_columns(
        (_missing("settle_now") | _missing("settle_before")).alias("disrupted"),
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
    # Back to root, date, contract order (the per-day sums rely on it).
    return positions.drop("settle_now_known", "settle_before_known").sort("key_now")


def _collateral_on(rates: pl.DataFrame, steps: pl.DataFrame, source: str) -> pl.Series:
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
    return steps.select("date").with_columns(_collateral_on(rates, steps, ""))


def _carry(market: MarketData, indexed: pl.DataFrame, roots: list[str], rule: RollRule) -> pl.DataFrame:
    """``day_key, carry``: annualised log spread of the two nearest contracts (module doc)."""
    # every priced contract (zero and negative settles included: they keep their place as c1
    # or c2, and the day's carry is then null rather than taken from a further contract)
    priced = indexed.lazy().filter(pl.col("settle").is_not_null())
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
    # Rows are in price_key order: a day's first row is c1, the next row (same day) c2.
    pairs = (
        near.select(
            "day_key",
            pl.col("contract").alias("near"),
            pl.col("settle").alias("near_settle"),
            near_is_held.alias("near_is_held"),
            pl.when(pl.col("day_key").shift(-1) == pl.col("day_key")).then(pl.col("contract").shift(-1)).alias("far"),
            pl.col("settle").shift(-1).alias("far_settle"),
        )
        .filter((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True))
    )
    months = contract_month_index(pl.col("far")) - contract_month_index(pl.col("near"))
    spread = (pl.col("near_settle").log() - pl.col("far_settle").log()) * MONTHS_PER_YEAR / months
    logs_exist = (pl.col("near_settle") > 0) & (pl.col("far_settle") > 0)
    return pairs.select(
        "day_key",
        pl.when(pl.col("near_is_held") & pl.col("far").is_not_null() & logs_exist).then(spread).alias("carry"),
    ).collect()


def held_contracts_text(schedule: pl.DataFrame) -> pl.DataFrame:
    """``day_key, held_contracts``: e.g. ``"202403:0.8 202405:0.2"`` (weights at the close,
    contracts in contract order, weights rounded to 6 decimals, 1 as ``1``), one row per day.

    ``schedule`` is a roll schedule (weights > 0, sorted by root, date, contract) with ``day_key``."""
    frame = schedule.select(
        "day_key",
        pl.concat_str(
            pl.col("contract").cast(pl.String),
            pl.lit(":"),
            pl.col("weight").round(6).cast(pl.String).str.strip_suffix(".0"),
        ).alias("held_contracts"),
    )
    # Contracts held at one close are consecutive rows: append the following rows of the same day
    # (a loop over the largest number of contracts held at once, not over days).
    text = pl.col("held_contracts")
    for ahead in range(1, _widest_day(frame)):
        text = text + pl.when(pl.col("day_key").shift(-ahead) == pl.col("day_key")).then(
            pl.lit(" ") + pl.col("held_contracts").shift(-ahead)
        ).otherwise(pl.lit(""))
    return frame.with_columns(text.alias("held_contracts")).filter(
        (pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True)
    ).select("day_key", "held_contracts")
