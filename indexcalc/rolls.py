"""Roll schedules as data: contract weights per root and date (docs/design.md section 2).

    roll_schedule(market: MarketData, rule: RollRule, roots: list[str] | None = None) -> pl.DataFrame
        columns ``date, root, contract, weight``: the weights held at the close of ``date``
        (per root and date they sum to 1; weights in [0, 1]; only weights > 0 are listed).
        Sorted by root, date, contract.

Business days of a root are the dates on which the market has prices for that root (its
exchange's days); "business day n of the month" counts those dates, so a holiday simply shifts
the count. Contracts are ``YYYYMM`` integers; internally a contract month is handled as a month
index ``year * 12 + month - 1`` so that month arithmetic is integer addition.

The three rules (``indexcalc.specs.base``):

- :class:`WindowRoll` (the index roll window). A hold-cycle contract with delivery month ``D`` is
  rolled out during the window of month ``D - roll_months_before`` (an ``Instrument`` field): on
  business day ``first_day + k - 1`` of that month (k = 1..n, n = last_day - first_day + 1) the
  weight at the close is ``1 - k/n`` on the old contract and ``k/n`` on the next hold-cycle
  contract (0.8/0.2, 0.6/0.4, ... 0/1 for the default window 5-9). Outside the window the index
  holds the first hold-cycle contract that has not yet entered its roll period. In a month with
  fewer business days than ``last_day`` the steps that do not exist are completed at the close of
  the month's last business day (a month counts as complete once the root has a later date; the
  data's final month is never treated as complete, so a daily run and a rebuild agree).
- :class:`FirstNoticeRoll`. At the close of ``t`` the index holds the ``position``-th listed
  contract, by delivery month, among the contracts priced on ``t`` whose roll point lies after
  ``t``; a contract's roll point is ``days_before`` business days before its first notice day
  (:func:`indexcalc.first_notice.first_notice_day`), so the index rolls fully at the close of
  the front contract's roll point.
- :class:`DataRoll`. The index follows the contract the imported data names (``market.held``,
  pysystemtrade's PRICE contract; :func:`indexcalc.data_roll.data_roll_targets`): the weight at
  the close of ``t`` is on the contract the data holds on the next business day (the roll
  happens at the close of the day before the data's contract changes) when that contract has a
  settlement on ``t``; otherwise the index keeps the contract it held at the close of ``t - 1``. So the data's
  roll is followed at the first close where the new contract has a settlement, a contract the
  data holds on no close with a settlement is skipped, and every daily return is close to close
  on one contract (docs/design.md section 2). A root's days before its first such close have
  no weight (its series starts there).

The window roll is built here; the first-notice roll in :mod:`indexcalc.first_notice`, the data
roll in :mod:`indexcalc.data_roll`, the price keys and business days in :mod:`indexcalc.keyed_prices`.
"""

from __future__ import annotations

import polars as pl

from indexcalc.data.instruments import Instrument
from indexcalc.data.market import MarketData
from indexcalc.data_roll import data_schedule
from indexcalc.errors import SpecError
from indexcalc.first_notice import first_notice_schedule
from indexcalc.keyed_prices import (
    KEY_SCALE,
    MONTHS_PER_YEAR,
    indexed_business_days,
    indexed_prices,
    instruments_for,
    month_index_contract,
    select_roots,
)
from indexcalc.specs.base import DataRoll, FirstNoticeRoll, RollRule, WindowRoll


SCHEDULE_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "root": pl.String(),
    "contract": pl.Int32(),
    "weight": pl.Float64(),
}


def roll_schedule(market: MarketData, rule: RollRule, roots: list[str] | None = None) -> pl.DataFrame:
    """Contract weights held at the close of every business day of each root (see module doc).

    Returns ``date, root, contract, weight`` (weights > 0 only, summing to 1 per root and date),
    sorted by root, date, contract.
    """
    selected = select_roots(market, roots)
    if not selected:
        return pl.DataFrame(schema=SCHEDULE_SCHEMA)
    indexed = indexed_prices(market.prices, selected, market.source)
    return schedule_from_prices(market, rule, selected, indexed).drop("day_key")


