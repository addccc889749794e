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
  (:func:`first_notice_day`), so the index rolls fully at the close of the front contract's
  roll point.
- :class:`DataRoll`. The index follows the contract the imported data names (``market.held``,
  pysystemtrade's PRICE contract; :func:`data_roll_targets`): the weight at the close of ``t``
  is on the contract the data holds on the next business day (the roll happens at the close of
  the day before the data's contract changes) when that contract has a settlement on
  ``t``; otherwise the index keeps the contract it held at the close of ``t - 1``. So the data's
  roll is followed at the first close where the new contract has a settlement, a contract the
  data holds on no close with a settlement is skipped, and every daily return is close to close
  on one contract (docs/design.md section 2). A root's days before its first such close have
  no weight (its series starts there).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from indexcalc.data.instruments import Instrument
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, SpecError
from indexcalc.specs.base import DataRoll, FirstNoticeRoll, RollRule, WindowRoll

SCHEDULE_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "root": pl.String(),
    "contract": pl.Int32(),
    "weight": pl.Float64(),
}

MONTHS_PER_YEAR = 12


def contract_month_index(contract: pl.Expr) -> pl.Expr:
    """``YYYYMM`` contract -> month index ``year * 12 + month - 1`` (Int32)."""
    contract = contract.cast(pl.Int32)
    return (contract // 100) * MONTHS_PER_YEAR + contract % 100 - 1


def month_index_contract(month_index: pl.Expr) -> pl.Expr:
    """Month index ``year * 12 + month - 1`` -> ``YYYYMM`` contract (Int32)."""
    return ((month_index // MONTHS_PER_YEAR) * 100 + month_index % MONTHS_PER_YEAR + 1).cast(pl.Int32)


def select_roots(market: MarketData, roots: list[str] | None) -> list[str]:
    """The roots to work on, sorted: all roots with prices, or ``roots`` (each must have prices)."""
    available = market.roots  # found once per market (MarketData caches it)
    if roots is None:
        return available
    missing = sorted(set(roots) - set(available))
    if missing:
        raise DataError("no prices for this root", file=market.source or None, key=f"root {missing[0]}")
    return sorted(set(roots))


def price_roots(prices: pl.DataFrame) -> list[str]:
    """The sorted roots that have prices (cheap when the frame is sorted by root)."""
    runs = _root_runs(prices)
    if runs is not None:
        return runs.get_column("value").to_list()
    return sorted(prices.get_column("root").unique().to_list())


def _root_runs(prices: pl.DataFrame) -> pl.DataFrame | None:
    """``len, value``: the runs of equal ``root`` values, if each root is one run and the runs
    are in root order (the documented sort of the prices frame); None otherwise."""
    runs = prices.select(pl.col("root").rle()).unnest("root")
    values = runs.get_column("value")
    if values.null_count() or not (values.shift(-1) > values).head(values.len() - 1).all():
        return None
    return runs


PRICE_BLOCK_ROWS = 4_000_000
"""Price rows per block of roots (:func:`root_blocks`) in work done root by root over the price
rows: a memory bound (a block's intermediates are a few hundred bytes per row), not a
methodology parameter, since the results are the same for any block size. Markets up to this
size are one block."""


def root_blocks(prices: pl.DataFrame, roots: list[str], max_rows: int) -> list[tuple[list[str], pl.DataFrame]]:
    """``prices`` cut into blocks of whole roots, each holding about ``max_rows`` rows of ``roots``.

    Returns ``(block roots, block prices)`` pairs in root order; together the block roots are
    the sorted ``roots``. A root with more than ``max_rows`` rows is a block of its own. On
    prices sorted by root (the documented order) a block's prices are a zero-copy slice from
    its first root's rows to its last root's (rows of other roots in between are left for the
    caller to drop, as :func:`indexed_prices` does); otherwise, or when all the prices fit, one
    block ``(sorted roots, prices)``. Work done per root (roll schedules, linked series) can
    then run block by block, so that its per-price-row intermediates take a block's memory
    rather than the whole market's.
    """
    wanted = sorted(roots)
    if prices.height <= max_rows:
        return [(wanted, prices)]
    runs = _root_runs(prices)
    if runs is None:
        return [(wanted, prices)]
    keep = set(wanted)
    blocks: list[list] = []  # [roots, first row, end row, rows of the roots]
    offset = 0
    for root, length in zip(runs.get_column("value").to_list(), runs.get_column("len").to_list()):
        if root in keep:
            if blocks and blocks[-1][3] + length <= max_rows:
                blocks[-1][0].append(root)
                blocks[-1][2] = offset + length
                blocks[-1][3] += length
            else:
                blocks.append([[root], offset, offset + length, length])
        offset += length
    if len(blocks) <= 1:
        return [(wanted, prices)]
    return [(block, prices.slice(first, end - first)) for block, first, end, _ in blocks]


KEY_SCALE = 2**20
"""Packing base of the integer lookup keys: contracts (YYYYMM) and day numbers are below it."""


def root_id(roots: list[str]) -> pl.Expr:
    """Position of ``root`` in the sorted ``roots`` (Int64; null for a root not in ``roots``)."""
    return pl.col("root").cast(pl.Enum(sorted(roots)), strict=False).to_physical().cast(pl.Int64)


def day_key(roots: list[str], date: str = "date") -> pl.Expr:
    """Integer key of (root, date), increasing in root then date."""
    return root_id(roots) * KEY_SCALE + pl.col(date).cast(pl.Int32).cast(pl.Int64)


def price_key(roots: list[str], date: str = "date", contract: str = "contract") -> pl.Expr:
    """Integer key of (root, date, contract), increasing in root, date, contract."""
    return day_key(roots, date) * KEY_SCALE + pl.col(contract).cast(pl.Int64)


def indexed_prices(prices: pl.DataFrame, roots: list[str], source: str = "") -> pl.DataFrame:
    """The prices of ``roots`` sorted by root, date, contract, with integer keys.

    Columns ``date, root, contract, settle, day_key, price_key`` (see :func:`day_key`,
    :func:`price_key`); ``price_key`` is strictly increasing, so lookups are binary searches.
    A duplicated (date, root, contract) is a DataError.
    """
    frame = prices.select("date", "root", "contract", "settle")
    runs = _root_runs(frame)
    price_key = None
    if runs is not None and frame.get_column("date").null_count() == 0 and frame.get_column("contract").null_count() == 0:
        frame, price_key = _keyed_runs(frame, runs, roots)
    elif runs is not None:
        # Sorted by root: each run's position in ``roots`` (-1: not wanted), repeated per row.
        position = {root: index for index, root in enumerate(sorted(roots))}
        run_ids = np.array([position.get(root, -1) for root in runs.get_column("value").to_list()], dtype=np.int64)
        ids = pl.Series("root_position", np.repeat(run_ids, runs.get_column("len").to_numpy()))
        frame = frame.with_columns(ids)
        if (run_ids < 0).any():
            frame = frame.filter(pl.col("root_position") >= 0)
    else:
        frame = frame.with_columns(root_id(roots).alias("root_position")).filter(pl.col("root_position").is_not_null())
    if price_key is None:
        day = pl.col("root_position") * KEY_SCALE + pl.col("date").cast(pl.Int32).cast(pl.Int64)
        frame = frame.with_columns(day.alias("day_key")).with_columns(
            (pl.col("day_key") * KEY_SCALE + pl.col("contract").cast(pl.Int64)).alias("price_key")
        ).drop("root_position")
        in_order = frame.select((pl.col("price_key").diff() > 0).all()).item()
    else:
        in_order = bool((price_key[1:] > price_key[:-1]).all())
    if not in_order:
        frame = frame.sort("price_key")
        duplicated = frame.filter(pl.col("price_key").is_duplicated())
        if duplicated.height:
            date, root, contract = duplicated.row(0)[:3]
            raise DataError(
                "duplicated price row", file=source or None, key=f"root {root}, contract {contract}, date {date}"
            )
    return frame


def _keyed_runs(frame: pl.DataFrame, runs: pl.DataFrame, roots: list[str]) -> tuple[pl.DataFrame, np.ndarray]:
    """``frame`` (sorted by root, no null date or contract) cut to ``roots``, with ``day_key`` and
    ``price_key`` built in numpy from the root runs (the same integers as :func:`price_key`: a
    root's position times KEY_SCALE plus the date's day number, and so on, without a pass of
    polars expressions and their temporaries over every price row)."""
    position = {root: index for index, root in enumerate(sorted(roots))}
    run_ids = np.array([position.get(root, -1) for root in runs.get_column("value").to_list()], dtype=np.int64)
    lengths = runs.get_column("len").to_numpy()
    wanted = run_ids >= 0
    if not wanted.all():
        frame = frame.filter(pl.Series(np.repeat(wanted, lengths)))
        run_ids, lengths = run_ids[wanted], lengths[wanted]
    day_keys = np.repeat(run_ids * KEY_SCALE, lengths)
    day_keys += frame.get_column("date").to_physical().to_numpy()
    price_keys = day_keys * KEY_SCALE
    price_keys += frame.get_column("contract").to_numpy()
    return frame.with_columns(pl.Series("day_key", day_keys), pl.Series("price_key", price_keys)), price_keys


def lookup_settle(prices: pl.DataFrame, keys: pl.Series) -> pl.Series:
    """Settle of each ``price_key`` in ``keys`` from :func:`indexed_prices` output (null if absent)."""
    known = prices.get_column("price_key")
    if known.len() == 0:
        return pl.Series("settle", [None] * keys.len(), dtype=pl.Float64)
    position = known.search_sorted(keys, side="left").clip(0, known.len() - 1)
    found = known.gather(position) == keys
    return pl.select(
        pl.when(found).then(prices.get_column("settle").gather(position)).alias("settle")
    ).to_series()


def business_days(prices: pl.DataFrame, roots: list[str] | None = None) -> pl.DataFrame:
    """The business days of each root: the dates on which it has prices.

    Columns ``root, date, day_key, day_index`` (0, 1, ... per root), ``month`` (month index
    ``year * 12 + month - 1``), ``day_of_month`` (business day number in the month, from 1),
    ``days_in_month`` (business days the root has in that month) and ``month_complete`` (the root
    has a later date, so the month's business days are all known). Sorted by root, date.
    """
    roots = price_roots(prices) if roots is None else sorted(roots)
    return _days_of(indexed_prices(prices, roots))


def _days_of(indexed: pl.DataFrame) -> pl.DataFrame:
    # Rows are sorted by root and date, so per-root and per-month counts are distances between
    # run starts and ends (cheaper than window expressions).
    root_position = pl.col("day_key") // KEY_SCALE
    month = (pl.col("date").dt.year() * MONTHS_PER_YEAR + pl.col("date").dt.month() - 1).cast(pl.Int32)
    new_root = root_position != root_position.shift(1)
    new_month = new_root | (pl.col("month") != pl.col("month").shift(1))
    last_of_root = root_position != root_position.shift(-1)
    last_of_month = last_of_root | (pl.col("month") != pl.col("month").shift(-1))
    row = pl.int_range(pl.len(), dtype=pl.Int32)
    return (
        indexed.lazy()
        .filter((pl.col("day_key") != pl.col("day_key").shift(1)).fill_null(True))
        .select("root", "date", "day_key", month.alias("month"))
        .with_columns(
            (row - pl.when(new_root.fill_null(True)).then(row).forward_fill()).alias("day_index"),
            (row - pl.when(new_month.fill_null(True)).then(row).forward_fill() + 1).alias("day_of_month"),
            (
                pl.when(last_of_month.fill_null(True)).then(row).backward_fill()
                - pl.when(new_month.fill_null(True)).then(row).forward_fill()
                + 1
            ).alias("days_in_month"),
            (pl.col("month") < pl.when(last_of_root.fill_null(True)).then(pl.col("month")).backward_fill()).alias(
                "month_complete"
            ),
        )
        .collect()
    )


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
    """:func:`roll_schedule` on prices already passed through :func:`indexed_prices`, with the
    rows' ``day_key`` as a last column."""
    days = _days_of(indexed)
    if isinstance(rule, WindowRoll):
        schedule = _window_schedule(market, rule, roots, days)
    elif isinstance(rule, FirstNoticeRoll):
        schedule = _first_notice_schedule(market, rule, roots, indexed, days)
    elif isinstance(rule, DataRoll):
        schedule = _data_schedule(market, roots, indexed, days)
    else:  # pragma: no cover - the RollRule union is closed
        raise SpecError(f"unknown roll rule {rule!r}")
    # Each rule builds its rows in day_key (root, date) then contract order.
    return schedule.select(*SCHEDULE_SCHEMA.keys(), "day_key").cast(SCHEDULE_SCHEMA)


# --- window roll ---------------------------------------------------------------------------------


def _instruments_for(market: MarketData, roots: list[str], rule_name: str) -> list[Instrument]:
    missing = [root for root in roots if root not in market.instruments]
    if missing:
        raise SpecError(
            f"no instrument definition (the {rule_name} roll needs its months and roll terms)",
            file=market.source or None,
            key=f"root {missing[0]}",
        )
    return [market.instruments[root] for root in roots]


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


def month_mask(roots: list[str], months: dict[str, tuple[int, ...]]) -> pl.Expr:
    """True where the delivery month of ``contract`` is in ``months[root]`` (e.g. hold months),
    on frames with a ``day_key`` (a table lookup by root position and calendar month)."""
    table = pl.Series(
        [month in set(months[root]) for root in sorted(roots) for month in range(1, MONTHS_PER_YEAR + 1)]
    )
    position = (pl.col("day_key") // KEY_SCALE) * MONTHS_PER_YEAR + pl.col("contract").cast(pl.Int64) % 100 - 1
    return pl.lit(table).gather(position)


def _root_table(values: list[int]) -> pl.Expr:
    """A per-root (or per root and calendar month) integer table to ``gather`` from."""
    return pl.lit(pl.Series(values, dtype=pl.Int64))


def _window_schedule(market: MarketData, rule: WindowRoll, roots: list[str], days: pl.DataFrame) -> pl.DataFrame:
    if rule.last_day < rule.first_day:
        raise SpecError(f"roll window last_day {rule.last_day} is before first_day {rule.first_day}")
    instruments = _instruments_for(market, roots, "window")
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


# --- first-notice roll ---------------------------------------------------------------------------


def future_business_days(market: MarketData, calendar: str, after: dt.date, count: int) -> tuple[dt.date, ...]:
    """The first ``count`` sessions after ``after`` of the exchange calendar ``calendar``, from
    the market's ``sessions`` (loaded at the edge, :func:`indexcalc.data.calendars.with_exchange_sessions`):
    the business days the data cannot show yet. A market without them, or whose sessions end
    before ``count`` days after ``after``, is a DataError (nothing is built or read here)."""
    sessions = market.sessions
    days = (
        pl.Series("date", [], dtype=pl.Date)
        if sessions is None
        else sessions.filter((pl.col("calendar") == calendar) & (pl.col("date") > after)).get_column("date").sort()
    )
    if days.len() < count:
        raise DataError(
            f"the market's exchange sessions of calendar {calendar} end before {count} business days after {after}"
            " (markets get their sessions from the loaders: indexcalc.data.calendars.with_exchange_sessions)",
            file=market.source or None,
            key=f"calendar {calendar}",
        )
    return tuple(days.head(count).to_list())


def first_notice_day(
    market: MarketData,
    roots: list[str] | None = None,
    horizon_business_days: int = 65,
) -> pl.DataFrame:
    """First notice day of every listed contract priced in the market.

    First notice day = ``Instrument.first_notice_offset`` business days before the first business
    day of the delivery month (offset 1 = the last business day of the previous month), counted
    on the root's own business days (the dates it has prices). Where the delivery month starts
    after the root's last date, the root's days are extended with the exchange calendar's
    sessions (``Instrument.calendar``, from ``market.sessions``, see :func:`future_business_days`), so first notice days
    up to ``horizon_business_days`` business days after the root's last date are found; one
    beyond that is null (as is one before the root's first date).

    Returns ``root, contract, first_notice_day`` (Date) and ``first_notice_index`` (position of
    that day in the root's business days, 0 = its first date; negative before the first date,
    null beyond the horizon), sorted by root, contract. A root without ``first_notice_offset``
    is a SpecError.
    """
    selected = select_roots(market, roots)
    if not selected:
        return pl.DataFrame(
            schema={"root": pl.String, "contract": pl.Int32, "first_notice_day": pl.Date, "first_notice_index": pl.Int32}
        )
    indexed = indexed_prices(market.prices, selected, market.source)
    return _first_notice_days(market, selected, indexed, _days_of(indexed), horizon_business_days)


def _first_notice_days(
    market: MarketData,
    roots: list[str],
    indexed: pl.DataFrame,
    days: pl.DataFrame,
    horizon_business_days: int,
) -> pl.DataFrame:
    instruments = _instruments_for(market, roots, "first-notice")
    without_offset = [instrument.root for instrument in instruments if instrument.first_notice_offset is None]
    if without_offset:
        raise SpecError(
            "instrument has no first_notice_offset (needed for the first-notice roll)",
            file=market.source or None,
            key=f"root {without_offset[0]}",
        )
    days = days.select("root", "date", "day_index")
    offsets = {instrument.root: instrument.first_notice_offset for instrument in instruments}
    last_days = days.group_by("root").agg(pl.col("date").last(), pl.col("day_index").last())
    # Per root (a few rows each): the exchange's next sessions after the data's last date.
    extension = [
        (root, day, last_index + 1 + position)
        for root, last_date, last_index in last_days.iter_rows()
        for position, day in enumerate(
            future_business_days(
                market,
                market.instruments[root].calendar, last_date, offsets[root] + horizon_business_days + 1
            )
        )
    ]
    calendar_days = pl.concat(
        [days, pl.DataFrame(extension, schema=days.schema, orient="row")]
    ).sort("root", "date")
    offset_frame = pl.DataFrame(
        {"root": list(offsets), "first_notice_offset": list(offsets.values())},
        schema={"root": pl.String, "first_notice_offset": pl.Int32},
    )
    listed = month_mask(roots, {instrument.root: instrument.listed_month_numbers for instrument in instruments})
    contracts = (
        indexed.lazy()
        .filter(listed)
        .select("root", "contract")
        .unique()
        .with_columns(pl.date(pl.col("contract") // 100, pl.col("contract") % 100, 1).alias("delivery_start"))
        .sort("delivery_start")
        .collect()
    )
    located = (
        contracts.join_asof(
            calendar_days.sort("date").rename({"date": "first_business_day"}),
            left_on="delivery_start",
            right_on="first_business_day",
            by="root",
            strategy="forward",
            check_sortedness=False,
        )
        .join(offset_frame, on="root")
        .with_columns((pl.col("day_index") - pl.col("first_notice_offset")).alias("first_notice_index"))
    )
    return (
        located.join(
            calendar_days.rename({"date": "first_notice_day", "day_index": "first_notice_index"}),
            on=["root", "first_notice_index"],
            how="left",
        )
        .select("root", "contract", "first_notice_day", "first_notice_index")
        .sort("root", "contract")
    )


def _first_notice_schedule(
    market: MarketData, rule: FirstNoticeRoll, roots: list[str], indexed: pl.DataFrame, days: pl.DataFrame
) -> pl.DataFrame:
    # Roll points up to one day after the data need the calendar that far (and no further).
    notices = _first_notice_days(market, roots, indexed, days, rule.days_before)
    roll_points = notices.select(
        "root", "contract", (pl.col("first_notice_index") - rule.days_before).alias("roll_index")
    )
    # Eligible at the close of t: priced, listed, and t before the contract's roll point (a roll
    # point beyond the known days, null, lies after every date of the data).
    candidates = (
        indexed.lazy()
        .filter(pl.col("settle") > 0)
        .join(roll_points.lazy(), on=["root", "contract"])
        .join(days.lazy().select("day_key", "day_index"), on="day_key")
        .filter(pl.col("roll_index").is_null() | (pl.col("roll_index") > pl.col("day_index")))
        .sort("price_key")
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("row"))
        .with_columns(
            (
                pl.col("row")
                - pl.when(pl.col("day_key") != pl.col("day_key").shift(1).fill_null(-1))
                .then(pl.col("row"))
                .forward_fill()
                + 1
            ).alias("position")
        )
    )
    held = (
        candidates.filter(pl.col("position") == rule.position).select("root", "date", "contract", "day_key").collect()
    )
    short = days.select("root", "date", "day_key").join(held, on="day_key", how="anti")
    if short.height:
        root, date = short.sort("date").row(0)[:2]
        raise DataError(
            f"fewer than {rule.position} priced contracts before their roll point (first-notice roll)",
            file=market.source or None,
            key=f"root {root}, date {date}",
        )
    return held.with_columns(pl.lit(1.0).alias("weight"))


# --- data roll -----------------------------------------------------------------------------------


def data_roll_targets(market: MarketData, roots: list[str], indexed: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    """The data roll, day by day (module doc): ``root, date, day_key, file_contract, contract``.

    ``file_contract`` is the contract the data holds on the next business day (on a root's last
    day, the one it holds that day; the last held contract named on or before a day counts
    for it), ``contract`` the one the index holds at the close (null before the root's first
    close where ``file_contract`` is priced):

        contract_t = file_contract_t   if settle(file_contract_t, t) exists
                     contract_{t-1}    otherwise

    ``indexed`` from :func:`indexed_prices`, ``days`` from :func:`business_days` (both sorted by
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


def _data_schedule(market: MarketData, roots: list[str], indexed: pl.DataFrame, days: pl.DataFrame) -> pl.DataFrame:
    return (
        data_roll_targets(market, roots, indexed, days)
        .drop_nulls("contract")
        .with_columns(pl.lit(1.0).alias("weight"))
    )
