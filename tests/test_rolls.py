"""Roll schedules (docs/design.md section 2): window, first-notice and data rolls, hand-checked."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.data.instruments import MONTH_CODES, Instrument
from indexcalc.data.calendars import with_exchange_sessions
from indexcalc.data.market import PRICES_SCHEMA, MarketData
from indexcalc.errors import DataError, SpecError
from indexcalc.first_notice import first_notice_day, future_business_days
from indexcalc.keyed_prices import business_days, root_blocks
from indexcalc.rolls import roll_schedule
from tests.builders import instrument, weekdays
from indexcalc.specs.base import DataRoll, FirstNoticeRoll, WindowRoll

OLD, NEW = 202403, 202405






def market_on(
    dates: list[dt.date],
    contracts: list[int],
    instruments: list[Instrument] | None = None,
    held: pl.DataFrame | None = None,
) -> MarketData:
    """Every contract priced 100 on every date, for every instrument's root."""
    instruments = instruments or [instrument()]
    rows = [
        (date, item.root, contract, 100.0, None, None)
        for item in instruments
        for date in dates
        for contract in contracts
    ]
    prices = pl.DataFrame(rows, schema=PRICES_SCHEMA, orient="row").sort("root", "date", "contract")
    return with_exchange_sessions(
        MarketData(prices=prices, instruments={item.root: item for item in instruments}, held=held)
    )


def holdings(schedule: pl.DataFrame) -> dict[dt.date, dict[int, float]]:
    """{date: {contract: weight}} of one root's schedule."""
    result: dict[dt.date, dict[int, float]] = {}
    for date, contract, weight in schedule.select("date", "contract", "weight").iter_rows():
        result.setdefault(date, {})[contract] = weight
    return result


def test_window_roll_moves_weight_in_equal_steps_on_business_days_5_to_9() -> None:
    # February 2024 weekdays: 1 2 | 5 6 7 8 9 | 12 13 14 ... ; business day 5 is Feb 7.
    # FHKNUX rolled one month early: March (H) rolls into May (K) in February's window.
    dates = weekdays(dt.date(2024, 1, 22), dt.date(2024, 3, 8))
    held = holdings(roll_schedule(market_on(dates, [OLD, NEW, 202407]), WindowRoll()))
    assert held[dt.date(2024, 1, 22)] == {OLD: 1.0}  # January: February is not a hold month
    assert held[dt.date(2024, 2, 6)] == {OLD: 1.0}  # business day 4
    assert held[dt.date(2024, 2, 7)] == pytest.approx({OLD: 0.8, NEW: 0.2})
    assert held[dt.date(2024, 2, 8)] == pytest.approx({OLD: 0.6, NEW: 0.4})
    assert held[dt.date(2024, 2, 9)] == pytest.approx({OLD: 0.4, NEW: 0.6})
    assert held[dt.date(2024, 2, 12)] == pytest.approx({OLD: 0.2, NEW: 0.8})
    assert held[dt.date(2024, 2, 13)] == {NEW: 1.0}  # business day 9: roll complete
    assert held[dt.date(2024, 2, 29)] == {NEW: 1.0}
    assert held[dt.date(2024, 3, 8)] == {NEW: 1.0}  # March: April is not a hold month


def test_window_roll_counts_business_days_on_the_roots_own_dates_across_a_holiday() -> None:
    # No prices on Wednesday Feb 7: business day 5 becomes Feb 8 and day 9 Feb 14.
    dates = weekdays(dt.date(2024, 2, 1), dt.date(2024, 2, 20), closed=(dt.date(2024, 2, 7),))
    held = holdings(roll_schedule(market_on(dates, [OLD, NEW]), WindowRoll()))
    assert held[dt.date(2024, 2, 6)] == {OLD: 1.0}
    assert held[dt.date(2024, 2, 8)] == pytest.approx({OLD: 0.8, NEW: 0.2})
    assert held[dt.date(2024, 2, 9)] == pytest.approx({OLD: 0.6, NEW: 0.4})
    assert held[dt.date(2024, 2, 12)] == pytest.approx({OLD: 0.4, NEW: 0.6})
    assert held[dt.date(2024, 2, 13)] == pytest.approx({OLD: 0.2, NEW: 0.8})
    assert held[dt.date(2024, 2, 14)] == {NEW: 1.0}


