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

Market disruption (docs/design.md section 2, as the large commodity index methodologies state
it). A session t of a root is *disrupted* when a contract held at the close of t-1 (weight > 0),
or a contract the roll schedule gives a weight at the close of t, has no settlement on t
(zero and negative settlements are prices, below). Then:

- the held contract keeps its last settlement for t (so F_{c,t} = F_{c,s}, s its last
  priced date) and the row of t is flagged ``disrupted``;
- the weights do not change at the close of t: a roll step due on t is postponed to the next
  session that is not disrupted, which then moves to the weights the schedule gives it
  (``w_t = w^sched_{g(t)}``, g(t) = the last session on or before t that is not disrupted; with
  the 20%/day window roll, a step missed on one day is made together with the next day's).
  The data roll follows a vendor's file that has already left the old contract: there only
  the contract rolled into must have a settlement (it always has: :func:`indexcalc.rolls.
  data_roll_targets`), and an old contract without one is valued at its last settlement;
- more than ``max_disrupted_sessions`` consecutive disrupted sessions of one root stop the run
  with a DataError naming root, contract and the dates (first disrupted session to the session
  over the limit).

``disruption`` chooses the limit: ``"rules"`` (default) ``max_disrupted_sessions``
(:data:`MAX_DISRUPTED_SESSIONS`), ``"carry_forward"`` none, ``"error"`` 0 (the first disrupted
session stops the run, naming root, contract and date). A root's first date is never disrupted
(nothing is held before it); a contract held at its close without a settlement there has no
price to keep, which stops the run under every policy.

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
    "carry_near": pl.Int32(),
    "carry_far": pl.Int32(),
    "held_contracts": pl.String(),
    "disrupted": pl.Boolean(),
}

Disruption = Literal["rules", "carry_forward", "error"]
DISRUPTION_POLICIES: tuple[str, ...] = ("rules", "carry_forward", "error")

MAX_DISRUPTED_SESSIONS = 5
"""Consecutive disrupted sessions of one root carried under the default policy ("rules"); one
more stops the run. Five sessions is the span after which the large commodity index
methodologies stop applying their mechanical rule (keep the last settlement, postpone the roll)
and have the index sponsor determine a price: a calculator cannot make that decision, so it
stops and names the root, contract and dates (docs/design.md section 2)."""


def disruption_limit(disruption: str, max_disrupted_sessions: int = MAX_DISRUPTED_SESSIONS) -> int | None:
    """Consecutive disrupted sessions a policy carries: "rules" ``max_disrupted_sessions``,
    "carry_forward" no limit (None), "error" 0."""
    if disruption not in DISRUPTION_POLICIES:
        raise SpecError(f"disruption must be one of {', '.join(DISRUPTION_POLICIES)}, got {disruption!r}")
    if max_disrupted_sessions < 0:
        raise SpecError(f"max_disrupted_sessions must be 0 or more, got {max_disrupted_sessions}")
    return {"rules": max_disrupted_sessions, "carry_forward": None, "error": 0}[disruption]


def build_series(
    market: MarketData,
    rule: RollRule = WindowRoll(),
    roots: list[str] | None = None,
    disruption: Disruption = "rules",
    block_rows: int = PRICE_BLOCK_ROWS,
    max_disrupted_sessions: int = MAX_DISRUPTED_SESSIONS,
) -> pl.DataFrame:
    """Linked ER, TR, carry and held contracts per root and business day (see module doc).

    Roots are processed in blocks of about ``block_rows`` price rows (:func:`indexcalc.rolls.
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


def schedule_days(schedule: pl.DataFrame) -> pl.DataFrame:
    """``root, date, day_key, previous_date``: one row per day of a roll schedule with
    ``day_key`` (its order), ``previous_date`` the root's previous day (null on its first)."""
    first_of_day = (pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True)
    same_root_as_previous = pl.col("day_key").shift(1) // KEY_SCALE == pl.col("day_key") // KEY_SCALE
    return (
        schedule.filter(first_of_day)
        .select("root", "date", "day_key")
        .with_columns(pl.when(same_root_as_previous).then(pl.col("date").shift(1)).alias("previous_date"))
    )


