"""Hand-computed tests of the analytics functions (docs/design.md section 5)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexcalc import analytics

D = dt.date


def levels_frame(dates: list[dt.date], levels: list[float]) -> pl.DataFrame:
    frame = pl.DataFrame({"date": dates, "level": levels}, schema={"date": pl.Date, "level": pl.Float64})
    return frame.with_columns((pl.col("level") / pl.col("level").shift(1) - 1.0).fill_null(0.0).alias("daily_return"))


# Series A: returns +10%, -10%, +10%, -10%, +20%.
DAILY_DATES = [D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4), D(2024, 1, 5), D(2024, 1, 8), D(2024, 1, 9)]
DAILY_LEVELS = [100.0, 110.0, 99.0, 108.9, 98.01, 117.612]


@pytest.fixture
def daily() -> pl.DataFrame:
    return levels_frame(DAILY_DATES, DAILY_LEVELS)


def test_daily_returns_are_recomputed_from_levels_and_skip_the_base_date(daily):
    returns = analytics.daily_returns(daily)
    assert returns.get_column("date").to_list() == DAILY_DATES[1:]
    assert returns.get_column("daily_return").to_list() == pytest.approx([0.1, -0.1, 0.1, -0.1, 0.2])


def test_annualised_return_compounds_the_total_growth_over_252_day_years(daily):
    # total growth 117.612 / 100 = 1.17612 over N = 5 returns: 1.17612 ** (252 / 5) - 1
    assert analytics.annualised_return(daily) == pytest.approx(1.17612 ** 50.4 - 1.0)
    assert analytics.annualised_return(daily.head(1)) is None


def test_annualised_volatility_is_sample_stdev_times_root_252(daily):
    # mean 0.04; deviations .06 -.14 .06 -.14 .16; squares sum .072; / (5-1) = .018
    assert analytics.annualised_volatility(daily) == pytest.approx(math.sqrt(0.018 * 252))


def test_sharpe_ratio_uses_zero_risk_free_for_excess_return(daily):
    # mean .04 / stdev sqrt(.018) * sqrt(252) = 4.7329
    assert analytics.sharpe_ratio(daily) == pytest.approx(0.04 / math.sqrt(0.018) * math.sqrt(252))
    assert analytics.sharpe_ratio(daily) == pytest.approx(4.73286, rel=1e-5)


def test_sharpe_ratio_subtracts_collateral_returns_when_given(daily):
    # excess returns .09 -.11 .09 -.11 .19: mean .03, same stdev sqrt(.018)
    risk_free = pl.DataFrame({"date": DAILY_DATES, "collateral_return": [0.0] + [0.01] * 5})
    assert analytics.sharpe_ratio(daily, risk_free) == pytest.approx(0.03 / math.sqrt(0.018) * math.sqrt(252))


def test_sharpe_ratio_rejects_missing_risk_free_dates(daily):
    risk_free = pl.DataFrame({"date": DAILY_DATES[:3], "collateral_return": [0.0, 0.01, 0.01]})
    with pytest.raises(ValueError, match="2024-01-05"):
        analytics.sharpe_ratio(daily, risk_free)


def test_sortino_ratio_divides_squared_shortfalls_by_all_returns(daily):
    # shortfalls min(r, 0): 0 -.1 0 -.1 0; squares .02 / N=5 = .004; DD = sqrt(.004) = .063246
    # Sortino = .04 * 252 / (.063246 * sqrt(252)) = 10.0399
    assert analytics.sortino_ratio(daily) == pytest.approx(0.04 * 252 / (math.sqrt(0.004) * math.sqrt(252)))
    assert analytics.sortino_ratio(daily) == pytest.approx(10.0399, rel=1e-4)
    rising = levels_frame(DAILY_DATES[:3], [100.0, 101.0, 102.0])
    assert analytics.sortino_ratio(rising) is None


def test_max_drawdown_depth_and_dates(daily):
    # running max 100 110 110 110 110 117.612; DD 0 0 -.1 -.01 -.109 0: trough 98.01 on Jan 8,
    # peak 110 on Jan 3, recovered on Jan 9 (117.612 >= 110)
    result = analytics.max_drawdown(daily)
    assert result.depth == pytest.approx(98.01 / 110.0 - 1.0)
    assert result.depth == pytest.approx(-0.109)
    assert (result.peak_date, result.trough_date, result.recovery_date) == (D(2024, 1, 3), D(2024, 1, 8), D(2024, 1, 9))


def test_max_drawdown_peak_is_the_last_date_at_the_high_and_recovery_may_be_missing():
    frame = levels_frame(DAILY_DATES[:4], [100.0, 100.0, 90.0, 95.0])
    result = analytics.max_drawdown(frame)
    assert result.depth == pytest.approx(-0.1)
    assert (result.peak_date, result.trough_date, result.recovery_date) == (D(2024, 1, 3), D(2024, 1, 4), None)


def test_max_drawdown_of_a_rising_series_is_zero_without_dates():
    result = analytics.max_drawdown(levels_frame(DAILY_DATES[:3], [100.0, 101.0, 102.0]))
    assert result == analytics.MaxDrawdown(0.0, None, None, None)
    assert analytics.calmar_ratio(levels_frame(DAILY_DATES[:3], [100.0, 101.0, 102.0])) is None


def test_calmar_ratio_is_annualised_return_over_max_drawdown(daily):
    assert analytics.calmar_ratio(daily) == pytest.approx((1.17612 ** 50.4 - 1.0) / 0.109)


def test_drawdowns_series(daily):
    values = analytics.drawdowns(daily).get_column("drawdown").to_list()
    assert values == pytest.approx([0.0, 0.0, -0.1, 108.9 / 110 - 1, 98.01 / 110 - 1, 0.0])


# Series B: month-end levels over three calendar years.
MONTHLY_DATES = [D(2021, 12, 31), D(2022, 6, 30), D(2022, 12, 30), D(2023, 3, 31), D(2023, 12, 29), D(2024, 1, 31)]
MONTHLY_LEVELS = [100.0, 110.0, 121.0, 108.9, 133.1, 119.79]


@pytest.fixture
def monthly() -> pl.DataFrame:
    return levels_frame(MONTHLY_DATES, MONTHLY_LEVELS)


def test_calendar_year_returns_chain_year_end_levels(monthly):
    # 2022: 121 / 100 - 1 = .21; 2023: 133.1 / 121 - 1 = .10; 2024 to date: 119.79 / 133.1 - 1 = -.10
    years = analytics.calendar_year_returns(monthly)
    assert years.get_column("year").to_list() == [2022, 2023, 2024]
    assert years.get_column("year_return").to_list() == pytest.approx([0.21, 0.10, -0.10])
    assert years.get_column("start_date").to_list() == [D(2021, 12, 31), D(2022, 12, 30), D(2023, 12, 29)]
    assert years.get_column("end_date").to_list() == [D(2022, 12, 30), D(2023, 12, 29), D(2024, 1, 31)]


def test_calendar_year_return_of_the_first_year_starts_at_the_base_date():
    # base on 2022-03-15 at 100, 2022 ends at 90: first year -10% from the base date
    frame = levels_frame([D(2022, 3, 15), D(2022, 12, 30), D(2023, 12, 29)], [100.0, 90.0, 99.0])
    years = analytics.calendar_year_returns(frame)
    assert years.get_column("year_return").to_list() == pytest.approx([-0.1, 0.1])
    assert years.get_column("start_date")[0] == D(2022, 3, 15)


def test_monthly_returns_table(monthly):
    # Jun-22 110/100, Dec-22 121/110, Mar-23 108.9/121, Dec-23 133.1/108.9, Jan-24 119.79/133.1
    table = analytics.monthly_returns(monthly)
    assert table.select("year", "month").rows() == [(2022, 6), (2022, 12), (2023, 3), (2023, 12), (2024, 1)]
    assert table.get_column("monthly_return").to_list() == pytest.approx([0.1, 0.1, -0.1, 133.1 / 108.9 - 1, -0.1])


def test_period_returns_as_of_the_last_date(monthly):
    # as of 2024-01-31: 1M ref 2023-12-31 -> 2023-12-29 (133.1): -10%;
    # 3M ref 2023-10-31 -> 2023-03-31 (108.9): +10%; YTD ref 2023-12-29: -10%;
    # 1Y ref 2023-01-31 -> 2022-12-30 (121): -1%; 3Y/5Y refs precede 2021-12-31: no figure;
    # since inception: 1.1979 ** (252 / 5) - 1
    table = analytics.period_returns(monthly)
    values = dict(zip(table.get_column("period"), table.get_column("period_return")))
    assert values["1M"] == pytest.approx(-0.1)
    assert values["3M"] == pytest.approx(0.1)
    assert values["YTD"] == pytest.approx(-0.1)
    assert values["1Y"] == pytest.approx(-0.01)
    assert values["3Y"] is None and values["5Y"] is None
    assert values["Since inception"] == pytest.approx(1.1979 ** 50.4 - 1.0)
    starts = dict(zip(table.get_column("period"), table.get_column("start_date")))
    assert starts["3M"] == D(2023, 3, 31) and starts["1Y"] == D(2022, 12, 30)


def test_three_year_return_is_annualised_over_exactly_three_calendar_years():
    # 100 -> 133.1 over 36 months: 1.331 ** (1/3) - 1 = 10% a year
    frame = levels_frame([D(2020, 1, 31), D(2021, 6, 30), D(2023, 1, 31)], [100.0, 90.0, 133.1])
    values = dict(analytics.period_returns(frame).select("period", "period_return").rows())
    assert values["3Y"] == pytest.approx(0.1)
    assert values["5Y"] is None


def test_ytd_starts_at_the_first_level_when_the_index_started_this_year():
    frame = levels_frame([D(2024, 2, 1), D(2024, 2, 2)], [100.0, 105.0])
    values = dict(analytics.period_returns(frame).select("period", "period_return").rows())
    assert values["YTD"] == pytest.approx(0.05)
    assert values["1M"] is None


def test_rolling_12_month_return(monthly):
    # 2023-03-31 vs 2022-03-31 -> 2021-12-31 (100): .089; 2023-12-29 vs 2022-12-29 -> 2022-06-30
    # (110): .21; 2024-01-31 vs 2023-01-31 -> 2022-12-30 (121): -.01; earlier dates lack a year
    values = analytics.rolling_return(monthly, months=12).get_column("rolling_return").to_list()
    assert values[:3] == [None, None, None]
    assert values[3:] == pytest.approx([0.089, 0.21, -0.01])


def test_return_correlation_on_common_dates():
    # returns x = .01 .02 .03, y = .01 .03 .02: deviations (-1 0 1), (-1 1 0) -> r = 1 / 2
    dates = [D(2024, 1, 1), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4)]
    x = levels_frame(dates, [100.0, 101.0, 101.0 * 1.02, 101.0 * 1.02 * 1.03])
    y_dates = dates + [D(2024, 1, 5)]
    y = levels_frame(y_dates, [50.0, 50.5, 50.5 * 1.03, 50.5 * 1.03 * 1.02, 60.0])
    assert analytics.return_correlation(x, y) == pytest.approx(0.5)
    assert analytics.return_correlation(x, x) == pytest.approx(1.0)


def test_turnover_sums_absolute_weight_changes():
    # r1 from cash: |.5| + |-.5| = 1; r2: A .5->.3, C 0->.2: .4; r3: A .3->-.3, B -.5->0: 1.1
    weights = pl.DataFrame(
        {
            "date": [D(2023, 1, 31)] * 2 + [D(2024, 1, 31)] * 3 + [D(2025, 1, 31)] * 2,
            "effective_date": [D(2023, 2, 1)] * 2 + [D(2024, 2, 1)] * 3 + [D(2025, 2, 3)] * 2,
            "root": ["A", "B", "A", "B", "C", "A", "C"],
            "weight": [0.5, -0.5, 0.3, -0.5, 0.2, -0.3, 0.2],
        }
    )
    per_rebalance = analytics.turnover(weights)
    assert per_rebalance.get_column("turnover").to_list() == pytest.approx([1.0, 0.4, 1.1])
    # (0.4 + 1.1) over 731 days between the first and last rebalance
    assert analytics.annual_turnover(weights) == pytest.approx(1.5 / (731 / 365.25))


def test_return_contribution_sums_weight_times_root_return_per_period():
    days = [D(2024, 1, 1), D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4), D(2024, 1, 5)]
    root_levels = pl.DataFrame(
        {
            "date": days * 2,
            "root": ["A"] * 5 + ["B"] * 5,
            "level": [100.0, 110.0, 121.0, 108.9, 119.79, 50.0, 55.0, 44.0, 44.0, 88.0],
        }
    )
    weights = pl.DataFrame(
        {
            "date": [days[0], days[0], days[1]],
            "effective_date": [days[0], days[0], days[2]],
            "root": ["A", "B", "A"],
            "weight": [0.5, -0.5, 1.0],
        }
    )
    # whole window: A .5*(121/100-1) + 1*(119.79/121-1) = .105 - .01 = .095; B -.5*(44/50-1) = .06
    whole = dict(analytics.return_contribution(weights, root_levels, days[0], days[4]).rows())
    assert whole == pytest.approx({"A": 0.095, "B": 0.06})
    # window (Jan 2, Jan 4]: A .5*(121/110-1) + (108.9/121-1) = .05 - .1; B -.5*(44/55-1) = .1
    inner = analytics.return_contribution(weights, root_levels, days[1], days[3])
    assert dict(inner.rows()) == pytest.approx({"A": -0.05, "B": 0.1})
    assert inner.get_column("root").to_list() == ["B", "A"]


def test_return_contribution_of_a_root_without_levels_is_null():
    days = [D(2024, 1, 1), D(2024, 1, 2)]
    root_levels = pl.DataFrame({"date": days, "root": ["A", "A"], "level": [100.0, 102.0]})
    weights = pl.DataFrame({"date": [days[0]] * 2, "effective_date": [days[0]] * 2, "root": ["A", "Z"],
                            "weight": [0.5, 0.5]})
    # A: .5 * (102 / 100 - 1) = .01; Z has no level at all
    assert analytics.return_contribution(weights, root_levels, days[0], days[1]).rows() == [
        ("A", pytest.approx(0.01)), ("Z", None)]


def test_current_weights_and_sector_totals():
    weights = pl.DataFrame(
        {
            "date": [D(2024, 1, 31)] * 2 + [D(2024, 2, 29)] * 3,
            "effective_date": [D(2024, 2, 1)] * 2 + [D(2024, 3, 1)] * 3,
            "root": ["CL", "GC", "CL", "GC", "SI"],
            "weight": [0.5, 0.5, 0.0, 0.6, -0.4],
            "direction": [1, 1, 0, 1, -1],
        }
    )
    current = analytics.current_weights(weights, {"CL": "energy", "GC": "precious_metals", "SI": "precious_metals"})
    assert current.rows() == [("CL", "energy", 0.0, 0), ("GC", "precious_metals", 0.6, 1),
                              ("SI", "precious_metals", -0.4, -1)]
    sectors = analytics.sector_weights(current)
    # precious: long .6, short -.4, net .2, gross 1.0
    assert sectors.rows() == [("energy", 0.0, 0.0, 0.0, 0.0), ("precious_metals", 0.6, -0.4, pytest.approx(0.2), 1.0)]


def test_current_weights_direction_defaults_to_the_sign_of_the_weight():
    weights = pl.DataFrame({"date": [D(2024, 1, 31)] * 2, "effective_date": [D(2024, 2, 1)] * 2,
                            "root": ["A", "B"], "weight": [0.3, -0.2]})
    assert analytics.current_weights(weights, {}).get_column("direction").to_list() == [1, -1]


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2100, 12, 31)), st.integers(min_value=0, max_value=120))
def test_months_before_clamps_to_month_end_like_polars_offsets(day, months):
    expected = pl.select(pl.lit(day).dt.offset_by(f"-{months}mo")).item()
    assert analytics.months_before(day, months) == expected
    assert analytics.months_before(D(2024, 3, 31), 1) == D(2024, 2, 29)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=-0.2, max_value=0.2, allow_nan=False), min_size=3, max_size=60))
def test_yearly_and_monthly_returns_compound_to_the_total_return(returns):
    dates = pl.date_range(D(2022, 11, 25), D(2030, 1, 1), interval="17d", eager=True).head(len(returns) + 1)
    levels = [100.0]
    for value in returns:
        levels.append(levels[-1] * (1.0 + value))
    frame = levels_frame(dates.to_list(), levels)
    total = levels[-1] / levels[0]
    yearly = analytics.calendar_year_returns(frame).get_column("year_return")
    monthly = analytics.monthly_returns(frame).get_column("monthly_return")
    assert math.prod(1 + r for r in yearly) == pytest.approx(total)
    assert math.prod(1 + r for r in monthly) == pytest.approx(total)
    assert analytics.max_drawdown(frame).depth <= 0.0


def test_level_on_or_before_by_root_looks_up_each_root_backward_in_any_row_order():
    # rows deliberately not sorted by root and date; B has no level before Jan 3, Z none at all
    root_levels = pl.DataFrame(
        {
            "date": [D(2024, 1, 3), D(2024, 1, 1), D(2024, 1, 5), D(2024, 1, 3), D(2024, 1, 2)],
            "root": ["A", "A", "B", "B", "A"],
            "level": [103.0, 101.0, 55.0, 53.0, 102.0],
        }
    )
    roots = pl.Series(["A", "A", "A", "B", "B", "B", "Z"])
    days = pl.Series([D(2023, 12, 31), D(2024, 1, 2), D(2024, 1, 9), D(2024, 1, 2), D(2024, 1, 4), D(2024, 1, 5),
                      D(2024, 1, 5)])
    looked_up = analytics.level_on_or_before_by_root(root_levels, roots, days)
    assert looked_up.to_list() == [None, 102.0, 103.0, None, 53.0, 55.0, None]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 40), st.floats(1.0, 1e3)), min_size=0, max_size=40,
             unique_by=lambda row: row[:2]),
    st.lists(st.tuples(st.sampled_from("ABCD"), st.integers(-3, 45)), min_size=1, max_size=20),
)
def test_level_on_or_before_by_root_matches_a_backward_join_asof(table_rows, queries):
    base = D(2000, 1, 1)
    root_levels = pl.DataFrame(
        {"date": [base + dt.timedelta(days=day) for _, day, _ in table_rows], "root": [row[0] for row in table_rows],
         "level": [row[2] for row in table_rows]},
        schema={"date": pl.Date, "root": pl.String, "level": pl.Float64},
    )
    query = pl.DataFrame({"root": [root for root, _ in queries],
                          "day": [base + dt.timedelta(days=day) for _, day in queries]},
                         schema={"root": pl.String, "day": pl.Date}).with_row_index("position")
    expected = (
        query.sort("day")
        .join_asof(root_levels.sort("date"), left_on="day", right_on="date", by="root", strategy="backward",
                   check_sortedness=False)
        .sort("position")
        .get_column("level")
    )
    looked_up = analytics.level_on_or_before_by_root(root_levels, query.get_column("root"), query.get_column("day"))
    assert looked_up.to_list() == expected.to_list()