def test_window_roll_completes_missing_steps_on_the_last_business_day_of_a_short_month() -> None:
    # February has only 7 business days in this data (1 2 5 6 7 8 9), then March follows:
    # steps 1 and 2 happen on days 5 and 6; steps 3-5 are completed on day 7 (Feb 9).
    dates = weekdays(dt.date(2024, 2, 1), dt.date(2024, 2, 9)) + weekdays(dt.date(2024, 3, 1), dt.date(2024, 3, 5))
    held = holdings(roll_schedule(market_on(dates, [OLD, NEW]), WindowRoll()))
    assert held[dt.date(2024, 2, 6)] == {OLD: 1.0}
    assert held[dt.date(2024, 2, 7)] == pytest.approx({OLD: 0.8, NEW: 0.2})
    assert held[dt.date(2024, 2, 8)] == pytest.approx({OLD: 0.6, NEW: 0.4})
    assert held[dt.date(2024, 2, 9)] == {NEW: 1.0}


def test_window_roll_in_a_month_shorter_than_the_first_window_day_rolls_fully_on_its_last_day() -> None:
    dates = [dt.date(2024, 2, 1), dt.date(2024, 2, 2), dt.date(2024, 2, 5), dt.date(2024, 3, 1)]
    held = holdings(roll_schedule(market_on(dates, [OLD, NEW]), WindowRoll()))
    assert held[dt.date(2024, 2, 2)] == {OLD: 1.0}
    assert held[dt.date(2024, 2, 5)] == {NEW: 1.0}


def test_window_roll_does_not_complete_in_the_datas_unfinished_last_month() -> None:
    # The data stops on business day 7: the month may continue, so no completion (0.4/0.6).
    dates = weekdays(dt.date(2024, 2, 1), dt.date(2024, 2, 9))
    held = holdings(roll_schedule(market_on(dates, [OLD, NEW]), WindowRoll()))
    assert held[dt.date(2024, 2, 9)] == pytest.approx({OLD: 0.4, NEW: 0.6})


def test_window_roll_respects_roll_months_before_and_a_custom_window() -> None:
    # Brent-like: May (K) rolls two months early, in March, into July (N); window days 2-3.
    brent = instrument(roll_months_before=2)
    dates = weekdays(dt.date(2024, 3, 1), dt.date(2024, 3, 8))
    held = holdings(roll_schedule(market_on(dates, [NEW, 202407], [brent]), WindowRoll(first_day=2, last_day=3)))
    assert held[dt.date(2024, 3, 1)] == {NEW: 1.0}
    assert held[dt.date(2024, 3, 4)] == pytest.approx({NEW: 0.5, 202407: 0.5})
    assert held[dt.date(2024, 3, 5)] == {202407: 1.0}


def test_window_roll_crosses_the_year_with_the_hold_cycle() -> None:
    # Copper-like HKNUZ: December (Z) rolls in November into next March (H); December itself
    # (January not held) keeps next March.
    copper = instrument("HG", hold_months="HKNUZ")
    dates = weekdays(dt.date(2024, 11, 1), dt.date(2024, 12, 31))
    held = holdings(roll_schedule(market_on(dates, [202412, 202503], [copper]), WindowRoll()))
    assert held[dt.date(2024, 11, 1)] == {202412: 1.0}
    assert held[dt.date(2024, 11, 7)] == pytest.approx({202412: 0.8, 202503: 0.2})
    assert held[dt.date(2024, 11, 13)] == {202503: 1.0}
    assert held[dt.date(2024, 12, 31)] == {202503: 1.0}


def test_window_roll_rejects_a_window_that_ends_before_it_starts() -> None:
    with pytest.raises(SpecError, match="last_day 4 is before first_day 5"):
        roll_schedule(market_on(weekdays(dt.date(2024, 2, 1), dt.date(2024, 2, 9)), [OLD]), WindowRoll(last_day=4))


def test_window_roll_needs_an_instrument_definition() -> None:
    market = market_on(weekdays(dt.date(2024, 2, 1), dt.date(2024, 2, 9)), [OLD])
    bare = MarketData(prices=market.prices, instruments={})
    with pytest.raises(SpecError, match="root XX"):
        roll_schedule(bare, WindowRoll())