def _day_numbers(schedule: pl.DataFrame) -> pl.Series:
    """Position of each schedule row's day among the schedule's days (0, 1, ...)."""
    return schedule.select(
        ((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True).cum_sum() - 1).alias("day")
    ).to_series()


def _unpriced_per_day(rows: pl.DataFrame, indexed: pl.DataFrame, days: int) -> pl.Series:
    """Per day 0..days-1: the smallest contract of ``rows`` (``day, day_key, contract``: the
    contracts to price on that day) without a settle on that day (zero and negative settles are
    prices); null if none."""
    keys = rows.select(pl.col("day_key") * KEY_SCALE + pl.col("contract").cast(pl.Int64)).to_series()
    unpriced = rows.filter(lookup_settle(indexed, keys).is_null())
    return (
        pl.DataFrame({"day": pl.int_range(days, eager=True, dtype=pl.Int64)})
        .join(unpriced.group_by("day").agg(pl.col("contract").min()).cast({"day": pl.Int64}), on="day", how="left")
        .sort("day")
        .get_column("contract")
    )


def disrupted_sessions(
    schedule: pl.DataFrame, days: pl.DataFrame, indexed: pl.DataFrame, postpone_when_held_unpriced: bool = True
) -> pl.DataFrame:
    """Which days of the schedule are disrupted sessions (module doc, docs/design.md section 2).

    ``schedule``: roll weights with ``day_key`` (:func:`indexcalc.rolls.schedule_from_prices`),
    ``days`` its :func:`schedule_days`, ``indexed`` the prices (:func:`indexcalc.rolls.indexed_prices`).
    Returns, per day in ``days`` order: ``root, date, day_key, disrupted`` (bool), ``contract``
    (the smallest contract without a settlement that makes it disrupted; null otherwise),
    ``postponed`` (the weights do not change at its close) and ``source_day`` (position of g(t),
    the last day on or before it whose weights are not postponed: its scheduled weights are
    the ones held at the close of t).

    With w_{t-1} the weights held at the close of t-1 (the schedule's at g(t-1)):

        disrupted_t = some c with w_{c,t-1} > 0 or w^sched_{c,t} > 0 has no settle_{c,t}
                      (false on a root's first day)
        postponed_t = disrupted_t (the index rolls: neither leg of a roll step trades without a
                      settlement); with ``postpone_when_held_unpriced`` False (the data roll,
                      which follows a vendor's file that has already left the old contract)
                      only a scheduled contract without a settlement postpones
        g(t)        = t if not postponed_t, else g(t-1)

    w_{t-1} depends on the flags before t, so the flags are found by repeating one vectorised
    pass (flags -> g -> flags) until they no longer change: a fixed point satisfies the
    recursion on every day, which determines the flags, and each pass settles at least one
    more day of every run of postponed days (so the passes are a few more than the longest run).
    """
    n = days.height
    if n == 0:
        return days.select("root", "date", "day_key").with_columns(
            pl.lit(False).alias("disrupted"),
            pl.lit(None, pl.Int32).alias("contract"),
            pl.lit(False).alias("postponed"),
            pl.lit(None, pl.Int64).alias("source_day"),
        )
    day = _day_numbers(schedule)
    rows = schedule.select("day_key", "contract").with_columns(day.alias("day").cast(pl.Int64))
    scheduled_unpriced = _unpriced_per_day(rows, indexed, n)
    position = pl.int_range(n, eager=True, dtype=pl.Int64)
    first = days.get_column("previous_date").is_null()
    day_keys = days.get_column("day_key")
    postponed = pl.Series([False] * n)
    for _ in range(n + 1):
        source = pl.select(
            pl.when(postponed).then(None).otherwise(position).forward_fill().alias("source")
        ).to_series()
        # the weights held at the close of t-1: the schedule's at g(t-1), priced on t
        held_from = pl.DataFrame({"day": position, "day_key": day_keys, "from_day": source.shift(1)}).filter(~first)
        held = held_from.join(rows.select(pl.col("day").alias("from_day"), "contract"), on="from_day").select(
            "day", "day_key", "contract"
        )
        held_unpriced = _unpriced_per_day(held, indexed, n)
        contract = pl.select(pl.min_horizontal(scheduled_unpriced, held_unpriced).alias("contract")).to_series()
        postponing = contract if postpone_when_held_unpriced else scheduled_unpriced
        now = pl.select((postponing.is_not_null() & ~first).alias("postponed")).to_series()
        if now.equals(postponed):
            break
        postponed = now
    disrupted = pl.select((contract.is_not_null() & ~first).alias("disrupted")).to_series()
    return days.select("root", "date", "day_key").with_columns(
        disrupted,
        pl.when(disrupted).then(contract).alias("contract"),
        postponed.alias("postponed"),
        source.alias("source_day"),
    )


