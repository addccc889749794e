"""Rebalance dates, effective dates and trailing windows (indexcalc.rules.calendar)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc.rules.calendar import (
    monthly_totals,
    rebalance_dates,
    rebalance_positions,
    rebalance_schedule,
    trailing_mean,
)


def _axis(*days: tuple[int, int, int]) -> pl.Series:
    return pl.Series("date", [dt.date(*day) for day in days], dtype=pl.Date)


AXIS = _axis(
    (2024, 1, 30), (2024, 1, 31),
    (2024, 2, 1), (2024, 2, 28),  # 29 Feb missing: the 28th is February's last axis date
    (2024, 3, 1), (2024, 3, 28),  # Good Friday 29 Mar closed
    (2024, 4, 1), (2024, 4, 2),   # April not over yet: its last date so far is not a rebalance
)


def test_rebalance_dates_are_the_last_axis_date_of_each_completed_month():
    assert rebalance_dates(AXIS).to_list() == [dt.date(2024, 1, 31), dt.date(2024, 2, 28), dt.date(2024, 3, 28)]


def test_rebalance_dates_ignore_order_and_duplicates_of_the_axis():
    shuffled = pl.concat([AXIS.reverse(), AXIS])
    assert rebalance_dates(shuffled).to_list() == rebalance_dates(AXIS).to_list()


def test_effective_date_is_the_rebalance_plus_lag_business_days_on_the_axis():
    schedule = rebalance_schedule(AXIS, 1)
    assert schedule.rows() == [
        (dt.date(2024, 1, 31), dt.date(2024, 2, 1)),
        (dt.date(2024, 2, 28), dt.date(2024, 3, 1)),
        (dt.date(2024, 3, 28), dt.date(2024, 4, 1)),
    ]
    lag_two = rebalance_schedule(AXIS, 2)
    assert lag_two.rows()[-1] == (dt.date(2024, 3, 28), dt.date(2024, 4, 2))
    assert rebalance_schedule(AXIS, 0).get_column("effective_date").to_list() == rebalance_dates(AXIS).to_list()


def test_rebalance_without_its_effective_date_on_the_axis_is_left_out():
    # lag 3 from 28 Mar would be the third axis date after it, which the data has not reached
    schedule = rebalance_schedule(AXIS, 3)
    assert schedule.get_column("date").to_list() == [dt.date(2024, 1, 31), dt.date(2024, 2, 28)]


def _daily(root: str, values_by_day: dict[dt.date, float]) -> pl.DataFrame:
    return pl.DataFrame({"date": list(values_by_day), "root": root, "value": list(values_by_day.values())})


def test_trailing_mean_averages_the_whole_calendar_months_ending_with_the_rebalance_month():
    values = _daily(
        "A",
        {
            dt.date(2023, 12, 29): 7.0,
            dt.date(2024, 1, 2): 1.0,
            dt.date(2024, 1, 31): 3.0,
            dt.date(2024, 2, 1): 5.0,
            dt.date(2024, 2, 15): 6.0,
            dt.date(2024, 2, 28): 10.0,
            dt.date(2024, 3, 28): 100.0,
        },
    )
    rebalances = pl.Series([dt.date(2024, 1, 31), dt.date(2024, 2, 29)], dtype=pl.Date)
    window = trailing_mean(values, "value", rebalances, 2)
    rows = {row["date"]: row for row in window.iter_rows(named=True)}
    # 31 Jan, 2 months (Dec + Jan): (7 + 1 + 3) / 3 = 11/3; history starts in December = first
    # month of the window, not before it -> not a full window
    assert rows[dt.date(2024, 1, 31)]["mean"] == pytest.approx(11.0 / 3.0, abs=1e-15)
    assert rows[dt.date(2024, 1, 31)]["latest"] == 3.0
    assert rows[dt.date(2024, 1, 31)]["full_window"] is False
    # 29 Feb (a rebalance date the root did not trade): Jan + Feb = (1 + 3 + 5 + 6 + 10) / 5 = 5;
    # latest = the 28 Feb value; December is before the window -> full
    assert rows[dt.date(2024, 2, 29)]["mean"] == 5.0
    assert rows[dt.date(2024, 2, 29)]["latest"] == 10.0
    assert rows[dt.date(2024, 2, 29)]["full_window"] is True


def test_trailing_mean_is_per_root_and_null_before_a_root_starts():
    values = pl.concat(
        [
            _daily("A", {dt.date(2024, 1, 5): 2.0, dt.date(2024, 2, 5): 4.0}),
            _daily("B", {dt.date(2024, 2, 5): 40.0}),
        ]
    )
    rebalances = pl.Series([dt.date(2024, 1, 31), dt.date(2024, 2, 29)], dtype=pl.Date)
    window = trailing_mean(values, "value", rebalances, 1)
    as_rows = {(row["date"], row["root"]): (row["latest"], row["mean"]) for row in window.iter_rows(named=True)}
    assert as_rows == {
        (dt.date(2024, 1, 31), "A"): (2.0, 2.0),
        (dt.date(2024, 1, 31), "B"): (None, None),
        (dt.date(2024, 2, 29), "A"): (4.0, 4.0),
        (dt.date(2024, 2, 29), "B"): (40.0, 40.0),
    }


def test_trailing_mean_depends_only_on_the_window_not_on_earlier_history():
    # a running-sum mean would carry the rounding of 29 years of large values into the window;
    # per-month sums give the same bits whatever came before, and a constant is a tie
    days = pl.date_range(dt.date(1995, 1, 2), dt.date(2024, 12, 31), "1d", eager=True)
    constant_last_year = pl.when(pl.col("date") >= dt.date(2024, 1, 1)).then(0.1)
    long_history = pl.DataFrame({"date": days, "root": "A"}).with_columns(
        constant_last_year.otherwise(pl.col("date").dt.ordinal_day() * 1.37e3).alias("value")
    )
    short_history = long_history.filter(pl.col("date") >= dt.date(2023, 12, 1))
    rebalance = pl.Series([dt.date(2024, 12, 31)])
    long_mean = trailing_mean(long_history, "value", rebalance, 12).item(0, "mean")
    assert long_mean == trailing_mean(short_history, "value", rebalance, 12).item(0, "mean")
    assert abs(long_mean / 0.1 - 1.0) < 1e-14


def test_monthly_totals_of_unsorted_values_equal_those_of_sorted_values():
    # A: Jan 2 + Jan 5 = 3 + 5 = 8 over 2 days; Feb 1 = 7. B: Jan 3 = 11.
    values = pl.concat(
        [
            _daily("B", {dt.date(2024, 1, 3): 11.0}),
            _daily("A", {dt.date(2024, 2, 1): 7.0, dt.date(2024, 1, 5): 5.0, dt.date(2024, 1, 2): 3.0}),
        ]
    )
    shuffled = monthly_totals(values, "value")
    assert shuffled.rows() == [
        ("A", dt.date(2024, 1, 1), 8.0, 2, dt.date(2024, 1, 2)),
        ("A", dt.date(2024, 2, 1), 7.0, 1, dt.date(2024, 1, 2)),
        ("B", dt.date(2024, 1, 1), 11.0, 1, dt.date(2024, 1, 3)),
    ]
    assert monthly_totals(values.sort("root", "date"), "value").equals(shuffled)


@settings(max_examples=40, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=60, unique=True),
    lag=st.integers(min_value=0, max_value=5),
)
def test_rebalance_positions_are_the_rows_of_the_rebalance_schedule(offsets, lag):
    # oracle written independently: each axis date whose next axis date is in a later month,
    # and the axis date lag rows after it (when there is one)
    days = sorted(dt.date(2024, 1, 1) + dt.timedelta(days=day) for day in offsets)
    expected = [(day, days[row + lag]) for row, day in enumerate(days[:-1])
                if (days[row + 1].year, days[row + 1].month) != (day.year, day.month) and row + lag < len(days)]
    axis = pl.Series("date", days, dtype=pl.Date)
    rebalance_rows, effective_rows = rebalance_positions(axis.to_numpy(), lag)
    assert list(zip(axis.gather(rebalance_rows).to_list(), axis.gather(effective_rows).to_list())) == expected
    shuffled = pl.concat([axis.reverse(), axis])  # the schedule sorts and de-duplicates its axis
    assert list(rebalance_schedule(shuffled, lag).iter_rows()) == expected


def test_rebalance_positions_hand_case():
    # Jan 30, Jan 31, Feb 1, Feb 28, Mar 1: month ends at rows 1 (Jan 31) and 3 (Feb 28); lag 1 ->
    # rows 2 and 4; March is not completed, so no rebalance at row 4
    axis = pl.Series([dt.date(2024, 1, 30), dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2024, 2, 28), dt.date(2024, 3, 1)])
    rebalance_rows, effective_rows = rebalance_positions(axis.to_numpy(), 1)
    assert rebalance_rows.tolist() == [1, 3] and effective_rows.tolist() == [2, 4]
    # lag 2: Feb 28 + 2 rows is beyond the axis, left out
    rebalance_rows, effective_rows = rebalance_positions(axis.to_numpy(), 2)
    assert rebalance_rows.tolist() == [1] and effective_rows.tolist() == [3]