def schedule_from_prices(
    market: MarketData, rule: RollRule, roots: list[str], indexed: pl.DataFrame
) -> pl.DataFrame:
    """:func:`roll_schedule` on prices already passed through
    :func:`indexcalc.keyed_prices.indexed_prices`, with the rows' ``day_key`` as a last column."""
    days = indexed_business_days(indexed)
    if isinstance(rule, WindowRoll):
        schedule = _window_schedule(market, rule, roots, days)
    elif isinstance(rule, FirstNoticeRoll):
        schedule = first_notice_schedule(market, rule, roots, indexed, days)
    elif isinstance(rule, DataRoll):
        schedule = data_schedule(market, roots, indexed, days)
    else:  # pragma: no cover - the RollRule union is closed
        raise SpecError(f"unknown roll rule {rule!r}")
    # Each rule builds its rows in day_key (root, date) then contract order.
    return schedule.select(*SCHEDULE_SCHEMA.keys(), "day_key").cast(SCHEDULE_SCHEMA)


def hold_cycle_table(instruments: list[Instrument]) -> pl.DataFrame:
    """Per root and calendar month (0 = January): months to the next hold-cycle month.

    Columns ``root, calendar_month, to_hold`` (0..11: months from this month to the first
    hold-cycle month at or after it) and ``to_next_hold`` (1..12: months to the first hold-cycle
    month strictly after it). Built from the instrument specs (12 rows per root).
    """
    holds = {instrument.root: instrument.hold_month_numbers for instrument in instruments}
    rows = [
        (
            root,
            calendar_month,
            min((hold - 1 - calendar_month) % MONTHS_PER_YEAR for hold in months),
            min((hold - 2 - calendar_month) % MONTHS_PER_YEAR + 1 for hold in months),
        )
        for root, months in holds.items()
        for calendar_month in range(MONTHS_PER_YEAR)
    ]
    return pl.DataFrame(
        rows,
        schema={"root": pl.String, "calendar_month": pl.Int32, "to_hold": pl.Int32, "to_next_hold": pl.Int32},
        orient="row",
    )


def _root_table(values: list[int]) -> pl.Expr:
    """A per-root (or per root and calendar month) integer table to ``gather`` from."""
    return pl.lit(pl.Series(values, dtype=pl.Int64))


def _window_schedule(market: MarketData, rule: WindowRoll, roots: list[str], days: pl.DataFrame) -> pl.DataFrame:
    if rule.last_day < rule.first_day:
        raise SpecError(f"roll window last_day {rule.last_day} is before first_day {rule.first_day}")
    instruments = instruments_for(market, roots, "window")
    steps = rule.last_day - rule.first_day + 1
    cycle = hold_cycle_table(instruments).sort("root", "calendar_month")
    # Lookups by root position (day_key // KEY_SCALE, roots sorted) instead of joins.
    root_position = pl.col("day_key") // KEY_SCALE
    months_before = _root_table([instrument.roll_months_before for instrument in instruments])
    to_hold = _root_table(cycle.get_column("to_hold").to_list())
    to_next_hold = _root_table(cycle.get_column("to_next_hold").to_list())

    # The contract rolled out in month M is the hold-cycle contract delivering in M + months_before.
    target = pl.col("month") + months_before.gather(root_position)
    frame = days.lazy().with_columns(target.alias("target")).with_columns(
        to_hold.gather(root_position * MONTHS_PER_YEAR + pl.col("target") % MONTHS_PER_YEAR).alias("to_hold")
    )
    frame = frame.with_columns((pl.col("target") + pl.col("to_hold")).alias("old_month")).with_columns(
        (
            pl.col("old_month")
            + to_next_hold.gather(root_position * MONTHS_PER_YEAR + pl.col("old_month") % MONTHS_PER_YEAR)
        ).alias("new_month")
    )
    step = pl.col("day_of_month") - rule.first_day + 1
    last_day_of_short_month = (
        pl.col("month_complete")
        & (pl.col("day_of_month") == pl.col("days_in_month"))
        & (pl.col("days_in_month") < rule.last_day)
    )
    step = (
        pl.when(pl.col("to_hold") != 0)
        .then(0)
        .when(last_day_of_short_month)
        .then(steps)
        .otherwise(step.clip(0, steps))
    )
    frame = frame.with_columns(step.alias("step"))
    old_leg = frame.select(
        "date",
        "root",
        "day_key",
        month_index_contract(pl.col("old_month")).alias("contract"),
        ((steps - pl.col("step")) / steps).alias("weight"),
    )
    new_leg = frame.select(
        "date",
        "root",
        "day_key",
        month_index_contract(pl.col("new_month")).alias("contract"),
        (pl.col("step") / steps).alias("weight"),
    )
    # Sorted on one integer key (root, date, contract order): much cheaper than a multi-key sort.
    return (
        pl.concat([old_leg, new_leg])
        .filter(pl.col("weight") > 0)
        .sort(pl.col("day_key") * KEY_SCALE + pl.col("contract"))
        .collect()
    )
