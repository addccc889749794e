"""Roots whose data ends early: one rule for the rebuild and the daily run (docs/design.md
sections 2, 3 and 7).

A root has *ended* as of day ``t`` when its last settlement on or before ``t`` (any
contract), on day ``l``, is followed by more than :data:`ENDED_AFTER_BUSINESS_DAYS` business
days of its exchange up to ``t``::

    gap_{i,t}   = #{ business days d of root i's exchange : l_{i,t} < d <= t }
    ended_{i,t} = gap_{i,t} > ENDED_AFTER_BUSINESS_DAYS

Until it resumes, such a root's linked level is its last one, carried flat in every composite
(each day without a price of a root keeps its previous level: its return is 0), and it leaves
the momentum indexes at the first rebalance ``r`` at which ``ended_{i,r}``: from then on it is
no member and the magnitudes are shared among the others (:mod:`indexcalc.families.momentum.compute`).
The daily run, which refuses a day on which a root in use lacks its settlement (the data may be
late), accepts a root that has ended as of the run's date and says so once in its output; so
does the rebuild. Both compute the levels with the same code on the same data up to each day,
so they publish the same levels.

The gap counts exchange business days, not index dates, so that it is the same whatever the
other roots of an index do. A root that has not started by ``t`` has not ended. The business
days come from the market's ``sessions`` when given (the calculation then builds no calendar:
the families pass ``market.sessions``); without them (the daily run's checks, a market built
by hand) from :func:`indexcalc.data.calendars.business_days`, the same calendar policy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import polars as pl

from indexcalc.data.calendars import business_days
from indexcalc.data.instruments import Instrument
from indexcalc.errors import DataError

ENDED_AFTER_BUSINESS_DAYS = 5
"""A root with no settlement for more than this many business days of its exchange has ended
(the large commodity index methodologies treat five disrupted days as the limit after which a
price is no longer awaited)."""

ENDED_SCHEMA: dict[str, pl.DataType] = {"root": pl.String(), "last_date": pl.Date(), "gap": pl.Int64()}


def exchange_days(calendar: str, start: dt.date, end: dt.date, sessions: pl.DataFrame | None = None) -> pl.Series:
    """Business days of ``calendar`` from ``start`` to ``end`` (sorted ``Date``): from
    ``sessions`` (``calendar, date``, a market's :attr:`~indexcalc.data.market.MarketData.sessions`)
    when given, where a calendar they do not hold is a DataError; else computed by
    :func:`~indexcalc.data.calendars.business_days`."""
    if sessions is None:
        return business_days(calendar, start, end)
    own = sessions.filter(pl.col("calendar") == calendar)
    if own.height == 0:
        raise DataError(f"the market's exchange sessions have no calendar {calendar}", key=f"calendar {calendar}")
    return own.filter(pl.col("date").is_between(start, end)).get_column("date").sort()


def ended_roots(
    priced_days: pl.DataFrame,
    instruments: dict[str, Instrument],
    as_of: dt.date,
    after: int = ENDED_AFTER_BUSINESS_DAYS,
    sessions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:data:`ENDED_SCHEMA`: the roots of ``priced_days`` (``root, date``: the days a root has a
    settlement, :func:`priced_days`, or only each root's last one,
    :func:`last_priced_days`) that have ended as of ``as_of`` (module formula), with their last
    priced day and the gap in business days of their exchange; sorted by root. ``sessions``:
    see :func:`exchange_days`."""
    last = (
        priced_days.filter(pl.col("date") <= as_of)
        .group_by("root")
        .agg(pl.col("date").max().alias("last_date"))
        .sort("root")
    )
    rows = [
        (root, last_date, exchange_days(instruments[root].calendar, last_date + dt.timedelta(days=1), as_of, sessions).len())
        for root, last_date in last.iter_rows()
    ]
    frame = pl.DataFrame(rows, schema=ENDED_SCHEMA, orient="row")
    return frame.filter(pl.col("gap") > after)


def ended_at(
    priced_days: pl.DataFrame,
    instruments: dict[str, Instrument],
    dates: pl.Series,
    after: int = ENDED_AFTER_BUSINESS_DAYS,
    sessions: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``date, root``: every date of ``dates`` at which a root of ``priced_days`` (``root, date``)
    has ended (module formula; the root's own days up to that date only), sorted by date, root.
    ``sessions``: see :func:`exchange_days`."""
    targets = dates.unique().sort().to_numpy().astype("datetime64[D]")
    if targets.size == 0 or priced_days.height == 0:
        return pl.DataFrame(schema={"date": pl.Date(), "root": pl.String()})
    # only a root with more than ``after`` calendar days between two priced days, or after its
    # last one, can have more than ``after`` business days without a price
    last_target = targets[-1].astype(dt.date)
    candidates = (
        priced_days.sort("root", "date")
        .group_by("root")
        .agg(
            pl.col("date").diff().dt.total_days().max().fill_null(0).alias("widest"),
            (pl.lit(last_target) - pl.col("date").max()).dt.total_days().alias("after_last"),
        )
        .filter((pl.col("widest") > after) | (pl.col("after_last") > after))
        .get_column("root")
    )
    frames = []
    selected = priced_days.filter(pl.col("root").is_in(candidates.implode())).select("root", "date").unique()
    for (root,), days in selected.partition_by("root", as_dict=True).items():
        own = np.sort(days.get_column("date").to_numpy().astype("datetime64[D]"))
        if own.size == 0 or targets.size == 0:
            continue
        days_open = exchange_days(
            instruments[root].calendar, own[0].astype(dt.date), max(own[-1], targets[-1]).astype(dt.date), sessions
        ).to_numpy().astype("datetime64[D]")
        # the root's last priced day on or before each date (none before its first day)
        position = np.searchsorted(own, targets, side="right") - 1
        started = position >= 0
        last = own[np.maximum(position, 0)]
        gap = np.searchsorted(days_open, targets, side="right") - np.searchsorted(days_open, last, side="right")
        ended = started & (gap > after)
        if ended.any():
            frames.append(pl.DataFrame({"date": targets[ended], "root": root}, schema={"date": pl.Date, "root": pl.String}))
    if not frames:
        return pl.DataFrame(schema={"date": pl.Date(), "root": pl.String()})
    return pl.concat(frames).sort("date", "root")


def priced_days(prices: pl.DataFrame, roots: Iterable[str] | None = None) -> pl.DataFrame:
    """``root, date``: the days on which a root has a settlement (any contract), sorted.

    ``prices`` in the market's order (root, date, contract): a day's rows are consecutive, so
    the first of each is kept without hashing (any other order is sorted first)."""
    frame = prices.filter(pl.col("settle").is_not_null())
    if roots is not None:
        frame = frame.filter(pl.col("root").is_in(sorted(set(roots))))
    frame = frame.select("root", "date")
    ordered = frame.select(
        ((pl.col("root") > pl.col("root").shift(1)) | ((pl.col("root") == pl.col("root").shift(1))
                                                       & (pl.col("date") >= pl.col("date").shift(1))))
        .fill_null(True).all()
    ).item()
    if not ordered:
        frame = frame.sort("root", "date")
    first_of_day = ((pl.col("root") != pl.col("root").shift(1)) | (pl.col("date") != pl.col("date").shift(1))).fill_null(True)
    return frame.filter(first_of_day)


def last_priced_days(prices: pl.DataFrame, roots: Iterable[str], as_of: dt.date) -> pl.DataFrame:
    """``root, date``: each root's last day with a settlement on or before ``as_of``
    (the input :func:`ended_roots` needs, without listing every priced day)."""
    return (
        prices.filter(pl.col("root").is_in(sorted(set(roots))) & (pl.col("date") <= as_of) & pl.col("settle").is_not_null())
        .group_by("root")
        .agg(pl.col("date").max())
    )


def ended_notice(root: str, last_date: dt.date, gap: int) -> str:
    """The one-line notice the rebuild and the daily run print for an ended root."""
    return (
        f"notice: root {root} has had no settlement since {last_date} ({gap} business days of its exchange, "
        f"more than {ENDED_AFTER_BUSINESS_DAYS}): its data has ended; its last price is carried flat, and it "
        f"leaves the momentum indexes at the first rebalance after the {ENDED_AFTER_BUSINESS_DAYS}th day"
    )