def test_roll_schedule_rejects_a_root_without_prices() -> None:
    market = market_on(weekdays(dt.date(2024, 2, 1), dt.date(2024, 2, 9)), [OLD])
    with pytest.raises(DataError, match="root ZZ: no prices"):
        roll_schedule(market, WindowRoll(), roots=["ZZ"])


def test_business_days_number_each_month_on_the_roots_dates() -> None:
    dates = weekdays(dt.date(2024, 1, 30), dt.date(2024, 2, 6), closed=(dt.date(2024, 2, 1),))
    days = business_days(market_on(dates, [OLD]).prices)
    # Jan 30, 31 (the data's first two January days) | Feb 2, 5, 6 (Feb 1 closed)
    assert days.get_column("day_of_month").to_list() == [1, 2, 1, 2, 3]
    assert days.get_column("days_in_month").to_list() == [2, 2, 3, 3, 3]
    assert days.get_column("day_index").to_list() == [0, 1, 2, 3, 4]
    assert days.get_column("month_complete").to_list() == [True, True, False, False, False]


# --- first-notice roll ---------------------------------------------------------------------------


def copper_like(**fields) -> Instrument:
    terms = {"listed_months": "HKNUZ", "hold_months": "HKNUZ", "first_notice_offset": 1}
    terms.update(fields)
    return instrument("HG", **terms)


def test_first_notice_day_is_offset_business_days_before_the_delivery_month() -> None:
    # Offset 1: the last business day before March 1 2024 (a Friday) is Thursday Feb 29;
    # with Feb 29 closed it is Feb 28. Offset 5: Feb 29, 28, 27, 26, 23 -> Feb 23.
    dates = weekdays(dt.date(2024, 1, 2), dt.date(2024, 3, 28))
    notices = first_notice_day(market_on(dates, [OLD], [copper_like()]))
    assert notices.row(0, named=True)["first_notice_day"] == dt.date(2024, 2, 29)

    closed = weekdays(dt.date(2024, 1, 2), dt.date(2024, 3, 28), closed=(dt.date(2024, 2, 29),))
    notices = first_notice_day(market_on(closed, [OLD], [copper_like()]))
    assert notices.row(0, named=True)["first_notice_day"] == dt.date(2024, 2, 28)

    notices = first_notice_day(market_on(dates, [OLD], [copper_like(first_notice_offset=5)]))
    assert notices.row(0, named=True)["first_notice_day"] == dt.date(2024, 2, 23)


def test_first_notice_day_after_the_data_uses_the_exchange_calendar() -> None:
    # Data to Friday Mar 22 2024; April's first CME session is Monday Apr 1 and Good Friday
    # (Mar 29) is closed, so the first notice day of the April contract is Thursday Mar 28.
    monthly = copper_like(listed_months="FGHJKMNQUVXZ", hold_months="FGHJKMNQUVXZ")
    dates = weekdays(dt.date(2024, 3, 1), dt.date(2024, 3, 22))
    notices = first_notice_day(market_on(dates, [202404, 202406, 202412], [monthly]))
    day = dict(zip(notices.get_column("contract").to_list(), notices.get_column("first_notice_day").to_list()))
    assert day[202404] == dt.date(2024, 3, 28)
    assert notices.get_column("first_notice_index").to_list()[0] == len(dates) + 3  # Mar 25..28
    assert day[202406] == dt.date(2024, 5, 31)  # June 3 is the first June session
    assert day[202412] is None  # beyond the default horizon of 65 business days


def test_future_business_days_come_from_the_market_and_a_market_without_them_is_an_error() -> None:
    market = market_on([dt.date(2024, 3, 28)], [202404])
    # 2024-03-29 is Good Friday: CME closed (the calendars policy), so 1 and 2 April follow.
    assert future_business_days(market, "CMES", dt.date(2024, 3, 28), 2) == (dt.date(2024, 4, 1), dt.date(2024, 4, 2))
    bare = MarketData(prices=market.prices, instruments=market.instruments)  # built without a loader
    with pytest.raises(DataError, match="exchange sessions of calendar CMES"):
        future_business_days(bare, "CMES", dt.date(2024, 3, 28), 2)
    with pytest.raises(DataError, match="calendar XLON"):  # not an instrument's calendar
        future_business_days(market, "XLON", dt.date(2024, 3, 28), 2)


