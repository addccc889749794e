"""Linked single-commodity series: excess return, total return, carry (docs/design.md section 2).

    build_series(market: MarketData, rule: RollRule = WindowRoll(), roots: list[str] | None = None,
                 disruption: Literal["rules", "carry_forward", "error"] = "rules",
                 max_disrupted_sessions: int = MAX_DISRUPTED_SESSIONS) -> pl.DataFrame
        columns ``date, root, level, daily_return, tr_level, carry, carry_near, carry_far,
        held_contracts, disrupted``: ``level`` the linked excess-return level (100 on each root's
        first date), ``daily_return`` ER_ret (fraction), ``tr_level`` the total-return level (100
        on the first date), ``carry`` annualised roll yield (fraction, positive in backwardation),
        ``carry_near``, ``carry_far`` the contracts c1 < c2 it was taken from (YYYYMM; null with
        the carry), ``held_contracts`` e.g. "202403:0.6 202405:0.4" (weights held at that close,
        after any postponed roll step), ``disrupted`` True on a disrupted session (below).
        Sorted by root, date.

    collateral_returns(rates: pl.DataFrame, dates: pl.Series) -> pl.DataFrame
        ``date, collateral_return``: TBR_t = (1 / (1 - 91/360 * TB_{t-1}))^(days(t-1,t)/91) - 1
        on the given dates (0 on the first).

Formulas (docs/design.md section 2), for a root with business days ... t-1, t (its own dates):

    ER_ret_t = sum_c w_{c,t-1} F_{c,t} / sum_c w_{c,t-1} F_{c,t-1} - 1       (fraction)
    ER_t     = ER_{t-1} (1 + ER_ret_t),  ER = 100 on the root's first date   (index points)
    TBR_t    = (1 / (1 - 91/360 TB_{t-1}))^(days(t-1, t) / 91) - 1           (fraction)
    TR_t     = TR_{t-1} (1 + ER_ret_t + TBR_t),  TR = 100 on the first date  (index points)
    carry_t  = (ln F_{c1,t} - ln F_{c2,t}) * 12 / m                          (annualised)

``w`` are the weights held at the close: the roll weights of :func:`indexcalc.rolls.roll_schedule`
with any step postponed by a market disruption (below), ``F`` settlement prices,
``TB_{t-1}`` the 3-month T-bill discount yield known on t-1 (latest rate on or before t-1),
``days`` calendar days. Carry uses the two nearest hold-cycle contracts priced on t (c1 < c2,
``m`` months apart). For the data roll it uses the data's held contract h on t (which must be
priced) and the nearest later contract priced on t (c1 = h, c2 = that contract); where no
later contract is priced, the nearest earlier priced contract e instead (c1 = e, c2 = h, same
formula): vendor files such as pysystemtrade's often price the contract before the held one
(their CARRY column) while the one after it (FORWARD) is unpriced. The pair used is recorded
per day (``carry_near``, ``carry_far``). Carry is null where no such pair is priced.

Market disruption (a held or scheduled contract without a settlement: its last settlement is
kept and the roll step postponed; too many consecutive ones stop the run) is the rule of
:mod:`indexcalc.disruption`; ``disruption`` chooses its limit there (:func:`indexcalc.disruption.
disruption_limit`). The collateral return TBR is :func:`indexcalc.collateral.collateral_returns`.

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
from indexcalc.data_roll import data_roll_targets
from indexcalc.errors import DataError, IndexCalcError
from indexcalc.keyed_prices import (
    KEY_SCALE,
    MONTHS_PER_YEAR,
    PRICE_BLOCK_ROWS,
    business_days,
    contract_month_index,
    day_key,
    indexed_prices,
    lookup_settle,
    month_mask,
    root_blocks,
    select_roots,
)
from indexcalc.rolls import schedule_from_prices
from indexcalc.specs.base import DataRoll, RollRule, WindowRoll

from indexcalc.collateral import collateral_on
from indexcalc.disruption import (
    MAX_DISRUPTED_SESSIONS,
    Disruption,
    check_disruption_limit,
    disrupted_sessions,
    disruption_limit,
    postponed_schedule,
    schedule_days,
)

SERIES_BASE_LEVEL = 100.0
"""ER and TR level of every root on its first date (index points)."""


SERIES_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "root": pl.String(),
    "level": pl.Float64(),
    "daily_return": pl.Float64(),
    "tr_level": pl.Float64(),
    "carry": pl.Float64(),
    "carry_near": pl.Int32(),
    "carry_far": pl.Int32(),
    "held_contracts": pl.String(),
    "disrupted": pl.Boolean(),
}


def build_series(
    market: MarketData,
    rule: RollRule = WindowRoll(),
    roots: list[str] | None = None,
    disruption: Disruption = "rules",
    block_rows: int = PRICE_BLOCK_ROWS,
    max_disrupted_sessions: int = MAX_DISRUPTED_SESSIONS,
) -> pl.DataFrame:
    """Linked ER, TR, carry and held contracts per root and business day (see module doc).

    Roots are processed in blocks of about ``block_rows`` price rows (:func:`indexcalc.keyed_prices.
    root_blocks`; one block on a market of that size or less): a root's series depends on its
    own prices only, so the result is the same, bit for bit, while the per-price-row keys and
    intermediates take one block's memory. An error found in a block is reported as the whole
    market at once would report it (the earliest disruption over all roots, for instance).
    """
    limit = disruption_limit(disruption, max_disrupted_sessions)
    selected = select_roots(market, roots)
    if not selected:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    blocks = root_blocks(market.prices, selected, block_rows)
    if len(blocks) == 1:
        return _block_series(market, rule, selected, limit)
    parts = []
    try:
        for block_roots, block_prices in blocks:
            parts.append(_block_series(replace(market, prices=block_prices), rule, block_roots, limit))
    except IndexCalcError:
        # Which problem is reported first depends on all roots: let the whole market report it.
        parts.clear()
        _block_series(market, rule, selected, limit)
        raise
    return pl.concat(parts)


def _block_series(market: MarketData, rule: RollRule, selected: list[str], limit: int | None) -> pl.DataFrame:
    """:func:`build_series` of the sorted roots ``selected`` (all with prices), in one pass;
    ``limit`` from :func:`disruption_limit`."""
    indexed = indexed_prices(market.prices, selected, market.source)
    schedule = schedule_from_prices(market, rule, selected, indexed)
    days = schedule_days(schedule)
    sessions = disrupted_sessions(schedule, days, indexed, not isinstance(rule, DataRoll))
    check_disruption_limit(sessions, limit, market.source)
    schedule = postponed_schedule(schedule, sessions)
    returns = _excess_returns(schedule, days, indexed, limit == 0, market.source).join(
        sessions.select("day_key", "disrupted"), on="day_key", how="left", maintain_order="left"
    )
    carry = _carry(market, indexed, selected, rule)
    # the keyed price rows and the schedule are the largest frames here: freed once done with
    del indexed
    held = held_contracts_text(schedule)
    del schedule
    root_position = pl.col("day_key") // KEY_SCALE
    # days, held (one row per day) and the joined frames are all in day_key order; flagged as
    # sorted, the joins merge instead of hashing (several times faster on a large market).
    frame = (
        _flag_sorted(days.with_columns(collateral_on(market.rates, days, market.source), held.get_column("held_contracts")))
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
        "carry_near",
        "carry_far",
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
    stop_at_disruption: bool,
    source: str,
) -> pl.DataFrame:
    """``day_key, daily_return, lost`` for every date after a root's first one (``lost``: the
    held value at t or t-1 is zero or negative, module doc); a held contract
    without a settle on t or t-1 keeps its last settle (or, with
    ``stop_at_disruption``, stops the run)."""
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
    if broken.height and stop_at_disruption:
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
    # Per-day sums over the (at most a few) consecutive rows of each day, added in row order.
    row_now = pl.col("weight") * pl.col("settle_now")
    row_before = pl.col("weight") * pl.col("settle_before")
    value_now, value_before = row_now, row_before
    for ahead in range(1, _widest_day(positions)):
        same_day = pl.col("day_key").shift(-ahead) == pl.col("day_key")
        value_now = value_now + pl.when(same_day).then(row_now.shift(-ahead)).otherwise(0.0)
        value_before = value_before + pl.when(same_day).then(row_before.shift(-ahead)).otherwise(0.0)
    lost = (value_now <= 0.0) | (value_before <= 0.0)
    return positions.select(
        "day_key",
        pl.when(lost).then(-1.0).otherwise(value_now / value_before - 1.0).alias("daily_return"),
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
    """Replace missing settles by the contract's last settle on or before the same date (zero
    and negative settles are prices)."""
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


def _carry(market: MarketData, indexed: pl.DataFrame, roots: list[str], rule: RollRule) -> pl.DataFrame:
    """``day_key, carry, carry_near, carry_far``: annualised log spread of the pair c1 < c2 of
    the module doc (data roll: the held contract and the nearest later priced one, else the
    nearest earlier priced one and the held contract), and the pair's contracts."""
    # every priced contract (zero and negative settles included: they keep their place as c1
    # or c2, and the day's carry is then null rather than taken from a further contract)
    priced = indexed.lazy().filter(pl.col("settle").is_not_null())
    if isinstance(rule, DataRoll):
        held = market.held.lazy().select(
            day_key(roots).alias("day_key"), pl.col("contract").alias("held_contract")
        ).drop_nulls("day_key")
        # every priced contract of a day with a held contract, in price_key (day, contract) order
        curve = priced.join(held, on="day_key").sort("price_key").select("day_key", "contract", "settle", "held_contract")

        def nearest(side: pl.Expr, keep: Literal["first", "last"], name: str) -> pl.LazyFrame:
            return (
                curve.filter(side)
                .unique(subset="day_key", keep=keep, maintain_order=True)
                .select("day_key", pl.col("contract").alias(name), pl.col("settle").alias(f"{name}_settle"))
            )

        held_priced = curve.filter(pl.col("contract") == pl.col("held_contract")).select(
            "day_key", pl.col("contract").alias("held"), pl.col("settle").alias("held_settle")
        )
        later_priced = pl.col("later").is_not_null()
        pairs = (
            held_priced.join(nearest(pl.col("contract") > pl.col("held_contract"), "first", "later"), on="day_key", how="left")
            .join(nearest(pl.col("contract") < pl.col("held_contract"), "last", "earlier"), on="day_key", how="left")
            .select(
                "day_key",
                pl.when(later_priced).then(pl.col("held")).otherwise(pl.col("earlier")).alias("near"),
                pl.when(later_priced).then(pl.col("held_settle")).otherwise(pl.col("earlier_settle")).alias("near_settle"),
                pl.when(later_priced).then(pl.col("later")).otherwise(pl.col("held")).alias("far"),
                pl.when(later_priced).then(pl.col("later_settle")).otherwise(pl.col("held_settle")).alias("far_settle"),
            )
            .with_columns(pl.when(pl.col("near").is_null()).then(None).otherwise(pl.col("far")).alias("far"))
            .sort("day_key")
        )
    else:
        instruments = [market.instruments[root] for root in roots]
        near = priced.filter(month_mask(roots, {i.root: i.hold_month_numbers for i in instruments}))
        # Rows are in price_key order: a day's first row is c1, the next row (same day) c2.
        pairs = (
            near.select(
                "day_key",
                pl.col("contract").alias("near"),
                pl.col("settle").alias("near_settle"),
                pl.when(pl.col("day_key").shift(-1) == pl.col("day_key")).then(pl.col("contract").shift(-1)).alias("far"),
                pl.col("settle").shift(-1).alias("far_settle"),
            )
            .filter((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True))
        )
    months = contract_month_index(pl.col("far")) - contract_month_index(pl.col("near"))
    spread = (pl.col("near_settle").log() - pl.col("far_settle").log()) * MONTHS_PER_YEAR / months
    has_pair = pl.col("far").is_not_null() & (pl.col("near_settle") > 0) & (pl.col("far_settle") > 0)
    return pairs.select(
        "day_key",
        pl.when(has_pair).then(spread).alias("carry"),
        pl.when(has_pair).then(pl.col("near")).alias("carry_near"),
        pl.when(has_pair).then(pl.col("far")).alias("carry_far"),
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


def disruption_diagnostics(market: MarketData, rule: RollRule, roots: list[str] | None = None) -> pl.DataFrame:
    """The calculation's own roll and disruption steps, day by day, without any limit (what
    ``data check`` counts; docs/design.md section 2).

    Returns ``root, date, disrupted, contract`` (as :func:`disrupted_sessions`), ``postponed``
    (a roll step waited: the weights held at the close differ from the roll rule's for that
    close; for the data roll, the rule's contract is the file's held contract of the next day,
    :func:`indexcalc.data_roll.data_roll_targets`) and ``rule_contracts`` (the contracts the rule
    weights at the close, or for the data roll the file's held contract of the day, as text
    ``"c1 c2"``). Sorted by root, date."""
    selected = select_roots(market, roots)
    indexed = indexed_prices(market.prices, selected, market.source)
    schedule = schedule_from_prices(market, rule, selected, indexed)
    days = schedule_days(schedule)
    sessions = disrupted_sessions(schedule, days, indexed, not isinstance(rule, DataRoll))
    held = held_contracts_text(postponed_schedule(schedule, sessions))
    if isinstance(rule, DataRoll):
        targets = data_roll_targets(market, selected, indexed, business_days(market.prices, selected))
        wanted = targets.select(
            "day_key",
            pl.concat_str(pl.col("file_contract").cast(pl.String), pl.lit(":1")).alias("rule_held"),
            pl.col("file_contract").shift(1).over("root").fill_null(pl.col("file_contract"))
            .cast(pl.String).alias("rule_contracts"),
        )
    else:
        wanted = held_contracts_text(schedule).rename({"held_contracts": "rule_held"}).with_columns(
            pl.col("rule_held").str.replace_all(r":[0-9.e-]+", "").alias("rule_contracts")
        )
    return (
        sessions.join(held, on="day_key", how="left")
        .join(wanted, on="day_key", how="left")
        .select(
            "root",
            "date",
            "disrupted",
            "contract",
            (pl.col("rule_held").is_not_null() & (pl.col("held_contracts") != pl.col("rule_held"))).alias("postponed"),
            "rule_contracts",
        )
    )
