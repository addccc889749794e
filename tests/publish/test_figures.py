"""The factsheet's figures computed once per index (:mod:`indexcalc.publish.figures`): hand-computed
cases, and equality to the bit with :mod:`indexcalc.analytics`, their reference, on random levels
and on the catalogue."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from indexcalc import analytics
from indexcalc.publish import figures
from tests.publish.conftest import business_days, random_levels


def _levels(days: list[str], values: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"date": [dt.date.fromisoformat(day) for day in days], "level": values})


def test_hand_computed_figures_of_four_levels():
    # 100 -> 110 (+10%) -> 99 (-10%) -> 121 (+22.2%), over two months
    history = figures.level_history(_levels(["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-29"],
                                            [100.0, 110.0, 99.0, 121.0]))
    assert history.returns.tolist() == pytest.approx([0.1, -0.1, 121.0 / 99.0 - 1.0])
    performance = figures.period_returns(history)
    # 1M: the last level on or before 2024-01-29 precedes the history: no figure
    assert performance["1M"] is None
    # YTD: no level at 2023-12-31, so from the first level: 121 / 100 - 1
    assert performance["YTD"] == pytest.approx(0.21)
    assert performance["Since inception"] == pytest.approx(1.21 ** (252 / 3) - 1.0)
    risk = figures.risk_figures(history, None)
    # drawdown: peak 110 on 01-31, trough 99 on 02-01 (-10%), recovered 02-29
    assert risk["max_drawdown"] == pytest.approx(-0.1)
    assert (risk["drawdown"].peak_date, risk["drawdown"].trough_date, risk["drawdown"].recovery_date) == (
        dt.date(2024, 1, 31), dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    returns = np.array([0.1, -0.1, 121.0 / 99.0 - 1.0])
    assert risk["annualised_volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(252))
    assert risk["sharpe"] == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252))
    # downside deviation: sqrt(0.1^2 / 3)
    assert risk["sortino"] == pytest.approx(returns.mean() * 252 / (math.sqrt(0.01 / 3) * math.sqrt(252)))
    assert risk["calmar"] == pytest.approx((1.21 ** (252 / 3) - 1.0) / 0.1)
    # every trailing window is longer than the history
    assert [row["start_date"] for row in figures.trailing_risk(history, None)] == [None, None, None]
    monthly = figures.returns_by_period(history, monthly=True)
    # January from the first level: 110 / 100 - 1; February from January's last: 121 / 110 - 1
    assert monthly.get_column("monthly_return").to_list() == pytest.approx([0.1, 0.1])
    assert monthly.get_column("start_date").to_list() == [dt.date(2024, 1, 30), dt.date(2024, 1, 31)]
    assert figures.returns_by_period(history, monthly=False).get_column("year_return").to_list() == \
        pytest.approx([0.21])


def test_hand_computed_worst_drawdowns():
    # 100, 90 (-10%), 95, 100 (recovered), 80 (-20%), 85 (still under water)
    history = figures.level_history(_levels(
        ["2024-03-01", "2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"],
        [100.0, 90.0, 95.0, 100.0, 80.0, 85.0]))
    assert figures.worst_drawdowns(history, 5) == [
        {"peak_date": dt.date(2024, 3, 6), "trough_date": dt.date(2024, 3, 7), "recovery_date": None,
         "depth": pytest.approx(-0.2), "days_to_trough": 1, "days_to_recover": None},
        {"peak_date": dt.date(2024, 3, 1), "trough_date": dt.date(2024, 3, 4), "recovery_date": dt.date(2024, 3, 6),
         "depth": pytest.approx(-0.1), "days_to_trough": 3, "days_to_recover": 5},
    ]
    assert len(figures.worst_drawdowns(history, 1)) == 1
    assert figures.worst_drawdowns(figures.level_history(_levels(["2024-03-01", "2024-03-04"], [1.0, 2.0])), 5) == []


def _risk_free(seed: int) -> pl.DataFrame:
    dates = business_days()
    return pl.DataFrame({"date": dates,
                         "collateral_return": np.random.default_rng(seed).uniform(0.0, 2e-4, dates.len())})


def _assert_equal_to_analytics(levels: pl.DataFrame, risk_free: pl.DataFrame | None) -> None:
    history = figures.level_history(levels)
    table = analytics.period_returns(levels)
    assert figures.period_returns(history) == dict(zip(table.get_column("period").to_list(),
                                                       table.get_column("period_return").to_list()))
    risk = figures.risk_figures(history, risk_free)
    assert risk["annualised_return"] == analytics.annualised_return(levels)
    assert risk["annualised_volatility"] == analytics.annualised_volatility(levels)
    assert risk["sharpe"] == analytics.sharpe_ratio(levels, risk_free)
    assert risk["sortino"] == analytics.sortino_ratio(levels, risk_free)
    assert risk["drawdown"] == analytics.max_drawdown(levels)
    assert risk["calmar"] == analytics.calmar_ratio(levels)
    assert figures.trailing_risk(history, risk_free) == analytics.trailing_risk(levels, risk_free).rows(named=True)
    assert figures.worst_drawdowns(history, 5) == analytics.worst_drawdowns(levels, 5).rows(named=True)
    assert figures.worst_drawdowns(history, 1000) == analytics.worst_drawdowns(levels, 1000).rows(named=True)
    assert_frame_equal(figures.drawdowns(history), analytics.drawdowns(levels), check_exact=True)
    assert_frame_equal(figures.returns_by_period(history, monthly=True), analytics.monthly_returns(levels),
                       check_exact=True)
    assert_frame_equal(figures.returns_by_period(history, monthly=False), analytics.calendar_year_returns(levels),
                       check_exact=True)


@pytest.mark.parametrize("seed", range(6))
def test_figures_equal_analytics_to_the_bit_on_random_levels(seed):
    levels = random_levels(seed, base=100.0 * (seed + 1), drift=0.0003 * (seed - 2), vol=0.005 * (seed + 1))
    # shuffled rows: both sort by date
    shuffled = levels.sample(fraction=1.0, shuffle=True, seed=seed)
    _assert_equal_to_analytics(shuffled, None)
    _assert_equal_to_analytics(levels, _risk_free(seed))
    # a short history: windows and periods without figures
    _assert_equal_to_analytics(levels.head(40), _risk_free(seed))


def test_a_missing_risk_free_return_is_the_same_error():
    levels = random_levels(1, base=100.0)
    gap = _risk_free(1).filter(pl.col("date") != levels.get_column("date")[5])
    with pytest.raises(ValueError, match=str(levels.get_column("date")[5])):
        analytics.sharpe_ratio(levels, gap)
    with pytest.raises(ValueError, match=str(levels.get_column("date")[5])):
        figures.risk_figures(figures.level_history(levels), gap)


@pytest.mark.slow
def test_figures_equal_analytics_to_the_bit_on_the_catalogue(embedded_results, embedded_inputs):
    for result in embedded_results.values():
        risk_free = embedded_inputs.risk_free if result.spec.return_type == "tr" else None
        _assert_equal_to_analytics(result.levels, risk_free)


def test_weights_figures_are_shared_by_equal_weights_only():
    from indexcalc.publish import factsheet
    from tests.publish.conftest import month_end_weights, root_levels

    levels = root_levels()
    weights = month_end_weights(3, ("CL", "NG", "HG"))
    last = weights.get_column("effective_date").max()
    first = factsheet.weights_figures(weights, levels, last)
    assert first["annual_turnover"] == analytics.annual_turnover(weights, levels)
    assert first["contribution"].equals(analytics.return_contribution(
        weights, levels, analytics.months_before(last, factsheet.CONTRIBUTION_MONTHS), last).drop_nulls())
    # a total-return twin's weights: an equal frame, not the same object
    assert factsheet.weights_figures(weights.clone(), levels, last) is first
    other = weights.with_columns(pl.col("weight") * 0.5)
    assert factsheet.weights_figures(other, levels, last)["annual_turnover"] == analytics.annual_turnover(other, levels)
    assert factsheet.weights_figures(weights, levels.clone(), last) is not first  # other levels: computed