def check_disruption_limit(sessions: pl.DataFrame, limit: int | None, source: str) -> None:
    """Stop (DataError naming root, contract and dates) where a root has more than ``limit``
    consecutive disrupted sessions (:func:`disrupted_sessions`); the earliest such session over
    all roots is reported (then root, then contract). ``limit`` None: no limit; 0: the first
    disrupted session stops, naming its date (module doc)."""
    if limit is None or not sessions.get_column("disrupted").any():
        return
    root_position = pl.col("day_key") // KEY_SCALE
    run_start = pl.col("disrupted") & ~(
        pl.col("disrupted").shift(1).fill_null(False) & (root_position.shift(1) == root_position).fill_null(False)
    )
    runs = sessions.with_columns(run_start.cum_sum().alias("run")).filter(pl.col("disrupted"))
    runs = runs.with_columns(
        pl.col("date").first().over("run").alias("first_date"),
        pl.col("contract").first().over("run").alias("first_contract"),
        pl.int_range(pl.len()).over("run").alias("count"),
    )
    over = runs.filter(pl.col("count") == limit).sort("date", "root", "first_contract")
    if over.height == 0:
        return
    root, date, first_date, contract = over.select("root", "date", "first_date", "first_contract").row(0)
    if limit == 0:
        raise DataError(
            "market disruption: held contract has no settlement",
            file=source or None,
            key=f"root {root}, contract {contract}, date {date}",
        )
    raise DataError(
        f"market disruption on {limit + 1} consecutive sessions (more than {limit}): held contract "
        "has no settlement",
        file=source or None,
        key=f"root {root}, contract {contract}, dates {first_date} to {date}",
    )


def postponed_schedule(schedule: pl.DataFrame, sessions: pl.DataFrame) -> pl.DataFrame:
    """The weights held at each close: the schedule's weights of g(t) (:func:`disrupted_sessions`),
    so the weights do not change at the close of a disrupted session and a postponed roll step
    is made at the next session that is not disrupted. Same columns and order as ``schedule``."""
    if not sessions.get_column("postponed").any():
        return schedule
    rows = schedule.with_columns(_day_numbers(schedule).cast(pl.Int64).alias("source_day"))
    return (
        sessions.select("root", "date", "day_key", "source_day")
        .join(rows.select("source_day", "contract", "weight"), on="source_day")
        .sort(pl.col("day_key") * KEY_SCALE + pl.col("contract").cast(pl.Int64))
        .select(schedule.columns)
    )


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
    return steps.select("date").with_columns(_collateral_on(rates, steps, ""))


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
    :func:`indexcalc.rolls.data_roll_targets`) and ``rule_contracts`` (the contracts the rule
    weights at the close, or for the data roll the file's held contract of the day, as text
    ``"c1 c2"``). Sorted by root, date."""
    from indexcalc.rolls import business_days, data_roll_targets

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
