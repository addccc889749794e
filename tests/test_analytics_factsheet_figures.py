"""The figures the factsheet footnotes define, against hand-computed cases: the 10-year period,
trailing 1/3/5-year risk, worst drawdowns, best and worst month, drifted weights and turnover
including drift (docs/design.md section 5)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest

from indexcalc import analytics


def _levels(dates: list[dt.date], values: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"date": dates, "level": values})


def test_ten_year_period_is_annualised_over_120_months():
    # 2014-06-30: 100; 2024-06-28 (T minus 120 months = 2014-06-28, last date on or before:
    # 2014-06-27 = 100); T = 2024-06-28 at 200: (200/100)^(1/10) - 1
    levels = _levels([dt.date(2014, 6, 20), dt.date(2014, 6, 27), dt.date(2020, 1, 2), dt.date(2024, 6, 28)],
                     [90.0, 100.0, 150.0, 200.0])
    table = analytics.period_returns(levels)
    ten = table.filter(pl.col("period") == "10Y").row(0, named=True)
    assert ten["start_date"] == dt.date(2014, 6, 27)
    assert ten["period_return"] == pytest.approx(2.0 ** 0.1 - 1.0)
    assert ten["annualised"] is True
    short = analytics.period_returns(levels.slice(1))  # starts 2014-06-27: 120 months back is 2014-06-28
    assert short.filter(pl.col("period") == "10Y").get_column("period_return")[0] == pytest.approx(2.0 ** 0.1 - 1.0)
    shorter = analytics.period_returns(levels.slice(2))
    assert shorter.filter(pl.col("period") == "10Y").get_column("period_return")[0] is None


def test_trailing_risk_uses_only_the_window():
    # T = 2024-06-30: the 1-year window starts at the last date on or before 2023-06-30
    dates = [dt.date(2022, 12, 30), dt.date(2023, 6, 30), dt.date(2023, 12, 29), dt.date(2024, 3, 28),
             dt.date(2024, 6, 30)]
    values = [50.0, 100.0, 110.0, 99.0, 121.0]
    table = analytics.trailing_risk(_levels(dates, values), years=(1, 3))
    one = table.row(0, named=True)
    assert one["start_date"] == dt.date(2023, 6, 30)
    # 3 returns: 0.10, -0.10, 121/99 - 1
    returns = [0.1, -0.1, 121.0 / 99.0 - 1.0]
    mean = sum(returns) / 3
    stdev = math.sqrt(sum((r - mean) ** 2 for r in returns) / 2)
    assert one["annualised_volatility"] == pytest.approx(stdev * math.sqrt(252))
    assert one["annualised_return"] == pytest.approx(1.21 ** (252 / 3) - 1.0)
    assert one["sharpe"] == pytest.approx(mean / stdev * math.sqrt(252))
    assert one["max_drawdown"] == pytest.approx(99.0 / 110.0 - 1.0)
    three = table.row(1, named=True)
    assert three["start_date"] is None and three["annualised_volatility"] is None and three["sharpe"] is None


def test_worst_drawdowns_are_episodes_deepest_first():
    days = [dt.date(2024, 1, day) for day in range(1, 11)]
    levels = _levels(days, [100.0, 110.0, 99.0, 88.0, 110.0, 120.0, 108.0, 120.0, 121.0, 115.0])
    table = analytics.worst_drawdowns(levels, count=2)
    assert table.rows() == [
        (dt.date(2024, 1, 2), dt.date(2024, 1, 4), dt.date(2024, 1, 5), pytest.approx(-0.2), 2, 3),
        (dt.date(2024, 1, 6), dt.date(2024, 1, 7), dt.date(2024, 1, 8), pytest.approx(-0.1), 1, 2),
    ]
    every = analytics.worst_drawdowns(levels, count=5)
    assert every.height == 3
    assert every.row(2) == (dt.date(2024, 1, 9), dt.date(2024, 1, 10), None, pytest.approx(115 / 121 - 1), 1, None)
    assert analytics.worst_drawdowns(_levels(days[:3], [1.0, 2.0, 3.0])).height == 0


def test_best_and_worst_month():
    dates = [dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 29), dt.date(2024, 4, 30)]
    monthly = analytics.monthly_returns(_levels(dates, [100.0, 104.0, 93.6, 98.28]))
    found = analytics.best_and_worst_month(monthly)
    assert (found["best"]["year"], found["best"]["month"]) == (2024, 4)  # +5% beats +4%
    assert found["best"]["monthly_return"] == pytest.approx(0.05)
    assert (found["worst"]["year"], found["worst"]["month"]) == (2024, 3)
    assert found["worst"]["monthly_return"] == pytest.approx(-0.10)
    assert analytics.best_and_worst_month(monthly.clear()) == {"best": None, "worst": None}


def _basket() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two rebalances of an equal-weight basket: A rises 20%, B falls 20% in between."""
    fix, effect = [dt.date(2024, 1, 31), dt.date(2024, 2, 29)], [dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    weights = pl.DataFrame({"date": [fix[0]] * 2 + [fix[1]] * 2, "effective_date": [effect[0]] * 2 + [effect[1]] * 2,
                            "root": ["A", "B"] * 2, "weight": [0.5, 0.5, 0.5, 0.5]})
    levels = pl.DataFrame({"date": [effect[0], dt.date(2024, 2, 15), effect[1]] * 2,
                           "root": ["A"] * 3 + ["B"] * 3, "level": [100.0, 110.0, 120.0, 100.0, 95.0, 80.0]})
    return weights, levels


def test_drifted_weights_follow_prices_against_the_index():
    weights, levels = _basket()
    # 2024-02-15: R_A = 1.1, R_B = 0.95; index growth 1 + 0.5 * 0.1 + 0.5 * -0.05 = 1.025
    drifted = analytics.drifted_weights(weights, levels, dt.date(2024, 2, 15))
    assert drifted.rows() == [("A", 0.5, pytest.approx(0.55 / 1.025)), ("B", 0.5, pytest.approx(0.475 / 1.025))]
    # on the next effective date the new targets hold, undrifted
    assert analytics.drifted_weights(weights, levels, dt.date(2024, 3, 1)).get_column("drifted_weight").to_list() == [
        0.5, 0.5]


def test_turnover_includes_drift_where_target_changes_show_none():
    weights, levels = _basket()
    # drifted to 0.6 / 0.4 (growth 1), back to 0.5 / 0.5: |0.5 - 0.6| + |0.5 - 0.4| = 0.2
    with_drift = analytics.turnover_with_drift(weights, levels)
    assert with_drift.rows() == [(dt.date(2024, 1, 31), pytest.approx(1.0)), (dt.date(2024, 2, 29), pytest.approx(0.2))]
    assert analytics.turnover(weights).get_column("turnover").to_list() == [1.0, 0.0]
    # one rebalance after the first, 29 days apart: 0.2 / (29 / 365.25) a year
    assert analytics.annual_turnover(weights, levels) == pytest.approx(0.2 / (29 / 365.25))
    assert analytics.annual_turnover(weights) == 0.0


def test_turnover_with_drift_sells_a_root_that_leaves():
    weights, levels = _basket()
    weights = weights.filter(~((pl.col("root") == "B") & (pl.col("date") == dt.date(2024, 2, 29)))).with_columns(
        pl.when(pl.col("date") == dt.date(2024, 2, 29)).then(1.0).otherwise(pl.col("weight")).alias("weight"))
    # drifted 0.6 / 0.4 -> target 1.0 / 0: 0.4 + 0.4
    assert analytics.turnover_with_drift(weights, levels).get_column("turnover").to_list() == [
        pytest.approx(1.0), pytest.approx(0.8)]