def test_an_unknown_calendar_code_is_a_spec_error_when_the_sessions_are_loaded() -> None:
    with pytest.raises(SpecError, match="unknown exchange calendar"):
        market_on([dt.date(2024, 3, 28)], [202404], [instrument(calendar="NO-SUCH-CALENDAR")])


def test_first_notice_roll_holds_the_second_contract_and_rolls_before_first_notice() -> None:
    # FND(202403) = Feb 29; two business days before: Feb 27. At the close of Feb 26 the
    # priced contracts before their roll point are 202403, 202405, 202407 -> hold 202405;
    # at the close of Feb 27 202403 has reached its roll point -> hold 202407.
    dates = weekdays(dt.date(2024, 2, 1), dt.date(2024, 3, 28))
    market = market_on(dates, [OLD, NEW, 202407, 202409], [copper_like()])
    held = holdings(roll_schedule(market, FirstNoticeRoll(position=2, days_before=2)))
    assert held[dt.date(2024, 2, 1)] == {NEW: 1.0}
    assert held[dt.date(2024, 2, 26)] == {NEW: 1.0}
    assert held[dt.date(2024, 2, 27)] == {202407: 1.0}
    assert held[dt.date(2024, 3, 28)] == {202407: 1.0}


def test_first_notice_roll_needs_a_first_notice_offset() -> None:
    market = market_on(weekdays(dt.date(2024, 2, 1), dt.date(2024, 2, 9)), [OLD, NEW])
    with pytest.raises(SpecError, match="root XX: instrument has no first_notice_offset"):
        roll_schedule(market, FirstNoticeRoll())


def test_first_notice_roll_without_enough_priced_contracts_names_root_and_date() -> None:
    market = market_on(weekdays(dt.date(2024, 2, 1), dt.date(2024, 2, 9)), [OLD], [copper_like()])
    with pytest.raises(DataError, match="root HG, date 2024-02-01: fewer than 2 priced contracts"):
        roll_schedule(market, FirstNoticeRoll())


# --- data roll -----------------------------------------------------------------------------------


def test_data_roll_moves_to_the_datas_contract_at_the_close_before_it_changes() -> None:
    dates = weekdays(dt.date(2024, 2, 5), dt.date(2024, 2, 9))
    held = pl.DataFrame(
        {"date": dates, "root": ["XX"] * 5, "contract": [OLD, OLD, NEW, NEW, NEW]},
        schema={"date": pl.Date, "root": pl.String, "contract": pl.Int32},
    )
    schedule = roll_schedule(market_on(dates, [OLD, NEW], held=held), DataRoll())
    # Weight at the close of Feb 6 is already on the contract the data holds on Feb 7.
    assert schedule.get_column("contract").to_list() == [OLD, NEW, NEW, NEW, NEW]
    assert schedule.get_column("weight").to_list() == [1.0] * 5


def test_data_roll_without_held_contracts_is_a_data_error() -> None:
    market = market_on(weekdays(dt.date(2024, 2, 5), dt.date(2024, 2, 9)), [OLD])
    with pytest.raises(DataError, match="no held contracts"):
        roll_schedule(market, DataRoll())


# --- properties ----------------------------------------------------------------------------------


@st.composite
def window_cases(draw):
    span = weekdays(dt.date(2023, 11, 1), dt.date(2024, 3, 31))
    keep = draw(st.lists(st.booleans(), min_size=len(span), max_size=len(span)))
    dates = [day for day, kept in zip(span, keep) if kept] or span[:1]
    hold = draw(st.sets(st.sampled_from(MONTH_CODES), min_size=1))
    first_day = draw(st.integers(1, 23))
    last_day = draw(st.integers(first_day, 23))
    months_before = draw(st.integers(0, 3))
    return dates, "".join(hold), WindowRoll(first_day=first_day, last_day=last_day), months_before


