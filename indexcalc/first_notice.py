"""The first-notice roll (docs/design.md section 2): first notice days of the listed contracts
and the schedule that holds the ``position``-th contract before its roll point.

First notice day = ``Instrument.first_notice_offset`` business days before the first business
day of the delivery month, on the root's own business days extended with its exchange's
sessions beyond the data; a contract's roll point is ``days_before`` business days before it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, SpecError
from indexcalc.keyed_prices import indexed_business_days, indexed_prices, instruments_for, month_mask, select_roots
from indexcalc.specs.base import FirstNoticeRoll


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
    return _first_notice_days(market, selected, indexed, indexed_business_days(indexed), horizon_business_days)


def _first_notice_days(
    market: MarketData,
    roots: list[str],
    indexed: pl.DataFrame,
    days: pl.DataFrame,
    horizon_business_days: int,
) -> pl.DataFrame:
    instruments = instruments_for(market, roots, "first-notice")
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


def first_notice_schedule(
    market: MarketData, rule: FirstNoticeRoll, roots: list[str], indexed: pl.DataFrame, days: pl.DataFrame
) -> pl.DataFrame:
    """``root, date, contract, day_key, weight``: weight 1 on the ``rule.position``-th priced
    contract whose roll point lies after the close (:mod:`indexcalc.rolls`)."""
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
