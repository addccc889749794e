"""The index calendar, the data's end and the required data of a day (docs/design.md section 7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

import polars as pl

from indexcalc.data.calendars import business_days
from indexcalc.data.market import MarketData
from indexcalc.errors import DataError, StateError
from indexcalc.operations.options import CalendarSource
from indexcalc.pipeline import computable, roll_rule_for
from indexcalc.rules.ended import ended_notice, ended_roots, last_priced_days
from indexcalc.specs import IndexSpecBase

HELD_CONTRACT_LOOKBACK_DAYS = 120
"""Calendar days of prices before D used to find the contracts held at the previous close (a
roll schedule at a close depends only on its own and the previous month's business days)."""

# --- index calendar and required data ---------------------------------------------------------


def roots_in_use(spec: IndexSpecBase, market: MarketData, available: set[str] | None = None) -> list[str]:
    """The roots of ``spec`` that the market has prices for (sorted); ``available`` = the
    market's roots when already known."""
    available = set(market.roots) if available is None else available
    return sorted(set(spec.select_roots(market.instruments)) & available)


def index_calendar(
    market: MarketData,
    specs: Iterable[IndexSpecBase],
    start: dt.date,
    end: dt.date,
    source: CalendarSource = "exchange",
) -> pl.DataFrame:
    """``index_id, date``: the business days of each index from ``start`` to ``end`` inclusive.

    ``exchange``: the union of the business days (:func:`indexcalc.data.calendars.business_days`)
    of the exchanges of the index's roots in use; ``data``: the dates on which one of those roots
    has prices. Sorted by index, date.
    """
    available = set(market.roots)
    members = pl.DataFrame(
        [(spec.id, root) for spec in specs for root in roots_in_use(spec, market, available)],
        schema={"index_id": pl.String, "root": pl.String},
        orient="row",
    )
    roots = sorted(set(members.get_column("root").to_list()))
    if source == "exchange":
        codes = sorted({market.instruments[root].calendar for root in roots})
        code_days = {code: business_days(code, start, end) for code in codes}
        root_days = pl.concat(
            [
                pl.DataFrame({"root": root, "date": code_days[market.instruments[root].calendar]},
                             schema={"root": pl.String, "date": pl.Date})
                for root in roots
            ]
            or [pl.DataFrame(schema={"root": pl.String, "date": pl.Date})]
        )
    elif source == "data":
        root_days = (
            market.prices.filter(pl.col("date").is_between(start, end) & pl.col("root").is_in(roots))
            .select("root", "date")
            .unique()
        )
    else:
        raise StateError(f"unknown calendar source {source!r} (expected exchange or data)")
    return members.join(root_days, on="root").select("index_id", "date").unique().sort("index_id", "date")


def calendar_days(calendar: pl.DataFrame) -> list[dt.date]:
    """The sorted union of the dates of an :func:`index_calendar` frame."""
    return calendar.get_column("date").unique().sort().to_list()


def check_required_data(
    market: MarketData, specs: Iterable[IndexSpecBase], date: dt.date, through: dt.date | None = None
) -> None:
    """Raise a DataError if a root in use whose exchange is open on ``date`` has no
    settlement on ``date`` for a contract it held at its previous close (with the roll rule of
    each index that holds it; :func:`indexcalc.rolls.roll_schedule`); the error names root,
    contract and date.

    A root without any settlement on ``date`` that has *ended* as of ``through`` (default
    ``date``; the run's date when catching up) is not missing: its data stopped, its last price
    is carried as the rebuild carries it, and the run says so (:mod:`indexcalc.rules.ended`,
    :func:`ended_root_notices`). ``market`` may hold data up to ``through``; only the data up to
    ``date`` decides anything else.

    Cheap first pass: the roots with no settlement at all on ``date`` (zero and negative
    settlements are prices, docs/design.md section 2); only for those
    is the roll schedule computed (on :data:`HELD_CONTRACT_LOOKBACK_DAYS` of prices) to name
    the held contract. A root that is priced on ``date`` but not in its held contract is a
    market disruption, which the calculation itself reports (:func:`indexcalc.series.build_series`)
    with the same root, contract and date.
    """
    from indexcalc.rolls import roll_schedule

    available = set(market.roots)
    roots_by_rule: dict[str, tuple[object, set[str]]] = {}
    for spec in specs:
        rule = roll_rule_for(spec, market)
        entry = roots_by_rule.setdefault(rule.model_dump_json(), (rule, set()))
        entry[1].update(roots_in_use(spec, market, available))
    all_roots = sorted(set().union(*(roots for _, roots in roots_by_rule.values())))
    priced_roots = set(
        market.prices.filter((pl.col("date") == date) & pl.col("settle").is_not_null()).get_column("root").unique().to_list()
    )
    unpriced = {
        root
        for root in all_roots
        if root not in priced_roots and business_days(market.instruments[root].calendar, date, date).len() > 0
    }
    if unpriced:
        through = date if through is None else through
        last = last_priced_days(market.prices, unpriced, through)
        unpriced -= set(ended_roots(last, market.instruments, through).get_column("root"))
    if not unpriced:
        return
    first = date - dt.timedelta(days=HELD_CONTRACT_LOOKBACK_DAYS)
    in_window = pl.col("date").is_between(first, date) & pl.col("root").is_in(sorted(unpriced))
    window = replace(
        market,
        prices=market.prices.filter(in_window),
        held=None if market.held is None else market.held.filter(in_window),
    )
    without_history = sorted(unpriced - set(window.prices.get_column("root").unique().to_list()))
    if without_history:
        raise DataError(
            f"missing required data: no prices on {date} nor in the {HELD_CONTRACT_LOOKBACK_DAYS} days before",
            file=market.source or None,
            key=f"root {without_history[0]}, date {date}",
        )
    for rule, roots in roots_by_rule.values():
        selected = sorted(roots & unpriced)
        if not selected:
            continue
        schedule = roll_schedule(window, rule, selected).filter(pl.col("date") < date)
        held = schedule.filter(pl.col("date") == pl.col("date").max().over("root")).sort("root", "contract")
        root, contract = held.select("root", "contract").row(0)
        calendar = market.instruments[root].calendar
        raise DataError(
            f"missing required data: no settlement on {date} for the held contract "
            f"(the {calendar} exchange is open that day)",
            file=market.source or None,
            key=f"root {root}, contract {contract}, date {date}",
        )


def ended_root_notices(market: MarketData, specs: Iterable[IndexSpecBase], as_of: dt.date) -> list[str]:
    """One notice per root in use that has ended as of ``as_of`` (:mod:`indexcalc.rules.ended`),
    by root: what the rebuild and the daily run print, once per run."""
    available = set(market.roots)
    roots = {root for spec in specs for root in roots_in_use(spec, market, available)}
    # an ended root has no settlement on as_of: only those are looked at further
    priced = market.prices.filter((pl.col("date") == as_of) & pl.col("settle").is_not_null()).get_column("root").unique()
    roots -= set(priced.to_list())
    if not roots:
        return []
    ended = ended_roots(last_priced_days(market.prices, roots, as_of), market.instruments, as_of)
    return [ended_notice(root, last_date, gap) for root, last_date, gap in ended.iter_rows()]

def refuse_date_before_data(market: MarketData, date: dt.date) -> None:
    """A run date before the market's first date is a DataError saying where the data starts
    (rather than "not a business day")."""
    first = market.prices.get_column("date").min()
    if first is not None and date < first:
        raise DataError(f"before the data starts (on {first})", file=market.source or None, key=f"date {date}")

def data_end(market: MarketData) -> dt.date | None:
    """The last date with a settlement in the market (None for an empty market)."""
    return market.prices.get_column("date").max() if market.prices.height else None


def check_within_data(market: MarketData, date: dt.date) -> None:
    """A DataError naming the data's last date when ``date`` is after it (a run cannot compute
    a day the data does not reach)."""
    end = data_end(market)
    if end is None or date > end:
        raise DataError(
            f"{date} is after the end of the data: the data ends on {end} (run without --date to compute "
            "every unpublished session up to it)",
            file=market.source or None,
        )


def last_session(market: MarketData, specs: Iterable[IndexSpecBase], calendar_source: CalendarSource) -> dt.date:
    """The last business day of the index calendar on or before the data's last date: what
    ``indexcalc run`` without a date runs up to (catching up every unpublished day before it)."""
    end = data_end(market)
    if end is None:
        raise DataError("the market data has no prices", file=market.source or None)
    specs, _ = computable(list(specs), market)
    days = calendar_days(index_calendar(market, specs, end - dt.timedelta(days=31), end, calendar_source))
    if not days:
        raise DataError(f"no business day of the index calendar in the month before the data's end ({end})",
                        file=market.source or None)
    return days[-1]