@settings(max_examples=60, deadline=None)
@given(window_cases())
@pytest.mark.slow
def test_window_weights_lie_in_0_1_and_sum_to_1_every_day(case) -> None:
    dates, hold, rule, months_before = case
    item = instrument(hold_months=hold, roll_months_before=months_before)
    schedule = roll_schedule(market_on(dates, [OLD], [item]), rule)
    assert schedule.get_column("weight").is_between(0.0, 1.0).all()
    per_day = schedule.group_by("date").agg(pl.col("weight").sum(), pl.len())
    assert per_day.height == len(set(dates))
    assert per_day.get_column("weight").is_between(1 - 1e-12, 1 + 1e-12).all()
    assert per_day.get_column("len").max() <= 2
    # Every contract held is in the hold cycle and not yet past its roll month.
    month = schedule.select(
        (pl.col("contract") // 100 * 12 + pl.col("contract") % 100 - 1)
        - (pl.col("date").dt.year() * 12 + pl.col("date").dt.month() - 1)
    ).to_series()
    assert (month >= months_before).all()
    assert set((schedule.get_column("contract") % 100).to_list()) <= set(item.hold_month_numbers)


# --- blocks of roots -------------------------------------------------------------------------------


def rows_per_root(counts: dict[str, int]) -> pl.DataFrame:
    """A prices frame (sorted by root) with ``counts[root]`` rows per root (one contract, one row a day)."""
    start = dt.date(2024, 1, 1)
    rows = [
        (start + dt.timedelta(days=day), root, 202412, 1.0, None, None)
        for root in sorted(counts)
        for day in range(counts[root])
    ]
    return pl.DataFrame(rows, schema=PRICES_SCHEMA, orient="row")


def test_root_blocks_cut_at_whole_roots_within_the_row_budget() -> None:
    prices = rows_per_root({"AA": 3, "BB": 4, "CC": 2, "DD": 9, "EE": 1})
    blocks = root_blocks(prices, ["AA", "BB", "CC", "DD", "EE"], 7)
    # AA+BB = 7 rows; CC alone (CC+DD = 11 > 7); DD over the budget is a block of its own; EE.
    assert [roots for roots, _ in blocks] == [["AA", "BB"], ["CC"], ["DD"], ["EE"]]
    assert [block.height for _, block in blocks] == [7, 2, 9, 1]
    assert pl.concat([block for _, block in blocks]).equals(prices)


def test_root_blocks_span_left_out_roots_and_count_only_the_chosen_ones() -> None:
    prices = rows_per_root({"AA": 3, "BB": 50, "CC": 4, "DD": 5})
    blocks = root_blocks(prices, ["DD", "AA", "CC"], 7)
    # AA (3) and CC (4) fit together: the slice runs from AA's first row to CC's last (BB's 50
    # rows in between are left for the caller to drop); DD is the next block.
    assert [roots for roots, _ in blocks] == [["AA", "CC"], ["DD"]]
    assert [block.height for _, block in blocks] == [57, 5]
    assert blocks[1][1].get_column("root").unique().to_list() == ["DD"]


def test_root_blocks_give_one_block_when_everything_fits_or_the_prices_are_not_sorted_by_root() -> None:
    prices = rows_per_root({"AA": 3, "BB": 4})
    (roots, block), = root_blocks(prices, ["BB", "AA"], 7)
    assert roots == ["AA", "BB"] and block is prices
    shuffled = prices.sample(fraction=1.0, shuffle=True, seed=3)
    assert [roots for roots, _ in root_blocks(shuffled, ["AA", "BB"], 2)] == [["AA", "BB"]]


@pytest.mark.slow
def test_future_business_days_from_the_market_equal_a_calendar_built_for_the_span():
    import exchange_calendars
    import numpy as np

    for code in ("CMES", "IEPA", "XLON"):
        market = market_on([dt.date(2026, 10, 30)], [202612], [instrument(calendar=code)])
        for after in (dt.date(1995, 3, 31), dt.date(2008, 12, 19), dt.date(2024, 3, 28), dt.date(2026, 10, 30)):
            built = exchange_calendars.get_calendar(code, start=after + dt.timedelta(days=1),
                                                    end=after + dt.timedelta(days=40)).sessions
            expected = tuple(day.item() for day in np.asarray(built, dtype="datetime64[D]")[:12])
            assert future_business_days(market, code, after, 12) == expected
